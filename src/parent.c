/*
 * parent.c — the supervising process.
 *
 * The parent binds the listeners, starts the keeper and the workers, and
 * from then on only accepts connections, counts them per client address
 * (admit.c: the caps), and hands each one to the next worker in turn
 * (SCM_RIGHTS, MSG_CONN_FD).  It never reads a request
 * byte and never opens a secret.  It supervises its children: a dead one is
 * respawned with exponential backoff, and the channels between workers and
 * the keeper are made here, so that a respawned keeper or worker is linked
 * to the survivors again.  It writes the children's log lines.
 *
 * Generations: the parent reads the configuration, the registries, the
 * stored variables and the session keys once per load into a sealed
 * snapshot (snapshot.h), validates it, and gives every child the same
 * bytes.  A reload that changes no process (users, chroot, the numbers of
 * workers and keepers) hands the new snapshot to the running keepers,
 * and once every keeper has it, to the workers: connections and in-flight
 * calls live on; the keepers keep an older generation until no worker uses
 * it.  A reload that does change processes starts a new epoch: a new set
 * of keepers and workers with the new snapshot, while the old ones drain
 * (MSG_SHUTDOWN) — old workers keep talking to their old keepers, which
 * exit when their last worker has gone.
 *
 * Publishers (SPEC §10): one per tenant with a repository, supervised like
 * the others (the section "Publishers" below).  A publish that makes a
 * new generation live is taken as a new configuration generation, handed
 * over in place like a reload that changes no process.
 */
#include "build.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "accesslog.h"
#include "admit.h"
#include "chan.h"
#include "config.h"
#include "control.h"
#include "ipc.h"
#include "log.h"
#include "parent_test.h"
#include "metrics.h"
#include "proc.h"
#include "pubdir.h"
#include "publish.h"
#include "sandbox.h"
#include "snapshot.h"
#include "version.h"

#define PARENT_BACKLOG		511
#define PARENT_CRASH_LOOP	3	/* consecutive crashes worth a warning */
#define PARENT_DRAIN_DEFAULT	30
#define PARENT_HOLD_MAX		1024	/* connections held while no worker is ready */
#define PARENT_FD_RESERVE	64	/* a worker's fds that are not clients */
#define PARENT_SNAP_WAIT	10	/* seconds keepers get to load a snapshot */
#define PARENT_CTL_WAIT		10	/* seconds a control command waits for
					   the children's answers */
#define PARENT_OWED_MAX		16	/* control answers one child may owe */
#define PARENT_PUBLISH_WAIT	25	/* seconds widgetctl publish waits */
#define PARENT_TEST_MAX		(4 * 1024 * 1024) /* bytes of a test request */
#define PARENT_REFUSE_LOG	10	/* seconds between lines on refusals */

struct parent;

/* One running child. */
struct pproc {
	TAILQ_ENTRY(pproc)	 pp_entry;
	struct parent		*pp_parent;
	enum proc_role		 pp_role;
	int			 pp_slot;
	int			 pp_epoch;	/* set of processes it belongs to */
	uint64_t		 pp_gen;	/* configuration generation in force */
	pid_t			 pp_pid;
	struct timespec		 pp_started;
	struct chan		*pp_chan;	/* NULL once closed */
	int			 pp_ready;
	int			 pp_conns;	/* connections handed, not done */
	uint32_t		 pp_owner;	/* names it in the admit table */
	uint32_t		 pp_handed;	/* the last connection's number */
	int			 pp_sendq[IPC_MAX_FDS];	/* handed, not yet sent */
	uint32_t		 pp_sendq_seq[IPC_MAX_FDS];
	int			 pp_nsendq;
	int			 pp_recycled;	/* draining to be replaced */
	int			 pp_draining;
	struct event		*pp_kill_ev;	/* drain deadline */
	uint32_t		 pp_owed[PARENT_OWED_MAX]; /* wait ids */
	int			 pp_nowed;
	struct metrics		*pp_metrics;	/* its last MSG_METRICS */
	struct log_rate		 pp_lograte;	/* its MSG_LOG lines */
	struct log_rate		 pp_accrate;	/* its access-log lines */
	struct event		*pp_log_ev;	/* reports what was dropped */
};

/* A place for one child of the current generation. */
struct pslot {
	struct parent		*ps_parent;
	enum proc_role		 ps_role;
	int			 ps_slot;
	struct pproc		*ps_proc;	/* NULL while down */
	struct proc_backoff	 ps_backoff;
	struct event		*ps_respawn_ev;
	int			 ps_respawns;	/* since the slot was made */
};

/* A control-socket command waiting for the children. */
enum pwait_kind {
	PW_RELOAD,		/* every child on the new generation */
	PW_SECRETS,		/* every keeper re-read the store, then
				   every worker purged its cache */
	PW_STATUS,		/* every worker sent its counters */
	PW_PUBLISH		/* publishers answered; workers on the result */
};

struct pwait {
	TAILQ_ENTRY(pwait)	 pw_entry;
	struct parent		*pw_parent;
	struct control_req	*pw_req;
	enum pwait_kind		 pw_kind;
	uint32_t		 pw_id;		/* of the frames asked for */
	uint64_t		 pw_gen;	/* PW_RELOAD: the generation */
	char			*pw_tenant;	/* PW_SECRETS: whose secrets */
	int			 pw_workers;	/* PW_SECRETS: workers asked */
	int			 pw_pending;	/* answers still to come */
	struct event		*pw_timer;
	struct json_object	*pw_reply;	/* built as answers come */
	struct json_object	*pw_rows;	/* PW_STATUS: by tenant/link */
};

struct plistener {
	int			 pl_fd;
	char			*pl_address;
	int			 pl_port;
	struct evconnlistener	*pl_lev;
};

struct parent {
	int			 p_test_hooks;	/* WIDGETD_TEST_HOOKS=1 */
	struct event_base	*p_base;
	struct widgetd_config	*p_cfg;
	struct proc_opts	 p_opts;
	struct plistener	*p_listeners;
	size_t			 p_nlisteners;
	TAILQ_HEAD(, pproc)	 p_procs;
	struct pslot		*p_wslots;
	int			 p_nworkers;
	struct pslot		*p_kslots;
	int			 p_nkeepers;
	int			 p_epoch;	/* the current set of processes */
	uint64_t		 p_gen;		/* newest configuration generation */
	struct snapshot		*p_snap;	/* generation p_gen: keepers */
	struct snapshot		*p_wsnap;	/* what workers get: p_snap once
						   every keeper has loaded it */
	struct event		*p_snap_ev;	/* bounds the wait for keepers */
	struct timespec		 p_started;
	struct control		*p_control;	/* the control socket, or NULL */
	TAILQ_HEAD(, pwait)	 p_waits;
	uint32_t		 p_wait_seq;
	int			 p_conns;	/* all workers together */
	int			 p_paused;	/* listeners off: all workers full */
	int			 p_shutdown;
	int			 p_held[PARENT_HOLD_MAX];	/* accepted, no worker yet */
	struct admit_conn	*p_held_adm[PARENT_HOLD_MAX];
	size_t			 p_nheld;
	struct admit		*p_admit;	/* per address and total counts */
	uint32_t		 p_owner_seq;	/* the last pp_owner given */
	unsigned int		 p_rr;		/* round-robin cursor */
	time_t			 p_refuse_logged[ADMIT_NOMEM + 1]; /* last
						   line on refusals, per cause */
	unsigned long		 p_refused[ADMIT_NOMEM + 1]; /* since */
	struct event		*p_sig[5];
	int			 p_conn_limit;	/* per worker: config, fd limit */
	long			 p_nofile;	/* RLIMIT_NOFILE, as children get it */
	int			 p_accept_err;	/* listeners off: accept failing */
	struct event		*p_accept_ev;	/* turns them on again */
	struct pslot		*p_bslots;	/* publishers: one per tenant
						   with a repository, ps_slot
						   the tenant's index */
	int			 p_nbslots;
	struct json_object	*p_pubstats;	/* per tenant id: publishes */
	char		       **p_unpublish;	/* tenant dirs to unpublish once
						   their publisher has gone */
	size_t			 p_nunpublish;
	struct event		*p_sendq_ev;	/* sends what accept handed */
	struct ptests		*p_tests;	/* test mode runs (parent_test.c) */
	struct plistener	*p_mlistener;	/* metrics, or NULL */
	struct metrics		*p_retired;	/* counters of exited children */
	struct metrics_parent	 p_mp;		/* what the parent counts */
	struct accesslog	*p_access;	/* log.access_file, or NULL */
};

static void	parent_respawn_cb(int, short, void *);

static double
parent_uptime_at(const struct timespec *since, const struct timespec *now)
{
	return (double)(now->tv_sec - since->tv_sec) +
	    (double)(now->tv_nsec - since->tv_nsec) / 1e9;
}
static void	parent_listeners_update(struct parent *);
static void	parent_accept_error_cb(struct evconnlistener *, void *);
static void	parent_dispatch_held(struct parent *);
static void	parent_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);

static const char *
parent_name(const struct pproc *pp, char *buf, size_t len)
{
	snprintf(buf, len, "%s %d (pid %ld)", proc_role_name(pp->pp_role),
	    pp->pp_slot, (long)pp->pp_pid);
	return buf;
}

static int
parent_nworkers(const struct widgetd_config *cfg)
{
	long	 n = cfg->c_workers;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	if (n > 256)
		n = 256;
	return (int)n;
}

static int
parent_drain_secs(const struct parent *p)
{
	int	 t = p->p_cfg->c_limits.drain_timeout;

	return t > 0 ? t : PARENT_DRAIN_DEFAULT;
}

/*
 * Connections per worker: limits.connections, but never so many that a
 * worker runs out of fds.  A worker at RLIMIT_NOFILE would get an fd
 * hand-off truncated (MSG_CTRUNC), which fails its channel and ends it
 * with every connection it holds.  Children inherit the parent's limit
 * and raise their soft limit to the same hard one.
 */
static void
parent_conn_limit(struct parent *p)
{
	long	 max = p->p_cfg->c_limits.connections;

	if (p->p_nofile > 0 && max > p->p_nofile - PARENT_FD_RESERVE) {
		max = p->p_nofile - PARENT_FD_RESERVE;
		if (max < 1)
			max = 1;
		log_warnx("open files limit %ld: at most %ld connections per "
		    "worker instead of limits.connections %d", p->p_nofile,
		    max, p->p_cfg->c_limits.connections);
	}
	p->p_conn_limit = (int)max;
	admit_set_limits(p->p_admit, p->p_cfg->c_limits.address_connections,
	    p->p_cfg->c_limits.total_connections);
}

/* Listeners. */

static int
parent_bind_one(const char *address, int port)
{
	struct addrinfo	 hints, *res = NULL;
	char		 portstr[16];
	int		 fd = -1, one = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((e = getaddrinfo(address, portstr, &hints, &res)) != 0) {
		log_warnx("listen %s port %d: %s", address, port,
		    gai_strerror(e));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd == -1) {
		log_warn("listen %s port %d: socket", address, port);
		goto out;
	}
	/* A restart must not wait for the old sockets' TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "::" means IPv6 only; list "0.0.0.0" separately for IPv4. */
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, PARENT_BACKLOG) == -1) {
		log_warn("listen %s port %d", address, port);
		close(fd);
		fd = -1;
	}
out:
	freeaddrinfo(res);
	return fd;
}

static void
parent_listeners_free(struct plistener *ls, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (ls[i].pl_lev != NULL)
			evconnlistener_free(ls[i].pl_lev);	/* closes */
		else if (ls[i].pl_fd != -1)
			close(ls[i].pl_fd);
		free(ls[i].pl_address);
	}
	free(ls);
}

/*
 * Bind every listen entry of cfg; NULL (and nothing bound) on failure.
 * Entries that match one of old's (a reload) take over its socket, so a
 * listener that stays is never closed or bound twice; they are moved
 * only once everything new is bound.
 */
static struct plistener *
parent_bind(const struct widgetd_config *cfg, struct plistener *old,
    size_t nold)
{
	struct plistener	*ls;
	size_t			 i, j;
	ssize_t			*from;

	if ((ls = calloc(cfg->c_nlisten + 1, sizeof(*ls))) == NULL)
		return NULL;
	if ((from = calloc(cfg->c_nlisten + 1, sizeof(*from))) == NULL) {
		free(ls);
		return NULL;
	}
	for (i = 0; i < cfg->c_nlisten; i++) {
		ls[i].pl_fd = -1;
		from[i] = -1;
		for (j = 0; j < nold; j++)
			if (old[j].pl_fd != -1 && old[j].pl_port ==
			    cfg->c_listen[i].l_port && strcmp(old[j].pl_address,
			    cfg->c_listen[i].l_address) == 0)
				from[i] = (ssize_t)j;
	}
	for (i = 0; i < cfg->c_nlisten; i++) {
		ls[i].pl_address = strdup(cfg->c_listen[i].l_address);
		ls[i].pl_port = cfg->c_listen[i].l_port;
		if (ls[i].pl_address == NULL)
			goto fail;
		if (from[i] != -1)
			continue;
		ls[i].pl_fd = parent_bind_one(ls[i].pl_address, ls[i].pl_port);
		if (ls[i].pl_fd == -1)
			goto fail;
	}
	for (i = 0; i < cfg->c_nlisten; i++) {
		if (from[i] == -1)
			continue;
		ls[i].pl_fd = old[from[i]].pl_fd;
		ls[i].pl_lev = old[from[i]].pl_lev;
		old[from[i]].pl_fd = -1;
		old[from[i]].pl_lev = NULL;
	}
	free(from);
	return ls;
fail:
	free(from);
	parent_listeners_free(ls, cfg->c_nlisten);
	return NULL;
}

