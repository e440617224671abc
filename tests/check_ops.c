/*
 * check_ops.c — the pieces of issue 14 that are libraries: GCRA rates and
 * the client table, Retry-After, traceparent, the metrics table (its
 * transfer, merging, bounds and text), the redis script's reply, and the
 * access log's two forms.
 */
#include "build.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <check.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <hiredis/hiredis.h>

#include "accesslog.h"
#include "check_main.h"
#include "config.h"
#include "ipc.h"
#include "connector.h"
#include "keeper_limit.h"
#include "keeper_redis.h"
#include "log.h"
#include "metrics.h"
#include "oom.h"
#include "ratelimit.h"
#include "rowidx.h"
#include "trace.h"

/* --- rates ---------------------------------------------------------------- */

START_TEST(gcra_rate_and_burst)
{
	struct ratelimit	 rl;
	int64_t			 w, now = 1000000000;
	int			 i, ok = 0;

	/* 10 a second, bursts of 3: three at once, then one per 100 ms. */
	ratelimit_init(&rl, 10, 3);
	for (i = 0; i < 5; i++)
		ok += ratelimit_reserve(&rl, now, 0, &w);
	ck_assert_int_eq(ok, 3);
	ck_assert_int_eq(w, 100000);	/* the next one in 100 ms */
	ck_assert_int_eq(ratelimit_reserve(&rl, now + 100000, 0, &w), 1);
	ck_assert_int_eq(ratelimit_reserve(&rl, now + 100000, 0, &w), 0);
	/* A reservation ahead: allowed within max_wait, and it queues. */
	ck_assert_int_eq(ratelimit_reserve(&rl, now + 100000, 150000, &w), 1);
	ck_assert_int_eq(w, 100000);
	ck_assert_int_eq(ratelimit_reserve(&rl, now + 100000, 150000, &w), 0);
	ck_assert_int_eq(w, 200000);
	/* Idle long enough, the burst is back. */
	for (i = 0, ok = 0; i < 4; i++)
		ok += ratelimit_reserve(&rl, now + 10000000, 0, &w);
	ck_assert_int_eq(ok, 3);
}
END_TEST

START_TEST(gcra_slow_rate)
{
	struct ratelimit	 rl;
	int64_t			 w;

	ratelimit_init(&rl, 0.5, 1);	/* one every 2 s */
	ck_assert_int_eq(ratelimit_reserve(&rl, 0, 0, &w), 1);
	ck_assert_int_eq(ratelimit_reserve(&rl, 1000000, 0, &w), 0);
	ck_assert_int_eq(w, 1000000);
	ck_assert_int_eq(ratelimit_reserve(&rl, 2000000, 0, &w), 1);
}
END_TEST

START_TEST(client_table)
{
	struct ratelimit_table	*t;
	int64_t			 ra;
	char			 key[32];
	int			 i;

	ck_assert_ptr_nonnull(t = ratelimit_table_new(1, 2, 4));
	ck_assert_int_eq(ratelimit_table_check(t, "a", 0, &ra), 1);
	ck_assert_int_eq(ratelimit_table_check(t, "a", 0, &ra), 1);
	ck_assert_int_eq(ratelimit_table_check(t, "a", 0, &ra), 0);
	ck_assert_int_eq(ra, 1000000);
	/* Another key has its own budget. */
	ck_assert_int_eq(ratelimit_table_check(t, "b", 0, &ra), 1);
	/* Full with live keys: let through rather than refuse. */
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ratelimit_table_check(t, key, 0, &ra);
	}
	ck_assert_uint_le(ratelimit_table_count(t), 4);
	ck_assert_int_eq(ratelimit_table_check(t, "new", 0, &ra), 1);
	/* Later, passed entries are pruned and new keys tracked again. */
	ck_assert_int_eq(ratelimit_table_check(t, "late", 100000000, &ra), 1);
	ck_assert_int_eq(ratelimit_table_check(t, "late", 100000000, &ra), 1);
	ck_assert_int_eq(ratelimit_table_check(t, "late", 100000000, &ra), 0);
	ratelimit_table_free(t);
}
END_TEST

START_TEST(retry_after)
{
	ck_assert_int_eq(ratelimit_retry_after("120", 0), 120);
	ck_assert_int_eq(ratelimit_retry_after(" 7 ", 0), 7);
	ck_assert_int_eq(ratelimit_retry_after("0", 0), 0);
	/* Sun, 06 Nov 1994 08:49:37 GMT is 784111777. */
	ck_assert_int_eq(ratelimit_retry_after(
	    "Sun, 06 Nov 1994 08:49:37 GMT", 784111770), 7);
	ck_assert_int_eq(ratelimit_retry_after(
	    "Sun, 06 Nov 1994 08:49:37 GMT", 784111800), 0);
	ck_assert_int_eq(ratelimit_retry_after("-1", 0), -1);
	ck_assert_int_eq(ratelimit_retry_after("1.5", 0), -1);
	ck_assert_int_eq(ratelimit_retry_after("soon", 0), -1);
	ck_assert_int_eq(ratelimit_retry_after("99999999999", 0), -1);
	ck_assert_int_eq(ratelimit_retry_after(
	    "Sunday, 06-Nov-94 08:49:37 GMT", 0), -1);
}
END_TEST

/* --- traceparent ------------------------------------------------------------ */

static const char tp_ok[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

START_TEST(trace_parse_valid)
{
	struct trace	 t;
	char		 out[TRACE_HEADER_LEN + 1];
	char		 later[80];

	ck_assert_int_eq(trace_parse(tp_ok, strlen(tp_ok), &t), 0);
	ck_assert_int_eq(t.tr_id[0], 0x4b);
	ck_assert_int_eq(t.tr_span[7], 0xb7);
	ck_assert_int_eq(t.tr_flags, 1);
	trace_format(&t, out);
	ck_assert_str_eq(out, tp_ok);
	/* A later version with more fields after a '-'. */
	snprintf(later, sizeof(later), "cc%s-what-the-future-holds", tp_ok + 2);
	ck_assert_int_eq(trace_parse(later, strlen(later), &t), 0);
}
END_TEST

START_TEST(trace_parse_invalid)
{
	static const char *const bad[] = {
		"",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
		NULL
	};
	struct trace	 t;
	size_t		 i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(trace_parse(bad[i], strlen(bad[i]), &t) == -1,
		    "accepted %s", bad[i]);
}
END_TEST

/* Every byte value in every digit position: only 0-9 and a-f are digits. */
START_TEST(trace_parse_each_byte)
{
	static const int	 pos[] = { 0, 1, 3, 34, 36, 51, 53, 54 };
	struct trace		 t;
	char			 tp[sizeof(tp_ok)];
	size_t			 i;
	int			 c, digit;

	for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		for (c = 1; c < 256; c++) {
			memcpy(tp, tp_ok, sizeof(tp));
			tp[pos[i]] = (char)c;
			digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
			/* "ff" is the one version that is not one. */
			if (pos[i] <= 1 && tp[0] == 'f' && tp[1] == 'f')
				digit = 0;
			ck_assert_msg((trace_parse(tp, strlen(tp), &t) == 0) ==
			    digit, "byte 0x%02x at %d", c, pos[i]);
		}
	}
}
END_TEST

START_TEST(trace_begin_continue)
{
	struct trace	 t;
	uint8_t		 rnd[TRACE_RANDOM];
	char		 out[TRACE_HEADER_LEN + 1];

	memset(rnd, 0xab, sizeof(rnd));
	trace_begin(&t, tp_ok, rnd);
	trace_format(&t, out);
	/* The caller's trace id, our span. */
	ck_assert_int_eq(strncmp(out, tp_ok, 36), 0);
	ck_assert_str_eq(out + 36, "abababababababab-01");
	/* Invalid or absent: a new trace from the random bytes, sampled. */
	trace_begin(&t, "junk", rnd);
	trace_format(&t, out);
	ck_assert_str_eq(out, "00-abababababababababababababababab-"
	    "abababababababab-01");
	/* All-zero randomness never makes an invalid id. */
	memset(rnd, 0, sizeof(rnd));
	trace_begin(&t, NULL, rnd);
	trace_format(&t, out);
	ck_assert_int_eq(trace_parse(out, strlen(out), &t), 0);
}
END_TEST

