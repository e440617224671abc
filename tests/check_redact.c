/*
 * check_redact.c — redaction of secret-derived bytes: every encoding an
 * upstream may echo, built here by independent encoders (libcrypto's
 * base64, libcurl's percent-encoding, json-c's string escaping), the
 * minimum length, overlaps, the cache of compiled sets, and the work (the
 * automaton's steps, not a clock) on a 10 MiB body.
 */
#include "build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "check_main.h"
#include "keeper_redact.h"
#include "oom.h"

/* A secret with bytes every encoding treats specially. */
static const char	 secret[] = "s3cr\"t/+ k=y:\\\n\x01\xc3\xa9Z";
#define SECRET_LEN	(sizeof(secret) - 1)

static char *
dup_body(const char *s, size_t *lenp)
{
	char	*p;

	*lenp = strlen(s);
	p = malloc(*lenp + 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p, s, *lenp + 1);
	return p;
}

/* Redact "<before>form<after>" and expect exactly one mark in its place. */
static void
expect_redacted(struct redact *r, const char *form, size_t formlen,
    const char *what)
{
	char	*buf;
	size_t	 len;
	int	 n;

	len = formlen + 13;
	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "before ", 7);
	memcpy(buf + 7, form, formlen);
	memcpy(buf + 7 + formlen, " after", 6);
	n = redact_apply(r, &buf, &len);
	ck_assert_msg(n == 1, "%s: %d marks", what, n);
	ck_assert_uint_eq(len, strlen("before [REDACTED] after"));
	ck_assert_msg(memcmp(buf, "before [REDACTED] after", len) == 0,
	    "%s: got '%.*s'", what, (int)len, buf);
	free(buf);
}

static char *
b64(const void *p, size_t n, int url, int pad)
{
	char	*out, *c;

	out = calloc(1, 4 * (n + 2) / 3 + 2);
	ck_assert_ptr_nonnull(out);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	for (c = out; *c != '\0'; c++) {
		if (url && *c == '+')
			*c = '-';
		else if (url && *c == '/')
			*c = '_';
		else if (!pad && *c == '=')
			*c = '\0';
	}
	return out;
}

/* Each form of the secret, made by someone else's encoder. */
START_TEST(test_forms)
{
	struct redact	*r;
	CURL		*h;
	json_object	*js;
	char		 hex[2 * SECRET_LEN + 1], *s, *t;
	const char	*j;
	size_t		 i;
	int		 url, pad;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, secret, SECRET_LEN), 1);
	ck_assert_uint_gt(redact_npatterns(r), 10);

	expect_redacted(r, secret, SECRET_LEN, "raw");
	for (url = 0; url < 2; url++)
		for (pad = 0; pad < 2; pad++) {
			s = b64(secret, SECRET_LEN, url, pad);
			expect_redacted(r, s, strlen(s), url ? "base64url" :
			    "base64");
			free(s);
		}
	for (i = 0; i < SECRET_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)secret[i]);
	expect_redacted(r, hex, strlen(hex), "hex");
	for (i = 0; hex[i] != '\0'; i++)
		hex[i] = (char)toupper((unsigned char)hex[i]);
	expect_redacted(r, hex, strlen(hex), "HEX");

	/* curl escapes everything but unreserved, upper-case digits. */
	ck_assert_ptr_nonnull(h = curl_easy_init());
	s = curl_easy_escape(h, secret, (int)SECRET_LEN);
	ck_assert_ptr_nonnull(s);
	expect_redacted(r, s, strlen(s), "percent");
	for (t = s; *t != '\0'; t++)
		if (*t == '%') {
			t[1] = (char)tolower((unsigned char)t[1]);
			t[2] = (char)tolower((unsigned char)t[2]);
		}
	expect_redacted(r, s, strlen(s), "percent, lower case");
	curl_free(s);
	curl_easy_cleanup(h);

	/* json-c escapes "/" unless told not to. */
	js = json_object_new_string_len(secret, (int)SECRET_LEN);
	j = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN);
	expect_redacted(r, j + 1, strlen(j) - 2, "json with \\/");
	j = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	expect_redacted(r, j + 1, strlen(j) - 2, "json");
	json_object_put(js);
	redact_free(r);
}
END_TEST

