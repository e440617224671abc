/*
 * keeper_limit.c — per-connector concurrency, rate and the upstream's
 * Retry-After, in the keeper (keeper_limit.h).
 *
 * An attempt moves through: a slot (concurrency; FIFO queue while full),
 * then a rate reservation (redis or the local GCRA, which may be a moment
 * ahead: a timer then), then go.  Every wait ends at the call's deadline
 * less KLIMIT_MARGIN, so an attempt that goes still has time to be made.
 * Every outcome is delivered from the event loop, never from inside
 * klimits_acquire, so the caller is not re-entered.
 */
#include "build.h"

#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "connector.h"
#include "fnv.h"
#include "keeper_limit.h"
#include "keeper_redis.h"
#include "metrics.h"
#include "ratelimit.h"
#include "spare.h"

#define KLIMIT_MARGIN		1000000	/* µs of the window kept for the call */
#define KLIMIT_MAX_ENTRIES	4096	/* connectors tracked */
#define KLIMIT_BUCKETS		1024	/* the entries by name: chains of ~4 at most */

enum klw_state {
	KLW_SLOT,		/* queued for a concurrency slot */
	KLW_RATE,		/* waiting for redis, or for its reservation */
	KLW_GO,			/* told to go; holds its slot */
	KLW_DONE		/* refused: to be freed after fn */
};

struct klimit;

struct klwait {
	TAILQ_ENTRY(klwait)	 w_entry;	/* in kl_queue while KLW_SLOT */
	struct klimits		*w_ks;
	struct klimit		*w_kl;
	enum klw_state		 w_state;
	/* Inside the wait (event_struct.h): no allocation of their own. */
	struct event		 w_ev;		/* deadline, or the rate's wait */
	struct event		 w_deliver;	/* the outcome, from the loop */
	struct kredis_req	*w_rreq;
	int64_t			 w_deadline;	/* µs, monotonic */
	int			 w_slot;	/* holds a slot */
	int			 w_concurrency;
	double			 w_rate;
	int			 w_burst;
	klimit_fn		 w_fn;
	void			*w_arg;
	int			 w_status;
	int			 w_retry;
	const char		*w_code;
	const char		*w_detail;
};

struct klimit {
	TAILQ_ENTRY(klimit)	 kl_entry;
	struct klimit		*kl_hnext;	/* the bucket's next */
	uint64_t		 kl_hash;	/* of both names */
	char			*kl_tenant;
	char			*kl_connector;
	int			 kl_active;	/* slots taken */
	struct ratelimit	 kl_rl;		/* the local share */
	double			 kl_rl_rate;	/* what kl_rl was made for */
	int			 kl_rl_burst;
	int64_t			 kl_blocked;	/* µs: upstream Retry-After */
	TAILQ_HEAD(, klwait)	 kl_queue;
};

struct klimits {
	struct event_base	*ks_base;
	struct metrics		*ks_metrics;
	struct kredis		*ks_redis;
	int			 ks_keepers;
	int			 ks_instances;
	TAILQ_HEAD(, klimit)	 ks_limits;
	size_t			 ks_nlimits;
	/* Every call looks its connector up: by name, not by a walk. */
	struct klimit		*ks_bucket[KLIMIT_BUCKETS];
	size_t			 ks_queued;
	struct spare		 ks_waits;	/* freed, for the next attempts */
};

static void	klimits_rate(struct klwait *, int64_t);

static void
klimits_gauge(struct klimits *ks)
{
	metrics_global_set(ks->ks_metrics, MG_KEEPER_QUEUE, ks->ks_queued);
}

struct klimits *
klimits_new(struct event_base *base, struct metrics *m)
{
	struct klimits	*ks;

	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return NULL;
	ks->ks_base = base;
	ks->ks_metrics = m;
	ks->ks_keepers = ks->ks_instances = 1;
	TAILQ_INIT(&ks->ks_limits);
	return ks;
}

void
klimits_free(struct klimits *ks)
{
	struct klimit	*kl;
	struct klwait	*w;

	if (ks == NULL)
		return;
	while ((kl = TAILQ_FIRST(&ks->ks_limits)) != NULL) {
		while ((w = TAILQ_FIRST(&kl->kl_queue)) != NULL)
			klimits_cancel(w);
		TAILQ_REMOVE(&ks->ks_limits, kl, kl_entry);
		free(kl->kl_tenant);
		free(kl->kl_connector);
		free(kl);
	}
	/* After the cancels, which keep theirs here. */
	while ((w = spare_take(&ks->ks_waits, NULL)) != NULL)
		free(w);
	free(ks);
}

