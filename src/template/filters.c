/*
 * filters.c — Jinja2's built-in filters and tests (jinja2/filters.py and
 * tests.py, 3.x) with the same parameter names, defaults and corner cases,
 * plus the connector filters from_json, json_encode, base64_encode and
 * base64_decode.  Lists stand in for Jinja2's generators.
 */
#include "build.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tmpl_int.h"

struct tval	*str_splitlines(const struct tval *, int);

#define BIND(name, params, nreq)					\
	do {								\
		if (args_bind(e, a, name, params,			\
		    sizeof(params) / sizeof(params[0]), nreq, v) == -1)	\
			return NULL;					\
	} while (0)

static struct tval *
oom(struct eval *e)
{
	return eval_error(e, "out of memory");
}

/* Jinja2's soft_str: str(), with Undefined as ''. */
static struct tval *
soft_str(struct eval *e, struct tval *v)
{
	if (v->tv_type == TV_SECRET)
		return eval_error(e, "a secret cannot be used here");
	return eval_str(e, v);
}

static int
want_intarg(struct eval *e, const struct tval *v, const char *what,
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
static struct tval *
list_from(struct eval *e, struct tval **items, size_t n)
{
	struct tval	*l;
	size_t		 i;

	if ((l = tval_list()) == NULL) {
		items_free(items, n);
		return oom(e);
	}
	if (n > 0) {
		l->u.l.v = items;
		l->u.l.n = l->u.l.cap = n;
	} else
		free(items);
	(void)i;
	return l;
}

/* ignore_case(): the sort and group key of a string is its lower case. */
static struct tval *
lower_key(struct tval *v)
{
	if (v->tv_type == TV_STR) {
		struct tval	*r = str_lower(v);

		tval_unref(v);
		return r;
	}
	return v;
}

/*
 * make_attrgetter: "a.b.0" looks up each part with getitem (digits as
 * ints).  A missing result becomes dflt when given.  Returns a new ref.
 */
static struct tval *
attr_get(struct eval *e, struct tval *item, const struct tval *attr,
    struct tval *dflt, int lower)
{
	struct tval	*cur = tval_ref(item), *key, *next;
	const char	*p, *end, *dot;
	int		 digits;
	size_t		 i;

	/* no attribute: the item itself is the key */
	if (attr == NULL || attr->tv_type == TV_NONE)
		return lower ? lower_key(cur) : cur;
	if (attr->tv_type == TV_INT) {
		next = eval_getitem(e, cur, (struct tval *)attr);
		tval_unref(cur);
		cur = next;
	} else if (attr->tv_type != TV_STR) {
		tval_unref(cur);
		return eval_error(e, "attribute must be a string or integer");
	} else {
		p = attr->u.s.p;
		end = p + attr->u.s.len;
		while (cur != NULL) {
			dot = memchr(p, '.', (size_t)(end - p));
			if (dot == NULL)
				dot = end;
			digits = dot > p;
			for (i = 0; p + i < dot; i++)
				if (!isdigit((unsigned char)p[i]))
					digits = 0;
			if (!digits && cur->tv_type == TV_DICT) {
				/* the usual case, without a key allocation */
				next = tval_dict_gets(cur, p, (size_t)(dot - p),
				    tmpl_hash(p, (size_t)(dot - p)));
				if (next != NULL) {
					tval_ref(next);
					tval_unref(cur);
					cur = next;
					if (dot == end)
						break;
					p = dot + 1;
					continue;
				}
			}
			if (digits)
				key = tval_int(strtoll(p, NULL, 10));
			else
				key = tval_str(p, (size_t)(dot - p));
			if (key == NULL) {
				tval_unref(cur);
				return oom(e);
			}
			next = eval_getitem(e, cur, key);
			tval_unref(key);
			tval_unref(cur);
			cur = next;
			if (dot == end)
				break;
			p = dot + 1;
		}
	}
	if (cur == NULL)
		return NULL;
	/*
	 * map(default=...) and groupby(default=...) replace a missing
	 * attribute
	 */
	if (cur->tv_type == TV_UNDEF && dflt != NULL) {
		tval_unref(cur);
		cur = tval_ref(dflt);
	}
	return lower ? lower_key(cur) : cur;
}

/* --- Sorting ----------------------------------------------------------- */

struct sortctx {
	struct eval	 *sc_e;
	int		  sc_reverse;
	int		  sc_failed;
};

/* "a comes before b" for a stable sort, ascending or descending */
static int
sort_before(struct sortctx *sc, const struct tval *a, const struct tval *b)
{
	int	 lt;

	if (sc->sc_failed)
		return 0;
	if (sc->sc_reverse) {
		if (eval_less(sc->sc_e, b, a, &lt) == -1) {
			sc->sc_failed = 1;
			return 0;
		}
		return lt;
	}
	if (eval_less(sc->sc_e, a, b, &lt) == -1) {
		sc->sc_failed = 1;
		return 0;
	}
	return lt;
}

/*
 * A merge sort because Python's sort is stable and comparisons may fail
 * midway.
 */
static void
merge_sort(struct sortctx *sc, struct tval **v, struct tval **k,
    struct tval **tv, struct tval **tk, size_t n)
{
	size_t	 mid = n / 2, i, j, o;

	if (n < 2 || sc->sc_failed)
		return;
	merge_sort(sc, v, k, tv, tk, mid);
	merge_sort(sc, v + mid, k + mid, tv, tk, n - mid);
	memcpy(tv, v, n * sizeof(*v));
	memcpy(tk, k, n * sizeof(*k));
	for (i = 0, j = mid, o = 0; i < mid && j < n; o++) {
		if (sort_before(sc, tk[j], tk[i])) {
			v[o] = tv[j];
			k[o] = tk[j++];
		} else {
			v[o] = tv[i];
			k[o] = tk[i++];
		}
	}
	for (; i < mid; o++) {
		v[o] = tv[i];
		k[o] = tk[i++];
	}
	for (; j < n; o++) {
		v[o] = tv[j];
		k[o] = tk[j++];
	}
}

/* Sort items in place by keys (or by themselves), stably, like sorted(). */
int	sort_values(struct eval *, struct tval **, size_t, struct tval **,
	    int);
int
sort_values(struct eval *e, struct tval **items, size_t n, struct tval **keys,
    int reverse)
{
	struct sortctx	 sc;
	struct tval	**tmp;

	if (n < 2)
		return 0;
	if (eval_step(e, n) == -1)
		return -1;
	if ((tmp = calloc(3 * n, sizeof(*tmp))) == NULL)
		return eval_errorv(e, "out of memory");
	/* sorting by the items themselves: they are their own keys */
	if (keys == NULL) {
		keys = tmp + 2 * n;
		memcpy(keys, items, n * sizeof(*keys));
	}
	sc.sc_e = e;
	sc.sc_reverse = reverse;
	sc.sc_failed = 0;
	merge_sort(&sc, items, keys, tmp, tmp + n, n);
	free(tmp);
	return sc.sc_failed ? -1 : 0;
}

/* Keys for sort/unique/min/max: attribute lookup, ignore_case. */
static struct tval **
make_keys(struct eval *e, struct tval **items, size_t n,
    const struct tval *attr, int lower, int multi)
{
	struct tval	**keys;
	size_t		  i;

	if ((keys = calloc(n ? n : 1, sizeof(*keys))) == NULL) {
		eval_error(e, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (multi && attr != NULL && attr->tv_type == TV_STR &&
		    memchr(attr->u.s.p, ',', attr->u.s.len) != NULL) {
			/* "a,b": a list of keys (make_multi_attrgetter) */
			const char	*p = attr->u.s.p, *end = p + attr->u.s.len;
			struct tval	*l = tval_list(), *part, *k;

			while (l != NULL) {
				const char	*c = memchr(p, ',', (size_t)(end - p));

				if (c == NULL)
					c = end;
				part = tval_str(p, (size_t)(c - p));
				k = part ? attr_get(e, items[i], part, NULL,
				    lower) : NULL;
				tval_unref(part);
				if (k == NULL || tval_list_append(l, k) == -1) {
					tval_unref(l);
					l = NULL;
					break;
				}
				if (c == end)
					break;
				p = c + 1;
			}
			keys[i] = l;
		} else
			keys[i] = attr_get(e, items[i], attr, NULL, lower);
		if (keys[i] == NULL) {
			items_free(keys, i);
			return NULL;
		}
	}
	return keys;
}

/* --- Number parsing like Python's int() and float() -------------------- */

/* Strip Python whitespace and single underscores between digits. */
static int
num_clean(const struct tval *s, char *out, size_t outlen)
{
	size_t	 a = 0, z = s->u.s.len, i, n = 0;

	while (a < z && cp_isspace((unsigned char)s->u.s.p[a]))
		a++;
	while (z > a && cp_isspace((unsigned char)s->u.s.p[z - 1]))
		z--;
	if (z == a || z - a >= outlen)
		return -1;
	for (i = a; i < z; i++) {
		char	 c = s->u.s.p[i];

		if (c == '_') {
			if (i == a || i + 1 == z ||
			    !isxdigit((unsigned char)s->u.s.p[i - 1]) ||
			    !isxdigit((unsigned char)s->u.s.p[i + 1]))
				return -1;
			continue;
		}
		if (c == '\0')
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/*
 * float(str): decimal forms and inf/nan only; strtod's hex and nan(...) are
 * not Python.
 */
int	py_float_parse(const struct tval *, double *);
int
py_float_parse(const struct tval *s, double *out)
{
	char	 buf[512], *p, *end;
	size_t	 i;
	int	 digits = 0;

	if (num_clean(s, buf, sizeof(buf)) == -1)
		return -1;
	/* Python spells infinity and NaN in any case, with an optional sign */
	p = buf;
	if (*p == '+' || *p == '-')
		p++;
	if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0 ||
	    strcasecmp(p, "nan") == 0) {
		*out = strtod(buf, NULL);
		return 0;
	}
	/* digits [. digits] [e [sign] digits] only: no hex, no "infinity(x)" */
	for (i = 0; p[i] != '\0'; i++) {
		if (isdigit((unsigned char)p[i]))
			digits = 1;
		else if (p[i] != '.' && p[i] != 'e' && p[i] != 'E' &&
		    p[i] != '+' && p[i] != '-')
			return -1;
	}
	if (!digits)
		return -1;
	errno = 0;
	*out = strtod(buf, &end);
	if (*end != '\0')
		return -1;
	return 0;
}

/*
 * int(str, base): optional sign, base prefixes only for their base, no
 * decimal point.
 */
static int
py_int_parse(const struct tval *s, int base, int64_t *out)
{
	char		 buf[256], *p, *end;
	int		 neg = 0;
	unsigned long long v;

	if (num_clean(s, buf, sizeof(buf)) == -1)
		return -1;
	p = buf;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p[0] == '0' && p[1] != '\0' && strchr("xXoObB", p[1]) != NULL) {
		int	 pb = strchr("xX", p[1]) ? 16 : strchr("oO", p[1]) ? 8 : 2;

		if (base != 0 && base != pb)
			return -1;
		base = pb;
		p += 2;
	} else if (base == 0) {
		base = 10;
		/* "010" is not an int literal */
		if (p[0] == '0' && p[strspn(p, "0")] != '\0')
			return -1;
	}
	/* a second sign or inner blank after the prefix is invalid */
	if (*p == '\0' || *p == '+' || *p == '-' || isspace((unsigned char)*p))
		return -2 + 1;
	errno = 0;
	v = strtoull(p, &end, base);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE || v > (unsigned long long)INT64_MAX + neg)
		return -3;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* --- The filters ------------------------------------------------------- */

/*
 * default(value='', boolean=False): Undefined (or, with boolean, anything
 * falsy) becomes the default.
 */
static struct tval *
f_default(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "default_value", "boolean" };
	struct tval		*v[2];

	BIND("default", params, 0);
	/*
	 * get_variable()'s placeholder is an Undefined too: default replaces
	 * it
	 */
	if (in->tv_type == TV_UNDEF ||
	    (v[1] != NULL && tval_truth(v[1]) && !tval_truth(in)))
		return v[0] != NULL ? tval_ref(v[0]) : tval_str("", 0);
	return tval_ref(in);
}

/* length/count: len(), with Undefined as 0. */
static struct tval *
f_length(struct eval *e, struct tval *in)
{
	switch (in->tv_type) {
	case TV_UNDEF:
		return tval_int(0);
	case TV_STR:
		return tval_int((int64_t)tval_nchars(in));
	case TV_BYTES:
		return tval_int((int64_t)in->u.s.len);
	case TV_LIST:
	case TV_TUPLE:
		return tval_int((int64_t)in->u.l.n);
	case TV_DICT:
		return tval_int((int64_t)in->u.d.n);
	case TV_SECRET:
		return eval_error(e, "a secret has no length in a worker");
	default:
		return eval_error(e, "object of type '%s' has no len()",
		    tval_typename(in));
	}
}

static struct tval *
f_strmap(struct eval *e, struct tval *in,
    struct tval *(*fn)(const struct tval *))
{
	struct tval	*s, *r;

	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	r = fn(s);
	tval_unref(s);
	return r ? r : oom(e);
}

/*
 * int(default=0, base=10): like Jinja2, '42.23' gives 42 through float;
 * anything else the default.
 */
static struct tval *
f_int(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "default", "base" };
	struct tval		*v[2];
	int64_t			 base = 10, r;
	double			 f;
	int			 rc;

	BIND("int", params, 0);
	if (v[1] != NULL && want_intarg(e, v[1], "base", &base) == -1)
		return NULL;
	switch (in->tv_type) {
	case TV_UNDEF:
		return eval_undefined_error(e, in);
	case TV_INT:
	case TV_BOOL:
		return tval_int(in->u.i);
	case TV_FLOAT:
		f = in->u.f;
		goto fromfloat;
	case TV_STR:
	case TV_BYTES:
		if (base != 0 && (base < 2 || base > 36))
			return eval_error(e, "int() base must be >= 2 and <= 36, "
			    "or 0");
		if ((rc = py_int_parse(in, (int)base, &r)) == 0)
			return tval_int(r);
		if (rc == -3)
			return eval_error(e, "integer too large for 64 bits");
		/* Jinja2: "42.23"|int is 42 */
		if (py_float_parse(in, &f) == 0)
			goto fromfloat;
		break;
	case TV_SECRET:
		return eval_error(e, "a secret cannot be converted");
	default:
		break;
	}
	return v[0] != NULL ? tval_ref(v[0]) : tval_int(0);
fromfloat:
	if (isnan(f))
		return v[0] != NULL ? tval_ref(v[0]) : tval_int(0);
	if (isinf(f))
		return eval_error(e, "cannot convert float infinity to integer");
	if (f >= 9223372036854775808.0 || f < -9223372036854775808.0)
		return eval_error(e, "integer too large for 64 bits");
	return tval_int((int64_t)f);
}

