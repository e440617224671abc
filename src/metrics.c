/*
 * metrics.c — per-process counters, their transfer to the parent and the
 * Prometheus text exposition format (metrics.h).
 *
 * Names follow the Prometheus conventions: a widgetd_ prefix, _total on
 * counters, base units (_seconds, _bytes).  Labels are the tenant id and
 * the connector's permalink, both slugs the loaders checked, and the
 * status; each series count is bounded (metrics.h), so a client can never
 * make new series appear by what it sends.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "fnv.h"
#include "ipc.h"
#include "metrics.h"
#include "version.h"

const double metrics_buckets[METRICS_NBUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15
};

/* Each row field as a counter family: name, help. */
static const struct {
	const char	*mn_name;
	const char	*mn_help;
} metrics_fields[MF__COUNT] = {
	[MF_CACHE_HITS] = { "widgetd_cache_hits_total",
	    "Answers served from the response cache." },
	[MF_CACHE_MISSES] = { "widgetd_cache_misses_total",
	    "Cache lookups that found no usable entry." },
	[MF_CACHE_REVALIDATIONS] = { "widgetd_cache_revalidations_total",
	    "Cache entries refreshed by a 304 from the upstream." },
	[MF_CACHE_STALE] = { "widgetd_cache_stale_total",
	    "Stale cache entries served." },
	[MF_UPSTREAM_REQUESTS] = { "widgetd_upstream_requests_total",
	    "Requests sent to upstreams, retries included." },
	[MF_UPSTREAM_ERRORS] = { "widgetd_upstream_errors_total",
	    "Upstream requests that got no HTTP answer (network, TLS, "
	    "timeout, policy)." },
	[MF_UPSTREAM_RETRIES] = { "widgetd_upstream_retries_total",
	    "Upstream requests that were retries." },
	[MF_UPSTREAM_CONNECTS] = { "widgetd_upstream_new_connections_total",
	    "Upstream requests answered over a connection opened for them "
	    "(none kept from an earlier call could carry them)." },
	[MF_TOKEN_FETCHES] = { "widgetd_token_fetches_total",
	    "OAuth token requests." },
	[MF_TOKEN_FAILURES] = { "widgetd_token_fetch_failures_total",
	    "OAuth token requests that failed." },
	[MF_REDACTIONS] = { "widgetd_redactions_total",
	    "Secret-derived strings replaced in upstream answers." },
	[MF_LIMIT_CLIENT] = { NULL, NULL },	/* in ratelimit_refusals */
	[MF_LIMIT_RATE] = { NULL, NULL },
	[MF_LIMIT_CONCURRENCY] = { NULL, NULL },
	[MF_LIMIT_UPSTREAM] = { NULL, NULL },
};

/* The refusal fields, by their "limit" label. */
static const struct {
	enum metrics_field	 ml_field;
	const char		*ml_label;
} metrics_limits[] = {
	{ MF_LIMIT_CLIENT, "client" },
	{ MF_LIMIT_RATE, "upstream_rate" },
	{ MF_LIMIT_CONCURRENCY, "upstream_concurrency" },
	{ MF_LIMIT_UPSTREAM, "upstream_retry_after" },
};

static const struct {
	const char	*mn_name;
	const char	*mn_help;
	int		 mn_gauge;
} metrics_globals[MG__COUNT] = {
	[MG_CACHE_EVICTIONS] = { "widgetd_cache_evictions_total",
	    "Cache entries dropped to stay within cache.memory.", 0 },
	[MG_CACHE_BYTES] = { "widgetd_cache_bytes",
	    "Memory held by cached responses, all workers.", 1 },
	[MG_CACHE_ENTRIES] = { "widgetd_cache_entries",
	    "Cached responses, all workers.", 1 },
	[MG_KEEPER_QUEUE] = { "widgetd_keeper_queue_depth",
	    "Upstream calls waiting for a connector's limit, all keepers.", 1 },
	[MG_KEEPER_INFLIGHT] = { "widgetd_keeper_calls_in_flight",
	    "Calls the keepers are serving.", 1 },
	[MG_REDIS_UP] = { "widgetd_redis_up",
	    "Keepers connected to the shared redis.", 1 },
	[MG_REDIS_ERRORS] = { "widgetd_redis_errors_total",
	    "Redis commands that failed (the local limit applied instead).",
	    0 },
	[MG_UPSTREAM_IDLE] = { "widgetd_upstream_idle_connections",
	    "Upstream connections the keepers keep open between calls.", 1 },
};

