#include "build.h"

/*
 * http.c — strict HTTP/1.1 request framing for the worker, and responses.
 *
 * Two parsers look at every request byte.  Our own scanner runs first and
 * enforces the framing rules that keep widgetd safe behind other proxies
 * (CRLF only, no obs-fold, no NUL or controls, one Content-Length or exactly
 * "Transfer-Encoding: chunked", a strict chunk grammar, limits).  Only bytes
 * it has accepted are handed to http-parser, which extracts the method,
 * target, fields and decoded body.  Where both parse the same thing (method,
 * target, field count, end of message) they must agree, or the request is
 * refused: a disagreement between two parsers is exactly what smuggling
 * exploits.
 *
 * The header block is kept whole (it is bounded by hl_header_bytes) and
 * given to http-parser once its final empty line has been checked, so no
 * field reaches the request before every line of the block is validated.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <event2/buffer.h>
/* http_parser.h has its own enum http_status; keep ours the visible one. */
#define http_status hp_http_status
#include <http_parser.h>
#undef http_status

#include "decimal.h"
#include "http.h"
#include "spare.h"
#include "token.h"

#define HTTP_DEF_HEADER_BYTES	(64 * 1024)
#define HTTP_DEF_MAX_HEADERS	100
#define HTTP_DEF_BODY		(1024 * 1024)
#define HTTP_CHUNK_LINE_MAX	4096	/* chunk-size line with extensions */
#define HTTP_HEAD_MAX		4096	/* a response head built in one piece */
#define HTTP_OUT_LENS		64	/* headers whose length is kept, checked */
#define HTTP_ONE_CHAIN		(64 * 1024) /* body copied beside its head */

enum http_phase {
	PH_START,		/* before the request line */
	PH_START_CR,		/* CR of an empty line before the request line */
	PH_LINE,		/* inside the request line or a field line */
	PH_LINE_CR,		/* CR ending such a line */
	PH_LINE_START,		/* first byte of a field line or the end */
	PH_END_CR,		/* CR of the empty line ending headers/trailers */
	PH_BODY_LENGTH,		/* Content-Length body */
	PH_CHUNK_SIZE,		/* hex digits of a chunk size */
	PH_CHUNK_EXT,		/* after the size or an extension: ';' or CR */
	PH_CHUNK_EXT_NAME0,	/* first byte of an extension name (BWS ok) */
	PH_CHUNK_EXT_NAME,	/* inside an extension name */
	PH_CHUNK_EXT_EQ,	/* after a name: '=' ';' or CR (BWS ok) */
	PH_CHUNK_EXT_VAL0,	/* first byte of an extension value (BWS ok) */
	PH_CHUNK_EXT_TOKEN,	/* inside a token value */
	PH_CHUNK_EXT_QS,	/* inside a quoted-string value */
	PH_CHUNK_EXT_QP,	/* after a backslash in a quoted-string */
	PH_CHUNK_EXT_BWS,	/* whitespace after a value */
	PH_CHUNK_SIZE_LF,	/* LF ending the chunk-size line */
	PH_CHUNK_DATA,		/* chunk data */
	PH_CHUNK_DATA_CR,	/* CR after chunk data */
	PH_CHUNK_DATA_LF,	/* LF after chunk data */
	PH_DONE,		/* a request waits for http_take_request() */
	PH_ERROR		/* sticky: the connection must be closed */
};

struct http_parser_state {
	struct http_limits	 ps_limits;
	http_parser		 ps_hp;
	http_parser_settings	 ps_settings;
	enum http_phase		 ps_phase;
	int			 ps_in_progress;
	int			 ps_in_trailer;

	/* Header block (later the trailer section) as received. */
	char			*ps_hbuf;
	size_t			 ps_hlen;
	size_t			 ps_hcap;
	size_t			 ps_line;	/* offset of the current line */

	/* What the scanner learned from the request line and fields. */
	int			 ps_have_reqline;
	size_t			 ps_method_off, ps_method_len;
	size_t			 ps_target_off, ps_target_len;
	int			 ps_minor;
	int			 ps_nfields;
	int			 ps_ntrailers;
	int			 ps_have_cl;
	size_t			 ps_cl;
	int			 ps_have_te;
	int			 ps_nhost;
	int			 ps_conn_close;
	int			 ps_conn_keepalive;
	int			 ps_expect;	/* Expect: 100-continue seen */
	int			 ps_expect_told;
	int			 ps_gated;	/* HTTP_HEADERS told for this one */

	/* Body framing state. */
	size_t			 ps_body_left;	/* Content-Length bytes to come */
	size_t			 ps_chunk_size;	/* size being read, then left */
	size_t			 ps_chunk_digits;
	size_t			 ps_chunk_line;	/* bytes of the chunk-size line */
	size_t			 ps_chunk_meta;	/* bytes of all chunk-size lines */
	size_t			 ps_body_declared;

	/* What http-parser handed us through its callbacks. */
	struct http_request	*ps_req;
	size_t			 ps_bodycap;
	int			 ps_hp_fields;
	int			 ps_hp_in_value;
	int			 ps_hp_headers_done;
	int			 ps_hp_complete;
	int			 ps_hp_oom;
	size_t			 ps_hp_tlen;	/* of r_target, in the arena */
	size_t			*ps_hp_lens;	/* name, value length a field */
	size_t			 ps_hp_lenscap;

	int			 ps_errstatus;
	const char		*ps_errmsg;
};

static int
http_is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

static void
http_fail(struct http_parser_state *ps, int status, const char *msg)
{
	ps->ps_phase = PH_ERROR;
	ps->ps_errstatus = status;
	ps->ps_errmsg = msg;
}

/*
 * Header blocks kept for the next requests (spare.h): on a keep-alive
 * stream every request would otherwise allocate one and free it again.
 * Only ordinary ones: a burst of large headers leaves no large blocks
 * behind (at most SPARE_MAX x HTTP_SPARE_MAX bytes are kept).
 */
#define HTTP_SPARE_MAX	4096
static struct spare	 http_spare;

static void
http_spare_put(char *b, size_t cap)
{
	free(cap <= HTTP_SPARE_MAX ? spare_put(&http_spare, b, cap) : b);
}

/*
 * A parsed request is one block: the struct, an empty body and the
 * header slots the scanner counted.  A body that arrives moves to a
 * buffer of its own.
 */
struct http_block {
	struct http_request	 rb_req;
	char			 rb_empty[8];
	struct http_header	 rb_headers[];
};

static struct http_block *
http_block(struct http_request *r)
{
	return (struct http_block *)r;
}

void
http_request_free(struct http_request *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	if (r->r_arena != NULL)
		http_spare_put(r->r_arena, r->r_arenacap);
	else {
		free(r->r_method);
		free(r->r_target);
		free(r->r_path);
		free(r->r_query);
		for (i = 0; i < r->r_nheaders; i++) {
			free(r->r_headers[i].h_name);
			free(r->r_headers[i].h_value);
		}
	}
	if (!r->r_inline || r->r_headers != http_block(r)->rb_headers)
		free(r->r_headers);
	if (!r->r_inline || r->r_body != http_block(r)->rb_empty)
		free(r->r_body);
	free(r);
}

