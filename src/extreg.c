/*
 * extreg.c — validating extensions_registry.json (platform-docs §21, SPEC
 * §10 "Registry decisions").
 *
 * The document is read once by jsonpos (strict RFC 8259, positions, repeated
 * keys kept) and walked with a field path that grows and shrinks as the
 * walk descends, so that every error names its attribute path and line:col.
 * Every rule is checked and every error recorded; the model the publisher
 * needs is handed out only when nothing was wrong.  Unknown keys are errors
 * (the hosted product's behaviour since 2026-07-14).
 */
#include "build.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "extreg.h"
#include "jsonpos.h"

#define EXT_MAXFILE	(16 * 1024 * 1024)
#define EXT_MAXERRORS	1000
#define XNOPOS		((size_t)-1)

struct xv {
	struct ext_report	*x_rep;
	const char		*x_file;
	const char		*x_buf;
	size_t			 x_len;
	struct jpos_lines	 x_lines;
	char			 x_path[1024];
	int			 x_full;	/* EXT_MAXERRORS reached */
	size_t			 x_nerr;	/* errors recorded by this load */
};

/* --- Reports --------------------------------------------------------------- */

void
ext_report_clear(struct ext_report *rep)
{
	size_t	 i;

	for (i = 0; i < rep->xr_n; i++) {
		free(rep->xr_items[i].ee_file);
		free(rep->xr_items[i].ee_path);
		free(rep->xr_items[i].ee_msg);
	}
	free(rep->xr_items);
	memset(rep, 0, sizeof(*rep));
}

void
ext_report_print(const struct ext_report *rep, void *stdio_file)
{
	const struct ext_error	*e;
	FILE			*fp = stdio_file;
	size_t			 i;

	for (i = 0; i < rep->xr_n; i++) {
		e = &rep->xr_items[i];
		if (e->ee_warning) {
			fprintf(fp, "%s: warning: %s\n", e->ee_file, e->ee_msg);
			continue;
		}
		fputs(e->ee_file, fp);
		if (e->ee_line > 0)
			fprintf(fp, ":%d:%d", e->ee_line, e->ee_col);
		if (e->ee_path[0] != '\0')
			fprintf(fp, ": %s", e->ee_path);
		fprintf(fp, ": %s [%s]\n", e->ee_msg, e->ee_code);
	}
}

/* Append one entry; allocation failure drops it (the load fails anyway). */
static void
xreport_add(struct ext_report *rep, const char *file, int line, int col,
    const char *path, const char *code, const char *msg, int warning)
{
	struct ext_error	*e;

	e = reallocarray(rep->xr_items, rep->xr_n + 1, sizeof(*e));
	if (e == NULL)
		return;
	rep->xr_items = e;
	e = &rep->xr_items[rep->xr_n];
	e->ee_file = strdup(file);
	e->ee_path = strdup(path);
	e->ee_msg = strdup(msg);
	if (e->ee_file == NULL || e->ee_path == NULL || e->ee_msg == NULL) {
		free(e->ee_file);
		free(e->ee_path);
		free(e->ee_msg);
		return;
	}
	e->ee_line = line;
	e->ee_col = col;
	e->ee_code = code;
	e->ee_warning = warning;
	rep->xr_n++;
	if (!warning)
		rep->xr_nerrors++;
}

