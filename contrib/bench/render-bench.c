/*
 * render-bench.c — time widgetd's template engine on one template.
 *
 *	render-bench [-p | -n count | -S] [-t msec] [-r repeats]
 *	    [-v name=value]... [-T epoch] TEMPLATE CONTEXT.json
 *
 * Compiles TEMPLATE once, then renders it against the JSON context again
 * and again for at least msec milliseconds of CPU time (default 300),
 * `repeats' times (default 3), and prints the best run as
 *
 *	usec_per_render=U renders=N bytes=B compile_usec=C
 *
 * -p prints one render's output instead, so a driver can check that both
 * engines agree before it compares their speed.  -n renders exactly count
 * times and prints nothing: a fixed workload for callgrind.  -S serves a
 * driver that interleaves engines (contrib/bench/render): each line "MSEC"
 * on stdin runs one timed batch and answers one usec_per_render line; end
 * of input ends it.  Only the public API of template.h is used: this is
 * what the worker pays per render.  Times are CPU time of this process,
 * so a neighbour on a shared machine disturbs them less than wall time.
 */
#include "build.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "template/template.h"

#define BENCH_MAXVARS	32

struct bench_var {
	const char	*bv_name;
	const char	*bv_value;
};

struct bench_vars {
	struct bench_var bs_vars[BENCH_MAXVARS];
	int		 bs_nvars;
};

static void __attribute__((noreturn))
bench_usage(void)
{
	fprintf(stderr, "usage: render-bench [-p | -n count | -S] [-t msec] "
	    "[-r repeats] [-v name=value]... [-T epoch] TEMPLATE "
	    "CONTEXT.json\n");
	exit(2);
}

/* CPU time, not wall time: other jobs on the machine cost us less. */
static double
bench_now_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The whole file in a malloc'd buffer; NULL with errno on failure. */
static char *
bench_read_file(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				free(buf);
				buf = NULL;
				goto out;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		buf = NULL;
		goto out;
	}
	*lenp = len;
out:
	fclose(fp);
	return buf;
}

/* get_variable() for the engine: the -v table. */
static struct tval *
bench_get_variable(const char *name, void *arg)
{
	struct bench_vars	*bs = arg;
	int			 i;

	for (i = 0; i < bs->bs_nvars; i++)
		if (strcmp(bs->bs_vars[i].bv_name, name) == 0)
			return tval_str(bs->bs_vars[i].bv_value,
			    strlen(bs->bs_vars[i].bv_value));
	return NULL;
}

/* Render once; -1 and a message on failure, else the output length. */
static long
bench_render_once(const struct tmpl *t, const struct tmpl_env *env, int print)
{
	struct tmpl_error	 err;
	struct tmpl_output	*out;
	const char		*text;
	size_t			 len = 0;

	if ((out = tmpl_render(t, env, &err)) == NULL) {
		fprintf(stderr, "render-bench: %d:%d: %s\n", err.te_line,
		    err.te_col, err.te_msg);
		return -1;
	}
	text = tmpl_output_text(out, &len);
	if (print && text != NULL)
		fwrite(text, 1, len, stdout);
	tmpl_output_free(out);
	return (long)len;
}

/*
 * Renders for at least msec of CPU time after sizing a batch from a short
 * trial; the CPU microseconds per render, or -1.
 */
static double
bench_batch(const struct tmpl *t, const struct tmpl_env *env, double msec,
    long *np)
{
	double	 t0, t1;
	long	 n = 1, i;

	for (;;) {
		t0 = bench_now_usec();
		for (i = 0; i < n; i++)
			if (bench_render_once(t, env, 0) < 0)
				return -1;
		t1 = bench_now_usec() - t0;
		if (t1 >= msec * 1000 / 8 || n > (1L << 40))
			break;
		n *= 2;
	}
	if (t1 < msec * 1000) {
		n = (long)((double)n * (msec * 1000 - t1) /
		    (t1 > 0 ? t1 : 1)) + 1;
		t0 = bench_now_usec();
		for (i = 0; i < n; i++)
			if (bench_render_once(t, env, 0) < 0)
				return -1;
		t1 = bench_now_usec() - t0;
	}
	*np = n;
	return t1 / n;
}

/*
 * The driver's side of interleaving: one timed batch per request line, so
 * that every engine's rounds alternate and a noisy moment hits them all.
 */
