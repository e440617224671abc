/*
 * check_ipc.c — frames, payload fields and fd passing, and every way a
 * hostile peer can break them: each violation must fail the channel, close
 * the fds it brought, and never allocate what the header claims.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include "check_main.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND	0
#endif

#include "idmap.h"
#include "ipc.h"
#include "oom.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN	1
#endif
#endif
#ifdef TEST_ASAN
/* From the ASan runtime (gcc ships no header for it). */
size_t	__sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes the allocator has handed out (ASan's allocator replaces glibc's). */
static size_t
heap_in_use(void)
{
#ifdef TEST_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2	 mi = mallinfo2();

	return mi.arena + mi.hblkhd;
#endif
}

static int
fd_count(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the DIR's own fd */
}

/* A channel on sv[0]; *raw is the peer end for hand-made bytes. */
static struct ipc_chan *
chan_pair(int *raw)
{
	struct ipc_chan	*c;
	int		 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Roles that allow every direction: these tests are about framing. */
	c = ipc_chan_new(sv[0], IPC_ANY, IPC_ANY);
	ck_assert_ptr_nonnull(c);
	*raw = sv[1];
	return c;
}

/* Two channels talking to each other. */
static void
chan_two(struct ipc_chan **a, struct ipc_chan **b)
{
	int	 raw;

	*a = chan_pair(&raw);
	*b = ipc_chan_new(raw, IPC_ANY, IPC_ANY);
	ck_assert_ptr_nonnull(*b);
}

/* Flush a, read b until a frame arrives: the usual event-loop dance. */
static int
chan_next(struct ipc_chan *a, struct ipc_chan *b, struct ipc_msg *m)
{
	struct pollfd	 pfd;
	int		 r, i;

	for (i = 0; i < 100000; i++) {
		if ((r = ipc_get(b, m)) != 0)
			return r;
		if (a != NULL && ipc_pending(a))
			ck_assert_int_ge(ipc_flush(a), 0);
		pfd.fd = ipc_chan_fd(b);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, a != NULL && ipc_pending(a) ? 0 : 5000) == 0 &&
		    (a == NULL || !ipc_pending(a)))
			return 0;
		if ((r = ipc_read(b)) <= 0)
			return r;
	}
	return 0;
}

/* Raw sendmsg with n fds attached. */
static void
raw_send(int s, const void *p, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE((IPC_MAX_FDS + 2) * sizeof(int))];
	} cb;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;

	memset(&msg, 0, sizeof(msg));
	memset(&cb, 0, sizeof(cb));
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cb.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(s, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

static void
raw_hdr(unsigned char *p, uint32_t type, uint32_t id, uint32_t len)
{
	uint32_t	 h[3] = { type, id, len };

	memcpy(p, h, sizeof(h));
}

/* A MSG_CONN_FD frame stating n fds (its whole payload is the count). */
static void
raw_conn_fd(unsigned char *p, uint32_t id, uint32_t n)
{
	raw_hdr(p, MSG_CONN_FD, id, sizeof(n));
	memcpy(p + IPC_HDR_LEN, &n, sizeof(n));
}

/* A connected TCP pair on loopback; returns the accepted end. */
static int
tcp_pair(int *client)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 l, c, a;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	ck_assert_int_ge(c = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_ge(a = accept(l, NULL, NULL), 0);
	close(l);
	*client = c;
	return a;
}

/* Read the raw bytes in and expect a violation from ipc_read or ipc_get. */
static const char *
expect_violation(struct ipc_chan *c)
{
	struct ipc_msg	 m;
	int		 r, i;

	for (i = 0; i < 1000; i++) {
		r = ipc_read(c);
		if (r == -1)
			break;
		ck_assert_int_ne(r, 0);
		while ((r = ipc_get(c, &m)) == 1) {
			if (m.m_fd != -1)
				close(m.m_fd);
		}
		if (r == -1)
			break;
	}
	ck_assert_int_eq(r, -1);
	ck_assert_ptr_nonnull(ipc_chan_error(c));
	/* Failed for good. */
	ck_assert_int_eq(ipc_read(c), -1);
	ck_assert_int_eq(ipc_get(c, &m), -1);
	return ipc_chan_error(c);
}

START_TEST(test_type_names)
{
	static const uint32_t all[] = { MSG_CONN_FD, MSG_KEEPER_FD,
	    MSG_SNAPSHOT, MSG_SHUTDOWN, MSG_WORKER_FD, MSG_SECRETS,
	    MSG_STATS_REQ, MSG_PING, MSG_CALL, MSG_GEN, MSG_PONG, MSG_RESULT,
	    MSG_FAIL, MSG_LOG, MSG_CONN_DONE, MSG_READY, MSG_WORKER_EVICT,
	    MSG_SNAPSHOT_DONE, MSG_STATS, MSG_ACCESS, MSG_SECRETS_DONE,
	    MSG_PUBLISH, MSG_PUBLISHED };
	size_t	 i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		ck_assert_int_eq(ipc_type_known(all[i]), 1);
		ck_assert_int_eq(strncmp(ipc_type_name(all[i]), "MSG_", 4), 0);
	}
	ck_assert_str_eq(ipc_type_name(MSG_LOG), "MSG_LOG");
	ck_assert_str_eq(ipc_type_name(12345), "unknown");
	ck_assert_int_eq(ipc_type_known(12345), 0);
	ck_assert_int_eq(ipc_type_has_fd(MSG_CONN_FD), 1);
	ck_assert_int_eq(ipc_type_has_fd(MSG_KEEPER_FD), 1);
	ck_assert_int_eq(ipc_type_has_fd(MSG_WORKER_FD), 1);
	ck_assert_int_eq(ipc_type_has_fd(MSG_PING), 0);
	ck_assert_int_eq(ipc_type_has_fd(MSG_LOG), 0);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	struct ipc_buf	 buf;
	const void	*p;
	size_t		 len;
	uint32_t	 v;
	uint64_t	 v64;
	char		*s;
	int		 prio, base = fd_count();
	static const unsigned char bin[] = { 'a', 0, 'b', 0xff, 0 };

	chan_two(&a, &b);
	ipc_buf_init(&buf);
	ck_assert_int_eq(ipc_put_u32(&buf, 200), 0);
	ck_assert_int_eq(ipc_put_u64(&buf, 0x0102030405060708ULL), 0);
	ck_assert_int_eq(ipc_put_bytes(&buf, bin, sizeof(bin)), 0);
	ck_assert_int_eq(ipc_put_str(&buf, "hello"), 0);
	ck_assert_int_eq(ipc_put_str(&buf, ""), 0);
	ck_assert_int_eq(ipc_send(a, MSG_RESULT, 77, buf.b_data, buf.b_len,
	    -1), 0);
	ipc_buf_clear(&buf);
	ck_assert_ptr_null(buf.b_data);
	ck_assert_int_eq(ipc_send(a, MSG_PING, 5, NULL, 0, -1), 0);
	ck_assert_int_eq(ipc_send_log(a, LOG_WARNING, "disk on fire"), 0);
	ipc_buf_init(&buf);
	ck_assert_int_eq(ipc_put_str(&buf, "acme"), 0);
	ck_assert_int_eq(ipc_send(a, MSG_SECRETS, 0, buf.b_data, buf.b_len,
	    -1), 0);
	ipc_buf_clear(&buf);
	ck_assert_int_eq(ipc_pending(a), 4);
	ck_assert_int_eq(ipc_flush(a), 1);
	ck_assert_int_eq(ipc_pending(a), 0);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_RESULT);
	ck_assert_uint_eq(m.m_id, 77);
	ck_assert_int_eq(m.m_fd, -1);
	ck_assert_int_eq(ipc_get_u32(&m, &v), 0);
	ck_assert_uint_eq(v, 200);
	ck_assert_int_eq(ipc_get_u64(&m, &v64), 0);
	ck_assert(v64 == 0x0102030405060708ULL);
	ck_assert_int_eq(ipc_get_bytes(&m, &p, &len), 0);
	ck_assert_uint_eq(len, sizeof(bin));
	ck_assert_int_eq(memcmp(p, bin, len), 0);
	ck_assert_int_ne(ipc_get_end(&m), 0);
	ck_assert_int_eq(ipc_get_str(&m, &s), 0);
	ck_assert_str_eq(s, "hello");
	free(s);
	ck_assert_int_eq(ipc_get_str(&m, &s), 0);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_int_eq(ipc_get_end(&m), 0);
	/* Nothing left: every getter refuses to overrun. */
	ck_assert_int_eq(ipc_get_u32(&m, &v), -1);
	ck_assert_int_eq(ipc_get_bytes(&m, &p, &len), -1);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_PING);
	ck_assert_uint_eq(m.m_id, 5);
	ck_assert_uint_eq(m.m_len, 0);
	ck_assert_int_eq(ipc_get_end(&m), 0);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_int_eq(ipc_decode_log(&m, &prio, &s), 0);
	ck_assert_int_eq(prio, LOG_WARNING);
	ck_assert_str_eq(s, "disk on fire");
	free(s);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_int_eq(ipc_decode_secrets(&m, &s), 0);
	ck_assert_str_eq(s, "acme");
	free(s);

	/* Clean EOF at a frame boundary is 0, not an error. */
	ipc_chan_free(a);
	ck_assert_int_eq(ipc_read(b), 0);
	ck_assert_ptr_null(ipc_chan_error(b));
	ipc_chan_free(b);
	ck_assert_int_eq(fd_count(), base);
}
END_TEST

/* The codecs of the parent's reports, as oom_roundtrip takes them. */
static int
enc_stats(struct ipc_buf *b, const void *in)
{
	return ipc_encode_stats(b, in);
}

