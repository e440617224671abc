/*
 * publish.c — one publish of a watched repository (platform-docs §22,
 * SPEC §10 "Publisher", "Publish decisions").
 *
 * The flow, each step able to fail the build with its documented code:
 *   1. the branch's commit and tree (libgit2, read only, no network);
 *   2. extensions_registry.json (or the legacy widget_registry.json, with
 *      a warning) validated by extreg.c, the code widgetctl check runs;
 *   3. connectors_registry.json, when present, validated by the daemon's
 *      own loader, all or nothing;
 *   4. widget folders, scripts, stylesheets and thumbnails fetched from the
 *      tree with the limits of §22; symlinks and submodules skipped with a
 *      warning, never followed; every name checked for traversal;
 *   5. the content scan of every fetched file of a scanned kind;
 *   6. the HTML rewrite of each widget's entry file;
 *   7. a new generation written beside the live one, then made live by
 *      replacing one small file, then the old generations pruned.
 * Nothing is written outside the published directory (pubfs), and until
 * step 7's switch nothing the server reads has changed: a failure leaves
 * the previous generation live, byte for byte.
 */
#include "build.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "connector.h"
#include "extreg.h"
#include "pubdir.h"
#include "pubfs.h"
#include "publish.h"
#include "rewrite.h"
#include "scan.h"

#define PUB_MAXPATH	1024	/* a repository path we publish */
#define PUB_MAXNAME	255	/* one component of it */
#define PUB_MAXRECORD	(1024 * 1024)

/* One file of the generation. */
struct pfile {
	char		*pf_path;	/* repository path, normalised */
	git_oid		 pf_oid;	/* blob id: the content store's key */
	char		*pf_data;
	size_t		 pf_len;
	int		 pf_scan;	/* scanned (its owner's kind allows) */
	const char	*pf_what;	/* "Widget", "Script", "Stylesheet" */
	const char	*pf_owner;	/* type or name, for the message */
};

struct pctx {
	const struct publish_opts *c_o;
	struct publish_build *c_b;
	struct publish_limits c_lim;
	const char	*c_base;
	git_repository	*c_repo;
	git_tree	*c_tree;
	git_odb		*c_odb;
	struct pubfs	*c_fs;
	struct ext_registry *c_xg;
	char		*c_conn;	/* connectors_registry.json bytes */
	size_t		 c_connlen;
	struct pfile	*c_files;
	size_t		 c_nfiles;
	size_t		 c_total;	/* bytes fetched */
	size_t		 c_entries;	/* tree entries looked at */
	char		**c_entry_urls;	/* per widget, NULL for content ones */
	char		**c_image_urls;
	char		 c_gen[64];
	char		 c_tmpgen[80];
	char		 c_lastdir[PUB_MAXPATH + 128];	/* made last */
};

/* --- Build records ----------------------------------------------------------- */

const char *
publish_state_name(enum publish_state s)
{
	switch (s) {
	case PUBLISH_IN_PROGRESS:
		return "In Progress";
	case PUBLISH_COMPLETED:
		return "Completed";
	case PUBLISH_WARNING:
		return "Warning";
	case PUBLISH_FAILED:
		return "Failed";
	}
	return "?";
}

void
publish_build_clear(struct publish_build *b)
{
	size_t	 i;

	for (i = 0; i < b->pb_nwarnings; i++)
		free(b->pb_warnings[i]);
	for (i = 0; i < b->pb_ndetails; i++)
		free(b->pb_details[i]);
	free(b->pb_warnings);
	free(b->pb_details);
	free(b->pb_message);
	memset(b, 0, sizeof(*b));
}

static void
pstr_append(char ***v, size_t *n, const char *s)
{
	char	**nv, *d;

	if ((d = strdup(s)) == NULL)
		return;
	if ((nv = reallocarray(*v, *n + 1, sizeof(*nv))) == NULL) {
		free(d);
		return;
	}
	*v = nv;
	nv[(*n)++] = d;
}

static void __attribute__((format(printf, 2, 3)))
pwarn(struct pctx *c, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pstr_append(&c->c_b->pb_warnings, &c->c_b->pb_nwarnings, msg);
}

static void __attribute__((format(printf, 2, 3)))
pdetail(struct pctx *c, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pstr_append(&c->c_b->pb_details, &c->c_b->pb_ndetails, msg);
}

/* The build fails with code; the first failure names the build. */
static int __attribute__((format(printf, 3, 4)))
pfail(struct pctx *c, const char *code, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->c_b->pb_code == NULL) {
		c->c_b->pb_code = code;
		free(c->c_b->pb_message);
		c->c_b->pb_message = strdup(msg);
	}
	pstr_append(&c->c_b->pb_details, &c->c_b->pb_ndetails, msg);
	return -1;
}

