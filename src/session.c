/*
 * session.c — session tokens: finding them in a request, verifying them
 * and turning their claims into user.* (SPEC §5).  See session.h for the
 * decisions; the order of the checks below is part of them:
 *
 * - sizes before parsing: the token's length, then three non-empty parts,
 *   then strict base64url, then JSON with a nesting cap;
 * - the header before the signature: alg must be exactly the algorithm of
 *   the tenant's key, so "none", HS256 (the public key used as an HMAC
 *   secret), another family or another curve never reach a verifier, and
 *   a "crit" header (an extension we would have to understand) is refused;
 * - the signature before the claims: the payload is not parsed until it is
 *   known to come from the tenant's signer.
 *
 * Which key a token is checked with comes from the configuration alone:
 * kid, jku, jwk, x5u and x5c headers are ignored.
 */
#include "build.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "http.h"
#include "session.h"
#include "template/template.h"

#define SESSION_RSA_MIN		2048
#define SESSION_RSA_MAX		16384	/* a bigger key is a verification DoS */
#define SESSION_ES256_SIG	64	/* JOSE r||s, RFC 7518 3.4 */
#define SESSION_ED25519_SIG	64

enum session_keytype {
	SESSION_KEY_ES256,
	SESSION_KEY_RS256,
	SESSION_KEY_EDDSA
};

struct session_key {
	EVP_PKEY		*k_pkey;
	enum session_keytype	 k_type;
	size_t			 k_siglen;	/* the one signature length */
};

struct session {
	struct tval	*s_user;	/* the "user" dict */
	char		*s_csrf;	/* the csrf claim; NULL: none */
	size_t		 s_csrflen;
};

static const char *const session_algs[] = { "ES256", "RS256", "EdDSA" };

/* --- Keys -------------------------------------------------------------- */

/* The key's type decides the algorithm; anything else is refused here. */
static int
session_key_classify(struct session_key *k, const char **errmsg)
{
	char	 group[64];
	size_t	 glen = 0;
	int	 bits;

	switch (EVP_PKEY_get_base_id(k->k_pkey)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(k->k_pkey, group, sizeof(group),
		    &glen) != 1 || strcmp(group, SN_X9_62_prime256v1) != 0) {
			*errmsg = "an EC key must be on P-256 (ES256)";
			return -1;
		}
		k->k_type = SESSION_KEY_ES256;
		k->k_siglen = SESSION_ES256_SIG;
		return 0;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(k->k_pkey);
		if (bits < SESSION_RSA_MIN || bits > SESSION_RSA_MAX) {
			*errmsg = "an RSA key must have 2048 to 16384 bits";
			return -1;
		}
		k->k_type = SESSION_KEY_RS256;
		k->k_siglen = (size_t)EVP_PKEY_get_size(k->k_pkey);
		return 0;
	case EVP_PKEY_ED25519:
		k->k_type = SESSION_KEY_EDDSA;
		k->k_siglen = SESSION_ED25519_SIG;
		return 0;
	default:
		*errmsg = "the key is not EC P-256, RSA or Ed25519";
		return -1;
	}
}

struct session_key *
session_key_new(const void *pem, size_t len, const char **errmsg)
{
	struct session_key	*k = NULL;
	BIO			*bio = NULL;
	EVP_PKEY_CTX		*pctx = NULL;

	*errmsg = NULL;
	if (len == 0 || len > INT_MAX) {
		*errmsg = "no key";
		goto fail;
	}
	/* a common mistake, and the worker has no business holding one */
	if (memmem(pem, len, "PRIVATE KEY-----", 16) != NULL) {
		*errmsg = "this is a private key; give the public key";
		goto fail;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		*errmsg = "out of memory";
		goto fail;
	}
	if ((k->k_pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		*errmsg = "not a PEM public key (BEGIN PUBLIC KEY)";
		goto fail;
	}
	if (session_key_classify(k, errmsg) == -1)
		goto fail;
	/* the point is on the curve, the RSA modulus sane */
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->k_pkey, NULL)) ==
	    NULL || EVP_PKEY_public_check(pctx) != 1) {
		*errmsg = "the public key fails its consistency check";
		goto fail;
	}
	goto out;
fail:
	session_key_free(k);
	k = NULL;
out:
	EVP_PKEY_CTX_free(pctx);
	BIO_free(bio);
	ERR_clear_error();
	return k;
}

