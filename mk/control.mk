# control fragment (see Makefile.am): the control socket (the parent's
# end, control.c) and widgetctl's commands that talk to the running daemon
# (ctl_daemon.c), their tests and fuzz target.
src_libwidgetd_a_SOURCES += src/control.h src/control.c src/ctl_daemon.c

check_PROGRAMS += tests/check_control
TESTS += tests/check_control
tests_check_control_SOURCES = tests/check_control.c \
	tests/check_main.c tests/check_main.h
tests_check_control_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_control_LDADD = $(WD_TEST_LIBS)

# widgetctl reload/status/stop against a fake daemon socket (python3).
TESTS += tests/integration/ctl.py
EXTRA_DIST += tests/integration/ctl.py

# The request line's parser: the corpus replays in make check.
FUZZ_TARGETS += tests/fuzz/fuzz_control
tests_fuzz_fuzz_control_SOURCES = tests/fuzz/fuzz_control.c tests/fuzz/replay.c
tests_fuzz_fuzz_control_libfuzzer_SOURCES = tests/fuzz/fuzz_control.c
tests_fuzz_fuzz_control_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

