# composite fragment (see Makefile.am): composite connectors, run by the
# worker step by step (src/execute.c), each step's plan checked by the
# keeper; the unit cases of those checks are in tests/check_plan.c.

# End to end against mock upstreams and a mock token endpoint: the
# rules and order of the steps, their errors, per-step authentication,
# and issue 14's trace context, retries and client limit per composite.
# tests/integration/confinement.py (it-sec.mk) scans memory after
# composites and every authentication type too.
TESTS += tests/integration/composite_run.py \
	tests/integration/composite_cache.py \
	tests/integration/composite_errors.py \
	tests/integration/composite_auth.py \
	tests/integration/composite_ops.py
EXTRA_DIST += tests/integration/compositeutil.py \
	tests/integration/composite_cache.py \
	tests/integration/composite_run.py \
	tests/integration/composite_errors.py \
	tests/integration/composite_auth.py \
	tests/integration/composite_ops.py
