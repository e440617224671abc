/*
 * check_sandbox.c — death tests for the seccomp filters, and proof that
 * the work each role really does still runs under its filter.
 *
 * Every case forks: the child installs the role's filter and makes one
 * call; the parent expects SIGSYS (a killed process), an exit code, or an
 * errno reported through the exit code.  Children leave with _exit() so
 * that no atexit handler (LeakSanitizer's among them) runs under the filter.
 *
 * Not under valgrind: valgrind's own syscalls run inside the filtered
 * process, so the filters kill it; main() says so and runs only the
 * "nofilter" cases there.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/random.h>
#include <sys/ioctl.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include "check_main.h"
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>


#include "ipc.h"
#include "keeper_egress.h"
#include "sandbox.h"
#include "template/template.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif

/* Exit codes a child reports; anything else is a test failure. */
#define OK		0
#define NOFILTER	100	/* sandbox_apply failed */

typedef int (*child_fn)(void *);

/* Run fn under role's filter in a child; the raw wait status. */
static int
run_child(enum sandbox_role role, child_fn fn, void *arg)
{
	pid_t	 pid;
	int	 st;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sandbox_apply(role) == -1)
			_exit(NOFILTER);
		_exit(fn(arg));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void
expect_sigsys(enum sandbox_role role, child_fn fn, void *arg)
{
	int	 st = run_child(role, fn, arg);

	if (WIFEXITED(st))
		ck_abort_msg("expected SIGSYS, child exited %d",
		    WEXITSTATUS(st));
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGSYS);
}

static void
expect_exit(enum sandbox_role role, child_fn fn, void *arg, int code)
{
	int	 st = run_child(role, fn, arg);

	if (WIFSIGNALED(st))
		ck_abort_msg("expected exit %d, child killed by signal %d",
		    code, WTERMSIG(st));
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), code);
}

/* The forbidden calls, one per child. */

static int
do_socket(void *arg)
{
	(void)arg;
	return socket(AF_INET, SOCK_STREAM, 0) == -1 ? 1 : 2;
}

static int
do_socket_unix(void *arg)
{
	(void)arg;
	return socket(AF_UNIX, SOCK_STREAM, 0) == -1 ? 1 : 2;
}

static int
do_socket_packet(void *arg)
{
	(void)arg;
	return socket(AF_PACKET, SOCK_RAW, 0) == -1 ? 1 : 2;
}

static int
do_socket_raw(void *arg)
{
	(void)arg;
	return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) == -1 ? 1 : 2;
}

/* A connected loopback TCP pair: *client, and *server as accepted. */
static void
tcp_loopback_pair(int *client, int *server)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	ck_assert_int_ge(*client = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(*client, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	ck_assert_int_ge(*server = accept(l, NULL, NULL), 0);
	close(l);
}

/* An ICMP "ping" socket: SOCK_DGRAM, but not the resolver's UDP. */
static int
do_socket_ping(void *arg)
{
	(void)arg;
	return socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) == -1 ? 1 : 2;
}

/* SCTP speaks SOCK_STREAM too: the protocol is what is checked. */
static int
do_socket_sctp(void *arg)
{
	(void)arg;
	return socket(AF_INET6, SOCK_STREAM, IPPROTO_SCTP) == -1 ? 1 : 2;
}

/* The calls libcurl and the resolver make: each must be allowed. */
static int
do_keeper_sockets(void *arg)
{
	static const int kinds[][3] = {
		{ AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP },
		{ AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0 },
		{ AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    IPPROTO_UDP },
		{ AF_INET6, SOCK_DGRAM, 0 },
		{ AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */ },
	};
	size_t	 i;
	int	 s;

	(void)arg;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		/* EAFNOSUPPORT on a host without IPv6 is not the filter. */
		if ((s = socket(kinds[i][0], kinds[i][1], kinds[i][2])) == -1 &&
		    errno != EAFNOSUPPORT)
			return 10 + (int)i;
		if (s != -1)
			close(s);
	}
	return OK;
}

/* A worker sets no socket option. */
static int
do_setsockopt(void *arg)
{
	int	 one = 1;

	setsockopt(*(int *)arg, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 1;
}

/* Nor reads TCP options (TCP_INFO, TCP_ZEROCOPY_RECEIVE...). */
static int
do_getsockopt_tcp(void *arg)
{
	struct tcp_info	 ti;
	socklen_t	 sl = sizeof(ti);

	getsockopt(*(int *)arg, IPPROTO_TCP, TCP_INFO, &ti, &sl);
	return 1;
}

/* ipc.c's checks are what it may ask. */
static int
do_getsockopt_ipc(void *arg)
{
	int		 v;
	socklen_t	 sl = sizeof(v);

	if (getsockopt(*(int *)arg, SOL_SOCKET, SO_DOMAIN, &v, &sl) == -1 ||
	    v != AF_INET)
		return 2;
	sl = sizeof(v);
	if (getsockopt(*(int *)arg, SOL_SOCKET, SO_PROTOCOL, &v, &sl) == -1 ||
	    v != IPPROTO_TCP)
		return 3;
	return OK;
}

/* Never sendmsg, even without fds: the filter cannot read a msghdr. */
static int
do_sendmsg(void *arg)
{
	struct msghdr	 msg;
	struct iovec	 iov;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)"x";
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	sendmsg(*(int *)arg, &msg, MSG_DONTWAIT);
	return 1;
}

/* A writable shared mapping of an fd (a socket, a memfd): killed. */
static int
do_mmap_fd_rw(void *arg)
{
	mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, *(int *)arg, 0);
	return 1;
}

/* Read-only mappings of a memfd (a snapshot) and anonymous memory work. */
static int
do_mmap_ok(void *arg)
{
	void	*p;

	if ((p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, *(int *)arg, 0)) ==
	    MAP_FAILED || *(char *)p != 'S')
		return 2;
	munmap(p, 4096);
	if ((p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return 3;
	memset(p, 1, 1 << 20);
	munmap(p, 1 << 20);
	return OK;
}

static int
do_netlink_other(void *arg)
{
	(void)arg;
	return socket(AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */) == -1 ?
	    1 : 2;
}

static int
do_socketpair(void *arg)
{
	int	 sv[2];

	(void)arg;
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ? 1 : 2;
}

/* arg: a socket made before the filter. */
static int
do_connect(void *arg)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(*(int *)arg, (struct sockaddr *)&sin, sizeof(sin));
	return 1;
}

