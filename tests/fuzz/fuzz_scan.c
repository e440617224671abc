/*
 * fuzz_scan.c — libFuzzer target for the content scanner (scan.c).  The
 * first byte picks the kind (H html, C css, anything else JavaScript) and
 * whether a custom allow-list is used; every finding must carry a line
 * inside the input and a known category.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "static.example.com" };
	struct scan_policy	 pol = { hosts, 1 };
	struct scan_result	 res;
	enum scan_kind		 kind = SCAN_JS;
	size_t			 i, lines = 1;

	if (size == 0)
		return 0;
	if (data[0] == 'H')
		kind = SCAN_HTML;
	else if (data[0] == 'C')
		kind = SCAN_CSS;
	for (i = 1; i < size; i++)
		if (data[i] == '\n')
			lines++;
	memset(&res, 0, sizeof(res));
	if (scan_buffer((data[0] & 1) ? &pol : NULL, kind,
	    (const char *)data + 1, size - 1, &res) == 0) {
		if (res.sr_n > SCAN_MAXFINDINGS)
			abort();
		for (i = 0; i < res.sr_n; i++)
			if (res.sr_items[i].sf_line < 1 ||
			    (size_t)res.sr_items[i].sf_line > lines ||
			    res.sr_items[i].sf_category >= SCAN_NCATEGORIES ||
			    !(res.sr_categories &
			    (1U << res.sr_items[i].sf_category)))
				abort();
	}
	scan_result_clear(&res);
	return 0;
}
