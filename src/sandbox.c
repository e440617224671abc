/*
 * sandbox.c — privilege drop and one seccomp filter per process role.
 *
 * The filters follow OpenSSH's seccomp sandbox: native architecture only,
 * an allow-list, arguments checked where a syscall is dangerous with some
 * values (PROT_EXEC, fcntl commands, futex operations, socket domains), and
 * the whole process killed (SIGSYS) on anything else.  A failure to install
 * a filter is reported to the caller, which treats it as fatal.
 *
 * Soft denials.  A few calls are refused with an errno instead of a kill,
 * because libc or a library makes them opportunistically (a lazily read
 * time zone or configuration file): open/openat/stat in the worker fail
 * with EACCES, so nothing is ever opened and nothing crashes on a probe.
 * clone3 fails with ENOSYS because its flags sit behind a pointer the filter
 * cannot read; glibc then falls back to clone, whose flags it can.
 *
 * Every allowed syscall carries a comment saying who needs it.  Role by
 * role:
 *  worker	everything arrives as fds; no open, no socket/connect/bind/
 *		listen/accept, no exec, no fork, no ptrace, no PROT_EXEC.
 *  keeper	the worker's list plus outbound network (inet sockets, the
 *		resolver's netlink socket, threads for libcurl's resolver) and
 *		read-only opens; no exec, no ptrace, no PROT_EXEC; undumpable.
 *  parent	default allow with a deny-list: it re-executes itself to
 *		respawn children, so it keeps execve; no ptrace, no kernel
 *		module, keyring or mount calls.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/netlink.h>
#include <linux/futex.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

/* O_TMPFILE without O_DIRECTORY: the bit that makes an open a tmpfile. */
#define SANDBOX_O_TMPFILE	020000000
#ifndef FUTEX_CMD_MASK
#define FUTEX_CMD_MASK	(~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN	1
#endif
#endif

int
sandbox_drop_privileges(const char *user, const char *chroot_dir)
{
	struct passwd	*pw;
	uid_t		 uid, ruid, euid, suid;
	gid_t		 gid, rgid, egid, sgid;

	if (geteuid() != 0)
		return 0;
	if (user == NULL || *user == '\0') {
		errno = EINVAL;
		return -1;
	}
	/* Look the user up before chroot: nsswitch reads files outside. */
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno == 0)
			errno = ENOENT;
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	/* Dropping "to root" would silently keep every privilege. */
	if (uid == 0) {
		errno = EPERM;
		return -1;
	}
	if (chroot_dir != NULL) {
		if (chroot(chroot_dir) == -1 || chdir("/") == -1)
			return -1;
	}
	if (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		return -1;

	/* Verify: every id changed, and root cannot be regained. */
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1)
		return -1;
	if (ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid) {
		errno = EPERM;
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * RULE(action, syscall, conditions...): the placeholder first element lets a
 * rule have no conditions; the first failure is kept in *errp and makes
 * sandbox_apply fail.
 */
#define RULE(act, sc, ...) do {						\
	const struct scmp_arg_cmp a_[] = { { 0, 0, 0, 0 }, __VA_ARGS__ };	\
	sandbox_add(ctx, errp, (act), SCMP_SYS(sc),			\
	    sizeof(a_) / sizeof(a_[0]) - 1, a_ + 1);			\
} while (0)
#define ALLOW(sc, ...)		RULE(SCMP_ACT_ALLOW, sc, __VA_ARGS__)
#define SOFTDENY(e, sc, ...)	RULE(SCMP_ACT_ERRNO(e), sc, __VA_ARGS__)
#define KILL(sc)		RULE(SCMP_ACT_KILL_PROCESS, sc)

/* The type argument of socket(2) without SOCK_NONBLOCK/SOCK_CLOEXEC. */
#define SANDBOX_SOCK_TYPE	0xf

/* Open flags that write, create or truncate (O_RDONLY is 0). */
#define SANDBOX_O_WRITING	(O_ACCMODE | O_CREAT | O_TRUNC | SANDBOX_O_TMPFILE)

/* No PROT_EXEC in the protection argument (both 32-bit halves checked). */
#define NOEXEC		SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)

