/*
 * accesslog.c — access log lines and the access log file (accesslog.h).
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "config.h"
#include "ipc.h"

struct accesslog {
	char	*al_path;
	int	 al_fd;
};

/* A field for the text form: no space, quote or control character. */
static void
accesslog_word(char *out, size_t len, const char *s, int space_ok)
{
	size_t	 o = 0;

	if (s == NULL || *s == '\0')
		s = "-";
	for (; *s != '\0' && o + 1 < len; s++)
		out[o++] = ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    *s == '"' || (!space_ok && *s == ' ')) ? '?' : *s;
	out[o] = '\0';
}

/* A JSON string's contents: escapes for quote, backslash, controls. */
static void
accesslog_json(char *out, size_t len, const char *s)
{
	size_t	 o = 0;

	if (s == NULL)
		s = "";
	for (; *s != '\0' && o + 7 < len; s++) {
		if (*s == '"' || *s == '\\') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\u%04x",
			    (unsigned char)*s);
		else
			out[o++] = *s;
	}
	out[o] = '\0';
}

void
accesslog_format(const struct ipc_access *a, int slot, int format,
    char *buf, size_t len)
{
	char	 peer[64], tenant[160], method[32], target[600], conn[300];
	char	 cache[32], reqid[64], error[200], trace[40], up[16];

	if (format == CONF_ACCESS_JSON) {
		accesslog_json(peer, sizeof(peer), a->ia_peer);
		accesslog_json(tenant, sizeof(tenant), a->ia_tenant);
		accesslog_json(method, sizeof(method), a->ia_method);
		accesslog_json(target, sizeof(target), a->ia_target);
		accesslog_json(conn, sizeof(conn), a->ia_connector);
		accesslog_json(cache, sizeof(cache), a->ia_cache);
		accesslog_json(reqid, sizeof(reqid), a->ia_reqid);
		accesslog_json(error, sizeof(error), a->ia_error);
		accesslog_json(trace, sizeof(trace), a->ia_trace);
		snprintf(buf, len, "{\"worker\":%d,\"peer\":\"%s\","
		    "\"tenant\":\"%s\",\"method\":\"%s\",\"target\":\"%s\","
		    "\"status\":%u,\"upstream_status\":%u,\"total_ms\":%.1f,"
		    "\"external_ms\":%.1f,\"connector\":\"%s\",\"cache\":\"%s\","
		    "\"request_id\":\"%s\",\"trace_id\":\"%s\",\"error\":\"%s\"}",
		    slot, peer, tenant, method, target, a->ia_status,
		    a->ia_upstream, (double)a->ia_total_us / 1e3,
		    (double)a->ia_external_us / 1e3, conn, cache, reqid, trace,
		    error);
		return;
	}
	accesslog_word(peer, sizeof(peer), a->ia_peer, 0);
	accesslog_word(tenant, sizeof(tenant), a->ia_tenant, 0);
	accesslog_word(method, sizeof(method), a->ia_method, 0);
	accesslog_word(target, sizeof(target), a->ia_target, 0);
	accesslog_word(conn, sizeof(conn), a->ia_connector, 0);
	accesslog_word(cache, sizeof(cache), a->ia_cache, 0);
	accesslog_word(reqid, sizeof(reqid), a->ia_reqid, 0);
	accesslog_word(trace, sizeof(trace), a->ia_trace, 0);
	accesslog_word(error, sizeof(error), a->ia_error, 1);
	if (a->ia_upstream != 0)
		snprintf(up, sizeof(up), "%u", a->ia_upstream);
	else
		snprintf(up, sizeof(up), "-");
	snprintf(buf, len, "worker %d: access: %s %s \"%s %s\" %u %s %.1fms "
	    "%.1fms %s %s %s %s%s%s", slot, peer, tenant, method, target,
	    a->ia_status, up, (double)a->ia_total_us / 1e3,
	    (double)a->ia_external_us / 1e3, conn, cache, reqid, trace,
	    a->ia_error != NULL && a->ia_error[0] != '\0' ? " " : "",
	    a->ia_error != NULL && a->ia_error[0] != '\0' ? error : "");
}

static int
accesslog_openfd(const char *path, char *err, size_t errlen)
{
	int	 fd;

	/* No symbolic link at the end: root must not append through one. */
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

struct accesslog *
accesslog_open(const char *path, char *err, size_t errlen)
{
	struct accesslog	*al;

	if ((al = calloc(1, sizeof(*al))) == NULL ||
	    (al->al_path = strdup(path)) == NULL) {
		free(al);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((al->al_fd = accesslog_openfd(path, err, errlen)) == -1) {
		free(al->al_path);
		free(al);
		return NULL;
	}
	return al;
}

int
accesslog_reopen(struct accesslog *al, char *err, size_t errlen)
{
	int	 fd;

	if ((fd = accesslog_openfd(al->al_path, err, errlen)) == -1)
		return -1;
	close(al->al_fd);
	al->al_fd = fd;
	return 0;
}

void
accesslog_close(struct accesslog *al)
{
	if (al == NULL)
		return;
	close(al->al_fd);
	free(al->al_path);
	free(al);
}

const char *
accesslog_path(const struct accesslog *al)
{
	return al->al_path;
}

void
accesslog_write(struct accesslog *al, const char *line)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 out[2300], when[40];
	int		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(out, sizeof(out), "%s.%03ldZ %s\n", when,
	    ts.tv_nsec / 1000000, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	/* One write per line with O_APPEND: lines never interleave. */
	(void)write(al->al_fd, out, (size_t)n);
}
