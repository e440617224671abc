/*
 * keeper_poll.c — poll(2) as libcurl calls it from the keeper.
 *
 * libcurl 7.88 asks poll(2) twice in every call on a reused connection,
 * each time for one socket, POLLIN, with a zero timeout: whether the idle
 * connection died before it is picked (extract_if_dead, through
 * cf_socket_conn_is_alive), and in the transfer's first pass once the
 * request is written, since that pass was run by libcurl's timer and not
 * by a socket event (Curl_readwrite when conn->cselect_bits is 0).  No
 * option turns either off.  They were 2 of the keeper's 5.3 system calls
 * per proxied request.
 *
 * The keeper knows both answers already.  keeper_egress.c keeps a
 * connection's read event in epoll (level-triggered) from the moment
 * libcurl first watches it until it is closed, also while it waits in the
 * cache between calls; if it becomes readable (the upstream closed it, or
 * spoke out of turn) while idle, the event fires and is taken out.  Such a
 * socket is marked "quiet" here (keeper_poll_quiet): readable only if the
 * loop says so.  libcurl runs only from a loop callback, after the loop's
 * epoll_wait, so poll answers "nothing to read" for a quiet socket itself:
 *  - for the liveness check, the answer is as old as that epoll_wait, a few
 *    microseconds, where libcurl's own is as old as its poll: either way a
 *    connection the upstream closes just after the check is written to.
 *    libcurl handles that case already: a reused connection that fails
 *    before any byte of an answer came is closed and the request retried
 *    on a new one (Curl_retry_request, up to 5 times).  And when libcurl
 *    closes a connection in the middle of a dispatch (a retry, a failure),
 *    keeper_egress.c withdraws the trust (keeper_poll_trust) until the next
 *    dispatch, so the next pick asks the kernel, and skips a dead
 *    connection as before (check_egress's test_dead_reuse and
 *    test_poll_quiet);
 *  - after the request is written, an answer that came already is read
 *    when the loop next reports the socket, which it does (level-triggered)
 *    at once.
 *
 * A connection the keeper speaks HTTP on itself (keeper_egress.c's direct
 * connections) is "owned": libcurl made it and keeps it in its connection
 * cache, where it looks idle, so each time libcurl makes a new connection
 * (at most once a second) it checks it for liveness, and a socket with
 * input pending counts as dead and is closed.  But that input is the
 * answer to the call the keeper is making on it.  For an owned socket the
 * answer is "nothing to read" whatever the trust: the keeper reads it and
 * knows when it dies.
 *
 * Any other poll — other sockets, other events, a timeout, several fds,
 * other processes of this executable — goes to the C library's.
 *
 * This works because the executable's own definition of poll comes first
 * in the dynamic symbol lookup that libcurl's calls go through; glibc's
 * own callers (the resolver) use its internal __poll and are untouched.
 * Used from the keeper's loop thread only (libcurl's resolver thread never
 * polls).
 */
#include "build.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "keeper_poll.h"

typedef int	(*keeper_poll_fn)(struct pollfd *, nfds_t, int);

static unsigned char	*kp_quiet;	/* by fd: 1 quiet */
static size_t		 kp_nquiet;
static int		 kp_trust;

/* fd's quiet mark set or cleared; -1: no memory (it stays not quiet). */
int
keeper_poll_quiet(int fd, int on)
{
	unsigned char	*nq;
	size_t		 n;

	if (fd < 0)
		return 0;
	if ((size_t)fd >= kp_nquiet) {
		if (!on)
			return 0;
		n = (size_t)fd < 32 ? 64 : (size_t)fd * 2;
		if ((nq = realloc(kp_quiet, n)) == NULL)
			return -1;
		memset(nq + kp_nquiet, 0, n - kp_nquiet);
		kp_quiet = nq;
		kp_nquiet = n;
	}
	kp_quiet[fd] = on == KEEPER_POLL_OWNED ? KEEPER_POLL_OWNED : on != 0;
	return 0;
}

/* 1 at the start of each libcurl dispatch; 0 when a connection was lost. */
void
keeper_poll_trust(int on)
{
	kp_trust = on;
}

/*
 * glibc declares poll's array write-only (an access attribute for its
 * fortified build); the kernel reads it, and so does this.  So the body
 * is keeper_poll_entry, which that declaration does not cover, and poll
 * is its alias: a pragma around a definition of poll itself silenced the
 * warning in a normal build, but not under -flto, where it is made at
 * link time.
 */
static int
keeper_poll_entry(struct pollfd *fds, nfds_t nfds, int timeout)
{
	static keeper_poll_fn	 libc_poll;
	keeper_poll_fn		 fn;

	if (nfds == 1 && timeout == 0 && fds[0].fd >= 0 &&
	    (size_t)fds[0].fd < kp_nquiet && kp_quiet[fds[0].fd] &&
	    (kp_trust || kp_quiet[fds[0].fd] == KEEPER_POLL_OWNED) &&
	    (fds[0].events & (POLLOUT | POLLWRNORM | POLLWRBAND)) == 0) {
		fds[0].revents = 0;
		return 0;
	}
	if ((fn = __atomic_load_n(&libc_poll, __ATOMIC_RELAXED)) == NULL) {
		if ((fn = (keeper_poll_fn)dlsym(RTLD_NEXT, "poll")) == NULL) {
			errno = ENOSYS;
			return -1;
		}
		__atomic_store_n(&libc_poll, fn, __ATOMIC_RELAXED);
	}
	return fn(fds, nfds, timeout);
}

int	poll(struct pollfd *, nfds_t, int)
	    __attribute__((alias("keeper_poll_entry")));

/*
 * recv(2), for one caller: OpenSSL connections' liveness check in
 * libcurl (ossl_check_cxn) peeks one byte before it asks poll, and a byte
 * there (the answer to the keeper's call) makes the connection "dead" as
 * surely as a readable poll.  For an owned socket a one-byte MSG_PEEK
 * says "would block" (libcurl: status unknown, so it asks poll, above).
 * Everything else is the C library's.
 */
typedef ssize_t	(*keeper_recv_fn)(int, void *, size_t, int);

static ssize_t
keeper_recv_entry(int fd, void *buf, size_t len, int flags)
{
	static keeper_recv_fn	 libc_recv;
	keeper_recv_fn		 fn;

	if (flags == MSG_PEEK && len == 1 && fd >= 0 &&
	    (size_t)fd < kp_nquiet && kp_quiet[fd] == KEEPER_POLL_OWNED) {
		errno = EAGAIN;
		return -1;
	}
	if ((fn = __atomic_load_n(&libc_recv, __ATOMIC_RELAXED)) == NULL) {
		if ((fn = (keeper_recv_fn)dlsym(RTLD_NEXT, "recv")) == NULL) {
			errno = ENOSYS;
			return -1;
		}
		__atomic_store_n(&libc_recv, fn, __ATOMIC_RELAXED);
	}
	return fn(fd, buf, len, flags);
}

ssize_t	recv(int, void *, size_t, int)
	    __attribute__((alias("keeper_recv_entry")));
