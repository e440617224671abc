/*
 * check_template.c — unit tests of the template engine: the value model,
 * lexer and parser errors with line:col, rendering semantics, the sandbox
 * limits, symbolic secret trees and their rejections, and the validation
 * matrix per field kind.
 */
#include "build.h"

#include "check_main.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "keeper_secret.h"
#include "template/template.h"

/* --- helpers ------------------------------------------------------------- */

static struct tmpl_error	 terr;

static struct tval *
ctx_from(const char *json)
{
	struct json_object	*j;
	struct tval		*v;

	if (json == NULL)
		return NULL;
	j = json_tokener_parse(json);
	ck_assert_ptr_nonnull(j);
	v = tval_from_json(j);
	json_object_put(j);
	ck_assert_ptr_nonnull(v);
	return v;
}

static struct tval *
test_get_variable(const char *name, void *arg)
{
	if (strcmp(name, "host") == 0)
		return tval_str("api.example.com", 15);
	if (strcmp(name, "empty") == 0)
		return tval_str("", 0);
	return NULL;
}

/* Render src with a JSON context; returns malloc'd output or NULL (terr). */
static char *
render_lim(const char *src, const char *ctx, const struct tmpl_limits *lim)
{
	struct tmpl		*t;
	struct tmpl_env		 env;
	struct tmpl_output	*o;
	const char		*text;
	char			*r = NULL;
	size_t			 len;

	memset(&env, 0, sizeof(env));
	if ((t = tmpl_compile(src, strlen(src), &terr)) == NULL)
		return NULL;
	env.te_globals = ctx_from(ctx);
	env.te_now = 1700000000;
	env.te_get_variable = test_get_variable;
	if (lim != NULL)
		env.te_limits = *lim;
	if ((o = tmpl_render(t, &env, &terr)) != NULL) {
		text = tmpl_output_text(o, &len);
		ck_assert_ptr_nonnull(text);
		r = strdup(text);
		ck_assert_uint_eq(strlen(r), len);
		tmpl_output_free(o);
	}
	tval_unref(env.te_globals);
	tmpl_free(t);
	return r;
}

static char *
render(const char *src, const char *ctx)
{
	return render_lim(src, ctx, NULL);
}

#define ck_render(src, ctx, want) do {					\
	char	*got_ = render(src, ctx);				\
	ck_assert_msg(got_ != NULL, "%s: error %d:%d: %s", src,		\
	    terr.te_line, terr.te_col, terr.te_msg);			\
	ck_assert_str_eq(got_, want);					\
	free(got_);							\
} while (0)

#define ck_render_err(src, ctx, line, col, substr) do {			\
	char	*got_ = render(src, ctx);				\
	ck_assert_msg(got_ == NULL, "%s: expected an error, got '%s'",	\
	    src, got_ ? got_ : "");					\
	ck_assert_int_eq(terr.te_line, line);				\
	if ((col) > 0)							\
		ck_assert_int_eq(terr.te_col, col);			\
	ck_assert_msg(strstr(terr.te_msg, substr) != NULL,		\
	    "'%s' lacks '%s'", terr.te_msg, substr);			\
} while (0)

#define ck_render_lim(src, lim, want) do {				\
	char	*got_ = render_lim(src, NULL, lim);			\
	ck_assert_msg(got_ != NULL, "%s: error %d:%d: %s", src,		\
	    terr.te_line, terr.te_col, terr.te_msg);			\
	ck_assert_str_eq(got_, want);					\
	free(got_);							\
} while (0)

#define ck_render_lim_err(src, lim, substr) do {			\
	char	*got_ = render_lim(src, NULL, lim);			\
	ck_assert_msg(got_ == NULL, "%s: expected an error, got '%s'",	\
	    src, got_ ? got_ : "");					\
	ck_assert_msg(strstr(terr.te_msg, substr) != NULL,		\
	    "'%s' lacks '%s'", terr.te_msg, substr);			\
} while (0)

static struct tmpl *
compile_ok(const char *src)
{
	struct tmpl	*t = tmpl_compile(src, strlen(src), &terr);

	ck_assert_msg(t != NULL, "%s: %d:%d: %s", src, terr.te_line,
	    terr.te_col, terr.te_msg);
	return t;
}

/* --- value model --------------------------------------------------------- */

START_TEST(value_json_roundtrip)
{
	const char		*in = "{\"b\":1,\"a\":[1.5,true,null,\"x\"],"
	    "\"big\":9007199254740993,\"f\":1.0}";
	struct json_object	*j, *out;
	struct tval		*v;

	j = json_tokener_parse(in);
	v = tval_from_json(j);
	ck_assert_ptr_nonnull(v);
	out = tval_to_json(v);
	ck_assert_ptr_nonnull(out);
	/* key order kept, ints stay ints (beyond 2^53 too), floats stay floats */
	ck_assert_str_eq(json_object_to_json_string_ext(out,
	    JSON_C_TO_STRING_PLAIN), "{\"b\":1,\"a\":[1.5,true,null,\"x\"],"
	    "\"big\":9007199254740993,\"f\":1.0}");
	ck_assert_int_eq(json_object_get_type(json_object_object_get(out, "f")),
	    json_type_double);
	json_object_put(out);
	json_object_put(j);
	tval_unref(v);
}
END_TEST

START_TEST(value_build_and_render)
{
	struct tval		*d = tval_dict(), *l = tval_list();
	struct tmpl		*t;
	struct tmpl_env		 env;
	struct tmpl_output	*o;

	ck_assert_int_eq(tval_list_append(l, tval_int(1)), 0);
	ck_assert_int_eq(tval_list_append(l, tval_float(2.5)), 0);
	ck_assert_int_eq(tval_list_append(l, tval_str("it's", 4)), 0);
	ck_assert_int_eq(tval_list_append(l, tval_none()), 0);
	ck_assert_int_eq(tval_list_append(l, tval_bool(1)), 0);
	ck_assert_int_eq(tval_dict_set(d, "l", l), 0);
	ck_assert_int_eq(tval_dict_set(d, "raw", tval_bytes("a\x01'", 3)), 0);
	t = compile_ok("{{ l }} {{ raw }} {{ l[1] * 2 }}");
	memset(&env, 0, sizeof(env));
	env.te_globals = d;
	o = tmpl_render(t, &env, &terr);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(tmpl_output_text(o, NULL),
	    "[1, 2.5, \"it's\", None, True] b\"a\\x01'\" 5.0");
	tmpl_output_free(o);
	tmpl_free(t);
	tval_unref(d);
}
END_TEST

/* src over globals g (taken), which must render as want */
static void
ck_render_globals(const char *src, struct tval *g, const char *want)
{
	struct tmpl		*t = compile_ok(src);
	struct tmpl_env		 env;
	struct tmpl_output	*o;

	memset(&env, 0, sizeof(env));
	env.te_globals = g;
	o = tmpl_render(t, &env, &terr);
	ck_assert_msg(o != NULL, "%s: %s", src, terr.te_msg);
	ck_assert_str_eq(tmpl_output_text(o, NULL), want);
	tmpl_output_free(o);
	tmpl_free(t);
	tval_unref(g);
}

/*
 * A borrowed str reads the caller's bytes in place and leaves them the
 * caller's: a render and the value's release neither copy nor free them
 * (a free would make the test's own free a double free).
 */
START_TEST(value_borrowed_str)
{
	static const char	 doc[] = "{\"items\":[{\"a\":1,\"b\":\"x\"}]}";
	struct tval		*d = tval_dict(), *s;
	char			*body;

	ck_assert_ptr_nonnull(body = strdup(doc));
	ck_assert_ptr_nonnull(s = tval_str_borrow(body, strlen(body)));
	ck_assert_int_eq(tval_dict_set(d, "body", s), 0);
	ck_render_globals("{% set r = (body | from_json)['items'][0] %}"
	    "{{ r.a }} {{ r.b }} {{ body | length }} {{ body[2:7] }}", d,
	    "1 x 27 items");
	ck_assert_str_eq(body, doc);
	free(body);
	/* no bytes: an empty str */
	d = tval_dict();
	ck_assert_int_eq(tval_dict_set(d, "s", tval_str_borrow(NULL, 5)), 0);
	ck_render_globals("[{{ s }}]{{ s | length }}", d, "[]0");
}
END_TEST

START_TEST(value_python_spelling)
{
	ck_render("{{ 1.0 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 0.1 + 0.2 }} "
	    "{{ 0.0001 }} {{ 0.00001 }} {{ -0.0 }} {{ 1/3 }}", NULL,
	    "1.0 1e+20 1e+16 1000000000000000.0 0.30000000000000004 0.0001 "
	    "1e-05 -0.0 0.3333333333333333");
	ck_render("{{ None }} {{ True }} {{ false }} {{ (1,) }} {{ () }} "
	    "{{ {'a': [1, (2, 3)]} }}", NULL,
	    "None True False (1,) () {'a': [1, (2, 3)]}");
	ck_render("{{ ['a', \"it's\", 'say \"x\"', 'b\\'\"', '\\n\\t\\x01'] }}",
	    NULL, "['a', \"it's\", 'say \"x\"', 'b\\'\"', '\\n\\t\\x01']");
	ck_render("{{ ['\u00e9', '\u00a0', '\\u200b'] }}", NULL,
	    "['\u00e9', '\\xa0', '\\u200b']");
	ck_render("{{ {1: 'a', 1.0: 'b', true: 'c'} }}", NULL, "{1: 'c'}");
}
END_TEST

START_TEST(value_json_filters)
{
	const char	*ctx = "{\"d\":{\"z\":1,\"a\":\"<&'>\",\"u\":\"\u00e9\"}}";

	ck_render("{{ d | tojson }}", ctx,
	    "{\"a\": \"\\u003c\\u0026\\u0027\\u003e\", \"u\": \"\\u00e9\", "
	    "\"z\": 1}");
	ck_render("{{ d | json_encode }}", ctx,
	    "{\"z\": 1, \"a\": \"<&'>\", \"u\": \"\\u00e9\"}");
	ck_render("{{ '{\"a\": [1, 2.0, NaN], \"a\": 3, \"b\": null}' | "
	    "from_json }}", NULL, "{'a': 3, 'b': None}");
	/* 16 to 20 significant digits: json_parse's exact path or strtod */
	ck_render("{{ '[16.990000000000002, 9007199254740993.0, "
	    "1234567890123456789e3, 0.30000000000000004, "
	    "123456789012345678.9e-5, 9.999999999999999e22, "
	    "-2.2250738585072014e-308, 18446744073709551615.5, "
	    "1.7976931348623157e308]' | from_json }}", NULL,
	    "[16.990000000000002, 9007199254740992.0, 1.2345678901234568e+21, "
	    "0.30000000000000004, 1234567890123.4568, 1e+23, "
	    "-2.2250738585072014e-308, 1.8446744073709552e+19, "
	    "1.7976931348623157e+308]");
	/*
	 * The loop's own number path: ints of up to 17 digits, decimals of
	 * up to 15 (16 may not divide exactly), no exponent; 19 digits are
	 * past int64_t.
	 */
	ck_render("{{ '[7, 0, 3.49, 0.5, 12345678901234567, "
	    "123456789012345678, 9999999999999999999, 123456789.012345, "
	    "9.423730038236009, 25e1, 1.5E2, 10.25]' | from_json }}", NULL,
	    "[7, 0, 3.49, 0.5, 12345678901234567, 123456789012345678, "
	    "1e+19, 123456789.012345, 9.423730038236009, 250.0, 150.0, "
	    "10.25]");
	ck_render("{{ [1, {'b': 2}] | tojson(indent=2) }}", NULL,
	    "[\n  1,\n  {\n    \"b\": 2\n  }\n]");
	ck_render_err("{{ '{\"a\": 1' | from_json }}", NULL, 1, 0,
	    "Expecting ',' delimiter");
}
END_TEST

/*
 * from_json's errors are json.loads's, position included, wherever the
 * document ends or holds a NUL (the parser relies on the NUL after a
 * str's bytes and must not take an inner one for the end).
 */
