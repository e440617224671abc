/*
 * execute.c — a connector call, in the worker (DESIGN §3 steps 3–8).
 *
 * From the parsed request to the keeper and back: the tenant by Host, the
 * session and CSRF, the connector, method, path parameters, query and
 * header overrides, the body; every template rendered with the
 * configuration generation the request started on; a plan sent to the
 * keeper (MSG_CALL); its answer transformed by the response template and
 * written with the timing headers.  The worker holds no secret: a secret
 * is a symbolic tree in the plan, completed by the keeper.
 *
 * A composite connector (platform-docs §20) runs its steps one after
 * another through the same functions: each step is one plan, sent as
 * PLAN_STEP and checked by the keeper against its own copy of that step;
 * each answer comes back through execute_upstream(), which hands it to
 * the next step or answers the browser.
 *
 * The response cache (cache.c) slots in at two points: the plan — the
 * whole resolved request, secrets named rather than valued — is looked up
 * just before it would be sent (execute_lookup: a fresh hit is answered
 * there, without IPC), and the keeper's answer is handed to it before the
 * response template runs (execute_result, execute_fail).  Identical calls
 * in flight wait for the first one's answer.
 */
#include "build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "api.h"
#include "cache.h"
#include "config.h"
#include "connector.h"
#include "fnv.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "plan.h"
#include "ratelimit.h"
#include "rowidx.h"
#include "session.h"
#include "snapshot.h"
#include "spare.h"
#include "strcopy.h"
#include "template/template.h"
#include "testmode.h"
#include "worker.h"

#define SCOPE_REQUEST		"Request"
#define SCOPE_TEMPLATE		"Configuration (template rendering)"
#define SCOPE_RESPONSE		"Configuration (response template rendering)"
#define SCOPE_NETWORK		"Downstream (network/external service)"
#define SCOPE_HTTP		"Downstream (HTTP error)"
#define SCOPE_UNEXPECTED	"Unexpected error"

/* What a header name is made of (RFC 9110 5.6.2, tchar). */
#define EXECUTE_TCHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789!#$%&'*+-.^_`|~"

#define PATH_PARAM_MAX		200	/* characters of a path value (§8) */
#define QUERY_MAX_PAIRS		256	/* caller's query parameters */
#define EXECUTE_JSON_DEPTH	500	/* a payload's nesting, as from_json */

/* One connector call in progress on a connection. */
struct exec {
	struct wgen		*x_gen;
	const struct snap_tenant *x_tenant;
	const char		*x_tenant_id;
	const struct connector	*x_conn;	/* a simple connector, or */
	const struct composite	*x_comp;	/* a composite one */
	const char		*x_permalink;	/* of either: log, counters */
	const struct conn_caller *x_caller;	/* its widgetd.caller rule */
	const struct conn_request *x_cr;	/* the request being made */
	struct tval		*x_user;
	uint32_t		 x_call;	/* MSG_CALL id; 0 once answered */
	struct timespec		 x_sent;	/* when the plan left */
	int			 x_upstream;	/* upstream status, 0: none */
	int			 x_upstream_error;	/* for the counters */
	const char		*x_error;	/* envelope code, for the log */
	char			 x_uid[128];	/* the session's sub, or "" */
	char			 x_host[256];	/* upstream host, for timings */
	/* A composite connector's run (platform-docs §20). */
	size_t			 x_step;	/* the step being run */
	int			 x_stepping;	/* errors now are that step's */
	struct tval		*x_steps;	/* steps.<name> as they end */
	struct tval		*x_request;	/* request.* */
	struct api_step		*x_timing;	/* one per step */
	char			 x_scope[512];	/* a step's error scope */
	struct cache_ticket	*x_ticket;	/* what the cache makes of it */
	int			 x_hit;		/* answered by a lookup */
	int			 x_waiting;	/* for an identical call */
	int			 x_upstream_failed; /* a stale entry hid it */
	struct ipc_buf		 x_plan;	/* waiting: the plan, sent if
						   the answer is not shared */
};

/* Calls' structures, for the next ones (spare.h): over 1 KiB each. */
static struct spare	 execute_spare;

/* --- Counters (widgetctl status) ------------------------------------------ */

struct exec_stat {
	char		*es_tenant;
	char		*es_permalink;
	int		 es_composite;	/* a composite connector's row */
	uint64_t	 es_calls;
	uint64_t	 es_errors;
	uint64_t	 es_upstream_errors;
	uint64_t	 es_cache[IPC_CACHE_NCOUNTS]; /* ipc_cache_count */
	struct ipc_stat_code es_codes[IPC_STATS_MAX_CODES];
	uint32_t	 es_ncodes;
};

struct exec_stats {
	struct exec_stat *st_rows;
	size_t		 st_nrows;
	size_t		 st_cap;
	struct rowidx	 st_idx;	/* the rows by their names */
};

struct exec_stats *
execute_stats_new(void)
{
	return calloc(1, sizeof(struct exec_stats));
}

void
execute_stats_free(struct exec_stats *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->st_nrows; i++) {
		free(st->st_rows[i].es_tenant);
		free(st->st_rows[i].es_permalink);
	}
	free(st->st_rows);
	rowidx_clear(&st->st_idx);
	free(st);
}

/*
 * What each outcome of the cache adds to: widgetctl status's counters
 * (each its own) and the metrics (issue 14), where a stale answer and an
 * identical call's answer are hits too, as no call of the request's own
 * reached the upstream, and a stale one is also counted as stale.
 */
static const struct {
	int	cc_status;	/* IPC_CACHE_*, or -1 */
	int	cc_metric;	/* MF_CACHE_*, or -1 */
	int	cc_stale;	/* also MF_CACHE_STALE */
} cache_counts[] = {
	[CACHE_O_BYPASS] =	{ -1, -1, 0 },
	[CACHE_O_HIT] =		{ IPC_CACHE_HITS, MF_CACHE_HITS, 0 },
	[CACHE_O_MISS] =	{ IPC_CACHE_MISSES, MF_CACHE_MISSES, 0 },
	[CACHE_O_REVALIDATED] =	{ IPC_CACHE_REVALIDATED,
				  MF_CACHE_REVALIDATIONS, 0 },
	[CACHE_O_STALE] =	{ IPC_CACHE_STALE, MF_CACHE_HITS, 1 },
	[CACHE_O_COLLAPSED] =	{ IPC_CACHE_COLLAPSED, MF_CACHE_HITS, 0 },
};

static void
execute_count(struct conn *c, int status, int upstream_error)
{
	struct exec_stats	*st = c->c_w->w_stats;
	struct exec		*x = c->c_exec;
	struct exec_stat	*es = NULL, *nr;
	size_t			 i, pos = ROWIDX_BEGIN, cap;
	uint64_t		 h;
	int			 k;

	if (x == NULL || x->x_permalink == NULL || st == NULL)
		return;
	/* A connector's and a composite's rows of one name hash apart. */
	h = fnv1a_pair(x->x_tenant_id, x->x_permalink) + (x->x_comp != NULL);
	while ((i = rowidx_next(&st->st_idx, h, &pos)) != 0) {
		nr = &st->st_rows[i - 1];
		if (strcmp(nr->es_permalink, x->x_permalink) == 0 &&
		    nr->es_composite == (x->x_comp != NULL) &&
		    strcmp(nr->es_tenant, x->x_tenant_id) == 0) {
			es = nr;
			break;
		}
	}
	if (es == NULL) {
		if (st->st_nrows >= IPC_STATS_MAX_ROWS)
			return;
		if (st->st_nrows == st->st_cap) {
			cap = st->st_cap ? st->st_cap * 2 : 16;
			if ((nr = reallocarray(st->st_rows, cap,
			    sizeof(*nr))) == NULL)
				return;
			st->st_rows = nr;
			st->st_cap = cap;
		}
		es = &st->st_rows[st->st_nrows];
		memset(es, 0, sizeof(*es));
		es->es_tenant = strdup(x->x_tenant_id);
		es->es_permalink = strdup(x->x_permalink);
		es->es_composite = x->x_comp != NULL;
		if (es->es_tenant == NULL || es->es_permalink == NULL ||
		    rowidx_add(&st->st_idx, h, st->st_nrows) == -1) {
			free(es->es_tenant);
			free(es->es_permalink);
			return;
		}
		st->st_nrows++;
	}
	es->es_calls++;
	if (x->x_ticket != NULL && (k = cache_counts[cache_ticket_outcome(
	    x->x_ticket)].cc_status) >= 0)
		es->es_cache[k]++;
	if (x->x_error != NULL)
		es->es_errors++;
	if (upstream_error)
		es->es_upstream_errors++;
	for (i = 0; i < es->es_ncodes; i++)
		if (es->es_codes[i].sc_status == (uint32_t)status)
			break;
	if (i == es->es_ncodes) {
		if (es->es_ncodes == IPC_STATS_MAX_CODES)
			return;
		es->es_codes[es->es_ncodes++].sc_status = (uint32_t)status;
	}
	es->es_codes[i].sc_count++;
}

int
execute_stats_encode(const struct exec_stats *st, const struct cache *cache,
    struct ipc_buf *b)
{
	struct ipc_stats	 is;
	struct cache_totals	 ct;
	size_t			 i;
	int			 r;

	/* Empty even on failure: the caller clears it either way. */
	ipc_buf_init(b);
	memset(&is, 0, sizeof(is));
	if (st->st_nrows > 0 && (is.is_rows = calloc(st->st_nrows,
	    sizeof(*is.is_rows))) == NULL)
		return -1;
	for (i = 0; i < st->st_nrows; i++) {
		is.is_rows[i].sr_tenant = st->st_rows[i].es_tenant;
		is.is_rows[i].sr_permalink = st->st_rows[i].es_permalink;
		is.is_rows[i].sr_composite =
		    (uint32_t)st->st_rows[i].es_composite;
		is.is_rows[i].sr_calls = st->st_rows[i].es_calls;
		is.is_rows[i].sr_errors = st->st_rows[i].es_errors;
		is.is_rows[i].sr_upstream_errors =
		    st->st_rows[i].es_upstream_errors;
		memcpy(is.is_rows[i].sr_cache, st->st_rows[i].es_cache,
		    sizeof(is.is_rows[i].sr_cache));
		is.is_rows[i].sr_codes = (struct ipc_stat_code *)
		    st->st_rows[i].es_codes;
		is.is_rows[i].sr_ncodes = st->st_rows[i].es_ncodes;
	}
	is.is_nrows = (uint32_t)st->st_nrows;
	if (cache != NULL) {
		cache_totals(cache, &ct);
		is.is_cache[IPC_CACHE_ENTRIES] = ct.ct_entries;
		is.is_cache[IPC_CACHE_BYTES] = ct.ct_bytes;
		is.is_cache[IPC_CACHE_MEMORY] = ct.ct_memory;
		is.is_cache[IPC_CACHE_EVICTED] = ct.ct_evicted;
		is.is_cache[IPC_CACHE_DROPPED] = ct.ct_dropped;
	}
	r = ipc_encode_stats(b, &is);
	free(is.is_rows);
	return r;
}

/* --- Answering ------------------------------------------------------------ */

static void	execute_upstream(struct conn *, struct result *);
static void	execute_step(struct conn *);
static void	execute_step_result(struct conn *, const struct result *);

/* A composite's step is over, one way or another: how long it took. */
static void
execute_step_end(struct exec *x)
{
	struct api_step	*st;
	struct timespec	 now;

	if (x->x_comp == NULL || !x->x_stepping)
		return;
	st = &x->x_timing[x->x_step];
	clock_gettime(CLOCK_MONOTONIC, &now);
	st->as_ms = api_ms_between(&st->as_start, &now);
}

/*
 * What the cache made of a call, for the metrics (cache_counts), and the
 * worker's cache's size.  Once per ticket, before it goes.
 */
static void
execute_cache_count(struct conn *c)
{
	struct exec		*x = c->c_exec;
	struct metrics		*m = c->c_w->w_metrics;
	struct cache_totals	 t;
	enum cache_outcome	 o;

	if (x->x_ticket == NULL || m == NULL)
		return;
	o = cache_ticket_outcome(x->x_ticket);
	if (cache_counts[o].cc_metric < 0)
		return;
	if (cache_counts[o].cc_stale)
		metrics_add(m, x->x_tenant_id, x->x_permalink, MF_CACHE_STALE,
		    1);
	metrics_add(m, x->x_tenant_id, x->x_permalink,
	    (enum metrics_field)cache_counts[o].cc_metric, 1);
	cache_totals(c->c_w->w_cache, &t);
	metrics_global_set(m, MG_CACHE_ENTRIES, t.ct_entries);
	metrics_global_set(m, MG_CACHE_BYTES, t.ct_bytes);
	metrics_global_set(m, MG_CACHE_EVICTIONS, t.ct_evicted);
}

