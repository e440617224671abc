/*
 * check_publish.c — the publisher against real git repositories made at
 * test time with git(1): a push publishes; a violation fails with its
 * documented code and the live generation stays byte for byte; connectors
 * change in the same switch and a broken registry rolls back both; branch
 * switch; traversal (every encoding, crafted trees) and symlinks; the
 * limits; unpublish; and the HTML rewrite on its own.
 */
#include "build.h"

#include "check_main.h"
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connector.h"
#include "extreg.h"
#include "pubdir.h"
#include "publish.h"
#include "rewrite.h"
#include "sandbox.h"

static char	 top[256];	/* per test: a fresh temporary directory */
static char	 repo[300];
static char	 out[300];

#define REG1	"{\"widgets\":[{\"title\":\"Banner\",\"type\":\"acme_banner\"," \
		"\"category\":\"c\",\"source\":{\"path\":\"widgets/banner\"," \
		"\"entry\":\"index.html\"},\"imageSrc\":\"widgets/banner/t.png\"}]," \
		"\"scripts\":[{\"name\":\"acme-a\",\"path\":\"js/a.js\"},{\"name\":" \
		"\"cdn\",\"path\":\"https://unpkg.com/x.js\"}],\"stylesheets\":" \
		"[{\"name\":\"acme-s\",\"path\":\"css/s.css\"}]}"
#define HTML1	"<html><head><link href=\"style.css\" rel=stylesheet></head>" \
		"<body><img src=\"img/a.png\" srcset=\"img/a.png 1x, /img/b.png 2x\">" \
		"<a href=\"https://example.com/\">x</a><div style=\"background:" \
		"url('img/a.png')\"></div><script src=\"app.js\"></script>" \
		"<script>var u = 'img/a.png';</script></body></html>"
#define CONN	"{\"connectors\":[{\"name\":\"Weather\",\"url\":" \
		"\"https://api.example.com/w\"}]}"

static void __attribute__((format(printf, 1, 2)))
sh(const char *fmt, ...)
{
	char	 cmd[8192];
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

/* Write a file into the work tree (directories made as needed). */
static void
put(const char *path, const char *content)
{
	char	 p[1024], *slash;
	FILE	*fp;

	snprintf(p, sizeof(p), "%s/%s", repo, path);
	if ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		sh("mkdir -p '%s'", p);
		*slash = '/';
	}
	ck_assert_ptr_nonnull(fp = fopen(p, "w"));
	fputs(content, fp);
	fclose(fp);
}

static void
commit(const char *msg)
{
	sh("cd '%s' && git add -A && git -c user.name=t -c user.email=t@e "
	    "commit -q --allow-empty -m '%s'", repo, msg);
}

static void
base_repo(void)
{
	put("extensions_registry.json", REG1);
	put("widgets/banner/index.html", HTML1);
	put("widgets/banner/style.css", "body { color: red }\n");
	put("widgets/banner/app.js", "console.log('hi');\n");
	put("widgets/banner/img/a.png", "PNG-A");
	put("img/b.png", "not in the widget");
	put("widgets/banner/t.png", "THUMB");
	put("js/a.js", "var a = 1;\n");
	put("css/s.css", "a { color: blue }\n");
	commit("one");
}

static void
setup(void)
{
	char	*t;

	snprintf(top, sizeof(top), "/tmp/check_publish.XXXXXX");
	ck_assert_ptr_nonnull(t = mkdtemp(top));
	snprintf(repo, sizeof(repo), "%s/repo", top);
	snprintf(out, sizeof(out), "%s/state/acme", top);
	sh("mkdir -p '%s/state' && git init -q -b main '%s'", top, repo);
}

static void
teardown(void)
{
	sh("rm -rf '%s'", top);
}

static int
run_cached(const char *branch, struct publish_scancache *sc,
    struct publish_build *b)
{
	struct publish_opts	 o;

	memset(&o, 0, sizeof(o));
	o.po_repo = repo;
	o.po_branch = branch;
	o.po_outdir = out;
	o.po_scancache = sc;
	return publish_run(&o, b);
}

static int
run(const char *branch, struct publish_build *b)
{
	return run_cached(branch, NULL, b);
}

