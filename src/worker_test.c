/*
 * worker_test.c — a worker that misbehaves on purpose, for the test suite.
 *
 * Limits that hold against a compromised worker can only be shown with
 * one.  The parent sends MSG_TEST_ABUSE only when it was started with
 * WIDGETD_TEST_HOOKS=1 in its environment (the test suite sets it; a
 * control-socket command asks for it); the worker then does what a worker
 * under an attacker's control could do through its channels, nothing it
 * could not: the limits under test are the parent's and the keeper's.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "chan.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

#define TEST_LOG_LINES		20000	/* far over the parent's burst */
#define TEST_PINGS		2000000	/* 24 MB of pings: pongs left
					   unread would be about 400 MB */
#define TEST_PINGS_PENDING	64	/* frames queued here at most */

/* A raw MSG_LOG, as a worker that bypasses vlog() would send it. */
static void
worker_test_log(struct chan *parent, int prio, const char *line)
{
	struct ipc_buf	 b;

	if (ipc_encode_log(&b, prio, line) == 0)
		(void)chan_send(parent, MSG_LOG, 0, b.b_data, b.b_len, -1);
	ipc_buf_clear(&b);
}

static void
worker_test_log_flood(struct chan *parent)
{
	char	 line[4096];
	int	 i;

	/* Each of these must come out under this worker's name, inert. */
	worker_test_log(parent, LOG_EMERG, "parent: forged by a worker");
	worker_test_log(parent, LOG_ALERT, "keeper 0: forged by a worker");
	worker_test_log(parent, LOG_ERR, "widgetd[1]: forged by a worker");
	worker_test_log(parent, LOG_ERR, "escapes \x1b[31mred\x1b[0m "
	    "bell\a c1\xc2\x9b" "2J and\nparent: a second line");
	memset(line, 'L', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "long line ", 10);
	worker_test_log(parent, LOG_ERR, line);
	for (i = 0; i < TEST_LOG_LINES; i++) {
		snprintf(line, sizeof(line), "flood line %d", i);
		worker_test_log(parent, LOG_ERR, line);
		if (chan_pending(parent) > 1024)
			chan_flush_sync(parent);
	}
}

/*
 * Pings without ever reading a pong: the event loop is not run until the
 * flood ends, so the keeper's replies pile up.  The keeper evicts this
 * worker long before the end, and the parent kills it.
 */
static void
worker_test_ping_flood(struct chan *keeper)
{
	uint32_t	 i;

	for (i = 0; i < TEST_PINGS; i++) {
		if (chan_send(keeper, MSG_PING, 0x80000000U | i, NULL, 0,
		    -1) == -1)
			break;
		if (chan_pending(keeper) >= TEST_PINGS_PENDING)
			chan_flush_sync(keeper);
	}
}

int
worker_test_abuse(struct chan *parent, struct chan *keeper,
    struct ipc_msg *m)
{
	uint32_t	 what;

	if (ipc_get_u32(m, &what) == -1 || ipc_get_end(m) == -1)
		return chan_refuse(parent, "malformed payload");
	switch (what) {
	case IPC_ABUSE_LOG_FLOOD:
		worker_test_log_flood(parent);
		return 0;
	case IPC_ABUSE_PING_FLOOD:
		if (keeper != NULL)
			worker_test_ping_flood(keeper);
		return 0;
	default:
		return chan_refuse(parent, "unknown abuse %u", what);
	}
}