static int
dec_stats(struct ipc_msg *m, void *out)
{
	return ipc_decode_stats(m, out);
}

static int
enc_access(struct ipc_buf *b, const void *in)
{
	return ipc_encode_access(b, in);
}

static int
dec_access(struct ipc_msg *m, void *out)
{
	return ipc_decode_access(m, out);
}

static int
enc_published(struct ipc_buf *b, const void *in)
{
	return ipc_encode_published(b, in);
}

static int
dec_published(struct ipc_msg *m, void *out)
{
	return ipc_decode_published(m, out);
}

/*
 * MSG_STATS, MSG_ACCESS and MSG_PUBLISHED encoded and decoded with each
 * allocation failing in turn (tests/oom.h): every failure reported, and
 * nothing left behind for valgrind and ASan to find.
 */
START_TEST(test_oom)
{
	struct ipc_stat_code	 codes[2] = { { 200, 5 }, { 502, 1 } };
	struct ipc_stat_row	 rows[2] = {
		{ "acme", "weather", 0, 6, 1, 1, { 1, 5, 0, 0, 0 }, codes, 2 },
		{ "acme", "dash", 1, 2, 0, 0, { 0 }, codes, 1 },
	};
	struct ipc_stats	 st = { rows, 2, { 3, 4, 5, 6, 7 } }, sto;
	struct ipc_access	 ac = { "r-1", "127.0.0.1", "acme", "GET",
	    "/widget-service/connectors/weather/execute", "weather", "miss",
	    "", "", 200, 200, 1500, 900 }, aco;
	struct ipc_published	 pu = { 3, 1, 1, 4, 2, 0,
	    "0123456789abcdef0123456789abcdef01234567", "", "built",
	    "g-3" }, puo;
	struct ipc_buf		 b;

	oom_roundtrip(enc_stats, dec_stats, MSG_STATS, &st, &b, &sto);
	ck_assert_uint_eq(sto.is_nrows, 2);
	ck_assert_str_eq(sto.is_rows[1].sr_permalink, "dash");
	ck_assert_uint_eq(sto.is_rows[0].sr_codes[1].sc_status, 502);
	ipc_stats_clear(&sto);
	oom_roundtrip(enc_access, dec_access, MSG_ACCESS, &ac, &b, &aco);
	ck_assert_str_eq(aco.ia_target, ac.ia_target);
	ipc_access_clear(&aco);
	oom_roundtrip(enc_published, dec_published, MSG_PUBLISHED, &pu, &b,
	    &puo);
	ck_assert_str_eq(puo.ip_generation, "g-3");
	ipc_published_clear(&puo);
}
END_TEST