/* Record an error at JSON offset off under the current field path. */
static void __attribute__((format(printf, 4, 5)))
xadd(struct xv *x, size_t off, const char *code, const char *fmt, ...)
{
	char		 msg[1024];
	va_list		 ap;
	int		 line = 0, col = 0;

	x->x_nerr++;
	if (x->x_full)
		return;
	if (x->x_nerr > EXT_MAXERRORS) {
		x->x_full = 1;
		xreport_add(x->x_rep, x->x_file, 0, 0, "", EXT_E_SCHEMA,
		    "too many errors, giving up", 0);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (off != XNOPOS)
		jpos_lines_get(&x->x_lines, off, &line, &col);
	xreport_add(x->x_rep, x->x_file, line, col, x->x_path, code, msg, 0);
}

/* --- Paths and values ------------------------------------------------------ */

static size_t
xpush(struct xv *x, const char *key)
{
	return jpos_path_key(x->x_path, sizeof(x->x_path), key);
}

static size_t
xpush_idx(struct xv *x, size_t i)
{
	return jpos_path_idx(x->x_path, sizeof(x->x_path), i);
}

static void
xpop(struct xv *x, size_t n)
{
	x->x_path[n] = '\0';
}

static const char *
xtypename(const struct jpos *p)
{
	switch (p->jp_type) {
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

/*
 * Where a key belongs when it appears one level off: misplaced keys are
 * the common mistake (entry beside source, endpoint beside content).
 */
static const struct {
	const char	*xh_key;
	const char	*xh_where;
} xhints[] = {
	{ "path",		"source" },
	{ "entry",		"source" },
	{ "endpoint",		"content" },
	{ "cacheStrategy",	"content" },
	{ "cacheTtlSeconds",	"content" },
	{ "properties",		"configuration" },
	{ "sections",		"configuration" },
	{ "shared",		"settings" },
	{ "configurable",	"settings" },
	{ "editable",		"settings" },
	{ "removable",		"settings" },
	{ "movable",		"settings" },
	{ "imports",		"importMaps[]" },
};

/* Every member of obj must be in allowed (NULL-terminated). */
static void
xkeys(struct xv *x, const struct jpos *obj, const char *const *allowed,
    const char *code)
{
	const char	*key, *where;
	size_t		 i, k, n;

	for (i = 0; i < obj->jp_n; i++) {
		key = obj->jp_members[i].jm_key;
		for (k = 0; allowed[k] != NULL; k++)
			if (strcmp(key, allowed[k]) == 0 &&
			    strlen(key) == obj->jp_members[i].jm_keylen)
				break;
		if (allowed[k] != NULL)
			continue;
		where = NULL;
		for (k = 0; k < sizeof(xhints) / sizeof(xhints[0]); k++)
			if (strcmp(key, xhints[k].xh_key) == 0)
				where = xhints[k].xh_where;
		n = xpush(x, key);
		if (where != NULL)
			xadd(x, obj->jp_members[i].jm_keyoff, code,
			    "misplaced key '%s' (it belongs in %s)", key, where);
		else
			xadd(x, obj->jp_members[i].jm_keyoff, code,
			    "unknown key '%s'", key);
		xpop(x, n);
	}
}

/*
 * Member key of obj, checked against type t; NULL when absent (reported
 * when required, at the member's own path) or of another type (reported;
 * null is a wrong type like any other).  The path is left pushed only
 * through *np, which the caller pops.
 */
static const struct jpos *
xmember(struct xv *x, const struct jpos *obj, const char *key,
    enum jpos_type t, int required, const char *code)
{
	static const char *const names[] = { "null", "a boolean", "a number",
	    "a string", "an array", "an object" };
	const struct jpos	*p;
	size_t			 n;

	n = xpush(x, key);
	if ((p = jpos_get(obj, key)) == NULL) {
		if (required)
			xadd(x, obj->jp_off, code, "missing required field "
			    "'%s'", key);
	} else if (p->jp_type != t) {
		xadd(x, p->jp_off, code, "must be %s, not %s", names[t],
		    xtypename(p));
		p = NULL;
	}
	xpop(x, n);
	return p;
}

/* The decoded value of a string member (NULL: absent, wrong, or empty
 * when required).  Strings with NUL bytes are never valid names or paths. */
static char *
xstring(struct xv *x, const struct jpos *obj, const char *key, int required,
    const char *code)
{
	const struct jpos	*p;
	char			*s;
	size_t			 len, n;

	if ((p = xmember(x, obj, key, JP_STRING, required, code)) == NULL)
		return NULL;
	if ((s = jpos_string_value(x->x_buf, x->x_len, p, &len)) == NULL)
		return NULL;
	n = xpush(x, key);
	if (len == 0 && required) {
		xadd(x, p->jp_off, code, "must not be empty");
		free(s);
		s = NULL;
	} else if (strlen(s) != len) {
		xadd(x, p->jp_off, code, "must not contain a NUL character");
		free(s);
		s = NULL;
	}
	xpop(x, n);
	return s;
}

/*
 * A string member that must be one of values (case-sensitive): the value
 * when it is, else NULL (reported).
 */
static char *
xenum(struct xv *x, const struct jpos *obj, const char *key,
    const char *const *values, int required, const char *code)
{
	char	*s, list[256];
	size_t	 k, n, l = 0;

	if ((s = xstring(x, obj, key, required, code)) == NULL)
		return NULL;
	for (k = 0; values[k] != NULL; k++)
		if (strcmp(s, values[k]) == 0)
			return s;
	list[0] = '\0';
	for (k = 0; values[k] != NULL && l < sizeof(list); k++)
		l += snprintf(list + l, sizeof(list) - l, "%s'%s'",
		    k ? ", " : "", values[k]);
	n = xpush(x, key);
	xadd(x, jpos_get(obj, key)->jp_off, code, "'%s' is not one of %s", s,
	    list);
	xpop(x, n);
	free(s);
	return NULL;
}

static void
xbool(struct xv *x, const struct jpos *obj, const char *key, const char *code)
{
	xmember(x, obj, key, JP_BOOL, 0, code);
}

/* 1 when obj.key is the literal true. */
static int
xis_true(struct xv *x, const struct jpos *obj, const char *key)
{
	const struct jpos	*p = jpos_get(obj, key);

	return p != NULL && p->jp_type == JP_BOOL && x->x_buf[p->jp_off] == 't';
}

/*
 * A number member; with integer, its value must be a whole number (1.0 is
 * one, as JSON Schema counts) of at least min.  0 and *v when valid.
 */
static int
xnumber(struct xv *x, const struct jpos *obj, const char *key, int integer,
    double min, const char *code, double *v)
{
	const struct jpos	*p;
	char			 tmp[64];
	size_t			 len, n;
	int			 rv = -1;

	if ((p = xmember(x, obj, key, JP_NUMBER, 0, code)) == NULL)
		return -1;
	len = p->jp_end - p->jp_off;
	n = xpush(x, key);
	if (len >= sizeof(tmp)) {
		xadd(x, p->jp_off, code, "number too long");
		goto out;
	}
	memcpy(tmp, x->x_buf + p->jp_off, len);
	tmp[len] = '\0';
	*v = strtod(tmp, NULL);
	if (integer && (!isfinite(*v) || floor(*v) != *v || *v > 2147483647.0)) {
		xadd(x, p->jp_off, code, "must be an integer, not %s", tmp);
		goto out;
	}
	if (!isfinite(*v)) {
		xadd(x, p->jp_off, code, "number out of range");
		goto out;
	}
	if (min != -INFINITY && *v < min) {
		xadd(x, p->jp_off, code, "must be at least %.0f, not %s", min,
		    tmp);
		goto out;
	}
	rv = 0;
 out:
	xpop(x, n);
	return rv;
}

/* --- Strings with rules ---------------------------------------------------- */

static int
xhexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One percent-decoding pass in place; 1 when anything was decoded. */
static int
xpct_decode(char *s, size_t *len)
{
	size_t	 i, o = 0;
	int	 hi, lo, any = 0;

	for (i = 0; i < *len; i++) {
		if (s[i] == '%' && i + 2 < *len &&
		    (hi = xhexval(s[i + 1])) != -1 &&
		    (lo = xhexval(s[i + 2])) != -1) {
			s[o++] = (char)(hi << 4 | lo);
			i += 2;
			any = 1;
		} else
			s[o++] = s[i];
	}
	*len = o;
	return any;
}

/* The traversal and absolute-path rules on one spelling of a path. */
static const char *
xpath_plain(const char *s, size_t len)
{
	size_t	 i, seg = 0;

	if (len > 0 && (s[0] == '/' || s[0] == '\\'))
		return EXT_E_ABSOLUTE;
	/* A drive letter ("C:\x", "c:/x") is absolute on the other OS. */
	if (len >= 2 && isalpha((unsigned char)s[0]) && s[1] == ':')
		return EXT_E_ABSOLUTE;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] == '\0')
			return EXT_E_TRAVERSAL;
		if (i < len && s[i] != '/' && s[i] != '\\')
			continue;
		if (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.')
			return EXT_E_TRAVERSAL;
		seg = i + 1;
	}
	return NULL;
}

const char *
extreg_path_check(const char *s, size_t len)
{
	const char	*code;
	char		*t;
	int		 pass;

	if ((code = xpath_plain(s, len)) != NULL)
		return code;
	if (memchr(s, '%', len) == NULL)
		return NULL;
	if ((t = malloc(len + 1)) == NULL)
		return EXT_E_TRAVERSAL;	/* refuse rather than guess */
	memcpy(t, s, len);
	/* "%252e%252e" is ".." after two decodings: decode until stable. */
	for (pass = 0; pass < 8 && code == NULL; pass++) {
		if (!xpct_decode(t, &len))
			break;
		code = xpath_plain(t, len);
	}
	free(t);
	return code;
}

int
extreg_branch_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > 255 || s[0] == '/' || s[n - 1] == '/' ||
	    strstr(s, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("/_-.", s[i]) == NULL)
			return 0;
	return 1;
}

/* A repository path member: non-empty, relative, no traversal. */
static char *
xrepo_path(struct xv *x, const struct jpos *obj, const char *key,
    int required, const char *code)
{
	const char	*bad;
	char		*s;
	size_t		 n;

	if ((s = xstring(x, obj, key, required, code)) == NULL)
		return NULL;
	if (!required && s[0] == '\0') {
		n = xpush(x, key);
		xadd(x, jpos_get(obj, key)->jp_off, code, "must not be empty");
		xpop(x, n);
		free(s);
		return NULL;
	}
	if ((bad = extreg_path_check(s, strlen(s))) != NULL) {
		n = xpush(x, key);
		xadd(x, jpos_get(obj, key)->jp_off, bad, strcmp(bad, EXT_E_ABSOLUTE) == 0 ?
		    "'%s' must be a path relative to the repository root" :
		    "'%s' must not leave its directory ('..')", s);
		xpop(x, n);
		free(s);
		return NULL;
	}
	return s;
}

