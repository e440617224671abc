/*
 * keeper.c — the only process that holds secrets and reaches upstreams.
 *
 * It runs as keeper_user, undumpable, under its own seccomp filter and a
 * Landlock ruleset that lets it read only the tenants' stores and the
 * resolver's files.  Each worker bound to it has one channel, made by the
 * parent and handed over with MSG_WORKER_FD.  Every frame a worker sends
 * is checked against the permit table below; anything else closes that
 * worker's channel, is logged by name, and the parent is asked to respawn
 * the worker.
 *
 * A connector call (MSG_CALL) is a plan rendered by the worker.  The
 * keeper checks it against its own copy of the connector from the same
 * configuration generation (keeper_plan.c), completes the symbolic
 * secrets, makes the HTTPS call (keeper_egress.c), replaces secret-derived
 * bytes in the answer (keeper_redact.c) and replies with MSG_RESULT or
 * MSG_FAIL.  Generations: the keeper keeps an older one while a worker
 * still declares it (MSG_GEN) or a call made with it is in flight.
 */
#include "build.h"

#include <sys/queue.h>
#include <sys/uio.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "chan.h"
#include "config.h"
#include "connector.h"
#include "idmap.h"
#include "ipc.h"
#include "keeper_auth.h"
#include "keeper_egress.h"
#include "keeper_limit.h"
#include "keeper_plan.h"
#include "keeper_redact.h"
#include "keeper_test.h"
#include "keeper_redis.h"
#include "log.h"
#include "metrics.h"
#include "plan.h"
#include "proc.h"
#include "ratelimit.h"
#include "sandbox.h"
#include "snapshot.h"
#include "spare.h"
#include "store.h"
#include "template/template.h"
#include "testmsg.h"

#define KEEPER_MAX_CALLS	4096	/* in flight per worker channel */
#define KEEPER_REDACT_BUDGET	(4 << 20)	/* bytes of redaction sets */
/*
 * Replies a worker may leave unread before it is evicted: two of the
 * largest frames (a MSG_RESULT) being written, and room for pongs.  A
 * worker that floods pings without reading the pongs once took the keeper
 * to 529 MB; now it is replaced at this, before ipc.c's own cap.
 */
#define KEEPER_MAX_QUEUED	(2 * IPC_MAX_PAYLOAD + 8 * 1024 * 1024)

#define SCOPE_NETWORK	"Downstream (network/external service)"

/* A worker's channel is in one of these states. */
enum keeper_state {
	KS_READY = 0x1,		/* may ask for anything permitted */
};

struct keeper;
struct keeper_worker;

/* One configuration generation the keeper holds. */
struct kgen {
	TAILQ_ENTRY(kgen)	 kg_entry;
	struct snapshot		*kg_snap;
	int			 kg_calls;	/* in flight with it */
	/* Each tenant's store by its index (NULL: out of memory, logged). */
	struct kstore		**kg_stores;
	/* Each tenant's saved connectors' (kconn), made on first use. */
	struct kconn		**kg_conns;
};

/*
 * A saved connector's limits entry and metrics row, found by name once a
 * generation, then by the index its calls name it by.  Both outlive the
 * generation: klimits never drops an entry, and a metrics slot finds its
 * row by name again after a clear.
 */
struct kconn {
	struct klimit		*kn_limit;	/* NULL: not looked up yet */
	struct metrics_slot	 kn_row;
};

/* One tenant store's secrets, shared by the generations that name it. */
struct kstore {
	TAILQ_ENTRY(kstore)	 ks_entry;
	char			*ks_path;
	struct store_map	*ks_map;	/* NULL: unreadable (logged) */
	int			 ks_mark;
};

/* One MSG_CALL being served. */
struct kcall {
	TAILQ_ENTRY(kcall)	 kc_entry;
	struct keeper_worker	*kc_kw;		/* NULL once the worker left */
	uint32_t		 kc_id;
	struct kgen		*kc_gen;
	struct plan		 kc_plan;
	struct kreq		 kc_req;
	struct kauth_req	*kc_auth;	/* tokens, signatures, mTLS */
	struct registry		*kc_testreg;	/* PLAN_TEST: its definition */
	struct egress_call	*kc_ec;
	struct timespec		 kc_start;
	struct klwait		*kc_wait;	/* the limits' permission */
	int			 kc_attempt;	/* attempts started */
	int64_t			 kc_attempt_us;	/* when the last one started */
	struct event		*kc_retry_ev;	/* the next attempt's backoff */
};

/* One a call, calloc'd: within glibc's per-thread cache (keeper_plan.h). */
_Static_assert(sizeof(struct kcall) <= 1024, "struct kcall past 1 KiB");

/*
 * Calls' structures, wiped, for the next ones (spare.h): every call
 * takes one, and the last one freed is taken without a trip to malloc.
 */
static struct spare	 kcall_spare;

/* A call's structure, all zeroes (a spare is wiped when it is put). */
static struct kcall *
kcall_new(void)
{
	struct kcall	*kc;

	if ((kc = spare_take(&kcall_spare, NULL)) != NULL)
		return kc;
	return calloc(1, sizeof(struct kcall));
}

static void
kcall_put(struct kcall *kc)
{
	explicit_bzero(kc, sizeof(*kc));
	free(spare_put(&kcall_spare, kc, sizeof(*kc)));
}

struct keeper_worker {
	struct keeper		*kw_k;
	int			 kw_slot;
	struct chan		*kw_chan;
	enum keeper_state	 kw_state;
	uint64_t		 kw_gen;	/* the oldest generation it
					   declared (MSG_GEN) in use there */
	char			 kw_why[256];	/* why its channel is closed */
	int			 kw_ncalls;
	TAILQ_HEAD(, kcall)	 kw_calls;
	struct idmap		 kw_byid;	/* the same calls, by id */
};

struct keeper {
	struct event_base	*k_base;
	struct chan		*k_parent;
	struct keeper_worker	*k_workers[IPC_MAX_SLOTS];
	int			 k_nworkers;
	int			 k_shutdown;
	TAILQ_HEAD(, kgen)	 k_gens;	/* newest first */
	TAILQ_HEAD(, kstore)	 k_stores;
	struct egress		*k_egress;
	struct kauth		*k_auth;	/* the token cache */
	struct ktests		*k_tests;	/* test mode's definitions */
	struct metrics		*k_metrics;	/* pushed to the parent */
	struct klimits		*k_limits;	/* per-connector limits */
	struct kredis		*k_redis;	/* NULL: no shared rates */
	int			 k_ncalls;	/* in flight, all workers */
	int			 k_slot;
	long			 k_nprocs;	/* CPUs, as the parent counts */
	struct redact_cache	*k_redact;	/* sets by the values they hide */
};

static int	keeper_ping(struct keeper_worker *, struct ipc_msg *);
static int	keeper_start(struct kcall *, struct kgen *);
static int	keeper_call(struct keeper_worker *, struct ipc_msg *);
static int	keeper_gen_msg(struct keeper_worker *, struct ipc_msg *);

