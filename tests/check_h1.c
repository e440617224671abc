/*
 * check_h1.c — the keeper's own HTTP/1.1 exchange (keeper_h1.c): the
 * request bytes, and responses read whole, a byte at a time, chunked,
 * after a 1xx, delimited by the close, compressed, and every refusal.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <zlib.h>

#include "check_main.h"
#include "fuzz/h1_diff.h"
#include "oom.h"
#include "keeper_h1.h"
#include "keeper_redact.h"
#include "keeper_secret.h"

static const struct h1_limits	 lim = { 100, 65536, 1 << 20 };

/* Blocks kept for the next ones (spare.h): none in a sanitizer build. */
#ifdef WIDGETD_SANITIZED
static const int		 kept = 0;
#else
static const int		 kept = 1;
#endif

static struct h1_reader	*rd;
static struct egress_result res;

static void
setup(void)
{
	rd = h1_reader_new();
	ck_assert_ptr_nonnull(rd);
	memset(&res, 0, sizeof(res));
	keeper_body_spares_free();
	h1_blocks_free();
}

/* The result's buffers, as keeper_egress.c frees them. */
static void
res_clear(void)
{
	egress_result_clear(&res);
	memset(&res, 0, sizeof(res));
}

static void
teardown(void)
{
	res_clear();
	h1_reader_free(rd);
}

/* Feed s whole (step 0) or in pieces of step bytes; the last rc. */
static enum h1_rc
feed(const struct h1_limits *l, int head, const char *s, size_t len,
    size_t step, size_t *usedp)
{
	enum h1_rc	 rc = H1_MORE;
	size_t		 off = 0, n, used;

	h1_reader_start(rd, l, head, &res);
	*usedp = 0;
	while (off < len && rc == H1_MORE) {
		n = step == 0 || len - off < step ? len - off : step;
		rc = h1_reader_feed(rd, s + off, n, &used);
		*usedp += used;
		off += n;
	}
	return rc;
}

static enum h1_rc
feed_str(const char *s, size_t step)
{
	size_t	 used;

	return feed(&lim, 0, s, strlen(s), step, &used);
}

static const char *
hdr(const char *name)
{
	size_t	 i;

	for (i = 0; i < res.er_nheaders; i++)
		if (strcmp(res.er_headers[i].eh_name, name) == 0)
			return res.er_headers[i].eh_value;
	return NULL;
}

/* --- the request -------------------------------------------------------- */

START_TEST(test_request_get)
{
	const struct egress_field f[] = {
		{ "X-Api-Key", "k3y" }, { "X-Empty", "" },
		{ "X-Dup", "1" }, { "X-Dup", "2" },
	};
	const size_t		 fl[4][2] = { { 9, 3 }, { 7, 0 }, { 5, 1 },
				     { 5, 1 } };
	struct h1_request	 rq = { "GET", "/echo?q=a%20b", "up:8081", f, 4,
				     NULL, 0, 0, 0, 0, NULL };
	const char		*want = "GET /echo?q=a%20b HTTP/1.1\r\n"
	    "Host: up:8081\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
	    "X-Api-Key: k3y\r\nX-Empty:\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n";
	size_t			 len, cap;
	char			*b;

	b = h1_request_write(&rq, &len, &cap);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(b, want);
	free(b);

	/* The lengths the caller knows (egress's check measured them). */
	rq.hr_methodlen = 3;
	rq.hr_targetlen = 13;
	rq.hr_hostlen = 7;
	rq.hr_flens = fl;
	b = h1_request_write(&rq, &len, &cap);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(b, want);
	free(b);
}
END_TEST

START_TEST(test_request_body)
{
	const struct egress_field f[] = {
		{ "accept", "application/json" },
		{ "Content-Type", "application/json" },
	};
	struct h1_request	 rq = { "POST", "/n", "api.example", f, 2,
				     "{\"a\":1}", 7, 0, 0, 0, NULL };
	size_t			 len, cap;
	char			*b;

	b = h1_request_write(&rq, &len, &cap);
	ck_assert_str_eq(b, "POST /n HTTP/1.1\r\nHost: api.example\r\n"
	    "Accept-Encoding: gzip, deflate\r\naccept: application/json\r\n"
	    "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n"
	    "{\"a\":1}");
	ck_assert_uint_eq(len, strlen(b));
	free(b);

	/* PUT without a body still frames it; DELETE and GET do not. */
	rq.hr_method = "PUT";
	rq.hr_body = NULL;
	rq.hr_nfields = 0;
	b = h1_request_write(&rq, &len, &cap);
	ck_assert_ptr_nonnull(strstr(b, "\r\nContent-Length: 0\r\n\r\n"));
	free(b);
	rq.hr_method = "DELETE";
	b = h1_request_write(&rq, &len, &cap);
	ck_assert_ptr_null(strstr(b, "Content-Length"));
	ck_assert_str_eq(b + len - 4, "\r\n\r\n");
	free(b);
}
END_TEST

/*
 * A request's block goes back wiped (it held the call's key) and is the
 * next request's, without an allocation (none kept in a sanitizer
 * build).
 */
START_TEST(test_request_block_kept)
{
	const struct egress_field f[] = { { "X-Api-Key", "k3y-s3cr3t" } };
	struct h1_request	 rq = { "GET", "/a", "h", f, 1, NULL, 0,
				     0, 0, 0, NULL };
	size_t			 len, cap, i;
	char			*b, *again;
	int			 fired;

	ck_assert_ptr_nonnull(b = h1_request_write(&rq, &len, &cap));
	ck_assert_uint_gt(cap, len);
	ck_assert_ptr_nonnull(strstr(b, "X-Api-Key: k3y-s3cr3t\r\n"));
	h1_block_free(b, len + 1, cap);
	if (kept) {
		/* kept, so still ours to read: none of its bytes left */
		for (i = 0; i < cap; i++)
			ck_assert_int_eq(b[i], 0);
	}
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	again = h1_request_write(&rq, &len, &cap);
	fired = oom_disarm();
	ck_assert_int_eq(fired, !kept);
	if (kept) {
		ck_assert_ptr_eq(again, b);
		ck_assert_str_eq(again, "GET /a HTTP/1.1\r\nHost: h\r\n"
		    "Accept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
		    "X-Api-Key: k3y-s3cr3t\r\n\r\n");
		ck_assert_uint_eq(len, strlen(again));
	} else
		ck_assert_ptr_null(again);
	h1_block_free(again, len + 1, cap);
}
END_TEST

