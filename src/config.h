/*
 * config.h — widgetd.conf (libconfig syntax, SPEC §3) as C structures.
 * config.c owns parsing and validation; everyone else reads these.
 */
#ifndef WIDGETD_CONFIG_H
#define WIDGETD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "netpolicy.h"
#include "rowidx.h"

struct conf_listen {
	char		*l_address;
	int		 l_port;
};

struct conf_session {
	char		*s_cookie;
	char		*s_public_key;	/* path to a PEM public key */
	char		*s_issuer;
	char		*s_audience;
};

/* A watched repository (SPEC §10 "Source"). */
struct conf_repo {
	char		*rp_path;	/* absolute; NULL: the tenant has none */
	char		*rp_branch;	/* watched branch, default "main" */
};

/* cors: the origins whose pages may call this tenant (SPEC §5). */
#define CONF_CORS_MAX_ORIGINS	64	/* per tenant */
#define CONF_CORS_MAX_AGE	600	/* s, default Access-Control-Max-Age */
struct conf_cors {
	char	       **co_origins;	/* "scheme://host[:port]", normalised */
	size_t		 co_norigins;
	int		 co_max_age;	/* seconds, 0 to 86400 */
};

#define CONF_TENANT_ID_MAX	64	/* characters of a tenant id */
struct conf_tenant {
	char		*t_id;
	char	       **t_hosts;	/* matched against Host; none: default tenant */
	size_t		 t_nhosts;
	char		*t_registry;	/* absolute path */
	char		*t_store;	/* absolute path */
	struct conf_session t_session;	/* s_public_key NULL: no sessions */
	struct conf_repo t_repo;	/* rp_path NULL: no extensions */
	char		*t_published;	/* state_dir/extensions/<id>: where its
					   publisher writes (always set) */
	struct conf_cors t_cors;	/* no origins: same-origin pages only */
	int		 t_line;	/* where it was declared */
};

struct conf_limits {
	size_t		 request_body;
	size_t		 upstream_body;
	size_t		 header_bytes;
	int		 max_headers;
	int		 connections;
	int		 idle_timeout;	/* seconds */
	int		 header_timeout;/* seconds */
	int		 drain_timeout;	/* seconds, SIGTERM */
	int		 address_connections; /* per client address; 0: none */
	int		 total_connections; /* all workers; 0: none */
	size_t		 body_budget;	/* request bytes a worker buffers */
	int		 worker_connections; /* recycle after; 0: never */
	int		 worker_lifetime; /* seconds, recycle after; 0: never */
	uint64_t	 tmpl_steps;
	size_t		 tmpl_output;
	int		 tmpl_depth;
	double		 client_rate;	/* connector calls a second per
					   client (user, else address); 0 off */
	int		 client_burst;
	int		 instances;	/* widgetds sharing connector rates
					   without redis */
};

struct conf_egress {
	int		 timeout;	/* seconds */
	char		*ca_file;
	struct netpolicy policy;	/* allow_networks, allow_http */
	char	       **resolve;	/* "host:port:address" */
	size_t		 nresolve;
	int		 idle_connections;	/* kept between calls, per
						   keeper and generation */
};

/* The extensions platform's own settings (the "extensions" group). */
struct conf_extensions {
	char	       **x_cdns;	/* trusted CDN hosts, lower case; the
					   scan's allow-list and the CSP's */
	size_t		 x_ncdns;
	int		 x_poll;	/* seconds between looks at a branch */
	size_t		 x_publish_bytes;	/* one publish's files in all */
};

/* The shared redis of connector rates (keeper only). */
#define CONF_REDIS_PREFIX_MAX	64	/* characters of redis.prefix */

struct conf_redis {
	char		*r_address;	/* NULL: none */
	int		 r_port;
	char		*r_prefix;
};

/* W3C trace context. */
struct conf_trace {
	struct netpolicy t_trusted;	/* peers whose traceparent is
					   continued (np_allow) */
	int		 t_upstream;	/* send traceparent upstream */
};

enum conf_access_format {
	CONF_ACCESS_TEXT,
	CONF_ACCESS_JSON
};

struct widgetd_config {
	char		*c_path;	/* the file this came from, absolute */
	struct conf_listen *c_listen;
	size_t		 c_nlisten;
	char		*c_user;
	char		*c_keeper_user;
	char		*c_chroot;
	int		 c_workers;
	int		 c_keepers;	/* secret holders; worker i uses
					   keeper i % c_keepers */
	int		 c_cpu_batch;	/* workers and keepers SCHED_BATCH */
	char		*c_control_socket;
	struct conf_listen c_metrics;	/* l_address NULL: off */
	int		 c_syslog_facility;
	int		 c_access_log;
	int		 c_access_format;	/* enum conf_access_format */
	char		*c_access_file;		/* NULL: the system log */
	struct conf_redis c_redis;
	struct conf_trace c_trace;
	struct conf_limits c_limits;
	struct conf_egress c_egress;
	size_t		 c_cache_memory;
	char		*c_state_dir;	/* published extensions live beneath */
	struct conf_extensions c_ext;
	int		 c_cache_stale_max;	/* s: stale-if-error at most */
	struct conf_tenant *c_tenants;
	size_t		 c_ntenants;
	/*
	 * Host to tenant, for every request: each tenant under the hash of
	 * each of its hosts (fnv1a_lower), built once the configuration is
	 * valid (hosts are then lower case and distinct).
	 */
	struct rowidx	 c_hosts;
	struct rowidx	 c_ids;		/* each tenant under its id's hash */
	size_t		 c_default;	/* the default tenant's index + 1, or 0 */
};


/*
 * Read and validate path.  On failure returns NULL and calls report once per
 * error with "file:line: message" (every error, not only the first; file as
 * given in path).  Missing keys get the defaults of widgetd.conf(5); paths
 * come back absolute (relative ones are taken from path's directory).
 * report may be NULL.  Reads only path (and its @include files).
 */
struct widgetd_config *config_load(const char *path,
		    void (*report)(const char *msg, void *arg), void *arg);
/*
 * The same from path, also returning (malloc'd, *flatlen bytes) the whole
 * configuration as one text, @include files merged: what a generation's
 * snapshot carries to the children.
 */
struct widgetd_config *config_load_flat(const char *path,
		    void (*report)(const char *, void *), void *arg,
		    char **flat, size_t *flatlen);
/*
 * From memory, opening nothing: text is a flattened configuration (it may
 * hold no @include); path names it in messages and anchors relative paths.
 */
struct widgetd_config *config_load_text(const char *path, const char *text,
		    size_t len, void (*report)(const char *, void *), void *arg);
/*
 * user and keeper_user must be two accounts, not two names: the same uid
 * (or the same primary group) would give workers the keeper's files.
 * Looks both up (getpwnam: the parent and widgetctl only, never a
 * sandboxed child); a name that does not exist is left to
 * proc_check_privsep.  -1 after calling report with why.
 */
int		 config_check_accounts(const struct widgetd_config *,
		    void (*report)(const char *, void *), void *arg);
/* Free everything config_load returned; NULL is a no-op. */
void		 config_free(struct widgetd_config *);
/* The tenant of that id, or NULL. */
const struct conf_tenant *config_tenant_by_id(const struct widgetd_config *,
		    const char *id);
/*
 * The tenant a request's Host header selects: port and one trailing dot
 * ignored, case-insensitive, exact match on t_hosts; otherwise the default
 * tenant (no hosts), or NULL when there is none.  host may be NULL (no Host
 * header: the default tenant).
 */
const struct conf_tenant *config_tenant_for_host(const struct widgetd_config *,
		    const char *host);

#endif
