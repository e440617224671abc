/*
 * keeper_secret.c — the keeper's evaluation of symbolic secret trees.
 *
 * The worker built the tree with the engine (src/template/secret.c) and
 * never saw a value; here each node is replayed with the values: literal
 * bytes, a named secret, a concatenation, Jinja2's urlencode, base64 and a
 * JWT signed with a secret key.  The encoders are the engine's own
 * (tmpl_urlencode, tmpl_jwt_sign), so a value encodes exactly as it would
 * have in a render.  Nothing here logs; the caller decides.
 */
#include "build.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "keeper_secret.h"
#include "spare.h"
#include "template/template.h"

#define KSECRET_MAX_DEPTH	64

/* A growable buffer whose old storage is wiped whenever it moves. */
struct sbuf {
	char	*sb_p;
	size_t	 sb_len;
	size_t	 sb_cap;
};

/*
 * A call's small secret-derived strings (a secret's value, its copy for
 * redaction, a header's value, the URL: tens of bytes each, four a call
 * in S4) come from blocks of KSECRET_BLOCK bytes: once wiped, a block of
 * that size class is kept (spare.h) and serves the next one, which any
 * kept block fits.
 */
#define KSECRET_BLOCK	128

static struct spare	 ksecret_spares;

void *
keeper_secret_alloc(size_t n)
{
	void	*p;

	if (n > KSECRET_BLOCK)
		return malloc(n);
	if ((p = spare_take(&ksecret_spares, NULL)) != NULL)
		return p;
	return malloc(KSECRET_BLOCK);
}

/*
 * Not inlined: the wipe past len reaches bytes malloc_usable_size() gives
 * the caller, which gcc -O3, following a caller's malloc(len) into here,
 * takes for an overflow (-Wstringop-overflow).
 */
__attribute__((noinline)) void
keeper_secret_free(void *p, size_t len)
{
	size_t	 cap;

	if (p == NULL)
		return;
	explicit_bzero(p, len);
	if ((cap = malloc_usable_size(p)) < KSECRET_BLOCK ||
	    cap >= 2 * KSECRET_BLOCK) {
		free(p);
		return;
	}
	/*
	 * Kept, it is wiped whole: the next holder must find nothing of this
	 * one's, even past the length its caller said it wrote.
	 */
	if (len < cap)
		explicit_bzero((char *)p + len, cap - len);
	free(spare_put(&ksecret_spares, p, cap));
}

/*
 * Every call's answer has a body block of its size (8.5 KB in S4), which
 * glibc would serve from its sorted bins, merging the heap's small free
 * blocks first on each malloc and free.  A body is wiped as before and
 * its block kept (spare.h) up to KBODY_KEEP_MAX bytes, rounded up to
 * KBODY_ROUND so that the next answer of about its size fits.
 */
#define KBODY_ROUND	16384
#define KBODY_KEEP_MAX	(256 * 1024)

static struct spare	 kbody_spares;

void *
keeper_body_alloc(size_t n)
{
	size_t	 cap;
	void	*p;

	if ((p = spare_take_fit(&kbody_spares, n, &cap)) != NULL)
		return p;
	if (n <= KBODY_KEEP_MAX)
		n = (n + KBODY_ROUND - 1) / KBODY_ROUND * KBODY_ROUND;
	return malloc(n);
}

void
keeper_body_free(void *p, size_t len)
{
	size_t	 cap;

	if (p == NULL)
		return;
	explicit_bzero(p, len);
	if ((cap = malloc_usable_size(p)) > KBODY_KEEP_MAX ||
	    (p = spare_put(&kbody_spares, p, cap)) != NULL)
		free(p);
}

void
keeper_body_spares_free(void)
{
	void	*p;

	while ((p = spare_take(&kbody_spares, NULL)) != NULL)
		free(p);
	while ((p = spare_take(&ksecret_spares, NULL)) != NULL)
		free(p);
}

static int
sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	size_t	 cap;
	char	*np;

	if (n >= SIZE_MAX / 2 - b->sb_len)
		return -1;
	if (b->sb_cap - b->sb_len <= n) {
		cap = b->sb_cap ? b->sb_cap : 64;
		while (cap - b->sb_len <= n)
			cap *= 2;
		if ((np = keeper_secret_alloc(cap)) == NULL)
			return -1;
		if (b->sb_len)
			memcpy(np, b->sb_p, b->sb_len);
		keeper_secret_free(b->sb_p, b->sb_cap);
		b->sb_p = np;
		b->sb_cap = cap;
	}
	if (n)
		memcpy(b->sb_p + b->sb_len, p, n);
	b->sb_len += n;
	b->sb_p[b->sb_len] = '\0';
	return 0;
}

