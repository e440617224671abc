/*
 * json_parse.c — from_json: Python's json.loads into the value model, in
 * one pass.  NaN and Infinity are accepted, a repeated key keeps its first
 * place and takes the last value, ints stay ints (beyond 64 bits they
 * round to a float), errors are spelled as Python spells them.
 *
 * Bodies are the renderer's largest input, so this is written for speed:
 * strings are scanned sixteen bytes at a time, children gather on one
 * stack and move into their container once its size is known, and object
 * keys are shared values — the template's own value when the template
 * uses that name (a lookup then compares one pointer), else one value per
 * document, found again through a small memo that needs no hashing.  An
 * object whose previous sibling was an object (the item before it in a
 * list, or the value its parent's sibling had for the same key) is built
 * in that sibling's shape: its index copied at '{', each key checked byte
 * for byte against the sibling's and its entry copied, each value stored
 * in its final place; a key that differs sends the object down the
 * general path.
 *
 * The document is a str's bytes, so a NUL follows its last byte: the
 * tests for an expected byte (a quote, a colon, a comma, a digit, white
 * space) need no test for the end first, as the NUL is none of them, and
 * only the paths taken when the expected byte is absent look at the end.
 */
#include "build.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "tmpl_int.h"

#define JSON_MAXDEPTH	500
#define JP_KEYS		128	/* distinct keys kept per document */
#define JP_MEMO		32	/* recent keys by their bytes */
#define JP_FRAMES	32	/* open containers before the heap is asked */
#define JP_PDEPTH	8	/* key predictions: object depths ... */
#define JP_PPOS		16	/* ... and key positions in an object */
#define JP_WASTE	2048	/* arena bytes a document may waste anyway */
#define JP_STACK	128	/* children on the C stack before the heap */

/* A key's bytes as two words: for up to 16 bytes they are the key. */
struct jmemo {
	uint64_t	 jm_w1;
	uint64_t	 jm_w2;
	size_t		 jm_len;
	struct tval	*jm_v;
};

struct jparse {
	const char		*jp_s;
	const char		*jp_p;		/* the next byte */
	const char		*jp_end;
	char			*jp_err;
	size_t			 jp_errlen;
	int			 jp_failed;
	const struct tmpl	*jp_t;		/* whose names keys may be */
	struct varena		*jp_va;		/* NULL: counted values */
	struct tval		**jp_stack;	/* children of open containers */
	size_t			 jp_nstack;
	size_t			 jp_cstack;
	size_t			 jp_nkeys;
	/*
	 * The last dict closed at each depth whose keys are distinct: an
	 * object with the same keys (the same values: keys are shared) in
	 * the same order takes its hashes and index without a search for
	 * repeated keys.  Arena parses only.
	 */
	struct tval		*jp_shape[JP_PDEPTH];
	/*
	 * Bytes of the arena given to dicts opened in the shape of their
	 * previous sibling that then took other keys: when they pass
	 * jp_wmax, no more dicts are opened that way.
	 */
	size_t			 jp_waste;
	size_t			 jp_wmax;
	/*
	 * The tables below are not zeroed when a parse starts: a small
	 * document touches a few of their 3 KB.  A key or memo slot holds
	 * something when its bit is set; a depth's predictions are zeroed
	 * when the first object opens at that depth.
	 */
	uint64_t		 jp_keyset[JP_KEYS / 64];
	uint32_t		 jp_memoset;
	uint32_t		 jp_predset;
	struct tval		*jp_keys[JP_KEYS];
	struct jmemo		 jp_memo[JP_MEMO];
	/*
	 * The key last found at each depth and position: the objects of a
	 * JSON array mostly share one key order, so the next object's key
	 * is checked against it byte for byte before anything else.  Arena
	 * parses only (an arena key lives as long as the parse), and only
	 * keys without escapes (their bytes are the raw ones).
	 */
	struct tval		*jp_pred[JP_PDEPTH][JP_PPOS];
	/* the first children: most documents need no malloc for them */
	struct tval		*jp_local[JP_STACK];
};

/*
 * Arena values as varena_val makes them, but for the parts a value of
 * the kind sets (a str's bytes, a number, a container's items), to be
 * copied whole: a few wide stores instead of one per field.
 */
#define JP_PROTO(type, flags) {						\
	.tv_type = (type),						\
	.tv_flags = TVF_IMMORTAL | TVF_ARENA | (flags),		\
	.tv_slab = SLAB_NONE,						\
	.tv_refs = 1							\
}
static const struct tval jp_strproto = JP_PROTO(TV_STR, 0);
static const struct tval jp_intproto = JP_PROTO(TV_INT, 0);
static const struct tval jp_fltproto = JP_PROTO(TV_FLOAT, 0);
static const struct tval jp_listproto = JP_PROTO(TV_LIST, TVF_INLINE);
static const struct tval jp_dictproto = JP_PROTO(TV_DICT, TVF_INLINE);

/*
 * The key of the entry after a parsed dict's last (beyond its cap): no
 * key is predicted to be it (jp_predicted sees it longer than any rest
 * of a document), so a shaped dict's keys need no count.
 */
static struct tval jp_endkey = {
	.tv_type = TV_STR,
	.tv_flags = TVF_IMMORTAL,
	.tv_slab = SLAB_NONE,
	.tv_refs = 1,
	.u.s = { .p = (char *)"", .len = SIZE_MAX }
};

/* A copy of proto in the arena, with extra bytes after it. */
static inline struct tval *
jp_val(struct varena *va, const struct tval *proto, size_t extra)
{
	struct tval	*v;

	if ((v = varena_alloc(va, sizeof(*v) + extra)) != NULL)
		memcpy(v, proto, sizeof(*v));
	return v;
}

/*
 * Values go into the arena when there is one: not counted, so the parser
 * takes no references (a key that is the template's name is borrowed)
 * and lets go of none.
 */
