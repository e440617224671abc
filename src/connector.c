/*
 * connector.c — the connector model: names, lookups, freeing, and the error
 * report that the loader (registry.c) fills.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "connector.h"
#include "netpolicy.h"
#include "registry.h"
#include "template/template.h"

static const char *const conn_methods[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"
};

static const char *const conn_auths[] = {
	"none", "api_key", "oauth_client_credentials", "jwt", "oauth_jwt_bearer"
};

const char *
conn_method_name(enum conn_method m)
{
	if ((size_t)m >= sizeof(conn_methods) / sizeof(conn_methods[0]))
		return "?";
	return conn_methods[m];
}

const char *
conn_auth_name(enum conn_auth_type t)
{
	if ((size_t)t >= sizeof(conn_auths) / sizeof(conn_auths[0]))
		return "?";
	return conn_auths[t];
}

/*
 * ^[a-z0-9]+(?:-[a-z0-9]+)*$ without a regex engine: a hyphen may only
 * follow an alphanumeric, and the last character must be one.
 */
int
connector_slug_valid(const char *s, size_t len)
{
	size_t	 i;
	int	 prev_hyphen = 1;	/* no leading hyphen */

	if (len == 0 || len > 255)
		return 0;
	for (i = 0; i < len; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			prev_hyphen = 0;
		else if (s[i] == '-' && !prev_hyphen)
			prev_hyphen = 1;
		else
			return 0;
	}
	return !prev_hyphen;
}

/* --- Report -------------------------------------------------------------- */

/* Free every error; the report can be reused for the next load. */
void
reg_report_clear(struct reg_report *rep)
{
	struct reg_error	*e;
	size_t			 i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->rr_nerrors; i++) {
		e = &rep->rr_errors[i];
		free(e->re_file);
		free(e->re_connector);
		free(e->re_path);
		free(e->re_class);
		free(e->re_msg);
		free(e->re_name);
		free(e->re_permalink);
	}
	free(rep->rr_errors);
	rep->rr_errors = NULL;
	rep->rr_nerrors = 0;
}

/*
 * One line per error, in the order found.  The class goes last in brackets
 * so that the "file:line:col: connector: path: message" prefix stays the
 * shape compilers use and editors jump to.
 */
void
reg_report_print(const struct reg_report *rep, void *stdio_file)
{
	const struct reg_error	*e;
	FILE			*fp = stdio_file;
	size_t			 i;

	for (i = 0; i < rep->rr_nerrors; i++) {
		e = &rep->rr_errors[i];
		fputs(e->re_file ? e->re_file : "-", fp);
		if (e->re_line > 0)
			fprintf(fp, ":%d:%d", e->re_line, e->re_col);
		fputs(": ", fp);
		if (e->re_name != NULL || e->re_permalink != NULL) {
			fputs(e->re_composite ? "composite connector" :
			    "connector", fp);
			if (e->re_name != NULL)
				fprintf(fp, " '%s'", e->re_name);
			if (e->re_permalink != NULL)
				fprintf(fp, " (%s)", e->re_permalink);
			fputs(": ", fp);
		}
		if (e->re_path != NULL && e->re_path[0] != '\0')
			fprintf(fp, "%s: ", e->re_path);
		fprintf(fp, "%s [%s]\n", e->re_msg, e->re_class);
	}
}

/* --- Freeing ------------------------------------------------------------- */

/* Every free below accepts partly filled structures: a failed load frees
 * whatever it built so far through the same functions. */
void
conn_tmpl_clear(struct conn_tmpl *t)
{
	free(t->ct_src);
	tmpl_free(t->ct_tmpl);
	memset(t, 0, sizeof(*t));
}

static void
conn_params_free(struct conn_param *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(p[i].cp_key);
		conn_tmpl_clear(&p[i].cp_value);
	}
	free(p);
}

static void
conn_claims_free(struct conn_claim *c, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(c[i].cl_key);
		conn_tmpl_clear(&c[i].cl_value);
		json_object_put(c[i].cl_json);
	}
	free(c);
}

