# cache fragment (see Makefile.am): the worker's HTTP response cache
# (SPEC §7, §9; issue 11) and the header parsers it shares with the
# keeper's check of validators.
src_libwidgetd_a_SOURCES += src/cache.c src/cache.h src/cachehdr.c \
	src/cachehdr.h

check_PROGRAMS += tests/check_cache
TESTS += tests/check_cache
tests_check_cache_SOURCES = tests/check_cache.c tests/oom.c tests/oom.h \
	tests/check_main.c tests/check_main.h
tests_check_cache_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_cache_LDFLAGS = $(AM_LDFLAGS) $(OOM_WRAP)
tests_check_cache_LDADD = $(WD_TEST_LIBS)

# The header parsers: the corpus replays in make check; see Makefile.am for
# running it under libFuzzer.
FUZZ_TARGETS += tests/fuzz/fuzz_cachehdr
tests_fuzz_fuzz_cachehdr_SOURCES = tests/fuzz/fuzz_cachehdr.c \
	tests/fuzz/replay.c
tests_fuzz_fuzz_cachehdr_libfuzzer_SOURCES = tests/fuzz/fuzz_cachehdr.c
tests_fuzz_fuzz_cachehdr_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# Against a counting upstream (tests/integration/upstream.py), each bullet
# of issue 11's "Must show"; cacheutil.py reads what the answers say.
CACHE_IT = tests/integration/cache_headers.py \
	tests/integration/cache_users.py tests/integration/cache_revalidate.py \
	tests/integration/cache_collapse.py tests/integration/cache_stale.py \
	tests/integration/cache_invalidate.py tests/integration/cache_memory.py
TESTS += $(CACHE_IT)
EXTRA_DIST += $(CACHE_IT) tests/integration/cacheutil.py

# S2, S3 and S5 against nginx's proxy_cache: a benchmark, not a test; it
# runs on contrib/bench/run's machinery.
EXTRA_DIST += contrib/bench/cache
