/*
 * worker.c — the sandboxed process that parses untrusted bytes.
 *
 * A worker receives accepted client sockets from the parent, reads HTTP/1.1
 * requests with http.c, and answers them.  It holds no
 * secret and can open nothing: its seccomp filter is in place before the
 * first client byte is read.  Anything that needs a secret or the network
 * goes to the keeper over the worker's keeper channel; while the keeper is
 * down the worker answers 503 at once.
 *
 * Requests on one connection are handled one at a time, in order: while a
 * request waits for the keeper, the connection's input stays buffered, so
 * pipelined responses can never be reordered.
 *
 * Connection I/O costs what nginx's does: one read(2) when epoll says the
 * socket is readable (no FIONREAD first), one writev(2) of everything a
 * round of parsing answered, and epoll is asked for write readiness only
 * when that write would block.  Reading stays on while a request waits for
 * the keeper (turning it off and on again would cost two epoll_ctl calls
 * per request); what arrives meanwhile waits in the input buffer, up to
 * WORKER_INPUT_HIGH.
 */
#include "build.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "api.h"
#include "cache.h"
#include "chan.h"
#include "config.h"
#include "cors.h"
#include "http.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "sdk_assets.h"
#include "session.h"
#include "snapshot.h"
#include "template/template.h"
#include "testmode.h"
#include "worker.h"

/* glibc's sys/queue.h lacks the _SAFE iterator. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define WORKER_KEEPER_TIMEOUT	5	/* seconds: a silent keeper is down */
/*
 * A client that pipelines requests but does not read the answers would
 * make the output buffer grow without bound: above this, stop reading and
 * parsing until the output has drained.
 */
#define WORKER_OUTPUT_HIGH	(256 * 1024)
/* Input buffered while a request is answered; beyond it, reading pauses. */
#define WORKER_INPUT_HIGH	(256 * 1024)
#define WORKER_READ_SIZE	(16 * 1024)	/* bytes per read(2) */
#define WORKER_READ_BUDGET	8		/* reads per readable event */
/*
 * Lingering close: after an answer that closes the connection, the write
 * side is shut down and what the client still sends is read and dropped,
 * for at most this long and this much.  Closing with unread input would
 * send a reset, which can destroy the answer in the client's buffer before
 * it is read (a 413 with its body still coming, an error mid-pipeline).
 */
#define WORKER_LINGER_SECS	5
#define WORKER_LINGER_BYTES	(16 * 1024 * 1024)

/* One read buffer for every connection: the worker is single-threaded. */
static char	worker_rbuf[WORKER_READ_SIZE];

static void	worker_conn_process(struct conn *);
static void	worker_done_send(struct worker *);
static void	worker_conn_close(struct conn *);
static void	worker_body_release(struct conn *);
static void	worker_gate_clear(struct conn *);

static void
worker_maybe_exit(struct worker *w)
{
	if (w->w_draining && w->w_nconns == 0) {
		log_debug("drained, exiting");
		worker_done_send(w);
		proc_metrics_flush();
		chan_flush_sync(w->w_parent);
		event_base_loopexit(w->w_base, NULL);
	}
}

const struct widgetd_config *
worker_config(const struct worker *w)
{
	return w->w_gen->wg_snap->sn_cfg;
}

void
worker_conn_timer(struct conn *c, enum conn_timer kind)
{
	struct timeval	 tv = { 0, 0 };
	const struct widgetd_config *cfg = worker_config(c->c_w);
	const struct conf_limits *l = &cfg->c_limits;

	if (c->c_timer_kind == kind && kind != CT_NONE)
		return;		/* a deadline is not pushed back by bytes */
	c->c_timer_kind = kind;
	switch (kind) {
	case CT_IDLE:
		tv.tv_sec = l->idle_timeout;
		/*
		 * A connection that has not sent its first request was
		 * accepted for one: it gets header_timeout from accept, not
		 * the keep-alive wait, or silent sockets hold a slot each for
		 * a minute.  Draining: no long waits for a request that may
		 * never come either.
		 */
		if ((c->c_served == 0 || c->c_w->w_draining) &&
		    l->header_timeout < l->idle_timeout)
			tv.tv_sec = l->header_timeout;
		break;
	case CT_REQUEST:
		tv.tv_sec = l->header_timeout;
		break;
	case CT_LINGER:
		tv.tv_sec = WORKER_LINGER_SECS;
		break;
	case CT_KEEPER:
		/* A call: the keeper's own window, then a margin. */
		tv.tv_sec = c->c_exec != NULL ? cfg->c_egress.timeout +
		    WORKER_KEEPER_TIMEOUT : WORKER_KEEPER_TIMEOUT;
		break;
	case CT_CLOSE:
		/*
		 * Run from the loop in this same pass: a zero timeout would
		 * cost one more epoll_wait before the connection is freed.
		 */
		event_del(c->c_timer);
		event_active(c->c_timer, EV_TIMEOUT, 1);
		return;
	case CT_NONE:
		event_del(c->c_timer);
		return;
	}
	event_add(c->c_timer, &tv);
}

/* Reading on or off; epoll hears of it only when that changes. */
static void
worker_conn_reading(struct conn *c, int on)
{
	if (c->c_reading == on)
		return;
	c->c_reading = on;
	if (on)
		event_add(c->c_rev, NULL);
	else
		event_del(c->c_rev);
}

/*
 * The client is gone or broke the connection: no more reading or writing,
 * and the connection is freed from the loop (the caller may still hold
 * it).
 */
static void
worker_conn_abandon(struct conn *c)
{
	c->c_closing = 1;
	c->c_abandoned = 1;
	worker_conn_reading(c, 0);
	event_del(c->c_wev);
	evbuffer_drain(c->c_out, evbuffer_get_length(c->c_out));
	worker_conn_timer(c, CT_CLOSE);
}

/*
 * Write what is queued, at once: most answers fit the socket buffer, so
 * the common case is one writev and no epoll_ctl.  Only a write that would
 * block asks epoll for EV_WRITE.  -1 when the connection was abandoned.
 */
