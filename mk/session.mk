# session fragment (see Makefile.am): session tokens and CSRF (SPEC §5)
src_libwidgetd_a_SOURCES += src/session.h src/session.c

check_PROGRAMS += tests/check_session
TESTS += tests/check_session
tests_check_session_SOURCES = tests/check_session.c \
	tests/check_main.c tests/check_main.h
tests_check_session_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_session_LDADD = $(WD_TEST_LIBS)

# The cross-check: tokens signed by Debian's PyJWT (python3-jwt with
# python3-cryptography) verified by session.c through session-verify.
check_PROGRAMS += tests/session-verify
tests_session_verify_SOURCES = tests/session_verify.c
tests_session_verify_LDADD = $(WD_LIBS)
TESTS += tests/session_pyjwt.py
EXTRA_DIST += tests/session_pyjwt.py

# Cookie, header and token parsing: the corpus replays in make check; see
# Makefile.am for running it under libFuzzer.
FUZZ_TARGETS += tests/fuzz/fuzz_session
tests_fuzz_fuzz_session_SOURCES = tests/fuzz/fuzz_session.c tests/fuzz/replay.c
tests_fuzz_fuzz_session_libfuzzer_SOURCES = tests/fuzz/fuzz_session.c
tests_fuzz_fuzz_session_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
