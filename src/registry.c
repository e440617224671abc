/*
 * registry.c — loading and validating connectors_registry.json and Code
 * Mode files (platform-docs §3–§8, §11, §12, §20; SPEC §9).
 *
 * Two parsers read the same bytes: jsonpos (strict, positions, duplicate
 * keys) and json-c (values).  The validator walks both trees in parallel so
 * that every error carries the field path and the JSON line:col.  Loading
 * is all-or-nothing: every error is collected, and any error means no
 * registry.
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "connector.h"
#include "jsonpos.h"
#include "netpolicy.h"
#include "plan.h"
#include "registry.h"
#include "template/template.h"
#include "token.h"

#define REG_MAXFILE	(16 * 1024 * 1024)
#define REG_MAXERRORS	1000
#define REG_NOPOS	((size_t)-1)

/* Limits of platform-docs §3b, in characters. */
#define LIM_NAME	255
#define LIM_URL		2048
#define LIM_KEY		255
#define LIM_VALUE	1000
#define LIM_CTYPE	255
#define LIM_PERMALINK	255
#define LIM_PATHVALUE	200

/* A JSON value seen through both parsers. */
struct jv {
	struct json_object	*o;	/* NULL for JSON null */
	const struct jpos	*p;	/* NULL when absent */
};

struct vctx {
	struct reg_report	*v_rep;
	const char		*v_file;
	const char		*v_buf;
	size_t			 v_len;
	const struct netpolicy	*v_policy;
	struct jpos_lines	 v_lines;	/* offset to line:col */
	char			 v_path[1024];
	const char		*v_name;	/* connector being checked */
	const char		*v_permalink;
	int			 v_composite;
	int			 v_step;	/* inside a composite step */
	int			 v_full;	/* REG_MAXERRORS reached */
	unsigned int		 v_uses;	/* TMPL_USES_* of the templates
						   compiled since it was reset */
};

static const struct netpolicy reg_default_policy;

static const char *const reg_algorithms[] = {
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256",
	"ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"
};

/* --- Errors and paths ------------------------------------------------------ */

/* strdup that passes NULL through: many report parts are optional. */
static char *
reg_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/*
 * Record one error at JSON offset off (REG_NOPOS: none) under the current
 * field path and connector.  Messages are complete sentences an author can
 * act on without reading this code; allocation failures drop the entry
 * rather than abort, the load fails anyway.
 */
static void
reg_add(struct vctx *v, size_t off, const char *cls, const char *fmt, ...)
{
	struct reg_report	*rep = v->v_rep;
	struct reg_error	*e;
	char			 msg[1024], who[600];
	va_list			 ap;

	if (rep == NULL || v->v_full)
		return;
	if (rep->rr_nerrors >= REG_MAXERRORS) {
		/* One last entry says that the report is cut short. */
		v->v_full = 1;
		off = REG_NOPOS;
		cls = REG_E_LIMIT;
		fmt = "too many errors, giving up";
	}
	e = reallocarray(rep->rr_errors, rep->rr_nerrors + 1, sizeof(*e));
	if (e == NULL)
		return;
	rep->rr_errors = e;
	e = &rep->rr_errors[rep->rr_nerrors];
	memset(e, 0, sizeof(*e));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (off != REG_NOPOS && v->v_buf != NULL)
		jpos_lines_get(&v->v_lines, off, &e->re_line, &e->re_col);
	e->re_file = reg_strdup(v->v_file);
	e->re_class = reg_strdup(cls);
	e->re_msg = reg_strdup(msg);
	e->re_path = reg_strdup(v->v_full ? "" : v->v_path);
	if (!v->v_full && (v->v_name != NULL || v->v_permalink != NULL)) {
		e->re_name = reg_strdup(v->v_name);
		e->re_permalink = reg_strdup(v->v_permalink);
		e->re_composite = v->v_composite;
		snprintf(who, sizeof(who), "%s (%s)",
		    v->v_name ? v->v_name : "?",
		    v->v_permalink ? v->v_permalink : "?");
		e->re_connector = reg_strdup(who);
	}
	rep->rr_nerrors++;
}

/*
 * The field path grows and shrinks as the validator descends; push returns
 * the old length for the matching vpop.
 */
static size_t
vpush_key(struct vctx *v, const char *key)
{
	return jpos_path_key(v->v_path, sizeof(v->v_path), key);
}

static size_t
vpush_idx(struct vctx *v, size_t i)
{
	return jpos_path_idx(v->v_path, sizeof(v->v_path), i);
}

static void
vpop(struct vctx *v, size_t n)
{
	v->v_path[n] = '\0';
}

/* The JSON offset of a value, REG_NOPOS when it is absent. */
static size_t
vpos(const struct jv *j)
{
	return j->p ? j->p->jp_off : REG_NOPOS;
}

/* Member key of obj; j->p NULL when absent.  JSON null: j->o NULL. */
static struct jv
vget(const struct jv *obj, const char *key)
{
	struct jv	 j = { NULL, NULL };

	if (obj->p == NULL || obj->p->jp_type != JP_OBJECT)
		return j;
	if ((j.p = jpos_get(obj->p, key)) != NULL)
		json_object_object_get_ex(obj->o, key, &j.o);
	return j;
}

/* Item i of an array, from both parsers. */
static struct jv
vitem(const struct jv *arr, size_t i)
{
	struct jv	 j;

	j.p = jpos_item(arr->p, i);
	j.o = json_object_array_get_idx(arr->o, i);
	return j;
}

/* Absent and null are the same for optional fields (Code Mode exports null). */
static int
vabsent(const struct jv *j)
{
	return j->p == NULL || j->p->jp_type == JP_NULL;
}

/* For "must be a string, not a number" messages. */
static const char *
vtypename(const struct jv *j)
{
	switch (j->p->jp_type) {
	case JP_NULL:
		return "null";
	case JP_BOOL:
		return "a boolean";
	case JP_NUMBER:
		return "a number";
	case JP_STRING:
		return "a string";
	case JP_ARRAY:
		return "an array";
	case JP_OBJECT:
		return "an object";
	}
	return "?";
}

/* Characters (not bytes) in a UTF-8 string. */
static size_t
vchars(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * A string member.  Returns 1 and sets *s and *len when present and valid, 0
 * when absent (after reporting it if required), -1 after reporting an error.
 */
static int
vstring(struct vctx *v, const struct jv *obj, const char *key, int required,
    size_t limit, const char *cls, const char **s, size_t *len, struct jv *out)
{
	struct jv	 j = vget(obj, key);
	size_t		 n;
	int		 rv = -1;

	n = vpush_key(v, key);
	if (out != NULL)
		*out = j;
	if (vabsent(&j)) {
		if (required)
			reg_add(v, j.p ? j.p->jp_off : obj->p->jp_off,
			    cls ? cls : REG_E_MISSING,
			    "required field \"%s\" is missing", key);
		rv = required ? -1 : 0;
		goto out;
	}
	if (j.p->jp_type != JP_STRING) {
		reg_add(v, vpos(&j), cls ? cls : REG_E_TYPE,
		    "must be a string, not %s", vtypename(&j));
		goto out;
	}
	*s = json_object_get_string(j.o);
	*len = json_object_get_string_len(j.o);
	if (limit > 0 && vchars(*s, *len) > limit) {
		reg_add(v, vpos(&j), REG_E_LENGTH,
		    "is %zu characters long; at most %zu are allowed",
		    vchars(*s, *len), limit);
		goto out;
	}
	rv = 1;
 out:
	vpop(v, n);
	return rv;
}

/* --- Templates ------------------------------------------------------------- */

/*
 * The JSON offset of template position line:col inside the string whose
 * opening quote is at off, so that an editor jumps to the very expression.
 * JSON strings hold no raw newline: template lines are "\n" escapes.
 * Falls back to the string's own offset.
 */
static size_t
vtmpl_off(struct vctx *v, size_t off, int tline, int tcol)
{
	const char	*b = v->v_buf;
	size_t		 i;
	int		 line = 1, col = 1;

	if (off == REG_NOPOS || off >= v->v_len || b[off] != '"')
		return off;
	for (i = off + 1; i < v->v_len && b[i] != '"'; ) {
		if (line == tline && col == tcol)
			return i;
		if (b[i] == '\\' && i + 1 < v->v_len) {
			if (b[i + 1] == 'n') {
				line++;
				col = 0;
			}
			/* A surrogate pair is one character. */
			if (b[i + 1] == 'u' && i + 11 < v->v_len &&
			    b[i + 6] == '\\' && b[i + 7] == 'u' &&
			    (b[i + 2] == 'd' || b[i + 2] == 'D') &&
			    strchr("89abAB", b[i + 3]) != NULL)
				i += 6;
			i += b[i + 1] == 'u' ? 6 : 2;
		} else
			for (i++; i < v->v_len &&
			    ((unsigned char)b[i] & 0xc0) == 0x80; i++)
				;
		col++;
	}
	return line == tline && col == tcol ? i : off;
}

/* Keep the source text of a field: the worker shows it in X-Debug-Request. */
static int
vtmpl_set(struct conn_tmpl *t, const char *src, size_t len)
{
	if ((t->ct_src = malloc(len + 1)) == NULL)
		return -1;
	memcpy(t->ct_src, src, len);
	t->ct_src[len] = '\0';
	t->ct_len = len;
	return 0;
}

/*
 * Compile src into t and validate it for kind.  Errors name the JSON
 * position of the string and, in the message, the template's own line:col.
 */
static int
vtmpl(struct vctx *v, const char *src, size_t len, size_t off,
    enum tmpl_field kind, struct conn_tmpl *t)
{
	struct tmpl_error	 err;

	if (vtmpl_set(t, src, len) == -1)
		return -1;
	if (len == 0)
		return 0;
	memset(&err, 0, sizeof(err));
	if ((t->ct_tmpl = tmpl_compile(src, len, &err)) == NULL) {
		reg_add(v, vtmpl_off(v, off, err.te_line, err.te_col),
		    REG_E_TEMPLATE, "template syntax error at %d:%d: %s",
		    err.te_line, err.te_col, err.te_msg);
		return -1;
	}
	memset(&err, 0, sizeof(err));
	if (!tmpl_validate(t->ct_tmpl, kind, &err)) {
		reg_add(v, vtmpl_off(v, off, err.te_line, err.te_col),
		    REG_E_TEMPLATE, "template %d:%d: %s",
		    err.te_line, err.te_col, err.te_msg);
		return -1;
	}
	v->v_uses |= tmpl_usage(t->ct_tmpl)->tu_flags;
	return 0;
}

/* A template string member (key of obj) into t. */
static int
vtmpl_field(struct vctx *v, const struct jv *obj, const char *key,
    int required, size_t limit, const char *cls, enum tmpl_field kind,
    struct conn_tmpl *t)
{
	struct jv	 j;
	const char	*s;
	size_t		 len, n;
	int		 rv;

	if ((rv = vstring(v, obj, key, required, limit, cls, &s, &len, &j)) != 1) {
		if (rv == 0)
			vtmpl_set(t, "", 0);
		return rv;
	}
	n = vpush_key(v, key);
	rv = vtmpl(v, s, len, vpos(&j), kind, t) == 0 ? 1 : -1;
	vpop(v, n);
	return rv;
}

/* --- URLs ------------------------------------------------------------------ */

/* Offset just past the tag that starts at s[i] ("{{", "{%", "{#"), or len. */
static size_t
vurl_tag_end(const char *s, size_t len, size_t i)
{
	char	 close = s[i + 1] == '{' ? '}' : s[i + 1];
	size_t	 j;

	for (j = i + 2; j + 1 < len; j++)
		if (s[j] == close && s[j + 1] == '}')
			return j + 2;
	return len;
}

/* True when a template tag opens at s[i]. */
static int
vurl_is_tag(const char *s, size_t len, size_t i)
{
	return i + 1 < len && s[i] == '{' &&
	    (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#');
}

/* A hexadecimal digit, for %XX escapes. */
static int
vhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * The literal text of a URL (outside template tags) must be a URL already:
 * the URL field is not percent-encoded for the author (platform-docs §3).
 */
static int
vurl_chars(struct vctx *v, const char *s, size_t len, size_t off)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		if (vurl_is_tag(s, len, i)) {
			i = vurl_tag_end(s, len, i) - 1;
			continue;
		}
		c = s[i];
		if (c == ' ') {
			reg_add(v, off, REG_E_URL, "a space in the URL at "
			    "character %zu; put such values in a query "
			    "parameter, which is encoded for you", i + 1);
			return -1;
		}
		if (c < 0x21 || c >= 0x7f || strchr("\"<>\\^`{|}", c) != NULL) {
			reg_add(v, off, REG_E_URL, "character %zu of the URL "
			    "is not allowed in a URL; percent-encode it or put "
			    "it in a query parameter", i + 1);
			return -1;
		}
		if (c == '%' && (i + 2 >= len || !vhex(s[i + 1]) ||
		    !vhex(s[i + 2]))) {
			reg_add(v, off, REG_E_URL, "'%%' at character %zu of "
			    "the URL does not start a %%XX escape", i + 1);
			return -1;
		}
	}
	return 0;
}