/*
 * The permit table: the message types a worker may send, in which states,
 * within which limits, and who handles them.  A type that is not here is
 * never accepted from a worker, whatever the channel's state.  kp_inflight
 * is how many of that type may be in the keeper's hands at once (0: each
 * is answered at once); kp_queued how much of the keeper's replies to this
 * worker may wait unread when one more arrives.  A worker over either is
 * evicted (MSG_WORKER_EVICT) and the parent replaces it.
 */
static const struct keeper_permit {
	uint32_t	 kp_type;
	unsigned	 kp_states;
	int		 kp_inflight;
	size_t		 kp_queued;
	int		(*kp_handler)(struct keeper_worker *, struct ipc_msg *);
} keeper_permits[] = {
	/* Health round trip: answered at once, so the pongs must be read. */
	{ MSG_PING,	KS_READY, 0, KEEPER_MAX_QUEUED,	keeper_ping },
	/* A connector call: upstream work, up to KEEPER_MAX_CALLS at once. */
	{ MSG_CALL,	KS_READY, KEEPER_MAX_CALLS, KEEPER_MAX_QUEUED,
	    keeper_call },
	/* Generation in use: no reply, but not from a worker that reads none. */
	{ MSG_GEN,	KS_READY, 0, KEEPER_MAX_QUEUED,	keeper_gen_msg },
};

/*
 * A worker broke the rules: say how (logged once, when the channel
 * closes) and return -1, which closes it.
 */
static int
keeper_refuse(struct keeper_worker *kw, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(kw->kw_why, sizeof(kw->kw_why), fmt, ap);
	va_end(ap);
	return -1;
}

static const struct keeper_permit *
keeper_permit_find(uint32_t type)
{
	size_t	 i;

	for (i = 0; i < sizeof(keeper_permits) / sizeof(keeper_permits[0]); i++)
		if (keeper_permits[i].kp_type == type)
			return &keeper_permits[i];
	return NULL;
}

/* --- Generations and stores ----------------------------------------------- */

static struct kgen *
keeper_gen_find(struct keeper *k, uint64_t gen)
{
	struct kgen	*kg;

	TAILQ_FOREACH(kg, &k->k_gens, kg_entry)
		if (kg->kg_snap->sn_gen == gen)
			return kg;
	return NULL;
}

static struct kstore *
keeper_store_find(struct keeper *k, const char *path)
{
	struct kstore	*ks;

	TAILQ_FOREACH(ks, &k->k_stores, ks_entry)
		if (strcmp(ks->ks_path, path) == 0)
			return ks;
	return NULL;
}

static void
keeper_store_report(const char *msg, void *arg)
{
	log_warnx("%s", msg);
}

/* (Re-)read one store's secrets; the old map is wiped once replaced. */
static void
keeper_store_read(struct kstore *ks)
{
	struct store_map	*m;
	char			 err[256];

	if ((m = store_read(ks->ks_path, STORE_SECRET, keeper_store_report,
	    NULL, err, sizeof(err))) == NULL) {
		log_warnx("secrets of %s: %s (keeping what was read before)",
		    ks->ks_path, err);
		return;
	}
	store_map_free(ks->ks_map);
	ks->ks_map = m;
	log_debug("secrets of %s: %zu", ks->ks_path, store_map_count(m));
}

/*
 * Every store a generation names is read (once, shared), and the
 * generation keeps each tenant's: a call finds its store by the tenant's
 * index, not by a walk of every tenant's path.
 */
static int
keeper_stores_add(struct keeper *k, struct kgen *kg)
{
	const struct widgetd_config	*cfg = kg->kg_snap->sn_cfg;
	struct kstore			*ks;
	size_t				 i;

	if ((kg->kg_stores = calloc(cfg->c_ntenants + 1,
	    sizeof(*kg->kg_stores))) == NULL)
		return -1;
	for (i = 0; i < cfg->c_ntenants; i++) {
		if ((ks = keeper_store_find(k, cfg->c_tenants[i].t_store)) ==
		    NULL) {
			if ((ks = calloc(1, sizeof(*ks))) == NULL ||
			    (ks->ks_path = strdup(cfg->c_tenants[i].t_store)) ==
			    NULL) {
				free(ks);
				log_warnx("%s: out of memory", __func__);
				continue;
			}
			keeper_store_read(ks);
			TAILQ_INSERT_TAIL(&k->k_stores, ks, ks_entry);
		}
		kg->kg_stores[i] = ks;
	}
	return 0;
}

/* Stores no generation names any more are wiped. */
static void
keeper_stores_prune(struct keeper *k)
{
	struct kstore	*ks, *next;
	struct kgen	*kg;
	size_t		 i;

	TAILQ_FOREACH(ks, &k->k_stores, ks_entry)
		ks->ks_mark = 0;
	TAILQ_FOREACH(kg, &k->k_gens, kg_entry)
		for (i = 0; i < kg->kg_snap->sn_cfg->c_ntenants; i++)
			if (kg->kg_stores[i] != NULL)
				kg->kg_stores[i]->ks_mark = 1;
	for (ks = TAILQ_FIRST(&k->k_stores); ks != NULL; ks = next) {
		next = TAILQ_NEXT(ks, ks_entry);
		if (ks->ks_mark)
			continue;
		TAILQ_REMOVE(&k->k_stores, ks, ks_entry);
		store_map_free(ks->ks_map);
		redact_cache_clear(k->k_redact);
		free(ks->ks_path);
		free(ks);
	}
}

/*
 * Drop generations nobody can use any more: not the newest, no call in
 * flight, older than the oldest one any worker declares.  A worker
 * declares the oldest generation it still runs a request on (a composite
 * connector between two steps has no call in flight).
 */
static void
keeper_gens_prune(struct keeper *k)
{
	struct kgen	*kg, *next, *newest = TAILQ_FIRST(&k->k_gens);
	uint64_t	 declared;
	int		 i, used, dropped = 0;

	for (kg = TAILQ_NEXT(newest, kg_entry); kg != NULL; kg = next) {
		next = TAILQ_NEXT(kg, kg_entry);
		used = kg->kg_calls > 0;
		for (i = 0; !used && i < IPC_MAX_SLOTS; i++) {
			if (k->k_workers[i] == NULL)
				continue;
			declared = k->k_workers[i]->kw_gen;
			if (declared != 0 && declared <= kg->kg_snap->sn_gen)
				used = 1;
		}
		if (used)
			continue;
		log_debug("generation %llu dropped",
		    (unsigned long long)kg->kg_snap->sn_gen);
		TAILQ_REMOVE(&k->k_gens, kg, kg_entry);
		for (i = 0; kg->kg_conns != NULL &&
		    (size_t)i < kg->kg_snap->sn_cfg->c_ntenants; i++)
			free(kg->kg_conns[i]);
		free(kg->kg_conns);
		snapshot_unref(kg->kg_snap);
		free(kg->kg_stores);
		free(kg);
		dropped = 1;
	}
	/* Only a dropped generation can leave a store nobody names. */
	if (dropped)
		keeper_stores_prune(k);
}

