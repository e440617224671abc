# sdk fragment (see Makefile.am): the Widget SDK (contrib/sdk/), served by
# the worker from memory (sdk_assets.c), CORS per tenant (cors.c), test
# mode (testmode.c, parent_test.c, keeper_test.c, ctl_test.c) and their
# tests: Check units, node --test for the SDK's pure parts, tsc for its
# declarations, and headless Chromium against a real daemon.

# The two builds of the SDK: one hand-written body, two wrappers (cat).
SDK_SRC = $(srcdir)/contrib/sdk/src/sdk.js
SDK_BUILT = contrib/sdk/widget-sdk.js contrib/sdk/widget-sdk.mjs
contrib/sdk/widget-sdk.js: $(SDK_SRC) $(srcdir)/contrib/sdk/src/umd-head.js \
	    $(srcdir)/contrib/sdk/src/umd-tail.js
	@$(MKDIR_P) contrib/sdk
	$(AM_V_GEN)cat $(srcdir)/contrib/sdk/src/umd-head.js $(SDK_SRC) \
	    $(srcdir)/contrib/sdk/src/umd-tail.js >$@.tmp && mv $@.tmp $@
contrib/sdk/widget-sdk.mjs: $(SDK_SRC) $(srcdir)/contrib/sdk/src/esm-head.js \
	    $(srcdir)/contrib/sdk/src/esm-tail.js
	@$(MKDIR_P) contrib/sdk
	$(AM_V_GEN)cat $(srcdir)/contrib/sdk/src/esm-head.js $(SDK_SRC) \
	    $(srcdir)/contrib/sdk/src/esm-tail.js >$@.tmp && mv $@.tmp $@

# The files the worker serves, compiled in: the worker cannot open any.
src/sdk_data.c: $(SDK_BUILT) $(srcdir)/contrib/sdk/widget-sdk.d.ts \
	    $(srcdir)/contrib/sdk/embed.sh
	@$(MKDIR_P) src
	$(AM_V_GEN)$(SHELL) $(srcdir)/contrib/sdk/embed.sh $@ \
	    'widget-sdk.js=contrib/sdk/widget-sdk.js:text/javascript; charset=utf-8' \
	    'widget-sdk.mjs=contrib/sdk/widget-sdk.mjs:text/javascript; charset=utf-8' \
	    'widget-sdk.d.ts=$(srcdir)/contrib/sdk/widget-sdk.d.ts:application/typescript; charset=utf-8'
BUILT_SOURCES += src/sdk_data.c
CLEANFILES += src/sdk_data.c $(SDK_BUILT)
nodist_src_libwidgetd_a_SOURCES = src/sdk_data.c
src_libwidgetd_a_SOURCES += src/cors.h src/cors.c \
	src/sdk_assets.h src/sdk_assets.c
EXTRA_DIST += contrib/sdk/embed.sh contrib/sdk/widget-sdk.d.ts \
	contrib/sdk/src contrib/sdk/test

check_PROGRAMS += tests/check_cors
TESTS += tests/check_cors
tests_check_cors_SOURCES = tests/check_cors.c \
	tests/check_main.c tests/check_main.h
tests_check_cors_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_cors_LDADD = $(WD_TEST_LIBS)

# The SDK's pure parts under node's own test runner; its declarations
# under tsc (Debian's nodejs and node-typescript; SKIP without them).
TESTS += tests/sdk_node.sh tests/sdk_types.sh
EXTRA_DIST += tests/sdk_node.sh tests/sdk_types.sh

# In a real browser (headless Chromium over the DevTools protocol, cdp.py;
# SKIP without Chromium), and CORS and the SDK's files on the wire.
TESTS += tests/integration/sdk_browser.py tests/integration/api_cors.py
EXTRA_DIST += tests/integration/sdk_browser.py tests/integration/cdp.py \
	tests/integration/api_cors.py

# Test mode: the messages (testmsg.c), the keeper's unsaved definitions
# (keeper_test.c), the worker's run (testmode.c), the parent's relay
# (parent_test.c), the control socket's HTTP form (control_http.c) and
# widgetctl test (ctl_test.c).
src_libwidgetd_a_SOURCES += src/testmsg.h src/testmsg.c \
	src/keeper_test.h src/keeper_test.c src/testmode.h src/testmode.c \
	src/parent_test.h src/parent_test.c src/control_http.h \
	src/control_http.c src/ctl_test.c
TESTS += tests/integration/testmode.py
EXTRA_DIST += tests/integration/testmode.py

# The new parsers: the control socket's HTTP form, test mode's messages.
FUZZ_TARGETS += tests/fuzz/fuzz_control_http
tests_fuzz_fuzz_control_http_SOURCES = tests/fuzz/fuzz_control_http.c \
	tests/fuzz/replay.c
tests_fuzz_fuzz_control_http_libfuzzer_SOURCES = \
	tests/fuzz/fuzz_control_http.c
tests_fuzz_fuzz_control_http_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
FUZZ_TARGETS += tests/fuzz/fuzz_testmsg
tests_fuzz_fuzz_testmsg_SOURCES = tests/fuzz/fuzz_testmsg.c tests/fuzz/replay.c
tests_fuzz_fuzz_testmsg_libfuzzer_SOURCES = tests/fuzz/fuzz_testmsg.c
tests_fuzz_fuzz_testmsg_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# Units of test mode's pieces that need no daemon.
check_PROGRAMS += tests/check_testmode
TESTS += tests/check_testmode
tests_check_testmode_SOURCES = tests/check_testmode.c \
	tests/check_main.c tests/check_main.h
tests_check_testmode_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_testmode_LDADD = $(WD_TEST_LIBS)

# The example widget page of the README's quick start, in Chromium.
TESTS += tests/integration/sdk_example.py
EXTRA_DIST += tests/integration/sdk_example.py contrib/widget-example
