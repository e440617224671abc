/*
 * check_store.c — the secrets and variables store (store.c): name syntax,
 * what the reader takes and refuses (every kind of directory entry, the
 * Kubernetes symlink layout, the caps), the writer's modes, owners,
 * refusals and lock, that a writer killed at any moment leaves a whole
 * value, that a secret read leaves exactly one copy in memory until it is
 * freed and none after, and that the reader works inside the keeper's
 * Landlock ruleset and seccomp filter.
 */
#include "build.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "store.h"

#define NMSG	64

struct msgs {
	char	*m_msg[NMSG];
	int	 m_n;
};

static char	 tmpdir[256];
static char	 store[512];

static void
collect(const char *msg, void *arg)
{
	struct msgs	*m = arg;

	if (m->m_n < NMSG)
		m->m_msg[m->m_n] = strdup(msg);
	m->m_n++;
}

static void
msgs_free(struct msgs *m)
{
	int	 i;

	for (i = 0; i < m->m_n && i < NMSG; i++)
		free(m->m_msg[i]);
	m->m_n = 0;
}

/* The message about entry name, or NULL. */
static const char *
msgs_find(const struct msgs *m, const char *name)
{
	char	 pre[PATH_MAX + 16];
	int	 i;

	snprintf(pre, sizeof(pre), "/%s: ", name);
	for (i = 0; i < m->m_n && i < NMSG; i++)
		if (strstr(m->m_msg[i], pre) != NULL)
			return m->m_msg[i];
	return NULL;
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/wdstore.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(store, sizeof(store), "%s/store", tmpdir);
}

static void
teardown(void)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Make <store>/<rel> (a directory path) with mode. */
static void
mkdir_in(const char *rel, mode_t mode)
{
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", store, rel);
	ck_assert_msg(mkdir(p, mode) == 0, "mkdir %s: %s", p, strerror(errno));
}

