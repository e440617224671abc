/*
 * parent.c — the supervising process.
 *
 * The parent binds the listeners, starts the keeper and the workers, and
 * from then on only accepts connections and hands each one to the
 * least-loaded worker (SCM_RIGHTS, MSG_CONN_FD).  It never reads a request
 * byte and never opens a secret.  It supervises its children: a dead one is
 * respawned with exponential backoff, and the channels between workers and
 * the keeper are made here, so that a respawned keeper or worker is linked
 * to the survivors again.  It writes the children's log lines.
 *
 * Generations: a reload validates the new configuration completely, then
 * starts a new keeper and new workers with it and lets the old ones drain
 * (MSG_SHUTDOWN).  Old workers keep talking to the old keeper until they
 * have finished; the old keeper exits when its last worker has gone.
 */
#include "build.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "chan.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"

#define PARENT_BACKLOG		511
#define PARENT_CRASH_LOOP	3	/* consecutive crashes worth a warning */
#define PARENT_DRAIN_DEFAULT	30
#define PARENT_HOLD_MAX		1024	/* connections held while no worker is ready */
#define PARENT_FD_RESERVE	64	/* a worker's fds that are not clients */

struct parent;

/* One running child. */
struct pproc {
	TAILQ_ENTRY(pproc)	 pp_entry;
	struct parent		*pp_parent;
	enum proc_role		 pp_role;
	int			 pp_slot;
	int			 pp_gen;	/* configuration generation */
	pid_t			 pp_pid;
	struct chan		*pp_chan;	/* NULL once closed */
	int			 pp_ready;
	int			 pp_conns;	/* connections handed, not done */
	int			 pp_draining;
	struct event		*pp_kill_ev;	/* drain deadline */
};

/* A place for one child of the current generation. */
struct pslot {
	struct parent		*ps_parent;
	enum proc_role		 ps_role;
	int			 ps_slot;
	struct pproc		*ps_proc;	/* NULL while down */
	struct proc_backoff	 ps_backoff;
	struct event		*ps_respawn_ev;
};

struct plistener {
	int			 pl_fd;
	char			*pl_address;
	int			 pl_port;
	struct evconnlistener	*pl_lev;
};

struct parent {
	struct event_base	*p_base;
	struct widgetd_config	*p_cfg;
	struct proc_opts	 p_opts;
	struct plistener	*p_listeners;
	size_t			 p_nlisteners;
	TAILQ_HEAD(, pproc)	 p_procs;
	struct pslot		*p_wslots;
	int			 p_nworkers;
	struct pslot		 p_kslot;
	int			 p_gen;
	int			 p_conns;	/* all workers together */
	int			 p_paused;	/* listeners off: all workers full */
	int			 p_shutdown;
	int			 p_held[PARENT_HOLD_MAX];	/* accepted, no worker yet */
	size_t			 p_nheld;
	struct event		*p_sig[5];
	int			 p_conn_limit;	/* per worker: config, fd limit */
	long			 p_nofile;	/* RLIMIT_NOFILE, as children get it */
	int			 p_accept_err;	/* listeners off: accept failing */
	struct event		*p_accept_ev;	/* turns them on again */
};

static void	parent_respawn_cb(int, short, void *);
static void	parent_listeners_update(struct parent *);
static void	parent_accept_error_cb(struct evconnlistener *, void *);
static void	parent_dispatch_held(struct parent *);
static void	parent_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);

static const char *
parent_name(const struct pproc *pp, char *buf, size_t len)
{
	if (pp->pp_role == PROC_WORKER)
		snprintf(buf, len, "worker %d (pid %ld)", pp->pp_slot,
		    (long)pp->pp_pid);
	else
		snprintf(buf, len, "keeper (pid %ld)", (long)pp->pp_pid);
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
	if (p->p_paused && !p->p_shutdown &&
	    pp->pp_conns < p->p_conn_limit) {
		parent_pause(p, 0);
		parent_dispatch_held(p);
	}
}

/* Hand fd to the least-loaded ready worker; -1 (fd kept) if there is none. */
static int
parent_dispatch(struct parent *p, int fd)
{
	struct pproc	*best = NULL, *pp;
	int		 i;

	for (i = 0; i < p->p_nworkers; i++) {
		pp = p->p_wslots[i].ps_proc;
		if (pp == NULL || !pp->pp_ready || pp->pp_chan == NULL ||
		    pp->pp_draining)
			continue;
		if (best == NULL || pp->pp_conns < best->pp_conns)
			best = pp;
	}
	if (best == NULL)
		return -1;
	/* chan_send consumes fd, also on failure. */
	if (chan_send(best->pp_chan, MSG_CONN_FD, 0, NULL, 0, fd) == -1)
		return 0;
	best->pp_conns++;
	p->p_conns++;
	/* The least loaded is at limits.connections: so is everyone. */
	if (best->pp_conns >= p->p_conn_limit)
		parent_pause(p, 1);
	return 0;
}

