/*
 * worker_ext.c — serving published extensions (SPEC §10 "Serving",
 * platform-docs §23), worker only.
 *
 *	GET /widget-service/extensions/manifest.json
 *	GET /widget-service/extensions/<generation>/files/<repository path>
 *
 * Everything comes from the tenant's live generation in the worker's
 * configuration snapshot (snapshot.h): the worker opens nothing.  The
 * tenant is the request's Host's, so a tenant's assets are served on its
 * own hosts only, and only the live generation's: a removed widget's
 * files are gone from every URL at the switch.  Assets are immutable (a
 * generation never changes); the manifest is revalidated by its ETag.
 * Every answer carries the security headers of platform-docs §23: a CSP
 * that allows inline script and style, 'self' and the trusted CDNs as
 * exact hosts, and no eval.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "api.h"
#include "cachehdr.h"
#include "config.h"
#include "http.h"
#include "pubdir.h"
#include "snapshot.h"
#include "worker.h"

#define EXT_PREFIX	API_PREFIX "/extensions/"
#define EXT_ETAG_MAX	(PUBDIR_MAXGEN + 16)

/* Content types by extension; anything else is a download. */
static const struct {
	const char	*ct_ext;
	const char	*ct_type;
} ext_types[] = {
	{ "avif", "image/avif" },
	{ "css", "text/css; charset=utf-8" },
	{ "gif", "image/gif" },
	{ "htm", "text/html; charset=utf-8" },
	{ "html", "text/html; charset=utf-8" },
	{ "ico", "image/x-icon" },
	{ "jpeg", "image/jpeg" },
	{ "jpg", "image/jpeg" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "jsx", "text/javascript; charset=utf-8" },
	{ "map", "application/json" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
	{ "otf", "font/otf" },
	{ "png", "image/png" },
	{ "svg", "image/svg+xml" },
	{ "ttf", "font/ttf" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "wasm", "application/wasm" },
	{ "webm", "video/webm" },
	{ "webp", "image/webp" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
};

static const char *
ext_type(const char *path)
{
	const char	*dot = strrchr(path, '.');
	size_t		 i;

	if (dot == NULL || strchr(dot, '/') != NULL)
		return "application/octet-stream";
	for (i = 0; i < sizeof(ext_types) / sizeof(ext_types[0]); i++)
		if (strcasecmp(dot + 1, ext_types[i].ct_ext) == 0)
			return ext_types[i].ct_type;
	return "application/octet-stream";
}

/*
 * Content-Security-Policy: scripts and styles from this origin, inline,
 * and the trusted CDNs named as exact https hosts; no 'unsafe-eval', so
 * eval and new Function throw.  Connector calls go to this origin.
 * Allocated to fit every host (at most 64 of 253 bytes): a list cut
 * short could end in a bare "https:", which trusts every https origin.
 * NULL when out of memory.
 */
static char *
ext_csp(const struct widgetd_config *cfg)
{
	char	*hosts, *csp = NULL;
	size_t	 i, o = 0, size = 1;

	for (i = 0; i < cfg->c_ext.x_ncdns; i++)
		size += sizeof(" https://") - 1 + strlen(cfg->c_ext.x_cdns[i]);
	if ((hosts = malloc(size)) == NULL)
		return NULL;
	hosts[0] = '\0';
	for (i = 0; i < cfg->c_ext.x_ncdns; i++)
		o += snprintf(hosts + o, size - o, " https://%s",
		    cfg->c_ext.x_cdns[i]);
	if (asprintf(&csp, "Content-Security-Policy: default-src 'self'; "
	    "script-src 'self' 'unsafe-inline'%s; "
	    "style-src 'self' 'unsafe-inline'%s; "
	    "img-src 'self' data: https:; font-src 'self' data:%s; "
	    "connect-src 'self'; media-src 'self' https:; object-src 'none'; "
	    "base-uri 'self'; form-action 'self'; frame-ancestors 'self'",
	    hosts, hosts, hosts) == -1)
		csp = NULL;
	free(hosts);
	return csp;
}

static void	ext_error(struct conn *, int, const char *);

/* One answer with the security headers; status 200 or 304. */
static void
ext_reply(struct conn *c, int status, const char *ctype, const char *cache,
    const char *etag, const void *body, size_t len)
{
	const char	*hdrs[16];
	char		 ct[128], rid[80], et[EXT_ETAG_MAX], *csp;
	int		 n = 0;

	/* Never an answer without its policy. */
	if ((csp = ext_csp(worker_config(c->c_w))) == NULL) {
		ext_error(c, 500, "out of memory");
		return;
	}
	c->c_status = status;
	if (status == 200) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs[n++] = ct;
	}
	snprintf(rid, sizeof(rid), "X-Request-ID: %s", c->c_ctx.a_reqid);
	hdrs[n++] = rid;
	hdrs[n++] = cache;
	if (etag != NULL) {
		snprintf(et, sizeof(et), "ETag: %s", etag);
		hdrs[n++] = et;
	}
	hdrs[n++] = csp;
	hdrs[n++] = "X-Content-Type-Options: nosniff";
	hdrs[n++] = "Referrer-Policy: strict-origin-when-cross-origin";
	hdrs[n++] = "X-Frame-Options: SAMEORIGIN";
	hdrs[n++] = "Permissions-Policy: camera=(), microphone=(), "
	    "geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
	    "hid=(), midi=(), display-capture=(), interest-cohort=()";
	hdrs[n] = NULL;
	if (http_write_response(c->c_out, status, hdrs,
	    body, len, c->c_ctx.a_keepalive, c->c_ctx.a_head) == -1)
		c->c_ctx.a_keepalive = 0;
	free(csp);
}

/* widgetd's envelope; a 405 says what is allowed (RFC 9110 §15.5.6). */
static void
ext_error(struct conn *c, int status, const char *detail)
{
	static const char *const allow[] = { "Allow: GET, HEAD", NULL };
	char		*body;
	int		 rv = -1;

	c->c_status = status;
	if ((body = api_error_body(api_status_code(status), detail, "Request",
	    NULL, c->c_ctx.a_reqid)) != NULL)
		rv = api_reply(c->c_out, &c->c_ctx,
		    status, "application/json", status == 405 ? allow : NULL,
		    body, strlen(body));
	free(body);
	if (rv == -1)
		c->c_ctx.a_keepalive = 0;
}

void
worker_ext_serve(struct conn *c)
{
	struct http_request		*r = c->c_req;
	const struct snapshot		*sn = c->c_w->w_gen->wg_snap;
	const struct snap_tenant	*st;
	const struct snap_file		*f;
	const char			*p, *slash, *tid;
	char				 etag[EXT_ETAG_MAX];
	size_t				 glen;

	st = snapshot_tenant_for_host(sn, http_request_header(r, "Host"));
	tid = st != NULL ? snapshot_tenant_id(sn, st) : NULL;
	if (strcmp(r->r_method, "GET") != 0 &&
	    strcmp(r->r_method, "HEAD") != 0) {
		ext_error(c, 405, "extensions are read with GET or HEAD");
		goto done;
	}
	if (st == NULL || st->st_ext.se_gen == NULL) {
		ext_error(c, 404, "no extensions are published here");
		goto done;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", st->st_ext.se_gen);
	p = r->r_path + sizeof(EXT_PREFIX) - 1;
	if (strcmp(p, "manifest.json") == 0) {
		/* Revalidated: a publish changes it under the same URL. */
		if (cachehdr_inm_match(http_request_header(r, "If-None-Match"),
		    etag))
			ext_reply(c, 304, NULL, "Cache-Control: no-cache", etag,
			    NULL, 0);
		else
			ext_reply(c, 200, "application/json",
			    "Cache-Control: no-cache", etag,
			    st->st_ext.se_manifest, st->st_ext.se_manifest_len);
		goto done;
	}
	/* <generation>/files/<path>: the live generation only. */
	glen = strlen(st->st_ext.se_gen);
	if ((slash = strchr(p, '/')) == NULL || (size_t)(slash - p) != glen ||
	    strncmp(p, st->st_ext.se_gen, glen) != 0 ||
	    strncmp(slash, "/files/", 7) != 0 ||
	    (f = snapshot_ext_file(st, slash + 7)) == NULL) {
		ext_error(c, 404, "no such published file");
		goto done;
	}
	if (cachehdr_inm_match(http_request_header(r, "If-None-Match"),
	    etag))
		ext_reply(c, 304, NULL, "Cache-Control: public, "
		    "max-age=31536000, immutable", etag, NULL, 0);
	else
		ext_reply(c, 200, ext_type(f->sf_path), "Cache-Control: public, "
		    "max-age=31536000, immutable", etag, f->sf_data, f->sf_len);
 done:
	worker_access(c, tid, NULL, 0, NULL, c->c_status >= 400 ?
	    api_status_code(c->c_status) : NULL);
	worker_conn_answered(c);
}

int
worker_ext_path(const char *path)
{
	return strncmp(path, EXT_PREFIX, sizeof(EXT_PREFIX) - 1) == 0;
}
