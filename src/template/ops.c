/*
 * ops.c — Python's operators on template values: arithmetic (+ - * / //
 * % **), concatenation (~, + on strings and sequences, with secrets
 * becoming keeper trees), `in`, and the comparisons, which everything
 * that orders or compares values goes through.  Ints are 64 bits: an
 * overflow is an error, never a wrong number.
 */
#include "build.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

static const char *
op_sym(int op)
{
	switch (op) {
	case OP_ADD:		return "+";
	case OP_SUB:		return "-";
	case OP_MUL:		return "*";
	case OP_DIV:		return "/";
	case OP_FLOORDIV:	return "//";
	case OP_MOD:		return "%";
	case OP_POW:		return "** or pow()";
	default:		return "?";
	}
}

static struct tval *
unsupported(struct eval *e, int op, const struct tval *a, const struct tval *b)
{
	return eval_error(e, "unsupported operand type(s) for %s: '%s' and '%s'",
	    op_sym(op), tval_typename(a), tval_typename(b));
}

static struct tsecret *
as_secret_part(struct eval *e, const struct tval *v)
{
	struct buf	 b;
	struct tsecret	*ts;

	if (v->tv_type == TV_SECRET)
		return tsecret_dup(v->u.sec);
	memset(&b, 0, sizeof(b));
	if (eval_str_into(e, &b, v) == -1) {
		buf_free(&b);
		return NULL;
	}
	ts = tsecret_lit(b.b_p ? b.b_p : "", b.b_len);
	buf_free(&b);
	return ts;
}

/*
 * str ~ secret: the result is a secret tree with the literal parts as
 * leaves.
 */
static struct tval *
secret_concat(struct eval *e, const struct tval *a, const struct tval *b)
{
	struct tsecret	*ta, *tb, *c;
	struct tval	*v;

	if ((ta = as_secret_part(e, a)) == NULL)
		return e->e_failed ? NULL : eval_error(e, "out of memory");
	if ((tb = as_secret_part(e, b)) == NULL) {
		tsecret_free(ta);
		return e->e_failed ? NULL : eval_error(e, "out of memory");
	}
	if ((c = tsecret_concat2(ta, tb)) == NULL ||
	    (v = tval_secret(c)) == NULL)
		return eval_error(e, "out of memory");
	return v;
}

/*
 * Concatenation is charged by length, so a doubling loop hits the step or
 * output limit early.
 */
static struct tval *
str_concat(struct eval *e, const struct tval *a, const struct tval *b)
{
	struct tval	*v;
	size_t		 n = a->u.s.len + b->u.s.len;

	if (n > e->e_maxout)
		return eval_error(e, "string too long (output limit %zu bytes)",
		    e->e_maxout);
	if (eval_step(e, n / 256) == -1)
		return NULL;
	{
		char	*p;

		if ((p = malloc(n + 1)) == NULL)
			return eval_error(e, "out of memory");
		memcpy(p, a->u.s.p, a->u.s.len);
		memcpy(p + a->u.s.len, b->u.s.p, b->u.s.len);
		p[n] = '\0';
		if ((v = tval_str_take(p, n)) == NULL)
			return eval_error(e, "out of memory");
	}
	return v;
}

/*
 * Markup + str and str + Markup: markupsafe escapes the plain operand
 * (Markup.__radd__ wins over str.__add__ as a subclass's reflected
 * method), and the sum is a Markup.
 */
static struct tval *
markup_concat(struct eval *e, const struct tval *a, const struct tval *b)
{
	struct buf	 buf;
	struct tval	*r;

	memset(&buf, 0, sizeof(buf));
	markup_escape_into(&buf, a);
	markup_escape_into(&buf, b);
	if (buf.b_len > e->e_maxout) {
		buf_free(&buf);
		return eval_error(e, "string too long (output limit %zu bytes)",
		    e->e_maxout);
	}
	if (eval_step(e, buf.b_len / 256) == -1) {
		buf_free(&buf);
		return NULL;
	}
	r = markup_new(buf.b_p != NULL ? buf.b_p : "", buf.b_len);
	buf_free(&buf);
	return r != NULL ? r : eval_error(e, "out of memory");
}

