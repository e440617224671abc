/*
 * ctl_render.c — widgetctl render TEMPLATE [CONTEXT.json]: render a template
 * file with the daemon's own engine and print the result exactly (no added
 * newline).  CONTEXT.json's top-level object becomes the globals.
 *
 *	--var name=value	a stored variable for get_variable() (repeatable)
 *	--now EPOCH		the clock for now(), for reproducible output
 *
 * A template error prints "line:col: message" on stderr and exits 1.  Secret
 * segments print as their template literal, as X-Debug-Request shows them.
 */
#include "build.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "template/template.h"
#include "widgetctl.h"

#define RENDER_MAXFILE	(64 * 1024 * 1024)

struct render_var {
	const char	*rv_name;
	size_t		 rv_namelen;
	const char	*rv_value;
};

struct render_vars {
	struct render_var	*rvs_v;
	size_t			 rvs_n;
};

static char *
render_slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*p = NULL, *np;
	size_t	 len = 0, cap = 0, n;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "widgetctl: render: %s: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			if (cap > RENDER_MAXFILE || (np = realloc(p, cap + 1)) ==
			    NULL) {
				fprintf(stderr, "widgetctl: render: %s: too "
				    "large\n", path);
				goto fail;
			}
			p = np;
		}
		if ((n = fread(p + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "widgetctl: render: %s: read error\n", path);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	p[len] = '\0';
	*lenp = len;
	return p;
fail:
	if (f != stdin)
		fclose(f);
	free(p);
	return NULL;
}

static struct tval *
render_get_variable(const char *name, void *arg)
{
	struct render_vars	*vars = arg;
	size_t			 i;

	/* the last --var for a name wins */
	for (i = vars->rvs_n; i-- > 0;)
		if (strlen(name) == vars->rvs_v[i].rv_namelen &&
		    strncmp(name, vars->rvs_v[i].rv_name,
		    vars->rvs_v[i].rv_namelen) == 0)
			return tval_str(vars->rvs_v[i].rv_value,
			    strlen(vars->rvs_v[i].rv_value));
	return NULL;
}

static struct tval *
render_context(const char *path)
{
	struct json_tokener	*tok;
	struct json_object	*j;
	struct tval		*v = NULL;
	char			*text;
	size_t			 len;

	if ((text = render_slurp(path, &len)) == NULL)
		return NULL;
	if ((tok = json_tokener_new_ex(1000)) == NULL) {
		free(text);
		return NULL;
	}
	j = json_tokener_parse_ex(tok, text, (int)len);
	if (j == NULL || tok->char_offset != (int)len) {
		fprintf(stderr, "widgetctl: render: %s: invalid JSON context\n",
		    path);
		json_object_put(j);
		goto out;
	}
	if (!json_object_is_type(j, json_type_object)) {
		fprintf(stderr, "widgetctl: render: %s: the context must be a "
		    "JSON object\n", path);
		json_object_put(j);
		goto out;
	}
	v = tval_from_json(j);
	json_object_put(j);
	if (v == NULL)
		fprintf(stderr, "widgetctl: render: %s: out of memory\n", path);
out:
	json_tokener_free(tok);
	free(text);
	return v;
}

static void
render_usage(void)
{
	fprintf(stderr, "usage: widgetctl render [--var name=value] ... "
	    "[--now epoch] template [context.json]\n");
}

int
ctl_render_main(struct ctl_globals *g, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "var",	required_argument,	NULL,	'V' },
		{ "now",	required_argument,	NULL,	'N' },
		{ NULL,		0,			NULL,	0 }
	};
	struct render_vars	 vars;
	struct tmpl_env		 env;
	struct tmpl_error	 err;
	struct tmpl		*t = NULL;
	struct tmpl_output	*out = NULL;
	char			*src = NULL, *end;
	const char		*eq;
	size_t			 len, i;
	int			 ch, rc = 1;
	long long		 now;

	memset(&vars, 0, sizeof(vars));
	memset(&env, 0, sizeof(env));
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			if ((eq = strchr(optarg, '=')) == NULL ||
			    eq == optarg) {
				fprintf(stderr, "widgetctl: render: --var needs "
				    "name=value\n");
				goto out;
			}
			if ((vars.rvs_v = reallocarray(vars.rvs_v, vars.rvs_n +
			    1, sizeof(*vars.rvs_v))) == NULL) {
				fprintf(stderr, "widgetctl: render: out of "
				    "memory\n");
				goto out;
			}
			vars.rvs_v[vars.rvs_n].rv_name = optarg;
			vars.rvs_v[vars.rvs_n].rv_namelen = (size_t)(eq - optarg);
			vars.rvs_v[vars.rvs_n].rv_value = eq + 1;
			vars.rvs_n++;
			break;
		case 'N':
			errno = 0;
			now = strtoll(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    now <= 0) {
				fprintf(stderr, "widgetctl: render: --now needs "
				    "a positive epoch\n");
				goto out;
			}
			env.te_now = (time_t)now;
			break;
		default:
			render_usage();
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2) {
		render_usage();
		goto out;
	}
	if ((src = render_slurp(argv[0], &len)) == NULL)
		goto out;
	if ((t = tmpl_compile(src, len, &err)) == NULL) {
		fprintf(stderr, "%d:%d: %s\n", err.te_line, err.te_col,
		    err.te_msg);
		goto out;
	}
	if (argc == 2 && (env.te_globals = render_context(argv[1])) == NULL)
		goto out;
	env.te_get_variable = render_get_variable;
	env.te_variable_arg = &vars;
	if ((out = tmpl_render(t, &env, &err)) == NULL) {
		fprintf(stderr, "%d:%d: %s\n", err.te_line, err.te_col,
		    err.te_msg);
		goto out;
	}
	for (i = 0; i < out->to_nsegs; i++) {
		const struct tmpl_segment	*sg = &out->to_segs[i];

		if (sg->sg_secret != NULL) {
			char	*lit = tsecret_literal(sg->sg_secret);

			if (lit != NULL)
				fputs(lit, stdout);
			free(lit);
		} else
			fwrite(sg->sg_data, 1, sg->sg_len, stdout);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "widgetctl: render: write error\n");
		goto out;
	}
	rc = 0;
out:
	tmpl_output_free(out);
	tval_unref(env.te_globals);
	tmpl_free(t);
	free(src);
	free(vars.rvs_v);
	return rc;
}