/* A worker became ready: give it the connections that waited for one. */
static void
parent_dispatch_held(struct parent *p)
{
	size_t	 i = 0;

	while (i < p->p_nheld && !p->p_paused &&
	    parent_dispatch(p, p->p_held[i]) == 0)
		i++;
	memmove(p->p_held, p->p_held + i, (p->p_nheld - i) * sizeof(int));
	p->p_nheld -= i;
}

static void
parent_drop_held(struct parent *p)
{
	while (p->p_nheld > 0)
		close(p->p_held[--p->p_nheld]);
}

static void
parent_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct parent	*p = arg;

	if (parent_dispatch(p, fd) == 0)
		return;
	/*
	 * No worker is ready (all restarting, or a reload's new generation
	 * still starting): hold the connection until one is.
	 */
	if (p->p_nheld == PARENT_HOLD_MAX) {
		log_debug("no worker ready and %d connections held: dropped",
		    PARENT_HOLD_MAX);
		close(fd);
		return;
	}
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

/* Give a worker and the keeper of its generation a channel to each other. */
static void
parent_link(struct parent *p, struct pproc *w)
{
	struct pproc	*k = p->p_kslot.ps_proc;
	struct ipc_buf	 b;
	int		 sv[2];

	if (k == NULL || k->pp_chan == NULL || w->pp_chan == NULL ||
	    k->pp_gen != w->pp_gen)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", __func__);
		return;
	}
	ipc_buf_init(&b);
	if (ipc_put_u32(&b, (uint32_t)w->pp_slot) == -1) {
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	/*
	 * The parent makes the pair and keeps neither end: workers cannot
	 * create sockets, and the keeper must not trust a worker to name
	 * itself.  The slot number comes from the parent.
	 */
	chan_send(w->pp_chan, MSG_KEEPER_FD, 0, NULL, 0, sv[0]);
	chan_send(k->pp_chan, MSG_WORKER_FD, 0, b.b_data, b.b_len, sv[1]);
out:
	ipc_buf_clear(&b);
}

/*
 * A child's line, as the root parent writes it: a compromised worker does
 * not get to write megabytes or control characters into the system log.
 */
static void
parent_log_child(int prio, const char *line)
{
	char	 buf[2048];
	size_t	 i;

	for (i = 0; line[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) ?
		    '?' : line[i];
	buf[i] = '\0';
	log_emit(prio, buf);
}

static int
parent_child_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct pproc	*pp = arg;
	struct parent	*p = pp->pp_parent;
	char		*line = NULL, name[64];
	uint32_t	 prio, slot;
	int		 i;

	if (m->m_fd != -1)
		return -1;	/* children never send fds up */
	switch (m->m_type) {
	case MSG_LOG:
		if (ipc_get_u32(m, &prio) == -1 || ipc_get_str(m, &line) == -1 ||
		    ipc_get_end(m) != 0) {
			free(line);
			return -1;
		}
		parent_log_child(LOG_PRI(prio), line);
		free(line);
		return 0;
	case MSG_READY:
		pp->pp_ready = 1;
		log_debug("%s ready", parent_name(pp, name, sizeof(name)));
		if (pp->pp_role == PROC_WORKER)
			parent_dispatch_held(p);
		return 0;
	case MSG_CONN_DONE:
		if (pp->pp_role != PROC_WORKER)
			return -1;
		parent_conn_done(p, pp, 1);
		return 0;
	case MSG_WORKER_EVICT:
		/*
		 * Only the keeper may ask, and only about a worker of its own
		 * generation: a stale request must not kill a newer worker.
		 */
		if (pp->pp_role != PROC_KEEPER || ipc_get_u32(m, &slot) == -1 ||
		    ipc_get_end(m) != 0)
			return -1;
		for (i = 0; i < p->p_nworkers; i++) {
			struct pproc *w = p->p_wslots[i].ps_proc;

			if (w != NULL && w->pp_slot == (int)slot &&
			    w->pp_gen == pp->pp_gen) {
				log_warnx("%s evicted by the keeper: killing it",
				    parent_name(w, name, sizeof(name)));
				kill(w->pp_pid, SIGKILL);
			}
		}
		return 0;
	default:
		log_warnx("%s sent unexpected %s",
		    parent_name(pp, name, sizeof(name)),
		    ipc_type_name(m->m_type));
		return -1;
	}
}