static void	execute_release(struct conn *, const struct result *,
		    const struct fail *);

void
execute_free(struct conn *c)
{
	struct exec	*x = c->c_exec;
	struct conn	*nc = NULL;

	if (x == NULL)
		return;
	/* Others wait for this call: the first of them takes it over. */
	if (x->x_call != 0 && x->x_ticket != NULL &&
	    (nc = cache_ticket_handover(x->x_ticket)) != NULL) {
		worker_call_adopt(c->c_w, x->x_call, nc);
		nc->c_exec->x_call = x->x_call;
		nc->c_exec->x_waiting = 0;
		ipc_buf_clear(&nc->c_exec->x_plan);
	} else {
		if (x->x_call != 0)
			worker_call_forget(c->c_w, x->x_call);
		/* No answer comes for them: the waiters make their own. */
		if (x->x_ticket != NULL) {
			cache_ticket_abandon(x->x_ticket);
			execute_release(c, NULL, NULL);
		}
	}
	execute_cache_count(c);
	cache_ticket_free(x->x_ticket);
	ipc_buf_clear(&x->x_plan);
	c->c_ctx.a_cache_status = NULL;
	tval_unref(x->x_user);
	tval_unref(x->x_steps);
	tval_unref(x->x_request);
	/* The timing headers are written; nothing points here any more. */
	c->c_ctx.a_steps = NULL;
	c->c_ctx.a_nsteps = 0;
	free(x->x_timing);
	worker_gen_unref(x->x_gen);
	free(spare_put(&execute_spare, x, sizeof(*x)));
	c->c_exec = NULL;
}

/* The response is queued: log, count, forget the call. */
static void
execute_done(struct conn *c, int upstream_error)
{
	static const char *const words[] = { "bypass", "hit", "miss",
	    "revalidated", "stale", "collapsed" };
	struct exec	*x = c->c_exec;

	worker_access(c, x->x_tenant_id, x->x_permalink, x->x_upstream,
	    x->x_ticket != NULL ? words[cache_ticket_outcome(x->x_ticket)] :
	    c->c_ctx.a_cache == API_CACHE_HIT ? "hit" :
	    c->c_ctx.a_cache == API_CACHE_MISS ? "miss" : "-", x->x_error);
	execute_count(c, c->c_status, upstream_error || x->x_upstream_error ||
	    x->x_upstream_failed);
	execute_free(c);
	worker_conn_answered(c);
}

/*
 * The scope of an error while a composite's step runs: the step's name
 * and index first (platform-docs §17).  Errors of the request itself
 * (those with a code of their own) are nobody's step.
 */
static const char *
execute_scope(struct exec *x, const char *code, const char *scope)
{
	if (x->x_comp == NULL || !x->x_stepping || code != NULL ||
	    strcmp(scope, SCOPE_REQUEST) == 0)
		return scope;
	snprintf(x->x_scope, sizeof(x->x_scope), "Composite step '%s' "
	    "(index %zu): %s", x->x_comp->cc_steps[x->x_step].cs_name,
	    x->x_step, scope);
	return x->x_scope;
}

/* What the timing headers and Cache-Status say about the cache. */
static void
execute_cache_ctx(struct conn *c)
{
	struct exec	*x = c->c_exec;

	/* A composite's steps say it in their own timing entries. */
	if (x->x_ticket == NULL || x->x_comp != NULL)
		return;
	c->c_ctx.a_cache = x->x_hit ? API_CACHE_HIT : API_CACHE_MISS;
	c->c_ctx.a_cache_status = cache_ticket_status(x->x_ticket);
}

/* widgetd's own answer, with the envelope. */
static void
execute_error(struct conn *c, int status, const char *code,
    const char *scope, const char *detail, const char *const *params)
{
	struct exec	*x = c->c_exec;

	scope = execute_scope(x, code, scope);
	execute_step_end(x);
	execute_cache_ctx(c);
	c->c_status = status;
	x->x_error = code != NULL ? code : scope;
	if (api_reply_envelope(c->c_out, &c->c_ctx,
	    status, code, detail, scope, params) == -1)
		c->c_ctx.a_keepalive = 0;
	execute_done(c, 0);
}

void
execute_abort(struct conn *c, int status, const char *detail)
{
	if (c->c_exec == NULL)
		return;
	c->c_ctx.a_error = "keeper unavailable";
	execute_error(c, status, "UNAVAILABLE", SCOPE_REQUEST, detail, NULL);
}

static void
execute_mark(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

/* --- Request pieces --------------------------------------------------------- */

static int
execute_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decode application/x-www-form-urlencoded text in place ('+' is a space,
 * %XX a byte; a malformed escape stays as it is, as Python's unquote
 * leaves it).  Returns the new length.
 */
static size_t
execute_unform(char *s, size_t len)
{
	size_t	 i, o = 0;
	int	 h, l;

	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			s[o++] = ' ';
		else if (s[i] == '%' && i + 2 < len &&
		    (h = execute_hexval(s[i + 1])) != -1 &&
		    (l = execute_hexval(s[i + 2])) != -1) {
			s[o++] = (char)(h << 4 | l);
			i += 2;
		} else
			s[o++] = s[i];
	}
	s[o] = '\0';
	return o;
}

/* A parsed form: key/value pairs, decoded, in order. */
struct form {
	char		*f_buf;
	char		*f_keys[QUERY_MAX_PAIRS];
	char		*f_vals[QUERY_MAX_PAIRS];
	size_t		 f_vlens[QUERY_MAX_PAIRS];
	size_t		 f_n;
};

/*
 * -1 when out of memory or over QUERY_MAX_PAIRS pairs; -2 when a key
 * decodes to a NUL byte (as a C string it would name another key).
 */
static int
execute_form(struct form *f, const char *text)
{
	char	*p, *amp, *eq;
	size_t	 klen;

	/* The arrays (6 KiB) are read below f_n only: not cleared. */
	f->f_buf = NULL;
	f->f_n = 0;
	if (text == NULL || *text == '\0')
		return 0;
	if ((f->f_buf = strdup(text)) == NULL)
		return -1;
	for (p = f->f_buf; p != NULL; p = amp) {
		if ((amp = strchr(p, '&')) != NULL)
			*amp++ = '\0';
		if (*p == '\0')
			continue;
		if (f->f_n == QUERY_MAX_PAIRS)
			return -1;
		if ((eq = strchr(p, '=')) != NULL)
			*eq++ = '\0';
		else
			eq = p + strlen(p);	/* "k" is k with "" */
		klen = execute_unform(p, strlen(p));
		if (memchr(p, '\0', klen) != NULL)
			return -2;
		p[klen] = '\0';
		f->f_keys[f->f_n] = p;
		f->f_vlens[f->f_n] = execute_unform(eq, strlen(eq));
		f->f_vals[f->f_n] = eq;
		f->f_n++;
	}
	return 0;
}

static void
execute_form_free(struct form *f)
{
	free(f->f_buf);
	f->f_buf = NULL;
	f->f_n = 0;
}

static const char *
execute_form_get(const struct form *f, const char *key, size_t *len)
{
	size_t	 i;

	for (i = 0; i < f->f_n; i++)
		if (strcmp(f->f_keys[i], key) == 0) {
			*len = f->f_vlens[i];
			return f->f_vals[i];
		}
	return NULL;
}

/* RFC 3986 unreserved, 1–200 characters, no "." or ".." segment (§8). */
static int
execute_path_value_ok(const char *v, size_t len)
{
	size_t	 i;

	if (len < 1 || len > PATH_PARAM_MAX || strstr(v, "..") != NULL ||
	    strlen(v) != len || (len == 1 && v[0] == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && strchr("-._~", v[i]) ==
		    NULL)
			return 0;
	return 1;
}

#define UTF8_HIGH	0x8080808080808080ULL

/*
 * How many of s's first len bytes are ASCII before the first that is not.
 * Most upstream bodies are all ASCII: they are tested 64 bytes at a time
 * (SSE2: one mask for four 16-byte loads ORed) or 32 (four words ORed),
 * then the block that failed and the tail in smaller steps.
 */
static size_t
execute_ascii_span(const unsigned char *s, size_t len)
{
	size_t		 i = 0;
	uint64_t	 w[4];
#ifdef __SSE2__
	__m128i		 v0, v1, v2, v3;
	unsigned int	 m;

	while (len - i >= 64) {
		v0 = _mm_loadu_si128((const __m128i *)(s + i));
		v1 = _mm_loadu_si128((const __m128i *)(s + i + 16));
		v2 = _mm_loadu_si128((const __m128i *)(s + i + 32));
		v3 = _mm_loadu_si128((const __m128i *)(s + i + 48));
		v0 = _mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3));
		if (_mm_movemask_epi8(v0) != 0)
			break;
		i += 64;
	}
	/* Within the block that failed, the first high byte's own mask. */
	while (len - i >= 16) {
		v0 = _mm_loadu_si128((const __m128i *)(s + i));
		if ((m = _mm_movemask_epi8(v0)) != 0)
			return i + __builtin_ctz(m);
		i += 16;
	}
#else
	while (len - i >= sizeof(w)) {
		memcpy(w, s + i, sizeof(w));
		if ((w[0] | w[1] | w[2] | w[3]) & UTF8_HIGH)
			break;
		i += sizeof(w);
	}
#endif
	while (len - i >= sizeof(w[0])) {
		memcpy(&w[0], s + i, sizeof(w[0]));
		if (w[0] & UTF8_HIGH)
			break;
		i += sizeof(w[0]);
	}
	while (i < len && s[i] < 0x80)
		i++;
	return i;
}

