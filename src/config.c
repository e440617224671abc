/*
 * config.c — read widgetd.conf (libconfig syntax, SPEC §3) into struct
 * widgetd_config, validating every key.
 *
 * The file is judged as a whole: every error is reported, each as
 * "file:line: key.path: message", so an operator fixes a broken file in one
 * pass.  The schema is a table per group; a key that no table names is an
 * error wherever it appears, because a misspelt limit that silently keeps
 * its default is worse than a refused start.  Nothing is half-applied: the
 * caller gets a complete configuration or NULL, which is what lets a reload
 * keep the running configuration when the new file is bad.
 *
 * Library code: it reports through the callback and never logs.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "cors.h"
#include "extreg.h"
#include "fnv.h"
#include "scan.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR	"/run"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR	"/var"
#endif

#define CONFIG_KIB	1024LL
#define CONFIG_MIB	(1024LL * 1024)
#define CONFIG_GIB	(1024LL * 1024 * 1024)

/* State of one config_load() call; nothing is global, so loads may nest. */
struct config_ctx {
	const char		*x_path;	/* as given, for messages */
	char			*x_dir;		/* absolute directory of x_path */
	struct widgetd_config	*x_conf;
	void			(*x_report)(const char *, void *);
	void			*x_arg;
	int			 x_nerr;
	/* Tenants by store, for the checks between tenants. */
	struct rowidx		 x_stores;
};

enum config_kind {
	CK_INT,		/* int */
	CK_SIZE,	/* size_t */
	CK_U64,		/* uint64_t */
	CK_BOOL,	/* int, 0 or 1 */
	CK_STRING,	/* char *, non-empty */
	CK_PATH,	/* char *, made absolute against the file's directory */
	CK_FUNC,	/* k_fn does it */
};

#define CK_REQUIRED	0x01

/*
 * One row of a group's schema.  k_off places a scalar into the struct the
 * group fills; k_min/k_max bound integers; CK_FUNC rows parse themselves.
 */
struct config_key {
	const char	*k_name;
	enum config_kind k_kind;
	int		 k_flags;
	long long	 k_min;
	long long	 k_max;
	size_t		 k_off;
	void		(*k_fn)(struct config_ctx *, const config_setting_t *,
			    void *);
};

static void	config_group(struct config_ctx *, const config_setting_t *,
		    const struct config_key *, size_t, void *);
static void	config_do_networks(struct config_ctx *,
		    const config_setting_t *, struct netpolicy *);

/* "listen[0].port", "tenants[1].session.cookie", "" for the root. */
static void
config_keypath(const config_setting_t *s, char *buf, size_t len)
{
	size_t	 n;

	buf[0] = '\0';
	if (s == NULL || config_setting_is_root(s))
		return;
	config_keypath(config_setting_parent(s), buf, len);
	n = strlen(buf);
	if (config_setting_name(s) != NULL)
		snprintf(buf + n, len - n, "%s%s", n > 0 ? "." : "",
		    config_setting_name(s));
	else
		snprintf(buf + n, len - n, "[%d]", config_setting_index(s));
}

static void
config_vreport(struct config_ctx *x, const char *file, int line,
    const char *fmt, va_list ap)
{
	char	 msg[1024], full[1400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", file, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", file, msg);
	x->x_nerr++;
	if (x->x_report != NULL)
		x->x_report(full, x->x_arg);
}

/* An error about setting s: "file:line: key.path: message". */
static void __attribute__((format(printf, 3, 4)))
config_err(struct config_ctx *x, const config_setting_t *s, const char *fmt,
    ...)
{
	va_list		 ap;
	char		 key[512], fmt2[600];
	const char	*file = x->x_path;
	int		 line = 0;

	if (s != NULL) {
		if (config_setting_source_file(s) != NULL)
			file = config_setting_source_file(s);
		line = config_setting_source_line(s);
	}
	config_keypath(s, key, sizeof(key));
	if (key[0] != '\0')
		snprintf(fmt2, sizeof(fmt2), "%s: %s", key, fmt);
	else
		snprintf(fmt2, sizeof(fmt2), "%s", fmt);
	va_start(ap, fmt);
	config_vreport(x, file, line, fmt2, ap);
	va_end(ap);
}

/* An error at the line of s without the key prefix (unknown/missing keys). */
static void __attribute__((format(printf, 3, 4)))
config_err_at(struct config_ctx *x, const config_setting_t *s,
    const char *fmt, ...)
{
	va_list		 ap;
	const char	*file = x->x_path;
	int		 line = 0;

	if (s != NULL) {
		if (config_setting_source_file(s) != NULL)
			file = config_setting_source_file(s);
		line = config_setting_source_line(s);
	}
	va_start(ap, fmt);
	config_vreport(x, file, line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
config_err_at_file(struct config_ctx *x, const char *file, int line,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	config_vreport(x, file, line, fmt, ap);
	va_end(ap);
}

static const char *
config_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

/* Out-of-memory is an error like any other: reported, never a crash. */
static char *
config_strdup(struct config_ctx *x, const config_setting_t *s, const char *v)
{
	char	*p;

	if ((p = strdup(v)) == NULL)
		config_err(x, s, "out of memory");
	return p;
}

/* Replace *dst, freeing a previous value (a default). */
static void
config_set_str(char **dst, char *v)
{
	free(*dst);
	*dst = v;
}

/* A non-empty string: an empty user or path is never what was meant. */
static int
config_get_string(struct config_ctx *x, const config_setting_t *s,
    const char **v)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err(x, s, "expected a string, got %s",
		    config_type_name(s));
		return 0;
	}
	*v = config_setting_get_string(s);
	if (**v == '\0') {
		config_err(x, s, "must not be empty");
		return 0;
	}
	return 1;
}

/*
 * An integer within bounds.  Floats are refused rather than rounded: a
 * "workers = 2.5" is a mistake the operator should hear about.
 */
static int
config_get_int(struct config_ctx *x, const config_setting_t *s,
    long long min, long long max, long long *v)
{
	int	 t = config_setting_type(s);

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		config_err(x, s, "expected an integer, got %s",
		    config_type_name(s));
		return 0;
	}
	*v = config_setting_get_int64(s);
	/* int64 covers both libconfig integer types; bounds fit in int. */
	if (*v < min || *v > max) {
		config_err(x, s, "%lld is out of range (%lld to %lld)", *v,
		    min, max);
		return 0;
	}
	return 1;
}

/* Relative paths are the file's directory's (SPEC §3), not the cwd's. */
static char *
config_abspath(struct config_ctx *x, const config_setting_t *s, const char *v)
{
	char	*p;

	if (v[0] == '/')
		return config_strdup(x, s, v);
	if (asprintf(&p, "%s%s%s", x->x_dir, strcmp(x->x_dir, "/") == 0 ?
	    "" : "/", v) == -1) {
		config_err(x, s, "out of memory");
		return NULL;
	}
	return p;
}

/* One scalar key of the table into base + k_off. */
static void
config_scalar(struct config_ctx *x, const config_setting_t *s,
    const struct config_key *k, void *base)
{
	char		*field = (char *)base + k->k_off;
	const char	*sv;
	long long	 iv;

	switch (k->k_kind) {
	case CK_INT:
		if (config_get_int(x, s, k->k_min, k->k_max, &iv))
			*(int *)(void *)field = (int)iv;
		break;
	case CK_SIZE:
		if (config_get_int(x, s, k->k_min, k->k_max, &iv))
			*(size_t *)(void *)field = (size_t)iv;
		break;
	case CK_U64:
		if (config_get_int(x, s, k->k_min, k->k_max, &iv))
			*(uint64_t *)(void *)field = (uint64_t)iv;
		break;
	case CK_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			config_err(x, s, "expected true or false, got %s",
			    config_type_name(s));
		else
			*(int *)(void *)field = config_setting_get_bool(s);
		break;
	case CK_STRING:
		if (config_get_string(x, s, &sv))
			config_set_str((char **)(void *)field,
			    config_strdup(x, s, sv));
		break;
	case CK_PATH:
		if (config_get_string(x, s, &sv))
			config_set_str((char **)(void *)field,
			    config_abspath(x, s, sv));
		break;
	case CK_FUNC:
		k->k_fn(x, s, base);
		break;
	}
}

