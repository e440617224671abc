/*
 * worker.h — what the worker's files share: worker.c owns connections,
 * channels and generations; execute.c runs connector calls on them.
 * Worker only: nothing here is linked into another role's code path.
 */
#ifndef WIDGETD_WORKER_H
#define WIDGETD_WORKER_H

#include <sys/queue.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>

#include "api.h"
#include "http.h"
#include "idmap.h"
#include "ipc.h"

struct cache;
struct chan;
struct event;
struct event_base;
struct evbuffer;
struct exec;
struct http_parser_state;
struct ipc_buf;
struct ipc_msg;
struct metrics;
struct plan;
struct ratelimit_table;
struct session_key;
struct snapshot;
struct testmode;
struct widgetd_config;

/*
 * A configuration generation as the worker uses it: the snapshot and
 * what the worker derives from it (each tenant's session key).  Every
 * request holds a reference for as long as it runs, so a reload never
 * changes a connector under a request.
 */
struct wgen {
	TAILQ_ENTRY(wgen)	 wg_entry;	/* the worker's live ones */
	struct worker		*wg_w;
	struct snapshot		*wg_snap;
	struct session_key	**wg_keys;	/* per tenant; NULL: none */
	int			 wg_refs;
};

enum conn_timer {
	CT_IDLE,		/* between requests: silent close */
	CT_REQUEST,		/* a request is being read: 408 */
	CT_KEEPER,		/* waiting for the keeper */
	CT_CLOSE,		/* free from the event loop, not from a caller */
	CT_LINGER,		/* answered and shut down: input drained */
	CT_NONE
};

struct conn {
	TAILQ_ENTRY(conn)	 c_entry;
	struct worker		*c_w;
	int			 c_fd;
	uint32_t		 c_seq;		/* the parent's number for it */
	struct event		*c_rev;		/* EV_READ, on while reading */
	struct event		*c_wev;		/* EV_WRITE, only when full */
	struct evbuffer		*c_in;		/* read, not yet parsed */
	const char		*c_rd;		/* read, parsed from worker_rbuf */
	size_t			 c_rdlen;	/* bytes at c_rd not parsed yet */
	struct evbuffer		*c_out;		/* queued, not yet written */
	struct http_parser_state *c_parser;
	struct event		*c_timer;
	enum conn_timer		 c_timer_kind;
	struct http_request	*c_req;		/* being answered */
	struct api_ctx		 c_ctx;
	int			 c_ctx_started;	/* c_ctx belongs to the bytes read */
	uint32_t		 c_ping_id;	/* 0: not waiting for a PONG */
	struct exec		*c_exec;	/* a connector call in progress */
	int			 c_closing;	/* close once the output drained */
	int			 c_in_process;	/* worker_conn_process() on the stack */
	int			 c_status;	/* of the response just queued */
	char			 c_peer[INET6_ADDRSTRLEN];	/* for the log;
						   "" until first needed */
	int			 c_reading;	/* c_rev is added */
	int			 c_eof;		/* the client closed its side */
	int			 c_throttled;	/* reading paused: output full */
	int			 c_served;	/* requests answered so far */
	int			 c_logged;	/* this request's access record sent */
	struct testmode		*c_test;	/* test mode: no client (testmode.c) */
	char			*c_metrics;	/* a metrics listener's connection:
						   the text it is answered with */
	size_t			 c_metrics_len;
	int			 c_abandoned;	/* a write failed: no lingering */
	int			 c_linger;	/* answered before all input was read */
	/*
	 * The session check made on the header block, before the body
	 * (execute_takes_body), kept for execute_session: one verification
	 * per request.  c_gate_sess is ours until taken.
	 */
	int			 c_gated;
	int			 c_gate_st;	/* enum session_status */
	const char		*c_gate_why;	/* a static reason, or NULL */
	struct session		*c_gate_sess;
	size_t			 c_body_held;	/* of w_body_held: this request's */
	int			 c_chunked;	/* its body is chunked */
	int			 c_lingering;	/* shut down, draining input */
	size_t			 c_linger_bytes; /* drained so far */
};

struct worker {
	struct event_base	*w_base;
	struct wgen		*w_gen;		/* the newest generation */
	int			 w_slot;
	struct chan		*w_parent;
	struct chan		*w_keeper;	/* NULL while the keeper is down */
	struct http_limits	 w_limits;
	TAILQ_HEAD(, conn)	 w_conns;
	int			 w_nconns;
	uint32_t		 w_ping_seq;
	uint32_t		 w_call_seq;
	struct idmap		 w_calls;	/* calls at the keeper, by id */
	int			 w_draining;
	struct exec_stats	*w_stats;	/* per-connector counters */
	TAILQ_HEAD(, wgen)	 w_gens;	/* every generation in use */
	uint64_t		 w_declared;	/* the last MSG_GEN sent */
	uint32_t		 w_conn_seq;	/* connections handed so far: the
						   parent numbers them the same */
	uint32_t		 w_done[IPC_DONE_MAX];	/* closed (their
						   numbers), not yet told */
	uint32_t		 w_ndone;
	size_t			 w_body_held;	/* request body bytes buffered, all
						   connections (limits.body_budget) */
	struct event		*w_done_ev;	/* tells it, at the end of a pass */
	struct cache		*w_cache;	/* the response cache */
	struct metrics		*w_metrics;	/* pushed to the parent */
	struct ratelimit_table	*w_clients;	/* limits.client_rate */
	double			 w_client_rate;	/* w_clients was made for */
	int			 w_client_burst;
};