/* Decoders refuse short fields, overruns, embedded NULs, trailing bytes. */
START_TEST(test_decode_errors)
{
	struct ipc_msg	 m;
	struct ipc_buf	 buf;
	unsigned char	 d[64];
	uint32_t	 v, n;
	const void	*p;
	size_t		 len;
	char		*s = (char *)1;
	int		 prio;

	memset(&m, 0, sizeof(m));
	m.m_data = d;
	m.m_type = MSG_LOG;

	/* 3 bytes are not a u32. */
	m.m_len = 3;
	ck_assert_int_eq(ipc_get_u32(&m, &v), -1);
	ck_assert_uint_eq(m.m_off, 0);

	/* A byte string whose length runs past the payload. */
	n = 1000;
	memcpy(d, &n, 4);
	memcpy(d + 4, "abcd", 4);
	m.m_len = 8;
	ck_assert_int_eq(ipc_get_bytes(&m, &p, &len), -1);
	ck_assert_uint_eq(m.m_off, 0);		/* cursor unchanged */
	n = 0xffffffff;
	memcpy(d, &n, 4);
	ck_assert_int_eq(ipc_get_bytes(&m, &p, &len), -1);

	/* A string with an embedded NUL. */
	n = 4;
	memcpy(d, &n, 4);
	memcpy(d + 4, "ab\0d", 4);
	ck_assert_int_eq(ipc_get_str(&m, &s), -1);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(m.m_off, 0);
	memcpy(d + 4, "abcd", 4);
	ck_assert_int_eq(ipc_get_str(&m, &s), 0);
	ck_assert_str_eq(s, "abcd");
	free(s);

	/* MSG_LOG: empty, bad priority, trailing bytes. */
	m.m_off = 0;
	m.m_len = 0;
	ck_assert_int_eq(ipc_decode_log(&m, &prio, &s), -1);
	ipc_buf_init(&buf);
	ck_assert_int_eq(ipc_put_u32(&buf, 99), 0);
	ck_assert_int_eq(ipc_put_str(&buf, "x"), 0);
	m.m_data = buf.b_data;
	m.m_len = buf.b_len;
	m.m_off = 0;
	ck_assert_int_eq(ipc_decode_log(&m, &prio, &s), -1);
	ck_assert_ptr_null(s);
	ipc_buf_clear(&buf);
	ck_assert_int_eq(ipc_put_u32(&buf, LOG_INFO), 0);
	ck_assert_int_eq(ipc_put_str(&buf, "x"), 0);
	ck_assert_int_eq(ipc_put_u32(&buf, 0), 0);
	m.m_data = buf.b_data;
	m.m_len = buf.b_len;
	m.m_off = 0;
	ck_assert_int_eq(ipc_decode_log(&m, &prio, &s), -1);
	ck_assert_ptr_null(s);
	/* The wrong type for the decoder. */
	m.m_type = MSG_SECRETS;
	m.m_off = 0;
	ck_assert_int_eq(ipc_decode_log(&m, &prio, &s), -1);
	ipc_buf_clear(&buf);

	/* A payload never grows past one frame. */
	ck_assert_int_eq(ipc_put_bytes(&buf, d, (size_t)IPC_MAX_PAYLOAD + 1),
	    -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(buf.b_len, 0);
	ipc_buf_clear(&buf);

	/*
	 * Its length fits but not its bytes: room for both is looked for
	 * first, and neither is written, so that nothing past b_len was ever
	 * written and a clear need wipe no more than b_len.  (d is not read.)
	 */
	ipc_buf_init(&buf);
	ck_assert_int_eq(ipc_put_u64(&buf, UINT64_MAX), 0);
	ck_assert_int_eq(ipc_put_bytes(&buf, d, (size_t)IPC_MAX_PAYLOAD - 2),
	    -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(buf.b_len, 8);
	ipc_buf_clear(&buf);
}
END_TEST

/* The sender refuses what the receiver would reject. */
START_TEST(test_send_refuses)
{
	struct ipc_chan	*a;
	int		 raw, p[2], base = fd_count();
	char		 c = 'x';

	a = chan_pair(&raw);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(ipc_send(a, 12345, 0, NULL, 0, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ipc_send(a, MSG_PING, 0, NULL, 0, p[0]), -1);
	ck_assert_int_eq(ipc_send(a, MSG_CONN_FD, 0, NULL, 0, -1), -1);
	ck_assert_int_eq(ipc_send(a, MSG_PING, 0, &c, 1, -1), -1);
	ck_assert_int_eq(ipc_send(a, MSG_LOG, 0, NULL, 0, -1), -1);
	ck_assert_int_eq(ipc_send(a, MSG_CALL, 0, &c,
	    (size_t)IPC_MAX_PAYLOAD + 1, -1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(ipc_send_log(a, 8, "x"), -1);
	ck_assert_int_eq(ipc_pending(a), 0);
	close(p[0]);
	close(p[1]);
	close(raw);
	ipc_chan_free(a);
	ck_assert_int_eq(fd_count(), base);
}
END_TEST

/*
 * A frame sent in pieces (ipc_sendv) arrives as one payload, their bytes
 * end to end; pieces that are too large together, a piece with length and
 * no bytes, or pieces for a type that carries fds are refused before
 * anything is queued.
 */
START_TEST(test_sendv)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	struct iovec	 iov[4];
	char		 x = 'x';

	chan_two(&a, &b);
	iov[0].iov_base = "head";
	iov[0].iov_len = 4;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	iov[2].iov_base = "\0body\0";
	iov[2].iov_len = 6;
	iov[3].iov_base = "tail";
	iov[3].iov_len = 4;
	ck_assert_int_eq(ipc_sendv(a, MSG_CALL, 7, iov, 4), 0);
	ck_assert_int_eq(ipc_sendv(a, MSG_CALL, 8, NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);	/* MSG_CALL needs a payload */
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_id, 7);
	ck_assert_uint_eq(m.m_len, 14);
	ck_assert_int_eq(memcmp(m.m_data, "head\0body\0tail", 14), 0);

	/* Refusals: none of them reads the bytes it was pointed at. */
	iov[0].iov_base = &x;
	iov[0].iov_len = IPC_MAX_PAYLOAD / 2 + 1;
	iov[1].iov_base = &x;
	iov[1].iov_len = IPC_MAX_PAYLOAD / 2;
	ck_assert_int_eq(ipc_sendv(a, MSG_CALL, 9, iov, 2), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	iov[0].iov_len = 1;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 1;
	ck_assert_int_eq(ipc_sendv(a, MSG_CALL, 10, iov, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ipc_sendv(a, MSG_CONN_FD, 11, iov, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ipc_sendv(a, MSG_CALL, 12, iov, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ipc_pending(a), 0);
	ipc_chan_free(a);
	ipc_chan_free(b);
}
END_TEST

/* One frame dribbled in byte by byte: complete only at the last byte. */
START_TEST(test_split_frame)
{
	struct ipc_chan	*c;
	struct ipc_msg	 m;
	unsigned char	 f[IPC_HDR_LEN + 8];
	uint32_t	 v;
	size_t		 i;
	int		 raw;

	c = chan_pair(&raw);
	raw_hdr(f, MSG_CALL, 9, 8);
	memcpy(f + IPC_HDR_LEN, "\x01\0\0\0\x02\0\0\0", 8);
	for (i = 0; i < sizeof(f); i++) {
		ck_assert_int_eq(ipc_get(c, &m), 0);
		ck_assert_int_eq(write(raw, f + i, 1), 1);
		ck_assert_int_eq(ipc_read(c), 1);
	}
	ck_assert_int_eq(ipc_get(c, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_CALL);
	ck_assert_uint_eq(m.m_id, 9);
	ck_assert_int_eq(ipc_get_u32(&m, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(ipc_get_u32(&m, &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(ipc_get_end(&m), 0);
	ck_assert_int_eq(ipc_get(c, &m), 0);
	/* Nothing pending is not an error: EAGAIN reads as progress. */
	ck_assert_int_eq(ipc_read(c), 1);
	close(raw);
	ipc_chan_free(c);
}
END_TEST

/* A frame taken stays intact while ipc_read moves the read buffer. */
START_TEST(test_msg_survives_read)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m, m2;
	unsigned char	*big;
	size_t		 bigsz = 1024 * 1024;

	chan_two(&a, &b);
	ck_assert_ptr_nonnull(big = malloc(bigsz));
	memset(big, 'B', bigsz);
	ck_assert_int_eq(ipc_send_log(a, 3, "first"), 0);
	ck_assert_int_eq(ipc_flush(a), 1);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_LOG);
	/* A big frame arrives: the read buffer grows and compacts. */
	ck_assert_int_eq(ipc_send(a, MSG_CALL, 2, big, bigsz, -1), 0);
	while (ipc_pending(a)) {
		ck_assert_int_ge(ipc_flush(a), 0);
		ck_assert_int_eq(ipc_read(b), 1);
	}
	ck_assert_int_eq(ipc_read(b), 1);
	ck_assert_uint_eq(m.m_len, 4 + 4 + 5);
	ck_assert_int_eq(memcmp(m.m_data + 8, "first", 5), 0);
	ck_assert_int_eq(chan_next(a, b, &m2), 1);
	ck_assert_uint_eq(m2.m_len, bigsz);
	ck_assert_int_eq(memcmp(m2.m_data, big, bigsz), 0);
	free(big);
	ipc_chan_free(a);
	ipc_chan_free(b);
}
END_TEST

/*
 * A frame larger than the read buffer kept between frames is handed over
 * in the buffer it was read into: the channel holds it once, not twice
 * (read buffer and a copy), and gives it back at the next ipc_get.
 */
START_TEST(test_large_handover)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	unsigned char	*big;
	size_t		 bigsz = 1024 * 1024 + 3, small = 256 * 1024, j;
	int		 round;

	chan_two(&a, &b);
	ck_assert_ptr_nonnull(big = malloc(bigsz));
	for (j = 0; j < bigsz; j++)
		big[j] = (unsigned char)(j * 13 + 1);
	for (round = 0; round < 2; round++) {
		ck_assert_int_eq(ipc_send_log(a, 3, "before"), 0);
		ck_assert_int_eq(ipc_send(a, MSG_CALL, 7, big, bigsz, -1), 0);
		ck_assert_int_eq(ipc_send_log(a, 4, "after"), 0);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_type, MSG_LOG);
		ck_assert_int_eq(memcmp(m.m_data + 8, "before", 6), 0);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_type, MSG_CALL);
		ck_assert_uint_eq(m.m_id, 7);
		ck_assert_uint_eq(m.m_len, bigsz);
		ck_assert_int_eq(memcmp(m.m_data, big, bigsz), 0);
		/* Once: no copy beside the buffer it was read into. */
		ck_assert_uint_lt(ipc_held(b), bigsz + small);
		/* Reading on leaves it alone. */
		ck_assert_int_eq(ipc_read(b), 1);
		ck_assert_int_eq(memcmp(m.m_data, big, bigsz), 0);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_type, MSG_LOG);
		ck_assert_int_eq(memcmp(m.m_data + 8, "after", 5), 0);
		/* Given back: a small frame later, nothing large is held. */
		ck_assert_uint_lt(ipc_held(b), small);
	}
	ck_assert_int_eq(ipc_get(b, &m), 0);
	free(big);
	ipc_chan_free(a);
	ipc_chan_free(b);
}
END_TEST

/* What a release saw. */
struct released {
	int		 r_calls;
	const void	*r_base;
	size_t		 r_len;
};

static void
count_release(const void *base, size_t len, void *arg)
{
	struct released	*r = arg;

	r->r_calls++;
	r->r_base = base;
	r->r_len = len;
}

/*
 * A piece given away is written from where it lies, between the copied
 * pieces, across partial writes, and released exactly once: once it is
 * written, when the channel is freed with it queued, at once when the
 * frame is refused.
 */
START_TEST(test_sendv_given)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	struct released	 rel;
	struct iovec	 iov[3];
	unsigned char	*big;
	size_t		 bigsz = 3 * 1024 * 1024 + 7, j;
	int		 round;

	chan_two(&a, &b);
	ck_assert_ptr_nonnull(big = malloc(bigsz));
	for (j = 0; j < bigsz; j++)
		big[j] = (unsigned char)(j * 11 + 5);
	iov[0].iov_base = "head:";
	iov[0].iov_len = 5;
	iov[2].iov_base = ":tail";
	iov[2].iov_len = 5;
	for (round = 0; round < 2; round++) {
		memset(&rel, 0, sizeof(rel));
		/* Larger than the socket's buffer: written in pieces. */
		iov[1].iov_base = big;
		iov[1].iov_len = round == 0 ? bigsz : 100;
		ck_assert_int_eq(ipc_send_log(a, 3, "before"), 0);
		ck_assert_int_eq(ipc_sendv_given(a, MSG_CALL, 9, iov, 3, 1,
		    count_release, &rel), 0);
		ck_assert_int_eq(ipc_send_log(a, 4, "after"), 0);
		/* Queued, not copied: the queue holds the copied pieces. */
		ck_assert_int_eq(rel.r_calls, 0);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_type, MSG_LOG);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_type, MSG_CALL);
		ck_assert_uint_eq(m.m_id, 9);
		ck_assert_uint_eq(m.m_len, 10 + iov[1].iov_len);
		ck_assert_int_eq(memcmp(m.m_data, "head:", 5), 0);
		ck_assert_int_eq(memcmp(m.m_data + 5, big, iov[1].iov_len),
		    0);
		ck_assert_int_eq(memcmp(m.m_data + 5 + iov[1].iov_len,
		    ":tail", 5), 0);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_type, MSG_LOG);
		ck_assert_int_eq(memcmp(m.m_data + 8, "after", 5), 0);
		ck_assert_int_eq(rel.r_calls, 1);
		ck_assert_ptr_eq(rel.r_base, big);
		ck_assert_uint_eq(rel.r_len, iov[1].iov_len);
	}

	/* Queued when the channel goes: released with it. */
	memset(&rel, 0, sizeof(rel));
	iov[1].iov_len = bigsz;
	ck_assert_int_eq(ipc_sendv_given(a, MSG_CALL, 10, iov, 3, 1,
	    count_release, &rel), 0);
	ck_assert_int_eq(ipc_flush(a), 0);
	ck_assert_int_eq(rel.r_calls, 0);
	ipc_chan_free(a);
	ck_assert_int_eq(rel.r_calls, 1);
	ipc_chan_free(b);

	/* Refused: released before the call returns, nothing queued. */
	chan_two(&a, &b);
	memset(&rel, 0, sizeof(rel));
	ck_assert_int_eq(ipc_sendv_given(a, 0xdead, 1, iov, 3, 1,
	    count_release, &rel), -1);
	ck_assert_int_eq(rel.r_calls, 1);
	ck_assert_int_eq(ipc_sendv_given(a, MSG_CALL, 1, iov, 3, 3,
	    count_release, &rel), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ipc_sendv_given(a, MSG_CALL, 1, iov, 3, -1,
	    count_release, &rel), -1);
	ck_assert_int_eq(rel.r_calls, 1);
	iov[1].iov_len = IPC_MAX_PAYLOAD;
	ck_assert_int_eq(ipc_sendv_given(a, MSG_CALL, 1, iov, 3, 1,
	    count_release, &rel), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(rel.r_calls, 2);
	ck_assert_int_eq(ipc_pending(a), 0);
	free(big);
	ipc_chan_free(a);
	ipc_chan_free(b);
}
END_TEST

/* Frames larger than a socket buffer, around the maximum. */
START_TEST(test_large_frames)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	unsigned char	*big;
	size_t		 sizes[] = { 1, 65536, 1024 * 1024 + 3, IPC_MAX_PAYLOAD };
	size_t		 i, j;

	chan_two(&a, &b);
	ck_assert_ptr_nonnull(big = malloc(IPC_MAX_PAYLOAD));
	for (j = 0; j < IPC_MAX_PAYLOAD; j++)
		big[j] = (unsigned char)(j * 7 + 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		ck_assert_int_eq(ipc_send(a, MSG_CALL, i, big, sizes[i], -1),
		    0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_id, i);
		ck_assert_uint_eq(m.m_len, sizes[i]);
		ck_assert_int_eq(memcmp(m.m_data, big, sizes[i]), 0);
	}
	ck_assert_int_eq(ipc_pending(a), 0);
	free(big);
	ipc_chan_free(a);
	ipc_chan_free(b);
}
END_TEST

START_TEST(test_fd_passing)
{
	struct ipc_chan		*a, *b;
	struct ipc_msg		 m;
	struct sockaddr_in	 s1, s2;
	socklen_t		 sl;
	struct stat		 st;
	int			 acc, cli, pa[2], pb[2], two[2], fl, base;
	uint32_t		 slot;
	char			 ch;

	base = fd_count();
	chan_two(&a, &b);
	acc = tcp_pair(&cli);
	/* A worker-keeper channel's pipes: pa one way, pb the other. */
	ck_assert_int_eq(pipe(pa), 0);
	ck_assert_int_eq(pipe(pb), 0);

	/* fds between ordinary frames, batched into one flush. */
	ck_assert_int_eq(ipc_send(a, MSG_PING, 1, NULL, 0, -1), 0);
	ck_assert_int_eq(ipc_send(a, MSG_CONN_FD, 2, NULL, 0, acc), 0);
	ck_assert_int_eq(ipc_send(a, MSG_PING, 3, NULL, 0, -1), 0);
	/* One to read from, then one to write to. */
	two[0] = pa[0];
	two[1] = pb[1];
	ck_assert_int_eq(ipc_send_fds(a, MSG_KEEPER_FD, 4, NULL, 0, two, 2),
	    0);
	ck_assert_int_eq(ipc_send(a, MSG_CONN_FD, 5, NULL, 0, acc), 0);
	/* ipc_send duplicated acc: ours can go at once (pa[0] and pb[1]
	 * went to the channel with ipc_send_fds). */
	close(acc);
	ck_assert_int_eq(ipc_flush(a), 1);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_id, 1);
	ck_assert_int_eq(m.m_fd, -1);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_CONN_FD);
	ck_assert_uint_eq(m.m_id, 2);
	ck_assert_int_ge(m.m_fd, 0);
	ck_assert_int_eq(fstat(m.m_fd, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	fl = fcntl(m.m_fd, F_GETFD);
	ck_assert(fl & FD_CLOEXEC);
	/* It is the accepted end of our connection. */
	sl = sizeof(s1);
	ck_assert_int_eq(getpeername(m.m_fd, (struct sockaddr *)&s1, &sl), 0);
	sl = sizeof(s2);
	ck_assert_int_eq(getsockname(cli, (struct sockaddr *)&s2, &sl), 0);
	ck_assert_uint_eq(s1.sin_port, s2.sin_port);
	ck_assert_int_eq(write(m.m_fd, "z", 1), 1);
	ck_assert_int_eq(read(cli, &ch, 1), 1);
	ck_assert_int_eq(ch, 'z');
	close(m.m_fd);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_id, 3);
	ck_assert_int_eq(m.m_fd, -1);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_KEEPER_FD);
	ck_assert_int_eq(m.m_nfds, 2);
	ck_assert(fcntl(m.m_fds[0], F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(m.m_fds[1], F_GETFD) & FD_CLOEXEC);
	/* The same pipes: read what pa's other end wrote, write to pb's. */
	ck_assert_int_eq(write(pa[1], "k", 1), 1);
	ck_assert_int_eq(read(m.m_fds[0], &ch, 1), 1);
	ck_assert_int_eq(ch, 'k');
	ck_assert_int_eq(write(m.m_fds[1], "w", 1), 1);
	ck_assert_int_eq(read(pb[0], &ch, 1), 1);
	ck_assert_int_eq(ch, 'w');
	close(m.m_fds[0]);
	close(m.m_fds[1]);

	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_id, 5);
	ck_assert_int_ge(m.m_fd, 0);
	close(m.m_fd);

	/* The keeper's end of a worker channel, with the worker's slot. */
	slot = 3;
	two[0] = pb[0];
	two[1] = pa[1];
	ck_assert_int_eq(ipc_send_fds(a, MSG_WORKER_FD, 6, &slot,
	    sizeof(slot), two, 2), 0);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_WORKER_FD);
	ck_assert_int_eq(m.m_nfds, 2);
	ck_assert_int_eq(ipc_get_u32(&m, &slot), 0);
	ck_assert_uint_eq(slot, 3);
	ck_assert_int_eq(ipc_get_end(&m), 0);
	close(m.m_fds[0]);
	close(m.m_fds[1]);

	close(cli);
	ipc_chan_free(a);
	ipc_chan_free(b);
	ck_assert_int_eq(fd_count(), base);
}
END_TEST

