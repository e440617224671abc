# ipc fragment (see Makefile.am): frames and fd passing between the
# processes, and the per-role sandbox (privilege drop, seccomp).
src_libwidgetd_a_SOURCES += src/ipc.c src/sandbox.c

check_PROGRAMS += tests/check_ipc
TESTS += tests/check_ipc
tests_check_ipc_SOURCES = tests/check_ipc.c tests/oom.c tests/oom.h \
	tests/check_main.c tests/check_main.h
tests_check_ipc_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_ipc_LDFLAGS = $(AM_LDFLAGS) $(OOM_WRAP)
tests_check_ipc_LDADD = $(WD_TEST_LIBS)
# Death tests: children install a filter and must die with SIGSYS.
check_PROGRAMS += tests/check_sandbox
TESTS += tests/check_sandbox
tests_check_sandbox_SOURCES = tests/check_sandbox.c \
	tests/check_main.c tests/check_main.h
tests_check_sandbox_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_sandbox_LDADD = $(WD_TEST_LIBS)

# Fuzz target: a channel reading a hostile peer's bytes (see Makefile.am).
FUZZ_TARGETS += tests/fuzz/fuzz_ipc
tests_fuzz_fuzz_ipc_SOURCES = tests/fuzz/fuzz_ipc.c tests/fuzz/replay.c
tests_fuzz_fuzz_ipc_libfuzzer_SOURCES = tests/fuzz/fuzz_ipc.c
tests_fuzz_fuzz_ipc_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
