/*
 * rowidx.h — rows of a growing array, found by a hash of their key.
 *
 * The tables a request looks into (tenants by Host, metrics rows, call
 * counters) hold a row per tenant or connector, thousands on a large
 * host: a walk over them would make every request pay for the size of
 * the deployment.  A rowidx maps a 64-bit hash to the rows that have it
 * (open addressing, at most half full, each slot the hash and the row's
 * index); the caller compares the keys of the rows it is given, so two
 * keys with one hash are still told apart.  Rows are only added, never
 * moved or removed (clear it and add them again to rebuild).
 *
 * Library code: no logging, no process knowledge.
 */
#ifndef WIDGETD_ROWIDX_H
#define WIDGETD_ROWIDX_H

#include <stddef.h>
#include <stdint.h>

struct rowidx_slot {
	uint64_t	 rs_hash;
	uint32_t	 rs_row;	/* the row's index + 1; 0: empty */
};

struct rowidx {
	struct rowidx_slot *ri_slot;
	size_t		 ri_n;
	size_t		 ri_cap;	/* a power of two, or 0 */
};

/* Where rowidx_next starts. */
#define ROWIDX_BEGIN	SIZE_MAX

/*
 * The next row with hash h, as its index + 1, or 0 when there is none
 * left; *pos starts at ROWIDX_BEGIN and carries the search on.
 */
size_t		 rowidx_next(const struct rowidx *, uint64_t h, size_t *pos);
/* Row (below UINT32_MAX) under hash h: 0, or -1 when out of memory. */
int		 rowidx_add(struct rowidx *, uint64_t h, size_t row);
void		 rowidx_clear(struct rowidx *);

/*
 * For each of names[0..n): the index of the first name equal to it (ASCII
 * case folded when fold), its own for a first one.  A caller's query and
 * an upstream's headers may hold hundreds of names, and a walk back for
 * each would be quadratic.  It cannot fail: without memory for its
 * index it walks back.
 */
void		 rowidx_firsts(char *const *names, size_t n, int fold,
		    size_t *first);

#endif
