/*
 * cache.h — the worker's HTTP response cache (SPEC §7 and §9,
 * platform-docs §19).  Worker only: a hit never leaves the worker.
 *
 * Every worker has one cache.  A call looks it up with its plan — the
 * whole resolved request, secrets named and never valued — just before
 * it would go to the keeper, and hands it the keeper's answer:
 *
 *	t = cache_lookup(cache, snapshot, &plan, now, owner, flags, &v);
 *	CACHE_HIT:  answer from cache_ticket_entry(t), no IPC at all;
 *	CACHE_WAIT: an identical call is in flight; wait for its answer;
 *	CACHE_SEND: send the plan (it may now carry If-None-Match /
 *		    If-Modified-Since for the keeper), then give the answer
 *		    to cache_answer() or cache_failed(), which say whether
 *		    to answer from an entry instead (304, stale-if-error).
 *
 * The ticket says what happened (cache_ticket_outcome, for counters and
 * the access log; cache_ticket_status, the Cache-Status field of RFC 9211)
 * and is freed with the call.  A composite connector's GET step uses the
 * same two points: lookup before its MSG_CALL, answer after.
 */
#ifndef WIDGETD_CACHE_H
#define WIDGETD_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;
struct cache_entry;
struct cache_ticket;
struct plan;
struct result;
struct snapshot;

/* What a lookup tells the caller to do. */
enum cache_verdict {
	CACHE_SEND,		/* call the upstream with the plan */
	CACHE_HIT,		/* answer from cache_ticket_entry() */
	CACHE_WAIT		/* wait: cache_ticket_waiter() on the call in
				   flight will name this ticket's owner */
};

/* What happened to one request: its counters and access-log word. */
enum cache_outcome {
	CACHE_O_BYPASS,		/* not cacheable: method, body, cache off */
	CACHE_O_HIT,		/* a stored entry, no upstream call */
	CACHE_O_MISS,		/* the upstream's answer (stored or not) */
	CACHE_O_REVALIDATED,	/* the upstream said 304: the entry */
	CACHE_O_STALE,		/* the upstream failed: a stale entry */
	CACHE_O_COLLAPSED	/* answered by an identical call's answer */
};

/* How the waiters of a call that has been answered are answered. */
enum cache_share {
	CACHE_SHARE_ENTRY,	/* from cache_ticket_entry() of the waiter */
	CACHE_SHARE_ANSWER,	/* with the same answer (an error: each
				   waiter asks cache_answer/cache_failed
				   for a stale entry) */
	CACHE_SHARE_NONE	/* not shareable: each sends its own plan */
};

/* Lookup flags. */
#define CACHE_L_COLLAPSE	0x01	/* may wait for an identical call */

/* One worker's cache as a whole (widgetctl status). */
struct cache_totals {
	uint64_t	 ct_entries;
	uint64_t	 ct_bytes;	/* accounted memory in use */
	uint64_t	 ct_memory;	/* cache.memory */
	uint64_t	 ct_evicted;	/* entries dropped for room (LRU) */
	uint64_t	 ct_dropped;	/* entries dropped for a reload or a
					   secret change */
};

/* Wall-clock milliseconds: ages are counted against upstream Dates. */
int64_t		 cache_now(void);

struct cache	*cache_new(void);
void		 cache_free(struct cache *);
/*
 * A generation is in force: take its cache.* settings, and drop the
 * entries of every connector it changed or removed — its definition, the
 * stored variables its templates use, the template limits.  Lookups made
 * with any other generation bypass the cache.
 */
void		 cache_generation(struct cache *, const struct snapshot *);
/* A tenant's secrets changed: its entries whose request named a secret. */
void		 cache_secrets_changed(struct cache *, const char *tenant);
void		 cache_totals(const struct cache *, struct cache_totals *);

/*
 * Look the plan up (before any validator is in it).  owner is what
 * cache_ticket_waiter() and cache_ticket_handover() give back.  NULL only
 * when out of memory: then send the plan as if uncacheable.
 */
struct cache_ticket *cache_lookup(struct cache *, const struct snapshot *,
		    struct plan *, int64_t now, void *owner, int flags,
		    enum cache_verdict *);
/*
 * The call is over.  A waiter leaves its call's waiters; a call still in
 * flight must first be handed over (cache_ticket_handover) or abandoned
 * (cache_ticket_abandon) and its waiters released.
 */
void		 cache_ticket_free(struct cache_ticket *);
/*
 * The owner of a call still in flight goes away: the first waiter takes
 * the call over (its owner is returned, the caller moves the call to
 * it); NULL when nobody waits.
 */
void		*cache_ticket_handover(struct cache_ticket *);
/*
 * The call has been answered: the next waiter's owner and how to answer
 * it, NULL once none is left.  The waiter's ticket is now detached.
 */
void		*cache_ticket_waiter(struct cache_ticket *, enum cache_share *);

/*
 * The upstream answered rs.  The entry to answer from instead — stored
 * now, refreshed by a 304, or stale on an error — or NULL: answer rs.
 */
const struct cache_entry *cache_answer(struct cache_ticket *,
		    const struct result *, int64_t now);
/* The call failed (network, timeout): a stale entry to answer, or NULL. */
const struct cache_entry *cache_failed(struct cache_ticket *, int64_t now);
/*
 * The call was refused before the upstream saw it (a limit, a template):
 * its waiters share the refusal, and no stale entry hides it.
 */
void		 cache_refused(struct cache_ticket *);
/*
 * The owner of a call goes away without an answer and nobody took the
 * call over: its waiters, named by cache_ticket_waiter(), send their own.
 */
void		 cache_ticket_abandon(struct cache_ticket *);

enum cache_outcome cache_ticket_outcome(const struct cache_ticket *);
/* The Cache-Status field value: "widgetd; hit; ttl=42" and so on. */
const char	*cache_ticket_status(const struct cache_ticket *);
/* CACHE_HIT, or a waiter answered from an entry. */
const struct cache_entry *cache_ticket_entry(const struct cache_ticket *);

/* What an entry holds: the upstream's answer as the keeper sent it. */
const struct result *cache_entry_result(const struct cache_entry *);
/*
 * The response template's output stored beside the entry (SPEC §7), or
 * NULL.  It is kept only for a template that depends on nothing but
 * response.*, tenant_id and constants.
 */
const void	*cache_entry_output(const struct cache_entry *, size_t *);
/* 1 when output rendered for this ticket's entry may be kept with it. */
int		 cache_ticket_keeps_output(const struct cache_ticket *);
void		 cache_ticket_set_output(struct cache_ticket *, const void *,
		    size_t);

#endif