/* Write <store>/<rel> with len bytes. */
static void
put(const char *rel, const void *data, size_t len)
{
	char	 p[PATH_MAX];
	int	 fd;

	snprintf(p, sizeof(p), "%s/%s", store, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", p, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static void
link_in(const char *target, const char *rel)
{
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", store, rel);
	ck_assert_int_eq(symlink(target, p), 0);
}

static int
exists_in(const char *rel)
{
	struct stat	 st;
	char		 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", store, rel);
	return lstat(p, &st) == 0;
}

/* The value of name in map m as a string, or NULL. */
static const char *
value_of(const struct store_map *m, const char *name, size_t *lenp)
{
	const void	*v;
	size_t		 len;

	if (lenp != NULL)
		*lenp = 0;
	if (store_lookup(m, name, &v, &len) != 0)
		return NULL;
	if (lenp != NULL)
		*lenp = len;
	return v;
}

/* Entries of <store>/<rel> whose names start with the temporary prefix. */
static int
count_tmp(const char *rel)
{
	char	 cmd[PATH_MAX + 64], out[32];
	FILE	*p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s/%s' | grep -c '^%s' || true",
	    store, rel, STORE_TMP_PREFIX);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
	pclose(p);
	return atoi(out);
}

/* ---------------------------------------------------------------- */

START_TEST(test_names)
{
	static const char *const good[] = { "a", "_", "A1", "api_key",
	    "Key", "_9", "salesforce_instance_url", "ABC_def_123" };
	/* platform-docs §12's invalid examples first. */
	static const char *const bad[] = { "instance-url", "api key",
	    "123env", "api@key", "", "9", "a.b", "a/b", "..data", ".x",
	    "caf\xc3\xa9", "a\nb", "tls.crt" };
	char	 lng[STORE_NAME_MAX + 2];
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(store_name_valid(good[i]), "%s refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!store_name_valid(bad[i]), "%s accepted", bad[i]);
	ck_assert(!store_name_valid(NULL));
	memset(lng, 'a', sizeof(lng));
	lng[STORE_NAME_MAX] = '\0';
	ck_assert(store_name_valid(lng));
	lng[STORE_NAME_MAX] = 'a';
	lng[STORE_NAME_MAX + 1] = '\0';
	ck_assert(!store_name_valid(lng));
	ck_assert_str_eq(store_kind_dir(STORE_SECRET), "secrets");
	ck_assert_str_eq(store_kind_dir(STORE_VARIABLE), "variables");
}
END_TEST

/* Every kind of entry: what is taken, what is refused and why. */
START_TEST(test_read_entries)
{
	struct store_map	*m;
	struct msgs		 ms = { .m_n = 0 };
	struct sockaddr_un	 sun;
	char			 err[256], *big, p[PATH_MAX];
	const char		*v;
	const void		*vv;
	const char		*name;
	size_t			 len;
	int			 s;

	ck_assert_int_eq(mkdir(store, 0755), 0);
	mkdir_in("secrets", 0700);
	/* Exact bytes: a NUL inside and the trailing newline kept. */
	put("secrets/good", "ab\0c\n", 5);
	put("secrets/.hidden", "x", 1);
	put("secrets/" STORE_TMP_PREFIX "good.0123456789ab", "torn", 4);
	put("secrets/bad-name", "x", 1);
	put("secrets/empty", "", 0);
	mkdir_in("secrets/dir", 0700);
	snprintf(p, sizeof(p), "%s/secrets/fifo", store);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/secrets/sock", store) < sizeof(sun.sun_path));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	link_in("/etc/passwd", "secrets/link");
	link_in("good", "secrets/samedir");
	big = malloc(STORE_VALUE_MAX + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', STORE_VALUE_MAX + 1);
	put("secrets/max", big, STORE_VALUE_MAX);
	put("secrets/over", big, STORE_VALUE_MAX + 1);
	free(big);

	m = store_read(store, STORE_SECRET, collect, &ms, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	close(s);
	ck_assert_uint_eq(store_map_count(m), 2);
	store_map_entry(m, 0, &name, &vv, &len);
	ck_assert_str_eq(name, "good");
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(vv, "ab\0c\n", 5) == 0);
	ck_assert_int_eq(((const char *)vv)[5], '\0');
	store_map_entry(m, 1, &name, &vv, &len);
	ck_assert_str_eq(name, "max");
	ck_assert_uint_eq(len, STORE_VALUE_MAX);
	v = value_of(m, "good", &len);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(len, 5);

	/* One message per refused entry, none for dot-files. */
	ck_assert_int_eq(ms.m_n, 8);
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "bad-name"),
	    "not a valid name"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "empty"), "empty"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "dir"),
	    "a directory, not a regular file"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "fifo"),
	    "a fifo, not a regular file"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "sock"),
	    "a socket, not a regular file"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "link"),
	    "a symbolic link outside the Kubernetes layout"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "samedir"),
	    "a symbolic link outside the Kubernetes layout"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "over"),
	    "65537 bytes, over the limit of 65536"));
	/* The message names the full path. */
	snprintf(p, sizeof(p), "%s/secrets/dir: ", store);
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "dir"), p));
	ck_assert_ptr_null(msgs_find(&ms, ".hidden"));
	ck_assert_ptr_null(msgs_find(&ms, STORE_TMP_PREFIX
	    "good.0123456789ab"));
	store_map_free(m);
	msgs_free(&ms);

	/* The other kind's directory is not there: nothing stored yet. */
	m = store_read(store, STORE_VARIABLE, collect, &ms, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(store_map_count(m), 0);
	ck_assert_int_eq(ms.m_n, 0);
	ck_assert_int_eq(store_lookup(m, "good", &vv, &len), -1);
	store_map_free(m);
}
END_TEST