static void
parent_child_close(struct chan *ch, const char *why, void *arg)
{
	struct pproc	*pp = arg;
	char		 name[64];

	chan_free(pp->pp_chan);
	pp->pp_chan = NULL;
	pp->pp_ready = 0;
	/* EOF: it is exiting and SIGCHLD follows.  Else it broke the rules. */
	if (strcmp(why, "end of file") != 0) {
		log_warnx("%s: channel %s: killing it",
		    parent_name(pp, name, sizeof(name)), why);
		kill(pp->pp_pid, SIGKILL);
	}
}

static struct pproc *
parent_spawn(struct parent *p, struct pslot *ps)
{
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
	pp->pp_parent = p;
	pp->pp_role = ps->ps_role;
	pp->pp_slot = ps->ps_slot;
	pp->pp_gen = p->p_gen;
	pp->pp_pid = proc_spawn(ps->ps_role, ps->ps_slot, sv[1], &p->p_opts);
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
	pp->pp_chan = chan_new(p->p_base, sv[0], parent_child_msg,
	    parent_child_close, pp);
	if (pp->pp_chan == NULL) {
		log_warnx("%s: cannot set up channel: killing it",
		    parent_name(pp, name, sizeof(name)));
		kill(pp->pp_pid, SIGKILL);
		return pp;
	}
	log_debug("started %s", parent_name(pp, name, sizeof(name)));
	if (pp->pp_role == PROC_WORKER)
		parent_link(p, pp);
	else
		for (i = 0; i < p->p_nworkers; i++)
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

	parent_name(pp, name, sizeof(name));
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));

	if (pp->pp_role == PROC_KEEPER && p->p_kslot.ps_proc == pp)
		ps = &p->p_kslot;
	else if (pp->pp_role == PROC_WORKER && pp->pp_slot < p->p_nworkers &&
	    p->p_wslots[pp->pp_slot].ps_proc == pp)
		ps = &p->p_wslots[pp->pp_slot];

	parent_conn_done(p, pp, pp->pp_conns);
	TAILQ_REMOVE(&p->p_procs, pp, pp_entry);
	chan_free(pp->pp_chan);
	if (pp->pp_kill_ev != NULL)
		event_free(pp->pp_kill_ev);
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
	ms = proc_backoff_next(&ps->ps_backoff);
	if (ps->ps_backoff.pb_crashes >= PARENT_CRASH_LOOP)
		log_warnx("%s %s: crash loop (%d quick exits in a row), "
		    "restarting in %ld ms", name, how,
		    ps->ps_backoff.pb_crashes, ms);
	else
		log_warnx("%s %s, restarting in %ld ms", name, how, ms);
	parent_schedule(p, ps, ms);
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

/* Slots of the current generation: one keeper, n workers. */
static int
parent_slots_init(struct parent *p, int n)
{
	int	 i;

	if ((p->p_wslots = calloc((size_t)n, sizeof(*p->p_wslots))) == NULL)
		return -1;
	p->p_nworkers = n;
	for (i = 0; i < n; i++) {
		p->p_wslots[i].ps_parent = p;
		p->p_wslots[i].ps_role = PROC_WORKER;
		p->p_wslots[i].ps_slot = i;
		p->p_wslots[i].ps_respawn_ev = evtimer_new(p->p_base,
		    parent_respawn_cb, &p->p_wslots[i]);
		if (p->p_wslots[i].ps_respawn_ev == NULL)
			return -1;
	}
	return 0;
}

static void
parent_slots_free(struct parent *p)
{
	int	 i;

	for (i = 0; i < p->p_nworkers; i++)
		if (p->p_wslots[i].ps_respawn_ev != NULL)
			event_free(p->p_wslots[i].ps_respawn_ev);
	free(p->p_wslots);
	p->p_wslots = NULL;
	p->p_nworkers = 0;
}

static void
parent_start_generation(struct parent *p)
{
	int	 i;

	/* Keeper first, so every worker is linked as it starts. */
	if (parent_spawn(p, &p->p_kslot) == NULL)
		parent_schedule(p, &p->p_kslot, PROC_BACKOFF_MIN_MS);
	for (i = 0; i < p->p_nworkers; i++)
		if (parent_spawn(p, &p->p_wslots[i]) == NULL)
			parent_schedule(p, &p->p_wslots[i], PROC_BACKOFF_MIN_MS);
}

