/*
 * check_control.c — the control socket: control.c serving on an event loop
 * in this process, clients (widgetctl's ctl_call() or raw sockets) in a
 * forked child, so that the server side is what valgrind and ASan watch.
 *
 * A child reports a failed check through its exit status and a line on
 * stderr; the parent asserts the status.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "check_main.h"
#include "control.h"
#include "log.h"
#include "widgetctl.h"

/* In a child: report the line and leave with a failing status. */
#define CHILD_CHECK(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "child check failed, line %d: %s\n",	\
		    __LINE__, #c);					\
		return 1;						\
	}								\
} while (0)

struct tsrv {
	struct event_base	*t_base;
	struct control		*t_ctl;
	char			 t_dir[64];
	char			 t_path[128];
	struct control_req	*t_held;	/* "later", "hold" */
	struct event		*t_late_ev;
	struct event		*t_free_ev;
	int			 t_nreq;
	int			 t_late_rv;	/* control_reply() of "later" */
	int			 t_late_gone;	/* control_req_gone() before */
	int			 t_late_free;	/* control_free() right after */
	pid_t			 t_child;	/* the last client's pid */
};

static struct json_object *
ok_reply(void)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static void
srv_handler(struct control_req *req, const char *command,
    struct json_object *request, void *arg)
{
	struct tsrv		*t = arg;
	struct json_object	*o, *a, *v;
	struct timeval		 tv = { 0, 100 * 1000 };

	t->t_nreq++;
	if (strcmp(command, "echo") == 0 || strcmp(command, "big") == 0) {
		o = ok_reply();
		json_object_object_add(o, "command",
		    json_object_new_string(command));
		json_object_object_add(o, "uid",
		    json_object_new_int64(control_req_peer_uid(req)));
		json_object_object_add(o, "pid",
		    json_object_new_int64(control_req_peer_pid(req)));
		if (json_object_object_get_ex(request, "arg", &v)) {
			json_object_object_add(o, "arglen",
			    json_object_new_int64(json_object_get_string_len(v)));
			if (json_object_get_string_len(v) < 100)
				json_object_object_add(o, "arg",
				    json_object_get(v));
		}
		ck_assert_int_eq(control_req_gone(req), 0);
		ck_assert_int_eq(control_reply(req, o), 0);
	} else if (strcmp(command, "later") == 0) {
		t->t_held = req;
		evtimer_add(t->t_late_ev, &tv);
	} else if (strcmp(command, "hold") == 0) {
		t->t_held = req;
	} else if (strcmp(command, "retire") == 0) {
		/* As a reload that moves the socket: retired mid-request. */
		t->t_held = req;
		control_retire(t->t_ctl);
		t->t_ctl = NULL;
		evtimer_add(t->t_late_ev, &tv);
	} else if (strcmp(command, "hold-free") == 0) {
		t->t_held = req;
		event_active(t->t_free_ev, EV_TIMEOUT, 0);
	} else if (strcmp(command, "fail") == 0) {
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "error",
		    json_object_new_string("configuration invalid"));
		a = json_object_new_array();
		json_object_array_add(a, json_object_new_string("a.conf:3: x"));
		json_object_array_add(a,
		    json_object_new_string("b.json:1:2: y"));
		json_object_object_add(o, "errors", a);
		control_reply(req, o);
	} else if (strcmp(command, "null") == 0) {
		control_reply(req, NULL);
	} else
		control_reply_error(req, "unknown command: %s", command);
}

static void
srv_late_cb(int fd, short what, void *arg)
{
	struct tsrv		*t = arg;
	struct json_object	*o = ok_reply();

	json_object_object_add(o, "late", json_object_new_boolean(1));
	t->t_late_gone = control_req_gone(t->t_held);
	t->t_late_rv = control_reply(t->t_held, o);
	t->t_held = NULL;
	/* Before the event loop has written the reply, as a quick exit. */
	if (t->t_late_free) {
		control_free(t->t_ctl);
		t->t_ctl = NULL;
	}
}

static void
srv_free_cb(int fd, short what, void *arg)
{
	struct tsrv	*t = arg;

	control_free(t->t_ctl);
	t->t_ctl = NULL;
}

/* A fresh directory and a base, no control yet. */
static void
srv_init(struct tsrv *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->t_dir, sizeof(t->t_dir), "/tmp/check_control.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->t_dir));
	snprintf(t->t_path, sizeof(t->t_path), "%s/ctl.sock", t->t_dir);
	t->t_base = event_base_new();
	ck_assert_ptr_nonnull(t->t_base);
	t->t_late_ev = evtimer_new(t->t_base, srv_late_cb, t);
	t->t_free_ev = evtimer_new(t->t_base, srv_free_cb, t);
	t->t_late_rv = 99;
}

static void
srv_start(struct tsrv *t)
{
	char	 err[256] = "";

	srv_init(t);
	t->t_ctl = control_new(t->t_base, t->t_path, srv_handler, t, err,
	    sizeof(err));
	ck_assert_msg(t->t_ctl != NULL, "control_new: %s", err);
}

static void
srv_rmtree(const char *dir)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
srv_stop(struct tsrv *t)
{
	control_free(t->t_ctl);
	event_free(t->t_late_ev);
	event_free(t->t_free_ev);
	event_base_free(t->t_base);
	srv_rmtree(t->t_dir);
}