const char *
http_request_header(const struct http_request *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->r_nheaders; i++)
		if (strcasecmp(r->r_headers[i].h_name, name) == 0)
			return r->r_headers[i].h_value;
	return NULL;
}

const char *
http_request_header_once(const struct http_request *r, const char *name)
{
	const char	*v = NULL;
	size_t		 i;

	for (i = 0; i < r->r_nheaders; i++)
		if (strcasecmp(r->r_headers[i].h_name, name) == 0) {
			if (v != NULL)
				return NULL;
			v = r->r_headers[i].h_value;
		}
	return v;
}

/*
 * The header block is no longer needed once parsed; an idle keep-alive
 * connection should cost only this structure.
 */
static void
http_hbuf_release(struct http_parser_state *ps)
{
	if (ps->ps_hbuf != NULL)
		http_spare_put(ps->ps_hbuf, ps->ps_hcap);
	ps->ps_hbuf = NULL;
	ps->ps_hcap = ps->ps_hlen = ps->ps_line = 0;
}

/* Forget everything about the current request; keep the limits. */
static void
http_state_reset(struct http_parser_state *ps)
{
	http_request_free(ps->ps_req);
	ps->ps_req = NULL;
	http_hbuf_release(ps);
	ps->ps_phase = PH_START;
	ps->ps_in_progress = 0;
	ps->ps_in_trailer = 0;
	ps->ps_have_reqline = 0;
	ps->ps_method_off = ps->ps_method_len = 0;
	ps->ps_target_off = ps->ps_target_len = 0;
	ps->ps_minor = 0;
	ps->ps_nfields = ps->ps_ntrailers = 0;
	ps->ps_have_cl = 0;
	ps->ps_cl = 0;
	ps->ps_have_te = 0;
	ps->ps_nhost = 0;
	ps->ps_conn_close = ps->ps_conn_keepalive = 0;
	ps->ps_expect = ps->ps_expect_told = ps->ps_gated = 0;
	ps->ps_body_left = 0;
	ps->ps_chunk_size = ps->ps_chunk_digits = ps->ps_chunk_line = 0;
	ps->ps_chunk_meta = 0;
	ps->ps_body_declared = 0;
	ps->ps_bodycap = 0;
	ps->ps_hp_fields = 0;
	ps->ps_hp_in_value = 0;
	ps->ps_hp_headers_done = 0;
	ps->ps_hp_complete = 0;
	ps->ps_hp_oom = 0;
	ps->ps_errstatus = 0;
	ps->ps_errmsg = NULL;
	http_parser_init(&ps->ps_hp, HTTP_REQUEST);
	ps->ps_hp.data = ps;
}

/*
 * http-parser runs over the whole header block at once (the request's
 * arena), so what it hands over are slices of it: recorded here, cut with
 * a NUL once it is done.  A slice in several pieces would be one run.
 */
static int
http_slice(char **sp, size_t *lenp, const char *at, size_t len)
{
	/* An empty value comes as nothing at the next line's start. */
	if (len == 0)
		return 0;
	if (*sp == NULL) {
		*sp = (char *)at;
		*lenp = len;
		return 0;
	}
	if (at != *sp + *lenp)
		return -1;
	*lenp += len;
	return 0;
}

/* http-parser callbacks: collect what it parsed into ps_req. */

static int
http_cb_url(http_parser *hp, const char *at, size_t len)
{
	struct http_parser_state *ps = hp->data;

	return http_slice(&ps->ps_req->r_target, &ps->ps_hp_tlen, at, len) ==
	    -1 ? 1 : 0;
}

static int
http_cb_field(http_parser *hp, const char *at, size_t len)
{
	struct http_parser_state *ps = hp->data;
	struct http_request	*r = ps->ps_req;
	struct http_header	*h;

	/* Trailer fields are validated by the scanner, then dropped. */
	if (ps->ps_hp_headers_done)
		return 0;
	if (r->r_nheaders == 0 || ps->ps_hp_in_value) {
		/* The scanner counted them: r_headers has their room. */
		if (r->r_nheaders == (size_t)ps->ps_nfields)
			return 1;
		h = &r->r_headers[r->r_nheaders++];
		h->h_name = h->h_value = NULL;
		ps->ps_hp_lens[2 * (r->r_nheaders - 1) + 1] = 0;
		ps->ps_hp_in_value = 0;
		ps->ps_hp_fields++;
	}
	return http_slice(&r->r_headers[r->r_nheaders - 1].h_name,
	    &ps->ps_hp_lens[2 * (r->r_nheaders - 1)], at, len) == -1 ? 1 : 0;
}

static int
http_cb_value(http_parser *hp, const char *at, size_t len)
{
	struct http_parser_state *ps = hp->data;
	struct http_request	*r = ps->ps_req;

	if (ps->ps_hp_headers_done)
		return 0;
	if (r->r_nheaders == 0)
		return 1;
	ps->ps_hp_in_value = 1;
	return http_slice(&r->r_headers[r->r_nheaders - 1].h_value,
	    &ps->ps_hp_lens[2 * (r->r_nheaders - 1) + 1], at, len) == -1 ?
	    1 : 0;
}

static int
http_cb_headers_complete(http_parser *hp)
{
	struct http_parser_state *ps = hp->data;

	ps->ps_hp_headers_done = 1;
	return 0;
}

static int
http_cb_body(http_parser *hp, const char *at, size_t len)
{
	struct http_parser_state *ps = hp->data;
	struct http_request	*r = ps->ps_req;
	size_t			 need, cap;
	char			*b;

	/* The scanner bounds the body; this is a second fence. */
	if (len > ps->ps_limits.hl_body - r->r_bodylen)
		return 1;
	need = r->r_bodylen + len + 1;
	if (need > ps->ps_bodycap) {
		/* Grow with what arrived, never with what was declared. */
		cap = ps->ps_bodycap < 1024 ? 1024 : ps->ps_bodycap;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (cap > ps->ps_limits.hl_body + 1)
			cap = ps->ps_limits.hl_body + 1;
		if (r->r_inline && r->r_body == http_block(r)->rb_empty) {
			if ((b = malloc(cap)) == NULL) {
				ps->ps_hp_oom = 1;
				return 1;
			}
			memcpy(b, r->r_body, r->r_bodylen + 1);
		} else if ((b = realloc(r->r_body, cap)) == NULL) {
			ps->ps_hp_oom = 1;
			return 1;
		}
		r->r_body = b;
		ps->ps_bodycap = cap;
	}
	memcpy(r->r_body + r->r_bodylen, at, len);
	r->r_bodylen += len;
	r->r_body[r->r_bodylen] = '\0';
	return 0;
}

