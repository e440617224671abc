/*
 * scale-bench — what a request's lookups cost as the configuration grows.
 *
 *	scale-bench [-n lookups]
 *
 * Every request picks its tenant by Host, counts into its connector's
 * metrics row (worker and keeper) and asks the keeper's limits for the
 * connector's entry; the keeper finds each answer's call by id among the
 * calls in flight on a worker's channel.  Each is timed here with 1, 100,
 * 1000 and 4000 tenants, connectors or calls, looking up the last one
 * made, and printed in ns per lookup with the ratio of the largest table
 * to the smallest: a ratio near 1 means a deployment's size does not
 * reach its request path.  CPU time of this process (it has no
 * neighbours to wait for), so a shared machine's other load matters less.
 * Built by every make so that it cannot rot.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "connector.h"
#include "idmap.h"
#include "keeper_limit.h"
#include "metrics.h"

static const int	 sizes[] = { 1, 100, 1000, 4000 };
#define NSIZES		 (int)(sizeof(sizes) / sizeof(sizes[0]))

static double
cpu_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile const void	*sink;

/* A configuration of n tenants with two hosts each and a default one. */
static struct widgetd_config *
many_tenants(int n)
{
	struct widgetd_config	*c;
	char			*text;
	size_t			 len;
	FILE			*f;
	int			 i;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	fputs("listen = ( { address = \"127.0.0.1\"; port = 8080; } );\n"
	    "tenants = (\n", f);
	for (i = 0; i < n; i++)
		fprintf(f, "  { id = \"t%d\"; registry = \"r.json\"; "
		    "store = \"s%d\"; hosts = [\"widgets%d.example.com\", "
		    "\"www.widgets%d.example.com\"]; },\n", i, i, i, i);
	fputs("  { id = \"default\"; registry = \"r.json\"; "
	    "store = \"default\"; }\n);\n", f);
	fclose(f);
	c = config_load_text("/scale-bench/widgetd.conf", text, len, NULL,
	    NULL);
	free(text);
	return c;
}

static double
time_hosts(int n, long lookups)
{
	struct widgetd_config	*c;
	char			 host[64];
	double			 t0, t;
	long			 i;

	if ((c = many_tenants(n)) == NULL) {
		fprintf(stderr, "scale-bench: configuration of %d tenants "
		    "refused\n", n);
		exit(1);
	}
	snprintf(host, sizeof(host), "www.widgets%d.example.com:443", n - 1);
	t0 = cpu_ns();
	for (i = 0; i < lookups; i++)
		sink = config_tenant_for_host(c, host);
	t = (cpu_ns() - t0) / (double)lookups;
	/* what was timed found the right tenant */
	snprintf(host, sizeof(host), "t%d", n - 1);
	if (strcmp(((const struct conf_tenant *)sink)->t_id, host) != 0) {
		fprintf(stderr, "scale-bench: wrong tenant\n");
		exit(1);
	}
	config_free(c);
	return t;
}

static double
time_metrics(int n, long lookups)
{
	struct metrics	*m = metrics_new();
	char		 name[32];
	double		 t0, t;
	long		 i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "connector-%ld", i);
		metrics_status(m, "tenant", name, 200);
	}
	t0 = cpu_ns();
	for (i = 0; i < lookups; i++)
		metrics_status(m, "tenant", name, 200);
	t = (cpu_ns() - t0) / (double)lookups;
	metrics_free(m);
	return t;
}

static void
limit_seen(void *arg, int status, int retry, const char *code,
    const char *detail)
{
	(void)retry;
	(void)code;
	(void)detail;
	*(int *)arg = status;
}

/* An acquire that goes at once, its callback's loop pass, its release. */
static double
time_limits(int n, long lookups)
{
	struct event_base	*base = event_base_new();
	struct klimits		*ks = klimits_new(base, NULL);
	struct klwait		*w;
	struct conn_ext		 e;
	struct timespec		 deadline;
	char			 name[32];
	double			 t0, t;
	long			 i;
	int			 st;

	memset(&e, 0, sizeof(e));
	e.ce_concurrency = 4;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 3600;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "connector-%ld", i);
		w = klimits_acquire(ks, "tenant", name, &e, &deadline,
		    limit_seen, &st);
		event_base_loop(base, EVLOOP_NONBLOCK);
		klimits_release(w);
	}
	t0 = cpu_ns();
	for (i = 0; i < lookups; i++) {
		w = klimits_acquire(ks, "tenant", name, &e, &deadline,
		    limit_seen, &st);
		event_base_loop(base, EVLOOP_NONBLOCK);
		klimits_release(w);
	}
	t = (cpu_ns() - t0) / (double)lookups;
	klimits_free(ks);
	event_base_free(base);
	return t;
}

static double
time_calls(int n, long lookups)
{
	struct idmap	 m;
	double		 t0, t;
	long		 i;

	memset(&m, 0, sizeof(m));
	for (i = 1; i <= n; i++)
		idmap_put(&m, (uint32_t)i * 7919, &m);
	t0 = cpu_ns();
	for (i = 0; i < lookups; i++)
		sink = idmap_get(&m, (uint32_t)n * 7919);
	t = (cpu_ns() - t0) / (double)lookups;
	idmap_clear(&m);
	return t;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char	*name;
		const char	*what;
		double		(*fn)(int, long);
		int		 scale;	/* lookups divided by this */
	} rows[] = {
		{ "tenant by Host", "tenants (2 hosts each)", time_hosts, 1 },
		{ "metrics row", "connectors", time_metrics, 1 },
		{ "keeper limit", "connectors", time_limits, 20 },
		{ "call by id", "calls in flight", time_calls, 1 },
	};
	long	 lookups = 200000;
	double	 t[NSIZES];
	int	 ch, r, k;

	while ((ch = getopt(argc, argv, "n:")) != -1) {
		switch (ch) {
		case 'n':
			lookups = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: scale-bench [-n lookups]\n");
			return 2;
		}
	}
	if (lookups <= 0)
		lookups = 1;
	printf("%-16s %-24s", "lookup", "growing");
	for (k = 0; k < NSIZES; k++)
		printf(" %8d", sizes[k]);
	printf("  ratio %d/%d\n", sizes[NSIZES - 1], sizes[0]);
	for (r = 0; r < (int)(sizeof(rows) / sizeof(rows[0])); r++) {
		printf("%-16s %-24s", rows[r].name, rows[r].what);
		for (k = 0; k < NSIZES; k++) {
			t[k] = rows[r].fn(sizes[k], lookups / rows[r].scale > 0 ?
			    lookups / rows[r].scale : 1);
			printf(" %6.0fns", t[k]);
		}
		printf("  %5.2fx\n", t[NSIZES - 1] / t[0]);
	}
	return 0;
}
