/*
 * widgetd — main(): options and dispatch only (placeholder until the
 * foundation lands).
 */
#include "build.h"

#include <stdio.h>

int
main(int argc, char *argv[])
{
	printf("widgetd %s\n", PACKAGE_VERSION);
	return 0;
}