/* The bytes of a file beneath out (NULL when absent). */
static char *
slurp(const char *rel)
{
	char	 p[1024], *buf;
	FILE	*fp;
	long	 n;

	snprintf(p, sizeof(p), "%s/%s", out, rel);
	if ((fp = fopen(p, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	ck_assert_ptr_nonnull(buf = calloc(1, n + 1));
	ck_assert_int_eq(fread(buf, 1, n, fp), n);
	fclose(fp);
	return buf;
}

static char *
live(void)
{
	static char	 gen[64];

	if (pubdir_current(out, gen, sizeof(gen)) == -1)
		return NULL;
	return gen;
}

/* A digest of everything the server reads: all but build records. */
static char *
snapshot(void)
{
	char	 cmd[1024], *buf;
	FILE	*fp;
	size_t	 n;

	snprintf(cmd, sizeof(cmd), "cd '%s' && find . -path ./builds -prune -o "
	    "-name '*.seq' -prune -o -name .lock -prune -o -print | LC_ALL=C "
	    "sort | while read f; do if [ -f \"$f\" ]; then sha256sum \"$f\"; "
	    "else echo \"$f\"; fi; done | sha256sum", out);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	ck_assert_ptr_nonnull(buf = calloc(1, 128));
	n = fread(buf, 1, 127, fp);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(pclose(fp), 0);
	return buf;
}

static int
has_detail(const struct publish_build *b, const char *needle)
{
	size_t	 i;

	for (i = 0; i < b->pb_ndetails; i++)
		if (strstr(b->pb_details[i], needle) != NULL)
			return 1;
	return 0;
}

static int
has_warning(const struct publish_build *b, const char *needle)
{
	size_t	 i;

	for (i = 0; i < b->pb_nwarnings; i++)
		if (strstr(b->pb_warnings[i], needle) != NULL)
			return 1;
	return 0;
}

static void
expect_fail(const char *branch, const char *code, const char *detail)
{
	struct publish_build	 b;
	size_t			 i;

	ck_assert_msg(run(branch, &b) == -1, "published %s: %s",
	    b.pb_generation, b.pb_message);
	ck_assert_int_eq(b.pb_state, PUBLISH_FAILED);
	ck_assert_ptr_nonnull(b.pb_code);
	if (strcmp(b.pb_code, code) != 0 || (detail != NULL &&
	    !has_detail(&b, detail))) {
		fprintf(stderr, "got %s: %s\n", b.pb_code, b.pb_message);
		for (i = 0; i < b.pb_ndetails; i++)
			fprintf(stderr, "  %s\n", b.pb_details[i]);
	}
	ck_assert_str_eq(b.pb_code, code);
	if (detail != NULL)
		ck_assert(has_detail(&b, detail));
	publish_build_clear(&b);
}

/* A push publishes: generation, files, rewrite, manifest, record. */
START_TEST(test_publish)
{
	struct publish_build	 b;
	char			 rel[1024], *s, *gen;

	base_repo();
	ck_assert_int_eq(run("main", &b), 0);
	ck_assert_int_eq(b.pb_state, PUBLISH_COMPLETED);
	ck_assert_ptr_null(b.pb_code);
	ck_assert_uint_eq(strlen(b.pb_commit), 40);
	ck_assert_ptr_nonnull(gen = live());
	ck_assert_str_eq(gen, b.pb_generation);
	ck_assert_uint_eq(b.pb_nfiles, 7);	/* widget 5 (thumbnail too), js, css */
	/* Files byte for byte at their repository paths. */
	snprintf(rel, sizeof(rel), "gens/%s/files/widgets/banner/app.js", gen);
	ck_assert_ptr_nonnull(s = slurp(rel));
	ck_assert_str_eq(s, "console.log('hi');\n");
	free(s);
	snprintf(rel, sizeof(rel), "gens/%s/files/css/s.css", gen);
	ck_assert_ptr_nonnull(s = slurp(rel));
	free(s);
	/* Not named by the registry: not published. */
	snprintf(rel, sizeof(rel), "gens/%s/files/img/b.png", gen);
	ck_assert_ptr_null(slurp(rel));
	/* The entry's references are hosted; script text is not touched. */
	snprintf(rel, sizeof(rel), "gens/%s/files/widgets/banner/index.html",
	    gen);
	ck_assert_ptr_nonnull(s = slurp(rel));
	snprintf(rel, sizeof(rel), "href=\"/widget-service/extensions/%s/files/"
	    "widgets/banner/style.css\"", gen);
	ck_assert_msg(strstr(s, rel) != NULL, "%s", s);
	snprintf(rel, sizeof(rel), "srcset=\"/widget-service/extensions/%s/"
	    "files/widgets/banner/img/a.png 1x, /widget-service/extensions/%s/"
	    "files/widgets/banner/img/b.png 2x\"", gen, gen);
	ck_assert_msg(strstr(s, rel) != NULL, "%s", s);
	ck_assert(strstr(s, "url('/widget-service/extensions/") != NULL);
	ck_assert(strstr(s, "href=\"https://example.com/\"") != NULL);
	ck_assert(strstr(s, "var u = 'img/a.png';") != NULL);
	free(s);
	/* The manifest. */
	snprintf(rel, sizeof(rel), "gens/%s/manifest.json", gen);
	ck_assert_ptr_nonnull(s = slurp(rel));
	snprintf(rel, sizeof(rel), "\"entryUrl\":\"/widget-service/extensions/"
	    "%s/files/widgets/banner/index.html\"", gen);
	ck_assert_msg(strstr(s, rel) != NULL, "%s", s);
	ck_assert(strstr(s, "\"version\":\"1.0.0\"") != NULL);
	ck_assert(strstr(s, "\"shared\":false") != NULL);
	ck_assert(strstr(s, "\"url\":\"https://unpkg.com/x.js\"") != NULL);
	snprintf(rel, sizeof(rel), "\"imageSrc\":\"/widget-service/extensions/"
	    "%s/files/widgets/banner/t.png\"", gen);
	ck_assert_msg(strstr(s, rel) != NULL, "%s", s);
	free(s);
	/* The build record. */
	snprintf(rel, sizeof(rel), "builds/%08lu.json", b.pb_id);
	ck_assert_ptr_nonnull(s = slurp(rel));
	ck_assert(strstr(s, "\"state\":\"Completed\"") != NULL);
	ck_assert(strstr(s, b.pb_commit) != NULL);
	free(s);
	publish_build_clear(&b);
}
END_TEST

/* A second push: a new generation, the old one pruned, unchanged content
 * reused from the store (hard links, not copies). */
START_TEST(test_push_reuse)
{
	struct publish_build	 b;
	char			 g1[64], rel[1024], *s;
	struct stat		 st;

	base_repo();
	ck_assert_int_eq(run("main", &b), 0);
	snprintf(g1, sizeof(g1), "%s", b.pb_generation);
	publish_build_clear(&b);
	put("widgets/banner/app.js", "console.log('two');\n");
	commit("two");
	ck_assert_int_eq(run("main", &b), 0);
	ck_assert_str_ne(b.pb_generation, g1);
	ck_assert_str_eq(live(), b.pb_generation);
	/* 7 files; app.js changed, and the rewritten entry names the new
	 * generation in its URLs: 5 from the store. */
	ck_assert_uint_eq(b.pb_nfiles, 7);
	ck_assert_uint_eq(b.pb_nreused, 5);
	snprintf(rel, sizeof(rel), "%s/gens/%s", out, g1);
	ck_assert_int_eq(stat(rel, &st), -1);
	snprintf(rel, sizeof(rel), "%s/gens/%s/files/js/a.js", out,
	    b.pb_generation);
	ck_assert_int_eq(stat(rel, &st), 0);
	ck_assert_int_eq(st.st_nlink, 2);	/* generation + store */
	snprintf(rel, sizeof(rel), "gens/%s/files/widgets/banner/app.js",
	    b.pb_generation);
	ck_assert_ptr_nonnull(s = slurp(rel));
	ck_assert_str_eq(s, "console.log('two');\n");
	free(s);
	publish_build_clear(&b);
}
END_TEST

/* A push with a violation: CONTENT_SCAN_REJECTED with the documented
 * message; the previous widgets stay live byte for byte. */
START_TEST(test_violation_keeps_live)
{
	struct publish_build	 b;
	char			*before, *after, g1[64];

	base_repo();
	ck_assert_int_eq(run("main", &b), 0);
	snprintf(g1, sizeof(g1), "%s", b.pb_generation);
	publish_build_clear(&b);
	before = snapshot();
	put("widgets/banner/app.js", "eval(atob('YWxlcnQoMSk='));\n");
	commit("bad");
	ck_assert_int_eq(run("main", &b), -1);
	ck_assert_str_eq(b.pb_code, "CONTENT_SCAN_REJECTED");
	ck_assert_str_eq(b.pb_message, "Widget 'acme_banner' rejected: content "
	    "policy violation (categories: obfuscation)");
	ck_assert(has_detail(&b, "widgets/banner/app.js:1: obfuscation: "));
	ck_assert_str_eq(b.pb_generation, "");
	publish_build_clear(&b);
	ck_assert_str_eq(live(), g1);
	after = snapshot();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* A script and a stylesheet are scanned too. */
	put("widgets/banner/app.js", "console.log('hi');\n");
	put("css/s.css", "a { width: expression(alert(1)) }\n");
	commit("css");
	expect_fail("main", "CONTENT_SCAN_REJECTED",
	    "Stylesheet 'acme-s' rejected: content policy violation "
	    "(categories: obfuscation)");
	/* Widget CSS is not scanned (platform-docs §23). */
	put("css/s.css", "a{}\n");
	put("widgets/banner/style.css", "a { width: expression(1) }\n");
	commit("widget css");
	ck_assert_int_eq(run("main", &b), 0);
	publish_build_clear(&b);
}
END_TEST

/*
 * A publisher that remembers what it found clean: a push that changes one
 * file scans that file; a file with findings is scanned again every time;
 * without the memory every file is scanned.  The counts are in the build
 * record.
 */
/*
 * Commit path with content, publish with sc (NULL: no memory) and check
 * the outcome and how many files were scanned and known clean.  The
 * build id, for its record.
 */
static unsigned long
scan_step(struct publish_scancache *sc, const char *path, const char *content,
    int rv, size_t scanned, size_t kept)
{
	struct publish_build	 b;
	unsigned long		 id;

	put(path, content);
	commit(path);
	ck_assert_int_eq(run_cached("main", sc, &b), rv);
	if (rv == -1)
		ck_assert_str_eq(b.pb_code, "CONTENT_SCAN_REJECTED");
	ck_assert_uint_eq(b.pb_nscanned, scanned);
	ck_assert_uint_eq(b.pb_nscankept, kept);
	id = b.pb_id;
	publish_build_clear(&b);
	return id;
}

START_TEST(test_scan_cache)
{
	struct publish_scancache *sc;
	char			 rel[64], *s;
	unsigned long		 id;

	ck_assert_ptr_nonnull(sc = publish_scancache_new());
	base_repo();
	/* index.html, app.js, js/a.js, css/s.css (widget CSS is not) */
	scan_step(sc, "img/b.png", "first", 0, 4, 0);
	id = scan_step(sc, "widgets/banner/app.js", "console.log('two');\n", 0,
	    1, 3);
	snprintf(rel, sizeof(rel), "builds/%08lu.json", id);
	ck_assert_ptr_nonnull(s = slurp(rel));
	ck_assert_ptr_nonnull(strstr(s, "\"scanned\":1"));
	ck_assert_ptr_nonnull(strstr(s, "\"scan_kept\":3"));
	free(s);
	/* a finding is never remembered */
	scan_step(sc, "widgets/banner/app.js", "eval(atob('YWxlcnQoMSk='));\n",
	    -1, 1, 3);
	scan_step(sc, "js/a.js", "var a = 2;\n", -1, 2, 2);
	/* the same content back: known clean */
	scan_step(sc, "widgets/banner/app.js", "console.log('two');\n", 0, 0,
	    4);
	/* no memory: everything */
	scan_step(NULL, "img/b.png", "changed", 0, 4, 0);
	publish_scancache_free(sc);
}
END_TEST

/* connectors_registry.json changes in the same switch; a broken one
 * fails the build and leaves both widgets and connectors as they were. */
START_TEST(test_connectors)
{
	struct publish_build	 b;
	char			 rel[1024], *s, *before, *after, g1[64];

	base_repo();
	put("connectors_registry.json", CONN);
	commit("conn");
	ck_assert_int_eq(run("main", &b), 0);
	ck_assert_int_eq(b.pb_connectors, 1);
	snprintf(g1, sizeof(g1), "%s", b.pb_generation);
	snprintf(rel, sizeof(rel), "gens/%s/connectors_registry.json", g1);
	ck_assert_ptr_nonnull(s = slurp(rel));
	ck_assert_str_eq(s, CONN);
	free(s);
	publish_build_clear(&b);
	before = snapshot();
	put("connectors_registry.json", "{\"connectors\":[{\"name\":\"W\","
	    "\"url\":\"https://localhost/x\"},{\"name\":\"V\",\"url\":"
	    "\"https://api.example.com/\",\"method\":\"FETCH\"}]}");
	put("widgets/banner/app.js", "console.log('new');\n");
	commit("broken conn");
	ck_assert_int_eq(run("main", &b), -1);
	ck_assert_str_eq(b.pb_code, "CONNECTOR_SYNC_FAILED");
	ck_assert(has_detail(&b, "connectors[1].method"));
	ck_assert(has_detail(&b, "connectors[0].url"));
	publish_build_clear(&b);
	after = snapshot();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	ck_assert_str_eq(live(), g1);
	/* A permalink in both the repository and the tenant's registry. */
	put("connectors_registry.json", CONN);
	commit("fixed");
	{
		struct reg_report	 rep;
		struct registry		*man;
		struct publish_opts	 o;

		memset(&rep, 0, sizeof(rep));
		man = registry_load_buffer("manual", CONN, strlen(CONN), NULL,
		    &rep);
		ck_assert_ptr_nonnull(man);
		memset(&o, 0, sizeof(o));
		o.po_repo = repo;
		o.po_branch = "main";
		o.po_outdir = out;
		o.po_manual = man;
		ck_assert_int_eq(publish_run(&o, &b), -1);
		ck_assert_str_eq(b.pb_code, "CONNECTOR_SYNC_FAILED");
		ck_assert(strstr(b.pb_message, "weather") != NULL);
		publish_build_clear(&b);
		registry_free(man);
	}
	/* Removing the file removes the connectors with the next switch. */
	sh("cd '%s' && git rm -q connectors_registry.json", repo);
	commit("no conn");
	ck_assert_int_eq(run("main", &b), 0);
	ck_assert_int_eq(b.pb_connectors, 0);
	snprintf(rel, sizeof(rel), "gens/%s/connectors_registry.json",
	    b.pb_generation);
	ck_assert_ptr_null(slurp(rel));
	publish_build_clear(&b);
}
END_TEST

/* Another branch replaces everything the repository published. */
START_TEST(test_branch_switch)
{
	struct publish_build	 b;
	char			 rel[1024], *s;

	base_repo();
	sh("cd '%s' && git checkout -q -b staging", repo);
	put("extensions_registry.json", "{\"widgets\":[{\"title\":\"S\","
	    "\"type\":\"acme_staging\",\"category\":\"c\",\"source\":{\"path\":"
	    "\"w/s\",\"entry\":\"i.html\"}}]}");
	put("w/s/i.html", "<p>staging</p>");
	commit("staging");
	ck_assert_int_eq(run("main", &b), 0);
	publish_build_clear(&b);
	ck_assert_int_eq(run("staging", &b), 0);
	snprintf(rel, sizeof(rel), "gens/%s/manifest.json", b.pb_generation);
	ck_assert_ptr_nonnull(s = slurp(rel));
	ck_assert(strstr(s, "acme_staging") != NULL);
	ck_assert(strstr(s, "acme_banner") == NULL);
	ck_assert(strstr(s, "\"branch\":\"staging\"") != NULL);
	free(s);
	publish_build_clear(&b);
	expect_fail("nosuch", "GITHUB_FETCH_FAILED", "branch 'nosuch' not found");
	/* What a watcher polls: the branch's commit, as the build names it. */
	{
		char	 c1[41], c2[41], why[256];

		ck_assert_int_eq(publish_resolve(repo, "staging", c1, why,
		    sizeof(why)), 0);
		ck_assert_int_eq(run("staging", &b), 0);
		ck_assert_str_eq(c1, b.pb_commit);
		publish_build_clear(&b);
		commit("empty push");
		ck_assert_int_eq(publish_resolve(repo, "staging", c2, why,
		    sizeof(why)), 0);
		ck_assert_str_ne(c1, c2);
		ck_assert_int_eq(publish_resolve(repo, "gone", c2, why,
		    sizeof(why)), -1);
		ck_assert(strstr(why, "not found") != NULL);
	}
	expect_fail("../main", "GITHUB_FETCH_FAILED", "not a valid branch");
	expect_fail("/main", "GITHUB_FETCH_FAILED", "not a valid branch");
	ck_assert_int_eq(extreg_branch_valid("release/1.2_x-y"), 1);
	ck_assert_int_eq(extreg_branch_valid("a b"), 0);
	ck_assert_int_eq(extreg_branch_valid("main/"), 0);
}
END_TEST

/*
 * Traversal in the registry (validation) and in crafted trees that git
 * itself would refuse to check out; nothing outside out is touched.
 */
static void
crafted(const char *name)
{
	/* A tree whose widget directory holds an entry called name (printf
	 * %b escapes: \\0ooo for any byte). */
	sh("cd '%s' && b=$(printf x | git hash-object -w --stdin) && "
	    "n=$(printf '%%b' '%s') && w=$(printf '100644 blob %%s\\tindex.html"
	    "\\n100644 blob %%s\\t%%s\\n' $b $b \"$n\" | git mktree) && "
	    "ws=$(printf '040000 tree %%s\\tbanner\\n' $w | git mktree) && "
	    "r=$(git hash-object -w extensions_registry.json) && "
	    "root=$(printf '100644 blob %%s\\textensions_registry.json\\n"
	    "040000 tree %%s\\twidgets\\n' $r $ws | git mktree) && "
	    "c=$(git -c user.name=t -c user.email=t@e commit-tree -m x $root) "
	    "&& git update-ref refs/heads/crafted $c", repo, name);
}

START_TEST(test_traversal)
{
	char	 cmd[2048];

	put("extensions_registry.json", "{\"widgets\":[{\"title\":\"T\","
	    "\"type\":\"acme_banner\",\"category\":\"c\",\"source\":{\"path\":"
	    "\"widgets/banner\",\"entry\":\"index.html\"}}]}");
	put("widgets/banner/index.html", "<p>x</p>");
	commit("ok");
	sh("echo sentinel > '%s/sentinel'", top);
	/* The registry's own paths, in several encodings. */
	put("extensions_registry.json", "{\"widgets\":[{\"title\":\"T\","
	    "\"type\":\"t\",\"category\":\"c\",\"source\":{\"path\":"
	    "\"widgets/%2e%2e/%2e%2e\",\"entry\":\"index.html\"}}]}");
	commit("enc");
	expect_fail("main", "PATH_TRAVERSAL_DETECTED", "source.path");
	put("extensions_registry.json", "{\"widgets\":[{\"title\":\"T\","
	    "\"type\":\"t\",\"category\":\"c\",\"source\":{\"path\":"
	    "\"/etc\",\"entry\":\"passwd.html\"}}]}");
	commit("abs");
	expect_fail("main", "ABSOLUTE_PATH_NOT_ALLOWED", "source.path");
	put("extensions_registry.json", "{\"scripts\":[{\"name\":\"a\","
	    "\"path\":\"..\\\\..\\\\x.js\"}]}");
	commit("bs");
	expect_fail("main", "PATH_TRAVERSAL_DETECTED", "scripts[0].path");
	/* Crafted trees: names git refuses, read straight from objects. */
	put("extensions_registry.json", "{\"widgets\":[{\"title\":\"T\","
	    "\"type\":\"acme_banner\",\"category\":\"c\",\"source\":{\"path\":"
	    "\"widgets/banner\",\"entry\":\"index.html\"}}]}");
	commit("back");
	crafted("..");
	expect_fail("crafted", "PATH_TRAVERSAL_DETECTED", "not a plain file");
	crafted("%2e%2e");
	expect_fail("crafted", "PATH_TRAVERSAL_DETECTED", "outside");
	crafted("%252e%252e");
	expect_fail("crafted", "PATH_TRAVERSAL_DETECTED", NULL);
	crafted("%2E.");
	expect_fail("crafted", "PATH_TRAVERSAL_DETECTED", "outside");
	crafted(".");
	expect_fail("crafted", "PATH_TRAVERSAL_DETECTED", NULL);
	crafted("a\\\\..\\\\b");
	expect_fail("crafted", "PATH_TRAVERSAL_DETECTED", NULL);
	crafted("bad\\0377\\0376name");
	expect_fail("crafted", "INVALID_WIDGET_STRUCTURE", "bad\\xff\\xfename");
	crafted("ctl\\0001x");
	expect_fail("crafted", "INVALID_WIDGET_STRUCTURE", "UTF-8");
	/* Nothing appeared beside the published directory. */
	snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s' | tr '\\n' ' ')\" = "
	    "'repo sentinel state ' && test \"$(ls -A '%s/state')\" = acme && "
	    "grep -qx sentinel '%s/sentinel' && ! find '%s/state' -name "
	    "'*b' -path '*..*' | grep -q .", top, top, top, top);
	sh("%s", cmd);
	/* And the good commit still publishes. */
	{
		struct publish_build b;

		ck_assert_int_eq(run("main", &b), 0);
		publish_build_clear(&b);
	}
}
END_TEST

/* Symlinks are skipped with a warning, never followed. */
START_TEST(test_symlinks)
{
	struct publish_build	 b;
	char			 rel[1024];
	struct stat		 st;

	base_repo();
	sh("cd '%s/widgets/banner' && ln -s /etc/passwd passwd.js && "
	    "ln -s ../../js link", repo);
	commit("links");
	ck_assert_int_eq(run("main", &b), 0);
	ck_assert_int_eq(b.pb_state, PUBLISH_WARNING);
	ck_assert(has_warning(&b, "widgets/banner/passwd.js is a symbolic link: "
	    "skipped"));
	ck_assert(has_warning(&b, "widgets/banner/link is a symbolic link"));
	snprintf(rel, sizeof(rel), "%s/gens/%s/files/widgets/banner/passwd.js",
	    out, b.pb_generation);
	ck_assert_int_eq(lstat(rel, &st), -1);
	snprintf(rel, sizeof(rel), "builds/%08lu.json", b.pb_id);
	{
		char *s = slurp(rel);

		ck_assert_ptr_nonnull(s);
		ck_assert(strstr(s, "\"state\":\"Warning\"") != NULL);
		ck_assert(strstr(s, "symbolic link") != NULL);
		free(s);
	}
	publish_build_clear(&b);
	/* An entry that is a link is not found; a path through a link. */
	sh("cd '%s/widgets/banner' && rm index.html && ln -s ../../img/b.png "
	    "index.html", repo);
	commit("entry link");
	expect_fail("main", "ENTRY_FILE_NOT_FOUND", "symbolic link");
	sh("cd '%s' && rm widgets/banner/index.html && echo '<p/>' > "
	    "widgets/banner/index.html && mkdir -p real && echo x > real/x.js "
	    "&& ln -s ../real js2", repo);
	put("extensions_registry.json", "{\"scripts\":[{\"name\":\"a\","
	    "\"path\":\"js2/x.js\"}]}");
	commit("through link");
	expect_fail("main", "ENTRY_FILE_NOT_FOUND", "symbolic link");
}
END_TEST

/* The limits of platform-docs §22 and SPEC §10. */
START_TEST(test_limits)
{
	int	 i;

	base_repo();
	for (i = 0; i < 95; i++)
		sh("echo %d > '%s/widgets/banner/f%d.txt'", i, repo, i);
	commit("100 files");
	{
		struct publish_build b;

		ck_assert_int_eq(run("main", &b), 0);	/* exactly 100 */
		publish_build_clear(&b);
	}
	sh("echo x > '%s/widgets/banner/f100.txt'", repo);
	commit("101 files");
	expect_fail("main", "MAX_FILES_EXCEEDED", "more than 100 files");
	sh("cd '%s/widgets/banner' && rm f*.txt && head -c 2097153 /dev/zero > "
	    "big.bin", repo);
	commit("big file");
	expect_fail("main", "MAX_SIZE_EXCEEDED", "2097153 bytes");
	sh("cd '%s/widgets/banner' && rm big.bin && for i in 1 2 3 4 5 6; do "
	    "head -c 2000000 /dev/urandom > r$i.bin; done", repo);
	commit("11 MB dir");
	expect_fail("main", "MAX_SIZE_EXCEEDED", "more than 10485760 bytes");
	sh("cd '%s/widgets/banner' && rm r*.bin && mkdir -p "
	    "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q && echo x > "
	    "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/deep.txt", repo);
	commit("deep");
	expect_fail("main", "INVALID_WIDGET_STRUCTURE", "deeper than 16");
	sh("cd '%s/widgets/banner' && rm -r a && head -c 524289 /dev/zero > "
	    "t.png", repo);
	commit("thumb");
	expect_fail("main", "MAX_SIZE_EXCEEDED", "t.png is 524289 bytes");
	sh("cd '%s/widgets/banner' && echo T > t.png && rm index.html", repo);
	commit("no entry");
	expect_fail("main", "ENTRY_FILE_NOT_FOUND", "index.html does not exist");
	sh("cd '%s' && echo '<p/>' > widgets/banner/index.html && rm -r js",
	    repo);
	commit("no script");
	expect_fail("main", "ENTRY_FILE_NOT_FOUND", "js/a.js");
}
END_TEST

/* widget_registry.json publishes with a warning; no registry at all is
 * an error unless the repository holds connectors. */
START_TEST(test_registry_files)
{
	struct publish_build	 b;

	base_repo();
	sh("cd '%s' && git mv extensions_registry.json widget_registry.json",
	    repo);
	commit("legacy");
	ck_assert_int_eq(run("main", &b), 0);
	ck_assert_int_eq(b.pb_state, PUBLISH_WARNING);
	ck_assert(has_warning(&b, "deprecated"));
	publish_build_clear(&b);
	sh("cd '%s' && git rm -q widget_registry.json", repo);
	commit("none");
	expect_fail("main", "ENTRY_FILE_NOT_FOUND", "neither");
	put("connectors_registry.json", CONN);
	commit("only conn");
	ck_assert_int_eq(run("main", &b), 0);
	ck_assert_int_eq(b.pb_connectors, 1);
	publish_build_clear(&b);
	put("extensions_registry.json", "{\"widgets\":[{\"title\":\"\"}]}");
	commit("invalid");
	expect_fail("main", "INVALID_WIDGET_STRUCTURE",
	    "extensions_registry.json:1:22: widgets[0].title: must not be empty");
}
END_TEST

/* Unpublish removes every generation; records stay; 50 records kept. */
START_TEST(test_unpublish_records)
{
	struct publish_build	 b;
	char			 rel[1024], cmd[1024];
	int			 i;

	base_repo();
	ck_assert_int_eq(run("main", &b), 0);
	publish_build_clear(&b);
	ck_assert_int_eq(pubdir_unpublish(out), 0);
	ck_assert_ptr_null(live());
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s/gens' '%s/objects' | "
	    "grep -v :)\"", out, out);
	sh("%s", cmd);
	for (i = 0; i < 55; i++)
		expect_fail("no-such-branch", "GITHUB_FETCH_FAILED", NULL);
	snprintf(rel, sizeof(rel), "test $(ls '%s/builds' | grep -c json) -eq "
	    "%d", out, PUBLISH_KEEP_BUILDS);
	sh("%s", rel);
}
END_TEST

/* The rewrite on its own: what is hosted, what stays. */
START_TEST(test_rewrite)
{
	static const struct {
		const char	*in, *dir, *want;
	} c[] = {
		{ "a.png", "", "B/a.png" },
		{ "./a.png", "", "B/a.png" },
		{ "img/a.png?v=1#x", "", "B/img/a.png?v=1#x" },
		{ "a.png", "pages", "B/pages/a.png" },
		{ "../a.png", "pages", "B/a.png" },
		{ "/a.png", "pages", "B/a.png" },
		{ "//cdn.example.com/a.png", "", NULL },
		{ "https://x.example/a.png", "", NULL },
		{ "data:image/png;base64,AA", "", NULL },
		{ "mailto:a@b", "", NULL },
		{ "#top", "", NULL },
		{ "{{ url }}", "", NULL },
		{ "../../a.png", "pages", NULL },
		{ "a b\".png", "", "B/a%20b%22.png" },
		{ "  a.png ", "", "B/a.png" },
		{ "a.png", "d#1?x%", "B/d%231%3Fx%25/a.png" },
		{ "a%20b.png?q=%41", "", "B/a%20b.png?q=%41" },
	};
	struct rewrite_stats	 st;
	const char		*in;
	char			*o;
	size_t			 i, n;
	int			 esc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		o = rewrite_url(c[i].in, strlen(c[i].in), c[i].dir, "B", &esc);
		if (c[i].want == NULL)
			ck_assert_msg(o == NULL, "%s -> %s", c[i].in, o);
		else {
			ck_assert_ptr_nonnull(o);
			ck_assert_str_eq(o, c[i].want);
		}
		free(o);
	}
	in = "<img src=a.png data-x=a.png><object data='m.swf'></object>"
	    "<video poster=\"p.jpg\"></video><!-- <img src=c.png> --><style>"
	    "a{background:url(b.png)}</style><script>x='<img src=d.png>'"
	    "</script><p>a < b</p>";
	ck_assert_int_eq(rewrite_html(in, strlen(in), "", "B", &o, &n, &st), 0);
	ck_assert_str_eq(o, "<img src=B/a.png data-x=a.png><object "
	    "data='B/m.swf'></object><video poster=\"B/p.jpg\"></video><!-- <img "
	    "src=c.png> --><style>a{background:url(B/b.png)}</style><script>"
	    "x='<img src=d.png>'</script><p>a < b</p>");
	ck_assert_uint_eq(st.rs_rewritten, 4);
	free(o);
	ck_assert_int_eq(rewrite_html("", 0, "", "B", &o, &n, &st), 0);
	ck_assert_str_eq(o, "");
	free(o);
}
END_TEST

