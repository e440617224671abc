# extensions fragment (see Makefile.am): extensions_registry.json
# validation, the content scanner, the publisher core, their widgetctl
# commands, tests and fuzz targets (SPEC §10, issue 15).
src_libwidgetd_a_SOURCES += src/extreg.h src/extreg.c src/scan.h src/scan.c \
	src/ctl_scan.c src/ctl_publish.c src/pubfs.h src/pubfs.c src/pubdir.h src/pubdir.c src/rewrite.h src/rewrite.c \
	src/publish.h src/publish.c src/worker_ext.c src/publisher.c
# Only publish.o needs libgit2: widgetd links it for its publisher role;
# widgetctl and the tests that do not publish do not.
AM_CFLAGS += $(LIBGIT2_CFLAGS)
widgetd_LDADD += $(LIBGIT2_LIBS)

check_PROGRAMS += tests/check_extreg
TESTS += tests/check_extreg
tests_check_extreg_SOURCES = tests/check_extreg.c \
	tests/check_main.c tests/check_main.h
tests_check_extreg_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_extreg_LDADD = $(WD_TEST_LIBS)

check_PROGRAMS += tests/check_scan
TESTS += tests/check_scan
tests_check_scan_SOURCES = tests/check_scan.c \
	tests/check_main.c tests/check_main.h
tests_check_scan_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_scan_LDADD = $(WD_TEST_LIBS)

# A published generation on its way to the workers: the directory's
# layout, the snapshot that carries it, synced connectors merged.
check_PROGRAMS += tests/check_extsnap
TESTS += tests/check_extsnap
tests_check_extsnap_SOURCES = tests/check_extsnap.c \
	tests/check_main.c tests/check_main.h
tests_check_extsnap_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_extsnap_LDADD = $(WD_TEST_LIBS)

# The scanner against real libraries from npm (skips without the registry).
TESTS += tests/scan_libraries.py
EXTRA_DIST += tests/scan_libraries.py

TESTS += tests/extensions_ctl.sh
EXTRA_DIST += tests/extensions_ctl.sh

# The publisher against git repositories made at test time (needs git).
check_PROGRAMS += tests/check_publish
TESTS += tests/check_publish
tests_check_publish_SOURCES = tests/check_publish.c \
	tests/check_main.c tests/check_main.h
tests_check_publish_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_publish_LDADD = $(WD_TEST_LIBS) $(LIBGIT2_LIBS)

# The publisher's benchmark (contrib/bench/publish-bench.c); built by every
# make so that it cannot rot.
noinst_PROGRAMS += contrib/bench/publish-bench
contrib_bench_publish_bench_SOURCES = contrib/bench/publish-bench.c
contrib_bench_publish_bench_LDADD = $(WD_LIBS) $(LIBGIT2_LIBS)
# The issue's figure: a 100-file, 10 MB widget published from real files.
EXTRA_DIST += contrib/bench/publish-bench.sh

dist_man_MANS += man/widgetd-extensions.5

# Fuzz targets (see Makefile.am): the registry validator, the content
# scanner and the entry HTML rewrite.
FUZZ_TARGETS += tests/fuzz/fuzz_extreg tests/fuzz/fuzz_scan \
	tests/fuzz/fuzz_rewrite
tests_fuzz_fuzz_extreg_SOURCES = tests/fuzz/fuzz_extreg.c tests/fuzz/replay.c
tests_fuzz_fuzz_extreg_libfuzzer_SOURCES = tests/fuzz/fuzz_extreg.c
tests_fuzz_fuzz_extreg_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_scan_SOURCES = tests/fuzz/fuzz_scan.c tests/fuzz/replay.c
tests_fuzz_fuzz_scan_libfuzzer_SOURCES = tests/fuzz/fuzz_scan.c
tests_fuzz_fuzz_scan_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_rewrite_SOURCES = tests/fuzz/fuzz_rewrite.c tests/fuzz/replay.c
tests_fuzz_fuzz_rewrite_libfuzzer_SOURCES = tests/fuzz/fuzz_rewrite.c
tests_fuzz_fuzz_rewrite_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# The extensions platform against a real daemon: git repositories made at
# test time, the sandboxed publisher, the workers serving (needs git).
TESTS += tests/integration/ext_publish.py
EXTRA_DIST += tests/integration/ext_publish.py tests/integration/extutil.py

# The publisher's confinement against a real daemon: its credentials,
# system calls run inside it (ptrace, inject.py), hostile repositories.
TESTS += tests/integration/ext_confine.py
EXTRA_DIST += tests/integration/ext_confine.py tests/integration/inject.py

# A published page in headless Chromium: its CSP refuses eval (SKIP
# without Chromium).
TESTS += tests/integration/ext_browser.py
EXTRA_DIST += tests/integration/ext_browser.py

# The extensions group against a real daemon: trusted_cdns in the scan
# and the CSP, publish_bytes, a settings change republishing.
TESTS += tests/integration/ext_settings.py
EXTRA_DIST += tests/integration/ext_settings.py