int
execute_utf8_valid(const unsigned char *s, size_t len)
{
	size_t	 i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		/* Straight on from one multi-byte sequence to the next. */
		if (s[i] < 0x80) {
			i += execute_ascii_span(s + i, len - i);
			if (i == len)
				break;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (i + n >= len)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* No overlong forms, surrogates or values past U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * What json-c's strict mode lets through and RFC 8259 does not: single
 * quotes, Infinity, raw control bytes inside strings, bytes that are not
 * UTF-8.  The structure is json-c's to judge; this judges the characters.
 */
static int
execute_json_chars(const unsigned char *s, size_t len)
{
	size_t	 i;
	int	 in = 0;

	if (!execute_utf8_valid(s, len))
		return 0;
	for (i = 0; i < len; i++) {
		if (in) {
			if (s[i] < 0x20)
				return 0;
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in = 0;
		} else if (s[i] == '"')
			in = 1;
		else if (s[i] == '\0' ||
		    strchr("{}[],:0123456789+-.eE truefalsnull\t\r\n", s[i]) ==
		    NULL)
			return 0;
	}
	return 1;
}

/* A str when the bytes are UTF-8 text, else None (platform-docs §10). */
static struct tval *
execute_text_value(const void *p, size_t len, int none_if_empty)
{
	if ((len == 0 && none_if_empty) || !execute_utf8_valid(p, len))
		return tval_none();
	return tval_str(p, len);
}

/*
 * response.body for one render, over the bytes where they are (the frame
 * the answer came in, or the cache entry): they outlive the globals, which
 * execute_respond drops first, so they need no copy.
 */
static struct tval *
execute_body_value(const struct result *rs)
{
	if (!execute_utf8_valid(rs->rs_body, rs->rs_bodylen))
		return tval_none();
	return tval_str_borrow((const char *)rs->rs_body, rs->rs_bodylen);
}

static struct tval *
execute_get_variable(const char *name, void *arg)
{
	const struct snap_var	*v;

	if ((v = snapshot_variable(arg, name)) == NULL)
		return NULL;
	return tval_str(v->sv_value, v->sv_len);
}

static void
execute_env(struct exec *x, struct tmpl_env *env, struct tval *globals)
{
	const struct conf_limits *l = &x->x_gen->wg_snap->sn_cfg->c_limits;

	memset(env, 0, sizeof(*env));
	env->te_globals = globals;
	env->te_get_variable = execute_get_variable;
	env->te_variable_arg = (void *)x->x_tenant;
	env->te_limits.tl_steps = l->tmpl_steps;
	env->te_limits.tl_output = l->tmpl_output;
	env->te_limits.tl_depth = l->tmpl_depth;
}

/*
 * Render one field; its segments are appended to f (secrets symbolic).
 * 0, or -1 with a 422 already answered, naming what (and the row's key
 * when key is not NULL: the message is made only when there is one).
 */
static int
execute_render_field(struct conn *c, const struct conn_tmpl *t,
    const struct tmpl_env *env, const char *what, const char *key,
    struct plan_field *f)
{
	struct tmpl_output	*o;
	struct tmpl_error	 err;
	char			 detail[512];
	size_t			 i;

	if (t->ct_tmpl == NULL)
		return 0;
	memset(&err, 0, sizeof(err));
	if ((o = tmpl_render(t->ct_tmpl, env, &err)) == NULL) {
		if (key != NULL)
			snprintf(detail, sizeof(detail), "%s '%s': %d:%d: %s",
			    what, key, err.te_line, err.te_col, err.te_msg);
		else
			snprintf(detail, sizeof(detail), "%s: %d:%d: %s", what,
			    err.te_line, err.te_col, err.te_msg);
		execute_error(c, 422, NULL, SCOPE_TEMPLATE, detail, NULL);
		return -1;
	}
	for (i = 0; i < o->to_nsegs; i++) {
		struct tmpl_segment	*sg = &o->to_segs[i];
		struct tsecret		*ts = sg->sg_secret;

		/* The plan takes the secret tree over from the output. */
		sg->sg_secret = NULL;
		if (plan_field_add(f, sg->sg_data, sg->sg_len, ts) == -1) {
			tmpl_output_free(o);
			execute_error(c, 500, NULL, "Unexpected error",
			    "out of memory", NULL);
			return -1;
		}
	}
	tmpl_output_free(o);
	return 0;
}

/*
 * A rendered text field (no secret may be in it: the loader saw to it),
 * read where the output holds it: *op is the caller's to free (NULL for a
 * blank template).  0, or -1 with the error answered.
 */
static int
execute_render_out(struct conn *c, const struct conn_tmpl *t,
    const struct tmpl_env *env, const char *what, struct tmpl_output **op,
    const char **textp, size_t *lenp)
{
	struct tmpl_output	*o;
	struct tmpl_error	 err;
	const char		*text;
	char			 detail[512];
	size_t			 len = 0;

	*op = NULL;
	if (t->ct_tmpl == NULL) {
		*textp = "";
		*lenp = 0;
		return 0;
	}
	memset(&err, 0, sizeof(err));
	if ((o = tmpl_render(t->ct_tmpl, env, &err)) == NULL) {
		snprintf(detail, sizeof(detail), "%s: %d:%d: %s", what,
		    err.te_line, err.te_col, err.te_msg);
		execute_error(c, 422, NULL, SCOPE_TEMPLATE, detail, NULL);
		return -1;
	}
	if ((text = tmpl_output_text(o, &len)) == NULL) {
		tmpl_output_free(o);
		execute_error(c, 422, NULL, SCOPE_TEMPLATE, "a secret cannot "
		    "be used here", NULL);
		return -1;
	}
	*op = o;
	*textp = text;
	*lenp = len;
	return 0;
}

/* The same, as a NUL-terminated copy of the caller's own. */
static char *
execute_render_text(struct conn *c, const struct conn_tmpl *t,
    const struct tmpl_env *env, const char *what, size_t *lenp)
{
	struct tmpl_output	*o;
	const char		*text;
	char			*r;
	size_t			 len;

	if (execute_render_out(c, t, env, what, &o, &text, &len) == -1)
		return NULL;
	if ((r = malloc(len + 1)) == NULL) {
		tmpl_output_free(o);
		execute_error(c, 422, NULL, SCOPE_TEMPLATE, "out of memory",
		    NULL);
		return NULL;
	}
	memcpy(r, text, len);
	r[len] = '\0';
	*lenp = len;
	tmpl_output_free(o);
	return r;
}

/*
 * The api_key's name: a literal one is the connector's own text, as the
 * keeper takes it (kplan_auth_ok); else rendered into *bufp, the caller's
 * to free.  NULL with the error answered.
 */
static const char *
execute_auth_key(struct conn *c, const struct conn_auth *a,
    const struct tmpl_env *env, char **bufp, size_t *lenp)
{
	*bufp = NULL;
	if (a->ca_key.ct_tmpl != NULL && tmpl_is_literal(a->ca_key.ct_tmpl)) {
		*lenp = a->ca_key.ct_len;
		return a->ca_key.ct_src;
	}
	return *bufp = execute_render_text(c, &a->ca_key, env,
	    "authentication key", lenp);
}

/* No control byte but HTAB: what the keeper accepts in a request. */
static int
execute_clean(const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] < 0x20 && p[i] != '\t') ||
		    p[i] == 0x7f)
			return 0;
	return 1;
}

/* No control byte in what becomes part of an HTTP request. */
static int
execute_field_clean(const struct plan_field *f)
{
	size_t	 i;

	for (i = 0; i < f->pf_nsegs; i++)
		if (f->pf_segs[i].ps_secret == NULL &&
		    !execute_clean(f->pf_segs[i].ps_data, f->pf_segs[i].ps_len))
			return 0;
	return 1;
}

/* The same for a NUL-terminated name. */
static int
execute_text_clean(const char *s)
{
	return execute_clean(s, strlen(s));
}

/*
 * A field named name: a name that outlives the plan (a connector's key, a
 * constant) is pointed at, one that does not (copy: the caller's query
 * key, a rendered api_key name) is copied.
 */
static struct plan_field *
execute_field_new(struct plan_field **fs, size_t *n, uint32_t src,
    uint32_t row, const char *name, int copy)
{
	struct plan_field	*nf, *f;

	if (*n >= PLAN_MAX_FIELDS ||
	    (nf = reallocarray(*fs, *n + 1, sizeof(*nf))) == NULL)
		return NULL;
	*fs = nf;
	f = &nf[*n];
	memset(f, 0, sizeof(*f));
	if (!copy) {
		/* Never written through: plan_field_clear leaves it. */
		f->pf_name = (char *)name;
		f->pf_name_kept = 1;
	} else if ((f->pf_name = strdup(name)) == NULL)
		return NULL;
	f->pf_src = src;
	f->pf_row = row;
	(*n)++;
	return f;
}

/*
 * The caller's value of a header, when the request carries it once;
 * NULL when absent (a repeated header is not an override).
 */
static const char *
execute_request_header(const struct http_request *r, const char *name)
{
	return http_request_header_once(r, name);
}

/*
 * The browser's credentials (its session token among them) and what a
 * proxy in front says about it never cross (SPEC §7), not even as the
 * override of a row its author made overridable: that row keeps its
 * configured value.
 */
static int
execute_header_private(const char *name)
{
	static const char *const names[] = { "Authorization", "Cookie",
	    "X-CSRFToken", "X-CSRF-Token", "Forwarded", "X-Real-IP" };
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	return strncasecmp(name, "X-Forwarded-", 12) == 0;
}

/*
 * Percent-encode what a URL cannot carry as it is (white space, controls,
 * quotes, non-ASCII), past the origin: a path rendered from user data
 * stays one URL.  The origin itself is the keeper's to judge.
 */
static char *
execute_url_escape(const char *url, size_t len, size_t olen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*r;
	size_t			 i, o;
	unsigned char		 ch;

	if ((r = malloc(olen + 3 * (len - olen) + 1)) == NULL)
		return NULL;
	memcpy(r, url, olen);
	for (i = o = olen; i < len; i++) {
		ch = (unsigned char)url[i];
		if (ch <= 0x20 || ch >= 0x7f || strchr("\"<>\\^`{|}", ch) !=
		    NULL) {
			r[o++] = '%';
			r[o++] = hex[ch >> 4];
			r[o++] = hex[ch & 15];
		} else
			r[o++] = (char)ch;
	}
	r[o] = '\0';
	return r;
}

/* --- The call --------------------------------------------------------------- */

/* A claim's value as text, for a caller rule: strings and numbers only. */
static int
execute_claim_matches(struct json_object *o, const char *want)
{
	size_t	 i;

	switch (json_object_get_type(o)) {
	case json_type_string:
		return strcmp(json_object_get_string(o), want) == 0;
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		return strcmp(json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN), want) == 0;
	case json_type_array:
		for (i = 0; i < json_object_array_length(o); i++)
			if (execute_claim_matches(json_object_array_get_idx(o,
			    i), want))
				return 1;
		return 0;
	default:
		return 0;
	}
}

/*
 * The connector's caller rule (widgetd.caller): a signed-in user, claims
 * holding one of the listed values.  Refused with 403 before anything is
 * rendered or sent.
 */
static int
execute_caller(struct conn *c, struct exec *x, const struct session *s)
{
	const struct conn_caller	*cc = x->x_caller;
	const struct conn_caller_rule	*r;
	struct json_object		*o, *pf;
	size_t				 i, k;
	int				 ok;

	if (!cc->cc_signed_in && cc->cc_nrules == 0)
		return 0;
	if (s == NULL) {
		execute_error(c, 403, "CALLER_NOT_ALLOWED", SCOPE_REQUEST,
		    "this connector is for signed-in users only", NULL);
		return -1;
	}
	for (i = 0; i < cc->cc_nrules; i++) {
		r = &cc->cc_rules[i];
		if (strncmp(r->cr_claim, "profile_fields.", 15) == 0) {
			o = NULL;
			if ((pf = session_claim(s, "profile_fields")) != NULL &&
			    json_object_is_type(pf, json_type_object))
				json_object_object_get_ex(pf, r->cr_claim + 15,
				    &o);
		} else
			o = session_claim(s, r->cr_claim);
		for (k = 0, ok = 0; o != NULL && !ok && k < r->cr_nvalues;
		    k++)
			ok = execute_claim_matches(o, r->cr_values[k]);
		if (!ok) {
			log_debug("%s: caller rule on claim %s not met",
			    c->c_ctx.a_reqid, r->cr_claim);
			execute_error(c, 403, "CALLER_NOT_ALLOWED",
			    SCOPE_REQUEST, "the signed-in user may not call "
			    "this connector", NULL);
			return -1;
		}
	}
	return 0;
}

/* How the tenant's sessions are checked, from the worker's generation. */
static void
execute_session_conf(const struct wgen *g, const struct snap_tenant *st,
    struct session_conf *sc)
{
	const struct conf_tenant *t;

	t = &g->wg_snap->sn_cfg->c_tenants[st->st_index];
	memset(sc, 0, sizeof(*sc));
	sc->sc_key = g->wg_keys[st->st_index];
	sc->sc_cookie = t->t_session.s_cookie;
	sc->sc_issuer = t->t_session.s_issuer;
	sc->sc_audience = t->t_session.s_audience;
}

/*
 * The global user, a new reference: the session's, or for an anonymous call
 * its fields all None, made once the first template that names it renders.
 * NULL when out of memory.
 */
static struct tval *
execute_user(struct exec *x)
{
	if (x->x_user == NULL)
		x->x_user = session_user(NULL);
	return tval_ref(x->x_user);
}

/*
 * The session: 400, 401, 403 answered here; 0 to go on.  uses: what the
 * headers and query of every request the call makes use (TMPL_USES_*).
 */
static int
execute_session(struct conn *c, struct exec *x, unsigned int uses)
{
	struct session_conf	 sc;
	struct session		*s = NULL;
	struct json_object	*sub;
	enum session_status	 st;
	const char		*why = NULL, *code = NULL;
	int			 status;

	/*
	 * Checked on the header block before the body was read: that
	 * verdict stands (the same headers; and a refused call has no body
	 * to run with, however the clock moved since).
	 */
	if (c->c_gated) {
		st = (enum session_status)c->c_gate_st;
		why = c->c_gate_why;
		s = c->c_gate_sess;
		c->c_gate_sess = NULL;
		c->c_gated = 0;
	} else {
		execute_session_conf(x->x_gen, x->x_tenant, &sc);
		st = session_authenticate(&sc, c->c_req, time(NULL), &s, &why);
	}
	if (st != SESSION_ANONYMOUS && st != SESSION_VALID) {
		status = session_http_status(st, &code);
		log_debug("%s: session refused: %s", c->c_ctx.a_reqid,
		    why != NULL ? why : "?");
		execute_error(c, status, code, SCOPE_REQUEST, why, NULL);
		return -1;
	}
	/* An anonymous call's user is made when a template names it. */
	if (s != NULL)
		x->x_user = session_user(s);
	/* Who the client limit counts: the user, not the address. */
	if (st == SESSION_VALID && (sub = session_claim(s, "sub")) != NULL &&
	    json_object_is_type(sub, json_type_string))
		snprintf(x->x_uid, sizeof(x->x_uid), "%s",
		    json_object_get_string(sub));
	if (execute_caller(c, x, s) == -1) {
		session_free(s);
		return -1;
	}
	session_free(s);
	/* Anonymous and the headers or query need user.*: refused (§11). */
	if (st == SESSION_ANONYMOUS && (uses & TMPL_USES_USER)) {
		execute_error(c, 401, "AUTHENTICATION_REQUIRED", SCOPE_REQUEST,
		    "this connector needs a signed-in user", NULL);
		return -1;
	}
	return 0;
}

