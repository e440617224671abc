/*
 * keeper_h1.h — the keeper's own HTTP/1.1 exchange on a connection that
 * is already open (and, for https, already through TLS): the request
 * written into one buffer, the response read with http-parser into an
 * egress_result under the limits keeper_egress.c applies.
 *
 * Why: libcurl's HTTP layer is about 100,000 instructions a call (the
 * request assembled a byte at a time, every header line matched against
 * its own, a 16 KiB buffer per transfer), most of the keeper's CPU time
 * per proxied request.  libcurl still resolves, applies the egress policy
 * at connect time and does TLS (CURLOPT_CONNECT_ONLY); the bytes of
 * the exchange is this file's (keeper_egress.c, egress_direct_*).
 *
 * Secret-derived bytes: the request buffer holds the call's headers and
 * body (wipe it with keeper_secret_free); the result's headers and body
 * are wiped when the result is cleared, and every buffer the reader drops
 * on the way (a header value grown, a body moved) is wiped first.
 */
#ifndef WIDGETD_KEEPER_H1_H
#define WIDGETD_KEEPER_H1_H

#include <stddef.h>

#include "keeper_egress.h"

/* What the request head holds besides the call's own fields. */
struct h1_request {
	const char	*hr_method;	/* GET POST PUT PATCH DELETE HEAD
					   OPTIONS (checked by the caller) */
	const char	*hr_target;	/* path and query, as sent */
	const char	*hr_host;	/* the Host header: host[:port] */
	const struct egress_field *hr_fields; /* checked by the caller */
	size_t		 hr_nfields;
	const void	*hr_body;	/* NULL: none */
	size_t		 hr_bodylen;
	/* Lengths the caller knows already; 0 or NULL: measured here. */
	size_t		 hr_methodlen;
	size_t		 hr_targetlen;
	size_t		 hr_hostlen;
	const size_t	(*hr_flens)[2];	/* each field's name and value */
};

/*
 * The whole request, head and body, in one buffer (*lenp bytes, in a
 * block of *capp):
 * Host, then Accept and Accept-Encoding unless the fields name them, the
 * fields in order (an empty value is sent empty), Content-Length when
 * there is a body or the method is POST, PUT or PATCH.  NULL when out of
 * memory.  The caller gives it back with h1_block_free(buf, *lenp + 1,
 * *capp), which wipes it.
 */
char		*h1_request_write(const struct h1_request *, size_t *lenp,
		    size_t *capp);

struct h1_limits {
	size_t		 hl_max_headers;	/* header lines */
	size_t		 hl_header_bytes;	/* bytes of the header block */
	size_t		 hl_max_body;		/* decoded body bytes */
};

enum h1_rc {
	H1_MORE,	/* feed more bytes (or h1_reader_eof) */
	H1_DONE,	/* a whole final response is in the result */
	H1_FAIL		/* res->er_error and er_msg say why */
};

struct h1_reader;

/*
 * A request (h1_request_write's, of *capp bytes) or a result's er_arena
 * (er_arenacap), wiped and kept for the next call's (spare.h), or freed
 * (NULL is a no-op); h1_blocks_free frees the kept ones (a test starts
 * from none).  The reader's fast path puts the result's er_headers at
 * the start of its arena: then they go with it.  used: how far it was
 * written (a request's length and its NUL, er_arenalen), the only bytes
 * wiped: every block is made all zeroes, and nothing writes past that
 * but zeroes, so a block kept is all zeroes again.
 */
void		 h1_block_free(char *, size_t used, size_t cap);
void		 h1_blocks_free(void);

struct h1_reader *h1_reader_new(void);
void		 h1_reader_free(struct h1_reader *);
/*
 * Read the answer to one request into res (cleared first; the caller
 * keeps it and clears it with the rest of its call).  head: the request
 * was HEAD, so no body follows whatever the headers say.
 */
void		 h1_reader_start(struct h1_reader *, const struct h1_limits *,
		    int head, struct egress_result *res);
/*
 * Bytes as they arrive.  *usedp: how many belonged to the response
 * (after H1_DONE the rest is a protocol error on an idle connection).
 * A 1xx response is read and dropped; the final one is kept.
 */
enum h1_rc	 h1_reader_feed(struct h1_reader *, const char *, size_t,
		    size_t *usedp);
/*
 * Where the rest of a Content-Length body may be read straight into the
 * answer's body, and how many bytes fit there: the rest and one more
 * (a byte past the answer is then seen, as in any read).  Feeding the
 * bytes read at *pp costs no copy.  0 while anything else is being read
 * (headers, chunks, a coded body, the first bytes of a body).
 */
size_t		 h1_reader_room(struct h1_reader *, char **pp);
/* The upstream closed: H1_DONE only for a body delimited by the close. */
enum h1_rc	 h1_reader_eof(struct h1_reader *);
/* After H1_DONE: may the connection carry another request? */
int		 h1_reader_keepalive(const struct h1_reader *);
/*
 * For tests: the fast path for a whole Content-Length answer on (the
 * default) or off, and whether it read the answer just finished.
 */
void		 h1_reader_set_fast(struct h1_reader *, int on);
int		 h1_reader_was_fast(const struct h1_reader *);

#endif