static int
parent_listeners_start(struct parent *p)
{
	size_t	 i;

	for (i = 0; i < p->p_nlisteners; i++) {
		struct plistener *l = &p->p_listeners[i];

		if (l->pl_lev != NULL)
			continue;
		/* Backlog 0: the socket is already listening. */
		l->pl_lev = evconnlistener_new(p->p_base, parent_accept_cb, p,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, l->pl_fd);
		if (l->pl_lev == NULL) {
			log_warnx("listen %s port %d: evconnlistener failed",
			    l->pl_address, l->pl_port);
			return -1;
		}
		evconnlistener_set_error_cb(l->pl_lev, parent_accept_error_cb);
	}
	parent_listeners_update(p);
	return 0;
}

/* Listeners accept unless every worker is full or accept keeps failing. */
static void
parent_listeners_update(struct parent *p)
{
	size_t	 i;

	for (i = 0; i < p->p_nlisteners; i++) {
		if (p->p_listeners[i].pl_lev == NULL)
			continue;
		if (p->p_paused || p->p_accept_err)
			evconnlistener_disable(p->p_listeners[i].pl_lev);
		else
			evconnlistener_enable(p->p_listeners[i].pl_lev);
	}
}

static void
parent_accept_resume_cb(int fd, short what, void *arg)
{
	struct parent	*p = arg;

	p->p_accept_err = 0;
	parent_listeners_update(p);
}

/*
 * accept() failed for a reason other than a vanished client, typically
 * EMFILE.  The listening socket stays readable, so retrying at once would
 * spin: pause accepting for a second instead.
 */
static void
parent_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct parent	*p = arg;
	struct timeval	 tv = { 1, 0 };

	if (p->p_accept_err)
		return;
	log_warn("accept (pausing for a second)");
	p->p_accept_err = 1;
	parent_listeners_update(p);
	if (p->p_accept_ev == NULL)
		p->p_accept_ev = evtimer_new(p->p_base,
		    parent_accept_resume_cb, p);
	if (p->p_accept_ev != NULL)
		evtimer_add(p->p_accept_ev, &tv);
}

static int
parent_same_listeners(const struct parent *p, const struct widgetd_config *c)
{
	size_t	 i;

	if (p->p_nlisteners != c->c_nlisten)
		return 0;
	for (i = 0; i < c->c_nlisten; i++)
		if (strcmp(p->p_listeners[i].pl_address,
		    c->c_listen[i].l_address) != 0 ||
		    p->p_listeners[i].pl_port != c->c_listen[i].l_port)
			return 0;
	return 1;
}

/*
 * Backpressure: with every worker at limits.connections, stop accepting
 * and let the kernel's backlog hold new clients, rather than accepting
 * and closing them.
 */
static void
parent_pause(struct parent *p, int pause)
{
	if (p->p_paused == pause)
		return;
	p->p_paused = pause;
	parent_listeners_update(p);
	if (pause)
		log_warnx("%d connections: every worker is at its limit, "
		    "not accepting", p->p_conns);
	else
		log_info("below the connection limit again, accepting");
}

static void
parent_conn_done(struct parent *p, struct pproc *pp, int n)
{
	if (n > pp->pp_conns)
		n = pp->pp_conns;
	pp->pp_conns -= n;
	p->p_conns -= n;
	if (p->p_shutdown || pp->pp_conns >= p->p_conn_limit)
		return;
	/*
	 * Room again: accept, and hand over what was held.  Held ones go
	 * whether or not the listeners were paused: one is held whenever
	 * no worker could take it, and this close may be the first chance.
	 */
	if (p->p_paused)
		parent_pause(p, 0);
	if (p->p_nheld > 0)
		parent_dispatch_held(p);
}

/*
 * Send the connections handed to a worker as one MSG_CONN_FD.  A failed
 * channel closes them (chan_send_fds), and they are not counted.
 */
static void
parent_sendq_flush(struct parent *p, struct pproc *pp)
{
	int	 n = pp->pp_nsendq, i;

	if (n == 0)
		return;
	pp->pp_nsendq = 0;
	if (pp->pp_chan == NULL) {
		for (i = 0; i < n; i++)
			close(pp->pp_sendq[i]);
	} else if (chan_send_fds(pp->pp_chan, MSG_CONN_FD, 0, NULL, 0,
	    pp->pp_sendq, n) == 0)
		return;
	/* Never delivered: no longer counted for anyone. */
	for (i = 0; i < n; i++)
		admit_done(p->p_admit, pp->pp_owner, pp->pp_sendq_seq[i]);
	parent_conn_done(p, pp, n);
}

/*
 * Runs once the listeners' accept loops of this pass are done (the event
 * is made active, not timed): every worker gets what it was handed in one
 * message, one sendmsg for a whole batch of accepted connections.
 */
static void
parent_sendq_cb(int fd, short what, void *arg)
{
	struct parent	*p = arg;
	struct pproc	*pp;

	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		parent_sendq_flush(p, pp);
}

/* Is any ready worker below limits.connections? */
static int
parent_room(const struct parent *p)
{
	const struct pproc	*pp;
	int			 i;

	for (i = 0; i < p->p_nworkers; i++) {
		pp = p->p_wslots[i].ps_proc;
		if (pp != NULL && pp->pp_ready && pp->pp_chan != NULL &&
		    !pp->pp_draining && pp->pp_conns < p->p_conn_limit)
			return 1;
	}
	return 0;
}

static void	parent_drain(struct parent *, struct pproc *);

/*
 * Worker recycling (limits.worker_connections, limits.worker_lifetime):
 * a worker that has been handed that many connections, or has run that
 * long, drains — it finishes every request it has, closes idle
 * connections — and is replaced as soon as it has exited.  Nothing new
 * goes to it meanwhile.  It keeps its keeper channel until then: a new
 * worker in its slot would take the keeper's channel for that slot away
 * from requests still running.
 */
static void
parent_recycle_check(struct parent *p, struct pproc *pp)
{
	const struct conf_limits *l = &p->p_cfg->c_limits;
	struct timespec		 now;
	char			 name[64];

	if (pp->pp_draining || pp->pp_epoch != p->p_epoch)
		return;
	if (l->worker_connections > 0 &&
	    pp->pp_handed >= (uint32_t)l->worker_connections) {
		log_info("%s: recycled after %u connections "
		    "(limits.worker_connections)", parent_name(pp, name,
		    sizeof(name)), pp->pp_handed);
	} else if (l->worker_lifetime > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - pp->pp_started.tv_sec < l->worker_lifetime)
			return;
		log_info("%s: recycled after %lld s (limits.worker_lifetime)",
		    parent_name(pp, name, sizeof(name)),
		    (long long)(now.tv_sec - pp->pp_started.tv_sec));
	} else
		return;
	pp->pp_recycled = 1;
	parent_drain(p, pp);
}

/*
 * pp was just handed a connection.  Nobody below limits.connections is
 * left: stop accepting, or the next browser connection could only be
 * held (parent_pick finds no worker) until a worker is ready again.
 */
static void
parent_full_check(struct parent *p, struct pproc *pp)
{
	if (pp->pp_conns >= p->p_conn_limit && !parent_room(p))
		parent_pause(p, 1);
}

static struct pslot *parent_keeper_of(struct parent *, int);

/*
 * The next worker in turn (admit_pick) that is ready, takes connections
 * and holds fewer than limit by the parent's own count of what it handed
 * and saw closed; with keeper, only one whose keeper is up too.  NULL if
 * there is none.  What a worker reports cannot draw work to it: browser
 * connections, metrics scrapes and tests all take turns.
 */
static struct pproc *
parent_pick(struct parent *p, int keeper, int limit)
{
	struct pproc	*pp, *k;
	int		 ready[256], load[256], i;

	for (i = 0; i < p->p_nworkers && i < 256; i++) {
		pp = p->p_wslots[i].ps_proc;
		ready[i] = pp != NULL && pp->pp_ready && pp->pp_chan != NULL &&
		    !pp->pp_draining;
		if (ready[i] && keeper) {
			k = parent_keeper_of(p, i)->ps_proc;
			ready[i] = k != NULL && k->pp_ready &&
			    k->pp_chan != NULL;
		}
		load[i] = pp != NULL ? pp->pp_conns : 0;
	}
	if ((i = admit_pick(i, ready, load, limit, &p->p_rr)) == -1)
		return NULL;
	return p->p_wslots[i].ps_proc;
}

/*
 * Hand fd (counted as ac) to a ready worker, chosen round-robin by the
 * parent's own count of what it handed and saw closed (admit_pick): what
 * a worker reports cannot draw connections to it.  -1 (fd kept) if no
 * worker can take it.
 */
static int
parent_dispatch(struct parent *p, int fd, struct admit_conn *ac)
{
	struct pproc	*best;

	if ((best = parent_pick(p, 0, p->p_conn_limit)) == NULL)
		return -1;
	/* Numbered as the worker numbers what it receives. */
	if (++best->pp_handed == 0)
		best->pp_handed = 1;
	admit_bind(p->p_admit, ac, best->pp_owner, best->pp_handed);
	best->pp_sendq_seq[best->pp_nsendq] = best->pp_handed;
	/*
	 * Queued, counted now (so the limit below holds), sent when this
	 * pass's accepting is done.  Without the event (out of memory at
	 * start) each goes at once.
	 */
	best->pp_sendq[best->pp_nsendq++] = fd;
	best->pp_conns++;
	if (best->pp_nsendq == IPC_MAX_FDS || p->p_sendq_ev == NULL)
		parent_sendq_flush(p, best);
	else
		event_active(p->p_sendq_ev, EV_TIMEOUT, 1);
	p->p_conns++;
	parent_recycle_check(p, best);
	parent_full_check(p, best);
	return 0;
}

/* A worker became ready: give it the connections that waited for one. */
static void
parent_dispatch_held(struct parent *p)
{
	size_t	 i = 0;

	while (i < p->p_nheld && !p->p_paused &&
	    parent_dispatch(p, p->p_held[i], p->p_held_adm[i]) == 0)
		i++;
	memmove(p->p_held, p->p_held + i, (p->p_nheld - i) * sizeof(int));
	memmove(p->p_held_adm, p->p_held_adm + i,
	    (p->p_nheld - i) * sizeof(p->p_held_adm[0]));
	p->p_nheld -= i;
}

static void
parent_drop_held(struct parent *p)
{
	while (p->p_nheld > 0) {
		p->p_nheld--;
		close(p->p_held[p->p_nheld]);
		admit_release(p->p_admit, p->p_held_adm[p->p_nheld]);
	}
}

/*
 * A connection over a cap is closed at once; one line per cause and
 * PARENT_REFUSE_LOG seconds says so, with how many went since the last.
 */
static void
parent_refused(struct parent *p, enum admit_result why,
    const struct sockaddr *sa)
{
	const struct conf_limits *l = &p->p_cfg->c_limits;
	struct timespec	 now;
	char		 addr[INET6_ADDRSTRLEN + 8];

	p->p_refused[why]++;
	p->p_mp.mp_refused[why - ADMIT_PER_ADDRESS]++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->p_refuse_logged[why] != 0 &&
	    now.tv_sec - p->p_refuse_logged[why] < PARENT_REFUSE_LOG)
		return;
	p->p_refuse_logged[why] = now.tv_sec;
	if (why == ADMIT_PER_ADDRESS)
		log_warnx("connection limit: %s has %d open connections "
		    "(limits.address_connections): closing new ones; %lu "
		    "refused since the last report", admit_key_str(sa, addr,
		    sizeof(addr)), l->address_connections, p->p_refused[why]);
	else if (why == ADMIT_TOTAL)
		log_warnx("connection limit: %d open connections "
		    "(limits.total_connections): closing new ones; %lu refused "
		    "since the last report", l->total_connections,
		    p->p_refused[why]);
	else
		log_warnx("connection from %s refused: out of memory; %lu "
		    "refused since the last report", admit_key_str(sa, addr,
		    sizeof(addr)), p->p_refused[why]);
	p->p_refused[why] = 0;
}

static void
parent_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct parent		*p = arg;
	struct admit_conn	*ac;
	enum admit_result	 r;

	/* The parent sees every peer: the caps are enforced here. */
	if ((r = admit_conn(p->p_admit, sa, &ac)) != ADMIT_OK) {
		close(fd);
		parent_refused(p, r, sa);
		return;
	}
	if (parent_dispatch(p, fd, ac) == 0)
		return;
	/*
	 * No worker is ready (all restarting, or a reload's new generation
	 * still starting): hold the connection until one is.
	 */
	if (p->p_nheld == PARENT_HOLD_MAX) {
		log_debug("no worker ready and %d connections held: dropped",
		    PARENT_HOLD_MAX);
		close(fd);
		admit_release(p->p_admit, ac);
		return;
	}
	p->p_held_adm[p->p_nheld] = ac;
	p->p_held[p->p_nheld++] = fd;
}

/* Children. */

static struct pproc *
parent_find_pid(struct parent *p, pid_t pid)
{
	struct pproc	*pp;

	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		if (pp->pp_pid == pid)
			return pp;
	return NULL;
}

/* The keeper slot a worker slot is bound to (keepers = N). */
static struct pslot *
parent_keeper_of(struct parent *p, int wslot)
{
	return &p->p_kslots[wslot % p->p_nkeepers];
}

/*
 * A worker-keeper pipe holds as much as the socket pair it replaced, and
 * more: a 1 MiB answer goes in one write rather than sixteen of the
 * default 64 KiB, each a turn of the two processes.  Pages are taken as
 * bytes are written; a refusal (a lower pipe-max-size) keeps the default.
 */
#define PARENT_PIPE_SIZE	(1024 * 1024)

static void
parent_pipe_size(int fd)
{
	if (fcntl(fd, F_SETPIPE_SZ, PARENT_PIPE_SIZE) == -1)
		log_debug("%s: F_SETPIPE_SZ: %s", __func__, strerror(errno));
}

