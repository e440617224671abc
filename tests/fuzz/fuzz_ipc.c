/*
 * fuzz_ipc — a channel reading arbitrary bytes from a hostile peer.
 *
 * The input is the byte stream one end of a socketpair receives.  It is
 * read three times: all at once and in pseudo-random pieces (the first
 * input byte seeds the split) from a socketpair, and in the same pieces
 * from a pipe, as a worker and its keeper talk.  All three runs must take
 * the same frames and end the same way: a channel's verdict may never
 * depend on how the stream was split or on what carried it.  Every frame taken goes through the catalogue's decoders, which
 * must either succeed within the payload or refuse.
 *
 * An input whose first byte is 0xfd is read as fd hand-offs
 * instead: records of one spec byte (low 6 bits: how many fds, top 2: their
 * kind — TCP socket, AF_UNIX stream socket, pipe, sealed memfd), a 16-bit
 * length and that many bytes, each record one sendmsg carrying its fds.
 * Every frame taken must carry as many fds as its type allows, each of the
 * kind it promises and close-on-exec; and once the channel is freed no fd
 * may be left open that was not open before.  tests/fuzz/replay.c or
 * libFuzzer supplies main().
 */
#include "build.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "plan.h"

#define FUZZ_MAX_INPUT	(64 * 1024)	/* fits a socketpair's buffer */

struct fuzz_outcome {
	uint64_t	 fo_digest;	/* over every frame taken */
	int		 fo_frames;
	const char	*fo_error;	/* NULL: clean end of file */
	char		 fo_errbuf[256];	/* fo_error outlives the channel */
};

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint64_t
fuzz_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*c = p;

	while (n-- > 0)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

/* Decode a frame as its receiver would; the decoders must stay in bounds. */
static void
fuzz_decode(struct ipc_msg *m)
{
	const void	*p;
	size_t		 len;
	uint32_t	 v;
	uint64_t	 v64;
	char		*s;
	int		 prio;

	if (m->m_nfds != 0 || m->m_len > IPC_MAX_PAYLOAD)
		abort();
	switch (m->m_type) {
	case MSG_LOG:
		if (ipc_decode_log(m, &prio, &s) == 0) {
			if (prio < 0 || prio > 7 || strlen(s) > m->m_len)
				abort();
			free(s);
		}
		break;
	case MSG_SECRETS:
		if (ipc_decode_secrets(m, &s) == 0) {
			if (s[0] == '\0')
				abort();
			free(s);
		}
		break;
	case MSG_GEN:
	case MSG_SNAPSHOT_DONE:
		if (ipc_decode_gen(m, &v64) == 0 && v64 == 0)
			abort();
		break;
	case MSG_WORKER_EVICT:
		if (ipc_decode_slot(m, &v) == 0 && v >= IPC_MAX_SLOTS)
			abort();
		break;
	case MSG_CONN_DONE: {
		uint32_t	 seqs[IPC_DONE_MAX];

		if (ipc_decode_conn_done(m, seqs, &v) == 0 && (v == 0 ||
		    v > IPC_DONE_MAX || m->m_len != 4 * (v + 1)))
			abort();
		break;
	}
	case MSG_ACCESS: {
		struct ipc_access	 a;

		if (ipc_decode_access(m, &a) == 0)
			ipc_access_clear(&a);
		break;
	}
	case MSG_PUBLISHED: {
		struct ipc_published	 pb;

		/* What a hostile publisher can make the parent log. */
		if (ipc_decode_published(m, &pb) == 0) {
			if (pb.ip_state > 3 || strlen(pb.ip_commit) > 40 ||
			    strlen(pb.ip_message) > 1024)
				abort();
			ipc_published_clear(&pb);
		}
		break;
	}
	case MSG_STATS: {
		struct ipc_stats	 st;

		if (ipc_decode_stats(m, &st) == 0)
			ipc_stats_clear(&st);
		break;
	}
	case MSG_CALL: {
		struct plan	 pl;
		const char	*why;

		/* The keeper's view of a hostile worker's plan. */
		if (plan_decode(m, &pl, &why) == 0)
			plan_clear(&pl);
		break;
	}
	case MSG_RESULT: {
		struct result	 rs;
		const char	*why;

		if (result_decode(m, &rs, &why) == 0)
			result_clear(&rs);
		break;
	}
	case MSG_FAIL: {
		struct fail	 fl;
		const char	*why;

		if (fail_decode(m, &fl, &why) == 0)
			fail_clear(&fl);
		break;
	}
	default:
		/* A generic walk: fields until one refuses. */
		while (ipc_get_u32(m, &v) == 0 &&
		    ipc_get_u64(m, &v64) == 0 &&
		    ipc_get_bytes(m, &p, &len) == 0) {
			if ((const unsigned char *)p + len >
			    m->m_data + m->m_len)
				abort();
			if (ipc_get_str(m, &s) == 0)
				free(s);
		}
		if (m->m_off > m->m_len)
			abort();
		break;
	}
}

