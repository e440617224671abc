/*
 * egress_driver.c — one or more upstream calls through keeper_egress.c,
 * configured from the command line, each result printed as one line of
 * JSON.  tests/integration/egress.py runs it against real servers (TLS
 * with a CA made at test time, a private network namespace for the SSRF
 * table); it is a test tool, not a part of widgetd.
 *
 *	egress_driver --url URL [--method M] [--header 'Name: value']...
 *	    [--body TEXT] [--ca FILE] [--allow NET]... [--allow-http]
 *	    [--resolve host:port:addr]... [--timeout-ms N] [--deadline-ms N]
 *	    [--max-body N] [--max-headers N] [--header-bytes N]
 *	    [--repeat N] [--redact-file FILE] [--header-file FILE] [--sandbox]
 *
 * --sandbox confines the process as the keeper is (Landlock to the
 * resolver's files, then the keeper's seccomp filter) after egress_init
 * and egress_new, before the first call.  --redact-file names a file of
 * values to redact, one a line, and --header-file a file of header lines
 * (never argv for what stands for a secret).  Exit
 * status 0 when every call ran (whatever its outcome), 2 on a usage or
 * setup error.
 */
#include "build.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "keeper_egress.h"
#include "keeper_redact.h"
#include "netpolicy.h"
#include "sandbox.h"

#define DRIVER_MAX	64

struct driver {
	struct event_base	*d_base;
	struct egress		*d_eg;
	struct egress_request	 d_req;
	struct redact		*d_redact;
	int			 d_deadline_ms;
	int			 d_left;
};

/* Bytes as Latin-1 code points: any byte survives a JSON round trip. */
static json_object *
driver_bytes(const char *p, size_t n)
{
	json_object	*o;
	char		*u;
	size_t		 i, o_len = 0;

	if ((u = malloc(2 * n + 1)) == NULL)
		err(2, "malloc");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80)
			u[o_len++] = (char)c;
		else {
			u[o_len++] = (char)(0xc0 | (c >> 6));
			u[o_len++] = (char)(0x80 | (c & 0x3f));
		}
	}
	o = json_object_new_string_len(u, (int)o_len);
	free(u);
	return o;
}

static void
driver_print(struct driver *d, struct egress_result *res)
{
	json_object		*o, *hs, *h, *t;
	char			*b64;
	size_t			 i;
	int			 marks = 0;

	if (d->d_redact != NULL && res->er_error == EGRESS_OK &&
	    (marks = egress_result_redact(res, d->d_redact)) == -1)
		errx(2, "redaction failed");
	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(
	    egress_error_name(res->er_error)));
	json_object_object_add(o, "message",
	    json_object_new_string(res->er_msg));
	json_object_object_add(o, "status",
	    json_object_new_int(res->er_status));
	hs = json_object_new_array();
	for (i = 0; i < res->er_nheaders; i++) {
		h = json_object_new_array();
		json_object_array_add(h, driver_bytes(
		    res->er_headers[i].eh_name,
		    res->er_headers[i].eh_namelen));
		json_object_array_add(h, driver_bytes(
		    res->er_headers[i].eh_value,
		    res->er_headers[i].eh_valuelen));
		json_object_array_add(hs, h);
	}
	json_object_object_add(o, "headers", hs);
	if ((b64 = malloc(4 * (res->er_bodylen / 3 + 1) + 1)) == NULL)
		err(2, "malloc");
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)
	    (res->er_body ? res->er_body : ""), (int)res->er_bodylen);
	json_object_object_add(o, "body_b64", json_object_new_string(b64));
	free(b64);
	json_object_object_add(o, "body_len",
	    json_object_new_int64((int64_t)res->er_bodylen));
	t = json_object_new_object();
	json_object_object_add(t, "dns",
	    json_object_new_int64(res->er_timing.et_dns));
	json_object_object_add(t, "connect",
	    json_object_new_int64(res->er_timing.et_connect));
	json_object_object_add(t, "tls",
	    json_object_new_int64(res->er_timing.et_tls));
	json_object_object_add(t, "ttfb",
	    json_object_new_int64(res->er_timing.et_ttfb));
	json_object_object_add(t, "total",
	    json_object_new_int64(res->er_timing.et_total));
	json_object_object_add(o, "timing", t);
	json_object_object_add(o, "host", json_object_new_string(res->er_host));
	json_object_object_add(o, "ip", json_object_new_string(res->er_ip));
	json_object_object_add(o, "port", json_object_new_int(res->er_port));
	json_object_object_add(o, "reused",
	    json_object_new_boolean(res->er_reused));
	json_object_object_add(o, "redactions", json_object_new_int(marks));
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static void	driver_next(struct driver *);