/* Give a worker and its keeper a channel to each other. */
static void
parent_link(struct parent *p, struct pproc *w)
{
	struct pproc	*k = parent_keeper_of(p, w->pp_slot)->ps_proc;
	struct ipc_buf	 b;
	int		 wk[2], kw[2], wfds[2], kfds[2];

	if (k == NULL || k->pp_chan == NULL || w->pp_chan == NULL ||
	    k->pp_epoch != w->pp_epoch)
		return;
	/*
	 * A pipe each way (wk: worker to keeper, kw: back): no fd travels
	 * between the two, and a pipe's write and wake-up cost the kernel
	 * less than a socket's, on every call and every answer.
	 */
	if (pipe2(wk, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("%s: pipe2", __func__);
		return;
	}
	if (pipe2(kw, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("%s: pipe2", __func__);
		close(wk[0]);
		close(wk[1]);
		return;
	}
	parent_pipe_size(wk[1]);
	parent_pipe_size(kw[1]);
	wfds[0] = kw[0];
	wfds[1] = wk[1];
	kfds[0] = wk[0];
	kfds[1] = kw[1];
	if (ipc_encode_u32(&b, (uint32_t)w->pp_slot) == -1) {
		close(wk[0]);
		close(wk[1]);
		close(kw[0]);
		close(kw[1]);
		goto out;
	}
	/*
	 * The parent makes the pipes and keeps no end: workers cannot make
	 * channels, and the keeper must not trust a worker to name itself.
	 * The slot number comes from the parent.
	 */
	chan_send_fds(w->pp_chan, MSG_KEEPER_FD, 0, NULL, 0, wfds, 2);
	chan_send_fds(k->pp_chan, MSG_WORKER_FD, 0, b.b_data, b.b_len, kfds, 2);
out:
	ipc_buf_clear(&b);
}

/*
 * What a child may write into the system log: a compromised worker once
 * wrote 200 MB of forged lines in a second.  Lines (MSG_LOG) a second on
 * average and in a burst, per child; access-log lines (one per request)
 * have their own, larger budget so that a busy worker keeps its access
 * log and a flood of either is cut.  What is dropped is counted, and the
 * count logged once a second at most while it lasts.
 */
#define PARENT_LOG_RATE		200
#define PARENT_LOG_BURST	1000
#define PARENT_ACCESS_RATE	20000
#define PARENT_ACCESS_BURST	40000
#define PARENT_LOG_REPORT_MS	1000

/* Say how many lines of pp were dropped since the last report. */
static void
parent_log_report(struct pproc *pp)
{
	char			 name[32];
	unsigned long long	 nlog, nacc;

	nlog = pp->pp_lograte.lr_dropped;
	nacc = pp->pp_accrate.lr_dropped;
	if (nlog == 0 && nacc == 0)
		return;
	pp->pp_lograte.lr_dropped = pp->pp_accrate.lr_dropped = 0;
	snprintf(name, sizeof(name), "%s %d", proc_role_name(pp->pp_role),
	    pp->pp_slot);
	/* The parent's own line: the count is the parent's, not the child's. */
	log_warnx("%s: %llu log line%s and %llu access line%s dropped (more "
	    "than %d and %d a second)", name, nlog, nlog == 1 ? "" : "s",
	    nacc, nacc == 1 ? "" : "s", PARENT_LOG_RATE, PARENT_ACCESS_RATE);
}

static void
parent_log_report_cb(int fd, short what, void *arg)
{
	parent_log_report(arg);
}

/*
 * 1 if the child may have one more line of that kind (access or not) now;
 * 0 if it is over its budget: the line is dropped and counted, and the
 * first drop of a flood starts the clock of its report.
 */
static int
parent_log_budget(struct pproc *pp, int access)
{
	struct timeval	 tv = { 0, PARENT_LOG_REPORT_MS * 1000 };

	if (log_rate_take(access ? &pp->pp_accrate : &pp->pp_lograte,
	    log_now()))
		return 1;
	if (pp->pp_log_ev == NULL)
		pp->pp_log_ev = evtimer_new(pp->pp_parent->p_base,
		    parent_log_report_cb, pp);
	if (pp->pp_log_ev != NULL && !evtimer_pending(pp->pp_log_ev, NULL))
		evtimer_add(pp->pp_log_ev, &tv);
	return 0;
}

/*
 * A child's line, as the root parent writes it: under the name the parent
 * knows it by (whatever the line says), cleaned, capped in length and
 * priority, within the child's budget.
 */
static void
parent_log_child(struct pproc *pp, int prio, const char *line, int access)
{
	char	 buf[LOG_CHILD_LINE], name[32];

	if (!parent_log_budget(pp, access))
		return;
	snprintf(name, sizeof(name), "%s %d", proc_role_name(pp->pp_role),
	    pp->pp_slot);
	log_child_line(buf, sizeof(buf), name, line);
	log_emit(log_child_prio(prio), buf);
}

/*
 * One access-log line per browser request, in the format of widgetd(8),
 * under the name of the worker that served it.
 */
static void
parent_access(struct parent *p, struct pproc *pp,
    const struct ipc_access *a)
{
	char	 line[2048];

	/*
	 * The line is the parent's own, every field escaped by
	 * accesslog_format() under the slot the parent started the worker
	 * as; the worker only decides how many, within its budget.
	 */
	if (!p->p_cfg->c_access_log || !parent_log_budget(pp, 1))
		return;
	accesslog_format(a, pp->pp_slot, p->p_cfg->c_access_format, line,
	    sizeof(line));
	if (p->p_access != NULL)
		accesslog_write(p->p_access, line);
	else
		log_emit(LOG_INFO, line);
}

/*
 * log.access_file of the configuration in force: opened at start and
 * when a reload names another file; SIGUSR1 opens it anew.
 */
static int
parent_access_file(struct parent *p, int reopen)
{
	const char	*path = p->p_cfg->c_access_file;
	char		 err[300];

	if (p->p_access != NULL && (path == NULL ||
	    strcmp(accesslog_path(p->p_access), path) != 0)) {
		accesslog_close(p->p_access);
		p->p_access = NULL;
	}
	if (path == NULL)
		return 0;
	if (p->p_access == NULL) {
		if ((p->p_access = accesslog_open(path, err,
		    sizeof(err))) == NULL) {
			log_warnx("access log: %s", err);
			return -1;
		}
		return 0;
	}
	if (reopen && accesslog_reopen(p->p_access, err, sizeof(err)) == -1) {
		log_warnx("access log: %s (still writing to the old file)",
		    err);
		return -1;
	}
	return 0;
}

/* --- Metrics ------------------------------------------------------------- */

/* A child's counters replace what it sent before. */
static int
parent_metrics_msg(struct pproc *pp, struct ipc_msg *m)
{
	struct metrics	*mt;

	if ((mt = metrics_new()) == NULL)
		return 0;
	if (metrics_decode(m, mt) == -1) {
		metrics_free(mt);
		return -1;
	}
	metrics_free(pp->pp_metrics);
	pp->pp_metrics = mt;
	return 0;
}

/*
 * Everything counted so far: the exited children's counters and every
 * live child's last table, summed; the parent's own numbers in *mp.
 * NULL when out of memory.
 */
static struct metrics *
parent_metrics_sum(struct parent *p, struct metrics_parent *mp)
{
	struct metrics	*sum;
	struct pproc	*pp;
	struct timespec	 now, mono;

	if ((sum = metrics_new()) == NULL)
		return NULL;
	if (p->p_retired != NULL && metrics_merge(sum, p->p_retired, 0) == -1)
		goto fail;
	*mp = p->p_mp;
	memset(mp->mp_processes, 0, sizeof(mp->mp_processes));
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry) {
		mp->mp_processes[pp->pp_role]++;
		if (pp->pp_metrics != NULL &&
		    metrics_merge(sum, pp->pp_metrics, 0) == -1)
			goto fail;
	}
	mp->mp_connections = p->p_conns > 0 ? (uint64_t)p->p_conns : 0;
	mp->mp_generation = p->p_gen;
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	mp->mp_start_time = (double)now.tv_sec + now.tv_nsec / 1e9 -
	    parent_uptime_at(&p->p_started, &mono);
	return sum;
fail:
	metrics_free(sum);
	return NULL;
}

/*
 * A scrape.  The parent never reads it: the text goes with the fd to a
 * worker, which parses the request and answers it.  It is a connection
 * like a browser's for the books: counted under its address and in total
 * (the caps apply), numbered on the worker's channel after the
 * connections queued for it (so both ends number it alike), and released
 * when the worker reports it closed by that number.  The worker is the
 * next in turn, whatever its load: a scrape is answered also when every
 * worker is at limits.connections, which is when it matters most.
 */
static void
parent_metrics_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct parent		*p = arg;
	struct metrics_parent	 mp;
	struct metrics		*sum = NULL;
	struct admit_conn	*ac = NULL;
	struct pproc		*w;
	struct ipc_buf		 b;
	enum admit_result	 r;
	char			*text = NULL;
	size_t			 len = 0;

	ipc_buf_init(&b);
	if ((r = admit_conn(p->p_admit, sa, &ac)) != ADMIT_OK) {
		close(fd);
		parent_refused(p, r, sa);
		return;
	}
	if ((w = parent_pick(p, 0, INT_MAX)) == NULL ||
	    (sum = parent_metrics_sum(p, &mp)) == NULL ||
	    (text = metrics_render(sum, &mp, &len)) == NULL ||
	    ipc_put_bytes(&b, text, len) == -1) {
		close(fd);
		admit_release(p->p_admit, ac);
		goto out;
	}
	/* Its number comes after those of the connections queued for w. */
	parent_sendq_flush(p, w);
	/* chan_send takes fd, also when it fails (w's channel is gone). */
	if (w->pp_chan == NULL || chan_send(w->pp_chan, MSG_METRICS_FD, 0,
	    b.b_data, b.b_len, fd) == -1) {
		if (w->pp_chan == NULL)
			close(fd);
		admit_release(p->p_admit, ac);
		goto out;
	}
	if (++w->pp_handed == 0)
		w->pp_handed = 1;
	admit_bind(p->p_admit, ac, w->pp_owner, w->pp_handed);
	/* Its MSG_CONN_DONE comes like a browser connection's. */
	w->pp_conns++;
	p->p_conns++;
	parent_recycle_check(p, w);
	/* It may be what fills the last worker, as a browser's would. */
	parent_full_check(p, w);
out:
	metrics_free(sum);
	free(text);
	ipc_buf_clear(&b);
}

/*
 * The metrics listener of the configuration in force: kept when the
 * address stays, bound anew (before the old one closes) when it moves.
 */
static int
parent_metrics_listen(struct parent *p, const struct widgetd_config *cfg)
{
	const struct conf_listen	*ml = &cfg->c_metrics;
	struct plistener		*l, *old = p->p_mlistener;

	if (old != NULL && ml->l_address != NULL && old->pl_port ==
	    ml->l_port && strcmp(old->pl_address, ml->l_address) == 0)
		return 0;
	l = NULL;
	if (ml->l_address != NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL ||
		    (l->pl_address = strdup(ml->l_address)) == NULL) {
			free(l);
			return -1;
		}
		l->pl_port = ml->l_port;
		if ((l->pl_fd = parent_bind_one(l->pl_address,
		    l->pl_port)) == -1 ||
		    (l->pl_lev = evconnlistener_new(p->p_base,
		    parent_metrics_accept_cb, p, LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_CLOSE_ON_EXEC, 0, l->pl_fd)) == NULL) {
			if (l->pl_fd != -1)
				close(l->pl_fd);
			free(l->pl_address);
			free(l);
			return -1;
		}
		log_info("metrics on %s port %d", l->pl_address, l->pl_port);
	}
	if (old != NULL)
		parent_listeners_free(old, 1);
	p->p_mlistener = l;
	return 0;
}

static void	parent_snapshot_workers(struct parent *);
static void	parent_published(struct parent *, struct pproc *,
		    const struct ipc_published *, uint32_t);
static struct pslot *parent_publisher_slot(struct parent *,
		    const struct pproc *);
static void	parent_json_add_u64(struct json_object *, const char *,
		    uint64_t);
static int	parent_paid(struct pproc *, uint32_t);
static struct pwait *parent_wait_find(struct parent *, enum pwait_kind,
		    uint32_t);
static void	parent_unpublish_pending(struct parent *);
static void	parent_waits_check(struct parent *);
static void	parent_owed_drop(struct parent *, struct pproc *);
static void	parent_wait_stats(struct parent *, struct pproc *,
		    const struct ipc_stats *,
		    uint32_t);
static void	parent_wait_secrets(struct parent *, struct pproc *, uint32_t);

/* Has every keeper of the current epoch loaded generation p_gen? */
static void
parent_snapshot_check(struct parent *p)
{
	struct pproc	*k;
	int		 i;

	if (p->p_wsnap == p->p_snap)
		return;
	for (i = 0; i < p->p_nkeepers; i++) {
		k = p->p_kslots[i].ps_proc;
		/* A keeper that is down will start with p_snap anyway. */
		if (k != NULL && k->pp_chan != NULL && k->pp_gen != p->p_gen)
			return;
	}
	parent_snapshot_workers(p);
}