/* SIGHUP: validate everything first; only a good configuration replaces. */
static void
parent_reload(struct parent *p)
{
	struct widgetd_config	*cfg;
	struct plistener	*ls = NULL;
	struct pproc		*pp;
	int			 n;

	log_info("reloading %s", p->p_opts.po_conf);
	cfg = config_load(p->p_opts.po_conf, proc_log_report, NULL);
	if (cfg == NULL || proc_check_config(cfg, proc_log_report, NULL) == -1) {
		log_warnx("reload: %s is not valid, keeping the running "
		    "configuration", p->p_opts.po_conf);
		config_free(cfg);
		return;
	}
	if (!parent_same_listeners(p, cfg)) {
		/* Bind the new set before closing what is gone. */
		if ((ls = parent_bind(cfg, p->p_listeners,
		    p->p_nlisteners)) == NULL) {
			log_warnx("reload: cannot bind the new listeners, "
			    "keeping the running configuration");
			config_free(cfg);
			return;
		}
		parent_listeners_free(p->p_listeners, p->p_nlisteners);
		p->p_listeners = ls;
		p->p_nlisteners = cfg->c_nlisten;
	}
	/* From here on the new configuration is in force. */
	n = parent_nworkers(cfg);
	config_free(p->p_cfg);
	p->p_cfg = cfg;
	parent_conn_limit(p);
	if (parent_listeners_start(p) == -1)
		log_warnx("reload: some listeners are not accepting");

	/* The old generation drains; a new one starts now. */
	p->p_gen++;
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		parent_drain(p, pp);
	if (p->p_kslot.ps_respawn_ev != NULL)
		evtimer_del(p->p_kslot.ps_respawn_ev);
	p->p_kslot.ps_proc = NULL;
	parent_slots_free(p);
	if (parent_slots_init(p, n) == -1)
		fatalx("reload: out of memory");
	parent_start_generation(p);
	log_info("reloaded: %d workers", n);
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
	evtimer_del(p->p_kslot.ps_respawn_ev);
	for (i = 0; i < p->p_nworkers; i++)
		evtimer_del(p->p_wslots[i].ps_respawn_ev);
	TAILQ_FOREACH(pp, &p->p_procs, pp_entry)
		parent_drain(p, pp);
	parent_drop_held(p);
	parent_listeners_free(p->p_listeners, p->p_nlisteners);
	p->p_listeners = NULL;
	p->p_nlisteners = 0;
	if (TAILQ_EMPTY(&p->p_procs))
		event_base_loopexit(p->p_base, NULL);
}

static void
parent_signal_cb(int sig, short what, void *arg)
{
	struct parent	*p = arg;

	switch (sig) {
	case SIGCHLD:
		parent_sigchld(p);
		break;
	case SIGHUP:
		if (!p->p_shutdown)
			parent_reload(p);
		break;
	case SIGTERM:
	case SIGINT:
		parent_shutdown(p);
		break;
	case SIGUSR1:
		/* syslog and stderr need no reopening. */
		log_info("SIGUSR1: nothing to reopen");
		break;
	}
}

int
parent_main(const struct proc_opts *po)
{
	struct parent	 p;
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	size_t		 i;
	long		 nofile;

	memset(&p, 0, sizeof(p));
	TAILQ_INIT(&p.p_procs);
	p.p_opts = *po;
	log_init(1, po->po_verbose, LOG_DAEMON);
	log_procname("parent");

	if ((p.p_cfg = config_load(po->po_conf, proc_log_report, NULL)) == NULL)
		fatalx("%s: invalid configuration", po->po_conf);
	if (proc_check_config(p.p_cfg, proc_log_report, NULL) == -1)
		fatalx("%s: configuration refused", po->po_conf);
	if ((nofile = proc_raise_nofile()) == -1)
		log_warn("cannot raise the open files limit");
	p.p_nofile = nofile;
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

	/* A child that died mid-write must not kill the parent. */
	signal(SIGPIPE, SIG_IGN);
	/* After daemon(): the epoll fd is not shared with a forked-off parent. */
	if ((p.p_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		p.p_sig[i] = evsignal_new(p.p_base, sigs[i], parent_signal_cb,
		    &p);
		if (p.p_sig[i] == NULL || evsignal_add(p.p_sig[i], NULL) == -1)
			fatalx("cannot set up signal %d", sigs[i]);
	}
	if (parent_listeners_start(&p) == -1)
		fatalx("cannot start the listeners");
	p.p_kslot.ps_parent = &p;
	p.p_kslot.ps_role = PROC_KEEPER;
	p.p_kslot.ps_respawn_ev = evtimer_new(p.p_base, parent_respawn_cb,
	    &p.p_kslot);
	if (p.p_kslot.ps_respawn_ev == NULL ||
	    parent_slots_init(&p, parent_nworkers(p.p_cfg)) == -1)
		fatalx("out of memory");
	parent_start_generation(&p);
	log_info("started: %d workers, %zu listeners", p.p_nworkers,
	    p.p_nlisteners);

	event_base_dispatch(p.p_base);

	log_info("exiting");
	parent_slots_free(&p);
	event_free(p.p_kslot.ps_respawn_ev);
	if (p.p_accept_ev != NULL)
		event_free(p.p_accept_ev);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		event_free(p.p_sig[i]);
	config_free(p.p_cfg);
	event_base_free(p.p_base);
	return 0;
}