/* Query forms: space as "+", "/" kept (Jinja2's urlencode). */
START_TEST(test_query_forms)
{
	struct redact	*r;
	const char	*v = "key with/slash";

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, v, strlen(v)), 1);
	expect_redacted(r, "key+with%2Fslash", 16, "form");
	expect_redacted(r, "key%20with/slash", 16, "urlencode");
	expect_redacted(r, "key+with/slash", 14, "form, slash kept");
	expect_redacted(r, "key%20with%2fslash", 18, "lower");
	redact_free(r);
}
END_TEST

/*
 * The secret inside a longer base64 text, at every alignment: what an
 * upstream echoing an Authorization: Basic header or a JWT sends back.
 */
START_TEST(test_embedded_base64)
{
	struct redact	*r;
	const char	*v = "sk_live_0123456789abcdef";
	char		 plain[128], *enc, *buf, *dec;
	size_t		 pre, post, len;
	int		 url, n;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, v, strlen(v)), 1);
	for (url = 0; url < 2; url++)
		for (pre = 0; pre < 6; pre++)
			for (post = 0; post < 4; post++) {
				memset(plain, 0xfb, sizeof(plain));
				memcpy(plain + pre, v, strlen(v));
				enc = b64(plain, pre + strlen(v) + post, url,
				    1);
				buf = enc;
				len = strlen(enc);
				n = redact_apply(r, &buf, &len);
				ck_assert_msg(n == 1, "pre %zu post %zu url "
				    "%d: %d", pre, post, url, n);
				/* The mark starts where the value does. */
				dec = strstr(buf, REDACT_MARK);
				ck_assert_ptr_nonnull(dec);
				ck_assert_uint_le((size_t)(dec - buf),
				    (pre * 4 + 2) / 3 + 1);
				free(buf);
			}
	redact_free(r);
}
END_TEST

START_TEST(test_min_len)
{
	struct redact	*r;
	char		*buf;
	size_t		 len;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, "1234567", 7), 0);
	ck_assert_uint_eq(redact_npatterns(r), 0);
	buf = dup_body("a 1234567 b", &len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), 0);
	ck_assert_str_eq(buf, "a 1234567 b");
	ck_assert_int_eq(redact_add(r, "12345678", 8), 1);
	/* Added after a first use: the set is compiled again. */
	ck_assert_int_eq(redact_apply(r, &buf, &len), 0);
	free(buf);
	buf = dup_body("a 12345678 b", &len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), 1);
	ck_assert_str_eq(buf, "a [REDACTED] b");
	free(buf);
	redact_free(r);
	redact_free(NULL);
}
END_TEST

/* Redact in and expect out, with n marks. */
static void
expect_apply(struct redact *r, const char *in, const char *out, int n)
{
	char	*buf;
	size_t	 len;

	buf = dup_body(in, &len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), n);
	ck_assert_str_eq(buf, out);
	free(buf);
}

/*
 * Input shorter than the shortest pattern is skipped unscanned; a value
 * exactly as long as the shortest, or holding the longest, is still found.
 */
START_TEST(test_short_input)
{
	struct redact	*r;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, "0123456789abcdef", 16), 1);
	ck_assert_int_eq(redact_add(r, "abcdefgh", 8), 1);
	expect_apply(r, "abcdefgh", "[REDACTED]", 1);
	expect_apply(r, "abcdefg", "abcdefg", 0);
	expect_apply(r, "x0123456789abcdefx", "x[REDACTED]x", 1);
	redact_free(r);
}
END_TEST

/*
 * The sampled scan (only around 4-byte windows the filter knows) finds
 * exactly what a scan of every byte finds: random bodies over a small
 * alphabet that shares the values' bytes, with whole values, their
 * base64 and their hex dropped at random places (the edges, touching,
 * overlapping), and short sets and dense ones.
 */