/* A call's own Accept-Encoding, any case, stands alone; Accept-* is not Accept. */
START_TEST(test_request_defaults)
{
	const struct egress_field f[] = {
		{ "ACCEPT-encoding", "identity" },
		{ "Accept-Charset", "utf-8" },
		{ "Accept-Encodings", "x" },
	};
	struct h1_request	 rq = { "PATCH", "/p", "h", f, 3,
				     "0123456789", 10, 0, 0, 0, NULL };
	size_t			 len, cap;
	char			*b;

	b = h1_request_write(&rq, &len, &cap);
	ck_assert_str_eq(b, "PATCH /p HTTP/1.1\r\nHost: h\r\n"
	    "Accept: */*\r\nACCEPT-encoding: identity\r\n"
	    "Accept-Charset: utf-8\r\nAccept-Encodings: x\r\n"
	    "Content-Length: 10\r\n\r\n0123456789");
	ck_assert_uint_eq(len, strlen(b));
	free(b);
}
END_TEST

/*
 * Past the fields whose lengths are kept from measuring to writing, each
 * is measured again: every field in its place, of its own length, with
 * the buffer's length the request's.
 */
START_TEST(test_request_many)
{
	struct egress_field	 f[40];
	struct h1_request	 rq = { "OPTIONS", "/m", "h:1", f, 40, NULL, 0,
				     0, 0, 0, NULL };
	size_t			 fl[40][2];
	char			 names[40][16], vals[40][48], want[4096];
	size_t			 i, len, w, cap;
	char			*b;

	w = (size_t)snprintf(want, sizeof(want), "OPTIONS /m HTTP/1.1\r\n"
	    "Host: h:1\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n");
	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "X-%.*s", (int)(i % 9 + 1),
		    "abcdefghi");
		memset(vals[i], 'a' + i % 26, (i * 7) % 40);
		vals[i][(i * 7) % 40] = '\0';
		f[i].ef_name = names[i];
		f[i].ef_value = vals[i];
		fl[i][0] = strlen(names[i]);
		fl[i][1] = strlen(vals[i]);
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%s:%s%s\r\n",
		    names[i], vals[i][0] != '\0' ? " " : "", vals[i]);
	}
	snprintf(want + w, sizeof(want) - w, "\r\n");
	b = h1_request_write(&rq, &len, &cap);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b, want);
	ck_assert_uint_eq(len, strlen(want));
	free(b);
	/* Every field's lengths given, past those kept too. */
	rq.hr_flens = (const size_t (*)[2])fl;
	b = h1_request_write(&rq, &len, &cap);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b, want);
	ck_assert_uint_eq(len, strlen(want));
	free(b);
}
END_TEST

/* --- responses ---------------------------------------------------------- */

static const char simple[] = "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json \r\n"
    "X-Long-Header-Name: a value with  spaces\r\n"
    "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    "Content-Length: 13\r\n\r\n{\"ok\": true}\n";

START_TEST(test_simple_any_split)
{
	size_t	 step;

	/* Whole, and cut at every size: the same result. */
	for (step = 0; step < 40; step++) {
		ck_assert_int_eq(feed_str(simple, step), H1_DONE);
		ck_assert_int_eq(res.er_error, EGRESS_OK);
		ck_assert_int_eq(res.er_status, 200);
		ck_assert_uint_eq(res.er_nheaders, 5);
		ck_assert_str_eq(hdr("Content-Type"), "application/json");
		ck_assert_str_eq(hdr("X-Long-Header-Name"),
		    "a value with  spaces");
		ck_assert_str_eq(res.er_headers[3].eh_value, "b=2");
		ck_assert_uint_eq(res.er_headers[3].eh_valuelen, 3);
		ck_assert_uint_eq(res.er_bodylen, 13);
		ck_assert_str_eq(res.er_body, "{\"ok\": true}\n");
		ck_assert(h1_reader_keepalive(rd));
	}
	res_clear();
}
END_TEST

START_TEST(test_pipelined_stop)
{
	char	 two[512];
	size_t	 used;

	/* The bytes after the answer are not read as part of it. */
	snprintf(two, sizeof(two), "%sHTTP/1.1 500 X\r\n\r\n", simple);
	ck_assert_int_eq(feed(&lim, 0, two, strlen(two), 0, &used), H1_DONE);
	ck_assert_uint_eq(used, strlen(simple));
	ck_assert_int_eq(res.er_status, 200);
}
END_TEST

/*
 * The rest of a Content-Length body read in place (h1_reader_room): the
 * room is the rest and one byte more, feeding what was written there
 * gives the same body with no copy, and a byte past the answer (in the
 * extra byte) is reported as not used, so the connection is closed.
 * Nothing else offers room: headers, chunks, a coded body, no length.
 */
START_TEST(test_room_in_place)
{
	char		 s[9000], *at;
	const char	*head = "HTTP/1.1 200 OK\r\nContent-Length: 8000\r\n\r\n";
	size_t		 hl = strlen(head), room, used, i, first = 100;
	int		 extra;

	for (extra = 0; extra < 2; extra++) {
		memcpy(s, head, hl);
		for (i = 0; i < 8000; i++)
			s[hl + i] = (char)('A' + i % 26);
		s[hl + 8000] = 'Z';
		h1_reader_start(rd, &lim, 0, &res);
		/* Before the body has begun, nothing. */
		ck_assert_int_eq(h1_reader_feed(rd, s, hl - 2, &used), H1_MORE);
		ck_assert_uint_eq(h1_reader_room(rd, &at), 0);
		ck_assert_ptr_null(at);
		ck_assert_int_eq(h1_reader_feed(rd, s + hl - 2, 2 + first,
		    &used), H1_MORE);
		room = h1_reader_room(rd, &at);
		ck_assert_uint_eq(room, 8000 - first + 1);
		ck_assert_ptr_eq(at, res.er_body + first);
		/* As a recv would: the rest (and the byte after it). */
		memcpy(at, s + hl + first, 8000 - first + extra);
		ck_assert_int_eq(h1_reader_feed(rd, at, 8000 - first + extra,
		    &used), H1_DONE);
		ck_assert_uint_eq(used, 8000 - first);
		ck_assert_uint_eq(res.er_bodylen, 8000);
		ck_assert_int_eq(memcmp(res.er_body, s + hl, 8000), 0);
		ck_assert_uint_eq(res.er_body[8000], '\0');
		ck_assert_uint_eq(h1_reader_room(rd, &at), 0);
		res_clear();
	}

	/* Chunked, compressed, or delimited by the close: never. */
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n5\r\nhello\r\n", 0), H1_MORE);
	ck_assert_uint_eq(h1_reader_room(rd, &at), 0);
	res_clear();
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nContent-Encoding: gzip"
	    "\r\nContent-Length: 100\r\n\r\n\x1f\x8b", 0), H1_MORE);
	ck_assert_uint_eq(h1_reader_room(rd, &at), 0);
	res_clear();
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\n\r\nsome bytes", 0),
	    H1_MORE);
	ck_assert_uint_eq(h1_reader_room(rd, &at), 0);
}
END_TEST

