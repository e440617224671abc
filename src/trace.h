/*
 * trace.h — W3C trace context (https://www.w3.org/TR/trace-context/),
 * the traceparent header.
 *
 *	traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>
 *
 * widgetd starts a trace for each request, or continues the caller's when
 * the peer is trusted (trace.trusted), and sends its own span upstream.
 * Library code: the caller supplies the randomness.
 */
#ifndef WIDGETD_TRACE_H
#define WIDGETD_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_HEADER_LEN	55	/* "00-" 32 "-" 16 "-" 2 */
#define TRACE_ID_HEX		32
#define TRACE_RANDOM		24	/* bytes trace_begin consumes */

struct trace {
	uint8_t		 tr_id[16];
	uint8_t		 tr_span[8];
	uint8_t		 tr_flags;
};

/*
 * Parse a traceparent value as the specification says a receiver must:
 * version 00 exactly 55 characters; a later version at least 55, with a
 * '-' after them when longer; version ff, upper-case hex, an all-zero
 * trace or parent id are invalid.  0, or -1 (t untouched).
 */
int		 trace_parse(const char *s, size_t len, struct trace *t);
/*
 * This request's trace: the incoming one's id and flags with a new span
 * when incoming is valid, else a new id (sampled).  rnd: TRACE_RANDOM
 * random bytes.
 */
void		 trace_begin(struct trace *t, const char *incoming,
		    const uint8_t rnd[TRACE_RANDOM]);
/* "00-…" (TRACE_HEADER_LEN characters and a NUL). */
void		 trace_format(const struct trace *, char out[TRACE_HEADER_LEN + 1]);

#endif