void
klimits_configure(struct klimits *ks, int keepers, int instances,
    struct kredis *r)
{
	ks->ks_keepers = keepers > 0 ? keepers : 1;
	ks->ks_instances = instances > 0 ? instances : 1;
	ks->ks_redis = r;
}

size_t
klimits_queued(const struct klimits *ks)
{
	return ks->ks_queued;
}

static struct klimit *
klimits_find(struct klimits *ks, const char *tenant, const char *connector)
{
	struct klimit	*kl, **b;
	uint64_t	 h = fnv1a_pair(tenant, connector);

	b = &ks->ks_bucket[h % KLIMIT_BUCKETS];
	for (kl = *b; kl != NULL; kl = kl->kl_hnext)
		if (kl->kl_hash == h && strcmp(kl->kl_connector, connector) == 0 &&
		    strcmp(kl->kl_tenant, tenant) == 0)
			return kl;
	/* Connectors are bounded by the registries; this bounds the rest. */
	if (ks->ks_nlimits >= KLIMIT_MAX_ENTRIES)
		return TAILQ_FIRST(&ks->ks_limits);
	if ((kl = calloc(1, sizeof(*kl))) == NULL ||
	    (kl->kl_tenant = strdup(tenant)) == NULL ||
	    (kl->kl_connector = strdup(connector)) == NULL) {
		if (kl != NULL)
			free(kl->kl_tenant);
		free(kl);
		return NULL;
	}
	TAILQ_INIT(&kl->kl_queue);
	TAILQ_INSERT_TAIL(&ks->ks_limits, kl, kl_entry);
	kl->kl_hash = h;
	kl->kl_hnext = *b;
	*b = kl;
	ks->ks_nlimits++;
	return kl;
}

static void
klimits_wait_free(struct klwait *w)
{
	struct klimits	*ks = w->w_ks;

	event_del(&w->w_ev);
	event_del(&w->w_deliver);
	if ((w = spare_put(&ks->ks_waits, w, sizeof(*w))) != NULL)
		free(w);
}

static void
klimits_unqueue(struct klwait *w)
{
	if (w->w_state == KLW_SLOT || w->w_state == KLW_RATE) {
		w->w_ks->ks_queued--;
		klimits_gauge(w->w_ks);
	}
	if (w->w_state == KLW_SLOT)
		TAILQ_REMOVE(&w->w_kl->kl_queue, w, w_entry);
}

/* A slot came free: the first queued attempt takes it. */
static void
klimits_slot_free(struct klimit *kl)
{
	struct klwait	*w;

	kl->kl_active--;
	if ((w = TAILQ_FIRST(&kl->kl_queue)) == NULL)
		return;
	TAILQ_REMOVE(&kl->kl_queue, w, w_entry);
	evtimer_del(&w->w_ev);
	w->w_state = KLW_RATE;
	w->w_slot = 1;
	kl->kl_active++;
	klimits_rate(w, 0);
}

static void
klimits_deliver_cb(int fd, short what, void *arg)
{
	struct klwait	*w = arg;

	if (w->w_state == KLW_GO) {
		w->w_fn(w->w_arg, 0, 0, NULL, NULL);
		return;
	}
	w->w_fn(w->w_arg, w->w_status, w->w_retry, w->w_code, w->w_detail);
	klimits_wait_free(w);
}

/*
 * The outcome goes to the caller from the loop, in this same pass: the
 * caller is not called back from inside klimits_acquire_at.  Made active,
 * not a timer of zero: a timer would cost the keeper one more epoll_wait,
 * and its heap, for every call.
 */
static void
klimits_deliver(struct klwait *w)
{
	event_active(&w->w_deliver, EV_TIMEOUT, 1);
}

static void
klimits_go(struct klwait *w)
{
	klimits_unqueue(w);
	w->w_state = KLW_GO;
	klimits_deliver(w);
}