/*
 * X-Path-Params (platform-docs §8): missing wins over invalid; values are
 * percent-encoded (they are unreserved, so that is the identity) into the
 * pathParams global.  0 to go on.
 */
static int
execute_path_params(struct conn *c, struct exec *x, struct tval *pp)
{
	const struct connector	*cn = x->x_conn;
	const char		*hdr, *v, *bad[QUERY_MAX_PAIRS + 1];
	struct form		 f;
	size_t			 i, nbad = 0, len;
	int			 r, rv = -1;

	hdr = execute_request_header(c->c_req, "X-Path-Params");
	if ((r = execute_form(&f, hdr)) < 0) {
		execute_error(c, 400, "INVALID_PATH_PARAMETERS", SCOPE_REQUEST,
		    r == -2 ? "an X-Path-Params key contains a NUL byte" :
		    "X-Path-Params has too many values", NULL);
		execute_form_free(&f);
		return -1;
	}
	for (i = 0; i < cn->c_npath; i++)
		if (execute_form_get(&f, cn->c_path[i].cp_key, &len) == NULL &&
		    cn->c_path[i].cp_value.ct_len == 0)
			bad[nbad++] = cn->c_path[i].cp_key;
	if (nbad > 0) {
		bad[nbad] = NULL;
		execute_error(c, 400, "MISSING_PATH_PARAMETERS", SCOPE_REQUEST,
		    "required path parameters are missing", bad);
		goto out;
	}
	for (i = 0; i < cn->c_npath; i++) {
		if ((v = execute_form_get(&f, cn->c_path[i].cp_key,
		    &len)) == NULL) {
			v = cn->c_path[i].cp_value.ct_src;
			len = cn->c_path[i].cp_value.ct_len;
		}
		if (!execute_path_value_ok(v, len))
			bad[nbad++] = cn->c_path[i].cp_key;
		else if (tval_dict_set(pp, cn->c_path[i].cp_key,
		    tval_str(v, len)) == -1)
			goto oom;
	}
	if (nbad > 0) {
		bad[nbad] = NULL;
		execute_error(c, 400, "INVALID_PATH_PARAMETERS", SCOPE_REQUEST,
		    "path parameter values must be 1 to 200 characters of "
		    "A-Z a-z 0-9 - . _ ~ and no '..'", bad);
		goto out;
	}
	rv = 0;
	goto out;
oom:
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
out:
	execute_form_free(&f);
	return rv;
}

/*
 * Headers: rows (or the caller's override), the api_key, body headers.
 * A composite's step sends the Content-Type of its own body (its rows',
 * else JSON) and none of the caller's: what the caller sent reaches a
 * step through request.* only.
 */
static int
execute_headers(struct conn *c, struct exec *x, const struct tmpl_env *env,
    struct plan *pl)
{
	const struct conn_request	*cr = x->x_cr;
	const struct conn_auth		*a = &cr->cr_auth;
	const struct conn_param		*row;
	struct plan_field		*f;
	const char			*ov, *ct;
	const char			*authkey = NULL;
	char				*keybuf = NULL, what[300];
	size_t				 i, len;
	int				 has_ct = 0, has_accept = 0, rv = -1;

	if (a->ca_type == CONN_AUTH_API_KEY && a->ca_in == CONN_IN_HEADER &&
	    (authkey = execute_auth_key(c, a, env, &keybuf, &len)) == NULL)
		return -1;
	if (authkey != NULL) {
		/* Rendered, so checked as the loader checks a literal one. */
		if (plan_header_reserved(authkey) || len == 0 ||
		    strspn(authkey, EXECUTE_TCHARS) != len) {
			execute_error(c, 422, NULL, SCOPE_TEMPLATE, "the "
			    "authentication key is not a header that can be "
			    "set", NULL);
			goto out;
		}
		/* Sent once: the body's headers give way to it too. */
		has_ct = strcasecmp(authkey, "Content-Type") == 0;
		has_accept = strcasecmp(authkey, "Accept") == 0;
	}
	for (i = 0; i < cr->cr_nheaders; i++) {
		row = &cr->cr_headers[i];
		/* The authentication's header wins over a row of that name. */
		if (authkey != NULL && strcasecmp(authkey, row->cp_key) == 0)
			continue;
		if (strcasecmp(row->cp_key, "Content-Type") == 0)
			has_ct = 1;
		if (strcasecmp(row->cp_key, "Accept") == 0)
			has_accept = 1;
		ov = row->cp_overridable && !execute_header_private(
		    row->cp_key) ? execute_request_header(c->c_req,
		    row->cp_key) : NULL;
		if ((f = execute_field_new(&pl->pl_headers, &pl->pl_nheaders,
		    ov != NULL ? PLAN_OVERRIDE : PLAN_ROW, (uint32_t)i,
		    row->cp_key, 0)) == NULL)
			goto oom;
		if (ov != NULL) {
			if (plan_field_add(f, ov, strlen(ov), NULL) == -1)
				goto oom;
		} else {
			if (execute_render_field(c, &row->cp_value, env,
			    "header", row->cp_key, f) == -1)
				goto out;
		}
	}
	if (authkey != NULL) {
		if ((f = execute_field_new(&pl->pl_headers, &pl->pl_nheaders,
		    PLAN_AUTH, 0, authkey, keybuf != NULL)) == NULL)
			goto oom;
		if (execute_render_field(c, &a->ca_value, env,
		    "authentication value", NULL, f) == -1)
			goto out;
	}
	/* What the body is, when one goes; what the caller accepts. */
	if (pl->pl_has_body && !has_ct) {
		ct = x->x_comp == NULL ? execute_request_header(c->c_req,
		    "Content-Type") : NULL;
		if ((f = execute_field_new(&pl->pl_headers, &pl->pl_nheaders,
		    PLAN_BODY, 0, "Content-Type", 0)) == NULL ||
		    plan_field_add(f, ct != NULL ? ct : "application/json",
		    strlen(ct != NULL ? ct : "application/json"), NULL) == -1)
			goto oom;
	}
	if (!has_accept && x->x_comp == NULL &&
	    (ct = execute_request_header(c->c_req, "Accept")) != NULL) {
		if ((f = execute_field_new(&pl->pl_headers, &pl->pl_nheaders,
		    PLAN_BODY, 0, "Accept", 0)) == NULL ||
		    plan_field_add(f, ct, strlen(ct), NULL) == -1)
			goto oom;
	}
	for (i = 0; i < pl->pl_nheaders; i++)
		if (!execute_field_clean(&pl->pl_headers[i])) {
			snprintf(what, sizeof(what), "the value of header '%s' "
			    "contains a control character",
			    pl->pl_headers[i].pf_name);
			execute_error(c, 422, NULL, SCOPE_TEMPLATE, what, NULL);
			goto out;
		}
	rv = 0;
	goto out;
oom:
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
out:
	free(keybuf);
	return rv;
}

/*
 * Query: rows (or overrides), the caller's undeclared keys, the api_key.
 * The caller's query reaches a composite's steps only as
 * request.query_parameters (SPEC §9): rows there are always rendered.
 */
static int
execute_query(struct conn *c, struct exec *x, const struct tmpl_env *env,
    struct plan *pl)
{
	const struct conn_request	*cr = x->x_cr;
	const struct conn_auth		*a = &cr->cr_auth;
	const struct conn_param		*row;
	struct plan_field		*f;
	struct form			 q;
	const char			*ov, *authkey = NULL;
	char				*keybuf = NULL, what[300];
	size_t				 i, j, len;
	int				 r, rv = -1;

	if ((r = execute_form(&q, x->x_comp == NULL ? c->c_req->r_query :
	    NULL)) < 0) {
		execute_error(c, 400, "BAD_REQUEST", SCOPE_REQUEST, r == -2 ?
		    "a query parameter contains a control character" :
		    "too many query parameters", NULL);
		execute_form_free(&q);
		return -1;
	}
	if (a->ca_type == CONN_AUTH_API_KEY && a->ca_in == CONN_IN_QUERY &&
	    (authkey = execute_auth_key(c, a, env, &keybuf, &len)) == NULL)
		goto out;
	if (authkey != NULL && (len == 0 || strlen(authkey) != len ||
	    !execute_clean(authkey, len))) {
		execute_error(c, 422, NULL, SCOPE_TEMPLATE, "the "
		    "authentication key is not a query parameter name that "
		    "can be sent", NULL);
		goto out;
	}
	for (i = 0; i < cr->cr_nquery; i++) {
		row = &cr->cr_query[i];
		if (authkey != NULL && strcmp(authkey, row->cp_key) == 0)
			continue;
		ov = row->cp_overridable ? execute_form_get(&q, row->cp_key,
		    &len) : NULL;
		if ((f = execute_field_new(&pl->pl_query, &pl->pl_nquery,
		    ov != NULL ? PLAN_OVERRIDE : PLAN_ROW, (uint32_t)i,
		    row->cp_key, 0)) == NULL)
			goto oom;
		if (ov != NULL) {
			if (plan_field_add(f, ov, len, NULL) == -1)
				goto oom;
		} else {
			if (execute_render_field(c, &row->cp_value, env,
			    "query parameter", row->cp_key, f) == -1)
				goto out;
		}
	}
	/* Undeclared keys are forwarded; declared and auth ones never twice. */
	for (i = 0; i < q.f_n; i++) {
		if (q.f_keys[i][0] == '\0' || (authkey != NULL &&
		    strcmp(authkey, q.f_keys[i]) == 0))
			continue;
		for (j = 0; j < cr->cr_nquery; j++)
			if (strcmp(cr->cr_query[j].cp_key, q.f_keys[i]) == 0)
				break;
		if (j < cr->cr_nquery)
			continue;
		if ((f = execute_field_new(&pl->pl_query, &pl->pl_nquery,
		    PLAN_CALLER, 0, q.f_keys[i], 1)) == NULL ||
		    plan_field_add(f, q.f_vals[i], q.f_vlens[i], NULL) == -1)
			goto oom;
	}
	if (authkey != NULL) {
		if ((f = execute_field_new(&pl->pl_query, &pl->pl_nquery,
		    PLAN_AUTH, 0, authkey, keybuf != NULL)) == NULL)
			goto oom;
		if (execute_render_field(c, &a->ca_value, env,
		    "authentication value", NULL, f) == -1)
			goto out;
	}
	/*
	 * The keeper takes a control byte in a plan for a worker gone bad
	 * and evicts it: say here whose fault it is instead.
	 */
	for (i = 0; i < pl->pl_nquery; i++) {
		f = &pl->pl_query[i];
		if (execute_field_clean(f) && execute_text_clean(f->pf_name))
			continue;
		if (f->pf_src == PLAN_CALLER || f->pf_src == PLAN_OVERRIDE) {
			const char *bad[2] = { f->pf_name, NULL };

			execute_error(c, 400, "BAD_REQUEST", SCOPE_REQUEST,
			    "a query parameter contains a control character",
			    bad);
			goto out;
		}
		snprintf(what, sizeof(what), "the %s of query parameter '%s' "
		    "contains a control character",
		    execute_text_clean(f->pf_name) ? "value" : "key",
		    f->pf_name);
		execute_error(c, 422, NULL, SCOPE_TEMPLATE, what, NULL);
		goto out;
	}
	rv = 0;
	goto out;
oom:
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
out:
	free(keybuf);
	execute_form_free(&q);
	return rv;
}

