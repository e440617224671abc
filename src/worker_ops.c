/*
 * worker_ops.c — what a worker adds for operators: the request's trace
 * context and the per-client rate limit.
 *
 * Trace: every request gets a traceparent (trace.h); a caller's own is
 * continued only when the peer is in trace.trusted (a proxy of the
 * operator's), never from an arbitrary browser, which could otherwise
 * join its requests to any trace.  The worker's span goes upstream as a
 * traceparent header in the plan (PLAN_TRACE), which the keeper checks.
 *
 * Client limit (limits.client_rate): per signed-in user of a tenant, else
 * per address, counted by each worker for the connections it serves.
 */
#include "build.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "metrics.h"
#include "netpolicy.h"
#include "plan.h"
#include "ratelimit.h"
#include "trace.h"
#include "worker.h"

#define WORKER_CLIENT_KEYS	65536	/* clients tracked per worker */

void
worker_trace_begin(struct conn *c)
{
	const struct widgetd_config	*cfg = worker_config(c->c_w);
	const char			*in = NULL;
	struct trace			 t;
	uint8_t				 rnd[TRACE_RANDOM];

	if (cfg->c_trace.t_trusted.np_nallow > 0 && c->c_req != NULL &&
	    netpolicy_in_list(&cfg->c_trace.t_trusted,
	    worker_conn_peer(c)))
		in = http_request_header(c->c_req, "traceparent");
	if (api_random(rnd, sizeof(rnd)) == -1) {
		c->c_ctx.a_trace[0] = '\0';
		return;
	}
	trace_begin(&t, in, rnd);
	trace_format(&t, c->c_ctx.a_trace);
}

int
worker_trace_plan(struct conn *c, struct plan *pl)
{
	struct plan_field	*f;
	size_t			 i;

	if (c->c_ctx.a_trace[0] == '\0' ||
	    !worker_config(c->c_w)->c_trace.t_upstream)
		return 0;
	/* A connector that sets traceparent itself keeps its own. */
	for (i = 0; i < pl->pl_nheaders; i++)
		if (strcasecmp(pl->pl_headers[i].pf_name, "traceparent") == 0)
			return 0;
	if (pl->pl_nheaders >= PLAN_MAX_FIELDS ||
	    (f = reallocarray(pl->pl_headers, pl->pl_nheaders + 1,
	    sizeof(*f))) == NULL)
		return -1;
	pl->pl_headers = f;
	f = &f[pl->pl_nheaders];
	memset(f, 0, sizeof(*f));
	/* A constant: plan_field_clear leaves it. */
	f->pf_name = (char *)"traceparent";
	f->pf_name_kept = 1;
	f->pf_src = PLAN_TRACE;
	pl->pl_nheaders++;
	return plan_field_add(f, c->c_ctx.a_trace, strlen(c->c_ctx.a_trace),
	    NULL);
}

int
worker_client_limit(struct conn *c, const char *tenant,
    const char *connector, const char *user)
{
	struct worker			*w = c->c_w;
	const struct conf_limits	*l = &worker_config(w)->c_limits;
	char				 key[400];
	int64_t				 retry;
	int				 burst;

	if (l->client_rate <= 0)
		return 0;
	burst = l->client_burst > 0 ? l->client_burst :
	    (int)ceil(l->client_rate);
	/* A reload with another rate starts the counts afresh. */
	if (w->w_clients == NULL || w->w_client_rate != l->client_rate ||
	    w->w_client_burst != burst) {
		ratelimit_table_free(w->w_clients);
		w->w_client_rate = l->client_rate;
		w->w_client_burst = burst;
		if ((w->w_clients = ratelimit_table_new(l->client_rate, burst,
		    WORKER_CLIENT_KEYS)) == NULL)
			return 0;
	}
	if (user != NULL && user[0] != '\0')
		snprintf(key, sizeof(key), "u %s %s", tenant, user);
	else
		snprintf(key, sizeof(key), "a %s", worker_conn_peer(c));
	if (ratelimit_table_check(w->w_clients, key, ratelimit_now(),
	    &retry) == 1)
		return 0;
	c->c_ctx.a_retry_after = (int)((retry + 999999) / 1000000);
	if (c->c_ctx.a_retry_after < 1)
		c->c_ctx.a_retry_after = 1;
	metrics_add(w->w_metrics, tenant, connector, MF_LIMIT_CLIENT, 1);
	return -1;
}