static int
bench_serve(const struct tmpl *t, const struct tmpl_env *env)
{
	char	 line[64];
	double	 us, msec;
	long	 n;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if ((msec = atof(line)) <= 0)
			return 1;
		if ((us = bench_batch(t, env, msec, &n)) < 0)
			return 1;
		printf("usec_per_render=%.4f renders=%ld\n", us, n);
		fflush(stdout);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench_vars	 vars;
	struct tmpl_env		 env;
	struct tmpl_error	 err;
	struct tmpl		*t = NULL;
	struct json_object	*ctx = NULL;
	char			*src = NULL, *eq;
	size_t			 srclen;
	double			 t0, t1, compile_usec, best = -1, msec = 300;
	long			 bytes = 0, n, i, best_n = 0, count = 0;
	int			 ch, print = 0, serve = 0, repeats = 3, r, rc = 1;

	memset(&vars, 0, sizeof(vars));
	memset(&env, 0, sizeof(env));
	env.te_get_variable = bench_get_variable;
	env.te_variable_arg = &vars;
	env.te_now = 1700000000;

	while ((ch = getopt(argc, argv, "n:pr:St:T:v:")) != -1) {
		switch (ch) {
		case 'n':
			if ((count = atol(optarg)) <= 0)
				bench_usage();
			break;
		case 'p':
			print = 1;
			break;
		case 'S':
			serve = 1;
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 't':
			msec = atof(optarg);
			break;
		case 'T':
			env.te_now = (time_t)strtoll(optarg, NULL, 10);
			break;
		case 'v':
			if (vars.bs_nvars == BENCH_MAXVARS ||
			    (eq = strchr(optarg, '=')) == NULL)
				bench_usage();
			*eq = '\0';
			vars.bs_vars[vars.bs_nvars].bv_name = optarg;
			vars.bs_vars[vars.bs_nvars++].bv_value = eq + 1;
			break;
		default:
			bench_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || repeats < 1 || msec <= 0)
		bench_usage();
	if (print + serve + (count > 0) > 1)
		bench_usage();

	if ((src = bench_read_file(argv[0], &srclen)) == NULL) {
		fprintf(stderr, "render-bench: %s: %s\n", argv[0],
		    strerror(errno));
		goto out;
	}
	if ((ctx = json_object_from_file(argv[1])) == NULL) {
		fprintf(stderr, "render-bench: %s: %s\n", argv[1],
		    json_util_get_last_err());
		goto out;
	}
	if ((env.te_globals = tval_from_json(ctx)) == NULL) {
		fprintf(stderr, "render-bench: %s: not usable as a context\n",
		    argv[1]);
		goto out;
	}

	t0 = bench_now_usec();
	t = tmpl_compile(src, srclen, &err);
	compile_usec = bench_now_usec() - t0;
	if (t == NULL) {
		fprintf(stderr, "render-bench: %s:%d:%d: %s\n", argv[0],
		    err.te_line, err.te_col, err.te_msg);
		goto out;
	}
	if (print) {
		rc = bench_render_once(t, &env, 1) < 0;
		goto out;
	}
	if (count > 0) {
		for (i = 0; i < count; i++)
			if (bench_render_once(t, &env, 0) < 0)
				goto out;
		rc = 0;
		goto out;
	}
	if (serve) {
		/* warm the caches before the first timed batch */
		if (bench_render_once(t, &env, 0) < 0)
			goto out;
		rc = bench_serve(t, &env);
		goto out;
	}

	/*
	 * Warm the caches, then keep the fastest of `repeats' batches: on a
	 * shared 2-core machine the minimum is the figure least disturbed by
	 * the neighbours.
	 */
	if ((bytes = bench_render_once(t, &env, 0)) < 0)
		goto out;
	for (r = 0; r < repeats; r++) {
		if ((t1 = bench_batch(t, &env, msec, &n)) < 0)
			goto out;
		if (best < 0 || t1 < best) {
			best = t1;
			best_n = n;
		}
	}
	printf("usec_per_render=%.3f renders=%ld bytes=%ld compile_usec=%.1f\n",
	    best, best_n, bytes, compile_usec);
	rc = 0;
out:
	if (t != NULL)
		tmpl_free(t);
	if (env.te_globals != NULL)
		tval_unref(env.te_globals);
	if (ctx != NULL)
		json_object_put(ctx);
	free(src);
	return rc;
}
