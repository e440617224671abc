/*
 * session.h — the browser's identity (SPEC §5): the session token a request
 * carries (the tenant's cookie or "Authorization: Bearer"), verified in the
 * worker with the tenant's public key, its claims mapped to user.* for the
 * templates, and the CSRF check that goes with it.
 *
 * Library style: nothing here logs, opens a file or reads the clock.  Every
 * failure is a status (what to answer) plus a static message for the debug
 * log; no message ever holds a byte of the token, a claim or a header.
 *
 * Decisions (also in widgetd.conf(5), SESSIONS):
 * - A token in both the cookie and a Bearer header is used only when the
 *   two are byte for byte the same; otherwise 400.  The client never gets
 *   to choose which of two credentials is checked.
 * - Authorization schemes other than Bearer are ignored (widgetd never
 *   forwards that header, and a browser behind HTTP Basic authentication
 *   sends it on its own); a Bearer header without a token is 401.
 * - An empty session cookie is no token (it is how sites clear one).
 * - The CSRF header is required for every method, GET and HEAD included,
 *   and for Bearer tokens as well as cookies: any connector call may act
 *   upstream in the user's name.
 */
#ifndef WIDGETD_SESSION_H
#define WIDGETD_SESSION_H

#include <stddef.h>
#include <time.h>

struct http_request;
struct tval;

enum session_status {
	SESSION_ANONYMOUS,	/* no token: user.* is None */
	SESSION_VALID,		/* a verified token, CSRF header matched */
	SESSION_BAD_REQUEST,	/* 400: duplicated credentials or CSRF */
	SESSION_INVALID,	/* 401: a token that does not verify */
	SESSION_EXPIRED,	/* 401: a good token past exp (+ leeway) */
	SESSION_CSRF_FAILED,	/* 403: CSRF header missing or different */
	SESSION_NOMEM		/* 500: out of memory */
};

/* Seconds of clock skew allowed for exp, nbf and iat. */
#define SESSION_LEEWAY		30
/* Bytes of a compact token, checked before anything is parsed. */
#define SESSION_TOKEN_MAX	8192
/* Nesting of the JSON header and claims (the top object is one). */
#define SESSION_JSON_DEPTH	10

/*
 * A tenant's verification key, from the PEM bytes of a SubjectPublicKeyInfo
 * ("BEGIN PUBLIC KEY"): EC P-256 (ES256), RSA of 2048 to 16384 bits
 * (RS256) or Ed25519 (EdDSA).  The key alone decides the algorithm.  Made
 * once per configuration generation and shared, read-only, by every
 * request; nothing is opened (the bytes are in memory).  NULL and *errmsg
 * (static) on failure.
 */
struct session_key;
struct session_key *session_key_new(const void *pem, size_t len,
		    const char **errmsg);
void		 session_key_free(struct session_key *);
/* "ES256", "RS256" or "EdDSA". */
const char	*session_key_alg(const struct session_key *);

/*
 * A tenant's session settings.  Every pointer is borrowed and must outlive
 * the calls that use it (the configuration generation does).
 */
struct session_conf {
	const struct session_key *sc_key;	/* NULL: the tenant has no
						   sessions, every request is
						   anonymous */
	const char	*sc_cookie;	/* the cookie's name */
	const char	*sc_issuer;	/* NULL: iss is not checked */
	const char	*sc_audience;	/* NULL: a token with aud is refused
					   (RFC 7519 4.1.3) */
};

/* A verified session: its user.* value and its csrf claim. */
struct session;

/*
 * The whole check, in order: credential headers (duplicates are 400), the
 * token (cookie or Bearer), its verification at time now, and for a
 * session the CSRF header.  On SESSION_VALID *sp is the session (free it
 * with session_free); on anything else *sp is NULL.  *why is a static
 * reason for the debug log on every refusal (NULL for SESSION_ANONYMOUS
 * and SESSION_VALID); it never holds request bytes.
 * A tenant without sessions (sc_key NULL) still gets the duplicate checks;
 * tokens are then ignored and the result is SESSION_ANONYMOUS.
 */
enum session_status session_authenticate(const struct session_conf *,
		    const struct http_request *, time_t now,
		    struct session **sp, const char **why);
void		 session_free(struct session *);

/*
 * The template value "user" for this session, a new reference: a dict with
 * id, email, username, first_name, last_name and profile_fields.  With a
 * NULL session (anonymous) every member is None except profile_fields,
 * which is an empty dict so that user.profile_fields.by_id(1) is None
 * rather than an error.  NULL when out of memory.
 */
struct tval	*session_user(const struct session *);

/*
 * What to answer: the HTTP status and the envelope's errors.code (NULL
 * when there is none).  200 for SESSION_ANONYMOUS and SESSION_VALID.
 */
int		 session_http_status(enum session_status, const char **code);

/* --- The steps, for the tests, the fuzzer and a caller that needs one -- */

#define SESSION_FROM_COOKIE	1
#define SESSION_FROM_BEARER	2
#define SESSION_FROM_BOTH	3	/* the same token in both */

/* What a request presents; pointers into the request's headers. */
struct session_creds {
	const char	*cr_token;	/* NULL: no token */
	size_t		 cr_tokenlen;
	int		 cr_from;	/* one of SESSION_FROM_ */
	const char	*cr_csrf;	/* X-CSRFToken or X-CSRF-Token; NULL */
	size_t		 cr_csrflen;
};

/*
 * Find the credentials in r.  cookie is the session cookie's name, or NULL
 * to look for no token (a tenant without sessions).  SESSION_ANONYMOUS
 * when the headers are well formed (cr->cr_token tells whether there is a
 * token), SESSION_BAD_REQUEST (two Authorization, Cookie or CSRF headers,
 * the session cookie twice, or cookie and Bearer tokens that differ) or
 * SESSION_INVALID (a Bearer header without a well-formed token).
 */
enum session_status session_extract(const char *cookie,
		    const struct http_request *r, struct session_creds *cr,
		    const char **why);

/*
 * Look for the cookie name in the value of a Cookie header (RFC 6265
 * 4.2.1: "a=b; c=d", optional white space around names and values, a
 * value in double quotes is taken without them; names compare exactly).
 * 1 and *val, *vallen (inside hdr) when found once, 0 when absent, -1 when
 * the name occurs more than once.
 */
int		 session_cookie_get(const char *hdr, size_t len,
		    const char *name, const char **val, size_t *vallen);

/*
 * Verify a compact JWS and map its claims.  SESSION_VALID and *sp, or
 * SESSION_INVALID / SESSION_EXPIRED / SESSION_NOMEM and *why.
 */
enum session_status session_verify(const struct session_conf *,
		    const char *token, size_t len, time_t now,
		    struct session **sp, const char **why);

/*
 * The CSRF header (csrf, len; csrf NULL when absent) against the session's
 * csrf claim, in constant time.  SESSION_VALID or SESSION_CSRF_FAILED.
 */
enum session_status session_csrf_check(const struct session *,
		    const char *csrf, size_t len, const char **why);

#endif
