/*
 * json.c — JSON out of the value model, and json-c trees in and out.
 * json_encode is json.dumps with its defaults (", ", ": ", ensure_ascii,
 * insertion order) and tojson is Jinja2's (sorted keys, HTML-safe
 * escapes).  tval_from_json / tval_to_json convert json-c trees without
 * loss: ints stay ints, key order is kept.  from_json is json_parse.c.
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

/* --- Output ------------------------------------------------------------ */

#define JD_MEMO	8	/* keys of a dict whose sorted order is kept */

struct jdump {
	struct buf	*jd_b;
	int		 jd_mode;	/* 0 dumps, 1 tojson, 2 compact, 3 sorted compact */
	int		 jd_indent;
	char		*jd_err;
	size_t		 jd_errlen;
	/*
	 * The last small dict sorted: its keys and their order.  A list of
	 * dicts built by one dict literal or one JSON layout has the same
	 * keys (the same values) in the same order row after row.
	 */
	const struct tval *jd_mkeys[JD_MEMO];
	size_t		 jd_morder[JD_MEMO];
	size_t		 jd_mn;
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

#ifdef __SSE2__
/*
 * The bytes of v to escape as a bit mask: controls, quote, backslash,
 * >= 0x7f, and with mask & 2 the HTML ones.  Only the top bit of each
 * byte of m counts, so tests that pair bytes up can share a compare.
 */
static inline int
jd_special16(__m128i v, unsigned char mask)
{
	const __m128i	 v1 = _mm_set1_epi8(0x01), v2 = _mm_set1_epi8(0x02);
	const __m128i	 vs = _mm_set1_epi8(0x20), vb = _mm_set1_epi8('\\');
	const __m128i	 va = _mm_set1_epi8('\''), vg = _mm_set1_epi8('>');
	__m128i		 t = _mm_xor_si128(v, v2), m;

	/* xor 2 keeps a control below 0x20 and makes the quote 0x20 */
	m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(t, vs), t),
	    _mm_cmpeq_epi8(v, vb));
	/* v | v + 1 has its top bit set from 0x7f up */
	m = _mm_or_si128(m, _mm_or_si128(v, _mm_add_epi8(v, v1)));
	/* '&' | 1 and '\'' | 1 are '\''; '<' | 2 and '>' | 2 are '>' */
	if (mask & 2)
		m = _mm_or_si128(m, _mm_or_si128(
		    _mm_cmpeq_epi8(_mm_or_si128(v, v1), va),
		    _mm_cmpeq_epi8(_mm_or_si128(v, v2), vg)));
	return _mm_movemask_epi8(m);
}
#endif

/*
 * End of the run of bytes copied as they are, from pos.  Inline even
 * where GCC would rather call it: most strs it sees are a few words.
 */
static inline __attribute__((always_inline)) size_t
jd_plain(const char *s, size_t pos, size_t len, unsigned char mask)
{
#ifdef __SSE2__
	/* sixteen at a time */
	while (pos + 16 <= len) {
		int	 bits = jd_special16(_mm_loadu_si128((const __m128i *)
		    (s + pos)), mask);

		if (bits != 0)
			return pos + (size_t)__builtin_ctz((unsigned)bits);
		pos += 16;
	}
#endif
	/* the tail, and short strings: four bytes per step */
	while (pos + 4 <= len && ((jd_class[(unsigned char)s[pos]] |
	    jd_class[(unsigned char)s[pos + 1]] |
	    jd_class[(unsigned char)s[pos + 2]] |
	    jd_class[(unsigned char)s[pos + 3]]) & mask) == 0)
		pos += 4;
	while (pos < len && (jd_class[(unsigned char)s[pos]] & mask) == 0)
		pos++;
	return pos;
}

/*
 * Whether a str needs no escape in any mode.  One of 4 to 16 bytes (an
 * id, a word, a date) is judged in one vector, one of 17 to 32 in two:
 * overlapping loads see every byte, some twice, and none past its end.  Inline in both its
 * callers (json_dump's and the renderer's), as jd_plain is.
 */
static inline __attribute__((always_inline)) int
jd_plain_all(const char *s, size_t len)
{
#ifdef __SSE2__
	uint64_t	 w1, w2;
	uint32_t	 a, b;

	if (len < 4)
		return ((len > 0 ? jd_class[(unsigned char)s[0]] : 0) |
		    (len > 1 ? jd_class[(unsigned char)s[1]] : 0) |
		    (len > 2 ? jd_class[(unsigned char)s[2]] : 0)) == 0;
	if (len >= 8 && len <= 16) {
		memcpy(&w1, s, 8);
		memcpy(&w2, s + len - 8, 8);
		return jd_special16(_mm_set_epi64x((long long)w2,
		    (long long)w1), 3) == 0;
	}
	/* 17 to 32 (a name, a title): the first and the last sixteen. */
	if (len > 16 && len <= 32)
		return (jd_special16(_mm_loadu_si128((const __m128i *)s), 3) |
		    jd_special16(_mm_loadu_si128((const __m128i *)(s + len -
		    16)), 3)) == 0;
	if (len >= 4 && len < 8) {
		memcpy(&a, s, 4);
		memcpy(&b, s + len - 4, 4);
		w1 = a | (uint64_t)b << 32;
		return jd_special16(_mm_set_epi64x((long long)w1,
		    (long long)w1), 3) == 0;
	}
#endif
	return jd_plain(s, 0, len, 3) == len;
}