static struct json_object *
pstrings_json(char **v, size_t n)
{
	struct json_object	*a = json_object_new_array();
	size_t			 i;

	for (i = 0; a != NULL && i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* builds/<id>.json, replaced atomically at each state change. */
static void
precord(struct pctx *c, time_t started)
{
	struct publish_build	*b = c->c_b;
	struct json_object	*o;
	const char		*s;
	char			 rel[64];

	if (c->c_fs == NULL || (o = json_object_new_object()) == NULL)
		return;
	json_object_object_add(o, "id", json_object_new_int64(b->pb_id));
	json_object_object_add(o, "commit", json_object_new_string(
	    b->pb_commit));
	json_object_object_add(o, "branch", json_object_new_string(
	    c->c_o->po_branch != NULL ? c->c_o->po_branch : ""));
	json_object_object_add(o, "state", json_object_new_string(
	    publish_state_name(b->pb_state)));
	json_object_object_add(o, "code", b->pb_code != NULL ?
	    json_object_new_string(b->pb_code) : NULL);
	json_object_object_add(o, "message", json_object_new_string(
	    b->pb_message != NULL ? b->pb_message : ""));
	json_object_object_add(o, "warnings", pstrings_json(b->pb_warnings,
	    b->pb_nwarnings));
	json_object_object_add(o, "details", pstrings_json(b->pb_details,
	    b->pb_ndetails));
	json_object_object_add(o, "generation", json_object_new_string(
	    b->pb_generation));
	json_object_object_add(o, "files", json_object_new_int64(b->pb_nfiles));
	json_object_object_add(o, "reused", json_object_new_int64(
	    b->pb_nreused));
	json_object_object_add(o, "scanned", json_object_new_int64(
	    b->pb_nscanned));
	json_object_object_add(o, "scan_kept", json_object_new_int64(
	    b->pb_nscankept));
	json_object_object_add(o, "started", json_object_new_int64(started));
	json_object_object_add(o, "finished", b->pb_state == PUBLISH_IN_PROGRESS
	    ? NULL : json_object_new_int64(time(NULL)));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(rel, sizeof(rel), "builds/%08lu.json", b->pb_id);
	pubfs_replace(c->c_fs, rel, s, strlen(s), 0644);
	json_object_put(o);
}

/* Keep the newest PUBLISH_KEEP_BUILDS records. */
static void
pprune_builds(struct pctx *c)
{
	char	**names;
	char	 rel[300];
	size_t	 n, i, k;

	if (pubfs_list(c->c_fs, "builds", &names, &n) == -1)
		return;
	/* Sorted names: the records (zero-padded ids) come oldest first. */
	for (i = 0, k = 0; i < n; i++)
		if (strstr(names[i], ".json") != NULL)
			k++;
	for (i = 0; i < n && k > PUBLISH_KEEP_BUILDS; i++) {
		if (strstr(names[i], ".json") == NULL)
			continue;
		snprintf(rel, sizeof(rel), "builds/%s", names[i]);
		pubfs_unlink(c->c_fs, rel);
		k--;
	}
	pubfs_list_free(names, n);
}

/* A counter kept in a file beneath the root: the next value. */
static unsigned long
pnext_seq(struct pctx *c, const char *rel)
{
	char		*buf = NULL, num[32];
	size_t		 len;
	unsigned long	 v = 0;

	if (pubfs_read(c->c_fs, rel, 64, &buf, &len) == 0)
		v = strtoul(buf, NULL, 10);
	free(buf);
	v++;
	snprintf(num, sizeof(num), "%lu\n", v);
	pubfs_replace(c->c_fs, rel, num, strlen(num), 0644);
	return v;
}

/* --- Names and paths -------------------------------------------------------- */

/* Valid UTF-8 without controls: a name a URL and a log line can carry. */
static int
putf8_clean(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n, k;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = *p >= 0xf0 && *p <= 0xf4 ? 4 : *p >= 0xe0 ? 3 :
		    *p >= 0xc2 && *p < 0xe0 ? 2 : 0;
		if (n == 0)
			return 0;
		for (k = 1; k < n; k++)
			if ((p[k] & 0xc0) != 0x80)
				return 0;
		if ((n == 3 && *p == 0xe0 && p[1] < 0xa0) ||
		    (n == 3 && *p == 0xed && p[1] >= 0xa0) ||
		    (n == 4 && *p == 0xf0 && p[1] < 0x90) ||
		    (n == 4 && *p == 0xf4 && p[1] >= 0x90))
			return 0;
		p += n;
	}
	return 1;
}

/*
 * One name from a tree: a repository may hold names git itself refuses
 * (crafted trees), so ".", "..", separators and their percent-encoded
 * forms are traversal, and bytes that are not clean UTF-8 are a structure
 * error.  NULL when the name is fine.
 */
static const char *
pname_check(const char *name, const char **why)
{
	if (*name == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strchr(name, '/') != NULL ||
	    strchr(name, '\\') != NULL) {
		*why = "is not a plain file name";
		return EXT_E_TRAVERSAL;
	}
	if (extreg_path_check(name, strlen(name)) != NULL) {
		*why = "decodes to a path outside its directory";
		return EXT_E_TRAVERSAL;
	}
	if (strlen(name) > PUB_MAXNAME) {
		*why = "is too long";
		return EXT_E_STRUCTURE;
	}
	if (!putf8_clean(name)) {
		*why = "is not valid UTF-8 or holds control characters";
		return EXT_E_STRUCTURE;
	}
	return NULL;
}

/* Printable form of a name for messages: bytes outside ASCII as \xHH. */
static void
pname_show(const char *name, char *out, size_t size)
{
	size_t	 o = 0;

	for (; *name != '\0' && o + 5 < size; name++) {
		unsigned char c = *name;

		if (c >= 0x20 && c < 0x7f)
			out[o++] = c;
		else
			o += snprintf(out + o, size - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* "a//./b/" -> "a/b"; the registry already refused ".." and "/x". */
static void
pnormalise(const char *in, char *out, size_t size)
{
	char		 copy[PUB_MAXPATH + 1];
	const char	*p = copy, *s;
	size_t		 o = 0, k;

	/* in may be out: work from a copy. */
	snprintf(copy, sizeof(copy), "%s", in);
	out[0] = '\0';
	while (*p != '\0') {
		for (s = p; *p != '\0' && *p != '/'; p++)
			;
		k = p - s;
		if (*p == '/')
			p++;
		if (k == 0 || (k == 1 && s[0] == '.'))
			continue;
		if (o + k + 2 > size)
			return;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, s, k);
		o += k;
		out[o] = '\0';
	}
}

/*
 * Percent-encode a repository path for a URL: only unreserved bytes and
 * / stay, so the URL is safe inside any attribute quoting, a srcset and
 * a CSS url().
 */
static void
purl_path(const char *path, char *out, size_t size)
{
	size_t	 o = 0;

	for (; *path != '\0' && o + 4 < size; path++) {
		unsigned char c = *path;

		if (isalnum(c) || (c != '\0' && strchr("-._~/", c) != NULL))
			out[o++] = c;
		else
			o += snprintf(out + o, size - o, "%%%02X", c);
	}
	out[o] = '\0';
}

/* --- Reading the tree ---------------------------------------------------------- */

static const char *
pgit_error(void)
{
	const git_error	*e = git_error_last();

	return e != NULL && e->message != NULL ? e->message : "unknown error";
}

/*
 * The entry at path (normalised) in the root tree, walking component by
 * component so that a link on the way is seen, not followed.  NULL with
 * *why when it is missing or passes through something that is not a tree.
 */
static git_tree_entry *
pentry(struct pctx *c, const char *path, const char **why)
{
	git_tree	*t = c->c_tree, *sub = NULL;
	git_tree_entry	*found = NULL;
	const git_tree_entry *e;
	char		 comp[PUB_MAXNAME + 1];
	const char	*p = path, *s;
	size_t		 k;

	*why = "does not exist";
	for (;;) {
		for (s = p; *p != '\0' && *p != '/'; p++)
			;
		if ((k = p - s) == 0 || k > PUB_MAXNAME)
			goto out;
		memcpy(comp, s, k);
		comp[k] = '\0';
		if ((e = git_tree_entry_byname(t, comp)) == NULL)
			goto out;
		if (*p == '\0') {
			git_tree_entry_dup(&found, e);
			goto out;
		}
		if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
			*why = "passes through a symbolic link (not followed)";
			goto out;
		}
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			*why = "passes through a file";
			goto out;
		}
		if (sub != NULL)
			git_tree_free(sub);
		sub = NULL;
		if (git_tree_lookup(&sub, c->c_repo, git_tree_entry_id(e)) != 0)
			goto out;
		t = sub;
		p++;
	}
 out:
	if (sub != NULL)
		git_tree_free(sub);
	return found;
}

/* The size of a blob without inflating it (a 4 GB blob stays on disk). */
static int
pblob_size(struct pctx *c, const git_oid *id, size_t *size)
{
	git_object_t	 type;

	if (git_odb_read_header(size, &type, c->c_odb, id) != 0 ||
	    type != GIT_OBJECT_BLOB)
		return -1;
	return 0;
}

/* Add a file (once per path) with its content; -1 on failure. */
static int
padd_file(struct pctx *c, const char *path, const git_oid *id, size_t size,
    int scan, const char *what, const char *owner)
{
	struct pfile	*f;
	git_blob	*blob = NULL;
	size_t		 i;

	for (i = 0; i < c->c_nfiles; i++)
		if (strcmp(c->c_files[i].pf_path, path) == 0) {
			c->c_files[i].pf_scan |= scan;
			return 0;
		}
	if (c->c_total + size > c->c_lim.pl_total_bytes)
		return pfail(c, EXT_E_MAXSIZE, "the repository's published "
		    "files exceed %zu bytes", c->c_lim.pl_total_bytes);
	if ((f = reallocarray(c->c_files, c->c_nfiles + 1, sizeof(*f))) == NULL)
		return pfail(c, EXT_E_FETCH, "out of memory");
	c->c_files = f;
	f = &c->c_files[c->c_nfiles];
	memset(f, 0, sizeof(*f));
	if (git_blob_lookup(&blob, c->c_repo, id) != 0)
		return pfail(c, EXT_E_FETCH, "%s: cannot read: %s", path,
		    pgit_error());
	f->pf_len = (size_t)git_blob_rawsize(blob);
	if ((f->pf_data = malloc(f->pf_len + 1)) == NULL ||
	    (f->pf_path = strdup(path)) == NULL) {
		free(f->pf_data);
		git_blob_free(blob);
		return pfail(c, EXT_E_FETCH, "out of memory");
	}
	memcpy(f->pf_data, git_blob_rawcontent(blob), f->pf_len);
	f->pf_data[f->pf_len] = '\0';
	git_blob_free(blob);
	git_oid_cpy(&f->pf_oid, id);
	f->pf_scan = scan;
	f->pf_what = what;
	f->pf_owner = owner;
	c->c_total += f->pf_len;
	c->c_nfiles++;
	return 0;
}

struct pdir {
	size_t		 pd_files;
	size_t		 pd_bytes;
	const char	*pd_type;	/* the widget */
	const char	*pd_root;	/* its source.path */
};

/*
 * A widget directory, recursively: every blob fetched within the limits,
 * symlinks and submodules skipped with a warning, names checked.
 */
static int
pwalk(struct pctx *c, git_tree *t, const char *prefix, size_t depth,
    struct pdir *d)
{
	const git_tree_entry	*e;
	git_tree		*sub;
	const char		*name, *code, *why;
	char			 path[PUB_MAXPATH + 1], shown[PUB_MAXPATH * 4];
	size_t			 i, n = git_tree_entrycount(t), size;
	int			 rv;

	if (depth > c->c_lim.pl_depth)
		return pfail(c, EXT_E_STRUCTURE, "widget '%s': %s: directories "
		    "nested deeper than %zu levels", d->pd_type, prefix,
		    c->c_lim.pl_depth);
	for (i = 0; i < n; i++) {
		e = git_tree_entry_byindex(t, i);
		name = git_tree_entry_name(e);
		if (++c->c_entries > c->c_lim.pl_entries)
			return pfail(c, EXT_E_MAXFILES, "widget '%s': more than "
			    "%zu entries in the repository tree", d->pd_type,
			    c->c_lim.pl_entries);
		if ((code = pname_check(name, &why)) != NULL) {
			pname_show(name, shown, sizeof(shown));
			return pfail(c, code, "widget '%s': %s%s%s: the name %s",
			    d->pd_type, prefix, *prefix ? "/" : "", shown, why);
		}
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "/" : "", name) >= sizeof(path))
			return pfail(c, EXT_E_STRUCTURE, "widget '%s': a path "
			    "in %s is longer than %d bytes", d->pd_type, prefix,
			    PUB_MAXPATH);
		switch (git_tree_entry_filemode(e)) {
		case GIT_FILEMODE_TREE:
			if (git_tree_lookup(&sub, c->c_repo,
			    git_tree_entry_id(e)) != 0)
				return pfail(c, EXT_E_FETCH, "%s: %s", path,
				    pgit_error());
			rv = pwalk(c, sub, path, depth + 1, d);
			git_tree_free(sub);
			if (rv == -1)
				return -1;
			break;
		case GIT_FILEMODE_LINK:
			pwarn(c, "widget '%s': %s is a symbolic link: skipped",
			    d->pd_type, path);
			break;
		case GIT_FILEMODE_COMMIT:
			pwarn(c, "widget '%s': %s is a submodule: skipped",
			    d->pd_type, path);
			break;
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
			if (pblob_size(c, git_tree_entry_id(e), &size) == -1)
				return pfail(c, EXT_E_FETCH, "%s: %s", path,
				    pgit_error());
			if (size > c->c_lim.pl_file_bytes)
				return pfail(c, EXT_E_MAXSIZE, "widget '%s': %s is "
				    "%zu bytes, over the %zu-byte limit for a "
				    "file", d->pd_type, path, size,
				    c->c_lim.pl_file_bytes);
			if (++d->pd_files > c->c_lim.pl_dir_files)
				return pfail(c, EXT_E_MAXFILES, "widget '%s': %s "
				    "holds more than %zu files", d->pd_type,
				    d->pd_root, c->c_lim.pl_dir_files);
			if ((d->pd_bytes += size) > c->c_lim.pl_dir_bytes)
				return pfail(c, EXT_E_MAXSIZE, "widget '%s': %s "
				    "holds more than %zu bytes", d->pd_type,
				    d->pd_root, c->c_lim.pl_dir_bytes);
			/* Widgets: HTML and JS are scanned, not CSS (§23). */
			if (padd_file(c, path, git_tree_entry_id(e), size,
			    scan_kind_for(path) == SCAN_HTML ||
			    scan_kind_for(path) == SCAN_JS, "Widget",
			    d->pd_type) == -1)
				return -1;
			break;
		default:
			pwarn(c, "widget '%s': %s: unknown entry type: skipped",
			    d->pd_type, path);
		}
	}
	return 0;
}

