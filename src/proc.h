/*
 * proc.h — starting widgetd's child processes and confining them.
 *
 * Children are started by fork + exec of the same binary with a hidden role
 * argument (`widgetd -R worker -I 2`), so each begins with a fresh address
 * space and its own ASLR, and inherits exactly two fds: its channel to the
 * parent, at PROC_CHAN_FD, and the sealed snapshot of the configuration
 * generation it starts with, at PROC_SNAP_FD.  A child never opens a
 * configuration file.  Everything else (the worker↔keeper channels, client
 * connections, later generations) arrives over the channel.
 */
#ifndef WIDGETD_PROC_H
#define WIDGETD_PROC_H

#include <sys/types.h>
#include <time.h>

#define PROC_CHAN_FD	3	/* the child's channel to the parent */
#define PROC_SNAP_FD	4	/* its generation's snapshot (snapshot.h) */

enum proc_role {
	PROC_WORKER,
	PROC_KEEPER,
	PROC_PUBLISHER		/* one per tenant with a repository; slot =
				   the tenant's index in its snapshot */
};

struct proc_opts {
	const char	*po_conf;	/* absolute path of the configuration
					   (the parent's; children get none) */
	int		 po_debug;	/* -d was given */
	int		 po_verbose;	/* -v count */
};

struct widgetd_config;

const char	*proc_role_name(enum proc_role);
/* -1 when name is not a role. */
int		 proc_role_parse(const char *name);

/*
 * fork + exec self as role/slot; chanfd becomes PROC_CHAN_FD and snapfd
 * PROC_SNAP_FD in the child.
 */
pid_t		 proc_spawn(enum proc_role, int slot, int chanfd, int snapfd,
		    const struct proc_opts *);

/*
 * Exponential backoff for respawns: a child that lived less than
 * PROC_STABLE_SECS counts as a crash; consecutive crashes double the delay
 * from PROC_BACKOFF_MIN_MS up to PROC_BACKOFF_MAX_MS.  A child that lived
 * long enough is restarted at once.
 */
#define PROC_STABLE_SECS	10
#define PROC_BACKOFF_MIN_MS	100
#define PROC_BACKOFF_MAX_MS	30000

struct proc_backoff {
	struct timespec	 pb_started;	/* when the last instance started */
	int		 pb_crashes;	/* consecutive short lives */
};

void		 proc_backoff_started(struct proc_backoff *);
/* Delay in ms before the next start, after the current instance died. */
long		 proc_backoff_next(struct proc_backoff *);

/* Raise RLIMIT_NOFILE's soft limit to the hard limit; returns the limit. */
long		 proc_raise_nofile(void);
/*
 * Children: blocks up to PROC_HEAP_MMAP from the heap, and up to
 * PROC_HEAP_TRIM of freed heap kept rather than returned to the kernel.
 */
#define PROC_HEAP_MMAP	(32 << 20)	/* glibc's largest on 64 bits */
#define PROC_HEAP_TRIM	(64 << 20)
void		 proc_heap_keep(void);
/* Children: signals from a terminal or a process-group kill are the
 * parent's to handle; SIGPIPE is an error return, never a death. */
void		 proc_child_signals(void);
/*
 * Confine the calling child for its role: user switch (and chroot for
 * workers) when root, then (paths not NULL) a Landlock ruleset letting it
 * read only beneath those paths, not dumpable for the keeper, then
 * no_new_privs and the role's seccomp filter.  fatal() on any failure.
 */
void		 proc_confine(enum proc_role, const struct widgetd_config *,
		    const char *const *paths);
/*
 * The same for a role that also writes (the publisher): user switch
 * without chroot, Landlock reading beneath ro and reading and writing
 * beneath rw (sandbox_restrict_paths_rw), then its filter.  Returns 1
 * when a path in ro or rw did not exist (its rule is missing: the caller
 * says what that means), else 0.
 */
int		 proc_confine_rw(enum proc_role, const struct widgetd_config *,
		    const char *const *ro, const char *const *rw);
/*
 * Checks the parent makes before starting children (users, chroot), at
 * start, on reload and for widgetd -n, beside snapshot_build().
 */
int		 proc_check_privsep(const struct widgetd_config *,
		    void (*report)(const char *, void *), void *arg);
/* Entry points of the roles (widgetd.c dispatches to one of them). */
int		 parent_main(const struct proc_opts *);
int		 worker_main(const struct proc_opts *, int slot);
int		 keeper_main(const struct proc_opts *, int slot);
int		 publisher_main(const struct proc_opts *, int slot);

/*
 * Children's log lines travel to the parent as MSG_LOG; arg is the
 * struct chan to the parent.  Critical lines are flushed at once, since
 * fatal() exits right after.
 */
void		 proc_log_forward(int prio, const char *line, void *arg);
/* config_load() error reporter that logs each message as a warning. */
void		 proc_log_report(const char *msg, void *arg);

/*
 * proc_metrics.c: the child's counters, sent to the parent once a second
 * while they change (MSG_METRICS); NULL when out of memory.  flush sends
 * them now (before an exit).
 */
struct chan;
struct event_base;
struct metrics;
struct metrics	*proc_metrics_start(struct event_base *, struct chan *);
void		 proc_metrics_flush(void);
/* fn(arg) sets the gauges nobody counts as they change, before each push. */
void		 proc_metrics_refresh(void (*)(struct metrics *, void *),
		    void *);

#endif
