/*
 * keeper_auth.c — authentication completed by the keeper (see
 * keeper_auth.h): JWT signing, OAuth client credentials and JWT bearer
 * tokens with one cache per keeper, upstream client certificates and AWS
 * Signature Version 4.  Keeper only: everything here handles secret
 * values, and wipes them.
 *
 * Tokens.  A cache entry is keyed by a SHA-256 over everything that makes
 * a token differ (tenant, token URL, client id and secret, scope; for a
 * bearer assertion every claim, the key and the algorithm), so two routes
 * never share a token by accident and no secret is kept as a key.  One
 * request per key is in flight however many calls wait on it.  A token is
 * used until KAUTH_MARGIN seconds before it expires, refreshed in the
 * background from three quarters of that time on, and kept while a
 * refresh fails; an upstream 401 on a cached token drops it and the call
 * is made once more with a new one.
 */
#include "build.h"

#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "config.h"
#include "connector.h"
#include "keeper_auth.h"
#include "keeper_egress.h"
#include "keeper_plan.h"
#include "keeper_secret.h"
#include "log.h"
#include "metrics.h"
#include "plan.h"
#include "template/template.h"

#define SCOPE_JWT	"Authentication (JWT signing)"
#define SCOPE_TEMPLATE	"Configuration (template rendering)"
#define BEARER_LIFE	180	/* s: exp - iat of a JWT bearer assertion */

struct ktoken;

/* One call's authentication state. */
struct kauth_req {
	TAILQ_ENTRY(kauth_req)	 ar_wait;	/* on its token's waiters */
	struct kauth		*ar_auth;
	struct kreq		*ar_kr;
	struct ktoken		*ar_token;	/* OAuth: its cache entry */
	uint64_t		 ar_serial;	/* which token it was given */
	int			 ar_waiting;
	int			 ar_cached;	/* given a token fetched before */
	int			 ar_retried;
	kauth_ready_fn		 ar_ready;
	void			*ar_arg;
	char			*ar_cert;	/* mTLS, PEM: wiped */
	size_t			 ar_certlen;
	char			*ar_key;
	size_t			 ar_keylen;
	/* What a (re)fetch of the token needs: the request's description. */
	char			*ar_url;	/* token URL */
	char			*ar_form;	/* the form body: wiped */
	size_t			 ar_formlen;
	long			 ar_ttl;	/* bearer: token_ttl; CC: 0 */
};

/* One cached token, or one being fetched. */
struct ktoken {
	TAILQ_ENTRY(ktoken)	 tk_entry;	/* LRU order, newest first */
	unsigned char		 tk_key[32];
	char			*tk_token;	/* NULL: none yet (or dropped) */
	size_t			 tk_len;
	uint64_t		 tk_serial;	/* bumped with every new token */
	struct timespec		 tk_usable;	/* CLOCK_MONOTONIC: drop after */
	struct timespec		 tk_refresh;	/* refresh from here on */
	struct egress_call	*tk_fetch;	/* the request in flight */
	char			*tk_url;	/* for the log and the scope */
	char			*tk_form;	/* the request being made */
	size_t			 tk_formlen;
	long			 tk_ttl;
	int			 tk_refs;	/* kauth_reqs pointing here */
	struct metrics		*tk_metrics;	/* fetches are counted */
	/* For whom it was last asked. */
	char			 tk_tenant[CONF_TENANT_ID_MAX + 1];
	char			 tk_conn[300];
	TAILQ_HEAD(, kauth_req)	 tk_waiters;
};

struct kauth {
	struct egress		*a_egress;
	int			 a_window;	/* s */
	TAILQ_HEAD(ktoken_list, ktoken) a_tokens;
	size_t			 a_ntokens;
	uint64_t		 a_serial;
	struct metrics		*a_metrics;
};

/* --- Small pieces ---------------------------------------------------------- */

static void
kauth_fail(struct fail *fl, int status, const char *scope, const char *fmt,
    const char *arg)
{
	char	 buf[512];

	memset(fl, 0, sizeof(*fl));
	snprintf(buf, sizeof(buf), fmt, arg);
	fl->fl_status = (uint32_t)status;
	fl->fl_code = strdup("");
	fl->fl_scope = strdup(scope);
	fl->fl_detail = strdup(buf);
	fl->fl_host = strdup("");
	fl->fl_debug = strdup("");
}

static void
kauth_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static int
kauth_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec &&
	    a->tv_nsec < b->tv_nsec);
}

