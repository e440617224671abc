/*
 * filters.c — calling filters and tests through the built-in table, and
 * what the filter files share.  The filters themselves follow Jinja2's
 * jinja2/filters.py and tests.py (3.x) with the same parameter names,
 * defaults and corner cases; they live by what they work on:
 * filter_str.c, filter_seq.c, filter_num.c, filter_json.c, pprint.c and
 * tests.c.  Lists stand in for Jinja2's generators.
 */
#include "build.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/* Jinja2's soft_str: str(), with Undefined as ''. */
struct tval *
filter_soft_str(struct eval *e, struct tval *v)
{
	if (v->tv_type == TV_SECRET)
		return eval_error(e, "a secret cannot be used here");
	return eval_str(e, v);
}

/* An integer argument; a float with an integral value is one too. */
int
filter_intarg(struct eval *e, const struct tval *v, const char *what,
    int64_t *out)
{
	if (v->tv_type == TV_INT || v->tv_type == TV_BOOL) {
		*out = v->u.i;
		return 0;
	}
	if (v->tv_type == TV_FLOAT && v->u.f == floor(v->u.f) &&
	    fabs(v->u.f) < 9e18) {
		*out = (int64_t)v->u.f;
		return 0;
	}
	return eval_errorv(e, "%s must be an integer, not %s", what,
	    tval_typename(v));
}

/* Hand an items array to a new list without copying. */
struct tval *
filter_list_from(struct eval *e, struct tval **items, size_t n)
{
	struct tval	*l;

	if ((l = tval_list()) == NULL || tval_list_adopt(l, items, n) == -1) {
		tval_unref(l);
		items_free(items, n);
		return eval_oom(e);
	}
	return l;
}

/*
 * default(value='', boolean=False): Undefined (or, with boolean, anything
 * falsy) becomes the default.
 */
struct tval *
filter_default(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "default_value", "boolean" };
	struct tval		*v[2];

	FILTER_BIND("default", params, 0);
	/*
	 * get_variable()'s placeholder is an Undefined too: default replaces
	 * it
	 */
	if (in->tv_type == TV_UNDEF ||
	    (v[1] != NULL && tval_truth(v[1]) && !tval_truth(in)))
		return v[0] != NULL ? tval_ref(v[0]) : tval_str("", 0);
	return tval_ref(in);
}

/* string: str(value), Undefined as ''. */
struct tval *
filter_string(struct eval *e, struct tval *in, struct args *a)
{
	return filter_soft_str(e, in);
}

/*
 * Call a filter by id.  What every filter shares is checked here, from
 * the table: a secret reaches only the filters the keeper can complete,
 * a filter without parameters takes no arguments, and work on a long
 * string is charged by its length.
 */
struct tval *
filter_call(struct eval *e, int id, struct tval *in, struct args *a)
{
	const struct builtin	*bi = &builtins[id];

	if (in->tv_type == TV_SECRET && !(bi->bi_flags & BF_SECRET_IN))
		return eval_error(e, "a secret cannot be passed to the filter "
		    "'%s'", bi->bi_name);
	if ((in->tv_type == TV_STR || in->tv_type == TV_BYTES) &&
	    in->u.s.len > 256 && eval_step(e, in->u.s.len / 256) == -1)
		return NULL;
	if ((a->a_npos || a->a_nkw) && bi->bi_nargs == 0)
		return eval_error(e, "%s() takes 1 positional argument but %zu "
		    "were given", bi->bi_name, 1 + a->a_npos + a->a_nkw);
	return bi->bi_filter(e, in, a);
}

/* Call a test by id: 1 true, 0 false, -1 error. */
int
test_call(struct eval *e, int id, struct tval *in, struct args *a)
{
	const struct builtin	*bi = &builtins[id];

	if (in->tv_type == TV_SECRET && !(bi->bi_flags & BF_SECRET_IN))
		return eval_errorv(e, "a secret cannot be tested");
	if ((a->a_npos || a->a_nkw) && bi->bi_nargs == 0)
		return eval_errorv(e, "test_%s() takes 1 positional argument "
		    "but %zu were given", bi->bi_name, 1 + a->a_npos +
		    a->a_nkw);
	return bi->bi_test(e, in, a);
}