/* float(default=0.0). */
static struct tval *
f_float(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "default" };
	struct tval		*v[1];
	double			 f;

	BIND("float", params, 0);
	switch (in->tv_type) {
	case TV_UNDEF:
		return eval_undefined_error(e, in);
	case TV_INT:
	case TV_BOOL:
		return tval_float((double)in->u.i);
	case TV_FLOAT:
		return tval_ref(in);
	case TV_STR:
	case TV_BYTES:
		if (py_float_parse(in, &f) == 0)
			return tval_float(f);
		break;
	case TV_SECRET:
		return eval_error(e, "a secret cannot be converted");
	default:
		break;
	}
	return v[0] != NULL ? tval_ref(v[0]) : tval_float(0.0);
}

static struct tval *
f_abs(struct eval *e, struct tval *in)
{
	switch (in->tv_type) {
	case TV_UNDEF:
		return eval_undefined_error(e, in);
	case TV_INT:
	case TV_BOOL:
		if (in->u.i == INT64_MIN)
			return eval_error(e, "integer overflow");
		return tval_int(in->u.i < 0 ? -in->u.i : in->u.i);
	case TV_FLOAT:
		return tval_float(fabs(in->u.f));
	default:
		return eval_error(e, "bad operand type for abs(): '%s'",
		    tval_typename(in));
	}
}

/* Python round(x, n): half to even on the exact binary value. */
static double
round_float(double x, int64_t n)
{
	char	 tmp[512];
	double	 p;

	if (isnan(x) || isinf(x) || n > 308)
		return x;
	if (n >= 0 && n <= 15 && fabs(x) < 1e15) {
		static const double	 p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5,
		    1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
		double			 y = x * p10[n], fr;

		/* away from a tie the product's error cannot change k */
		fr = fabs(y - trunc(y));
		if (fabs(y) < 4e15 && fabs(fr - 0.5) > 1e-6)
			return nearbyint(y) / p10[n];
	}
	if (n >= 0) {
		snprintf(tmp, sizeof(tmp), "%.*f", (int)n, x);
		return strtod(tmp, NULL);
	}
	if (n < -308)
		return copysign(0.0, x);
	p = pow(10.0, (double)-n);
	return rint(x / p) * p;
}

/*
 * round(precision=0, method='common'): ints stay ints with common rounding,
 * as in Python.
 */
static struct tval *
f_round(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "precision", "method" };
	struct tval		*v[2];
	int64_t			 prec = 0, p, q, r;
	double			 x, m;
	const char		*method = "common";

	BIND("round", params, 0);
	if (v[0] != NULL && want_intarg(e, v[0], "precision", &prec) == -1)
		return NULL;
	if (v[1] != NULL) {
		if (v[1]->tv_type != TV_STR)
			return eval_error(e, "method must be common, ceil or "
			    "floor");
		method = v[1]->u.s.p;
	}
	if (strcmp(method, "common") != 0 && strcmp(method, "ceil") != 0 &&
	    strcmp(method, "floor") != 0)
		return eval_error(e, "method must be common, ceil or floor");
	if (in->tv_type == TV_UNDEF)
		return eval_undefined_error(e, in);
	if (in->tv_type != TV_INT && in->tv_type != TV_BOOL &&
	    in->tv_type != TV_FLOAT)
		return eval_error(e, "type %s doesn't define __round__ method",
		    tval_typename(in));
	/* Python: round(int) stays an int, round(float) a float */
	x = in->tv_type == TV_FLOAT ? in->u.f : (double)in->u.i;
	if (strcmp(method, "common") == 0) {
		if (in->tv_type != TV_FLOAT) {
			if (prec >= 0)
				return tval_int(in->u.i);
			if (prec < -18)
				return tval_int(0);
			for (p = 1, q = 0; q < -prec; q++)
				p *= 10;
			q = in->u.i / p;
			r = in->u.i % p;
			if (r < 0) {
				r += p;
				q--;
			}
			if (r * 2 > p || (r * 2 == p && (q & 1)))
				q++;
			if (__builtin_mul_overflow(q, p, &r))
				return eval_error(e, "integer overflow");
			return tval_int(r);
		}
		return tval_float(round_float(x, prec));
	}
	m = pow(10.0, (double)prec);
	x = strcmp(method, "ceil") == 0 ? ceil(x * m) : floor(x * m);
	return tval_float(x / m);
}

/* join(d='', attribute=None): str() of each item. */
static struct tval *
f_join(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "d", "attribute" };
	struct tval		*v[2], **items, *it;
	size_t			 n, i;
	struct buf		 b;
	int			 secret = 0;
	struct tval		*acc = NULL, *t;

	BIND("join", params, 0);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	memset(&b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		if (v[1] != NULL && v[1]->tv_type != TV_NONE) {
			if ((it = attr_get(e, items[i], v[1], NULL, 0)) == NULL)
				goto fail;
			tval_unref(items[i]);
			items[i] = it;
		}
		if (items[i]->tv_type == TV_SECRET)
			secret = 1;
	}
	/* join of a list holding secrets builds one secret tree */
	if (secret) {
		/* joining secrets is concatenation */
		for (i = 0; i < n; i++) {
			if (i && v[0] != NULL) {
				t = acc ? eval_binop(e, OP_TILDE, acc, v[0]) :
				    tval_ref(v[0]);
				tval_unref(acc);
				if ((acc = t) == NULL)
					goto fail;
			}
			t = acc ? eval_binop(e, OP_TILDE, acc, items[i]) :
			    tval_ref(items[i]);
			tval_unref(acc);
			if ((acc = t) == NULL)
				goto fail;
		}
		items_free(items, n);
		return acc;
	}
	for (i = 0; i < n; i++) {
		if (i && v[0] != NULL && eval_str_into(e, &b, v[0]) == -1)
			goto fail;
		if (eval_str_into(e, &b, items[i]) == -1)
			goto fail;
	}
	items_free(items, n);
	return tval_str_buf(&b);
fail:
	items_free(items, n);
	buf_free(&b);
	return NULL;
}

/* first/last: an Undefined when the sequence is empty, as in Jinja2. */
static struct tval *
f_first_last(struct eval *e, struct tval *in, int last)
{
	struct tval	**items;
	size_t		  n;
	struct tval	 *r;

	/* sequences answer directly; other iterables are walked */
	if (in->tv_type == TV_LIST || in->tv_type == TV_TUPLE) {
		if (in->u.l.n == 0)
			goto empty;
		return tval_ref(in->u.l.v[last ? in->u.l.n - 1 : 0]);
	}
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if (n == 0)
		goto empty;
	r = tval_ref(items[last ? n - 1 : 0]);
	items_free(items, n);
	return r;
empty:
	return tval_undef(last ? "No last item, sequence was empty." :
	    "No first item, sequence was empty.", NULL);
}

static struct tval *
f_list(struct eval *e, struct tval *in)
{
	struct tval	**items;
	size_t		  n;

	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	return list_from(e, items, n);
}

/*
 * reverse: a reversed string, or a reversed list (Jinja2 returns an
 * iterator).
 */
static struct tval *
f_reverse(struct eval *e, struct tval *in)
{
	struct tval	**items, *t, *r;
	size_t		  n, i;

	if (in->tv_type == TV_STR) {
		struct buf	 b;
		size_t		 end = in->u.s.len, q;

		memset(&b, 0, sizeof(b));
		while (end > 0) {
			q = end - 1;
			while (q > 0 && ((unsigned char)in->u.s.p[q] & 0xc0) ==
			    0x80)
				q--;
			buf_add(&b, in->u.s.p + q, end - q);
			end = q;
		}
		r = tval_str_buf(&b);
		return r ? r : oom(e);
	}
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	for (i = 0; i < n / 2; i++) {
		t = items[i];
		items[i] = items[n - 1 - i];
		items[n - 1 - i] = t;
	}
	return list_from(e, items, n);
}

/*
 * sort(reverse=False, case_sensitive=False, attribute=None); attribute may
 * list several, comma separated.
 */
static struct tval *
f_sort(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "reverse", "case_sensitive",
	    "attribute" };
	struct tval		*v[3], **items, **keys;
	size_t			 n;
	int			 rc;

	BIND("sort", params, 0);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if ((keys = make_keys(e, items, n, v[2], !(v[1] != NULL &&
	    tval_truth(v[1])), 1)) == NULL) {
		items_free(items, n);
		return NULL;
	}
	rc = sort_values(e, items, n, keys, v[0] != NULL && tval_truth(v[0]));
	items_free(keys, n);
	if (rc == -1) {
		items_free(items, n);
		return NULL;
	}
	return list_from(e, items, n);
}

/*
 * dictsort(case_sensitive=False, by='key', reverse=False): a list of (key,
 * value) tuples.
 */
