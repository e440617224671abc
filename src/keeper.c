/*
 * keeper.c — the only process that will hold secrets and reach upstreams.
 *
 * It runs as keeper_user, undumpable, under its own seccomp filter.  Each
 * worker has one channel to it, made by the parent and handed over with
 * MSG_WORKER_FD.  Every frame a worker sends is checked against the permit
 * table below; anything else closes that worker's channel, is logged by
 * name, and the parent is asked to respawn the worker.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"

#define KEEPER_MAX_SLOTS	1024	/* more workers than any machine needs */

/* A worker's channel is in one of these states. */
enum keeper_state {
	KS_READY = 0x1,		/* idle: may ask for anything permitted */
};

/*
 * The permit table: the message types a worker may send, and in which
 * states.  A type that is not here is never accepted from a worker.  The
 * connector call (MSG_CALL) will join it with its own state machine.
 */
static const struct keeper_permit {
	uint32_t	 kp_type;
	unsigned	 kp_states;
	int		 kp_empty;	/* payload must be empty */
} keeper_permits[] = {
	{ MSG_PING,	KS_READY,	1 },	/* health round trip */
};

struct keeper_worker {
	struct keeper		*kw_k;
	int			 kw_slot;
	struct chan		*kw_chan;
	enum keeper_state	 kw_state;
};

struct keeper {
	struct event_base	*k_base;
	struct widgetd_config	*k_cfg;
	struct chan		*k_parent;
	struct keeper_worker	*k_workers[KEEPER_MAX_SLOTS];
	int			 k_nworkers;
	int			 k_shutdown;
};

static const struct keeper_permit *
keeper_permit_find(uint32_t type)
{
	size_t	 i;

	for (i = 0; i < sizeof(keeper_permits) / sizeof(keeper_permits[0]); i++)
		if (keeper_permits[i].kp_type == type)
			return &keeper_permits[i];
	return NULL;
}

static void
keeper_maybe_exit(struct keeper *k)
{
	/* After MSG_SHUTDOWN, stay until the last worker has gone. */
	if (k->k_shutdown && k->k_nworkers == 0)
		event_base_loopexit(k->k_base, NULL);
}

static void
keeper_worker_free(struct keeper_worker *kw)
{
	struct keeper	*k = kw->kw_k;

	k->k_workers[kw->kw_slot] = NULL;
	k->k_nworkers--;
	chan_free(kw->kw_chan);
	free(kw);
	keeper_maybe_exit(k);
}

static int
keeper_worker_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct keeper_worker		*kw = arg;
	const struct keeper_permit	*p;

	p = keeper_permit_find(m->m_type);
	if (p == NULL || (p->kp_states & kw->kw_state) == 0) {
		log_warnx("worker %d sent %s, not permitted: closing its "
		    "channel", kw->kw_slot, ipc_type_name(m->m_type));
		return -1;
	}
	if (m->m_fd != -1 || (p->kp_empty && ipc_get_end(m) != 0)) {
		log_warnx("worker %d sent a malformed %s: closing its channel",
		    kw->kw_slot, ipc_type_name(m->m_type));
		return -1;
	}
	switch (m->m_type) {
	case MSG_PING:
		chan_send(ch, MSG_PONG, m->m_id, NULL, 0, -1);
		break;
	}
	return 0;
}

static void
keeper_worker_close(struct chan *ch, const char *why, void *arg)
{
	struct keeper_worker	*kw = arg;
	struct keeper		*k = kw->kw_k;
	struct ipc_buf		 b;
	int			 evict;

	/*
	 * Only a frame the keeper refused is the worker's fault; EOF or a
	 * reset is a worker dying, which the parent sees by itself (and an
	 * eviction then could hit its replacement).
	 */
	evict = strcmp(why, "refused message") == 0 ||
	    strcmp(why, "protocol violation") == 0;
	log_debug("worker %d channel closed (%s)", kw->kw_slot, why);
	if (evict) {
		ipc_buf_init(&b);
		if (ipc_put_u32(&b, (uint32_t)kw->kw_slot) == 0)
			chan_send(k->k_parent, MSG_WORKER_EVICT, 0, b.b_data,
			    b.b_len, -1);
		ipc_buf_clear(&b);
	}
	keeper_worker_free(kw);
}

static int
keeper_add_worker(struct keeper *k, struct ipc_msg *m)
{
	struct keeper_worker	*kw;
	uint32_t		 slot;

	if (m->m_fd == -1 || ipc_get_u32(m, &slot) == -1 ||
	    ipc_get_end(m) != 0 || slot >= KEEPER_MAX_SLOTS)
		return -1;
	/* A respawned worker's new channel replaces the dead one's. */
	if (k->k_workers[slot] != NULL)
		keeper_worker_free(k->k_workers[slot]);
	if ((kw = calloc(1, sizeof(*kw))) == NULL) {
		close(m->m_fd);
		goto fail;
	}
	kw->kw_k = k;
	kw->kw_slot = (int)slot;
	kw->kw_state = KS_READY;
	kw->kw_chan = chan_new(k->k_base, m->m_fd, keeper_worker_msg,
	    keeper_worker_close, kw);
	if (kw->kw_chan == NULL) {
		free(kw);
		goto fail;
	}
	k->k_workers[slot] = kw;
	k->k_nworkers++;
	log_debug("worker %u channel up", slot);
	return 0;
fail:
	/* The worker sees EOF and answers 503; better than ending here. */
	log_warnx("%s: out of memory", __func__);
	return 0;
}

static int
keeper_parent_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct keeper	*k = arg;

	switch (m->m_type) {
	case MSG_WORKER_FD:
		return keeper_add_worker(k, m);
	case MSG_SHUTDOWN:
		if (m->m_fd != -1)
			return -1;
		k->k_shutdown = 1;
		keeper_maybe_exit(k);
		return 0;
	case MSG_RELOAD:
		if (m->m_fd != -1)
			return -1;
		return 0;
	default:
		log_warnx("parent sent unexpected %s", ipc_type_name(m->m_type));
		return -1;
	}
}

static void
keeper_parent_close(struct chan *ch, const char *why, void *arg)
{
	log_set_forward(NULL, NULL);
	fatalx("parent channel closed (%s)", why);
}

int
keeper_main(const struct proc_opts *po)
{
	struct keeper	 k;

	memset(&k, 0, sizeof(k));
	log_procname("keeper");
	log_setverbose(po->po_verbose);
	proc_child_signals();
	/* As in the worker: create everything before the sandbox. */
	if ((k.k_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	k.k_parent = chan_new(k.k_base, PROC_CHAN_FD, keeper_parent_msg,
	    keeper_parent_close, &k);
	if (k.k_parent == NULL)
		fatalx("cannot set up the parent channel");
	log_set_forward(proc_log_forward, k.k_parent);

	if ((k.k_cfg = config_load(po->po_conf, proc_log_report, NULL)) == NULL)
		fatalx("%s: invalid configuration", po->po_conf);
	if (proc_raise_nofile() == -1)
		log_warn("cannot raise the open files limit");
	tzset();

	proc_confine(PROC_KEEPER, k.k_cfg);

	chan_send(k.k_parent, MSG_READY, 0, NULL, 0, -1);
	log_debug("ready");
	event_base_dispatch(k.k_base);
	chan_flush_sync(k.k_parent);
	/* As in the worker: no exit handlers under the filter. */
	_exit(0);
}
