/*
 * keeper_h1.c — the keeper's own HTTP/1.1 exchange (see keeper_h1.h).
 *
 * The response is parsed by http-parser, the parser the workers use for
 * requests: one HTTP/1.1 grammar in the project, and one that has been
 * fuzzed for years.  What it leaves to its caller is done here:
 *  - limits: header lines, header bytes, the decoded body (a body over
 *    the limit fails the call, it is never cut);
 *  - 1xx answers read and dropped; 101 (an upgrade nobody asked for)
 *    refused; HEAD, 204 and 304 have no body;
 *  - gzip and deflate decoded (zlib), so that the keeper's redaction sees
 *    the bytes an upstream echoed, as it does with libcurl's decoding;
 *    any other content coding is refused;
 *  - an obs-folded header value is joined to the line before it by one
 *    space (RFC 9112 §5.2), as libcurl's path does.
 *
 * The answer nearly every call gets, whole in the first read and framed
 * by one Content-Length, is read by h1_fast without http-parser (which
 * with its callbacks was a twelfth of the keeper).  It accepts a strict
 * subset of what http-parser accepts and gives up on everything else,
 * before it has changed anything, so that the rest of the grammar stays
 * http-parser's.  fuzz_h1 and check_h1 hold the two to the same result
 * for every input the fast path takes.
 */
#include "build.h"

#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <zlib.h>

#include "decimal.h"
#include "keeper_h1.h"
#include "keeper_secret.h"
#include "spare.h"
#include "token.h"

#define H1_BODY_CHUNK	16384
#define H1_INFLATE_OUT	16384
#define H1_ARENA	512	/* first size of the header arena */
#define H1_BLOCK_KEEP	4096	/* header blocks kept up to this size */

struct h1_reader {
	http_parser		 r_hp;
	http_parser_settings	 r_settings;
	struct egress_result	*r_res;
	struct h1_limits	 r_lim;
	z_stream		 r_z;
	int			 r_zinit;	/* r_z needs inflateEnd */
	int			 r_zraw;	/* deflate retried raw */
	int			 r_coding;	/* H1_CODING_* */
	int			 r_head;	/* no body, whatever is said */
	int			 r_in_value;	/* last callback was a value */
	int			 r_in_body;	/* header lines are trailers */
	int			 r_in_status;	/* the reason phrase goes on */
	const char		*r_buf;		/* being parsed */
	char			 r_last;	/* previous buffer's end */
	int			 r_fold;	/* a folded line comes next */
	int			 r_done;
	int			 r_keepalive;
	int			 r_fed;		/* a byte of this answer came */
	int			 r_nofast;	/* h1_reader_set_fast(r, 0) */
	int			 r_wasfast;	/* h1_fast read this answer */
	size_t			 r_hcap;	/* er_headers slots */
	size_t			 r_bodycap;
	size_t			 r_hbytes;
	size_t			 r_nlines;
};

enum {
	H1_CODING_NONE,
	H1_CODING_GZIP,		/* gzip or x-gzip */
	H1_CODING_DEFLATE	/* zlib-wrapped, or raw as some servers send */
};

static void
h1_fail(struct h1_reader *r, enum egress_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
h1_fail(struct h1_reader *r, enum egress_error e, const char *fmt, ...)
{
	va_list	 ap;

	if (r->r_res->er_error != EGRESS_OK)
		return;		/* the first reason is the one */
	r->r_res->er_error = e;
	va_start(ap, fmt);
	vsnprintf(r->r_res->er_msg, sizeof(r->r_res->er_msg), fmt, ap);
	va_end(ap);
}

/* zlib's window holds decoded bytes: wiped when zlib lets it go. */
static voidpf
h1_zalloc(voidpf opaque, uInt items, uInt size)
{
	return calloc(items, size);
}

static void
h1_zfree(voidpf opaque, voidpf p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* --- the request -------------------------------------------------------- */

/*
 * Header blocks, wiped, for the next calls' (a request's, and an answer's
 * header arena, each call): kept up to H1_BLOCK_KEEP bytes, made in
 * H1_ARENA steps so that the next one fits.
 */
static struct spare	 h1_blocks;

static char *
h1_block_new(size_t need, size_t *capp)
{
	char	*p;

	/* A kept one is all zeroes, as calloc's. */
	if ((p = spare_take_fit(&h1_blocks, need, capp)) != NULL)
		return p;
	if (need <= H1_BLOCK_KEEP)
		need = (need + H1_ARENA - 1) / H1_ARENA * H1_ARENA;
	*capp = need;
	return calloc(1, need);
}

void
h1_block_free(char *p, size_t used, size_t cap)
{
	if (p == NULL)
		return;
	explicit_bzero(p, used < cap ? used : cap);
	if (cap > H1_BLOCK_KEEP ||
	    (p = spare_put(&h1_blocks, p, cap)) != NULL)
		free(p);
}

void
h1_blocks_free(void)
{
	char	*p;

	while ((p = spare_take(&h1_blocks, NULL)) != NULL)
		free(p);
}


/*
 * The n bytes at s are lc (lower case, n bytes) in any case, as
 * strncasecmp in the C locale says, without a call: header names and
 * values every answer has, matched inline.  A NUL in s mismatches, so s
 * is read no further than its end.
 */
static int
h1_lc_eq(const char *s, const char *lc, size_t n)
{
	unsigned char	 c;
	size_t		 i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (unsigned char)lc[i])
			return 0;
	}
	return 1;
}

