/*
 * fuzz_redis.c — libFuzzer target for the keeper's reading of redis
 * replies: the input is what a redis server (or whatever listens where
 * redis.address points) sends; hiredis's reader frames it and
 * kredis_reply_parse must accept exactly a two-integer array in range,
 * and refuse anything else without reading out of bounds.
 *
 * This file defines only LLVMFuzzerTestOneInput; the replay main() that
 * runs tests/fuzz/corpus/redis in make check is the shared one.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

#include "keeper_redis.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	redisReader		*rd;
	const redisReply	*rp;
	enum kredis_result	 res;
	void			*reply;
	int64_t			 wait;
	int			 n = 0;

	if ((rd = redisReaderCreate()) == NULL)
		return 0;
	kredis_reader_bound(rd, NULL);
	if (redisReaderFeed(rd, (const char *)data, len) != REDIS_OK)
		goto out;
	/* Every reply in the stream, as the async client would see them. */
	while (n++ < 64 && redisReaderGetReply(rd, &reply) == REDIS_OK &&
	    reply != NULL) {
		rp = reply;
		if (kredis_reply_parse(rp, &res, &wait) == 0 &&
		    (rp->type != REDIS_REPLY_ARRAY || rp->elements != 2 ||
		    wait < 0 || (res != KREDIS_RESERVED &&
		    res != KREDIS_REFUSED)))
			abort();
		freeReplyObject(reply);
	}
out:
	redisReaderFree(rd);
	return 0;
}
