/*
 * tests.c — Jinja2's tests (jinja2/tests.py): `x is name(args)`, and the
 * tests select/reject apply.  1 true, 0 false, -1 error; test_call in
 * filters.c has checked the arguments of the tests that take none.
 */
#include "build.h"

#include <string.h>

#include "tmpl_int.h"

int
test_defined(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type != TV_UNDEF;
}

int
test_undefined(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_UNDEF;
}

int
test_none(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_NONE;
}

int
test_boolean(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_BOOL;
}

int
test_false(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_BOOL && !in->u.i;
}

int
test_true(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_BOOL && in->u.i;
}

int
test_integer(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_INT;
}

int
test_float(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_FLOAT;
}

int
test_number(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_INT || in->tv_type == TV_FLOAT ||
	    in->tv_type == TV_BOOL;
}

int
test_string(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_STR;
}

int
test_mapping(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_DICT;
}

/* Jinja2's Undefined is iterable (empty), so it counts here too. */
int
test_iterable(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_STR || in->tv_type == TV_BYTES ||
	    in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ||
	    in->tv_type == TV_DICT || in->tv_type == TV_UNDEF;
}

int
test_sequence(struct eval *e, struct tval *in, struct args *a)
{
	return test_iterable(e, in, a);
}

int
test_callable(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_FUNC || in->tv_type == TV_MACRO ||
	    in->tv_type == TV_LOOP || in->tv_type == TV_JOINER;
}

/* hasattr(value, '__html__'): only a Markup has it here. */
int
test_escaped(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_STR && (in->tv_flags & TVF_MARKUP);
}

/* lower / upper: str(value).islower() / .isupper() */
static int
test_cased(struct eval *e, struct tval *in, int id)
{
	struct args	 none;
	struct tval	*s, *b;
	int		 rc;

	if ((s = filter_soft_str(e, in)) == NULL)
		return -1;
	memset(&none, 0, sizeof(none));
	b = method_call(e, id, s, &none);
	tval_unref(s);
	if (b == NULL)
		return -1;
	rc = (int)b->u.i;
	tval_unref(b);
	return rc;
}

int
test_lower(struct eval *e, struct tval *in, struct args *a)
{
	return test_cased(e, in, M_S_ISLOWER);
}

int
test_upper(struct eval *e, struct tval *in, struct args *a)
{
	return test_cased(e, in, M_S_ISUPPER);
}

/*
 * in % m: *r is nonzero when the remainder is not 0, *one when it is
 * exactly 1 (Jinja2's odd is `value % 2 == 1`, so 0.1 is neither odd nor
 * even).
 */
static int
test_mod(struct eval *e, struct tval *in, struct tval *m, int64_t *r,
    int *one)
{
	struct tval	*v;

	if (in->tv_type == TV_UNDEF) {
		eval_undefined_error(e, in);
		return -1;
	}
	if ((v = eval_binop(e, OP_MOD, in, m)) == NULL)
		return -1;
	*r = v->tv_type == TV_FLOAT ? (v->u.f != 0) : (v->u.i != 0);
	if (one != NULL)
		*one = v->tv_type == TV_FLOAT ? (v->u.f == 1.0) :
		    (v->u.i == 1);
	tval_unref(v);
	return 0;
}

int
test_even(struct eval *e, struct tval *in, struct args *a)
{
	int64_t	 r;

	if (test_mod(e, in, tval_int(2), &r, NULL) == -1)
		return -1;
	return r == 0;
}

int
test_odd(struct eval *e, struct tval *in, struct args *a)
{
	int64_t	 r;
	int	 one;

	if (test_mod(e, in, tval_int(2), &r, &one) == -1)
		return -1;
	return one;
}

int
test_divisibleby(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "num" };
	struct tval		*v[1];
	int64_t			 r;

	if (args_bind(e, a, "divisibleby", params, 1, 1, v) == -1 ||
	    test_mod(e, in, v[0], &r, NULL) == -1)
		return -1;
	return r == 0;
}

int
test_filter(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_STR &&
	    builtin_find(BK_FILTER, in->u.s.p) >= 0;
}

int
test_test(struct eval *e, struct tval *in, struct args *a)
{
	return in->tv_type == TV_STR && builtin_find(BK_TEST, in->u.s.p) >= 0;
}

int
test_in(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "seq" };
	struct tval		*v[1];

	if (args_bind(e, a, "in", params, 1, 1, v) == -1)
		return -1;
	return eval_contains(e, v[0], in);
}

int
test_sameas(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "other" };
	struct tval		*v[1];

	if (args_bind(e, a, "sameas", params, 1, 1, v) == -1)
		return -1;
	if (in == v[0])
		return 1;
	if (in->tv_type != v[0]->tv_type)
		return 0;
	if (in->tv_type == TV_NONE || in->tv_type == TV_BOOL)
		return in->u.i == v[0]->u.i;
	/* CPython caches the small ints */
	if (in->tv_type == TV_INT)
		return in->u.i == v[0]->u.i && in->u.i >= -5 && in->u.i <= 256;
	return 0;
}

/* The comparison tests are the operators (operator.eq, lt, ...). */
static int
test_compare(struct eval *e, struct tval *in, struct args *a,
    const char *name, int op)
{
	static const char *const params[] = { "other" };
	struct tval		*v[1];

	if (args_bind(e, a, name, params, 1, 1, v) == -1)
		return -1;
	return eval_compare(e, op, in, v[0]);
}

/*
 * For select and reject, which apply one test to many items: when tid is
 * a comparison test, its operator in *op and its argument bound once in
 * *other, as test_compare binds it (0, or -1 on a binding error).  *op
 * is -1 for any other test.
 */
int
test_compare_bind(struct eval *e, int tid, struct args *a, int *op,
    struct tval **other)
{
	static const struct {
		test_fn		 tc_fn;
		const char	*tc_name;
		int		 tc_op;
	} cmps[] = {
		{ test_eq, "eq", OP_EQ }, { test_ne, "ne", OP_NE },
		{ test_lt, "lt", OP_LT }, { test_le, "le", OP_LTEQ },
		{ test_gt, "gt", OP_GT }, { test_ge, "ge", OP_GTEQ }
	};
	static const char *const params[] = { "other" };
	size_t			 i;

	*op = -1;
	for (i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++)
		if (builtins[tid].bi_test == cmps[i].tc_fn) {
			if (args_bind(e, a, cmps[i].tc_name, params, 1, 1,
			    other) == -1)
				return -1;
			*op = cmps[i].tc_op;
			break;
		}
	return 0;
}

int
test_eq(struct eval *e, struct tval *in, struct args *a)
{
	return test_compare(e, in, a, "eq", OP_EQ);
}

int
test_ne(struct eval *e, struct tval *in, struct args *a)
{
	return test_compare(e, in, a, "ne", OP_NE);
}

int
test_lt(struct eval *e, struct tval *in, struct args *a)
{
	return test_compare(e, in, a, "lt", OP_LT);
}

int
test_le(struct eval *e, struct tval *in, struct args *a)
{
	return test_compare(e, in, a, "le", OP_LTEQ);
}

int
test_gt(struct eval *e, struct tval *in, struct args *a)
{
	return test_compare(e, in, a, "gt", OP_GT);
}

int
test_ge(struct eval *e, struct tval *in, struct args *a)
{
	return test_compare(e, in, a, "ge", OP_GTEQ);
}
