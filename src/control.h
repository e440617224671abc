/*
 * control.h — the parent's side of the control socket (SPEC §2, DESIGN §1).
 *
 * widgetctl talks to the running daemon over a UNIX stream socket that only
 * root (or the daemon's own user) may use: one request per connection, a
 * single JSON object on one line, {"command":"reload", ...}; one JSON reply
 * line, then the connection is closed.  This module owns the socket, the
 * peer check, framing, limits and timeouts; what a command does is the
 * handler's business.  Replies may come later than the handler call (the
 * status command asks the workers first).
 *
 * Errors the module answers itself, each as {"ok":false,"error":"..."}:
 *   "permission denied"			peer neither root nor our euid
 *   "request too large (at most N bytes)"	line over the command's cap
 *   "malformed request: ..."		not JSON, not an object, no command
 *   "timed out reading the request"	no full line in time
 *   "no reply in time"			the handler took too long
 *   "internal error"			control_reply() given NULL
 */
#ifndef WIDGETD_CONTROL_H
#define WIDGETD_CONTROL_H

#include <sys/types.h>

#include <stddef.h>

#define CONTROL_REQUEST_MAX	(64 * 1024)	/* default cap of a request line */
#define CONTROL_LIMIT_MAX	(16 * 1024 * 1024) /* no cap may exceed this */
#define CONTROL_COMMAND_MAX	32		/* bytes of a command name */
#define CONTROL_READ_TIMEOUT	10		/* s to send the request line */
#define CONTROL_REPLY_TIMEOUT	30		/* s the handler has to answer */
#define CONTROL_WRITE_TIMEOUT	10		/* s to take the reply */

struct event_base;
struct json_object;
struct control;
struct control_req;

/*
 * Called once per well-formed request from an accepted peer.  command and
 * request (the whole object, "command" included) stay valid until the
 * handler answers with control_reply(), which it must do exactly once for
 * every request, synchronously or later: the request is the handler's
 * until then, also after the client has gone or control_free() has run.
 * The handler must not call control_free().
 */
typedef void	(*control_handler_fn)(struct control_req *,
		    const char *command, struct json_object *request,
		    void *arg);

/*
 * Create the socket at path (absolute) and serve it on base.  Missing
 * directories are created 0755; every directory on the way must be owned
 * by root or the euid and not writable by group or others (unless sticky),
 * so nobody else can swap the socket.  A stale socket is replaced; a live
 * one, a symbolic link or anything else at path is refused.  The socket is
 * 0600 from the moment it exists.  NULL on failure with err filled in; the
 * caller logs.
 */
struct control	*control_new(struct event_base *, const char *path,
		    control_handler_fn, void *arg, char *err, size_t errlen);
/*
 * Stop listening, close every connection (replies already given are sent
 * if the socket takes them at once; pending requests stay with the
 * handler, their replies are then dropped) and remove the socket if it is
 * still ours.  NULL is a no-op.
 */
void		 control_free(struct control *);
/* The socket's path as bound (directories resolved). */
const char	*control_path(const struct control *);
/*
 * Raise or lower the request cap of one command (default
 * CONTROL_REQUEST_MAX); at most CONTROL_LIMIT_MAX.  0, or -1 for a bad
 * name, a bad size or a full table.
 */
int		 control_set_limit(struct control *, const char *command,
		    size_t max);

/*
 * How long a client has to send its request and the handler to answer,
 * in milliseconds (defaults CONTROL_READ_TIMEOUT and CONTROL_REPLY_TIMEOUT
 * seconds); 0 keeps a value.
 */
void		 control_set_timeouts(struct control *, int read_ms,
		    int reply_ms);

/*
 * Answer req with reply (taken; NULL answers "internal error") and free
 * req.  0 when the reply was queued to the client; -1 when it was dropped
 * because the client or the control socket is gone.
 */
int		 control_reply(struct control_req *, struct json_object *reply);
/* Answer {"ok":false,"error":<formatted>}; as control_reply(). */
int		 control_reply_error(struct control_req *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
/* The peer's credentials (SO_PEERCRED at accept time). */
uid_t		 control_req_peer_uid(const struct control_req *);
pid_t		 control_req_peer_pid(const struct control_req *);
/* 1 once nobody waits for the reply (client gone, timed out, freed). */
int		 control_req_gone(const struct control_req *);

/*
 * The request line checks, exposed for the fuzz target: parse buf (len
 * bytes, no newline) as a request.  0 with *request set (the caller
 * json_object_put()s it) and *command pointing into it; -1 with err set to
 * the reply's error text.
 */
int		 control_parse(const char *buf, size_t len,
		    struct json_object **request, const char **command,
		    char *err, size_t errlen);

#endif