int
metrics_global_is_gauge(enum metrics_global g)
{
	return g < MG__COUNT && metrics_globals[g].mn_gauge;
}

struct metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_clear(struct metrics *m)
{
	uint64_t	 clears;
	size_t		 i;

	for (i = 0; i < m->m_nrows; i++) {
		free(m->m_rows[i].mr_tenant);
		free(m->m_rows[i].mr_connector);
	}
	free(m->m_rows);
	rowidx_clear(&m->m_idx);
	clears = m->m_clears + 1;
	memset(m, 0, sizeof(*m));
	m->m_clears = clears;	/* every slot found before is stale */
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	metrics_clear(m);
	free(m);
}

/* The row named so, or NULL. */
static struct metrics_row *
metrics_find(const struct metrics *m, const char *tenant,
    const char *connector, uint64_t h)
{
	struct metrics_row	*r;
	size_t			 pos = ROWIDX_BEGIN, i;

	while ((i = rowidx_next(&m->m_idx, h, &pos)) != 0) {
		r = &m->m_rows[i - 1];
		if (strcmp(r->mr_connector, connector) == 0 &&
		    strcmp(r->mr_tenant, tenant) == 0)
			return r;
	}
	return NULL;
}

static struct metrics_row *
metrics_row_new(struct metrics *m, const char *tenant, const char *connector,
    uint64_t h)
{
	struct metrics_row	*r;
	size_t			 cap;

	if (m->m_nrows == m->m_cap) {
		cap = m->m_cap ? m->m_cap * 2 : 16;
		if ((r = reallocarray(m->m_rows, cap, sizeof(*r))) == NULL)
			return NULL;
		m->m_rows = r;
		m->m_cap = cap;
	}
	r = &m->m_rows[m->m_nrows];
	memset(r, 0, sizeof(*r));
	if ((r->mr_tenant = strdup(tenant)) == NULL ||
	    (r->mr_connector = strdup(connector)) == NULL ||
	    rowidx_add(&m->m_idx, h, m->m_nrows) == -1) {
		free(r->mr_tenant);
		free(r->mr_connector);
		return NULL;
	}
	m->m_nrows++;
	return r;
}

struct metrics_row *
metrics_row(struct metrics *m, const char *tenant, const char *connector)
{
	struct metrics_row	*r;
	uint64_t		 h;

	if (tenant == NULL)
		tenant = "-";
	if (connector == NULL)
		connector = "-";
	h = fnv1a_pair(tenant, connector);
	if ((r = metrics_find(m, tenant, connector, h)) != NULL)
		return r;
	if (m->m_nrows >= METRICS_MAX_ROWS - 1) {
		tenant = connector = METRICS_OTHER;
		h = fnv1a_pair(tenant, connector);
		if ((r = metrics_find(m, tenant, connector, h)) != NULL)
			return r;
	}
	return metrics_row_new(m, tenant, connector, h);
}

struct metrics_row *
metrics_row_slot(struct metrics *m, const char *tenant, const char *connector,
    struct metrics_slot *s)
{
	struct metrics_row	*r;

	if (s->ms_row != 0 && s->ms_clears == m->m_clears &&
	    s->ms_row <= m->m_nrows)
		return &m->m_rows[s->ms_row - 1];
	if ((r = metrics_row(m, tenant, connector)) != NULL) {
		s->ms_row = (size_t)(r - m->m_rows) + 1;
		s->ms_clears = m->m_clears;
	}
	return r;
}

void
metrics_row_add(struct metrics *m, struct metrics_row *r,
    enum metrics_field f, uint64_t n)
{
	if (m == NULL || r == NULL || f >= MF__COUNT)
		return;
	r->mr_fields[f] += n;
	m->m_dirty = 1;
}

