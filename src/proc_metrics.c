/*
 * proc_metrics.c — a child's counters, pushed to the parent.
 *
 * Workers and keepers count into one struct metrics each (metrics.h).  A
 * timer sends the table to the parent (MSG_METRICS) once a second when it
 * changed, and proc_metrics_flush sends it at once before a child exits,
 * so the parent's totals lose at most a second of a child that crashes.
 * A gauge that changes where nothing counts (the keeper's idle upstream
 * connections, closed by a timer) is read by a refresh function just
 * before each push.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chan.h"
#include "ipc.h"
#include "metrics.h"
#include "proc.h"

#define PROC_METRICS_PERIOD	1	/* seconds between pushes */

static struct {
	struct chan	*pm_chan;
	struct metrics	*pm_metrics;
	struct event	*pm_ev;
	void		(*pm_refresh)(struct metrics *, void *);
	void		*pm_refresh_arg;
} proc_metrics;

void
proc_metrics_refresh(void (*fn)(struct metrics *, void *), void *arg)
{
	proc_metrics.pm_refresh = fn;
	proc_metrics.pm_refresh_arg = arg;
}

void
proc_metrics_flush(void)
{
	struct ipc_buf	 b;

	if (proc_metrics.pm_metrics == NULL)
		return;
	if (proc_metrics.pm_refresh != NULL)
		proc_metrics.pm_refresh(proc_metrics.pm_metrics,
		    proc_metrics.pm_refresh_arg);
	if (!proc_metrics.pm_metrics->m_dirty)
		return;
	if (metrics_encode(proc_metrics.pm_metrics, &b) == 0 &&
	    chan_send(proc_metrics.pm_chan, MSG_METRICS, 0, b.b_data, b.b_len,
	    -1) == 0)
		proc_metrics.pm_metrics->m_dirty = 0;
	ipc_buf_clear(&b);
}

static void
proc_metrics_cb(int fd, short what, void *arg)
{
	proc_metrics_flush();
}

struct metrics *
proc_metrics_start(struct event_base *base, struct chan *parent)
{
	struct timeval	 tv = { PROC_METRICS_PERIOD, 0 };

	if ((proc_metrics.pm_metrics = metrics_new()) == NULL ||
	    (proc_metrics.pm_ev = event_new(base, -1, EV_PERSIST,
	    proc_metrics_cb, NULL)) == NULL ||
	    event_add(proc_metrics.pm_ev, &tv) == -1) {
		metrics_free(proc_metrics.pm_metrics);
		proc_metrics.pm_metrics = NULL;
		return NULL;
	}
	proc_metrics.pm_chan = parent;
	return proc_metrics.pm_metrics;
}