/* --- metrics ---------------------------------------------------------------- */

/* Encode m and decode it into out through a received-frame shape. */
static int
roundtrip(const struct metrics *m, struct metrics *out)
{
	struct ipc_buf	 b;
	struct ipc_msg	 msg;
	int		 r;

	ck_assert_int_eq(metrics_encode(m, &b), 0);
	memset(&msg, 0, sizeof(msg));
	msg.m_data = b.b_data;
	msg.m_len = (uint32_t)b.b_len;
	msg.m_fd = -1;
	r = metrics_decode(&msg, out);
	ipc_buf_clear(&b);
	return r;
}

START_TEST(metrics_counts_and_transfer)
{
	struct metrics		*m, d;
	struct metrics_row	*r;

	ck_assert_ptr_nonnull(m = metrics_new());
	metrics_status(m, "acme", "weather", 200);
	metrics_status(m, "acme", "weather", 200);
	metrics_status(m, "acme", "weather", 502);
	metrics_status(m, NULL, NULL, 404);
	metrics_observe(m, "acme", "weather", 3000);	/* 0.003 s */
	metrics_observe(m, "acme", "weather", 20000000);	/* 20 s */
	metrics_add(m, "acme", "weather", MF_TOKEN_FETCHES, 2);
	metrics_global_set(m, MG_KEEPER_QUEUE, 7);
	metrics_global_add(m, MG_CACHE_EVICTIONS, 3);
	ck_assert_int_eq(m->m_dirty, 1);
	ck_assert_int_eq(roundtrip(m, &d), 0);
	ck_assert_uint_eq(d.m_nrows, 2);
	r = metrics_row(&d, "acme", "weather");
	ck_assert_uint_eq(r->mr_ncodes, 2);
	ck_assert_uint_eq(r->mr_codes[0].mc_count, 2);
	ck_assert_uint_eq(r->mr_buckets[0], 1);
	ck_assert_uint_eq(r->mr_buckets[METRICS_NBUCKETS - 1], 1);
	ck_assert_uint_eq(r->mr_fields[MF_TOKEN_FETCHES], 2);
	ck_assert_uint_eq(d.m_globals[MG_KEEPER_QUEUE], 7);
	/* An exited child leaves its counters, not its gauges. */
	metrics_merge(&d, m, 1);
	ck_assert_uint_eq(d.m_globals[MG_KEEPER_QUEUE], 7);
	ck_assert_uint_eq(d.m_globals[MG_CACHE_EVICTIONS], 6);
	ck_assert_uint_eq(metrics_row(&d, "acme", "weather")->mr_codes[0].
	    mc_count, 4);
	metrics_clear(&d);
	metrics_free(m);
}
END_TEST

/*
 * The keeper looks a call's row up once and counts into it: every
 * figure, and the text rendered from them, as when each count looked the
 * row up by its names.
 */
START_TEST(metrics_by_row)
{
	struct metrics_parent	 mp;
	struct metrics		*a, *b;
	struct metrics_row	*r;
	char			*ta, *tb;
	size_t			 la, lb;

	ck_assert_ptr_nonnull(a = metrics_new());
	ck_assert_ptr_nonnull(b = metrics_new());
	metrics_status(a, "t", "c0", 200);	/* another row first */
	metrics_status(b, "t", "c0", 200);
	metrics_add(a, "acme", "weather", MF_UPSTREAM_REQUESTS, 1);
	metrics_observe(a, "acme", "weather", 7000);
	metrics_add(a, "acme", "weather", MF_UPSTREAM_CONNECTS, 1);
	metrics_add(a, "acme", "weather", MF_UPSTREAM_RETRIES, 1);
	metrics_add(a, "acme", "weather", MF_REDACTIONS, 3);
	metrics_status(a, "acme", "weather", 429);
	b->m_dirty = 0;
	ck_assert_ptr_nonnull(r = metrics_row(b, "acme", "weather"));
	ck_assert_int_eq(b->m_dirty, 0);
	metrics_row_add(b, r, MF_UPSTREAM_REQUESTS, 1);
	ck_assert_int_eq(b->m_dirty, 1);
	b->m_dirty = 0;
	metrics_row_observe(b, r, 7000);
	ck_assert_int_eq(b->m_dirty, 1);
	metrics_row_add(b, r, MF_UPSTREAM_CONNECTS, 1);
	metrics_row_add(b, r, MF_UPSTREAM_RETRIES, 1);
	metrics_row_add(b, r, MF_REDACTIONS, 3);
	b->m_dirty = 0;
	metrics_row_status(b, r, 429);
	ck_assert_int_eq(b->m_dirty, 1);
	/* No row (out of memory), no table, no such field: nothing. */
	b->m_dirty = 0;
	metrics_row_add(b, NULL, MF_REDACTIONS, 1);
	metrics_row_observe(b, NULL, 1);
	metrics_row_status(b, NULL, 200);
	metrics_row_add(b, r, MF__COUNT, 1);
	metrics_row_add(NULL, r, MF_REDACTIONS, 1);
	metrics_row_observe(NULL, r, 1);
	metrics_row_status(NULL, r, 200);
	ck_assert_int_eq(b->m_dirty, 0);
	ck_assert_uint_eq(b->m_nrows, a->m_nrows);
	/* Fields, buckets and sum; the codes by the rendered text below. */
	ck_assert_mem_eq(r->mr_fields, metrics_row(a, "acme", "weather")->
	    mr_fields, offsetof(struct metrics_row, mr_codes) -
	    offsetof(struct metrics_row, mr_fields));
	ck_assert_uint_eq(r->mr_ncodes, 1);
	ck_assert_uint_eq(r->mr_codes[0].mc_status, 429);
	ck_assert_uint_eq(r->mr_fields[MF_REDACTIONS], 3);
	ck_assert_uint_eq(r->mr_buckets[1], 1);	/* 7 ms: under 0.01 s */
	ck_assert_uint_eq(r->mr_sum_us, 7000);
	memset(&mp, 0, sizeof(mp));
	ck_assert_ptr_nonnull(ta = metrics_render(a, &mp, &la));
	ck_assert_ptr_nonnull(tb = metrics_render(b, &mp, &lb));
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(ta, tb, la);
	free(ta);
	free(tb);
	metrics_free(a);
	metrics_free(b);
}
END_TEST

START_TEST(metrics_bounds)
{
	struct metrics		*m;
	struct metrics_row	*r;
	char			 name[32];
	int			 i;

	ck_assert_ptr_nonnull(m = metrics_new());
	for (i = 0; i < METRICS_MAX_ROWS + 50; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		metrics_status(m, "t", name, 200);
	}
	ck_assert_uint_eq(m->m_nrows, METRICS_MAX_ROWS);
	r = metrics_row(m, METRICS_OTHER, METRICS_OTHER);
	ck_assert_uint_eq(r->mr_codes[0].mc_count, 51);
	/* Statuses past the bound, and nonsense ones, count as "other". */
	for (i = 100; i < 100 + METRICS_MAX_CODES + 10; i++)
		metrics_status(m, "t", "c0", i);
	metrics_status(m, "t", "c0", 1000);
	r = metrics_row(m, "t", "c0");
	ck_assert_uint_eq(r->mr_ncodes, METRICS_MAX_CODES);
	ck_assert_uint_eq(r->mr_codes[METRICS_MAX_CODES - 1].mc_status, 0);
	metrics_free(m);
}
END_TEST

/*
 * Rows are found by their names among thousands (the index grows and is
 * rebuilt as they come): each keeps its own counts, names that differ
 * only in where the tenant ends are different rows, and a table that
 * crosses MSG_METRICS and a merge keeps every row apart.
 */
/*
 * A slot kept by a caller finds its row by place once found by name,
 * across new rows (the table moves) and after a clear (by name again).
 */
