/*
 * fnv.h — FNV-1a over NUL-terminated names, for tables keyed by names
 * the configuration chose (tenants, connectors): cheap, and good enough
 * where the table bounds its own size.  Not for keys a client chooses.
 */
#ifndef WIDGETD_FNV_H
#define WIDGETD_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_INIT	0xcbf29ce484222325ULL
#define FNV1A_PRIME	0x100000001b3ULL

/* h carried over the bytes of s. */
static inline uint64_t
fnv1a_str(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * FNV1A_PRIME;
	return h;
}

/* h carried over n bytes of s, ASCII letters folded to lower case. */
static inline uint64_t
fnv1a_lower(uint64_t h, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * FNV1A_PRIME;
	}
	return h;
}

/* Two names as one key: a NUL between them, so "ab","c" is not "a","bc". */
static inline uint64_t
fnv1a_pair(const char *a, const char *b)
{
	return fnv1a_str(fnv1a_str(FNV1A_INIT, a) * FNV1A_PRIME, b);
}

#endif