/* A single file named by the registry (entry, script, stylesheet, image). */
static int
pfetch_one(struct pctx *c, const char *path, size_t limit, int scan,
    const char *what, const char *owner)
{
	git_tree_entry	*e;
	const char	*why;
	size_t		 size;
	int		 rv = -1;

	if ((e = pentry(c, path, &why)) == NULL)
		return pfail(c, EXT_E_ENTRY, "%s '%s': %s %s", what, owner, path,
		    why);
	if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
		pwarn(c, "%s '%s': %s is a symbolic link: skipped", what, owner,
		    path);
		pfail(c, EXT_E_ENTRY, "%s '%s': %s is a symbolic link (not "
		    "followed)", what, owner, path);
		goto out;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		pfail(c, EXT_E_ENTRY, "%s '%s': %s is not a file", what, owner,
		    path);
		goto out;
	}
	if (pblob_size(c, git_tree_entry_id(e), &size) == -1) {
		pfail(c, EXT_E_FETCH, "%s: %s", path, pgit_error());
		goto out;
	}
	if (size > limit) {
		pfail(c, EXT_E_MAXSIZE, "%s '%s': %s is %zu bytes, over the "
		    "%zu-byte limit", what, owner, path, size, limit);
		goto out;
	}
	rv = padd_file(c, path, git_tree_entry_id(e), size, scan, what, owner);
 out:
	git_tree_entry_free(e);
	return rv;
}

