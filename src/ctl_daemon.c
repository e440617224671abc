/*
 * ctl_daemon.c — widgetctl's commands that talk to the running daemon over
 * its control socket: reload, status, stop, and ctl_call()/ctl_command()
 * for every later one (see widgetctl.h; the daemon's end is control.c).
 *
 * One request per connection: a JSON object on one line, one JSON reply
 * line back.  Every wait is bounded, and every way it can go wrong ends in
 * one line that says what to do about it.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "control.h"
#include "widgetctl.h"

/* The daemon answers within CONTROL_REPLY_TIMEOUT; wait a little longer. */
#define CTL_TIMEOUT		(CONTROL_REPLY_TIMEOUT + 15)
#define CTL_REPLY_MAX		(16 * 1024 * 1024)
#define CTL_STOP_MARGIN		15	/* s beyond limits.drain_timeout */
#define CTL_STOP_DRAIN		30	/* its default, when no config is read */

static void
ctl_conf_error(const char *msg, void *arg)
{
	fprintf(stderr, "%s\n", msg);
}

/*
 * The socket's path: -s, else the configuration's control_socket (which
 * defaults to RUNSTATEDIR/widgetd/control.sock).  *drain gets the
 * configuration's limits.drain_timeout when it was read.
 */
static int
ctl_socket_path(struct ctl_globals *g, struct sockaddr_un *sun, int *drain)
{
	struct widgetd_config	*conf = NULL;
	const char		*path = g->g_socket;
	const char		*confpath;
	int			 rv = CTL_FAIL;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (drain != NULL)
		*drain = CTL_STOP_DRAIN;
	if (path == NULL || (g->g_config != NULL && drain != NULL)) {
		confpath = g->g_config != NULL ? g->g_config :
		    SYSCONFDIR "/widgetd.conf";
		if ((conf = config_load(confpath, ctl_conf_error,
		    NULL)) == NULL) {
			fprintf(stderr, "widgetctl: %s: invalid configuration%s\n",
			    confpath, path == NULL ? "; give the control "
			    "socket with -s" : "");
			goto out;
		}
		if (path == NULL)
			path = conf->c_control_socket;
		if (drain != NULL)
			*drain = conf->c_limits.drain_timeout;
	}
	if (strlen(path) >= sizeof(sun->sun_path)) {
		fprintf(stderr, "widgetctl: %s: longer than %zu bytes\n", path,
		    sizeof(sun->sun_path) - 1);
		goto out;
	}
	strncpy(sun->sun_path, path, sizeof(sun->sun_path) - 1);
	rv = CTL_OK;
 out:
	config_free(conf);
	return rv;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC seconds), at least 0. */
