/*
 * plan.h — one upstream call, as a worker asks for it (MSG_CALL) and as
 * the keeper answers it (MSG_RESULT or MSG_FAIL).
 *
 * A plan is everything the worker rendered: method, URL, headers, query,
 * body.  Values that came from get_secret() are not bytes but symbolic
 * trees (DESIGN §4); each header and query field also says where it came
 * from (which configured row, the caller, the authentication), so that the
 * keeper can check the plan against its own copy of the connector before it
 * completes a single secret.  Encoding and decoding live here; the checks
 * live in keeper.c.  Every decoder bounds every count and length.
 */
#ifndef WIDGETD_PLAN_H
#define WIDGETD_PLAN_H

#include <stddef.h>
#include <stdint.h>

struct ipc_buf;
struct ipc_msg;
struct tsecret;

/* Where a header or query field came from. */
enum plan_src {
	PLAN_ROW = 1,		/* configured row pf_row, rendered from its
				   own template */
	PLAN_OVERRIDE,		/* the caller's value for overridable row
				   pf_row; never a secret */
	PLAN_AUTH,		/* the authentication's field (api_key) */
	PLAN_CALLER,		/* an undeclared query parameter forwarded
				   from the caller; never a secret */
	PLAN_BODY,		/* Content-Type or Accept of the caller's
				   body; never a secret */
	PLAN_VALIDATOR,		/* If-None-Match / If-Modified-Since of a
				   revalidation; never a secret */
	PLAN_TRACE		/* traceparent (trace.h): widgetd's span;
				   never a secret */
};

/* A rendered value: literal bytes and symbolic secrets, in order. */
struct plan_seg {
	char		*ps_data;	/* literal bytes, NUL-terminated */
	size_t		 ps_len;
	struct tsecret	*ps_secret;	/* non-NULL: a secret expression */
};

struct plan_field {
	uint32_t	 pf_src;	/* enum plan_src */
	uint32_t	 pf_row;	/* PLAN_ROW, PLAN_OVERRIDE: row index */
	char		*pf_name;	/* header name or query key, literal */
	struct plan_seg	*pf_segs;
	size_t		 pf_nsegs;
	size_t		 pf_csegs;	/* room in pf_segs (plan_field_add) */
	int		 pf_name_kept;	/* pf_name is not the field's: a
					   connector's key or a constant,
					   which outlive the plan (worker) */
};

/*
 * The authentication's own fields, rendered by the worker, in pl_auth:
 * pf_src is one of these, pf_name the claim or JWT header key where one
 * applies.  Claims and JWT headers configured as JSON values other than
 * strings are the keeper's own copy; they never travel.
 */
enum plan_auth_field {
	PA_CLIENT_ID = 1,
	PA_CLIENT_SECRET,
	PA_TOKEN_URL,		/* never a secret */
	PA_SCOPE,
	PA_PRIVATE_KEY,
	PA_SUBJECT,
	PA_AUDIENCE,
	PA_CLAIM,		/* jwt claims / additional_claims */
	PA_JWT_HEADER,		/* jwt_headers */
	PA_CERT,		/* widgetd.client_certificate */
	PA_CERT_KEY,
	PA_AWS_KEY_ID,		/* widgetd.aws_sigv4 */
	PA_AWS_SECRET,
	PA_AWS_TOKEN
};
#define PA_LAST		PA_AWS_TOKEN
#define PLAN_MAX_AUTH	128	/* auth fields per plan */

enum plan_kind {
	PLAN_CONNECTOR = 1,	/* a simple connector */
	PLAN_STEP,		/* a composite connector's step */
	PLAN_TEST		/* test mode: pl_conn names the unsaved
				   definition the parent gave the keeper
				   (MSG_TEST_DEF) for this worker */
};

#define PLAN_F_DEBUG	0x01	/* test mode: report the resolved request */

struct plan {
	uint64_t	 pl_gen;	/* configuration generation */
	uint32_t	 pl_tenant;	/* tenant index in that generation */
	uint32_t	 pl_kind;	/* enum plan_kind */
	uint32_t	 pl_conn;	/* connector (or composite) index */
	uint32_t	 pl_step;	/* step index (PLAN_STEP) */
	uint32_t	 pl_flags;
	/*
	 * Never the plan's own, so never copied: a worker's point at its
	 * connection's id and at conn_method_name()'s constant (both outlive
	 * the plan), a decoded plan's into pl_arena.
	 */
	const char	*pl_reqid;	/* the browser request's id, for logs */
	const char	*pl_method;
	char		*pl_url;	/* rendered; the keeper appends the
					   query fields, encoded */
	struct plan_field *pl_headers;
	size_t		 pl_nheaders;
	struct plan_field *pl_query;
	size_t		 pl_nquery;
	struct plan_field *pl_auth;	/* enum plan_auth_field in pf_src */
	size_t		 pl_nauth;
	unsigned char	*pl_body;	/* pl_has_body: may be empty */
	size_t		 pl_bodylen;
	int		 pl_has_body;
	void		*pl_arena;	/* plan_decode's one block, which every
					   pointer above is into; NULL for a
					   plan built a field at a time */
	size_t		 pl_arenalen;	/* what the plan holds */
	size_t		 pl_arenacap;	/* the block's size */
};

