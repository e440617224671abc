/*
 * fuzz_http — the request parser under arbitrary bytes.
 *
 * The first two input bytes choose the limits and how the rest is split
 * into reads; the rest is the byte stream of one connection.  Each input
 * is parsed twice, all at once and in pseudo-random pieces, and the two
 * runs must see the same requests and the same error: the outcome may
 * never depend on how TCP happened to split the stream.  Every request
 * taken is checked against the promises of http.h.  tests/fuzz/replay.c or
 * libFuzzer supplies main().
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http.h"

#define FUZZ_MAX_REQ	64

struct fuzz_outcome {
	int		 fo_nreq;
	uint64_t	 fo_digest[FUZZ_MAX_REQ];
	int		 fo_status;	/* 0, or the final error status */
	size_t		 fo_used;
};

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* FNV-1a, enough to compare two runs' requests. */
static uint64_t
fuzz_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*c = p;

	while (n-- > 0)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static uint64_t
fuzz_hash_str(uint64_t h, const char *s)
{
	return s == NULL ? fuzz_hash(h, "\1", 1) : fuzz_hash(h, s, strlen(s) + 1);
}

/* What http.h promises about a request it hands over. */
static uint64_t
fuzz_check_request(const struct http_request *r, const struct http_limits *l)
{
	struct evbuffer	*b;
	const char	*hdrs[2];
	char		 line[256];
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i, n;

	if (r->r_method == NULL || r->r_target == NULL || r->r_path == NULL ||
	    r->r_body == NULL || r->r_target[0] != '/' || r->r_path[0] != '/')
		abort();
	if (r->r_bodylen > l->hl_body || r->r_body[r->r_bodylen] != '\0')
		abort();
	if ((int)r->r_nheaders > l->hl_max_headers)
		abort();
	n = strlen(r->r_path);
	if (strstr(r->r_path, "/../") != NULL ||
	    (n >= 3 && strcmp(r->r_path + n - 3, "/..") == 0))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)r->r_path[i] < 0x20)
			abort();
	if (strchr(r->r_target, '#') != NULL)
		abort();
	if (r->r_version_minor != 0 && r->r_version_minor != 1)
		abort();
	if (r->r_version_minor == 1 && http_request_header(r, "Host") == NULL)
		abort();
	if (http_request_header(r, "Content-Length") != NULL &&
	    http_request_header(r, "Transfer-Encoding") != NULL)
		abort();

	h = fuzz_hash_str(h, r->r_method);
	h = fuzz_hash_str(h, r->r_target);
	h = fuzz_hash_str(h, r->r_path);
	h = fuzz_hash_str(h, r->r_query);
	h = fuzz_hash(h, r->r_body, r->r_bodylen);
	h = fuzz_hash(h, &r->r_keepalive, sizeof(r->r_keepalive));
	b = evbuffer_new();
	for (i = 0; i < r->r_nheaders; i++) {
		h = fuzz_hash_str(h, r->r_headers[i].h_name);
		h = fuzz_hash_str(h, r->r_headers[i].h_value);
		/* A received field echoed back must pass the writer. */
		snprintf(line, sizeof(line), "X-Echo: %s",
		    r->r_headers[i].h_value);
		hdrs[0] = line;
		hdrs[1] = NULL;
		if (b != NULL && http_write_response(b, 200, hdrs, r->r_body,
		    r->r_bodylen, r->r_keepalive, i & 1) == -1)
			abort();
	}
	evbuffer_free(b);
	return h;
}

/* Parse data as a connection would, in pieces drawn from seed (0: whole). */
static void
fuzz_run(const uint8_t *data, size_t size, const struct http_limits *lim,
    uint32_t seed, struct fuzz_outcome *fo)
{
	struct http_parser_state *ps;
	struct http_request	*r;
	const char		*msg = NULL;
	size_t			 pos = 0, avail = 0, used, step;
	int			 status = 0, need = 1;
	enum http_status	 st;

	memset(fo, 0, sizeof(*fo));
	if ((ps = http_parser_state_new(lim)) == NULL)
		abort();
	while (pos < size || !need) {
		if (need) {
			if (seed == 0)
				step = size - pos;
			else {
				seed ^= seed << 13;
				seed ^= seed >> 17;
				seed ^= seed << 5;
				step = 1 + seed % (seed & 0x100 ? 3 : 97);
			}
			avail += step;
			if (avail > size - pos)
				avail = size - pos;
		}
		st = http_feed(ps, (const char *)data + pos, avail, &used,
		    &status, &msg);
		if (used > avail)
			abort();
		pos += used;
		avail -= used;
		if (st == HTTP_ERROR) {
			if (msg == NULL || (status != 400 && status != 413 &&
			    status != 431 && status != 501 && status != 505))
				abort();
			if (http_take_request(ps) != NULL)
				abort();
			fo->fo_status = status;
			break;
		}
		if (st == HTTP_DONE) {
			if ((r = http_take_request(ps)) == NULL)
				abort();
			if (fo->fo_nreq < FUZZ_MAX_REQ)
				fo->fo_digest[fo->fo_nreq] =
				    fuzz_check_request(r, lim);
			fo->fo_nreq++;
			http_request_free(r);
			need = avail == 0;
		} else {
			if (avail != 0)
				abort();
			need = 1;
		}
		if (need && pos == size)
			break;
	}
	fo->fo_used = pos;
	http_parser_state_free(ps);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits	 lim = { 64 * 1024, 100, 1024 * 1024, 0 };
	struct fuzz_outcome	 whole, split;
	uint32_t		 seed;

	if (size < 2)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	/* Small limits half the time, so the fuzzer reaches them. */
	if (seed & 1) {
		lim.hl_header_bytes = 256;
		lim.hl_max_headers = 8;
		lim.hl_body = 64;
	}
	fuzz_run(data, size, &lim, 0, &whole);
	fuzz_run(data, size, &lim, seed | 0x10000, &split);
	/* How much an erroring feed consumed is unspecified. */
	if (whole.fo_nreq != split.fo_nreq ||
	    whole.fo_status != split.fo_status ||
	    (whole.fo_status == 0 && whole.fo_used != split.fo_used) ||
	    memcmp(whole.fo_digest, split.fo_digest,
	    sizeof(whole.fo_digest)) != 0)
		abort();
	return 0;
}