static struct tval *
seq_concat(struct eval *e, const struct tval *a, const struct tval *b)
{
	struct tval	*r;
	size_t		 i;

	if (eval_step(e, (a->u.l.n + b->u.l.n) / 8) == -1)
		return NULL;
	if ((r = a->tv_type == TV_LIST ? tval_list() : tval_tuple()) == NULL)
		return eval_error(e, "out of memory");
	if (tval_list_reserve(r, a->u.l.n + b->u.l.n) == -1)
		goto oom;
	for (i = 0; i < a->u.l.n; i++)
		if (tval_list_append(r, tval_ref(a->u.l.v[i])) == -1)
			goto oom;
	for (i = 0; i < b->u.l.n; i++)
		if (tval_list_append(r, tval_ref(b->u.l.v[i])) == -1)
			goto oom;
	return r;
oom:
	tval_unref(r);
	return eval_error(e, "out of memory");
}

/* The result size is checked before it is built. */
static struct tval *
seq_repeat(struct eval *e, const struct tval *s, int64_t k)
{
	struct tval	*r;
	struct buf	 b;
	int64_t		 i;
	size_t		 j, unit;

	if (k < 0)
		k = 0;
	unit = s->tv_type == TV_STR ? s->u.s.len : s->u.l.n *
	    sizeof(struct tval *);
	if (unit != 0 && (uint64_t)k > e->e_maxout / unit)
		return eval_error(e, "repetition result too large (output limit "
		    "%zu bytes)", e->e_maxout);
	if (eval_step(e, (uint64_t)k * (unit / 64 + 1) / 8) == -1)
		return NULL;
	if (s->tv_type == TV_STR) {
		memset(&b, 0, sizeof(b));
		for (i = 0; i < k; i++)
			if (buf_add(&b, s->u.s.p, s->u.s.len) == -1) {
				buf_free(&b);
				return eval_error(e, "out of memory");
			}
		/* Markup * n is a Markup */
		if ((r = tval_str_buf(&b)) != NULL)
			r->tv_flags |= s->tv_flags & TVF_MARKUP;
		return r;
	}
	if ((r = s->tv_type == TV_LIST ? tval_list() : tval_tuple()) == NULL)
		return eval_error(e, "out of memory");
	for (i = 0; i < k; i++)
		for (j = 0; j < s->u.l.n; j++)
			if (tval_list_append(r, tval_ref(s->u.l.v[j])) == -1) {
				tval_unref(r);
				return eval_error(e, "out of memory");
			}
	return r;
}

/*
 * Python ints do not overflow; ours are 64 bits, so an overflow is an error
 * rather than a wrong number.
 */
struct tval *
int_result(struct eval *e, int ok, int64_t r)
{
	if (!ok)
		return eval_error(e, "integer overflow: the result does not fit "
		    "in 64 bits");
	return tval_int(r);
}

static struct tval *
ipow(struct eval *e, int64_t base, int64_t ex)
{
	int64_t	 r = 1;

	while (ex > 0) {
		if (ex & 1) {
			if (__builtin_mul_overflow(r, base, &r))
				return int_result(e, 0, 0);
		}
		ex >>= 1;
		if (ex > 0 && __builtin_mul_overflow(base, base, &base))
			return int_result(e, 0, 0);
	}
	return tval_int(r);
}

