# core fragment (see Makefile.am)
src_libwidgetd_a_SOURCES += src/log.c src/log.h src/config.h src/ipc.h src/sandbox.h src/widgetctl.h
