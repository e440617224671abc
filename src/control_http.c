/*
 * control_http.c — the control socket's HTTP form (see control_http.h).
 * A deliberately small HTTP/1.1: one request per connection,
 * Content-Length bodies only, no continuation lines; whatever it does
 * not know it refuses.
 */
#include "build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "control_http.h"
#include "http.h"

#define CONTROL_HTTP_DEPTH	64

int
control_http_is(const char *buf, size_t len)
{
	return len > 0 && buf[0] >= 'A' && buf[0] <= 'Z';
}

/*
 * A header line's value when its name is name, else NULL.  The line is
 * not a string (it ends at eol, "\r\n"): strncasecmp is given only a line
 * longer than name, as it may read n bytes of each.
 */
static const char *
control_http_field(const char *line, const char *eol, const char *name)
{
	size_t	 n = strlen(name);

	if ((size_t)(eol - line) <= n || strncasecmp(line, name, n) != 0 ||
	    line[n] != ':')
		return NULL;
	line += n + 1;
	return line + strspn(line, " \t");
}

int
control_http_parse(const char *buf, size_t len, size_t body_max,
    struct json_object **request, int *status, const char **msg)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*o = NULL;
	const char		*end, *line, *eol, *v, *sp1, *sp2, *q;
	char			 method[16], path[128];
	size_t			 hlen, clen = 0, n;
	int			 have_len = 0;
	char			*ep;
	unsigned long long	 ull;

	*request = NULL;
	*status = 400;
	*msg = "malformed request";
	end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL) {
		if (len > CONTROL_HTTP_HEAD_MAX) {
			*status = 431;
			*msg = "request header too large";
			return -1;
		}
		return 0;
	}
	hlen = (size_t)(end - buf) + 4;
	if (hlen > CONTROL_HTTP_HEAD_MAX || memchr(buf, '\0', hlen) != NULL) {
		*status = 431;
		*msg = "request header too large";
		return -1;
	}
	/*
	 * METHOD SP target SP HTTP/1.x.  buf is the connection's bytes, not
	 * a string: every search is bounded by the head, whose last line
	 * ends at end.
	 */
	eol = memmem(buf, hlen, "\r\n", 2);
	if ((sp1 = memchr(buf, ' ', eol - buf)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', eol - sp1 - 1)) == NULL ||
	    (size_t)(sp1 - buf) >= sizeof(method) ||
	    (eol - sp2 - 1 != 8) || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return -1;
	memcpy(method, buf, sp1 - buf);
	method[sp1 - buf] = '\0';
	for (q = sp1 + 1; q < sp2 && *q != '?'; q++)
		;
	n = (size_t)(q - sp1 - 1);
	if (n >= sizeof(path)) {
		*status = 404;
		*msg = "no such resource";
		return -1;
	}
	memcpy(path, sp1 + 1, n);
	path[n] = '\0';
	for (line = eol + 2; line < end; line = eol + 2) {
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (*line == ' ' || *line == '\t')
			return -1;	/* obs-fold */
		if ((v = control_http_field(line, eol, "Content-Length")) !=
		    NULL) {
			if (have_len || !isdigit((unsigned char)*v))
				return -1;
			ull = strtoull(v, &ep, 10);
			if (ep != eol && strspn(ep, " \t") != (size_t)(eol - ep))
				return -1;
			if (ull > body_max) {
				*status = 413;
				*msg = "request body too large";
				return -1;
			}
			clen = (size_t)ull;
			have_len = 1;
		} else if (control_http_field(line, eol, "Transfer-Encoding") !=
		    NULL) {
			*status = 411;
			*msg = "send a Content-Length";
			return -1;
		}
	}
	if (strcmp(path, CONTROL_HTTP_PATH) != 0) {
		*status = 404;
		*msg = "no such resource";
		return -1;
	}
	if (strcmp(method, "POST") != 0) {
		*status = 405;
		*msg = "test mode is POST";
		return -1;
	}
	if (len - hlen < clen)
		return 0;
	if (len - hlen > clen) {
		*msg = "bytes after the request body";
		return -1;
	}
	if ((tok = json_tokener_new_ex(CONTROL_HTTP_DEPTH)) == NULL) {
		*status = 500;
		*msg = "out of memory";
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = clen > 0 ? json_tokener_parse_ex(tok, buf + hlen, (int)clen) :
	    NULL;
	if (o == NULL || (size_t)json_tokener_get_parse_end(tok) != clen ||
	    !json_object_is_type(o, json_type_object) ||
	    memchr(buf + hlen, '\0', clen) != NULL) {
		json_object_put(o);
		json_tokener_free(tok);
		*msg = "the body must be a JSON object";
		return -1;
	}
	json_tokener_free(tok);
	json_object_object_add(o, "command", json_object_new_string("test"));
	*request = o;
	return 1;
}

/* A body the relay carried as base64 (not UTF-8); *lenp bytes. */
static char *
control_http_unbase64(const char *s, size_t *lenp)
{
	unsigned char	*out;
	size_t		 n = strlen(s);
	int		 len;

	if (n % 4 != 0 || (out = malloc(n / 4 * 3 + 1)) == NULL)
		return NULL;
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)s,
	    (int)n)) < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (n > 0 && s[n - 1] == '=' && len > 0) {
		n--;
		len--;
	}
	*lenp = (size_t)len;
	return (char *)out;
}