static int
parent_child_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct pproc		*pp = arg;
	struct parent		*p = pp->pp_parent;
	struct ipc_access	 a;
	struct ipc_stats	 st;
	char			*line = NULL, name[64];
	uint32_t		 slot, ndone, seqs[IPC_DONE_MAX];
	uint64_t		 gen;
	int			 prio, i;

	/* ipc.c has checked the direction: only children's rows get here. */
	if (m->m_fd != -1)
		return chan_refuse(ch, "an fd came with it");
	switch (m->m_type) {
	case MSG_LOG:
		if (ipc_decode_log(m, &prio, &line) == -1)
			return chan_refuse(ch, "malformed payload");
		parent_log_child(pp, prio, line, 0);
		free(line);
		return 0;
	case MSG_READY:
		pp->pp_ready = 1;
		log_debug("%s ready", parent_name(pp, name, sizeof(name)));
		if (pp->pp_role == PROC_WORKER)
			parent_dispatch_held(p);
		else
			parent_snapshot_check(p);
		parent_waits_check(p);
		return 0;
	case MSG_CONN_DONE:
		/*
		 * Batched: the numbers of the connections closed since the
		 * worker's last report.  Only one it holds counts; naming
		 * another (never handed, or already closed) is a lie.
		 */
		if (pp->pp_role != PROC_WORKER)
			return chan_refuse(ch, "only a worker sends it");
		if (ipc_decode_conn_done(m, seqs, &ndone) == -1)
			return chan_refuse(ch, "malformed payload");
		for (i = 0; i < (int)ndone; i++)
			if (admit_done(p->p_admit, pp->pp_owner, seqs[i]) == -1) {
				log_warnx("%s reported connection %u closed, "
				    "which it does not hold", parent_name(pp,
				    name, sizeof(name)), seqs[i]);
				return chan_refuse(ch, "a connection it does "
				    "not hold");
			}
		parent_conn_done(p, pp, (int)ndone);
		return 0;
	case MSG_ACCESS:
		if (ipc_decode_access(m, &a) == -1)
			return chan_refuse(ch, "malformed payload");
		parent_access(p, pp, &a);
		ipc_access_clear(&a);
		return 0;
	case MSG_SNAPSHOT_DONE:
		if (ipc_decode_gen(m, &gen) == -1)
			return chan_refuse(ch, "malformed payload");
		if (gen > p->p_gen)
			return chan_refuse(ch, "generation %llu was never sent",
			    (unsigned long long)gen);
		pp->pp_gen = gen;
		log_debug("%s: generation %llu", parent_name(pp, name,
		    sizeof(name)), (unsigned long long)gen);
		if (pp->pp_role == PROC_KEEPER)
			parent_snapshot_check(p);
		parent_waits_check(p);
		return 0;
	case MSG_STATS:
		if (pp->pp_role != PROC_WORKER)
			return chan_refuse(ch, "only a worker sends it");
		if (ipc_decode_stats(m, &st) == -1)
			return chan_refuse(ch, "malformed payload");
		parent_wait_stats(p, pp, &st, m->m_id);
		ipc_stats_clear(&st);
		return 0;
	case MSG_SECRETS_DONE:
		parent_wait_secrets(p, pp, m->m_id);
		return 0;
	case MSG_PUBLISHED: {
		struct ipc_published	 ip;

		if (pp->pp_role != PROC_PUBLISHER)
			return chan_refuse(ch, "only a publisher sends it");
		if (ipc_decode_published(m, &ip) == -1)
			return chan_refuse(ch, "malformed payload");
		parent_published(p, pp, &ip, m->m_id);
		ipc_published_clear(&ip);
		return 0;
	}
	case MSG_TEST_DEF_DONE:
	case MSG_TEST_DONE:
		/* ipc.c saw to it: a keeper's and a worker's, respectively. */
		return ptest_child_msg(p->p_tests, pp->pp_chan, m);
	case MSG_METRICS:
		return parent_metrics_msg(pp, m);
	case MSG_WORKER_EVICT:
		/*
		 * Only the keeper may ask, and only about a worker bound to
		 * it in its own epoch: a stale request must not kill a newer
		 * worker, nor another keeper's.
		 */
		if (pp->pp_role != PROC_KEEPER)
			return chan_refuse(ch, "only a keeper sends it");
		if (ipc_decode_slot(m, &slot) == -1)
			return chan_refuse(ch, "malformed payload");
		for (i = 0; i < p->p_nworkers; i++) {
			struct pproc *w = p->p_wslots[i].ps_proc;

			if (w != NULL && w->pp_slot == (int)slot &&
			    w->pp_epoch == pp->pp_epoch &&
			    parent_keeper_of(p, w->pp_slot)->ps_proc == pp) {
				log_warnx("%s evicted by the keeper: killing it",
				    parent_name(w, name, sizeof(name)));
				p->p_mp.mp_violations[PROC_WORKER]++;
				kill(w->pp_pid, SIGKILL);
			}
		}
		return 0;
	default:
		return chan_refuse(ch, "not a message the parent takes");
	}
}

static void
parent_child_close(struct chan *ch, enum chan_end end, const char *why,
    void *arg)
{
	struct pproc	*pp = arg;
	char		 name[64], reason[256];

	/* why is the channel's own text: it goes with the channel. */
	snprintf(reason, sizeof(reason), "%s", why);
	why = reason;
	ptest_chan_gone(pp->pp_parent->p_tests, pp->pp_chan);
	chan_free(pp->pp_chan);
	pp->pp_chan = NULL;
	pp->pp_ready = 0;
	/* What it owed the control socket will not come. */
	parent_owed_drop(pp->pp_parent, pp);
	/* Connections handed to it but not yet sent are dropped. */
	parent_sendq_flush(pp->pp_parent, pp);
	/*
	 * EOF or a reset: it is exiting and SIGCHLD follows.  A violation:
	 * it broke the rules, and goes.
	 */
	if (end == CHAN_VIOLATION) {
		pp->pp_parent->p_mp.mp_violations[pp->pp_role]++;
		log_warnx("%s: channel %s: killing it",
		    parent_name(pp, name, sizeof(name)), why);
		kill(pp->pp_pid, SIGKILL);
	} else if (end == CHAN_ERROR) {
		log_debug("%s: channel %s", parent_name(pp, name,
		    sizeof(name)), why);
		kill(pp->pp_pid, SIGKILL);
	}
	if (pp->pp_role == PROC_KEEPER)
		parent_snapshot_check(pp->pp_parent);
}

static struct pproc *
parent_spawn(struct parent *p, struct pslot *ps)
{
	struct snapshot	*sn;
	struct pproc	*pp;
	char		 name[64];
	int		 sv[2], i;

	if ((pp = calloc(1, sizeof(*pp))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	/* CLOEXEC: no other child may inherit this child's channel. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", __func__);
		free(pp);
		return NULL;
	}
	/* Workers wait for a generation until every keeper has it. */
	sn = ps->ps_role == PROC_WORKER ? p->p_wsnap : p->p_snap;
	pp->pp_parent = p;
	pp->pp_role = ps->ps_role;
	pp->pp_slot = ps->ps_slot;
	pp->pp_epoch = p->p_epoch;
	pp->pp_gen = sn->sn_gen;
	log_rate_init(&pp->pp_lograte, PARENT_LOG_RATE, PARENT_LOG_BURST);
	log_rate_init(&pp->pp_accrate, PARENT_ACCESS_RATE, PARENT_ACCESS_BURST);
	/* 0 is never an owner: a record not handed yet has it. */
	if (++p->p_owner_seq == 0)
		p->p_owner_seq = 1;
	pp->pp_owner = p->p_owner_seq;
	clock_gettime(CLOCK_MONOTONIC, &pp->pp_started);
	pp->pp_pid = proc_spawn(ps->ps_role, ps->ps_slot, sv[1], sn->sn_fd,
	    &p->p_opts);
	close(sv[1]);
	if (pp->pp_pid == -1) {
		log_warn("%s: fork", __func__);
		close(sv[0]);
		free(pp);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&p->p_procs, pp, pp_entry);
	ps->ps_proc = pp;
	proc_backoff_started(&ps->ps_backoff);
	pp->pp_chan = chan_new(p->p_base, sv[0], IPC_PARENT,
	    pp->pp_role == PROC_WORKER ? IPC_WORKER :
	    pp->pp_role == PROC_KEEPER ? IPC_KEEPER : IPC_PUBLISHER,
	    parent_child_msg, parent_child_close, pp);
	if (pp->pp_chan == NULL) {
		log_warnx("%s: cannot set up channel: killing it",
		    parent_name(pp, name, sizeof(name)));
		kill(pp->pp_pid, SIGKILL);
		return pp;
	}
	log_debug("started %s", parent_name(pp, name, sizeof(name)));
	if (pp->pp_role == PROC_WORKER)
		parent_link(p, pp);
	else if (pp->pp_role == PROC_KEEPER)
		for (i = ps->ps_slot; i < p->p_nworkers; i += p->p_nkeepers)
			if (p->p_wslots[i].ps_proc != NULL)
				parent_link(p, p->p_wslots[i].ps_proc);
	return pp;
}

static void
parent_schedule(struct parent *p, struct pslot *ps, long ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ps->ps_respawn_ev, &tv);
}

static void
parent_respawn_cb(int fd, short what, void *arg)
{
	struct pslot	*ps = arg;
	struct parent	*p = ps->ps_parent;

	if (p->p_shutdown || ps->ps_proc != NULL)
		return;
	/* A failed fork is retried later, like a crash. */
	if (parent_spawn(p, ps) == NULL)
		parent_schedule(p, ps, proc_backoff_next(&ps->ps_backoff));
}

static void
parent_kill_cb(int fd, short what, void *arg)
{
	struct pproc	*pp = arg;
	char		 name[64];

	log_warnx("%s did not finish draining in %d s: killing it",
	    parent_name(pp, name, sizeof(name)),
	    parent_drain_secs(pp->pp_parent));
	kill(pp->pp_pid, SIGKILL);
}

/* Ask a child to finish what it has and exit, within drain_timeout. */
static void
parent_drain(struct parent *p, struct pproc *pp)
{
	struct timeval	 tv = { parent_drain_secs(p), 0 };

	if (pp->pp_draining)
		return;
	pp->pp_draining = 1;
	/* What it was handed comes before the request to drain. */
	parent_sendq_flush(p, pp);
	if (pp->pp_chan != NULL)
		chan_send(pp->pp_chan, MSG_SHUTDOWN, 0, NULL, 0, -1);
	else
		kill(pp->pp_pid, SIGTERM);
	if ((pp->pp_kill_ev = evtimer_new(p->p_base, parent_kill_cb, pp)) != NULL)
		evtimer_add(pp->pp_kill_ev, &tv);
}

static void
parent_reaped(struct parent *p, struct pproc *pp, int status)
{
	struct pslot	*ps = NULL;
	char		 name[64], how[64];
	long		 ms;
	int		 recycled = pp->pp_recycled;

	parent_name(pp, name, sizeof(name));
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));

	if (pp->pp_role == PROC_KEEPER && pp->pp_slot < p->p_nkeepers &&
	    p->p_kslots[pp->pp_slot].ps_proc == pp)
		ps = &p->p_kslots[pp->pp_slot];
	else if (pp->pp_role == PROC_WORKER && pp->pp_slot < p->p_nworkers &&
	    p->p_wslots[pp->pp_slot].ps_proc == pp)
		ps = &p->p_wslots[pp->pp_slot];
	else if (pp->pp_role == PROC_PUBLISHER)
		ps = parent_publisher_slot(p, pp);

	parent_sendq_flush(p, pp);
	admit_owner_gone(p->p_admit, pp->pp_owner);
	parent_conn_done(p, pp, pp->pp_conns);
	parent_owed_drop(p, pp);
	/* Its counters stay in the totals; its gauges go with it. */
	if (pp->pp_metrics != NULL && p->p_retired != NULL)
		metrics_merge(p->p_retired, pp->pp_metrics, 1);
	metrics_free(pp->pp_metrics);
	TAILQ_REMOVE(&p->p_procs, pp, pp_entry);
	chan_free(pp->pp_chan);
	if (pp->pp_kill_ev != NULL)
		event_free(pp->pp_kill_ev);
	/* What it had dropped is said before it goes. */
	parent_log_report(pp);
	if (pp->pp_log_ev != NULL)
		event_free(pp->pp_log_ev);
	/* A retired publisher gone: its tenant may be unpublished now. */
	if (pp->pp_role == PROC_PUBLISHER) {
		free(pp);
		parent_unpublish_pending(p);
	} else
		free(pp);

	if (ps == NULL || p->p_shutdown) {
		/* Drained on request: the expected end. */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			log_debug("%s %s", name, how);
		else
			log_info("%s %s", name, how);
		return;
	}
	ps->ps_proc = NULL;
	ps->ps_respawns++;
	if (recycled && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		/* Drained on purpose: replaced at once, not a crash. */
		log_debug("%s %s (recycled)", name, how);
		parent_schedule(p, ps, 0);
		return;
	}
	p->p_mp.mp_respawns[ps->ps_role]++;
	ms = proc_backoff_next(&ps->ps_backoff);
	if (ps->ps_backoff.pb_crashes >= PARENT_CRASH_LOOP)
		log_warnx("%s %s: crash loop (%d quick exits in a row), "
		    "restarting in %ld ms", name, how,
		    ps->ps_backoff.pb_crashes, ms);
	else
		log_warnx("%s %s, restarting in %ld ms", name, how, ms);
	parent_schedule(p, ps, ms);
	/* Workers waiting for this keeper's snapshot need not wait more. */
	parent_snapshot_check(p);
	parent_waits_check(p);
}

