/*
 * admit.h — the parent's admission control and dispatch accounting.
 *
 * Parent only.  The parent sees every accept and every peer address, so
 * it keeps the count of open connections per client address and in
 * total, and refuses a connection over either cap.  It also knows what it
 * handed to each worker: a connection is identified by its worker (an
 * owner number the parent gives each worker process) and its sequence
 * number on that worker's channel (the n-th connection the worker was
 * handed, from 1; both sides count them in the same order).  A worker
 * reports closed connections by those numbers, so it can only release
 * what it was handed and has not released already: it cannot forge
 * capacity for an address or for itself.
 *
 * No I/O and no logging here: the parent logs what this returns.
 */
#ifndef WIDGETD_ADMIT_H
#define WIDGETD_ADMIT_H

#include <sys/socket.h>

#include <stdint.h>

struct admit;
struct admit_conn;

enum admit_result {
	ADMIT_OK = 0,
	ADMIT_PER_ADDRESS,	/* the client's address is at its cap */
	ADMIT_TOTAL,		/* the daemon is at its total cap */
	ADMIT_NOMEM
};

struct admit	*admit_new(void);
/* Frees every record (handed or not); the connections are the caller's. */
void		 admit_free(struct admit *);
/* Caps: per address (IPv4, or an IPv6 /64) and in total; 0 is none. */
void		 admit_set_limits(struct admit *, int per_address, int total);

/*
 * Count a connection just accepted from sa.  ADMIT_OK and *cp its record;
 * otherwise nothing is counted and the caller closes the connection.
 */
enum admit_result admit_conn(struct admit *, const struct sockaddr *sa,
		    struct admit_conn **cp);
/* The connection went to worker owner as its seq-th. */
void		 admit_bind(struct admit *, struct admit_conn *,
		    uint32_t owner, uint32_t seq);
/* It closed before it reached a worker (or its hand-off failed). */
void		 admit_release(struct admit *, struct admit_conn *);
/*
 * Worker owner reports its seq-th connection closed: 0 when that is a
 * connection it holds (released now), -1 when it is not (never handed,
 * or reported before).
 */
int		 admit_done(struct admit *, uint32_t owner, uint32_t seq);
/* Worker owner is gone: release all of its connections; how many. */
int		 admit_owner_gone(struct admit *, uint32_t owner);
/* Open connections: from sa's address, and in total. */
int		 admit_count(const struct admit *, const struct sockaddr *sa);
int		 admit_total(const struct admit *);
/* "192.0.2.1" or "2001:db8::/64" for sa, as the caps count it. */
const char	*admit_key_str(const struct sockaddr *sa, char *buf,
		    size_t len);

/*
 * Which of n workers gets the next connection: round-robin from *cursor
 * over those that are ready and below limit by the parent's own count of
 * what it handed each and saw closed (load[i]).  A worker's reports
 * cannot steer this: fewer open connections do not make it chosen more
 * often.  The index, or -1 when none can take one.
 */
int		 admit_pick(int n, const int *ready, const int *load, int limit,
		    unsigned int *cursor);

#endif