START_TEST(value_json_parse_errors)
{
	static const struct {
		const char	*ctx;
		const char	*msg;
	} cases[] = {
		{ "{\"b\": \"[1, \\u0000]\"}",
		    "Expecting value: line 1 column 5 (char 4)" },
		{ "{\"b\": \"[\\\"a\\u0000\\\"]\"}",
		    "Invalid control character at: line 1 column 4 (char 3)" },
		{ "{\"b\": \"[1]\\u0000\"}",
		    "Extra data: line 1 column 4 (char 3)" },
		{ "{\"b\": \"[1, \"}",
		    "Expecting value: line 1 column 5 (char 4)" },
		{ "{\"b\": \"{\\\"a\\\": 1\"}",
		    "Expecting ',' delimiter: line 1 column 8 (char 7)" },
		{ "{\"b\": \"{\\\"a\\\" 1}\"}",
		    "Expecting ':' delimiter: line 1 column 6 (char 5)" },
		{ "{\"b\": \"{\\\"a\\\": 1,\"}",
		    "Expecting property name enclosed in double quotes: "
		    "line 1 column 9 (char 8)" },
		{ "{\"b\": \"[\\\"ab\"}",
		    "Unterminated string starting at: line 1 column 2 (char 1)" },
		{ "{\"b\": \"[1 2]\"}",
		    "Expecting ',' delimiter: line 1 column 4 (char 3)" },
		{ "{\"b\": \"[{\\\"ab\\\": 1}, {\\\"ab\"}",
		    "Unterminated string starting at: line 1 column 14 (char 13)" },
		{ "{\"b\": \"[{\\\"ab\\\": 1}, {\\\"ab\\\" 2}]\"}",
		    "Expecting ':' delimiter: line 1 column 19 (char 18)" },
		{ "{\"b\": \"{\"}",
		    "Expecting property name enclosed in double quotes: "
		    "line 1 column 2 (char 1)" },
		{ "{\"b\": \"\"}",
		    "Expecting value: line 1 column 1 (char 0)" },
		{ "{\"b\": \" \"}",
		    "Expecting value: line 1 column 2 (char 1)" },
		{ "{\"b\": \"[tru]\"}",
		    "Expecting value: line 1 column 2 (char 1)" },
		{ "{\"b\": \"{\\\"a\\\":1}x\"}",
		    "Extra data: line 1 column 8 (char 7)" },
		{ "{\"b\": \"[\\\"\\\\u12\\\"]\"}",
		    "Invalid \\uXXXX escape: line 1 column 4 (char 3)" },
		{ "{\"b\": \"[\\\"\\\\ud800\\\\u12\\\"]\"}",
		    "Invalid \\uXXXX escape: line 1 column 10 (char 9)" },
		/* json.loads wants a byte after a \uXXXX escape's four digits */
		{ "{\"b\": \"\\\"ab\\\\u0041\"}",
		    "Invalid \\uXXXX escape: line 1 column 5 (char 4)" },
		{ "{\"b\": \"\\\"\\\\ud83d\"}",
		    "Invalid \\uXXXX escape: line 1 column 3 (char 2)" },
		{ "{\"b\": \"\\\"\\\\ud83d\\\\udc00\"}",
		    "Invalid \\uXXXX escape: line 1 column 9 (char 8)" },
		{ "{\"b\": \"[-]\"}",
		    "Expecting value: line 1 column 2 (char 1)" },
		{ "{\"b\": \"[1.]\"}",
		    "Expecting ',' delimiter: line 1 column 3 (char 2)" },
		{ "{\"b\": \"[01]\"}",
		    "Expecting ',' delimiter: line 1 column 3 (char 2)" },
		{ "{\"b\": \"{\\\"a\\\": 1, }\"}",
		    "Expecting property name enclosed in double quotes: "
		    "line 1 column 10 (char 9)" },
		{ "{\"b\": \"[1,\\n 2,\\n x]\"}",
		    "Expecting value: line 3 column 2 (char 9)" },
		{ "{\"b\": \"[\\u0000\"}",
		    "Expecting value: line 1 column 2 (char 1)" },
		{ "{\"b\": \"{\\\"\\u0000\\\": 1}\"}",
		    "Invalid control character at: line 1 column 3 (char 2)" },
		{ "{\"b\": \"{\\\"a\\\"\\u0000: 1}\"}",
		    "Expecting ':' delimiter: line 1 column 5 (char 4)" },
		{ "{\"b\": \"{\\\"a\\\": 1\\u0000}\"}",
		    "Expecting ',' delimiter: line 1 column 8 (char 7)" },
		{ "{\"b\": \"\\\"a\\\\\"}",
		    "Unterminated string starting at: line 1 column 1 (char 0)" },
		{ "{\"b\": \"[1-2]\"}",
		    "Expecting ',' delimiter: line 1 column 3 (char 2)" },
		{ "{\"b\": \"[15e]\"}",
		    "Expecting ',' delimiter: line 1 column 4 (char 3)" },
		{ "{\"b\": \"[123456789012345678x]\"}",
		    "Expecting ',' delimiter: line 1 column 20 (char 19)" },
		{ "{\"b\": \"{\\\"a\\\": 12 3}\"}",
		    "Expecting ',' delimiter: line 1 column 10 (char 9)" },
		/* in an object opened in its sibling's shape (json_parse.c) */
		{ "{\"b\": \"[{\\\"a\\\": 1}, {\\\"a\\\": 2,}]\"}",
		    "Expecting property name enclosed in double quotes: "
		    "line 1 column 20 (char 19)" },
		{ "{\"b\": \"[{\\\"a\\\": 1}, {\\\"a\\\" 2}]\"}",
		    "Expecting ':' delimiter: line 1 column 17 (char 16)" },
		{ "{\"b\": \"[{\\\"a\\\": 1}, {\\\"a\\\": 2 ]\"}",
		    "Expecting ',' delimiter: line 1 column 20 (char 19)" },
		{ "{\"b\": \"[{\\\"a\\\": 1}, {\\\"a\\u0001\\\": 2}]\"}",
		    "Invalid control character at: line 1 column 15 (char 14)" },
		{ "{\"b\": \"[{\\\"a\\\": 1}, {\\\"a\\\": ]\"}",
		    "Expecting value: line 1 column 18 (char 17)" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_render_err("{{ b | from_json }}", cases[i].ctx, 1, 0,
		    cases[i].msg);
}
END_TEST

/* --- lexer and parser errors --------------------------------------------- */

START_TEST(parse_errors)
{
	static const struct {
		const char	*src;
		int		 line, col;
		const char	*msg;
	} cases[] = {
		{ "{{ (1 }}", 1, 7, "unexpected '}', expected ')'" },
		{ "{% for %}", 1, 8, "Expected an expression" },
		{ "a\n{% if x %}", 2, 11, "Unexpected end of template" },
		{ "{{ x | nosuch }}", 1, 8, "No filter named 'nosuch'" },
		{ "{{ x is nosuch }}", 1, 9, "No test named 'nosuch'" },
		{ "{{ 'abc }}", 1, 4, "unexpected char" },
		{ "x\n\n  {{ 1 + }}", 3, 10, "unexpected 'end of print" },
		{ "{% foo %}", 1, 4, "Encountered unknown tag 'foo'" },
		{ "{% for x in y %}{% endif %}", 1, 20, "looking for" },
		{ "{# open", 1, 1, "Missing end of comment tag" },
		{ "{% raw %}x", 1, 1, "Missing end of raw directive" },
		{ "{{ f(a=1, 2) }}", 1, 11, "Invalid argument syntax" },
		{ "{{ 1 }", 1, 6, "unexpected" },
		{ "{% set 1 = 2 %}", 1, 8, "can't assign" },
		{ "{{ x is defined is defined }}", 1, 17, "chain" },
		{ "{{ f(b=1, b=2) }}", 1, 11, "keyword argument repeated" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tmpl	*t = tmpl_compile(cases[i].src,
		    strlen(cases[i].src), &terr);

		ck_assert_msg(t == NULL, "%s compiled", cases[i].src);
		ck_assert_msg(terr.te_line == cases[i].line &&
		    terr.te_col == cases[i].col, "%s: %d:%d: %s (want %d:%d)",
		    cases[i].src, terr.te_line, terr.te_col, terr.te_msg,
		    cases[i].line, cases[i].col);
		ck_assert_msg(strstr(terr.te_msg, cases[i].msg) != NULL,
		    "%s: '%s' lacks '%s'", cases[i].src, terr.te_msg,
		    cases[i].msg);
	}
}
END_TEST

START_TEST(parse_nesting_limit)
{
	char	*src = malloc(20000);
	size_t	 i, n = 0;

	/* deep nesting is an error, not a stack overflow */
	n += (size_t)sprintf(src, "{{ ");
	for (i = 0; i < 5000; i++)
		src[n++] = '(';
	src[n++] = '1';
	for (i = 0; i < 5000; i++)
		src[n++] = ')';
	n += (size_t)sprintf(src + n, " }}");
	ck_assert_ptr_null(tmpl_compile(src, n, &terr));
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "too deeply"));
	free(src);
}
END_TEST

START_TEST(parse_whitespace)
{
	ck_render("a  {{- 1 -}}  b", NULL, "a1b");
	ck_render("a\n{% if true %}\nb\n{% endif %}\nc\n", NULL, "a\n\nb\n\nc");
	ck_render("x\r\ny\r\n", NULL, "x\ny");
	ck_render("{% raw %}{{ x }}{% endraw %}", NULL, "{{ x }}");
	ck_render("{{ {'a': {'b': 1}} }}", NULL, "{'a': {'b': 1}}");
	ck_render("a {#- c -#} b", NULL, "ab");
}
END_TEST

/* --- rendering semantics ------------------------------------------------- */

START_TEST(render_semantics)
{
	const char	*ctx = "{\"items\":[{\"n\":\"b\",\"v\":2},{\"n\":\"a\","
	    "\"v\":1}],\"data\":{\"items\":[1,2],\"keys\":\"k\"}}";

	ck_render("{% for i in items %}{{ loop.index }}{{ i.n }}"
	    "{% if not loop.last %},{% endif %}{% else %}-{% endfor %}", ctx,
	    "1b,2a");
	ck_render("{% for i in [] %}x{% else %}empty{% endfor %}", NULL,
	    "empty");
	/* set inside a loop is loop-scoped; namespace() carries out */
	ck_render("{% set x = 0 %}{% for i in [1,2] %}{{ x }}{% set x = i %}"
	    "{% endfor %}{{ x }}", NULL, "000");
	ck_render("{% set ns = namespace(t=0) %}{% for i in items %}"
	    "{% set ns.t = ns.t + i.v %}{% endfor %}{{ ns.t }}", ctx, "3");
	/* attribute: methods first; subscript: keys first */
	ck_render("{{ data['items'] }} {{ data.keys is callable }} "
	    "{{ data['keys'] }} {{ data.items() | list }}", ctx,
	    "[1, 2] True k [('items', [1, 2]), ('keys', 'k')]");
}
END_TEST

START_TEST(render_semantics2)
{
	const char	*ctx = "{\"items\":[{\"n\":\"b\",\"v\":2},{\"n\":\"a\","
	    "\"v\":1}]}";

	ck_render("{{ items | sort(attribute='n') | map(attribute='v') | "
	    "join(',') }}", ctx, "1,2");
	ck_render("{{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}", NULL,
	    "-4 2 3.5 1024");
	ck_render("{{ 'abc'[::-1] }} {{ 'h\u00e9llo'[1:3] }} {{ [1,2,3][-1] }}",
	    NULL, "cba \u00e9l 3");
	ck_render("{{ 'x' if 0 }}|{{ missing }}|{{ missing | default('d') }}",
	    NULL, "||d");
	ck_render("{{ '%s-%05.2f-%x' % ('a', 3.14159, 255) }}", NULL,
	    "a-03.14-ff");
	ck_render("{{ 2.5 | round }} {{ 2.675 | round(2) }} {{ '42.7' | int }}",
	    NULL, "2.0 2.67 42");
	ck_render("{{ items | groupby('v') | map(attribute='grouper') | list }}",
	    ctx, "[1, 2]");
	ck_render("{{ 'a b&c/d' | urlencode }} {{ {'a': 'x y'} | urlencode }}",
	    NULL, "a%20b%26c/d a=x+y");
	ck_render("{{ 'hello wide world' | truncate(10) }}", NULL, "hello...");
	ck_render("{% macro m(a, b=2) %}{{ a }}-{{ b }}{% endmacro %}"
	    "{{ m(1) }} {{ m(1, b=3) }}", NULL, "1-2 1-3");
	ck_render("{{ now() }} {{ now(60) }}", NULL, "1700000000 1700000060");
	ck_render("{% macro l(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}"
	    "{% endmacro %}{% call(v) l([1, 2]) %}<{{ v }}>{% endcall %}", NULL,
	    "<1><2>");
	ck_render("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}"
	    "{% endmacro %}{{ m(1, 2, k=3) }}", NULL, "1(2,){'k': 3}");
	ck_render("{{ range(3) }} {{ range(1, 10, 2) | list }}", NULL,
	    "range(0, 3) [1, 3, 5, 7, 9]");
	ck_render("[{{ 'x' | center(6) }}] {{ '%-4s|%04d' % ('a', 7) }} "
	    "{{ '{:>5}|{:.1f}'.format('b', 2.25) }}", NULL,
	    "[  x   ] a   |0007     b|2.2");
	ck_render("{{ 'stra\u00dfe' | upper }} {{ 1e22 }} {{ 5e-324 }} "
	    "{{ 123.456 }}", NULL, "STRASSE 1e+22 5e-324 123.456");
}
END_TEST

START_TEST(render_errors)
{
	ck_render_err("{{ x.y }}", NULL, 1, 6, "'x' is undefined");
	ck_render_err("{{ {}.a.b }}", NULL, 1, 0,
	    "'dict object' has no attribute 'a'");
	ck_render_err("{{ 1 + 'a' }}", NULL, 1, 0,
	    "unsupported operand type(s) for +: 'int' and 'str'");
	ck_render_err("{{ 1 / 0 }}", NULL, 1, 0, "division by zero");
	ck_render_err("\n{{ [1, 'a'] | sort }}", NULL, 2, 0, "'<' not supported");
	/* as in Jinja2's sandbox: renders empty, any further use fails */
	ck_render("[{{ ''.__class__ }}]", NULL, "[]");
	ck_render_err("{{ ''.__class__.__mro__ }}", NULL, 1, 0, "unsafe");
	ck_render_err("{{ 5 | length }}", NULL, 1, 0, "has no len()");
	/* a loop filter failing midway frees each item once (fuzzer) */
	ck_render_err("{% for i in [2, 3, 4, x] if i is even %}{{ i }}"
	    "{% endfor %}", NULL, 1, 0, "'x' is undefined");
}
END_TEST

/*
 * A for loop binds its target and loop in place from the second
 * iteration on (stmt.c, for_bind): what the body set must still go, and
 * a name the body rebound must be bound again.
 */
START_TEST(render_loop_rebind)
{
	ck_render("{% for x in [1,2] %}[{{ y }}]{% set y = x %}{{ y }}"
	    "{% endfor %}", NULL, "[]1[]2");
	ck_render("{% for x in [1,2,3] %}{% set a = x %}{% set b = a + 1 %}"
	    "{% set x = b %}{{ a }}{{ b }}{{ x }};{% endfor %}", NULL,
	    "122;233;344;");
	ck_render("{% for x in [1,2,3] %}{{ loop.index }}{% macro loop() %}q"
	    "{% endmacro %}{{ loop() }}{% endfor %}", NULL, "1q2q3q");
	ck_render("{% for x in [1,2,3] %}{{ x }}{% macro x() %}q{% endmacro %}"
	    "{{ x() }}{% endfor %}", NULL, "1q2q3q");
	ck_render("{% for x in [1,2,3,4] if x is odd %}{{ loop.index }}{{ x }}"
	    "{{ loop.last }}{% endfor %}", NULL, "11False23True");
	ck_render("{% set x = 9 %}{% for x in [1,2,3] if x > 1 %}{{ x }}"
	    "{% endfor %}{{ x }}", NULL, "239");
	ck_render("{% for x in [1, 2] %}{% for y in 'ab' %}{{ x }}{{ y }}"
	    "{% if not loop.last %}-{% endif %}{% endfor %}"
	    "{% if not loop.last %}|{% endif %}{% endfor %}", NULL,
	    "1a-1b|2a-2b");
	ck_render("{% for r in ('[{\"a\":1},{\"a\":2}]' | from_json) %}"
	    "{% set t = r.a * 2 %}{{ t }}{{ r }}{% endfor %}", NULL,
	    "2{'a': 1}4{'a': 2}");
}
END_TEST

/* The fewest steps src renders in (0: not within 1000). */
static uint64_t
steps_needed(const char *src, const char *ctx)
{
	struct tmpl_limits	 lim = { 0, 0, 0 };
	char			*r;

	for (lim.tl_steps = 1; lim.tl_steps <= 1000; lim.tl_steps++)
		if ((r = render_lim(src, ctx, &lim)) != NULL) {
			free(r);
			return lim.tl_steps;
		}
	return 0;
}

/*
 * Conditions are taken as truths (expr.c, eval_cond): not of anything,
 * loop.first and loop.last of a loop, over, or not a loop at all, with
 * the steps and errors their values would have cost.
 */
START_TEST(render_cond_truth)
{
	const char	*ctx = "{\"loop\":{\"last\":true,\"first\":0}}";

	ck_render("{% if not missing %}a{% endif %}{% if not none %}b{% endif %}"
	    "{% if not [] %}c{% endif %}{% if not {} %}d{% endif %}"
	    "{% if not '' %}e{% endif %}{% if not 0.0 %}f{% endif %}"
	    "{% if not [0] %}X{% endif %}{% if not ' ' %}Y{% endif %}"
	    "{% if not not [0] %}g{% endif %}", NULL, "abcdefg");
	/* a loop object that outlived its loop stands at its last item */
	ck_render("{% set ns = namespace(l=none) %}{% for x in [1,2,3] %}"
	    "{% set ns.l = loop %}{% endfor %}{% if ns.l.last %}L{% endif %}"
	    "{% if not ns.l.first %}F{% endif %}", NULL, "LF");
	ck_render("{% for x in 'abcd' if x != 'd' %}{% if loop.first %}<"
	    "{% endif %}{{ x }}{{ ',' if not loop.last else '>' }}{% endfor %}",
	    NULL, "<a,b,c>");
	ck_render("{% for x in [1,2] %}{% for y in [3,4] %}{% if loop.first %}["
	    "{% endif %}{{ y }}{% if loop.last %}]{% endif %}{% endfor %}"
	    "{% if loop.last %}.{% endif %}{% endfor %}", NULL, "[34][34].");
	/* loop from a scope further out */
	ck_render("{% for x in [1,2] %}{% with y = x %}{% if loop.last %}L"
	    "{% else %}{{ y }}{% endif %}{% endwith %}{% endfor %}", NULL, "1L");
	/* a variable named loop that is no loop */
	ck_render("{% if loop.last %}x{% endif %}{% if not loop.first %}y"
	    "{% endif %}", ctx, "xy");
	ck_render_err("{% if not loop.last %}x{% endif %}", NULL, 1, 0,
	    "'loop' is undefined");
	ck_render_err("{% if not x.y %}{% endif %}", NULL, 1, 0,
	    "'x' is undefined");
	/* each node a step, as when not and loop.last were values */
	ck_assert_uint_eq(steps_needed("{% for x in [1, 2] %}{% if not "
	    "loop.last %},{% endif %}{% endfor %}", NULL), 11);
	ck_assert_uint_eq(steps_needed("{% if not not not loop.first %}x"
	    "{% endif %}", ctx), 5);
}
END_TEST

/*
 * Numbers are written straight into the output (eval.c, out_value), a
 * float with few decimals by value.c's fmt_float_fast: Python's repr
 * all the same, at the edges of that path's range and of its rounding.
 */
START_TEST(render_number_output)
{
	struct tmpl_limits	 lim = { 0, 4, 0 };

	ck_render("{{ 1e16 }} {{ 0.1 + 0.2 }} {{ -0.0 }} {{ 1e-7 }} "
	    "{{ 0.0001 }} {{ 0.00009999999999999999 }} {{ 1e15 }} "
	    "{{ 999999999999999.9 }} {{ 123456789012345.6 }} {{ -3.49 }} "
	    "{{ 2.675 }} {{ 1.005 }} {{ 0.5555555555555556 }} "
	    "{{ 0.9999999999999999 }} {{ 0.4503599627370497 }} "
	    "{{ 4503599627370497.0 }} {{ 5e-324 }} {{ 1.7976931348623157e308 }} "
	    "{{ 12.0 }} {{ -7.25 }} {{ 100.0 }} {{ 1234.5678 }}", NULL,
	    "1e+16 0.30000000000000004 -0.0 1e-07 0.0001 9.999999999999999e-05 "
	    "1000000000000000.0 999999999999999.9 123456789012345.6 -3.49 2.675 "
	    "1.005 0.5555555555555556 0.9999999999999999 0.4503599627370497 "
	    "4503599627370497.0 5e-324 1.7976931348623157e+308 12.0 -7.25 100.0 "
	    "1234.5678");
	/* |d| * 10^n just above a half: rounded down it is no repr */
	ck_render("{{ 8735.957406825884 }} {{ 708796.9956996728 }} "
	    "{{ 1406015149061.9563 }} {{ 26519891757588.957 }}", NULL,
	    "8735.957406825884 708796.9956996728 1406015149061.9563 "
	    "26519891757588.957");
	ck_render("{{ 'nan' | float }} {{ 'inf' | float }} "
	    "{{ -('inf' | float) }} {{ -9223372036854775807 - 1 }} "
	    "{{ 9223372036854775807 }} {{ 0 }} {{ -5 }} {{ 100 }} {{ true }} "
	    "{{ none }}", NULL, "nan inf -inf -9223372036854775808 "
	    "9223372036854775807 0 -5 100 True None");
	ck_render("{{ [3.49, -0.5, 1e22] }} {{ {'a': 2.5} | tojson }} "
	    "{{ 1 ~ 2.25 }}{% filter upper %}{{ 1.5 }}{% endfilter %}"
	    "{% autoescape true %}{{ 3.49 }}{{ -7 }}{% endautoescape %}", NULL,
	    "[3.49, -0.5, 1e+22] {\"a\": 2.5} 12.251.53.49-7");
	/* the output cap counts a number's bytes before they are added */
	ck_render_lim("{{ 3.49 }}", &lim, "3.49");
	ck_render_lim_err("{{ 3.495 }}", &lim, "output limit");
	ck_render_lim_err("{{ 12345 }}", &lim, "output limit");
	ck_render_lim_err("{{ 1 }}{{ 2.5 }}{{ 7 }}", &lim, "output limit");
	/* and text's (eval_int.h, out_add) */
	ck_render_lim("a{{ 'b' }}{{ 1 }}c", &lim, "ab1c");
	ck_render_lim_err("ab{{ 'c' }}de", &lim, "output limit");
	ck_render_lim_err("abc{{ 'de' }}", &lim, "output limit");
}
END_TEST

/*
 * {{ s | tojson }} of a short str with nothing to escape is written
 * between quotes without a dump (stmt.c, ex_output_json): any other str
 * is escaped as before, the cap holds, a long one is charged its steps.
 */
START_TEST(render_tojson_str)
{
	const char		*ctx = "{\"a\":\"Widget 00\",\"b\":\"<&'>\","
	    "\"c\":\"caf\u00e9\",\"d\":\"say \\\"x\\\"\\n\",\"e\":\"\","
	    "\"f\":\"\\u0001\"}";
	struct tmpl_limits	 lim = { 0, 5, 0 };
	char			 src[1000];

	ck_render("[{{ a | tojson }} {{ b | tojson }} {{ c | tojson }} "
	    "{{ d | tojson }} {{ e | tojson }} {{ f | tojson }} "
	    "{{ a | json_encode }} {{ b | json_encode }} {{ c | json_encode }}|"
	    "{% autoescape true %}{{ b | tojson }}{{ a | tojson }}"
	    "{{ b | json_encode }}{% endautoescape %}", ctx,
	    "[\"Widget 00\" \"\\u003c\\u0026\\u0027\\u003e\" \"caf\\u00e9\" "
	    "\"say \\\"x\\\"\\n\" \"\" \"\\u0001\" \"Widget 00\" \"<&'>\" "
	    "\"caf\\u00e9\"|\"\\u003c\\u0026\\u0027\\u003e\"\"Widget 00\""
	    "&#34;&lt;&amp;&#39;&gt;&#34;");
	/* a from_json str twice: the second time its cache bit answers */
	ck_render("{% set r = ('[\"x<\", \"y\"]' | from_json) %}"
	    "{% for s in r + r %}{{ s | tojson }}{% endfor %}", NULL,
	    "\"x\\u003c\"\"y\"\"x\\u003c\"\"y\"");
	ck_render_lim("{{ 'abc' | tojson }}", &lim, "\"abc\"");
	ck_render_lim_err("{{ 'abcd' | tojson }}", &lim, "output limit");
	ck_render_lim_err("x{{ 'abc' | tojson }}", &lim, "output limit");
	/*
	 * past 256 bytes of JSON a dump costs a step more; text before it
	 * leaves the output room for it, as the fast path wants
	 */
	memset(src, 0, sizeof(src));
	memset(src, 'z', 600);
	memcpy(src + 600, "{{ '", 4);
	memset(src + 604, 'a', 300);
	memcpy(src + 904, "' | tojson }}", 13);
	ck_assert_uint_eq(steps_needed(src, NULL), 2);
	memcpy(src + 604 + 254, "' | tojson }}", 14);
	ck_assert_uint_eq(steps_needed(src, NULL), 1);
}
END_TEST

/*
 * {{ s | tojson }} of strs of 0 to 40 bytes, plain or with one byte that
 * needs an escape at each place: json.c judges up to 32 bytes in one or
 * two vectors whose loads overlap, so every byte must still be seen.
 */
START_TEST(render_tojson_lengths)
{
	static const struct {
		const char	*in, *out;
	} sp[] = {
		{ "<", "\\u003c" }, { "&", "\\u0026" }, { "'", "\\u0027" },
		{ ">", "\\u003e" }, { "\"", "\\\"" }, { "\\", "\\\\" },
		{ "\001", "\\u0001" }, { "\303\251", "\\u00e9" },
	};
	char		 in[48], want[80];
	size_t		 len, at, k, sl, ol;
	struct tval	*g;

	for (len = 0; len <= 40; len++) {
		memset(in, 'a', len);
		want[0] = '"';
		memset(want + 1, 'a', len);
		memcpy(want + 1 + len, "\"", 2);
		g = tval_dict();
		ck_assert_int_eq(tval_dict_set(g, "s", tval_str(in, len)), 0);
		ck_render_globals("{{ s | tojson }}", g, want);
		for (k = 0; k < sizeof(sp) / sizeof(sp[0]); k++) {
			sl = strlen(sp[k].in);
			ol = strlen(sp[k].out);
			for (at = 0; at + sl <= len; at++) {
				memset(in, 'a', len);
				memcpy(in + at, sp[k].in, sl);
				want[0] = '"';
				memset(want + 1, 'a', at);
				memcpy(want + 1 + at, sp[k].out, ol);
				memset(want + 1 + at + ol, 'a', len - at - sl);
				memcpy(want + 1 + at + ol + len - at - sl, "\"", 2);
				g = tval_dict();
				ck_assert_int_eq(tval_dict_set(g, "s",
				    tval_str(in, len)), 0);
				ck_render_globals("{{ s | tojson }}", g, want);
			}
		}
	}
}
END_TEST

/*
 * The JSON text of s as tojson (html) or json_encode writes it, by the
 * rules themselves: the reference the engine's byte tests must meet.
 */
static void
json_ref(FILE *f, const char *s, size_t len, int html)
{
	const unsigned char	*u = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 i, n;

	fputc('"', f);
	for (i = 0; i < len; i += n) {
		if (u[i] < 0x80) {
			cp = u[i];
			n = 1;
		} else if (u[i] < 0xe0) {
			cp = (u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f);
			n = 2;
		} else if (u[i] < 0xf0) {
			cp = (u[i] & 0x0f) << 12 | (u[i + 1] & 0x3f) << 6 |
			    (u[i + 2] & 0x3f);
			n = 3;
		} else {
			cp = (u[i] & 0x07) << 18 | (u[i + 1] & 0x3f) << 12 |
			    (u[i + 2] & 0x3f) << 6 | (u[i + 3] & 0x3f);
			n = 4;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp == '\b')
			fputs("\\b", f);
		else if (cp == '\f')
			fputs("\\f", f);
		else if (cp >= 0x10000)
			fprintf(f, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >>
			    10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
		else if (cp < 0x20 || cp >= 0x7f || (html && (cp == '<' ||
		    cp == '>' || cp == '&' || cp == '\'')))
			fprintf(f, "\\u%04x", cp);
		else
			fputc((int)cp, f);
	}
	fputc('"', f);
}

/*
 * Every ASCII byte and characters of each UTF-8 length at each position
 * of strs of 1 to 40 bytes, through tojson (twice: the second answer is
 * the cached judgement's), tojson of a list and json_encode, against
 * json_ref.  The strs come from the context (counted), from from_json
 * of their bytes as they are and of their \u escapes (a parsed "\u003c"
 * is '<' however plain its source), and anew from a str tojson has
 * judged plain: by lower, slicing and concatenation, and replace.
 */
START_TEST(render_tojson_bytes)
{
	static const char *const utf8[] = { "\302\200", "\303\251",
	    "\337\277", "\342\202\254", "\357\277\277", "\360\237\230\200" };
	const char	*src = "{%- set a = doc | from_json -%}"
	    "{%- set e = doce | from_json -%}{%- set p = docp | from_json -%}"
	    "{%- for s in l -%}{%- set i = loop.index0 -%}"
	    "{{ s | tojson }}|{{ a[i] | tojson }}|{{ a[i] | tojson }}|"
	    "{{ e[i] | tojson }}|{{ [e[i], a[i]] | tojson }}|"
	    "{{ a[i] | json_encode }}|{{ e[i] | lower | tojson }}|"
	    "{{ p[i] | tojson }}|"
	    "{{ (p[i][:i] ~ c ~ p[i][i + 1:]) | tojson }}|"
	    "{{ p[i] | replace('b', c) | tojson }};{%- endfor -%}";
	struct tval		*g, *l;
	FILE			*fa, *fe, *fp, *fw;
	char			*da, *de, *dp, *want, ch[8], low[48], str[48];
	size_t			 sa, se, sp, sw, len, at, cl, k, j;
	uint32_t		 cp;

	for (k = 0; k < 128 + sizeof(utf8) / sizeof(utf8[0]); k++) {
		if (k < 128) {
			ch[0] = (char)k;
			cl = 1;
		} else {
			cl = strlen(utf8[k - 128]);
			memcpy(ch, utf8[k - 128], cl + 1);
		}
		for (len = cl; len <= 40; len++) {
			fa = open_memstream(&da, &sa);
			fe = open_memstream(&de, &se);
			fp = open_memstream(&dp, &sp);
			fw = open_memstream(&want, &sw);
			ck_assert(fa && fe && fp && fw);
			l = tval_list();
			for (at = 0; at + cl <= len; at++) {
				memset(str, 'a', len);
				memcpy(str + at, ch, cl);
				ck_assert_int_eq(tval_list_append(l,
				    tval_str(str, len)), 0);
				/* the bytes themselves, where JSON allows */
				fprintf(fa, "%s\"%.*s", at ? "," : "[",
				    (int)at, str);
				if (k < 0x20)
					fprintf(fa, "\\u%04x", (unsigned)k);
				else if (k == '"' || k == '\\')
					fprintf(fa, "\\%c", (int)k);
				else
					fwrite(ch, 1, cl, fa);
				fprintf(fa, "%.*s\"", (int)(len - at - cl),
				    str + at + cl);
				/* the character as \u escapes */
				cp = 0;
				for (j = 0; j < cl; j++)
					cp = cp << 6 | ((unsigned char)ch[j] &
					    (j ? 0x3f : cl == 1 ? 0x7f : 0xff >>
					    (cl + 1)));
				fprintf(fe, "%s\"%.*s", at ? "," : "[",
				    (int)at, str);
				if (cp >= 0x10000)
					fprintf(fe, "\\u%04x\\u%04x",
					    0xd800 + ((cp - 0x10000) >> 10),
					    0xdc00 + ((cp - 0x10000) & 0x3ff));
				else
					fprintf(fe, "\\u%04x", cp);
				fprintf(fe, "%.*s\"", (int)(len - at - cl),
				    str + at + cl);
				/* plain: 'b' where the character goes */
				fprintf(fp, "%s\"%.*sb%.*s\"", at ? "," : "[",
				    (int)at, str, (int)(len - at - cl),
				    str + at + cl);
				for (j = 0; j < len; j++)
					low[j] = (char)((unsigned char)str[j] <
					    0x80 ? tolower((unsigned char)
					    str[j]) : str[j]);
				/* s, a[i] twice, e[i]; the list; json_encode */
				for (j = 0; j < 4; j++) {
					json_ref(fw, str, len, 1);
					fputc('|', fw);
				}
				fputc('[', fw);
				json_ref(fw, str, len, 1);
				fputs(", ", fw);
				json_ref(fw, str, len, 1);
				fputs("]|", fw);
				json_ref(fw, str, len, 0);
				fputc('|', fw);
				json_ref(fw, low, len, 1);
				fputc('|', fw);
				/* p[i], then the two made from it */
				memset(low, 'a', len);
				low[at] = 'b';
				json_ref(fw, low, len - cl + 1, 1);
				for (j = 0; j < 2; j++) {
					fputc('|', fw);
					json_ref(fw, str, len, 1);
				}
				fputc(';', fw);
			}
			fputc(']', fa);
			fputc(']', fe);
			fputc(']', fp);
			ck_assert(fclose(fa) == 0 && fclose(fe) == 0 &&
			    fclose(fp) == 0 && fclose(fw) == 0);
			g = tval_dict();
			ck_assert_int_eq(tval_dict_set(g, "l", l), 0);
			ck_assert_int_eq(tval_dict_set(g, "doc",
			    tval_str(da, sa)), 0);
			ck_assert_int_eq(tval_dict_set(g, "doce",
			    tval_str(de, se)), 0);
			ck_assert_int_eq(tval_dict_set(g, "docp",
			    tval_str(dp, sp)), 0);
			ck_assert_int_eq(tval_dict_set(g, "c",
			    tval_str(ch, cl)), 0);
			ck_render_globals(src, g, want);
			free(da);
			free(de);
			free(dp);
			free(want);
		}
	}
}
END_TEST

/*
 * name.attr looks in a dict the innermost scope holds without the
 * name's handler (expr.c, ev_getattr_name); anything else takes the
 * general path, and the steps are those of two nodes.
 */
START_TEST(render_getattr_name)
{
	const char	*ctx = "{\"user\":{\"id\":\"u-1\"},\"rows\":"
	    "[{\"a\":1,\"b\":2},{\"b\":3,\"a\":4}]}";

	ck_render("{% for r in rows %}{{ r.a }}{{ r.b }}[{{ r.c }}]{% endfor %}"
	    "{{ user.id }}", ctx, "12[]43[]u-1");
	/* a list is no dict: its items are not entries (valgrind sees it) */
	ck_render("{% for r in [[1, 2], 'xy', 3, none, range(40) | list] %}"
	    "[{{ r.a }}]{% endfor %}", NULL, "[][][][][]");
	ck_render("{% set d = {'a': 1} %}{% for i in [1] %}{{ d.a }}"
	    "{% set d = {'a': 2} %}{{ d.a }}{% endfor %}{{ d.a }}", NULL, "121");
	ck_render("{% set ns = namespace(a=5) %}{% for i in [1, 2] %}{{ ns.a }}"
	    "{% set ns.a = i %}{% endfor %}{{ ns.a }}", NULL, "512");
	ck_render("{% for s in ['ab'] %}{{ s.upper }}|{{ loop.index }}"
	    "{{ loop.length }}{{ loop.first }}{% endfor %}", NULL,
	    "<built-in method upper of str object at 0x0>|11True");
	ck_render_err("{% for r in [none] %}{{ r.a.b }}{% endfor %}", NULL, 1, 0,
	    "'None' has no attribute 'a'");
	ck_assert_uint_eq(steps_needed("{% for r in rows %}{{ r.a }}{{ r.z }}"
	    "{% endfor %}", ctx), 11);
}
END_TEST

/*
 * Text of up to 16 bytes is kept padded and moved 16 bytes at a time
 * (compile.c, stmt.c ex_data_short): only its own bytes may show, at
 * every length, in a capture, and under the cap.
 */
START_TEST(render_short_text)
{
	struct tmpl_limits	 lim = { 0, 20, 0 };

	ck_render("{% for i in [1, 2] %}a{{ i }}0123456789abcde{{ i }}"
	    "0123456789abcdef{{ i }}0123456789abcdefg{{ i }}{% endfor %}|", NULL,
	    "a10123456789abcde10123456789abcdef10123456789abcdefg1"
	    "a20123456789abcde20123456789abcdef20123456789abcdefg2|");
	ck_render("{% set x %}ab{{ 1 }}cd{% endset %}[{{ x }}]{{ x | length }}"
	    "{% macro m() %}e{{ 2 }}f{% endmacro %}{{ m() }}{{ m() | length }}",
	    NULL, "[ab1cd]5e2f3");
	/* sixteen bytes end a capture: from_json wants its NUL */
	ck_render("{% set s %}{{ ' ' }}[10, 20, 30, 40]{% endset %}"
	    "{{ s | from_json }}", NULL, "[10, 20, 30, 40]");
	/* an output that had a list in it (eval_str_into bounds it) */
	ck_render("{{ [1] }}x{{ none }}y{{ (1, 2) }}z", NULL,
	    "[1]xNoney(1, 2)z");
	ck_render_lim("{{ 0 }}0123456789abcdef{{ 'x' }}yz", &lim,
	    "00123456789abcdefxyz");
	ck_render_lim_err("{{ 0 }}0123456789abcdef{{ 'x' }}yz!", &lim,
	    "output limit");
	ck_render_lim_err("{{ 0 }}0123456789abcdef{{ 'x' }}{{ 'y' }}abc", &lim,
	    "output limit");
}
END_TEST

START_TEST(render_mutation)
{
	/* append works and returns None; a cycle is refused, not built */
	ck_render("{% set l = [] %}{{ l.append(1) }}{{ l }}", NULL, "None[1]");
	ck_render_err("{% set l = [] %}{{ l.append(l) }}", NULL, 1, 0,
	    "contain itself");
	ck_render("{% set d = {} %}{% set _ = d.update({'a': 1}) %}{{ d }}",
	    NULL, "{'a': 1}");
}
END_TEST

/*
 * from_json's values live in the render's arena when the template names
 * no mutating method: they must behave as counted ones do, and a
 * mutation must never store one where it outlives the render.
 */
/*
 * Strings built in a buffer by the renderer's fast paths (concatenation
 * grown ahead, ints, set blocks) end in a NUL like every other str: the
 * JSON scanner and error messages read up to it.  Found by fuzz_template
 * (an empty concatenation printed with %s); valgrind reports the
 * uninitialised bytes if a path loses the NUL again.
 */
START_TEST(render_built_strs_terminated)
{
	static const struct {
		const char	*src;
		const char	*out;	/* NULL: an error containing err */
		const char	*err;
	} cases[] = {
		{ "{{ (a ~ b) | from_json }}", NULL,
		    "Expecting value: line 1 column 1 (char 0)" },
		{ "{{ 'x' | urlize(extra_schemes=[a ~ b]) }}", NULL,
		    "'' is not a valid URI scheme prefix." },
		{ "{{ (12 ~ '') | from_json }}", "12", NULL },
		{ "{{ (12 ~ a ~ 345) | from_json }}", "12345", NULL },
		{ "{% set s %}{{ '[1' }}{{ ', 2]' }}{% endset %}"
		    "{{ s | from_json }}", "[1, 2]", NULL },
		{ "{% set s %}{{ '' }}{% endset %}{{ s | from_json }}", NULL,
		    "Expecting value: line 1 column 1 (char 0)" },
	};
	/* with an output limit, concatenation sizes its buffer ahead */
	struct tmpl_limits	 lim = { .tl_output = 1 << 16 };
	char			*got;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = render_lim(cases[i].src, "{}", &lim);
		if (cases[i].out != NULL) {
			ck_assert_msg(got != NULL, "%s: %s", cases[i].src,
			    terr.te_msg);
			ck_assert_str_eq(got, cases[i].out);
		} else {
			ck_assert_msg(got == NULL, "%s: no error", cases[i].src);
			ck_assert_msg(strstr(terr.te_msg, cases[i].err) != NULL,
			    "%s: '%s' lacks '%s'", cases[i].src, terr.te_msg,
			    cases[i].err);
		}
		free(got);
	}
}
END_TEST

/*
 * Where a render given steps steps stopped: the step limit, at line:col
 * (line * 1000 + col), so that a fast path is seen to charge each node
 * as the general one does.
 */
static int
steps_stop(const char *src, const char *ctx, uint64_t steps)
{
	struct tmpl_limits	 lim = { 0, 0, 0 };
	char			*r;

	lim.tl_steps = steps;
	r = render_lim(src, ctx, &lim);
	ck_assert_msg(r == NULL, "%s: rendered in %d steps", src, (int)steps);
	ck_assert_msg(strstr(terr.te_msg, "step limit") != NULL, "%s: %s",
	    src, terr.te_msg);
	return terr.te_line * 1000 + terr.te_col;
}

/*
 * {{ name.attr }} and {{ name.attr | tojson }} write the value found
 * where the name is bound without a reference (stmt.c ex_output_attr,
 * ex_output_json; eval_int.h getattr_name_find, out_value_fast): each
 * kind of value as str() has it, a name bound in an outer scope before
 * the globals, autoescape, and the steps.
 */
START_TEST(render_row_attr)
{
	const char	*ctx = "{\"user\":{\"id\":\"u-1\"},\"rows\":[{\"s\":"
	    "\"<a&b>\",\"i\":1042,\"f\":3.49,\"g\":1e+20,\"h\":-0.5,"
	    "\"b\":true,\"n\":null,\"l\":[1,\"x\"],\"d\":{\"k\":2.0}}]}";
	const char	*row = "{% for r in rows %}{{ r.s }}|{{ r.i }}|{{ r.f }}|"
	    "{{ r.g }}|{{ r.h }}|{{ r.b }}|{{ r.n }}|{{ r.l }}|{{ r.d }}|"
	    "{{ r.z }}|{{ r.s | tojson }}{{ r.l | tojson }}{% endfor %}";

	ck_render(row, ctx, "<a&b>|1042|3.49|1e+20|-0.5|True|None|[1, 'x']|"
	    "{'k': 2.0}||\"\\u003ca\\u0026b\\u003e\"[1, \"x\"]");
	/* the same values from a list and a dict the template built */
	ck_render("{% for r in [{'f': 0.1, 'i': -7, 's': 'x'}] %}{{ r.f }}"
	    "{{ r.i }}{{ r.s }}{% endfor %}", NULL, "0.1-7x");
	/* an outer scope's binding hides the global of that name */
	ck_render("{% set user = {'id': 'in'} %}{% for i in [1] %}{{ user.id }}"
	    "{{ user.id | tojson }}{% endfor %}{{ user.id }}", ctx,
	    "in\"in\"in");
	ck_render("{% for i in [1] %}{{ user.id }}{% endfor %}{{ user.id }}",
	    ctx, "u-1u-1");
	ck_render("{% set ns = namespace(a=5) %}{{ ns.a }}{{ ns.a | tojson }}",
	    NULL, "55");
	ck_render("{% for r in ['ab'] %}{{ r.upper }}{% endfor %}", NULL,
	    "<built-in method upper of str object at 0x0>");
	ck_render_err("{{ nothing.a }}", NULL, 1, 0, "'nothing' is undefined");
	ck_render_err("{{ nothing.a | tojson }}", NULL, 1, 0,
	    "'nothing' is undefined");
	ck_render_err("{% for r in rows %}{{ r.z | tojson }}{% endfor %}", ctx,
	    1, 0, "not JSON serializable");
	/* autoescape: a str escaped, a number as it is */
	ck_render("{% autoescape true %}{% for r in rows %}{{ r.s }}{{ r.i }}"
	    "{{ r.f }}{% endfor %}{% endautoescape %}", ctx,
	    "&lt;a&amp;b&gt;10423.49");
	/* two steps each, the limit met at the attribute or at the name */
	ck_assert_uint_eq(steps_needed(row, ctx), 26);
	ck_assert_uint_eq(steps_needed("{{ user.id }}{{ user.id | tojson }}",
	    ctx), 4);
	ck_assert_int_eq(steps_stop("{{ user.id }}{{ user.id }}", ctx, 2),
	    1022);
	ck_assert_int_eq(steps_stop("{{ user.id }}{{ user.id }}", ctx, 3),
	    1017);
	ck_assert_int_eq(steps_stop("{{ 1 }}{{ user.id | tojson }}", ctx, 1),
	    1016);
	ck_assert_int_eq(steps_stop("{{ 1 }}{{ user.id | tojson }}", ctx, 2),
	    1011);
}
END_TEST

/*
 * {% if [not] loop.first/last %} answers from the loop (stmt.c
 * ex_if_loop): every shape, with else, a branch of one statement or
 * more, a loop filtered, nested or hidden by a with, loop rebound, the
 * output cap in the one-statement branch, and the steps.
 */
START_TEST(render_row_loop_if)
{
	const char		*sep = "{% for i in [1, 2, 3] %}{{ i }}"
	    "{% if not loop.last %},{% endif %}{% endfor %}";
	struct tmpl_limits	 lim = { 0, 7, 0 };

	ck_render(sep, NULL, "1,2,3");
	ck_render("{% for i in [1, 2, 3] %}{% if loop.first %}[{% endif %}"
	    "{% if not loop.first %}|{% endif %}{{ i }}{% if loop.last %}]"
	    "{% else %};{% endif %}{% endfor %}", NULL, "[1;|2;|3]");
	ck_render("{% for i in [1, 2, 3] %}{% if not loop.last %}{{ i }}<"
	    "{% else %}{{ i }}.{{ loop.length }}{% endif %}{% endfor %}", NULL,
	    "1<2<3.3");
	ck_render("{% for i in [1, 2, 3, 4] if i is even %}{{ i }}"
	    "{% if not loop.last %},{% endif %}{% endfor %}", NULL, "2,4");
	ck_render("{% for i in [1, 2] %}{% for j in 'ab' %}{{ i }}{{ j }}"
	    "{% if not loop.last %},{% endif %}{% endfor %}"
	    "{% if not loop.last %};{% endif %}{% endfor %}", NULL,
	    "1a,1b;2a,2b");
	ck_render("{% for i in [1, 2] %}{% with x = i %}{% if loop.last %}L"
	    "{% else %}{{ x }}{% endif %}{% endwith %}{% endfor %}", NULL, "1L");
	ck_render("{% for i in [0, 1] %}{% with loop = {'last': i} %}"
	    "{% if loop.last %}{{ i }}{% endif %}{% endwith %}{% endfor %}",
	    NULL, "1");
	ck_render("{% if loop.last %}x{% else %}y{% endif %}",
	    "{\"loop\":{\"last\":1}}", "x");
	ck_render_err("{% if not loop.first %}x{% endif %}", NULL, 1, 0,
	    "'loop' is undefined");
	ck_render_lim("{% for i in [1, 2, 3] %}{{ i }}"
	    "{% if not loop.last %}, {% endif %}{% endfor %}", &lim, "1, 2, 3");
	lim.tl_output = 6;
	ck_render_lim_err("{% for i in [1, 2, 3] %}{{ i }}"
	    "{% if not loop.last %}, {% endif %}{% endfor %}", &lim,
	    "output limit");
	/* not, the attribute and the name: a step each */
	ck_assert_uint_eq(steps_needed(sep, NULL), 19);
	ck_assert_uint_eq(steps_needed("{% for i in [1, 2] %}"
	    "{% if loop.first %}x{% endif %}{% endfor %}", NULL), 9);
	ck_assert_int_eq(steps_stop(sep, NULL, 5), 1028);
	ck_assert_int_eq(steps_stop(sep, NULL, 6), 1038);
	ck_assert_int_eq(steps_stop(sep, NULL, 7), 1047);
	ck_assert_int_eq(steps_stop(sep, NULL, 8), 1042);
}
END_TEST

/*
 * Short text before an output or a loop's if is written by that
 * statement (compile.c fuse_text, stmt.c ex_*_pre): before each kind, in
 * else branches, captures and macros, at sixteen bytes and past them,
 * and where the cap stops it, at the place the text alone would.
 */
START_TEST(render_row_text_before)
{
	const char		*ctx = "{\"rows\":[{\"id\":1,\"n\":\"a\"},"
	    "{\"id\":2,\"n\":\"b\"}]}";
	const char		*row = "[{% for r in rows %}{\"id\":{{ r.id }},"
	    "\"n\":{{ r.n | tojson }},\"x\":{{ r.id + 1 }}}"
	    "{% if not loop.last %},{% endif %}{% endfor %}]";
	static const int	 at[] = {
	    1005, 1005, 1005, 1005, 1005, 1005, 1032, 1032, 1032, 1032, 1032,
	    1032, 1051, 1051, 1051, 1032, 1032, 1032, 1032, 1032, 1073, 1073,
	    1073, 1073, 1073, 1073, 1073, 1073, 1073, 1032, 1032, 1032, 1032,
	    1032, 1032, 1051, 1051, 1051, 1032, 1032, 1032, 1032, 1032, 1073,
	    1073, 1073 };
	struct tmpl_limits	 lim = { 0, 0, 0 };
	char			*got;
	size_t			 cap;

	ck_render(row, ctx, "[{\"id\":1,\"n\":\"a\",\"x\":2},"
	    "{\"id\":2,\"n\":\"b\",\"x\":3}]");
	ck_render("{% for r in [] %}{% else %}<{{ 1 }}>{% endfor %}"
	    "{% if 0 %}{% else %}({{ 2 }}){% endif %}"
	    "{% set c %}0123456789abcdef{{ 3 }}0123456789abcdefg{{ 4 }}"
	    "{% endset %}[{{ c }}]{% macro m(x) %}m{{ x }}{% endmacro %}"
	    "{{ m(5) }}|{% set y = 6 %}{{ y }}", NULL,
	    "<1>(2)[0123456789abcdef30123456789abcdefg4]m5|6");
	/* the steps are the statements' own */
	ck_assert_uint_eq(steps_needed(row, ctx), 25);
	/*
	 * the cap met at every byte: the error where the general path
	 * has it (line * 1000 + column, the node last evaluated)
	 */
	for (cap = 1; cap <= 47; cap++) {
		lim.tl_output = cap;
		got = render_lim(row, ctx, &lim);
		if (cap == 47) {
			ck_assert_msg(got != NULL, "%s", terr.te_msg);
			free(got);
			break;
		}
		ck_assert_msg(got == NULL, "cap %zu: %s", cap, got);
		ck_assert_msg(strstr(terr.te_msg, "output limit") != NULL,
		    "cap %zu: %s", cap, terr.te_msg);
		ck_assert_int_eq(terr.te_line * 1000 + terr.te_col, at[cap - 1]);
	}
}
END_TEST

/*
 * A scope holds a name once, so scope_find may look first to last
 * (eval_int.h): a name bound twice in one scope is its last value, the
 * for's own step stops where it did.
 */
START_TEST(render_row_scope)
{
	ck_render("{% for a, a in [(1, 2)] %}{{ a }}{% endfor %}", NULL, "2");
	ck_render("{% for x in [1, 2] %}{% set x = x * 10 %}{% set y = x %}"
	    "{% set x = y + 1 %}{{ x }},{{ y }};{% endfor %}", NULL,
	    "11,10;21,20;");
	ck_render("{% macro m(a, b) %}{% set a = b %}{% set b = 3 %}{{ a }}{{ b }}"
	    "{% endmacro %}{{ m(1, 2) }}", NULL, "23");
	ck_render("{% set x = 1 %}{% set y = 2 %}{% set x = 3 %}{{ x }}{{ y }}",
	    NULL, "32");
	ck_assert_int_eq(steps_stop("{% for i in [1, 2] %}{{ i }}{% endfor %}",
	    NULL, 3), 1004);
	ck_assert_int_eq(steps_stop("{% for i in [1, 2] %}{{ i }}{% endfor %}",
	    NULL, 5), 1025);
}
END_TEST

/*
 * Python's repr of d, as the test works it out on its own: the fewest
 * significant digits that read back as d (the nearest such string, as
 * %e rounds), in fixed notation with a digit after the point, for
 * 1e-4 <= |d| < 1e16.
 */
static void
float_repr(char *out, size_t len, double d)
{
	char	 e[40], digits[20], *x;
	int	 p, exp10, nd, i, o = 0;

	for (p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	x = e;
	if (*x == '-')
		out[o++] = *x++;
	for (nd = 0; *x != 'e'; x++)
		if (isdigit((unsigned char)*x))
			digits[nd++] = *x;
	exp10 = atoi(x + 1);
	if (exp10 < 0) {
		o += snprintf(out + o, len - o, "0.");
		for (i = -1; i > exp10; i--)
			out[o++] = '0';
		for (i = 0; i < nd; i++)
			out[o++] = digits[i];
	} else {
		for (i = 0; i <= exp10; i++)
			out[o++] = i < nd ? digits[i] : '0';
		out[o++] = '.';
		if (nd <= exp10 + 1)
			out[o++] = '0';
		for (i = exp10 + 1; i < nd; i++)
			out[o++] = digits[i];
	}
	out[o] = '\0';
}

/*
 * Floats of few decimals are written without a call (value.c
 * fmt_float_fast tries two decimals first): tens of thousands of them,
 * cents, tenths and thousandths, near 1e13 where that order ends, each
 * as Python's repr has it.
 */
START_TEST(render_row_float)
{
	char		*got, *tok, *save, want[64];
	size_t		 n = 0;
	int64_t		 i;
	double		 d;

	ck_render("{{ 3.49 }}|{{ 4.5 }}|{{ 100.0 }}|{{ 0.29 }}|{{ 2.05 }}|"
	    "{{ 9999999999999.99 }}|{{ 9999999999999.9 }}|"
	    "{{ 10000000000000.5 }}|{{ 12345678901234.56 }}|{{ 0.00015 }}|"
	    "{{ 123456.789 }}|{{ 1234.10 }}|{{ 7.0e-4 }}|{{ -0.5 }}", NULL,
	    "3.49|4.5|100.0|0.29|2.05|9999999999999.99|9999999999999.9|"
	    "10000000000000.5|12345678901234.56|0.00015|123456.789|1234.1|"
	    "0.0007|-0.5");
	got = render("{% for i in range(0, 5000000, 131) %}{{ i / 100 }} "
	    "{{ i / 10 }} {{ -i / 1000 }} {{ (999999000000000 + i * 7) / 100 }} "
	    "{% endfor %}", NULL);
	ck_assert_msg(got != NULL, "%s", terr.te_msg);
	for (tok = strtok_r(got, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save), n++) {
		i = 131 * (int64_t)(n / 4);
		switch (n % 4) {
		case 0:
			d = (double)i / 100;
			break;
		case 1:
			d = (double)i / 10;
			break;
		case 2:
			d = (double)-i / 1000;
			break;
		default:
			d = (double)(999999000000000 + i * 7) / 100;
			break;
		}
		float_repr(want, sizeof(want), d);
		ck_assert_str_eq(tok, want);
	}
	ck_assert_uint_eq(n, 4 * 38168);
	free(got);
}
END_TEST

/*
 * A for over a list of from_json's arena walks the list's own items
 * (stmt.c for_items): loop's attributes and methods, a recursive loop, a
 * loop object kept past its loop, another from_json inside, a filter,
 * an empty list, and the step for the items as the copy charges it.
 */
START_TEST(render_row_arena_for)
{
	const char	*ctx = "{\"s\":\"[{\\\"a\\\":1,\\\"k\\\":[{\\\"a\\\":2,"
	    "\\\"k\\\":[]}]},{\\\"a\\\":3,\\\"k\\\":[]},{\\\"a\\\":3,"
	    "\\\"k\\\":[]}]\"}";
	const char	*many = "{% for x in '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, "
	    "12, 13, 14, 15, 16, 17]' | from_json %}{% endfor %}";

	ck_render("{% for r in s | from_json %}{{ loop.index }}/{{ loop.length }}"
	    "{% if not loop.first %}{{ loop.previtem.a }}{% endif %}<{{ r.a }}>"
	    "{% if not loop.last %}{{ loop.nextitem.a }}{% endif %}"
	    "{{ loop.cycle('x', 'y') }}{{ loop.changed(r.a) }};{% endfor %}",
	    ctx, "1/3<1>3xTrue;2/31<3>3yTrue;3/33<3>xFalse;");
	ck_render("{% for r in s | from_json recursive %}[{{ r.a }}"
	    "{{ loop(r.k) }}]{% endfor %}", ctx, "[1[2]][3][3]");
	ck_render("{% set ns = namespace(l=none) %}{% for r in s | from_json %}"
	    "{% set ns.l = loop %}{% endfor %}{{ ns.l.length }}"
	    "{{ ns.l.index }}", ctx, "33");
	ck_render("{% for r in s | from_json %}{% set d = '[7, 8]' | from_json %}"
	    "{{ r.a }}{{ d | sum }},{% endfor %}", ctx, "115,315,315,");
	ck_render("{% set l = s | from_json %}{% for r in l if r.a > 1 %}"
	    "{{ r.a }}{{ loop.length }}{% endfor %}"
	    "{{ l | map(attribute='a') | join }}", ctx, "3232133");
	ck_render("{% for r in '[]' | from_json %}x{% else %}none{% endfor %}",
	    NULL, "none");
	ck_assert_uint_eq(steps_needed(many, NULL), 21);
}
END_TEST

START_TEST(render_json_arena)
{
	struct tmpl_limits	 lim = { .tl_output = 16384 };
	char			*big, *ctx, *got;
	size_t			 i, n = 2500;

	/* more keys than a scanned dict holds, one repeated: first place,
	 * last value; found through the index */
	ck_render("{% set d = '{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4, "
	    "\"e\": 5, \"f\": 6, \"g\": 7, \"h\": 8, \"i\": 9, \"a\": 10, "
	    "\"j\": [1, 2000, 2.5, -7000000000]}' | from_json %}"
	    "{{ d.a }} {{ d.i }} {{ d.j }} {{ d | length }} "
	    "{{ d.keys() | join }}", NULL,
	    "10 9 [1, 2000, 2.5, -7000000000] 10 abcdefghij");
	/* separators with blanks or none, in objects opened in their
	 * sibling's shape and in others */
	ck_render("{{ s | from_json }}", "{\"s\": \"[{\\\"a\\\":1,"
	    "\\\"b\\\":[2 ,3]} ,{\\\"a\\\" :4 , \\\"b\\\":[ ]},\\n"
	    "{\\\"a\\\":\\t5,\\r\\n \\\"b\\\" : 6 }, {\\\"a\\\": 7},"
	    "{ \\\"b\\\": 8,\\\"a\\\": 9 }]\"}",
	    "[{'a': 1, 'b': [2, 3]}, {'a': 4, 'b': []}, {'a': 5, 'b': 6}, "
	    "{'a': 7}, {'b': 8, 'a': 9}]");
	/* keys of each length class that differ from the sibling's in
	 * their last byte only: not the sibling's keys */
	ck_render("{{ '[{\"xyz\": 1, \"abcde\": 2, \"abcdefghij\": 3}, "
	    "{\"xyw\": 4, \"abcde\": 5, \"abcdefghij\": 6}, "
	    "{\"xyz\": 7, \"abcdf\": 8, \"abcdefghij\": 9}, "
	    "{\"xyz\": 1, \"abcde\": 2, \"abcdefghik\": 3}]' | from_json }}",
	    NULL, "[{'xyz': 1, 'abcde': 2, 'abcdefghij': 3}, "
	    "{'xyw': 4, 'abcde': 5, 'abcdefghij': 6}, "
	    "{'xyz': 7, 'abcdf': 8, 'abcdefghij': 9}, "
	    "{'xyz': 1, 'abcde': 2, 'abcdefghik': 3}]");
	/* stored into the render's own containers, used after the loop;
	 * an escaped string */
	ck_render("{% set ns = namespace(r=[]) %}{% for x in (s | from_json)"
	    " %}{% set ns.r = ns.r + [x] %}{% endfor %}{{ ns.r | tojson }}",
	    "{\"s\": \"[{\\\"k\\\": \\\"v\\\\\\\"w\\\"}, 3]\"}",
	    "[{\"k\": \"v\\\"w\"}, 3]");
	/* a template naming a mutating method counts its values */
	ck_render("{% set d = '{\"l\": [1]}' | from_json %}"
	    "{% set _ = d.l.append(2) %}{{ d.l }}", NULL, "[1, 2]");
	/* a method reached by a computed name: before from_json it runs
	 * (and the arena is not used after it), after it fails */
	ck_render("{% set l = [] %}{{ l['app' ~ 'end'](1) }}"
	    "{% set d = '[5]' | from_json %}{{ l }}{{ d }}", NULL,
	    "None[1][5]");
	ck_render_err("{% set d = '[5]' | from_json %}{% set l = [] %}"
	    "{{ l['app' ~ 'end'](d) }}", NULL, 1, 0, "cannot modify");
	/* a document too big for what is left of the arena's cap (eight
	 * times the output limit: 128 KiB here) is parsed again into
	 * counted values */
	big = malloc(3 * n + 3);
	ck_assert_ptr_nonnull(big);
	big[0] = '[';
	for (i = 0; i < n; i++)
		memcpy(big + 1 + 3 * i, i + 1 < n ? "[]," : "[] ", 3);
	big[3 * n] = ']';
	big[3 * n + 1] = '\0';
	ck_assert_int_ne(asprintf(&ctx, "{\"s\": \"%s\"}", big), -1);
	got = render_lim("{% set d = s | from_json %}{{ d | length }} "
	    "{{ d[2499] }}", ctx, &lim);
	ck_assert_msg(got != NULL, "%s", terr.te_msg);
	ck_assert_str_eq(got, "2500 []");
	free(got);
	free(ctx);
	free(big);
}
END_TEST

/* tmpl rendered with s, a str of doc's bytes, in its context */
static char *
json_doc_render(const char *tmpl, const char *doc)
{
	char	*ctx, *q, *got;
	size_t	 i;

	/* {"s": doc}, its quotes, backslashes and controls escaped */
	ctx = malloc(6 * strlen(doc) + 16);
	ck_assert_ptr_nonnull(ctx);
	q = stpcpy(ctx, "{\"s\": \"");
	for (i = 0; doc[i] != '\0'; i++) {
		if ((unsigned char)doc[i] < 0x20) {
			q += sprintf(q, "\\u%04x", (unsigned char)doc[i]);
			continue;
		}
		if (doc[i] == '"' || doc[i] == '\\')
			*q++ = '\\';
		*q++ = doc[i];
	}
	strcpy(q, "\"}");
	got = render(tmpl, ctx);
	free(ctx);
	return got;
}

/*
 * Objects opened in their previous sibling's shape (json_parse.c) take
 * the sibling's entries key by key and stop at the mark after its last:
 * a key past it, a repeated one, fewer keys, nested shapes, an index.
 */
START_TEST(render_json_shaped_end)
{
	static const struct {
		const char	*doc;
		const char	*want;
	} cases[] = {
		{ "[{\"a\": 1, \"b\": 2}, {\"a\": 3, \"b\": 4, \"c\": 5}, "
		    "{\"a\": 6, \"b\": 7}]",
		    "[{'a': 1, 'b': 2}, {'a': 3, 'b': 4, 'c': 5}, "
		    "{'a': 6, 'b': 7}]" },
		{ "[{\"a\": 1, \"b\": 2}, {\"a\": 3, \"b\": 4, \"a\": 5}, "
		    "{\"a\": 6, \"b\": 7}]",
		    "[{'a': 1, 'b': 2}, {'a': 5, 'b': 4}, {'a': 6, 'b': 7}]" },
		{ "[{\"a\": 1, \"b\": 2}, {\"a\": 3}, {\"a\": 4, \"b\": 5}, "
		    "{\"a\": 6, \"b\": 7}]",
		    "[{'a': 1, 'b': 2}, {'a': 3}, {'a': 4, 'b': 5}, "
		    "{'a': 6, 'b': 7}]" },
		{ "[{\"a\": 1}, {}, {\"a\": 2}, {\"a\": 3, \"a\": 4}]",
		    "[{'a': 1}, {}, {'a': 2}, {'a': 4}]" },
		{ "[{\"a\": {\"x\": 1, \"y\": 2}, \"b\": 1}, "
		    "{\"a\": {\"x\": 3, \"y\": 4}, \"b\": 2}, "
		    "{\"a\": {\"x\": 5, \"y\": 6, \"z\": 7}, \"b\": 3}, "
		    "{\"a\": {\"x\": 8}, \"b\": 4}, "
		    "{\"a\": {\"x\": 9, \"y\": 0}, \"b\": 5}]",
		    "[{'a': {'x': 1, 'y': 2}, 'b': 1}, "
		    "{'a': {'x': 3, 'y': 4}, 'b': 2}, "
		    "{'a': {'x': 5, 'y': 6, 'z': 7}, 'b': 3}, "
		    "{'a': {'x': 8}, 'b': 4}, {'a': {'x': 9, 'y': 0}, 'b': 5}]" },
	};
	/* keys against the end of the document, and errors past the mark */
	static const struct {
		const char	*doc;
		const char	*msg;
	} errs[] = {
		{ "[{\"abcd\": 1}, {\"ab",
		    "Unterminated string starting at: line 1 column 16 (char 15)" },
		{ "[{\"abcd\": 1}, {\"abcd\"",
		    "Expecting ':' delimiter: line 1 column 22 (char 21)" },
		{ "[{\"abcd\": 1}, {\"abcd\": 2",
		    "Expecting ',' delimiter: line 1 column 25 (char 24)" },
		{ "[{\"abcd\": 1}, {\"abcd\": 2, \"abcd",
		    "Unterminated string starting at: line 1 column 27 (char 26)" },
		{ "[{\"abcd\": 1}, {\"abcd\": 2, \"",
		    "Unterminated string starting at: line 1 column 27 (char 26)" },
	};
	/* each prefix and each byte replaced: the counted parse agrees */
	static const char	 doc[] = "[{\"id\": 1, \"name\": \"x\", \"n\": "
	    "{\"p\": 1, \"q\": [2]}}, {\"id\": 2, \"name\": \"y\", \"n\": "
	    "{\"p\": 3, \"q\": []}, \"extra\": 4}, {\"id\": 3, \"name\": "
	    "\"z\", \"n\": {\"p\": 5}}, {\"id\": 4, \"name\": \"w\"}]";
	static const char	 subst[] = "},\"] :{";
	char			 buf[sizeof(doc)], *a, *b, amsg[256];
	size_t			 i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = json_doc_render("{{ s | from_json }}", cases[i].doc);
		ck_assert_msg(a != NULL, "%s: %s", cases[i].doc, terr.te_msg);
		ck_assert_str_eq(a, cases[i].want);
		free(a);
	}
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		a = json_doc_render("{{ s | from_json }}", errs[i].doc);
		ck_assert_msg(a == NULL, "%s: got '%s'", errs[i].doc, a);
		ck_assert_msg(strstr(terr.te_msg, errs[i].msg) != NULL,
		    "%s: '%s' lacks '%s'", errs[i].doc, terr.te_msg,
		    errs[i].msg);
	}
	/* more keys than a scanned dict holds: the index and hashes are
	 * the sibling's (a computed name is found through them) */
	a = json_doc_render("{% for r in s | from_json %}{{ r.a }},"
	    "{{ r['e' ~ ''] }},{{ r['j' ~ ''] }},{{ r | length }};"
	    "{% endfor %}", "[{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4, "
	    "\"e\": 5, \"f\": 6, \"g\": 7, \"h\": 8, \"i\": 9, \"j\": 10}, "
	    "{\"a\": 11, \"b\": 12, \"c\": 13, \"d\": 14, \"e\": 15, "
	    "\"f\": 16, \"g\": 17, \"h\": 18, \"i\": 19, \"j\": 20}, "
	    "{\"a\": 21, \"b\": 22, \"c\": 23, \"d\": 24, \"e\": 25, "
	    "\"f\": 26, \"g\": 27, \"h\": 28, \"i\": 29, \"j\": 30, "
	    "\"k\": 31}, {\"a\": 41, \"b\": 42, \"c\": 43, \"d\": 44, "
	    "\"e\": 45, \"f\": 46, \"g\": 47, \"h\": 48, \"i\": 49}]");
	ck_assert_msg(a != NULL, "%s", terr.te_msg);
	ck_assert_str_eq(a, "1,5,10,10;11,15,20,10;21,25,30,11;41,45,,9;");
	free(a);
	for (i = 0; i < sizeof(doc) * sizeof(subst); i++) {
		memcpy(buf, doc, sizeof(doc));
		j = i / sizeof(subst);
		/* the whole document, once; its NUL stays */
		if (j == sizeof(doc) - 1 && i % sizeof(subst) != 0)
			continue;
		if (i % sizeof(subst) == 0)
			buf[j] = '\0';
		else
			buf[j] = subst[i % sizeof(subst) - 1];
		a = json_doc_render("{{ s | from_json }}", buf);
		snprintf(amsg, sizeof(amsg), "%s", a == NULL ? terr.te_msg : "");
		/* naming a mutating method: counted values, no shapes */
		b = json_doc_render("{{ s | from_json }}"
		    "{% set m = 'append' %}", buf);
		ck_assert_msg((a == NULL) == (b == NULL), "%s: '%s' '%s'",
		    buf, a ? a : amsg, b ? b : terr.te_msg);
		if (a != NULL)
			ck_assert_str_eq(a, b);
		else
			ck_assert_str_eq(amsg, terr.te_msg);
		free(a);
		free(b);
	}
}
END_TEST