static int
http_cb_message_complete(http_parser *hp)
{
	struct http_parser_state *ps = hp->data;

	/* One request per http_feed(): the rest may be pipelined. */
	ps->ps_hp_complete = 1;
	http_parser_pause(hp, 1);
	return 0;
}

struct http_parser_state *
http_parser_state_new(const struct http_limits *lim)
{
	struct http_parser_state *ps;
	static uint32_t		 hp_max;
	uint32_t		 want;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	if (lim != NULL)
		ps->ps_limits = *lim;
	if (ps->ps_limits.hl_header_bytes == 0)
		ps->ps_limits.hl_header_bytes = HTTP_DEF_HEADER_BYTES;
	if (ps->ps_limits.hl_max_headers <= 0)
		ps->ps_limits.hl_max_headers = HTTP_DEF_MAX_HEADERS;
	if (ps->ps_limits.hl_body == 0)
		ps->ps_limits.hl_body = HTTP_DEF_BODY;
	if (ps->ps_limits.hl_header_bytes > UINT32_MAX / 2)
		ps->ps_limits.hl_header_bytes = UINT32_MAX / 2;
	if (ps->ps_limits.hl_body > SIZE_MAX / 4)
		ps->ps_limits.hl_body = SIZE_MAX / 4;
	/*
	 * The scanner enforces our header limit; http-parser's own
	 * (compiled in, global) must never be the tighter one.
	 */
	want = (uint32_t)ps->ps_limits.hl_header_bytes + 1024;
	if (want > hp_max && want > 80 * 1024) {
		http_parser_set_max_header_size(want);
		hp_max = want;
	}
	http_parser_settings_init(&ps->ps_settings);
	ps->ps_settings.on_url = http_cb_url;
	ps->ps_settings.on_header_field = http_cb_field;
	ps->ps_settings.on_header_value = http_cb_value;
	ps->ps_settings.on_headers_complete = http_cb_headers_complete;
	ps->ps_settings.on_body = http_cb_body;
	ps->ps_settings.on_message_complete = http_cb_message_complete;
	http_state_reset(ps);
	return ps;
}

void
http_parser_state_free(struct http_parser_state *ps)
{
	if (ps == NULL)
		return;
	http_request_free(ps->ps_req);
	http_hbuf_release(ps);
	free(ps->ps_hp_lens);
	free(ps);
}

int
http_in_progress(const struct http_parser_state *ps)
{
	return ps->ps_in_progress;
}

int
http_expects_continue(struct http_parser_state *ps)
{
	/* Only while the body of an HTTP/1.1 request is still to come. */
	if (!ps->ps_expect || ps->ps_expect_told || ps->ps_minor != 1)
		return 0;
	if (ps->ps_phase < PH_BODY_LENGTH || ps->ps_phase >= PH_DONE)
		return 0;
	ps->ps_expect_told = 1;
	return 1;
}

static int
http_in_body(const struct http_parser_state *ps)
{
	return ps->ps_phase >= PH_BODY_LENGTH && ps->ps_phase < PH_DONE &&
	    ps->ps_req != NULL;
}

const struct http_request *
http_peek_request(const struct http_parser_state *ps)
{
	return http_in_body(ps) ? ps->ps_req : NULL;
}

struct http_request *
http_take_headers(struct http_parser_state *ps)
{
	struct http_request	*r;

	if (!http_in_body(ps))
		return NULL;
	r = ps->ps_req;
	ps->ps_req = NULL;
	/* Sticky: the body's bytes can no longer be told from a request. */
	http_fail(ps, 400, "request answered before its body was read");
	return r;
}

size_t
http_body_declared(const struct http_parser_state *ps, int *chunked)
{
	*chunked = ps->ps_have_te;
	return ps->ps_have_te ? 0 : ps->ps_cl;
}

size_t
http_body_buffered(const struct http_parser_state *ps)
{
	return ps->ps_req != NULL ? ps->ps_req->r_bodylen : 0;
}

struct http_request *
http_take_request(struct http_parser_state *ps)
{
	struct http_request	*r;

	if (ps->ps_phase != PH_DONE)
		return NULL;
	r = ps->ps_req;
	ps->ps_req = NULL;
	http_state_reset(ps);
	return r;
}

/*
 * Room for n more header-section bytes, n within the limit: the buffer
 * doubles from 1 KiB up to the limit.
 */
static int
http_hbuf_room(struct http_parser_state *ps, size_t n)
{
	size_t	 cap;
	char	*b;

	if (ps->ps_hbuf == NULL)
		ps->ps_hbuf = spare_take(&http_spare, &ps->ps_hcap);
	if (ps->ps_hcap - ps->ps_hlen >= n)
		return 0;
	for (cap = ps->ps_hcap == 0 ? 1024 : ps->ps_hcap * 2;
	    cap - ps->ps_hlen < n; cap *= 2)
		;
	if (cap > ps->ps_limits.hl_header_bytes)
		cap = ps->ps_limits.hl_header_bytes;
	if ((b = realloc(ps->ps_hbuf, cap)) == NULL) {
		http_fail(ps, 500, "out of memory");
		return -1;
	}
	ps->ps_hbuf = b;
	ps->ps_hcap = cap;
	return 0;
}

/* Append one header-section byte, within the limit. */
static int
http_hbuf_add(struct http_parser_state *ps, char c)
{
	if (ps->ps_hlen >= ps->ps_limits.hl_header_bytes) {
		http_fail(ps, 431, ps->ps_in_trailer ? "trailers too large" :
		    "request header too large");
		return -1;
	}
	if ((ps->ps_hbuf == NULL || ps->ps_hlen == ps->ps_hcap) &&
	    http_hbuf_room(ps, 1) == -1)
		return -1;
	ps->ps_hbuf[ps->ps_hlen++] = c;
	return 0;
}

/*
 * Origin-form only: "/" path ["?" query].  The path is RFC 3986 pchar and
 * "/"; the query any visible ASCII but "#" (browsers leave some of it
 * raw).  Every "%" must start a valid escape.
 */
static int
http_check_target(struct http_parser_state *ps, const char *t, size_t n)
{
	size_t	 i;
	int	 inquery = 0;

	if (n == 0 || t[0] != '/') {
		http_fail(ps, 400, "request-target not in origin-form");
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = t[i];

		if (c == '#') {
			http_fail(ps, 400, "fragment in request-target");
			return -1;
		}
		if (c == '%') {
			if (i + 2 >= n || !http_is_hex(t[i + 1]) ||
			    !http_is_hex(t[i + 2])) {
				http_fail(ps, 400, "invalid percent-escape");
				return -1;
			}
			continue;
		}
		if (c == '?' && !inquery) {
			inquery = 1;
			continue;
		}
		if (inquery ? (c > 0x20 && c < 0x7f) : tok_pathchar(c))
			continue;
		http_fail(ps, 400, "invalid character in request-target");
		return -1;
	}
	return 0;
}

