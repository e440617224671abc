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

int
api_request_id(char out[API_REQID_LEN])
{
	unsigned char	 b[16];
	size_t		 got = 0;
	ssize_t		 n;

	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	/* Blocking getrandom: never a predictable id early after boot. */
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, API_REQID_LEN,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
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
    const char *reqid)
{
	struct json_object	*o, *e;
	char			*s = NULL;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((e = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(o, "success", json_object_new_boolean(0));
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "detail", json_object_new_string(detail));
	json_object_object_add(e, "scope", json_object_new_string(scope));
	json_object_object_add(e, "params", json_object_new_array());
	json_object_object_add(o, "errors", e);
	json_object_object_add(o, "request_id", json_object_new_string(reqid));
	/* json-c escapes quotes and control bytes of a client-derived detail. */
	s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(o);
	return s;
}

static double
api_elapsed_ms(const struct api_ctx *a)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - a->a_start.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - a->a_start.tv_nsec) / 1e6;
}

int
api_reply(struct evbuffer *out, const struct api_ctx *a, int status,
    const char *ctype, const void *body, size_t len)
{
	char		 ct[256], rid[80], st[128], ctiming[512];
	const char	*hdrs[8];
	double		 ms = api_elapsed_ms(a);
	int		 n = 0;

	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	snprintf(rid, sizeof(rid), "X-Request-ID: %s", a->a_reqid);
	snprintf(st, sizeof(st), "Server-Timing: total;dur=%.1f;desc=\"Total\"",
	    ms);
	/* Nothing external happened: every millisecond is internal. */
	snprintf(ctiming, sizeof(ctiming), "X-Connector-Timing: "
	    "{\"request_id\":\"%s\",\"total_ms\":%.1f,\"internal_ms\":%.1f,"
	    "\"external_ms\":0,\"breakdown\":{\"setup_ms\":%.1f,"
	    "\"transform_ms\":0,\"cache_ms\":0,\"http_request_ms\":0},"
	    "\"cache_hit\":false}", a->a_reqid, ms, ms, ms);
	hdrs[n++] = ct;
	hdrs[n++] = rid;
	/* A browser must not sniff an error body into HTML. */
	hdrs[n++] = "X-Content-Type-Options: nosniff";
	/* widgetd's own answers are per request; caching happens upstream. */
	hdrs[n++] = "Cache-Control: no-store";
	hdrs[n++] = st;
	hdrs[n++] = ctiming;
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
api_reply_error(struct evbuffer *out, const struct api_ctx *a, int status,
    const char *code, const char *detail)
{
	char	*body;
	int	 r;

	if (code == NULL)
		code = api_status_code(status);
	if ((body = api_error_body(code, detail, "Request", a->a_reqid)) == NULL)
		return -1;
	r = api_reply(out, a, status, "application/json", body, strlen(body));
	free(body);
	return r;
}
