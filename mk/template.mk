# template fragment (see Makefile.am): the engine, widgetctl render, tests
src_template_libwtemplate_a_SOURCES += src/template/template.h \
	src/template/tmpl_int.h src/template/eval_int.h src/template/names.c \
	src/template/util.c src/template/builtins.c \
	src/template/lexer.c src/template/parser.c src/template/analyze.c \
	src/template/value.c src/template/strings.c src/template/json.c \
	src/template/json_parse.c \
	src/template/secret.c src/template/compile.c src/template/eval.c \
	src/template/expr.c src/template/ops.c \
	src/template/lookup.c src/template/stmt.c src/template/functions.c \
	src/template/str_methods.c \
	src/template/filters.c src/template/filter_str.c \
	src/template/filter_seq.c src/template/filter_num.c \
	src/template/filter_json.c src/template/pprint.c \
	src/template/tests.c src/template/format.c src/template/jwt.c \
	src/template/urlize.c src/template/entities.c \
	src/template/template.c
src_libwidgetd_a_SOURCES += src/ctl_render.c

check_PROGRAMS += tests/check_template
TESTS += tests/check_template
tests_check_template_SOURCES = tests/check_template.c \
	tests/check_main.c tests/check_main.h
tests_check_template_CFLAGS = $(WD_TEST_CFLAGS)
tests_check_template_LDADD = $(WD_TEST_LIBS)

# Fuzz target: compile, analyse, render, secret trees (see Makefile.am).
FUZZ_TARGETS += tests/fuzz/fuzz_template
tests_fuzz_fuzz_template_SOURCES = tests/fuzz/fuzz_template.c tests/fuzz/replay.c
tests_fuzz_fuzz_template_libfuzzer_SOURCES = tests/fuzz/fuzz_template.c
tests_fuzz_fuzz_template_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# widgetctl render end to end (options, secrets shown as literals, errors)
TESTS += tests/ctl_render.sh
EXTRA_DIST += tests/ctl_render.sh

# Fuzz target: from_json's parser, counted against arena (json_parse.c).
FUZZ_TARGETS += tests/fuzz/fuzz_json
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c tests/fuzz/replay.c
tests_fuzz_fuzz_json_libfuzzer_SOURCES = tests/fuzz/fuzz_json.c
tests_fuzz_fuzz_json_libfuzzer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
