/*
 * check_extsnap.c — a tenant's published generation on its way to the
 * workers: the published directory's layout (pubdir.c), reading it as
 * another user wrote it (pubfs_attach), the configuration snapshot that
 * carries it (snapshot.c: build, load as a child does, republish), and
 * synced connectors merged after the tenant's own (registry_merge).
 *
 * The generations here are laid out by hand, as publish.c lays them out:
 * what is tested is the reader, whatever wrote the directory.
 */
#include "build.h"

#include <sys/stat.h>
#include <sys/types.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "connector.h"
#include "pubdir.h"
#include "pubfs.h"
#include "snapshot.h"

static char	 dir[256];
static char	 reports[8192];

static void
report(const char *msg, void *arg)
{
	size_t	 n = strlen(reports);

	snprintf(reports + n, sizeof(reports) - n, "%s\n", msg);
}

/* Write a file beneath dir, making its directories. */
static void
put(const char *rel, const char *text)
{
	char	 path[PATH_MAX + 300], *slash;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0755) == -1)
			ck_assert_int_eq(errno, EEXIST);
		*slash = '/';
	}
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
}

#define CONN(perm) \
	"{ \"name\": \"" perm "\", \"permalink\": \"" perm "\", " \
	"\"url\": \"https://api.example.com/" perm "\", \"method\": \"GET\" }"

static const char conf_fmt[] =
    "listen = ( { address = \"127.0.0.1\"; port = 1; } );\n"
    "state_dir = \"state\";\n"
    "tenants = (\n"
    "  { id = \"acme\"; hosts = [ \"acme.example\" ]; registry = \"r.json\";\n"
    "    store = \"s\"; %s },\n"
    "  { id = \"other\"; registry = \"o.json\"; store = \"o\"; }\n"
    ");\n";

static char	 conf[PATH_MAX + 300];