void
conn_auth_clear(struct conn_auth *a)
{
	conn_tmpl_clear(&a->ca_key);
	conn_tmpl_clear(&a->ca_value);
	conn_tmpl_clear(&a->ca_client_id);
	conn_tmpl_clear(&a->ca_client_secret);
	conn_tmpl_clear(&a->ca_token_url);
	conn_tmpl_clear(&a->ca_scope);
	conn_tmpl_clear(&a->ca_private_key);
	free(a->ca_algorithm);
	conn_claims_free(a->ca_claims, a->ca_nclaims);
	conn_claims_free(a->ca_headers, a->ca_nheaders);
	conn_tmpl_clear(&a->ca_subject);
	conn_tmpl_clear(&a->ca_audience);
	conn_tmpl_clear(&a->ca_token_origin);
	memset(a, 0, sizeof(*a));
}

static void
conn_ext_clear(struct conn_ext *e)
{
	conn_tmpl_clear(&e->ce_cert);
	conn_tmpl_clear(&e->ce_cert_key);
	conn_tmpl_clear(&e->ce_aws_key_id);
	conn_tmpl_clear(&e->ce_aws_secret);
	conn_tmpl_clear(&e->ce_aws_token);
	free(e->ce_aws_region);
	free(e->ce_aws_service);
	memset(e, 0, sizeof(*e));
}

static void
conn_caller_clear(struct conn_caller *cc)
{
	size_t	 i, j;

	for (i = 0; i < cc->cc_nrules; i++) {
		free(cc->cc_rules[i].cr_claim);
		for (j = 0; j < cc->cc_rules[i].cr_nvalues; j++)
			free(cc->cc_rules[i].cr_values[j]);
		free(cc->cc_rules[i].cr_values);
	}
	free(cc->cc_rules);
	memset(cc, 0, sizeof(*cc));
}

void
conn_request_clear(struct conn_request *r)
{
	conn_tmpl_clear(&r->cr_url);
	conn_tmpl_clear(&r->cr_origin);
	conn_params_free(r->cr_headers, r->cr_nheaders);
	conn_params_free(r->cr_query, r->cr_nquery);
	conn_auth_clear(&r->cr_auth);
	conn_ext_clear(&r->cr_ext);
	conn_tmpl_clear(&r->cr_request_body);
	conn_tmpl_clear(&r->cr_response_body);
	free(r->cr_response_content_type);
	memset(r, 0, sizeof(*r));
}

void
connector_clear(struct connector *c)
{
	free(c->c_name);
	free(c->c_permalink);
	conn_request_clear(&c->c_req);
	conn_params_free(c->c_path, c->c_npath);
	conn_caller_clear(&c->c_caller);
	memset(c, 0, sizeof(*c));
}

void
composite_clear(struct composite *cc)
{
	size_t	 i;

	free(cc->cc_name);
	free(cc->cc_permalink);
	for (i = 0; i < cc->cc_nsteps; i++) {
		free(cc->cc_steps[i].cs_name);
		conn_request_clear(&cc->cc_steps[i].cs_req);
	}
	free(cc->cc_steps);
	conn_caller_clear(&cc->cc_caller);
	memset(cc, 0, sizeof(*cc));
}

void
registry_free(struct registry *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->r_nconns; i++)
		connector_clear(&r->r_conns[i]);
	for (i = 0; i < r->r_ncomps; i++)
		composite_clear(&r->r_comps[i]);
	free(r->r_conns);
	free(r->r_comps);
	free(r->r_conn_index);
	free(r->r_comp_index);
	free(r->r_file);
	free(r);
}

/*
 * Append from's connectors and composites to into's.  The structs move
 * by value (nothing points into them); positions, and with them c_index,
 * follow the order of the two files, so every process that merges the
 * same two files gets the same indexes.
 */