void
metrics_add(struct metrics *m, const char *tenant, const char *connector,
    enum metrics_field f, uint64_t n)
{
	if (m != NULL && f < MF__COUNT)
		metrics_row_add(m, metrics_row(m, tenant, connector), f, n);
}

static void
metrics_code_add(struct metrics_row *r, uint32_t status, uint64_t n)
{
	uint32_t	 i;

	if (status < 100 || status > 599)
		status = 0;
	for (i = 0; i < r->mr_ncodes; i++)
		if (r->mr_codes[i].mc_status == status)
			break;
	if (i == r->mr_ncodes) {
		/* The last place is kept for "other". */
		if (r->mr_ncodes >= METRICS_MAX_CODES - 1 && status != 0) {
			metrics_code_add(r, 0, n);
			return;
		}
		if (r->mr_ncodes == METRICS_MAX_CODES)
			return;	/* not reached: "other" is there */
		r->mr_codes[r->mr_ncodes].mc_status = status;
		r->mr_codes[r->mr_ncodes].mc_count = 0;
		r->mr_ncodes++;
	}
	r->mr_codes[i].mc_count += n;
}

void
metrics_row_status(struct metrics *m, struct metrics_row *r, int status)
{
	if (m == NULL || r == NULL)
		return;
	metrics_code_add(r, status > 0 ? (uint32_t)status : 0, 1);
	m->m_dirty = 1;
}

void
metrics_status(struct metrics *m, const char *tenant, const char *connector,
    int status)
{
	if (m != NULL)
		metrics_row_status(m, metrics_row(m, tenant, connector),
		    status);
}

void
metrics_row_observe(struct metrics *m, struct metrics_row *r, uint64_t us)
{
	size_t	 i;

	if (m == NULL || r == NULL)
		return;
	for (i = 0; i < METRICS_NBUCKETS - 1; i++)
		if ((double)us <= metrics_buckets[i] * 1e6)
			break;
	r->mr_buckets[i]++;
	r->mr_sum_us += us;
	m->m_dirty = 1;
}

void
metrics_observe(struct metrics *m, const char *tenant, const char *connector,
    uint64_t us)
{
	if (m != NULL)
		metrics_row_observe(m, metrics_row(m, tenant, connector), us);
}

void
metrics_global_add(struct metrics *m, enum metrics_global g, uint64_t n)
{
	if (m == NULL || g >= MG__COUNT)
		return;
	m->m_globals[g] += n;
	m->m_dirty = 1;
}

void
metrics_global_set(struct metrics *m, enum metrics_global g, uint64_t v)
{
	if (m == NULL || g >= MG__COUNT || m->m_globals[g] == v)
		return;
	m->m_globals[g] = v;
	m->m_dirty = 1;
}

int
metrics_merge(struct metrics *dst, const struct metrics *src,
    int counters_only)
{
	const struct metrics_row	*s;
	struct metrics_row		*d;
	size_t				 i, k;

	for (i = 0; i < MG__COUNT; i++)
		if (!counters_only || !metrics_globals[i].mn_gauge)
			dst->m_globals[i] += src->m_globals[i];
	for (i = 0; i < src->m_nrows; i++) {
		s = &src->m_rows[i];
		if ((d = metrics_row(dst, s->mr_tenant, s->mr_connector)) ==
		    NULL)
			return -1;
		for (k = 0; k < MF__COUNT; k++)
			d->mr_fields[k] += s->mr_fields[k];
		for (k = 0; k < METRICS_NBUCKETS; k++)
			d->mr_buckets[k] += s->mr_buckets[k];
		d->mr_sum_us += s->mr_sum_us;
		for (k = 0; k < s->mr_ncodes; k++)
			metrics_code_add(d, s->mr_codes[k].mc_status,
			    s->mr_codes[k].mc_count);
	}
	dst->m_dirty = 1;
	return 0;
}

/* --- MSG_METRICS ------------------------------------------------------------ */