static inline struct tval *
jp_str(struct jparse *jp, const char *s, size_t n)
{
	struct tval	*v;
	char		*p;

	if (jp->jp_va == NULL)
		return tval_str(s, n);
	if (n > SIZE_MAX / 2 || (v = jp_val(jp->jp_va, &jp_strproto,
	    n + 1)) == NULL)
		return NULL;
	v->u.s.p = p = (char *)(v + 1);
	v->u.s.len = n;
	/*
	 * A short string inside the document (its NUL included): sixteen
	 * bytes in one copy, as the arena's block rounds up to sixteen.
	 */
	if (n < 16 && jp->jp_end + 1 - s >= 16) {
		memcpy(p, s, 16);
		p[n] = '\0';
	} else
		str_fill(p, s, n);
	return v;
}

static inline struct tval *
jp_float(struct jparse *jp, double d)
{
	struct tval	*v;

	if (jp->jp_va == NULL)
		return tval_float(d);
	if ((v = jp_val(jp->jp_va, &jp_fltproto, 0)) != NULL)
		v->u.f = d;
	return v;
}

static inline struct tval *
jp_int(struct jparse *jp, int64_t i)
{
	struct tval	*v;

	/* small ints are shared immortal values either way: no call */
	if (i >= SMALLINT_MIN && i <= SMALLINT_MAX)
		return &tval_smallints[i - SMALLINT_MIN];
	if (jp->jp_va == NULL)
		return tval_int(i);
	if ((v = jp_val(jp->jp_va, &jp_intproto, 0)) != NULL)
		v->u.i = i;
	return v;
}

static inline struct tval *
jp_ref(struct jparse *jp, struct tval *v)
{
	return jp->jp_va != NULL ? v : tval_ref(v);
}

static inline void
jp_unref(struct jparse *jp, struct tval *v)
{
	if (jp->jp_va == NULL)
		tval_unref(v);
}

