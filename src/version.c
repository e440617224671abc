/*
 * version.c — the build's version and commit, in one object: a new
 * commit rebuilds this file alone.
 */
#include "build.h"

#include "commit.h"
#include "version.h"

const char *
version_commit(void)
{
	return WIDGETD_COMMIT;
}

const char *
version_string(void)
{
	return WIDGETD_COMMIT[0] != '\0' ?
	    PACKAGE_VERSION " (commit " WIDGETD_COMMIT ")" : PACKAGE_VERSION;
}
