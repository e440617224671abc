/* ctl_render.c — widgetctl render (placeholder until its subsystem lands). */
#include "build.h"

#include <stdio.h>

#include "widgetctl.h"

int
ctl_render_main(struct ctl_globals *g, int argc, char **argv)
{
	fprintf(stderr, "widgetctl: render: not implemented yet\n");
	return 1;
}
