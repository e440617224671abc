/*
 * widgetd — main(): options and dispatch only.
 *
 * `widgetd [-dnvV] [-c file]` starts the parent (or checks the
 * configuration with -n).  The parent starts its children as
 * `widgetd -R role -I slot`; -R is not for operators.
 */
#include "build.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "proc.h"
#include "snapshot.h"
#include "version.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static void
usage(void)
{
	fprintf(stderr, "usage: widgetd [-dnvV] [-c file]\n");
	exit(1);
}

static void
widgetd_report(const char *msg, void *arg)
{
	int	*errors = arg;

	fprintf(stderr, "%s\n", msg);
	(*errors)++;
}

/* -n: every error in the file and the registries it names, or OK. */
static int
widgetd_check(const char *path)
{
	struct snapshot	*sn;
	int		 errors = 0;

	/* Exactly what the parent reads and checks at start and reload. */
	sn = snapshot_build(path, 1, 0, widgetd_report, &errors);
	if (sn != NULL &&
	    proc_check_privsep(sn->sn_cfg, widgetd_report, &errors) == -1)
		errors += errors == 0;
	snapshot_unref(sn);
	if (sn == NULL || errors > 0) {
		if (errors == 0)
			fprintf(stderr, "%s: invalid configuration\n", path);
		return 1;
	}
	printf("configuration OK\n");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct proc_opts	 po;
	const char		*conf = SYSCONFDIR "/widgetd.conf";
	const char		*role = NULL;
	char			 abspath[PATH_MAX], *end;
	int			 ch, check = 0, slot = 0, r = 1;
	long			 l;

	memset(&po, 0, sizeof(po));
	while ((ch = getopt(argc, argv, "c:dnvVR:I:")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'd':
			po.po_debug = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			po.po_verbose++;
			break;
		case 'V':
			printf("widgetd %s\n", version_string());
			return 0;
		case 'R':
			role = optarg;
			break;
		case 'I':
			/* Bounded like the keeper's slot table. */
			l = strtol(optarg, &end, 10);
			if (*end != '\0' || l < 0 || l > 1023)
				usage();
			slot = (int)l;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* -n needs no root and starts nothing: it only reads and reports. */
	if (check)
		return widgetd_check(conf);
	/* Children read their configuration from PROC_SNAP_FD, no file. */
	if (role == NULL) {
		/* The daemonised parent must not depend on the cwd. */
		if (realpath(conf, abspath) == NULL) {
			fprintf(stderr, "widgetd: %s: cannot resolve path\n",
			    conf);
			return 1;
		}
		po.po_conf = abspath;
		return parent_main(&po);
	}
	switch (proc_role_parse(role)) {
	case PROC_WORKER:
		r = worker_main(&po, slot);
		break;
	case PROC_KEEPER:
		r = keeper_main(&po, slot);
		break;
	case PROC_PUBLISHER:
		r = publisher_main(&po, slot);
		break;
	default:
		usage();
	}
	return r;
}