START_TEST(test_chunked_trailers)
{
	const char	*s = "HTTP/1.1 201 Created\r\n"
	    "Transfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
	    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
	size_t		 step;

	for (step = 0; step < 9; step++) {
		ck_assert_int_eq(feed_str(s, step), H1_DONE);
		ck_assert_int_eq(res.er_status, 201);
		ck_assert_str_eq(res.er_body, "hello, world");
		/* Trailers are not headers of the answer. */
		ck_assert_uint_eq(res.er_nheaders, 2);
		ck_assert_ptr_null(hdr("X-Trailer"));
		ck_assert(h1_reader_keepalive(rd));
	}
}
END_TEST

START_TEST(test_interim_dropped)
{
	const char	*s = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
	    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
	    "HTTP/1.1 404 Not Found\r\nX-Final: 1\r\nContent-Length: 2\r\n"
	    "\r\nno";

	ck_assert_int_eq(feed_str(s, 0), H1_DONE);
	ck_assert_int_eq(res.er_status, 404);
	ck_assert_uint_eq(res.er_nheaders, 2);
	ck_assert_ptr_null(hdr("X-Interim"));
	ck_assert_ptr_null(hdr("Link"));
	ck_assert_str_eq(hdr("X-Final"), "1");
	ck_assert_str_eq(res.er_body, "no");
}
END_TEST

/*
 * A 1xx announcing a length or chunks has no content all the same: the
 * final answer after it is read as it comes (and nothing is made room for
 * the 55 GB announced; found by fuzz_h1).
 */
START_TEST(test_interim_length_ignored)
{
	static const char *const interim[] = {
	    "HTTP/1.1 100 Continue\r\nContent-Length: 55555555555\r\n\r\n",
	    "HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\n",
	    "HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: chunked\r\n\r\n"
	};
	char		 s[256];
	size_t		 i;

	for (i = 0; i < sizeof(interim) / sizeof(interim[0]); i++) {
		snprintf(s, sizeof(s), "%sHTTP/1.1 200 OK\r\n"
		    "Content-Length: 2\r\n\r\nok", interim[i]);
		ck_assert_int_eq(feed_str(s, 0), H1_DONE);
		ck_assert_int_eq(res.er_status, 200);
		ck_assert_str_eq(res.er_body, "ok");
	}
}
END_TEST

START_TEST(test_switching_refused)
{
	ck_assert_int_eq(feed_str("HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0), H1_FAIL);
	ck_assert_int_eq(res.er_error, EGRESS_EPROTO);
	ck_assert_str_eq(res.er_msg, "upstream switched protocols");
	ck_assert_uint_eq(res.er_nheaders, 0);
}
END_TEST

START_TEST(test_no_body)
{
	size_t	 used;
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";

	/* HEAD: the length describes a body that does not come. */
	ck_assert_int_eq(feed(&lim, 1, s, strlen(s), 0, &used), H1_DONE);
	ck_assert_uint_eq(used, strlen(s));
	ck_assert_int_eq(res.er_status, 200);
	ck_assert_uint_eq(res.er_bodylen, 0);
	ck_assert(h1_reader_keepalive(rd));
	ck_assert_int_eq(feed_str("HTTP/1.1 204 No Content\r\n\r\n", 0),
	    H1_DONE);
	ck_assert_int_eq(res.er_status, 204);
	ck_assert_int_eq(feed_str("HTTP/1.1 304 Not Modified\r\n"
	    "ETag: \"x\"\r\n\r\n", 0), H1_DONE);
	ck_assert_int_eq(res.er_status, 304);
	ck_assert_str_eq(hdr("ETag"), "\"x\"");
}
END_TEST

START_TEST(test_close_delimited)
{
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nX: y\r\n\r\nall of "
	    "it", 0), H1_MORE);
	ck_assert_int_eq(h1_reader_eof(rd), H1_DONE);
	ck_assert_str_eq(res.er_body, "all of it");
	ck_assert(!h1_reader_keepalive(rd));

	/* HTTP/1.0, and Connection: close, end the connection too. */
	ck_assert_int_eq(feed_str("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n"
	    "\r\n1", 0), H1_DONE);
	ck_assert(!h1_reader_keepalive(rd));
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 1\r\n\r\n1", 0), H1_DONE);
	ck_assert(!h1_reader_keepalive(rd));
}
END_TEST

START_TEST(test_truncated)
{
	/* A short body, chunked without its end, headers cut: all lost. */
	static const char *const cut[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
	    "HTTP/1.1 200 OK\r\nContent-Le",
	    "",
	};
	size_t	 i;

	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		ck_assert_int_eq(feed_str(cut[i], 0), H1_MORE);
		ck_assert_int_eq(h1_reader_eof(rd), H1_FAIL);
		ck_assert_int_eq(res.er_error, EGRESS_EPROTO);
		ck_assert_str_eq(res.er_msg, "upstream closed the connection "
		    "before the end of its answer");
		ck_assert_ptr_null(res.er_body);
		ck_assert_uint_eq(res.er_nheaders, 0);
	}
}
END_TEST

