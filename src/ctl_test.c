/*
 * ctl_test.c — widgetctl test: run a connector through the live daemon in
 * test mode (SPEC §2; the daemon's side is parent_test.c and testmode.c).
 *
 *	widgetctl test [-t tenant] PERMALINK|FILE [--payload @file.json|JSON]
 *	    [--query k=v]... [--path-param k=v]... [--header k=v]...
 *	    [--verbose] [--json]
 *
 * A FILE (an argument with a '/' or ending in .json that names a file) is
 * an unsaved Code Mode definition: the daemon validates it first and the
 * errors come back as widgetctl check prints them.  Prints the status and
 * the body; --verbose also the answer's headers and X-Debug-Request (the
 * resolved request, secrets as their template literal); --json the whole
 * answer as JSON.  Exit 0 for a status below 400, 1 otherwise or when the
 * test could not run, 2 for a usage error, 3 when no daemon runs.
 */
#include "build.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "http.h"
#include "widgetctl.h"

#define CTL_TEST_FILE_MAX	(1024 * 1024)

static int
ctl_test_usage(void)
{
	fprintf(stderr, "usage: widgetctl test [-t tenant] PERMALINK|FILE "
	    "[--payload @file.json|JSON]\n"
	    "           [--query k=v]... [--path-param k=v]... "
	    "[--header k=v]... [--verbose] [--json]\n");
	return 2;
}

/* A whole file, NUL-terminated; NULL with the reason printed. */
static char *
ctl_test_read(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf = NULL;
	size_t	 len = 0, n;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "widgetctl: test: %s: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	if ((buf = malloc(CTL_TEST_FILE_MAX + 1)) == NULL)
		goto fail;
	while ((n = fread(buf + len, 1, CTL_TEST_FILE_MAX + 1 - len, fp)) > 0)
		if ((len += n) > CTL_TEST_FILE_MAX) {
			fprintf(stderr, "widgetctl: test: %s: larger than "
			    "%d bytes\n", path, CTL_TEST_FILE_MAX);
			goto fail;
		}
	if (ferror(fp)) {
		fprintf(stderr, "widgetctl: test: %s: read error\n", path);
		goto fail;
	}
	fclose(fp);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	fclose(fp);
	free(buf);
	return NULL;
}

/* k=v into an object (or, as_pairs, a [k, v] onto an array). */
static int
ctl_test_kv(struct json_object *into, const char *arg, const char *what,
    int as_pairs)
{
	const char		*eq = strchr(arg, '=');
	struct json_object	*pair;
	char			*k;

	if (eq == NULL || eq == arg) {
		fprintf(stderr, "widgetctl: test: --%s %s: NAME=VALUE "
		    "expected\n", what, arg);
		return -1;
	}
	if ((k = strndup(arg, eq - arg)) == NULL)
		return -1;
	if (as_pairs) {
		pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_string(k));
		json_object_array_add(pair, json_object_new_string(eq + 1));
		json_object_array_add(into, pair);
	} else
		json_object_object_add(into, k, json_object_new_string(eq + 1));
	free(k);
	return 0;
}

/* --payload: @file or the JSON itself; strict JSON either way. */
static struct json_object *
ctl_test_payload(const char *arg)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL;
	char			*text = NULL;
	size_t			 len;

	if (arg[0] == '@') {
		if ((text = ctl_test_read(arg + 1, &len)) == NULL)
			return NULL;
	} else if ((text = strdup(arg)) == NULL)
		return NULL;
	if ((tok = json_tokener_new()) != NULL) {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		o = json_tokener_parse_ex(tok, text, (int)strlen(text));
		if (o == NULL)
			fprintf(stderr, "widgetctl: test: --payload: not JSON: "
			    "%s\n", json_tokener_error_desc(
			    json_tokener_get_error(tok)));
		json_tokener_free(tok);
	}
	free(text);
	return o;
}

