/*
 * h1_diff.h — keeper_h1.c's fast path held to http-parser's result.
 *
 * Used by fuzz_h1 (every input) and check_h1 (mutations of common
 * answers): the same bytes are read whole twice, with the fast path on
 * and off, and everything a caller can see must be the same.
 */
#ifndef WIDGETD_H1_DIFF_H
#define WIDGETD_H1_DIFF_H
#include <stddef.h>

/*
 * 1: the fast path read the answer and http-parser agrees; 0: the fast
 * path left it to http-parser; -1: they differ (what, in why).
 */
int	 h1_diff(const char *buf, size_t len, int head, char *why,
	    size_t whylen);
#endif
