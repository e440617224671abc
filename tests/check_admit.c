/*
 * check_admit.c — the parent's admission control (admit.c): caps per
 * client address and in total, connections released only by the worker
 * that holds them, and a dispatch that a worker's reports cannot steer.
 */
#include "build.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "ipc.h"
#include "check_main.h"

static struct sockaddr_storage
sa_of(const char *addr)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static enum admit_result
conn_from(struct admit *a, const char *addr, struct admit_conn **ac)
{
	struct sockaddr_storage	 ss = sa_of(addr);

	return admit_conn(a, (struct sockaddr *)&ss, ac);
}

static int
count_of(struct admit *a, const char *addr)
{
	struct sockaddr_storage	 ss = sa_of(addr);

	return admit_count(a, (struct sockaddr *)&ss);
}

/* The per-address cap bites on the address at it, and on no other. */
START_TEST(test_per_address)
{
	struct admit		*a = admit_new();
	struct admit_conn	*ac[4], *x;

	ck_assert_ptr_nonnull(a);
	admit_set_limits(a, 3, 0);
	ck_assert_int_eq(conn_from(a, "192.0.2.1", &ac[0]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "192.0.2.1", &ac[1]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "192.0.2.1", &ac[2]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "192.0.2.1", &x), ADMIT_PER_ADDRESS);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(count_of(a, "192.0.2.1"), 3);
	/* Another address is not affected. */
	ck_assert_int_eq(conn_from(a, "192.0.2.2", &ac[3]), ADMIT_OK);
	ck_assert_int_eq(admit_total(a), 4);
	/* One closes before it reached a worker: room for one more. */
	admit_release(a, ac[0]);
	ck_assert_int_eq(count_of(a, "192.0.2.1"), 2);
	ck_assert_int_eq(conn_from(a, "192.0.2.1", &ac[0]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "192.0.2.1", &x), ADMIT_PER_ADDRESS);
	/* 0 is no cap. */
	admit_set_limits(a, 0, 0);
	ck_assert_int_eq(conn_from(a, "192.0.2.1", &x), ADMIT_OK);
	admit_release(a, x);
	admit_free(a);
}
END_TEST

/*
 * IPv6 counts by /64 (one host is given a whole /64); an IPv4 address
 * mapped into IPv6 counts as the IPv4 address.
 */
