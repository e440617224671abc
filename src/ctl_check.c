/* ctl_check.c — widgetctl check (placeholder until its subsystem lands). */
#include "build.h"

#include <stdio.h>

#include "widgetctl.h"

int
ctl_check_main(struct ctl_globals *g, int argc, char **argv)
{
	fprintf(stderr, "widgetctl: check: not implemented yet\n");
	return 1;
}
