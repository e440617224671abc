/*
 * ctl_scan.c — widgetctl scan: the publisher's content security scan on
 * files an author names (SPEC §10 "Checking by hand", platform-docs §23).
 *
 * Each finding is printed as "file:line: category: message"; the exit
 * status is 0 when every file is clean, 1 when anything was found or a
 * file could not be read.  -T host (repeatable) replaces the default
 * trusted-CDN list, as the publisher's configurable allow-list does.
 */
#include "build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan.h"
#include "widgetctl.h"

/* Far above the publisher's 2 MB per file: an author may scan a bundle. */
#define CTL_SCAN_MAXFILE	(64 * 1024 * 1024)
#define CTL_SCAN_MAXHOSTS	64

static int
ctl_scan_file(const struct scan_policy *pol, const char *path)
{
	struct scan_result	 res;
	enum scan_kind		 kind;
	char			*buf = NULL;
	size_t			 len, i;
	int			 rv = 1;

	memset(&res, 0, sizeof(res));
	if ((kind = scan_kind_for(path)) == SCAN_NONE) {
		fprintf(stderr, "widgetctl: scan: %s: not scanned (only .html "
		    ".htm .js .mjs .jsx .css are)\n", path);
		return 0;
	}
	if (ctl_read_file(path, CTL_SCAN_MAXFILE, &buf, &len) == -1) {
		fprintf(stderr, "widgetctl: scan: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	if (scan_buffer(pol, kind, buf, len, &res) == -1) {
		fprintf(stderr, "widgetctl: scan: %s: out of memory\n", path);
		goto out;
	}
	for (i = 0; i < res.sr_n; i++)
		printf("%s:%d: %s: %s\n", path, res.sr_items[i].sf_line,
		    scan_category_name(res.sr_items[i].sf_category),
		    res.sr_items[i].sf_msg);
	rv = res.sr_categories != 0;
 out:
	scan_result_clear(&res);
	free(buf);
	return rv;
}

int
ctl_scan_main(struct ctl_globals *g, int argc, char **argv)
{
	struct scan_policy	 pol;
	const char		*hosts[CTL_SCAN_MAXHOSTS];
	size_t			 nhosts = 0;
	int			 ch, i, rv = 0;

	(void)g;
	memset(&pol, 0, sizeof(pol));
	while ((ch = getopt(argc, argv, "T:")) != -1) {
		switch (ch) {
		case 'T':
			if (nhosts == CTL_SCAN_MAXHOSTS) {
				fprintf(stderr, "widgetctl: scan: too many -T "
				    "hosts\n");
				return 2;
			}
			hosts[nhosts++] = optarg;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		goto usage;
	if (nhosts > 0) {
		pol.sp_hosts = hosts;
		pol.sp_nhosts = nhosts;
	}
	for (i = 0; i < argc; i++)
		if (ctl_scan_file(&pol, argv[i]) != 0)
			rv = 1;
	return rv;
 usage:
	fprintf(stderr, "usage: widgetctl scan [-T trusted-host] file ...\n");
	return 2;
}
