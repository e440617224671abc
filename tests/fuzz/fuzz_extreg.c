/*
 * fuzz_extreg.c — libFuzzer target for the extensions_registry.json
 * validator (extreg.c).  Every input either yields a model or at least one
 * error, never both; every reported position lies inside the input.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extreg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ext_report	 rep;
	struct ext_registry	*xg;
	size_t			 i;

	memset(&rep, 0, sizeof(rep));
	xg = extreg_load_buffer("fuzz.json", (const char *)data, size,
	    size > 0 && data[0] == ' ', &rep);
	if ((xg == NULL) == (rep.xr_nerrors == 0))
		abort();
	for (i = 0; i < rep.xr_n; i++)
		if (rep.xr_items[i].ee_line < 0 || rep.xr_items[i].ee_col < 0 ||
		    (size_t)rep.xr_items[i].ee_line > size + 1)
			abort();
	/* The model's paths passed the same rule the publisher re-checks. */
	for (i = 0; xg != NULL && i < xg->xg_nwidgets; i++)
		if (xg->xg_widgets[i].ew_path != NULL &&
		    extreg_path_check(xg->xg_widgets[i].ew_path,
		    strlen(xg->xg_widgets[i].ew_path)) != NULL)
			abort();
	extreg_free(xg);
	ext_report_clear(&rep);
	return 0;
}