char *
kauth_form_encode(const char *s, size_t len, size_t *outlen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;
	char			*o;
	size_t			 i, n = 0;

	if (len > SIZE_MAX / 3 - 1 || (o = malloc(3 * len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_')
			o[n++] = (char)c;
		else if (c == ' ')
			o[n++] = '+';
		else {
			o[n++] = '%';
			o[n++] = hex[c >> 4];
			o[n++] = hex[c & 15];
		}
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

char *
kauth_pem_unescape(const char *s, size_t len, size_t *outlen)
{
	char	*o;
	size_t	 i, n = 0;

	if ((o = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && s[i + 1] == 'n') {
			o[n++] = '\n';
			i++;
		} else
			o[n++] = s[i];
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

/* Append (a piece of) a form body; the old buffer is wiped. */
static int
kauth_form_add(char **form, size_t *len, const char *key, const char *val,
    size_t vlen)
{
	char	*enc, *nf;
	size_t	 elen, klen = strlen(key), n;

	if ((enc = kauth_form_encode(val, vlen, &elen)) == NULL)
		return -1;
	n = *len + (*len > 0) + klen + 1 + elen;
	if ((nf = malloc(n + 1)) == NULL) {
		keeper_secret_free(enc, elen + 1);
		return -1;
	}
	if (*len > 0) {
		memcpy(nf, *form, *len);
		nf[*len] = '&';
	}
	memcpy(nf + *len + (*len > 0), key, klen);
	nf[*len + (*len > 0) + klen] = '=';
	memcpy(nf + *len + (*len > 0) + klen + 1, enc, elen);
	nf[n] = '\0';
	keeper_secret_free(enc, elen + 1);
	if (*form != NULL)
		keeper_secret_free(*form, *len + 1);
	*form = nf;
	*len = n;
	return 0;
}

/* --- JWTs -------------------------------------------------------------------- */

/* exp, iat, nbf that render as whole numbers are numbers (§6). */
static struct json_object *
kauth_claim_value(const char *name, const char *v, size_t len)
{
	char		*end;
	long long	 n;

	if ((strcmp(name, "exp") == 0 || strcmp(name, "iat") == 0 ||
	    strcmp(name, "nbf") == 0) && len > 0 && len < 20) {
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno == 0 && end == v + len)
			return json_object_new_int64(n);
		/* "1700000000.0" renders from a float: cast it too. */
		if (errno == 0 && *end == '.' && strspn(end + 1, "0") ==
		    len - (size_t)(end + 1 - v))
			return json_object_new_int64(n);
	}
	return json_object_new_string_len(v, (int)len);
}

/*
 * The configured claims (or JWT headers) into o, in configuration order:
 * templated ones from the worker's rendering, JSON ones from the keeper's
 * own copy.
 */
static int
kauth_claims(const struct kreq *kr, int id, const struct conn_claim *cl,
    size_t n, struct json_object *o)
{
	struct json_object	*v;
	size_t			 i, k;

	for (i = 0; i < n; i++) {
		if (cl[i].cl_json != NULL)
			v = json_object_get(cl[i].cl_json);
		else {
			v = NULL;
			for (k = 0; k < kr->kr_nauth; k++)
				if (kr->kr_auth[k].kv_id == id &&
				    strcmp(kr->kr_auth[k].kv_name,
				    cl[i].cl_key) == 0)
					v = kauth_claim_value(cl[i].cl_key,
					    kr->kr_auth[k].kv_value,
					    kr->kr_auth[k].kv_len);
			if (v == NULL)
				return -1;
		}
		json_object_object_add(o, cl[i].cl_key, v);
	}
	return 0;
}

/* The EC curve an ESxxx algorithm needs, or NULL for other algorithms. */
static const char *
kauth_es_curve(const char *alg)
{
	if (strcmp(alg, "ES256") == 0)
		return "prime256v1";
	if (strcmp(alg, "ES384") == 0)
		return "secp384r1";
	if (strcmp(alg, "ES512") == 0)
		return "secp521r1";
	return NULL;
}

/*
 * Sign header.payload with alg and the key (a PEM, or the HMAC secret);
 * the compact JWT, malloc'd, or NULL and fl (422 "Authentication (JWT
 * signing)").
 */
static char *
kauth_sign(const char *alg, const char *key, size_t keylen,
    struct json_object *header, struct json_object *payload, size_t *lenp,
    struct fail *fl)
{
	const char	*curve, *hj, *pj;
	char		*pem = NULL, *jwt = NULL, err[256], group[64];
	size_t		 pemlen = 0, glen;
	EVP_PKEY	*pk = NULL;
	BIO		*bio = NULL;

	if (alg[0] == 'H') {
		pem = malloc(keylen + 1);
		if (pem != NULL) {
			memcpy(pem, key, keylen);
			pem[keylen] = '\0';
			pemlen = keylen;
		}
	} else
		pem = kauth_pem_unescape(key, keylen, &pemlen);
	if (pem == NULL) {
		kauth_fail(fl, 500, "Unexpected error", "%s", "out of memory");
		return NULL;
	}
	/* ES256 with a P-384 key would sign, but nobody could verify it. */
	if ((curve = kauth_es_curve(alg)) != NULL) {
		if ((bio = BIO_new_mem_buf(pem, (int)pemlen)) == NULL ||
		    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL,
		    NULL)) == NULL || EVP_PKEY_get_group_name(pk, group,
		    sizeof(group), &glen) != 1 || strcmp(group, curve) != 0) {
			kauth_fail(fl, 422, SCOPE_JWT, "The key is not an EC "
			    "key on the curve %s needs", alg);
			goto out;
		}
	}
	hj = json_object_to_json_string_ext(header, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	pj = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	err[0] = '\0';
	if ((jwt = tmpl_jwt_sign(alg, pem, pemlen, hj, pj, lenp, err,
	    sizeof(err))) == NULL)
		kauth_fail(fl, 422, SCOPE_JWT, "%s", err[0] != '\0' ? err :
		    "signing failed");
out:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	keeper_secret_free(pem, pemlen + 1);
	return jwt;
}

/* The JWT header: alg and typ, then jwt_headers (which may not move alg). */
static struct json_object *
kauth_header(const struct kreq *kr, const struct conn_auth *a)
{
	struct json_object	*h;

	if ((h = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(h, "alg", json_object_new_string(
	    a->ca_algorithm));
	json_object_object_add(h, "typ", json_object_new_string("JWT"));
	if (kauth_claims(kr, PA_JWT_HEADER, a->ca_headers, a->ca_nheaders,
	    h) == -1) {
		json_object_put(h);
		return NULL;
	}
	json_object_object_add(h, "alg", json_object_new_string(
	    a->ca_algorithm));
	return h;
}

/* Authorization: Bearer <value>, remembered for redaction. */
static int
kauth_bearer(struct kreq *kr, const char *v, size_t len)
{
	char	*h;
	int	 rv;

	if ((h = malloc(len + 8)) == NULL)
		return -1;
	memcpy(h, "Bearer ", 7);
	memcpy(h + 7, v, len);
	h[len + 7] = '\0';
	rv = kreq_header_set(kr, "Authorization", h, len + 7) == -1 ||
	    kreq_secret_add(kr, v, len) == -1 ? -1 : 0;
	keeper_secret_free(h, len + 8);
	return rv;
}

/* type jwt: a fresh token for every call (§6). */
static int
kauth_jwt(struct kreq *kr, struct fail *fl)
{
	const struct conn_auth	*a = &kr->kr_cr->cr_auth;
	struct json_object	*h = NULL, *p = NULL;
	const char		*key;
	char			*jwt = NULL;
	size_t			 keylen, len;
	int			 rv = -1;

	key = kreq_auth(kr, PA_PRIVATE_KEY, &keylen);
	if ((h = kauth_header(kr, a)) == NULL ||
	    (p = json_object_new_object()) == NULL ||
	    kauth_claims(kr, PA_CLAIM, a->ca_claims, a->ca_nclaims, p) == -1) {
		kauth_fail(fl, 500, "Unexpected error", "%s", "out of memory");
		goto out;
	}
	if ((jwt = kauth_sign(a->ca_algorithm, key != NULL ? key : "",
	    keylen, h, p, &len, fl)) == NULL)
		goto out;
	if (kauth_bearer(kr, jwt, len) == -1) {
		kauth_fail(fl, 500, "Unexpected error", "%s", "out of memory");
		goto out;
	}
	rv = 0;
out:
	if (jwt != NULL)
		keeper_secret_free(jwt, len + 1);
	json_object_put(h);
	json_object_put(p);
	return rv;
}

/* --- AWS Signature Version 4 --------------------------------------------- */

static void
kauth_hex(const unsigned char *p, size_t n, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
kauth_sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char	 md[32];
	unsigned int	 mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	kauth_hex(md, 32, out);
}

static void
kauth_hmac(const void *key, size_t klen, const void *msg, size_t mlen,
    unsigned char out[32])
{
	unsigned int	 n = 32;

	HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n);
}

/* RFC 3986 encoding as SigV4 wants it; '/' kept when keep_slash. */
static void
kauth_uri_encode(const char *s, size_t len, int keep_slash, char *out,
    size_t *o)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;
	size_t			 i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~' || (c == '/' && keep_slash))
			out[(*o)++] = (char)c;
		else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
}

/* Decode %XX in place (a URL's path and query are already encoded). */
static size_t
kauth_unpct(char *s, size_t len)
{
	size_t	 i, o = 0;
	int	 h, l;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			h = isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0' :
			    (tolower((unsigned char)s[i + 1]) - 'a' + 10);
			l = isdigit((unsigned char)s[i + 2]) ? s[i + 2] - '0' :
			    (tolower((unsigned char)s[i + 2]) - 'a' + 10);
			s[o++] = (char)(h << 4 | l);
			i += 2;
		} else
			s[o++] = s[i];
	}
	return o;
}

struct kauth_qp {
	char	*q_key;
	char	*q_val;
};

static int
kauth_qp_cmp(const void *a, const void *b)
{
	const struct kauth_qp	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->q_key, y->q_key)) != 0)
		return c;
	return strcmp(x->q_val, y->q_val);
}

