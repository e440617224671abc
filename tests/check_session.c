/*
 * check_session.c — session tokens (SPEC §5): keys, finding the token in a
 * request, verification for ES256, RS256 and EdDSA with keys generated
 * here, the claims as user.* (rendered by the engine, by_id included) and
 * the CSRF check.  Every refusal is checked by status and by the reason,
 * so a test cannot pass because a different check happened to fail first.
 */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "http.h"
#include "session.h"
#include "template/template.h"

#define NOW	((time_t)1700000000)
#define ISS	"https://community.acme.example"
#define AUD	"widgetd"
#define CSRF	"c5rf-0123456789abcdef"
#define LINE_MAX_T	4096	/* a test header line */

enum { K_ES, K_RS, K_ED, K_N };

/* The tenants' keys, made once (RSA generation is slow under valgrind). */
struct fixture {
	EVP_PKEY		*f_priv[K_N];	/* the signing keys */
	EVP_PKEY		*f_other[K_N];	/* same type, another key */
	char			*f_pem[K_N];	/* public key PEM */
	size_t			 f_pemlen[K_N];
	struct session_key	*f_key[K_N];
};
static struct fixture	 fx;

static const char *const alg_names[K_N] = { "ES256", "RS256", "EdDSA" };

static EVP_PKEY *
keygen(int kind)
{
	EVP_PKEY	*k = NULL;

	switch (kind) {
	case K_ES:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case K_RS:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case K_ED:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	}
	ck_assert_ptr_nonnull(k);
	return k;
}

static char *
pub_pem(EVP_PKEY *k, size_t *lenp)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *r;
	long	 n;

	ck_assert_int_eq(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &p);
	r = malloc((size_t)n + 1);
	memcpy(r, p, (size_t)n);
	r[n] = '\0';
	BIO_free(b);
	*lenp = (size_t)n;
	return r;
}

static char *
priv_pem(EVP_PKEY *k, size_t *lenp)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *r;
	long	 n;

	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	n = BIO_get_mem_data(b, &p);
	r = malloc((size_t)n + 1);
	memcpy(r, p, (size_t)n);
	r[n] = '\0';
	BIO_free(b);
	*lenp = (size_t)n;
	return r;
}

static void
fx_free(void)
{
	int	 i;

	for (i = 0; i < K_N; i++) {
		EVP_PKEY_free(fx.f_priv[i]);
		EVP_PKEY_free(fx.f_other[i]);
		free(fx.f_pem[i]);
		session_key_free(fx.f_key[i]);
	}
	memset(&fx, 0, sizeof(fx));
}

/* Unchecked fixture: runs in the parent, so forked tests share the keys. */
static void
fx_setup(void)
{
	const char	*err;
	int		 i;

	if (fx.f_priv[0] != NULL)
		return;
	for (i = 0; i < K_N; i++) {
		fx.f_priv[i] = keygen(i);
		fx.f_other[i] = keygen(i);
		fx.f_pem[i] = pub_pem(fx.f_priv[i], &fx.f_pemlen[i]);
		fx.f_key[i] = session_key_new(fx.f_pem[i], fx.f_pemlen[i],
		    &err);
		ck_assert_msg(fx.f_key[i] != NULL, "%s", err);
	}
	atexit(fx_free);
}

static struct session_conf
conf_for(int kind)
{
	struct session_conf	 sc;

	memset(&sc, 0, sizeof(sc));
	sc.sc_key = fx.f_key[kind];
	sc.sc_cookie = "widget_session";
	sc.sc_issuer = ISS;
	sc.sc_audience = AUD;
	return sc;
}

/* --- Making tokens ------------------------------------------------------- */

static char *
b64u(const void *p, size_t n)
{
	char	*o = malloc(4 * ((n + 2) / 3) + 1), *s, *d;

	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	for (s = d = o; *s != '\0'; s++) {
		if (*s == '=')
			continue;
		*d++ = *s == '+' ? '-' : *s == '/' ? '_' : *s;
	}
	*d = '\0';
	return o;
}

static char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	return s;
}

enum sig_kind {
	SIG_JOSE,	/* what the key's algorithm prescribes */
	SIG_DER,	/* ECDSA in DER, as OpenSSL makes it (not JOSE) */
	SIG_HMAC,	/* HS256 with the given bytes as the secret */
	SIG_EMPTY	/* no signature at all */
};

/* Raw signature bytes of input with k, the JOSE way (or DER). */
static unsigned char *
sign_raw(EVP_PKEY *k, enum sig_kind how, const char *input, size_t *siglen)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	const EVP_MD	*md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ?
			    NULL : EVP_sha256();
	unsigned char	*sig, *raw;
	const unsigned char *p;
	ECDSA_SIG	*es;
	size_t		 n = 0;

	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, md, NULL, k), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, NULL, &n,
	    (const unsigned char *)input, strlen(input)), 1);
	sig = malloc(n);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &n,
	    (const unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC || how == SIG_DER) {
		*siglen = n;
		return sig;
	}
	p = sig;
	es = d2i_ECDSA_SIG(NULL, &p, (long)n);
	ck_assert_ptr_nonnull(es);
	raw = malloc(64);
	ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
	ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
	ECDSA_SIG_free(es);
	free(sig);
	*siglen = 64;
	return raw;
}

/* h64.p64.signature: the parts as given, signed as they stand. */
static char *
tok_sign(const char *h64, const char *p64, EVP_PKEY *k, enum sig_kind how,
    const void *hkey, size_t hkeylen)
{
	char		*input = xasprintf("%s.%s", h64, p64), *s, *tok;
	unsigned char	*sig = NULL, mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	size_t		 siglen = 0;

	switch (how) {
	case SIG_JOSE:
	case SIG_DER:
		sig = sign_raw(k, how, input, &siglen);
		s = b64u(sig, siglen);
		break;
	case SIG_HMAC:
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), hkey, (int)hkeylen,
		    (const unsigned char *)input, strlen(input), mac, &maclen));
		s = b64u(mac, maclen);
		break;
	default:
		s = strdup("");
		break;
	}
	tok = xasprintf("%s.%s", input, s);
	free(input);
	free(sig);
	free(s);
	return tok;
}

/* header.payload.signature from JSON texts. */
static char *
tok_make(const char *hdr, const char *pay, EVP_PKEY *k, enum sig_kind how,
    const void *hkey, size_t hkeylen)
{
	char	*h = b64u(hdr, strlen(hdr)), *p = b64u(pay, strlen(pay)), *t;

	t = tok_sign(h, p, k, how, hkey, hkeylen);
	free(h);
	free(p);
	return t;
}

static char *
hdr_for(int kind)
{
	return xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg_names[kind]);
}

/* The standard claims, with extra members appended (a JSON fragment). */
static char *
pay_std(const char *extra)
{
	return xasprintf("{\"sub\":\"u-1\",\"email\":\"ann@example.com\","
	    "\"preferred_username\":\"ann\",\"username\":\"ann.lee\","
	    "\"given_name\":\"Ann\",\"family_name\":\"Lee\","
	    "\"profile_fields\":{\"42\":\"Engineering\",\"7\":null},"
	    "\"csrf\":\"" CSRF "\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"iat\":%lld,\"exp\":%lld%s%s}", (long long)NOW - 10,
	    (long long)NOW + 600, extra != NULL ? "," : "",
	    extra != NULL ? extra : "");
}

/* A signed token of kind with the given claims. */
static char *
tok_claims(int kind, const char *pay)
{
	char	*h = hdr_for(kind), *t;

	t = tok_make(h, pay, fx.f_priv[kind], SIG_JOSE, NULL, 0);
	free(h);
	return t;
}

static char *
tok_std(int kind)
{
	char	*p = pay_std(NULL), *t;

	t = tok_claims(kind, p);
	free(p);
	return t;
}

/* Verify; on success the session is freed unless sp is given. */
static enum session_status
verify(const struct session_conf *sc, const char *tok, const char **why,
    struct session **sp)
{
	struct session		*s = NULL;
	enum session_status	 st;