void
session_key_free(struct session_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->k_pkey);
	free(k);
}

const char *
session_key_alg(const struct session_key *k)
{
	return session_algs[k->k_type];
}

/* --- Finding the token ------------------------------------------------- */

static int
session_is_ws(char c)
{
	return c == ' ' || c == '\t';
}

int
session_cookie_get(const char *hdr, size_t len, const char *name,
    const char **val, size_t *vallen)
{
	size_t	 nlen = strlen(name), i = 0, s, e, eq, vs, ve;
	int	 found = 0;

	*val = NULL;
	*vallen = 0;
	if (nlen == 0)
		return 0;
	while (i < len) {
		/* one cookie-pair: up to the next ';' */
		for (s = i; i < len && hdr[i] != ';'; i++)
			;
		e = i++;
		while (s < e && session_is_ws(hdr[s]))
			s++;
		for (eq = s; eq < e && hdr[eq] != '='; eq++)
			;
		if (eq == e)
			continue;	/* no '=': not a cookie we know */
		for (ve = eq; ve > s && session_is_ws(hdr[ve - 1]); ve--)
			;
		if (ve - s != nlen || memcmp(hdr + s, name, nlen) != 0)
			continue;
		if (found++) {
			*val = NULL;
			*vallen = 0;
			return -1;
		}
		for (vs = eq + 1; vs < e && session_is_ws(hdr[vs]); vs++)
			;
		for (ve = e; ve > vs && session_is_ws(hdr[ve - 1]); ve--)
			;
		/* cookie-value = DQUOTE *cookie-octet DQUOTE */
		if (ve - vs >= 2 && hdr[vs] == '"' && hdr[ve - 1] == '"') {
			vs++;
			ve--;
		}
		*val = hdr + vs;
		*vallen = ve - vs;
	}
	return found;
}

/*
 * "Bearer <token>": the scheme without case (RFC 9110 11.1), one or more
 * spaces, then the token.  Another scheme is not ours: *tok stays NULL.
 */
static enum session_status
session_bearer(const char *v, const char **tok, size_t *toklen,
    const char **why)
{
	size_t	 n = strlen(v), s, e;

	*tok = NULL;
	*toklen = 0;
	for (s = 0; s < n && !session_is_ws(v[s]); s++)
		;
	if (s != 6 || strncasecmp(v, "Bearer", 6) != 0)
		return SESSION_ANONYMOUS;
	while (s < n && session_is_ws(v[s]))
		s++;
	for (e = n; e > s && session_is_ws(v[e - 1]); e--)
		;
	if (s == e) {
		*why = "an Authorization: Bearer header without a token";
		return SESSION_INVALID;
	}
	if (memchr(v + s, ' ', e - s) != NULL ||
	    memchr(v + s, '\t', e - s) != NULL) {
		*why = "white space inside a Bearer token";
		return SESSION_INVALID;
	}
	*tok = v + s;
	*toklen = e - s;
	return SESSION_ANONYMOUS;
}

enum session_status
session_extract(const char *cookie, const struct http_request *r,
    struct session_creds *cr, const char **why)
{
	const struct http_header *h;
	const char		*auth = NULL, *chdr = NULL, *btok, *ctok;
	size_t			 i, btoklen, ctoklen;
	int			 nauth = 0, ncookie = 0, ncsrf = 0;
	enum session_status	 st;

	memset(cr, 0, sizeof(*cr));
	*why = NULL;
	for (i = 0; i < r->r_nheaders; i++) {
		h = &r->r_headers[i];
		if (strcasecmp(h->h_name, "Authorization") == 0) {
			nauth++;
			auth = h->h_value;
		} else if (strcasecmp(h->h_name, "Cookie") == 0) {
			ncookie++;
			chdr = h->h_value;
		} else if (strcasecmp(h->h_name, "X-CSRFToken") == 0 ||
		    strcasecmp(h->h_name, "X-CSRF-Token") == 0) {
			ncsrf++;
			cr->cr_csrf = h->h_value;
			cr->cr_csrflen = strlen(h->h_value);
		}
	}
	/* two of a kind: a proxy and widgetd could disagree on which counts */
	if (nauth > 1)
		*why = "more than one Authorization header";
	else if (ncookie > 1)
		*why = "more than one Cookie header";
	else if (ncsrf > 1)
		*why = "more than one CSRF header (X-CSRFToken, X-CSRF-Token)";
	if (*why != NULL) {
		memset(cr, 0, sizeof(*cr));
		return SESSION_BAD_REQUEST;
	}
	if (cookie == NULL)
		return SESSION_ANONYMOUS;	/* a tenant without sessions */