static int
pfetch(struct pctx *c)
{
	struct ext_registry	*xg = c->c_xg;
	struct ext_widget	*w;
	struct ext_asset	*a;
	git_tree_entry		*e;
	git_tree		*t;
	struct pdir		 d;
	const char		*why;
	char			 path[PUB_MAXPATH + 1], entry[PUB_MAXPATH + 1];
	size_t			 i;
	int			 rv;

	for (i = 0; i < xg->xg_nwidgets; i++) {
		w = &xg->xg_widgets[i];
		if (w->ew_path == NULL)
			continue;	/* externally hosted: nothing to fetch */
		memset(&d, 0, sizeof(d));
		d.pd_type = w->ew_type;
		pnormalise(w->ew_path, path, sizeof(path));
		d.pd_root = *path ? path : ".";
		if (*path == '\0')
			rv = pwalk(c, c->c_tree, "", 0, &d);
		else if ((e = pentry(c, path, &why)) == NULL)
			return pfail(c, EXT_E_ENTRY, "widget '%s': source.path "
			    "%s %s", w->ew_type, path, why);
		else if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			git_tree_entry_free(e);
			return pfail(c, EXT_E_STRUCTURE, "widget '%s': "
			    "source.path %s is not a directory", w->ew_type,
			    path);
		} else {
			rv = git_tree_lookup(&t, c->c_repo, git_tree_entry_id(e));
			git_tree_entry_free(e);
			if (rv != 0)
				return pfail(c, EXT_E_FETCH, "%s: %s", path,
				    pgit_error());
			rv = pwalk(c, t, path, 0, &d);
			git_tree_free(t);
		}
		if (rv == -1)
			return -1;
		/* The entry must be one of the files just fetched. */
		if ((size_t)snprintf(entry, sizeof(entry), "%s%s%s", path,
		    *path ? "/" : "", w->ew_entry) >= sizeof(entry))
			return pfail(c, EXT_E_STRUCTURE, "widget '%s': the "
			    "entry path is too long", w->ew_type);
		pnormalise(entry, entry, sizeof(entry));
		if (pfetch_one(c, entry, c->c_lim.pl_file_bytes, 1, "Widget",
		    w->ew_type) == -1)
			return -1;
	}
	for (i = 0; i < xg->xg_nwidgets; i++) {
		w = &xg->xg_widgets[i];
		if (w->ew_image == NULL)
			continue;
		pnormalise(w->ew_image, path, sizeof(path));
		if (pfetch_one(c, path, c->c_lim.pl_image_bytes, 0, "Widget",
		    w->ew_type) == -1)
			return -1;
	}
	for (i = 0; i < xg->xg_nscripts + xg->xg_nstyles; i++) {
		int	 css = i >= xg->xg_nscripts;

		a = css ? &xg->xg_styles[i - xg->xg_nscripts] :
		    &xg->xg_scripts[i];
		if (a->ea_external)
			continue;	/* injected as-is, not published */
		pnormalise(a->ea_path, path, sizeof(path));
		if (pfetch_one(c, path, c->c_lim.pl_file_bytes, 1,
		    css ? "Stylesheet" : "Script", a->ea_name) == -1)
			return -1;
	}
	return 0;
}

/* --- Registry, connectors, scan, rewrite ---------------------------------------- */

/* A root-level registry file's bytes; 0 found, 1 absent, -1 failed. */
static int
pread_root(struct pctx *c, const char *name, char **buf, size_t *len)
{
	git_tree_entry	*e;
	git_blob	*blob = NULL;
	const char	*why;
	size_t		 size;
	int		 rv = -1;

	if ((e = pentry(c, name, &why)) == NULL)
		return 1;
	if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
		pwarn(c, "%s is a symbolic link: skipped", name);
		rv = 1;
		goto out;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		pfail(c, EXT_E_STRUCTURE, "%s is not a file", name);
		goto out;
	}
	if (pblob_size(c, git_tree_entry_id(e), &size) == -1 ||
	    size > c->c_lim.pl_file_bytes) {
		pfail(c, EXT_E_MAXSIZE, "%s is over %zu bytes", name,
		    c->c_lim.pl_file_bytes);
		goto out;
	}
	if (git_blob_lookup(&blob, c->c_repo, git_tree_entry_id(e)) != 0) {
		pfail(c, EXT_E_FETCH, "%s: %s", name, pgit_error());
		goto out;
	}
	*len = (size_t)git_blob_rawsize(blob);
	if ((*buf = malloc(*len + 1)) == NULL) {
		pfail(c, EXT_E_FETCH, "out of memory");
		goto out;
	}
	memcpy(*buf, git_blob_rawcontent(blob), *len);
	(*buf)[*len] = '\0';
	rv = 0;
 out:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return rv;
}

static int
pregistry(struct pctx *c)
{
	struct ext_report	 rep;
	git_tree_entry		*e;
	const char		*name = "extensions_registry.json";
	char			*buf = NULL, line[1400];
	size_t			 len = 0, i;
	int			 rv, legacy = 0;

	memset(&rep, 0, sizeof(rep));
	if ((rv = pread_root(c, name, &buf, &len)) == 1) {
		name = "widget_registry.json";
		legacy = 1;
		rv = pread_root(c, name, &buf, &len);
	}
	if (rv == -1)
		return -1;
	if (rv == 1) {
		/* A repository of connectors only publishes no widget. */
		if ((e = pentry(c, "connectors_registry.json", &name)) == NULL)
			return pfail(c, EXT_E_ENTRY, "neither "
			    "extensions_registry.json nor connectors_registry.json "
			    "at the repository root");
		git_tree_entry_free(e);
		buf = strdup("{}");
		len = 2;
		legacy = 0;
		name = "extensions_registry.json";
		if (buf == NULL)
			return pfail(c, EXT_E_FETCH, "out of memory");
	}
	c->c_xg = extreg_load_buffer(name, buf, len, legacy, &rep);
	for (i = 0; i < rep.xr_n; i++) {
		const struct ext_error *x = &rep.xr_items[i];

		if (x->ee_warning) {
			pwarn(c, "%s: %s", x->ee_file, x->ee_msg);
			continue;
		}
		snprintf(line, sizeof(line), "%s:%d:%d: %s%s%s [%s]", x->ee_file,
		    x->ee_line, x->ee_col, x->ee_path, *x->ee_path ? ": " : "",
		    x->ee_msg, x->ee_code);
		pfail(c, x->ee_code, "%s", line);
	}
	ext_report_clear(&rep);
	free(buf);
	return c->c_xg == NULL ? -1 : 0;
}

