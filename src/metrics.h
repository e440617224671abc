/*
 * metrics.h — counters every process keeps, and their Prometheus text.
 *
 * Each worker and keeper counts into its own struct metrics and pushes it
 * to the parent (MSG_METRICS) at most once a second while it changes.  The
 * parent keeps the last table of every child, folds the counters of a
 * child that exits into a retired total (so counters never go backwards),
 * and renders the sum in the Prometheus text format (metrics_render) for
 * the metrics listener and widgetctl status.  Numbers only travel: no
 * request byte, no secret.
 *
 * Series are bounded: at most METRICS_MAX_ROWS (tenant, connector) rows
 * per table, anything past them counted under connector "_other"; at most
 * METRICS_MAX_CODES statuses per row, more under status "other".
 *
 * Library code: no logging, no process knowledge.
 */
#ifndef WIDGETD_METRICS_H
#define WIDGETD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "rowidx.h"

struct ipc_buf;
struct ipc_msg;

#define METRICS_MAX_ROWS	4096
#define METRICS_MAX_CODES	64
#define METRICS_OTHER		"_other"

/*
 * Per (tenant, connector) counters.  Who counts each is in the comment;
 * the names are those of metrics_render (widgetd.conf(5), METRICS).
 */
enum metrics_field {
	MF_CACHE_HITS,		/* worker (cache.c): fresh or stale hit */
	MF_CACHE_MISSES,	/* worker (cache.c) */
	MF_CACHE_REVALIDATIONS,	/* worker (cache.c): 304 refreshed it */
	MF_CACHE_STALE,		/* worker (cache.c): a stale answer served */
	MF_UPSTREAM_REQUESTS,	/* keeper: attempts sent upstream */
	MF_UPSTREAM_ERRORS,	/* keeper: attempts without an HTTP answer */
	MF_UPSTREAM_RETRIES,	/* keeper: attempts after the first */
	MF_UPSTREAM_CONNECTS,	/* keeper: answered over a new connection */
	MF_TOKEN_FETCHES,	/* keeper: OAuth token requests */
	MF_TOKEN_FAILURES,	/* keeper: of them, failed */
	MF_REDACTIONS,		/* keeper: secret-derived strings replaced */
	MF_LIMIT_CLIENT,	/* worker: refused, client over its rate */
	MF_LIMIT_RATE,		/* keeper: refused, connector over its rate */
	MF_LIMIT_CONCURRENCY,	/* keeper: refused, no slot in the window */
	MF_LIMIT_UPSTREAM,	/* keeper: refused, upstream's Retry-After */
	MF__COUNT
};

/* Process-wide values; MG_IS_GAUGE says which are not counters. */
enum metrics_global {
	MG_CACHE_EVICTIONS,	/* worker (cache.c): counter */
	MG_CACHE_BYTES,		/* worker (cache.c): gauge */
	MG_CACHE_ENTRIES,	/* worker (cache.c): gauge */
	MG_KEEPER_QUEUE,	/* keeper: calls waiting for a limit, gauge */
	MG_KEEPER_INFLIGHT,	/* keeper: calls being served, gauge */
	MG_REDIS_UP,		/* keeper: 1 connected to redis, gauge */
	MG_REDIS_ERRORS,	/* keeper: failed redis commands, counter */
	MG_UPSTREAM_IDLE,	/* keeper: upstream connections kept, gauge */
	MG__COUNT
};
int		 metrics_global_is_gauge(enum metrics_global);

/* Upstream latency buckets, seconds (the last is +Inf). */
#define METRICS_NBUCKETS	13
extern const double metrics_buckets[METRICS_NBUCKETS - 1];

struct metrics_code {
	uint32_t	 mc_status;	/* 0: "other" */
	uint64_t	 mc_count;
};

struct metrics_row {
	char		*mr_tenant;
	char		*mr_connector;
	uint64_t	 mr_fields[MF__COUNT];
	uint64_t	 mr_buckets[METRICS_NBUCKETS];	/* not cumulative */
	uint64_t	 mr_sum_us;
	struct metrics_code mr_codes[METRICS_MAX_CODES];
	uint32_t	 mr_ncodes;
};