	btok = ctok = NULL;
	btoklen = ctoklen = 0;
	if (auth != NULL &&
	    (st = session_bearer(auth, &btok, &btoklen, why)) !=
	    SESSION_ANONYMOUS)
		return st;
	if (chdr != NULL && session_cookie_get(chdr, strlen(chdr), cookie,
	    &ctok, &ctoklen) == -1) {
		*why = "the session cookie more than once";
		return SESSION_BAD_REQUEST;
	}
	if (ctoklen == 0)
		ctok = NULL;	/* an emptied cookie is no session */
	if (ctok != NULL && btok != NULL) {
		if (ctoklen != btoklen || CRYPTO_memcmp(ctok, btok, ctoklen) !=
		    0) {
			*why = "a session cookie and a different Bearer token";
			return SESSION_BAD_REQUEST;
		}
		cr->cr_from = SESSION_FROM_BOTH;
	} else if (ctok != NULL)
		cr->cr_from = SESSION_FROM_COOKIE;
	else if (btok != NULL)
		cr->cr_from = SESSION_FROM_BEARER;
	cr->cr_token = ctok != NULL ? ctok : btok;
	cr->cr_tokenlen = ctok != NULL ? ctoklen : btoklen;
	return SESSION_ANONYMOUS;
}

/* --- Verification ------------------------------------------------------ */

/*
 * The value of each base64url character (RFC 4648 5), X for anything else:
 * one load per character, where the tokens' bytes are spent.
 */
#define X	-1
static const signed char session_b64url_tab[128] = {
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, 62, X, X,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, 63,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
};
#undef X

static int
session_b64val(unsigned char c)
{
	return c < 128 ? session_b64url_tab[c] : -1;
}

/*
 * Strict base64url (RFC 7515 2): the URL-safe alphabet only, no padding,
 * and the unused low bits of the last character zero, so that a token has
 * exactly one spelling.  out has room for n * 3 / 4 bytes.
 */