/* connectors_registry.json: the daemon's loader, all or nothing. */
static int
pconnectors(struct pctx *c)
{
	const struct publish_opts *o = c->c_o;
	const struct registry	*man = o->po_manual;
	const struct connector	*mc;
	const struct composite	*mk;
	struct reg_report	 rep;
	struct registry		*r;
	char			*line = NULL;
	size_t			 i, len = 0;
	FILE			*fp;
	int			 rv;

	if ((rv = pread_root(c, "connectors_registry.json", &c->c_conn,
	    &c->c_connlen)) != 0)
		return rv == 1 ? 0 : -1;
	memset(&rep, 0, sizeof(rep));
	r = registry_load_buffer("connectors_registry.json", c->c_conn,
	    c->c_connlen, c->c_o->po_policy, &rep);
	if (r == NULL) {
		/* The loader's own report lines, one detail each. */
		if ((fp = open_memstream(&line, &len)) != NULL) {
			reg_report_print(&rep, fp);
			fclose(fp);
		}
		pfail(c, EXT_E_CONNECTORS, "connectors_registry.json is invalid "
		    "(%zu error%s); no connector was changed", rep.rr_nerrors,
		    rep.rr_nerrors == 1 ? "" : "s");
		for (i = 0; line != NULL && line[i] != '\0';) {
			char *nl = strchr(line + i, '\n');

			if (nl == NULL)
				break;
			*nl = '\0';
			pdetail(c, "%s", line + i);
			i = nl + 1 - line;
		}
		free(line);
		reg_report_clear(&rep);
		return -1;
	}
	/*
	 * A permalink both synced and manual is a build error (§5).  The
	 * daemon's registry may also hold what the previous publish synced
	 * (after the tenant's own): those do not count.
	 */
	for (i = 0; man != NULL && i < r->r_nconns; i++)
		if ((mc = registry_connector(man, r->r_conns[i].c_permalink)) !=
		    NULL && (!o->po_manual_split ||
		    mc->c_index < o->po_manual_nconns))
			pfail(c, EXT_E_CONNECTORS, "connector '%s' is both in "
			    "the repository and in the tenant's registry",
			    r->r_conns[i].c_permalink);
	for (i = 0; man != NULL && i < r->r_ncomps; i++)
		if ((mk = registry_composite(man, r->r_comps[i].cc_permalink)) !=
		    NULL && (!o->po_manual_split ||
		    mk->cc_index < o->po_manual_ncomps))
			pfail(c, EXT_E_CONNECTORS, "composite connector '%s' is "
			    "both in the repository and in the tenant's registry",
			    r->r_comps[i].cc_permalink);
	registry_free(r);
	reg_report_clear(&rep);
	c->c_b->pb_connectors = 1;
	return c->c_b->pb_code != NULL ? -1 : 0;
}

/* --- files found clean before ------------------------------------------ */

/*
 * Keyed by a SHA-256 of the bytes, not by the git blob id: a file is
 * trusted clean by a hash no one can collide, whatever hash the
 * repository uses.
 */
#define SCANCACHE_SUM	32

struct scancache_ent {
	unsigned char	 se_sum[SCANCACHE_SUM];
	unsigned char	 se_kind;	/* enum scan_kind + 1; 0: empty */
};

struct publish_scancache {
	struct scancache_ent	*sc_t;
	size_t			 sc_cap;	/* slots, a power of two */
	size_t			 sc_n;
};

struct publish_scancache *
publish_scancache_new(void)
{
	return calloc(1, sizeof(struct publish_scancache));
}

void
publish_scancache_free(struct publish_scancache *sc)
{
	if (sc == NULL)
		return;
	free(sc->sc_t);
	free(sc);
}

static int
scancache_sum(const void *p, size_t len, unsigned char *sum)
{
	unsigned int	 n;

	return EVP_Digest(p, len, sum, &n, EVP_sha256(), NULL) == 1 &&
	    n == SCANCACHE_SUM ? 0 : -1;
}

/* Where (sum, kind) is, or the empty slot it would take. */
static struct scancache_ent *
scancache_slot(const struct publish_scancache *sc, const unsigned char *sum,
    enum scan_kind kind)
{
	struct scancache_ent	*e;
	uint64_t		 h;
	size_t			 i;

	/* a digest already: its first bytes will do */
	memcpy(&h, sum, sizeof(h));
	for (i = (size_t)(h ^ (uint64_t)kind) & (sc->sc_cap - 1);;
	    i = (i + 1) & (sc->sc_cap - 1)) {
		e = &sc->sc_t[i];
		if (e->se_kind == 0 || (e->se_kind == (unsigned char)kind + 1 &&
		    memcmp(e->se_sum, sum, SCANCACHE_SUM) == 0))
			return e;
	}
}

static int
scancache_has(const struct publish_scancache *sc, const unsigned char *sum,
    enum scan_kind kind)
{
	return sc->sc_n > 0 && scancache_slot(sc, sum, kind)->se_kind != 0;
}

/* Remember a clean file; past PUBLISH_SCANCACHE, start again. */
static void
scancache_add(struct publish_scancache *sc, const unsigned char *sum,
    enum scan_kind kind)
{
	struct scancache_ent	*e, *t;
	size_t			 cap, i, old;

	if (sc->sc_n >= PUBLISH_SCANCACHE) {
		memset(sc->sc_t, 0, sc->sc_cap * sizeof(*sc->sc_t));
		sc->sc_n = 0;
	}
	/* at most half full */
	if (2 * (sc->sc_n + 1) > sc->sc_cap) {
		cap = sc->sc_cap ? 2 * sc->sc_cap : 256;
		if ((t = calloc(cap, sizeof(*t))) == NULL)
			return;
		old = sc->sc_cap;
		e = sc->sc_t;
		sc->sc_t = t;
		sc->sc_cap = cap;
		for (i = 0; i < old; i++)
			if (e[i].se_kind != 0)
				*scancache_slot(sc, e[i].se_sum,
				    (enum scan_kind)(e[i].se_kind - 1)) = e[i];
		free(e);
	}
	if ((e = scancache_slot(sc, sum, kind))->se_kind == 0) {
		memcpy(e->se_sum, sum, SCANCACHE_SUM);
		e->se_kind = (unsigned char)kind + 1;
		sc->sc_n++;
	}
}

/*
 * Every fetched file of a scanned kind, but for those an earlier publish
 * found clean (the same bytes, scanned as the same kind, under this
 * process's policy).  Any finding fails the whole build (§23) with the
 * message the hosted product uses, per owner.
 */
static int
pscan(struct pctx *c)
{
	struct publish_scancache *sc = c->c_o->po_scancache;
	struct scan_result	 res;
	struct pfile		*f;
	enum scan_kind		 kind;
	unsigned char		 sum[SCANCACHE_SUM];
	int			 known;
	const char		*owner = NULL, *what = NULL;
	char			 cats[256];
	size_t			 i, k, o;
	unsigned int		 all = 0, mine;

	for (i = 0; i < c->c_nfiles; i++) {
		f = &c->c_files[i];
		if (!f->pf_scan || (kind = scan_kind_for(f->pf_path)) ==
		    SCAN_NONE)
			continue;
		known = sc != NULL && scancache_sum(f->pf_data, f->pf_len,
		    sum) == 0;
		if (known && scancache_has(sc, sum, kind)) {
			c->c_b->pb_nscankept++;
			continue;
		}
		c->c_b->pb_nscanned++;
		memset(&res, 0, sizeof(res));
		if (scan_buffer(c->c_o->po_scan, kind, f->pf_data, f->pf_len,
		    &res) == -1) {
			scan_result_clear(&res);
			return pfail(c, EXT_E_SCAN, "%s: the scan ran out of "
			    "memory", f->pf_path);
		}
		for (k = 0; k < res.sr_n; k++)
			pdetail(c, "%s:%d: %s: %s", f->pf_path,
			    res.sr_items[k].sf_line, scan_category_name(
			    res.sr_items[k].sf_category), res.sr_items[k].sf_msg);
		if (known && res.sr_n == 0 && res.sr_categories == 0)
			scancache_add(sc, sum, kind);
		if (res.sr_categories != 0 && owner == NULL) {
			owner = f->pf_owner;
			what = f->pf_what;
		}
		if (owner != NULL && f->pf_owner == owner)
			all |= res.sr_categories;
		scan_result_clear(&res);
	}
	if (owner == NULL)
		return 0;
	cats[0] = '\0';
	for (mine = 0, o = 0; mine < SCAN_NCATEGORIES; mine++)
		if (all & (1U << mine))
			o += snprintf(cats + o, sizeof(cats) - o, "%s%s",
			    o ? ", " : "", scan_category_name(mine));
	return pfail(c, EXT_E_SCAN, "%s '%s' rejected: content policy "
	    "violation (categories: %s)", what, owner, cats);
}