static struct tval *
f_dictsort(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "case_sensitive", "by",
	    "reverse" };
	struct tval		*v[3], **items, **keys, *t;
	size_t			 n, i;
	int			 pos = 0, rc;

	BIND("dictsort", params, 0);
	if (v[1] != NULL) {
		if (v[1]->tv_type == TV_STR && strcmp(v[1]->u.s.p, "value") == 0)
			pos = 1;
		else if (v[1]->tv_type != TV_STR ||
		    strcmp(v[1]->u.s.p, "key") != 0)
			return eval_error(e, "You can only sort by either "
			    "\"key\" or \"value\"");
	}
	if (in->tv_type == TV_UNDEF)
		return eval_undefined_error(e, in);
	if (in->tv_type != TV_DICT)
		return eval_error(e, "'%s' object has no attribute 'items'",
		    tval_typename(in));
	n = in->u.d.n;
	if ((items = calloc(n ? n : 1, sizeof(*items))) == NULL ||
	    (keys = calloc(n ? n : 1, sizeof(*keys))) == NULL) {
		free(items);
		return oom(e);
	}
	for (i = 0; i < n; i++) {
		if ((t = tval_tuple()) == NULL ||
		    tval_list_append(t, tval_ref(in->u.d.e[i].de_key)) == -1 ||
		    tval_list_append(t, tval_ref(in->u.d.e[i].de_val)) == -1) {
			tval_unref(t);
			items_free(items, i);
			items_free(keys, i);
			return oom(e);
		}
		items[i] = t;
		keys[i] = tval_ref(t->u.l.v[pos]);
		if (!(v[0] != NULL && tval_truth(v[0])))
			keys[i] = lower_key(keys[i]);
	}
	rc = sort_values(e, items, n, keys, v[2] != NULL && tval_truth(v[2]));
	items_free(keys, n);
	if (rc == -1) {
		items_free(items, n);
		return NULL;
	}
	return list_from(e, items, n);
}

/*
 * unique(case_sensitive=False, attribute=None): first occurrence wins,
 * order kept.
 */
static struct tval *
f_unique(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "case_sensitive", "attribute" };
	struct tval		*v[2], **items, **keys, *seen, *l;
	size_t			 n, i;

	BIND("unique", params, 0);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if ((keys = make_keys(e, items, n, v[1], !(v[0] != NULL &&
	    tval_truth(v[0])), 0)) == NULL) {
		items_free(items, n);
		return NULL;
	}
	seen = tval_dict();
	l = tval_list();
	if (seen == NULL || l == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if (!tval_hashable(keys[i])) {
			eval_error(e, "unhashable type: '%s'",
			    tval_typename(keys[i]));
			goto fail;
		}
		if (tval_dict_get(seen, keys[i]) != NULL)
			continue;
		if (tval_dict_put(seen, tval_ref(keys[i]), tval_none()) == -1 ||
		    tval_list_append(l, tval_ref(items[i])) == -1)
			goto oom;
	}
	items_free(items, n);
	items_free(keys, n);
	tval_unref(seen);
	return l;
oom:
	eval_error(e, "out of memory");
fail:
	items_free(items, n);
	items_free(keys, n);
	tval_unref(seen);
	tval_unref(l);
	return NULL;
}

/* min/max: the first minimal or maximal item, like Python's builtins. */
static struct tval *
f_minmax(struct eval *e, struct tval *in, struct args *a, int max)
{
	static const char *const params[] = { "case_sensitive", "attribute" };
	struct tval		*v[2], **items, **keys, *r;
	size_t			 n, i, best = 0;
	int			 lt;

	BIND(max ? "max" : "min", params, 0);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if (n == 0) {
		free(items);
		return tval_undef("No aggregated item, sequence was empty.",
		    NULL);
	}
	if ((keys = make_keys(e, items, n, v[1], !(v[0] != NULL &&
	    tval_truth(v[0])), 0)) == NULL) {
		items_free(items, n);
		return NULL;
	}
	for (i = 1; i < n; i++) {
		if (eval_less(e, max ? keys[best] : keys[i], max ? keys[i] :
		    keys[best], &lt) == -1) {
			items_free(items, n);
			items_free(keys, n);
			return NULL;
		}
		if (lt)
			best = i;
	}
	r = tval_ref(items[best]);
	items_free(items, n);
	items_free(keys, n);
	return r;
}

/* sum(attribute=None, start=0) with the + operator's rules. */
static struct tval *
f_sum(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "attribute", "start" };
	struct tval		*v[2], **items, *acc, *t, *it;
	size_t			 n, i;

	BIND("sum", params, 0);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	acc = v[1] != NULL ? tval_ref(v[1]) : tval_int(0);
	for (i = 0; i < n && acc != NULL; i++) {
		if ((it = attr_get(e, items[i], v[0], NULL, 0)) == NULL) {
			tval_unref(acc);
			acc = NULL;
			break;
		}
		t = eval_binop(e, OP_ADD, acc, it);
		tval_unref(it);
		tval_unref(acc);
		acc = t;
	}
	items_free(items, n);
	return acc;
}

/*
 * groupby(attribute, default=None, case_sensitive=False): sorted, then
 * grouped; (grouper, list) tuples that also answer .grouper and .list.
 */
static struct tval *
f_groupby(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "attribute", "default",
	    "case_sensitive" };
	struct tval		*v[3], **items, **keys, *out = NULL, *grp = NULL;
	struct tval		*members = NULL, *g;
	size_t			 n, i;
	int			 cs, rc;

	BIND("groupby", params, 1);
	cs = v[2] != NULL && tval_truth(v[2]);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if ((keys = calloc(n ? n : 1, sizeof(*keys))) == NULL) {
		items_free(items, n);
		return oom(e);
	}
	for (i = 0; i < n; i++)
		if ((keys[i] = attr_get(e, items[i], v[0], v[1], !cs)) == NULL) {
			items_free(keys, i);
			items_free(items, n);
			return NULL;
		}
	/*
	 * groups are runs of equal keys after a stable sort, like
	 * itertools.groupby
	 */
	rc = sort_values(e, items, n, keys, 0);
	if (rc == -1 || (out = tval_list()) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (grp == NULL || !tval_eq(grp, keys[i])) {
			if ((g = tval_tuple()) == NULL)
				goto oom;
			g->tv_flags |= TVF_GROUP;
			/* the grouper is the real value of the first item */
			if (cs)
				grp = tval_ref(keys[i]);
			else if ((grp = attr_get(e, items[i], v[0], v[1], 0)) ==
			    NULL) {
				tval_unref(g);
				goto fail;
			}
			if (tval_list_append(g, grp) == -1 ||
			    (members = tval_list()) == NULL ||
			    tval_list_append(g, members) == -1 ||
			    tval_list_append(out, g) == -1)
				goto oom;
			grp = keys[i];
		}
		if (tval_list_append(members, tval_ref(items[i])) == -1)
			goto oom;
	}
	items_free(items, n);
	items_free(keys, n);
	return out;
oom:
	eval_error(e, "out of memory");
fail:
	items_free(items, n);
	items_free(keys, n);
	tval_unref(out);
	return NULL;
}

/* A new empty list, or NULL with the error set. */
static struct tval *
empty_list(struct eval *e)
{
	struct tval	*l;

	if ((l = tval_list()) == NULL)
		return oom(e);
	return l;
}

/* map('filter', args...) or map(attribute='x', default=...). */
static struct tval *
f_map(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	**items, *r;
	size_t		  n, i, j;
	struct args	  sub;
	int		  fid = -1;
	struct tval	 *attr = NULL, *dflt = NULL;

	/*
	 * Jinja2 guards map with `if value:`: a false input (None from a JSON
	 * API, '', 0, an undefined) maps to nothing, before the arguments
	 * are even looked at.
	 */
	if (!tval_truth(in))
		return empty_list(e);
	/* map(attribute=...) form: only attribute and default are accepted */
	if (a->a_npos == 0) {
		for (i = 0; i < a->a_nkw; i++) {
			if (strcmp(a->a_kwname[i], "attribute") == 0)
				attr = a->a_kwval[i];
			else if (strcmp(a->a_kwname[i], "default") == 0)
				dflt = a->a_kwval[i];
			else
				return eval_error(e, "Unexpected keyword "
				    "argument '%s'", a->a_kwname[i]);
		}
		if (attr == NULL)
			return eval_error(e, "map requires a filter argument");
	} else {
		if (a->a_pos[0]->tv_type != TV_STR ||
		    (fid = filter_lookup(a->a_pos[0]->u.s.p)) < 0)
			return eval_error(e, "No filter named '%s'.",
			    a->a_pos[0]->tv_type == TV_STR ?
			    a->a_pos[0]->u.s.p : "?");
	}
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	for (i = 0; i < n; i++) {
		if (fid < 0)
			r = attr_get(e, items[i], attr, dflt, 0);
		else {
			memset(&sub, 0, sizeof(sub));
			for (j = 1; j < a->a_npos; j++)
				sub.a_pos[sub.a_npos++] = a->a_pos[j];
			for (j = 0; j < a->a_nkw; j++) {
				sub.a_kwname[sub.a_nkw] = a->a_kwname[j];
				sub.a_kwval[sub.a_nkw++] = a->a_kwval[j];
			}
			r = filter_call(e, fid, items[i], &sub);
		}
		if (r == NULL) {
			items_free(items, n);
			return NULL;
		}
		tval_unref(items[i]);
		items[i] = r;
	}
	return list_from(e, items, n);
}

/* select / reject / selectattr / rejectattr */
static struct tval *
f_select(struct eval *e, struct tval *in, struct args *a, int reject,
    int byattr)
{
	struct tval	**items, *l, *x;
	size_t		  n, i, j, off = byattr ? 1 : 0;
	struct args	  sub;
	int		  tid = -1, r;

	/* as map: Jinja2 selects nothing from a false input, without error */
	if (!tval_truth(in))
		return empty_list(e);
	/*
	 * selectattr needs the attribute; the test name and its arguments
	 * follow
	 */
	if (byattr && a->a_npos < 1)
		return eval_error(e, "Missing parameter for attribute name");
	if (a->a_npos > off) {
		if (a->a_pos[off]->tv_type != TV_STR ||
		    (tid = test_lookup(a->a_pos[off]->u.s.p)) < 0)
			return eval_error(e, "No test named '%s'.",
			    a->a_pos[off]->tv_type == TV_STR ?
			    a->a_pos[off]->u.s.p : "?");
	}
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if ((l = tval_list()) == NULL) {
		items_free(items, n);
		return oom(e);
	}
	for (i = 0; i < n; i++) {
		if ((x = byattr ? attr_get(e, items[i], a->a_pos[0], NULL, 0) :
		    tval_ref(items[i])) == NULL)
			goto fail;
		if (tid < 0) {
			if (x->tv_type == TV_SECRET) {
				tval_unref(x);
				eval_error(e, "a secret cannot be tested");
				goto fail;
			}
			r = tval_truth(x);
		} else {
			memset(&sub, 0, sizeof(sub));
			for (j = off + 1; j < a->a_npos; j++)
				sub.a_pos[sub.a_npos++] = a->a_pos[j];
			for (j = 0; j < a->a_nkw; j++) {
				sub.a_kwname[sub.a_nkw] = a->a_kwname[j];
				sub.a_kwval[sub.a_nkw++] = a->a_kwval[j];
			}
			r = test_call(e, tid, x, &sub);
		}
		tval_unref(x);
		if (r == -1)
			goto fail;
		if (r != reject && tval_list_append(l, tval_ref(items[i])) == -1) {
			eval_error(e, "out of memory");
			goto fail;
		}
	}
	items_free(items, n);
	return l;
fail:
	items_free(items, n);
	tval_unref(l);
	return NULL;
}

/*
 * batch(linecount, fill_with) and slice(slices, fill_with), Jinja2's
 * algorithms.
 */
static struct tval *
f_batch_slice(struct eval *e, struct tval *in, struct args *a, int slice)
{
	static const char *const pb[] = { "linecount", "fill_with" };
	static const char *const ps[] = { "slices", "fill_with" };
	struct tval		*v[2], **items, *out, *cur = NULL;
	size_t			 n, i;
	int64_t			 k, s, per, extra, off = 0, start, end, j;

	if (args_bind(e, a, slice ? "slice" : "batch", slice ? ps : pb, 2, 1,
	    v) == -1 || want_intarg(e, v[0], slice ? "slices" : "linecount",
	    &k) == -1)
		return NULL;
	if (v[1] != NULL && v[1]->tv_type == TV_NONE)
		v[1] = NULL;
	if (k <= 0 && !slice)
		return eval_error(e, "batch size must be positive");
	if (k > 100000 || (slice && k <= 0))
		return eval_error(e, "invalid number of slices");
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if ((out = tval_list()) == NULL)
		goto oom;
	/* batch: consecutive groups of linecount, the last one padded */
	if (!slice) {
		for (i = 0; i < n; i++) {
			if (cur == NULL || (int64_t)cur->u.l.n == k) {
				if ((cur = tval_list()) == NULL ||
				    tval_list_append(out, cur) == -1)
					goto oom;
			}
			if (tval_list_append(cur, tval_ref(items[i])) == -1)
				goto oom;
		}
		if (cur != NULL && v[1] != NULL)
			while ((int64_t)cur->u.l.n < k)
				if (tval_list_append(cur, tval_ref(v[1])) == -1)
					goto oom;
	} else {
		/* slice: the first n % k columns get one extra item */
		per = (int64_t)n / k;
		extra = (int64_t)n % k;
		for (s = 0; s < k; s++) {
			start = off + s * per;
			if (s < extra)
				off++;
			end = off + (s + 1) * per;
			if ((cur = tval_list()) == NULL ||
			    tval_list_append(out, cur) == -1)
				goto oom;
			for (j = start; j < end; j++)
				if (tval_list_append(cur, tval_ref(items[j])) ==
				    -1)
					goto oom;
			if (v[1] != NULL && s >= extra &&
			    tval_list_append(cur, tval_ref(v[1])) == -1)
				goto oom;
		}
	}
	items_free(items, n);
	return out;
oom:
	items_free(items, n);
	tval_unref(out);
	return oom(e);
}

