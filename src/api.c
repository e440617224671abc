/*
 * api.c — error envelope, request ids and common response headers.
 */
#include "build.h"

#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "api.h"
#include "http.h"

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

char *
api_error_body(const char *code, const char *detail, const char *scope,
    const char *const *params, const char *reqid)
{
	struct json_object	*o, *e, *pa;
	char			*s = NULL;
	size_t			 i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((e = json_object_new_object()) == NULL ||
	    (pa = json_object_new_array()) == NULL) {
		json_object_put(e);
		goto out;
	}
	json_object_object_add(o, "success", json_object_new_boolean(0));
	if (code != NULL)
		json_object_object_add(e, "code", json_object_new_string(code));
	if (detail != NULL)
		json_object_object_add(e, "detail",
		    json_object_new_string(detail));
	json_object_object_add(e, "scope", json_object_new_string(scope));
	for (i = 0; params != NULL && params[i] != NULL; i++)
		json_object_array_add(pa, json_object_new_string(params[i]));
	json_object_object_add(e, "params", pa);
	json_object_object_add(o, "errors", e);
	json_object_object_add(o, "request_id", json_object_new_string(reqid));
	/* json-c escapes quotes and control bytes of a client-derived detail. */
	s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(o);
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

/* A JSON string of printable text (a host, a short error). */
static void
api_json_str(char *out, size_t len, const char *s)
{
	size_t	 o = 0;

	if (len < 3)
		return;
	out[o++] = '"';
	for (; *s != '\0' && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			out[o++] = '?';
		else
			out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* A Server-Timing desc: a quoted string without quotes or backslashes. */
static void
api_timing_desc(char *out, size_t len, const char *s)
{
	size_t	 o = 0;

	for (; *s != '\0' && o + 1 < len; s++)
		out[o++] = (*s == '"' || *s == '\\' ||
		    (unsigned char)*s < 0x20) ? '?' : *s;
	out[o] = '\0';
}

int
api_reply(struct evbuffer *out, const struct api_ctx *a, int status,
    const char *ctype, const char *const *extra, const void *body,
    size_t len)
{
	char		 ct[300], rid[80], st[800], ctiming[1400], host[300];
	char		 hjson[400], ejson[400], ext[400], tjson[64];
	char		 retry[32];
	const char	*hdrs[40];
	double		 total = api_elapsed_ms(a), internal;
	int		 n = 0, i;

	internal = total - a->a_external_ms;
	if (internal < 0)
		internal = 0;
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs[n++] = ct;
	}
	snprintf(rid, sizeof(rid), "X-Request-ID: %s", a->a_reqid);
	hdrs[n++] = rid;
	/* A browser must not sniff an error body into HTML. */
	hdrs[n++] = "X-Content-Type-Options: nosniff";
	/* Answers are per user and per request; browsers must not keep them. */
	hdrs[n++] = "Cache-Control: no-store";
	ext[0] = '\0';
	if (a->a_external_host != NULL || a->a_timeout) {
		api_timing_desc(host, sizeof(host), a->a_timeout ? "Timeout" :
		    a->a_external_host);
		snprintf(ext, sizeof(ext), "external;dur=%.1f;desc=\"%s\", ",
		    a->a_external_ms, host);
	}
	snprintf(st, sizeof(st), "Server-Timing: setup;dur=%.1f;desc=\"Setup\", "
	    "transform;dur=%.1f;desc=\"Template\", cache;dur=%.1f;desc=\"%s\", "
	    "%stotal;dur=%.1f;desc=\"Total\"", a->a_setup_ms, a->a_transform_ms,
	    a->a_cache_ms, a->a_cache == API_CACHE_HIT ? "Cache Hit" :
	    "Cache Miss", ext, total);
	hdrs[n++] = st;
	hjson[0] = ejson[0] = tjson[0] = '\0';
	/* The trace id: characters 3 to 35 of the traceparent. */
	if (a->a_trace[0] != '\0')
		snprintf(tjson, sizeof(tjson), ",\"trace_id\":\"%.32s\"",
		    a->a_trace + 3);
	if (a->a_external_host != NULL) {
		api_json_str(host, sizeof(host), a->a_external_host);
		snprintf(hjson, sizeof(hjson), ",\"external_host\":%s", host);
	}
	if (a->a_error != NULL) {
		api_json_str(host, sizeof(host), a->a_error);
		snprintf(ejson, sizeof(ejson), ",\"error\":%s", host);
	}
	snprintf(ctiming, sizeof(ctiming), "X-Connector-Timing: "
	    "{\"request_id\":\"%s\",\"total_ms\":%.1f,\"internal_ms\":%.1f,"
	    "\"external_ms\":%.1f,\"breakdown\":{\"setup_ms\":%.1f,"
	    "\"transform_ms\":%.1f,\"cache_ms\":%.1f,\"http_request_ms\":%.1f},"
	    "\"cache_hit\":%s%s%s%s%s}", a->a_reqid, total, internal,
	    a->a_external_ms, a->a_setup_ms, a->a_transform_ms, a->a_cache_ms,
	    a->a_external_ms, a->a_cache == API_CACHE_HIT ? "true" : "false",
	    hjson, a->a_timeout ? ",\"timeout\":true" : "", ejson, tjson);
	hdrs[n++] = ctiming;
	/* A limit's refusal says when to come back (RFC 9110 10.2.3). */
	if (a->a_retry_after > 0) {
		snprintf(retry, sizeof(retry), "Retry-After: %d",
		    a->a_retry_after);
		hdrs[n++] = retry;
	}
	for (i = 0; extra != NULL && extra[i] != NULL && n < 39; i++)
		hdrs[n++] = extra[i];
	hdrs[n] = NULL;
	return http_write_response(out, status, hdrs, body, len,
	    a->a_keepalive, a->a_head);
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