static void
jd_string(struct jdump *jd, const char *s, size_t len)
{
	struct buf	*b = jd->jd_b;
	size_t		 pos = 0, start;
	uint32_t	 cp;
	unsigned char	 mask = jd->jd_mode == 1 ? 3 : 1;
	char		*o;

	/* the usual string has nothing to escape: one copy between quotes */
	if ((pos = jd_plain(s, 0, len, mask)) == len &&
	    b->b_cap - b->b_len > len + 2 &&
	    (b->b_max == 0 || b->b_len + len + 2 <= b->b_max)) {
		o = b->b_p + b->b_len;
		o[0] = '"';
		memcpy(o + 1, s, len);
		o[len + 1] = '"';
		o[len + 2] = '\0';
		b->b_len += len + 2;
		return;
	}
	pos = 0;
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

/*
 * A str value or key whose bytes need no escape in any mode: '"', the
 * bytes and '"' onto b, when they fit in it and under max (0: no
 * bound); 0 when written, else -1 and b untouched.  Whether a str needs
 * an escape is a cache bit on the (otherwise immutable) value, as
 * tval_is_ascii keeps one: a dict's keys are the same values row after
 * row.  Inline in json_dump's walk and in json_str_plain, the
 * renderer's: a call here costs json_dump as much as it saves.
 */
static inline __attribute__((always_inline)) int
jd_str_plain(struct buf *b, const struct tval *v, size_t max)
{
	struct tval	*w = (struct tval *)v;
	size_t		 len = v->u.s.len;
	char		*o;

	if (!(v->tv_flags & TVF_JPLAIN_KNOWN))
		w->tv_flags |= TVF_JPLAIN_KNOWN |
		    (jd_plain_all(v->u.s.p, len) ? TVF_JPLAIN : 0);
	if ((v->tv_flags & TVF_JPLAIN) && b->b_cap - b->b_len > len + 2 &&
	    (max == 0 || b->b_len + len + 2 <= max)) {
		o = b->b_p + b->b_len;
		o[0] = '"';
		str_fill(o + 1, v->u.s.p, len);	/* short: no call */
		o[len + 1] = '"';
		o[len + 2] = '\0';
		b->b_len += len + 2;
		return 0;
	}
	return -1;
}

int
json_str_plain(struct buf *b, const struct tval *v, size_t max)
{
	return jd_str_plain(b, v, max);
}

static void
jd_strval(struct jdump *jd, const struct tval *v)
{
	if (jd_str_plain(jd->jd_b, v, jd->jd_b->b_max) == -1)
		jd_string(jd, v->u.s.p, v->u.s.len);
}

/* A separator, c or c and a blank: two bytes stored, not copied. */
static inline void
jd_sep(struct buf *b, char c, int blank)
{
	if (b->b_cap - b->b_len > 2 && (b->b_max == 0 ||
	    b->b_len + 2 <= b->b_max)) {
		b->b_p[b->b_len++] = c;
		if (blank)
			b->b_p[b->b_len++] = ' ';
		b->b_p[b->b_len] = '\0';
		return;
	}
	buf_addc(b, c);
	if (blank)
		buf_addc(b, ' ');
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

/* An int; a buffer at its limit says so, as jd_value's check would. */
static inline int
jd_int(struct jdump *jd, int64_t i)
{
	if (buf_add_int(jd->jd_b, i) == 0)
		return 0;
	return jd_fail(jd, "%s", jd->jd_b->b_over ?
	    "template output limit exceeded" : "out of memory");
}

/*
 * A member of a list or dict: strs and ints (most of a row) without the
 * recursive call, after jd_value's check of the output limit.
 */
static inline int
jd_member(struct jdump *jd, const struct tval *v, int level)
{
	if (jd->jd_b->b_over)
		return jd_fail(jd, "%s", "template output limit exceeded");
	if (v->tv_type == TV_STR) {
		jd_strval(jd, v);
		return 0;
	}
	if (v->tv_type == TV_INT)
		return jd_int(jd, v->u.i);
	return jd_value(jd, v, level);
}

/* A dict key as json.dumps spells it. */
static int
jd_key(struct jdump *jd, const struct tval *k)
{
	struct buf	 t;

	switch (k->tv_type) {
	case TV_STR:
		jd_strval(jd, k);
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
	size_t	 n;
	int	 c;

	if (a->tv_type == TV_STR && b->tv_type == TV_STR) {
		n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
		/* keys mostly differ in their first byte */
		if (n > 0 && a->u.s.p[0] != b->u.s.p[0]) {
			*lt = (unsigned char)a->u.s.p[0] <
			    (unsigned char)b->u.s.p[0];
			return 0;
		}
		c = memcmp(a->u.s.p, b->u.s.p, n);
		*lt = c < 0 || (c == 0 && a->u.s.len < b->u.s.len);
		return 0;
	}
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
	const struct tval	*k;
	struct buf		*b = jd->jd_b;
	size_t			 i, j, n = d->u.d.n, *order, local[16], len;
	int			 sorted = jd->jd_mode == 1 || jd->jd_mode == 3;
	int			 compact = jd->jd_mode >= 2, lt;
	char			*o;

	if (n == 0) {
		buf_adds(jd->jd_b, "{}");
		return 0;
	}
	order = local;
	if (n > sizeof(local) / sizeof(local[0]) &&
	    (order = calloc(n, sizeof(*order))) == NULL)
		return jd_fail(jd, "%s", "out of memory");
	for (i = 0; i < n; i++)
		order[i] = i;
	if (sorted && n == jd->jd_mn) {
		for (i = 0; i < n; i++)
			if (d->u.d.e[i].de_key != jd->jd_mkeys[i])
				break;
		if (i == n) {
			memcpy(order, jd->jd_morder, n * sizeof(*order));
			sorted = 0;
		}
	}
	if (sorted) {
		/* insertion sort: dicts in templates are small */
		for (i = 1; i < n; i++) {
			size_t	 ki = order[i];

			for (j = i; j > 0; j--) {
				if (key_less(d->u.d.e[ki].de_key,
				    d->u.d.e[order[j - 1]].de_key, &lt) == -1) {
					if (order != local)
						free(order);
					return jd_fail(jd, "'<' not supported "
					    "between instances of %s", "keys of "
					    "different types");
				}
				if (!lt)
					break;
				order[j] = order[j - 1];
			}
			order[j] = ki;
		}
		if (n <= JD_MEMO) {
			for (i = 0; i < n; i++)
				jd->jd_mkeys[i] = d->u.d.e[i].de_key;
			memcpy(jd->jd_morder, order, n * sizeof(*order));
			jd->jd_mn = n;
		}
	}
	buf_addc(jd->jd_b, '{');
	for (i = 0; i < n; i++) {
		const struct tdict_ent	*ent = &d->u.d.e[order[i]];

		if (i)
			jd_sep(jd->jd_b, ',', jd->jd_indent < 0 && !compact);
		if (jd->jd_indent >= 0)
			jd_newline(jd, level + 1);
		k = ent->de_key;
		len = k->tv_type == TV_STR ? k->u.s.len : 0;
		/* a key known to need no escape, its quotes and ": " at once */
		if (k->tv_type == TV_STR && (k->tv_flags & TVF_JPLAIN) &&
		    b->b_cap - b->b_len > len + 4 && (b->b_max == 0 ||
		    b->b_len + len + 4 <= b->b_max)) {
			o = b->b_p + b->b_len;
			o[0] = '"';
			str_fill(o + 1, k->u.s.p, len);
			o[len + 1] = '"';
			o[len + 2] = ':';
			o[len + 3] = ' ';
			b->b_len += len + (compact ? 3 : 4);
			b->b_p[b->b_len] = '\0';
		} else if (jd_key(jd, k) == -1 ||
		    (jd_sep(b, ':', !compact), 0)) {
			if (order != local)
				free(order);
			return -1;
		}
		if (jd_member(jd, ent->de_val, level + 1) == -1) {
			if (order != local)
				free(order);
			return -1;
		}
	}
	if (jd->jd_indent >= 0)
		jd_newline(jd, level);
	buf_addc(jd->jd_b, '}');
	if (order != local)
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
		return jd_int(jd, v->u.i);
	case TV_FLOAT:
		jd_float(jd, v->u.f);
		return 0;
	case TV_STR:
		jd_strval(jd, v);
		return 0;
	case TV_LIST:
	case TV_TUPLE:
		if (v->u.l.n == 0)
			return buf_adds(jd->jd_b, "[]");
		buf_addc(jd->jd_b, '[');
		for (i = 0; i < v->u.l.n; i++) {
			if (i)
				jd_sep(jd->jd_b, ',', jd->jd_indent < 0 &&
				    jd->jd_mode < 2);
			if (jd->jd_indent >= 0)
				jd_newline(jd, level + 1);
			if (jd_member(jd, v->u.l.v[i], level + 1) == -1)
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
	jd.jd_mn = 0;
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
