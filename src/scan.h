/*
 * scan.h — the content security scan of published widget files
 * (platform-docs §23, SPEC §10 "Scan decisions").
 *
 * Library-style: a buffer in, findings out; no file system, no logging.
 * The publisher scans every file of a build with it and widgetctl scan
 * runs the same code on files an author names.
 */
#ifndef WIDGETD_SCAN_H
#define WIDGETD_SCAN_H

#include <stddef.h>

/* What a file is scanned as, from its name (SPEC §10). */
enum scan_kind {
	SCAN_NONE,		/* not scanned: images, fonts, .svg, ... */
	SCAN_HTML,		/* .html .htm */
	SCAN_JS,		/* .js .mjs .jsx */
	SCAN_CSS		/* .css: unsafe rules only */
};

/* The six categories of platform-docs §23; also bits of sr_categories. */
enum scan_category {
	SCAN_CRYPTO_MINING,
	SCAN_DATA_EXFILTRATION,
	SCAN_PHISHING_REDIRECT,
	SCAN_OBFUSCATION,
	SCAN_EXTERNAL_SCRIPT,
	SCAN_CREDENTIAL,
	SCAN_NCATEGORIES
};

struct scan_finding {
	int		 sf_line;	/* 1-based */
	enum scan_category sf_category;
	char		 sf_msg[160];
};

struct scan_result {
	struct scan_finding *sr_items;
	size_t		 sr_n;
	unsigned int	 sr_categories;	/* 1 << enum scan_category */
};

/*
 * The trusted-CDN allow-list: hosts matched exactly (case-insensitive,
 * after URL parsing).  sp_hosts NULL means scan_default_cdns.
 */
struct scan_policy {
	const char *const *sp_hosts;
	size_t		 sp_nhosts;
};
extern const char *const scan_default_cdns[];	/* NULL-terminated */

/* At most this many findings are kept per file (the scan still fails). */
#define SCAN_MAXFINDINGS	100

enum scan_kind	 scan_kind_for(const char *filename);
const char	*scan_category_name(enum scan_category);
/* 1 when host (as written in a URL, any case) is on the policy's list. */
int		 scan_host_trusted(const struct scan_policy *, const char *host,
		    size_t len);

/*
 * Scan buf as kind; findings are appended to res.  0 on success, -1 when
 * memory ran out (res then holds what was found so far; callers treat it
 * as a failed scan, never as a clean one).
 */
int		 scan_buffer(const struct scan_policy *, enum scan_kind,
		    const char *buf, size_t len, struct scan_result *res);
void		 scan_result_clear(struct scan_result *);

#endif
