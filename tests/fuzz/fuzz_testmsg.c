#include "build.h"
/*
 * fuzz_testmsg — payloads of test mode's messages (testmsg.c) as a
 * worker, a keeper or the parent decode them.  Each decoder must refuse
 * or accept without reading past the payload or leaking, and what it
 * accepts must encode again to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "testmsg.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct ipc_msg
fuzz_msg(const uint8_t *data, size_t size)
{
	struct ipc_msg	 m;

	memset(&m, 0, sizeof(m));
	m.m_data = (unsigned char *)data;
	m.m_len = (uint32_t)size;
	m.m_fd = -1;
	return m;
}

static void
fuzz_same(const struct ipc_buf *b, const uint8_t *data, size_t size)
{
	if (b->b_len != size || memcmp(b->b_data, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct testmsg_req	 q;
	struct testmsg_def	 d;
	struct testmsg_res	 r;
	struct ipc_msg		 m;
	struct ipc_buf		 b;
	char			*why;
	int			 ok;

	m = fuzz_msg(data, size);
	if (testmsg_req_decode(&m, &q) == 0) {
		if (testmsg_req_encode(&b, &q) == -1)
			abort();
		fuzz_same(&b, data, size);
		ipc_buf_clear(&b);
		testmsg_req_clear(&q);
	}
	m = fuzz_msg(data, size);
	if (testmsg_def_decode(&m, &d) == 0) {
		if (testmsg_def_encode(&b, &d) == -1)
			abort();
		fuzz_same(&b, data, size);
		ipc_buf_clear(&b);
		testmsg_def_clear(&d);
	}
	m = fuzz_msg(data, size);
	if (testmsg_res_decode(&m, &r) == 0) {
		if (testmsg_res_encode(&b, &r) == -1)
			abort();
		fuzz_same(&b, data, size);
		ipc_buf_clear(&b);
		testmsg_res_clear(&r);
	}
	m = fuzz_msg(data, size);
	if (testmsg_def_done_decode(&m, &ok, &why) == 0)
		free(why);
	return 0;
}