static int
worker_conn_flush(struct conn *c)
{
	int	 n;

	while (evbuffer_get_length(c->c_out) > 0) {
		n = evbuffer_write(c->c_out, c->c_fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!event_pending(c->c_wev, EV_WRITE, NULL))
				event_add(c->c_wev, NULL);
			return 0;
		}
		if (n <= 0) {
			log_debug("%s: write: %s", worker_conn_peer(c),
			    n == 0 ? "nothing written" : strerror(errno));
			worker_conn_abandon(c);
			return -1;
		}
	}
	if (event_pending(c->c_wev, EV_WRITE, NULL))
		event_del(c->c_wev);
	return 0;
}

/*
 * One record per answered request, written by the parent when
 * log.access_log is on.  Connector calls send theirs with what they know;
 * everything else gets one here.
 */
void
worker_access(struct conn *c, const char *tenant, const char *connector,
    int upstream, const char *cache, const char *error)
{
	struct ipc_access	 a;
	struct ipc_buf		 b;
	char			 target[513], trace[33];

	c->c_logged = 1;
	metrics_status(c->c_w->w_metrics, tenant, connector, c->c_status);
	if (!worker_config(c->c_w)->c_access_log)
		return;
	memset(&a, 0, sizeof(a));
	snprintf(target, sizeof(target), "%s", c->c_req != NULL ?
	    c->c_req->r_target : "-");
	a.ia_reqid = c->c_ctx.a_reqid;
	a.ia_peer = (char *)worker_conn_peer(c);
	a.ia_tenant = (char *)(tenant != NULL ? tenant : "-");
	a.ia_method = c->c_req != NULL ? c->c_req->r_method : "-";
	a.ia_target = target;
	a.ia_connector = (char *)(connector != NULL ? connector : "-");
	a.ia_cache = (char *)(cache != NULL ? cache : "-");
	a.ia_error = (char *)(error != NULL ? error : "");
	/* The trace id: characters 3 to 35 of the traceparent. */
	trace[0] = '\0';
	if (c->c_ctx.a_trace[0] != '\0') {
		memcpy(trace, c->c_ctx.a_trace + 3, 32);
		trace[32] = '\0';
	}
	a.ia_trace = trace;
	a.ia_status = (uint32_t)c->c_status;
	a.ia_upstream = (uint32_t)(upstream > 0 ? upstream : 0);
	a.ia_total_us = (uint64_t)(api_elapsed_ms(&c->c_ctx) * 1000);
	a.ia_external_us = (uint64_t)(c->c_ctx.a_external_ms * 1000);
	if (ipc_encode_access(&b, &a) == 0)
		chan_send(c->c_w->w_parent, MSG_ACCESS, 0, b.b_data, b.b_len,
		    -1);
	ipc_buf_clear(&b);
}

/* The response is queued; decide whether the connection lives on. */
void
worker_conn_answered(struct conn *c)
{
	/* A test's answer goes to the parent, and its connection with it. */
	if (c->c_test != NULL) {
		testmode_answered(c);
		worker_conn_free(c);
		return;
	}
	if (!c->c_logged)
		worker_access(c, NULL, NULL, 0, NULL, NULL);
	c->c_logged = 0;
	c->c_served++;
	http_request_free(c->c_req);
	c->c_req = NULL;
	worker_body_release(c);
	worker_gate_clear(c);
	c->c_ping_id = 0;
	c->c_ctx_started = 0;
	if (c->c_closing) {
		/*
		 * Abandoned (a write failed) while this answer was being
		 * made: nobody reads it.  Make sure the loop frees it.
		 */
		evbuffer_drain(c->c_out, evbuffer_get_length(c->c_out));
		c->c_timer_kind = CT_NONE;
		worker_conn_timer(c, CT_CLOSE);
		return;
	}
	if (!c->c_ctx.a_keepalive) {
		c->c_closing = 1;
		worker_conn_reading(c, 0);
		/* The write callback frees it once the output drained. */
		worker_conn_timer(c, CT_NONE);
		if (worker_conn_flush(c) == 0 &&
		    evbuffer_get_length(c->c_out) == 0)
			worker_conn_timer(c, CT_CLOSE);
		return;
	}
	/* A fresh idle period starts with every response. */
	c->c_timer_kind = CT_NONE;
	worker_conn_timer(c, CT_IDLE);
	/*
	 * A pipelined request may be waiting; the loop picks it up itself
	 * (and writes this answer with the next ones).  Otherwise parse
	 * what waited, and write.
	 */
	if (!c->c_in_process)
		worker_conn_process(c);
}

static void
worker_reply_error(struct conn *c, int status, const char *detail)
{
	c->c_status = status;
	if (api_reply_error(c->c_out, &c->c_ctx, status, NULL, detail) == -1)
		c->c_ctx.a_keepalive = 0;
}

/* Answer the request waiting on the keeper: 200 on PONG, else 503. */
static void
worker_health_done(struct conn *c, int ok)
{
	static const char body[] = "{\"status\":\"ok\"}";

	c->c_status = ok ? 200 : 503;
	if (ok)
		api_reply(c->c_out, &c->c_ctx, 200, "application/json", NULL,
		    body, sizeof(body) - 1);
	else
		api_reply_error(c->c_out, &c->c_ctx, 503, "UNAVAILABLE",
		    "the secrets keeper is not available; retry later");
	worker_conn_answered(c);
}

/*
 * A connector's or composite's execute path: 1, its permalink (or key) in
 * permalink and *comp set; 0 for any other path.
 */