/*
 * A whole publish inside the publisher's sandbox: Landlock (repository
 * read-only, published directory read-write) and the SANDBOX_PUBLISHER
 * seccomp filter, as the daemon's publisher role will run it.  Then
 * nothing else is reachable: other files, the network.
 */
static int
do_sandboxed(int what)
{
	struct publish_build	 b;
	const char		*ro[] = { repo, NULL }, *rw[] = { out, NULL };
	char			 p[400];
	int			 rv;

	if (publish_init() == -1)
		return 10;
	if ((rv = sandbox_restrict_paths_rw(ro, rw)) == 1)
		return 77;
	if (rv == -1)
		return 11;
	if (sandbox_apply(SANDBOX_PUBLISHER) == -1)
		return 12;
	if (what == 1)
		return socket(AF_INET, SOCK_STREAM, 0) == -1 ? 13 : 14;
	if (what == 2) {
		execl("/bin/true", "true", (char *)NULL);
		return 15;
	}
	if (run("main", &b) == -1)
		return 16;
	publish_build_clear(&b);
	/* Landlock: nothing outside the two trees. */
	if (open("/etc/passwd", O_RDONLY) != -1 || errno != EACCES)
		return 17;
	snprintf(p, sizeof(p), "%s/escape", top);
	if (open(p, O_WRONLY | O_CREAT, 0644) != -1 || errno != EACCES)
		return 18;
	snprintf(p, sizeof(p), "%s/HEAD", repo);
	if (open(p, O_WRONLY | O_APPEND) != -1)
		return 19;
	return 0;
}

