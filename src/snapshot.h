/*
 * snapshot.h — one configuration generation, read once, handed to every
 * child as the same bytes.
 *
 * The parent reads widgetd.conf (with its @include files), every tenant's
 * connector registry, stored variables and session public key, and the
 * egress CA bundle; validates all of it exactly as the children will use
 * it; and writes it into a sealed memfd numbered with a generation.  Every
 * child of that generation loads the same memfd: it never opens a
 * configuration file, so an edit made without a reload changes nothing,
 * even for a worker that is respawned later.  Secrets are not part of it:
 * only the keeper reads those, from the store.
 */
#ifndef WIDGETD_SNAPSHOT_H
#define WIDGETD_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct registry;
struct widgetd_config;

/* A stored variable (platform-docs §12): plain text, visible. */
struct snap_var {
	char		*sv_name;
	char		*sv_value;	/* NUL-terminated; sv_len bytes */
	size_t		 sv_len;
};

/*
 * The tenant's live published generation (SPEC §10 "Serving"), read by
 * the parent from its published directory (pubdir.h).  Children see the
 * bytes where they lie in the snapshot's mapping: nothing is copied.
 */
struct snap_file {
	char		*sf_path;	/* repository path, as in hosted URLs */
	const unsigned char *sf_data;
	size_t		 sf_len;
};

struct snap_ext {
	char		*se_gen;	/* the generation; NULL: none published */
	const unsigned char *se_manifest;	/* its manifest.json */
	size_t		 se_manifest_len;
	struct snap_file *se_files;	/* sorted by sf_path (children only) */
	size_t		 se_nfiles;
	size_t		 se_nsynced;	/* connectors and composites it synced */
	size_t		 se_own_conns;	/* st_reg's connectors before the */
	size_t		 se_own_comps;	/* synced ones, and composites */
};

struct snap_tenant {
	size_t		 st_index;	/* in sn_cfg->c_tenants */
	struct registry	*st_reg;	/* compiled, immutable: the tenant's
					   registry and, after it, what its
					   repository synced */
	struct snap_ext	 st_ext;
	struct snap_var	*st_vars;	/* sorted by name */
	size_t		 st_nvars;
	char		*st_session_pem;	/* NULL: no sessions */
	size_t		 st_session_len;
};

struct snapshot {
	uint64_t	 sn_gen;
	int		 sn_refs;
	int		 sn_fd;		/* the sealed memfd; -1 once a child
					   has loaded it */
	size_t		 sn_size;	/* bytes in the memfd */
	struct widgetd_config *sn_cfg;
	struct snap_tenant *sn_tenants;	/* sn_cfg->c_ntenants of them */
	char		*sn_ca;		/* egress.ca_file's bytes */
	size_t		 sn_calen;
	void		*sn_map;	/* children: the memfd's bytes, which
					   published files point into */
	size_t		 sn_maplen;
	int		 sn_mapped;	/* sn_map is an mmap, not a malloc */
};

/*
 * Parent (and widgetd -n): read and validate everything the configuration
 * at path names, and seal it into a memfd for generation gen.  NULL on any
 * error, each reported once as "file:line[:col]: message" through report
 * (every error, not only the first).  with_fd 0 skips the memfd (checking
 * only).
 */
struct snapshot	*snapshot_build(const char *path, uint64_t gen, int with_fd,
		    void (*report)(const char *, void *), void *arg);
/*
 * Child: load a generation from a sealed memfd (fd is the caller's; it is
 * not closed).  Opens nothing.  NULL when the bytes are malformed (which
 * only a broken parent can cause) or memory runs out.
 */
struct snapshot	*snapshot_load(int fd, void (*report)(const char *, void *),
		    void *arg);
/*
 * Parent: generation gen, the same as old (whose memfd is read back: the
 * configuration, registries, variables and keys exactly as validated
 * then, no file re-read) but with every tenant's live published
 * generation read again: what a publish hands the children.  NULL when
 * the result does not load (a synced connector now clashes), reported.
 */
struct snapshot	*snapshot_republish(const struct snapshot *old, uint64_t gen,
		    void (*report)(const char *, void *), void *arg);
struct snapshot	*snapshot_ref(struct snapshot *);
/* Drop a reference; the last one frees everything and closes sn_fd. */
void		 snapshot_unref(struct snapshot *);

/* The tenant a request's Host selects (config_tenant_for_host). */
const struct snap_tenant *snapshot_tenant_for_host(const struct snapshot *,
		    const char *host);
const struct snap_tenant *snapshot_tenant_by_id(const struct snapshot *,
		    const char *id);
const char	*snapshot_tenant_id(const struct snapshot *,
		    const struct snap_tenant *);
/* A file of the tenant's live generation, by repository path; NULL if none. */
const struct snap_file *snapshot_ext_file(const struct snap_tenant *,
		    const char *path);
/* A stored variable of a tenant, or NULL when unset. */
const struct snap_var *snapshot_variable(const struct snap_tenant *,
		    const char *name);

/* Bounds on what one snapshot may hold. */
#define SNAP_MAX_SIZE		(1024 * 1024 * 1024)
#define SNAP_MAX_VARS		10000		/* per tenant */
#define SNAP_MAX_VAR_LEN	(64 * 1024)
#define SNAP_MAX_EXT_FILES	20000		/* per tenant */
#define SNAP_MAX_EXT_FILE	(8 * 1024 * 1024)	/* one published file */

#endif
