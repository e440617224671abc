/*
 * ctl_publish.c — widgetctl publish and widgetctl builds (SPEC §10).
 *
 * publish asks the running daemon (its publishers) to publish now and
 * prints each build.  builds reads the build records the publishers keep
 * in each tenant's published directory (pubdir.h) directly: it works
 * whether the daemon runs or not, and needs no daemon to trust it.
 */
#include "build.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "config.h"
#include "pubfs.h"
#include "widgetctl.h"

#define CTL_BUILD_MAX	(1024 * 1024)	/* one build record */

/* An integer member, -1 when absent: records number from 1. */
static int64_t
ctl_jint(struct json_object *o, const char *key)
{
	int64_t	 n;

	return ctl_int(o, key, &n) ? n : -1;
}

/* "acme: build 4 (0123456789ab): Failed CODE: message". */
static void
ctl_build_line(FILE *fp, struct json_object *b, const char *tenant)
{
	const char	*commit = ctl_str(b, "commit"), *code;

	if (tenant == NULL)
		tenant = ctl_str(b, "tenant");
	ctl_print_clean(fp, tenant);
	fprintf(fp, ": build %" PRId64, ctl_jint(b, "build") >= 0 ?
	    ctl_jint(b, "build") : ctl_jint(b, "id"));
	if (commit != NULL && *commit != '\0')
		fprintf(fp, " (%.12s)", commit);
	fprintf(fp, ": ");
	ctl_print_clean(fp, ctl_str(b, "state"));
	if ((code = ctl_str(b, "code")) != NULL) {
		fputc(' ', fp);
		ctl_print_clean(fp, code);
	}
	fprintf(fp, ": ");
	ctl_print_clean(fp, ctl_str(b, "message"));
	fputc('\n', fp);
}

/* --- publish ------------------------------------------------------------ */

