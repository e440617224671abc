/*
 * idmap.c — pointers by a nonzero 32-bit id (idmap.h).
 */
#include "build.h"

#include <stdlib.h>

#include "idmap.h"

#define IDMAP_MIN	64

/* The slot holding id, or the free slot where it would go. */
static size_t
idmap_slot(const struct idmap *m, uint32_t id)
{
	size_t	 i, mask = m->im_cap - 1;

	for (i = id & mask; m->im_ent[i].ie_id != 0 &&
	    m->im_ent[i].ie_id != id; i = (i + 1) & mask)
		;
	return i;
}

void *
idmap_get(const struct idmap *m, uint32_t id)
{
	size_t	 i;

	if (m->im_cap == 0 || id == 0)
		return NULL;
	i = idmap_slot(m, id);
	return m->im_ent[i].ie_id == id ? m->im_ent[i].ie_p : NULL;
}

int
idmap_set(struct idmap *m, uint32_t id, void *p)
{
	size_t	 i;

	if (m->im_cap == 0 || id == 0)
		return -1;
	i = idmap_slot(m, id);
	if (m->im_ent[i].ie_id != id)
		return -1;
	m->im_ent[i].ie_p = p;
	return 0;
}

int
idmap_put(struct idmap *m, uint32_t id, void *p)
{
	struct idmap_ent	*old = m->im_ent, *ne;
	size_t			 i, oldcap = m->im_cap, cap;

	if (id == 0)
		return -1;
	/* At most half full: probes stay short. */
	if ((m->im_n + 1) * 2 > m->im_cap) {
		cap = oldcap ? oldcap * 2 : IDMAP_MIN;
		if ((ne = calloc(cap, sizeof(*ne))) == NULL)
			return -1;
		m->im_ent = ne;
		m->im_cap = cap;
		for (i = 0; i < oldcap; i++)
			if (old[i].ie_id != 0)
				ne[idmap_slot(m, old[i].ie_id)] = old[i];
		free(old);
	}
	i = idmap_slot(m, id);
	if (m->im_ent[i].ie_id == id)
		return -1;
	m->im_ent[i].ie_id = id;
	m->im_ent[i].ie_p = p;
	m->im_n++;
	return 0;
}

void
idmap_del(struct idmap *m, uint32_t id)
{
	size_t			 i, j, mask = m->im_cap - 1;
	struct idmap_ent	 e;

	if (m->im_cap == 0 || id == 0)
		return;
	i = idmap_slot(m, id);
	if (m->im_ent[i].ie_id != id)
		return;
	/* Backward shift: each entry after it in the run goes in again. */
	m->im_ent[i].ie_id = 0;
	m->im_n--;
	for (j = (i + 1) & mask; m->im_ent[j].ie_id != 0; j = (j + 1) & mask) {
		e = m->im_ent[j];
		m->im_ent[j].ie_id = 0;
		m->im_ent[idmap_slot(m, e.ie_id)] = e;
	}
}

size_t
idmap_count(const struct idmap *m)
{
	return m->im_n;
}

void
idmap_clear(struct idmap *m)
{
	free(m->im_ent);
	m->im_ent = NULL;
	m->im_n = m->im_cap = 0;
}
