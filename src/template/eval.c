/* eval.c — the evaluator (being written). */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

void	loopctx_free(struct loopctx *);
void	macro_free(struct macro *);

void
loopctx_free(struct loopctx *l)
{
	free(l);
}

void
macro_free(struct macro *m)
{
	free(m);
}

struct tmpl_output *
tmpl_render(const struct tmpl *t, const struct tmpl_env *env,
    struct tmpl_error *err)
{
	tmpl_seterr(err, 1, 1, "rendering is not implemented yet");
	return NULL;
}

void
tmpl_output_free(struct tmpl_output *o)
{
	free(o);
}

const char *
tmpl_output_text(const struct tmpl_output *o, size_t *lenp)
{
	return NULL;
}

struct tval *
tval_from_json(const struct json_object *j)
{
	return NULL;
}

struct json_object *
tval_to_json(const struct tval *v)
{
	return NULL;
}
