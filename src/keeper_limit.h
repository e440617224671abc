/*
 * keeper_limit.h — limits that protect upstreams, in the keeper.
 *
 * Every attempt at an upstream (a cache miss that reached the keeper, or
 * a retry) asks for permission first.  Per connector (tenant and
 * permalink): at most `concurrency` attempts in flight, at most `rate` a
 * second (bursts of `burst`), and nothing at all while the upstream's own
 * Retry-After runs.  An attempt that cannot go at once waits, within its
 * call's window; one that cannot go within it is refused: 429 for a rate
 * or an upstream's Retry-After, 503 for concurrency, each with a
 * Retry-After.  Connectors never wait for each other.
 *
 * The rate is shared with every other keeper and instance through redis
 * when one is configured (keeper_redis.h); without it, or while it is
 * down, each keeper applies its share: rate / (keepers × instances).
 */
#ifndef WIDGETD_KEEPER_LIMIT_H
#define WIDGETD_KEEPER_LIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conn_ext;
struct event_base;
struct kredis;
struct metrics;

struct klimits;
struct klwait;
struct klimit;

/*
 * The outcome of an acquire: status 0 go (the caller owns the klwait
 * until klimits_release); else the refusal's HTTP status, Retry-After in
 * seconds, the envelope code and a detail (the klwait is gone).
 */
typedef void	(*klimit_fn)(void *arg, int status, int retry_after,
		    const char *code, const char *detail);

struct klimits	*klimits_new(struct event_base *, struct metrics *);
void		 klimits_free(struct klimits *);
/* Shares: keepers of this instance, instances; redis (or NULL). */
void		 klimits_configure(struct klimits *, int keepers,
		    int instances, struct kredis *);
/*
 * One attempt at (tenant, connector) under ext's limits, to start before
 * deadline (CLOCK_MONOTONIC).  fn runs later from the event loop, once,
 * unless klimits_cancel comes first.  NULL when out of memory.
 */
struct klwait	*klimits_acquire(struct klimits *, const char *tenant,
		    const char *connector, const struct conn_ext *,
		    const struct timespec *deadline, klimit_fn, void *arg);
/*
 * The same by the entry of (tenant, connector), made on first use (NULL
 * when out of memory): entries last as long as the klimits, so a caller
 * that names one connector often keeps its entry (keeper.c, once a
 * generation) and spares the lookup by name.  now: CLOCK_MONOTONIC µs
 * (ratelimit_now()'s), a reading the caller took a moment ago in the
 * same event callback, with nothing that waits in between; 0: read here.
 */
struct klimit	*klimits_entry(struct klimits *, const char *tenant,
		    const char *connector);
struct klwait	*klimits_acquire_at(struct klimits *, struct klimit *,
		    const struct conn_ext *, const struct timespec *deadline,
		    int64_t now, klimit_fn, void *arg);
/* Before fn ran: forget the attempt. */
void		 klimits_cancel(struct klwait *);
/* After fn said go: the attempt is over (its slot is free again). */
void		 klimits_release(struct klwait *);
/* The upstream said Retry-After: seconds; nothing goes there until then. */
void		 klimits_block(struct klimits *, const char *tenant,
		    const char *connector, int seconds);
/* Attempts waiting now. */
size_t		 klimits_queued(const struct klimits *);

#endif
