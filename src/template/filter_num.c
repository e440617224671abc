/*
 * filter_num.c — the number filters (int, float, abs, round) and the
 * parsing of numbers from strings with Python's int() and float() rules.
 */
#include "build.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tmpl_int.h"

/* Strip Python whitespace and single underscores between digits. */
static int
num_clean(const struct tval *s, char *out, size_t outlen)
{
	size_t	 a = 0, z = s->u.s.len, i, n = 0;

	a = utf8_skip_space(s->u.s.p, z, a, 1);
	z = utf8_skip_space_back(s->u.s.p, a, z, 1);
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

/*
 * int(default=0, base=10): like Jinja2, '42.23' gives 42 through float;
 * anything else the default.
 */
struct tval *
filter_int(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "default", "base" };
	struct tval		*v[2];
	int64_t			 base = 10, r;
	double			 f;
	int			 rc;

	FILTER_BIND("int", params, 0);
	if (v[1] != NULL && filter_intarg(e, v[1], "base", &base) == -1)
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
struct tval *
filter_float(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "default" };
	struct tval		*v[1];
	double			 f;

	FILTER_BIND("float", params, 0);
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

struct tval *
filter_abs(struct eval *e, struct tval *in, struct args *a)
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
struct tval *
filter_round(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "precision", "method" };
	struct tval		*v[2];
	int64_t			 prec = 0, p, q, r;
	double			 x, m;
	const char		*method = "common";

	FILTER_BIND("round", params, 0);
	if (v[0] != NULL && filter_intarg(e, v[0], "precision", &prec) == -1)
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

/*
 * filesizeformat(binary=False): "1 Byte", "N Bytes", then one decimal and
 * kB, MB, ... (powers of 1000) or KiB, MiB, ... (of 1024), as Jinja2.
 */
struct tval *
filter_filesizeformat(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "binary" };
	static const char *const dec[] = { "kB", "MB", "GB", "TB", "PB", "EB",
	    "ZB", "YB" };
	static const char *const bin[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
	    "EiB", "ZiB", "YiB" };
	struct tval		*v[1];
	struct buf		 b;
	double			 bytes, base, unit = 1;
	int			 binary, i;

	FILTER_BIND("filesizeformat", params, 0);
	binary = v[0] != NULL && tval_truth(v[0]);
	/* float(value): a number, or a str Python would read as one */
	switch (in->tv_type) {
	case TV_INT:
	case TV_BOOL:
	case TV_FLOAT:
		bytes = num_f(in);
		break;
	case TV_STR:
		if (py_float_parse(in, &bytes) == 0)
			break;
		return eval_error(e, "could not convert string to float: '%s'",
		    in->u.s.p);
	case TV_UNDEF:
		return eval_undefined_error(e, in);
	default:
		return eval_error(e, "float() argument must be a string or a "
		    "real number, not '%s'", tval_typename(in));
	}
	base = binary ? 1024 : 1000;
	memset(&b, 0, sizeof(b));
	if (bytes == 1)
		buf_adds(&b, "1 Byte");
	else if (bytes < base) {
		/* int(bytes): toward zero */
		if (!(fabs(bytes) < 9.2e18))
			return eval_error(e, "cannot convert float to integer");
		buf_add_int(&b, (int64_t)bytes);
		buf_adds(&b, " Bytes");
	} else {
		for (i = 0; i < 8; i++) {
			unit = pow(base, i + 2);
			if (bytes < unit)
				break;
			/*
			 * Python compares with the exact int 1000 ** n: a
			 * power of ten a double rounds down is still above
			 * that double.
			 */
			if (bytes == unit && !binary) {
				char	 tmp[64];

				snprintf(tmp, sizeof(tmp), "%.0f", unit);
				if (tmp[0] == '9')
					break;
			}
		}
		if (i == 8)
			i = 7;
		buf_printf(&b, "%.1f %s", base * bytes / unit, binary ? bin[i] :
		    dec[i]);
	}
	return tval_str_buf(&b) ?: eval_oom(e);
}
