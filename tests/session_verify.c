/*
 * session_verify — session.c on the command line, for the cross-check
 * against Debian's PyJWT (tests/session_pyjwt.py).
 *
 *	session-verify PEMFILE ISSUER AUDIENCE NOW
 *
 * ISSUER or AUDIENCE "-" leaves it unset.  Each line of standard input is
 * "TOKEN<TAB>CSRF-HEADER" (the header part optional); each gets one line
 * out: "VALID <user as JSON> <csrf: ok|failed>", or the status name
 * ("INVALID", "EXPIRED", …), a space and the reason.  Exit 0 unless the
 * key or the arguments are bad.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "session.h"
#include "template/template.h"

static const char *const status_names[] = { "ANONYMOUS", "VALID",
    "BAD_REQUEST", "INVALID", "EXPIRED", "CSRF_FAILED", "NOMEM" };

static char *
read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*b;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	b = malloc(65536);
	n = b != NULL ? fread(b, 1, 65536, f) : 0;
	fclose(f);
	*lenp = n;
	return b;
}

static void
verify_line(const struct session_conf *sc, char *line, time_t now)
{
	struct session		*s;
	struct tval		*u;
	struct json_object	*j;
	enum session_status	 st;
	const char		*why, *csrf = NULL, *dummy;
	char			*tab;

	line[strcspn(line, "\r\n")] = '\0';
	if ((tab = strchr(line, '\t')) != NULL) {
		*tab = '\0';
		csrf = tab + 1;
	}
	st = session_verify(sc, line, strlen(line), now, &s, &why);
	if (st != SESSION_VALID) {
		printf("%s %s\n", status_names[st], why);
		return;
	}
	u = session_user(s);
	j = tval_to_json(u);
	printf("VALID %s %s\n", json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    session_csrf_check(s, csrf, csrf != NULL ? strlen(csrf) : 0,
	    &dummy) == SESSION_VALID ? "ok" : "failed");
	json_object_put(j);
	tval_unref(u);
	session_free(s);
}

int
main(int argc, char *argv[])
{
	struct session_conf	 sc;
	struct session_key	*k;
	const char		*err;
	char			*pem, *line = NULL;
	size_t			 len, cap = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: session-verify PEMFILE ISSUER AUDIENCE "
		    "NOW\n");
		return 2;
	}
	if ((pem = read_file(argv[1], &len)) == NULL) {
		perror(argv[1]);
		return 2;
	}
	if ((k = session_key_new(pem, len, &err)) == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		free(pem);
		return 2;
	}
	free(pem);
	memset(&sc, 0, sizeof(sc));
	sc.sc_key = k;
	sc.sc_cookie = "widget_session";
	sc.sc_issuer = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
	sc.sc_audience = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
	printf("KEY %s\n", session_key_alg(k));
	while (getline(&line, &cap, stdin) != -1)
		verify_line(&sc, line, (time_t)strtoll(argv[4], NULL, 10));
	free(line);
	session_key_free(k);
	return 0;
}