/* a and b borrowed; Python semantics for + - * / // % ** ~ */
struct tval *
eval_binop(struct eval *e, int op, struct tval *a, struct tval *b)
{
	int64_t		 r = 0;
	double		 x, y, m;

	if (op == OP_TILDE) {
		struct buf	 buf;

		if (a->tv_type == TV_SECRET || b->tv_type == TV_SECRET)
			return secret_concat(e, a, b);
		if (a->tv_type == TV_STR && b->tv_type == TV_STR)
			return str_concat(e, a, b);
		memset(&buf, 0, sizeof(buf));
		if (eval_str_into(e, &buf, a) == -1 ||
		    eval_str_into(e, &buf, b) == -1) {
			buf_free(&buf);
			return NULL;
		}
		return tval_str_buf(&buf);
	}
	/*
	 * 'Hello %s' % missing: Python's str.__mod__ runs first and formats
	 * the undefined with str(), i.e. as ''; only a conversion that needs
	 * a number fails (format_percent does that).
	 */
	if (op == OP_MOD && a->tv_type == TV_STR && b->tv_type == TV_UNDEF)
		return format_percent(e, a, b);
	if (a->tv_type == TV_UNDEF)
		return eval_undefined_error(e, a);
	if (b->tv_type == TV_UNDEF)
		return eval_undefined_error(e, b);
	if (a->tv_type == TV_SECRET || b->tv_type == TV_SECRET) {
		if (op == OP_ADD && (a->tv_type == TV_STR ||
		    a->tv_type == TV_SECRET) && (b->tv_type == TV_STR ||
		    b->tv_type == TV_SECRET))
			return secret_concat(e, a, b);
		return eval_error(e, "a secret can only be concatenated with "
		    "strings");
	}
	if (is_num(a) && is_num(b)) {
		int	 ints = is_intlike(a) && is_intlike(b);

		switch (op) {
		case OP_ADD:
			if (ints) {
				int	 ok = !__builtin_add_overflow(a->u.i,
				    b->u.i, &r);

				return int_result(e, ok, r);
			}
			return tval_float(num_f(a) + num_f(b));
		case OP_SUB:
			if (ints) {
				int	 ok = !__builtin_sub_overflow(a->u.i,
				    b->u.i, &r);

				return int_result(e, ok, r);
			}
			return tval_float(num_f(a) - num_f(b));
		case OP_MUL:
			if (ints) {
				int	 ok = !__builtin_mul_overflow(a->u.i,
				    b->u.i, &r);

				return int_result(e, ok, r);
			}
			return tval_float(num_f(a) * num_f(b));
		case OP_DIV:
			if (num_f(b) == 0)
				return eval_error(e, "division by zero");
			return tval_float(num_f(a) / num_f(b));
		case OP_FLOORDIV:
		case OP_MOD:
			if (ints) {
				int64_t	 q, rem;

				if (b->u.i == 0)
					return eval_error(e, "integer division "
					    "or modulo by zero");
				if (a->u.i == INT64_MIN && b->u.i == -1)
					return op == OP_MOD ? tval_int(0) :
					    int_result(e, 0, 0);
				q = a->u.i / b->u.i;
				rem = a->u.i % b->u.i;
				/* Python rounds toward negative infinity */
				if (rem != 0 && ((rem < 0) != (b->u.i < 0))) {
					q--;
					rem += b->u.i;
				}
				return tval_int(op == OP_MOD ? rem : q);
			}
			x = num_f(a);
			y = num_f(b);
			if (y == 0)
				return eval_error(e, op == OP_MOD ? "float modulo" :
				    "float floor division by zero");
			m = fmod(x, y);
			if (op == OP_MOD) {
				if (m != 0 && ((m < 0) != (y < 0)))
					m += y;
				else if (m == 0)
					m = copysign(0.0, y);
				return tval_float(m);
			}
			{
				double	 d = (x - m) / y, fl;

				if (m != 0 && ((y < 0) != (m < 0)))
					d -= 1.0;
				fl = floor(d);
				if (d - fl > 0.5)
					fl += 1.0;
				if (d == 0)
					fl = copysign(0.0, x / y);
				return tval_float(fl);
			}
		case OP_POW:
			if (ints && b->u.i >= 0)
				return ipow(e, a->u.i, b->u.i);
			x = num_f(a);
			y = num_f(b);
			if (x == 0 && y < 0)
				return eval_error(e, "0.0 cannot be raised to a "
				    "negative power");
			if (x < 0 && y != floor(y))
				return eval_error(e, "complex results are not "
				    "supported");
			return tval_float(pow(x, y));
		}
	}
	switch (op) {
	case OP_ADD:
		if (a->tv_type == TV_STR && b->tv_type == TV_STR &&
		    ((a->tv_flags | b->tv_flags) & TVF_MARKUP))
			return markup_concat(e, a, b);
		if (a->tv_type == TV_STR && b->tv_type == TV_STR)
			return str_concat(e, a, b);
		if ((a->tv_type == TV_LIST || a->tv_type == TV_TUPLE) &&
		    a->tv_type == b->tv_type)
			return seq_concat(e, a, b);
		if (a->tv_type == TV_STR || a->tv_type == TV_LIST ||
		    a->tv_type == TV_TUPLE)
			return eval_error(e, "can only concatenate %s (not \"%s\") "
			    "to %s", tval_typename(a), tval_typename(b),
			    tval_typename(a));
		break;
	case OP_MUL:
		if ((a->tv_type == TV_STR || a->tv_type == TV_LIST ||
		    a->tv_type == TV_TUPLE) && is_intlike(b))
			return seq_repeat(e, a, b->u.i);
		if ((b->tv_type == TV_STR || b->tv_type == TV_LIST ||
		    b->tv_type == TV_TUPLE) && is_intlike(a))
			return seq_repeat(e, b, a->u.i);
		if (a->tv_type == TV_STR || b->tv_type == TV_STR)
			return eval_error(e, "can't multiply sequence by non-int "
			    "of type '%s'", tval_typename(a->tv_type == TV_STR ?
			    b : a));
		break;
	case OP_MOD:
		if (a->tv_type == TV_STR)
			return format_percent(e, a, b);
		break;
	default:
		break;
	}
	return unsupported(e, op, a, b);
}

