/*
 * keeper_plan.c — checking a worker's plan and completing it (see
 * keeper_plan.h).  Keeper only: keeper_plan_complete() handles secret
 * values.
 */
#include "build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "cachehdr.h"
#include "config.h"
#include "connector.h"
#include "keeper_plan.h"
#include "netpolicy.h"
#include "plan.h"
#include "rowidx.h"
#include "trace.h"
#include "snapshot.h"
#include "template/template.h"
#include "token.h"

#define SCOPE_TEMPLATE	"Configuration (template rendering)"
#define SCOPE_JWT	"Authentication (JWT signing)"
#define SCOPE_NETWORK	"Downstream (network/external service)"

/* The connector request a plan claims to come from; NULL if none. */
static const struct conn_request *
kplan_request(const struct snapshot *sn, const struct plan *pl)
{
	const struct registry	*reg;
	const struct composite	*cc;

	if (pl->pl_tenant >= sn->sn_cfg->c_ntenants)
		return NULL;
	reg = sn->sn_tenants[pl->pl_tenant].st_reg;
	if (pl->pl_kind == PLAN_CONNECTOR) {
		if (pl->pl_conn >= reg->r_nconns || pl->pl_step != 0)
			return NULL;
		return &reg->r_conns[pl->pl_conn].c_req;
	}
	/* PLAN_TEST names no registry entry: keeper_call() has its own. */
	if (pl->pl_kind != PLAN_STEP || pl->pl_conn >= reg->r_ncomps)
		return NULL;
	cc = &reg->r_comps[pl->pl_conn];
	if (pl->pl_step >= cc->cc_nsteps)
		return NULL;
	return &cc->cc_steps[pl->pl_step].cs_req;
}

/*
 * "a", or "a/b", into buf, cut to fit as snprintf would: once a call,
 * where snprintf's format parsing was a third of a percent of the keeper.
 */
static void
kplan_name_put(char *buf, size_t cap, const char *a, const char *b)
{
	size_t	 n, m;

	n = strnlen(a, cap - 1);
	memcpy(buf, a, n);
	if (b != NULL && n < cap - 1) {
		buf[n++] = '/';
		m = strnlen(b, cap - 1 - n);
		memcpy(buf + n, b, m);
		n += m;
	}
	buf[n] = '\0';
}

/*
 * What limits and metrics call the plan's connector: its permalink, or
 * for a composite's step "permalink/step".  The plan was checked.
 */
static void
kplan_connector_name(const struct snapshot *sn, const struct plan *pl,
    struct kreq *kr)
{
	const struct registry	*reg = sn->sn_tenants[pl->pl_tenant].st_reg;
	const struct composite	*cc;

	switch (pl->pl_kind) {
	case PLAN_CONNECTOR:
		kplan_name_put(kr->kr_connbuf, sizeof(kr->kr_connbuf),
		    reg->r_conns[pl->pl_conn].c_permalink, NULL);
		break;
	case PLAN_STEP:
		cc = &reg->r_comps[pl->pl_conn];
		kplan_name_put(kr->kr_connbuf, sizeof(kr->kr_connbuf),
		    cc->cc_permalink, cc->cc_steps[pl->pl_step].cs_name);
		break;
	default:
		/*
		 * A test's unsaved definition is in no registry (pl_conn is
		 * the test's number): one name for all of them, never a
		 * saved connector's (no slug has parentheses), so a test
		 * cannot use up its limits.  No space: it is a metrics
		 * label, which the parent checks (metrics_name_ok).
		 */
		kplan_name_put(kr->kr_connbuf, sizeof(kr->kr_connbuf),
		    "(test)", NULL);
		break;
	}
	kr->kr_connector = kr->kr_connbuf;
}

static int
kplan_fail(struct fail *fl, int status, const char *scope,
    const char *fmt, const char *arg)
{
	char	 buf[512];

	memset(fl, 0, sizeof(*fl));
	snprintf(buf, sizeof(buf), fmt, arg);
	fl->fl_status = (uint32_t)status;
	fl->fl_code = strdup("");
	fl->fl_scope = strdup(scope);
	fl->fl_detail = strdup(buf);
	fl->fl_host = strdup("");
	fl->fl_debug = strdup("");
	return 1;
}

/* Out of memory: widgetd's failure, never the connector's 422. */
static void
kplan_fail_oom(struct fail *fl)
{
	kplan_fail(fl, 500, "Unexpected error", "%s", "out of memory");
}

/* RFC 9110 token characters: a header name. */
static int
kplan_token(const char *s)
{
	size_t	 n = strlen(s);

	return n <= 255 && tok_is_token(s, n);
}

/*
 * Every secret named in ts is in the usage's list, and one the template
 * uses only as a jwt_encode() key appears only as one (inkey): a worker
 * cannot have an HMAC or private key sent as it is.
 */
static int
kplan_secrets_named(const struct tsecret *ts, const struct tmpl_usage *u,
    int inkey)
{
	size_t	 i;

	if (ts->ts_op == TSX_SECRET) {
		for (i = 0; u != NULL && i < u->tu_nsecrets; i++)
			if (strlen(u->tu_secrets[i]) == ts->ts_len &&
			    memcmp(u->tu_secrets[i], ts->ts_data,
			    ts->ts_len) == 0)
				return inkey || !u->tu_secret_keyonly[i];
		return 0;
	}
	for (i = 0; i < ts->ts_nkids; i++)
		if (!kplan_secrets_named(ts->ts_kids[i], u, inkey ||
		    (ts->ts_op == TSX_JWT && i == 0)))
			return 0;
	return 1;
}

/*
 * A field's values: literal parts clean; secrets only those named by
 * tmpl (NULL: none may appear).
 */