static int
do_bind(void *arg)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(*(int *)arg, (struct sockaddr *)&sin, sizeof(sin));
	return 1;
}

static int
do_listen(void *arg)
{
	listen(*(int *)arg, 1);
	return 1;
}

static int
do_accept(void *arg)
{
	accept(*(int *)arg, NULL, NULL);
	return 1;
}

static int
do_execve(void *arg)
{
	char	*argv[] = { "true", NULL }, *envp[] = { NULL };

	(void)arg;
	execve("/bin/true", argv, envp);
	return 1;
}

static int
do_ptrace(void *arg)
{
	(void)arg;
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 1;
}

static int
do_process_vm_readv(void *arg)
{
	char		 a[8], b[8] = "secret";
	struct iovec	 l = { a, sizeof(a) }, r = { b, sizeof(b) };

	(void)arg;
	process_vm_readv(getppid(), &l, 1, &r, 1, 0);
	return 1;
}

static int
do_fork(void *arg)
{
	pid_t	 pid;

	(void)arg;
	if ((pid = fork()) == 0)
		_exit(0);
	return pid == -1 ? 1 : 2;
}

static void *
thread_main(void *arg)
{
	return arg;
}

static int
do_thread(void *arg)
{
	pthread_t	 t;
	void		*r = NULL;

	(void)arg;
	static int	 token;

	if (pthread_create(&t, NULL, thread_main, &token) != 0)
		return 1;
	if (pthread_join(t, &r) != 0 || r != &token)
		return 2;
	return OK;
}

static int
do_mmap_exec(void *arg)
{
	void	*p;

	(void)arg;
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	return p == MAP_FAILED ? (errno == EACCES ? 3 : 1) : 2;
}

static int
do_mmap_wx(void *arg)
{
	void	*p;

	(void)arg;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? (errno == EACCES ? 3 : 1) : 2;
}

/* arg: a page mapped read-write before the filter. */
static int
do_mprotect_exec(void *arg)
{
	int	 r;

	r = mprotect(arg, 4096, PROT_READ | PROT_EXEC);
	return r == -1 ? (errno == EACCES ? 3 : 1) : 2;
}

static int
do_x32(void *arg)
{
	(void)arg;
	syscall(__X32_SYSCALL_BIT | __NR_getpid);
	return 1;
}

static int
do_futex_pi(void *arg)
{
	static uint32_t	 word;

	(void)arg;
	syscall(SYS_futex, &word, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	return 1;
}

static int
do_kill_init(void *arg)
{
	(void)arg;
	kill(1, 0);
	return 1;
}

static int
do_ioctl_tty(void *arg)
{
	struct winsize	 ws;

	ioctl(*(int *)arg, TIOCGWINSZ, &ws);
	return 1;
}

static int
do_dup(void *arg)
{
	dup(*(int *)arg);
	return 1;
}

static int
do_chroot(void *arg)
{
	(void)arg;
	chroot("/");
	return 1;
}

static int
do_setuid(void *arg)
{
	(void)arg;
	setuid(0);
	return 1;
}

START_TEST(test_worker_deaths)
{
	static const struct {
		const char	*name;
		child_fn	 fn;
	} cases[] = {
		{ "socket", do_socket },
		{ "socket AF_UNIX", do_socket_unix },
		{ "socketpair", do_socketpair },
		{ "execve", do_execve },
		{ "ptrace", do_ptrace },
		{ "process_vm_readv", do_process_vm_readv },
		{ "fork", do_fork },
		{ "pthread_create", do_thread },
		{ "mmap PROT_EXEC", do_mmap_exec },
		{ "mmap RWX", do_mmap_wx },
		{ "x32 syscall", do_x32 },
		{ "futex LOCK_PI", do_futex_pi },
		{ "kill(1)", do_kill_init },
		{ "chroot", do_chroot },
		{ "setuid", do_setuid },
	};
	size_t	 i;
	void	*page;
	int	 s, st;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st = run_child(SANDBOX_WORKER, cases[i].fn, NULL);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
			ck_abort_msg("worker %s: not killed by SIGSYS (%#x)",
			    cases[i].name, st);
	}
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(page, MAP_FAILED);
	expect_sigsys(SANDBOX_WORKER, do_mprotect_exec, page);
	munmap(page, 4096);

	/* Calls on an fd the worker really holds. */
	ck_assert_int_ge(s = socket(AF_INET, SOCK_STREAM, 0), 0);
	expect_sigsys(SANDBOX_WORKER, do_connect, &s);
	expect_sigsys(SANDBOX_WORKER, do_bind, &s);
	expect_sigsys(SANDBOX_WORKER, do_listen, &s);
	expect_sigsys(SANDBOX_WORKER, do_accept, &s);
	expect_sigsys(SANDBOX_WORKER, do_ioctl_tty, &s);
	expect_sigsys(SANDBOX_WORKER, do_dup, &s);
	close(s);
}
END_TEST

/*
 * Issue 9: the worker's socket calls trimmed to what it uses.  No
 * setsockopt, getsockopt only ipc.c's SOL_SOCKET checks, no sendmsg, and
 * mappings of an fd read-only.
 */
START_TEST(test_worker_trimmed)
{
	int			 c, a, mfd, sv[2];

	/* A client connection, as the worker holds them. */
	tcp_loopback_pair(&c, &a);
	expect_sigsys(SANDBOX_WORKER, do_setsockopt, &a);
	expect_sigsys(SANDBOX_WORKER, do_getsockopt_tcp, &a);
	expect_exit(SANDBOX_WORKER, do_getsockopt_ipc, &a, OK);
	expect_sigsys(SANDBOX_WORKER, do_mmap_fd_rw, &a);
	/* A channel: frames go with writev, sendmsg kills. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	expect_sigsys(SANDBOX_WORKER, do_sendmsg, &sv[0]);
	/* A memfd like a snapshot: read-only mapping yes, writable no. */
	ck_assert_int_ge(mfd = memfd_create("snap", MFD_CLOEXEC), 0);
	ck_assert_int_eq(ftruncate(mfd, 4096), 0);
	ck_assert_int_eq(pwrite(mfd, "S", 1, 0), 1);
	expect_exit(SANDBOX_WORKER, do_mmap_ok, &mfd, OK);
	expect_sigsys(SANDBOX_WORKER, do_mmap_fd_rw, &mfd);
	/* The keeper still may set options on its upstream sockets. */
	expect_exit(SANDBOX_KEEPER, do_setsockopt, &a, 1);
	close(mfd);
	close(sv[0]);
	close(sv[1]);
	close(a);
	close(c);
}
END_TEST

