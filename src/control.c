/*
 * control.c — the control socket, the parent's end (see control.h).
 *
 * Only root, or the user the daemon runs as, may talk here: the socket is
 * 0600 in a directory nobody else can write, and every peer's credentials
 * are checked again at accept (SO_PEERCRED), so a socket made reachable by
 * mistake still refuses strangers before reading a byte from them.
 *
 * A connection goes READ (the request line, bounded in size and time) →
 * WAIT (the handler owns a struct control_req) → WRITE (one reply line)
 * → closed.  The request outlives the connection: a client that goes away
 * only detaches it, and the handler's late reply is dropped.
 */
#include "build.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "control.h"
#include "control_http.h"
#include "log.h"

#define CONTROL_BACKLOG		16
#define CONTROL_CONNS_MAX	16	/* beyond: leave them in the backlog */
#define CONTROL_NLIMITS		16
#define CONTROL_JSON_DEPTH	32
#define CONTROL_ACCEPT_PAUSE	1	/* s after accept fails for want of fds */

struct control_limit {
	char			 cl_command[CONTROL_COMMAND_MAX + 1];
	size_t			 cl_max;
};

struct control_conn;

struct control {
	struct event_base	*ctl_base;
	char			*ctl_path;
	int			 ctl_fd;
	dev_t			 ctl_dev;	/* the socket we bound, so that */
	ino_t			 ctl_ino;	/* we never unlink another's */
	struct event		*ctl_ev;
	struct event		*ctl_pause_ev;
	int			 ctl_listening;
	int			 ctl_retired;	/* frees itself when idle */
	control_handler_fn	 ctl_handler;
	void			*ctl_arg;
	struct control_limit	 ctl_limits[CONTROL_NLIMITS];
	size_t			 ctl_nlimits;
	size_t			 ctl_readmax;	/* the largest cap of all */
	struct timeval		 ctl_read_tv;
	struct timeval		 ctl_reply_tv;
	TAILQ_HEAD(, control_conn) ctl_conns;
	int			 ctl_nconns;
};

enum control_state {
	CS_READ,
	CS_WAIT,
	CS_WRITE,
};

struct control_conn {
	TAILQ_ENTRY(control_conn) cc_entry;
	struct control		*cc_ctl;
	int			 cc_fd;
	enum control_state	 cc_state;
	struct event		*cc_ev_read;
	struct event		*cc_ev_write;
	struct event		*cc_timer;
	struct evbuffer		*cc_in;
	char			*cc_out;	/* NULL in CS_WRITE: just close */
	size_t			 cc_outlen;
	size_t			 cc_outoff;
	struct control_req	*cc_req;	/* in CS_WAIT */
	uid_t			 cc_uid;
	pid_t			 cc_pid;
	int			 cc_http;	/* HTTP form (control_http.c) */
};

struct control_req {
	struct control_conn	*r_conn;	/* NULL: nobody waits */
	struct json_object	*r_request;
	const char		*r_command;	/* inside r_request */
	uid_t			 r_uid;
	pid_t			 r_pid;
};

static const char control_denied[] =
    "{\"ok\":false,\"error\":\"permission denied\"}\n";

static void	control_accept_cb(int, short, void *);
static void	control_read_cb(int, short, void *);
static void	control_write_cb(int, short, void *);
static void	control_timer_cb(int, short, void *);
static void	control_dispatch(struct control_conn *, struct json_object *,
		    const char *);

/* --- the socket on disk ---------------------------------------------- */

/* mkdir -p for an absolute path, new directories 0755 whatever the umask. */
static int
control_mkdirs(const char *dir, char *err, size_t errlen)
{
	char		 buf[PATH_MAX];
	struct stat	 st;
	mode_t		 old;
	size_t		 i, len;
	int		 rv = -1;

	if (stat(dir, &st) == 0)
		return 0;
	len = strlen(dir);
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	old = umask(022);
	for (i = 1; i <= len; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		memcpy(buf, dir, i);
		buf[i] = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "mkdir %s: %s", buf,
			    strerror(errno));
			goto out;
		}
	}
	rv = 0;
 out:
	umask(old);
	return rv;
}

/*
 * Every directory from / down to dir (a real path) must be owned by root
 * or by us and not writable by anyone else, unless sticky: otherwise its
 * owner could swap the socket, or the directory, under us.
 */
