/*
 * check_core.c — the pieces of the process architecture that can be tested
 * without a running daemon: the error envelope and common headers (api.c),
 * respawn backoff and role names (proc.c), and the keeper's permit table
 * and destination binding, driven over real channels with a keeper in a
 * child process: the test plays the parent and the workers, and a
 * compromised worker's forged plans must close its channel before any
 * byte leaves for an upstream.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
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
#include "plan.h"
#include "proc.h"
#include "snapshot.h"
#include "strcopy.h"
#include "template/template.h"
#include "worker.h"

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

/* The envelope json-c made before api_error_body wrote it directly. */
static char *
envelope_jsonc(const char *code, const char *detail, const char *scope,
    const char *const *params, const char *reqid)
{
	struct json_object	*o, *e, *pa;
	char			*s;
	size_t			 i;

	o = json_object_new_object();
	e = json_object_new_object();
	pa = json_object_new_array();
	json_object_object_add(o, "success", json_object_new_boolean(0));
	if (code != NULL)
		json_object_object_add(e, "code", json_object_new_string(code));
	if (detail != NULL)
		json_object_object_add(e, "detail",
		    json_object_new_string(detail));
	json_object_object_add(e, "scope", json_object_new_string(scope));
	for (i = 0; params != NULL && params[i] != NULL; i++)
		json_object_array_add(pa, json_object_new_string(params[i]));
	json_object_object_add(e, "params", pa);
	json_object_object_add(o, "errors", e);
	json_object_object_add(o, "request_id", json_object_new_string(reqid));
	s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/*
 * Byte for byte what json-c wrote: every byte value in a detail, a
 * scope and a parameter, with and without code and detail, and random
 * strings.
 */
START_TEST(test_envelope_bytes)
{
	const char	*params[4], *codes[] = { "NOT_FOUND", NULL };
	const char	*rid = "11111111-2222-4333-8444-555555555555";
	char		 all[256], rnd[64], *a, *b;
	size_t		 i, j, k;
	unsigned int	 seed = 7;

	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	params[0] = all;
	params[1] = "a/b";
	params[2] = "";
	params[3] = NULL;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			a = api_error_body(codes[i], j ? all : NULL, all,
			    j ? params : NULL, rid);
			b = envelope_jsonc(codes[i], j ? all : NULL, all,
			    j ? params : NULL, rid);
			ck_assert_str_eq(a, b);
			free(a);
			free(b);
		}
	for (k = 0; k < 2000; k++) {
		for (i = 0; i < sizeof(rnd) - 1; i++)
			rnd[i] = (char)(1 + rand_r(&seed) % 255);
		rnd[rand_r(&seed) % sizeof(rnd)] = '\0';
		rnd[sizeof(rnd) - 1] = '\0';
		params[0] = rnd;
		params[1] = NULL;
		a = api_error_body("BAD_REQUEST", rnd, "Template", params,
		    rnd);
		b = envelope_jsonc("BAD_REQUEST", rnd, "Template", params,
		    rnd);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
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

/* str_copy is snprintf(dst, size, "%s", src): cut to fit, always ended. */
START_TEST(test_str_copy)
{
	char	 buf[8], big[64];
	char	 src[40];
	size_t	 size, len;

	for (len = 0; len < sizeof(src); len++) {
		memset(src, 'a', len);
		src[len] = '\0';
		if (len > 0)
			src[len - 1] = 'z';
		for (size = 1; size <= sizeof(buf); size++) {
			memset(buf, '#', sizeof(buf));
			memset(big, '#', sizeof(big));
			str_copy(buf, size, src);
			snprintf(big, size, "%s", src);
			ck_assert_mem_eq(buf, big, size);
			/* nothing past the NUL is touched */
			if (size < sizeof(buf))
				ck_assert_int_eq(buf[size], '#');
		}
	}
	/* src needs no NUL within reach: only size - 1 bytes are read */
	memset(src, 'b', sizeof(src));
	str_copy(buf, sizeof(buf), src);
	ck_assert_str_eq(buf, "bbbbbbb");
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
			/*
			 * Counters a child pushes on its own clock (at most
			 * once a second while they change) may come between
			 * any two frames a test waits for.
			 */
			if (m->m_type == MSG_READY || m->m_type == MSG_METRICS)
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

/* The keeper's directory: its configuration, registry and store. */
static void
keeper_mkdir(void)
{
	char	 path[160];

	snprintf(keeper_dir, sizeof(keeper_dir), "/tmp/check_core.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(keeper_dir));
	/* The keeper reads its store as keeper_user once it has switched. */
	ck_assert_int_eq(chmod(keeper_dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/s", keeper_dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void
keeper_file(const char *name, const char *text, mode_t mode)
{
	char	 path[160];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", keeper_dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A secret as the store keeps it: readable by keeper_user alone. */
static void
keeper_secret(const char *name, const char *value)
{
	struct passwd	*pw;
	char		 path[160], dir[160];

	snprintf(dir, sizeof(dir), "%s/s/secrets", keeper_dir);
	if (mkdir(dir, 0700) == -1)
		ck_assert_int_eq(errno, EEXIST);
	snprintf(path, sizeof(path), "s/secrets/%s", name);
	keeper_file(path, value, 0600);
	if (geteuid() == 0) {
		ck_assert_ptr_nonnull(pw = getpwnam("daemon"));
		snprintf(path, sizeof(path), "%s/s/secrets/%s", keeper_dir,
		    name);
		ck_assert_int_eq(chown(dir, pw->pw_uid, -1), 0);
		ck_assert_int_eq(chown(path, pw->pw_uid, -1), 0);
	}
}

/*
 * Start the keeper on a configuration with extra lines (egress) and a
 * registry, in keeper_dir (keeper_mkdir first).
 */
static struct ipc_chan *
keeper_start(const char *extra, const char *registry)
{
	char		 conf[128], text[4096];
	struct proc_opts po;
	struct snapshot	*sn;
	int		 sv[2];

	snprintf(conf, sizeof(conf), "%s/w.conf", keeper_dir);
	snprintf(text, sizeof(text),
	    "listen = ( { address = \"127.0.0.1\"; port = 1; } );\n"
	    "user = \"nobody\";\nkeeper_user = \"daemon\";\n"
	    "chroot = \"%s\";\n%s\n"
	    "tenants = ( { id = \"t\"; registry = \"r.json\"; "
	    "store = \"s\"; } );\n", keeper_dir, extra);
	keeper_file("w.conf", text, 0644);
	keeper_file("r.json", registry, 0644);
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
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", keeper_dir);
	ck_assert_int_eq(system(cmd), 0);
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
	int		 wk[2], kw[2], fds[2];

	/* A pipe each way, as the parent makes them. */
	ck_assert_int_eq(pipe(wk), 0);
	ck_assert_int_eq(pipe(kw), 0);
	fds[0] = wk[0];
	fds[1] = kw[1];
	ipc_buf_init(&b);
	ipc_put_u32(&b, slot);
	ck_assert_int_eq(ipc_send_fds(parent, MSG_WORKER_FD, 0, b.b_data,
	    b.b_len, fds, 2), 0);
	ipc_buf_clear(&b);
	flush(parent);
	/* The test plays a worker that may break any rule. */
	return ipc_chan_new_pipes(kw[0], wk[1], IPC_ANY, IPC_ANY);
}

START_TEST(test_keeper_permits)
{
	struct ipc_chan	*parent, *w0, *w1;
	struct ipc_msg	 m;
	char		 logs[4096] = "";
	uint32_t	 slot;

	keeper_mkdir();
	parent = keeper_start("", "{\"connectors\": []}\n");
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

	keeper_mkdir();
	parent = keeper_start("", "{\"connectors\": []}\n");
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

/* --- Destination binding: a compromised worker's plans ------------------ */

#define BIND_KEY	"bind-canary-0a1b2c3d4e"	/* secret 'k' */
#define BIND_APP	"bind-app-id-99887766"		/* secret 'app' */

/* A listener on 127.0.0.1 that only accepts when asked; its port. */
static int
bind_listener(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 64), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Connections waiting on a listener: every one ever made, unaccepted. */
static int
bind_count(int lfd)
{
	int	 fd, n = 0;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		close(fd);
		n++;
	}
	ck_assert_int_eq(errno, EAGAIN);
	return n;
}

/* A field's value: literal text, then the named secret if any. */
static void
bind_field(struct plan_field **fs, size_t *n, uint32_t src, uint32_t row,
    const char *name, const char *text, const char *secret)
{
	struct plan_field	*f;
	struct tsecret		*ts = NULL;

	ck_assert_ptr_nonnull(*fs = reallocarray(*fs, *n + 1, sizeof(**fs)));
	f = &(*fs)[(*n)++];
	memset(f, 0, sizeof(*f));
	f->pf_src = src;
	f->pf_row = row;
	ck_assert_ptr_nonnull(f->pf_name = strdup(name));
	if (text != NULL)
		ck_assert_int_eq(plan_field_add(f, text, strlen(text), NULL), 0);
	if (secret != NULL) {
		ck_assert_ptr_nonnull(ts = calloc(1, sizeof(*ts)));
		ts->ts_op = TSX_SECRET;
		ck_assert_ptr_nonnull(ts->ts_data = strdup(secret));
		ts->ts_len = strlen(secret);
		ck_assert_int_eq(plan_field_add(f, NULL, 0, ts), 0);
	}
}

/* The plan an honest worker sends for the "bound" connector below. */
static void
bind_plan(struct plan *pl, const char *url)
{
	memset(pl, 0, sizeof(*pl));
	pl->pl_gen = 1;
	pl->pl_kind = PLAN_CONNECTOR;
	pl->pl_reqid = "req-bind";
	pl->pl_method = "GET";
	ck_assert_ptr_nonnull(pl->pl_url = strdup(url));
	bind_field(&pl->pl_headers, &pl->pl_nheaders, PLAN_ROW, 0, "X-Key",
	    "k=", "k");
	bind_field(&pl->pl_headers, &pl->pl_nheaders, PLAN_ROW, 1, "X-Plain",
	    "plain", NULL);
	bind_field(&pl->pl_headers, &pl->pl_nheaders, PLAN_OVERRIDE, 2,
	    "X-Lang", "pl", NULL);
	bind_field(&pl->pl_query, &pl->pl_nquery, PLAN_OVERRIDE, 0, "units",
	    "imperial", NULL);
	bind_field(&pl->pl_query, &pl->pl_nquery, PLAN_ROW, 1, "sig", NULL,
	    "k");
	bind_field(&pl->pl_query, &pl->pl_nquery, PLAN_CALLER, 0, "q", "x",
	    NULL);
	bind_field(&pl->pl_query, &pl->pl_nquery, PLAN_AUTH, 0, "appid", NULL,
	    "app");
}

static void
bind_send(struct ipc_chan *w, uint32_t id, const struct plan *pl)
{
	struct ipc_buf	 b;

	ck_assert_int_eq(plan_encode(&b, pl), 0);
	ck_assert_int_eq(ipc_send(w, MSG_CALL, id, b.b_data, b.b_len, -1), 0);
	ipc_buf_clear(&b);
	flush(w);
}

/* How a forged plan differs from the honest one. */
enum bind_forgery {
	BF_URL,			/* bf_arg: the URL */
	BF_SECRET_IN_PLAIN,	/* a row without a secret given one */
	BF_OTHER_SECRET,	/* the secret row given another secret */
	BF_RENAMED_ROW,		/* the secret row under another name */
	BF_OVERRIDE_FIXED,	/* a non-overridable row as an override */
	BF_OVERRIDE_SECRET,	/* an override carrying a secret */
	BF_CALLER_KEY,		/* bf_arg: a caller key the connector sets */
	BF_CALLER_SECRET,	/* a caller value carrying a secret */
	BF_AUTH_IN_HEADER,	/* the query api_key sent as a header */
	BF_CRLF_HEADER,		/* CR/LF in an override */
	BF_CRLF_QUERY		/* CR/LF in a caller's query value */
};

/*
 * A URL's %d are the ports bf_ports names in turn: 'U' the connector's
 * upstream, 'S' the sentinel (the default).
 */
static const struct bind_case {
	enum bind_forgery	 bf_kind;
	const char		*bf_arg;
	const char		*bf_why;	/* in the keeper's log line */
	const char		*bf_ports;
} bind_cases[] = {
	{ BF_URL, "http://evil.test:%d/v1/items",
	    "URL is not at the connector's origin", "S" },
	{ BF_URL, "http://api.example.com.evil.test:%d/v1/items",
	    "URL is not at the connector's origin", "S" },
	{ BF_URL, "http://api.example.com@evil.test:%d/v1/items",
	    "URL is not at the connector's origin", "S" },
	{ BF_URL, "http://api.example.com:%d/v1/items",	/* another port */
	    "URL is not at the connector's origin", "S" },
	{ BF_URL, "http://127.0.0.1:%d/v1/items",
	    "URL is not at the connector's origin", "S" },
	{ BF_URL, "https://api.example.com:%d/v1/items",
	    "URL is not at the connector's origin", "S" },
	{ BF_URL, "http://API.example.com:%d/v1/items",
	    "URL is not at the connector's origin", "S" },
	{ BF_URL, "http://api.example.com:%d@evil.test:%d/v1/items",
	    "URL is not at the connector's origin", "US" },
	{ BF_URL, "http://api.example.com:%d\\@evil.test:%d/v1",
	    "URL is not at the connector's origin", "US" },
	{ BF_URL, "http://api.example.com:%d#@evil.test:%d/v1",
	    "URL is not at the connector's origin", "US" },
	{ BF_URL, "http://api.example.com:%d:%d/v1",
	    "URL is not at the connector's origin", "US" },
	{ BF_URL, "http://api.example.com:%d/v1\r\nHost: evil.test",
	    "control character in the URL", "S" },
	{ BF_URL, "http://api.example.com:%d/v1 HTTP/1.0",
	    "control character in the URL", "S" },
	{ BF_URL, "http://api.example.com:%d/v1\titems",
	    "control character in the URL", "S" },
	{ BF_URL, "http://api.example.com:%d/v1\x7fitems",
	    "control character in the URL", "S" },
	{ BF_SECRET_IN_PLAIN, NULL, "header does not match its row", NULL },
	{ BF_OTHER_SECRET, NULL, "header does not match its row", NULL },
	{ BF_RENAMED_ROW, NULL, "header does not match its row", NULL },
	{ BF_OVERRIDE_FIXED, NULL, "header override not allowed", NULL },
	{ BF_OVERRIDE_SECRET, NULL, "header override not allowed", NULL },
	{ BF_CALLER_KEY, "sig", "caller query field not allowed", NULL },
	{ BF_CALLER_KEY, "appid", "caller query field not allowed", NULL },
	{ BF_CALLER_SECRET, NULL, "caller query field not allowed", NULL },
	{ BF_AUTH_IN_HEADER, NULL, "authentication header does not match",
	    NULL },
	{ BF_CRLF_HEADER, NULL, "header override not allowed", NULL },
	{ BF_CRLF_QUERY, NULL, "caller query field not allowed", NULL },
};

static void
bind_forge(struct plan *pl, const struct bind_case *bc, int port,
    int sport)
{
	const char	*p;
	char		 url[256];

	snprintf(url, sizeof(url), "http://api.example.com:%d/v1/items", port);
	bind_plan(pl, url);
	switch (bc->bf_kind) {
	case BF_URL:
		free(pl->pl_url);
		p = bc->bf_ports != NULL ? bc->bf_ports : "S";
		snprintf(url, sizeof(url), bc->bf_arg, p[0] == 'U' ? port :
		    sport, p[1] == 'U' ? port : sport);
		ck_assert_ptr_nonnull(pl->pl_url = strdup(url));
		break;
	case BF_SECRET_IN_PLAIN:
		bind_field(&pl->pl_headers, &pl->pl_nheaders, PLAN_ROW, 1,
		    "X-Plain", "plain", "k");
		/* Two X-Plain now: drop the honest one. */
		plan_field_clear(&pl->pl_headers[1]);
		pl->pl_headers[1] = pl->pl_headers[--pl->pl_nheaders];
		break;
	case BF_OTHER_SECRET:
		plan_field_clear(&pl->pl_headers[0]);
		pl->pl_headers[0] = pl->pl_headers[--pl->pl_nheaders];
		bind_field(&pl->pl_headers, &pl->pl_nheaders, PLAN_ROW, 0,
		    "X-Key", "k=", "app");
		break;
	case BF_RENAMED_ROW:
		free(pl->pl_headers[0].pf_name);
		ck_assert_ptr_nonnull(pl->pl_headers[0].pf_name =
		    strdup("X-Leak"));
		break;
	case BF_OVERRIDE_FIXED:
		pl->pl_headers[1].pf_src = PLAN_OVERRIDE;
		break;
	case BF_OVERRIDE_SECRET:
		plan_field_clear(&pl->pl_headers[2]);
		pl->pl_headers[2] = pl->pl_headers[--pl->pl_nheaders];
		bind_field(&pl->pl_headers, &pl->pl_nheaders, PLAN_OVERRIDE, 2,
		    "X-Lang", NULL, "k");
		break;
	case BF_CALLER_KEY:
		bind_field(&pl->pl_query, &pl->pl_nquery, PLAN_CALLER, 0,
		    bc->bf_arg, "mine", NULL);
		break;
	case BF_CALLER_SECRET:
		bind_field(&pl->pl_query, &pl->pl_nquery, PLAN_CALLER, 0,
		    "leak", NULL, "k");
		break;
	case BF_AUTH_IN_HEADER:
		bind_field(&pl->pl_headers, &pl->pl_nheaders, PLAN_AUTH, 0,
		    "appid", NULL, "app");
		break;
	case BF_CRLF_HEADER:
		free(pl->pl_headers[2].pf_segs[0].ps_data);
		ck_assert_ptr_nonnull(pl->pl_headers[2].pf_segs[0].ps_data =
		    strdup("pl\r\nX-Evil: 1"));
		pl->pl_headers[2].pf_segs[0].ps_len = strlen("pl\r\nX-Evil: 1");
		break;
	case BF_CRLF_QUERY:
		bind_field(&pl->pl_query, &pl->pl_nquery, PLAN_CALLER, 0,
		    "z", "a\r\nb", NULL);
		break;
	}
}

/* Serve one request on lfd: what came, up to the end of its head. */
static void
bind_serve(int lfd, char *req, size_t len)
{
	static const char body[] = "echoed " BIND_KEY "!";
	struct pollfd	 pfd = { lfd, POLLIN, 0 };
	char		 answer[256];
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd, alen;

	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	ck_assert_int_ne(fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), -1);
	while (got + 1 < len && strstr(req, "\r\n\r\n") == NULL) {
		pfd.fd = fd;
		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
		n = read(fd, req + got, len - got - 1);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
		req[got] = '\0';
	}
	alen = snprintf(answer, sizeof(answer), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", strlen(body), body);
	ck_assert_int_eq(write(fd, answer, (size_t)alen), alen);
	close(fd);
}

START_TEST(test_keeper_binding)
{
	struct ipc_chan	*parent, *w0, *w1;
	struct ipc_msg	 m;
	struct plan	 pl;
	struct result	 rs;
	char		 extra[512], reg[2048], logs[8192], url[128];
	char		 req[8192];
	const char	*why;
	uint32_t	 slot;
	size_t		 i;
	int		 ufd, sfd, uport, sport;

	ufd = bind_listener(&uport);	/* the connector's upstream */
	sfd = bind_listener(&sport);	/* where forged plans point */
	keeper_mkdir();
	keeper_secret("k", BIND_KEY);
	keeper_secret("app", BIND_APP);
	/* Every name a forged URL uses resolves, to a live listener. */
	snprintf(extra, sizeof(extra), "egress = { allow_http = true; "
	    "timeout = 5; allow_networks = [ \"127.0.0.0/8\" ]; resolve = [ "
	    "\"api.example.com:%d:127.0.0.1\", \"api.example.com:%d:127.0.0.1\","
	    " \"evil.test:%d:127.0.0.1\", "
	    "\"api.example.com.evil.test:%d:127.0.0.1\" ]; };",
	    uport, sport, sport, sport);
	snprintf(reg, sizeof(reg), "{\"connectors\": [ {\"name\": \"Bound\", "
	    "\"permalink\": \"bound\", \"method\": \"GET\", "
	    "\"url\": \"http://api.example.com:%d/v1/items\", \"headers\": ["
	    " {\"key\": \"X-Key\", \"value\": \"k={{ get_secret('k') }}\"},"
	    " {\"key\": \"X-Plain\", \"value\": \"plain\"},"
	    " {\"key\": \"X-Lang\", \"value\": \"en\", \"overridable\": true}],"
	    " \"query_parameters\": ["
	    " {\"key\": \"units\", \"value\": \"metric\", \"overridable\": true},"
	    " {\"key\": \"sig\", \"value\": \"{{ get_secret('k') }}\"}],"
	    " \"authentication\": {\"type\": \"api_key\", \"config\": {"
	    "\"key\": \"appid\", \"value\": \"{{ get_secret('app') }}\", "
	    "\"in\": \"query\"}}} ]}\n", uport);
	parent = keeper_start(extra, reg);
	w1 = keeper_link(parent, 1);	/* an honest worker, all along */

	for (i = 0; i < sizeof(bind_cases) / sizeof(bind_cases[0]); i++) {
		w0 = keeper_link(parent, 0);
		bind_forge(&pl, &bind_cases[i], uport, sport);
		bind_send(w0, (uint32_t)i + 1, &pl);
		plan_clear(&pl);
		/* No answer: the channel closes. */
		ck_assert_msg(next_frame(w0, &m, NULL, 0) == 0,
		    "case %zu: channel still open", i);
		logs[0] = '\0';
		ck_assert_int_eq(next_frame(parent, &m, logs, sizeof(logs)), 1);
		ck_assert_int_eq(m.m_type, MSG_WORKER_EVICT);
		ck_assert_int_eq(ipc_get_u32(&m, &slot), 0);
		ck_assert_int_eq(slot, 0);
		ck_assert_msg(strstr(logs, "worker 0 broke the protocol") !=
		    NULL && strstr(logs, bind_cases[i].bf_why) != NULL,
		    "case %zu: log: %s", i, logs);
		ipc_chan_free(w0);
	}
	/* Nobody was reached: not the upstream, not the forged targets. */
	usleep(200000);
	ck_assert_int_eq(bind_count(sfd), 0);
	ck_assert_int_eq(bind_count(ufd), 0);

	/* The honest worker's plan goes through, secrets in place. */
	snprintf(url, sizeof(url), "http://api.example.com:%d/v1/items",
	    uport);
	bind_plan(&pl, url);
	bind_send(w1, 77, &pl);
	plan_clear(&pl);
	memset(req, 0, sizeof(req));
	bind_serve(ufd, req, sizeof(req));
	ck_assert_msg(strstr(req, "GET /v1/items?units=imperial&sig=" BIND_KEY
	    "&q=x&appid=" BIND_APP " HTTP/1.1\r\n") == req, "%s", req);
	ck_assert_msg(strstr(req, "\r\nX-Key: k=" BIND_KEY "\r\n") != NULL &&
	    strstr(req, "\r\nX-Plain: plain\r\n") != NULL &&
	    strstr(req, "\r\nX-Lang: pl\r\n") != NULL, "%s", req);
	ck_assert_int_eq(next_frame(w1, &m, NULL, 0), 1);
	ck_assert_int_eq(m.m_type, MSG_RESULT);
	ck_assert_int_eq(m.m_id, 77);
	ck_assert_int_eq(result_decode(&m, &rs, &why), 0);
	ck_assert_uint_eq(rs.rs_status, 200);
	ck_assert_uint_eq(rs.rs_bodylen, strlen("echoed [REDACTED]!"));
	ck_assert(memcmp(rs.rs_body, "echoed [REDACTED]!", rs.rs_bodylen) == 0);
	result_clear(&rs);
	ck_assert_int_eq(bind_count(sfd), 0);

	ipc_chan_free(w1);
	close(ufd);
	close(sfd);
	keeper_stop(parent);
}
END_TEST

/* --- UTF-8 ---------------------------------------------------------------- */

/*
 * The reference: Unicode's table of well-formed byte sequences (3.9,
 * table 3-7), a byte at a time, so that it shares no shape with the
 * validator's word-at-a-time scan and its decoding arithmetic.
 */
static int
utf8_ref(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	unsigned char	 lo, hi;

	while (i < len) {
		lo = 0x80;
		hi = 0xbf;
		if (s[i] <= 0x7f)
			n = 0;
		else if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			if (s[i] == 0xe0)
				lo = 0xa0;
			else if (s[i] == 0xed)
				hi = 0x9f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			if (s[i] == 0xf0)
				lo = 0x90;
			else if (s[i] == 0xf4)
				hi = 0x8f;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if (s[i + k] < lo || s[i + k] > hi)
				return 0;
			/* only the second byte has narrower bounds */
			lo = 0x80;
			hi = 0xbf;
		}
		i += n + 1;
	}
	return 1;
}

/*
 * len bytes at the very end of an allocation, starting off bytes past
 * its start: a read past the end shows under valgrind and ASan, and the
 * scan meets every alignment.
 */
static unsigned char *
utf8_buf(size_t len, size_t off, unsigned char **base)
{
	/* malloc(0) may answer NULL */
	ck_assert_ptr_nonnull(*base = malloc(off + len > 0 ? off + len : 1));
	return *base + off;
}

/* Every sequence the validator must judge, good and bad. */
static const char *const utf8_seqs[] = {
	"\xc3\xa9", "\xdf\xbf", "\xe2\x82\xac", "\xe0\xa0\x80",
	"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
	"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\x7f",
	/* overlong */
	"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
	"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
	/* surrogates */
	"\xed\xa0\x80", "\xed\xbf\xbf",
	/* past U+10FFFF, and bytes that never start a sequence */
	"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf",
	"\xf8\x88\x80\x80\x80", "\xfe", "\xff",
	/* truncated */
	"\xc3", "\xe2\x82", "\xe2", "\xf0\x9f\x98", "\xf0\x9f", "\xf0",
	/* stray continuations, and a lead byte followed by an ASCII one */
	"\x80", "\xbf", "\xc3\xa9\xa9", "\xc3\x41", "\xe2\x41\xac",
	"\xf0\x9f\x41\x80",
};

/*
 * Each sequence at each position of an ASCII buffer of each length up
 * to 80: in and past every block the scan takes at once, and in the
 * tail after the last one.
 */
START_TEST(test_utf8_positions)
{
	unsigned char	*base, *b;
	size_t		 len, pos, i, sl, off;
	int		 want, bad = 0;

	for (len = 0; len <= 80; len++) {
		off = len % 16;
		b = utf8_buf(len, off, &base);
		memset(b, 'a', len);
		ck_assert_int_eq(execute_utf8_valid(b, len), 1);
		free(base);
		for (i = 0; i < sizeof(utf8_seqs) / sizeof(utf8_seqs[0]); i++) {
			sl = strlen(utf8_seqs[i]);
			for (pos = 0; pos + sl <= len; pos++) {
				off = (len + pos) % 16;
				b = utf8_buf(len, off, &base);
				memset(b, 'a', len);
				memcpy(b + pos, utf8_seqs[i], sl);
				want = utf8_ref(b, len);
				if (execute_utf8_valid(b, len) != want) {
					fprintf(stderr, "len %zu pos %zu seq %zu:"
					    " want %d\n", len, pos, i, want);
					bad++;
				}
				free(base);
			}
		}
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* xorshift64: the same buffers on every run. */
static uint64_t
utf8_rand(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

/*
 * Random text: runs of ASCII of every length, the sequences above, and
 * now and then a random byte; about half the buffers are valid.
 */
START_TEST(test_utf8_random)
{
	unsigned char	 text[400], *base, *b;
	uint64_t	 st = 0x9e3779b97f4a7c15ULL, r;
	size_t		 len, sl, run, nseq;
	int		 want, got, n, valid = 0;
	const char	*q;

	nseq = sizeof(utf8_seqs) / sizeof(utf8_seqs[0]);
	for (n = 0; n < 20000; n++) {
		len = 0;
		while (len < (size_t)(n % 300)) {
			r = utf8_rand(&st);
			if (r % 3 == 0) {
				run = (r >> 8) % 70;
				if (len + run > sizeof(text))
					break;
				memset(text + len, ' ' + (r >> 16) % 90, run);
				len += run;
				continue;
			}
			/* the valid ones lead the list */
			q = utf8_seqs[(r >> 8) % ((r >> 20) % 8 ? 11 : nseq)];
			if ((r >> 32) % 200 == 0) {
				text[len++] = (unsigned char)(r >> 40);
				continue;
			}
			sl = strlen(q);
			if (len + sl > sizeof(text))
				break;
			memcpy(text + len, q, sl);
			len += sl;
		}
		b = utf8_buf(len, n % 16, &base);
		memcpy(b, text, len);
		want = utf8_ref(b, len);
		got = execute_utf8_valid(b, len);
		free(base);
		ck_assert_msg(got == want, "buffer %d (%zu bytes): want %d", n,
		    len, want);
		valid += want;
	}
	/* both answers were put to it often */
	ck_assert_int_gt(valid, 2000);
	ck_assert_int_lt(valid, 18000);
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
	tcase_add_test(tc, test_envelope_bytes);
	tcase_add_test(tc, test_reply_headers);
	suite_add_tcase(s, tc);
	tc = tcase_create("proc");
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_str_copy);
	tcase_add_test(tc, test_roles);
	suite_add_tcase(s, tc);
	tc = tcase_create("utf8");
	tcase_add_test(tc, test_utf8_positions);
	tcase_add_test(tc, test_utf8_random);
	suite_add_tcase(s, tc);
	if (under_valgrind())
		return s;
	tc = tcase_create("keeper");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_keeper_permits);
	tcase_add_test(tc, test_keeper_shutdown);
	tcase_add_test(tc, test_keeper_binding);
	suite_add_tcase(s, tc);
	return s;
}