static int
kplan_field_ok(const struct plan_field *f, const struct tmpl *tmpl)
{
	const struct tmpl_usage	*u = tmpl != NULL ? tmpl_usage(tmpl) : NULL;
	size_t			 i;

	for (i = 0; i < f->pf_nsegs; i++) {
		if (f->pf_segs[i].ps_secret == NULL) {
			if (!tok_clean(f->pf_segs[i].ps_data,
			    f->pf_segs[i].ps_len))
				return 0;
		} else if (u == NULL || (u->tu_flags & TMPL_USES_SECRET) == 0 ||
		    !kplan_secrets_named(f->pf_segs[i].ps_secret, u, 0))
			return 0;
	}
	return 1;
}

static const struct conn_tmpl *
kplan_row_value(const struct conn_param *rows, size_t nrows,
    const struct plan_field *f, int overridable)
{
	if (f->pf_row >= nrows || strcmp(rows[f->pf_row].cp_key,
	    f->pf_name) != 0)
		return NULL;
	if (overridable && !rows[f->pf_row].cp_overridable)
		return NULL;
	return &rows[f->pf_row].cp_value;
}

/* The api_key field: its name is the configured key when that is literal. */
static int
kplan_auth_ok(const struct conn_auth *a, const struct plan_field *f,
    enum conn_auth_in where)
{
	if (a->ca_type != CONN_AUTH_API_KEY || a->ca_in != where)
		return 0;
	if (a->ca_key.ct_tmpl != NULL && tmpl_is_literal(a->ca_key.ct_tmpl) &&
	    strcmp(a->ca_key.ct_src, f->pf_name) != 0)
		return 0;
	return kplan_field_ok(f, a->ca_value.ct_tmpl);
}

/*
 * A validator is the worker's response cache revalidating what it stored
 * (cache.c): only on a GET or HEAD, one literal value of the shape a cache
 * sends — one entity-tag, or an HTTP-date.  A browser's conditional
 * headers never become one (execute.c copies none of them).
 */
static int
kplan_validator_ok(const struct plan *pl, const struct plan_field *f)
{
	const struct plan_seg	*sg = f->pf_segs;

	if ((strcmp(pl->pl_method, "GET") != 0 &&
	    strcmp(pl->pl_method, "HEAD") != 0) || pl->pl_has_body ||
	    f->pf_nsegs != 1 || sg->ps_secret != NULL ||
	    !tok_clean(sg->ps_data, sg->ps_len))
		return 0;
	if (strcasecmp(f->pf_name, "If-None-Match") == 0)
		return cachehdr_etag_ok(sg->ps_data, sg->ps_len);
	if (strcasecmp(f->pf_name, "If-Modified-Since") == 0) {
		int64_t	 t;

		return cachehdr_date(sg->ps_data, sg->ps_len, &t) == 0;
	}
	return 0;
}

static const char *
kplan_check_headers(const struct conn_request *cr, const struct plan *pl)
{
	const struct plan_field	*f;
	const struct conn_tmpl	*row;
	struct trace		 tr;
	char			*names[PLAN_MAX_FIELDS];
	size_t			 i, n, first[PLAN_MAX_FIELDS];

	if ((n = pl->pl_nheaders) > PLAN_MAX_FIELDS)
		return "too many headers";
	if (n == 0)
		return NULL;
	/* A worker may send PLAN_MAX_FIELDS of them: no walk back each. */
	for (i = 0; i < n; i++)
		names[i] = pl->pl_headers[i].pf_name;
	rowidx_firsts(names, n, 1, first);
	for (i = 0; i < n; i++) {
		f = &pl->pl_headers[i];
		if (!kplan_token(f->pf_name) ||
		    plan_header_reserved(f->pf_name))
			return "header name not allowed";
		if (first[i] != i)
			return "header sent twice";
		switch (f->pf_src) {
		case PLAN_ROW:
			row = kplan_row_value(cr->cr_headers, cr->cr_nheaders,
			    f, 0);
			if (row == NULL || !kplan_field_ok(f, row->ct_tmpl))
				return "header does not match its row";
			break;
		case PLAN_OVERRIDE:
			row = kplan_row_value(cr->cr_headers, cr->cr_nheaders,
			    f, 1);
			if (row == NULL || !kplan_field_ok(f, NULL))
				return "header override not allowed";
			break;
		case PLAN_AUTH:
			if (!kplan_auth_ok(&cr->cr_auth, f, CONN_IN_HEADER))
				return "authentication header does not match";
			break;
		case PLAN_BODY:
			if ((strcasecmp(f->pf_name, "Content-Type") != 0 &&
			    strcasecmp(f->pf_name, "Accept") != 0) ||
			    !kplan_field_ok(f, NULL))
				return "body header not allowed";
			break;
		case PLAN_TRACE:
			/* One literal, well-formed traceparent: nothing
			 * else can ride on this source. */
			if (strcmp(f->pf_name, "traceparent") != 0 ||
			    f->pf_nsegs != 1 || !kplan_field_ok(f, NULL) ||
			    trace_parse(f->pf_segs[0].ps_data,
			    f->pf_segs[0].ps_len, &tr) == -1)
				return "trace header not allowed";
			break;
		case PLAN_VALIDATOR:
			if (!kplan_validator_ok(pl, f))
				return "validator header not allowed";
			break;
		default:
			return "header from an unknown source";
		}
	}
	return NULL;
}

/*
 * A caller's key may not be one the connector itself sets: a declared
 * row's, or the api_key's.  A rendered api_key name is known only from
 * the plan's own authentication field (its name is the worker's to
 * render, and kplan_auth_ok checks the rest).
 */
