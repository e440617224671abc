/*
 * token.h — RFC 9110 §5.6.2 token characters (tchar): methods, header
 * field names, cache directives.  One definition for every parser in the
 * tree, as a table: a load and a test, small enough to be inlined
 * everywhere (as a switch, the keeper's answer parser made it a call for
 * every byte of every header name).
 */
#ifndef WIDGETD_TOKEN_H
#define WIDGETD_TOKEN_H

#include <stddef.h>

static const unsigned char tok_tchars[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1
};

static inline int
tok_tchar(unsigned char c)
{
	return tok_tchars[c];
}

/*
 * RFC 3986 pchar without pct-encoded (checked separately), plus '/': a
 * path's characters, for the worker's request target and the keeper's
 * fast URL check alike.
 */
static inline int
tok_pathchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '-': case '.': case '_': case '~': case '!': case '$':
	case '&': case '\'': case '(': case ')': case '*': case '+':
	case ',': case ';': case '=': case ':': case '@': case '/':
		return 1;
	default:
		return 0;
	}
}

/*
 * No control byte but HTAB, and no DEL, in the n bytes at s: what may go
 * on the wire as a field value (CR, LF and NUL above all).  Every byte is
 * looked at, with no way out early: the compiler makes a vector loop of
 * it, and a value holding a secret takes as long whatever its bytes.
 */
static inline int
tok_clean(const char *s, size_t n)
{
	size_t	 i;
	int	 bad = 0;

	for (i = 0; i < n; i++)
		bad |= ((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f;
	return !bad;
}

/* The n bytes at s are a token: one or more, every one a tchar. */
static inline int
tok_is_token(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!tok_tchar((unsigned char)s[i]))
			return 0;
	return n > 0;
}

#endif
