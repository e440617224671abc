/*
 * strcopy.h — a string into a fixed buffer, cut to fit.
 *
 * What snprintf(dst, size, "%s", src) does, without the format machinery
 * (a few hundred instructions a call): the request path copies a host
 * name or a content type into its buffers on every answer.  glibc has no
 * strlcpy before 2.38.
 */
#ifndef WIDGETD_STRCOPY_H
#define WIDGETD_STRCOPY_H

#include <stddef.h>
#include <string.h>

/* At most size - 1 bytes of src, then a NUL; size must be at least 1. */
static inline void
str_copy(char *dst, size_t size, const char *src)
{
	size_t	 n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

#endif