/* Check a literal authority ("host", "host:port", "[v6]:port"). */
static int
vurl_authority(struct vctx *v, const char *a, size_t len, size_t off)
{
	char		 host[256];
	const char	*why = NULL, *p, *hend;
	size_t		 hlen, i;
	long		 port;

	if (memchr(a, '@', len) != NULL) {
		reg_add(v, off, REG_E_URL, "user information (user@host) is "
		    "not allowed in a connector URL");
		return -1;
	}
	if (len > 0 && a[0] == '[') {
		if ((hend = memchr(a, ']', len)) == NULL) {
			reg_add(v, off, REG_E_URL, "unterminated IPv6 address "
			    "in the URL host");
			return -1;
		}
		p = a + 1;
		hlen = hend - p;
		hend++;
	} else {
		p = a;
		hend = memchr(a, ':', len);
		if (hend == NULL)
			hend = a + len;
		hlen = hend - p;
	}
	if (hlen == 0) {
		reg_add(v, off, REG_E_URL, "the URL has no host");
		return -1;
	}
	if (hlen >= sizeof(host)) {
		reg_add(v, off, REG_E_URL, "the URL host is too long");
		return -1;
	}
	if (hend < a + len) {
		if (*hend != ':' || hend + 1 == a + len) {
			reg_add(v, off, REG_E_URL, "bad port in the URL");
			return -1;
		}
		port = 0;
		for (p = hend + 1; p < a + len; p++) {
			if (*p < '0' || *p > '9' || (port = port * 10 +
			    (*p - '0')) > 65535) {
				reg_add(v, off, REG_E_URL, "bad port in the URL");
				return -1;
			}
		}
		if (port == 0) {
			reg_add(v, off, REG_E_URL, "bad port in the URL");
			return -1;
		}
		p = a[0] == '[' ? a + 1 : a;
	}
	for (i = 0; i < hlen; i++) {
		char c = p[i];

		host[i] = (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
	}
	host[hlen] = '\0';
	if (!netpolicy_host_allowed(v->v_policy, host, &why)) {
		reg_add(v, off, REG_E_URL, "the host '%s' is not allowed: %s",
		    host, why ? why : "private or local address");
		return -1;
	}
	return 0;
}

/*
 * Check and compile a URL (a connector's, a step's, or a token_url).  The
 * scheme must be literal; the host is either literal (checked against the
 * egress policy now) or built only from get_variable() (checked at run
 * time, platform-docs §3a); the rest is a template of kind rest_kind.
 */
static int
vurl(struct vctx *v, const char *s, size_t len, size_t off,
    enum tmpl_field rest_kind, struct conn_tmpl *whole,
    struct conn_tmpl *origin, int *origin_literal)
{
	struct conn_tmpl	 part;
	struct tmpl_error	 err;
	size_t			 scheme_end, host_end, i;
	int			 templated = 0, rv = -1;

	memset(&part, 0, sizeof(part));
	if (vtmpl_set(whole, s, len) == -1)
		return -1;
	if (len == 0) {
		reg_add(v, off, REG_E_URL, "the URL is empty");
		return -1;
	}
	if (vchars(s, len) > LIM_URL) {
		reg_add(v, off, REG_E_LENGTH, "is %zu characters long; at most "
		    "%d are allowed", vchars(s, len), LIM_URL);
		return -1;
	}
	memset(&err, 0, sizeof(err));
	if ((whole->ct_tmpl = tmpl_compile(s, len, &err)) == NULL) {
		reg_add(v, vtmpl_off(v, off, err.te_line, err.te_col),
		    REG_E_TEMPLATE, "template syntax error at %d:%d: %s",
		    err.te_line, err.te_col, err.te_msg);
		return -1;
	}
	/* The origin and the path are parts of this text: no more uses. */
	v->v_uses |= tmpl_usage(whole->ct_tmpl)->tu_flags;
	if (vurl_chars(v, s, len, off) == -1)
		return -1;

	if (len >= 8 && strncasecmp(s, "https://", 8) == 0)
		scheme_end = 8;
	else if (len >= 7 && strncasecmp(s, "http://", 7) == 0) {
		if (!v->v_policy->np_allow_http) {
			reg_add(v, off, REG_E_URL, "the URL must use https:// "
			    "(http:// only with egress allow_http)");
			return -1;
		}
		scheme_end = 7;
	} else if (vurl_is_tag(s, len, 0) && s[1] == '{') {
		/* The whole origin comes from a variable (§3a). */
		i = vurl_tag_end(s, len, 0);
		if (len - i >= 3 && memcmp(s + i, "://", 3) == 0) {
			reg_add(v, off, REG_E_URL, "the URL scheme cannot be "
			    "templated");
			return -1;
		}
		scheme_end = 0;
	} else {
		reg_add(v, off, REG_E_URL, vurl_is_tag(s, len, 0) ?
		    "the URL scheme cannot be templated" :
		    "the URL must start with https://");
		return -1;
	}

	/* The host ends at the first '/', '?' or '#' outside a tag. */
	for (host_end = scheme_end; host_end < len; host_end++) {
		if (vurl_is_tag(s, len, host_end)) {
			templated = 1;
			host_end = vurl_tag_end(s, len, host_end) - 1;
			continue;
		}
		if (s[host_end] == '/' || s[host_end] == '?' ||
		    s[host_end] == '#')
			break;
	}
	if (host_end == scheme_end) {
		reg_add(v, off, REG_E_URL, "the URL has no host");
		return -1;
	}
	if (origin_literal != NULL)
		*origin_literal = !templated;
	if (!templated) {
		if (vurl_authority(v, s + scheme_end, host_end - scheme_end,
		    off) == -1)
			return -1;
		if (origin != NULL && vtmpl_set(origin, s, host_end) == -1)
			return -1;
		if (origin != NULL && (origin->ct_tmpl = tmpl_compile(s,
		    host_end, &err)) == NULL)
			return -1;
	} else {
		memset(&err, 0, sizeof(err));
		if ((part.ct_tmpl = tmpl_compile(s, host_end, &err)) == NULL) {
			reg_add(v, off, REG_E_URL, "the URL host may only be "
			    "{{ get_variable('name') }}, optionally with "
			    "| default('literal'[, true]); no block may span "
			    "the host and the path");
			goto out;
		}
		if (!tmpl_validate(part.ct_tmpl, TMPL_FIELD_URL_HOST, &err)) {
			reg_add(v, vtmpl_off(v, off, err.te_line, err.te_col),
			    REG_E_URL, "in the URL host at %d:%d: %s",
			    err.te_line, err.te_col, err.te_msg);
			goto out;
		}
		if (origin != NULL) {
			if (vtmpl_set(origin, s, host_end) == -1)
				goto out;
			origin->ct_tmpl = part.ct_tmpl;
			part.ct_tmpl = NULL;
		}
	}
	if (host_end < len) {
		tmpl_free(part.ct_tmpl);
		memset(&err, 0, sizeof(err));
		if ((part.ct_tmpl = tmpl_compile(s + host_end, len - host_end,
		    &err)) == NULL) {
			reg_add(v, off, REG_E_URL, "no template block may span "
			    "the URL host and its path");
			goto out;
		}
		if (!tmpl_validate(part.ct_tmpl, rest_kind, &err)) {
			/* Columns relative to the whole URL on its first line. */
			if (err.te_line == 1)
				err.te_col += (int)vchars(s, host_end);
			reg_add(v, vtmpl_off(v, off, err.te_line, err.te_col),
			    REG_E_TEMPLATE, "template %d:%d: %s",
			    err.te_line, err.te_col, err.te_msg);
			goto out;
		}
	}
	rv = 0;
 out:
	tmpl_free(part.ct_tmpl);
	return rv;
}

/* --- Duplicates ------------------------------------------------------------ */

struct vdup_sort {
	const char *const	*ds_keys;
	int			 ds_icase;
};
static struct vdup_sort	 vdup_sorting;

static int
vdup_cmp(const void *a, const void *b)
{
	size_t	 i = *(const size_t *)a, j = *(const size_t *)b;
	int	 c;

	c = vdup_sorting.ds_icase ?
	    strcasecmp(vdup_sorting.ds_keys[i], vdup_sorting.ds_keys[j]) :
	    strcmp(vdup_sorting.ds_keys[i], vdup_sorting.ds_keys[j]);
	if (c != 0)
		return c;
	return i < j ? -1 : 1;
}

/*
 * For each keys[i], the index of the first equal key before it, or -1
 * (NULL keys never match).  Sorting keeps a registry of thousands of
 * connectors or rows linear-logarithmic to check.  NULL on exhaustion.
 */
static long *
vdups(const char *const *keys, size_t n, int icase)
{
	long	*first;
	size_t	*idx, i, m = 0, f = 0;

	if ((first = calloc(n ? n : 1, sizeof(*first))) == NULL)
		return NULL;
	if ((idx = calloc(n ? n : 1, sizeof(*idx))) == NULL) {
		free(first);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		first[i] = -1;
		if (keys[i] != NULL)
			idx[m++] = i;
	}
	vdup_sorting.ds_keys = keys;
	vdup_sorting.ds_icase = icase;
	qsort(idx, m, sizeof(*idx), vdup_cmp);
	for (i = 1; i < m; i++) {
		if ((icase ? strcasecmp(keys[idx[i]], keys[idx[f]]) :
		    strcmp(keys[idx[i]], keys[idx[f]])) == 0)
			first[idx[i]] = (long)idx[f];
		else
			f = i;
	}
	free(idx);
	return first;
}

/* --- Parameters ------------------------------------------------------------ */

enum vparam_kind { VP_HEADER, VP_QUERY, VP_PATH };

/* A path value a caller could send (platform-docs §8). */
static int
vpath_value(const char *s, size_t len)
{
	size_t	 i;

	if (len < 1 || len > LIM_PATHVALUE)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._~-", s[i]) != NULL) ||
		    s[i] == '\0')
			return 0;
	return memmem(s, len, "..", 2) == NULL && !(len == 1 && s[0] == '.');
}