static void
parent_sigchld(struct parent *p)
{
	struct pproc	*pp;
	pid_t		 pid;
	int		 status;

	/* Signals coalesce: reap everything that has exited. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((pp = parent_find_pid(p, pid)) != NULL)
			parent_reaped(p, pp, status);
	}
	if (p->p_shutdown && TAILQ_EMPTY(&p->p_procs))
		event_base_loopexit(p->p_base, NULL);
}

static int
parent_slots_make(struct parent *p, struct pslot **slots, enum proc_role role,
    int n)
{
	struct pslot	*ps;
	int		 i;

	if ((ps = calloc((size_t)n, sizeof(*ps))) == NULL)
		return -1;
	*slots = ps;
	for (i = 0; i < n; i++) {
		ps[i].ps_parent = p;
		ps[i].ps_role = role;
		ps[i].ps_slot = i;
		ps[i].ps_respawn_ev = evtimer_new(p->p_base,
		    parent_respawn_cb, &ps[i]);
		if (ps[i].ps_respawn_ev == NULL)
			return -1;
	}
	return 0;
}

static void
parent_slots_clear(struct pslot **slots, int *n)
{
	int	 i;

	for (i = 0; *slots != NULL && i < *n; i++)
		if ((*slots)[i].ps_respawn_ev != NULL)
			event_free((*slots)[i].ps_respawn_ev);
	free(*slots);
	*slots = NULL;
	*n = 0;
}

/* Slots of the current epoch: nk keepers, nw workers. */
static int
parent_slots_init(struct parent *p, int nk, int nw)
{
	if (parent_slots_make(p, &p->p_kslots, PROC_KEEPER, nk) == -1)
		return -1;
	p->p_nkeepers = nk;
	if (parent_slots_make(p, &p->p_wslots, PROC_WORKER, nw) == -1)
		return -1;
	p->p_nworkers = nw;
	return 0;
}

static void
parent_slots_free(struct parent *p)
{
	parent_slots_clear(&p->p_wslots, &p->p_nworkers);
	parent_slots_clear(&p->p_kslots, &p->p_nkeepers);
}

/* Keepers, never more than workers: a keeper without workers idles. */
static int
parent_nkeepers(const struct widgetd_config *cfg)
{
	int	 n = cfg->c_keepers, w = parent_nworkers(cfg);

	return n < 1 ? 1 : n > w ? w : n;
}

static void
parent_start_epoch(struct parent *p)
{
	int	 i;

	/* Keepers first, so every worker is linked as it starts. */
	for (i = 0; i < p->p_nkeepers; i++)
		if (parent_spawn(p, &p->p_kslots[i]) == NULL)
			parent_schedule(p, &p->p_kslots[i],
			    PROC_BACKOFF_MIN_MS);
	for (i = 0; i < p->p_nworkers; i++)
		if (parent_spawn(p, &p->p_wslots[i]) == NULL)
			parent_schedule(p, &p->p_wslots[i],
			    PROC_BACKOFF_MIN_MS);
}

/* Send generation sn to a running child. */
static void
parent_send_snapshot(struct pproc *pp, struct snapshot *sn)
{
	struct ipc_buf	 b;

	int		 fd;

	if (pp->pp_chan == NULL || pp->pp_draining)
		return;
	/* chan_send consumes the fd it is given: the parent keeps its own. */
	if ((fd = fcntl(sn->sn_fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		log_warn("%s: dup", __func__);
		return;
	}
	if (ipc_encode_u64(&b, sn->sn_gen) == 0)
		chan_send(pp->pp_chan, MSG_SNAPSHOT, 0, b.b_data, b.b_len, fd);
	else
		close(fd);
	ipc_buf_clear(&b);
}

/* Every keeper has the newest generation: now the workers get it. */
static void
parent_snapshot_workers(struct parent *p)
{
	struct pproc	*pp;

	if (p->p_snap_ev != NULL)
		evtimer_del(p->p_snap_ev);
	if (p->p_wsnap == p->p_snap)
		return;
	snapshot_unref(p->p_wsnap);
	p->p_wsnap = snapshot_ref(p->p_snap);
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		if (pp->pp_role == PROC_WORKER && pp->pp_epoch == p->p_epoch)
			parent_send_snapshot(pp, p->p_wsnap);
}

static void
parent_snapshot_timeout_cb(int fd, short what, void *arg)
{
	struct parent	*p = arg;

	log_warnx("keepers did not load generation %llu within %d s; "
	    "workers get it now", (unsigned long long)p->p_gen,
	    PARENT_SNAP_WAIT);
	parent_snapshot_workers(p);
}

static int
parent_streq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The same stores, in any order: a keeper's Landlock rules still fit. */
static int
parent_same_stores(const struct widgetd_config *o,
    const struct widgetd_config *c)
{
	size_t	 i, j;

	for (i = 0; i < c->c_ntenants; i++) {
		for (j = 0; j < o->c_ntenants; j++)
			if (strcmp(c->c_tenants[i].t_store,
			    o->c_tenants[j].t_store) == 0)
				break;
		if (j == o->c_ntenants)
			return 0;
	}
	return 1;
}

/* Would the new configuration need other processes than the running ones? */
static int
parent_same_processes(const struct parent *p, const struct widgetd_config *c)
{
	const struct widgetd_config *o = p->p_cfg;

	return parent_same_stores(o, c) &&
	    parent_streq(o->c_user, c->c_user) &&
	    parent_streq(o->c_keeper_user, c->c_keeper_user) &&
	    parent_streq(o->c_chroot, c->c_chroot) &&
	    o->c_cpu_batch == c->c_cpu_batch &&
	    parent_nworkers(o) == parent_nworkers(c) &&
	    parent_nkeepers(o) == parent_nkeepers(c);
}

/* A reload's outcome, for the log and the control socket. */
struct parent_reload_result {
	int		 rr_ok;
	uint64_t	 rr_gen;
	char		 rr_error[256];
};

static void	parent_control_cb(struct control_req *, const char *,
		    struct json_object *, void *);

/* The old socket goes from the event loop, never from its own handler. */
static void
parent_control_free_cb(int fd, short what, void *arg)
{
	control_retire(arg);
}

static int
parent_control_move(struct parent *p, const char *path)
{
	struct control	*c;
	struct timeval	 tv = { 0, 0 };
	char		 err[256];

	if ((c = control_new(p->p_base, path, parent_control_cb, p, err,
	    sizeof(err))) == NULL) {
		log_warnx("reload: control socket %s: %s", path, err);
		return -1;
	}
	if (event_base_once(p->p_base, -1, EV_TIMEOUT, parent_control_free_cb,
	    p->p_control, &tv) == -1)
		control_retire(p->p_control);
	control_set_limit(c, "test", PARENT_TEST_MAX);
	p->p_control = c;
	return 0;
}

/* Reload errors: logged, and kept for the control socket's reply. */
static void
parent_reload_report(const char *msg, void *arg)
{
	struct json_object	*errors = arg;

	log_warnx("%s", msg);
	if (errors != NULL)
		json_object_array_add(errors, json_object_new_string(msg));
}

/*
 * Generation sn (now p_snap) to the running processes of this epoch:
 * keepers first; workers once every keeper has it (or the wait ran out).
 */
static void
parent_handover(struct parent *p, struct snapshot *sn)
{
	struct pproc	*pp;
	struct timeval	 tv = { PARENT_SNAP_WAIT, 0 };

	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		if (pp->pp_role == PROC_KEEPER && pp->pp_epoch == p->p_epoch)
			parent_send_snapshot(pp, sn);
	if (p->p_snap_ev == NULL)
		p->p_snap_ev = evtimer_new(p->p_base,
		    parent_snapshot_timeout_cb, p);
	if (p->p_snap_ev != NULL)
		evtimer_add(p->p_snap_ev, &tv);
	parent_snapshot_check(p);
}

static void	parent_publishers_retire(struct parent *,
		    const struct widgetd_config *);
static void	parent_publishers_start(struct parent *);

/* SIGHUP: validate everything first; only a good configuration replaces. */
static void
parent_reload(struct parent *p, struct parent_reload_result *rr,
    struct json_object *errors)
{
	struct snapshot		*sn;
	struct plistener	*ls = NULL;
	struct pproc		*pp;
	int			 inplace;

	memset(rr, 0, sizeof(*rr));
	log_info("reloading %s", p->p_opts.po_conf);
	sn = snapshot_build(p->p_opts.po_conf, p->p_gen + 1, 1,
	    parent_reload_report, errors);
	if (sn == NULL || proc_check_privsep(sn->sn_cfg, parent_reload_report,
	    errors) == -1) {
		log_warnx("reload: %s is not valid, keeping the running "
		    "configuration", p->p_opts.po_conf);
		snprintf(rr->rr_error, sizeof(rr->rr_error), "%s is not valid",
		    p->p_opts.po_conf);
		snapshot_unref(sn);
		return;
	}
	if (!parent_same_listeners(p, sn->sn_cfg)) {
		/* Bind the new set before closing what is gone. */
		if ((ls = parent_bind(sn->sn_cfg, p->p_listeners,
		    p->p_nlisteners)) == NULL) {
			log_warnx("reload: cannot bind the new listeners, "
			    "keeping the running configuration");
			snprintf(rr->rr_error, sizeof(rr->rr_error),
			    "cannot bind the new listeners");
			snapshot_unref(sn);
			return;
		}
		parent_listeners_free(p->p_listeners, p->p_nlisteners);
		p->p_listeners = ls;
		p->p_nlisteners = sn->sn_cfg->c_nlisten;
	}
	/* A moved control socket: the new one first, the old one later. */
	if (strcmp(p->p_cfg->c_control_socket, sn->sn_cfg->c_control_socket) !=
	    0 && parent_control_move(p, sn->sn_cfg->c_control_socket) == -1) {
		snprintf(rr->rr_error, sizeof(rr->rr_error), "cannot create "
		    "the control socket %s", sn->sn_cfg->c_control_socket);
		snapshot_unref(sn);
		return;
	}
	/* From here on the new configuration is in force. */
	inplace = parent_same_processes(p, sn->sn_cfg);
	parent_publishers_retire(p, sn->sn_cfg);
	p->p_gen = sn->sn_gen;
	snapshot_unref(p->p_snap);
	p->p_snap = sn;
	p->p_cfg = sn->sn_cfg;
	parent_conn_limit(p);
	if (parent_listeners_start(p) == -1)
		log_warnx("reload: some listeners are not accepting");
	if (parent_access_file(p, 0) == -1)
		log_warnx("reload: access lines go to the system log");
	if (parent_metrics_listen(p, p->p_cfg) == -1)
		log_warnx("reload: cannot bind the metrics listener %s port %d; "
		    "keeping the previous one", p->p_cfg->c_metrics.l_address,
		    p->p_cfg->c_metrics.l_port);
	rr->rr_ok = 1;
	rr->rr_gen = p->p_gen;

	if (inplace) {
		parent_handover(p, sn);
		log_info("reloaded: generation %llu", (unsigned long long)
		    p->p_gen);
		parent_publishers_start(p);
		return;
	}
	/* New processes: the old epoch drains, a new one starts now. */
	p->p_epoch++;
	snapshot_unref(p->p_wsnap);
	p->p_wsnap = snapshot_ref(sn);
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		parent_drain(p, pp);
	parent_slots_free(p);
	if (parent_slots_init(p, parent_nkeepers(p->p_cfg),
	    parent_nworkers(p->p_cfg)) == -1)
		fatalx("reload: out of memory");
	parent_start_epoch(p);
	parent_publishers_start(p);
	log_info("reloaded: generation %llu, new processes: %d keepers, "
	    "%d workers", (unsigned long long)p->p_gen, p->p_nkeepers,
	    p->p_nworkers);
}


/* --- Publishers (SPEC §10) --------------------------------------------------- */

/* The slot a publisher belongs to; NULL once a reload retired it. */
static struct pslot *
parent_publisher_slot(struct parent *p, const struct pproc *pp)
{
	int	 i;

	for (i = 0; i < p->p_nbslots; i++)
		if (p->p_bslots[i].ps_proc == pp)
			return &p->p_bslots[i];
	return NULL;
}

/*
 * A tenant's published directory, made for its publisher: state_dir and
 * state_dir/extensions are root's, the tenant's own directory belongs to
 * `user`, the only one who writes there.  Its Landlock rule needs it to
 * exist before the publisher starts.
 */
static int
parent_published_dir(const struct widgetd_config *cfg,
    const struct conf_tenant *t)
{
	struct passwd	*pw;
	char		 ext[PATH_MAX];
	int		 fd, rv = 0;

	snprintf(ext, sizeof(ext), "%s/extensions", cfg->c_state_dir);
	if ((mkdir(cfg->c_state_dir, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(ext, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(t->t_published, 0755) == -1 && errno != EEXIST)) {
		log_warn("tenant %s: %s", t->t_id, t->t_published);
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(cfg->c_user)) == NULL)
		return -1;
	/* The directory itself, never what a link there points to. */
	if ((fd = open(t->t_published, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fchown(fd, pw->pw_uid, pw->pw_gid) == -1) {
		log_warn("tenant %s: %s", t->t_id, t->t_published);
		rv = -1;
	}
	if (fd != -1)
		close(fd);
	return rv;
}

/* Queue dir for unpublishing (once no retired publisher may write it). */
static void
parent_unpublish_add(struct parent *p, const char *dir)
{
	char	**nv;
	size_t	 i;

	for (i = 0; i < p->p_nunpublish; i++)
		if (strcmp(p->p_unpublish[i], dir) == 0)
			return;
	if ((nv = reallocarray(p->p_unpublish, p->p_nunpublish + 1,
	    sizeof(*nv))) == NULL)
		return;
	p->p_unpublish = nv;
	if ((nv[p->p_nunpublish] = strdup(dir)) != NULL)
		p->p_nunpublish++;
}

/*
 * SPEC §10: removing `repository` unpublishes it.  The new generation
 * already serves nothing of it; the files go once every retired
 * publisher has exited (one may be finishing a publish there).
 */
static void
parent_unpublish_pending(struct parent *p)
{
	struct pproc	*pp;
	char		 gen[PUBDIR_MAXGEN];
	size_t		 i;

	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		if (pp->pp_role == PROC_PUBLISHER && pp->pp_draining)
			return;
	for (i = 0; i < p->p_nunpublish; i++) {
		if (pubdir_current(p->p_unpublish[i], gen, sizeof(gen)) == 0)
			log_info("%s: repository no longer watched: "
			    "unpublishing generation %s", p->p_unpublish[i],
			    gen);
		if (pubdir_unpublish(p->p_unpublish[i]) == -1)
			log_warn("unpublish %s", p->p_unpublish[i]);
		free(p->p_unpublish[i]);
	}
	free(p->p_unpublish);
	p->p_unpublish = NULL;
	p->p_nunpublish = 0;
}

/*
 * A reload: every publisher drains (it finishes the publish it is in)
 * and new ones start with the new configuration; a tenant watched
 * before and not now is unpublished.
 */
static void
parent_publishers_retire(struct parent *p, const struct widgetd_config *ncfg)
{
	const struct conf_tenant *o, *n;
	size_t			 i, j;
	int			 k;

	for (k = 0; k < p->p_nbslots; k++)
		if (p->p_bslots[k].ps_proc != NULL)
			parent_drain(p, p->p_bslots[k].ps_proc);
	parent_slots_clear(&p->p_bslots, &p->p_nbslots);
	for (i = 0; p->p_cfg != NULL && i < p->p_cfg->c_ntenants; i++) {
		o = &p->p_cfg->c_tenants[i];
		if (o->t_repo.rp_path == NULL || o->t_published == NULL)
			continue;
		for (j = 0; j < ncfg->c_ntenants; j++) {
			n = &ncfg->c_tenants[j];
			if (strcmp(n->t_id, o->t_id) == 0 &&
			    n->t_repo.rp_path != NULL &&
			    strcmp(n->t_published, o->t_published) == 0)
				break;
		}
		if (j == ncfg->c_ntenants)
			parent_unpublish_add(p, o->t_published);
	}
}

/* One publisher per tenant with a repository, on p_snap. */
static void
parent_publishers_start(struct parent *p)
{
	const struct widgetd_config *cfg = p->p_cfg;
	size_t			 i;
	int			 n = 0, k = 0;

	for (i = 0; i < cfg->c_ntenants; i++) {
		if (cfg->c_tenants[i].t_repo.rp_path != NULL)
			n++;
		else if (cfg->c_tenants[i].t_published != NULL)
			/* Perhaps removed while widgetd was down. */
			parent_unpublish_add(p, cfg->c_tenants[i].t_published);
	}
	parent_unpublish_pending(p);
	if (n == 0)
		return;
	if (parent_slots_make(p, &p->p_bslots, PROC_PUBLISHER, n) == -1)
		fatalx("%s: out of memory", __func__);
	p->p_nbslots = n;
	for (i = 0; i < cfg->c_ntenants; i++) {
		if (cfg->c_tenants[i].t_repo.rp_path == NULL)
			continue;
		p->p_bslots[k].ps_slot = (int)i;
		(void)parent_published_dir(cfg, &cfg->c_tenants[i]);
		if (parent_spawn(p, &p->p_bslots[k]) == NULL)
			parent_schedule(p, &p->p_bslots[k], PROC_BACKOFF_MIN_MS);
		k++;
	}
}

/*
 * A publish made a new generation live: the running configuration with
 * every tenant's live generation re-read becomes the next generation,
 * handed over in place.  The generation number, 0 when it was not taken.
 */
static uint64_t
parent_take_publish(struct parent *p)
{
	struct snapshot	*sn;

	if ((sn = snapshot_republish(p->p_snap, p->p_gen + 1,
	    proc_log_report, NULL)) == NULL) {
		log_warnx("a published generation was not taken; generation "
		    "%llu stays in force", (unsigned long long)p->p_gen);
		return 0;
	}
	p->p_gen = sn->sn_gen;
	snapshot_unref(p->p_snap);
	p->p_snap = sn;
	p->p_cfg = sn->sn_cfg;
	parent_handover(p, sn);
	log_info("published: generation %llu", (unsigned long long)p->p_gen);
	return p->p_gen;
}

/* A publisher's report: the publish log line, counters, a generation. */
static void
parent_published(struct parent *p, struct pproc *pp,
    const struct ipc_published *ip, uint32_t id)
{
	struct pslot		*ps = parent_publisher_slot(p, pp);
	struct json_object	*row, *b, *v;
	struct pwait		*pw;
	const char		*state;
	char			 line[1600], tenant[CONF_TENANT_ID_MAX + 1];
	uint64_t		 gen = 0;

	/*
	 * A copy: taking the publish below may free the generation whose
	 * configuration names the tenant.
	 */
	snprintf(tenant, sizeof(tenant), "%s", ps != NULL &&
	    (size_t)ps->ps_slot < p->p_cfg->c_ntenants ?
	    p->p_cfg->c_tenants[ps->ps_slot].t_id : "-");
	state = publish_state_name((enum publish_state)ip->ip_state);
	/* One line per publish, as the access log has one per request. */
	snprintf(line, sizeof(line), "publish: %s build %llu "
	    "commit %.12s %s%s%s: %s (%u files, %u unchanged, %u warnings)%s%s",
	    tenant, (unsigned long long)ip->ip_build,
	    ip->ip_commit[0] ? ip->ip_commit : "-", state,
	    ip->ip_code[0] ? " " : "", ip->ip_code, ip->ip_message,
	    ip->ip_files, ip->ip_reused, ip->ip_warnings,
	    ip->ip_changed ? " generation " : "",
	    ip->ip_changed ? ip->ip_generation : "");
	parent_log_child(pp, ip->ip_state == PUBLISH_FAILED ? LOG_WARNING :
	    LOG_INFO, line, 0);
	/*
	 * A new generation is live on disk: take it (a retired publisher's
	 * too, finishing a publish of a tenant that may still be watched).
	 */
	if (ip->ip_changed && !p->p_shutdown)
		gen = parent_take_publish(p);

	/* Counters by tenant, for widgetctl status. */
	if (p->p_pubstats == NULL)
		p->p_pubstats = json_object_new_object();
	if (!json_object_object_get_ex(p->p_pubstats, tenant, &row)) {
		row = json_object_new_object();
		json_object_object_add(row, "tenant",
		    json_object_new_string(tenant));
		json_object_object_add(p->p_pubstats, tenant, row);
	}
	parent_json_add_u64(row, ip->ip_state == PUBLISH_FAILED ? "failed" :
	    ip->ip_state == PUBLISH_WARNING ? "warning" : "completed", 1);
	b = json_object_new_object();
	json_object_object_add(b, "tenant", json_object_new_string(tenant));
	json_object_object_add(b, "build",
	    json_object_new_int64((int64_t)ip->ip_build));
	json_object_object_add(b, "state", json_object_new_string(state));
	json_object_object_add(b, "code", ip->ip_code[0] ?
	    json_object_new_string(ip->ip_code) : NULL);
	json_object_object_add(b, "message",
	    json_object_new_string(ip->ip_message));
	json_object_object_add(b, "commit", json_object_new_string(
	    ip->ip_commit));
	json_object_object_add(b, "generation", json_object_new_string(
	    ip->ip_generation));
	json_object_object_add(b, "files", json_object_new_int64(ip->ip_files));
	json_object_object_add(b, "reused",
	    json_object_new_int64(ip->ip_reused));
	json_object_object_add(b, "warnings",
	    json_object_new_int64(ip->ip_warnings));
	json_object_object_add(row, "last", json_object_get(b));

	if (id != 0 && parent_paid(pp, id) &&
	    (pw = parent_wait_find(p, PW_PUBLISH, id)) != NULL) {
		if (json_object_object_get_ex(pw->pw_reply, "builds", &v))
			json_object_array_add(v, json_object_get(b));
		if (gen > pw->pw_gen)
			pw->pw_gen = gen;
		pw->pw_pending--;
		parent_waits_check(p);
	}
	json_object_put(b);
}

/* --- The control socket (widgetctl) --------------------------------------- */

static void	parent_wait_done(struct pwait *);
static int	parent_owe(struct pproc *, uint32_t);
static void	parent_status_metrics(struct parent *, struct pwait *);

static void
parent_wait_timeout_cb(int fd, short what, void *arg)
{
	struct pwait	*pw = arg;

	log_warnx("control: %d answer%s from children did not come in %d s",
	    pw->pw_pending, pw->pw_pending == 1 ? "" : "s", PARENT_CTL_WAIT);
	json_object_object_add(pw->pw_reply, "incomplete",
	    json_object_new_boolean(1));
	parent_wait_done(pw);
}

static struct pwait *
parent_wait_new(struct parent *p, struct control_req *req,
    enum pwait_kind kind, struct json_object *reply)
{
	struct pwait	*pw;
	struct timeval	 tv = { PARENT_CTL_WAIT, 0 };

	if ((pw = calloc(1, sizeof(*pw))) == NULL) {
		json_object_put(reply);
		control_reply_error(req, "out of memory");
		return NULL;
	}
	pw->pw_parent = p;
	pw->pw_req = req;
	pw->pw_kind = kind;
	pw->pw_reply = reply;
	if (++p->p_wait_seq == 0)
		p->p_wait_seq = 1;
	pw->pw_id = p->p_wait_seq;
	if ((pw->pw_timer = evtimer_new(p->p_base, parent_wait_timeout_cb,
	    pw)) != NULL)
		evtimer_add(pw->pw_timer, &tv);
	TAILQ_INSERT_TAIL(&p->p_waits, pw, pw_entry);
	return pw;
}

/*
 * Secrets: once the keepers have re-read the store (or gone, or not
 * answered in time), the workers drop their cache entries that named one.
 * In this order, a call a worker makes after its purge is completed with
 * the new values.  1 while answers from workers are still to come.
 */
static int
parent_wait_workers(struct pwait *pw)
{
	struct parent	*p = pw->pw_parent;
	struct pproc	*pp;
	struct ipc_buf	 b;
	struct timeval	 tv = { PARENT_CTL_WAIT, 0 };

	if (pw->pw_kind != PW_SECRETS || pw->pw_workers)
		return 0;
	pw->pw_workers = 1;
	pw->pw_pending = 0;
	ipc_buf_init(&b);
	ipc_put_str(&b, pw->pw_tenant);
	/* Every worker of every epoch: each has its own cache. */
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		if (pp->pp_role == PROC_WORKER && pp->pp_ready &&
		    pp->pp_chan != NULL && pp->pp_nowed < PARENT_OWED_MAX &&
		    chan_send(pp->pp_chan, MSG_SECRETS, pw->pw_id, b.b_data,
		    b.b_len, -1) == 0 && parent_owe(pp, pw->pw_id) == 0)
			pw->pw_pending++;
	ipc_buf_clear(&b);
	if (pw->pw_pending == 0)
		return 0;
	if (pw->pw_timer != NULL)
		evtimer_add(pw->pw_timer, &tv);
	return 1;
}

/* Answer and forget a waiting command. */
static void
parent_wait_done(struct pwait *pw)
{
	struct parent		*p = pw->pw_parent;
	struct json_object	*list;

	if (parent_wait_workers(pw))
		return;
	TAILQ_REMOVE(&p->p_waits, pw, pw_entry);
	free(pw->pw_tenant);
	if (pw->pw_timer != NULL)
		event_free(pw->pw_timer);
	if (pw->pw_kind == PW_STATUS)
		parent_status_metrics(p, pw);
	if (pw->pw_rows != NULL) {
		if ((list = json_object_new_array()) != NULL) {
			json_object_object_foreach(pw->pw_rows, key, row) {
				(void)key;
				json_object_array_add(list,
				    json_object_get(row));
			}
			json_object_object_add(pw->pw_reply, "connectors",
			    list);
		}
		json_object_put(pw->pw_rows);
	}
	control_reply(pw->pw_req, pw->pw_reply);
	free(pw);
}

/*
 * What the keepers and the cache count, beside the workers' call counters:
 * the queue, the cache's size, and per connector what reached upstream.
 */
static void
parent_status_metrics(struct parent *p, struct pwait *pw)
{
	static const struct {
		const char		*sm_key;
		enum metrics_field	 sm_field;
	} fields[] = {
		{ "cache_hits", MF_CACHE_HITS },
		{ "cache_misses", MF_CACHE_MISSES },
		{ "upstream_requests", MF_UPSTREAM_REQUESTS },
		{ "upstream_retries", MF_UPSTREAM_RETRIES },
		{ "upstream_new_connections", MF_UPSTREAM_CONNECTS },
		{ "limit_client", MF_LIMIT_CLIENT },
		{ "limit_rate", MF_LIMIT_RATE },
		{ "limit_concurrency", MF_LIMIT_CONCURRENCY },
		{ "limit_upstream", MF_LIMIT_UPSTREAM },
	};
	struct metrics_parent	 mp;
	struct metrics		*sum;
	struct metrics_row	*r;
	struct json_object	*row;
	char			 key[600];
	size_t			 i, k;

	if ((sum = parent_metrics_sum(p, &mp)) == NULL)
		return;
	json_object_object_add(pw->pw_reply, "keeper_queue",
	    json_object_new_int64((int64_t)sum->m_globals[MG_KEEPER_QUEUE]));
	json_object_object_add(pw->pw_reply, "keeper_in_flight",
	    json_object_new_int64((int64_t)sum->m_globals[MG_KEEPER_INFLIGHT]));
	json_object_object_add(pw->pw_reply, "cache_bytes",
	    json_object_new_int64((int64_t)sum->m_globals[MG_CACHE_BYTES]));
	json_object_object_add(pw->pw_reply, "cache_entries",
	    json_object_new_int64((int64_t)sum->m_globals[MG_CACHE_ENTRIES]));
	json_object_object_add(pw->pw_reply, "redis_connected",
	    json_object_new_int64((int64_t)sum->m_globals[MG_REDIS_UP]));
	json_object_object_add(pw->pw_reply, "upstream_idle_connections",
	    json_object_new_int64((int64_t)sum->m_globals[MG_UPSTREAM_IDLE]));
	for (i = 0; pw->pw_rows != NULL && i < sum->m_nrows; i++) {
		r = &sum->m_rows[i];
		if (strcmp(r->mr_connector, "-") == 0)
			continue;
		/* A composite's own counters (its client limit) join its row. */
		snprintf(key, sizeof(key), "%s/%s/1", r->mr_tenant,
		    r->mr_connector);
		if (!json_object_object_get_ex(pw->pw_rows, key, &row))
			snprintf(key, sizeof(key), "%s/%s/0", r->mr_tenant,
			    r->mr_connector);
		if (!json_object_object_get_ex(pw->pw_rows, key, &row)) {
			/* Known to the keepers only (a composite's step). */
			row = json_object_new_object();
			json_object_object_add(row, "tenant",
			    json_object_new_string(r->mr_tenant));
			json_object_object_add(row, "permalink",
			    json_object_new_string(r->mr_connector));
			json_object_object_add(row, "kind", json_object_new_string(
			    strchr(r->mr_connector, '/') != NULL ? "step" :
			    "connector"));
			json_object_object_add(pw->pw_rows, key, row);
		}
		for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
			json_object_object_add(row, fields[k].sm_key,
			    json_object_new_int64((int64_t)
			    r->mr_fields[fields[k].sm_field]));
	}
	metrics_free(sum);
}

/* A reload is done once every child of this epoch runs its generation. */
static void
parent_waits_check(struct parent *p)
{
	struct pwait	*pw, *next;
	struct pproc	*pp;
	int		 behind;

	for (pw = TAILQ_FIRST(&p->p_waits); pw != NULL; pw = next) {
		next = TAILQ_NEXT(pw, pw_entry);
		if (pw->pw_kind != PW_RELOAD && pw->pw_kind != PW_PUBLISH)
			continue;
		/* A publish waits for its publishers first. */
		if (pw->pw_kind == PW_PUBLISH && pw->pw_pending > 0)
			continue;
		behind = 0;
		/* Publishers keep the generation they started with. */
		TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
			if (pp->pp_epoch == p->p_epoch && !pp->pp_draining &&
			    pp->pp_role != PROC_PUBLISHER &&
			    (!pp->pp_ready || pp->pp_gen < pw->pw_gen))
				behind++;
		if (behind == 0)
			parent_wait_done(pw);
	}
}

static struct pwait *
parent_wait_find(struct parent *p, enum pwait_kind kind, uint32_t id)
{
	struct pwait	*pw;

	TAILQ_FOREACH(pw, &p->p_waits, pw_entry)
		if (pw->pw_kind == kind && pw->pw_id == id)
			return pw;
	return NULL;
}

/*
 * A child asked for an answer owes it until it answers or goes: the
 * wait is then settled without it rather than at its deadline.
 */
static int
parent_owe(struct pproc *pp, uint32_t id)
{
	if (pp->pp_nowed == PARENT_OWED_MAX)
		return -1;
	pp->pp_owed[pp->pp_nowed++] = id;
	return 0;
}

/* 1: pp owed wait id and no longer does; 0: an answer nobody asked for. */
static int
parent_paid(struct pproc *pp, uint32_t id)
{
	int	 i;

	for (i = 0; i < pp->pp_nowed; i++)
		if (pp->pp_owed[i] == id) {
			pp->pp_owed[i] = pp->pp_owed[--pp->pp_nowed];
			return 1;
		}
	return 0;
}

static void
parent_owed_drop(struct parent *p, struct pproc *pp)
{
	struct pwait	*pw;
	int		 i;

	for (i = 0; i < pp->pp_nowed; i++)
		TAILQ_FOREACH(pw, &p->p_waits, pw_entry) {
			if (pw->pw_id != pp->pp_owed[i])
				continue;
			/*
			 * A keeper's successor reads the store as it starts;
			 * a worker's counters are gone with it.
			 */
			if (pw->pw_kind == PW_STATUS ||
			    pw->pw_kind == PW_PUBLISH)
				json_object_object_add(pw->pw_reply,
				    "incomplete", json_object_new_boolean(1));
			if (--pw->pw_pending <= 0)
				parent_wait_done(pw);
			break;
		}
	pp->pp_nowed = 0;
}

static void
parent_wait_secrets(struct parent *p, struct pproc *pp, uint32_t id)
{
	struct pwait	*pw;

	if (!parent_paid(pp, id))
		return;
	if ((pw = parent_wait_find(p, PW_SECRETS, id)) != NULL &&
	    --pw->pw_pending <= 0)
		parent_wait_done(pw);
}

static void
parent_json_add_u64(struct json_object *o, const char *key, uint64_t v)
{
	struct json_object	*cur;

	if (json_object_object_get_ex(o, key, &cur))
		v += (uint64_t)json_object_get_int64(cur);
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* The object o holds under key, made when it has none. */
static struct json_object *
parent_json_object(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v)) {
		v = json_object_new_object();
		json_object_object_add(o, key, v);
	}
	return v;
}

/* One worker's counters, summed into the status reply. */
static void
parent_wait_stats(struct parent *p, struct pproc *pp,
    const struct ipc_stats *st, uint32_t id)
{
	static const char *const counts[IPC_CACHE_NCOUNTS] = { "hits",
	    "misses", "revalidated", "stale", "collapsed" };
	static const char *const totals[IPC_CACHE_NTOTALS] = { "entries",
	    "bytes", "memory", "evicted", "dropped" };
	const struct ipc_stat_row	*r;
	struct json_object		*row, *codes, *cache;
	struct pwait			*pw;
	char				 key[600], code[16];
	uint32_t			 i, j;

	if (!parent_paid(pp, id) ||
	    (pw = parent_wait_find(p, PW_STATUS, id)) == NULL)
		return;
	/* Each worker has its own cache: the sums of all of them. */
	cache = parent_json_object(pw->pw_reply, "cache");
	for (j = 0; j < IPC_CACHE_NTOTALS; j++)
		parent_json_add_u64(cache, totals[j], st->is_cache[j]);
	for (i = 0; i < st->is_nrows; i++) {
		r = &st->is_rows[i];
		snprintf(key, sizeof(key), "%s/%s/%u", r->sr_tenant,
		    r->sr_permalink, r->sr_composite);
		if (!json_object_object_get_ex(pw->pw_rows, key, &row)) {
			row = json_object_new_object();
			json_object_object_add(row, "tenant",
			    json_object_new_string(r->sr_tenant));
			json_object_object_add(row, "permalink",
			    json_object_new_string(r->sr_permalink));
			json_object_object_add(row, "kind", json_object_new_string(
			    r->sr_composite ? "composite" : "connector"));
			json_object_object_add(row, "status",
			    json_object_new_object());
			json_object_object_add(pw->pw_rows, key, row);
		}
		parent_json_add_u64(row, "calls", r->sr_calls);
		parent_json_add_u64(row, "errors", r->sr_errors);
		parent_json_add_u64(row, "upstream_errors",
		    r->sr_upstream_errors);
		cache = parent_json_object(row, "cache");
		for (j = 0; j < IPC_CACHE_NCOUNTS; j++)
			parent_json_add_u64(cache, counts[j], r->sr_cache[j]);
		json_object_object_get_ex(row, "status", &codes);
		for (j = 0; j < r->sr_ncodes; j++) {
			snprintf(code, sizeof(code), "%u",
			    r->sr_codes[j].sc_status);
			parent_json_add_u64(codes, code,
			    r->sr_codes[j].sc_count);
		}
	}
	if (--pw->pw_pending <= 0)
		parent_wait_done(pw);
}

static double
parent_uptime(const struct timespec *since)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return parent_uptime_at(since, &now);
}

/* The process table of widgetctl status. */
static struct json_object *
parent_status_procs(struct parent *p)
{
	struct json_object	*list, *o;
	struct pproc		*pp;
	struct pslot		*ps;

	list = json_object_new_array();
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry) {
		o = json_object_new_object();
		ps = NULL;
		if (pp->pp_role == PROC_PUBLISHER)
			ps = parent_publisher_slot(p, pp);
		else if (pp->pp_epoch == p->p_epoch)
			ps = pp->pp_role == PROC_WORKER ?
			    &p->p_wslots[pp->pp_slot] :
			    &p->p_kslots[pp->pp_slot];
		json_object_object_add(o, "role", json_object_new_string(
		    proc_role_name(pp->pp_role)));
		json_object_object_add(o, "slot",
		    json_object_new_int(pp->pp_slot));
		json_object_object_add(o, "pid",
		    json_object_new_int((int)pp->pp_pid));
		json_object_object_add(o, "uptime_s",
		    json_object_new_double(parent_uptime(&pp->pp_started)));
		json_object_object_add(o, "respawns",
		    json_object_new_int(ps != NULL ? ps->ps_respawns : 0));
		json_object_object_add(o, "generation",
		    json_object_new_int64((int64_t)pp->pp_gen));
		json_object_object_add(o, "draining",
		    json_object_new_boolean(pp->pp_draining));
		json_object_object_add(o, "ready",
		    json_object_new_boolean(pp->pp_ready));
		if (pp->pp_role == PROC_WORKER) {
			json_object_object_add(o, "connections",
			    json_object_new_int(pp->pp_conns));
			json_object_object_add(o, "keeper", json_object_new_int(
			    pp->pp_slot % p->p_nkeepers));
		}
		json_object_array_add(list, o);
	}
	return list;
}

static void
parent_ctl_status(struct parent *p, struct control_req *req)
{
	struct json_object	*reply, *list;
	struct pwait		*pw;
	struct pproc		*pp;

	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "pid", json_object_new_int(getpid()));
	json_object_object_add(reply, "uptime_s",
	    json_object_new_double(parent_uptime(&p->p_started)));
	json_object_object_add(reply, "generation",
	    json_object_new_int64((int64_t)p->p_gen));
	json_object_object_add(reply, "config",
	    json_object_new_string(p->p_opts.po_conf));
	json_object_object_add(reply, "processes", parent_status_procs(p));
	/* Publishes since start, by tenant (SPEC §10 "Builds"). */
	if ((list = json_object_new_array()) != NULL) {
		if (p->p_pubstats != NULL) {
			json_object_object_foreach(p->p_pubstats, key, row) {
				(void)key;
				json_object_array_add(list,
				    json_object_get(row));
			}
		}
		json_object_object_add(reply, "publishes", list);
	}
	if ((pw = parent_wait_new(p, req, PW_STATUS, reply)) == NULL)
		return;
	pw->pw_rows = json_object_new_object();
	/* Every worker, old epochs included, counts what it served. */
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		if (pp->pp_role == PROC_WORKER && pp->pp_ready &&
		    pp->pp_chan != NULL && pp->pp_nowed < PARENT_OWED_MAX &&
		    chan_send(pp->pp_chan, MSG_STATS_REQ, pw->pw_id, NULL, 0,
		    -1) == 0 && parent_owe(pp, pw->pw_id) == 0)
			pw->pw_pending++;
	if (pw->pw_pending == 0)
		parent_wait_done(pw);
}

static void
parent_ctl_reload(struct parent *p, struct control_req *req)
{
	struct parent_reload_result	 rr;
	struct json_object		*errors, *reply;
	struct pwait			*pw;

	errors = json_object_new_array();
	parent_reload(p, &rr, errors);
	if (!rr.rr_ok) {
		reply = json_object_new_object();
		json_object_object_add(reply, "ok", json_object_new_boolean(0));
		json_object_object_add(reply, "error",
		    json_object_new_string(rr.rr_error));
		json_object_object_add(reply, "errors", errors);
		control_reply(req, reply);
		return;
	}
	json_object_put(errors);
	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "generation",
	    json_object_new_int64((int64_t)rr.rr_gen));
	/* Answered once every child runs the new generation. */
	if ((pw = parent_wait_new(p, req, PW_RELOAD, reply)) == NULL)
		return;
	pw->pw_gen = rr.rr_gen;
	parent_waits_check(p);
}

static void
parent_ctl_secrets(struct parent *p, struct control_req *req,
    struct json_object *request)
{
	struct json_object	*t, *reply;
	struct pwait		*pw;
	struct pproc		*pp;
	struct ipc_buf		 b;
	const char		*tenant;

	if (!json_object_object_get_ex(request, "tenant", &t) ||
	    !json_object_is_type(t, json_type_string) ||
	    snapshot_tenant_by_id(p->p_snap,
	    (tenant = json_object_get_string(t))) == NULL) {
		control_reply_error(req, "secrets: no such tenant");
		return;
	}
	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	if ((pw = parent_wait_new(p, req, PW_SECRETS, reply)) == NULL)
		return;
	if ((pw->pw_tenant = strdup(tenant)) == NULL) {
		/* The workers are not asked: nothing to tell them. */
		pw->pw_workers = 1;
	}
	ipc_buf_init(&b);
	ipc_put_str(&b, tenant);
	/* Every keeper of every epoch: old ones still serve old workers. */
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		if (pp->pp_role == PROC_KEEPER && pp->pp_chan != NULL &&
		    pp->pp_nowed < PARENT_OWED_MAX &&
		    chan_send(pp->pp_chan, MSG_SECRETS, pw->pw_id, b.b_data,
		    b.b_len, -1) == 0 && parent_owe(pp, pw->pw_id) == 0)
			pw->pw_pending++;
	ipc_buf_clear(&b);
	log_info("control: secrets of tenant %s changed", tenant);
	if (pw->pw_pending == 0)
		parent_wait_done(pw);
}

/*
 * widgetctl publish [-t tenant]: every (or that tenant's) publisher
 * publishes now; answered with each build once the workers serve what
 * it published, or after PARENT_PUBLISH_WAIT with what came.
 */
static void
parent_ctl_publish(struct parent *p, struct control_req *req,
    struct json_object *request)
{
	struct json_object	*t, *reply;
	struct timeval		 tv = { PARENT_PUBLISH_WAIT, 0 };
	struct pwait		*pw;
	struct pproc		*pp;
	const char		*tenant = NULL, *id;
	int			 k, matched = 0;

	if (json_object_object_get_ex(request, "tenant", &t)) {
		if (!json_object_is_type(t, json_type_string)) {
			control_reply_error(req, "tenant must be a "
			    "string");
			return;
		}
		tenant = json_object_get_string(t);
	}
	for (k = 0; k < p->p_nbslots; k++)
		if (tenant == NULL || strcmp(p->p_cfg->c_tenants[
		    p->p_bslots[k].ps_slot].t_id, tenant) == 0)
			matched++;
	if (matched == 0) {
		control_reply_error(req, tenant == NULL ? "no tenant "
		    "has a repository" : "tenant %s has no repository",
		    tenant);
		return;
	}
	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "builds", json_object_new_array());
	if ((pw = parent_wait_new(p, req, PW_PUBLISH, reply)) == NULL)
		return;
	if (pw->pw_timer != NULL)
		evtimer_add(pw->pw_timer, &tv);
	for (k = 0; k < p->p_nbslots; k++) {
		id = p->p_cfg->c_tenants[p->p_bslots[k].ps_slot].t_id;
		if (tenant != NULL && strcmp(id, tenant) != 0)
			continue;
		pp = p->p_bslots[k].ps_proc;
		if (pp != NULL && pp->pp_ready && pp->pp_chan != NULL &&
		    pp->pp_nowed < PARENT_OWED_MAX &&
		    chan_send(pp->pp_chan, MSG_PUBLISH, pw->pw_id, NULL, 0,
		    -1) == 0 && parent_owe(pp, pw->pw_id) == 0) {
			pw->pw_pending++;
			continue;
		}
		/* Restarting: it publishes anyway as it starts. */
		json_object_object_add(reply, "incomplete",
		    json_object_new_boolean(1));
		log_info("control: publish: the publisher of tenant %s is not "
		    "running", id);
	}
	log_info("control: publish requested%s%s", tenant != NULL ?
	    " for tenant " : "", tenant != NULL ? tenant : "");
	parent_waits_check(p);
}

