/*
 * keeper_redis.c — the shared connector rate, in redis (keeper_redis.h).
 *
 * hiredis's asynchronous client on the keeper's libevent base.  hiredis
 * 0.14 has no command timeout: each reservation has its own timer, and a
 * reservation that times out is answered KREDIS_UNAVAILABLE at once and
 * the connection is dropped (hiredis then answers every pending command
 * with no reply, which frees them); it is made again a second later.
 * Nor has it a connect timeout: a connection not made within
 * KREDIS_CONNECT_MS is given up too, where the kernel would retry its SYN
 * for two minutes (a redis whose listen queue is full, an address that
 * drops packets).  Nor is a connection made one redis serves: the kernel
 * completes the handshake for a redis-server that is stopped.  So the
 * link is up (the log's "connected", widgetd_redis_up) once redis has
 * answered a PING on it, and a connection that never answers, given up
 * in KREDIS_CONNECT_MS, changes neither.
 *
 * The script is GCRA over microseconds of the redis server's clock, so
 * the instances' clocks need not agree.  It reserves a place in the
 * future when that is within the caller's wait: the caller sleeps and
 * goes, no polling.  Keys expire when their reservations have passed.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "keeper_redis.h"
#include "log.h"
#include "metrics.h"

#define KREDIS_TIMEOUT_MS	500	/* a reservation's answer */
#define KREDIS_CONNECT_MS	1000	/* connect(2) to PONG */
#define KREDIS_RECONNECT_S	1
#define KREDIS_WAIT_MAX		1000000000000LL	/* µs in a reply */

/*
 * KEYS[1] the connector's key; ARGV: interval µs, burst tolerance µs,
 * longest wait µs.  Returns { reserved, wait µs }.
 */
static const char kredis_script[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) "
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if tat < now then tat = now end "
    "local wait = tat - tonumber(ARGV[2]) - now "
    "if wait < 0 then wait = 0 end "
    "if wait > tonumber(ARGV[3]) then return {0, wait} end "
    "tat = tat + tonumber(ARGV[1]) "
    "redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', "
    "math.floor((tat - now) / 1000) + 1000) "
    "return {1, wait}";

struct kredis_req {
	struct kredis	*rq_r;
	kredis_fn	 rq_fn;		/* NULL: answered or cancelled */
	void		*rq_arg;
	struct event	*rq_timer;
};

struct kredis {
	struct event_base	*r_base;
	redisAsyncContext	*r_ac;		/* NULL while down */
	int			 r_connected;	/* r_ac has answered */
	int			 r_said;	/* what the log last said: -1
						   nothing yet, 0 down, 1 up */
	char			*r_address;
	int			 r_port;
	char			*r_prefix;
	struct event		*r_reconnect;	/* r_ac NULL: connect; else
						   give up waiting for PONG */
	struct metrics		*r_metrics;
	const char		*r_refused;	/* why a reply was, if one */
};

static void	kredis_connect(struct kredis *);

/*
 * Every reply is a two-element array (or an error): more is refused, and
 * so is an array within an array, whose elements the reader would keep
 * (parsed, beyond KREDIS_MAX_BUFFER) up to 16^7 of them.  Returning NULL
 * is, to hiredis, out of memory: a reader error, the connection dropped.
 */
static redisReplyObjectFunctions	 kredis_objfn;
static redisReplyObjectFunctions	 kredis_hfn;	/* hiredis's own */

/*
 * A reply nobody asked for: hiredis 0.14 asserts that a context with no
 * command waiting is subscribed (async.c), and Debian builds it with its
 * asserts, so one unasked ":1" after an answer aborted the keeper.  The
 * reader parses a reply before hiredis takes its command off the list:
 * a reply's first object with the list empty was not asked for.  A
 * reader without a context (t->privdata NULL) is not checked.
 */
static int
kredis_unasked(const redisReadTask *t)
{
	const redisAsyncContext	*ac = t->privdata;

	return t->parent == NULL && ac != NULL && ac->replies.head == NULL;
}

/* hiredis reads NULL as out of memory: the log says what it was. */
static void *
kredis_refuse(const redisReadTask *t, const char *why)
{
	const redisAsyncContext	*ac = t->privdata;
	struct kredis		*r;

	if (ac != NULL && (r = ac->data) != NULL)
		r->r_refused = why;
	return NULL;
}

