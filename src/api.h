/*
 * api.h — the browser-facing API's shared pieces: request ids, the error
 * envelope of SPEC §5, and the headers every response carries (X-Request-ID,
 * Server-Timing, X-Connector-Timing, X-Content-Type-Options).
 */
#ifndef WIDGETD_API_H
#define WIDGETD_API_H

#include <stddef.h>
#include <time.h>

#include "http.h"		/* http_release_fn */

struct evbuffer;

#define API_REQID_LEN	37		/* UUID text + NUL */
#define API_PREFIX	"/widget-service"
#define API_HEALTH_PATH	API_PREFIX "/health"
#define API_ORIGIN_MAX	256		/* a CORS origin + NUL (cors.h) */

enum api_cache {
	API_CACHE_NONE,		/* no cache lookup happened */
	API_CACHE_MISS,
	API_CACHE_HIT
};

/*
 * One step of a composite connector, for the timing headers: a
 * "step.<name>" entry in Server-Timing and a row of X-Connector-Timing's
 * "steps" (platform-docs §18).
 */
struct api_step {
	const char	*as_name;
	struct timespec	 as_start;	/* CLOCK_MONOTONIC */
	double		 as_ms;		/* the whole step */
	double		 as_transform_ms;
	double		 as_external_ms;
	int		 as_status;	/* the upstream's; 0: none */
	int		 as_timeout;	/* the step's window ran out */
	int		 as_cache_hit;	/* answered by the response cache */
	char		 as_host[256];	/* "" when no upstream was tried */
};

/* What the worker knows about one request while answering it. */
struct api_ctx {
	char		 a_reqid[API_REQID_LEN];
	struct timespec	 a_start;	/* CLOCK_MONOTONIC, first byte parsed */
	int		 a_keepalive;	/* keep the connection after this */
	int		 a_head;	/* HEAD: headers only */
	/* Timings (platform-docs §18), in ms, filled as the request goes. */
	double		 a_setup_ms;
	double		 a_transform_ms;
	double		 a_cache_ms;
	double		 a_external_ms;
	const char	*a_external_host;	/* NULL: no upstream attempted */
	int		 a_timeout;		/* the upstream window ran out */
	enum api_cache	 a_cache;
	const char	*a_cache_status;	/* Cache-Status (RFC 9211),
						   NULL: none */
	const char	*a_error;		/* X-Connector-Timing "error" */
	/* A composite connector's steps that ran (0: not a composite's). */
	const struct api_step *a_steps;
	size_t		 a_nsteps;
	/* The request's Origin when its tenant lists it (cors.c), else "". */
	char		 a_origin[API_ORIGIN_MAX];
	/* Cache-Control of the answer; NULL: no-store. */
	const char	*a_cache_control;
	char		 a_trace[56];		/* traceparent sent upstream
						   (trace.h), "" for none */
	int		 a_retry_after;		/* > 0: Retry-After seconds */
};

/* Warm up what the API uses (json-c, the random source) before the sandbox. */
int		 api_init(void);
/* len (at most 64) random bytes from the pool; -1 if the kernel gives none. */
int		 api_random(void *buf, size_t len);
/* Fill ctx with a fresh request id and start time. */
void		 api_ctx_init(struct api_ctx *);
/*
 * A UUID version 4.  The bytes come from getrandom(2) a few kilobytes at a
 * time, not one system call per request.  -1 if the kernel gives none.
 */
int		 api_request_id(char out[API_REQID_LEN]);
/* Milliseconds since ctx started. */
double		 api_elapsed_ms(const struct api_ctx *);
double		 api_ms_between(const struct timespec *, const struct timespec *);

/*
 * {"success":false,"errors":{"code":…,"detail":…,"scope":…,"params":[…]},
 *  "request_id":…}: malloc'd, NULL on ENOMEM.  params is a NULL-terminated
 * list (or NULL); a NULL code or detail is left out (api_reply_envelope
 * puts the status's code, api_status_code, in place of a NULL code).
 */
char		*api_error_body(const char *code, const char *detail,
		    const char *scope, const char *const *params,
		    const char *reqid);

/*
 * A complete response with the common headers and the timing headers from
 * ctx.  ctype NULL: no Content-Type.  extra: NULL-terminated "Name: value"
 * lines or NULL.  -1 on error.
 */
int		 api_reply(struct evbuffer *, const struct api_ctx *, int status,
		    const char *ctype, const char *const *extra,
		    const void *body, size_t len);
/* The same with a body given away (http_write_response_given). */
int		 api_reply_given(struct evbuffer *, const struct api_ctx *,
		    int status, const char *ctype, const char *const *extra,
		    const void *body, size_t len, http_release_fn release,
		    void *arg);
/* widgetd's own answer: the envelope with scope "Request". */
int		 api_reply_error(struct evbuffer *, const struct api_ctx *,
		    int status, const char *code, const char *detail);
/* The envelope with every member chosen by the caller. */
int		 api_reply_envelope(struct evbuffer *, const struct api_ctx *,
		    int status, const char *code, const char *detail,
		    const char *scope, const char *const *params);
/* The envelope code for a status widgetd answers on its own. */
const char	*api_status_code(int status);

#endif