int
metrics_encode(const struct metrics *m, struct ipc_buf *b)
{
	const struct metrics_row	*r;
	size_t				 i, k;
	int				 bad = 0;

	ipc_buf_init(b);
	bad |= ipc_put_u32(b, MG__COUNT);
	for (i = 0; i < MG__COUNT; i++)
		bad |= ipc_put_u64(b, m->m_globals[i]);
	bad |= ipc_put_u32(b, (uint32_t)m->m_nrows);
	for (i = 0; i < m->m_nrows && !bad; i++) {
		r = &m->m_rows[i];
		bad |= ipc_put_str(b, r->mr_tenant);
		bad |= ipc_put_str(b, r->mr_connector);
		bad |= ipc_put_u32(b, MF__COUNT);
		for (k = 0; k < MF__COUNT; k++)
			bad |= ipc_put_u64(b, r->mr_fields[k]);
		bad |= ipc_put_u32(b, METRICS_NBUCKETS);
		for (k = 0; k < METRICS_NBUCKETS; k++)
			bad |= ipc_put_u64(b, r->mr_buckets[k]);
		bad |= ipc_put_u64(b, r->mr_sum_us);
		bad |= ipc_put_u32(b, r->mr_ncodes);
		for (k = 0; k < r->mr_ncodes; k++) {
			bad |= ipc_put_u32(b, r->mr_codes[k].mc_status);
			bad |= ipc_put_u64(b, r->mr_codes[k].mc_count);
		}
	}
	return bad ? -1 : 0;
}

/* A label value the loaders would have accepted: 1 to 128 printable bytes. */
static int
metrics_name_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '"' || s[i] == '\\')
			return 0;
	return i > 0 && i <= 128;
}

int
metrics_decode(struct ipc_msg *msg, struct metrics *m)
{
	struct metrics_row	*r;
	char			*t = NULL, *c = NULL;
	uint32_t		 n, nrows, i, k, st;
	uint64_t		 v, h;

	memset(m, 0, sizeof(*m));
	/* The children run this binary: every count is exactly ours. */
	if (ipc_get_u32(msg, &n) == -1 || n != MG__COUNT)
		goto bad;
	for (i = 0; i < MG__COUNT; i++)
		if (ipc_get_u64(msg, &m->m_globals[i]) == -1)
			goto bad;
	if (ipc_get_u32(msg, &nrows) == -1 || nrows > METRICS_MAX_ROWS)
		goto bad;
	for (i = 0; i < nrows; i++) {
		if (ipc_get_str(msg, &t) == -1 || ipc_get_str(msg, &c) == -1 ||
		    !metrics_name_ok(t) || !metrics_name_ok(c))
			goto bad;
		/* A row named twice would be counted twice. */
		h = fnv1a_pair(t, c);
		if (metrics_find(m, t, c, h) != NULL ||
		    (r = metrics_row_new(m, t, c, h)) == NULL)
			goto bad;
		free(t);
		free(c);
		t = c = NULL;
		if (ipc_get_u32(msg, &n) == -1 || n != MF__COUNT)
			goto bad;
		for (k = 0; k < MF__COUNT; k++)
			if (ipc_get_u64(msg, &r->mr_fields[k]) == -1)
				goto bad;
		if (ipc_get_u32(msg, &n) == -1 || n != METRICS_NBUCKETS)
			goto bad;
		for (k = 0; k < METRICS_NBUCKETS; k++)
			if (ipc_get_u64(msg, &r->mr_buckets[k]) == -1)
				goto bad;
		if (ipc_get_u64(msg, &r->mr_sum_us) == -1 ||
		    ipc_get_u32(msg, &n) == -1 || n > METRICS_MAX_CODES)
			goto bad;
		for (k = 0; k < n; k++) {
			if (ipc_get_u32(msg, &st) == -1 ||
			    ipc_get_u64(msg, &v) == -1 ||
			    (st != 0 && (st < 100 || st > 599)))
				goto bad;
			metrics_code_add(r, st, v);
		}
		if (r->mr_ncodes != n)
			goto bad;	/* a status named twice */
	}
	if (ipc_get_end(msg) == -1)
		goto bad;
	return 0;
bad:
	free(t);
	free(c);
	metrics_clear(m);
	return -1;
}