/*
 * Walk the members of group g against the table: unknown members and
 * missing required ones are errors, known ones are parsed into base.
 */
static void
config_group(struct config_ctx *x, const config_setting_t *g,
    const struct config_key *keys, size_t nkeys, void *base)
{
	const config_setting_t	*m;
	const char		*name;
	char			 label[512];
	size_t			 i;
	int			 n, j;

	n = config_setting_length(g);
	for (j = 0; j < n; j++) {
		m = config_setting_get_elem(g, j);
		name = config_setting_name(m);
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i].k_name, name) == 0)
				break;
		/* Unknown anywhere is an error: a typo must not keep a default. */
		if (i == nkeys) {
			config_keypath(g, label, sizeof(label));
			if (label[0] == '\0')
				config_err_at(x, m, "unknown key '%s'", name);
			else
				config_err_at(x, m, "unknown key '%s' in '%s'",
				    name, label);
			continue;
		}
		config_scalar(x, m, &keys[i], base);
	}
	/* Required keys are reported at the group's line, or the file's. */
	for (i = 0; i < nkeys; i++) {
		if (!(keys[i].k_flags & CK_REQUIRED) ||
		    config_setting_get_member(g, keys[i].k_name) != NULL)
			continue;
		config_keypath(g, label, sizeof(label));
		if (label[0] == '\0')
			config_err_at(x, NULL, "missing required key '%s'",
			    keys[i].k_name);
		else
			config_err_at(x, g, "missing required key '%s' in '%s'",
			    keys[i].k_name, label);
	}
}

/* A group where one is expected; reports and returns 0 otherwise. */
static int
config_is_group(struct config_ctx *x, const config_setting_t *s)
{
	if (!config_setting_is_group(s)) {
		config_err(x, s, "expected a group { ... }, got %s",
		    config_type_name(s));
		return 0;
	}
	return 1;
}

/* An array [ ] or list ( ) of strings; every element checked. */
static int
config_is_string_list(struct config_ctx *x, const config_setting_t *s)
{
	const config_setting_t	*e;
	int			 i, n, ok = 1;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		config_err(x, s, "expected a list of strings [ \"...\" ], "
		    "got %s", config_type_name(s));
		return 0;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			config_err(x, e, "expected a string, got %s",
			    config_type_name(e));
			ok = 0;
		}
	}
	return ok;
}

/* Numeric IPv4 or IPv6 address (no names: start-up never waits on DNS). */
static int
config_is_ip(const char *s)
{
	unsigned char	 buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/* --- listen, metrics ------------------------------------------------- */

/* listen entries need both keys; metrics has a default port. */
static const struct config_key config_listen_keys[] = {
	{ "address", CK_STRING, CK_REQUIRED, 0, 0,
	    offsetof(struct conf_listen, l_address), NULL },
	{ "port", CK_INT, CK_REQUIRED, 1, 65535,
	    offsetof(struct conf_listen, l_port), NULL },
};

static const struct config_key config_metrics_keys[] = {
	{ "address", CK_STRING, CK_REQUIRED, 0, 0,
	    offsetof(struct conf_listen, l_address), NULL },
	{ "port", CK_INT, 0, 1, 65535,
	    offsetof(struct conf_listen, l_port), NULL },
};

static void
config_listen_one(struct config_ctx *x, const config_setting_t *s,
    const struct config_key *keys, struct conf_listen *l)
{
	const config_setting_t	*a;

	/* Both tables have two keys: address and port. */
	config_group(x, s, keys, 2, l);
	if (l->l_address != NULL && !config_is_ip(l->l_address)) {
		a = config_setting_get_member(s, "address");
		config_err(x, a, "'%s' is not a numeric IPv4 or IPv6 address",
		    l->l_address);
	}
}

/*
 * listen: one or more { address; port; }.  Duplicates are refused here,
 * where the line is known, rather than as EADDRINUSE at bind time.
 */
static void
config_do_listen(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct widgetd_config	*c = base;
	const config_setting_t	*e;
	size_t			 i, j;
	int			 n;

	/* A single group is accepted as a list of one. */
	if (config_setting_is_group(s)) {
		/* "listen = { ... };" is a natural slip for a list of one */
		n = 1;
	} else if (config_setting_is_list(s)) {
		n = config_setting_length(s);
	} else {
		config_err(x, s, "expected a list of groups "
		    "( { address = ...; port = ...; } ), got %s",
		    config_type_name(s));
		return;
	}
	if (n == 0) {
		config_err(x, s, "at least one listener is required");
		return;
	}
	if ((c->c_listen = calloc(n, sizeof(*c->c_listen))) == NULL) {
		config_err(x, s, "out of memory");
		return;
	}
	c->c_nlisten = n;
	for (i = 0; i < c->c_nlisten; i++) {
		e = config_setting_is_group(s) ? s :
		    config_setting_get_elem(s, i);
		if (!config_is_group(x, e))
			continue;
		config_listen_one(x, e, config_listen_keys, &c->c_listen[i]);
		for (j = 0; j < i; j++) {
			if (c->c_listen[i].l_address == NULL ||
			    c->c_listen[j].l_address == NULL)
				continue;
			if (strcmp(c->c_listen[i].l_address,
			    c->c_listen[j].l_address) == 0 &&
			    c->c_listen[i].l_port == c->c_listen[j].l_port)
				config_err(x, e, "%s port %d is listed twice",
				    c->c_listen[i].l_address,
				    c->c_listen[i].l_port);
		}
	}
}

/* metrics: absent means off (c_metrics.l_address stays NULL). */
static void
config_do_metrics(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct widgetd_config	*c = base;

	if (config_is_group(x, s))
		config_listen_one(x, s, config_metrics_keys, &c->c_metrics);
}

/* --- log ------------------------------------------------------------- */

static const struct {
	const char	*f_name;
	int		 f_value;
} config_facilities[] = {
	{ "auth",	LOG_AUTH },
	{ "authpriv",	LOG_AUTHPRIV },
	{ "cron",	LOG_CRON },
	{ "daemon",	LOG_DAEMON },
	{ "ftp",	LOG_FTP },
	{ "lpr",	LOG_LPR },
	{ "mail",	LOG_MAIL },
	{ "news",	LOG_NEWS },
	{ "syslog",	LOG_SYSLOG },
	{ "user",	LOG_USER },
	{ "uucp",	LOG_UUCP },
	{ "local0",	LOG_LOCAL0 },
	{ "local1",	LOG_LOCAL1 },
	{ "local2",	LOG_LOCAL2 },
	{ "local3",	LOG_LOCAL3 },
	{ "local4",	LOG_LOCAL4 },
	{ "local5",	LOG_LOCAL5 },
	{ "local6",	LOG_LOCAL6 },
	{ "local7",	LOG_LOCAL7 },
};

/* Facility names as syslog.conf(5) spells them, case-insensitive. */
static void
config_do_facility(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct widgetd_config	*c = base;
	const char		*v;
	size_t			 i;

	if (!config_get_string(x, s, &v))
		return;
	for (i = 0; i < sizeof(config_facilities) /
	    sizeof(config_facilities[0]); i++) {
		if (strcasecmp(v, config_facilities[i].f_name) == 0) {
			c->c_syslog_facility = config_facilities[i].f_value;
			return;
		}
	}
	config_err(x, s, "unknown syslog facility '%s' (daemon, user, auth, "
	    "authpriv, local0 to local7, ...)", v);
}

static void
config_do_access_format(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct widgetd_config	*c = base;
	const char		*v;

	if (!config_get_string(x, s, &v))
		return;
	if (strcmp(v, "text") == 0)
		c->c_access_format = CONF_ACCESS_TEXT;
	else if (strcmp(v, "json") == 0)
		c->c_access_format = CONF_ACCESS_JSON;
	else
		config_err(x, s, "'%s' is not an access log format (text, "
		    "json)", v);
}

static const struct config_key config_log_keys[] = {
	{ "syslog_facility", CK_FUNC, 0, 0, 0, 0, config_do_facility },
	{ "access_log", CK_BOOL, 0, 0, 0,
	    offsetof(struct widgetd_config, c_access_log), NULL },
	{ "access_format", CK_FUNC, 0, 0, 0, 0, config_do_access_format },
	{ "access_file", CK_PATH, 0, 0, 0,
	    offsetof(struct widgetd_config, c_access_file), NULL },
};

/* --- redis, trace ------------------------------------------------------ */

static const struct config_key config_redis_keys[] = {
	{ "address", CK_STRING, CK_REQUIRED, 0, 0,
	    offsetof(struct conf_redis, r_address), NULL },
	{ "port", CK_INT, 0, 1, 65535,
	    offsetof(struct conf_redis, r_port), NULL },
	{ "prefix", CK_STRING, 0, 0, 0,
	    offsetof(struct conf_redis, r_prefix), NULL },
};

static void
config_do_redis(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct widgetd_config	*c = base;
	const char		*p;

	if (!config_is_group(x, s))
		return;
	config_group(x, s, config_redis_keys, sizeof(config_redis_keys) /
	    sizeof(config_redis_keys[0]), &c->c_redis);
	if (c->c_redis.r_address != NULL && !config_is_ip(c->c_redis.r_address))
		config_err(x, config_setting_get_member(s, "address"), "'%s' is "
		    "not a numeric IPv4 or IPv6 address", c->c_redis.r_address);
	/*
	 * The prefix names keys: nothing that would need quoting, and short
	 * enough that every key of a tenant and connector fits the keeper's
	 * buffers whole (a cut key would be another connector's).
	 */
	if (c->c_redis.r_prefix != NULL &&
	    strlen(c->c_redis.r_prefix) > CONF_REDIS_PREFIX_MAX) {
		config_err(x, config_setting_get_member(s, "prefix"),
		    "longer than %d characters", CONF_REDIS_PREFIX_MAX);
		return;
	}
	for (p = c->c_redis.r_prefix; p != NULL && *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-_.:", *p) == NULL) {
			config_err(x, config_setting_get_member(s, "prefix"),
			    "letters, digits and - _ . : only");
			break;
		}
}

static void
config_do_trusted(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct conf_trace	*t = base;

	config_do_networks(x, s, &t->t_trusted);
}

static const struct config_key config_trace_keys[] = {
	{ "trusted", CK_FUNC, 0, 0, 0, 0, config_do_trusted },
	{ "upstream", CK_BOOL, 0, 0, 0,
	    offsetof(struct conf_trace, t_upstream), NULL },
};

static void
config_do_trace(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct widgetd_config	*c = base;

	if (config_is_group(x, s))
		config_group(x, s, config_trace_keys, 2, &c->c_trace);
}

static void
config_do_log(struct config_ctx *x, const config_setting_t *s, void *base)
{
	if (config_is_group(x, s))
		config_group(x, s, config_log_keys, sizeof(config_log_keys) /
		    sizeof(config_log_keys[0]), base);
}

/* --- limits, cache --------------------------------------------------- */

/*
 * Bounds: low enough to catch a unit mistake (a size in KiB, a timeout in
 * ms), high enough for any real deployment.  Defaults are SPEC §8's and are
 * set in config_defaults().
 */
#define LIM(name, kind, min, max, member) \
	{ name, kind, 0, min, max, offsetof(struct conf_limits, member), NULL }

/* A rate: calls a second, 0 (off) to 100000, fractions allowed. */
static void
config_do_client_rate(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct conf_limits	*l = base;
	double			 d;

	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		d = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT)
		d = config_setting_get_int(s);
	else {
		config_err(x, s, "expected a number, got %s",
		    config_type_name(s));
		return;
	}
	if (d < 0 || d > 100000)
		config_err(x, s, "%g is out of range (0 to 100000)", d);
	else
		l->client_rate = d;
}