static void
keeper_egress_conf(const struct snapshot *sn, struct egress_conf *ec)
{
	const struct widgetd_config *c = sn->sn_cfg;

	memset(ec, 0, sizeof(*ec));
	ec->ec_policy = &c->c_egress.policy;
	ec->ec_ca = sn->sn_ca;
	ec->ec_calen = sn->sn_calen;
	ec->ec_resolve = c->c_egress.resolve;
	ec->ec_nresolve = c->c_egress.nresolve;
	ec->ec_timeout_ms = c->c_egress.timeout * 1000;
	ec->ec_max_body = c->c_limits.upstream_body;
	ec->ec_idle_conns = (size_t)c->c_egress.idle_connections;
}

/* How many keepers the parent runs for this configuration. */
static int
keeper_count(const struct keeper *k, const struct widgetd_config *c)
{
	long	 w = c->c_workers > 0 ? c->c_workers : k->k_nprocs;

	if (w < 1)
		w = 1;
	if (w > 256)
		w = 256;
	return c->c_keepers < 1 ? 1 : c->c_keepers > w ? (int)w :
	    c->c_keepers;
}

/* The shared redis of a generation, and each keeper's share without it. */
static void
keeper_limits_conf(struct keeper *k, const struct widgetd_config *c)
{
	const struct conf_redis	*r = &c->c_redis;
	/* Both bounded by config.c: a numeric address, a short prefix. */
	static char		 addr[64], prefix[CONF_REDIS_PREFIX_MAX + 1];
	static int		 port;
	int			 nk = keeper_count(k, c);

	if (k->k_redis != NULL && (r->r_address == NULL ||
	    strcmp(addr, r->r_address) != 0 || port != r->r_port ||
	    strcmp(prefix, r->r_prefix) != 0)) {
		/*
		 * The calls kredis_free answers go on locally; one of them
		 * may hand its slot to another, which must not ask the
		 * client being freed.
		 */
		klimits_configure(k->k_limits, nk, c->c_limits.instances,
		    NULL);
		kredis_free(k->k_redis);
		k->k_redis = NULL;
	}
	if (r->r_address != NULL && k->k_redis == NULL) {
		snprintf(addr, sizeof(addr), "%s", r->r_address);
		snprintf(prefix, sizeof(prefix), "%s", r->r_prefix);
		port = r->r_port;
		if ((k->k_redis = kredis_new(k->k_base, r->r_address,
		    r->r_port, r->r_prefix, k->k_metrics)) == NULL)
			log_warnx("%s: out of memory", __func__);
	}
	if (r->r_address == NULL && k->k_slot == 0)
		log_info("no redis configured: connector rates are enforced "
		    "by each keeper for its share (rate / %d keepers / %d "
		    "instances)", nk, c->c_limits.instances);
	klimits_configure(k->k_limits, nk, c->c_limits.instances,
	    k->k_redis);
}

/* A new generation: the newest from now on. */
static int
keeper_gen_add(struct keeper *k, struct snapshot *sn)
{
	struct egress_conf	 ec;
	struct kgen		*kg;
	char			 err[256];

	if (keeper_gen_find(k, sn->sn_gen) != NULL) {
		snapshot_unref(sn);
		return 0;
	}
	if ((kg = calloc(1, sizeof(*kg))) == NULL) {
		snapshot_unref(sn);
		return -1;
	}
	kg->kg_snap = sn;
	keeper_egress_conf(sn, &ec);
	if (k->k_egress == NULL) {
		if ((k->k_egress = egress_new(k->k_base, &ec, err,
		    sizeof(err))) == NULL)
			fatalx("egress: %s", err);
		if ((k->k_auth = kauth_new(k->k_egress)) == NULL ||
		    (k->k_redact = redact_cache_new(KEEPER_REDACT_BUDGET)) ==
		    NULL)
			fatalx("%s: out of memory", __func__);
	} else if (egress_reconfigure(k->k_egress, &ec, err, sizeof(err)) ==
	    -1)
		log_warnx("generation %llu: egress: %s (keeping the previous "
		    "settings)", (unsigned long long)sn->sn_gen, err);
	kauth_set_window(k->k_auth, sn->sn_cfg->c_egress.timeout);
	kauth_set_metrics(k->k_auth, k->k_metrics);
	keeper_limits_conf(k, sn->sn_cfg);
	if (keeper_stores_add(k, kg) == -1) {
		snapshot_unref(sn);
		free(kg);
		return -1;
	}
	TAILQ_INSERT_HEAD(&k->k_gens, kg, kg_entry);
	keeper_gens_prune(k);
	return 0;
}

/* --- Calls ------------------------------------------------------------------ */

static void
keeper_call_free(struct kcall *kc)
{
	struct keeper	*k = NULL;

	if (kc->kc_kw != NULL) {
		k = kc->kc_kw->kw_k;
		TAILQ_REMOVE(&kc->kc_kw->kw_calls, kc, kc_entry);
		idmap_del(&kc->kc_kw->kw_byid, kc->kc_id);
		kc->kc_kw->kw_ncalls--;
		k->k_ncalls--;
		metrics_global_set(k->k_metrics, MG_KEEPER_INFLIGHT,
		    (uint64_t)k->k_ncalls);
	}
	if (kc->kc_ec != NULL)
		egress_cancel(kc->kc_ec);
	/* Before the request goes: its slot and its place in a queue. */
	klimits_cancel(kc->kc_wait);
	if (kc->kc_retry_ev != NULL)
		event_free(kc->kc_retry_ev);
	kauth_req_free(kc->kc_auth);
	kreq_clear(&kc->kc_req);
	plan_clear(&kc->kc_plan);
	registry_free(kc->kc_testreg);
	/*
	 * The last call of an old generation may let it go; the newest
	 * stays, and a generation with calls left stays: no walk per call.
	 */
	if (kc->kc_gen != NULL && --kc->kc_gen->kg_calls == 0 && k != NULL &&
	    kc->kc_gen != TAILQ_FIRST(&k->k_gens))
		keeper_gens_prune(k);
	kcall_put(kc);
}

static void
keeper_send_fail(struct keeper_worker *kw, uint32_t id, struct fail *fl)
{
	struct ipc_buf	 b;

	if (fail_encode(&b, fl) == 0)
		chan_send(kw->kw_chan, MSG_FAIL, id, b.b_data, b.b_len, -1);
	ipc_buf_clear(&b);
}

/* A failure with a fixed status, scope and message. */
static void
keeper_fail(struct keeper_worker *kw, uint32_t id, int status,
    const char *code, const char *scope, const char *detail, const char *host,
    int timeout, uint64_t external_us)
{
	struct fail	 fl;

	memset(&fl, 0, sizeof(fl));
	fl.fl_status = (uint32_t)status;
	fl.fl_code = (char *)code;
	fl.fl_scope = (char *)scope;
	fl.fl_detail = (char *)detail;
	fl.fl_host = (char *)host;
	fl.fl_timeout = (uint32_t)timeout;
	fl.fl_external_us = external_us;
	keeper_send_fail(kw, id, &fl);
}

static uint64_t
keeper_us_since(const struct timespec *t0)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000000 +
	    (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000);
}

