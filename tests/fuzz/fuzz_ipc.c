/*
 * fuzz_ipc — a channel reading arbitrary bytes from a hostile peer.
 *
 * The input is the byte stream one end of a socketpair receives.  It is
 * read twice, all at once and in pseudo-random pieces (the first input
 * byte seeds the split), and both runs must take the same frames and end
 * the same way: a channel's verdict may never depend on how the stream was
 * split.  Every frame taken goes through the catalogue's decoders, which
 * must either succeed within the payload or refuse.  tests/fuzz/replay.c or
 * libFuzzer supplies main().
 */
#include "build.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "plan.h"

#define FUZZ_MAX_INPUT	(64 * 1024)	/* fits a socketpair's buffer */

struct fuzz_outcome {
	uint64_t	 fo_digest;	/* over every frame taken */
	int		 fo_frames;
	const char	*fo_error;	/* NULL: clean end of file */
	char		 fo_errbuf[256];	/* fo_error outlives the channel */
};

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint64_t
fuzz_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*c = p;

	while (n-- > 0)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

/* Decode a frame as its receiver would; the decoders must stay in bounds. */
static void
fuzz_decode(struct ipc_msg *m)
{
	const void	*p;
	size_t		 len;
	uint32_t	 v;
	uint64_t	 v64;
	char		*s;
	int		 prio;

	if (m->m_fd != -1 || m->m_len > IPC_MAX_PAYLOAD)
		abort();
	switch (m->m_type) {
	case MSG_LOG:
		if (ipc_decode_log(m, &prio, &s) == 0) {
			if (prio < 0 || prio > 7 || strlen(s) > m->m_len)
				abort();
			free(s);
		}
		break;
	case MSG_SECRETS:
		if (ipc_decode_secrets(m, &s) == 0) {
			if (s[0] == '\0')
				abort();
			free(s);
		}
		break;
	case MSG_GEN:
	case MSG_SNAPSHOT_DONE:
		if (ipc_decode_gen(m, &v64) == 0 && v64 == 0)
			abort();
		break;
	case MSG_WORKER_EVICT:
		if (ipc_decode_slot(m, &v) == 0 && v >= IPC_MAX_SLOTS)
			abort();
		break;
	case MSG_ACCESS: {
		struct ipc_access	 a;

		if (ipc_decode_access(m, &a) == 0)
			ipc_access_clear(&a);
		break;
	}
	case MSG_PUBLISHED: {
		struct ipc_published	 pb;

		/* What a hostile publisher can make the parent log. */
		if (ipc_decode_published(m, &pb) == 0) {
			if (pb.ip_state > 3 || strlen(pb.ip_commit) > 40 ||
			    strlen(pb.ip_message) > 1024)
				abort();
			ipc_published_clear(&pb);
		}
		break;
	}
	case MSG_STATS: {
		struct ipc_stats	 st;

		if (ipc_decode_stats(m, &st) == 0)
			ipc_stats_clear(&st);
		break;
	}
	case MSG_CALL: {
		struct plan	 pl;
		const char	*why;

		/* The keeper's view of a hostile worker's plan. */
		if (plan_decode(m, &pl, &why) == 0)
			plan_clear(&pl);
		break;
	}
	case MSG_RESULT: {
		struct result	 rs;
		const char	*why;

		if (result_decode(m, &rs, &why) == 0)
			result_clear(&rs);
		break;
	}
	case MSG_FAIL: {
		struct fail	 fl;
		const char	*why;

		if (fail_decode(m, &fl, &why) == 0)
			fail_clear(&fl);
		break;
	}
	default:
		/* A generic walk: fields until one refuses. */
		while (ipc_get_u32(m, &v) == 0 &&
		    ipc_get_u64(m, &v64) == 0 &&
		    ipc_get_bytes(m, &p, &len) == 0) {
			if ((const unsigned char *)p + len >
			    m->m_data + m->m_len)
				abort();
			if (ipc_get_str(m, &s) == 0)
				free(s);
		}
		if (m->m_off > m->m_len)
			abort();
		break;
	}
}

static void
fuzz_run(const uint8_t *data, size_t size, uint32_t seed,
    struct fuzz_outcome *fo)
{
	struct ipc_chan	*c;
	struct ipc_msg	 m;
	size_t		 pos = 0, step;
	int		 sv[2], r = 1, g;

	memset(fo, 0, sizeof(*fo));
	fo->fo_digest = 0xcbf29ce484222325ULL;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if ((c = ipc_chan_new(sv[0], IPC_ANY, IPC_ANY)) == NULL)
		abort();
	for (;;) {
		if (pos < size) {
			step = size - pos;
			if (seed != 0) {
				seed ^= seed << 13;
				seed ^= seed >> 17;
				seed ^= seed << 5;
				step = 1 + seed % (step < 64 ? step : 64);
			}
			if (write(sv[1], data + pos, step) != (ssize_t)step)
				abort();
			pos += step;
		}
		/* All written: the peer hangs up, as a dying child would. */
		if (pos == size && sv[1] != -1) {
			close(sv[1]);
			sv[1] = -1;
		}
		if ((r = ipc_read(c)) == -1)
			break;
		while ((g = ipc_get(c, &m)) == 1) {
			fo->fo_frames++;
			fo->fo_digest = fuzz_hash(fo->fo_digest, &m.m_type, 4);
			fo->fo_digest = fuzz_hash(fo->fo_digest, &m.m_id, 4);
			fo->fo_digest = fuzz_hash(fo->fo_digest, m.m_data,
			    m.m_len);
			fuzz_decode(&m);
		}
		if (g == -1) {
			r = -1;
			break;
		}
		if (r == 0)
			break;
	}
	if (r == -1) {
		if ((fo->fo_error = ipc_chan_error(c)) == NULL)
			abort();
		snprintf(fo->fo_errbuf, sizeof(fo->fo_errbuf), "%s",
		    fo->fo_error);
		fo->fo_error = fo->fo_errbuf;
	}
	/* A clean end of file leaves nothing half-read. */
	if (r == 0 && fo->fo_error != NULL)
		abort();
	ipc_chan_free(c);
	if (sv[1] != -1)
		close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_outcome	 whole, pieces;
	uint32_t		 seed;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	seed = data[0] | 1;
	fuzz_run(data + 1, size - 1, 0, &whole);
	fuzz_run(data + 1, size - 1, seed, &pieces);
	if (whole.fo_frames != pieces.fo_frames ||
	    whole.fo_digest != pieces.fo_digest)
		abort();
	/* Both failed for the same reason, or both ended cleanly. */
	if ((whole.fo_error == NULL) != (pieces.fo_error == NULL) ||
	    (whole.fo_error != NULL &&
	    strcmp(whole.fo_error, pieces.fo_error) != 0))
		abort();
	return 0;
}