/* A burst of hand-offs: more fds in flight than the receiver queues. */
START_TEST(test_fd_burst)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	int		 acc, cli, i, base, got = 0;

	acc = tcp_pair(&cli);
	base = fd_count();
	chan_two(&a, &b);
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(ipc_send(a, MSG_CONN_FD, i, NULL, 0, acc), 0);
		ck_assert_int_eq(ipc_send(a, MSG_PING, i, NULL, 0, -1), 0);
	}
	ck_assert_int_eq(ipc_flush(a), 1);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_id, i / 2);
		if (i % 2 == 0) {
			ck_assert_uint_eq(m.m_type, MSG_CONN_FD);
			ck_assert_int_ge(m.m_fd, 0);
			close(m.m_fd);
			got++;
		} else
			ck_assert_int_eq(m.m_fd, -1);
	}
	ck_assert_int_eq(got, 50);
	ck_assert_ptr_null(ipc_chan_error(b));
	ipc_chan_free(a);
	ipc_chan_free(b);
	ck_assert_int_eq(fd_count(), base);
	close(acc);
	close(cli);
}
END_TEST

/* fds alone, with no frames to claim them, fail the channel. */
START_TEST(test_fd_flood)
{
	struct ipc_chan	*c;
	unsigned char	 f[1] = { 0 };
	int		 raw, p[2], i, base;

	c = chan_pair(&raw);
	base = fd_count();
	ck_assert_int_eq(pipe(p), 0);
	for (i = 0; i < 10; i++)
		raw_send(raw, f, 1, &p[0], 1);
	close(p[0]);
	close(p[1]);
	expect_violation(c);
	ck_assert_int_eq(fd_count(), base);
	close(raw);
	ipc_chan_free(c);
}
END_TEST

/* An fd queued behind a frame too big for one sendmsg, then an IPv6 one. */
START_TEST(test_fd_after_partial_write)
{
	struct ipc_chan		*a, *b;
	struct ipc_msg		 m;
	struct sockaddr_in6	 sin6;
	socklen_t		 sl = sizeof(sin6);
	unsigned char		*big;
	size_t			 bigsz = 4 * 1024 * 1024;
	int			 acc, cli, l6, c6, a6 = -1, base;

	acc = tcp_pair(&cli);
	base = fd_count();
	chan_two(&a, &b);
	ck_assert_ptr_nonnull(big = calloc(1, bigsz));
	ck_assert_int_eq(ipc_send(a, MSG_CALL, 1, big, bigsz, -1), 0);
	ck_assert_int_eq(ipc_send(a, MSG_CONN_FD, 2, NULL, 0, acc), 0);
	/* The socket buffer takes only part of it: more is pending. */
	ck_assert_int_eq(ipc_flush(a), 0);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_id, 1);
	ck_assert_int_eq(m.m_fd, -1);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_id, 2);
	ck_assert_int_ge(m.m_fd, 0);
	close(m.m_fd);
	free(big);

	/* AF_INET6 is a TCP socket too (when the host has ::1). */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if ((l6 = socket(AF_INET6, SOCK_STREAM, 0)) != -1 &&
	    bind(l6, (struct sockaddr *)&sin6, sizeof(sin6)) == 0 &&
	    listen(l6, 1) == 0 &&
	    getsockname(l6, (struct sockaddr *)&sin6, &sl) == 0) {
		ck_assert_int_ge(c6 = socket(AF_INET6, SOCK_STREAM, 0), 0);
		ck_assert_int_eq(connect(c6, (struct sockaddr *)&sin6,
		    sizeof(sin6)), 0);
		ck_assert_int_ge(a6 = accept(l6, NULL, NULL), 0);
		ck_assert_int_eq(ipc_send(a, MSG_CONN_FD, 3, NULL, 0, a6), 0);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_id, 3);
		ck_assert_int_ge(m.m_fd, 0);
		close(m.m_fd);
		close(a6);
		close(c6);
	}
	if (l6 != -1)
		close(l6);
	ck_assert_ptr_null(ipc_chan_error(b));
	ipc_chan_free(a);
	ipc_chan_free(b);
	ck_assert_int_eq(fd_count(), base);
	close(acc);
	close(cli);
}
END_TEST

/* A peer that never reads cannot make the sender queue without bound. */
START_TEST(test_send_queue_bound)
{
	struct ipc_chan	*a;
	unsigned char	*big;
	int		 raw, i, r = 0;

	a = chan_pair(&raw);
	ck_assert_ptr_nonnull(big = calloc(1, IPC_MAX_PAYLOAD));
	for (i = 0; i < 16 && (r = ipc_send(a, MSG_CALL, i, big,
	    IPC_MAX_PAYLOAD, -1)) == 0; i++)
		;
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert_int_le(i, 4);		/* 64 MiB of 16 MiB frames */
	ck_assert_int_eq(ipc_pending(a), i);
	free(big);
	close(raw);
	ipc_chan_free(a);
}
END_TEST

/* Queued fds that are never flushed are closed by ipc_chan_free. */
START_TEST(test_fd_queue_freed)
{
	struct ipc_chan	*a;
	int		 raw, acc, cli, base;

	acc = tcp_pair(&cli);
	base = fd_count();
	a = chan_pair(&raw);
	ck_assert_int_eq(ipc_send(a, MSG_CONN_FD, 1, NULL, 0, acc), 0);
	ck_assert_int_eq(fd_count(), base + 3);
	ipc_chan_free(a);
	close(raw);
	ck_assert_int_eq(fd_count(), base);
	close(acc);
	close(cli);
}
END_TEST

