/*
 * ipc.c — framed messages and fd passing between widgetd's processes.
 *
 * A channel is one end of a SOCK_STREAM socketpair, or (between a worker
 * and its keeper, where no fd ever travels) a pair of pipes, one each way:
 * a pipe's write and wake-up cost the kernel less than a socket's, and a
 * call and its answer cross every request.  The peer may be a
 * compromised worker, so everything read here is hostile input: the header
 * is checked before any payload is allocated, an fd must sit on the one
 * frame type that expects it, and any violation fails the channel for good.
 *
 * fd hand-off.  The sender attaches a frame's fds (SCM_RIGHTS) to the
 * sendmsg that starts with the first byte of that frame, one sendmsg per
 * fd-carrying frame.  On the receiving side a stream socket tells us only
 * which recvmsg chunk fds came with (Linux ends a recvmsg at the next
 * sendmsg that carries fds), so each chunk's fds are queued together with
 * the stream range of that chunk: the frame that claims them must carry fds
 * by type, start inside that range, and carry exactly that many (one, or
 * the number MSG_CONN_FD's payload states).  fds still unclaimed once
 * parsing has passed their range are a violation.  Every fd is checked for
 * its kind before the owner sees it, arrives close-on-exec
 * (MSG_CMSG_CLOEXEC), and is closed on every failure path.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ipc.h"
#include "spare.h"

#define IPC_RBUF_MIN	(64 * 1024)	/* read buffer kept between frames */
#define IPC_FDS_PENDING	4		/* chunks whose fds are not yet claimed */
#define IPC_FDS_CMSG	(IPC_MAX_FDS + 8)	/* room to see (and close)
						   more than a frame's fds */
#define IPC_READ_BUDGET	16		/* recvmsg calls per ipc_read */
#define IPC_IOV_MAX	64		/* frames per sendmsg */
#define IPC_MAX_QUEUE	(64 * 1024 * 1024)	/* queued bytes per channel,
						   with each frame's entry */
#define IPC_LOG_MAX	8192		/* MSG_LOG payload */

/* Per-type rules: the receiver enforces them, the sender obeys them. */
#define IPC_F_FD	0x01	/* exactly one fd travels with the frame */
#define IPC_F_EMPTY	0x02	/* payload must be empty */
#define IPC_F_PAYLOAD	0x04	/* payload must not be empty */
#define IPC_F_PIPES	0x08	/* two fds: a pipe's read end, another's
				   write end (a worker-keeper channel) */
#define IPC_F_TCP	0x10	/* the fd is an AF_INET/AF_INET6 TCP socket */
#define IPC_F_MEMFD	0x20	/* the fd is a sealed memfd (read-only) */
#define IPC_F_FDS	0x40	/* 1..IPC_MAX_FDS fds; payload: u32 how many */

#define P	IPC_PARENT
#define W	IPC_WORKER
#define K	IPC_KEEPER
#define B	IPC_PUBLISHER	/* B for build */

/* The catalogue of ipc.h as data: name, direction, what travels. */
static const struct ipc_type {
	uint32_t	 t_type;
	const char	*t_name;
	int		 t_from;
	int		 t_to;
	int		 t_flags;
} ipc_types[] = {
	{ MSG_CONN_FD,	"MSG_CONN_FD",	P, W,	IPC_F_FDS | IPC_F_TCP | IPC_F_PAYLOAD },
	{ MSG_KEEPER_FD, "MSG_KEEPER_FD", P, W,	IPC_F_PIPES | IPC_F_EMPTY },
	{ MSG_SNAPSHOT,	"MSG_SNAPSHOT",	P, W | K, IPC_F_FD | IPC_F_MEMFD | IPC_F_PAYLOAD },
	{ MSG_SHUTDOWN,	"MSG_SHUTDOWN",	P, W | K | B, IPC_F_EMPTY },
	{ MSG_WORKER_FD, "MSG_WORKER_FD", P, K,	IPC_F_PIPES | IPC_F_PAYLOAD },
	{ MSG_SECRETS,	"MSG_SECRETS",	P, W | K, IPC_F_PAYLOAD },
	{ MSG_STATS_REQ, "MSG_STATS_REQ", P, W,	IPC_F_EMPTY },
	{ MSG_PUBLISH,	"MSG_PUBLISH",	P, B,	IPC_F_EMPTY },
	{ MSG_TEST,	"MSG_TEST",	P, W,	IPC_F_PAYLOAD },
	{ MSG_TEST_DEF,	"MSG_TEST_DEF",	P, K,	IPC_F_PAYLOAD },
	{ MSG_METRICS_FD, "MSG_METRICS_FD", P, W, IPC_F_FD | IPC_F_TCP | IPC_F_PAYLOAD },
	{ MSG_TEST_ABUSE, "MSG_TEST_ABUSE", P, W, IPC_F_PAYLOAD },
	{ MSG_PING,	"MSG_PING",	W, K,	IPC_F_EMPTY },
	{ MSG_CALL,	"MSG_CALL",	W, K,	IPC_F_PAYLOAD },
	{ MSG_GEN,	"MSG_GEN",	W, K,	IPC_F_PAYLOAD },
	{ MSG_PONG,	"MSG_PONG",	K, W,	IPC_F_EMPTY },
	{ MSG_RESULT,	"MSG_RESULT",	K, W,	IPC_F_PAYLOAD },
	{ MSG_FAIL,	"MSG_FAIL",	K, W,	IPC_F_PAYLOAD },
	{ MSG_LOG,	"MSG_LOG",	W | K | B, P, IPC_F_PAYLOAD },
	{ MSG_CONN_DONE, "MSG_CONN_DONE", W, P,	IPC_F_PAYLOAD },
	{ MSG_READY,	"MSG_READY",	W | K | B, P, IPC_F_EMPTY },
	{ MSG_WORKER_EVICT, "MSG_WORKER_EVICT", K, P, IPC_F_PAYLOAD },
	{ MSG_SNAPSHOT_DONE, "MSG_SNAPSHOT_DONE", W | K, P, IPC_F_PAYLOAD },
	{ MSG_STATS,	"MSG_STATS",	W, P,	IPC_F_PAYLOAD },
	{ MSG_ACCESS,	"MSG_ACCESS",	W, P,	IPC_F_PAYLOAD },
	{ MSG_SECRETS_DONE, "MSG_SECRETS_DONE", W | K, P, IPC_F_EMPTY },
	{ MSG_PUBLISHED, "MSG_PUBLISHED", B, P,	IPC_F_PAYLOAD },
	{ MSG_TEST_DEF_DONE, "MSG_TEST_DEF_DONE", K, P, IPC_F_PAYLOAD },
	{ MSG_TEST_DONE, "MSG_TEST_DONE", W, P,	IPC_F_PAYLOAD },
	{ MSG_METRICS,	"MSG_METRICS",	W | K, P, IPC_F_PAYLOAD },
};

#undef P
#undef W
#undef K

/*
 * Types whose payload is always small get a tighter bound than
 * IPC_MAX_PAYLOAD, so that a flood of them is refused at the header.
 */
static uint32_t
ipc_type_max_len(uint32_t type)
{
	switch (type) {
	case MSG_LOG:
		/* vlog makes lines under 2 KiB; the parent keeps 1 KiB. */
		return IPC_LOG_MAX;
	case MSG_TEST_ABUSE:
		return sizeof(uint32_t);
	case MSG_CONN_DONE:
		/* n, then n connection numbers. */
		return sizeof(uint32_t) * (1 + IPC_DONE_MAX);
	default:
		return IPC_MAX_PAYLOAD;
	}
}
#undef B