/*
 * Strings are scanned sixteen bytes at a time for a quote, a backslash
 * or a control byte (json_parse.c, jp_scan): each of them, and the bytes
 * next to them in value, at every offset of strings around that width,
 * as a value that ends the document and as a key; and documents that
 * end inside a string.
 */
START_TEST(render_json_scan)
{
	static const size_t	 lens[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17,
	    18, 31, 32, 33, 34, 47, 48, 49 };
	/* what goes in, what tojson gives back (NULL: a control's error) */
	static const struct {
		const char	*in;
		const char	*out;
	} kinds[] = {
		{ "\\\"", "\\\"" }, { "\\\\", "\\\\" }, { "\\/", "/" },
		{ "\\u0001", "\\u0001" }, { "\\n", "\\n" }, { "\x01", NULL },
		{ "\x1f", NULL }, { "\t", NULL }, { " ", " " }, { "!", "!" },
		{ "#", "#" }, { "[", "[" }, { "]", "]" }, { "\x7f", "\\u007f" },
		{ "\xc3\xa9", "\\u00e9" },
	};
	static const char	 pad[] = "aaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa";
	char			 doc[128], want[256], msg[128], *got;
	size_t			 l, i, k, n, pos;
	int			 key;

	for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		n = lens[l];
		for (i = 0; i < n * sizeof(kinds) / sizeof(kinds[0]) * 2; i++) {
			key = i % 2;
			k = i / 2 % n;
			pos = (size_t)key + 1 + k;
			snprintf(doc, sizeof(doc), "%s\"%.*s%s%.*s\"%s",
			    key ? "{" : "", (int)k, pad, kinds[i / 2 / n].in,
			    (int)(n - k - 1), pad, key ? ": 1}" : "");
			got = json_doc_render("{{ s | from_json | tojson }}",
			    doc);
			if (kinds[i / 2 / n].out == NULL) {
				snprintf(msg, sizeof(msg), "Invalid control "
				    "character at: line 1 column %zu (char %zu)",
				    pos + 1, pos);
				ck_assert_msg(got == NULL, "%s: got '%s'", doc,
				    got);
				ck_assert_msg(strstr(terr.te_msg, msg) != NULL,
				    "%s: '%s' lacks '%s'", doc, terr.te_msg,
				    msg);
				continue;
			}
			snprintf(want, sizeof(want), "%s\"%.*s%s%.*s\"%s",
			    key ? "{" : "", (int)k, pad, kinds[i / 2 / n].out,
			    (int)(n - k - 1), pad, key ? ": 1}" : "");
			ck_assert_msg(got != NULL, "%s: %s", doc, terr.te_msg);
			ck_assert_str_eq(got, want);
			free(got);
		}
		/* the document ends inside the string, or in an escape */
		for (i = 0; i < 4; i++) {
			snprintf(doc, sizeof(doc), "%s\"%.*s%s", i % 2 ? "{" :
			    "", (int)n, pad, i / 2 ? "\\" : "");
			snprintf(msg, sizeof(msg), "Unterminated string "
			    "starting at: line 1 column %zu (char %zu)",
			    i % 2 + 1, i % 2);
			got = json_doc_render("{{ s | from_json }}", doc);
			ck_assert_msg(got == NULL, "%s: got '%s'", doc, got);
			ck_assert_msg(strstr(terr.te_msg, msg) != NULL,
			    "%s: '%s' lacks '%s'", doc, terr.te_msg, msg);
		}
	}
}
END_TEST