	*why = NULL;
	st = session_verify(sc, tok, strlen(tok), NOW, &s, why);
	if (st == SESSION_VALID) {
		ck_assert_ptr_nonnull(s);
		ck_assert_ptr_null(*why);
	} else {
		ck_assert_ptr_null(s);
		ck_assert_ptr_nonnull(*why);
	}
	if (sp != NULL)
		*sp = s;
	else
		session_free(s);
	return st;
}

#define ck_refused(sc, tok, status, reason) do {			\
	const char	*why_;						\
	ck_assert_int_eq(verify((sc), (tok), &why_, NULL), (status));	\
	ck_assert_msg(why_ != NULL && strstr(why_, (reason)) != NULL,	\
	    "reason '%s' lacks '%s'", why_ ? why_ : "-", (reason));	\
} while (0)

#define ck_valid(sc, tok) do {						\
	const char	*why_;						\
	ck_assert_msg(verify((sc), (tok), &why_, NULL) == SESSION_VALID,\
	    "refused: %s", why_ ? why_ : "?");				\
} while (0)

/* A token made from JSON texts that sc refuses as invalid, for reason. */
static void
made_refused(const struct session_conf *sc, const char *hdr, const char *pay,
    EVP_PKEY *k, enum sig_kind how, const void *hkey, size_t hkeylen,
    const char *reason)
{
	char	*t = tok_make(hdr, pay, k, how, hkey, hkeylen);

	ck_refused(sc, t, SESSION_INVALID, reason);
	free(t);
}

/* Render src with user = u (a reference taken). */
static char *
render_user(struct tval *u, const char *src)
{
	struct tmpl		*t;
	struct tmpl_env		 env;
	struct tmpl_error	 err;
	struct tmpl_output	*o;
	char			*r;

	ck_assert_ptr_nonnull(u);
	t = tmpl_compile(src, strlen(src), &err);
	ck_assert_msg(t != NULL, "%s", err.te_msg);
	memset(&env, 0, sizeof(env));
	env.te_globals = tval_dict();
	ck_assert_int_eq(tval_dict_set(env.te_globals, "user", u), 0);
	o = tmpl_render(t, &env, &err);
	ck_assert_msg(o != NULL, "%d:%d: %s", err.te_line, err.te_col,
	    err.te_msg);
	r = strdup(tmpl_output_text(o, NULL));
	tmpl_output_free(o);
	tval_unref(env.te_globals);
	tmpl_free(t);
	return r;
}

/* --- Keys ---------------------------------------------------------------- */

START_TEST(test_key_types)
{
	int	 i;

	for (i = 0; i < K_N; i++)
		ck_assert_str_eq(session_key_alg(fx.f_key[i]), alg_names[i]);
}
END_TEST

/* Keys whose algorithm widgetd does not take are refused at load. */
START_TEST(test_key_refused)
{
	static const struct {
		const char	*type;
		const char	*param;
		size_t		 bits;
		const char	*why;
	} bad[] = {
		{ "EC", "P-384", 0, "P-256" },
		{ "EC", "secp256k1", 0, "P-256" },
		{ "RSA", NULL, 1024, "2048" },
		{ "ED448", NULL, 0, "not EC P-256, RSA or Ed25519" },
		{ "X25519", NULL, 0, "not EC P-256, RSA or Ed25519" },
	};
	struct session_key	*sk;
	EVP_PKEY		*k;
	const char		*err;
	char			*pem;
	size_t			 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i].param != NULL)
			k = EVP_PKEY_Q_keygen(NULL, NULL, bad[i].type,
			    bad[i].param);
		else if (bad[i].bits != 0)
			k = EVP_PKEY_Q_keygen(NULL, NULL, bad[i].type,
			    bad[i].bits);
		else
			k = EVP_PKEY_Q_keygen(NULL, NULL, bad[i].type);
		ck_assert_ptr_nonnull(k);
		pem = pub_pem(k, &n);
		sk = session_key_new(pem, n, &err);
		ck_assert_msg(sk == NULL, "%s accepted", bad[i].type);
		ck_assert_msg(strstr(err, bad[i].why) != NULL, "%s: %s",
		    bad[i].type, err);
		free(pem);
		EVP_PKEY_free(k);
	}

	/* a private key, garbage, nothing, a truncated key */
	pem = priv_pem(fx.f_priv[K_ES], &n);
	ck_assert_ptr_null(session_key_new(pem, n, &err));
	ck_assert_ptr_nonnull(strstr(err, "private key"));
	free(pem);
	ck_assert_ptr_null(session_key_new("hello", 5, &err));
	ck_assert_ptr_nonnull(strstr(err, "not a PEM public key"));
	ck_assert_ptr_null(session_key_new("", 0, &err));
	ck_assert_ptr_null(session_key_new(fx.f_pem[K_RS],
	    fx.f_pemlen[K_RS] / 2, &err));
}
END_TEST

/* --- Finding the token --------------------------------------------------- */

START_TEST(test_cookie_get)
{
	static const struct {
		const char	*hdr;
		int		 rc;
		const char	*val;
	} cases[] = {
		{ "widget_session=abc", 1, "abc" },
		{ "a=b; widget_session=abc; c=d", 1, "abc" },
		{ "a=b;widget_session=abc;c=d", 1, "abc" },
		{ "  widget_session \t=  abc  ; x=y", 1, "abc" },
		{ "widget_session=\"abc\"", 1, "abc" },
		{ "widget_session=\"\"", 1, "" },
		{ "widget_session=", 1, "" },
		{ "widget_session=\"", 1, "\"" },
		{ "widget_session=a=b", 1, "a=b" },
		{ "widget_session2=abc", 0, NULL },
		{ "xwidget_session=abc", 0, NULL },
		{ "Widget_Session=abc", 0, NULL },	/* names are exact */
		{ "widget_session", 0, NULL },		/* no '=' */
		{ "=widget_session", 0, NULL },
		{ "", 0, NULL },
		{ ";;;", 0, NULL },
		{ "widget_session=a; widget_session=b", -1, NULL },
		{ "widget_session=a; widget_session=a", -1, NULL },
		{ "widget_session=; widget_session=b", -1, NULL },
	};
	const char	*v;
	size_t		 i, n;
	int		 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = session_cookie_get(cases[i].hdr, strlen(cases[i].hdr),
		    "widget_session", &v, &n);
		ck_assert_msg(rc == cases[i].rc, "'%s': %d", cases[i].hdr, rc);
		if (rc == 1)
			ck_assert_msg(n == strlen(cases[i].val) &&
			    memcmp(v, cases[i].val, n) == 0, "'%s': '%.*s'",
			    cases[i].hdr, (int)n, v);
		else
			ck_assert_msg(v == NULL && n == 0, "'%s': a value",
			    cases[i].hdr);
	}
	/* the length bounds the scan: the bytes after it are not read */
	rc = session_cookie_get("a=1; widget_session=tok", 4, "widget_session",
	    &v, &n);
	ck_assert_int_eq(rc, 0);
}
END_TEST

struct xcase {
	const char	*x_name;
	const char	*x_hdrs[6];	/* "Name: value" */
	int		 x_status;
	const char	*x_token;	/* expected token, NULL: none */
	int		 x_from;
	const char	*x_csrf;
	const char	*x_why;		/* substring of the reason */
};

