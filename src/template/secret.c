/*
 * secret.c — symbolic secrets (DESIGN §4).  In a worker get_secret('x')
 * becomes a small tree of fixed operations over named secrets; the keeper
 * evaluates the tree with values only it holds.  This file builds, copies
 * and frees those trees and spells them as their template literal (what
 * X-Debug-Request shows).
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "tmpl_int.h"

void
tsecret_free(struct tsecret *ts)
{
	size_t	 i;

	if (ts == NULL)
		return;
	for (i = 0; i < ts->ts_nkids; i++)
		tsecret_free(ts->ts_kids[i]);
	free(ts->ts_kids);
	if (!(ts->ts_inl & TS_INL_DATA))
		free(ts->ts_data);
	free(ts->ts_alg);
	free(ts->ts_headers);
	if (!(ts->ts_inl & TS_INL_LITERAL))
		free(ts->ts_literal);
	free(ts);
}

static struct tsecret *
tsecret_new(enum tsecret_op op)
{
	struct tsecret	*ts;

	if ((ts = calloc(1, sizeof(*ts))) != NULL)
		ts->ts_op = op;
	return ts;
}

/*
 * A node with room after it for its data (datalen bytes and a NUL) and
 * its literal (litlen bytes and a NUL), where it has them (SIZE_MAX: it
 * has none); the bytes are the caller's to copy.
 */
static struct tsecret *
tsecret_block(enum tsecret_op op, size_t datalen, size_t litlen)
{
	struct tsecret	*ts;
	size_t		 size = sizeof(*ts);
	char		*p;

	if (datalen != SIZE_MAX) {
		if (datalen > SIZE_MAX / 4)
			return NULL;
		size += datalen + 1;
	}
	if (litlen != SIZE_MAX) {
		if (litlen > SIZE_MAX / 4)
			return NULL;
		size += litlen + 1;
	}
	if ((ts = calloc(1, size)) == NULL)
		return NULL;
	ts->ts_op = op;
	p = (char *)(ts + 1);
	if (datalen != SIZE_MAX) {
		ts->ts_data = p;
		ts->ts_len = datalen;
		ts->ts_inl |= TS_INL_DATA;
		p += datalen + 1;
	}
	if (litlen != SIZE_MAX) {
		ts->ts_literal = p;
		ts->ts_inl |= TS_INL_LITERAL;
	}
	return ts;
}

struct tsecret *
tsecret_lit(const char *p, size_t len)
{
	struct tsecret	*ts;

	if ((ts = tsecret_new(TSX_LITERAL)) == NULL)
		return NULL;
	if ((ts->ts_data = malloc(len + 1)) == NULL) {
		free(ts);
		return NULL;
	}
	memcpy(ts->ts_data, p, len);
	ts->ts_data[len] = '\0';
	ts->ts_len = len;
	return ts;
}

/* A secret leaf spells itself as the expression that asked for it. */
struct tsecret *
tsecret_named(const char *name)
{
	static const char	 pre[] = "{{ get_secret('", post[] = "') }}";
	struct tsecret		*ts;
	size_t			 len = strlen(name);

	/* Every call that names a secret makes one: no printf, one block. */
	if ((ts = tsecret_block(TSX_SECRET, len, sizeof(pre) - 1 + len +
	    sizeof(post) - 1)) == NULL)
		return NULL;
	memcpy(ts->ts_data, name, len + 1);
	memcpy(ts->ts_literal, pre, sizeof(pre) - 1);
	memcpy(ts->ts_literal + sizeof(pre) - 1, name, len);
	memcpy(ts->ts_literal + sizeof(pre) - 1 + len, post, sizeof(post));
	return ts;
}

/* Takes kid. */
struct tsecret *
tsecret_unary(enum tsecret_op op, struct tsecret *kid)
{
	struct tsecret	*ts;

	if (kid == NULL)
		return NULL;
	if ((ts = tsecret_new(op)) == NULL ||
	    (ts->ts_kids = calloc(1, sizeof(*ts->ts_kids))) == NULL) {
		free(ts);
		tsecret_free(kid);
		return NULL;
	}
	ts->ts_kids[0] = kid;
	ts->ts_nkids = 1;
	return ts;
}