static int
worker_route_exec(const char *p, char *permalink, size_t len, int *comp)
{
	static const char	 conn_prefix[] = API_PREFIX "/connectors/";
	static const char	 comp_prefix[] = API_PREFIX
				    "/composite-connectors/";
	static const char	 exec_suffix[] = "/execute";
	const char		*end;
	size_t			 n;

	*comp = strncmp(p, comp_prefix, sizeof(comp_prefix) - 1) == 0;
	if (!*comp && strncmp(p, conn_prefix, sizeof(conn_prefix) - 1) != 0)
		return 0;
	p += *comp ? sizeof(comp_prefix) - 1 : sizeof(conn_prefix) - 1;
	end = strchr(p, '/');
	n = end != NULL ? (size_t)(end - p) : 0;
	if (end == NULL || strcmp(end, exec_suffix) != 0 || n == 0 ||
	    n >= len)
		return 0;
	memcpy(permalink, p, n);
	permalink[n] = '\0';
	return 1;
}

/*
 * The routes of SPEC §5.  The path is the decoded one; a permalink is a
 * slug, so a connector path cannot be reached by encoding tricks.
 */
static void
worker_route(struct conn *c)
{
	struct worker		*w = c->c_w;
	struct http_request	*r = c->c_req;
	char			 permalink[256];
	int			 get, head, comp;

	if (c->c_metrics != NULL) {
		worker_metrics_route(c);
		return;
	}
	worker_trace_begin(c);
	get = strcmp(r->r_method, "GET") == 0;
	head = strcmp(r->r_method, "HEAD") == 0;
	c->c_ctx.a_head = head;
	c->c_ctx.a_keepalive = r->r_keepalive && !w->w_draining;

	/* Preflights are answered here; a_origin set for the rest. */
	if (cors_route(c) || sdk_assets_route(c))
		return;
	if (worker_route_exec(r->r_path, permalink, sizeof(permalink), &comp)) {
		if (comp)
			execute_composite(c, permalink);
		else
			execute_connector(c, permalink);
		return;
	}
	if (worker_ext_path(r->r_path)) {
		worker_ext_serve(c);
		return;
	}
	if ((get || head) && strcmp(r->r_path, API_HEALTH_PATH) == 0) {
		if (w->w_keeper == NULL) {
			worker_health_done(c, 0);
			return;
		}
		/* Id 0 means "not waiting": skip it when the counter wraps. */
		if (++w->w_ping_seq == 0)
			w->w_ping_seq = 1;
		c->c_ping_id = w->w_ping_seq;
		worker_conn_timer(c, CT_KEEPER);
		if (chan_send(w->w_keeper, MSG_PING, c->c_ping_id, NULL, 0,
		    -1) == -1)
			worker_health_done(c, 0);
		return;
	}
	worker_reply_error(c, 404, "no such resource");
	worker_conn_answered(c);
}

/*
 * The gate's session verdict belongs to one request: one that ended
 * before execute_session took it (an error first) must not pass it on
 * to the next request on the connection.
 */
static void
worker_gate_clear(struct conn *c)
{
	session_free(c->c_gate_sess);
	c->c_gate_sess = NULL;
	c->c_gated = 0;
}

/* The request's body is no longer buffered: out of the budget. */
static void
worker_body_release(struct conn *c)
{
	c->c_w->w_body_held -= c->c_body_held;
	c->c_body_held = 0;
	c->c_chunked = 0;
}

/* Refuse the request whose body is being read, and close. */
static void
worker_body_refuse(struct conn *c, int status, const char *code,
    const char *detail)
{
	worker_body_release(c);
	c->c_req = http_take_headers(c->c_parser);
	c->c_status = status;
	c->c_ctx.a_keepalive = 0;
	c->c_linger = 1;
	api_reply_error(c->c_out, &c->c_ctx, status, code, detail);
	worker_conn_answered(c);
}

/*
 * The header block of a request with a body is in, and no body byte has
 * been read (HTTP_HEADERS): route before buffering anything.  A request
 * for anything but a connector or composite that takes a body (health,
 * a 404, a GET connector, a preflight, the SDK's files, extensions, a
 * metrics scrape) is answered now without its body, and the
 * connection closes after the answer (lingering: the body is read and
 * dropped, never kept).  A body that is read counts against the worker's
 * limits.body_budget: 413 when it alone is larger, 503 while the bodies
 * in progress leave no room.  0: read the body; 1: answered or routed.
 */
static int
worker_conn_gate(struct conn *c)
{
	const struct http_request	*r = http_peek_request(c->c_parser);
	struct worker			*w = c->c_w;
	size_t				 budget, want;
	char				 permalink[256];
	int				 comp;

	if (r == NULL)
		return 0;
	/* A metrics connection has one route, and it takes no body. */
	if (c->c_metrics != NULL || !worker_route_exec(r->r_path, permalink,
	    sizeof(permalink), &comp) || !execute_takes_body(c, r, permalink,
	    comp)) {
		c->c_req = http_take_headers(c->c_parser);
		c->c_req->r_keepalive = 0;
		c->c_linger = 1;
		worker_route(c);
		return 1;
	}
	budget = worker_config(w)->c_limits.body_budget;
	want = http_body_declared(c->c_parser, &c->c_chunked);
	if (want > budget) {
		worker_body_refuse(c, 413, NULL, "request body larger than "
		    "this server buffers (limits.body_budget)");
		return 1;
	}
	if (w->w_body_held + want > budget) {
		log_debug("%s: body budget spent (%zu bytes held): 503",
		    worker_conn_peer(c), w->w_body_held);
		worker_body_refuse(c, 503, "UNAVAILABLE", "too many request "
		    "bodies in progress; retry later");
		return 1;
	}
	c->c_body_held = want;
	w->w_body_held += want;
	return 0;
}

/*
 * A chunked body is counted as it grows: 0, or 1 when the budget is
 * spent and the request was refused.
 */
static int
worker_body_grow(struct conn *c)
{
	struct worker	*w = c->c_w;
	size_t		 now = http_body_buffered(c->c_parser);

	if (!c->c_chunked || now <= c->c_body_held)
		return 0;
	if (w->w_body_held + (now - c->c_body_held) >
	    worker_config(w)->c_limits.body_budget) {
		worker_body_refuse(c, 503, "UNAVAILABLE", "too many request "
		    "bodies in progress; retry later");
		return 1;
	}
	w->w_body_held += now - c->c_body_held;
	c->c_body_held = now;
	return 0;
}