/* The canonical query: each pair decoded, encoded again, sorted. */
static char *
kauth_canon_query(const char *q)
{
	struct kauth_qp	*qp = NULL;
	char		*copy, *p, *amp, *eq, *out = NULL;
	size_t		 n = 0, i, o = 0, cap;

	if (q == NULL || *q == '\0')
		return strdup("");
	if ((copy = strdup(q)) == NULL)
		return NULL;
	cap = 3 * strlen(q) + 2;
	for (p = copy; p != NULL; p = amp) {
		if ((amp = strchr(p, '&')) != NULL)
			*amp++ = '\0';
		if ((eq = strchr(p, '=')) != NULL)
			*eq++ = '\0';
		else
			eq = p + strlen(p);
		if ((qp = reallocarray(qp, n + 1, sizeof(*qp))) == NULL)
			goto out;
		p[kauth_unpct(p, strlen(p))] = '\0';
		eq[kauth_unpct(eq, strlen(eq))] = '\0';
		qp[n].q_key = p;
		qp[n].q_val = eq;
		n++;
	}
	qsort(qp, n, sizeof(*qp), kauth_qp_cmp);
	if ((out = malloc(cap)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (i > 0)
			out[o++] = '&';
		kauth_uri_encode(qp[i].q_key, strlen(qp[i].q_key), 0,
		    out, &o);
		out[o++] = '=';
		kauth_uri_encode(qp[i].q_val, strlen(qp[i].q_val), 0,
		    out, &o);
	}
	out[o] = '\0';
out:
	free(qp);
	free(copy);
	return out;
}

struct kauth_hdr {
	char		*h_name;	/* lower case */
	const char	*h_value;
};

static int
kauth_hdr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kauth_hdr *)a)->h_name,
	    ((const struct kauth_hdr *)b)->h_name);
}

