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

# Unit tests of the libraries: rates, Retry-After, traceparent, metrics,
# the redis reply, the access log.
check_PROGRAMS += tests/check_ops
TESTS += tests/check_ops
tests_check_ops_SOURCES = tests/check_ops.c tests/oom.c tests/oom.h \
	tests/check_main.c tests/check_main.h
tests_check_ops_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_ops_LDFLAGS = $(AM_LDFLAGS) $(OOM_WRAP)
tests_check_ops_LDADD = $(WD_TEST_LIBS)

# Parsers of untrusted bytes: a peer's traceparent, a redis server's
# replies, a child's MSG_METRICS (see Makefile.am for libFuzzer).
FUZZ_TARGETS += tests/fuzz/fuzz_trace
tests_fuzz_fuzz_trace_SOURCES = tests/fuzz/fuzz_trace.c tests/fuzz/replay.c
tests_fuzz_fuzz_trace_libfuzzer_SOURCES = tests/fuzz/fuzz_trace.c
tests_fuzz_fuzz_trace_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
FUZZ_TARGETS += tests/fuzz/fuzz_redis
tests_fuzz_fuzz_redis_SOURCES = tests/fuzz/fuzz_redis.c tests/fuzz/replay.c
tests_fuzz_fuzz_redis_libfuzzer_SOURCES = tests/fuzz/fuzz_redis.c
tests_fuzz_fuzz_redis_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
FUZZ_TARGETS += tests/fuzz/fuzz_metrics
tests_fuzz_fuzz_metrics_SOURCES = tests/fuzz/fuzz_metrics.c tests/fuzz/replay.c
tests_fuzz_fuzz_metrics_libfuzzer_SOURCES = tests/fuzz/fuzz_metrics.c
tests_fuzz_fuzz_metrics_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# Deployment examples (widgetd(8), DEPLOYMENT) and the soak script.
EXTRA_DIST += contrib/kubernetes/widgetd.yaml contrib/kubernetes/Dockerfile \
	contrib/soak/soak