static void *
kredis_create_array(const redisReadTask *t, int elements)
{
	if (kredis_unasked(t))
		return kredis_refuse(t, "a reply no command asked for");
	if (t->parent != NULL || elements < 0 ||
	    elements > KREDIS_MAX_ELEMENTS)
		return kredis_refuse(t, "a reply no script gives");
	return kredis_hfn.createArray(t, elements);
}

static void *
kredis_create_string(const redisReadTask *t, char *str, size_t len)
{
	if (kredis_unasked(t))
		return kredis_refuse(t, "a reply no command asked for");
	return kredis_hfn.createString(t, str, len);
}

static void *
kredis_create_integer(const redisReadTask *t, long long value)
{
	if (kredis_unasked(t))
		return kredis_refuse(t, "a reply no command asked for");
	return kredis_hfn.createInteger(t, value);
}

static void *
kredis_create_nil(const redisReadTask *t)
{
	if (kredis_unasked(t))
		return kredis_refuse(t, "a reply no command asked for");
	return kredis_hfn.createNil(t);
}

void
kredis_reader_bound(struct redisReader *rd, struct redisAsyncContext *ac)
{
	if (rd == NULL || rd->fn == NULL)
		return;
	if (rd->fn != &kredis_objfn) {
		if (kredis_objfn.createArray == NULL) {
			kredis_hfn = *rd->fn;
			kredis_objfn = *rd->fn;
			kredis_objfn.createArray = kredis_create_array;
			kredis_objfn.createString = kredis_create_string;
			kredis_objfn.createInteger = kredis_create_integer;
			kredis_objfn.createNil = kredis_create_nil;
		}
		rd->fn = &kredis_objfn;
	}
	rd->privdata = ac;
}

int
kredis_reply_parse(const struct redisReply *rp, enum kredis_result *res,
    int64_t *wait)
{
	const struct redisReply	*a, *b;

	if (rp == NULL || rp->type != REDIS_REPLY_ARRAY || rp->elements != 2 ||
	    rp->element == NULL)
		return -1;
	a = rp->element[0];
	b = rp->element[1];
	if (a == NULL || b == NULL || a->type != REDIS_REPLY_INTEGER ||
	    b->type != REDIS_REPLY_INTEGER || (a->integer != 0 &&
	    a->integer != 1) || b->integer < 0 || b->integer > KREDIS_WAIT_MAX)
		return -1;
	*res = a->integer == 1 ? KREDIS_RESERVED : KREDIS_REFUSED;
	*wait = b->integer;
	return 0;
}

int
kredis_connected(const struct kredis *r)
{
	return r != NULL && r->r_connected;
}

static void
kredis_metrics(struct kredis *r)
{
	metrics_global_set(r->r_metrics, MG_REDIS_UP, r->r_connected ? 1 : 0);
}

static void
kredis_schedule(struct kredis *r)
{
	struct timeval	 tv = { KREDIS_RECONNECT_S, 0 };

	evtimer_add(r->r_reconnect, &tv);
}

/* The log says once that redis is not there, until it is back. */
static void
kredis_say_down(struct kredis *r, const char *why)
{
	if (r->r_said != 0)
		log_warnx("redis %s port %d: %s; connector rates are this "
		    "instance's share", r->r_address, r->r_port, why);
	r->r_said = 0;
}

/*
 * No PONG in KREDIS_CONNECT_MS, the connection made or not.  r_ac is
 * cleared first: kredis_disconnect_cb, which hiredis calls for a
 * connection it made, has nothing to add.
 */
static void
kredis_give_up(struct kredis *r)
{
	redisAsyncContext	*ac = r->r_ac;
	char			 why[64];

	snprintf(why, sizeof(why), "%s within %d ms",
	    ac->c.flags & REDIS_CONNECTED ? "no answer to PING" :
	    "cannot connect", KREDIS_CONNECT_MS);
	r->r_ac = NULL;
	redisAsyncFree(ac);
	kredis_say_down(r, why);
	kredis_schedule(r);
}

