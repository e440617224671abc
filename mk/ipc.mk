# ipc fragment (see Makefile.am): frames and fd passing between the
# processes, and the per-role sandbox (privilege drop, seccomp).
src_libwidgetd_a_SOURCES += src/ipc.c src/sandbox.c

check_PROGRAMS += tests/check_ipc
TESTS += tests/check_ipc
tests_check_ipc_SOURCES = tests/check_ipc.c
tests_check_ipc_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_ipc_LDADD = $(WD_TEST_LIBS)