/* Duplicate keys are rejected (since 2026-06-24); headers ignore case. */
static void
vparams_dups(struct vctx *v, const struct jv *arr, enum vparam_kind kind,
    struct conn_param *out, size_t nout)
{
	const char	**keys;
	long		 *first;
	size_t		  i, n;
	struct jv	  row, kj;

	if (nout == 0 || (keys = calloc(nout, sizeof(*keys))) == NULL)
		return;
	for (i = 0; i < nout; i++)
		keys[i] = out[i].cp_key;
	if ((first = vdups(keys, nout, kind == VP_HEADER)) != NULL) {
		for (i = 0; i < nout; i++) {
			if (first[i] == -1)
				continue;
			row = vitem(arr, i);
			kj = vget(&row, "key");
			n = vpush_idx(v, i);
			vpush_key(v, "key");
			reg_add(v, vpos(&kj), REG_E_DUP_KEY, "duplicate %s '%s' "
			    "(also [%ld])", kind == VP_HEADER ? "header" :
			    kind == VP_QUERY ? "query parameter" :
			    "path parameter", keys[i], first[i]);
			vpop(v, n);
		}
		free(first);
	}
	free(keys);
}

/*
 * Header, query or path parameter rows.  Keys are literal, values are
 * templates of field kind tkind (path defaults are literal).  uses collects
 * what header and query values refer to: the worker refuses anonymous
 * callers of a connector whose headers or query use user.* (§11).
 */
static void
vparams(struct vctx *v, const struct jv *obj, const char *field,
    enum vparam_kind kind, enum tmpl_field tkind, struct conn_param **outp,
    size_t *noutp, unsigned int *uses)
{
	struct jv		 arr = vget(obj, field), row, kj;
	struct conn_param	*out = NULL, *p;
	const char		*key, *val;
	const struct tmpl_usage	*u;
	size_t			 i, n, n2, klen, vlen, nout = 0;

	n = vpush_key(v, field);
	if (vabsent(&arr))
		goto out;
	if (arr.p->jp_type != JP_ARRAY) {
		reg_add(v, vpos(&arr), REG_E_TYPE, "must be an array, not %s",
		    vtypename(&arr));
		goto out;
	}
	if (arr.p->jp_n > 0 &&
	    (out = calloc(arr.p->jp_n, sizeof(*out))) == NULL)
		goto out;
	for (i = 0; i < arr.p->jp_n; i++) {
		row = vitem(&arr, i);
		n2 = vpush_idx(v, i);
		if (row.p->jp_type != JP_OBJECT) {
			reg_add(v, vpos(&row), REG_E_TYPE,
			    "must be an object {\"key\", \"value\", "
			    "\"overridable\"}, not %s", vtypename(&row));
			goto next;
		}
		/* One slot per row, so that slot i is row i. */
		p = &out[i];
		nout = i + 1;
		if (vstring(v, &row, "key", 1, LIM_KEY, NULL, &key, &klen,
		    &kj) == 1) {
			size_t n3 = vpush_key(v, "key");

			if (klen == 0)
				reg_add(v, vpos(&kj), REG_E_VALUE,
				    "the key must not be empty");
			else if (kind == VP_HEADER && !tok_is_token(key, klen))
				reg_add(v, vpos(&kj), REG_E_VALUE,
				    "'%s' is not a valid HTTP header name", key);
			else if (kind == VP_HEADER && plan_header_reserved(key))
				reg_add(v, vpos(&kj), REG_E_VALUE,
				    "'%s' is set by the HTTP client itself; a "
				    "connector cannot set it", key);
			else if (memchr(key, '\0', klen) != NULL)
				reg_add(v, vpos(&kj), REG_E_VALUE,
				    "the key contains a NUL character");
			vpop(v, n3);
			p->cp_key = strdup(key);
		}
		if (kind == VP_PATH) {
			/* An optional default; it must be a value a caller
			   could send itself. */
			if (vstring(v, &row, "value", 0, LIM_PATHVALUE, NULL,
			    &val, &vlen, &kj) == 1) {
				size_t n3 = vpush_key(v, "value");

				if (vlen > 0 && !vpath_value(val, vlen))
					reg_add(v, vpos(&kj), REG_E_VALUE,
					    "a path parameter value may only "
					    "hold A-Z a-z 0-9 . _ ~ - (no "
					    "'..')");
				vpop(v, n3);
				vtmpl_set(&p->cp_value, val, vlen);
			} else
				vtmpl_set(&p->cp_value, "", 0);
		} else if (vtmpl_field(v, &row, "value", 1, LIM_VALUE, NULL,
		    tkind, &p->cp_value) == 1 && p->cp_value.ct_tmpl != NULL) {
			u = tmpl_usage(p->cp_value.ct_tmpl);
			if (u != NULL && uses != NULL)
				*uses |= u->tu_flags;
			/* A literal header value can never be sent with these. */
			if (kind == VP_HEADER &&
			    tmpl_is_literal(p->cp_value.ct_tmpl) &&
			    strcspn(p->cp_value.ct_src, "\r\n") <
			    p->cp_value.ct_len) {
				size_t n3 = vpush_key(v, "value");

				kj = vget(&row, "value");
				reg_add(v, vpos(&kj), REG_E_VALUE, "a header "
				    "value cannot hold CR, LF or NUL");
				vpop(v, n3);
			}
		}
		kj = vget(&row, "overridable");
		if (!vabsent(&kj)) {
			size_t n3 = vpush_key(v, "overridable");

			if (kj.p->jp_type != JP_BOOL)
				reg_add(v, vpos(&kj), REG_E_TYPE,
				    "must be true or false, not %s",
				    vtypename(&kj));
			else
				p->cp_overridable = json_object_get_boolean(kj.o);
			vpop(v, n3);
		}
 next:
		vpop(v, n2);
	}
	vparams_dups(v, &arr, kind, out, nout);
 out:
	vpop(v, n);
	*outp = out;
	*noutp = nout;
}

/* --- Authentication -------------------------------------------------------- */

/*
 * claims, additional_claims and jwt_headers: string members are templates
 * (rendered per request), other JSON values are kept and sent as they are.
 */
static void
vclaims(struct vctx *v, const struct jv *cfg, const char *field, int required,
    enum tmpl_field tkind, struct conn_claim **outp, size_t *noutp)
{
	struct jv		 obj = vget(cfg, field), m;
	struct conn_claim	*out = NULL, *c;
	const struct jpos_member *jm;
	size_t			 i, n, n2, nout = 0;

	n = vpush_key(v, field);
	if (vabsent(&obj)) {
		if (required)
			reg_add(v, obj.p ? vpos(&obj) : cfg->p->jp_off,
			    REG_E_AUTH, "required field \"%s\" is missing",
			    field);
		goto out;
	}
	if (obj.p->jp_type != JP_OBJECT) {
		reg_add(v, vpos(&obj), REG_E_AUTH, "must be an object, not %s",
		    vtypename(&obj));
		goto out;
	}
	if (obj.p->jp_n > 0 && (out = calloc(obj.p->jp_n, sizeof(*out))) == NULL)
		goto out;
	for (i = 0; i < obj.p->jp_n; i++) {
		jm = &obj.p->jp_members[i];
		/* A repeated key was reported already; json-c kept the last. */
		if (!jm->jm_last)
			continue;
		m = vget(&obj, jm->jm_key);
		c = &out[nout++];
		c->cl_key = strdup(jm->jm_key);
		n2 = vpush_key(v, jm->jm_key);
		if (m.p->jp_type == JP_STRING)
			vtmpl(v, json_object_get_string(m.o),
			    json_object_get_string_len(m.o), vpos(&m), tkind,
			    &c->cl_value);
		else {
			vtmpl_set(&c->cl_value, "", 0);
			c->cl_json = json_object_get(m.o);
			/* A JSON null stays null: keep an explicit object. */
			if (c->cl_json == NULL)
				c->cl_json = json_object_new_null();
		}
		vpop(v, n2);
	}
 out:
	vpop(v, n);
	*outp = out;
	*noutp = nout;
}

