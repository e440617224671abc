/*
 * testmode.c — test mode in the worker (see testmode.h).
 *
 * A test runs on a struct conn without a socket (c_fd -1, no read or
 * write event): execute.c writes its answer to c_out exactly as to a
 * browser, and testmode_answered() reads it back (bytes this process
 * wrote itself) and sends it to the parent with X-Debug-Request.  The
 * connection sits in w_conns like any other, so a keeper that goes away
 * answers it 503 at once; it is no client's, so the parent's connection
 * count never sees it.
 */
#include "build.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "api.h"
#include "chan.h"
#include "config.h"
#include "connector.h"
#include "ipc.h"
#include "log.h"
#include "plan.h"
#include "snapshot.h"
#include "template/template.h"
#include "testmode.h"
#include "testmsg.h"
#include "worker.h"

struct testmode {
	uint32_t		 tm_id;		/* the parent's test number */
	struct registry		*tm_reg;	/* an unsaved definition */
	char			*tm_debug;	/* X-Debug-Request, once planned */
	struct wgen		*tm_gen;	/* keeps tm_conn alive */
	const struct connector	*tm_conn;	/* what runs, once known */
};

/* --- X-Debug-Request ------------------------------------------------------ */

/* A field's text, secrets as the template text they came from. */
static char *
testmode_field_text(const struct plan_field *f, int *has_secret)
{
	struct evbuffer	*b;
	char		*lit, *out = NULL;
	size_t		 i, len;

	*has_secret = 0;
	if ((b = evbuffer_new()) == NULL)
		return NULL;
	for (i = 0; i < f->pf_nsegs; i++) {
		if (f->pf_segs[i].ps_secret == NULL) {
			evbuffer_add(b, f->pf_segs[i].ps_data,
			    f->pf_segs[i].ps_len);
			continue;
		}
		*has_secret = 1;
		if ((lit = tsecret_literal(f->pf_segs[i].ps_secret)) == NULL)
			goto out;
		evbuffer_add(b, lit, strlen(lit));
		free(lit);
	}
	len = evbuffer_get_length(b);
	if ((out = malloc(len + 1)) != NULL) {
		evbuffer_remove(b, out, len);
		out[len] = '\0';
	}
out:
	evbuffer_free(b);
	return out;
}

