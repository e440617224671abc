/*
 * api.h — the browser-facing API's shared pieces: request ids, the error
 * envelope of SPEC §5 and the headers every response carries.  Routes for
 * connectors will live here too; the worker only moves bytes.
 */
#ifndef WIDGETD_API_H
#define WIDGETD_API_H

#include <stddef.h>
#include <time.h>

struct evbuffer;

#define API_REQID_LEN	37		/* UUID text + NUL */
#define API_HEALTH_PATH	"/widget-service/health"

/* What the worker knows about one request while answering it. */
struct api_ctx {
	char		 a_reqid[API_REQID_LEN];
	struct timespec	 a_start;	/* CLOCK_MONOTONIC, first byte parsed */
	int		 a_keepalive;	/* keep the connection after this */
	int		 a_head;	/* HEAD: headers only */
};

/* Warm up what the API uses (json-c, getrandom) before the sandbox. */
int		 api_init(void);
/* Fill ctx with a fresh request id and start time. */
void		 api_ctx_init(struct api_ctx *);
/* UUID version 4 from getrandom(2); -1 if the kernel gives no entropy. */
int		 api_request_id(char out[API_REQID_LEN]);

/* {"success":false,"errors":{…},"request_id":…}; malloc'd, NULL on ENOMEM. */
char		*api_error_body(const char *code, const char *detail,
		    const char *scope, const char *reqid);

/* A complete response with the common headers.  -1 on error. */
int		 api_reply(struct evbuffer *, const struct api_ctx *, int status,
		    const char *ctype, const void *body, size_t len);
int		 api_reply_error(struct evbuffer *, const struct api_ctx *,
		    int status, const char *code, const char *detail);
/* The envelope code for a status widgetd answers on its own. */
const char	*api_status_code(int status);

#endif
