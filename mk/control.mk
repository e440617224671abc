# control fragment (see Makefile.am): the control socket (the parent's
# end, control.c) and widgetctl's commands that talk to the running daemon
# (ctl_daemon.c), their tests and fuzz target.
src_libwidgetd_a_SOURCES += src/control.h src/control.c src/ctl_daemon.c