static struct json_object *
testmode_str(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/* Add name: text of f to o; a key or certificate written inline is named,
 * not printed. */
static void
testmode_add_field(struct json_object *o, const char *name,
    const struct plan_field *f, int pem)
{
	char	*t, buf[96];
	int	 secret;

	if ((t = testmode_field_text(f, &secret)) == NULL)
		return;
	if (pem && !secret) {
		snprintf(buf, sizeof(buf), "<inline PEM, %zu bytes>",
		    strlen(t));
		json_object_object_add(o, name, json_object_new_string(buf));
	} else
		json_object_object_add(o, name, json_object_new_string(t));
	free(t);
}

static const struct plan_field *
testmode_auth_field(const struct plan *pl, int id)
{
	size_t	 i;

	for (i = 0; i < pl->pl_nauth; i++)
		if (pl->pl_auth[i].pf_src == (uint32_t)id)
			return &pl->pl_auth[i];
	return NULL;
}

/* The text of an auth field, secrets as literals; "" when absent. */
static char *
testmode_auth_text(const struct plan *pl, int id)
{
	const struct plan_field	*f = testmode_auth_field(pl, id);
	int			 secret;

	return f != NULL ? testmode_field_text(f, &secret) : strdup("");
}

/*
 * "authentication": the connector's type and its fields as rendered;
 * "headers" gains what the keeper adds, described: a token, a signed
 * JWT or a signature never exists outside the keeper.
 */
static void
testmode_debug_auth(struct json_object *root, struct json_object *hdrs,
    const struct conn_request *cr, const struct plan *pl)
{
	static const struct {
		int		 id;
		const char	*name;
		int		 pem;
	} names[] = {
		{ PA_CLIENT_ID, "client_id", 0 },
		{ PA_CLIENT_SECRET, "client_secret", 0 },
		{ PA_TOKEN_URL, "token_url", 0 },
		{ PA_SCOPE, "scope", 0 },
		{ PA_PRIVATE_KEY, "private_key", 1 },
		{ PA_SUBJECT, "subject", 0 },
		{ PA_AUDIENCE, "audience", 0 },
		{ PA_CERT, "client_certificate", 1 },
		{ PA_CERT_KEY, "client_certificate_key", 1 },
		{ PA_AWS_KEY_ID, "aws_access_key_id", 0 },
		{ PA_AWS_SECRET, "aws_secret_access_key", 0 },
		{ PA_AWS_TOKEN, "aws_session_token", 0 },
	};
	const struct conn_auth	*a = &cr->cr_auth;
	const struct plan_field	*f;
	struct json_object	*auth, *claims = NULL, *jh = NULL;
	char			*t, *u, buf[1200];
	size_t			 i, k;

	auth = json_object_new_object();
	json_object_object_add(auth, "type",
	    json_object_new_string(conn_auth_name(a->ca_type)));
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if ((f = testmode_auth_field(pl, names[k].id)) != NULL)
			testmode_add_field(auth, names[k].name, f,
			    names[k].pem);
	for (i = 0; i < pl->pl_nauth; i++) {
		f = &pl->pl_auth[i];
		if (f->pf_src != PA_CLAIM && f->pf_src != PA_JWT_HEADER)
			continue;
		if (f->pf_src == PA_CLAIM && claims == NULL)
			claims = json_object_new_object();
		if (f->pf_src == PA_JWT_HEADER && jh == NULL)
			jh = json_object_new_object();
		testmode_add_field(f->pf_src == PA_CLAIM ? claims : jh,
		    f->pf_name, f, 0);
	}
	/* Claims configured as JSON values never travel: the connector's. */
	for (i = 0; a->ca_type == CONN_AUTH_JWT ||
	    a->ca_type == CONN_AUTH_OAUTH_JWT_BEARER ? i < a->ca_nclaims : 0;
	    i++)
		if (a->ca_claims[i].cl_json != NULL) {
			if (claims == NULL)
				claims = json_object_new_object();
			json_object_object_add(claims, a->ca_claims[i].cl_key,
			    json_object_get(a->ca_claims[i].cl_json));
		}
	if (claims != NULL)
		json_object_object_add(auth, a->ca_type == CONN_AUTH_JWT ?
		    "claims" : "additional_claims", claims);
	if (jh != NULL)
		json_object_object_add(auth, "jwt_headers", jh);
	if (a->ca_type == CONN_AUTH_JWT ||
	    a->ca_type == CONN_AUTH_OAUTH_JWT_BEARER)
		json_object_object_add(auth, "algorithm",
		    json_object_new_string(a->ca_algorithm));
	if (a->ca_type == CONN_AUTH_OAUTH_JWT_BEARER) {
		snprintf(buf, sizeof(buf), "%ld", a->ca_token_ttl);
		json_object_object_add(auth, "token_ttl",
		    json_object_new_int64(a->ca_token_ttl));
	}
	if (a->ca_type == CONN_AUTH_API_KEY) {
		json_object_object_add(auth, "in", json_object_new_string(
		    a->ca_in == CONN_IN_HEADER ? "header" : "query"));
		for (i = 0; i < pl->pl_nheaders + pl->pl_nquery; i++) {
			f = i < pl->pl_nheaders ? &pl->pl_headers[i] :
			    &pl->pl_query[i - pl->pl_nheaders];
			if (f->pf_src != PLAN_AUTH)
				continue;
			json_object_object_add(auth, "key",
			    json_object_new_string(f->pf_name));
			testmode_add_field(auth, "value", f, 0);
		}
	}
	if (cr->cr_ext.ce_sigv4) {
		json_object_object_add(auth, "aws_region",
		    json_object_new_string(cr->cr_ext.ce_aws_region));
		json_object_object_add(auth, "aws_service",
		    json_object_new_string(cr->cr_ext.ce_aws_service));
	}
	json_object_object_add(root, "authentication", auth);

	/* What the keeper adds to the headers, said in words. */
	switch (a->ca_type) {
	case CONN_AUTH_OAUTH_CC:
	case CONN_AUTH_OAUTH_JWT_BEARER:
		if ((u = testmode_auth_text(pl, PA_TOKEN_URL)) == NULL)
			break;
		snprintf(buf, sizeof(buf), "Bearer <access token from %s "
		    "(%s), fetched and cached by the keeper>", u,
		    conn_auth_name(a->ca_type));
		free(u);
		json_object_object_add(hdrs, "Authorization",
		    json_object_new_string(buf));
		break;
	case CONN_AUTH_JWT:
		f = testmode_auth_field(pl, PA_PRIVATE_KEY);
		t = f != NULL ? testmode_auth_text(pl, PA_PRIVATE_KEY) : NULL;
		snprintf(buf, sizeof(buf), "Bearer <JWT (%s) signed by the "
		    "keeper with %s>", a->ca_algorithm, t != NULL &&
		    strstr(t, "get_secret") != NULL ? t : "the inline key");
		free(t);
		json_object_object_add(hdrs, "Authorization",
		    json_object_new_string(buf));
		break;
	default:
		break;
	}
	if (cr->cr_ext.ce_sigv4) {
		if ((t = testmode_auth_text(pl, PA_AWS_SECRET)) == NULL)
			return;
		if ((u = testmode_auth_text(pl, PA_AWS_KEY_ID)) == NULL) {
			free(t);
			return;
		}
		snprintf(buf, sizeof(buf), "AWS4-HMAC-SHA256 Credential=%s/"
		    "<date>/%s/%s/aws4_request, SignedHeaders=<signed>, "
		    "Signature=<computed by the keeper with %s>", u,
		    cr->cr_ext.ce_aws_region, cr->cr_ext.ce_aws_service, t);
		free(t);
		free(u);
		json_object_object_add(hdrs, "Authorization",
		    json_object_new_string(buf));
		json_object_object_add(hdrs, "X-Amz-Date",
		    json_object_new_string("<the signing time>"));
		json_object_object_add(hdrs, "X-Amz-Content-Sha256",
		    json_object_new_string("<SHA-256 of the body>"));
		if ((f = testmode_auth_field(pl, PA_AWS_TOKEN)) != NULL)
			testmode_add_field(hdrs, "X-Amz-Security-Token", f, 0);
	}
}

/* The JSON of X-Debug-Request (platform-docs §18). */
static char *
testmode_debug_json(const struct conn_request *cr, const struct plan *pl)
{
	struct json_object	*root, *hdrs, *query;
	const char		*s;
	char			*out = NULL;
	size_t			 i;

	if ((root = json_object_new_object()) == NULL)
		return NULL;
	hdrs = json_object_new_object();
	query = json_object_new_object();
	json_object_object_add(root, "url", testmode_str(pl != NULL ?
	    pl->pl_url : NULL));
	json_object_object_add(root, "method", json_object_new_string(
	    conn_method_name(cr->cr_method)));
	for (i = 0; pl != NULL && i < pl->pl_nheaders; i++)
		testmode_add_field(hdrs, pl->pl_headers[i].pf_name,
		    &pl->pl_headers[i], 0);
	for (i = 0; pl != NULL && i < pl->pl_nquery; i++)
		testmode_add_field(query, pl->pl_query[i].pf_name,
		    &pl->pl_query[i], 0);
	if (pl != NULL)
		testmode_debug_auth(root, hdrs, cr, pl);
	else
		json_object_object_add(root, "authentication", NULL);
	json_object_object_add(root, "headers", hdrs);
	json_object_object_add(root, "query_parameters", query);
	json_object_object_add(root, "request_body", pl != NULL &&
	    pl->pl_has_body ? json_object_new_string_len(
	    (const char *)(pl->pl_body != NULL ? pl->pl_body :
	    (const unsigned char *)""), (int)pl->pl_bodylen) : NULL);
	json_object_object_add(root, "response_body",
	    cr->cr_response_body.ct_len > 0 ?
	    json_object_new_string(cr->cr_response_body.ct_src) : NULL);
	json_object_object_add(root, "response_content_type",
	    cr->cr_response_content_type[0] != '\0' ?
	    json_object_new_string(cr->cr_response_content_type) : NULL);
	if ((s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) != NULL)
		out = strdup(s);
	json_object_put(root);
	return out;
}

/* --- Hooks ------------------------------------------------------------------ */

const struct connector *
testmode_connector(struct conn *c, const struct snap_tenant *st,
    const char *permalink)
{
	struct testmode	*tm = c->c_test;

	if (tm->tm_reg != NULL)
		tm->tm_conn = &tm->tm_reg->r_conns[0];
	else
		tm->tm_conn = registry_connector(st->st_reg, permalink);
	return tm->tm_conn;
}

void
testmode_plan(struct conn *c, struct plan *pl)
{
	struct testmode	*tm = c->c_test;

	pl->pl_flags |= PLAN_F_DEBUG;
	if (tm->tm_reg != NULL) {
		pl->pl_kind = PLAN_TEST;
		pl->pl_conn = tm->tm_id;
	}
}

void
testmode_debug(struct conn *c, const struct plan *pl)
{
	struct testmode	*tm = c->c_test;

	free(tm->tm_debug);
	tm->tm_debug = tm->tm_conn != NULL ?
	    testmode_debug_json(&tm->tm_conn->c_req, pl) : NULL;
}

/* --- The run ------------------------------------------------------------------ */

/* The keeper's window ran out (the only timer a test connection uses). */
static void
testmode_timer_cb(int fd, short what, void *arg)
{
	struct conn	*c = arg;

	if (c->c_timer_kind != CT_KEEPER)
		return;
	c->c_timer_kind = CT_NONE;
	log_warnx("keeper did not answer a test in time");
	execute_abort(c, 503, "the secrets keeper did not answer in time; "
	    "retry later");
}

/* Tell the parent a test could not even start. */
static void
testmode_refuse(struct worker *w, uint32_t id, int status, const char *why)
{
	struct testmsg_res	 r;
	struct ipc_buf		 b;
	char			*body;

	memset(&r, 0, sizeof(r));
	r.tr_status = (uint32_t)status;
	body = api_error_body(api_status_code(status), why, "Request", NULL,
	    "00000000-0000-4000-8000-000000000000");
	r.tr_body = body != NULL ? body : (char *)"";
	r.tr_bodylen = strlen(r.tr_body);
	r.tr_debug = (char *)"";
	if (testmsg_res_encode(&b, &r) == 0)
		chan_send(w->w_parent, MSG_TEST_DONE, id, b.b_data, b.b_len,
		    -1);
	ipc_buf_clear(&b);
	free(body);
}

/* The request a browser would have sent for q. */
static struct http_request *
testmode_request(const struct testmsg_req *q, const struct conf_tenant *t,
    const char *method, const char *permalink)
{
	struct http_request	*r;
	uint32_t		 i;
	size_t			 n = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->r_headers = calloc(q->tq_nheaders + 1,
	    sizeof(*r->r_headers))) == NULL)
		goto fail;
	r->r_version_minor = 1;
	if ((r->r_method = strdup(method)) == NULL)
		goto fail;
	if (asprintf(&r->r_path, API_PREFIX "/connectors/%s/execute",
	    permalink) == -1) {
		r->r_path = NULL;
		goto fail;
	}
	if (asprintf(&r->r_target, "%s%s%s", r->r_path, q->tq_query[0] !=
	    '\0' ? "?" : "", q->tq_query) == -1) {
		r->r_target = NULL;
		goto fail;
	}
	if (q->tq_query[0] != '\0' && (r->r_query = strdup(q->tq_query)) ==
	    NULL)
		goto fail;
	/* The tenant's own name, so that the Host finds it again. */
	r->r_headers[n].h_name = strdup("Host");
	r->r_headers[n].h_value = strdup(t->t_nhosts > 0 ? t->t_hosts[0] :
	    "widgetctl.invalid");
	if (r->r_headers[n].h_name == NULL || r->r_headers[n++].h_value ==
	    NULL)
		goto fail;
	r->r_nheaders = n;
	for (i = 0; i < q->tq_nheaders; i++) {
		if (strcasecmp(q->tq_headers[i].th_name, "Host") == 0)
			continue;
		r->r_headers[n].h_name = strdup(q->tq_headers[i].th_name);
		r->r_headers[n].h_value = strdup(q->tq_headers[i].th_value);
		r->r_nheaders = ++n;
		if (r->r_headers[n - 1].h_name == NULL ||
		    r->r_headers[n - 1].h_value == NULL)
			goto fail;
	}
	if ((r->r_body = malloc(q->tq_bodylen + 1)) == NULL)
		goto fail;
	memcpy(r->r_body, q->tq_body, q->tq_bodylen);
	r->r_body[q->tq_bodylen] = '\0';
	r->r_bodylen = q->tq_bodylen;
	return r;
