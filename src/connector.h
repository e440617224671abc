/*
 * connector.h — the connector model and its loader (platform-docs §3–§8, §20).
 *
 * Library-style: no logging, no process knowledge.  The worker and keeper
 * each load the same registry themselves; widgetctl check and widgetd -n use
 * the same loader and print the same report.
 *
 * A loaded struct registry is immutable: every template is compiled once, at
 * load, and the structures below are read-only for their users.
 */
#ifndef WIDGETD_CONNECTOR_H
#define WIDGETD_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

struct netpolicy;
struct tmpl;
struct json_object;

/* One problem in a registry or Code Mode file. */
struct reg_error {
	char		*re_file;	/* the file, as given */
	int		 re_line;	/* JSON line:col, 0 when not applicable */
	int		 re_col;
	char		*re_connector;	/* "name (permalink)" or NULL */
	char		*re_path;	/* e.g. "connectors[3].headers[1].value" */
	char		*re_class;	/* one of the REG_E_* strings below */
	char		*re_msg;
	/* Extensions: the parts of re_connector, and which namespace. */
	char		*re_name;	/* NULL when unknown */
	char		*re_permalink;	/* NULL when unknown */
	int		 re_composite;	/* 1: a composite connector */
};

/* Error classes (re_class). */
#define REG_E_IO		"io"		/* file cannot be read */
#define REG_E_JSON		"invalid_json"	/* syntax, with line:col */
#define REG_E_DUP_JSON_KEY	"duplicate_json_key"
#define REG_E_TYPE		"invalid_type"	/* wrong JSON type */
#define REG_E_MISSING		"missing_field"
#define REG_E_VALUE		"invalid_value"	/* method, in, algorithm … */
#define REG_E_LENGTH		"field_length"
#define REG_E_PERMALINK		"permalink_format"
#define REG_E_DUP_PERMALINK	"duplicate_permalink"
#define REG_E_DUP_KEY		"duplicate_key"	/* header/query/path rows */
#define REG_E_DUP_STEP		"duplicate_step"
#define REG_E_AUTH		"auth_config"
#define REG_E_URL		"url"
#define REG_E_TEMPLATE		"template"
#define REG_E_PATHPARAMS	"path_parameters"
#define REG_E_STEPS		"steps"
#define REG_E_DUP_ID		"duplicate_id"	/* composite ids */
#define REG_E_LIMIT		"too_many_errors"

struct reg_report {
	struct reg_error *rr_errors;
	size_t		 rr_nerrors;
};
void		 reg_report_clear(struct reg_report *);
/*
 * Print every error as
 * "file:line:col: connector 'name' (permalink): path: message [class]".
 */
void		 reg_report_print(const struct reg_report *, void *stdio_file);

/* --- The model ----------------------------------------------------------- */

/*
 * A templated field: the source text as written, and its compiled form.
 * ct_tmpl is NULL when the field is absent or empty (ct_src is then "").
 */
struct conn_tmpl {
	char		*ct_src;	/* NUL-terminated; may hold NULs (\u0000) */
	size_t		 ct_len;
	struct tmpl	*ct_tmpl;
};

enum conn_method {
	CONN_GET,
	CONN_POST,
	CONN_PUT,
	CONN_PATCH,
	CONN_DELETE,
	CONN_HEAD,
	CONN_OPTIONS
};
const char	*conn_method_name(enum conn_method);

/* A header, query or path parameter row. */
struct conn_param {
	char		*cp_key;	/* literal */
	struct conn_tmpl cp_value;	/* path parameters: a literal default
					   (cp_value.ct_tmpl NULL), "" for none */
	int		 cp_overridable;
};

enum conn_auth_type {
	CONN_AUTH_NONE,
	CONN_AUTH_API_KEY,
	CONN_AUTH_OAUTH_CC,		/* oauth_client_credentials */
	CONN_AUTH_JWT,
	CONN_AUTH_OAUTH_JWT_BEARER
};
const char	*conn_auth_name(enum conn_auth_type);

enum conn_auth_in {
	CONN_IN_HEADER,
	CONN_IN_QUERY
};

/*
 * A claim or JWT header member.  A string value is a template (cl_value);
 * any other JSON value is kept as JSON (cl_json, owned).
 */
struct conn_claim {
	char		*cl_key;
	struct conn_tmpl cl_value;
	struct json_object *cl_json;	/* NULL for a template value */
};