char *
kauth_sigv4_sign(const struct kauth_sigv4 *sv, const char *method,
    const char *url, const char *const *names, const char *const *values,
    size_t n, const char *payload)
{
	CURLU		*u = NULL;
	struct kauth_hdr *h = NULL;
	struct tm	 tm;
	char		*host = NULL, *path = NULL, *query = NULL, *cq = NULL;
	char		*port = NULL, *scheme = NULL, *hostport = NULL;
	char		*cpath = NULL, *creq = NULL, *sts = NULL, *out = NULL;
	char		*kkey = NULL, amzdate[17], day[9], hash[65], sig[65];
	char		*sh = NULL, *ch = NULL;
	unsigned char	 k1[32], k2[32], k3[32], k4[32], mac[32];
	size_t		 i, j, o, len, shl = 0, chl = 0, klen;
	int		 rc;

	gmtime_r(&sv->sv_time, &tm);
	strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	rc = curl_url_get(u, CURLUPART_QUERY, &query, 0);
	if (rc != CURLUE_OK && rc != CURLUE_NO_QUERY)
		goto out;
	/* The Host header as libcurl sends it: a port that is not the
	   scheme's default goes with it. */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    !((strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
	    (strcmp(scheme, "http") == 0 && strcmp(port, "80") == 0))) {
		if (asprintf(&hostport, "%s:%s", host, port) == -1) {
			hostport = NULL;
			goto out;
		}
	} else if ((hostport = strdup(host)) == NULL)
		goto out;
	/*
	 * The path as sent (encoded once already) encoded once more: AWS
	 * signs every service but S3 over the doubly encoded path.
	 */
	len = strlen(path);
	if ((cpath = malloc(3 * len + 2)) == NULL)
		goto out;
	o = 0;
	kauth_uri_encode(path, len, 1, cpath, &o);
	if (o == 0)
		cpath[o++] = '/';
	cpath[o] = '\0';
	if ((cq = kauth_canon_query(query)) == NULL)
		goto out;
	/* Headers: host and the given ones, lower case, sorted. */
	if ((h = calloc(n + 1, sizeof(*h))) == NULL)
		goto out;
	h[0].h_name = strdup("host");
	h[0].h_value = hostport;
	for (i = 0; i < n; i++) {
		if ((h[i + 1].h_name = strdup(names[i])) == NULL)
			goto out;
		for (j = 0; h[i + 1].h_name[j] != '\0'; j++)
			h[i + 1].h_name[j] = (char)tolower(
			    (unsigned char)h[i + 1].h_name[j]);
		h[i + 1].h_value = values[i];
	}
	if (h[0].h_name == NULL)
		goto out;
	qsort(h, n + 1, sizeof(*h), kauth_hdr_cmp);
	for (i = 0; i <= n; i++) {
		shl += strlen(h[i].h_name) + 1;
		chl += strlen(h[i].h_name) + strlen(h[i].h_value) + 2;
	}
	if ((sh = malloc(shl + 1)) == NULL || (ch = malloc(chl + 1)) == NULL)
		goto out;
	sh[0] = ch[0] = '\0';
	for (i = 0; i <= n; i++) {
		if (i > 0)
			strcat(sh, ";");
		strcat(sh, h[i].h_name);
		strcat(ch, h[i].h_name);
		strcat(ch, ":");
		strcat(ch, h[i].h_value);
		strcat(ch, "\n");
	}
	if (asprintf(&creq, "%s\n%s\n%s\n%s\n%s\n%s", method, cpath, cq, ch,
	    sh, payload) == -1) {
		creq = NULL;
		goto out;
	}
	kauth_sha256_hex(creq, strlen(creq), hash);
	if (asprintf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
	    amzdate, day, sv->sv_region, sv->sv_service, hash) == -1) {
		sts = NULL;
		goto out;
	}
	/* The signing key: a chain of HMACs from "AWS4" + the secret. */
	klen = sv->sv_secretlen + 4;
	if ((kkey = malloc(klen + 1)) == NULL)
		goto out;
	memcpy(kkey, "AWS4", 4);
	memcpy(kkey + 4, sv->sv_secret, sv->sv_secretlen);
	kauth_hmac(kkey, klen, day, strlen(day), k1);
	kauth_hmac(k1, 32, sv->sv_region, strlen(sv->sv_region), k2);
	kauth_hmac(k2, 32, sv->sv_service, strlen(sv->sv_service), k3);
	kauth_hmac(k3, 32, "aws4_request", 12, k4);
	kauth_hmac(k4, 32, sts, strlen(sts), mac);
	kauth_hex(mac, 32, sig);
	if (asprintf(&out, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/"
	    "aws4_request, SignedHeaders=%s, Signature=%s", sv->sv_key_id, day,
	    sv->sv_region, sv->sv_service, sh, sig) == -1)
		out = NULL;
out:
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	explicit_bzero(k3, sizeof(k3));
	explicit_bzero(k4, sizeof(k4));
	if (kkey != NULL)
		keeper_secret_free(kkey, klen + 1);
	for (i = 0; h != NULL && i <= n; i++)
		free(h[i].h_name);
	free(h);
	free(sh);
	free(ch);
	free(creq);
	free(sts);
	free(cq);
	free(cpath);
	curl_free(host);
	curl_free(path);
	curl_free(query);
	curl_free(port);
	curl_free(scheme);
	free(hostport);
	curl_url_cleanup(u);
	return out;
}

/* SigV4 on the final request: after every other header is set. */
static int
kauth_sigv4(struct kreq *kr, struct fail *fl)
{
	const struct conn_ext	*e = &kr->kr_cr->cr_ext;
	struct kauth_sigv4	 sv;
	const char		*names[4], *values[4], *tok;
	char			 hash[65], amzdate[17], *auth;
	size_t			 n = 0, toklen, seclen;
	struct tm		 tm;

	memset(&sv, 0, sizeof(sv));
	sv.sv_key_id = kreq_auth(kr, PA_AWS_KEY_ID, NULL);
	sv.sv_secret = kreq_auth(kr, PA_AWS_SECRET, &seclen);
	sv.sv_secretlen = seclen;
	sv.sv_region = e->ce_aws_region;
	sv.sv_service = e->ce_aws_service;
	sv.sv_time = time(NULL);
	tok = kreq_auth(kr, PA_AWS_TOKEN, &toklen);
	if (sv.sv_key_id == NULL || sv.sv_secret == NULL) {
		kauth_fail(fl, 422, SCOPE_TEMPLATE, "%s", "aws_sigv4 has no "
		    "credentials");
		return -1;
	}
	gmtime_r(&sv.sv_time, &tm);
	strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	kauth_sha256_hex(kr->kr_has_body && kr->kr_body != NULL ?
	    (const void *)kr->kr_body : "", kr->kr_has_body ? kr->kr_bodylen :
	    0, hash);
	names[n] = "X-Amz-Content-Sha256";
	values[n++] = hash;
	names[n] = "X-Amz-Date";
	values[n++] = amzdate;
	if (tok != NULL && toklen > 0) {
		names[n] = "X-Amz-Security-Token";
		values[n++] = tok;
	}
	if ((auth = kauth_sigv4_sign(&sv, kr->kr_method, kr->kr_url, names,
	    values, n, hash)) == NULL) {
		kauth_fail(fl, 422, SCOPE_TEMPLATE, "%s", "cannot sign the "
		    "request (aws_sigv4)");
		return -1;
	}
	if (kreq_header_set(kr, "X-Amz-Content-Sha256", hash,
	    strlen(hash)) == -1 ||
	    kreq_header_set(kr, "X-Amz-Date", amzdate, strlen(amzdate)) == -1 ||
	    (n == 3 && kreq_header_set(kr, "X-Amz-Security-Token", tok,
	    toklen) == -1) ||
	    kreq_header_set(kr, "Authorization", auth, strlen(auth)) == -1 ||
	    kreq_secret_add(kr, strchr(auth, '=') != NULL ?
	    strrchr(auth, '=') + 1 : auth, 64) == -1) {
		free(auth);
		kauth_fail(fl, 500, "Unexpected error", "%s", "out of memory");
		return -1;
	}
	free(auth);
	return 0;
}

