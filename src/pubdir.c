/*
 * pubdir.c — reading and clearing the published directory's layout (see
 * pubdir.h).  Every access goes through pubfs: beneath one directory fd,
 * never following a link.
 */
#include "build.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pubdir.h"
#include "pubfs.h"

int
pubdir_live(struct pubfs *fs, char *gen, size_t size)
{
	char	*buf = NULL;
	size_t	 len;

	gen[0] = '\0';
	if (pubfs_read(fs, "current", 256, &buf, &len) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		/* Only a name this layout could have written is believed. */
		if (strchr(buf, '/') == NULL && buf[0] != '.' &&
		    buf[0] != '\0' && strlen(buf) < PUBDIR_MAXGEN)
			snprintf(gen, size, "%s", buf);
	}
	free(buf);
	if (gen[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int
pubdir_current(const char *outdir, char *gen, size_t size)
{
	struct pubfs	*fs;
	int		 rv;

	gen[0] = '\0';
	if ((fs = pubfs_attach(outdir, (uid_t)-1)) == NULL)
		return -1;
	rv = pubdir_live(fs, gen, size);
	pubfs_close(fs);
	return rv;
}

/* A string member into out, when it is one and fits. */
static int
pubdir_member(struct json_object *o, const char *key, char *out, size_t size)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= size)
		return -1;
	memcpy(out, json_object_get_string(v), json_object_get_string_len(v)
	    + 1);
	return 0;
}

int
pubdir_source(struct pubfs *fs, const char *gen, struct pubdir_source *ps)
{
	struct json_object	*o;
	char			 rel[PUBDIR_MAXGEN + 32], *buf = NULL;
	size_t			 len;
	int			 rv = -1;

	memset(ps, 0, sizeof(*ps));
	snprintf(rel, sizeof(rel), "gens/%s/source.json", gen);
	if (pubfs_read(fs, rel, 4096, &buf, &len) == -1)
		return -1;
	if ((o = json_tokener_parse(buf)) != NULL &&
	    pubdir_member(o, "commit", ps->ps_commit,
	    sizeof(ps->ps_commit)) == 0 &&
	    pubdir_member(o, "branch", ps->ps_branch,
	    sizeof(ps->ps_branch)) == 0 &&
	    pubdir_member(o, "settings", ps->ps_settings,
	    sizeof(ps->ps_settings)) == 0)
		rv = 0;
	json_object_put(o);
	free(buf);
	return rv;
}

void
pubdir_prune(struct pubfs *fs, const char *keep)
{
	char	**names;
	char	 rel[300];
	size_t	 n, i;

	if (pubfs_list(fs, "gens", &names, &n) == 0) {
		for (i = 0; i < n; i++) {
			if (keep != NULL && strcmp(names[i], keep) == 0)
				continue;
			snprintf(rel, sizeof(rel), "gens/%s", names[i]);
			pubfs_remove_tree(fs, rel);
		}
		pubfs_list_free(names, n);
	}
	if (pubfs_list(fs, "objects", &names, &n) == 0) {
		for (i = 0; i < n; i++) {
			snprintf(rel, sizeof(rel), "objects/%s", names[i]);
			if (keep == NULL || pubfs_nlink(fs, rel) <= 1)
				pubfs_unlink(fs, rel);
		}
		pubfs_list_free(names, n);
	}
}

int
pubdir_unpublish(const char *outdir)
{
	struct pubfs	*fs;
	int		 rv = -1;

	if ((fs = pubfs_attach(outdir, (uid_t)-1)) == NULL)
		return errno == ENOENT ? 0 : -1;
	/* A publish in progress finishes first; then nothing is live. */
	if (pubfs_lock(fs, ".lock") == -1)
		goto out;
	if (pubfs_unlink(fs, "current") == -1 && errno != ENOENT)
		goto out;
	if (pubfs_sync_dir(fs, "") == -1)
		goto out;
	pubdir_prune(fs, NULL);
	rv = 0;
 out:
	pubfs_close(fs);
	return rv;
}

struct pubdir_walk {
	struct pubfs	*w_fs;
	size_t		 w_skip;	/* strlen("gens/<gen>/files/") */
	size_t		 w_left;	/* files still allowed */
	int		(*w_fn)(const char *, const char *, void *);
	void		*w_arg;
};

static int
pubdir_walk(struct pubdir_walk *w, const char *dir, int depth)
{
	struct stat	 st;
	char		**names;
	char		 rel[PATH_MAX];
	size_t		 n, i;
	int		 rv = 0;

	if (depth > PUBDIR_MAXDEPTH) {
		errno = ELOOP;
		return -1;
	}
	if (pubfs_list(w->w_fs, dir, &names, &n) == -1)
		return -1;
	for (i = 0; i < n && rv == 0; i++) {
		if ((size_t)snprintf(rel, sizeof(rel), "%s/%s", dir,
		    names[i]) >= sizeof(rel)) {
			errno = ENAMETOOLONG;
			rv = -1;
		} else if (pubfs_stat(w->w_fs, rel, &st) == -1)
			rv = -1;
		else if (S_ISDIR(st.st_mode))
			rv = pubdir_walk(w, rel, depth + 1);
		else if (!S_ISREG(st.st_mode))
			continue;
		else if (w->w_left-- == 0) {
			errno = E2BIG;
			rv = -1;
		} else
			rv = w->w_fn(rel + w->w_skip, rel, w->w_arg);
	}
	pubfs_list_free(names, n);
	return rv;
}

int
pubdir_files(struct pubfs *fs, const char *gen, size_t maxfiles,
    int (*fn)(const char *, const char *, void *), void *arg)
{
	struct pubdir_walk	 w;
	char			 dir[PUBDIR_MAXGEN + 16];
	struct stat		 st;

	snprintf(dir, sizeof(dir), "gens/%s/files", gen);
	/* A generation of content widgets only has no files/ at all. */
	if (pubfs_stat(fs, dir, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	memset(&w, 0, sizeof(w));
	w.w_fs = fs;
	w.w_skip = strlen(dir) + 1;
	w.w_left = maxfiles;
	w.w_fn = fn;
	w.w_arg = arg;
	return pubdir_walk(&w, dir, 0);
}