int
ctl_publish_main(struct ctl_globals *g, int argc, char **argv)
{
	struct json_object	*req, *reply = NULL, *builds, *b, *inc;
	const char		*tenant = NULL, *state;
	size_t			 i;
	int			 ch, rv, failed = 0;

	while ((ch = getopt(argc, argv, "t:")) != -1) {
		switch (ch) {
		case 't':
			tenant = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if ((req = ctl_request_new("publish")) == NULL ||
	    (tenant != NULL && json_object_object_add(req, "tenant",
	    json_object_new_string(tenant)) != 0)) {
		json_object_put(req);
		fprintf(stderr, "widgetctl: out of memory\n");
		return CTL_FAIL;
	}
	rv = ctl_command(g, req, &reply, 0);
	json_object_put(req);
	if (rv != CTL_OK)
		return rv;
	if (json_object_object_get_ex(reply, "builds", &builds) &&
	    json_object_is_type(builds, json_type_array))
		for (i = 0; i < json_object_array_length(builds); i++) {
			b = json_object_array_get_idx(builds, i);
			ctl_build_line(stdout, b, NULL);
			state = ctl_str(b, "state");
			failed |= state == NULL || strcmp(state, "Failed") == 0;
		}
	if (json_object_object_get_ex(reply, "incomplete", &inc) &&
	    json_object_get_boolean(inc)) {
		fprintf(stderr, "widgetctl: publish: not every publisher "
		    "answered in time (see widgetctl builds)\n");
		failed = 1;
	}
	json_object_put(reply);
	return failed ? CTL_FAIL : CTL_OK;
 usage:
	fprintf(stderr, "usage: widgetctl publish [-t tenant]\n");
	return 2;
}

/* --- builds ------------------------------------------------------------- */

static void
ctl_conf_error(const char *msg, void *arg)
{
	fprintf(stderr, "%s\n", msg);
}

/* The newest n records of one tenant, oldest first, into out (an array). */
static int
ctl_builds_read(const struct conf_tenant *t, size_t n, struct json_object *out)
{
	struct pubfs		*fs;
	struct json_object	*o;
	char			**names = NULL, rel[300], *buf;
	size_t			 nn = 0, i, k = 0, len;

	if ((fs = pubfs_attach(t->t_published, (uid_t)-1)) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (pubfs_list(fs, "builds", &names, &nn) == -1) {
		pubfs_close(fs);
		return errno == ENOENT ? 0 : -1;
	}
	/* Zero-padded numbers: name order is build order. */
	for (i = nn; i > 0 && k < n; i--)
		if (strstr(names[i - 1], ".json") != NULL)
			k++;
	for (; i < nn; i++) {
		if (strstr(names[i], ".json") == NULL)
			continue;
		snprintf(rel, sizeof(rel), "builds/%s", names[i]);
		if (pubfs_read(fs, rel, CTL_BUILD_MAX, &buf, &len) == -1)
			continue;
		if ((o = json_tokener_parse(buf)) != NULL &&
		    json_object_is_type(o, json_type_object)) {
			json_object_object_add(o, "tenant",
			    json_object_new_string(t->t_id));
			json_object_array_add(out, o);
		} else
			json_object_put(o);
		free(buf);
	}
	pubfs_list_free(names, nn);
	pubfs_close(fs);
	return 0;
}

static void
ctl_builds_list(FILE *fp, struct json_object *b, const char *key,
    const char *label)
{
	struct json_object	*a;
	size_t			 i;

	if (!json_object_object_get_ex(b, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(a); i++) {
		fprintf(fp, "    %s", label);
		ctl_print_clean(fp, json_object_get_string(json_object_array_get_idx(a,
		    i)));
		fputc('\n', fp);
	}
}

int
ctl_builds_main(struct ctl_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL,	'j' },
		{ NULL,		0,		NULL,	0 }
	};
	struct widgetd_config	*conf;
	struct json_object	*all, *b;
	const char		*tenant = NULL, *path;
	char			 when[32], *end;
	struct tm		 tm;
	time_t			 t;
	size_t			 i, n = 10, found = 0;
	int			 ch, json = 0, verbose = 0, rv = CTL_OK;
	long			 l;

	while ((ch = getopt_long(argc, argv, "n:t:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'n':
			l = strtol(optarg, &end, 10);
			if (*end != '\0' || l < 1 || l > 1000)
				goto usage;
			n = (size_t)l;
			break;
		case 't':
			tenant = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	path = g->g_config != NULL ? g->g_config : SYSCONFDIR "/widgetd.conf";
	if ((conf = config_load(path, ctl_conf_error, NULL)) == NULL) {
		fprintf(stderr, "widgetctl: %s: invalid configuration\n", path);
		return CTL_FAIL;
	}
	all = json_object_new_array();
	for (i = 0; i < conf->c_ntenants; i++) {
		if (tenant != NULL && strcmp(conf->c_tenants[i].t_id,
		    tenant) != 0)
			continue;
		found++;
		if (ctl_builds_read(&conf->c_tenants[i], n, all) == -1) {
			fprintf(stderr, "widgetctl: builds: %s: %s\n",
			    conf->c_tenants[i].t_published, strerror(errno));
			rv = CTL_FAIL;
		}
	}
	if (tenant != NULL && found == 0) {
		fprintf(stderr, "widgetctl: builds: no tenant %s in %s\n",
		    tenant, path);
		rv = CTL_FAIL;
	} else if (json)
		printf("%s\n", json_object_to_json_string_ext(all,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (json_object_array_length(all) == 0)
		printf("no builds\n");
	for (i = 0; !json && i < json_object_array_length(all); i++) {
		b = json_object_array_get_idx(all, i);
		t = (time_t)ctl_jint(b, "finished");
		when[0] = '\0';
		if (t > 0 && localtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), " %Y-%m-%d %H:%M:%S", &tm);
		ctl_build_line(stdout, b, NULL);
		if (verbose || when[0] != '\0') {
			printf("    branch ");
			ctl_print_clean(stdout, ctl_str(b, "branch"));
			printf(",%s%s", when[0] ? " finished" : " in progress",
			    when);
			if (ctl_jint(b, "files") > 0)
				printf(", %" PRId64 " files (%" PRId64
				    " unchanged)", ctl_jint(b, "files"),
				    ctl_jint(b, "reused"));
			if (ctl_str(b, "generation") != NULL &&
			    *ctl_str(b, "generation") != '\0') {
				printf(", generation ");
				ctl_print_clean(stdout, ctl_str(b, "generation"));
			}
			putchar('\n');
		}
		ctl_builds_list(stdout, b, "warnings", "warning: ");
		if (verbose)
			ctl_builds_list(stdout, b, "details", "");
	}
	json_object_put(all);
	config_free(conf);
	return rv;
 usage:
	fprintf(stderr, "usage: widgetctl builds [-v] [-n count] [-t tenant] "
	    "[--json]\n");
	return 2;
}
