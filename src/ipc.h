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
	MSG_CONN_FD = 100,	/* parent → worker: fd attached; payload empty */
	MSG_KEEPER_FD,		/* parent → worker: fd of a fresh worker↔keeper channel */
	MSG_RELOAD,		/* parent → child: path of the validated config */
	MSG_SHUTDOWN,		/* parent → child: stop accepting, drain, exit */

	/* worker → keeper (2xx) */
	MSG_PING = 200,		/* worker → keeper: health round trip; empty */

	/* keeper → worker (3xx) */
	MSG_PONG = 300,		/* keeper → worker: answer to MSG_PING; empty */

	/* child → parent (4xx) */
	MSG_LOG = 400,		/* child → parent: u32 priority, string line */
	MSG_CONN_DONE,		/* worker → parent: one connection closed */
	MSG_READY,		/* child → parent: sandboxed and serving */
};

const char	*ipc_type_name(uint32_t type);

#endif
