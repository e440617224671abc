/*
 * publish-bench — run the publisher once on a repository and print the
 * build and the CPU and wall time it took.  A benchmark and a debugging
 * aid, not a test and not the daemon's command (widgetctl publish goes
 * through the control socket):
 *   publish-bench REPO BRANCH OUTDIR
 */
#include "build.h"

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "publish.h"

int
main(int argc, char *argv[])
{
	struct publish_opts	 o = { 0 };
	struct publish_build	 b;
	struct rusage		 ru;
	struct timespec		 t0, t1;
	size_t			 i;
	int			 rv;

	if (argc != 4) {
		fprintf(stderr, "usage: publish-bench repo branch outdir\n");
		return 2;
	}
	o.po_repo = argv[1];
	o.po_branch = argv[2];
	o.po_outdir = argv[3];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = publish_run(&o, &b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("build %lu: %s %s%s%s\n", b.pb_id, publish_state_name(b.pb_state),
	    b.pb_code ? b.pb_code : "", b.pb_code ? ": " : "",
	    b.pb_message ? b.pb_message : "");
	for (i = 0; i < b.pb_nwarnings; i++)
		printf("  warning: %s\n", b.pb_warnings[i]);
	for (i = 0; i < b.pb_ndetails; i++)
		printf("  %s\n", b.pb_details[i]);
	printf("generation %s: %zu files (%zu reused)\n", b.pb_generation,
	    b.pb_nfiles, b.pb_nreused);
	printf("wall %.3f s, cpu %.3f s (user %.3f, sys %.3f)\n",
	    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	publish_build_clear(&b);
	return rv == 0 ? 0 : 1;
}
