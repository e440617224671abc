/*
 * decimal.h — an unsigned number's decimal digits without printf.
 *
 * The request path writes a few numbers per call (a port, a length, a
 * status); snprintf parses its format every time, which showed in the
 * profiles.  One definition for every such place.
 */
#ifndef WIDGETD_DECIMAL_H
#define WIDGETD_DECIMAL_H

#include <stddef.h>

/* The digits of v and a NUL at out (at most 21 bytes); the digits' count. */
static inline size_t
dec_put(char *out, unsigned long long v)
{
	char	 tmp[20];
	size_t	 n = 0, i;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

#endif