/* replace(old, new, count=None) on str(value). */
static struct tval *
f_replace(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "old", "new", "count" };
	struct tval		*v[3], *s, *r, *o, *nw;
	struct args		 sub;

	BIND("replace", params, 2);
	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	o = eval_str(e, v[0]);
	nw = eval_str(e, v[1]);
	if (o == NULL || nw == NULL) {
		tval_unref(s);
		tval_unref(o);
		tval_unref(nw);
		return NULL;
	}
	memset(&sub, 0, sizeof(sub));
	sub.a_pos[0] = o;
	sub.a_pos[1] = nw;
	sub.a_npos = 2;
	if (v[2] != NULL && v[2]->tv_type != TV_NONE)
		sub.a_pos[sub.a_npos++] = tval_ref(v[2]);
	r = function_call(e, method_lookup(s, "replace"), s, &sub);
	args_clear(&sub);
	tval_unref(s);
	return r;
}

static struct tval *
f_trim(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "chars" };
	struct tval		*v[1], *s, *r;
	struct args		 sub;

	BIND("trim", params, 0);
	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	memset(&sub, 0, sizeof(sub));
	if (v[0] != NULL)
		sub.a_pos[sub.a_npos++] = tval_ref(v[0]);
	r = function_call(e, method_lookup(s, "strip"), s, &sub);
	args_clear(&sub);
	tval_unref(s);
	return r;
}

static struct tval *
f_strmethod(struct eval *e, struct tval *in, const char *method,
    struct args *a)
{
	struct tval	*s, *r;

	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	r = function_call(e, method_lookup(s, method), s, a);
	tval_unref(s);
	return r;
}

/* Jinja2's title: words start after runs of [-\s({\[<]. */
static int
title_sep(uint32_t c)
{
	return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' ||
	    cp_isspace(c);
}

/*
 * Jinja2's title filter (not str.title): a word starts after -, whitespace
 * or an opening bracket.
 */
static struct tval *
f_title(struct eval *e, struct tval *in)
{
	struct tval	*s;
	struct buf	 b;
	size_t		 pos = 0, at = 0, lo = 0;
	uint32_t	 cp;
	int		 start = 1;
	char		 tmp[8];

	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	memset(&b, 0, sizeof(b));
	for (; utf8_next(s->u.s.p, s->u.s.len, &pos, &cp); at = pos) {
		if (title_sep(cp)) {
			start = 1;
			buf_add(&b, tmp, utf8_put(tmp, cp));
			continue;
		}
		/*
		 * Jinja2 lowers item[1:] on its own: the sigma context starts
		 * after the word's first character
		 */
		if (start) {
			buf_add(&b, tmp, cp_case_full(cp, 0, tmp));
			lo = pos;
		} else
			buf_add(&b, tmp, cp_lower_at(s->u.s.p, lo, s->u.s.len,
			    at, pos, cp, tmp));
		start = 0;
	}
	tval_unref(s);
	return tval_str_buf(&b);
}

static struct tval *
f_capitalize(struct eval *e, struct tval *in)
{
	struct args	 a;

	memset(&a, 0, sizeof(a));
	return f_strmethod(e, in, "capitalize", &a);
}

static struct tval *
f_center(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "width" };
	struct tval		*v[1], *r;
	struct args		 sub;

	BIND("center", params, 0);
	memset(&sub, 0, sizeof(sub));
	sub.a_pos[0] = v[0] != NULL ? tval_ref(v[0]) : tval_int(80);
	sub.a_npos = 1;
	r = f_strmethod(e, in, "center", &sub);
	args_clear(&sub);
	return r;
}

/*
 * indent(width=4, first=False, blank=False), including Jinja2's
 * trailing-newline quirk.
 */
static struct tval *
f_indent(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "width", "first", "blank" };
	struct tval		*v[3], *s = NULL, *lines = NULL, *ind = NULL;
	struct buf		 b, ib;
	int64_t			 w = 4, i;
	size_t			 k;
	int			 first, blank;

	BIND("indent", params, 0);
	first = v[1] != NULL && tval_truth(v[1]);
	blank = v[2] != NULL && tval_truth(v[2]);
	memset(&b, 0, sizeof(b));
	memset(&ib, 0, sizeof(ib));
	if (v[0] != NULL && v[0]->tv_type == TV_STR)
		buf_add(&ib, v[0]->u.s.p, v[0]->u.s.len);
	else {
		if (v[0] != NULL && want_intarg(e, v[0], "width", &w) == -1)
			return NULL;
		if (w > 10000)
			return eval_error(e, "indent width too large");
		for (i = 0; i < w; i++)
			buf_addc(&ib, ' ');
	}
	/*
	 * Jinja2's indent does s += "\n" and s.splitlines() without
	 * converting: a number, a list or None is a TypeError there.
	 */
	if (in->tv_type == TV_UNDEF) {
		eval_undefined_error(e, in);
		goto out;
	}
	if (in->tv_type != TV_STR && in->tv_type != TV_SECRET) {
		eval_error(e, "unsupported operand type(s) for +=: '%s' and "
		    "'str'", tval_typename(in));
		goto out;
	}
	if ((s = soft_str(e, in)) == NULL)
		goto out;
	{
		/* s += "\n" is Jinja2's quirk for splitlines */
		struct tval	*t = tval_str(s->u.s.p, s->u.s.len);

		tval_unref(s);
		s = NULL;
		if (t == NULL)
			goto out;
		{
			struct buf	 tb;

			memset(&tb, 0, sizeof(tb));
			buf_add(&tb, t->u.s.p, t->u.s.len);
			buf_addc(&tb, '\n');
			tval_unref(t);
			s = tval_str_buf(&tb);
		}
	}
	if (s == NULL || (lines = str_splitlines(s, 0)) == NULL) {
		eval_error(e, "out of memory");
		goto out;
	}
	if (first)
		buf_add(&b, ib.b_p, ib.b_len);
	for (k = 0; k < lines->u.l.n; k++) {
		struct tval	*ln = lines->u.l.v[k];

		if (k > 0) {
			buf_addc(&b, '\n');
			if (blank || ln->u.s.len > 0)
				buf_add(&b, ib.b_p, ib.b_len);
		}
		buf_add(&b, ln->u.s.p, ln->u.s.len);
		if (b.b_len > eval_maxout(e)) {
			eval_error(e, "string too long");
			goto out;
		}
	}
	ind = tval_str_buf(&b);
out:
	buf_free(&b);
	buf_free(&ib);
	tval_unref(s);
	tval_unref(lines);
	return ind;
}

/*
 * truncate(length=255, killwords=False, end='...', leeway=5): short enough
 * strings stay whole.
 */
static struct tval *
f_truncate(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "length", "killwords", "end",
	    "leeway" };
	struct tval		*v[4], *s, *endv, *r;
	int64_t			 length = 255, leeway = 5;
	size_t			 n, cut, endn, k;
	struct buf		 b;

	BIND("truncate", params, 0);
	if (v[0] != NULL && want_intarg(e, v[0], "length", &length) == -1)
		return NULL;
	if (v[3] != NULL && v[3]->tv_type != TV_NONE &&
	    want_intarg(e, v[3], "leeway", &leeway) == -1)
		return NULL;
	endv = v[2] != NULL ? tval_ref(v[2]) : tval_str("...", 3);
	if (endv == NULL || endv->tv_type != TV_STR) {
		tval_unref(endv);
		return eval_error(e, "end must be a string");
	}
	endn = tval_nchars(endv);
	if (length < (int64_t)endn) {
		tval_unref(endv);
		return eval_error(e, "expected length >= %zu, got %" PRId64, endn,
		    length);
	}
	if (leeway < 0) {
		tval_unref(endv);
		return eval_error(e, "expected leeway >= 0, got %" PRId64, leeway);
	}
	/*
	 * Jinja2 does not convert: a short container (or an undefined, of
	 * length 0) comes back unchanged, anything else without a len() or
	 * too long to slice and concatenate is a TypeError.
	 */
	if (in->tv_type != TV_STR && in->tv_type != TV_SECRET) {
		tval_unref(endv);
		n = in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ?
		    in->u.l.n : in->tv_type == TV_DICT ? in->u.d.n : 0;
		if (in->tv_type == TV_UNDEF || ((in->tv_type == TV_LIST ||
		    in->tv_type == TV_TUPLE || in->tv_type == TV_DICT) &&
		    (length > INT64_MAX - leeway ||
		    (int64_t)n <= length + leeway)))
			return tval_ref(in);
		if (in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ||
		    in->tv_type == TV_DICT)
			return eval_error(e, "truncate: a %s cannot be cut to a "
			    "string", tval_typename(in));
		return eval_error(e, "object of type '%s' has no len()",
		    tval_typename(in));
	}
	if ((s = soft_str(e, in)) == NULL) {
		tval_unref(endv);
		return NULL;
	}
	n = tval_nchars(s);
	if (length > INT64_MAX - leeway || (int64_t)n <= length + leeway) {
		tval_unref(endv);
		return s;
	}
	cut = str_offset(s, (size_t)length - endn);
	/* not killwords: cut at the last space before the limit */
	if (!(v[1] != NULL && tval_truth(v[1]))) {
		/* s[:length - len(end)].rsplit(" ", 1)[0] */
		for (k = cut; k > 0; k--)
			if (s->u.s.p[k - 1] == ' ')
				break;
		if (k > 0)
			cut = k - 1;
	}
	memset(&b, 0, sizeof(b));
	buf_add(&b, s->u.s.p, cut);
	buf_add(&b, endv->u.s.p, endv->u.s.len);
	r = tval_str_buf(&b);
	tval_unref(s);
	tval_unref(endv);
	return r;
}

/* wordcount: runs of word characters, like re.findall(r'\w+'). */
static struct tval *
f_wordcount(struct eval *e, struct tval *in)
{
	struct tval	*s;
	size_t		 pos = 0;
	uint32_t	 cp;
	int64_t		 n = 0;
	int		 inword = 0;

	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	while (utf8_next(s->u.s.p, s->u.s.len, &pos, &cp)) {
		int	 w = cp_isalnum(cp) || cp == '_';

		if (w && !inword)
			n++;
		inword = w;
	}
	tval_unref(s);
	return tval_int(n);
}

/* quote_from_bytes with safe "/" (or nothing), then %20 → + for queries */
int	url_quote_into(struct buf *, const char *, size_t, int for_qs);
int
url_quote_into(struct buf *b, const char *p, size_t len, int for_qs)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i;

	for (i = 0; i < len; i++) {
		unsigned char	 c = (unsigned char)p[i];

		if (isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' ||
		    (c == '/' && !for_qs))
			buf_addc(b, c);
		else if (c == ' ' && for_qs)
			buf_addc(b, '+');
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
	return 0;
}

/*
 * For the keeper (template.h): the buffer is sized once, so no realloc
 * leaves a copy of secret-derived bytes behind in freed memory.
 */
char *
tmpl_urlencode(const char *s, size_t len, size_t *lenp)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	if (len > SIZE_MAX / 3 - 1 || buf_grow(&b, 3 * len + 1) == -1)
		return NULL;
	b.b_p[0] = '\0';
	url_quote_into(&b, s, len, 0);
	*lenp = b.b_len;
	return b.b_p;
}

