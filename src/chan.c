/*
 * chan.c — libevent glue for ipc channels (see chan.h).
 */
#include "build.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "ipc.h"

struct chan {
	struct ipc_chan	*ch_ipc;
	struct event	*ch_ev_read;
	struct event	*ch_ev_write;
	chan_msg_fn	 ch_msg;
	chan_close_fn	 ch_close;
	void		*ch_arg;
	int		 ch_defer;	/* write after this loop pass (chan_defer) */
	const char	*ch_failed;	/* set: report on the next read callback */
	enum chan_end	 ch_fail_end;	/* and as what */
	char		 ch_why[192];	/* a refused frame, named */
	char		 ch_reason[128];	/* why the owner refused it */
};

static void
chan_fail(struct chan *ch, const char *why, enum chan_end end)
{
	/*
	 * Never call the owner's close callback from inside chan_send():
	 * the caller may still hold pointers into what that would free.
	 * Defer it to the read callback instead.
	 */
	if (ch->ch_failed == NULL) {
		ch->ch_failed = why;
		ch->ch_fail_end = end;
	}
	event_active(ch->ch_ev_read, EV_READ, 0);
}

static void
chan_read_cb(int fd, short what, void *arg)
{
	struct chan	*ch = arg;
	struct ipc_msg	 m;
	int		 r, err;

	if (ch->ch_failed != NULL) {
		ch->ch_close(ch, ch->ch_fail_end, ch->ch_failed, ch->ch_arg);
		return;
	}
	r = ipc_read(ch->ch_ipc);
	err = errno;
	/* Level-triggered: a spurious wakeup is not an error. */
	if (r == -1 && (err == EAGAIN || err == EINTR))
		r = 1;
	/* A failed channel hands out nothing more: say why it failed. */
	if (r == -1) {
		ch->ch_close(ch, err == EPROTO ? CHAN_VIOLATION : CHAN_ERROR,
		    ipc_chan_error(ch->ch_ipc) != NULL ?
		    ipc_chan_error(ch->ch_ipc) : "read error", ch->ch_arg);
		return;
	}
	/* Frames already buffered are still delivered before an EOF. */
	for (;;) {
		int g = ipc_get(ch->ch_ipc, &m);

		if (g == 0)
			break;
		if (g == -1) {
			ch->ch_close(ch, CHAN_VIOLATION,
			    ipc_chan_error(ch->ch_ipc), ch->ch_arg);
			return;
		}
		ch->ch_reason[0] = '\0';
		if (ch->ch_msg(ch, &m, ch->ch_arg) == -1) {
			/* A refused frame's fds must not leak into the owner. */
			while (m.m_nfds > 0)
				close(m.m_fds[--m.m_nfds]);
			/* Which rule it broke, when the owner said. */
			snprintf(ch->ch_why, sizeof(ch->ch_why),
			    "refused message: %s%s%s", ipc_type_name(m.m_type),
			    ch->ch_reason[0] != '\0' ? ": " : "",
			    ch->ch_reason);
			ch->ch_close(ch, CHAN_VIOLATION, ch->ch_why, ch->ch_arg);
			return;
		}
	}
	if (r == 0)
		ch->ch_close(ch, CHAN_EOF, "end of file", ch->ch_arg);
}

static void
chan_write_cb(int fd, short what, void *arg)
{
	struct chan	*ch = arg;
	int		 r;

	r = ipc_flush(ch->ch_ipc);
	/* The peer's buffer is full: wait until it drains, not spin. */
	if (r == 0)
		event_add(ch->ch_ev_write, NULL);
	else if (r == -1)
		chan_fail(ch, "write error", CHAN_ERROR);
}

/* fd, or rfd and wfd (a pipe each way; fd -1): consumed. */
static struct chan *
chan_make(struct event_base *base, int fd, int rfd, int wfd, int self,
    int peer, chan_msg_fn msg, chan_close_fn cl, void *arg)
{
	struct chan	*ch;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		goto nochan;
	ch->ch_msg = msg;
	ch->ch_close = cl;
	ch->ch_arg = arg;
	if ((ch->ch_ipc = fd != -1 ? ipc_chan_new(fd, self, peer) :
	    ipc_chan_new_pipes(rfd, wfd, self, peer)) == NULL) {
		free(ch);
		goto nochan;
	}
	ch->ch_ev_read = event_new(base, ipc_chan_fd(ch->ch_ipc),
	    EV_READ | EV_PERSIST, chan_read_cb, ch);
	ch->ch_ev_write = event_new(base, ipc_chan_wfd(ch->ch_ipc), EV_WRITE,
	    chan_write_cb, ch);
	if (ch->ch_ev_read == NULL || ch->ch_ev_write == NULL ||
	    event_add(ch->ch_ev_read, NULL) == -1)
		goto fail;
	return ch;
fail:
	chan_free(ch);
	return NULL;
nochan:
	if (fd != -1)
		close(fd);
	else {
		close(rfd);
		close(wfd);
	}
	return NULL;
}