START_TEST(test_malformed)
{
	static const char *const bad[] = {
	    "HTTP/1.1 2x0 OK\r\n\r\n",
	    "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(feed_str(bad[i], 0) == H1_FAIL, "case %zu", i);
		ck_assert_int_eq(res.er_error, EGRESS_EPROTO);
		ck_assert_msg(strncmp(res.er_msg, "upstream sent a malformed "
		    "response (HPE_", 40) == 0, "%s", res.er_msg);
		/* Once failed, it stays failed. */
		ck_assert_int_eq(h1_reader_eof(rd), H1_FAIL);
	}
	ck_assert_int_eq(feed_str("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n"
	    "\r\n", 0), H1_FAIL);
	ck_assert_int_eq(res.er_error, EGRESS_EPROTO);
	ck_assert_str_eq(res.er_msg, "upstream answered in HTTP/2.0");
	ck_assert_int_eq(feed_str("HTTP/1.1 044 X\r\nContent-Length: 0\r\n"
	    "\r\n", 0), H1_FAIL);
	ck_assert_str_eq(res.er_msg, "upstream answered with status 044");
	/* Names are tokens; http-parser would let this one in. */
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nBad Name: x\r\n"
	    "Content-Length: 0\r\n\r\n", 0), H1_FAIL);
	ck_assert_str_eq(res.er_msg, "upstream sent a malformed header line");
	ck_assert_uint_eq(res.er_nheaders, 0);
}
END_TEST

START_TEST(test_header_limits)
{
	struct h1_limits	 l = lim;
	char			 s[4096];
	size_t			 used, i, n;

	n = (size_t)snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < 5; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%zu: v\r\n", i);
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n");

	/* (Answers to HEAD: no body to wait for.) */
	l.hl_max_headers = 5;
	ck_assert_int_eq(feed(&l, 1, s, n, 0, &used), H1_DONE);
	l.hl_max_headers = 4;
	ck_assert_int_eq(feed(&l, 1, s, n, 0, &used), H1_FAIL);
	ck_assert_str_eq(res.er_msg, "upstream sent more than 4 header "
	    "lines");
	ck_assert_uint_eq(res.er_nheaders, 0);

	/* 17 bytes of status line, 8 a header line: 57 in all. */
	l.hl_max_headers = 100;
	l.hl_header_bytes = 57;
	ck_assert_int_eq(feed(&l, 1, s, n, 1, &used), H1_DONE);
	l.hl_header_bytes = 56;
	ck_assert_int_eq(feed(&l, 1, s, n, 1, &used), H1_FAIL);
	ck_assert_int_eq(res.er_error, EGRESS_EPROTO);
	ck_assert_str_eq(res.er_msg, "upstream sent more than 56 bytes of "
	    "headers");
}
END_TEST

START_TEST(test_body_limit)
{
	struct h1_limits	 l = lim;
	const char		*cl = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 11\r\n\r\nhello world";
	const char		*ch = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n";
	size_t			 used;

	l.hl_max_body = 11;
	ck_assert_int_eq(feed(&l, 0, cl, strlen(cl), 0, &used), H1_DONE);
	ck_assert_int_eq(feed(&l, 0, ch, strlen(ch), 3, &used), H1_DONE);
	ck_assert_str_eq(res.er_body, "hello world");
	l.hl_max_body = 10;
	/* Refused on the announced length, before any body byte. */
	ck_assert_int_eq(feed(&l, 0, cl, 40, 0, &used), H1_FAIL);
	ck_assert_int_eq(res.er_error, EGRESS_ETOOBIG);
	ck_assert_str_eq(res.er_msg, "upstream body over 10 bytes");
	ck_assert_int_eq(feed(&l, 0, ch, strlen(ch), 3, &used), H1_FAIL);
	ck_assert_int_eq(res.er_error, EGRESS_ETOOBIG);
	ck_assert_ptr_null(res.er_body);
}
END_TEST

/* An answer whose body is plain, compressed with zlib's deflateInit2. */
static size_t
compressed(char *out, size_t outlen, const char *coding, int wbits,
    const char *plain, size_t plainlen)
{
	z_stream	 z;
	size_t		 n;
	unsigned char	 body[65536];

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, wbits, 9,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)plain;
	z.avail_in = (uInt)plainlen;
	z.next_out = body;
	z.avail_out = sizeof(body);
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = (size_t)snprintf(out, outlen, "HTTP/1.1 200 OK\r\n"
	    "Content-Encoding: %s\r\nContent-Length: %lu\r\n\r\n", coding,
	    z.total_out);
	memcpy(out + n, body, z.total_out);
	n += z.total_out;
	deflateEnd(&z);
	return n;
}

START_TEST(test_decoded)
{
	static const struct { const char *coding; int wbits; } c[] = {
		{ "gzip", 15 + 16 }, { "x-gzip", 15 + 16 },
		{ "deflate", 15 }, { "deflate", -15 }, { "GZIP", 15 + 16 },
	};
	char		 plain[20000], s[70000];
	size_t		 i, n, used, step;

	for (i = 0; i < sizeof(plain); i++)
		plain[i] = "echoed key: k3y-secret "[i % 23];
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		for (step = 0; step < 3000; step += 1499) {
			n = compressed(s, sizeof(s), c[i].coding, c[i].wbits,
			    plain, sizeof(plain));
			ck_assert_int_eq(feed(&lim, 0, s, n, step, &used),
			    H1_DONE);
			ck_assert_msg(res.er_bodylen == sizeof(plain),
			    "%s/%d: %zu", c[i].coding, c[i].wbits,
			    res.er_bodylen);
			ck_assert(memcmp(res.er_body, plain,
			    sizeof(plain)) == 0);
		}
}
END_TEST

