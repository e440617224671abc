# store fragment (see Makefile.am): the secrets and variables store and
# widgetctl's secret and variable commands.
src_libwidgetd_a_SOURCES += src/store.c src/store.h src/ctl_store.c

check_PROGRAMS += tests/check_store
TESTS += tests/check_store
tests_check_store_SOURCES = tests/check_store.c \
	tests/check_main.c tests/check_main.h
tests_check_store_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_store_LDADD = $(WD_TEST_LIBS)

# widgetctl secret/variable end to end (no daemon needed).
TESTS += tests/integration/ctl_store
EXTRA_DIST += tests/integration/ctl_store tests/integration/ctl_store.py
