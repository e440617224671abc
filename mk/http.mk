# http fragment (see Makefile.am)
src_libwidgetd_a_SOURCES += src/http.h src/http.c

check_PROGRAMS += tests/check_http
TESTS += tests/check_http
tests_check_http_SOURCES = tests/check_http.c
tests_check_http_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_http_LDADD = $(WD_TEST_LIBS)