static int
url_quote_val(struct eval *e, struct buf *b, const struct tval *v, int for_qs)
{
	struct buf	 t;

	if (v->tv_type == TV_STR || v->tv_type == TV_BYTES)
		return url_quote_into(b, v->u.s.p, v->u.s.len, for_qs);
	memset(&t, 0, sizeof(t));
	if (eval_str_into(e, &t, v) == -1) {
		buf_free(&t);
		return -1;
	}
	url_quote_into(b, t.b_p ? t.b_p : "", t.b_len, for_qs);
	buf_free(&t);
	return 0;
}

/*
 * urlencode: a string is quoted; a dict or pairs become a query string. Of
 * a secret: a TSX_URLENCODE node.
 */
static struct tval *
f_urlencode(struct eval *e, struct tval *in)
{
	struct buf	 b;
	struct tval	**items = NULL, *p;
	size_t		 n = 0, i;

	memset(&b, 0, sizeof(b));
	if (in->tv_type == TV_SECRET) {
		struct tsecret	*ts = tsecret_dup(in->u.sec);

		if ((ts = tsecret_unary(TSX_URLENCODE, ts)) == NULL)
			return oom(e);
		return tval_secret(ts);
	}
	if (in->tv_type == TV_STR || in->tv_type == TV_BYTES ||
	    !(in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ||
	    in->tv_type == TV_DICT || in->tv_type == TV_UNDEF)) {
		if (url_quote_val(e, &b, in, 0) == -1) {
			buf_free(&b);
			return NULL;
		}
		return tval_str_buf(&b);
	}
	/* a dict: key=value pairs in insertion order, spaces as + */
	if (in->tv_type == TV_DICT) {
		for (i = 0; i < in->u.d.n; i++) {
			if (i)
				buf_addc(&b, '&');
			if (url_quote_val(e, &b, in->u.d.e[i].de_key, 1) == -1 ||
			    buf_addc(&b, '=') == -1 ||
			    url_quote_val(e, &b, in->u.d.e[i].de_val, 1) == -1)
				goto fail;
		}
		return tval_str_buf(&b);
	}
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	for (i = 0; i < n; i++) {
		p = items[i];
		if ((p->tv_type != TV_LIST && p->tv_type != TV_TUPLE) ||
		    p->u.l.n != 2) {
			eval_error(e, "urlencode needs a dict or a list of pairs");
			goto fail;
		}
		if (i)
			buf_addc(&b, '&');
		if (url_quote_val(e, &b, p->u.l.v[0], 1) == -1 ||
		    buf_addc(&b, '=') == -1 ||
		    url_quote_val(e, &b, p->u.l.v[1], 1) == -1)
			goto fail;
	}
	items_free(items, n);
	return tval_str_buf(&b);
fail:
	items_free(items, n);
	buf_free(&b);
	return NULL;
}

/* markupsafe's escape spelling. */
static void
html_escape_into(struct buf *b, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		switch (p[i]) {
		case '&':	buf_adds(b, "&amp;"); break;
		case '<':	buf_adds(b, "&lt;"); break;
		case '>':	buf_adds(b, "&gt;"); break;
		case '"':	buf_adds(b, "&#34;"); break;
		case '\'':	buf_adds(b, "&#39;"); break;
		default:	buf_addc(b, p[i]); break;
		}
	}
}

/*
 * A new Markup string with s's text: markupsafe's type, which escape
 * and safe return and which escapes what is added to it.
 */
struct tval *
markup_new(const char *p, size_t len)
{
	struct tval	*m;

	if ((m = tval_str(p, len)) != NULL)
		m->tv_flags |= TVF_MARKUP;
	return m;
}

/* escape/e (force 0) or forceescape (1): the result is a Markup. */
static struct tval *
f_escape(struct eval *e, struct tval *in, int force)
{
	struct tval	*s, *r;
	struct buf	 b;

	/* markupsafe.escape leaves a Markup alone; forceescape does not */
	if (!force && in->tv_type == TV_STR && (in->tv_flags & TVF_MARKUP))
		return tval_ref(in);
	if (in->tv_type == TV_NONE)
		return markup_new("None", 4);
	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	memset(&b, 0, sizeof(b));
	html_escape_into(&b, s->u.s.p, s->u.s.len);
	tval_unref(s);
	r = markup_new(b.b_p != NULL ? b.b_p : "", b.b_len);
	buf_free(&b);
	return r != NULL ? r : oom(e);
}

/*
 * safe: Markup(value), the text unchanged.  A secret stays a secret (it
 * has no text here to mark).
 */
static struct tval *
f_safe(struct eval *e, struct tval *in)
{
	struct tval	*s, *r;

	if (in->tv_type == TV_SECRET ||
	    (in->tv_type == TV_STR && (in->tv_flags & TVF_MARKUP)))
		return tval_ref(in);
	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	r = markup_new(s->u.s.p, s->u.s.len);
	tval_unref(s);
	return r != NULL ? r : oom(e);
}

/* markupsafe's escape() into b: a Markup's text as is, a str escaped */
void
markup_escape_into(struct buf *b, const struct tval *s)
{
	if (s->tv_flags & TVF_MARKUP)
		buf_add(b, s->u.s.p, s->u.s.len);
	else
		html_escape_into(b, s->u.s.p, s->u.s.len);
}

/*
 * striptags: drop comments and tags, unescape entities, collapse
 * whitespace.
 */
static struct tval *
f_striptags(struct eval *e, struct tval *in)
{
	struct tval	*s, *r;
	struct buf	 b, o;
	size_t		 i, n;
	const char	*p, *q;
	int		 sp = 0;

	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	memset(&b, 0, sizeof(b));
	p = s->u.s.p;
	n = s->u.s.len;
	for (i = 0; i < n; i++) {
		if (p[i] == '<' && i + 3 < n && memcmp(p + i, "<!--", 4) == 0 &&
		    (q = memmem(p + i + 4, n - i - 4, "-->", 3)) != NULL) {
			i = (size_t)(q - p) + 2;
			continue;
		}
		if (p[i] == '<' && (q = memchr(p + i + 1, '>', n - i - 1)) !=
		    NULL) {
			i = (size_t)(q - p);
			continue;
		}
		buf_addc(&b, p[i]);
	}
	/* the remaining text is what a browser would show */
	/* collapse whitespace, then unescape the common entities */
	memset(&o, 0, sizeof(o));
	for (i = 0; i < b.b_len; i++) {
		if (cp_isspace((unsigned char)b.b_p[i])) {
			sp = o.b_len > 0;
			continue;
		}
		if (sp)
			buf_addc(&o, ' ');
		sp = 0;
		if (b.b_p[i] == '&') {
			static const struct { const char *n; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
				{ "&quot;", '"' }, { "&#34;", '"' },
				{ "&#39;", '\'' }, { "&apos;", '\'' },
			};
			size_t	 k;

			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
				size_t	 l = strlen(ents[k].n);

				if (b.b_len - i >= l &&
				    memcmp(b.b_p + i, ents[k].n, l) == 0) {
					buf_addc(&o, ents[k].c);
					i += l - 1;
					break;
				}
			}
			if (k < sizeof(ents) / sizeof(ents[0]))
				continue;
		}
		buf_addc(&o, b.b_p[i]);
	}
	buf_free(&b);
	tval_unref(s);
	r = tval_str_buf(&o);
	return r;
}

/* format: printf-style % with the filter's arguments. */
static struct tval *
f_format(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	*s, *args, *r;
	size_t		 i;

	if (a->a_npos && a->a_nkw)
		return eval_error(e, "can't handle positional and keyword "
		    "arguments at the same time");
	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	if (a->a_nkw) {
		args = tval_dict();
		for (i = 0; args != NULL && i < a->a_nkw; i++)
			if (tval_dict_set(args, a->a_kwname[i],
			    tval_ref(a->a_kwval[i])) == -1) {
				tval_unref(args);
				args = NULL;
			}
	} else {
		args = tval_tuple();
		for (i = 0; args != NULL && i < a->a_npos; i++)
			if (tval_list_append(args, tval_ref(a->a_pos[i])) == -1) {
				tval_unref(args);
				args = NULL;
			}
	}
	if (args == NULL) {
		tval_unref(s);
		return oom(e);
	}
	r = format_percent(e, s, args);
	tval_unref(args);
	tval_unref(s);
	return r;
}

/* attr(name): getattr only, never a dict key. */
static struct tval *
f_attr(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "name" };
	struct tval		*v[1];
	int			 fid;

	BIND("attr", params, 1);
	if (v[0]->tv_type != TV_STR)
		return eval_error(e, "attribute name must be a string");
	if (in->tv_type == TV_UNDEF)
		return eval_undefined_error(e, in);
	if (v[0]->u.s.p[0] == '_')
		return eval_error(e, "access to attribute '%s' of '%s' object "
		    "is unsafe", v[0]->u.s.p, tval_typename(in));
	/* getattr only: a dict's keys are not attributes */
	if (in->tv_type == TV_DICT) {
		if ((fid = method_lookup(in, v[0]->u.s.p)) >= 0)
			return tval_func(fid, in, function_name(fid));
		return tval_undef_fmt("'dict object' has no attribute '%s'",
		    v[0]->u.s.p);
	}
	return eval_getattr(e, in, v[0]->u.s.p, v[0]->u.s.len);
}

static struct tval *
f_items(struct eval *e, struct tval *in)
{
	struct args	 a;

	if (in->tv_type == TV_UNDEF)
		return tval_list();
	if (in->tv_type != TV_DICT)
		return eval_error(e, "Can only get item pairs from a mapping.");
	memset(&a, 0, sizeof(a));
	return function_call(e, method_lookup(in, "items"), in, &a);
}

static int
buf_free_and(struct buf *b)
{
	buf_free(b);
	return 0;
}

/* xmlattr: escaped name="value" pairs, None and Undefined skipped. */
static struct tval *
f_xmlattr(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "autospace" };
	struct tval		*v[1], *k, *val;
	struct buf		 b, t;
	size_t			 i;
	int			 any = 0;

	BIND("xmlattr", params, 0);
	if (in->tv_type != TV_DICT)
		return eval_error(e, "xmlattr needs a mapping");
	memset(&b, 0, sizeof(b));
	for (i = 0; i < in->u.d.n; i++) {
		k = in->u.d.e[i].de_key;
		val = in->u.d.e[i].de_val;
		if (val->tv_type == TV_NONE || val->tv_type == TV_UNDEF)
			continue;
		memset(&t, 0, sizeof(t));
		if (eval_str_into(e, &t, k) == -1 || (t.b_p != NULL &&
		    strpbrk(t.b_p, " />=\t\n\f") != NULL)) {
			if (!buf_free_and(&t))
				eval_error(e, "Invalid character in attribute "
				    "name");
			buf_free(&b);
			return NULL;
		}
		if (any)
			buf_addc(&b, ' ');
		any = 1;
		html_escape_into(&b, t.b_p ? t.b_p : "", t.b_len);
		buf_free(&t);
		buf_adds(&b, "=\"");
		if (eval_str_into(e, &t, val) == -1) {
			buf_free(&t);
			buf_free(&b);
			return NULL;
		}
		html_escape_into(&b, t.b_p ? t.b_p : "", t.b_len);
		buf_free(&t);
		buf_addc(&b, '"');
	}
	if (any && !(v[0] != NULL && !tval_truth(v[0]))) {
		struct buf	 o;

		memset(&o, 0, sizeof(o));
		buf_addc(&o, ' ');
		buf_add(&o, b.b_p, b.b_len);
		buf_free(&b);
		return tval_str_buf(&o);
	}
	return tval_str_buf(&b);
}

