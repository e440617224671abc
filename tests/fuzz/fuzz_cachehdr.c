/*
 * fuzz_cachehdr.c — libFuzzer target for cachehdr.c, the parsers of what
 * an upstream says about caching (Cache-Control, HTTP-dates, Age,
 * Retry-After, entity-tags) and of the validators the keeper checks.
 *
 * The whole input is one field value, in a buffer of exactly its size
 * (no NUL after it: a parser that reads past len is caught), given to
 * every parser.  Each result is checked against what cachehdr.h promises.
 *
 * This file defines only LLVMFuzzerTestOneInput; the replay main() that
 * runs tests/fuzz/corpus/cachehdr in make check is the shared one.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cachehdr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A delta-seconds member: absent, unusable, or 0..2^31. */
static void
fuzz_delta_ok(int64_t v)
{
	if (v != CACHEHDR_ABSENT && v != CACHEHDR_INVALID &&
	    (v < 0 || v > CACHEHDR_DELTA_MAX))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cachehdr_cc	 cc;
	char			*s;
	int64_t			 v;

	if ((s = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	cachehdr_cc_init(&cc);
	cachehdr_cc_parse(&cc, s, size);
	/* Twice: a second line adds to the first, values stay in range. */
	cachehdr_cc_parse(&cc, s, size);
	fuzz_delta_ok(cc.cc_max_age);
	fuzz_delta_ok(cc.cc_s_maxage);
	fuzz_delta_ok(cc.cc_stale_if_error);
	if ((cc.cc_no_store | cc.cc_no_cache | cc.cc_private | cc.cc_public |
	    cc.cc_must_revalidate | cc.cc_proxy_revalidate) & ~1)
		abort();
	/* Years 1 to 9999: within what 64 bits of seconds hold easily. */
	if (cachehdr_date(s, size, &v) == 0 &&
	    (v < -62135596800LL || v > 253402300800LL))
		abort();
	if (cachehdr_delta(s, size, &v) == 0 &&
	    (v < 0 || v > CACHEHDR_DELTA_MAX))
		abort();
	if (cachehdr_retry_after(s, size, 1700000000, &v) == 0 && v < 0)
		abort();
	/* An entity-tag is quoted, and longer than its quotes. */
	if (cachehdr_etag_ok(s, size) && (size < 2 ||
	    memchr(s, '"', size) == NULL))
		abort();
	free(s);
	return 0;
}
