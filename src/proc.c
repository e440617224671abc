/*
 * proc.c — fork + exec of children, respawn backoff, and the order in
 * which a child gives up its privileges.
 */
#include "build.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "chan.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

static const char *const proc_names[] = {
	[PROC_WORKER] = "worker",
	[PROC_KEEPER] = "keeper",
	[PROC_PUBLISHER] = "publisher",
};

const char *
proc_role_name(enum proc_role role)
{
	if ((unsigned)role >= sizeof(proc_names) / sizeof(proc_names[0]))
		return "unknown";
	return proc_names[role];
}

int
proc_role_parse(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(proc_names) / sizeof(proc_names[0]); i++)
		if (strcmp(name, proc_names[i]) == 0)
			return (int)i;
	return -1;
}

/* Close every fd above PROC_CHAN_FD: a child inherits only its channel. */
static void
proc_close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (int fd = lowfd; fd < 65536; fd++)
		(void)close(fd);
}

/* In a forked child: fd becomes to, inheritable across exec. */
static int
proc_move_fd(int fd, int to)
{
	/* dup2 onto itself keeps CLOEXEC: clear it by hand. */
	if (fd == to)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, to) == -1 ? -1 : 0;
}

/*
 * In a forked child: fds 0-2 become /dev/null.  A child writes to the log
 * only through its channel, where the parent names it and cleans the line;
 * the parent's own stdout and stderr (the journal under systemd, a
 * terminal with -d) would let it write raw lines, forged prefixes and
 * terminal escapes.  Sanitizer builds keep stderr: that is where a
 * sanitizer's report goes, and the tests look for it in the log.
 */
static int
proc_null_stdio(void)
{
	int	 fd, top = 2, i, rc = 0;

#ifdef WIDGETD_SANITIZED
	top = 1;
#endif
	/* The channel and snapshot sit above 2: this cannot take them. */
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	for (i = 0; i <= top; i++)
		if (fd != i && dup2(fd, i) == -1)
			rc = -1;
	if (fd > top)
		close(fd);
	return rc;
}

/*
 * The environment a child gets: nothing of the operator's shell (proxy
 * settings, tokens, LD_PRELOAD), only what changes no behaviour widgetd
 * relies on: the time zone and the sanitizers' options in test builds.
 */
static const char *const proc_env_keep[] = {
	"TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"
};

