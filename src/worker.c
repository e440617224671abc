/*
 * worker.c — the sandboxed process that parses untrusted bytes.
 *
 * A worker receives accepted client sockets from the parent, reads HTTP/1.1
 * requests with http.c on bufferevents, and answers them.  It holds no
 * secret and can open nothing: its seccomp filter is in place before the
 * first client byte is read.  Anything that needs a secret or the network
 * goes to the keeper over the worker's keeper channel; while the keeper is
 * down the worker answers 503 at once.
 *
 * Requests on one connection are handled one at a time, in order: while a
 * request waits for the keeper, the connection's input stays buffered, so
 * pipelined responses can never be reordered.
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
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "api.h"
#include "chan.h"
#include "config.h"
#include "http.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"
#include "template/template.h"

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

enum conn_timer {
	CT_IDLE,		/* between requests: silent close */
	CT_REQUEST,		/* a request is being read: 408 */
	CT_KEEPER,		/* waiting for the keeper: 503 */
	CT_CLOSE,		/* free from the event loop, not from a caller */
	CT_NONE
};

struct conn {
	TAILQ_ENTRY(conn)	 c_entry;
	struct worker		*c_w;
	struct bufferevent	*c_bev;
	struct http_parser_state *c_parser;
	struct event		*c_timer;
	enum conn_timer		 c_timer_kind;
	struct http_request	*c_req;		/* being answered */
	struct api_ctx		 c_ctx;
	int			 c_ctx_started;	/* c_ctx belongs to the bytes read */
	uint32_t		 c_ping_id;	/* 0: not waiting for the keeper */
	int			 c_closing;	/* close once the output drained */
	int			 c_in_process;	/* worker_conn_process() on the stack */
	int			 c_status;	/* of the response just queued */
	char			 c_peer[INET6_ADDRSTRLEN];	/* for the log */
	int			 c_throttled;	/* reading paused: output full */
	int			 c_served;	/* requests answered so far */
};

struct worker {
	struct event_base	*w_base;
	struct widgetd_config	*w_cfg;
	int			 w_slot;
	struct chan		*w_parent;
	struct chan		*w_keeper;	/* NULL while the keeper is down */
	struct http_limits	 w_limits;
	TAILQ_HEAD(, conn)	 w_conns;
	int			 w_nconns;
	uint32_t		 w_ping_seq;
	int			 w_draining;
};

static void	worker_conn_process(struct conn *);
static void	worker_conn_free(struct conn *);

static void
worker_maybe_exit(struct worker *w)
{
	if (w->w_draining && w->w_nconns == 0) {
		log_debug("drained, exiting");
		chan_flush_sync(w->w_parent);
		event_base_loopexit(w->w_base, NULL);
	}
}

static void
worker_conn_timer(struct conn *c, enum conn_timer kind)
{
	struct timeval	 tv = { 0, 0 };
	const struct conf_limits *l = &c->c_w->w_cfg->c_limits;

	if (c->c_timer_kind == kind && kind != CT_NONE)
		return;		/* a deadline is not pushed back by bytes */
	c->c_timer_kind = kind;
	switch (kind) {
	case CT_IDLE:
		tv.tv_sec = l->idle_timeout;
		/* Draining: no long waits for a request that may never come. */
		if (c->c_w->w_draining && l->header_timeout < l->idle_timeout)
			tv.tv_sec = l->header_timeout;
		break;
	case CT_REQUEST:
		tv.tv_sec = l->header_timeout;
		break;
	case CT_KEEPER:
		tv.tv_sec = WORKER_KEEPER_TIMEOUT;
		break;
	case CT_CLOSE:
		break;
	case CT_NONE:
		event_del(c->c_timer);
		return;
	}
	event_add(c->c_timer, &tv);
}

/* One line per answered request when log.access_log is on. */
static void
worker_access_log(struct conn *c)
{
	struct timespec	 now;
	double		 ms;

	if (!c->c_w->w_cfg->c_access_log)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - c->c_ctx.a_start.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - c->c_ctx.a_start.tv_nsec) / 1e6;
	/* The target is the client's: log.c strips control bytes. */
	log_info("access: %s \"%s %.512s\" %d %.1f ms %s", c->c_peer,
	    c->c_req != NULL ? c->c_req->r_method : "-",
	    c->c_req != NULL ? c->c_req->r_target : "-",
	    c->c_status, ms, c->c_ctx.a_reqid);
}