/*
 * Feed buffered input to the parser until a request is complete (and
 * answer it), the input runs out, or the framing is wrong; then write
 * every answer this round queued, in one go.
 */
static void
worker_conn_process(struct conn *c)
{
	struct evbuffer		*in = c->c_in;
	struct evbuffer_iovec	 v;
	const char		*errmsg = NULL;
	size_t			 used;
	int			 errstatus = 400, rest;
	enum http_status	 st;

again:
	c->c_in_process = 1;
	while (c->c_req == NULL && !c->c_closing &&
	    (c->c_rdlen > 0 || evbuffer_get_length(in) > 0)) {
		if (evbuffer_get_length(c->c_out) > WORKER_OUTPUT_HIGH) {
			if (!c->c_throttled)
				log_debug("%s: output backed up, reading paused",
				    worker_conn_peer(c));
			c->c_throttled = 1;
			worker_conn_reading(c, 0);
			break;
		}
		if (c->c_rdlen > 0) {
			v.iov_base = (void *)c->c_rd;
			v.iov_len = c->c_rdlen;
		} else if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		if (!c->c_ctx_started) {
			api_ctx_init(&c->c_ctx);
			c->c_ctx_started = 1;
		}
		used = 0;
		st = http_feed(c->c_parser, v.iov_base, v.iov_len, &used,
		    &errstatus, &errmsg);
		if (c->c_rdlen > 0) {
			c->c_rd += used;
			c->c_rdlen -= used;
		} else
			evbuffer_drain(in, used);
		if (st == HTTP_HEADERS) {
			if (worker_conn_gate(c) == 1)
				continue;
			/* Headers are in and routed: ask for the body. */
			if (http_expects_continue(c->c_parser))
				http_write_response(c->c_out, 100, NULL, NULL,
				    0, 1, 0);
			continue;
		}
		if (st == HTTP_NEED_MORE && worker_body_grow(c) == 1)
			break;
		if (st == HTTP_ERROR) {
			log_debug("client error %d: %s", errstatus,
			    errmsg != NULL ? errmsg : "bad request");
			c->c_ctx.a_keepalive = 0;
			c->c_linger = 1;
			worker_reply_error(c, errstatus, errmsg != NULL ?
			    errmsg : "malformed request");
			worker_conn_answered(c);
			break;
		}
		if (st == HTTP_DONE) {
			if ((c->c_req = http_take_request(c->c_parser)) == NULL) {
				c->c_ctx.a_keepalive = 0;
				worker_reply_error(c, 500, "out of memory");
				worker_conn_answered(c);
				break;
			}
			/* Answered at once, or later from the keeper's reply. */
			worker_route(c);
			continue;
		}
		/* Headers are in and acceptable: ask for the body. */
		if (http_expects_continue(c->c_parser))
			http_write_response(c->c_out, 100, NULL, NULL, 0, 1, 0);
		if (used == 0)
			break;	/* the parser wants more than this chunk */
	}
	/* What the parser did not take of worker_rbuf waits in c_in. */
	if (c->c_rdlen > 0) {
		rest = evbuffer_add(in, c->c_rd, c->c_rdlen);
		c->c_rd = NULL;
		c->c_rdlen = 0;
		if (rest == -1) {
			log_warnx("%s: out of memory", __func__);
			c->c_in_process = 0;
			worker_conn_abandon(c);
			return;
		}
	}
	c->c_in_process = 0;
	if (c->c_closing)
		return;
	if (worker_conn_flush(c) == -1)
		return;
	/* The socket took it all: go on with what is buffered. */
	if (c->c_throttled && evbuffer_get_length(c->c_out) == 0) {
		c->c_throttled = 0;
		goto again;
	}
	if (c->c_req != NULL) {
		/* Waiting: a client piling up input is not read further. */
		if (evbuffer_get_length(in) > WORKER_INPUT_HIGH)
			worker_conn_reading(c, 0);
		return;
	}
	if (c->c_eof) {
		/* Nothing more can come: close once the answers are out. */
		c->c_closing = 1;
		worker_conn_timer(c, CT_NONE);
		if (evbuffer_get_length(c->c_out) == 0)
			worker_conn_timer(c, CT_CLOSE);
		return;
	}
	if (!c->c_throttled)
		worker_conn_reading(c, 1);
	if (http_in_progress(c->c_parser))
		worker_conn_timer(c, CT_REQUEST);
	else {
		worker_conn_timer(c, CT_IDLE);
		c->c_ctx_started = 0;
		/* Draining: an idle connection has nothing in flight. */
		if (c->c_w->w_draining && c->c_served > 0)
			worker_conn_timer(c, CT_CLOSE);
	}
}

/*
 * Lingering: read and drop what the client still sends until it closes,
 * the byte budget is spent or the timer (CT_LINGER) fires.
 */
