#include "build.h"

/*
 * check_http — the request framing table and the response writer.
 *
 * Every table row is parsed three ways: the whole buffer at once, one
 * byte at a time, and cut in two at every byte boundary.  All must give
 * the same outcome, so no decision depends on how TCP splits the bytes.
 */

#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include <event2/buffer.h>

#include "http.h"
#include "spare.h"
#include "token.h"

#define R(s)	s, sizeof(s) - 1
#define DONE	0
#define H11	" HTTP/1.1\r\nHost: h\r\n"
/* An error row: only the status matters. */
#define ERR(st)	st, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0

struct hcase {
	const char	*c_name;
	const char	*c_raw;
	size_t		 c_len;
	int		 c_status;	/* DONE or the error status */
	const char	*c_method;
	const char	*c_path;
	const char	*c_query;	/* "-" for NULL */
	const char	*c_body;
	size_t		 c_bodylen;
	int		 c_keepalive;
	const char	*c_hname;	/* a header that must be present... */
	const char	*c_hvalue;	/* ...with this value, or NULL: absent */
	size_t		 c_body_limit;	/* 0: default */
};

static const struct hcase cases[] = {
	/* Valid requests. */
	{ "simple get", R("GET /" H11 "\r\n"), DONE, "GET", "/", "-",
	    "", 0, 1, "Host", "h", 0 },
	{ "query", R("GET /a/b?x=1&y=%41" H11 "\r\n"), DONE, "GET", "/a/b",
	    "x=1&y=%41", "", 0, 1, NULL, NULL, 0 },
	{ "empty query", R("GET /p?" H11 "\r\n"), DONE, "GET", "/p", "",
	    "", 0, 1, NULL, NULL, 0 },
	{ "decoded path", R("GET /a%20b/%41%7e" H11 "\r\n"), DONE, "GET",
	    "/a b/A~", "-", "", 0, 1, NULL, NULL, 0 },
	{ "encoded slash in query", R("GET /p?a=%2F%5c" H11 "\r\n"), DONE,
	    "GET", "/p", "a=%2F%5c", "", 0, 1, NULL, NULL, 0 },
	{ "query raw chars", R("GET /q?a={}|^`\"<>[]\\" H11 "\r\n"), DONE,
	    "GET", "/q", "a={}|^`\"<>[]\\", "", 0, 1, NULL, NULL, 0 },
	{ "path sub-delims", R("GET /a:b@c!$&'()*+,;=-._~" H11 "\r\n"), DONE,
	    "GET", "/a:b@c!$&'()*+,;=-._~", "-", "", 0, 1, NULL, NULL, 0 },
	{ "dots inside names", R("GET /a..b/.c/d." H11 "\r\n"), DONE, "GET",
	    "/a..b/.c/d.", "-", "", 0, 1, NULL, NULL, 0 },
	{ "http/1.0 no host", R("GET / HTTP/1.0\r\n\r\n"), DONE, "GET", "/",
	    "-", "", 0, 0, "Host", NULL, 0 },
	{ "http/1.0 keep-alive", R("GET / HTTP/1.0\r\nConnection: "
	    "Keep-Alive\r\n\r\n"), DONE, "GET", "/", "-", "", 0, 1,
	    NULL, NULL, 0 },
	{ "http/1.0 keep-alive and close", R("GET / HTTP/1.0\r\nConnection: "
	    "keep-alive, close\r\n\r\n"), DONE, "GET", "/", "-", "", 0, 0,
	    NULL, NULL, 0 },
	{ "http/1.1 close", R("GET /" H11 "Connection: close\r\n\r\n"), DONE,
	    "GET", "/", "-", "", 0, 0, NULL, NULL, 0 },
	{ "http/1.1 close in list", R("GET /" H11 "Connection: foo , Close"
	    "\r\n\r\n"), DONE, "GET", "/", "-", "", 0, 0, NULL, NULL, 0 },
	{ "http/1.1 close in second field", R("GET /" H11 "Connection: a\r\n"
	    "Connection: close\r\n\r\n"), DONE, "GET", "/", "-", "", 0, 0,
	    NULL, NULL, 0 },
	{ "content-length body", R("POST /x" H11 "Content-Length: 5\r\n\r\n"
	    "hello"), DONE, "POST", "/x", "-", "hello", 5, 1, NULL, NULL, 0 },
	{ "content-length zero", R("POST /x" H11 "Content-Length: 0\r\n\r\n"),
	    DONE, "POST", "/x", "-", "", 0, 1, NULL, NULL, 0 },
	{ "content-length ows", R("POST /x" H11 "Content-Length:  3 \r\n\r\n"
	    "abc"), DONE, "POST", "/x", "-", "abc", 3, 1, NULL, NULL, 0 },
	{ "body with nul", R("PUT /x" H11 "Content-Length: 3\r\n\r\na\0b"),
	    DONE, "PUT", "/x", "-", "a\0b", 3, 1, NULL, NULL, 0 },
	{ "body at the limit", R("POST /x" H11 "Content-Length: 4\r\n\r\n"
	    "abcd"), DONE, "POST", "/x", "-", "abcd", 4, 1, NULL, NULL, 4 },
	{ "chunked", R("POST /c" H11 "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), DONE, "POST", "/c", "-",
	    "hello world", 11, 1, "Transfer-Encoding", "chunked", 0 },
	{ "chunked mixed case", R("POST /c" H11 "transfer-encoding: ChUnKeD"
	    "\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"), DONE, "POST", "/c", "-",
	    "0123456789", 10, 1, NULL, NULL, 0 },
	{ "chunked trailers dropped", R("POST /c" H11 "Transfer-Encoding: "
	    "chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: t\r\nContent-Length:"
	    " 99\r\n\r\n"), DONE, "POST", "/c", "-", "abc", 3, 1,
	    "X-Trailer", NULL, 0 },
	{ "chunked extensions", R("POST /c" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3;a=b;c=\"q\\\"x y\" ; d ; e = f\r\nabc\r\n0;z\r\n\r\n"),
	    DONE, "POST", "/c", "-", "abc", 3, 1, NULL, NULL, 0 },
	{ "chunked leading zeros", R("POST /c" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n0003\r\nabc\r\n000\r\n\r\n"), DONE, "POST", "/c", "-",
	    "abc", 3, 1, NULL, NULL, 0 },
	{ "chunked at the limit", R("POST /c" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"), DONE, "POST", "/c", "-",
	    "abcd", 4, 1, NULL, NULL, 4 },
	{ "target as received", R("GET /%7e/a?b=%20" H11 "\r\n"), DONE,
	    "GET", "/~/a", "b=%20", "", 0, 1, NULL, NULL, 0 },
	{ "8-bit field name refused", R("GET /" H11 "X-\xd7: a\r\n\r\n"),
	    ERR(400) },
	{ "leading empty lines", R("\r\n\r\nGET /" H11 "\r\n"), DONE, "GET",
	    "/", "-", "", 0, 1, NULL, NULL, 0 },
	{ "value ows trimmed", R("GET /" H11 "X-A: \t v w \t \r\n\r\n"), DONE,
	    "GET", "/", "-", "", 0, 1, "x-a", "v w", 0 },
	{ "empty value", R("GET /" H11 "X-E:\r\n\r\n"), DONE, "GET", "/", "-",
	    "", 0, 1, "X-E", "", 0 },
	{ "obs-text value", R("GET /" H11 "X-U: caf\xc3\xa9\r\n\r\n"), DONE,
	    "GET", "/", "-", "", 0, 1, "X-U", "caf\xc3\xa9", 0 },
	{ "host with port", R("GET / HTTP/1.1\r\nHost: ex.com:8080\r\n\r\n"),
	    DONE, "GET", "/", "-", "", 0, 1, "HOST", "ex.com:8080", 0 },
	{ "host ipv6", R("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"),
	    DONE, "GET", "/", "-", "", 0, 1, "Host", "[::1]:80", 0 },
	{ "empty host", R("GET / HTTP/1.1\r\nHost:\r\n\r\n"), DONE, "GET",
	    "/", "-", "", 0, 1, "Host", "", 0 },
	{ "head", R("HEAD /h" H11 "\r\n"), DONE, "HEAD", "/h", "-", "", 0, 1,
	    NULL, NULL, 0 },
	{ "delete", R("DELETE /d" H11 "\r\n"), DONE, "DELETE", "/d", "-", "",
	    0, 1, NULL, NULL, 0 },
	{ "patch with body", R("PATCH /p" H11 "Content-Length: 2\r\n\r\n{}"),
	    DONE, "PATCH", "/p", "-", "{}", 2, 1, NULL, NULL, 0 },
	{ "expect continue", R("POST /e" H11 "Expect: 100-continue\r\n"
	    "Content-Length: 1\r\n\r\nx"), DONE, "POST", "/e", "-", "x", 1, 1,
	    "Expect", "100-continue", 0 },
	{ "upgrade ignored", R("GET /" H11 "Connection: Upgrade\r\nUpgrade: "
	    "websocket\r\n\r\n"), DONE, "GET", "/", "-", "", 0, 1, "Upgrade",
	    "websocket", 0 },

	/* Content-Length and Transfer-Encoding. */
	{ "cl and te", R("POST /" H11 "Content-Length: 3\r\nTransfer-Encoding:"
	    " chunked\r\n\r\n"), ERR(400) },
	{ "te and cl", R("POST /" H11 "Transfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n"), ERR(400) },
	{ "duplicate cl equal", R("POST /" H11 "Content-Length: 3\r\n"
	    "Content-Length: 3\r\n\r\nabc"), ERR(400) },
	{ "duplicate cl different", R("POST /" H11 "Content-Length: 3\r\n"
	    "content-length: 4\r\n\r\nabcd"), ERR(400) },
	{ "cl list", R("POST /" H11 "Content-Length: 3, 3\r\n\r\nabc"), ERR(400) },
	{ "cl negative", R("POST /" H11 "Content-Length: -1\r\n\r\n"), ERR(400) },
	{ "cl plus", R("POST /" H11 "Content-Length: +3\r\n\r\nabc"), ERR(400) },
	{ "cl space inside", R("POST /" H11 "Content-Length: 1 2\r\n\r\n"),
	    ERR(400) },
	{ "cl empty", R("POST /" H11 "Content-Length:\r\n\r\n"), ERR(400) },
	{ "cl letters", R("POST /" H11 "Content-Length: abc\r\n\r\n"), ERR(400) },
	{ "cl hex", R("POST /" H11 "Content-Length: 0x10\r\n\r\n"), ERR(400) },
	{ "cl overflow", R("POST /" H11 "Content-Length: "
	    "184467440737095516160\r\n\r\n"), ERR(400) },
	{ "cl over limit", R("POST /" H11 "Content-Length: 1048577\r\n\r\n"),
	    ERR(413) },
	{ "cl over small limit", R("POST /" H11 "Content-Length: 5\r\n\r\n"),
	    413, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 4 },
	{ "te chunked twice", R("POST /" H11 "Transfer-Encoding: chunked, "
	    "chunked\r\n\r\n"), ERR(400) },
	{ "te gzip chunked", R("POST /" H11 "Transfer-Encoding: gzip, chunked"
	    "\r\n\r\n"), ERR(400) },
	{ "te identity", R("POST /" H11 "Transfer-Encoding: identity\r\n\r\n"),
	    ERR(400) },
	{ "te gzip", R("POST /" H11 "Transfer-Encoding: gzip\r\n\r\n"), ERR(400) },
	{ "te two fields", R("POST /" H11 "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), ERR(400) },
	{ "te with params", R("POST /" H11 "Transfer-Encoding: chunked;q=1"
	    "\r\n\r\n"), ERR(400) },
	{ "te in http/1.0", R("POST / HTTP/1.0\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n0\r\n\r\n"), ERR(400) },

	/* Line endings, folding, bytes that never belong in a header. */
	{ "obs-fold", R("GET /" H11 "X-A: a\r\n b\r\n\r\n"), ERR(400) },
	{ "obs-fold tab", R("GET /" H11 "X-A: a\r\n\tb\r\n\r\n"), ERR(400) },
	{ "space before first field", R("GET / HTTP/1.1\r\n Host: h\r\n\r\n"),
	    ERR(400) },
	{ "bare lf request line", R("GET / HTTP/1.1\nHost: h\r\n\r\n"), ERR(400) },
	{ "bare lf field", R("GET /" H11 "X-A: b\n\r\n"), ERR(400) },
	{ "bare lf end", R("GET /" H11 "\n"), ERR(400) },
	{ "lf only", R("GET / HTTP/1.1\nHost: h\n\n"), ERR(400) },
	{ "bare lf before request", R("\nGET /" H11 "\r\n"), ERR(400) },
	{ "bare cr in value", R("GET /" H11 "X-A: a\rb\r\n\r\n"), ERR(400) },
	{ "bare cr at end", R("GET /" H11 "\rX"), ERR(400) },
	{ "nul in method", R("G\0ET /" H11 "\r\n"), ERR(400) },
	{ "nul in target", R("GET /a\0b" H11 "\r\n"), ERR(400) },
	{ "nul in field name", R("GET /" H11 "X-\0A: b\r\n\r\n"), ERR(400) },
	{ "nul in value", R("GET /" H11 "X-A: b\0c\r\n\r\n"), ERR(400) },
	{ "control in value", R("GET /" H11 "X-A: b\x01" "c\r\n\r\n"), ERR(400) },
	{ "del in value", R("GET /" H11 "X-A: b\x7f\r\n\r\n"), ERR(400) },
	{ "space before colon", R("GET /" H11 "Host : h\r\n\r\n"), ERR(400) },
	{ "tab before colon", R("GET /" H11 "X-A\t: h\r\n\r\n"), ERR(400) },
	{ "bad name char", R("GET /" H11 "X(A): h\r\n\r\n"), ERR(400) },
	{ "no colon", R("GET /" H11 "X-A h\r\n\r\n"), ERR(400) },
	{ "empty name", R("GET /" H11 ": h\r\n\r\n"), ERR(400) },

	/* Request line and target. */
	{ "absolute-form", R("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), ERR(400) },
	{ "asterisk-form", R("OPTIONS *" H11 "\r\n"), ERR(400) },
	{ "authority-form", R("CONNECT h:443" H11 "\r\n"), ERR(400) },
	{ "connect origin", R("CONNECT /x" H11 "\r\n"), ERR(400) },
	{ "fragment", R("GET /a#b" H11 "\r\n"), ERR(400) },
	{ "fragment in query", R("GET /a?b#c" H11 "\r\n"), ERR(400) },
	{ "pct nul", R("GET /a%00b" H11 "\r\n"), ERR(400) },
	{ "pct crlf", R("GET /a%0d%0ab" H11 "\r\n"), ERR(400) },
	{ "pct invalid", R("GET /a%zzb" H11 "\r\n"), ERR(400) },
	{ "pct truncated", R("GET /a%4" H11 "\r\n"), ERR(400) },
	{ "pct invalid in query", R("GET /a?%g1" H11 "\r\n"), ERR(400) },
	{ "dotdot segment", R("GET /a/../b" H11 "\r\n"), ERR(400) },
	{ "dotdot at end", R("GET /a/.." H11 "\r\n"), ERR(400) },
	{ "dotdot encoded", R("GET /a/%2e%2E/b" H11 "\r\n"), ERR(400) },
	{ "dotdot encoded at end", R("GET /a/.%2e" H11 "\r\n"), ERR(400) },
	{ "dotdot encoded slash", R("GET /a/..%2fb" H11 "\r\n"), ERR(400) },
	{ "dot segment", R("GET /a/./b" H11 "\r\n"), ERR(400) },
	{ "encoded slash", R("GET /widget-service%2fhealth" H11 "\r\n"),
	    ERR(400) },
	{ "encoded slash upper", R("GET /a%2Fb" H11 "\r\n"), ERR(400) },
	{ "encoded backslash", R("GET /a%5cb" H11 "\r\n"), ERR(400) },
	{ "encoded backslash upper", R("GET /a%5C" H11 "\r\n"), ERR(400) },
	{ "quote in path", R("GET /a\"b" H11 "\r\n"), ERR(400) },
	{ "backslash in path", R("GET /a\\b" H11 "\r\n"), ERR(400) },
	{ "8-bit in path", R("GET /caf\xc3\xa9" H11 "\r\n"), ERR(400) },
	{ "double space", R("GET  /" H11 "\r\n"), ERR(400) },
	{ "leading space", R(" GET /" H11 "\r\n"), ERR(400) },
	{ "trailing space", R("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), ERR(400) },
	{ "tab separator", R("GET\t/" H11 "\r\n"), ERR(400) },
	{ "no version", R("GET /\r\nHost: h\r\n\r\n"), ERR(400) },
	{ "lower-case version", R("GET / http/1.1\r\nHost: h\r\n\r\n"), ERR(400) },
	{ "long version", R("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), ERR(400) },
	{ "http/2.0", R("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), ERR(505) },
	{ "http/1.2", R("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), ERR(505) },
	{ "http/0.9", R("GET / HTTP/0.9\r\n\r\n"), ERR(505) },
	{ "http/2.0 asterisk", R("OPTIONS * HTTP/2.0\r\n\r\n"), ERR(505) },
	{ "http/2 preface", R("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), ERR(505) },
	{ "unknown method", R("FROB /" H11 "\r\n"), ERR(501) },
	{ "lower-case method", R("get /" H11 "\r\n"), ERR(501) },
	{ "bad method char", R("GE(T /" H11 "\r\n"), ERR(400) },

	/* Host. */
	{ "no host", R("GET / HTTP/1.1\r\n\r\n"), ERR(400) },
	{ "two hosts", R("GET /" H11 "Host: h\r\n\r\n"), ERR(400) },
	{ "two hosts differ", R("GET /" H11 "host: other\r\n\r\n"), ERR(400) },
	{ "host with slash", R("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), ERR(400) },
	{ "host with space", R("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), ERR(400) },
	{ "host with at", R("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"), ERR(400) },

	/* Chunked framing. */
	{ "chunk size overflow", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\nfffffffffffffffffffff\r\n"), ERR(413) },
	{ "chunk size over limit", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n100001\r\n"), ERR(413) },
	{ "chunks sum over limit", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3\r\nabc\r\n2\r\n"), 413, NULL, NULL, NULL, NULL, 0, 0,
	    NULL, NULL, 4 },
	{ "chunk size not hex", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\nxyz\r\n"), ERR(400) },
	{ "chunk size empty", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n\r\n"), ERR(400) },
	{ "chunk size space", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3 \r\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk size sign", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n+3\r\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk size 0x", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk size bare lf", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk ext empty name", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3;\r\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk ext empty value", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3;a=\r\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk ext two words", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3;a b\r\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk ext open quote", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3;a=\"b\r\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk ext nul", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3;a\0\r\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk ext bare lf", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3;a\nabc\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk data too long", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"), ERR(400) },
	{ "chunk data bare lf", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n3\r\nabc\n0\r\n\r\n"), ERR(400) },
	{ "trailer obs-fold", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n"), ERR(400) },
	{ "trailer bare lf", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n0\r\nX-T: a\n\r\n"), ERR(400) },
	{ "trailer bad name", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n0\r\nX T: a\r\n\r\n"), ERR(400) },
	{ "trailer nul", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n0\r\nX-T: a\0\r\n\r\n"), ERR(400) },
	{ "trailer 8-bit name", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n0\r\nX-\xd7: a\r\n\r\n"), ERR(400) },
	{ "trailer space before colon", R("POST /" H11 "Transfer-Encoding: "
	    "chunked\r\n\r\n0\r\nX-T : a\r\n\r\n"), ERR(400) },
	{ "end bare lf", R("POST /" H11 "Transfer-Encoding: chunked"
	    "\r\n\r\n0\r\n\n"), ERR(400) },
};

static const char *
http_fmt_query(const char *q)
{
	return q == NULL ? "-" : q;
}

/* Feed raw in pieces of at most step bytes (0: all at once) or cut at cut. */
static enum http_status
run(struct http_parser_state *ps, const char *raw, size_t len, size_t step,
    size_t cut, size_t *used, int *status)
{
	enum http_status	 st = HTTP_NEED_MORE;
	const char		*msg = NULL;
	size_t			 pos = 0, n, c;

	*used = 0;
	while (pos < len) {
		if (step > 0)
			n = len - pos < step ? len - pos : step;
		else if (cut > 0 && pos < cut)
			n = cut - pos;
		else
			n = len - pos;
		c = 0;
		st = http_feed(ps, raw + pos, n, &c, status, &msg);
		ck_assert_uint_le(c, n);
		pos += c;
		if (st == HTTP_ERROR) {
			ck_assert_ptr_nonnull(msg);
			break;
		}
		if (st == HTTP_DONE)
			break;
		ck_assert_uint_eq(c, n);
	}
	*used = pos;
	return st;
}

/*
 * Parse one table row the given way and compare with what the row
 * expects; an error must also stay an error for whatever follows.
 */
static void
check_outcome(const struct hcase *hc, const char *how, size_t k)
{
	struct http_limits	 lim = { 0, 0, hc->c_body_limit, 0 };
	struct http_parser_state *ps;
	struct http_request	*r;
	enum http_status	 st;
	size_t			 used, step = 0, cut = 0;
	const char		*sp;
	int			 status = 0;

	if (strcmp(how, "bytewise") == 0)
		step = 1;
	else if (strcmp(how, "cut") == 0)
		cut = k;
	ps = http_parser_state_new(&lim);
	ck_assert_ptr_nonnull(ps);
	st = run(ps, hc->c_raw, hc->c_len, step, cut, &used, &status);
	if (hc->c_status != DONE) {
		ck_assert_msg(st == HTTP_ERROR && status == hc->c_status,
		    "%s (%s %zu): got %d/%d, want error %d", hc->c_name, how, k,
		    st, status, hc->c_status);
		/* Sticky: nothing after a framing error is parsed. */
		ck_assert_int_eq(http_feed(ps, "GET / HTTP/1.0\r\n\r\n", 18,
		    &used, &status, &(const char *){ NULL }), HTTP_ERROR);
		ck_assert_uint_eq(used, 0);
		ck_assert_ptr_null(http_take_request(ps));
		http_parser_state_free(ps);
		return;
	}
	ck_assert_msg(st == HTTP_DONE, "%s (%s %zu): got %d/%d, want done",
	    hc->c_name, how, k, st, status);
	ck_assert_uint_eq(used, hc->c_len);
	r = http_take_request(ps);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->r_method, hc->c_method);
	/* r_target is the request-target exactly as it was sent. */
	sp = memchr(hc->c_raw, ' ', hc->c_len);
	ck_assert_ptr_nonnull(sp);
	ck_assert_int_eq(strncmp(r->r_target, sp + 1, strlen(r->r_target)), 0);
	ck_assert_int_eq(sp[1 + strlen(r->r_target)], ' ');
	ck_assert_str_eq(r->r_path, hc->c_path);
	ck_assert_str_eq(http_fmt_query(r->r_query), hc->c_query);
	ck_assert_ptr_nonnull(r->r_body);
	ck_assert_uint_eq(r->r_bodylen, hc->c_bodylen);
	ck_assert_int_eq(memcmp(r->r_body, hc->c_body, hc->c_bodylen), 0);
	ck_assert_int_eq(r->r_body[r->r_bodylen], '\0');
	ck_assert_int_eq(r->r_keepalive, hc->c_keepalive);
	if (hc->c_hname != NULL && hc->c_hvalue != NULL)
		ck_assert_str_eq(http_request_header(r, hc->c_hname),
		    hc->c_hvalue);
	else if (hc->c_hname != NULL)
		ck_assert_ptr_null(http_request_header(r, hc->c_hname));
	http_request_free(r);
	/* Taken: the state is fresh again. */
	ck_assert_int_eq(http_in_progress(ps), 0);
	http_parser_state_free(ps);
}

START_TEST(test_table_whole)
{
	check_outcome(&cases[_i], "whole", 0);
}
END_TEST

START_TEST(test_table_bytewise)
{
	check_outcome(&cases[_i], "bytewise", 0);
}
END_TEST

START_TEST(test_table_cut)
{
	size_t	 k;

	for (k = 1; k < cases[_i].c_len; k++)
		check_outcome(&cases[_i], "cut", k);
}
END_TEST

/* Requests made at run time: long targets, many or long fields. */
static void
check_generated(size_t fill, size_t vlen, size_t nlines, int want)
{
	struct http_parser_state *ps;
	struct http_request	*r;
	char			*buf, *p;
	size_t			 len, used, i;
	int			 status = 0;
	enum http_status	 st;

	len = fill + nlines * (vlen + 16) + 64;
	buf = p = malloc(len);
	ck_assert_ptr_nonnull(buf);
	p += sprintf(p, "GET /");
	memset(p, 'a', fill);
	p += fill;
	p += sprintf(p, " HTTP/1.1\r\nHost: h\r\n");
	for (i = 0; i < nlines; i++) {
		p += sprintf(p, "X-Long: ");
		memset(p, 'b', vlen);
		p += vlen;
		p += sprintf(p, "\r\n");
	}
	p += sprintf(p, "\r\n");
	len = p - buf;

	ps = http_parser_state_new(NULL);
	st = run(ps, buf, len, 0, 0, &used, &status);
	if (want == DONE) {
		ck_assert_int_eq(st, HTTP_DONE);
		ck_assert_uint_eq(used, len);
		r = http_take_request(ps);
		ck_assert_uint_eq(r->r_nheaders, nlines + 1);
		ck_assert_uint_eq(strlen(r->r_path), fill + 1);
		http_request_free(r);
	} else {
		ck_assert_int_eq(st, HTTP_ERROR);
		ck_assert_int_eq(status, want);
		/* Refused as soon as the limit is crossed. */
		ck_assert_uint_lt(used, len);
	}
	http_parser_state_free(ps);
	/* Bytewise must agree. */
	ps = http_parser_state_new(NULL);
	st = run(ps, buf, len, 1, 0, &used, &status);
	ck_assert_int_eq(st, want == DONE ? HTTP_DONE : HTTP_ERROR);
	if (want != DONE)
		ck_assert_int_eq(status, want);
	http_parser_state_free(ps);
	free(buf);
}

START_TEST(test_limits)
{
	/* 99 fields plus Host: exactly the default maximum of 100. */
	check_generated(0, 1, 99, DONE);
	check_generated(0, 1, 100, 431);
	/* A request line just under, then over, 64 KiB. */
	check_generated(65536 - 40, 0, 0, DONE);
	check_generated(65536, 0, 0, 431);
	/* Field lines adding up to just under, then over, 64 KiB. */
	check_generated(0, 1000, 64, DONE);
	check_generated(0, 1000, 66, 431);
}
END_TEST

/*
 * A byte a header line may not hold, at every place of the request line
 * and of a field value (inside and past the sixteen bytes the scanner
 * takes at once), fed whole, cut just before it and a byte at a time:
 * refused at that very byte, with its own message.
 */
START_TEST(test_line_bytes)
{
	static const unsigned char bad[] = { 0x00, 0x01, 0x08, 0x0a, 0x0b,
	    0x1f, 0x7f };
	static const char	 pre[] = "GET /", mid[] = " HTTP/1.1\r\n"
	    "Host: h\r\nX-A: ";
	char			 buf[256], path[64], value[64];
	const char		*msg, *want;
	struct http_parser_state *ps;
	size_t			 b, at, i, len, used, bad_at, step;
	int			 status, inpath;

	for (b = 0; b < sizeof(bad); b++)
	for (inpath = 0; inpath <= 1; inpath++)
	for (at = 0; at < 40; at++) {
		memset(path, 'p', sizeof(path));
		memset(value, 'v', sizeof(value));
		path[40] = value[40] = '\0';
		(inpath ? path : value)[at] = (char)bad[b];
		len = 0;
		memcpy(buf + len, pre, sizeof(pre) - 1);
		len += sizeof(pre) - 1;
		memcpy(buf + len, path, 40);
		len += 40;
		memcpy(buf + len, mid, sizeof(mid) - 1);
		len += sizeof(mid) - 1;
		memcpy(buf + len, value, 40);
		len += 40;
		memcpy(buf + len, "\r\n\r\n", 4);
		len += 4;
		bad_at = inpath ? sizeof(pre) - 1 + at :
		    sizeof(pre) - 1 + 40 + sizeof(mid) - 1 + at;
		want = bad[b] == 0 ? "NUL in header" : bad[b] == '\n' ?
		    "bare LF" : "control character in header";
		for (step = 0; step <= 2; step++) {
			ps = http_parser_state_new(NULL);
			status = 0;
			msg = NULL;
			if (step == 1) {
				/* everything up to the byte, then the rest */
				ck_assert_int_eq(http_feed(ps, buf, bad_at,
				    &used, &status, &msg), HTTP_NEED_MORE);
				ck_assert_uint_eq(used, bad_at);
				ck_assert_int_eq(http_feed(ps, buf + bad_at,
				    len - bad_at, &used, &status, &msg),
				    HTTP_ERROR);
				used += bad_at;
			} else if (step == 2) {
				for (i = 0; i < len; i++)
					if (http_feed(ps, buf + i, 1, &used,
					    &status, &msg) != HTTP_NEED_MORE)
						break;
				ck_assert_uint_eq(i, bad_at);
				used = i;
			} else
				ck_assert_int_eq(http_feed(ps, buf, len, &used,
				    &status, &msg), HTTP_ERROR);
			ck_assert_int_eq(status, 400);
			ck_assert_ptr_nonnull(msg);
			ck_assert_str_eq(msg, want);
			ck_assert_uint_eq(used, bad_at);
			http_parser_state_free(ps);
		}
	}
}
END_TEST

/* Configured limits replace the defaults, for headers and trailers. */
START_TEST(test_custom_limits)
{
	struct http_limits	 lim = { 64, 2, 8, 0 };
	struct http_parser_state *ps;
	const char		*msg;
	size_t			 used;
	int			 status = 0;
	static const char	 fits[] = "GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n";
	static const char	 three[] =
	    "GET / HTTP/1.1\r\nHost: h\r\nA: b\r\nC: d\r\n\r\n";
	static const char	 big[] =
	    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    " HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char	 tiny[] = "PUT / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "1;x=y\r\na\r\n1;x=y\r\na\r\n1;x=y\r\na\r\n1;x=y\r\na\r\n"
	    "1;x=y\r\na\r\n1;x=y\r\na\r\n1;x=y\r\na\r\n1;x=y\r\na\r\n"
	    "1;x=y\r\na\r\n1;x=y\r\na\r\n1;x=y\r\na\r\n0\r\n\r\n";
	static const char	 chunked2[] = "PUT / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\n\r\n";
	static const char	 chunked3[] = "PUT / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\n"
	    "C: 3\r\n\r\n";
	static const char	 chunkedbig[] = "PUT / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\nA: 0123456789012345"
	    "678901234567890123456789012345678901234567890123456789\r\n\r\n";

	ps = http_parser_state_new(&lim);
	ck_assert_int_eq(http_feed(ps, fits, sizeof(fits) - 1, &used, &status,
	    &msg), HTTP_DONE);
	http_request_free(http_take_request(ps));
	ck_assert_int_eq(http_feed(ps, three, sizeof(three) - 1, &used,
	    &status, &msg), HTTP_ERROR);
	ck_assert_int_eq(status, 431);
	http_parser_state_free(ps);

	ps = http_parser_state_new(&lim);
	ck_assert_int_eq(http_feed(ps, big, sizeof(big) - 1, &used, &status,
	    &msg), HTTP_ERROR);
	ck_assert_int_eq(status, 431);
	/* Refused at the byte past the limit: the request line alone is over. */
	ck_assert_uint_eq(used, 64);
	http_parser_state_free(ps);

	/* Chunk framing shares the header budget: 11 × "1;x=y\r\n" > 64. */
	lim.hl_body = 100;
	ps = http_parser_state_new(&lim);
	lim.hl_body = 8;
	ck_assert_int_eq(http_feed(ps, tiny, sizeof(tiny) - 1, &used,
	    &status, &msg), HTTP_ERROR);
	ck_assert_int_eq(status, 400);
	ck_assert_str_eq(msg, "too much chunk framing");
	http_parser_state_free(ps);

	/* Trailers have their own budget of fields and bytes. */
	ps = http_parser_state_new(&lim);
	ck_assert_int_eq(http_feed(ps, chunked2, sizeof(chunked2) - 1, &used,
	    &status, &msg), HTTP_DONE);
	http_request_free(http_take_request(ps));
	ck_assert_int_eq(http_feed(ps, chunked3, sizeof(chunked3) - 1, &used,
	    &status, &msg), HTTP_ERROR);
	ck_assert_int_eq(status, 431);
	ck_assert_str_eq(msg, "too many trailer fields");
	http_parser_state_free(ps);
	ps = http_parser_state_new(&lim);
	ck_assert_int_eq(http_feed(ps, chunkedbig, sizeof(chunkedbig) - 1,
	    &used, &status, &msg), HTTP_ERROR);
	ck_assert_int_eq(status, 431);
	ck_assert_str_eq(msg, "trailers too large");
	http_parser_state_free(ps);
}
END_TEST

/* Three requests in one buffer, taken one after the other. */
static const char pipelined[] =
    "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
    "POST /two?q HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    "PUT /three HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "2\r\nxy\r\n0\r\nT: v\r\n\r\n"
    "GET /four HTTP/1.0\r\n\r\n";

static void
check_pipelined(size_t step)
{
	static const char	*paths[] = { "/one", "/two", "/three", "/four" };
	static const char	*bodies[] = { "", "abc", "xy", "" };
	struct http_parser_state *ps;
	struct http_request	*r;
	const char		*msg;
	size_t			 len = sizeof(pipelined) - 1, pos = 0, used;
	size_t			 avail = 0;
	int			 status, nreq = 0, need = 1;
	enum http_status	 st;

	ps = http_parser_state_new(NULL);
	ck_assert_ptr_nonnull(ps);
	/*
	 * Like a connection: bytes arrive step at a time into a buffer,
	 * and what a feed did not consume is fed again after the take.
	 */
	while (nreq < 4) {
		if (need) {
			ck_assert_uint_lt(pos + avail, len);
			avail = step == 0 || avail + step > len - pos ?
			    len - pos : avail + step;
		}
		st = http_feed(ps, pipelined + pos, avail, &used, &status,
		    &msg);
		ck_assert_int_ne(st, HTTP_ERROR);
		pos += used;
		avail -= used;
		if (st == HTTP_DONE) {
			r = http_take_request(ps);
			ck_assert_ptr_nonnull(r);
			ck_assert_str_eq(r->r_path, paths[nreq]);
			ck_assert_str_eq(r->r_body, bodies[nreq]);
			ck_assert_int_eq(r->r_keepalive, nreq < 3);
			ck_assert_ptr_null(http_request_header(r, "T"));
			nreq++;
			http_request_free(r);
			need = avail == 0;
		} else {
			ck_assert_uint_eq(avail, 0);
			need = 1;
		}
	}
	ck_assert_uint_eq(pos, len);
	http_parser_state_free(ps);
}

START_TEST(test_pipelined)
{
	check_pipelined(0);
	check_pipelined(1);
	check_pipelined(7);
}
END_TEST

/* No pipelined request after a framing error is parsed (SPEC promise 7). */
START_TEST(test_pipelined_error_stops)
{
	static const char	 buf[] =
	    "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\nx"
	    "GET /never HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_parser_state *ps;
	struct http_request	*r;
	const char		*msg;
	size_t			 used, pos = 0;
	int			 status = 0;

	ps = http_parser_state_new(NULL);
	ck_assert_int_eq(http_feed(ps, buf, sizeof(buf) - 1, &used, &status,
	    &msg), HTTP_DONE);
	/* Untaken, the next feed consumes nothing. */
	ck_assert_int_eq(http_feed(ps, buf + used, sizeof(buf) - 1 - used,
	    &pos, &status, &msg), HTTP_DONE);
	ck_assert_uint_eq(pos, 0);
	r = http_take_request(ps);
	ck_assert_str_eq(r->r_path, "/ok");
	http_request_free(r);
	pos = used;
	ck_assert_int_eq(http_feed(ps, buf + pos, sizeof(buf) - 1 - pos, &used,
	    &status, &msg), HTTP_ERROR);
	ck_assert_int_eq(status, 400);
	ck_assert_str_eq(msg, "duplicate Content-Length");
	ck_assert_ptr_null(http_take_request(ps));
	http_parser_state_free(ps);
}
END_TEST

/* The worker answers 408 only when a request had started. */
START_TEST(test_in_progress)
{
	struct http_parser_state *ps;
	const char		*msg;
	size_t			 used;
	int			 status;

	ps = http_parser_state_new(NULL);
	ck_assert_int_eq(http_in_progress(ps), 0);
	ck_assert_int_eq(http_feed(ps, "\r\n", 2, &used, &status, &msg),
	    HTTP_NEED_MORE);
	ck_assert_int_eq(http_in_progress(ps), 0);
	ck_assert_int_eq(http_feed(ps, "G", 1, &used, &status, &msg),
	    HTTP_NEED_MORE);
	ck_assert_int_eq(http_in_progress(ps), 1);
	ck_assert_int_eq(http_feed(ps, "ET / HTTP/1.1\r\nHost: h\r\n\r\n", 26,
	    &used, &status, &msg), HTTP_DONE);
	ck_assert_uint_eq(used, 26);
	http_request_free(http_take_request(ps));
	ck_assert_int_eq(http_in_progress(ps), 0);
	ck_assert_ptr_null(http_take_request(ps));
	http_parser_state_free(ps);
	http_parser_state_free(NULL);
	http_request_free(NULL);
}
END_TEST

/* curl waits a second for "100 Continue" before sending a large body. */
START_TEST(test_expect_continue)
{
	static const char	 hdr[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Expect: 100-Continue\r\nContent-Length: 2\r\n\r\n";
	static const char	 hdr10[] = "POST / HTTP/1.0\r\n"
	    "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	struct http_parser_state *ps;
	const char		*msg;
	size_t			 used;
	int			 status;

	ps = http_parser_state_new(NULL);
	ck_assert_int_eq(http_expects_continue(ps), 0);
	ck_assert_int_eq(http_feed(ps, hdr, sizeof(hdr) - 1, &used, &status,
	    &msg), HTTP_NEED_MORE);
	ck_assert_int_eq(http_expects_continue(ps), 1);
	ck_assert_int_eq(http_expects_continue(ps), 0);	/* once */
	ck_assert_int_eq(http_feed(ps, "ab", 2, &used, &status, &msg),
	    HTTP_DONE);
	http_request_free(http_take_request(ps));
	http_parser_state_free(ps);

	ps = http_parser_state_new(NULL);
	ck_assert_int_eq(http_feed(ps, hdr10, sizeof(hdr10) - 1, &used,
	    &status, &msg), HTTP_NEED_MORE);
	ck_assert_int_eq(http_expects_continue(ps), 0);
	http_parser_state_free(ps);
}
END_TEST

/*
 * hl_gate: the parser stops once after the header block of a request with
 * a body (HTTP_HEADERS, nothing of the body consumed), so the caller can
 * route first; it then reads on, or hands the request over bodiless.
 */
START_TEST(test_gate)
{
	static const char	 req[] = "POST /p?q HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 5\r\n\r\nhello";
	static const char	 chunked[] = "PUT /c HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
	static const char	 nobody[] = "GET /g HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_limits	 lim = { .hl_gate = 1 };
	struct http_parser_state *ps;
	const struct http_request *pr;
	struct http_request	*r;
	const char		*msg;
	size_t			 used, hlen = sizeof(req) - 1 - 5;
	int			 status, ch;

	ps = http_parser_state_new(&lim);
	ck_assert_int_eq(http_feed(ps, req, sizeof(req) - 1, &used, &status,
	    &msg), HTTP_HEADERS);
	ck_assert_uint_eq(used, hlen);
	pr = http_peek_request(ps);
	ck_assert_ptr_nonnull(pr);
	ck_assert_str_eq(pr->r_method, "POST");
	ck_assert_str_eq(pr->r_path, "/p");
	ck_assert_uint_eq(http_body_declared(ps, &ch), 5);
	ck_assert_int_eq(ch, 0);
	ck_assert_uint_eq(http_body_buffered(ps), 0);
	/* Read on: the body, and the request is done. */
	ck_assert_int_eq(http_feed(ps, req + used, 5, &used, &status, &msg),
	    HTTP_DONE);
	r = http_take_request(ps);
	ck_assert_str_eq(r->r_body, "hello");
	http_request_free(r);
	/* A request without a body is not stopped at. */
	ck_assert_int_eq(http_feed(ps, nobody, sizeof(nobody) - 1, &used,
	    &status, &msg), HTTP_DONE);
	ck_assert_ptr_null(http_peek_request(ps));
	ck_assert_ptr_null(http_take_headers(ps));
	http_request_free(http_take_request(ps));
	http_parser_state_free(ps);

	/* Handed over without its body: the parser is done for good. */
	ps = http_parser_state_new(&lim);
	ck_assert_int_eq(http_feed(ps, chunked, sizeof(chunked) - 1, &used,
	    &status, &msg), HTTP_HEADERS);
	ck_assert_uint_eq(http_body_declared(ps, &ch), 0);
	ck_assert_int_eq(ch, 1);
	/* Chunked: the bytes held are counted as they come. */
	ck_assert_int_eq(http_feed(ps, chunked + used, sizeof(chunked) - 1 -
	    used, &used, &status, &msg), HTTP_NEED_MORE);
	ck_assert_uint_eq(http_body_buffered(ps), 3);
	r = http_take_headers(ps);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->r_method, "PUT");
	http_request_free(r);
	ck_assert_int_eq(http_feed(ps, "0\r\n\r\n", 5, &used, &status,
	    &msg), HTTP_ERROR);
	ck_assert_int_eq(status, 400);
	http_parser_state_free(ps);

	/* Without hl_gate the same bytes parse straight through. */
	ps = http_parser_state_new(NULL);
	ck_assert_int_eq(http_feed(ps, req, sizeof(req) - 1, &used, &status,
	    &msg), HTTP_DONE);
	http_request_free(http_take_request(ps));
	http_parser_state_free(ps);
}
END_TEST

/* The body buffer grows with the bytes, not with the declared length. */
START_TEST(test_body_growth)
{
	static const char	 hdr[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 1048576\r\n\r\n";
	struct http_parser_state *ps;
	struct http_request	*r;
	const char		*msg;
	char			*chunk;
	size_t			 used, total = 0;
	int			 status;

	ps = http_parser_state_new(NULL);
	ck_assert_int_eq(http_feed(ps, hdr, sizeof(hdr) - 1, &used, &status,
	    &msg), HTTP_NEED_MORE);
	chunk = malloc(4096);
	memset(chunk, 'z', 4096);
	while (total < 1048576) {
		enum http_status st = http_feed(ps, chunk, 4096, &used,
		    &status, &msg);

		ck_assert_uint_eq(used, 4096);
		total += used;
		ck_assert_int_eq(st, total == 1048576 ? HTTP_DONE :
		    HTTP_NEED_MORE);
	}
	r = http_take_request(ps);
	ck_assert_uint_eq(r->r_bodylen, 1048576);
	ck_assert_int_eq(r->r_body[1048575], 'z');
	http_request_free(r);
	free(chunk);
	http_parser_state_free(ps);
}
END_TEST

/* Write one response into a fresh buffer and return its bytes. */
static char *
response(int status, const char *const *hdrs, const char *body, int ka,
    int head, int *rv)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 n;
	char		*s;

	*rv = http_write_response(b, status, hdrs, body,
	    body == NULL ? 0 : strlen(body), ka, head);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

#define CHECK_RESPONSE(want, st, hdrs, body, ka, head) do {		\
	int	 rv_;							\
	char	*s_ = response(st, hdrs, body, ka, head, &rv_);		\
	ck_assert_int_eq(rv_, 0);					\
	ck_assert_str_eq(s_, want);					\
	free(s_);							\
} while (0)

#define CHECK_REFUSED(st, hdrs) do {					\
	int	 rv_;							\
	char	*s_ = response(st, hdrs, "x", 1, 0, &rv_);		\
	ck_assert_int_eq(rv_, -1);					\
	ck_assert_str_eq(s_, "");					\
	free(s_);							\
} while (0)

/* Framing headers are ours: length kept for HEAD, none for 1xx/204/304. */
START_TEST(test_write_response)
{
	const char *const	 h[] = { "Content-Type: text/plain",
	    "X-Request-ID: 1", NULL };

	CHECK_RESPONSE("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "X-Request-ID: 1\r\nContent-Length: 2\r\n\r\nhi", 200, h, "hi",
	    1, 0);
	CHECK_RESPONSE("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nno", 404, NULL, "no", 0, 0);
	CHECK_RESPONSE("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200,
	    NULL, "hello", 1, 1);
	CHECK_RESPONSE("HTTP/1.1 204 No Content\r\n\r\n", 204, NULL, "x",
	    1, 0);
	CHECK_RESPONSE("HTTP/1.1 304 Not Modified\r\nConnection: close\r\n"
	    "\r\n", 304, NULL, "x", 0, 0);
	CHECK_RESPONSE("HTTP/1.1 100 Continue\r\n\r\n", 100, NULL, NULL, 1, 0);
	CHECK_RESPONSE("HTTP/1.1 500 Internal Server Error\r\n"
	    "Content-Length: 0\r\n\r\n", 500, NULL, NULL, 1, 0);
	CHECK_RESPONSE("HTTP/1.1 599 Unknown\r\nX-T: a\tb\r\n"
	    "Content-Length: 0\r\n\r\n", 599, ((const char *const[]){
	    "X-T: a\tb", NULL }), NULL, 1, 0);
}
END_TEST

/*
 * A copied body lands in the block its head is in: one allocation and one
 * iovec for the writev, not two.  A large one still gets its own.
 */
START_TEST(test_write_one_block)
{
	const char *const	 h[] = { "Content-Type: application/json",
	    NULL };
	struct evbuffer		*b = evbuffer_new();
	char			*body;
	size_t			 n = 3092;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(body = malloc(256 * 1024));
	memset(body, 'j', 256 * 1024);
	ck_assert_int_eq(http_write_response(b, 200, h, body, n, 1, 0), 0);
	ck_assert_int_eq(evbuffer_peek(b, -1, NULL, NULL, 0), 1);
	/* the second answer of a pipeline: one block more at most */
	ck_assert_int_eq(http_write_response(b, 200, h, body, n, 1, 0), 0);
	ck_assert_int_le(evbuffer_peek(b, -1, NULL, NULL, 0), 2);
	ck_assert_uint_gt(evbuffer_get_length(b), 2 * n);
	evbuffer_drain(b, evbuffer_get_length(b));
	ck_assert_int_eq(http_write_response(b, 200, h, body, 256 * 1024, 1,
	    0), 0);
	ck_assert_uint_gt(evbuffer_get_length(b), 256 * 1024);
	evbuffer_free(b);
	free(body);
}
END_TEST

/* Refused headers leave the output untouched: no half-written reply. */
START_TEST(test_write_refused)
{
	CHECK_REFUSED(200, ((const char *const[]){ "X-A: a\r\nX-B: b", NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "X-A: a\n", NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "X-A: a\r", NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "X-A: \x01", NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "X-A: \x7f", NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "X-OK: 1", "X A: b",
	    NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "X-A b", NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ ": b", NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "Content-Length: 1",
	    NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "transfer-encoding: chunked",
	    NULL }));
	CHECK_REFUSED(200, ((const char *const[]){ "Connection: close",
	    NULL }));
	CHECK_REFUSED(99, NULL);
	CHECK_REFUSED(600, NULL);
}
END_TEST

/*
 * Every byte of a value is checked, wherever it lies in the sixteen-byte
 * steps the check takes, and a header's length is measured once: the
 * head holds each header whole, past the 64 whose lengths are kept.
 */
START_TEST(test_write_scan)
{
	static const char	 bad[] = { '\0' + 1, '\r', '\n', 0x1f, 0x7f };
	char			 h[64], want[8192], *s;
	const char		*hs[2] = { h, NULL }, *many[81];
	size_t			 pos, k, n, off;
	int			 rv;

	for (pos = 0; pos < 40; pos++)
		for (k = 0; k < sizeof(bad); k++) {
			n = (size_t)snprintf(h, sizeof(h), "X-V: ");
			memset(h + n, 'v', 40);
			h[n + 40] = '\0';
			h[n + pos] = bad[k];
			s = response(200, hs, "x", 1, 0, &rv);
			ck_assert_msg(rv == -1, "byte %#x at %zu", bad[k], pos);
			ck_assert_str_eq(s, "");
			free(s);
			/* a tab there is allowed, and sent as it is */
			h[n + pos] = '\t';
			s = response(200, hs, "x", 1, 0, &rv);
			ck_assert_int_eq(rv, 0);
			ck_assert_ptr_nonnull(strstr(s, h));
			free(s);
		}

	off = (size_t)snprintf(want, sizeof(want), "HTTP/1.1 200 OK\r\n");
	for (k = 0; k < 80; k++) {
		char	*one = malloc(32);

		snprintf(one, 32, "X-N%zu: %0*zu", k, (int)(k % 23) + 1, k);
		many[k] = one;
		off += (size_t)snprintf(want + off, sizeof(want) - off,
		    "%s\r\n", one);
	}
	many[80] = NULL;
	snprintf(want + off, sizeof(want) - off,
	    "Content-Length: 1\r\n\r\nx");
	CHECK_RESPONSE(want, 200, many, "x", 1, 0);
	for (k = 0; k < 80; k++)
		free((char *)many[k]);
}
END_TEST

/* What release saw: how often it ran, and with which body. */
struct given_seen {
	int		 gs_calls;
	const void	*gs_body;
	size_t		 gs_len;
};

static void
given_release(const void *body, size_t len, void *arg)
{
	struct given_seen	*gs = arg;

	gs->gs_calls++;
	gs->gs_body = body;
	gs->gs_len = len;
}

/*
 * A body given away is sent from where it lies, not copied, and released
 * exactly once: when written, when the buffer goes unwritten, at once
 * when it is not sent.
 */
START_TEST(test_write_given)
{
	const char *const	 bad[] = { "X-A: 1\r\nX-B: 2", NULL };
	struct given_seen	 gs;
	struct evbuffer		*b;
	struct evbuffer_iovec	 v[4];
	static char		 body[100000];
	size_t			 head;
	int			 n, i;

	memset(body, 'b', sizeof(body));
	memset(&gs, 0, sizeof(gs));
	b = evbuffer_new();
	ck_assert_int_eq(http_write_response_given(b, 200, NULL, body,
	    sizeof(body), 1, 0, given_release, &gs), 0);
	ck_assert_int_eq(gs.gs_calls, 0);
	head = evbuffer_get_length(b) - sizeof(body);
	ck_assert_uint_eq(head, strlen("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 100000\r\n\r\n"));
	/* The body's own bytes are in the buffer: the last piece is them. */
	n = evbuffer_peek(b, -1, NULL, v, 4);
	ck_assert_int_ge(n, 2);
	ck_assert_ptr_eq(v[n - 1].iov_base, body);
	ck_assert_uint_eq(v[n - 1].iov_len, sizeof(body));
	/* Written in part: still held; all of it: released once. */
	evbuffer_drain(b, head + 10);
	ck_assert_int_eq(gs.gs_calls, 0);
	evbuffer_drain(b, sizeof(body) - 10);
	ck_assert_int_eq(gs.gs_calls, 1);
	ck_assert_ptr_eq(gs.gs_body, body);
	ck_assert_uint_eq(gs.gs_len, sizeof(body));
	evbuffer_free(b);
	ck_assert_int_eq(gs.gs_calls, 1);

	/* A connection closed before the answer went out. */
	memset(&gs, 0, sizeof(gs));
	b = evbuffer_new();
	ck_assert_int_eq(http_write_response_given(b, 200, NULL, body, 10,
	    0, 0, given_release, &gs), 0);
	ck_assert_int_eq(gs.gs_calls, 0);
	evbuffer_free(b);
	ck_assert_int_eq(gs.gs_calls, 1);

	/* Not sent: HEAD keeps the length, 204, 304 and 1xx no body. */
	for (i = 0; i < 5; i++) {
		static const int	 st[] = { 200, 204, 304, 100, 200 };

		memset(&gs, 0, sizeof(gs));
		b = evbuffer_new();
		ck_assert_int_eq(http_write_response_given(b, st[i], NULL,
		    body, i == 4 ? 0 : 10, 1, i == 0, given_release, &gs),
		    0);
		ck_assert_int_eq(gs.gs_calls, 1);
		ck_assert_int_eq(evbuffer_search(b, "bbbb", 4, NULL).pos,
		    -1);
		evbuffer_free(b);
		ck_assert_int_eq(gs.gs_calls, 1);
	}

	/* Refused: nothing written, the body released all the same. */
	memset(&gs, 0, sizeof(gs));
	b = evbuffer_new();
	ck_assert_int_eq(http_write_response_given(b, 200, bad, body, 10, 1,
	    0, given_release, &gs), -1);
	ck_assert_int_eq(gs.gs_calls, 1);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
	ck_assert_int_eq(gs.gs_calls, 1);
}
END_TEST

START_TEST(test_reason)
{
	static const int	 codes[] = { 200, 201, 204, 304, 400, 401, 403,
	    404, 405, 408, 413, 422, 429, 431, 500, 501, 502, 503, 504, 505 };
	size_t			 i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_str_ne(http_reason(codes[i]), "Unknown");
	ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	ck_assert_str_eq(http_reason(413), "Content Too Large");
	ck_assert_str_eq(http_reason(799), "Unknown");
}
END_TEST

/* tchar is RFC 9110's set exactly, byte by byte (the one table). */
START_TEST(test_tchar)
{
	const char	*punct = "!#$%&'*+-.^_`|~";
	unsigned	 c;
	int		 want;

	for (c = 0; c < 256; c++) {
		want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') ||
		    (c != 0 && strchr(punct, (int)c) != NULL);
		ck_assert_msg(tok_tchar((unsigned char)c) == want,
		    "byte %u", c);
	}
	ck_assert(tok_is_token("X-Request-ID", 12));
	ck_assert(!tok_is_token("", 0));
	ck_assert(!tok_is_token("X Y", 3));
	ck_assert(!tok_is_token("X\0Y", 3));
	ck_assert(!tok_is_token("X:", 2));
}
END_TEST

/* Feed buf in steps of step bytes (0: whole) until a request is done. */
static struct http_request *
arena_parse(struct http_parser_state *ps, const char *buf, size_t len,
    size_t step, size_t *usedp)
{
	const char	*msg;
	size_t		 off = 0, n, used;
	int		 status = 0;
	enum http_status st = HTTP_NEED_MORE;

	while (off < len && st == HTTP_NEED_MORE) {
		n = step == 0 || len - off < step ? len - off : step;
		st = http_feed(ps, buf + off, n, &used, &status, &msg);
		off += used;
	}
	ck_assert_int_eq(st, HTTP_DONE);
	*usedp = off;
	return http_take_request(ps);
}

/*
 * The strings of a request are cut out of its header block in place:
 * empty and blank values, trailing OWS, a path decoded into the room
 * after a block that filled its buffer exactly, and a request that
 * outlives the parsing of the next one on its connection.
 */
START_TEST(test_arena)
{
	static const char	 two[] = "GET /a%20b?x=1 HTTP/1.1\r\n"
	    "Host: h\r\nX-Empty:\r\nX-Ws:   \r\nX-Trail: v \t\r\n"
	    "X-Mid: a  b\r\n\r\n"
	    "GET /second HTTP/1.1\r\nHost: other\r\n\r\n";
	static const size_t	 steps[] = { 0, 1, 3 };
	struct http_parser_state *ps;
	struct http_request	*r, *r2;
	char			 big[1100];
	size_t			 k, used, n;

	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		ps = http_parser_state_new(NULL);
		r = arena_parse(ps, two, sizeof(two) - 1, steps[k], &used);
		r2 = arena_parse(ps, two + used, sizeof(two) - 1 - used,
		    steps[k], &n);
		http_parser_state_free(ps);
		ck_assert_ptr_nonnull(r->r_arena);
		ck_assert_str_eq(r->r_method, "GET");
		ck_assert_str_eq(r->r_target, "/a%20b?x=1");
		ck_assert_str_eq(r->r_path, "/a b");
		ck_assert_str_eq(r->r_query, "x=1");
		ck_assert_uint_eq(r->r_nheaders, 5);
		ck_assert_str_eq(r->r_headers[1].h_name, "X-Empty");
		ck_assert_str_eq(http_request_header(r, "x-empty"), "");
		ck_assert_str_eq(http_request_header(r, "X-Ws"), "");
		ck_assert_str_eq(http_request_header(r, "X-Trail"), "v");
		ck_assert_str_eq(http_request_header(r, "X-Mid"), "a  b");
		ck_assert_str_eq(http_request_header(r, "Host"), "h");
		ck_assert_str_eq(r2->r_path, "/second");
		ck_assert_ptr_null(r2->r_query);
		ck_assert_str_eq(http_request_header(r2, "Host"), "other");
		http_request_free(r);
		http_request_free(r2);
	}

	/* A header block of exactly 1024 bytes, the buffer's first size. */
	n = (size_t)snprintf(big, sizeof(big), "GET /p%%41th HTTP/1.1\r\n"
	    "Host: h\r\nX-Pad: ");
	memset(big + n, 'p', 1024 - 4 - n);
	memcpy(big + 1024 - 4, "\r\n\r\n", 4);
	ps = http_parser_state_new(NULL);
	r = arena_parse(ps, big, 1024, 0, &used);
	ck_assert_uint_eq(used, 1024);
	ck_assert_str_eq(r->r_path, "/pAth");
	ck_assert_uint_eq(strlen(http_request_header(r, "X-Pad")),
	    1024 - 4 - strlen("GET /p%41th HTTP/1.1\r\nHost: h\r\nX-Pad: "));
	http_request_free(r);
	http_parser_state_free(ps);
}
END_TEST

/* p lies in the block r was allocated in. */
static int
in_request_block(const struct http_request *r, const void *p)
{
	const char	*b = (const char *)r, *c = p;

	return c >= b && c < b + malloc_usable_size((void *)r);
}

/*
 * A parsed request is one allocation besides its header block: its
 * header slots and its empty body lie in its own block.  A body that
 * arrives gets a buffer of its own, freed with the request (under
 * valgrind and ASan, a free inside the block would show).
 */
START_TEST(test_request_block)
{
	static const char	 a[] = "GET /a HTTP/1.1\r\nHost: h\r\n"
	    "X-One: 1\r\nX-Two: 2\r\n\r\n";
	static const char	 b[] = "POST /b HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 5\r\n\r\nhello";
	struct http_parser_state *ps;
	struct http_request	*r;
	size_t			 used;

	ps = http_parser_state_new(NULL);
	r = arena_parse(ps, a, sizeof(a) - 1, 0, &used);
	ck_assert_uint_eq(r->r_nheaders, 3);
	ck_assert(in_request_block(r, r->r_headers));
	ck_assert(in_request_block(r, &r->r_headers[2]));
	ck_assert(in_request_block(r, r->r_body));
	ck_assert_str_eq(r->r_body, "");
	ck_assert_uint_eq(r->r_bodylen, 0);
	ck_assert_str_eq(http_request_header(r, "X-Two"), "2");
	http_request_free(r);

	r = arena_parse(ps, b, sizeof(b) - 1, 3, &used);
	ck_assert_uint_eq(used, sizeof(b) - 1);
	ck_assert(in_request_block(r, r->r_headers));
	ck_assert(!in_request_block(r, r->r_body));
	ck_assert_uint_eq(r->r_bodylen, 5);
	ck_assert_str_eq(r->r_body, "hello");
	http_request_free(r);
	http_parser_state_free(ps);
}
END_TEST

/*
 * A keep-alive stream reuses one header block: a request's, once freed,
 * is the next one's.  A block still held is never handed out, a small
 * block kept grows for a large request after it, and a large block is
 * not kept.
 */
START_TEST(test_spare)
{
	static const char	 a[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char	 b[] = "GET /bb HTTP/1.1\r\nHost: g\r\n\r\n";
	struct http_parser_state *ps;
	struct http_request	*r, *r2;
	char			 big[3000], *kept, *other;
	size_t			 used, n;

	ps = http_parser_state_new(NULL);
	r = arena_parse(ps, a, sizeof(a) - 1, 0, &used);
	kept = r->r_arena;
	http_request_free(r);
	/* Freed to malloc, the block would be this allocation's. */
	other = malloc(1024);
	r = arena_parse(ps, b, sizeof(b) - 1, 0, &used);
#ifdef WIDGETD_SANITIZED
	(void)kept;		/* no spare there: ASan sees every free */
#else
	ck_assert_ptr_eq(r->r_arena, kept);
	ck_assert_ptr_ne(other, kept);
#endif
	free(other);
	ck_assert_str_eq(r->r_path, "/bb");

	/* r is held: the next request has a block of its own. */
	r2 = arena_parse(ps, a, sizeof(a) - 1, 0, &used);
	ck_assert_ptr_ne(r2->r_arena, r->r_arena);
	http_request_free(r);
	ck_assert_str_eq(r2->r_path, "/a");
	ck_assert_str_eq(http_request_header(r2, "Host"), "h");
	http_request_free(r2);

	n = (size_t)snprintf(big, sizeof(big), "GET /big HTTP/1.1\r\n"
	    "Host: h\r\nX-Pad: ");
	memset(big + n, 'q', sizeof(big) - 4 - n);
	memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
	r = arena_parse(ps, big, sizeof(big), 7, &used);
	ck_assert_uint_eq(used, sizeof(big));
	ck_assert_str_eq(r->r_path, "/big");
	ck_assert_uint_eq(strlen(http_request_header(r, "X-Pad")),
	    sizeof(big) - 4 - n);
	ck_assert_uint_ge(r->r_arenacap, sizeof(big));
	http_request_free(r);

	/* A large block is not kept: the next request gets an ordinary one. */
	{
		static char	 huge[20000];

		n = (size_t)snprintf(huge, sizeof(huge), "GET /h HTTP/1.1\r\n"
		    "Host: h\r\nX-Pad: ");
		memset(huge + n, 'q', sizeof(huge) - 4 - n);
		memcpy(huge + sizeof(huge) - 4, "\r\n\r\n", 4);
		r = arena_parse(ps, huge, sizeof(huge), 7, &used);
		ck_assert_uint_gt(r->r_arenacap, 4096);
		kept = r->r_arena;
		http_request_free(r);
		r = arena_parse(ps, a, sizeof(a) - 1, 0, &used);
		ck_assert_uint_le(r->r_arenacap, 4096);
		ck_assert_ptr_ne(r->r_arena, kept);
		http_request_free(r);
	}
	http_parser_state_free(ps);
}
END_TEST

/*
 * Calls overlap: several header blocks are freed before the next ones
 * are needed, and each is kept, not only the first (spare.h).  Past
 * SPARE_MAX a block goes back to the caller to free.
 */
START_TEST(test_spare_many)
{
	static const char	 a[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_parser_state *ps1, *ps2;
	struct http_request	*r1, *r2;
	struct spare		 s;
	char			*k1, *k2, *other;
	size_t			 used, i, size;
	static char		 blocks[SPARE_MAX + 1];

	ps1 = http_parser_state_new(NULL);
	ps2 = http_parser_state_new(NULL);
	r1 = arena_parse(ps1, a, sizeof(a) - 1, 0, &used);
	r2 = arena_parse(ps2, a, sizeof(a) - 1, 0, &used);
	k1 = r1->r_arena;
	k2 = r2->r_arena;
	http_request_free(r1);
	http_request_free(r2);
	/* Freed to malloc, a block would be this allocation's. */
	other = malloc(1024);
	r1 = arena_parse(ps1, a, sizeof(a) - 1, 0, &used);
	r2 = arena_parse(ps2, a, sizeof(a) - 1, 0, &used);
#ifdef WIDGETD_SANITIZED
	(void)k1;
	(void)k2;
#else
	ck_assert_ptr_ne(other, k1);
	ck_assert_ptr_ne(other, k2);
	ck_assert_ptr_eq(r1->r_arena, k2);	/* the last put, first */
	ck_assert_ptr_eq(r2->r_arena, k1);
#endif
	free(other);
	http_request_free(r1);
	http_request_free(r2);
	http_parser_state_free(ps1);
	http_parser_state_free(ps2);

	memset(&s, 0, sizeof(s));
	for (i = 0; i < SPARE_MAX; i++) {
#ifdef WIDGETD_SANITIZED
		ck_assert_ptr_eq(spare_put(&s, &blocks[i], i), &blocks[i]);
#else
		ck_assert_ptr_null(spare_put(&s, &blocks[i], i));
#endif
	}
	ck_assert_ptr_eq(spare_put(&s, &blocks[SPARE_MAX], 1),
	    &blocks[SPARE_MAX]);
	ck_assert_ptr_null(spare_put(&s, NULL, 1));
#ifndef WIDGETD_SANITIZED
	for (i = SPARE_MAX; i-- > 0;) {
		ck_assert_ptr_eq(spare_take(&s, &size), &blocks[i]);
		ck_assert_uint_eq(size, i);
	}
#endif
	ck_assert_ptr_null(spare_take(&s, &size));
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc;
	int	 n = sizeof(cases) / sizeof(cases[0]);

	tc = tcase_create("table");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_table_whole, 0, n);
	tcase_add_loop_test(tc, test_table_bytewise, 0, n);
	tcase_add_loop_test(tc, test_table_cut, 0, n);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tchar);
	tcase_add_test(tc, test_arena);
	tcase_add_test(tc, test_request_block);
	tcase_add_test(tc, test_spare);
	tcase_add_test(tc, test_spare_many);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_custom_limits);
	tcase_add_test(tc, test_line_bytes);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_pipelined_error_stops);
	tcase_add_test(tc, test_in_progress);
	tcase_add_test(tc, test_expect_continue);
	tcase_add_test(tc, test_gate);
	tcase_add_test(tc, test_body_growth);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, test_write_response);
	tcase_add_test(tc, test_write_one_block);
	tcase_add_test(tc, test_write_refused);
	tcase_add_test(tc, test_write_scan);
	tcase_add_test(tc, test_write_given);
	tcase_add_test(tc, test_reason);
	suite_add_tcase(s, tc);
	return s;
}
