# template fragment (see Makefile.am): the engine, widgetctl render, tests
src_template_libwtemplate_a_SOURCES += src/template/template.h \
	src/template/tmpl_int.h src/template/util.c src/template/builtins.c \
	src/template/lexer.c src/template/parser.c src/template/analyze.c \
	src/template/value.c src/template/secret.c src/template/eval.c \
	src/template/template.c
src_libwidgetd_a_SOURCES += src/ctl_render.c
