# egress fragment (see Makefile.am)
# The keeper's upstream calls (libcurl multi on libevent, the egress
# policy at connect time) and the redaction of secret-derived bytes.
src_libwidgetd_a_SOURCES += src/keeper_redact.c src/keeper_redact.h

check_PROGRAMS += tests/check_redact
TESTS += tests/check_redact
tests_check_redact_SOURCES = tests/check_redact.c \
	tests/check_main.c tests/check_main.h
tests_check_redact_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_redact_LDADD = $(WD_TEST_LIBS)