/* The response is queued; decide whether the connection lives on. */
static void
worker_conn_answered(struct conn *c)
{
	worker_access_log(c);
	c->c_served++;
	http_request_free(c->c_req);
	c->c_req = NULL;
	c->c_ping_id = 0;
	c->c_ctx_started = 0;
	if (!c->c_ctx.a_keepalive) {
		c->c_closing = 1;
		bufferevent_disable(c->c_bev, EV_READ);
		/* The write callback frees it once the output drained. */
		if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0)
			worker_conn_timer(c, CT_CLOSE);
		else
			worker_conn_timer(c, CT_NONE);
		return;
	}
	/* A fresh idle period starts with every response. */
	c->c_timer_kind = CT_NONE;
	worker_conn_timer(c, CT_IDLE);
	bufferevent_enable(c->c_bev, EV_READ);
	/* A pipelined request may be waiting; the loop picks it up itself. */
	if (!c->c_in_process)
		worker_conn_process(c);
}

static void
worker_reply_error(struct conn *c, int status, const char *detail)
{
	c->c_status = status;
	if (api_reply_error(bufferevent_get_output(c->c_bev), &c->c_ctx,
	    status, NULL, detail) == -1)
		c->c_ctx.a_keepalive = 0;
}

/* Answer the request waiting on the keeper: 200 on PONG, else 503. */
static void
worker_health_done(struct conn *c, int ok)
{
	static const char body[] = "{\"status\":\"ok\"}";

	c->c_status = ok ? 200 : 503;
	if (ok)
		api_reply(bufferevent_get_output(c->c_bev), &c->c_ctx, 200,
		    "application/json", body, sizeof(body) - 1);
	else
		api_reply_error(bufferevent_get_output(c->c_bev), &c->c_ctx,
		    503, "UNAVAILABLE",
		    "the secrets keeper is not available; retry later");
	worker_conn_answered(c);
}

static void
worker_route(struct conn *c)
{
	struct worker		*w = c->c_w;
	struct http_request	*r = c->c_req;
	int			 get, head;

	get = strcmp(r->r_method, "GET") == 0;
	head = strcmp(r->r_method, "HEAD") == 0;
	c->c_ctx.a_head = head;
	c->c_ctx.a_keepalive = r->r_keepalive && !w->w_draining;

	if ((get || head) && strcmp(r->r_path, API_HEALTH_PATH) == 0) {
		if (w->w_keeper == NULL) {
			worker_health_done(c, 0);
			return;
		}
		/* Id 0 means "not waiting": skip it when the counter wraps. */
		if (++w->w_ping_seq == 0)
			w->w_ping_seq = 1;
		c->c_ping_id = w->w_ping_seq;
		bufferevent_disable(c->c_bev, EV_READ);
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
 * Feed buffered input to the parser until a request is complete (and
 * answer it), the input runs out, or the framing is wrong.
 */
static void
worker_conn_process(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->c_bev);
	struct evbuffer_iovec	 v;
	const char		*errmsg = NULL;
	size_t			 used;
	int			 errstatus = 400;
	enum http_status	 st;

	c->c_in_process = 1;
	while (c->c_req == NULL && !c->c_closing &&
	    evbuffer_get_length(in) > 0) {
		if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) >
		    WORKER_OUTPUT_HIGH) {
			if (!c->c_throttled)
				log_debug("%s: output backed up, reading paused",
				    c->c_peer);
			c->c_throttled = 1;
			bufferevent_disable(c->c_bev, EV_READ);
			break;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		if (!c->c_ctx_started) {
			api_ctx_init(&c->c_ctx);
			c->c_ctx_started = 1;
		}
		used = 0;
		st = http_feed(c->c_parser, v.iov_base, v.iov_len, &used,
		    &errstatus, &errmsg);
		evbuffer_drain(in, used);
		if (st == HTTP_ERROR) {
			log_debug("client error %d: %s", errstatus,
			    errmsg != NULL ? errmsg : "bad request");
			c->c_ctx.a_keepalive = 0;
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
			http_write_response(bufferevent_get_output(c->c_bev),
			    100, NULL, NULL, 0, 1, 0);
		if (used == 0)
			break;	/* the parser wants more than this chunk */
	}
	c->c_in_process = 0;
	if (c->c_req != NULL || c->c_closing)
		return;
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

static void
worker_read_cb(struct bufferevent *bev, void *arg)
{
	worker_conn_process(arg);
}

static void
worker_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	/* Called when the output buffer has drained completely. */
	if (c->c_closing)
		worker_conn_free(c);
	else if (c->c_throttled) {
		c->c_throttled = 0;
		bufferevent_enable(c->c_bev, EV_READ);
		worker_conn_process(c);
	}
}

static void
worker_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	/*
	 * EOF or error.  A request waiting on the keeper has nobody to answer
	 * to any more; its PONG will find no connection and be dropped.
	 */
	worker_conn_free(c);
}