/*
 * authentication {type, config}: the required keys of each type must be
 * present, unknown keys are ignored like any unknown field.  Every string
 * is a template of the authentication field kind; in composite steps that
 * is the header kind, which has the same availability (§20).
 */
static void
vauth(struct vctx *v, const struct jv *obj, struct conn_auth *a)
{
	struct jv		 auth = vget(obj, "authentication"), cfg, j;
	const char		*type, *s;
	enum tmpl_field		 tk = v->v_step ? TMPL_FIELD_STEP_HEADER :
				    TMPL_FIELD_AUTH;
	size_t			 n, n2, len, i;
	int64_t			 ttl;

	a->ca_type = CONN_AUTH_NONE;
	a->ca_token_ttl = 3600;
	n = vpush_key(v, "authentication");
	if (vabsent(&auth))
		goto out;
	if (auth.p->jp_type != JP_OBJECT) {
		reg_add(v, vpos(&auth), REG_E_AUTH,
		    "must be an object {\"type\", \"config\"}, not %s",
		    vtypename(&auth));
		goto out;
	}
	if (vstring(v, &auth, "type", 1, 0, REG_E_AUTH, &type, &len, &j) != 1)
		goto out;
	if (strcmp(type, "none") == 0)
		goto out;	/* config, if any, is ignored */
	else if (strcmp(type, "api_key") == 0 || strcmp(type, "apikey") == 0)
		a->ca_type = CONN_AUTH_API_KEY;	/* apikey: permanent alias */
	else if (strcmp(type, "oauth_client_credentials") == 0)
		a->ca_type = CONN_AUTH_OAUTH_CC;
	else if (strcmp(type, "jwt") == 0)
		a->ca_type = CONN_AUTH_JWT;
	else if (strcmp(type, "oauth_jwt_bearer") == 0)
		a->ca_type = CONN_AUTH_OAUTH_JWT_BEARER;
	else {
		n2 = vpush_key(v, "type");
		reg_add(v, vpos(&j), REG_E_AUTH, "unknown authentication type "
		    "'%s' (none, api_key, oauth_client_credentials, jwt, "
		    "oauth_jwt_bearer)", type);
		vpop(v, n2);
		goto out;
	}
	cfg = vget(&auth, "config");
	if (vabsent(&cfg) || cfg.p->jp_type != JP_OBJECT) {
		n2 = vpush_key(v, "config");
		if (vabsent(&cfg))
			reg_add(v, cfg.p ? vpos(&cfg) : vpos(&auth), REG_E_AUTH,
			    "required field \"config\" is missing");
		else
			reg_add(v, vpos(&cfg), REG_E_AUTH,
			    "must be an object, not %s", vtypename(&cfg));
		vpop(v, n2);
		goto out;
	}
	n2 = vpush_key(v, "config");
	switch (a->ca_type) {
	case CONN_AUTH_API_KEY:
		vtmpl_field(v, &cfg, "key", 1, LIM_KEY, REG_E_AUTH, tk, &a->ca_key);
		vtmpl_field(v, &cfg, "value", 1, LIM_VALUE, REG_E_AUTH, tk,
		    &a->ca_value);
		a->ca_in = CONN_IN_HEADER;
		if (vstring(v, &cfg, "in", 0, 0, REG_E_AUTH, &s, &len, &j) == 1) {
			if (strcmp(s, "query") == 0)
				a->ca_in = CONN_IN_QUERY;
			else if (strcmp(s, "header") != 0) {
				size_t n3 = vpush_key(v, "in");

				reg_add(v, vpos(&j), REG_E_AUTH, "\"in\" must be "
				    "\"header\" or \"query\", not '%s'", s);
				vpop(v, n3);
			}
		}
		/* A literal header name must be one HTTP can carry. */
		if (a->ca_in == CONN_IN_HEADER && a->ca_key.ct_tmpl != NULL &&
		    tmpl_is_literal(a->ca_key.ct_tmpl) &&
		    !tok_is_token(a->ca_key.ct_src, a->ca_key.ct_len)) {
			size_t n3 = vpush_key(v, "key");

			j = vget(&cfg, "key");
			reg_add(v, vpos(&j), REG_E_AUTH, "'%s' is not a valid "
			    "HTTP header name", a->ca_key.ct_src);
			vpop(v, n3);
		} else if (a->ca_in == CONN_IN_HEADER &&
		    a->ca_key.ct_tmpl != NULL &&
		    tmpl_is_literal(a->ca_key.ct_tmpl) &&
		    plan_header_reserved(a->ca_key.ct_src)) {
			size_t n3 = vpush_key(v, "key");

			j = vget(&cfg, "key");
			reg_add(v, vpos(&j), REG_E_AUTH, "'%s' is set by the HTTP "
			    "client itself; a connector cannot set it",
			    a->ca_key.ct_src);
			vpop(v, n3);
		}
		break;
	case CONN_AUTH_OAUTH_CC:
	case CONN_AUTH_OAUTH_JWT_BEARER:
		vtmpl_field(v, &cfg, "client_id", 1, 0, REG_E_AUTH, tk,
		    &a->ca_client_id);
		if (vstring(v, &cfg, "token_url", 1, 0, REG_E_AUTH, &s, &len,
		    &j) == 1) {
			size_t n3 = vpush_key(v, "token_url");

			/*
			 * A token URL is a URL: no secrets in it (§12).  Its
			 * origin binds the token request as cr_origin binds
			 * the call: the keeper checks both.
			 */
			vurl(v, s, len, vpos(&j), v->v_step ?
			    TMPL_FIELD_STEP_URL : TMPL_FIELD_URL,
			    &a->ca_token_url, &a->ca_token_origin,
			    &a->ca_token_origin_literal);
			vpop(v, n3);
		}
		if (a->ca_type == CONN_AUTH_OAUTH_CC) {
			vtmpl_field(v, &cfg, "client_secret", 1, 0, REG_E_AUTH,
			    tk, &a->ca_client_secret);
			vtmpl_field(v, &cfg, "scope", 0, 0, REG_E_AUTH, tk,
			    &a->ca_scope);
			break;
		}
		vtmpl_field(v, &cfg, "subject", 1, 0, REG_E_AUTH, tk,
		    &a->ca_subject);
		vtmpl_field(v, &cfg, "audience", 1, 0, REG_E_AUTH, tk,
		    &a->ca_audience);
		j = vget(&cfg, "token_ttl");
		if (!vabsent(&j)) {
			size_t n3 = vpush_key(v, "token_ttl");

			ttl = j.p->jp_type == JP_NUMBER &&
			    json_object_is_type(j.o, json_type_int) ?
			    json_object_get_int64(j.o) : -1;
			if (ttl < 1 || ttl > 86400 * 366)
				reg_add(v, vpos(&j), REG_E_AUTH, "token_ttl must "
				    "be a whole number of seconds from 1 to "
				    "31622400");
			else
				a->ca_token_ttl = ttl;
			vpop(v, n3);
		}
		/* FALLTHROUGH */
	case CONN_AUTH_JWT:
		vtmpl_field(v, &cfg, "private_key", 1, 0, REG_E_AUTH, tk,
		    &a->ca_private_key);
		a->ca_algorithm = strdup("RS256");
		if (vstring(v, &cfg, "algorithm", 0, 0, REG_E_AUTH, &s, &len,
		    &j) == 1) {
			for (i = 0; i < sizeof(reg_algorithms) /
			    sizeof(reg_algorithms[0]); i++)
				if (strcmp(s, reg_algorithms[i]) == 0)
					break;
			if (i == sizeof(reg_algorithms) / sizeof(reg_algorithms[0])) {
				size_t n3 = vpush_key(v, "algorithm");

				reg_add(v, vpos(&j), REG_E_AUTH, "unsupported "
				    "algorithm '%s' (HS256 HS384 HS512 RS256 "
				    "RS384 RS512 ES256 ES384 ES512 PS256 PS384 "
				    "PS512 EdDSA)", s);
				vpop(v, n3);
			} else {
				free(a->ca_algorithm);
				a->ca_algorithm = strdup(reg_algorithms[i]);
			}
		}
		vclaims(v, &cfg, a->ca_type == CONN_AUTH_JWT ? "claims" :
		    "additional_claims", a->ca_type == CONN_AUTH_JWT, tk,
		    &a->ca_claims, &a->ca_nclaims);
		vclaims(v, &cfg, "jwt_headers", 0, tk, &a->ca_headers,
		    &a->ca_nheaders);
		break;
	case CONN_AUTH_NONE:
		break;
	}
	vpop(v, n2);
 out:
	vpop(v, n);
}


/* --- widgetd's extension key ---------------------------------------------- */

/* Every member of obj must be one of names: the extension is ours, strict. */
static void
vext_known(struct vctx *v, const struct jv *obj, const char *const *names)
{
	const struct jpos_member	*jm;
	struct jv			 m;
	size_t				 i, k, n;

	for (i = 0; i < obj->p->jp_n; i++) {
		jm = &obj->p->jp_members[i];
		for (k = 0; names[k] != NULL; k++)
			if (strcmp(jm->jm_key, names[k]) == 0)
				break;
		if (names[k] != NULL)
			continue;
		m = vget(obj, jm->jm_key);
		n = vpush_key(v, jm->jm_key);
		reg_add(v, vpos(&m), REG_E_VALUE, "unknown field \"%s\"",
		    jm->jm_key);
		vpop(v, n);
	}
}

/* An object member that must be an object when present: 1, 0 absent. */
static int
vext_object(struct vctx *v, const struct jv *obj, const char *key,
    struct jv *out)
{
	size_t	 n;

	*out = vget(obj, key);
	if (vabsent(out))
		return 0;
	if (out->p->jp_type != JP_OBJECT) {
		n = vpush_key(v, key);
		reg_add(v, vpos(out), REG_E_TYPE, "must be an object, not %s",
		    vtypename(out));
		vpop(v, n);
		return 0;
	}
	return 1;
}

