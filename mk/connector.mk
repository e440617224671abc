# connector fragment (see Makefile.am)
src_libwidgetd_a_SOURCES += src/connector.h src/netpolicy.h src/ctl_check.c