static void
worker_timer_cb(int fd, short what, void *arg)
{
	struct conn	*c = arg;

	switch (c->c_timer_kind) {
	case CT_IDLE:
	case CT_CLOSE:
		worker_conn_free(c);
		break;
	case CT_REQUEST:
		c->c_timer_kind = CT_NONE;
		c->c_ctx.a_keepalive = 0;
		bufferevent_disable(c->c_bev, EV_READ);
		worker_reply_error(c, 408, "request not received in time");
		worker_conn_answered(c);
		break;
	case CT_KEEPER:
		c->c_timer_kind = CT_NONE;
		log_warnx("keeper did not answer within %d s",
		    WORKER_KEEPER_TIMEOUT);
		worker_health_done(c, 0);
		break;
	case CT_NONE:
		break;
	}
}

static void
worker_conn_free(struct conn *c)
{
	struct worker	*w = c->c_w;

	TAILQ_REMOVE(&w->w_conns, c, c_entry);
	w->w_nconns--;
	http_request_free(c->c_req);
	http_parser_state_free(c->c_parser);
	event_free(c->c_timer);
	bufferevent_free(c->c_bev);	/* closes the socket */
	free(c);
	/* The parent balances load on these counts. */
	chan_send(w->w_parent, MSG_CONN_DONE, 0, NULL, 0, -1);
	worker_maybe_exit(w);
}

/* The client's address, once per connection, for the access log. */
static void
worker_conn_peer(struct conn *c, int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	const void		*a = NULL;

	snprintf(c->c_peer, sizeof(c->c_peer), "-");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (a != NULL)
		inet_ntop(ss.ss_family, a, c->c_peer, sizeof(c->c_peer));
}

static void
worker_conn_new(struct worker *w, int fd)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->c_w = w;
	c->c_timer_kind = CT_NONE;
	worker_conn_peer(c, fd);
	c->c_parser = http_parser_state_new(&w->w_limits);
	c->c_timer = evtimer_new(w->w_base, worker_timer_cb, c);
	c->c_bev = bufferevent_socket_new(w->w_base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->c_parser == NULL || c->c_timer == NULL || c->c_bev == NULL) {
		http_parser_state_free(c->c_parser);
		if (c->c_timer != NULL)
			event_free(c->c_timer);
		if (c->c_bev != NULL) {
			bufferevent_free(c->c_bev);
			fd = -1;
		}
		free(c);
		goto fail;
	}
	TAILQ_INSERT_TAIL(&w->w_conns, c, c_entry);
	w->w_nconns++;
	bufferevent_setcb(c->c_bev, worker_read_cb, worker_write_cb,
	    worker_event_cb, c);
	bufferevent_enable(c->c_bev, EV_READ);
	worker_conn_timer(c, CT_IDLE);
	return;
fail:
	log_warnx("%s: out of memory", __func__);
	if (fd != -1)
		close(fd);
	chan_send(w->w_parent, MSG_CONN_DONE, 0, NULL, 0, -1);
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
		    evbuffer_get_length(bufferevent_get_input(c->c_bev)) != 0 ||
		    evbuffer_get_length(bufferevent_get_output(c->c_bev)) != 0)
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
	/* Everyone waiting for the keeper gets a 503 now, not after 5 s. */
	TAILQ_FOREACH_SAFE(c, &w->w_conns, c_entry, next)
		if (c->c_ping_id != 0)
			worker_health_done(c, 0);
}