/*
 * The children of open containers are kept on the C stack up to 128
 * (json_parse.c, jp_local), then on the heap: a list and an object of
 * more, in the arena and counted, each child in its place.
 */
START_TEST(render_json_stack)
{
	static const char *const	 tmpls[] = {
		"{% set d = s | from_json %}{{ d[0] | sum }} {{ d[0][0] }} "
		    "{{ d[0][127] }} {{ d[0][128] }} {{ d[0][299] }} "
		    "{{ d[1] | length }} {{ d[1].k0 }} {{ d[1].k199 }} "
		    "{{ d[1] | dictsort | map('last') | sum }}",
		"{% set d = s | from_json %}{{ d[0] | sum }} {{ d[0][0] }} "
		    "{{ d[0][127] }} {{ d[0][128] }} {{ d[0][299] }} "
		    "{{ d[1] | length }} {{ d[1].k0 }} {{ d[1].k199 }} "
		    "{{ d[1] | dictsort | map('last') | sum }}"
		    "{% set m = 'append' %}",
	};
	char	 doc[8192], *q, *got;
	size_t	 i;

	q = stpcpy(doc, "[[");
	for (i = 0; i < 300; i++)
		q += sprintf(q, "%s%zu", i ? "," : "", i + 1);
	q = stpcpy(q, "], {");
	for (i = 0; i < 200; i++)
		q += sprintf(q, "%s\"k%zu\": %zu", i ? ", " : "", i, 2 * i);
	strcpy(q, "}]");
	for (i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
		got = json_doc_render(tmpls[i], doc);
		ck_assert_msg(got != NULL, "%s", terr.te_msg);
		ck_assert_str_eq(got, "45150 1 128 129 300 200 0 398 39800");
		free(got);
	}
}
END_TEST