/* --- The text format --------------------------------------------------------- */

static void
metrics_head(struct evbuffer *e, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(e, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* Row labels: checked on decode (no quote, backslash or control). */
static void
metrics_labels(struct evbuffer *e, const struct metrics_row *r)
{
	evbuffer_add_printf(e, "tenant=\"%s\",connector=\"%s\"", r->mr_tenant,
	    r->mr_connector);
}

static void
metrics_render_rows(struct evbuffer *e, const struct metrics *m)
{
	const struct metrics_row	*r;
	uint64_t			 cum, count;
	size_t				 i, k, f;

	metrics_head(e, "widgetd_requests_total", "counter",
	    "Answers sent to browsers, by tenant, connector and status.");
	for (i = 0; i < m->m_nrows; i++) {
		r = &m->m_rows[i];
		for (k = 0; k < r->mr_ncodes; k++) {
			evbuffer_add_printf(e, "widgetd_requests_total{");
			metrics_labels(e, r);
			if (r->mr_codes[k].mc_status == 0)
				evbuffer_add_printf(e, ",status=\"other\"} ");
			else
				evbuffer_add_printf(e, ",status=\"%u\"} ",
				    r->mr_codes[k].mc_status);
			evbuffer_add_printf(e, "%llu\n", (unsigned long long)
			    r->mr_codes[k].mc_count);
		}
	}
	metrics_head(e, "widgetd_upstream_duration_seconds", "histogram",
	    "Upstream request latency, from the keeper taking the call to "
	    "the answer.");
	for (i = 0; i < m->m_nrows; i++) {
		r = &m->m_rows[i];
		for (k = 0, count = 0; k < METRICS_NBUCKETS; k++)
			count += r->mr_buckets[k];
		if (count == 0)
			continue;
		for (k = 0, cum = 0; k < METRICS_NBUCKETS; k++) {
			cum += r->mr_buckets[k];
			evbuffer_add_printf(e,
			    "widgetd_upstream_duration_seconds_bucket{");
			metrics_labels(e, r);
			if (k < METRICS_NBUCKETS - 1)
				evbuffer_add_printf(e, ",le=\"%g\"} %llu\n",
				    metrics_buckets[k], (unsigned long long)cum);
			else
				evbuffer_add_printf(e, ",le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
		}
		evbuffer_add_printf(e, "widgetd_upstream_duration_seconds_sum{");
		metrics_labels(e, r);
		evbuffer_add_printf(e, "} %.6f\n", (double)r->mr_sum_us / 1e6);
		evbuffer_add_printf(e,
		    "widgetd_upstream_duration_seconds_count{");
		metrics_labels(e, r);
		evbuffer_add_printf(e, "} %llu\n", (unsigned long long)count);
	}
	for (f = 0; f < MF__COUNT; f++) {
		if (metrics_fields[f].mn_name == NULL)
			continue;
		metrics_head(e, metrics_fields[f].mn_name, "counter",
		    metrics_fields[f].mn_help);
		for (i = 0; i < m->m_nrows; i++) {
			r = &m->m_rows[i];
			if (r->mr_fields[f] == 0)
				continue;
			evbuffer_add_printf(e, "%s{", metrics_fields[f].mn_name);
			metrics_labels(e, r);
			evbuffer_add_printf(e, "} %llu\n",
			    (unsigned long long)r->mr_fields[f]);
		}
	}
	metrics_head(e, "widgetd_ratelimit_refusals_total", "counter",
	    "Calls refused by a limit, by the limit: client, upstream_rate, "
	    "upstream_concurrency, upstream_retry_after.");
	for (i = 0; i < m->m_nrows; i++) {
		r = &m->m_rows[i];
		for (k = 0; k < sizeof(metrics_limits) /
		    sizeof(metrics_limits[0]); k++) {
			if (r->mr_fields[metrics_limits[k].ml_field] == 0)
				continue;
			evbuffer_add_printf(e,
			    "widgetd_ratelimit_refusals_total{");
			metrics_labels(e, r);
			evbuffer_add_printf(e, ",limit=\"%s\"} %llu\n",
			    metrics_limits[k].ml_label, (unsigned long long)
			    r->mr_fields[metrics_limits[k].ml_field]);
		}
	}
}

static void
metrics_render_parent(struct evbuffer *e, const struct metrics_parent *mp)
{
	static const char *const roles[METRICS_ROLES] = { "worker", "keeper",
	    "publisher" };
	static const char *const causes[3] = { "address", "total",
	    "memory" };
	size_t	 i;

	metrics_head(e, "widgetd_respawns_total", "counter",
	    "Children started again after they died.");
	for (i = 0; i < METRICS_ROLES; i++)
		evbuffer_add_printf(e, "widgetd_respawns_total{role=\"%s\"} "
		    "%llu\n", roles[i], (unsigned long long)mp->mp_respawns[i]);
	metrics_head(e, "widgetd_sandbox_violations_total", "counter",
	    "Channels closed because a process broke the protocol.");
	for (i = 0; i < METRICS_ROLES; i++)
		evbuffer_add_printf(e, "widgetd_sandbox_violations_total{"
		    "role=\"%s\"} %llu\n", roles[i],
		    (unsigned long long)mp->mp_violations[i]);
	metrics_head(e, "widgetd_processes", "gauge",
	    "Running children, by role.");
	for (i = 0; i < METRICS_ROLES; i++)
		evbuffer_add_printf(e, "widgetd_processes{role=\"%s\"} %llu\n",
		    roles[i], (unsigned long long)mp->mp_processes[i]);
	metrics_head(e, "widgetd_connections", "gauge",
	    "Browser connections handed to workers and not yet closed.");
	evbuffer_add_printf(e, "widgetd_connections %llu\n",
	    (unsigned long long)mp->mp_connections);
	metrics_head(e, "widgetd_connections_refused_total", "counter",
	    "Connections the parent closed at accept: over "
	    "limits.address_connections, limits.total_connections, or out of "
	    "memory.");
	for (i = 0; i < 3; i++)
		evbuffer_add_printf(e, "widgetd_connections_refused_total{"
		    "cause=\"%s\"} %llu\n", causes[i],
		    (unsigned long long)mp->mp_refused[i]);
	metrics_head(e, "widgetd_config_generation", "gauge",
	    "The configuration generation in force.");
	evbuffer_add_printf(e, "widgetd_config_generation %llu\n",
	    (unsigned long long)mp->mp_generation);
	metrics_head(e, "widgetd_start_time_seconds", "gauge",
	    "When the daemon started, Unix time.");
	evbuffer_add_printf(e, "widgetd_start_time_seconds %.3f\n",
	    mp->mp_start_time);
}

char *
metrics_render(const struct metrics *m, const struct metrics_parent *mp,
    size_t *lenp)
{
	struct evbuffer	*e;
	char		*text = NULL;
	size_t		 i, len;

	if ((e = evbuffer_new()) == NULL)
		return NULL;
	metrics_head(e, "widgetd_build_info", "gauge",
	    "Always 1; the version and the commit built from as labels.");
	evbuffer_add_printf(e, "widgetd_build_info{version=\"%s\","
	    "commit=\"%s\"} 1\n", PACKAGE_VERSION, version_commit());
	metrics_render_rows(e, m);
	for (i = 0; i < MG__COUNT; i++) {
		metrics_head(e, metrics_globals[i].mn_name,
		    metrics_globals[i].mn_gauge ? "gauge" : "counter",
		    metrics_globals[i].mn_help);
		evbuffer_add_printf(e, "%s %llu\n", metrics_globals[i].mn_name,
		    (unsigned long long)m->m_globals[i]);
	}
	if (mp != NULL)
		metrics_render_parent(e, mp);
	len = evbuffer_get_length(e);
	if ((text = malloc(len + 1)) != NULL) {
		evbuffer_remove(e, text, len);
		text[len] = '\0';
		*lenp = len;
	}
	evbuffer_free(e);
	return text;
}