/* "caller": { "signed_in": bool, "claims": { name: value | [values] } } */
static void
vext_caller(struct vctx *v, const struct jv *cj, struct conn_caller *cc)
{
	static const char *const known[] = { "signed_in", "claims", NULL };
	struct conn_caller_rule		*r;
	const struct jpos_member	*jm;
	struct jv			 b, cl, m, it;
	size_t				 i, k, n, n2;

	vext_known(v, cj, known);
	b = vget(cj, "signed_in");
	if (!vabsent(&b)) {
		n = vpush_key(v, "signed_in");
		if (b.p->jp_type != JP_BOOL)
			reg_add(v, vpos(&b), REG_E_TYPE, "must be true or "
			    "false, not %s", vtypename(&b));
		else
			cc->cc_signed_in = json_object_get_boolean(b.o);
		vpop(v, n);
	}
	if (!vext_object(v, cj, "claims", &cl))
		return;
	n = vpush_key(v, "claims");
	if (cl.p->jp_n > 0 && (cc->cc_rules = calloc(cl.p->jp_n,
	    sizeof(*cc->cc_rules))) == NULL)
		goto out;
	for (i = 0; i < cl.p->jp_n; i++) {
		jm = &cl.p->jp_members[i];
		if (!jm->jm_last)
			continue;
		m = vget(&cl, jm->jm_key);
		n2 = vpush_key(v, jm->jm_key);
		r = &cc->cc_rules[cc->cc_nrules++];
		r->cr_claim = strdup(jm->jm_key);
		if (jm->jm_key[0] == '\0')
			reg_add(v, vpos(&m), REG_E_VALUE, "a claim name must "
			    "not be empty");
		if (m.p->jp_type == JP_STRING) {
			r->cr_values = calloc(1, sizeof(*r->cr_values));
			if (r->cr_values != NULL) {
				r->cr_values[0] = strdup(
				    json_object_get_string(m.o));
				r->cr_nvalues = 1;
			}
		} else if (m.p->jp_type == JP_ARRAY && m.p->jp_n > 0) {
			r->cr_values = calloc(m.p->jp_n, sizeof(*r->cr_values));
			for (k = 0; r->cr_values != NULL && k < m.p->jp_n;
			    k++) {
				it = vitem(&m, k);
				if (it.p->jp_type != JP_STRING) {
					size_t n3 = vpush_idx(v, k);

					reg_add(v, vpos(&it), REG_E_TYPE,
					    "must be a string, not %s",
					    vtypename(&it));
					vpop(v, n3);
					continue;
				}
				r->cr_values[r->cr_nvalues++] = strdup(
				    json_object_get_string(it.o));
			}
		} else
			reg_add(v, vpos(&m), REG_E_TYPE, "must be a string or "
			    "a non-empty array of strings, not %s",
			    vtypename(&m));
		vpop(v, n2);
	}
out:
	vpop(v, n);
}

/*
 * A number member of obj within [min, max] (whole when integer): 1 and
 * *out, 0 absent, -1 wrong (reported).
 */
static int
vext_number(struct vctx *v, const struct jv *obj, const char *key,
    double min, double max, int integer, double *out)
{
	struct jv	 j = vget(obj, key);
	double		 d;
	size_t		 n;
	int		 ok;

	if (vabsent(&j))
		return 0;
	n = vpush_key(v, key);
	ok = j.p->jp_type == JP_NUMBER && (!integer ||
	    json_object_is_type(j.o, json_type_int));
	d = ok ? json_object_get_double(j.o) : 0;
	if (!ok || d < min || d > max) {
		reg_add(v, vpos(&j), REG_E_VALUE, "must be %s from %g to %g",
		    integer ? "a whole number" : "a number", min, max);
		vpop(v, n);
		return -1;
	}
	*out = d;
	vpop(v, n);
	return 1;
}

/*
 * "limits": { "concurrency", "rate", "burst" } and "retry": { "attempts",
 * "backoff", "max_backoff" } (widgetd-connectors(5), LIMITS AND RETRIES).
 */
static void
vext_limits(struct vctx *v, const struct jv *w, struct conn_ext *e)
{
	static const char *const lknown[] = { "concurrency", "rate", "burst",
	    NULL };
	static const char *const rknown[] = { "attempts", "backoff",
	    "max_backoff", NULL };
	struct jv	 l, r, b;
	double		 d;
	size_t		 n;

	if (vext_object(v, w, "limits", &l)) {
		n = vpush_key(v, "limits");
		vext_known(v, &l, lknown);
		if (vext_number(v, &l, "concurrency", 1, 10000, 1, &d) == 1)
			e->ce_concurrency = (int)d;
		if (vext_number(v, &l, "rate", 0.001, 100000, 0, &d) == 1)
			e->ce_rate = d;
		e->ce_burst = 1;
		if (vext_number(v, &l, "burst", 1, 100000, 1, &d) == 1)
			e->ce_burst = (int)d;
		b = vget(&l, "burst");
		if (e->ce_rate == 0 && !vabsent(&b))
			reg_add(v, vpos(&l), REG_E_VALUE, "burst needs a rate");
		vpop(v, n);
	}
	if (vext_object(v, w, "retry", &r)) {
		n = vpush_key(v, "retry");
		vext_known(v, &r, rknown);
		e->ce_backoff = 0.1;
		e->ce_max_backoff = 2;
		b = vget(&r, "attempts");
		if (vabsent(&b))
			reg_add(v, vpos(&r), REG_E_MISSING, "attempts is "
			    "required");
		else if (vext_number(v, &r, "attempts", 1, 10, 1, &d) == 1)
			e->ce_attempts = (int)d;
		if (vext_number(v, &r, "backoff", 0.01, 15, 0, &d) == 1)
			e->ce_backoff = d;
		if (vext_number(v, &r, "max_backoff", 0.01, 15, 0, &d) == 1)
			e->ce_max_backoff = d;
		if (e->ce_max_backoff < e->ce_backoff)
			reg_add(v, vpos(&r), REG_E_VALUE, "max_backoff is less "
			    "than backoff");
		vpop(v, n);
	}
}

/*
 * AWS SigV4 computes the Authorization header over the final request: no
 * other authentication, and no row that sets what it signs with.
 */
static void
vext_conflicts(struct vctx *v, const struct jv *obj,
    const struct conn_request *cr)
{
	static const char *const owned[] = { "Authorization", "X-Amz-Date",
	    "X-Amz-Content-Sha256", "X-Amz-Security-Token" };
	struct jv	 w = vget(obj, "widgetd"), a;
	size_t		 i, k, n;

	/* A retried POST or PATCH could act twice upstream. */
	if (cr->cr_ext.ce_attempts > 0 && (cr->cr_method == CONN_POST ||
	    cr->cr_method == CONN_PATCH)) {
		a = vget(&w, "retry");
		n = vpush_key(v, "widgetd");
		(void)vpush_key(v, "retry");
		reg_add(v, vpos(&a), REG_E_VALUE, "retries are never made for "
		    "%s: only idempotent methods are retried",
		    conn_method_name(cr->cr_method));
		vpop(v, n);
	}
	if (!cr->cr_ext.ce_sigv4)
		return;
	a = vget(&w, "aws_sigv4");
	/* Errors name widgetd.aws_sigv4; one pop takes both keys off. */
	n = vpush_key(v, "widgetd");
	(void)vpush_key(v, "aws_sigv4");
	if (cr->cr_auth.ca_type != CONN_AUTH_NONE)
		reg_add(v, vpos(&a), REG_E_AUTH, "aws_sigv4 signs the request "
		    "itself: the authentication type must be none, not %s",
		    conn_auth_name(cr->cr_auth.ca_type));
	for (i = 0; i < cr->cr_nheaders; i++)
		for (k = 0; k < sizeof(owned) / sizeof(owned[0]); k++)
			if (cr->cr_headers[i].cp_key != NULL &&
			    strcasecmp(cr->cr_headers[i].cp_key, owned[k]) == 0)
				reg_add(v, vpos(&a), REG_E_AUTH, "aws_sigv4 "
				    "sets %s; headers[%zu] cannot", owned[k], i);
	vpop(v, n);
}

/*
 * "cache": { "stale_if_error": seconds } — how long a stale answer may
 * stand in for an upstream failure when the upstream itself does not say
 * (RFC 5861); cache.stale_if_error_max bounds it at run time.
 */
#define VEXT_STALE_MAX	(7 * 86400)

static void
vext_cache(struct vctx *v, const struct jv *cj, struct conn_ext *e)
{
	static const char *const known[] = { "stale_if_error", NULL };
	struct jv	 j;
	int64_t		 secs;
	size_t		 n;

	vext_known(v, cj, known);
	j = vget(cj, "stale_if_error");
	if (vabsent(&j))
		return;
	n = vpush_key(v, "stale_if_error");
	secs = j.p->jp_type == JP_NUMBER && json_object_is_type(j.o,
	    json_type_int) ? json_object_get_int64(j.o) : -1;
	if (secs < 0 || secs > VEXT_STALE_MAX)
		reg_add(v, vpos(&j), REG_E_VALUE, "stale_if_error must be a "
		    "whole number of seconds from 0 to %d", VEXT_STALE_MAX);
	else
		e->ce_stale_if_error = (long)secs;
	vpop(v, n);
}

/*
 * The "widgetd" key: what widgetd adds to a connector that the hosted
 * product does not have.  A request (a simple connector, a composite's
 * step) takes the certificate and SigV4 (e); the caller rule belongs to
 * the whole connector or composite (cc).
 */
static void
vext(struct vctx *v, const struct jv *obj, struct conn_ext *e,
    struct conn_caller *cc)
{
	static const char *const known[] = { "client_certificate",
	    "aws_sigv4", "caller", "cache", "limits", "retry", NULL };
	static const char *const cert_known[] = { "certificate", "key", NULL };
	static const char *const aws_known[] = { "access_key_id",
	    "secret_access_key", "session_token", "region", "service", NULL };
	struct jv	 w, c, a, cl, j, ca;
	const char	*s;
	size_t		 n, n2, len;