static void
srv_child_done_cb(int fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/*
 * Run client(t, arg) in a child while this process serves; then keep
 * serving for linger_ms so that late timers run.  The child's exit status.
 */
static int
srv_run(struct tsrv *t, int (*client)(struct tsrv *, void *), void *arg,
    int linger_ms)
{
	struct event	*ev;
	struct timeval	 limit = { 20, 0 };
	struct timeval	 linger = { linger_ms / 1000, linger_ms % 1000 * 1000 };
	int		 p[2], status;
	pid_t		 pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(p[0]);
		_exit(client(t, arg));
	}
	close(p[1]);
	t->t_child = pid;
	/* EOF on the pipe: the child has gone. */
	ev = event_new(t->t_base, p[0], EV_READ, srv_child_done_cb, t->t_base);
	event_add(ev, &limit);
	event_base_dispatch(t->t_base);
	event_free(ev);
	close(p[0]);
	if (linger_ms > 0) {
		event_base_loopexit(t->t_base, &linger);
		event_base_dispatch(t->t_base);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* srv_run() that must succeed and bring the handler nreq requests. */
static void
srv_expect(struct tsrv *t, int (*client)(struct tsrv *, void *), void *arg,
    int linger_ms, int nreq)
{
	ck_assert_int_eq(srv_run(t, client, arg, linger_ms), 0);
	ck_assert_int_eq(t->t_nreq, nreq);
}

static int
raw_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    path) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one line (without its newline) or up to EOF into buf. */
static ssize_t
raw_line(int fd, char *buf, size_t len)
{
	size_t	 have = 0;
	ssize_t	 n;

	while (have + 1 < len) {
		n = read(fd, buf + have, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0 || buf[have] == '\n')
			break;
		have++;
	}
	buf[have] = '\0';
	return have;
}

/* Send len bytes (errors ignored: the server may close first), read a line. */
static ssize_t
raw_call(const char *path, const void *req, size_t len, int shut, char *buf,
    size_t buflen)
{
	const char	*p = req;
	ssize_t		 n, r;
	int		 fd;

	if ((fd = raw_connect(path)) == -1)
		return -1;
	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		p += n;
		len -= n;
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	r = raw_line(fd, buf, buflen);
	close(fd);
	return r;
}

static struct json_object *
request(const char *command, const char *arg)
{
	struct json_object	*o = ctl_request_new(command);

	if (arg != NULL)
		json_object_object_add(o, "arg", json_object_new_string(arg));
	return o;
}

/* --- round trips ------------------------------------------------------ */

static int
client_round_trip(struct tsrv *t, void *arg)
{
	struct ctl_globals	 g = { NULL, t->t_path };
	struct json_object	*req, *reply = NULL, *v;

	req = request("echo", "hi \"there\"\n");
	CHILD_CHECK(ctl_call(&g, req, &reply) == CTL_OK);
	json_object_put(req);
	CHILD_CHECK(json_object_object_get_ex(reply, "ok", &v) &&
	    json_object_get_boolean(v));
	CHILD_CHECK(json_object_object_get_ex(reply, "arg", &v) &&
	    strcmp(json_object_get_string(v), "hi \"there\"\n") == 0);
	CHILD_CHECK(json_object_object_get_ex(reply, "uid", &v) &&
	    json_object_get_int64(v) == (int64_t)geteuid());
	CHILD_CHECK(json_object_object_get_ex(reply, "pid", &v) &&
	    json_object_get_int64(v) == (int64_t)getpid());
	json_object_put(reply);

	/* ok:false is still a reply to ctl_call(), a failure to ctl_command. */
	req = request("fail", NULL);
	CHILD_CHECK(ctl_call(&g, req, &reply) == CTL_OK);
	CHILD_CHECK(json_object_object_get_ex(reply, "ok", &v) &&
	    !json_object_get_boolean(v));
	CHILD_CHECK(json_object_object_get_ex(reply, "errors", &v) &&
	    json_object_array_length(v) == 2);
	json_object_put(reply);
	CHILD_CHECK(ctl_command(&g, req, &reply, 0) == CTL_FAIL);
	CHILD_CHECK(reply == NULL);
	json_object_put(req);

	req = request("null", NULL);
	CHILD_CHECK(ctl_call(&g, req, &reply) == CTL_OK);
	CHILD_CHECK(json_object_object_get_ex(reply, "error", &v) &&
	    strcmp(json_object_get_string(v), "internal error") == 0);
	json_object_put(reply);
	json_object_put(req);

	/* Answered later, on a timer. */
	req = request("later", NULL);
	CHILD_CHECK(ctl_command(&g, req, &reply, 0) == CTL_OK);
	CHILD_CHECK(json_object_object_get_ex(reply, "late", &v) &&
	    json_object_get_boolean(v));
	json_object_put(reply);
	json_object_put(req);
	return 0;
}

START_TEST(test_round_trip)
{
	struct tsrv	 t;

	srv_start(&t);
	srv_expect(&t, client_round_trip, NULL, 0, 5);
	ck_assert_int_eq(t.t_late_rv, 0);
	ck_assert_int_eq(t.t_late_gone, 0);
	srv_stop(&t);
}
END_TEST

/* A request without a newline, then shutdown(SHUT_WR), as socat does. */
static int
client_half_close(struct tsrv *t, void *arg)
{
	static const char	 req[] = "{\"command\":\"echo\",\"arg\":\"x\"}";
	char			 buf[512];

	CHILD_CHECK(raw_call(t->t_path, req, sizeof(req) - 1, 1, buf,
	    sizeof(buf)) > 0);
	CHILD_CHECK(strstr(buf, "\"ok\":true") != NULL);
	CHILD_CHECK(strstr(buf, "\"arg\":\"x\"") != NULL);
	/* Only the first request is read; what follows it is ignored. */
	CHILD_CHECK(raw_call(t->t_path, "{\"command\":\"echo\"}\n"
	    "{\"command\":\"fail\"}\n", 38, 0, buf, sizeof(buf)) > 0);
	CHILD_CHECK(strstr(buf, "\"command\":\"echo\"") != NULL);
	return 0;
}

START_TEST(test_half_close)
{
	struct tsrv	 t;

	srv_start(&t);
	srv_expect(&t, client_half_close, NULL, 0, 2);
	srv_stop(&t);
}
END_TEST

/* --- limits and malformed requests ------------------------------------ */

static char *
long_request(const char *command, size_t arglen, int newline)
{
	char	*s, *arg;

	arg = malloc(arglen + 1);
	memset(arg, 'a', arglen);
	arg[arglen] = '\0';
	if (asprintf(&s, "{\"command\":\"%s\",\"arg\":\"%s\"}%s", command, arg,
	    newline ? "\n" : "") == -1)
		s = NULL;
	free(arg);
	return s;
}

static int
client_oversize(struct tsrv *t, void *arg)
{
	struct ctl_globals	 g = { NULL, t->t_path };
	struct json_object	*req, *reply;
	char			*s, buf[512];

	/* Just over 64 KiB for a command without a raised cap. */
	s = long_request("echo", CONTROL_REQUEST_MAX, 1);
	CHILD_CHECK(raw_call(t->t_path, s, strlen(s), 0, buf,
	    sizeof(buf)) > 0);
	free(s);
	CHILD_CHECK(strcmp(buf, "{\"ok\":false,\"error\":\"request too large "
	    "(at most 65536 bytes)\"}") == 0);
	/* Just under it passes. */
	s = long_request("echo", CONTROL_REQUEST_MAX - 40, 1);
	CHILD_CHECK(strlen(s) <= CONTROL_REQUEST_MAX + 1);
	CHILD_CHECK(raw_call(t->t_path, s, strlen(s), 0, buf,
	    sizeof(buf)) > 0);
	free(s);
	CHILD_CHECK(strstr(buf, "\"ok\":true") != NULL);

	/* "big" may carry 256 KiB; echo still may not. */
	req = request("big", NULL);
	s = malloc(200000);
	memset(s, 'b', 199999);
	s[199999] = '\0';
	json_object_object_add(req, "arg", json_object_new_string(s));
	CHILD_CHECK(ctl_command(&g, req, &reply, 0) == CTL_OK);
	json_object_put(reply);
	json_object_object_add(req, "command", json_object_new_string("echo"));
	CHILD_CHECK(ctl_call(&g, req, &reply) == CTL_OK);
	CHILD_CHECK(strstr(json_object_to_json_string(reply),
	    "request too large (at most 65536 bytes)") != NULL);
	json_object_put(reply);
	json_object_put(req);
	free(s);

	/* Beyond the largest cap, refused before a newline ever comes. */
	s = long_request("big", 300000, 0);
	CHILD_CHECK(raw_call(t->t_path, s, strlen(s), 0, buf,
	    sizeof(buf)) > 0);
	free(s);
	CHILD_CHECK(strcmp(buf, "{\"ok\":false,\"error\":\"request too large "
	    "(at most 262144 bytes)\"}") == 0);
	return 0;
}

START_TEST(test_oversize)
{
	struct tsrv	 t;

	srv_start(&t);
	ck_assert_int_eq(control_set_limit(t.t_ctl, "big", 256 * 1024), 0);
	/* The echo just under the cap and the big one reach the handler. */
	srv_expect(&t, client_oversize, NULL, 0, 2);
	srv_stop(&t);
}
END_TEST

START_TEST(test_set_limit)
{
	struct tsrv	 t;
	char		 name[16];
	int		 i;

	srv_start(&t);
	ck_assert_int_eq(control_set_limit(t.t_ctl, "test", 1024 * 1024), 0);
	ck_assert_int_eq(control_set_limit(t.t_ctl, "test", 2048 * 1024), 0);
	ck_assert_int_eq(control_set_limit(t.t_ctl, "x", 0), -1);
	ck_assert_int_eq(control_set_limit(t.t_ctl, "x",
	    CONTROL_LIMIT_MAX + 1), -1);
	ck_assert_int_eq(control_set_limit(t.t_ctl,
	    "a-command-name-longer-than-32-bytes", 1000), -1);
	/* Sixteen rows, the first of them "test". */
	for (i = 0; i < 15; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		ck_assert_int_eq(control_set_limit(t.t_ctl, name, 1000), 0);
	}
	ck_assert_int_eq(control_set_limit(t.t_ctl, "one-too-many", 1000), -1);
	ck_assert_int_eq(control_set_limit(t.t_ctl, "c3", 2000), 0);
	srv_stop(&t);
}
END_TEST

static const struct {
	const char	*in;
	size_t		 len;	/* 0: strlen */
	const char	*err;	/* NULL: accepted */
} parse_cases[] = {
	{ "{\"command\":\"reload\"}", 0, NULL },
	{ " {\"command\":\"status\",\"x\":[1,{}]} \r", 0, NULL },
	{ "{\"command\":\"a-b_9\"}", 0, NULL },
	{ "", 0, "malformed request: not a JSON object" },
	{ "[1]", 0, "malformed request: not a JSON object" },
	{ "\"reload\"", 0, "malformed request: not a JSON object" },
	{ "null", 0, "malformed request: not a JSON object" },
	{ "{\"command\":\"echo\"", 0, "malformed request: incomplete JSON" },
	/* Strict json-c refuses anything but blanks after the object. */
	{ "{\"command\":\"echo\"} x", 0,
	    "malformed request: unexpected character" },
	{ "{\"command\":\"echo\"}{}", 0,
	    "malformed request: unexpected character" },
	{ "{}", 0, "malformed request: no \"command\" string" },
	{ "{\"command\":5}", 0, "malformed request: no \"command\" string" },
	{ "{\"command\":null}", 0, "malformed request: no \"command\" string" },
	{ "{\"command\":\"\"}", 0, "malformed request: bad command name" },
	{ "{\"command\":\"Reload\"}", 0, "malformed request: bad command name" },
	{ "{\"command\":\"9x\"}", 0, "malformed request: bad command name" },
	{ "{\"command\":\"re load\"}", 0, "malformed request: bad command name" },
	{ "{\"command\":\"re\\u0000load\"}", 0,
	    "malformed request: bad command name" },
	{ "{\"command\":\"abcdefghijabcdefghijabcdefghijabc\"}", 0,
	    "malformed request: bad command name" },
	{ "{\"command\":\"echo\"}\0", 19, "malformed request: NUL byte" },
};

START_TEST(test_parse)
{
	struct json_object	*o;
	const char		*command;
	char			 err[256], deep[200];
	size_t			 i, len;
	int			 r;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		len = parse_cases[i].len != 0 ? parse_cases[i].len :
		    strlen(parse_cases[i].in);
		err[0] = '\0';
		r = control_parse(parse_cases[i].in, len, &o, &command, err,
		    sizeof(err));
		if (parse_cases[i].err == NULL) {
			ck_assert_msg(r == 0, "case %zu: %s", i, err);
			ck_assert_ptr_nonnull(o);
			ck_assert(strstr(parse_cases[i].in, command) != NULL);
			json_object_put(o);
		} else {
			ck_assert_msg(r == -1, "case %zu accepted", i);
			ck_assert_ptr_null(o);
			ck_assert_str_eq(err, parse_cases[i].err);
		}
	}
	/* Strict JSON: single quotes, bad UTF-8, nesting beyond 32. */
	ck_assert_int_eq(control_parse("{'command':'x'}", 15, &o, &command, err,
	    sizeof(err)), -1);
	ck_assert(strncmp(err, "malformed request: ", 19) == 0);
	ck_assert_int_eq(control_parse("{\"command\":\"x\",\"a\":\"\xff\"}", 23,
	    &o, &command, err, sizeof(err)), -1);
	ck_assert(strncmp(err, "malformed request: ", 19) == 0);
	len = 0;
	len += snprintf(deep, sizeof(deep), "{\"command\":\"x\",\"a\":");
	for (i = 0; i < 40; i++)
		deep[len++] = '[';
	for (i = 0; i < 40; i++)
		deep[len++] = ']';
	deep[len++] = '}';
	ck_assert_int_eq(control_parse(deep, len, &o, &command, err,
	    sizeof(err)), -1);
	ck_assert(strncmp(err, "malformed request: ", 19) == 0);
}
END_TEST