/* --- sandbox limits ------------------------------------------------------ */

START_TEST(sandbox_steps)
{
	struct tmpl_limits	 lim = { 10000, 0, 0 };
	char			*r;

	r = render_lim("{% for i in range(100000) %}{% for j in range(100000) %}"
	    "{% endfor %}{% endfor %}", NULL, &lim);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "step limit"));
	/* the default budget stops an unbounded-looking render too */
	r = render("{% for i in range(100000) %}{% for j in range(100000) %}"
	    "{% endfor %}{% endfor %}", NULL);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "step limit"));
}
END_TEST

START_TEST(sandbox_output)
{
	struct tmpl_limits	 lim = { 0, 1000, 0 };
	char			*r;

	r = render_lim("{% for i in range(1000) %}xx{% endfor %}", NULL, &lim);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "output limit"));
	r = render_lim("{{ 'x' * 100000 }}", NULL, &lim);
	ck_assert_ptr_null(r);
	r = render("{{ 'x' * 100000000000 }}", NULL);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "limit"));
	/* a huge repr or JSON stops while it is being built */
	r = render("{{ [[1] * 500000] * 500000 }}", NULL);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "output limit"));
	r = render("{{ ([[1] * 500000] * 500000) | tojson }}", NULL);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "output limit"));
	/* rows of ints and strs reach the limit inside one list or dict */
	r = render_lim("{{ range(400) | list | tojson }}", NULL, &lim);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "output limit"));
	r = render_lim("{{ (['abcdef'] * 400) | tojson }}", NULL, &lim);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "output limit"));
	r = render_lim("{% set d = {} %}{% for i in range(400) %}{% set _ = "
	    "d.update({i | string: i}) %}{% endfor %}{{ d | json_encode }}",
	    NULL, &lim);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "output limit"));
	r = render_lim("{{ range(10) | join(',') }}", NULL, &lim);
	ck_assert_str_eq(r, "0,1,2,3,4,5,6,7,8,9");
	free(r);
}
END_TEST

