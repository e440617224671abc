/*
 * check_core.c — the pieces of the process architecture that can be tested
 * without a running daemon: the error envelope and common headers (api.c),
 * respawn backoff and role names (proc.c), and the keeper's permit table,
 * driven over real channels with a keeper in a child process.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check_main.h"
#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "api.h"
#include "ipc.h"
#include "proc.h"
#include "snapshot.h"

START_TEST(test_request_id)
{
	char	 a[API_REQID_LEN], b[API_REQID_LEN];
	regex_t	 re;

	ck_assert_int_eq(regcomp(&re, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
	    "[89ab][0-9a-f]{3}-[0-9a-f]{12}$", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(api_request_id(a), 0);
	ck_assert_int_eq(api_request_id(b), 0);
	ck_assert_int_eq(regexec(&re, a, 0, NULL, 0), 0);
	ck_assert_int_eq(regexec(&re, b, 0, NULL, 0), 0);
	ck_assert_str_ne(a, b);
	regfree(&re);
}
END_TEST

START_TEST(test_envelope)
{
	struct json_object	*o, *e, *v;
	char			*s;

	/* A detail with quotes and control bytes stays valid JSON. */
	s = api_error_body("NOT_FOUND", "no \"x\"\n</script>", "Request",
	    NULL, "11111111-2222-4333-8444-555555555555");
	ck_assert_ptr_nonnull(s);
	o = json_tokener_parse(s);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "success", &v));
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert(!json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "errors", &e));
	ck_assert(json_object_object_get_ex(e, "code", &v));
	ck_assert_str_eq(json_object_get_string(v), "NOT_FOUND");
	ck_assert(json_object_object_get_ex(e, "detail", &v));
	ck_assert_str_eq(json_object_get_string(v), "no \"x\"\n</script>");
	ck_assert(json_object_object_get_ex(e, "scope", &v));
	ck_assert(json_object_object_get_ex(e, "params", &v));
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_int_eq(json_object_array_length(v), 0);
	ck_assert(json_object_object_get_ex(o, "request_id", &v));
	ck_assert_str_eq(json_object_get_string(v),
	    "11111111-2222-4333-8444-555555555555");
	json_object_put(o);
	free(s);
}
END_TEST

START_TEST(test_reply_headers)
{
	struct evbuffer	*out = evbuffer_new();
	struct api_ctx	 a;
	char		*text, want[80];
	size_t		 len;

	api_ctx_init(&a);
	a.a_keepalive = 0;
	ck_assert_int_eq(api_reply_error(out, &a, 503, NULL, "down"), 0);
	len = evbuffer_get_length(out);
	text = calloc(1, len + 1);
	evbuffer_remove(out, text, len);
	ck_assert_msg(strncmp(text, "HTTP/1.1 503 ", 13) == 0, "%s", text);
	snprintf(want, sizeof(want), "\r\nX-Request-ID: %s\r\n", a.a_reqid);
	ck_assert_ptr_nonnull(strstr(text, want));
	ck_assert_ptr_nonnull(strstr(text,
	    "\r\nX-Content-Type-Options: nosniff\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nServer-Timing: setup;dur="));
	ck_assert_ptr_nonnull(strstr(text, "total;dur="));
	ck_assert_ptr_nonnull(strstr(text, "\r\nX-Connector-Timing: {"));
	ck_assert_ptr_nonnull(strstr(text, "\"code\":\"UNAVAILABLE\""));
	ck_assert_ptr_nonnull(strstr(text, "\r\nConnection: close\r\n"));
	free(text);
	evbuffer_free(out);
	ck_assert_str_eq(api_status_code(408), "REQUEST_TIMEOUT");
	ck_assert_str_eq(api_status_code(431), "HEADERS_TOO_LARGE");
	ck_assert_str_eq(api_status_code(413), "PAYLOAD_TOO_LARGE");
}
END_TEST

START_TEST(test_backoff)
{
	struct proc_backoff	 pb;
	long			 prev = 0, ms;
	int			 i;

	memset(&pb, 0, sizeof(pb));
	/* Never started: no delay. */
	ck_assert_int_eq(proc_backoff_next(&pb), 0);
	/* Quick exits: 100 ms doubling, capped, never zero. */
	for (i = 0; i < 20; i++) {
		proc_backoff_started(&pb);
		ms = proc_backoff_next(&pb);
		ck_assert_int_ge(ms, PROC_BACKOFF_MIN_MS);
		ck_assert_int_le(ms, PROC_BACKOFF_MAX_MS);
		if (i > 0 && prev < PROC_BACKOFF_MAX_MS)
			ck_assert_int_eq(ms, prev * 2 > PROC_BACKOFF_MAX_MS ?
			    PROC_BACKOFF_MAX_MS : prev * 2);
		prev = ms;
	}
	ck_assert_int_eq(prev, PROC_BACKOFF_MAX_MS);
	ck_assert_int_eq(pb.pb_crashes, 20);
	/* A child that lived long enough resets the count. */
	pb.pb_started.tv_sec -= PROC_STABLE_SECS + 1;
	ck_assert_int_eq(proc_backoff_next(&pb), 0);
	ck_assert_int_eq(pb.pb_crashes, 0);
}
END_TEST