START_TEST(test_keys)
{
	struct admit		*a = admit_new();
	struct admit_conn	*ac[3], *x;
	struct sockaddr_storage	 ss;
	char			 buf[80];

	admit_set_limits(a, 2, 0);
	ck_assert_int_eq(conn_from(a, "2001:db8:1:2::1", &ac[0]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "2001:db8:1:2:ffff::9", &ac[1]),
	    ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "2001:db8:1:2::77", &x),
	    ADMIT_PER_ADDRESS);
	ck_assert_int_eq(conn_from(a, "2001:db8:1:3::1", &ac[2]), ADMIT_OK);
	ss = sa_of("2001:db8:1:2::1");
	ck_assert_str_eq(admit_key_str((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "2001:db8:1:2::/64");
	admit_release(a, ac[0]);
	admit_release(a, ac[1]);
	admit_release(a, ac[2]);

	ck_assert_int_eq(conn_from(a, "198.51.100.7", &ac[0]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "::ffff:198.51.100.7", &ac[1]),
	    ADMIT_OK);
	ck_assert_int_eq(count_of(a, "198.51.100.7"), 2);
	ck_assert_int_eq(conn_from(a, "::ffff:198.51.100.7", &x),
	    ADMIT_PER_ADDRESS);
	ss = sa_of("::ffff:198.51.100.7");
	ck_assert_str_eq(admit_key_str((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "198.51.100.7");
	admit_release(a, ac[0]);
	admit_release(a, ac[1]);
	ck_assert_int_eq(admit_total(a), 0);
	admit_free(a);
}
END_TEST

/* The total cap counts every address together. */
START_TEST(test_total)
{
	struct admit		*a = admit_new();
	struct admit_conn	*ac[3], *x;

	admit_set_limits(a, 0, 3);
	ck_assert_int_eq(conn_from(a, "192.0.2.1", &ac[0]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "192.0.2.2", &ac[1]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "2001:db8::1", &ac[2]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "192.0.2.3", &x), ADMIT_TOTAL);
	admit_bind(a, ac[0], 1, 1);
	ck_assert_int_eq(admit_done(a, 1, 1), 0);
	ck_assert_int_eq(conn_from(a, "192.0.2.3", &ac[0]), ADMIT_OK);
	/* Records still open are freed with the table. */
	admit_free(a);
}
END_TEST

/*
 * A worker releases only what it was handed and still holds: another
 * worker's connection, one never handed, or one reported twice are
 * refused, and none of them frees room for an address.
 */
START_TEST(test_done_checked)
{
	struct admit		*a = admit_new();
	struct admit_conn	*ac[3], *x;

	admit_set_limits(a, 3, 0);
	ck_assert_int_eq(conn_from(a, "192.0.2.9", &ac[0]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "192.0.2.9", &ac[1]), ADMIT_OK);
	ck_assert_int_eq(conn_from(a, "192.0.2.9", &ac[2]), ADMIT_OK);
	admit_bind(a, ac[0], 7, 1);
	admit_bind(a, ac[1], 7, 2);
	admit_bind(a, ac[2], 8, 1);
	ck_assert_int_eq(admit_done(a, 7, 3), -1);	/* never handed */
	ck_assert_int_eq(admit_done(a, 9, 1), -1);	/* no such worker */
	ck_assert_int_eq(admit_done(a, 0, 1), -1);	/* not an owner */
	ck_assert_int_eq(count_of(a, "192.0.2.9"), 3);
	ck_assert_int_eq(conn_from(a, "192.0.2.9", &x), ADMIT_PER_ADDRESS);
	ck_assert_int_eq(admit_done(a, 7, 1), 0);
	ck_assert_int_eq(admit_done(a, 7, 1), -1);	/* twice */
	ck_assert_int_eq(count_of(a, "192.0.2.9"), 2);
	/* A worker that dies releases what it held, and only that. */
	ck_assert_int_eq(admit_owner_gone(a, 7), 1);
	ck_assert_int_eq(count_of(a, "192.0.2.9"), 1);
	ck_assert_int_eq(admit_owner_gone(a, 7), 0);
	ck_assert_int_eq(admit_done(a, 8, 1), 0);
	ck_assert_int_eq(admit_total(a), 0);
	admit_free(a);
}
END_TEST

/*
 * Many connections over many addresses and workers, released in another
 * order: the counts come back to zero (the hash chains stay consistent).
 */
START_TEST(test_many)
{
	struct admit		*a = admit_new();
	struct admit_conn	*ac;
	char			 addr[32];
	int			 i, bad = 0;

	admit_set_limits(a, 100, 0);
	for (i = 0; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", (i / 250) % 40,
		    i % 250);
		if (conn_from(a, addr, &ac) != ADMIT_OK) {
			bad++;
			continue;
		}
		admit_bind(a, ac, (uint32_t)(i % 5) + 1, (uint32_t)(i / 5) + 1);
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(admit_total(a), 20000);
	ck_assert_int_eq(count_of(a, "10.0.0.0"), 2);
	for (i = 19999; i >= 0; i -= 2)
		bad += admit_done(a, (uint32_t)(i % 5) + 1,
		    (uint32_t)(i / 5) + 1) != 0;
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(admit_total(a), 10000);
	for (i = 1; i <= 5; i++)
		bad += admit_owner_gone(a, (uint32_t)i);
	ck_assert_int_eq(bad, 10000);
	ck_assert_int_eq(admit_total(a), 0);
	admit_free(a);
}
END_TEST

/*
 * Dispatch over four workers, one of them lying: after each connection
 * it gets, it reports everything it holds closed, so by its own reports
 * it is always the least loaded (the old rule sent it 100 of 100).  The
 * parent's round-robin gives it its share and no more.
 */
START_TEST(test_pick_not_steered)
{
	int		 ready[4] = { 1, 1, 1, 1 }, load[4] = { 0, 0, 0, 0 };
	int		 got[4] = { 0, 0, 0, 0 }, i, w;
	unsigned int	 cursor = 0;

	for (i = 0; i < 100; i++) {
		w = admit_pick(4, ready, load, 1000, &cursor);
		ck_assert_int_ge(w, 0);
		got[w]++;
		load[w]++;
		load[0] = 0;	/* worker 0's false reports */
	}
	ck_assert_int_eq(got[0], 25);
	ck_assert_int_eq(got[1], 25);
	ck_assert_int_eq(got[2], 25);
	ck_assert_int_eq(got[3], 25);
}
END_TEST

/* Not ready (or draining) and full workers are skipped; none: -1. */
START_TEST(test_pick_skips)
{
	int		 ready[3] = { 1, 0, 1 }, load[3] = { 5, 0, 0 };
	unsigned int	 cursor = 0;

	ck_assert_int_eq(admit_pick(3, ready, load, 5, &cursor), 2);
	ck_assert_int_eq(admit_pick(3, ready, load, 5, &cursor), 2);
	load[2] = 5;
	ck_assert_int_eq(admit_pick(3, ready, load, 5, &cursor), -1);
	load[0] = 4;
	ck_assert_int_eq(admit_pick(3, ready, load, 5, &cursor), 0);
	ck_assert_int_eq(admit_pick(0, ready, load, 5, &cursor), -1);
}
END_TEST

/* MSG_CONN_DONE carries 1..IPC_DONE_MAX numbers, exactly. */
START_TEST(test_conn_done_decode)
{
	struct ipc_buf	 b;
	struct ipc_msg	 m;
	uint32_t	 in[3] = { 5, 9, 4000000000u }, out[IPC_DONE_MAX], n;
	uint32_t	 raw[3];

	ck_assert_int_eq(ipc_encode_conn_done(&b, in, 3), 0);
	memset(&m, 0, sizeof(m));
	m.m_type = MSG_CONN_DONE;
	m.m_data = b.b_data;
	m.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(ipc_decode_conn_done(&m, out, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(out[0], 5);
	ck_assert_uint_eq(out[2], 4000000000u);
	/* One number short of what the count says. */
	m.m_off = 0;
	m.m_len -= 4;
	ck_assert_int_eq(ipc_decode_conn_done(&m, out, &n), -1);
	ipc_buf_clear(&b);
	ck_assert_int_eq(ipc_encode_conn_done(&b, in, 0), -1);
	ipc_buf_clear(&b);
	ck_assert_int_eq(ipc_encode_conn_done(&b, in, IPC_DONE_MAX + 1), -1);
	ipc_buf_clear(&b);

	/* Counts of 0 and above the maximum, written by hand. */
	raw[0] = 0;
	m.m_data = (unsigned char *)raw;
	m.m_len = 4;
	m.m_off = 0;
	ck_assert_int_eq(ipc_decode_conn_done(&m, out, &n), -1);
	raw[0] = IPC_DONE_MAX + 1;
	m.m_len = 12;
	m.m_off = 0;
	ck_assert_int_eq(ipc_decode_conn_done(&m, out, &n), -1);
	/* Bytes after the numbers. */
	raw[0] = 1;
	m.m_off = 0;
	ck_assert_int_eq(ipc_decode_conn_done(&m, out, &n), -1);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("admit");
	TCase	*tc = tcase_create("admit");

	tcase_add_test(tc, test_per_address);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_total);
	tcase_add_test(tc, test_done_checked);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_pick_not_steered);
	tcase_add_test(tc, test_pick_skips);
	tcase_add_test(tc, test_conn_done_decode);
	suite_add_tcase(s, tc);
	return s;
}
