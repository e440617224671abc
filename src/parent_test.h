/*
 * parent_test.h — test mode's relay in the parent (the control socket's
 * "test" command and POST /widget-service/admin/connectors/test).
 *
 * The parent never runs a connector and never reads a secret: it checks
 * the operator's request (and validates an unsaved Code Mode definition
 * with the daemon's loader, errors with line:col and field path), hands
 * a definition to the keeper that the chosen worker talks to
 * (MSG_TEST_DEF), then the request to that worker (MSG_TEST), and relays
 * the worker's answer (MSG_TEST_DONE) to the operator:
 *
 *	{"ok":true,"status":200,"headers":[["Content-Type","..."],...],
 *	 "body":"...","debug":{...X-Debug-Request...}}
 *
 * ("body_base64" instead of "body" when the answer is not UTF-8), or
 * {"ok":false,"status":N,"error":"...","errors":[...]} when it could not
 * run.  The request object:
 *
 *	{"command":"test","tenant":ID,"permalink":P | "definition":TEXT,
 *	 "definition_name":NAME,"payload":JSON,"query":{k:v}|[[k,v],...],
 *	 "path_params":{k:v},"headers":{k:v}}
 */
#ifndef WIDGETD_PARENT_TEST_H
#define WIDGETD_PARENT_TEST_H

#include <stdint.h>

struct chan;
struct control_req;
struct event_base;
struct ipc_msg;
struct json_object;
struct snapshot;

struct ptests;

struct ptests	*ptests_new(struct event_base *);
/* Tests still running are answered "shutting down". */
void		 ptests_free(struct ptests *);
/*
 * Check request and start it on worker (slot wslot), whose keeper is
 * keeper, with generation sn; req is answered now or later.
 */
void		 ptest_start(struct ptests *, struct control_req *,
		    struct json_object *request, const struct snapshot *sn,
		    struct chan *worker, int wslot, struct chan *keeper);
/*
 * MSG_TEST_DEF_DONE or MSG_TEST_DONE from channel ch.  0 (an answer to
 * no test of ch's is dropped), -1 when malformed: the channel is broken.
 */
int		 ptest_child_msg(struct ptests *, struct chan *ch,
		    struct ipc_msg *);
/* Channel ch is closing: its tests fail now. */
void		 ptest_chan_gone(struct ptests *, struct chan *ch);

#endif
