/*
 * sdk_assets.c — serving the Widget SDK from memory (see sdk_assets.h).
 *
 * The files are static and public: they get an ETag and a Cache-Control
 * that lets browsers keep them, answer If-None-Match with 304, and carry
 * the same CORS headers as the API (a module script from another origin
 * loads in CORS mode).
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "api.h"
#include "cachehdr.h"
#include "sdk_assets.h"
#include "worker.h"

const struct sdk_asset *
sdk_asset_find(const char *name)
{
	size_t	 i;

	for (i = 0; sdk_assets[i].sa_name != NULL; i++)
		if (strcmp(sdk_assets[i].sa_name, name) == 0)
			return &sdk_assets[i];
	return NULL;
}

int
sdk_assets_route(struct conn *c)
{
	const struct http_request	*r = c->c_req;
	const struct sdk_asset		*sa;
	struct evbuffer			*out = c->c_out;
	const char			*extra[2];
	char				 etag[160], *body;
	int				 rc;

	if (strncmp(r->r_path, SDK_PATH, sizeof(SDK_PATH) - 1) != 0)
		return 0;
	if ((sa = sdk_asset_find(r->r_path + sizeof(SDK_PATH) - 1)) == NULL) {
		c->c_status = 404;
		rc = api_reply_error(out, &c->c_ctx, 404, NULL,
		    "no such SDK file");
	} else if (strcmp(r->r_method, "GET") != 0 &&
	    strcmp(r->r_method, "HEAD") != 0) {
		extra[0] = "Allow: GET, HEAD";
		extra[1] = NULL;
		c->c_status = 405;
		rc = -1;
		if ((body = api_error_body("METHOD_NOT_ALLOWED", "the SDK is "
		    "read with GET", "Request", NULL, c->c_ctx.a_reqid)) != NULL)
			rc = api_reply(out, &c->c_ctx, 405, "application/json",
			    extra, body, strlen(body));
		free(body);
	} else {
		snprintf(etag, sizeof(etag), "ETag: %s", sa->sa_etag);
		extra[0] = etag;
		extra[1] = NULL;
		c->c_ctx.a_cache_control = SDK_CACHE_CONTROL;
		if (cachehdr_inm_match(http_request_header(r, "If-None-Match"),
		    sa->sa_etag)) {
			c->c_status = 304;
			rc = api_reply(out, &c->c_ctx, 304, NULL, extra, NULL,
			    0);
		} else {
			c->c_status = 200;
			rc = api_reply(out, &c->c_ctx, 200, sa->sa_ctype, extra,
			    sa->sa_data, sa->sa_len);
		}
	}
	if (rc == -1)
		c->c_ctx.a_keepalive = 0;
	worker_conn_answered(c);
	return 1;
}
