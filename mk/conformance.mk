# conformance fragment (see Makefile.am)
#
# The template conformance suite (widgetctl render against Python Jinja2),
# the template engine benchmark and the template language manual.

TESTS += tests/template_conformance.sh
# The whole directory: run.py, the case files and their README, so that a
# new case file needs no edit here.
EXTRA_DIST += tests/template_conformance.sh tests/conformance

dist_man_MANS += man/widgetd-templates.7

# Template rendering against Jinja2, a benchmark and not a test: built by
# every `make` so it cannot rot; run it with contrib/bench/render.
noinst_PROGRAMS += contrib/bench/render-bench
contrib_bench_render_bench_SOURCES = contrib/bench/render-bench.c
contrib_bench_render_bench_LDADD = $(WD_LIBS)

EXTRA_DIST += contrib/bench/render contrib/bench/render-js.js \
	contrib/bench/templates