static void	keeper_attempt(struct kcall *, int64_t);
static struct kconn *keeper_conn(struct kcall *);

/* A response header of er, or NULL. */
static const char *
keeper_er_header(const struct egress_result *er, const char *name)
{
	size_t	 i;

	for (i = 0; i < er->er_nheaders; i++)
		if (strcasecmp(er->er_headers[i].eh_name, name) == 0)
			return er->er_headers[i].eh_value;
	return NULL;
}

static void
keeper_retry_cb(int fd, short what, void *arg)
{
	keeper_attempt(arg, 0);
}

/*
 * Another attempt after this one (widgetd.retry): only for idempotent
 * methods, on a failure to get an answer or a 429 or 5xx, after the
 * backoff or the upstream's Retry-After, and only when it still fits in
 * the call's window.  1 scheduled, 0 not.
 */
static int
keeper_retry(struct kcall *kc, const struct egress_result *er, int pause,
    struct metrics_row *row)
{
	const struct conn_ext	*e = &kc->kc_req.kr_cr->cr_ext;
	const char		*m = kc->kc_req.kr_method;
	struct timeval		 tv;
	int64_t			 delay, deadline;
	uint32_t		 jitter;
	int			 i;

	if (e->ce_attempts <= kc->kc_attempt || strcmp(m, "POST") == 0 ||
	    strcmp(m, "PATCH") == 0)
		return 0;
	if (er->er_error != EGRESS_OK) {
		/* What another try cannot change: policy, size, the request. */
		if (er->er_error == EGRESS_EPOLICY ||
		    er->er_error == EGRESS_ETOOBIG ||
		    er->er_error == EGRESS_EREQUEST ||
		    er->er_error == EGRESS_EINTERNAL ||
		    er->er_error == EGRESS_ETIMEOUT)
			return 0;
	} else if (er->er_status != 429 && er->er_status != 500 &&
	    er->er_status != 502 && er->er_status != 503 &&
	    er->er_status != 504)
		return 0;
	delay = (int64_t)(e->ce_backoff * 1e6);
	for (i = 1; i < kc->kc_attempt && delay < e->ce_max_backoff * 1e6; i++)
		delay *= 2;
	if (delay > e->ce_max_backoff * 1e6)
		delay = (int64_t)(e->ce_max_backoff * 1e6);
	/* Half to all of it: clients that failed together spread out. */
	if (api_random(&jitter, sizeof(jitter)) == 0)
		delay = delay / 2 + (int64_t)(jitter % (uint32_t)(delay / 2 + 1));
	/* Past the pause, never on its edge (the connector is blocked
	 * until then, klimits_block). */
	if (pause > 0 && (int64_t)pause * 1000000 + 50000 > delay)
		delay = (int64_t)pause * 1000000 + 50000;
	deadline = (int64_t)kc->kc_start.tv_sec * 1000000 +
	    kc->kc_start.tv_nsec / 1000 +
	    (int64_t)kc->kc_gen->kg_snap->sn_cfg->c_egress.timeout * 1000000;
	/* The next attempt needs time of its own: a second at least. */
	if (ratelimit_now() + delay + 1000000 > deadline)
		return 0;
	if (kc->kc_retry_ev == NULL && (kc->kc_retry_ev = evtimer_new(
	    kc->kc_kw->kw_k->k_base, keeper_retry_cb, kc)) == NULL)
		return 0;
	tv.tv_sec = delay / 1000000;
	tv.tv_usec = delay % 1000000;
	evtimer_add(kc->kc_retry_ev, &tv);
	metrics_row_add(kc->kc_kw->kw_k->k_metrics, row, MF_UPSTREAM_RETRIES,
	    1);
	log_debug("call %s: attempt %d of %d in %lld ms", kc->kc_plan.pl_reqid,
	    kc->kc_attempt + 1, e->ce_attempts, (long long)delay / 1000);
	return 1;
}

/*
 * An answer's body, taken from egress, has been written to its worker (or
 * the channel went): wiped with its NUL, as egress would have.
 */
static void
keeper_body_release(const void *body, size_t len, void *arg)
{
	(void)arg;
	keeper_body_free((void *)(uintptr_t)body, len + 1);
}

/*
 * The upstream answered (or did not): redact and reply.  The call's
 * metrics row is looked up once (a hash of both names and two compares
 * each time); nothing here makes another row before its last use, so
 * the pointer stays good.
 */