static char *
h1_put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* "name: value\r\n" (no space after the colon when the value is empty). */
static char *
h1_put_line(char *p, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	p = h1_put(p, name, nlen);
	*p++ = ':';
	if (vlen > 0) {
		*p++ = ' ';
		p = h1_put(p, value, vlen);
	}
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* A call's fields whose lengths are kept between measuring and writing. */
#define H1_FIELDS_KEPT	16

char *
h1_request_write(const struct h1_request *rq, size_t *lenp, size_t *capp)
{
	static const char	 accept[] = "*/*";
	static const char	 encoding[] = "gzip, deflate";
	const char		*m = rq->hr_method;
	const size_t		(*fl)[2] = rq->hr_flens;
	char			 cl[32], *buf, *p;
	size_t			 len, i, bodylen, mlen, tlen, hlen, cllen;
	size_t			 flen[H1_FIELDS_KEPT][2], nl, vl;
	int			 framed, want_accept, want_encoding;

	bodylen = rq->hr_body != NULL ? rq->hr_bodylen : 0;
	framed = rq->hr_body != NULL || (m[0] == 'P' &&
	    (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "PATCH") == 0));
	/* Accept and Accept-Encoding unless the call has its own. */
	want_accept = want_encoding = 1;
	for (i = 0; i < rq->hr_nfields; i++) {
		const char *f = rq->hr_fields[i].ef_name;

		/* By length or first byte: most fields cost no compare. */
		if (fl != NULL ? fl[i][0] != 6 && fl[i][0] != 15 :
		    (f[0] | 0x20) != 'a')
			continue;
		if (!h1_lc_eq(f, "accept", 6))
			continue;
		if (f[6] == '\0')
			want_accept = 0;
		else if (h1_lc_eq(f + 6, "-encoding", 9) && f[15] == '\0')
			want_encoding = 0;
	}
	cllen = dec_put(cl, bodylen);

	/*
	 * Every piece measured first, and once (unless the caller knows its
	 * length): one allocation, no growth; the first fields' lengths are
	 * kept for the writing.
	 */
	mlen = rq->hr_methodlen ? rq->hr_methodlen : strlen(m);
	tlen = rq->hr_targetlen ? rq->hr_targetlen : strlen(rq->hr_target);
	hlen = rq->hr_hostlen ? rq->hr_hostlen : strlen(rq->hr_host);
	len = mlen + 1 + tlen + 11;
	len += 6 + hlen + 2;
	if (want_accept)
		len += 8 + sizeof(accept) - 1 + 2;
	if (want_encoding)
		len += 17 + sizeof(encoding) - 1 + 2;
	for (i = 0; i < rq->hr_nfields; i++) {
		if (fl != NULL) {
			len += fl[i][0] + 2 + fl[i][1] + 2;
			continue;
		}
		nl = strlen(rq->hr_fields[i].ef_name);
		vl = strlen(rq->hr_fields[i].ef_value);
		if (i < H1_FIELDS_KEPT) {
			flen[i][0] = nl;
			flen[i][1] = vl;
		}
		len += nl + 2 + vl + 2;
	}
	if (framed)
		len += 16 + cllen + 2;
	len += 2 + bodylen;
	if ((buf = h1_block_new(len + 1, capp)) == NULL)
		return NULL;

	p = h1_put(buf, m, mlen);
	*p++ = ' ';
	p = h1_put(p, rq->hr_target, tlen);
	p = h1_put(p, " HTTP/1.1\r\n", 11);
	p = h1_put_line(p, "Host", 4, rq->hr_host, hlen);
	if (want_accept)
		p = h1_put_line(p, "Accept", 6, accept, sizeof(accept) - 1);
	if (want_encoding)
		p = h1_put_line(p, "Accept-Encoding", 15, encoding,
		    sizeof(encoding) - 1);
	for (i = 0; i < rq->hr_nfields; i++) {
		if (fl != NULL) {
			nl = fl[i][0];
			vl = fl[i][1];
		} else if (i < H1_FIELDS_KEPT) {
			nl = flen[i][0];
			vl = flen[i][1];
		} else {
			nl = strlen(rq->hr_fields[i].ef_name);
			vl = strlen(rq->hr_fields[i].ef_value);
		}
		p = h1_put_line(p, rq->hr_fields[i].ef_name, nl,
		    rq->hr_fields[i].ef_value, vl);
	}
	if (framed)
		p = h1_put_line(p, "Content-Length", 14, cl, cllen);
	*p++ = '\r';
	*p++ = '\n';
	if (bodylen > 0)
		p = h1_put(p, rq->hr_body, bodylen);
	*p = '\0';
	*lenp = (size_t)(p - buf);
	return buf;
}

