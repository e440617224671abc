/*
 * filter_json.c — the connector filters: from_json (Python's json.loads),
 * tojson (Jinja2's: sorted keys, HTML-safe), json_encode (json.dumps),
 * base64_encode and base64_decode.  base64_encode of a secret is a
 * TSX_BASE64 node for the keeper.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tmpl_int.h"

/* from_json: Python's json.loads; invalid JSON fails the render (a 422). */
struct tval *
filter_from_json(struct eval *e, struct tval *in, struct args *a)
{
	char		 err[200];
	struct tval	*r;
	struct varena	*va;

	if (in->tv_type == TV_UNDEF)
		return eval_undefined_error(e, in);
	if (in->tv_type != TV_STR && in->tv_type != TV_BYTES)
		return eval_error(e, "the JSON object must be str, bytes or "
		    "bytearray, not %s", tval_typename(in));
	if (eval_step(e, in->u.s.len / 64) == -1)
		return NULL;
	va = eval_arena(e, in->u.s.len);
	r = json_parse(in->u.s.p, in->u.s.len, eval_tmpl(e), va, err,
	    sizeof(err));
	/* the arena filled up: this document's values are counted ones */
	if (r == NULL && va != NULL && va->va_full)
		r = json_parse(in->u.s.p, in->u.s.len, eval_tmpl(e), NULL,
		    err, sizeof(err));
	if (r == NULL)
		return eval_error(e, "from_json: %s", err);
	return r;
}

/*
 * json_encode and tojson share the serializer; the output is charged by its
 * size.
 */
static struct tval *
filter_json(struct eval *e, struct tval *in, struct args *a, int mode)
{
	static const char *const params[] = { "indent" };
	struct tval		*v[1];
	struct buf		 b;
	char			 err[200];
	int64_t			 indent = -1;

	FILTER_BIND(mode ? "tojson" : "json_encode", params, 0);
	if (v[0] != NULL && v[0]->tv_type != TV_NONE &&
	    filter_intarg(e, v[0], "indent", &indent) == -1)
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
filter_b64(struct eval *e, struct tval *in, int decode)
{
	struct tval	*s = NULL, *r;
	unsigned char	*out;
	size_t		 n;
	int		 len;

	if (in->tv_type == TV_SECRET && !decode) {
		struct tsecret	*ts = tsecret_unary(TSX_BASE64,
		    tsecret_dup(in->u.sec));

		return ts ? tval_secret(ts) : eval_oom(e);
	}
	/* the connector filters take str(value) */
	if ((s = filter_soft_str(e, in)) == NULL)
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
		return eval_oom(e);
	}
	len = EVP_EncodeBlock(out, (const unsigned char *)s->u.s.p, (int)n);
	tval_unref(s);
	return tval_str_take((char *)out, (size_t)len);
}

struct tval *
filter_tojson(struct eval *e, struct tval *in, struct args *a)
{
	return filter_json(e, in, a, 1);
}

struct tval *
filter_json_encode(struct eval *e, struct tval *in, struct args *a)
{
	return filter_json(e, in, a, 0);
}

struct tval *
filter_b64encode(struct eval *e, struct tval *in, struct args *a)
{
	return filter_b64(e, in, 0);
}

struct tval *
filter_b64decode(struct eval *e, struct tval *in, struct args *a)
{
	return filter_b64(e, in, 1);
}