static void
kredis_reconnect_cb(int fd, short what, void *arg)
{
	struct kredis	*r = arg;

	if (r->r_ac == NULL)
		kredis_connect(r);
	else if (!r->r_connected)
		kredis_give_up(r);
}

/*
 * hiredis's libevent adapter (hiredis/adapters/libevent.h) with one check
 * more.  hiredis 0.14 keeps a reply's bytes until the reply is complete,
 * without a bound: a server that announces a 1 GB bulk string, or sends a
 * line without its CRLF, is read into memory as fast as it sends.  After
 * each read, a reader that holds more than KREDIS_MAX_BUFFER bytes it has
 * not parsed drops the connection, as a protocol error does.
 */
struct kredis_ev {
	redisAsyncContext	*ke_ac;
	struct event		*ke_rev;
	struct event		*ke_wev;
	int			 ke_reading;	/* in redisAsyncHandleRead */
	int			 ke_freed;	/* hiredis freed ke_ac meanwhile */
};

static void
kredis_ev_read(int fd, short what, void *arg)
{
	struct kredis_ev	*e = arg;
	redisAsyncContext	*ac = e->ke_ac;
	const redisReader	*rd;
	struct kredis		*r;

	/* Its callbacks may free ac, and with it e (kredis_ev_cleanup). */
	e->ke_reading = 1;
	redisAsyncHandleRead(ac);
	e->ke_reading = 0;
	if (e->ke_freed) {
		free(e);
		return;
	}
	rd = ac->c.reader;
	if (rd->len - rd->pos <= KREDIS_MAX_BUFFER)
		return;
	r = ac->data;
	log_warnx("redis %s port %d: a reply of more than %d bytes; "
	    "reconnecting", r->r_address, r->r_port, KREDIS_MAX_BUFFER);
	/* Not in a callback: at once, pending commands get no reply. */
	redisAsyncFree(ac);
}

static void
kredis_ev_write(int fd, short what, void *arg)
{
	struct kredis_ev	*e = arg;

	redisAsyncHandleWrite(e->ke_ac);
}

static void
kredis_ev_add_read(void *arg)
{
	struct kredis_ev	*e = arg;

	event_add(e->ke_rev, NULL);
}

static void
kredis_ev_del_read(void *arg)
{
	struct kredis_ev	*e = arg;

	event_del(e->ke_rev);
}

static void
kredis_ev_add_write(void *arg)
{
	struct kredis_ev	*e = arg;

	event_add(e->ke_wev, NULL);
}

static void
kredis_ev_del_write(void *arg)
{
	struct kredis_ev	*e = arg;

	event_del(e->ke_wev);
}

/* hiredis frees the context (and closes its socket) after this. */
static void
kredis_ev_cleanup(void *arg)
{
	struct kredis_ev	*e = arg;

	event_free(e->ke_rev);
	event_free(e->ke_wev);
	if (e->ke_reading)
		e->ke_freed = 1;	/* kredis_ev_read frees e */
	else
		free(e);
}

static int
kredis_ev_attach(redisAsyncContext *ac, struct event_base *base)
{
	struct kredis_ev	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return REDIS_ERR;
	e->ke_ac = ac;
	if ((e->ke_rev = event_new(base, ac->c.fd, EV_READ, kredis_ev_read,
	    e)) == NULL || (e->ke_wev = event_new(base, ac->c.fd, EV_WRITE,
	    kredis_ev_write, e)) == NULL) {
		if (e->ke_rev != NULL)
			event_free(e->ke_rev);
		free(e);
		return REDIS_ERR;
	}
	ac->ev.addRead = kredis_ev_add_read;
	ac->ev.delRead = kredis_ev_del_read;
	ac->ev.addWrite = kredis_ev_add_write;
	ac->ev.delWrite = kredis_ev_del_write;
	ac->ev.cleanup = kredis_ev_cleanup;
	ac->ev.data = e;
	event_add(e->ke_rev, NULL);
	event_add(e->ke_wev, NULL);
	return REDIS_OK;
}

