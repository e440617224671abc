# connector fragment (see Makefile.am): the connector model, the registry
# and Code Mode loader, widgetctl check, examples and their tests.
src_libwidgetd_a_SOURCES += src/connector.h src/connector.c src/registry.h \
	src/registry.c src/jsonpos.h src/jsonpos.c src/ctl_check.c

check_PROGRAMS += tests/check_connector tests/fuzz/replay_registry
TESTS += tests/check_connector tests/fuzz/replay_registry
tests_check_connector_SOURCES = tests/check_connector.c \
	tests/check_main.c tests/check_main.h
tests_check_connector_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_connector_LDADD = $(WD_TEST_LIBS)
# The fuzz target's own main() replays the seed corpus in make check.
tests_fuzz_replay_registry_SOURCES = tests/fuzz/fuzz_registry.c
tests_fuzz_replay_registry_LDADD = $(WD_LIBS)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_registry
tests_fuzz_fuzz_registry_SOURCES = tests/fuzz/fuzz_registry.c
tests_fuzz_fuzz_registry_CFLAGS = $(AM_CFLAGS) -DFUZZING_BUILD -fsanitize=fuzzer
tests_fuzz_fuzz_registry_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_registry_LDADD = $(WD_LIBS)
endif

TESTS += tests/widgetctl_check.sh
EXTRA_DIST += tests/widgetctl_check.sh tests/fuzz/corpus/registry \
	contrib/examples etc/connectors_registry.json
dist_man_MANS += man/widgetd-connectors.5