/* One field of the authentication, rendered into pl_auth (absent: none). */
static int
execute_auth_field(struct conn *c, const struct tmpl_env *env,
    struct plan *pl, enum plan_auth_field id, const char *name,
    const struct conn_tmpl *t, const char *what)
{
	struct plan_field	*f;

	if (t->ct_tmpl == NULL)
		return 0;
	if ((f = execute_field_new(&pl->pl_auth, &pl->pl_nauth, id, 0,
	    name != NULL ? name : "", 0)) == NULL) {
		execute_error(c, 500, NULL, "Unexpected error", "out of memory",
		    NULL);
		return -1;
	}
	if (execute_render_field(c, t, env, what, NULL, f) == -1)
		return -1;
	if (!execute_field_clean(f) && id != PA_PRIVATE_KEY &&
	    id != PA_CERT && id != PA_CERT_KEY && id != PA_CLAIM) {
		execute_error(c, 422, NULL, SCOPE_TEMPLATE, "an authentication "
		    "value contains a control character", NULL);
		return -1;
	}
	return 0;
}

/* Claims or JWT headers whose configured value is a template. */
static int
execute_auth_claims(struct conn *c, const struct tmpl_env *env,
    struct plan *pl, enum plan_auth_field id, const struct conn_claim *cl,
    size_t n)
{
	char	 what[300];
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (cl[i].cl_json != NULL)
			continue;	/* the keeper has its own copy */
		snprintf(what, sizeof(what), "authentication %s '%s'",
		    id == PA_CLAIM ? "claim" : "JWT header", cl[i].cl_key);
		if (cl[i].cl_value.ct_tmpl == NULL) {
			/* An empty string template is an empty string. */
			struct plan_field *f = execute_field_new(&pl->pl_auth,
			    &pl->pl_nauth, id, 0, cl[i].cl_key, 0);

			if (f == NULL || plan_field_add(f, "", 0, NULL) == -1) {
				execute_error(c, 500, NULL, "Unexpected error",
				    "out of memory", NULL);
				return -1;
			}
			continue;
		}
		if (execute_auth_field(c, env, pl, id, cl[i].cl_key,
		    &cl[i].cl_value, what) == -1)
			return -1;
	}
	return 0;
}

/*
 * What the keeper needs to authenticate the call, rendered here with the
 * user's context (platform-docs §6); secrets stay symbolic.
 */
static int
execute_auth(struct conn *c, struct exec *x, const struct tmpl_env *env,
    struct plan *pl)
{
	const struct conn_auth	*a = &x->x_cr->cr_auth;
	const struct conn_ext	*e = &x->x_cr->cr_ext;

	switch (a->ca_type) {
	case CONN_AUTH_OAUTH_CC:
		if (execute_auth_field(c, env, pl, PA_CLIENT_ID, NULL,
		    &a->ca_client_id, "client_id") == -1 ||
		    execute_auth_field(c, env, pl, PA_CLIENT_SECRET, NULL,
		    &a->ca_client_secret, "client_secret") == -1 ||
		    execute_auth_field(c, env, pl, PA_TOKEN_URL, NULL,
		    &a->ca_token_url, "token_url") == -1 ||
		    execute_auth_field(c, env, pl, PA_SCOPE, NULL, &a->ca_scope,
		    "scope") == -1)
			return -1;
		break;
	case CONN_AUTH_OAUTH_JWT_BEARER:
		if (execute_auth_field(c, env, pl, PA_CLIENT_ID, NULL,
		    &a->ca_client_id, "client_id") == -1 ||
		    execute_auth_field(c, env, pl, PA_TOKEN_URL, NULL,
		    &a->ca_token_url, "token_url") == -1 ||
		    execute_auth_field(c, env, pl, PA_SUBJECT, NULL,
		    &a->ca_subject, "subject") == -1 ||
		    execute_auth_field(c, env, pl, PA_AUDIENCE, NULL,
		    &a->ca_audience, "audience") == -1)
			return -1;
		/* FALLTHROUGH */
	case CONN_AUTH_JWT:
		if (execute_auth_field(c, env, pl, PA_PRIVATE_KEY, NULL,
		    &a->ca_private_key, "private_key") == -1 ||
		    execute_auth_claims(c, env, pl, PA_CLAIM, a->ca_claims,
		    a->ca_nclaims) == -1 ||
		    execute_auth_claims(c, env, pl, PA_JWT_HEADER,
		    a->ca_headers, a->ca_nheaders) == -1)
			return -1;
		break;
	case CONN_AUTH_NONE:
	case CONN_AUTH_API_KEY:
		break;
	}
	if (execute_auth_field(c, env, pl, PA_CERT, NULL, &e->ce_cert,
	    "client certificate") == -1 ||
	    execute_auth_field(c, env, pl, PA_CERT_KEY, NULL, &e->ce_cert_key,
	    "client certificate key") == -1)
		return -1;
	if (e->ce_sigv4 && (execute_auth_field(c, env, pl, PA_AWS_KEY_ID,
	    NULL, &e->ce_aws_key_id, "aws access_key_id") == -1 ||
	    execute_auth_field(c, env, pl, PA_AWS_SECRET, NULL,
	    &e->ce_aws_secret, "aws secret_access_key") == -1 ||
	    execute_auth_field(c, env, pl, PA_AWS_TOKEN, NULL,
	    &e->ce_aws_token, "aws session_token") == -1))
		return -1;
	return 0;
}

/*
 * The URL: rendered, past its origin escaped, at the origin.  Read where
 * the output holds it, and a literal origin where the connector does: the
 * escaped copy is the only one made.
 */
static int
execute_url(struct conn *c, struct exec *x, const struct tmpl_env *env,
    struct plan *pl)
{
	const struct conn_request	*cr = x->x_cr;
	struct tmpl_output		*o;
	const char			*url, *origin, *hash, *why = NULL;
	char				*rorigin = NULL, err[300];
	size_t				 len, olen;
	int				 status = 422, rv = -1;

	if (execute_render_out(c, &cr->cr_url, env, "url", &o, &url,
	    &len) == -1)
		return -1;
	/* The URL ends at a NUL, as it did when it was copied as a string. */
	len = strnlen(url, len);
	if ((origin = connector_origin_fixed(&cr->cr_origin,
	    cr->cr_origin_literal)) == NULL &&
	    (origin = rorigin = connector_origin(cr,
	    execute_get_variable, (void *)x->x_tenant, err,
	    sizeof(err))) == NULL) {
		why = err;
		goto out;
	}
	/* A host from a variable is judged now, as the keeper will. */
	if (!cr->cr_origin_literal && connector_origin_check(origin,
	    &x->x_gen->wg_snap->sn_cfg->c_egress.policy, err,
	    sizeof(err)) == -1) {
		why = err;
		goto out;
	}
	olen = strlen(origin);
	if (len < olen || memcmp(url, origin, olen) != 0) {
		why = "the rendered URL does not start with its origin";
		goto out;
	}
	/*
	 * A fragment is never sent (RFC 9110 4.2.5), and the keeper wants the
	 * origin followed by a path or a query only.
	 */
	if ((hash = memchr(url + olen, '#', len - olen)) != NULL)
		len = (size_t)(hash - url);
	if ((pl->pl_url = execute_url_escape(url, len, olen)) == NULL) {
		status = 500;
		why = "out of memory";
		goto out;
	}
	rv = 0;
out:
	if (why != NULL)
		execute_error(c, status, NULL, status == 500 ?
		    "Unexpected error" : SCOPE_TEMPLATE, why, NULL);
	free(rorigin);
	tmpl_output_free(o);
	return rv;
}

/*
 * The plan of the request x_cr, past its kind and index: what a simple
 * connector and a composite's step send alike.  fwd: the caller's payload,
 * which a blank request template forwards as it came (NULL: a blank
 * template sends an empty body).  0, or -1 with the error answered.
 */
static int
execute_plan(struct conn *c, struct exec *x, const struct tmpl_env *env,
    struct plan *pl, const char *fwd, size_t fwdlen)
{
	const struct conn_request	*cr = x->x_cr;

	pl->pl_gen = x->x_gen->wg_snap->sn_gen;
	pl->pl_tenant = (uint32_t)x->x_tenant->st_index;
	pl->pl_reqid = c->c_ctx.a_reqid;
	pl->pl_method = conn_method_name(cr->cr_method);
	if (cr->cr_method == CONN_POST || cr->cr_method == CONN_PUT ||
	    cr->cr_method == CONN_PATCH) {
		pl->pl_has_body = 1;
		if (cr->cr_request_body.ct_tmpl == NULL && fwd != NULL) {
			if ((pl->pl_body = malloc(fwdlen + 1)) == NULL)
				goto oom;
			memcpy(pl->pl_body, fwd, fwdlen);
			pl->pl_bodylen = fwdlen;
		} else if ((pl->pl_body = (unsigned char *)execute_render_text(
		    c, &cr->cr_request_body, env, "request_body",
		    &pl->pl_bodylen)) == NULL)
			return -1;
	}
	if (execute_url(c, x, env, pl) == -1 ||
	    execute_headers(c, x, env, pl) == -1 ||
	    execute_query(c, x, env, pl) == -1 ||
	    execute_auth(c, x, env, pl) == -1)
		return -1;
	return 0;
oom:
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
	return -1;
}

/*
 * Waiting for an answer: one request at a time, the next waits in the
 * input buffer.
 */
static void
execute_wait(struct conn *c)
{
	struct exec	*x = c->c_exec;

	execute_mark(&x->x_sent);
	/* Setup ends when the first call leaves (a composite makes more). */
	if (x->x_comp == NULL || x->x_step == 0)
		c->c_ctx.a_setup_ms = api_ms_between(&c->c_ctx.a_start,
		    &x->x_sent) - c->c_ctx.a_transform_ms;
	worker_conn_timer(c, CT_KEEPER);
}

/* Hand an encoded plan to the keeper and wait. */
static void
execute_call(struct conn *c, const struct ipc_buf *b)
{
	struct exec	*x = c->c_exec;

	if (worker_keeper_call(c, b, &x->x_call) == -1) {
		execute_abort(c, 503, "the secrets keeper is not available; "
		    "retry later");
		return;
	}
	execute_wait(c);
}

/*
 * Hand the plan to the keeper and wait.  Every upstream call goes through
 * here: a simple connector's after execute_lookup() found nothing to
 * answer with, and every step of a composite (which the cache does not
 * keep).
 */
static void
execute_send(struct conn *c, struct plan *pl)
{
	struct ipc_buf	 b;

	c->c_ctx.a_cache = API_CACHE_MISS;
	if (c->c_test != NULL)
		testmode_debug(c, pl);
	if (plan_encode(&b, pl) == -1) {
		ipc_buf_clear(&b);
		execute_error(c, 413, "PAYLOAD_TOO_LARGE", SCOPE_REQUEST,
		    "the request is too large to send upstream", NULL);
		return;
	}
	execute_call(c, &b);
	ipc_buf_clear(&b);
}

static void	execute_entry(struct conn *, const struct cache_entry *);

/*
 * The cache first: a fresh hit is answered now; an identical call in
 * flight is waited for; anything else goes to the keeper, perhaps with
 * the cache's validators added to the plan.  t0: when the plan was done,
 * the start of the lookup's time (one clock read less).
 */
static void
execute_lookup(struct conn *c, struct plan *pl, const struct timespec *t0)
{
	struct exec		*x = c->c_exec;
	enum cache_verdict	 v;
	struct timespec		 t1;

	x->x_ticket = cache_lookup(c->c_w->w_cache, x->x_gen->wg_snap, pl,
	    cache_now(), c, CACHE_L_COLLAPSE, &v);
	execute_mark(&t1);
	c->c_ctx.a_cache_ms = api_ms_between(t0, &t1);
	c->c_ctx.a_cache = API_CACHE_MISS;
	switch (v) {
	case CACHE_HIT:
		x->x_hit = 1;
		execute_entry(c, cache_ticket_entry(x->x_ticket));
		return;
	case CACHE_WAIT:
		/* Kept, in case the answer it waits for is not shareable. */
		if (plan_encode(&x->x_plan, pl) == -1) {
			execute_error(c, 413, "PAYLOAD_TOO_LARGE",
			    SCOPE_REQUEST, "the request is too large to send "
			    "upstream", NULL);
			return;
		}
		x->x_waiting = 1;
		execute_wait(c);
		return;
	case CACHE_SEND:
		execute_send(c, pl);
		return;
	}
}

/*
 * A call starts: the generation it runs on to the end, and the tenant by
 * Host.  NULL when the request is answered already.
 */