	if (!vext_object(v, obj, "widgetd", &w))
		return;
	n = vpush_key(v, "widgetd");
	vext_known(v, &w, known);
	if (e == NULL && (vext_object(v, &w, "client_certificate", &c) ||
	    vext_object(v, &w, "aws_sigv4", &a) ||
	    vext_object(v, &w, "cache", &ca)))
		reg_add(v, vpos(&w), REG_E_VALUE, "client_certificate, "
		    "aws_sigv4 and cache belong to each step of a composite "
		    "connector");
	if (e != NULL && vext_object(v, &w, "cache", &ca)) {
		n2 = vpush_key(v, "cache");
		vext_cache(v, &ca, e);
		vpop(v, n2);
	}
	if (e != NULL && vext_object(v, &w, "client_certificate", &c)) {
		n2 = vpush_key(v, "client_certificate");
		vext_known(v, &c, cert_known);
		vtmpl_field(v, &c, "certificate", 1, 0, REG_E_AUTH,
		    TMPL_FIELD_AUTH, &e->ce_cert);
		vtmpl_field(v, &c, "key", 1, 0, REG_E_AUTH, TMPL_FIELD_AUTH,
		    &e->ce_cert_key);
		vpop(v, n2);
	}
	if (e != NULL && vext_object(v, &w, "aws_sigv4", &a)) {
		n2 = vpush_key(v, "aws_sigv4");
		vext_known(v, &a, aws_known);
		e->ce_sigv4 = 1;
		vtmpl_field(v, &a, "access_key_id", 1, 0, REG_E_AUTH,
		    TMPL_FIELD_AUTH, &e->ce_aws_key_id);
		vtmpl_field(v, &a, "secret_access_key", 1, 0, REG_E_AUTH,
		    TMPL_FIELD_AUTH, &e->ce_aws_secret);
		vtmpl_field(v, &a, "session_token", 0, 0, REG_E_AUTH,
		    TMPL_FIELD_AUTH, &e->ce_aws_token);
		/* Region and service name the signing key: literal. */
		if (vstring(v, &a, "region", 1, 64, REG_E_AUTH, &s, &len,
		    &j) == 1)
			e->ce_aws_region = strdup(s);
		if (vstring(v, &a, "service", 1, 64, REG_E_AUTH, &s, &len,
		    &j) == 1)
			e->ce_aws_service = strdup(s);
		vpop(v, n2);
	}
	if (e == NULL && (vext_object(v, &w, "limits", &c) ||
	    vext_object(v, &w, "retry", &c)))
		reg_add(v, vpos(&w), REG_E_VALUE, "limits and retry belong to "
		    "each step of a composite connector");
	if (e != NULL)
		vext_limits(v, &w, e);
	if (vext_object(v, &w, "caller", &cl)) {
		n2 = vpush_key(v, "caller");
		if (cc == NULL)
			reg_add(v, vpos(&cl), REG_E_VALUE, "a caller rule "
			    "belongs to the composite connector, not a step");
		else
			vext_caller(v, &cl, cc);
		vpop(v, n2);
	}
	vpop(v, n);
}

/* --- Connectors ------------------------------------------------------------ */

/* The method, literal (platform-docs §4); GET when absent. */
static void
vmethod(struct vctx *v, const struct jv *obj, enum conn_method *m)
{
	static const char *const names[] = {
		"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"
	};
	const char	*s;
	struct jv	 j;
	size_t		 len, i, n;

	*m = CONN_GET;
	if (vstring(v, obj, "method", 0, 0, NULL, &s, &len, &j) != 1)
		return;
	/* Accepted in any case, kept upper case. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0 && strlen(s) == len) {
			*m = (enum conn_method)i;
			return;
		}
	n = vpush_key(v, "method");
	reg_add(v, vpos(&j), REG_E_VALUE, "unsupported method '%s' (GET, POST, "
	    "PUT, PATCH, DELETE, HEAD, OPTIONS)", s);
	vpop(v, n);
}

/*
 * response_content_type is literal and goes into a response header as is,
 * so control characters (header injection) are refused here.
 */
static void
vctype(struct vctx *v, const struct jv *obj, char **out)
{
	const char	*s;
	struct jv	 j;
	size_t		 len, i, n;

	if (vstring(v, obj, "response_content_type", 0, LIM_CTYPE, NULL, &s,
	    &len, &j) != 1) {
		*out = strdup("");
		return;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			n = vpush_key(v, "response_content_type");
			reg_add(v, vpos(&j), REG_E_VALUE,
			    "control characters are not allowed in a content type");
			vpop(v, n);
			break;
		}
	*out = strdup(s);
}

/* The upstream request part shared by connectors and composite steps. */
static void
vrequest(struct vctx *v, const struct jv *obj, struct conn_request *cr)
{
	const char	*s;
	struct jv	 j;
	size_t		 len, n;
	int		 step = v->v_step;

	if (vstring(v, obj, "url", 1, 0, NULL, &s, &len, &j) == 1) {
		n = vpush_key(v, "url");
		vurl(v, s, len, vpos(&j), step ? TMPL_FIELD_STEP_URL :
		    TMPL_FIELD_URL, &cr->cr_url, &cr->cr_origin,
		    &cr->cr_origin_literal);
		vpop(v, n);
	}
	vmethod(v, obj, &cr->cr_method);
	vparams(v, obj, "headers", VP_HEADER, step ? TMPL_FIELD_STEP_HEADER :
	    TMPL_FIELD_HEADER, &cr->cr_headers, &cr->cr_nheaders,
	    &cr->cr_header_query_uses);
	vparams(v, obj, "query_parameters", VP_QUERY, step ?
	    TMPL_FIELD_STEP_HEADER : TMPL_FIELD_QUERY, &cr->cr_query,
	    &cr->cr_nquery, &cr->cr_header_query_uses);
	vauth(v, obj, &cr->cr_auth);
	vtmpl_field(v, obj, "request_body", 0, 0, NULL, step ?
	    TMPL_FIELD_STEP_REQUEST_BODY : TMPL_FIELD_REQUEST_BODY,
	    &cr->cr_request_body);
	vtmpl_field(v, obj, "response_body", 0, 0, NULL, step ?
	    TMPL_FIELD_STEP_RESPONSE_BODY : TMPL_FIELD_RESPONSE_BODY,
	    &cr->cr_response_body);
	vctype(v, obj, &cr->cr_response_content_type);
}

/*
 * Name and permalink first, so that every later error names its connector.
 * The permalink, when absent, is the name lower-cased with spaces turned
 * into hyphens (platform-docs §3), and must then match the pattern too.
 */
static void
vident(struct vctx *v, const struct jv *obj, char **namep, char **permap)
{
	const char	*s;
	struct jv	 j, nj;
	size_t		 len, i, n;
	char		*perm;

	*namep = *permap = NULL;
	v->v_name = v->v_permalink = NULL;
	if (vstring(v, obj, "name", 1, LIM_NAME, NULL, &s, &len, &nj) == 1) {
		if (len == 0 || strspn(s, " \t") == len) {
			n = vpush_key(v, "name");
			reg_add(v, vpos(&nj), REG_E_MISSING,
			    "the name must not be empty");
			vpop(v, n);
		} else
			*namep = strdup(s);
	}
	v->v_name = *namep;
	if (vstring(v, obj, "permalink", 0, LIM_PERMALINK, NULL, &s, &len,
	    &j) == 1) {
		n = vpush_key(v, "permalink");
		if (!connector_slug_valid(s, len))
			reg_add(v, vpos(&j), REG_E_PERMALINK, "'%s' is not a "
			    "valid permalink (lower-case letters and digits "
			    "in groups joined by single hyphens)", s);
		else
			*permap = strdup(s);
		vpop(v, n);
	} else if (vabsent(&j) && *namep != NULL) {
		if ((perm = strdup(*namep)) == NULL)
			return;
		for (i = 0; perm[i] != '\0'; i++) {
			if (perm[i] >= 'A' && perm[i] <= 'Z')
				perm[i] += 'a' - 'A';
			else if (perm[i] == ' ')
				perm[i] = '-';
		}
		if (!connector_slug_valid(perm, strlen(perm))) {
			n = vpush_key(v, "name");
			reg_add(v, vpos(&nj), REG_E_PERMALINK, "the permalink '%s' derived from "
			    "the name is not valid; set \"permalink\" (lower-case "
			    "letters and digits in groups joined by single "
			    "hyphens)", perm);
			vpop(v, n);
			free(perm);
		} else
			*permap = perm;
	}
	v->v_permalink = *permap;
}

/* Path parameters versus {{ pathParams.X }} in the URL (SPEC §9). */
static void
vpathparams(struct vctx *v, const struct jv *obj, struct connector *c)
{
	const struct tmpl_usage	*u = NULL;
	struct jv		 arr = vget(obj, "path_parameters"), url;
	size_t			 i, j, n;

	if (c->c_req.cr_url.ct_tmpl != NULL)
		u = tmpl_usage(c->c_req.cr_url.ct_tmpl);
	url = vget(obj, "url");
	for (i = 0; u != NULL && i < u->tu_npathparams; i++) {
		for (j = 0; j < c->c_npath; j++)
			if (c->c_path[j].cp_key != NULL &&
			    strcmp(c->c_path[j].cp_key, u->tu_pathparams[i]) == 0)
				break;
		if (j == c->c_npath) {
			n = vpush_key(v, "url");
			reg_add(v, u->tu_pathparam_line == NULL ? vpos(&url) :
			    vtmpl_off(v, vpos(&url), u->tu_pathparam_line[i],
			    u->tu_pathparam_col[i]), REG_E_PATHPARAMS,
			    "the URL uses "
			    "pathParams.%s (template %d:%d) but no "
			    "path_parameters row declares \"%s\"",
			    u->tu_pathparams[i], u->tu_pathparam_line ?
			    u->tu_pathparam_line[i] : 0, u->tu_pathparam_col ?
			    u->tu_pathparam_col[i] : 0, u->tu_pathparams[i]);
			vpop(v, n);
		}
	}
	/* Nothing to compare against when the URL did not compile. */
	if (c->c_req.cr_url.ct_tmpl == NULL || u == NULL)
		return;
	for (j = 0; j < c->c_npath; j++) {
		if (c->c_path[j].cp_key == NULL)
			continue;
		for (i = 0; i < u->tu_npathparams; i++)
			if (strcmp(c->c_path[j].cp_key, u->tu_pathparams[i]) == 0)
				break;
		if (i == u->tu_npathparams) {
			struct jv row = vitem(&arr, j), k = vget(&row, "key");

			n = vpush_key(v, "path_parameters");
			vpush_idx(v, j);
			vpush_key(v, "key");
			reg_add(v, vpos(&k), REG_E_PATHPARAMS, "path parameter "
			    "'%s' is declared but the URL never uses "
			    "{{ pathParams.%s }}", c->c_path[j].cp_key,
			    c->c_path[j].cp_key);
			vpop(v, n);
		}
	}
}

/* One simple connector: identity, request, path parameters. */
static void
vconnector(struct vctx *v, const struct jv *obj, struct connector *c)
{
	int	 line, col;

	jpos_lines_get(&v->v_lines, obj->p->jp_off, &line, &col);
	c->c_line = line;
	v->v_composite = 0;
	v->v_step = 0;
	vident(v, obj, &c->c_name, &c->c_permalink);
	v->v_uses = 0;
	vrequest(v, obj, &c->c_req);
	vext(v, obj, &c->c_req.cr_ext, &c->c_caller);
	c->c_req.cr_uses = v->v_uses;
	vext_conflicts(v, obj, &c->c_req);
	vparams(v, obj, "path_parameters", VP_PATH, TMPL_FIELD_URL, &c->c_path,
	    &c->c_npath, NULL);
	vpathparams(v, obj, c);
}

/* Step names are unique within their composite. */
static void
vstep_dups(struct vctx *v, const struct jv *steps, struct composite *cc)
{
	const char	**keys;
	long		 *first;
	struct jv	  step, nj;
	size_t		  i, n;

	if (cc->cc_nsteps == 0 ||
	    (keys = calloc(cc->cc_nsteps, sizeof(*keys))) == NULL)
		return;
	for (i = 0; i < cc->cc_nsteps; i++)
		keys[i] = cc->cc_steps[i].cs_name;
	if ((first = vdups(keys, cc->cc_nsteps, 0)) != NULL) {
		for (i = 0; i < cc->cc_nsteps; i++) {
			if (first[i] == -1)
				continue;
			step = vitem(steps, i);
			nj = vget(&step, "name");
			n = vpush_idx(v, i);
			vpush_key(v, "name");
			reg_add(v, vpos(&nj), REG_E_DUP_STEP, "duplicate step "
			    "name '%s' (also steps[%ld])", keys[i], first[i]);
			vpop(v, n);
		}
		free(first);
	}
	free(keys);
}

/*
 * The optional numeric id a composite may also be called by (SPEC §9): a
 * whole number from 1 to 2^53 - 1, so that a browser's JSON number holds
 * it exactly.
 */
static void
vcomposite_id(struct vctx *v, const struct jv *obj, struct composite *cc)
{
	struct jv	 j = vget(obj, "id");
	int64_t		 id;
	size_t		 n;

	if (vabsent(&j))
		return;
	n = vpush_key(v, "id");
	id = j.p->jp_type == JP_NUMBER && json_object_is_type(j.o,
	    json_type_int) ? json_object_get_int64(j.o) : -1;
	if (id < 1 || (uint64_t)id > COMPOSITE_ID_MAX)
		reg_add(v, vpos(&j), REG_E_VALUE, "id must be a whole number "
		    "from 1 to %llu", (unsigned long long)COMPOSITE_ID_MAX);
	else
		cc->cc_id = (uint64_t)id;
	vpop(v, n);
}

/*
 * A composite is found by its permalink first, then by its id: an id
 * used twice, or equal to another composite's all-digit permalink, would
 * make a call ambiguous.  Reported at the later composite's id.
 */
static void
vcomposite_ids(struct vctx *v, const struct jv *arr, const struct registry *r)
{
	const struct composite	*a, *b;
	struct jv		 obj, j;
	char			 num[32];
	size_t			 i, k, n;

	for (i = 0; i < r->r_ncomps; i++) {
		a = &r->r_comps[i];
		if (a->cc_id == 0)
			continue;
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)a->cc_id);
		for (k = 0; k < r->r_ncomps; k++) {
			b = &r->r_comps[k];
			if (k == i || !((k < i && b->cc_id == a->cc_id) ||
			    (b->cc_permalink != NULL &&
			    strcmp(b->cc_permalink, num) == 0)))
				continue;
			obj = vitem(arr, a->cc_index);
			j = vget(&obj, "id");
			v->v_name = a->cc_name;
			v->v_permalink = a->cc_permalink;
			v->v_composite = 1;
			n = vpush_key(v, "composite_connectors");
			vpush_idx(v, a->cc_index);
			vpush_key(v, "id");
			reg_add(v, vpos(&j), REG_E_DUP_ID, b->cc_id ==
			    a->cc_id ? "duplicate id %s (also "
			    "composite_connectors[%zu])" : "id %s is the "
			    "permalink of composite_connectors[%zu]", num,
			    b->cc_index);
			vpop(v, n);
			break;
		}
	}
	v->v_name = v->v_permalink = NULL;
}

