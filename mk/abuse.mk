# abuse fragment (see Makefile.am): the front end under abuse (issue 9).
# One connection: header_timeout from accept, encoded separators refused,
# half-closed clients answered, lingering close after an error.
TESTS += tests/integration/abuse_conn.py
EXTRA_DIST += tests/integration/abuse_conn.py

# The parent's admission control: per-address and total connection caps,
# what each worker holds, round-robin dispatch (src/admit.h).
src_libwidgetd_a_SOURCES += src/admit.h src/admit.c
check_PROGRAMS += tests/check_admit
TESTS += tests/check_admit
tests_check_admit_SOURCES = tests/check_admit.c \
	tests/check_main.c tests/check_main.h
tests_check_admit_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_admit_LDADD = $(WD_TEST_LIBS)
# Caps per address and in total, logged when they bite; recycling.
TESTS += tests/integration/abuse_admit.py
EXTRA_DIST += tests/integration/abuse_admit.py
# Routed before the body; the per-worker body budget; lingering after.
TESTS += tests/integration/abuse_body.py
EXTRA_DIST += tests/integration/abuse_body.py
# Not a test: a silent-connection flood with a steady client beside it;
# prints the steady client's success rate and latency percentiles.
EXTRA_DIST += contrib/bench/silent-flood
# With the metrics listener and the later routes: a scrape is a numbered
# connection; SDK, extension and metrics paths never read a body.
TESTS += tests/integration/abuse_ops.py
EXTRA_DIST += tests/integration/abuse_ops.py tests/integration/abuseutil.py