/* Over the wire: each gets its error reply and the connection closes. */
static int
client_malformed(struct tsrv *t, void *arg)
{
	char	 buf[512];
	size_t	 i;

	for (i = 3; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		char	 req[256], want[512];
		size_t	 len = parse_cases[i].len != 0 ? parse_cases[i].len :
			    strlen(parse_cases[i].in);

		memcpy(req, parse_cases[i].in, len);
		req[len++] = '\n';
		CHILD_CHECK(raw_call(t->t_path, req, len, 0, buf,
		    sizeof(buf)) > 0);
		snprintf(want, sizeof(want), "{\"ok\":false,\"error\":\"%s\"}",
		    parse_cases[i].err);
		/* json-c escapes the quotes of "command". */
		if (strstr(parse_cases[i].err, "\"command\"") != NULL)
			snprintf(want, sizeof(want), "{\"ok\":false,\"error\":"
			    "\"malformed request: no \\\"command\\\" string\"}");
		if (strcmp(buf, want) != 0) {
			fprintf(stderr, "case %zu: got %s\n", i, buf);
			return 1;
		}
	}
	/* Not even JSON. */
	CHILD_CHECK(raw_call(t->t_path, "hello\n", 6, 0, buf, sizeof(buf)) > 0);
	CHILD_CHECK(strncmp(buf, "{\"ok\":false,\"error\":\"malformed request: ",
	    40) == 0);
	return 0;
}