/* --- the response ------------------------------------------------------- */

/* The result's headers and body, wiped: a 1xx block, or a failed read. */
static void
h1_result_drop(struct h1_reader *r)
{
	egress_result_clear(r->r_res);
	r->r_hcap = 0;
	r->r_bodycap = 0;
}

/*
 * The arena that holds the header block's strings grown to take need more
 * bytes: a new block (all zeroes, as h1_block_free expects), every string
 * moved over, the old one wiped as far as it was written.  Only a trim
 * writes past er_arenalen, and it writes zeroes.
 */
static int
h1_arena_grow(struct egress_result *res, size_t need)
{
	struct egress_header	*h;
	char			*old = res->er_arena, *q;
	size_t			 cap, i;

	cap = res->er_arenacap ? res->er_arenacap : H1_ARENA;
	while (cap < res->er_arenalen + need)
		cap *= 2;
	if ((q = h1_block_new(cap, &cap)) == NULL)
		return -1;
	if (old == NULL)
		goto done;
	memcpy(q, old, res->er_arenalen);
	for (i = 0; i < res->er_nheaders; i++) {
		h = &res->er_headers[i];
		if (!(h->eh_own & EH_OWN_NAME) && h->eh_name != NULL)
			h->eh_name = q + (h->eh_name - old);
		if (!(h->eh_own & EH_OWN_VALUE) && h->eh_value != NULL)
			h->eh_value = q + (h->eh_value - old);
	}
	h1_block_free(old, res->er_arenalen, res->er_arenacap);
done:
	res->er_arena = q;
	res->er_arenacap = cap;
	return 0;
}

/*
 * n bytes of s appended to the string at *pp (*lenp bytes and a NUL), the
 * last one in the arena; a NULL *pp starts a new one there.
 */
static int
h1_append(struct egress_result *res, char **pp, size_t *lenp, const char *s,
    size_t n)
{
	size_t	 need = n + (*pp == NULL);

	if (res->er_arenacap - res->er_arenalen < need &&
	    h1_arena_grow(res, need) == -1)
		return -1;
	if (*pp == NULL) {
		*pp = res->er_arena + res->er_arenalen++;
		*lenp = 0;
	}
	memcpy(*pp + *lenp, s, n);
	*lenp += n;
	(*pp)[*lenp] = '\0';
	res->er_arenalen += n;
	return 0;
}

static int
h1_count(struct h1_reader *r, size_t n)
{
	r->r_hbytes += n;
	if (r->r_hbytes <= r->r_lim.hl_header_bytes)
		return 0;
	h1_fail(r, EGRESS_EPROTO, "upstream sent more than %zu bytes of "
	    "headers", r->r_lim.hl_header_bytes);
	return -1;
}

/* One more header line, its ": " and CRLF. */
static int
h1_line(struct h1_reader *r)
{
	if (++r->r_nlines > r->r_lim.hl_max_headers) {
		h1_fail(r, EGRESS_EPROTO, "upstream sent more than %zu "
		    "header lines", r->r_lim.hl_max_headers);
		return -1;
	}
	return h1_count(r, 4);
}

static int
h1_cb_begin(http_parser *hp)
{
	struct h1_reader	*r = hp->data;

	/* A final answer after a 1xx: only its headers are kept. */
	h1_result_drop(r);
	r->r_in_value = 0;
	r->r_in_body = 0;
	r->r_in_status = 0;
	return 0;
}

static int
h1_cb_status(http_parser *hp, const char *at, size_t n)
{
	struct h1_reader	*r = hp->data;

	/* "HTTP/1.1 200 " and the CRLF around the reason phrase, once. */
	if (!r->r_in_status) {
		r->r_in_status = 1;
		n += 15;
	}
	return h1_count(r, n);
}

static int
h1_cb_field(http_parser *hp, const char *at, size_t n)
{
	struct h1_reader	*r = hp->data;
	struct egress_result	*res = r->r_res;
	struct egress_header	*h;

	if (h1_count(r, n) == -1)
		return -1;
	if (r->r_in_body) {
		/* A trailer: counted, not kept (as on libcurl's path). */
		if (!r->r_in_value)
			return 0;
		r->r_in_value = 0;
		return h1_line(r);
	}
	if (res->er_nheaders > 0 && !r->r_in_value) {
		/* The name goes on in the next buffer. */
		h = &res->er_headers[res->er_nheaders - 1];
		return h1_append(res, &h->eh_name, &h->eh_namelen, at, n);
	}
	if (h1_line(r) == -1)
		return -1;
	if (res->er_nheaders == r->r_hcap) {
		r->r_hcap = r->r_hcap ? r->r_hcap * 2 : 16;
		if ((h = reallocarray(res->er_headers, r->r_hcap,
		    sizeof(*h))) == NULL)
			return -1;
		res->er_headers = h;
	}
	h = &res->er_headers[res->er_nheaders++];
	memset(h, 0, sizeof(*h));
	r->r_in_value = 0;
	r->r_fold = 0;
	/* The value is made when it comes (an empty one at the end). */
	return h1_append(res, &h->eh_name, &h->eh_namelen, at, n);
}

