/*
 * keeper_plan.h — the keeper's judgement of a worker's plan, and the final
 * request it makes of one (keeper only).
 *
 * A worker is not trusted to say where a secret goes.  Before any secret
 * is completed, keeper_plan_check() compares the plan with the keeper's own
 * copy of the connector, from the same configuration generation: the
 * method; the URL's origin (the configured one, or the one the tenant's
 * variables give, rendered here); for every header and query field, the
 * row it claims to come from, its name, and that every secret it holds is
 * one the row's own template names; no CR, LF or NUL anywhere.  Anything
 * else is a protocol violation: the worker's channel is closed.
 * keeper_plan_complete() then builds the request libcurl sends.
 */
#ifndef WIDGETD_KEEPER_PLAN_H
#define WIDGETD_KEEPER_PLAN_H

#include <stddef.h>

#include "keeper_secret.h"

struct conn_request;
struct fail;
struct plan;
struct snapshot;

struct kreq_header {
	const char	*kh_name;	/* the plan's, or kreq_header_set()'s
					   literal: borrowed */
	char		*kh_value;	/* may be secret-derived: wiped */
	size_t		 kh_len;
	int		 kh_borrowed;	/* kh_value is not the header's to
					   free: the plan's literal, or a
					   value of kr_secrets (wiped with
					   them) */
};

/* An evaluated authentication field (plan.h: enum plan_auth_field). */
struct kreq_value {
	int		 kv_id;
	const char	*kv_name;	/* claim or JWT header key, or "": the
					   plan's, borrowed */
	char		*kv_value;	/* may be a secret: wiped */
	size_t		 kv_len;
};

/*
 * Headers and values to redact held in the kreq itself: a call's kreq is
 * in its struct kcall, which must stay under glibc's per-thread cache
 * (1032 bytes; keeper.c asserts it), or each call's would be a slower
 * malloc that merges the heap's small free blocks first.
 */
#define KREQ_HEADERS	4
#define KREQ_SECRETS	4

/*
 * The request as it leaves the keeper; every buffer is wiped on clear.
 * It borrows from the plan it was completed from (names, literal values,
 * the body), which must outlive it.
 */
struct kreq {
	const char	*kr_method;	/* a constant */
	char		*kr_url;	/* with the query, encoded */
	size_t		 kr_urllen;
	char		*kr_host;	/* kreq_host()'s, once asked for */
	struct kreq_header *kr_headers;	/* kr_hbuf, or malloc'd */
	size_t		 kr_nheaders;
	const unsigned char *kr_body;	/* borrowed from the plan */
	size_t		 kr_bodylen;
	int		 kr_has_body;
	/* What the answer must not echo: secret values and every value
	   derived from one, as sent (see keeper_redact.h). */
	char	       **kr_secrets;	/* kr_sbuf, or malloc'd */
	size_t		*kr_secretlens;	/* kr_slbuf, or malloc'd */
	size_t		 kr_nsecrets;
	size_t		 kr_secretcap;	/* slots in both arrays */
	/* The authentication's fields, evaluated, for keeper_auth.c. */
	struct kreq_value *kr_auth;
	size_t		 kr_nauth;
	const struct conn_request *kr_cr;	/* the keeper's own copy */
	const char	*kr_tenant;		/* tenant id */
	const char	*kr_connector;		/* permalink, or composite
						   permalink/step (limits) */
	/*
	 * Storage, last: a clear zeroes what is above only (nothing here
	 * is read before it is written, and none of it is secret).  Most
	 * calls' headers and redaction values fit without an allocation.
	 */
	char		 kr_connbuf[300];
	struct kreq_header kr_hbuf[KREQ_HEADERS];
	char		*kr_sbuf[KREQ_SECRETS];
	size_t		 kr_slbuf[KREQ_SECRETS];
};

/* The upstream host for a failure's message, parsed once ("" if none). */
const char	*kreq_host(struct kreq *);
/* The value of an authentication field, or NULL (and *lenp 0). */
const char	*kreq_auth(const struct kreq *, int id, size_t *lenp);
/*
 * Add or replace a header (the name compared without case); name is
 * kept, not copied: a literal.
 */
int		 kreq_header_set(struct kreq *, const char *name,
		    const char *value, size_t len);
/* Remember a value redaction must look for (a token, a signature). */
int		 kreq_secret_add(struct kreq *, const char *value, size_t len);

/*
 * 0 when the plan may be completed; -1 and *why (a constant string, for
 * the log) when it is a protocol violation.  Some plans are refused
 * without blaming the worker (a variable-derived host that is not allowed,
 * a missing variable): those return 1 with fl filled, to be answered with
 * MSG_FAIL.
 */
int		 keeper_plan_check(const struct snapshot *, const struct plan *,
		    struct fail *fl, const char **why);
/*
 * Complete the secrets and build the request.  0, or -1 with fl filled
 * (a signing error is 422 "Authentication (JWT signing)", a value that
 * would carry a control character 422 "Configuration (template
 * rendering)").
 */
int		 keeper_plan_complete(const struct snapshot *,
		    const struct plan *, keeper_secret_lookup_fn, void *arg,
		    struct kreq *out, struct fail *fl);
/*
 * The same against a connector request the caller found (test mode's
 * unsaved definition, keeper_test.h) rather than the plan's registry one.
 */
int		 keeper_plan_check_request(const struct snapshot *,
		    const struct conn_request *, const struct plan *,
		    struct fail *fl, const char **why);
int		 keeper_plan_complete_request(const struct snapshot *,
		    const struct conn_request *, const struct plan *,
		    keeper_secret_lookup_fn, void *arg, struct kreq *out,
		    struct fail *fl);
void		 kreq_clear(struct kreq *);

#endif