static void
worker_conn_linger_read(struct conn *c)
{
	ssize_t		 n;
	int		 i;

	for (i = 0; i < WORKER_READ_BUDGET; i++) {
		n = read(c->c_fd, worker_rbuf, sizeof(worker_rbuf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		c->c_linger_bytes += (size_t)n;
		if (c->c_linger_bytes > WORKER_LINGER_BYTES)
			break;
	}
	if (i == WORKER_READ_BUDGET)
		return;		/* more to come: the loop calls again */
	worker_conn_free(c);
}

/*
 * Every answer is out and the connection ends.  When the client may still
 * be sending (an answer came before its request was read whole, or input
 * is left; no end of file seen, no failed write), shut down our side and
 * linger: the FIN follows the answer, and input that arrives is read
 * and dropped instead of turning the close into a reset.
 */
static void
worker_conn_close(struct conn *c)
{
	if (c->c_abandoned || c->c_eof || c->c_lingering ||
	    (!c->c_linger && evbuffer_get_length(c->c_in) == 0 &&
	    !http_in_progress(c->c_parser)) ||
	    shutdown(c->c_fd, SHUT_WR) == -1) {
		worker_conn_free(c);
		return;
	}
	c->c_lingering = 1;
	evbuffer_drain(c->c_in, evbuffer_get_length(c->c_in));
	worker_conn_timer(c, CT_LINGER);
	/* Reading may have been off (the answer closed the connection). */
	worker_conn_reading(c, 1);
}

/*
 * Readable: one read(2) into the shared buffer, a few more only while
 * each fills it; level-triggered epoll brings us back for the rest.
 */
static void
worker_read_cb(int fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;
	int		 i;

	if (c->c_lingering) {
		worker_conn_linger_read(c);
		return;
	}
	for (i = 0; i < WORKER_READ_BUDGET; i++) {
		n = read(c->c_fd, worker_rbuf, sizeof(worker_rbuf));
		/*
		 * All there is, nothing buffered before it, and the parser
		 * free to take it: parsed where it was read, and only what
		 * it leaves is copied to c_in (worker_conn_process).
		 */
		if (n > 0 && i == 0 && (size_t)n < sizeof(worker_rbuf) &&
		    c->c_req == NULL && evbuffer_get_length(c->c_in) == 0) {
			c->c_rd = worker_rbuf;
			c->c_rdlen = (size_t)n;
			break;
		}
		if (n > 0) {
			if (evbuffer_add(c->c_in, worker_rbuf, n) == -1) {
				log_warnx("%s: out of memory", __func__);
				worker_conn_free(c);
				return;
			}
			if ((size_t)n < sizeof(worker_rbuf))
				break;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1 || (c->c_req == NULL &&
		    evbuffer_get_length(c->c_out) == 0 &&
		    !http_in_progress(c->c_parser) &&
		    evbuffer_get_length(c->c_in) == 0)) {
			/*
			 * A reset, or end of file on an idle connection.  A
			 * request waiting for the keeper has nobody to answer
			 * to any more; its PONG will find no connection.
			 */
			worker_conn_free(c);
			return;
		}
		/* End of file with requests still to answer: answer them. */
		c->c_eof = 1;
		worker_conn_reading(c, 0);
		break;
	}
	if (c->c_req == NULL)
		worker_conn_process(c);
	else if (evbuffer_get_length(c->c_in) > WORKER_INPUT_HIGH)
		worker_conn_reading(c, 0);
}

static void
worker_write_cb(int fd, short what, void *arg)
{
	struct conn	*c = arg;

	if (worker_conn_flush(c) == -1 || evbuffer_get_length(c->c_out) > 0)
		return;
	/* The output has drained completely. */
	if (c->c_closing)
		worker_conn_close(c);
	else if (c->c_throttled) {
		c->c_throttled = 0;
		worker_conn_reading(c, 1);
		worker_conn_process(c);
	}
}

static void
worker_timer_cb(int fd, short what, void *arg)
{
	struct conn	*c = arg;

	switch (c->c_timer_kind) {
	case CT_CLOSE:
		worker_conn_close(c);
		break;
	case CT_IDLE:
	case CT_LINGER:
		worker_conn_free(c);
		break;
	case CT_REQUEST:
		c->c_timer_kind = CT_NONE;
		c->c_ctx.a_keepalive = 0;
		worker_conn_reading(c, 0);
		worker_reply_error(c, 408, "request not received in time");
		worker_conn_answered(c);
		break;
	case CT_KEEPER:
		c->c_timer_kind = CT_NONE;
		log_warnx("keeper did not answer in time");
		if (c->c_exec != NULL)
			execute_abort(c, 503, "the secrets keeper did not "
			    "answer in time; retry later");
		else
			worker_health_done(c, 0);
		break;
	case CT_NONE:
		break;
	}
}

/* Closed connections since the last report: one message for them all. */
static void
worker_done_send(struct worker *w)
{
	struct ipc_buf	 b;

	if (w->w_ndone == 0)
		return;
	if (w->w_done_ev != NULL)
		event_del(w->w_done_ev);
	if (ipc_encode_conn_done(&b, w->w_done, w->w_ndone) == 0 &&
	    chan_send(w->w_parent, MSG_CONN_DONE, 0, b.b_data, b.b_len,
	    -1) == 0)
		w->w_ndone = 0;
	ipc_buf_clear(&b);
}

static void
worker_done_cb(int fd, short what, void *arg)
{
	worker_done_send(arg);
}

/*
 * Connection number seq closed: the parent hears of it shortly, by that
 * number (it releases only what it handed this worker).
 */
static void
worker_conn_done(struct worker *w, uint32_t seq)
{
	/* Full (a failed send): the parent is gone or going. */
	if (w->w_ndone == IPC_DONE_MAX)
		return;
	w->w_done[w->w_ndone++] = seq;
	/*
	 * Told at the end of this loop pass, all of its closes in one
	 * MSG_CONN_DONE: the parent's per-address counts and its pausing go
	 * by them, so a client that churns connections is not counted as
	 * holding the ones it closed.  Without the event (out of memory at
	 * start) every close is sent at once.
	 */
	if (w->w_done_ev == NULL || w->w_ndone == IPC_DONE_MAX)
		worker_done_send(w);
	else
		event_active(w->w_done_ev, EV_TIMEOUT, 1);	/* once */
}

void
worker_conn_free(struct conn *c)
{
	struct worker	*w = c->c_w;
	uint32_t	 seq = c->c_seq;

	TAILQ_REMOVE(&w->w_conns, c, c_entry);
	w->w_nconns--;
	execute_free(c);
	http_request_free(c->c_req);
	worker_body_release(c);
	worker_gate_clear(c);
	http_parser_state_free(c->c_parser);
	event_free(c->c_timer);
	/* A test's connection has no socket (testmode.c). */
	if (c->c_rev != NULL)
		event_free(c->c_rev);
	if (c->c_wev != NULL)
		event_free(c->c_wev);
	evbuffer_free(c->c_in);
	evbuffer_free(c->c_out);
	if (c->c_fd != -1)
		close(c->c_fd);
	/*
	 * The parent counts connections per client address on these; a
	 * test has no client and no number.
	 */
	if (c->c_test == NULL)
		worker_conn_done(w, seq);
	testmode_free(c);
	free(c->c_metrics);
	free(c);
	worker_maybe_exit(w);
}

/*
 * The client's address, for the access log: looked up once per
 * connection, and only when a line needs it.
 */
const char *
worker_conn_peer(struct conn *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	const void		*a = NULL;

	if (c->c_peer[0] != '\0')
		return c->c_peer;
	snprintf(c->c_peer, sizeof(c->c_peer), "-");
	if (getpeername(c->c_fd, (struct sockaddr *)&ss, &len) == -1)
		return c->c_peer;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (a != NULL)
		inet_ntop(ss.ss_family, a, c->c_peer, sizeof(c->c_peer));
	return c->c_peer;
}

struct conn *
worker_conn_new(struct worker *w, int fd)
{
	struct conn	*c;
	uint32_t	 seq;

	/* Numbered in the order handed, as the parent numbers them. */
	if (++w->w_conn_seq == 0)
		w->w_conn_seq = 1;
	seq = w->w_conn_seq;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->c_w = w;
	c->c_fd = fd;
	c->c_seq = seq;
	c->c_timer_kind = CT_NONE;
	/* The parent accepted it non-blocking; the flag travels with it. */
	c->c_parser = http_parser_state_new(&w->w_limits);
	c->c_timer = evtimer_new(w->w_base, worker_timer_cb, c);
	c->c_rev = event_new(w->w_base, fd, EV_READ | EV_PERSIST,
	    worker_read_cb, c);
	c->c_wev = event_new(w->w_base, fd, EV_WRITE, worker_write_cb, c);
	c->c_in = evbuffer_new();
	c->c_out = evbuffer_new();
	if (c->c_parser == NULL || c->c_timer == NULL || c->c_rev == NULL ||
	    c->c_wev == NULL || c->c_in == NULL || c->c_out == NULL) {
		http_parser_state_free(c->c_parser);
		if (c->c_timer != NULL)
			event_free(c->c_timer);
		if (c->c_rev != NULL)
			event_free(c->c_rev);
		if (c->c_wev != NULL)
			event_free(c->c_wev);
		if (c->c_in != NULL)
			evbuffer_free(c->c_in);
		if (c->c_out != NULL)
			evbuffer_free(c->c_out);
		free(c);
		goto fail;
	}
	TAILQ_INSERT_TAIL(&w->w_conns, c, c_entry);
	w->w_nconns++;
	worker_conn_timer(c, CT_IDLE);
	return c;
fail:
	log_warnx("%s: out of memory", __func__);
	close(fd);
	worker_conn_done(w, seq);
	return NULL;
}

/*
 * A connection was handed to us but is not taken (its message was
 * malformed): numbered like the others, closed, and reported closed, or
 * the parent would count it open against its client for good.
 */
void
worker_conn_lost(struct worker *w, int fd)
{
	if (++w->w_conn_seq == 0)
		w->w_conn_seq = 1;
	close(fd);
	worker_conn_done(w, w->w_conn_seq);
}

/*
 * Start reading c.  The client has usually sent its request by the time
 * the parent's hand-off arrives: read it now, before epoll knows the
 * socket.  A connection answered and closed at once then costs no
 * epoll_ctl at all; otherwise worker_conn_process() turns reading on (c
 * may be gone after this).  Separate from worker_conn_new() so that a
 * metrics connection is marked as one before its request is routed.
 */
void
worker_conn_start(struct conn *c)
{
	worker_read_cb(c->c_fd, EV_READ, c);
}

static void
worker_drain(struct worker *w)
{
	struct conn	*c, *next;

	w->w_draining = 1;
	/*
	 * Idle keep-alive connections have no request in flight: close them
	 * now (clients retry on a reused connection).  A connection that has
	 * not sent its first request yet was accepted for one: it gets
	 * header_timeout to send it (see worker_conn_timer).
	 */
	TAILQ_FOREACH_SAFE(c, &w->w_conns, c_entry, next) {
		if (c->c_req != NULL || c->c_closing ||
		    http_in_progress(c->c_parser) ||
		    evbuffer_get_length(c->c_in) != 0 ||
		    evbuffer_get_length(c->c_out) != 0)
			continue;
		if (c->c_served > 0)
			worker_conn_free(c);
		else {
			c->c_timer_kind = CT_NONE;
			worker_conn_timer(c, CT_IDLE);
		}
	}
	worker_maybe_exit(w);
}

static void
worker_keeper_lost(struct worker *w)
{
	struct conn	*c, *next;

	chan_free(w->w_keeper);
	w->w_keeper = NULL;
	/* Everyone waiting for the keeper gets a 503 now, not later. */
	TAILQ_FOREACH_SAFE(c, &w->w_conns, c_entry, next) {
		if (c->c_ping_id != 0)
			worker_health_done(c, 0);
		else if (c->c_exec != NULL)
			execute_abort(c, 503, "the secrets keeper is restarting; "
			    "retry later");
	}
}

/*
 * Calls in flight, by id (idmap.h): the keeper's answers find their
 * connection without a walk over every connection.
 */
static struct conn *
worker_call_find(struct worker *w, uint32_t id)
{
	return idmap_get(&w->w_calls, id);
}

void
worker_call_forget(struct worker *w, uint32_t id)
{
	idmap_del(&w->w_calls, id);
}

void
worker_call_adopt(struct worker *w, uint32_t id, struct conn *c)
{
	idmap_set(&w->w_calls, id, c);
}

int
worker_keeper_call(struct conn *c, const struct ipc_buf *b, uint32_t *id)
{
	struct worker	*w = c->c_w;

	if (w->w_keeper == NULL)
		return -1;
	do {
		++w->w_call_seq;
	} while (w->w_call_seq == 0 || worker_call_find(w,
	    w->w_call_seq) != NULL);
	if (idmap_put(&w->w_calls, w->w_call_seq, c) == -1)
		return -1;
	if (chan_send(w->w_keeper, MSG_CALL, w->w_call_seq, b->b_data,
	    b->b_len, -1) == -1) {
		worker_call_forget(w, w->w_call_seq);
		return -1;
	}
	*id = w->w_call_seq;
	return 0;
}

static int
worker_keeper_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;

	switch (m->m_type) {
	case MSG_PONG:
		if (m->m_id == 0)
			return 0;
		TAILQ_FOREACH(c, &w->w_conns, c_entry)
			if (c->c_ping_id == m->m_id) {
				worker_health_done(c, 1);
				break;
			}
		return 0;
	case MSG_RESULT:
	case MSG_FAIL:
		/* The connection may have gone meanwhile: then drop it. */
		if ((c = worker_call_find(w, m->m_id)) != NULL) {
			worker_call_forget(w, m->m_id);
			execute_answer(c, m);
		}
		return 0;
	default:
		log_warnx("keeper sent unexpected %s", ipc_type_name(m->m_type));
		return -1;
	}
}

static void
worker_keeper_close(struct chan *ch, enum chan_end end, const char *why,
    void *arg)
{
	struct worker	*w = arg;

	if (end == CHAN_VIOLATION)
		log_warnx("keeper broke the protocol (%s)", why);
	else
		log_info("keeper channel closed (%s)", why);
	worker_keeper_lost(w);
}

/* --- Generations ------------------------------------------------------------ */

struct wgen *
worker_gen_ref(struct worker *w)
{
	w->w_gen->wg_refs++;
	return w->w_gen;
}

/*
 * Tell the keeper the oldest generation a request here still runs on
 * (MSG_GEN): the keeper keeps that one and every newer one.  A composite
 * connector's steps are separate calls, and between two of them no call
 * of its generation is in flight at the keeper: without this, a reload
 * there would fail its next step.
 */
static void
worker_gen_declare(struct worker *w)
{
	struct wgen	*g;
	struct ipc_buf	 b;
	uint64_t	 oldest = w->w_gen->wg_snap->sn_gen;

	TAILQ_FOREACH(g, &w->w_gens, wg_entry)
		if (g->wg_snap->sn_gen < oldest)
			oldest = g->wg_snap->sn_gen;
	if (oldest == w->w_declared || w->w_keeper == NULL)
		return;
	if (ipc_encode_u64(&b, oldest) == 0 && chan_send(w->w_keeper, MSG_GEN,
	    0, b.b_data, b.b_len, -1) == 0)
		w->w_declared = oldest;
	ipc_buf_clear(&b);
}

void
worker_gen_unref(struct wgen *g)
{
	size_t	 i;

	if (g == NULL || --g->wg_refs > 0)
		return;
	TAILQ_REMOVE(&g->wg_w->w_gens, g, wg_entry);
	for (i = 0; g->wg_keys != NULL && i < g->wg_snap->sn_cfg->c_ntenants;
	    i++)
		session_key_free(g->wg_keys[i]);
	free(g->wg_keys);
	snapshot_unref(g->wg_snap);
	/* The last request of an old generation is done. */
	if (g->wg_w->w_gen != NULL && g->wg_w->w_gen != g)
		worker_gen_declare(g->wg_w);
	free(g);
}

/* What the worker derives from a snapshot: the session keys. */
static struct wgen *
worker_gen_new(struct worker *w, struct snapshot *sn)
{
	struct wgen	*g;
	const char	*why;
	size_t		 i, n = sn->sn_cfg->c_ntenants;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->wg_keys = calloc(n + 1, sizeof(*g->wg_keys))) == NULL) {
		free(g);
		snapshot_unref(sn);
		return NULL;
	}
	g->wg_w = w;
	g->wg_snap = sn;
	g->wg_refs = 1;
	TAILQ_INSERT_TAIL(&w->w_gens, g, wg_entry);
	for (i = 0; i < n; i++) {
		if (sn->sn_tenants[i].st_session_pem == NULL)
			continue;
		g->wg_keys[i] = session_key_new(sn->sn_tenants[i].st_session_pem,
		    sn->sn_tenants[i].st_session_len, &why);
		/* The parent checked the key; a failure here is memory. */
		if (g->wg_keys[i] == NULL) {
			log_warnx("tenant %s: session key: %s",
			    sn->sn_cfg->c_tenants[i].t_id, why);
			worker_gen_unref(g);
			return NULL;
		}
	}
	return g;
}