/*
 * Printing a function, a bound method or a macro must not show a heap
 * address: response output reaches the browser, and a pointer there would
 * leak the worker's address-space layout (and vary between renders).
 */
START_TEST(sandbox_no_address)
{
	static const char *const srcs[] = {
		"{{ range }}", "{{ {'a': 1}.items }}", "{{ 'x'.upper }}",
		"{{ [1].append }}", "{{ now }}", "{{ namespace }}",
		"{% macro m() %}{% endmacro %}{{ m }}",
		"{{ [range, 'x'.upper] }}", "{{ range | string }}",
		"{{ '%s' % range }}", "{{ {'f': 'x'.lower} }}",
	};
	const char	*p;
	char		*got;
	size_t		 i;

	for (i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		got = render(srcs[i], NULL);
		ck_assert_msg(got != NULL, "%s: %s", srcs[i], terr.te_msg);
		/* only the fixed "0x0" may appear, never a real pointer */
		for (p = got; (p = strstr(p, "0x")) != NULL; p += 2)
			ck_assert_msg(p[2] == '0' && !isxdigit((unsigned char)
			    p[3]), "%s printed an address: %s", srcs[i], got);
		free(got);
	}
	ck_render("{{ range }}|{{ 'ab'.upper }}", NULL,
	    "<function range at 0x0>|"
	    "<built-in method upper of str object at 0x0>");
}
END_TEST