fail:
	http_request_free(r);
	return NULL;
}

void
testmode_start(struct worker *w, struct ipc_msg *m)
{
	const struct snapshot	*sn = w->w_gen->wg_snap;
	const struct snap_tenant *st;
	const struct connector	*cn = NULL;
	struct testmsg_req	 q;
	struct reg_report	 rep;
	struct testmode		*tm = NULL;
	struct conn		*c = NULL;
	char			 why[512];
	const char		*permalink;

	memset(&rep, 0, sizeof(rep));
	if (testmsg_req_decode(m, &q) == -1) {
		/* Only a broken parent sends that. */
		log_warnx("malformed MSG_TEST");
		testmode_refuse(w, m->m_id, 500, "malformed test request");
		return;
	}
	if (q.tq_tenant >= sn->sn_cfg->c_ntenants) {
		testmode_refuse(w, m->m_id, 404, "no such tenant");
		goto out;
	}
	st = &sn->sn_tenants[q.tq_tenant];
	if ((tm = calloc(1, sizeof(*tm))) == NULL)
		goto oom;
	tm->tm_id = m->m_id;
	permalink = q.tq_permalink;
	if (q.tq_deflen > 0) {
		tm->tm_reg = registry_load_codemode_buffer(q.tq_defname,
		    q.tq_def, q.tq_deflen, &sn->sn_cfg->c_egress.policy, &rep);
		if (tm->tm_reg == NULL || registry_nconnectors(tm->tm_reg) !=
		    1) {
			snprintf(why, sizeof(why), "the definition does not "
			    "load: %s", rep.rr_nerrors > 0 ?
			    rep.rr_errors[0].re_msg : "no connector");
			testmode_refuse(w, m->m_id, 422, why);
			goto out;
		}
		cn = &tm->tm_reg->r_conns[0];
		permalink = cn->c_permalink;
	} else
		cn = registry_connector(st->st_reg, permalink);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->c_timer = evtimer_new(w->w_base, testmode_timer_cb, c)) ==
	    NULL || (c->c_in = evbuffer_new()) == NULL ||
	    (c->c_out = evbuffer_new()) == NULL ||
	    (c->c_req = testmode_request(&q, &sn->sn_cfg->c_tenants[
	    q.tq_tenant], cn != NULL ? conn_method_name(cn->c_req.cr_method) :
	    "GET", permalink)) == NULL)
		goto oom;
	c->c_w = w;
	c->c_fd = -1;
	tm->tm_gen = worker_gen_ref(w);
	c->c_test = tm;
	tm = NULL;
	c->c_timer_kind = CT_NONE;
	snprintf(c->c_peer, sizeof(c->c_peer), "control");
	api_ctx_init(&c->c_ctx);
	c->c_ctx_started = 1;
	TAILQ_INSERT_TAIL(&w->w_conns, c, c_entry);
	w->w_nconns++;
	log_debug("test %u: %s%s", m->m_id, permalink, q.tq_deflen > 0 ?
	    " (unsaved definition)" : "");
	/* Answered now or later; either way testmode_answered() sends it. */
	execute_connector(c, permalink);
	goto out;
