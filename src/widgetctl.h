/*
 * widgetctl.h — what the widgetctl commands share.
 */
#ifndef WIDGETD_WIDGETCTL_H
#define WIDGETD_WIDGETCTL_H

struct ctl_globals {
	const char	*g_config;	/* -c, or NULL for the default */
	const char	*g_socket;	/* -s, or NULL for the configured one */
};

/* Each command gets argv with argv[0] = its name; returns the exit status. */
int	ctl_render_main(struct ctl_globals *, int, char **);	/* ctl_render.c */
int	ctl_check_main(struct ctl_globals *, int, char **);	/* ctl_check.c */
int	ctl_scan_main(struct ctl_globals *, int, char **);	/* ctl_scan.c */

/*
 * Read a regular file of at most max bytes into a malloc'd, NUL-terminated
 * buffer; -1 with errno (EFBIG over max, EINVAL not a regular file).
 */
int	ctl_read_file(const char *path, size_t max, char **bufp,
	    size_t *lenp);						/* ctl_check.c */

#endif