START_TEST(test_short_header_eof)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN];
	int		 raw;

	c = chan_pair(&raw);
	raw_hdr(f, MSG_PING, 1, 0);
	ck_assert_int_eq(write(raw, f, 5), 5);
	close(raw);
	ck_assert_str_eq(expect_violation(c), "truncated frame at end of file");
	ipc_chan_free(c);
}
END_TEST

START_TEST(test_short_payload_eof)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN + 4];
	int		 raw;

	c = chan_pair(&raw);
	memset(f, 'p', sizeof(f));
	raw_hdr(f, MSG_CALL, 1, 100);
	ck_assert_int_eq(write(raw, f, sizeof(f)), (ssize_t)sizeof(f));
	close(raw);
	ck_assert_str_eq(expect_violation(c), "truncated frame at end of file");
	ipc_chan_free(c);
}
END_TEST

/*
 * A header claiming 4 GiB (and one just past the maximum) fails from the
 * header alone: errno is EPROTO, not ENOMEM, and the heap did not grow by
 * anything near the claimed size.
 */
START_TEST(test_oversized)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN];
	uint32_t	 lens[] = { 0xffffffffU, IPC_MAX_PAYLOAD + 1,
			    0x7fffffffU };
	size_t		 before, after, i;
	int		 raw;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		c = chan_pair(&raw);
		before = heap_in_use();
		raw_hdr(f, MSG_CALL, 1, lens[i]);
		ck_assert_int_eq(write(raw, f, sizeof(f)), (ssize_t)sizeof(f));
		ck_assert_int_eq(ipc_read(c), -1);
		ck_assert_int_eq(errno, EPROTO);
		ck_assert_str_eq(ipc_chan_error(c),
		    "frame longer than the maximum: MSG_CALL");
		after = heap_in_use();
		ck_assert_uint_lt(after, before + 1024 * 1024);
		close(raw);
		ipc_chan_free(c);
	}
}
END_TEST

START_TEST(test_unknown_type)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN];
	int		 raw;

	c = chan_pair(&raw);
	raw_hdr(f, 999, 1, 0);
	ck_assert_int_eq(write(raw, f, sizeof(f)), (ssize_t)sizeof(f));
	ck_assert_str_eq(expect_violation(c), "unknown message type: 999");
	close(raw);
	ipc_chan_free(c);
}
END_TEST

/* Payload rules per type: none on PING, some on LOG. */
START_TEST(test_payload_rules)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN + 1];
	int		 raw;

	c = chan_pair(&raw);
	raw_hdr(f, MSG_PING, 1, 1);
	f[IPC_HDR_LEN] = 'x';
	ck_assert_int_eq(write(raw, f, sizeof(f)), (ssize_t)sizeof(f));
	ck_assert_str_eq(expect_violation(c),
	    "payload on a message that has none: MSG_PING");
	close(raw);
	ipc_chan_free(c);

	c = chan_pair(&raw);
	raw_hdr(f, MSG_LOG, 1, 0);
	ck_assert_int_eq(write(raw, f, IPC_HDR_LEN), IPC_HDR_LEN);
	ck_assert_str_eq(expect_violation(c),
	    "empty payload on a message that needs one: MSG_LOG");
	close(raw);
	ipc_chan_free(c);
}
END_TEST

/*
 * Issue 9: a MSG_LOG longer than a log line can be is refused at its
 * header, before any payload is read or any buffer sized for it; the
 * sender refuses to make one.
 */
START_TEST(test_log_length)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN], *big;
	int		 raw;

	c = chan_pair(&raw);
	raw_hdr(f, MSG_LOG, 1, 8193);
	ck_assert_int_eq(write(raw, f, IPC_HDR_LEN), IPC_HDR_LEN);
	ck_assert_str_eq(expect_violation(c),
	    "payload longer than the type allows: MSG_LOG");
	close(raw);
	ipc_chan_free(c);

	c = chan_pair(&raw);
	ck_assert_ptr_nonnull(big = calloc(1, 8193));
	ck_assert_int_eq(ipc_send(c, MSG_LOG, 0, big, 8192, -1), 0);
	ck_assert_int_eq(ipc_send(c, MSG_LOG, 0, big, 8193, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	free(big);
	close(raw);
	ipc_chan_free(c);
}
END_TEST

/*
 * Issue 9: the queue's cap counts each frame's entry, not only its bytes.
 * Empty frames (a pong is 12 bytes) once let 64 MiB of "bytes" hold about
 * a gigabyte.
 */
START_TEST(test_queue_counts_entries)
{
	struct ipc_chan	*a;
	int		 raw, n = 0;

	a = chan_pair(&raw);
	while (ipc_send(a, MSG_PONG, (uint32_t)n, NULL, 0, -1) == 0)
		n++;
	ck_assert_int_eq(errno, ENOBUFS);
	/* 64 MiB of 12-byte frames would be 5.6 million. */
	ck_assert_int_lt(n, 64 * 1024 * 1024 / (IPC_HDR_LEN + 64));
	ck_assert_int_eq(ipc_pending(a), n);
	ck_assert_uint_le(ipc_queued(a), 64 * 1024 * 1024);
	ck_assert_uint_ge(ipc_queued(a), (size_t)n * (IPC_HDR_LEN + 64));
	close(raw);
	ipc_chan_free(a);
}
END_TEST

/*
 * A small frame's queue entry, once sent, is wiped and kept for the next
 * frame that fits: a call's plan, sent a request, is queued without an
 * allocation (it was one each; sanitizer builds keep none).  A larger
 * frame still gets its own, and the kept one's bytes are its own again.
 */
START_TEST(test_out_kept)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	char		 plan[600], big[4000];
	int		 i, r, fired;
#ifdef WIDGETD_SANITIZED
	const int	 kept = 0;
#else
	const int	 kept = 1;
#endif

	chan_two(&a, &b);
	memset(big, 'b', sizeof(big));
	memset(plan, 'p', sizeof(plan));
	ck_assert_int_eq(ipc_send(a, MSG_CALL, 0, plan, sizeof(plan), -1), 0);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	for (i = 1; i < 4; i++) {
		memset(plan, 'a' + i, sizeof(plan));
		/* no assertion while armed: check's own allocate */
		oom_arm(0);
		r = ipc_send(a, MSG_CALL, (uint32_t)i, plan,
		    sizeof(plan) - (size_t)i, -1);
		fired = oom_disarm();
		ck_assert_int_eq(fired, !kept);
		ck_assert_int_eq(r, (kept ? 0 : -1));
		if (r == -1)
			continue;
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_len, sizeof(plan) - (size_t)i);
		ck_assert_int_eq(memcmp(m.m_data, plan, m.m_len), 0);
	}
	ck_assert_int_eq(ipc_send(a, MSG_CALL, 9, big, sizeof(big), -1), 0);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_uint_eq(m.m_len, sizeof(big));
	ck_assert_int_eq(memcmp(m.m_data, big, sizeof(big)), 0);
	ipc_chan_free(a);
	ipc_chan_free(b);
}
END_TEST

/*
 * An encoder's first block is wiped and kept when the buffer is cleared
 * (or outgrown): the next message encoded, a request's plan or answer
 * head, takes it without an allocation, and reads none of the last
 * one's bytes (sanitizer builds keep none).
 */