static const struct xcase xcases[] = {
	{ "nothing", { NULL }, SESSION_ANONYMOUS, NULL, 0, NULL, NULL },
	{ "cookie", { "Cookie: a=1; widget_session=T1; b=2" },
	    SESSION_ANONYMOUS, "T1", SESSION_FROM_COOKIE, NULL, NULL },
	{ "cookie-case", { "cOOKIE: widget_session=T1" },
	    SESSION_ANONYMOUS, "T1", SESSION_FROM_COOKIE, NULL, NULL },
	{ "bearer", { "Authorization: Bearer T2" },
	    SESSION_ANONYMOUS, "T2", SESSION_FROM_BEARER, NULL, NULL },
	{ "bearer-case", { "authorization: bEARER    T2" },
	    SESSION_ANONYMOUS, "T2", SESSION_FROM_BEARER, NULL, NULL },
	{ "basic-ignored", { "Authorization: Basic dXNlcjpwYXNz" },
	    SESSION_ANONYMOUS, NULL, 0, NULL, NULL },
	{ "basic-and-cookie", { "Authorization: Basic dXNlcjpwYXNz",
	    "Cookie: widget_session=T1" },
	    SESSION_ANONYMOUS, "T1", SESSION_FROM_COOKIE, NULL, NULL },
	{ "bearerx-ignored", { "Authorization: BearerT2" },
	    SESSION_ANONYMOUS, NULL, 0, NULL, NULL },
	{ "bearer-empty", { "Authorization: Bearer" },
	    SESSION_INVALID, NULL, 0, NULL, "without a token" },
	{ "bearer-blank", { "Authorization: Bearer   " },
	    SESSION_INVALID, NULL, 0, NULL, "without a token" },
	{ "bearer-space", { "Authorization: Bearer a b" },
	    SESSION_INVALID, NULL, 0, NULL, "white space" },
	{ "both-same", { "Cookie: widget_session=T1",
	    "Authorization: Bearer T1" },
	    SESSION_ANONYMOUS, "T1", SESSION_FROM_BOTH, NULL, NULL },
	{ "both-differ", { "Cookie: widget_session=T1",
	    "Authorization: Bearer T2" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "different Bearer" },
	{ "both-prefix", { "Cookie: widget_session=T1",
	    "Authorization: Bearer T12" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "different Bearer" },
	{ "empty-cookie", { "Cookie: widget_session=" },
	    SESSION_ANONYMOUS, NULL, 0, NULL, NULL },
	{ "empty-cookie-bearer", { "Cookie: widget_session=\"\"",
	    "Authorization: Bearer T2" },
	    SESSION_ANONYMOUS, "T2", SESSION_FROM_BEARER, NULL, NULL },
	{ "other-cookie", { "Cookie: session=T1" },
	    SESSION_ANONYMOUS, NULL, 0, NULL, NULL },
	{ "two-cookie-headers", { "Cookie: a=1", "Cookie: b=2" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "Cookie header" },
	{ "two-cookie-headers-case", { "Cookie: widget_session=T1",
	    "COOKIE: widget_session=T1" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "Cookie header" },
	{ "cookie-twice", { "Cookie: widget_session=T1; widget_session=T2" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "session cookie more" },
	{ "other-cookie-twice", { "Cookie: a=1; a=2; widget_session=T1" },
	    SESSION_ANONYMOUS, "T1", SESSION_FROM_COOKIE, NULL, NULL },
	{ "two-authorization", { "Authorization: Bearer T2",
	    "Authorization: Bearer T2" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "Authorization header" },
	{ "two-authorization-basic", { "Authorization: Basic x",
	    "authorization: Basic y" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "Authorization header" },
	{ "csrf", { "X-CSRFToken: abc" },
	    SESSION_ANONYMOUS, NULL, 0, "abc", NULL },
	{ "csrf-alt", { "x-csrf-token: abc" },
	    SESSION_ANONYMOUS, NULL, 0, "abc", NULL },
	{ "csrf-twice", { "X-CSRFToken: abc", "X-CSRFToken: abc" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "CSRF header" },
	{ "csrf-alt-twice", { "X-CSRF-Token: abc", "x-csrf-token: abd" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "CSRF header" },
	{ "csrf-both", { "X-CSRFToken: abc", "X-CSRF-Token: abc" },
	    SESSION_BAD_REQUEST, NULL, 0, NULL, "CSRF header" },
	{ "csrf-like", { "X-CSRFToken-Extra: abc", "X-CSRF: abd" },
	    SESSION_ANONYMOUS, NULL, 0, NULL, NULL },
};

/* A request with the given "Name: value" headers. */
static void
req_init(struct http_request *r, struct http_header *h,
    const char *const *lines, char bufs[][LINE_MAX_T])
{
	size_t	 n;
	char	*c;

	memset(r, 0, sizeof(*r));
	r->r_method = (char *)"GET";
	r->r_headers = h;
	for (n = 0; lines[n] != NULL; n++) {
		snprintf(bufs[n], LINE_MAX_T, "%s", lines[n]);
		c = strchr(bufs[n], ':');
		ck_assert_ptr_nonnull(c);
		*c++ = '\0';
		while (*c == ' ')
			c++;
		h[n].h_name = bufs[n];
		h[n].h_value = c;
	}
	r->r_nheaders = n;
}

START_TEST(test_extract)
{
	const struct xcase	*x = &xcases[_i];
	struct http_request	 r;
	struct http_header	 h[6];
	char			 bufs[6][LINE_MAX_T];
	struct session_creds	 cr;
	const char		*why;
	enum session_status	 st;

	req_init(&r, h, x->x_hdrs, bufs);
	st = session_extract("widget_session", &r, &cr, &why);
	ck_assert_msg(st == (enum session_status)x->x_status, "%s: status %d",
	    x->x_name, st);
	if (x->x_why != NULL) {
		ck_assert_msg(why != NULL && strstr(why, x->x_why) != NULL,
		    "%s: %s", x->x_name, why ? why : "(none)");
		return;
	}
	if (x->x_token == NULL)
		ck_assert_msg(cr.cr_token == NULL, "%s: a token", x->x_name);
	else
		ck_assert_msg(cr.cr_token != NULL &&
		    cr.cr_tokenlen == strlen(x->x_token) &&
		    memcmp(cr.cr_token, x->x_token, cr.cr_tokenlen) == 0 &&
		    cr.cr_from == x->x_from, "%s: token", x->x_name);
	if (x->x_csrf == NULL)
		ck_assert_ptr_null(cr.cr_csrf);
	else
		ck_assert_msg(cr.cr_csrf != NULL &&
		    strcmp(cr.cr_csrf, x->x_csrf) == 0 &&
		    cr.cr_csrflen == strlen(x->x_csrf), "%s: csrf", x->x_name);

	/* a tenant without sessions sees no token but the same 400s */
	st = session_extract(NULL, &r, &cr, &why);
	ck_assert_int_eq(st, SESSION_ANONYMOUS);
	ck_assert_ptr_null(cr.cr_token);
}
END_TEST

/* Duplicates are 400 also for a tenant without sessions. */
START_TEST(test_extract_nosessions)
{
	static const char *const dup[] = { "Cookie: a=1", "Cookie: b=2", NULL };
	struct http_request	 r;
	struct http_header	 h[6];
	char			 bufs[6][LINE_MAX_T];
	struct session_creds	 cr;
	const char		*why;

	req_init(&r, h, dup, bufs);
	ck_assert_int_eq(session_extract(NULL, &r, &cr, &why),
	    SESSION_BAD_REQUEST);
}
END_TEST

/* --- Verification, for each algorithm ------------------------------------ */

START_TEST(test_valid)
{
	struct session_conf	 sc = conf_for(_i);
	struct session		*s;
	const char		*why;
	char			*t = tok_std(_i), *p, *q;

	ck_valid(&sc, t);
	/* a kid, a jku pointing elsewhere and other headers change nothing */
	p = xasprintf("{\"alg\":\"%s\",\"kid\":\"k1\",\"jku\":"
	    "\"https://evil.example/jwks\",\"typ\":\"JWT\",\"cty\":\"x\"}",
	    alg_names[_i]);
	q = pay_std(NULL);
	free(t);
	t = tok_make(p, q, fx.f_priv[_i], SIG_JOSE, NULL, 0);
	ck_valid(&sc, t);
	/* the length given is the token, even with bytes after it */
	free(p);
	p = xasprintf("%s.garbage", t);
	ck_assert_int_eq(session_verify(&sc, p, strlen(t), NOW, &s, &why),
	    SESSION_VALID);
	session_free(s);
	free(p);
	free(q);
	free(t);
}
END_TEST

/* An ECDSA signature (randomised) verifies every time, not by luck. */
START_TEST(test_valid_repeat)
{
	struct session_conf	 sc = conf_for(K_ES);
	char			*t;
	int			 i;

	for (i = 0; i < 20; i++) {
		t = tok_std(K_ES);
		ck_valid(&sc, t);
		free(t);
	}
}
END_TEST

/* Another key of the same type; for ES256 also the DER form of r, s. */
START_TEST(test_wrong_signature)
{
	struct session_conf	 sc = conf_for(_i);
	char			*h = hdr_for(_i), *p = pay_std(NULL);

	made_refused(&sc, h, p, fx.f_other[_i], SIG_JOSE, NULL, 0,
	    "does not verify");
	/* RFC 7518 3.4: r||s; the DER that OpenSSL makes is refused */
	if (_i == K_ES)
		made_refused(&sc, h, p, fx.f_priv[_i], SIG_DER, NULL, 0,
		    "does not verify");
	free(h);
	free(p);
}
END_TEST

/* Flip one bit in each part in turn: never valid. */
START_TEST(test_tampered)
{
	struct session_conf	 sc = conf_for(_i);
	char			*t = tok_std(_i), *d1, *d2, *u;
	const char		*why;
	size_t			 i, n = strlen(t);
	int			 sawsig = 0;

	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	for (i = 0; i < n; i++) {
		if (t[i] == '.')
			continue;
		u = strdup(t);
		/* another character of the alphabet at this position */
		u[i] = u[i] == 'A' ? 'B' : 'A';
		ck_assert_msg(verify(&sc, u, &why, NULL) == SESSION_INVALID,
		    "byte %zu changed and still valid", i);
		if (t + i > d2 && strstr(why, "does not verify") != NULL)
			sawsig = 1;
		free(u);
	}
	ck_assert(sawsig);

	/* a payload changed to another user, re-encoded, old signature */
	{
		char	*p = xasprintf("{\"sub\":\"admin\",\"csrf\":\"" CSRF
		    "\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld}",
		    (long long)NOW + 600);
		char	*pb = b64u(p, strlen(p));

		*d1 = '\0';
		u = xasprintf("%s.%s.%s", t, pb, d2 + 1);
		ck_refused(&sc, u, SESSION_INVALID, "does not verify");
		free(u);
		free(pb);
		free(p);
		*d1 = '.';
	}
	/* a header changed (typ), old signature */
	{
		char	*h = xasprintf("{\"alg\":\"%s\",\"typ\":\"jwt\"}",
		    alg_names[_i]);
		char	*hb = b64u(h, strlen(h));

		u = xasprintf("%s%s", hb, d1);
		ck_refused(&sc, u, SESSION_INVALID, "does not verify");
		free(u);
		free(hb);
		free(h);
	}
	/* the signature cut short, lengthened, or of another token */
	u = strdup(t);
	u[n - 2] = '\0';
	ck_refused(&sc, u, SESSION_INVALID, "");
	free(u);
	u = xasprintf("%sAAAA", t);
	ck_refused(&sc, u, SESSION_INVALID, "does not verify");
	free(u);
	free(t);
}
END_TEST

/* Another algorithm in the header than the key's: refused before verifying. */
START_TEST(test_alg_confusion)
{
	static const char *const others[] = { "ES256", "RS256", "EdDSA",
	    "HS256", "HS384", "HS512", "PS256", "ES384", "ES512", "RS512",
	    "Ed25519", "es256", "rs256", "EDDSA", "ES256 ", "",
	    "ES256\\u0000" };
	struct session_conf	 sc = conf_for(_i);
	char			*h, *p = pay_std(NULL);
	size_t			 i;
	int			 k;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (strcmp(others[i], alg_names[_i]) == 0)
			continue;
		h = xasprintf("{\"alg\":\"%s\"}", others[i]);
		/* signed with the right key, with every other key too */
		for (k = 0; k < K_N; k++) {
			made_refused(&sc, h, p, fx.f_priv[k], SIG_JOSE, NULL, 0,
			    "alg");
		}
		/* an HMAC keyed with the tenant's public key bytes */
		made_refused(&sc, h, p, NULL, SIG_HMAC, fx.f_pem[_i],
		    fx.f_pemlen[_i], "alg");
		free(h);
	}
	/* the right alg name over an HMAC made with the public key */
	h = hdr_for(_i);
	made_refused(&sc, h, p, NULL, SIG_HMAC, fx.f_pem[_i], fx.f_pemlen[_i],
	    "does not verify");
	free(h);
	/* alg missing, not a string */
	made_refused(&sc, "{\"typ\":\"JWT\"}", p, fx.f_priv[_i], SIG_JOSE, NULL,
	    0, "no alg");
	made_refused(&sc, "{\"alg\":[\"ES256\"]}", p, fx.f_priv[_i], SIG_JOSE,
	    NULL, 0, "no alg");
	free(p);
}
END_TEST

START_TEST(test_alg_none)
{
	static const char *const nones[] = { "none", "None", "NONE", "nOnE" };
	struct session_conf	 sc = conf_for(_i);
	char			*h, *p = pay_std(NULL);
	size_t			 i;

	for (i = 0; i < sizeof(nones) / sizeof(nones[0]); i++) {
		h = xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", nones[i]);
		/* the unsecured form: no signature at all */
		made_refused(&sc, h, p, NULL, SIG_EMPTY, NULL, 0,
		    "no signature");
		/* with a real signature beside the "none" */
		made_refused(&sc, h, p, fx.f_priv[_i], SIG_JOSE, NULL, 0,
		    "alg none");
		free(h);
	}
	free(p);
}
END_TEST

START_TEST(test_crit)
{
	struct session_conf	 sc = conf_for(_i);
	char			*h, *p = pay_std(NULL);

	h = xasprintf("{\"alg\":\"%s\",\"crit\":[\"b64\"],\"b64\":false}",
	    alg_names[_i]);
	made_refused(&sc, h, p, fx.f_priv[_i], SIG_JOSE, NULL, 0, "crit");
	free(h);
	h = xasprintf("{\"alg\":\"%s\",\"crit\":[]}", alg_names[_i]);
	made_refused(&sc, h, p, fx.f_priv[_i], SIG_JOSE, NULL, 0, "crit");
	free(h);
	free(p);
}
END_TEST

/* Claims pay signed by kind's key: status, and reason when refused. */
static void
claims_case(const struct session_conf *sc, int kind, const char *pay,
    int status, const char *reason)
{
	char		*t = tok_claims(kind, pay);
	const char	*why;

	ck_assert_msg(verify(sc, t, &why, NULL) == (enum session_status)status,
	    "%s: %s", pay, why ? why : "valid");
	if (reason != NULL)
		ck_assert_msg(strstr(why, reason) != NULL, "%s: %s", pay, why);
	free(t);
}

START_TEST(test_times)
{
	struct session_conf	 sc = conf_for(_i);
	struct {
		const char	*claims;
		long long	 a, b;
		int		 status;
		const char	*why;
	} cases[] = {
		/* exp: required, a number, in the future (30 s leeway) */
		{ "\"exp\":%lld", -31, 0, SESSION_EXPIRED, "expired" },
		{ "\"exp\":%lld", -30, 0, SESSION_EXPIRED, "expired" },
		{ "\"exp\":%lld", -29, 0, SESSION_VALID, NULL },
		{ "\"exp\":%lld", 1, 0, SESSION_VALID, NULL },
		{ "\"exp\":%lld.5", -30, 0, SESSION_VALID, NULL },
		{ "\"exp\":%lld", -86400 * 365, 0, SESSION_EXPIRED, "expired" },
		{ "\"x\":%lld", 600, 0, SESSION_INVALID, "no exp" },
		{ "\"exp\":\"%lld\"", 600, 0, SESSION_INVALID, "exp is not" },
		{ "\"exp\":true,\"x\":%lld", 600, 0, SESSION_INVALID,
		    "exp is not" },
		{ "\"exp\":null,\"x\":%lld", 600, 0, SESSION_INVALID,
		    "exp is not" },
		{ "\"exp\":1e999,\"x\":%lld", 600, 0, SESSION_INVALID, "" },
		{ "\"exp\":%lld", 9223372036854775807LL - NOW, 0,
		    SESSION_VALID, NULL },
		/* nbf: honoured with the leeway */
		{ "\"exp\":%lld,\"nbf\":%lld", 600, 31, SESSION_INVALID,
		    "not valid yet" },
		{ "\"exp\":%lld,\"nbf\":%lld", 600, 29, SESSION_VALID, NULL },
		{ "\"exp\":%lld,\"nbf\":%lld", 600, -100, SESSION_VALID, NULL },
		{ "\"exp\":%lld,\"nbf\":\"%lld\"", 600, 0, SESSION_INVALID,
		    "nbf is not" },
		/* iat: not in the future */
		{ "\"exp\":%lld,\"iat\":%lld", 600, 31, SESSION_INVALID,
		    "future" },
		{ "\"exp\":%lld,\"iat\":%lld", 600, 29, SESSION_VALID, NULL },
		{ "\"exp\":%lld,\"iat\":\"%lld\"", 600, 0, SESSION_INVALID,
		    "iat is not" },
	};
	char		*c, *p;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = xasprintf(cases[i].claims, NOW + cases[i].a,
		    NOW + cases[i].b);
		p = xasprintf("{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\""
		    AUD "\",%s}", c);
		claims_case(&sc, _i, p, cases[i].status, cases[i].why);
		free(p);
		free(c);
	}
}
END_TEST

START_TEST(test_parties)
{
	struct session_conf	 sc = conf_for(_i), open = sc;
	struct {
		const char	*claims;
		int		 strict;	/* issuer and audience set */
		int		 status;
		const char	*why;
	} cases[] = {
		{ "\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"", 1, SESSION_VALID,
		    NULL },
		{ "\"iss\":\"" ISS "/\",\"aud\":\"" AUD "\"", 1,
		    SESSION_INVALID, "iss" },
		{ "\"iss\":\"https://evil.example\",\"aud\":\"" AUD "\"", 1,
		    SESSION_INVALID, "iss" },
		{ "\"aud\":\"" AUD "\"", 1, SESSION_INVALID, "iss" },
		{ "\"iss\":null,\"aud\":\"" AUD "\"", 1, SESSION_INVALID,
		    "iss" },
		{ "\"iss\":[\"" ISS "\"],\"aud\":\"" AUD "\"", 1,
		    SESSION_INVALID, "iss" },
		{ "\"iss\":\"" ISS "\\u0000x\",\"aud\":\"" AUD "\"", 1,
		    SESSION_INVALID, "iss" },
		{ "\"iss\":\"" ISS "\",\"aud\":\"other\"", 1, SESSION_INVALID,
		    "aud does not" },
		{ "\"iss\":\"" ISS "\",\"aud\":\"WIDGETD\"", 1,
		    SESSION_INVALID, "aud does not" },
		{ "\"iss\":\"" ISS "\"", 1, SESSION_INVALID, "no aud" },
		{ "\"iss\":\"" ISS "\",\"aud\":[\"x\",\"" AUD "\"]", 1,
		    SESSION_VALID, NULL },
		{ "\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\"]", 1,
		    SESSION_VALID, NULL },
		{ "\"iss\":\"" ISS "\",\"aud\":[\"x\",\"y\"]", 1,
		    SESSION_INVALID, "aud does not" },
		{ "\"iss\":\"" ISS "\",\"aud\":[]", 1, SESSION_INVALID,
		    "aud does not" },
		{ "\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\",7]", 1,
		    SESSION_INVALID, "other than strings" },
		{ "\"iss\":\"" ISS "\",\"aud\":[[\"" AUD "\"]]", 1,
		    SESSION_INVALID, "other than strings" },
		{ "\"iss\":\"" ISS "\",\"aud\":7", 1, SESSION_INVALID,
		    "aud does not" },
		{ "\"iss\":\"" ISS "\",\"aud\":null", 1, SESSION_INVALID,
		    "aud does not" },
		/* no issuer, no audience configured */
		{ "\"iss\":\"anyone\"", 0, SESSION_VALID, NULL },
		{ "\"x\":1", 0, SESSION_VALID, NULL },
		{ "\"aud\":\"" AUD "\"", 0, SESSION_INVALID,
		    "sets no audience" },
		{ "\"aud\":[]", 0, SESSION_INVALID, "sets no audience" },
	};
	char		*p;
	size_t		 i;

	open.sc_issuer = NULL;
	open.sc_audience = NULL;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = xasprintf("{\"sub\":\"u\",\"exp\":%lld,%s}",
		    (long long)NOW + 600, cases[i].claims);
		claims_case(cases[i].strict ? &sc : &open, _i, p,
		    cases[i].status, cases[i].why);
		free(p);
	}
}
END_TEST

/* Parts that are not strict base64url, or not JSON objects. */
START_TEST(test_malformed)
{
	struct session_conf	 sc = conf_for(_i);
	char			*t = tok_std(_i), *d1, *d2, *u, *h, *p;
	char			 deep[64];

	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	*d1 = *d2 = '\0';
	/* structure */
	ck_refused(&sc, "", SESSION_INVALID, "three parts");
	ck_refused(&sc, "abc", SESSION_INVALID, "three parts");
	ck_refused(&sc, "a.b", SESSION_INVALID, "three parts");
	ck_refused(&sc, "a.b.c.d", SESSION_INVALID, "three parts");
	ck_refused(&sc, "a.b.c.d.e", SESSION_INVALID, "three parts");
	ck_refused(&sc, "..", SESSION_INVALID, "empty part");
	u = xasprintf(".%s.%s", d1 + 1, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "empty part");
	free(u);
	u = xasprintf("%s..%s", t, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "empty part");
	free(u);
	/* padding, the other alphabet, white space, stray bits */
	u = xasprintf("%s=.%s.%s", t, d1 + 1, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "header is not strict");
	free(u);
	u = xasprintf("%s.%s.%s=", t, d1 + 1, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "signature is not strict");
	free(u);
	/* a bad payload must be signed, or the signature fails first */
	u = xasprintf("+%s", d1 + 2);
	p = tok_sign(t, u, fx.f_priv[_i], SIG_JOSE, NULL, 0);
	ck_refused(&sc, p, SESSION_INVALID, "payload is not strict");
	free(p);
	u[0] = ' ';
	p = tok_sign(t, u, fx.f_priv[_i], SIG_JOSE, NULL, 0);
	ck_refused(&sc, p, SESSION_INVALID, "payload is not strict");
	free(p);
	free(u);
	u = xasprintf("%s=", d1 + 1);
	p = tok_sign(t, u, fx.f_priv[_i], SIG_JOSE, NULL, 0);
	ck_refused(&sc, p, SESSION_INVALID, "payload is not strict");
	free(p);
	free(u);
	/* the same payload unsigned: the signature is what fails */
	u = xasprintf("%s.+%s.%s", t, d1 + 2, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "does not verify");
	free(u);
	/* "e30" is "{}"; "e31" has a stray bit; "e30AA" is 4n+1 long */
	u = xasprintf("e31.%s.%s", d1 + 1, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "header is not strict");
	free(u);
	u = xasprintf("e30AA.%s.%s", d1 + 1, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "header is not strict");
	free(u);
	/* "e30A" is "{}" and a NUL byte: not JSON */
	u = xasprintf("e30A.%s.%s", d1 + 1, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "header is not a JSON object");
	free(u);
	u = xasprintf("e30.%s.%s", d1 + 1, d2 + 1);
	ck_refused(&sc, u, SESSION_INVALID, "no alg");
	free(u);
	*d1 = *d2 = '.';
	free(t);

	/* JSON that is not one object, or not strict */
	{
		static const char *const bad[] = { "[]", "\"x\"", "1", "null",
		    "{", "{\"alg\":\"ES256\",}", "{'alg':'ES256'}",
		    "{\"alg\":\"ES256\"} x", "{\"alg\":\"ES256\"}{}",
		    "{\"alg\":\"\xff\"}" };
		size_t	 i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			made_refused(&sc, bad[i], "{}", fx.f_priv[_i], SIG_JOSE,
			    NULL, 0, "header is not a JSON object");
			h = hdr_for(_i);
			made_refused(&sc, h, bad[i], fx.f_priv[_i], SIG_JOSE,
			    NULL, 0, "payload is not a JSON object");
			free(h);
		}
	}
	/* trailing white space after the object is JSON */
	h = hdr_for(_i);
	p = pay_std(NULL);
	u = xasprintf("%s \n", p);
	t = tok_make(h, u, fx.f_priv[_i], SIG_JOSE, NULL, 0);
	ck_valid(&sc, t);
	free(t);
	free(u);
	free(p);
	/* nesting: SESSION_JSON_DEPTH levels pass, one more does not */
	memset(deep, 0, sizeof(deep));
	memset(deep, '[', SESSION_JSON_DEPTH - 1);
	memset(deep + SESSION_JSON_DEPTH - 1, ']', SESSION_JSON_DEPTH - 1);
	u = pay_std(NULL);
	u[strlen(u) - 1] = '\0';
	p = xasprintf("%s,\"deep\":%s}", u, deep);
	t = tok_make(h, p, fx.f_priv[_i], SIG_JOSE, NULL, 0);
	ck_valid(&sc, t);
	free(t);
	free(p);
	memset(deep, 0, sizeof(deep));
	memset(deep, '[', SESSION_JSON_DEPTH);
	memset(deep + SESSION_JSON_DEPTH, ']', SESSION_JSON_DEPTH);
	p = xasprintf("%s,\"deep\":%s}", u, deep);
	made_refused(&sc, h, p, fx.f_priv[_i], SIG_JOSE, NULL, 0,
	    "payload is not a JSON object");
	free(p);
	free(u);
	free(h);
}
END_TEST

/* SESSION_TOKEN_MAX bytes verify; one more is refused before parsing. */
START_TEST(test_oversize)
{
	struct session_conf	 sc = conf_for(_i);
	char			*h = hdr_for(_i), *p, *t, *pad, *base;
	size_t			 len, padn;

	/* find the padding that makes the token exactly the maximum */
	base = pay_std("\"pad\":\"\"");
	t = tok_claims(_i, base);
	len = strlen(t);
	free(t);
	free(base);
	ck_assert_uint_lt(len, SESSION_TOKEN_MAX);
	/* each 3 payload bytes are 4 token bytes */
	padn = (SESSION_TOKEN_MAX - len) / 4 * 3;
	for (;;) {
		pad = calloc(1, padn + 16);
		memset(pad, 'x', padn);
		p = pay_std(NULL);
		p[strlen(p) - 1] = '\0';
		base = xasprintf("%s,\"pad\":\"%s\"}", p, pad);
		t = tok_claims(_i, base);
		len = strlen(t);
		free(p);
		free(pad);
		free(base);
		if (len >= SESSION_TOKEN_MAX)
			break;
		free(t);
		padn++;
	}
	if (len == SESSION_TOKEN_MAX)
		ck_valid(&sc, t);
	else
		ck_refused(&sc, t, SESSION_INVALID, "longer than");
	free(t);
	/* one byte past the limit: refused whatever it holds */
	t = malloc(SESSION_TOKEN_MAX + 2);
	memset(t, 'A', SESSION_TOKEN_MAX + 1);
	t[SESSION_TOKEN_MAX + 1] = '\0';
	ck_refused(&sc, t, SESSION_INVALID, "longer than");
	free(t);
	free(h);
}
END_TEST

/* A tenant without a key verifies nothing. */
START_TEST(test_nokey)
{
	struct session_conf	 sc = conf_for(K_ES);
	char			*t = tok_std(K_ES);

	sc.sc_key = NULL;
	ck_refused(&sc, t, SESSION_INVALID, "no session key");
	free(t);
}
END_TEST

/* --- Claims as user.* ---------------------------------------------------- */

static char *
user_json(int kind, const char *pay, const char **why, enum session_status *st)
{
	struct session_conf	 sc = conf_for(kind);
	struct session		*s;
	struct tval		*u;
	struct json_object	*j;
	char			*t = tok_claims(kind, pay), *r = NULL;

	*st = verify(&sc, t, why, &s);
	free(t);
	if (*st != SESSION_VALID)
		return NULL;
	u = session_user(s);
	j = tval_to_json(u);
	r = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	tval_unref(u);
	session_free(s);
	return r;
}

START_TEST(test_claims)
{
	static const struct {
		const char	*claims;
		const char	*user;	/* JSON of user, or NULL: refused */
		const char	*why;
	} cases[] = {
		/* everything, the preferred spellings first */
		{ "\"sub\":\"u-1\",\"email\":\"a@x\",\"preferred_username\":"
		    "\"ann\",\"username\":\"ann.lee\",\"given_name\":\"Ann\","
		    "\"first_name\":\"A.\",\"family_name\":\"Lee\","
		    "\"last_name\":\"L.\",\"profile_fields\":{\"42\":\"Eng\"}",
		    "{\"id\":\"u-1\",\"email\":\"a@x\",\"username\":\"ann\","
		    "\"first_name\":\"Ann\",\"last_name\":\"Lee\","
		    "\"profile_fields\":{\"42\":\"Eng\"}}", NULL },
		/* the fallbacks */
		{ "\"sub\":\"u-1\",\"username\":\"ann.lee\",\"first_name\":"
		    "\"A.\",\"last_name\":\"L.\"",
		    "{\"id\":\"u-1\",\"email\":null,\"username\":\"ann.lee\","
		    "\"first_name\":\"A.\",\"last_name\":\"L.\","
		    "\"profile_fields\":{}}", NULL },
		/* null falls back too; an empty string does not */
		{ "\"sub\":\"u-1\",\"preferred_username\":null,\"username\":"
		    "\"b\",\"given_name\":\"\",\"first_name\":\"x\"",
		    "{\"id\":\"u-1\",\"email\":null,\"username\":\"b\","
		    "\"first_name\":\"\",\"last_name\":null,"
		    "\"profile_fields\":{}}", NULL },
		/* only sub */
		{ "\"sub\":\"u-1\"",
		    "{\"id\":\"u-1\",\"email\":null,\"username\":null,"
		    "\"first_name\":null,\"last_name\":null,"
		    "\"profile_fields\":{}}", NULL },
		/* Unicode and escapes survive */
		{ "\"sub\":\"\\u00e9\\\"x\",\"email\":\"\xc3\xa9@x\"",
		    "{\"id\":\"\xc3\xa9\\\"x\",\"email\":\"\xc3\xa9@x\","
		    "\"username\":null,\"first_name\":null,\"last_name\":null,"
		    "\"profile_fields\":{}}", NULL },
		/* sub: required, a non-empty string */
		{ "\"email\":\"a@x\"", NULL, "sub" },
		{ "\"sub\":\"\"", NULL, "sub" },
		{ "\"sub\":42", NULL, "sub" },
		{ "\"sub\":null", NULL, "sub" },
		/* the other user claims: strings or null */
		{ "\"sub\":\"u\",\"email\":7", NULL, "not a string" },
		{ "\"sub\":\"u\",\"preferred_username\":[\"a\"]", NULL,
		    "not a string" },
		{ "\"sub\":\"u\",\"preferred_username\":\"a\","
		    "\"username\":7", "{\"id\":\"u\",\"email\":null,"
		    "\"username\":\"a\",\"first_name\":null,\"last_name\":null,"
		    "\"profile_fields\":{}}", NULL },
		{ "\"sub\":\"u\",\"family_name\":{}", NULL, "not a string" },
		/* csrf: a string or absent */
		{ "\"sub\":\"u\",\"csrf\":7", NULL, "csrf" },
		/* profile_fields: an object (values as they are), or null */
		{ "\"sub\":\"u\",\"profile_fields\":null",
		    "{\"id\":\"u\",\"email\":null,\"username\":null,"
		    "\"first_name\":null,\"last_name\":null,"
		    "\"profile_fields\":{}}", NULL },
		{ "\"sub\":\"u\",\"profile_fields\":{\"1\":1,\"2\":[true],"
		    "\"3\":{\"a\":null}}",
		    "{\"id\":\"u\",\"email\":null,\"username\":null,"
		    "\"first_name\":null,\"last_name\":null,"
		    "\"profile_fields\":{\"1\":1,\"2\":[true],"
		    "\"3\":{\"a\":null}}}", NULL },
		{ "\"sub\":\"u\",\"profile_fields\":[]", NULL,
		    "profile_fields" },
		{ "\"sub\":\"u\",\"profile_fields\":\"42=x\"", NULL,
		    "profile_fields" },
	};
	enum session_status	 st;
	const char		*why;
	char			*p, *u;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = xasprintf("{%s,\"iss\":\"" ISS "\",\"aud\":\"" AUD
		    "\",\"exp\":%lld}", cases[i].claims, (long long)NOW + 600);
		u = user_json(_i, p, &why, &st);
		if (cases[i].user != NULL) {
			ck_assert_msg(st == SESSION_VALID, "%s: %s",
			    cases[i].claims, why);
			ck_assert_str_eq(u, cases[i].user);
		} else {
			ck_assert_msg(st == SESSION_INVALID, "%s: accepted",
			    cases[i].claims);
			ck_assert_msg(strstr(why, cases[i].why) != NULL,
			    "%s: %s", cases[i].claims, why);
		}
		free(u);
		free(p);
	}
}
END_TEST

/* user.profile_fields.by_id(…) through the template engine. */
START_TEST(test_profile_fields_by_id)
{
	struct session_conf	 sc = conf_for(K_ED);
	struct session		*s;
	const char		*why;
	char			*p, *t, *r;

	p = xasprintf("{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"exp\":%lld,\"profile_fields\":"
	    "{\"42\":\"Engineering\",\"7\":null,\"8\":3,\"x\":\"y\"}}",
	    (long long)NOW + 600);
	t = tok_claims(K_ED, p);
	ck_assert_int_eq(verify(&sc, t, &why, &s), SESSION_VALID);
	r = render_user(session_user(s), "{{ user.profile_fields.by_id(42) }}|"
	    "{{ user.profile_fields.by_id('42') }}|"
	    "{{ user.profile_fields.by_id(7) }}|"
	    "{{ user.profile_fields.by_id(8) + 1 }}|"
	    "{{ user.profile_fields.by_id(1) }}|"
	    "{{ user.profile_fields.by_id('x') }}|"
	    "{{ user.profile_fields['42'] }}|{{ user.id }}|{{ user.email }}");
	ck_assert_str_eq(r, "Engineering|Engineering|None|4|None|y|"
	    "Engineering|u|None");
	free(r);
	/* session_user gives a reference each time, the session keeps its */
	r = render_user(session_user(s), "{{ user.id }}");
	ck_assert_str_eq(r, "u");
	free(r);
	session_free(s);
	free(t);
	free(p);
}
END_TEST

START_TEST(test_anonymous_user)
{
	struct tval	*u = session_user(NULL);
	struct json_object *j;
	char		*r;

	j = tval_to_json(u);
	ck_assert_str_eq(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN), "{\"id\":null,\"email\":null,"
	    "\"username\":null,\"first_name\":null,\"last_name\":null,"
	    "\"profile_fields\":{}}");
	json_object_put(j);
	r = render_user(u, "{{ user.id }}|{{ user.email }}|{{ user.username }}"
	    "|{{ user.first_name }}|{{ user.last_name }}|"
	    "{{ user.profile_fields.by_id(1) }}|"
	    "{{ user.profile_fields.by_id('42') }}|"
	    "{{ user.email | default('') }}|"
	    "{{ user.email | default('', true) }}|"
	    "{{ user.id is none }}|{{ user.profile_fields }}");
	/* None is not undefined: default() needs its second argument */
	ck_assert_str_eq(r, "None|None|None|None|None|None|None|None||True|{}");
	free(r);
}
END_TEST

/* --- CSRF and the whole check -------------------------------------------- */

struct acase {
	const char	*a_name;
	const char	*a_hdrs[5];	/* "%T" is replaced by the token */
	int		 a_status;
	const char	*a_why;
};

static const struct acase acases[] = {
	{ "anonymous", { NULL }, SESSION_ANONYMOUS, NULL },
	{ "anonymous-csrf", { "X-CSRFToken: whatever" }, SESSION_ANONYMOUS,
	    NULL },
	{ "cookie", { "Cookie: widget_session=%T", "X-CSRFToken: " CSRF },
	    SESSION_VALID, NULL },
	{ "cookie-quoted", { "Cookie: x=1; widget_session=\"%T\"",
	    "X-CSRF-Token: " CSRF }, SESSION_VALID, NULL },
	{ "bearer", { "Authorization: Bearer %T", "X-CSRFToken: " CSRF },
	    SESSION_VALID, NULL },
	{ "both", { "Authorization: Bearer %T", "Cookie: widget_session=%T",
	    "x-csrftoken: " CSRF }, SESSION_VALID, NULL },
	{ "no-csrf", { "Cookie: widget_session=%T" }, SESSION_CSRF_FAILED,
	    "no X-CSRFToken" },
	{ "bearer-no-csrf", { "Authorization: Bearer %T" },
	    SESSION_CSRF_FAILED, "no X-CSRFToken" },
	{ "csrf-wrong", { "Cookie: widget_session=%T",
	    "X-CSRFToken: c5rf-0123456789abcdeF" }, SESSION_CSRF_FAILED,
	    "not the token's" },
	{ "csrf-prefix", { "Cookie: widget_session=%T",
	    "X-CSRFToken: c5rf-0123456789abcde" }, SESSION_CSRF_FAILED,
	    "not the token's" },
	{ "csrf-longer", { "Cookie: widget_session=%T",
	    "X-CSRFToken: " CSRF "0" }, SESSION_CSRF_FAILED,
	    "not the token's" },
	{ "csrf-empty", { "Cookie: widget_session=%T", "X-CSRFToken: " },
	    SESSION_CSRF_FAILED, "not the token's" },
	{ "csrf-twice", { "Cookie: widget_session=%T", "X-CSRFToken: " CSRF,
	    "X-CSRF-Token: " CSRF }, SESSION_BAD_REQUEST, "CSRF header" },
	{ "cookie-twice", { "Cookie: widget_session=%T; widget_session=%T",
	    "X-CSRFToken: " CSRF }, SESSION_BAD_REQUEST, "more than once" },
	{ "differ", { "Cookie: widget_session=%T",
	    "Authorization: Bearer x.y.z", "X-CSRFToken: " CSRF },
	    SESSION_BAD_REQUEST, "different" },
	{ "garbage", { "Cookie: widget_session=garbage",
	    "X-CSRFToken: " CSRF }, SESSION_INVALID, "three parts" },
	{ "garbage-no-csrf", { "Authorization: Bearer garbage" },
	    SESSION_INVALID, "three parts" },
};

static void
authenticate_case(const struct acase *a, const struct session_conf *sc,
    const char *tok, const char *method)
{
	struct http_request	 r;
	struct http_header	 h[5];
	char			 bufs[5][LINE_MAX_T], *lines[5], *c;
	const char		*why;
	struct session		*s = (struct session *)1;
	enum session_status	 st;
	size_t			 n;

	for (n = 0; a->a_hdrs[n] != NULL; n++) {
		lines[n] = strdup(a->a_hdrs[n]);
		/* up to two %T */
		while ((c = strstr(lines[n], "%T")) != NULL) {
			char	*x;

			*c = '\0';
			x = xasprintf("%s%s%s", lines[n], tok, c + 2);
			free(lines[n]);
			lines[n] = x;
		}
		ck_assert_uint_lt(strlen(lines[n]), LINE_MAX_T);
	}
	lines[n] = NULL;
	req_init(&r, h, (const char *const *)lines, bufs);
	r.r_method = (char *)method;
	st = session_authenticate(sc, &r, NOW, &s, &why);
	ck_assert_msg(st == (enum session_status)a->a_status,
	    "%s %s: status %d (%s)", method, a->a_name, st, why ? why : "");
	if (st == SESSION_VALID) {
		ck_assert_ptr_nonnull(s);
		session_free(s);
	} else
		ck_assert_ptr_null(s);
	if (a->a_why != NULL)
		ck_assert_msg(why != NULL && strstr(why, a->a_why) != NULL,
		    "%s: %s", a->a_name, why ? why : "(none)");
	for (n = 0; lines[n] != NULL; n++)
		free(lines[n]);
}

/* Every method needs the CSRF header, GET and HEAD included. */
START_TEST(test_authenticate)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS" };
	struct session_conf	 sc = conf_for(K_ES);
	char			*t = tok_std(K_ES);
	size_t			 m;

	for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
		authenticate_case(&acases[_i], &sc, t, methods[m]);
	free(t);
}
END_TEST

/* A token without a csrf claim can never pass the CSRF check. */
START_TEST(test_csrf_claim_missing)
{
	struct session_conf	 sc = conf_for(K_RS);
	struct session		*s;
	const char		*why;
	char			*p, *t;

	p = xasprintf("{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"exp\":%lld}", (long long)NOW + 600);
	t = tok_claims(K_RS, p);
	ck_assert_int_eq(verify(&sc, t, &why, &s), SESSION_VALID);
	ck_assert_int_eq(session_csrf_check(s, "", 0, &why),
	    SESSION_CSRF_FAILED);
	ck_assert_ptr_nonnull(strstr(why, "no csrf claim"));
	ck_assert_int_eq(session_csrf_check(s, NULL, 0, &why),
	    SESSION_CSRF_FAILED);
	session_free(s);
	free(t);
	free(p);
	/* an empty claim protects nothing: the same */
	p = xasprintf("{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"exp\":%lld,\"csrf\":\"\"}", (long long)NOW + 600);
	t = tok_claims(K_RS, p);
	ck_assert_int_eq(verify(&sc, t, &why, &s), SESSION_VALID);
	ck_assert_int_eq(session_csrf_check(s, "", 0, &why),
	    SESSION_CSRF_FAILED);
	session_free(s);
	free(t);
	free(p);
}
END_TEST

/* Expired and invalid tokens are 401, never anonymous; no key: anonymous. */
START_TEST(test_authenticate_outcomes)
{
	struct session_conf	 sc = conf_for(K_ED), off = sc;
	struct http_request	 r;
	struct http_header	 h[5];
	char			 bufs[5][LINE_MAX_T], *p, *t, *line;
	const char		*lines[3], *why;
	struct session		*s;

	p = xasprintf("{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"exp\":%lld,\"csrf\":\"" CSRF "\"}", (long long)NOW - 60);
	t = tok_claims(K_ED, p);
	line = xasprintf("Authorization: Bearer %s", t);
	lines[0] = line;
	lines[1] = "X-CSRFToken: " CSRF;
	lines[2] = NULL;
	req_init(&r, h, lines, bufs);
	ck_assert_int_eq(session_authenticate(&sc, &r, NOW, &s, &why),
	    SESSION_EXPIRED);
	ck_assert_ptr_null(s);
	/* the same token an hour earlier is fine */
	ck_assert_int_eq(session_authenticate(&sc, &r, NOW - 3600, &s, &why),
	    SESSION_VALID);
	session_free(s);
	/* a tenant without sessions ignores the token */
	off.sc_key = NULL;
	ck_assert_int_eq(session_authenticate(&off, &r, NOW, &s, &why),
	    SESSION_ANONYMOUS);
	ck_assert_ptr_null(s);
	/* another tenant's key: 401, not anonymous */
	sc = conf_for(K_RS);
	ck_assert_int_eq(session_authenticate(&sc, &r, NOW - 3600, &s, &why),
	    SESSION_INVALID);
	free(line);
	free(t);
	free(p);
}
END_TEST

START_TEST(test_http_status)
{
	const char	*code;

	ck_assert_int_eq(session_http_status(SESSION_ANONYMOUS, &code), 200);
	ck_assert_ptr_null(code);
	ck_assert_int_eq(session_http_status(SESSION_VALID, &code), 200);
	ck_assert_ptr_null(code);
	ck_assert_int_eq(session_http_status(SESSION_BAD_REQUEST, &code), 400);
	ck_assert_str_eq(code, "AMBIGUOUS_CREDENTIALS");
	ck_assert_int_eq(session_http_status(SESSION_INVALID, &code), 401);
	ck_assert_str_eq(code, "INVALID_SESSION");
	ck_assert_int_eq(session_http_status(SESSION_EXPIRED, &code), 401);
	ck_assert_str_eq(code, "SESSION_EXPIRED");
	ck_assert_int_eq(session_http_status(SESSION_CSRF_FAILED, &code), 403);
	ck_assert_str_eq(code, "CSRF_FAILED");
	ck_assert_int_eq(session_http_status(SESSION_NOMEM, &code), 500);
	ck_assert_ptr_null(code);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("session");
	TCase	*tc;

	tc = tcase_create("keys");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, fx_setup, NULL);
	tcase_add_test(tc, test_key_types);
	tcase_add_test(tc, test_key_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("extract");
	tcase_add_test(tc, test_cookie_get);
	tcase_add_loop_test(tc, test_extract, 0,
	    sizeof(xcases) / sizeof(xcases[0]));
	tcase_add_test(tc, test_extract_nosessions);
	suite_add_tcase(s, tc);

	tc = tcase_create("verify");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, fx_setup, NULL);
	tcase_add_loop_test(tc, test_valid, 0, K_N);
	tcase_add_test(tc, test_valid_repeat);
	tcase_add_loop_test(tc, test_wrong_signature, 0, K_N);
	tcase_add_loop_test(tc, test_tampered, 0, K_N);
	tcase_add_loop_test(tc, test_alg_confusion, 0, K_N);
	tcase_add_loop_test(tc, test_alg_none, 0, K_N);
	tcase_add_loop_test(tc, test_crit, 0, K_N);
	tcase_add_loop_test(tc, test_times, 0, K_N);
	tcase_add_loop_test(tc, test_parties, 0, K_N);
	tcase_add_loop_test(tc, test_malformed, 0, K_N);
	tcase_add_loop_test(tc, test_oversize, 0, K_N);
	tcase_add_test(tc, test_nokey);
	suite_add_tcase(s, tc);

	tc = tcase_create("claims");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, fx_setup, NULL);
	tcase_add_loop_test(tc, test_claims, 0, K_N);
	tcase_add_test(tc, test_profile_fields_by_id);
	tcase_add_test(tc, test_anonymous_user);
	suite_add_tcase(s, tc);

	tc = tcase_create("authenticate");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, fx_setup, NULL);
	tcase_add_loop_test(tc, test_authenticate, 0,
	    sizeof(acases) / sizeof(acases[0]));
	tcase_add_test(tc, test_csrf_claim_missing);
	tcase_add_test(tc, test_authenticate_outcomes);
	tcase_add_test(tc, test_http_status);
	suite_add_tcase(s, tc);
	return s;
}