/*
 * Test mode: on the next ready worker in turn whose keeper is up too
 * (parent_pick; a test is not a connection, so limits.connections does
 * not hold it back), parent_test.c does the rest.
 */
static void
parent_ctl_test(struct parent *p, struct control_req *req,
    struct json_object *request)
{
	struct pproc	*best;

	if ((best = parent_pick(p, 1, INT_MAX)) == NULL) {
		control_reply_error(req, "no worker is ready; retry");
		return;
	}
	ptest_start(p->p_tests, req, request, p->p_wsnap, best->pp_chan,
	    best->pp_slot, parent_keeper_of(p, best->pp_slot)->ps_proc->pp_chan);
}

static void	parent_shutdown(struct parent *);

/*
 * The test suite's way to make a worker misbehave (MSG_TEST_ABUSE):
 * {"command": "test-abuse", "worker": N, "abuse": "log" | "ping"}.  Only
 * when the daemon was started with WIDGETD_TEST_HOOKS=1; otherwise the
 * command does not exist.
 */
static void
parent_ctl_test_abuse(struct parent *p, struct control_req *req,
    struct json_object *request)
{
	struct json_object	*o, *reply;
	struct pproc		*w = NULL;
	struct ipc_buf		 b;
	const char		*abuse = "";
	uint32_t		 what;
	int64_t			 slot = -1;

