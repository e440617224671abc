# http fragment (see Makefile.am)
src_libwidgetd_a_SOURCES += src/http.h src/http.c

check_PROGRAMS += tests/check_http
TESTS += tests/check_http
tests_check_http_SOURCES = tests/check_http.c \
	tests/check_main.c tests/check_main.h
tests_check_http_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_http_LDADD = $(WD_TEST_LIBS)

# The parser's fuzz target.  As a plain program its main() replays the
# seed corpus (make check); with --enable-fuzzing (CC=clang) it is also
# built as a libFuzzer binary, compiling http.c itself with coverage so
# the fuzzer can steer through the scanner.  Run it as:
#   mkdir -p /tmp/corpus && tests/fuzz/fuzz_http_libfuzzer \
#	-dict=$srcdir/tests/fuzz/http.dict -max_len=4096 \
#	/tmp/corpus $srcdir/tests/fuzz/corpus/http
check_PROGRAMS += tests/fuzz/fuzz_http
TESTS += tests/fuzz/fuzz_http
tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz_http.c
tests_fuzz_fuzz_http_LDADD = $(WD_LIBS)
EXTRA_DIST += tests/fuzz/corpus/http tests/fuzz/http.dict

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_http_libfuzzer
tests_fuzz_fuzz_http_libfuzzer_SOURCES = tests/fuzz/fuzz_http.c src/http.c
tests_fuzz_fuzz_http_libfuzzer_CFLAGS = $(AM_CFLAGS) -DWD_LIBFUZZER \
	-fsanitize=fuzzer
tests_fuzz_fuzz_http_libfuzzer_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_http_libfuzzer_LDADD = $(LIBEVENT_LIBS) $(HTTP_PARSER_LIBS)
endif