static void
driver_done(struct egress_result *res, void *arg)
{
	struct driver	*d = arg;

	driver_print(d, res);
	if (--d->d_left > 0)
		driver_next(d);
	else
		event_base_loopbreak(d->d_base);
}

static void
driver_next(struct driver *d)
{
	struct timespec	 now;

	memset(&d->d_req.eq_deadline, 0, sizeof(d->d_req.eq_deadline));
	if (d->d_deadline_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		now.tv_sec += d->d_deadline_ms / 1000;
		now.tv_nsec += (d->d_deadline_ms % 1000) * 1000000L;
		if (now.tv_nsec >= 1000000000L) {
			now.tv_sec++;
			now.tv_nsec -= 1000000000L;
		}
		d->d_req.eq_deadline = now;
	}
	if (egress_start(d->d_eg, &d->d_req, driver_done, d) == NULL)
		errx(2, "egress_start: out of memory");
}

static char *
driver_read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		err(2, "%s", path);
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1)
		err(2, "%s", path);
	if ((buf = malloc((size_t)n + 1)) == NULL)
		err(2, "malloc");
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		errx(2, "%s: short read", path);
	buf[n] = '\0';
	fclose(f);
	*lenp = (size_t)n;
	return buf;
}

/* "Name: value" into the next field (in place). */
static int
driver_field(struct egress_field *fields, size_t *n, char *arg)
{
	char	*colon;

	if (*n == DRIVER_MAX || (colon = strchr(arg, ':')) == NULL)
		return -1;
	*colon++ = '\0';
	while (*colon == ' ')
		colon++;
	fields[*n].ef_name = arg;
	fields[(*n)++].ef_value = colon;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: egress_driver --url URL [options] "
	    "(see tests/egress_driver.c)\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "url",		required_argument, NULL, 'u' },
		{ "method",		required_argument, NULL, 'm' },
		{ "header",		required_argument, NULL, 'H' },
		{ "body",		required_argument, NULL, 'b' },
		{ "ca",			required_argument, NULL, 'c' },
		{ "allow",		required_argument, NULL, 'a' },
		{ "allow-http",		no_argument,	   NULL, 'p' },
		{ "resolve",		required_argument, NULL, 'r' },
		{ "timeout-ms",		required_argument, NULL, 't' },
		{ "deadline-ms",	required_argument, NULL, 'd' },
		{ "max-body",		required_argument, NULL, 'B' },
		{ "max-headers",	required_argument, NULL, 'N' },
		{ "header-bytes",	required_argument, NULL, 'S' },
		{ "repeat",		required_argument, NULL, 'n' },
		{ "redact-file",	required_argument, NULL, 'R' },
		{ "header-file",	required_argument, NULL, 'F' },
		{ "sandbox",		no_argument,	   NULL, 'X' },
		{ NULL, 0, NULL, 0 }
	};
	struct driver		 d;
	struct egress_conf	 conf;
	struct netpolicy	 np;
	struct egress_field	 fields[DRIVER_MAX];
	char			*pins[DRIVER_MAX], errbuf[256], *text;
	char			*line, *next, *hdrtext = NULL;
	void			*ca = NULL;
	size_t			 nfields = 0, npins = 0, calen = 0, len;
	const char		*cafile = NULL, *redact_file = NULL;
	int			 ch, sandbox = 0;

	memset(&d, 0, sizeof(d));
	memset(&conf, 0, sizeof(conf));
	memset(&np, 0, sizeof(np));
	d.d_req.eq_method = "GET";
	d.d_left = 1;
	conf.ec_timeout_ms = 15000;
	conf.ec_max_body = 10 * 1024 * 1024;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			d.d_req.eq_url = optarg;
			break;
		case 'm':
			d.d_req.eq_method = optarg;
			break;
		case 'H':
			if (driver_field(fields, &nfields, optarg) == -1)
				usage();
			break;
		case 'F':
			if (hdrtext != NULL)
				usage();
			hdrtext = driver_read_file(optarg, &len);
			for (line = hdrtext; *line != '\0'; line = next) {
				if ((next = strchr(line, '\n')) != NULL)
					*next++ = '\0';
				else
					next = line + strlen(line);
				if (*line != '\0' &&
				    driver_field(fields, &nfields, line) == -1)
					usage();
			}
			/* Header values point into it: kept to the end. */
			break;
		case 'b':
			d.d_req.eq_body = optarg;
			d.d_req.eq_bodylen = strlen(optarg);
			break;
		case 'c':
			cafile = optarg;
			break;
		case 'a':
			np.np_allow = reallocarray(np.np_allow,
			    np.np_nallow + 1, sizeof(*np.np_allow));
			if (np.np_allow == NULL)
				err(2, "reallocarray");
			if (!netpolicy_parse_net(optarg,
			    &np.np_allow[np.np_nallow++]))
				errx(2, "bad network %s", optarg);
			break;
		case 'p':
			np.np_allow_http = 1;
			break;
		case 'r':
			if (npins == DRIVER_MAX)
				usage();
			pins[npins++] = optarg;
			break;
		case 't':
			conf.ec_timeout_ms = atoi(optarg);
			break;
		case 'd':
			d.d_deadline_ms = atoi(optarg);
			break;
		case 'B':
			conf.ec_max_body = strtoul(optarg, NULL, 10);
			break;
		case 'N':
			conf.ec_max_headers = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			conf.ec_header_bytes = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			d.d_left = atoi(optarg);
			break;
		case 'R':
			redact_file = optarg;
			break;
		case 'X':
			sandbox = 1;
			break;
		default:
			usage();
		}
	}
	if (d.d_req.eq_url == NULL || d.d_left < 1)
		usage();
	d.d_req.eq_headers = fields;
	d.d_req.eq_nheaders = nfields;

	if (egress_init(errbuf, sizeof(errbuf)) == -1)
		errx(2, "egress_init: %s", errbuf);
	if (cafile == NULL)
		cafile = "/etc/ssl/certs/ca-certificates.crt";
	if (egress_ca_load(cafile, &ca, &calen, errbuf, sizeof(errbuf)) == -1)
		errx(2, "%s", errbuf);
	if (redact_file != NULL) {
		if ((d.d_redact = redact_new()) == NULL)
			errx(2, "redact_new");
		text = driver_read_file(redact_file, &len);
		for (line = text; line != NULL && *line != '\0'; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			if (redact_add(d.d_redact, line, strlen(line)) == -1)
				errx(2, "redact_add");
		}
		explicit_bzero(text, len);
		free(text);
	}
	conf.ec_policy = &np;
	conf.ec_ca = ca;
	conf.ec_calen = calen;
	conf.ec_resolve = pins;
	conf.ec_nresolve = npins;
	if ((d.d_base = event_base_new()) == NULL)
		errx(2, "event_base_new");
	if ((d.d_eg = egress_new(d.d_base, &conf, errbuf, sizeof(errbuf))) ==
	    NULL)
		errx(2, "egress_new: %s", errbuf);
	if (sandbox) {
		if (sandbox_restrict_paths(sandbox_resolver_paths) == -1)
			err(2, "sandbox_restrict_paths");
		if (sandbox_apply(SANDBOX_KEEPER) == -1)
			err(2, "sandbox_apply");
	}
	driver_next(&d);
	event_base_dispatch(d.d_base);
	if (sandbox) {
		/* Under the filter: no exit handlers, as in the keeper. */
		fflush(stdout);
		_exit(0);
	}
	egress_free(d.d_eg);
	redact_free(d.d_redact);
	event_base_free(d.d_base);
	free(ca);
	netpolicy_clear(&np);
	free(hdrtext);
	return 0;
}
