# auth fragment (see Makefile.am): the keeper's authentication (JWT,
# OAuth tokens, mTLS, SigV4) and its tests.
check_PROGRAMS += tests/check_auth
TESTS += tests/check_auth
tests_check_auth_SOURCES = tests/check_auth.c \
	tests/check_main.c tests/check_main.h
tests_check_auth_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_auth_LDADD = $(WD_TEST_LIBS)

# End to end against a mock token endpoint and upstreams; the verifiers
# are independent: PyJWT, python3-cryptography, botocore.
TESTS += tests/integration/auth_oauth.py tests/integration/auth_jwt.py \
	tests/integration/auth_ext.py
EXTRA_DIST += tests/integration/auth_oauth.py tests/integration/auth_jwt.py \
	tests/integration/auth_ext.py