/* Authentication: only the members of ca_type are set (others empty). */
struct conn_auth {
	enum conn_auth_type ca_type;
	/* api_key */
	struct conn_tmpl ca_key;
	struct conn_tmpl ca_value;
	enum conn_auth_in ca_in;
	/* oauth_client_credentials, oauth_jwt_bearer */
	struct conn_tmpl ca_client_id;
	struct conn_tmpl ca_client_secret;
	struct conn_tmpl ca_token_url;
	struct conn_tmpl ca_scope;
	/* jwt, oauth_jwt_bearer */
	struct conn_tmpl ca_private_key;
	char		*ca_algorithm;	/* canonical name, default "RS256" */
	struct conn_claim *ca_claims;	/* jwt claims / additional_claims */
	size_t		 ca_nclaims;
	struct conn_claim *ca_headers;	/* jwt_headers */
	size_t		 ca_nheaders;
	/* oauth_jwt_bearer */
	struct conn_tmpl ca_subject;
	struct conn_tmpl ca_audience;
	long		 ca_token_ttl;	/* seconds, default 3600 */
	/* The token URL's origin, as cr_origin is the URL's (keeper check). */
	struct conn_tmpl ca_token_origin;
	int		 ca_token_origin_literal;
};

/*
 * widgetd's own additions, under the connector's (or a composite step's)
 * "widgetd" key, which the hosted product ignores as an unknown field:
 * an upstream client certificate, AWS Signature Version 4, the response
 * cache's stale-if-error default.  Every string but region and service is
 * a template of the authentication kind.
 */
struct conn_ext {
	struct conn_tmpl ce_cert;	/* client certificate, PEM */
	struct conn_tmpl ce_cert_key;	/* its private key, PEM */
	int		 ce_sigv4;	/* aws_sigv4 present */
	struct conn_tmpl ce_aws_key_id;
	struct conn_tmpl ce_aws_secret;
	struct conn_tmpl ce_aws_token;	/* optional session token */
	char		*ce_aws_region;
	char		*ce_aws_service;
	long		 ce_stale_if_error;	/* cache.stale_if_error, s;
						   0: none */
	/*
	 * Limits that protect the upstream, applied by the keeper to the
	 * calls that reach it (cache misses): 0 means none.
	 */
	int		 ce_concurrency;	/* calls in flight */
	double		 ce_rate;		/* calls a second */
	int		 ce_burst;		/* of the rate, default 1 */
	/* Retries of idempotent methods; ce_attempts 0: none. */
	int		 ce_attempts;		/* tries, the first included */
	double		 ce_backoff;		/* s before the second try */
	double		 ce_max_backoff;	/* s, the longest wait */
};

/*
 * Who may call (the connector's or composite's "widgetd.caller"): a
 * signed-in user, and claims that must hold one of the given values.  A
 * claim is a top-level claim of the session token ("role") or a profile
 * field ("profile_fields.42"); an array claim matches when it contains a
 * value.
 */
struct conn_caller_rule {
	char		*cr_claim;
	char	       **cr_values;
	size_t		 cr_nvalues;
};

struct conn_caller {
	int		 cc_signed_in;
	struct conn_caller_rule *cc_rules;
	size_t		 cc_nrules;
};

/*
 * What a simple connector and a composite step have in common: one upstream
 * request.  The URL is compiled whole (cr_url, for rendering) and also as
 * its origin part (cr_origin: "https://host[:port]" or the get_variable()
 * expression that supplies the host or the origin) so the keeper can check
 * that a rendered URL starts with the rendered origin (DESIGN §3 step 7).
 */
struct conn_request {
	struct conn_tmpl cr_url;
	struct conn_tmpl cr_origin;
	int		 cr_origin_literal;	/* no template in the origin */
	enum conn_method cr_method;
	struct conn_param *cr_headers;
	size_t		 cr_nheaders;
	struct conn_param *cr_query;
	size_t		 cr_nquery;
	struct conn_auth cr_auth;
	struct conn_ext	 cr_ext;
	struct conn_tmpl cr_request_body;
	struct conn_tmpl cr_response_body;
	char		*cr_response_content_type;	/* "" for none */
	/* TMPL_USES_* over the header and query values (e.g. user.* there
	   makes anonymous calls fail, platform-docs §11). */
	unsigned int	 cr_header_query_uses;
	/* TMPL_USES_* over every template of the request: the globals the
	   worker builds for a call are those its templates name. */
	unsigned int	 cr_uses;
};

struct connector {
	char		*c_name;
	char		*c_permalink;
	struct conn_request c_req;
	struct conn_param *c_path;	/* path_parameters */
	size_t		 c_npath;
	struct conn_caller c_caller;
	size_t		 c_index;	/* in r_conns: the same in every process
					   that loaded the same file */
	int		 c_line;	/* where it is defined in its file */
};