static void
kredis_connect_cb(const redisAsyncContext *ac, int status)
{
	struct kredis	*r = ac->data;
	char		 why[160];

	/* Made, it is up once the PING has its answer (kredis_pong_cb). */
	if (status == REDIS_OK)
		return;
	/* hiredis frees the context after this callback. */
	r->r_ac = NULL;
	snprintf(why, sizeof(why), "cannot connect (%s)", ac->errstr);
	kredis_say_down(r, why);
	kredis_schedule(r);
}

/* NULL when the connection drops: the callback that drops it says so. */
static void
kredis_pong_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct kredis		*r = ac->data;
	const redisReply	*rp = reply;
	char			 why[160];

	if (rp == NULL)
		return;
	if (rp->type != REDIS_REPLY_STATUS || strcmp(rp->str, "PONG") != 0) {
		/* LOADING, NOAUTH: kredis_give_up tries again. */
		snprintf(why, sizeof(why), "PING answered \"%.100s\"",
		    rp->type == REDIS_REPLY_ERROR ||
		    rp->type == REDIS_REPLY_STATUS ? rp->str : "");
		kredis_say_down(r, why);
		return;
	}
	evtimer_del(r->r_reconnect);
	r->r_connected = 1;
	if (r->r_said != 1)
		log_info("redis %s port %d: connected; connector rates are "
		    "shared", r->r_address, r->r_port);
	r->r_said = 1;
	kredis_metrics(r);
}

static void
kredis_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct kredis	*r = ac->data;

	if (ac != r->r_ac)
		return;		/* kredis_give_up */
	r->r_ac = NULL;
	r->r_connected = 0;
	kredis_metrics(r);
	if (r->r_base == NULL)
		return;		/* kredis_free */
	if (r->r_refused != NULL)
		log_warnx("redis %s port %d: %s; reconnecting", r->r_address,
		    r->r_port, r->r_refused);
	r->r_refused = NULL;
	if (r->r_said != 0)
		log_warnx("redis %s port %d: connection lost; connector "
		    "rates are this instance's share until it is back",
		    r->r_address, r->r_port);
	r->r_said = 0;
	kredis_schedule(r);
}

static void
kredis_connect(struct kredis *r)
{
	struct timeval		 tv = { KREDIS_CONNECT_MS / 1000,
				    KREDIS_CONNECT_MS % 1000 * 1000 };
	redisAsyncContext	*ac;

	if (r->r_ac != NULL)
		return;
	if ((ac = redisAsyncConnect(r->r_address, r->r_port)) == NULL ||
	    ac->err) {
		if (ac != NULL)
			redisAsyncFree(ac);
		kredis_schedule(r);
		return;
	}
	ac->data = r;
	kredis_reader_bound(ac->c.reader, ac);
	if (kredis_ev_attach(ac, r->r_base) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, kredis_connect_cb) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, kredis_disconnect_cb) !=
	    REDIS_OK || redisAsyncCommand(ac, kredis_pong_cb, NULL,
	    "PING") != REDIS_OK) {
		redisAsyncFree(ac);
		kredis_schedule(r);
		return;
	}
	r->r_ac = ac;
	evtimer_add(r->r_reconnect, &tv);
}

struct kredis *
kredis_new(struct event_base *base, const char *address, int port,
    const char *prefix, struct metrics *m)
{
	struct kredis	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->r_base = base;
	r->r_port = port;
	r->r_metrics = m;
	r->r_said = -1;
	if ((r->r_address = strdup(address)) == NULL ||
	    (r->r_prefix = strdup(prefix)) == NULL ||
	    (r->r_reconnect = evtimer_new(base, kredis_reconnect_cb,
	    r)) == NULL) {
		kredis_free(r);
		return NULL;
	}
	kredis_connect(r);
	return r;
}

void
kredis_free(struct kredis *r)
{
	if (r == NULL)
		return;
	r->r_base = NULL;
	if (r->r_ac != NULL)
		redisAsyncFree(r->r_ac);	/* pending: KREDIS_UNAVAILABLE */
	if (r->r_reconnect != NULL)
		event_free(r->r_reconnect);
	free(r->r_address);
	free(r->r_prefix);
	free(r);
}

