# config fragment (see Makefile.am): widgetd.conf parsing and the egress
# network policy.
src_libwidgetd_a_SOURCES += src/netpolicy.c src/netpolicy.h

check_PROGRAMS += tests/check_netpolicy
TESTS += tests/check_netpolicy
tests_check_netpolicy_SOURCES = tests/check_netpolicy.c
tests_check_netpolicy_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_netpolicy_LDADD = $(WD_TEST_LIBS)
