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

# Fuzz target for the config reader and netpolicy's parsers.  The replay
# build runs the seed corpus in make check; --enable-fuzzing (CC=clang)
# also builds the libFuzzer binary.
check_PROGRAMS += fuzz/fuzz_config
TESTS += fuzz/fuzz_config
fuzz_fuzz_config_SOURCES = fuzz/fuzz_config.c
fuzz_fuzz_config_LDADD = $(WD_LIBS)
EXTRA_DIST += fuzz/corpus/config/sample.conf fuzz/corpus/config/full.conf \
	fuzz/corpus/config/bad.conf fuzz/corpus/config/syntax.conf \
	fuzz/corpus/config/numbers.conf fuzz/corpus/config/host_hex \
	fuzz/corpus/config/host_mapped fuzz/corpus/config/net4 \
	fuzz/corpus/config/net6
if ENABLE_FUZZING
noinst_PROGRAMS += fuzz/fuzz_config_libfuzzer
fuzz_fuzz_config_libfuzzer_SOURCES = fuzz/fuzz_config.c
fuzz_fuzz_config_libfuzzer_CFLAGS = $(AM_CFLAGS) -DFUZZ_LIBFUZZER \
	-fsanitize=fuzzer
fuzz_fuzz_config_libfuzzer_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
fuzz_fuzz_config_libfuzzer_LDADD = $(WD_LIBS)
endif