/* Printable ASCII and UTF-8, no spaces or controls: the bytes a URL holds. */
static int
xurl_bytes(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/*
 * "https://" and a host (SPEC §10); with http also "http://".  The host
 * is what lies between the scheme and the first / ? or #, less userinfo.
 */
static int
xurl_ok(const char *s, int http)
{
	const char	*h, *at;
	size_t		 n;

	if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else if (http && strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else
		return 0;
	n = strcspn(h, "/?#");
	if ((at = memchr(h, '@', n)) != NULL) {
		n -= at + 1 - h;
		h = at + 1;
	}
	return n > 0 && h[0] != ':' && xurl_bytes(s);
}

/* 1 when s is an absolute URL of any scheme, or scheme-relative. */
static int
xurl_absolute(const char *s)
{
	size_t	 i;

	if (s[0] == '/' && s[1] == '/')
		return 1;
	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
	    s[i] == '.'; i++)
		;
	/* "c:/x" is a drive letter, handled by the path rules. */
	return s[i] == ':' && i > 1;
}

static void
xhttps(struct xv *x, const struct jpos *obj, const char *key, int required,
    const char *code, int tokens);

/* {q} and {value} are the only tokens a dynamicOptions URL may hold. */
static void
xtokens(struct xv *x, const char *s, size_t off, const char *code)
{
	const char	*p, *e;

	for (p = s; (p = strpbrk(p, "{}")) != NULL; p = e + 1) {
		if (*p == '}' || (e = strchr(p, '}')) == NULL) {
			xadd(x, off, code, "unbalanced brace in '%s'", s);
			return;
		}
		if (!((e - p == 2 && p[1] == 'q') ||
		    (e - p == 6 && strncmp(p + 1, "value", 5) == 0))) {
			xadd(x, off, code, "unknown URL token '%.*s' (only {q} and "
			    "{value})", (int)(e - p + 1), p);
			return;
		}
	}
}

static void
xhttps(struct xv *x, const struct jpos *obj, const char *key, int required,
    const char *code, int tokens)
{
	char	*s;
	size_t	 n;

	if ((s = xstring(x, obj, key, required, code)) == NULL)
		return;
	n = xpush(x, key);
	if (!xurl_ok(s, 0))
		xadd(x, jpos_get(obj, key)->jp_off, code, "'%s' is not an https "
		    "URL (https:// and a host)", s);
	else if (tokens)
		xtokens(x, s, jpos_get(obj, key)->jp_off, code);
	xpop(x, n);
	free(s);
}

/* SemVer 2.0.0: numeric identifiers without leading zeros. */
static int
xsemver_ids(const char *s, size_t len, int numeric_rule)
{
	size_t	 i, start = 0;
	int	 digits = 1;

	if (len == 0)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (i == start)
				return 0;
			if (numeric_rule && digits && i - start > 1 &&
			    s[start] == '0')
				return 0;
			start = i + 1;
			digits = 1;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if (!isdigit((unsigned char)s[i]))
			digits = 0;
	}
	return 1;
}

static int
xsemver(const char *s)
{
	size_t	 i, k, start;

	i = 0;
	for (k = 0; k < 3; k++) {
		start = i;
		while (isdigit((unsigned char)s[i]))
			i++;
		if (i == start || (i - start > 1 && s[start] == '0'))
			return 0;
		if (k < 2 && s[i++] != '.')
			return 0;
	}
	if (s[i] == '-') {
		start = ++i;
		i += strcspn(s + i, "+");
		if (!xsemver_ids(s + start, i - start, 1))
			return 0;
	}
	if (s[i] == '+') {
		start = ++i;
		i += strlen(s + i);
		if (!xsemver_ids(s + start, i - start, 0))
			return 0;
	}
	return s[i] == '\0';
}

/* An object whose values are all strings; banned: header names refused. */
static void
xstrmap(struct xv *x, const struct jpos *obj, const char *key, int banned,
    int tokens, const char *code)
{
	static const char *const exact[] = { "authorization", "cookie",
	    "set-cookie" };
	const struct jpos_member *m;
	const struct jpos	*p;
	char			*s;
	size_t			 i, k, n, n2;

	if ((p = xmember(x, obj, key, JP_OBJECT, 0, code)) == NULL)
		return;
	n = xpush(x, key);
	for (i = 0; i < p->jp_n; i++) {
		m = &p->jp_members[i];
		n2 = xpush(x, m->jm_key);
		if (m->jm_val->jp_type != JP_STRING)
			xadd(x, m->jm_val->jp_off, code, "must be a string, not "
			    "%s", xtypename(m->jm_val));
		else if (tokens && (s = jpos_string_value(x->x_buf, x->x_len,
		    m->jm_val, NULL)) != NULL) {
			xtokens(x, s, m->jm_val->jp_off, code);
			free(s);
		}
		for (k = 0; banned && k < sizeof(exact) / sizeof(exact[0]); k++)
			if (strcasecmp(m->jm_key, exact[k]) == 0)
				break;
		if (banned && (k < sizeof(exact) / sizeof(exact[0]) ||
		    strncasecmp(m->jm_key, "proxy-", 6) == 0 ||
		    strncasecmp(m->jm_key, "x-forwarded-", 12) == 0))
			xadd(x, m->jm_keyoff, code, "header '%s' is not allowed "
			    "here (call authenticated APIs through a connector)",
			    m->jm_key);
		xpop(x, n2);
	}
	xpop(x, n);
}

/*
 * Duplicates among names[0..n) (NULL entries skipped): dup[i] is the
 * index of the first occurrence when names[i] repeats it, else -1.
 * Sorting keeps this O(n log n) on hostile input.
 */
struct xname {
	const char	*xn_s;
	size_t		 xn_i;
};

static int
xname_cmp(const void *a, const void *b)
{
	const struct xname *x = a, *y = b;
	int	 c;

	if ((c = strcmp(x->xn_s, y->xn_s)) != 0)
		return c;
	return x->xn_i < y->xn_i ? -1 : x->xn_i > y->xn_i;
}

static long *
xdups(char *const *names, size_t n)
{
	struct xname	*v;
	long		*dup;
	size_t		 i, m = 0, first = 0;

	if ((dup = calloc(n + 1, sizeof(*dup))) == NULL)
		return NULL;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		free(dup);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		dup[i] = -1;
		if (names[i] != NULL) {
			v[m].xn_s = names[i];
			v[m++].xn_i = i;
		}
	}
	qsort(v, m, sizeof(*v), xname_cmp);
	for (i = 1; i < m; i++) {
		if (strcmp(v[i].xn_s, v[first].xn_s) == 0)
			dup[v[i].xn_i] = (long)v[first].xn_i;
		else
			first = i;
	}
	free(v);
	return dup;
}

/*
 * Report repeats of names within array member `field` of its parent, at
 * the later occurrence's `key` member: field[i].key.
 */
static void
xreport_dups(struct xv *x, const struct jpos *arr, const char *field,
    const char *key, char *const *names, const char *what, const char *code)
{
	const struct jpos	*p;
	long			*dup;
	size_t			 i, n;

	if (arr == NULL || (dup = xdups(names, arr->jp_n)) == NULL)
		return;
	for (i = 0; i < arr->jp_n; i++) {
		if (dup[i] == -1)
			continue;
		n = xpush(x, field);
		xpush_idx(x, i);
		xpush(x, key);
		p = jpos_get(arr->jp_items[i], key);
		xadd(x, p->jp_off, code, "duplicate %s '%s' (also %s[%ld])",
		    what, names[i], field, dup[i]);
		xpop(x, n);
	}
	free(dup);
}