/* worker.c */
const struct widgetd_config *worker_config(const struct worker *);
struct wgen	*worker_gen_ref(struct worker *);
void		 worker_gen_unref(struct wgen *);
/* The response is queued: log it, then keep the connection or close it. */
void		 worker_conn_answered(struct conn *);
/*
 * Send a plan to the keeper as MSG_CALL; the new call id in *id (never 0).
 * -1 when the keeper is down or the channel failed.
 */
int		 worker_keeper_call(struct conn *, const struct ipc_buf *,
		    uint32_t *id);
/* The call will not be answered to anyone (the connection went away). */
void		 worker_call_forget(struct worker *, uint32_t id);
/* The client's address for the log, looked up once when first needed. */
const char	*worker_conn_peer(struct conn *);
/* The call's answer goes to another connection (one that waited for it). */
void		 worker_call_adopt(struct worker *, uint32_t id, struct conn *);
/* Start or change the connection's timer. */
void		 worker_conn_timer(struct conn *, enum conn_timer);
/* A connection on fd (consumed); NULL when out of memory. */
struct conn	*worker_conn_new(struct worker *, int fd);
/* A handed connection on fd that is not taken: closed, reported closed. */
void		 worker_conn_lost(struct worker *, int fd);
/* Read its request (c may be freed by the time this returns). */
void		 worker_conn_start(struct conn *);
/* Close it now, whatever it was doing. */
void		 worker_conn_free(struct conn *);
/* Send one access-log record to the parent. */
void		 worker_access(struct conn *, const char *tenant,
		    const char *connector, int upstream, const char *cache,
		    const char *error);

/* worker_ext.c: published extensions (SPEC §10 "Serving"). */
/* 1 when path is under API_PREFIX "/extensions/". */
int		 worker_ext_path(const char *path);
/* Answer a request for the manifest or a published file. */
void		 worker_ext_serve(struct conn *);

/* worker_metrics.c: the metrics listener's connections. */
void		 worker_metrics_conn(struct worker *, struct ipc_msg *);
void		 worker_metrics_route(struct conn *);

/* worker_ops.c: trace context, client limits. */
/* This request's traceparent into c_ctx.a_trace. */
void		 worker_trace_begin(struct conn *);
/* The traceparent header into the plan (unless the connector sets one). */
int		 worker_trace_plan(struct conn *, struct plan *);
/*
 * limits.client_rate for the user (signed in) or the peer: 0 go, -1 over
 * it (c_ctx.a_retry_after set; the caller answers 429).
 */
int		 worker_client_limit(struct conn *, const char *tenant,
		    const char *connector, const char *user);

/* execute.c: connector calls. */
/* path is API_PREFIX "/connectors/<permalink>/execute"; answer it. */
void		 execute_connector(struct conn *, const char *permalink);
/*
 * path is API_PREFIX "/composite-connectors/<key>/execute", key the
 * composite's permalink or numeric id; run its steps and answer.
 */
void		 execute_composite(struct conn *, const char *key);
/*
 * Before its body is read: 1 when r is for a connector (comp: a composite)
 * of the Host's tenant, named key, whose method takes a body, r uses that
 * method, and its session is not refused (a bad or expired token, a CSRF
 * mismatch, or none where the headers or query need user.*).  Anything
 * else is answered without reading the body.
 */
int		 execute_takes_body(struct conn *, const struct http_request *r,
		    const char *key, int comp);
/*
 * 1 when s[0..len) is UTF-8 (RFC 3629: no overlong form, surrogate or
 * value past U+10FFFF), as an upstream body must be to become a str.
 */
int		 execute_utf8_valid(const unsigned char *s, size_t len);
/* The keeper answered the call c is waiting for (MSG_RESULT, MSG_FAIL). */
void		 execute_answer(struct conn *, struct ipc_msg *);
/* No answer will come: the keeper went away (503) or was too slow. */
void		 execute_abort(struct conn *, int status, const char *detail);
/* Forget the call (the connection is going away); no answer is sent. */
void		 execute_free(struct conn *);
/* Per-connector counters for the parent (MSG_STATS). */
struct exec_stats *execute_stats_new(void);
void		 execute_stats_free(struct exec_stats *);
int		 execute_stats_encode(const struct exec_stats *,
		    const struct cache *, struct ipc_buf *);

/* MSG_TEST_ABUSE (worker_test.c): misbehave as a compromised worker. */
int		 worker_test_abuse(struct chan *parent, struct chan *keeper,
		    struct ipc_msg *);

#endif
