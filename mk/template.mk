# template fragment (see Makefile.am): the engine, widgetctl render, tests
src_template_libwtemplate_a_SOURCES += src/template/template.h \
	src/template/tmpl_int.h src/template/util.c src/template/builtins.c \
	src/template/lexer.c src/template/parser.c src/template/analyze.c \
	src/template/value.c src/template/strings.c src/template/json.c \
	src/template/secret.c src/template/eval.c src/template/functions.c \
	src/template/filters.c src/template/format.c src/template/jwt.c \
	src/template/template.c
src_libwidgetd_a_SOURCES += src/ctl_render.c
