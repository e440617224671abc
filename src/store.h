/*
 * store.h — a tenant's secrets and variables on disk (SPEC §4).
 *
 *	<store>/secrets/NAME	one secret, the exact bytes; 0600, keeper_user
 *	<store>/secrets/	0700, keeper_user
 *	<store>/variables/NAME	one variable; 0644
 *	<store>/variables/	0755
 *	<store>/.widgetctl.lock	writers' lock (flock)
 *
 * The reader is used by the keeper (secrets, under Landlock and seccomp) and
 * by the parent (variables); it only opens read-only (openat), fstat()s,
 * lists directories (getdents64), read()s and close()s, plus anonymous
 * mmap/mlock/madvise for the value arena.  The writer is widgetctl's, as
 * root.  Library code: errors come back as messages, nothing is logged.
 */
#ifndef WIDGETD_STORE_H
#define WIDGETD_STORE_H

#include <sys/types.h>

#include <stddef.h>

enum store_kind {
	STORE_SECRET,
	STORE_VARIABLE
};

/* Limits; documented in widgetd.conf(5) and widgetctl(8). */
#define STORE_NAME_MAX		128	/* bytes in a name */
#define STORE_VALUE_MAX		65536	/* bytes in a value */
#define STORE_ENTRIES_MAX	1024	/* entries of one kind in one store */

/* Files of the store that are not entries (all start with '.'). */
#define STORE_LOCK_NAME		".widgetctl.lock"
#define STORE_TMP_PREFIX	".widgetctl-tmp."

/* Every value of one kind, read at one moment; opaque. */
struct store_map;

/*
 * 1 when name is an identifier of platform-docs §12: ASCII letters, digits
 * and '_', not starting with a digit, 1 to STORE_NAME_MAX bytes; else 0.
 * Case-sensitive: "Key" and "key" are two names.
 */
int		 store_name_valid(const char *name);

/* "secrets" or "variables": the directory under the store. */
const char	*store_kind_dir(enum store_kind);
/* "secret" or "variable", for messages. */
const char	*store_kind_name(enum store_kind);

/*
 * Read every entry of <store>/secrets/ or <store>/variables/.
 *
 * Entries whose names start with '.' are skipped silently (the lock, the
 * writer's temporary files, Kubernetes' ..data and timestamped
 * directories).  Every other entry must be a regular file with a valid
 * name, 1 to STORE_VALUE_MAX bytes; a symbolic link is followed only in
 * the Kubernetes layout (NAME -> ..data/NAME where ..data is a directory
 * directly inside the kind's directory and NAME a regular file in it).
 * Each other entry is left out and reported once through report (may be
 * NULL) as "<path>: <reason>".
 *
 * Returns the map, or NULL with err filled when the store itself cannot
 * be read (the store directory missing or not a directory, an I/O error,
 * more than STORE_ENTRIES_MAX entries, out of memory).  A missing kind
 * directory is an empty map: nothing has been stored yet.
 *
 * Secret values live in one anonymous mapping, locked in memory and kept
 * out of core dumps where the kernel allows (best effort), and wiped by
 * store_map_free().  Nothing is read into any other buffer on the way.
 */
struct store_map *store_read(const char *store, enum store_kind,
		    void (*report)(const char *msg, void *arg), void *arg,
		    char *err, size_t errlen);
/* Wipe every value, unmap, free; NULL is a no-op. */
void		 store_map_free(struct store_map *);
/* The number of entries. */
size_t		 store_map_count(const struct store_map *);
/*
 * Entry i (0 <= i < count) in strcmp order of names: its name and value
 * (borrowed until store_map_free; NUL-terminated after *lenp bytes, but
 * the value may itself hold NUL bytes).
 */
void		 store_map_entry(const struct store_map *, size_t i,
		    const char **namep, const void **valp, size_t *lenp);
/*
 * Find name: 0 with the value borrowed as above, or -1 when absent.  A
 * binary search over names only: its time depends on the (public) names,
 * never on a value's bytes or length.
 */
int		 store_lookup(const struct store_map *, const char *name,
		    const void **valp, size_t *lenp);
/*
 * store_lookup with arg the map: the shape of keeper_secret_lookup_fn, to
 * hand to keeper_secret_eval() as it is.
 */
int		 store_lookup_fn(const char *name, const void **valp,
		    size_t *lenp, void *map);

/*
 * Set name to len bytes of val (1 <= len <= STORE_VALUE_MAX), atomically:
 * under the store's lock, a temporary file created beside the name with
 * O_EXCL, given the final mode and uid:gid, written, fsync'd, renamed
 * over the name, and the directory fsync'd.  A crash at any point leaves
 * the old or the new value.  uid (uid_t)-1 leaves ownership to the
 * caller's; otherwise the kind's directory is also given to uid:gid.  The
 * store directory is created (0755) if it is missing, the kind's
 * directory (0700 for secrets, 0755 for variables) likewise, and an
 * existing one is brought to that mode.  Refused: an invalid name, an
 * empty or oversized value, a name that exists as the other kind, a kind
 * directory that is a symbolic link.  0, or -1 with err filled.
 */
int		 store_write(const char *store, enum store_kind,
		    const char *name, const void *val, size_t len,
		    uid_t uid, gid_t gid, char *err, size_t errlen);
/*
 * Remove name under the lock and fsync the directory.  0; 1 when there is
 * no such entry (err says so); -1 with err filled on any other failure.
 */
int		 store_remove(const char *store, enum store_kind,
		    const char *name, char *err, size_t errlen);

#endif
