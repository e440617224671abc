/*
 * admit.c — the parent's admission control: connections counted per
 * client address and in total, and which worker holds which (admit.h).
 *
 * Two hash tables with chaining.  Addresses: one record per address with
 * open connections, freed when its count drops to zero.  Connections: one
 * record per connection, found by (owner, seq) when the worker reports it
 * closed; one not handed yet is filed under owner 0 and a number of its
 * own, so every record is in the table and freed with it.  Both hashes are keyed with a random seed
 * drawn at start, so a client cannot choose addresses that collide.
 */
#include "build.h"

#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"

#define ADMIT_ABUCKETS	4096	/* address table */
#define ADMIT_CBUCKETS	16384	/* connection table */
#define ADMIT_KEYLEN	9	/* family, then 4 or 8 address bytes */

struct admit_addr {
	struct admit_addr	*aa_next;
	uint8_t			 aa_key[ADMIT_KEYLEN];
	int			 aa_count;
};

struct admit_conn {
	struct admit_conn	*ac_next;	/* in its connection bucket */
	struct admit_addr	*ac_addr;
	uint32_t		 ac_owner;	/* 0: not handed yet */
	uint32_t		 ac_seq;
};

struct admit {
	struct admit_addr	*a_addrs[ADMIT_ABUCKETS];
	struct admit_conn	*a_conns[ADMIT_CBUCKETS];
	uint64_t		 a_seed;
	uint32_t		 a_unbound_seq;	/* numbers under owner 0 */
	int			 a_per_address;
	int			 a_total_max;
	int			 a_total;
};

static void	admit_uncount(struct admit *, struct admit_conn *);

/* FNV-1a over the seed and the bytes: cheap, and unknown to clients. */
static uint64_t
admit_hash(uint64_t seed, const uint8_t *p, size_t n)
{
	uint64_t	 h = 0xcbf29ce484222325ULL ^ seed;
	size_t		 i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

/*
 * The key a connection is counted under: an IPv4 address, or the /64 of
 * an IPv6 one (a single host is routinely given a whole /64).  An IPv4
 * address mapped into IPv6 counts as the IPv4 address.  0, or -1 for
 * another family.
 */
static int
admit_key(const struct sockaddr *sa, uint8_t key[ADMIT_KEYLEN])
{
	const struct sockaddr_in6	*s6;

	memset(key, 0, ADMIT_KEYLEN);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		key[0] = 4;
		memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
	}
	return 0;
}

const char *
admit_key_str(const struct sockaddr *sa, char *buf, size_t len)
{
	uint8_t		 key[ADMIT_KEYLEN];
	struct in6_addr	 a6;
	char		 tmp[INET6_ADDRSTRLEN];

	if (admit_key(sa, key) == -1)
		snprintf(buf, len, "-");
	else if (key[0] == 4)
		snprintf(buf, len, "%s", inet_ntop(AF_INET, key + 1, tmp,
		    sizeof(tmp)) != NULL ? tmp : "-");
	else {
		memset(&a6, 0, sizeof(a6));
		memcpy(a6.s6_addr, key + 1, 8);
		snprintf(buf, len, "%s/64", inet_ntop(AF_INET6, &a6, tmp,
		    sizeof(tmp)) != NULL ? tmp : "-");
	}
	return buf;
}

struct admit *
admit_new(void)
{
	struct admit	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	/* Without entropy the table still works, only predictably. */
	if (getrandom(&a->a_seed, sizeof(a->a_seed), GRND_NONBLOCK) !=
	    sizeof(a->a_seed))
		a->a_seed = (uint64_t)(uintptr_t)a;
	return a;
}

void
admit_free(struct admit *a)
{
	struct admit_addr	*aa;
	struct admit_conn	*ac;
	size_t			 i;

	if (a == NULL)
		return;
	for (i = 0; i < ADMIT_ABUCKETS; i++)
		while ((aa = a->a_addrs[i]) != NULL) {
			a->a_addrs[i] = aa->aa_next;
			free(aa);
		}
	for (i = 0; i < ADMIT_CBUCKETS; i++)
		while ((ac = a->a_conns[i]) != NULL) {
			a->a_conns[i] = ac->ac_next;
			free(ac);
		}
	free(a);
}

void
admit_set_limits(struct admit *a, int per_address, int total)
{
	a->a_per_address = per_address;
	a->a_total_max = total;
}

static struct admit_addr **
admit_addr_slot(struct admit *a, const uint8_t key[ADMIT_KEYLEN])
{
	struct admit_addr	**pp;

	pp = &a->a_addrs[admit_hash(a->a_seed, key, ADMIT_KEYLEN) %
	    ADMIT_ABUCKETS];
	while (*pp != NULL && memcmp((*pp)->aa_key, key, ADMIT_KEYLEN) != 0)
		pp = &(*pp)->aa_next;
	return pp;
}

int
admit_count(const struct admit *a, const struct sockaddr *sa)
{
	uint8_t		 key[ADMIT_KEYLEN];
	struct admit_addr **pp;

	if (admit_key(sa, key) == -1)
		return 0;
	pp = admit_addr_slot((struct admit *)a, key);
	return *pp != NULL ? (*pp)->aa_count : 0;
}

