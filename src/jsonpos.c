/*
 * jsonpos.c — strict JSON scanner recording the position of every value.
 *
 * RFC 8259 only: no comments, no trailing commas, no single quotes, no
 * leading zeros, no bare control characters in strings, valid UTF-8.  The
 * messages name what an editor user most likely typed ("trailing comma"),
 * because registry authors fix their files from these messages.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"

struct jscan {
	const char	*js_buf;
	size_t		 js_len;
	size_t		 js_pos;
	int		 js_depth;
	struct jpos_err	*js_err;
};

static struct jpos *jpos_value(struct jscan *);

/* Record the first error; every caller then unwinds with NULL or -1. */
static int
jpos_fail(struct jscan *js, size_t off, const char *msg)
{
	js->js_err->je_off = off;
	snprintf(js->js_err->je_msg, sizeof(js->js_err->je_msg), "%s", msg);
	return -1;
}

/* RFC 8259 whitespace only: no form feed, no vertical tab, no NBSP. */
static void
jpos_ws(struct jscan *js)
{
	while (js->js_pos < js->js_len) {
		char c = js->js_buf[js->js_pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		js->js_pos++;
	}
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
jpos_utf8(const unsigned char *s, size_t n)
{
	unsigned int	 cp;
	size_t		 len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Four hex digits of a \\u escape; -1 when one is not hex. */
static int
jpos_hex4(const char *s, unsigned int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

/* Encode a code point (already checked to be a scalar value) as UTF-8. */
static size_t
jpos_put_utf8(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = 0xc0 | (cp >> 6);
		o[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xe0 | (cp >> 12);
		o[1] = 0x80 | ((cp >> 6) & 0x3f);
		o[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | (cp >> 18);
	o[1] = 0x80 | ((cp >> 12) & 0x3f);
	o[2] = 0x80 | ((cp >> 6) & 0x3f);
	o[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/*
 * Scan a string at js_pos (the opening quote).  When out is not NULL the
 * decoded bytes are stored there (the caller sized it to the raw length,
 * which decoding never exceeds) and *outlen set.
 */
static int
jpos_string(struct jscan *js, char *out, size_t *outlen)
{
	const unsigned char	*b = (const unsigned char *)js->js_buf;
	size_t			 start = js->js_pos, n, o = 0;
	unsigned int		 cp, lo;

	js->js_pos++;
	for (;;) {
		if (js->js_pos >= js->js_len)
			return jpos_fail(js, start, "unterminated string");
		if (b[js->js_pos] == '"')
			break;
		if (b[js->js_pos] < 0x20)
			return jpos_fail(js, js->js_pos, b[js->js_pos] == '\n' ?
			    "unterminated string (newline in string)" :
			    "control character in string (use an escape)");
		if (b[js->js_pos] == '\\') {
			if (js->js_pos + 1 >= js->js_len)
				return jpos_fail(js, start, "unterminated string");
			switch (b[js->js_pos + 1]) {
			case '"': cp = '"'; break;
			case '\\': cp = '\\'; break;
			case '/': cp = '/'; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (js->js_pos + 6 > js->js_len ||
				    jpos_hex4(js->js_buf + js->js_pos + 2, &cp) == -1)
					return jpos_fail(js, js->js_pos,
					    "bad \\u escape");
				js->js_pos += 4;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					/* A high surrogate needs its low half. */
					if (js->js_pos + 8 > js->js_len ||
					    b[js->js_pos + 2] != '\\' ||
					    b[js->js_pos + 3] != 'u' ||
					    jpos_hex4(js->js_buf + js->js_pos + 4,
					    &lo) == -1 || lo < 0xdc00 || lo > 0xdfff)
						return jpos_fail(js, js->js_pos - 4,
						    "unpaired surrogate in \\u escape");
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					js->js_pos += 6;
				} else if (cp >= 0xdc00 && cp <= 0xdfff)
					return jpos_fail(js, js->js_pos - 4,
					    "unpaired surrogate in \\u escape");
				break;
			default:
				return jpos_fail(js, js->js_pos,
				    "invalid escape in string");
			}
			if (out != NULL)
				o += jpos_put_utf8(out + o, cp);
			js->js_pos += 2;
			continue;
		}
		if ((n = jpos_utf8(b + js->js_pos, js->js_len - js->js_pos)) == 0)
			return jpos_fail(js, js->js_pos, "invalid UTF-8 in string");
		if (out != NULL)
			memcpy(out + o, b + js->js_pos, n);
		o += n;
		js->js_pos += n;
	}
	js->js_pos++;
	if (out != NULL) {
		out[o] = '\0';
		*outlen = o;
	}
	return 0;
}

/*
 * A number as RFC 8259 §6 spells it: no leading zeros, no bare dot, no
 * plus sign, no hex, no NaN or Infinity.  Only the extent is recorded;
 * json-c supplies the value.
 */
static int
jpos_number(struct jscan *js)
{
	const char	*b = js->js_buf;
	size_t		 start = js->js_pos, p = js->js_pos, n = js->js_len;

	if (p < n && b[p] == '-')
		p++;
	if (p >= n || b[p] < '0' || b[p] > '9')
		return jpos_fail(js, start, "invalid number");
	if (b[p] == '0') {
		p++;
		if (p < n && b[p] >= '0' && b[p] <= '9')
			return jpos_fail(js, start,
			    "invalid number (leading zero)");
	} else
		while (p < n && b[p] >= '0' && b[p] <= '9')
			p++;
	if (p < n && b[p] == '.') {
		p++;
		if (p >= n || b[p] < '0' || b[p] > '9')
			return jpos_fail(js, start,
			    "invalid number (digit expected after '.')");
		while (p < n && b[p] >= '0' && b[p] <= '9')
			p++;
	}
	if (p < n && (b[p] == 'e' || b[p] == 'E')) {
		p++;
		if (p < n && (b[p] == '+' || b[p] == '-'))
			p++;
		if (p >= n || b[p] < '0' || b[p] > '9')
			return jpos_fail(js, start,
			    "invalid number (digit expected in exponent)");
		while (p < n && b[p] >= '0' && b[p] <= '9')
			p++;
	}
	js->js_pos = p;
	return 0;
}

/* Say what is wrong with an unexpected byte, in an editor user's words. */
static int
jpos_unexpected(struct jscan *js, const char *expected)
{
	char	 msg[128];
	char	 c;

	if (js->js_pos >= js->js_len) {
		snprintf(msg, sizeof(msg), "unexpected end of input, %s expected",
		    expected);
		return jpos_fail(js, js->js_pos, msg);
	}
	c = js->js_buf[js->js_pos];
	if (c == '/' && js->js_pos + 1 < js->js_len &&
	    (js->js_buf[js->js_pos + 1] == '/' || js->js_buf[js->js_pos + 1] == '*'))
		return jpos_fail(js, js->js_pos, "comments are not allowed in JSON");
	if (c == '\'')
		return jpos_fail(js, js->js_pos,
		    "single quotes are not allowed in JSON (use \")");
	if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		snprintf(msg, sizeof(msg), "unexpected '%c', %s expected", c,
		    expected);
	else
		snprintf(msg, sizeof(msg), "unexpected byte 0x%02x, %s expected",
		    (unsigned char)c, expected);
	return jpos_fail(js, js->js_pos, msg);
}

/* A new leaf or container starting at off. */
static struct jpos *
jpos_node(enum jpos_type t, size_t off)
{
	struct jpos	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->jp_type = t;
	p->jp_off = off;
	return p;
}

static const struct jpos *jpos_sorting;

static int
jpos_member_cmp(const void *a, const void *b)
{
	const struct jpos_member *x = &jpos_sorting->jp_members[*(const size_t *)a];
	const struct jpos_member *y = &jpos_sorting->jp_members[*(const size_t *)b];
	size_t	 n = x->jm_keylen < y->jm_keylen ? x->jm_keylen : y->jm_keylen;
	int	 c;

	if ((c = memcmp(x->jm_key, y->jm_key, n)) != 0)
		return c;
	if (x->jm_keylen != y->jm_keylen)
		return x->jm_keylen < y->jm_keylen ? -1 : 1;
	/* Equal keys stay in document order. */
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/*
 * Mark repeated keys in O(n log n): an object with a million members must
 * not take a quadratic time to check (the scanner runs on every reload and
 * in the fuzzer).
 */
static int
jpos_mark_dups(struct jpos *p)
{
	size_t	*idx, i, first = 0;

	for (i = 0; i < p->jp_n; i++) {
		p->jp_members[i].jm_first = -1;
		p->jp_members[i].jm_last = 1;
	}
	if (p->jp_n < 2)
		return 0;
	if ((idx = calloc(p->jp_n, sizeof(*idx))) == NULL)
		return -1;
	for (i = 0; i < p->jp_n; i++)
		idx[i] = i;
	jpos_sorting = p;
	qsort(idx, p->jp_n, sizeof(*idx), jpos_member_cmp);
	jpos_sorting = NULL;
	for (i = 1; i < p->jp_n; i++) {
		struct jpos_member *a = &p->jp_members[idx[i - 1]];
		struct jpos_member *b = &p->jp_members[idx[i]];

		if (a->jm_keylen == b->jm_keylen &&
		    memcmp(a->jm_key, b->jm_key, a->jm_keylen) == 0) {
			b->jm_first = (long)idx[first];
			a->jm_last = 0;
		} else
			first = i;
	}
	free(idx);
	return 0;
}

/*
 * An object.  Keys are decoded (the validator looks members up by their
 * decoded name, exactly as json-c does) and repeated keys are kept, so
 * that they can be reported rather than silently collapsed.
 */
static struct jpos *
jpos_object(struct jscan *js)
{
	struct jpos		*p, *v;
	struct jpos_member	*m;
	size_t			 keyoff, cap = 0;
	char			*key;
	size_t			 keylen;

	if ((p = jpos_node(JP_OBJECT, js->js_pos)) == NULL)
		return NULL;
	js->js_pos++;
	jpos_ws(js);
	if (js->js_pos < js->js_len && js->js_buf[js->js_pos] == '}') {
		js->js_pos++;
		goto done;
	}
	for (;;) {
		jpos_ws(js);
		if (js->js_pos >= js->js_len || js->js_buf[js->js_pos] != '"') {
			if (js->js_pos < js->js_len && js->js_buf[js->js_pos] == '}' &&
			    p->jp_n > 0)
				jpos_fail(js, js->js_pos,
				    "trailing comma before '}'");
			else
				jpos_unexpected(js, "a string key");
			goto fail;
		}
		keyoff = js->js_pos;
		/* First pass validates and finds the end; then decode. */
		if (jpos_string(js, NULL, NULL) == -1)
			goto fail;
		if ((key = malloc(js->js_pos - keyoff)) == NULL)
			goto fail;
		js->js_pos = keyoff;
		if (jpos_string(js, key, &keylen) == -1) {
			free(key);
			goto fail;
		}
		if (p->jp_n == cap) {
			cap = cap ? cap * 2 : 4;
			m = reallocarray(p->jp_members, cap, sizeof(*m));
			if (m == NULL) {
				free(key);
				goto fail;
			}
			p->jp_members = m;
		}
		m = &p->jp_members[p->jp_n++];
		m->jm_key = key;
		m->jm_keylen = keylen;
		m->jm_keyoff = keyoff;
		m->jm_val = NULL;
		jpos_ws(js);
		if (js->js_pos >= js->js_len || js->js_buf[js->js_pos] != ':') {
			jpos_unexpected(js, "':'");
			goto fail;
		}
		js->js_pos++;
		if ((v = jpos_value(js)) == NULL)
			goto fail;
		m->jm_val = v;
		jpos_ws(js);
		if (js->js_pos < js->js_len && js->js_buf[js->js_pos] == ',') {
			js->js_pos++;
			continue;
		}
		if (js->js_pos < js->js_len && js->js_buf[js->js_pos] == '}') {
			js->js_pos++;
			break;
		}
		jpos_unexpected(js, "',' or '}'");
		goto fail;
	}
 done:
	p->jp_end = js->js_pos;
	if (jpos_mark_dups(p) == -1) {
		jpos_fail(js, p->jp_off, "out of memory");
		goto fail;
	}
	return p;
 fail:
	jpos_free(p);
	return NULL;
}

/* An array; a comma before the closing bracket gets its own message. */
static struct jpos *
jpos_array(struct jscan *js)
{
	struct jpos	*p, *v, **items;
	size_t		 cap = 0;

	if ((p = jpos_node(JP_ARRAY, js->js_pos)) == NULL)
		return NULL;
	js->js_pos++;
	jpos_ws(js);
	if (js->js_pos < js->js_len && js->js_buf[js->js_pos] == ']') {
		js->js_pos++;
		goto done;
	}
	for (;;) {
		jpos_ws(js);
		if (js->js_pos < js->js_len && js->js_buf[js->js_pos] == ']' &&
		    p->jp_n > 0) {
			jpos_fail(js, js->js_pos, "trailing comma before ']'");
			goto fail;
		}
		if ((v = jpos_value(js)) == NULL)
			goto fail;
		if (p->jp_n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((items = reallocarray(p->jp_items, cap,
			    sizeof(*items))) == NULL) {
				jpos_free(v);
				goto fail;
			}
			p->jp_items = items;
		}
		p->jp_items[p->jp_n++] = v;
		jpos_ws(js);
		if (js->js_pos < js->js_len && js->js_buf[js->js_pos] == ',') {
			js->js_pos++;
			continue;
		}
		if (js->js_pos < js->js_len && js->js_buf[js->js_pos] == ']') {
			js->js_pos++;
			break;
		}
		jpos_unexpected(js, "',' or ']'");
		goto fail;
	}
 done:
	p->jp_end = js->js_pos;
	return p;
 fail:
	jpos_free(p);
	return NULL;
}

/* Match a literal (true, false, null) exactly. */
static int
jpos_word(struct jscan *js, const char *w)
{
	size_t	 n = strlen(w);

	if (js->js_len - js->js_pos < n || memcmp(js->js_buf + js->js_pos, w, n))
		return 0;
	js->js_pos += n;
	return 1;
}

/*
 * Any value.  The depth limit keeps recursion bounded on hostile input and
 * matches the depth json-c is given, so both parsers agree.
 */
static struct jpos *
jpos_value(struct jscan *js)
{
	struct jpos	*p = NULL;
	size_t		 start;

	jpos_ws(js);
	start = js->js_pos;
	if (js->js_pos >= js->js_len) {
		jpos_unexpected(js, "a value");
		return NULL;
	}
	if (++js->js_depth > JPOS_MAXDEPTH) {
		jpos_fail(js, js->js_pos, "nesting too deep");
		return NULL;
	}
	switch (js->js_buf[js->js_pos]) {
	case '{':
		p = jpos_object(js);
		break;
	case '[':
		p = jpos_array(js);
		break;
	case '"':
		if (jpos_string(js, NULL, NULL) == 0)
			p = jpos_node(JP_STRING, start);
		break;
	case 't':
	case 'f':
	case 'n':
		if (jpos_word(js, "true") || jpos_word(js, "false"))
			p = jpos_node(JP_BOOL, start);
		else if (jpos_word(js, "null"))
			p = jpos_node(JP_NULL, start);
		else
			jpos_unexpected(js, "a value");
		break;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (jpos_number(js) == 0)
			p = jpos_node(JP_NUMBER, start);
		break;
	default:
		jpos_unexpected(js, "a value");
		break;
	}
	js->js_depth--;
	if (p != NULL && p->jp_type != JP_OBJECT && p->jp_type != JP_ARRAY)
		p->jp_end = js->js_pos;
	return p;
}

struct jpos *
jpos_parse(const char *buf, size_t len, struct jpos_err *err)
{
	struct jscan	 js;
	struct jpos	*p;

	memset(&js, 0, sizeof(js));
	js.js_buf = buf;
	js.js_len = len;
	js.js_err = err;
	/* A UTF-8 byte order mark is tolerated, as RFC 8259 §8.1 allows. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		js.js_pos = 3;
	if ((p = jpos_value(&js)) == NULL)
		return NULL;
	jpos_ws(&js);
	if (js.js_pos < len) {
		jpos_unexpected(&js, "end of input");
		jpos_free(p);
		return NULL;
	}
	return p;
}

void
jpos_free(struct jpos *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->jp_n; i++) {
		if (p->jp_type == JP_OBJECT) {
			free(p->jp_members[i].jm_key);
			jpos_free(p->jp_members[i].jm_val);
		} else
			jpos_free(p->jp_items[i]);
	}
	free(p->jp_members);
	free(p->jp_items);
	free(p);
}

long
jpos_index(const struct jpos *p, const char *key)
{
	size_t	 i;

	if (p == NULL || p->jp_type != JP_OBJECT)
		return -1;
	for (i = p->jp_n; i > 0; i--)
		if (strcmp(p->jp_members[i - 1].jm_key, key) == 0 &&
		    p->jp_members[i - 1].jm_keylen == strlen(key))
			return (long)(i - 1);
	return -1;
}

const struct jpos *
jpos_get(const struct jpos *p, const char *key)
{
	long	 i;

	if ((i = jpos_index(p, key)) == -1)
		return NULL;
	return p->jp_members[i].jm_val;
}

const struct jpos *
jpos_item(const struct jpos *p, size_t i)
{
	if (p == NULL || p->jp_type != JP_ARRAY || i >= p->jp_n)
		return NULL;
	return p->jp_items[i];
}

char *
jpos_string_value(const char *buf, size_t len, const struct jpos *p,
    size_t *lenp)
{
	struct jscan	 js;
	struct jpos_err	 err;
	char		*out;
	size_t		 n;

	if (p == NULL || p->jp_type != JP_STRING || p->jp_end > len)
		return NULL;
	/* Decoding never makes a string longer than its source text. */
	if ((out = malloc(p->jp_end - p->jp_off)) == NULL)
		return NULL;
	memset(&js, 0, sizeof(js));
	js.js_buf = buf;
	js.js_len = p->jp_end;
	js.js_pos = p->jp_off;
	js.js_err = &err;
	if (jpos_string(&js, out, &n) == -1) {
		free(out);
		return NULL;
	}
	if (lenp != NULL)
		*lenp = n;
	return out;
}

/* Advance line:col over buf[from, to). */
static void
jpos_advance(const char *buf, size_t from, size_t to, int *line, int *col)
{
	size_t	 i;

	for (i = from; i < to; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80)
			(*col)++;	/* count characters, not continuation bytes */
	}
}

void
jpos_linecol(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = *col = 1;
	jpos_advance(buf, 0, off > len ? len : off, line, col);
}

int
jpos_lines_init(struct jpos_lines *jl, const char *buf, size_t len)
{
	size_t	 i;
	int	 line = 1, col = 1;

	memset(jl, 0, sizeof(*jl));
	jl->jl_buf = buf;
	jl->jl_len = len;
	jl->jl_n = len / JPOS_CHUNK + 1;
	jl->jl_line = calloc(jl->jl_n, sizeof(*jl->jl_line));
	jl->jl_col = calloc(jl->jl_n, sizeof(*jl->jl_col));
	if (jl->jl_line == NULL || jl->jl_col == NULL) {
		jpos_lines_clear(jl);
		return -1;
	}
	for (i = 0; i < jl->jl_n; i++) {
		if (i > 0)
			jpos_advance(buf, (i - 1) * JPOS_CHUNK, i * JPOS_CHUNK,
			    &line, &col);
		jl->jl_line[i] = line;
		jl->jl_col[i] = col;
	}
	return 0;
}

void
jpos_lines_get(const struct jpos_lines *jl, size_t off, int *line, int *col)
{
	size_t	 k;

	if (off > jl->jl_len)
		off = jl->jl_len;
	if (jl->jl_line == NULL) {
		jpos_linecol(jl->jl_buf, jl->jl_len, off, line, col);
		return;
	}
	k = off / JPOS_CHUNK;
	*line = jl->jl_line[k];
	*col = jl->jl_col[k];
	jpos_advance(jl->jl_buf, k * JPOS_CHUNK, off, line, col);
}

void
jpos_lines_clear(struct jpos_lines *jl)
{
	free(jl->jl_line);
	free(jl->jl_col);
	jl->jl_line = jl->jl_col = NULL;
	jl->jl_n = 0;
}

/* Keys that can be written as ".key" in a field path. */
static int
jpos_ident(const char *key)
{
	const char	*s;

	if (*key == '\0' || (*key >= '0' && *key <= '9'))
		return 0;
	for (s = key; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

size_t
jpos_path_key(char *path, size_t size, const char *key)
{
	size_t	 n = strlen(path);

	if (n + 1 >= size)
		return n;
	if (jpos_ident(key))
		snprintf(path + n, size - n, "%s%s", n ? "." : "", key);
	else
		snprintf(path + n, size - n, "[\"%s\"]", key);
	return n;
}

size_t
jpos_path_idx(char *path, size_t size, size_t i)
{
	size_t	 n = strlen(path);

	if (n + 1 < size)
		snprintf(path + n, size - n, "[%zu]", i);
	return n;
}

/* Depth-first walk; path is extended and restored in place. */
static void
jpos_dups_rec(const struct jpos *p, char *path, size_t size,
    void (*cb)(const char *, const struct jpos_member *,
    const struct jpos_member *, void *), void *arg)
{
	size_t	 i, n = strlen(path);

	if (p->jp_type == JP_OBJECT) {
		for (i = 0; i < p->jp_n; i++) {
			if (p->jp_members[i].jm_first >= 0)
				cb(path, &p->jp_members[i],
				    &p->jp_members[p->jp_members[i].jm_first], arg);
			jpos_path_key(path, size, p->jp_members[i].jm_key);
			jpos_dups_rec(p->jp_members[i].jm_val, path, size, cb,
			    arg);
			path[n] = '\0';
		}
	} else if (p->jp_type == JP_ARRAY) {
		for (i = 0; i < p->jp_n; i++) {
			jpos_path_idx(path, size, i);
			jpos_dups_rec(p->jp_items[i], path, size, cb, arg);
			path[n] = '\0';
		}
	}
}

void
jpos_walk_dups(const struct jpos *p,
    void (*cb)(const char *, const struct jpos_member *,
    const struct jpos_member *, void *), void *arg)
{
	char	 path[1024];

	path[0] = '\0';
	if (p != NULL)
		jpos_dups_rec(p, path, sizeof(path), cb, arg);
}

size_t
jpos_escape(char *out, const void *in, size_t n, int slash)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = in;
	size_t			 i, o = 0;
	unsigned char		 c;
	char			 e;

	for (i = 0; i < n; i++) {
		switch ((c = p[i])) {
		case '"': e = '"'; break;
		case '\\': e = '\\'; break;
		case '/': e = slash ? '/' : 0; break;
		case '\b': e = 'b'; break;
		case '\f': e = 'f'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\t': e = 't'; break;
		default: e = c < 0x20 ? 'u' : 0; break;
		}
		if (e == 0) {
			if (out != NULL)
				out[o] = (char)c;
			o++;
		} else if (e != 'u') {
			if (out != NULL) {
				out[o] = '\\';
				out[o + 1] = e;
			}
			o += 2;
		} else {
			if (out != NULL) {
				memcpy(out + o, "\\u00", 4);
				out[o + 4] = hex[c >> 4];
				out[o + 5] = hex[c & 15];
			}
			o += 6;
		}
	}
	return o;
}