static void
xnames_free(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

/* --- Page targeting -------------------------------------------------------- */

static const char *const xfields[] = { "page", "pageType", "slug", "locale",
    "authenticated", NULL };
static const char *const xoperators[] = { "eq", "neq", "in", "not_in", NULL };

/* NULL when value s suits field, else why not. */
static const char *
xrule_value(const char *field, const char *s)
{
	static const char *const pages[] = { "homepage", "community", "ideation",
	    "productUpdates", "eventOverview", "knowledgeBase" };
	size_t	 k;

	if (strcmp(field, "page") == 0) {
		for (k = 0; k < sizeof(pages) / sizeof(pages[0]); k++)
			if (strcmp(s, pages[k]) == 0)
				return NULL;
		if (strncmp(s, "education", 9) == 0)
			return NULL;
		if (strncmp(s, "category/", 9) == 0 ||
		    strncmp(s, "customPage/", 11) == 0)
			return strchr(s, '/')[1] == '\0' ? "needs an id after "
			    "the '/'" : NULL;
		return "is not a page (homepage, community, ideation, "
		    "productUpdates, eventOverview, knowledgeBase, "
		    "category/{id}, customPage/{id}, education...)";
	}
	if (strcmp(field, "pageType") == 0)
		return strcmp(s, "category") == 0 ||
		    strcmp(s, "customPage") == 0 ? NULL :
		    "is not a page type (category or customPage)";
	if (strcmp(field, "authenticated") == 0)
		return strcmp(s, "true") == 0 || strcmp(s, "false") == 0 ? NULL :
		    "must be the string \"true\" or \"false\"";
	return NULL;
}

static void
xrule(struct xv *x, const struct jpos *r)
{
	static const char *const keys[] = { "field", "operator", "value", NULL };
	const struct jpos	*v, *it;
	const char		*why;
	char			*field, *op, *s;
	size_t			 i, n, n2;
	int			 list;

	xkeys(x, r, keys, EXT_E_SCHEMA);
	field = xenum(x, r, "field", xfields, 1, EXT_E_SCHEMA);
	op = xenum(x, r, "operator", xoperators, 1, EXT_E_SCHEMA);
	n = xpush(x, "value");
	if ((v = jpos_get(r, "value")) == NULL) {
		xadd(x, r->jp_off, EXT_E_SCHEMA, "missing required field "
		    "'value'");
		goto out;
	}
	if (op == NULL)
		goto out;
	list = strcmp(op, "in") == 0 || strcmp(op, "not_in") == 0;
	if (list && v->jp_type != JP_ARRAY) {
		xadd(x, v->jp_off, EXT_E_SCHEMA, "operator '%s' takes an array, "
		    "not %s", op, xtypename(v));
		goto out;
	}
	if (!list && v->jp_type != JP_STRING) {
		xadd(x, v->jp_off, EXT_E_SCHEMA, "operator '%s' takes a string, "
		    "not %s", op, xtypename(v));
		goto out;
	}
	for (i = 0; i < (list ? v->jp_n : 1); i++) {
		it = list ? v->jp_items[i] : v;
		n2 = list ? xpush_idx(x, i) : strlen(x->x_path);
		if (it->jp_type != JP_STRING)
			xadd(x, it->jp_off, EXT_E_SCHEMA, "must be a string, not "
			    "%s", xtypename(it));
		else if (field != NULL && (s = jpos_string_value(x->x_buf,
		    x->x_len, it, NULL)) != NULL) {
			if ((why = xrule_value(field, s)) != NULL)
				xadd(x, it->jp_off, EXT_E_SCHEMA, "'%s' %s", s,
				    why);
			free(s);
		}
		xpop(x, n2);
	}
 out:
	xpop(x, n);
	free(field);
	free(op);
}

static void
xrules(struct xv *x, const struct jpos *obj, const char *key)
{
	const struct jpos	*arr, *r;
	size_t			 i, n, n2;

	if ((arr = xmember(x, obj, key, JP_ARRAY, 0, EXT_E_SCHEMA)) == NULL)
		return;
	n = xpush(x, key);
	for (i = 0; i < arr->jp_n; i++) {
		r = arr->jp_items[i];
		n2 = xpush_idx(x, i);
		if (r->jp_type != JP_OBJECT)
			xadd(x, r->jp_off, EXT_E_SCHEMA, "a rule must be an "
			    "object {field, operator, value}, not %s",
			    xtypename(r));
		else
			xrule(x, r);
		xpop(x, n2);
	}
	xpop(x, n);
}

/* --- Scripts and stylesheets ----------------------------------------------- */

static int
xasset_name_ok(const char *s)
{
	if (!isalnum((unsigned char)s[0]))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' &&
		    *s != '-')
			return 0;
	return 1;
}

/* An HTML attribute name as the HTML tokenizer would read it back. */
static int
xattr_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || strchr("\"'>/=<`", *s) != NULL ||
		    *s == 0x7f)
			return 0;
	return 1;
}

/* 1 when the part of s before any ? or # ends in ext (any case). */
static int
xends_with(const char *s, const char *ext)
{
	size_t	 n = strcspn(s, "?#"), e = strlen(ext);

	return n >= e && strncasecmp(s + n - e, ext, e) == 0;
}

static void
xasset(struct xv *x, const struct jpos *obj, struct ext_asset *a, int css)
{
	static const char *const keys[] = { "name", "path", "description",
	    "placement", "attributes", "rules", NULL };
	static const char *const placements[] = { "head", "bodyStart",
	    "bodyEnd", NULL };
	const char		*ext = css ? ".css" : ".js", *bad;
	const struct jpos	*p, *attrs;
	char			*s;
	size_t			 i, n, n2;

	xkeys(x, obj, keys, EXT_E_SCHEMA);
	if ((a->ea_name = xstring(x, obj, "name", 1, EXT_E_SCHEMA)) != NULL &&
	    !xasset_name_ok(a->ea_name)) {
		n = xpush(x, "name");
		xadd(x, jpos_get(obj, "name")->jp_off, EXT_E_SCHEMA, "'%s' does "
		    "not match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", a->ea_name);
		xpop(x, n);
	}
	if ((s = xstring(x, obj, "path", 1, EXT_E_SCHEMA)) != NULL) {
		p = jpos_get(obj, "path");
		n = xpush(x, "path");
		a->ea_external = xurl_absolute(s);
		if (a->ea_external && !xurl_ok(s, 1))
			xadd(x, p->jp_off, EXT_E_SCHEMA, "'%s' is neither a "
			    "relative path nor an http(s) URL", s);
		else if (!a->ea_external && (bad = extreg_path_check(s,
		    strlen(s))) != NULL)
			xadd(x, p->jp_off, bad, strcmp(bad, EXT_E_ABSOLUTE) == 0 ?
			    "'%s' must be a path relative to the repository "
			    "root" : "'%s' must not leave its directory ('..')",
			    s);
		else if (!xends_with(s, ext))
			xadd(x, p->jp_off, EXT_E_SCHEMA, "'%s' must end in %s",
			    s, ext);
		xpop(x, n);
		a->ea_path = s;
	}
	free(xstring(x, obj, "description", 0, EXT_E_SCHEMA));
	if ((s = xenum(x, obj, "placement", placements, 0, EXT_E_SCHEMA)) !=
	    NULL) {
		a->ea_placement = strcmp(s, "bodyStart") == 0 ? EXT_BODY_START :
		    strcmp(s, "bodyEnd") == 0 ? EXT_BODY_END : EXT_HEAD;
		free(s);
	}
	xstrmap(x, obj, "attributes", 0, 0, EXT_E_SCHEMA);
	if ((attrs = jpos_get(obj, "attributes")) != NULL &&
	    attrs->jp_type == JP_OBJECT) {
		n = xpush(x, "attributes");
		for (i = 0; i < attrs->jp_n; i++) {
			if (xattr_name_ok(attrs->jp_members[i].jm_key))
				continue;
			n2 = xpush(x, attrs->jp_members[i].jm_key);
			xadd(x, attrs->jp_members[i].jm_keyoff, EXT_E_SCHEMA,
			    "'%s' is not an HTML attribute name",
			    attrs->jp_members[i].jm_key);
			xpop(x, n2);
		}
		xpop(x, n);
	}
	xrules(x, obj, "rules");
}

/* scripts or stylesheets: objects with unique names (within the array). */
static void
xassets(struct xv *x, const struct jpos *root, const char *field,
    struct ext_asset **out, size_t *nout)
{
	const struct jpos	*arr, *it;
	struct ext_asset	*a;
	char			**names;
	size_t			 i, n, n2;
	int			 css = strcmp(field, "stylesheets") == 0;