static int
session_b64url(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
	uint32_t	 acc = 0;
	size_t		 i, o = 0;
	int		 bits = 0, v;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((v = session_b64val((unsigned char)s[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	*outlen = o;
	return 0;
}

/* One JSON object, strict RFC 8259 and UTF-8, nesting capped, nothing after. */
static struct json_object *
session_json(const unsigned char *p, size_t n)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	size_t			 end;

	if (n > INT_MAX || (tok = json_tokener_new_ex(SESSION_JSON_DEPTH)) ==
	    NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, (const char *)p, (int)n);
	end = json_tokener_get_parse_end(tok);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))
		goto fail;
	while (end < n && (p[end] == ' ' || p[end] == '\t' || p[end] == '\n' ||
	    p[end] == '\r'))
		end++;
	if (end != n)
		goto fail;
	json_tokener_free(tok);
	return o;
fail:
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

/* A JSON string equal to s, byte for byte (a NUL inside never matches). */
static int
session_str_eq(struct json_object *o, const char *s)
{
	size_t	 n = strlen(s);

	return json_object_is_type(o, json_type_string) &&
	    (size_t)json_object_get_string_len(o) == n &&
	    memcmp(json_object_get_string(o), s, n) == 0;
}

/* The protected header: alg exactly the key's, no crit. */
static enum session_status
session_check_header(const struct session_key *k, struct json_object *h,
    const char **why)
{
	struct json_object	*alg;
	const char		*a;

	if (!json_object_object_get_ex(h, "alg", &alg) ||
	    !json_object_is_type(alg, json_type_string)) {
		*why = "the token header has no alg";
		return SESSION_INVALID;
	}
	a = json_object_get_string(alg);
	if (strcasecmp(a, "none") == 0) {
		*why = "unsigned token (alg none)";
		return SESSION_INVALID;
	}
	if (!session_str_eq(alg, session_key_alg(k))) {
		*why = "the token's alg is not the tenant key's algorithm";
		return SESSION_INVALID;
	}
	if (json_object_object_get_ex(h, "crit", NULL)) {
		*why = "the token header has crit (no extension is understood)";
		return SESSION_INVALID;
	}
	return SESSION_VALID;
}

/* 1 when sig is k's signature of msg. */
static int
session_sig_ok(const struct session_key *k, const unsigned char *msg,
    size_t msglen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	unsigned char	*der = NULL;
	const EVP_MD	*md = NULL;
	int		 derlen, ok = 0;

	if (siglen != k->k_siglen)
		goto out;
	switch (k->k_type) {
	case SESSION_KEY_ES256:
		/* JOSE's r||s to the DER that OpenSSL verifies */
		if ((es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
		    (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1)
			goto out;
		r = s = NULL;
		if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
		md = EVP_sha256();
		break;
	case SESSION_KEY_RS256:
		md = EVP_sha256();	/* PKCS #1 v1.5, an RSA key's default */
		break;
	case SESSION_KEY_EDDSA:
		break;			/* Ed25519 hashes on its own */
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->k_pkey) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	/* a failed verification queues errors nobody will read */
	ERR_clear_error();
	return ok;
}

/*
 * A NumericDate claim (RFC 7519 2): 1 and *t when present, 0 when absent,
 * -1 when it is not a finite number.
 */
static int
session_numdate(struct json_object *p, const char *name, double *t)
{
	struct json_object	*o;

	if (!json_object_object_get_ex(p, name, &o))
		return 0;
	if (!json_object_is_type(o, json_type_int) &&
	    !json_object_is_type(o, json_type_double))
		return -1;
	*t = json_object_get_double(o);
	return isfinite(*t) ? 1 : -1;
}

/* exp required and ahead of now, nbf and iat not ahead, with the leeway. */
static enum session_status
session_check_times(struct json_object *p, time_t now, const char **why)
{
	double	 t, n = (double)now;
	int	 rc;

	if ((rc = session_numdate(p, "exp", &t)) != 1) {
		*why = rc == 0 ? "the token has no exp" : "exp is not a number";
		return SESSION_INVALID;
	}
	if (n >= t + SESSION_LEEWAY) {
		*why = "the token has expired";
		return SESSION_EXPIRED;
	}
	if ((rc = session_numdate(p, "nbf", &t)) == -1) {
		*why = "nbf is not a number";
		return SESSION_INVALID;
	}
	if (rc == 1 && n + SESSION_LEEWAY < t) {
		*why = "the token is not valid yet (nbf)";
		return SESSION_INVALID;
	}
	if ((rc = session_numdate(p, "iat", &t)) == -1) {
		*why = "iat is not a number";
		return SESSION_INVALID;
	}
	if (rc == 1 && n + SESSION_LEEWAY < t) {
		*why = "the token was issued in the future (iat)";
		return SESSION_INVALID;
	}
	return SESSION_VALID;
}

/* iss equal to the issuer; aud equal to, or an array holding, the audience. */
static enum session_status
session_check_parties(const struct session_conf *sc, struct json_object *p,
    const char **why)
{
	struct json_object	*o, *e;
	size_t			 i, n;
	int			 found = 0;

	if (sc->sc_issuer != NULL && (!json_object_object_get_ex(p, "iss",
	    &o) || !session_str_eq(o, sc->sc_issuer))) {
		*why = "iss is not the configured issuer";
		return SESSION_INVALID;
	}
	if (!json_object_object_get_ex(p, "aud", &o)) {
		if (sc->sc_audience == NULL)
			return SESSION_VALID;
		*why = "the token has no aud";
		return SESSION_INVALID;
	}
	if (sc->sc_audience == NULL) {
		*why = "the token has aud but the tenant sets no audience";
		return SESSION_INVALID;
	}
	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(o, i);
			if (!json_object_is_type(e, json_type_string)) {
				*why = "aud holds something other than strings";
				return SESSION_INVALID;
			}
			found |= session_str_eq(e, sc->sc_audience);
		}
	} else
		found = session_str_eq(o, sc->sc_audience);
	if (!found) {
		*why = "aud does not name the configured audience";
		return SESSION_INVALID;
	}
	return SESSION_VALID;
}

/*
 * A string claim as a template value: the first of names present and not
 * null, else None.  NULL and *why when it is not a string (or no memory:
 * *why NULL).
 */
static struct tval *
session_claim_str(struct json_object *p, const char *const *names,
    const char **why)
{
	struct json_object	*o;

	for (; *names != NULL; names++) {
		if (!json_object_object_get_ex(p, *names, &o) || o == NULL)
			continue;
		if (!json_object_is_type(o, json_type_string)) {
			*why = "a user claim (email, names) is not a string";
			return NULL;
		}
		return tval_str(json_object_get_string(o),
		    (size_t)json_object_get_string_len(o));
	}
	return tval_none();
}

/* user.* as SPEC §5 maps it, and the csrf claim. */
static enum session_status
session_claims(struct session *s, struct json_object *p, const char **why)
{
	static const char *const email[] = { "email", NULL };
	static const char *const uname[] = { "preferred_username", "username",
	    NULL };
	static const char *const first[] = { "given_name", "first_name", NULL };
	static const char *const last[] = { "family_name", "last_name", NULL };
	static const struct {
		const char		*name;
		const char *const	*claims;
	} strs[] = {
		{ "email", email }, { "username", uname },
		{ "first_name", first }, { "last_name", last }
	};
	struct json_object	*o;
	struct tval		*v;
	size_t			 i;

	*why = NULL;
	if (!json_object_object_get_ex(p, "sub", &o) ||
	    !json_object_is_type(o, json_type_string) ||
	    json_object_get_string_len(o) == 0) {
		*why = "sub is missing or not a non-empty string";
		return SESSION_INVALID;
	}
	if ((s->s_user = tval_dict()) == NULL ||
	    tval_dict_set(s->s_user, "id", tval_str(json_object_get_string(o),
	    (size_t)json_object_get_string_len(o))) == -1)
		return SESSION_NOMEM;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if ((v = session_claim_str(p, strs[i].claims, why)) == NULL)
			return *why != NULL ? SESSION_INVALID : SESSION_NOMEM;
		if (tval_dict_set(s->s_user, strs[i].name, v) == -1)
			return SESSION_NOMEM;
	}
	/* an object keyed by field id: by_id(42) finds "42" */
	if (!json_object_object_get_ex(p, "profile_fields", &o) || o == NULL)
		v = tval_dict();
	else if (json_object_is_type(o, json_type_object))
		v = tval_from_json(o);
	else {
		*why = "profile_fields is not an object";
		return SESSION_INVALID;
	}
	if (tval_dict_set(s->s_user, "profile_fields", v) == -1)
		return SESSION_NOMEM;

	if (json_object_object_get_ex(p, "csrf", &o) && o != NULL) {
		if (!json_object_is_type(o, json_type_string)) {
			*why = "csrf is not a string";
			return SESSION_INVALID;
		}
		s->s_csrflen = (size_t)json_object_get_string_len(o);
		if ((s->s_csrf = malloc(s->s_csrflen + 1)) == NULL)
			return SESSION_NOMEM;
		memcpy(s->s_csrf, json_object_get_string(o), s->s_csrflen + 1);
	}
	return SESSION_VALID;
}

enum session_status
session_verify(const struct session_conf *sc, const char *tok, size_t len,
    time_t now, struct session **sp, const char **why)
{
	const char		*d1, *d2;
	unsigned char		*buf = NULL;
	size_t			 hl, pl, gl, n;
	struct json_object	*hdr = NULL, *pay = NULL;
	struct session		*s = NULL;
	enum session_status	 st = SESSION_INVALID;

	*sp = NULL;
	*why = NULL;
	if (sc->sc_key == NULL) {
		*why = "the tenant has no session key";
		goto out;
	}
	if (len > SESSION_TOKEN_MAX) {
		*why = "the token is longer than 8192 bytes";
		goto out;
	}
	/* header.payload.signature, none of them empty */
	if ((d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL) {
		*why = "the token is not a compact JWS (three parts)";
		goto out;
	}
	hl = (size_t)(d1 - tok);
	pl = (size_t)(d2 - d1 - 1);
	gl = len - (size_t)(d2 + 1 - tok);
	if (hl == 0 || pl == 0) {
		*why = "the token has an empty part";
		goto out;
	}
	if (gl == 0) {
		*why = "the token has no signature";
		goto out;
	}
	/* one buffer fits the largest decoded part */
	if ((buf = malloc(len)) == NULL) {
		st = SESSION_NOMEM;
		goto out;
	}
	if (session_b64url(tok, hl, buf, &n) == -1) {
		*why = "the token header is not strict base64url";
		goto out;
	}
	if ((hdr = session_json(buf, n)) == NULL) {
		*why = "the token header is not a JSON object";
		goto out;
	}
	if ((st = session_check_header(sc->sc_key, hdr, why)) != SESSION_VALID)
		goto out;
	st = SESSION_INVALID;
	if (session_b64url(d2 + 1, gl, buf, &n) == -1) {
		*why = "the token signature is not strict base64url";
		goto out;
	}
	if (!session_sig_ok(sc->sc_key, (const unsigned char *)tok,
	    (size_t)(d2 - tok), buf, n)) {
		*why = "the token signature does not verify";
		goto out;
	}
	if (session_b64url(d1 + 1, pl, buf, &n) == -1) {
		*why = "the token payload is not strict base64url";
		goto out;
	}
	pay = session_json(buf, n);
	explicit_bzero(buf, n);
	if (pay == NULL) {
		*why = "the token payload is not a JSON object";
		goto out;
	}
	if ((st = session_check_times(pay, now, why)) != SESSION_VALID ||
	    (st = session_check_parties(sc, pay, why)) != SESSION_VALID)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		st = SESSION_NOMEM;
		goto out;
	}
	if ((st = session_claims(s, pay, why)) != SESSION_VALID)
		goto out;
	*sp = s;
	s = NULL;
out:
	if (st == SESSION_NOMEM)
		*why = "out of memory";
	session_free(s);
	json_object_put(hdr);
	json_object_put(pay);
	free(buf);
	return st;
}

/* --- CSRF and the whole check ------------------------------------------ */

enum session_status
session_csrf_check(const struct session *s, const char *csrf, size_t len,
    const char **why)
{
	if (s->s_csrf == NULL || s->s_csrflen == 0) {
		*why = "the token has no csrf claim";
		return SESSION_CSRF_FAILED;
	}
	if (csrf == NULL) {
		*why = "no X-CSRFToken header";
		return SESSION_CSRF_FAILED;
	}
	/* the length is no secret; the bytes are compared in constant time */
	if (len != s->s_csrflen || CRYPTO_memcmp(csrf, s->s_csrf, len) != 0) {
		*why = "the CSRF header is not the token's csrf claim";
		return SESSION_CSRF_FAILED;
	}
	return SESSION_VALID;
}

enum session_status
session_authenticate(const struct session_conf *sc,
    const struct http_request *r, time_t now, struct session **sp,
    const char **why)
{
	struct session_creds	 cr;
	struct session		*s;
	enum session_status	 st;

	*sp = NULL;
	*why = NULL;
	st = session_extract(sc->sc_key != NULL ? sc->sc_cookie : NULL, r, &cr,
	    why);
	if (st != SESSION_ANONYMOUS || cr.cr_token == NULL)
		return st;
	if ((st = session_verify(sc, cr.cr_token, cr.cr_tokenlen, now, &s,
	    why)) != SESSION_VALID)
		return st;
	if ((st = session_csrf_check(s, cr.cr_csrf, cr.cr_csrflen, why)) !=
	    SESSION_VALID) {
		session_free(s);
		return st;
	}
	*sp = s;
	return SESSION_VALID;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	tval_unref(s->s_user);
	if (s->s_csrf != NULL) {
		explicit_bzero(s->s_csrf, s->s_csrflen);
		free(s->s_csrf);
	}
	free(s);
}

struct tval *
session_user(const struct session *s)
{
	static const char *const keys[] = { "id", "email", "username",
	    "first_name", "last_name" };
	struct tval	*u;
	size_t		 i;

	if (s != NULL)
		return tval_ref(s->s_user);
	if ((u = tval_dict()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (tval_dict_set(u, keys[i], tval_none()) == -1)
			goto fail;
	/* a dict, so that user.profile_fields.by_id(1) is None */
	if (tval_dict_set(u, "profile_fields", tval_dict()) == -1)
		goto fail;
	return u;
fail:
	tval_unref(u);
	return NULL;
}

int
session_http_status(enum session_status st, const char **code)
{
	*code = NULL;
	switch (st) {
	case SESSION_ANONYMOUS:
	case SESSION_VALID:
		return 200;
	case SESSION_BAD_REQUEST:
		*code = "AMBIGUOUS_CREDENTIALS";
		return 400;
	case SESSION_INVALID:
		*code = "INVALID_SESSION";
		return 401;
	case SESSION_EXPIRED:
		*code = "SESSION_EXPIRED";
		return 401;
	case SESSION_CSRF_FAILED:
		*code = "CSRF_FAILED";
		return 403;
	case SESSION_NOMEM:
		break;
	}
	return 500;
}
