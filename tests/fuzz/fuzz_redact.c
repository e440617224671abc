/*
 * fuzz_redact.c — libFuzzer target for keeper_redact.c.
 *
 * Input: a count byte, then values and a body separated by NUL bytes.
 * Values are mapped onto [a-z0-9] so that no value can be spelt across
 * a "[REDACTED]" mark; after redaction no value may remain in the body,
 * and a body without occurrences must come back untouched.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keeper_redact.h"

#define FUZZ_VALUES	4

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 alpha[] =
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	struct redact		*r;
	char			*vals[FUZZ_VALUES], *body;
	size_t			 lens[FUZZ_VALUES], nvals = 0, i, j, len;
	const uint8_t		*p, *end = data + size, *nul;
	int			 n;

	if (size < 1 || (r = redact_new()) == NULL)
		return 0;
	p = data + 1;
	while (nvals < (size_t)(data[0] % FUZZ_VALUES) + 1 && p < end &&
	    (nul = memchr(p, 0, end - p)) != NULL) {
		lens[nvals] = nul - p;
		vals[nvals] = malloc(lens[nvals] + 1);
		for (i = 0; i < lens[nvals]; i++)
			vals[nvals][i] = alpha[p[i] % (sizeof(alpha) - 1)];
		if (redact_add(r, vals[nvals], lens[nvals]) == -1)
			abort();
		nvals++;
		p = nul + 1;
	}
	len = end - p;
	body = malloc(len + 1);
	memcpy(body, p, len);
	n = redact_apply(r, &body, &len);
	if (n < 0)
		abort();
	if (n == 0 && (len != (size_t)(end - p) || memcmp(body, p, len) != 0))
		abort();
	for (j = 0; j < nvals; j++) {
		if (lens[j] >= REDACT_MIN_LEN &&
		    memmem(body, len, vals[j], lens[j]) != NULL)
			abort();
		free(vals[j]);
	}
	free(body);
	redact_free(r);
	return 0;
}