START_TEST(test_sampled_same)
{
	static const char *const vals[] = { "k3y-Abc.123", "s3cr3t-tok3n-xyz" };
	struct redact	*r;
	char		*a, *b, form[64];
	size_t		 la, lb, len, at, n, i, k, bad = 0, marks = 0;
	int		 ma, mb, round;

	ck_assert_ptr_nonnull(r = redact_new());
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(redact_add(r, vals[i], strlen(vals[i])), 1);
	srandom(11);
	for (round = 0; round < 400; round++) {
		len = 1 + (size_t)random() % 600;
		a = malloc(len + 1);
		ck_assert_ptr_nonnull(a);
		for (i = 0; i < len; i++)
			a[i] = "k3y-Abc.12s3r-tonxyzazM2VjczN0"[random() % 30];
		a[len] = '\0';
		n = (size_t)random() % 5;
		for (k = 0; k < n; k++) {
			i = (size_t)random() % 2;
			switch (random() % 3) {
			case 0:
				snprintf(form, sizeof(form), "%s", vals[i]);
				break;
			case 1:
				EVP_EncodeBlock((unsigned char *)form,
				    (const unsigned char *)vals[i],
				    (int)strlen(vals[i]));
				break;
			default:
				for (at = 0; vals[i][at] != '\0'; at++)
					snprintf(form + 2 * at, 3, "%02x",
					    (unsigned char)vals[i][at]);
			}
			if (strlen(form) > len)
				continue;
			at = random() % 4 == 0 ? len - strlen(form) :
			    (size_t)random() % (len - strlen(form) + 1);
			if (random() % 4 == 0)
				at = 0;
			memcpy(a + at, form, strlen(form));
		}
		la = lb = len;
		b = malloc(len + 1);
		ck_assert_ptr_nonnull(b);
		memcpy(b, a, len + 1);
		ma = redact_apply_mode(r, &a, &la, REDACT_SAMPLED);
		mb = redact_apply_mode(r, &b, &lb, 0);
		if (ma != mb || la != lb || memcmp(a, b, la) != 0)
			bad++;
		marks += ma > 0 ? (size_t)ma : 0;
		free(a);
		free(b);
	}
	ck_assert_uint_eq(bad, 0);
	/* The bodies did hold occurrences. */
	ck_assert_uint_gt(marks, 200);
	redact_free(r);
}
END_TEST

START_TEST(test_overlaps)
{
	struct redact	*r;
	char		*buf, *orig;
	size_t		 len;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, "aaaabbbbcccc", 12), 1);
	ck_assert_int_eq(redact_add(r, "bbbbccccdddd", 12), 1);
	ck_assert_int_eq(redact_add(r, "sk_live_123456", 14), 1);
	ck_assert_int_eq(redact_add(r, "Bearer sk_live_123456", 21), 1);

	/* Overlapping occurrences of two values: one span. */
	buf = dup_body("<aaaabbbbccccdddd>", &len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), 1);
	ck_assert_str_eq(buf, "<[REDACTED]>");
	free(buf);
	/* Adjacent ones stay two. */
	buf = dup_body("aaaabbbbccccbbbbccccdddd", &len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), 2);
	ck_assert_str_eq(buf, "[REDACTED][REDACTED]");
	free(buf);
	/* A value inside a longer one: the longer one wins. */
	buf = dup_body("Authorization: Bearer sk_live_123456\r\n", &len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), 1);
	ck_assert_str_eq(buf, "Authorization: [REDACTED]\r\n");
	free(buf);
	/* Repeats, at the edges, and a partial prefix left alone. */
	buf = dup_body("sk_live_123456sk_live_12345 sk_live_123456", &len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), 2);
	ck_assert_str_eq(buf, "[REDACTED]sk_live_12345 [REDACTED]");
	free(buf);
	/* Nothing found: the very same buffer, untouched. */
	buf = orig = dup_body("nothing to see", &len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), 0);
	ck_assert_ptr_eq(buf, orig);
	ck_assert_str_eq(buf, "nothing to see");
	free(buf);
	len = 0;
	buf = NULL;
	ck_assert_int_eq(redact_apply(r, &buf, &len), 0);
	redact_free(r);
}
END_TEST

/* Binary values and bodies: NUL and high bytes are bytes like any other. */
START_TEST(test_binary)
{
	static const char	 v[] = "\0\xff\x80key\0\x01x";
	static const char	 body[] = "\0\0\0\xff\x80key\0\x01x\xff";
	struct redact		*r;
	char			*buf;
	size_t			 len = sizeof(body) - 1;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, v, sizeof(v) - 1), 1);
	buf = malloc(len);
	memcpy(buf, body, len);
	ck_assert_int_eq(redact_apply(r, &buf, &len), 1);
	ck_assert_uint_eq(len, 2 + 10 + 1);
	ck_assert(memcmp(buf, "\0\0[REDACTED]\xff", len) == 0);
	free(buf);
	redact_free(r);
}
END_TEST