START_TEST(metrics_slot_kept)
{
	struct metrics		*m;
	struct metrics_slot	 s, o;
	char			 c[32];
	int			 i;

	ck_assert_ptr_nonnull(m = metrics_new());
	memset(&s, 0, sizeof(s));
	memset(&o, 0, sizeof(o));
	metrics_add(m, "t", "first", MF_UPSTREAM_REQUESTS, 1);
	metrics_row_add(m, metrics_row_slot(m, "t", "c", &s),
	    MF_UPSTREAM_REQUESTS, 1);
	ck_assert_uint_eq(s.ms_row, 2);
	for (i = 0; i < 100; i++) {
		snprintf(c, sizeof(c), "c%d", i);
		metrics_add(m, "t", c, MF_UPSTREAM_REQUESTS, 1);
		metrics_row_add(m, metrics_row_slot(m, "t", "c", &s),
		    MF_UPSTREAM_REQUESTS, 1);
	}
	ck_assert_uint_eq(s.ms_row, 2);
	ck_assert_str_eq(metrics_row_slot(m, "t", "c", &s)->mr_connector, "c");
	ck_assert_uint_eq(metrics_row(m, "t", "c")->
	    mr_fields[MF_UPSTREAM_REQUESTS], 101);
	/* Rows forgotten: found by name again, at its new place. */
	metrics_row_slot(m, "t", "other", &o);
	metrics_clear(m);
	metrics_add(m, "t", "c0", MF_UPSTREAM_REQUESTS, 1);
	ck_assert_str_eq(metrics_row_slot(m, "t", "c", &s)->mr_connector, "c");
	ck_assert_uint_eq(s.ms_row, 2);
	ck_assert_str_eq(metrics_row_slot(m, "t", "other", &o)->mr_connector,
	    "other");
	ck_assert_uint_eq(o.ms_row, 3);
	metrics_free(m);
}
END_TEST

START_TEST(metrics_many_rows)
{
	struct metrics		*m, d;
	struct metrics_row	*r;
	char			 t[32], c[32];
	int			 i, k;

	ck_assert_ptr_nonnull(m = metrics_new());
	for (i = 0; i < 3000; i++) {
		snprintf(t, sizeof(t), "t%d", i % 7);
		snprintf(c, sizeof(c), "c%d", i);
		for (k = 0; k <= i % 5; k++)
			metrics_status(m, t, c, 200 + i % 3);
	}
	metrics_status(m, "ab", "c", 200);
	metrics_status(m, "a", "bc", 200);
	metrics_status(m, "a", "bc", 200);
	ck_assert_uint_eq(m->m_nrows, 3002);
	for (i = 0; i < 3000; i++) {
		snprintf(t, sizeof(t), "t%d", i % 7);
		snprintf(c, sizeof(c), "c%d", i);
		r = metrics_row(m, t, c);
		ck_assert_str_eq(r->mr_connector, c);
		ck_assert_uint_eq(r->mr_ncodes, 1);
		ck_assert_uint_eq(r->mr_codes[0].mc_status, 200 + i % 3);
		ck_assert_uint_eq(r->mr_codes[0].mc_count, i % 5 + 1);
	}
	ck_assert_uint_eq(m->m_nrows, 3002);
	ck_assert_uint_eq(metrics_row(m, "ab", "c")->mr_codes[0].mc_count, 1);
	ck_assert_uint_eq(metrics_row(m, "a", "bc")->mr_codes[0].mc_count, 2);

	ck_assert_int_eq(roundtrip(m, &d), 0);
	ck_assert_uint_eq(d.m_nrows, 3002);
	ck_assert_int_eq(metrics_merge(&d, m, 1), 0);
	ck_assert_uint_eq(d.m_nrows, 3002);
	for (i = 0; i < 3000; i += 97) {
		snprintf(t, sizeof(t), "t%d", i % 7);
		snprintf(c, sizeof(c), "c%d", i);
		ck_assert_uint_eq(metrics_row(&d, t, c)->mr_codes[0].mc_count,
		    2 * (i % 5 + 1));
	}
	ck_assert_uint_eq(d.m_nrows, 3002);
	metrics_clear(&d);
	metrics_free(m);
}
END_TEST

/*
 * A rowidx gives each hash's rows, every one and only them, across its
 * growth: 5000 rows under 700 hashes, some of which share their low bits
 * (the slot they start from), others alike but for the high bits.
 */
START_TEST(rowidx_rows_by_hash)
{
	enum { ROWS = 5000, HASHES = 700 };
	static unsigned char	 seen[ROWS];
	struct rowidx		 ri;
	uint64_t		 h;
	size_t			 i, pos, r, n;

	memset(&ri, 0, sizeof(ri));
	pos = ROWIDX_BEGIN;
	ck_assert_uint_eq(rowidx_next(&ri, 1, &pos), 0);
	for (i = 0; i < ROWS; i++) {
		h = (uint64_t)(i % HASHES) << (i % 2 ? 40 : 3);
		ck_assert_int_eq(rowidx_add(&ri, h, i), 0);
	}
	ck_assert_uint_le(ri.ri_n * 2, ri.ri_cap);
	for (i = 0; i < HASHES; i++) {
		h = (uint64_t)i << (i % 2 ? 40 : 3);
		memset(seen, 0, sizeof(seen));
		n = 0;
		pos = ROWIDX_BEGIN;
		while ((r = rowidx_next(&ri, h, &pos)) != 0) {
			ck_assert_uint_le(r, ROWS);
			ck_assert_uint_eq((r - 1) % HASHES, i);
			ck_assert_uint_eq(seen[r - 1], 0);
			seen[r - 1] = 1;
			n++;
		}
		/* rows i, i + 700, ...: those of the right parity have h */
		for (r = i, pos = 0; r < ROWS; r += HASHES)
			if (r % 2 == i % 2)
				pos++;
		ck_assert_uint_eq(n, pos);
	}
	pos = ROWIDX_BEGIN;
	ck_assert_uint_eq(rowidx_next(&ri, 0xdeadbeefULL << 20, &pos), 0);
	rowidx_clear(&ri);
	ck_assert_uint_eq(ri.ri_cap, 0);
}
END_TEST

/*
 * rowidx_firsts gives each name the index of its first equal, as a walk
 * back would, below and above the size where it starts indexing: names
 * repeated in other cases, empty ones, and names whose hashes collide
 * in the low bits.
 */
START_TEST(rowidx_firsts_like_a_walk)
{
	static const size_t	 sizes[] = { 0, 1, 5, 8, 9, 60, 400 };
	static char		 buf[400][16];
	char			*names[400];
	size_t			 first[400], want, i, j, k;
	uint32_t		 seed = 7;
	int			 fold;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (fold = 0; fold < 2; fold++) {
			for (i = 0; i < sizes[k]; i++) {
				seed = seed * 1103515245 + 12345;
				/* 40 names, some in upper case, one empty */
				snprintf(buf[i], sizeof(buf[i]), (seed >> 20) %
				    40 == 0 ? "" : (seed >> 9) & 1 ? "N%u" :
				    "n%u", (seed >> 20) % 40);
				names[i] = buf[i];
			}
			rowidx_firsts(names, sizes[k], fold, first);
			for (i = 0; i < sizes[k]; i++) {
				for (j = 0; j < i; j++)
					if ((fold ? strcasecmp(names[j],
					    names[i]) : strcmp(names[j],
					    names[i])) == 0)
						break;
				want = j;
				ck_assert_msg(first[i] == want, "n %zu fold %d: "
				    "%s at %zu: first %zu, want %zu", sizes[k],
				    fold, names[i], i, first[i], want);
			}
		}
}
END_TEST

/* What a klimits callback said: -1 until it runs, then its status. */
static void
klimit_seen(void *arg, int status, int retry, const char *code,
    const char *detail)
{
	(void)retry;
	(void)code;
	(void)detail;
	*(int *)arg = status;
}

/*
 * What the klimits tests start from: an event base, its limits, a
 * connector's settings with a concurrency of one, and a deadline a
 * minute away.
 */
