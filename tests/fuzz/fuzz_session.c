/*
 * fuzz_session.c — libFuzzer target for session.c: cookie parsing, the
 * credential headers of a request, token verification, and the claims of
 * tokens that do verify.
 *
 * The first input byte chooses what the rest is:
 *   0  a Cookie header value, looked up for "widget_session";
 *   1  request headers, one "Name: value" a line, through
 *      session_authenticate with an Ed25519 tenant;
 *   2  a compact token, verified with the ES256, RS256 and EdDSA tenants;
 *   3  a JWS header JSON, a NUL, a claims JSON: the harness signs them
 *      with the Ed25519 tenant's key, so the claims code past the
 *      signature is reached, and a session's user.* is rendered to JSON.
 * Every call checks what session.h promises (pointers inside the input,
 * a session exactly on SESSION_VALID, a reason on every refusal).
 *
 * This file defines only LLVMFuzzerTestOneInput; the replay main() that
 * runs tests/fuzz/corpus/session in make check is the shared one.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "http.h"
#include "session.h"
#include "template/template.h"

#define FUZZ_NOW	((time_t)1700000000)
#define FUZZ_MAXHDR	16

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum { FK_ES, FK_RS, FK_ED, FK_N };

static EVP_PKEY			*fuzz_priv[FK_N];
static struct session_key	*fuzz_key[FK_N];

/* The public key of k as PEM, into a session_key. */
static struct session_key *
fuzz_key_of(EVP_PKEY *k)
{
	struct session_key	*sk = NULL;
	const char		*err;
	char			*pem;
	long			 n;
	BIO			*b;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		abort();
	if (PEM_write_bio_PUBKEY(b, k) != 1 || (n = BIO_get_mem_data(b,
	    &pem)) <= 0 || (sk = session_key_new(pem, (size_t)n, &err)) == NULL)
		abort();
	BIO_free(b);
	return sk;
}

/* Once per process: an Ed25519 key from a fixed seed, EC and RSA keys. */
static void
fuzz_init(void)
{
	static const unsigned char	 seed[32] = "widgetd fuzz_session ed25519!!!";
	int				 i;

	if (fuzz_key[0] != NULL)
		return;
	fuzz_priv[FK_ED] = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, sizeof(seed));
	fuzz_priv[FK_ES] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fuzz_priv[FK_RS] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	for (i = 0; i < FK_N; i++) {
		if (fuzz_priv[i] == NULL)
			abort();
		fuzz_key[i] = fuzz_key_of(fuzz_priv[i]);
	}
}

static struct session_conf
fuzz_conf(int kind)
{
	struct session_conf	 sc;

	memset(&sc, 0, sizeof(sc));
	sc.sc_key = fuzz_key[kind];
	sc.sc_cookie = "widget_session";
	sc.sc_issuer = "iss";
	sc.sc_audience = "aud";
	return sc;
}

/* session.h's promises about one outcome; the session is freed. */
static void
fuzz_outcome(enum session_status st, struct session *s, const char *why)
{
	struct tval		*u;
	struct json_object	*j;

	if ((st == SESSION_VALID) != (s != NULL))
		abort();
	if (st != SESSION_VALID && st != SESSION_ANONYMOUS && why == NULL)
		abort();
	if (s == NULL)
		return;
	/* user.* always has its six members */
	if ((u = session_user(s)) == NULL)
		abort();
	if ((j = tval_to_json(u)) == NULL ||
	    !json_object_object_get_ex(j, "id", NULL) ||
	    !json_object_object_get_ex(j, "profile_fields", NULL) ||
	    json_object_object_length(j) != 6)
		abort();
	json_object_put(j);
	tval_unref(u);
	(void)session_csrf_check(s, "x", 1, &why);
	session_free(s);
}

static void
fuzz_cookie(const char *p, size_t n)
{
	const char	*v;
	size_t		 vl;
	int		 rc;

	rc = session_cookie_get(p, n, "widget_session", &v, &vl);
	if (rc == 1 && (v < p || v + vl > p + n))
		abort();
	if (rc != 1 && (v != NULL || vl != 0))
		abort();
}