START_TEST(test_roles)
{
	ck_assert_int_eq(proc_role_parse("worker"), PROC_WORKER);
	ck_assert_int_eq(proc_role_parse("keeper"), PROC_KEEPER);
	ck_assert_int_eq(proc_role_parse("parent"), -1);
	ck_assert_int_eq(proc_role_parse(""), -1);
	ck_assert_str_eq(proc_role_name(PROC_WORKER), "worker");
	ck_assert_str_eq(proc_role_name((enum proc_role)99), "unknown");
}
END_TEST

/* The keeper, in a child, with the test as its parent. */

static char	 keeper_dir[64];
static pid_t	 keeper_pid;

/* Next frame on c that is not a log line or READY; waits up to 10 s. */
static int
next_frame(struct ipc_chan *c, struct ipc_msg *m, char *logbuf, size_t len)
{
	struct pollfd	 pfd = { ipc_chan_fd(c), POLLIN, 0 };
	char		*line;
	int		 prio, r;

	for (;;) {
		while ((r = ipc_get(c, m)) == 1) {
			if (m->m_type == MSG_LOG) {
				if (ipc_decode_log(m, &prio, &line) == 0) {
					if (logbuf != NULL)
						strncat(logbuf, line,
						    len - strlen(logbuf) - 1);
					free(line);
				}
				continue;
			}
			if (m->m_type == MSG_READY)
				continue;
			return 1;
		}
		if (r == -1)
			return -1;
		if (poll(&pfd, 1, 10000) != 1)
			return -1;
		r = ipc_read(c);
		if (r == 0)
			return 0;
		if (r == -1 && errno != EAGAIN)
			return -1;
	}
}