static double
cpu_seconds(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
span_cmp(const void *a, const void *b)
{
	const size_t	*x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/*
 * A naive redaction of vals' raw bytes in body, for reference: every
 * occurrence found with memmem, overlapping ones merged into one mark,
 * touching ones not.  Its result is malloc'd, its length in *outlen, the
 * number of marks in *marks.
 */
static char *
naive_redact(const char *body, size_t len, char (*vals)[41], size_t nvals,
    size_t *outlen, int *marks)
{
	size_t	(*sp)[2] = NULL, nsp = 0, cap = 0, i, o, prev, start, end;
	const char *p, *q;
	char	*out;

	for (i = 0; i < nvals; i++)
		for (p = body; (q = memmem(p, len - (size_t)(p - body),
		    vals[i], 40)) != NULL; p = q + 1) {
			if (nsp == cap) {
				cap = cap ? 2 * cap : 16;
				sp = reallocarray(sp, cap, sizeof(*sp));
				ck_assert_ptr_nonnull(sp);
			}
			sp[nsp][0] = (size_t)(q - body);
			sp[nsp++][1] = (size_t)(q - body) + 40;
		}
	if (nsp > 0)
		qsort(sp, nsp, sizeof(*sp), span_cmp);
	out = malloc(len + 1);
	ck_assert_ptr_nonnull(out);
	*marks = 0;
	for (i = 0, o = 0, prev = 0; i < nsp; ) {
		start = sp[i][0];
		end = sp[i][1];
		for (i++; i < nsp && sp[i][0] < end; i++)
			if (sp[i][1] > end)
				end = sp[i][1];
		memcpy(out + o, body + prev, start - prev);
		o += start - prev;
		memcpy(out + o, REDACT_MARK, strlen(REDACT_MARK));
		o += strlen(REDACT_MARK);
		prev = end;
		(*marks)++;
	}
	memcpy(out + o, body + prev, len - prev);
	*outlen = o + len - prev;
	free(sp);
	return out;
}

/* What redacting a body cost: the automaton's steps, and CPU seconds. */
struct cost {
	size_t	 steps;
	double	 secs;	/* printed, never asserted on */
};

/*
 * Redact a copy of body (the call may replace it) and expect what the
 * naive reference makes of vals[0..nvals-1]: the same marks, the same
 * bytes.
 */
static struct cost
apply_checked(struct redact *r, const char *body, size_t len,
    char (*vals)[41], size_t nvals, int *marks)
{
	struct cost	 c;
	char		*buf, *want;
	size_t		 n = len, wantlen, steps;
	int		 wantmarks;

	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, body, len);
	steps = redact_steps(r);
	c.secs = cpu_seconds();
	*marks = redact_apply(r, &buf, &n);
	c.secs = cpu_seconds() - c.secs;
	c.steps = redact_steps(r) - steps;
	want = naive_redact(body, len, vals, nvals, &wantlen, &wantmarks);
	ck_assert_int_eq(*marks, wantmarks);
	ck_assert_uint_eq(n, wantlen);
	ck_assert_msg(memcmp(buf, want, n) == 0, "not what the naive "
	    "redaction makes");
	free(want);
	free(buf);
	return c;
}

/*
 * The search stays linear: body costs at most perbyte steps a byte (plus
 * a run-in), and the whole of it at most ten times what its first tenth
 * costs (plus one run-in a piece scanned side by side).
 */
static void
expect_linear(struct redact *r, const char *body, size_t len,
    char (*vals)[41], size_t nvals, size_t perbyte, const char *what)
{
	struct cost	 c1, c10;
	int		 m;

	c10 = apply_checked(r, body, len, vals, nvals, &m);
	c1 = apply_checked(r, body, len / 10, vals, nvals, &m);
	printf("redact: %s: %.2f steps a byte, %zu for a tenth, %zu in all\n",
	    what, (double)c10.steps / len, c1.steps, c10.steps);
	ck_assert_msg(c10.steps <= perbyte * len + 1024, "%s: %zu steps for "
	    "%zu bytes", what, c10.steps, len);
	ck_assert_msg(c10.steps <= 10 * c1.steps + 1024, "%s: 10x the bytes "
	    "took %zu steps vs %zu", what, c10.steps, c1.steps);
}

#define PERF_BODY	(10 * 1024 * 1024)
#define PERF_VALUES	50

/*
 * 50 values (about 400 patterns) on a 10 MiB JSON body with a few
 * occurrences: prints MB/s (a figure, never asserted on: benchmarks
 * measure speed).  What it asserts is the redaction (against a naive
 * one) and the automaton's step count (redact_steps): a step or so a
 * byte, and ten times the bytes ten times the steps, on plain bodies, on
 * bodies with many scattered occurrences, and on one built to keep the
 * automaton deep.
 */
START_TEST(test_throughput)
{
	struct redact	*r, *r2;
	char		 vals[PERF_VALUES][41], two[2][41], val[64], *body;
	size_t		 i, o;
	struct cost	 c;
	int		 v, m;

	ck_assert_ptr_nonnull(r = redact_new());
	srandom(7);
	for (v = 0; v < PERF_VALUES; v++) {
		for (i = 0; i < 40; i++)
			vals[v][i] = "abcdefghijklmnopqrstuvwxyz0123456789_-"
			    [random() % 38];
		vals[v][40] = '\0';
		ck_assert_int_eq(redact_add(r, vals[v], 40), 1);
	}
	printf("redact: %d values, %zu patterns\n", PERF_VALUES,
	    redact_npatterns(r));
	body = malloc(PERF_BODY);
	ck_assert_ptr_nonnull(body);
	for (o = 0; o < PERF_BODY; ) {
		i = (size_t)snprintf(val, sizeof(val),
		    "{\"id\":%ld,\"name\":\"item-%ld\",\"ok\":true},",
		    random() % 100000, random());
		if (o + i > PERF_BODY)
			i = PERF_BODY - o;
		memcpy(body + o, val, i);
		o += i;
	}
	/* Three occurrences of the last value. */
	for (i = 0; i < 3; i++)
		memcpy(body + (i + 1) * (PERF_BODY / 4), vals[PERF_VALUES - 1],
		    40);
	c = apply_checked(r, body, PERF_BODY, vals, PERF_VALUES, &m);
	ck_assert_int_eq(m, 3);
	printf("redact: JSON body %.1f MB in %.3f s CPU: %.0f MB/s\n",
	    PERF_BODY / 1e6, c.secs, PERF_BODY / 1e6 / c.secs);
	expect_linear(r, body, PERF_BODY, vals, PERF_VALUES, 2, "JSON body");

	/* What a call with an api_key header typically has: two values. */
	ck_assert_ptr_nonnull(r2 = redact_new());
	ck_assert_int_eq(redact_add(r2, vals[0], 40), 1);
	memcpy(val, "Bearer ", 7);
	memcpy(val + 7, vals[0], 40);
	ck_assert_int_eq(redact_add(r2, val, 47), 1);
	memcpy(two[0], vals[0], sizeof(two[0]));
	c = apply_checked(r2, body, PERF_BODY, two, 1, &m);
	ck_assert_int_eq(m, 0);
	printf("redact: 2 values (%zu patterns), same body in %.3f s CPU: "
	    "%.0f MB/s\n", redact_npatterns(r2), c.secs,
	    PERF_BODY / 1e6 / c.secs);
	/* The sampled scan: well under a step a byte. */
	ck_assert_msg(c.steps < PERF_BODY / 4, "%zu steps", c.steps);
	/*
	 * Twice: the naive reference just run over 10 MiB pushed the set's
	 * tables out of the cache, and a call finds them warm.
	 */
	(void)apply_checked(r2, body, 8704, two, 1, &m);
	c = apply_checked(r2, body, 8704, two, 1, &m);
	printf("redact: 2 values, first 8.5 KiB in %.1f us CPU\n",
	    c.secs * 1e6);
	/* The value every 4 KiB: a scanned stretch each, no more. */
	for (o = 1000; o + 40 <= PERF_BODY; o += 4096)
		memcpy(body + o, vals[0], 40);
	expect_linear(r2, body, PERF_BODY, two, 1, 1, "2 values, one every "
	    "4 KiB");
	redact_free(r2);

	/* The worst shape: every byte continues a pattern's prefix. */
	ck_assert_int_eq(redact_add(r, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 30),
	    1);
	ck_assert_int_eq(redact_add(r, "aaaaaaaac", 9), 1);
	memset(body, 'a', PERF_BODY);
	c = apply_checked(r, body, PERF_BODY, vals, PERF_VALUES, &m);
	printf("redact: 'aaa...' body in %.3f s CPU: %.0f MB/s\n", c.secs,
	    PERF_BODY / 1e6 / c.secs);
	ck_assert_int_eq(m, 0);
	expect_linear(r, body, PERF_BODY, vals, PERF_VALUES, 2, "'aaa...' "
	    "body");
	free(body);
	redact_free(r);
}
END_TEST

/* Every occurrence in a large body is found (marks counted, text checked). */
START_TEST(test_many_occurrences)
{
	struct redact	*r;
	const char	*v = "tok_ABCDEFGH";
	char		*buf;
	size_t		 len, i, bad, n = 100000;
	int		 marks;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, v, strlen(v)), 1);
	len = n * (strlen(v) + 1);
	buf = malloc(len);
	for (i = 0; i < n; i++) {
		memcpy(buf + i * 13, v, 12);
		buf[i * 13 + 12] = ',';
	}
	marks = redact_apply(r, &buf, &len);
	ck_assert_int_eq(marks, (int)n);
	ck_assert_uint_eq(len, n * 11);
	/* One assertion: Check records every ck_assert it passes. */
	for (i = 0, bad = 0; i < n; i++)
		if (memcmp(buf + i * 11, "[REDACTED],", 11) != 0)
			bad++;
	ck_assert_uint_eq(bad, 0);
	free(buf);
	redact_free(r);
}
END_TEST

