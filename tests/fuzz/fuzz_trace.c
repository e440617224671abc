/*
 * fuzz_trace.c — libFuzzer target for trace.c: a traceparent header value
 * from an untrusted peer.  What parses must format back to a valid
 * version-00 header with the same ids, and trace_begin on it must keep the
 * trace id; what does not parse must leave a new, valid trace.
 *
 * This file defines only LLVMFuzzerTestOneInput; the replay main() that
 * runs tests/fuzz/corpus/trace in make check is the shared one.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct trace	 t, u, b;
	uint8_t		 rnd[TRACE_RANDOM];
	char		 out[TRACE_HEADER_LEN + 1], *s;

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	memset(rnd, 0x5a, sizeof(rnd));
	if (trace_parse(s, len, &t) == 0) {
		trace_format(&t, out);
		if (trace_parse(out, strlen(out), &u) != 0 ||
		    memcmp(&t, &u, sizeof(t)) != 0)
			abort();
		/* Only when the C string is the whole input is it continued. */
		trace_begin(&b, s, rnd);
		if (strlen(s) == len && memcmp(b.tr_id, t.tr_id, 16) != 0)
			abort();
	} else {
		trace_begin(&b, s, rnd);
		if (strlen(s) == len && memcmp(b.tr_id, rnd, 16) != 0)
			abort();
	}
	trace_format(&b, out);
	if (trace_parse(out, strlen(out), &u) != 0)
		abort();
	free(s);
	return 0;
}