static int
kplan_query_declared(const struct conn_request *cr, const struct plan *pl,
    const char *key)
{
	const struct conn_auth	*a = &cr->cr_auth;
	size_t			 i;

	for (i = 0; i < cr->cr_nquery; i++)
		if (strcmp(cr->cr_query[i].cp_key, key) == 0)
			return 1;
	if (a->ca_type != CONN_AUTH_API_KEY || a->ca_in != CONN_IN_QUERY)
		return 0;
	if (a->ca_key.ct_tmpl != NULL && tmpl_is_literal(a->ca_key.ct_tmpl))
		return strcmp(a->ca_key.ct_src, key) == 0;
	for (i = 0; i < pl->pl_nquery; i++)
		if (pl->pl_query[i].pf_src == PLAN_AUTH &&
		    strcmp(pl->pl_query[i].pf_name, key) == 0)
			return 1;
	return 0;
}

static const char *
kplan_check_query(const struct conn_request *cr, const struct plan *pl)
{
	const struct plan_field	*f;
	const struct conn_tmpl	*row;
	size_t			 i;

	for (i = 0; i < pl->pl_nquery; i++) {
		f = &pl->pl_query[i];
		if (f->pf_name[0] == '\0' || !tok_clean(f->pf_name,
		    strlen(f->pf_name)))
			return "query key not allowed";
		switch (f->pf_src) {
		case PLAN_ROW:
			row = kplan_row_value(cr->cr_query, cr->cr_nquery, f, 0);
			if (row == NULL || !kplan_field_ok(f, row->ct_tmpl))
				return "query field does not match its row";
			break;
		case PLAN_OVERRIDE:
			/* A step's query comes from its rows (SPEC §9). */
			row = kplan_row_value(cr->cr_query, cr->cr_nquery, f, 1);
			if (row == NULL || !kplan_field_ok(f, NULL) ||
			    pl->pl_kind == PLAN_STEP)
				return "query override not allowed";
			break;
		case PLAN_AUTH:
			if (!kplan_auth_ok(&cr->cr_auth, f, CONN_IN_QUERY))
				return "authentication query does not match";
			break;
		case PLAN_CALLER:
			/* Dropped, never sent beside the configured value. */
			if (kplan_query_declared(cr, pl, f->pf_name) ||
			    !kplan_field_ok(f, NULL) ||
			    pl->pl_kind == PLAN_STEP)
				return "caller query field not allowed";
			break;
		default:
			return "query field from an unknown source";
		}
	}
	return NULL;
}

static struct tval *
kplan_get_variable(const char *name, void *arg)
{
	const struct snap_var	*v;

	if ((v = snapshot_variable(arg, name)) == NULL)
		return NULL;
	return tval_str(v->sv_value, v->sv_len);
}

/*
 * The origin the URL must start with: the literal one, or the one the
 * tenant's variables give now (platform-docs §3a), checked like a literal
 * host would have been at load.  1 and fl on a refusal that is not the
 * worker's fault.
 */
static int
kplan_origin(const struct snapshot *sn, const struct plan *pl,
    const struct conn_request *cr, const char **out, char **owned,
    struct fail *fl)
{
	char	*text, err[300];

	*out = NULL;
	*owned = NULL;
	/* A literal one is the connector's own text: no copy a call. */
	if ((*out = connector_origin_fixed(&cr->cr_origin,
	    cr->cr_origin_literal)) != NULL)
		return 0;
	if ((text = connector_origin(cr, kplan_get_variable,
	    (void *)&sn->sn_tenants[pl->pl_tenant], err, sizeof(err))) == NULL)
		return kplan_fail(fl, 422, SCOPE_TEMPLATE, "%s", err);
	if (!cr->cr_origin_literal && connector_origin_check(text,
	    &sn->sn_cfg->c_egress.policy, err, sizeof(err)) == -1) {
		free(text);
		return kplan_fail(fl, 422, SCOPE_TEMPLATE, "%s", err);
	}
	*out = *owned = text;
	return 0;
}

/*
 * The template an authentication field of the plan claims to be rendered
 * from, or NULL when the connector has no such field.
 */
static const struct conn_tmpl *
kplan_auth_tmpl(const struct conn_request *cr, const struct plan_field *f)
{
	const struct conn_auth	*a = &cr->cr_auth;
	const struct conn_ext	*e = &cr->cr_ext;
	const struct conn_claim	*cl;
	size_t			 i, n;
	int			 oauth, jwt;

	oauth = a->ca_type == CONN_AUTH_OAUTH_CC ||
	    a->ca_type == CONN_AUTH_OAUTH_JWT_BEARER;
	jwt = a->ca_type == CONN_AUTH_JWT ||
	    a->ca_type == CONN_AUTH_OAUTH_JWT_BEARER;
	switch (f->pf_src) {
	case PA_CLIENT_ID:
		return oauth ? &a->ca_client_id : NULL;
	case PA_TOKEN_URL:
		return oauth ? &a->ca_token_url : NULL;
	case PA_CLIENT_SECRET:
		return a->ca_type == CONN_AUTH_OAUTH_CC ? &a->ca_client_secret :
		    NULL;
	case PA_SCOPE:
		return a->ca_type == CONN_AUTH_OAUTH_CC ? &a->ca_scope : NULL;
	case PA_SUBJECT:
		return a->ca_type == CONN_AUTH_OAUTH_JWT_BEARER ?
		    &a->ca_subject : NULL;
	case PA_AUDIENCE:
		return a->ca_type == CONN_AUTH_OAUTH_JWT_BEARER ?
		    &a->ca_audience : NULL;
	case PA_PRIVATE_KEY:
		return jwt ? &a->ca_private_key : NULL;
	case PA_CLAIM:
	case PA_JWT_HEADER:
		if (!jwt)
			return NULL;
		cl = f->pf_src == PA_CLAIM ? a->ca_claims : a->ca_headers;
		n = f->pf_src == PA_CLAIM ? a->ca_nclaims : a->ca_nheaders;
		for (i = 0; i < n; i++)
			if (cl[i].cl_json == NULL &&
			    strcmp(cl[i].cl_key, f->pf_name) == 0)
				return &cl[i].cl_value;
		return NULL;
	case PA_CERT:
		return &e->ce_cert;
	case PA_CERT_KEY:
		return &e->ce_cert_key;
	case PA_AWS_KEY_ID:
		return e->ce_sigv4 ? &e->ce_aws_key_id : NULL;
	case PA_AWS_SECRET:
		return e->ce_sigv4 ? &e->ce_aws_secret : NULL;
	case PA_AWS_TOKEN:
		return e->ce_sigv4 ? &e->ce_aws_token : NULL;
	}
	return NULL;
}