START_TEST(test_decoded_refusals)
{
	struct h1_limits	 l = lim;
	char			 plain[100000], s[70000];
	size_t			 n, used;

	/* A small body that inflates past the limit. */
	memset(plain, 'a', sizeof(plain));
	n = compressed(s, sizeof(s), "gzip", 15 + 16, plain, sizeof(plain));
	l.hl_max_body = 99999;
	ck_assert_int_eq(feed(&l, 0, s, n, 0, &used), H1_FAIL);
	ck_assert_int_eq(res.er_error, EGRESS_ETOOBIG);
	ck_assert_ptr_null(res.er_body);

	/* Not what it says it is. */
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nContent-Encoding: gzip"
	    "\r\nContent-Length: 5\r\n\r\nplain", 0), H1_FAIL);
	ck_assert_int_eq(res.er_error, EGRESS_EPROTO);
	ck_assert_str_eq(res.er_msg, "upstream sent a body that does not "
	    "decode");

	/* Codings nobody asked for. */
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nContent-Encoding: br"
	    "\r\nContent-Length: 1\r\n\r\nx", 0), H1_FAIL);
	ck_assert_str_eq(res.er_msg, "upstream used a content coding that "
	    "was not asked for");
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nContent-Encoding: gzip"
	    "\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx", 0),
	    H1_FAIL);
	ck_assert_int_eq(res.er_error, EGRESS_EPROTO);
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nContent-Encoding: "
	    "identity\r\nContent-Length: 1\r\n\r\nx", 0), H1_DONE);
	ck_assert_str_eq(res.er_body, "x");
}
END_TEST

START_TEST(test_folded)
{
	const char	*s = "HTTP/1.1 200 OK\r\nX-Fold: a \r\n  b\r\n"
	    "\tc\r\nX-Empty:\r\n d\r\nX-Split: one  two\r\n"
	    "Content-Length: 0\r\n\r\n";
	size_t		 step;

	/* One space for each fold; a value cut anywhere stays itself. */
	for (step = 0; step < 12; step++) {
		ck_assert_int_eq(feed_str(s, step), H1_DONE);
		ck_assert_str_eq(hdr("X-Fold"), "a b c");
		ck_assert_str_eq(hdr("X-Empty"), "d");
		ck_assert_str_eq(hdr("X-Split"), "one  two");
	}
}
END_TEST

/*
 * The header block's strings share one buffer that grows as lines come:
 * every name and value stays itself across the moves, whatever the cuts.
 */
START_TEST(test_arena_grows)
{
	static const size_t	 steps[] = { 0, 1, 5, 13, 64, 700 };
	char			 s[8192], name[32], want[400];
	size_t			 i, k, len = 0;

	len += snprintf(s + len, sizeof(s) - len, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < 24; i++)
		len += snprintf(s + len, sizeof(s) - len,
		    "X-H%zu: %0*zu\r\n%s", i, (int)(i * 13 + 1), i,
		    i == 20 ? " folded\r\n" : "");
	len += snprintf(s + len, sizeof(s) - len,
	    "Content-Length: 2\r\n\r\nok");
	ck_assert_uint_lt(len, sizeof(s));
	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		ck_assert_int_eq(feed_str(s, steps[k]), H1_DONE);
		ck_assert_uint_eq(res.er_nheaders, 25);
		ck_assert_uint_gt(res.er_arenacap, 2048);
		for (i = 0; i < 24; i++) {
			snprintf(name, sizeof(name), "X-H%zu", i);
			snprintf(want, sizeof(want), "%0*zu%s",
			    (int)(i * 13 + 1), i, i == 20 ? " folded" : "");
			ck_assert_str_eq(hdr(name), want);
		}
		ck_assert_str_eq(hdr("Content-Length"), "2");
	}
}
END_TEST

/*
 * A name or a value redacted in the arena: the replacement is the
 * header's own, the arena wiped and freed whole (valgrind and ASan
 * would see a string freed twice or a buffer lost).
 */
START_TEST(test_arena_redacted)
{
	struct redact	*r;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, "s3cr3t-value", 12), 1);
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\n"
	    "X-Echo: key=s3cr3t-value\r\nX-s3cr3t-value: 1\r\n"
	    "X-Plain: s3cr3t\r\nContent-Length: 2\r\n\r\nok", 0),
	    H1_DONE);
	ck_assert_int_eq(egress_result_redact(&res, r), 2);
	ck_assert_str_eq(hdr("X-Echo"), "key=[REDACTED]");
	ck_assert_str_eq(hdr("X-[REDACTED]"), "1");
	ck_assert_str_eq(hdr("X-Plain"), "s3cr3t");
	ck_assert_int_eq(res.er_headers[0].eh_own, EH_OWN_VALUE);
	ck_assert_int_eq(res.er_headers[1].eh_own, EH_OWN_NAME);
	ck_assert_int_eq(res.er_headers[2].eh_own, 0);
	redact_free(r);
}
END_TEST

START_TEST(test_reused)
{
	/* One reader, answer after answer: nothing carries over. */
	ck_assert_int_eq(feed_str(simple, 0), H1_DONE);
	ck_assert_int_eq(feed_str("HTTP/1.1 500 Oops\r\nContent-Length: 0"
	    "\r\n\r\n", 0), H1_DONE);
	ck_assert_int_eq(res.er_status, 500);
	ck_assert_uint_eq(res.er_nheaders, 1);
	ck_assert_uint_eq(res.er_bodylen, 0);
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nContent-Encoding: "
	    "bogus\r\n\r\n", 0), H1_FAIL);
	ck_assert_int_eq(feed_str(simple, 7), H1_DONE);
	ck_assert_int_eq(res.er_error, EGRESS_OK);
	ck_assert_str_eq(res.er_body, "{\"ok\": true}\n");
}
END_TEST

/* An answer with a body of blen bytes and a pad header making the head
 * exactly hlen bytes long (0: no pad). */
static size_t
fast_answer(char *out, size_t cap, const char *head, size_t blen,
    size_t hlen)
{
	size_t	 n, pad;

	n = (size_t)snprintf(out, cap, "%sContent-Length: %zu\r\n", head,
	    blen);
	if (hlen > 0) {
		ck_assert_uint_ge(hlen, n + 11);
		pad = hlen - n - 11;	/* "X-Pad: " CRLF and the last CRLF */
		n += (size_t)snprintf(out + n, cap - n, "X-Pad: %0*d\r\n",
		    (int)pad, 0);
	}
	n += (size_t)snprintf(out + n, cap - n, "\r\n");
	ck_assert_uint_lt(n + blen, cap);
	memset(out + n, 'b', blen);
	return n + blen;
}