static int
h1_cb_value(http_parser *hp, const char *at, size_t n)
{
	struct h1_reader	*r = hp->data;
	struct egress_result	*res = r->r_res;
	struct egress_header	*h;

	if (h1_count(r, n) == -1)
		return -1;
	r->r_in_value = 1;
	if (r->r_in_body)
		return 0;
	/*
	 * Pieces are joined: cut by a buffer boundary, as they are; an
	 * obs-fold (a piece that starts a line) by one space.
	 */
	h = &res->er_headers[res->er_nheaders - 1];
	if ((at > r->r_buf ? at[-1] : r->r_last) == '\n')
		r->r_fold = 1;
	if (h->eh_valuelen == 0 || r->r_fold)
		while (n > 0 && (*at == ' ' || *at == '\t')) {
			at++;
			n--;
		}
	if (n == 0)
		return 0;
	if (r->r_fold && h->eh_valuelen > 0) {
		/* The value is the arena's last string: its end goes too. */
		while (h->eh_valuelen > 0 &&
		    (h->eh_value[h->eh_valuelen - 1] == ' ' ||
		    h->eh_value[h->eh_valuelen - 1] == '\t')) {
			h->eh_value[--h->eh_valuelen] = '\0';
			res->er_arenalen--;
		}
		if (h1_append(res, &h->eh_value, &h->eh_valuelen, " ", 1) == -1)
			return -1;
	}
	r->r_fold = 0;
	return h1_append(res, &h->eh_value, &h->eh_valuelen, at, n);
}

/* The content coding the final response names, or -1 for one we refuse. */
static int
h1_coding(struct h1_reader *r)
{
	struct egress_result	*res = r->r_res;
	const char		*v;
	size_t			 i;
	int			 coding = H1_CODING_NONE;

	for (i = 0; i < res->er_nheaders; i++) {
		if (res->er_headers[i].eh_namelen != 16 ||
		    !h1_lc_eq(res->er_headers[i].eh_name, "content-encoding",
		    16))
			continue;
		v = res->er_headers[i].eh_value;
		if (*v == '\0' || strcasecmp(v, "identity") == 0)
			continue;
		/* One coding at most, and one of those asked for. */
		if (coding != H1_CODING_NONE)
			return -1;
		if (strcasecmp(v, "gzip") == 0 || strcasecmp(v, "x-gzip") == 0)
			coding = H1_CODING_GZIP;
		else if (strcasecmp(v, "deflate") == 0)
			coding = H1_CODING_DEFLATE;
		else
			return -1;
	}
	return coding;
}

static int
h1_cb_headers_complete(http_parser *hp)
{
	struct h1_reader	*r = hp->data;
	struct egress_result	*res = r->r_res;
	struct egress_header	*h;
	int			 coding;
	size_t			 i;

	/*
	 * http-parser lets any character but ':' into a name: only tokens
	 * go on (RFC 9110 §5.1).  Trailing whitespace of every value goes,
	 * as on libcurl's path.
	 */
	for (i = 0; i < res->er_nheaders; i++) {
		h = &res->er_headers[i];
		if (!tok_is_token(h->eh_name, h->eh_namelen)) {
			h1_fail(r, EGRESS_EPROTO, "upstream sent a malformed "
			    "header line");
			return -1;
		}
		if (h->eh_value == NULL &&
		    h1_append(res, &h->eh_value, &h->eh_valuelen, "", 0) == -1)
			return -1;
		while (h->eh_valuelen > 0 &&
		    (h->eh_value[h->eh_valuelen - 1] == ' ' ||
		    h->eh_value[h->eh_valuelen - 1] == '\t'))
			h->eh_value[--h->eh_valuelen] = '\0';
	}
	if (hp->http_major != 1) {
		h1_fail(r, EGRESS_EPROTO, "upstream answered in HTTP/%u.%u",
		    hp->http_major, hp->http_minor);
		return -1;
	}
	/* Three digits, http-parser says; "044" is not a status either. */
	if (hp->status_code < 100) {
		h1_fail(r, EGRESS_EPROTO, "upstream answered with status %03u",
		    hp->status_code);
		return -1;
	}
	if (hp->status_code / 100 == 1) {
		if (hp->status_code == 101 || hp->upgrade) {
			h1_fail(r, EGRESS_EPROTO, "upstream switched "
			    "protocols");
			return -1;
		}
		/*
		 * Dropped when the next one begins.  A 1xx has no content
		 * (RFC 9110 15.2): a length it announces is not read, or
		 * the reader would wait for, and make room for, bytes that
		 * belong to the final answer.
		 */
		return 1;
	}
	res->er_status = hp->status_code;
	r->r_in_body = 1;
	r->r_in_value = 1;	/* a trailer's name starts a line */
	if (r->r_head)
		return 1;	/* no body follows */
	if ((coding = h1_coding(r)) == -1) {
		h1_fail(r, EGRESS_EPROTO, "upstream used a content coding "
		    "that was not asked for");
		return -1;
	}
	r->r_coding = coding;
	if (coding == H1_CODING_NONE && hp->content_length != ULLONG_MAX &&
	    hp->content_length > r->r_lim.hl_max_body) {
		h1_fail(r, EGRESS_ETOOBIG, "upstream body over %zu bytes",
		    r->r_lim.hl_max_body);
		return -1;
	}
	if (coding != H1_CODING_NONE) {
		memset(&r->r_z, 0, sizeof(r->r_z));
		r->r_z.zalloc = h1_zalloc;
		r->r_z.zfree = h1_zfree;
		/* 32: a gzip or a zlib header, whichever comes. */
		if (inflateInit2(&r->r_z, coding == H1_CODING_GZIP ?
		    15 + 16 : 15 + 32) != Z_OK)
			return -1;
		r->r_zinit = 1;
	}
	return 0;
}