/* Literal parts may hold newlines only in PEM keys and claims. */
static int
kplan_auth_multiline(uint32_t id)
{
	return id == PA_PRIVATE_KEY || id == PA_CERT || id == PA_CERT_KEY ||
	    id == PA_CLAIM || id == PA_JWT_HEADER;
}

static int
kplan_auth_field_ok(const struct plan_field *f, const struct tmpl *tmpl)
{
	const struct tmpl_usage	*u = tmpl != NULL ? tmpl_usage(tmpl) : NULL;
	size_t			 i;

	for (i = 0; i < f->pf_nsegs; i++) {
		if (f->pf_segs[i].ps_secret != NULL) {
			if (u == NULL || (u->tu_flags & TMPL_USES_SECRET) == 0 ||
			    !kplan_secrets_named(f->pf_segs[i].ps_secret, u, 0))
				return 0;
		} else if (!kplan_auth_multiline(f->pf_src) &&
		    !tok_clean(f->pf_segs[i].ps_data, f->pf_segs[i].ps_len))
			return 0;
		else if (memchr(f->pf_segs[i].ps_data, '\0',
		    f->pf_segs[i].ps_len) != NULL)
			return 0;
	}
	return 1;
}

/*
 * The authentication fields: each from its own template (secrets only
 * those it names), none twice, every one the connector's type needs.
 */
static const char *
kplan_check_auth(const struct conn_request *cr, const struct plan *pl)
{
	const struct conn_tmpl	*t;
	const struct plan_field	*f;
	unsigned int		 seen = 0;
	size_t			 i, j, want = 0, got = 0;

	for (i = 0; i < pl->pl_nauth; i++) {
		f = &pl->pl_auth[i];
		if ((t = kplan_auth_tmpl(cr, f)) == NULL)
			return "authentication field not in the connector";
		if (!kplan_auth_field_ok(f, t->ct_tmpl))
			return "authentication field does not match its "
			    "template";
		if (f->pf_src == PA_CLAIM || f->pf_src == PA_JWT_HEADER) {
			for (j = 0; j < i; j++)
				if (pl->pl_auth[j].pf_src == f->pf_src &&
				    strcmp(pl->pl_auth[j].pf_name,
				    f->pf_name) == 0)
					return "authentication claim sent twice";
			got++;
			continue;
		}
		if (f->pf_name[0] != '\0' || (seen & (1U << f->pf_src)))
			return "authentication field sent twice";
		seen |= 1U << f->pf_src;
		if (f->pf_src == PA_TOKEN_URL && plan_field_has_secret(f))
			return "a secret in a token URL";
	}
	/* Every templated claim and JWT header travels, and nothing else. */
	if (cr->cr_auth.ca_type == CONN_AUTH_JWT ||
	    cr->cr_auth.ca_type == CONN_AUTH_OAUTH_JWT_BEARER) {
		for (i = 0; i < cr->cr_auth.ca_nclaims; i++)
			want += cr->cr_auth.ca_claims[i].cl_json == NULL;
		for (i = 0; i < cr->cr_auth.ca_nheaders; i++)
			want += cr->cr_auth.ca_headers[i].cl_json == NULL;
	}
	if (got != want)
		return "authentication claims missing";
	/* The fields the type cannot do without. */
	switch (cr->cr_auth.ca_type) {
	case CONN_AUTH_OAUTH_CC:
		if ((seen & (1U << PA_CLIENT_ID)) == 0 ||
		    (seen & (1U << PA_CLIENT_SECRET)) == 0 ||
		    (seen & (1U << PA_TOKEN_URL)) == 0)
			return "authentication fields missing";
		break;
	case CONN_AUTH_OAUTH_JWT_BEARER:
		if ((seen & (1U << PA_CLIENT_ID)) == 0 ||
		    (seen & (1U << PA_TOKEN_URL)) == 0 ||
		    (seen & (1U << PA_SUBJECT)) == 0 ||
		    (seen & (1U << PA_AUDIENCE)) == 0 ||
		    (seen & (1U << PA_PRIVATE_KEY)) == 0)
			return "authentication fields missing";
		break;
	case CONN_AUTH_JWT:
		if ((seen & (1U << PA_PRIVATE_KEY)) == 0)
			return "authentication fields missing";
		break;
	default:
		break;
	}
	if (cr->cr_ext.ce_cert.ct_tmpl != NULL &&
	    ((seen & (1U << PA_CERT)) == 0 || (seen & (1U << PA_CERT_KEY)) == 0))
		return "client certificate missing";
	if (cr->cr_ext.ce_sigv4 && ((seen & (1U << PA_AWS_KEY_ID)) == 0 ||
	    (seen & (1U << PA_AWS_SECRET)) == 0))
		return "aws_sigv4 credentials missing";
	return NULL;
}