int
registry_merge(struct registry *into, struct registry *from,
    const char **dup)
{
	struct connector	*nc = NULL;
	struct composite	*nk = NULL;
	size_t			 i;

	*dup = NULL;
	for (i = 0; i < from->r_nconns && *dup == NULL; i++)
		if (registry_connector(into, from->r_conns[i].c_permalink))
			*dup = from->r_conns[i].c_permalink;
	for (i = 0; i < from->r_ncomps && *dup == NULL; i++)
		if (registry_composite(into, from->r_comps[i].cc_permalink))
			*dup = from->r_comps[i].cc_permalink;
	if (*dup != NULL)
		return -1;
	if (from->r_nconns > 0 && (nc = reallocarray(into->r_conns,
	    into->r_nconns + from->r_nconns, sizeof(*nc))) == NULL)
		return -1;
	if (nc != NULL)
		into->r_conns = nc;
	if (from->r_ncomps > 0 && (nk = reallocarray(into->r_comps,
	    into->r_ncomps + from->r_ncomps, sizeof(*nk))) == NULL)
		return -1;
	if (nk != NULL)
		into->r_comps = nk;
	for (i = 0; i < from->r_nconns; i++) {
		into->r_conns[into->r_nconns] = from->r_conns[i];
		into->r_conns[into->r_nconns].c_index = into->r_nconns;
		into->r_nconns++;
	}
	for (i = 0; i < from->r_ncomps; i++) {
		into->r_comps[into->r_ncomps] = from->r_comps[i];
		into->r_comps[into->r_ncomps].cc_index = into->r_ncomps;
		into->r_ncomps++;
	}
	/* Moved, not copied: from keeps nothing to free twice. */
	from->r_nconns = from->r_ncomps = 0;
	free(into->r_conn_index);
	free(into->r_comp_index);
	into->r_conn_index = NULL;
	into->r_comp_index = NULL;
	return registry_index(into);
}

/* --- Lookup -------------------------------------------------------------- */

size_t
registry_nconnectors(const struct registry *r)
{
	return r == NULL ? 0 : r->r_nconns;
}

size_t
registry_ncomposites(const struct registry *r)
{
	return r == NULL ? 0 : r->r_ncomps;
}

/* Permalinks are unique per namespace after a successful load, so a
 * plain strcmp order is total. */
static int
registry_conn_cmp(const void *a, const void *b)
{
	const struct connector *const *x = a, *const *y = b;

	return strcmp((*x)->c_permalink, (*y)->c_permalink);
}

static int
registry_comp_cmp(const void *a, const void *b)
{
	const struct composite *const *x = a, *const *y = b;

	return strcmp((*x)->cc_permalink, (*y)->cc_permalink);
}

int
registry_index(struct registry *r)
{
	size_t	 i;

	if (r->r_nconns > 0) {
		r->r_conn_index = calloc(r->r_nconns, sizeof(*r->r_conn_index));
		if (r->r_conn_index == NULL)
			return -1;
		for (i = 0; i < r->r_nconns; i++)
			r->r_conn_index[i] = &r->r_conns[i];
		qsort(r->r_conn_index, r->r_nconns, sizeof(*r->r_conn_index),
		    registry_conn_cmp);
	}
	if (r->r_ncomps > 0) {
		r->r_comp_index = calloc(r->r_ncomps, sizeof(*r->r_comp_index));
		if (r->r_comp_index == NULL)
			return -1;
		for (i = 0; i < r->r_ncomps; i++)
			r->r_comp_index[i] = &r->r_comps[i];
		qsort(r->r_comp_index, r->r_ncomps, sizeof(*r->r_comp_index),
		    registry_comp_cmp);
	}
	return 0;
}

/*
 * Binary search on the sorted index: the worker looks a connector up on
 * every request, and a registry may hold thousands.
 */