/* The answer, as a terminal reader wants it. */
static void
ctl_test_print(struct json_object *reply, int verbose)
{
	struct json_object	*o, *hs, *h, *dbg;
	int64_t			 status;
	size_t			 i;

	json_object_object_get_ex(reply, "status", &o);
	status = json_object_get_int64(o);
	printf("%lld %s\n", (long long)status, http_reason((int)status));
	if (verbose && json_object_object_get_ex(reply, "headers", &hs)) {
		for (i = 0; i < json_object_array_length(hs); i++) {
			h = json_object_array_get_idx(hs, i);
			printf("%s: %s\n", json_object_get_string(
			    json_object_array_get_idx(h, 0)),
			    json_object_get_string(
			    json_object_array_get_idx(h, 1)));
		}
	}
	if (verbose && json_object_object_get_ex(reply, "debug", &dbg) &&
	    dbg != NULL)
		printf("X-Debug-Request: %s\n", json_object_to_json_string_ext(
		    dbg, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	if (verbose)
		putchar('\n');
	if (json_object_object_get_ex(reply, "body", &o)) {
		fwrite(json_object_get_string(o), 1,
		    (size_t)json_object_get_string_len(o), stdout);
		if (json_object_get_string_len(o) > 0 &&
		    json_object_get_string(o)[
		    json_object_get_string_len(o) - 1] != '\n')
			putchar('\n');
	} else if (json_object_object_get_ex(reply, "body_base64", &o))
		printf("(binary body, base64) %s\n", json_object_get_string(o));
}

int
ctl_test_main(struct ctl_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "payload", required_argument, NULL, 'p' },
		{ "query", required_argument, NULL, 'q' },
		{ "path-param", required_argument, NULL, 'P' },
		{ "header", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct json_object	*req, *query, *pp, *hdrs, *payload = NULL;
	struct json_object	*reply = NULL, *o, *errs;
	struct stat		 st;
	const char		*tenant = NULL, *target;
	char			*def = NULL;
	size_t			 deflen, i;
	int			 ch, verbose = 0, json = 0, rv = 2;

	req = ctl_request_new("test");
	query = json_object_new_array();
	pp = json_object_new_object();
	hdrs = json_object_new_object();
	if (req == NULL || query == NULL || pp == NULL || hdrs == NULL) {
		fprintf(stderr, "widgetctl: out of memory\n");
		rv = 1;
		goto out;
	}
	while ((ch = getopt_long(argc, argv, "t:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			tenant = optarg;
			break;
		case 'p':
			json_object_put(payload);
			if ((payload = ctl_test_payload(optarg)) == NULL)
				goto out;
			break;
		case 'q':
			if (ctl_test_kv(query, optarg, "query", 1) == -1)
				goto out;
			break;
		case 'P':
			if (ctl_test_kv(pp, optarg, "path-param", 0) == -1)
				goto out;
			break;
		case 'H':
			if (ctl_test_kv(hdrs, optarg, "header", 0) == -1)
				goto out;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			rv = ctl_test_usage();
			goto out;
		}
	}
	if (argc - optind != 1) {
		rv = ctl_test_usage();
		goto out;
	}
	target = argv[optind];
	if (tenant != NULL)
		json_object_object_add(req, "tenant",
		    json_object_new_string(tenant));
	/* A file is an unsaved definition; anything else a permalink. */
	if ((strchr(target, '/') != NULL || (strlen(target) > 5 &&
	    strcmp(target + strlen(target) - 5, ".json") == 0)) &&
	    stat(target, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((def = ctl_test_read(target, &deflen)) == NULL)
			goto out;
		json_object_object_add(req, "definition",
		    json_object_new_string_len(def, (int)deflen));
		json_object_object_add(req, "definition_name",
		    json_object_new_string(target));
	} else
		json_object_object_add(req, "permalink",
		    json_object_new_string(target));
	json_object_object_add(req, "query", json_object_get(query));
	json_object_object_add(req, "path_params", json_object_get(pp));
	json_object_object_add(req, "headers", json_object_get(hdrs));
	if (payload != NULL)
		json_object_object_add(req, "payload", json_object_get(payload));

	if ((rv = ctl_call(g, req, &reply)) != CTL_OK)
		goto out;
	json_object_object_get_ex(reply, "ok", &o);
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(reply,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (json_object_get_boolean(o))
		ctl_test_print(reply, verbose);
	else {
		json_object_object_get_ex(reply, "error", &o);
		fprintf(stderr, "widgetctl: test: %s\n", o != NULL ?
		    json_object_get_string(o) : "failed");
		if (json_object_object_get_ex(reply, "errors", &errs) &&
		    json_object_is_type(errs, json_type_array))
			for (i = 0; i < json_object_array_length(errs); i++)
				fprintf(stderr, "%s\n", json_object_get_string(
				    json_object_array_get_idx(errs, i)));
	}
	/* The test ran and the answer was not an error: 0. */
	json_object_object_get_ex(reply, "ok", &o);
	rv = CTL_FAIL;
	if (json_object_get_boolean(o)) {
		json_object_object_get_ex(reply, "status", &o);
		if (json_object_get_int(o) < 400)
			rv = CTL_OK;
	}
out:
	free(def);
	json_object_put(reply);
	json_object_put(payload);
	json_object_put(query);
	json_object_put(pp);
	json_object_put(hdrs);
	json_object_put(req);
	return rv;
}
