/*
 * check_log.c — the parent's view of a child's log line: origin, escapes,
 * length, priority (log_child_line, log_child_prio) and the per-child rate
 * limit (log_rate_*).
 */
#include "build.h"

#include <sys/socket.h>

#include <check.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "check_main.h"
#include "ipc.h"
#include "log.h"

static const char *
line_of(const char *origin, const char *content)
{
	static char	 buf[LOG_CHILD_LINE];

	log_child_line(buf, sizeof(buf), origin, content);
	return buf;
}

START_TEST(test_origin_first)
{
	/* The origin is the parent's; the child's prefix is only content. */
	ck_assert_str_eq(line_of("worker 0", "hello"), "worker 0: hello");
	ck_assert_str_eq(line_of("worker 1", "parent: forged"),
	    "worker 1: \"parent: forged\"");
	ck_assert_str_eq(line_of("worker 1", "keeper 0: forged"),
	    "worker 1: \"keeper 0: forged\"");
	ck_assert_str_eq(line_of("worker 1", "Keeper 12: x"),
	    "worker 1: \"Keeper 12: x\"");
	ck_assert_str_eq(line_of("worker 1", "widgetd[42]: x"),
	    "worker 1: \"widgetd[42]: x\"");
	ck_assert_str_eq(line_of("worker 1", " \"publisher 3: say \"hi\""),
	    "worker 1: \" \\\"publisher 3: say \\\"hi\\\"\"");
	/* A keeper's ordinary line about a worker is not quoted. */
	ck_assert_str_eq(line_of("keeper 0", "worker 3 broke the protocol"),
	    "keeper 0: worker 3 broke the protocol");
	ck_assert_str_eq(line_of("worker 0", "access: 127.0.0.1"),
	    "worker 0: access: 127.0.0.1");
}
END_TEST

START_TEST(test_escapes)
{
	ck_assert_str_eq(line_of("worker 0", "a\x1b[31mred\nparent: x\r\t\x7f"),
	    "worker 0: a\\x1b[31mred\\x0aparent: x\\x0d\\x09\\x7f");
	/* C1 controls as UTF-8 encodes them; other UTF-8 stays. */
	ck_assert_str_eq(line_of("worker 0", "csi \xc2\x9b" "2J caf\xc3\xa9"),
	    "worker 0: csi \\xc2\\x9b2J caf\xc3\xa9");
	/* A lone lead byte at the end is left alone, not read past. */
	ck_assert_str_eq(line_of("worker 0", "end \xc2"), "worker 0: end \xc2");
}
END_TEST

