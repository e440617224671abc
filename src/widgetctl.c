/*
 * widgetctl — the operator's tool (SPEC §2).  main() only parses the global
 * options and dispatches; each command lives in its own ctl_*.c file.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "widgetctl.h"

static const struct ctl_command {
	const char	*cc_name;
	int		(*cc_main)(struct ctl_globals *, int, char **);
	const char	*cc_usage;
} ctl_commands[] = {
	{ "render",	ctl_render_main, "render TEMPLATE [CONTEXT.json]" },
	{ "check",	ctl_check_main,	 "check [-c widgetd.conf] [file ...]" },
	{ "scan",	ctl_scan_main,	 "scan [-T trusted-host] file ..." },
	{ "publish",	ctl_publish_main, "publish [-t tenant]" },
	{ "builds",	ctl_builds_main, "builds [-v] [-n count] [-t tenant] [--json]" },
	{ "reload",	ctl_reload_main, "reload" },
	{ "status",	ctl_status_main, "status [--json]" },
	{ "stop",	ctl_stop_main,	 "stop [-w]" },
	{ "secret",	ctl_secret_main, "secret set|rm|list [-t tenant] [-r] [NAME]" },
	{ "variable",	ctl_variable_main,
	    "variable set|rm|get|list [-t tenant] [-r] [NAME [VALUE]]" },
	{ "test",	ctl_test_main,
	    "test [-t tenant] PERMALINK|FILE [--payload @file.json] "
	    "[--query k=v]... [--path-param k=v]... [--header k=v]... "
	    "[--verbose] [--json]" },
};

static void __attribute__((noreturn))
usage(void)
{
	size_t	 i;

	fprintf(stderr, "usage: widgetctl [-c widgetd.conf] [-s socket] command ...\n");
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		fprintf(stderr, "       widgetctl %s\n", ctl_commands[i].cc_usage);
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct ctl_globals	 g;
	size_t			 i;
	int			 ch;

	memset(&g, 0, sizeof(g));
	/* '+': stop at the command name; its options are its own. */
	while ((ch = getopt(argc, argv, "+c:s:")) != -1) {
		switch (ch) {
		case 'c':
			g.g_config = optarg;
			break;
		case 's':
			g.g_socket = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
		if (strcmp(argv[0], ctl_commands[i].cc_name) == 0) {
			optind = 0;	/* glibc: restart scanning, permuting again */
			return ctl_commands[i].cc_main(&g, argc, argv);
		}
	}
	fprintf(stderr, "widgetctl: unknown command: %s\n", argv[0]);
	usage();
}
