/*
 * cors.h — cross-origin calls from pages on other origins (SPEC §5).
 *
 * A tenant lists the origins whose pages may call it (cors.origins in
 * widgetd.conf).  For a listed origin the worker answers preflights itself
 * and marks every response with the Access-Control-* headers; an unlisted
 * origin gets no CORS header at all, so the browser keeps the page from
 * reading anything.  A preflight never reaches a connector.
 */
#ifndef WIDGETD_CORS_H
#define WIDGETD_CORS_H

struct conn;

#define CORS_ORIGIN_MAX	255	/* bytes of one origin */

/* The request headers any listed page may send (plus overridable ones). */
#define CORS_ALLOW_HEADERS	"Content-Type, Accept, Authorization, " \
				"X-CSRFToken, X-CSRF-Token, X-Path-Params"
#define CORS_ALLOW_METHODS	"GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
#define CORS_EXPOSE_HEADERS	"X-Request-ID, Server-Timing, X-Connector-Timing"

/*
 * An origin as a browser serialises it: "scheme://host[:port]", http or
 * https, the scheme and host in lower case, no default port, no path.
 * malloc'd; NULL with *why (a constant string) when v is not one.  Used
 * by the configuration loader.
 */
char		*cors_origin_norm(const char *v, const char **why);

/*
 * Worker: decide what the request's Origin may see (c_ctx.a_origin) and
 * answer a preflight (OPTIONS with Access-Control-Request-Method).  1 when
 * the request has been answered, 0 to route it as usual.
 */
int		 cors_route(struct conn *);

#endif