	if (json_object_object_get_ex(request, "worker", &o) &&
	    json_object_is_type(o, json_type_int))
		slot = json_object_get_int64(o);
	if (json_object_object_get_ex(request, "abuse", &o) &&
	    json_object_is_type(o, json_type_string))
		abuse = json_object_get_string(o);
	if (strcmp(abuse, "log") == 0)
		what = IPC_ABUSE_LOG_FLOOD;
	else if (strcmp(abuse, "ping") == 0)
		what = IPC_ABUSE_PING_FLOOD;
	else {
		control_reply_error(req, "test-abuse: abuse is log or ping");
		return;
	}
	if (slot >= 0 && slot < p->p_nworkers)
		w = p->p_wslots[slot].ps_proc;
	if (w == NULL || w->pp_chan == NULL) {
		control_reply_error(req, "test-abuse: no such worker");
		return;
	}
	if (ipc_encode_u32(&b, what) == 0)
		chan_send(w->pp_chan, MSG_TEST_ABUSE, 0, b.b_data, b.b_len, -1);
	ipc_buf_clear(&b);
	log_warnx("control: test-abuse %s sent to worker %d (pid %ld)", abuse,
	    w->pp_slot, (long)w->pp_pid);
	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "pid",
	    json_object_new_int64((int64_t)w->pp_pid));
	control_reply(req, reply);
}