	if ((arr = xmember(x, root, field, JP_ARRAY, 0, EXT_E_SCHEMA)) == NULL ||
	    arr->jp_n == 0)
		return;
	if ((a = calloc(arr->jp_n, sizeof(*a))) == NULL ||
	    (names = calloc(arr->jp_n, sizeof(*names))) == NULL) {
		free(a);
		xadd(x, XNOPOS, EXT_E_SCHEMA, "out of memory");
		return;
	}
	*out = a;
	n = xpush(x, field);
	for (i = 0; i < arr->jp_n; i++) {
		it = arr->jp_items[i];
		n2 = xpush_idx(x, i);
		a[i].ea_index = i;
		if (it->jp_type != JP_OBJECT)
			xadd(x, it->jp_off, EXT_E_SCHEMA, "must be an object, "
			    "not %s", xtypename(it));
		else {
			xasset(x, it, &a[i], css);
			if (a[i].ea_name != NULL)
				names[i] = strdup(a[i].ea_name);
		}
		xpop(x, n2);
		(*nout)++;
	}
	xpop(x, n);
	xreport_dups(x, arr, field, "name", names, css ? "stylesheet name" :
	    "script name", EXT_E_SCHEMA);
	xnames_free(names, arr->jp_n);
}

/* --- Import maps ----------------------------------------------------------- */

/* An object mapping specifiers to https URLs. */
static void
xurlmap(struct xv *x, const struct jpos *m)
{
	const struct jpos_member *mem;
	char			*s;
	size_t			 i, n;

	for (i = 0; i < m->jp_n; i++) {
		mem = &m->jp_members[i];
		n = xpush(x, mem->jm_key);
		if (mem->jm_keylen == 0)
			xadd(x, mem->jm_keyoff, EXT_E_SCHEMA, "empty specifier");
		if (mem->jm_val->jp_type != JP_STRING)
			xadd(x, mem->jm_val->jp_off, EXT_E_SCHEMA, "must be a "
			    "string, not %s", xtypename(mem->jm_val));
		else if ((s = jpos_string_value(x->x_buf, x->x_len,
		    mem->jm_val, NULL)) != NULL) {
			if (!xurl_ok(s, 0))
				xadd(x, mem->jm_val->jp_off, EXT_E_SCHEMA, "'%s' "
				    "is not an https URL (https:// and a host)",
				    s);
			free(s);
		}
		xpop(x, n);
	}
}

static void
ximportmap(struct xv *x, const struct jpos *obj)
{
	static const char *const keys[] = { "imports", "scopes", "integrity",
	    NULL };
	const struct jpos	*p, *v;
	char			*s;
	size_t			 i, n, n2;

	xkeys(x, obj, keys, EXT_E_SCHEMA);
	if ((p = xmember(x, obj, "imports", JP_OBJECT, 1, EXT_E_SCHEMA)) !=
	    NULL) {
		n = xpush(x, "imports");
		xurlmap(x, p);
		xpop(x, n);
	}
	if ((p = xmember(x, obj, "scopes", JP_OBJECT, 0, EXT_E_SCHEMA)) !=
	    NULL) {
		n = xpush(x, "scopes");
		for (i = 0; i < p->jp_n; i++) {
			v = p->jp_members[i].jm_val;
			n2 = xpush(x, p->jp_members[i].jm_key);
			if (v->jp_type != JP_OBJECT)
				xadd(x, v->jp_off, EXT_E_SCHEMA, "a scope must "
				    "be an object, not %s", xtypename(v));
			else
				xurlmap(x, v);
			xpop(x, n2);
		}
		xpop(x, n);
	}
	/* integrity: URL keys (https, SPEC §10) to SRI hashes. */
	if ((p = xmember(x, obj, "integrity", JP_OBJECT, 0, EXT_E_SCHEMA)) !=
	    NULL) {
		n = xpush(x, "integrity");
		for (i = 0; i < p->jp_n; i++) {
			v = p->jp_members[i].jm_val;
			n2 = xpush(x, p->jp_members[i].jm_key);
			if (!xurl_ok(p->jp_members[i].jm_key, 0))
				xadd(x, p->jp_members[i].jm_keyoff, EXT_E_SCHEMA,
				    "'%s' is not an https URL (https:// and a "
				    "host)", p->jp_members[i].jm_key);
			if (v->jp_type != JP_STRING)
				xadd(x, v->jp_off, EXT_E_SCHEMA, "must be a "
				    "string, not %s", xtypename(v));
			else if ((s = jpos_string_value(x->x_buf, x->x_len, v,
			    NULL)) != NULL) {
				if (strncmp(s, "sha256-", 7) != 0 &&
				    strncmp(s, "sha384-", 7) != 0 &&
				    strncmp(s, "sha512-", 7) != 0)
					xadd(x, v->jp_off, EXT_E_SCHEMA, "'%s' is "
					    "not a sha256-, sha384- or sha512- "
					    "hash", s);
				free(s);
			}
			xpop(x, n2);
		}
		xpop(x, n);
	}
}

/* --- Widgets --------------------------------------------------------------- */

/* The API Endpoint Object of dynamicOptions (platform-docs §21). */
static void
xendpoint(struct xv *x, const struct jpos *obj, const char *key, int required)
{
	static const char *const keys[] = { "endpoint", "method", "headers",
	    "body", "params", NULL };
	static const char *const methods[] = { "GET", "POST", NULL };
	const struct jpos	*p;
	size_t			 n;

	if ((p = xmember(x, obj, key, JP_OBJECT, required, EXT_E_STRUCTURE)) ==
	    NULL)
		return;
	n = xpush(x, key);
	xkeys(x, p, keys, EXT_E_STRUCTURE);
	xhttps(x, p, "endpoint", 1, EXT_E_STRUCTURE, 1);
	free(xenum(x, p, "method", methods, 0, EXT_E_STRUCTURE));
	xstrmap(x, p, "headers", 1, 0, EXT_E_STRUCTURE);
	xstrmap(x, p, "params", 0, 1, EXT_E_STRUCTURE);
	xpop(x, n);
}

static void
xdynamic(struct xv *x, const struct jpos *field)
{
	static const char *const keys[] = { "endpoint", "valuesEndpoint",
	    "mapping", "isAsyncSearch", NULL };
	static const char *const mkeys[] = { "path", "valueKey", "labelKey",
	    NULL };
	const struct jpos	*p, *m;
	size_t			 n, n2, k;

	if ((p = xmember(x, field, "dynamicOptions", JP_OBJECT, 0,
	    EXT_E_STRUCTURE)) == NULL)
		return;
	n = xpush(x, "dynamicOptions");
	xkeys(x, p, keys, EXT_E_STRUCTURE);
	xendpoint(x, p, "endpoint", 1);
	xendpoint(x, p, "valuesEndpoint", 0);
	if ((m = xmember(x, p, "mapping", JP_OBJECT, 0, EXT_E_STRUCTURE)) !=
	    NULL) {
		n2 = xpush(x, "mapping");
		xkeys(x, m, mkeys, EXT_E_STRUCTURE);
		for (k = 0; mkeys[k] != NULL; k++)
			free(xstring(x, m, mkeys[k], 0, EXT_E_STRUCTURE));
		xpop(x, n2);
	}
	xbool(x, p, "isAsyncSearch", EXT_E_STRUCTURE);
	xpop(x, n);
}

