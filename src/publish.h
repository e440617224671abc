/*
 * publish.h — the publisher's core (platform-docs §22, SPEC §10): one
 * publish of a tenant's watched repository and branch into a new
 * generation of the tenant's published directory.
 *
 * Library-style: no logging, no process knowledge, no network, no exec.
 * It reads the repository with libgit2 and writes only beneath po_outdir
 * (through pubfs), so it can run in a sandboxed role whose Landlock rules
 * allow exactly those two trees.
 *
 * The published directory's layout is pubdir.h's.
 */
#ifndef WIDGETD_PUBLISH_H
#define WIDGETD_PUBLISH_H

#include <stddef.h>

struct netpolicy;
struct publish_scancache;
struct registry;
struct scan_policy;

#define PUBLISH_KEEP_BUILDS	50
#define PUBLISH_BASE_URL	"/widget-service/extensions"

/* Limits of platform-docs §22 and SPEC §10; 0 in a field: the default. */
struct publish_limits {
	size_t		 pl_dir_files;	/* files per widget directory: 100 */
	size_t		 pl_dir_bytes;	/* bytes per widget directory: 10 MB */
	size_t		 pl_file_bytes;	/* any file, script, stylesheet: 2 MB */
	size_t		 pl_image_bytes;/* a relative imageSrc: 512 KB */
	size_t		 pl_depth;	/* directory depth in a widget: 16 */
	size_t		 pl_entries;	/* tree entries looked at: 100000 */
	size_t		 pl_total_bytes;/* the whole publish: 256 MB */
};

struct publish_opts {
	const char	*po_repo;	/* repository (bare or with a work tree) */
	const char	*po_branch;	/* watched branch */
	const char	*po_outdir;	/* the tenant's published directory */
	const char	*po_base_url;	/* NULL: PUBLISH_BASE_URL */
	const struct scan_policy *po_scan;	/* NULL: default CDNs */
	const struct netpolicy *po_policy;	/* connectors' URL rules */
	const struct registry *po_manual;	/* the tenant's own connectors
						   (NULL: none); a permalink in
						   both is a build error */
	int		 po_manual_split;	/* set: only the first */
	size_t		 po_manual_nconns;	/* so many of po_manual's
						   connectors and */
	size_t		 po_manual_ncomps;	/* composites are the tenant's
						   (the rest: synced earlier) */
	const char	*po_settings;	/* what the publish was made with, as
					   a short tag (NULL: ""), kept in the
					   generation's source.json */
	struct publish_scancache *po_scancache;	/* files found clean by
						   earlier publishes (NULL:
						   scan every file) */
	struct publish_limits po_limits;
};

enum publish_state {
	PUBLISH_IN_PROGRESS,
	PUBLISH_COMPLETED,
	PUBLISH_WARNING,
	PUBLISH_FAILED
};

struct publish_build {
	unsigned long	 pb_id;
	char		 pb_commit[41];	/* "" when no commit was resolved */
	enum publish_state pb_state;
	const char	*pb_code;	/* EXT_E_* when failed, else NULL */
	char		*pb_message;
	char	       **pb_warnings;
	size_t		 pb_nwarnings;
	char	       **pb_details;	/* every error or finding, one a line */
	size_t		 pb_ndetails;
	char		 pb_generation[64];	/* "" unless published */
	size_t		 pb_nfiles;	/* files in the generation */
	size_t		 pb_nreused;	/* of which already in the store */
	size_t		 pb_nscanned;	/* files scanned */
	size_t		 pb_nscankept;	/* files not scanned again: found
					   clean before (po_scancache) */
	int		 pb_connectors;	/* the generation carries connectors */
};

/*
 * Initialise libgit2 the way publish_run needs it (no global, XDG or
 * system git configuration, no ownership check).  A sandboxed publisher
 * calls it before installing its filters; publish_run calls it anyway.
 * 0, or -1 when libgit2 cannot start.
 */
int		 publish_init(void);

/*
 * One publish.  0: published (state Completed or Warning); -1: failed
 * (state Failed, pb_code and pb_message say why), and the previous
 * generation, if any, is live and untouched.  The build record is on disk
 * either way (unless po_outdir itself cannot be written).
 */
int		 publish_run(const struct publish_opts *, struct publish_build *);

/*
 * What a long-lived publisher remembers between publishes: the files it
 * found clean, by a SHA-256 of their bytes and the scan kind, so that a
 * push that changes one file scans that file.  Valid for one scan policy
 * (a publisher process has one; a reload starts another).  Bounded: at
 * PUBLISH_SCANCACHE entries it starts again empty.  NULL when out of
 * memory (the publisher then scans everything).
 */
#define PUBLISH_SCANCACHE	16384
struct publish_scancache *publish_scancache_new(void);
void		 publish_scancache_free(struct publish_scancache *);
void		 publish_build_clear(struct publish_build *);
const char	*publish_state_name(enum publish_state);

/*
 * The commit the branch points at now, as 40 hex digits in commit (at
 * least 41 bytes): what a watcher polls to notice a push (a publish is
 * due when it differs from the last build's pb_commit).  0, or -1 with a
 * message in why (size bytes).
 */
int		 publish_resolve(const char *repo, const char *branch,
		    char *commit, char *why, size_t size);

#endif