static void
klimits_refuse(struct klwait *w, int status, int retry, const char *code,
    const char *detail, enum metrics_field f)
{
	klimits_unqueue(w);
	w->w_state = KLW_DONE;
	w->w_status = status;
	w->w_retry = retry > 0 ? retry : 1;
	w->w_code = code;
	w->w_detail = detail;
	metrics_add(w->w_ks->ks_metrics, w->w_kl->kl_tenant,
	    w->w_kl->kl_connector, f, 1);
	if (w->w_slot) {
		w->w_slot = 0;
		klimits_slot_free(w->w_kl);
	}
	evtimer_del(&w->w_ev);
	klimits_deliver(w);
}

static int
klimits_secs(int64_t us)
{
	return (int)((us + 999999) / 1000000);
}

static void
klimits_rate_refuse(struct klwait *w, int64_t wait)
{
	klimits_refuse(w, 429, klimits_secs(wait), "UPSTREAM_RATE_LIMITED",
	    "the connector's upstream rate is used up; retry later",
	    MF_LIMIT_RATE);
}

/* The rate's reserved moment came (or the deadline of a slot wait). */
static void
klimits_timer_cb(int fd, short what, void *arg)
{
	struct klwait	*w = arg;

	if (w->w_state == KLW_SLOT)
		klimits_refuse(w, 503, 1, "UPSTREAM_BUSY", "the connector has "
		    "as many upstream calls in flight as it allows; retry "
		    "later", MF_LIMIT_CONCURRENCY);
	else if (w->w_state == KLW_RATE)
		klimits_go(w);
}

static void
klimits_after(struct klwait *w, int64_t wait)
{
	struct timeval	 tv;

	if (wait <= 0) {
		klimits_go(w);
		return;
	}
	tv.tv_sec = wait / 1000000;
	tv.tv_usec = wait % 1000000;
	evtimer_add(&w->w_ev, &tv);
}

/*
 * The local share of the rate: the whole rate split between keepers.
 * now: the caller's reading of the clock in this callback, or 0.
 */
static void
klimits_local(struct klwait *w, int64_t now)
{
	struct klimit	*kl = w->w_kl;
	double		 rate;
	int64_t		 wait, max;

	if (now == 0)
		now = ratelimit_now();

	rate = w->w_rate / (w->w_ks->ks_keepers * w->w_ks->ks_instances);
	if (kl->kl_rl_rate != rate || kl->kl_rl_burst != w->w_burst) {
		ratelimit_init(&kl->kl_rl, rate, w->w_burst);
		kl->kl_rl_rate = rate;
		kl->kl_rl_burst = w->w_burst;
	}
	max = w->w_deadline - KLIMIT_MARGIN - now;
	if (ratelimit_reserve(&kl->kl_rl, now, max > 0 ? max : 0, &wait))
		klimits_after(w, wait);
	else
		klimits_rate_refuse(w, wait);
}

static void
klimits_redis_cb(void *arg, enum kredis_result res, int64_t wait)
{
	struct klwait	*w = arg;

	w->w_rreq = NULL;
	switch (res) {
	case KREDIS_RESERVED:
		klimits_after(w, wait);
		break;
	case KREDIS_REFUSED:
		klimits_rate_refuse(w, wait);
		break;
	case KREDIS_UNAVAILABLE:
		klimits_local(w, 0);
		break;
	}
}

/* now: as klimits_local's. */
static void
klimits_rate(struct klwait *w, int64_t now)
{
	/* A tenant (64) and a permalink (255) fit: a cut key is shared. */
	char	 key[512];
	int64_t	 max;

	if (w->w_rate <= 0) {
		klimits_go(w);
		return;
	}
	if (now == 0)
		now = ratelimit_now();
	max = w->w_deadline - KLIMIT_MARGIN - now;
	if ((size_t)snprintf(key, sizeof(key), "%s:%s", w->w_kl->kl_tenant,
	    w->w_kl->kl_connector) < sizeof(key) &&
	    w->w_ks->ks_redis != NULL && (w->w_rreq = kredis_reserve(
	    w->w_ks->ks_redis, key, w->w_rate, w->w_burst, max > 0 ? max : 0,
	    klimits_redis_cb, w)) != NULL)
		return;
	klimits_local(w, now);
}

struct klimit *
klimits_entry(struct klimits *ks, const char *tenant, const char *connector)
{
	return klimits_find(ks, tenant, connector);
}