/* The entry HTML of each repository widget, references made hosted. */
static int
prewrite(struct pctx *c)
{
	struct ext_widget	*w;
	struct rewrite_stats	 st;
	struct pfile		*f;
	char			 dir[PUB_MAXPATH + 1], entry[PUB_MAXPATH + 1];
	char			 enc[PUB_MAXPATH * 3 + 1], base[PUB_MAXPATH * 4];
	char			*out, *slash;
	size_t			 i, k, outlen;

	if ((c->c_entry_urls = calloc(c->c_xg->xg_nwidgets + 1,
	    sizeof(char *))) == NULL)
		return pfail(c, EXT_E_TRANSFORM, "out of memory");
	for (i = 0; i < c->c_xg->xg_nwidgets; i++) {
		w = &c->c_xg->xg_widgets[i];
		if (w->ew_path == NULL)
			continue;
		pnormalise(w->ew_path, dir, sizeof(dir));
		if ((size_t)snprintf(entry, sizeof(entry), "%s%s%s", dir,
		    *dir ? "/" : "", w->ew_entry) >= sizeof(entry))
			return pfail(c, EXT_E_STRUCTURE, "widget '%s': the "
			    "entry path is too long", w->ew_type);
		pnormalise(entry, entry, sizeof(entry));
		for (k = 0, f = NULL; k < c->c_nfiles; k++)
			if (strcmp(c->c_files[k].pf_path, entry) == 0)
				f = &c->c_files[k];
		if (f == NULL)
			return pfail(c, EXT_E_ENTRY, "widget '%s': %s missing",
			    w->ew_type, entry);
		purl_path(dir, enc, sizeof(enc));
		snprintf(base, sizeof(base), "%s/%s/files%s%s", c->c_base,
		    c->c_gen, *enc ? "/" : "", enc);
		/* The entry's own directory inside the widget directory. */
		snprintf(entry, sizeof(entry), "%s", f->pf_path + strlen(dir) +
		    (*dir ? 1 : 0));
		if ((slash = strrchr(entry, '/')) != NULL)
			*slash = '\0';
		else
			entry[0] = '\0';
		if (rewrite_html(f->pf_data, f->pf_len, entry, base, &out,
		    &outlen, &st) == -1)
			return pfail(c, EXT_E_TRANSFORM, "widget '%s': out of "
			    "memory rewriting %s", w->ew_type, f->pf_path);
		if (st.rs_escaped > 0)
			pwarn(c, "widget '%s': %zu reference%s in %s leave%s the "
			    "widget directory and %s left as written",
			    w->ew_type, st.rs_escaped, st.rs_escaped == 1 ? "" :
			    "s", f->pf_path, st.rs_escaped == 1 ? "s" : "",
			    st.rs_escaped == 1 ? "is" : "are");
		free(f->pf_data);
		f->pf_data = out;
		f->pf_len = outlen;
		/* The rewritten bytes are their own content-store object. */
		if (git_odb_hash(&f->pf_oid, out, outlen, GIT_OBJECT_BLOB) != 0)
			return pfail(c, EXT_E_TRANSFORM, "%s: %s", f->pf_path,
			    pgit_error());
		purl_path(f->pf_path, enc, sizeof(enc));
		if (asprintf(&c->c_entry_urls[i], "%s/%s/files/%s", c->c_base,
		    c->c_gen, enc) == -1) {
			c->c_entry_urls[i] = NULL;
			return pfail(c, EXT_E_TRANSFORM, "out of memory");
		}
	}
	return 0;
}

/* --- The manifest and the generation -------------------------------------------- */

static void
pdefault(struct json_object *o, const char *key, struct json_object *v)
{
	if (!json_object_object_get_ex(o, key, NULL))
		json_object_object_add(o, key, v);
	else
		json_object_put(v);
}

static char *
phosted(struct pctx *c, const char *path)
{
	char	 norm[PUB_MAXPATH + 1], enc[PUB_MAXPATH * 3 + 1], *u;

	pnormalise(path, norm, sizeof(norm));
	purl_path(norm, enc, sizeof(enc));
	if (asprintf(&u, "%s/%s/files/%s", c->c_base, c->c_gen, enc) == -1)
		return NULL;
	return u;
}

/*
 * manifest.json: every widget with its registry fields (defaults filled
 * in as §21 states them) and hosted entry URL, scripts and stylesheets
 * with their URLs, import maps as written.
 */