static void
keeper_call_done(struct egress_result *er, void *arg)
{
	struct kcall		*kc = arg;
	struct keeper_worker	*kw = kc->kc_kw;
	struct keeper		*k = kw != NULL ? kw->kw_k : NULL;
	struct metrics_row	*row = NULL;
	struct kconn		*kn;
	struct redact		*rd;
	struct result		 rs;
	struct result_header	 rh[RESULT_MAX_HEADERS];	/* borrowed */
	struct ipc_buf		 b;
	struct iovec		 iov[3];
	const char		*ra;
	size_t			 i, headlen;
	int			 n, r, pause = 0;

	kc->kc_ec = NULL;	/* finished: nothing to cancel */
	memset(&rs, 0, sizeof(rs));
	if (kw == NULL)
		goto out;
	/* The attempt is over: its slot goes to the next in line. */
	klimits_release(kc->kc_wait);
	kc->kc_wait = NULL;
	if (k->k_metrics != NULL && (kn = keeper_conn(kc)) != NULL)
		row = metrics_row_slot(k->k_metrics, kc->kc_req.kr_tenant,
		    kc->kc_req.kr_connector, &kn->kn_row);
	else if (k->k_metrics != NULL)
		row = metrics_row(k->k_metrics, kc->kc_req.kr_tenant,
		    kc->kc_req.kr_connector);
	metrics_row_add(k->k_metrics, row, MF_UPSTREAM_REQUESTS, 1);
	metrics_row_observe(k->k_metrics, row, (uint64_t)(ratelimit_now() -
	    kc->kc_attempt_us));
	if (er->er_error != EGRESS_OK)
		metrics_row_add(k->k_metrics, row, MF_UPSTREAM_ERRORS, 1);
	else if (!er->er_reused)
		metrics_row_add(k->k_metrics, row, MF_UPSTREAM_CONNECTS, 1);
	/* A 401 on a cached token: once more with a new one (§9). */
	if (er->er_error == EGRESS_OK && (r = kauth_retry(k->k_auth,
	    kc->kc_auth, er->er_status)) != 0) {
		if (r == 1)
			keeper_attempt(kc, 0);
		return;		/* r == 2: keeper_auth_ready goes on */
	}
	/*
	 * The upstream asks for a pause: nothing more goes to it until
	 * then, from any call; other connectors are not concerned.
	 */
	if (er->er_error == EGRESS_OK && (er->er_status == 429 ||
	    er->er_status == 503) && (ra = keeper_er_header(er,
	    "Retry-After")) != NULL && (pause = ratelimit_retry_after(ra,
	    time(NULL))) > 0)
		klimits_block(k->k_limits, kc->kc_req.kr_tenant,
		    kc->kc_req.kr_connector, pause);
	if (keeper_retry(kc, er, pause, row))
		return;
	if (er->er_error != EGRESS_OK) {
		log_debug("call %s: %s: %s", kc->kc_plan.pl_reqid,
		    kreq_host(&kc->kc_req), er->er_msg);
		keeper_fail(kw, kc->kc_id, 502, "", SCOPE_NETWORK, er->er_msg,
		    kreq_host(&kc->kc_req), er->er_error == EGRESS_ETIMEOUT,
		    keeper_us_since(&kc->kc_start));
		goto out;
	}
	/* Nothing secret-derived goes back to the worker. */
	if ((rd = redact_cache_get(k->k_redact,
	    (const char *const *)kc->kc_req.kr_secrets,
	    kc->kc_req.kr_secretlens, kc->kc_req.kr_nsecrets)) == NULL)
		goto oom;
	n = egress_result_redact(er, rd);
	redact_cache_done(k->k_redact);
	if (n == -1)
		goto oom;
	if (n > 0) {
		metrics_row_add(k->k_metrics, row, MF_REDACTIONS, (uint64_t)n);
		log_info("call %s: %d secret-derived string%s redacted from "
		    "%s's answer", kc->kc_plan.pl_reqid, n, n == 1 ? "" : "s",
		    er->er_host);
	}
	rs.rs_status = (uint32_t)er->er_status;
	rs.rs_headers = rh;
	for (i = 0; i < er->er_nheaders && i < RESULT_MAX_HEADERS; i++) {
		rs.rs_headers[i].rh_name = er->er_headers[i].eh_name;
		rs.rs_headers[i].rh_value = er->er_headers[i].eh_value;
		rs.rs_headers[i].rh_namelen = er->er_headers[i].eh_namelen;
		rs.rs_headers[i].rh_valuelen = er->er_headers[i].eh_valuelen;
		rs.rs_nheaders++;
	}
	rs.rs_body = (unsigned char *)er->er_body;
	rs.rs_bodylen = er->er_bodylen;
	rs.rs_host = er->er_host;
	rs.rs_dns_us = (uint64_t)er->er_timing.et_dns;
	rs.rs_connect_us = (uint64_t)er->er_timing.et_connect;
	rs.rs_tls_us = (uint64_t)er->er_timing.et_tls;
	rs.rs_ttfb_us = (uint64_t)er->er_timing.et_ttfb;
	rs.rs_total_us = keeper_us_since(&kc->kc_start);
	rs.rs_reused = (uint32_t)er->er_reused;
	rs.rs_redacted = (uint32_t)n;
	/*
	 * The body is written to the worker from egress's buffer, which the
	 * channel takes (keeper_body_release wipes it once written): no copy
	 * into the frame.
	 */
	if (result_encode_parts(&b, &headlen, &rs) == 0) {
		iov[0].iov_base = b.b_data;
		iov[0].iov_len = headlen;
		iov[1].iov_base = rs.rs_body;
		iov[1].iov_len = rs.rs_bodylen;
		iov[2].iov_base = b.b_data + headlen;
		iov[2].iov_len = b.b_len - headlen;
		er->er_body = NULL;
		chan_sendv_given(kw->kw_chan, MSG_RESULT, kc->kc_id, iov, 3, 1,
		    keeper_body_release, NULL);
	} else
		keeper_fail(kw, kc->kc_id, 502, "", SCOPE_NETWORK,
		    "the upstream's answer is too large",
		    kreq_host(&kc->kc_req), 0, rs.rs_total_us);
	ipc_buf_clear(&b);
	goto out;
oom:
	keeper_fail(kw, kc->kc_id, 500, "", "Unexpected error",
	    "out of memory", kreq_host(&kc->kc_req), 0, 0);
out:
	/* rh's pointers are borrowed from er, which egress wipes and frees. */
	keeper_call_free(kc);
}

/* Hand the completed request to egress, within the call's window. */
static int
keeper_start(struct kcall *kc, struct kgen *kg)
{
	struct egress_request	 req;
	struct egress_field	 hbuf[2 * KREQ_HEADERS], *hf = hbuf;
	size_t			 i;

	memset(&req, 0, sizeof(req));
	if (kc->kc_req.kr_nheaders > sizeof(hbuf) / sizeof(hbuf[0]) &&
	    (hf = calloc(kc->kc_req.kr_nheaders, sizeof(*hf))) == NULL)
		return -1;
	for (i = 0; i < kc->kc_req.kr_nheaders; i++) {
		hf[i].ef_name = kc->kc_req.kr_headers[i].kh_name;
		hf[i].ef_value = kc->kc_req.kr_headers[i].kh_value;
	}
	req.eq_method = kc->kc_req.kr_method;
	req.eq_url = kc->kc_req.kr_url;
	req.eq_headers = hf;
	req.eq_nheaders = kc->kc_req.kr_nheaders;
	if (kc->kc_req.kr_has_body) {
		req.eq_body = kc->kc_req.kr_body != NULL ?
		    (const void *)kc->kc_req.kr_body : "";
		req.eq_bodylen = kc->kc_req.kr_bodylen;
	}
	req.eq_cert = kauth_client_cert(kc->kc_auth, &req.eq_certlen,
	    (const char **)&req.eq_key, &req.eq_keylen);
	/* The window runs from when the keeper took the call. */
	req.eq_deadline = kc->kc_start;
	req.eq_deadline.tv_sec += kg->kg_snap->sn_cfg->c_egress.timeout;
	kc->kc_ec = egress_start(kc->kc_kw->kw_k->k_egress, &req,
	    keeper_call_done, kc);
	if (hf != hbuf)
		free(hf);	/* egress copied what it needs */
	return kc->kc_ec == NULL ? -1 : 0;
}

/* The limits' answer for one attempt: go, or a refusal to pass on. */
static void
keeper_limit_cb(void *arg, int status, int retry_after, const char *code,
    const char *detail)
{
	struct kcall		*kc = arg;
	struct keeper_worker	*kw = kc->kc_kw;
	struct fail		 fl;

	if (status != 0) {
		kc->kc_wait = NULL;	/* gone with the refusal */
		memset(&fl, 0, sizeof(fl));
		fl.fl_status = (uint32_t)status;
		fl.fl_code = (char *)code;
		fl.fl_scope = (char *)"Request";
		fl.fl_detail = (char *)detail;
		fl.fl_host = (char *)kreq_host(&kc->kc_req);
		fl.fl_retry_after = (uint32_t)retry_after;
		fl.fl_external_us = keeper_us_since(&kc->kc_start);
		keeper_send_fail(kw, kc->kc_id, &fl);
		keeper_call_free(kc);
		return;
	}
	kc->kc_attempt++;
	kc->kc_attempt_us = ratelimit_now();
	if (keeper_start(kc, kc->kc_gen) == -1) {
		keeper_fail(kw, kc->kc_id, 502, "", SCOPE_NETWORK,
		    "cannot start the call", kreq_host(&kc->kc_req), 0, 0);
		keeper_call_free(kc);
	}
}

/*
 * The call's connector's kconn, or NULL: a composite's step or a test
 * (found by name each time), or out of memory (the same).
 */
