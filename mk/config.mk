# config fragment (see Makefile.am): widgetd.conf parsing and the egress
# network policy.
src_libwidgetd_a_SOURCES += src/config.c src/netpolicy.c src/netpolicy.h

check_PROGRAMS += tests/check_netpolicy tests/check_config
TESTS += tests/check_netpolicy tests/check_config
tests_check_netpolicy_SOURCES = tests/check_netpolicy.c \
	tests/check_main.c tests/check_main.h
tests_check_netpolicy_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_netpolicy_LDADD = $(WD_TEST_LIBS)
tests_check_config_SOURCES = tests/check_config.c \
	tests/check_main.c tests/check_main.h
tests_check_config_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_config_LDADD = $(WD_TEST_LIBS)

dist_man_MANS += man/widgetd.conf.5
EXTRA_DIST += etc/widgetd.conf

# Fuzz target: the config reader and netpolicy's parsers (see Makefile.am).
FUZZ_TARGETS += tests/fuzz/fuzz_config
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/replay.c
tests_fuzz_fuzz_config_libfuzzer_SOURCES = tests/fuzz/fuzz_config.c
tests_fuzz_fuzz_config_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