struct metrics {
	struct metrics_row *m_rows;
	size_t		 m_nrows;
	size_t		 m_cap;
	/* The rows by their names: every call counts into one. */
	struct rowidx	 m_idx;
	uint64_t	 m_globals[MG__COUNT];
	int		 m_dirty;	/* changed since the last push */
	uint64_t	 m_clears;	/* metrics_clear's, for slots */
};

/* Where a row was found, for metrics_row_slot (all zeroes at first). */
struct metrics_slot {
	size_t		 ms_row;	/* the row's index + 1; 0: none */
	uint64_t	 ms_clears;	/* m_clears then */
};

struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *);
/* Back to zero, rows forgotten. */
void		 metrics_clear(struct metrics *);

/*
 * The row of (tenant, connector), made on first use; NULL names count as
 * "-".  Past METRICS_MAX_ROWS rows, the one row ("_other", "_other");
 * NULL only when out of memory.
 */
struct metrics_row *metrics_row(struct metrics *, const char *tenant,
		    const char *connector);
/*
 * The same for a caller that keeps *slot between calls with the same
 * names: found by them once, then by its place (rows are never moved
 * in order or dropped but by metrics_clear, after which a slot finds
 * its row by the names again).
 */
struct metrics_row *metrics_row_slot(struct metrics *, const char *tenant,
		    const char *connector, struct metrics_slot *);
/*
 * The updates below by names look the row up each time; a caller that
 * makes several for one (tenant, connector) looks it up once and uses
 * the metrics_row_ forms.  A row pointer is good until the next new row
 * (the table may move) or metrics_clear; a NULL row is no update.
 */
void		 metrics_row_add(struct metrics *, struct metrics_row *,
		    enum metrics_field, uint64_t n);
void		 metrics_row_status(struct metrics *, struct metrics_row *,
		    int status);
void		 metrics_row_observe(struct metrics *, struct metrics_row *,
		    uint64_t us);
void		 metrics_add(struct metrics *, const char *tenant,
		    const char *connector, enum metrics_field, uint64_t n);
/* One answer with HTTP status, sent to a client. */
void		 metrics_status(struct metrics *, const char *tenant,
		    const char *connector, int status);
/* One upstream attempt that took us microseconds. */
void		 metrics_observe(struct metrics *, const char *tenant,
		    const char *connector, uint64_t us);
void		 metrics_global_add(struct metrics *, enum metrics_global,
		    uint64_t n);
void		 metrics_global_set(struct metrics *, enum metrics_global,
		    uint64_t v);

/*
 * Add src into dst: every counter, and the gauges too unless
 * counters_only (a child that exited leaves its counters, not its gauges).
 */
int		 metrics_merge(struct metrics *dst, const struct metrics *src,
		    int counters_only);

/* MSG_METRICS payload. */
int		 metrics_encode(const struct metrics *, struct ipc_buf *);
/* 0, or -1 (m cleared) when the payload is malformed. */
int		 metrics_decode(struct ipc_msg *, struct metrics *);

/* Children's roles, as enum proc_role numbers them (proc.h). */
#define METRICS_ROLES	3	/* worker, keeper, publisher */

/* What only the parent knows, rendered beside the children's tables. */
struct metrics_parent {
	uint64_t	 mp_respawns[METRICS_ROLES];	/* by enum proc_role */
	uint64_t	 mp_violations[METRICS_ROLES];	/* channels closed */
	uint64_t	 mp_processes[METRICS_ROLES];
	uint64_t	 mp_connections;
	uint64_t	 mp_refused[3];	/* address cap, total cap, memory */
	uint64_t	 mp_generation;
	double		 mp_start_time;		/* Unix time */
};

/*
 * The Prometheus text exposition format (version 0.0.4) of m and mp:
 * malloc'd and NUL-terminated, *lenp bytes; NULL when out of memory.
 */
char		*metrics_render(const struct metrics *,
		    const struct metrics_parent *, size_t *lenp);

#endif
