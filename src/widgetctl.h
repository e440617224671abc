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
int	ctl_secret_main(struct ctl_globals *, int, char **);	/* ctl_store.c */
int	ctl_variable_main(struct ctl_globals *, int, char **);	/* ctl_store.c */
/*
 * Tell the running daemon that a tenant's secrets (is_secret) or variables
 * changed; 0 when told or when no daemon runs (ctl_store.c).
 */
int	ctl_store_notify(struct ctl_globals *, const char *tenant,
	    int is_secret);

#endif