/* Concatenations stay flat and drop empty literals. */
static int
concat_push(struct tsecret *c, struct tsecret *k)
{
	struct tsecret	**nk;
	size_t		  i;

	if (k->ts_op == TSX_CONCAT) {
		/* flatten, so the keeper sees one level */
		for (i = 0; i < k->ts_nkids; i++) {
			if (concat_push(c, k->ts_kids[i]) == -1)
				return -1;
			k->ts_kids[i] = NULL;
		}
		k->ts_nkids = 0;
		tsecret_free(k);
		return 0;
	}
	if (k->ts_op == TSX_LITERAL && k->ts_len == 0) {
		tsecret_free(k);
		return 0;
	}
	if ((nk = realloc(c->ts_kids, (c->ts_nkids + 1) * sizeof(*nk))) ==
	    NULL) {
		tsecret_free(k);
		return -1;
	}
	c->ts_kids = nk;
	c->ts_kids[c->ts_nkids++] = k;
	return 0;
}

/* Takes both. */
struct tsecret *
tsecret_concat2(struct tsecret *a, struct tsecret *b)
{
	struct tsecret	*c;

	if (a == NULL || b == NULL) {
		tsecret_free(a);
		tsecret_free(b);
		return NULL;
	}
	if ((c = tsecret_new(TSX_CONCAT)) == NULL) {
		tsecret_free(a);
		tsecret_free(b);
		return NULL;
	}
	if (concat_push(c, a) == -1) {
		tsecret_free(b);
		tsecret_free(c);
		return NULL;
	}
	if (concat_push(c, b) == -1) {
		tsecret_free(c);
		return NULL;
	}
	return c;
}

static char *
dup_or_null(const char *s, int *fail)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

/* Trees are owned by one value or segment; sharing means copying. */
struct tsecret *
tsecret_dup(const struct tsecret *ts)
{
	struct tsecret	*d;
	size_t		 i, litlen = ts->ts_literal != NULL ?
			    strlen(ts->ts_literal) : SIZE_MAX;
	int		 fail = 0;

	/* The data and the literal in the copy's own block. */
	if ((d = tsecret_block(ts->ts_op, ts->ts_data != NULL ? ts->ts_len :
	    SIZE_MAX, litlen)) == NULL)
		return NULL;
	if (ts->ts_data != NULL)
		memcpy(d->ts_data, ts->ts_data, ts->ts_len + 1);
	if (ts->ts_literal != NULL)
		memcpy(d->ts_literal, ts->ts_literal, litlen + 1);
	d->ts_alg = dup_or_null(ts->ts_alg, &fail);
	d->ts_headers = dup_or_null(ts->ts_headers, &fail);
	if (ts->ts_nkids) {
		if ((d->ts_kids = calloc(ts->ts_nkids, sizeof(*d->ts_kids))) ==
		    NULL)
			fail = 1;
		else
			for (i = 0; i < ts->ts_nkids; i++) {
				if ((d->ts_kids[i] = tsecret_dup(ts->ts_kids[i]))
				    == NULL)
					fail = 1;
				d->ts_nkids++;
			}
	}
	if (fail) {
		tsecret_free(d);
		return NULL;
	}
	return d;
}

/* The template text a secret tree came from: what debugging output shows. */
int
tsecret_literal_into(struct buf *b, const struct tsecret *ts)
{
	size_t	 i;

	switch (ts->ts_op) {
	case TSX_LITERAL:
		return buf_add(b, ts->ts_data, ts->ts_len);
	case TSX_CONCAT:
		if (ts->ts_literal != NULL)
			return buf_adds(b, ts->ts_literal);
		for (i = 0; i < ts->ts_nkids; i++)
			if (tsecret_literal_into(b, ts->ts_kids[i]) == -1)
				return -1;
		return 0;
	default:
		if (ts->ts_literal != NULL)
			return buf_adds(b, ts->ts_literal);
		if (ts->ts_nkids > 0)
			return tsecret_literal_into(b, ts->ts_kids[0]);
		return 0;
	}
}

char *
tsecret_literal(const struct tsecret *ts)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	if (tsecret_literal_into(&b, ts) == -1 || buf_add(&b, "", 0) == -1) {
		buf_free(&b);
		return NULL;
	}
	return b.b_p;
}