/* --- Tokens ---------------------------------------------------------------- */

static void
kauth_token_drop(struct ktoken *tk)
{
	if (tk->tk_token != NULL)
		keeper_secret_free(tk->tk_token, tk->tk_len + 1);
	tk->tk_token = NULL;
	tk->tk_len = 0;
}

static void
kauth_token_free(struct kauth *a, struct ktoken *tk)
{
	TAILQ_REMOVE(&a->a_tokens, tk, tk_entry);
	a->a_ntokens--;
	if (tk->tk_fetch != NULL)
		egress_cancel(tk->tk_fetch);
	kauth_token_drop(tk);
	free(tk->tk_url);
	if (tk->tk_form != NULL)
		keeper_secret_free(tk->tk_form, tk->tk_formlen + 1);
	explicit_bzero(tk->tk_key, sizeof(tk->tk_key));
	free(tk);
}

/* A digest over the parts that make a token differ; secrets go in too. */
static void
kauth_key(const char *const *parts, const size_t *lens, size_t n,
    unsigned char out[32])
{
	EVP_MD_CTX	*ctx;
	unsigned int	 len = 32;
	uint32_t	 l;
	size_t		 i;

	memset(out, 0, 32);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; i < n; i++) {
		/* Lengths first: ("ab","c") and ("a","bc") differ. */
		l = (uint32_t)lens[i];
		EVP_DigestUpdate(ctx, &l, sizeof(l));
		EVP_DigestUpdate(ctx, parts[i] != NULL ? parts[i] : "",
		    lens[i]);
	}
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
}

static struct ktoken *
kauth_token_get(struct kauth *a, const unsigned char key[32])
{
	struct ktoken	*tk, *old;

	TAILQ_FOREACH(tk, &a->a_tokens, tk_entry)
		if (memcmp(tk->tk_key, key, 32) == 0) {
			/* Most recently used first. */
			TAILQ_REMOVE(&a->a_tokens, tk, tk_entry);
			TAILQ_INSERT_HEAD(&a->a_tokens, tk, tk_entry);
			return tk;
		}
	/* Full: the least recently used idle entry goes. */
	if (a->a_ntokens >= KAUTH_MAX_TOKENS)
		TAILQ_FOREACH_REVERSE(old, &a->a_tokens, ktoken_list,
		    tk_entry)
			if (old->tk_refs == 0 && old->tk_fetch == NULL) {
				kauth_token_free(a, old);
				break;
			}
	if ((tk = calloc(1, sizeof(*tk))) == NULL)
		return NULL;
	memcpy(tk->tk_key, key, 32);
	TAILQ_INIT(&tk->tk_waiters);
	TAILQ_INSERT_HEAD(&a->a_tokens, tk, tk_entry);
	a->a_ntokens++;
	return tk;
}

/* A waiting call gets its token (or the failure). */
static void
kauth_wake(struct ktoken *tk, struct fail *fl)
{
	struct kauth_req	*ar;
	struct fail		 f;

	while ((ar = TAILQ_FIRST(&tk->tk_waiters)) != NULL) {
		TAILQ_REMOVE(&tk->tk_waiters, ar, ar_wait);
		ar->ar_waiting = 0;
		if (fl == NULL && tk->tk_token != NULL) {
			ar->ar_serial = tk->tk_serial;
			ar->ar_cached = 0;
			if (kauth_bearer(ar->ar_kr, tk->tk_token,
			    tk->tk_len) == -1) {
				kauth_fail(&f, 500, "Unexpected error", "%s",
				    "out of memory");
				ar->ar_ready(ar->ar_arg, &f);
				fail_clear(&f);
				continue;
			}
			ar->ar_ready(ar->ar_arg, NULL);
		} else {
			memset(&f, 0, sizeof(f));
			f.fl_status = fl->fl_status;
			f.fl_code = strdup(fl->fl_code);
			f.fl_scope = strdup(fl->fl_scope);
			f.fl_detail = strdup(fl->fl_detail);
			f.fl_host = strdup(fl->fl_host);
			f.fl_debug = strdup("");
			f.fl_timeout = fl->fl_timeout;
			ar->ar_ready(ar->ar_arg, &f);
			fail_clear(&f);
		}
	}
}