START_TEST(test_malformed)
{
	struct tsrv	 t;

	srv_start(&t);
	srv_expect(&t, client_malformed, NULL, 0, 0);
	srv_stop(&t);
}
END_TEST

/* --- clients that go away, handlers that are slow --------------------- */

static int
client_early_close(struct tsrv *t, void *arg)
{
	int	 fd;

	CHILD_CHECK((fd = raw_connect(t->t_path)) != -1);
	CHILD_CHECK(write(fd, "{\"command\":\"later\"}\n", 20) == 20);
	close(fd);
	return 0;
}

START_TEST(test_early_disconnect)
{
	struct tsrv	 t;

	srv_start(&t);
	/* The reply comes 100 ms later, long after the client has gone. */
	srv_expect(&t, client_early_close, NULL, 300, 1);
	ck_assert_ptr_null(t.t_held);
	ck_assert_int_eq(t.t_late_gone, 1);
	ck_assert_int_eq(t.t_late_rv, -1);
	srv_stop(&t);
}
END_TEST

static int
client_hold(struct tsrv *t, void *arg)
{
	struct ctl_globals	 g = { NULL, t->t_path };
	struct json_object	*req, *reply;
	char			 buf[256];

	req = request(arg, NULL);
	/* hold: the deadline answers; hold-free: the close does. */
	if (strcmp(arg, "hold") == 0) {
		CHILD_CHECK(ctl_call(&g, req, &reply) == CTL_OK);
		CHILD_CHECK(strcmp(json_object_to_json_string_ext(reply,
		    JSON_C_TO_STRING_PLAIN), "{\"ok\":false,\"error\":"
		    "\"no reply in time\"}") == 0);
		json_object_put(reply);
	} else {
		CHILD_CHECK(ctl_call(&g, req, &reply) == CTL_FAIL);
		CHILD_CHECK(reply == NULL);
	}
	json_object_put(req);
	/* An idle client gets the read deadline's answer. */
	if (strcmp(arg, "hold") == 0) {
		CHILD_CHECK(raw_call(t->t_path, "", 0, 0, buf,
		    sizeof(buf)) > 0);
		CHILD_CHECK(strcmp(buf, "{\"ok\":false,\"error\":\"timed out "
		    "reading the request\"}") == 0);
	}
	return 0;
}