static void
klimits_setup(struct event_base **base, struct klimits **ks,
    struct conn_ext *e, struct timespec *deadline)
{
	ck_assert_ptr_nonnull(*base = event_base_new());
	ck_assert_ptr_nonnull(*ks = klimits_new(*base, NULL));
	memset(e, 0, sizeof(*e));
	e->ce_concurrency = 1;
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += 60;
}

/* Ten turns of the loop, none waiting: what is due is done. */
static void
klimits_settle(struct event_base *base)
{
	int	 i;

	for (i = 0; i < 10; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/*
 * An attempt asked for from inside a callback, as the keeper asks when a
 * worker's plan arrives: its go comes in the same pass of the loop (one
 * EVLOOP_ONCE), not after another epoll_wait; a refusal too.
 */
struct klimits_ask {
	struct klimits		*ka_ks;
	struct conn_ext		*ka_e;
	struct timespec		*ka_deadline;
	struct klwait		*ka_w[2];
	int			 ka_st[2];
};

static void
klimits_ask_cb(int fd, short what, void *arg)
{
	struct klimits_ask	*ka = arg;
	int			 i;

	(void)fd;
	(void)what;
	for (i = 0; i < 2; i++)
		ck_assert_ptr_nonnull(ka->ka_w[i] = klimits_acquire(ka->ka_ks,
		    "t", "c", ka->ka_e, ka->ka_deadline, klimit_seen,
		    &ka->ka_st[i]));
	/* called back from the loop, never from inside the asking */
	ck_assert_int_eq(ka->ka_st[0], -1);
}

START_TEST(klimits_same_pass)
{
	struct event_base	*base;
	struct klimits		*ks;
	struct event		*ev;
	struct conn_ext		 e;
	struct timespec		 deadline;
	struct klimits_ask	 ka;

	klimits_setup(&base, &ks, &e, &deadline);
	/*
	 * A rate of one a second, a burst of one, and a window of 1.5 s
	 * (the last second kept for the call): the second attempt would
	 * wait a second, so it is refused at once.
	 */
	e.ce_concurrency = 0;
	e.ce_rate = 1;
	e.ce_burst = 1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += 500000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	deadline.tv_sec++;
	memset(&ka, 0, sizeof(ka));
	ka.ka_ks = ks;
	ka.ka_e = &e;
	ka.ka_deadline = &deadline;
	ka.ka_st[0] = ka.ka_st[1] = -1;
	ck_assert_ptr_nonnull(ev = event_new(base, -1, 0, klimits_ask_cb,
	    &ka));
	event_active(ev, EV_READ, 1);
	event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(ka.ka_st[0], 0);
	ck_assert_int_eq(ka.ka_st[1], 429);
	klimits_release(ka.ka_w[0]);
	event_free(ev);
	klimits_free(ks);
	event_base_free(base);
}
END_TEST

/* An entry kept by a caller is the one its names find. */
START_TEST(klimits_entry_kept)
{
	struct event_base	*base;
	struct klimits		*ks;
	struct klimit		*kl;
	struct klwait		*w, *w2;
	struct conn_ext		 e;
	struct timespec		 deadline;
	int			 st = -1, st2 = -1;

	klimits_setup(&base, &ks, &e, &deadline);
	ck_assert_ptr_nonnull(kl = klimits_entry(ks, "t", "c"));
	ck_assert_ptr_eq(klimits_entry(ks, "t", "c"), kl);
	ck_assert_ptr_ne(klimits_entry(ks, "t", "d"), kl);
	/* Its one slot taken by entry, the next by name waits for it. */
	ck_assert_ptr_nonnull(w = klimits_acquire_at(ks, kl, &e, &deadline,
	    ratelimit_now(), klimit_seen, &st));
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(st, 0);
	ck_assert_ptr_nonnull(w2 = klimits_acquire(ks, "t", "c", &e, &deadline,
	    klimit_seen, &st2));
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(st2, -1);
	ck_assert_uint_eq(klimits_queued(ks), 1);
	klimits_release(w);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(st2, 0);
	klimits_release(w2);
	klimits_free(ks);
	event_base_free(base);
}
END_TEST

/*
 * Each connector has its own limit among thousands (found by name, not
 * by a walk): with a concurrency of one, every connector's first attempt
 * goes, and a second attempt waits for its own connector's slot only.
 * Names that differ only in where the tenant ends are different limits.
 */
START_TEST(klimits_by_name)
{
	enum { N = 3000 };
	static struct klwait	*w[N + 2];
	static int		 st[N + 2];
	struct event_base	*base;
	struct klimits		*ks;
	struct klwait		*again;
	struct conn_ext		 e;
	struct timespec		 deadline;
	char			 t[32], c[32];
	int			 i, st2 = -1;

	klimits_setup(&base, &ks, &e, &deadline);
	for (i = 0; i < N; i++) {
		snprintf(t, sizeof(t), "t%d", i % 7);
		snprintf(c, sizeof(c), "c%d", i);
		st[i] = -1;
		ck_assert_ptr_nonnull(w[i] = klimits_acquire(ks, t, c, &e,
		    &deadline, klimit_seen, &st[i]));
	}
	st[N] = st[N + 1] = -1;
	w[N] = klimits_acquire(ks, "ab", "c", &e, &deadline, klimit_seen,
	    &st[N]);
	w[N + 1] = klimits_acquire(ks, "a", "bc", &e, &deadline, klimit_seen,
	    &st[N + 1]);
	klimits_settle(base);
	for (i = 0; i < N + 2; i++)
		ck_assert_msg(st[i] == 0, "attempt %d: %d", i, st[i]);

	again = klimits_acquire(ks, "t5", "c5", &e, &deadline, klimit_seen,
	    &st2);
	klimits_settle(base);
	ck_assert_int_eq(st2, -1);
	ck_assert_uint_eq(klimits_queued(ks), 1);
	klimits_release(w[5 + 7]);	/* t5/c12: another connector */
	klimits_settle(base);
	ck_assert_int_eq(st2, -1);
	klimits_release(w[5]);
	klimits_settle(base);
	ck_assert_int_eq(st2, 0);
	klimits_release(again);
	for (i = 0; i < N + 2; i++)
		if (i != 5 && i != 5 + 7)
			klimits_release(w[i]);
	klimits_free(ks);
	event_base_free(base);
}
END_TEST

/*
 * Every attempt waits once: a wait released is kept for the next, which
 * then allocates nothing (none kept in a sanitizer build), and starts
 * from nothing of the last one's.
 */
START_TEST(klimits_wait_kept)
{
	struct event_base	*base;
	struct klimits		*ks;
	struct klwait		*w;
	struct conn_ext		 e;
	struct timespec		 deadline;
	int			 st = -1, i, fired;
#ifdef WIDGETD_SANITIZED
	const int		 kept = 0;
#else
	const int		 kept = 1;
#endif

	klimits_setup(&base, &ks, &e, &deadline);
	for (i = 0; i < 3; i++) {
		st = -1;
		/* no assertion while armed: check's own allocate */
		oom_arm(i == 0 ? 100 : 0);
		w = klimits_acquire(ks, "t", "c", &e, &deadline, klimit_seen,
		    &st);
		fired = oom_disarm();
		ck_assert_int_eq(fired, (i == 0 ? 0 : !kept));
		if (w == NULL)
			continue;
		event_base_loop(base, EVLOOP_NONBLOCK);
		/* its slot: the last one's was given back */
		ck_assert_int_eq(st, 0);
		ck_assert_uint_eq(klimits_queued(ks), 0);
		klimits_release(w);
	}
	/* The one kept goes with the rest (valgrind). */
	klimits_free(ks);
	event_base_free(base);
}
END_TEST

START_TEST(metrics_decode_refuses)
{
	struct ipc_buf	 b;
	struct ipc_msg	 msg;
	struct metrics	 d, *m;
	char		 name[32];
	size_t		 i;

	/* A global count other than ours. */
	ipc_buf_init(&b);
	ipc_put_u32(&b, MG__COUNT + 1);
	memset(&msg, 0, sizeof(msg));
	msg.m_data = b.b_data;
	msg.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(metrics_decode(&msg, &d), -1);
	ipc_buf_clear(&b);
	/* A label a Prometheus line could not carry as it is. */
	ipc_buf_init(&b);
	ipc_put_u32(&b, MG__COUNT);
	for (i = 0; i < MG__COUNT; i++)
		ipc_put_u64(&b, 0);
	ipc_put_u32(&b, 1);
	ipc_put_str(&b, "te\"nant");
	ipc_put_str(&b, "c");
	memset(&msg, 0, sizeof(msg));
	msg.m_data = b.b_data;
	msg.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(metrics_decode(&msg, &d), -1);
	ck_assert_uint_eq(d.m_nrows, 0);
	ipc_buf_clear(&b);
	/* A row named twice (past the index's first growth) would count twice. */
	ck_assert_ptr_nonnull(m = metrics_new());
	for (i = 0; i < 41; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		metrics_status(m, "t", name, 200);
	}
	ck_assert_int_eq(roundtrip(m, &d), 0);
	metrics_clear(&d);
	free(m->m_rows[40].mr_connector);
	ck_assert_ptr_nonnull(m->m_rows[40].mr_connector = strdup("c3"));
	ck_assert_int_eq(roundtrip(m, &d), -1);
	ck_assert_uint_eq(d.m_nrows, 0);
	metrics_free(m);
}
END_TEST

START_TEST(metrics_text)
{
	struct metrics		*m;
	struct metrics_parent	 mp;
	char			*text;
	size_t			 len;

	ck_assert_ptr_nonnull(m = metrics_new());
	metrics_status(m, "acme", "weather", 200);
	metrics_observe(m, "acme", "weather", 40000);
	metrics_add(m, "acme", "weather", MF_LIMIT_RATE, 4);
	memset(&mp, 0, sizeof(mp));
	mp.mp_respawns[1] = 2;
	ck_assert_ptr_nonnull(text = metrics_render(m, &mp, &len));
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE widgetd_requests_total "
	    "counter\nwidgetd_requests_total{tenant=\"acme\",connector="
	    "\"weather\",status=\"200\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "widgetd_upstream_duration_seconds"
	    "_bucket{tenant=\"acme\",connector=\"weather\",le=\"0.025\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "widgetd_upstream_duration_seconds"
	    "_bucket{tenant=\"acme\",connector=\"weather\",le=\"0.05\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "le=\"+Inf\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "widgetd_ratelimit_refusals_total{"
	    "tenant=\"acme\",connector=\"weather\",limit=\"upstream_rate\"} "
	    "4\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "widgetd_respawns_total{role=\"keeper\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE widgetd_keeper_queue_depth "
	    "gauge\n"));
	ck_assert_int_eq(text[len - 1], '\n');
	free(text);
	metrics_free(m);
}
END_TEST

/* --- the redis script's reply ---------------------------------------------- */

static int
reply_of(const char *resp, enum kredis_result *res, int64_t *wait)
{
	redisReader	*rd;
	void		*reply = NULL;
	int		 r = -2;

	ck_assert_ptr_nonnull(rd = redisReaderCreate());
	kredis_reader_bound(rd, NULL);	/* as the keeper's connection */
	redisReaderFeed(rd, resp, strlen(resp));
	if (redisReaderGetReply(rd, &reply) == REDIS_OK && reply != NULL) {
		r = kredis_reply_parse(reply, res, wait);
		freeReplyObject(reply);
	}
	redisReaderFree(rd);
	return r;
}

START_TEST(redis_reply)
{
	enum kredis_result	 res;
	int64_t			 w;

	ck_assert_int_eq(reply_of("*2\r\n:1\r\n:250000\r\n", &res, &w), 0);
	ck_assert_int_eq(res, KREDIS_RESERVED);
	ck_assert_int_eq(w, 250000);
	ck_assert_int_eq(reply_of("*2\r\n:0\r\n:3000000\r\n", &res, &w), 0);
	ck_assert_int_eq(res, KREDIS_REFUSED);
	ck_assert_int_eq(reply_of("-ERR no script\r\n", &res, &w), -1);
	ck_assert_int_eq(reply_of("*2\r\n:2\r\n:0\r\n", &res, &w), -1);
	ck_assert_int_eq(reply_of("*2\r\n:1\r\n:-5\r\n", &res, &w), -1);
	ck_assert_int_eq(reply_of("*3\r\n:1\r\n:0\r\n:0\r\n", &res, &w), -1);
	ck_assert_int_eq(reply_of("*2\r\n$1\r\n1\r\n:0\r\n", &res, &w), -1);
	ck_assert_int_eq(reply_of("*-1\r\n", &res, &w), -1);
	ck_assert_int_eq(reply_of(":1\r\n", &res, &w), -1);
}
END_TEST

/* What hiredis's reader says of a stream: REDIS_OK (reply or not yet). */
static int
reader_status(const char *resp)
{
	redisReader	*rd;
	void		*reply = NULL;
	int		 r;

	ck_assert_ptr_nonnull(rd = redisReaderCreate());
	kredis_reader_bound(rd, NULL);
	redisReaderFeed(rd, resp, strlen(resp));
	r = redisReaderGetReply(rd, &reply);
	if (reply != NULL)
		freeReplyObject(reply);
	redisReaderFree(rd);
	return r;
}

/*
 * An array header asks for its count at once (hiredis 0.14 callocs it):
 * past KREDIS_MAX_ELEMENTS it is a reader error, never an allocation.
 * Found by fuzz_redis ("*999999999": 8 GB).
 */
START_TEST(redis_reply_bounded)
{
	ck_assert_int_eq(reader_status("*999999999\r\n"), REDIS_ERR);
	ck_assert_int_eq(reader_status("*2\r\n*17\r\n"), REDIS_ERR);
	/* Nested, 16 of 16 to depth 7 would keep 16^7 replies parsed. */
	ck_assert_int_eq(reader_status("*2\r\n*1\r\n"), REDIS_ERR);
	ck_assert_int_eq(reader_status("*16\r\n"), REDIS_OK);
	ck_assert_int_eq(reader_status("*2\r\n:1\r\n:0\r\n"), REDIS_OK);
}
END_TEST

/* --- the keeper's connection to a redis that is not one ------------------- */

/* The test is the server, on loopback, and turns the keeper's loop. */
struct fake_redis {
	struct event_base	*fr_base;
	struct metrics		*fr_m;
	struct kredis		*fr_r;
	int			 fr_lfd;	/* listening */
	int			 fr_fd;		/* the keeper's connection */
	int			 fr_answers;
	enum kredis_result	 fr_res;
	int			 fr_said_up;	/* "connected" lines */
	int			 fr_said_down;	/* warnings */
};

/* What the keeper logged while the test ran. */
static void
fake_log(int prio, const char *line, void *arg)
{
	struct fake_redis	*f = arg;

	if (prio <= LOG_WARNING)
		f->fr_said_down++;
	else if (strstr(line, ": connected; ") != NULL)
		f->fr_said_up++;
}

/* The fake server listening on loopback with backlog; no keeper yet. */
static void
fake_listen(struct fake_redis *f, int backlog, struct sockaddr_in *sin)
{
	socklen_t	 len = sizeof(*sin);

	memset(f, 0, sizeof(*f));
	ck_assert_ptr_nonnull(f->fr_base = event_base_new());
	ck_assert_ptr_nonnull(f->fr_m = metrics_new());
	f->fr_fd = -1;
	ck_assert_int_ne(f->fr_lfd = socket(AF_INET, SOCK_STREAM |
	    SOCK_NONBLOCK, 0), -1);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(f->fr_lfd, (struct sockaddr *)sin,
	    sizeof(*sin)), 0);
	ck_assert_int_eq(listen(f->fr_lfd, backlog), 0);
	ck_assert_int_eq(getsockname(f->fr_lfd, (struct sockaddr *)sin,
	    &len), 0);
	log_set_forward(fake_log, f);
}

static void
fake_keeper(struct fake_redis *f, const struct sockaddr_in *sin)
{
	ck_assert_ptr_nonnull(f->fr_r = kredis_new(f->fr_base, "127.0.0.1",
	    ntohs(sin->sin_port), "t", f->fr_m));
}

/* The keeper's PING on f->fr_fd within ms, whole: 1, else 0. */
static int
fake_ping(struct fake_redis *f, int ms)
{
	static const char	 ping[] = "*1\r\n$4\r\nPING\r\n";
	char			 buf[sizeof(ping)];
	size_t			 off = 0;
	ssize_t			 n;
	int64_t			 end = ratelimit_now() + ms * 1000LL;

	while (off < sizeof(ping) - 1 && ratelimit_now() < end) {
		event_base_loop(f->fr_base, EVLOOP_NONBLOCK);
		if ((n = recv(f->fr_fd, buf + off, sizeof(ping) - 1 - off,
		    0)) > 0)
			off += (size_t)n;
		else
			usleep(1000);
	}
	return off == sizeof(ping) - 1 && memcmp(buf, ping, off) == 0;
}

/* The keeper connected on f->fr_fd has its PONG, and is up. */
static void
fake_up(struct fake_redis *f)
{
	int64_t	 end;

	ck_assert(fake_ping(f, 2000));
	ck_assert_int_eq(send(f->fr_fd, "+PONG\r\n", 7, MSG_NOSIGNAL), 7);
	for (end = ratelimit_now() + 2000000; !kredis_connected(f->fr_r) &&
	    ratelimit_now() < end; usleep(1000))
		event_base_loop(f->fr_base, EVLOOP_NONBLOCK);
	ck_assert(kredis_connected(f->fr_r));
	ck_assert_uint_eq(f->fr_m->m_globals[MG_REDIS_UP], 1);
}

static void
fake_answer(void *arg, enum kredis_result res, int64_t wait)
{
	struct fake_redis	*f = arg;

	f->fr_answers++;
	f->fr_res = res;
}

/* The keeper's next connection, within ms; -1 when none came. */
static int
fake_accept(struct fake_redis *f, int ms)
{
	int64_t	 end = ratelimit_now() + ms * 1000LL;
	int	 fd;

	while (ratelimit_now() < end) {
		event_base_loop(f->fr_base, EVLOOP_NONBLOCK);
		if ((fd = accept4(f->fr_lfd, NULL, NULL, SOCK_NONBLOCK)) != -1)
			return fd;
		usleep(1000);
	}
	return -1;
}

/* A keeper connected to the fake server, with one reservation asked. */
static void
fake_start(struct fake_redis *f)
{
	struct sockaddr_in	 sin;

	fake_listen(f, 4, &sin);
	fake_keeper(f, &sin);
	ck_assert_int_ne(f->fr_fd = fake_accept(f, 2000), -1);
	fake_up(f);
	ck_assert_ptr_nonnull(kredis_reserve(f->fr_r, "k", 10, 1, 0,
	    fake_answer, f));
}

static void
fake_end(struct fake_redis *f)
{
	kredis_free(f->fr_r);
	log_set_forward(NULL, NULL);
	if (f->fr_fd != -1)
		close(f->fr_fd);
	close(f->fr_lfd);
	metrics_free(f->fr_m);
	event_base_free(f->fr_base);
}

/* This process's end of the connection fd: the keeper's socket. */
static int
fake_keeper_fd(int fd)
{
	struct sockaddr_storage	 peer, ss;
	socklen_t		 plen = sizeof(peer), len;
	int			 k;

	ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&peer, &plen), 0);
	for (k = 3; k < 1024; k++) {
		len = sizeof(ss);
		if (k != fd && getsockname(k, (struct sockaddr *)&ss,
		    &len) == 0 && len == plen && memcmp(&ss, &peer, len) == 0)
			return k;
	}
	return -1;
}