static void
xfield_rules(struct xv *x, const struct jpos *field)
{
	static const char *const keys[] = { "required", "minLength",
	    "maxLength", "pattern", "minimum", "maximum", NULL };
	const struct jpos	*p;
	double			 lo, hi, mn, mx;
	size_t			 n, n2;
	int			 has_lo, has_hi;

	if ((p = xmember(x, field, "rules", JP_OBJECT, 0, EXT_E_STRUCTURE)) ==
	    NULL)
		return;
	n = xpush(x, "rules");
	xkeys(x, p, keys, EXT_E_STRUCTURE);
	xbool(x, p, "required", EXT_E_STRUCTURE);
	has_lo = xnumber(x, p, "minLength", 1, 0, EXT_E_STRUCTURE, &lo) == 0;
	has_hi = xnumber(x, p, "maxLength", 1, 0, EXT_E_STRUCTURE, &hi) == 0;
	free(xstring(x, p, "pattern", 0, EXT_E_STRUCTURE));
	xnumber(x, p, "minimum", 0, -INFINITY, EXT_E_STRUCTURE, &mn);
	xnumber(x, p, "maximum", 0, -INFINITY, EXT_E_STRUCTURE, &mx);
	if (has_lo && has_hi && lo > hi) {
		n2 = xpush(x, "maxLength");
		xadd(x, jpos_get(p, "maxLength")->jp_off, EXT_E_STRUCTURE,
		    "maxLength %.0f is less than minLength %.0f", hi, lo);
		xpop(x, n2);
	}
	xpop(x, n);
}

/* options: scalars, or {label, value} objects. */
static void
xoptions(struct xv *x, const struct jpos *field)
{
	static const char *const keys[] = { "label", "value", NULL };
	const struct jpos	*arr, *it;
	size_t			 i, n, n2;

	if ((arr = xmember(x, field, "options", JP_ARRAY, 0, EXT_E_STRUCTURE)) ==
	    NULL)
		return;
	n = xpush(x, "options");
	for (i = 0; i < arr->jp_n; i++) {
		it = arr->jp_items[i];
		n2 = xpush_idx(x, i);
		if (it->jp_type == JP_OBJECT) {
			xkeys(x, it, keys, EXT_E_STRUCTURE);
			if (jpos_get(it, "value") == NULL)
				xadd(x, it->jp_off, EXT_E_STRUCTURE, "an option "
				    "needs a 'value'");
			free(xstring(x, it, "label", 0, EXT_E_STRUCTURE));
		} else if (it->jp_type == JP_ARRAY || it->jp_type == JP_NULL)
			xadd(x, it->jp_off, EXT_E_STRUCTURE, "an option must be "
			    "a string, number, boolean or {label, value}, not "
			    "%s", xtypename(it));
		xpop(x, n2);
	}
	xpop(x, n);
}

static const char *const xfield_types[] = { "text", "number", "color",
    "date", "boolean", "select", "autocomplete", NULL };

static void
xconfig_field(struct xv *x, const struct jpos *f, char **name,
    char *const *sections, size_t nsections)
{
	static const char *const keys[] = { "name", "label", "type",
	    "description", "section", "defaultValue", "rules", "options",
	    "dynamicOptions", "multiple", "sortable", NULL };
	char	*s;
	size_t	 k, n;

	xkeys(x, f, keys, EXT_E_STRUCTURE);
	*name = xstring(x, f, "name", 1, EXT_E_STRUCTURE);
	free(xstring(x, f, "label", 1, EXT_E_STRUCTURE));
	free(xenum(x, f, "type", xfield_types, 1, EXT_E_STRUCTURE));
	free(xstring(x, f, "description", 0, EXT_E_STRUCTURE));
	if ((s = xstring(x, f, "section", 0, EXT_E_STRUCTURE)) != NULL) {
		for (k = 0; k < nsections; k++)
			if (sections[k] != NULL && strcmp(sections[k], s) == 0)
				break;
		if (k == nsections) {
			n = xpush(x, "section");
			xadd(x, jpos_get(f, "section")->jp_off, EXT_E_STRUCTURE,
			    "section '%s' is not declared in "
			    "configuration.sections", s);
			xpop(x, n);
		}
		free(s);
	}
	xfield_rules(x, f);
	xoptions(x, f);
	xdynamic(x, f);
	xbool(x, f, "multiple", EXT_E_STRUCTURE);
	xbool(x, f, "sortable", EXT_E_STRUCTURE);
}

static void
xconfiguration(struct xv *x, const struct jpos *w)
{
	static const char *const keys[] = { "properties", "sections", NULL };
	static const char *const skeys[] = { "name", "label", "description",
	    "expanded", NULL };
	const struct jpos	*c, *props, *secs, *it;
	char			**fnames = NULL, **snames = NULL;
	size_t			 i, n, n2, n3, nsec = 0;

	if ((c = xmember(x, w, "configuration", JP_OBJECT, 0,
	    EXT_E_STRUCTURE)) == NULL)
		return;
	n = xpush(x, "configuration");
	xkeys(x, c, keys, EXT_E_STRUCTURE);
	if ((secs = xmember(x, c, "sections", JP_ARRAY, 0, EXT_E_STRUCTURE)) !=
	    NULL && secs->jp_n > 0 &&
	    (snames = calloc(secs->jp_n, sizeof(*snames))) != NULL) {
		nsec = secs->jp_n;
		n2 = xpush(x, "sections");
		for (i = 0; i < secs->jp_n; i++) {
			it = secs->jp_items[i];
			n3 = xpush_idx(x, i);
			if (it->jp_type != JP_OBJECT)
				xadd(x, it->jp_off, EXT_E_STRUCTURE, "a section "
				    "must be an object, not %s", xtypename(it));
			else {
				xkeys(x, it, skeys, EXT_E_STRUCTURE);
				snames[i] = xstring(x, it, "name", 1,
				    EXT_E_STRUCTURE);
				free(xstring(x, it, "label", 1,
				    EXT_E_STRUCTURE));
				free(xstring(x, it, "description", 0,
				    EXT_E_STRUCTURE));
				xbool(x, it, "expanded", EXT_E_STRUCTURE);
			}
			xpop(x, n3);
		}
		xpop(x, n2);
		xreport_dups(x, secs, "sections", "name", snames,
		    "section name", EXT_E_STRUCTURE);
	}
	/* properties must be an array: an object is the classic mistake. */
	if ((props = xmember(x, c, "properties", JP_ARRAY, 1,
	    EXT_E_STRUCTURE)) != NULL && props->jp_n > 0 &&
	    (fnames = calloc(props->jp_n, sizeof(*fnames))) != NULL) {
		n2 = xpush(x, "properties");
		for (i = 0; i < props->jp_n; i++) {
			it = props->jp_items[i];
			n3 = xpush_idx(x, i);
			if (it->jp_type != JP_OBJECT)
				xadd(x, it->jp_off, EXT_E_STRUCTURE, "a field "
				    "must be an object, not %s", xtypename(it));
			else
				xconfig_field(x, it, &fnames[i], snames, nsec);
			xpop(x, n3);
		}
		xpop(x, n2);
		xreport_dups(x, props, "properties", "name", fnames,
		    "field name", EXT_E_STRUCTURE);
		xnames_free(fnames, props->jp_n);
	}
	xnames_free(snames, nsec);
	xpop(x, n);
}

