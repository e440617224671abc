/*
 * pubdir.h — the published directory's layout, the contract between the
 * publisher that writes it (publish.c), the parent that reads the live
 * generation into a configuration snapshot and unpublishes a tenant
 * (snapshot.c, parent.c), and widgetctl builds (ctl_builds.c):
 *
 *   current                 the live generation's name (replaced atomically)
 *   gens/<generation>/      manifest.json, connectors_registry.json (when
 *                           the repository has one), source.json (commit,
 *                           branch, settings tag), files/<repo path>
 *   objects/<blob id>       content store the generations hard-link into
 *   gens.seq                the last generation's sequence number
 *   builds/<n>.json         build records, zero-padded numbers
 *   builds/seq              the last build's number
 *   .lock                   held during a publish
 *
 * No libgit2 here: every role that reads the layout can link this.
 */
#ifndef WIDGETD_PUBDIR_H
#define WIDGETD_PUBDIR_H

#include <stddef.h>

struct pubfs;

#define PUBDIR_MAXGEN		64	/* bytes of a generation's name */
#define PUBDIR_MAXDEPTH		32	/* directories below files/ */

/*
 * The live generation's name into gen (size bytes): 0, or -1 with gen
 * "" when there is none (no current file, or one this layout could not
 * have written).
 */
int		 pubdir_live(struct pubfs *, char *gen, size_t size);
/* The same for the directory outdir, opening it without creating it. */
int		 pubdir_current(const char *outdir, char *gen, size_t size);
/* What generation gen was made from (its source.json). */
struct pubdir_source {
	char		 ps_commit[41];
	char		 ps_branch[256];
	char		 ps_settings[64];
};
/* 0, or -1 when gen has no readable, well-formed source.json. */
int		 pubdir_source(struct pubfs *, const char *gen,
		    struct pubdir_source *);
/*
 * Remove every generation but keep (NULL: all of them) and the objects
 * nothing links any more.  Failures are ignored: a leftover is removed
 * by the next prune.
 */
void		 pubdir_prune(struct pubfs *, const char *keep);
/*
 * Unpublish: the live generation goes first (readers see "nothing
 * published" at once), then every generation and object; build records
 * stay.  0, or -1 with errno.  A missing outdir is nothing to do.
 */
int		 pubdir_unpublish(const char *outdir);
/*
 * Every regular file of generation gen, depth first in name order: fn
 * gets the path relative to gens/<gen>/files ("w/index.html") and the
 * path relative to the root (for pubfs_read).  Links, devices and other
 * kinds are skipped, never followed.  Stops at the first fn that returns
 * -1, or after maxfiles files (errno E2BIG); 0 when the walk completed.
 */
int		 pubdir_files(struct pubfs *, const char *gen, size_t maxfiles,
		    int (*fn)(const char *path, const char *rel, void *),
		    void *arg);

#endif
