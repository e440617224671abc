/*
 * api.c — error envelope, request ids and common response headers.
 */
#include "build.h"

#include <sys/random.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "api.h"
#include "cors.h"
#include "http.h"
#include "jsonpos.h"

int
api_init(void)
{
	struct json_object	*o;
	char			 id[API_REQID_LEN];

	/*
	 * Touch json-c's serialiser and the random source once, so neither
	 * opens anything lazily after the sandbox forbids it.
	 */
	if ((o = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(o, "x", json_object_new_double(1.5));
	(void)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	json_object_put(o);
	return api_request_id(id);
}

/*
 * Request ids: 16 random bytes each, taken from a pool that getrandom(2)
 * refills 4 KiB at a time (blocking: never a predictable id early after
 * boot).  One system call per 256 requests, not one per request.
 */
static unsigned char	 api_pool[4096];
static size_t		 api_pool_left;

int
api_random(void *buf, size_t len)
{
	unsigned char	*b;
	size_t		 got = 0;
	ssize_t		 n;

	if (len > 64)
		return -1;
	if (api_pool_left < len) {
		while (got < sizeof(api_pool)) {
			n = getrandom(api_pool + got, sizeof(api_pool) - got, 0);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			got += (size_t)n;
		}
		api_pool_left = sizeof(api_pool);
	}
	b = api_pool + sizeof(api_pool) - api_pool_left;
	api_pool_left -= len;
	memcpy(buf, b, len);
	/* Used bytes do not linger. */
	memset(b, 0, len);
	return 0;
}

int
api_request_id(char out[API_REQID_LEN])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 b[16];
	size_t			 i, o = 0;

	if (api_random(b, sizeof(b)) == -1)
		return -1;
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

void
api_ctx_init(struct api_ctx *a)
{
	memset(a, 0, sizeof(*a));
	if (api_request_id(a->a_reqid) == -1)
		snprintf(a->a_reqid, sizeof(a->a_reqid), "%s",
		    "00000000-0000-4000-8000-000000000000");
	clock_gettime(CLOCK_MONOTONIC, &a->a_start);
}

/* A fixed piece, then a quoted string; with out NULL, only the length. */
static size_t
api_json_put(char *out, const char *lit, const char *str)
{
	size_t	 n = strlen(lit);

	if (out != NULL)
		memcpy(out, lit, n);
	if (str == NULL)
		return n;
	if (out != NULL)
		out[n] = '"';
	n++;
	/* As json-c wrote it, with JSON_C_TO_STRING_NOSLASHESCAPE. */
	n += jpos_escape(out != NULL ? out + n : NULL, str, strlen(str), 0);
	if (out != NULL)
		out[n] = '"';
	return n + 1;
}

/*
 * The envelope of SPEC §5, written directly: every refusal has one, and
 * building it as json-c objects took a tenth of a 404's CPU.
 */
char *
api_error_body(const char *code, const char *detail, const char *scope,
    const char *const *params, const char *reqid)
{
	char	*s = NULL, *o;
	size_t	 i, n;
	int	 pass;

	if (scope == NULL)
		scope = "";
	if (reqid == NULL)
		reqid = "";
	for (pass = 0; pass < 2; pass++) {
		o = s;
		n = api_json_put(o, "{\"success\":false,\"errors\":{", NULL);
		if (code != NULL)
			n += api_json_put(o != NULL ? o + n : NULL,
			    "\"code\":", code);
		if (detail != NULL)
			n += api_json_put(o != NULL ? o + n : NULL,
			    code != NULL ? ",\"detail\":" : "\"detail\":",
			    detail);
		n += api_json_put(o != NULL ? o + n : NULL,
		    code != NULL || detail != NULL ? ",\"scope\":" :
		    "\"scope\":", scope);
		n += api_json_put(o != NULL ? o + n : NULL, ",\"params\":[",
		    NULL);
		for (i = 0; params != NULL && params[i] != NULL; i++)
			n += api_json_put(o != NULL ? o + n : NULL,
			    i > 0 ? "," : "", params[i]);
		n += api_json_put(o != NULL ? o + n : NULL,
		    "]},\"request_id\":", reqid);
		n += api_json_put(o != NULL ? o + n : NULL, "}", NULL);
		if (pass == 0 && (s = malloc(n + 1)) == NULL)
			return NULL;
	}
	s[n] = '\0';
	return s;
}

double
api_ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

double
api_elapsed_ms(const struct api_ctx *a)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return api_ms_between(&a->a_start, &now);
}

/*
 * Header lines are built without snprintf: every answer writes five, with
 * eleven numbers.  An api_str truncates as snprintf would, NUL-terminated.
 */
struct api_str {
	char	*s_buf;
	size_t	 s_cap;
	size_t	 s_len;
};

static void
api_str_init(struct api_str *s, char *buf, size_t cap)
{
	s->s_buf = buf;
	s->s_cap = cap;
	s->s_len = 0;
	buf[0] = '\0';
}

static void
api_str_addn(struct api_str *s, const char *p, size_t n)
{
	if (n > s->s_cap - 1 - s->s_len)
		n = s->s_cap - 1 - s->s_len;
	memcpy(s->s_buf + s->s_len, p, n);
	s->s_len += n;
	s->s_buf[s->s_len] = '\0';
}

static void
api_str_add(struct api_str *s, const char *p)
{
	api_str_addn(s, p, strlen(p));
}

/* Milliseconds with one decimal, as "%.1f" writes them. */
static void
api_str_ms(struct api_str *s, double ms)
{
	char			 d[32];
	unsigned long long	 v;
	double			 t = rint(ms * 10);
	size_t			 n = sizeof(d);

	if (!(t > -1e15 && t < 1e15)) {
		snprintf(d, sizeof(d), "%.1f", ms);
		api_str_add(s, d);
		return;
	}
	if (t < 0)
		api_str_addn(s, "-", 1);
	v = (unsigned long long)(t < 0 ? -t : t);
	d[--n] = '0' + v % 10;
	d[--n] = '.';
	v /= 10;
	do {
		d[--n] = '0' + v % 10;
		v /= 10;
	} while (v > 0);
	api_str_addn(s, d + n, sizeof(d) - n);
}

/* An unsigned number in decimal. */
static void
api_str_uint(struct api_str *s, unsigned int v)
{
	char	 d[16];
	size_t	 n = sizeof(d);

	do {
		d[--n] = '0' + v % 10;
		v /= 10;
	} while (v > 0);
	api_str_addn(s, d + n, sizeof(d) - n);
}

/* A JSON string of printable text (a host, a short error). */
static void
api_json_str(struct api_str *s, const char *p)
{
	/* Cut short, it still ends with its quote. */
	api_str_addn(s, "\"", 1);
	for (; *p != '\0' && s->s_len + 3 < s->s_cap; p++) {
		if (*p == '"' || *p == '\\') {
			api_str_addn(s, "\\", 1);
			api_str_addn(s, p, 1);
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			api_str_addn(s, "?", 1);
		else
			api_str_addn(s, p, 1);
	}
	api_str_addn(s, "\"", 1);
}

/* A Server-Timing desc: a quoted string without quotes or backslashes. */
static void
api_timing_desc(struct api_str *s, const char *p)
{
	for (; *p != '\0'; p++)
		api_str_addn(s, (*p == '"' || *p == '\\' ||
		    (unsigned char)*p < 0x20) ? "?" : p, 1);
}

/*
 * name and a JSON string, as the old fixed buffers cut them: the string
 * at most 299 bytes quoted, the whole member at most 399.
 */
static void
api_json_field(struct api_str *s, const char *name, const char *value)
{
	char		 q[300], f[400];
	struct api_str	 qs, fs;

	api_str_init(&qs, q, sizeof(q));
	api_json_str(&qs, value);
	api_str_init(&fs, f, sizeof(f));
	api_str_add(&fs, name);
	api_str_add(&fs, q);
	api_str_add(s, f);
}

/* An evbuffer's text as a malloc'd string; NULL on ENOMEM. */
static char *
api_evbuffer_str(struct evbuffer *b)
{
	size_t	 len = evbuffer_get_length(b);
	char	*s;

	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	evbuffer_copyout(b, s, len);
	s[len] = '\0';
	return s;
}

/*
 * A composite connector's timing headers (platform-docs §18): a
 * step.<name> entry per step that ran, then total; X-Connector-Timing has
 * the keys of every answer and a "steps" array with each step's figures.
 * The lines are malloc'd; -1 on ENOMEM.
 */
static int
api_timing_steps(const struct api_ctx *a, double total, double internal,
    char **stp, char **ctp)
{
	struct evbuffer		*st, *ct;
	const struct api_step	*s;
	struct api_str		 b;
	char			 name[300], host[600];
	size_t			 i;
	int			 hit = 1, rv = -1;

	*stp = *ctp = NULL;
	st = evbuffer_new();
	ct = evbuffer_new();
	if (st == NULL || ct == NULL)
		goto out;
	evbuffer_add_printf(st, "Server-Timing: ");
	for (i = 0; i < a->a_nsteps; i++) {
		s = &a->a_steps[i];
		api_str_init(&b, name, sizeof(name));
		api_timing_desc(&b, s->as_name);
		evbuffer_add_printf(st, "step.%s;dur=%.1f;desc=\"Step: %s\", ",
		    name, s->as_ms, name);
		hit = hit && s->as_cache_hit;
	}
	evbuffer_add_printf(st, "total;dur=%.1f;desc=\"Total\"", total);
	evbuffer_add_printf(ct, "X-Connector-Timing: {\"request_id\":\"%s\","
	    "\"total_ms\":%.1f,\"internal_ms\":%.1f,\"external_ms\":%.1f,"
	    "\"breakdown\":{\"setup_ms\":%.1f,\"transform_ms\":%.1f,"
	    "\"cache_ms\":%.1f,\"http_request_ms\":%.1f},\"cache_hit\":%s",
	    a->a_reqid, total, internal, a->a_external_ms, a->a_setup_ms,
	    a->a_transform_ms, a->a_cache_ms, a->a_external_ms,
	    hit ? "true" : "false");
	if (a->a_external_host != NULL) {
		api_str_init(&b, host, sizeof(host));
		api_json_str(&b, a->a_external_host);
		evbuffer_add_printf(ct, ",\"external_host\":%s", host);
	}
	if (a->a_timeout)
		evbuffer_add_printf(ct, ",\"timeout\":true");
	if (a->a_error != NULL) {
		api_str_init(&b, host, sizeof(host));
		api_json_str(&b, a->a_error);
		evbuffer_add_printf(ct, ",\"error\":%s", host);
	}
	/* The trace id: characters 3 to 35 of the traceparent. */
	if (a->a_trace[0] != '\0')
		evbuffer_add_printf(ct, ",\"trace_id\":\"%.32s\"",
		    a->a_trace + 3);
	evbuffer_add_printf(ct, ",\"steps\":[");
	for (i = 0; i < a->a_nsteps; i++) {
		s = &a->a_steps[i];
		api_str_init(&b, name, sizeof(name));
		api_json_str(&b, s->as_name);
		evbuffer_add_printf(ct, "%s{\"name\":%s,\"index\":%zu,"
		    "\"total_ms\":%.1f,\"transform_ms\":%.1f,"
		    "\"external_ms\":%.1f,\"cache_hit\":%s", i > 0 ? "," : "",
		    name, i, s->as_ms, s->as_transform_ms, s->as_external_ms,
		    s->as_cache_hit ? "true" : "false");
		if (s->as_status != 0)
			evbuffer_add_printf(ct, ",\"status\":%d", s->as_status);
		if (s->as_host[0] != '\0') {
			api_str_init(&b, host, sizeof(host));
			api_json_str(&b, s->as_host);
			evbuffer_add_printf(ct, ",\"external_host\":%s", host);
		}
		if (s->as_timeout)
			evbuffer_add_printf(ct, ",\"timeout\":true");
		evbuffer_add_printf(ct, "}");
	}
	if (evbuffer_add_printf(ct, "]}") == -1)
		goto out;
	if ((*stp = api_evbuffer_str(st)) == NULL ||
	    (*ctp = api_evbuffer_str(ct)) == NULL)
		goto out;
	rv = 0;
out:
	if (rv == -1) {
		free(*stp);
		*stp = NULL;
	}
	if (st != NULL)
		evbuffer_free(st);
	if (ct != NULL)
		evbuffer_free(ct);
	return rv;
}

int
api_reply(struct evbuffer *out, const struct api_ctx *a, int status,
    const char *ctype, const char *const *extra, const void *body,
    size_t len)
{
	return api_reply_given(out, a, status, ctype, extra, body, len, NULL,
	    NULL);
}

int
api_reply_given(struct evbuffer *out, const struct api_ctx *a, int status,
    const char *ctype, const char *const *extra, const void *body,
    size_t len, http_release_fn release, void *arg)
{
	char		 ct[300], rid[80], st[800], ctiming[1400], cs[200];
	char		 cc[200], acao[API_ORIGIN_MAX + 40];
	char		*stepst = NULL, *stepct = NULL;
	char		 retry[32];
	const char	*hdrs[48];
	struct api_str	 s;
	double		 total = api_elapsed_ms(a), internal;
	int		 n = 0, i, r;

	internal = total - a->a_external_ms;
	if (internal < 0)
		internal = 0;
	if (ctype != NULL) {
		api_str_init(&s, ct, sizeof(ct));
		api_str_add(&s, "Content-Type: ");
		api_str_add(&s, ctype);
		hdrs[n++] = ct;
	}
	api_str_init(&s, rid, sizeof(rid));
	api_str_add(&s, "X-Request-ID: ");
	api_str_add(&s, a->a_reqid);
	hdrs[n++] = rid;
	/* A browser must not sniff an error body into HTML. */
	hdrs[n++] = "X-Content-Type-Options: nosniff";
	/* Answers are per user and per request; browsers must not keep them. */
	if (a->a_cache_control != NULL) {
		api_str_init(&s, cc, sizeof(cc));
		api_str_add(&s, "Cache-Control: ");
		api_str_add(&s, a->a_cache_control);
		hdrs[n++] = cc;
	} else
		hdrs[n++] = "Cache-Control: no-store";
	/* What a response says depends on the page's origin (cors.c). */
	hdrs[n++] = "Vary: Origin";
	if (a->a_origin[0] != '\0') {
		api_str_init(&s, acao, sizeof(acao));
		api_str_add(&s, "Access-Control-Allow-Origin: ");
		api_str_add(&s, a->a_origin);
		hdrs[n++] = acao;
		hdrs[n++] = "Access-Control-Allow-Credentials: true";
		hdrs[n++] = "Access-Control-Expose-Headers: "
		    CORS_EXPOSE_HEADERS;
	}
	if (a->a_nsteps > 0) {
		if (api_timing_steps(a, total, internal, &stepst,
		    &stepct) == -1) {
			if (release != NULL)
				release(body, len, arg);
			return -1;
		}
		hdrs[n++] = stepst;
		hdrs[n++] = stepct;
		goto extra;
	}

	api_str_init(&s, st, sizeof(st));
	api_str_add(&s, "Server-Timing: setup;dur=");
	api_str_ms(&s, a->a_setup_ms);
	api_str_add(&s, ";desc=\"Setup\", transform;dur=");
	api_str_ms(&s, a->a_transform_ms);
	api_str_add(&s, ";desc=\"Template\", cache;dur=");
	api_str_ms(&s, a->a_cache_ms);
	api_str_add(&s, a->a_cache == API_CACHE_HIT ?
	    ";desc=\"Cache Hit\", " : ";desc=\"Cache Miss\", ");
	if (a->a_external_host != NULL || a->a_timeout) {
		/* The host at most 299 bytes, as it always was. */
		char		 host[300];
		struct api_str	 h;

		api_str_add(&s, "external;dur=");
		api_str_ms(&s, a->a_external_ms);
		api_str_add(&s, ";desc=\"");
		api_str_init(&h, host, sizeof(host));
		api_timing_desc(&h, a->a_timeout ? "Timeout" :
		    a->a_external_host);
		api_str_add(&s, host);
		api_str_add(&s, "\", ");
	}
	api_str_add(&s, "total;dur=");
	api_str_ms(&s, total);
	api_str_add(&s, ";desc=\"Total\"");
	hdrs[n++] = st;

	api_str_init(&s, ctiming, sizeof(ctiming));
	api_str_add(&s, "X-Connector-Timing: {\"request_id\":\"");
	api_str_add(&s, a->a_reqid);
	api_str_add(&s, "\",\"total_ms\":");
	api_str_ms(&s, total);
	api_str_add(&s, ",\"internal_ms\":");
	api_str_ms(&s, internal);
	api_str_add(&s, ",\"external_ms\":");
	api_str_ms(&s, a->a_external_ms);
	api_str_add(&s, ",\"breakdown\":{\"setup_ms\":");
	api_str_ms(&s, a->a_setup_ms);
	api_str_add(&s, ",\"transform_ms\":");
	api_str_ms(&s, a->a_transform_ms);
	api_str_add(&s, ",\"cache_ms\":");
	api_str_ms(&s, a->a_cache_ms);
	api_str_add(&s, ",\"http_request_ms\":");
	api_str_ms(&s, a->a_external_ms);
	api_str_add(&s, a->a_cache == API_CACHE_HIT ? "},\"cache_hit\":true" :
	    "},\"cache_hit\":false");
	if (a->a_external_host != NULL)
		api_json_field(&s, ",\"external_host\":", a->a_external_host);
	if (a->a_timeout)
		api_str_add(&s, ",\"timeout\":true");
	if (a->a_error != NULL)
		api_json_field(&s, ",\"error\":", a->a_error);
	/* The trace id: characters 3 to 35 of the traceparent. */
	if (a->a_trace[0] != '\0') {
		api_str_add(&s, ",\"trace_id\":\"");
		api_str_addn(&s, a->a_trace + 3, strnlen(a->a_trace + 3, 32));
		api_str_add(&s, "\"");
	}
	api_str_add(&s, "}");
	hdrs[n++] = ctiming;
	if (a->a_cache_status != NULL) {
		api_str_init(&s, cs, sizeof(cs));
		api_str_add(&s, "Cache-Status: ");
		api_str_add(&s, a->a_cache_status);
		hdrs[n++] = cs;
	}
extra:
	/* A limit's refusal says when to come back (RFC 9110 10.2.3). */
	if (a->a_retry_after > 0) {
		api_str_init(&s, retry, sizeof(retry));
		api_str_add(&s, "Retry-After: ");
		api_str_uint(&s, (unsigned int)a->a_retry_after);
		hdrs[n++] = retry;
	}
	for (i = 0; extra != NULL && extra[i] != NULL && n < 47; i++)
		hdrs[n++] = extra[i];
	hdrs[n] = NULL;
	r = http_write_response_given(out, status, hdrs, body, len,
	    a->a_keepalive, a->a_head, release, arg);
	free(stepst);
	free(stepct);
	return r;
}

const char *
api_status_code(int status)
{
	switch (status) {
	case 400:
		return "BAD_REQUEST";
	case 404:
		return "NOT_FOUND";
	case 401:
		return "AUTHENTICATION_REQUIRED";
	case 403:
		return "FORBIDDEN";
	case 429:
		return "TOO_MANY_REQUESTS";
	case 422:
		return "UNPROCESSABLE";
	case 502:
		return "BAD_GATEWAY";
	case 405:
		return "METHOD_NOT_ALLOWED";
	case 408:
		return "REQUEST_TIMEOUT";
	case 413:
		return "PAYLOAD_TOO_LARGE";
	case 431:
		return "HEADERS_TOO_LARGE";
	case 503:
		return "UNAVAILABLE";
	case 505:
		return "HTTP_VERSION_NOT_SUPPORTED";
	default:
		return status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST";
	}
}

int
api_reply_envelope(struct evbuffer *out, const struct api_ctx *a, int status,
    const char *code, const char *detail, const char *scope,
    const char *const *params)
{
	char	*body;
	int	 r;

	/* Every envelope has a code a program can switch on. */
	if (code == NULL)
		code = api_status_code(status);
	if ((body = api_error_body(code, detail, scope, params,
	    a->a_reqid)) == NULL)
		return -1;
	r = api_reply(out, a, status, "application/json", NULL, body,
	    strlen(body));
	free(body);
	return r;
}

int
api_reply_error(struct evbuffer *out, const struct api_ctx *a, int status,
    const char *code, const char *detail)
{
	if (code == NULL)
		code = api_status_code(status);
	return api_reply_envelope(out, a, status, code, detail, "Request",
	    NULL);
}