/* Python's json error spelling: message: line L column C (char N). */
static void *
jp_fail(struct jparse *jp, const char *at, const char *msg)
{
	size_t		 line = 1, col = 1, chars = 0;
	const char	*q;

	if (jp->jp_failed++)
		return NULL;
	for (q = jp->jp_s; q < at && q < jp->jp_end; q++) {
		unsigned char	 c = (unsigned char)*q;

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

/* The first byte from p on that is '"', '\\' or below 0x20 (or end). */
static inline const char *
jp_scan(const char *p, const char *end)
{
#ifdef __SSE2__
	/* tested before the constants are loaded: most strings are short */
	if (end - p >= 16) {
		const __m128i	 vb = _mm_set1_epi8('\\');
		const __m128i	 v2 = _mm_set1_epi8(0x02);
		const __m128i	 vs = _mm_set1_epi8(0x20);

		do {
			__m128i		 v, t, m;
			unsigned	 bits;

			v = _mm_loadu_si128((const __m128i *)p);
			/*
			 * A byte xor 2 is at most 0x20 when it was a control
			 * (they stay below 0x20) or the quote (0x22 becomes
			 * 0x20): one unsigned test for both.
			 */
			t = _mm_xor_si128(v, v2);
			m = _mm_or_si128(_mm_cmpeq_epi8(v, vb),
			    _mm_cmpeq_epi8(_mm_min_epu8(t, vs), t));
			if ((bits = (unsigned)_mm_movemask_epi8(m)) != 0)
				return p + __builtin_ctz(bits);
			p += 16;
		} while (end - p >= 16);
	}
#endif
	/* the NUL after the document is special: it stops at the end */
	while (!jp_special[(unsigned char)*p])
		p++;
	return p;
}

/* An escaped string, decoded; p is at its opening quote. */
static int
jp_unescape(struct jparse *jp, struct buf *b)
{
	const char	*start = jp->jp_p, *p = start + 1, *run, *end = jp->jp_end;
	uint32_t	 cp, lo;
	char		 tmp[4], c;

	for (;;) {
		run = p;
		p = jp_scan(p, end);
		if (p > run && buf_add(b, run, (size_t)(p - run)) == -1)
			goto oom;
		if (p >= end || (p[0] == '\\' && p + 1 >= end)) {
			jp_fail(jp, start, "Unterminated string starting at");
			return -1;
		}
		if (*p == '"')
			break;
		if ((unsigned char)*p < 0x20) {
			jp_fail(jp, p, "Invalid control character at");
			return -1;
		}
		switch ((c = p[1])) {
		case '"':
		case '\\':
		case '/':
			buf_addc(b, c);
			break;
		case 'b':	buf_addc(b, '\b'); break;
		case 'f':	buf_addc(b, '\f'); break;
		case 'n':	buf_addc(b, '\n'); break;
		case 'r':	buf_addc(b, '\r'); break;
		case 't':	buf_addc(b, '\t'); break;
		case 'u':
			/* as json.loads: a byte must follow the four digits */
			if (end - p < 7 || jp_hex4(p + 2, &cp) == -1) {
				jp_fail(jp, p + 1, "Invalid \\uXXXX escape");
				return -1;
			}
			p += 4;
			/* a surrogate pair is one character; a lone one stays */
			if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 9 &&
			    p[2] == '\\' && p[3] == 'u' &&
			    jp_hex4(p + 4, &lo) == 0 && lo >= 0xdc00 &&
			    lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			buf_add(b, tmp, utf8_put(tmp, cp));
			break;
		default:
			jp_fail(jp, p, "Invalid \\escape");
			return -1;
		}
		p += 2;
	}
	if (b->b_over)
		goto oom;
	jp->jp_p = p + 1;
	return 0;
oom:
	jp_fail(jp, start, "out of memory");
	return -1;
}

static struct tval *
jp_string(struct jparse *jp)
{
	const char	*p = jp->jp_p + 1, *q;
	struct buf	 b;
	struct tval	*v;

	q = jp_scan(p, jp->jp_end);
	if (q < jp->jp_end && *q == '"') {
		if ((v = jp_str(jp, p, (size_t)(q - p))) == NULL)
			return jp_fail(jp, p, "out of memory");
		jp->jp_p = q + 1;
		return v;
	}
	memset(&b, 0, sizeof(b));
	if (jp_unescape(jp, &b) == -1) {
		buf_free(&b);
		return NULL;
	}
	if (jp->jp_va != NULL) {
		v = jp_str(jp, b.b_p != NULL ? b.b_p : "", b.b_len);
		buf_free(&b);
	} else
		v = tval_str_buf(&b);
	if (v == NULL)
		return jp_fail(jp, p, "out of memory");
	return v;
}

static inline uint64_t
jp_load64(const char *p)
{
	uint64_t	 w;

	memcpy(&w, p, sizeof(w));
	return w;
}

static inline uint64_t
jp_load32(const char *p)
{
	uint32_t	 w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * A key's first and last bytes as two words, loaded without reading past
 * it: up to 16 bytes long they hold the whole key.
 */
static inline void
jp_words(const char *k, size_t n, uint64_t *w1, uint64_t *w2)
{
	if (n >= 8) {
		*w1 = jp_load64(k);
		*w2 = jp_load64(k + n - 8);
	} else if (n >= 4) {
		*w1 = jp_load32(k) | jp_load32(k + n - 4) << 32;
		*w2 = 0;
	} else {
		*w1 = n == 0 ? 0 : (uint64_t)(unsigned char)k[0] |
		    (uint64_t)(unsigned char)k[n / 2] << 8 |
		    (uint64_t)(unsigned char)k[n - 1] << 16;
		*w2 = 0;
	}
}

/*
 * The shared value for a key: the template's own when it uses the name,
 * else this document's.  A new reference.
 */
static struct tval *
jp_intern(struct jparse *jp, const char *k, size_t n)
{
	struct tval	*v;
	uint64_t	 h = tmpl_hash(k, n);
	size_t		 j;

	if ((v = tmpl_name_find(jp->jp_t, k, n, h)) != NULL)
		return jp_ref(jp, v);
	for (j = h & (JP_KEYS - 1); jp->jp_keyset[j / 64] >> (j % 64) & 1;
	    j = (j + 1) & (JP_KEYS - 1)) {
		v = jp->jp_keys[j];
		if (v->u.s.h == h && v->u.s.len == n &&
		    memcmp(v->u.s.p, k, n) == 0)
			return jp_ref(jp, v);
	}
	if ((v = jp_str(jp, k, n)) == NULL)
		return NULL;
	v->u.s.h = h;
	/* three quarters full: later keys are not shared */
	if (jp->jp_nkeys < JP_KEYS / 4 * 3) {
		jp->jp_keys[j] = jp_ref(jp, v);
		jp->jp_keyset[j / 64] |= (uint64_t)1 << (j % 64);
		jp->jp_nkeys++;
	}
	return v;
}

/* An object key; the memo answers the keys seen just before. */
static struct tval *
jp_key(struct jparse *jp)
{
	const char	*k = jp->jp_p + 1, *q;
	struct jmemo	*m;
	struct tval	*v;
	struct buf	 b;
	uint64_t	 w1, w2;
	size_t		 n;
	unsigned	 slot;

	q = jp_scan(k, jp->jp_end);
	if (q >= jp->jp_end || *q != '"') {
		memset(&b, 0, sizeof(b));
		if (jp_unescape(jp, &b) == -1) {
			buf_free(&b);
			return NULL;
		}
		v = jp_intern(jp, b.b_p != NULL ? b.b_p : "", b.b_len);
		buf_free(&b);
		return v != NULL ? v : jp_fail(jp, k, "out of memory");
	}
	jp->jp_p = q + 1;
	n = (size_t)(q - k);
	jp_words(k, n, &w1, &w2);
	slot = (unsigned)(((w1 ^ (w2 * 0x9e3779b97f4a7c15ULL) ^ n) *
	    0xbf58476d1ce4e5b9ULL) >> 59);
	m = &jp->jp_memo[slot];
	if (jp->jp_memoset >> slot & 1) {
		if (m->jm_len == n && m->jm_w1 == w1 && m->jm_w2 == w2 &&
		    (n <= 16 || memcmp(m->jm_v->u.s.p, k, n) == 0))
			return jp_ref(jp, m->jm_v);
	}
	if ((v = jp_intern(jp, k, n)) == NULL)
		return jp_fail(jp, k, "out of memory");
	if (jp->jp_memoset >> slot & 1)
		jp_unref(jp, m->jm_v);
	jp->jp_memoset |= 1U << slot;
	m->jm_v = jp_ref(jp, v);
	m->jm_w1 = w1;
	m->jm_w2 = w2;
	m->jm_len = n;
	return v;
}

/*
 * Whether the raw key at k (after its opening quote) is the predicted
 * key: the same bytes, then the closing quote.  The predicted key has
 * no backslash, so neither have these bytes, and the quote is real.
 */
static inline int
jp_predicted(const struct tval *pk, const char *k, const char *end)
{
	size_t		 n = pk->u.s.len;
	const char	*s = pk->u.s.p;

	if ((size_t)(end - k) <= n || k[n] != '"')
		return 0;
	/* "name", "price", "email": the most common lengths first */
	if (n >= 4 && n < 8)
		return jp_load32(k) == jp_load32(s) &&
		    jp_load32(k + n - 4) == jp_load32(s + n - 4);
	if (n >= 8 && n <= 16)
		return jp_load64(k) == jp_load64(s) &&
		    jp_load64(k + n - 8) == jp_load64(s + n - 8);
	if (n > 16)
		return memcmp(k, s, n) == 0;
	/* "id" and the like: no call */
	return n == 0 || (k[0] == s[0] && k[n / 2] == s[n / 2] &&
	    k[n - 1] == s[n - 1]);
}

/* The key predictions at depth, zeroed the first time they are asked. */
static inline struct tval **
jp_preds(struct jparse *jp, int depth)
{
	if (!(jp->jp_predset >> depth & 1)) {
		memset(jp->jp_pred[depth], 0, sizeof(jp->jp_pred[depth]));
		jp->jp_predset |= 1U << depth;
	}
	return jp->jp_pred[depth];
}

/* Whether the eight bytes of w (little-endian) are all ASCII digits. */
static inline int
jp_digits8(uint64_t w)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	return 0;	/* jp_value8 reads the first byte as the lowest */
#endif
	return (w & 0xf0f0f0f0f0f0f0f0ULL) == 0x3030303030303030ULL &&
	    ((w + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) ==
	    0x3030303030303030ULL;
}

/* Their value, first byte most significant: pairs, quads, then all. */
static inline uint64_t
jp_value8(uint64_t w)
{
	w -= 0x3030303030303030ULL;
	w = w * 10 + (w >> 8);
	w = ((w & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32)) +
	    ((w >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32))) >> 32;
	return w;
}

/* the powers of ten that are exact doubles */
static const double jp_p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
    1e20, 1e21, 1e22 };

/* 10^0 .. 10^19, the powers of ten that fit in a uint64_t */
static const uint64_t jp_u10[] = { 1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL,
    100000ULL, 1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
    10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL,
    10000000000000000000ULL };

/*
 * q * 2^e2 to the nearest double (ties to even), where q has its top bit
 * set and sticky says whether bits below q were lost.  The result is a
 * normal double: the callers' values are between 1e-20 and 1e39.
 */
static double
jp_round(uint64_t q, int sticky, int e2)
{
	uint64_t	 m = q >> 11, low = q & 0x7ff, bits;
	double		 scale;

	if (low > 0x400 || (low == 0x400 && (sticky || (m & 1))))
		m++;
	e2 += 11;
	if (m == (uint64_t)1 << 53) {
		m >>= 1;
		e2++;
	}
	/* m is exact as a double; times a power of two it stays exact */
	bits = (uint64_t)(1023 + e2) << 52;
	memcpy(&scale, &bits, sizeof(scale));
	return (double)m * scale;
}

/*
 * mant * 10^e10 correctly rounded, as strtod gives it, when that is
 * cheap: Clinger's fast path (mant and 10^|e10| both exact doubles: one
 * operation rounds once), else for |e10| <= 19 the exact product or a
 * quotient of 64 bits and the remainder's sign, in 128-bit integers,
 * rounded once.  0: strtod must answer.
 */
static int
jp_exact(uint64_t mant, int e10, double *d)
{
	unsigned __int128	 n, qq;
	uint64_t		 dv;
	int			 s, sticky, bl;

	if (mant <= (uint64_t)1 << 53 && e10 >= -22 && e10 <= 22) {
		*d = (double)mant;
		*d = e10 < 0 ? *d / jp_p10[-e10] : *d * jp_p10[e10];
		return 1;
	}
	if (mant == 0 || e10 < -19 || e10 > 19)
		return 0;
	if (e10 < 0) {
		/* a quotient of 64 or 65 bits: the divisor is no power of 2 */
		dv = jp_u10[-e10];
		s = 64 + (64 - __builtin_clzll(dv)) -
		    (64 - __builtin_clzll(mant));
		n = (unsigned __int128)mant << s;
		qq = n / dv;
		sticky = qq * dv != n;
		if (qq >> 64) {
			sticky |= (int)(qq & 1);
			qq >>= 1;
			s--;
		}
		*d = jp_round((uint64_t)qq, sticky, -s);
		return 1;
	}
	/* below 2^128: 10^19 < 2^64 and mant < 2^64 */
	n = (unsigned __int128)mant * jp_u10[e10];
	if ((uint64_t)(n >> 64) == 0) {
		/* a uint64_t converts to the nearest double */
		*d = (double)(uint64_t)n;
		return 1;
	}
	bl = 128 - __builtin_clzll((uint64_t)(n >> 64));
	sticky = (n & (((unsigned __int128)1 << (bl - 64)) - 1)) != 0;
	*d = jp_round((uint64_t)(n >> (bl - 64)), sticky, bl - 64);
	return 1;
}

/* Ints stay ints; floats are read exactly here when cheap, or strtod. */
static struct tval *
jp_number(struct jparse *jp)
{
	const char	*start = jp->jp_p, *p = start, *end = jp->jp_end;
	const char	*dot = NULL, *exp = NULL;
	char		 tmp[400], *endp;
	int64_t		 iv = 0;
	int		 neg = 0, nd = 0, e10, x;

	if (*p == '-') {
		neg = 1;
		if (++p < end && *p == 'I') {
			if (end - p >= 8 && memcmp(p, "Infinity", 8) == 0) {
				jp->jp_p = p + 8;
				return jp_float(jp, -INFINITY);
			}
		}
	}
	if (p >= end || *p < '0' || *p > '9')
		return jp_fail(jp, start, "Expecting value");
	if (*p == '0')
		p++;
	else {
		/* eight digits at a time while they fit in 18 */
		while (end - p >= 8 && nd <= 10 && jp_digits8(jp_load64(p))) {
			iv = iv * 100000000 + (int64_t)jp_value8(jp_load64(p));
			p += 8;
			nd += 8;
		}
		for (; *p >= '0' && *p <= '9'; p++, nd++)
			if (nd < 18)
				iv = iv * 10 + (*p - '0');
	}
	if (end - p >= 2 && *p == '.' && p[1] >= '0' && p[1] <= '9') {
		dot = p++;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		const char	*q = p + 1;

		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q < end && *q >= '0' && *q <= '9') {
			exp = p;
			for (p = q; p < end && *p >= '0' && *p <= '9'; p++)
				;
		}
	}
	jp->jp_p = p;
	if (dot == NULL && exp == NULL && nd <= 18)
		return jp_int(jp, neg ? -iv : iv);
	if (p - start >= (ptrdiff_t)sizeof(tmp))
		return jp_fail(jp, start, "number too long");
	if (dot != NULL || exp != NULL) {
		/*
		 * Up to 19 significant digits are an exact uint64_t: with a
		 * power of ten of up to 19 they make an exact fraction or
		 * product, rounded once (jp_exact); strtod takes the rest.
		 */
		const char	*q, *mend = exp != NULL ? exp : p;
		uint64_t	 mant = 0;
		int		 digits = 0;
		double		 d;

		for (q = start + neg; q < mend; q++)
			if (*q != '.' && digits++ < 19)
				mant = mant * 10 + (uint64_t)(*q - '0');
		e10 = dot != NULL ? -(int)(mend - dot - 1) : 0;
		if (exp != NULL) {
			q = exp + 1;
			x = 0;
			if (*q == '-' || *q == '+')
				q++;
			for (; q < p && x < 1000; q++)
				x = x * 10 + (*q - '0');
			e10 += exp[1] == '-' ? -x : x;
		}
		if (digits <= 19 && jp_exact(mant, e10, &d))
			return jp_float(jp, neg ? -d : d);
	}
	memcpy(tmp, start, (size_t)(p - start));
	tmp[p - start] = '\0';
	if (dot == NULL && exp == NULL) {
		errno = 0;
		iv = strtoll(tmp, &endp, 10);
		if (errno != ERANGE)
			return jp_int(jp, iv);
		/* beyond 64 bits: Python keeps an exact int; we round */
	}
	return jp_float(jp, strtod(tmp, NULL));
}