/* method SP request-target SP HTTP-version, single spaces, nothing else. */
static int
http_check_request_line(struct http_parser_state *ps, size_t off, size_t n)
{
	const char	*l = ps->ps_hbuf + off;
	const char	*v;
	size_t		 i, m, t;

	for (i = 0; i < n && tok_tchar(l[i]); i++)
		;
	if (i == 0 || i >= n || l[i] != ' ')
		goto bad;
	m = i++;
	t = i;
	while (i < n && l[i] != ' ')
		i++;
	if (i >= n || i == t)
		goto bad;
	/* The version first: HTTP/2.0 is 505 whatever its target. */
	v = l + i + 1;
	if (n - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		goto bad;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
		http_fail(ps, 505, "HTTP version not supported");
		return -1;
	}
	/* CONNECT needs authority-form, which an origin server refuses. */
	if (m == 7 && memcmp(l, "CONNECT", 7) == 0)
		goto bad;
	if (http_check_target(ps, l + t, i - t) == -1)
		return -1;
	ps->ps_method_off = off;
	ps->ps_method_len = m;
	ps->ps_target_off = off + t;
	ps->ps_target_len = i - t;
	ps->ps_minor = v[7] - '0';
	ps->ps_have_reqline = 1;
	return 0;
 bad:
	http_fail(ps, 400, "malformed request line");
	return -1;
}

/* Strict Content-Length: 1*DIGIT, no sign, no list, no overflow. */
static int
http_parse_length(const char *v, size_t n, size_t *out)
{
	size_t	 i, x = 0;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (x > (SIZE_MAX - (size_t)(v[i] - '0')) / 10)
			return -1;
		x = x * 10 + (size_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/* Host: uri-host [":" port] characters only; empty is allowed by RFC. */
static int
http_check_host(const char *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		unsigned char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    strchr("-._~!$&'()*+,;=:[]%", c) != NULL) || c == '\0')
			return -1;
	}
	return 0;
}

/* Record the close and keep-alive options of a Connection field. */
static void
http_scan_connection(struct http_parser_state *ps, const char *v, size_t n)
{
	size_t	 i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == 5 && strncasecmp(v + s, "close", 5) == 0)
			ps->ps_conn_close = 1;
		else if (e - s == 10 && strncasecmp(v + s, "keep-alive", 10) == 0)
			ps->ps_conn_keepalive = 1;
	}
}

/*
 * One complete field line (without CRLF): name ":" OWS value OWS.  The
 * scanner has already refused controls other than HTAB.  In the header
 * block the framing fields are checked here, before any byte of the block
 * reaches http-parser.
 */
