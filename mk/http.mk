# http fragment (see Makefile.am)
src_libwidgetd_a_SOURCES += src/http.h src/http.c