static void
xcontent(struct xv *x, const struct jpos *c)
{
	static const char *const keys[] = { "endpoint", "method",
	    "cacheStrategy", "cacheTtlSeconds", "requiresAuthentication",
	    "headers", "body", "params", NULL };
	static const char *const methods[] = { "GET", "POST", NULL };
	static const char *const strategies[] = { "none", "no-cache", "ttl",
	    "permanent", NULL };
	const struct jpos	*s;
	double			 ttl;
	size_t			 n;

	xkeys(x, c, keys, EXT_E_SOURCE);
	xhttps(x, c, "endpoint", 1, EXT_E_SOURCE, 0);
	free(xenum(x, c, "method", methods, 0, EXT_E_SOURCE));
	free(xenum(x, c, "cacheStrategy", strategies, 0, EXT_E_SOURCE));
	xnumber(x, c, "cacheTtlSeconds", 1, 1, EXT_E_SOURCE, &ttl);
	s = jpos_get(c, "cacheStrategy");
	if (s != NULL && s->jp_type == JP_STRING && s->jp_end - s->jp_off == 5 &&
	    memcmp(x->x_buf + s->jp_off, "\"ttl\"", 5) == 0 &&
	    jpos_get(c, "cacheTtlSeconds") == NULL) {
		n = xpush(x, "cacheTtlSeconds");
		xadd(x, c->jp_off, EXT_E_SOURCE, "missing required field "
		    "'cacheTtlSeconds' (cacheStrategy is ttl)");
		xpop(x, n);
	}
	xbool(x, c, "requiresAuthentication", EXT_E_SOURCE);
	if (xis_true(x, c, "requiresAuthentication")) {
		n = xpush(x, "requiresAuthentication");
		xadd(x, jpos_get(c, "requiresAuthentication")->jp_off,
		    EXT_E_SOURCE, "requiresAuthentication is not supported "
		    "(leave it false; call authenticated APIs through a "
		    "connector)");
		xpop(x, n);
	}
	xstrmap(x, c, "headers", 0, 0, EXT_E_SOURCE);
	xstrmap(x, c, "params", 0, 0, EXT_E_SOURCE);
}

static void
xsource(struct xv *x, const struct jpos *src, struct ext_widget *ew)
{
	static const char *const keys[] = { "path", "entry", NULL };
	size_t	 n;

	xkeys(x, src, keys, EXT_E_SOURCE);
	ew->ew_path = xrepo_path(x, src, "path", 1, EXT_E_SOURCE);
	ew->ew_entry = xrepo_path(x, src, "entry", 1, EXT_E_SOURCE);
	if (ew->ew_entry != NULL && !xends_with(ew->ew_entry, ".html") &&
	    !xends_with(ew->ew_entry, ".htm")) {
		n = xpush(x, "entry");
		xadd(x, jpos_get(src, "entry")->jp_off, EXT_E_SOURCE, "'%s' is "
		    "not an HTML file (.html or .htm)", ew->ew_entry);
		xpop(x, n);
	}
}

static void
xwidget(struct xv *x, const struct jpos *w, struct ext_widget *ew)
{
	static const char *const keys[] = { "title", "type", "category",
	    "content", "source", "version", "description", "containers",
	    "widgetsLibrary", "imageName", "imageSrc", "settings",
	    "configuration", "defaultConfig", NULL };
	static const char *const skeys[] = { "configurable", "editable",
	    "removable", "movable", "shared", "container", NULL };
	static const char *const containers[] = { "Full width",
	    "Left container", "Sidebar", NULL };
	const struct jpos	*content, *source, *p, *it;
	char			*s;
	size_t			 i, k, n, n2;

	xkeys(x, w, keys, EXT_E_STRUCTURE);
	ew->ew_title = xstring(x, w, "title", 1, EXT_E_STRUCTURE);
	ew->ew_type = xstring(x, w, "type", 1, EXT_E_STRUCTURE);
	free(xstring(x, w, "category", 1, EXT_E_STRUCTURE));

	content = xmember(x, w, "content", JP_OBJECT, 0, EXT_E_SOURCE);
	source = xmember(x, w, "source", JP_OBJECT, 0, EXT_E_SOURCE);
	if (jpos_get(w, "content") != NULL && jpos_get(w, "source") != NULL)
		xadd(x, w->jp_off, EXT_E_SOURCE, "content and source are "
		    "mutually exclusive: a widget is hosted externally or in "
		    "the repository, not both");
	else if (jpos_get(w, "content") == NULL && jpos_get(w, "source") == NULL)
		xadd(x, w->jp_off, EXT_E_SOURCE, "a widget needs either content "
		    "(external hosting) or source (repository hosting)");
	if (content != NULL) {
		n = xpush(x, "content");
		xcontent(x, content);
		xpop(x, n);
	}
	if (source != NULL) {
		n = xpush(x, "source");
		xsource(x, source, ew);
		xpop(x, n);
	}

	if ((s = xstring(x, w, "version", 0, EXT_E_STRUCTURE)) != NULL) {
		if (!xsemver(s)) {
			n = xpush(x, "version");
			xadd(x, jpos_get(w, "version")->jp_off, EXT_E_STRUCTURE,
			    "'%s' is not a semantic version (MAJOR.MINOR.PATCH, "
			    "SemVer 2.0.0)", s);
			xpop(x, n);
		}
		free(s);
	}
	free(xstring(x, w, "description", 0, EXT_E_STRUCTURE));
	if ((p = xmember(x, w, "containers", JP_ARRAY, 0, EXT_E_STRUCTURE)) !=
	    NULL) {
		n = xpush(x, "containers");
		for (i = 0; i < p->jp_n; i++) {
			it = p->jp_items[i];
			n2 = xpush_idx(x, i);
			s = NULL;
			if (it->jp_type != JP_STRING)
				xadd(x, it->jp_off, EXT_E_STRUCTURE, "must be a "
				    "string, not %s", xtypename(it));
			else if ((s = jpos_string_value(x->x_buf, x->x_len, it,
			    NULL)) != NULL) {
				for (k = 0; containers[k] != NULL; k++)
					if (strcmp(s, containers[k]) == 0)
						break;
				if (containers[k] == NULL)
					xadd(x, it->jp_off, EXT_E_STRUCTURE,
					    "'%s' is not one of 'Full width', "
					    "'Left container', 'Sidebar'", s);
			}
			free(s);
			xpop(x, n2);
		}
		xpop(x, n);
	}
	xbool(x, w, "widgetsLibrary", EXT_E_STRUCTURE);
	free(xstring(x, w, "imageName", 0, EXT_E_STRUCTURE));
	/* imageSrc: an http(s) URL, or a repository path published along. */
	if ((s = xstring(x, w, "imageSrc", 0, EXT_E_STRUCTURE)) != NULL) {
		if (xurl_absolute(s)) {
			if (!xurl_ok(s, 1)) {
				n = xpush(x, "imageSrc");
				xadd(x, jpos_get(w, "imageSrc")->jp_off,
				    EXT_E_STRUCTURE, "'%s' is neither a relative "
				    "path nor an http(s) URL", s);
				xpop(x, n);
			}
			free(s);
		} else {
			free(s);
			ew->ew_image = xrepo_path(x, w, "imageSrc", 0,
			    EXT_E_STRUCTURE);
		}
	}
	if ((p = xmember(x, w, "settings", JP_OBJECT, 0, EXT_E_STRUCTURE)) !=
	    NULL) {
		n = xpush(x, "settings");
		xkeys(x, p, skeys, EXT_E_STRUCTURE);
		for (k = 0; skeys[k] != NULL; k++)
			xbool(x, p, skeys[k], EXT_E_STRUCTURE);
		xpop(x, n);
	}
	xconfiguration(x, w);
	xmember(x, w, "defaultConfig", JP_OBJECT, 0, EXT_E_STRUCTURE);
}

/* --- The document ---------------------------------------------------------- */

static void
xdup_cb(const char *path, const struct jpos_member *dup,
    const struct jpos_member *first, void *arg)
{
	struct xv	*x = arg;
	int		 line, col;

	jpos_lines_get(&x->x_lines, first->jm_keyoff, &line, &col);
	snprintf(x->x_path, sizeof(x->x_path), "%s", path);
	jpos_path_key(x->x_path, sizeof(x->x_path), dup->jm_key);
	xadd(x, dup->jm_keyoff, EXT_E_SCHEMA, "duplicate key \"%s\" (first at "
	    "%d:%d)", dup->jm_key, line, col);
	x->x_path[0] = '\0';
}