static void
sandbox_add(scmp_filter_ctx ctx, int *errp, uint32_t act, int nr,
    unsigned int n, const struct scmp_arg_cmp *a)
{
	int	 rc;

	if (*errp != 0)
		return;
	if ((rc = seccomp_rule_add_array(ctx, act, nr, n, n > 0 ? a : NULL)) < 0)
		*errp = -rc;
}

/*
 * What every sandboxed child (worker and keeper) needs to run an event loop
 * over fds it already holds, allocate memory and exit.
 */
static void
sandbox_common(scmp_filter_ctx ctx, int *errp)
{
	/* I/O on the channels, client sockets and (keeper) upstreams. */
	ALLOW(read);
	ALLOW(readv);
	ALLOW(write);
	ALLOW(writev);
	ALLOW(recvmsg);			/* ipc_read: frames and passed fds */
	/* ipc_flush writes frames without fds with writev (above). */
	ALLOW(recvfrom);		/* recv(3) in glibc */
	ALLOW(sendto);			/* send(3) in glibc */
	ALLOW(close);
	ALLOW(shutdown);		/* http.c half-closes a connection */
	ALLOW(lseek);			/* stdio on inherited descriptors */
	/*
	 * A configuration snapshot (a sealed memfd) is read with pread: its
	 * file offset is shared with every other child that holds it.
	 */
	ALLOW(pread64);
	/* Socket options: per role (sandbox_worker, sandbox_keeper...). */
	ALLOW(getsockname);
	ALLOW(getpeername);		/* logging the client address */
	/* libevent: epoll backend, its notify eventfd, its signal pipe. */
	ALLOW(epoll_create1);
	ALLOW(epoll_ctl);
	ALLOW(epoll_wait);
	ALLOW(epoll_pwait);
	ALLOW(poll);
	ALLOW(ppoll);
	ALLOW(eventfd2);
	ALLOW(pipe2);
	/* libevent's EVENT_BASE_FLAG_PRECISE_TIMER re-arms a timerfd per loop. */
	ALLOW(timerfd_settime);
	ALLOW(timerfd_gettime);
	/* libevent's evbuffer_read sizes its read with FIONREAD only. */
	ALLOW(ioctl, SCMP_A1(SCMP_CMP_EQ, FIONREAD));
	/* fcntl: ipc_chan_new and libevent set O_NONBLOCK and FD_CLOEXEC. */
	ALLOW(fcntl, SCMP_A1(SCMP_CMP_EQ, F_GETFL));
	ALLOW(fcntl, SCMP_A1(SCMP_CMP_EQ, F_SETFL));
	ALLOW(fcntl, SCMP_A1(SCMP_CMP_EQ, F_GETFD));
	ALLOW(fcntl, SCMP_A1(SCMP_CMP_EQ, F_SETFD));
	/* ipc.c: a snapshot memfd must come sealed against writes. */
	ALLOW(fcntl, SCMP_A1(SCMP_CMP_EQ, F_GET_SEALS));
	/* fstat(2) is newfstatat(fd, "", AT_EMPTY_PATH) in glibc >= 2.33. */
	ALLOW(fstat);
	/* Time: vDSO normally, the syscall as its fallback (libevent). */
	ALLOW(clock_gettime);
	ALLOW(clock_getres);
	ALLOW(gettimeofday);
	ALLOW(time);
	ALLOW(clock_nanosleep);		/* backoff sleeps */
	ALLOW(nanosleep);
	ALLOW(restart_syscall);		/* the kernel resumes an interrupted sleep */
	/* Random numbers: libcrypto, hash seeds, request ids. */
	ALLOW(getrandom);
	/* malloc: brk and mmap (mmap per role); never executable memory. */
	ALLOW(brk);
	ALLOW(mprotect, NOEXEC);	/* glibc guard pages */
	ALLOW(munmap);
	ALLOW(mremap);			/* realloc of large blocks */
	/* malloc trimming; a few advice values only. */
	ALLOW(madvise, SCMP_A2(SCMP_CMP_EQ, MADV_DONTNEED));
	ALLOW(madvise, SCMP_A2(SCMP_CMP_EQ, MADV_FREE));
	ALLOW(madvise, SCMP_A2(SCMP_CMP_EQ, MADV_NORMAL));
	ALLOW(madvise, SCMP_A2(SCMP_CMP_EQ, MADV_HUGEPAGE));
	ALLOW(madvise, SCMP_A2(SCMP_CMP_EQ, MADV_NOHUGEPAGE));
	/* futex: locks in libc/libcrypto; wait, wake and requeue, no PI ops. */
	ALLOW(futex, SCMP_A1(SCMP_CMP_MASKED_EQ, FUTEX_CMD_MASK, FUTEX_WAIT));
	ALLOW(futex, SCMP_A1(SCMP_CMP_MASKED_EQ, FUTEX_CMD_MASK, FUTEX_WAKE));
	ALLOW(futex, SCMP_A1(SCMP_CMP_MASKED_EQ, FUTEX_CMD_MASK, FUTEX_REQUEUE));
	ALLOW(futex, SCMP_A1(SCMP_CMP_MASKED_EQ, FUTEX_CMD_MASK,
	    FUTEX_CMP_REQUEUE));
	ALLOW(futex, SCMP_A1(SCMP_CMP_MASKED_EQ, FUTEX_CMD_MASK,
	    FUTEX_WAIT_BITSET));
	ALLOW(futex, SCMP_A1(SCMP_CMP_MASKED_EQ, FUTEX_CMD_MASK,
	    FUTEX_WAKE_BITSET));
	/* Signals: libevent's signal handling, SIGTERM/SIGHUP handlers. */
	ALLOW(rt_sigaction);
	ALLOW(rt_sigprocmask);
	ALLOW(rt_sigreturn);
	ALLOW(sigaltstack);
	/* Identity: log prefixes; raise(3)/abort(3) only to ourselves. */
	ALLOW(getpid);
	ALLOW(gettid);
	ALLOW(getppid);			/* noticing the parent went away */
	ALLOW(getuid);
	ALLOW(geteuid);
	ALLOW(getgid);
	ALLOW(getegid);
	ALLOW(tgkill, SCMP_A0(SCMP_CMP_EQ, getpid()));
	ALLOW(kill, SCMP_A0(SCMP_CMP_EQ, getpid()));
	ALLOW(sched_yield);		/* spin locks in libcrypto */
	/* glibc's qsort sizes its buffer by sysconf(_SC_PHYS_PAGES). */
	ALLOW(sysinfo);
	ALLOW(exit);
	ALLOW(exit_group);
	/* Thread creation stays off: see the role functions. */
	SOFTDENY(ENOSYS, clone3);
#ifdef SANDBOX_ASAN
	/*
	 * AddressSanitizer maps shadow memory for large allocations and marks
	 * it MADV_DONTDUMP (seen under check_sandbox).  Sanitizer builds only,
	 * never a release binary.
	 */
	ALLOW(madvise);
#endif
}