static void
parent_control_cb(struct control_req *req, const char *command,
    struct json_object *request, void *arg)
{
	struct parent		*p = arg;
	struct json_object	*reply;

	if (p->p_shutdown && strcmp(command, "status") != 0) {
		control_reply_error(req, "shutting down");
		return;
	}
	if (strcmp(command, "status") == 0)
		parent_ctl_status(p, req);
	else if (strcmp(command, "reload") == 0) {
		log_info("control: reload requested");
		parent_ctl_reload(p, req);
	} else if (strcmp(command, "secrets") == 0)
		parent_ctl_secrets(p, req, request);
	else if (strcmp(command, "publish") == 0)
		parent_ctl_publish(p, req, request);
	else if (strcmp(command, "test") == 0)
		parent_ctl_test(p, req, request);
	else if (strcmp(command, "stop") == 0) {
		log_info("control: stop requested");
		reply = json_object_new_object();
		json_object_object_add(reply, "ok", json_object_new_boolean(1));
		control_reply(req, reply);
		parent_shutdown(p);
	} else if (p->p_test_hooks && strcmp(command, "test-abuse") == 0)
		parent_ctl_test_abuse(p, req, request);
	else
		control_reply_error(req, "unknown command: %s", command);
}

static void
parent_shutdown(struct parent *p)
{
	struct pproc	*pp;
	int		 i;

	if (p->p_shutdown)
		return;
	p->p_shutdown = 1;
	log_info("shutting down: draining connections (at most %d s)",
	    parent_drain_secs(p));
	/*
	 * Tell the children first, then stop accepting: once a client sees
	 * its connection refused, every worker has been told (nothing is
	 * handed to a draining worker in between).
	 */
	for (i = 0; i < p->p_nkeepers; i++)
		evtimer_del(p->p_kslots[i].ps_respawn_ev);
	for (i = 0; i < p->p_nworkers; i++)
		evtimer_del(p->p_wslots[i].ps_respawn_ev);
	for (i = 0; i < p->p_nbslots; i++)
		evtimer_del(p->p_bslots[i].ps_respawn_ev);
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		parent_drain(p, pp);
	parent_drop_held(p);
	if (p->p_mlistener != NULL)
		parent_listeners_free(p->p_mlistener, 1);
	p->p_mlistener = NULL;
	parent_listeners_free(p->p_listeners, p->p_nlisteners);
	p->p_listeners = NULL;
	p->p_nlisteners = 0;
	if (TAILQ_EMPTY(&p->p_procs))
		event_base_loopexit(p->p_base, NULL);
}

static void
parent_signal_cb(int sig, short what, void *arg)
{
	struct parent			*p = arg;
	struct parent_reload_result	 rr;

	switch (sig) {
	case SIGCHLD:
		parent_sigchld(p);
		break;
	case SIGHUP:
		if (!p->p_shutdown)
			parent_reload(p, &rr, NULL);
		break;
	case SIGTERM:
	case SIGINT:
		parent_shutdown(p);
		break;
	case SIGUSR1:
		/* syslog and stderr need no reopening; the access file does. */
		if (p->p_cfg->c_access_file == NULL)
			log_info("SIGUSR1: nothing to reopen");
		else if (parent_access_file(p, 1) == 0)
			log_info("SIGUSR1: reopened %s",
			    p->p_cfg->c_access_file);
		break;
	}
}

int
parent_main(const struct proc_opts *po)
{
	struct parent	 p;
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	struct pwait	*pw;
	const char	*env;
	size_t		 i;
	long		 nofile;
	char		 err[256];

	memset(&p, 0, sizeof(p));
	TAILQ_INIT(&p.p_procs);
	TAILQ_INIT(&p.p_waits);
	p.p_opts = *po;
	log_init(1, po->po_verbose, LOG_DAEMON);
	log_procname("parent");
	clock_gettime(CLOCK_MONOTONIC, &p.p_started);

	p.p_gen = 1;
	if ((p.p_snap = snapshot_build(po->po_conf, p.p_gen, 1,
	    proc_log_report, NULL)) == NULL)
		fatalx("%s: invalid configuration", po->po_conf);
	p.p_cfg = p.p_snap->sn_cfg;
	p.p_wsnap = snapshot_ref(p.p_snap);
	if (proc_check_privsep(p.p_cfg, proc_log_report, NULL) == -1)
		fatalx("%s: configuration refused", po->po_conf);
	if ((nofile = proc_raise_nofile()) == -1)
		log_warn("cannot raise the open files limit");
	p.p_nofile = nofile;
	if ((p.p_admit = admit_new()) == NULL)
		fatalx("out of memory");
	parent_conn_limit(&p);
	if ((p.p_listeners = parent_bind(p.p_cfg, NULL, 0)) == NULL)
		fatalx("cannot bind the listeners");
	p.p_nlisteners = p.p_cfg->c_nlisten;

	/* Errors so far went to stderr, where the operator is looking. */
	if (!po->po_debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(0, po->po_verbose, p.p_cfg->c_syslog_facility);
	}
	if (geteuid() != 0)
		log_info("not started as root: workers and keeper keep uid %ld "
		    "and run without chroot; seccomp filters still apply",
		    (long)geteuid());
	/*
	 * The parent needs none of ptrace, module loading, mounts, keyrings,
	 * bpf and their like: a deny-list from here on, inherited by every
	 * child beneath its own allow-list.
	 */
	if (sandbox_apply(SANDBOX_PARENT) == -1)
		fatal("cannot install the parent's seccomp filter");

	/* A child that died mid-write must not kill the parent. */
	signal(SIGPIPE, SIG_IGN);
	/* The test suite's hooks (parent_ctl_test_abuse); never otherwise. */
	if ((env = getenv("WIDGETD_TEST_HOOKS")) != NULL &&
	    strcmp(env, "1") == 0) {
		p.p_test_hooks = 1;
		log_warnx("WIDGETD_TEST_HOOKS=1: test-abuse control command "
		    "enabled (never in production)");
	}
	/* After daemon(): the epoll fd is not shared with a forked-off parent. */
	if ((p.p_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		p.p_sig[i] = evsignal_new(p.p_base, sigs[i], parent_signal_cb,
		    &p);
		if (p.p_sig[i] == NULL || evsignal_add(p.p_sig[i], NULL) == -1)
			fatalx("cannot set up signal %d", sigs[i]);
	}
	if ((p.p_sendq_ev = event_new(p.p_base, -1, 0, parent_sendq_cb,
	    &p)) == NULL)
		fatalx("out of memory");
	if (parent_listeners_start(&p) == -1)
		fatalx("cannot start the listeners");
	if ((p.p_retired = metrics_new()) == NULL)
		fatalx("out of memory");
	if (parent_access_file(&p, 0) == -1)
		fatalx("cannot open the access log %s", p.p_cfg->c_access_file);
	if (parent_metrics_listen(&p, p.p_cfg) == -1)
		fatalx("cannot bind the metrics listener %s port %d",
		    p.p_cfg->c_metrics.l_address, p.p_cfg->c_metrics.l_port);
	/* widgetctl's way in: root (or our own user) only. */
	if ((p.p_control = control_new(p.p_base, p.p_cfg->c_control_socket,
	    parent_control_cb, &p, err, sizeof(err))) == NULL)
		fatalx("control socket %s: %s", p.p_cfg->c_control_socket, err);
	/* A test may carry a whole Code Mode definition. */
	control_set_limit(p.p_control, "test", PARENT_TEST_MAX);
	if (parent_slots_init(&p, parent_nkeepers(p.p_cfg),
	    parent_nworkers(p.p_cfg)) == -1 ||
	    (p.p_tests = ptests_new(p.p_base)) == NULL)
		fatalx("out of memory");
	parent_start_epoch(&p);
	parent_publishers_start(&p);
	log_info("started: %d keepers, %d workers, %d publishers, %zu "
	    "listeners; widgetd %s", p.p_nkeepers, p.p_nworkers,
	    p.p_nbslots, p.p_nlisteners, version_string());

	event_base_dispatch(p.p_base);

	log_info("exiting");
	while ((pw = TAILQ_FIRST(&p.p_waits)) != NULL)
		parent_wait_done(pw);
	ptests_free(p.p_tests);
	control_free(p.p_control);
	if (p.p_mlistener != NULL)
		parent_listeners_free(p.p_mlistener, 1);
	metrics_free(p.p_retired);
	accesslog_close(p.p_access);
	parent_slots_free(&p);
	parent_slots_clear(&p.p_bslots, &p.p_nbslots);
	json_object_put(p.p_pubstats);
	for (i = 0; i < p.p_nunpublish; i++)
		free(p.p_unpublish[i]);
	free(p.p_unpublish);
	if (p.p_accept_ev != NULL)
		event_free(p.p_accept_ev);
	event_free(p.p_sendq_ev);
	if (p.p_snap_ev != NULL)
		event_free(p.p_snap_ev);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		event_free(p.p_sig[i]);
	snapshot_unref(p.p_wsnap);
	snapshot_unref(p.p_snap);
	admit_free(p.p_admit);
	event_base_free(p.p_base);
	return 0;
}