struct conn_step {
	char		*cs_name;	/* slug, unique in its composite */
	struct conn_request cs_req;
};

struct composite {
	char		*cc_name;
	char		*cc_permalink;
	uint64_t	 cc_id;		/* the optional numeric "id"; 0: none */
	struct conn_step *cc_steps;	/* at least one */
	size_t		 cc_nsteps;
	struct conn_caller cc_caller;
	size_t		 cc_index;	/* in r_comps */
	int		 cc_line;
};

struct registry {
	char		*r_file;
	struct connector *r_conns;	/* in file order */
	size_t		 r_nconns;
	struct composite *r_comps;
	size_t		 r_ncomps;
	/* Sorted by permalink for lookups. */
	struct connector **r_conn_index;
	struct composite **r_comp_index;
};

/* --- Loading ------------------------------------------------------------- */

/*
 * Load a connectors_registry.json (all-or-nothing: NULL and every error in
 * rep when anything is wrong).  policy decides which literal hosts load;
 * NULL means the default policy (public addresses only, https only).
 */
struct registry	*registry_load_file(const char *path, const struct netpolicy *,
		    struct reg_report *rep);
struct registry	*registry_load_buffer(const char *name, const char *buf,
		    size_t len, const struct netpolicy *, struct reg_report *rep);
/* Load one Code Mode JSON file as a registry holding one connector. */
struct registry	*registry_load_codemode(const char *path,
		    const struct netpolicy *, struct reg_report *rep);
struct registry	*registry_load_codemode_buffer(const char *name,
		    const char *buf, size_t len, const struct netpolicy *,
		    struct reg_report *rep);
/*
 * Decide between the two: a root object with "connectors" or
 * "composite_connectors" is a registry, anything else one connector.
 * *is_registry (may be NULL) says which; the buffer form of the same.
 */
struct registry	*registry_load_any(const char *path, const struct netpolicy *,
		    struct reg_report *rep, int *is_registry);
void		 registry_free(struct registry *);
/*
 * Move every connector and composite of from into into (a tenant's own
 * registry and the connectors its repository synced, SPEC §10): one
 * namespace, indexes rebuilt, from left empty (the caller frees it).
 * -1 when a permalink is in both (*dup names it; nothing moved) or
 * memory ran out (*dup NULL; into is then unusable).
 */
int		 registry_merge(struct registry *into, struct registry *from,
		    const char **dup);

size_t		 registry_nconnectors(const struct registry *);
size_t		 registry_ncomposites(const struct registry *);
/* Lookup by permalink (each in its own namespace); NULL when unknown. */
const struct connector *registry_connector(const struct registry *,
		    const char *permalink);
const struct composite *registry_composite(const struct registry *,
		    const char *permalink);
/*
 * A composite by permalink, else by its numeric "id" when key is one
 * (platform-docs §15: composite.execute takes either).  NULL when unknown.
 */
const struct composite *registry_composite_find(const struct registry *,
		    const char *key);
#define COMPOSITE_ID_MAX	9007199254740991ULL	/* 2^53 - 1 */

/*
 * The origin ("scheme://host[:port]") requests of cr go to: the literal
 * one, or what its get_variable() host renders to now (platform-docs §3a).
 * malloc'd; NULL and err on a render error.  Not checked against any
 * policy here.
 */
struct tval;
char		*connector_origin(const struct conn_request *,
		    struct tval *(*get_variable)(const char *, void *),
		    void *arg, char *err, size_t errlen);
/*
 * The origin as written when it needs no rendering (a literal one, or one
 * without an expression): the connector's own text, no copy.  NULL when
 * it has to be rendered with connector_origin_of.
 */
const char	*connector_origin_fixed(const struct conn_tmpl *, int literal);
/* The same for any compiled origin (a token_url's: ca_token_origin). */
char		*connector_origin_of(const struct conn_tmpl *, int literal,
		    struct tval *(*get_variable)(const char *, void *),
		    void *arg, char *err, size_t errlen);

/*
 * An origin rendered from a variable, checked as a literal host is at load:
 * "scheme://host[:port]" only, https (http with allow_http), a host the
 * policy allows.  0, or -1 and err.
 */
int		 connector_origin_check(const char *origin,
		    const struct netpolicy *, char *err, size_t errlen);

/* 1 when s is a valid permalink / step name: ^[a-z0-9]+(?:-[a-z0-9]+)*$ */
int		 connector_slug_valid(const char *s, size_t len);

#endif