static void
worker_limits(struct worker *w)
{
	const struct conf_limits *l = &worker_config(w)->c_limits;

	w->w_limits.hl_header_bytes = l->header_bytes;
	w->w_limits.hl_max_headers = l->max_headers;
	w->w_limits.hl_body = l->request_body;
	/* Route before a body is read: worker_conn_gate. */
	w->w_limits.hl_gate = 1;
}

/* A new generation from the parent: new requests use it from now on. */
static void
worker_snapshot(struct worker *w, struct ipc_msg *m)
{
	struct snapshot	*sn;
	struct wgen	*g, *old;
	struct ipc_buf	 b;
	uint64_t	 gen = 0;

	if (ipc_decode_gen(m, &gen) == -1 ||
	    (sn = snapshot_load(m->m_fd, proc_log_report, NULL)) == NULL ||
	    sn->sn_gen != gen) {
		log_warnx("cannot load generation %llu; keeping the running "
		    "one", (unsigned long long)gen);
		close(m->m_fd);
		return;
	}
	close(m->m_fd);
	if ((g = worker_gen_new(w, sn)) == NULL) {
		log_warnx("generation %llu: out of memory; keeping the "
		    "running one", (unsigned long long)gen);
		return;
	}
	old = w->w_gen;
	w->w_gen = g;
	worker_gen_unref(old);
	worker_limits(w);
	/* What the reload changed is no longer served from the cache. */
	cache_generation(w->w_cache, g->wg_snap);
	log_debug("generation %llu in force", (unsigned long long)gen);
	/* The keeper may drop what no one uses; the parent keeps count. */
	worker_gen_declare(w);
	if (ipc_encode_u64(&b, gen) == 0)
		chan_send(w->w_parent, MSG_SNAPSHOT_DONE, 0, b.b_data,
		    b.b_len, -1);
	ipc_buf_clear(&b);
}

