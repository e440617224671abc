/*
 * keeper_redis.h — connector rates shared by every widgetd through redis.
 *
 * Keeper only: the keeper is the one process that reaches the network, and
 * the only one that decides when an upstream is called.  One reservation
 * is one atomic script run on the redis server (GCRA, the server's clock):
 * instances that share a redis share each connector's rate exactly.  When
 * redis cannot be reached or is slow, the caller is told so
 * (KREDIS_UNAVAILABLE) and applies its local share instead.
 */
#ifndef WIDGETD_KEEPER_REDIS_H
#define WIDGETD_KEEPER_REDIS_H

#include <stdint.h>

struct event_base;
struct metrics;
struct redisReply;

enum kredis_result {
	KREDIS_RESERVED,	/* go after wait µs */
	KREDIS_REFUSED,		/* not within max_wait; wait µs until one */
	KREDIS_UNAVAILABLE	/* no answer: apply the local limit */
};

typedef void	(*kredis_fn)(void *arg, enum kredis_result, int64_t wait);

struct kredis;
struct kredis_req;

/* address: numeric IPv4 or IPv6; prefix names the keys. */
struct kredis	*kredis_new(struct event_base *, const char *address, int port,
		    const char *prefix, struct metrics *);
void		 kredis_free(struct kredis *);
/* 1 once redis has answered the PING on this connection. */
int		 kredis_connected(const struct kredis *);
/*
 * Reserve one call of key at rate/burst within max_wait µs.  fn runs
 * later, once, unless cancelled; NULL (fn never runs) when redis is down.
 */
struct kredis_req *kredis_reserve(struct kredis *, const char *key,
		    double rate, int burst, int64_t max_wait, kredis_fn,
		    void *arg);
void		 kredis_cancel(struct kredis_req *);

/*
 * Bound what reader allocates for an array reply to KREDIS_MAX_ELEMENTS
 * elements: hiredis 0.14 callocs an array header's count at once, so a
 * server's "*999999999" asked for 8 GB.  Such a reply, or an array within
 * an array, is a protocol error (the connection drops and the local rate
 * applies until it is back).
 */
#define KREDIS_MAX_ELEMENTS	16
/*
 * Bound the bytes of a reply the reader holds before it is complete to
 * KREDIS_MAX_BUFFER (one read more at the most): hiredis 0.14 keeps a bulk
 * string's or a line's bytes until its end, whatever length it announces,
 * so a server could make the keeper hold all it sends.  A reply of the
 * script is under 100 bytes; past the bound the connection drops, as on a
 * protocol error.
 */
#define KREDIS_MAX_BUFFER	65536
/*
 * Puts those bounds on a reader, and, given its context (or NULL), makes
 * a reply that no command waits for a protocol error too: hiredis 0.14
 * asserts on one.
 */
struct redisReader;
struct redisAsyncContext;
void		 kredis_reader_bound(struct redisReader *,
		    struct redisAsyncContext *);
/*
 * The script's reply: an array of two integers, reserved (0 or 1) and
 * the wait in µs (0 to 10^12).  0, or -1 when it is anything else.
 */
int		 kredis_reply_parse(const struct redisReply *,
		    enum kredis_result *, int64_t *wait);

#endif