/*
 * Large bodies are scanned in four pieces side by side: occurrences that
 * straddle a piece boundary, or end right at one, are found once.
 */
START_TEST(test_piece_boundaries)
{
	struct redact	*r;
	const char	*v = "Zq9_secret_x";
	size_t		 vlen = strlen(v), blen = 65536, piece, len, at, k;
	char		*buf, *want;
	int		 marks;

	ck_assert_ptr_nonnull(r = redact_new());
	ck_assert_int_eq(redact_add(r, v, vlen), 1);
	piece = blen / 4;
	for (k = 1; k < 4; k++)
		for (at = k * piece - vlen; at <= k * piece; at++) {
			len = blen;
			buf = malloc(len);
			memset(buf, '.', len);
			/* One at the boundary, one at each end of the body. */
			memcpy(buf, v, vlen);
			memcpy(buf + at, v, vlen);
			memcpy(buf + len - vlen, v, vlen);
			marks = redact_apply(r, &buf, &len);
			ck_assert_msg(marks == 3, "at %zu: %d marks", at,
			    marks);
			want = malloc(len);
			memset(want, '.', len);
			memcpy(want, REDACT_MARK, 10);
			memcpy(want + at - vlen + 10, REDACT_MARK, 10);
			memcpy(want + len - 10, REDACT_MARK, 10);
			ck_assert_uint_eq(len, blen - 3 * (vlen - 10));
			ck_assert_msg(memcmp(buf, want, len) == 0, "at %zu",
			    at);
			free(want);
			free(buf);
		}
	redact_free(r);
}
END_TEST