START_TEST(sandbox_depth)
{
	struct tmpl_limits	 lim = { 0, 0, 8 };
	char			*r;

	r = render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
	    NULL);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "nesting limit"));
	r = render_lim("{% for a in [1] %}{% for b in [1] %}{% for c in [1] %}"
	    "{% for d in [1] %}{% for e in [1] %}{% for f in [1] %}"
	    "{% for g in [1] %}{% for h in [1] %}{% for i in [1] %}x"
	    "{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
	    "{% endfor %}{% endfor %}{% endfor %}{% endfor %}", NULL, &lim);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "nesting limit"));
	r = render("{{ range(1000000) }}", NULL);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "Range too big"));
}
END_TEST

START_TEST(sandbox_deep_data)
{
	char	*r;

	/* deep data built by a template: repr fails cleanly, free is iterative */
	r = render("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}"
	    "{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x | length }}", NULL);
	ck_assert_str_eq(r, "1");
	free(r);
	r = render("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}"
	    "{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}", NULL);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "recursion"));
}
END_TEST

/* --- symbolic secrets ---------------------------------------------------- */

static struct tmpl_output *
render_out(const char *src, struct tmpl **tp)
{
	struct tmpl_env		 env;
	struct tmpl_output	*o;

	memset(&env, 0, sizeof(env));
	env.te_now = 1700000000;
	*tp = compile_ok(src);
	o = tmpl_render(*tp, &env, &terr);
	ck_assert_msg(o != NULL, "%s: %s", src, terr.te_msg);
	return o;
}

static int
lookup_secret(const char *name, const void **val, size_t *len, void *arg)
{
	if (strcmp(name, "tok") == 0) {
		*val = "s3cr3t/+";
		*len = 8;
		return 0;
	}
	return -1;
}

START_TEST(secret_tree)
{
	struct tmpl		*t;
	struct tmpl_output	*o;
	struct tsecret		*ts;
	char			*lit, *val, err[128];
	size_t			 len;

	o = render_out("Bearer {{ get_secret('tok') }}!", &t);
	ck_assert_int_eq(o->to_has_secret, 1);
	ck_assert_ptr_null(tmpl_output_text(o, NULL));
	ck_assert_uint_eq(o->to_nsegs, 3);
	ck_assert_uint_eq(o->to_segs[0].sg_len, 7);
	ck_assert(memcmp(o->to_segs[0].sg_data, "Bearer ", 7) == 0);
	ts = o->to_segs[1].sg_secret;
	ck_assert_ptr_nonnull(ts);
	ck_assert_int_eq(ts->ts_op, TSX_SECRET);
	ck_assert_str_eq(ts->ts_data, "tok");
	lit = tsecret_literal(ts);
	ck_assert_str_eq(lit, "{{ get_secret('tok') }}");
	free(lit);
	tmpl_output_free(o);
	tmpl_free(t);

	/* concatenation, urlencode and base64 nest into one tree */
	o = render_out("{% set k = 'Basic ' ~ ('u:' ~ get_secret('tok')) | "
	    "base64_encode %}{{ k }}&q={{ get_secret('tok') | urlencode }}", &t);
	ck_assert_uint_eq(o->to_nsegs, 3);
	ts = o->to_segs[0].sg_secret;
	ck_assert_int_eq(ts->ts_op, TSX_CONCAT);
	ck_assert_int_eq(ts->ts_kids[0]->ts_op, TSX_LITERAL);
	ck_assert_int_eq(ts->ts_kids[1]->ts_op, TSX_BASE64);
	val = keeper_secret_eval(ts, lookup_secret, NULL, &len, err,
	    sizeof(err));
	ck_assert_str_eq(val, "Basic dTpzM2NyM3QvKw==");
	free(val);
	ts = o->to_segs[2].sg_secret;
	ck_assert_int_eq(ts->ts_op, TSX_URLENCODE);
	val = keeper_secret_eval(ts, lookup_secret, NULL, &len, err,
	    sizeof(err));
	ck_assert_str_eq(val, "s3cr3t/%2B");
	free(val);
	tmpl_output_free(o);
	tmpl_free(t);

	/* a missing secret leaves its expression in place */
	o = render_out("{{ get_secret('nope') }}", &t);
	val = keeper_secret_eval(o->to_segs[0].sg_secret, lookup_secret, NULL,
	    &len, err, sizeof(err));
	ck_assert_str_eq(val, "{{ get_secret('nope') }}");
	free(val);
	tmpl_output_free(o);
	tmpl_free(t);
}
END_TEST

/*
 * A secret output twice is copied twice (tsecret_dup): each copy its own
 * node, its name and literal in that node's block, freed with it.
 */
START_TEST(secret_copies)
{
	struct tmpl		*t;
	struct tmpl_output	*o;
	const struct tsecret	*a, *b;
	char			*lit, *va, *vb, err[128];
	size_t			 len, i;

	o = render_out("{% set k = get_secret('tok') %}{{ k }}-{{ k }}", &t);
	ck_assert_uint_eq(o->to_nsegs, 3);
	a = o->to_segs[0].sg_secret;
	b = o->to_segs[2].sg_secret;
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_ne(a->ts_data, b->ts_data);
	for (i = 0; i < 2; i++) {
		const struct tsecret	*ts = i == 0 ? a : b;

		ck_assert_int_eq(ts->ts_op, TSX_SECRET);
		ck_assert_str_eq(ts->ts_data, "tok");
		ck_assert_uint_eq(ts->ts_len, 3);
		ck_assert_str_eq(ts->ts_literal, "{{ get_secret('tok') }}");
		ck_assert_uint_eq(ts->ts_inl, TS_INL_DATA | TS_INL_LITERAL);
		/* both strings sit right after the node */
		ck_assert_ptr_eq(ts->ts_data, (const char *)(ts + 1));
		ck_assert_ptr_eq(ts->ts_literal, ts->ts_data + 4);
		lit = tsecret_literal(ts);
		ck_assert_str_eq(lit, "{{ get_secret('tok') }}");
		free(lit);
	}
	tmpl_output_free(o);
	tmpl_free(t);

	/* a JWT's copy: payload and literal inline, alg and headers not */
	o = render_out("{% set j = jwt_encode({'sub': 'x'}, get_secret('tok'), "
	    "'HS256') %}{{ j }}.{{ j }}", &t);
	ck_assert_uint_eq(o->to_nsegs, 3);
	a = o->to_segs[0].sg_secret;
	b = o->to_segs[2].sg_secret;
	ck_assert_int_eq(b->ts_op, TSX_JWT);
	ck_assert_str_eq(b->ts_alg, "HS256");
	ck_assert_ptr_ne(a->ts_alg, b->ts_alg);
	ck_assert_str_eq(a->ts_data, b->ts_data);
	ck_assert_int_eq(b->ts_kids[0]->ts_op, TSX_SECRET);
	va = keeper_secret_eval(a, lookup_secret, NULL, &len, err,
	    sizeof(err));
	vb = keeper_secret_eval(b, lookup_secret, NULL, &len, err,
	    sizeof(err));
	ck_assert_ptr_nonnull(va);
	ck_assert_ptr_nonnull(vb);
	ck_assert_str_eq(va, vb);
	free(va);
	free(vb);
	tmpl_output_free(o);
	tmpl_free(t);
}
END_TEST

START_TEST(secret_jwt)
{
	struct tmpl		*t;
	struct tmpl_output	*o;
	struct tsecret		*ts;
	char			*val, *plain, err[128];
	size_t			 len;

	o = render_out("{{ jwt_encode({'sub': 'x', 'iat': now()}, "
	    "get_secret('tok'), 'HS256', {'kid': 'k1'}) }}", &t);
	ts = o->to_segs[0].sg_secret;
	ck_assert_int_eq(ts->ts_op, TSX_JWT);
	ck_assert_str_eq(ts->ts_alg, "HS256");
	ck_assert_str_eq(ts->ts_headers, "{\"alg\":\"HS256\",\"kid\":\"k1\","
	    "\"typ\":\"JWT\"}");
	ck_assert_ptr_nonnull(strstr(ts->ts_data, "{\"sub\":\"x\",\"iat\":"));
	val = keeper_secret_eval(ts, lookup_secret, NULL, &len, err,
	    sizeof(err));
	ck_assert_ptr_nonnull(val);
	tmpl_output_free(o);
	tmpl_free(t);
	/* the keeper's result equals signing in the worker with the value */
	plain = render("{{ jwt_encode({'sub': 'x', 'iat': now()}, 's3cr3t/+', "
	    "'HS256', {'kid': 'k1'}) }}", NULL);
	ck_assert_ptr_nonnull(plain);
	ck_assert_str_eq(val, plain);
	free(val);
	free(plain);
	/* Ed25519 signs deterministically (verified with openssl pkeyutl) */
	ck_render("{{ jwt_encode({'sub': 'x'}, k, 'EdDSA', {'kid': 'k1'}) }}",
	    "{\"k\": \"-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIBAvr"
	    "KmbtdzYaS+VRcZNKVtgFrZuLZkK7ilmG2xpMIvp\\n-----END PRIVATE "
	    "KEY-----\\n\"}",
	    "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0."
	    "toPKZ8EoBdf0eb7otKlDwJ-9RH-Sal_oEJEMw2BNnospoL7-cc14_FA9iLyIOGi5w25M"
	    "PNDflld48jvk2Hl2Dg");
	ck_render_err("{{ jwt_encode({'a': 1}, 'not a pem', 'RS256') }}", NULL,
	    1, 0, "PEM");
	ck_render_err("{{ jwt_encode({'a': 1}, 'k', 'HS999') }}", NULL, 1, 0,
	    "not supported");
	/* the HS256 vector of jwt.io-style libraries (HMAC checked in Python) */
	ck_render("{{ jwt_encode({'a': 1}, 'k', 'HS256') }}", NULL,
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ."
	    "HYfzqBpLbCOo950TeHdytWxg8UHtAmEQCW7ITVky6Gc");
}
END_TEST

START_TEST(secret_rejections)
{
	static const char *const bad[] = {
		"{{ get_secret('a') | upper }}",
		"{{ get_secret('a') | length }}",
		"{% if get_secret('a') %}x{% endif %}",
		"{{ get_secret('a') == 'x' }}",
		"{{ get_secret('a')[0:2] }}",
		"{% for c in get_secret('a') %}{% endfor %}",
		"{{ {get_secret('a'): 1} }}",
		"{% set t = get_secret('a') %}{{ t | lower }}",
		"{% set t %}{{ get_secret('a') }}{% endset %}{{ t | trim }}",
		"{{ jwt_encode({'k': get_secret('a')}, 'x', 'HS256') }}",
		"{% set f = get_secret %}{{ f('a') }}",
		"{% set ns = namespace() %}{% set ns.s = get_secret('a') %}",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(tmpl_compile(bad[i], strlen(bad[i]), &terr) ==
		    NULL, "%s compiled", bad[i]);
		ck_assert_msg(strstr(terr.te_msg, "may only be output") != NULL,
		    "%s: %s", bad[i], terr.te_msg);
		ck_assert_int_eq(terr.te_line, 1);
		ck_assert_int_gt(terr.te_col, 1);
	}
	/* the position is the secret's use */
	ck_assert_ptr_null(tmpl_compile("x\n  {{ get_secret('a') | upper }}",
	    strlen("x\n  {{ get_secret('a') | upper }}"), &terr));
	ck_assert_int_eq(terr.te_line, 2);
	ck_assert_int_eq(terr.te_col, 6);
}
END_TEST

/* --- usage and validation ------------------------------------------------ */

/*
 * The worker builds response.headers only for a template that may read
 * them: any use of response but .body and .status_code (by attribute or
 * literal key) counts.
 */
