/*
 * ipc.h — frames between widgetd's processes, and the message catalogue.
 *
 * Every frame on a SOCK_STREAM socketpair is a 12-byte header
 *	u32 type, u32 id, u32 len		(host byte order: same machine)
 * followed by len bytes of payload, len <= IPC_MAX_PAYLOAD.  Payloads are
 * a sequence of fields written with ipc_put_* and read with ipc_get_*, each
 * length-checked.  fds travel with a frame as SCM_RIGHTS: exactly one on
 * the types that carry one, or 1..IPC_MAX_FDS on MSG_CONN_FD, whose payload
 * says how many.
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
#define IPC_MAX_FDS		32	/* fds on one frame (MSG_CONN_FD) */

/*
 * Who is at either end of a channel.  A channel is created knowing both,
 * and ipc.c checks every frame's direction against the catalogue: a worker
 * cannot send what only the parent may send, whatever the type number.
 */
#define IPC_PARENT	0x01
#define IPC_WORKER	0x02
#define IPC_KEEPER	0x04
#define IPC_PUBLISHER	0x08
#define IPC_ANY		(IPC_PARENT | IPC_WORKER | IPC_KEEPER | \
			    IPC_PUBLISHER)	/* tests only */

/*
 * The message catalogue.  Each row: who sends it → who receives it, what
 * travels with it, and the function that decodes its payload (every length
 * checked, strings NUL-terminated, nothing trusted).  ipc.c holds the same
 * rows as data (ipc_types[]); the keeper's permit table in keeper.c says
 * which of the worker's messages it accepts in which state.
 */
enum msg_type {
	/* parent → child (1xx) */
	MSG_CONN_FD = 100,	/* parent → worker; fds: 1..IPC_MAX_FDS
				 * accepted TCP sockets; u32 their number
				 * (checked by ipc.c against what came) */
	MSG_KEEPER_FD,		/* parent → worker; fds: the worker's ends of
				 * a fresh worker↔keeper channel, a pipe's
				 * read end (keeper → worker) then another's
				 * write end (worker → keeper); empty */
	MSG_SNAPSHOT,		/* parent → worker, keeper; fd: sealed memfd
				 * holding a configuration generation
				 * (snapshot.h); u64 generation;
				 * ipc_decode_snapshot */
	MSG_SHUTDOWN,		/* parent → worker, keeper, publisher: drain
				 * and exit; empty */
	MSG_WORKER_FD,		/* parent → keeper; fds: the keeper's ends of
				 * a worker's channel, a pipe's read end
				 * (worker → keeper) then another's write
				 * end (keeper → worker); u32
				 * worker slot (replaces that slot's channel);
				 * ipc_decode_worker_fd */
	MSG_SECRETS,		/* parent → keeper, worker: id = query number;
				 * string tenant id whose secrets changed on
				 * disk (a keeper re-reads them; a worker,
				 * told after every keeper has, drops the
				 * cache entries that named one; both answer
				 * MSG_SECRETS_DONE); ipc_decode_secrets */
	MSG_STATS_REQ,		/* parent → worker: id = query number; send
				 * MSG_STATS; empty */
	MSG_PUBLISH,		/* parent → publisher: id = query number;
				 * publish the watched branch now (answer
				 * MSG_PUBLISHED with the same id); empty */
	MSG_TEST,		/* parent → worker: id = test number; run a
				 * connector in test mode (testmsg.h);
				 * testmsg_req_decode */
	MSG_TEST_DEF,		/* parent → keeper: id = test number; an
				 * unsaved Code Mode definition one worker may
				 * call once (testmsg.h); testmsg_def_decode */
	MSG_METRICS_FD,		/* parent → worker; fd: a connection accepted
				 * on the metrics listener; the exposition
				 * text to answer GET /metrics with (bytes);
				 * ipc_decode_metrics_fd */
	MSG_TEST_ABUSE,		/* parent → worker, only when the parent runs
				 * with WIDGETD_TEST_HOOKS=1 (the test suite):
				 * u32 enum ipc_test_abuse; the worker then
				 * behaves as a compromised one would, so that
				 * tests can show the limits hold */

	/* worker → keeper (2xx) */
	MSG_PING = 200,		/* worker → keeper: health round trip; empty */
	MSG_CALL,		/* worker → keeper: id = call number; a request
				 * plan (plan.h); plan_decode */
	MSG_GEN,		/* worker → keeper: u64 the oldest generation
				 * a request of the worker still runs on
				 * (older ones may be dropped);
				 * ipc_decode_gen */