/* Read what the keeper sent (got: some); 1 once it has closed. */
static int
fake_read(struct fake_redis *f, int *got)
{
	char	 cmd[4096];
	ssize_t	 n;

	while ((n = recv(f->fr_fd, cmd, sizeof(cmd), 0)) > 0)
		*got = 1;
	return n == 0 || errno != EAGAIN;
}

/*
 * Answer the reservation with head and then fill for ever, a KiB at a
 * time, each once the keeper has read the one before: what was sent when
 * the keeper closes is what it read (the kernel's buffers hold none of
 * it).  The bytes sent; -1 when the keeper still reads after 4 MiB.
 */
static long
fake_stream(struct fake_redis *f, const char *head, int fill)
{
	char	 buf[1024];
	long	 sent;
	int	 kfd, queued, got = 0, one = 1;

	ck_assert_int_ne(kfd = fake_keeper_fd(f->fr_fd), -1);
	/*
	 * Nor this end's: after the PING's round trip the keeper delays its
	 * ACKs, and Nagle would hold each KiB until one came.
	 */
	ck_assert_int_eq(setsockopt(f->fr_fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)), 0);
	memset(buf, fill, sizeof(buf));
	for (sent = 0; sent < 4 * 1024 * 1024; ) {
		event_base_loop(f->fr_base, EVLOOP_NONBLOCK);
		if (fake_read(f, &got))
			return sent;
		if (!got || ioctl(kfd, FIONREAD, &queued) == -1 || queued > 0)
			continue;
		if (sent == 0) {
			ck_assert_int_eq(send(f->fr_fd, head, strlen(head),
			    MSG_NOSIGNAL), (ssize_t)strlen(head));
			sent = strlen(head);
		} else if (send(f->fr_fd, buf, sizeof(buf), MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(buf))
			sent += sizeof(buf);
	}
	return -1;
}

