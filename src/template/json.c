/*
 * json.c — JSON in and out of the value model.  from_json follows Python's
 * json.loads (NaN/Infinity accepted, duplicate keys: last value wins at the
 * first position); json_encode is json.dumps with its defaults (", ", ": ",
 * ensure_ascii, insertion order) and tojson is Jinja2's (sorted keys,
 * HTML-safe escapes).  tval_from_json / tval_to_json convert json-c trees
 * without loss: ints stay ints, key order is kept.
 */
#include "build.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "tmpl_int.h"

#define JSON_MAXDEPTH	500

#define JP_MEMO	64	/* object keys seen in this document, reused */

struct jparse {
	struct tval	*jp_memo[JP_MEMO];
	const char	*jp_s;
	size_t		 jp_len;
	size_t		 jp_pos;
	char		*jp_err;
	size_t		 jp_errlen;
	int		 jp_failed;
	struct tval	**jp_stack;	/* children of open containers */
	size_t		 jp_nstack;
	size_t		 jp_cstack;
};

/* Python's json error spelling: message: line L column C (char N). */
static void *
jp_fail(struct jparse *jp, size_t at, const char *msg)
{
	size_t	 i, line = 1, col = 1, chars = 0;

	if (jp->jp_failed++)
		return NULL;
	for (i = 0; i < at && i < jp->jp_len; i++) {
		unsigned char	 c = (unsigned char)jp->jp_s[i];

		if ((c & 0xc0) == 0x80)
			continue;
		chars++;
		if (c == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	snprintf(jp->jp_err, jp->jp_errlen, "%s: line %zu column %zu (char %zu)",
	    msg, line, col, chars);
	return NULL;
}

static inline void
jp_ws(struct jparse *jp)
{
	if (jp->jp_pos < jp->jp_len &&
	    (unsigned char)jp->jp_s[jp->jp_pos] > ' ')
		return;
	while (jp->jp_pos < jp->jp_len) {
		char	 c = jp->jp_s[jp->jp_pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		jp->jp_pos++;
	}
}

static int
jp_hex4(const char *p, uint32_t *out)
{
	uint32_t	 v = 0;
	int		 i;

	for (i = 0; i < 4; i++) {
		char	 c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* bytes that end the fast scan of a string: quote, backslash, controls */
static const unsigned char jp_special[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1
};

/*
 * Strings without escapes take one allocation; object keys are shared
 * through a small memo.
 */
/*
 * Skip string bytes that need no attention, eight at a time: a word is
 * clean when it has no '"', no '\\' and no byte below 0x20.
 */
static inline size_t
jp_scan(const char *s, size_t i, size_t n)
{
	const uint64_t	 ones = 0x0101010101010101ULL;
	const uint64_t	 high = 0x8080808080808080ULL;
	uint64_t	 w, q, b;

#ifdef __SSE2__
	/* sixteen at a time where the ISA has it (every x86-64) */
	const __m128i	 vq = _mm_set1_epi8('"');
	const __m128i	 vb = _mm_set1_epi8('\\');
	const __m128i	 vc = _mm_set1_epi8(0x1f);

	while (i + 16 <= n) {
		__m128i	 v = _mm_loadu_si128((const __m128i *)(s + i));
		__m128i	 m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vq),
		    _mm_cmpeq_epi8(v, vb)),
		    _mm_cmpeq_epi8(_mm_min_epu8(v, vc), v));
		int	 bits = _mm_movemask_epi8(m);

		if (bits != 0)
			return i + (size_t)__builtin_ctz((unsigned)bits);
		i += 16;
	}
#endif
	while (i + 8 <= n) {
		memcpy(&w, s + i, sizeof(w));
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		if ((((q - ones) & ~q) | ((b - ones) & ~b) |
		    ((w - ones * 0x20) & ~w)) & high)
			break;
		i += 8;
	}
	while (i < n && !jp_special[(unsigned char)s[i]])
		i++;
	return i;
}

static struct tval *
jp_string(struct jparse *jp, int key)
{
	size_t		 start = jp->jp_pos, i;
	struct buf	 b;
	uint32_t	 cp, lo;
	char		 tmp[4];
	const char	*s = jp->jp_s;

	/* the common case: no escapes, one allocation (keys: often none) */
	i = jp_scan(s, start + 1, jp->jp_len);
	if (i < jp->jp_len && s[i] == '"') {
		size_t		 n = i - start - 1;
		struct tval	*v, **slot = NULL;
		uint64_t	 h;

		if (key && n <= 32 && n > 0) {
			/* a cheap slot; the full hash is cached on the key */
			/* a cheap slot; the full hash is cached on the key */
			h = tmpl_hash(s + start + 1, n < 8 ? n : 8) ^
			    (n * 0x9e3779b97f4a7c15ULL) ^
			    (unsigned char)s[i - 1];
			h ^= h >> 29;
			slot = &jp->jp_memo[h % JP_MEMO];
			if (*slot != NULL && (*slot)->u.s.len == n &&
			    memcmp((*slot)->u.s.p, s + start + 1, n) == 0) {
				jp->jp_pos = i + 1;
				return tval_ref(*slot);
			}
		}
		if ((v = tval_str(s + start + 1, n)) == NULL)
			return jp_fail(jp, start, "out of memory");
		if (slot != NULL) {
			tval_unref(*slot);
			*slot = tval_ref(v);
		}
		jp->jp_pos = i + 1;
		return v;
	}
	memset(&b, 0, sizeof(b));
	i = ++jp->jp_pos;
	for (;;) {
		size_t	 run = i;

		while (i < jp->jp_len && jp->jp_s[i] != '"' && jp->jp_s[i] !=
		    '\\' && (unsigned char)jp->jp_s[i] >= 0x20)
			i++;
		if (i > run && buf_add(&b, jp->jp_s + run, i - run) == -1)
			goto oom;
		if (i >= jp->jp_len) {
			buf_free(&b);
			return jp_fail(jp, start, "Unterminated string starting "
			    "at");
		}
		if (jp->jp_s[i] == '"')
			break;
		if ((unsigned char)jp->jp_s[i] < 0x20) {
			buf_free(&b);
			return jp_fail(jp, i, "Invalid control character at");
		}
		/* backslash */
		if (i + 1 >= jp->jp_len) {
			buf_free(&b);
			return jp_fail(jp, start, "Unterminated string starting "
			    "at");
		}
		switch (jp->jp_s[i + 1]) {
		case '"':	buf_addc(&b, '"'); break;
		case '\\':	buf_addc(&b, '\\'); break;
		case '/':	buf_addc(&b, '/'); break;
		case 'b':	buf_addc(&b, '\b'); break;
		case 'f':	buf_addc(&b, '\f'); break;
		case 'n':	buf_addc(&b, '\n'); break;
		case 'r':	buf_addc(&b, '\r'); break;
		case 't':	buf_addc(&b, '\t'); break;
		case 'u':
			if (i + 6 > jp->jp_len || jp_hex4(jp->jp_s + i + 2,
			    &cp) == -1) {
				buf_free(&b);
				return jp_fail(jp, i, "Invalid \\uXXXX escape");
			}
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 8 <= jp->jp_len &&
			    jp->jp_s[i + 2] == '\\' && jp->jp_s[i + 3] == 'u' &&
			    jp_hex4(jp->jp_s + i + 4, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 6;
			}
			buf_add(&b, tmp, utf8_put(tmp, cp));
			break;
		default:
			buf_free(&b);
			return jp_fail(jp, i, "Invalid \\escape");
		}
		i += 2;
	}
	jp->jp_pos = i + 1;
	return tval_str_buf(&b) ?: jp_fail(jp, start, "out of memory");
oom:
	buf_free(&b);
	return jp_fail(jp, start, "out of memory");
}

/* Ints stay ints; floats use Clinger's fast path or strtod. */
static struct tval *
jp_number(struct jparse *jp)
{
	const char	*s = jp->jp_s;
	size_t		 p = jp->jp_pos, start = p, n = jp->jp_len;
	int		 isfloat = 0;
	char		 tmp[400];
	int64_t		 iv;

	if (p < n && s[p] == '-')
		p++;
	if (p + 8 <= n && memcmp(s + p, "Infinity", 8) == 0 && p > start) {
		jp->jp_pos = p + 8;
		return tval_float(-INFINITY);
	}
	if (p >= n || s[p] < '0' || s[p] > '9')
		return jp_fail(jp, start, "Expecting value");
	if (s[p] == '0')
		p++;
	else
		while (p < n && s[p] >= '0' && s[p] <= '9')
			p++;
	if (p + 1 < n && s[p] == '.' && s[p + 1] >= '0' && s[p + 1] <= '9') {
		isfloat = 1;
		p++;
		while (p < n && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	if (p < n && (s[p] == 'e' || s[p] == 'E')) {
		size_t	 q = p + 1;

		if (q < n && (s[q] == '+' || s[q] == '-'))
			q++;
		if (q < n && s[q] >= '0' && s[q] <= '9') {
			isfloat = 1;
			p = q;
			while (p < n && s[p] >= '0' && s[p] <= '9')
				p++;
		}
	}
	jp->jp_pos = p;
	if (!isfloat && p - start <= 18) {
		/* fits in int64 without overflow checks */
		const char	*q = s + start;
		int		 neg = *q == '-';

		iv = 0;
		for (q += neg; q < s + p; q++)
			iv = iv * 10 + (*q - '0');
		return tval_int(neg ? -iv : iv);
	}
	if (isfloat && p - start <= 17) {
		/*
		 * Clinger's fast path: at most 15 significant digits and a
		 * small power of ten are exact in a double, so one operation
		 * rounds correctly.
		 */
		const char	*q = s + start;
		int		 neg = *q == '-', nd = 0, e10 = 0, esign = 1, ok = 1;
		int64_t		 mant = 0;
		static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5,
		    1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
		    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

		for (q += neg; q < s + p && *q != 'e' && *q != 'E'; q++) {
			if (*q == '.')
				continue;
			mant = mant * 10 + (*q - '0');
			nd++;
		}
		{
			const char	*dot = memchr(s + start, '.',
			    (size_t)(q - (s + start)));

			if (dot != NULL)
				e10 = -(int)(q - dot - 1);
		}
		if (q < s + p) {
			int	 x = 0;

			q++;
			if (*q == '-' || *q == '+')
				esign = *q++ == '-' ? -1 : 1;
			for (; q < s + p; q++)
				if (x <= 400)
					x = x * 10 + (*q - '0');
				else
					ok = 0;
			e10 += esign * x;
		}
		if (ok && nd <= 15 && e10 >= -22 && e10 <= 22) {
			double	 d = (double)mant;

			d = e10 < 0 ? d / p10[-e10] : d * p10[e10];
			return tval_float(neg ? -d : d);
		}
	}
	if (p - start >= sizeof(tmp))
		return jp_fail(jp, start, "number too long");
	memcpy(tmp, s + start, p - start);
	tmp[p - start] = '\0';
	jp->jp_pos = p;
	if (!isfloat) {
		char	*end;

		errno = 0;
		iv = strtoll(tmp, &end, 10);
		if (errno != ERANGE)
			return tval_int(iv);
		/* beyond 64 bits: Python keeps an exact int; we round */
	}
	return tval_float(strtod(tmp, NULL));
}

static struct tval *jp_value(struct jparse *, int);

/*
 * Children are gathered on a scratch stack shared by the whole parse and
 * moved into their container once its size is known: one allocation per
 * container instead of a chain of reallocs.
 */
static int
jp_push(struct jparse *jp, struct tval *v)
{
	struct tval	**ns;

	if (jp->jp_nstack == jp->jp_cstack) {
		size_t	 c = jp->jp_cstack ? jp->jp_cstack * 2 : 64;

		if ((ns = realloc(jp->jp_stack, c * sizeof(*ns))) == NULL)
			return -1;
		jp->jp_stack = ns;
		jp->jp_cstack = c;
	}
	jp->jp_stack[jp->jp_nstack++] = v;
	return 0;
}

static void
jp_unwind(struct jparse *jp, size_t base)
{
	while (jp->jp_nstack > base)
		tval_unref(jp->jp_stack[--jp->jp_nstack]);
}

static struct tval *
jp_array(struct jparse *jp, int depth)
{
	struct tval	*l, *v;
	size_t		 base = jp->jp_nstack, n;

	jp->jp_pos++;
	jp_ws(jp);
	if (jp->jp_pos < jp->jp_len && jp->jp_s[jp->jp_pos] == ']') {
		jp->jp_pos++;
		return tval_list() ?: jp_fail(jp, jp->jp_pos, "out of memory");
	}
	for (;;) {
		jp_ws(jp);
		if ((v = jp_value(jp, depth + 1)) == NULL)
			goto fail;
		if (jp_push(jp, v) == -1) {
			tval_unref(v);
			jp_fail(jp, jp->jp_pos, "out of memory");
			goto fail;
		}
		jp_ws(jp);
		if (jp->jp_pos < jp->jp_len && jp->jp_s[jp->jp_pos] == ']') {
			jp->jp_pos++;
			break;
		}
		if (jp->jp_pos >= jp->jp_len || jp->jp_s[jp->jp_pos] != ',') {
			jp_fail(jp, jp->jp_pos, "Expecting ',' delimiter");
			goto fail;
		}
		jp->jp_pos++;
	}
	n = jp->jp_nstack - base;
	if ((l = tval_list()) == NULL ||
	    (l->u.l.v = malloc(n * sizeof(*l->u.l.v))) == NULL) {
		tval_unref(l);
		jp_fail(jp, jp->jp_pos, "out of memory");
		goto fail;
	}
	/* JSON holds no namespaces: no TVF_NSIN to propagate */
	memcpy(l->u.l.v, jp->jp_stack + base, n * sizeof(*l->u.l.v));
	l->u.l.n = l->u.l.cap = n;
	jp->jp_nstack = base;
	return l;
fail:
	jp_unwind(jp, base);
	return NULL;
}

static struct tval *
jp_object(struct jparse *jp, int depth)
{
	struct tval	*d, *k, *v;
	size_t		 base = jp->jp_nstack, i;

	jp->jp_pos++;
	jp_ws(jp);
	if (jp->jp_pos < jp->jp_len && jp->jp_s[jp->jp_pos] == '}') {
		jp->jp_pos++;
		return tval_dict() ?: jp_fail(jp, jp->jp_pos, "out of memory");
	}
	for (;;) {
		jp_ws(jp);
		if (jp->jp_pos >= jp->jp_len || jp->jp_s[jp->jp_pos] != '"') {
			jp_fail(jp, jp->jp_pos, "Expecting property name "
			    "enclosed in double quotes");
			goto fail;
		}
		if ((k = jp_string(jp, 1)) == NULL)
			goto fail;
		if (jp_push(jp, k) == -1) {
			tval_unref(k);
			jp_fail(jp, jp->jp_pos, "out of memory");
			goto fail;
		}
		jp_ws(jp);
		if (jp->jp_pos >= jp->jp_len || jp->jp_s[jp->jp_pos] != ':') {
			jp_fail(jp, jp->jp_pos, "Expecting ':' delimiter");
			goto fail;
		}
		jp->jp_pos++;
		jp_ws(jp);
		if ((v = jp_value(jp, depth + 1)) == NULL)
			goto fail;
		if (jp_push(jp, v) == -1) {
			tval_unref(v);
			jp_fail(jp, jp->jp_pos, "out of memory");
			goto fail;
		}
		jp_ws(jp);
		if (jp->jp_pos < jp->jp_len && jp->jp_s[jp->jp_pos] == '}') {
			jp->jp_pos++;
			break;
		}
		if (jp->jp_pos >= jp->jp_len || jp->jp_s[jp->jp_pos] != ',') {
			jp_fail(jp, jp->jp_pos, "Expecting ',' delimiter");
			goto fail;
		}
		jp->jp_pos++;
	}
	if ((d = tval_dict()) == NULL || tval_dict_reserve(d,
	    (jp->jp_nstack - base) / 2) == -1) {
		tval_unref(d);
		jp_fail(jp, jp->jp_pos, "out of memory");
		goto fail;
	}
	for (i = base; i < jp->jp_nstack; i += 2) {
		/* duplicate keys: the last value wins, at the first place */
		if (tval_dict_put(d, jp->jp_stack[i], jp->jp_stack[i + 1]) ==
		    -1) {
			jp->jp_stack[i] = jp->jp_stack[i + 1] = NULL;
			while (i + 2 < jp->jp_nstack) {
				i += 2;
				tval_unref(jp->jp_stack[i]);
				tval_unref(jp->jp_stack[i + 1]);
			}
			jp->jp_nstack = base;
			tval_unref(d);
			return jp_fail(jp, jp->jp_pos, "out of memory");
		}
	}
	jp->jp_nstack = base;
	return d;
fail:
	jp_unwind(jp, base);
	return NULL;
}

static int
jp_lit(struct jparse *jp, const char *lit)
{
	size_t	 n = strlen(lit);

	if (jp->jp_pos + n <= jp->jp_len &&
	    memcmp(jp->jp_s + jp->jp_pos, lit, n) == 0) {
		jp->jp_pos += n;
		return 1;
	}
	return 0;
}

/* A JSON value, depth-limited so hostile nesting ends in an error. */
static struct tval *
jp_value(struct jparse *jp, int depth)
{
	char	 c;

	if (depth > JSON_MAXDEPTH)
		return jp_fail(jp, jp->jp_pos, "maximum recursion depth "
		    "exceeded");
	if (jp->jp_pos >= jp->jp_len)
		return jp_fail(jp, jp->jp_pos, "Expecting value");
	c = jp->jp_s[jp->jp_pos];
	switch (c) {
	case '{':
		return jp_object(jp, depth);
	case '[':
		return jp_array(jp, depth);
	case '"':
		return jp_string(jp, 0);
	case 'n':
		if (jp_lit(jp, "null"))
			return tval_none();
		break;
	case 't':
		if (jp_lit(jp, "true"))
			return tval_bool(1);
		break;
	case 'f':
		if (jp_lit(jp, "false"))
			return tval_bool(0);
		break;
	case 'N':
		if (jp_lit(jp, "NaN"))
			return tval_float(NAN);
		break;
	case 'I':
		if (jp_lit(jp, "Infinity"))
			return tval_float(INFINITY);
		break;
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return jp_number(jp);
		break;
	}
	return jp_fail(jp, jp->jp_pos, "Expecting value");
}

/* json.loads of a whole document; trailing data is an error. */
struct tval *
json_parse(const char *s, size_t len, char *err, size_t errlen)
{
	struct jparse	 jp;
	struct tval	*v;
	size_t		 i;

	memset(&jp, 0, sizeof(jp));
	jp.jp_s = s;
	jp.jp_len = len;
	jp.jp_err = err;
	jp.jp_errlen = errlen;
	/* Python's json.loads skips a leading BOM only with an error; we too */
	jp_ws(&jp);
	if ((v = jp_value(&jp, 0)) == NULL) {
		if (!jp.jp_failed)
			jp_fail(&jp, jp.jp_pos, "out of memory");
		for (i = 0; i < JP_MEMO; i++)
			tval_unref(jp.jp_memo[i]);
		jp_unwind(&jp, 0);
		free(jp.jp_stack);
		return NULL;
	}
	jp_ws(&jp);
	if (jp.jp_pos != jp.jp_len) {
		tval_unref(v);
		v = jp_fail(&jp, jp.jp_pos, "Extra data");
	}
	for (i = 0; i < JP_MEMO; i++)
		tval_unref(jp.jp_memo[i]);
	free(jp.jp_stack);
	return v;
}

/* --- Output ------------------------------------------------------------ */

struct jdump {
	struct buf	*jd_b;
	int		 jd_mode;	/* 0 dumps, 1 tojson, 2 compact, 3 sorted compact */
	int		 jd_indent;
	char		*jd_err;
	size_t		 jd_errlen;
};

static int
jd_fail(struct jdump *jd, const char *fmt, const char *arg)
{
	snprintf(jd->jd_err, jd->jd_errlen, fmt, arg);
	return -1;
}

/* ensure_ascii escaping; tojson also hides < > & ' from HTML parsers. */
/*
 * Bytes a JSON string copies as they are: 1 marks those escaped in every
 * mode (controls, quote, backslash, non-ASCII), 2 those tojson escapes for
 * HTML.  One table lookup per byte instead of a chain of comparisons.
 */
static const unsigned char jd_class[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* End of the run of bytes copied as they are, from pos. */
static inline size_t
jd_plain(const char *s, size_t pos, size_t len, unsigned char mask)
{
#ifdef __SSE2__
	/* sixteen at a time: controls, quote, backslash, >= 0x7f (+ HTML) */
	const __m128i	 vc = _mm_set1_epi8(0x1f), vh = _mm_set1_epi8(0x7f);
	const __m128i	 vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\');
	const __m128i	 vl = _mm_set1_epi8('<'), vg = _mm_set1_epi8('>');
	const __m128i	 va = _mm_set1_epi8('&'), vs = _mm_set1_epi8('\'');

	while (pos + 16 <= len) {
		__m128i	 v = _mm_loadu_si128((const __m128i *)(s + pos));
		__m128i	 m = _mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, vc), v),
		    _mm_cmpeq_epi8(_mm_max_epu8(v, vh), v)),
		    _mm_or_si128(_mm_cmpeq_epi8(v, vq), _mm_cmpeq_epi8(v, vb)));
		int	 bits;

		if (mask & 2)
			m = _mm_or_si128(m, _mm_or_si128(
			    _mm_or_si128(_mm_cmpeq_epi8(v, vl),
			    _mm_cmpeq_epi8(v, vg)),
			    _mm_or_si128(_mm_cmpeq_epi8(v, va),
			    _mm_cmpeq_epi8(v, vs))));
		if ((bits = _mm_movemask_epi8(m)) != 0)
			return pos + (size_t)__builtin_ctz((unsigned)bits);
		pos += 16;
	}
#endif
	while (pos < len && (jd_class[(unsigned char)s[pos]] & mask) == 0)
		pos++;
	return pos;
}

static void
jd_string(struct jdump *jd, const char *s, size_t len)
{
	struct buf	*b = jd->jd_b;
	size_t		 pos = 0, start;
	uint32_t	 cp;
	unsigned char	 mask = jd->jd_mode == 1 ? 3 : 1;

	buf_addc(b, '"');
	while (pos < len) {
		unsigned char	 c = (unsigned char)s[pos];

		if ((jd_class[c] & mask) == 0) {
			start = pos;
			pos = jd_plain(s, pos, len, mask);
			buf_add(b, s + start, pos - start);
			continue;
		}
		utf8_next(s, len, &pos, &cp);
		switch (cp) {
		case '"':	buf_adds(b, "\\\""); break;
		case '\\':	buf_adds(b, "\\\\"); break;
		case '\n':	buf_adds(b, "\\n"); break;
		case '\r':	buf_adds(b, "\\r"); break;
		case '\t':	buf_adds(b, "\\t"); break;
		case '\b':	buf_adds(b, "\\b"); break;
		case '\f':	buf_adds(b, "\\f"); break;
		default:
			if (cp >= 0x10000) {
				cp -= 0x10000;
				buf_printf(b, "\\u%04x\\u%04x",
				    (unsigned)(0xd800 + (cp >> 10)),
				    (unsigned)(0xdc00 + (cp & 0x3ff)));
			} else
				buf_printf(b, "\\u%04x", (unsigned)cp);
		}
	}
	buf_addc(b, '"');
}

static void
jd_float(struct jdump *jd, double f)
{
	if (isnan(f))
		buf_adds(jd->jd_b, "NaN");
	else if (isinf(f))
		buf_adds(jd->jd_b, f < 0 ? "-Infinity" : "Infinity");
	else
		fmt_float_repr(jd->jd_b, f);
}

static void
jd_newline(struct jdump *jd, int level)
{
	int	 i;

	buf_addc(jd->jd_b, '\n');
	for (i = 0; i < level * jd->jd_indent; i++)
		buf_addc(jd->jd_b, ' ');
}

static int jd_value(struct jdump *, const struct tval *, int);

/* A dict key as json.dumps spells it. */
static int
jd_key(struct jdump *jd, const struct tval *k)
{
	struct buf	 t;

	switch (k->tv_type) {
	case TV_STR:
		jd_string(jd, k->u.s.p, k->u.s.len);
		return 0;
	case TV_INT:
		buf_printf(jd->jd_b, "\"%" PRId64 "\"", k->u.i);
		return 0;
	case TV_BOOL:
		buf_adds(jd->jd_b, k->u.i ? "\"true\"" : "\"false\"");
		return 0;
	case TV_NONE:
		buf_adds(jd->jd_b, "\"null\"");
		return 0;
	case TV_FLOAT:
		memset(&t, 0, sizeof(t));
		{
			struct buf	*save = jd->jd_b;

			jd->jd_b = &t;
			jd_float(jd, k->u.f);
			jd->jd_b = save;
		}
		jd_string(jd, t.b_p, t.b_len);
		buf_free(&t);
		return 0;
	default:
		return jd_fail(jd, "keys must be str, int, float, bool or None, "
		    "not %s", tval_typename(k));
	}
}

/* json.dumps(sort_keys=True) orders keys with Python's < */
static int
key_less(const struct tval *a, const struct tval *b, int *lt)
{
	if ((*lt = tval_compare(a, b, OP_LT)) == -1)
		return -1;
	return 0;
}

/*
 * Sorted keys for tojson and JWT headers, insertion order for json_encode.
 */
static int
jd_dict(struct jdump *jd, const struct tval *d, int level)
{
	size_t	 i, j, n = d->u.d.n, *order;
	int	 sorted = jd->jd_mode == 1 || jd->jd_mode == 3, lt;
	int	 compact = jd->jd_mode >= 2;

	if (n == 0) {
		buf_adds(jd->jd_b, "{}");
		return 0;
	}
	if ((order = calloc(n, sizeof(*order))) == NULL)
		return jd_fail(jd, "%s", "out of memory");
	for (i = 0; i < n; i++)
		order[i] = i;
	if (sorted) {
		/* insertion sort: dicts in templates are small */
		for (i = 1; i < n; i++) {
			size_t	 k = order[i];

			for (j = i; j > 0; j--) {
				if (key_less(d->u.d.e[k].de_key,
				    d->u.d.e[order[j - 1]].de_key, &lt) == -1) {
					free(order);
					return jd_fail(jd, "'<' not supported "
					    "between instances of %s", "keys of "
					    "different types");
				}
				if (!lt)
					break;
				order[j] = order[j - 1];
			}
			order[j] = k;
		}
	}
	buf_addc(jd->jd_b, '{');
	for (i = 0; i < n; i++) {
		const struct tdict_ent	*ent = &d->u.d.e[order[i]];

		if (i)
			buf_adds(jd->jd_b, jd->jd_indent >= 0 || compact ? "," :
			    ", ");
		if (jd->jd_indent >= 0)
			jd_newline(jd, level + 1);
		if (jd_key(jd, ent->de_key) == -1 ||
		    (buf_adds(jd->jd_b, compact ? ":" : ": "), 0) ||
		    jd_value(jd, ent->de_val, level + 1) == -1) {
			free(order);
			return -1;
		}
	}
	if (jd->jd_indent >= 0)
		jd_newline(jd, level);
	buf_addc(jd->jd_b, '}');
	free(order);
	return 0;
}

/* One value; output size is bounded by the buffer's limit as it grows. */
static int
jd_value(struct jdump *jd, const struct tval *v, int level)
{
	size_t	 i;

	if (level > JSON_MAXDEPTH)
		return jd_fail(jd, "%s", "maximum recursion depth exceeded");
	if (jd->jd_b->b_over)
		return jd_fail(jd, "%s", "template output limit exceeded");
	switch (v->tv_type) {
	case TV_NONE:
		return buf_adds(jd->jd_b, "null");
	case TV_BOOL:
		return buf_adds(jd->jd_b, v->u.i ? "true" : "false");
	case TV_INT:
		return buf_add_int(jd->jd_b, v->u.i);
	case TV_FLOAT:
		jd_float(jd, v->u.f);
		return 0;
	case TV_STR:
		jd_string(jd, v->u.s.p, v->u.s.len);
		return 0;
	case TV_LIST:
	case TV_TUPLE:
		if (v->u.l.n == 0)
			return buf_adds(jd->jd_b, "[]");
		buf_addc(jd->jd_b, '[');
		for (i = 0; i < v->u.l.n; i++) {
			if (i)
				buf_adds(jd->jd_b, jd->jd_indent >= 0 ||
				    jd->jd_mode >= 2 ? "," : ", ");
			if (jd->jd_indent >= 0)
				jd_newline(jd, level + 1);
			if (jd_value(jd, v->u.l.v[i], level + 1) == -1)
				return -1;
		}
		if (jd->jd_indent >= 0)
			jd_newline(jd, level);
		return buf_addc(jd->jd_b, ']');
	case TV_DICT:
		return jd_dict(jd, v, level);
	case TV_SECRET:
		return jd_fail(jd, "%s", "a secret cannot be serialised in a "
		    "worker");
	default:
		return jd_fail(jd, "Object of type %s is not JSON serializable",
		    tval_typename(v));
	}
}

/*
 * mode 0 json_encode, 1 tojson, 2 compact (JWT payload), 3 compact sorted
 * (JWT header).
 */
int
json_dump(struct buf *b, const struct tval *v, int mode, int indent,
    char *err, size_t errlen)
{
	struct jdump	 jd;

	jd.jd_b = b;
	jd.jd_mode = mode;
	jd.jd_indent = indent;
	jd.jd_err = err;
	jd.jd_errlen = errlen;
	if (jd_value(&jd, v, 0) == -1)
		return -1;
	if (b->b_over) {
		snprintf(err, errlen, "template output limit exceeded");
		return -1;
	}
	if (b->b_p == NULL && buf_add(b, "", 0) == -1)
		return -1;
	return 0;
}

/* --- json-c ------------------------------------------------------------- */

/*
 * json-c to values: ints (int64) stay ints, doubles floats, object order
 * kept.
 */
static struct tval *
from_json_c(const struct json_object *j, int depth)
{
	struct tval	*v, *k;
	size_t		 i, n;

	if (depth > JSON_MAXDEPTH)
		return NULL;
	switch (json_object_get_type(j)) {
	case json_type_null:
		return tval_none();
	case json_type_boolean:
		return tval_bool(json_object_get_boolean(j));
	case json_type_double:
		return tval_float(json_object_get_double(j));
	case json_type_int:
		return tval_int(json_object_get_int64(j));
	case json_type_string:
		return tval_str(json_object_get_string((struct json_object *)j),
		    (size_t)json_object_get_string_len(j));
	case json_type_array:
		if ((v = tval_list()) == NULL)
			return NULL;
		n = json_object_array_length(j);
		for (i = 0; i < n; i++)
			if (tval_list_append(v, from_json_c(
			    json_object_array_get_idx(j, i), depth + 1)) == -1) {
				tval_unref(v);
				return NULL;
			}
		return v;
	case json_type_object:
		if ((v = tval_dict()) == NULL)
			return NULL;
		{
			struct json_object_iterator	 it, end;

			it = json_object_iter_begin((struct json_object *)j);
			end = json_object_iter_end(j);
			while (!json_object_iter_equal(&it, &end)) {
				const char	*name = json_object_iter_peek_name(&it);

				k = tval_str(name, strlen(name));
				if (tval_dict_put(v, k, from_json_c(
				    json_object_iter_peek_value(&it),
				    depth + 1)) == -1) {
					tval_unref(v);
					return NULL;
				}
				json_object_iter_next(&it);
			}
		}
		return v;
	}
	return NULL;
}

struct tval *
tval_from_json(const struct json_object *j)
{
	if (j == NULL)
		return tval_none();
	return from_json_c(j, 0);
}

/* json-c spells null as a NULL object */
static int
is_null(const struct tval *v)
{
	return v->tv_type == TV_NONE || v->tv_type == TV_UNDEF;
}

/* Values to json-c; tuples become arrays, Undefined null. */
static struct json_object *
to_json_c(const struct tval *v, int depth)
{
	struct json_object	*j, *c;
	size_t			 i;
	struct buf		 b;

	if (depth > JSON_MAXDEPTH)
		return NULL;
	switch (v->tv_type) {
	case TV_NONE:
	case TV_UNDEF:
		return json_object_new_null();
	case TV_BOOL:
		return json_object_new_boolean(v->u.i != 0);
	case TV_INT:
		return json_object_new_int64(v->u.i);
	case TV_FLOAT:
		return json_object_new_double(v->u.f);
	case TV_STR:
	case TV_BYTES:
		return json_object_new_string_len(v->u.s.p, (int)v->u.s.len);
	case TV_LIST:
	case TV_TUPLE:
		if ((j = json_object_new_array()) == NULL)
			return NULL;
		for (i = 0; i < v->u.l.n; i++)
			if (((c = to_json_c(v->u.l.v[i], depth + 1)) == NULL &&
			    !is_null(v->u.l.v[i])) ||
			    json_object_array_add(j, c) != 0) {
				json_object_put(c);
				json_object_put(j);
				return NULL;
			}
		return j;
	case TV_DICT:
	case TV_NS:
		if ((j = json_object_new_object()) == NULL)
			return NULL;
		for (i = 0; i < v->u.d.n; i++) {
			memset(&b, 0, sizeof(b));
			if (tval_str_into(&b, v->u.d.e[i].de_key) == -1 ||
			    ((c = to_json_c(v->u.d.e[i].de_val, depth + 1)) ==
			    NULL && !is_null(v->u.d.e[i].de_val))) {
				buf_free(&b);
				json_object_put(j);
				return NULL;
			}
			if (json_object_object_add(j, b.b_p ? b.b_p : "", c) !=
			    0) {
				json_object_put(c);
				buf_free(&b);
				json_object_put(j);
				return NULL;
			}
			buf_free(&b);
		}
		return j;
	default:
		return NULL;
	}
}

struct json_object *
tval_to_json(const struct tval *v)
{
	return to_json_c(v, 0);
}