struct chan *
chan_new(struct event_base *base, int fd, int self, int peer,
    chan_msg_fn msg, chan_close_fn cl, void *arg)
{
	return chan_make(base, fd, -1, -1, self, peer, msg, cl, arg);
}

struct chan *
chan_new_pipes(struct event_base *base, int rfd, int wfd, int self, int peer,
    chan_msg_fn msg, chan_close_fn cl, void *arg)
{
	return chan_make(base, -1, rfd, wfd, self, peer, msg, cl, arg);
}

void
chan_free(struct chan *ch)
{
	if (ch == NULL)
		return;
	if (ch->ch_ev_read != NULL)
		event_free(ch->ch_ev_read);
	if (ch->ch_ev_write != NULL)
		event_free(ch->ch_ev_write);
	ipc_chan_free(ch->ch_ipc);
	free(ch);
}

/* After a frame was queued (r 0) or refused (r -1): write, or fail. */
static int
chan_queued_one(struct chan *ch, int r)
{
	if (r == -1) {
		/*
		 * A full queue is the peer's doing: it stopped reading what
		 * it asked for.  That ends the channel as a violation (the
		 * keeper asks for the worker to be replaced), not as an
		 * error that would leave it cut off and alive.
		 */
		if (errno == ENOBUFS)
			chan_fail(ch, "the peer does not read: queue full",
			    CHAN_VIOLATION);
		else
			chan_fail(ch, "cannot queue frame", CHAN_ERROR);
		return -1;
	}
	/*
	 * Deferred: the write callback runs once this pass of the event loop
	 * has run every callback that was ready, so the frames they queued
	 * go in one writev and wake the peer once.
	 */
	if (ch->ch_defer) {
		event_active(ch->ch_ev_write, EV_WRITE, 0);
		return 0;
	}
	/*
	 * Write at once: most frames are small and the socket has room, so
	 * the common case costs no extra trip through the event loop.
	 */
	r = ipc_flush(ch->ch_ipc);
	if (r == 0)
		event_add(ch->ch_ev_write, NULL);
	else if (r == -1) {
		chan_fail(ch, "write error", CHAN_ERROR);
		return -1;
	}
	return 0;
}

int
chan_send(struct chan *ch, uint32_t type, uint32_t id, const void *data,
    size_t len, int fd)
{
	return chan_send_fds(ch, type, id, data, len, &fd, fd != -1 ? 1 : 0);
}

int
chan_send_fds(struct chan *ch, uint32_t type, uint32_t id, const void *data,
    size_t len, const int *fds, int nfds)
{
	int	 r;

	if (ch->ch_failed != NULL) {
		while (nfds > 0)
			close(fds[--nfds]);
		return -1;
	}
	/* The fds become the channel's (no duplicate, no extra close). */
	r = ipc_send_fds(ch->ch_ipc, type, id, data, len, fds, nfds);
	return chan_queued_one(ch, r);
}

int
chan_sendv(struct chan *ch, uint32_t type, uint32_t id,
    const struct iovec *iov, int niov)
{
	if (ch->ch_failed != NULL)
		return -1;
	return chan_queued_one(ch, ipc_sendv(ch->ch_ipc, type, id, iov,
	    niov));
}

int
chan_sendv_given(struct chan *ch, uint32_t type, uint32_t id,
    const struct iovec *iov, int niov, int given, ipc_release_fn release,
    void *arg)
{
	if (ch->ch_failed != NULL) {
		if (given >= 0 && given < niov && iov != NULL &&
		    release != NULL)
			release(iov[given].iov_base, iov[given].iov_len, arg);
		return -1;
	}
	return chan_queued_one(ch, ipc_sendv_given(ch->ch_ipc, type, id, iov,
	    niov, given, release, arg));
}

void
chan_defer(struct chan *ch, int on)
{
	ch->ch_defer = on;
}

void
chan_flush_sync(struct chan *ch)
{
	struct pollfd	 pfd;
	int		 tries = 50;

	if (ch == NULL)
		return;
	/* Bounded (about a second): a stuck parent must not keep us alive. */
	pfd.fd = ipc_chan_wfd(ch->ch_ipc);
	pfd.events = POLLOUT;
	while (tries-- > 0 && ipc_pending(ch->ch_ipc)) {
		if (ipc_flush(ch->ch_ipc) != 0)
			break;
		poll(&pfd, 1, 20);
	}
}

int
chan_pending(const struct chan *ch)
{
	return ipc_pending(ch->ch_ipc);
}

size_t
chan_queued(const struct chan *ch)
{
	return ipc_queued(ch->ch_ipc);
}

int
chan_refuse(struct chan *ch, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(ch->ch_reason, sizeof(ch->ch_reason), fmt, ap);
	va_end(ap);
	return -1;
}