/*
 * The worker parses untrusted bytes.  Everything it needs arrives as fds
 * from the parent; it never names a file or a network address.
 */
static void
sandbox_worker(scmp_filter_ctx ctx, int *errp)
{
	/* The only socket options a worker reads: ipc.c's fd checks. */
	static const int sockopts[] = { SO_DOMAIN, SO_TYPE, SO_PROTOCOL };
	size_t	 i;

	sandbox_common(ctx, errp);
	/*
	 * No setsockopt: a worker sets no option on any socket (the parent
	 * configures what it accepts).  getsockopt only at SOL_SOCKET and
	 * only what ipc_fd_check asks: no TCP_INFO, and no
	 * TCP_ZEROCOPY_RECEIVE, the only way to receive through a mapping
	 * of a TCP socket.
	 */
	for (i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
		ALLOW(getsockopt, SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET),
		    SCMP_A2(SCMP_CMP_EQ, sockopts[i]));
	/*
	 * No sendmsg: a worker never passes fds, and ipc.c writes frames
	 * without fds with writev; the filter cannot read a msghdr, so the
	 * call itself goes.
	 */
	/*
	 * mmap: anonymous memory (malloc, libevent, sanitizers), never
	 * executable; of an fd only read-only, which is how a snapshot (a
	 * sealed memfd) is mapped.  The filter cannot tell a memfd from a
	 * socket, hence the getsockopt rule above.
	 */
	ALLOW(mmap, SCMP_A3_64(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS,
	    MAP_ANONYMOUS), NOEXEC);
	ALLOW(mmap, SCMP_A2_64(SCMP_CMP_EQ, PROT_READ),
	    SCMP_A3_64(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0));
	/*
	 * Soft-denied: nothing is opened, but a lazy opener in libc (time
	 * zone, gconv, locale) gets an error instead of killing the worker.
	 * Every other file, socket and process call is absent and kills.
	 */
	SOFTDENY(EACCES, open);
	SOFTDENY(EACCES, openat);
	SOFTDENY(EACCES, openat2);
	SOFTDENY(EACCES, stat);
	SOFTDENY(EACCES, lstat);
	SOFTDENY(EACCES, access);
	SOFTDENY(EACCES, faccessat);
	SOFTDENY(EACCES, faccessat2);
	SOFTDENY(EACCES, statx);
	/*
	 * fstat(3) is newfstatat(fd, "", AT_EMPTY_PATH).  The filter cannot
	 * read the path: AT_EMPTY_PATH with a real path would still stat it,
	 * which in the worker's chroot (an empty directory) shows nothing.
	 */
	ALLOW(newfstatat, SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH,
	    AT_EMPTY_PATH));
	SOFTDENY(EACCES, newfstatat, SCMP_A3(SCMP_CMP_MASKED_EQ,
	    AT_EMPTY_PATH, 0));
}