START_TEST(test_length_cap)
{
	char		 in[5000], buf[LOG_CHILD_LINE];
	size_t		 n;

	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	n = log_child_line(buf, sizeof(buf), "worker 0", in);
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_uint_le(n, strlen("worker 0: ") + LOG_CHILD_MAX +
	    strlen(" [cut]"));
	ck_assert_uint_ge(n, LOG_CHILD_MAX);
	ck_assert_str_eq(buf + n - 6, " [cut]");
	/* Escapes count at their escaped length, and are never split. */
	memset(in, '\n', sizeof(in) - 1);
	n = log_child_line(buf, sizeof(buf), "worker 0", in);
	ck_assert_uint_le(n, strlen("worker 0: ") + LOG_CHILD_MAX +
	    strlen(" [cut]"));
	ck_assert_str_eq(buf + n - 10, "\\x0a [cut]");
	/*
	 * Quoted (it starts like an origin): the quotes count in the cap,
	 * and the closing one is never lost to the cut.  Found by
	 * fuzz_logline.
	 */
	memset(in, 'x', sizeof(in) - 1);
	memcpy(in, "keeper 0: ", 10);
	n = log_child_line(buf, sizeof(buf), "worker 0", in);
	ck_assert_uint_eq(n, strlen("worker 0: ") + LOG_CHILD_MAX +
	    strlen(" [cut]"));
	ck_assert_str_eq(buf + n - 8, "x\" [cut]");
	ck_assert_int_eq(buf[strlen("worker 0: ")], '"');
	/* A buffer too small for anything gets an empty string. */
	ck_assert_uint_eq(log_child_line(buf, 8, "worker 0", "x"), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_prio)
{
	ck_assert_int_eq(log_child_prio(LOG_EMERG), LOG_ERR);
	ck_assert_int_eq(log_child_prio(LOG_CRIT), LOG_ERR);
	ck_assert_int_eq(log_child_prio(LOG_WARNING), LOG_WARNING);
	ck_assert_int_eq(log_child_prio(LOG_DEBUG), LOG_DEBUG);
	ck_assert_int_eq(log_child_prio(99), LOG_DEBUG);
	ck_assert_int_eq(log_child_prio(-5), LOG_ERR);
}
END_TEST

START_TEST(test_rate)
{
	struct log_rate	 lr;
	int		 i, ok = 0;

	log_rate_init(&lr, 10, 50);
	/* A burst of 1000 lines at one instant: the burst passes. */
	for (i = 0; i < 1000; i++)
		ok += log_rate_take(&lr, 100.0);
	ck_assert_int_eq(ok, 50);
	ck_assert_uint_eq(lr.lr_dropped, 950);
	/* Half a second later: 5 more. */
	for (ok = 0, i = 0; i < 100; i++)
		ok += log_rate_take(&lr, 100.5);
	ck_assert_int_eq(ok, 5);
	/* A long quiet spell refills to the burst, not beyond. */
	for (ok = 0, i = 0; i < 1000; i++)
		ok += log_rate_take(&lr, 1000.0);
	ck_assert_int_eq(ok, 50);
	/* A clock that goes back refills nothing. */
	for (ok = 0, i = 0; i < 10; i++)
		ok += log_rate_take(&lr, 10.0);
	ck_assert_int_eq(ok, 0);
	/* Lines at the rate all pass. */
	log_rate_init(&lr, 8, 1);
	for (ok = 0, i = 0; i < 100; i++)
		ok += log_rate_take(&lr, 200.0 + i * 0.125);
	ck_assert_int_eq(ok, 100);
}
END_TEST

/* A handler that refuses every frame and says why. */
static int
refuse_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	return chan_refuse(ch, "priority %d is %s", 0, "too high");
}

static void
record_close(struct chan *ch, enum chan_end end, const char *why, void *arg)
{
	char	*out = arg;

	snprintf(out, 256, "%d %s", (int)end, why);
	chan_free(ch);
}

/* Issue 9: a refused frame's log line names the rule it broke. */
START_TEST(test_violation_reason)
{
	struct event_base	*base;
	struct ipc_buf		 b;
	char			 why[256] = "", want[256];
	int			 sv[2], i;

	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_ptr_nonnull(chan_new(base, sv[0], IPC_PARENT, IPC_WORKER,
	    refuse_msg, record_close, why));
	ck_assert_int_eq(ipc_encode_log(&b, LOG_ERR, "x"), 0);
	{
		uint32_t	 h[3] = { MSG_LOG, 0, (uint32_t)b.b_len };

		ck_assert_int_eq(write(sv[1], h, sizeof(h)),
		    (ssize_t)sizeof(h));
		ck_assert_int_eq(write(sv[1], b.b_data, b.b_len),
		    (ssize_t)b.b_len);
	}
	ipc_buf_clear(&b);
	for (i = 0; i < 100 && why[0] == '\0'; i++)
		event_base_loop(base, EVLOOP_ONCE);
	snprintf(want, sizeof(want), "%d refused message: MSG_LOG: priority "
	    "0 is too high", (int)CHAN_VIOLATION);
	ck_assert_str_eq(why, want);
	close(sv[1]);
	event_base_free(base);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("child lines");

	tcase_add_test(tc, test_origin_first);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_length_cap);
	tcase_add_test(tc, test_prio);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_violation_reason);
	suite_add_tcase(s, tc);
	return s;
}