static int
worker_parent_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;
	struct ipc_buf	 b;
	int		 i;
	char		*tenant;

	switch (m->m_type) {
	case MSG_CONN_FD:
		/* ipc.c checked each: a TCP socket, close-on-exec. */
		for (i = 0; i < m->m_nfds; i++)
			if ((c = worker_conn_new(w, m->m_fds[i])) != NULL)
				worker_conn_start(c);
		return 0;
	case MSG_KEEPER_FD:
		if (w->w_keeper != NULL)
			worker_keeper_lost(w);
		/* ipc.c checked them: a pipe to read from, one to write to. */
		w->w_keeper = chan_new_pipes(w->w_base, m->m_fds[0],
		    m->m_fds[1], IPC_WORKER, IPC_KEEPER, worker_keeper_msg,
		    worker_keeper_close, w);
		if (w->w_keeper == NULL) {
			log_warnx("%s: cannot set up the keeper channel",
			    __func__);
			return 0;
		}
		/* The calls of one pass of the loop go in one write. */
		chan_defer(w->w_keeper, 1);
		log_debug("keeper channel up");
		/* A new keeper learns which generations this worker uses. */
		w->w_declared = 0;
		worker_gen_declare(w);
		return 0;
	case MSG_SNAPSHOT:
		worker_snapshot(w, m);
		return 0;
	case MSG_SECRETS:
		/* After the keepers re-read them: drop what used the old. */
		if (ipc_decode_secrets(m, &tenant) == -1)
			return -1;
		cache_secrets_changed(w->w_cache, tenant);
		log_debug("secrets of tenant %s changed: cache entries that "
		    "used them dropped", tenant);
		free(tenant);
		chan_send(w->w_parent, MSG_SECRETS_DONE, m->m_id, NULL, 0, -1);
		return 0;
	case MSG_TEST:
		testmode_start(w, m);
		return 0;
	case MSG_METRICS_FD:
		worker_metrics_conn(w, m);
		return 0;
	case MSG_STATS_REQ:
		if (execute_stats_encode(w->w_stats, w->w_cache, &b) == 0)
			chan_send(w->w_parent, MSG_STATS, m->m_id, b.b_data,
			    b.b_len, -1);
		ipc_buf_clear(&b);
		return 0;
	case MSG_SHUTDOWN:
		worker_drain(w);
		return 0;
	case MSG_TEST_ABUSE:
		return worker_test_abuse(w->w_parent, w->w_keeper, m);
	default:
		log_warnx("parent sent unexpected %s", ipc_type_name(m->m_type));
		return -1;
	}
}

