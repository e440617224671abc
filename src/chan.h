/*
 * chan.h — an ipc channel driven by libevent, shared by every role.
 *
 * ipc.c knows frames; this file knows when to read and write them.  The
 * owner gets one callback per checked frame and one when the channel is
 * finished (EOF, error, or a protocol violation); it must chan_free() then.
 */
#ifndef WIDGETD_CHAN_H
#define WIDGETD_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"		/* ipc_release_fn */

struct event_base;
struct ipc_msg;
struct chan;

/*
 * Frame handler: return 0 to go on, -1 to finish the channel (the close
 * callback then runs).  An fd in m->m_fd belongs to the handler.
 */
typedef int	(*chan_msg_fn)(struct chan *, struct ipc_msg *, void *);

/* How a channel ended. */
enum chan_end {
	CHAN_EOF,		/* the peer closed it (exited, or was killed) */
	CHAN_ERROR,		/* an I/O error, or memory: not the peer's doing */
	CHAN_VIOLATION		/* the peer broke the protocol; why says how */
};
typedef void	(*chan_close_fn)(struct chan *, enum chan_end,
		    const char *why, void *);

/*
 * fd is consumed, also when NULL is returned.  self and peer are the
 * IPC_* roles at the two ends (ipc.h): the catalogue's directions are
 * enforced on every frame.
 */
struct chan	*chan_new(struct event_base *, int fd, int self, int peer,
		    chan_msg_fn, chan_close_fn, void *arg);
/* The same over two pipes, read from rfd, written to wfd: both consumed. */
struct chan	*chan_new_pipes(struct event_base *, int rfd, int wfd,
		    int self, int peer, chan_msg_fn, chan_close_fn, void *arg);
void		 chan_free(struct chan *);
/* Queue a frame and start writing it.  fd (-1 for none) is consumed. */
int		 chan_send(struct chan *, uint32_t type, uint32_t id,
		    const void *data, size_t len, int fd);
/* The same with nfds fds (ipc_send_fds), all consumed whatever happens. */
int		 chan_send_fds(struct chan *, uint32_t type, uint32_t id,
		    const void *data, size_t len, const int *fds, int nfds);
/* A frame whose payload is the pieces of iov end to end (ipc_sendv). */
struct iovec;
int		 chan_sendv(struct chan *, uint32_t type, uint32_t id,
		    const struct iovec *iov, int niov);
/* The same with iov[given] given away (ipc_sendv_given): released once. */
int		 chan_sendv_given(struct chan *, uint32_t type, uint32_t id,
		    const struct iovec *iov, int niov, int given,
		    ipc_release_fn release, void *arg);
/*
 * On: chan_send only queues, and the frames are written once the event
 * loop has run the callbacks that are ready now (one writev for the
 * answers of several events).  Off (the default): written at once.
 */
void		 chan_defer(struct chan *, int);
/* Write what is queued now, blocking briefly (log lines before exit). */
void		 chan_flush_sync(struct chan *);
int		 chan_pending(const struct chan *);
/* Memory held by frames queued and not yet written (ipc_queued). */
size_t		 chan_queued(const struct chan *);
/*
 * In a frame handler: return chan_refuse(ch, "why") to refuse the frame
 * and say which rule it broke; the close callback's why then names the
 * type and the reason ("refused message: MSG_LOG: malformed payload").
 */
int		 chan_refuse(struct chan *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

#endif
