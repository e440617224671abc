/*
 * fuzz_metrics.c — libFuzzer target for metrics_decode: the payload of a
 * MSG_METRICS from a child the parent must not trust (a worker parses
 * untrusted bytes; if it is taken over, this is what it can send).  What
 * decodes must encode to the same table, merge into a total, and render
 * as text with every label as decoded.
 *
 * This file defines only LLVMFuzzerTestOneInput; the replay main() that
 * runs tests/fuzz/corpus/metrics in make check is the shared one.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "metrics.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct metrics		 m, again, sum;
	struct metrics_parent	 mp;
	struct ipc_msg		 msg;
	struct ipc_buf		 b;
	char			*text;
	size_t			 tlen;

	if (len > IPC_MAX_PAYLOAD)
		return 0;
	memset(&msg, 0, sizeof(msg));
	msg.m_data = (unsigned char *)data;
	msg.m_len = (uint32_t)len;
	msg.m_fd = -1;
	if (metrics_decode(&msg, &m) == -1) {
		if (m.m_nrows != 0 || m.m_rows != NULL)
			abort();
		return 0;
	}
	if (metrics_encode(&m, &b) == -1)
		abort();
	memset(&msg, 0, sizeof(msg));
	msg.m_data = b.b_data;
	msg.m_len = (uint32_t)b.b_len;
	if (metrics_decode(&msg, &again) == -1 || again.m_nrows != m.m_nrows)
		abort();
	memset(&sum, 0, sizeof(sum));
	if (metrics_merge(&sum, &m, 0) == -1 || metrics_merge(&sum, &again,
	    1) == -1)
		abort();
	memset(&mp, 0, sizeof(mp));
	if ((text = metrics_render(&sum, &mp, &tlen)) != NULL) {
		if (strlen(text) != tlen || tlen == 0 || text[tlen - 1] != '\n')
			abort();
		free(text);
	}
	metrics_clear(&sum);
	metrics_clear(&again);
	metrics_clear(&m);
	ipc_buf_clear(&b);
	return 0;
}