static const struct config_key config_limits_keys[] = {
	LIM("request_body", CK_SIZE, 1, CONFIG_GIB, request_body),
	LIM("upstream_body", CK_SIZE, 1, CONFIG_GIB, upstream_body),
	LIM("header_bytes", CK_SIZE, 1024, 16 * CONFIG_MIB, header_bytes),
	LIM("max_headers", CK_INT, 1, 10000, max_headers),
	LIM("connections", CK_INT, 1, 1000000, connections),
	LIM("idle_timeout", CK_INT, 1, 3600, idle_timeout),
	LIM("header_timeout", CK_INT, 1, 3600, header_timeout),
	LIM("drain_timeout", CK_INT, 0, 3600, drain_timeout),
	LIM("address_connections", CK_INT, 0, 1000000, address_connections),
	LIM("total_connections", CK_INT, 0, 10000000, total_connections),
	LIM("body_budget", CK_SIZE, 65536, 64 * CONFIG_GIB, body_budget),
	LIM("worker_connections", CK_INT, 0, 1000000000, worker_connections),
	LIM("worker_lifetime", CK_INT, 0, 31536000, worker_lifetime),
	LIM("template_steps", CK_U64, 1000, 1000000000LL, tmpl_steps),
	LIM("template_output", CK_SIZE, 1024, CONFIG_GIB, tmpl_output),
	LIM("template_depth", CK_INT, 4, 1024, tmpl_depth),
	{ "client_rate", CK_FUNC, 0, 0, 0, 0, config_do_client_rate },
	LIM("client_burst", CK_INT, 1, 1000000, client_burst),
	LIM("instances", CK_INT, 1, 1000, instances),
};

static void
config_do_limits(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct widgetd_config	*c = base;

	if (config_is_group(x, s))
		config_group(x, s, config_limits_keys,
		    sizeof(config_limits_keys) / sizeof(config_limits_keys[0]),
		    &c->c_limits);
}

/* One week: a bound on serving stale answers, not a recommendation. */
static const struct config_key config_cache_keys[] = {
	{ "memory", CK_SIZE, 0, 0, 64 * CONFIG_GIB,
	    offsetof(struct widgetd_config, c_cache_memory), NULL },
	{ "stale_if_error_max", CK_INT, 0, 0, 7 * 86400,
	    offsetof(struct widgetd_config, c_cache_stale_max), NULL },
};

static void
config_do_cache(struct config_ctx *x, const config_setting_t *s, void *base)
{
	if (config_is_group(x, s))
		config_group(x, s, config_cache_keys,
		    sizeof(config_cache_keys) / sizeof(config_cache_keys[0]),
		    base);
}

/* --- egress ---------------------------------------------------------- */

/*
 * allow_networks: each entry parsed by netpolicy_parse_net, so the keeper
 * and the load-time URL check use exactly what was validated here.
 */
static void
config_do_networks(struct config_ctx *x, const config_setting_t *s,
    struct netpolicy *np)
{
	const config_setting_t	*el;
	int			 i, n;