int
admit_total(const struct admit *a)
{
	return a->a_total;
}

static struct admit_conn **
admit_conn_slot(struct admit *a, uint32_t owner, uint32_t seq)
{
	struct admit_conn	**pp;
	uint8_t			 k[8];

	memcpy(k, &owner, 4);
	memcpy(k + 4, &seq, 4);
	pp = &a->a_conns[admit_hash(a->a_seed, k, sizeof(k)) % ADMIT_CBUCKETS];
	while (*pp != NULL && ((*pp)->ac_owner != owner ||
	    (*pp)->ac_seq != seq))
		pp = &(*pp)->ac_next;
	return pp;
}

/* File ac under its (owner, seq); a record already there goes first. */
static void
admit_link(struct admit *a, struct admit_conn *ac)
{
	struct admit_conn	**pp, *old;

	pp = admit_conn_slot(a, ac->ac_owner, ac->ac_seq);
	/* A number wraps after 2^32 connections: keep one record. */
	if ((old = *pp) != NULL) {
		*pp = old->ac_next;
		admit_uncount(a, old);
		pp = admit_conn_slot(a, ac->ac_owner, ac->ac_seq);
	}
	ac->ac_next = NULL;
	*pp = ac;
}

static void
admit_unlink(struct admit *a, struct admit_conn *ac)
{
	struct admit_conn	**pp;

	pp = admit_conn_slot(a, ac->ac_owner, ac->ac_seq);
	if (*pp == ac)
		*pp = ac->ac_next;
}

/* Uncount ac (out of the connection table already) and free it. */
static void
admit_uncount(struct admit *a, struct admit_conn *ac)
{
	struct admit_addr	**pp, *aa;

	aa = ac->ac_addr;
	a->a_total--;
	if (--aa->aa_count == 0) {
		pp = admit_addr_slot(a, aa->aa_key);
		*pp = aa->aa_next;
		free(aa);
	}
	free(ac);
}

enum admit_result
admit_conn(struct admit *a, const struct sockaddr *sa, struct admit_conn **cp)
{
	uint8_t			 key[ADMIT_KEYLEN];
	struct admit_addr	**pp, *aa;
	struct admit_conn	*ac;

	*cp = NULL;
	if (a->a_total_max > 0 && a->a_total >= a->a_total_max)
		return ADMIT_TOTAL;
	/* Not inet (cannot happen on our listeners): counted together. */
	if (admit_key(sa, key) == -1)
		memset(key, 0, sizeof(key));
	pp = admit_addr_slot(a, key);
	if ((aa = *pp) != NULL && a->a_per_address > 0 &&
	    aa->aa_count >= a->a_per_address)
		return ADMIT_PER_ADDRESS;
	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return ADMIT_NOMEM;
	if (aa == NULL) {
		if ((aa = calloc(1, sizeof(*aa))) == NULL) {
			free(ac);
			return ADMIT_NOMEM;
		}
		memcpy(aa->aa_key, key, sizeof(key));
		*pp = aa;
	}
	aa->aa_count++;
	a->a_total++;
	ac->ac_addr = aa;
	if (++a->a_unbound_seq == 0)
		a->a_unbound_seq = 1;
	ac->ac_seq = a->a_unbound_seq;
	admit_link(a, ac);
	*cp = ac;
	return ADMIT_OK;
}

void
admit_bind(struct admit *a, struct admit_conn *ac, uint32_t owner,
    uint32_t seq)
{
	admit_unlink(a, ac);
	ac->ac_owner = owner;
	ac->ac_seq = seq;
	admit_link(a, ac);
}

void
admit_release(struct admit *a, struct admit_conn *ac)
{
	if (ac == NULL)
		return;
	admit_unlink(a, ac);
	admit_uncount(a, ac);
}

int
admit_done(struct admit *a, uint32_t owner, uint32_t seq)
{
	struct admit_conn	**pp, *ac;

	if (owner == 0)
		return -1;
	pp = admit_conn_slot(a, owner, seq);
	if ((ac = *pp) == NULL)
		return -1;
	*pp = ac->ac_next;
	admit_uncount(a, ac);
	return 0;
}

int
admit_owner_gone(struct admit *a, uint32_t owner)
{
	struct admit_conn	**pp, *ac;
	size_t			 i;
	int			 n = 0;

	if (owner == 0)
		return 0;
	for (i = 0; i < ADMIT_CBUCKETS; i++) {
		pp = &a->a_conns[i];
		while ((ac = *pp) != NULL) {
			if (ac->ac_owner != owner) {
				pp = &ac->ac_next;
				continue;
			}
			*pp = ac->ac_next;
			admit_uncount(a, ac);
			n++;
		}
	}
	return n;
}

int
admit_pick(int n, const int *ready, const int *load, int limit,
    unsigned int *cursor)
{
	int	 i, k;

	for (k = 0; k < n; k++) {
		i = (int)((*cursor + (unsigned int)k) % (unsigned int)n);
		if (ready[i] && load[i] < limit) {
			*cursor = (unsigned int)i + 1;
			return i;
		}
	}
	return -1;
}
