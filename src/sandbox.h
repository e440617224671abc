/*
 * sandbox.h — privilege drop and seccomp filters, one per role.
 */
#ifndef WIDGETD_SANDBOX_H
#define WIDGETD_SANDBOX_H

enum sandbox_role {
	SANDBOX_WORKER,		/* no open, no socket/connect, no exec, no PROT_EXEC */
	SANDBOX_KEEPER,		/* network yes, read-only opens, no exec */
	SANDBOX_PARENT,		/* optional, looser: no exec after start, no ptrace */
	SANDBOX_PUBLISHER	/* files only: no socket, no exec, no fork */
};

/*
 * Drop to user (and chroot to dir, when not NULL) if running as root; when
 * not root, do nothing and return 0 (the caller logs that once).  -1 on
 * failure (errno set); callers fatal().
 */
int	sandbox_drop_privileges(const char *user, const char *chroot_dir);
/*
 * PR_SET_NO_NEW_PRIVS + the role's seccomp filter (arch checked, default
 * kill; the parent's is a deny-list).  For SANDBOX_KEEPER also
 * PR_SET_DUMPABLE 0.  Call it after every library the role uses has been
 * initialised.  -1 on failure (errno set); callers fatal().
 */
int	sandbox_apply(enum sandbox_role);
/* Write the role's filter as readable pseudo-code (libseccomp PFC) to fd,
 * without loading it: for debugging and for the tests.  -1 on failure. */
int	sandbox_export(enum sandbox_role, int fd);

/*
 * Landlock: from now on the process may only read files (and list
 * directories) beneath the given paths, a NULL-terminated list (missing
 * ones are skipped); nothing else on the filesystem, no writes anywhere.
 * For the keeper: its store and sandbox_resolver_paths.  Call it before
 * sandbox_apply, whose filters refuse the landlock syscalls.  A rule holds
 * the inode: a file replaced later (resolv.conf rewritten by a DHCP client)
 * is no longer readable; name its directory instead if that matters.
 * 0 done; 1 the kernel has no Landlock (the caller logs it once); -1 error.
 */
int	sandbox_restrict_paths(const char *const *paths);
/* What glibc's resolver reads: resolv.conf, hosts, nsswitch.conf, ... */
extern const char *const sandbox_resolver_paths[];
/*
 * Landlock for a role that also writes (the publisher): read beneath the
 * ro paths, read and write beneath the rw paths (create, remove, rename
 * and hard-link files and directories there; never make a symlink or a
 * device, never execute).  Both NULL-terminated; same returns as
 * sandbox_restrict_paths.
 */
int	sandbox_restrict_paths_rw(const char *const *ro, const char *const *rw);

#endif
