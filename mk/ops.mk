# ops fragment (see Makefile.am): metrics, limits, retries, trace context,
# the access log's forms, the shared redis, scale-out (issue 14)
src_libwidgetd_a_SOURCES += src/metrics.h src/metrics.c \
	src/proc_metrics.c src/worker_metrics.c
src_libwidgetd_a_SOURCES += src/ratelimit.h src/ratelimit.c
src_libwidgetd_a_SOURCES += src/keeper_limit.h src/keeper_limit.c \
	src/keeper_redis.h src/keeper_redis.c
src_libwidgetd_a_SOURCES += src/trace.h src/trace.c
src_libwidgetd_a_SOURCES += src/worker_ops.c
src_libwidgetd_a_SOURCES += src/accesslog.h src/accesslog.c

# Integration tests.
TESTS += tests/integration/ops_metrics.py tests/integration/ops_limits.py \
	tests/integration/ops_trace.py tests/integration/ops_scaleout.py
EXTRA_DIST += tests/integration/ops_metrics.py tests/integration/promtext.py \
	tests/integration/ops_limits.py tests/integration/ops_trace.py \
	tests/integration/ops_scaleout.py contrib/haproxy/haproxy.cfg
