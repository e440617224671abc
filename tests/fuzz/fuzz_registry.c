/*
 * fuzz_registry.c — libFuzzer target for the registry and Code Mode loader.
 * Each input is loaded as a registry and as a Code Mode file.
 * tests/fuzz/replay.c or libFuzzer supplies main().
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "netpolicy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reg_report	 rep;
	struct netpolicy	 np;
	struct registry		*r;

	memset(&rep, 0, sizeof(rep));
	memset(&np, 0, sizeof(np));
	r = registry_load_buffer("fuzz.json", (const char *)data, size, NULL,
	    &rep);
	/* A registry either loads or explains why: never both, never neither. */
	if ((r == NULL) == (rep.rr_nerrors == 0))
		abort();
	registry_free(r);
	reg_report_clear(&rep);

	np.np_allow_http = 1;
	r = registry_load_codemode_buffer("fuzz.json", (const char *)data, size,
	    &np, &rep);
	if ((r == NULL) == (rep.rr_nerrors == 0))
		abort();
	registry_free(r);
	reg_report_clear(&rep);
	return 0;
}