/* wordwrap, simplified: greedy filling of space separated words per line. */
/* textwrap's white space: ASCII only, as its regular expressions use */
static int
wrap_ws(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

/* textwrap's "letter", [^\d\W]: a word character that is not a digit */
static int
wrap_lt(const uint32_t *cp, size_t n, size_t i)
{
	return i < n && (cp_isalpha(cp[i]) || cp[i] == '_');
}

struct wchunk {
	size_t	 wc_s;		/* first code point */
	size_t	 wc_l;		/* length in code points */
	int	 wc_ws;		/* all white space */
};

/*
 * Split a line into textwrap's chunks: runs of white space, and words,
 * which break_on_hyphens also splits after the hyphen of "well-known"
 * (two letters before it, or letter-hyphen-letter, and letters after).
 */
static size_t
wrap_split(const uint32_t *cp, size_t n, int hyph, struct wchunk *ch)
{
	size_t	 i = 0, j, nc = 0;

	while (i < n) {
		j = i;
		if (wrap_ws(cp[i])) {
			while (j < n && wrap_ws(cp[j]))
				j++;
		} else {
			for (j = i + 1; j < n && !wrap_ws(cp[j]); j++) {
				if (!hyph || cp[j - 1] != '-' || j - 1 == i)
					continue;
				/* the hyphen at j - 1 ends the chunk? */
				if (((j >= 3 && wrap_lt(cp, n, j - 3) &&
				    wrap_lt(cp, n, j - 2)) || (j >= 4 &&
				    wrap_lt(cp, n, j - 4) && cp[j - 3] == '-' &&
				    wrap_lt(cp, n, j - 2))) && wrap_lt(cp, n, j) &&
				    (wrap_lt(cp, n, j + 1) || (j + 1 < n &&
				    cp[j + 1] == '-' && wrap_lt(cp, n, j + 2))))
					break;
			}
		}
		ch[nc].wc_s = i;
		ch[nc].wc_l = j - i;
		ch[nc++].wc_ws = wrap_ws(cp[i]);
		i = j;
	}
	return nc;
}

/*
 * One paragraph through textwrap.wrap(expand_tabs=False,
 * replace_whitespace=False): white space inside a line is kept, the
 * paragraph's leading white space too, only white space at a line
 * break is dropped.
 */
static int
wrap_para(struct buf *b, const uint32_t *cp, size_t n, size_t width,
    int breaklong, int hyph, const char *wrap)
{
	struct wchunk	*ch, *cur;
	size_t		 nc, c = 0, ncur, len, k, i, end, space, nlines = 0;
	char		 tmp[4];

	if ((ch = calloc(n + 1, sizeof(*ch))) == NULL ||
	    (cur = calloc(n + 2, sizeof(*cur))) == NULL) {
		free(ch);
		return -1;
	}
	nc = wrap_split(cp, n, hyph, ch);
	while (c < nc) {
		ncur = len = 0;
		if (ch[c].wc_ws && nlines > 0)
			c++;
		while (c < nc && len + ch[c].wc_l <= width) {
			len += ch[c].wc_l;
			cur[ncur++] = ch[c++];
		}
		if (c < nc && ch[c].wc_l > width) {
			/* _handle_long_word */
			space = width - len;
			if (breaklong) {
				end = space;
				if (hyph && ch[c].wc_l > space) {
					for (k = space; k > 0; k--)
						if (cp[ch[c].wc_s + k - 1] == '-')
							break;
					for (i = 0; k > 1 && i < k - 1; i++)
						if (cp[ch[c].wc_s + i] != '-') {
							end = k;
							break;
						}
				}
				cur[ncur] = ch[c];
				cur[ncur++].wc_l = end;
				ch[c].wc_s += end;
				ch[c].wc_l -= end;
			} else if (ncur == 0)
				cur[ncur++] = ch[c++];
		}
		if (ncur > 0 && cur[ncur - 1].wc_ws)
			ncur--;
		if (ncur == 0)
			continue;
		if (nlines++ > 0)
			buf_adds(b, wrap);
		for (k = 0; k < ncur; k++)
			for (i = 0; i < cur[k].wc_l; i++)
				buf_add(b, tmp, utf8_put(tmp,
				    cp[cur[k].wc_s + i]));
	}
	free(ch);
	free(cur);
	return 0;
}

/*
 * wordwrap(width=79, break_long_words=True, wrapstring='\n',
 * break_on_hyphens=True): each line of the input wrapped on its own with
 * Python's textwrap rules, widths in characters.
 */
static struct tval *
f_wordwrap(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "width", "break_long_words",
	    "wrapstring", "break_on_hyphens" };
	struct tval		*v[4], *s, *lines;
	int64_t			 width = 79;
	struct buf		 b;
	size_t			 k, n, pos;
	const char		*wrap = "\n";
	int			 breaklong, hyph;
	uint32_t		*cp;

	BIND("wordwrap", params, 0);
	if (v[0] != NULL && want_intarg(e, v[0], "width", &width) == -1)
		return NULL;
	if (width <= 0)
		return eval_error(e, "invalid width %" PRId64 " (must be > 0)",
		    width);
	breaklong = v[1] == NULL || tval_truth(v[1]);
	hyph = v[3] == NULL || tval_truth(v[3]);
	if (v[2] != NULL && v[2]->tv_type == TV_STR)
		wrap = v[2]->u.s.p;
	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	if ((lines = str_splitlines(s, 0)) == NULL) {
		tval_unref(s);
		return oom(e);
	}
	memset(&b, 0, sizeof(b));
	for (k = 0; k < lines->u.l.n; k++) {
		struct tval	*ln = lines->u.l.v[k];

		if (k)
			buf_adds(&b, wrap);
		if ((cp = calloc(ln->u.s.len + 1, sizeof(*cp))) == NULL)
			goto oom;
		for (n = 0, pos = 0; utf8_next(ln->u.s.p, ln->u.s.len, &pos,
		    &cp[n]); n++)
			;
		if (wrap_para(&b, cp, n, (size_t)width, breaklong, hyph,
		    wrap) == -1) {
			free(cp);
			goto oom;
		}
		free(cp);
		if (b.b_len > eval_maxout(e)) {
			buf_free(&b);
			tval_unref(lines);
			tval_unref(s);
			return eval_error(e, "string too long");
		}
	}
	tval_unref(lines);
	tval_unref(s);
	return tval_str_buf(&b);
oom:
	buf_free(&b);
	tval_unref(lines);
	tval_unref(s);
	return oom(e);
}

/* --- pprint: Python's pprint.pformat(width=80, indent=1) --------------- */

#define PP_WIDTH	80
#define PP_MAXDEPTH	200

/* pprint's key order: numbers by value, strings by code point, else by
 * type name (Python's _safe_key falls back to str(type(obj))). */
static int
pp_keycmp(const void *pa, const void *pb)
{
	const struct tdict_ent	*a = *(const struct tdict_ent *const *)pa;
	const struct tdict_ent	*b = *(const struct tdict_ent *const *)pb;
	const struct tval	*x = a->de_key, *y = b->de_key;
	int			 xn, yn, c;
	double			 fx, fy;
	size_t			 n;

	xn = x->tv_type == TV_INT || x->tv_type == TV_BOOL ||
	    x->tv_type == TV_FLOAT;
	yn = y->tv_type == TV_INT || y->tv_type == TV_BOOL ||
	    y->tv_type == TV_FLOAT;
	if (xn && yn) {
		if (x->tv_type != TV_FLOAT && y->tv_type != TV_FLOAT)
			return x->u.i < y->u.i ? -1 : x->u.i > y->u.i;
		fx = x->tv_type == TV_FLOAT ? x->u.f : (double)x->u.i;
		fy = y->tv_type == TV_FLOAT ? y->u.f : (double)y->u.i;
		if (fx != fy)
			return fx < fy ? -1 : 1;
	} else if (x->tv_type == TV_STR && y->tv_type == TV_STR) {
		n = x->u.s.len < y->u.s.len ? x->u.s.len : y->u.s.len;
		if ((c = memcmp(x->u.s.p, y->u.s.p, n)) != 0)
			return c;
		if (x->u.s.len != y->u.s.len)
			return x->u.s.len < y->u.s.len ? -1 : 1;
	} else if ((c = strcmp(tval_typename(x), tval_typename(y))) != 0)
		return c;
	/* equal keys cannot be; keep the insertion order otherwise */
	return a < b ? -1 : a > b;
}

/* The dict's entries in pprint's order; NULL when out of memory. */
static const struct tdict_ent **
pp_sorted(const struct tval *d)
{
	const struct tdict_ent	**ents;
	size_t			  i;

	if ((ents = calloc(d->u.d.n + 1, sizeof(*ents))) == NULL)
		return NULL;
	for (i = 0; i < d->u.d.n; i++)
		ents[i] = &d->u.d.e[i];
	qsort(ents, d->u.d.n, sizeof(*ents), pp_keycmp);
	return ents;
}

/* Only the plain containers and str have pprint's own layout: ranges,
 * dict views, groupby tuples and Markup keep their repr. */
static int
pp_plain(const struct tval *v)
{
	switch (v->tv_type) {
	case TV_DICT:
		return 1;
	case TV_LIST:
	case TV_TUPLE:
		return v->u.l.rng == NULL && !(v->tv_flags & (TVF_VITEMS |
		    TVF_VKEYS | TVF_VVALUES | TVF_GROUP));
	case TV_STR:
		return !(v->tv_flags & TVF_MARKUP);
	default:
		return 0;
	}
}

/* pprint's one-line repr: repr() with every plain dict's keys sorted. */
static int
pp_repr(struct buf *b, const struct tval *v, int depth)
{
	const struct tdict_ent	**ents;
	size_t			  i;
	int			  rc = 0;

	if (depth > PP_MAXDEPTH || b->b_over)
		return -1;
	if (!pp_plain(v) || v->tv_type == TV_STR)
		return tval_repr_into(b, v, depth);
	if (v->tv_type == TV_DICT) {
		if ((ents = pp_sorted(v)) == NULL)
			return -1;
		buf_addc(b, '{');
		for (i = 0; rc == 0 && i < v->u.d.n; i++) {
			if (i)
				buf_adds(b, ", ");
			if ((rc = pp_repr(b, ents[i]->de_key, depth + 1)) == 0) {
				buf_adds(b, ": ");
				rc = pp_repr(b, ents[i]->de_val, depth + 1);
			}
		}
		buf_addc(b, '}');
		free(ents);
		return rc;
	}
	buf_addc(b, v->tv_type == TV_LIST ? '[' : '(');
	for (i = 0; rc == 0 && i < v->u.l.n; i++) {
		if (i)
			buf_adds(b, ", ");
		rc = pp_repr(b, v->u.l.v[i], depth + 1);
	}
	if (v->tv_type == TV_TUPLE && v->u.l.n == 1)
		buf_addc(b, ',');
	buf_addc(b, v->tv_type == TV_LIST ? ']' : ')');
	return rc;
}