static struct kconn *
keeper_conn(struct kcall *kc)
{
	struct kgen		*kg = kc->kc_gen;
	const struct plan	*pl = &kc->kc_plan;
	size_t			 nt = kg->kg_snap->sn_cfg->c_ntenants;
	struct kconn		**t;

	/* pl_conn was checked against the tenant's registry; again here. */
	if (pl->pl_kind != PLAN_CONNECTOR || pl->pl_tenant >= nt ||
	    pl->pl_conn >= kg->kg_snap->sn_tenants[pl->pl_tenant].st_reg->
	    r_nconns)
		return NULL;
	if (kg->kg_conns == NULL &&
	    (kg->kg_conns = calloc(nt, sizeof(*kg->kg_conns))) == NULL)
		return NULL;
	t = &kg->kg_conns[pl->pl_tenant];
	if (*t == NULL && (*t = calloc(kg->kg_snap->sn_tenants[
	    pl->pl_tenant].st_reg->r_nconns, sizeof(**t))) == NULL)
		return NULL;
	return &(*t)[pl->pl_conn];
}

/*
 * One attempt at the upstream, once the connector's limits allow it.
 * now: CLOCK_MONOTONIC us, the caller's reading in this same callback
 * (the call's start, when it goes on from keeper_call); 0: the limits
 * read the clock.
 */
static void
keeper_attempt(struct kcall *kc, int64_t now)
{
	struct keeper_worker	*kw = kc->kc_kw;
	struct klimits		*ks = kw->kw_k->k_limits;
	struct timespec		 deadline = kc->kc_start;
	struct kconn		*kn = keeper_conn(kc);
	struct klimit		*kl = kn != NULL ? kn->kn_limit : NULL;

	deadline.tv_sec += kc->kc_gen->kg_snap->sn_cfg->c_egress.timeout;
	if (kl == NULL && (kl = klimits_entry(ks, kc->kc_req.kr_tenant,
	    kc->kc_req.kr_connector)) != NULL && kn != NULL)
		kn->kn_limit = kl;
	if (kl == NULL || (kc->kc_wait = klimits_acquire_at(ks, kl,
	    &kc->kc_req.kr_cr->cr_ext, &deadline, now, keeper_limit_cb,
	    kc)) == NULL) {
		keeper_fail(kw, kc->kc_id, 500, "", "Unexpected error",
		    "out of memory", kreq_host(&kc->kc_req), 0, 0);
		keeper_call_free(kc);
	}
}

/*
 * The call's credential is ready (fl NULL), or cannot be had.  now: as
 * keeper_attempt's.
 */
static void
keeper_auth_go(struct kcall *kc, struct fail *fl, int64_t now)
{
	struct keeper_worker	*kw = kc->kc_kw;

	if (kw == NULL) {
		keeper_call_free(kc);
		return;
	}
	if (fl != NULL) {
		fl->fl_external_us = keeper_us_since(&kc->kc_start);
		keeper_send_fail(kw, kc->kc_id, fl);
		keeper_call_free(kc);
		return;
	}
	keeper_attempt(kc, now);
}

/* kauth's callback, from the loop: the clock is read again. */
static void
keeper_auth_ready(void *arg, struct fail *fl)
{
	keeper_auth_go(arg, fl, 0);
}

static int
keeper_call_lookup(const char *name, const void **val, size_t *len,
    void *arg)
{
	struct kstore	*ks = arg;

	if (ks == NULL || ks->ks_map == NULL)
		return -1;
	return store_lookup(ks->ks_map, name, val, len);
}

static int
keeper_call(struct keeper_worker *kw, struct ipc_msg *m)
{
	struct keeper		*k = kw->kw_k;
	struct kcall		*kc;
	struct kgen		*kg;
	struct kstore		*ks;
	struct fail		 fl;
	const struct conn_request *cr;
	const char		*why;
	int			 r;

	/* An answer goes back by id: one call an id, and never 0. */
	if (m->m_id == 0)
		return keeper_refuse(kw, "call id 0");
	if (idmap_get(&kw->kw_byid, m->m_id) != NULL)
		return keeper_refuse(kw, "call id %u reused", m->m_id);
	if ((kc = kcall_new()) == NULL) {
		keeper_fail(kw, m->m_id, 503, "UNAVAILABLE", "Unexpected error",
		    "out of memory", "", 0, 0);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &kc->kc_start);
	kc->kc_id = m->m_id;
	if (plan_decode(m, &kc->kc_plan, &why) == -1) {
		kcall_put(kc);
		return keeper_refuse(kw, "malformed plan: %s", why);
	}
	if (idmap_put(&kw->kw_byid, kc->kc_id, kc) == -1) {
		plan_clear(&kc->kc_plan);
		kcall_put(kc);
		keeper_fail(kw, m->m_id, 503, "UNAVAILABLE", "Unexpected error",
		    "out of memory", "", 0, 0);
		return 0;
	}
	kc->kc_kw = kw;
	TAILQ_INSERT_TAIL(&kw->kw_calls, kc, kc_entry);
	kw->kw_ncalls++;
	k->k_ncalls++;
	metrics_global_set(k->k_metrics, MG_KEEPER_INFLIGHT,
	    (uint64_t)k->k_ncalls);
	if ((kg = keeper_gen_find(k, kc->kc_plan.pl_gen)) == NULL) {
		/* A generation already dropped or not yet here: retryable. */
		keeper_fail(kw, kc->kc_id, 503, "UNAVAILABLE", "Request",
		    "configuration is changing; retry", "", 0, 0);
		keeper_call_free(kc);
		return 0;
	}
	kc->kc_gen = kg;
	kg->kg_calls++;
	/* Declared by MSG_GEN; a call only stands in for a silent worker. */
	if (kw->kw_gen == 0)
		kw->kw_gen = kg->kg_snap->sn_gen;
	memset(&fl, 0, sizeof(fl));
	cr = NULL;
	if (kc->kc_plan.pl_kind == PLAN_TEST) {
		/* Only what the parent gave for this worker, once. */
		if ((kc->kc_testreg = ktests_take(k->k_tests,
		    kc->kc_plan.pl_conn, (uint32_t)kw->kw_slot,
		    kc->kc_plan.pl_tenant)) == NULL) {
			keeper_fail(kw, kc->kc_id, 503, "UNAVAILABLE", "Request",
			    "the test's definition is gone; run it again", "",
			    0, 0);
			keeper_call_free(kc);
			return 0;
		}
		cr = &kc->kc_testreg->r_conns[0].c_req;
	}
	if ((r = cr != NULL ? keeper_plan_check_request(kg->kg_snap, cr,
	    &kc->kc_plan, &fl, &why) : keeper_plan_check(kg->kg_snap,
	    &kc->kc_plan, &fl, &why)) == -1) {
		/* Where a secret goes is never the worker's choice. */
		keeper_refuse(kw, "plan for request %s refused: %s",
		    kc->kc_plan.pl_reqid, why);
		fail_clear(&fl);
		keeper_call_free(kc);
		return -1;
	}
	if (r == 1) {
		keeper_send_fail(kw, kc->kc_id, &fl);
		fail_clear(&fl);
		keeper_call_free(kc);
		return 0;
	}
	ks = kg->kg_stores[kc->kc_plan.pl_tenant];
	if ((cr != NULL ? keeper_plan_complete_request(kg->kg_snap, cr,
	    &kc->kc_plan, keeper_call_lookup, ks, &kc->kc_req, &fl) :
	    keeper_plan_complete(kg->kg_snap, &kc->kc_plan,
	    keeper_call_lookup, ks, &kc->kc_req, &fl)) == -1) {
		fl.fl_external_us = 0;
		keeper_send_fail(kw, kc->kc_id, &fl);
		fail_clear(&fl);
		keeper_call_free(kc);
		return 0;
	}
	/* Tokens, signatures, certificates: maybe a token fetch first. */
	if ((r = kauth_prepare(k->k_auth, &kc->kc_req, &kc->kc_auth,
	    keeper_auth_ready, kc, &fl)) == -1) {
		keeper_send_fail(kw, kc->kc_id, &fl);
		fail_clear(&fl);
		keeper_call_free(kc);
		return 0;
	}
	/*
	 * Straight on, in this callback: the reading of the call's start,
	 * a moment ago (no wait in between), is the limits' now.
	 */
	if (r == 0)
		keeper_auth_go(kc, NULL, (int64_t)kc->kc_start.tv_sec *
		    1000000 + kc->kc_start.tv_nsec / 1000);
	return 0;
}