pid_t
proc_spawn(enum proc_role role, int slot, int chanfd, int snapfd,
    const struct proc_opts *po)
{
	char		 slotbuf[16], *argv[16], *envp[8], **ep;
	size_t		 e, n, nenv = 0;
	int		 argc = 0, i;
	pid_t		 pid;
	sigset_t	 all;

	/*
	 * The argument vector is built before fork: the child only calls
	 * async-signal-safe functions until execv.
	 */
	snprintf(slotbuf, sizeof(slotbuf), "%d", slot);
	argv[argc++] = (char *)"widgetd";
	argv[argc++] = (char *)"-R";
	argv[argc++] = (char *)proc_role_name(role);
	argv[argc++] = (char *)"-I";
	argv[argc++] = slotbuf;
	if (po->po_debug)
		argv[argc++] = (char *)"-d";
	for (i = 0; i < po->po_verbose && i < 3; i++)
		argv[argc++] = (char *)"-v";
	argv[argc] = NULL;
	for (ep = environ; *ep != NULL && nenv < sizeof(envp) /
	    sizeof(envp[0]) - 1; ep++)
		for (e = 0; e < sizeof(proc_env_keep) /
		    sizeof(proc_env_keep[0]); e++) {
			n = strlen(proc_env_keep[e]);
			if (strncmp(*ep, proc_env_keep[e], n) == 0 &&
			    (*ep)[n] == '=') {
				envp[nenv++] = *ep;
				break;
			}
		}
	envp[nenv] = NULL;

	switch (pid = fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		return pid;
	}

	/* Child: reset what the parent's event loop changed, then exec. */
	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			signal(i, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/*
	 * The snapshot first: if it sits at PROC_CHAN_FD, moving the channel
	 * there would close it.  Both must leave any fd number the other
	 * wants free; the parent's socketpair and memfd are never 0-2.
	 */
	if (snapfd == PROC_CHAN_FD) {
		if ((snapfd = fcntl(snapfd, F_DUPFD_CLOEXEC, PROC_SNAP_FD + 1))
		    == -1)
			_exit(127);
	}
	if (chanfd == PROC_SNAP_FD) {
		if ((chanfd = fcntl(chanfd, F_DUPFD_CLOEXEC, PROC_SNAP_FD + 1))
		    == -1)
			_exit(127);
	}
	if (proc_move_fd(chanfd, PROC_CHAN_FD) == -1 ||
	    proc_move_fd(snapfd, PROC_SNAP_FD) == -1 ||
	    proc_null_stdio() == -1)
		_exit(127);
	proc_close_from(PROC_SNAP_FD + 1);
	/*
	 * /proc/self/exe, not argv[0]: the very binary that is running,
	 * even if the file on disk was replaced by an upgrade meanwhile.
	 */
	execve("/proc/self/exe", argv, envp);
	/* No logging here: the channel is not set up in this image. */
	_exit(127);
}

void
proc_backoff_started(struct proc_backoff *pb)
{
	clock_gettime(CLOCK_MONOTONIC, &pb->pb_started);
}

long
proc_backoff_next(struct proc_backoff *pb)
{
	struct timespec	 now;
	long		 ms;
	int		 i;

	/* Monotonic: a clock step must not look like a long life. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pb->pb_started.tv_sec == 0 ||
	    now.tv_sec - pb->pb_started.tv_sec >= PROC_STABLE_SECS) {
		pb->pb_crashes = 0;
		return 0;
	}
	pb->pb_crashes++;
	ms = PROC_BACKOFF_MIN_MS;
	for (i = 1; i < pb->pb_crashes && ms < PROC_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > PROC_BACKOFF_MAX_MS)
		ms = PROC_BACKOFF_MAX_MS;
	return ms;
}

long
proc_raise_nofile(void)
{
	struct rlimit	 rl;

	/*
	 * Every client connection is an fd in the parent (briefly) and in a
	 * worker; the soft default of 1024 would cap limits.connections.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return -1;
	}
	return (long)rl.rlim_cur;
}

/*
 * Children keep the heap they have grown.  A call moves its answer through
 * several buffers of the answer's size (egress's body, the frame to the
 * worker, the worker's copy, the reply); glibc puts blocks of 128 KiB and
 * more in mappings of their own and hands the top of the heap back past
 * a threshold, so that every large answer would map fresh memory and
 * fault on each of its pages, at every step, on every call (a 1 MiB
 * answer: 29 times nginx's CPU, a third of it in page faults).  Blocks
 * up to PROC_HEAP_MMAP come from the heap, and up to PROC_HEAP_TRIM of
 * free heap stays: the memory of the largest burst is kept for the next
 * one.  What held a secret is wiped before it is freed, as before.
 */
void
proc_heap_keep(void)
{
	if (mallopt(M_MMAP_THRESHOLD, PROC_HEAP_MMAP) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, PROC_HEAP_TRIM) != 1)
		log_warnx("cannot tune the heap: large answers will cost "
		    "page faults");
}

/*
 * A foreground widgetd -d stopped with ^C, or a kill of the whole process
 * group, reaches every child at once.  Children ignore SIGINT and SIGHUP so
 * that the parent can drain them (MSG_SHUTDOWN) instead of each dying
 * mid-request; SIGTERM keeps its default: the parent's own fallback for a
 * child without a channel.  SIGPIPE: a client that resets its connection
 * must cost a write error, not the worker.
 */
void
proc_child_signals(void)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

void
proc_confine(enum proc_role role, const struct widgetd_config *cfg,
    const char *const *paths)
{
	(void)proc_confine_rw(role, cfg, paths, NULL);
}

/* The role's user, its chroot (workers only) and its filter. */
static enum sandbox_role
proc_sandbox_role(enum proc_role role, const struct widgetd_config *cfg,
    const char **user, const char **dir)
{
	*dir = NULL;
	switch (role) {
	case PROC_WORKER:
		*user = cfg->c_user;
		*dir = cfg->c_chroot;
		return SANDBOX_WORKER;
	case PROC_PUBLISHER:
		/*
		 * SPEC §10: the publisher runs as `user`, without a chroot
		 * (it must reach the repository and the published
		 * directory); Landlock narrows it to those two.
		 */
		*user = cfg->c_user;
		return SANDBOX_PUBLISHER;
	default:
		*user = cfg->c_keeper_user;
		return SANDBOX_KEEPER;
	}
}

/*
 * Workers and keepers share CPUs and hand each call to one another: a
 * worker's call wakes its keeper, the upstream's answer wakes the keeper,
 * the keeper's answer wakes the worker.  Under SCHED_OTHER each such
 * wake-up preempts whichever of the two is running, mid-pass, and on a
 * busy CPU the pair switch back and forth about once per request.
 * SCHED_BATCH keeps the nice value and the fair share but lets a woken
 * process wait for the running one to block or its slice to end, so each
 * loop pass finds several events ready instead of one.  A policy the
 * service manager chose (CPUSchedulingPolicy=: idle, fifo, rr, or batch
 * already) is the operator's and is kept.
 */
static void
proc_cpu_policy(enum proc_role role, const struct widgetd_config *cfg)
{
	struct sched_param	 sp = { .sched_priority = 0 };

	if ((role != PROC_WORKER && role != PROC_KEEPER) || !cfg->c_cpu_batch)
		return;
	if (sched_getscheduler(0) != SCHED_OTHER)
		return;
	if (sched_setscheduler(0, SCHED_BATCH, &sp) == -1)
		log_warn("%s: cpu_scheduling batch", proc_role_name(role));
}

int
proc_confine_rw(enum proc_role role, const struct widgetd_config *cfg,
    const char *const *ro, const char *const *rw)
{
	struct stat	 st;
	enum sandbox_role sr;
	const char	*user, *dir;
	size_t		 i;
	int		 r, missing = 0;

	sr = proc_sandbox_role(role, cfg, &user, &dir);
	proc_cpu_policy(role, cfg);
	/* Not root: nothing to switch to (the parent said so once). */
	if (sandbox_drop_privileges(user, dir) == -1)
		fatal("cannot drop privileges to %s%s%s", user,
		    dir != NULL ? " in " : "", dir != NULL ? dir : "");
	/* A missing path gets no rule: stays unreadable, even if made later. */
	for (i = 0; ro != NULL && ro[i] != NULL; i++)
		missing |= stat(ro[i], &st) == -1;
	for (i = 0; rw != NULL && rw[i] != NULL; i++)
		missing |= stat(rw[i], &st) == -1;
	/* After the user lookup (/etc/passwd), before anything untrusted. */
	if (ro != NULL || rw != NULL) {
		r = sandbox_restrict_paths_rw(ro, rw);
		if (r == -1)
			fatal("landlock");
		if (r == 1)
			log_info("the kernel has no Landlock: file access is "
			    "limited by the seccomp filter alone");
	}
	/*
	 * The keeper will hold secrets, a worker holds clients' requests and
	 * the keeper's answers, a publisher the tenant's unpublished code:
	 * keep other processes of its uid (and core dumps) out of their
	 * memory, whatever fs.suid_dumpable says and also when not started as
	 * root (no uid switch).  After the uid switch, which may reset the
	 * flag.
	 */
	if ((role == PROC_KEEPER || role == PROC_WORKER ||
	    role == PROC_PUBLISHER) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
	if (sandbox_apply(sr) == -1)
		fatal("cannot install the %s sandbox", proc_role_name(role));
	return missing;
}

static void
proc_report(void (*report)(const char *, void *), void *arg,
    const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	report(buf, arg);
}

/* 1 when one of the two paths is the other or lies beneath it. */
static int
proc_path_nested(const char *a, const char *b)
{
	size_t	 na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;

	if (strncmp(a, b, n) != 0)
		return 0;
	/* "/srv/a" and "/srv/ab" share a prefix but are not nested. */
	return na == nb || (na < nb ? b[na] == '/' || a[na - 1] == '/' :
	    a[nb] == '/' || b[nb - 1] == '/');
}

/*
 * A publisher reads its repository: that must never be a way into a
 * store (its Landlock rule would cover the secrets), in either direction,
 * however the paths are spelt (symbolic links resolved when they exist).
 */
static int
proc_check_repositories(const struct widgetd_config *cfg,
    void (*report)(const char *, void *), void *arg)
{
	const struct conf_tenant *t, *o;
	char		 rp[PATH_MAX], sp[PATH_MAX];
	size_t		 i, j;
	int		 bad = 0;

	for (i = 0; i < cfg->c_ntenants; i++) {
		t = &cfg->c_tenants[i];
		if (t->t_repo.rp_path == NULL)
			continue;
		if (realpath(t->t_repo.rp_path, rp) == NULL)
			snprintf(rp, sizeof(rp), "%s", t->t_repo.rp_path);
		for (j = 0; j < cfg->c_ntenants; j++) {
			o = &cfg->c_tenants[j];
			if (realpath(o->t_store, sp) == NULL)
				snprintf(sp, sizeof(sp), "%s", o->t_store);
			if (!proc_path_nested(rp, sp))
				continue;
			proc_report(report, arg, "%s:%d: tenant %s: repository "
			    "%s and the store of tenant %s (%s) overlap: a "
			    "publisher must never read a store", cfg->c_path,
			    t->t_line, t->t_id, t->t_repo.rp_path, o->t_id,
			    o->t_store);
			bad = 1;
		}
	}
	return bad;
}

int
proc_check_privsep(const struct widgetd_config *cfg,
    void (*report)(const char *, void *), void *arg)
{
	struct stat	 st;
	int		 bad = 0;

	bad = proc_check_repositories(cfg, report, arg);
	/* Two names for one uid are one account, root or not. */
	if (config_check_accounts(cfg, report, arg) == -1)
		bad = 1;
	/*
	 * Checked in the parent, so that a bad user or chroot is refused at
	 * start or reload with a clear message, not as a child crash loop.
	 * Without root there is nothing to switch to.
	 */
	if (geteuid() != 0)
		return bad ? -1 : 0;
	if (cfg->c_user == NULL || getpwnam(cfg->c_user) == NULL) {
		proc_report(report, arg, "%s: user \"%s\" does not exist",
		    cfg->c_path, cfg->c_user ? cfg->c_user : "");
		bad = 1;
	}
	if (cfg->c_keeper_user == NULL || getpwnam(cfg->c_keeper_user) == NULL) {
		proc_report(report, arg, "%s: keeper_user \"%s\" does not exist",
		    cfg->c_path, cfg->c_keeper_user ? cfg->c_keeper_user : "");
		bad = 1;
	}
	if (cfg->c_chroot != NULL) {
		if (stat(cfg->c_chroot, &st) == -1) {
			proc_report(report, arg, "%s: chroot %s: %s",
			    cfg->c_path, cfg->c_chroot, strerror(errno));
			bad = 1;
		} else if (!S_ISDIR(st.st_mode)) {
			proc_report(report, arg, "%s: chroot %s: not a directory",
			    cfg->c_path, cfg->c_chroot);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

void
proc_log_forward(int prio, const char *line, void *arg)
{
	struct chan	*ch = arg;
	struct ipc_buf	 b;

	if (ipc_encode_log(&b, prio, line) == 0)
		(void)chan_send(ch, MSG_LOG, 0, b.b_data, b.b_len, -1);
	ipc_buf_clear(&b);
	if (prio <= LOG_CRIT)
		chan_flush_sync(ch);
}

void
proc_log_report(const char *msg, void *arg)
{
	log_warnx("%s", msg);
}