/*
 * The keeper dropped the connection as on any error: the reservation is
 * unavailable (the local rate applies), one error is counted, and the
 * keeper connects again a second later.
 */
static void
fake_dropped(struct fake_redis *f)
{
	int	 fd;

	ck_assert_int_eq(f->fr_answers, 1);
	ck_assert_int_eq(f->fr_res, KREDIS_UNAVAILABLE);
	ck_assert_uint_eq(f->fr_m->m_globals[MG_REDIS_ERRORS], 1);
	ck_assert(!kredis_connected(f->fr_r));
	ck_assert_int_ne(fd = fake_accept(f, 3000), -1);
	close(fd);
}

/*
 * A reply that never ends (head, then fill for ever): the keeper drops the
 * connection once it holds more than KREDIS_MAX_BUFFER bytes of it (one
 * read of 16 KiB more at the most).
 */
static void
fake_endless(const char *head, int fill)
{
	struct fake_redis	 f;
	long			 sent;

	fake_start(&f);
	sent = fake_stream(&f, head, fill);
	ck_assert_int_gt(sent, KREDIS_MAX_BUFFER);
	ck_assert_int_le(sent, KREDIS_MAX_BUFFER + 16384);
	fake_dropped(&f);
	fake_end(&f);
}

/* hiredis 0.14 keeps a bulk string until its last byte, however long. */
START_TEST(redis_bulk_bounded)
{
	fake_endless("$1000000000\r\n", 'x');
}
END_TEST

/* A line without its CRLF is kept whole too. */
START_TEST(redis_line_bounded)
{
	fake_endless("+", 'A');
}
END_TEST

/*
 * A protocol error drops the connection from within hiredis's read: the
 * keeper's adapter must not touch what hiredis freed.
 */
START_TEST(redis_protocol_error)
{
	struct fake_redis	 f;

	fake_start(&f);
	ck_assert_int_eq(fake_stream(&f, "*999999999\r\n", 'x'), 12);
	fake_dropped(&f);
	fake_end(&f);
}
END_TEST

/*
 * A server that never answers: the reservation's timer answers it and
 * drops the connection at once, not once the reply has come.
 */
START_TEST(redis_silent)
{
	struct fake_redis	 f;
	int64_t			 end;
	int			 got = 0, closed = 0;

	fake_start(&f);
	for (end = ratelimit_now() + 3000000; !closed &&
	    ratelimit_now() < end; usleep(1000)) {
		event_base_loop(f.fr_base, EVLOOP_NONBLOCK);
		closed = fake_read(&f, &got);
	}
	ck_assert(got && closed);
	fake_dropped(&f);
	fake_end(&f);
}
END_TEST

