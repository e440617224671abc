/*
 * template.h — the widgetd template engine: a Jinja2-compatible language,
 * compiled once, rendered many times, sandboxed (SPEC §6, DESIGN §4).
 *
 * The engine knows nothing of processes, files or sockets.  It is linked by
 * the worker, by widgetctl, by the tests and by the fuzzers.  Functions return
 * 0 / NULL on failure and fill a struct tmpl_error; they never log.
 *
 * This header is the contract other subsystems code against (the connector
 * loader calls tmpl_compile/tmpl_validate/tmpl_usage; the worker renders;
 * the keeper completes struct tsecret trees).  Extend it; do not change the
 * meaning of what is here without telling its users.
 */
#ifndef WIDGETD_TEMPLATE_H
#define WIDGETD_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

struct json_object;

/* An error a connector author can act on: 1-based line and column. */
struct tmpl_error {
	int	 te_line;
	int	 te_col;
	char	 te_msg[256];
};

/* Per-render limits (SPEC §8). Zero means the default. */
struct tmpl_limits {
	uint64_t tl_steps;	/* default 1000000 */
	size_t	 tl_output;	/* default 4 MiB */
	int	 tl_depth;	/* default 64 */
};

/*
 * Load, once per process, what rendering would otherwise open lazily: the
 * Unicode case tables of the C.UTF-8 locale and OpenSSL's configuration.
 * A sandboxed process calls it before its filter goes on (the worker may
 * open nothing afterwards).  0 on success, -1 when the tables are missing
 * (rendering then falls back to ASCII case mapping).
 */
int		 tmpl_init(void);

/* --- Compilation --------------------------------------------------------- */

struct tmpl;

/* Parse src (len bytes, need not be NUL-terminated). NULL and *err on error. */
struct tmpl	*tmpl_compile(const char *src, size_t len, struct tmpl_error *err);
void		 tmpl_free(struct tmpl *);

/*
 * Where a template is used decides what it may use (platform-docs §3a, §11,
 * §12, §20; SPEC §9).  tmpl_validate() returns 0 and fills err (with the
 * line:col of the offending expression and a message naming it and saying what
 * is allowed there) when the template uses something its field forbids.
 */
enum tmpl_field {
	TMPL_FIELD_URL,			/* simple connector URL, path and query part */
	TMPL_FIELD_URL_HOST,		/* the host part of any URL: only literal text
					   and {{ get_variable('lit') }} with an optional
					   | default('lit') or | default('lit', true) */
	TMPL_FIELD_HEADER,		/* simple connector header value */
	TMPL_FIELD_QUERY,		/* simple connector query value */
	TMPL_FIELD_AUTH,		/* simple connector authentication config value */
	TMPL_FIELD_REQUEST_BODY,	/* simple connector request_body */
	TMPL_FIELD_RESPONSE_BODY,	/* simple connector response_body */
	TMPL_FIELD_STEP_URL,		/* composite step URL (path and query) */
	TMPL_FIELD_STEP_REQUEST_BODY,	/* composite step request_body */
	TMPL_FIELD_STEP_HEADER,		/* composite step header / query / auth value */
	TMPL_FIELD_STEP_RESPONSE_BODY	/* composite step response_body (may
					   use response.* of its step) */
};
int		 tmpl_validate(const struct tmpl *, enum tmpl_field,
		    struct tmpl_error *err);

/* What a compiled template refers to, for validation and for the keeper. */
#define TMPL_USES_USER		0x0001	/* user.* */
#define TMPL_USES_TENANT	0x0002	/* tenant_id */
#define TMPL_USES_SECRET	0x0004	/* get_secret() */
#define TMPL_USES_VARIABLE	0x0008	/* get_variable() */
#define TMPL_USES_JWT		0x0010	/* jwt_encode() */
#define TMPL_USES_NOW		0x0020	/* now() */
#define TMPL_USES_BODY		0x0040	/* body_text / body_raw */
#define TMPL_USES_RESPONSE	0x0080	/* response.* */
#define TMPL_USES_PATHPARAMS	0x0100	/* pathParams.* */
#define TMPL_USES_STEPS		0x0200	/* steps.* */
#define TMPL_USES_REQUEST	0x0400	/* request.* */
/*
 * response used otherwise than as response.body or response.status_code
 * (response.headers, response passed, iterated, indexed by a variable):
 * only then does the worker build the headers for it.
 */