struct ipc_out {
	TAILQ_ENTRY(ipc_out)	 o_entry;
	size_t			 o_len;		/* the whole frame */
	size_t			 o_off;		/* bytes already sent */
	int			 o_nfds;	/* ours to send; 0 once sent */
	int			 o_fds[IPC_MAX_FDS];
	/*
	 * A piece given away (ipc_sendv_given): o_reflen bytes at o_ref,
	 * sent after the first o_refat bytes of o_data and before the rest,
	 * then handed to o_release.  o_data holds o_len - o_reflen bytes.
	 */
	const unsigned char	*o_ref;
	size_t			 o_reflen;
	size_t			 o_refat;
	ipc_release_fn		 o_release;
	void			*o_relarg;
	size_t			 o_cap;		/* bytes allocated, entry too */
	unsigned char		 o_data[];	/* header + payload */
};

/* The fds one recvmsg brought, and the stream range of its bytes. */
struct ipc_pfd {
	int		 pf_fds[IPC_MAX_FDS];
	int		 pf_n;
	uint64_t	 pf_start;
	uint64_t	 pf_end;
};

struct ipc_chan {
	int			 c_fd;		/* read from; written too, but: */
	int			 c_wfd;		/* written to (c_fd but for pipes) */
	int			 c_pipes;	/* c_fd, c_wfd: pipes, no fds */
	char			 c_errbuf[96];	/* c_err with the type named */
	int			 c_self;	/* IPC_* role at this end */
	int			 c_peer;	/* and at the other */
	const char		*c_err;		/* set once: the channel failed */

	unsigned char		*c_rbuf;
	size_t			 c_rcap;
	size_t			 c_rlen;	/* valid bytes in c_rbuf */
	size_t			 c_rpos;	/* parsed up to here */
	uint64_t		 c_rabs;	/* stream offset of c_rbuf[0] */

	struct ipc_pfd		 c_fds[IPC_FDS_PENDING];
	int			 c_nfds;

	unsigned char		*c_mbuf;	/* payload of the last ipc_get */
	size_t			 c_mcap;
	size_t			 c_mlen;
	/*
	 * Or, for a frame larger than IPC_RBUF_MIN, the read buffer it was
	 * assembled in, whole (header and payload): ipc_rbuf_prepare sizes
	 * that buffer to the frame, so ipc_get hands it over instead of
	 * copying the payload out, and it is wiped and freed at the next
	 * ipc_get.
	 */
	unsigned char		*c_mfull;
	size_t			 c_mfcap;

	TAILQ_HEAD(, ipc_out)	 c_outq;
	size_t			 c_outbytes;
	int			 c_nout;
};

static const struct ipc_type *
ipc_type_find(uint32_t type)
{
	size_t	 i;

	for (i = 0; i < sizeof(ipc_types) / sizeof(ipc_types[0]); i++)
		if (ipc_types[i].t_type == type)
			return &ipc_types[i];
	return NULL;
}

const char *
ipc_type_name(uint32_t type)
{
	const struct ipc_type	*t;

	if ((t = ipc_type_find(type)) == NULL)
		return "unknown";
	return t->t_name;
}

int
ipc_type_known(uint32_t type)
{
	return ipc_type_find(type) != NULL;
}

int
ipc_type_has_fd(uint32_t type)
{
	return ipc_type_max_fds(type) > 0;
}

int
ipc_type_max_fds(uint32_t type)
{
	const struct ipc_type	*t;

	if ((t = ipc_type_find(type)) == NULL)
		return 0;
	if (t->t_flags & IPC_F_FDS)
		return IPC_MAX_FDS;
	if (t->t_flags & IPC_F_PIPES)
		return 2;
	return (t->t_flags & IPC_F_FD) ? 1 : 0;
}

/*
 * The header rules shared by sender and receiver; NULL if acceptable.
 * from/to are the roles at the two ends: the direction is checked here,
 * once, for every frame either way.
 */
static const char *
ipc_hdr_check(uint32_t type, uint32_t len, int from, int to)
{
	const struct ipc_type	*t;

	if ((t = ipc_type_find(type)) == NULL)
		return "unknown message type";
	if ((t->t_from & from) == 0 || (t->t_to & to) == 0)
		return "message in the wrong direction";
	if (len > IPC_MAX_PAYLOAD)
		return "frame longer than the maximum";
	if (len > ipc_type_max_len(type))
		return "payload longer than the type allows";
	if ((t->t_flags & IPC_F_EMPTY) && len != 0)
		return "payload on a message that has none";
	if ((t->t_flags & IPC_F_PAYLOAD) && len == 0)
		return "empty payload on a message that needs one";
	if ((t->t_flags & IPC_F_FDS) && len != sizeof(uint32_t))
		return "fd count of the wrong size";
	return NULL;
}

static void
ipc_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

/*
 * An encoder's first buffer: an answer's head (its headers, host and
 * timings) is 500 bytes to 1 KiB, and grew from 256 by two copies, each
 * with a malloc and a wiped free, on every call.  1 KiB is still served
 * from glibc's per-thread cache.
 */
#define IPC_BUF_FIRST	1024

/*
 * Payload buffers a taker of ipc_msg_keep gave back (an answer's, in the
 * worker) are wiped and kept for the next messages to be copied out, up
 * to IPC_KEEP_MAX bytes each (spare.h), and rounded up to IPC_MROUND so
 * that an answer fits the last one's.
 */
#define IPC_MROUND	4096
#define IPC_KEEP_MAX	(256 * 1024)

static struct spare	 ipc_spares;

/*
 * Queue entries of small frames (a call's plan, an answer's head, the
 * pings) are wiped when sent and kept for the next frame that fits, up
 * to IPC_OUT_KEEP bytes each: a process sends about one a request.
 */
#define IPC_OUT_KEEP	2048

static struct spare	 ipc_outs;
/* An encoder's first blocks (IPC_BUF_FIRST bytes), wiped and kept alike. */
static struct spare	 ipc_bufs;

/* Wipe the len bytes written to an encoder's block, keep or free it. */
static void
ipc_buf_drop(void *p, size_t len, size_t cap)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	if (cap != IPC_BUF_FIRST || (p = spare_put(&ipc_bufs, p, cap)) != NULL)
		free(p);
}

/* A payload buffer of at least n bytes (n > 0): the last kept, or new. */
static void *
ipc_mbuf_new(size_t n, size_t *capp)
{
	void	*p;

	if ((p = spare_take_fit(&ipc_spares, n, capp)) != NULL)
		return p;
	if (n > IPC_MROUND && n <= IPC_KEEP_MAX)
		n = (n + IPC_MROUND - 1) / IPC_MROUND * IPC_MROUND;
	*capp = n;
	return malloc(n);
}

static void
ipc_close_fds(const int *fds, int n)
{
	while (n-- > 0)
		close(fds[n]);
}

static void
ipc_close_pending(struct ipc_chan *c)
{
	int	 i;

	for (i = 0; i < c->c_nfds; i++)
		ipc_close_fds(c->c_fds[i].pf_fds, c->c_fds[i].pf_n);
	c->c_nfds = 0;
}

/* Fail the channel for a frame header: the log names the type. */
static int
ipc_fail_type(struct ipc_chan *c, const char *why, uint32_t type)
{
	const struct ipc_type	*t = ipc_type_find(type);

	if (c->c_err == NULL) {
		if (t != NULL)
			snprintf(c->c_errbuf, sizeof(c->c_errbuf), "%s: %s",
			    why, t->t_name);
		else
			snprintf(c->c_errbuf, sizeof(c->c_errbuf), "%s: %u",
			    why, type);
		c->c_err = c->c_errbuf;
	}
	ipc_close_pending(c);
	errno = EPROTO;
	return -1;
}

/* Fail the channel for good; every later call returns -1. */
static int
ipc_fail(struct ipc_chan *c, const char *why, int err)
{
	if (c->c_err == NULL)
		c->c_err = why;
	ipc_close_pending(c);
	errno = err;
	return -1;
}

