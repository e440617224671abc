# core fragment (see Makefile.am): process architecture, logging, API.
src_libwidgetd_a_SOURCES += src/log.c src/log.h src/config.h src/ipc.h \
	src/sandbox.h src/widgetctl.h src/chan.c src/chan.h src/proc.c \
	src/proc.h src/snapshot.c src/snapshot.h src/plan.c src/plan.h \
	src/parent.c \
	src/worker.c src/worker.h src/execute.c \
	src/keeper.c src/keeper_auth.c src/keeper_auth.h src/keeper_plan.c \
	src/keeper_plan.h src/keeper_secret.c \
	src/keeper_secret.h src/api.c src/api.h src/spare.h src/fnv.h \
	src/strcopy.h \
	src/idmap.c src/idmap.h src/rowidx.c src/rowidx.h src/decimal.h \
	src/version.c src/version.h

# Integration tests: a real widgetd on 127.0.0.1, driven from python3
# (tests/integration/wdtest.py; see Makefile.am).  Root-only parts exit 77.
CORE_IT = tests/integration/procs.py tests/integration/nonroot.py \
	tests/integration/supervise.py tests/integration/reload.py \
	tests/integration/framing.py tests/integration/options.py \
	tests/integration/lifecycle.py tests/integration/syslog.py \
	tests/integration/frontend.py tests/integration/sched.py
TESTS += $(CORE_IT)
EXTRA_DIST += $(CORE_IT) tests/integration/wdtest.py

dist_man_MANS += man/widgetd.8
EXTRA_DIST += contrib/widgetd.service contrib/bench/idle-conns contrib/bench/run \
	contrib/bench/allocs
# What a switch between two processes costs here, beside two threads:
# contrib/bench/run prints it with its figures.  Built by every make so
# that it cannot rot.
noinst_PROGRAMS += contrib/bench/switch-bench
contrib_bench_switch_bench_SOURCES = contrib/bench/switch-bench.c
# What a request's lookups cost as tenants, connectors and calls in flight
# grow (it should not grow with them).  Built by every make.
noinst_PROGRAMS += contrib/bench/scale-bench
contrib_bench_scale_bench_SOURCES = contrib/bench/scale-bench.c
contrib_bench_scale_bench_LDADD = $(WD_LIBS)

check_PROGRAMS += tests/check_core
TESTS += tests/check_core
tests_check_core_SOURCES = tests/check_core.c \
	tests/check_main.c tests/check_main.h
tests_check_core_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_core_LDADD = $(WD_TEST_LIBS)

# The worker↔keeper call: plans on the wire and the keeper's check of them.
check_PROGRAMS += tests/check_plan
TESTS += tests/check_plan
tests_check_plan_SOURCES = tests/check_plan.c tests/oom.c tests/oom.h \
	tests/check_main.c tests/check_main.h
tests_check_plan_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_plan_LDFLAGS = $(AM_LDFLAGS) $(OOM_WRAP)
tests_check_plan_LDADD = $(WD_TEST_LIBS)