const struct connector *
registry_connector(const struct registry *r, const char *permalink)
{
	size_t	 lo = 0, hi, mid;
	int	 c;

	if (r == NULL || permalink == NULL)
		return NULL;
	hi = r->r_nconns;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(permalink, r->r_conn_index[mid]->c_permalink);
		if (c == 0)
			return r->r_conn_index[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct composite *
registry_composite(const struct registry *r, const char *permalink)
{
	size_t	 lo = 0, hi, mid;
	int	 c;

	if (r == NULL || permalink == NULL)
		return NULL;
	hi = r->r_ncomps;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(permalink, r->r_comp_index[mid]->cc_permalink);
		if (c == 0)
			return r->r_comp_index[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct composite *
registry_composite_find(const struct registry *r, const char *key)
{
	const struct composite	*cc;
	unsigned long long	 id = 0;
	size_t			 i;

	if ((cc = registry_composite(r, key)) != NULL || r == NULL)
		return cc;
	/* Digits only, no sign, no leading zero: one spelling per id. */
	if (key[0] < '1' || key[0] > '9' || strlen(key) > 16)
		return NULL;
	for (i = 0; key[i] != '\0'; i++) {
		if (key[i] < '0' || key[i] > '9')
			return NULL;
		id = id * 10 + (unsigned long long)(key[i] - '0');
	}
	if (id > COMPOSITE_ID_MAX)
		return NULL;
	/* Few composites per tenant: a walk is cheaper than an index. */
	for (i = 0; i < r->r_ncomps; i++)
		if (r->r_comps[i].cc_id == id)
			return &r->r_comps[i];
	return NULL;
}

/*
 * The origin a request of cr goes to: the literal one, or the one its
 * get_variable() host renders to with the tenant's variables now.  The
 * worker and the keeper both call this; the keeper's copy is the one that
 * decides (keeper_plan.c).
 */
char *
connector_origin(const struct conn_request *cr,
    struct tval *(*get_variable)(const char *, void *), void *arg,
    char *err, size_t errlen)
{
	return connector_origin_of(&cr->cr_origin, cr->cr_origin_literal,
	    get_variable, arg, err, errlen);
}

const char *
connector_origin_fixed(const struct conn_tmpl *origin, int literal)
{
	return literal || origin->ct_tmpl == NULL ? origin->ct_src : NULL;
}

char *
connector_origin_of(const struct conn_tmpl *origin, int literal,
    struct tval *(*get_variable)(const char *, void *), void *arg,
    char *err, size_t errlen)
{
	struct tmpl_env		 env;
	struct tmpl_error	 te;
	struct tmpl_output	*o;
	const char		*text;
	const char		*fixed;
	char			*r = NULL;
	size_t			 len;

	if ((fixed = connector_origin_fixed(origin, literal)) != NULL) {
		if ((r = strdup(fixed)) == NULL)
			snprintf(err, errlen, "out of memory");
		return r;
	}
	memset(&env, 0, sizeof(env));
	memset(&te, 0, sizeof(te));
	env.te_get_variable = get_variable;
	env.te_variable_arg = arg;
	if ((o = tmpl_render(origin->ct_tmpl, &env, &te)) == NULL) {
		snprintf(err, errlen, "URL host %d:%d: %s", te.te_line,
		    te.te_col, te.te_msg);
		return NULL;
	}
	if ((text = tmpl_output_text(o, &len)) == NULL ||
	    (r = strdup(text)) == NULL)
		snprintf(err, errlen, "out of memory");
	tmpl_output_free(o);
	return r;
}

/*
 * A rendered origin must be scheme://host[:port] and nothing else, with a
 * host the policy allows (platform-docs §3a: checked at run time for a
 * host from a variable).  0, or -1 and err.
 */
int
connector_origin_check(const char *origin, const struct netpolicy *np,
    char *err, size_t errlen)
{
	const char	*host, *why = NULL;
	char		*h, *e;
	size_t		 hl;
	int		 rv = -1;

	if (strncasecmp(origin, "https://", 8) == 0)
		host = origin + 8;
	else if (np != NULL && np->np_allow_http &&
	    strncasecmp(origin, "http://", 7) == 0)
		host = origin + 7;
	else {
		snprintf(err, errlen, "the URL '%.200s' does not start with "
		    "https:// (is the variable set?)", origin);
		return -1;
	}
	hl = strcspn(host, "/?#@\\ {}\"<>");
	if (hl == 0 || host[hl] != '\0') {
		snprintf(err, errlen, "the URL origin '%.200s' is not "
		    "scheme://host[:port] (is the variable set?)", origin);
		return -1;
	}
	if ((h = strndup(host, hl)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The port goes; the brackets of an IPv6 literal too. */
	if (h[0] == '[') {
		if ((e = strchr(h, ']')) != NULL)
			*e = '\0';
		memmove(h, h + 1, strlen(h));
	} else if ((e = strrchr(h, ':')) != NULL)
		*e = '\0';
	if (!netpolicy_host_allowed(np, h, &why))
		snprintf(err, errlen, "the URL host '%.200s' is not allowed: "
		    "%s", h, why != NULL ? why : "private address");
	else
		rv = 0;
	free(h);
	return rv;
}
