/*
 * trace.c — the traceparent header (trace.h).
 */
#include "build.h"

#include <string.h>

#include "trace.h"

/*
 * A digit's value, or -1 (lower case only: the specification's HEXDIGLC).
 * A table, not comparisons: the digits of an id are random, so a branch
 * on digit or letter was mispredicted about every other one (trace_parse
 * was near a percent of the keeper, which checks every call's header).
 */
static const unsigned char trace_hextab[256] = {	/* value + 1 */
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
	['f'] = 16,
};

static int
trace_hexval(char c)
{
	return trace_hextab[(unsigned char)c] - 1;
}

/* n bytes from 2n lower-case hex digits; -1 on anything else. */
static int
trace_hex(const char *s, uint8_t *out, size_t n)
{
	size_t	 i;
	int	 h, l;

	for (i = 0; i < n; i++) {
		if ((h = trace_hexval(s[2 * i])) == -1 ||
		    (l = trace_hexval(s[2 * i + 1])) == -1)
			return -1;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

static int
trace_zero(const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

int
trace_parse(const char *s, size_t len, struct trace *t)
{
	struct trace	 tr;
	uint8_t		 ver;

	if (s == NULL || len < TRACE_HEADER_LEN ||
	    trace_hex(s, &ver, 1) == -1 || ver == 0xff ||
	    s[2] != '-' || s[35] != '-' || s[52] != '-' ||
	    trace_hex(s + 3, tr.tr_id, 16) == -1 ||
	    trace_hex(s + 36, tr.tr_span, 8) == -1 ||
	    trace_hex(s + 53, &tr.tr_flags, 1) == -1)
		return -1;
	/* Version 00 is exactly this long; later ones may add fields. */
	if ((ver == 0 && len != TRACE_HEADER_LEN) ||
	    (len > TRACE_HEADER_LEN && s[TRACE_HEADER_LEN] != '-'))
		return -1;
	if (trace_zero(tr.tr_id, 16) || trace_zero(tr.tr_span, 8))
		return -1;
	*t = tr;
	return 0;
}

void
trace_begin(struct trace *t, const char *incoming,
    const uint8_t rnd[TRACE_RANDOM])
{
	struct trace	 in;

	if (incoming != NULL && trace_parse(incoming, strlen(incoming),
	    &in) == 0) {
		memcpy(t->tr_id, in.tr_id, 16);
		/* Only the sampled bit is defined; keep what we know. */
		t->tr_flags = in.tr_flags & 0x01;
	} else {
		memcpy(t->tr_id, rnd, 16);
		/* Never all zeros, which would be invalid. */
		if (trace_zero(t->tr_id, 16))
			t->tr_id[15] = 1;
		t->tr_flags = 0x01;
	}
	memcpy(t->tr_span, rnd + 16, 8);
	if (trace_zero(t->tr_span, 8))
		t->tr_span[7] = 1;
}

static void
trace_put(char *o, const uint8_t *p, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		o[2 * i] = hex[p[i] >> 4];
		o[2 * i + 1] = hex[p[i] & 15];
	}
}

void
trace_format(const struct trace *t, char out[TRACE_HEADER_LEN + 1])
{
	memcpy(out, "00-", 3);
	trace_put(out + 3, t->tr_id, 16);
	out[35] = '-';
	trace_put(out + 36, t->tr_span, 8);
	out[52] = '-';
	trace_put(out + 53, &t->tr_flags, 1);
	out[TRACE_HEADER_LEN] = '\0';
}
