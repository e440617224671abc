/*
 * format.c — Python string formatting: the % operator and the format filter
 * (printf-style), and str.format() for the common replacement fields.
 */
#include "build.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/* width and precision digits, saturating well above any allowed value */
static int64_t
fmt_digit(int64_t v, char c)
{
	if (v < 0)
		v = 0;
	if (v > 10000000)
		return v;
	return v * 10 + (c - '0');
}

struct fspec {
	int	 fs_left;	/* - */
	int	 fs_plus;	/* + */
	int	 fs_space;	/* ' ' */
	int	 fs_alt;	/* # */
	int	 fs_zero;	/* 0 */
	int64_t	 fs_width;	/* -1: none */
	int64_t	 fs_prec;	/* -1: none */
	char	 fs_fill[5];	/* str.format fill (UTF-8) */
	char	 fs_align;	/* str.format: < > ^ = or 0 */
	int	 fs_zeroeq;	/* str.format: '=' only from the 0 flag */
	int	 fs_comma;	/* str.format ',' */
};

/* Pad s (n chars) to the width. */
static void
pad_into(struct buf *b, const char *s, size_t len, size_t nchars,
    const struct fspec *f, char align)
{
	size_t	 w = f->fs_width > 0 ? (size_t)f->fs_width : 0, pad, i;
	size_t	 left = 0, right = 0;
	const char *fill = f->fs_fill[0] ? f->fs_fill : " ";

	pad = w > nchars ? w - nchars : 0;
	if (align == '=' && pad > 0 && len > 0 && strchr("+- ", s[0]) != NULL) {
		/* padding goes after the sign: -003.50 */
		buf_addc(b, s[0]);
		s++;
		len--;
	}
	if (align == '<')
		right = pad;
	else if (align == '^') {
		left = pad / 2;
		right = pad - left;
	} else
		left = pad;
	for (i = 0; i < left; i++)
		buf_adds(b, fill);
	buf_add(b, s, len);
	for (i = 0; i < right; i++)
		buf_adds(b, fill);
}