/* No CR, LF or other control byte may reach a header line. */
static int
control_http_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

char *
control_http_reply(struct json_object *reply, size_t *lenp)
{
	struct json_object	*o, *hs, *h, *dbg;
	const char		*name, *value, *body, *text;
	char			*out = NULL, *raw = NULL;
	size_t			 i, blen, len = 0;
	int			 ok = 0, status;
	FILE			*fp;

	if ((fp = open_memstream(&out, &len)) == NULL)
		return NULL;
	if (reply != NULL && json_object_object_get_ex(reply, "ok", &o))
		ok = json_object_get_boolean(o);
	status = ok ? 200 : 400;
	if (reply != NULL && json_object_object_get_ex(reply, "status", &o) &&
	    json_object_is_type(o, json_type_int) &&
	    json_object_get_int(o) >= 100 && json_object_get_int(o) <= 599)
		status = json_object_get_int(o);
	fprintf(fp, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
	if (ok && json_object_object_get_ex(reply, "headers", &hs) &&
	    json_object_is_type(hs, json_type_array)) {
		/* The test's answer, as the browser would have had it. */
		for (i = 0; i < json_object_array_length(hs); i++) {
			h = json_object_array_get_idx(hs, i);
			name = json_object_get_string(
			    json_object_array_get_idx(h, 0));
			value = json_object_get_string(
			    json_object_array_get_idx(h, 1));
			if (name == NULL || value == NULL ||
			    !control_http_clean(name) ||
			    !control_http_clean(value) ||
			    strchr(name, ':') != NULL)
				continue;
			fprintf(fp, "%s: %s\r\n", name, value);
		}
		if (json_object_object_get_ex(reply, "debug", &dbg) &&
		    dbg != NULL && (text = json_object_to_json_string_ext(dbg,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) !=
		    NULL && control_http_clean(text))
			fprintf(fp, "X-Debug-Request: %s\r\n", text);
		if (json_object_object_get_ex(reply, "body_base64", &o)) {
			raw = control_http_unbase64(json_object_get_string(o),
			    &blen);
			body = raw != NULL ? raw : "";
			if (raw == NULL)
				blen = 0;
		} else {
			json_object_object_get_ex(reply, "body", &o);
			body = o != NULL ? json_object_get_string(o) : "";
			blen = o != NULL ? (size_t)json_object_get_string_len(o) :
			    0;
		}
	} else {
		fputs("Content-Type: application/json\r\n", fp);
		body = reply != NULL ? json_object_to_json_string_ext(reply,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) :
		    "{\"ok\":false,\"error\":\"internal error\"}";
		blen = strlen(body);
	}
	fprintf(fp, "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
	fwrite(body, 1, blen, fp);
	free(raw);
	if (fclose(fp) != 0) {
		free(out);
		return NULL;
	}
	*lenp = len;
	return out;
}
