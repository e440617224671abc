# session fragment (see Makefile.am): session tokens and CSRF (SPEC §5)
src_libwidgetd_a_SOURCES += src/session.h src/session.c

check_PROGRAMS += tests/check_session
TESTS += tests/check_session
tests_check_session_SOURCES = tests/check_session.c \
	tests/check_main.c tests/check_main.h
tests_check_session_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_session_LDADD = $(WD_TEST_LIBS)