/* A loopback connect(2) to sin, in progress or made. */
static int
fake_connect(const struct sockaddr_in *sin)
{
	int	 fd;

	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK,
	    0), -1);
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1)
		ck_assert_int_eq(errno, EINPROGRESS);
	return fd;
}

/* Whether a connect(2) completes within ms. */
static int
fake_connected(int fd, int ms)
{
	struct pollfd	 pfd = { fd, POLLOUT, 0 };

	return poll(&pfd, 1, ms) == 1;
}

/* The local port of an IPv4 socket fd; -1 when fd is none. */
static int
fake_port(int fd)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    sin.sin_family != AF_INET)
		return -1;
	return ntohs(sin.sin_port);
}

/* This process's one TCP socket whose connect(2) is in progress. */
static int
fake_connecting(void)
{
	struct tcp_info	 ti;
	socklen_t	 len;
	int		 k;

	for (k = 3; k < 1024; k++) {
		len = sizeof(ti);
		if (fake_port(k) != -1 && getsockopt(k, IPPROTO_TCP, TCP_INFO,
		    &ti, &len) == 0 && ti.tcpi_state == TCP_SYN_SENT)
			return k;
	}
	return -1;
}

/*
 * A connect(2) that does not complete: the listen queue is full, so the
 * kernel drops the keeper's SYN and would send it again for two minutes.
 * The keeper gives the connection up within KREDIS_CONNECT_MS (1 s), its
 * callers going on with the local share meanwhile, and connects again
 * with a new socket a second later.
 */
START_TEST(redis_connect_hangs)
{
	struct fake_redis	 f;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int64_t			 t0, end;
	int			 filler, probe, k, port, fd;

	fake_listen(&f, 0, &sin);
	filler = fake_connect(&sin);
	ck_assert(fake_connected(filler, 1000));
	probe = fake_connect(&sin);
	ck_assert_msg(!fake_connected(probe, 200), "a connect to a full "
	    "listen queue completed: the kernel does not drop the SYN");
	close(probe);

	t0 = ratelimit_now();
	fake_keeper(&f, &sin);
	ck_assert_int_ne(k = fake_connecting(), -1);
	port = fake_port(k);
	for (end = t0 + 3000000; fake_port(k) == port &&
	    ratelimit_now() < end; usleep(1000)) {
		event_base_loop(f.fr_base, EVLOOP_NONBLOCK);
		ck_assert(!kredis_connected(f.fr_r));
		ck_assert_ptr_null(kredis_reserve(f.fr_r, "k", 10, 1, 0,
		    fake_answer, &f));
	}
	ck_assert_msg(fake_port(k) != port, "the keeper still waits for "
	    "its connect after 3 s");
	ck_assert_int_le(ratelimit_now() - t0, 1800000);
	ck_assert_int_eq(f.fr_said_down, 1);
	ck_assert_uint_eq(f.fr_m->m_globals[MG_REDIS_UP], 0);
	ck_assert_uint_eq(f.fr_m->m_globals[MG_REDIS_ERRORS], 0);

	/* The queue empties: the next attempt, a new socket, connects. */
	close(filler);
	ck_assert_int_ne(fd = fake_accept(&f, 1000), -1);
	close(fd);
	ck_assert_int_ne(f.fr_fd = fake_accept(&f, 3000), -1);
	ck_assert_int_eq(getpeername(f.fr_fd, (struct sockaddr *)&sin, &len),
	    0);
	ck_assert_int_ne(ntohs(sin.sin_port), port);
	fake_up(&f);
	ck_assert_int_eq(f.fr_said_down, 1);
	ck_assert_int_eq(f.fr_said_up, 1);
	ck_assert_int_eq(f.fr_answers, 0);
	fake_end(&f);
}
END_TEST

/*
 * A redis-server that is stopped: the kernel still accepts connections
 * for it, and nothing answers.  The link drops (a reservation's 500 ms),
 * and each connection after is given up when its PING has no answer in
 * KREDIS_CONNECT_MS (nor one that is not PONG): none counts as up, the
 * log says the loss once, not once a connection, and callers go on with
 * the local share at once meanwhile.  Once redis answers, the link is up
 * again, and said so once.
 */
START_TEST(redis_stalled)
{
	static const char	 loading[] = "-LOADING Redis is loading\r\n";
	struct fake_redis	 f;
	int64_t			 t0, end;
	int			 i, got = 0, closed = 0;

	fake_start(&f);
	ck_assert_int_eq(f.fr_said_up, 1);
	ck_assert_int_eq(f.fr_said_down, 0);
	for (end = ratelimit_now() + 3000000; !closed &&
	    ratelimit_now() < end; usleep(1000)) {
		event_base_loop(f.fr_base, EVLOOP_NONBLOCK);
		closed = fake_read(&f, &got);
	}
	ck_assert(closed);
	ck_assert_int_eq(f.fr_answers, 1);
	ck_assert_int_eq(f.fr_res, KREDIS_UNAVAILABLE);
	/* "no answer in 500 ms", "connection lost" */
	ck_assert_int_eq(f.fr_said_down, 2);

	for (i = 0; i < 2; i++) {
		close(f.fr_fd);
		ck_assert_int_ne(f.fr_fd = fake_accept(&f, 3000), -1);
		t0 = ratelimit_now();
		ck_assert(fake_ping(&f, 1000));
		if (i == 1)
			ck_assert_int_eq(send(f.fr_fd, loading,
			    strlen(loading), MSG_NOSIGNAL),
			    (ssize_t)strlen(loading));
		for (closed = 0, end = t0 + 3000000; !closed &&
		    ratelimit_now() < end; usleep(1000)) {
			event_base_loop(f.fr_base, EVLOOP_NONBLOCK);
			ck_assert(!kredis_connected(f.fr_r));
			ck_assert_uint_eq(f.fr_m->m_globals[MG_REDIS_UP], 0);
			ck_assert_ptr_null(kredis_reserve(f.fr_r, "k", 10, 1,
			    0, fake_answer, &f));
			closed = fake_read(&f, &got);
		}
		ck_assert_msg(closed, "the keeper still waits for its PONG "
		    "after 3 s");
		ck_assert_int_le(ratelimit_now() - t0, 1800000);
	}
	ck_assert_int_eq(f.fr_said_up, 1);
	ck_assert_int_eq(f.fr_said_down, 2);
	ck_assert_int_eq(f.fr_answers, 1);
	ck_assert_uint_eq(f.fr_m->m_globals[MG_REDIS_ERRORS], 1);

	close(f.fr_fd);
	ck_assert_int_ne(f.fr_fd = fake_accept(&f, 3000), -1);
	fake_up(&f);
	ck_assert_int_eq(f.fr_said_up, 2);
	ck_assert_int_eq(f.fr_said_down, 2);
	fake_end(&f);
}
END_TEST

/*
 * Replies in one read: hiredis parses each before it takes its command
 * off the list.  Two asked for pass; one more, nobody asked for, drops
 * the connection (hiredis 0.14 would assert, and abort the keeper).
 */