/*
 * The fast path for a whole Content-Length answer gives what http-parser
 * gives, for common answers and for every one-byte change, deletion and
 * insertion in them (fuzz_h1 does the same for any input); and it is
 * taken for the common ones.
 */
START_TEST(test_fast_same_as_parser)
{
	static const char *const heads[] = {
		"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
		"Date: Fri, 04 Dec 2026 08:00:00 GMT\r\n"
		"Content-Type: application/json\r\n"
		"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nETag: \"5f\"\r\n"
		"Keep-Alive: timeout=5\r\nConnection: keep-alive\r\n"
		"X-Length-1: 1\r\n",
		"HTTP/1.1 404 Not Found\r\n",
		"HTTP/1.1 503 \r\nX-A:  v \t\r\nX-Empty:\r\ncontent-TYPE:  "
		"text/plain\r\n",
		/* Left to http-parser, whatever follows. */
		"HTTP/1.1 204 No Content\r\n",
		"HTTP/1.1 304 Not Modified\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n",
		"HTTP/1.1 200 OK\r\nConnection: Upgrade\r\nUpgrade: x\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n",
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n",
	};
	/* With the limits of h1_diff.c: 20 lines, 2048 bytes, 4096. */
	static const struct { int head; size_t blen, hlen; int fast; } v[] = {
		{ 0, 19, 0, 1 }, { 1, 0, 0, 1 }, { 2, 5, 0, 1 },
		{ 0, 0, 0, 1 }, { 1, 4096, 0, 1 }, { 1, 4097, 0, 0 },
		/* Five lines of 2043 bytes and one each: the most it takes. */
		{ 0, 3, 2048 - 16, 1 }, { 2, 3, 2048 - 5, 1 },
		{ 2, 3, 2048 - 4, 0 },
		{ 3, 0, 0, 0 }, { 3, 2, 0, 0 }, { 4, 0, 0, 0 }, { 4, 2, 0, 0 },
		{ 5, 4, 0, 0 }, { 5, 2, 0, 0 }, { 6, 2, 0, 0 }, { 7, 2, 0, 0 },
		{ 8, 2, 0, 0 }, { 9, 2, 0, 0 },
	};
	static const char bytes[] = { ' ', '\t', '\r', '\n', ':', '\0',
	    0x7f, (char)0x80, 'a', '0', ',', '1' };
	char		 buf[8192], m[8192], why[512];
	const char	*pad;
	size_t		 i, j, k, n, hn, taken = 0, left = 0;
	int		 rv;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = fast_answer(buf, sizeof(buf) - 2, heads[v[i].head],
		    v[i].blen, v[i].hlen);
		rv = h1_diff(buf, n, 0, why, sizeof(why));
		ck_assert_msg(rv == v[i].fast, "case %zu: %d %s", i, rv, why);
		/* A HEAD's answer has no body: never the fast path's. */
		ck_assert_int_eq(h1_diff(buf, n, 1, why, sizeof(why)), 0);
		/* Bytes after the answer are the caller's. */
		memcpy(buf + n, "XY", 2);
		ck_assert_int_eq(h1_diff(buf, n + 2, 0, why, sizeof(why)),
		    v[i].fast);
		/* Not inside the body or the pad, but at both their ends. */
		hn = (size_t)((const char *)memmem(buf, n, "\r\n\r\n", 4) +
		    4 - buf);
		pad = memmem(buf, hn, "X-Pad: ", 7);
		for (j = 0; j < n; j++) {
			if ((j > hn + 4 && j + 4 < n) || (pad != NULL &&
			    j > (size_t)(pad - buf) + 11 && j + 8 < hn))
				continue;
			for (k = 0; k <= sizeof(bytes); k++) {
				memcpy(m, buf, n);
				if (k == sizeof(bytes)) {	/* deleted */
					memmove(m + j, m + j + 1, n - j - 1);
					rv = h1_diff(m, n - 1, 0, why,
					    sizeof(why));
				} else {
					m[j] = bytes[k];
					rv = h1_diff(m, n, 0, why, sizeof(why));
					ck_assert_msg(rv != -1, "case %zu, "
					    "byte %zu = %#x: %s", i, j,
					    (unsigned char)bytes[k], why);
					memcpy(m, buf, j);
					m[j] = bytes[k];
					memcpy(m + j + 1, buf + j, n - j);
					rv = h1_diff(m, n + 1, 0, why,
					    sizeof(why));
				}
				ck_assert_msg(rv != -1, "case %zu, at %zu, "
				    "%zu: %s", i, j, k, why);
				if (rv == 1)
					taken++;
				else
					left++;
			}
		}
	}
	/* Both ways were exercised, many times. */
	ck_assert_uint_gt(taken, 1000);
	ck_assert_uint_gt(left, 1000);
}
END_TEST

/*
 * The names h1_fast leaves to http-parser, by prefix and in any case,
 * and the ones it reads itself, whatever they share with those: each
 * answer read alike both ways, on the path it should take.
 */
START_TEST(test_fast_names)
{
	static const struct {
		const char	*line;
		int		 fast;
	} v[] = {
		{ "Content-Type: application/json", 1 },
		{ "Cache-Control: max-age=30", 1 },
		{ "CONNECTION: Keep-Alive", 1 },
		{ "Connectio: x", 1 },
		{ "Content-Lengt: 2", 1 },
		{ "Content-Encodin: gzip", 1 },
		{ "Proxy-Connectio: x", 1 },
		{ "Transfer-Encodin: x", 1 },
		{ "Upgrad: x", 1 },
		{ "Keep-Alive: timeout=5", 1 },
		{ "Connection: keep-alivf", 0 },
		{ "Connection: keep-alive2", 0 },
		{ "Connectionx: x", 0 },
		{ "Content-Lengthx: 2", 0 },
		{ "CONTENT-ENCODING: identity", 0 },
		{ "Content-Encodingx: x", 0 },
		{ "proxy-CONNECTION: x", 0 },
		{ "Transfer-Encodingx: x", 0 },
		{ "uPGRADE: x", 0 },
		{ "Upgrade-Insecure: x", 0 },
	};
	char	 buf[512], why[512];
	size_t	 i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
		    "%s\r\nContent-Length: 2\r\n\r\nok", v[i].line);
		ck_assert_msg(h1_diff(buf, n, 0, why, sizeof(why)) ==
		    v[i].fast, "%s: %s", v[i].line, why);
	}
}
END_TEST