static void
kredis_req_answer(struct kredis_req *rq, enum kredis_result res,
    int64_t wait)
{
	kredis_fn	 fn = rq->rq_fn;

	/*
	 * Also from kredis_free (a reload that changed redis): the calls
	 * waiting stay, and go on with the local share.  A caller left
	 * unanswered kept its connector's slot and its pointer to rq.
	 */
	rq->rq_fn = NULL;
	evtimer_del(rq->rq_timer);
	if (fn != NULL)
		fn(rq->rq_arg, res, wait);
}

/* hiredis answers every command once: a reply, or NULL when dropped. */
static void
kredis_reply_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct kredis_req	*rq = arg;
	enum kredis_result	 res;
	int64_t			 wait;

	if (kredis_reply_parse(reply, &res, &wait) == -1) {
		if (reply != NULL && rq->rq_fn != NULL) {
			const redisReply *rp = reply;

			log_warnx("redis: unexpected reply%s%.100s",
			    rp->type == REDIS_REPLY_ERROR ? ": " : "",
			    rp->type == REDIS_REPLY_ERROR ? rp->str : "");
		}
		/* Freed by a reload (r_base NULL): no error of redis's. */
		if (rq->rq_fn != NULL && rq->rq_r->r_base != NULL)
			metrics_global_add(rq->rq_r->r_metrics,
			    MG_REDIS_ERRORS, 1);
		kredis_req_answer(rq, KREDIS_UNAVAILABLE, 0);
	} else
		kredis_req_answer(rq, res, wait);
	event_free(rq->rq_timer);
	free(rq);
}

/* No answer in time: the caller goes on locally; the link is suspect. */
static void
kredis_timeout_cb(int fd, short what, void *arg)
{
	struct kredis_req	*rq = arg;
	struct kredis		*r = rq->rq_r;

	metrics_global_add(r->r_metrics, MG_REDIS_ERRORS, 1);
	kredis_req_answer(rq, KREDIS_UNAVAILABLE, 0);
	if (r->r_ac != NULL) {
		log_warnx("redis %s port %d: no answer in %d ms; reconnecting",
		    r->r_address, r->r_port, KREDIS_TIMEOUT_MS);
		/* redisAsyncDisconnect would wait for the replies pending. */
		redisAsyncFree(r->r_ac);
	}
}

struct kredis_req *
kredis_reserve(struct kredis *r, const char *key, double rate, int burst,
    int64_t max_wait, kredis_fn fn, void *arg)
{
	struct kredis_req	*rq;
	struct timeval		 tv = { 0, KREDIS_TIMEOUT_MS * 1000 };
	char			 k[1024], iv[32], tol[32], mw[32];
	int64_t			 interval;

	/* r_base NULL: being freed (a caller answered asks again). */
	if (r == NULL || r->r_base == NULL || !r->r_connected ||
	    r->r_ac == NULL || rate <= 0)
		return NULL;
	interval = (int64_t)(1e6 / rate);
	if (interval < 1)
		interval = 1;
	/* A key cut short would be another's: the local limit instead. */
	if ((size_t)snprintf(k, sizeof(k), "%s:rate:%s", r->r_prefix, key) >=
	    sizeof(k))
		return NULL;
	snprintf(iv, sizeof(iv), "%lld", (long long)interval);
	snprintf(tol, sizeof(tol), "%lld", (long long)interval *
	    (burst > 1 ? burst - 1 : 0));
	snprintf(mw, sizeof(mw), "%lld", (long long)(max_wait > 0 ?
	    max_wait : 0));
	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->rq_r = r;
	rq->rq_fn = fn;
	rq->rq_arg = arg;
	if ((rq->rq_timer = evtimer_new(r->r_base, kredis_timeout_cb,
	    rq)) == NULL) {
		free(rq);
		return NULL;
	}
	if (redisAsyncCommand(r->r_ac, kredis_reply_cb, rq,
	    "EVAL %s 1 %s %s %s %s", kredis_script, k, iv, tol, mw) !=
	    REDIS_OK) {
		event_free(rq->rq_timer);
		free(rq);
		return NULL;
	}
	evtimer_add(rq->rq_timer, &tv);
	return rq;
}

/* The reply still comes and frees it; nobody hears of it. */
void
kredis_cancel(struct kredis_req *rq)
{
	if (rq == NULL)
		return;
	rq->rq_fn = NULL;
	evtimer_del(rq->rq_timer);
}
