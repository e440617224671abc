/*
 * fuzz_template.c — libFuzzer target for the template engine: compile,
 * analyse (usage, every field's validation), render against a context, and
 * evaluate any secret trees.  Input: template bytes, optionally followed by
 * a NUL and a JSON context object.  tests/fuzz/replay.c or libFuzzer
 * supplies main().
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "keeper_secret.h"
#include "template/template.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct tval *
fuzz_get_variable(const char *name, void *arg)
{
	if (strcmp(name, "host") == 0)
		return tval_str("api.example.com", 15);
	return NULL;
}

static int
fuzz_lookup(const char *name, const void **val, size_t *len, void *arg)
{
	if (strcmp(name, "missing") == 0)
		return -1;
	*val = "secret-value";
	*len = 12;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*src = (const char *)data, *nul;
	size_t			 srclen = size, i;
	struct tmpl		*t;
	struct tmpl_error	 err;
	struct tmpl_env		 env;
	struct tmpl_output	*o;
	struct json_tokener	*tok;
	struct json_object	*j = NULL;
	int			 f;

	memset(&env, 0, sizeof(env));
	if ((nul = memchr(data, '\0', size)) != NULL) {
		srclen = (size_t)(nul - src);
		if ((tok = json_tokener_new_ex(64)) != NULL) {
			j = json_tokener_parse_ex(tok, nul + 1,
			    (int)(size - srclen - 1));
			json_tokener_free(tok);
		}
		if (j != NULL && json_object_is_type(j, json_type_object))
			env.te_globals = tval_from_json(j);
		json_object_put(j);
	}
	if ((t = tmpl_compile(src, srclen, &err)) == NULL) {
		tval_unref(env.te_globals);
		return 0;
	}
	(void)tmpl_usage(t);
	(void)tmpl_is_literal(t);
	for (f = TMPL_FIELD_URL; f <= TMPL_FIELD_STEP_RESPONSE_BODY; f++)
		(void)tmpl_validate(t, (enum tmpl_field)f, &err);
	/* small limits keep each execution fast */
	env.te_limits.tl_steps = 20000;
	env.te_limits.tl_output = 1 << 16;
	env.te_limits.tl_depth = 16;
	env.te_now = 1700000000;
	env.te_get_variable = fuzz_get_variable;
	if ((o = tmpl_render(t, &env, &err)) != NULL) {
		(void)tmpl_output_text(o, NULL);
		for (i = 0; i < o->to_nsegs; i++) {
			struct tsecret	*ts = o->to_segs[i].sg_secret;
			char		*s, e2[128];
			size_t		 len;

			if (ts == NULL)
				continue;
			free(tsecret_literal(ts));
			e2[0] = '\0';
			s = keeper_secret_eval(ts, fuzz_lookup, NULL, &len, e2,
			    sizeof(e2));
			free(s);
		}
		tmpl_output_free(o);
	}
	tmpl_free(t);
	tval_unref(env.te_globals);
	return 0;
}