START_TEST(usage_response_whole)
{
	static const struct {
		const char	*src;
		int		 whole;
	} cases[] = {
		{ "{{ response.body }}{{ response.status_code }}", 0 },
		{ "{{ response['body'] | from_json }}", 0 },
		{ "{% set rows = (response.body | from_json)['items'] %}"
		    "{% for r in rows %}{{ r.id }}{% endfor %}", 0 },
		{ "{{ tenant_id }}", 0 },
		{ "{{ response.headers['x-a'] }}", 1 },
		{ "{{ response.body }}{{ response['headers'] }}", 1 },
		{ "{{ response }}", 1 },
		{ "{{ response | tojson }}", 1 },
		{ "{{ response[key] }}", 1 },
		{ "{% for k in response %}{{ k }}{% endfor %}", 1 },
		{ "{% set r = response %}{{ r.headers }}", 1 },
		{ "{{ response | attr('headers') }}", 1 },
		{ "{% macro m(x) %}{{ x.headers }}{% endmacro %}"
		    "{{ m(response) }}", 1 },
		{ "{% macro m() %}{{ response.headers }}{% endmacro %}{{ m() }}",
		    1 },
		{ "{{ response.keys() | list }}", 1 },
	};
	struct tmpl	*t;
	size_t		 i;
	int		 whole;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = compile_ok(cases[i].src);
		whole = (tmpl_usage(t)->tu_flags &
		    TMPL_USES_RESPONSE_WHOLE) != 0;
		ck_assert_msg(whole == cases[i].whole, "%s: %d", cases[i].src,
		    whole);
		tmpl_free(t);
	}
}
END_TEST

START_TEST(usage_lists)
{
	struct tmpl			*t;
	const struct tmpl_usage		*u;

	t = compile_ok("{{ user.id }}/{{ pathParams.id }}/{{ pathParams['x'] }}"
	    "{{ get_variable('v1') }}{{ get_secret('s1') }}{{ get_secret('s1') }}"
	    "{{ get_variable(name) }}{{ tenant_id }}{{ now() }}");
	u = tmpl_usage(t);
	ck_assert_uint_eq(u->tu_flags, TMPL_USES_USER | TMPL_USES_PATHPARAMS |
	    TMPL_USES_VARIABLE | TMPL_USES_SECRET | TMPL_USES_TENANT |
	    TMPL_USES_NOW);
	ck_assert_uint_eq(u->tu_nsecrets, 1);
	ck_assert_str_eq(u->tu_secrets[0], "s1");
	ck_assert_uint_eq(u->tu_nvariables, 1);
	ck_assert_str_eq(u->tu_variables[0], "v1");
	ck_assert_int_eq(u->tu_dynamic_variable, 1);
	ck_assert_int_eq(u->tu_dynamic_secret, 0);
	ck_assert_uint_eq(u->tu_npathparams, 2);
	ck_assert_str_eq(u->tu_pathparams[1], "x");
	ck_assert_int_eq(u->tu_pathparam_line[0], 1);
	ck_assert_int_eq(u->tu_pathparam_col[0], 18);
	ck_assert_int_eq(tmpl_is_literal(t), 0);
	tmpl_free(t);
	t = compile_ok("just text");
	ck_assert_int_eq(tmpl_is_literal(t), 1);
	tmpl_free(t);
	/* A store into ns.attr looks the name up: a use of the global. */
	t = compile_ok("{% set user.x = 1 %}{% set tenant_id.y %}2{% endset %}");
	ck_assert_uint_eq(tmpl_usage(t)->tu_flags, TMPL_USES_USER |
	    TMPL_USES_TENANT);
	tmpl_free(t);
}
END_TEST

/*
 * A template that names nothing but get_secret() renders once; later
 * renders get copies of that output, never when the limits differ or a
 * global get_secret would be called instead of the builtin.
 */
START_TEST(const_memo)
{
	struct tmpl		*t;
	struct tmpl_env		 env;
	struct tmpl_output	*o[3];
	struct tval		*g;
	size_t			 i;

	memset(&env, 0, sizeof(env));
	t = compile_ok("Bearer {{ get_secret('tok') }}!");
	for (i = 0; i < 3; i++) {
		o[i] = tmpl_render(t, &env, &terr);
		ck_assert_ptr_nonnull(o[i]);
		ck_assert_uint_eq(o[i]->to_nsegs, 3);
		ck_assert(memcmp(o[i]->to_segs[0].sg_data, "Bearer ", 7) == 0);
		ck_assert_str_eq(o[i]->to_segs[1].sg_secret->ts_data, "tok");
		ck_assert_uint_eq(o[i]->to_segs[2].sg_len, 1);
		ck_assert_int_eq(o[i]->to_segs[2].sg_data[0], '!');
	}
	/* each its own: a plan takes the secret trees over */
	ck_assert_ptr_ne(o[1]->to_segs[1].sg_secret, o[2]->to_segs[1].sg_secret);
	ck_assert_ptr_ne(o[1]->to_segs[0].sg_data, o[2]->to_segs[0].sg_data);
	tmpl_output_free(o[1]);
	ck_assert_str_eq(o[2]->to_segs[1].sg_secret->ts_data, "tok");
	tmpl_output_free(o[0]);
	tmpl_output_free(o[2]);

	/* other limits: rendered, and refused over them */
	env.te_limits.tl_output = 4;
	ck_assert_ptr_null(tmpl_render(t, &env, &terr));
	env.te_limits.tl_output = 0;

	/* a global get_secret is what the name calls */
	g = tval_dict();
	ck_assert_int_eq(tval_dict_set(g, "get_secret", tval_str("x", 1)), 0);
	env.te_globals = g;
	ck_assert_ptr_null(tmpl_render(t, &env, &terr));
	tval_unref(g);
	tmpl_free(t);

	/* a template that names anything else renders every time */
	t = compile_ok("{{ get_secret('tok') }}{{ x }}");
	for (i = 1; i <= 2; i++) {
		g = tval_dict();
		ck_assert_int_eq(tval_dict_set(g, "x", tval_int((int64_t)i)),
		    0);
		env.te_globals = g;
		o[0] = tmpl_render(t, &env, &terr);
		ck_assert_ptr_nonnull(o[0]);
		ck_assert_uint_eq(o[0]->to_nsegs, 2);
		ck_assert_int_eq(o[0]->to_segs[1].sg_data[0], '0' + (int)i);
		tmpl_output_free(o[0]);
		tval_unref(g);
	}
	tmpl_free(t);
}
END_TEST

/* one row per expression: allowed fields as a bit mask over enum tmpl_field */
#define F(x)	(1u << TMPL_FIELD_##x)
#define ALLF	(F(URL) | F(HEADER) | F(QUERY) | F(AUTH) | F(REQUEST_BODY) | \
		 F(RESPONSE_BODY) | F(STEP_URL) | F(STEP_REQUEST_BODY) |   \
		 F(STEP_HEADER) | F(STEP_RESPONSE_BODY))

START_TEST(validate_matrix)
{
	static const struct {
		const char	*src;
		unsigned int	 allowed;
	} rows[] = {
		{ "{{ user.email }}", ALLF },
		{ "{{ tenant_id }}", ALLF },
		{ "{{ now() }}", ALLF },
		{ "{{ get_secret('s') }}", F(HEADER) | F(QUERY) | F(AUTH) |
		    F(STEP_HEADER) },
		{ "{{ get_variable('v') }}", F(URL) | F(HEADER) | F(QUERY) |
		    F(AUTH) | F(STEP_URL) | F(STEP_REQUEST_BODY) |
		    F(STEP_HEADER) | F(STEP_RESPONSE_BODY) },
		{ "{{ jwt_encode({}, 'k', 'HS256') }}", ALLF &
		    ~(F(RESPONSE_BODY) | F(STEP_RESPONSE_BODY)) },
		{ "{{ body_text }}", F(REQUEST_BODY) },
		{ "{{ body_raw }}", F(REQUEST_BODY) },
		{ "{{ response.body }}", F(RESPONSE_BODY) |
		    F(STEP_RESPONSE_BODY) },
		{ "{{ pathParams.id }}", F(URL) },
		{ "{{ steps.a.body }}", F(STEP_URL) | F(STEP_REQUEST_BODY) |
		    F(STEP_HEADER) | F(STEP_RESPONSE_BODY) },
		{ "{{ request.body_text }}", F(STEP_URL) | F(STEP_REQUEST_BODY) |
		    F(STEP_HEADER) | F(STEP_RESPONSE_BODY) },
	};
	size_t		 i;
	int		 f;
	struct tmpl	*t;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		t = compile_ok(rows[i].src);
		for (f = TMPL_FIELD_URL; f <= TMPL_FIELD_STEP_RESPONSE_BODY;
		    f++) {
			int	 ok;

			if (f == TMPL_FIELD_URL_HOST)
				continue;
			memset(&terr, 0, sizeof(terr));
			ok = tmpl_validate(t, (enum tmpl_field)f, &terr);
			ck_assert_msg(ok == (int)((rows[i].allowed >> f) & 1),
			    "%s in field %d: %d (%s)", rows[i].src, f, ok,
			    terr.te_msg);
			if (!ok) {
				ck_assert_int_eq(terr.te_line, 1);
				ck_assert_int_eq(terr.te_col, 4);
				ck_assert_ptr_nonnull(strstr(terr.te_msg,
				    "not allowed in"));
			}
		}
		tmpl_free(t);
	}
}
END_TEST

START_TEST(validate_host)
{
	static const struct {
		const char	*src;
		int		 ok;
	} rows[] = {
		{ "api.example.com", 1 },
		{ "{{ get_variable('host') }}", 1 },
		{ "{{ get_variable('region') }}.api.example.com", 1 },
		{ "{{ get_variable('h') | default('a.example.com') }}", 1 },
		{ "{{ get_variable('h') | default('a.example.com', true) }}", 1 },
		{ "{{ get_variable('h') | d('a.example.com', True) }}", 1 },
		{ "{{ user.id }}.example.com", 0 },
		{ "{{ get_variable('h') | upper }}", 0 },
		{ "{{ get_variable(name) }}", 0 },
		{ "{{ get_variable('h') | default(user.email) }}", 0 },
		{ "{{ get_variable('h') | default('a', true, 1) }}", 0 },
		{ "{{ get_variable('h') | default('a', false) }}", 0 },
		{ "{% if x %}a{% endif %}.example.com", 0 },
		{ "{{ get_secret('h') }}", 0 },
	};
	size_t		 i;
	struct tmpl	*t;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		t = compile_ok(rows[i].src);
		ck_assert_msg(tmpl_validate(t, TMPL_FIELD_URL_HOST, &terr) ==
		    rows[i].ok, "%s: %s", rows[i].src, terr.te_msg);
		tmpl_free(t);
	}
	t = compile_ok("{{ user.id }}.example.com");
	tmpl_validate(t, TMPL_FIELD_URL_HOST, &terr);
	/* the message names the offending expression */
	ck_assert_ptr_nonnull(strstr(terr.te_msg, "{{ user.id }}"));
	tmpl_free(t);
}
END_TEST

START_TEST(variables)
{
	ck_render("https://{{ get_variable('host') }}/x", NULL,
	    "https://api.example.com/x");
	ck_render("{{ get_variable('nope') }}", NULL,
	    "{{ get_variable('nope') }}");
	ck_render("{{ get_variable('nope') | default('d.example.com') }}", NULL,
	    "d.example.com");
	ck_render("[{{ get_variable('empty') | default('d') }}]", NULL, "[]");
	ck_render("[{{ get_variable('empty') | default('d', true) }}]", NULL,
	    "[d]");
}
END_TEST

START_TEST(sandbox_escaping_macro)
{
	struct tval		*g = ctx_from("{\"g\": {}}");
	struct tmpl		*t1, *t2;
	struct tmpl_env		 env;
	struct tmpl_output	*o;

	/* a macro stored into the globals cannot be called after its render */
	t1 = compile_ok("{% macro m() %}x{% endmacro %}{{ g.update({'m': m}) }}"
	    "{{ g.m() }}");
	t2 = compile_ok("{{ g.m() }}");
	memset(&env, 0, sizeof(env));
	env.te_globals = g;
	o = tmpl_render(t1, &env, &terr);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(tmpl_output_text(o, NULL), "Nonex");
	tmpl_output_free(o);
	tmpl_free(t1);
	ck_assert_ptr_null(tmpl_render(t2, &env, &terr));
	ck_assert_msg(strstr(terr.te_msg, "no longer callable") != NULL, "%s",
	    terr.te_msg);
	tmpl_free(t2);
	tval_unref(g);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("template");
	TCase	*tc;

	tc = tcase_create("value");
	tcase_add_test(tc, value_json_roundtrip);
	tcase_add_test(tc, value_build_and_render);
	tcase_add_test(tc, value_borrowed_str);
	tcase_add_test(tc, value_python_spelling);
	tcase_add_test(tc, value_json_filters);
	tcase_add_test(tc, value_json_parse_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, parse_nesting_limit);
	tcase_add_test(tc, parse_whitespace);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, render_semantics);
	tcase_add_test(tc, render_semantics2);
	tcase_add_test(tc, render_errors);
	tcase_add_test(tc, render_loop_rebind);
	tcase_add_test(tc, render_cond_truth);
	tcase_add_test(tc, render_number_output);
	tcase_add_test(tc, render_tojson_str);
	tcase_add_test(tc, render_tojson_lengths);
	tcase_add_test(tc, render_getattr_name);
	tcase_add_test(tc, render_short_text);
	tcase_add_test(tc, render_mutation);
	tcase_add_test(tc, render_json_arena);
	tcase_add_test(tc, render_json_shaped_end);
	tcase_add_test(tc, render_json_scan);
	tcase_add_test(tc, render_json_stack);
	tcase_add_test(tc, render_built_strs_terminated);
	tcase_add_test(tc, variables);
	tcase_add_test(tc, render_row_attr);
	tcase_add_test(tc, render_row_loop_if);
	tcase_add_test(tc, render_row_text_before);
	tcase_add_test(tc, render_row_scope);
	tcase_add_test(tc, render_row_float);
	tcase_add_test(tc, render_row_arena_for);
	suite_add_tcase(s, tc);

	/* every byte at every position: seconds, minutes under valgrind */
	tc = tcase_create("tojson_bytes");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, render_tojson_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("sandbox");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sandbox_steps);
	tcase_add_test(tc, sandbox_output);
	tcase_add_test(tc, sandbox_no_address);
	tcase_add_test(tc, sandbox_depth);
	tcase_add_test(tc, sandbox_deep_data);
	tcase_add_test(tc, sandbox_escaping_macro);
	suite_add_tcase(s, tc);

	tc = tcase_create("secret");
	tcase_add_test(tc, secret_tree);
	tcase_add_test(tc, const_memo);
	tcase_add_test(tc, secret_copies);
	tcase_add_test(tc, secret_jwt);
	tcase_add_test(tc, secret_rejections);
	suite_add_tcase(s, tc);

	tc = tcase_create("validate");
	tcase_add_test(tc, usage_lists);
	tcase_add_test(tc, usage_response_whole);
	tcase_add_test(tc, validate_matrix);
	tcase_add_test(tc, validate_host);
	suite_add_tcase(s, tc);
	return s;
}