static size_t
pp_nchars(const char *p, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* repr(s[from..to)) appended to b; its length in characters. */
static size_t
pp_repr_part(struct buf *b, const struct tval *s, size_t from, size_t to)
{
	struct tval	*t;
	size_t		 before = b->b_len;

	if ((t = tval_str(s->u.s.p + from, to - from)) == NULL)
		return 0;
	tval_repr_into(b, t, 0);
	tval_unref(t);
	return pp_nchars(b->b_p + before, b->b_len - before);
}

/*
 * pprint measures every nested value's repr again at each level: its work
 * is the output times the depth.  It is counted, charged as render steps
 * and capped.
 */
struct pp {
	size_t	 pp_work;	/* bytes of repr built so far */
	size_t	 pp_limit;
};

static int	pp_format(struct pp *, struct buf *, const struct tval *,
		    size_t, size_t, int);

/* pprint's _pprint_str: a long string as adjacent literals, one per line,
 * broken after white space. */
static int
pp_str(struct buf *b, const struct tval *s, size_t indent, size_t allowance,
    int level)
{
	struct buf	 chunks, tmp;
	struct tval	*lines;
	size_t		 k, pos, start, cur, nxt, maxw, maxw1, nchunk = 0;
	uint32_t	 cp;
	int		 last;

	if ((lines = str_splitlines(s, 1)) == NULL)
		return -1;
	if (level == 1) {
		indent++;
		allowance++;
	}
	maxw = maxw1 = PP_WIDTH > indent ? PP_WIDTH - indent : 0;
	memset(&chunks, 0, sizeof(chunks));
	memset(&tmp, 0, sizeof(tmp));
	/* chunks: the reprs, each ended by a NUL, written out below */
	for (k = 0; k < lines->u.l.n; k++) {
		const struct tval	*ln = lines->u.l.v[k];
		size_t			 maxw2 = maxw;

		if (k == lines->u.l.n - 1)
			maxw1 = maxw1 > allowance ? maxw1 - allowance : 0;
		tmp.b_len = 0;
		if (pp_repr_part(&tmp, ln, 0, ln->u.s.len) <= maxw1) {
			buf_add(&chunks, tmp.b_p, tmp.b_len);
			buf_addc(&chunks, '\0');
			nchunk++;
			continue;
		}
		/* re.findall(r'\S*\s*', line): non-space, then space */
		start = cur = pos = 0;
		while (pos < ln->u.s.len) {
			nxt = pos;
			while (nxt < ln->u.s.len) {
				size_t	 q = nxt;

				utf8_next(ln->u.s.p, ln->u.s.len, &q, &cp);
				if (cp_isspace(cp))
					break;
				nxt = q;
			}
			while (nxt < ln->u.s.len) {
				size_t	 q = nxt;

				utf8_next(ln->u.s.p, ln->u.s.len, &q, &cp);
				if (!cp_isspace(cp))
					break;
				nxt = q;
			}
			last = nxt >= ln->u.s.len;
			if (last && k == lines->u.l.n - 1)
				maxw2 = maxw2 > allowance ? maxw2 - allowance :
				    0;
			/* candidate = current + part */
			tmp.b_len = 0;
			if (pp_repr_part(&tmp, ln, start, nxt) > maxw2 &&
			    cur > start) {
				tmp.b_len = 0;
				pp_repr_part(&tmp, ln, start, cur);
				buf_add(&chunks, tmp.b_p, tmp.b_len);
				buf_addc(&chunks, '\0');
				nchunk++;
				start = pos;
			}
			cur = pos = nxt;
		}
		if (cur > start) {
			tmp.b_len = 0;
			pp_repr_part(&tmp, ln, start, cur);
			buf_add(&chunks, tmp.b_p, tmp.b_len);
			buf_addc(&chunks, '\0');
			nchunk++;
		}
	}
	if (nchunk == 1) {
		/* Python writes the last line's repr: the same text here */
		buf_adds(b, chunks.b_p);
	} else {
		const char	*p = chunks.b_p;

		if (level == 1)
			buf_addc(b, '(');
		for (k = 0; k < nchunk; k++) {
			if (k > 0) {
				buf_addc(b, '\n');
				for (pos = 0; pos < indent; pos++)
					buf_addc(b, ' ');
			}
			buf_adds(b, p);
			p += strlen(p) + 1;
		}
		if (level == 1)
			buf_addc(b, ')');
	}
	buf_free(&chunks);
	buf_free(&tmp);
	tval_unref(lines);
	return 0;
}

/* pprint's _format: the repr when it fits in the width, else the layout
 * of the container, one item per line. */
static int
pp_format(struct pp *pp, struct buf *b, const struct tval *v, size_t indent,
    size_t allowance, int level)
{
	struct buf		  rep;
	const struct tdict_ent	**ents;
	size_t			  i, j, n, maxw, klen;
	int			  rc = 0;

	if (level > PP_MAXDEPTH)
		return -1;
	memset(&rep, 0, sizeof(rep));
	rep.b_max = b->b_max;
	if (pp_repr(&rep, v, level) == -1 || rep.b_over ||
	    (pp->pp_work += rep.b_len) > pp->pp_limit) {
		buf_free(&rep);
		return -1;
	}
	maxw = PP_WIDTH > indent + allowance ? PP_WIDTH - indent - allowance :
	    0;
	if (pp_nchars(rep.b_p, rep.b_len) <= maxw || !pp_plain(v) ||
	    (v->tv_type == TV_STR && v->u.s.len == 0)) {
		buf_add(b, rep.b_p != NULL ? rep.b_p : "", rep.b_len);
		buf_free(&rep);
		return 0;
	}
	buf_free(&rep);
	level++;
	switch (v->tv_type) {
	case TV_STR:
		return pp_str(b, v, indent, allowance, level);
	case TV_DICT:
		/* _pprint_dict and _format_dict_items */
		if ((ents = pp_sorted(v)) == NULL)
			return -1;
		buf_addc(b, '{');
		n = v->u.d.n;
		for (i = 0; rc == 0 && i < n; i++) {
			rep.b_len = 0;
			if ((rc = pp_repr(&rep, ents[i]->de_key, level)) != 0)
				break;
			klen = pp_nchars(rep.b_p, rep.b_len);
			buf_add(b, rep.b_p, rep.b_len);
			buf_adds(b, ": ");
			rc = pp_format(pp, b, ents[i]->de_val, indent + 1 + klen + 2,
			    i == n - 1 ? allowance + 1 : 1, level);
			if (i < n - 1) {
				buf_adds(b, ",\n");
				for (j = 0; j < indent + 1; j++)
					buf_addc(b, ' ');
			}
		}
		buf_free(&rep);
		free(ents);
		buf_addc(b, '}');
		return rc;
	default:
		/* _pprint_list / _pprint_tuple and _format_items */
		buf_addc(b, v->tv_type == TV_LIST ? '[' : '(');
		n = v->u.l.n;
		klen = v->tv_type == TV_TUPLE && n == 1 ? 2 : 1;
		for (i = 0; rc == 0 && i < n; i++) {
			if (i > 0) {
				buf_adds(b, ",\n");
				for (j = 0; j < indent + 1; j++)
					buf_addc(b, ' ');
			}
			rc = pp_format(pp, b, v->u.l.v[i], indent + 1,
			    i == n - 1 ? allowance + klen : 1, level);
		}
		buf_adds(b, v->tv_type == TV_LIST ? "]" : klen == 2 ? ",)" :
		    ")");
		return rc;
	}
}

/* pprint: pprint.pformat(value), dict keys sorted, wrapped at 80 columns */
static struct tval *
f_pprint(struct eval *e, struct tval *in)
{
	struct buf	 b;
	struct pp	 pp;
	int		 over;

	if (in->tv_type == TV_SECRET)
		return eval_error(e, "a secret cannot be used here");
	memset(&b, 0, sizeof(b));
	b.b_max = eval_maxout(e) + 1;
	pp.pp_work = 0;
	pp.pp_limit = 16 * b.b_max;
	if (pp_format(&pp, &b, in, 0, 0, 0) == -1 || b.b_over) {
		over = b.b_over;
		buf_free(&b);
		if (pp.pp_work > pp.pp_limit)
			return eval_error(e, "value too large to pprint");
		return eval_error(e, over ? "string too long" :
		    "value nested too deeply");
	}
	if (eval_step(e, pp.pp_work / 256) == -1) {
		buf_free(&b);
		return NULL;
	}
	return tval_str_buf(&b);
}

/* --- Connector filters ------------------------------------------------- */

/* from_json: Python's json.loads; invalid JSON fails the render (a 422). */
static struct tval *
f_from_json(struct eval *e, struct tval *in)
{
	char		 err[200];
	struct tval	*r;

	if (in->tv_type == TV_UNDEF)
		return eval_undefined_error(e, in);
	if (in->tv_type != TV_STR && in->tv_type != TV_BYTES)
		return eval_error(e, "the JSON object must be str, bytes or "
		    "bytearray, not %s", tval_typename(in));
	if (eval_step(e, in->u.s.len / 64) == -1)
		return NULL;
	if ((r = json_parse(in->u.s.p, in->u.s.len, err, sizeof(err))) == NULL)
		return eval_error(e, "from_json: %s", err);
	return r;
}

/*
 * json_encode and tojson share the serializer; the output is charged by its
 * size.
 */
static struct tval *
f_json(struct eval *e, struct tval *in, struct args *a, int mode)
{
	static const char *const params[] = { "indent" };
	struct tval		*v[1];
	struct buf		 b;
	char			 err[200];
	int64_t			 indent = -1;

	BIND(mode ? "tojson" : "json_encode", params, 0);
	if (v[0] != NULL && v[0]->tv_type != TV_NONE &&
	    want_intarg(e, v[0], "indent", &indent) == -1)
		return NULL;
	if (indent > 64)
		indent = 64;
	memset(&b, 0, sizeof(b));
	b.b_max = eval_maxout(e) + 1;
	if (json_dump(&b, in, mode, (int)indent, err, sizeof(err)) == -1) {
		buf_free(&b);
		return eval_error(e, "%s", err);
	}
	if (b.b_len > eval_maxout(e)) {
		buf_free(&b);
		return eval_error(e, "string too long (output limit %zu bytes)",
		    eval_maxout(e));
	}
	if (eval_step(e, b.b_len / 256) == -1) {
		buf_free(&b);
		return NULL;
	}
	return tval_str_buf(&b);
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Python's base64.b64decode (not validating): CPython's a2b_base64. */
static struct tval *
b64_decode(struct eval *e, const struct tval *s)
{
	struct buf	 b;
	size_t		 i, ndata = 0;
	int		 quad = 0, pads = 0, v;
	unsigned int	 left = 0;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < s->u.s.len; i++) {
		int	 c = (unsigned char)s->u.s.p[i];

		if (c == '=') {
			if (quad >= 2 && quad + ++pads >= 4)
				goto done;
			continue;
		}
		/* b64decode maps neither - nor _ without altchars */
		if (c == '-' || c == '_' || (v = b64_value(c)) < 0)
			continue;
		pads = 0;
		ndata++;
		switch (quad) {
		case 0:
			left = (unsigned int)v;
			quad = 1;
			break;
		case 1:
			buf_addc(&b, (int)((left << 2) | ((unsigned int)v >> 4)));
			left = (unsigned int)v & 0x0f;
			quad = 2;
			break;
		case 2:
			buf_addc(&b, (int)((left << 4) | ((unsigned int)v >> 2)));
			left = (unsigned int)v & 0x03;
			quad = 3;
			break;
		default:
			buf_addc(&b, (int)((left << 6) | (unsigned int)v));
			quad = 0;
			break;
		}
	}
	if (quad != 0) {
		buf_free(&b);
		if (quad == 1)
			return eval_error(e, "Invalid base64-encoded string: "
			    "number of data characters (%zu) cannot be 1 more "
			    "than a multiple of 4", ndata);
		return eval_error(e, "Incorrect padding");
	}
done:
	/* .decode("utf-8") */
	for (i = 0; i < b.b_len;) {
		size_t		 pos = i;
		uint32_t	 cp;
		unsigned char	 c = (unsigned char)b.b_p[i];

		utf8_next(b.b_p, b.b_len, &pos, &cp);
		if ((cp == 0xfffd && !(c == 0xef && pos - i == 3)) ||
		    (cp >= 0xd800 && cp < 0xe000) || (pos - i == 2 &&
		    cp < 0x80) || (pos - i == 3 && cp < 0x800) ||
		    (pos - i == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
			buf_free(&b);
			return eval_error(e, "'utf-8' codec can't decode byte "
			    "0x%02x in position %zu", c, i);
		}
		i = pos;
	}
	return tval_str_buf(&b);
}

/*
 * base64_encode/decode of str(value); base64_encode of a secret is a
 * TSX_BASE64 node.
 */
static struct tval *
f_b64(struct eval *e, struct tval *in, int decode)
{
	struct tval	*s = NULL, *r;
	unsigned char	*out;
	size_t		 n;
	int		 len;

	if (in->tv_type == TV_SECRET && !decode) {
		struct tsecret	*ts = tsecret_unary(TSX_BASE64,
		    tsecret_dup(in->u.sec));

		return ts ? tval_secret(ts) : oom(e);
	}
	/* the connector filters take str(value) */
	if ((s = soft_str(e, in)) == NULL)
		return NULL;
	n = s->u.s.len;
	if (n > eval_maxout(e)) {
		tval_unref(s);
		return eval_error(e, "string too long");
	}
	if (decode) {
		r = b64_decode(e, s);
		tval_unref(s);
		return r;
	}
	if ((out = malloc(4 * ((n + 2) / 3) + 1)) == NULL) {
		tval_unref(s);
		return oom(e);
	}
	len = EVP_EncodeBlock(out, (const unsigned char *)s->u.s.p, (int)n);
	tval_unref(s);
	return tval_str_take((char *)out, (size_t)len);
}

/* Filters that take no argument besides their input. */
static int
filter_noargs(int fid)
{
	switch (fid) {
	case FLT_ABS: case FLT_B64DEC: case FLT_B64ENC: case FLT_CAPITALIZE:
	case FLT_COUNT: case FLT_LENGTH: case FLT_E: case FLT_ESCAPE:
	case FLT_FORCEESCAPE: case FLT_FIRST: case FLT_FROM_JSON:
	case FLT_ITEMS: case FLT_LAST: case FLT_LIST: case FLT_LOWER:
	case FLT_REVERSE: case FLT_SAFE: case FLT_STRING: case FLT_STRIPTAGS:
	case FLT_TITLE: case FLT_UPPER: case FLT_URLENCODE: case FLT_WORDCOUNT:
		return 1;
	default:
		return 0;
	}
}

/*
 * Dispatch a filter by id; secrets only reach the filters the keeper can
 * evaluate.
 */
struct tval *
filter_call(struct eval *e, int fid, struct tval *in, struct args *a)
{
	struct tval	*v[1];
	static const char *const none[] = { "" };

	if (in->tv_type == TV_SECRET && fid != FLT_URLENCODE &&
	    fid != FLT_B64ENC && fid != FLT_JOIN)
		return eval_error(e, "a secret cannot be passed to the filter "
		    "'%s'", filter_name(fid));
	/* string work is proportional to its length: charge it */
	if ((in->tv_type == TV_STR || in->tv_type == TV_BYTES) &&
	    in->u.s.len > 256 && eval_step(e, in->u.s.len / 256) == -1)
		return NULL;
	if ((a->a_npos || a->a_nkw) && filter_noargs(fid))
		return eval_error(e, "%s() takes 1 positional argument but %zu "
		    "were given", filter_name(fid), 1 + a->a_npos + a->a_nkw);
	switch (fid) {
	case FLT_ABS:		return f_abs(e, in);
	case FLT_ATTR:		return f_attr(e, in, a);
	case FLT_B64DEC:	return f_b64(e, in, 1);
	case FLT_B64ENC:	return f_b64(e, in, 0);
	case FLT_BATCH:		return f_batch_slice(e, in, a, 0);
	case FLT_CAPITALIZE:	return f_capitalize(e, in);
	case FLT_CENTER:	return f_center(e, in, a);
	case FLT_COUNT:
	case FLT_LENGTH:	return f_length(e, in);
	case FLT_D:
	case FLT_DEFAULT:	return f_default(e, in, a);
	case FLT_DICTSORT:	return f_dictsort(e, in, a);
	case FLT_E:
	case FLT_ESCAPE:	return f_escape(e, in, 0);
	case FLT_FORCEESCAPE:	return f_escape(e, in, 1);
	case FLT_FIRST:		return f_first_last(e, in, 0);
	case FLT_FLOAT:		return f_float(e, in, a);
	case FLT_FORMAT:	return f_format(e, in, a);
	case FLT_FROM_JSON:	return f_from_json(e, in);
	case FLT_GROUPBY:	return f_groupby(e, in, a);
	case FLT_INDENT:	return f_indent(e, in, a);
	case FLT_INT:		return f_int(e, in, a);
	case FLT_ITEMS:		return f_items(e, in);
	case FLT_JOIN:		return f_join(e, in, a);
	case FLT_JSON_ENCODE:	return f_json(e, in, a, 0);
	case FLT_LAST:		return f_first_last(e, in, 1);
	case FLT_LIST:		return f_list(e, in);
	case FLT_LOWER:		return f_strmap(e, in, str_lower);
	case FLT_MAP:		return f_map(e, in, a);
	case FLT_MAX:		return f_minmax(e, in, a, 1);
	case FLT_MIN:		return f_minmax(e, in, a, 0);
	case FLT_PPRINT:	return f_pprint(e, in);
	case FLT_REJECT:	return f_select(e, in, a, 1, 0);
	case FLT_REJECTATTR:	return f_select(e, in, a, 1, 1);
	case FLT_REPLACE:	return f_replace(e, in, a);
	case FLT_REVERSE:	return f_reverse(e, in);
	case FLT_ROUND:		return f_round(e, in, a);
	case FLT_SAFE:		return f_safe(e, in);
	case FLT_SELECT:	return f_select(e, in, a, 0, 0);
	case FLT_SELECTATTR:	return f_select(e, in, a, 0, 1);
	case FLT_SLICE:		return f_batch_slice(e, in, a, 1);
	case FLT_SORT:		return f_sort(e, in, a);
	case FLT_STRING:
		if (args_bind(e, a, "string", none, 0, 0, v) == -1)
			return NULL;
		return soft_str(e, in);
	case FLT_STRIPTAGS:	return f_striptags(e, in);
	case FLT_SUM:		return f_sum(e, in, a);
	case FLT_TITLE:		return f_title(e, in);
	case FLT_TOJSON:	return f_json(e, in, a, 1);
	case FLT_TRIM:		return f_trim(e, in, a);
	case FLT_TRUNCATE:	return f_truncate(e, in, a);
	case FLT_UNIQUE:	return f_unique(e, in, a);
	case FLT_UPPER:		return f_strmap(e, in, str_upper);
	case FLT_URLENCODE:	return f_urlencode(e, in);
	case FLT_WORDCOUNT:	return f_wordcount(e, in);
	case FLT_WORDWRAP:	return f_wordwrap(e, in, a);
	case FLT_XMLATTR:	return f_xmlattr(e, in, a);
	}
	return eval_error(e, "No filter named '%s'.", filter_name(fid));
}

/* --- Tests ------------------------------------------------------------- */

/*
 * in % m: *r is nonzero when the remainder is not 0, *one when it is
 * exactly 1 (Jinja2's odd is `value % 2 == 1`, so 0.1 is neither odd nor
 * even).
 */
static int
t_num_mod(struct eval *e, struct tval *in, struct tval *m, int64_t *r,
    int *one)
{
	struct tval	*v;

	if ((v = eval_binop(e, OP_MOD, in, m)) == NULL)
		return -1;
	*r = v->tv_type == TV_FLOAT ? (v->u.f != 0) : (v->u.i != 0);
	if (one != NULL)
		*one = v->tv_type == TV_FLOAT ? (v->u.f == 1.0) :
		    (v->u.i == 1);
	tval_unref(v);
	return 0;
}

static int
t_cmp(struct eval *e, struct tval *a, struct tval *b, int op)
{
	int	 lt;

	switch (op) {
	case OP_EQ:
		return tval_eq(a, b);
	case OP_NE:
		return !tval_eq(a, b);
	case OP_LT:
		return eval_less(e, a, b, &lt) == -1 ? -1 : lt;
	case OP_GT:
		return eval_less(e, b, a, &lt) == -1 ? -1 : lt;
	case OP_LTEQ:
		if (eval_less(e, b, a, &lt) == -1)
			return -1;
		return !lt;
	case OP_GTEQ:
		if (eval_less(e, a, b, &lt) == -1)
			return -1;
		return !lt;
	}
	return -1;
}

/* Jinja2's tests; 1 true, 0 false, -1 error. */
int
test_call(struct eval *e, int tid, struct tval *in, struct args *a)
{
	static const char *const p_other[] = { "other" };
	static const char *const p_num[] = { "num" };
	static const char *const p_seq[] = { "seq" };
	struct tval		*v[1], *s;
	int64_t			 r;
	int			 rc, op = OP_EQ, one;

	if (in->tv_type == TV_SECRET && tid != TST_DEFINED &&
	    tid != TST_UNDEFINED)
		return eval_errorv(e, "a secret cannot be tested");
	switch (tid) {
	case TST_DEFINED:
		return in->tv_type != TV_UNDEF;
	case TST_UNDEFINED:
		return in->tv_type == TV_UNDEF;
	case TST_NONE:
		return in->tv_type == TV_NONE;
	case TST_BOOLEAN:
		return in->tv_type == TV_BOOL;
	case TST_FALSE:
		return in->tv_type == TV_BOOL && !in->u.i;
	case TST_TRUE:
		return in->tv_type == TV_BOOL && in->u.i;
	case TST_INTEGER:
		return in->tv_type == TV_INT;
	case TST_FLOAT:
		return in->tv_type == TV_FLOAT;
	case TST_NUMBER:
		return in->tv_type == TV_INT || in->tv_type == TV_FLOAT ||
		    in->tv_type == TV_BOOL;
	case TST_STRING:
		return in->tv_type == TV_STR;
	case TST_MAPPING:
		return in->tv_type == TV_DICT;
	case TST_ITERABLE:
		return in->tv_type == TV_STR || in->tv_type == TV_BYTES ||
		    in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ||
		    in->tv_type == TV_DICT || in->tv_type == TV_UNDEF;
	case TST_SEQUENCE:
		return in->tv_type == TV_STR || in->tv_type == TV_BYTES ||
		    in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ||
		    in->tv_type == TV_DICT || in->tv_type == TV_UNDEF;
	case TST_CALLABLE:
		return in->tv_type == TV_FUNC || in->tv_type == TV_MACRO ||
		    in->tv_type == TV_LOOP;
	case TST_ESCAPED:
		/* hasattr(value, '__html__'): only a Markup has it here */
		return in->tv_type == TV_STR && (in->tv_flags & TVF_MARKUP);
	case TST_LOWER:
	case TST_UPPER:
		if ((s = soft_str(e, in)) == NULL)
			return -1;
		{
			struct args	 none;
			struct tval	*b;

			memset(&none, 0, sizeof(none));
			b = function_call(e, method_lookup(s, tid == TST_LOWER ?
			    "islower" : "isupper"), s, &none);
			tval_unref(s);
			if (b == NULL)
				return -1;
			rc = (int)b->u.i;
			tval_unref(b);
			return rc;
		}
	case TST_EVEN:
	case TST_ODD:
		if (in->tv_type == TV_UNDEF) {
			eval_undefined_error(e, in);
			return -1;
		}
		{
			struct tval	*two = tval_int(2);

			if (two == NULL)
				return eval_errorv(e, "out of memory");
			rc = t_num_mod(e, in, two, &r, &one);
			tval_unref(two);
			if (rc == -1)
				return -1;
			return tid == TST_ODD ? one : r == 0;
		}
	case TST_DIVISIBLEBY:
		if (args_bind(e, a, "divisibleby", p_num, 1, 1, v) == -1)
			return -1;
		if (t_num_mod(e, in, v[0], &r, NULL) == -1)
			return -1;
		return r == 0;
	case TST_FILTER:
		return in->tv_type == TV_STR && filter_lookup(in->u.s.p) >= 0;
	case TST_TEST:
		return in->tv_type == TV_STR && test_lookup(in->u.s.p) >= 0;
	case TST_IN:
		if (args_bind(e, a, "in", p_seq, 1, 1, v) == -1)
			return -1;
		return eval_contains(e, v[0], in);
	case TST_SAMEAS:
		if (args_bind(e, a, "sameas", p_other, 1, 1, v) == -1)
			return -1;
		if (in == v[0])
			return 1;
		if (in->tv_type != v[0]->tv_type)
			return 0;
		if (in->tv_type == TV_NONE || in->tv_type == TV_BOOL)
			return in->u.i == v[0]->u.i;
		/* CPython caches the small ints */
		if (in->tv_type == TV_INT)
			return in->u.i == v[0]->u.i && in->u.i >= -5 &&
			    in->u.i <= 256;
		return 0;
	case TST_EQ: case TST_EQUALTO: case TST_EQSYM:
		op = OP_EQ;
		break;
	case TST_NE: case TST_NESYM:
		op = OP_NE;
		break;
	case TST_GT: case TST_GREATERTHAN: case TST_GTSYM:
		op = OP_GT;
		break;
	case TST_GE: case TST_GESYM:
		op = OP_GTEQ;
		break;
	case TST_LT: case TST_LESSTHAN: case TST_LTSYM:
		op = OP_LT;
		break;
	case TST_LE: case TST_LESYM:
		op = OP_LTEQ;
		break;
	default:
		return eval_errorv(e, "No test named '%s'.", test_name(tid));
	}
	if (args_bind(e, a, test_name(tid), p_other, 1, 1, v) == -1)
		return -1;
	if (v[0]->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be compared");
	return t_cmp(e, in, v[0], op);
}