/*
 * Opening is soft-denied in the worker: EACCES, and nothing is created.
 * arg: a path in a fresh temporary directory.
 */
static int
do_worker_opens(void *arg)
{
	struct stat	 st;
	const char	*path = arg;
	FILE		*f;

	if (open("/etc/hosts", O_RDONLY) != -1 || errno != EACCES)
		return 1;
	if (openat(AT_FDCWD, "/etc/hosts", O_RDONLY) != -1 || errno != EACCES)
		return 2;
	if (open(path, O_WRONLY | O_CREAT, 0600) != -1 || errno != EACCES)
		return 3;
	if (syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT, 0600) != -1 ||
	    errno != EACCES)
		return 4;
	if ((f = fopen("/etc/passwd", "r")) != NULL || errno != EACCES)
		return 5;
	/* Probing a path by stat is refused too; fstat of an fd works. */
	if (stat("/etc/hosts", &st) != -1 || errno != EACCES)
		return 6;
	if (access("/etc/hosts", R_OK) != -1 || errno != EACCES)
		return 7;
	if (fstat(1, &st) == -1)
		return 8;
	return OK;
}

static int
do_creat(void *arg)
{
	syscall(SYS_creat, (const char *)arg, 0600);
	return 1;
}

START_TEST(test_worker_opens)
{
	char		 dir[] = "/tmp/check_sandbox.XXXXXX", path[64];
	struct stat	 st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/new", dir);
	expect_exit(SANDBOX_WORKER, do_worker_opens, path, OK);
	ck_assert_int_eq(stat(path, &st), -1);
	/* creat(2) is not a probe anyone makes: it kills. */
	expect_sigsys(SANDBOX_WORKER, do_creat, path);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* What a worker does all day. */
struct worker_work {
	int		 sock;		/* one end of a socketpair */
	struct ipc_chan	*chan;		/* the parent's channel, frame waiting */
	int		 client;	/* the TCP peer of the fd in the frame */
};

static void
timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	*(int *)arg += 1;
}

static int
int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int
do_worker_work(void *arg)
{
	struct worker_work	*w = arg;
	struct ipc_msg		 m;
	struct timespec		 ts, nap = { 0, 1000000 };
	struct timeval		 tv = { 0, 1000 };
	struct event_base	*base;
	struct event		*ev;
	unsigned char		 rnd[32];
	char			*p, *q, buf[8];
	size_t			 i;
	int			 fired = 0, r, one = 0;
	socklen_t		 sl = sizeof(one);

	/* Memory: small, large (mmap), grown (mremap), trimmed (madvise). */
	for (i = 0; i < 1000; i++)
		free(malloc(i * 16 + 1));
	if ((p = malloc(64 << 20)) == NULL)
		return 1;
	memset(p, 'x', 64 << 20);
	if ((q = realloc(p, 128 << 20)) == NULL)
		return 2;
	free(q);
	malloc_trim(0);
	/* qsort of more than 1 KiB asks sysconf for the physical memory. */
	{
		int	 arr[4096];

		for (i = 0; i < 4096; i++)
			arr[i] = (int)((i * 7919) % 4096);
		qsort(arr, 4096, sizeof(arr[0]), int_cmp);
		for (i = 0; i < 4096; i++)
			if (arr[i] != (int)i)
				return 14;
	}
	/* Time, sleep, randomness. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 ||
	    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) == -1 ||
	    syscall(SYS_gettimeofday, &tv, NULL) == -1 ||
	    nanosleep(&nap, NULL) == -1)
		return 3;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return 4;
	/* Plain I/O on an fd it holds. */
	if (write(w->sock, "ping", 4) != 4 || read(w->sock, buf, 4) != 4 ||
	    memcmp(buf, "pong", 4) != 0)
		return 5;
	/* A connection handed over by the parent, checked by ipc.c. */
	do {
		if ((r = ipc_read(w->chan)) == -1)
			return 6;
	} while ((r = ipc_get(w->chan, &m)) == 0);
	if (r != 1 || m.m_type != MSG_CONN_FD || m.m_fd == -1)
		return 7;
	/* No option is set (issue 9: no setsockopt); SOL_SOCKET reads are. */
	if (getsockopt(m.m_fd, SOL_SOCKET, SO_TYPE, &one, &sl) == -1 ||
	    one != SOCK_STREAM)
		return 8;
	if (ioctl(m.m_fd, FIONREAD, &r) == -1)
		return 9;
	if (write(m.m_fd, "hello", 5) != 5 || shutdown(m.m_fd, SHUT_WR) == -1)
		return 10;
	close(m.m_fd);
	if (ipc_send_log(w->chan, 6, "worker alive") == -1 ||
	    ipc_flush(w->chan) != 1)
		return 11;
	/* An event loop made and run under the filter. */
	if ((base = event_base_new()) == NULL)
		return 12;
	ev = evtimer_new(base, timer_cb, &fired);
	tv.tv_sec = 0;
	tv.tv_usec = 1000;
	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
	event_base_free(base);
	if (fired != 1)
		return 13;
	/* abort(3) is a signal to ourselves: allowed, and it kills. */
	return OK;
}

