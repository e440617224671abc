/*
 * idmap.h — pointers by a nonzero 32-bit id: the calls in flight on an
 * IPC channel, found by the id an answer or a request carries without a
 * walk over every call.  Open addressing, at most half full, deletion by
 * backward shift (no tombstones: probes stay short however many calls
 * come and go).
 *
 * Library code: no logging, no process knowledge.
 */
#ifndef WIDGETD_IDMAP_H
#define WIDGETD_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_ent {
	uint32_t	 ie_id;		/* 0: free */
	void		*ie_p;
};

struct idmap {
	struct idmap_ent *im_ent;
	size_t		 im_n;
	size_t		 im_cap;	/* a power of two, or 0 */
};

/* What id maps to, or NULL. */
void		*idmap_get(const struct idmap *, uint32_t id);
/* id (not 0, not present) to p; -1 when out of memory. */
int		 idmap_put(struct idmap *, uint32_t id, void *p);
/* id to p if present: 0, else -1. */
int		 idmap_set(struct idmap *, uint32_t id, void *p);
/* id gone, if it was there. */
void		 idmap_del(struct idmap *, uint32_t id);
size_t		 idmap_count(const struct idmap *);
void		 idmap_clear(struct idmap *);

#endif
