# connector fragment (see Makefile.am): the connector model, the registry
# and Code Mode loader, widgetctl check, examples and their tests.
src_libwidgetd_a_SOURCES += src/connector.h src/connector.c src/registry.h \
	src/registry.c src/jsonpos.h src/jsonpos.c src/ctl_check.c

check_PROGRAMS += tests/check_connector
TESTS += tests/check_connector
tests_check_connector_SOURCES = tests/check_connector.c \
	tests/check_main.c tests/check_main.h
tests_check_connector_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_connector_LDADD = $(WD_TEST_LIBS)

# Fuzz target: the registry and Code Mode loader (see Makefile.am).
FUZZ_TARGETS += tests/fuzz/fuzz_registry
tests_fuzz_fuzz_registry_SOURCES = tests/fuzz/fuzz_registry.c tests/fuzz/replay.c
tests_fuzz_fuzz_registry_libfuzzer_SOURCES = tests/fuzz/fuzz_registry.c
tests_fuzz_fuzz_registry_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

TESTS += tests/widgetctl_check.sh
EXTRA_DIST += tests/widgetctl_check.sh contrib/examples \
	etc/connectors_registry.json
dist_man_MANS += man/widgetd-connectors.5