static void
worker_parent_close(struct chan *ch, enum chan_end end, const char *why,
    void *arg)
{
	/* Without the parent there is nobody to log to or take fds from. */
	log_set_forward(NULL, NULL);
	fatalx("parent channel closed (%s)", why);
}

int
worker_main(const struct proc_opts *po, int slot)
{
	struct worker	 w;
	struct snapshot	*sn;
	char		 name[32];

	memset(&w, 0, sizeof(w));
	w.w_slot = slot;
	TAILQ_INIT(&w.w_conns);
	TAILQ_INIT(&w.w_gens);
	snprintf(name, sizeof(name), "worker %d", slot);
	log_procname(name);
	log_setverbose(po->po_verbose);
	proc_child_signals();
	proc_heap_keep();

	/*
	 * Everything the worker will ever need is created here, before the
	 * sandbox: the event base (epoll fd, signal pipe), the channel to the
	 * parent (so that every later log line is forwarded), the time zone,
	 * json-c and the random source.
	 */
	if ((w.w_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	w.w_parent = chan_new(w.w_base, PROC_CHAN_FD, IPC_WORKER, IPC_PARENT,
	    worker_parent_msg, worker_parent_close, &w);
	if (w.w_parent == NULL)
		fatalx("cannot set up the parent channel");
	log_set_forward(proc_log_forward, w.w_parent);

	if (proc_raise_nofile() == -1)
		log_warn("cannot raise the open files limit");
	tzset();
	if (api_init() == -1)
		fatal("cannot initialise the API (random source)");
	/* Case tables and libcrypto's configuration: after chroot and the
	 * filter nothing can be opened any more. */
	if (tmpl_init() == -1)
		log_warnx("C.UTF-8 locale missing: templates map case in ASCII only");
	/* The configuration: the parent's snapshot, no file. */
	if ((sn = snapshot_load(PROC_SNAP_FD, proc_log_report, NULL)) == NULL)
		fatalx("cannot load the configuration snapshot");
	close(PROC_SNAP_FD);
	if ((w.w_gen = worker_gen_new(&w, sn)) == NULL)
		fatalx("cannot set up the configuration");
	if ((w.w_stats = execute_stats_new()) == NULL ||
	    (w.w_done_ev = evtimer_new(w.w_base, worker_done_cb, &w)) == NULL ||
	    (w.w_cache = cache_new()) == NULL ||
	    (w.w_metrics = proc_metrics_start(w.w_base, w.w_parent)) == NULL)
		fatalx("out of memory");
	cache_generation(w.w_cache, sn);
	worker_limits(&w);

	/* The worker opens nothing at all: chroot and seccomp say so. */
	proc_confine(PROC_WORKER, worker_config(&w), NULL);

	chan_send(w.w_parent, MSG_READY, 0, NULL, 0, -1);
	log_debug("ready");
	event_base_dispatch(w.w_base);
	chan_flush_sync(w.w_parent);
	/*
	 * _exit: nothing is left to flush, and exit handlers (a sanitizer's
	 * leak check among them) may need syscalls the filter refuses.
	 */
	_exit(0);
}