START_TEST(test_reply_timeout)
{
	struct tsrv	 t;

	srv_start(&t);
	control_set_timeouts(t.t_ctl, 200, 200);
	srv_expect(&t, client_hold, "hold", 0, 1);
	/* The handler still owns the request; its reply goes nowhere. */
	ck_assert_ptr_nonnull(t.t_held);
	ck_assert_int_eq(control_req_gone(t.t_held), 1);
	ck_assert_int_eq(control_reply(t.t_held, ok_reply()), -1);
	srv_stop(&t);
}
END_TEST

static int
client_later(struct tsrv *t, void *arg)
{
	struct ctl_globals	 g = { NULL, t->t_path };
	struct json_object	*req, *reply;

	req = request("later", NULL);
	CHILD_CHECK(ctl_command(&g, req, &reply, 0) == CTL_OK);
	json_object_put(req);
	json_object_put(reply);
	return 0;
}

/* A reply given just before control_free() still reaches the client. */
START_TEST(test_free_flushes)
{
	struct tsrv	 t;

	srv_start(&t);
	t.t_late_free = 1;
	srv_expect(&t, client_later, NULL, 0, 1);
	ck_assert_int_eq(t.t_late_rv, 0);
	ck_assert_ptr_null(t.t_ctl);
	srv_stop(&t);
}
END_TEST