static int
http_check_field_line(struct http_parser_state *ps, size_t off, size_t n)
{
	const char	*l = ps->ps_hbuf + off;
	const char	*v;
	size_t		 i, vn, len;

	for (i = 0; i < n && tok_tchar(l[i]); i++)
		;
	if (i == 0 || i >= n || l[i] != ':') {
		http_fail(ps, 400, "invalid header field name");
		return -1;
	}
	if (ps->ps_in_trailer) {
		if (++ps->ps_ntrailers > ps->ps_limits.hl_max_headers) {
			http_fail(ps, 431, "too many trailer fields");
			return -1;
		}
		return 0;
	}
	if (++ps->ps_nfields > ps->ps_limits.hl_max_headers) {
		http_fail(ps, 431, "too many header fields");
		return -1;
	}
	v = l + i + 1;
	vn = n - i - 1;
	while (vn > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;

	if (i == 14 && strncasecmp(l, "content-length", 14) == 0) {
		if (ps->ps_have_cl) {
			http_fail(ps, 400, "duplicate Content-Length");
			return -1;
		}
		if (http_parse_length(v, vn, &len) == -1) {
			http_fail(ps, 400, "invalid Content-Length");
			return -1;
		}
		ps->ps_have_cl = 1;
		ps->ps_cl = len;
	} else if (i == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
		if (ps->ps_have_te) {
			http_fail(ps, 400, "duplicate Transfer-Encoding");
			return -1;
		}
		if (vn != 7 || strncasecmp(v, "chunked", 7) != 0) {
			http_fail(ps, 400, "unsupported Transfer-Encoding");
			return -1;
		}
		ps->ps_have_te = 1;
	} else if (i == 4 && strncasecmp(l, "host", 4) == 0) {
		if (++ps->ps_nhost > 1) {
			http_fail(ps, 400, "duplicate Host");
			return -1;
		}
		if (http_check_host(v, vn) == -1) {
			http_fail(ps, 400, "invalid Host");
			return -1;
		}
	} else if (i == 10 && strncasecmp(l, "connection", 10) == 0)
		http_scan_connection(ps, v, vn);
	else if (i == 6 && strncasecmp(l, "expect", 6) == 0 &&
	    vn == 12 && strncasecmp(v, "100-continue", 12) == 0)
		ps->ps_expect = 1;
	return 0;
}

/*
 * Decode the path of the (already character-checked) target.  Escapes
 * that decode to controls (NUL, CR, LF …), to '/' or '\\', and dot
 * segments are refused: nothing behind the worker should ever see them.
 */
static int
http_decode_target(struct http_parser_state *ps, struct http_request *r)
{
	const char	*t = r->r_target, *q;
	size_t		 i, o, n;
	char		*p;

	q = strchr(t, '?');
	n = q == NULL ? strlen(t) : (size_t)(q - t);
	if (q != NULL)
		r->r_query = (char *)q + 1;
	/* After the header block: http_arena_take made the room. */
	p = r->r_arena + ps->ps_hlen;
	r->r_path = p;
	for (i = o = 0; i < n; i++) {
		unsigned char c = t[i];

		if (c == '%') {
			c = http_hexval(t[i + 1]) << 4 | http_hexval(t[i + 2]);
			i += 2;
			if (c < 0x20 || c == 0x7f) {
				http_fail(ps, 400, "control character in path");
				return -1;
			}
			/*
			 * Decoded, an encoded separator would route like a
			 * raw one: a proxy in front that blocks a prefix
			 * would be bypassed by "/widget-service%2fhealth".
			 */
			if (c == '/' || c == '\\') {
				http_fail(ps, 400, "encoded slash or backslash "
				    "in path");
				return -1;
			}
		}
		p[o++] = c;
	}
	p[o] = '\0';
	if (strstr(p, "/../") != NULL || strstr(p, "/./") != NULL ||
	    (o >= 3 && strcmp(p + o - 3, "/..") == 0) ||
	    (o >= 2 && strcmp(p + o - 2, "/.") == 0)) {
		http_fail(ps, 400, "dot segment in path");
		return -1;
	}
	return 0;
}

/*
 * The header block becomes the request's arena, with room after it for
 * the decoded path (never longer than the target), and the fields the
 * scanner counted get their slots.
 */
/* A request's block, with slots for n header fields. */
static struct http_block *
http_block_new(size_t n)
{
	struct http_block	*blk;

	if (n > (SIZE_MAX - sizeof(*blk)) / sizeof(blk->rb_headers[0]) ||
	    (blk = calloc(1, sizeof(*blk) + n *
	    sizeof(blk->rb_headers[0]))) == NULL)
		return NULL;
	blk->rb_req.r_inline = 1;
	blk->rb_req.r_body = blk->rb_empty;
	return blk;
}

static int
http_arena_take(struct http_parser_state *ps, struct http_request *r)
{
	size_t	 need = ps->ps_hlen + ps->ps_target_len + 1;
	size_t	 n = (size_t)ps->ps_nfields, *l;
	char	*b;

	if (ps->ps_hcap < need) {
		if ((b = realloc(ps->ps_hbuf, need)) == NULL)
			goto oom;
		ps->ps_hbuf = b;
		ps->ps_hcap = need;
	}
	/* The request's block has their slots (http_block_new). */
	if (n > 0)
		r->r_headers = http_block(r)->rb_headers;
	if (ps->ps_hp_lenscap < 2 * n) {
		if ((l = reallocarray(ps->ps_hp_lens, 2 * n,
		    sizeof(*l))) == NULL)
			goto oom;
		ps->ps_hp_lens = l;
		ps->ps_hp_lenscap = 2 * n;
	}
	r->r_arena = ps->ps_hbuf;
	r->r_arenacap = ps->ps_hcap;
	ps->ps_hbuf = NULL;
	ps->ps_hcap = 0;		/* ps_hlen stays: the block's length */
	ps->ps_hp_tlen = 0;
	return 0;
 oom:
	http_fail(ps, 500, "out of memory");
	return -1;
}

/* Turn an http-parser failure into a status. */
static void
http_fail_hp(struct http_parser_state *ps)
{
	enum http_errno	 e = HTTP_PARSER_ERRNO(&ps->ps_hp);

	if (ps->ps_hp_oom)
		http_fail(ps, 500, "out of memory");
	else if (e == HPE_INVALID_METHOD)
		http_fail(ps, 501, "method not implemented");
	else if (e == HPE_HEADER_OVERFLOW)
		http_fail(ps, 431, "request header too large");
	else
		http_fail(ps, 400, http_errno_description(e));
}

/* Run http-parser over bytes the scanner accepted; all must be used. */
static int
http_execute(struct http_parser_state *ps, const char *p, size_t n)
{
	size_t		 used;
	enum http_errno	 e;

	if (n == 0)
		return 0;
	if (ps->ps_hp_complete) {
		http_fail(ps, 400, "parsers disagree on message end");
		return -1;
	}
	used = http_parser_execute(&ps->ps_hp, &ps->ps_settings, p, n);
	e = HTTP_PARSER_ERRNO(&ps->ps_hp);
	if (e != HPE_OK && !(e == HPE_PAUSED && ps->ps_hp_complete)) {
		http_fail_hp(ps);
		return -1;
	}
	if (used != n) {
		http_fail(ps, 400, "parsers disagree on message end");
		return -1;
	}
	return 0;
}

/*
 * The header block is complete and every line checked: apply the rules
 * that need the whole block, hand it to http-parser, and check that it
 * saw the same request we did.
 */
static int
http_headers_done(struct http_parser_state *ps)
{
	struct http_block	*blk;
	struct http_request	*r;
	struct http_header	*h;
	const char		*m;
	size_t			 i, n;

	if (ps->ps_minor == 1 && ps->ps_nhost == 0) {
		http_fail(ps, 400, "missing Host");
		return -1;
	}
	if (ps->ps_have_cl && ps->ps_have_te) {
		http_fail(ps, 400, "both Content-Length and Transfer-Encoding");
		return -1;
	}
	if (ps->ps_have_te && ps->ps_minor == 0) {
		http_fail(ps, 400, "Transfer-Encoding in HTTP/1.0");
		return -1;
	}
	if (ps->ps_have_cl && ps->ps_cl > ps->ps_limits.hl_body) {
		http_fail(ps, 413, "request body too large");
		return -1;
	}

	if ((blk = http_block_new((size_t)ps->ps_nfields)) == NULL) {
		http_fail(ps, 500, "out of memory");
		return -1;
	}
	r = &blk->rb_req;
	ps->ps_req = r;
	ps->ps_bodycap = 1;
	if (http_arena_take(ps, r) == -1 ||
	    http_execute(ps, r->r_arena, ps->ps_hlen) == -1)
		return -1;
	if (!ps->ps_hp_headers_done || ps->ps_hp_fields != ps->ps_nfields ||
	    r->r_target == NULL || ps->ps_hp.http_major != 1 ||
	    ps->ps_hp.http_minor != ps->ps_minor) {
		http_fail(ps, 400, "parsers disagree on request");
		return -1;
	}
	m = http_method_str(ps->ps_hp.method);
	if (strlen(m) != ps->ps_method_len ||
	    memcmp(m, r->r_arena + ps->ps_method_off, ps->ps_method_len) != 0 ||
	    r->r_target != r->r_arena + ps->ps_target_off ||
	    ps->ps_hp_tlen != ps->ps_target_len) {
		http_fail(ps, 400, "parsers disagree on request line");
		return -1;
	}
	/* Every slice cut where its separator was: ' ', ':' or CR. */
	r->r_method = r->r_arena + ps->ps_method_off;
	r->r_method[ps->ps_method_len] = '\0';
	r->r_target[ps->ps_target_len] = '\0';
	for (i = 0; i < r->r_nheaders; i++) {
		h = &r->r_headers[i];
		if (h->h_name == NULL) {
			http_fail(ps, 400, "parsers disagree on fields");
			return -1;
		}
		h->h_name[ps->ps_hp_lens[2 * i]] = '\0';
		if (h->h_value == NULL) {
			h->h_value = h->h_name + ps->ps_hp_lens[2 * i];
			continue;
		}
		/* http-parser strips leading OWS only. */
		n = ps->ps_hp_lens[2 * i + 1];
		while (n > 0 && (h->h_value[n - 1] == ' ' ||
		    h->h_value[n - 1] == '\t'))
			n--;
		h->h_value[n] = '\0';
	}
	if (http_decode_target(ps, r) == -1)
		return -1;
	r->r_version_minor = ps->ps_minor;
	if (ps->ps_minor == 1)
		r->r_keepalive = !ps->ps_conn_close;
	else
		r->r_keepalive = ps->ps_conn_keepalive && !ps->ps_conn_close;

	http_hbuf_release(ps);
	if (ps->ps_have_te) {
		ps->ps_phase = PH_CHUNK_SIZE;
		ps->ps_chunk_size = ps->ps_chunk_digits = 0;
		ps->ps_chunk_line = 0;
	} else if (ps->ps_cl > 0) {
		ps->ps_phase = PH_BODY_LENGTH;
		ps->ps_body_left = ps->ps_cl;
	} else
		ps->ps_phase = PH_DONE;
	if ((ps->ps_phase == PH_DONE) != ps->ps_hp_complete) {
		http_fail(ps, 400, "parsers disagree on message end");
		return -1;
	}
	return 0;
}

/* The trailer section is checked: let http-parser finish the message. */
static int
http_trailers_done(struct http_parser_state *ps)
{
	if (http_execute(ps, ps->ps_hbuf, ps->ps_hlen) == -1)
		return -1;
	if (!ps->ps_hp_complete) {
		http_fail(ps, 400, "parsers disagree on message end");
		return -1;
	}
	ps->ps_phase = PH_DONE;
	return 0;
}

/* A byte inside a request or field line: no NUL, no controls but HTAB. */
static int
http_line_byte(struct http_parser_state *ps, unsigned char c)
{
	if (c == '\n') {
		http_fail(ps, 400, "bare LF");
		return -1;
	}
	if (c == '\0') {
		http_fail(ps, 400, "NUL in header");
		return -1;
	}
	if ((c < 0x20 && c != '\t') || c == 0x7f) {
		http_fail(ps, 400, "control character in header");
		return -1;
	}
	return http_hbuf_add(ps, c);
}

#ifdef __SSE2__
/* A bit for each of the sixteen bytes at p that is a control but HTAB, or DEL. */
static inline int
http_ctl16(const char *p)
{
	const __m128i	 vc = _mm_set1_epi8(0x1f);
	const __m128i	 vt = _mm_set1_epi8('\t');
	const __m128i	 vd = _mm_set1_epi8(0x7f);
	__m128i		 v = _mm_loadu_si128((const __m128i *)p);
	__m128i		 bad = _mm_cmpeq_epi8(_mm_min_epu8(v, vc), v);

	bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, vt), bad),
	    _mm_cmpeq_epi8(v, vd));
	return _mm_movemask_epi8(bad);
}
#endif

