# abuse-ch fragment (see Makefile.am): issue 9's channels, logs and
# filters.  A worker that misbehaves on purpose (MSG_TEST_ABUSE, only with
# WIDGETD_TEST_HOOKS=1) so that tests can show the limits hold.
src_libwidgetd_a_SOURCES += src/worker_test.c
# The parent's cleaning and rate limit of children's log lines.
check_PROGRAMS += tests/check_log
TESTS += tests/check_log
tests_check_log_SOURCES = tests/check_log.c \
	tests/check_main.c tests/check_main.h
tests_check_log_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_log_LDADD = $(WD_TEST_LIBS)
# Children's fds 0-2, forged and flooded log lines, a ping flood evicted,
# workers not dumpable: against a real daemon.
TESTS += tests/integration/abuse_channels.py
EXTRA_DIST += tests/integration/abuse_channels.py
# The parent's cleaning of a child's line, over any bytes.
FUZZ_TARGETS += tests/fuzz/fuzz_logline
tests_fuzz_fuzz_logline_SOURCES = tests/fuzz/fuzz_logline.c tests/fuzz/replay.c
tests_fuzz_fuzz_logline_libfuzzer_SOURCES = tests/fuzz/fuzz_logline.c
tests_fuzz_fuzz_logline_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