static void
xroot(struct xv *x, const struct jpos *root, struct ext_registry *xg)
{
	static const char *const keys[] = { "widgets", "scripts",
	    "stylesheets", "importMaps", NULL };
	const struct jpos	*arr, *it;
	char			**types = NULL;
	size_t			 i, n, n2, ntypes = 0;

	if (root->jp_type != JP_OBJECT) {
		xadd(x, root->jp_off, EXT_E_SCHEMA, "the registry must be an "
		    "object {\"widgets\": [...], ...}, not %s",
		    xtypename(root));
		return;
	}
	xkeys(x, root, keys, EXT_E_SCHEMA);
	if ((arr = xmember(x, root, "widgets", JP_ARRAY, 0, EXT_E_SCHEMA)) !=
	    NULL && arr->jp_n > 0) {
		xg->xg_widgets = calloc(arr->jp_n, sizeof(*xg->xg_widgets));
		types = calloc(arr->jp_n, sizeof(*types));
		if (xg->xg_widgets == NULL || types == NULL) {
			xadd(x, XNOPOS, EXT_E_SCHEMA, "out of memory");
			goto out;
		}
		ntypes = arr->jp_n;
		n = xpush(x, "widgets");
		for (i = 0; i < arr->jp_n; i++) {
			it = arr->jp_items[i];
			n2 = xpush_idx(x, i);
			xg->xg_widgets[i].ew_index = i;
			if (it->jp_type != JP_OBJECT)
				xadd(x, it->jp_off, EXT_E_STRUCTURE, "a widget "
				    "must be an object, not %s", xtypename(it));
			else {
				xwidget(x, it, &xg->xg_widgets[i]);
				if (xg->xg_widgets[i].ew_type != NULL)
					types[i] =
					    strdup(xg->xg_widgets[i].ew_type);
			}
			xg->xg_nwidgets++;
			xpop(x, n2);
		}
		xpop(x, n);
		xreport_dups(x, arr, "widgets", "type", types, "widget type",
		    EXT_E_STRUCTURE);
	}
	xassets(x, root, "scripts", &xg->xg_scripts, &xg->xg_nscripts);
	xassets(x, root, "stylesheets", &xg->xg_styles, &xg->xg_nstyles);
	if ((arr = xmember(x, root, "importMaps", JP_ARRAY, 0, EXT_E_SCHEMA)) !=
	    NULL) {
		n = xpush(x, "importMaps");
		for (i = 0; i < arr->jp_n; i++) {
			it = arr->jp_items[i];
			n2 = xpush_idx(x, i);
			if (it->jp_type != JP_OBJECT)
				xadd(x, it->jp_off, EXT_E_SCHEMA, "an import map "
				    "must be an object, not %s", xtypename(it));
			else
				ximportmap(x, it);
			xpop(x, n2);
		}
		xpop(x, n);
	}
 out:
	xnames_free(types, ntypes);
}

/*
 * Document order for the entries this load added (the walk reports root
 * keys before the widgets they precede): advisories first, then by
 * line:col, entries without a position last.  Insertion sort: stable, and
 * the report is capped at EXT_MAXERRORS entries.
 */
static int
xorder(const struct ext_error *a, const struct ext_error *b)
{
	long	 la, lb;

	if (a->ee_warning != b->ee_warning)
		return a->ee_warning ? -1 : 1;
	la = a->ee_line == 0 ? 0x7fffffffL : a->ee_line;
	lb = b->ee_line == 0 ? 0x7fffffffL : b->ee_line;
	if (la != lb)
		return la < lb ? -1 : 1;
	return a->ee_col < b->ee_col ? -1 : a->ee_col > b->ee_col;
}

static void
xsort(struct ext_report *rep, size_t from)
{
	struct ext_error	 e;
	size_t			 i, j;

	for (i = from + 1; i < rep->xr_n; i++) {
		e = rep->xr_items[i];
		for (j = i; j > from && xorder(&rep->xr_items[j - 1], &e) > 0;
		    j--)
			rep->xr_items[j] = rep->xr_items[j - 1];
		rep->xr_items[j] = e;
	}
}

void
extreg_free(struct ext_registry *xg)
{
	size_t	 i;

	if (xg == NULL)
		return;
	for (i = 0; i < xg->xg_nwidgets; i++) {
		free(xg->xg_widgets[i].ew_type);
		free(xg->xg_widgets[i].ew_title);
		free(xg->xg_widgets[i].ew_path);
		free(xg->xg_widgets[i].ew_entry);
		free(xg->xg_widgets[i].ew_image);
	}
	for (i = 0; i < xg->xg_nscripts; i++) {
		free(xg->xg_scripts[i].ea_name);
		free(xg->xg_scripts[i].ea_path);
	}
	for (i = 0; i < xg->xg_nstyles; i++) {
		free(xg->xg_styles[i].ea_name);
		free(xg->xg_styles[i].ea_path);
	}
	free(xg->xg_widgets);
	free(xg->xg_scripts);
	free(xg->xg_styles);
	json_object_put(xg->xg_json);
	free(xg);
}

int
extreg_is_registry_name(const char *base, int *legacy)
{
	if (legacy != NULL)
		*legacy = 0;
	if (strcmp(base, "extensions_registry.json") == 0)
		return 1;
	if (strcmp(base, "widget_registry.json") == 0) {
		if (legacy != NULL)
			*legacy = 1;
		return 1;
	}
	return 0;
}

struct ext_registry *
extreg_load_buffer(const char *name, const char *buf, size_t len, int legacy,
    struct ext_report *rep)
{
	struct xv		 x;
	struct ext_registry	*xg = NULL;
	struct jpos		*root = NULL;
	struct jpos_err		 err;
	struct json_tokener	*tok = NULL;
	size_t			 bom, first = rep->xr_n;

	memset(&x, 0, sizeof(x));
	x.x_rep = rep;
	x.x_file = name;
	x.x_buf = buf;
	x.x_len = len;
	jpos_lines_init(&x.x_lines, buf, len);
	if (legacy)
		xreport_add(rep, name, 0, 0, "", EXT_E_SCHEMA,
		    "widget_registry.json is deprecated; rename it to "
		    "extensions_registry.json", 1);
	if (len > EXT_MAXFILE) {
		xadd(&x, XNOPOS, EXT_E_SCHEMA, "file too large (over %d bytes)",
		    EXT_MAXFILE);
		goto fail;
	}
	memset(&err, 0, sizeof(err));
	if ((root = jpos_parse(buf, len, &err)) == NULL) {
		xadd(&x, err.je_off, EXT_E_JSON, "%s", err.je_msg[0] ?
		    err.je_msg : "out of memory");
		goto fail;
	}
	if ((xg = calloc(1, sizeof(*xg))) == NULL) {
		xadd(&x, XNOPOS, EXT_E_SCHEMA, "out of memory");
		goto fail;
	}
	xg->xg_legacy = legacy;
	jpos_walk_dups(root, xdup_cb, &x);
	xroot(&x, root, xg);
	if (x.x_nerr > 0)
		goto fail;
	/* json-c holds the values the manifest copies (jsonpos is stricter). */
	bom = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	if ((tok = json_tokener_new_ex(JPOS_MAXDEPTH + 1)) == NULL) {
		xadd(&x, XNOPOS, EXT_E_SCHEMA, "out of memory");
		goto fail;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	xg->xg_json = json_tokener_parse_ex(tok, buf + bom, len - bom);
	if (xg->xg_json == NULL) {
		xadd(&x, XNOPOS, EXT_E_JSON, "%s",
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		goto fail;
	}
	goto out;
 fail:
	extreg_free(xg);
	xg = NULL;
 out:
	if (tok != NULL)
		json_tokener_free(tok);
	jpos_free(root);
	jpos_lines_clear(&x.x_lines);
	xsort(rep, first);
	return xg;
}
