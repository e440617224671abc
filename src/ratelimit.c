/*
 * ratelimit.c — GCRA rates and a bounded table of them (ratelimit.h).
 */
#include "build.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"

#define RATELIMIT_BUCKETS	1024	/* hash chains of a table */

void
ratelimit_init(struct ratelimit *rl, double rate, int burst)
{
	if (rate <= 0)
		rate = 1;
	if (burst < 1)
		burst = 1;
	rl->rl_interval = (int64_t)(1e6 / rate);
	if (rl->rl_interval < 1)
		rl->rl_interval = 1;
	rl->rl_tolerance = (int64_t)(burst - 1) * rl->rl_interval;
	rl->rl_tat = 0;
}

int
ratelimit_reserve(struct ratelimit *rl, int64_t now, int64_t max_wait,
    int64_t *wait)
{
	int64_t	 tat = rl->rl_tat > now ? rl->rl_tat : now, w;

	/* The event may go once tat is within the burst tolerance. */
	w = tat - rl->rl_tolerance - now;
	if (w < 0)
		w = 0;
	*wait = w;
	if (w > max_wait)
		return 0;
	rl->rl_tat = tat + rl->rl_interval;
	return 1;
}

int64_t
ratelimit_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct rl_entry {
	struct rl_entry		*re_next;
	struct ratelimit	 re_rl;
	char			 re_key[];
};

struct ratelimit_table {
	struct rl_entry		*rt_buckets[RATELIMIT_BUCKETS];
	size_t			 rt_count;
	size_t			 rt_max;
	double			 rt_rate;
	int			 rt_burst;
};

struct ratelimit_table *
ratelimit_table_new(double rate, int burst, size_t max_keys)
{
	struct ratelimit_table	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->rt_rate = rate;
	t->rt_burst = burst;
	t->rt_max = max_keys > 0 ? max_keys : 1;
	return t;
}

void
ratelimit_table_free(struct ratelimit_table *t)
{
	struct rl_entry	*e, *next;
	size_t		 i;

	if (t == NULL)
		return;
	for (i = 0; i < RATELIMIT_BUCKETS; i++)
		for (e = t->rt_buckets[i]; e != NULL; e = next) {
			next = e->re_next;
			free(e);
		}
	free(t);
}

size_t
ratelimit_table_count(const struct ratelimit_table *t)
{
	return t->rt_count;
}

/* FNV-1a: keys are a user id or an address, nothing adversarial to it
 * beyond chain length, which the table bound caps. */
static size_t
ratelimit_hash(const char *s)
{
	uint32_t	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % RATELIMIT_BUCKETS;
}

/* Drop every entry whose reservations have passed: it equals none. */
static void
ratelimit_table_prune(struct ratelimit_table *t, int64_t now)
{
	struct rl_entry	**ep, *e;
	size_t		  i;

	for (i = 0; i < RATELIMIT_BUCKETS; i++)
		for (ep = &t->rt_buckets[i]; (e = *ep) != NULL;) {
			if (e->re_rl.rl_tat <= now) {
				*ep = e->re_next;
				free(e);
				t->rt_count--;
			} else
				ep = &e->re_next;
		}
}

int
ratelimit_table_check(struct ratelimit_table *t, const char *key,
    int64_t now, int64_t *retry_after)
{
	struct rl_entry	*e;
	size_t		 h = ratelimit_hash(key), len;

	*retry_after = 0;
	for (e = t->rt_buckets[h]; e != NULL; e = e->re_next)
		if (strcmp(e->re_key, key) == 0)
			return ratelimit_reserve(&e->re_rl, now, 0, retry_after);
	if (t->rt_count >= t->rt_max) {
		ratelimit_table_prune(t, now);
		if (t->rt_count >= t->rt_max)
			return 1;
	}
	len = strlen(key);
	if ((e = malloc(sizeof(*e) + len + 1)) == NULL)
		return 1;
	memcpy(e->re_key, key, len + 1);
	ratelimit_init(&e->re_rl, t->rt_rate, t->rt_burst);
	e->re_next = t->rt_buckets[h];
	t->rt_buckets[h] = e;
	t->rt_count++;
	return ratelimit_reserve(&e->re_rl, now, 0, retry_after);
}

int
ratelimit_retry_after(const char *v, time_t now)
{
	struct tm	 tm;
	const char	*end;
	long		 n;
	time_t		 t;

	while (*v == ' ' || *v == '\t')
		v++;
	if (isdigit((unsigned char)*v)) {
		for (n = 0; isdigit((unsigned char)*v); v++) {
			n = n * 10 + (*v - '0');
			if (n > 86400 * 366)
				return -1;
		}
		while (*v == ' ' || *v == '\t')
			v++;
		return *v == '\0' ? (int)n : -1;
	}
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7). */
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	if (t <= now)
		return 0;
	return t - now > 86400 * 366 ? -1 : (int)(t - now);
}