#define TMPL_USES_RESPONSE_WHOLE 0x0800

struct tmpl_usage {
	unsigned int	  tu_flags;
	/* Literal names passed to get_secret / get_variable / pathParams.X,
	 * each list without duplicates, in order of first use. */
	const char	**tu_secrets;
	size_t		  tu_nsecrets;
	/* Per secret (same index): 1 when every use is inside the key of a
	 * jwt_encode() call, so its value may never be sent as it is. */
	const int	 *tu_secret_keyonly;
	const char	**tu_variables;
	size_t		  tu_nvariables;
	const char	**tu_pathparams;
	size_t		  tu_npathparams;
	/* Line:col of the first pathParams.X use, per name (same index). */
	const int	 *tu_pathparam_line;
	const int	 *tu_pathparam_col;
	int		  tu_dynamic_secret;	/* get_secret(non-literal) seen */
	int		  tu_dynamic_variable;	/* get_variable(non-literal) seen */
};
const struct tmpl_usage *tmpl_usage(const struct tmpl *);

/* True when the template is only literal text (no {{ }} or {% %}). */
int		 tmpl_is_literal(const struct tmpl *);

/* --- Values -------------------------------------------------------------- */

/*
 * The value model: None, bool, int (int64), float (double), str (bytes +
 * length), bytes (body_raw), list, dict (insertion-ordered), plus engine
 * internals (undefined, callables, namespace, secret).  Reference counted.
 */
struct tval;

struct tval	*tval_none(void);
struct tval	*tval_bool(int);
struct tval	*tval_int(int64_t);
struct tval	*tval_float(double);
struct tval	*tval_str(const char *, size_t);	/* copies */
/*
 * Does not copy: the bytes, NUL-terminated at the length, must outlive
 * every reference to the value (see value.c).
 */
struct tval	*tval_str_borrow(const char *, size_t);
struct tval	*tval_bytes(const void *, size_t);	/* copies; renders b'...' */
struct tval	*tval_list(void);
struct tval	*tval_dict(void);
int		 tval_list_append(struct tval *list, struct tval *v);	/* takes v */
int		 tval_dict_setn(struct tval *dict, const char *key,
		    size_t keylen, struct tval *v);		/* takes v */
struct tval	*tval_ref(struct tval *);
void		 tval_unref(struct tval *);

/*
 * tval_dict_setn with the key's length measured here: for the literal
 * keys of the request path ("body", "status_code", "user") the compiler
 * counts it, no strlen a key.  Takes v.
 */
static inline int
tval_dict_set(struct tval *dict, const char *key, struct tval *v)
{
	return tval_dict_setn(dict, key, strlen(key), v);
}
/* JSON in and out without loss: ints stay ints, key order kept. */
struct tval	*tval_from_json(const struct json_object *);
struct json_object *tval_to_json(const struct tval *);

/* --- Rendering ----------------------------------------------------------- */

/*
 * The environment of one render: the globals (a dict: user, tenant_id,
 * body_text, body_raw, response, pathParams, steps, request …), the stored
 * variables for get_variable(), the clock for now(), the limits.
 *
 * get_variable('x') with no value (te_get_variable NULL or returning NULL)
 * is an Undefined that renders as the literal "{{ get_variable('x') }}"
 * (platform-docs §12) and that | default(...) replaces.  A template may
 * mutate the globals (dict.update, list.append, as Jinja2 allows): build
 * them per request.  One render of a given template at a time (reference
 * counts are not atomic); different templates may render concurrently.
 */