#define PLAN_MAX_FIELDS		256	/* headers, and query fields */
#define PLAN_MAX_SEGS		64	/* per field */
#define PLAN_MAX_NODES		1024	/* secret tree nodes per plan */
#define PLAN_MAX_DEPTH		32	/* secret tree depth */
#define PLAN_MAX_NAME		1024	/* a header name or query key */

int		 plan_encode(struct ipc_buf *, const struct plan *);
/* 0, or -1 and why (a constant string) when the payload is malformed. */
int		 plan_decode(struct ipc_msg *, struct plan *, const char **why);
void		 plan_clear(struct plan *);
/*
 * Decoded plans' and answers' blocks are wiped and kept for the next
 * ones (spare.h): the kept ones freed (a test starts from none).
 */
void		 plan_arenas_free(void);
void		 plan_field_clear(struct plan_field *);
/* Append a segment (copies data; takes secret).  -1 on ENOMEM. */
int		 plan_field_add(struct plan_field *, const char *data,
		    size_t len, struct tsecret *secret);
/* 1 when any segment of the field is a secret. */
int		 plan_field_has_secret(const struct plan_field *);

/*
 * Header names nobody may set on an upstream request: the framing and
 * connection-level ones libcurl owns (Host, Content-Length, Connection,
 * Transfer-Encoding …).  Case-insensitive.  The loader refuses them in a
 * connector, the worker never sends them, the keeper refuses a plan that
 * does.
 */
int		 plan_header_reserved(const char *name);

/* --- The answer ---------------------------------------------------------- */

/*
 * The lengths are the strings' (no NUL within: egress refuses such a
 * value); whoever fills a line sets them, and the encoder sends that many
 * bytes instead of measuring each string again.
 */
struct result_header {
	char		*rh_name;	/* as the upstream sent it */
	char		*rh_value;
	size_t		 rh_namelen;
	size_t		 rh_valuelen;
};

struct result {
	uint32_t	 rs_status;
	struct result_header *rs_headers;
	size_t		 rs_nheaders;
	unsigned char	*rs_body;
	size_t		 rs_bodylen;
	char		*rs_host;	/* the upstream host, for timing */
	uint64_t	 rs_dns_us;
	uint64_t	 rs_connect_us;
	uint64_t	 rs_tls_us;
	uint64_t	 rs_ttfb_us;
	uint64_t	 rs_total_us;	/* the keeper's whole call */
	uint32_t	 rs_reused;	/* connection reused */
	uint32_t	 rs_redacted;	/* secret-derived strings replaced */
	char		*rs_debug;	/* test mode: the resolved request as
					   JSON, secrets as their literal */
	void		*rs_arena;	/* result_decode's: one block holding
					   rs_headers, their strings, rs_host
					   and rs_debug; NULL when each is
					   malloc'd on its own */
	size_t		 rs_arenacap;
	void		*rs_frame;	/* result_decode's, for a large answer:
					   the frame it came in, which rs_body
					   lies inside (ipc_msg_keep); NULL
					   when rs_body is malloc'd */
	size_t		 rs_framecap;
};

#define RESULT_MAX_HEADERS	256

int		 result_encode(struct ipc_buf *, const struct result *);
/*
 * The same but the body: b holds what goes before it (its first *headlen
 * bytes) and after it (the rest), to send with chan_sendv.
 */
int		 result_encode_parts(struct ipc_buf *b, size_t *headlen,
		    const struct result *);
int		 result_decode(struct ipc_msg *, struct result *,
		    const char **why);
/* The first value of a header of the answer (any case), or NULL. */
const char	*result_header_get(const struct result *, const char *name);
void		 result_clear(struct result *);
/*
 * A large answer's frame taken from rs (rs_body lies inside it), for a
 * reply that sends the body where it lies: NULL when rs_body is rs's own
 * copy (a small answer).  The taker frees it with ipc_kept_free(frame,
 * *capp); rs is left without a body.
 */
void		*result_take_frame(struct result *, size_t *capp);

/* Why no answer came: widgetd's envelope, decided by the keeper. */
struct fail {
	uint32_t	 fl_status;	/* 502, 422, 503, 500 … */
	char		*fl_code;	/* envelope code ("" for none) */
	char		*fl_scope;	/* e.g. "Downstream (network/external
					   service)" */
	char		*fl_detail;	/* short, never secret */
	char		*fl_host;	/* upstream host, or "" */
	uint32_t	 fl_timeout;	/* the 15 s window ran out */
	uint64_t	 fl_external_us;
	char		*fl_debug;	/* as rs_debug */
	uint32_t	 fl_retry_after;	/* > 0: a limit's Retry-After, s */
};

int		 fail_encode(struct ipc_buf *, const struct fail *);
int		 fail_decode(struct ipc_msg *, struct fail *, const char **why);
void		 fail_clear(struct fail *);

#endif