START_TEST(test_worker_works)
{
	struct worker_work	 w;
	struct ipc_chan		*parent;
	struct ipc_msg		 m;
	char			 buf[16];
	int			 sv[2], cv[2], acc, st, r, prio;
	pid_t			 pid;
	char			*line;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, cv), 0);
	ck_assert_ptr_nonnull(parent = ipc_chan_new(cv[0], IPC_PARENT,
	    IPC_WORKER));
	ck_assert_ptr_nonnull(w.chan = ipc_chan_new(cv[1], IPC_WORKER,
	    IPC_PARENT));
	w.sock = sv[1];
	/* A loopback TCP connection whose accepted end goes to the worker. */
	tcp_loopback_pair(&w.client, &acc);
	ck_assert_int_eq(ipc_send(parent, MSG_CONN_FD, 1, NULL, 0, acc), 0);
	ck_assert_int_eq(ipc_flush(parent), 1);
	close(acc);

	ck_assert_int_eq(write(sv[0], "pong", 4), 4);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sandbox_apply(SANDBOX_WORKER) == -1)
			_exit(NOFILTER);
		_exit(do_worker_work(&w));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		ck_abort_msg("worker killed by signal %d", WTERMSIG(st));
	ck_assert_int_eq(WEXITSTATUS(st), OK);
	ck_assert_int_eq(read(sv[0], buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	ck_assert_int_eq(read(w.client, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	do {
		ck_assert_int_ge(r = ipc_read(parent), 0);
	} while ((r = ipc_get(parent, &m)) == 0);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(ipc_decode_log(&m, &prio, &line), 0);
	ck_assert_str_eq(line, "worker alive");
	free(line);
	ipc_chan_free(parent);
	ipc_chan_free(w.chan);
	close(sv[0]);
	close(sv[1]);
	close(w.client);
}
END_TEST

/*
 * The worker verifies session JWTs with libcrypto.  Nothing is initialised
 * before the filter here on purpose: OpenSSL's lazy configuration load must
 * meet EACCES and carry on, and its DRBG must seed from getrandom.
 */
static int
do_worker_crypto(void *arg)
{
	EVP_PKEY_CTX	*kctx = NULL;
	EVP_PKEY	*key = NULL;
	EVP_MD_CTX	*md = NULL;
	unsigned char	 rnd[32], sig[256], dg[32];
	unsigned int	 dlen = sizeof(dg);
	size_t		 slen = sizeof(sig);
	int		 rv = 1;

	(void)arg;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rv = 2;
	if (EVP_Digest("abc", 3, dg, &dlen, EVP_sha256(), NULL) != 1 ||
	    dlen != 32 || dg[0] != 0xba || dg[1] != 0x78)
		goto out;
	rv = 3;
	if ((kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(kctx) != 1 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx,
	    NID_X9_62_prime256v1) != 1 || EVP_PKEY_keygen(kctx, &key) != 1)
		goto out;
	rv = 4;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &slen, rnd, sizeof(rnd)) != 1)
		goto out;
	EVP_MD_CTX_free(md);
	rv = 5;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestVerify(md, sig, slen, rnd, sizeof(rnd)) != 1)
		goto out;
	rv = OK;
 out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(kctx);
	return rv;
}

START_TEST(test_worker_crypto)
{
	expect_exit(SANDBOX_WORKER, do_worker_crypto, NULL, OK);
}
END_TEST

/*
 * The worker renders templates under its filter, chrooted.  What the engine
 * would open lazily (the C.UTF-8 case tables, libcrypto's configuration)
 * tmpl_init() loads first; without it 'é' | upper stays 'é' in the worker.
 */
static const char render_src[] =
    "{{ 'é' | upper }}|{{ 'ΣΑΣ' | lower }}|"
    "{{ jwt_encode({'sub': 'a', 'iat': now()}, 'k', 'HS256') }}";

static int
render_text(char *out, size_t outsz)
{
	struct tmpl_error	 err;
	struct tmpl_env		 env;
	struct tmpl		*t;
	struct tmpl_output	*o = NULL;
	const char		*text;
	size_t			 len;
	int			 rv = -1;

	memset(&env, 0, sizeof(env));
	env.te_now = 1700000000;
	if ((t = tmpl_compile(render_src, strlen(render_src), &err)) == NULL)
		return -1;
	if ((o = tmpl_render(t, &env, &err)) == NULL ||
	    (text = tmpl_output_text(o, &len)) == NULL || len >= outsz)
		goto out;
	memcpy(out, text, len + 1);
	rv = 0;
 out:
	tmpl_output_free(o);
	tmpl_free(t);
	return rv;
}

/* Render in a fresh child, sandboxed or not; the text through a pipe. */
static void
render_in_child(int sandboxed, int init, char *out, size_t outsz)
{
	pid_t	 pid;
	ssize_t	 n;
	size_t	 len = 0;
	int	 p[2], st;

	ck_assert_int_eq(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char	 buf[512];

		close(p[0]);
		if (init && tmpl_init() == -1)
			_exit(3);
		if (sandboxed && sandbox_apply(SANDBOX_WORKER) == -1)
			_exit(NOFILTER);
		if (render_text(buf, sizeof(buf)) == -1)
			_exit(1);
		if (write(p[1], buf, strlen(buf)) != (ssize_t)strlen(buf))
			_exit(2);
		_exit(OK);
	}
	close(p[1]);
	while ((n = read(p[0], out + len, outsz - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "child killed by signal %d", WTERMSIG(st));
	ck_assert_int_eq(WEXITSTATUS(st), OK);
}

START_TEST(test_worker_render)
{
	char	 want[512], got[512], bare[512];

	render_in_child(0, 0, want, sizeof(want));
	ck_assert_msg(strncmp(want, "É|σας|ey", 10) == 0, "outside: %s", want);
	render_in_child(1, 1, got, sizeof(got));
	ck_assert_str_eq(got, want);
	/* The control: without tmpl_init the filter hides the case tables. */
	render_in_child(1, 0, bare, sizeof(bare));
	ck_assert_str_ne(bare, want);
}
END_TEST

static int
do_abort(void *arg)
{
	(void)arg;
	abort();
}

START_TEST(test_worker_abort)
{
	int	 st;

	/* A fatal() in a sandboxed child must still end in a clean SIGABRT. */
	st = run_child(SANDBOX_WORKER, do_abort, NULL);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGABRT);
}
END_TEST

/* Status lines of a sandboxed child, read by the parent from /proc. */
struct status {
	int	 seccomp;
	int	 nnp;
	uid_t	 owner;		/* of /proc/PID/environ: root if undumpable */
};

static void
status_of(enum sandbox_role role, uid_t as, struct status *s)
{
	char	 path[64], line[256];
	int	 go[2], ready[2];
	FILE	*f;
	struct stat st;
	pid_t	 pid;
	char	 c = 0;
	int	 wst;

	memset(s, 0xff, sizeof(*s));
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(ready), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Become someone else so /proc ownership tells dumpability. */
		if (as != getuid() && (setresuid(as, as, as) == -1 ||
		    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1))
			_exit(2);
		if (sandbox_apply(role) == -1)
			_exit(NOFILTER);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(OK);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "Seccomp: %d", &s->seccomp);
		sscanf(line, "NoNewPrivs: %d", &s->nnp);
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	ck_assert_int_eq(stat(path, &st), 0);
	s->owner = st.st_uid;
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(pid, &wst, 0), pid);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}