/* A Kubernetes secret volume, and links that only look like one. */
START_TEST(test_read_k8s)
{
	struct store_map	*m;
	struct msgs		 ms = { .m_n = 0 };
	char			 err[256], out[PATH_MAX], lnk[PATH_MAX];
	const char		*v;
	size_t			 len;

	ck_assert_int_eq(mkdir(store, 0755), 0);
	mkdir_in("secrets", 0755);
	mkdir_in("secrets/..2026_12_01_10_00_00.123456789", 0755);
	put("secrets/..2026_12_01_10_00_00.123456789/token", "t0k3n", 5);
	put("secrets/..2026_12_01_10_00_00.123456789/ca_crt", "PEM\n", 4);
	put("secrets/..2026_12_01_10_00_00.123456789/other", "o", 1);
	link_in("/etc/passwd",
	    "secrets/..2026_12_01_10_00_00.123456789/nested");
	link_in("..2026_12_01_10_00_00.123456789", "secrets/..data");
	link_in("..data/token", "secrets/token");
	link_in("..data/ca_crt", "secrets/ca_crt");
	/* Points into ..data, but at another key. */
	link_in("..data/other", "secrets/sneaky");
	/* ..data/nested is itself a link out of the volume. */
	link_in("..data/nested", "secrets/nested");
	/* ..data/outside exists, but the link leads elsewhere. */
	put("secrets/..2026_12_01_10_00_00.123456789/outside", "o", 1);
	link_in("/etc/passwd", "secrets/outside");

	m = store_read(store, STORE_SECRET, collect, &ms, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_uint_eq(store_map_count(m), 2);
	v = value_of(m, "token", &len);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(v, "t0k3n");
	ck_assert_str_eq(value_of(m, "ca_crt", NULL), "PEM\n");
	ck_assert_ptr_null(value_of(m, "other", NULL));
	ck_assert_int_eq(ms.m_n, 3);
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "sneaky"),
	    "a symbolic link, and ..data/sneaky: No such file"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "nested"),
	    "..data/nested: a symbolic link"));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "outside"),
	    "does not lead to ..data/outside"));
	store_map_free(m);
	msgs_free(&ms);

	/* The kubelet's update: a new directory, ..data renamed over. */
	mkdir_in("secrets/..2026_12_02_10_00_00.987654321", 0755);
	put("secrets/..2026_12_02_10_00_00.987654321/token", "rotated", 7);
	link_in("..2026_12_02_10_00_00.987654321", "secrets/..data_tmp");
	snprintf(out, sizeof(out), "%s/secrets/..data_tmp", store);
	snprintf(lnk, sizeof(lnk), "%s/secrets/..data", store);
	ck_assert_int_eq(rename(out, lnk), 0);
	m = store_read(store, STORE_SECRET, collect, &ms, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_str_eq(value_of(m, "token", NULL), "rotated");
	/* Keys the new directory lacks are gone. */
	ck_assert_ptr_null(value_of(m, "ca_crt", NULL));
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "ca_crt"),
	    "..data/ca_crt: No such file"));
	store_map_free(m);
	msgs_free(&ms);

	/* ..data itself leading out of the directory: no link is followed. */
	snprintf(out, sizeof(out), "%s/elsewhere", tmpdir);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	put("../elsewhere/token", "stolen", 6);
	snprintf(out, sizeof(out), "%s/elsewhere", tmpdir);
	snprintf(lnk, sizeof(lnk), "%s/secrets/..data", store);
	ck_assert_int_eq(unlink(lnk), 0);
	ck_assert_int_eq(symlink(out, lnk), 0);
	m = store_read(store, STORE_SECRET, collect, &ms, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_uint_eq(store_map_count(m), 0);
	ck_assert_int_eq(ms.m_n, 5);
	ck_assert_ptr_nonnull(strstr(msgs_find(&ms, "token"),
	    "..data is not a directory inside this one"));
	store_map_free(m);
	msgs_free(&ms);
}
END_TEST