/* Take a malloc'd result of len bytes: append it, then wipe it. */
static int
sbuf_take(struct sbuf *b, char *p, size_t len)
{
	int	 rc;

	if (p == NULL)
		return -1;
	rc = sbuf_add(b, p, len);
	keeper_secret_free(p, len);
	return rc;
}

static int
ksecret_eval_into(const struct tsecret *ts, keeper_secret_lookup_fn lookup,
    void *arg, struct sbuf *out, char *err, size_t errlen, int depth)
{
	struct sbuf	 sub;
	const void	*val;
	char		*lit, *enc;
	size_t		 i, len, n;
	int		 rc = -1;

	if (depth > KSECRET_MAX_DEPTH) {
		snprintf(err, errlen, "secret expression nested too deeply");
		return -1;
	}
	switch (ts->ts_op) {
	case TSX_LITERAL:
		return sbuf_add(out, ts->ts_data, ts->ts_len);
	case TSX_SECRET:
		if (ts->ts_data == NULL) {
			snprintf(err, errlen, "malformed secret expression");
			return -1;
		}
		if (lookup(ts->ts_data, &val, &len, arg) == 0)
			return sbuf_add(out, val, len);
		/* A missing secret leaves the expression as it was written. */
		if ((lit = tsecret_literal(ts)) == NULL)
			return -1;
		rc = sbuf_add(out, lit, strlen(lit));
		free(lit);
		return rc;
	case TSX_CONCAT:
		for (i = 0; i < ts->ts_nkids; i++)
			if (ksecret_eval_into(ts->ts_kids[i], lookup, arg, out,
			    err, errlen, depth + 1) == -1)
				return -1;
		return 0;
	case TSX_URLENCODE:
	case TSX_BASE64:
	case TSX_JWT:
		break;
	default:
		snprintf(err, errlen, "unknown secret operation");
		return -1;
	}
	if (ts->ts_nkids != 1) {
		snprintf(err, errlen, "malformed secret expression");
		return -1;
	}
	memset(&sub, 0, sizeof(sub));
	if (ksecret_eval_into(ts->ts_kids[0], lookup, arg, &sub, err, errlen,
	    depth + 1) == -1 || sbuf_add(&sub, "", 0) == -1)
		goto out;
	switch (ts->ts_op) {
	case TSX_URLENCODE:
		enc = tmpl_urlencode(sub.sb_p, sub.sb_len, &n);
		rc = sbuf_take(out, enc, n);
		break;
	case TSX_BASE64:
		if (sub.sb_len > INT32_MAX / 2)
			break;
		n = 4 * ((sub.sb_len + 2) / 3) + 1;
		if ((enc = malloc(n)) == NULL)
			break;
		len = (size_t)EVP_EncodeBlock((unsigned char *)enc,
		    (unsigned char *)sub.sb_p, (int)sub.sb_len);
		rc = sbuf_add(out, enc, len);
		keeper_secret_free(enc, n);
		break;
	case TSX_JWT:
		if (ts->ts_alg == NULL || ts->ts_data == NULL ||
		    ts->ts_headers == NULL) {
			snprintf(err, errlen, "malformed jwt expression");
			break;
		}
		enc = tmpl_jwt_sign(ts->ts_alg, sub.sb_p, sub.sb_len,
		    ts->ts_headers, ts->ts_data, &n, err, errlen);
		rc = sbuf_take(out, enc, n);
		break;
	default:
		break;
	}
out:
	keeper_secret_free(sub.sb_p, sub.sb_cap);
	return rc;
}

char *
keeper_secret_eval(const struct tsecret *ts, keeper_secret_lookup_fn lookup,
    void *arg, size_t *lenp, char *err, size_t errlen)
{
	struct sbuf	 b;

	memset(&b, 0, sizeof(b));
	err[0] = '\0';
	if (ksecret_eval_into(ts, lookup, arg, &b, err, errlen, 0) == -1 ||
	    sbuf_add(&b, "", 0) == -1) {
		/* err is left empty when memory ran out. */
		keeper_secret_free(b.sb_p, b.sb_cap);
		return NULL;
	}
	*lenp = b.sb_len;
	return b.sb_p;
}
