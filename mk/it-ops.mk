# it-ops fragment (see Makefile.am): integration tests of the request path
# in operation: reloads under load, configuration snapshots, keepers, the
# control socket.  Parts that need root are skipped without it.
OPS_IT = tests/integration/reload_stream.py tests/integration/snapshot.py \
	tests/integration/keepers.py tests/integration/control.py \
	tests/integration/control_waits.py
TESTS += $(OPS_IT)
EXTRA_DIST += $(OPS_IT)