/* Room for one more child on the stack. */
static int
jp_grow(struct jparse *jp)
{
	struct tval	**ns;
	size_t		  c;

	c = jp->jp_cstack * 2;
	if (jp->jp_stack == jp->jp_local) {
		if ((ns = reallocarray(NULL, c, sizeof(*ns))) == NULL)
			return -1;
		memcpy(ns, jp->jp_local, sizeof(jp->jp_local));
	} else if ((ns = reallocarray(jp->jp_stack, c, sizeof(*ns))) == NULL)
		return -1;
	jp->jp_stack = ns;
	jp->jp_cstack = c;
	return 0;
}

static void
jp_unwind(struct jparse *jp, size_t base)
{
	while (jp->jp_nstack > base)
		jp_unref(jp, jp->jp_stack[--jp->jp_nstack]);
}

static const unsigned char jp_space[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1
};

/* Skip white space; JSON from an API mostly has one blank or none. */
#define JP_WS(p)							\
	do {								\
		while (jp_space[(unsigned char)*(p)])			\
			(p)++;						\
	} while (0)

/*
 * A list or dict with its n items inside its block, whatever n is; a
 * dict of more than DICT_LINEAR entries gets its index here too, sized
 * so that it never grows (jp_dict_fill maintains it), and one entry more
 * than its cap, keyed jp_endkey.
 */