static size_t
nchars_of(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * Decimal digits d[0..n) grouped by three with commas, zero-padded to at
 * least mw characters the way Python pads "{:010,}": the zeros are grouped
 * too, and the result never starts with a comma (stringlib's
 * InsertThousandsGrouping).  Built right to left, then reversed.
 */
static void
group_thousands(struct buf *b, const char *d, size_t n, int64_t mw)
{
	struct buf	 r;
	size_t		 rem = n, nc, i;
	int64_t		 l;
	int		 first = 1;

	memset(&r, 0, sizeof(r));
	for (;;) {
		l = (int64_t)rem > mw ? (int64_t)rem : mw;
		l = l < 1 ? 1 : l > 3 ? 3 : l;
		nc = rem < (size_t)l ? rem : (size_t)l;
		if (!first)
			buf_addc(&r, ',');
		first = 0;
		for (i = 0; i < nc; i++)
			buf_addc(&r, d[rem - 1 - i]);
		for (i = nc; i < (size_t)l; i++)
			buf_addc(&r, '0');
		rem -= nc;
		mw -= l;
		if (rem == 0 && mw <= 0)
			break;
		mw--;
	}
	for (i = r.b_len; i > 0; i--)
		buf_addc(b, r.b_p[i - 1]);
	buf_free(&r);
}

/* Zeros that pad a number are grouped with its digits ("{:010,}"). */
static int
zero_grouped(const struct fspec *f)
{
	return f->fs_comma && f->fs_align == '=' && strcmp(f->fs_fill, "0") ==
	    0;
}

/* An integer with sign, base, '#', zero padding and width, Python-style. */
static void
fmt_int(struct buf *b, int64_t v, int conv, const struct fspec *f,
    int pyformat)
{
	char		 digits[80], body[128];
	const char	*prefix = "";
	uint64_t	 u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int		 base = 10, n = 0, i;
	size_t		 len, bl;
	char		 sign = v < 0 ? '-' : f->fs_plus ? '+' : f->fs_space ?
			    ' ' : 0;
	int		 upper = conv == 'X';

	switch (conv) {
	case 'x': case 'X':
		base = 16;
		if (f->fs_alt)
			prefix = upper ? "0X" : "0x";
		break;
	case 'o':
		base = 8;
		if (f->fs_alt)
			prefix = "0o";
		break;
	case 'b':
		base = 2;
		if (f->fs_alt)
			prefix = "0b";
		break;
	}
	do {
		int	 d = (int)(u % (uint64_t)base);

		digits[n++] = (char)(d < 10 ? '0' + d : (upper ? 'A' : 'a') +
		    d - 10);
		u /= (uint64_t)base;
	} while (u > 0);
	/* printf precision: minimum digits */
	if (!pyformat)
		while (f->fs_prec > n && n < (int)sizeof(digits) - 1)
			digits[n++] = '0';
	if (pyformat && zero_grouped(f)) {
		for (i = 0; i < n; i++)
			body[i] = digits[n - 1 - i];
		if (sign)
			buf_addc(b, sign);
		buf_adds(b, prefix);
		group_thousands(b, body, (size_t)n, f->fs_width -
		    (int64_t)(sign ? 1 : 0) - (int64_t)strlen(prefix));
		return;
	}
	bl = 0;
	for (i = n - 1; i >= 0; i--) {
		body[bl++] = digits[i];
		if (pyformat && f->fs_comma && i > 0 && i % 3 == 0)
			body[bl++] = ',';
	}
	body[bl] = '\0';
	len = (sign ? 1 : 0) + strlen(prefix) + bl;
	if ((f->fs_zero && !f->fs_left && (!pyformat || f->fs_align == 0 ||
	    f->fs_align == '=')) || (pyformat && f->fs_align == '=')) {
		if (sign)
			buf_addc(b, sign);
		buf_adds(b, prefix);
		for (; f->fs_width > 0 && len < (size_t)f->fs_width; len++)
			buf_adds(b, !pyformat ? "0" : f->fs_fill[0] ?
			    f->fs_fill : " ");
		buf_add(b, body, bl);
		return;
	}
	{
		char	 tmp[160];
		size_t	 tl = 0;

		if (sign)
			tmp[tl++] = sign;
		memcpy(tmp + tl, prefix, strlen(prefix));
		tl += strlen(prefix);
		memcpy(tmp + tl, body, bl);
		tl += bl;
		pad_into(b, tmp, tl, tl, f, f->fs_left ? '<' : pyformat &&
		    f->fs_align ? f->fs_align : '>');
	}
}

/*
 * C's printf agrees with Python for e, f and g; only inf/nan and separators
 * need help.
 */
static void
fmt_float(struct buf *b, double x, int conv, const struct fspec *f,
    int pyformat)
{
	char	 fmt[32], tmp[400];
	int	 n = 0, prec = f->fs_prec < 0 ? 6 : (int)(f->fs_prec > 300 ? 300 :
		    f->fs_prec);
	char	 align;

	if (isnan(x) || isinf(x)) {
		const char	*s = isnan(x) ? "nan" : "inf";
		char		 t[8];
		int		 k = 0;

		if (x < 0 && !isnan(x))
			t[k++] = '-';
		else if (f->fs_plus)
			t[k++] = '+';
		else if (f->fs_space)
			t[k++] = ' ';
		memcpy(t + k, s, 3);
		k += 3;
		if (isupper(conv))
			for (n = 0; n < k; n++)
				t[n] = (char)toupper((unsigned char)t[n]);
		pad_into(b, t, (size_t)k, (size_t)k, f, f->fs_left ? '<' : '>');
		return;
	}
	fmt[n++] = '%';
	if (f->fs_left)
		fmt[n++] = '-';
	if (f->fs_plus)
		fmt[n++] = '+';
	if (f->fs_space)
		fmt[n++] = ' ';
	if (f->fs_alt)
		fmt[n++] = '#';
	if (f->fs_zero && (!pyformat || f->fs_align == 0))
		fmt[n++] = '0';
	if (pyformat && f->fs_comma) {
		/* thousands separators: format without width, then insert */
		char		 raw[400], *dot, *dig;
		size_t		 intlen, restlen, sl;
		struct buf	 out;

		snprintf(fmt + n, sizeof(fmt) - (size_t)n, ".*%c", conv);
		snprintf(raw, sizeof(raw), fmt, prec, x);
		sl = strchr("+- ", raw[0]) != NULL ? 1 : 0;
		dig = raw + sl;
		dot = strpbrk(dig, ".eE");
		intlen = dot ? (size_t)(dot - dig) : strlen(dig);
		restlen = strlen(dig + intlen);
		memset(&out, 0, sizeof(out));
		buf_add(&out, raw, sl);
		group_thousands(&out, dig, intlen, zero_grouped(f) ?
		    f->fs_width - (int64_t)(sl + restlen) : 0);
		buf_add(&out, dig + intlen, restlen);
		pad_into(b, out.b_p, out.b_len, out.b_len, f,
		    f->fs_align ? f->fs_align : '>');
		buf_free(&out);
		return;
	}
	if (f->fs_width > 0 && (!pyformat || f->fs_align == 0 ||
	    f->fs_align == '>'))
		n += snprintf(fmt + n, sizeof(fmt) - (size_t)n, "%d",
		    (int)(f->fs_width > 300 ? 300 : f->fs_width));
	snprintf(fmt + n, sizeof(fmt) - (size_t)n, ".*%c", conv);
	snprintf(tmp, sizeof(tmp), fmt, prec, x);
	align = pyformat && f->fs_align ? f->fs_align : f->fs_left ? '<' : '>';
	pad_into(b, tmp, strlen(tmp), strlen(tmp), f, align);
}

/* %d takes a float by truncation, %x does not; a str is a TypeError. */
static int
num_arg(struct eval *e, const struct tval *v, int conv, int64_t *iv,
    double *fv, int wantint)
{
	switch (v->tv_type) {
	case TV_INT:
	case TV_BOOL:
		*iv = v->u.i;
		*fv = (double)v->u.i;
		return 0;
	case TV_FLOAT:
		if (wantint && (isnan(v->u.f) || isinf(v->u.f)))
			return eval_errorv(e, "cannot convert float %s to "
			    "integer", isnan(v->u.f) ? "NaN" : "infinity");
		if (wantint && fabs(v->u.f) >= 9.2e18)
			return eval_errorv(e, "integer too large for 64 bits");
		if (wantint && conv != 'd' && conv != 'i' && conv != 'u')
			return eval_errorv(e, "%%%c format: an integer is "
			    "required, not float", conv);
		/* only a checked value is converted (wantint guarantees it) */
		*iv = fabs(v->u.f) < 9.2e18 ? (int64_t)v->u.f : 0;
		*fv = v->u.f;
		return 0;
	case TV_UNDEF:
		eval_undefined_error(e, v);
		return -1;
	default:
		if (wantint)
			return eval_errorv(e, "%%%c format: a real number is "
			    "required, not %s", conv, tval_typename(v));
		return eval_errorv(e, "must be real number, not %s",
		    tval_typename(v));
	}
}

/* One conversion of v into b. */
static int
conv_one(struct eval *e, struct buf *b, int conv, const struct fspec *f,
    const struct tval *v, int markup)
{
	struct buf	 t;
	int64_t		 iv;
	double		 fv;
	size_t		 len;

	switch (conv) {
	case 's':
	case 'r':
	case 'a':
		memset(&t, 0, sizeof(t));
		if (conv == 's') {
			if (eval_str_into(e, &t, v) == -1) {
				buf_free(&t);
				return -1;
			}
		} else if (tval_repr_into(&t, v, 0) == -1) {
			buf_free(&t);
			return eval_errorv(e, "value nested too deeply");
		}
		/*
		 * Markup % args: markupsafe escapes str() of an argument that
		 * is not Markup, and repr() of any (its _MarkupEscapeHelper)
		 */
		if (markup && (conv != 's' || !(v->tv_type == TV_STR &&
		    (v->tv_flags & TVF_MARKUP))) && html_escape_buf(&t) == -1) {
			buf_free(&t);
			return eval_errorv(e, "out of memory");
		}
		len = t.b_len;
		if (f->fs_prec >= 0 && nchars_of(t.b_p, len) > (size_t)f->fs_prec) {
			size_t	 i, n = 0;

			for (i = 0; i < len; i++) {
				if (((unsigned char)t.b_p[i] & 0xc0) != 0x80 &&
				    n++ == (size_t)f->fs_prec)
					break;
			}
			len = i;
		}
		pad_into(b, t.b_p ? t.b_p : "", len, nchars_of(t.b_p ? t.b_p :
		    "", len), f, f->fs_left ? '<' : '>');
		buf_free(&t);
		return 0;
	case 'd': case 'i': case 'u': case 'x': case 'X': case 'o':
		if (num_arg(e, v, conv, &iv, &fv, 1) == -1)
			return -1;
		fmt_int(b, iv, conv, f, 0);
		return 0;
	case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
		if (num_arg(e, v, conv, &iv, &fv, 0) == -1)
			return -1;
		fmt_float(b, fv, conv, f, 0);
		return 0;
	case 'c':
		if (v->tv_type == TV_STR && tval_nchars(v) == 1) {
			pad_into(b, v->u.s.p, v->u.s.len, 1, f, f->fs_left ? '<' :
			    '>');
			return 0;
		}
		if (v->tv_type == TV_INT && v->u.i >= 0 && v->u.i <= 0x10ffff) {
			char	 tmp[4];

			pad_into(b, tmp, utf8_put(tmp, (uint32_t)v->u.i), 1, f,
			    f->fs_left ? '<' : '>');
			return 0;
		}
		return eval_errorv(e, "%%c requires int or char");
	}
	return eval_errorv(e, "unsupported format character '%c' (0x%x)",
	    isprint(conv) ? conv : '?', (unsigned)conv);
}

/*
 * The str % args operator: a tuple is the argument list, a dict feeds
 * %(key)s.  As in Python, a right operand that is subscriptable but not a
 * tuple (a dict, a list, a range, Jinja2's Undefined) is never "not all
 * arguments converted".
 */
struct tval *
format_percent(struct eval *e, const struct tval *fmt, struct tval *args)
{
	struct buf	 b;
	const char	*p = fmt->u.s.p, *end = p + fmt->u.s.len;
	size_t		 argi = 0, nargs;
	struct tval	*const *argv;
	struct tval	*single = args, *mapping = NULL, *key, *v;
	struct fspec	 f;
	struct tval	*r;
	int		 usedmap = 0, subscriptable;
	int		 markup = (fmt->tv_flags & TVF_MARKUP) != 0;

	/* range() is a tuple here, but a range to Python */
	if (args->tv_type == TV_TUPLE && args->u.l.rng == NULL) {
		argv = args->u.l.v;
		nargs = args->u.l.n;
	} else {
		argv = &single;
		nargs = 1;
		if (args->tv_type == TV_DICT)
			mapping = args;
	}
	subscriptable = args->tv_type == TV_LIST || args->tv_type == TV_UNDEF ||
	    (args->tv_type == TV_TUPLE && args->u.l.rng != NULL);
	memset(&b, 0, sizeof(b));
	while (p < end) {
		const char	*pc = memchr(p, '%', (size_t)(end - p));

		if (pc == NULL) {
			buf_add(&b, p, (size_t)(end - p));
			break;
		}
		buf_add(&b, p, (size_t)(pc - p));
		p = pc + 1;
		if (p >= end) {
			eval_error(e, "incomplete format");
			goto fail;
		}
		memset(&f, 0, sizeof(f));
		f.fs_width = f.fs_prec = -1;
		v = NULL;
		if (*p == '(') {
			const char	*q = p + 1;
			int		 depth = 1;

			while (q < end && depth > 0) {
				if (*q == '(')
					depth++;
				else if (*q == ')')
					depth--;
				q++;
			}
			if (depth > 0) {
				eval_error(e, "incomplete format key");
				goto fail;
			}
			if (mapping == NULL) {
				eval_error(e, "format requires a mapping");
				goto fail;
			}
			if ((key = tval_str(p + 1, (size_t)(q - p - 2))) == NULL)
				goto oom;
			v = tval_dict_get(mapping, key);
			if (v == NULL) {
				eval_error(e, "KeyError: '%s'", key->u.s.p);
				tval_unref(key);
				goto fail;
			}
			tval_unref(key);
			usedmap = 1;
			p = q;
		}
		for (; p < end && strchr("-+ #0", *p) != NULL; p++)
			switch (*p) {
			case '-': f.fs_left = 1; break;
			case '+': f.fs_plus = 1; break;
			case ' ': f.fs_space = 1; break;
			case '#': f.fs_alt = 1; break;
			case '0': f.fs_zero = 1; break;
			}
		if (p < end && *p == '*') {
			if (argi >= nargs || (argv[argi]->tv_type != TV_INT)) {
				eval_error(e, "* wants int");
				goto fail;
			}
			f.fs_width = argv[argi++]->u.i;
			if (f.fs_width < -100000 || f.fs_width > 100000)
				f.fs_width = 100001;	/* refused below */
			if (f.fs_width < 0) {
				f.fs_left = 1;
				f.fs_width = -f.fs_width;
			}
			p++;
		} else
			for (; p < end && isdigit((unsigned char)*p); p++)
				f.fs_width = fmt_digit(f.fs_width, *p);
		if (p < end && *p == '.') {
			p++;
			f.fs_prec = 0;
			if (p < end && *p == '*') {
				if (argi >= nargs ||
				    argv[argi]->tv_type != TV_INT) {
					eval_error(e, "* wants int");
					goto fail;
				}
				f.fs_prec = argv[argi++]->u.i;
				if (f.fs_prec < 0)
					f.fs_prec = 0;
				p++;
			} else
				for (; p < end && isdigit((unsigned char)*p); p++)
					f.fs_prec = fmt_digit(f.fs_prec, *p);
		}
		if (f.fs_width > 100000 || f.fs_prec > 100000) {
			eval_error(e, "width or precision too large");
			goto fail;
		}
		while (p < end && (*p == 'h' || *p == 'l' || *p == 'L'))
			p++;
		if (p >= end) {
			eval_error(e, "incomplete format");
			goto fail;
		}
		if (*p == '%') {
			buf_addc(&b, '%');
			p++;
			continue;
		}
		if (v == NULL) {
			if (argi >= nargs) {
				eval_error(e, "not enough arguments for format "
				    "string");
				goto fail;
			}
			v = argv[argi++];
		}
		if (v->tv_type == TV_SECRET) {
			eval_error(e, "a secret cannot be formatted");
			goto fail;
		}
		if ((unsigned char)*p >= 0x80) {
			/* Python names the character by its code point */
			size_t		 at = (size_t)(p - fmt->u.s.p);
			uint32_t	 cp;

			utf8_next(fmt->u.s.p, fmt->u.s.len, &at, &cp);
			eval_error(e, "unsupported format character '?' "
			    "(0x%x)", (unsigned)cp);
			goto fail;
		}
		if (conv_one(e, &b, *p, &f, v, markup) == -1)
			goto fail;
		p++;
		if (b.b_len > eval_maxout(e)) {
			eval_error(e, "string too long");
			goto fail;
		}
	}
	if (argi < nargs && mapping == NULL && !usedmap && !subscriptable) {
		eval_error(e, "not all arguments converted during string "
		    "formatting");
		goto fail;
	}
	/* Markup % args is a Markup */
	if ((r = tval_str_buf(&b)) != NULL && markup)
		r->tv_flags |= TVF_MARKUP;
	return r;
oom:
	eval_error(e, "out of memory");
fail:
	buf_free(&b);
	return NULL;
}

/* --- str.format() ------------------------------------------------------ */

/*
 * A str.format spec: [[fill]align][sign][#][0][width][,][.precision][type].
 */
static int
parse_spec(struct eval *e, const char *s, size_t n, struct fspec *f,
    char *type)
{
	size_t	 i = 0, cl;

	memset(f, 0, sizeof(*f));
	f->fs_width = f->fs_prec = -1;
	*type = 0;
	/* [[fill]align] */
	cl = 1;
	while (cl < n && ((unsigned char)s[cl] & 0xc0) == 0x80)
		cl++;
	if (n > cl && strchr("<>^=", s[cl]) != NULL) {
		memcpy(f->fs_fill, s, cl < 4 ? cl : 4);
		f->fs_align = s[cl];
		i = cl + 1;
	} else if (n > 0 && strchr("<>^=", s[0]) != NULL) {
		f->fs_align = s[0];
		i = 1;
	}
	if (i < n && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) {
		f->fs_plus = s[i] == '+';
		f->fs_space = s[i] == ' ';
		i++;
	}
	if (i < n && s[i] == '#') {
		f->fs_alt = 1;
		i++;
	}
	/*
	 * 0 without a fill of its own fills with zeros, after the sign
	 * unless an alignment is given; a string then aligns left (Python
	 * 3.10's format spec).
	 */
	if (i < n && s[i] == '0') {
		f->fs_zero = 1;
		if (f->fs_fill[0] == '\0')
			f->fs_fill[0] = '0';
		if (f->fs_align == 0) {
			f->fs_align = '=';
			f->fs_zeroeq = 1;
		}
		i++;
	}
	for (; i < n && isdigit((unsigned char)s[i]); i++)
		f->fs_width = fmt_digit(f->fs_width, s[i]);
	if (i < n && s[i] == ',') {
		f->fs_comma = 1;
		i++;
	}
	if (i < n && s[i] == '.') {
		f->fs_prec = 0;
		for (i++; i < n && isdigit((unsigned char)s[i]); i++)
			f->fs_prec = fmt_digit(f->fs_prec, s[i]);
	}
	if (i < n)
		*type = s[i++];
	if (i != n || f->fs_width > 100000 || f->fs_prec > 100000)
		return eval_errorv(e, "Invalid format specifier");
	return 0;
}

/* A string aligns left unless told otherwise; '=' is for numbers. */
static int
str_align(struct eval *e, const struct fspec *f, char *align)
{
	if (f->fs_align == '=' && !f->fs_zeroeq)
		return eval_errorv(e, "'=' alignment not allowed in string "
		    "format specifier");
	if (f->fs_comma)
		return eval_errorv(e, "Cannot specify ',' with 's'.");
	*align = f->fs_align == 0 || f->fs_zeroeq ? '<' : f->fs_align;
	return 0;
}

/* format(value, spec) by the value's type. */
static int
format_field(struct eval *e, struct buf *b, const struct tval *v,
    const char *spec, size_t nspec, char conv)
{
	struct fspec	 f;
	char		 type;
	struct buf	 t;
	int64_t		 iv;
	double		 fv;
	char		 salign = '<';

	if (v->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be formatted");
	if (parse_spec(e, spec, nspec, &f, &type) == -1)
		return -1;
	if (f.fs_comma && type != 0 && strchr("xXobcn", type) != NULL)
		return eval_errorv(e, "Cannot specify ',' with '%c'.", type);
	if (conv == 'r' || conv == 'a' || conv == 's') {
		if (str_align(e, &f, &salign) == -1)
			return -1;
		memset(&t, 0, sizeof(t));
		if (conv == 's' ? eval_str_into(e, &t, v) :
		    tval_repr_into(&t, v, 0)) {
			buf_free(&t);
			return -1;
		}
		pad_into(b, t.b_p ? t.b_p : "", t.b_len, nchars_of(t.b_p ?
		    t.b_p : "", t.b_len), &f, salign);
		buf_free(&t);
		return 0;
	}
	if ((v->tv_type == TV_INT || v->tv_type == TV_BOOL) &&
	    (type == 0 || strchr("dxXobn", type) != NULL) &&
	    !(v->tv_type == TV_BOOL && type == 0)) {
		fmt_int(b, v->u.i, type == 0 || type == 'n' ? 'd' : type, &f, 1);
		return 0;
	}
	if ((v->tv_type == TV_INT || v->tv_type == TV_FLOAT ||
	    v->tv_type == TV_BOOL) && type != 0 && strchr("eEfFgG%",
	    type) != NULL) {
		num_arg(e, v, type, &iv, &fv, 0);
		if (type == '%') {
			struct buf	 n;

			memset(&n, 0, sizeof(n));
			/* zeros grouped with the digits leave room for % */
			fmt_float(&n, fv * 100, 'f', &(struct fspec){
			    .fs_prec = f.fs_prec, .fs_comma = f.fs_comma,
			    .fs_width = zero_grouped(&f) ? f.fs_width - 1 : -1,
			    .fs_align = f.fs_align, .fs_fill = "0" }, 1);
			buf_addc(&n, '%');
			pad_into(b, n.b_p, n.b_len, n.b_len, &f, f.fs_align ?
			    f.fs_align : '>');
			buf_free(&n);
			return 0;
		}
		fmt_float(b, fv, type, &f, 1);
		return 0;
	}
	if (v->tv_type == TV_FLOAT && type == 0) {
		memset(&t, 0, sizeof(t));
		if (f.fs_prec >= 0)
			fmt_float(&t, v->u.f, 'g', &(struct fspec){
			    .fs_prec = f.fs_prec, .fs_width = -1 }, 1);
		else
			fmt_float_repr(&t, v->u.f);
		pad_into(b, t.b_p, t.b_len, t.b_len, &f, f.fs_align ?
		    f.fs_align : '>');
		buf_free(&t);
		return 0;
	}
	if (type != 0 && type != 's')
		return eval_errorv(e, "Unknown format code '%c' for object of "
		    "type '%s'", type, tval_typename(v));
	if (str_align(e, &f, &salign) == -1)
		return -1;
	memset(&t, 0, sizeof(t));
	if (eval_str_into(e, &t, v) == -1) {
		buf_free(&t);
		return -1;
	}
	{
		size_t	 len = t.b_len;

		if (f.fs_prec >= 0 && nchars_of(t.b_p ? t.b_p : "", len) >
		    (size_t)f.fs_prec) {
			size_t	 i, n = 0;

			for (i = 0; i < len; i++)
				if (((unsigned char)t.b_p[i] & 0xc0) != 0x80 &&
				    n++ == (size_t)f.fs_prec)
					break;
			len = i;
		}
		pad_into(b, t.b_p ? t.b_p : "", len, nchars_of(t.b_p ? t.b_p :
		    "", len), &f, salign);
	}
	buf_free(&t);
	return 0;
}

/* str.format: auto or manual numbering, names, .attr and [key], !r/!s/!a. */
struct tval *
format_str_method(struct eval *e, const struct tval *fmt, struct args *a)
{
	return format_str_map(e, fmt, a, NULL);
}

/*
 * str.format(*args, **kwargs), or str.format_map(mapping) when mapping is
 * not NULL (a's positional arguments are then none).  On a Markup every
 * field that is not itself a Markup is escaped (markupsafe's
 * EscapeFormatter) and the result is a Markup.
 */
struct tval *
format_str_map(struct eval *e, const struct tval *fmt, struct args *a,
    const struct tval *mapping)
{
	struct buf	 b;
	const char	*p = fmt->u.s.p, *end = p + fmt->u.s.len;
	size_t		 autoi = 0, i, before;
	int		 mode = 0;	/* 1 auto, 2 manual */
	int		 markup = (fmt->tv_flags & TVF_MARKUP) != 0;
	struct tval	*v, *t, *k, *r;

	memset(&b, 0, sizeof(b));
	while (p < end) {
		const char	*q, *name, *nend, *spec = NULL, *cend;
		char		 conv = 0;

		if (*p == '}') {
			if (p + 1 < end && p[1] == '}') {
				buf_addc(&b, '}');
				p += 2;
				continue;
			}
			eval_error(e, "Single '}' encountered in format string");
			goto fail;
		}
		if (*p != '{') {
			buf_addc(&b, *p++);
			continue;
		}
		if (p + 1 < end && p[1] == '{') {
			buf_addc(&b, '{');
			p += 2;
			continue;
		}
		if ((q = memchr(p, '}', (size_t)(end - p))) == NULL) {
			eval_error(e, "expected '}' before end of string");
			goto fail;
		}
		name = p + 1;
		cend = q;
		for (nend = name; nend < cend && *nend != '!' && *nend != ':' &&
		    *nend != '.' && *nend != '['; nend++)
			;
		/* the argument */
		if (nend == name) {
			if (mode == 2) {
				eval_error(e, "cannot switch from manual field "
				    "specification to automatic field numbering");
				goto fail;
			}
			mode = 1;
			if (autoi >= a->a_npos) {
				eval_error(e, "Replacement index %zu out of range "
				    "for positional args tuple", autoi);
				goto fail;
			}
			v = tval_ref(a->a_pos[autoi++]);
		} else if (isdigit((unsigned char)*name)) {
			size_t	 idx = 0;

			if (mode == 1) {
				eval_error(e, "cannot switch from automatic field "
				    "numbering to manual field specification");
				goto fail;
			}
			mode = 2;
			for (; name < nend && isdigit((unsigned char)*name); name++)
				idx = idx > 100000 ? idx :
				    idx * 10 + (size_t)(*name - '0');
			if (idx >= a->a_npos) {
				eval_error(e, "Replacement index %zu out of range "
				    "for positional args tuple", idx);
				goto fail;
			}
			v = tval_ref(a->a_pos[idx]);
		} else if (mapping != NULL) {
			/* format_map: mapping[name] */
			if ((k = tval_str(name, (size_t)(nend - name))) == NULL)
				goto oom;
			v = tval_dict_get(mapping, k);
			tval_unref(k);
			if (v == NULL) {
				eval_error(e, "KeyError: '%.*s'", (int)(nend -
				    name), name);
				goto fail;
			}
			tval_ref(v);
		} else {
			v = NULL;
			for (i = 0; i < a->a_nkw && v == NULL; i++)
				if (strlen(a->a_kwname[i]) == (size_t)(nend -
				    name) && memcmp(a->a_kwname[i], name,
				    (size_t)(nend - name)) == 0)
					v = tval_ref(a->a_kwval[i]);
			if (v == NULL) {
				eval_error(e, "KeyError: '%.*s'", (int)(nend -
				    name), name);
				goto fail;
			}
		}
		/* .attr and [key] */
		while (nend < cend && (*nend == '.' || *nend == '[')) {
			const char	*s0 = nend + 1, *s1;

			if (*nend == '.') {
				for (s1 = s0; s1 < cend && *s1 != '.' &&
				    *s1 != '[' && *s1 != '!' && *s1 != ':'; s1++)
					;
				if ((k = tval_str(s0, (size_t)(s1 - s0))) == NULL)
					goto oomv;
				t = eval_getattr(e, v, k->u.s.p, k->u.s.len);
				nend = s1;
			} else {
				if ((s1 = memchr(s0, ']', (size_t)(cend - s0))) ==
				    NULL) {
					tval_unref(v);
					eval_error(e, "Missing ']' in format "
					    "string");
					goto fail;
				}
				k = NULL;
				if (s1 > s0 && strspn(s0, "0123456789") >=
				    (size_t)(s1 - s0))
					k = tval_int(strtoll(s0, NULL, 10));
				else
					k = tval_str(s0, (size_t)(s1 - s0));
				if (k == NULL)
					goto oomv;
				t = eval_getitem(e, v, k);
				nend = s1 + 1;
			}
			tval_unref(k);
			tval_unref(v);
			if ((v = t) == NULL)
				goto fail;
		}
		if (nend < cend && *nend == '!') {
			if (nend + 1 >= cend) {
				tval_unref(v);
				eval_error(e, "end of string while looking for "
				    "conversion specifier");
				goto fail;
			}
			conv = nend[1];
			nend += 2;
		}
		if (nend < cend && *nend == ':')
			spec = nend + 1;
		if (markup && conv == 0 && v->tv_type == TV_STR &&
		    (v->tv_flags & TVF_MARKUP) && spec != NULL && spec < cend) {
			tval_unref(v);
			eval_error(e, "Unsupported format specification for "
			    "Markup.");
			goto fail;
		}
		before = b.b_len;
		if (format_field(e, &b, v, spec ? spec : "", spec ?
		    (size_t)(cend - spec) : 0, conv) == -1) {
			tval_unref(v);
			goto fail;
		}
		/* the field as formatted, escaped unless it is Markup */
		if (markup && !(conv == 0 && v->tv_type == TV_STR &&
		    (v->tv_flags & TVF_MARKUP)) && html_escape_tail(&b,
		    before) == -1) {
			tval_unref(v);
			goto oom;
		}
		tval_unref(v);
		p = q + 1;
		if (b.b_len > eval_maxout(e)) {
			eval_error(e, "string too long");
			goto fail;
		}
	}
	/* a Markup's format is a Markup */
	if ((r = tval_str_buf(&b)) != NULL && markup)
		r->tv_flags |= TVF_MARKUP;
	return r;
oomv:
	tval_unref(v);
oom:
	eval_error(e, "out of memory");
fail:
	buf_free(&b);
	return NULL;
}