START_TEST(test_free_pending)
{
	struct tsrv	 t;
	struct stat	 st;

	srv_start(&t);
	srv_expect(&t, client_hold, "hold-free", 0, 1);
	ck_assert_ptr_null(t.t_ctl);
	ck_assert_int_eq(lstat(t.t_path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(control_req_gone(t.t_held), 1);
	ck_assert_int_eq(control_reply_error(t.t_held, "late"), -1);
	srv_stop(&t);
}
END_TEST

static int
client_retire(struct tsrv *t, void *arg)
{
	struct ctl_globals	 g = { NULL, t->t_path };
	struct json_object	*req, *reply, *v;

	req = request("retire", NULL);
	CHILD_CHECK(ctl_command(&g, req, &reply, 0) == CTL_OK);
	CHILD_CHECK(json_object_object_get_ex(reply, "late", &v) &&
	    json_object_get_boolean(v));
	json_object_put(req);
	json_object_put(reply);
	/* Nobody listens there any more. */
	CHILD_CHECK(raw_connect(t->t_path) == -1 && errno == ENOENT);
	return 0;
}

/* A retired socket is gone at once, but its pending request is answered. */
START_TEST(test_retire)
{
	struct tsrv	 t;
	struct stat	 st;
	char		 err[256];

	srv_start(&t);
	srv_expect(&t, client_retire, NULL, 0, 1);
	ck_assert_int_eq(t.t_late_rv, 0);
	ck_assert_int_eq(t.t_late_gone, 0);
	ck_assert_int_eq(lstat(t.t_path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* Idle: freed at once (valgrind sees no leak); the path is free. */
	t.t_ctl = control_new(t.t_base, t.t_path, srv_handler, &t, err,
	    sizeof(err));
	ck_assert_msg(t.t_ctl != NULL, "control_new: %s", err);
	control_retire(t.t_ctl);
	t.t_ctl = NULL;
	ck_assert_int_eq(lstat(t.t_path, &st), -1);
	srv_stop(&t);
}
END_TEST

/* More clients than the server takes at once: the rest wait their turn. */
static int
client_crowd(struct tsrv *t, void *arg)
{
	struct ctl_globals	 g = { NULL, t->t_path };
	struct json_object	*req, *reply;
	char			 buf[256];
	int			 fds[24], i;

	for (i = 0; i < 24; i++)
		CHILD_CHECK((fds[i] = raw_connect(t->t_path)) != -1);
	req = request("echo", "crowd");
	CHILD_CHECK(ctl_command(&g, req, &reply, 0) == CTL_OK);
	json_object_put(req);
	json_object_put(reply);
	/* Every idle one was answered and closed. */
	for (i = 0; i < 24; i++) {
		CHILD_CHECK(raw_line(fds[i], buf, sizeof(buf)) > 0);
		CHILD_CHECK(strstr(buf, "timed out reading") != NULL);
		close(fds[i]);
	}
	return 0;
}

START_TEST(test_crowd)
{
	struct tsrv	 t;

	srv_start(&t);
	control_set_timeouts(t.t_ctl, 200, 0);
	srv_expect(&t, client_crowd, NULL, 0, 1);
	srv_stop(&t);
}
END_TEST

/* --- the socket on disk ------------------------------------------------ */

START_TEST(test_socket_mode)
{
	struct tsrv	 t;
	struct stat	 st;
	char		 path[256], dir[128], err[256];
	mode_t		 old;

	srv_init(&t);
	/* Missing directories are made 0755 whatever the umask. */
	snprintf(dir, sizeof(dir), "%s/run/widgetd", t.t_dir);
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	old = umask(077);
	t.t_ctl = control_new(t.t_base, path, srv_handler, &t, err,
	    sizeof(err));
	ck_assert_int_eq(umask(old), 077);
	ck_assert_msg(t.t_ctl != NULL, "%s", err);
	ck_assert_str_eq(control_path(t.t_ctl), path);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(st.st_uid, geteuid());
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_uid, geteuid());
	/* Removed on a clean exit; the directory stays. */
	control_free(t.t_ctl);
	t.t_ctl = NULL;
	ck_assert_int_eq(lstat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(stat(dir, &st), 0);
	srv_stop(&t);
}
END_TEST

static void
expect_refused(struct tsrv *t, const char *path, const char *want)
{
	char	 err[256] = "";

	t->t_ctl = control_new(t->t_base, path, srv_handler, t, err,
	    sizeof(err));
	ck_assert_msg(t->t_ctl == NULL, "%s accepted", path);
	ck_assert_msg(strstr(err, want) != NULL, "%s: '%s' lacks '%s'", path,
	    err, want);
}

START_TEST(test_directories)
{
	struct tsrv	 t;
	struct stat	 st;
	char		 path[256], dir[128], link[128];

	srv_init(&t);
	expect_refused(&t, "relative/ctl.sock", "not an absolute path");
	snprintf(path, sizeof(path), "%s/", t.t_dir);
	expect_refused(&t, path, "no file name");
	snprintf(path, sizeof(path), "%s/%0120d", t.t_dir, 0);
	expect_refused(&t, path, "longer than 107 bytes");

	/* A directory others may write is where a socket gets swapped. */
	snprintf(dir, sizeof(dir), "%s/open", t.t_dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(chmod(dir, 0775), 0);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	expect_refused(&t, path, "writable by group or others (mode 0775)");
	/* Sticky, like /tmp, is fine. */
	ck_assert_int_eq(chmod(dir, 01777), 0);
	t.t_ctl = control_new(t.t_base, path, srv_handler, &t, NULL, 0);
	ck_assert_ptr_nonnull(t.t_ctl);
	control_free(t.t_ctl);
	t.t_ctl = NULL;
	/* Judged where a symbolic link to it leads. */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(link, sizeof(link), "%s/link", t.t_dir);
	ck_assert_int_eq(symlink(dir, link), 0);
	snprintf(path, sizeof(path), "%s/ctl.sock", link);
	expect_refused(&t, path, "writable by group or others");
	ck_assert_int_eq(chmod(dir, 0755), 0);
	t.t_ctl = control_new(t.t_base, path, srv_handler, &t, NULL, 0);
	ck_assert_ptr_nonnull(t.t_ctl);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	ck_assert_str_eq(control_path(t.t_ctl), path);
	control_free(t.t_ctl);
	t.t_ctl = NULL;

	/* A file where a directory should be. */
	snprintf(dir, sizeof(dir), "%s/file", t.t_dir);
	ck_assert_int_eq(close(open(dir, O_CREAT | O_WRONLY, 0600)), 0);
	snprintf(path, sizeof(path), "%s/sub/ctl.sock", dir);
	expect_refused(&t, path, "Not a directory");

	/* Owned by someone else (root can arrange that). */
	if (geteuid() == 0) {
		snprintf(dir, sizeof(dir), "%s/theirs", t.t_dir);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		ck_assert_int_eq(chown(dir, 65534, 65534), 0);
		snprintf(path, sizeof(path), "%s/ctl.sock", dir);
		expect_refused(&t, path, "owned by uid 65534");
		ck_assert_int_eq(lstat(path, &st), -1);
	}
	srv_stop(&t);
}
END_TEST

/* A socket bound at path and, unless listening, closed: a stale one. */
static int
make_socket(const char *path, int listening)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening) {
		ck_assert_int_eq(listen(fd, 1), 0);
		return fd;
	}
	close(fd);
	return -1;
}

START_TEST(test_what_is_there)
{
	struct tsrv	 t;
	struct control	*first;
	struct stat	 st, st2;
	char		 target[256], buf[16];
	int		 fd;

	srv_init(&t);
	/* A previous run's socket is replaced. */
	make_socket(t.t_path, 0);
	ck_assert_int_eq(lstat(t.t_path, &st), 0);
	t.t_ctl = control_new(t.t_base, t.t_path, srv_handler, &t, NULL, 0);
	ck_assert_ptr_nonnull(t.t_ctl);
	ck_assert_int_eq(lstat(t.t_path, &st2), 0);
	ck_assert(S_ISSOCK(st2.st_mode));
	ck_assert_int_eq(st2.st_mode & 07777, 0600);
	fd = raw_connect(t.t_path);
	ck_assert_int_ne(fd, -1);
	close(fd);
	/* ... and a second daemon on the same path is refused. */
	first = t.t_ctl;
	expect_refused(&t, t.t_path, "in use");
	t.t_ctl = first;
	srv_stop(&t);

	srv_init(&t);
	fd = make_socket(t.t_path, 1);
	expect_refused(&t, t.t_path, "in use (is another widgetd running?)");
	close(fd);
	unlink(t.t_path);

	/* A regular file is never replaced. */
	fd = open(t.t_path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	expect_refused(&t, t.t_path, "exists and is not a socket");
	fd = open(t.t_path, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	unlink(t.t_path);

	/* A symbolic link is never followed, dangling or not. */
	snprintf(target, sizeof(target), "%s/elsewhere", t.t_dir);
	ck_assert_int_eq(symlink(target, t.t_path), 0);
	expect_refused(&t, t.t_path, "a symbolic link, not following it");
	ck_assert_int_eq(lstat(target, &st), -1);
	make_socket(target, 0);
	expect_refused(&t, t.t_path, "a symbolic link, not following it");
	ck_assert_int_eq(lstat(t.t_path, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(lstat(target, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	unlink(t.t_path);

	/* On exit only our own socket is removed, not what replaced it. */
	t.t_ctl = control_new(t.t_base, t.t_path, srv_handler, &t, NULL, 0);
	ck_assert_ptr_nonnull(t.t_ctl);
	unlink(t.t_path);
	fd = open(t.t_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	control_free(t.t_ctl);
	t.t_ctl = NULL;
	ck_assert_int_eq(lstat(t.t_path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	srv_stop(&t);
}
END_TEST

/* --- who may connect ------------------------------------------------- */

static int
client_stranger(struct tsrv *t, void *arg)
{
	struct ctl_globals	 g = { NULL, t->t_path };
	struct json_object	*req, *reply;
	char			 buf[256];
	int			 rv;

	CHILD_CHECK(setgroups(0, NULL) == 0);
	CHILD_CHECK(setgid(65534) == 0);
	CHILD_CHECK(setuid(65534) == 0);
	if (strcmp(arg, "closed") == 0) {
		/* 0600: the kernel already says no. */
		req = request("echo", NULL);
		rv = ctl_call(&g, req, &reply);
		json_object_put(req);
		CHILD_CHECK(rv == CTL_FAIL);
		CHILD_CHECK(raw_connect(t->t_path) == -1 && errno == EACCES);
		return 0;
	}
	/* Made reachable by mistake: the peer check still refuses. */
	CHILD_CHECK(raw_call(t->t_path, "{\"command\":\"echo\"}\n", 19, 0, buf,
	    sizeof(buf)) > 0);
	CHILD_CHECK(strcmp(buf, "{\"ok\":false,\"error\":\"permission "
	    "denied\"}") == 0);
	return 0;
}

START_TEST(test_peer_refused)
{
	struct tsrv	 t;
	char		 logpath[128], logbuf[4096], want[128];
	ssize_t		 n;
	int		 logfd, saved, rv;

	if (geteuid() != 0) {
		printf("test_peer_refused: needs root, skipped\n");
		return;
	}
	srv_start(&t);
	ck_assert_int_eq(chmod(t.t_dir, 0755), 0);
	srv_expect(&t, client_stranger, "closed", 0, 0);

	/* The refusal is logged once, with the peer's uid and pid. */
	ck_assert_int_eq(chmod(t.t_path, 0666), 0);
	snprintf(logpath, sizeof(logpath), "%s/log", t.t_dir);
	logfd = open(logpath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	saved = dup(2);
	dup2(logfd, 2);
	log_init(1, 0, LOG_DAEMON);
	rv = srv_run(&t, client_stranger, "open", 0);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(rv, 0);
	ck_assert_int_eq(t.t_nreq, 0);
	n = pread(logfd, logbuf, sizeof(logbuf) - 1, 0);
	close(logfd);
	ck_assert_int_gt(n, 0);
	logbuf[n] = '\0';
	snprintf(want, sizeof(want), "control: refused a connection from uid "
	    "65534 pid %ld\n", (long)t.t_child);
	ck_assert_msg(strstr(logbuf, want) != NULL, "log: %s", logbuf);
	/* Exactly one line for one connection. */
	ck_assert_ptr_null(strstr(strstr(logbuf, "refused") + 1, "refused"));
	srv_stop(&t);
}
END_TEST

/* --- widgetctl's side with no daemon ---------------------------------- */

START_TEST(test_not_running)
{
	struct tsrv		 t;
	struct ctl_globals	 g;
	struct json_object	*req, *reply;

	srv_init(&t);
	g.g_config = NULL;
	g.g_socket = t.t_path;
	req = request("status", NULL);
	ck_assert_int_eq(ctl_call(&g, req, &reply), CTL_DOWN);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(ctl_command(&g, req, &reply, CTL_QUIET_DOWN),
	    CTL_DOWN);
	/* A socket left by a daemon that was killed. */
	make_socket(t.t_path, 0);
	ck_assert_int_eq(ctl_call(&g, req, &reply), CTL_DOWN);
	json_object_put(req);
	srv_stop(&t);
}
END_TEST

/* --- the status table ------------------------------------------------- */

START_TEST(test_status_print)
{
	static const char reply[] =
	    "{\"ok\":true,\"pid\":4242,\"uptime_s\":3725.5,\"generation\":3,"
	    "\"config\":\"/etc/widgetd.conf\",\"cache\":{\"hits\":5},"
	    "\"processes\":["
	    "{\"role\":\"keeper\",\"slot\":0,\"pid\":4243,\"uptime_s\":3725,"
	    "\"respawns\":0,\"generation\":3,\"queue\":2},"
	    "{\"role\":\"worker\",\"slot\":1,\"pid\":45678,\"uptime_s\":59.97,"
	    "\"respawns\":12,\"generation\":3,\"connections\":7,\"keeper\":0},"
	    "7,"
	    "{\"role\":\"worker\\u001b[31m\",\"slot\":2,\"pid\":9,"
	    "\"uptime_s\":90061,\"respawns\":0,\"generation\":2,"
	    "\"connections\":0,\"keeper\":0}],"
	    "\"connectors\":[{\"tenant\":\"acme\",\"permalink\":\"weather-api\","
	    "\"kind\":\"connector\",\"calls\":120,\"errors\":3,"
	    "\"upstream_errors\":1,\"status\":{\"502\":1,\"200\":117,"
	    "\"404\":2}},"
	    "{\"tenant\":\"acme\",\"permalink\":\"c\",\"kind\":\"composite\","
	    "\"calls\":0,\"errors\":0,\"upstream_errors\":0,\"status\":{}}]}";
	static const char want[] =
	    "widgetd pid 4242, up 1h02m, generation 3, configuration "
	    "/etc/widgetd.conf\n"
	    "\n"
	    "ROLE         SLOT    PID  UPTIME  RESPAWNS  GEN  CONNS  KEEPER\n"
	    "keeper          0   4243   1h02m         0    3      -       -\n"
	    "worker          1  45678     59s        12    3      7       0\n"
	    "worker?[31m     2      9   1d01h         0    2      0       0\n"
	    "\n"
	    "TENANT  CONNECTOR    KIND       CALLS  ERRORS  UPSTREAM-ERRORS  "
	    "CACHE-HITS  UPSTREAM  RETRIES  REFUSED  STATUS\n"
	    "acme    weather-api  connector    120       3                1  "
	    "         -         -        -        -  200:117 404:2 502:1\n"
	    "acme    c            composite      0       0                0  "
	    "         -         -        -        -  -\n";
	struct json_object	*o;
	char			*out = NULL;
	size_t			 len = 0;
	FILE			*fp;

	o = json_tokener_parse(reply);
	ck_assert_ptr_nonnull(o);
	fp = open_memstream(&out, &len);
	ctl_status_print(fp, o);
	fclose(fp);
	ck_assert_str_eq(out, want);
	free(out);
	json_object_put(o);

	/* A bare reply: the header and two "none" lines, no crash. */
	o = json_tokener_parse("{\"ok\":true,\"processes\":{},"
	    "\"connectors\":[null,\"x\"]}");
	fp = open_memstream(&out, &len);
	ctl_status_print(fp, o);
	fclose(fp);
	ck_assert_str_eq(out, "widgetd\n\nno processes\n\n"
	    "no connector calls yet\n");
	free(out);
	json_object_put(o);

	/* A worker that did not answer: said, not silently missing. */
	o = json_tokener_parse("{\"ok\":true,\"incomplete\":true}");
	fp = open_memstream(&out, &len);
	ctl_status_print(fp, o);
	fclose(fp);
	ck_assert_str_eq(out, "widgetd\nincomplete: not every worker "
	    "answered in time; its connector counters are missing\n\n"
	    "no processes\n\nno connector calls yet\n");
	free(out);
	json_object_put(o);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc;

	tc = tcase_create("control");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_oversize);
	tcase_add_test(tc, test_set_limit);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_early_disconnect);
	tcase_add_test(tc, test_reply_timeout);
	tcase_add_test(tc, test_free_pending);
	tcase_add_test(tc, test_free_flushes);
	tcase_add_test(tc, test_retire);
	tcase_add_test(tc, test_crowd);
	tcase_add_test(tc, test_socket_mode);
	tcase_add_test(tc, test_directories);
	tcase_add_test(tc, test_what_is_there);
	tcase_add_test(tc, test_peer_refused);
	tcase_add_test(tc, test_not_running);
	tcase_add_test(tc, test_status_print);
	suite_add_tcase(s, tc);
	return s;
}