static struct exec *
execute_begin(struct conn *c)
{
	struct exec	*x;

	if ((x = spare_take(&execute_spare, NULL)) != NULL)
		memset(x, 0, sizeof(*x));
	else if ((x = calloc(1, sizeof(*x))) == NULL) {
		c->c_status = 500;
		api_reply_error(c->c_out, &c->c_ctx,
		    500, NULL, "out of memory");
		worker_conn_answered(c);
		return NULL;
	}
	c->c_exec = x;
	c->c_ctx.a_cache = API_CACHE_NONE;
	x->x_gen = worker_gen_ref(c->c_w);
	x->x_tenant = snapshot_tenant_for_host(x->x_gen->wg_snap,
	    http_request_header(c->c_req, "Host"));
	if (x->x_tenant == NULL) {
		execute_error(c, 404, "CONNECTOR_NOT_FOUND", SCOPE_REQUEST,
		    "no tenant serves this host", NULL);
		return NULL;
	}
	x->x_tenant_id = snapshot_tenant_id(x->x_gen->wg_snap, x->x_tenant);
	return x;
}

int
execute_takes_body(struct conn *c, const struct http_request *r,
    const char *key, int comp)
{
	const struct snapshot		*sn = c->c_w->w_gen->wg_snap;
	const struct snap_tenant	*t;
	const struct connector		*cn;
	const struct composite		*cc;
	struct session_conf		 sc;
	struct session			*s = NULL;
	enum session_status		 st;
	const char			*why = NULL;
	unsigned int			 uses = 0;
	size_t				 i;
	int				 m;

	if ((t = snapshot_tenant_for_host(sn, http_request_header(r,
	    "Host"))) == NULL)
		return 0;
	if (comp) {
		if (strcmp(r->r_method, "POST") != 0 ||
		    (cc = registry_composite_find(t->st_reg, key)) == NULL)
			return 0;
		for (i = 0; i < cc->cc_nsteps; i++)
			uses |= cc->cc_steps[i].cs_req.cr_header_query_uses;
	} else {
		if (!connector_slug_valid(key, strlen(key)) ||
		    (cn = registry_connector(t->st_reg, key)) == NULL)
			return 0;
		m = cn->c_req.cr_method;
		if ((m != CONN_POST && m != CONN_PUT && m != CONN_PATCH) ||
		    strcmp(r->r_method, conn_method_name(m)) != 0)
			return 0;
		uses = cn->c_req.cr_header_query_uses;
	}
	/*
	 * Authorised before the body is read: a caller the session check
	 * will refuse gets its answer (execute_session) without sending a
	 * byte of it.  An anonymous caller where user.* is needed stays
	 * anonymous.  The verdict is kept for execute_session, so the token
	 * is verified once and the answer cannot change in between.
	 */
	execute_session_conf(c->c_w->w_gen, t, &sc);
	st = session_authenticate(&sc, r, time(NULL), &s, &why);
	session_free(c->c_gate_sess);
	c->c_gated = 1;
	c->c_gate_st = (int)st;
	c->c_gate_why = why;
	c->c_gate_sess = s;
	if (st == SESSION_ANONYMOUS && (uses & TMPL_USES_USER))
		return 0;
	if (st != SESSION_ANONYMOUS && st != SESSION_VALID) {
		log_debug("%s: session refused before the body: %s",
		    worker_conn_peer(c), why != NULL ? why : "?");
		return 0;
	}
	return 1;
}

void
execute_connector(struct conn *c, const char *permalink)
{
	struct http_request	*r = c->c_req;
	struct exec		*x;
	struct plan		 pl;
	struct tmpl_env		 env;
	struct tval		*g = NULL, *pp = NULL;
	struct timespec		 t0, t1;
	const struct conn_request *cr;
	size_t			 blen;
	int			 body, rv;

	memset(&pl, 0, sizeof(pl));
	if ((x = execute_begin(c)) == NULL)
		return;
	if (!connector_slug_valid(permalink, strlen(permalink)) ||
	    (x->x_conn = c->c_test != NULL ? testmode_connector(c,
	    x->x_tenant, permalink) : registry_connector(x->x_tenant->st_reg,
	    permalink)) == NULL) {
		execute_error(c, 404, "CONNECTOR_NOT_FOUND", SCOPE_REQUEST,
		    "no such connector", NULL);
		return;
	}
	cr = x->x_cr = &x->x_conn->c_req;
	x->x_permalink = x->x_conn->c_permalink;
	x->x_caller = &x->x_conn->c_caller;
	if (strcmp(r->r_method, conn_method_name(cr->cr_method)) != 0) {
		execute_error(c, 400, "METHOD_NOT_ALLOWED", SCOPE_REQUEST,
		    "this connector is called with its own method", NULL);
		return;
	}
	c->c_ctx.a_head = cr->cr_method == CONN_HEAD;
	if (execute_session(c, x, cr->cr_header_query_uses) == -1)
		return;
	if (worker_client_limit(c, x->x_tenant_id, x->x_conn->c_permalink,
	    x->x_uid) == -1) {
		execute_error(c, 429, "RATE_LIMITED", SCOPE_REQUEST, "too many "
		    "calls from this client; retry later", NULL);
		return;
	}

	/* The globals every template of this call sees. */
	if ((g = tval_dict()) == NULL || (pp = tval_dict()) == NULL)
		goto oom;
	if (execute_path_params(c, x, pp) == -1)
		goto out;
	body = cr->cr_method == CONN_POST || cr->cr_method == CONN_PUT ||
	    cr->cr_method == CONN_PATCH;
	blen = body ? r->r_bodylen : 0;
	/* Only what a template names: most name none of these. */
	if (((cr->cr_uses & TMPL_USES_USER) &&
	    tval_dict_set(g, "user", execute_user(x)) == -1) ||
	    ((cr->cr_uses & TMPL_USES_TENANT) &&
	    tval_dict_set(g, "tenant_id", tval_str(x->x_tenant_id,
	    strlen(x->x_tenant_id))) == -1))
		goto oom;
	if (cr->cr_uses & TMPL_USES_PATHPARAMS) {
		rv = tval_dict_set(g, "pathParams", pp);
		pp = NULL;
		if (rv == -1)
			goto oom;
	}
	if ((cr->cr_uses & TMPL_USES_BODY) &&
	    (tval_dict_set(g, "body_text", execute_text_value(r->r_body,
	    blen, 1)) == -1 || tval_dict_set(g, "body_raw", blen > 0 ?
	    tval_bytes(r->r_body, blen) : tval_none()) == -1))
		goto oom;
	execute_env(x, &env, g);
	/* One clock for every template of the call. */
	env.te_now = time(NULL);

	/* A template that reads the payload needs JSON (SPEC §5). */
	if (blen > 0 && cr->cr_request_body.ct_tmpl != NULL &&
	    (tmpl_usage(cr->cr_request_body.ct_tmpl)->tu_flags &
	    TMPL_USES_BODY)) {
		struct json_tokener	*tok;
		struct json_object	*jo;

		if ((tok = json_tokener_new_ex(EXECUTE_JSON_DEPTH)) == NULL)
			goto oom;
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		jo = json_tokener_parse_ex(tok, r->r_body, (int)blen);
		if (jo == NULL || tok->char_offset != (int)blen ||
		    !execute_json_chars((unsigned char *)r->r_body, blen)) {
			json_object_put(jo);
			json_tokener_free(tok);
			execute_error(c, 400, "INVALID_JSON", SCOPE_REQUEST,
			    "the request body is not JSON", NULL);
			goto out;
		}
		json_object_put(jo);
		json_tokener_free(tok);
	}

	execute_mark(&t0);
	pl.pl_kind = PLAN_CONNECTOR;
	pl.pl_conn = (uint32_t)x->x_conn->c_index;
	if (c->c_test != NULL)
		testmode_plan(c, &pl);
	/* A blank request template forwards the payload as it came. */
	if (execute_plan(c, x, &env, &pl, r->r_body, blen) == -1)
		goto out;
	execute_mark(&t1);
	c->c_ctx.a_transform_ms = api_ms_between(&t0, &t1);
	tval_unref(g);
	g = NULL;
	if (worker_trace_plan(c, &pl) == -1)
		goto oom;
	/* A test always reaches the upstream, and leaves nothing cached. */
	if (c->c_test != NULL)
		execute_send(c, &pl);
	else
		execute_lookup(c, &pl, &t1);	/* from where the plan ended */
	goto out;
oom:
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
out:
	plan_clear(&pl);
	tval_unref(pp);
	tval_unref(g);
}

/* --- The answer ------------------------------------------------------------- */

/* response.headers: lower-case names, repeated ones joined by ", ". */
static struct tval *
execute_response_headers(const struct result *rs)
{
	struct tval	*d;
	size_t		 n = rs->rs_nheaders, i, g, k, vlen;
	size_t		*first = NULL, *len, *off;
	char		**names = NULL, **joined, *name;

	if ((d = tval_dict()) == NULL)
		return NULL;
	if (n == 0)
		return d;
	/*
	 * A name's values are joined with ", " in the order they came, under
	 * the name's first place: one pass to group, one to measure, one to
	 * copy.
	 */
	if ((names = calloc(n, 2 * sizeof(*names))) == NULL ||
	    (first = calloc(n, 3 * sizeof(*first))) == NULL)
		goto fail;
	joined = names + n;
	len = first + n;
	off = len + n;
	for (i = 0; i < n; i++)
		names[i] = rs->rs_headers[i].rh_name;
	rowidx_firsts(names, n, 1, first);
	for (i = 0; i < n; i++)
		len[first[i]] += (first[i] != i ? 2 : 0) +
		    strlen(rs->rs_headers[i].rh_value);
	for (i = 0; i < n; i++)
		if (first[i] == i && (joined[i] = malloc(len[i] + 1)) == NULL)
			goto fail;
	for (i = 0; i < n; i++) {
		g = first[i];
		if (g != i) {
			memcpy(joined[g] + off[g], ", ", 2);
			off[g] += 2;
		}
		vlen = strlen(rs->rs_headers[i].rh_value);
		memcpy(joined[g] + off[g], rs->rs_headers[i].rh_value, vlen);
		off[g] += vlen;
	}
	for (i = 0; i < n; i++) {
		if (first[i] != i)
			continue;
		joined[i][len[i]] = '\0';
		if ((name = strdup(names[i])) == NULL)
			goto fail;
		for (k = 0; name[k] != '\0'; k++)
			name[k] = (char)tolower((unsigned char)name[k]);
		if (tval_dict_set(d, name, tval_str(joined[i], len[i])) == -1) {
			free(name);
			goto fail;
		}
		free(name);
	}
	for (i = 0; i < n; i++)
		free(joined[i]);
	free(names);
	free(first);
	return d;
fail:
	if (names != NULL)
		for (i = 0; i < n; i++)
			free(names[n + i]);
	free(names);
	free(first);
	tval_unref(d);
	return NULL;
}

/* A large answer's frame, given to the reply (execute_give). */
struct execute_given {
	void		*eg_frame;
	size_t		 eg_cap;
};

/* Out has written the body, or was freed: the frame goes (wiped). */
static void
execute_given_release(const void *body, size_t len, void *arg)
{
	struct execute_given	*g = arg;

	(void)body;
	(void)len;
	ipc_kept_free(g->eg_frame, g->eg_cap);
	free(g);
}

/*
 * The frame a large answer came in, taken from mine for the reply to send
 * the body from where it lies: a 1 MiB answer is then not copied once
 * more into the connection's output.  NULL (mine keeps its body, the
 * reply copies it) for a small answer, or without memory.
 */
static struct execute_given *
execute_give(struct result *mine)
{
	struct execute_given	*g;

	if (mine->rs_frame == NULL || (g = malloc(sizeof(*g))) == NULL)
		return NULL;
	g->eg_frame = result_take_frame(mine, &g->eg_cap);
	return g;
}

/*
 * Answer with rs: the upstream's answer, or a cached one (entry non-NULL:
 * the entry whose result rs is).  A response template whose output the
 * cache may keep (cache_ticket_keeps_output) runs once per entry; a hit
 * then writes the stored output without parsing or rendering anything.
 * mine: rs when this connection owns it, whose large frame the reply may
 * then take (execute_give); NULL for a cached or a shared answer.
 */