/*
 * The keeper calls upstream APIs with libcurl, resolves names with glibc,
 * and reads its store and the resolver's files.
 */
static void
sandbox_keeper(scmp_filter_ctx ctx, int *errp)
{
	/* Each flag pattern that makes an open able to write or create. */
	static const struct {
		unsigned long	 mask, value;
	} wflags[] = {
		{ O_ACCMODE, O_WRONLY },
		{ O_ACCMODE, O_RDWR },
		{ O_ACCMODE, O_ACCMODE },
		{ O_CREAT, O_CREAT },
		{ O_TRUNC, O_TRUNC },
		{ SANDBOX_O_TMPFILE, SANDBOX_O_TMPFILE },
	};
	/*
	 * Upstream TCP and the resolver's UDP (libcurl passes getaddrinfo's
	 * IPPROTO_TCP, glibc's resolver IPPROTO_UDP or 0): never raw or packet
	 * sockets, ICMP "ping" sockets, SCTP or MPTCP.
	 */
	static const int inet[] = { AF_INET, AF_INET6 };
	static const struct {
		int	 type, proto;
	} inet_kinds[] = {
		{ SOCK_STREAM, 0 },
		{ SOCK_STREAM, IPPROTO_TCP },
		{ SOCK_DGRAM, 0 },
		{ SOCK_DGRAM, IPPROTO_UDP },
	};
	size_t	 i, j;

	sandbox_common(ctx, errp);
	/* Sockets: libcurl and the resolver set and read options on theirs. */
	ALLOW(setsockopt);
	ALLOW(getsockopt);
	/* Frames go with writev; libcurl and glibc's netlink use sendmsg. */
	ALLOW(sendmsg);
	/* malloc, libcurl, OpenSSL; never executable (below). */
	ALLOW(mmap, NOEXEC);
	/*
	 * Read-only opens: the store, /etc/resolv.conf, /etc/hosts.  Any
	 * open that could write or create is refused with EACCES, not
	 * killed: a library probing for a writable file carries on.
	 */
	ALLOW(openat, SCMP_A2(SCMP_CMP_MASKED_EQ, SANDBOX_O_WRITING, 0));
	ALLOW(open, SCMP_A1(SCMP_CMP_MASKED_EQ, SANDBOX_O_WRITING, 0));
	for (i = 0; i < sizeof(wflags) / sizeof(wflags[0]); i++) {
		SOFTDENY(EACCES, openat, SCMP_A2(SCMP_CMP_MASKED_EQ,
		    wflags[i].mask, wflags[i].value));
		SOFTDENY(EACCES, open, SCMP_A1(SCMP_CMP_MASKED_EQ,
		    wflags[i].mask, wflags[i].value));
	}
	SOFTDENY(EACCES, openat2);
	/* The resolver stats resolv.conf to notice changes; curl stats files. */
	ALLOW(newfstatat);
	ALLOW(stat);
	ALLOW(statx);
	ALLOW(access);
	ALLOW(faccessat);
	ALLOW(faccessat2);
	ALLOW(getdents64);		/* listing the store directory */
	ALLOW(uname);			/* libcurl's user agent, gethostname */
	/* Sockets: upstream TCP, the resolver's UDP, no UNIX or raw. */
	for (i = 0; i < sizeof(inet) / sizeof(inet[0]); i++)
		for (j = 0; j < sizeof(inet_kinds) / sizeof(inet_kinds[0]); j++)
			ALLOW(socket, SCMP_A0(SCMP_CMP_EQ, inet[i]),
			    SCMP_A1(SCMP_CMP_MASKED_EQ, SANDBOX_SOCK_TYPE,
			    inet_kinds[j].type),
			    SCMP_A2(SCMP_CMP_EQ, inet_kinds[j].proto));
	/* getaddrinfo(AI_ADDRCONFIG) asks the kernel's routing over netlink. */
	ALLOW(socket, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, SANDBOX_SOCK_TYPE, SOCK_RAW),
	    SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
	/* glibc tries nscd's UNIX socket first; let it fall back quietly. */
	SOFTDENY(EACCES, socket, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* libcurl's multi handle makes a wakeup pair; it reaches nothing. */
	ALLOW(socketpair, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	ALLOW(connect);			/* upstreams and DNS servers */
	ALLOW(bind);			/* glibc binds its netlink socket */
	ALLOW(sendmmsg);		/* the resolver sends A and AAAA at once */
	ALLOW(recvmmsg);
	/* libcurl's threaded resolver: threads only, never a new process. */
	ALLOW(clone, SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
	    CLONE_THREAD));
	ALLOW(set_robust_list);		/* every new thread */
	ALLOW(rseq);			/* glibc >= 2.35 registers it per thread */
	ALLOW(sched_getaffinity);	/* glibc's get_nprocs() fallback */
	/* store.c: secret buffers locked in memory and left out of cores. */
	ALLOW(mlock);
	ALLOW(munlock);
	ALLOW(madvise, SCMP_A2(SCMP_CMP_EQ, MADV_DONTDUMP));
	/* An executable mapping (dlopen of an NSS module) fails, not kills. */
	SOFTDENY(EACCES, mmap, SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC,
	    PROT_EXEC));
	SOFTDENY(EACCES, mprotect, SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC,
	    PROT_EXEC));
}