/* The token URL, where one is needed: at the token origin, whole. */
static int
kplan_check_token_url(const struct snapshot *sn, const struct plan *pl,
    const struct conn_request *cr, struct fail *fl, const char **why)
{
	const struct conn_auth	*a = &cr->cr_auth;
	const struct plan_field	*f = NULL;
	char			*origin, *url, err[300];
	size_t			 i, olen, ulen = 0;
	int			 rv = -1;

	for (i = 0; i < pl->pl_nauth; i++)
		if (pl->pl_auth[i].pf_src == PA_TOKEN_URL)
			f = &pl->pl_auth[i];
	if (f == NULL)
		return 0;
	for (i = 0; i < f->pf_nsegs; i++)
		ulen += f->pf_segs[i].ps_len;
	if ((url = malloc(ulen + 1)) == NULL)
		return -1;
	for (i = 0, ulen = 0; i < f->pf_nsegs; i++) {
		memcpy(url + ulen, f->pf_segs[i].ps_data, f->pf_segs[i].ps_len);
		ulen += f->pf_segs[i].ps_len;
	}
	url[ulen] = '\0';
	if ((origin = connector_origin_of(&a->ca_token_origin,
	    a->ca_token_origin_literal, kplan_get_variable,
	    (void *)&sn->sn_tenants[pl->pl_tenant], err, sizeof(err))) == NULL) {
		free(url);
		return kplan_fail(fl, 422, SCOPE_TEMPLATE, "%s", err);
	}
	if (!a->ca_token_origin_literal && connector_origin_check(origin,
	    &sn->sn_cfg->c_egress.policy, err, sizeof(err)) == -1) {
		kplan_fail(fl, 422, SCOPE_TEMPLATE, "%s", err);
		rv = 1;
		goto out;
	}
	olen = strlen(origin);
	if (strchr(url, ' ') != NULL || strncmp(url, origin, olen) != 0 ||
	    (url[olen] != '\0' && url[olen] != '/' && url[olen] != '?')) {
		*why = "token URL is not at its origin";
		goto out;
	}
	rv = 0;
out:
	free(origin);
	free(url);
	return rv;
}

int
keeper_plan_check(const struct snapshot *sn, const struct plan *pl,
    struct fail *fl, const char **why)
{
	const struct conn_request	*cr;

	*why = NULL;
	if ((cr = kplan_request(sn, pl)) == NULL) {
		*why = "no such connector";
		return -1;
	}
	return keeper_plan_check_request(sn, cr, pl, fl, why);
}

int
keeper_plan_check_request(const struct snapshot *sn,
    const struct conn_request *cr, const struct plan *pl, struct fail *fl,
    const char **why)
{
	const char			*origin;
	char				*owned = NULL;
	size_t				 olen, ulen;
	int				 rv = -1;

	*why = NULL;
	if (strcmp(pl->pl_method, conn_method_name(cr->cr_method)) != 0) {
		*why = "method is not the connector's";
		return -1;
	}
	/* A body only where the hosted product sends one. */
	if (pl->pl_has_body && cr->cr_method != CONN_POST &&
	    cr->cr_method != CONN_PUT && cr->cr_method != CONN_PATCH) {
		*why = "body on a method that has none";
		return -1;
	}
	/* No control byte, and no space or tab either: one pass, measured. */
	for (ulen = 0; pl->pl_url[ulen] != '\0'; ulen++)
		if ((unsigned char)pl->pl_url[ulen] <= 0x20 ||
		    pl->pl_url[ulen] == 0x7f) {
			*why = "control character in the URL";
			return -1;
		}
	if ((rv = kplan_origin(sn, pl, cr, &origin, &owned, fl)) != 0) {
		if (rv == -1)
			*why = "out of memory";
		goto out;
	}
	/* Binding the destination: the URL starts with the origin, whole. */
	olen = strlen(origin);
	if (ulen < olen || strncmp(pl->pl_url, origin, olen) != 0 ||
	    (pl->pl_url[olen] != '\0' && pl->pl_url[olen] != '/' &&
	    pl->pl_url[olen] != '?')) {
		*why = "URL is not at the connector's origin";
		rv = -1;
		goto out;
	}
	if ((*why = kplan_check_headers(cr, pl)) != NULL ||
	    (*why = kplan_check_query(cr, pl)) != NULL ||
	    (*why = kplan_check_auth(cr, pl)) != NULL) {
		rv = -1;
		goto out;
	}
	rv = kplan_check_token_url(sn, pl, cr, fl, why);
out:
	free(owned);
	return rv;
}

/* --- Completing ----------------------------------------------------------- */

/* Empty: its fields zeroed, its storage left as it is. */
static void
kreq_zero(struct kreq *kr)
{
	memset(kr, 0, offsetof(struct kreq, kr_connbuf));
}

/*
 * Whether the call already holds a value the answer must not echo (a
 * secret named by several fields, or looked up again when a field is
 * completed): the redaction set would hold it once anyway.
 */
static int
kreq_secret_has(const struct kreq *kr, const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < kr->kr_nsecrets; i++)
		/* The length is no secret; the bytes are. */
		if (kr->kr_secretlens[i] == len &&
		    CRYPTO_memcmp(kr->kr_secrets[i], p, len) == 0)
			return 1;
	return 0;
}

