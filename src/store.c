/*
 * store.c — the secrets and variables store (SPEC §4): one file per name
 * under <store>/secrets/ and <store>/variables/, the layout of systemd
 * credentials, Docker secrets and Kubernetes secret mounts.
 *
 * The reader runs in the keeper under Landlock and seccomp, so it keeps to
 * read-only openat, fstat, getdents64, read and close, and never resolves
 * a path it has not opened itself: each entry is opened O_NOFOLLOW and
 * checked with fstat on the descriptor it will read.  Secret values go
 * straight from read(2) into one anonymous mapping that is wiped on free;
 * no stdio, no realloc, so no stray copy is left in the heap.
 *
 * The writer is widgetctl's: a lock, then a temporary file, fsync, rename
 * and fsync of the directory, so the name always holds a whole value.
 */
#include "build.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

/* The Kubernetes directory a secret mount's symlinks point into. */
#define STORE_K8S_DATA		"..data"

#define STORE_SECRET_MODE	0600
#define STORE_SECRET_DIRMODE	0700
#define STORE_VARIABLE_MODE	0644
#define STORE_VARIABLE_DIRMODE	0755
#define STORE_DIRMODE		0755	/* the store itself, when created */

/* One name; its value is at se_off in the map's arena. */
struct store_entry {
	char		*se_name;
	size_t		 se_off;
	size_t		 se_len;
};

struct store_map {
	enum store_kind	 sm_kind;
	struct store_entry *sm_ents;	/* sorted by name once read */
	size_t		 sm_n;
	size_t		 sm_cap;
	unsigned char	*sm_arena;	/* mmap'd; each value then a NUL */
	size_t		 sm_used;
	size_t		 sm_size;	/* of the mapping */
};

/* What the reader keeps while it walks one directory. */
struct store_walk {
	struct store_map *sw_map;
	const char	*sw_path;	/* <store>/<kind dir>, for messages */
	int		 sw_dfd;
	int		 sw_datafd;	/* ..data: -1 not yet opened, -2 unusable */
	char		 sw_datawhy[128];
	void		(*sw_report)(const char *, void *);
	void		*sw_arg;
};

static void
store_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
store_name_valid(const char *name)
{
	size_t	 i;

	if (name == NULL || name[0] == '\0' ||
	    (name[0] >= '0' && name[0] <= '9'))
		return 0;
	/* ASCII only: isalnum() would follow the locale. */
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= STORE_NAME_MAX)
			return 0;
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	}
	return 1;
}

const char *
store_kind_dir(enum store_kind kind)
{
	return kind == STORE_SECRET ? "secrets" : "variables";
}

const char *
store_kind_name(enum store_kind kind)
{
	return kind == STORE_SECRET ? "secret" : "variable";
}

/*
 * Reading
 */

/* Unmap an arena after wiping it; secrets were locked, so unlock too. */
static void
store_arena_free(unsigned char *p, size_t size)
{
	if (p == NULL)
		return;
	explicit_bzero(p, size);
	munlock(p, size);
	munmap(p, size);
}

/* Room for n more bytes in the arena; the old mapping is wiped on a move. */
static int
store_arena_reserve(struct store_map *m, size_t n)
{
	unsigned char	*p;
	size_t		 size, page;

	if (m->sm_size - m->sm_used >= n)
		return 0;
	page = (size_t)sysconf(_SC_PAGESIZE);
	size = m->sm_size ? m->sm_size : 4 * page;
	while (size - m->sm_used < n)
		size *= 2;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	/*
	 * Best effort: RLIMIT_MEMLOCK may refuse the lock, and the keeper is
	 * undumpable anyway; a failure here must not lose the secrets.
	 */
	if (m->sm_kind == STORE_SECRET) {
		(void)mlock(p, size);
		(void)madvise(p, size, MADV_DONTDUMP);
	}
	if (m->sm_used > 0)
		memcpy(p, m->sm_arena, m->sm_used);
	store_arena_free(m->sm_arena, m->sm_size);
	m->sm_arena = p;
	m->sm_size = size;
	return 0;
}