	/* keeper → worker (3xx) */
	MSG_PONG = 300,		/* keeper → worker: answer to MSG_PING (same
				 * id); empty */
	MSG_RESULT,		/* keeper → worker: id = the MSG_CALL's; the
				 * upstream's answer (plan.h); result_decode */
	MSG_FAIL,		/* keeper → worker: id = the MSG_CALL's; why
				 * no answer came (plan.h); fail_decode */

	/* child → parent (4xx) */
	MSG_LOG = 400,		/* worker, keeper, publisher → parent: u32
				 * priority, string line; ipc_decode_log */
	MSG_CONN_DONE,		/* worker → parent: u32 n (1..IPC_DONE_MAX),
				 * then the n sequence numbers of connections
				 * closed since the last one (the k-th fd the
				 * worker was handed is k, from 1);
				 * ipc_decode_conn_done */
	MSG_READY,		/* worker, keeper, publisher → parent:
				 * sandboxed and serving; empty */
	MSG_WORKER_EVICT,	/* keeper → parent: u32 worker slot whose
				 * channel the keeper closed for a protocol
				 * violation (kill and respawn it);
				 * ipc_decode_worker_evict */
	MSG_SNAPSHOT_DONE,	/* worker, keeper → parent: u64 generation now
				 * in force in that child; ipc_decode_gen */
	MSG_STATS,		/* worker → parent: id = MSG_STATS_REQ's;
				 * per-connector counters; ipc_decode_stats */
	MSG_ACCESS,		/* worker → parent: one access-log record;
				 * ipc_decode_access */
	MSG_SECRETS_DONE,	/* keeper, worker → parent: id =
				 * MSG_SECRETS's; the secrets have been
				 * re-read, or the cache purged; empty */
	MSG_PUBLISHED,		/* publisher → parent: id = MSG_PUBLISH's, 0
				 * when a push started it; one build's
				 * outcome (struct ipc_published);
				 * ipc_decode_published */
	MSG_TEST_DEF_DONE,	/* keeper → parent: id = MSG_TEST_DEF's; u32
				 * loaded (1) or not, string why;
				 * testmsg_def_done_decode */
	MSG_TEST_DONE,		/* worker → parent: id = MSG_TEST's; status,
				 * headers, body and X-Debug-Request
				 * (testmsg.h); testmsg_res_decode */
	MSG_METRICS,		/* worker, keeper → parent: the child's
				 * counters since it started (metrics.h);
				 * metrics_decode */
};

/* What MSG_TEST_ABUSE asks a worker to do. */
enum ipc_test_abuse {
	IPC_ABUSE_LOG_FLOOD = 1,	/* forged, escaped, oversized MSG_LOGs */
	IPC_ABUSE_PING_FLOOD = 2	/* MSG_PINGs, never reading a MSG_PONG */
};

/* "MSG_LOG" etc.; "unknown" for a number outside the catalogue. */
const char	*ipc_type_name(uint32_t type);
/* 1 if type is in the catalogue; 1 if fds travel with that type. */
int		 ipc_type_known(uint32_t type);
int		 ipc_type_has_fd(uint32_t type);
/* How many fds a frame of that type may carry: 0, 1 or IPC_MAX_FDS. */
int		 ipc_type_max_fds(uint32_t type);

/*
 * A channel: one end of a socketpair (or a worker's or keeper's two pipe
 * ends) with a read buffer, driven by libevent.
 * ipc_read() pulls bytes (and the fds of one sendmsg at a time) off the
 * socket; ipc_get() returns the next complete, checked frame.  Any
 * violation (len > max, an fd where none belongs, more or fewer fds than
 * the frame carries, MSG_CTRUNC, an fd of the wrong kind) puts the channel
 * in the failed state, with every fd it held closed: the owner must close
 * it.
 */
struct ipc_msg {
	uint32_t	 m_type;
	uint32_t	 m_id;
	uint32_t	 m_len;
	unsigned char	*m_data;	/* owned by the channel until the next ipc_get
					 * or ipc_chan_free; wiped then */
	int		 m_fds[IPC_MAX_FDS];	/* now owned by the caller */
	int		 m_nfds;
	int		 m_fd;		/* m_fds[0], or -1 when none came */
	size_t		 m_off;		/* read cursor for ipc_get_* */
	struct ipc_chan	*m_chan;	/* whose message (ipc_msg_keep) */
};

struct ipc_chan;

/*
 * fd becomes the channel's; self and peer are IPC_* roles: frames are
 * checked against the catalogue's direction both ways.
 */
struct ipc_chan	*ipc_chan_new(int fd, int self, int peer);
/*
 * The same over two pipes, read from rfd and written to wfd (a worker and
 * its keeper: no fd travels between them).  Both become the channel's on
 * success; on failure both stay the caller's.
 */
