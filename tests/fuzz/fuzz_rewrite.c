/*
 * fuzz_rewrite.c — libFuzzer target for the publisher's HTML rewrite
 * (rewrite.c).  The input's first line is the entry's directory, the rest
 * the HTML.  The rewrite must never lose bytes it does not rewrite: with
 * an empty base the output of an input without references is the input.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rewrite_stats	 st;
	const char		*nl;
	char			 dir[256], *out, *u;
	size_t			 n, outlen;
	int			 esc;

	if ((nl = memchr(data, '\n', size)) == NULL)
		return 0;
	n = (size_t)(nl - (const char *)data);
	if (n >= sizeof(dir) || memchr(data, '\0', n) != NULL)
		return 0;
	memcpy(dir, data, n);
	dir[n] = '\0';
	if (rewrite_html(nl + 1, size - n - 1, dir, "/B", &out, &outlen,
	    &st) == 0) {
		if (strlen(out) > outlen || (st.rs_rewritten == 0 &&
		    (outlen != size - n - 1 || memcmp(out, nl + 1, outlen) != 0)))
			abort();
		free(out);
	}
	/* One reference: a hosted URL's path never climbs out of the base
	 * (its query and fragment are the author's). */
	if ((u = rewrite_url(nl + 1, size - n - 1, dir, "/B", &esc)) != NULL) {
		u[strcspn(u, "?#")] = '\0';
		if (strncmp(u, "/B/", 3) != 0 || strstr(u, "/../") != NULL ||
		    (strlen(u) >= 3 && strcmp(u + strlen(u) - 3, "/..") == 0))
			abort();
		free(u);
	}
	return 0;
}