static inline struct tval *
jp_container(struct varena *va, int type, size_t n, int zero)
{
	struct tval	*v;
	size_t		 elem = type == TV_DICT ? sizeof(struct tdict_ent) :
	    sizeof(struct tval *), ic = 32;

	if (n > SIZE_MAX / 4 / elem || (v = jp_val(va, type == TV_DICT ?
	    &jp_dictproto : &jp_listproto, (n + (type == TV_DICT)) * elem)) ==
	    NULL)
		return NULL;
	if (type != TV_DICT) {
		v->u.l.v = (struct tval **)(v + 1);
		v->u.l.cap = n;
		return v;
	}
	v->u.d.e = (struct tdict_ent *)(v + 1);
	v->u.d.cap = n;
	v->u.d.e[n].de_key = &jp_endkey;
	if (n > DICT_LINEAR) {
		while (ic < 2 * n)
			ic *= 2;
		if ((v->u.d.idx = varena_alloc(va, ic * sizeof(uint32_t))) ==
		    NULL)
			return NULL;
		if (zero)
			memset(v->u.d.idx, 0, ic * sizeof(uint32_t));
		v->u.d.idxcap = ic;
	}
	return v;
}

/*
 * As tval_dict_fill, without counting: a repeated key keeps its first
 * place and takes the last value, as json.loads does.  A dict that ends
 * up with DICT_LINEAR entries or fewer is scanned, not indexed.
 */
static void
jp_dict_fill(struct tval *d, struct tval **kv, size_t n)
{
	struct tdict_ent	*e = d->u.d.e;
	struct tval		*k;
	size_t			 i, j, m = 0, mask = d->u.d.idxcap - 1;
	uint64_t		 h, seen = 0;
	uint32_t		*idx = d->u.d.idx;

	for (i = 0; i < n; i++) {
		k = kv[2 * i];
		h = k->tv_type == TV_STR && k->u.s.h != 0 ? k->u.s.h :
		    tval_hash(k);
		if (idx == NULL) {
			j = m;
			if (seen & (1ULL << (h & 63)))
				for (j = 0; j < m; j++)
					if (e[j].de_hash == h &&
					    (e[j].de_key == k ||
					    tval_eq(e[j].de_key, k)))
						break;
			seen |= 1ULL << (h & 63);
		} else {
			size_t	 x;

			for (x = h & mask, j = m; idx[x] != 0;
			    x = (x + 1) & mask) {
				j = idx[x] - 1;
				if (e[j].de_hash == h && (e[j].de_key == k ||
				    tval_eq(e[j].de_key, k)))
					break;
				j = m;
			}
			if (j == m)
				idx[x] = (uint32_t)(m + 1);
		}
		if (j < m) {
			e[j].de_val = kv[2 * i + 1];
			continue;
		}
		e[m].de_key = k;
		e[m].de_val = kv[2 * i + 1];
		e[m].de_hash = h;
		m++;
	}
	d->u.d.n = m;
	if (idx != NULL && m <= DICT_LINEAR) {
		d->u.d.idx = NULL;
		d->u.d.idxcap = 0;
	}
}

/*
 * Fill d from kv when its n keys are shape's, in shape's order: shape's
 * keys are distinct, so these are, and shape's hashes and index (of the
 * same size: n decides it) are theirs.  0 when the keys differ.
 */
static int
jp_dict_shaped(struct tval *d, const struct tval *shape, struct tval **kv,
    size_t n)
{
	const struct tdict_ent	*se = shape->u.d.e;
	struct tdict_ent	*e = d->u.d.e;
	size_t			 i;

	if (shape->u.d.n != n)
		return 0;
	for (i = 0; i < n; i++) {
		if (kv[2 * i] != se[i].de_key)
			return 0;
		e[i].de_key = kv[2 * i];
		e[i].de_val = kv[2 * i + 1];
		e[i].de_hash = se[i].de_hash;
	}
	d->u.d.n = n;
	if (shape->u.d.idx != NULL)
		memcpy(d->u.d.idx, shape->u.d.idx,
		    d->u.d.idxcap * sizeof(*d->u.d.idx));
	return 1;
}

/*
 * The children of the innermost open container, at depth, as it closes;
 * raw: an object's keys were all read without an escape.
 */