struct ipc_chan	*ipc_chan_new_pipes(int rfd, int wfd, int self, int peer);
void		 ipc_chan_free(struct ipc_chan *);	/* closes fd, frees queues */
int		 ipc_chan_fd(const struct ipc_chan *);	/* read from */
int		 ipc_chan_wfd(const struct ipc_chan *);	/* written to */
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
 * an fd must be given one, any other type must not (-1, EINVAL).  For
 * MSG_CONN_FD the payload (the count, 1) is made here: pass none.
 */
int		 ipc_send(struct ipc_chan *, uint32_t type, uint32_t id,
		    const void *data, size_t len, int fd);
/*
 * The same with nfds fds (0..ipc_type_max_fds(type)) that become the
 * channel's at once, not duplicated: closed once sent, and closed at once
 * when -1 is returned.  For MSG_CONN_FD pass no payload: the count is
 * written here.
 */
int		 ipc_send_fds(struct ipc_chan *, uint32_t type, uint32_t id,
		    const void *data, size_t len, const int *fds, int nfds);
/*
 * Queue a frame, no fd, whose payload is the niov pieces of iov end to
 * end: copied once, into the queue, so that a large part (a body) need not
 * first be copied into a payload buffer.
 */
struct iovec;
int		 ipc_sendv(struct ipc_chan *, uint32_t type, uint32_t id,
		    const struct iovec *iov, int niov);
/*
 * The same with iov[given] given away instead of copied: the other pieces
 * are copied into the queue, that one is written from where it lies (a
 * large body is not copied once more on its way), and release(base, len,
 * arg) runs once it is written or the channel is freed, or before the
 * call returns when the frame is refused.  Either way exactly once.
 */
typedef void	(*ipc_release_fn)(const void *base, size_t len, void *arg);
int		 ipc_sendv_given(struct ipc_chan *, uint32_t type, uint32_t id,
		    const struct iovec *iov, int niov, int given,
		    ipc_release_fn release, void *arg);
/* Write queued frames.  1 all written, 0 more pending (wait EV_WRITE), -1 error. */
int		 ipc_flush(struct ipc_chan *);
int		 ipc_pending(const struct ipc_chan *);
/* Memory the queued frames hold: their bytes and their queue entries. */
size_t		 ipc_queued(const struct ipc_chan *);
/* Memory the receiving side holds: the read buffer and the last message's. */
size_t		 ipc_held(const struct ipc_chan *);
/*
 * Keep a message's payload past the next ipc_get: the buffer it lies in
 * (the read buffer of a large one, the buffer a small one was copied to)
 * becomes the caller's, to give back with ipc_kept_free.  NULL for a
 * message already kept: copy what is to be kept then.
 */
void		*ipc_msg_keep(struct ipc_msg *m, size_t *capp);
/* Wipes cap bytes; keeps the buffer for a later message, or frees it. */
void		 ipc_kept_free(void *p, size_t cap);
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
int		 ipc_put_raw(struct ipc_buf *, const void *, size_t);	/* bytes only */
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

/*
 * Encoders and decoders of the catalogue's messages (the plan, result and
 * failure of a connector call are in plan.h).  Decoders return 0, or -1
 * with nothing allocated when the payload is malformed; the caller then
 * fails the channel.
 */
int		 ipc_encode_log(struct ipc_buf *, int prio, const char *line);
int		 ipc_send_log(struct ipc_chan *, int prio, const char *line);
int		 ipc_decode_log(struct ipc_msg *, int *prio, char **line);
/* A payload of one number (ipc_buf_init is done here). */
int		 ipc_encode_u32(struct ipc_buf *, uint32_t);
int		 ipc_encode_u64(struct ipc_buf *, uint64_t);
/* MSG_WORKER_FD, MSG_WORKER_EVICT: a worker slot below IPC_MAX_SLOTS. */
#define IPC_MAX_SLOTS	1024
int		 ipc_decode_slot(struct ipc_msg *, uint32_t *slot);
/* MSG_SNAPSHOT, MSG_GEN, MSG_SNAPSHOT_DONE: a generation number (> 0). */
int		 ipc_decode_gen(struct ipc_msg *, uint64_t *gen);
/* MSG_SECRETS: a tenant id (non-empty, printable). */
int		 ipc_decode_secrets(struct ipc_msg *, char **tenant);
/*
 * MSG_CONN_DONE: the sequence numbers of closed connections, 1 to
 * IPC_DONE_MAX of them; seqs has room for IPC_DONE_MAX.
 */