static void
fuzz_headers(char *p, size_t n)
{
	struct http_header	 h[FUZZ_MAXHDR];
	struct http_request	 r;
	struct session_creds	 cr;
	struct session_conf	 sc = fuzz_conf(FK_ED);
	struct session		*s;
	enum session_status	 st;
	const char		*why;
	char			*line, *c, *t, *end = p + n;

	memset(&r, 0, sizeof(r));
	r.r_headers = h;
	/* p is NUL-terminated by the caller; NULs inside end a line early */
	for (line = p; line < end && r.r_nheaders < FUZZ_MAXHDR; ) {
		c = memchr(line, '\n', (size_t)(end - line));
		if (c != NULL)
			*c = '\0';
		h[r.r_nheaders].h_name = line;
		h[r.r_nheaders].h_value = "";
		if ((line = strchr(line, ':')) != NULL) {
			/* trimmed of white space, as http.c hands values over */
			*line++ = '\0';
			while (*line == ' ' || *line == '\t')
				line++;
			h[r.r_nheaders].h_value = line;
			for (t = line + strlen(line); t > line &&
			    (t[-1] == ' ' || t[-1] == '\t'); t--)
				t[-1] = '\0';
		}
		r.r_nheaders++;
		if (c == NULL)
			break;
		line = c + 1;
	}
	st = session_extract("widget_session", &r, &cr, &why);
	if (st == SESSION_ANONYMOUS && cr.cr_token != NULL &&
	    (cr.cr_tokenlen == 0 || cr.cr_from == 0))
		abort();
	st = session_authenticate(&sc, &r, FUZZ_NOW, &s, &why);
	fuzz_outcome(st, s, why);
	/* a tenant without sessions: anonymous unless a header is doubled */
	sc.sc_key = NULL;
	st = session_authenticate(&sc, &r, FUZZ_NOW, &s, &why);
	if (st != SESSION_ANONYMOUS && st != SESSION_BAD_REQUEST)
		abort();
	fuzz_outcome(st, s, why);
}

static void
fuzz_token(const char *p, size_t n)
{
	struct session_conf	 sc;
	struct session		*s;
	enum session_status	 st;
	const char		*why;
	int			 i;

	for (i = 0; i < FK_N; i++) {
		sc = fuzz_conf(i);
		st = session_verify(&sc, p, n, FUZZ_NOW, &s, &why);
		fuzz_outcome(st, s, why);
	}
}

static char *
fuzz_b64u(const unsigned char *p, size_t n, char *o)
{
	char	*s, *d;

	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	for (s = d = o; *s != '\0'; s++)
		if (*s != '=')
			*d++ = *s == '+' ? '-' : *s == '/' ? '_' : *s;
	*d = '\0';
	return d;
}

/* Sign header and claims with the Ed25519 key, then verify. */
static void
fuzz_signed(const char *p, size_t n)
{
	const char	*nul = memchr(p, '\0', n);
	size_t		 hl, cl, siglen = 64;
	unsigned char	 sig[64];
	char		*tok, *e;
	EVP_MD_CTX	*ctx;

	if (nul == NULL || n > SESSION_TOKEN_MAX)
		return;
	hl = (size_t)(nul - p);
	cl = n - hl - 1;
	if ((tok = malloc((hl + cl) / 3 * 4 + 128)) == NULL)
		abort();
	e = fuzz_b64u((const unsigned char *)p, hl, tok);
	*e++ = '.';
	e = fuzz_b64u((const unsigned char *)nul + 1, cl, e);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, fuzz_priv[FK_ED]) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)tok,
	    (size_t)(e - tok)) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	*e++ = '.';
	e = fuzz_b64u(sig, siglen, e);
	fuzz_token(tok, (size_t)(e - tok));
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*p;
	size_t	 n;

	if (size < 1 || size > 3 * SESSION_TOKEN_MAX)
		return 0;
	fuzz_init();
	n = size - 1;
	/* exactly n bytes (and a NUL for mode 1): ASan sees any overread */
	if ((p = malloc(n + 1)) == NULL)
		abort();
	memcpy(p, data + 1, n);
	p[n] = '\0';
	switch (data[0] % 4) {
	case 0:
		fuzz_cookie(p, n);
		break;
	case 1:
		fuzz_headers(p, n);
		break;
	case 2:
		fuzz_token(p, n);
		break;
	case 3:
		fuzz_signed(p, n);
		break;
	}
	free(p);
	return 0;
}
