/*
 * ratelimit.h — rates as the generic cell rate algorithm (GCRA).
 *
 * One struct ratelimit is one rate: `rate` events a second with bursts of
 * `burst`.  It holds a single number, the theoretical arrival time, so a
 * table of many (one per client) stays small, and an entry whose time has
 * passed is the same as no entry: it can be dropped.  A reservation may
 * be taken for a moment in the future (the caller waits, then goes): that
 * is how the keeper queues a connector's calls within the 15 s window.
 *
 * Library code: times are the caller's (CLOCK_MONOTONIC microseconds).
 */
#ifndef WIDGETD_RATELIMIT_H
#define WIDGETD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ratelimit {
	int64_t		 rl_interval;	/* µs between events at the rate */
	int64_t		 rl_tolerance;	/* µs of burst: (burst - 1) * interval */
	int64_t		 rl_tat;	/* theoretical arrival time, µs */
};

/* rate > 0 events per second, burst >= 1. */
void		 ratelimit_init(struct ratelimit *, double rate, int burst);
/*
 * One event at or after now.  1: reserved, go after *wait µs (0: now).
 * 0: not within max_wait; *wait says how long until one would be (the
 * Retry-After), and nothing was reserved.
 */
int		 ratelimit_reserve(struct ratelimit *, int64_t now,
		    int64_t max_wait, int64_t *wait);

/*
 * Many rates of the same kind, by key (a client): a bounded table.  Keys
 * whose reservations have all passed are dropped as the table fills; a
 * full table lets events through rather than refuse clients it cannot
 * track (ratelimit_table_check returns 1 then).
 */
struct ratelimit_table;

struct ratelimit_table *ratelimit_table_new(double rate, int burst,
		    size_t max_keys);
void		 ratelimit_table_free(struct ratelimit_table *);
/* 1 go, 0 refused with *retry_after µs. */
int		 ratelimit_table_check(struct ratelimit_table *, const char *key,
		    int64_t now, int64_t *retry_after);
size_t		 ratelimit_table_count(const struct ratelimit_table *);

/*
 * An HTTP Retry-After value (delta-seconds or an IMF-fixdate) as seconds
 * from now (Unix time now), at most a year; -1 when it is neither.
 */
int		 ratelimit_retry_after(const char *value, time_t now);

/* CLOCK_MONOTONIC in µs. */
int64_t		 ratelimit_now(void);

#endif
