/*
 * rowidx.c — rows of a growing array, found by a hash of their key
 * (rowidx.h).
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fnv.h"
#include "rowidx.h"

#define ROWIDX_MIN	32

size_t
rowidx_next(const struct rowidx *ri, uint64_t h, size_t *pos)
{
	size_t	 mask = ri->ri_cap - 1, i;

	if (ri->ri_cap == 0)
		return 0;
	i = *pos == ROWIDX_BEGIN ? h & mask : (*pos + 1) & mask;
	for (; ri->ri_slot[i].rs_row != 0; i = (i + 1) & mask)
		if (ri->ri_slot[i].rs_hash == h) {
			*pos = i;
			return ri->ri_slot[i].rs_row;
		}
	*pos = i;
	return 0;
}

/* s into a table with room for it. */
static void
rowidx_place(struct rowidx_slot *slot, size_t cap, struct rowidx_slot s)
{
	size_t	 mask = cap - 1, i;

	for (i = s.rs_hash & mask; slot[i].rs_row != 0; i = (i + 1) & mask)
		;
	slot[i] = s;
}

int
rowidx_add(struct rowidx *ri, uint64_t h, size_t row)
{
	struct rowidx_slot	*ns, s;
	size_t			 cap, i;

	if (row >= UINT32_MAX)
		return -1;
	/* At most half full: probes stay short. */
	if ((ri->ri_n + 1) * 2 > ri->ri_cap) {
		cap = ri->ri_cap ? ri->ri_cap * 2 : ROWIDX_MIN;
		if ((ns = calloc(cap, sizeof(*ns))) == NULL)
			return -1;
		for (i = 0; i < ri->ri_cap; i++)
			if (ri->ri_slot[i].rs_row != 0)
				rowidx_place(ns, cap, ri->ri_slot[i]);
		free(ri->ri_slot);
		ri->ri_slot = ns;
		ri->ri_cap = cap;
	}
	s.rs_hash = h;
	s.rs_row = (uint32_t)(row + 1);
	rowidx_place(ri->ri_slot, ri->ri_cap, s);
	ri->ri_n++;
	return 0;
}

void
rowidx_clear(struct rowidx *ri)
{
	free(ri->ri_slot);
	ri->ri_slot = NULL;
	ri->ri_n = ri->ri_cap = 0;
}

/* first[i] for names[0..n) by walking back from each. */
static void
rowidx_firsts_walk(char *const *names, size_t n, int fold, size_t *first)
{
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if ((fold ? strcasecmp(names[j], names[i]) :
			    strcmp(names[j], names[i])) == 0)
				break;
		first[i] = j;
	}
}

/*
 * A walk back for a few names, an index for more; the walk too when the
 * index cannot have its memory (slower, the same answer).
 */
void
rowidx_firsts(char *const *names, size_t n, int fold, size_t *first)
{
	struct rowidx	 ri;
	size_t		 i, j, pos;
	uint64_t	 h;

	if (n <= 8) {
		rowidx_firsts_walk(names, n, fold, first);
		return;
	}
	memset(&ri, 0, sizeof(ri));
	for (i = 0; i < n; i++) {
		h = fold ? fnv1a_lower(FNV1A_INIT, names[i], strlen(names[i])) :
		    fnv1a_str(FNV1A_INIT, names[i]);
		pos = ROWIDX_BEGIN;
		while ((j = rowidx_next(&ri, h, &pos)) != 0 &&
		    (fold ? strcasecmp(names[j - 1], names[i]) :
		    strcmp(names[j - 1], names[i])) != 0)
			;
		first[i] = j != 0 ? j - 1 : i;
		/* only first ones go in: a match is the first of its name */
		if (j == 0 && rowidx_add(&ri, h, i) == -1) {
			rowidx_clear(&ri);
			rowidx_firsts_walk(names, n, fold, first);
			return;
		}
	}
	rowidx_clear(&ri);
}