	if (!config_is_string_list(x, s))
		return;
	if ((n = config_setting_length(s)) == 0)
		return;
	if ((np->np_allow = calloc(n, sizeof(*np->np_allow))) == NULL) {
		config_err(x, s, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		el = config_setting_get_elem(s, i);
		if (netpolicy_parse_net(config_setting_get_string(el),
		    &np->np_allow[np->np_nallow]))
			np->np_nallow++;
		else
			config_err(x, el, "'%s' is not a network (want "
			    "address/prefix, e.g. 10.0.0.0/8 or fd00::/8, with "
			    "no bits set past the prefix)",
			    config_setting_get_string(el));
	}
}

static void
config_do_allow_networks(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct conf_egress	*e = base;

	config_do_networks(x, s, &e->policy);
}

/* Characters of a host name as curl --resolve takes it. */
static int
config_is_hostname(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.' && s[i] != '_')
			return 0;
	return 1;
}

/*
 * "host:port:address[,address...]" where an IPv6 address is bracketed,
 * as curl's CURLOPT_RESOLVE takes it.  NULL when valid, else why not.
 */
static const char *
config_check_resolve(const char *v)
{
	const char	*c1, *c2, *a, *end;
	char		 addr[INET6_ADDRSTRLEN + 2], *ep;
	unsigned char	 buf[16];
	size_t		 n;
	long		 port;

	if ((c1 = strchr(v, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL)
		return "want \"host:port:address\"";
	if (!config_is_hostname(v, c1 - v))
		return "bad host name";
	errno = 0;
	port = strtol(c1 + 1, &ep, 10);
	if (ep != c2 || c1 + 1 == c2 || !isdigit((unsigned char)c1[1]) ||
	    port < 1 || port > 65535)
		return "port must be 1 to 65535";
	a = c2 + 1;
	if (*a == '\0')
		return "no address";
	/* curl takes several addresses separated by commas; check each. */
	for (; *a != '\0'; a = *end ? end + 1 : end) {
		if ((end = strchr(a, ',')) == NULL)
			end = a + strlen(a);
		n = end - a;
		if (n >= 2 && a[0] == '[' && a[n - 1] == ']') {
			if (n - 2 >= sizeof(addr))
				return "bad IPv6 address";
			memcpy(addr, a + 1, n - 2);
			addr[n - 2] = '\0';
			if (inet_pton(AF_INET6, addr, buf) != 1)
				return "bad IPv6 address";
		} else {
			if (n >= sizeof(addr))
				return "bad IPv4 address";
			memcpy(addr, a, n);
			addr[n] = '\0';
			if (inet_pton(AF_INET, addr, buf) != 1)
				return strchr(addr, ':') != NULL ?
				    "an IPv6 address must be in brackets" :
				    "bad IPv4 address";
		}
		if (*end == ',' && end[1] == '\0')
			return "empty address after ','";
	}
	return NULL;
}

/*
 * resolve: kept as text for CURLOPT_RESOLVE, but checked now so that a
 * typo is a start-up error and not a silent DNS lookup at run time.
 */
static void
config_do_resolve(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct conf_egress	*e = base;
	const config_setting_t	*el;
	const char		*v, *why;
	int			 i, n;

	if (!config_is_string_list(x, s))
		return;
	if ((n = config_setting_length(s)) == 0)
		return;
	if ((e->resolve = calloc(n, sizeof(*e->resolve))) == NULL) {
		config_err(x, s, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		el = config_setting_get_elem(s, i);
		v = config_setting_get_string(el);
		if ((why = config_check_resolve(v)) != NULL) {
			config_err(x, el, "'%s': %s", v, why);
			continue;
		}
		if ((e->resolve[e->nresolve] = config_strdup(x, el, v)) != NULL)
			e->nresolve++;
	}
}

/* allow_http lives in the policy, next to allow_networks, for the keeper. */
static void
config_do_allow_http(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct conf_egress	*e = base;

	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		config_err(x, s, "expected true or false, got %s",
		    config_type_name(s));
	else
		e->policy.np_allow_http = config_setting_get_bool(s);
}

static const struct config_key config_egress_keys[] = {
	{ "timeout", CK_INT, 0, 1, 300,
	    offsetof(struct conf_egress, timeout), NULL },
	{ "ca_file", CK_PATH, 0, 0, 0,
	    offsetof(struct conf_egress, ca_file), NULL },
	{ "allow_networks", CK_FUNC, 0, 0, 0, 0, config_do_allow_networks },
	{ "allow_http", CK_FUNC, 0, 0, 0, 0, config_do_allow_http },
	{ "resolve", CK_FUNC, 0, 0, 0, 0, config_do_resolve },
	{ "idle_connections", CK_INT, 0, 1, 65536,
	    offsetof(struct conf_egress, idle_connections), NULL },
};

static void
config_do_egress(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct widgetd_config	*c = base;

	if (config_is_group(x, s))
		config_group(x, s, config_egress_keys,
		    sizeof(config_egress_keys) / sizeof(config_egress_keys[0]),
		    &c->c_egress);
}

/* --- tenants --------------------------------------------------------- */

/* RFC 6265 token characters, for the session cookie's name. */
static int
config_is_cookie_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f || strchr("()<>@,;:\\\"/[]?={}",
		    *s) != NULL)
			return 0;
	return 1;
}

static const struct config_key config_session_keys[] = {
	{ "cookie", CK_STRING, 0, 0, 0,
	    offsetof(struct conf_session, s_cookie), NULL },
	{ "public_key", CK_PATH, CK_REQUIRED, 0, 0,
	    offsetof(struct conf_session, s_public_key), NULL },
	{ "issuer", CK_STRING, 0, 0, 0,
	    offsetof(struct conf_session, s_issuer), NULL },
	{ "audience", CK_STRING, 0, 0, 0,
	    offsetof(struct conf_session, s_audience), NULL },
};

/*
 * session: present means tokens are verified, so the key is required;
 * issuer and audience stay NULL (unchecked) unless set.
 */
static void
config_do_session(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct conf_tenant	*t = base;
	struct conf_session	*ss = &t->t_session;

	if (!config_is_group(x, s))
		return;
	if ((ss->s_cookie = config_strdup(x, s, "widget_session")) == NULL)
		return;
	config_group(x, s, config_session_keys, sizeof(config_session_keys) /
	    sizeof(config_session_keys[0]), ss);
	if (ss->s_cookie != NULL && !config_is_cookie_name(ss->s_cookie))
		config_err(x, config_setting_get_member(s, "cookie"),
		    "'%s' is not a valid cookie name", ss->s_cookie);
}

/*
 * A Host to match: a DNS name or an IP literal ([v6] bracketed as in a Host
 * header), without port.  Stored lower case without a trailing dot so that
 * matching is a plain comparison.
 */
static char *
config_host_norm(const char *v, const char **why)
{
	char		*h;
	size_t		 n = strlen(v), i;
	unsigned char	 buf[16];

	*why = NULL;
	if ((h = strdup(v)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (n > 1 && h[n - 1] == '.')
		h[--n] = '\0';
	for (i = 0; i < n; i++)
		h[i] = tolower((unsigned char)h[i]);
	/* IPv6 as in a Host header: bracketed, so ':' can only mean a port. */
	if (h[0] == '[') {
		if (n > 2 && h[n - 1] == ']') {
			h[n - 1] = '\0';
			if (inet_pton(AF_INET6, h + 1, buf) == 1) {
				h[n - 1] = ']';
				return h;
			}
		}
		*why = "bad IPv6 literal";
	} else if (strchr(h, ':') != NULL)
		*why = "no port here (and IPv6 literals go in brackets)";
	else if (!config_is_hostname(h, n))
		*why = "not a host name";
	if (*why != NULL) {
		free(h);
		return NULL;
	}
	return h;
}

/*
 * A list of strings, each normalised by norm (NULL and *why: refused);
 * one listed twice is a typo.  At most max entries.  Every bad entry is
 * reported; the good ones are kept.
 */
static void
config_norm_list(struct config_ctx *x, const config_setting_t *s,
    char *(*norm)(const char *, const char **), int max, char ***out,
    size_t *nout)
{
	const config_setting_t	*el;
	const char		*why;
	char			*h;
	size_t			 j;
	int			 i, n;

	if (!config_is_string_list(x, s))
		return;
	if ((n = config_setting_length(s)) == 0)
		return;
	if (n > max) {
		config_err(x, s, "%d entries; at most %d", n, max);
		return;
	}
	if ((*out = calloc(n, sizeof(**out))) == NULL) {
		config_err(x, s, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		el = config_setting_get_elem(s, i);
		if ((h = norm(config_setting_get_string(el), &why)) == NULL) {
			config_err(x, el, "'%s': %s",
			    config_setting_get_string(el), why);
			continue;
		}
		for (j = 0; j < *nout; j++)
			if (strcmp((*out)[j], h) == 0)
				break;
		if (j < *nout) {
			config_err(x, el, "'%s' is listed twice", h);
			free(h);
			continue;
		}
		(*out)[(*nout)++] = h;
	}
}

/* hosts: normalised, and a host listed twice in one tenant is a typo. */
static void
config_do_hosts(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct conf_tenant	*t = base;

	config_norm_list(x, s, config_host_norm, INT_MAX, &t->t_hosts,
	    &t->t_nhosts);
}

/*
 * A tenant id names directories, log lines and metrics labels, so it is
 * kept to a safe alphabet and length.
 */
static void
config_do_tenant_id(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct conf_tenant	*t = base;
	const char		*v, *p;

	if (!config_get_string(x, s, &v))
		return;
	if (strlen(v) > CONF_TENANT_ID_MAX) {
		config_err(x, s, "longer than %d characters",
		    CONF_TENANT_ID_MAX);
		return;
	}
	for (p = v; *p != '\0'; p++) {
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		    *p == '_' || *p == '-')) {
			config_err(x, s, "'%s' may contain only a-z, 0-9, "
			    "'_' and '-'", v);
			return;
		}
	}
	t->t_id = config_strdup(x, s, v);
}

/* --- repository, extensions (SPEC §10) ----------------------------------- */

/* The branch a publisher watches: platform-docs §24's alphabet. */
static void
config_do_branch(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct conf_repo	*r = base;
	const char		*v;

	if (!config_get_string(x, s, &v))
		return;
	if (!extreg_branch_valid(v)) {
		config_err(x, s, "'%s' is not a branch name (letters, digits "
		    "and / _ - . only, no \"..\", not starting or ending with "
		    "/, at most 255 bytes)", v);
		return;
	}
	config_set_str(&r->rp_branch, config_strdup(x, s, v));
}

static const struct config_key config_repo_keys[] = {
	{ "path", CK_PATH, CK_REQUIRED, 0, 0,
	    offsetof(struct conf_repo, rp_path), NULL },
	{ "branch", CK_FUNC, 0, 0, 0, 0, config_do_branch },
};

static void
config_do_repository(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct conf_tenant	*t = base;

	if (!config_is_group(x, s))
		return;
	config_group(x, s, config_repo_keys, sizeof(config_repo_keys) /
	    sizeof(config_repo_keys[0]), &t->t_repo);
	if (t->t_repo.rp_path != NULL && t->t_repo.rp_branch == NULL)
		t->t_repo.rp_branch = config_strdup(x, s, "main");
}

/*
 * A CDN host: config_host_norm's, and literal, as a CSP host source needs
 * (no IP literal, no '_').
 */
static char *
config_cdn_norm(const char *v, const char **why)
{
	char	*h;

	if ((h = config_host_norm(v, why)) == NULL)
		return NULL;
	if (h[0] == '[' || strchr(h, '_') != NULL) {
		*why = "not a host name";
		free(h);
		return NULL;
	}
	return h;
}

/*
 * trusted_cdns: host names as a URL carries them (no port, no scheme),
 * the scan's allow-list and the CSP's host sources (literal hosts, never
 * a wildcard).  It replaces the default list; an empty list trusts no CDN.
 */
static void
config_do_cdns(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct conf_extensions	*e = base;
	size_t			 i;

	for (i = 0; i < e->x_ncdns; i++)
		free(e->x_cdns[i]);
	free(e->x_cdns);
	e->x_cdns = NULL;
	e->x_ncdns = 0;
	config_norm_list(x, s, config_cdn_norm, 64, &e->x_cdns, &e->x_ncdns);
}

static const struct config_key config_ext_keys[] = {
	{ "trusted_cdns", CK_FUNC, 0, 0, 0, 0, config_do_cdns },
	{ "poll_interval", CK_INT, 0, 1, 3600,
	    offsetof(struct conf_extensions, x_poll), NULL },
	{ "publish_bytes", CK_SIZE, 0, CONFIG_MIB, 192 * CONFIG_MIB,
	    offsetof(struct conf_extensions, x_publish_bytes), NULL },
};

static void
config_do_extensions(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct widgetd_config	*c = base;

	if (!config_is_group(x, s))
		return;
	config_group(x, s, config_ext_keys, sizeof(config_ext_keys) /
	    sizeof(config_ext_keys[0]), &c->c_ext);
}

/*
 * cors.origins: each one exactly as a browser sends Origin, so that
 * matching at request time is a plain comparison (cors.c normalises).
 */
static void
config_do_cors_origins(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct conf_cors	*co = base;

	config_norm_list(x, s, cors_origin_norm, CONF_CORS_MAX_ORIGINS,
	    &co->co_origins, &co->co_norigins);
}

static const struct config_key config_cors_keys[] = {
	{ "origins", CK_FUNC, 0, 0, 0, 0, config_do_cors_origins },
	{ "max_age", CK_INT, 0, 0, 86400,
	    offsetof(struct conf_cors, co_max_age), NULL },
};

static void
config_do_cors(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct conf_tenant	*t = base;

	if (!config_is_group(x, s))
		return;
	config_group(x, s, config_cors_keys, sizeof(config_cors_keys) /
	    sizeof(config_cors_keys[0]), &t->t_cors);
}

static const struct config_key config_tenant_keys[] = {
	{ "id", CK_FUNC, CK_REQUIRED, 0, 0, 0, config_do_tenant_id },
	{ "hosts", CK_FUNC, 0, 0, 0, 0, config_do_hosts },
	{ "registry", CK_PATH, CK_REQUIRED, 0, 0,
	    offsetof(struct conf_tenant, t_registry), NULL },
	{ "store", CK_PATH, CK_REQUIRED, 0, 0,
	    offsetof(struct conf_tenant, t_store), NULL },
	{ "session", CK_FUNC, 0, 0, 0, 0, config_do_session },
	{ "repository", CK_FUNC, 0, 0, 0, 0, config_do_repository },
	{ "cors", CK_FUNC, 0, 0, 0, 0, config_do_cors },
};

/*
 * The tenant before tenant i whose string at field (an offset into struct
 * conf_tenant: t_id, t_store) is key, found through ri; NULL when none,
 * and i is indexed under key.
 */
static const struct conf_tenant *
config_tenant_clash(struct config_ctx *x, struct rowidx *ri, size_t field,
    const char *key, size_t i)
{
	const struct conf_tenant	*o;
	uint64_t			 h = fnv1a_str(FNV1A_INIT, key);
	size_t				 pos = ROWIDX_BEGIN, r;

	while ((r = rowidx_next(ri, h, &pos)) != 0) {
		o = &x->x_conf->c_tenants[r - 1];
		if (strcmp(*(char *const *)((const char *)o + field), key) == 0)
			return o;
	}
	if (rowidx_add(ri, h, i) == -1)
		config_err_at(x, NULL, "out of memory");
	return NULL;
}

/*
 * Cross-tenant rules: unique ids, one default, a host and a store once;
 * each against every tenant before it, through indexes, so that a host
 * with thousands of tenants is checked in time that grows with them, not
 * with their square.  Hosts are lower case by now; their index is the
 * one requests use (config_tenant_for_host).
 */
static void
config_tenant_cross(struct config_ctx *x, const config_setting_t *list,
    size_t i)
{
	struct widgetd_config		*c = x->x_conf;
	struct conf_tenant		*t = &c->c_tenants[i];
	const struct conf_tenant	*o;
	const config_setting_t		*ts = config_setting_get_elem(list, i);
	size_t				 a, b, r, pos;
	uint64_t			 h;

	if (t->t_id != NULL && (o = config_tenant_clash(x, &c->c_ids,
	    offsetof(struct conf_tenant, t_id), t->t_id, i)) != NULL)
		config_err(x, config_setting_get_member(ts, "id"),
		    "duplicate tenant id '%s' (first at line %d)", t->t_id,
		    o->t_line);
	/* Two defaults would make Host matching ambiguous. */
	if (t->t_nhosts == 0) {
		if (c->c_default > 0)
			config_err(x, ts, "a second tenant without hosts; only "
			    "one default tenant is allowed (first at line %d)",
			    c->c_tenants[c->c_default - 1].t_line);
		else
			c->c_default = i + 1;
	}
	for (a = 0; a < t->t_nhosts; a++) {
		h = fnv1a_lower(FNV1A_INIT, t->t_hosts[a],
		    strlen(t->t_hosts[a]));
		pos = ROWIDX_BEGIN;
		while ((r = rowidx_next(&c->c_hosts, h, &pos)) != 0) {
			o = &c->c_tenants[r - 1];
			for (b = 0; b < o->t_nhosts; b++)
				if (strcmp(t->t_hosts[a], o->t_hosts[b]) == 0)
					break;
			if (b < o->t_nhosts && o != t) {
				config_err(x, config_setting_get_member(ts,
				    "hosts"), "host '%s' already belongs to "
				    "tenant '%s'", t->t_hosts[a], o->t_id ?
				    o->t_id : "?");
				break;
			}
		}
		if (rowidx_add(&c->c_hosts, h, i) == -1)
			config_err(x, ts, "out of memory");
	}
	/* Two tenants reading one store would share secrets. */
	if (t->t_store != NULL && (o = config_tenant_clash(x, &x->x_stores,
	    offsetof(struct conf_tenant, t_store), t->t_store, i)) != NULL)
		config_err(x, config_setting_get_member(ts, "store"),
		    "store '%s' is already tenant '%s''s", t->t_store,
		    o->t_id ? o->t_id : "?");
}

/* tenants: a list of groups, each checked alone and against earlier ones. */
static void
config_do_tenants(struct config_ctx *x, const config_setting_t *s, void *base)
{
	struct widgetd_config	*c = base;
	const config_setting_t	*e;
	size_t			 i;
	int			 n;

	if (!config_setting_is_list(s)) {
		config_err(x, s, "expected a list of groups ( { id = ...; } ), "
		    "got %s", config_type_name(s));
		return;
	}
	if ((n = config_setting_length(s)) == 0) {
		config_err(x, s, "at least one tenant is required");
		return;
	}
	if ((c->c_tenants = calloc(n, sizeof(*c->c_tenants))) == NULL) {
		config_err(x, s, "out of memory");
		return;
	}
	c->c_ntenants = n;
	for (i = 0; i < c->c_ntenants; i++) {
		e = config_setting_get_elem(s, i);
		c->c_tenants[i].t_line = config_setting_source_line(e);
		c->c_tenants[i].t_cors.co_max_age = CONF_CORS_MAX_AGE;
		if (!config_is_group(x, e))
			continue;
		config_group(x, e, config_tenant_keys,
		    sizeof(config_tenant_keys) / sizeof(config_tenant_keys[0]),
		    &c->c_tenants[i]);
		config_tenant_cross(x, s, i);
	}
}

/* --- top level ------------------------------------------------------- */

/*
 * cpu_scheduling: the policy workers and keepers ask for, in the words of
 * systemd's CPUSchedulingPolicy= (only the two an unprivileged process may
 * choose for itself and that keep its nice value).
 */
static void
config_do_cpu_scheduling(struct config_ctx *x, const config_setting_t *s,
    void *base)
{
	struct widgetd_config	*c = base;
	const char		*v;

	if (!config_get_string(x, s, &v))
		return;
	if (strcmp(v, "batch") == 0)
		c->c_cpu_batch = 1;
	else if (strcmp(v, "other") == 0)
		c->c_cpu_batch = 0;
	else
		config_err(x, s, "'%s' is not a scheduling policy widgetd "
		    "sets (batch or other)", v);
}

/* The top level.  listen and tenants have no sensible default. */
static const struct config_key config_root_keys[] = {
	{ "listen", CK_FUNC, CK_REQUIRED, 0, 0, 0, config_do_listen },
	{ "user", CK_STRING, 0, 0, 0,
	    offsetof(struct widgetd_config, c_user), NULL },
	{ "keeper_user", CK_STRING, 0, 0, 0,
	    offsetof(struct widgetd_config, c_keeper_user), NULL },
	{ "chroot", CK_PATH, 0, 0, 0,
	    offsetof(struct widgetd_config, c_chroot), NULL },
	{ "workers", CK_INT, 0, 1, 256,
	    offsetof(struct widgetd_config, c_workers), NULL },
	{ "keepers", CK_INT, 0, 1, 64,
	    offsetof(struct widgetd_config, c_keepers), NULL },
	{ "cpu_scheduling", CK_FUNC, 0, 0, 0, 0, config_do_cpu_scheduling },
	{ "control_socket", CK_PATH, 0, 0, 0,
	    offsetof(struct widgetd_config, c_control_socket), NULL },
	{ "metrics", CK_FUNC, 0, 0, 0, 0, config_do_metrics },
	{ "log", CK_FUNC, 0, 0, 0, 0, config_do_log },
	{ "limits", CK_FUNC, 0, 0, 0, 0, config_do_limits },
	{ "egress", CK_FUNC, 0, 0, 0, 0, config_do_egress },
	{ "cache", CK_FUNC, 0, 0, 0, 0, config_do_cache },
	{ "state_dir", CK_PATH, 0, 0, 0,
	    offsetof(struct widgetd_config, c_state_dir), NULL },
	{ "extensions", CK_FUNC, 0, 0, 0, 0, config_do_extensions },
	{ "redis", CK_FUNC, 0, 0, 0, 0, config_do_redis },
	{ "trace", CK_FUNC, 0, 0, 0, 0, config_do_trace },
	{ "tenants", CK_FUNC, CK_REQUIRED, 0, 0, 0, config_do_tenants },
};

/* Defaults of widgetd.conf(5), before the file is read over them. */
static int
config_defaults(struct widgetd_config *c)
{
	size_t	 i, n;

	/*
	 * 0: one worker per CPU, counted by the parent when it starts them
	 * (not here: a sandboxed child loading a snapshot cannot ask).
	 */
	c->c_workers = 0;
	c->c_keepers = 1;
	c->c_cpu_batch = 1;
	c->c_syslog_facility = LOG_DAEMON;
	c->c_access_log = 1;
	c->c_metrics.l_port = 9464;
	c->c_cache_memory = 64 * CONFIG_MIB;
	c->c_cache_stale_max = 86400;

	c->c_limits.request_body = CONFIG_MIB;
	c->c_limits.upstream_body = 10 * CONFIG_MIB;
	c->c_limits.header_bytes = 64 * CONFIG_KIB;
	c->c_limits.max_headers = 100;
	c->c_limits.connections = 10000;
	c->c_limits.idle_timeout = 60;
	c->c_limits.header_timeout = 10;
	c->c_limits.drain_timeout = 30;
	c->c_limits.address_connections = 256;
	c->c_limits.total_connections = 100000;
	c->c_limits.body_budget = 64 * CONFIG_MIB;
	c->c_limits.tmpl_steps = 1000000;
	c->c_limits.tmpl_output = 4 * CONFIG_MIB;
	c->c_limits.tmpl_depth = 64;
	c->c_limits.client_rate = 0;
	c->c_limits.client_burst = 0;
	c->c_limits.instances = 1;
	c->c_redis.r_port = 6379;
	c->c_trace.t_upstream = 1;

	c->c_egress.timeout = 15;
	c->c_egress.idle_connections = 1024;

	c->c_ext.x_poll = 2;
	c->c_ext.x_publish_bytes = 64 * CONFIG_MIB;
	for (n = 0; scan_default_cdns[n] != NULL; n++)
		;
	if ((c->c_ext.x_cdns = calloc(n + 1, sizeof(char *))) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if ((c->c_ext.x_cdns[i] = strdup(scan_default_cdns[i])) == NULL)
			return 0;
		c->c_ext.x_ncdns++;
	}

	if ((c->c_user = strdup("widgetd")) == NULL ||
	    (c->c_keeper_user = strdup("widgetd-keeper")) == NULL ||
	    (c->c_chroot = strdup("/var/empty")) == NULL ||
	    (c->c_control_socket = strdup(RUNSTATEDIR
	    "/widgetd/control.sock")) == NULL ||
	    (c->c_egress.ca_file =
	    strdup("/etc/ssl/certs/ca-certificates.crt")) == NULL ||
	    (c->c_state_dir = strdup(LOCALSTATEDIR "/lib/widgetd")) == NULL ||
	    (c->c_redis.r_prefix = strdup("widgetd")) == NULL)
		return 0;
	return 1;
}

int
config_check_accounts(const struct widgetd_config *c,
    void (*report)(const char *, void *), void *arg)
{
	struct passwd	*pw;
	char		 msg[512];
	uid_t		 uid;
	gid_t		 gid;

	if (c->c_user == NULL || c->c_keeper_user == NULL ||
	    (pw = getpwnam(c->c_user)) == NULL)
		return 0;
	/* getpwnam's result is overwritten by the next call. */
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if ((pw = getpwnam(c->c_keeper_user)) == NULL)
		return 0;
	if (pw->pw_uid == uid)
		snprintf(msg, sizeof(msg), "%s: user \"%s\" and keeper_user "
		    "\"%s\" are one account (uid %lu): workers would own the "
		    "keeper's files", c->c_path, c->c_user, c->c_keeper_user,
		    (unsigned long)uid);
	else if (pw->pw_gid == gid)
		snprintf(msg, sizeof(msg), "%s: user \"%s\" and keeper_user "
		    "\"%s\" share their group (gid %lu): workers would read "
		    "what the keeper makes group-readable", c->c_path,
		    c->c_user, c->c_keeper_user, (unsigned long)gid);
	else
		return 0;
	if (report != NULL)
		report(msg, arg);
	return -1;
}

/* Rules that span keys, checked once everything is read. */
static void
config_cross(struct config_ctx *x, const config_t *cf)
{
	struct widgetd_config	*c = x->x_conf;
	const config_setting_t	*root = config_root_setting(cf), *s;
	struct sockaddr_un	 sun;
	size_t			 i;

	/* The point of the keeper is that workers cannot read its files. */
	if (c->c_user != NULL && c->c_keeper_user != NULL &&
	    strcmp(c->c_user, c->c_keeper_user) == 0) {
		s = config_setting_get_member(root, "keeper_user");
		if (s == NULL)
			s = config_setting_get_member(root, "user");
		config_err(x, s, "user and keeper_user must differ (both "
		    "'%s')", c->c_user);
	}
	/* sun_path is fixed-size; a truncated path would bind elsewhere. */
	if (c->c_control_socket != NULL &&
	    strlen(c->c_control_socket) >= sizeof(sun.sun_path))
		config_err(x, config_setting_get_member(root, "control_socket"),
		    "longer than %zu bytes", sizeof(sun.sun_path) - 1);
	/* Metrics on a listener's port would shadow it at bind time. */
	if (c->c_metrics.l_address != NULL) {
		for (i = 0; i < c->c_nlisten; i++) {
			if (c->c_listen[i].l_address == NULL ||
			    strcmp(c->c_listen[i].l_address,
			    c->c_metrics.l_address) != 0 ||
			    c->c_listen[i].l_port != c->c_metrics.l_port)
				continue;
			config_err(x, config_setting_get_member(root,
			    "metrics"), "%s port %d is also a listener",
			    c->c_metrics.l_address, c->c_metrics.l_port);
		}
	}
	/*
	 * Each tenant's published directory, named once here so that the
	 * parent, the publisher, widgetctl builds and the snapshot agree.
	 */
	for (i = 0; c->c_state_dir != NULL && i < c->c_ntenants; i++) {
		if (c->c_tenants[i].t_id == NULL)
			continue;
		if (asprintf(&c->c_tenants[i].t_published, "%s/extensions/%s",
		    c->c_state_dir, c->c_tenants[i].t_id) == -1) {
			c->c_tenants[i].t_published = NULL;
			config_err_at(x, NULL, "out of memory");
		}
	}
}

/*
 * libconfig 1.5 silently truncates a decimal or hex integer that does not
 * fit in 32 bits unless it carries the "L" suffix: upstream_body =
 * 5000000000 would become 705032704.  Scan the text first (outside strings
 * and comments) and refuse such numbers, so no limit is silently wrong.
 * Files pulled in with @include are not scanned.
 */
static void
config_prescan(struct config_ctx *x, FILE *fp)
{
	char		 tok[64];
	int		 ch, prev = '\n', prev2 = '\n', line = 1, n, neg;
	unsigned long long v;
	char		*ep;

	while ((ch = getc(fp)) != EOF) {
		if (ch == '\n')
			line++;
		if (ch == '"') {
			/* a string: skip to its closing quote */
			while ((ch = getc(fp)) != EOF && ch != '"') {
				if (ch == '\n')
					line++;
				if (ch == '\\' && (ch = getc(fp)) == '\n')
					line++;
			}
			prev = '"';
			continue;
		}
		if (ch == '#' || (ch == '/' && prev == '/')) {
			while ((ch = getc(fp)) != EOF && ch != '\n')
				;
			line++;
			prev = '\n';
			continue;
		}
		if (ch == '*' && prev == '/') {
			for (prev = 0; (ch = getc(fp)) != EOF; prev = ch) {
				if (ch == '\n')
					line++;
				if (ch == '/' && prev == '*')
					break;
			}
			prev = ' ';
			continue;
		}
		/* a number starts at a digit not inside a name or a float */
		if (!isdigit(ch) || isalnum(prev) || prev == '_' ||
		    prev == '.' || ((prev == '+' || prev == '-') &&
		    (prev2 == 'e' || prev2 == 'E'))) {
			prev2 = prev;
			prev = ch;
			continue;
		}
		neg = prev == '-';
		n = 0;
		do {
			if (n < (int)sizeof(tok) - 1)
				tok[n++] = ch;
		} while ((ch = getc(fp)) != EOF && (isxdigit(ch) || ch == 'x' ||
		    ch == 'X'));
		tok[n] = '\0';
		/* the character after the number is scanned as usual */
		if (ch != EOF)
			ungetc(ch, fp);
		prev2 = 0;
		prev = '0';
		if (ch == '.' || ch == 'L' || ch == 'l' || strchr(tok, 'e') ||
		    strchr(tok, 'E')) {
			/* a float, or an int64 already; hex 0x..e.. is rare */
			if (tok[0] != '0' || (tok[1] != 'x' && tok[1] != 'X'))
				continue;
			if (ch == 'L' || ch == 'l')
				continue;
		}
		errno = 0;
		v = strtoull(tok, &ep, 0);
		if (*ep != '\0')
			continue;
		if (errno == ERANGE || v > (neg ? 2147483648ULL : 2147483647ULL))
			config_err_at_file(x, x->x_path, line,
			    "integer %s%s does not fit in 32 bits; write %s%sL",
			    neg ? "-" : "", tok, neg ? "-" : "", tok);
	}
}

/* libconfig stops at the first syntax error; it has a file and a line. */
static void
config_report_syntax(struct config_ctx *x, const config_t *cf)
{
	const char	*ef = config_error_file(cf);

	if (ef == NULL)
		ef = x->x_path;
	config_err_at_file(x, ef, config_error_type(cf) == CONFIG_ERR_FILE_IO ?
	    0 : config_error_line(cf), "%s", config_error_text(cf));
}

/* The absolute directory of path, against the cwd when path is relative. */
static char *
config_dirname(const char *path)
{
	char		*dir, *cwd = NULL, *slash;
	const char	*base;

	if (path[0] != '/') {
		if ((cwd = getcwd(NULL, 0)) == NULL)
			return NULL;
		if (asprintf(&dir, "%s/%s", cwd, path) == -1)
			dir = NULL;
		free(cwd);
	} else
		dir = strdup(path);
	if (dir == NULL)
		return NULL;
	slash = strrchr(dir, '/');
	base = slash == dir ? "/" : NULL;
	if (base != NULL)
		dir[1] = '\0';
	else
		*slash = '\0';
	return dir;
}

/*
 * Parse, then validate the whole tree; errors only accumulate, so the
 * caller sees all of them.  The result is all or nothing.  The text comes
 * from path itself, or (text != NULL) from memory: a child loading its
 * generation's snapshot opens nothing, and path then only names the file
 * for messages and anchors relative paths.  flat, when not NULL, receives
 * the whole tree as libconfig writes it, @include files merged in: the
 * text a snapshot carries.
 */
static struct widgetd_config *
config_load_common(const char *path, const char *text, size_t textlen,
    void (*report)(const char *, void *), void *arg, char **flat,
    size_t *flatlen)
{
	struct config_ctx	 x;
	struct widgetd_config	*c = NULL;
	config_t		 cf;
	FILE			*fp = NULL;
	const char		*base;
	char			*copy = NULL;

	memset(&x, 0, sizeof(x));
	x.x_path = path;
	x.x_report = report;
	x.x_arg = arg;
	config_init(&cf);

	/* Open it ourselves first: libconfig's I/O error hides errno. */
	if (text == NULL)
		fp = fopen(path, "r");
	else if ((copy = strndup(text, textlen)) != NULL)
		fp = fmemopen(copy, strlen(copy), "r");
	if (fp == NULL) {
		config_err_at(&x, NULL, "%s", strerror(errno));
		goto out;
	}
	if ((x.x_dir = config_dirname(path)) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL || !config_defaults(c)) {
		config_err_at(&x, NULL, "out of memory");
		goto out;
	}
	x.x_conf = c;
	/* c_path absolute: a reload after chdir("/") still finds it. */
	base = strrchr(path, '/');
	if (asprintf(&c->c_path, "%s%s%s", x.x_dir,
	    strcmp(x.x_dir, "/") == 0 ? "" : "/",
	    base != NULL ? base + 1 : path) == -1) {
		c->c_path = NULL;
		config_err_at(&x, NULL, "out of memory");
		goto out;
	}

	config_set_include_dir(&cf, x.x_dir);
	/* The prescan reports into the same list; parsing still goes on. */
	config_prescan(&x, fp);
	if ((text == NULL ? config_read_file(&cf, path) :
	    config_read_string(&cf, copy)) != CONFIG_TRUE) {
		config_report_syntax(&x, &cf);
		goto out;
	}
	config_group(&x, config_root_setting(&cf), config_root_keys,
	    sizeof(config_root_keys) / sizeof(config_root_keys[0]), c);
	config_cross(&x, &cf);
	if (x.x_nerr == 0 && flat != NULL) {
		FILE	*mf;

		*flat = NULL;
		if ((mf = open_memstream(flat, flatlen)) == NULL) {
			config_err_at(&x, NULL, "out of memory");
			goto out;
		}
		config_write(&cf, mf);
		if (fclose(mf) != 0) {
			free(*flat);
			*flat = NULL;
			config_err_at(&x, NULL, "out of memory");
		}
	}
out:
	if (fp != NULL)
		fclose(fp);
	free(copy);
	config_destroy(&cf);
	free(x.x_dir);
	rowidx_clear(&x.x_stores);
	/* Any error at all: the caller keeps its running configuration. */
	if (x.x_nerr > 0) {
		config_free(c);
		c = NULL;
	}
	return c;
}

struct widgetd_config *
config_load(const char *path, void (*report)(const char *, void *), void *arg)
{
	return config_load_common(path, NULL, 0, report, arg, NULL, NULL);
}

struct widgetd_config *
config_load_flat(const char *path, void (*report)(const char *, void *),
    void *arg, char **flat, size_t *flatlen)
{
	return config_load_common(path, NULL, 0, report, arg, flat, flatlen);
}

struct widgetd_config *
config_load_text(const char *path, const char *text, size_t len,
    void (*report)(const char *, void *), void *arg)
{
	return config_load_common(path, text, len, report, arg, NULL, NULL);
}

static void
config_session_clear(struct conf_session *s)
{
	free(s->s_cookie);
	free(s->s_public_key);
	free(s->s_issuer);
	free(s->s_audience);
}

/* Everything config_load allocated, in one place. */
void
config_free(struct widgetd_config *c)
{
	size_t	 i, j;

	if (c == NULL)
		return;
	rowidx_clear(&c->c_hosts);
	rowidx_clear(&c->c_ids);
	free(c->c_path);
	for (i = 0; i < c->c_nlisten; i++)
		free(c->c_listen[i].l_address);
	free(c->c_listen);
	free(c->c_user);
	free(c->c_keeper_user);
	free(c->c_chroot);
	free(c->c_control_socket);
	free(c->c_metrics.l_address);
	free(c->c_access_file);
	free(c->c_redis.r_address);
	free(c->c_redis.r_prefix);
	netpolicy_clear(&c->c_trace.t_trusted);
	free(c->c_egress.ca_file);
	free(c->c_state_dir);
	for (i = 0; i < c->c_ext.x_ncdns; i++)
		free(c->c_ext.x_cdns[i]);
	free(c->c_ext.x_cdns);
	netpolicy_clear(&c->c_egress.policy);
	for (i = 0; i < c->c_egress.nresolve; i++)
		free(c->c_egress.resolve[i]);
	free(c->c_egress.resolve);
	for (i = 0; i < c->c_ntenants; i++) {
		free(c->c_tenants[i].t_id);
		for (j = 0; j < c->c_tenants[i].t_nhosts; j++)
			free(c->c_tenants[i].t_hosts[j]);
		free(c->c_tenants[i].t_hosts);
		free(c->c_tenants[i].t_registry);
		free(c->c_tenants[i].t_store);
		config_session_clear(&c->c_tenants[i].t_session);
		free(c->c_tenants[i].t_repo.rp_path);
		free(c->c_tenants[i].t_repo.rp_branch);
		free(c->c_tenants[i].t_published);
		for (j = 0; j < c->c_tenants[i].t_cors.co_norigins; j++)
			free(c->c_tenants[i].t_cors.co_origins[j]);
		free(c->c_tenants[i].t_cors.co_origins);
	}
	free(c->c_tenants);
	free(c);
}

/*
 * The tenant a request's Host header names: the port and one trailing dot
 * are ignored, case does not matter; no match is the default tenant (the one
 * without hosts), or NULL when there is none.
 */
/* The bytes of host that name it: no port, no brackets' port, no final dot. */
static size_t
config_host_extent(const char *host)
{
	const char	*end;
	size_t		 n;

	if (host[0] == '[')
		end = strchr(host, ']') ? strchr(host, ']') + 1 :
		    host + strlen(host);
	else if ((end = strchr(host, ':')) == NULL)
		end = host + strlen(host);
	n = end - host;
	if (n > 1 && host[n - 1] == '.')
		n--;
	return n;
}

const struct conf_tenant *
config_tenant_by_id(const struct widgetd_config *c, const char *id)
{
	const struct conf_tenant	*t;
	uint64_t			 h = fnv1a_str(FNV1A_INIT, id);
	size_t				 pos = ROWIDX_BEGIN, r;

	while ((r = rowidx_next(&c->c_ids, h, &pos)) != 0) {
		t = &c->c_tenants[r - 1];
		if (strcmp(t->t_id, id) == 0)
			return t;
	}
	return NULL;
}

const struct conf_tenant *
config_tenant_for_host(const struct widgetd_config *c, const char *host)
{
	const struct conf_tenant	*t;
	size_t				 n, pos = ROWIDX_BEGIN, i, j;
	uint64_t			 h;

	if (host != NULL) {
		n = config_host_extent(host);
		h = fnv1a_lower(FNV1A_INIT, host, n);
		while ((i = rowidx_next(&c->c_hosts, h, &pos)) != 0) {
			t = &c->c_tenants[i - 1];
			for (j = 0; j < t->t_nhosts; j++)
				if (strlen(t->t_hosts[j]) == n &&
				    strncasecmp(t->t_hosts[j], host, n) == 0)
					return t;
		}
	}
	return c->c_default > 0 ? &c->c_tenants[c->c_default - 1] : NULL;
}