START_TEST(test_proc_status)
{
	struct status	 s;
	struct passwd	*pw;
	uid_t		 as = getuid();

	/* As root, run the children as nobody so ownership can differ. */
	if (as == 0 && (pw = getpwnam("nobody")) != NULL)
		as = pw->pw_uid;

	status_of(SANDBOX_WORKER, as, &s);
	ck_assert_int_eq(s.seccomp, 2);
	ck_assert_int_eq(s.nnp, 1);
	if (as != 0)
		ck_assert_uint_eq(s.owner, as);		/* still dumpable */

	status_of(SANDBOX_KEEPER, as, &s);
	ck_assert_int_eq(s.seccomp, 2);
	ck_assert_int_eq(s.nnp, 1);
	if (as != 0)
		ck_assert_uint_eq(s.owner, 0);		/* undumpable */

	status_of(SANDBOX_PARENT, getuid(), &s);
	ck_assert_int_eq(s.seccomp, 2);
	ck_assert_int_eq(s.nnp, 1);
}
END_TEST

START_TEST(test_keeper_deaths)
{
	static const struct {
		const char	*name;
		child_fn	 fn;
	} cases[] = {
		{ "execve", do_execve },
		{ "ptrace", do_ptrace },
		{ "process_vm_readv", do_process_vm_readv },
		{ "fork", do_fork },
		{ "socket AF_PACKET", do_socket_packet },
		{ "socket SOCK_RAW", do_socket_raw },
		{ "socket NETLINK_AUDIT", do_netlink_other },
		{ "socket ICMP ping", do_socket_ping },
		{ "socket SCTP", do_socket_sctp },
		{ "x32 syscall", do_x32 },
		{ "chroot", do_chroot },
		{ "setuid", do_setuid },
	};
	size_t	 i;
	int	 st, s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st = run_child(SANDBOX_KEEPER, cases[i].fn, NULL);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
			ck_abort_msg("keeper %s: not killed by SIGSYS (%#x)",
			    cases[i].name, st);
	}
	/* What libcurl and the resolver open is still allowed. */
	expect_exit(SANDBOX_KEEPER, do_keeper_sockets, NULL, OK);
	ck_assert_int_ge(s = socket(AF_INET, SOCK_STREAM, 0), 0);
	expect_sigsys(SANDBOX_KEEPER, do_listen, &s);
	expect_sigsys(SANDBOX_KEEPER, do_accept, &s);
	close(s);
}
END_TEST

/* arg: a path in a fresh temporary directory. */
static int
do_keeper_files(void *arg)
{
	const char	*path = arg;
	char		 buf[64];
	struct stat	 st;
	FILE		*f;
	int		 fd;

	if ((fd = openat(AT_FDCWD, "/etc/hosts", O_RDONLY | O_CLOEXEC)) == -1)
		return 1;
	if (read(fd, buf, sizeof(buf)) <= 0 || fstat(fd, &st) == -1)
		return 2;
	close(fd);
	if ((f = fopen("/etc/hosts", "re")) == NULL)
		return 3;
	fclose(f);
	if (stat("/etc/hosts", &st) == -1)
		return 4;
	/* A directory read-only: fine. */
	if ((fd = open("/etc", O_RDONLY | O_DIRECTORY)) == -1)
		return 5;
	close(fd);
	/* Every open that could write or create is refused. */
	if (openat(AT_FDCWD, path, O_WRONLY | O_CREAT, 0600) != -1 ||
	    errno != EACCES)
		return 6;
	if (open(path, O_RDWR | O_CREAT, 0600) != -1 || errno != EACCES)
		return 7;
	if (open("/etc/hosts", O_RDONLY | O_TRUNC) != -1 || errno != EACCES)
		return 8;
	if (open("/etc/hosts", O_WRONLY | O_APPEND) != -1 || errno != EACCES)
		return 9;
	if (open(path, O_RDONLY | O_CREAT, 0600) != -1 || errno != EACCES)
		return 10;
	if (fopen(path, "w") != NULL || errno != EACCES)
		return 11;
	if (open("/tmp", O_TMPFILE | O_RDWR, 0600) != -1 || errno != EACCES)
		return 12;
	/* No executable mapping, refused softly (dlopen fails, no crash). */
	if (do_mmap_exec(NULL) != 3)
		return 13;
	return OK;
}

START_TEST(test_keeper_files)
{
	char		 dir[] = "/tmp/check_sandbox.XXXXXX", path[64];
	struct stat	 st;
	void		*page;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/new", dir);
	expect_exit(SANDBOX_KEEPER, do_keeper_files, path, OK);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(rmdir(dir), 0);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(page, MAP_FAILED);
	expect_exit(SANDBOX_KEEPER, do_mprotect_exec, page, 3);
	munmap(page, 4096);
}
END_TEST

static int	hosts_has_localhost(void);

/*
 * Landlock under the keeper's filter: only the listed paths are readable.
 * arg: a temporary directory holding files "a" and "b" and a directory
 * "d" with a file "c".
 */
