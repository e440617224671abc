# it-sec fragment (see Makefile.am): integration tests of the request path
# Security properties of the whole daemon, each able to fail (root parts
# exit 77 without root): secrets only in the keeper's memory.
TESTS += tests/integration/confinement.py
EXTRA_DIST += tests/integration/confinement.py
# The SSRF table through the daemon, in a private network namespace.
TESTS += tests/integration/ssrf.py
EXTRA_DIST += tests/integration/ssrf.py
# CR, LF, NUL from a browser: refused in every place it can enter a call.
TESTS += tests/integration/crlf.py
EXTRA_DIST += tests/integration/crlf.py
# Redirects never followed; HTTPS against a CA made at test time.
TESTS += tests/integration/redirects.py
EXTRA_DIST += tests/integration/redirects.py
TESTS += tests/integration/tls.py
EXTRA_DIST += tests/integration/tls.py
# What crosses between browser and upstream is chosen (SPEC 7).
TESTS += tests/integration/crossing.py
EXTRA_DIST += tests/integration/crossing.py
# Session tokens signed as a host application signs them (python3-jwt).
EXTRA_DIST += tests/integration/sessions.py
# The mock upstreams these tests use (no other fragment distributes it
# yet; a second listing is harmless, automake sorts the list unique).
EXTRA_DIST += tests/integration/upstream.py