static int
control_check_dirs(const char *dir, char *err, size_t errlen)
{
	char		 buf[PATH_MAX];
	struct stat	 st;
	size_t		 i, len = strlen(dir);
	uid_t		 euid = geteuid();

	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	for (i = 1; i <= len; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		/* i == 1 is "/" itself. */
		memcpy(buf, dir, i);
		buf[i] = '\0';
		if (stat(buf, &st) == -1) {
			snprintf(err, errlen, "%s: %s", buf, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: not a directory", buf);
			return -1;
		}
		if (st.st_uid != 0 && st.st_uid != euid) {
			snprintf(err, errlen, "%s: owned by uid %ld, neither "
			    "root nor uid %ld", buf, (long)st.st_uid,
			    (long)euid);
			return -1;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
		    (st.st_mode & S_ISVTX) == 0) {
			snprintf(err, errlen, "%s: writable by group or others "
			    "(mode %04o)", buf, (unsigned)st.st_mode & 07777);
			return -1;
		}
	}
	return 0;
}

/* 1: something listens at path; 0: a stale socket; -1: cannot tell. */
static int
control_probe(const struct sockaddr_un *sun)
{
	int	 fd, rv = -1;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	    errno == EAGAIN)	/* a full backlog is a live listener too */
		rv = 1;
	else if (errno == ECONNREFUSED)
		rv = 0;
	close(fd);
	return rv;
}

/*
 * Clear the way for the socket at sun_path: nothing there, or a stale
 * socket that is then removed.  Never follows a symbolic link there.
 */