/*
 * The in operator: substring for str, equality for sequences, keys for
 * dicts.
 */
int
eval_contains(struct eval *e, struct tval *seq, struct tval *v)
{
	size_t	 i;

	if (v->tv_type == TV_SECRET || seq->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be compared");
	switch (seq->tv_type) {
	case TV_STR:
		if (v->tv_type != TV_STR)
			return eval_errorv(e, "'in <string>' requires string as "
			    "left operand, not %s", tval_typename(v));
		if (v->u.s.len == 0)
			return 1;
		return memmem(seq->u.s.p, seq->u.s.len, v->u.s.p, v->u.s.len) !=
		    NULL;
	case TV_LIST:
	case TV_TUPLE:
		if (eval_step(e, seq->u.l.n / 8) == -1)
			return -1;
		for (i = 0; i < seq->u.l.n; i++)
			if (tval_eq(seq->u.l.v[i], v))
				return 1;
		return 0;
	case TV_DICT:
		if (!tval_hashable(v))
			return eval_errorv(e, "unhashable type: '%s'",
			    tval_typename(v));
		return tval_dict_get(seq, v) != NULL;
	case TV_UNDEF:
		return 0;
	default:
		return eval_errorv(e, "argument of type '%s' is not iterable",
		    tval_typename(seq));
	}
}

/* --- Comparisons --------------------------------------------------------- */

static const char *
cmp_sym(int op)
{
	switch (op) {
	case OP_LT:	return "<";
	case OP_LTEQ:	return "<=";
	case OP_GT:	return ">";
	default:	return ">=";
	}
}

/* c is the sign of a - b; what the ordering op says of it. */
static int
cmp_order(int op, int c)
{
	switch (op) {
	case OP_LT:	return c < 0;
	case OP_LTEQ:	return c <= 0;
	case OP_GT:	return c > 0;
	default:	return c >= 0;
	}
}

/*
 * The == operator.  tval_eq is Python's PyObject_RichCompareBool, which
 * containers and `in` use: an object is equal to itself.  The operator
 * itself has no such shortcut, so a NaN is not equal to itself.
 */
static int
eq_op(const struct tval *a, const struct tval *b)
{
	if (is_num(a) && is_num(b) && (a->tv_type == TV_FLOAT ||
	    b->tv_type == TV_FLOAT))
		return num_f(a) == num_f(b);
	return tval_eq(a, b);
}

/*
 * Python's comparison operators on two values: 1 or 0, -1 when an
 * ordering is not defined between them (a TypeError in Python).  Floats
 * compare as IEEE 754 says (every ordering with a NaN is false);
 * sequences of one type compare at their first unequal item, then by
 * length.
 */
int
tval_compare(const struct tval *a, const struct tval *b, int op)
{
	size_t	 i, n;
	double	 x, y;
	int	 c;

	if (op == OP_EQ)
		return eq_op(a, b);
	if (op == OP_NE)
		return !eq_op(a, b);
	if (is_num(a) && is_num(b)) {
		if (is_intlike(a) && is_intlike(b))
			return cmp_order(op, (a->u.i > b->u.i) -
			    (a->u.i < b->u.i));
		x = num_f(a);
		y = num_f(b);
		switch (op) {
		case OP_LT:	return x < y;
		case OP_LTEQ:	return x <= y;
		case OP_GT:	return x > y;
		default:	return x >= y;
		}
	}
	if ((a->tv_type == TV_STR && b->tv_type == TV_STR) ||
	    (a->tv_type == TV_BYTES && b->tv_type == TV_BYTES)) {
		/* UTF-8 byte order is code point order */
		n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
		if ((c = memcmp(a->u.s.p, b->u.s.p, n)) == 0)
			c = (a->u.s.len > b->u.s.len) - (a->u.s.len < b->u.s.len);
		return cmp_order(op, c);
	}
	if ((a->tv_type == TV_LIST || a->tv_type == TV_TUPLE) &&
	    a->tv_type == b->tv_type) {
		n = a->u.l.n < b->u.l.n ? a->u.l.n : b->u.l.n;
		for (i = 0; i < n; i++)
			if (!tval_eq(a->u.l.v[i], b->u.l.v[i]))
				return tval_compare(a->u.l.v[i], b->u.l.v[i],
				    op);
		return cmp_order(op, (a->u.l.n > b->u.l.n) -
		    (a->u.l.n < b->u.l.n));
	}
	return -1;
}

/*
 * The comparison operators and tests: the one place that knows Python's
 * rules (sorting, min, max and the comparison tests come here too).
 * Secrets cannot be compared; an Undefined in an ordering raises.
 */
int
eval_compare(struct eval *e, int op, const struct tval *a,
    const struct tval *b)
{
	const struct tval	*ua;
	int			 r;

	if (a->tv_type == TV_SECRET || b->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be compared");
	switch (op) {
	case OP_IN:
	case OP_NOTIN:
		r = eval_contains(e, (struct tval *)b, (struct tval *)a);
		return r == -1 || op == OP_IN ? r : !r;
	case OP_EQ:
	case OP_NE:
		return tval_compare(a, b, op);
	}
	if (a->tv_type == TV_UNDEF || b->tv_type == TV_UNDEF) {
		ua = a->tv_type == TV_UNDEF ? a : b;
		eval_undefined_error(e, ua);
		return -1;
	}
	if ((r = tval_compare(a, b, op)) == -1)
		return eval_errorv(e, "'%s' not supported between instances of "
		    "'%s' and '%s'", cmp_sym(op), tval_typename(a),
		    tval_typename(b));
	return r;
}
