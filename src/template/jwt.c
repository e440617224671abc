/*
 * jwt.c — jwt_encode(payload, key, algorithm, headers) as PyJWT spells it:
 * header {"alg","typ":"JWT"} plus headers, sorted, compact; payload compact
 * in insertion order; base64url without padding.  All thirteen algorithms
 * (HS/RS/PS 256/384/512, ES256/384/512, EdDSA) through OpenSSL libcrypto.
 * When the key is a symbolic secret the signing moves to the keeper: the
 * worker hands over the header and payload JSON in a TSX_JWT node.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "tmpl_int.h"

static void
b64url_into(struct buf *b, const unsigned char *p, size_t n)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789-_";
	size_t			 i;
	uint32_t		 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		buf_addc(b, tab[v >> 18]);
		buf_addc(b, tab[(v >> 12) & 63]);
		buf_addc(b, tab[(v >> 6) & 63]);
		buf_addc(b, tab[v & 63]);
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		buf_addc(b, tab[v >> 18]);
		buf_addc(b, tab[(v >> 12) & 63]);
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		buf_addc(b, tab[v >> 18]);
		buf_addc(b, tab[(v >> 12) & 63]);
		buf_addc(b, tab[(v >> 6) & 63]);
	}
}

static const EVP_MD *
jwt_md(const char *alg)
{
	const char	*bits = alg + 2;

	if (strlen(alg) != 5)
		return NULL;
	if (strcmp(bits, "256") == 0)
		return EVP_sha256();
	if (strcmp(bits, "384") == 0)
		return EVP_sha384();
	if (strcmp(bits, "512") == 0)
		return EVP_sha512();
	return NULL;
}

static int
jwt_known(const char *alg)
{
	if (strcmp(alg, "EdDSA") == 0 || strcmp(alg, "none") == 0)
		return 1;
	return (strncmp(alg, "HS", 2) == 0 || strncmp(alg, "RS", 2) == 0 ||
	    strncmp(alg, "PS", 2) == 0 || strncmp(alg, "ES", 2) == 0) &&
	    jwt_md(alg) != NULL;
}

/* DER ECDSA signature to JOSE r||s. */
static int
ecdsa_raw(const unsigned char *der, size_t derlen, size_t half,
    unsigned char *out)
{
	ECDSA_SIG	*sig;
	const BIGNUM	*r, *s;
	int		 rc = -1;

	if ((sig = d2i_ECDSA_SIG(NULL, &der, (long)derlen)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, (int)half) == (int)half &&
	    BN_bn2binpad(s, out + half, (int)half) == (int)half)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

/*
 * Sign header.payload and write the whole compact JWT to out.  Also used by
 * the keeper for TSX_JWT nodes (the key is a secret there).
 */
int
jwt_sign(const char *alg, const void *key, size_t keylen,
    const char *header_json, const char *payload_json, struct buf *out,
    char *err, size_t errlen)
{
	const EVP_MD	*md = NULL;
	EVP_PKEY	*pk = NULL;
	EVP_MD_CTX	*ctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	BIO		*bio = NULL;
	unsigned char	 mac[EVP_MAX_MD_SIZE], *sig = NULL, raw[160];
	unsigned int	 maclen = 0;
	size_t		 siglen = 0, signing_len;
	int		 rc = -1;

	if (!jwt_known(alg)) {
		snprintf(err, errlen, "Algorithm not supported: %s", alg);
		return -1;
	}
	if (strcmp(alg, "EdDSA") != 0 && strcmp(alg, "none") != 0)
		md = jwt_md(alg);
	b64url_into(out, (const unsigned char *)header_json, strlen(header_json));
	buf_addc(out, '.');
	b64url_into(out, (const unsigned char *)payload_json,
	    strlen(payload_json));
	signing_len = out->b_len;
	buf_addc(out, '.');
	if (strcmp(alg, "none") == 0)
		return 0;
	if (alg[0] == 'H') {
		if (HMAC(md, key, (int)keylen, (const unsigned char *)out->b_p,
		    signing_len, mac, &maclen) == NULL) {
			snprintf(err, errlen, "HMAC failed");
			return -1;
		}
		b64url_into(out, mac, maclen);
		OPENSSL_cleanse(mac, sizeof(mac));
		return 0;
	}
	if ((bio = BIO_new_mem_buf(key, (int)keylen)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "Could not parse the key as a PEM private "
		    "key for %s", alg);
		goto out;
	}
	/* the key type must fit the algorithm family */
	if ((alg[0] == 'R' || alg[0] == 'P') ? EVP_PKEY_base_id(pk) !=
	    EVP_PKEY_RSA : alg[0] == 'E' && alg[1] == 'S' ?
	    EVP_PKEY_base_id(pk) != EVP_PKEY_EC :
	    (EVP_PKEY_base_id(pk) != EVP_PKEY_ED25519 &&
	    EVP_PKEY_base_id(pk) != EVP_PKEY_ED448)) {
		snprintf(err, errlen, "The key does not match algorithm %s", alg);
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, &pctx, md, NULL, pk) != 1)
		goto sslerr;
	if (alg[0] == 'P' && (EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto sslerr;
	if (EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)out->b_p,
	    signing_len) != 1 || (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)out->b_p,
	    signing_len) != 1)
		goto sslerr;
	if (alg[0] == 'E' && alg[1] == 'S') {
		size_t	 half = ((size_t)EVP_PKEY_bits(pk) + 7) / 8;

		if (half * 2 > sizeof(raw) || ecdsa_raw(sig, siglen, half, raw) ==
		    -1)
			goto sslerr;
		b64url_into(out, raw, half * 2);
	} else
		b64url_into(out, sig, siglen);
	rc = 0;
	goto out;