/*
 * One composite: identity and a non-empty list of steps, each an upstream
 * request validated with the step availability matrix (platform-docs §20).
 */
static void
vcomposite(struct vctx *v, const struct jv *obj, struct composite *cc)
{
	struct jv		 steps, step, nj;
	struct conn_step	*st;
	const struct tmpl_usage	*u;
	const char		*s;
	size_t			 i, n, n2, len;
	int			 line, col;

	jpos_lines_get(&v->v_lines, obj->p->jp_off, &line, &col);
	cc->cc_line = line;
	v->v_composite = 1;
	v->v_step = 0;
	vident(v, obj, &cc->cc_name, &cc->cc_permalink);
	vcomposite_id(v, obj, cc);
	vext(v, obj, NULL, &cc->cc_caller);
	steps = vget(obj, "steps");
	n = vpush_key(v, "steps");
	if (vabsent(&steps)) {
		reg_add(v, steps.p ? vpos(&steps) : obj->p->jp_off, REG_E_MISSING,
		    "required field \"steps\" is missing");
		goto out;
	}
	if (steps.p->jp_type != JP_ARRAY) {
		reg_add(v, vpos(&steps), REG_E_TYPE, "must be an array, not %s",
		    vtypename(&steps));
		goto out;
	}
	if (steps.p->jp_n == 0) {
		reg_add(v, vpos(&steps), REG_E_STEPS,
		    "a composite connector needs at least one step");
		goto out;
	}
	if ((cc->cc_steps = calloc(steps.p->jp_n, sizeof(*cc->cc_steps))) == NULL)
		goto out;
	v->v_step = 1;
	for (i = 0; i < steps.p->jp_n; i++) {
		step = vitem(&steps, i);
		n2 = vpush_idx(v, i);
		if (step.p->jp_type != JP_OBJECT) {
			reg_add(v, vpos(&step), REG_E_TYPE,
			    "a step must be an object, not %s", vtypename(&step));
			vpop(v, n2);
			continue;
		}
		st = &cc->cc_steps[i];
		cc->cc_nsteps = i + 1;
		if (vstring(v, &step, "name", 1, LIM_NAME, NULL, &s, &len,
		    &nj) == 1) {
			size_t n3 = vpush_key(v, "name");

			if (!connector_slug_valid(s, len))
				reg_add(v, vpos(&nj), REG_E_VALUE, "step name "
				    "'%s' must be a slug (lower-case letters "
				    "and digits joined by single hyphens)", s);
			else
				st->cs_name = strdup(s);
			vpop(v, n3);
		}
		v->v_uses = 0;
		vrequest(v, &step, &st->cs_req);
		vext(v, &step, &st->cs_req.cr_ext, NULL);
		st->cs_req.cr_uses = v->v_uses;
		vext_conflicts(v, &step, &st->cs_req);
		/* Composites have no path parameters (platform-docs §8). */
		if (st->cs_req.cr_url.ct_tmpl != NULL &&
		    (u = tmpl_usage(st->cs_req.cr_url.ct_tmpl)) != NULL &&
		    (u->tu_flags & TMPL_USES_PATHPARAMS)) {
			struct jv uj = vget(&step, "url");
			size_t n3 = vpush_key(v, "url");

			reg_add(v, vpos(&uj), REG_E_PATHPARAMS, "composite "
			    "connectors do not support path parameters");
			vpop(v, n3);
		}
		vpop(v, n2);
	}
	v->v_step = 0;
	vstep_dups(v, &steps, cc);
 out:
	vpop(v, n);
}

/* --- Documents ------------------------------------------------------------- */

/* Called for every repeated JSON key (json-c would keep the last silently). */
static void
vdup_cb(const char *path, const struct jpos_member *dup,
    const struct jpos_member *first, void *arg)
{
	struct vctx	*v = arg;
	int		 line, col;

	jpos_lines_get(&v->v_lines, first->jm_keyoff, &line, &col);
	snprintf(v->v_path, sizeof(v->v_path), "%s", path);
	jpos_path_key(v->v_path, sizeof(v->v_path), dup->jm_key);
	reg_add(v, dup->jm_keyoff, REG_E_DUP_JSON_KEY, "duplicate key \"%s\" "
	    "(first at %d:%d)", dup->jm_key, line, col);
	v->v_path[0] = '\0';
}

