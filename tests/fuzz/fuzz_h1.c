/*
 * fuzz_h1.c — libFuzzer target for keeper_h1.c's response reader.
 *
 * The first input byte chooses the piece size (1..256) the rest is fed
 * in, and whether the request was HEAD; the rest is what an upstream
 * sent, then its close.  Small limits so that they are reached.  Checked:
 * the reader never takes more bytes than it was given, a finished answer
 * has a status of three digits, token header names, a body within the
 * limit and NUL-terminated, and a failure leaves nothing behind.  Then the
 * rest is read again whole, with the fast path for a Content-Length
 * answer and without it: both must give the same (h1_diff.c).
 *
 * This file defines only LLVMFuzzerTestOneInput; the replay main() that
 * runs tests/fuzz/corpus/h1 in make check is the shared one.
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper_h1.h"
#include "h1_diff.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check(const struct egress_result *res, enum h1_rc rc, size_t maxbody)
{
	size_t	 i, j;

	if (rc == H1_FAIL) {
		if (res->er_error == EGRESS_OK || res->er_nheaders != 0 ||
		    res->er_body != NULL || res->er_msg[0] == '\0')
			abort();
		return;
	}
	if (rc != H1_DONE)
		return;
	if (res->er_error != EGRESS_OK || res->er_status < 100 ||
	    res->er_status > 999 || res->er_status / 100 == 1)
		abort();
	if (res->er_bodylen > maxbody ||
	    (res->er_body != NULL && res->er_body[res->er_bodylen] != '\0'))
		abort();
	for (i = 0; i < res->er_nheaders; i++) {
		if (res->er_headers[i].eh_namelen == 0 ||
		    res->er_headers[i].eh_value[res->er_headers[i].eh_valuelen]
		    != '\0')
			abort();
		for (j = 0; j < res->er_headers[i].eh_namelen; j++)
			if (strchr(" \t\r\n:", res->er_headers[i].eh_name[j])
			    != NULL)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct h1_limits	 lim = { 20, 2048, 4096 };
	struct egress_result		 res;
	struct h1_reader		*r;
	enum h1_rc			 rc = H1_MORE;
	size_t				 step, off, n, used;
	char				 why[512];

	if (size < 1 || (r = h1_reader_new()) == NULL)
		return 0;
	memset(&res, 0, sizeof(res));
	step = (size_t)(data[0] & 0x7f) * 2 + 1;
	h1_reader_start(r, &lim, data[0] >> 7, &res);
	for (off = 1; off < size && rc == H1_MORE; off += n) {
		n = size - off < step ? size - off : step;
		rc = h1_reader_feed(r, (const char *)data + off, n, &used);
		if (used > n)
			abort();
	}
	if (rc == H1_MORE)
		rc = h1_reader_eof(r);
	fuzz_check(&res, rc, lim.hl_max_body);
	egress_result_clear(&res);
	h1_reader_free(r);
	if (h1_diff((const char *)data + 1, size - 1, data[0] >> 7, why,
	    sizeof(why)) == -1) {
		fprintf(stderr, "fuzz_h1: the fast path differs: %s\n", why);
		abort();
	}
	return 0;
}
