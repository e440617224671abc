/*
 * spare.h — freed blocks of a kind, kept for the next ones.
 *
 * A structure or buffer of 1 KiB or more that the request path allocates
 * and frees once per request misses glibc's per-thread cache (1032 bytes
 * at most) and makes malloc merge every small free chunk first.  A
 * single-threaded process keeps a few instead: as many as the calls that
 * are commonly in flight at once, so that a burst of overlapping calls
 * takes and returns blocks here rather than in malloc.  Sanitizer builds
 * keep nothing: a block that is never freed would hide a use after free
 * from ASan.
 */
#ifndef WIDGETD_SPARE_H
#define WIDGETD_SPARE_H

#include <stddef.h>
#include <stdlib.h>

#define SPARE_MAX	16	/* blocks kept of a kind */

struct spare {
	void	*sp_block[SPARE_MAX];
	size_t	 sp_size[SPARE_MAX];	/* what the putter said it holds */
	size_t	 sp_n;
};

/* Keep p (of size bytes) if there is room: NULL, or p for the caller to free. */
static inline void *
spare_put(struct spare *s, void *p, size_t size)
{
#ifndef WIDGETD_SANITIZED
	if (p != NULL && s->sp_n < SPARE_MAX) {
		s->sp_block[s->sp_n] = p;
		s->sp_size[s->sp_n++] = size;
		return NULL;
	}
#else
	(void)s;
	(void)size;
#endif
	return p;
}

/* A kept block (NULL: none), the one put last; *sizep its size if asked. */
static inline void *
spare_take(struct spare *s, size_t *sizep)
{
	if (s->sp_n == 0)
		return NULL;
	s->sp_n--;
	if (sizep != NULL)
		*sizep = s->sp_size[s->sp_n];
	return s->sp_block[s->sp_n];
}

/*
 * The kept block put last if it holds need bytes (*sizep its size), else
 * NULL: one too small is freed (its keeper wiped it when it was put).
 */
static inline void *
spare_take_fit(struct spare *s, size_t need, size_t *sizep)
{
	void	*p;

	if ((p = spare_take(s, sizep)) != NULL && *sizep < need) {
		free(p);
		p = NULL;
	}
	return p;
}

#endif