/* Duplicate permalinks within one namespace: reported at the later one. */
static void
vdup_permalinks(struct vctx *v, const struct jv *arr, const char *field,
    char **perms, char **names, size_t n, int composite)
{
	struct jv	 obj, j;
	size_t		 i, m;
	long		*first, k;

	if ((first = vdups((const char *const *)perms, n, 0)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if ((k = first[i]) == -1)
			continue;
		obj = vitem(arr, i);
		j = vget(&obj, "permalink");
		if (vabsent(&j))
			j = vget(&obj, "name");
		v->v_name = names[i];
		v->v_permalink = perms[i];
		v->v_composite = composite;
		m = vpush_key(v, field);
		vpush_idx(v, i);
		vpush_key(v, "permalink");
		reg_add(v, vabsent(&j) ? vpos(&obj) : vpos(&j),
		    REG_E_DUP_PERMALINK, "duplicate permalink '%s' (also %s[%ld])",
		    perms[i], field, k);
		vpop(v, m);
	}
	free(first);
	v->v_name = v->v_permalink = NULL;
}

/*
 * The registry root: both arrays are optional; permalinks are unique per
 * namespace, checked once every connector has its permalink.
 */
static void
vregistry(struct vctx *v, const struct jv *root, struct registry *r)
{
	struct jv	 arr, item;
	char		**perms;
	size_t		 i, n, n2;

	if (root->p->jp_type != JP_OBJECT) {
		reg_add(v, root->p->jp_off, REG_E_TYPE, "the registry must be an "
		    "object {\"connectors\": [...], \"composite_connectors\": "
		    "[...]}, not %s", vtypename(root));
		return;
	}
	arr = vget(root, "connectors");
	n = vpush_key(v, "connectors");
	if (!vabsent(&arr) && arr.p->jp_type != JP_ARRAY)
		reg_add(v, vpos(&arr), REG_E_TYPE, "must be an array, not %s",
		    vtypename(&arr));
	else if (!vabsent(&arr) && arr.p->jp_n > 0) {
		r->r_conns = calloc(arr.p->jp_n, sizeof(*r->r_conns));
		/* Permalinks, then names, per array index (NULL: none). */
		perms = calloc(arr.p->jp_n * 2, sizeof(*perms));
		for (i = 0; r->r_conns != NULL && perms != NULL &&
		    i < arr.p->jp_n; i++) {
			item = vitem(&arr, i);
			n2 = vpush_idx(v, i);
			if (item.p->jp_type != JP_OBJECT)
				reg_add(v, vpos(&item), REG_E_TYPE, "a connector "
				    "must be an object, not %s", vtypename(&item));
			else {
				r->r_conns[r->r_nconns].c_index = r->r_nconns;
				vconnector(v, &item, &r->r_conns[r->r_nconns]);
				perms[i] = r->r_conns[r->r_nconns].c_permalink;
				perms[arr.p->jp_n + i] =
				    r->r_conns[r->r_nconns++].c_name;
			}
			vpop(v, n2);
		}
		v->v_name = v->v_permalink = NULL;
		vpop(v, n);
		if (perms != NULL)
			vdup_permalinks(v, &arr, "connectors", perms,
			    perms + arr.p->jp_n, arr.p->jp_n, 0);
		free(perms);
	}
	vpop(v, n);

	arr = vget(root, "composite_connectors");
	n = vpush_key(v, "composite_connectors");
	if (!vabsent(&arr) && arr.p->jp_type != JP_ARRAY)
		reg_add(v, vpos(&arr), REG_E_TYPE, "must be an array, not %s",
		    vtypename(&arr));
	else if (!vabsent(&arr) && arr.p->jp_n > 0) {
		r->r_comps = calloc(arr.p->jp_n, sizeof(*r->r_comps));
		perms = calloc(arr.p->jp_n * 2, sizeof(*perms));
		for (i = 0; r->r_comps != NULL && perms != NULL &&
		    i < arr.p->jp_n; i++) {
			item = vitem(&arr, i);
			n2 = vpush_idx(v, i);
			if (item.p->jp_type != JP_OBJECT)
				reg_add(v, vpos(&item), REG_E_TYPE, "a composite "
				    "connector must be an object, not %s",
				    vtypename(&item));
			else {
				r->r_comps[r->r_ncomps].cc_index = r->r_ncomps;
				vcomposite(v, &item, &r->r_comps[r->r_ncomps]);
				perms[i] = r->r_comps[r->r_ncomps].cc_permalink;
				perms[arr.p->jp_n + i] =
				    r->r_comps[r->r_ncomps++].cc_name;
			}
			vpop(v, n2);
		}
		v->v_name = v->v_permalink = NULL;
		vpop(v, n);
		if (perms != NULL)
			vdup_permalinks(v, &arr, "composite_connectors", perms,
			    perms + arr.p->jp_n, arr.p->jp_n, 1);
		free(perms);
		vcomposite_ids(v, &arr, r);
	}
	vpop(v, n);
	v->v_name = v->v_permalink = NULL;
}

enum reg_mode { REG_REGISTRY, REG_CODEMODE, REG_ANY };

/*
 * The one loader behind every entry point: parse twice (positions, then
 * values), report repeated keys, validate in the requested mode, and hand
 * out a registry only when no error was recorded.
 */
static struct registry *
registry_load_mode(const char *name, const char *buf, size_t len,
    const struct netpolicy *policy, struct reg_report *rep, enum reg_mode mode,
    int *is_registry)
{
	struct vctx		 v;
	struct registry		*r = NULL;
	struct jpos		*pos = NULL;
	struct jpos_err		 perr;
	struct json_tokener	*tok = NULL;
	struct json_object	*obj = NULL;
	struct jv		 root;
	size_t			 nerr0, bom = 0;

	memset(&v, 0, sizeof(v));
	v.v_rep = rep;
	v.v_file = name;
	v.v_buf = buf;
	v.v_len = len;
	v.v_policy = policy ? policy : &reg_default_policy;
	/* Without the index (no memory), positions are computed slowly. */
	jpos_lines_init(&v.v_lines, buf, len);
	nerr0 = rep ? rep->rr_nerrors : 0;
	if (is_registry != NULL)
		*is_registry = mode != REG_CODEMODE;
	if (len > REG_MAXFILE) {
		reg_add(&v, REG_NOPOS, REG_E_IO, "file too large (over %d bytes)",
		    REG_MAXFILE);
		goto out;
	}
	memset(&perr, 0, sizeof(perr));
	if ((pos = jpos_parse(buf, len, &perr)) == NULL) {
		reg_add(&v, perr.je_off, REG_E_JSON, "%s", perr.je_msg[0] ?
		    perr.je_msg : "out of memory");
		goto out;
	}
	/*
	 * json-c reads the values.  The scanner above is at least as strict,
	 * so json-c failing here means a limit of its own (or memory).
	 */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		bom = 3;
	if ((tok = json_tokener_new_ex(JPOS_MAXDEPTH + 1)) == NULL)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf + bom, len - bom);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    (obj == NULL && pos->jp_type != JP_NULL)) {
		reg_add(&v, bom + json_tokener_get_parse_end(tok), REG_E_JSON,
		    "%s", json_tokener_get_error(tok) == json_tokener_continue ?
		    "unexpected end of input" :
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	jpos_walk_dups(pos, vdup_cb, &v);
	root.o = obj;
	root.p = pos;
	if (mode == REG_ANY) {
		mode = pos->jp_type == JP_OBJECT &&
		    (jpos_get(pos, "connectors") != NULL ||
		    jpos_get(pos, "composite_connectors") != NULL) ?
		    REG_REGISTRY : REG_CODEMODE;
		if (is_registry != NULL)
			*is_registry = mode == REG_REGISTRY;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	r->r_file = reg_strdup(name);
	if (mode == REG_REGISTRY)
		vregistry(&v, &root, r);
	else if (pos->jp_type != JP_OBJECT)
		reg_add(&v, pos->jp_off, REG_E_TYPE, "a Code Mode connector must "
		    "be an object, not %s", vtypename(&root));
	else if ((r->r_conns = calloc(1, sizeof(*r->r_conns))) != NULL) {
		vconnector(&v, &root, &r->r_conns[0]);
		r->r_nconns = 1;
	}
	if (rep != NULL && rep->rr_nerrors > nerr0)
		goto out;
	if (registry_index(r) == -1)
		goto out;
	goto done;
 out:
	registry_free(r);
	r = NULL;
 done:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	jpos_free(pos);
	/* Without a report to fill, no error may go unnoticed either. */
	if (r == NULL && rep != NULL && rep->rr_nerrors == nerr0)
		reg_add(&v, REG_NOPOS, REG_E_IO, "out of memory");
	jpos_lines_clear(&v.v_lines);
	return r;
}

/*
 * Read a whole file, refusing non-regular files (a FIFO would block a
 * reload) and anything over the size limit before allocating for it.
 */
static int
registry_read(const char *path, char **bufp, size_t *lenp, struct vctx *v)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, rv = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		reg_add(v, REG_NOPOS, REG_E_IO, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		reg_add(v, REG_NOPOS, REG_E_IO, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		reg_add(v, REG_NOPOS, REG_E_IO, "not a regular file");
		goto out;
	}
	if (st.st_size > REG_MAXFILE) {
		reg_add(v, REG_NOPOS, REG_E_IO, "file too large (over %d bytes)",
		    REG_MAXFILE);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		reg_add(v, REG_NOPOS, REG_E_IO, "out of memory");
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			reg_add(v, REG_NOPOS, REG_E_IO, "%s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rv = 0;
 out:
	free(buf);
	close(fd);
	return rv;
}

/* File front end: I/O errors go in the report like any other. */
static struct registry *
registry_load_path(const char *path, const struct netpolicy *policy,
    struct reg_report *rep, enum reg_mode mode, int *is_registry)
{
	struct vctx	 v;
	struct registry	*r;
	char		*buf;
	size_t		 len;

	memset(&v, 0, sizeof(v));
	v.v_rep = rep;
	v.v_file = path;
	if (registry_read(path, &buf, &len, &v) == -1)
		return NULL;
	r = registry_load_mode(path, buf, len, policy, rep, mode, is_registry);
	free(buf);
	return r;
}

struct registry *
registry_load_buffer(const char *name, const char *buf, size_t len,
    const struct netpolicy *policy, struct reg_report *rep)
{
	return registry_load_mode(name, buf, len, policy, rep, REG_REGISTRY,
	    NULL);
}

struct registry *
registry_load_codemode_buffer(const char *name, const char *buf, size_t len,
    const struct netpolicy *policy, struct reg_report *rep)
{
	return registry_load_mode(name, buf, len, policy, rep, REG_CODEMODE,
	    NULL);
}

struct registry *
registry_load_file(const char *path, const struct netpolicy *policy,
    struct reg_report *rep)
{
	return registry_load_path(path, policy, rep, REG_REGISTRY, NULL);
}

struct registry *
registry_load_codemode(const char *path, const struct netpolicy *policy,
    struct reg_report *rep)
{
	return registry_load_path(path, policy, rep, REG_CODEMODE, NULL);
}

struct registry *
registry_load_any(const char *path, const struct netpolicy *policy,
    struct reg_report *rep, int *is_registry)
{
	return registry_load_path(path, policy, rep, REG_ANY, is_registry);
}
