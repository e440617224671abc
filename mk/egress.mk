# egress fragment (see Makefile.am)
# The keeper's upstream calls (libcurl multi on libevent, the egress
# policy at connect time) and the redaction of secret-derived bytes.
src_libwidgetd_a_SOURCES += src/keeper_egress.c src/keeper_egress.h \
	src/keeper_h1.c src/keeper_h1.h \
	src/keeper_poll.c src/keeper_poll.h \
	src/keeper_redact.c src/keeper_redact.h

check_PROGRAMS += tests/check_redact
TESTS += tests/check_redact
tests_check_redact_SOURCES = tests/check_redact.c tests/oom.c tests/oom.h \
	tests/check_main.c tests/check_main.h
tests_check_redact_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_redact_LDFLAGS = $(AM_LDFLAGS) $(OOM_WRAP)
tests_check_redact_LDADD = $(WD_TEST_LIBS)

# One call (or a few) through keeper_egress.c from the command line, its
# result as JSON: the integration test drives it against real servers.
check_PROGRAMS += tests/egress_driver
tests_egress_driver_SOURCES = tests/egress_driver.c
tests_egress_driver_LDADD = $(WD_LIBS)

check_PROGRAMS += tests/check_h1
TESTS += tests/check_h1
tests_check_h1_SOURCES = tests/check_h1.c tests/fuzz/h1_diff.c \
	tests/fuzz/h1_diff.h tests/oom.c tests/oom.h \
	tests/check_main.c tests/check_main.h
tests_check_h1_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_h1_LDFLAGS = $(AM_LDFLAGS) $(OOM_WRAP)
tests_check_h1_LDADD = $(WD_TEST_LIBS)

check_PROGRAMS += tests/check_egress
TESTS += tests/check_egress
tests_check_egress_SOURCES = tests/check_egress.c tests/oom.c tests/oom.h \
	tests/check_main.c tests/check_main.h
tests_check_egress_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_egress_LDFLAGS = $(AM_LDFLAGS) $(OOM_WRAP)
tests_check_egress_LDADD = $(WD_TEST_LIBS)

# Fuzz target for the redaction automaton: make check replays
# tests/fuzz/corpus/redact (Makefile.am, "A fuzz target").
FUZZ_TARGETS += tests/fuzz/fuzz_redact
tests_fuzz_fuzz_redact_SOURCES = tests/fuzz/fuzz_redact.c tests/fuzz/replay.c
tests_fuzz_fuzz_redact_libfuzzer_SOURCES = tests/fuzz/fuzz_redact.c
tests_fuzz_fuzz_redact_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# Real servers, TLS with a CA made at test time, the SSRF table in a
# private network namespace (that part needs root and is skipped without).
TESTS += tests/integration/egress
EXTRA_DIST += tests/integration/egress tests/integration/egress.py

# Fuzz target for the keeper's own HTTP/1.1 response reader.
FUZZ_TARGETS += tests/fuzz/fuzz_h1
tests_fuzz_fuzz_h1_SOURCES = tests/fuzz/fuzz_h1.c tests/fuzz/h1_diff.c \
	tests/fuzz/h1_diff.h tests/fuzz/replay.c
tests_fuzz_fuzz_h1_libfuzzer_SOURCES = tests/fuzz/fuzz_h1.c \
	tests/fuzz/h1_diff.c tests/fuzz/h1_diff.h
tests_fuzz_fuzz_h1_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