/*
 * The parent runs as root, binds listeners, forks and re-executes itself
 * for every respawn, so an allow-list would be most of the table.  It gets a
 * deny-list of what it never needs: debugging other processes, kernel
 * modules, keyrings, mounts, BPF, reboot.
 */
static void
sandbox_parent(scmp_filter_ctx ctx, int *errp)
{
#ifndef SANDBOX_ASAN
	/* LeakSanitizer stops the world with ptrace at the parent's exit. */
	KILL(ptrace);
#endif
	KILL(process_vm_readv);
	KILL(process_vm_writev);
	KILL(kexec_load);
	KILL(kexec_file_load);
	KILL(init_module);
	KILL(finit_module);
	KILL(delete_module);
	KILL(add_key);
	KILL(request_key);
	KILL(keyctl);
	KILL(mount);
	KILL(umount2);
	KILL(pivot_root);
	KILL(swapon);
	KILL(swapoff);
	KILL(reboot);
	KILL(bpf);
	KILL(perf_event_open);
	KILL(userfaultfd);
	KILL(open_by_handle_at);
	KILL(personality);
}

static void	sandbox_publisher(scmp_filter_ctx, int *);

/* The role's filter, not yet loaded; NULL with errno on failure. */
static scmp_filter_ctx
sandbox_build(enum sandbox_role role)
{
	scmp_filter_ctx	 ctx;
	int		 err = 0, *errp = &err;
	uint32_t	 def;

	if (role != SANDBOX_WORKER && role != SANDBOX_KEEPER &&
	    role != SANDBOX_PARENT && role != SANDBOX_PUBLISHER) {
		errno = EINVAL;
		return NULL;
	}
	def = role == SANDBOX_PARENT ? SCMP_ACT_ALLOW : SCMP_ACT_KILL_PROCESS;
	/* Native architecture only (libseccomp's default context). */
	if ((ctx = seccomp_init(def)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/*
	 * A foreign ABI kills the process.  On x86-64 this also covers x32
	 * numbers (bit 0x40000000): libseccomp rejects them in a native-only
	 * x86_64 filter before any rule is looked at (check_sandbox tests it).
	 */
	if ((err = -seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0)
		goto out;
	switch (role) {
	case SANDBOX_WORKER:
		sandbox_worker(ctx, errp);
		break;
	case SANDBOX_KEEPER:
		sandbox_keeper(ctx, errp);
		break;
	case SANDBOX_PARENT:
		sandbox_parent(ctx, errp);
		break;
	case SANDBOX_PUBLISHER:
		sandbox_publisher(ctx, errp);
		break;
	}
 out:
	if (err != 0) {
		seccomp_release(ctx);
		errno = err;
		return NULL;
	}
	return ctx;
}

int
sandbox_apply(enum sandbox_role role)
{
	scmp_filter_ctx	 ctx;
	int		 err;

	if ((ctx = sandbox_build(role)) == NULL)
		return -1;
	/* Required for an unprivileged filter, and the point of it all. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		goto fail;
	/* The keeper holds secrets: no core dumps, no same-uid ptrace. */
	if (role == SANDBOX_KEEPER &&
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		goto fail;
	if ((err = -seccomp_load(ctx)) != 0) {
		errno = err;
		goto fail;
	}
	seccomp_release(ctx);
	return 0;
 fail:
	err = errno;
	seccomp_release(ctx);
	errno = err;
	return -1;
}

int
sandbox_export(enum sandbox_role role, int fd)
{
	scmp_filter_ctx	 ctx;
	int		 err;

	if ((ctx = sandbox_build(role)) == NULL)
		return -1;
	err = -seccomp_export_pfc(ctx, fd);
	seccomp_release(ctx);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * Landlock.  The keeper's seccomp filter allows read-only opens of any
 * path; Landlock narrows them to the few files it has a reason to read.
 * Rights a kernel does not know are left out of the handled set, rights
 * this header predates are spelled out here.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif

const char *const sandbox_resolver_paths[] = {
	"/etc/resolv.conf",
	"/etc/hosts",
	"/etc/nsswitch.conf",
	"/etc/host.conf",
	"/etc/gai.conf",
	NULL
};

int
sandbox_restrict_paths(const char *const *paths)
{
	return sandbox_restrict_paths_rw(paths, NULL);
}

/*
 * The publisher reads a watched repository with libgit2 and writes the
 * tenant's published directory (publish.c, pubfs.c).  It parses untrusted
 * repository bytes, so it gets files and nothing else: no socket of any
 * kind, no exec, no fork or thread, no PROT_EXEC.  Which files is
 * Landlock's job (sandbox_restrict_paths_rw): the repository read-only,
 * the published directory read-write.
 */
static void
sandbox_publisher(scmp_filter_ctx ctx, int *errp)
{
	sandbox_common(ctx, errp);
	/* libgit2 maps pack files; never executable (below). */
	ALLOW(mmap, NOEXEC);
	/* Its channel only: frames go with writev, never with fds. */
	ALLOW(getsockopt);		/* ipc.c's fd checks */
	/* libgit2 opens objects, packs and refs; pubfs opens beneath its
	 * root with openat2 (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). */
	ALLOW(openat);
	ALLOW(open);
	ALLOW(openat2);
	/* libgit2 stats refs and packs; pubfs checks what it links. */
	ALLOW(newfstatat);
	ALLOW(stat);
	ALLOW(lstat);
	ALLOW(statx);
	ALLOW(access);			/* libgit2 probes repository files */
	ALLOW(faccessat);
	ALLOW(faccessat2);
	ALLOW(readlink);		/* realpath(3) of the repository path */
	ALLOW(readlinkat);
	ALLOW(getcwd);			/* libgit2 makes the path absolute */
	ALLOW(pread64);			/* libgit2 reads pack windows */
	ALLOW(getdents64);		/* pubfs lists generations, objects */
	/* pubfs writes a generation and switches to it. */
	ALLOW(mkdir);			/* pubfs_open creates the root */
	ALLOW(mkdirat);
	ALLOW(unlinkat);
	ALLOW(renameat);
	ALLOW(renameat2);		/* glibc's renameat on newer kernels */
	ALLOW(linkat);			/* generations hard-link the store */
	ALLOW(fsync);			/* files, then their directories */
	ALLOW(fdatasync);
	ALLOW(flock);			/* one publish per directory */
	ALLOW(prlimit64);		/* libgit2 sizes its pack windows */
	ALLOW(getrusage);		/* the benchmark's CPU figure */
	ALLOW(ioctl, SCMP_A1(SCMP_CMP_EQ, TCGETS));	/* stdio's isatty */
	/* An executable mapping (a probe by a library) fails, not kills. */
	SOFTDENY(EACCES, mmap, SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC,
	    PROT_EXEC));
	SOFTDENY(EACCES, mprotect, SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC,
	    PROT_EXEC));
}

/* One Landlock rule: path gets rights (directory rights only on dirs). */
static int
sandbox_landlock_rule(int rfd, const char *path, uint64_t file_rights,
    uint64_t dir_rights)
{
	struct landlock_path_beneath_attr	 pb;
	struct stat				 st;
	int					 fd, rv = -1, err;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == 0) {
		memset(&pb, 0, sizeof(pb));
		pb.parent_fd = fd;
		pb.allowed_access = file_rights;
		if (S_ISDIR(st.st_mode))
			pb.allowed_access |= dir_rights;
		rv = (int)syscall(SYS_landlock_add_rule, rfd,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	}
	err = errno;
	close(fd);
	errno = err;
	return rv;
}

int
sandbox_restrict_paths_rw(const char *const *ro, const char *const *rw)
{
	struct landlock_ruleset_attr	 ra;
	uint64_t			 handled, wfile, wdir;
	long				 abi;
	int				 rfd, err;
	size_t				 i;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return (errno == ENOSYS || errno == EOPNOTSUPP) ? 1 : -1;
	handled = LANDLOCK_ACCESS_FS_MAKE_SYM * 2 - 1;
	/* Writing a file; in directories also creating, removing and (ABI
	 * 2) moving or linking entries between them.  No symlinks, devices,
	 * sockets or FIFOs, and no EXECUTE anywhere. */
	wfile = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE;
	wdir = LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG;
	if (abi >= 2) {
		handled |= LANDLOCK_ACCESS_FS_REFER;
		wdir |= LANDLOCK_ACCESS_FS_REFER;
	}
	if (abi >= 3) {
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
		wfile |= LANDLOCK_ACCESS_FS_TRUNCATE;
	}
	if (abi >= 5)
		handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = handled;
	if ((rfd = syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0)) ==
	    -1)
		return -1;
	for (i = 0; ro != NULL && ro[i] != NULL; i++)
		if (sandbox_landlock_rule(rfd, ro[i],
		    LANDLOCK_ACCESS_FS_READ_FILE,
		    LANDLOCK_ACCESS_FS_READ_DIR) == -1)
			goto fail;
	for (i = 0; rw != NULL && rw[i] != NULL; i++)
		if (sandbox_landlock_rule(rfd, rw[i], wfile, wdir) == -1)
			goto fail;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, rfd, 0) == -1)
		goto fail;
	close(rfd);
	return 0;
 fail:
	err = errno;
	close(rfd);
	errno = err;
	return -1;
}