/* n decoded bytes appended to the body, within the limit. */
static int
h1_body_add(struct h1_reader *r, const char *buf, size_t n)
{
	struct egress_result	*res = r->r_res;
	size_t			 cap;
	char			*nb;

	if (n > r->r_lim.hl_max_body - res->er_bodylen) {
		h1_fail(r, EGRESS_ETOOBIG, "upstream body over %zu bytes",
		    r->r_lim.hl_max_body);
		return -1;
	}
	/* Read in place (h1_reader_room): nothing to copy. */
	if (res->er_body != NULL && buf == res->er_body + res->er_bodylen) {
		if (r->r_bodycap - res->er_bodylen <= n) {
			h1_fail(r, EGRESS_EINTERNAL, "body read past its room");
			return -1;
		}
		res->er_bodylen += n;
		res->er_body[res->er_bodylen] = '\0';
		return 0;
	}
	if (r->r_bodycap - res->er_bodylen <= n) {
		/*
		 * The first time, room for the announced length (what the
		 * parser has yet to read, and this piece).
		 */
		if (r->r_bodycap == 0 && r->r_coding == H1_CODING_NONE &&
		    (r->r_hp.flags & F_CHUNKED) == 0 &&
		    r->r_hp.content_length <= r->r_lim.hl_max_body)
			cap = res->er_bodylen + n +
			    (size_t)r->r_hp.content_length + 1;
		else
			cap = r->r_bodycap ? r->r_bodycap : H1_BODY_CHUNK;
		/* Whatever was announced, never room past the limit. */
		if (cap > r->r_lim.hl_max_body + 1)
			cap = r->r_lim.hl_max_body + 1;
		while (cap - res->er_bodylen <= n)
			cap = cap > r->r_lim.hl_max_body / 2 ?
			    r->r_lim.hl_max_body + 1 : cap * 2;
		if ((nb = keeper_body_alloc(cap)) == NULL)
			return -1;
		if (res->er_body != NULL)
			memcpy(nb, res->er_body, res->er_bodylen);
		keeper_body_free(res->er_body, res->er_body != NULL ?
		    res->er_bodylen + 1 : 0);
		res->er_body = nb;
		r->r_bodycap = cap;
	}
	memcpy(res->er_body + res->er_bodylen, buf, n);
	res->er_bodylen += n;
	res->er_body[res->er_bodylen] = '\0';
	return 0;
}

static int
h1_inflate(struct h1_reader *r, const char *at, size_t n)
{
	unsigned char	 out[H1_INFLATE_OUT];
	size_t		 got, dirty = 0;
	int		 zr, rv = -1, fresh = r->r_z.total_in == 0;

	r->r_z.next_in = (unsigned char *)(uintptr_t)at;
	r->r_z.avail_in = (uInt)n;
	do {
		r->r_z.next_out = out;
		r->r_z.avail_out = sizeof(out);
		zr = inflate(&r->r_z, Z_NO_FLUSH);
		/* What it wrote (the most of any round) is wiped at the end. */
		got = sizeof(out) - r->r_z.avail_out;
		if (got > dirty)
			dirty = got;
		if (zr == Z_DATA_ERROR && r->r_coding == H1_CODING_DEFLATE &&
		    fresh && !r->r_zraw) {
			/* "deflate" sent raw, without the zlib wrapper. */
			inflateEnd(&r->r_z);
			memset(&r->r_z, 0, sizeof(r->r_z));
			r->r_z.zalloc = h1_zalloc;
			r->r_z.zfree = h1_zfree;
			if (inflateInit2(&r->r_z, -15) != Z_OK) {
				r->r_zinit = 0;
				goto out;
			}
			r->r_zraw = 1;
			r->r_z.next_in = (unsigned char *)(uintptr_t)at;
			r->r_z.avail_in = (uInt)n;
			continue;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			h1_fail(r, EGRESS_EPROTO, "upstream sent a body that "
			    "does not decode");
			goto out;
		}
		if (got > 0 && h1_body_add(r, (char *)out, got) == -1)
			goto out;
		if (zr == Z_STREAM_END)
			break;
	} while (r->r_z.avail_in > 0 || r->r_z.avail_out == 0);
	rv = 0;
out:
	explicit_bzero(out, dirty);
	return rv;
}