static struct ipc_chan *
keeper_start(void)
{
	char		 conf[128], path[160];
	struct proc_opts po;
	struct snapshot	*sn;
	FILE		*f;
	int		 sv[2];

	snprintf(keeper_dir, sizeof(keeper_dir), "/tmp/check_core.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(keeper_dir));
	/* The keeper reads its store as keeper_user once it has switched. */
	ck_assert_int_eq(chmod(keeper_dir, 0755), 0);
	snprintf(conf, sizeof(conf), "%s/w.conf", keeper_dir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "listen = ( { address = \"127.0.0.1\"; port = 1; } );\n"
	    "user = \"nobody\";\nkeeper_user = \"daemon\";\n"
	    "chroot = \"%s\";\n"
	    "tenants = ( { id = \"t\"; registry = \"r.json\"; "
	    "store = \"s\"; } );\n", keeper_dir);
	fclose(f);
	snprintf(path, sizeof(path), "%s/r.json", keeper_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"connectors\": []}\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/s", keeper_dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	/* What the parent hands every child: the sealed snapshot. */
	sn = snapshot_build(conf, 1, 1, NULL, NULL);
	ck_assert_ptr_nonnull(sn);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	keeper_pid = fork();
	ck_assert_int_ne(keeper_pid, -1);
	if (keeper_pid == 0) {
		/* As proc_spawn does, minus the exec. */
		if (dup2(sv[1], PROC_CHAN_FD) == -1 ||
		    dup2(sn->sn_fd, PROC_SNAP_FD) == -1)
			_exit(127);
		close(sv[0]);
		memset(&po, 0, sizeof(po));
		keeper_main(&po, 0);
		_exit(0);
	}
	close(sv[1]);
	snapshot_unref(sn);
	return ipc_chan_new(sv[0], IPC_PARENT, IPC_KEEPER);
}

static void
keeper_rmdir(void)
{
	char	 path[160];

	snprintf(path, sizeof(path), "%s/w.conf", keeper_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/r.json", keeper_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/s", keeper_dir);
	rmdir(path);
	rmdir(keeper_dir);
}

static void
keeper_stop(struct ipc_chan *parent)
{
	int	 status;

	kill(keeper_pid, SIGKILL);
	waitpid(keeper_pid, &status, 0);
	ipc_chan_free(parent);
	keeper_rmdir();
}

static void
flush(struct ipc_chan *c)
{
	while (ipc_flush(c) == 0)
		usleep(1000);
}

/* Give the keeper a channel for a worker slot; returns our end. */
static struct ipc_chan *
keeper_link(struct ipc_chan *parent, uint32_t slot)
{
	struct ipc_buf	 b;
	int		 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ipc_buf_init(&b);
	ipc_put_u32(&b, slot);
	ck_assert_int_eq(ipc_send(parent, MSG_WORKER_FD, 0, b.b_data, b.b_len,
	    sv[1]), 0);
	ipc_buf_clear(&b);
	close(sv[1]);
	flush(parent);
	/* The test plays a worker that may break any rule. */
	return ipc_chan_new(sv[0], IPC_ANY, IPC_ANY);
}

START_TEST(test_keeper_permits)
{
	struct ipc_chan	*parent, *w0, *w1;
	struct ipc_msg	 m;
	char		 logs[4096] = "";
	uint32_t	 slot;

	parent = keeper_start();
	w0 = keeper_link(parent, 0);
	w1 = keeper_link(parent, 1);

	/* Permitted: a ping is answered with its id. */
	ck_assert_int_eq(ipc_send(w0, MSG_PING, 42, NULL, 0, -1), 0);
	flush(w0);
	ck_assert_int_eq(next_frame(w0, &m, NULL, 0), 1);
	ck_assert_int_eq(m.m_type, MSG_PONG);
	ck_assert_int_eq(m.m_id, 42);

	/* Not in the table: a worker may not send parent-bound messages. */
	slot = 1;
	ck_assert_int_eq(ipc_send(w0, MSG_CONN_DONE, 0, &slot, sizeof(slot),
	    -1), 0);
	flush(w0);
	ck_assert_int_eq(next_frame(w0, &m, NULL, 0), 0);	/* closed */

	/* The parent is told which worker to respawn, and why (by name). */
	ck_assert_int_eq(next_frame(parent, &m, logs, sizeof(logs)), 1);
	ck_assert_int_eq(m.m_type, MSG_WORKER_EVICT);
	ck_assert_int_eq(ipc_get_u32(&m, &slot), 0);
	ck_assert_int_eq(slot, 0);
	ck_assert_msg(strstr(logs, "MSG_CONN_DONE") != NULL, "log: %s", logs);
	ck_assert_msg(strstr(logs, "worker 0") != NULL, "log: %s", logs);

	/* The other worker is unaffected. */
	ck_assert_int_eq(ipc_send(w1, MSG_PING, 7, NULL, 0, -1), 0);
	flush(w1);
	ck_assert_int_eq(next_frame(w1, &m, NULL, 0), 1);
	ck_assert_int_eq(m.m_type, MSG_PONG);
	ck_assert_int_eq(m.m_id, 7);

	/* A replacement channel for slot 0 works. */
	ipc_chan_free(w0);
	w0 = keeper_link(parent, 0);
	ck_assert_int_eq(ipc_send(w0, MSG_PING, 9, NULL, 0, -1), 0);
	flush(w0);
	ck_assert_int_eq(next_frame(w0, &m, NULL, 0), 1);
	ck_assert_int_eq(m.m_id, 9);

	/* A keeper-bound type from the wrong direction: refused too. */
	ck_assert_int_eq(ipc_send(w1, MSG_PONG, 1, NULL, 0, -1), 0);
	flush(w1);
	ck_assert_int_eq(next_frame(w1, &m, NULL, 0), 0);
	ck_assert_int_eq(next_frame(parent, &m, logs, sizeof(logs)), 1);
	ck_assert_int_eq(m.m_type, MSG_WORKER_EVICT);

	ipc_chan_free(w0);
	ipc_chan_free(w1);
	keeper_stop(parent);
}
END_TEST

START_TEST(test_keeper_shutdown)
{
	struct ipc_chan	*parent, *w0;
	struct ipc_msg	 m;
	int		 status;

	parent = keeper_start();
	w0 = keeper_link(parent, 0);
	ck_assert_int_eq(ipc_send(parent, MSG_SHUTDOWN, 0, NULL, 0, -1), 0);
	flush(parent);
	/* Still serving its worker while draining. */
	ck_assert_int_eq(ipc_send(w0, MSG_PING, 5, NULL, 0, -1), 0);
	flush(w0);
	ck_assert_int_eq(next_frame(w0, &m, NULL, 0), 1);
	ck_assert_int_eq(m.m_type, MSG_PONG);
	/* The last worker gone: it exits 0. */
	ipc_chan_free(w0);
	ck_assert_int_eq(waitpid(keeper_pid, &status, 0), keeper_pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	keeper_pid = -1;
	ipc_chan_free(parent);
	keeper_rmdir();
}
END_TEST

/* Valgrind cannot run a process under a seccomp filter (no syscall 317). */
static int
under_valgrind(void)
{
	const char	*p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "valgrind") != NULL;
}

Suite *
check_suite(void)
{
	Suite	*s = suite_create("core");
	TCase	*tc = tcase_create("api");

	tcase_add_test(tc, test_request_id);
	tcase_add_test(tc, test_envelope);
	tcase_add_test(tc, test_reply_headers);
	suite_add_tcase(s, tc);
	tc = tcase_create("proc");
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_roles);
	suite_add_tcase(s, tc);
	if (under_valgrind())
		return s;
	tc = tcase_create("keeper");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_keeper_permits);
	tcase_add_test(tc, test_keeper_shutdown);
	suite_add_tcase(s, tc);
	return s;
}