static struct tval *
jp_close(struct jparse *jp, int obj, size_t base, int depth, int raw)
{
	struct tval	*c, **shape;
	size_t		 n = jp->jp_nstack - base, i;

	if (jp->jp_va != NULL) {
		if ((c = jp_container(jp->jp_va, obj ? TV_DICT : TV_LIST,
		    obj ? n / 2 : n, 1)) == NULL)
			return NULL;
		if (obj) {
			shape = depth < JP_PDEPTH && n > 0 ?
			    &jp->jp_shape[depth] : NULL;
			if (shape == NULL || *shape == NULL ||
			    !jp_dict_shaped(c, *shape, jp->jp_stack + base,
			    n / 2)) {
				jp_dict_fill(c, jp->jp_stack + base, n / 2);
				if (shape != NULL && c->u.d.n == n / 2)
					*shape = c;
			}
			/* its next sibling may be opened in its shape */
			if (raw && c->u.d.n == n / 2 && n > 0)
				c->tv_flags |= TVF_JSHAPE;
		} else {
			/* most lists are short: tags, ids; no call for them */
			if (n <= 4)
				for (i = 0; i < n; i++)
					c->u.l.v[i] = jp->jp_stack[base + i];
			else
				memcpy(c->u.l.v, jp->jp_stack + base,
				    n * sizeof(*c->u.l.v));
			c->u.l.n = n;
		}
		jp->jp_nstack = base;
		return c;
	}
	if (obj) {
		/* a repeated key: the last value wins, at the first place */
		if ((c = tval_container(TV_DICT, n / 2)) == NULL) {
			jp_unwind(jp, base);
			return NULL;
		}
		jp->jp_nstack = base;
		if (tval_dict_fill(c, jp->jp_stack + base, n / 2) == -1) {
			tval_unref(c);
			return NULL;
		}
		return c;
	}
	if ((c = tval_container(TV_LIST, n)) == NULL) {
		jp_unwind(jp, base);
		return NULL;
	}
	/* JSON holds no namespaces: no TVF_NSIN to propagate */
	if (n > 0)
		memcpy(c->u.l.v, jp->jp_stack + base, n * sizeof(*c->u.l.v));
	c->u.l.n = n;
	jp->jp_nstack = base;
	return c;
}

/*
 * A dict opened in the shape of its previous sibling (a dict of this
 * parse with TVF_JSHAPE: distinct keys, each readable raw, and no
 * duplicate dropped), before its keys are read: the sibling's index is
 * copied whole, and as each key is found to be the sibling's, the
 * sibling's entry for it is copied with the new value.  No stack, no
 * search for repeated keys, no hashing.
 */
static struct tval *
jp_shaped_open(struct jparse *jp, const struct tval *shape)
{
	struct tval	*d;
	size_t		 n = shape->u.d.n;

	if ((d = jp_container(jp->jp_va, TV_DICT, n, 0)) == NULL)
		return NULL;
	if (d->u.d.idx != NULL)
		memcpy(d->u.d.idx, shape->u.d.idx,
		    d->u.d.idxcap * sizeof(*d->u.d.idx));
	d->u.d.n = n;
	d->tv_flags |= TVF_JSHAPE;
	return d;
}

/*
 * A shaped dict that closed after its first n keys: those keys are
 * distinct, so it is a dict of them with the index rebuilt.  It is no
 * shape for others (its index is sized for more).
 */
static void
jp_shaped_short(struct jparse *jp, struct tval *d, size_t n)
{
	uint32_t	*idx = d->u.d.idx;
	size_t		 i, x, mask = d->u.d.idxcap - 1;

	jp->jp_waste += (d->u.d.cap - n) * sizeof(*d->u.d.e);
	d->u.d.n = n;
	d->tv_flags &= ~TVF_JSHAPE;
	if (idx == NULL)
		return;
	if (n <= DICT_LINEAR) {
		jp->jp_waste += d->u.d.idxcap * sizeof(*idx);
		d->u.d.idx = NULL;
		d->u.d.idxcap = 0;
		return;
	}
	memset(idx, 0, d->u.d.idxcap * sizeof(*idx));
	for (i = 0; i < n; i++) {
		for (x = d->u.d.e[i].de_hash & mask; idx[x] != 0;
		    x = (x + 1) & mask)
			;
		idx[x] = (uint32_t)(i + 1);
	}
}

/* A literal or a number at p; NULL (and *p unchanged) when it is not. */
static struct tval *
jp_scalar(struct jparse *jp, const char **pp)
{
	const char	*p = *pp, *end = jp->jp_end;
	struct tval	*v = NULL;

	switch (*p) {
	case 'n':
		if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			*pp = p + 4;
			return tval_none();
		}
		break;
	case 't':
		if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
			*pp = p + 4;
			return tval_bool(1);
		}
		break;
	case 'f':
		if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
			*pp = p + 5;
			return tval_bool(0);
		}
		break;
	case 'N':
		if (end - p >= 3 && memcmp(p, "NaN", 3) == 0) {
			*pp = p + 3;
			if ((v = jp_float(jp, NAN)) == NULL)
				return jp_fail(jp, p, "out of memory");
			return v;
		}
		break;
	case 'I':
		if (end - p >= 8 && memcmp(p, "Infinity", 8) == 0) {
			*pp = p + 8;
			if ((v = jp_float(jp, INFINITY)) == NULL)
				return jp_fail(jp, p, "out of memory");
			return v;
		}
		break;
	default:
		if (*p == '-' || (*p >= '0' && *p <= '9')) {
			jp->jp_p = p;
			if ((v = jp_number(jp)) == NULL)
				return jp->jp_failed ? NULL :
				    jp_fail(jp, p, "out of memory");
			*pp = jp->jp_p;
			return v;
		}
		break;
	}
	return jp_fail(jp, p, "Expecting value");
}

/*
 * One pass over the document without recursion: a value goes onto the
 * stack of its container's children; the byte after it says whether the
 * container goes on or closes.  frames[] remembers each open container's
 * kind and where its children start.  The stack's top and the kind of
 * the innermost container live in locals: this loop is the parser.
 */
