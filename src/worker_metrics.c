/*
 * worker_metrics.c — the metrics listener's connections, in a worker.
 *
 * The parent binds the metrics listener and accepts on it, but never reads
 * a request byte: it hands each connection to a worker (MSG_METRICS_FD)
 * with the exposition text it rendered from every process's counters.
 * The worker parses the request like any other, under its sandbox, and
 * answers GET /metrics with that text and anything else with 404.  A
 * metrics connection never reaches the browser-facing API, and a browser
 * connection never reaches the metrics: the kind comes with the fd.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "http.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

#define WORKER_METRICS_PATH	"/metrics"

/* MSG_METRICS_FD: a connection of the metrics listener and its answer. */
void
worker_metrics_conn(struct worker *w, struct ipc_msg *m)
{
	struct conn	*c;
	const void	*text;
	size_t		 len;

	if (ipc_decode_metrics_fd(m, &text, &len) == -1) {
		log_warnx("%s: malformed MSG_METRICS_FD", __func__);
		worker_conn_lost(w, m->m_fd);
		return;
	}
	if ((c = worker_conn_new(w, m->m_fd)) == NULL)
		return;
	if ((c->c_metrics = malloc(len + 1)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		worker_conn_free(c);
		return;
	}
	memcpy(c->c_metrics, text, len);
	c->c_metrics[len] = '\0';
	c->c_metrics_len = len;
	worker_conn_start(c);
}

/* The only route of a metrics connection; one answer, then close. */
void
worker_metrics_route(struct conn *c)
{
	struct http_request	*r = c->c_req;
	static const char *const hdrs[] = {
		"Content-Type: text/plain; version=0.0.4; charset=utf-8",
		"Cache-Control: no-store",
		NULL
	};
	static const char	 nf[] = "not found\n";
	int			 get, head;

	get = strcmp(r->r_method, "GET") == 0;
	head = strcmp(r->r_method, "HEAD") == 0;
	c->c_ctx.a_keepalive = 0;
	if ((get || head) && strcmp(r->r_path, WORKER_METRICS_PATH) == 0) {
		c->c_status = 200;
		http_write_response(c->c_out, 200,
		    hdrs, c->c_metrics, c->c_metrics_len, 0, head);
	} else {
		c->c_status = 404;
		http_write_response(c->c_out, 404,
		    hdrs, nf, sizeof(nf) - 1, 0, head);
	}
	/* Scrapes are not browser requests: no access line. */
	c->c_logged = 1;
	worker_conn_answered(c);
}
