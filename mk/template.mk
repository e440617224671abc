# template fragment (see Makefile.am)
src_template_libwtemplate_a_SOURCES += src/template/template.h src/template/placeholder.c
src_libwidgetd_a_SOURCES += src/ctl_render.c