static int
keeper_ping(struct keeper_worker *kw, struct ipc_msg *m)
{
	chan_send(kw->kw_chan, MSG_PONG, m->m_id, NULL, 0, -1);
	return 0;
}

static int
keeper_gen_msg(struct keeper_worker *kw, struct ipc_msg *m)
{
	uint64_t	 gen;

	if (ipc_decode_gen(m, &gen) == -1)
		return keeper_refuse(kw, "malformed MSG_GEN");
	kw->kw_gen = gen;
	keeper_gens_prune(kw->kw_k);
	return 0;
}

/* --- Channels --------------------------------------------------------------- */

static void
keeper_maybe_exit(struct keeper *k)
{
	/* After MSG_SHUTDOWN, stay until the last worker has gone. */
	if (k->k_shutdown && k->k_nworkers == 0)
		event_base_loopexit(k->k_base, NULL);
}

static void
keeper_worker_free(struct keeper_worker *kw)
{
	struct keeper	*k = kw->kw_k;
	struct kcall	*kc;

	/* Calls in flight have nobody to answer: stop them. */
	while ((kc = TAILQ_FIRST(&kw->kw_calls)) != NULL)
		keeper_call_free(kc);
	idmap_clear(&kw->kw_byid);
	k->k_workers[kw->kw_slot] = NULL;
	k->k_nworkers--;
	chan_free(kw->kw_chan);
	free(kw);
	keeper_gens_prune(k);
	keeper_maybe_exit(k);
}

static int
keeper_worker_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct keeper_worker		*kw = arg;
	const struct keeper_permit	*p;

	p = keeper_permit_find(m->m_type);
	if (p == NULL || (p->kp_states & kw->kw_state) == 0)
		return keeper_refuse(kw, "%s is not permitted",
		    ipc_type_name(m->m_type));
	if (m->m_fd != -1)
		return keeper_refuse(kw, "an fd came with %s",
		    ipc_type_name(m->m_type));
	if (p->kp_inflight > 0 && kw->kw_ncalls >= p->kp_inflight)
		return keeper_refuse(kw, "%s: more than %d in flight",
		    ipc_type_name(m->m_type), p->kp_inflight);
	if (chan_queued(kw->kw_chan) > p->kp_queued)
		return keeper_refuse(kw, "%s: %zu bytes of replies left unread "
		    "(at most %zu)", ipc_type_name(m->m_type),
		    chan_queued(kw->kw_chan), p->kp_queued);
	return p->kp_handler(kw, m);
}

static void
keeper_worker_close(struct chan *ch, enum chan_end end, const char *why,
    void *arg)
{
	struct keeper_worker	*kw = arg;
	struct keeper		*k = kw->kw_k;
	struct ipc_buf		 b;
	int			 evict;

	/*
	 * Only a frame the keeper refused is the worker's fault; EOF or a
	 * reset is a worker dying, which the parent sees by itself (and an
	 * eviction then could hit its replacement).
	 */
	evict = end == CHAN_VIOLATION;
	if (evict)
		log_warnx("worker %d broke the protocol (%s): closing its "
		    "channel and asking for a new worker", kw->kw_slot,
		    kw->kw_why[0] != '\0' ? kw->kw_why : why);
	else
		log_debug("worker %d channel closed (%s)", kw->kw_slot, why);
	if (evict && ipc_encode_u32(&b, (uint32_t)kw->kw_slot) == 0)
		chan_send(k->k_parent, MSG_WORKER_EVICT, 0, b.b_data, b.b_len,
		    -1);
	if (evict)
		ipc_buf_clear(&b);
	keeper_worker_free(kw);
}

static int
keeper_add_worker(struct keeper *k, struct ipc_msg *m)
{
	struct keeper_worker	*kw;
	uint32_t		 slot;

	/* ipc.c checked them: a pipe to read from, one to write to. */
	if (m->m_nfds != 2 || ipc_decode_slot(m, &slot) == -1)
		return -1;
	/* A respawned worker's new channel replaces the dead one's. */
	if (k->k_workers[slot] != NULL)
		keeper_worker_free(k->k_workers[slot]);
	if ((kw = calloc(1, sizeof(*kw))) == NULL) {
		close(m->m_fds[0]);
		close(m->m_fds[1]);
		goto fail;
	}
	kw->kw_k = k;
	kw->kw_slot = (int)slot;
	kw->kw_state = KS_READY;
	TAILQ_INIT(&kw->kw_calls);
	kw->kw_chan = chan_new_pipes(k->k_base, m->m_fds[0], m->m_fds[1],
	    IPC_KEEPER, IPC_WORKER, keeper_worker_msg, keeper_worker_close, kw);
	if (kw->kw_chan == NULL) {
		free(kw);
		goto fail;
	}
	/* The answers of calls that finish together go in one write. */
	chan_defer(kw->kw_chan, 1);
	k->k_workers[slot] = kw;
	k->k_nworkers++;
	log_debug("worker %u channel up", slot);
	return 0;
fail:
	/* The worker sees EOF and answers 503; better than ending here. */
	log_warnx("%s: out of memory", __func__);
	return 0;
}

