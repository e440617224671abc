/*
 * testmode.h — test mode in the worker (the "Test Connection" of
 * platform-docs §18, SPEC §5; worker only).
 *
 * The parent sends MSG_TEST: a request to run as a browser would have
 * asked for it, on a saved connector or an unsaved definition.  The
 * worker runs it through the very pipeline of a browser request
 * (execute.c) on a connection of its own that no socket backs, and sends
 * back MSG_TEST_DONE: the answer, and X-Debug-Request — the resolved
 * request built here, from the plan, where secrets exist only as their
 * template literal.  A process that holds no secret cannot print one.
 */
#ifndef WIDGETD_TESTMODE_H
#define WIDGETD_TESTMODE_H

struct conn;
struct ipc_msg;
struct plan;
struct snap_tenant;
struct worker;

struct testmode;

/* MSG_TEST from the parent: start the run (answered with MSG_TEST_DONE). */
void		 testmode_start(struct worker *, struct ipc_msg *);

/* Hooks of execute.c for a test connection (c->c_test set). */
/* The connector to run: the unsaved definition, or the tenant's saved. */
const struct connector *testmode_connector(struct conn *,
		    const struct snap_tenant *, const char *permalink);
/* The plan goes to the keeper as a test's (PLAN_TEST for a definition). */
void		 testmode_plan(struct conn *, struct plan *);
/* The rendered plan, as X-Debug-Request will show it. */
void		 testmode_debug(struct conn *, const struct plan *);

/* Hooks of worker.c. */
/* The answer is written: send it to the parent. */
void		 testmode_answered(struct conn *);
/* The connection goes: free what test mode added to it. */
void		 testmode_free(struct conn *);

#endif