START_TEST(test_buf_kept)
{
	struct ipc_buf	 b;
	char		 s[300];
	int		 r, fired;
#ifdef WIDGETD_SANITIZED
	const int	 kept = 0;
#else
	const int	 kept = 1;
#endif

	memset(s, 's', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	ipc_buf_init(&b);
	ck_assert_int_eq(ipc_put_str(&b, s), 0);
	ipc_buf_clear(&b);
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	r = ipc_put_u32(&b, 7);
	fired = oom_disarm();
	ck_assert_int_eq(fired, !kept);
	ck_assert_int_eq(r, kept ? 0 : -1);
	/* growing past the first block keeps that one for the next */
	ck_assert_int_eq(ipc_put_str(&b, s), 0);
	ck_assert_int_eq(ipc_put_str(&b, s), 0);
	ck_assert_int_eq(ipc_put_str(&b, s), 0);
	ck_assert_int_eq(ipc_put_str(&b, s), 0);
	ck_assert_uint_gt(b.b_cap, 1024);
	ipc_buf_clear(&b);
	ck_assert_int_eq(ipc_put_u32(&b, 7), 0);
	ck_assert_uint_eq(b.b_len, 4);
	ipc_buf_clear(&b);
}
END_TEST

/*
 * A worker-keeper channel over two pipes: frames both ways, one larger
 * than a default pipe holds (written and read in turns), each direction
 * checked, and the end of one side read as EOF by the other.
 */
START_TEST(test_pipe_channel)
{
	struct ipc_chan	*w, *k;
	struct ipc_msg	 m;
	unsigned char	*big;
	size_t		 bigsz = 300 * 1024, i;
	int		 wk[2], kw[2], base;

	base = fd_count();
	ck_assert_int_eq(pipe(wk), 0);
	ck_assert_int_eq(pipe(kw), 0);
	ck_assert_ptr_nonnull(w = ipc_chan_new_pipes(kw[0], wk[1], IPC_WORKER,
	    IPC_KEEPER));
	ck_assert_ptr_nonnull(k = ipc_chan_new_pipes(wk[0], kw[1], IPC_KEEPER,
	    IPC_WORKER));
	ck_assert_int_eq(ipc_chan_fd(w), kw[0]);
	ck_assert_int_eq(ipc_chan_wfd(w), wk[1]);

	ck_assert_int_eq(ipc_send(w, MSG_PING, 7, NULL, 0, -1), 0);
	ck_assert_int_eq(chan_next(w, k, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_PING);
	ck_assert_uint_eq(m.m_id, 7);
	ck_assert_int_eq(m.m_nfds, 0);

	ck_assert_ptr_nonnull(big = malloc(bigsz));
	for (i = 0; i < bigsz; i++)
		big[i] = (unsigned char)(i * 7 + 3);
	ck_assert_int_eq(ipc_send(k, MSG_FAIL, 8, big, bigsz, -1), 0);
	ck_assert_int_eq(chan_next(k, w, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_FAIL);
	ck_assert_uint_eq(m.m_len, bigsz);
	ck_assert_int_eq(memcmp(m.m_data, big, bigsz), 0);
	free(big);

	/* The direction is still the catalogue's: a worker sends no PONG. */
	ck_assert_int_eq(ipc_send(w, MSG_PONG, 9, NULL, 0, -1), -1);

	/* The keeper goes: the worker reads the end of the stream. */
	ipc_chan_free(k);
	ck_assert_int_eq(ipc_read(w), 0);
	ipc_chan_free(w);
	ck_assert_int_eq(fd_count(), base);
}
END_TEST

/* One fd on a type that carries two; two on MSG_CONN_FD stating one. */
START_TEST(test_two_fds)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN + 4];
	int		 raw, sv[2], base;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = chan_pair(&raw);
	base = fd_count();
	raw_hdr(f, MSG_KEEPER_FD, 1, 0);
	raw_send(raw, f, IPC_HDR_LEN, sv, 1);
	ck_assert_str_eq(expect_violation(c),
	    "wrong number of fds: MSG_KEEPER_FD");
	/* The received copy was closed. */
	ck_assert_int_eq(fd_count(), base);
	close(raw);
	ipc_chan_free(c);

	c = chan_pair(&raw);
	base = fd_count();
	raw_conn_fd(f, 1, 1);
	raw_send(raw, f, sizeof(f), sv, 2);
	ck_assert_str_eq(expect_violation(c),
	    "wrong number of fds: MSG_CONN_FD");
	/* Both received copies were closed. */
	ck_assert_int_eq(fd_count(), base);
	close(raw);
	ipc_chan_free(c);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * MSG_CONN_FD with several fds: the count it states must be what came,
 * within 1..IPC_MAX_FDS, and every fd must be a TCP socket; anything else
 * fails the channel with every received fd closed.
 */
START_TEST(test_fd_count)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN + 4];
	int		 raw, acc, cli, p[2], fds[IPC_MAX_FDS + 1], base, i;
	struct {
		uint32_t	 stated;
		int		 sent;
		const char	*why;
	} cases[] = {
		{ 3, 2, "wrong number of fds: MSG_CONN_FD" },
		{ 2, 3, "wrong number of fds: MSG_CONN_FD" },
		{ 0, 1, "fd count out of range: MSG_CONN_FD" },
		{ IPC_MAX_FDS + 1, IPC_MAX_FDS + 1,
		    "more fds in one message than a frame carries" },
		{ 3, 3, "fd of the wrong kind: MSG_CONN_FD" },
	};
	size_t		 k;

	acc = tcp_pair(&cli);
	ck_assert_int_eq(pipe(p), 0);
	for (i = 0; i <= IPC_MAX_FDS; i++)
		fds[i] = acc;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		c = chan_pair(&raw);
		base = fd_count();
		/* The last case: a pipe among TCP sockets. */
		fds[1] = k == 4 ? p[0] : acc;
		raw_conn_fd(f, 1, cases[k].stated);
		raw_send(raw, f, sizeof(f), fds, cases[k].sent);
		ck_assert_str_eq(expect_violation(c), cases[k].why);
		ck_assert_int_eq(fd_count(), base);
		close(raw);
		ipc_chan_free(c);
	}
	/* A payload that is not exactly the count. */
	c = chan_pair(&raw);
	raw_hdr(f, MSG_CONN_FD, 1, 2);
	raw_send(raw, f, IPC_HDR_LEN + 2, &acc, 1);
	ck_assert_str_eq(expect_violation(c),
	    "fd count of the wrong size: MSG_CONN_FD");
	close(raw);
	ipc_chan_free(c);
	close(p[0]);
	close(p[1]);
	close(acc);
	close(cli);
}
END_TEST

/*
 * A batch of accepted sockets in one frame, between ordinary frames: they
 * arrive in order, close-on-exec, each the socket that was sent; the
 * sender closed its own (no duplicate: ipc_send_fds takes them).
 */
START_TEST(test_fd_batch)
{
	struct ipc_chan		*a, *b;
	struct ipc_msg		 m;
	struct sockaddr_in	 s1, s2;
	socklen_t		 sl;
	int			 acc[IPC_MAX_FDS], cli[IPC_MAX_FDS], base, i, n;
	int			 sizes[] = { IPC_MAX_FDS, 1, 5 };
	size_t			 k;

	base = fd_count();
	chan_two(&a, &b);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		n = sizes[k];
		for (i = 0; i < n; i++)
			acc[i] = tcp_pair(&cli[i]);
		ck_assert_int_eq(ipc_send(a, MSG_PING, 1, NULL, 0, -1), 0);
		ck_assert_int_eq(ipc_send_fds(a, MSG_CONN_FD, 2, NULL, 0, acc,
		    n), 0);
		ck_assert_int_eq(ipc_send(a, MSG_PING, 3, NULL, 0, -1), 0);
		ck_assert_int_eq(ipc_flush(a), 1);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_id, 1);
		ck_assert_int_eq(m.m_nfds, 0);
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_type, MSG_CONN_FD);
		ck_assert_int_eq(m.m_nfds, n);
		ck_assert_int_eq(m.m_fd, m.m_fds[0]);
		for (i = 0; i < n; i++) {
			ck_assert(fcntl(m.m_fds[i], F_GETFD) & FD_CLOEXEC);
			sl = sizeof(s1);
			ck_assert_int_eq(getpeername(m.m_fds[i],
			    (struct sockaddr *)&s1, &sl), 0);
			sl = sizeof(s2);
			ck_assert_int_eq(getsockname(cli[i],
			    (struct sockaddr *)&s2, &sl), 0);
			ck_assert_uint_eq(s1.sin_port, s2.sin_port);
			close(m.m_fds[i]);
			close(cli[i]);
		}
		ck_assert_int_eq(chan_next(a, b, &m), 1);
		ck_assert_uint_eq(m.m_id, 3);
		ck_assert_int_eq(m.m_nfds, 0);
		/* Sent, received, closed on both sides: nothing left over. */
		ck_assert_int_eq(fd_count(), base + 2);
	}
	ck_assert_ptr_null(ipc_chan_error(b));
	ipc_chan_free(a);
	ipc_chan_free(b);
	ck_assert_int_eq(fd_count(), base);
}
END_TEST

/* ipc_send_fds owns what it is given: refused or queued, it closes them. */
START_TEST(test_send_fds_owns)
{
	struct ipc_chan	*a;
	int		 raw, acc, cli, fds[IPC_MAX_FDS + 1], base, i;

	acc = tcp_pair(&cli);
	a = chan_pair(&raw);
	base = fd_count();
	/* Refused: the wrong type, none on MSG_CONN_FD, a payload, too many. */
	fds[0] = dup(acc);
	fds[1] = dup(acc);
	ck_assert_int_eq(ipc_send_fds(a, MSG_PING, 1, NULL, 0, fds, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(fd_count(), base);
	ck_assert_int_eq(ipc_send_fds(a, MSG_CONN_FD, 1, NULL, 0, fds, 0), -1);
	fds[0] = dup(acc);
	ck_assert_int_eq(ipc_send_fds(a, MSG_CONN_FD, 1, "x", 1, fds, 1), -1);
	ck_assert_int_eq(fd_count(), base);
	for (i = 0; i <= IPC_MAX_FDS; i++)
		fds[i] = dup(acc);
	ck_assert_int_eq(ipc_send_fds(a, MSG_CONN_FD, 1, NULL, 0, fds,
	    IPC_MAX_FDS + 1), -1);
	ck_assert_int_eq(fd_count(), base);
	ck_assert_int_eq(ipc_pending(a), 0);
	/* Queued and never sent: ipc_chan_free closes them. */
	fds[0] = dup(acc);
	fds[1] = dup(acc);
	ck_assert_int_eq(ipc_send_fds(a, MSG_CONN_FD, 1, NULL, 0, fds, 2), 0);
	ck_assert_int_eq(ipc_pending(a), 1);
	ck_assert_int_eq(fd_count(), base + 2);
	ipc_chan_free(a);
	close(raw);
	ck_assert_int_eq(fd_count(), base - 2);
	close(acc);
	close(cli);
}
END_TEST

START_TEST(test_fd_on_plain_type)
{
	struct ipc_chan	*c;
	unsigned char	 f[2 * IPC_HDR_LEN];
	int		 raw, acc, cli, base;

	acc = tcp_pair(&cli);
	c = chan_pair(&raw);
	base = fd_count();
	raw_hdr(f, MSG_PING, 1, 0);
	raw_hdr(f + IPC_HDR_LEN, MSG_PING, 2, 0);
	raw_send(raw, f, sizeof(f), &acc, 1);
	ck_assert_str_eq(expect_violation(c),
	    "fd on a message that carries none");
	ck_assert_int_eq(fd_count(), base);
	close(raw);
	ipc_chan_free(c);
	close(acc);
	close(cli);
}
END_TEST

START_TEST(test_fd_missing)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN + 4];
	int		 raw;

	c = chan_pair(&raw);
	raw_conn_fd(f, 1, 1);
	ck_assert_int_eq(write(raw, f, sizeof(f)), (ssize_t)sizeof(f));
	ck_assert_str_eq(expect_violation(c),
	    "message without its fd: MSG_CONN_FD");
	close(raw);
	ipc_chan_free(c);
}
END_TEST

