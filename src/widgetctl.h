/*
 * widgetctl.h — what the widgetctl commands share.
 */
#ifndef WIDGETD_WIDGETCTL_H
#define WIDGETD_WIDGETCTL_H

#include <stdint.h>
#include <stdio.h>

struct json_object;

struct ctl_globals {
	const char	*g_config;	/* -c, or NULL for the default */
	const char	*g_socket;	/* -s, or NULL for the configured one */
};

/* Each command gets argv with argv[0] = its name; returns the exit status. */
int	ctl_render_main(struct ctl_globals *, int, char **);	/* ctl_render.c */
int	ctl_check_main(struct ctl_globals *, int, char **);	/* ctl_check.c */
int	ctl_scan_main(struct ctl_globals *, int, char **);	/* ctl_scan.c */
int	ctl_publish_main(struct ctl_globals *, int, char **);	/* ctl_publish.c */
int	ctl_builds_main(struct ctl_globals *, int, char **);	/* ctl_publish.c */

int	ctl_reload_main(struct ctl_globals *, int, char **);	/* ctl_daemon.c */
int	ctl_status_main(struct ctl_globals *, int, char **);	/* ctl_daemon.c */
int	ctl_stop_main(struct ctl_globals *, int, char **);	/* ctl_daemon.c */
int	ctl_secret_main(struct ctl_globals *, int, char **);	/* ctl_store.c */
int	ctl_variable_main(struct ctl_globals *, int, char **);	/* ctl_store.c */
int	ctl_test_main(struct ctl_globals *, int, char **);	/* ctl_test.c */
/*
 * Tell the running daemon that a tenant's secrets (is_secret) or variables
 * changed; 0 when told or when no daemon runs (ctl_store.c).
 */
int	ctl_store_notify(struct ctl_globals *, const char *tenant,
	    int is_secret);

/*
 * Talking to the running daemon (ctl_daemon.c).  The socket is -s, else
 * control_socket of the configuration (-c, default the build's
 * sysconfdir/widgetd.conf).  The results double as exit statuses.
 */
#define CTL_OK		0	/* answered (ctl_command: with "ok":true) */
#define CTL_FAIL	1	/* refused, or no usable answer; printed */
#define CTL_DOWN	3	/* no daemon at the socket; printed unless quiet */

#define CTL_QUIET_DOWN	0x01	/* ctl_command: say nothing when CTL_DOWN */

/*
 * One request (not taken), one reply: CTL_OK with *reply set to a JSON
 * object with a boolean "ok", whatever its value (the caller frees it);
 * otherwise *reply is NULL and the reason is on stderr: the daemon not
 * running, permission denied, a timeout, a malformed reply.
 */
int	ctl_call(struct ctl_globals *, struct json_object *request,
	    struct json_object **reply);
/*
 * ctl_call() for a command that should succeed: CTL_OK only for "ok":true
 * (*reply set when reply is not NULL); for "ok":false prints
 * "widgetctl: COMMAND: error" and each of "errors" on its own line to
 * stderr and returns CTL_FAIL.  A secret-change notice, for instance:
 *	req = ctl_request_new("secrets");  + "tenant": id
 *	if (ctl_command(g, req, NULL, CTL_QUIET_DOWN) == CTL_DOWN)
 *		(not running: the store is read when it starts)
 * and a variable change sends ctl_request_new("reload") the same way.
 */
int	ctl_command(struct ctl_globals *, struct json_object *request,
	    struct json_object **reply, int flags);
/* {"command": command}, to add arguments to; NULL when out of memory. */
struct json_object *ctl_request_new(const char *command);
/* A reply's string member (NULL when absent or not a string). */
const char *ctl_str(struct json_object *, const char *key);
/* A reply's integer member into *n: 1, or 0 when absent or not one. */
int	ctl_int(struct json_object *, const char *key, int64_t *n);
/* s (NULL: nothing) with control bytes shown as '?': text for a terminal. */
void	ctl_print_clean(FILE *, const char *s);
/* The status reply as the tables widgetctl status prints. */
void	ctl_status_print(FILE *, struct json_object *reply);

/*
 * Read a regular file of at most max bytes into a malloc'd, NUL-terminated
 * buffer; -1 with errno (EFBIG over max, EINVAL not a regular file).
 */
int	ctl_read_file(const char *path, size_t max, char **bufp,
	    size_t *lenp);						/* ctl_check.c */

#endif
