# http fragment (see Makefile.am)
src_libwidgetd_a_SOURCES += src/http.h src/http.c src/token.h

check_PROGRAMS += tests/check_http
TESTS += tests/check_http
tests_check_http_SOURCES = tests/check_http.c \
	tests/check_main.c tests/check_main.h
tests_check_http_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_http_LDADD = $(WD_TEST_LIBS)

# Fuzz target: the request parser (see Makefile.am).  Its dictionary helps
# libFuzzer through the scanner: add -dict=$srcdir/tests/fuzz/http.dict.
FUZZ_TARGETS += tests/fuzz/fuzz_http
tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz_http.c tests/fuzz/replay.c
tests_fuzz_fuzz_http_libfuzzer_SOURCES = tests/fuzz/fuzz_http.c
tests_fuzz_fuzz_http_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
EXTRA_DIST += tests/fuzz/http.dict