/*
 * A pipe, a UNIX socket, a UDP socket on MSG_CONN_FD; on MSG_KEEPER_FD
 * anything but a pipe's read end then a pipe's write end: TCP, a socket
 * pair, the two ends of a pipe swapped, a read end twice.
 */
START_TEST(test_fd_wrong_kind)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN + 4];
	int		 raw, p[2], q[2], sv[2], u, acc, cli, base, i;
	struct {
		uint32_t	 type;
		int		 fd[2];
	} cases[7];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_ge(u = socket(AF_INET, SOCK_DGRAM, 0), 0);
	acc = tcp_pair(&cli);
	cases[0].type = MSG_CONN_FD;	cases[0].fd[0] = p[0];
	cases[1].type = MSG_CONN_FD;	cases[1].fd[0] = sv[0];
	cases[2].type = MSG_CONN_FD;	cases[2].fd[0] = u;
	cases[3].type = MSG_KEEPER_FD;	cases[3].fd[0] = acc;
	cases[3].fd[1] = q[1];
	cases[4].type = MSG_KEEPER_FD;	cases[4].fd[0] = sv[0];
	cases[4].fd[1] = sv[1];
	cases[5].type = MSG_KEEPER_FD;	cases[5].fd[0] = q[1];
	cases[5].fd[1] = p[0];
	cases[6].type = MSG_KEEPER_FD;	cases[6].fd[0] = p[0];
	cases[6].fd[1] = q[0];
	for (i = 0; i < 7; i++) {
		c = chan_pair(&raw);
		base = fd_count();
		if (cases[i].type == MSG_CONN_FD)
			raw_conn_fd(f, 1, 1);
		else
			raw_hdr(f, cases[i].type, 1, 0);
		raw_send(raw, f, cases[i].type == MSG_CONN_FD ? sizeof(f) :
		    IPC_HDR_LEN, cases[i].fd,
		    cases[i].type == MSG_CONN_FD ? 1 : 2);
		ck_assert_str_eq(expect_violation(c), i < 3 ?
		    "fd of the wrong kind: MSG_CONN_FD" :
		    "fd of the wrong kind: MSG_KEEPER_FD");
		ck_assert_int_eq(fd_count(), base);
		close(raw);
		ipc_chan_free(c);
	}
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(sv[0]);
	close(sv[1]);
	close(u);
	close(acc);
	close(cli);
}
END_TEST

/*
 * The receiver has no free fd slot: the kernel drops the fd and sets
 * MSG_CTRUNC (systemd's test technique).  Run in a child because it lowers
 * RLIMIT_NOFILE.  Valgrind only pretends to lower that limit for its
 * guest, so the kernel never truncates there: skipped under valgrind.
 */
