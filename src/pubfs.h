/*
 * pubfs.h — every file-system write the publisher makes, in one layer.
 *
 * The publisher handles untrusted repository bytes; the only place it may
 * write is the tenant's published directory.  Everything goes through a
 * directory fd opened once on that directory and openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): no path,
 * however it was built, can reach outside it or follow a link.  Relative
 * paths only; each function returns -1 with errno on failure and logs
 * nothing.
 */
#ifndef WIDGETD_PUBFS_H
#define WIDGETD_PUBFS_H

#include <sys/types.h>

#include <stddef.h>

struct stat;
struct pubfs;

/* Open (creating it, 0755, when missing) the directory dir. */
struct pubfs	*pubfs_open(const char *dir);
/*
 * Open an existing directory dir for reading what someone else wrote
 * there (the parent reading a publisher's generation): nothing is made,
 * and with owner other than (uid_t)-1 the directory and every file read
 * must belong to owner or root (EPERM otherwise).
 */
struct pubfs	*pubfs_attach(const char *dir, uid_t owner);
void		 pubfs_close(struct pubfs *);
/* The directory fd (for a sandbox rule or fstat); owned by pubfs. */
int		 pubfs_fd(const struct pubfs *);

/* mkdir -p of rel beneath the root. */
int		 pubfs_mkdirs(struct pubfs *, const char *rel, int mode);
/* Create rel exclusively with these bytes, fsync'd. */
int		 pubfs_write_new(struct pubfs *, const char *rel, const void *buf,
		    size_t len, int mode);
/* Replace rel atomically (temporary file, fsync, rename, fsync dir). */
int		 pubfs_replace(struct pubfs *, const char *rel, const void *buf,
		    size_t len, int mode);
/* A hard link to from at to (both beneath the root). */
int		 pubfs_link(struct pubfs *, const char *from, const char *to);
int		 pubfs_rename(struct pubfs *, const char *from, const char *to);
/* lstat(2) of rel beneath the root. */
int		 pubfs_stat(struct pubfs *, const char *rel, struct stat *);
/* 1 when rel exists (not following links), 0 when not, -1 on error. */
int		 pubfs_exists(struct pubfs *, const char *rel);
/* Link count of a regular file rel, -1 on error. */
long		 pubfs_nlink(struct pubfs *, const char *rel);
/* Read a regular file of at most max bytes (NUL-terminated copy). */
int		 pubfs_read(struct pubfs *, const char *rel, size_t max,
		    char **bufp, size_t *lenp);
/* The same from an open fd (any regular file; widgetctl uses it too). */
int		 pubfs_read_fd(int fd, size_t max, char **bufp, size_t *lenp);
int		 pubfs_unlink(struct pubfs *, const char *rel);
/* rm -r of rel (never following links); a missing rel is no error. */
int		 pubfs_remove_tree(struct pubfs *, const char *rel);
/* Names in directory rel (not . and ..), malloc'd, sorted. */
int		 pubfs_list(struct pubfs *, const char *rel, char ***namesp,
		    size_t *np);
void		 pubfs_list_free(char **, size_t);
/* fsync directory rel ("" the root). */
int		 pubfs_sync_dir(struct pubfs *, const char *rel);
/* An exclusive lock held until pubfs_close (flock on rel). */
int		 pubfs_lock(struct pubfs *, const char *rel);

#endif
