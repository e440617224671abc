/*
 * testmsg.c — encoding and checked decoding of test mode's messages (see
 * testmsg.h).  Decoders leave nothing allocated when they fail.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "testmsg.h"

/* Bytes that may hold anything but must end in a NUL for C users. */
static int
testmsg_get_blob(struct ipc_msg *m, char **out, size_t *lenp, size_t max)
{
	const void	*p;
	size_t		 len;

	*out = NULL;
	if (ipc_get_bytes(m, &p, &len) == -1 || len > max ||
	    (*out = malloc(len + 1)) == NULL)
		return -1;
	memcpy(*out, p, len);
	(*out)[len] = '\0';
	*lenp = len;
	return 0;
}

static int
testmsg_put_headers(struct ipc_buf *b, const struct testmsg_header *h,
    uint32_t n)
{
	uint32_t	 i;

	if (n > TESTMSG_MAX_HEADERS || ipc_put_u32(b, n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (ipc_put_str(b, h[i].th_name) == -1 ||
		    ipc_put_str(b, h[i].th_value) == -1)
			return -1;
	return 0;
}

static void
testmsg_headers_free(struct testmsg_header *h, uint32_t n)
{
	uint32_t	 i;

	for (i = 0; h != NULL && i < n; i++) {
		free(h[i].th_name);
		free(h[i].th_value);
	}
	free(h);
}

static int
testmsg_get_headers(struct ipc_msg *m, struct testmsg_header **hp,
    uint32_t *np)
{
	struct testmsg_header	*h;
	uint32_t		 n, i;

	*hp = NULL;
	*np = 0;
	if (ipc_get_u32(m, &n) == -1 || n > TESTMSG_MAX_HEADERS)
		return -1;
	if (n == 0)
		return 0;
	if ((h = calloc(n, sizeof(*h))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (ipc_get_str(m, &h[i].th_name) == -1 ||
		    ipc_get_str(m, &h[i].th_value) == -1) {
			testmsg_headers_free(h, n);
			return -1;
		}
	*hp = h;
	*np = n;
	return 0;
}

int
testmsg_req_encode(struct ipc_buf *b, const struct testmsg_req *q)
{
	ipc_buf_init(b);
	if (ipc_put_u32(b, q->tq_tenant) == -1 ||
	    ipc_put_str(b, q->tq_permalink) == -1 ||
	    ipc_put_str(b, q->tq_defname) == -1 ||
	    ipc_put_bytes(b, q->tq_def, q->tq_deflen) == -1 ||
	    ipc_put_str(b, q->tq_query) == -1 ||
	    testmsg_put_headers(b, q->tq_headers, q->tq_nheaders) == -1 ||
	    ipc_put_u32(b, q->tq_has_body) == -1 ||
	    ipc_put_bytes(b, q->tq_body, q->tq_bodylen) == -1)
		return -1;
	return 0;
}

int
testmsg_req_decode(struct ipc_msg *m, struct testmsg_req *q)
{
	memset(q, 0, sizeof(*q));
	if (ipc_get_u32(m, &q->tq_tenant) == -1 ||
	    ipc_get_str(m, &q->tq_permalink) == -1 ||
	    ipc_get_str(m, &q->tq_defname) == -1 ||
	    testmsg_get_blob(m, &q->tq_def, &q->tq_deflen,
	    TESTMSG_MAX_DEF) == -1 ||
	    ipc_get_str(m, &q->tq_query) == -1 ||
	    testmsg_get_headers(m, &q->tq_headers, &q->tq_nheaders) == -1 ||
	    ipc_get_u32(m, &q->tq_has_body) == -1 || q->tq_has_body > 1 ||
	    testmsg_get_blob(m, &q->tq_body, &q->tq_bodylen,
	    IPC_MAX_PAYLOAD) == -1 || ipc_get_end(m) == -1 ||
	    /* A saved connector, or a definition: exactly one. */
	    (q->tq_permalink[0] == '\0') == (q->tq_deflen == 0)) {
		testmsg_req_clear(q);
		return -1;
	}
	return 0;
}

void
testmsg_req_clear(struct testmsg_req *q)
{
	free(q->tq_permalink);
	free(q->tq_defname);
	free(q->tq_def);
	free(q->tq_query);
	testmsg_headers_free(q->tq_headers, q->tq_nheaders);
	free(q->tq_body);
	memset(q, 0, sizeof(*q));
}

int
testmsg_def_encode(struct ipc_buf *b, const struct testmsg_def *d)
{
	ipc_buf_init(b);
	if (ipc_put_u32(b, d->td_slot) == -1 ||
	    ipc_put_u32(b, d->td_tenant) == -1 ||
	    ipc_put_str(b, d->td_name) == -1 ||
	    ipc_put_bytes(b, d->td_def, d->td_deflen) == -1)
		return -1;
	return 0;
}

int
testmsg_def_decode(struct ipc_msg *m, struct testmsg_def *d)
{
	memset(d, 0, sizeof(*d));
	if (ipc_get_u32(m, &d->td_slot) == -1 || d->td_slot >= IPC_MAX_SLOTS ||
	    ipc_get_u32(m, &d->td_tenant) == -1 ||
	    ipc_get_str(m, &d->td_name) == -1 ||
	    testmsg_get_blob(m, &d->td_def, &d->td_deflen,
	    TESTMSG_MAX_DEF) == -1 || d->td_deflen == 0 ||
	    ipc_get_end(m) == -1) {
		testmsg_def_clear(d);
		return -1;
	}
	return 0;
}

void
testmsg_def_clear(struct testmsg_def *d)
{
	free(d->td_name);
	free(d->td_def);
	memset(d, 0, sizeof(*d));
}

int
testmsg_def_done_encode(struct ipc_buf *b, int ok, const char *why)
{
	ipc_buf_init(b);
	if (ipc_put_u32(b, ok ? 1 : 0) == -1 ||
	    ipc_put_str(b, why != NULL ? why : "") == -1)
		return -1;
	return 0;
}

int
testmsg_def_done_decode(struct ipc_msg *m, int *ok, char **why)
{
	uint32_t	 v;

	*why = NULL;
	if (ipc_get_u32(m, &v) == -1 || v > 1 || ipc_get_str(m, why) == -1 ||
	    ipc_get_end(m) == -1) {
		free(*why);
		*why = NULL;
		return -1;
	}
	*ok = (int)v;
	return 0;
}

int
testmsg_res_encode(struct ipc_buf *b, const struct testmsg_res *r)
{
	ipc_buf_init(b);
	if (ipc_put_u32(b, r->tr_status) == -1 ||
	    testmsg_put_headers(b, r->tr_headers, r->tr_nheaders) == -1 ||
	    ipc_put_bytes(b, r->tr_body, r->tr_bodylen) == -1 ||
	    ipc_put_str(b, r->tr_debug != NULL ? r->tr_debug : "") == -1)
		return -1;
	return 0;
}

int
testmsg_res_decode(struct ipc_msg *m, struct testmsg_res *r)
{
	memset(r, 0, sizeof(*r));
	if (ipc_get_u32(m, &r->tr_status) == -1 || r->tr_status < 100 ||
	    r->tr_status > 599 ||
	    testmsg_get_headers(m, &r->tr_headers, &r->tr_nheaders) == -1 ||
	    testmsg_get_blob(m, &r->tr_body, &r->tr_bodylen,
	    IPC_MAX_PAYLOAD) == -1 ||
	    ipc_get_str(m, &r->tr_debug) == -1 || ipc_get_end(m) == -1) {
		testmsg_res_clear(r);
		return -1;
	}
	return 0;
}

void
testmsg_res_clear(struct testmsg_res *r)
{
	testmsg_headers_free(r->tr_headers, r->tr_nheaders);
	free(r->tr_body);
	free(r->tr_debug);
	memset(r, 0, sizeof(*r));
}