#define IPC_DONE_MAX	1024
int		 ipc_encode_conn_done(struct ipc_buf *, const uint32_t *seqs,
		    uint32_t n);
int		 ipc_decode_conn_done(struct ipc_msg *, uint32_t *seqs,
		    uint32_t *n);

/* MSG_METRICS_FD: the text, pointing into m (at most IPC_MAX_PAYLOAD). */
int		 ipc_decode_metrics_fd(struct ipc_msg *, const void **text,
		    size_t *lenp);

/* MSG_ACCESS: what the parent writes as one access-log line. */
struct ipc_access {
	char		*ia_reqid;
	char		*ia_peer;	/* client address */
	char		*ia_tenant;	/* "-" when none matched */
	char		*ia_method;
	char		*ia_target;	/* the request-target, at most 512 bytes */
	char		*ia_connector;	/* permalink or "-" */
	char		*ia_cache;	/* "-", "hit", "miss" … */
	char		*ia_error;	/* envelope code or "" */
	char		*ia_trace;	/* trace id (32 hex) or "" */
	uint32_t	 ia_status;
	uint32_t	 ia_upstream;	/* upstream status, 0 when none */
	uint64_t	 ia_total_us;
	uint64_t	 ia_external_us;
};
/*
 * MSG_PUBLISHED: what the parent logs, counts and, when ip_changed, takes
 * as a new generation (it reads the generation from disk itself: nothing
 * here is trusted beyond a log line).
 */
struct ipc_published {
	uint64_t	 ip_build;	/* build record number */
	uint32_t	 ip_state;	/* enum publish_state */
	uint32_t	 ip_changed;	/* 1: a new generation is live */
	uint32_t	 ip_files;	/* files in the generation */
	uint32_t	 ip_reused;	/* of which unchanged */
	uint32_t	 ip_warnings;
	char		*ip_commit;	/* 40 hex digits, or "" */
	char		*ip_code;	/* build error code, or "" */
	char		*ip_message;	/* at most 1024 bytes, printable */
	char		*ip_generation;	/* the live one now, or "" */
};
int		 ipc_encode_published(struct ipc_buf *,
		    const struct ipc_published *);
int		 ipc_decode_published(struct ipc_msg *, struct ipc_published *);
void		 ipc_published_clear(struct ipc_published *);

int		 ipc_encode_access(struct ipc_buf *, const struct ipc_access *);
int		 ipc_decode_access(struct ipc_msg *, struct ipc_access *);
void		 ipc_access_clear(struct ipc_access *);

/* MSG_STATS: a worker's per-connector counters since it started. */
#define IPC_STATS_MAX_ROWS	65536
#define IPC_STATS_MAX_CODES	64
struct ipc_stat_code {
	uint32_t	 sc_status;
	uint64_t	 sc_count;
};
/* A connector's calls by what the response cache did (cache.h). */
enum ipc_cache_count {
	IPC_CACHE_HITS,
	IPC_CACHE_MISSES,
	IPC_CACHE_REVALIDATED,	/* 304s that refreshed an entry */
	IPC_CACHE_STALE,	/* stale entries answering an upstream error */
	IPC_CACHE_COLLAPSED,	/* answered by an identical call's answer */
	IPC_CACHE_NCOUNTS
};
/* The worker's cache as a whole. */
enum ipc_cache_total {
	IPC_CACHE_ENTRIES,
	IPC_CACHE_BYTES,
	IPC_CACHE_MEMORY,	/* cache.memory */
	IPC_CACHE_EVICTED,	/* for room (LRU) */
	IPC_CACHE_DROPPED,	/* for a reload or a secret change */
	IPC_CACHE_NTOTALS
};
struct ipc_stat_row {
	char		*sr_tenant;
	char		*sr_permalink;
	uint32_t	 sr_composite;	/* 0 connector, 1 composite */
	uint64_t	 sr_calls;
	uint64_t	 sr_errors;	/* answered with widgetd's envelope */
	uint64_t	 sr_upstream_errors;	/* network errors, timeouts */
	uint64_t	 sr_cache[IPC_CACHE_NCOUNTS];
	struct ipc_stat_code *sr_codes;	/* by HTTP status sent */
	uint32_t	 sr_ncodes;
};
struct ipc_stats {
	struct ipc_stat_row *is_rows;
	uint32_t	 is_nrows;
	uint64_t	 is_cache[IPC_CACHE_NTOTALS];
};
int		 ipc_encode_stats(struct ipc_buf *, const struct ipc_stats *);
int		 ipc_decode_stats(struct ipc_msg *, struct ipc_stats *);
void		 ipc_stats_clear(struct ipc_stats *);

#endif