START_TEST(test_ctrunc)
{
	struct ipc_chan	*c;
	struct rlimit	 rl;
	unsigned char	 f[IPC_HDR_LEN + 4];
	const char	*why;
	pid_t		 pid;
	int		 raw, acc, cli, st, fd, r;

	if (RUNNING_ON_VALGRIND)
		return;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		acc = tcp_pair(&cli);
		c = chan_pair(&raw);
		ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
		rl.rlim_cur = 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(2);
		/* Fill every slot below the limit. */
		while ((fd = dup(raw)) != -1)
			;
		if (errno != EMFILE)
			_exit(3);
		raw_conn_fd(f, 1, 1);
		raw_send(raw, f, sizeof(f), &acc, 1);
		r = ipc_read(c);
		why = ipc_chan_error(c);
		r = r != -1 || why == NULL ||
		    strcmp(why, "control message truncated") != 0;
		ipc_chan_free(c);
		_exit(r ? 4 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/*
 * The catalogue's directions hold both ways: a worker's channel to the
 * parent refuses a keeper-bound frame on receipt, and will not send one.
 */
START_TEST(test_direction)
{
	struct ipc_chan	*c;
	unsigned char	 f[IPC_HDR_LEN + 8];
	int		 sv[2];

	/* The parent's end of a worker channel: MSG_CALL does not go here. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = ipc_chan_new(sv[0], IPC_PARENT, IPC_WORKER);
	ck_assert_ptr_nonnull(c);
	raw_hdr(f, MSG_CALL, 1, 8);
	memset(f + IPC_HDR_LEN, 'x', 8);
	ck_assert_int_eq(write(sv[1], f, sizeof(f)), (ssize_t)sizeof(f));
	ck_assert_str_eq(expect_violation(c),
	    "message in the wrong direction: MSG_CALL");
	ipc_chan_free(c);
	close(sv[1]);

	/* Nor may a keeper pose as the parent towards a worker. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = ipc_chan_new(sv[0], IPC_WORKER, IPC_KEEPER);
	raw_hdr(f, MSG_SHUTDOWN, 1, 0);
	ck_assert_int_eq(write(sv[1], f, IPC_HDR_LEN), IPC_HDR_LEN);
	ck_assert_str_eq(expect_violation(c),
	    "message in the wrong direction: MSG_SHUTDOWN");
	ipc_chan_free(c);
	close(sv[1]);

	/* The sender refuses the same frames before they leave. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = ipc_chan_new(sv[0], IPC_WORKER, IPC_PARENT);
	ck_assert_int_eq(ipc_send(c, MSG_CALL, 1, "x", 1, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ipc_send(c, MSG_PING, 1, NULL, 0, -1), -1);
	ck_assert_int_eq(ipc_send(c, MSG_CONN_DONE, 1, NULL, 0, -1), -1);
	ck_assert_int_eq(ipc_send(c, MSG_CONN_DONE, 1, "\1\0\0\0", 4, -1), 0);
	ck_assert_int_eq(ipc_pending(c), 1);
	/*
	 * MSG_CONN_DONE carries n and n connection numbers: the largest
	 * batch leaves, one number more is refused at the sender.
	 */
	{
		uint32_t	 done[2 + IPC_DONE_MAX];

		memset(done, 0, sizeof(done));
		done[0] = IPC_DONE_MAX;
		ck_assert_int_eq(ipc_send(c, MSG_CONN_DONE, 2, done,
		    sizeof(uint32_t) * (1 + IPC_DONE_MAX), -1), 0);
		ck_assert_int_eq(ipc_send(c, MSG_CONN_DONE, 3, done,
		    sizeof(done), -1), -1);
	}
	ipc_chan_free(c);
	close(sv[1]);
	/* Roles are required. */
	ck_assert_ptr_null(ipc_chan_new(sv[0], 0, IPC_PARENT));
}
END_TEST

/* Send in from a to b: 1 when b's decoder refuses it. */
static int
published_refused(struct ipc_chan *a, struct ipc_chan *b,
    const struct ipc_published *in)
{
	struct ipc_published	 out;
	struct ipc_msg		 m;
	struct ipc_buf		 buf;

	ck_assert_int_eq(ipc_encode_published(&buf, in), 0);
	ck_assert_int_eq(ipc_send(a, MSG_PUBLISHED, 0, buf.b_data, buf.b_len,
	    -1), 0);
	ipc_buf_clear(&buf);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	if (ipc_decode_published(&m, &out) == -1)
		return 1;
	ipc_published_clear(&out);
	return 0;
}

/*
 * The publisher's channel: it may report builds and log, never pose as
 * a worker or a keeper; and its report is checked field by field.
 */
START_TEST(test_publisher)
{
	struct ipc_chan		*a, *b;
	struct ipc_msg		 m;
	struct ipc_buf		 buf;
	struct ipc_published	 in, out;
	int			 sv[2];
	char			 msg[1100];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a = ipc_chan_new(sv[0], IPC_PUBLISHER, IPC_PARENT);
	b = ipc_chan_new(sv[1], IPC_PARENT, IPC_PUBLISHER);
	/* Not a worker's or keeper's messages, not the parent's. */
	ck_assert_int_eq(ipc_send(a, MSG_CONN_DONE, 1, NULL, 0, -1), -1);
	ck_assert_int_eq(ipc_send(a, MSG_PUBLISH, 1, NULL, 0, -1), -1);
	ck_assert_int_eq(ipc_send(b, MSG_PUBLISHED, 1, "x", 1, -1), -1);
	ck_assert_int_eq(ipc_send(b, MSG_CONN_FD, 1, NULL, 0, -1), -1);
	ck_assert_int_eq(ipc_send(b, MSG_PUBLISH, 9, NULL, 0, -1), 0);
	ck_assert_int_eq(ipc_send(b, MSG_SHUTDOWN, 0, NULL, 0, -1), 0);
	ck_assert_int_eq(chan_next(b, a, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_PUBLISH);
	ck_assert_uint_eq(m.m_id, 9);
	ck_assert_int_eq(chan_next(b, a, &m), 1);
	ck_assert_uint_eq(m.m_type, MSG_SHUTDOWN);

	memset(&in, 0, sizeof(in));
	in.ip_build = 12;
	in.ip_state = 3;
	in.ip_changed = 0;
	in.ip_files = 7;
	in.ip_commit = "0123456789abcdef0123456789abcdef01234567";
	in.ip_code = "CONTENT_SCAN_REJECTED";
	in.ip_message = "Widget 'w' rejected: content policy violation";
	in.ip_generation = "4-0123456789ab";
	ck_assert_int_eq(ipc_encode_published(&buf, &in), 0);
	ck_assert_int_eq(ipc_send(a, MSG_PUBLISHED, 9, buf.b_data, buf.b_len,
	    -1), 0);
	ipc_buf_clear(&buf);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_int_eq(ipc_decode_published(&m, &out), 0);
	ck_assert(out.ip_build == 12);
	ck_assert_uint_eq(out.ip_state, 3);
	ck_assert_uint_eq(out.ip_files, 7);
	ck_assert_str_eq(out.ip_commit, in.ip_commit);
	ck_assert_str_eq(out.ip_code, in.ip_code);
	ck_assert_str_eq(out.ip_message, in.ip_message);
	ck_assert_str_eq(out.ip_generation, in.ip_generation);
	ipc_published_clear(&out);

	/* A control byte for the log, a non-hex commit, a bad state. */
	in.ip_message = "line\ninjected";
	ck_assert_int_eq(published_refused(a, b, &in), 1);
	in.ip_message = "ok";
	in.ip_commit = "not-hex";
	ck_assert_int_eq(published_refused(a, b, &in), 1);
	in.ip_commit = "";
	in.ip_state = 4;
	ck_assert_int_eq(published_refused(a, b, &in), 1);
	/* A message over 1024 bytes. */
	in.ip_state = 2;
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	in.ip_message = msg;
	ck_assert_int_eq(published_refused(a, b, &in), 1);
	msg[1024] = '\0';
	ck_assert_int_eq(published_refused(a, b, &in), 0);
	ipc_chan_free(a);
	ipc_chan_free(b);
}
END_TEST

/* A snapshot travels only as a sealed memfd. */
START_TEST(test_snapshot_fd)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	struct ipc_buf	 buf;
	int		 sv[2], mfd, base = fd_count();

	/* Sealed: accepted. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a = ipc_chan_new(sv[0], IPC_PARENT, IPC_KEEPER);
	b = ipc_chan_new(sv[1], IPC_KEEPER, IPC_PARENT);
	mfd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_ne(mfd, -1);
	ck_assert_int_eq(write(mfd, "snap", 4), 4);
	ck_assert_int_eq(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL), 0);
	ipc_buf_init(&buf);
	ipc_put_u64(&buf, 2);
	ck_assert_int_eq(ipc_send(a, MSG_SNAPSHOT, 0, buf.b_data, buf.b_len,
	    mfd), 0);
	ck_assert_int_eq(chan_next(a, b, &m), 1);
	ck_assert_int_ne(m.m_fd, -1);
	close(m.m_fd);
	close(mfd);

	/* Writable still: the receiver refuses it and fails the channel. */
	mfd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_eq(write(mfd, "snap", 4), 4);
	ck_assert_int_eq(ipc_send(a, MSG_SNAPSHOT, 0, buf.b_data, buf.b_len,
	    mfd), 0);
	ck_assert_int_eq(chan_next(a, b, &m), -1);
	ck_assert_str_eq(ipc_chan_error(b),
	    "fd of the wrong kind: MSG_SNAPSHOT");
	close(mfd);
	ipc_buf_clear(&buf);
	ipc_chan_free(a);
	ipc_chan_free(b);
	ck_assert_int_eq(fd_count(), base);
}
END_TEST

/* Random garbage after a good frame never crashes and fails the channel. */
START_TEST(test_garbage)
{
	struct ipc_chan	*c;
	struct ipc_msg	 m;
	unsigned char	 f[256];
	unsigned int	 seed = 1;
	int		 raw, i, j, r;

	for (i = 0; i < 200; i++) {
		c = chan_pair(&raw);
		for (j = 0; j < (int)sizeof(f); j++)
			f[j] = rand_r(&seed);
		/* Keep the type near the catalogue sometimes. */
		if (i % 2)
			raw_hdr(f, MSG_CALL + (i % 3), i, f[8] % 64);
		ck_assert_int_eq(write(raw, f, sizeof(f)), (ssize_t)sizeof(f));
		close(raw);
		while ((r = ipc_read(c)) == 1)
			while ((r = ipc_get(c, &m)) == 1)
				;
		ck_assert_int_le(r, 0);
		ipc_chan_free(c);
	}
}
END_TEST

/*
 * Calls by id (idmap.h), against a plain array: 200,000 random puts,
 * sets and deletions over ids that crowd a few slots (multiples of the
 * table's sizes, so runs form and deletions shift them), every lookup
 * compared.  A duplicate or 0 is refused; emptied, the map forgets all.
 */
START_TEST(test_idmap)
{
	enum { IDS = 3000 };
	static void	*model[IDS];
	struct idmap	 m;
	uint32_t	 id, seed = 12345;
	size_t		 n = 0, i, k;
	int		 op;

	memset(&m, 0, sizeof(m));
	ck_assert_ptr_null(idmap_get(&m, 5));
	ck_assert_int_eq(idmap_set(&m, 5, &m), -1);
	idmap_del(&m, 5);
	ck_assert_int_eq(idmap_put(&m, 0, &m), -1);
	for (k = 0; k < 200000; k++) {
		seed = seed * 1103515245 + 12345;
		i = (seed >> 8) % IDS;
		/* id 1 + i*64: collides modulo every size up to 64 */
		id = (uint32_t)(1 + (i % 50) * 64 + (i / 50) * 4096);
		op = (int)((seed >> 24) % 4);
		if (op == 0 || op == 1) {
			if (model[i] == NULL) {
				ck_assert_int_eq(idmap_put(&m, id, &model[i]), 0);
				model[i] = &model[i];
				n++;
			} else
				ck_assert_int_eq(idmap_put(&m, id, &m), -1);
		} else if (op == 2) {
			idmap_del(&m, id);
			if (model[i] != NULL)
				n--;
			model[i] = NULL;
		} else
			ck_assert_int_eq(idmap_set(&m, id, model[i]),
			    model[i] != NULL ? 0 : -1);
		ck_assert_ptr_eq(idmap_get(&m, id), model[i]);
		ck_assert_uint_eq(idmap_count(&m), n);
		if (k % 10000 == 0)
			for (i = 0; i < IDS; i++)
				ck_assert_ptr_eq(idmap_get(&m, (uint32_t)(1 +
				    (i % 50) * 64 + (i / 50) * 4096)), model[i]);
	}
	ck_assert_uint_le(idmap_count(&m) * 2, m.im_cap);
	idmap_clear(&m);
	ck_assert_uint_eq(idmap_count(&m), 0);
	ck_assert_ptr_null(idmap_get(&m, 1));
}
END_TEST

/*
 * An answer's head (headers, host, timings: up to 1 KiB) is encoded in
 * the buffer's first allocation, not grown into by copies.
 */
START_TEST(test_buf_first)
{
	struct ipc_buf	 buf;
	char		 hdr[96];
	int		 i, rc;

	memset(hdr, 'h', sizeof(hdr));
	ipc_buf_init(&buf);
	/* no assertion while armed: check's own allocate */
	oom_arm(1);
	for (i = 0, rc = 0; i < 9; i++)
		rc |= ipc_put_bytes(&buf, hdr, sizeof(hdr));
	rc |= ipc_put_u32(&buf, 200);
	ck_assert_int_eq(oom_disarm(), 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(buf.b_len, 9 * (4 + sizeof(hdr)) + 4);
	ipc_buf_clear(&buf);
}
END_TEST

/*
 * Buffers given back are kept for messages to be copied into, the last
 * first: after small ones, a larger one given back serves the next large
 * message without a malloc.
 */
START_TEST(test_kept_spares)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 m;
	char		*big, *p;
	int		 i;

	chan_two(&a, &b);
	for (i = 0; i < 4; i++) {
		ck_assert_ptr_nonnull(p = malloc(64));
		ipc_kept_free(p, 64);
	}
	ck_assert_ptr_nonnull(p = malloc(20000));
	ipc_kept_free(p, 20000);
	ck_assert_ptr_nonnull(big = calloc(1, 10000));
	oom_free_frame(a, b, MSG_RESULT, 1, big, 10000, &m);
	free(big);
	ipc_chan_free(a);
	ipc_chan_free(b);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("ipc");
	TCase	*tc;

	tc = tcase_create("frames");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_oom);
	tcase_add_test(tc, test_decode_errors);
	tcase_add_test(tc, test_send_refuses);
	tcase_add_test(tc, test_sendv);
	tcase_add_test(tc, test_send_queue_bound);
	tcase_add_test(tc, test_split_frame);
	tcase_add_test(tc, test_large_frames);
	tcase_add_test(tc, test_msg_survives_read);
	tcase_add_test(tc, test_large_handover);
	tcase_add_test(tc, test_sendv_given);
	tcase_add_test(tc, test_idmap);
	suite_add_tcase(s, tc);

	tc = tcase_create("fds");
	tcase_add_test(tc, test_fd_passing);
	tcase_add_test(tc, test_pipe_channel);
	tcase_add_test(tc, test_fd_batch);
	tcase_add_test(tc, test_send_fds_owns);
	tcase_add_test(tc, test_fd_queue_freed);
	tcase_add_test(tc, test_fd_burst);
	tcase_add_test(tc, test_fd_flood);
	tcase_add_test(tc, test_fd_after_partial_write);
	suite_add_tcase(s, tc);

	tc = tcase_create("violations");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_short_header_eof);
	tcase_add_test(tc, test_short_payload_eof);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_payload_rules);
	tcase_add_test(tc, test_log_length);
	tcase_add_test(tc, test_queue_counts_entries);
	tcase_add_test(tc, test_out_kept);
	tcase_add_test(tc, test_buf_kept);
	tcase_add_test(tc, test_two_fds);
	tcase_add_test(tc, test_fd_count);
	tcase_add_test(tc, test_fd_on_plain_type);
	tcase_add_test(tc, test_fd_missing);
	tcase_add_test(tc, test_fd_wrong_kind);
	tcase_add_test(tc, test_ctrunc);
	tcase_add_test(tc, test_direction);
	tcase_add_test(tc, test_publisher);
	tcase_add_test(tc, test_snapshot_fd);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_buf_first);
	tcase_add_test(tc, test_kept_spares);
	suite_add_tcase(s, tc);
	return s;
}
