# it-ops fragment (see Makefile.am): integration tests of the request path
# in operation: reloads under load, configuration snapshots, keepers, the
# control socket.  Root-only parts exit 77.
OPS_IT = tests/integration/reload_stream.py tests/integration/snapshot.py \
	tests/integration/keepers.py tests/integration/control.py
TESTS += $(OPS_IT)
EXTRA_DIST += $(OPS_IT) tests/integration/upstream.py