oom:
	testmode_refuse(w, m->m_id, 500, "out of memory");
	if (c != NULL) {
		if (c->c_timer != NULL)
			event_free(c->c_timer);
		if (c->c_in != NULL)
			evbuffer_free(c->c_in);
		if (c->c_out != NULL)
			evbuffer_free(c->c_out);
		http_request_free(c->c_req);
		free(c);
	}
out:
	if (tm != NULL) {
		registry_free(tm->tm_reg);
		free(tm);
	}
	reg_report_clear(&rep);
	testmsg_req_clear(&q);
}

/*
 * The answer execute.c wrote, read back: the status line, the header
 * lines, the body.  It is this process's own output, framed by
 * http_write_response().
 */
static int
testmode_parse(struct evbuffer *out, struct testmsg_res *r)
{
	struct testmsg_header	*h;
	size_t			 len = evbuffer_get_length(out), hlen;
	char			*p, *end, *line, *next, *colon;

	if ((p = (char *)evbuffer_pullup(out, -1)) == NULL || len < 12)
		return -1;
	if ((end = memmem(p, len, "\r\n\r\n", 4)) == NULL)
		return -1;
	hlen = (size_t)(end - p) + 4;
	*end = '\0';
	r->tr_status = (uint32_t)strtoul(p + 9, NULL, 10);
	if ((r->tr_headers = calloc(TESTMSG_MAX_HEADERS,
	    sizeof(*r->tr_headers))) == NULL)
		return -1;
	for (line = strstr(p, "\r\n"); line != NULL; line = next) {
		line += 2;
		if ((next = strstr(line, "\r\n")) != NULL)
			*next = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		/* Framing is the relay's business, not the answer's. */
		if (strcasecmp(line, "Content-Length") == 0 ||
		    strcasecmp(line, "Connection") == 0 ||
		    r->tr_nheaders == TESTMSG_MAX_HEADERS)
			continue;
		h = &r->tr_headers[r->tr_nheaders++];
		h->th_name = strdup(line);
		h->th_value = strdup(colon + 1 + strspn(colon + 1, " "));
		if (h->th_name == NULL || h->th_value == NULL)
			return -1;
	}
	r->tr_bodylen = len - hlen;
	if ((r->tr_body = malloc(r->tr_bodylen + 1)) == NULL)
		return -1;
	memcpy(r->tr_body, p + hlen, r->tr_bodylen);
	r->tr_body[r->tr_bodylen] = '\0';
	return 0;
}