/* A token response: JSON with access_token and (maybe) expires_in. */
static int
kauth_parse(const char *body, size_t len, char **tok, size_t *toklen,
    long *expires, const char **why)
{
	struct json_tokener	*t;
	struct json_object	*o = NULL, *v;
	const char		*s;
	char			*end;
	double			 d;
	size_t			 i, n;
	int			 rv = -1;

	*tok = NULL;
	*expires = -1;
	if (len > KAUTH_RESPONSE_MAX) {
		*why = "the token response is too large";
		return -1;
	}
	if ((t = json_tokener_new()) == NULL) {
		*why = "out of memory";
		return -1;
	}
	json_tokener_set_flags(t, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(t, body, (int)len);
	if (o == NULL || t->char_offset != (int)len ||
	    !json_object_is_type(o, json_type_object)) {
		*why = "the token response is not a JSON object";
		goto out;
	}
	if (!json_object_object_get_ex(o, "access_token", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (n = (size_t)json_object_get_string_len(v)) == 0) {
		*why = "the token response has no access_token";
		goto out;
	}
	s = json_object_get_string(v);
	if (n > KAUTH_TOKEN_MAX) {
		*why = "the access token is too long";
		goto out;
	}
	/* It becomes a header value: no control byte, no space. */
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) {
			*why = "the access token has a control character";
			goto out;
		}
	if (json_object_object_get_ex(o, "expires_in", &v) && v != NULL) {
		if (json_object_is_type(v, json_type_int))
			*expires = (long)json_object_get_int64(v);
		else if (json_object_is_type(v, json_type_double))
			*expires = (long)json_object_get_double(v);
		else if (json_object_is_type(v, json_type_string)) {
			errno = 0;
			d = strtod(json_object_get_string(v), &end);
			if (errno != 0 || *end != '\0' ||
			    end == json_object_get_string(v)) {
				*why = "expires_in is not a number";
				goto out;
			}
			*expires = (long)d;
		} else {
			*why = "expires_in is not a number";
			goto out;
		}
	}
	if ((*tok = malloc(n + 1)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	memcpy(*tok, s, n + 1);
	*toklen = n;
	rv = 0;
out:
	json_object_put(o);
	json_tokener_free(t);
	return rv;
}

static void	kauth_fetch_start(struct kauth *, struct ktoken *);

/* The token endpoint answered (or not). */
static void
kauth_fetch_done(struct egress_result *er, void *arg)
{
	struct ktoken	*tk = arg;
	struct timespec	 now;
	struct fail	 fl;
	const char	*why = NULL;
	char		*tok = NULL, scope[300], msg[300];
	size_t		 toklen = 0;
	long		 exp, life;

	tk->tk_fetch = NULL;
	snprintf(scope, sizeof(scope), "Authentication (token endpoint %s)",
	    tk->tk_url);
	memset(&fl, 0, sizeof(fl));
	if (er->er_error != EGRESS_OK) {
		snprintf(msg, sizeof(msg), "the token request failed: %s",
		    er->er_msg);
		kauth_fail(&fl, 502, scope, "%s", msg);
		fl.fl_timeout = er->er_error == EGRESS_ETIMEOUT;
		goto fail;
	}
	if (er->er_status < 200 || er->er_status > 299) {
		snprintf(msg, sizeof(msg), "the token endpoint answered %d",
		    er->er_status);
		kauth_fail(&fl, 502, scope, "%s", msg);
		goto fail;
	}
	if (kauth_parse(er->er_body, er->er_bodylen, &tok, &toklen, &exp,
	    &why) == -1) {
		kauth_fail(&fl, 502, scope, "%s", why);
		goto fail;
	}
	/* The lifetime: token_ttl for a bearer grant, else expires_in. */
	if (tk->tk_ttl > 0)
		exp = tk->tk_ttl;
	else if (exp <= 0)
		exp = KAUTH_EXPIRES_DEFAULT;
	if (exp > KAUTH_EXPIRES_MAX)
		exp = KAUTH_EXPIRES_MAX;
	life = exp > 2 * KAUTH_MARGIN ? exp - KAUTH_MARGIN : exp / 2;
	kauth_token_drop(tk);
	tk->tk_token = tok;
	tk->tk_len = toklen;
	tk->tk_serial++;
	kauth_now(&now);
	tk->tk_usable = now;
	tk->tk_usable.tv_sec += life;
	tk->tk_refresh = now;
	tk->tk_refresh.tv_sec += life * 3 / 4;
	log_debug("token from %s, usable for %ld s", tk->tk_url, life);
	kauth_wake(tk, NULL);
	return;
fail:
	metrics_add(tk->tk_metrics, tk->tk_tenant, tk->tk_conn,
	    MF_TOKEN_FAILURES, 1);
	/* Never the response itself: it may hold a token. */
	log_warnx("token request to %s: %s", tk->tk_url, fl.fl_detail);
	/* A token still usable stays in use; only waiters hear of this. */
	kauth_wake(tk, &fl);
	fail_clear(&fl);
}

static void
kauth_fetch_start(struct kauth *a, struct ktoken *tk)
{
	struct egress_request	 req;
	struct egress_field	 h[2];
	struct fail		 fl;

	if (tk->tk_fetch != NULL)
		return;
	metrics_add(tk->tk_metrics, tk->tk_tenant, tk->tk_conn,
	    MF_TOKEN_FETCHES, 1);
	memset(&req, 0, sizeof(req));
	h[0].ef_name = "Content-Type";
	h[0].ef_value = "application/x-www-form-urlencoded";
	h[1].ef_name = "Accept";
	h[1].ef_value = "application/json";
	req.eq_method = "POST";
	req.eq_url = tk->tk_url;
	req.eq_headers = h;
	req.eq_nheaders = 2;
	req.eq_body = tk->tk_form;
	req.eq_bodylen = tk->tk_formlen;
	kauth_now(&req.eq_deadline);
	req.eq_deadline.tv_sec += a->a_window;
	if ((tk->tk_fetch = egress_start(a->a_egress, &req, kauth_fetch_done,
	    tk)) == NULL) {
		kauth_fail(&fl, 500, "Unexpected error", "%s",
		    "cannot start the token request");
		kauth_wake(tk, &fl);
		fail_clear(&fl);
	}
}

/* The form, key and lifetime of an OAuth token request for kr. */
static int
kauth_oauth_request(struct kreq *kr, struct kauth_req *ar,
    unsigned char key[32], struct fail *fl)
{
	const struct conn_auth	*a = &kr->kr_cr->cr_auth;
	struct json_object	*h = NULL, *p = NULL;
	const char		*parts[8], *url, *cid, *sub, *aud, *pkey, *pj;
	size_t			 lens[8], ulen, cidlen, sublen, audlen, pklen;
	char			*jwt = NULL;
	size_t			 jlen = 0, np = 0;
	time_t			 now;
	int			 rv = -1;

	url = kreq_auth(kr, PA_TOKEN_URL, &ulen);
	cid = kreq_auth(kr, PA_CLIENT_ID, &cidlen);
	if (url == NULL || cid == NULL || (ar->ar_url = strdup(url)) == NULL)
		goto oom;
	parts[np] = kr->kr_tenant;
	lens[np++] = strlen(kr->kr_tenant);
	parts[np] = url;
	lens[np++] = ulen;
	parts[np] = cid;
	lens[np++] = cidlen;
	if (a->ca_type == CONN_AUTH_OAUTH_CC) {
		const char	*sec, *scope;
		size_t		 seclen, scopelen;

		sec = kreq_auth(kr, PA_CLIENT_SECRET, &seclen);
		scope = kreq_auth(kr, PA_SCOPE, &scopelen);
		parts[np] = sec;
		lens[np++] = seclen;
		parts[np] = scope;
		lens[np++] = scopelen;
		kauth_key(parts, lens, np, key);
		if (kauth_form_add(&ar->ar_form, &ar->ar_formlen, "grant_type",
		    "client_credentials", 18) == -1 ||
		    kauth_form_add(&ar->ar_form, &ar->ar_formlen, "client_id",
		    cid, cidlen) == -1 ||
		    kauth_form_add(&ar->ar_form, &ar->ar_formlen,
		    "client_secret", sec != NULL ? sec : "", seclen) == -1 ||
		    (scope != NULL && scopelen > 0 && kauth_form_add(
		    &ar->ar_form, &ar->ar_formlen, "scope", scope,
		    scopelen) == -1))
			goto oom;
		return 0;
	}
	/* JWT bearer (RFC 7523): iss, sub, aud, iat, exp, then the rest. */
	sub = kreq_auth(kr, PA_SUBJECT, &sublen);
	aud = kreq_auth(kr, PA_AUDIENCE, &audlen);
	pkey = kreq_auth(kr, PA_PRIVATE_KEY, &pklen);
	now = time(NULL);
	if ((h = kauth_header(kr, a)) == NULL ||
	    (p = json_object_new_object()) == NULL)
		goto oom;
	json_object_object_add(p, "iss", json_object_new_string_len(cid,
	    (int)cidlen));
	json_object_object_add(p, "sub", json_object_new_string_len(
	    sub != NULL ? sub : "", (int)sublen));
	json_object_object_add(p, "aud", json_object_new_string_len(
	    aud != NULL ? aud : "", (int)audlen));
	if (kauth_claims(kr, PA_CLAIM, a->ca_claims, a->ca_nclaims, p) == -1)
		goto oom;
	/* The key: every claim that varies, not the clock. */
	pj = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN);
	parts[np] = pj;
	lens[np++] = strlen(pj);
	pj = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
	parts[np] = pj;
	lens[np++] = strlen(pj);
	parts[np] = pkey;
	lens[np++] = pklen;
	kauth_key(parts, lens, np, key);
	json_object_object_add(p, "iat", json_object_new_int64(now));
	json_object_object_add(p, "exp", json_object_new_int64(now +
	    BEARER_LIFE));
	if ((jwt = kauth_sign(a->ca_algorithm, pkey != NULL ? pkey : "", pklen,
	    h, p, &jlen, fl)) == NULL)
		goto out;
	/* The assertion never reaches the upstream, but redact it anyway. */
	if (kreq_secret_add(kr, jwt, jlen) == -1 ||
	    kauth_form_add(&ar->ar_form, &ar->ar_formlen, "grant_type",
	    "urn:ietf:params:oauth:grant-type:jwt-bearer", 43) == -1 ||
	    kauth_form_add(&ar->ar_form, &ar->ar_formlen, "assertion", jwt,
	    jlen) == -1)
		goto oom;
	ar->ar_ttl = a->ca_token_ttl;
	rv = 0;
	goto out;
oom:
	kauth_fail(fl, 500, "Unexpected error", "%s", "out of memory");
out:
	if (jwt != NULL)
		keeper_secret_free(jwt, jlen + 1);
	json_object_put(h);
	json_object_put(p);
	return rv;
}

/* Hand the call's request to the token entry for a (re)fetch. */
static int
kauth_token_request(struct ktoken *tk, struct kauth_req *ar)
{
	if (tk->tk_fetch != NULL)
		return 0;	/* one in flight already: wait for it */
	free(tk->tk_url);
	if (tk->tk_form != NULL)
		keeper_secret_free(tk->tk_form, tk->tk_formlen + 1);
	tk->tk_form = NULL;
	if ((tk->tk_url = strdup(ar->ar_url)) == NULL ||
	    (tk->tk_form = malloc(ar->ar_formlen + 1)) == NULL)
		return -1;
	memcpy(tk->tk_form, ar->ar_form, ar->ar_formlen + 1);
	tk->tk_formlen = ar->ar_formlen;
	tk->tk_ttl = ar->ar_ttl;
	return 0;
}

/* OAuth: the cached token, or wait for one. */
static int
kauth_oauth(struct kauth *a, struct kauth_req *ar, struct fail *fl)
{
	struct ktoken	*tk;
	struct timespec	 now;
	unsigned char	 key[32];

	if (kauth_oauth_request(ar->ar_kr, ar, key, fl) == -1)
		return -1;
	if ((tk = kauth_token_get(a, key)) == NULL) {
		kauth_fail(fl, 500, "Unexpected error", "%s", "out of memory");
		return -1;
	}
	explicit_bzero(key, sizeof(key));
	ar->ar_token = tk;
	tk->tk_refs++;
	tk->tk_metrics = a->a_metrics;
	snprintf(tk->tk_tenant, sizeof(tk->tk_tenant), "%s",
	    ar->ar_kr->kr_tenant != NULL ? ar->ar_kr->kr_tenant : "-");
	snprintf(tk->tk_conn, sizeof(tk->tk_conn), "%s",
	    ar->ar_kr->kr_connector != NULL ? ar->ar_kr->kr_connector : "-");
	kauth_now(&now);
	if (tk->tk_token != NULL && kauth_before(&now, &tk->tk_usable)) {
		/* Past three quarters of its life: refresh behind the call. */
		if (!kauth_before(&now, &tk->tk_refresh) &&
		    tk->tk_fetch == NULL && kauth_token_request(tk, ar) == 0)
			kauth_fetch_start(a, tk);
		ar->ar_serial = tk->tk_serial;
		ar->ar_cached = 1;
		if (kauth_bearer(ar->ar_kr, tk->tk_token, tk->tk_len) == -1) {
			kauth_fail(fl, 500, "Unexpected error", "%s",
			    "out of memory");
			return -1;
		}
		return 0;
	}
	/* No usable token: never an expired one; wait for a new one. */
	kauth_token_drop(tk);
	if (kauth_token_request(tk, ar) == -1) {
		kauth_fail(fl, 500, "Unexpected error", "%s", "out of memory");
		return -1;
	}
	TAILQ_INSERT_TAIL(&tk->tk_waiters, ar, ar_wait);
	ar->ar_waiting = 1;
	kauth_fetch_start(a, tk);
	return 1;
}

/* --- The call ---------------------------------------------------------------- */

struct kauth *
kauth_new(struct egress *eg)
{
	struct kauth	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->a_egress = eg;
	a->a_window = 15;
	TAILQ_INIT(&a->a_tokens);
	return a;
}

void
kauth_set_egress(struct kauth *a, struct egress *eg)
{
	a->a_egress = eg;
}

void
kauth_set_metrics(struct kauth *a, struct metrics *m)
{
	a->a_metrics = m;
}

void
kauth_set_window(struct kauth *a, int seconds)
{
	a->a_window = seconds > 0 ? seconds : 15;
}

void
kauth_free(struct kauth *a)
{
	struct ktoken	*tk;

	if (a == NULL)
		return;
	while ((tk = TAILQ_FIRST(&a->a_tokens)) != NULL)
		kauth_token_free(a, tk);
	free(a);
}

void
kauth_req_free(struct kauth_req *ar)
{
	if (ar == NULL)
		return;
	if (ar->ar_waiting)
		TAILQ_REMOVE(&ar->ar_token->tk_waiters, ar, ar_wait);
	if (ar->ar_token != NULL)
		ar->ar_token->tk_refs--;
	if (ar->ar_cert != NULL)
		keeper_secret_free(ar->ar_cert, ar->ar_certlen + 1);
	if (ar->ar_key != NULL)
		keeper_secret_free(ar->ar_key, ar->ar_keylen + 1);
	if (ar->ar_form != NULL)
		keeper_secret_free(ar->ar_form, ar->ar_formlen + 1);
	free(ar->ar_url);
	free(ar);
}

const char *
kauth_client_cert(const struct kauth_req *ar, size_t *len, const char **key,
    size_t *keylen)
{
	if (ar == NULL || ar->ar_cert == NULL)
		return NULL;
	*len = ar->ar_certlen;
	*key = ar->ar_key;
	*keylen = ar->ar_keylen;
	return ar->ar_cert;
}

int
kauth_prepare(struct kauth *a, struct kreq *kr, struct kauth_req **reqp,
    kauth_ready_fn ready, void *arg, struct fail *fl)
{
	struct kauth_req	*ar;
	const char		*v;
	size_t			 len;
	int			 sigv4, oauth;

	*reqp = NULL;
	sigv4 = kr->kr_cr->cr_ext.ce_sigv4;
	oauth = !sigv4 &&
	    (kr->kr_cr->cr_auth.ca_type == CONN_AUTH_OAUTH_CC ||
	    kr->kr_cr->cr_auth.ca_type == CONN_AUTH_OAUTH_JWT_BEARER);
	v = kreq_auth(kr, PA_CERT, &len);
	/* Only a token or a certificate is state to keep: most calls have none. */
	if (!oauth && v == NULL)
		goto sign;
	if ((ar = calloc(1, sizeof(*ar))) == NULL) {
		kauth_fail(fl, 500, "Unexpected error", "%s", "out of memory");
		return -1;
	}
	*reqp = ar;
	ar->ar_auth = a;
	ar->ar_kr = kr;
	ar->ar_ready = ready;
	ar->ar_arg = arg;
	/* mTLS: the certificate and key, PEM, escapes made real. */
	if (v != NULL) {
		if ((ar->ar_cert = kauth_pem_unescape(v, len,
		    &ar->ar_certlen)) == NULL ||
		    (v = kreq_auth(kr, PA_CERT_KEY, &len)) == NULL ||
		    (ar->ar_key = kauth_pem_unescape(v, len,
		    &ar->ar_keylen)) == NULL) {
			kauth_fail(fl, 500, "Unexpected error", "%s",
			    "out of memory");
			return -1;
		}
	}
sign:
	if (sigv4)
		return kauth_sigv4(kr, fl);
	if (oauth)
		return kauth_oauth(a, *reqp, fl);
	if (kr->kr_cr->cr_auth.ca_type == CONN_AUTH_JWT)
		return kauth_jwt(kr, fl);
	return 0;
}

int
kauth_retry(struct kauth *a, struct kauth_req *ar, int status)
{
	struct ktoken	*tk;

	/* Once, for a 401 on a token the cache gave (§9). */
	if (ar == NULL || status != 401 || (tk = ar->ar_token) == NULL ||
	    !ar->ar_cached || ar->ar_retried)
		return 0;
	ar->ar_retried = 1;
	/* Only the token that failed goes; a newer one is kept. */
	if (tk->tk_serial == ar->ar_serial) {
		log_info("token from %s refused upstream: fetching a new one",
		    tk->tk_url != NULL ? tk->tk_url : "?");
		kauth_token_drop(tk);
	}
	/* Another call got a new token meanwhile: use it at once. */
	if (tk->tk_token != NULL) {
		ar->ar_serial = tk->tk_serial;
		ar->ar_cached = 0;
		return kauth_bearer(ar->ar_kr, tk->tk_token, tk->tk_len) == 0 ?
		    1 : 0;
	}
	if (kauth_token_request(tk, ar) == -1)
		return 0;
	TAILQ_INSERT_TAIL(&tk->tk_waiters, ar, ar_wait);
	ar->ar_waiting = 1;
	kauth_fetch_start(a, tk);
	return 2;
}