struct tmpl_env {
	struct tval	*te_globals;		/* dict; may be NULL */
	/* get_variable(name): return a new reference, or NULL when unset. */
	struct tval	*(*te_get_variable)(const char *name, void *arg);
	void		*te_variable_arg;
	time_t		  te_now;		/* 0: time(NULL) */
	struct tmpl_limits te_limits;
};

/*
 * A symbolic secret expression (DESIGN §4): what get_secret() becomes in a
 * worker.  A small tree of fixed operations that the keeper evaluates with
 * the secret values it alone holds.  It is data, never a template.
 */
enum tsecret_op {
	TSX_LITERAL,	/* ts_data/ts_len: literal bytes */
	TSX_SECRET,	/* ts_data: the secret's name */
	TSX_CONCAT,	/* ts_kids[0..ts_nkids): concatenation */
	TSX_URLENCODE,	/* ts_kids[0]: Jinja2 urlencode of a string */
	TSX_BASE64,	/* ts_kids[0]: base64_encode */
	TSX_JWT		/* ts_kids[0]: key; ts_data: payload JSON; ts_alg;
			   ts_headers: extra header JSON or NULL */
};
struct tsecret {
	enum tsecret_op	  ts_op;
	char		 *ts_data;
	size_t		  ts_len;
	char		 *ts_alg;
	char		 *ts_headers;
	struct tsecret	**ts_kids;
	size_t		  ts_nkids;
	/* The template text this node came from, for X-Debug-Request. */
	char		 *ts_literal;
	/*
	 * Which of ts_data and ts_literal live in the node's own block (a
	 * secret leaf and a copy: one allocation, not three), freed with it.
	 */
	unsigned	  ts_inl;
#define TS_INL_DATA	0x1
#define TS_INL_LITERAL	0x2
};
void		 tsecret_free(struct tsecret *);
/* The template text of a tree (what X-Debug-Request shows); malloc'd. */
char		*tsecret_literal(const struct tsecret *);

/*
 * The keeper completes trees with the secret values (src/keeper_secret.c);
 * the engine gives it the two operations it shares with rendering, so both
 * sides encode exactly alike.  Pure functions: malloc'd, NUL-terminated
 * results (*lenp set) that the caller wipes and frees; NULL on failure.
 * tmpl_urlencode is Jinja2's urlencode of a string ("/" stays); header and
 * payload of tmpl_jwt_sign are the JSON texts a TSX_JWT node carries.
 */
char		*tmpl_urlencode(const char *s, size_t len, size_t *lenp);
char		*tmpl_jwt_sign(const char *alg, const void *key, size_t keylen,
		    const char *header_json, const char *payload_json,
		    size_t *lenp, char *err, size_t errlen);

/*
 * A render result: a sequence of literal byte segments and secret trees.
 * Without get_secret() it is exactly one literal segment.
 */
struct tmpl_segment {
	const char	 *sg_data;	/* literal bytes (NULL for a secret) */
	size_t		  sg_len;
	struct tsecret	 *sg_secret;	/* non-NULL for a symbolic secret */
};
struct tmpl_output {
	struct tmpl_segment *to_segs;
	size_t		  to_nsegs;
	int		  to_has_secret;
};
void		 tmpl_output_free(struct tmpl_output *);
/* The whole output as one NUL-terminated string; NULL if it holds a secret. */
const char	*tmpl_output_text(const struct tmpl_output *, size_t *lenp);

/*
 * Render; NULL and *err on a render error (line:col and message).  Sandbox
 * failures (step budget, output cap, depth) are render errors like any
 * other; none of them is fatal to the caller.
 */
struct tmpl_output *tmpl_render(const struct tmpl *, const struct tmpl_env *,
		    struct tmpl_error *err);

#endif