static void
keeper_snapshot(struct keeper *k, struct ipc_msg *m)
{
	struct snapshot	*sn;
	struct ipc_buf	 b;
	uint64_t	 gen = 0;	/* logged even when it was not read */

	if (ipc_decode_gen(m, &gen) == -1 ||
	    (sn = snapshot_load(m->m_fd, proc_log_report, NULL)) == NULL ||
	    sn->sn_gen != gen) {
		/* The parent validated it: only memory can fail here. */
		log_warnx("cannot load generation %llu; keeping the running "
		    "one", (unsigned long long)gen);
		close(m->m_fd);
		return;
	}
	close(m->m_fd);
	if (keeper_gen_add(k, sn) == -1) {
		log_warnx("%s: out of memory", __func__);
		return;
	}
	log_debug("generation %llu loaded", (unsigned long long)gen);
	if (ipc_encode_u64(&b, gen) == 0)
		chan_send(k->k_parent, MSG_SNAPSHOT_DONE, 0, b.b_data, b.b_len,
		    -1);
	ipc_buf_clear(&b);
}

static void
keeper_secrets_changed(struct keeper *k, struct ipc_msg *m)
{
	struct kgen	*kg = TAILQ_FIRST(&k->k_gens);
	const struct snap_tenant *st;
	struct kstore	*ks;
	char		*tenant;

	if (ipc_decode_secrets(m, &tenant) == -1)
		return;
	if ((st = snapshot_tenant_by_id(kg->kg_snap, tenant)) != NULL &&
	    (ks = kg->kg_stores[st->st_index]) != NULL) {
		keeper_store_read(ks);
		/* No pattern of a replaced value stays behind. */
		redact_cache_clear(k->k_redact);
		log_info("secrets of tenant %s re-read", tenant);
	}
	free(tenant);
	chan_send(k->k_parent, MSG_SECRETS_DONE, m->m_id, NULL, 0, -1);
}

/* Test mode: the parent's unsaved definition for one worker's call. */
static void
keeper_test_def(struct keeper *k, struct ipc_msg *m)
{
	struct ipc_buf	 b;
	char		 why[256];
	int		 ok;

	why[0] = '\0';
	ok = ktests_add(k->k_tests, m, TAILQ_FIRST(&k->k_gens)->kg_snap, why,
	    sizeof(why)) == 0;
	if (!ok)
		log_warnx("test definition %u refused: %s", m->m_id, why);
	if (testmsg_def_done_encode(&b, ok, why) == 0)
		chan_send(k->k_parent, MSG_TEST_DEF_DONE, m->m_id, b.b_data,
		    b.b_len, -1);
	ipc_buf_clear(&b);
}

static int
keeper_parent_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct keeper	*k = arg;

	switch (m->m_type) {
	case MSG_WORKER_FD:
		return keeper_add_worker(k, m);
	case MSG_SNAPSHOT:
		keeper_snapshot(k, m);
		return 0;
	case MSG_SECRETS:
		keeper_secrets_changed(k, m);
		return 0;
	case MSG_TEST_DEF:
		keeper_test_def(k, m);
		return 0;
	case MSG_SHUTDOWN:
		k->k_shutdown = 1;
		keeper_maybe_exit(k);
		return 0;
	default:
		log_warnx("parent sent unexpected %s", ipc_type_name(m->m_type));
		return -1;
	}
}

static void
keeper_parent_close(struct chan *ch, enum chan_end end, const char *why,
    void *arg)
{
	log_set_forward(NULL, NULL);
	fatalx("parent channel closed (%s)", why);
}

/*
 * What the keeper may read from now on (Landlock): its tenants' stores
 * and the resolver's files.  A store named by a later generation is
 * another keeper's (the parent starts new keepers when the stores change).
 */
static const char **
keeper_paths(const struct snapshot *sn)
{
	const char	**paths;
	size_t		  n = 0, i, nres;

	for (nres = 0; sandbox_resolver_paths[nres] != NULL; nres++)
		;
	if ((paths = calloc(sn->sn_cfg->c_ntenants + nres + 1,
	    sizeof(*paths))) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < sn->sn_cfg->c_ntenants; i++)
		paths[n++] = sn->sn_cfg->c_tenants[i].t_store;
	for (i = 0; i < nres; i++)
		paths[n++] = sandbox_resolver_paths[i];
	paths[n] = NULL;
	return paths;
}

/* Before each push: the connections egress keeps (its timer closes some). */
static void
keeper_metrics_refresh(struct metrics *m, void *arg)
{
	struct keeper	*k = arg;

	if (k->k_egress != NULL)
		metrics_global_set(m, MG_UPSTREAM_IDLE,
		    (uint64_t)egress_idle_conns(k->k_egress));
}

int
keeper_main(const struct proc_opts *po, int slot)
{
	struct keeper	 k;
	struct snapshot	*sn;
	const char	**paths;
	char		 name[32], err[256];

	memset(&k, 0, sizeof(k));
	k.k_slot = slot;
	k.k_nprocs = sysconf(_SC_NPROCESSORS_ONLN);
	TAILQ_INIT(&k.k_gens);
	TAILQ_INIT(&k.k_stores);
	snprintf(name, sizeof(name), "keeper %d", slot);
	log_procname(name);
	log_setverbose(po->po_verbose);
	proc_child_signals();
	/*
	 * The answers queued in one pass of the loop (chan_defer) are freed
	 * together once written.  A heap that handed that memory back to the
	 * kernel each time would take it again on the next pass, with brk
	 * and a page fault per page (S4: brk on 44% of the calls, the
	 * keeper's CPU per call doubled).  Blocks are wiped before free.
	 */
	proc_heap_keep();
	/* As in the worker: create everything before the sandbox. */
	if ((k.k_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	k.k_parent = chan_new(k.k_base, PROC_CHAN_FD, IPC_KEEPER, IPC_PARENT,
	    keeper_parent_msg, keeper_parent_close, &k);
	if (k.k_parent == NULL)
		fatalx("cannot set up the parent channel");
	log_set_forward(proc_log_forward, k.k_parent);

	if ((sn = snapshot_load(PROC_SNAP_FD, proc_log_report, NULL)) == NULL)
		fatalx("cannot load the configuration snapshot");
	close(PROC_SNAP_FD);
	if (proc_raise_nofile() == -1)
		log_warn("cannot raise the open files limit");
	tzset();
	/* libcurl, OpenSSL and the template engine, before any filter. */
	if (egress_init(err, sizeof(err)) == -1)
		fatalx("egress: %s", err);
	if (tmpl_init() == -1)
		log_warnx("C.UTF-8 locale missing: templates map case in ASCII "
		    "only");
	if (api_init() == -1)
		fatal("cannot initialise the random source");
	if ((k.k_metrics = proc_metrics_start(k.k_base, k.k_parent)) == NULL ||
	    (k.k_limits = klimits_new(k.k_base, k.k_metrics)) == NULL)
		fatalx("out of memory");
	proc_metrics_refresh(keeper_metrics_refresh, &k);
	if (keeper_gen_add(&k, sn) == -1 || (k.k_tests = ktests_new()) == NULL)
		fatalx("out of memory");
	paths = keeper_paths(sn);
	proc_confine(PROC_KEEPER, sn->sn_cfg, paths);
	free(paths);

	chan_send(k.k_parent, MSG_READY, 0, NULL, 0, -1);
	log_debug("ready");
	event_base_dispatch(k.k_base);
	proc_metrics_flush();
	chan_flush_sync(k.k_parent);
	/* As in the worker: no exit handlers under the filter. */
	_exit(0);
}
