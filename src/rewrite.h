/*
 * rewrite.h — the publisher's HTML transformation (platform-docs §22):
 * relative src, href, data, poster and srcset attributes and CSS url()
 * in the entry HTML become hosted URLs.  A leading / is stripped, so such
 * a path resolves against the widget directory; JavaScript is left alone.
 * Library-style: bytes in, bytes out.
 */
#ifndef WIDGETD_REWRITE_H
#define WIDGETD_REWRITE_H

#include <stddef.h>

struct rewrite_stats {
	size_t		 rs_rewritten;	/* references now hosted */
	size_t		 rs_escaped;	/* relative, but leaving the widget
					   directory: left unchanged */
};

/*
 * Rewrite buf (len bytes).  entry_dir is the entry file's directory
 * inside the widget directory ("" at its top); base is the hosted URL of
 * the widget directory, without a trailing slash.  *out is malloc'd and
 * NUL-terminated.  -1 only when memory runs out.
 */
int	rewrite_html(const char *buf, size_t len, const char *entry_dir,
	    const char *base, char **out, size_t *outlen,
	    struct rewrite_stats *);

/*
 * One reference: the hosted URL for value (vlen bytes), malloc'd, or NULL
 * when it stays as written (absolute, a fragment, a template, a data: URI,
 * or leaving the widget directory: *escaped is then set).
 */
char	*rewrite_url(const char *value, size_t vlen, const char *entry_dir,
	    const char *base, int *escaped);

#endif
