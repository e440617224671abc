# abuse fragment (see Makefile.am): the front end under abuse (issue 9).
# One connection: header_timeout from accept, encoded separators refused,
# half-closed clients answered, lingering close after an error.
TESTS += tests/integration/abuse_conn.py
EXTRA_DIST += tests/integration/abuse_conn.py
