/*
 * ctl_check.c — widgetctl check: validate connectors_registry.json and Code
 * Mode files exactly as the daemon loads them (SPEC §2, §7).
 *
 * Without a configuration the default egress policy judges literal hosts
 * (public addresses, https only); with -c (here or before the command) the
 * configuration's egress policy does, so a test upstream inside
 * allow_networks checks clean.  Without FILE arguments every tenant's
 * registry named by the configuration is checked.
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "connector.h"
#include "extreg.h"
#include "netpolicy.h"
#include "pubfs.h"
#include "widgetctl.h"

/* The registry files are far smaller; this only bounds a mistaken file. */
#define CTL_CHECK_MAXFILE	(16 * 1024 * 1024)

int
ctl_read_file(const char *path, size_t max, char **bufp, size_t *lenp)
{
	int	 fd, rv, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rv = pubfs_read_fd(fd, max, bufp, lenp);
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

static void
ctl_check_conf_error(const char *msg, void *arg)
{
	fprintf(stderr, "%s\n", msg);
}

/*
 * extensions_registry.json (or the legacy widget_registry.json): validated
 * by the publisher's own code (SPEC §10 "Checking by hand").
 */
static int
ctl_check_extensions(const char *path, int legacy)
{
	struct ext_report	 rep;
	struct ext_registry	*xg = NULL;
	char			*buf = NULL;
	size_t			 len;
	int			 rv = 1;

	memset(&rep, 0, sizeof(rep));
	if (ctl_read_file(path, CTL_CHECK_MAXFILE, &buf, &len) == -1) {
		printf("%s: %s\n", path, strerror(errno));
		goto out;
	}
	xg = extreg_load_buffer(path, buf, len, legacy, &rep);
	ext_report_print(&rep, stdout);
	if (xg == NULL)
		goto out;
	printf("%s: %zu widget%s, %zu script%s, %zu stylesheet%s OK\n", path,
	    xg->xg_nwidgets, xg->xg_nwidgets == 1 ? "" : "s",
	    xg->xg_nscripts, xg->xg_nscripts == 1 ? "" : "s",
	    xg->xg_nstyles, xg->xg_nstyles == 1 ? "" : "s");
	rv = 0;
 out:
	extreg_free(xg);
	ext_report_clear(&rep);
	free(buf);
	return rv;
}

/* Check one file; 0 when it is valid. */
static int
ctl_check_file(const char *path, const struct netpolicy *policy, int any)
{
	struct reg_report	 rep;
	struct registry		*r;
	const char		*base;
	int			 is_registry = 1, rv = 1, legacy;

	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	if (any && extreg_is_registry_name(base, &legacy))
		return ctl_check_extensions(path, legacy);
	memset(&rep, 0, sizeof(rep));
	if (any)
		r = registry_load_any(path, policy, &rep, &is_registry);
	else
		r = registry_load_file(path, policy, &rep);
	if (r == NULL) {
		reg_report_print(&rep, stdout);
		goto out;
	}
	if (is_registry)
		printf("%s: %zu connector%s, %zu composite connector%s OK\n",
		    path, registry_nconnectors(r),
		    registry_nconnectors(r) == 1 ? "" : "s",
		    registry_ncomposites(r),
		    registry_ncomposites(r) == 1 ? "" : "s");
	else
		printf("%s: connector '%s' (%s) OK\n", path, r->r_conns[0].c_name,
		    r->r_conns[0].c_permalink);
	rv = 0;
 out:
	registry_free(r);
	reg_report_clear(&rep);
	return rv;
}

int
ctl_check_main(struct ctl_globals *g, int argc, char **argv)
{
	struct widgetd_config	*conf = NULL;
	const struct netpolicy	*policy = NULL;
	const char		*confpath = g->g_config;
	size_t			 i;
	int			 ch, rv = 0;

	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		default:
			fprintf(stderr, "usage: widgetctl check [-c widgetd.conf] "
			    "[file ...]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	/* No file: the registries of the (default) configuration. */
	if (argc == 0 && confpath == NULL)
		confpath = SYSCONFDIR "/widgetd.conf";
	if (confpath != NULL) {
		conf = config_load(confpath, ctl_check_conf_error, NULL);
		if (conf == NULL) {
			fprintf(stderr, "widgetctl: check: %s: invalid "
			    "configuration\n", confpath);
			return 1;
		}
		policy = &conf->c_egress.policy;
	}
	for (i = 0; i < (size_t)argc; i++)
		if (ctl_check_file(argv[i], policy, 1) != 0)
			rv = 1;
	for (i = 0; argc == 0 && i < conf->c_ntenants; i++)
		if (ctl_check_file(conf->c_tenants[i].t_registry, policy, 0) != 0)
			rv = 1;
	config_free(conf);
	return rv;
}