static struct tval *
jp_document(struct jparse *jp)
{
	struct jframe {
		size_t		 jf_base;
		struct tval	**jf_pk;	/* the next key's prediction */
		int		 jf_npk;	/* predictions left */
		int		 jf_obj;
		int		 jf_raw;	/* no key had an escape */
		struct tval	*jf_dict;	/* a shaped dict (or NULL) */
		struct tdict_ent *jf_de;	/* while a child is open: de */
		const struct tdict_ent *jf_se;	/* ... and se */
	}		 local[JP_FRAMES], *frames = local, *nf, *f;
	struct tval	*v = NULL, **sp, **slim, **pk, *sh;
	/* a shaped dict's next entry, and its shape's (jp_endkey: none) */
	struct tdict_ent *de = NULL;
	const struct tdict_ent *se = NULL;
	const char	*p, *end = jp->jp_end, *q;
	size_t		 i, n;
	int		 depth = 0, obj = 0;

#define JP_SYNC()	(jp->jp_nstack = (size_t)(sp - jp->jp_stack))
#define JP_LOAD()	do {						\
	sp = jp->jp_stack + jp->jp_nstack;				\
	slim = jp->jp_stack + jp->jp_cstack;				\
} while (0)
#define JP_PUSH(x)	do {						\
	if (sp == slim) {						\
		JP_SYNC();						\
		if (jp_grow(jp) == -1) {				\
			jp_unref(jp, x);				\
			jp_fail(jp, p, "out of memory");		\
			goto fail;					\
		}							\
		JP_LOAD();						\
	}								\
	*sp++ = (x);							\
} while (0)

	JP_LOAD();
	p = jp->jp_p;
value:
	/* at the end, the NUL is no value: jp_scalar says so */
	if (*p != '"')
		JP_WS(p);
	if (*p == '"') {
		q = jp_scan(p + 1, end);
		if (*q == '"') {
			if ((v = jp_str(jp, p + 1, (size_t)(q - p - 1))) ==
			    NULL) {
				jp_fail(jp, p, "out of memory");
				goto fail;
			}
			p = q + 1;
			goto have;
		}
		jp->jp_p = p;
		if ((v = jp_string(jp)) == NULL)
			goto fail;
		p = jp->jp_p;
		goto have;
	}
	if (*p == '{' || *p == '[') {
		if (depth >= JSON_MAXDEPTH) {
			jp_fail(jp, p, "maximum recursion depth exceeded");
			goto fail;
		}
		/* deeper than most documents go: all the frames, once */
		if (depth == JP_FRAMES && frames == local) {
			if ((nf = malloc((JSON_MAXDEPTH + 1) *
			    sizeof(*nf))) == NULL) {
				jp_fail(jp, p, "out of memory");
				goto fail;
			}
			memcpy(nf, local, sizeof(local));
			frames = nf;
		}
		/*
		 * An object's previous sibling: in a shaped dict, the value
		 * its shape had for this key; in a list, the item before.
		 */
		sh = NULL;
		if (*p == '{' && jp->jp_waste <= jp->jp_wmax) {
			if (de != NULL)
				sh = se->de_val;
			else if (!obj && depth > 0 && sp >
			    jp->jp_stack + frames[depth - 1].jf_base)
				sh = sp[-1];
			if (sh != NULL && (sh->tv_type != TV_DICT ||
			    !(sh->tv_flags & TVF_JSHAPE)))
				sh = NULL;
		}
		if (depth > 0) {
			frames[depth - 1].jf_de = de;
			frames[depth - 1].jf_se = se;
		}
		obj = *p == '{';
		f = &frames[depth];
		f->jf_base = (size_t)(sp - jp->jp_stack);
		f->jf_obj = obj;
		f->jf_npk = 0;
		f->jf_raw = 1;
		f->jf_dict = NULL;
		de = NULL;
		if (sh != NULL) {
			if ((f->jf_dict = jp_shaped_open(jp, sh)) == NULL) {
				jp_fail(jp, p, "out of memory");
				goto fail;
			}
			de = f->jf_dict->u.d.e;
			se = sh->u.d.e;
		} else if (obj && jp->jp_va != NULL && depth < JP_PDEPTH) {
			f->jf_pk = jp_preds(jp, depth);
			f->jf_npk = JP_PPOS;
		}
		depth++;
		p++;
		JP_WS(p);
		if (*p == (obj ? '}' : ']')) {
			p++;
			goto close;
		}
		if (obj)
			goto key;
		goto value;
	}
	/*
	 * A positive int of up to 17 digits (scores, counts, timestamps) or
	 * a positive decimal of up to 15 digits without an exponent (prices)
	 * is read here, a digit at a time (most are a few digits long: a
	 * word at a time cost more); anything else that is a number goes
	 * to jp_number from its start.
	 */
	if ((unsigned)(*p - '0') < 10) {
		/* past 17 digits u wraps, harmlessly: jp_number reads them */
		uint64_t	 u = (uint64_t)(*p - '0');
		const char	*d = p + 1;

		if (*p == '0') {
			if ((unsigned)(*d - '0') < 10)
				goto scalar;	/* "01": jp_number's error */
		} else
			for (; (unsigned)(*d - '0') < 10; d++)
				u = u * 10 + (uint64_t)(*d - '0');
		if (*d == '.' && (unsigned)(d[1] - '0') < 10) {
			/*
			 * Up to 15 digits and a power of ten up to 22 are
			 * exact doubles: one division rounds correctly.
			 */
			for (q = d + 1; (unsigned)(*q - '0') < 10; q++)
				u = u * 10 + (uint64_t)(*q - '0');
			if (q - p > 16 || *q == 'e' || *q == 'E')
				goto scalar;
			if ((v = jp_float(jp, (double)(int64_t)u /
			    jp_p10[q - d - 1])) == NULL) {
				jp_fail(jp, p, "out of memory");
				goto fail;
			}
			p = q;
			goto have;
		}
		if (d - p <= 17 && *d != 'e' && *d != 'E') {
			if ((v = jp_int(jp, (int64_t)u)) == NULL) {
				jp_fail(jp, p, "out of memory");
				goto fail;
			}
			p = d;
			goto have;
		}
	}
scalar:
	if ((v = jp_scalar(jp, &p)) == NULL)
		goto fail;
	goto have;
