/*
 * pubfs.c — the publisher's file-system layer (see pubfs.h).
 *
 * Every path is resolved by the kernel beneath one directory fd with
 * openat2's RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS, so a name coming from
 * a repository ("../x", "a/../../x", a symlink planted by anyone) cannot
 * make the publisher touch anything outside the tenant's published
 * directory, even if every check above this layer were wrong (where the
 * kernel has no openat2, the same walk is done component by component).
 * Directory
 * operations (mkdirat, linkat, renameat, unlinkat) take the fd of the
 * parent opened that way and a single final name.
 */
#include "build.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pubfs.h"

#define PUBFS_RESOLVE	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | \
			    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
#define PUBFS_MAXDEPTH	64

struct pubfs {
	int		 pf_fd;
	int		 pf_lockfd;
	uid_t		 pf_owner;	/* reads: only files of this uid (or
					   root's); (uid_t)-1 any */
};

/*
 * Without openat2 (kernels before 5.6, valgrind): the same rule by hand,
 * one component at a time, each directory opened with O_NOFOLLOW, "."
 * and ".." refused.
 */
static int
pubfs_openat_walk(const struct pubfs *pf, const char *rel, int flags,
    int mode)
{
	char		 comp[NAME_MAX + 1];
	const char	*p = rel, *s;
	size_t		 k;
	int		 dfd, fd, saved;

	if ((dfd = dup(pf->pf_fd)) == -1)
		return -1;
	for (;;) {
		while (*p == '/')
			p++;
		for (s = p; *p != '\0' && *p != '/'; p++)
			;
		if ((k = p - s) > NAME_MAX) {
			close(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, s, k);
		comp[k] = '\0';
		while (*p == '/')
			p++;
		if (k == 0 || (k == 1 && comp[0] == '.')) {
			if (*p != '\0')
				continue;
			/* The root itself. */
			fd = openat(dfd, ".", flags | O_CLOEXEC, mode);
			break;
		}
		if (k == 2 && comp[0] == '.' && comp[1] == '.') {
			close(dfd);
			errno = EXDEV;	/* what RESOLVE_BENEATH says */
			return -1;
		}
		if (*p == '\0') {
			fd = openat(dfd, comp, flags | O_CLOEXEC | O_NOFOLLOW,
			    mode);
			break;
		}
		fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		saved = errno;
		close(dfd);
		if (fd == -1) {
			errno = saved;
			return -1;
		}
		dfd = fd;
	}
	saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

/* openat2 beneath the root; glibc 2.36 has no wrapper. */
static int
pubfs_openat(const struct pubfs *pf, const char *rel, int flags, int mode)
{
	static int	 no_openat2;
	struct open_how	 how;
	int		 fd;

	if (no_openat2)
		return pubfs_openat_walk(pf, rel, flags, mode);
	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)flags | O_CLOEXEC | O_NOFOLLOW;
	if (flags & O_CREAT)
		how.mode = mode;
	how.resolve = PUBFS_RESOLVE;
	fd = (int)syscall(SYS_openat2, pf->pf_fd, *rel ? rel : ".", &how,
	    sizeof(how));
	if (fd == -1 && errno == ENOSYS) {
		no_openat2 = 1;
		return pubfs_openat_walk(pf, rel, flags, mode);
	}
	return fd;
}

/*
 * The parent directory of rel, opened beneath the root, and its last
 * component in *base (pointing into rel).  "." for a top-level name.
 */
static int
pubfs_parent(const struct pubfs *pf, const char *rel, const char **base)
{
	char		 dir[PATH_MAX];
	const char	*slash = strrchr(rel, '/');
	size_t		 n;

	if (slash == NULL) {
		*base = rel;
		return pubfs_openat(pf, ".", O_RDONLY | O_DIRECTORY, 0);
	}
	if ((n = slash - rel) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, rel, n);
	dir[n] = '\0';
	*base = slash + 1;
	return pubfs_openat(pf, dir, O_RDONLY | O_DIRECTORY, 0);
}

/* A final component must be a plain name. */
static int
pubfs_name_ok(const char *base)
{
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		errno = EINVAL;
		return 0;
	}
	return 1;
}