/* Room for one more value in the list; -1 when out of memory. */
static int
kreq_secret_room(struct kreq *kr)
{
	char	**ns;
	size_t	 *nl, cap;

	if (kr->kr_secretcap == 0) {
		kr->kr_secrets = kr->kr_sbuf;
		kr->kr_secretlens = kr->kr_slbuf;
		kr->kr_secretcap = KREQ_SECRETS;
	}
	if (kr->kr_nsecrets < kr->kr_secretcap)
		return 0;
	cap = kr->kr_secretcap * 2;
	if (kr->kr_secrets == kr->kr_sbuf) {
		/* Out of the kreq's own slots: both arrays move. */
		ns = reallocarray(NULL, cap, sizeof(*ns));
		nl = reallocarray(NULL, cap, sizeof(*nl));
		if (ns == NULL || nl == NULL) {
			free(ns);
			free(nl);
			return -1;
		}
		memcpy(ns, kr->kr_sbuf, sizeof(kr->kr_sbuf));
		memcpy(nl, kr->kr_slbuf, sizeof(kr->kr_slbuf));
		kr->kr_secrets = ns;
		kr->kr_secretlens = nl;
	} else {
		if ((ns = reallocarray(kr->kr_secrets, cap,
		    sizeof(*ns))) == NULL)
			return -1;
		kr->kr_secrets = ns;
		if ((nl = reallocarray(kr->kr_secretlens, cap,
		    sizeof(*nl))) == NULL)
			return -1;
		kr->kr_secretlens = nl;
	}
	kr->kr_secretcap = cap;
	return 0;
}

/* A value the answer must not echo, copied (once: kreq_secret_has). */
int
kreq_secret_add(struct kreq *kr, const char *p, size_t len)
{
	char	*c;

	if (len == 0 || kreq_secret_has(kr, p, len))
		return 0;
	if (kreq_secret_room(kr) == -1 ||
	    (c = keeper_secret_alloc(len + 1)) == NULL)
		return -1;
	memcpy(c, p, len);
	c[len] = '\0';
	kr->kr_secrets[kr->kr_nsecrets] = c;
	kr->kr_secretlens[kr->kr_nsecrets] = len;
	kr->kr_nsecrets++;
	return 0;
}

/*
 * The same for a value of the kreq's own (len bytes, NUL after, wiped
 * and freed with len + 1), not copied: 1 when the list took it (it wipes
 * and frees it on clear; the caller's pointer stays good until then), 0
 * when it holds those bytes already or they are empty (the value is
 * still the caller's), -1 when out of memory.
 */
static int
kreq_secret_keep(struct kreq *kr, char *v, size_t len)
{
	if (len == 0 || kreq_secret_has(kr, v, len))
		return 0;
	if (kreq_secret_room(kr) == -1)
		return -1;
	kr->kr_secrets[kr->kr_nsecrets] = v;
	kr->kr_secretlens[kr->kr_nsecrets] = len;
	kr->kr_nsecrets++;
	return 1;
}

/* Remember each named secret's raw value for redaction. */
struct kplan_lookup {
	keeper_secret_lookup_fn	 kl_fn;
	void			*kl_arg;
	struct kreq		*kl_req;
	int			 kl_err;
};

static int
kplan_lookup(const char *name, const void **val, size_t *len, void *arg)
{
	struct kplan_lookup	*kl = arg;

	if (kl->kl_fn(name, val, len, kl->kl_arg) == -1)
		return -1;
	if (kreq_secret_add(kl->kl_req, *val, *len) == -1)
		kl->kl_err = 1;
	return 0;
}

static int
kplan_has_jwt(const struct tsecret *ts)
{
	size_t	 i;

	if (ts->ts_op == TSX_JWT)
		return 1;
	for (i = 0; i < ts->ts_nkids; i++)
		if (kplan_has_jwt(ts->ts_kids[i]))
			return 1;
	return 0;
}

#define KPLAN_SEGS	8	/* segments evaluated without an allocation */

struct kplan_seg {
	char		*ks_v;		/* a literal's, or an evaluated secret */
	size_t		 ks_len;
};

/* The evaluated secrets of a field's segments, wiped and freed. */
static void
kplan_segs_free(const struct plan_field *f, struct kplan_seg *sv, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (f->pf_segs[i].ps_secret != NULL)
			keeper_secret_free(sv[i].ks_v, sv[i].ks_len + 1);
}

/*
 * A field's final bytes; *derived set when a secret went into them.  Each
 * segment is evaluated first, then the whole is copied once (a field that
 * is one secret is that secret's own buffer).
 */
static char *
kplan_field_value(const struct plan_field *f, struct kplan_lookup *kl,
    size_t *lenp, int *derived, struct fail *fl)
{
	struct kplan_seg	 segs[KPLAN_SEGS], *sv = segs;
	char			*out = NULL, err[256];
	size_t			 len = 0, i, n = f->pf_nsegs;

	*derived = 0;
	if (n > KPLAN_SEGS && (sv = calloc(n, sizeof(*sv))) == NULL) {
		kplan_fail_oom(fl);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (f->pf_segs[i].ps_secret == NULL) {
			sv[i].ks_v = f->pf_segs[i].ps_data;
			sv[i].ks_len = f->pf_segs[i].ps_len;
		} else {
			*derived = 1;
			err[0] = '\0';
			sv[i].ks_v = keeper_secret_eval(f->pf_segs[i].ps_secret,
			    kplan_lookup, kl, &sv[i].ks_len, err, sizeof(err));
			if (sv[i].ks_v == NULL) {
				if (err[0] == '\0')
					kplan_fail_oom(fl);
				else
					kplan_fail(fl, 422, kplan_has_jwt(
					    f->pf_segs[i].ps_secret) ?
					    SCOPE_JWT : SCOPE_TEMPLATE, "%s",
					    err);
				kplan_segs_free(f, sv, i);
				goto out;
			}
		}
		len += sv[i].ks_len;
	}
	if (n == 1 && f->pf_segs[0].ps_secret != NULL) {
		out = sv[0].ks_v;
		goto out;
	}
	if ((out = keeper_secret_alloc(len + 1)) != NULL) {
		for (i = 0, len = 0; i < n; i++) {
			memcpy(out + len, sv[i].ks_v, sv[i].ks_len);
			len += sv[i].ks_len;
		}
		out[len] = '\0';
	} else
		kplan_fail_oom(fl);
	kplan_segs_free(f, sv, n);
out:
	if (sv != segs)
		free(sv);
	*lenp = len;
	return out;
}