sslerr:
	snprintf(err, errlen, "signing with %s failed", alg);
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return rc;
}

/* For the keeper (template.h): sized once, wiped on failure. */
char *
tmpl_jwt_sign(const char *alg, const void *key, size_t keylen,
    const char *header_json, const char *payload_json, size_t *lenp,
    char *err, size_t errlen)
{
	struct buf	 b;
	size_t		 hl = strlen(header_json), pl = strlen(payload_json);

	memset(&b, 0, sizeof(b));
	err[0] = '\0';
	/* base64url of both parts, two dots, a signature of at most 1 KiB */
	if (hl > SIZE_MAX / 4 - pl || buf_grow(&b, (hl + pl) / 3 * 4 + 8 +
	    2048) == -1) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b.b_p[0] = '\0';
	if (jwt_sign(alg, key, keylen, header_json, payload_json, &b, err,
	    errlen) == -1) {
		explicit_bzero(b.b_p, b.b_cap);
		buf_free(&b);
		return NULL;
	}
	*lenp = b.b_len;
	return b.b_p;
}

/* The header JSON: {"alg":…,"typ":"JWT"} updated with headers, sorted. */
static int
jwt_header(struct eval *e, const char *alg, struct tval *headers,
    struct buf *b)
{
	struct tval	*h;
	size_t		 i;
	char		 err[200];
	int		 rc;

	if ((h = tval_dict()) == NULL)
		return eval_errorv(e, "out of memory");
	if (tval_dict_set(h, "typ", tval_str("JWT", 3)) == -1 ||
	    tval_dict_set(h, "alg", tval_str(alg, strlen(alg))) == -1)
		goto oom;
	if (headers != NULL && headers->tv_type == TV_DICT)
		for (i = 0; i < headers->u.d.n; i++)
			if (tval_dict_put(h, tval_ref(headers->u.d.e[i].de_key),
			    tval_ref(headers->u.d.e[i].de_val)) == -1)
				goto oom;
	rc = json_dump(b, h, 3, -1, err, sizeof(err));
	tval_unref(h);
	if (rc == -1)
		return eval_errorv(e, "jwt_encode: %s", err);
	return 0;
oom:
	tval_unref(h);
	return eval_errorv(e, "out of memory");
}

struct tval *
fn_jwt_encode(struct eval *e, int id, struct tval *self, struct args *a)
{
	static const char *const params[] = { "payload", "key", "algorithm",
	    "headers" };
	struct tval		*v[4], *r = NULL;
	struct buf		 hdr, pay, tok;
	char			 err[256];
	const char		*alg = "HS256";

	if (args_bind(e, a, "jwt_encode", params, 4, 2, v) == -1)
		return NULL;
	if (v[0]->tv_type != TV_DICT)
		return eval_error(e, "Expecting a dict object, as JWT only "
		    "supports JSON objects as payloads.");
	if (v[2] != NULL && v[2]->tv_type != TV_NONE) {
		if (v[2]->tv_type != TV_STR)
			return eval_error(e, "jwt_encode: algorithm must be a "
			    "string");
		alg = v[2]->u.s.p;
	}
	if (!jwt_known(alg))
		return eval_error(e, "Algorithm not supported: %s", alg);
	if (v[3] != NULL && v[3]->tv_type != TV_NONE &&
	    v[3]->tv_type != TV_DICT)
		return eval_error(e, "jwt_encode: headers must be a dict");
	memset(&hdr, 0, sizeof(hdr));
	memset(&pay, 0, sizeof(pay));
	memset(&tok, 0, sizeof(tok));
	hdr.b_max = pay.b_max = eval_maxout(e) + 1;
	if (jwt_header(e, alg, v[3], &hdr) == -1)
		goto out;
	if (json_dump(&pay, v[0], 2, -1, err, sizeof(err)) == -1) {
		eval_error(e, "jwt_encode: %s", err);
		goto out;
	}
	if (v[1]->tv_type == TV_SECRET) {
		/* the keeper signs: it alone has the key */
		struct tsecret	*ts;

		if ((ts = tsecret_unary(TSX_JWT, tsecret_dup(v[1]->u.sec))) ==
		    NULL) {
			eval_error(e, "out of memory");
			goto out;
		}
		ts->ts_data = pay.b_p;
		ts->ts_len = pay.b_len;
		pay.b_p = NULL;
		ts->ts_headers = hdr.b_p;
		hdr.b_p = NULL;
		if ((ts->ts_alg = strdup(alg)) == NULL) {
			tsecret_free(ts);
			eval_error(e, "out of memory");
			goto out;
		}
		if ((r = tval_secret(ts)) == NULL)
			eval_error(e, "out of memory");
		goto out;
	}
	if (v[1]->tv_type != TV_STR && v[1]->tv_type != TV_BYTES) {
		eval_error(e, "jwt_encode: the key must be a string");
		goto out;
	}
	if (jwt_sign(alg, v[1]->u.s.p, v[1]->u.s.len, hdr.b_p, pay.b_p, &tok,
	    err, sizeof(err)) == -1) {
		eval_error(e, "jwt_encode: %s", err);
		goto out;
	}
	r = tval_str_buf(&tok);
out:
	buf_free(&hdr);
	buf_free(&pay);
	buf_free(&tok);
	return r;
}