static void
setup(void)
{
	char	 text[2048];

	snprintf(dir, sizeof(dir), "%s/wdextsnap.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	reports[0] = '\0';
	snprintf(conf, sizeof(conf), "%s/w.conf", dir);
	snprintf(text, sizeof(text), conf_fmt,
	    "repository = { path = \"/srv/acme.git\"; };");
	put("w.conf", text);
	put("r.json", "{ \"connectors\": [ " CONN("manual-a") ", "
	    CONN("manual-b") " ] }\n");
	put("o.json", "{ \"connectors\": [] }\n");
	put("s/variables/.keep", "");
	put("o/variables/.keep", "");
}

static void
teardown(void)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A generation of tenant acme, laid out as publish.c does, made live. */
static void
generation(const char *gen, const char *synced)
{
	char	 rel[256], cur[128];

	snprintf(rel, sizeof(rel), "state/extensions/acme/gens/%s/"
	    "manifest.json", gen);
	put(rel, "{ \"generation\": \"x\", \"widgets\": [] }\n");
	snprintf(rel, sizeof(rel), "state/extensions/acme/gens/%s/files/"
	    "w/index.html", gen);
	put(rel, gen);
	snprintf(rel, sizeof(rel), "state/extensions/acme/gens/%s/files/"
	    "w/sub dir/a b.js", gen);
	put(rel, "console.log(1);\n");
	snprintf(rel, sizeof(rel), "state/extensions/acme/gens/%s/files/"
	    "z.css", gen);
	put(rel, "p{}\n");
	if (synced != NULL) {
		snprintf(rel, sizeof(rel), "state/extensions/acme/gens/%s/"
		    "connectors_registry.json", gen);
		put(rel, synced);
	}
	snprintf(cur, sizeof(cur), "%s\n", gen);
	put("state/extensions/acme/current", cur);
}

/* A child's view of the parent's snapshot: loaded from its memfd. */
static struct snapshot *
child_load(const struct snapshot *sn)
{
	struct snapshot	*c;

	c = snapshot_load(sn->sn_fd, report, NULL);
	ck_assert_msg(c != NULL, "%s", reports);
	return c;
}

START_TEST(test_layout)
{
	struct pubfs	*fs;
	char		 gen[PUBDIR_MAXGEN], path[PATH_MAX];

	/* Nothing there yet: no directory, then no current. */
	ck_assert_int_eq(pubdir_current("/nonexistent/x", gen, sizeof(gen)),
	    -1);
	put("state/extensions/acme/builds/seq", "1\n");
	ck_assert_int_eq(pubdir_current(dir, gen, sizeof(gen)), -1);
	ck_assert_str_eq(gen, "");
	generation("1-abc", NULL);
	snprintf(path, sizeof(path), "%s/state/extensions/acme", dir);
	ck_assert_ptr_nonnull(fs = pubfs_attach(path, (uid_t)-1));
	ck_assert_int_eq(pubdir_live(fs, gen, sizeof(gen)), 0);
	ck_assert_str_eq(gen, "1-abc");
	/* A current this layout cannot have written is not believed. */
	put("state/extensions/acme/current", "../../etc\n");
	ck_assert_int_eq(pubdir_live(fs, gen, sizeof(gen)), -1);
	put("state/extensions/acme/current", ".hidden\n");
	ck_assert_int_eq(pubdir_live(fs, gen, sizeof(gen)), -1);
	pubfs_close(fs);
	/* Attaching never creates. */
	snprintf(path, sizeof(path), "%s/state/nope", dir);
	ck_assert_ptr_null(pubfs_attach(path, (uid_t)-1));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

struct seen {
	char	 s_paths[8][128];
	int	 s_n;
};

static int
seen_file(const char *path, const char *rel, void *arg)
{
	struct seen	*s = arg;

	ck_assert_int_lt(s->s_n, 8);
	snprintf(s->s_paths[s->s_n++], sizeof(s->s_paths[0]), "%s|%s", path,
	    rel);
	return 0;
}

/* Regular files only, depth first in name order; links never followed. */
START_TEST(test_files_walk)
{
	struct pubfs	*fs;
	struct seen	 s;
	char		 path[PATH_MAX + 300], target[PATH_MAX];

	generation("2-def", NULL);
	snprintf(path, sizeof(path), "%s/state/extensions/acme/gens/2-def/"
	    "files/link.js", dir);
	snprintf(target, sizeof(target), "%s/w.conf", dir);
	ck_assert_int_eq(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/state/extensions/acme/gens/2-def/"
	    "files/dirlink", dir);
	ck_assert_int_eq(symlink(dir, path), 0);
	snprintf(path, sizeof(path), "%s/state/extensions/acme/gens/2-def/"
	    "files/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	snprintf(path, sizeof(path), "%s/state/extensions/acme", dir);
	ck_assert_ptr_nonnull(fs = pubfs_attach(path, (uid_t)-1));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pubdir_files(fs, "2-def", 100, seen_file, &s), 0);
	ck_assert_int_eq(s.s_n, 3);
	ck_assert_str_eq(s.s_paths[0],
	    "w/index.html|gens/2-def/files/w/index.html");
	ck_assert_str_eq(s.s_paths[1],
	    "w/sub dir/a b.js|gens/2-def/files/w/sub dir/a b.js");
	ck_assert_str_eq(s.s_paths[2], "z.css|gens/2-def/files/z.css");
	/* The cap on files is an error, not a silent cut. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pubdir_files(fs, "2-def", 2, seen_file, &s), -1);
	ck_assert_int_eq(errno, E2BIG);
	/* A FIFO read does not hang (O_NONBLOCK) and is refused. */
	{
		char	*buf = NULL;
		size_t	 len;

		ck_assert_int_eq(pubfs_read(fs, "gens/2-def/files/fifo", 100,
		    &buf, &len), -1);
		ck_assert_int_eq(pubfs_read(fs, "gens/2-def/files/link.js",
		    100, &buf, &len), -1);
	}
	pubfs_close(fs);
}
END_TEST

/* Reading what another user wrote: only that user's (or root's) files. */
START_TEST(test_attach_owner)
{
	struct pubfs	*fs;
	char		 path[PATH_MAX + 300], *buf = NULL;
	size_t		 len;

	generation("3-aaa", NULL);
	snprintf(path, sizeof(path), "%s/state/extensions/acme", dir);
	ck_assert_ptr_nonnull(fs = pubfs_attach(path, getuid()));
	ck_assert_int_eq(pubfs_read(fs, "current", 100, &buf, &len), 0);
	free(buf);
	pubfs_close(fs);
	if (getuid() != 0) {
		/* Files of our own uid, claimed to be another's: refused. */
		fs = pubfs_attach(path, getuid() + 1);
		ck_assert_ptr_null(fs);
		ck_assert_int_eq(errno, EPERM);
	} else {
		/* Root: a file of a third user is refused. */
		ck_assert_ptr_nonnull(fs = pubfs_attach(path, 1));
		snprintf(path, sizeof(path), "%s/state/extensions/acme/"
		    "current", dir);
		ck_assert_int_eq(chown(path, 2, 2), 0);
		ck_assert_int_eq(pubfs_read(fs, "current", 100, &buf, &len),
		    -1);
		ck_assert_int_eq(errno, EPERM);
		pubfs_close(fs);
	}
}
END_TEST

START_TEST(test_snapshot_generation)
{
	struct snapshot			*sn, *c;
	const struct snap_tenant	*st;
	const struct snap_file		*f;

	/* Nothing published: the tenant serves nothing, quietly. */
	sn = snapshot_build(conf, 1, 1, report, NULL);
	ck_assert_msg(sn != NULL, "%s", reports);
	ck_assert_str_eq(reports, "");
	ck_assert_ptr_null(sn->sn_tenants[0].st_ext.se_gen);
	snapshot_unref(sn);

	generation("4-bbb", "{ \"connectors\": [ " CONN("synced-x") " ] }\n");
	sn = snapshot_build(conf, 2, 1, report, NULL);
	ck_assert_msg(sn != NULL, "%s", reports);
	ck_assert_str_eq(sn->sn_tenants[0].st_ext.se_gen, "4-bbb");
	/* widgetd -n does not look at published state. */
	snapshot_unref(sn);
	sn = snapshot_build(conf, 2, 0, report, NULL);
	ck_assert_ptr_nonnull(sn);
	ck_assert_ptr_null(sn->sn_tenants[0].st_ext.se_gen);
	ck_assert_uint_eq(registry_nconnectors(sn->sn_tenants[0].st_reg), 2);
	snapshot_unref(sn);

	sn = snapshot_build(conf, 2, 1, report, NULL);
	c = child_load(sn);
	st = snapshot_tenant_for_host(c, "acme.example");
	ck_assert_str_eq(st->st_ext.se_gen, "4-bbb");
	ck_assert_uint_eq(st->st_ext.se_nfiles, 3);
	ck_assert_uint_eq(st->st_ext.se_manifest_len, strlen(
	    "{ \"generation\": \"x\", \"widgets\": [] }\n"));
	ck_assert_int_eq(memcmp(st->st_ext.se_manifest, "{ \"generation\"",
	    14), 0);
	f = snapshot_ext_file(st, "w/sub dir/a b.js");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->sf_len, 16);
	ck_assert_int_eq(memcmp(f->sf_data, "console.log(1);\n", 16), 0);
	ck_assert_ptr_nonnull(snapshot_ext_file(st, "w/index.html"));
	ck_assert_ptr_null(snapshot_ext_file(st, "w"));
	ck_assert_ptr_null(snapshot_ext_file(st, "index.html"));
	/* The mapping is the memfd's, not a copy. */
	ck_assert_int_eq(c->sn_mapped, 1);
	/* Synced connectors come after the tenant's own, in every process. */
	ck_assert_uint_eq(registry_nconnectors(st->st_reg), 3);
	ck_assert_uint_eq(st->st_ext.se_nsynced, 1);
	ck_assert_uint_eq(registry_connector(st->st_reg,
	    "synced-x")->c_index, 2);
	ck_assert_uint_eq(registry_connector(sn->sn_tenants[0].st_reg,
	    "synced-x")->c_index, 2);
	ck_assert_uint_eq(registry_connector(st->st_reg,
	    "manual-b")->c_index, 1);
	/* The other tenant has no repository and nothing published. */
	st = snapshot_tenant_by_id(c, "other");
	ck_assert_ptr_null(st->st_ext.se_gen);
	ck_assert_ptr_null(snapshot_ext_file(st, "w/index.html"));
	snapshot_unref(c);
	snapshot_unref(sn);
}
END_TEST

/* A publish: the same configuration, the new generation, nothing else. */
START_TEST(test_republish)
{
	struct snapshot			*sn, *nsn, *c;
	const struct snap_tenant	*st;
	const struct snap_file		*f;

	generation("5-ccc", NULL);
	sn = snapshot_build(conf, 7, 1, report, NULL);
	ck_assert_msg(sn != NULL, "%s", reports);
	/* Edits made without a reload stay out of a republish. */
	put("r.json", "{ \"connectors\": [] }\n");
	generation("6-ddd", "{ \"connectors\": [ " CONN("synced-y") " ] }\n");
	nsn = snapshot_republish(sn, 8, report, NULL);
	ck_assert_msg(nsn != NULL, "%s", reports);
	ck_assert_uint_eq(nsn->sn_gen, 8);
	ck_assert_int_ne(nsn->sn_fd, -1);
	ck_assert_str_eq(nsn->sn_tenants[0].st_ext.se_gen, "6-ddd");
	ck_assert_uint_eq(registry_nconnectors(nsn->sn_tenants[0].st_reg), 3);
	c = child_load(nsn);
	ck_assert_uint_eq(c->sn_gen, 8);
	st = &c->sn_tenants[0];
	f = snapshot_ext_file(st, "w/index.html");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->sf_len, 5);
	ck_assert_int_eq(memcmp(f->sf_data, "6-ddd", 5), 0);
	ck_assert_ptr_nonnull(registry_connector(st->st_reg, "manual-a"));
	ck_assert_ptr_nonnull(registry_connector(st->st_reg, "synced-y"));
	snapshot_unref(c);
	/* Republishing a republished generation works the same way. */
	c = snapshot_republish(nsn, 9, report, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(registry_nconnectors(c->sn_tenants[0].st_reg), 3);
	snapshot_unref(c);
	snapshot_unref(nsn);
	snapshot_unref(sn);
}
END_TEST

/* A synced permalink that is also the tenant's own: refused, named. */
START_TEST(test_synced_clash)
{
	struct snapshot	*sn;

	generation("7-eee", "{ \"connectors\": [ " CONN("manual-b") " ] }\n");
	sn = snapshot_build(conf, 1, 1, report, NULL);
	ck_assert_ptr_null(sn);
	ck_assert_msg(strstr(reports, "connector 'manual-b' is both in tenant "
	    "acme's registry and synced from its repository") != NULL, "%s",
	    reports);
	/* So is one that no longer loads (here: not JSON). */
	reports[0] = '\0';
	generation("8-fff", "{ \"connectors\": [ ");
	ck_assert_ptr_null(snapshot_build(conf, 1, 1, report, NULL));
	ck_assert_msg(strstr(reports, "gens/8-fff/connectors_registry.json:"
	    ) != NULL, "%s", reports);
}
END_TEST

/* A generation that cannot be read is left out, with a warning. */
START_TEST(test_unreadable_generation)
{
	struct snapshot	*sn;

	put("state/extensions/acme/current", "9-gone\n");
	sn = snapshot_build(conf, 1, 1, report, NULL);
	ck_assert_msg(sn != NULL, "%s", reports);
	ck_assert_ptr_null(sn->sn_tenants[0].st_ext.se_gen);
	ck_assert_msg(strstr(reports, "gens/9-gone/manifest.json: No such "
	    "file or directory: extensions not served") != NULL, "%s",
	    reports);
	snapshot_unref(sn);
}
END_TEST

/* Unpublish: nothing live at once, generations and objects gone. */
START_TEST(test_unpublish)
{
	char	 path[PATH_MAX + 300], gen[PUBDIR_MAXGEN];

	generation("10-aaa", NULL);
	put("state/extensions/acme/objects/abc", "x");
	put("state/extensions/acme/builds/00000001.json", "{}");
	snprintf(path, sizeof(path), "%s/state/extensions/acme", dir);
	ck_assert_int_eq(pubdir_unpublish(path), 0);
	ck_assert_int_eq(pubdir_current(path, gen, sizeof(gen)), -1);
	snprintf(path, sizeof(path), "%s/state/extensions/acme/gens/10-aaa",
	    dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/state/extensions/acme/objects/abc",
	    dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/state/extensions/acme/builds/"
	    "00000001.json", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	/* Nothing to unpublish is no error. */
	snprintf(path, sizeof(path), "%s/state/extensions/none", dir);
	ck_assert_int_eq(pubdir_unpublish(path), 0);
}
END_TEST

/* The merge itself: order, indexes, and a clash changing nothing. */
START_TEST(test_registry_merge)
{
	struct reg_report	 rep;
	struct registry		*a, *b;
	const char		*dup, *ja, *jb;

	memset(&rep, 0, sizeof(rep));
	ja = "{ \"connectors\": [ " CONN("one") " ] }";
	jb = "{ \"connectors\": [ " CONN("two") ", " CONN("three") " ] }";
	a = registry_load_buffer("a", ja, strlen(ja), NULL, &rep);
	b = registry_load_buffer("b", jb, strlen(jb), NULL, &rep);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(registry_merge(a, b, &dup), 0);
	ck_assert_uint_eq(registry_nconnectors(a), 3);
	ck_assert_uint_eq(registry_nconnectors(b), 0);
	ck_assert_uint_eq(registry_connector(a, "three")->c_index, 2);
	ck_assert_str_eq(a->r_conns[1].c_permalink, "two");
	registry_free(b);
	b = registry_load_buffer("b", ja, strlen(ja), NULL, &rep);
	ck_assert_int_eq(registry_merge(a, b, &dup), -1);
	ck_assert_str_eq(dup, "one");
	ck_assert_uint_eq(registry_nconnectors(a), 3);
	ck_assert_uint_eq(registry_nconnectors(b), 1);
	registry_free(b);
	registry_free(a);
	reg_report_clear(&rep);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("extsnap");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_files_walk);
	tcase_add_test(tc, test_attach_owner);
	tcase_add_test(tc, test_snapshot_generation);
	tcase_add_test(tc, test_republish);
	tcase_add_test(tc, test_synced_clash);
	tcase_add_test(tc, test_unreadable_generation);
	tcase_add_test(tc, test_unpublish);
	tcase_add_test(tc, test_registry_merge);
	suite_add_tcase(s, tc);
	return s;
}