void
store_map_free(struct store_map *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->sm_n; i++)
		free(m->sm_ents[i].se_name);
	free(m->sm_ents);
	store_arena_free(m->sm_arena, m->sm_size);
	free(m);
}

size_t
store_map_count(const struct store_map *m)
{
	return m->sm_n;
}

void
store_map_entry(const struct store_map *m, size_t i, const char **namep,
    const void **valp, size_t *lenp)
{
	*namep = m->sm_ents[i].se_name;
	*valp = m->sm_arena + m->sm_ents[i].se_off;
	*lenp = m->sm_ents[i].se_len;
}

int
store_lookup(const struct store_map *m, const char *name, const void **valp,
    size_t *lenp)
{
	size_t	 lo = 0, hi = m->sm_n, mid;
	int	 c;

	/* Names are public; only they steer the search. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, m->sm_ents[mid].se_name);
		if (c == 0) {
			*valp = m->sm_arena + m->sm_ents[mid].se_off;
			*lenp = m->sm_ents[mid].se_len;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int
store_lookup_fn(const char *name, const void **valp, size_t *lenp, void *map)
{
	return store_lookup(map, name, valp, lenp);
}

static int
store_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_entry *)a)->se_name,
	    ((const struct store_entry *)b)->se_name);
}

static void
store_report(struct store_walk *w, const char *name, const char *fmt, ...)
{
	char	 reason[256], msg[512 + STORE_NAME_MAX];
	va_list	 ap;

	if (w->sw_report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s/%s: %s", w->sw_path, name, reason);
	w->sw_report(msg, w->sw_arg);
}

static const char *
store_type_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a fifo";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	return "not a regular file";
}

static const char *
store_dtype_name(unsigned char t)
{
	switch (t) {
	case DT_DIR:
		return "a directory";
	case DT_FIFO:
		return "a fifo";
	case DT_SOCK:
		return "a socket";
	case DT_CHR:
		return "a character device";
	case DT_BLK:
		return "a block device";
	default:
		return "not a regular file";
	}
}

/*
 * The Kubernetes ..data directory, opened once per walk: it must be a
 * directory whose ".." is the kind's directory itself, so a link that
 * resolves through it cannot leave the store.  Checked with opens and
 * fstat only (no readlink in the keeper's filter).
 */
static int
store_k8s_data(struct store_walk *w)
{
	struct stat	 us, ps;
	int		 fd, up;

	if (w->sw_datafd != -1)
		return w->sw_datafd;
	w->sw_datafd = -2;
	if ((fd = openat(w->sw_dfd, STORE_K8S_DATA, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		snprintf(w->sw_datawhy, sizeof(w->sw_datawhy), "%s: %s",
		    STORE_K8S_DATA, strerror(errno));
		return -2;
	}
	if ((up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		snprintf(w->sw_datawhy, sizeof(w->sw_datawhy), "%s/..: %s",
		    STORE_K8S_DATA, strerror(errno));
		close(fd);
		return -2;
	}
	if (fstat(up, &us) == -1 ||
	    fstat(w->sw_dfd, &ps) == -1 || us.st_dev != ps.st_dev ||
	    us.st_ino != ps.st_ino) {
		snprintf(w->sw_datawhy, sizeof(w->sw_datawhy), "%s is not a "
		    "directory inside this one", STORE_K8S_DATA);
		close(up);
		close(fd);
		return -2;
	}
	close(up);
	w->sw_datafd = fd;
	return fd;
}

/*
 * A symbolic link entry: accepted only when it resolves to ..data/NAME, a
 * regular file.  Returns that file open, or -1 (reported).
 */
static int
store_open_link(struct store_walk *w, const char *name)
{
	struct stat	 ls, ts;
	int		 dfd, lfd = -1, tfd = -1, tries = 0;

 again:
	if ((dfd = store_k8s_data(w)) < 0) {
		store_report(w, name, "a symbolic link outside the Kubernetes "
		    "layout (%s)", w->sw_datawhy);
		return -1;
	}
	if ((tfd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) == -1) {
		store_report(w, name, "a symbolic link, and %s/%s: %s",
		    STORE_K8S_DATA, name, errno == ELOOP ?
		    "a symbolic link" : strerror(errno));
		goto fail;
	}
	if (fstat(tfd, &ts) == -1) {
		store_report(w, name, "%s/%s: %s", STORE_K8S_DATA, name,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(ts.st_mode)) {
		store_report(w, name, "a symbolic link, and %s/%s is %s",
		    STORE_K8S_DATA, name, store_type_name(ts.st_mode));
		goto fail;
	}
	/* Where the link itself leads must be that same file. */
	if ((lfd = openat(w->sw_dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1 || fstat(lfd, &ls) == -1 ||
	    ls.st_dev != ts.st_dev || ls.st_ino != ts.st_ino) {
		/*
		 * Kubernetes may have swapped ..data to a new directory since
		 * it was opened: look once more through the new one.
		 */
		if (tries++ == 0) {
			if (lfd != -1)
				close(lfd);
			close(tfd);
			lfd = tfd = -1;
			close(w->sw_datafd);
			w->sw_datafd = -1;
			goto again;
		}
		store_report(w, name, "a symbolic link that does not lead to "
		    "%s/%s", STORE_K8S_DATA, name);
		goto fail;
	}
	close(lfd);
	return tfd;
 fail:
	if (lfd != -1)
		close(lfd);
	if (tfd != -1)
		close(tfd);
	return -1;
}

/* Read fd's whole content into the arena as entry name; -1 if refused. */
static int
store_take(struct store_walk *w, const char *name, int fd)
{
	struct store_map	*m = w->sw_map;
	struct store_entry	*e, *ne;
	struct stat		 st;
	unsigned char		*p;
	size_t			 want, got = 0, cap;
	ssize_t			 n;

	if (fstat(fd, &st) == -1) {
		store_report(w, name, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		store_report(w, name, "%s, not a regular file",
		    store_type_name(st.st_mode));
		return -1;
	}
	if (st.st_size == 0) {
		store_report(w, name, "empty (a value must not be empty)");
		return -1;
	}
	if (st.st_size > STORE_VALUE_MAX) {
		store_report(w, name, "%lld bytes, over the limit of %d",
		    (long long)st.st_size, STORE_VALUE_MAX);
		return -1;
	}
	/* One byte more than fstat said: a file still growing shows. */
	want = (size_t)st.st_size + 1;
	if (store_arena_reserve(m, want) == -1) {
		store_report(w, name, "%s", strerror(errno));
		return -1;
	}
	p = m->sm_arena + m->sm_used;
	while (got < want) {
		if ((n = read(fd, p + got, want - got)) == -1) {
			if (errno == EINTR)
				continue;
			store_report(w, name, "%s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size) {
		store_report(w, name, "changed while it was read");
		goto fail;
	}
	if (m->sm_n == m->sm_cap) {
		cap = m->sm_cap ? m->sm_cap * 2 : 16;
		if ((ne = reallocarray(m->sm_ents, cap, sizeof(*ne))) == NULL) {
			store_report(w, name, "%s", strerror(errno));
			goto fail;
		}
		m->sm_ents = ne;
		m->sm_cap = cap;
	}
	e = &m->sm_ents[m->sm_n];
	if ((e->se_name = strdup(name)) == NULL) {
		store_report(w, name, "%s", strerror(errno));
		goto fail;
	}
	e->se_off = m->sm_used;
	e->se_len = got;
	p[got] = '\0';
	m->sm_used += got + 1;
	m->sm_n++;
	return 0;
 fail:
	explicit_bzero(p, got);
	return -1;
}

/* One directory entry: skipped, refused (reported) or taken. */
static void
store_read_entry(struct store_walk *w, const struct dirent *de)
{
	const char	*name = de->d_name;
	int		 fd = -1;

	if (!store_name_valid(name)) {
		store_report(w, name, "not a valid name (letters, digits and "
		    "'_', not starting with a digit, at most %d bytes)",
		    STORE_NAME_MAX);
		return;
	}
	switch (de->d_type) {
	case DT_REG:
	case DT_UNKNOWN:
		/* Non-blocking: a fifo that replaced the file cannot hang us. */
		fd = openat(w->sw_dfd, name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd == -1 && errno == ELOOP)
			fd = store_open_link(w, name);
		else if (fd == -1)
			store_report(w, name, "%s", strerror(errno));
		break;
	case DT_LNK:
		fd = store_open_link(w, name);
		break;
	default:
		/* Never opened: opening a device can have side effects. */
		store_report(w, name, "%s, not a regular file",
		    store_dtype_name(de->d_type));
		return;
	}
	if (fd == -1)
		return;
	(void)store_take(w, name, fd);
	close(fd);
}

struct store_map *
store_read(const char *store, enum store_kind kind,
    void (*report)(const char *, void *), void *arg, char *err,
    size_t errlen)
{
	struct store_map	*m = NULL;
	struct store_walk	 w;
	struct dirent		*de;
	DIR			*d = NULL;
	char			 path[PATH_MAX];
	size_t			 nent = 0;
	int			 sfd = -1, ok = 0;

	memset(&w, 0, sizeof(w));
	w.sw_dfd = -1;
	w.sw_datafd = -1;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		store_err(err, errlen, "%s", strerror(errno));
		goto out;
	}
	m->sm_kind = kind;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", store,
	    store_kind_dir(kind)) >= sizeof(path)) {
		store_err(err, errlen, "%s: path too long", store);
		goto out;
	}
	if ((sfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		store_err(err, errlen, "%s: %s", store, strerror(errno));
		goto out;
	}
	/* Followed if a link: the operator may mount secrets/ elsewhere. */
	if ((w.sw_dfd = openat(sfd, store_kind_dir(kind), O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			ok = 1;		/* nothing stored yet */
			goto out;
		}
		store_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((d = fdopendir(w.sw_dfd)) == NULL) {
		store_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	w.sw_map = m;
	w.sw_path = path;
	w.sw_report = report;
	w.sw_arg = arg;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				store_err(err, errlen, "%s: %s", path,
				    strerror(errno));
				goto out;
			}
			break;
		}
		/* Ours (lock, temporary files) and Kubernetes' own. */
		if (de->d_name[0] == '.')
			continue;
		if (++nent > STORE_ENTRIES_MAX) {
			store_err(err, errlen, "%s: more than %d entries", path,
			    STORE_ENTRIES_MAX);
			goto out;
		}
		store_read_entry(&w, de);
	}
	if (m->sm_n > 1)
		qsort(m->sm_ents, m->sm_n, sizeof(*m->sm_ents),
		    store_entry_cmp);
	ok = 1;
 out:
	if (w.sw_datafd >= 0)
		close(w.sw_datafd);
	if (d != NULL)
		closedir(d);
	else if (w.sw_dfd != -1)
		close(w.sw_dfd);
	if (sfd != -1)
		close(sfd);
	if (!ok) {
		store_map_free(m);
		m = NULL;
	}
	return m;
}

/*
 * Writing (widgetctl, as root)
 */

/* The store directory, created (one level, 0755) when create is set. */
static int
store_open_root(const char *store, int create, char *err, size_t errlen)
{
	char	*copy = NULL;
	int	 fd, pfd, save;

	if ((fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1 ||
	    errno != ENOENT || !create)
		goto out;
	if (mkdir(store, STORE_DIRMODE) == -1 && errno != EEXIST)
		goto out;
	if ((fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto out;
	/* The umask must not narrow it; the new name must be durable. */
	if (fchmod(fd, STORE_DIRMODE) == -1 || (copy = strdup(store)) == NULL)
		goto fail;
	if ((pfd = open(dirname(copy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		goto fail;
	if (fsync(pfd) == -1) {
		save = errno;
		close(pfd);
		errno = save;
		goto fail;
	}
	close(pfd);
	goto out;
 fail:
	save = errno;
	close(fd);
	fd = -1;
	errno = save;
 out:
	save = errno;
	if (fd == -1)
		store_err(err, errlen, "%s: %s", store, strerror(save));
	free(copy);
	errno = save;
	return fd;
}

/* The writers' lock, held until the returned descriptor is closed. */
static int
store_lock(int sfd, const char *store, char *err, size_t errlen)
{
	int	 fd;

	if ((fd = openat(sfd, STORE_LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		store_err(err, errlen, "%s/%s: %s", store, STORE_LOCK_NAME,
		    strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		store_err(err, errlen, "%s/%s: lock: %s", store,
		    STORE_LOCK_NAME, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The kind's directory for writing: never through a symbolic link (that
 * is a read-only mount's layout, not ours).  With fix set it is created
 * when missing, and given its mode and, unless uid is -1, its owner.
 * -1 with err filled and errno kept.
 */
static int
store_open_kind(int sfd, const char *store, enum store_kind kind, int fix,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	const char	*dir = store_kind_dir(kind);
	mode_t		 mode = kind == STORE_SECRET ? STORE_SECRET_DIRMODE :
			    STORE_VARIABLE_DIRMODE;
	struct stat	 st;
	int		 fd, made = 0, save;

	fd = openat(sfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && fix) {
		if (mkdirat(sfd, dir, mode) == -1)
			goto fail;
		made = 1;
		fd = openat(sfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	}
	if (fd == -1)
		goto fail;
	if (fix && ((uid != (uid_t)-1 && fchown(fd, uid, gid) == -1) ||
	    fchmod(fd, mode) == -1 || (made && fsync(sfd) == -1)))
		goto fail;
	return fd;
 fail:
	save = errno;
	if (fd != -1)
		close(fd);
	/* O_DIRECTORY | O_NOFOLLOW on a link fails with ENOTDIR. */
	if ((save == ELOOP || save == ENOTDIR) && fstatat(sfd, dir, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		save = ELOOP;
	if (save == ELOOP)
		store_err(err, errlen, "%s/%s: a symbolic link; widgetctl "
		    "writes only into a real directory", store, dir);
	else
		store_err(err, errlen, "%s/%s: %s", store, dir,
		    strerror(save));
	errno = save;
	return -1;
}

/* Whether name exists as kind: 1 yes, 0 no, -1 with err filled. */
static int
store_exists(int sfd, const char *store, enum store_kind kind,
    const char *name, char *err, size_t errlen)
{
	struct stat	 st;
	char		 rel[STORE_NAME_MAX + 32];

	snprintf(rel, sizeof(rel), "%s/%s", store_kind_dir(kind), name);
	if (fstatat(sfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	store_err(err, errlen, "%s/%s: %s", store, rel, strerror(errno));
	return -1;
}

/*
 * Remove temporary files a killed writer left.  Called under the lock,
 * so no live writer owns one.
 */
static void
store_clean_tmp(int dfd)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if ((fd = dup(dfd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, STORE_TMP_PREFIX,
		    sizeof(STORE_TMP_PREFIX) - 1) == 0)
			(void)unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

/* A new temporary file beside name, its name in tmp; -1 with errno. */
static int
store_tmp_open(int dfd, const char *name, mode_t mode, char *tmp,
    size_t tmplen)
{
	unsigned char	 r[6];
	int		 fd, tries;

	for (tries = 0; tries < 16; tries++) {
		if (getentropy(r, sizeof(r)) == -1)
			return -1;
		snprintf(tmp, tmplen, "%s%s.%02x%02x%02x%02x%02x%02x",
		    STORE_TMP_PREFIX, name, r[0], r[1], r[2], r[3], r[4], r[5]);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static int
store_write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
store_write(const char *store, enum store_kind kind, const char *name,
    const void *val, size_t len, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	enum store_kind	 other = kind == STORE_SECRET ? STORE_VARIABLE :
			    STORE_SECRET;
	mode_t		 mode = kind == STORE_SECRET ? STORE_SECRET_MODE :
			    STORE_VARIABLE_MODE;
	const char	*dir = store_kind_dir(kind), *what = "";
	char		 tmp[sizeof(STORE_TMP_PREFIX) + STORE_NAME_MAX + 16];
	int		 sfd = -1, lfd = -1, dfd = -1, fd = -1, made = 0;
	int		 rv = -1, c;

	if (!store_name_valid(name)) {
		store_err(err, errlen, "'%s' is not a valid name (letters, "
		    "digits and '_', not starting with a digit, at most %d "
		    "bytes)", name, STORE_NAME_MAX);
		goto out;
	}
	if (len == 0) {
		store_err(err, errlen, "%s '%s': an empty value is refused",
		    store_kind_name(kind), name);
		goto out;
	}
	if (len > STORE_VALUE_MAX) {
		store_err(err, errlen, "%s '%s': %zu bytes, over the limit of "
		    "%d", store_kind_name(kind), name, len, STORE_VALUE_MAX);
		goto out;
	}
	if ((sfd = store_open_root(store, 1, err, errlen)) == -1 ||
	    (lfd = store_lock(sfd, store, err, errlen)) == -1)
		goto out;
	/* Under the lock, so a concurrent set of the other kind cannot race. */
	if ((c = store_exists(sfd, store, other, name, err, errlen)) != 0) {
		if (c == 1)
			store_err(err, errlen, "'%s' is already a %s in %s; one "
			    "name cannot be both a secret and a variable "
			    "(remove the %s first)", name,
			    store_kind_name(other), store,
			    store_kind_name(other));
		goto out;
	}
	if ((dfd = store_open_kind(sfd, store, kind, 1, uid, gid, err,
	    errlen)) == -1)
		goto out;
	store_clean_tmp(dfd);
	if ((fd = store_tmp_open(dfd, name, mode, tmp, sizeof(tmp))) == -1) {
		what = "create";
		goto fail;
	}
	made = 1;
	/* The exact mode whatever the umask; the owner before the bytes. */
	if (fchmod(fd, mode) == -1) {
		what = "chmod";
		goto fail;
	}
	if (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1) {
		what = "chown";
		goto fail;
	}
	if (store_write_all(fd, val, len) == -1) {
		what = "write";
		goto fail;
	}
	if (fsync(fd) == -1) {
		what = "fsync";
		goto fail;
	}
	c = close(fd);
	fd = -1;
	if (c == -1) {
		what = "close";
		goto fail;
	}
	if (renameat(dfd, tmp, dfd, name) == -1) {
		what = "rename";
		goto fail;
	}
	made = 0;
	/* The rename is durable only once the directory is. */
	if (fsync(dfd) == -1) {
		what = "fsync of the directory";
		goto fail;
	}
	rv = 0;
	goto out;
 fail:
	store_err(err, errlen, "%s/%s/%s: %s: %s", store, dir, name, what,
	    strerror(errno));
 out:
	if (fd != -1)
		close(fd);
	if (made)
		(void)unlinkat(dfd, tmp, 0);
	if (dfd != -1)
		close(dfd);
	if (lfd != -1)
		close(lfd);
	if (sfd != -1)
		close(sfd);
	return rv;
}

int
store_remove(const char *store, enum store_kind kind, const char *name,
    char *err, size_t errlen)
{
	const char	*dir = store_kind_dir(kind);
	int		 sfd = -1, lfd = -1, dfd = -1, rv = -1;

	if (!store_name_valid(name)) {
		store_err(err, errlen, "'%s' is not a valid name", name);
		goto out;
	}
	if ((sfd = store_open_root(store, 0, err, errlen)) == -1 ||
	    (lfd = store_lock(sfd, store, err, errlen)) == -1 ||
	    (dfd = store_open_kind(sfd, store, kind, 0, (uid_t)-1, (gid_t)-1,
	    err, errlen)) == -1) {
		if (errno == ENOENT)
			goto absent;
		goto out;
	}
	store_clean_tmp(dfd);
	if (unlinkat(dfd, name, 0) == -1) {
		if (errno == ENOENT)
			goto absent;
		store_err(err, errlen, "%s/%s/%s: %s", store, dir, name,
		    strerror(errno));
		goto out;
	}
	if (fsync(dfd) == -1) {
		store_err(err, errlen, "%s/%s: fsync: %s", store, dir,
		    strerror(errno));
		goto out;
	}
	rv = 0;
	goto out;
 absent:
	store_err(err, errlen, "no %s '%s' in %s", store_kind_name(kind), name,
	    store);
	rv = 1;
 out:
	if (dfd != -1)
		close(dfd);
	if (lfd != -1)
		close(lfd);
	if (sfd != -1)
		close(sfd);
	return rv;
}
