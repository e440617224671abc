/*
 * keeper_auth.h — the authentication the keeper adds to a call (keeper
 * only): signed JWTs, OAuth tokens (client credentials, JWT bearer) with
 * their cache, upstream client certificates, AWS Signature Version 4.
 *
 * The worker renders the authentication's fields with the user's context;
 * secrets stay symbolic there.  Everything derived from a secret — a
 * token, a signature, an assertion — exists only here, is wiped when
 * dropped, and is added to the call's redaction set.
 */
#ifndef WIDGETD_KEEPER_AUTH_H
#define WIDGETD_KEEPER_AUTH_H

#include <stddef.h>
#include <time.h>

struct egress;
struct fail;
struct kreq;

/* Token lifetimes (widgetd-connectors(5), AUTHENTICATION). */
#define KAUTH_EXPIRES_DEFAULT	300	/* s, when expires_in is missing */
#define KAUTH_EXPIRES_MAX	86400	/* s, at most, whatever it says */
#define KAUTH_MARGIN		60	/* s before expiry a token is dropped */
#define KAUTH_MAX_TOKENS	4096	/* cached tokens per keeper */
#define KAUTH_TOKEN_MAX		16384	/* bytes of an access token */
#define KAUTH_RESPONSE_MAX	(256 * 1024)	/* bytes of a token response */

struct kauth;
struct kauth_req;

/* The keeper's token cache; token requests go through egress. */
struct kauth	*kauth_new(struct egress *);
void		 kauth_free(struct kauth *);
void		 kauth_set_egress(struct kauth *, struct egress *);
/* The window of a token request, in seconds (egress.timeout). */
/* Token fetches and failures are counted there (metrics.h). */
struct metrics;
void		 kauth_set_metrics(struct kauth *, struct metrics *);
void		 kauth_set_window(struct kauth *, int seconds);

/*
 * Called when a call's credential is ready (fl NULL), or cannot be had
 * (fl: the failure to answer, then freed by the caller of the callback).
 */
typedef void	(*kauth_ready_fn)(void *arg, struct fail *fl);

/*
 * Complete kr's authentication: the Authorization header of a JWT or an
 * OAuth token, the client certificate, the SigV4 headers.  0: ready now;
 * 1: a token is being fetched and ready(arg, …) will say when; -1: failed
 * now, with fl filled.  *reqp is the call's state (kauth_req_free it
 * whatever happens); NULL when it has none to keep (no token, no
 * certificate).
 */
int		 kauth_prepare(struct kauth *, struct kreq *,
		    struct kauth_req **reqp, kauth_ready_fn ready, void *arg,
		    struct fail *fl);
/*
 * The upstream answered status.  A 401 on a cached OAuth token purges it
 * and the call is made once more with a new one: 1 when the new token is
 * set already, 2 when it is being fetched and ready() will say when; 0
 * when the answer stands.
 */
int		 kauth_retry(struct kauth *, struct kauth_req *, int status);
/* Forget the call's state; a pending ready() will not be called. */
void		 kauth_req_free(struct kauth_req *);

/* The client certificate of the call, or NULL (mTLS; PEM). */
const char	*kauth_client_cert(const struct kauth_req *, size_t *len,
		    const char **key, size_t *keylen);

/* --- Pieces, for the tests --------------------------------------------- */

/*
 * application/x-www-form-urlencoded: space as '+', everything but
 * [A-Za-z0-9*-._] as %XX.  malloc'd; the caller wipes secret ones.
 */
char		*kauth_form_encode(const char *s, size_t len, size_t *outlen);
/* A PEM key written with literal "\n" escapes, made real.  malloc'd. */
char		*kauth_pem_unescape(const char *s, size_t len, size_t *outlen);
/*
 * AWS Signature Version 4 of a request: the Authorization header's value
 * for method, url (absolute), the headers to sign (name/value pairs, the
 * host taken from url), the payload's SHA-256 in hex, a time and the
 * credentials.  malloc'd, or NULL.
 */
struct kauth_sigv4 {
	const char	*sv_key_id;
	const char	*sv_secret;
	size_t		 sv_secretlen;
	const char	*sv_region;
	const char	*sv_service;
	time_t		 sv_time;
};
char		*kauth_sigv4_sign(const struct kauth_sigv4 *, const char *method,
		    const char *url, const char *const *names,
		    const char *const *values, size_t n,
		    const char *payload_sha256);

#endif