static void
fake_replies(struct fake_redis *f, int asked, const char *replies)
{
	int64_t	 end;
	int	 i, got = 0;

	for (i = 1; i < asked; i++)
		ck_assert_ptr_nonnull(kredis_reserve(f->fr_r, "k", 10, 1, 0,
		    fake_answer, f));
	for (end = ratelimit_now() + 100000; ratelimit_now() < end;
	    usleep(1000)) {
		event_base_loop(f->fr_base, EVLOOP_NONBLOCK);
		ck_assert_int_eq(fake_read(f, &got), 0);
	}
	ck_assert(got);
	ck_assert_int_eq(send(f->fr_fd, replies, strlen(replies),
	    MSG_NOSIGNAL), (ssize_t)strlen(replies));
	for (end = ratelimit_now() + 500000; f->fr_answers < asked &&
	    ratelimit_now() < end; usleep(1000))
		event_base_loop(f->fr_base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(f->fr_answers, asked);
	ck_assert_int_eq(f->fr_res, KREDIS_RESERVED);
}

START_TEST(redis_unasked)
{
	struct fake_redis	 f;
	int64_t			 end;
	int			 fd, got = 0, closed = 0;

	fake_start(&f);
	fake_replies(&f, 2, "*2\r\n:1\r\n:0\r\n*2\r\n:1\r\n:0\r\n");
	ck_assert(kredis_connected(f.fr_r));
	ck_assert_uint_eq(f.fr_m->m_globals[MG_REDIS_ERRORS], 0);
	fake_end(&f);

	fake_start(&f);
	fake_replies(&f, 1, "*2\r\n:1\r\n:0\r\n:1\r\n");
	for (end = ratelimit_now() + 1000000; !closed &&
	    ratelimit_now() < end; usleep(1000)) {
		event_base_loop(f.fr_base, EVLOOP_NONBLOCK);
		closed = fake_read(&f, &got);
	}
	ck_assert(closed);
	/* Every command was answered: none failed. */
	ck_assert_uint_eq(f.fr_m->m_globals[MG_REDIS_ERRORS], 0);
	ck_assert(!kredis_connected(f.fr_r));
	ck_assert_int_ne(fd = fake_accept(&f, 3000), -1);
	close(fd);
	fake_end(&f);
}
END_TEST

/*
 * A connector's key goes to redis whole: the longest a tenant (64) and a
 * permalink (255) make, under the prefix; one too long for the keeper's
 * buffer is never sent cut short (it would be another connector's key),
 * and the local limit applies instead.
 */
START_TEST(redis_long_key)
{
	struct fake_redis	 f;
	char			 key[2048], want[2100], sent[8192];
	size_t			 off = 0;
	ssize_t			 n;
	int64_t			 end;

	fake_start(&f);
	memset(key, 't', 64);
	key[64] = ':';
	memset(key + 65, 'p', 255);
	key[320] = '\0';
	key[319] = 'Z';		/* the last byte tells */
	ck_assert_ptr_nonnull(kredis_reserve(f.fr_r, key, 10, 1, 0,
	    fake_answer, &f));
	snprintf(want, sizeof(want), "$%zu\r\nt:rate:%s\r\n",
	    strlen("t:rate:") + strlen(key), key);
	for (end = ratelimit_now() + 1000000; ratelimit_now() < end &&
	    memmem(sent, off, want, strlen(want)) == NULL; usleep(1000)) {
		event_base_loop(f.fr_base, EVLOOP_NONBLOCK);
		while (off < sizeof(sent) && (n = recv(f.fr_fd, sent + off,
		    sizeof(sent) - off, 0)) > 0)
			off += (size_t)n;
	}
	ck_assert_msg(memmem(sent, off, want, strlen(want)) != NULL,
	    "the key was not sent whole");

	memset(key, 'x', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	ck_assert_ptr_null(kredis_reserve(f.fr_r, key, 10, 1, 0,
	    fake_answer, &f));
	for (end = ratelimit_now() + 100000; ratelimit_now() < end;
	    usleep(1000))
		event_base_loop(f.fr_base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(recv(f.fr_fd, sent, sizeof(sent), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert(kredis_connected(f.fr_r));
	fake_end(&f);
}
END_TEST

/*
 * A reload that changes redis frees the client under a waiting
 * reservation: its caller is answered (the local share applies), never
 * left holding its slot and a pointer to the freed request.
 */
static struct kredis_req *freed_again;

/* An answered caller that passes its slot on, which asks redis again. */
static void
fake_answer_again(void *arg, enum kredis_result res, int64_t wait)
{
	struct fake_redis	*f = arg;

	fake_answer(f, res, wait);
	freed_again = kredis_reserve(f->fr_r, "k2", 10, 1, 0, fake_answer, f);
}

START_TEST(redis_freed_answers)
{
	struct fake_redis	 f;

	fake_start(&f);
	ck_assert_ptr_nonnull(kredis_reserve(f.fr_r, "k1", 10, 1, 0,
	    fake_answer_again, &f));
	ck_assert_int_eq(f.fr_answers, 0);
	freed_again = (struct kredis_req *)&f;
	kredis_free(f.fr_r);
	f.fr_r = NULL;
	ck_assert_int_eq(f.fr_answers, 2);
	ck_assert_int_eq(f.fr_res, KREDIS_UNAVAILABLE);
	/* The client being freed takes no new command. */
	ck_assert_ptr_null(freed_again);
	ck_assert_uint_eq(f.fr_m->m_globals[MG_REDIS_ERRORS], 0);
	fake_end(&f);
}
END_TEST

/* --- the access log ----------------------------------------------------------- */

START_TEST(access_forms)
{
	struct ipc_access	 a;
	char			 buf[2048];

	memset(&a, 0, sizeof(a));
	a.ia_reqid = "8c1d0f9e-0000-4000-8000-000000000001";
	a.ia_peer = "192.0.2.7";
	a.ia_tenant = "acme";
	a.ia_method = "GET";
	a.ia_target = "/widget-service/connectors/w/execute?q=\"x\" y\n";
	a.ia_connector = "w";
	a.ia_cache = "miss";
	a.ia_error = "";
	a.ia_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
	a.ia_status = 200;
	a.ia_upstream = 201;
	a.ia_total_us = 12345;
	a.ia_external_us = 10000;
	accesslog_format(&a, 3, CONF_ACCESS_TEXT, buf, sizeof(buf));
	ck_assert_str_eq(buf, "worker 3: access: 192.0.2.7 acme \"GET "
	    "/widget-service/connectors/w/execute?q=?x??y?\" 200 201 12.3ms "
	    "10.0ms w miss 8c1d0f9e-0000-4000-8000-000000000001 "
	    "4bf92f3577b34da6a3ce929d0e0e4736");
	a.ia_error = "UPSTREAM_BUSY";
	accesslog_format(&a, 3, CONF_ACCESS_JSON, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\"target\":\"/widget-service/"
	    "connectors/w/execute?q=\\\"x\\\" y\\u000a\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"error\":\"UPSTREAM_BUSY\"}"));
	ck_assert_ptr_nonnull(strstr(buf, "\"upstream_status\":201,"));
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("ops");
	TCase	*tc = tcase_create("ops");

	/* A redis case waits for the keeper's timers: seconds. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, gcra_rate_and_burst);
	tcase_add_test(tc, gcra_slow_rate);
	tcase_add_test(tc, client_table);
	tcase_add_test(tc, retry_after);
	tcase_add_test(tc, trace_parse_valid);
	tcase_add_test(tc, trace_parse_invalid);
	tcase_add_test(tc, trace_parse_each_byte);
	tcase_add_test(tc, trace_begin_continue);
	tcase_add_test(tc, metrics_counts_and_transfer);
	tcase_add_test(tc, metrics_by_row);
	tcase_add_test(tc, metrics_bounds);
	tcase_add_test(tc, metrics_many_rows);
	tcase_add_test(tc, metrics_slot_kept);
	tcase_add_test(tc, klimits_by_name);
	tcase_add_test(tc, klimits_entry_kept);
	tcase_add_test(tc, klimits_wait_kept);
	tcase_add_test(tc, klimits_same_pass);
	tcase_add_test(tc, rowidx_rows_by_hash);
	tcase_add_test(tc, rowidx_firsts_like_a_walk);
	tcase_add_test(tc, metrics_decode_refuses);
	tcase_add_test(tc, metrics_text);
	tcase_add_test(tc, redis_reply);
	tcase_add_test(tc, redis_reply_bounded);
	tcase_add_test(tc, redis_bulk_bounded);
	tcase_add_test(tc, redis_line_bounded);
	tcase_add_test(tc, redis_protocol_error);
	tcase_add_test(tc, redis_silent);
	tcase_add_test(tc, redis_connect_hangs);
	tcase_add_test(tc, redis_stalled);
	tcase_add_test(tc, redis_unasked);
	tcase_add_test(tc, redis_long_key);
	tcase_add_test(tc, redis_freed_answers);
	tcase_add_test(tc, access_forms);
	suite_add_tcase(s, tc);
	return s;
}