static int
sandboxed_child(int what)
{
	pid_t	 pid;
	int	 st;

	fflush(NULL);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0)
		_exit(do_sandboxed(what));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

START_TEST(test_sandboxed)
{
	int	 st;

	base_repo();
	sh("mkdir -p '%s'", out);
	st = sandboxed_child(0);
	ck_assert_msg(WIFEXITED(st), "publisher killed by signal %d",
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	if (WEXITSTATUS(st) == 77) {
		fprintf(stderr, "check_publish: no Landlock in this kernel\n");
		return;
	}
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_ptr_nonnull(live());
	st = sandboxed_child(1);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = sandboxed_child(2);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}
END_TEST

/* Valgrind cannot run a filtered process. */
const char *check_valgrind_tcase = "publish";

Suite *
check_suite(void)
{
	Suite	*s = suite_create("publish");
	TCase	*tc = tcase_create("publish");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_publish);
	tcase_add_test(tc, test_push_reuse);
	tcase_add_test(tc, test_violation_keeps_live);
	tcase_add_test(tc, test_scan_cache);
	tcase_add_test(tc, test_connectors);
	tcase_add_test(tc, test_branch_switch);
	tcase_add_test(tc, test_traversal);
	tcase_add_test(tc, test_symlinks);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_registry_files);
	tcase_add_test(tc, test_unpublish_records);
	tcase_add_test(tc, test_rewrite);
	suite_add_tcase(s, tc);
	tc = tcase_create("sandbox");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sandboxed);
	suite_add_tcase(s, tc);
	return s;
}