static int
h1_cb_body(http_parser *hp, const char *at, size_t n)
{
	struct h1_reader	*r = hp->data;

	if (r->r_coding != H1_CODING_NONE)
		return h1_inflate(r, at, n);
	return h1_body_add(r, at, n);
}

static int
h1_cb_complete(http_parser *hp)
{
	struct h1_reader	*r = hp->data;

	if (hp->status_code / 100 == 1)
		return 0;
	r->r_done = 1;
	r->r_keepalive = http_should_keep_alive(hp);
	/* Whatever follows is not this answer's: stop here. */
	http_parser_pause(hp, 1);
	return 0;
}

/* The longest Content-Length h1_fast reads (larger: the slow path). */
#define H1_FAST_DIGITS	15
/* The most header lines h1_fast reads (more: the slow path). */
#define H1_FAST_LINES	48

/* A header line h1_fast found: name and value, the value trimmed. */
struct h1_fast_line {
	const char	*fl_name;
	size_t		 fl_namelen;
	const char	*fl_value;
	size_t		 fl_valuelen;
};

enum {
	H1_FAST_PLAIN,		/* copied as it is */
	H1_FAST_LENGTH,		/* Content-Length: read by h1_fast */
	H1_FAST_CONN,		/* Connection: only keep-alive is read */
	H1_FAST_NO		/* the slow path judges it */
};

/*
 * What a field name is to h1_fast.  By prefix: http-parser takes
 * "Transfer-Encodingx" for the field it begins with (check_h1 found it).
 * Only names starting with c, p, t or u long enough to hold one of
 * content-length, connection, content-encoding, proxy-connection,
 * transfer-encoding or upgrade are compared at all, inline: the headers
 * every answer has (Server, Date, Content-Type ...) cost no call.
 */
static int
h1_fast_name(const char *n, size_t len)
{
	switch (n[0] | 0x20) {
	case 'c':
		if (len >= 10 && h1_lc_eq(n, "connection", 10))
			return len == 10 ? H1_FAST_CONN : H1_FAST_NO;
		if (len >= 14 && h1_lc_eq(n, "content-length", 14))
			return len == 14 ? H1_FAST_LENGTH : H1_FAST_NO;
		if (len >= 16 && h1_lc_eq(n, "content-encoding", 16))
			return H1_FAST_NO;
		break;
	case 'p':
		if (len >= 16 && h1_lc_eq(n, "proxy-connection", 16))
			return H1_FAST_NO;
		break;
	case 't':
		if (len >= 17 && h1_lc_eq(n, "transfer-encoding", 17))
			return H1_FAST_NO;
		break;
	case 'u':
		if (len >= 7 && h1_lc_eq(n, "upgrade", 7))
			return H1_FAST_NO;
		break;
	}
	return H1_FAST_PLAIN;
}

/* SP and the visible ASCII characters: what a value may hold, with HTAB. */
#define H1_FAST_VCHAR(c)	((unsigned char)((c) - 0x20) < 0x5f)

/* The end of a run of value bytes from p (the first byte that is not). */
static const char *
h1_fast_value_end(const char *p, const char *end)
{
	while (p < end && (H1_FAST_VCHAR(*p) || *p == '\t'))
		p++;
	return p;
}

/*
 * A whole "HTTP/1.1 NNN reason" answer (a status of 200-599 other than
 * 204 and 304) in buf: header lines of a token, ':', spaces, a value of
 * visible ASCII, SP and HTAB not starting with a tab, each ended by CRLF
 * (so no fold); one Content-Length of digits and all its body in buf; no
 * Connection other than keep-alive and no field h1_fast_name leaves to
 * the slow path; the limits not within reach.  1: read into the result
 * (*usedp set); 0: not this kind of answer, and nothing was changed; -1:
 * out of memory.
 */