static void
fuzz_run(const uint8_t *data, size_t size, uint32_t seed, int pipes,
    struct fuzz_outcome *fo)
{
	struct ipc_chan	*c;
	struct ipc_msg	 m;
	size_t		 pos = 0, step;
	int		 sv[2], out[2], r = 1, g;

	memset(fo, 0, sizeof(*fo));
	fo->fo_digest = 0xcbf29ce484222325ULL;
	if (pipes) {
		/* sv as a socketpair would be: [0] read here, [1] the peer. */
		if (pipe2(sv, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
			abort();
		close(out[0]);		/* nothing is sent back */
		c = ipc_chan_new_pipes(sv[0], out[1], IPC_ANY, IPC_ANY);
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
			abort();
		c = ipc_chan_new(sv[0], IPC_ANY, IPC_ANY);
	}
	if (c == NULL)
		abort();
	for (;;) {
		if (pos < size) {
			step = size - pos;
			if (seed != 0) {
				seed ^= seed << 13;
				seed ^= seed >> 17;
				seed ^= seed << 5;
				step = 1 + seed % (step < 64 ? step : 64);
			}
			if (write(sv[1], data + pos, step) != (ssize_t)step)
				abort();
			pos += step;
		}
		/* All written: the peer hangs up, as a dying child would. */
		if (pos == size && sv[1] != -1) {
			close(sv[1]);
			sv[1] = -1;
		}
		if ((r = ipc_read(c)) == -1)
			break;
		while ((g = ipc_get(c, &m)) == 1) {
			fo->fo_frames++;
			fo->fo_digest = fuzz_hash(fo->fo_digest, &m.m_type, 4);
			fo->fo_digest = fuzz_hash(fo->fo_digest, &m.m_id, 4);
			fo->fo_digest = fuzz_hash(fo->fo_digest, m.m_data,
			    m.m_len);
			fuzz_decode(&m);
		}
		if (g == -1) {
			r = -1;
			break;
		}
		if (r == 0)
			break;
	}
	if (r == -1) {
		if (ipc_chan_error(c) == NULL)
			abort();
		/* The channel's own text goes with it: keep a copy. */
		snprintf(fo->fo_errbuf, sizeof(fo->fo_errbuf), "%s",
		    ipc_chan_error(c));
		fo->fo_error = fo->fo_errbuf;
	}
	/* A clean end of file leaves nothing half-read. */
	if (r == 0 && fo->fo_error != NULL)
		abort();
	ipc_chan_free(c);
	if (sv[1] != -1)
		close(sv[1]);
}

/* One fd of each kind, made once and duplicated for every hand-off. */
static int	fuzz_kinds[4] = { -1, -1, -1, -1 };

static void
fuzz_kinds_init(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 l, c, sv[2], p[2];

	if (fuzz_kinds[0] != -1)
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &sl) == -1 ||
	    (c = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (fuzz_kinds[0] = accept(l, NULL, NULL)) == -1)
		abort();
	close(l);
	close(c);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 || pipe(p) == -1)
		abort();
	fuzz_kinds[1] = sv[0];
	close(sv[1]);
	fuzz_kinds[2] = p[0];
	close(p[1]);
	if ((fuzz_kinds[3] = memfd_create("fuzz", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1 ||
	    write(fuzz_kinds[3], "x", 1) != 1 ||
	    fcntl(fuzz_kinds[3], F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_WRITE) == -1)
		abort();
}

static int
fuzz_open_fds(void)
{
	int	 fd, n = 0;

	for (fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* The fds a frame brought: as many as its type allows, of its kind. */
static void
fuzz_check_fds(struct ipc_msg *m)
{
	struct stat	 st;
	int		 i, v, max = ipc_type_max_fds(m->m_type);
	socklen_t	 sl;

	if (m->m_nfds < 0 || m->m_nfds > max || (max > 0 && m->m_nfds < 1) ||
	    m->m_fd != (m->m_nfds > 0 ? m->m_fds[0] : -1))
		abort();
	for (i = 0; i < m->m_nfds; i++) {
		if (!(fcntl(m->m_fds[i], F_GETFD) & FD_CLOEXEC) ||
		    fstat(m->m_fds[i], &st) == -1)
			abort();
		sl = sizeof(v);
		switch (m->m_type) {
		case MSG_CONN_FD:
			if (getsockopt(m->m_fds[i], SOL_SOCKET, SO_PROTOCOL,
			    &v, &sl) == -1 || v != IPPROTO_TCP)
				abort();
			break;
		case MSG_SNAPSHOT:
			if (!S_ISREG(st.st_mode))
				abort();
			break;
		default:
			if (getsockopt(m->m_fds[i], SOL_SOCKET, SO_DOMAIN,
			    &v, &sl) == -1 || v != AF_UNIX)
				abort();
			break;
		}
		close(m->m_fds[i]);
	}
}

/* Read and take what has arrived; -1 once the channel failed. */
static int
fuzz_drain(struct ipc_chan *c, int *eof)
{
	struct ipc_msg	 m;
	int		 r, g;

	if ((r = ipc_read(c)) == -1)
		return -1;
	while ((g = ipc_get(c, &m)) == 1)
		fuzz_check_fds(&m);
	if (g == -1)
		return -1;
	if (r == 0)
		*eof = 1;
	return 0;
}

static void
fuzz_run_fds(const uint8_t *data, size_t size)
{
	struct ipc_chan	*c;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE(63 * sizeof(int))];
	} cb;
	size_t		 pos = 0, len;
	int		 sv[2], fds[63], n, kind, i, before, eof = 0, tries;

	fuzz_kinds_init();
	before = fuzz_open_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if ((c = ipc_chan_new(sv[0], IPC_ANY, IPC_ANY)) == NULL)
		abort();
	while (pos + 3 <= size) {
		n = data[pos] & 0x3f;
		kind = data[pos] >> 6;
		len = data[pos + 1] | (size_t)data[pos + 2] << 8;
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		/* A stream carries no fd without a byte. */
		if (len == 0)
			n = 0;
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = (void *)(data + pos);
		iov.iov_len = len;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		for (i = 0; i < n; i++)
			if ((fds[i] = dup(fuzz_kinds[kind])) == -1)
				abort();
		if (n > 0) {
			memset(&cb, 0, sizeof(cb));
			msg.msg_control = cb.buf;
			msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(n * sizeof(int));
			memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
		}
		/* A full socket or too many fds in flight: stop sending. */
		if (len > 0 && sendmsg(sv[1], &msg, MSG_DONTWAIT |
		    MSG_NOSIGNAL) != (ssize_t)len) {
			for (i = 0; i < n; i++)
				close(fds[i]);
			break;
		}
		for (i = 0; i < n; i++)
			close(fds[i]);
		pos += len;
		if (fuzz_drain(c, &eof) == -1) {
			if (ipc_chan_error(c) == NULL)
				abort();
			goto out;
		}
	}
	close(sv[1]);
	sv[1] = -1;
	for (tries = 0; tries < 1000 && !eof; tries++)
		if (fuzz_drain(c, &eof) == -1) {
			if (ipc_chan_error(c) == NULL)
				abort();
			break;
		}
 out:
	ipc_chan_free(c);
	if (sv[1] != -1)
		close(sv[1]);
	/* Taken, refused or never claimed: every fd received is closed. */
	if (fuzz_open_fds() != before)
		abort();
}

/* The same frames, and both failed for the same reason or both ended. */
static void
fuzz_same(const struct fuzz_outcome *a, const struct fuzz_outcome *b)
{
	if (a->fo_frames != b->fo_frames || a->fo_digest != b->fo_digest)
		abort();
	if ((a->fo_error == NULL) != (b->fo_error == NULL) ||
	    (a->fo_error != NULL && strcmp(a->fo_error, b->fo_error) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_outcome	 whole, pieces, piped;
	uint32_t		 seed;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	if (data[0] == 0xfd) {
		fuzz_run_fds(data + 1, size - 1);
		return 0;
	}
	seed = data[0] | 1;
	fuzz_run(data + 1, size - 1, 0, 0, &whole);
	fuzz_run(data + 1, size - 1, seed, 0, &pieces);
	fuzz_run(data + 1, size - 1, seed, 1, &piped);
	fuzz_same(&whole, &pieces);
	fuzz_same(&whole, &piped);
	return 0;
}