void
testmode_answered(struct conn *c)
{
	struct testmode		*tm = c->c_test;
	struct testmsg_res	 r;
	struct ipc_buf		 b;

	memset(&r, 0, sizeof(r));
	if (testmode_parse(c->c_out, &r) == -1) {
		testmsg_res_clear(&r);
		testmode_refuse(c->c_w, tm->tm_id, 500, "out of memory");
		return;
	}
	/* Refused before a plan existed: what is known of the request. */
	if (tm->tm_debug == NULL && tm->tm_conn != NULL)
		tm->tm_debug = testmode_debug_json(&tm->tm_conn->c_req, NULL);
	r.tr_debug = tm->tm_debug;
	tm->tm_debug = NULL;
	if (testmsg_res_encode(&b, &r) == 0)
		chan_send(c->c_w->w_parent, MSG_TEST_DONE, tm->tm_id, b.b_data,
		    b.b_len, -1);
	else
		testmode_refuse(c->c_w, tm->tm_id, 502, "the answer is too "
		    "large to relay");
	ipc_buf_clear(&b);
	testmsg_res_clear(&r);
}

void
testmode_free(struct conn *c)
{
	struct testmode	*tm = c->c_test;

	if (tm == NULL)
		return;
	registry_free(tm->tm_reg);
	free(tm->tm_debug);
	worker_gen_unref(tm->tm_gen);
	free(tm);
	c->c_test = NULL;
}
