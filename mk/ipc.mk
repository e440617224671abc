# ipc fragment (see Makefile.am): frames and fd passing between the
# processes, and the per-role sandbox (privilege drop, seccomp).
src_libwidgetd_a_SOURCES += src/ipc.c src/sandbox.c

check_PROGRAMS += tests/check_ipc
TESTS += tests/check_ipc
tests_check_ipc_SOURCES = tests/check_ipc.c \
	tests/check_main.c tests/check_main.h
tests_check_ipc_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_ipc_LDADD = $(WD_TEST_LIBS)
# Death tests: children install a filter and must die with SIGSYS.
check_PROGRAMS += tests/check_sandbox
TESTS += tests/check_sandbox
tests_check_sandbox_SOURCES = tests/check_sandbox.c \
	tests/check_main.c tests/check_main.h
tests_check_sandbox_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_sandbox_LDADD = $(WD_TEST_LIBS)

# The channel's fuzz target: as a plain program main() replays the seed
# corpus (make check); with --enable-fuzzing (CC=clang) it is also built
# as a libFuzzer binary with ipc.c compiled in for coverage:
#   mkdir -p /tmp/corpus && tests/fuzz/fuzz_ipc_libfuzzer -max_len=4096 \
#	/tmp/corpus $srcdir/tests/fuzz/corpus/ipc
check_PROGRAMS += tests/fuzz/fuzz_ipc
TESTS += tests/fuzz/fuzz_ipc
tests_fuzz_fuzz_ipc_SOURCES = tests/fuzz/fuzz_ipc.c
tests_fuzz_fuzz_ipc_LDADD = $(WD_LIBS)
EXTRA_DIST += tests/fuzz/corpus/ipc

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_ipc_libfuzzer
tests_fuzz_fuzz_ipc_libfuzzer_SOURCES = tests/fuzz/fuzz_ipc.c src/ipc.c
tests_fuzz_fuzz_ipc_libfuzzer_CFLAGS = $(AM_CFLAGS) -DWD_LIBFUZZER \
	-fsanitize=fuzzer
tests_fuzz_fuzz_ipc_libfuzzer_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
endif