static int
do_keeper_landlock(void *arg)
{
	const char	*dir = arg;
	char		 a[256], b[256], d[256], c[256], n[256], buf[8];
	const char	*paths[4];
	int		 fd, r;

	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(d, sizeof(d), "%s/d", dir);
	snprintf(c, sizeof(c), "%s/d/c", dir);
	snprintf(n, sizeof(n), "%s/d/new", dir);
	paths[0] = a;
	paths[1] = d;
	paths[2] = "/nonexistent/widgetd";
	paths[3] = NULL;
	if ((r = sandbox_restrict_paths(paths)) != 0)
		return r == 1 ? 77 : 1;
	if (sandbox_apply(SANDBOX_KEEPER) == -1)
		return NOFILTER;
	if ((fd = open(a, O_RDONLY)) == -1 || read(fd, buf, 1) != 1 ||
	    buf[0] != 'A')
		return 2;
	close(fd);
	if ((fd = open(c, O_RDONLY)) == -1)
		return 3;
	close(fd);
	if ((fd = open(d, O_RDONLY | O_DIRECTORY)) == -1)
		return 4;
	close(fd);
	/* Not listed: refused by Landlock, though seccomp would allow it. */
	if (open(b, O_RDONLY) != -1 || errno != EACCES)
		return 5;
	if (open("/etc/passwd", O_RDONLY) != -1 || errno != EACCES)
		return 6;
	if (open(dir, O_RDONLY | O_DIRECTORY) != -1 || errno != EACCES)
		return 7;
	/* Listed, but read-only. */
	if (open(n, O_RDONLY | O_CREAT, 0600) != -1)
		return 8;
	return OK;
}

START_TEST(test_keeper_landlock)
{
	char		 dir[] = "/tmp/check_sandbox.XXXXXX", p[256];
	const char	*names[] = { "a", "b", "d/c" };
	struct stat	 st;
	size_t		 i;
	pid_t		 pid;
	int		 fd, wst;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/d", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		ck_assert_int_ge(fd = open(p, O_WRONLY | O_CREAT, 0600), 0);
		ck_assert_int_eq(write(fd, "ABC" + i, 1), 1);
		close(fd);
	}
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(do_keeper_landlock(dir));
	ck_assert_int_eq(waitpid(pid, &wst, 0), pid);
	if (WIFSIGNALED(wst))
		ck_abort_msg("keeper killed by signal %d", WTERMSIG(wst));
	if (WEXITSTATUS(wst) == 77)
		fprintf(stderr, "check_sandbox: no Landlock in this kernel\n");
	else
		ck_assert_int_eq(WEXITSTATUS(wst), OK);
	snprintf(p, sizeof(p), "%s/d/new", dir);
	ck_assert_int_eq(stat(p, &st), -1);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/d", dir);
	ck_assert_int_eq(rmdir(p), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* The resolver's files through Landlock: getaddrinfo still answers. */
static int
do_keeper_landlock_resolve(void *arg)
{
	struct addrinfo	 hints, *res;

	(void)arg;
	if (sandbox_restrict_paths(sandbox_resolver_paths) != 0)
		return 1;
	if (sandbox_apply(SANDBOX_KEEPER) == -1)
		return NOFILTER;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo("localhost", "443", &hints, &res) != 0)
		return 2;
	freeaddrinfo(res);
	if (open("/etc/passwd", O_RDONLY) != -1)
		return 3;
	return OK;
}

START_TEST(test_keeper_landlock_resolve)
{
	pid_t	 pid;
	int	 st;

	if (!hosts_has_localhost())
		return;
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(do_keeper_landlock_resolve(NULL));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), OK);
}
END_TEST

/* The keeper's network: a connection to a loopback listener, threads. */
struct keeper_net {
	struct sockaddr_in	 sin;	/* a listener made before the filter */
	int			 resolve; /* /etc/hosts names localhost */
};

static int
do_keeper_net(void *arg)
{
	struct keeper_net	*k = arg;
	struct addrinfo		 hints, *res;
	int			 s, one = 1;

	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return 1;
	if (setsockopt(s, IPPROTO_TCP, 1, &one, sizeof(one)) == -1)
		return 2;
	if (connect(s, (struct sockaddr *)&k->sin, sizeof(k->sin)) == -1 &&
	    errno != EINPROGRESS)
		return 3;
	close(s);
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 4;
	close(s);
	if ((s = socket(AF_INET6, SOCK_STREAM, 0)) == -1 &&
	    errno != EAFNOSUPPORT)
		return 5;
	if (s != -1)
		close(s);
	/* nscd's UNIX socket: refused quietly. */
	if (do_socket_unix(NULL) != 1 || errno != EACCES)
		return 6;
	/* Threads, as libcurl's threaded resolver makes them. */
	if (do_thread(NULL) != OK)
		return 7;
	/* getaddrinfo via /etc/hosts, with AI_ADDRCONFIG's netlink query. */
	if (k->resolve) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_ADDRCONFIG;
		if (getaddrinfo("localhost", "80", &hints, &res) != 0)
			return 8;
		freeaddrinfo(res);
	}
	return OK;
}

static int
hosts_has_localhost(void)
{
	char	 line[512];
	FILE	*f;
	int	 found = 0;

	if ((f = fopen("/etc/hosts", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "127.0.0.1", 9) == 0 &&
		    strstr(line, "localhost") != NULL)
			found = 1;
	fclose(f);
	return found;
}

START_TEST(test_keeper_net)
{
	struct keeper_net	 k;
	socklen_t		 sl = sizeof(k.sin);
	int			 l;

	memset(&k, 0, sizeof(k));
	k.sin.sin_family = AF_INET;
	k.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&k.sin, sizeof(k.sin)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&k.sin, &sl), 0);
	/* Only a name /etc/hosts answers: never a DNS query off the host. */
	k.resolve = hosts_has_localhost();
	expect_exit(SANDBOX_KEEPER, do_keeper_net, &k, OK);
	close(l);
}
END_TEST

/* libcurl, initialised before the filter, fetches from a loopback server. */
static int
do_keeper_curl(void *arg)
{
	char		 url[64];
	CURL		*h;
	CURLcode	 rc;
	long		 code = 0;
	FILE		*devnull;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", *(int *)arg);
	if ((h = curl_easy_init()) == NULL)
		return 1;
	devnull = fmemopen(NULL, 4096, "w");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (devnull != NULL)
		fclose(devnull);
	if (rc != CURLE_OK)
		return 10 + (rc > 50 ? 50 : rc);
	return code == 200 ? OK : 2;
}

/*
 * A loopback listener answers one request with resp; child(port) runs in
 * a forked process and its exit status must be OK.
 */