struct pubfs *
pubfs_open(const char *dir)
{
	struct pubfs	*pf;
	int		 saved;

	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pf->pf_lockfd = -1;
	pf->pf_owner = (uid_t)-1;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		goto fail;
	/* The root itself must not be a link either. */
	if ((pf->pf_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		goto fail;
	return pf;
 fail:
	saved = errno;
	free(pf);
	errno = saved;
	return NULL;
}

struct pubfs *
pubfs_attach(const char *dir, uid_t owner)
{
	struct pubfs	*pf;
	struct stat	 st;
	int		 saved;

	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pf->pf_lockfd = -1;
	pf->pf_owner = owner;
	if ((pf->pf_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		goto fail;
	if (fstat(pf->pf_fd, &st) == -1)
		goto fail_fd;
	if (owner != (uid_t)-1 && st.st_uid != owner && st.st_uid != 0) {
		errno = EPERM;
		goto fail_fd;
	}
	return pf;
 fail_fd:
	saved = errno;
	close(pf->pf_fd);
	errno = saved;
 fail:
	saved = errno;
	free(pf);
	errno = saved;
	return NULL;
}

void
pubfs_close(struct pubfs *pf)
{
	if (pf == NULL)
		return;
	if (pf->pf_lockfd != -1)
		close(pf->pf_lockfd);
	close(pf->pf_fd);
	free(pf);
}

int
pubfs_fd(const struct pubfs *pf)
{
	return pf->pf_fd;
}

int
pubfs_mkdirs(struct pubfs *pf, const char *rel, int mode)
{
	char	 path[PATH_MAX];
	char	*p;
	int	 fd, rv;

	if (strlen(rel) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(path, sizeof(path), "%s", rel);
	for (p = path; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p > path) {
			const char	*base;
			char		 save = *p;

			*p = '\0';
			if ((fd = pubfs_parent(pf, path, &base)) == -1)
				return -1;
			rv = pubfs_name_ok(base) ? mkdirat(fd, base, mode) : -1;
			close(fd);
			if (rv == -1 && errno != EEXIST)
				return -1;
			*p = save;
		}
		if (*p == '\0')
			break;
	}
	/* What exists must be a directory reached without links. */
	if ((fd = pubfs_openat(pf, rel, O_RDONLY | O_DIRECTORY, 0)) == -1)
		return -1;
	close(fd);
	return 0;
}

static int
pubfs_write_fd(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return fsync(fd);
}

int
pubfs_write_new(struct pubfs *pf, const char *rel, const void *buf,
    size_t len, int mode)
{
	int	 fd, saved;

	if ((fd = pubfs_openat(pf, rel, O_WRONLY | O_CREAT | O_EXCL, mode)) ==
	    -1)
		return -1;
	if (pubfs_write_fd(fd, buf, len) == -1) {
		saved = errno;
		close(fd);
		pubfs_unlink(pf, rel);
		errno = saved;
		return -1;
	}
	return close(fd);
}

int
pubfs_sync_dir(struct pubfs *pf, const char *rel)
{
	int	 fd, rv;

	if ((fd = pubfs_openat(pf, rel, O_RDONLY | O_DIRECTORY, 0)) == -1)
		return -1;
	rv = fsync(fd);
	close(fd);
	return rv;
}

int
pubfs_replace(struct pubfs *pf, const char *rel, const void *buf, size_t len,
    int mode)
{
	char	 tmp[PATH_MAX];
	int	 saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", rel) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A leftover from a crash is ours to discard. */
	if (pubfs_unlink(pf, tmp) == -1 && errno != ENOENT)
		return -1;
	if (pubfs_write_new(pf, tmp, buf, len, mode) == -1)
		return -1;
	if (pubfs_rename(pf, tmp, rel) == -1) {
		saved = errno;
		pubfs_unlink(pf, tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* linkat or renameat between two names beneath the root. */
static int
pubfs_two(struct pubfs *pf, const char *from, const char *to, int rename)
{
	const char	*b1, *b2;
	int		 d1, d2 = -1, rv = -1, saved;

	if ((d1 = pubfs_parent(pf, from, &b1)) == -1)
		return -1;
	if ((d2 = pubfs_parent(pf, to, &b2)) == -1)
		goto out;
	if (!pubfs_name_ok(b1) || !pubfs_name_ok(b2))
		goto out;
	if (rename) {
		if ((rv = renameat(d1, b1, d2, b2)) == 0)
			rv = fsync(d2);
	} else
		rv = linkat(d1, b1, d2, b2, 0);	/* no AT_SYMLINK_FOLLOW */
 out:
	saved = errno;
	close(d1);
	if (d2 != -1)
		close(d2);
	errno = saved;
	return rv;
}

int
pubfs_link(struct pubfs *pf, const char *from, const char *to)
{
	return pubfs_two(pf, from, to, 0);
}

int
pubfs_rename(struct pubfs *pf, const char *from, const char *to)
{
	return pubfs_two(pf, from, to, 1);
}

int
pubfs_stat(struct pubfs *pf, const char *rel, struct stat *st)
{
	const char	*base;
	int		 fd, rv, saved;

	if ((fd = pubfs_parent(pf, rel, &base)) == -1)
		return -1;
	rv = fstatat(fd, base, st, AT_SYMLINK_NOFOLLOW);
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

int
pubfs_exists(struct pubfs *pf, const char *rel)
{
	struct stat	 st;

	if (pubfs_stat(pf, rel, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	return 1;
}

long
pubfs_nlink(struct pubfs *pf, const char *rel)
{
	struct stat	 st;
	int		 fd, rv;

	if ((fd = pubfs_openat(pf, rel, O_RDONLY, 0)) == -1)
		return -1;
	rv = fstat(fd, &st);
	close(fd);
	return rv == -1 ? -1 : (long)st.st_nlink;
}

int
pubfs_read_fd(int fd, size_t max, char **bufp, size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 saved, rv = -1;

	if (fstat(fd, &st) == -1)
		goto out;
	/* A FIFO or a device would block or never end. */
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (len < (size_t)st.st_size) {
		if ((n = read(fd, buf + len, st.st_size - len)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rv = 0;
 out:
	saved = errno;
	free(buf);
	errno = saved;
	return rv;
}

int
pubfs_read(struct pubfs *pf, const char *rel, size_t max, char **bufp,
    size_t *lenp)
{
	struct stat	 st;
	int		 fd, rv, saved;

	/* O_NONBLOCK: a FIFO planted here must not hang the reader. */
	if ((fd = pubfs_openat(pf, rel, O_RDONLY | O_NONBLOCK, 0)) == -1)
		return -1;
	if (pf->pf_owner != (uid_t)-1 && (fstat(fd, &st) == -1 ||
	    (st.st_uid != pf->pf_owner && st.st_uid != 0))) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	rv = pubfs_read_fd(fd, max, bufp, lenp);
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

int
pubfs_unlink(struct pubfs *pf, const char *rel)
{
	const char	*base;
	int		 fd, rv, saved;

	if ((fd = pubfs_parent(pf, rel, &base)) == -1)
		return -1;
	rv = pubfs_name_ok(base) ? unlinkat(fd, base, 0) : -1;
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

/* Remove everything inside the directory dfd (which it then closes). */
static int
pubfs_empty_dir(int dfd, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd, rv = 0;

	if (depth > PUBFS_MAXDEPTH || (d = fdopendir(dfd)) == NULL) {
		close(dfd);
		errno = depth > PUBFS_MAXDEPTH ? ELOOP : errno;
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1) {
			rv = -1;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1 || pubfs_empty_dir(fd, depth + 1) == -1 ||
			    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == -1)
				rv = -1;
		} else if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			rv = -1;
	}
	closedir(d);
	return rv;
}

int
pubfs_remove_tree(struct pubfs *pf, const char *rel)
{
	const char	*base;
	struct stat	 st;
	int		 pfd, fd, rv = -1, saved;

	if ((pfd = pubfs_parent(pf, rel, &base)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!pubfs_name_ok(base))
		goto out;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		rv = errno == ENOENT ? 0 : -1;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rv = unlinkat(pfd, base, 0);
		goto out;
	}
	if ((fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		goto out;
	if (pubfs_empty_dir(fd, 0) == 0)
		rv = unlinkat(pfd, base, AT_REMOVEDIR);
 out:
	saved = errno;
	close(pfd);
	errno = saved;
	return rv;
}

static int
pubfs_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
pubfs_list(struct pubfs *pf, const char *rel, char ***namesp, size_t *np)
{
	struct dirent	*de;
	DIR		*d;
	char		**v = NULL, **nv;
	size_t		 n = 0;
	int		 fd, saved;

	*namesp = NULL;
	*np = 0;
	if ((fd = pubfs_openat(pf, rel, O_RDONLY | O_DIRECTORY, 0)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL)
			goto fail;
		v = nv;
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), pubfs_strcmp);
	*namesp = v;
	*np = n;
	return 0;
 fail:
	saved = errno;
	closedir(d);
	pubfs_list_free(v, n);
	errno = saved;
	return -1;
}

void
pubfs_list_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
pubfs_lock(struct pubfs *pf, const char *rel)
{
	int	 fd;

	if ((fd = pubfs_openat(pf, rel, O_RDWR | O_CREAT, 0600)) == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			int saved = errno;

			close(fd);
			errno = saved;
			return -1;
		}
	}
	if (pf->pf_lockfd != -1)
		close(pf->pf_lockfd);
	pf->pf_lockfd = fd;
	return 0;
}