static int
worker_keeper_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;

	if (m->m_type != MSG_PONG || m->m_fd != -1 || ipc_get_end(m) != 0) {
		log_warnx("keeper sent unexpected %s", ipc_type_name(m->m_type));
		return -1;
	}
	if (m->m_id == 0)
		return 0;
	TAILQ_FOREACH(c, &w->w_conns, c_entry)
		if (c->c_ping_id == m->m_id) {
			worker_health_done(c, 1);
			break;
		}
	return 0;
}

static void
worker_keeper_close(struct chan *ch, const char *why, void *arg)
{
	struct worker	*w = arg;

	log_info("keeper channel closed (%s)", why);
	worker_keeper_lost(w);
}

static int
worker_parent_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct worker	*w = arg;

	switch (m->m_type) {
	case MSG_CONN_FD:
		if (m->m_fd == -1 || ipc_get_end(m) != 0)
			return -1;
		worker_conn_new(w, m->m_fd);
		return 0;
	case MSG_KEEPER_FD:
		if (m->m_fd == -1 || ipc_get_end(m) != 0)
			return -1;
		if (w->w_keeper != NULL)
			worker_keeper_lost(w);
		w->w_keeper = chan_new(w->w_base, m->m_fd, worker_keeper_msg,
		    worker_keeper_close, w);
		if (w->w_keeper == NULL) {
			log_warnx("%s: cannot set up the keeper channel",
			    __func__);
		} else
			log_debug("keeper channel up");
		return 0;
	case MSG_SHUTDOWN:
		if (m->m_fd != -1)
			return -1;
		worker_drain(w);
		return 0;
	case MSG_RELOAD:
		/* Reloads restart workers; nothing to do in place. */
		if (m->m_fd != -1)
			return -1;
		return 0;
	default:
		log_warnx("parent sent unexpected %s", ipc_type_name(m->m_type));
		return -1;
	}
}

static void
worker_parent_close(struct chan *ch, const char *why, void *arg)
{
	/* Without the parent there is nobody to log to or take fds from. */
	log_set_forward(NULL, NULL);
	fatalx("parent channel closed (%s)", why);
}

int
worker_main(const struct proc_opts *po, int slot)
{
	struct worker	 w;
	char		 name[32];

	memset(&w, 0, sizeof(w));
	w.w_slot = slot;
	TAILQ_INIT(&w.w_conns);
	snprintf(name, sizeof(name), "worker %d", slot);
	log_procname(name);
	log_setverbose(po->po_verbose);
	proc_child_signals();

	/*
	 * Everything the worker will ever need is created here, before the
	 * sandbox: the event base (epoll fd, signal pipe), the channel to the
	 * parent (so that every later log line is forwarded), the time zone,
	 * json-c and the random source.
	 */
	if ((w.w_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	w.w_parent = chan_new(w.w_base, PROC_CHAN_FD, worker_parent_msg,
	    worker_parent_close, &w);
	if (w.w_parent == NULL)
		fatalx("cannot set up the parent channel");
	log_set_forward(proc_log_forward, w.w_parent);

	if ((w.w_cfg = config_load(po->po_conf, proc_log_report, NULL)) == NULL)
		fatalx("%s: invalid configuration", po->po_conf);
	w.w_limits.hl_header_bytes = w.w_cfg->c_limits.header_bytes;
	w.w_limits.hl_max_headers = w.w_cfg->c_limits.max_headers;
	w.w_limits.hl_body = w.w_cfg->c_limits.request_body;
	if (proc_raise_nofile() == -1)
		log_warn("cannot raise the open files limit");
	tzset();
	if (api_init() == -1)
		fatal("cannot initialise the API (random source)");
	/* Case tables and libcrypto's configuration: after chroot and the
	 * filter nothing can be opened any more. */
	if (tmpl_init() == -1)
		log_warnx("C.UTF-8 locale missing: templates map case in ASCII only");

	proc_confine(PROC_WORKER, w.w_cfg);

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