/* How many of the n bytes at p come before a control but HTAB, or DEL. */
static size_t
http_ctl_span(const char *p, size_t n)
{
	size_t	 i = 0;

#ifdef __SSE2__
	/* sixteen bytes at a time: every header line passes here */
	int	 m;

	for (; n - i >= 16; i += 16)
		if ((m = http_ctl16(p + i)) != 0)
			return i + (size_t)__builtin_ctz(m);
	/*
	 * The rest as the last sixteen bytes of the run: those before i are
	 * clean, so a first bad byte among them is at i or after.
	 */
	if (i < n && n >= 16) {
		if ((m = http_ctl16(p + n - 16)) != 0)
			return n - 16 + (size_t)__builtin_ctz(m);
		return n;
	}
#endif
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return i;
	}
	return n;
}

/*
 * Inside a line, the bytes before the next control (a CR ends the line;
 * any other control is an error the byte-wise scan reports) are only
 * kept: they are appended at once, up to the limit.  How many.
 */
static size_t
http_line_run(struct http_parser_state *ps, const char *p, size_t n)
{
	size_t	 room = ps->ps_limits.hl_header_bytes - ps->ps_hlen;

	if ((n = http_ctl_span(p, n < room ? n : room)) == 0 ||
	    http_hbuf_room(ps, n) == -1)
		return 0;
	memcpy(ps->ps_hbuf + ps->ps_hlen, p, n);
	ps->ps_hlen += n;
	return n;
}

/*
 * Scan the header block one byte at a time.  Returns 1 when the block
 * ended at this byte, 0 to go on, -1 on error.
 */
static int
http_scan_header_byte(struct http_parser_state *ps, unsigned char c)
{
	switch (ps->ps_phase) {
	case PH_START:
		/* RFC 9112 2.2: empty lines before a request are ignored. */
		if (c == '\r') {
			ps->ps_phase = PH_START_CR;
			return http_hbuf_add(ps, c);
		}
		ps->ps_in_progress = 1;
		ps->ps_line = ps->ps_hlen;
		ps->ps_phase = PH_LINE;
		return http_line_byte(ps, c);
	case PH_START_CR:
		if (c != '\n') {
			http_fail(ps, 400, "bare CR");
			return -1;
		}
		ps->ps_phase = PH_START;
		return http_hbuf_add(ps, c);
	case PH_LINE:
		if (c == '\r') {
			ps->ps_phase = PH_LINE_CR;
			return http_hbuf_add(ps, c);
		}
		return http_line_byte(ps, c);
	case PH_LINE_CR:
		if (c != '\n') {
			http_fail(ps, 400, "bare CR");
			return -1;
		}
		if (http_hbuf_add(ps, c) == -1)
			return -1;
		if (!ps->ps_have_reqline && !ps->ps_in_trailer) {
			if (http_check_request_line(ps, ps->ps_line,
			    ps->ps_hlen - 2 - ps->ps_line) == -1)
				return -1;
		} else if (http_check_field_line(ps, ps->ps_line,
		    ps->ps_hlen - 2 - ps->ps_line) == -1)
			return -1;
		ps->ps_phase = PH_LINE_START;
		return 0;
	case PH_LINE_START:
		if (c == '\r') {
			ps->ps_phase = PH_END_CR;
			return http_hbuf_add(ps, c);
		}
		if (c == ' ' || c == '\t') {
			http_fail(ps, 400, "obsolete line folding");
			return -1;
		}
		ps->ps_line = ps->ps_hlen;
		ps->ps_phase = PH_LINE;
		return http_line_byte(ps, c);
	case PH_END_CR:
		if (c != '\n') {
			http_fail(ps, 400, "bare CR");
			return -1;
		}
		if (http_hbuf_add(ps, c) == -1)
			return -1;
		return 1;
	default:
		http_fail(ps, 500, "internal parser state");
		return -1;
	}
}

/* Add a hex digit to the chunk size; the sum of sizes stays in bounds. */
static int
http_chunk_digit(struct http_parser_state *ps, unsigned char c)
{
	size_t	 room = ps->ps_limits.hl_body - ps->ps_body_declared;
	size_t	 d = (size_t)http_hexval(c);

	if (d > room || ps->ps_chunk_size > (room - d) / 16) {
		http_fail(ps, 413, "request body too large");
		return -1;
	}
	ps->ps_chunk_size = ps->ps_chunk_size * 16 + d;
	ps->ps_chunk_digits++;
	return 0;
}

/* End of a chunk-size line: data follows, or the trailer section. */
static void
http_chunk_line_done(struct http_parser_state *ps)
{
	ps->ps_chunk_line = 0;
	if (ps->ps_chunk_size == 0) {
		ps->ps_in_trailer = 1;
		ps->ps_hlen = ps->ps_line = 0;
		ps->ps_phase = PH_LINE_START;
	} else {
		ps->ps_body_declared += ps->ps_chunk_size;
		ps->ps_phase = PH_CHUNK_DATA;
	}
}

/*
 * Scan body bytes from p[0..n) up to the end of the body or the start of
 * the trailer section; *used says how far, *end whether the message ended.
 */