/* Up to 48 header lines are the fast path's; more are http-parser's. */
START_TEST(test_fast_many_lines)
{
	char	 buf[4096];
	size_t	 n, lines, i;

	for (lines = 47; lines <= 60; lines += 13) {
		n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
		for (i = 0; i < lines; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    "X-%zu: %zu\r\n", i, i);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "Content-Length: 2\r\n\r\nok");
		ck_assert_int_eq(feed_str(buf, 0), H1_DONE);
		ck_assert_int_eq(h1_reader_was_fast(rd), lines < 48);
		ck_assert_uint_eq(res.er_nheaders, lines + 1);
		ck_assert_str_eq(res.er_headers[lines - 1].eh_name, lines == 47 ?
		    "X-46" : "X-59");
		ck_assert_str_eq(res.er_body, "ok");
		ck_assert(h1_reader_keepalive(rd));
	}
}
END_TEST

/*
 * Every allocation of a read failing in turn (tests/oom.h), on the fast
 * path, through http-parser, chunked and compressed: the answer fails as
 * out of memory and the result holds nothing.
 */
START_TEST(test_oom)
{
	static const char chunked[] = "HTTP/1.1 201 Created\r\n"
	    "Transfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
	    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
	char		 plain[3000], gz[4096];
	struct {
		const char	*s;
		size_t		 len, step;
	} a[] = {
		{ simple, sizeof(simple) - 1, 0 },
		{ simple, sizeof(simple) - 1, 5 },
		{ chunked, sizeof(chunked) - 1, 0 },
		{ gz, 0, 0 },
		{ gz, 0, 700 },
	};
	size_t		 i, used;
	long		 n;
	enum h1_rc	 rc;

	memset(plain, 'p', sizeof(plain));
	a[3].len = a[4].len = compressed(gz, sizeof(gz), "gzip", 15 + 16,
	    plain, sizeof(plain));
	for (i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		for (n = 0;; n++) {
			oom_arm(n);
			rc = feed(&lim, 0, a[i].s, a[i].len, a[i].step, &used);
			if (!oom_disarm())
				break;
			ck_assert_msg(rc == H1_FAIL, "answer %zu, allocation "
			    "%ld: rc %d", i, n, rc);
			ck_assert_int_eq(res.er_error, EGRESS_EINTERNAL);
			ck_assert_str_eq(res.er_msg, "out of memory");
			ck_assert_uint_eq(res.er_nheaders, 0);
			ck_assert_ptr_null(res.er_body);
			res_clear();
		}
		/* Then it is read, and it did allocate. */
		ck_assert_int_eq(rc, H1_DONE);
		ck_assert_int_gt(n, 0);
		res_clear();
	}
}
END_TEST

/* How many allocations reading s whole takes; its result is left in res. */
static long
allocations(const char *s)
{
	enum h1_rc	 rc;
	long		 n;

	for (n = 0;; n++) {
		oom_arm(n);
		rc = feed_str(s, 0);
		if (!oom_disarm())
			break;
		res_clear();
	}
	ck_assert_int_eq(rc, H1_DONE);
	return n;
}

/* An answer of len bytes of c, framed by its Content-Length. */
static char *
answer_of(size_t len, char c)
{
	char	*s;
	int	 n;

	ck_assert_ptr_nonnull(s = malloc(len + 64));
	n = snprintf(s, 64, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
	    len);
	memset(s + n, c, len);
	s[n + len] = '\0';
	return s;
}

/*
 * A body's block goes back wiped and serves the next answer of about its
 * size without a malloc (each malloc or free of 1 KiB or more makes glibc
 * merge the heap's small free blocks first).
 */
START_TEST(test_body_spare)
{
	char		*a = answer_of(8600, 'x'), *b = answer_of(8000, 'y');
	char		*body;
	long		 n1, n2;
	size_t		 i;

	n1 = allocations(a);
	ck_assert_uint_eq(res.er_bodylen, 8600);
	body = res.er_body;
	res_clear();
#ifdef WIDGETD_SANITIZED
	/* no spare there: ASan sees every free */
	(void)body;
	(void)i;
	n2 = allocations(b);
	ck_assert_int_eq(n2, n1);
#else
	/* kept, so still ours to read: wiped, its NUL with it */
	for (i = 0; i <= 8600; i++)
		ck_assert_int_eq(body[i], 0);
	n2 = allocations(b);
	ck_assert_ptr_eq(res.er_body, body);
	/* the header block was kept too (test_arena_spare) */
	ck_assert_int_eq(n2, n1 - 2);
	ck_assert_int_eq(body[7999], 'y');
	ck_assert_int_eq(body[8000], '\0');
#endif
	/* one larger than any kept block is a malloc again */
	res_clear();
	free(a);
	h1_blocks_free();
	a = answer_of(40000, 'z');
	ck_assert_int_eq(allocations(a), n1);
	ck_assert_uint_eq(res.er_bodylen, 40000);
	free(a);
	free(b);
}
END_TEST

/*
 * http-parser's path writes its arena a piece at a time, trims values
 * (zeroes past the arena's length) and grows it into a new block: every
 * block it leaves, and the last, is kept all zeroes though only what was
 * written is wiped.
 */
START_TEST(test_arena_slow_spare)
{
	char		 s[4096];
	const char	*blk;
	size_t		 n, i, cap;

	h1_reader_set_fast(rd, 0);
	n = (size_t)snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\n"
	    "X-Fold: a \t\r\n  b  \r\n\tc\r\nX-Trail: t  \t \r\n");
	/* Past one block of H1_ARENA (512) bytes. */
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n,
		    "X-Pad-%02zu: %040zu \r\n", i, i);
	snprintf(s + n, sizeof(s) - n, "Content-Length: 0\r\n\r\n");
	for (i = 0; i < 13; i += 6) {
		ck_assert_int_eq(feed_str(s, i), H1_DONE);
		ck_assert(!h1_reader_was_fast(rd));
		ck_assert_str_eq(hdr("X-Fold"), "a b c");
		ck_assert_str_eq(hdr("X-Trail"), "t");
		ck_assert_uint_gt(res.er_arenacap, 512);
		blk = res.er_arena;
		cap = res.er_arenacap;
		res_clear();
		if (!kept)
			continue;
		/* kept, so still ours to read: none of its bytes left */
		for (n = 0; n < cap; n++)
			ck_assert_int_eq(blk[n], 0);
	}
	if (kept) {
		/* the first block, given up as the arena grew: the same */
		ck_assert_ptr_nonnull(blk = h1_request_write(&(struct
		    h1_request){ "GET", "/", "h", NULL, 0, NULL, 0, 0, 0, 0,
		    NULL }, &n, &cap));
		for (i = n + 1; i < cap; i++)
			ck_assert_int_eq(blk[i], 0);
		h1_block_free((char *)blk, n + 1, cap);
	}
}
END_TEST