/* Nonblocking for libevent; close-on-exec so no other child gets it. */
static int
ipc_fd_prepare(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (fl = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

struct ipc_chan *
ipc_chan_new(int fd, int self, int peer)
{
	struct ipc_chan	*c;

	if (fd < 0 || self == 0 || peer == 0) {
		errno = EBADF;
		return NULL;
	}
	if (ipc_fd_prepare(fd) == -1)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->c_fd = c->c_wfd = fd;
	c->c_self = self;
	c->c_peer = peer;
	TAILQ_INIT(&c->c_outq);
	return c;
}

struct ipc_chan *
ipc_chan_new_pipes(int rfd, int wfd, int self, int peer)
{
	struct ipc_chan	*c;

	if (rfd < 0 || wfd < 0 || rfd == wfd) {
		errno = EBADF;
		return NULL;
	}
	if ((c = ipc_chan_new(rfd, self, peer)) == NULL)
		return NULL;
	if (ipc_fd_prepare(wfd) == -1) {
		c->c_fd = c->c_wfd = -1;	/* both stay the caller's */
		ipc_chan_free(c);
		return NULL;
	}
	c->c_wfd = wfd;
	c->c_pipes = 1;
	return c;
}

static void
ipc_out_free(struct ipc_out *o)
{
	size_t	 cap = o->o_cap;

	if (o->o_release != NULL)
		o->o_release(o->o_ref, o->o_reflen, o->o_relarg);
	ipc_close_fds(o->o_fds, o->o_nfds);
	/* Past the frame, a kept block was wiped when it was last kept. */
	explicit_bzero(o, sizeof(*o) + o->o_len - o->o_reflen);
	if (cap > IPC_OUT_KEEP || (o = spare_put(&ipc_outs, o, cap)) != NULL)
		free(o);
}

/* A queue entry of need bytes: the last one kept if it fits, or new. */
static struct ipc_out *
ipc_out_new(size_t need)
{
	struct ipc_out	*o;
	size_t		 cap;

	if ((o = spare_take_fit(&ipc_outs, need, &cap)) != NULL) {
		o->o_cap = cap;
		return o;
	}
	if ((o = malloc(need)) != NULL)
		o->o_cap = need;
	return o;
}

/*
 * The unsent bytes of o as at most three pieces (its own bytes, the piece
 * given away, its own bytes again): how many went into iov.
 */
static int
ipc_out_iov(const struct ipc_out *o, struct iovec *iov)
{
	const unsigned char	*p[3];
	size_t			 len[3], off = o->o_off;
	int			 nseg = 1, k, n = 0;

	p[0] = o->o_data;
	len[0] = o->o_len;
	if (o->o_release != NULL) {
		len[0] = o->o_refat;
		p[1] = o->o_ref;
		len[1] = o->o_reflen;
		p[2] = o->o_data + o->o_refat;
		len[2] = o->o_len - o->o_reflen - o->o_refat;
		nseg = 3;
	}
	for (k = 0; k < nseg; k++) {
		if (off >= len[k]) {
			off -= len[k];
			continue;
		}
		iov[n].iov_base = (void *)(uintptr_t)(p[k] + off);
		iov[n].iov_len = len[k] - off;
		off = 0;
		n++;
	}
	return n;
}

void
ipc_chan_free(struct ipc_chan *c)
{
	struct ipc_out	*o;

	if (c == NULL)
		return;
	while ((o = TAILQ_FIRST(&c->c_outq)) != NULL) {
		TAILQ_REMOVE(&c->c_outq, o, o_entry);
		ipc_out_free(o);
	}
	ipc_close_pending(c);
	if (c->c_wfd != -1 && c->c_wfd != c->c_fd)
		close(c->c_wfd);
	if (c->c_fd != -1)
		close(c->c_fd);
	ipc_wipe_free(c->c_rbuf, c->c_rcap);
	ipc_wipe_free(c->c_mbuf, c->c_mcap);
	ipc_wipe_free(c->c_mfull, c->c_mfcap);
	free(c);
}

int
ipc_chan_fd(const struct ipc_chan *c)
{
	return c->c_fd;
}

int
ipc_chan_wfd(const struct ipc_chan *c)
{
	return c->c_wfd;
}

int
ipc_pending(const struct ipc_chan *c)
{
	return c->c_nout;
}

size_t
ipc_queued(const struct ipc_chan *c)
{
	return c->c_outbytes;
}

size_t
ipc_held(const struct ipc_chan *c)
{
	return c->c_rcap + c->c_mcap + c->c_mfcap;
}

void *
ipc_msg_keep(struct ipc_msg *m, size_t *capp)
{
	struct ipc_chan	*c = m->m_chan;
	void		*p;

	*capp = 0;
	if (c == NULL || m->m_data == NULL)
		return NULL;
	/* Copied out: the payload buffer goes, the next message gets one. */
	if (m->m_data == c->c_mbuf) {
		p = c->c_mbuf;
		*capp = c->c_mcap;
		c->c_mbuf = NULL;
		c->c_mcap = 0;
		c->c_mlen = 0;
		return p;
	}
	if (c->c_mfull == NULL || m->m_data != c->c_mfull + IPC_HDR_LEN)
		return NULL;
	p = c->c_mfull;
	*capp = c->c_mfcap;
	c->c_mfull = NULL;
	c->c_mfcap = 0;
	c->c_mlen = 0;
	return p;
}

void
ipc_kept_free(void *p, size_t cap)
{
	if (p == NULL)
		return;
	explicit_bzero(p, cap);
	if (cap > IPC_KEEP_MAX || (p = spare_put(&ipc_spares, p, cap)) != NULL)
		free(p);
}

const char *
ipc_chan_error(const struct ipc_chan *c)
{
	return c->c_err;
}

/*
 * Make room in the read buffer: drop parsed bytes, then size the buffer for
 * the frame being assembled.  Its header has been checked before this sizes
 * anything, so a hostile length never reaches realloc.
 */
static int
ipc_rbuf_prepare(struct ipc_chan *c)
{
	unsigned char	*nb;
	size_t		 avail, need, want;
	uint32_t	 hdr[3];
	const char	*why;

	if (c->c_rpos > 0) {
		avail = c->c_rlen - c->c_rpos;
		memmove(c->c_rbuf, c->c_rbuf + c->c_rpos, avail);
		explicit_bzero(c->c_rbuf + avail, c->c_rlen - avail);
		c->c_rabs += c->c_rpos;
		c->c_rlen = avail;
		c->c_rpos = 0;
	}
	need = IPC_HDR_LEN;
	if (c->c_rlen >= IPC_HDR_LEN) {
		memcpy(hdr, c->c_rbuf, sizeof(hdr));
		if ((why = ipc_hdr_check(hdr[0], hdr[2], c->c_peer,
		    c->c_self)) != NULL)
			return ipc_fail_type(c, why, hdr[0]);
		need += hdr[2];
	}
	want = need > IPC_RBUF_MIN ? need : IPC_RBUF_MIN;
	/* Give back a large buffer once its big frame is gone. */
	if (c->c_rcap > want && c->c_rcap > IPC_RBUF_MIN && c->c_rlen <= want) {
		if ((nb = malloc(want)) == NULL)
			return 0;	/* keep the big one */
		memcpy(nb, c->c_rbuf, c->c_rlen);
		ipc_wipe_free(c->c_rbuf, c->c_rcap);
		c->c_rbuf = nb;
		c->c_rcap = want;
	} else if (c->c_rcap < want) {
		if ((nb = malloc(want)) == NULL)
			return ipc_fail(c, "out of memory", ENOMEM);
		if (c->c_rlen > 0)
			memcpy(nb, c->c_rbuf, c->c_rlen);
		ipc_wipe_free(c->c_rbuf, c->c_rcap);
		c->c_rbuf = nb;
		c->c_rcap = want;
	}
	return 0;
}

/*
 * Is this received fd the kind the frame type promises?  Two system calls
 * per fd, as every connection pays them: getsockopt fails with ENOTSOCK on
 * anything that is not a socket, so no fstat is needed for sockets.
 */
static int
ipc_fd_check(int fd, int flags, int idx)
{
	const int	 seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
			    F_SEAL_WRITE;
	struct stat	 st;
	int		 v;
	socklen_t	 sl;

	/* A snapshot nobody can change under its readers, not any file. */
	if (flags & IPC_F_MEMFD)
		return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (v = fcntl(fd, F_GET_SEALS)) != -1 &&
		    (v & seals) == seals ? 0 : -1;
	/* A channel's pipes: the first read from, the second written to. */
	if (flags & IPC_F_PIPES)
		return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
		    (v = fcntl(fd, F_GETFL)) != -1 &&
		    (v & O_ACCMODE) == (idx == 0 ? O_RDONLY : O_WRONLY) ?
		    0 : -1;
	sl = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &sl) == -1)
		return -1;
	if (v != AF_INET && v != AF_INET6)
		return -1;
	/* TCP exists only as SOCK_STREAM: the protocol settles the type. */
	sl = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &sl) == -1 ||
	    v != IPPROTO_TCP)
		return -1;
	return 0;
}

