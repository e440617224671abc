/*
 * control_http.h — the control socket's HTTP form (parent; control.c).
 *
 * Besides its JSON lines, the control socket answers one HTTP/1.1
 * request per connection, so that an operator's tools (curl
 * --unix-socket) reach test mode at the path SPEC §5 names:
 *
 *	POST /widget-service/admin/connectors/test	the "test" command,
 *							its JSON body the
 *							request (parent_test.h)
 *
 * Anything else is 404 (405 for another method on that path).  The
 * answer is HTTP: the test's status, headers and body with
 * X-Debug-Request, or the error reply as JSON with its status.  Only
 * root or the daemon's user ever get this far (control.c).
 */
#ifndef WIDGETD_CONTROL_HTTP_H
#define WIDGETD_CONTROL_HTTP_H

#include <stddef.h>

struct json_object;

#define CONTROL_HTTP_PATH	"/widget-service/admin/connectors/test"
#define CONTROL_HTTP_HEAD_MAX	(16 * 1024)	/* request line + headers */

/* 1 when buf (len > 0 bytes) starts like an HTTP request, not JSON. */
int		 control_http_is(const char *buf, size_t len);
/*
 * Parse the request in buf.  0: incomplete, read more; 1: *request is
 * the command object (the caller json_object_put()s it); -1: refused,
 * with *status and *msg (a constant string) to answer.  body_max bounds
 * Content-Length.
 */
int		 control_http_parse(const char *buf, size_t len,
		    size_t body_max, struct json_object **request,
		    int *status, const char **msg);
/* The HTTP response for a command's reply; malloc'd, *lenp bytes. */
char		*control_http_reply(struct json_object *reply, size_t *lenp);

#endif
