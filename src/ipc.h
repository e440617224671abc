/*
 * ipc.h — frames between widgetd's processes, and the message catalogue.
 *
 * Every frame on a SOCK_STREAM socketpair is a 12-byte header
 *	u32 type, u32 id, u32 len		(host byte order: same machine)
 * followed by len bytes of payload, len <= IPC_MAX_PAYLOAD.  Payloads are
 * a sequence of fields written with ipc_put_* and read with ipc_get_*, each
 * length-checked.  An fd travels with a frame as SCM_RIGHTS (at most one).
 *
 * Message types are numbered in blocks by direction.  Every type lists who
 * sends it and what follows it.  Anything unknown, oversized or malformed
 * closes the channel.
 */
#ifndef WIDGETD_IPC_H
#define WIDGETD_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_HDR_LEN		12
#define IPC_MAX_PAYLOAD		(16 * 1024 * 1024)

enum msg_type {
	/* parent → child (1xx) */
	MSG_CONN_FD = 100,	/* parent → worker: fd attached (a TCP socket); payload empty */
	MSG_KEEPER_FD,		/* parent → worker: fd attached (AF_UNIX stream) of a
				 * fresh worker↔keeper channel; payload empty */
	MSG_RELOAD,		/* parent → child: string path of the validated config */
	MSG_SHUTDOWN,		/* parent → child: stop accepting, drain, exit; empty */
	MSG_WORKER_FD,		/* parent → keeper: fd attached (AF_UNIX stream) of a
				 * fresh worker↔keeper channel; u32 worker slot
				 * (the new channel replaces that slot's) */

	/* worker → keeper (2xx) */
	MSG_PING = 200,		/* worker → keeper: health round trip; empty */
	MSG_CALL,		/* worker → keeper: id = request id; the call plan
				 * (tenant, connector, method, url, headers, query,
				 * body, symbolic fields) as keeper.c decodes it */

	/* keeper → worker (3xx) */
	MSG_PONG = 300,		/* keeper → worker: answer to MSG_PING; empty */
	MSG_RESULT,		/* keeper → worker: id = request id of the MSG_CALL;
				 * u32 status, headers, body, timings */
	MSG_FAIL,		/* keeper → worker: id = request id; u32 scope,
				 * string detail */

	/* child → parent (4xx) */
	MSG_LOG = 400,		/* child → parent: u32 priority, string line */
	MSG_CONN_DONE,		/* worker → parent: one connection closed */
	MSG_READY,		/* child → parent: sandboxed and serving */
	MSG_WORKER_EVICT,	/* keeper → parent: u32 worker slot whose channel
				 * the keeper closed (protocol violation); the
				 * parent kills and respawns that worker */
};

/* "MSG_LOG" etc.; "unknown" for a number outside the catalogue. */
const char	*ipc_type_name(uint32_t type);
/* 1 if type is in the catalogue; 1 if that type travels with exactly one fd. */
int		 ipc_type_known(uint32_t type);
int		 ipc_type_has_fd(uint32_t type);

/*
 * A channel: one end of a socketpair with a read buffer, driven by libevent.
 * ipc_read() pulls bytes (and at most one fd) off the socket; ipc_get()
 * returns the next complete, checked frame.  Any violation (len > max, an fd
 * where none belongs, two fds, MSG_CTRUNC, a non-socket fd) puts the channel
 * in the failed state: the owner must close it.
 */
struct ipc_msg {
	uint32_t	 m_type;
	uint32_t	 m_id;
	uint32_t	 m_len;
	unsigned char	*m_data;	/* owned by the channel until the next ipc_get
					 * or ipc_chan_free; wiped then */
	int		 m_fd;		/* -1 or an fd now owned by the caller */
	size_t		 m_off;		/* read cursor for ipc_get_* */
};

struct ipc_chan;

struct ipc_chan	*ipc_chan_new(int fd);
void		 ipc_chan_free(struct ipc_chan *);	/* closes fd, frees queues */
int		 ipc_chan_fd(const struct ipc_chan *);
/*
 * Read what is available.  1: progress (or nothing yet: EAGAIN; call
 * ipc_get until it returns 0), 0: EOF at a frame boundary, -1: error or
 * violation (EOF inside a frame is one).  Complete frames read before an
 * EOF are still returned by ipc_get first.
 */
int		 ipc_read(struct ipc_chan *);
/* Next frame: 1 and *m filled, 0 none complete yet, -1 protocol violation. */
int		 ipc_get(struct ipc_chan *, struct ipc_msg *m);
/*
 * Queue a frame (payload copied); fd -1 for none.  Flush with ipc_flush.
 * The fd is duplicated: the caller still owns its fd and may close it at
 * once; the channel closes the duplicate after sendmsg.  A type that carries
 * an fd must be given one, any other type must not (-1, EINVAL).
 */
int		 ipc_send(struct ipc_chan *, uint32_t type, uint32_t id,
		    const void *data, size_t len, int fd);
/* Write queued frames.  1 all written, 0 more pending (wait EV_WRITE), -1 error. */
int		 ipc_flush(struct ipc_chan *);
int		 ipc_pending(const struct ipc_chan *);
/* Why the channel failed (a constant string for the log), NULL if it has not. */
const char	*ipc_chan_error(const struct ipc_chan *);

/* Payload building and checked decoding. */
struct ipc_buf {
	unsigned char	*b_data;
	size_t		 b_len;
	size_t		 b_cap;
};
void		 ipc_buf_init(struct ipc_buf *);
void		 ipc_buf_clear(struct ipc_buf *);	/* wipes and frees */
int		 ipc_put_u32(struct ipc_buf *, uint32_t);
int		 ipc_put_bytes(struct ipc_buf *, const void *, size_t);	/* u32 len + bytes */
int		 ipc_put_str(struct ipc_buf *, const char *);
int		 ipc_put_u64(struct ipc_buf *, uint64_t);
int		 ipc_get_u32(struct ipc_msg *, uint32_t *);
int		 ipc_get_u64(struct ipc_msg *, uint64_t *);
/* Points into m->m_data; *lenp bytes.  -1 if it would overrun. */
int		 ipc_get_bytes(struct ipc_msg *, const void **, size_t *lenp);
/* Returns a malloc'd NUL-terminated copy; refuses embedded NULs. */
int		 ipc_get_str(struct ipc_msg *, char **);
/* 0 when every byte of the payload has been consumed. */
int		 ipc_get_end(const struct ipc_msg *);

/* The decoders of the small catalogue messages: 0 or -1 (malformed). */
int		 ipc_send_log(struct ipc_chan *, int prio, const char *line);
int		 ipc_decode_log(struct ipc_msg *, int *prio, char **line);
int		 ipc_send_reload(struct ipc_chan *, const char *path);
int		 ipc_decode_reload(struct ipc_msg *, char **path);

#endif