static int
control_clear(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat	 st;
	int		 saved;

	if (lstat(sun->sun_path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", sun->sun_path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s: a symbolic link, not following it",
		    sun->sun_path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket, not "
		    "replacing it", sun->sun_path);
		return -1;
	}
	switch (control_probe(sun)) {
	case 1:
		snprintf(err, errlen, "%s: in use (is another widgetd "
		    "running?)", sun->sun_path);
		return -1;
	case 0:
		break;
	default:
		saved = errno;
		snprintf(err, errlen, "%s: cannot tell whether it is in use: "
		    "%s", sun->sun_path, strerror(saved));
		return -1;
	}
	/* A previous run's socket: nobody listens on it any more. */
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", sun->sun_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Bind and listen at sun; the listening fd, or -1 with err set. */
static int
control_bind(struct control *ctl, const struct sockaddr_un *sun,
    char *err, size_t errlen)
{
	struct stat	 st;
	mode_t		 old;
	int		 fd, r, saved;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* 0600 from its first moment: no window in which others connect. */
	old = umask(0177);
	r = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	saved = errno;
	umask(old);
	if (r == -1) {
		snprintf(err, errlen, "bind %s: %s", sun->sun_path,
		    strerror(saved));
		goto fail;
	}
	if (lstat(sun->sun_path, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 07777) != 0600) {
		snprintf(err, errlen, "%s: not the 0600 socket just bound",
		    sun->sun_path);
		unlink(sun->sun_path);
		goto fail;
	}
	ctl->ctl_dev = st.st_dev;
	ctl->ctl_ino = st.st_ino;
	if (listen(fd, CONTROL_BACKLOG) == -1) {
		snprintf(err, errlen, "listen %s: %s", sun->sun_path,
		    strerror(errno));
		unlink(sun->sun_path);
		goto fail;
	}
	return fd;
 fail:
	close(fd);
	return -1;
}

/* Remove the socket if the file there is still the one we bound. */
static void
control_unlink(struct control *ctl)
{
	struct stat	 st;

	if (lstat(ctl->ctl_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == ctl->ctl_dev && st.st_ino == ctl->ctl_ino)
		unlink(ctl->ctl_path);
}

/* Directories made and checked, the real path of the socket into sun. */
static int
control_prepare(const char *path, struct sockaddr_un *sun, char *err,
    size_t errlen)
{
	char		*dir = NULL, *real = NULL;
	const char	*base;
	int		 rv = -1;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path);
		goto out;
	}
	base = strrchr(path, '/') + 1;
	if (*base == '\0' || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0) {
		snprintf(err, errlen, "%s: no file name", path);
		goto out;
	}
	if ((dir = strndup(path, base - path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (control_mkdirs(dir, err, errlen) == -1)
		goto out;
	if ((real = realpath(dir, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (control_check_dirs(real, err, errlen) == -1)
		goto out;
	/* sun_path is fixed-size; a truncated path would bind elsewhere. */
	if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s",
	    strcmp(real, "/") == 0 ? "" : real, base) >=
	    sizeof(sun->sun_path)) {
		snprintf(err, errlen, "%s/%s: longer than %zu bytes", real,
		    base, sizeof(sun->sun_path) - 1);
		goto out;
	}
	rv = 0;
 out:
	free(dir);
	free(real);
	return rv;
}

/* --- the listener ---------------------------------------------------- */

struct control *
control_new(struct event_base *base, const char *path,
    control_handler_fn handler, void *arg, char *err, size_t errlen)
{
	struct control		*ctl;
	struct sockaddr_un	 sun;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->ctl_base = base;
	ctl->ctl_fd = -1;
	ctl->ctl_handler = handler;
	ctl->ctl_arg = arg;
	ctl->ctl_readmax = CONTROL_REQUEST_MAX;
	ctl->ctl_read_tv.tv_sec = CONTROL_READ_TIMEOUT;
	ctl->ctl_reply_tv.tv_sec = CONTROL_REPLY_TIMEOUT;
	TAILQ_INIT(&ctl->ctl_conns);
	if (control_prepare(path, &sun, err, errlen) == -1 ||
	    control_clear(&sun, err, errlen) == -1)
		goto fail;
	if ((ctl->ctl_path = strdup(sun.sun_path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((ctl->ctl_fd = control_bind(ctl, &sun, err, errlen)) == -1)
		goto fail;
	ctl->ctl_ev = event_new(base, ctl->ctl_fd, EV_READ | EV_PERSIST,
	    control_accept_cb, ctl);
	ctl->ctl_pause_ev = evtimer_new(base, control_accept_cb, ctl);
	if (ctl->ctl_ev == NULL || ctl->ctl_pause_ev == NULL ||
	    event_add(ctl->ctl_ev, NULL) == -1) {
		snprintf(err, errlen, "cannot set up the listener's events");
		goto fail;
	}
	ctl->ctl_listening = 1;
	return ctl;
 fail:
	control_free(ctl);
	return NULL;
}

const char *
control_path(const struct control *ctl)
{
	return ctl->ctl_path;
}

void
control_set_timeouts(struct control *ctl, int read_ms, int reply_ms)
{
	if (read_ms > 0) {
		ctl->ctl_read_tv.tv_sec = read_ms / 1000;
		ctl->ctl_read_tv.tv_usec = read_ms % 1000 * 1000;
	}
	if (reply_ms > 0) {
		ctl->ctl_reply_tv.tv_sec = reply_ms / 1000;
		ctl->ctl_reply_tv.tv_usec = reply_ms % 1000 * 1000;
	}
}

int
control_set_limit(struct control *ctl, const char *command, size_t max)
{
	size_t	 i;

	if (strlen(command) > CONTROL_COMMAND_MAX || max == 0 ||
	    max > CONTROL_LIMIT_MAX)
		return -1;
	for (i = 0; i < ctl->ctl_nlimits; i++)
		if (strcmp(ctl->ctl_limits[i].cl_command, command) == 0)
			break;
	if (i == ctl->ctl_nlimits) {
		if (i == CONTROL_NLIMITS)
			return -1;
		/* Length checked above. */
		memcpy(ctl->ctl_limits[i].cl_command, command,
		    strlen(command) + 1);
		ctl->ctl_nlimits++;
	}
	ctl->ctl_limits[i].cl_max = max;
	/* Reading stops at the largest cap; each command's is checked after. */
	ctl->ctl_readmax = CONTROL_REQUEST_MAX;
	for (i = 0; i < ctl->ctl_nlimits; i++)
		if (ctl->ctl_limits[i].cl_max > ctl->ctl_readmax)
			ctl->ctl_readmax = ctl->ctl_limits[i].cl_max;
	return 0;
}

static size_t
control_limit(const struct control *ctl, const char *command)
{
	size_t	 i;

	for (i = 0; i < ctl->ctl_nlimits; i++)
		if (strcmp(ctl->ctl_limits[i].cl_command, command) == 0)
			return ctl->ctl_limits[i].cl_max;
	return CONTROL_REQUEST_MAX;
}

/* Accepting stops while CONTROL_CONNS_MAX are open or accept lacks fds. */
static void
control_listen(struct control *ctl, int on)
{
	if (on == ctl->ctl_listening)
		return;
	if (on)
		event_add(ctl->ctl_ev, NULL);
	else
		event_del(ctl->ctl_ev);
	ctl->ctl_listening = on;
}

static void
control_conn_free(struct control_conn *cc)
{
	struct control	*ctl = cc->cc_ctl;

	/* A pending request stays with the handler; its reply is dropped. */
	if (cc->cc_req != NULL)
		cc->cc_req->r_conn = NULL;
	TAILQ_REMOVE(&ctl->ctl_conns, cc, cc_entry);
	ctl->ctl_nconns--;
	/* Also half-made ones, from control_conn_new(). */
	if (cc->cc_ev_read != NULL)
		event_free(cc->cc_ev_read);
	if (cc->cc_ev_write != NULL)
		event_free(cc->cc_ev_write);
	if (cc->cc_timer != NULL)
		event_free(cc->cc_timer);
	if (cc->cc_in != NULL)
		evbuffer_free(cc->cc_in);
	free(cc->cc_out);
	close(cc->cc_fd);
	free(cc);
	if (ctl->ctl_retired) {
		if (ctl->ctl_nconns == 0)
			control_free(ctl);
		return;
	}
	if (ctl->ctl_nconns < CONTROL_CONNS_MAX &&
	    !evtimer_pending(ctl->ctl_pause_ev, NULL))
		control_listen(ctl, 1);
}

/* Checked before a single byte is read from the peer. */
static int
control_peer_ok(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		return 0;
	}
	*uid = cred.uid;
	*pid = cred.pid;
	if (cred.uid == 0 || cred.uid == geteuid())
		return 1;
	log_warnx("control: refused a connection from uid %ld pid %ld",
	    (long)cred.uid, (long)cred.pid);
	/* Best effort, so widgetctl can say why; never waits for the peer. */
	(void)send(fd, control_denied, sizeof(control_denied) - 1,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	return 0;
}

static void
control_conn_new(struct control *ctl, int fd, uid_t uid, pid_t pid)
{
	struct control_conn	*cc;

	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		log_warnx("control: out of memory");
		close(fd);
		return;
	}
	cc->cc_ctl = ctl;
	cc->cc_fd = fd;
	cc->cc_uid = uid;
	cc->cc_pid = pid;
	cc->cc_state = CS_READ;
	TAILQ_INSERT_TAIL(&ctl->ctl_conns, cc, cc_entry);
	ctl->ctl_nconns++;
	cc->cc_ev_read = event_new(ctl->ctl_base, fd, EV_READ | EV_PERSIST,
	    control_read_cb, cc);
	cc->cc_ev_write = event_new(ctl->ctl_base, fd, EV_WRITE | EV_PERSIST,
	    control_write_cb, cc);
	cc->cc_timer = evtimer_new(ctl->ctl_base, control_timer_cb, cc);
	cc->cc_in = evbuffer_new();
	if (cc->cc_ev_read == NULL || cc->cc_ev_write == NULL ||
	    cc->cc_timer == NULL || cc->cc_in == NULL ||
	    event_add(cc->cc_ev_read, NULL) == -1 ||
	    evtimer_add(cc->cc_timer, &ctl->ctl_read_tv) == -1) {
		log_warnx("control: cannot set up a connection's events");
		control_conn_free(cc);
		return;
	}
	log_debug("control: connection from uid %ld pid %ld", (long)uid,
	    (long)pid);
}

static void
control_accept_cb(int lfd, short what, void *arg)
{
	struct control		*ctl = arg;
	struct timeval		 tv = { CONTROL_ACCEPT_PAUSE, 0 };
	uid_t			 uid;
	pid_t			 pid;
	int			 fd;

	if (what & EV_TIMEOUT) {
		/* The pause after running out of fds is over. */
		if (ctl->ctl_nconns < CONTROL_CONNS_MAX)
			control_listen(ctl, 1);
		return;
	}
	while (ctl->ctl_nconns < CONTROL_CONNS_MAX) {
		fd = accept4(ctl->ctl_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Level-triggered: retrying now would spin. */
			log_warn("control: accept");
			control_listen(ctl, 0);
			evtimer_add(ctl->ctl_pause_ev, &tv);
			return;
		}
		if (!control_peer_ok(fd, &uid, &pid)) {
			close(fd);
			continue;
		}
		control_conn_new(ctl, fd, uid, pid);
	}
	/* Full: the rest wait in the backlog until a connection is done. */
	control_listen(ctl, 0);
}

void
control_free(struct control *ctl)
{
	struct control_conn	*cc;

	if (ctl == NULL)
		return;
	/* Closing the connections below must not free ctl again. */
	ctl->ctl_retired = 0;
	while ((cc = TAILQ_FIRST(&ctl->ctl_conns)) != NULL) {
		/*
		 * A reply just given ("stop") still goes out if the socket
		 * takes it now; a line this small nearly always fits.
		 */
		if (cc->cc_state == CS_WRITE && cc->cc_out != NULL &&
		    cc->cc_outoff < cc->cc_outlen)
			(void)send(cc->cc_fd, cc->cc_out + cc->cc_outoff,
			    cc->cc_outlen - cc->cc_outoff,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		control_conn_free(cc);
	}
	if (ctl->ctl_ev != NULL)
		event_free(ctl->ctl_ev);
	if (ctl->ctl_pause_ev != NULL)
		event_free(ctl->ctl_pause_ev);
	if (ctl->ctl_fd != -1) {
		close(ctl->ctl_fd);
		control_unlink(ctl);
	}
	free(ctl->ctl_path);
	free(ctl);
}

void
control_retire(struct control *ctl)
{
	if (ctl == NULL || ctl->ctl_retired)
		return;
	/* No new peers, and the path is free for the next socket now. */
	if (ctl->ctl_ev != NULL)
		event_free(ctl->ctl_ev);
	if (ctl->ctl_pause_ev != NULL)
		event_free(ctl->ctl_pause_ev);
	ctl->ctl_ev = ctl->ctl_pause_ev = NULL;
	ctl->ctl_listening = 0;
	if (ctl->ctl_fd != -1) {
		close(ctl->ctl_fd);
		control_unlink(ctl);
		ctl->ctl_fd = -1;
	}
	/*
	 * Requests in flight (the reload that moved the socket) still get
	 * their replies; the last connection to finish frees ctl.
	 */
	ctl->ctl_retired = 1;
	if (ctl->ctl_nconns == 0)
		control_free(ctl);
}

/* --- one connection -------------------------------------------------- */

/* Queue the reply line (reply is taken) and switch to writing it. */
static void
control_send(struct control_conn *cc, struct json_object *reply)
{
	struct timeval	 tv = { CONTROL_WRITE_TIMEOUT, 0 };
	const char	*s;
	size_t		 len;

	/* Without an answer the client sees the connection close: an error. */
	s = reply == NULL ? NULL : json_object_to_json_string_ext(reply,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (cc->cc_http) {
		/* An HTTP request gets an HTTP answer, whatever it says. */
		cc->cc_out = control_http_reply(reply, &cc->cc_outlen);
		s = NULL;
	}
	if (s != NULL) {
		len = strlen(s);
		if ((cc->cc_out = malloc(len + 1)) != NULL) {
			memcpy(cc->cc_out, s, len);
			cc->cc_out[len] = '\n';
			cc->cc_outlen = len + 1;
		}
	}
	json_object_put(reply);
	cc->cc_state = CS_WRITE;
	evtimer_add(cc->cc_timer, &tv);
	/* Through the event loop: never free cc under a caller's feet. */
	event_add(cc->cc_ev_write, NULL);
	event_active(cc->cc_ev_write, EV_WRITE, 0);
}

static struct json_object *
control_error(const char *msg)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(o, "ok", json_object_new_boolean(0)) ||
	    json_object_object_add(o, "error", json_object_new_string(msg))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void
control_fail(struct control_conn *cc, const char *msg)
{
	log_debug("control: uid %ld pid %ld: %s", (long)cc->cc_uid,
	    (long)cc->cc_pid, msg);
	evbuffer_drain(cc->cc_in, evbuffer_get_length(cc->cc_in));
	control_send(cc, control_error(msg));
}

int
control_parse(const char *buf, size_t len, struct json_object **request,
    const char **command, char *err, size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL, *c;
	enum json_tokener_error	 jerr;
	const char		*s;
	size_t			 i;

	*request = NULL;
	*command = NULL;
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "malformed request: NUL byte");
		return -1;
	}
	if ((tok = json_tokener_new_ex(CONTROL_JSON_DEPTH)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	/* Strict mode also refuses anything but blanks after the object. */
	o = json_tokener_parse_ex(tok, buf, len);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (o == NULL && jerr != json_tokener_success &&
	    jerr != json_tokener_continue) {
		snprintf(err, errlen, "malformed request: %s",
		    json_tokener_error_desc(jerr));
		goto fail;
	}
	for (i = 0; i < len && strchr(" \t\r", buf[i]) != NULL; i++)
		;
	/* A bare 1 or "x" also waits for more: judge by its first byte. */
	if (o == NULL && jerr == json_tokener_continue && i < len &&
	    buf[i] == '{') {
		snprintf(err, errlen, "malformed request: incomplete JSON");
		goto fail;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "malformed request: not a JSON object");
		goto fail;
	}
	if (!json_object_object_get_ex(o, "command", &c) ||
	    !json_object_is_type(c, json_type_string)) {
		snprintf(err, errlen, "malformed request: no \"command\" "
		    "string");
		goto fail;
	}
	/* The name reaches logs and replies: keep it short and plain. */
	s = json_object_get_string(c);
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (i > 0 &&
		    ((s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))))
			break;
	if (i == 0 || s[i] != '\0' || i > CONTROL_COMMAND_MAX ||
	    (size_t)json_object_get_string_len(c) != i) {
		snprintf(err, errlen, "malformed request: bad command name");
		goto fail;
	}
	*request = o;
	*command = s;
	return 0;
 fail:
	json_object_put(o);
	return -1;
}

/* The request line is complete: len bytes at the front of cc_in. */
static void
control_request(struct control_conn *cc, size_t len)
{
	struct control		*ctl = cc->cc_ctl;
	struct json_object	*o;
	const char		*command, *line;
	char			 err[256];
	size_t			 max;

	if (len > ctl->ctl_readmax) {
		snprintf(err, sizeof(err), "request too large (at most %zu "
		    "bytes)", ctl->ctl_readmax);
		control_fail(cc, err);
		return;
	}
	/* An empty line has no bytes to pull up: NULL. */
	if ((line = (const char *)evbuffer_pullup(cc->cc_in, len)) == NULL)
		line = "";
	if (control_parse(line, len, &o, &command, err, sizeof(err)) == -1) {
		control_fail(cc, err);
		return;
	}
	if (len > (max = control_limit(ctl, command))) {
		json_object_put(o);
		snprintf(err, sizeof(err), "request too large (at most %zu "
		    "bytes)", max);
		control_fail(cc, err);
		return;
	}
	evbuffer_drain(cc->cc_in, evbuffer_get_length(cc->cc_in));
	control_dispatch(cc, o, command);
}

/* A well-formed request (o taken) goes to the handler. */
static void
control_dispatch(struct control_conn *cc, struct json_object *o,
    const char *command)
{
	struct control		*ctl = cc->cc_ctl;
	struct control_req	*req;

	if ((req = calloc(1, sizeof(*req))) == NULL) {
		json_object_put(o);
		control_fail(cc, "out of memory");
		return;
	}
	req->r_conn = cc;
	req->r_request = o;
	req->r_command = command;
	req->r_uid = cc->cc_uid;
	req->r_pid = cc->cc_pid;
	cc->cc_req = req;
	cc->cc_state = CS_WAIT;
	evtimer_add(cc->cc_timer, &ctl->ctl_reply_tv);
	log_debug("control: uid %ld pid %ld: %s", (long)cc->cc_uid,
	    (long)cc->cc_pid, command);
	/* It may answer at once: control_reply() never frees cc itself. */
	ctl->ctl_handler(req, command, o, ctl->ctl_arg);
}

/*
 * The HTTP form: once the whole request is in, it is the "test" command
 * (control_http.c).  Its answer is HTTP too (control_send).
 */
static void
control_http_request(struct control_conn *cc)
{
	struct json_object	*o;
	const char		*buf, *msg;
	size_t			 len = evbuffer_get_length(cc->cc_in);
	int			 status, r;

	cc->cc_http = 1;
	buf = (const char *)evbuffer_pullup(cc->cc_in, -1);
	r = control_http_parse(buf, len, control_limit(cc->cc_ctl, "test"),
	    &o, &status, &msg);
	if (r == 0 && len <= cc->cc_ctl->ctl_readmax +
	    CONTROL_HTTP_HEAD_MAX)
		return;
	if (r == 0) {
		status = 413;
		msg = "request too large";
	}
	evbuffer_drain(cc->cc_in, len);
	if (r == 1) {
		event_del(cc->cc_ev_read);
		control_dispatch(cc, o, "test");
		return;
	}
	log_debug("control: uid %ld pid %ld: HTTP %d: %s", (long)cc->cc_uid,
	    (long)cc->cc_pid, status, msg);
	o = control_error(msg);
	json_object_object_add(o, "status", json_object_new_int(status));
	control_send(cc, o);
}

/* The peer hung up entirely, rather than only shut its writing side. */
static int
control_hungup(int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

static void
control_read_cb(int fd, short what, void *arg)
{
	struct control_conn	*cc = arg;
	struct evbuffer_ptr	 eol;
	struct json_object	*o;
	char			 junk[512];
	size_t			 have;
	ssize_t			 n;

	if (cc->cc_state != CS_READ) {
		/* Anything after the request is ignored; watch for hang-ups. */
		n = read(fd, junk, sizeof(junk));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == 0 && !control_hungup(fd)) {
			/* Half-closed, like `socat -`: it still reads. */
			event_del(cc->cc_ev_read);
			return;
		}
		if (n <= 0)
			control_conn_free(cc);
		return;
	}
	have = evbuffer_get_length(cc->cc_in);
	/* The HTTP form's header lines come on top of the body's cap. */
	n = evbuffer_read(cc->cc_in, fd, (int)(cc->cc_ctl->ctl_readmax + 1 +
	    (cc->cc_http ? CONTROL_HTTP_HEAD_MAX : 0) - have));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		control_conn_free(cc);
		return;
	}
	if (n == 0) {
		/* Closed with nothing said: a liveness probe, no request. */
		if (have == 0 || control_hungup(fd)) {
			control_conn_free(cc);
			return;
		}
		/* Its writing side shut without a newline ends the line. */
		event_del(cc->cc_ev_read);
		if (cc->cc_http) {
			evbuffer_drain(cc->cc_in, have);
			o = control_error("incomplete request");
			json_object_object_add(o, "status",
			    json_object_new_int(400));
			control_send(cc, o);
			return;
		}
		control_request(cc, have);
		return;
	}
	if (cc->cc_http || control_http_is((const char *)evbuffer_pullup(
	    cc->cc_in, 1), evbuffer_get_length(cc->cc_in))) {
		control_http_request(cc);
		return;
	}
	eol = evbuffer_search_eol(cc->cc_in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos != -1)
		control_request(cc, (size_t)eol.pos);
	else if (evbuffer_get_length(cc->cc_in) > cc->cc_ctl->ctl_readmax)
		control_request(cc, evbuffer_get_length(cc->cc_in));
}

static void
control_write_cb(int fd, short what, void *arg)
{
	struct control_conn	*cc = arg;
	ssize_t			 n;

	while (cc->cc_out != NULL && cc->cc_outoff < cc->cc_outlen) {
		n = send(fd, cc->cc_out + cc->cc_outoff,
		    cc->cc_outlen - cc->cc_outoff, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1)
			break;
		cc->cc_outoff += n;
	}
	control_conn_free(cc);
}

static void
control_timer_cb(int fd, short what, void *arg)
{
	struct control_conn	*cc = arg;

	switch (cc->cc_state) {
	case CS_READ:
		control_fail(cc, "timed out reading the request");
		break;
	case CS_WAIT:
		log_warnx("control: %s: no reply in time",
		    cc->cc_req->r_command);
		cc->cc_req->r_conn = NULL;
		cc->cc_req = NULL;
		control_send(cc, control_error("no reply in time"));
		break;
	case CS_WRITE:
		control_conn_free(cc);
		break;
	}
}

/* --- the handler's side ---------------------------------------------- */

int
control_reply(struct control_req *req, struct json_object *reply)
{
	struct control_conn	*cc = req->r_conn;
	int			 rv = -1;

	if (reply == NULL)
		reply = control_error("internal error");
	if (cc != NULL) {
		cc->cc_req = NULL;
		control_send(cc, reply);
		rv = 0;
	} else
		json_object_put(reply);
	json_object_put(req->r_request);
	free(req);
	return rv;
}

int
control_reply_error(struct control_req *req, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return control_reply(req, control_error(msg));
}

uid_t
control_req_peer_uid(const struct control_req *req)
{
	return req->r_uid;
}

pid_t
control_req_peer_pid(const struct control_req *req)
{
	return req->r_pid;
}

int
control_req_gone(const struct control_req *req)
{
	return req->r_conn == NULL;
}