/*
 * The cache: the same values in the same order get the same compiled set,
 * which redacts as a new one would; any other list (other values, another
 * order, the same bytes cut differently) gets its own; least recently used
 * sets go past REDACT_CACHE_MAX or the budget, all on clear.
 */
START_TEST(test_cache)
{
	const char		*ab[2] = { "first-secret-01", "second-secret-2" };
	const char		*ba[2] = { "second-secret-2", "first-secret-01" };
	const char		*cut[2] = { "first-secret-01second", "-secret-2" };
	const char		*last[2] = { "first-secret-01", "second-secret-3" };
	size_t			 lab[2] = { 15, 15 }, lcut[2] = { 21, 9 };
	struct redact_cache	*rc;
	struct redact		*r1, *r2, *keep = NULL;
	char			 v[64][16];
	const char		*vp;
	const char		*one[2] = { "A", "B" };
	char			 xb[2];
	const char		*other[2] = { "", xb };
	size_t			 l11[2] = { 1, 1 }, l02[2] = { 0, 2 };
	unsigned char		 enc[sizeof(size_t)];
	size_t			 vl, i;
	int			 fired;

	ck_assert_ptr_nonnull(rc = redact_cache_new(1 << 20));
	ck_assert_ptr_nonnull(r1 = redact_cache_get(rc, ab, lab, 2));
	expect_redacted(r1, "second-secret-2", 15, "cached set, second");
	ck_assert_ptr_eq(redact_cache_get(rc, ab, lab, 2), r1);
	expect_redacted(r1, "Zmlyc3Qtc2VjcmV0LTAx", 20, "cached, base64");
	/* A hit is compared where the values lie: no key built. */
	oom_arm(0);
	r2 = redact_cache_get(rc, ab, lab, 2);
	fired = oom_disarm();
	ck_assert_ptr_eq(r2, r1);
	ck_assert_int_eq(fired, 0);
	/* The same lengths, a byte apart at the end: another set. */
	ck_assert_ptr_nonnull(r2 = redact_cache_get(rc, last, lab, 2));
	ck_assert_ptr_ne(r2, r1);
	/*
	 * The lengths are compared too: {"A", "B"} and {"", x "B"}, x the
	 * last byte of the first's second length, are keys of one size
	 * whose bytes differ only in their lengths.
	 */
	redact_cache_clear(rc);
	ck_assert_ptr_nonnull(r1 = redact_cache_get(rc, one, l11, 2));
	memcpy(enc, &l11[1], sizeof(enc));
	xb[0] = (char)enc[sizeof(enc) - 1];
	xb[1] = 'B';
	ck_assert_ptr_ne(redact_cache_get(rc, other, l02, 2), r1);
	redact_cache_clear(rc);
	ck_assert_ptr_nonnull(r1 = redact_cache_get(rc, ab, lab, 2));
	redact_cache_done(rc);
	ck_assert_uint_eq(redact_cache_count(rc), 1);
	ck_assert_ptr_nonnull(r2 = redact_cache_get(rc, ba, lab, 2));
	ck_assert_ptr_ne(r2, r1);
	ck_assert_ptr_nonnull(r2 = redact_cache_get(rc, cut, lcut, 2));
	ck_assert_ptr_ne(r2, r1);
	ck_assert_ptr_nonnull(r2 = redact_cache_get(rc, ab, lab, 1));
	ck_assert_ptr_ne(r2, r1);
	ck_assert_uint_eq(redact_cache_count(rc), 4);
	redact_cache_clear(rc);
	ck_assert_uint_eq(redact_cache_count(rc), 0);

	/* One more than it keeps: the least recently used goes. */
	vl = 15;
	for (i = 0; i < 64; i++) {
		snprintf(v[i], sizeof(v[i]), "value-number-%02zu", i);
		vp = v[i];
		ck_assert_ptr_nonnull(r1 = redact_cache_get(rc, &vp, &vl, 1));
		if (i == 0)
			keep = r1;
	}
	ck_assert_uint_eq(redact_cache_count(rc), 64);
	vp = v[0];
	ck_assert_ptr_eq(redact_cache_get(rc, &vp, &vl, 1), keep);
	vp = "another-value-1";
	ck_assert_ptr_nonnull(redact_cache_get(rc, &vp, &vl, 1));
	ck_assert_uint_eq(redact_cache_count(rc), 64);
	vp = v[0];
	ck_assert_ptr_eq(redact_cache_get(rc, &vp, &vl, 1), keep);
	redact_cache_free(rc);

	/* Over the budget: the set goes once it has been used. */
	ck_assert_ptr_nonnull(rc = redact_cache_new(1));
	ck_assert_ptr_nonnull(r1 = redact_cache_get(rc, ab, lab, 2));
	expect_redacted(r1, "first-secret-01", 15, "uncached set");
	ck_assert_uint_eq(redact_cache_count(rc), 1);
	redact_cache_done(rc);
	ck_assert_uint_eq(redact_cache_count(rc), 0);
	redact_cache_free(rc);
}
END_TEST

const char *check_valgrind_tcase = "unit";

Suite *
check_suite(void)
{
	Suite	*s = suite_create("redact");
	TCase	*tc;

	tc = tcase_create("unit");
	tcase_add_test(tc, test_forms);
	tcase_add_test(tc, test_query_forms);
	tcase_add_test(tc, test_embedded_base64);
	tcase_add_test(tc, test_min_len);
	tcase_add_test(tc, test_short_input);
	tcase_add_test(tc, test_sampled_same);
	tcase_add_test(tc, test_overlaps);
	tcase_add_test(tc, test_binary);
	tcase_add_test(tc, test_many_occurrences);
	tcase_add_test(tc, test_piece_boundaries);
	tcase_add_test(tc, test_cache);
	suite_add_tcase(s, tc);

	/*
	 * 10 MiB bodies: not under valgrind, which is 50 times slower.  It
	 * asserts on step counts only, the same there (the MB/s it prints
	 * are figures).
	 */
	tc = tcase_create("throughput");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_throughput);
	suite_add_tcase(s, tc);
	return s;
}
