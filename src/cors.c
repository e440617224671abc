/*
 * cors.c — per-tenant CORS (see cors.h).
 *
 * cors_origin_norm() is the configuration's (every role loads it);
 * cors_route() runs in the worker, before a request is routed: it is the
 * one place that decides which origin a response names, and it answers
 * preflights without involving any connector, the keeper or the cache.
 */
#include "build.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "api.h"
#include "config.h"
#include "connector.h"
#include "cors.h"
#include "snapshot.h"
#include "worker.h"

/* DNS labels of letters, digits and '-', or an IPv4 literal. */
static int
cors_host_ok(const char *h, size_t n)
{
	size_t	 i, label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)h[i]) && h[i] != '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

char *
cors_origin_norm(const char *v, const char **why)
{
	const char	*p, *host, *port = NULL;
	char		*o = NULL, v6[64];
	unsigned char	 buf[16];
	size_t		 hlen, i;
	long		 pn = 0;
	int		 https;

	*why = NULL;
	if (strncasecmp(v, "https://", 8) == 0) {
		https = 1;
		host = v + 8;
	} else if (strncasecmp(v, "http://", 7) == 0) {
		https = 0;
		host = v + 7;
	} else {
		*why = "not an http:// or https:// origin (no wildcards, no "
		    "\"null\")";
		return NULL;
	}
	if (strlen(v) > CORS_ORIGIN_MAX) {
		*why = "longer than 255 bytes";
		return NULL;
	}
	if (host[0] == '[') {
		if ((p = strchr(host, ']')) == NULL ||
		    (size_t)(p - host - 1) >= sizeof(v6)) {
			*why = "bad IPv6 literal";
			return NULL;
		}
		memcpy(v6, host + 1, p - host - 1);
		v6[p - host - 1] = '\0';
		if (inet_pton(AF_INET6, v6, buf) != 1) {
			*why = "bad IPv6 literal";
			return NULL;
		}
		p++;
	} else {
		p = host + strcspn(host, ":/?#@");
		if (!cors_host_ok(host, (size_t)(p - host))) {
			*why = "not a host name";
			return NULL;
		}
	}
	hlen = (size_t)(p - host);
	if (*p == ':') {
		port = ++p;
		while (isdigit((unsigned char)*p) && p - port < 6)
			pn = pn * 10 + (*p++ - '0');
		if (p == port || pn < 1 || pn > 65535 || *port == '0') {
			*why = "bad port";
			return NULL;
		}
	}
	if (*p != '\0') {
		*why = "an origin has no path, query, user or trailing slash";
		return NULL;
	}
	/* A browser never names the scheme's own port. */
	if ((https && pn == 443) || (!https && pn == 80))
		pn = 0;
	if (pn != 0) {
		if (asprintf(&o, "%s://%.*s:%ld", https ? "https" : "http",
		    (int)hlen, host, pn) == -1)
			o = NULL;
	} else if (asprintf(&o, "%s://%.*s", https ? "https" : "http",
	    (int)hlen, host) == -1)
		o = NULL;
	if (o == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (i = 0; o[i] != '\0'; i++)
		o[i] = (char)tolower((unsigned char)o[i]);
	return o;
}

/*
 * Access-Control-Allow-Headers: the fixed list, and for a connector's
 * execute path the names of its overridable headers (SPEC §5).
 */
static char *
cors_allow_headers(const struct snap_tenant *st, const char *path)
{
	static const char	 prefix[] = API_PREFIX "/connectors/";
	static const char	 suffix[] = "/execute";
	const struct connector	*cn = NULL;
	struct evbuffer		*b;
	char			 permalink[256], *out = NULL;
	const char		*end;
	size_t			 i, n, len;

	if ((b = evbuffer_new()) == NULL)
		return NULL;
	evbuffer_add_printf(b, "Access-Control-Allow-Headers: %s",
	    CORS_ALLOW_HEADERS);
	if (strncmp(path, prefix, sizeof(prefix) - 1) == 0) {
		path += sizeof(prefix) - 1;
		end = strchr(path, '/');
		n = end != NULL ? (size_t)(end - path) : 0;
		if (n > 0 && n < sizeof(permalink) &&
		    strcmp(end, suffix) == 0) {
			memcpy(permalink, path, n);
			permalink[n] = '\0';
			cn = registry_connector(st->st_reg, permalink);
		}
	}
	for (i = 0; cn != NULL && i < cn->c_req.cr_nheaders; i++) {
		const struct conn_param *row = &cn->c_req.cr_headers[i];

		if (!row->cp_overridable || strcasestr(CORS_ALLOW_HEADERS,
		    row->cp_key) != NULL)
			continue;
		evbuffer_add_printf(b, ", %s", row->cp_key);
	}
	len = evbuffer_get_length(b);
	if ((out = malloc(len + 1)) != NULL) {
		evbuffer_remove(b, out, len);
		out[len] = '\0';
	}
	evbuffer_free(b);
	return out;
}

int
cors_route(struct conn *c)
{
	const struct http_request	*r = c->c_req;
	const struct snapshot		*sn = c->c_w->w_gen->wg_snap;
	const struct snap_tenant	*st;
	const struct conf_tenant	*t = NULL;
	const char			*origin, *extra[4];
	char				 acao[CORS_ORIGIN_MAX + 40], age[64];
	char				*ach = NULL;
	size_t				 i;
	int				 api, status;

	origin = http_request_header_once(r, "Origin");
	if ((st = snapshot_tenant_for_host(sn, http_request_header(r,
	    "Host"))) != NULL)
		t = &sn->sn_cfg->c_tenants[st->st_index];
	for (i = 0; origin != NULL && t != NULL &&
	    i < t->t_cors.co_norigins; i++)
		if (strcmp(t->t_cors.co_origins[i], origin) == 0) {
			snprintf(c->c_ctx.a_origin, sizeof(c->c_ctx.a_origin),
			    "%s", origin);
			break;
		}
	if (strcmp(r->r_method, "OPTIONS") != 0 || http_request_header(r,
	    "Access-Control-Request-Method") == NULL)
		return 0;

	/* A preflight: answered here, never passed to a connector. */
	c->c_ctx.a_keepalive = r->r_keepalive && !c->c_w->w_draining;
	api = strncmp(r->r_path, API_PREFIX "/", sizeof(API_PREFIX)) == 0;
	if (!api || c->c_ctx.a_origin[0] == '\0') {
		/* Unlisted: not one Access-Control-* header. */
		c->c_ctx.a_origin[0] = '\0';
		status = api ? 403 : 404;
		c->c_status = status;
		if (api_reply_error(c->c_out, &c->c_ctx, status, NULL, api ?
		    "cross-origin requests from this origin are not allowed" :
		    "no such resource") == -1)
			c->c_ctx.a_keepalive = 0;
		worker_conn_answered(c);
		return 1;
	}
	snprintf(acao, sizeof(acao), "Access-Control-Allow-Methods: %s",
	    CORS_ALLOW_METHODS);
	snprintf(age, sizeof(age), "Access-Control-Max-Age: %d",
	    t->t_cors.co_max_age);
	ach = cors_allow_headers(st, r->r_path);
	extra[0] = acao;
	extra[1] = age;
	extra[2] = ach != NULL ? ach : "Access-Control-Allow-Headers: "
	    CORS_ALLOW_HEADERS;
	extra[3] = NULL;
	c->c_status = 204;
	if (api_reply(c->c_out, &c->c_ctx, 204, NULL, extra, NULL, 0) == -1)
		c->c_ctx.a_keepalive = 0;
	free(ach);
	worker_conn_answered(c);
	return 1;
}