static char *
pmanifest(struct pctx *c)
{
	struct json_object	*root, *m, *arr, *o, *src, *set, *v;
	struct ext_registry	*xg = c->c_xg;
	const char		*kind[] = { "scripts", "stylesheets" };
	char			*u, *out;
	size_t			 i, k, n;

	if ((m = json_object_new_object()) == NULL)
		return NULL;
	root = xg->xg_json;
	json_object_object_add(m, "generation", json_object_new_string(
	    c->c_gen));
	json_object_object_add(m, "commit", json_object_new_string(
	    c->c_b->pb_commit));
	json_object_object_add(m, "branch", json_object_new_string(
	    c->c_o->po_branch));
	arr = json_object_new_array();
	json_object_object_get_ex(root, "widgets", &src);
	for (i = 0; i < xg->xg_nwidgets; i++) {
		o = NULL;
		json_object_deep_copy(json_object_array_get_idx(src, i), &o,
		    NULL);
		if (o == NULL)
			continue;
		pdefault(o, "version", json_object_new_string("1.0.0"));
		pdefault(o, "description", json_object_new_string(""));
		v = json_object_new_array();
		json_object_array_add(v, json_object_new_string("Full width"));
		pdefault(o, "containers", v);
		pdefault(o, "widgetsLibrary", json_object_new_boolean(1));
		pdefault(o, "imageName", json_object_new_string("banner"));
		if (!json_object_object_get_ex(o, "settings", &set)) {
			set = json_object_new_object();
			json_object_object_add(o, "settings", set);
		}
		pdefault(set, "configurable", json_object_new_boolean(1));
		pdefault(set, "editable", json_object_new_boolean(1));
		pdefault(set, "removable", json_object_new_boolean(1));
		pdefault(set, "movable", json_object_new_boolean(1));
		pdefault(set, "shared", json_object_new_boolean(0));
		pdefault(set, "container", json_object_new_boolean(0));
		if (json_object_object_get_ex(o, "content", &v))
			pdefault(v, "method", json_object_new_string("GET"));
		if (c->c_entry_urls[i] != NULL)
			json_object_object_add(o, "entryUrl",
			    json_object_new_string(c->c_entry_urls[i]));
		/* A relative thumbnail becomes an absolute URL (§21). */
		if (xg->xg_widgets[i].ew_image != NULL &&
		    (u = phosted(c, xg->xg_widgets[i].ew_image)) != NULL) {
			json_object_object_add(o, "imageSrc",
			    json_object_new_string(u));
			free(u);
		}
		json_object_array_add(arr, o);
	}
	json_object_object_add(m, "widgets", arr);
	for (k = 0; k < 2; k++) {
		struct ext_asset *as = k ? xg->xg_styles : xg->xg_scripts;

		n = k ? xg->xg_nstyles : xg->xg_nscripts;
		arr = json_object_new_array();
		json_object_object_get_ex(root, kind[k], &src);
		for (i = 0; i < n; i++) {
			o = NULL;
			json_object_deep_copy(json_object_array_get_idx(src, i),
			    &o, NULL);
			if (o == NULL)
				continue;
			pdefault(o, "placement", json_object_new_string("head"));
			u = as[i].ea_external ? strdup(as[i].ea_path) :
			    phosted(c, as[i].ea_path);
			json_object_object_add(o, "url", json_object_new_string(
			    u != NULL ? u : ""));
			free(u);
			json_object_array_add(arr, o);
		}
		json_object_object_add(m, kind[k], arr);
	}
	v = NULL;
	if (json_object_object_get_ex(root, "importMaps", &src))
		json_object_deep_copy(src, &v, NULL);
	json_object_object_add(m, "importMaps", v != NULL ? v :
	    json_object_new_array());
	out = strdup(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(m);
	return out;
}

/* One file into the new generation, through the content store. */
static int
pstore(struct pctx *c, const struct pfile *f)
{
	char	 obj[GIT_OID_HEXSZ + 16], dst[PUB_MAXPATH + 128], *slash;
	char	 hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), &f->pf_oid);
	snprintf(obj, sizeof(obj), "objects/%s", hex);
	snprintf(dst, sizeof(dst), "%s/files/%s", c->c_tmpgen, f->pf_path);
	if (pubfs_write_new(c->c_fs, obj, f->pf_data, f->pf_len, 0644) == 0)
		;
	else if (errno == EEXIST)
		c->c_b->pb_nreused++;
	else
		return pfail(c, EXT_E_UPLOAD, "%s: %s", obj, strerror(errno));
	/* Files come in tree order: a directory is made once for its run. */
	if ((slash = strrchr(dst, '/')) != NULL) {
		*slash = '\0';
		if (strcmp(dst, c->c_lastdir) != 0) {
			if (pubfs_mkdirs(c->c_fs, dst, 0755) == -1)
				return pfail(c, EXT_E_UPLOAD, "%s: %s", dst,
				    strerror(errno));
			snprintf(c->c_lastdir, sizeof(c->c_lastdir), "%s", dst);
		}
		*slash = '/';
	}
	if (pubfs_link(c->c_fs, obj, dst) == -1)
		return pfail(c, EXT_E_UPLOAD, "%s: %s", dst, strerror(errno));
	c->c_b->pb_nfiles++;
	return 0;
}

/*
 * source.json: what the generation was made from (commit, branch, the
 * publisher's settings tag), for the publisher to tell at start whether
 * its live generation is current.  Never served.
 */
static int
psource(struct pctx *c)
{
	struct json_object	*o;
	const char		*s;
	char			 rel[128];
	int			 rv = 0;

	if ((o = json_object_new_object()) == NULL)
		return pfail(c, EXT_E_UPLOAD, "out of memory");
	json_object_object_add(o, "commit", json_object_new_string(
	    c->c_b->pb_commit));
	json_object_object_add(o, "branch", json_object_new_string(
	    c->c_o->po_branch));
	json_object_object_add(o, "settings", json_object_new_string(
	    c->c_o->po_settings != NULL ? c->c_o->po_settings : ""));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(rel, sizeof(rel), "%s/source.json", c->c_tmpgen);
	if (pubfs_write_new(c->c_fs, rel, s, strlen(s), 0644) == -1)
		rv = pfail(c, EXT_E_UPLOAD, "%s: %s", rel, strerror(errno));
	json_object_put(o);
	return rv;
}

static int
pgeneration(struct pctx *c)
{
	char		*manifest, rel[128];
	size_t		 i;
	unsigned long	 seq;

	if (pubfs_mkdirs(c->c_fs, "objects", 0755) == -1 ||
	    pubfs_mkdirs(c->c_fs, "gens", 0755) == -1)
		return pfail(c, EXT_E_UPLOAD, "%s: %s", c->c_o->po_outdir,
		    strerror(errno));
	if (pubfs_mkdirs(c->c_fs, c->c_tmpgen, 0755) == -1)
		return pfail(c, EXT_E_UPLOAD, "%s: %s", c->c_tmpgen,
		    strerror(errno));
	for (i = 0; i < c->c_nfiles; i++)
		if (pstore(c, &c->c_files[i]) == -1)
			return -1;
	if (c->c_conn != NULL) {
		snprintf(rel, sizeof(rel), "%s/connectors_registry.json",
		    c->c_tmpgen);
		if (pubfs_write_new(c->c_fs, rel, c->c_conn, c->c_connlen,
		    0644) == -1)
			return pfail(c, EXT_E_UPLOAD, "%s: %s", rel,
			    strerror(errno));
	}
	if (psource(c) == -1)
		return -1;
	if ((manifest = pmanifest(c)) == NULL)
		return pfail(c, EXT_E_UPLOAD, "out of memory");
	snprintf(rel, sizeof(rel), "%s/manifest.json", c->c_tmpgen);
	if (pubfs_write_new(c->c_fs, rel, manifest, strlen(manifest),
	    0644) == -1) {
		free(manifest);
		return pfail(c, EXT_E_UPLOAD, "%s: %s", rel, strerror(errno));
	}
	free(manifest);
	/* Complete on disk under its final name, then made live. */
	snprintf(rel, sizeof(rel), "gens/%s", c->c_gen);
	if (pubfs_rename(c->c_fs, c->c_tmpgen, rel) == -1)
		return pfail(c, EXT_E_UPLOAD, "%s: %s", rel, strerror(errno));
	seq = strlen(c->c_gen);
	snprintf(rel, sizeof(rel), "%s\n", c->c_gen);
	if (pubfs_replace(c->c_fs, "current", rel, seq + 1, 0644) == -1 ||
	    pubfs_sync_dir(c->c_fs, "") == -1) {
		snprintf(rel, sizeof(rel), "gens/%s", c->c_gen);
		pubfs_remove_tree(c->c_fs, rel);
		return pfail(c, EXT_E_UPLOAD, "current: %s", strerror(errno));
	}
	return 0;
}

/* --- The whole publish ----------------------------------------------------------- */