/*
 * Take the fds out of a control buffer, as one group.  Everything that came
 * is closed on any problem: truncation (the kernel dropped fds, e.g. at
 * RLIMIT_NOFILE, or more came than the buffer holds), more than a frame may
 * carry, a control message that is not SCM_RIGHTS.
 */
static int
ipc_take_fds(struct ipc_chan *c, struct msghdr *msg, size_t n)
{
	struct cmsghdr	*cm;
	int		 fds[IPC_FDS_CMSG], nfds = 0, i, cnt, bad = 0;
	const char	*why = NULL;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt; i++) {
			if (nfds < (int)(sizeof(fds) / sizeof(fds[0])))
				memcpy(&fds[nfds++],
				    CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		why = "control message truncated";
	else if (bad)
		why = "unexpected control message";
	else if (nfds > IPC_MAX_FDS)
		why = "more fds in one message than a frame carries";
	else if (nfds > 0 && c->c_nfds == IPC_FDS_PENDING)
		why = "too many fds pending";
	if (why != NULL) {
		ipc_close_fds(fds, nfds);
		return ipc_fail(c, why, EPROTO);
	}
	if (nfds > 0) {
		memcpy(c->c_fds[c->c_nfds].pf_fds, fds, nfds * sizeof(int));
		c->c_fds[c->c_nfds].pf_n = nfds;
		c->c_fds[c->c_nfds].pf_start = c->c_rabs + c->c_rlen;
		c->c_fds[c->c_nfds].pf_end = c->c_rabs + c->c_rlen + n;
		c->c_nfds++;
	}
	return 0;
}

/* Is there a complete frame (or one that violates the rules) to get? */
static int
ipc_frame_ready(const struct ipc_chan *c)
{
	uint32_t	 hdr[3];
	size_t		 avail = c->c_rlen - c->c_rpos;

	if (avail < IPC_HDR_LEN)
		return 0;
	memcpy(hdr, c->c_rbuf + c->c_rpos, sizeof(hdr));
	if (hdr[2] > IPC_MAX_PAYLOAD)
		return 1;
	return avail - IPC_HDR_LEN >= hdr[2];
}

int
ipc_read(struct ipc_chan *c)
{
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE(IPC_FDS_CMSG * sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	ssize_t		 n;
	size_t		 total = 0;
	int		 i;

	if (c->c_err != NULL) {
		errno = EPROTO;
		return -1;
	}
	for (i = 0; i < IPC_READ_BUDGET; i++) {
		/*
		 * No room for another group of fds: let ipc_get claim the
		 * pending ones first (a burst of MSG_CONN_FD would otherwise
		 * fail the channel).  Linux ends a stream recvmsg at an
		 * fd-carrying message, so each call brings at most one group.
		 */
		if (c->c_nfds == IPC_FDS_PENDING)
			break;
		if (ipc_rbuf_prepare(c) == -1)
			return -1;
		/* Full: a whole frame waits for ipc_get. */
		if (c->c_rlen == c->c_rcap)
			break;
		memset(&msg, 0, sizeof(msg));
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		iov.iov_base = c->c_rbuf + c->c_rlen;
		iov.iov_len = c->c_rcap - c->c_rlen;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		/* A pipe carries bytes only: no control to take. */
		if (c->c_pipes)
			n = read(c->c_fd, iov.iov_base, iov.iov_len);
		else
			n = recvmsg(c->c_fd, &msg, MSG_CMSG_CLOEXEC |
			    MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return ipc_fail(c, "read error", errno);
		}
		/* An fd with no data byte cannot happen on a stream; be safe. */
		if (!c->c_pipes && ipc_take_fds(c, &msg, n) == -1)
			return -1;
		if (n == 0) {
			if (total > 0 || ipc_frame_ready(c))
				return 1;
			if (c->c_rlen > c->c_rpos)
				return ipc_fail(c, "truncated frame at end of file",
				    EPROTO);
			if (c->c_nfds > 0)
				return ipc_fail(c, "fd without a frame", EPROTO);
			return 0;
		}
		c->c_rlen += n;
		total += n;
		/*
		 * Less than asked for: the socket is most likely empty.  Do
		 * not pay a recvmsg for its EAGAIN; level-triggered epoll
		 * calls again if more is there (as after a chunk that ended
		 * at an fd-carrying sendmsg).
		 */
		if ((size_t)n < iov.iov_len) {
			/* A frame's header is judged as soon as it is in. */
			if (ipc_rbuf_prepare(c) == -1)
				return -1;
			break;
		}
	}
	return 1;
}

/* An fd whose chunk lies wholly before pos can no longer be claimed. */
static int
ipc_fds_stale(const struct ipc_chan *c, uint64_t pos)
{
	return c->c_nfds > 0 && c->c_fds[0].pf_end <= pos;
}

int
ipc_get(struct ipc_chan *c, struct ipc_msg *m)
{
	const struct ipc_type	*t;
	struct ipc_pfd		*g;
	uint32_t		 hdr[3], want;
	uint64_t		 start;
	size_t			 avail, cap;
	unsigned char		*nb;
	const char		*why;
	int			 fds[IPC_MAX_FDS], nfds = 0, i;

	m->m_nfds = 0;
	m->m_fd = -1;
	m->m_data = NULL;
	m->m_chan = c;
	m->m_type = m->m_id = m->m_len = 0;
	m->m_off = 0;
	if (c->c_err != NULL) {
		errno = EPROTO;
		return -1;
	}
	/* The previous payload is released now: wipe it. */
	if (c->c_mfull != NULL) {
		ipc_wipe_free(c->c_mfull, c->c_mfcap);
		c->c_mfull = NULL;
		c->c_mfcap = 0;
	} else if (c->c_mbuf != NULL)
		explicit_bzero(c->c_mbuf, c->c_mlen);
	c->c_mlen = 0;

	start = c->c_rabs + c->c_rpos;
	if (ipc_fds_stale(c, start))
		return ipc_fail(c, "fd on a message that carries none", EPROTO);
	/*
	 * ipc_read stops reading while the fd table is full; if no complete
	 * frame is here to claim one, nothing ever will: the peer sent fds
	 * without their frames.
	 */
	if (!ipc_frame_ready(c)) {
		if (c->c_nfds == IPC_FDS_PENDING)
			return ipc_fail(c, "too many fds pending", EPROTO);
		return 0;
	}
	avail = c->c_rlen - c->c_rpos;
	memcpy(hdr, c->c_rbuf + c->c_rpos, sizeof(hdr));
	if ((why = ipc_hdr_check(hdr[0], hdr[2], c->c_peer, c->c_self)) !=
	    NULL)
		return ipc_fail_type(c, why, hdr[0]);
	if (avail - IPC_HDR_LEN < hdr[2])
		return 0;
	t = ipc_type_find(hdr[0]);

	if (t->t_flags & (IPC_F_FD | IPC_F_FDS | IPC_F_PIPES)) {
		/* How many this frame carries: one, two, or what it says. */
		want = (t->t_flags & IPC_F_PIPES) ? 2 : 1;
		if (t->t_flags & IPC_F_FDS) {
			memcpy(&want, c->c_rbuf + c->c_rpos + IPC_HDR_LEN,
			    sizeof(want));
			if (want < 1 || want > IPC_MAX_FDS)
				return ipc_fail_type(c, "fd count out of range",
				    hdr[0]);
		}
		g = &c->c_fds[0];
		if (c->c_nfds == 0 || g->pf_start > start)
			return ipc_fail_type(c, "message without its fd",
			    hdr[0]);
		/* Exactly the fds of one sendmsg: none more, none fewer. */
		if ((uint32_t)g->pf_n != want)
			return ipc_fail_type(c, "wrong number of fds", hdr[0]);
		nfds = g->pf_n;
		memcpy(fds, g->pf_fds, nfds * sizeof(int));
		c->c_nfds--;
		memmove(&c->c_fds[0], &c->c_fds[1],
		    c->c_nfds * sizeof(c->c_fds[0]));
		for (i = 0; i < nfds; i++)
			if (ipc_fd_check(fds[i], t->t_flags, i) == -1) {
				ipc_close_fds(fds, nfds);
				return ipc_fail_type(c, "fd of the wrong kind",
				    hdr[0]);
			}
	}
	if (ipc_fds_stale(c, start + IPC_HDR_LEN + hdr[2])) {
		ipc_close_fds(fds, nfds);
		return ipc_fail(c, "fd on a message that carries none", EPROTO);
	}

	/*
	 * A large frame fills a read buffer sized for it alone: that buffer
	 * becomes the message's, and the next ipc_read starts a new one.
	 * A 1 MiB answer is then neither copied here nor wiped twice (the
	 * consumed bytes in ipc_rbuf_prepare, the big buffer given back).
	 */
	if (c->c_rpos == 0 && c->c_rlen == IPC_HDR_LEN + (size_t)hdr[2] &&
	    c->c_rlen > IPC_RBUF_MIN) {
		c->c_mfull = c->c_rbuf;
		c->c_mfcap = c->c_rcap;
		c->c_mlen = hdr[2];
		c->c_rbuf = NULL;
		c->c_rabs += c->c_rlen;
		c->c_rcap = c->c_rlen = 0;
		m->m_data = c->c_mfull + IPC_HDR_LEN;
		goto out;
	}
	/* Copy out so that ipc_read may move its buffer meanwhile. */
	if (c->c_mcap < hdr[2] || c->c_mbuf == NULL) {
		if ((nb = ipc_mbuf_new(hdr[2] > 0 ? hdr[2] : 1, &cap)) ==
		    NULL) {
			ipc_close_fds(fds, nfds);
			return ipc_fail(c, "out of memory", ENOMEM);
		}
		ipc_kept_free(c->c_mbuf, c->c_mcap);
		c->c_mbuf = nb;
		c->c_mcap = cap;
	}
	memcpy(c->c_mbuf, c->c_rbuf + c->c_rpos + IPC_HDR_LEN, hdr[2]);
	c->c_mlen = hdr[2];
	c->c_rpos += IPC_HDR_LEN + hdr[2];
	m->m_data = c->c_mbuf;
out:
	m->m_type = hdr[0];
	m->m_id = hdr[1];
	m->m_len = hdr[2];
	memcpy(m->m_fds, fds, nfds * sizeof(int));
	m->m_nfds = nfds;
	m->m_fd = nfds > 0 ? fds[0] : -1;
	m->m_off = 0;
	return 1;
}

int
ipc_send(struct ipc_chan *c, uint32_t type, uint32_t id, const void *data,
    size_t len, int fd)
{
	int	 dup;

	if (fd == -1)
		return ipc_send_fds(c, type, id, data, len, NULL, 0);
	/* Refused before duplicating: nothing to undo. */
	if (c->c_err != NULL || ipc_type_max_fds(type) == 0) {
		errno = c->c_err != NULL ? EPIPE : EINVAL;
		return -1;
	}
	if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	return ipc_send_fds(c, type, id, data, len, &dup, 1);
}

/*
 * Queue one frame whose payload is the pieces of iov end to end, copied
 * once into the queue entry (an encoder may leave a large part, a body,
 * where it already is), except iov[given] (-1: none), which is sent from
 * where it lies and then released.  The fds, and the given piece, are ours
 * from here on.
 */
static int
ipc_queue(struct ipc_chan *c, uint32_t type, uint32_t id,
    const struct iovec *iov, int niov, const int *fds, int nfds, int given,
    ipc_release_fn release, void *arg)
{
	struct ipc_out	*o = NULL;
	uint32_t	 hdr[3], count = nfds;
	struct iovec	 one;
	unsigned char	*dst;
	size_t		 len = 0, reflen = 0, refat = 0;
	int		 max = ipc_type_max_fds(type), err, i;

	if (nfds < 0 || (nfds > 0 && fds == NULL) || niov < 0 ||
	    (niov > 0 && iov == NULL) || (given != -1 && (release == NULL ||
	    given < 0 || given >= niov || max > 0))) {
		err = EINVAL;
		goto fail;
	}
	if (c->c_err != NULL) {
		err = EPIPE;
		goto fail;
	}
	for (i = 0; i < niov; i++) {
		/* MSG_CONN_FD's payload is the count, written here. */
		if (max == IPC_MAX_FDS && iov[i].iov_len != 0) {
			err = EINVAL;
			goto fail;
		}
		if (iov[i].iov_len > IPC_MAX_PAYLOAD - len) {
			err = EMSGSIZE;
			goto fail;
		}
		if (iov[i].iov_len > 0 && iov[i].iov_base == NULL) {
			err = EINVAL;
			goto fail;
		}
		if (i == given) {
			refat = IPC_HDR_LEN + len;
			reflen = iov[i].iov_len;
		}
		len += iov[i].iov_len;
	}
	if (max == IPC_MAX_FDS) {
		one.iov_base = &count;
		one.iov_len = len = sizeof(count);
		iov = &one;
		niov = 1;
	}
	/* A pipe channel carries no fds; a pair of pipes goes whole. */
	if (ipc_hdr_check(type, len, c->c_self, c->c_peer) != NULL ||
	    nfds > max || (max > 0 && nfds == 0) || (max == 2 && nfds != 2) ||
	    (c->c_pipes && nfds > 0)) {
		err = EINVAL;
		goto fail;
	}
	/*
	 * A peer that stops reading must not grow us without bound.  The
	 * queue entry counts too: 12-byte frames (MSG_PONG) cost far more in
	 * entries than in bytes.
	 */
	if (c->c_outbytes + sizeof(*o) + IPC_HDR_LEN + len > IPC_MAX_QUEUE) {
		err = ENOBUFS;
		goto fail;
	}
	/* One block: the frame (but a given piece) follows its entry. */
	if ((o = ipc_out_new(sizeof(*o) + IPC_HDR_LEN + len - reflen)) == NULL) {
		err = ENOMEM;
		goto fail;
	}
	o->o_len = IPC_HDR_LEN + len;
	o->o_off = 0;
	o->o_nfds = nfds;
	if (nfds > 0)
		memcpy(o->o_fds, fds, nfds * sizeof(int));
	o->o_ref = NULL;
	o->o_reflen = reflen;
	o->o_refat = refat;
	o->o_release = NULL;
	o->o_relarg = arg;
	if (given != -1) {
		o->o_ref = iov[given].iov_base;
		o->o_release = release;
	}
	hdr[0] = type;
	hdr[1] = id;
	hdr[2] = len;
	memcpy(o->o_data, hdr, sizeof(hdr));
	dst = o->o_data + IPC_HDR_LEN;
	for (i = 0; i < niov; i++) {
		if (i == given)
			continue;
		if (iov[i].iov_len > 0)
			memcpy(dst, iov[i].iov_base, iov[i].iov_len);
		dst += iov[i].iov_len;
	}
	TAILQ_INSERT_TAIL(&c->c_outq, o, o_entry);
	c->c_outbytes += sizeof(*o) + o->o_len;
	c->c_nout++;
	return 0;
 fail:
	/* The fds were given to us: refused, they are closed. */
	if (fds != NULL && nfds > 0)
		ipc_close_fds(fds, nfds);
	/* And a given piece goes back to its owner's release. */
	if (given >= 0 && given < niov && iov != NULL && release != NULL)
		release(iov[given].iov_base, iov[given].iov_len, arg);
	errno = err;
	return -1;
}

int
ipc_send_fds(struct ipc_chan *c, uint32_t type, uint32_t id, const void *data,
    size_t len, const int *fds, int nfds)
{
	struct iovec	 iov;

	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = len;
	return ipc_queue(c, type, id, &iov, 1, fds, nfds, -1, NULL, NULL);
}

int
ipc_sendv(struct ipc_chan *c, uint32_t type, uint32_t id,
    const struct iovec *iov, int niov)
{
	return ipc_queue(c, type, id, iov, niov, NULL, 0, -1, NULL, NULL);
}

int
ipc_sendv_given(struct ipc_chan *c, uint32_t type, uint32_t id,
    const struct iovec *iov, int niov, int given, ipc_release_fn release,
    void *arg)
{
	/* Nothing given away: a caller's mistake (ipc_sendv is for that). */
	if (given == -1) {
		errno = EINVAL;
		return -1;
	}
	return ipc_queue(c, type, id, iov, niov, NULL, 0, given, release,
	    arg);
}

int
ipc_flush(struct ipc_chan *c)
{
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
	} cmsgbuf;
	struct iovec	 iov[IPC_IOV_MAX];
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct ipc_out	*o, *head;
	ssize_t		 n;
	size_t		 left;
	int		 niov;

	if (c->c_err != NULL) {
		errno = EPIPE;
		return -1;
	}
	while ((head = TAILQ_FIRST(&c->c_outq)) != NULL) {
		/*
		 * One sendmsg covers the head and the frames after it up to
		 * the next one with fds, so that a frame's fds always start
		 * the bytes they are sent with.
		 */
		niov = 0;
		TAILQ_FOREACH(o, &c->c_outq, o_entry) {
			/* Room for a frame's three pieces. */
			if (niov > IPC_IOV_MAX - 3 ||
			    (o != head && o->o_nfds > 0))
				break;
			niov += ipc_out_iov(o, iov + niov);
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = niov;
		if (head->o_nfds > 0) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = CMSG_SPACE(head->o_nfds *
			    sizeof(int));
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(head->o_nfds * sizeof(int));
			memcpy(CMSG_DATA(cm), head->o_fds,
			    head->o_nfds * sizeof(int));
		}
		/*
		 * Frames without fds go with writev: a process that never
		 * passes fds (a worker) needs no sendmsg in its filter.  The
		 * socket is non-blocking, and every process ignores SIGPIPE.
		 */
		if (head->o_nfds > 0)
			n = sendmsg(c->c_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = writev(c->c_wfd, iov, niov);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return ipc_fail(c, "write error", errno);
		}
		/* If sendmsg sent anything, the fds went with it. */
		if (n > 0 && head->o_nfds > 0) {
			ipc_close_fds(head->o_fds, head->o_nfds);
			head->o_nfds = 0;
		}
		left = n;
		while (left > 0 && (o = TAILQ_FIRST(&c->c_outq)) != NULL) {
			if (left < o->o_len - o->o_off) {
				o->o_off += left;
				break;
			}
			left -= o->o_len - o->o_off;
			c->c_outbytes -= sizeof(*o) + o->o_len;
			c->c_nout--;
			TAILQ_REMOVE(&c->c_outq, o, o_entry);
			ipc_out_free(o);
		}
	}
	return 1;
}

/* Payload building. */

void
ipc_buf_init(struct ipc_buf *b)
{
	memset(b, 0, sizeof(*b));
}

/*
 * Only the first b_len bytes were ever written (a payload grows by
 * appending, and a rollback wipes what it takes back): the rest of the
 * block, up to 1 KiB of it for a short payload, needs no wipe.
 */
void
ipc_buf_clear(struct ipc_buf *b)
{
	ipc_buf_drop(b->b_data, b->b_len, b->b_cap);
	memset(b, 0, sizeof(*b));
}

/* The block grown for len more bytes (room, below, found it short). */
static int
ipc_buf_grow(struct ipc_buf *b, size_t len)
{
	unsigned char	*nb;
	size_t		 cap;

	cap = b->b_cap > 0 ? b->b_cap : IPC_BUF_FIRST;
	while (cap - b->b_len < len)
		cap *= 2;
	/* A kept first block was wiped when it was kept. */
	if ((cap != IPC_BUF_FIRST ||
	    (nb = spare_take(&ipc_bufs, NULL)) == NULL) &&
	    (nb = malloc(cap)) == NULL)
		return -1;
	if (b->b_len > 0)
		memcpy(nb, b->b_data, b->b_len);
	ipc_buf_drop(b->b_data, b->b_len, b->b_cap);
	b->b_data = nb;
	b->b_cap = cap;
	return 0;
}

/* Room for len more bytes at b_data + b_len. */
static int
ipc_buf_room(struct ipc_buf *b, size_t len)
{
	/* A payload never grows past what one frame may carry. */
	if (len > IPC_MAX_PAYLOAD - b->b_len) {
		errno = EMSGSIZE;
		return -1;
	}
	if (b->b_cap - b->b_len < len)
		return ipc_buf_grow(b, len);
	return 0;
}

static int
ipc_buf_add(struct ipc_buf *b, const void *p, size_t len)
{
	if (ipc_buf_room(b, len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->b_data + b->b_len, p, len);
	b->b_len += len;
	return 0;
}

/*
 * A number where there is room is a store, not a call: a plan or an
 * answer is a few dozen of them.
 */
int
ipc_put_u32(struct ipc_buf *b, uint32_t v)
{
	if (b->b_cap - b->b_len >= sizeof(v) &&
	    IPC_MAX_PAYLOAD - b->b_len >= sizeof(v)) {
		memcpy(b->b_data + b->b_len, &v, sizeof(v));
		b->b_len += sizeof(v);
		return 0;
	}
	return ipc_buf_add(b, &v, sizeof(v));
}

int
ipc_put_u64(struct ipc_buf *b, uint64_t v)
{
	if (b->b_cap - b->b_len >= sizeof(v) &&
	    IPC_MAX_PAYLOAD - b->b_len >= sizeof(v)) {
		memcpy(b->b_data + b->b_len, &v, sizeof(v));
		b->b_len += sizeof(v);
		return 0;
	}
	return ipc_buf_add(b, &v, sizeof(v));
}

int
ipc_put_bytes(struct ipc_buf *b, const void *p, size_t len)
{
	uint32_t	 n = (uint32_t)len;

	if (len > IPC_MAX_PAYLOAD || (len > 0 && p == NULL)) {
		errno = EMSGSIZE;
		return -1;
	}
	/* Room for the length and the bytes first: all or nothing. */
	if (ipc_buf_room(b, sizeof(n) + len) == -1)
		return -1;
	memcpy(b->b_data + b->b_len, &n, sizeof(n));
	if (len > 0)
		memcpy(b->b_data + b->b_len + sizeof(n), p, len);
	b->b_len += sizeof(n) + len;
	return 0;
}

int
ipc_put_raw(struct ipc_buf *b, const void *p, size_t len)
{
	if (len > 0 && p == NULL) {
		errno = EINVAL;
		return -1;
	}
	return ipc_buf_add(b, p, len);
}

int
ipc_put_str(struct ipc_buf *b, const char *s)
{
	if (s == NULL) {
		errno = EINVAL;
		return -1;
	}
	return ipc_put_bytes(b, s, strlen(s));
}

/* Checked decoding: a failed get leaves the cursor where it was. */

int
ipc_get_u32(struct ipc_msg *m, uint32_t *v)
{
	if (m->m_off > m->m_len || m->m_len - m->m_off < sizeof(*v)) {
		errno = EBADMSG;
		return -1;
	}
	memcpy(v, m->m_data + m->m_off, sizeof(*v));
	m->m_off += sizeof(*v);
	return 0;
}

int
ipc_get_u64(struct ipc_msg *m, uint64_t *v)
{
	if (m->m_off > m->m_len || m->m_len - m->m_off < sizeof(*v)) {
		errno = EBADMSG;
		return -1;
	}
	memcpy(v, m->m_data + m->m_off, sizeof(*v));
	m->m_off += sizeof(*v);
	return 0;
}

int
ipc_get_bytes(struct ipc_msg *m, const void **p, size_t *lenp)
{
	size_t		 off = m->m_off;
	uint32_t	 n;

	if (ipc_get_u32(m, &n) == -1)
		return -1;
	if (m->m_len - m->m_off < n) {
		m->m_off = off;
		errno = EBADMSG;
		return -1;
	}
	*p = m->m_data + m->m_off;
	*lenp = n;
	m->m_off += n;
	return 0;
}

int
ipc_get_str(struct ipc_msg *m, char **sp)
{
	const void	*p;
	size_t		 len, off = m->m_off;
	char		*s;

	*sp = NULL;
	if (ipc_get_bytes(m, &p, &len) == -1)
		return -1;
	/* A NUL inside would make the C string say less than was sent. */
	if (memchr(p, '\0', len) != NULL) {
		m->m_off = off;
		errno = EBADMSG;
		return -1;
	}
	if ((s = malloc(len + 1)) == NULL) {
		m->m_off = off;
		return -1;
	}
	memcpy(s, p, len);
	s[len] = '\0';
	*sp = s;
	return 0;
}

int
ipc_get_end(const struct ipc_msg *m)
{
	if (m->m_off != m->m_len) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* The small catalogue messages. */

int
ipc_encode_log(struct ipc_buf *b, int prio, const char *line)
{
	ipc_buf_init(b);
	if (prio < 0 || prio > LOG_DEBUG) {
		errno = EINVAL;
		return -1;
	}
	return ipc_put_u32(b, prio) == -1 || ipc_put_str(b, line) == -1 ?
	    -1 : 0;
}

int
ipc_send_log(struct ipc_chan *c, int prio, const char *line)
{
	struct ipc_buf	 b;
	int		 rv = -1;

	if (ipc_encode_log(&b, prio, line) == -1)
		goto out;
	rv = ipc_send(c, MSG_LOG, 0, b.b_data, b.b_len, -1);
 out:
	ipc_buf_clear(&b);
	return rv;
}

int
ipc_decode_log(struct ipc_msg *m, int *prio, char **line)
{
	uint32_t	 p;

	*line = NULL;
	if (m->m_type != MSG_LOG || ipc_get_u32(m, &p) == -1 ||
	    p > LOG_DEBUG || ipc_get_str(m, line) == -1)
		goto bad;
	if (ipc_get_end(m) == -1)
		goto bad;
	*prio = p;
	return 0;
 bad:
	free(*line);
	*line = NULL;
	errno = EBADMSG;
	return -1;
}

int
ipc_encode_u32(struct ipc_buf *b, uint32_t v)
{
	ipc_buf_init(b);
	return ipc_put_u32(b, v);
}

int
ipc_encode_u64(struct ipc_buf *b, uint64_t v)
{
	ipc_buf_init(b);
	return ipc_put_u64(b, v);
}

int
ipc_decode_slot(struct ipc_msg *m, uint32_t *slot)
{
	if (ipc_get_u32(m, slot) == -1 || ipc_get_end(m) == -1 ||
	    *slot >= IPC_MAX_SLOTS) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
ipc_encode_conn_done(struct ipc_buf *b, const uint32_t *seqs, uint32_t n)
{
	uint32_t	 i;

	ipc_buf_init(b);
	if (n == 0 || n > IPC_DONE_MAX || ipc_put_u32(b, n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (ipc_put_u32(b, seqs[i]) == -1)
			return -1;
	return 0;
}

int
ipc_decode_metrics_fd(struct ipc_msg *m, const void **text, size_t *lenp)
{
	if (ipc_get_bytes(m, text, lenp) == -1 || ipc_get_end(m) == -1) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
ipc_decode_conn_done(struct ipc_msg *m, uint32_t *seqs, uint32_t *n)
{
	uint32_t	 i;

	/* The count first: nothing is read past what it allows. */
	if (ipc_get_u32(m, n) == -1 || *n == 0 || *n > IPC_DONE_MAX ||
	    m->m_len != sizeof(uint32_t) * (1 + (size_t)*n))
		goto bad;
	for (i = 0; i < *n; i++)
		if (ipc_get_u32(m, &seqs[i]) == -1)
			goto bad;
	if (ipc_get_end(m) == -1)
		goto bad;
	return 0;
 bad:
	errno = EBADMSG;
	return -1;
}

int
ipc_decode_gen(struct ipc_msg *m, uint64_t *gen)
{
	if (ipc_get_u64(m, gen) == -1 || ipc_get_end(m) == -1 || *gen == 0) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* A name the parent logs or looks up: short, printable, no spaces. */
static int
ipc_name_ok(const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == max || s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return i > 0;
}

int
ipc_decode_secrets(struct ipc_msg *m, char **tenant)
{
	*tenant = NULL;
	if (ipc_get_str(m, tenant) == -1 || ipc_get_end(m) == -1 ||
	    !ipc_name_ok(*tenant, 255)) {
		free(*tenant);
		*tenant = NULL;
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
ipc_encode_published(struct ipc_buf *b, const struct ipc_published *p)
{
	ipc_buf_init(b);
	if (ipc_put_u64(b, p->ip_build) == -1 ||
	    ipc_put_u32(b, p->ip_state) == -1 ||
	    ipc_put_u32(b, p->ip_changed) == -1 ||
	    ipc_put_u32(b, p->ip_files) == -1 ||
	    ipc_put_u32(b, p->ip_reused) == -1 ||
	    ipc_put_u32(b, p->ip_warnings) == -1 ||
	    ipc_put_str(b, p->ip_commit != NULL ? p->ip_commit : "") == -1 ||
	    ipc_put_str(b, p->ip_code != NULL ? p->ip_code : "") == -1 ||
	    ipc_put_str(b, p->ip_message != NULL ? p->ip_message : "") == -1 ||
	    ipc_put_str(b, p->ip_generation != NULL ? p->ip_generation :
	    "") == -1)
		return -1;
	return 0;
}

void
ipc_published_clear(struct ipc_published *p)
{
	free(p->ip_commit);
	free(p->ip_code);
	free(p->ip_message);
	free(p->ip_generation);
	memset(p, 0, sizeof(*p));
}

/* Printable ASCII or UTF-8, no control byte: it goes into the log. */
static int
ipc_text_ok(const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == max || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
ipc_decode_published(struct ipc_msg *m, struct ipc_published *p)
{
	size_t	 i;

	memset(p, 0, sizeof(*p));
	if (ipc_get_u64(m, &p->ip_build) == -1 ||
	    ipc_get_u32(m, &p->ip_state) == -1 ||
	    ipc_get_u32(m, &p->ip_changed) == -1 ||
	    ipc_get_u32(m, &p->ip_files) == -1 ||
	    ipc_get_u32(m, &p->ip_reused) == -1 ||
	    ipc_get_u32(m, &p->ip_warnings) == -1 ||
	    ipc_get_str(m, &p->ip_commit) == -1 ||
	    ipc_get_str(m, &p->ip_code) == -1 ||
	    ipc_get_str(m, &p->ip_message) == -1 ||
	    ipc_get_str(m, &p->ip_generation) == -1 ||
	    ipc_get_end(m) == -1)
		goto bad;
	/* States 0-3 (publish.h); a commit is hex; names are plain. */
	if (p->ip_state > 3 || p->ip_changed > 1 ||
	    strlen(p->ip_commit) > 40 || !ipc_text_ok(p->ip_message, 1024) ||
	    (p->ip_code[0] != '\0' && !ipc_name_ok(p->ip_code, 64)) ||
	    (p->ip_generation[0] != '\0' &&
	    !ipc_name_ok(p->ip_generation, 63)))
		goto bad;
	for (i = 0; p->ip_commit[i] != '\0'; i++)
		if (!isxdigit((unsigned char)p->ip_commit[i]))
			goto bad;
	return 0;
 bad:
	ipc_published_clear(p);
	errno = EBADMSG;
	return -1;
}

int
ipc_encode_access(struct ipc_buf *b, const struct ipc_access *a)
{
	const char *const strs[] = { a->ia_reqid, a->ia_peer, a->ia_tenant,
	    a->ia_method, a->ia_target, a->ia_connector, a->ia_cache,
	    a->ia_error, a->ia_trace };
	size_t	 i;

	ipc_buf_init(b);
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (ipc_put_str(b, strs[i] != NULL ? strs[i] : "") == -1)
			return -1;
	if (ipc_put_u32(b, a->ia_status) == -1 ||
	    ipc_put_u32(b, a->ia_upstream) == -1 ||
	    ipc_put_u64(b, a->ia_total_us) == -1 ||
	    ipc_put_u64(b, a->ia_external_us) == -1)
		return -1;
	return 0;
}

void
ipc_access_clear(struct ipc_access *a)
{
	free(a->ia_reqid);
	free(a->ia_peer);
	free(a->ia_tenant);
	free(a->ia_method);
	free(a->ia_target);
	free(a->ia_connector);
	free(a->ia_cache);
	free(a->ia_error);
	free(a->ia_trace);
	memset(a, 0, sizeof(*a));
}

int
ipc_decode_access(struct ipc_msg *m, struct ipc_access *a)
{
	char	**const strs[] = { &a->ia_reqid, &a->ia_peer, &a->ia_tenant,
	    &a->ia_method, &a->ia_target, &a->ia_connector, &a->ia_cache,
	    &a->ia_error, &a->ia_trace };
	size_t	 i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (ipc_get_str(m, strs[i]) == -1 || strlen(*strs[i]) > 1024)
			goto bad;
	if (ipc_get_u32(m, &a->ia_status) == -1 ||
	    ipc_get_u32(m, &a->ia_upstream) == -1 ||
	    ipc_get_u64(m, &a->ia_total_us) == -1 ||
	    ipc_get_u64(m, &a->ia_external_us) == -1 ||
	    ipc_get_end(m) == -1 || a->ia_status > 999 || a->ia_upstream > 999)
		goto bad;
	return 0;
 bad:
	ipc_access_clear(a);
	errno = EBADMSG;
	return -1;
}

int
ipc_encode_stats(struct ipc_buf *b, const struct ipc_stats *st)
{
	const struct ipc_stat_row	*r;
	uint32_t			 i, j;

	ipc_buf_init(b);
	if (ipc_put_u32(b, st->is_nrows) == -1)
		return -1;
	for (i = 0; i < st->is_nrows; i++) {
		r = &st->is_rows[i];
		if (ipc_put_str(b, r->sr_tenant) == -1 ||
		    ipc_put_str(b, r->sr_permalink) == -1 ||
		    ipc_put_u32(b, r->sr_composite) == -1 ||
		    ipc_put_u64(b, r->sr_calls) == -1 ||
		    ipc_put_u64(b, r->sr_errors) == -1 ||
		    ipc_put_u64(b, r->sr_upstream_errors) == -1)
			return -1;
		for (j = 0; j < IPC_CACHE_NCOUNTS; j++)
			if (ipc_put_u64(b, r->sr_cache[j]) == -1)
				return -1;
		if (ipc_put_u32(b, r->sr_ncodes) == -1)
			return -1;
		for (j = 0; j < r->sr_ncodes; j++)
			if (ipc_put_u32(b, r->sr_codes[j].sc_status) == -1 ||
			    ipc_put_u64(b, r->sr_codes[j].sc_count) == -1)
				return -1;
	}
	for (j = 0; j < IPC_CACHE_NTOTALS; j++)
		if (ipc_put_u64(b, st->is_cache[j]) == -1)
			return -1;
	return 0;
}

void
ipc_stats_clear(struct ipc_stats *st)
{
	uint32_t	 i;

	for (i = 0; i < st->is_nrows; i++) {
		free(st->is_rows[i].sr_tenant);
		free(st->is_rows[i].sr_permalink);
		free(st->is_rows[i].sr_codes);
	}
	free(st->is_rows);
	memset(st, 0, sizeof(*st));
}

int
ipc_decode_stats(struct ipc_msg *m, struct ipc_stats *st)
{
	struct ipc_stat_row	*r;
	uint32_t		 n, i, j;

	memset(st, 0, sizeof(*st));
	/* Counts are checked against what the payload can hold. */
	if (ipc_get_u32(m, &n) == -1 || n > IPC_STATS_MAX_ROWS ||
	    n > (m->m_len - m->m_off) / (40 + 8 * IPC_CACHE_NCOUNTS))
		goto bad;
	if (n > 0 && (st->is_rows = calloc(n, sizeof(*r))) == NULL)
		goto bad;
	for (i = 0; i < n; i++) {
		r = &st->is_rows[i];
		st->is_nrows++;
		if (ipc_get_str(m, &r->sr_tenant) == -1 ||
		    ipc_get_str(m, &r->sr_permalink) == -1 ||
		    !ipc_name_ok(r->sr_tenant, 255) ||
		    !ipc_name_ok(r->sr_permalink, 255) ||
		    ipc_get_u32(m, &r->sr_composite) == -1 ||
		    r->sr_composite > 1 ||
		    ipc_get_u64(m, &r->sr_calls) == -1 ||
		    ipc_get_u64(m, &r->sr_errors) == -1 ||
		    ipc_get_u64(m, &r->sr_upstream_errors) == -1)
			goto bad;
		for (j = 0; j < IPC_CACHE_NCOUNTS; j++)
			if (ipc_get_u64(m, &r->sr_cache[j]) == -1)
				goto bad;
		if (ipc_get_u32(m, &r->sr_ncodes) == -1 ||
		    r->sr_ncodes > IPC_STATS_MAX_CODES)
			goto bad;
		if (r->sr_ncodes > 0 && (r->sr_codes = calloc(r->sr_ncodes,
		    sizeof(*r->sr_codes))) == NULL)
			goto bad;
		for (j = 0; j < r->sr_ncodes; j++)
			if (ipc_get_u32(m, &r->sr_codes[j].sc_status) == -1 ||
			    r->sr_codes[j].sc_status > 999 ||
			    ipc_get_u64(m, &r->sr_codes[j].sc_count) == -1)
				goto bad;
	}
	for (j = 0; j < IPC_CACHE_NTOTALS; j++)
		if (ipc_get_u64(m, &st->is_cache[j]) == -1)
			goto bad;
	if (ipc_get_end(m) == -1)
		goto bad;
	return 0;
 bad:
	ipc_stats_clear(st);
	errno = EBADMSG;
	return -1;
}