struct klwait *
klimits_acquire(struct klimits *ks, const char *tenant, const char *connector,
    const struct conn_ext *e, const struct timespec *deadline, klimit_fn fn,
    void *arg)
{
	struct klimit	*kl;

	if ((kl = klimits_find(ks, tenant, connector)) == NULL)
		return NULL;
	return klimits_acquire_at(ks, kl, e, deadline, 0, fn, arg);
}

struct klwait *
klimits_acquire_at(struct klimits *ks, struct klimit *kl,
    const struct conn_ext *e, const struct timespec *deadline, int64_t now,
    klimit_fn fn, void *arg)
{
	struct klwait	*w;
	struct timeval	 tv;
	int64_t		 left;

	if (now == 0)
		now = ratelimit_now();

	/* Every attempt waits once: the wait is the last one freed. */
	if ((w = spare_take(&ks->ks_waits, NULL)) != NULL)
		memset(w, 0, sizeof(*w));
	else if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->w_ks = ks;
	w->w_kl = kl;
	w->w_fn = fn;
	w->w_arg = arg;
	w->w_deadline = (int64_t)deadline->tv_sec * 1000000 +
	    deadline->tv_nsec / 1000;
	w->w_rate = e->ce_rate;
	w->w_burst = e->ce_burst > 0 ? e->ce_burst : 1;
	/* Concurrency is per instance: each keeper has its share. */
	if (e->ce_concurrency > 0) {
		w->w_concurrency = e->ce_concurrency / ks->ks_keepers;
		if (w->w_concurrency < 1)
			w->w_concurrency = 1;
	}
	evtimer_assign(&w->w_ev, ks->ks_base, klimits_timer_cb, w);
	evtimer_assign(&w->w_deliver, ks->ks_base, klimits_deliver_cb, w);
	w->w_state = KLW_RATE;
	ks->ks_queued++;
	klimits_gauge(ks);
	if (kl->kl_blocked > now) {
		klimits_refuse(w, 429, klimits_secs(kl->kl_blocked - now),
		    "UPSTREAM_RATE_LIMITED", "the upstream asked for a pause "
		    "(Retry-After); retry later", MF_LIMIT_UPSTREAM);
		return w;
	}
	if (w->w_concurrency > 0 && kl->kl_active >= w->w_concurrency) {
		w->w_state = KLW_SLOT;
		TAILQ_INSERT_TAIL(&kl->kl_queue, w, w_entry);
		left = w->w_deadline - KLIMIT_MARGIN - now;
		if (left < 0)
			left = 0;
		tv.tv_sec = left / 1000000;
		tv.tv_usec = left % 1000000;
		evtimer_add(&w->w_ev, &tv);
		return w;
	}
	if (w->w_concurrency > 0) {
		kl->kl_active++;
		w->w_slot = 1;
	}
	klimits_rate(w, now);
	return w;
}

void
klimits_cancel(struct klwait *w)
{
	if (w == NULL)
		return;
	klimits_unqueue(w);
	kredis_cancel(w->w_rreq);
	if (w->w_slot)
		klimits_slot_free(w->w_kl);
	klimits_wait_free(w);
}

void
klimits_release(struct klwait *w)
{
	if (w == NULL)
		return;
	if (w->w_slot)
		klimits_slot_free(w->w_kl);
	klimits_wait_free(w);
}

#define KLIMITS_PAUSE_MAX	15	/* s: an upstream's Retry-After */

void
klimits_block(struct klimits *ks, const char *tenant, const char *connector,
    int seconds)
{
	struct klimit	*kl;
	int64_t		 until;

	if (seconds <= 0 || (kl = klimits_find(ks, tenant, connector)) == NULL)
		return;
	/*
	 * Believed for a while only, as the response cache believes it
	 * (CACHE_RETRY_MAX): an upstream that says "an hour", wrongly or on
	 * purpose, must not stop a connector for an hour; a call after the
	 * pause that is answered the same pauses it again.
	 */
	if (seconds > KLIMITS_PAUSE_MAX)
		seconds = KLIMITS_PAUSE_MAX;
	until = ratelimit_now() + (int64_t)seconds * 1000000;
	if (until > kl->kl_blocked)
		kl->kl_blocked = until;
}