static void
execute_respond(struct conn *c, const struct result *rs,
    const struct cache_entry *entry, struct result *mine)
{
	struct exec		*x = c->c_exec;
	const struct conn_request *cr = x->x_cr;
	struct tmpl_output	*o = NULL;
	struct tmpl_error	 err;
	struct tmpl_env		 env;
	struct tval		*g = NULL, *resp = NULL, *h;
	struct execute_given	*given = NULL;
	struct timespec		 t0, t1;
	const char		*ctype, *text, *ra;
	char			 detail[512], ctbuf[300];
	size_t			 len;
	unsigned int		 uses;
	int			 status = (int)rs->rs_status, rv;

	execute_cache_ctx(c);
	/* An upstream's pause passes on with its 429 or 503. */
	if ((status == 429 || status == 503) && (ra = result_header_get(rs,
	    "Retry-After")) != NULL)
		c->c_ctx.a_retry_after = ratelimit_retry_after(ra, time(NULL));
	ctype = cr->cr_response_content_type[0] != '\0' ?
	    cr->cr_response_content_type :
	    result_header_get(rs, "Content-Type");
	if (ctype != NULL)
		str_copy(ctbuf, sizeof(ctbuf), ctype);
	/* No template: the upstream body as it came (platform-docs §10). */
	if (cr->cr_response_body.ct_tmpl == NULL) {
		text = (const char *)rs->rs_body;
		len = rs->rs_bodylen;
		goto reply;
	}
	if (entry != NULL && (text = cache_entry_output(entry, &len)) != NULL)
		goto reply;
	execute_mark(&t0);
	/*
	 * The headers, lower-cased and joined, only for a template that may
	 * read them: most read response.body alone.
	 */
	if ((g = tval_dict()) == NULL || (resp = tval_dict()) == NULL ||
	    ((tmpl_usage(cr->cr_response_body.ct_tmpl)->tu_flags &
	    TMPL_USES_RESPONSE_WHOLE) &&
	    ((h = execute_response_headers(rs)) == NULL ||
	    tval_dict_set(resp, "headers", h) == -1)) ||
	    tval_dict_set(resp, "status_code", tval_int(status)) == -1 ||
	    tval_dict_set(resp, "body", execute_body_value(rs)) == -1)
		goto oom;
	/* tval_dict_set() takes the value, whatever it returns. */
	rv = tval_dict_set(g, "response", resp);
	resp = NULL;
	uses = tmpl_usage(cr->cr_response_body.ct_tmpl)->tu_flags;
	if (rv == -1 || ((uses & TMPL_USES_USER) &&
	    tval_dict_set(g, "user", execute_user(x)) == -1) ||
	    ((uses & TMPL_USES_TENANT) && tval_dict_set(g, "tenant_id",
	    tval_str(x->x_tenant_id, strlen(x->x_tenant_id))) == -1))
		goto oom;
	execute_env(x, &env, g);
	memset(&err, 0, sizeof(err));
	if ((o = tmpl_render(cr->cr_response_body.ct_tmpl, &env,
	    &err)) == NULL) {
		snprintf(detail, sizeof(detail), "response_body: %d:%d: %s",
		    err.te_line, err.te_col, err.te_msg);
		execute_error(c, 422, NULL, SCOPE_RESPONSE, detail, NULL);
		goto out;
	}
	if ((text = tmpl_output_text(o, &len)) == NULL)
		goto oom;
	execute_mark(&t1);
	c->c_ctx.a_transform_ms += api_ms_between(&t0, &t1);
	if (entry != NULL && cache_ticket_keeps_output(x->x_ticket))
		cache_ticket_set_output(x->x_ticket, text, len);
reply:
	c->c_status = status;
	/* The upstream's body as it came, in the frame it came in. */
	if (mine != NULL && text == (const char *)mine->rs_body)
		given = execute_give(mine);
	if (given != NULL)
		rv = api_reply_given(c->c_out, &c->c_ctx, status,
		    ctype != NULL ? ctbuf : NULL, NULL, text, len,
		    execute_given_release, given);
	else
		rv = api_reply(c->c_out, &c->c_ctx, status,
		    ctype != NULL ? ctbuf : NULL, NULL, text, len);
	if (rv == -1)
		c->c_ctx.a_keepalive = 0;
	execute_done(c, 0);
	goto out;
oom:
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
out:
	tmpl_output_free(o);
	tval_unref(resp);
	tval_unref(g);
}

/* A fresh hit, or a waiter given the entry its call stored. */
static void
execute_entry(struct conn *c, const struct cache_entry *e)
{
	execute_respond(c, cache_entry_result(e), e, NULL);
}

static void	execute_result(struct conn *, const struct result *,
		    struct result *);
static void	execute_fail(struct conn *, const struct fail *);

/*
 * The call c made has its answer: everyone who waited for it gets theirs
 * first — the entry it stored, the same error, or a call of their own.
 * Neither rs nor fl: the call was abandoned, each waiter makes its own.
 */
static void
execute_release(struct conn *c, const struct result *rs,
    const struct fail *fl)
{
	struct exec		*x = c->c_exec, *wx;
	struct conn		*wc;
	enum cache_share	 share;

	if (x->x_ticket == NULL)
		return;
	while ((wc = cache_ticket_waiter(x->x_ticket, &share)) != NULL) {
		wx = wc->c_exec;
		wx->x_waiting = 0;
		worker_conn_timer(wc, CT_NONE);
		switch (share) {
		case CACHE_SHARE_ENTRY:
			execute_entry(wc, cache_ticket_entry(wx->x_ticket));
			break;
		case CACHE_SHARE_ANSWER:
			/* A copy each: the frame stays the caller's. */
			if (rs != NULL)
				execute_result(wc, rs, NULL);
			else
				execute_fail(wc, fl);
			break;
		case CACHE_SHARE_NONE:
			execute_call(wc, &wx->x_plan);
			ipc_buf_clear(&wx->x_plan);
			break;
		}
	}
}

/* How long the upstream took, as this request saw it. */
static void
execute_external(struct conn *c, const char *host, uint64_t us)
{
	struct exec	*x = c->c_exec;
	struct timespec	 now;

	if (host[0] != '\0') {
		str_copy(x->x_host, sizeof(x->x_host), host);
		c->c_ctx.a_external_host = x->x_host;
	}
	c->c_ctx.a_external_ms = (double)us / 1e3;
	/* A waiter waited for less than the whole call took. */
	if (x->x_call == 0 && x->x_ticket != NULL &&
	    cache_ticket_outcome(x->x_ticket) == CACHE_O_COLLAPSED) {
		execute_mark(&now);
		c->c_ctx.a_external_ms = api_ms_between(&x->x_sent, &now);
	}
}

/* A composite's step: its own figures, and the steps before took time. */
static void
execute_step_external(struct conn *c, const char *host, uint64_t us,
    int timeout)
{
	struct exec	*x = c->c_exec;
	struct api_step	*st = &x->x_timing[x->x_step];
	double		 ext = (double)us / 1e3;

	if (host[0] != '\0') {
		str_copy(x->x_host, sizeof(x->x_host), host);
		c->c_ctx.a_external_host = x->x_host;
		str_copy(st->as_host, sizeof(st->as_host), host);
	}
	st->as_external_ms = ext;
	st->as_timeout = timeout;
	c->c_ctx.a_external_ms += ext;
	execute_step_end(x);
}

/*
 * A simple connector's answer: the cache sees it first.  mine: rs when
 * this connection's own call brought it (execute_respond may give its
 * frame to the reply, after every waiter has answered from it).
 */
static void
execute_result(struct conn *c, const struct result *rs, struct result *mine)
{
	struct exec		*x = c->c_exec;
	const struct cache_entry *e = NULL;
	struct timespec		 t0, t1;

	x->x_upstream = (int)rs->rs_status;
	execute_external(c, rs->rs_host, rs->rs_total_us);
	if (x->x_ticket != NULL) {
		execute_mark(&t0);
		e = cache_answer(x->x_ticket, rs, cache_now());
		execute_mark(&t1);
		c->c_ctx.a_cache_ms += api_ms_between(&t0, &t1);
	}
	execute_release(c, rs, NULL);
	if (e != NULL)
		execute_entry(c, e);
	else
		execute_respond(c, rs, NULL, mine);
}

static void
execute_fail(struct conn *c, const struct fail *fl)
{
	struct exec		*x = c->c_exec;
	const struct cache_entry *e = NULL;
	const char		*code, *scope;
	int			 network;

	network = strcmp(fl->fl_scope, SCOPE_NETWORK) == 0;
	if (x->x_comp != NULL)
		execute_step_external(c, fl->fl_host, fl->fl_external_us,
		    fl->fl_timeout != 0);
	else
		execute_external(c, fl->fl_host, fl->fl_external_us);
	c->c_ctx.a_timeout = fl->fl_timeout != 0;
	c->c_ctx.a_retry_after = (int)fl->fl_retry_after;
	if (network)
		c->c_ctx.a_error = fl->fl_timeout ? "Timeout" :
		    fl->fl_detail;
	/*
	 * Only the upstream's failure is one a stale answer may hide; a
	 * refusal (a limit, a template) goes to the waiters as it is.
	 */
	if (network && x->x_ticket != NULL)
		e = cache_failed(x->x_ticket, cache_now());
	else if (x->x_ticket != NULL)
		cache_refused(x->x_ticket);
	execute_release(c, NULL, fl);
	if (e != NULL) {
		x->x_upstream_failed = 1;
		if (x->x_comp != NULL)
			execute_step_result(c, cache_entry_result(e));
		else
			execute_entry(c, e);
		return;
	}
	c->c_status = (int)fl->fl_status;
	code = fl->fl_code[0] != '\0' ? fl->fl_code : NULL;
	scope = execute_scope(x, code, fl->fl_scope);
	x->x_error = code != NULL ? code : scope;
	execute_cache_ctx(c);
	if (api_reply_envelope(c->c_out, &c->c_ctx,
	    (int)fl->fl_status, code, fl->fl_detail, scope, NULL) == -1)
		c->c_ctx.a_keepalive = 0;
	execute_done(c, network);
}

void
execute_answer(struct conn *c, struct ipc_msg *m)
{
	struct exec	*x = c->c_exec;
	struct result	 rs;
	struct fail	 fl;
	const char	*why;

	if (x == NULL)
		return;
	x->x_call = 0;		/* answered: nothing to forget */
	worker_conn_timer(c, CT_NONE);
	if (m->m_type == MSG_RESULT) {
		if (result_decode(m, &rs, &why) == -1) {
			log_warnx("keeper sent %s", why);
			execute_abort(c, 503, "the secrets keeper sent a "
			    "malformed answer");
			return;
		}
		execute_upstream(c, &rs);
		result_clear(&rs);
		return;
	}
	if (fail_decode(m, &fl, &why) == -1) {
		log_warnx("keeper sent %s", why);
		execute_abort(c, 503, "the secrets keeper sent a malformed "
		    "answer");
		return;
	}
	execute_fail(c, &fl);
	fail_clear(&fl);
}

/* --- Composite connectors ------------------------------------------------ */

/*
 * One place every upstream answer arrives: from the keeper now, from the
 * response cache later (a hit comes here without IPC; a miss is stored
 * here before it is used).  A composite's step goes on to the next step
 * or answers; a simple connector answers.
 */
static void
execute_upstream(struct conn *c, struct result *rs)
{
	struct exec		*x = c->c_exec;
	const struct cache_entry *e;

	if (x->x_comp == NULL) {
		execute_result(c, rs, rs);
		return;
	}
	/* A step's answer: stored, refreshed by a 304, or stale for a 5xx. */
	if (x->x_ticket != NULL &&
	    (e = cache_answer(x->x_ticket, rs, cache_now())) != NULL) {
		execute_step_result(c, cache_entry_result(e));
		return;
	}
	execute_step_result(c, rs);
}

/*
 * request.* (platform-docs §20): the caller's body as text (None when it
 * is empty or not UTF-8) and as bytes (None when empty), of its headers
 * only Content-Type, its query as a dict (a repeated key keeps its first
 * value).  0, or -1 with the error answered.
 */
