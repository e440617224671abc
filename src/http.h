/*
 * http.h — strict HTTP/1.1 request parsing (on http-parser) and response
 * writing, for the worker.  No sockets here: the worker feeds bytes in and
 * takes bytes out, so the parser is unit-tested and fuzzed on its own.
 */
#ifndef WIDGETD_HTTP_H
#define WIDGETD_HTTP_H

#include <stddef.h>

struct evbuffer;

/* A zero member means its default. */
struct http_limits {
	size_t		 hl_header_bytes;	/* request line + headers, default 64 KiB */
	int		 hl_max_headers;	/* default 100 */
	size_t		 hl_body;		/* default 1 MiB */
	int		 hl_gate;		/* stop after the header block
						   of a request with a body:
						   HTTP_HEADERS */
};

struct http_header {
	char		*h_name;	/* as received */
	char		*h_value;	/* OWS trimmed */
};

struct http_request {
	char		*r_method;	/* "GET" … */
	char		*r_target;	/* request-target as received */
	char		*r_path;	/* decoded path component */
	char		*r_query;	/* raw query string ("" for "/p?"), NULL
					   when the target has no '?' */
	int		 r_version_minor;
	struct http_header *r_headers;
	size_t		 r_nheaders;
	char		*r_body;	/* never NULL ("" when no body); NUL-
					   terminated, may hold NULs */
	size_t		 r_bodylen;
	int		 r_keepalive;	/* the client allows reuse */
	char		*r_arena;	/* the parser's: the header block as
					   received, which r_method, r_target,
					   r_path, r_query and every header's
					   name and value point into; NULL when
					   each is malloc'd on its own */
	size_t		 r_arenacap;	/* bytes r_arena was given */
	int		 r_inline;	/* the parser's: r_headers, and r_body
					   while empty, lie in r's own block */
};

/* Case-insensitive lookup; NULL when absent. */
const char	*http_request_header(const struct http_request *, const char *name);
/* The same when the request carries the header exactly once, else NULL. */
const char	*http_request_header_once(const struct http_request *,
		    const char *name);

enum http_status {
	HTTP_NEED_MORE = 0,	/* feed more bytes */
	HTTP_DONE,		/* one request complete; take it */
	HTTP_HEADERS,		/* hl_gate: the header block of a request with
				   a body is in, no body byte read yet; feed
				   on to read it, or http_take_headers() */
	HTTP_ERROR		/* answer *errstatus (400/413/431/505…) and close */
};

struct http_parser_state;

struct http_parser_state *http_parser_state_new(const struct http_limits *);
void		 http_parser_state_free(struct http_parser_state *);
/*
 * Feed len bytes.  *consumed says how many were used; the rest (a pipelined
 * next request) must be fed again after the current request is taken.
 * On HTTP_DONE, http_take_request() hands the request over and resets the
 * parser for the next one (until then every feed returns HTTP_DONE and
 * consumes nothing).  On HTTP_ERROR, *errstatus (400, 413, 431, 501, 505;
 * 500 only when out of memory) and *errmsg (a static string, for the debug
 * log) explain; the error is sticky, the connection must be closed after
 * the answer, and *consumed is then unspecified.
 */
enum http_status http_feed(struct http_parser_state *, const char *buf,
		    size_t len, size_t *consumed, int *errstatus,
		    const char **errmsg);
/* True once a request line has started (for 408 versus silent close). */
int		 http_in_progress(const struct http_parser_state *);
/*
 * True once per request when an HTTP/1.1 request with "Expect:
 * 100-continue" has complete headers and its body is still to come: the
 * caller may then write http_write_response(out, 100, NULL, NULL, 0, 1, 0).
 */
int		 http_expects_continue(struct http_parser_state *);
struct http_request *http_take_request(struct http_parser_state *);
/*
 * While a request's body is still to come: the request as far as it is
 * parsed (method, target, path, fields; the body so far), or NULL.
 */
const struct http_request *http_peek_request(const struct http_parser_state *);
/*
 * Hand over that request without its body (r_body ""): the caller answers
 * it without reading the body.  The parser is then failed for good: the
 * connection must close after the answer.  NULL when no body is to come.
 */
struct http_request *http_take_headers(struct http_parser_state *);
/* The body's declared length (Content-Length); 0 and *chunked when chunked. */
size_t		 http_body_declared(const struct http_parser_state *,
		    int *chunked);
/* Body bytes of the current request held by the parser so far. */
size_t		 http_body_buffered(const struct http_parser_state *);
void		 http_request_free(struct http_request *);

/*
 * Write a complete response.  hdrs is a NULL-terminated array of
 * "Name: value" strings (no CR/LF inside: refused, returns -1).
 * Content-Length and Connection are added here (a caller's Content-Length,
 * Transfer-Encoding or Connection is refused, -1).  1xx, 204 and 304 get
 * neither Content-Length nor body; head_only keeps the length, drops the
 * body.  Nothing is written when -1 is returned for a refused argument.
 */
int		 http_write_response(struct evbuffer *out, int status,
		    const char *const *hdrs, const void *body, size_t bodylen,
		    int keepalive, int head_only);
/*
 * The same with a body the caller gives away, for a large one that should
 * not be copied: it goes into out by reference, and out calls
 * release(body, bodylen, arg) once it is written or out is freed.  A body
 * that is not sent (1xx, 204, 304, head_only, empty, or -1 returned) is
 * released before the call returns.  Either way release runs exactly once.
 */
typedef void	(*http_release_fn)(const void *body, size_t len, void *arg);
int		 http_write_response_given(struct evbuffer *out, int status,
		    const char *const *hdrs, const void *body, size_t bodylen,
		    int keepalive, int head_only, http_release_fn release,
		    void *arg);
const char	*http_reason(int status);

#endif