/* RFC 3986: everything but the unreserved characters is %XX. */
static void
kplan_pct(char *out, size_t *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			out[(*o)++] = (char)c;
		else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
}

/* The upstream host of a URL the check has accepted. */
static char *
kplan_host(const char *url)
{
	CURLU	*u;
	char	*h = NULL, *r = NULL;

	if ((u = curl_url()) == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
		r = strdup(h);
	curl_free(h);
	curl_url_cleanup(u);
	return r;
}

int
keeper_plan_complete(const struct snapshot *sn, const struct plan *pl,
    keeper_secret_lookup_fn lookup, void *arg, struct kreq *kr,
    struct fail *fl)
{
	return keeper_plan_complete_request(sn, kplan_request(sn, pl), pl,
	    lookup, arg, kr, fl);
}

int
keeper_plan_complete_request(const struct snapshot *sn,
    const struct conn_request *cr, const struct plan *pl,
    keeper_secret_lookup_fn lookup, void *arg, struct kreq *kr,
    struct fail *fl)
{
	struct kplan_lookup	 kl;
	struct kreq_header	*kh;
	const struct plan_field	*f;
	/* The query's values: a few, in the frame; nq of them evaluated. */
	struct kplan_seg	 qbuf[KPLAN_SEGS], *q = qbuf;
	char			*v, *url = NULL;
	size_t			 i, n, nq = 0, total, o, ulen;
	int			 derived, r, rv = -1;

	kreq_zero(kr);
	memset(fl, 0, sizeof(*fl));
	kl.kl_fn = lookup;
	kl.kl_arg = arg;
	kl.kl_req = kr;
	kl.kl_err = 0;
	/* The checked plan's method is the connector's: its constant. */
	kr->kr_method = cr != NULL ? conn_method_name(cr->cr_method) :
	    pl->pl_method;
	if (pl->pl_nheaders <= KREQ_HEADERS)
		kr->kr_headers = kr->kr_hbuf;
	else if ((kr->kr_headers = calloc(pl->pl_nheaders,
	    sizeof(*kr->kr_headers))) == NULL)
		goto oom;
	for (i = 0; i < pl->pl_nheaders; i++) {
		f = &pl->pl_headers[i];
		kh = &kr->kr_headers[i];
		memset(kh, 0, sizeof(*kh));
		kh->kh_name = f->pf_name;
		kr->kr_nheaders++;
		if (f->pf_nsegs == 1 && f->pf_segs[0].ps_secret == NULL) {
			/* A literal is the plan's, which outlives kr. */
			kh->kh_value = f->pf_segs[0].ps_data;
			kh->kh_len = f->pf_segs[0].ps_len;
			kh->kh_borrowed = 1;
			derived = 0;
		} else if ((kh->kh_value = kplan_field_value(f, &kl,
		    &kh->kh_len, &derived, fl)) == NULL)
			goto fail;
		if (!tok_clean(kh->kh_value, kh->kh_len)) {
			kplan_fail(fl, 422, SCOPE_TEMPLATE, "the value of header "
			    "'%s' would contain a control character",
			    kh->kh_name);
			goto fail;
		}
		/* What is sent, as it is: the header's value is the list's. */
		if (derived && (r = kreq_secret_keep(kr, kh->kh_value,
		    kh->kh_len)) != 0) {
			if (r == -1)
				goto oom;
			kh->kh_borrowed = 1;
		}
	}
	/* The query: each key and value encoded, after the URL's own. */
	n = pl->pl_nquery;
	if (n > KPLAN_SEGS && (q = calloc(n, sizeof(*q))) == NULL)
		goto oom;
	/* The URL measured once, for its room and its copy. */
	ulen = strlen(pl->pl_url);
	total = ulen + 1;
	for (i = 0; i < n; i++) {
		if ((q[i].ks_v = kplan_field_value(&pl->pl_query[i], &kl,
		    &q[i].ks_len, &derived, fl)) == NULL)
			goto fail;
		nq++;
		/* What an upstream echoes is the encoded form: redact both. */
		if (derived &&
		    kreq_secret_add(kr, q[i].ks_v, q[i].ks_len) == -1)
			goto oom;
		total += 3 * (strlen(pl->pl_query[i].pf_name) + q[i].ks_len) +
		    2;
	}
	if (kl.kl_err || (url = keeper_secret_alloc(total)) == NULL)
		goto oom;
	o = ulen;
	memcpy(url, pl->pl_url, o);
	for (i = 0; i < n; i++) {
		url[o++] = (i == 0 && strchr(pl->pl_url, '?') == NULL) ? '?' :
		    '&';
		kplan_pct(url, &o, pl->pl_query[i].pf_name,
		    strlen(pl->pl_query[i].pf_name));
		url[o++] = '=';
		v = url + o;
		kplan_pct(url, &o, q[i].ks_v, q[i].ks_len);
		if (plan_field_has_secret(&pl->pl_query[i]) &&
		    kreq_secret_add(kr, v, (size_t)(url + o - v)) == -1)
			goto oom;
	}
	url[o] = '\0';
	kr->kr_url = url;
	kr->kr_urllen = o;
	url = NULL;
	kr->kr_body = pl->pl_body;
	kr->kr_bodylen = pl->pl_bodylen;
	kr->kr_has_body = pl->pl_has_body;
	kr->kr_cr = cr;
	kr->kr_tenant = sn->sn_cfg->c_tenants[pl->pl_tenant].t_id;
	kplan_connector_name(sn, pl, kr);
	/* The authentication's fields, for keeper_auth.c. */
	if (pl->pl_nauth > 0 && (kr->kr_auth = calloc(pl->pl_nauth,
	    sizeof(*kr->kr_auth))) == NULL)
		goto oom;
	for (i = 0; i < pl->pl_nauth; i++) {
		struct kreq_value *kv = &kr->kr_auth[i];

		kv->kv_id = (int)pl->pl_auth[i].pf_src;
		kv->kv_name = pl->pl_auth[i].pf_name;
		kr->kr_nauth++;
		if ((kv->kv_value = kplan_field_value(&pl->pl_auth[i], &kl,
		    &kv->kv_len, &derived, fl)) == NULL)
			goto fail;
		if (derived && kreq_secret_add(kr, kv->kv_value,
		    kv->kv_len) == -1)
			goto oom;
	}
	if (kl.kl_err)
		goto oom;
	rv = 0;
	goto out;
oom:
	kplan_fail_oom(fl);
fail:
	kreq_clear(kr);
out:
	for (i = 0; i < nq; i++)
		keeper_secret_free(q[i].ks_v, q[i].ks_len + 1);
	if (q != qbuf)
		free(q);
	if (url != NULL)
		keeper_secret_free(url, total);
	return rv;
}

/*
 * The upstream host, for a failure's timings and messages: parsed when
 * first asked for, as a call that succeeds reports the host egress
 * parsed (egress_result.er_host) and never needs this one.  "" if the
 * URL has none (egress refuses such a call).
 */
const char *
kreq_host(struct kreq *kr)
{
	if (kr->kr_host == NULL && kr->kr_url != NULL)
		kr->kr_host = kplan_host(kr->kr_url);
	return kr->kr_host != NULL ? kr->kr_host : "";
}

const char *
kreq_auth(const struct kreq *kr, int id, size_t *lenp)
{
	size_t	 i;

	for (i = 0; i < kr->kr_nauth; i++)
		if (kr->kr_auth[i].kv_id == id) {
			if (lenp != NULL)
				*lenp = kr->kr_auth[i].kv_len;
			return kr->kr_auth[i].kv_value;
		}
	if (lenp != NULL)
		*lenp = 0;
	return NULL;
}

int
kreq_header_set(struct kreq *kr, const char *name, const char *value,
    size_t len)
{
	struct kreq_header	*kh = NULL, *nh;
	char			*v;
	size_t			 i;

	if ((v = malloc(len + 1)) == NULL)
		return -1;
	memcpy(v, value, len);
	v[len] = '\0';
	for (i = 0; i < kr->kr_nheaders; i++)
		if (strcasecmp(kr->kr_headers[i].kh_name, name) == 0)
			kh = &kr->kr_headers[i];
	if (kh == NULL) {
		if (kr->kr_headers == NULL)
			nh = kr->kr_hbuf;
		else if (kr->kr_headers == kr->kr_hbuf &&
		    kr->kr_nheaders < KREQ_HEADERS)
			nh = kr->kr_headers;
		else if (kr->kr_headers == kr->kr_hbuf) {
			/* Out of the kreq's own slots. */
			if ((nh = reallocarray(NULL, kr->kr_nheaders + 1,
			    sizeof(*nh))) != NULL)
				memcpy(nh, kr->kr_hbuf, kr->kr_nheaders *
				    sizeof(*nh));
		} else
			nh = reallocarray(kr->kr_headers, kr->kr_nheaders + 1,
			    sizeof(*nh));
		if (nh == NULL) {
			keeper_secret_free(v, len + 1);
			return -1;
		}
		kr->kr_headers = nh;
		kh = &nh[kr->kr_nheaders];
		memset(kh, 0, sizeof(*kh));
		kh->kh_name = name;
		kr->kr_nheaders++;
	} else if (!kh->kh_borrowed)
		keeper_secret_free(kh->kh_value, kh->kh_len + 1);
	kh->kh_value = v;
	kh->kh_len = len;
	kh->kh_borrowed = 0;
	return 0;
}

void
kreq_clear(struct kreq *kr)
{
	size_t	 i;

	if (kr->kr_url != NULL)
		keeper_secret_free(kr->kr_url, kr->kr_urllen + 1);
	free(kr->kr_host);
	for (i = 0; i < kr->kr_nheaders; i++)
		if (kr->kr_headers[i].kh_value != NULL &&
		    !kr->kr_headers[i].kh_borrowed)
			keeper_secret_free(kr->kr_headers[i].kh_value,
			    kr->kr_headers[i].kh_len + 1);
	if (kr->kr_headers != kr->kr_hbuf)
		free(kr->kr_headers);
	for (i = 0; i < kr->kr_nsecrets; i++)
		keeper_secret_free(kr->kr_secrets[i], kr->kr_secretlens[i] + 1);
	if (kr->kr_secrets != kr->kr_sbuf) {
		free(kr->kr_secrets);
		free(kr->kr_secretlens);
	}
	for (i = 0; i < kr->kr_nauth; i++)
		if (kr->kr_auth[i].kv_value != NULL)
			keeper_secret_free(kr->kr_auth[i].kv_value,
			    kr->kr_auth[i].kv_len + 1);
	free(kr->kr_auth);
	kreq_zero(kr);
}