static int
execute_request_value(struct conn *c, struct exec *x)
{
	struct http_request	*r = c->c_req;
	struct tval		*req = NULL, *h = NULL, *q = NULL;
	struct form		 f;
	const char		*ct;
	size_t			 i, first[QUERY_MAX_PAIRS];
	int			 rv;

	if ((rv = execute_form(&f, r->r_query)) < 0) {
		execute_error(c, 400, "BAD_REQUEST", SCOPE_REQUEST, rv == -2 ?
		    "a query parameter contains a control character" :
		    "too many query parameters", NULL);
		execute_form_free(&f);
		return -1;
	}
	if ((req = tval_dict()) == NULL || (h = tval_dict()) == NULL ||
	    (q = tval_dict()) == NULL)
		goto oom;
	/* The first of a repeated name is the one the template sees. */
	rowidx_firsts(f.f_keys, f.f_n, 0, first);
	for (i = 0; i < f.f_n; i++) {
		if (first[i] != i || f.f_keys[i][0] == '\0')
			continue;
		if (tval_dict_set(q, f.f_keys[i], tval_str(f.f_vals[i],
		    f.f_vlens[i])) == -1)
			goto oom;
	}
	if ((ct = execute_request_header(r, "Content-Type")) != NULL &&
	    tval_dict_set(h, "Content-Type", tval_str(ct, strlen(ct))) == -1)
		goto oom;
	if (tval_dict_set(req, "body_text", execute_text_value(r->r_body,
	    r->r_bodylen, 1)) == -1 || tval_dict_set(req, "body_raw",
	    r->r_bodylen > 0 ? tval_bytes(r->r_body, r->r_bodylen) :
	    tval_none()) == -1)
		goto oom;
	rv = tval_dict_set(req, "headers", h);
	h = NULL;
	if (rv == -1)
		goto oom;
	rv = tval_dict_set(req, "query_parameters", q);
	q = NULL;
	if (rv == -1)
		goto oom;
	x->x_request = req;
	execute_form_free(&f);
	return 0;
oom:
	tval_unref(req);
	tval_unref(h);
	tval_unref(q);
	execute_form_free(&f);
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
	return -1;
}

/* The globals of a step's templates; NULL when out of memory. */
static struct tval *
execute_step_globals(struct exec *x)
{
	struct tval	*g;

	if ((g = tval_dict()) == NULL)
		return NULL;
	if (tval_dict_set(g, "user", execute_user(x)) == -1 ||
	    tval_dict_set(g, "tenant_id", tval_str(x->x_tenant_id,
	    strlen(x->x_tenant_id))) == -1 ||
	    tval_dict_set(g, "steps", tval_ref(x->x_steps)) == -1 ||
	    tval_dict_set(g, "request", tval_ref(x->x_request)) == -1) {
		tval_unref(g);
		return NULL;
	}
	return g;
}

/*
 * A step's plan meets the cache (a GET step whose answers may be kept):
 * a fresh hit goes on to the step's response transform without a call.
 * Steps do not wait for identical calls in flight; each makes its own.
 */
static void
execute_step_lookup(struct conn *c, struct plan *pl)
{
	struct exec		*x = c->c_exec;
	struct api_step		*st = &x->x_timing[x->x_step];
	enum cache_verdict	 v;
	struct timespec		 t0, t1;

	/* The step before is over, and its ticket with it. */
	execute_cache_count(c);
	cache_ticket_free(x->x_ticket);
	execute_mark(&t0);
	x->x_ticket = cache_lookup(c->c_w->w_cache, x->x_gen->wg_snap, pl,
	    cache_now(), c, 0, &v);
	execute_mark(&t1);
	c->c_ctx.a_cache_ms += api_ms_between(&t0, &t1);
	if (v == CACHE_HIT) {
		st->as_cache_hit = 1;
		execute_step_result(c,
		    cache_entry_result(cache_ticket_entry(x->x_ticket)));
		return;
	}
	execute_send(c, pl);
}

/*
 * Render step x_step and send it: its URL, headers, query, body and
 * authentication see steps.* of the steps before it and request.*.  The
 * keeper checks the plan against its own copy of this very step.
 */
static void
execute_step(struct conn *c)
{
	struct exec		*x = c->c_exec;
	const struct conn_step	*cs = &x->x_comp->cc_steps[x->x_step];
	const struct conn_request *cr = &cs->cs_req;
	struct api_step		*st = &x->x_timing[x->x_step];
	struct plan		 pl;
	struct tmpl_env		 env;
	struct tval		*g;
	struct timespec		 t1;

	memset(&pl, 0, sizeof(pl));
	x->x_cr = cr;
	x->x_stepping = 1;
	/* The access log names the upstream status of the step that ends. */
	x->x_upstream = 0;
	st->as_name = cs->cs_name;
	execute_mark(&st->as_start);
	c->c_ctx.a_steps = x->x_timing;
	c->c_ctx.a_nsteps = x->x_step + 1;
	if ((g = execute_step_globals(x)) == NULL)
		goto oom;
	execute_env(x, &env, g);
	/* One clock per step: a later step's now() is its own time. */
	env.te_now = time(NULL);
	pl.pl_kind = PLAN_STEP;
	pl.pl_conn = (uint32_t)x->x_comp->cc_index;
	pl.pl_step = (uint32_t)x->x_step;
	/* A step's body is its template's: blank sends an empty one. */
	if (execute_plan(c, x, &env, &pl, NULL, 0) == -1)
		goto out;
	execute_mark(&t1);
	st->as_transform_ms = api_ms_between(&st->as_start, &t1);
	c->c_ctx.a_transform_ms += st->as_transform_ms;
	tval_unref(g);
	g = NULL;
	/* Every step's upstream joins the request's trace. */
	if (worker_trace_plan(c, &pl) == -1)
		goto oom;
	execute_step_lookup(c, &pl);
	goto out;
oom:
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
out:
	plan_clear(&pl);
	tval_unref(g);
}

/*
 * A step answered.  A 4xx or 5xx ends the run with a 502 that carries
 * nothing of any step's answer; otherwise the step's response template
 * makes steps.<name>.body, and the next step runs, or the last step's
 * answer is the composite's.
 */
static void
execute_step_result(struct conn *c, const struct result *rs)
{
	struct exec		*x = c->c_exec;
	const struct conn_step	*cs = &x->x_comp->cc_steps[x->x_step];
	const struct conn_request *cr = &cs->cs_req;
	struct api_step		*st = &x->x_timing[x->x_step];
	struct tmpl_output	*o = NULL;
	struct tmpl_error	 err;
	struct tmpl_env		 env;
	struct tval		*g = NULL, *resp = NULL, *h = NULL;
	struct tval		*body = NULL, *res = NULL;
	struct timespec		 t0, t1;
	const char		*ctype, *text = NULL;
	char			 detail[512], ctbuf[300];
	size_t			 len = 0;
	int			 status = (int)rs->rs_status, next = 0, rv;

	x->x_upstream = status;
	str_copy(x->x_host, sizeof(x->x_host), rs->rs_host);
	str_copy(st->as_host, sizeof(st->as_host), rs->rs_host);
	c->c_ctx.a_external_host = x->x_host;
	st->as_status = status;
	/* A hit took no upstream time, whatever the stored call took. */
	st->as_external_ms = st->as_cache_hit ? 0 :
	    (double)rs->rs_total_us / 1e3;
	c->c_ctx.a_external_ms += st->as_external_ms;
	if (status >= 400) {
		snprintf(detail, sizeof(detail), "the upstream answered HTTP "
		    "%d", status);
		x->x_upstream_error = 1;
		execute_error(c, 502, NULL, SCOPE_HTTP, detail, NULL);
		return;
	}
	if ((h = execute_response_headers(rs)) == NULL)
		goto oom;
	if (cr->cr_response_body.ct_tmpl != NULL) {
		execute_mark(&t0);
		if ((g = execute_step_globals(x)) == NULL ||
		    (resp = tval_dict()) == NULL ||
		    tval_dict_set(resp, "headers", tval_ref(h)) == -1 ||
		    tval_dict_set(resp, "status_code", tval_int(status)) ==
		    -1 || tval_dict_set(resp, "body", execute_text_value(
		    rs->rs_body, rs->rs_bodylen, 0)) == -1)
			goto oom;
		rv = tval_dict_set(g, "response", resp);
		resp = NULL;
		if (rv == -1)
			goto oom;
		execute_env(x, &env, g);
		memset(&err, 0, sizeof(err));
		if ((o = tmpl_render(cr->cr_response_body.ct_tmpl, &env,
		    &err)) == NULL) {
			snprintf(detail, sizeof(detail), "response_body: "
			    "%d:%d: %s", err.te_line, err.te_col, err.te_msg);
			execute_error(c, 422, NULL, SCOPE_RESPONSE, detail,
			    NULL);
			goto out;
		}
		if ((text = tmpl_output_text(o, &len)) == NULL)
			goto oom;
		execute_mark(&t1);
		st->as_transform_ms += api_ms_between(&t0, &t1);
		c->c_ctx.a_transform_ms += api_ms_between(&t0, &t1);
		body = tval_str(text, len);
	} else
		body = execute_text_value(rs->rs_body, rs->rs_bodylen, 0);
	if (x->x_step + 1 < x->x_comp->cc_nsteps) {
		/* What later steps see: after this step's own template. */
		if ((res = tval_dict()) == NULL)
			goto oom;
		/* tval_dict_set() takes the value, whatever it returns. */
		rv = tval_dict_set(res, "body", body);
		body = NULL;
		if (rv == -1 || tval_dict_set(res, "status_code",
		    tval_int(status)) == -1 || tval_dict_set(res, "headers",
		    tval_ref(h)) == -1)
			goto oom;
		rv = tval_dict_set(x->x_steps, cs->cs_name, res);
		res = NULL;
		if (rv == -1)
			goto oom;
		execute_step_end(x);
		x->x_step++;
		next = 1;
		goto out;
	}
	/* The last step's answer is the composite's. */
	execute_step_end(x);
	ctype = cr->cr_response_content_type[0] != '\0' ?
	    cr->cr_response_content_type :
	    result_header_get(rs, "Content-Type");
	if (ctype != NULL)
		str_copy(ctbuf, sizeof(ctbuf), ctype);
	c->c_status = status;
	if (api_reply(c->c_out, &c->c_ctx, status,
	    ctype != NULL ? ctbuf : NULL, NULL, text != NULL ? text :
	    (const char *)rs->rs_body, text != NULL ? len : rs->rs_bodylen) ==
	    -1)
		c->c_ctx.a_keepalive = 0;
	execute_done(c, 0);
	goto out;
oom:
	execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory", NULL);
out:
	tmpl_output_free(o);
	tval_unref(body);
	tval_unref(res);
	tval_unref(resp);
	tval_unref(h);
	tval_unref(g);
	/* Last: the connection may be answered and gone after it. */
	if (next)
		execute_step(c);
}

void
execute_composite(struct conn *c, const char *key)
{
	struct http_request	*r = c->c_req;
	struct exec		*x;
	const struct composite	*cc;
	unsigned int		 uses = 0;
	size_t			 i;

	if ((x = execute_begin(c)) == NULL)
		return;
	if ((cc = registry_composite_find(x->x_tenant->st_reg, key)) == NULL) {
		execute_error(c, 404, "CONNECTOR_NOT_FOUND", SCOPE_REQUEST,
		    "no such composite connector", NULL);
		return;
	}
	x->x_comp = cc;
	x->x_permalink = cc->cc_permalink;
	x->x_caller = &cc->cc_caller;
	if (strcmp(r->r_method, "POST") != 0) {
		execute_error(c, 400, "METHOD_NOT_ALLOWED", SCOPE_REQUEST,
		    "a composite connector is called with POST", NULL);
		return;
	}
	/* The loader refuses this; the runtime does not rely on it. */
	if (cc->cc_nsteps == 0) {
		execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "the composite "
		    "connector has no steps", NULL);
		return;
	}
	/* Any step's headers or query need a user: refused before step 0. */
	for (i = 0; i < cc->cc_nsteps; i++)
		uses |= cc->cc_steps[i].cs_req.cr_header_query_uses;
	if (execute_session(c, x, uses) == -1)
		return;
	/* One client request, one count, however many steps it makes. */
	if (worker_client_limit(c, x->x_tenant_id, cc->cc_permalink,
	    x->x_uid) == -1) {
		execute_error(c, 429, "RATE_LIMITED", SCOPE_REQUEST, "too many "
		    "calls from this client; retry later", NULL);
		return;
	}
	if ((x->x_timing = calloc(cc->cc_nsteps,
	    sizeof(*x->x_timing))) == NULL || (x->x_steps = tval_dict()) ==
	    NULL) {
		execute_error(c, 500, NULL, SCOPE_UNEXPECTED, "out of memory",
		    NULL);
		return;
	}
	if (execute_request_value(c, x) == -1)
		return;
	execute_step(c);
}