static void
serve_child(int (*child)(int), const char *resp)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	char			 req[2048];
	struct pollfd		 pfd;
	pid_t			 pid;
	int			 l, a, port, st;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	port = ntohs(sin.sin_port);

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(l);
		_exit(child(port));
	}
	/* Never hang on a child that died before connecting. */
	pfd.fd = l;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 30000) != 1) {
		waitpid(pid, &st, 0);
		ck_abort_msg("keeper never connected (status %#x)", st);
	}
	ck_assert_int_ge(a = accept(l, NULL, NULL), 0);
	ck_assert_int_gt(read(a, req, sizeof(req)), 0);
	ck_assert_int_eq(write(a, resp, strlen(resp)), (ssize_t)strlen(resp));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(a);
	close(l);
	if (WIFSIGNALED(st))
		ck_abort_msg("keeper killed by signal %d", WTERMSIG(st));
	ck_assert_int_eq(WEXITSTATUS(st), OK);
}

static int
keeper_curl_child(int port)
{
	if (sandbox_apply(SANDBOX_KEEPER) == -1)
		return NOFILTER;
	return do_keeper_curl(&port);
}

START_TEST(test_keeper_curl)
{
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
	serve_child(keeper_curl_child, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 2\r\nConnection: close\r\n\r\nok");
	curl_global_cleanup();
}
END_TEST

/*
 * keeper_egress under the keeper's confinement, as keeper.c will run it:
 * egress_init and egress_new before Landlock and the filter, then a call
 * through the multi handle, its resolver pin and the policy callbacks.
 */
static void
keeper_egress_done(struct egress_result *res, void *arg)
{
	int	*rc = arg;

	if (res->er_error != EGRESS_OK)
		*rc = 20 + res->er_error;
	else if (res->er_status != 200 || res->er_bodylen != 2 ||
	    memcmp(res->er_body, "ok", 2) != 0 || res->er_reused)
		*rc = 3;
	else
		*rc = OK;
}

static void
keeper_egress_refused(struct egress_result *res, void *arg)
{
	int	*rc = arg;

	*rc = res->er_error == EGRESS_EPOLICY ? OK : 4;
}

static int
do_keeper_egress(int port)
{
	struct event_base	*base;
	struct egress		*eg;
	struct egress_conf	 conf;
	struct egress_request	 req;
	struct netpolicy	 np;
	struct netpolicy_net	 net;
	char			 pin[64], *pins[1] = { pin }, url[64], err[256];
	void			*ca;
	size_t			 calen;
	int			 rc = -1, rc2 = -1;

	if (egress_init(err, sizeof(err)) == -1 ||
	    egress_ca_load("/etc/ssl/certs/ca-certificates.crt", &ca, &calen,
	    err, sizeof(err)) == -1 || (base = event_base_new()) == NULL)
		return 5;
	memset(&np, 0, sizeof(np));
	netpolicy_parse_net("127.0.0.0/8", &net);
	np.np_allow = &net;
	np.np_nallow = 1;
	np.np_allow_http = 1;
	snprintf(pin, sizeof(pin), "upstream.test:%d:127.0.0.1", port);
	memset(&conf, 0, sizeof(conf));
	conf.ec_policy = &np;
	conf.ec_ca = ca;
	conf.ec_calen = calen;
	conf.ec_resolve = pins;
	conf.ec_nresolve = 1;
	conf.ec_timeout_ms = 20000;
	conf.ec_max_body = 1024;
	if ((eg = egress_new(base, &conf, err, sizeof(err))) == NULL)
		return 6;
	if (sandbox_restrict_paths(sandbox_resolver_paths) == -1 ||
	    sandbox_apply(SANDBOX_KEEPER) == -1)
		return NOFILTER;
	memset(&req, 0, sizeof(req));
	req.eq_method = "GET";
	snprintf(url, sizeof(url), "http://upstream.test:%d/x", port);
	req.eq_url = url;
	if (egress_start(eg, &req, keeper_egress_done, &rc) == NULL)
		return 7;
	while (rc == -1)
		event_base_loop(base, EVLOOP_ONCE);
	/* And the policy still holds in there: 10/8 is not allowed. */
	req.eq_url = "http://10.9.9.9/";
	if (egress_start(eg, &req, keeper_egress_refused, &rc2) == NULL)
		return 7;
	while (rc2 == -1)
		event_base_loop(base, EVLOOP_ONCE);
	return rc != OK ? rc : rc2;
}

START_TEST(test_keeper_egress)
{
	/* Keep-alive: the connection stays open until the child is done. */
	serve_child(do_keeper_egress, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "\r\nok");
}
END_TEST

/* The parent's deny-list: ptrace dies, fork + execve still work. */
static int
do_parent_spawn(void *arg)
{
	char	*argv[] = { "true", NULL }, *envp[] = { NULL };
	pid_t	 pid;
	int	 st;

	(void)arg;
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		execve("/bin/true", argv, envp);
		_exit(9);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return 2;
	return OK;
}

START_TEST(test_parent)
{
#ifndef __SANITIZE_ADDRESS__
	/* Allowed under ASan: LeakSanitizer stops the world with ptrace. */
	expect_sigsys(SANDBOX_PARENT, do_ptrace, NULL);
#endif
	expect_sigsys(SANDBOX_PARENT, do_process_vm_readv, NULL);
	expect_sigsys(SANDBOX_PARENT, do_x32, NULL);
	expect_exit(SANDBOX_PARENT, do_parent_spawn, NULL, OK);
}
END_TEST

START_TEST(test_bad_role)
{
	ck_assert_int_eq(sandbox_apply((enum sandbox_role)42), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* The filters as pseudo-code: the report's syscall lists come from here. */
START_TEST(test_export)
{
	char	 path[] = "/tmp/check_sandbox.XXXXXX", buf[65536];
	ssize_t	 n;
	int	 fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	unlink(path);
	ck_assert_int_eq(sandbox_export(SANDBOX_WORKER, fd), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_gt(n = read(fd, buf, sizeof(buf) - 1), 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "\"recvmsg\""));
	ck_assert_ptr_null(strstr(buf, "\"socket\""));
	ck_assert_ptr_null(strstr(buf, "\"execve\""));
	close(fd);
}
END_TEST

/* Privilege drop: as root to nobody in a chroot; not root, a no-op. */
static int
do_drop(void *arg)
{
	const char	*dir = arg;
	struct stat	 root, want;
	struct passwd	*pw;
	gid_t		 groups[4];
	uid_t		 uid;
	gid_t		 gid;

	if ((pw = getpwnam("nobody")) == NULL)
		return 1;
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (stat(dir, &want) == -1)
		return 2;
	if (sandbox_drop_privileges("nobody", dir) == -1)
		return 3;
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid)
		return 4;
	if (getgroups(4, groups) != 1 || groups[0] != gid)
		return 5;
	/* The new root is the temporary directory. */
	if (stat("/", &root) == -1 || root.st_ino != want.st_ino ||
	    root.st_dev != want.st_dev)
		return 6;
	if (setuid(0) != -1 || seteuid(0) != -1)
		return 7;
	return OK;
}

START_TEST(test_drop_privileges)
{
	char	 dir[] = "/tmp/check_sandbox.XXXXXX";
	pid_t	 pid;
	uid_t	 uid = getuid();
	int	 st;

	if (geteuid() != 0) {
		/* Not root: nothing happens and that is not an error. */
		ck_assert_int_eq(sandbox_drop_privileges("nobody", "/nonexistent"),
		    0);
		ck_assert_uint_eq(getuid(), uid);
		return;
	}
	ck_assert_int_eq(sandbox_drop_privileges("no-such-user-widgetd",
	    NULL), -1);
	ck_assert_int_eq(sandbox_drop_privileges("root", NULL), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_uint_eq(getuid(), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(do_drop(dir));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), OK);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/*
 * The publisher: files only.  Every network, process and exec call
 * kills; an executable mapping fails; the file work a publish does
 * (create, write, fsync, link, rename, list, unlink, flock, openat2)
 * runs.  The whole publish under this filter is in check_publish.
 */
static int
do_publisher_files(void *arg)
{
	const char	*dir = arg;
	char		 a[300];
	struct stat	 st;
	int		 fd, dfd;

	snprintf(a, sizeof(a), "%s/a", dir);
	if ((fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1 ||
	    write(fd, "x", 1) != 1 || fsync(fd) == -1 || close(fd) == -1)
		return 1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1 ||
	    mkdirat(dfd, "sub", 0755) == -1 || linkat(dfd, "a", dfd, "sub/b",
	    0) == -1 || renameat(dfd, "sub/b", dfd, "sub/c") == -1 ||
	    flock(dfd, LOCK_EX) == -1 || fsync(dfd) == -1)
		return 2;
	if (fstatat(dfd, "sub/c", &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_nlink != 2)
		return 3;
	if (unlinkat(dfd, "sub/c", 0) == -1 || unlinkat(dfd, "sub",
	    AT_REMOVEDIR) == -1 || unlinkat(dfd, "a", 0) == -1)
		return 4;
	close(dfd);
	return OK;
}

START_TEST(test_publisher)
{
	static const struct {
		const char	*name;
		child_fn	 fn;
	} deaths[] = {
		{ "socket", do_socket },
		{ "socket AF_UNIX", do_socket_unix },
		{ "socket AF_PACKET", do_socket_packet },
		{ "socketpair", do_socketpair },
		{ "execve", do_execve },
		{ "ptrace", do_ptrace },
		{ "process_vm_readv", do_process_vm_readv },
		{ "fork", do_fork },
		{ "pthread_create", do_thread },
		{ "x32 syscall", do_x32 },
		{ "futex LOCK_PI", do_futex_pi },
		{ "chroot", do_chroot },
		{ "setuid", do_setuid },
	};
	char	 dir[] = "/tmp/check_sandbox.XXXXXX";
	size_t	 i;
	int	 s, st;

	for (i = 0; i < sizeof(deaths) / sizeof(deaths[0]); i++) {
		st = run_child(SANDBOX_PUBLISHER, deaths[i].fn, NULL);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
			ck_abort_msg("publisher %s: not killed by SIGSYS (%#x)",
			    deaths[i].name, st);
	}
	/* Holding a socket does not let it use one. */
	ck_assert_int_ge(s = socket(AF_INET, SOCK_STREAM, 0), 0);
	expect_sigsys(SANDBOX_PUBLISHER, do_connect, &s);
	expect_sigsys(SANDBOX_PUBLISHER, do_bind, &s);
	close(s);
	expect_exit(SANDBOX_PUBLISHER, do_mmap_exec, NULL, 3);
	expect_exit(SANDBOX_PUBLISHER, do_mmap_wx, NULL, 3);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	expect_exit(SANDBOX_PUBLISHER, do_publisher_files, dir, OK);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Valgrind cannot run a filtered process: its own syscalls are filtered. */
const char *check_valgrind_tcase = "nofilter";

Suite *
check_suite(void)
{
	Suite	*s = suite_create("sandbox");
	TCase	*tc;

	tc = tcase_create("worker");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_worker_deaths);
	tcase_add_test(tc, test_worker_trimmed);
	tcase_add_test(tc, test_worker_opens);
	tcase_add_test(tc, test_worker_works);
	tcase_add_test(tc, test_worker_abort);
	tcase_add_test(tc, test_worker_crypto);
	tcase_add_test(tc, test_worker_render);
	suite_add_tcase(s, tc);

	tc = tcase_create("keeper");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_keeper_deaths);
	tcase_add_test(tc, test_keeper_files);
	tcase_add_test(tc, test_keeper_net);
	tcase_add_test(tc, test_keeper_curl);
	tcase_add_test(tc, test_keeper_egress);
	tcase_add_test(tc, test_keeper_landlock);
	tcase_add_test(tc, test_keeper_landlock_resolve);
	suite_add_tcase(s, tc);

	tc = tcase_create("publisher");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_publisher);
	suite_add_tcase(s, tc);

	tc = tcase_create("common");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_proc_status);
	tcase_add_test(tc, test_parent);
	tcase_add_test(tc, test_export);	/* libseccomp: not valgrind */
	suite_add_tcase(s, tc);

	/* No filter is installed here: these also run under valgrind. */
	tc = tcase_create("nofilter");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_role);
	tcase_add_test(tc, test_drop_privileges);
	suite_add_tcase(s, tc);
	return s;
}
