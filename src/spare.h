/*
 * spare.h — one freed block of a kind, kept for the next one.
 *
 * A structure or buffer of 1 KiB or more that the request path allocates
 * and frees once per request misses glibc's per-thread cache and makes
 * malloc merge every small free chunk first.  A single-threaded process
 * can keep the last one instead.  Sanitizer builds keep nothing: a block
 * that is never freed would hide a use after free from ASan.
 */
#ifndef WIDGETD_SPARE_H
#define WIDGETD_SPARE_H

#include <stddef.h>

/* Keep p in *slot if it is empty: NULL, or p for the caller to free. */
static inline void *
spare_put(void **slot, void *p)
{
#ifndef WIDGETD_SANITIZED
	if (*slot == NULL) {
		*slot = p;
		return NULL;
	}
#endif
	return p;
}

/* What *slot kept (NULL: nothing), and the slot empty again. */
static inline void *
spare_take(void **slot)
{
	void	*p = *slot;

	*slot = NULL;
	return p;
}

#endif