static int
h1_fast(struct h1_reader *r, const char *buf, size_t len, size_t *usedp)
{
	struct h1_fast_line	 ln[H1_FAST_LINES], *l;
	struct egress_result	*res = r->r_res;
	struct egress_header	*h;
	const char		*p, *end = buf + len, *v, *ve, *d;
	size_t			 nh = 0, arena = 0, cl = 0, i, need;
	int			 status, havecl = 0;
	char			*q;

	if (r->r_head || len < 19 || memcmp(buf, "HTTP/1.1 ", 9) != 0 ||
	    buf[9] < '2' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' || buf[12] != ' ')
		return 0;
	status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + buf[11] - '0';
	if (status == 204 || status == 304)
		return 0;
	p = h1_fast_value_end(buf + 13, end);
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return 0;
	for (p += 2;; p += 2) {
		if (end - p < 2)
			return 0;
		if (p[0] == '\r' && p[1] == '\n')
			break;
		if (nh == H1_FAST_LINES)
			return 0;
		l = &ln[nh++];
		for (l->fl_name = p; p < end && tok_tchar((unsigned char)*p);
		    p++)
			;
		if (p == l->fl_name || p == end || *p != ':')
			return 0;
		l->fl_namelen = (size_t)(p - l->fl_name);
		/* http-parser takes a tab there only in some fields. */
		for (p++; p < end && *p == ' '; p++)
			;
		v = p;
		p = h1_fast_value_end(p, end);
		/* A folded line next would start with no token: declined. */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n' ||
		    (v < p && *v == '\t'))
			return 0;
		for (ve = p; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		l->fl_value = v;
		l->fl_valuelen = (size_t)(ve - v);
		arena += l->fl_namelen + l->fl_valuelen + 2;
		switch (h1_fast_name(l->fl_name, l->fl_namelen)) {
		case H1_FAST_LENGTH:
			if (havecl || ve == v || ve - v > H1_FAST_DIGITS)
				return 0;
			/* A tab after it (mostly nothing is): no call. */
			for (d = ve; d < p; d++)
				if (*d == '\t')
					return 0;
			havecl = 1;
			for (d = v; d < ve; d++) {
				if (*d < '0' || *d > '9')
					return 0;
				cl = cl * 10 + (size_t)(*d - '0');
			}
			break;
		case H1_FAST_CONN:
			if (ve - v != 10 || !h1_lc_eq(v, "keep-alive", 10))
				return 0;
			break;
		case H1_FAST_NO:
			return 0;
		}
	}
	p += 2;
	/* What http-parser's path counts is at most the bytes plus one a
	 * line: well inside the limits, or that path decides. */
	if (!havecl || nh > r->r_lim.hl_max_headers ||
	    (size_t)(p - buf) + nh > r->r_lim.hl_header_bytes ||
	    cl > r->r_lim.hl_max_body || cl > (size_t)(end - p))
		return 0;

	/*
	 * Copied into the result (there is one line at least): the lines
	 * and their strings in one block, the arena, the lines first.
	 */
	need = nh * sizeof(*res->er_headers) + arena;
	if ((q = h1_block_new(need, &res->er_arenacap)) == NULL)
		goto oom;
	res->er_arena = q;
	res->er_headers = (struct egress_header *)(void *)q;
	r->r_hcap = nh;
	q += nh * sizeof(*res->er_headers);
	for (i = 0; i < nh; i++) {
		h = &res->er_headers[i];
		h->eh_name = q;
		h->eh_namelen = ln[i].fl_namelen;
		memcpy(q, ln[i].fl_name, h->eh_namelen);
		q += h->eh_namelen;
		*q++ = '\0';
		h->eh_value = q;
		h->eh_valuelen = ln[i].fl_valuelen;
		memcpy(q, ln[i].fl_value, h->eh_valuelen);
		q += h->eh_valuelen;
		*q++ = '\0';
	}
	res->er_nheaders = nh;
	res->er_arenalen = need;
	if (cl > 0) {
		if ((res->er_body = keeper_body_alloc(cl + 1)) == NULL)
			goto oom;
		memcpy(res->er_body, p, cl);
		res->er_body[cl] = '\0';
		res->er_bodylen = cl;
		r->r_bodycap = cl + 1;
	}
	res->er_status = status;
	r->r_done = 1;
	r->r_keepalive = 1;
	r->r_wasfast = 1;
	*usedp = (size_t)(p - buf) + cl;
	return 1;
oom:
	h1_fail(r, EGRESS_EINTERNAL, "out of memory");
	h1_result_drop(r);
	return -1;
}

/* Readers freed, for the next calls' (one a call on a keeper connection). */
static struct spare	 h1_spare;

struct h1_reader *
h1_reader_new(void)
{
	struct h1_reader	*r;

	/* A kept one is zeroed here, as calloc's would be. */
	if ((r = spare_take(&h1_spare, NULL)) != NULL)
		memset(r, 0, sizeof(*r));
	else if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	http_parser_settings_init(&r->r_settings);
	r->r_settings.on_message_begin = h1_cb_begin;
	r->r_settings.on_status = h1_cb_status;
	r->r_settings.on_header_field = h1_cb_field;
	r->r_settings.on_header_value = h1_cb_value;
	r->r_settings.on_headers_complete = h1_cb_headers_complete;
	r->r_settings.on_body = h1_cb_body;
	r->r_settings.on_message_complete = h1_cb_complete;
	return r;
}

static void
h1_zend(struct h1_reader *r)
{
	if (r->r_zinit)
		inflateEnd(&r->r_z);	/* its window wiped (h1_zfree) */
	r->r_zinit = 0;
}

size_t
h1_reader_room(struct h1_reader *r, char **pp)
{
	struct egress_result	*res = r->r_res;
	uint64_t		 left = r->r_hp.content_length;

	*pp = NULL;
	if (res == NULL || r->r_done || !r->r_in_body || r->r_head ||
	    r->r_coding != H1_CODING_NONE || (r->r_hp.flags & F_CHUNKED) ||
	    left == 0 || left == ULLONG_MAX || res->er_body == NULL ||
	    res->er_error != EGRESS_OK ||
	    r->r_bodycap - res->er_bodylen <= left)
		return 0;
	*pp = res->er_body + res->er_bodylen;
	return (size_t)left + 1;
}

void
h1_reader_free(struct h1_reader *r)
{
	if (r == NULL)
		return;
	h1_zend(r);
	free(spare_put(&h1_spare, r, sizeof(*r)));
}

void
h1_reader_start(struct h1_reader *r, const struct h1_limits *lim, int head,
    struct egress_result *res)
{
	h1_zend(r);
	http_parser_init(&r->r_hp, HTTP_RESPONSE);
	r->r_hp.data = r;
	r->r_res = res;
	r->r_lim = *lim;
	r->r_head = head;
	r->r_coding = H1_CODING_NONE;
	r->r_zraw = 0;
	r->r_in_value = 0;
	r->r_in_body = 0;
	r->r_done = 0;
	r->r_keepalive = 0;
	r->r_fed = 0;
	r->r_wasfast = 0;
	r->r_hbytes = 0;
	r->r_nlines = 0;
	r->r_buf = NULL;
	r->r_last = '\0';
	h1_result_drop(r);
	res->er_error = EGRESS_OK;
	res->er_msg[0] = '\0';
	res->er_status = 0;
}

/* After a parser error: the reason, if no callback gave one. */
static enum h1_rc
h1_parse_failed(struct h1_reader *r)
{
	enum http_errno	 e = HTTP_PARSER_ERRNO(&r->r_hp);

	if (e == HPE_CB_headers_complete || e == HPE_CB_header_field ||
	    e == HPE_CB_header_value || e == HPE_CB_body ||
	    e == HPE_CB_status || e == HPE_CB_message_begin)
		h1_fail(r, EGRESS_EINTERNAL, "out of memory");
	else
		h1_fail(r, EGRESS_EPROTO, "upstream sent a malformed "
		    "response (%s)", http_errno_name(e));
	h1_zend(r);
	h1_result_drop(r);
	return H1_FAIL;
}

enum h1_rc
h1_reader_feed(struct h1_reader *r, const char *buf, size_t len,
    size_t *usedp)
{
	size_t	 n;

	*usedp = 0;
	if (r->r_done)
		return H1_DONE;
	if (r->r_res->er_error != EGRESS_OK)
		return H1_FAIL;
	/* One try, on the answer's first bytes. */
	if (!r->r_fed && len > 0 && !r->r_nofast) {
		switch (h1_fast(r, buf, len, usedp)) {
		case 1:
			return H1_DONE;
		case -1:
			return H1_FAIL;
		}
	}
	r->r_fed = 1;
	r->r_buf = buf;
	n = http_parser_execute(&r->r_hp, &r->r_settings, buf, len);
	if (len > 0)
		r->r_last = buf[len - 1];
	*usedp = n;
	if (r->r_done) {
		h1_zend(r);
		return H1_DONE;
	}
	if (HTTP_PARSER_ERRNO(&r->r_hp) != HPE_OK || n != len)
		return h1_parse_failed(r);
	return H1_MORE;
}

enum h1_rc
h1_reader_eof(struct h1_reader *r)
{
	if (r->r_done)
		return H1_DONE;
	if (r->r_res->er_error != EGRESS_OK)
		return H1_FAIL;
	/* A body that runs to the close ends here; anything else is cut. */
	http_parser_execute(&r->r_hp, &r->r_settings, NULL, 0);
	if (r->r_done) {
		r->r_keepalive = 0;
		h1_zend(r);
		return H1_DONE;
	}
	if (HTTP_PARSER_ERRNO(&r->r_hp) != HPE_OK &&
	    HTTP_PARSER_ERRNO(&r->r_hp) != HPE_INVALID_EOF_STATE)
		return h1_parse_failed(r);
	h1_fail(r, EGRESS_EPROTO, "upstream closed the connection before "
	    "the end of its answer");
	h1_zend(r);
	h1_result_drop(r);
	return H1_FAIL;
}

int
h1_reader_keepalive(const struct h1_reader *r)
{
	return r->r_done && r->r_keepalive;
}

void
h1_reader_set_fast(struct h1_reader *r, int on)
{
	r->r_nofast = !on;
}

int
h1_reader_was_fast(const struct h1_reader *r)
{
	return r->r_done && r->r_wasfast;
}
