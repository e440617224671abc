/*
 * testmsg.h — the messages of test mode (the "Test Connection" of
 * platform-docs §18, SPEC §5), shared by the parent, the worker and the
 * keeper.  Every decoder bounds every count and length and refuses
 * trailing bytes; strings come back NUL-terminated without embedded NULs.
 *
 *	parent → keeper  MSG_TEST_DEF		an unsaved definition
 *	keeper → parent  MSG_TEST_DEF_DONE	loaded, or why not
 *	parent → worker  MSG_TEST		the request to run
 *	worker → parent  MSG_TEST_DONE		the answer and X-Debug-Request
 */
#ifndef WIDGETD_TESTMSG_H
#define WIDGETD_TESTMSG_H

#include <stddef.h>
#include <stdint.h>

struct ipc_buf;
struct ipc_msg;

#define TESTMSG_MAX_HEADERS	64	/* caller's headers, answer's headers */
#define TESTMSG_MAX_DEF		(1024 * 1024)	/* bytes of a definition */

struct testmsg_header {
	char		*th_name;
	char		*th_value;
};

/* MSG_TEST: what to run, as a browser would have asked for it. */
struct testmsg_req {
	uint32_t	 tq_tenant;	/* tenant index in the generation */
	char		*tq_permalink;	/* a saved connector; "" with a def */
	char		*tq_defname;	/* the definition's name (its file) */
	char		*tq_def;	/* Code Mode JSON, or "" */
	size_t		 tq_deflen;
	char		*tq_query;	/* raw query string, or "" */
	struct testmsg_header *tq_headers;
	uint32_t	 tq_nheaders;
	char		*tq_body;	/* the payload, JSON text */
	size_t		 tq_bodylen;
	uint32_t	 tq_has_body;
};

/* MSG_TEST_DEF: a definition the keeper compiles for one worker's call. */
struct testmsg_def {
	uint32_t	 td_slot;	/* the worker that will call it */
	uint32_t	 td_tenant;
	char		*td_name;
	char		*td_def;
	size_t		 td_deflen;
};

/* MSG_TEST_DONE: the answer as the browser would have had it. */
struct testmsg_res {
	uint32_t	 tr_status;
	struct testmsg_header *tr_headers;
	uint32_t	 tr_nheaders;
	char		*tr_body;
	size_t		 tr_bodylen;
	char		*tr_debug;	/* X-Debug-Request: JSON */
};

int	testmsg_req_encode(struct ipc_buf *, const struct testmsg_req *);
int	testmsg_req_decode(struct ipc_msg *, struct testmsg_req *);
void	testmsg_req_clear(struct testmsg_req *);
int	testmsg_def_encode(struct ipc_buf *, const struct testmsg_def *);
int	testmsg_def_decode(struct ipc_msg *, struct testmsg_def *);
void	testmsg_def_clear(struct testmsg_def *);
int	testmsg_def_done_encode(struct ipc_buf *, int ok, const char *why);
int	testmsg_def_done_decode(struct ipc_msg *, int *ok, char **why);
int	testmsg_res_encode(struct ipc_buf *, const struct testmsg_res *);
int	testmsg_res_decode(struct ipc_msg *, struct testmsg_res *);
void	testmsg_res_clear(struct testmsg_res *);

#endif