static int
popen_repo(struct pctx *c)
{
	const struct publish_opts *o = c->c_o;
	git_commit	*commit = NULL;
	git_oid		 id;
	char		 ref[300];
	int		 rv = -1;

	if (o->po_branch == NULL || !extreg_branch_valid(o->po_branch))
		return pfail(c, EXT_E_FETCH, "'%s' is not a valid branch name",
		    o->po_branch != NULL ? o->po_branch : "");
	if (git_repository_open_ext(&c->c_repo, o->po_repo,
	    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0)
		return pfail(c, EXT_E_FETCH, "%s: cannot open the repository: %s",
		    o->po_repo, pgit_error());
	snprintf(ref, sizeof(ref), "refs/heads/%s", o->po_branch);
	if (git_reference_name_to_id(&id, c->c_repo, ref) != 0)
		return pfail(c, EXT_E_FETCH, "branch '%s' not found in %s",
		    o->po_branch, o->po_repo);
	git_oid_tostr(c->c_b->pb_commit, sizeof(c->c_b->pb_commit), &id);
	if (git_commit_lookup(&commit, c->c_repo, &id) != 0 ||
	    git_commit_tree(&c->c_tree, commit) != 0 ||
	    git_repository_odb(&c->c_odb, c->c_repo) != 0) {
		pfail(c, EXT_E_FETCH, "commit %s: %s", c->c_b->pb_commit,
		    pgit_error());
		goto out;
	}
	rv = 0;
 out:
	git_commit_free(commit);
	return rv;
}

static void
plimits(struct publish_limits *l, const struct publish_limits *in)
{
	*l = *in;
	if (l->pl_dir_files == 0)
		l->pl_dir_files = 100;
	if (l->pl_dir_bytes == 0)
		l->pl_dir_bytes = 10 * 1024 * 1024;
	if (l->pl_file_bytes == 0)
		l->pl_file_bytes = 2 * 1024 * 1024;
	if (l->pl_image_bytes == 0)
		l->pl_image_bytes = 512 * 1024;
	if (l->pl_depth == 0)
		l->pl_depth = 16;
	if (l->pl_entries == 0)
		l->pl_entries = 100000;
	if (l->pl_total_bytes == 0)
		l->pl_total_bytes = 256 * 1024 * 1024;
}

/*
 * libgit2 reads no configuration but the repository's own: no global,
 * XDG or system files (the sandbox could not open them, and a user's
 * settings must not change what gets published), and no ownership check
 * (the repository belongs to the git user, the publisher runs as `user`).
 */
int
publish_init(void)
{
	static int	 done;
	unsigned char	 sum[SCANCACHE_SUM];

	if (done)
		return 0;
	if (git_libgit2_init() < 0)
		return -1;
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA,
	    "");
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	/* OpenSSL sets up its digests now, before any sandbox (scancache) */
	if (scancache_sum("", 0, sum) == -1)
		return -1;
	done = 1;
	return 0;
}

int
publish_run(const struct publish_opts *o, struct publish_build *b)
{
	struct pctx	 c;
	char		 live[64];
	time_t		 started = time(NULL);
	size_t		 i;
	int		 rv = -1;

	memset(b, 0, sizeof(*b));
	memset(&c, 0, sizeof(c));
	c.c_o = o;
	c.c_b = b;
	c.c_base = o->po_base_url != NULL ? o->po_base_url : PUBLISH_BASE_URL;
	plimits(&c.c_lim, &o->po_limits);
	b->pb_state = PUBLISH_IN_PROGRESS;
	if ((c.c_fs = pubfs_open(o->po_outdir)) == NULL) {
		pfail(&c, EXT_E_UPLOAD, "%s: %s", o->po_outdir, strerror(errno));
		goto done;
	}
	if (pubfs_lock(c.c_fs, ".lock") == -1 ||
	    pubfs_mkdirs(c.c_fs, "builds", 0755) == -1) {
		pfail(&c, EXT_E_UPLOAD, "%s: %s", o->po_outdir, strerror(errno));
		goto done;
	}
	b->pb_id = pnext_seq(&c, "builds/seq");
	if (publish_init() == -1) {
		pfail(&c, EXT_E_FETCH, "libgit2: %s", pgit_error());
		goto done;
	}
	if (popen_repo(&c) == -1)
		goto done;
	precord(&c, started);
	if (pregistry(&c) == -1 || pconnectors(&c) == -1 || pfetch(&c) == -1 ||
	    pscan(&c) == -1)
		goto done;
	/* The generation's name: a sequence number and the commit. */
	snprintf(c.c_gen, sizeof(c.c_gen), "%lu-%.12s",
	    pnext_seq(&c, "gens.seq"), b->pb_commit);
	snprintf(c.c_tmpgen, sizeof(c.c_tmpgen), "gens/.%s.tmp", c.c_gen);
	if (prewrite(&c) == -1 || pgeneration(&c) == -1)
		goto done;
	snprintf(b->pb_generation, sizeof(b->pb_generation), "%s", c.c_gen);
	rv = 0;
 done:
	if (c.c_fs != NULL) {
		/* Success prunes to the new generation; failure only its own
		 * leftovers, the live generation stays as it was. */
		if (rv == 0)
			pubdir_prune(c.c_fs, c.c_gen);
		else if (c.c_tmpgen[0] != '\0')
			pubfs_remove_tree(c.c_fs, c.c_tmpgen);
		if (rv == -1) {
			pubdir_live(c.c_fs, live, sizeof(live));
			if (live[0] != '\0')
				pdetail(&c, "generation %s stays live", live);
		}
	}
	b->pb_state = rv == -1 ? PUBLISH_FAILED : b->pb_nwarnings > 0 ?
	    PUBLISH_WARNING : PUBLISH_COMPLETED;
	if (rv == 0 && b->pb_message == NULL &&
	    asprintf(&b->pb_message, "published %zu widget%s from %.7s",
	    c.c_xg->xg_nwidgets, c.c_xg->xg_nwidgets == 1 ? "" : "s",
	    b->pb_commit) == -1)
		b->pb_message = NULL;
	precord(&c, started);
	if (c.c_fs != NULL)
		pprune_builds(&c);
	for (i = 0; i < c.c_nfiles; i++) {
		free(c.c_files[i].pf_path);
		free(c.c_files[i].pf_data);
	}
	free(c.c_files);
	for (i = 0; c.c_entry_urls != NULL && c.c_xg != NULL &&
	    i < c.c_xg->xg_nwidgets; i++)
		free(c.c_entry_urls[i]);
	free(c.c_entry_urls);
	free(c.c_conn);
	extreg_free(c.c_xg);
	git_odb_free(c.c_odb);
	git_tree_free(c.c_tree);
	git_repository_free(c.c_repo);
	pubfs_close(c.c_fs);
	return rv;
}

int
publish_resolve(const char *repo, const char *branch, char *commit,
    char *why, size_t size)
{
	git_repository	*r = NULL;
	git_oid		 id;
	char		 ref[300];
	int		 rv = -1;

	commit[0] = '\0';
	if (publish_init() == -1) {
		snprintf(why, size, "libgit2: %s", pgit_error());
		return -1;
	}
	if (!extreg_branch_valid(branch)) {
		snprintf(why, size, "'%s' is not a valid branch name", branch);
		return -1;
	}
	if (git_repository_open_ext(&r, repo, GIT_REPOSITORY_OPEN_NO_SEARCH,
	    NULL) != 0) {
		snprintf(why, size, "%s: %s", repo, pgit_error());
		return -1;
	}
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	if (git_reference_name_to_id(&id, r, ref) != 0)
		snprintf(why, size, "branch '%s' not found in %s", branch, repo);
	else {
		git_oid_tostr(commit, GIT_OID_HEXSZ + 1, &id);
		rv = 0;
	}
	git_repository_free(r);
	return rv;
}
