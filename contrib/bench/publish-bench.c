/*
 * publish-bench — run the publisher on a repository and print each build
 * and the CPU and wall time it took.  A benchmark and a debugging aid, not
 * a test and not the daemon's command (widgetctl publish goes through the
 * control socket):
 *   publish-bench REPO BRANCH OUTDIR [COMMAND]
 * With COMMAND (run by sh(1) after the first publish, e.g. a commit that
 * changes one file) it publishes again in the same process, remembering
 * the files the first publish found clean, as the daemon's publisher does.
 */
#include "build.h"

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "publish.h"

static double
cpu_seconds(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
bench_one(const struct publish_opts *o)
{
	struct publish_build	 b;
	struct timespec		 t0, t1;
	double			 c0, c1;
	size_t			 i;
	int			 rv;

	c0 = cpu_seconds();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = publish_run(o, &b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c1 = cpu_seconds();
	printf("build %lu: %s %s%s%s\n", b.pb_id, publish_state_name(b.pb_state),
	    b.pb_code ? b.pb_code : "", b.pb_code ? ": " : "",
	    b.pb_message ? b.pb_message : "");
	for (i = 0; i < b.pb_nwarnings; i++)
		printf("  warning: %s\n", b.pb_warnings[i]);
	for (i = 0; i < b.pb_ndetails; i++)
		printf("  %s\n", b.pb_details[i]);
	printf("generation %s: %zu files (%zu reused), %zu scanned "
	    "(%zu known clean)\n", b.pb_generation, b.pb_nfiles, b.pb_nreused,
	    b.pb_nscanned, b.pb_nscankept);
	printf("wall %.3f s, cpu %.3f s\n", (t1.tv_sec - t0.tv_sec) +
	    (t1.tv_nsec - t0.tv_nsec) / 1e9, c1 - c0);
	publish_build_clear(&b);
	return rv;
}

int
main(int argc, char *argv[])
{
	struct publish_opts	 o = { 0 };
	int			 rv;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: publish-bench repo branch outdir "
		    "[command]\n");
		return 2;
	}
	o.po_repo = argv[1];
	o.po_branch = argv[2];
	o.po_outdir = argv[3];
	if (argc == 5 && (o.po_scancache = publish_scancache_new()) == NULL) {
		fprintf(stderr, "publish-bench: out of memory\n");
		return 1;
	}
	rv = bench_one(&o);
	if (argc == 5) {
		fflush(stdout);
		if (system(argv[4]) != 0) {
			fprintf(stderr, "publish-bench: %s failed\n", argv[4]);
			rv = -1;
		} else {
			printf("== after: %s\n", argv[4]);
			rv = bench_one(&o);
		}
	}
	publish_scancache_free(o.po_scancache);
	return rv == 0 ? 0 : 1;
}