static int
http_scan_body(struct http_parser_state *ps, const unsigned char *p,
    size_t n, size_t *used, int *end)
{
	size_t	 i = 0, k;

	*end = 0;
	while (i < n && !*end) {
		unsigned char c = p[i];

		if (ps->ps_phase >= PH_CHUNK_SIZE &&
		    ps->ps_phase <= PH_CHUNK_SIZE_LF) {
			if (++ps->ps_chunk_line > HTTP_CHUNK_LINE_MAX) {
				http_fail(ps, 400, "chunk-size line too long");
				return -1;
			}
			/*
			 * Tiny chunks with long extensions would make a
			 * small body cost gigabytes of input: the framing
			 * gets the same budget as the header block.
			 */
			if (++ps->ps_chunk_meta >
			    ps->ps_limits.hl_header_bytes) {
				http_fail(ps, 400, "too much chunk framing");
				return -1;
			}
		}
		switch (ps->ps_phase) {
		case PH_BODY_LENGTH:
			k = n - i < ps->ps_body_left ? n - i : ps->ps_body_left;
			ps->ps_body_left -= k;
			i += k;
			if (ps->ps_body_left == 0)
				*end = 1;
			continue;
		case PH_CHUNK_DATA:
			k = n - i < ps->ps_chunk_size ? n - i : ps->ps_chunk_size;
			ps->ps_chunk_size -= k;
			i += k;
			if (ps->ps_chunk_size == 0)
				ps->ps_phase = PH_CHUNK_DATA_CR;
			continue;
		case PH_CHUNK_DATA_CR:
			if (c != '\r')
				goto badchunk;
			ps->ps_phase = PH_CHUNK_DATA_LF;
			break;
		case PH_CHUNK_DATA_LF:
			if (c != '\n')
				goto badchunk;
			ps->ps_chunk_size = ps->ps_chunk_digits = 0;
			ps->ps_phase = PH_CHUNK_SIZE;
			break;
		case PH_CHUNK_SIZE:
			if (http_is_hex(c)) {
				if (http_chunk_digit(ps, c) == -1)
					return -1;
				break;
			}
			if (ps->ps_chunk_digits == 0)
				goto badchunk;
			/* No whitespace: http-parser would not agree on it. */
			if (c == ';')
				ps->ps_phase = PH_CHUNK_EXT_NAME0;
			else if (c == '\r')
				ps->ps_phase = PH_CHUNK_SIZE_LF;
			else
				goto badchunk;
			break;
		case PH_CHUNK_EXT:
		case PH_CHUNK_EXT_BWS:
			if (c == ' ' || c == '\t')
				break;
			if (c == ';')
				ps->ps_phase = PH_CHUNK_EXT_NAME0;
			else if (c == '\r')
				ps->ps_phase = PH_CHUNK_SIZE_LF;
			else
				goto badext;
			break;
		case PH_CHUNK_EXT_NAME0:
			if (c == ' ' || c == '\t')
				break;
			if (!tok_tchar(c))
				goto badext;
			ps->ps_phase = PH_CHUNK_EXT_NAME;
			break;
		case PH_CHUNK_EXT_NAME:
			if (tok_tchar(c))
				break;
			/* FALLTHROUGH */
		case PH_CHUNK_EXT_EQ:
			if (c == ' ' || c == '\t')
				ps->ps_phase = PH_CHUNK_EXT_EQ;
			else if (c == '=')
				ps->ps_phase = PH_CHUNK_EXT_VAL0;
			else if (c == ';')
				ps->ps_phase = PH_CHUNK_EXT_NAME0;
			else if (c == '\r')
				ps->ps_phase = PH_CHUNK_SIZE_LF;
			else
				goto badext;
			break;
		case PH_CHUNK_EXT_VAL0:
			if (c == ' ' || c == '\t')
				break;
			if (c == '"')
				ps->ps_phase = PH_CHUNK_EXT_QS;
			else if (tok_tchar(c))
				ps->ps_phase = PH_CHUNK_EXT_TOKEN;
			else
				goto badext;
			break;
		case PH_CHUNK_EXT_TOKEN:
			if (tok_tchar(c))
				break;
			if (c == ' ' || c == '\t')
				ps->ps_phase = PH_CHUNK_EXT_BWS;
			else if (c == ';')
				ps->ps_phase = PH_CHUNK_EXT_NAME0;
			else if (c == '\r')
				ps->ps_phase = PH_CHUNK_SIZE_LF;
			else
				goto badext;
			break;
		case PH_CHUNK_EXT_QS:
			if (c == '"')
				ps->ps_phase = PH_CHUNK_EXT;
			else if (c == '\\')
				ps->ps_phase = PH_CHUNK_EXT_QP;
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				goto badext;
			break;
		case PH_CHUNK_EXT_QP:
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				goto badext;
			ps->ps_phase = PH_CHUNK_EXT_QS;
			break;
		case PH_CHUNK_SIZE_LF:
			if (c != '\n')
				goto badchunk;
			http_chunk_line_done(ps);
			/* The trailer section is scanned like the header block. */
			if (ps->ps_in_trailer) {
				*used = i + 1;
				return 0;
			}
			break;
		default:
			http_fail(ps, 500, "internal parser state");
			return -1;
		}
		i++;
	}
	*used = i;
	return 0;
 badchunk:
	http_fail(ps, 400, "malformed chunked encoding");
	return -1;
 badext:
	http_fail(ps, 400, "invalid chunk extension");
	return -1;
}

enum http_status
http_feed(struct http_parser_state *ps, const char *buf, size_t len,
    size_t *consumed, int *errstatus, const char **errmsg)
{
	const unsigned char	*p = (const unsigned char *)buf;
	enum http_status	 st = HTTP_NEED_MORE;
	size_t			 pos = 0, n;
	int			 rv, end, gate = 0;

	*consumed = 0;
	while (pos < len && ps->ps_phase != PH_DONE &&
	    ps->ps_phase != PH_ERROR) {
		if (ps->ps_phase < PH_BODY_LENGTH) {
			if (ps->ps_phase == PH_LINE) {
				pos += http_line_run(ps, buf + pos, len - pos);
				if (pos == len || ps->ps_phase == PH_ERROR)
					break;
			}
			rv = http_scan_header_byte(ps, p[pos]);
			if (rv == -1)
				break;
			pos++;
			if (rv == 1 && (ps->ps_in_trailer ?
			    http_trailers_done(ps) : http_headers_done(ps)) == -1)
				break;
			/* The caller routes before any body byte is read. */
			if (rv == 1 && ps->ps_limits.hl_gate && http_in_body(ps) &&
			    !ps->ps_gated) {
				ps->ps_gated = gate = 1;
				break;
			}
			continue;
		}
		if (http_scan_body(ps, p + pos, len - pos, &n, &end) == -1)
			break;
		if (http_execute(ps, buf + pos, n) == -1)
			break;
		pos += n;
		if (end != ps->ps_hp_complete) {
			http_fail(ps, 400, "parsers disagree on message end");
			break;
		}
		if (end)
			ps->ps_phase = PH_DONE;
	}
	*consumed = pos;
	if (gate && ps->ps_phase != PH_ERROR)
		st = HTTP_HEADERS;
	else if (ps->ps_phase == PH_DONE)
		st = HTTP_DONE;
	else if (ps->ps_phase == PH_ERROR) {
		st = HTTP_ERROR;
		*errstatus = ps->ps_errstatus;
		*errmsg = ps->ps_errmsg;
	}
	return st;
}

