# core fragment (see Makefile.am): process architecture, logging, API.
src_libwidgetd_a_SOURCES += src/log.c src/log.h src/config.h src/ipc.h src/sandbox.h src/widgetctl.h \
	src/chan.c src/chan.h src/proc.c src/proc.h src/parent.c src/worker.c \
	src/keeper.c src/api.c src/api.h
