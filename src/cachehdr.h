/*
 * cachehdr.h — the HTTP header fields the response cache reads and writes
 * (RFC 9111, RFC 9110 §5.6.7 and §8.8.3, RFC 5861).
 *
 * Library-style parsers of untrusted upstream bytes: no logging, no
 * allocation, no process knowledge.  The worker's cache (cache.c) reads
 * upstream answers with them; the keeper (keeper_plan.c) checks with them
 * that the validators a worker asks it to send are what a cache sends.
 */
#ifndef WIDGETD_CACHEHDR_H
#define WIDGETD_CACHEHDR_H

#include <stddef.h>
#include <stdint.h>

/* A delta-seconds value past this is this (RFC 9111 §1.2.2). */
#define CACHEHDR_DELTA_MAX	2147483648LL

/* Directive values: absent, or present but unusable. */
#define CACHEHDR_ABSENT		(-1)
#define CACHEHDR_INVALID	(-2)

/*
 * What the Cache-Control lines of a response say.  Each delta-seconds
 * member is a number of seconds, CACHEHDR_ABSENT, or CACHEHDR_INVALID
 * when the argument is not delta-seconds or the directive is repeated
 * with another value (RFC 9111 §4.2.1: such a response is stale).
 */
struct cachehdr_cc {
	int		 cc_no_store;
	int		 cc_no_cache;		/* with field names or not */
	int		 cc_private;		/* with field names or not */
	int		 cc_public;
	int		 cc_must_revalidate;
	int		 cc_proxy_revalidate;
	int64_t		 cc_max_age;
	int64_t		 cc_s_maxage;
	int64_t		 cc_stale_if_error;	/* RFC 5861 */
};

void		 cachehdr_cc_init(struct cachehdr_cc *);
/*
 * Add one Cache-Control field line (len bytes, need not be
 * NUL-terminated) to cc.  A list element that is not a directive is
 * ignored, as RFC 9111 §5.2 asks of unknown directives.
 */
void		 cachehdr_cc_parse(struct cachehdr_cc *, const char *, size_t);

/*
 * An HTTP-date (IMF-fixdate, and the obsolete RFC 850 and asctime forms a
 * recipient must accept) as seconds since the epoch.  0, or -1 when it is
 * not one.
 */
int		 cachehdr_date(const char *, size_t, int64_t *);
/* delta-seconds: 1*DIGIT, capped at CACHEHDR_DELTA_MAX.  0, or -1. */
int		 cachehdr_delta(const char *, size_t, int64_t *);
/*
 * One entity-tag, strong ("x") or weak (W/"x"), surrounded by optional
 * white space: 1 when s is exactly that, else 0.
 */
int		 cachehdr_etag_ok(const char *, size_t);
/*
 * If-None-Match (RFC 9110 §13.1.2): 1 when the header (NULL when absent)
 * is "*" or lists etag, compared weakly (W/"x" matches "x"); 0 otherwise,
 * and for anything that is not a list of entity-tags.
 */
int		 cachehdr_inm_match(const char *if_none_match, const char *etag);
/*
 * Retry-After: delta-seconds or an HTTP-date, as seconds from now (never
 * negative).  0, or -1 when it is neither.
 */
int		 cachehdr_retry_after(const char *, size_t, int64_t now,
		    int64_t *secs);

#endif