const char *
http_reason(int status)
{
	static const struct {
		int		 code;
		const char	*reason;
	} reasons[] = {
		{ 100, "Continue" },
		{ 101, "Switching Protocols" },
		{ 200, "OK" },
		{ 201, "Created" },
		{ 202, "Accepted" },
		{ 203, "Non-Authoritative Information" },
		{ 204, "No Content" },
		{ 205, "Reset Content" },
		{ 206, "Partial Content" },
		{ 300, "Multiple Choices" },
		{ 301, "Moved Permanently" },
		{ 302, "Found" },
		{ 303, "See Other" },
		{ 304, "Not Modified" },
		{ 307, "Temporary Redirect" },
		{ 308, "Permanent Redirect" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 402, "Payment Required" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 410, "Gone" },
		{ 411, "Length Required" },
		{ 412, "Precondition Failed" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 416, "Range Not Satisfiable" },
		{ 417, "Expectation Failed" },
		{ 421, "Misdirected Request" },
		{ 422, "Unprocessable Content" },
		{ 425, "Too Early" },
		{ 426, "Upgrade Required" },
		{ 428, "Precondition Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 451, "Unavailable For Legal Reasons" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "Unknown";
}

/* Whether the n bytes at p hold a control other than HTAB, or DEL. */
static int
http_value_ctl(const char *p, size_t n)
{
	return http_ctl_span(p, n) != n;
}

/*
 * "Name: value" with a token name and a value free of controls other
 * than HTAB: its length, or -1.  Framing fields are ours to write, so a
 * caller's are refused.
 */
static ssize_t
http_check_out_header(const char *h)
{
	size_t	 i, len;

	for (i = 0; tok_tchar(h[i]); i++)
		;
	if (i == 0 || h[i] != ':')
		return -1;
	if ((i == 14 && strncasecmp(h, "content-length", 14) == 0) ||
	    (i == 17 && strncasecmp(h, "transfer-encoding", 17) == 0) ||
	    (i == 10 && strncasecmp(h, "connection", 10) == 0))
		return -1;
	len = strlen(h + i);
	if (http_value_ctl(h + i, len))
		return -1;
	return (ssize_t)(i + len);
}

/* A run of bytes onto a head being built; 0, or -1 when it does not fit. */
static int
http_head_put(char *buf, size_t cap, size_t *off, const char *s, size_t n)
{
	if (n > cap - *off)
		return -1;
	memcpy(buf + *off, s, n);
	*off += n;
	return 0;
}

/*
 * The head goes into the output in one piece, built without printf: a
 * status line, the headers and the framing fields are a few hundred bytes,
 * and every answer pays for them.
 */
static int
http_write(struct evbuffer *out, int status, const char *const *hdrs,
    const void *body, size_t bodylen, int keepalive, int head_only,
    http_release_fn release, void *arg, int *given)
{
	char		 head[HTTP_HEAD_MAX], num[24];
	const char	*reason;
	size_t		 i, off = 0, n, len[HTTP_OUT_LENS], hl;
	ssize_t		 r;
	int		 interim, nobody;

	if (status < 100 || status > 599)
		return -1;
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
		if ((r = http_check_out_header(hdrs[i])) == -1)
			return -1;
		if (i < HTTP_OUT_LENS)
			len[i] = (size_t)r;
	}
	if (bodylen > 0 && body == NULL)
		return -1;
	interim = status < 200;
	nobody = interim || status == 204 || status == 304;

	reason = http_reason(status);
	num[0] = ' ';
	n = 1 + dec_put(num + 1, (unsigned long long)status);
	num[n++] = ' ';
	if (http_head_put(head, sizeof(head), &off, "HTTP/1.1", 8) == -1 ||
	    http_head_put(head, sizeof(head), &off, num, n) == -1 ||
	    http_head_put(head, sizeof(head), &off, reason,
	    strlen(reason)) == -1 ||
	    http_head_put(head, sizeof(head), &off, "\r\n", 2) == -1)
		return -1;
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
		hl = i < HTTP_OUT_LENS ? len[i] : strlen(hdrs[i]);
		/* Larger than the stack buffer: the head goes in pieces. */
		if (off + hl + 2 > sizeof(head)) {
			if (evbuffer_add(out, head, off) == -1)
				return -1;
			off = 0;
			if (hl + 2 > sizeof(head)) {
				if (evbuffer_add(out, hdrs[i], hl) == -1 ||
				    evbuffer_add(out, "\r\n", 2) == -1)
					return -1;
				continue;
			}
		}
		http_head_put(head, sizeof(head), &off, hdrs[i], hl);
		http_head_put(head, sizeof(head), &off, "\r\n", 2);
	}
	if (off + 64 > sizeof(head)) {
		if (evbuffer_add(out, head, off) == -1)
			return -1;
		off = 0;
	}
	/* A HEAD answer announces the length of the body it leaves out. */
	if (!nobody) {
		http_head_put(head, sizeof(head), &off, "Content-Length: ", 16);
		n = dec_put(num, (unsigned long long)bodylen);
		http_head_put(head, sizeof(head), &off, num, n);
		http_head_put(head, sizeof(head), &off, "\r\n", 2);
	}
	if (!interim && !keepalive)
		http_head_put(head, sizeof(head), &off,
		    "Connection: close\r\n", 19);
	http_head_put(head, sizeof(head), &off, "\r\n", 2);
	nobody = nobody || head_only || bodylen == 0;
	/*
	 * A copied body and its head share one block: libevent would put
	 * the body in a second (a malloc, and an iovec more in the writev).
	 */
	if (!nobody && release == NULL && bodylen <= HTTP_ONE_CHAIN &&
	    evbuffer_expand(out, off + bodylen) == -1)
		return -1;
	if (evbuffer_add(out, head, off) == -1)
		return -1;
	if (nobody)
		return 0;
	if (release == NULL)
		return evbuffer_add(out, body, bodylen);
	/* On failure libevent does not call release: the caller does. */
	if (evbuffer_add_reference(out, body, bodylen, release, arg) == -1)
		return -1;
	*given = 1;
	return 0;
}

int
http_write_response(struct evbuffer *out, int status,
    const char *const *hdrs, const void *body, size_t bodylen,
    int keepalive, int head_only)
{
	return http_write(out, status, hdrs, body, bodylen, keepalive,
	    head_only, NULL, NULL, NULL);
}

int
http_write_response_given(struct evbuffer *out, int status,
    const char *const *hdrs, const void *body, size_t bodylen,
    int keepalive, int head_only, http_release_fn release, void *arg)
{
	int	 given = 0, r;

	r = http_write(out, status, hdrs, body, bodylen, keepalive,
	    head_only, release, arg, &given);
	if (release != NULL && !given)
		release(body, bodylen, arg);
	return r;
}