key:
	if (*p != '"') {
		JP_WS(p);
		if (*p != '"') {
			jp_fail(jp, p, "Expecting property name enclosed in "
			    "double quotes");
			goto fail;
		}
	}
	if (de != NULL) {
		if (jp_predicted(se->de_key, p + 1, end)) {
			de->de_key = se->de_key;
			de->de_hash = se->de_hash;
			p += se->de_key->u.s.len + 2;
			goto colon;
		}
		f = &frames[depth - 1];
		/*
		 * Another key than the shape's: the entries so far go onto
		 * the stack and the object goes on as any other.
		 */
		sh = f->jf_dict;
		n = (size_t)(de - sh->u.d.e);
		jp->jp_waste += sh->u.d.cap * sizeof(*de) +
		    sh->u.d.idxcap * sizeof(*sh->u.d.idx);
		f->jf_dict = NULL;
		de = NULL;
		for (i = 0; i < n; i++) {
			JP_PUSH(sh->u.d.e[i].de_key);
			JP_PUSH(sh->u.d.e[i].de_val);
		}
		if (depth - 1 < JP_PDEPTH && n < JP_PPOS) {
			f->jf_pk = jp_preds(jp, depth - 1) + n;
			f->jf_npk = JP_PPOS - (int)n;
		}
	}
	pk = NULL;
	f = &frames[depth - 1];
	if (f->jf_npk > 0) {
		f->jf_npk--;
		pk = f->jf_pk++;
		if (*pk != NULL && jp_predicted(*pk, p + 1, end)) {
			v = *pk;
			p += v->u.s.len + 2;
			goto keyed;
		}
	}
	jp->jp_p = p;
	if ((v = jp_key(jp)) == NULL)
		goto fail;
	/* no escapes: the raw bytes are the key's */
	if (v->tv_type != TV_STR || (size_t)(jp->jp_p - p) != v->u.s.len + 2)
		f->jf_raw = 0;
	else if (pk != NULL)
		*pk = v;
	p = jp->jp_p;
keyed:
	JP_PUSH(v);
colon:
	/* JSON from an API has ": " or ":" (p[0] is no NUL: p[1] exists) */
	if (p[0] == ':' && p[1] == ' ') {
		p += 2;
		goto value;
	}
	if (*p == ':')
		p++;
	else {
		JP_WS(p);
		if (*p != ':') {
			jp_fail(jp, p, "Expecting ':' delimiter");
			goto fail;
		}
		p++;
	}
	if (*p == ' ')
		p++;
	goto value;
close:
	depth--;
	f = &frames[depth];
	if (de != NULL) {
		v = f->jf_dict;
		if (se->de_key != &jp_endkey)
			jp_shaped_short(jp, v, (size_t)(de - v->u.d.e));
	} else {
		JP_SYNC();
		v = jp_close(jp, f->jf_obj, f->jf_base, depth, f->jf_raw);
		JP_LOAD();
		if (v == NULL) {
			jp_fail(jp, p, "out of memory");
			goto fail;
		}
	}
	if (depth == 0)
		goto out;
	f = &frames[depth - 1];
	obj = f->jf_obj;
	de = f->jf_de;
	se = f->jf_se;
have:
	/* a shaped dict's value first: there depth > 0 */
	if (de != NULL) {
		de->de_val = v;
		de++;
		se++;
		/* in an object: mostly a comma and the next key */
		if (*p == ',') {
			if (*++p == ' ')
				p++;
			goto key;
		}
	} else if (depth == 0)
		goto out;
	else
		JP_PUSH(v);
	if (*p != ',' && *p != (obj ? '}' : ']'))
		JP_WS(p);
	if (*p == ',') {
		/* ", " or ","; key and value skip any other white space */
		if (*++p == ' ')
			p++;
		if (obj)
			goto key;
		goto value;
	}
	if (*p == (obj ? '}' : ']')) {
		p++;
		goto close;
	}
	jp_fail(jp, p, "Expecting ',' delimiter");
fail:
	v = NULL;
out:
	JP_SYNC();
	jp->jp_p = p;
	if (frames != local)
		free(frames);
	return v;
#undef JP_SYNC
#undef JP_LOAD
#undef JP_PUSH
}

/*
 * json.loads of a whole document; trailing data is an error.  Keys that
 * are names the template t uses (t may be NULL) become its own values.
 * With va the values are the arena's (on failure they stay there until
 * the arena is freed; va->va_full says when it ran out of room).
 */
struct tval *
json_parse(const char *s, size_t len, const struct tmpl *t,
    struct varena *va, char *err, size_t errlen)
{
	struct jparse	 jparse, *jp = &jparse;
	struct tval	*v = NULL;
	size_t		 i;

	memset(jp, 0, offsetof(struct jparse, jp_keys));
	jp->jp_t = t;
	jp->jp_va = va;
	jp->jp_s = jp->jp_p = s;
	jp->jp_end = s + len;
	jp->jp_err = err;
	jp->jp_errlen = errlen;
	jp->jp_stack = jp->jp_local;
	jp->jp_cstack = JP_STACK;
	/* what is wasted stays within the document's size and a little */
	jp->jp_wmax = va != NULL ? len + JP_WASTE : 0;
	jp->jp_waste = va != NULL ? 0 : 1;
	if ((v = jp_document(jp)) != NULL) {
		JP_WS(jp->jp_p);
		if (jp->jp_p != jp->jp_end) {
			jp_unref(jp, v);
			v = jp_fail(jp, jp->jp_p, "Extra data");
		}
	} else if (!jp->jp_failed)
		jp_fail(jp, jp->jp_p, "out of memory");
	jp_unwind(jp, 0);
	if (va == NULL) {
		for (i = 0; i < JP_KEYS; i++)
			if (jp->jp_keyset[i / 64] >> (i % 64) & 1)
				tval_unref(jp->jp_keys[i]);
		for (i = 0; i < JP_MEMO; i++)
			if (jp->jp_memoset >> i & 1)
				tval_unref(jp->jp_memo[i].jm_v);
	}
	if (jp->jp_stack != jp->jp_local)
		free(jp->jp_stack);
	return v;
}