/*
 * The fast path's header lines and their strings are one block, which
 * goes back wiped and serves the next answer's headers without a malloc
 * (none kept in a sanitizer build).
 */
START_TEST(test_arena_spare)
{
	const unsigned char	*blk;
	size_t			 cap, i;
	long			 n1, n2;

	n1 = allocations(simple);
	ck_assert(h1_reader_was_fast(rd));
	/* the lines open the block: one allocation for both */
	ck_assert_ptr_eq((char *)res.er_headers, res.er_arena);
	ck_assert_str_eq(hdr("X-Long-Header-Name"), "a value with  spaces");
	blk = (const unsigned char *)res.er_arena;
	cap = res.er_arenacap;
	res_clear();
#ifdef WIDGETD_SANITIZED
	(void)blk;
	(void)cap;
	(void)i;
	n2 = allocations(simple);
	ck_assert_int_eq(n2, n1);
#else
	/* kept, so still ours to read: wiped, lines and strings */
	for (i = 0; i < cap; i++)
		ck_assert_uint_eq(blk[i], 0);
	n2 = allocations(simple);
	ck_assert_int_eq(n2, n1 - 2);	/* the body's block was kept too */
	ck_assert_ptr_eq(res.er_arena, (const char *)blk);
#endif
	ck_assert_uint_eq(res.er_nheaders, 5);
	ck_assert_str_eq(hdr("Set-Cookie"), "a=1");
	ck_assert_str_eq(hdr("X-Long-Header-Name"), "a value with  spaces");
	ck_assert_str_eq(res.er_body, "{\"ok\": true}\n");
	res_clear();
}
END_TEST

/* After small blocks, a larger one given back serves the next large body. */
START_TEST(test_body_spare_larger)
{
	char	*p[4], *big, *again;
	int	 i;

	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(p[i] = keeper_body_alloc(100));
	for (i = 0; i < 4; i++)
		keeper_body_free(p[i], 100);
	ck_assert_ptr_nonnull(big = keeper_body_alloc(100000));
	keeper_body_free(big, 100000);
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	again = keeper_body_alloc(90000);
#ifdef WIDGETD_SANITIZED
	/* no spare there: ASan sees every free */
	ck_assert_int_eq(oom_disarm(), 1);
	ck_assert_ptr_null(again);
#else
	ck_assert_int_eq(oom_disarm(), 0);
	ck_assert_ptr_eq(again, big);
	keeper_body_free(again, 90000);
#endif
}
END_TEST

/*
 * A reader given back serves the next call without an allocation (one a
 * call on the keeper's connections), as a new one: nothing of its last
 * answer or settings carries over.
 */
START_TEST(test_reader_kept)
{
	struct h1_reader	*old = rd, *again;

	h1_reader_set_fast(rd, 0);
	ck_assert_int_eq(feed_str("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "\r\nhi", 0), H1_DONE);
	ck_assert_int_eq(h1_reader_was_fast(rd), 0);
	res_clear();
	h1_reader_free(rd);
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	again = h1_reader_new();
#ifdef WIDGETD_SANITIZED
	/* no spare there: ASan sees every free */
	(void)old;
	ck_assert_int_eq(oom_disarm(), 1);
	ck_assert_ptr_null(again);
	ck_assert_ptr_nonnull(again = h1_reader_new());
#else
	ck_assert_int_eq(oom_disarm(), 0);
	ck_assert_ptr_eq(again, old);
#endif
	rd = again;
	ck_assert_int_eq(feed_str("HTTP/1.1 201 Created\r\n"
	    "Content-Length: 2\r\n\r\nok", 0), H1_DONE);
	ck_assert_int_eq(res.er_status, 201);
	ck_assert_str_eq(res.er_body, "ok");
	ck_assert_int_eq(h1_reader_was_fast(rd), 1);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("h1");
	TCase	*tc = tcase_create("h1");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_request_get);
	tcase_add_test(tc, test_request_block_kept);
	tcase_add_test(tc, test_request_body);
	tcase_add_test(tc, test_request_defaults);
	tcase_add_test(tc, test_request_many);
	tcase_add_test(tc, test_simple_any_split);
	tcase_add_test(tc, test_pipelined_stop);
	tcase_add_test(tc, test_room_in_place);
	tcase_add_test(tc, test_chunked_trailers);
	tcase_add_test(tc, test_interim_dropped);
	tcase_add_test(tc, test_interim_length_ignored);
	tcase_add_test(tc, test_switching_refused);
	tcase_add_test(tc, test_no_body);
	tcase_add_test(tc, test_close_delimited);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_header_limits);
	tcase_add_test(tc, test_body_limit);
	tcase_add_test(tc, test_decoded);
	tcase_add_test(tc, test_decoded_refusals);
	tcase_add_test(tc, test_folded);
	tcase_add_test(tc, test_arena_grows);
	tcase_add_test(tc, test_arena_redacted);
	tcase_add_test(tc, test_reused);
	tcase_add_test(tc, test_fast_same_as_parser);
	tcase_add_test(tc, test_fast_names);
	tcase_add_test(tc, test_fast_many_lines);
	tcase_add_test(tc, test_oom);
	tcase_add_test(tc, test_body_spare);
	tcase_add_test(tc, test_arena_spare);
	tcase_add_test(tc, test_arena_slow_spare);
	tcase_add_test(tc, test_body_spare_larger);
	tcase_add_test(tc, test_reader_kept);
	suite_add_tcase(s, tc);
	return s;
}