static int
ctl_left(const struct timespec *deadline)
{
	struct timespec	 now;
	long long	 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

static int
ctl_connect(const struct sockaddr_un *sun, int flags)
{
	struct timeval	 tv = { CTL_TIMEOUT, 0 };
	int		 fd, saved;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "widgetctl: socket: %s\n", strerror(errno));
		return -CTL_FAIL;
	}
	/* Bounds connect() too, should the daemon's backlog be full. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		return fd;
	saved = errno;
	close(fd);
	switch (saved) {
	case ENOENT:
	case ECONNREFUSED:
		if (!(flags & CTL_QUIET_DOWN))
			fprintf(stderr, "widgetctl: the daemon is not running "
			    "(%s at %s)\n", saved == ENOENT ? "no socket" :
			    "nothing listens", sun->sun_path);
		return -CTL_DOWN;
	case EACCES:
	case EPERM:
		fprintf(stderr, "widgetctl: %s: permission denied (the control "
		    "socket is for root only)\n", sun->sun_path);
		break;
	case EAGAIN:
		fprintf(stderr, "widgetctl: %s: the daemon did not accept the "
		    "connection within %d s\n", sun->sun_path, CTL_TIMEOUT);
		break;
	default:
		fprintf(stderr, "widgetctl: connect %s: %s\n", sun->sun_path,
		    strerror(saved));
	}
	return -CTL_FAIL;
}

/* Wait for fd to be ready for events before the deadline; 0 on time. */
static int
ctl_wait(int fd, short events, const struct timespec *deadline)
{
	struct pollfd	 pfd = { .fd = fd, .events = events };
	int		 r;

	do
		r = poll(&pfd, 1, ctl_left(deadline));
	while (r == -1 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

static int
ctl_send(int fd, const char *buf, size_t len, const struct timespec *deadline)
{
	ssize_t	 n;

	while (len > 0) {
		if (ctl_wait(fd, POLLOUT, deadline) == -1) {
			fprintf(stderr, "widgetctl: the daemon did not take the "
			    "request within %d s\n", CTL_TIMEOUT);
			return -1;
		}
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			/* It may have said why before closing: read on. */
			if (errno == EPIPE || errno == ECONNRESET)
				return 0;
			fprintf(stderr, "widgetctl: send: %s\n",
			    strerror(errno));
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* The reply line, NUL-terminated, without its newline; NULL on error. */
static char *
ctl_recv(int fd, size_t *lenp, const struct timespec *deadline)
{
	char	*buf = NULL, *nl, *p;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((p = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "widgetctl: out of memory\n");
				goto fail;
			}
			buf = p;
		}
		if (ctl_wait(fd, POLLIN, deadline) == -1) {
			fprintf(stderr, "widgetctl: no reply from the daemon "
			    "within %d s\n", CTL_TIMEOUT);
			goto fail;
		}
		n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			fprintf(stderr, "widgetctl: reading the reply: %s\n",
			    strerror(errno));
			goto fail;
		}
		if (n == 0) {
			if (len == 0) {
				fprintf(stderr, "widgetctl: the daemon closed "
				    "the connection without a reply\n");
				goto fail;
			}
			break;	/* a last line without its newline */
		}
		if ((nl = memchr(buf + len, '\n', n)) != NULL) {
			len = nl - buf;
			break;
		}
		len += n;
		if (len > CTL_REPLY_MAX) {
			fprintf(stderr, "widgetctl: malformed reply from the "
			    "daemon: longer than %d bytes\n", CTL_REPLY_MAX);
			goto fail;
		}
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
 fail:
	free(buf);
	return NULL;
}

/* A reply is a JSON object with a boolean "ok"; anything else is refused. */
static struct json_object *
ctl_parse_reply(const char *buf, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o, *ok;
	const char		*why = NULL;

	if ((tok = json_tokener_new()) == NULL) {
		fprintf(stderr, "widgetctl: out of memory\n");
		return NULL;
	}
	/* Strict: blanks only after the object. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, len);
	if (o == NULL)
		why = json_tokener_get_error(tok) == json_tokener_continue ?
		    "incomplete JSON" :
		    json_tokener_error_desc(json_tokener_get_error(tok));
	else if (!json_object_is_type(o, json_type_object))
		why = "not a JSON object";
	else if (!json_object_object_get_ex(o, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean))
		why = "no boolean \"ok\"";
	json_tokener_free(tok);
	if (why != NULL) {
		fprintf(stderr, "widgetctl: malformed reply from the daemon: "
		    "%s\n", why);
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int
ctl_call_flags(struct ctl_globals *g, struct json_object *request,
    struct json_object **reply, int flags)
{
	struct sockaddr_un	 sun;
	struct timespec		 deadline;
	const char		*s;
	char			*line = NULL, *buf = NULL;
	size_t			 len;
	int			 fd = -1, rv;

	*reply = NULL;
	if ((rv = ctl_socket_path(g, &sun, NULL)) != CTL_OK)
		return rv;
	if ((fd = ctl_connect(&sun, flags)) < 0)
		return -fd;
	rv = CTL_FAIL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += CTL_TIMEOUT;
	s = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || asprintf(&line, "%s\n", s) == -1) {
		line = NULL;
		fprintf(stderr, "widgetctl: out of memory\n");
		goto out;
	}
	if (ctl_send(fd, line, strlen(line), &deadline) == -1 ||
	    (buf = ctl_recv(fd, &len, &deadline)) == NULL ||
	    (*reply = ctl_parse_reply(buf, len)) == NULL)
		goto out;
	rv = CTL_OK;
 out:
	free(line);
	free(buf);
	close(fd);
	return rv;
}

int
ctl_call(struct ctl_globals *g, struct json_object *request,
    struct json_object **reply)
{
	return ctl_call_flags(g, request, reply, 0);
}

/* Text from the daemon goes to a terminal: no control bytes through. */
void
ctl_print_clean(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, fp);
}

const char *
ctl_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
ctl_int(struct json_object *o, const char *key, int64_t *n)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	*n = json_object_get_int64(v);
	return 1;
}

/*
 * The daemon answered without every child it asked (one did not answer
 * within its wait, or died meanwhile): "incomplete": true.
 */
static int
ctl_incomplete(struct json_object *reply)
{
	struct json_object	*v;

	return json_object_object_get_ex(reply, "incomplete", &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

int
ctl_command(struct ctl_globals *g, struct json_object *request,
    struct json_object **reply, int flags)
{
	struct json_object	*r, *ok, *errs, *e;
	const char		*command, *msg;
	size_t			 i;
	int			 rv;

	if (reply != NULL)
		*reply = NULL;
	if ((rv = ctl_call_flags(g, request, &r, flags)) != CTL_OK)
		return rv;
	json_object_object_get_ex(r, "ok", &ok);
	if (json_object_get_boolean(ok)) {
		if (reply != NULL)
			*reply = r;
		else
			json_object_put(r);
		return CTL_OK;
	}
	if ((command = ctl_str(request, "command")) == NULL)
		command = "?";
	if ((msg = ctl_str(r, "error")) == NULL)
		msg = "failed (no reason given)";
	fprintf(stderr, "widgetctl: %s: ", command);
	ctl_print_clean(stderr, msg);
	fputc('\n', stderr);
	if (json_object_object_get_ex(r, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array)) {
		for (i = 0; i < json_object_array_length(errs); i++) {
			e = json_object_array_get_idx(errs, i);
			if (!json_object_is_type(e, json_type_string))
				continue;
			ctl_print_clean(stderr, json_object_get_string(e));
			fputc('\n', stderr);
		}
	}
	json_object_put(r);
	return CTL_FAIL;
}

struct json_object *
ctl_request_new(const char *command)
{
	struct json_object	*o, *c;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((c = json_object_new_string(command)) == NULL ||
	    json_object_object_add(o, "command", c) != 0) {
		json_object_put(c);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Send {"command": command} and check "ok"; for commands without options. */
static int
ctl_simple(struct ctl_globals *g, const char *command,
    struct json_object **reply)
{
	struct json_object	*req;
	int			 rv;

	if ((req = ctl_request_new(command)) == NULL) {
		fprintf(stderr, "widgetctl: out of memory\n");
		return CTL_FAIL;
	}
	rv = ctl_command(g, req, reply, 0);
	json_object_put(req);
	return rv;
}

/* --- reload ---------------------------------------------------------- */

int
ctl_reload_main(struct ctl_globals *g, int argc, char **argv)
{
	struct json_object	*reply;
	int64_t			 gen;
	int			 rv;

	if (argc != 1) {
		fprintf(stderr, "usage: widgetctl reload\n");
		return 2;
	}
	if ((rv = ctl_simple(g, "reload", &reply)) != CTL_OK)
		return rv;
	if (ctl_int(reply, "generation", &gen))
		printf("reloaded: generation %" PRId64 "\n", gen);
	else
		printf("reloaded\n");
	if (ctl_incomplete(reply))
		fprintf(stderr, "widgetctl: reload: not every process "
		    "confirmed the new generation in time; see widgetctl "
		    "status\n");
	json_object_put(reply);
	return CTL_OK;
}

/* --- status ---------------------------------------------------------- */

/* A table whose columns are as wide as their widest cell. */
struct ctl_table {
	size_t		  t_ncols;
	const char	**t_heads;
	const char	 *t_align;	/* per column: 'l' or 'r' */
	char		**t_cells;	/* t_nrows * t_ncols */
	size_t		  t_nrows;
};

static int
ctl_table_add(struct ctl_table *t, char **row)
{
	char	**cells;
	size_t	  i;

	cells = reallocarray(t->t_cells, (t->t_nrows + 1) * t->t_ncols,
	    sizeof(*cells));
	if (cells == NULL)
		return -1;
	t->t_cells = cells;
	for (i = 0; i < t->t_ncols; i++)
		cells[t->t_nrows * t->t_ncols + i] = row[i];
	t->t_nrows++;
	return 0;
}

static void
ctl_table_print(FILE *fp, const struct ctl_table *t)
{
	size_t		 w[16], i, r, len;
	const char	*c;

	for (i = 0; i < t->t_ncols; i++)
		w[i] = strlen(t->t_heads[i]);
	for (r = 0; r < t->t_nrows; r++)
		for (i = 0; i < t->t_ncols; i++)
			if ((len = strlen(t->t_cells[r * t->t_ncols + i])) >
			    w[i])
				w[i] = len;
	for (r = 0; r <= t->t_nrows; r++) {
		for (i = 0; i < t->t_ncols; i++) {
			c = r == 0 ? t->t_heads[i] :
			    t->t_cells[(r - 1) * t->t_ncols + i];
			len = strlen(c);
			if (t->t_align[i] == 'r')
				fprintf(fp, "%*s", (int)(w[i] - len), "");
			ctl_print_clean(fp, c);
			/* No trailing blanks after the last column. */
			if (i + 1 < t->t_ncols)
				fprintf(fp, "%*s", (int)(t->t_align[i] == 'l' ?
				    w[i] - len + 2 : 2), "");
		}
		fputc('\n', fp);
	}
}

static void
ctl_table_free(struct ctl_table *t)
{
	size_t	 i;

	for (i = 0; i < t->t_nrows * t->t_ncols; i++)
		free(t->t_cells[i]);
	free(t->t_cells);
}

/*
 * "3h12m" and the like; "-" when absent.  The daemon sends seconds with a
 * fraction (a JSON double); whole seconds are shown.
 */
static char *
ctl_fmt_duration(struct json_object *o, const char *key)
{
	struct json_object	*v;
	char			*s;
	double			 d;
	int64_t			 n;
	int			 r;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!(d >= 0 && d < 1e15))
			return strdup("-");
		n = (int64_t)d;
	} else if (!ctl_int(o, key, &n) || n < 0)
		return strdup("-");
	if (n < 60)
		r = asprintf(&s, "%ds", (int)n);
	else if (n < 3600)
		r = asprintf(&s, "%dm%02ds", (int)(n / 60), (int)(n % 60));
	else if (n < 86400)
		r = asprintf(&s, "%dh%02dm", (int)(n / 3600),
		    (int)(n % 3600 / 60));
	else
		r = asprintf(&s, "%" PRId64 "d%02dh", n / 86400,
		    (int)(n % 86400 / 3600));
	return r == -1 ? NULL : s;
}

static char *
ctl_fmt_int(struct json_object *o, const char *key)
{
	char	*s;
	int64_t	 n;

	if (!ctl_int(o, key, &n))
		return strdup("-");
	return asprintf(&s, "%" PRId64, n) == -1 ? NULL : s;
}

static char *
ctl_fmt_str(struct json_object *o, const char *key)
{
	const char	*v = ctl_str(o, key);

	return strdup(v != NULL && *v != '\0' ? v : "-");
}

static int
ctl_status_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "200:117 404:2", ordered by status code. */
static char *
ctl_fmt_statuses(struct json_object *o)
{
	struct json_object	*st;
	const char		*keys[64];
	char			*s = NULL, *p;
	size_t			 n = 0, i, len = 0;
	int64_t			 v = 0;

	if (!json_object_object_get_ex(o, "status", &st) ||
	    !json_object_is_type(st, json_type_object))
		return strdup("-");
	json_object_object_foreach(st, k, val) {
		if (n < sizeof(keys) / sizeof(keys[0]) &&
		    json_object_is_type(val, json_type_int))
			keys[n++] = k;
	}
	if (n == 0)
		return strdup("-");
	qsort(keys, n, sizeof(keys[0]), ctl_status_cmp);
	for (i = 0; i < n; i++) {
		ctl_int(st, keys[i], &v);
		if ((p = realloc(s, len + strlen(keys[i]) + 24)) == NULL) {
			free(s);
			return NULL;
		}
		s = p;
		len += sprintf(s + len, "%s%s:%" PRId64, i > 0 ? " " : "",
		    keys[i], v);
	}
	return s;
}

/*
 * Rows of t from the objects of array member key (those that have member
 * need, when need is not NULL); -1 when out of memory.
 */
static int
ctl_table_fill(struct ctl_table *t, struct json_object *reply,
    const char *key, const char *need,
    char *(*row_fn)(struct json_object *, size_t))
{
	struct json_object	*a, *e;
	char			*row[16];
	size_t			 i, c;

	if (!json_object_object_get_ex(reply, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_object) ||
		    (need != NULL && !json_object_object_get_ex(e, need,
		    NULL)))
			continue;
		for (c = 0; c < t->t_ncols; c++)
			if ((row[c] = row_fn(e, c)) == NULL)
				break;
		if (c < t->t_ncols || ctl_table_add(t, row) == -1) {
			while (c-- > 0)
				free(row[c]);
			return -1;
		}
	}
	return 0;
}

static char *
ctl_process_cell(struct json_object *e, size_t c)
{
	static const char *const keys[] = { "role", "slot", "pid", "uptime_s",
	    "respawns", "generation", "connections", "keeper" };

	switch (c) {
	case 0:
		return ctl_fmt_str(e, keys[c]);
	case 3:
		return ctl_fmt_duration(e, keys[c]);
	default:
		return ctl_fmt_int(e, keys[c]);
	}
}

/* The sum of the limits' refusals; "-" when the daemon sends none. */
static char *
ctl_fmt_refused(struct json_object *e)
{
	static const char *const keys[] = { "limit_client", "limit_rate",
	    "limit_concurrency", "limit_upstream" };
	char	*s;
	int64_t	 n, sum = 0;
	size_t	 i;
	int	 any = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (ctl_int(e, keys[i], &n)) {
			sum += n;
			any = 1;
		}
	if (!any)
		return strdup("-");
	return asprintf(&s, "%" PRId64, sum) == -1 ? NULL : s;
}

static char *
ctl_connector_cell(struct json_object *e, size_t c)
{
	static const char *const keys[] = { "tenant", "permalink", "kind",
	    "calls", "errors", "upstream_errors", "cache_hits",
	    "upstream_requests", "upstream_retries" };

	if (c < 3)
		return ctl_fmt_str(e, keys[c]);
	if (c < 9)
		return ctl_fmt_int(e, keys[c]);
	if (c == 9)
		return ctl_fmt_refused(e);
	return ctl_fmt_statuses(e);
}

static char *
ctl_publish_cell(struct json_object *e, size_t c)
{
	static const char *const keys[] = { "tenant", "completed", "warning",
	    "failed" };
	struct json_object	*last;

	if (c == 0)
		return ctl_fmt_str(e, keys[c]);
	if (c < 4)
		return ctl_fmt_int(e, keys[c]);
	if (!json_object_object_get_ex(e, "last", &last))
		return strdup("-");
	return ctl_fmt_str(last, c == 4 ? "state" : "generation");
}

/* A connector's cache counters: its "cache" object's members. */
static char *
ctl_cache_cell(struct json_object *e, size_t c)
{
	static const char *const keys[] = { "tenant", "permalink", "hits",
	    "misses", "revalidated", "stale", "collapsed" };
	struct json_object	*cache;

	if (c < 2)
		return ctl_fmt_str(e, keys[c]);
	if (!json_object_object_get_ex(e, "cache", &cache) ||
	    !json_object_is_type(cache, json_type_object))
		return strdup("-");
	return ctl_fmt_int(cache, keys[c]);
}

/*
 * "cache: 12 entries, 40960 of 134217728 bytes, 3 evicted, 1 dropped",
 * when the reply has the daemon's cache totals.
 */
static void
ctl_cache_print(FILE *fp, struct json_object *reply)
{
	static const char *const keys[] = { "entries", "bytes", "memory",
	    "evicted", "dropped" };
	struct json_object	*cache;
	int64_t			 v[5];
	size_t			 i;

	if (!json_object_object_get_ex(reply, "cache", &cache) ||
	    !json_object_is_type(cache, json_type_object) ||
	    !ctl_int(cache, "memory", &v[2]))
		return;
	fputc('\n', fp);
	for (i = 0; i < 5; i++)
		if (!ctl_int(cache, keys[i], &v[i]))
			v[i] = 0;
	fprintf(fp, "cache: %" PRId64 " entries, %" PRId64 " of %" PRId64
	    " bytes, %" PRId64 " evicted, %" PRId64 " dropped\n", v[0], v[1],
	    v[2], v[3], v[4]);
}

void
ctl_status_print(FILE *fp, struct json_object *reply)
{
	static const char *procs_heads[] = { "ROLE", "SLOT", "PID", "UPTIME",
	    "RESPAWNS", "GEN", "CONNS", "KEEPER" };
	static const char *conns_heads[] = { "TENANT", "CONNECTOR", "KIND",
	    "CALLS", "ERRORS", "UPSTREAM-ERRORS", "CACHE-HITS", "UPSTREAM",
	    "RETRIES", "REFUSED", "STATUS" };
	static const char *pubs_heads[] = { "TENANT", "COMPLETED", "WARNING",
	    "FAILED", "LAST", "GENERATION" };
	static const char *cache_heads[] = { "TENANT", "CONNECTOR", "HITS",
	    "MISSES", "REVALIDATED", "STALE", "COLLAPSED" };
	struct ctl_table	 procs = { 8, procs_heads, "lrrrrrrr", NULL, 0 };
	struct ctl_table	 conns = { 11, conns_heads, "lllrrrrrrrl", NULL,
	    0 };
	struct ctl_table	 pubs = { 6, pubs_heads, "lrrrll", NULL, 0 };
	struct ctl_table	 cache = { 7, cache_heads, "llrrrrr", NULL, 0 };
	const char		*conf;
	char			*up;
	int64_t			 n;

	fprintf(fp, "widgetd");
	if (ctl_int(reply, "pid", &n))
		fprintf(fp, " pid %" PRId64, n);
	if ((up = ctl_fmt_duration(reply, "uptime_s")) != NULL &&
	    strcmp(up, "-") != 0)
		fprintf(fp, ", up %s", up);
	free(up);
	if (ctl_int(reply, "generation", &n))
		fprintf(fp, ", generation %" PRId64, n);
	if ((conf = ctl_str(reply, "config")) != NULL) {
		fprintf(fp, ", configuration ");
		ctl_print_clean(fp, conf);
	}
	fputc('\n', fp);
	if (ctl_int(reply, "keeper_queue", &n)) {
		fprintf(fp, "keeper queue %" PRId64, n);
		if (ctl_int(reply, "keeper_in_flight", &n))
			fprintf(fp, ", calls in flight %" PRId64, n);
		if (ctl_int(reply, "cache_entries", &n))
			fprintf(fp, ", cache %" PRId64 " entries", n);
		if (ctl_int(reply, "cache_bytes", &n))
			fprintf(fp, " (%" PRId64 " bytes)", n);
		if (ctl_int(reply, "redis_connected", &n))
			fprintf(fp, ", keepers on redis %" PRId64, n);
		if (ctl_int(reply, "upstream_idle_connections", &n))
			fprintf(fp, ", upstream connections idle %" PRId64, n);
		fputc('\n', fp);
	}

	if (ctl_table_fill(&procs, reply, "processes", NULL,
	    ctl_process_cell) == -1 ||
	    ctl_table_fill(&conns, reply, "connectors", NULL,
	    ctl_connector_cell) == -1 ||
	    ctl_table_fill(&cache, reply, "connectors", "cache",
	    ctl_cache_cell) == -1 ||
	    ctl_table_fill(&pubs, reply, "publishes", NULL,
	    ctl_publish_cell) == -1)
		fprintf(stderr, "widgetctl: status: out of memory\n");
	if (ctl_incomplete(reply))
		fprintf(fp, "incomplete: not every worker answered in time; "
		    "its connector counters are missing\n");
	fputc('\n', fp);
	if (procs.t_nrows > 0)
		ctl_table_print(fp, &procs);
	else
		fprintf(fp, "no processes\n");
	fputc('\n', fp);
	if (conns.t_nrows > 0)
		ctl_table_print(fp, &conns);
	else
		fprintf(fp, "no connector calls yet\n");
	ctl_cache_print(fp, reply);
	if (cache.t_nrows > 0) {
		fputc('\n', fp);
		ctl_table_print(fp, &cache);
	}
	/* Publishes since start (SPEC §10), when a tenant has any. */
	if (pubs.t_nrows > 0) {
		fputc('\n', fp);
		ctl_table_print(fp, &pubs);
	}
	ctl_table_free(&procs);
	ctl_table_free(&conns);
	ctl_table_free(&cache);
	ctl_table_free(&pubs);
}

int
ctl_status_main(struct ctl_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL,	'j' },
		{ NULL,		0,		NULL,	0 }
	};
	struct json_object	*reply;
	int			 ch, json = 0, rv;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if ((rv = ctl_simple(g, "status", &reply)) != CTL_OK)
		return rv;
	if (json)
		printf("%s\n", json_object_to_json_string_ext(reply,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		ctl_status_print(stdout, reply);
	json_object_put(reply);
	return CTL_OK;
 usage:
	fprintf(stderr, "usage: widgetctl status [--json]\n");
	return 2;
}

/* --- stop ------------------------------------------------------------ */

/* 1 once nothing listens at the socket any more (gone, or left stale). */
static int
ctl_stopped(const struct sockaddr_un *sun, int probe)
{
	struct stat	 st;
	int		 fd, gone = 0;

	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT;
	if (!probe)
		return 0;
	/* A daemon that was killed leaves its socket behind. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == -1 &&
	    (errno == ECONNREFUSED || errno == ENOENT))
		gone = 1;
	close(fd);
	return gone;
}

int
ctl_stop_main(struct ctl_globals *g, int argc, char **argv)
{
	struct sockaddr_un	 sun;
	struct timespec		 tick = { 0, 100 * 1000 * 1000 };
	int			 ch, wait = 0, drain, rv, i, n;

	while ((ch = getopt(argc, argv, "w")) != -1) {
		switch (ch) {
		case 'w':
			wait = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if ((rv = ctl_socket_path(g, &sun, &drain)) != CTL_OK)
		return rv;
	if ((rv = ctl_simple(g, "stop", NULL)) != CTL_OK || !wait)
		return rv;
	/* The daemon drains for at most limits.drain_timeout, then exits. */
	n = (drain + CTL_STOP_MARGIN) * 10;
	for (i = 0; i < n; i++) {
		if (ctl_stopped(&sun, i % 10 == 9))
			return CTL_OK;
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "widgetctl: stop: the daemon is still running after "
	    "%d s\n", n / 10);
	return CTL_FAIL;
 usage:
	fprintf(stderr, "usage: widgetctl stop [-w]\n");
	return 2;
}