/* A secrets/ that is itself a link (a mount elsewhere) is followed. */
START_TEST(test_read_dirlink)
{
	struct store_map	*m;
	char			 err[256], p[PATH_MAX], q[PATH_MAX];

	ck_assert_int_eq(mkdir(store, 0755), 0);
	snprintf(p, sizeof(p), "%s/creds", tmpdir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	put("../creds/db_password", "pw", 2);
	snprintf(q, sizeof(q), "%s/secrets", store);
	ck_assert_int_eq(symlink(p, q), 0);
	m = store_read(store, STORE_SECRET, NULL, NULL, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_str_eq(value_of(m, "db_password", NULL), "pw");
	store_map_free(m);
	/* ... but never written through. */
	ck_assert_int_eq(store_write(store, STORE_SECRET, "x", "1", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "secrets: a symbolic link; "
	    "widgetctl writes only into a real directory"));
	ck_assert_int_eq(store_remove(store, STORE_SECRET, "db_password", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "a symbolic link"));
	snprintf(p, sizeof(p), "%s/creds/db_password", tmpdir);
	ck_assert_int_eq(access(p, F_OK), 0);
}
END_TEST

START_TEST(test_read_errors)
{
	struct store_map	*m;
	char			 err[256];

	/* No store at all is an error, unlike a missing kind directory. */
	m = store_read(store, STORE_SECRET, NULL, NULL, err, sizeof(err));
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
	ck_assert_ptr_nonnull(strstr(err, store));
	ck_assert_int_eq(mkdir(store, 0755), 0);
	put("secrets", "x", 1);
	m = store_read(store, STORE_SECRET, NULL, NULL, err, sizeof(err));
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(err, "secrets: Not a directory"));
}
END_TEST

/* STORE_ENTRIES_MAX entries read; one more refuses the whole read. */
START_TEST(test_read_cap)
{
	struct store_map	*m;
	struct msgs		 ms = { .m_n = 0 };
	char			 err[256], rel[64];
	int			 i;

	ck_assert_int_eq(mkdir(store, 0755), 0);
	mkdir_in("variables", 0755);
	for (i = 0; i < STORE_ENTRIES_MAX; i++) {
		snprintf(rel, sizeof(rel), "variables/v%04d", i);
		put(rel, rel, strlen(rel));
	}
	/* Dot-files do not count. */
	put("variables/.a", "x", 1);
	put("variables/.b", "x", 1);
	m = store_read(store, STORE_VARIABLE, collect, &ms, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_uint_eq(store_map_count(m), STORE_ENTRIES_MAX);
	ck_assert_str_eq(value_of(m, "v0999", NULL), "variables/v0999");
	ck_assert_int_eq(ms.m_n, 0);
	store_map_free(m);
	/* A refused entry counts: the cap bounds the work, not the result. */
	put("variables/zz-bad", "x", 1);
	m = store_read(store, STORE_VARIABLE, collect, &ms, err, sizeof(err));
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(err, "more than 1024 entries"));
	msgs_free(&ms);
}
END_TEST

START_TEST(test_lookup_order)
{
	static const char *const names[] = { "b", "a", "B", "_x", "a1",
	    "Zed", "A" };
	/* strcmp order: upper case, '_', lower case. */
	static const char *const sorted[] = { "A", "B", "Zed", "_x", "a",
	    "a1", "b" };
	struct store_map	*m;
	char			 err[256], rel[64];
	const char		*name;
	const void		*v;
	size_t			 i, len;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(store_write(store, STORE_VARIABLE, names[i],
		    names[i], strlen(names[i]), (uid_t)-1, (gid_t)-1, err,
		    sizeof(err)) == 0, "%s", err);
	m = store_read(store, STORE_VARIABLE, NULL, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(store_map_count(m), 7);
	for (i = 0; i < 7; i++) {
		store_map_entry(m, i, &name, &v, &len);
		ck_assert_str_eq(name, sorted[i]);
		ck_assert_uint_eq(len, strlen(sorted[i]));
		ck_assert(memcmp(v, sorted[i], len) == 0);
		/* Found by name, through both entry points. */
		ck_assert_int_eq(store_lookup(m, sorted[i], &v, &len), 0);
		ck_assert_str_eq(v, sorted[i]);
		ck_assert_int_eq(store_lookup_fn(sorted[i], &v, &len, m), 0);
		ck_assert_str_eq(v, sorted[i]);
		snprintf(rel, sizeof(rel), "%s_", sorted[i]);
		ck_assert_int_eq(store_lookup(m, rel, &v, &len), -1);
	}
	/* Case-sensitive. */
	ck_assert_int_eq(store_lookup(m, "zed", &v, &len), -1);
	ck_assert_int_eq(store_lookup(m, "", &v, &len), -1);
	store_map_free(m);
}
END_TEST

START_TEST(test_write_basic)
{
	struct store_map	*m;
	char			 err[256], *big;
	const char		*v;
	size_t			 len;

	/* The store directory is made; its parent must exist. */
	ck_assert_msg(store_write(store, STORE_SECRET, "api_key", "k1", 2,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(store_write(store, STORE_SECRET, "api_key", "key-two\n",
	    8, (uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(store_write(store, STORE_SECRET, "bin", "\0\xff\0", 3,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0, "%s", err);
	m = store_read(store, STORE_SECRET, NULL, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
	v = value_of(m, "api_key", &len);
	ck_assert_uint_eq(len, 8);
	ck_assert_str_eq(v, "key-two\n");
	v = value_of(m, "bin", &len);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(v, "\0\xff\0", 3) == 0);
	store_map_free(m);
	ck_assert_int_eq(count_tmp("secrets"), 0);
	ck_assert(exists_in(STORE_LOCK_NAME));

	/* Refusals leave the old value. */
	ck_assert_int_eq(store_write(store, STORE_SECRET, "api_key", "", 0,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "secret 'api_key': an empty value is refused");
	big = calloc(1, STORE_VALUE_MAX + 1);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "api_key", big,
	    STORE_VALUE_MAX + 1, (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "secret 'api_key': 65537 bytes, over the limit "
	    "of 65536");
	ck_assert_int_eq(store_write(store, STORE_VARIABLE, "big", big,
	    STORE_VALUE_MAX, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	free(big);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "api-key", "x", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "'api-key' is not a valid name"));
	ck_assert_int_eq(store_write(store, STORE_SECRET, "../../etc/x", "x",
	    1, (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert(!exists_in("secrets/api-key"));
	m = store_read(store, STORE_SECRET, NULL, NULL, err, sizeof(err));
	ck_assert_str_eq(value_of(m, "api_key", NULL), "key-two\n");
	store_map_free(m);

	/* A name held by a directory cannot be replaced by a file. */
	mkdir_in("secrets/adir", 0700);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "adir", "x", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "secrets/adir: rename: "));
	ck_assert_int_eq(count_tmp("secrets"), 0);

	/* Only the last level of the store is made. */
	snprintf(store, sizeof(store), "%s/no/store", tmpdir);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "a", "x", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
}
END_TEST

START_TEST(test_clash)
{
	char	 err[256];

	ck_assert_int_eq(store_write(store, STORE_VARIABLE, "region", "eu", 2,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "region", "s", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "'region' is already a variable in ") !=
	    NULL && strstr(err, "(remove the variable first)") != NULL,
	    "%s", err);
	ck_assert(!exists_in("secrets/region"));
	/* Case-sensitive: another name. */
	ck_assert_int_eq(store_write(store, STORE_SECRET, "Region", "s", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(store_remove(store, STORE_VARIABLE, "region", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "region", "s", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(store_write(store, STORE_VARIABLE, "region", "eu", 2,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "'region' is already a secret in "));
	ck_assert(!exists_in("variables/region"));
}
END_TEST

START_TEST(test_remove_cases)
{
	char	 err[256], want[PATH_MAX + 32];

	/* Nothing there yet, not even the store: absent, not an error. */
	ck_assert_int_eq(store_remove(store, STORE_SECRET, "a", err,
	    sizeof(err)), 1);
	snprintf(want, sizeof(want), "no secret 'a' in %s", store);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "a", "1", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(store_remove(store, STORE_VARIABLE, "a", err,
	    sizeof(err)), 1);
	snprintf(want, sizeof(want), "no variable 'a' in %s", store);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(store_remove(store, STORE_SECRET, "b", err,
	    sizeof(err)), 1);
	ck_assert_int_eq(store_remove(store, STORE_SECRET, "a-b", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(store_remove(store, STORE_SECRET, "a", err,
	    sizeof(err)), 0);
	ck_assert(!exists_in("secrets/a"));
	ck_assert_int_eq(store_remove(store, STORE_SECRET, "a", err,
	    sizeof(err)), 1);
	/* A stale temporary file goes with the next change. */
	put("secrets/" STORE_TMP_PREFIX "a.000000000000", "x", 1);
	ck_assert_int_eq(count_tmp("secrets"), 1);
	ck_assert_int_eq(store_remove(store, STORE_SECRET, "a", err,
	    sizeof(err)), 1);
	ck_assert_int_eq(count_tmp("secrets"), 0);
}
END_TEST

/* Modes whatever the umask; owners when root. */
START_TEST(test_modes)
{
	struct stat	 st;
	char		 err[256], p[PATH_MAX];
	uid_t		 uid = geteuid() == 0 ? 65534 : (uid_t)-1;
	gid_t		 gid = geteuid() == 0 ? 65534 : (gid_t)-1;
	mode_t		 old;

	old = umask(077);
	ck_assert_msg(store_write(store, STORE_SECRET, "s", "1", 1, uid, gid,
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(store_write(store, STORE_VARIABLE, "v", "1", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0, "%s", err);
	umask(old);
	ck_assert_int_eq(stat(store, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	snprintf(p, sizeof(p), "%s/secrets", store);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	if (uid != (uid_t)-1) {
		ck_assert_uint_eq(st.st_uid, uid);
		ck_assert_uint_eq(st.st_gid, gid);
	}
	snprintf(p, sizeof(p), "%s/secrets/s", store);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert(S_ISREG(st.st_mode));
	if (uid != (uid_t)-1) {
		ck_assert_uint_eq(st.st_uid, uid);
		ck_assert_uint_eq(st.st_gid, gid);
	}
	snprintf(p, sizeof(p), "%s/variables", store);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_uint_eq(st.st_uid, geteuid());
	snprintf(p, sizeof(p), "%s/variables/v", store);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_uint_eq(st.st_uid, geteuid());
	snprintf(p, sizeof(p), "%s/%s", store, STORE_LOCK_NAME);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0077, 0);

	/* A loosened directory is brought back on the next write. */
	snprintf(p, sizeof(p), "%s/secrets", store);
	ck_assert_int_eq(chmod(p, 0777), 0);
	if (uid != (uid_t)-1)
		ck_assert_int_eq(chown(p, 0, 0), 0);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "t", "2", 2, uid,
	    gid, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	if (uid != (uid_t)-1)
		ck_assert_uint_eq(st.st_uid, uid);
}
END_TEST

/* A writer waits for the lock: nothing changes until it is released. */
START_TEST(test_lock)
{
	struct store_map	*m;
	struct timespec		 ts = { 0, 300 * 1000 * 1000 };
	char			 err[256], p[PATH_MAX];
	pid_t			 pid;
	int			 fd, st;

	ck_assert_int_eq(store_write(store, STORE_VARIABLE, "v", "old", 3,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	snprintf(p, sizeof(p), "%s/%s", store, STORE_LOCK_NAME);
	fd = open(p, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fd);
		_exit(store_write(store, STORE_VARIABLE, "v", "new", 3,
		    (uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0 ? 0 : 1);
	}
	nanosleep(&ts, NULL);
	ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
	m = store_read(store, STORE_VARIABLE, NULL, NULL, err, sizeof(err));
	ck_assert_str_eq(value_of(m, "v", NULL), "old");
	store_map_free(m);
	ck_assert_int_eq(count_tmp("variables"), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	m = store_read(store, STORE_VARIABLE, NULL, NULL, err, sizeof(err));
	ck_assert_str_eq(value_of(m, "v", NULL), "new");
	store_map_free(m);
}
END_TEST

/* Two writers at once: each change is whole, the last one wins. */
START_TEST(test_two_writers)
{
	struct store_map	*m;
	char			 err[256], *a, *b;
	const char		*v;
	size_t			 len;
	pid_t			 pid[2];
	int			 i, j, st;

	a = malloc(STORE_VALUE_MAX);
	b = malloc(STORE_VALUE_MAX);
	ck_assert(a != NULL && b != NULL);
	memset(a, 'a', STORE_VALUE_MAX);
	memset(b, 'b', STORE_VALUE_MAX);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			for (j = 0; j < 20; j++)
				if (store_write(store, STORE_SECRET, "s",
				    i ? b : a, STORE_VALUE_MAX - i, (uid_t)-1,
				    (gid_t)-1, err, sizeof(err)) != 0)
					break;
			/* valgrind checks a child's leaks too */
			free(a);
			free(b);
			_exit(j == 20 ? 0 : 1);
		}
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	m = store_read(store, STORE_SECRET, NULL, NULL, err, sizeof(err));
	v = value_of(m, "s", &len);
	ck_assert_ptr_nonnull(v);
	ck_assert(len == STORE_VALUE_MAX ? memcmp(v, a, len) == 0 :
	    len == STORE_VALUE_MAX - 1 && memcmp(v, b, len) == 0);
	store_map_free(m);
	ck_assert_int_eq(count_tmp("secrets"), 0);
	free(a);
	free(b);
}
END_TEST

/*
 * Writers killed at random moments: every read afterwards sees one whole
 * value, old or new, never a mix or a short file; what a killed writer
 * left behind is invisible to the reader and gone after the next write.
 */
START_TEST(test_crash)
{
	struct store_map	*m;
	struct msgs		 ms = { .m_n = 0 };
	struct timespec		 ts, t0, t1;
	long			 fork_us, span_us;
	char			 err[256], *val[2];
	const char		*v;
	size_t			 len, k;
	pid_t			 pid;
	int			 i, st, cur = 0, killed = 0, left = 0, changed = 0;

	for (i = 0; i < 2; i++) {
		val[i] = malloc(STORE_VALUE_MAX);
		ck_assert_ptr_nonnull(val[i]);
		memset(val[i], 'A' + i, STORE_VALUE_MAX);
	}
	ck_assert_int_eq(store_write(store, STORE_SECRET, "s", val[0],
	    STORE_VALUE_MAX, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	/*
	 * Kill times spread over what one whole write takes here (fork
	 * included), so the kills land in every step on a fast build and a
	 * sanitizer build alike.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fork_us = (t1.tv_sec - t0.tv_sec) * 1000000L +
	    (t1.tv_nsec - t0.tv_nsec) / 1000;
	ck_assert_int_eq(store_write(store, STORE_SECRET, "s", val[0],
	    STORE_VALUE_MAX, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	span_us = fork_us + (t0.tv_sec - t1.tv_sec) * 1000000L +
	    (t0.tv_nsec - t1.tv_nsec) / 1000 + 1;
	srand((unsigned)getpid());
	for (i = 0; i < 150; i++) {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			st = store_write(store, STORE_SECRET, "s",
			    val[1 - cur], STORE_VALUE_MAX - (1 - cur),
			    (uid_t)-1, (gid_t)-1, err, sizeof(err));
			free(val[0]);
			free(val[1]);
			_exit(st == 0 ? 0 : 1);
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (rand() % (span_us * 5 / 4)) * 1000;
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_nsec = 999999999L;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		if (WIFSIGNALED(st))
			killed++;
		else
			ck_assert_int_eq(WEXITSTATUS(st), 0);
		if (count_tmp("secrets") > 0)
			left++;
		m = store_read(store, STORE_SECRET, collect, &ms, err,
		    sizeof(err));
		ck_assert_msg(m != NULL, "%s", err);
		ck_assert_int_eq(ms.m_n, 0);
		v = value_of(m, "s", &len);
		ck_assert_ptr_nonnull(v);
		/* Whole: the length and every byte of one of the two. */
		ck_assert(len == STORE_VALUE_MAX || len == STORE_VALUE_MAX - 1);
		k = STORE_VALUE_MAX - len;
		ck_assert(memcmp(v, val[k], len) == 0);
		if ((int)k != cur) {
			changed++;
			cur = (int)k;
		}
		store_map_free(m);
	}
	printf("crash: kills within %ld us: %d of 150 writers killed, %d left "
	    "a temporary file, %d changed the value\n", span_us * 5 / 4,
	    killed, left, changed);
	ck_assert_int_eq(store_write(store, STORE_SECRET, "t", "x", 1,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_int_eq(count_tmp("secrets"), 0);
	free(val[0]);
	free(val[1]);
}
END_TEST

/*
 * Copies of a secret in this process's memory, counted by reading
 * /proc/self/mem.  The canary is kept only XOR-masked here, so the scan
 * itself never holds it.
 */
#define CANARY_LEN	32
#define CANARY_MASK	0xa5

static int
scan_memory(const unsigned char *masked)
{
	FILE		*maps;
	unsigned char	*buf, *q;
	unsigned long	 lo, hi, a;
	char		 line[512], perms[8];
	size_t		 bsz = 1 << 20, i, j, n;
	ssize_t		 got;
	int		 mem, count = 0;

	maps = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(maps);
	mem = open("/proc/self/mem", O_RDONLY);
	ck_assert_int_ge(mem, 0);
	buf = malloc(bsz);
	ck_assert_ptr_nonnull(buf);
	while (fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    perms[0] != 'r' || strstr(line, "[vvar") != NULL ||
		    strstr(line, "[vsyscall]") != NULL ||
		    hi - lo > 256UL * 1024 * 1024)
			continue;
		for (a = lo; a < hi; a += n) {
			n = hi - a < bsz ? hi - a : bsz;
			/* Never read the buffer into itself. */
			if ((unsigned char *)a < buf + bsz &&
			    (unsigned char *)(a + n) > buf)
				continue;
			if ((got = pread(mem, buf, n, (off_t)a)) <= 0)
				continue;
			for (i = 0; i + CANARY_LEN <= (size_t)got; i++) {
				/* memchr for the first byte: ASan is slow. */
				if ((q = memchr(buf + i, masked[0] ^
				    CANARY_MASK, got - CANARY_LEN + 1 - i)) ==
				    NULL)
					break;
				i = (size_t)(q - buf);
				for (j = 1; j < CANARY_LEN; j++)
					if (buf[i + j] !=
					    (masked[j] ^ CANARY_MASK))
						break;
				if (j == CANARY_LEN)
					count++;
			}
		}
		explicit_bzero(buf, bsz);
	}
	free(buf);
	close(mem);
	fclose(maps);
	return count;
}

static int
wipe_child(void)
{
	struct store_map	*m;
	unsigned char		 c[CANARY_LEN], masked[CANARY_LEN];
	char			 err[256], p[PATH_MAX];
	const void		*v;
	size_t			 i, len;
	int			 fd, before, after;

	if (getentropy(c, sizeof(c)) == -1)
		return 10;
	for (i = 0; i < CANARY_LEN; i++)
		masked[i] = c[i] ^ CANARY_MASK;
	snprintf(p, sizeof(p), "%s/secrets", store);
	if (mkdir(store, 0755) == -1 || mkdir(p, 0700) == -1)
		return 11;
	snprintf(p, sizeof(p), "%s/secrets/canary", store);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, c, sizeof(c)) != (ssize_t)sizeof(c) || close(fd) == -1)
		return 12;
	explicit_bzero(c, sizeof(c));
	if (scan_memory(masked) != 0)
		return 13;	/* the test itself left a copy */
	if ((m = store_read(store, STORE_SECRET, NULL, NULL, err,
	    sizeof(err))) == NULL ||
	    store_lookup(m, "canary", &v, &len) != 0 || len != CANARY_LEN)
		return 14;
	/* Exactly one copy while it is held: no stray read buffer. */
	if ((before = scan_memory(masked)) != 1) {
		printf("wipe: %d copies while held\n", before);
		return 15;
	}
	store_map_free(m);
	if ((after = scan_memory(masked)) != 0) {
		printf("wipe: %d copies after free\n", after);
		return 16;
	}
	return 0;
}

START_TEST(test_wipe)
{
	pid_t	 pid;
	int	 st;

	/* A child of its own, so the scan sees no earlier test's heap. */
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(wipe_child());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/*
 * The keeper reads secrets after its Landlock ruleset (the store only) and
 * its seccomp filter are on: every call the reader makes must be allowed
 * (a refused one kills the child with SIGSYS).
 */
static int
keeper_child(void)
{
	const char *const	 paths[] = { store, NULL };
	struct store_map	*m;
	struct msgs		 ms = { .m_n = 0 };
	char			 err[256];
	const void		*v;
	size_t			 len;

	if (sandbox_restrict_paths(paths) == -1)
		return 10;
	if (sandbox_apply(SANDBOX_KEEPER) == -1)
		return 11;
	if ((m = store_read(store, STORE_SECRET, collect, &ms, err,
	    sizeof(err))) == NULL)
		return 12;
	if (store_map_count(m) != 3 ||
	    store_lookup(m, "plain", &v, &len) != 0 || len != 5 ||
	    memcmp(v, "plain", 5) != 0 ||
	    store_lookup(m, "token", &v, &len) != 0 || len != 5 ||
	    memcmp(v, "t0k3n", 5) != 0 ||
	    store_lookup(m, "big", &v, &len) != 0 || len != STORE_VALUE_MAX)
		return 13;
	/* The refused entries were reported, not fatal. */
	if (ms.m_n != 2 || msgs_find(&ms, "adir") == NULL ||
	    msgs_find(&ms, "outside") == NULL)
		return 14;
	store_map_free(m);
	/* Landlock is on: the store is all it can read. */
	if (store_read("/etc", STORE_SECRET, NULL, NULL, err,
	    sizeof(err)) != NULL)
		return 15;
	return 0;
}

START_TEST(test_keeper_sandbox)
{
	char	*big;
	pid_t	 pid;
	int	 st;

	ck_assert_int_eq(mkdir(store, 0755), 0);
	mkdir_in("secrets", 0700);
	mkdir_in("secrets/..2026_12_01", 0755);
	put("secrets/..2026_12_01/token", "t0k3n", 5);
	link_in("..2026_12_01", "secrets/..data");
	link_in("..data/token", "secrets/token");
	put("secrets/plain", "plain", 5);
	big = malloc(STORE_VALUE_MAX);
	ck_assert_ptr_nonnull(big);
	memset(big, 'b', STORE_VALUE_MAX);
	put("secrets/big", big, STORE_VALUE_MAX);
	free(big);
	mkdir_in("secrets/adir", 0700);
	link_in("/etc/passwd", "secrets/outside");
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(keeper_child());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "killed by signal %d",
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* Valgrind's own memory would be scanned too: only "store" runs there. */
const char *check_valgrind_tcase = "store";

Suite *
check_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc;

	tc = tcase_create("store");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_read_entries);
	tcase_add_test(tc, test_read_k8s);
	tcase_add_test(tc, test_read_dirlink);
	tcase_add_test(tc, test_read_errors);
	tcase_add_test(tc, test_read_cap);
	tcase_add_test(tc, test_lookup_order);
	tcase_add_test(tc, test_write_basic);
	tcase_add_test(tc, test_clash);
	tcase_add_test(tc, test_remove_cases);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_two_writers);
	tcase_add_test(tc, test_crash);
	suite_add_tcase(s, tc);
	tc = tcase_create("confined");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_wipe);
	/* Valgrind cannot run under a seccomp filter either. */
	tcase_add_test(tc, test_keeper_sandbox);
	suite_add_tcase(s, tc);
	return s;
}
