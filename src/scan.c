/*
 * scan.c — content security scan (platform-docs §23, SPEC §10 "Scan
 * decisions").
 *
 * The scan must reject what the six categories describe and must not
 * reject the libraries widget authors ship (jQuery, lodash, Chart.js, d3,
 * Vue, ... minified or not; the test suite scans their real files).  So
 * every rule looks for an intent, not a word: eval is fine, eval of a
 * decoded string is not; a fetch is fine, a fetch of an external URL in a
 * file that reads cookies or logs keys is not.
 *
 * JavaScript is first split by a small lexer into code, strings, template
 * text, regular expressions and comments (the regex/division ambiguity is
 * settled by the previous significant token, as every JS highlighter
 * does).  Executable patterns are matched in code only, so comments never
 * trigger them; credentials are looked for everywhere, comments included.
 * HTML is split into tags, inline scripts, event handlers, javascript:
 * URLs, style blocks and attributes, each scanned as what it is.  CSS is
 * checked for unsafe rules only.
 */
#include "build.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan.h"

const char *const scan_default_cdns[] = {
	"cdn.jsdelivr.net",
	"cdnjs.cloudflare.com",
	"unpkg.com",
	"esm.sh",
	NULL
};

static const char *const scan_names[SCAN_NCATEGORIES] = {
	"crypto_mining",
	"data_exfiltration",
	"phishing_redirect",
	"obfuscation",
	"external_script_loading",
	"credential_exposure",
};

/* Classes of JavaScript bytes. */
enum { C_CODE, C_STR, C_COMMENT, C_REGEX, C_TMPL };

/* A string literal (or a template literal's text): its content span. */
struct lit {
	size_t		 l_off;		/* content start, region offset */
	size_t		 l_end;
	char		 l_quote;	/* ' " or ` */
};

/* A piece of text scanned on its own: a file, an inline script, a
 * decoded attribute.  r_line0 is the file line of r_buf[0]. */
struct region {
	const char	*r_buf;
	size_t		 r_len;
	int		 r_line0;
	size_t		*r_nl;		/* newline offsets, built on demand */
	size_t		 r_nnl;
	int		 r_nl_built;
};

struct js {
	struct region	*j_r;
	unsigned char	*j_cls;
	struct lit	*j_lits;
	size_t		 j_nlits;
	size_t		 j_litcap;
	int		 j_is_comment;	/* lexing the text of a comment */
};

struct sctx {
	const struct scan_policy *s_pol;
	struct scan_result *s_res;
	int		 s_err;
	/* HTML: a form posting to an external host, and password inputs. */
	int		 s_form_line;
	char		 s_form_host[256];
	int		 s_password_input;
};

/* --- Small helpers --------------------------------------------------------- */

static int
sident(int c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' ||
	    (unsigned char)c >= 0x80;
}

/* Case-insensitive memmem. */
static const char *
smemcasemem(const char *h, size_t hl, const char *n, size_t nl)
{
	size_t	 i;
	int	 c0;

	if (nl == 0 || hl < nl)
		return NULL;
	c0 = tolower((unsigned char)n[0]);
	for (i = 0; i + nl <= hl; i++) {
		if (tolower((unsigned char)h[i]) == c0 &&
		    strncasecmp(h + i, n, nl) == 0)
			return h + i;
	}
	return NULL;
}

static size_t
sskip_ws(const char *b, size_t len, size_t i)
{
	while (i < len && isspace((unsigned char)b[i]))
		i++;
	return i;
}

/* The line of region offset off, built once per region. */
static int
sline(struct region *r, size_t off)
{
	size_t	 i, lo, hi, n = 0;

	if (!r->r_nl_built) {
		r->r_nl_built = 1;
		for (i = 0; i < r->r_len; i++)
			if (r->r_buf[i] == '\n')
				n++;
		if (n > 0 && (r->r_nl = calloc(n, sizeof(*r->r_nl))) != NULL) {
			for (i = 0; i < r->r_len; i++)
				if (r->r_buf[i] == '\n')
					r->r_nl[r->r_nnl++] = i;
		}
	}
	if (r->r_nl == NULL) {
		/* No index (no memory or no newline): count. */
		for (i = 0, n = 0; i < off && i < r->r_len; i++)
			if (r->r_buf[i] == '\n')
				n++;
		return r->r_line0 + (int)n;
	}
	lo = 0;
	hi = r->r_nnl;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->r_nl[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return r->r_line0 + (int)lo;
}

static void
sregion_clear(struct region *r)
{
	free(r->r_nl);
	r->r_nl = NULL;
	r->r_nnl = 0;
	r->r_nl_built = 0;
}

/* Record a finding; the same line, category and message only once. */
static void __attribute__((format(printf, 5, 6)))
sfind(struct sctx *s, struct region *r, size_t off, enum scan_category cat,
    const char *fmt, ...)
{
	struct scan_result	*res = s->s_res;
	struct scan_finding	*f, nf;
	va_list			 ap;
	size_t			 i;

	memset(&nf, 0, sizeof(nf));
	nf.sf_line = sline(r, off);
	nf.sf_category = cat;
	va_start(ap, fmt);
	vsnprintf(nf.sf_msg, sizeof(nf.sf_msg), fmt, ap);
	va_end(ap);
	res->sr_categories |= 1U << cat;
	for (i = 0; i < res->sr_n; i++)
		if (res->sr_items[i].sf_line == nf.sf_line &&
		    res->sr_items[i].sf_category == cat &&
		    strcmp(res->sr_items[i].sf_msg, nf.sf_msg) == 0)
			return;
	if (res->sr_n >= SCAN_MAXFINDINGS)
		return;
	if ((f = reallocarray(res->sr_items, res->sr_n + 1, sizeof(*f))) ==
	    NULL) {
		s->s_err = 1;
		return;
	}
	res->sr_items = f;
	res->sr_items[res->sr_n++] = nf;
}

/* --- URLs and hosts -------------------------------------------------------- */

int
scan_host_trusted(const struct scan_policy *pol, const char *host, size_t len)
{
	const char *const	*list = scan_default_cdns;
	size_t			 n = 0, i;

	if (pol != NULL && pol->sp_hosts != NULL) {
		list = pol->sp_hosts;
		n = pol->sp_nhosts;
	} else
		while (list[n] != NULL)
			n++;
	/* One trailing dot names the same host. */
	if (len > 0 && host[len - 1] == '.')
		len--;
	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncasecmp(list[i], host, len) == 0)
			return 1;
	return 0;
}

/*
 * If s (len bytes) starts an absolute URL (scheme://, or //), the host as a
 * browser reads it: the authority ends at / \ ? or #, userinfo before its
 * last @ is dropped, the port cut; percent escapes are decoded into out.
 * 1 and out (NUL-terminated) when it does, else 0.
 */
static int
surl_host(const char *s, size_t len, char *out, size_t outsz)
{
	size_t	 i = 0, a, e, at, o = 0;

	/* Leading blanks and controls are stripped by URL parsers. */
	while (i < len && (unsigned char)s[i] <= 0x20)
		i++;
	if (i + 2 <= len && (s[i] == '/' || s[i] == '\\') &&
	    (s[i + 1] == '/' || s[i + 1] == '\\'))
		a = i + 2;
	else {
		size_t	 k = i;

		while (k < len && (isalnum((unsigned char)s[k]) || s[k] == '+' ||
		    s[k] == '-' || s[k] == '.'))
			k++;
		if (k == i || k + 3 > len || s[k] != ':' ||
		    (s[k + 1] != '/' && s[k + 1] != '\\') ||
		    (s[k + 2] != '/' && s[k + 2] != '\\'))
			return 0;
		a = k + 3;
	}
	for (e = a; e < len && s[e] != '/' && s[e] != '\\' && s[e] != '?' &&
	    s[e] != '#' && s[e] != '"' && s[e] != '\'' && s[e] != '`' &&
	    !isspace((unsigned char)s[e]); e++)
		;
	for (at = e; at > a && s[at - 1] != '@'; at--)
		;
	if (at > a)
		a = at;
	for (i = a; i < e && o + 1 < outsz; i++) {
		if (s[i] == ':' && s[a] != '[')
			break;
		if (s[i] == '%' && i + 2 < e && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char	 hx[3] = { s[i + 1], s[i + 2], '\0' };

			out[o++] = (char)strtol(hx, NULL, 16);
			i += 2;
			continue;
		}
		out[o++] = (char)tolower((unsigned char)s[i]);
	}
	out[o] = '\0';
	return o > 0;
}

/* 1 when the literal is an absolute URL whose host is not trusted. */
static int
suntrusted(struct sctx *s, const char *v, size_t len, char *host,
    size_t hostsz)
{
	if (!surl_host(v, len, host, hostsz))
		return 0;
	return !scan_host_trusted(s->s_pol, host, strlen(host));
}

/* --- The JavaScript lexer -------------------------------------------------- */

static int
slit_add(struct js *j, size_t off, size_t end, char quote)
{
	struct lit	*l;

	if (j->j_nlits == j->j_litcap) {
		size_t	 cap = j->j_litcap ? j->j_litcap * 2 : 64;

		if ((l = reallocarray(j->j_lits, cap, sizeof(*l))) == NULL)
			return -1;
		j->j_lits = l;
		j->j_litcap = cap;
	}
	l = &j->j_lits[j->j_nlits++];
	l->l_off = off;
	l->l_end = end;
	l->l_quote = quote;
	return 0;
}

/* Keywords after which a / starts a regular expression. */
static int
sregex_keyword(const char *w, size_t n)
{
	static const char *const kw[] = { "return", "typeof", "instanceof",
	    "in", "of", "new", "delete", "void", "throw", "case", "do", "else",
	    "yield", "await" };
	size_t	 i;

	for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i]) == n && memcmp(kw[i], w, n) == 0)
			return 1;
	return 0;
}

#define SCAN_TMPL_DEPTH	32

/*
 * Classify every byte of the region and collect string literals.  Never
 * fails on bad syntax (an unterminated string ends at its line); -1 only
 * when memory runs out.
 */
static int
sjs_lex(struct js *j)
{
	const char	*b = j->j_r->r_buf;
	size_t		 len = j->j_r->r_len, i = 0, k, st;
	unsigned char	*cls;
	int		 regex_ok = 1, tdepth[SCAN_TMPL_DEPTH], nt = 0, inclass;
	char		 q;

	if ((cls = calloc(len + 1, 1)) == NULL)
		return -1;
	j->j_cls = cls;
	while (i < len) {
		char c = b[i];

		if (c == '/' && i + 1 < len && b[i + 1] == '/') {
			for (st = i; i < len && b[i] != '\n'; i++)
				cls[i] = C_COMMENT;
			continue;
		}
		if (c == '/' && i + 1 < len && b[i + 1] == '*') {
			for (st = i, i += 2; i < len && !(b[i - 1] == '*' &&
			    b[i] == '/' && i - st >= 3); i++)
				;
			if (i < len)
				i++;
			memset(cls + st, C_COMMENT, i - st);
			continue;
		}
		if (c == '"' || c == '\'') {
			q = c;
			cls[i++] = C_STR;
			for (st = i; i < len && b[i] != q && b[i] != '\n'; i++) {
				cls[i] = C_STR;
				if (b[i] == '\\' && i + 1 < len)
					cls[++i] = C_STR;
			}
			if (slit_add(j, st, i, q) == -1)
				return -1;
			if (i < len && b[i] == q)
				cls[i++] = C_STR;
			regex_ok = 0;
			continue;
		}
		if (c == '`' || (c == '}' && nt > 0 && tdepth[nt - 1] == 0)) {
			/* Template text, up to its end or the next ${. */
			if (c == '}')
				nt--;
			cls[i++] = C_TMPL;
			for (st = i; i < len && b[i] != '`' &&
			    !(b[i] == '$' && i + 1 < len && b[i + 1] == '{'); i++) {
				cls[i] = C_TMPL;
				if (b[i] == '\\' && i + 1 < len)
					cls[++i] = C_TMPL;
			}
			if (slit_add(j, st, i, '`') == -1)
				return -1;
			if (i < len && b[i] == '$') {
				cls[i] = cls[i + 1] = C_TMPL;
				i += 2;
				if (nt < SCAN_TMPL_DEPTH)
					tdepth[nt++] = 0;
				regex_ok = 1;
			} else {
				if (i < len)
					cls[i++] = C_TMPL;
				regex_ok = 0;
			}
			continue;
		}
		if (c == '/' && regex_ok) {
			cls[i++] = C_REGEX;
			for (inclass = 0; i < len && b[i] != '\n' &&
			    (b[i] != '/' || inclass); i++) {
				cls[i] = C_REGEX;
				if (b[i] == '\\' && i + 1 < len)
					cls[++i] = C_REGEX;
				else if (b[i] == '[')
					inclass = 1;
				else if (b[i] == ']')
					inclass = 0;
			}
			if (i < len && b[i] == '/')
				cls[i++] = C_REGEX;
			while (i < len && isalpha((unsigned char)b[i]))
				cls[i++] = C_REGEX;
			regex_ok = 0;
			continue;
		}
		if (sident(c) || (c == '\\' && i + 1 < len && b[i + 1] == 'u')) {
			for (k = i; i < len && (sident(b[i]) || b[i] == '\\'); i++)
				;
			regex_ok = sregex_keyword(b + k, i - k);
			continue;
		}
		if (isspace((unsigned char)c)) {
			i++;
			continue;
		}
		if (c == '{' && nt > 0)
			tdepth[nt - 1]++;
		else if (c == '}' && nt > 0)
			tdepth[nt - 1]--;
		regex_ok = !(c == ')' || c == ']');
		i++;
	}
	return 0;
}

static void
sjs_clear(struct js *j)
{
	free(j->j_cls);
	free(j->j_lits);
	memset(j, 0, sizeof(*j));
}

/* The literal whose opening quote is at region offset q, or NULL. */
static const struct lit *
slit_at(const struct js *j, size_t q)
{
	size_t	 lo = 0, hi = j->j_nlits;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (j->j_lits[mid].l_off < q + 1)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < j->j_nlits && j->j_lits[lo].l_off == q + 1)
		return &j->j_lits[lo];
	return NULL;
}

/*
 * Each occurrence of word in code (not in a string, comment or regex),
 * whole-word on the left (a preceding '.' is allowed, the property form)
 * and, for identifier words, on the right.
 */
static const char *
sjs_find(const struct js *j, const char *from, const char *word)
{
	const char	*b = j->j_r->r_buf, *end = b + j->j_r->r_len, *p;
	size_t		 n = strlen(word);

	for (p = from; p < end && (p = memmem(p, end - p, word, n)) != NULL;
	    p++) {
		if (j->j_cls[p - b] != C_CODE)
			continue;
		if (sident(word[0]) && p > b && sident(p[-1]))
			continue;
		if (sident(word[n - 1]) && p + n < end && sident(p[n]))
			continue;
		return p;
	}
	return NULL;
}

/*
 * From the '(' at region offset open, the end of the first argument (at a
 * top-level ',' or the closing ')') in *argend and the closing paren in
 * *close.  Brackets are counted in code only.  -1 if unbalanced.
 */
static int
sjs_args(const struct js *j, size_t open, size_t *argend, size_t *close)
{
	const char	*b = j->j_r->r_buf;
	size_t		 i, len = j->j_r->r_len;
	int		 depth = 0;

	*argend = 0;
	for (i = open; i < len; i++) {
		if (j->j_cls[i] != C_CODE)
			continue;
		if (b[i] == '(' || b[i] == '[' || b[i] == '{')
			depth++;
		else if (b[i] == ')' || b[i] == ']' || b[i] == '}') {
			if (--depth == 0) {
				if (*argend == 0)
					*argend = i;
				*close = i;
				return 0;
			}
		} else if (b[i] == ',' && depth == 1 && *argend == 0)
			*argend = i;
	}
	return -1;
}

/* The right-hand side of an assignment starting at i: to ; or a newline
 * or a top-level , ) } in code. */
static size_t
sjs_rhs_end(const struct js *j, size_t i)
{
	const char	*b = j->j_r->r_buf;
	size_t		 len = j->j_r->r_len;
	int		 depth = 0;

	for (; i < len; i++) {
		if (j->j_cls[i] != C_CODE)
			continue;
		if (b[i] == '(' || b[i] == '[' || b[i] == '{')
			depth++;
		else if ((b[i] == ')' || b[i] == ']' || b[i] == '}') &&
		    --depth < 0)
			break;
		else if (depth == 0 && (b[i] == ';' || b[i] == ',' ||
		    b[i] == '\n'))
			break;
	}
	return i;
}

/* Index of the first literal starting at or after region offset from. */
static size_t
slit_from(const struct js *j, size_t from)
{
	size_t	 lo = 0, hi = j->j_nlits;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (j->j_lits[mid].l_off < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first literal inside [from, to) that is an absolute URL. */
static const struct lit *
sjs_url_in(const struct js *j, size_t from, size_t to, char *host,
    size_t hostsz)
{
	size_t	 k;

	for (k = slit_from(j, from); k < j->j_nlits; k++) {
		const struct lit *l = &j->j_lits[k];

		if (l->l_end > to)
			break;
		if (surl_host(j->j_r->r_buf + l->l_off, l->l_end - l->l_off,
		    host, hostsz))
			return l;
	}
	return NULL;
}

/* The literal that starts (after blanks) at region offset i, or NULL. */
static const struct lit *
sjs_lit_after(const struct js *j, size_t i)
{
	i = sskip_ws(j->j_r->r_buf, j->j_r->r_len, i);
	if (i < j->j_r->r_len && (j->j_cls[i] == C_STR || j->j_cls[i] == C_TMPL))
		return slit_at(j, i);
	return NULL;
}

/* --- Obfuscation ----------------------------------------------------------- */

/* Calls that turn encoded text back into code. */
static const char *const sdecoders[] = { "atob", "fromCharCode", "unescape",
    "decodeURIComponent", "decodeURI", "charCodeAt", "TextDecoder",
    "fromCodePoint", "escape", NULL };

/* What a decoding or assembling argument contains, or NULL. */
static const char *
sjs_decoded(const struct js *j, size_t from, size_t to)
{
	const char	*b = j->j_r->r_buf, *p;
	size_t		 i, k, nlit = 0, other = 0, esc = 0;

	for (k = 0; sdecoders[k] != NULL; k++)
		for (p = b + from; (p = sjs_find(j, p, sdecoders[k])) != NULL &&
		    p < b + to; p++)
			return sdecoders[k];
	if ((p = sjs_find(j, b + from, "reverse")) != NULL && p < b + to)
		return "reverse";
	if ((p = sjs_find(j, b + from, "Buffer")) != NULL && p < b + to)
		return "Buffer";
	/* Only literals joined with '+' (and escapes inside them). */
	for (i = from; i < to; i++) {
		if (j->j_cls[i] == C_STR || j->j_cls[i] == C_TMPL) {
			if (i == from || (j->j_cls[i - 1] != C_STR &&
			    j->j_cls[i - 1] != C_TMPL))
				nlit++;
			if (b[i] == '\\' && i + 1 < to && (b[i + 1] == 'x' ||
			    b[i + 1] == 'u'))
				esc++;
		} else if (j->j_cls[i] == C_CODE && !isspace((unsigned char)b[i]) &&
		    b[i] != '+' && b[i] != '(' && b[i] != ')')
			other++;
	}
	if (esc >= 4)
		return "escaped string";
	if (nlit >= 2 && other == 0)
		return "concatenated literals";
	return NULL;
}

/* Sensitive names that assembled or escaped literals must not spell. */
static int
ssensitive_name(const char *s, size_t n)
{
	static const char *const names[] = { "eval", "Function", "constructor",
	    "fromCharCode", "atob", "cookie", "document.cookie", "location",
	    "createElement", "innerHTML", "write", "setTimeout", "setInterval",
	    "XMLHttpRequest", "fetch", "sendBeacon", "localStorage",
	    "unescape", "execScript", "importScripts", "outerHTML" };
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return 1;
	return 0;
}

/* Decode \xHH and \uHHHH in a literal into out; how many escapes. */
static size_t
sunescape(const char *s, size_t len, char *out, size_t outsz, size_t *outlen)
{
	size_t	 i, o = 0, n = 0;

	for (i = 0; i < len && o + 1 < outsz; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] == 'x' &&
		    isxdigit((unsigned char)s[i + 2]) &&
		    isxdigit((unsigned char)s[i + 3])) {
			char	 hx[3] = { s[i + 2], s[i + 3], '\0' };

			out[o++] = (char)strtol(hx, NULL, 16);
			i += 3;
			n++;
		} else if (s[i] == '\\' && i + 5 < len && s[i + 1] == 'u' &&
		    isxdigit((unsigned char)s[i + 2]) &&
		    isxdigit((unsigned char)s[i + 3]) &&
		    isxdigit((unsigned char)s[i + 4]) &&
		    isxdigit((unsigned char)s[i + 5])) {
			char	 hx[5] = { s[i + 2], s[i + 3], s[i + 4], s[i + 5],
			    '\0' };
			long	 v = strtol(hx, NULL, 16);

			out[o++] = v < 0x80 ? (char)v : '?';
			i += 5;
			n++;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return n;
}

static void
sjs_obfuscation(struct sctx *s, struct js *j)
{
	static const char *const execs[] = { "eval", "Function", "execScript",
	    "setTimeout", "setInterval", "write", "writeln", NULL };
	struct region	*r = j->j_r;
	const char	*b = r->r_buf, *p, *what;
	char		 tmp[128];
	size_t		 i, k, n, open, argend, close, tl, run;
	unsigned int	 ox = 0;

	/* Dean Edwards' packer and its clones. */
	for (p = b; (p = sjs_find(j, p, "eval")) != NULL; p++) {
		i = sskip_ws(b, r->r_len, p - b + 4);
		if (i < r->r_len && b[i] == '(') {
			i = sskip_ws(b, r->r_len, i + 1);
			if (r->r_len - i >= 24 && strncmp(b + i, "function", 8) ==
			    0 && memmem(b + i, 24, "(p,a,c,k,e,", 11) != NULL)
				sfind(s, r, p - b, SCAN_OBFUSCATION, "packed code "
				    "(eval(function(p,a,c,k,e,...)))");
		}
	}
	/* Code run from strings: decoded, assembled, or a string timer. */
	for (k = 0; execs[k] != NULL; k++) {
		int	 timer = execs[k][0] == 's';
		int	 write = execs[k][0] == 'w';

		for (p = b; (p = sjs_find(j, p, execs[k])) != NULL; p++) {
			/* write/writeln only as document.write. */
			if (write && (p - b < 9 ||
			    strncmp(p - 9, "document.", 9) != 0))
				continue;
			open = sskip_ws(b, r->r_len, p - b + strlen(execs[k]));
			if (open >= r->r_len || b[open] != '(' ||
			    sjs_args(j, open, &argend, &close) == -1)
				continue;
			if (timer) {
				if (sjs_lit_after(j, open + 1) != NULL)
					sfind(s, r, p - b, SCAN_OBFUSCATION, "string "
					    "passed to %s (code run from a string)",
					    execs[k]);
				continue;
			}
			/* Function(args..., body): every argument counts. */
			what = sjs_decoded(j, open + 1, execs[k][0] == 'F' ?
			    close : argend);
			if (what != NULL && (!write ||
			    strcmp(what, "concatenated literals") != 0))
				sfind(s, r, p - b, SCAN_OBFUSCATION, "%s%s() of a "
				    "decoded or assembled string (%s)", write ?
				    "document." : "", execs[k], what);
		}
	}
	/* Literals that spell a sensitive name when joined or unescaped. */
	for (k = 0; k < j->j_nlits; k = n) {
		const struct lit *l = &j->j_lits[k];
		size_t	 ne;

		tl = 0;
		ne = sunescape(b + l->l_off, l->l_end - l->l_off, tmp,
		    sizeof(tmp), &tl);
		if (ne > 0 && ssensitive_name(tmp, tl))
			sfind(s, r, l->l_off, SCAN_OBFUSCATION, "escaped string "
			    "spells '%s'", tmp);
		/* Join the following literals while only '+' separates them. */
		for (n = k + 1; n < j->j_nlits && tl < sizeof(tmp) - 1; n++) {
			const struct lit *m = &j->j_lits[n];
			size_t	 gap, ml;

			for (gap = j->j_lits[n - 1].l_end + 1; gap < m->l_off - 1 &&
			    (isspace((unsigned char)b[gap]) || b[gap] == '+') &&
			    j->j_cls[gap] == C_CODE; gap++)
				;
			if (gap != m->l_off - 1 ||
			    memchr(b + j->j_lits[n - 1].l_end, '+',
			    m->l_off - j->j_lits[n - 1].l_end) == NULL)
				break;
			ml = m->l_end - m->l_off;
			if (tl + ml >= sizeof(tmp))
				break;
			memcpy(tmp + tl, b + m->l_off, ml);
			tl += ml;
		}
		tmp[tl] = '\0';
		if (n > k + 1 && ssensitive_name(tmp, tl))
			sfind(s, r, l->l_off, SCAN_OBFUSCATION, "concatenated "
			    "strings spell '%s'", tmp);
	}
	/* javascript-obfuscator's _0x identifiers, JSFuck, aaencode. */
	for (p = b; (p = memmem(p, b + r->r_len - p, "_0x", 3)) != NULL; p++) {
		if (j->j_cls[p - b] != C_CODE || (p > b && sident(p[-1])))
			continue;
		for (n = 3; p + n < b + r->r_len && isxdigit((unsigned char)p[n]);
		    n++)
			;
		if (n >= 7 && ++ox == 10)
			sfind(s, r, p - b, SCAN_OBFUSCATION, "javascript-"
			    "obfuscator style identifiers (_0x...)");
	}
	for (i = 0, run = 0; i < r->r_len; i++) {
		if (j->j_cls[i] == C_CODE && strchr("[]()!+", b[i]) != NULL &&
		    b[i] != '\0') {
			if (++run == 200)
				sfind(s, r, i, SCAN_OBFUSCATION, "JSFuck-encoded "
				    "code");
		} else if (!isspace((unsigned char)b[i]))
			run = 0;
	}
	if ((p = memmem(b, r->r_len, "\xef\xbe\x9f\xcf\x89\xef\xbe\x9f", 8)) !=
	    NULL)
		sfind(s, r, p - b, SCAN_OBFUSCATION, "aaencode-encoded code");
	/* \u escapes in identifiers that spell a sensitive name. */
	for (p = b; (p = memmem(p, b + r->r_len - p, "\\u", 2)) != NULL; p++) {
		const char	*q = p;

		if (j->j_cls[p - b] != C_CODE)
			continue;
		while (q > b && (sident(q[-1]) || q[-1] == '\\'))
			q--;
		for (i = p - b; i < r->r_len && (sident(b[i]) || b[i] == '\\');
		    i++)
			;
		if (sunescape(q, b + i - q, tmp, sizeof(tmp), &tl) > 0 &&
		    ssensitive_name(tmp, tl))
			sfind(s, r, q - b, SCAN_OBFUSCATION, "escaped "
			    "identifier spells '%s'", tmp);
		p = b + i - 1;
	}
}

/* --- Mining ---------------------------------------------------------------- */

static const char *const sminers[] = { "coinhive", "coin-hive", "coinimp",
    "cryptoloot", "crypto-loot", "cryptonight", "webminepool", "deepminer",
    "minero.cc", "jsecoin", "authedmine", "stratum+tcp://",
    "stratum+ssl://", "xmrig", "webmr.js", "minemytraffic", "coinhave",
    "cryptaloot", "ppoi.org", "monerominer", "nfwebminer", "webmine.cz",
    "coin-have", "crypto-webminer", "hashvault.pro", NULL };

/*
 * Names are matched in code and strings, never in comments, in any case:
 * one lower-cased copy, then memmem per name (the names are lower case).
 */
static void
sminer_names(struct sctx *s, struct region *r, const unsigned char *cls)
{
	const char	*p;
	char		*low;
	size_t		 k, n;

	if ((low = malloc(r->r_len + 1)) == NULL) {
		s->s_err = 1;
		return;
	}
	for (k = 0; k < r->r_len; k++)
		low[k] = (char)tolower((unsigned char)r->r_buf[k]);
	for (k = 0; sminers[k] != NULL; k++) {
		n = strlen(sminers[k]);
		for (p = low; (p = memmem(p, low + r->r_len - p, sminers[k],
		    n)) != NULL; p += n) {
			if (cls != NULL && cls[p - low] == C_COMMENT)
				continue;
			sfind(s, r, p - low, SCAN_CRYPTO_MINING, "names the '%s' "
			    "miner", sminers[k]);
			break;
		}
	}
	free(low);
}

static void
sjs_mining(struct sctx *s, struct js *j)
{
	const char	*b = j->j_r->r_buf, *p;
	const struct lit *l;
	size_t		 i;

	sminer_names(s, j->j_r, j->j_cls);
	/* Miner.Anonymous('<site key>') is CoinHive's API, whatever the host. */
	for (p = b; (p = sjs_find(j, p, "Anonymous")) != NULL; p++) {
		i = sskip_ws(b, j->j_r->r_len, p - b + 9);
		if (p > b && p[-1] == '.' && i < j->j_r->r_len && b[i] == '(' &&
		    (l = sjs_lit_after(j, i + 1)) != NULL &&
		    l->l_end - l->l_off >= 32)
			sfind(s, j->j_r, p - b, SCAN_CRYPTO_MINING, "starts a "
			    "miner with a site key (.Anonymous(...))");
	}
}

/* --- Redirects, script loading, exfiltration ------------------------------- */

/* The identifier ending just before region offset i (skipping blanks). */
static size_t
sjs_ident_before(const char *b, size_t i, size_t *start)
{
	while (i > 0 && isspace((unsigned char)b[i - 1]))
		i--;
	*start = i;
	while (*start > 0 && sident(b[*start - 1]))
		(*start)--;
	return i - *start;
}

static void
sjs_redirects(struct sctx *s, struct js *j)
{
	static const char *const owners[] = { "window", "document", "top",
	    "self", "parent", "globalThis", "frames" };
	struct region	*r = j->j_r;
	const char	*b = r->r_buf, *p;
	const struct lit *l;
	char		 host[256];
	size_t		 i, k, n, st;

	for (p = b; (p = sjs_find(j, p, "location")) != NULL; p++) {
		/* obj.location: only the window's own. */
		if (p > b && p[-1] == '.') {
			n = sjs_ident_before(b, p - b - 1, &st);
			for (k = 0; k < sizeof(owners) / sizeof(owners[0]); k++)
				if (strlen(owners[k]) == n &&
				    memcmp(b + st, owners[k], n) == 0)
					break;
			if (k == sizeof(owners) / sizeof(owners[0]))
				continue;
		}
		i = p - b + 8;
		if (r->r_len - i > 5 && strncmp(b + i, ".href", 5) == 0)
			i += 5;
		i = sskip_ws(b, r->r_len, i);
		if (i < r->r_len && b[i] == '=' && (i + 1 >= r->r_len ||
		    b[i + 1] != '='))
			l = sjs_lit_after(j, i + 1);
		else if (r->r_len - i > 8 && (strncmp(b + i, ".replace", 8) ==
		    0 || strncmp(b + i, ".assign", 7) == 0)) {
			i = sskip_ws(b, r->r_len, i + (b[i + 1] == 'r' ? 8 : 7));
			l = i < r->r_len && b[i] == '(' ? sjs_lit_after(j, i + 1) :
			    NULL;
		} else
			continue;
		if (l != NULL && surl_host(b + l->l_off, l->l_end - l->l_off,
		    host, sizeof(host)))
			sfind(s, r, p - b, SCAN_PHISHING_REDIRECT, "sends the "
			    "page to an external URL (%s)", host);
	}
}

static void
sexternal(struct sctx *s, struct region *r, size_t off, const char *how,
    const char *host)
{
	sfind(s, r, off, SCAN_EXTERNAL_SCRIPT, "%s from untrusted host %s", how,
	    host);
}

/* <script ... src=URL> inside a string: document.write and innerHTML. */
static void
sjs_script_tags(struct sctx *s, struct js *j)
{
	const char	*b = j->j_r->r_buf, *t, *e, *v;
	char		 host[256];
	size_t		 k;

	for (k = 0; k < j->j_nlits; k++) {
		const struct lit *l = &j->j_lits[k];

		e = b + l->l_end;
		for (t = b + l->l_off; (t = smemcasemem(t, e - t, "<script",
		    7)) != NULL; t += 7) {
			const char *gt = memchr(t, '>', e - t);

			if ((v = smemcasemem(t, (gt ? gt : e) - t, "src", 3)) ==
			    NULL)
				continue;
			for (v += 3; v < e && (isspace((unsigned char)*v) ||
			    *v == '=' || *v == '\\' || *v == '"' || *v == '\'');
			    v++)
				;
			if (suntrusted(s, v, e - v, host, sizeof(host)))
				sexternal(s, j->j_r, l->l_off, "<script src> in a "
				    "string", host);
		}
	}
}

static void
sjs_loading(struct sctx *s, struct js *j)
{
	static const char *const loaders[] = { "importScripts", "getScript",
	    "import", NULL };
	struct region	*r = j->j_r;
	const char	*b = r->r_buf, *p, *q;
	const struct lit *l;
	char		 host[256], name[64];
	size_t		 i, k, n, st, open, argend, close, end;

	/* import('URL'), importScripts('URL', ...), $.getScript('URL'). */
	for (k = 0; loaders[k] != NULL; k++) {
		for (p = b; (p = sjs_find(j, p, loaders[k])) != NULL; p++) {
			i = sskip_ws(b, r->r_len, p - b + strlen(loaders[k]));
			if (i < r->r_len && b[i] == '(' &&
			    sjs_args(j, i, &argend, &close) == 0) {
				for (n = slit_from(j, i); n < j->j_nlits &&
				    j->j_lits[n].l_end <= close; n++) {
					l = &j->j_lits[n];
					if (suntrusted(s, b + l->l_off, l->l_end -
					    l->l_off, host, sizeof(host)))
						sexternal(s, r, p - b, loaders[k],
						    host);
				}
			} else if (k == 2 && (l = sjs_lit_after(j, i)) != NULL &&
			    suntrusted(s, b + l->l_off, l->l_end - l->l_off, host,
			    sizeof(host)))
				sexternal(s, r, p - b, "import", host);
		}
	}
	/* import x from 'URL' / export ... from 'URL'. */
	for (p = b; (p = sjs_find(j, p, "from")) != NULL; p++)
		if ((l = sjs_lit_after(j, p - b + 4)) != NULL &&
		    suntrusted(s, b + l->l_off, l->l_end - l->l_off, host,
		    sizeof(host)))
			sexternal(s, r, p - b, "import", host);
	/*
	 * createElement('script'): the element's src, set through the
	 * variable it was assigned to, or nearby when there is none.
	 */
	for (p = b; (p = sjs_find(j, p, "createElement")) != NULL; p++) {
		open = sskip_ws(b, r->r_len, p - b + 13);
		if (open >= r->r_len || b[open] != '(' ||
		    (l = sjs_lit_after(j, open + 1)) == NULL ||
		    l->l_end - l->l_off != 6 ||
		    strncasecmp(b + l->l_off, "script", 6) != 0)
			continue;
		/* "s = document.createElement" or "s = createElement". */
		q = p;
		if (q - b >= 9 && strncmp(q - 9, "document.", 9) == 0)
			q -= 9;
		i = q - b;
		while (i > 0 && isspace((unsigned char)b[i - 1]))
			i--;
		name[0] = '\0';
		if (i > 0 && b[i - 1] == '=' && (i < 2 || b[i - 2] != '=')) {
			n = sjs_ident_before(b, i - 1, &st);
			if (n > 0 && n < sizeof(name)) {
				memcpy(name, b + st, n);
				name[n] = '\0';
			}
		}
		for (q = b; name[0] != '\0' && (q = sjs_find(j, q, name)) !=
		    NULL; q++) {
			i = q - b + strlen(name);
			if (r->r_len - i > 4 && strncmp(b + i, ".src", 4) == 0) {
				i = sskip_ws(b, r->r_len, i + 4);
				if (i < r->r_len && b[i] == '=' &&
				    (l = sjs_lit_after(j, i + 1)) != NULL &&
				    suntrusted(s, b + l->l_off, l->l_end - l->l_off,
				    host, sizeof(host)))
					sexternal(s, r, q - b, "script element",
					    host);
			} else if (r->r_len - i > 13 &&
			    strncmp(b + i, ".setAttribute", 13) == 0 &&
			    (end = sskip_ws(b, r->r_len, i + 13)) < r->r_len &&
			    b[end] == '(' &&
			    sjs_args(j, end, &argend, &close) == 0 &&
			    (l = sjs_lit_after(j, end + 1)) != NULL &&
			    l->l_end - l->l_off == 3 &&
			    strncasecmp(b + l->l_off, "src", 3) == 0 &&
			    (l = sjs_lit_after(j, argend + 1)) != NULL &&
			    suntrusted(s, b + l->l_off, l->l_end - l->l_off, host,
			    sizeof(host)))
				sexternal(s, r, q - b, "script element", host);
		}
		if (name[0] == '\0') {
			/* Unnamed: an src right after, as in Object.assign. */
			end = close = 0;
			if (sjs_args(j, open, &argend, &close) == 0)
				end = close + 300 < r->r_len ? close + 300 :
				    r->r_len;
			for (i = close; i + 3 <= end; i++)
				if (strncmp(b + i, "src", 3) == 0 &&
				    j->j_cls[i] == C_CODE) {
					n = sskip_ws(b, end, i + 3);
					if (n < end && (b[n] == '=' || b[n] == ':') &&
					    (l = sjs_lit_after(j, n + 1)) != NULL &&
					    suntrusted(s, b + l->l_off, l->l_end -
					    l->l_off, host, sizeof(host)))
						sexternal(s, r, p - b, "script "
						    "element", host);
					break;
				}
		}
	}
	sjs_script_tags(s, j);
}

/* A sensitive source in [from, to) of code; its name or NULL. */
struct ssource {
	const char	*ss_name;	/* shown in the message */
	const char	*ss_word;	/* searched for in code */
	int		 ss_strong;	/* counts anywhere in the file */
};

static const struct ssource ssources[] = {
	{ "document.cookie",	"cookie",		1 },
	{ "the clipboard",	"readText",		1 },
	{ "the clipboard",	"clipboardData",	1 },
	{ "localStorage",	"localStorage",		0 },
	{ "sessionStorage",	"sessionStorage",	0 },
	{ "indexedDB",		"indexedDB",		0 },
	{ "form fields",	"FormData",		0 },
};

/* Reading document.cookie (writing it is not a source). */
static int
sjs_cookie_read(const struct js *j, const char *p)
{
	const char	*b = j->j_r->r_buf;
	size_t		 i;

	if (p - b < 9 || strncmp(p - 9, "document.", 9) != 0)
		return 0;
	i = sskip_ws(b, j->j_r->r_len, p - b + 6);
	return !(i < j->j_r->r_len && b[i] == '=' && (i + 1 >= j->j_r->r_len ||
	    b[i + 1] != '='));
}

static const char *
sjs_source_in(const struct js *j, size_t from, size_t to, int strong_only,
    size_t *where)
{
	const char	*b = j->j_r->r_buf, *p;
	size_t		 k;

	for (k = 0; k < sizeof(ssources) / sizeof(ssources[0]); k++) {
		if (strong_only && !ssources[k].ss_strong)
			continue;
		for (p = b + from; (p = sjs_find(j, p, ssources[k].ss_word)) !=
		    NULL && p < b + to; p++) {
			if (k == 0 && !sjs_cookie_read(j, p))
				continue;
			*where = p - b;
			return ssources[k].ss_name;
		}
	}
	return NULL;
}

/*
 * The file-wide sources: a key logger (a key listener whose handler keeps
 * the keys), password fields, cookies and the clipboard.
 */
static const char *
sjs_strong_source(const struct js *j, size_t *where)
{
	static const char *const keyev[] = { "keydown", "keypress", "keyup",
	    NULL };
	const char	*b = j->j_r->r_buf, *p, *src;
	size_t		 k, n, len = j->j_r->r_len;
	int		 listener = 0;

	if ((src = sjs_source_in(j, 0, len, 1, where)) != NULL)
		return src;
	for (n = 0; n < j->j_nlits; n++) {
		const struct lit *l = &j->j_lits[n];

		for (k = 0; keyev[k] != NULL; k++)
			if (l->l_end - l->l_off == strlen(keyev[k]) &&
			    strncmp(b + l->l_off, keyev[k], strlen(keyev[k])) == 0)
				listener = 1;
		/* Selectors of password fields. */
		if (smemcasemem(b + l->l_off, l->l_end - l->l_off, "password",
		    8) != NULL && (smemcasemem(b + l->l_off, l->l_end - l->l_off,
		    "type=", 5) != NULL || smemcasemem(b + l->l_off, l->l_end -
		    l->l_off, "name=", 5) != NULL || b[l->l_off] == '#')) {
			*where = l->l_off;
			return "a password field";
		}
	}
	for (k = 0; keyev[k] != NULL; k++)
		if (sjs_find(j, b, k == 0 ? "onkeydown" : k == 1 ? "onkeypress" :
		    "onkeyup") != NULL)
			listener = 1;
	if (!listener)
		return NULL;
	/* Keeping keys: "+= e.key", "push(e.key)", String.fromCharCode. */
	for (p = b; (p = sjs_find(j, p, "+=")) != NULL; p++) {
		const char *e = p + 60 < b + len ? p + 60 : b + len;

		if (memmem(p, e - p, ".key", 4) != NULL ||
		    memmem(p, e - p, ".which", 6) != NULL ||
		    memmem(p, e - p, ".charCode", 9) != NULL) {
			*where = p - b;
			return "keystrokes";
		}
	}
	for (p = b; (p = sjs_find(j, p, "push")) != NULL; p++) {
		const char *e = p + 40 < b + len ? p + 40 : b + len;

		if (memmem(p, e - p, ".key", 4) != NULL) {
			*where = p - b;
			return "keystrokes";
		}
	}
	return NULL;
}

/*
 * Whether a sink's arguments carry anything besides literals: a request
 * to a fixed URL with fixed options sends no data of the page.
 */
static int
sjs_carries_data(const struct js *j, size_t from, size_t to)
{
	const char	*b = j->j_r->r_buf;
	size_t		 i;

	for (i = from; i < to; i++)
		if (j->j_cls[i] == C_CODE && sident(b[i]) &&
		    !isdigit((unsigned char)b[i])) {
			/* Object keys ({method: 'POST'}) are not data. */
			size_t	 e = i, k;

			while (e < to && sident(b[e]))
				e++;
			k = sskip_ws(b, to, e);
			if (k < to && b[k] == ':' && (i == from || b[i - 1] == '{' ||
			    b[i - 1] == ',' || isspace((unsigned char)b[i - 1])))
				i = e;
			else
				return 1;
		} else if (j->j_cls[i] == C_TMPL && b[i] == '$' && i + 1 < to &&
		    b[i + 1] == '{')
			return 1;
	return 0;
}

static void
sjs_exfiltration(struct sctx *s, struct js *j)
{
	static const char *const sinks[] = { "fetch", "sendBeacon", "open",
	    "WebSocket", "EventSource", "ajax", "post", "get", "axios", "src",
	    "action", NULL };
	struct region	*r = j->j_r;
	const char	*b = r->r_buf, *p, *src, *strong;
	const struct lit *l;
	char		 host[256];
	size_t		 k, i, st, n, from, to, argend, where, swhere = 0;

	strong = sjs_strong_source(j, &swhere);
	for (k = 0; sinks[k] != NULL; k++) {
		int	 assign = strcmp(sinks[k], "src") == 0 ||
		    strcmp(sinks[k], "action") == 0;

		for (p = b; (p = sjs_find(j, p, sinks[k])) != NULL; p++) {
			i = sskip_ws(b, r->r_len, p - b + strlen(sinks[k]));
			/* Methods of something, except fetch/axios/sockets. */
			if ((k == 2 || k == 5 || k == 6 || k == 7 || assign) &&
			    (p == b || p[-1] != '.'))
				continue;
			/* window.open navigates; it sends nothing by itself. */
			if (k == 2) {
				n = sjs_ident_before(b, p - b - 1, &st);
				if ((n == 6 && memcmp(b + st, "window", 6) == 0) ||
				    (n == 4 && memcmp(b + st, "self", 4) == 0))
					continue;
			}
			if (assign) {
				if (i >= r->r_len || b[i] != '=' ||
				    (i + 1 < r->r_len && b[i + 1] == '='))
					continue;
				from = i + 1;
				to = sjs_rhs_end(j, from);
			} else {
				if (i >= r->r_len || b[i] != '(' ||
				    sjs_args(j, i, &argend, &to) == -1)
					continue;
				from = i;
			}
			if ((l = sjs_url_in(j, from, to, host, sizeof(host))) ==
			    NULL || !sjs_carries_data(j, from, to))
				continue;
			if ((src = sjs_source_in(j, from, to, 0, &where)) != NULL)
				sfind(s, r, p - b, SCAN_DATA_EXFILTRATION, "sends "
				    "%s to an external URL (%s)", src, host);
			else if (strong != NULL)
				sfind(s, r, p - b, SCAN_DATA_EXFILTRATION, "reads "
				    "%s (line %d) and sends data to an external "
				    "URL (%s)", strong, sline(r, swhere), host);
		}
	}
}

/* --- Credentials ----------------------------------------------------------- */

static double
sentropy(const char *s, size_t n)
{
	unsigned int	 cnt[256];
	double		 h = 0, p;
	size_t		 i;

	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < n; i++)
		cnt[(unsigned char)s[i]]++;
	for (i = 0; i < 256; i++) {
		if (cnt[i] == 0)
			continue;
		p = (double)cnt[i] / n;
		h -= p * log2(p);
	}
	return h;
}

/* Values that are never credentials (SPEC §10). */
static int
sbenign_value(const char *v, size_t n)
{
	static const char *const words[] = { "your", "example", "xxxx",
	    "****", "placeholder", "changeme", "change_me", "change-me",
	    "replace", "dummy", "sample", "redacted", "insert", "todo", "fake",
	    "${", "{{", "<", "process.env", "secret_here", "key_here", NULL };
	size_t	 i, asc = 0, upper_only = 1;

	for (i = 0; words[i] != NULL; i++)
		if (smemcasemem(v, n, words[i], strlen(words[i])) != NULL)
			return 1;
	if (n >= 2 && v[0] == '%' && v[n - 1] == '%')
		return 1;
	/* SRI hashes, data: URIs and URLs. */
	if (n > 7 && (strncmp(v, "sha256-", 7) == 0 ||
	    strncmp(v, "sha384-", 7) == 0 || strncmp(v, "sha512-", 7) == 0))
		return 1;
	if (n > 5 && strncasecmp(v, "data:", 5) == 0)
		return 1;
	if (memmem(v, n, "://", 3) != NULL)
		return 1;
	/* Publishable keys: meant for browsers. */
	if ((n > 8 && (strncmp(v, "pk_live_", 8) == 0 ||
	    strncmp(v, "pk_test_", 8) == 0)) || (n > 3 &&
	    strncmp(v, "pk.", 3) == 0) || (n > 4 && strncmp(v, "AIza", 4) == 0))
		return 1;
	/* UUIDs, with or without braces. */
	if (n >= 36) {
		const char	*u = v[0] == '{' ? v + 1 : v;
		size_t		 ul = n - (v[0] == '{') - (v[n - 1] == '}');

		if (ul == 36) {
			for (i = 0; i < 36; i++) {
				if (i == 8 || i == 13 || i == 18 || i == 23) {
					if (u[i] != '-')
						break;
				} else if (!isxdigit((unsigned char)u[i]))
					break;
			}
			if (i == 36)
				return 1;
		}
	}
	/* Sequential alphabets: abcdef..., 0123456789, ABC...Zabc...z09+/. */
	for (i = 1; i < n; i++)
		if ((unsigned char)v[i] == (unsigned char)v[i - 1] + 1)
			asc++;
	if (n > 1 && asc * 2 >= n - 1)
		return 1;
	/* Environment-variable-like names: API_KEY, MY_SECRET_TOKEN. */
	for (i = 0; i < n; i++) {
		if (!(isupper((unsigned char)v[i]) || v[i] == '_' ||
		    isdigit((unsigned char)v[i])))
			upper_only = 0;
	}
	return upper_only && memchr(v, '_', n) != NULL;
}

static int
shex_only(const char *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)v[i]))
			return 0;
	return 1;
}

/*
 * Random-looking: no blanks, token characters only, letters and digits
 * interleaved, high entropy.  strict is for unnamed literals.
 */
static int
srandom_looking(const char *v, size_t n, int strict)
{
	size_t	 i, up = 0, lo = 0, dg = 0, sw = 0;
	int	 prev = 0, cur;

	if (n < (strict ? 32 : 16) || (strict && n > 200))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = v[i];

		if (isupper(c))
			up++, cur = 1;
		else if (islower(c))
			lo++, cur = 1;
		else if (isdigit(c))
			dg++, cur = 2;
		else if (strchr("+/=_-.~", c) != NULL && c != '\0')
			cur = 3;
		else
			return 0;
		if (prev != 0 && cur != prev && cur != 3 && prev != 3)
			sw++;
		prev = cur;
	}
	if (dg < 2 || up + lo < 4)
		return 0;
	if (strict)
		return up > 0 && lo > 0 && sw >= 8 && !shex_only(v, n) &&
		    sentropy(v, n) >= 4.2;
	return sw >= 3 && sentropy(v, n) >= 3.3;
}

/* Name classes for a literal's key. */
static int
sname_has(const char *name, const char *const *words)
{
	size_t	 i;

	for (i = 0; words[i] != NULL; i++)
		if (strcasestr(name, words[i]) != NULL)
			return 1;
	return 0;
}

static const char *const spassword_names[] = { "password", "passwd",
    "passphrase", "pwd", NULL };
static const char *const ssecret_names[] = { "secret", "token", "apikey",
    "api_key", "api-key", "accesskey", "access_key", "privatekey",
    "private_key", "credential", "bearer", "auth", "sessionkey",
    "session_key", "signingkey", "signing_key", NULL };
/* Names of UI text and of non-secrets that merely mention a secret. */
static const char *const sui_names[] = { "label", "placeholder", "text",
    "message", "msg", "title", "hint", "error", "field", "input", "selector",
    "class", "regex", "pattern", "policy", "strength", "length", "min",
    "max", "required", "confirm", "reset", "forgot", "url", "path",
    "visible", "toggle", "icon", "type", "name", "header", "param", "prefix",
    "public", "publishable", "sitekey", "site_key", "csrf", "event", "mode",
    "storage", "cookie", NULL };

/*
 * Whether one word of a name (split at camelCase humps, '_', '-', '.')
 * is in words: "passwordMinLength" has "min", "adminPassword" has not.
 */
static int
sname_word(const char *name, const char *const *words)
{
	const char	*p = name, *st;
	size_t		 k, n;

	while (*p != '\0') {
		while (*p != '\0' && !isalnum((unsigned char)*p))
			p++;
		st = p;
		if (*p != '\0')
			p++;
		while (*p != '\0' && (islower((unsigned char)*p) ||
		    isdigit((unsigned char)*p) || (isupper((unsigned char)*p) &&
		    isupper((unsigned char)p[-1]) &&
		    !islower((unsigned char)p[1]))))
			p++;
		if ((n = p - st) == 0)
			continue;
		for (k = 0; words[k] != NULL; k++)
			if (strlen(words[k]) == n &&
			    strncasecmp(words[k], st, n) == 0)
				return 1;
	}
	return 0;
}

static int
sui_label(const char *name, const char *v, size_t n)
{
	size_t	 i;

	if (memchr(v, ' ', n) != NULL || n < 4)
		return 1;
	/* A capitalised word: "Password", "Passwort". */
	if (isupper((unsigned char)v[0])) {
		for (i = 1; i < n && islower((unsigned char)v[i]); i++)
			;
		if (i == n)
			return 1;
	}
	if (strlen(name) == n && strncasecmp(name, v, n) == 0)
		return 1;
	for (i = 0; spassword_names[i] != NULL; i++)
		if (strlen(spassword_names[i]) == n &&
		    strncasecmp(spassword_names[i], v, n) == 0)
			return 1;
	for (i = 0; i < n && (v[i] == '*' || v[i] == '.' ||
	    (unsigned char)v[i] >= 0x80); i++)
		;
	return i == n;
}

/* One literal with the name it is assigned to ("" when none). */
static void
scred_literal(struct sctx *s, struct region *r, size_t off, const char *name,
    const char *v, size_t n)
{
	if (n == 0 || sbenign_value(v, n))
		return;
	if (name[0] != '\0' && sname_has(name, spassword_names) &&
	    !sname_word(name, sui_names) && !sui_label(name, v, n)) {
		sfind(s, r, off, SCAN_CREDENTIAL, "password literal in '%s'",
		    name);
		return;
	}
	if (name[0] != '\0' && sname_has(name, ssecret_names) &&
	    !sname_word(name, sui_names)) {
		if (srandom_looking(v, n, 0))
			sfind(s, r, off, SCAN_CREDENTIAL, "high-entropy value in "
			    "'%s'", name);
		return;
	}
	if (srandom_looking(v, n, 1))
		sfind(s, r, off, SCAN_CREDENTIAL, "high-entropy literal (%zu "
		    "characters)", n);
}

/* The name a literal is assigned to: `name = "v"`, `name: "v"`,
 * `"name": "v"`, `obj.name = "v"`; "" when none. */
static void
sjs_lit_name(const struct js *j, const struct lit *l, char *name, size_t sz)
{
	const char	*b = j->j_r->r_buf;
	size_t		 i = l->l_off - 1, st, n;

	name[0] = '\0';
	while (i > 0 && isspace((unsigned char)b[i - 1]))
		i--;
	if (i == 0 || (b[i - 1] != '=' && b[i - 1] != ':'))
		return;
	if (b[i - 1] == '=' && i >= 2 && strchr("=!<>", b[i - 2]) != NULL)
		return;
	i--;
	while (i > 0 && isspace((unsigned char)b[i - 1]))
		i--;
	if (i > 0 && (b[i - 1] == '"' || b[i - 1] == '\'')) {
		char	 q = b[i - 1];

		for (st = i - 1; st > 0 && b[st - 1] != q && i - st < sz; st--)
			;
		n = i - 1 - st;
	} else
		n = sjs_ident_before(b, i, &st);
	if (n == 0 || n >= sz)
		return;
	memcpy(name, b + st, n);
	name[n] = '\0';
}

static void sjs_lex_comment(struct sctx *, struct region *, size_t, size_t);

static void
sjs_credentials(struct sctx *s, struct js *j)
{
	struct region	*r = j->j_r;
	char		 name[128];
	size_t		 k, i, st;

	for (k = 0; k < j->j_nlits; k++) {
		const struct lit *l = &j->j_lits[k];

		sjs_lit_name(j, l, name, sizeof(name));
		scred_literal(s, r, l->l_off, name, r->r_buf + l->l_off,
		    l->l_end - l->l_off);
	}
	/* Comments: their text read as code, for `key = "..."` in them. */
	if (j->j_is_comment)
		return;
	for (i = 0; i < r->r_len; i++) {
		if (j->j_cls[i] != C_COMMENT)
			continue;
		for (st = i; i < r->r_len && j->j_cls[i] == C_COMMENT; i++)
			;
		if (i - st > 4)
			sjs_lex_comment(s, r, st + 2, i);
	}
}

/*
 * Patterns that are credentials wherever they stand, comments and HTML
 * text included: AWS key ids, PEM private keys, JWTs, well-known secret
 * token prefixes.
 */
static void
sraw_credentials(struct sctx *s, struct region *r)
{
	static const char *const aws[] = { "AKIA", "ASIA", "AGPA", "AIDA",
	    "AROA", "ANPA", "ANVA", "AIPA", "ABIA", "ACCA" };
	static const struct {
		const char	*p;
		size_t		 min;	/* token characters after the prefix */
		const char	*what;
	} prefixes[] = {
		{ "sk_live_", 16, "Stripe secret key" },
		{ "rk_live_", 16, "Stripe restricted key" },
		{ "ghp_", 36, "GitHub token" },
		{ "gho_", 36, "GitHub token" },
		{ "ghu_", 36, "GitHub token" },
		{ "ghs_", 36, "GitHub token" },
		{ "github_pat_", 40, "GitHub token" },
		{ "glpat-", 20, "GitLab token" },
		{ "xoxb-", 20, "Slack token" },
		{ "xoxp-", 20, "Slack token" },
		{ "xoxa-", 20, "Slack token" },
		{ "hooks.slack.com/services/T", 20, "Slack webhook" },
		{ "sk-proj-", 32, "OpenAI key" },
	};
	const char	*b = r->r_buf, *e = b + r->r_len, *p, *q;
	size_t		 k, n;

	for (k = 0; k < sizeof(aws) / sizeof(aws[0]); k++)
		for (p = b; (p = memmem(p, e - p, aws[k], 4)) != NULL; p += 4) {
			for (n = 4; p + n < e && (isupper((unsigned char)p[n]) ||
			    isdigit((unsigned char)p[n])); n++)
				;
			if (n == 20 && (p == b || !isalnum((unsigned char)p[-1])) &&
			    memmem(p, 20, "EXAMPLE", 7) == NULL &&
			    !sbenign_value(p, 20))
				sfind(s, r, p - b, SCAN_CREDENTIAL, "AWS access key "
				    "id");
		}
	for (p = b; (p = memmem(p, e - p, "-----BEGIN ", 11)) != NULL; p += 11) {
		q = memmem(p, e - p > 80 ? 80 : e - p, "PRIVATE KEY-----", 16);
		if (q != NULL && memchr(p, '\n', q - p) == NULL)
			sfind(s, r, p - b, SCAN_CREDENTIAL, "PEM private key");
	}
	/* JWT: base64url header and payload that are JSON objects, signed. */
	for (p = b; (p = memmem(p, e - p, "eyJ", 3)) != NULL; p += 3) {
		size_t	 seg[3] = { 0, 0, 0 }, i = 0;
		int	 part = 0;

		if (p > b && (isalnum((unsigned char)p[-1]) || p[-1] == '_' ||
		    p[-1] == '-'))
			continue;
		for (; p + i < e && part < 3; i++) {
			unsigned char c = p[i];

			if (isalnum(c) || c == '_' || c == '-')
				seg[part]++;
			else if (c == '.' && part < 2)
				part++;
			else
				break;
		}
		if (seg[0] >= 10 && seg[1] >= 10 && seg[2] >= 16 &&
		    p + seg[0] + 1 + 3 <= e &&
		    strncmp(p + seg[0] + 1, "eyJ", 3) == 0)
			sfind(s, r, p - b, SCAN_CREDENTIAL, "JSON Web Token");
	}
	for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		size_t	 pl = strlen(prefixes[k].p);

		for (p = b; (p = memmem(p, e - p, prefixes[k].p, pl)) != NULL;
		    p += pl) {
			for (n = pl; p + n < e && (isalnum((unsigned char)p[n]) ||
			    p[n] == '_' || p[n] == '-' || p[n] == '/'); n++)
				;
			if (n - pl >= prefixes[k].min &&
			    !sbenign_value(p + pl, n - pl))
				sfind(s, r, p - b, SCAN_CREDENTIAL, "%s",
				    prefixes[k].what);
		}
	}
}

/* --- JavaScript, HTML and CSS regions -------------------------------------- */

static void
sjs_run(struct sctx *s, struct js *j)
{
	sjs_obfuscation(s, j);
	sjs_mining(s, j);
	sjs_redirects(s, j);
	sjs_loading(s, j);
	sjs_exfiltration(s, j);
	sjs_credentials(s, j);
}

/* Scan a piece of JavaScript (a file, a script element, a handler). */
static void
sscan_js(struct sctx *s, const char *buf, size_t len, int line0)
{
	struct region	 r;
	struct js	 j;

	memset(&r, 0, sizeof(r));
	memset(&j, 0, sizeof(j));
	r.r_buf = buf;
	r.r_len = len;
	r.r_line0 = line0;
	j.j_r = &r;
	if (sjs_lex(&j) == -1)
		s->s_err = 1;
	else
		sjs_run(s, &j);
	sjs_clear(&j);
	sregion_clear(&r);
}

/* The text of a comment, lexed as code for its credentials only. */
static void
sjs_lex_comment(struct sctx *s, struct region *outer, size_t from, size_t to)
{
	struct region	 r;
	struct js	 j;

	memset(&r, 0, sizeof(r));
	memset(&j, 0, sizeof(j));
	r.r_buf = outer->r_buf + from;
	r.r_len = to - from;
	r.r_line0 = sline(outer, from);
	j.j_r = &r;
	j.j_is_comment = 1;
	if (sjs_lex(&j) == -1)
		s->s_err = 1;
	else
		sjs_credentials(s, &j);
	sjs_clear(&j);
	sregion_clear(&r);
}

/*
 * CSS: comments removed and escapes decoded (a browser reads e\78pression
 * as expression), then the unsafe rules of SPEC §10.
 */
static void
sscan_css(struct sctx *s, const char *buf, size_t len, int line0)
{
	struct region	 r;
	char		*n = NULL, host[256];
	size_t		*map = NULL, i, o = 0, k;
	const char	*p;

	memset(&r, 0, sizeof(r));
	r.r_buf = buf;
	r.r_len = len;
	r.r_line0 = line0;
	if ((n = malloc(len + 1)) == NULL ||
	    (map = calloc(len + 1, sizeof(*map))) == NULL) {
		s->s_err = 1;
		goto out;
	}
	for (i = 0; i < len; i++) {
		if (buf[i] == '/' && i + 1 < len && buf[i + 1] == '*') {
			const char *e = memmem(buf + i + 2, len - i - 2, "*/", 2);

			i = e == NULL ? len : (size_t)(e - buf) + 1;
			continue;
		}
		map[o] = i;
		if (buf[i] == '\\' && i + 1 < len &&
		    isxdigit((unsigned char)buf[i + 1])) {
			unsigned long v = 0;

			for (k = i + 1; k < len && k < i + 7 &&
			    isxdigit((unsigned char)buf[k]); k++)
				v = v * 16 + (isdigit((unsigned char)buf[k]) ?
				    buf[k] - '0' : (tolower((unsigned char)buf[k]) -
				    'a' + 10));
			if (k < len && isspace((unsigned char)buf[k]))
				k++;
			n[o++] = v > 0 && v < 0x80 ? (char)tolower((int)v) : '?';
			i = k - 1;
			continue;
		}
		if (buf[i] == '\\' && i + 1 < len && buf[i + 1] != '\n') {
			n[o++] = (char)tolower((unsigned char)buf[++i]);
			continue;
		}
		n[o++] = (char)tolower((unsigned char)buf[i]);
	}
	n[o] = '\0';
	for (p = n; (p = strstr(p, "expression")) != NULL; p += 10) {
		k = sskip_ws(n, o, p - n + 10);
		if (k < o && n[k] == '(' && (p == n || !sident(p[-1]) ||
		    p[-1] == '-'))
			sfind(s, &r, map[p - n], SCAN_OBFUSCATION, "CSS "
			    "expression() runs script");
	}
	/*
	 * behavior: binds an .htc script file; scroll-behavior is another
	 * property, and IE's built-in behaviors (url(#default#VML), which
	 * Leaflet ships) are not scripts.
	 */
	for (p = n; (p = strstr(p, "behavior")) != NULL; p += 8) {
		k = sskip_ws(n, o, p - n + 8);
		if (k >= o || n[k] != ':' || (p > n && (sident(p[-1]) ||
		    p[-1] == '-')))
			continue;
		k = sskip_ws(n, o, k + 1);
		if (o - k > 4 && strncmp(n + k, "url(", 4) == 0)
			k = sskip_ws(n, o, k + 4);
		if (k < o && (n[k] == '"' || n[k] == '\''))
			k++;
		if (o - k >= 9 && strncmp(n + k, "#default#", 9) == 0)
			continue;
		sfind(s, &r, map[p - n], SCAN_OBFUSCATION, "CSS behavior: "
		    "binds script");
	}
	for (p = n; (p = strstr(p, "-moz-binding")) != NULL; p += 12)
		sfind(s, &r, map[p - n], SCAN_OBFUSCATION, "CSS -moz-binding "
		    "binds script");
	for (p = n; (p = strstr(p, "javascript:")) != NULL; p += 11)
		sfind(s, &r, map[p - n], SCAN_OBFUSCATION, "javascript: URL in "
		    "CSS");
	for (p = n; (p = strstr(p, "@import")) != NULL; p += 7) {
		k = sskip_ws(n, o, p - n + 7);
		if (o - k > 4 && strncmp(n + k, "url(", 4) == 0)
			k = sskip_ws(n, o, k + 4);
		if (k < o && (n[k] == '"' || n[k] == '\''))
			k++;
		if (suntrusted(s, n + k, o - k, host, sizeof(host)))
			sexternal(s, &r, map[p - n], "@import", host);
	}
 out:
	free(n);
	free(map);
	sregion_clear(&r);
}

/* HTML: an attribute, its value decoded (entities) into a buffer. */
struct hattr {
	const char	*ha_name;
	size_t		 ha_namelen;
	const char	*ha_raw;	/* value as written, in the file */
	size_t		 ha_rawlen;
	char		*ha_val;	/* decoded, NUL-terminated */
	size_t		 ha_vallen;
};

#define SCAN_MAXATTRS	64

/* Decode the character references a browser would in an attribute. */
static char *
sentity_decode(const char *s, size_t n, size_t *outlen)
{
	static const struct {
		const char	*e;
		char		 c;
	} named[] = { { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
	    { "quot;", '"' }, { "apos;", '\'' }, { "colon;", ':' },
	    { "sol;", '/' }, { "tab;", '\t' }, { "newline;", '\n' },
	    { "lpar;", '(' }, { "rpar;", ')' }, { "period;", '.' } };
	char	*o;
	size_t	 i, k, w = 0;

	if ((o = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '&' && i + 2 < n && s[i + 1] == '#') {
			unsigned long	 v = 0;
			int		 hx = s[i + 2] == 'x' || s[i + 2] == 'X';

			for (k = i + 2 + hx; k < n && k < i + 12 &&
			    (hx ? isxdigit((unsigned char)s[k]) :
			    isdigit((unsigned char)s[k])); k++)
				v = v * (hx ? 16 : 10) + (isdigit((unsigned char)
				    s[k]) ? s[k] - '0' :
				    tolower((unsigned char)s[k]) - 'a' + 10);
			if (k > i + 2 + hx) {
				o[w++] = v > 0 && v < 0x80 ? (char)v : '?';
				i = k < n && s[k] == ';' ? k : k - 1;
				continue;
			}
		}
		if (s[i] == '&') {
			for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
				if (n - i - 1 >= strlen(named[k].e) &&
				    strncasecmp(s + i + 1, named[k].e,
				    strlen(named[k].e)) == 0)
					break;
			if (k < sizeof(named) / sizeof(named[0])) {
				o[w++] = named[k].c;
				i += strlen(named[k].e);
				continue;
			}
		}
		o[w++] = s[i];
	}
	o[w] = '\0';
	*outlen = w;
	return o;
}

/*
 * Parse the attributes of the tag whose name ends at i; returns the
 * offset just past '>' (or len) and fills attrs.
 */
static size_t
shtml_attrs(const char *b, size_t len, size_t i, struct hattr *attrs,
    size_t *nattrs)
{
	size_t	 st;
	char	 q;

	*nattrs = 0;
	for (;;) {
		while (i < len && (isspace((unsigned char)b[i]) || b[i] == '/'))
			i++;
		if (i >= len || b[i] == '>')
			return i < len ? i + 1 : len;
		for (st = i; i < len && !isspace((unsigned char)b[i]) &&
		    b[i] != '=' && b[i] != '>' && (b[i] != '/' || i == st); i++)
			;
		if (*nattrs < SCAN_MAXATTRS) {
			attrs[*nattrs].ha_name = b + st;
			attrs[*nattrs].ha_namelen = i - st;
			attrs[*nattrs].ha_raw = b + i;
			attrs[*nattrs].ha_rawlen = 0;
		}
		i = sskip_ws(b, len, i);
		if (i < len && b[i] == '=') {
			i = sskip_ws(b, len, i + 1);
			if (i < len && (b[i] == '"' || b[i] == '\'')) {
				q = b[i++];
				for (st = i; i < len && b[i] != q; i++)
					;
				if (*nattrs < SCAN_MAXATTRS) {
					attrs[*nattrs].ha_raw = b + st;
					attrs[*nattrs].ha_rawlen = i - st;
				}
				if (i < len)
					i++;
			} else {
				for (st = i; i < len &&
				    !isspace((unsigned char)b[i]) && b[i] != '>';
				    i++)
					;
				if (*nattrs < SCAN_MAXATTRS) {
					attrs[*nattrs].ha_raw = b + st;
					attrs[*nattrs].ha_rawlen = i - st;
				}
			}
		}
		if (*nattrs < SCAN_MAXATTRS)
			(*nattrs)++;
	}
}

static const struct hattr *
shtml_attr(const struct hattr *a, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (a[i].ha_namelen == strlen(name) &&
		    strncasecmp(a[i].ha_name, name, a[i].ha_namelen) == 0)
			return &a[i];
	return NULL;
}

/* A <script type> whose content is JavaScript. */
static int
shtml_js_type(const struct hattr *t)
{
	static const char *const types[] = { "", "text/javascript", "module",
	    "application/javascript", "text/ecmascript",
	    "application/ecmascript", "text/jsx", "text/babel" };
	size_t	 i;

	if (t == NULL)
		return 1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == t->ha_vallen &&
		    strncasecmp(types[i], t->ha_val, t->ha_vallen) == 0)
			return 1;
	return 0;
}

static void
shtml_tag(struct sctx *s, struct region *r, size_t tag, const char *name,
    size_t namelen, struct hattr *a, size_t na)
{
	const char	*b = r->r_buf, *v, *u;
	const struct hattr *h;
	char		 host[256], aname[128];
	size_t		 k, vl;
	int		 line = sline(r, tag);

	for (k = 0; k < na; k++) {
		const struct hattr *x = &a[k];

		v = x->ha_val;
		vl = x->ha_vallen;
		snprintf(aname, sizeof(aname), "%.*s", (int)x->ha_namelen,
		    x->ha_name);
		/* Event handlers are JavaScript. */
		if (x->ha_namelen > 2 && strncasecmp(x->ha_name, "on", 2) == 0)
			sscan_js(s, v, vl, sline(r, x->ha_raw - b));
		else if (strcasecmp(aname, "style") == 0)
			sscan_css(s, v, vl, sline(r, x->ha_raw - b));
		else {
			/* javascript: URLs, however spelled, are code. */
			const char	*q = v;

			while (q < v + vl && (unsigned char)*q <= 0x20)
				q++;
			if (v + vl - q > 11 && strncasecmp(q, "javascript:", 11) ==
			    0)
				sscan_js(s, q + 11, v + vl - q - 11,
				    sline(r, x->ha_raw - b));
			scred_literal(s, r, x->ha_raw - b, aname, v, vl);
		}
	}
	if (namelen == 6 && strncasecmp(name, "script", 6) == 0 &&
	    (h = shtml_attr(a, na, "src")) != NULL) {
		struct region	 one;

		memset(&one, 0, sizeof(one));
		one.r_buf = h->ha_val;
		one.r_len = h->ha_vallen;
		one.r_line0 = line;
		sminer_names(s, &one, NULL);
		sregion_clear(&one);
		if (suntrusted(s, h->ha_val, h->ha_vallen, host, sizeof(host)))
			sexternal(s, r, tag, "<script src>", host);
	}
	if (namelen == 4 && strncasecmp(name, "meta", 4) == 0 &&
	    (h = shtml_attr(a, na, "http-equiv")) != NULL &&
	    h->ha_vallen == 7 && strncasecmp(h->ha_val, "refresh", 7) == 0 &&
	    (h = shtml_attr(a, na, "content")) != NULL &&
	    (u = smemcasemem(h->ha_val, h->ha_vallen, "url=", 4)) != NULL) {
		u += 4;
		if (*u == '\'' || *u == '"')
			u++;
		if (surl_host(u, h->ha_val + h->ha_vallen - u, host,
		    sizeof(host)))
			sfind(s, r, tag, SCAN_PHISHING_REDIRECT, "meta refresh "
			    "to an external URL (%s)", host);
	}
	if (namelen == 4 && strncasecmp(name, "form", 4) == 0 &&
	    ((h = shtml_attr(a, na, "action")) != NULL) &&
	    surl_host(h->ha_val, h->ha_vallen, host, sizeof(host)) &&
	    s->s_form_line == 0) {
		s->s_form_line = line;
		snprintf(s->s_form_host, sizeof(s->s_form_host), "%s", host);
	}
	if (namelen == 5 && strncasecmp(name, "input", 5) == 0 &&
	    (h = shtml_attr(a, na, "type")) != NULL && h->ha_vallen == 8 &&
	    strncasecmp(h->ha_val, "password", 8) == 0)
		s->s_password_input = 1;
}

/* The end of a raw-text element's content (before </name), or len. */
static size_t
shtml_rawtext_end(const char *b, size_t len, size_t i, const char *name)
{
	const char	*p;
	size_t		 n = strlen(name);

	for (p = b + i; (p = smemcasemem(p, b + len - p, "</", 2)) != NULL;
	    p += 2)
		if ((size_t)(b + len - p) >= n + 2 &&
		    strncasecmp(p + 2, name, n) == 0)
			return p - b;
	return len;
}

static void
sscan_html(struct sctx *s, struct region *r)
{
	const char	*b = r->r_buf;
	struct hattr	 attrs[SCAN_MAXATTRS];
	size_t		 len = r->r_len, i = 0, st, nst, na, k, end;
	const char	*e;

	while (i < len) {
		const char *lt = memchr(b + i, '<', len - i);

		if (lt == NULL)
			break;
		i = lt - b;
		if (len - i >= 4 && strncmp(b + i, "<!--", 4) == 0) {
			/* Comments: credentials only, read as code. */
			e = memmem(b + i + 4, len - i - 4, "-->", 3);
			end = e == NULL ? len : (size_t)(e - b);
			sjs_lex_comment(s, r, i + 4, end);
			i = e == NULL ? len : end + 3;
			continue;
		}
		st = i;
		i++;
		if (i >= len || !isalpha((unsigned char)b[i])) {
			continue;
		}
		for (nst = i; i < len && (isalnum((unsigned char)b[i]) ||
		    b[i] == '-'); i++)
			;
		i = shtml_attrs(b, len, i, attrs, &na);
		for (k = 0; k < na; k++) {
			attrs[k].ha_val = sentity_decode(attrs[k].ha_raw,
			    attrs[k].ha_rawlen, &attrs[k].ha_vallen);
			if (attrs[k].ha_val == NULL) {
				s->s_err = 1;
				na = k;
				break;
			}
		}
		{
			size_t nl = 0;

			while (nst + nl < len && (isalnum((unsigned char)
			    b[nst + nl]) || b[nst + nl] == '-'))
				nl++;
			shtml_tag(s, r, st, b + nst, nl, attrs, na);
			if (nl == 6 && strncasecmp(b + nst, "script", 6) == 0) {
				end = shtml_rawtext_end(b, len, i, "script");
				if (shtml_js_type(shtml_attr(attrs, na, "type")))
					sscan_js(s, b + i, end - i, sline(r, i));
				i = end;
			} else if (nl == 5 && strncasecmp(b + nst, "style", 5) ==
			    0) {
				end = shtml_rawtext_end(b, len, i, "style");
				sscan_css(s, b + i, end - i, sline(r, i));
				i = end;
			}
		}
		for (k = 0; k < na; k++)
			free(attrs[k].ha_val);
	}
	if (s->s_form_line > 0 && s->s_password_input) {
		struct region	 one;

		memset(&one, 0, sizeof(one));
		one.r_line0 = s->s_form_line;
		one.r_buf = "";
		sfind(s, &one, 0, SCAN_PHISHING_REDIRECT, "login form with a "
		    "password field posts to an external URL (%s)",
		    s->s_form_host);
	}
}

/* --- Entry points ---------------------------------------------------------- */

enum scan_kind
scan_kind_for(const char *filename)
{
	const char	*dot = strrchr(filename, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return SCAN_NONE;
	if (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0)
		return SCAN_HTML;
	if (strcasecmp(dot, ".js") == 0 || strcasecmp(dot, ".mjs") == 0 ||
	    strcasecmp(dot, ".jsx") == 0)
		return SCAN_JS;
	if (strcasecmp(dot, ".css") == 0)
		return SCAN_CSS;
	return SCAN_NONE;
}

const char *
scan_category_name(enum scan_category c)
{
	return (unsigned int)c < SCAN_NCATEGORIES ? scan_names[c] : "?";
}

static int
sfinding_cmp(const void *a, const void *b)
{
	const struct scan_finding *x = a, *y = b;

	if (x->sf_line != y->sf_line)
		return x->sf_line < y->sf_line ? -1 : 1;
	return (int)x->sf_category - (int)y->sf_category;
}

int
scan_buffer(const struct scan_policy *pol, enum scan_kind kind,
    const char *buf, size_t len, struct scan_result *res)
{
	struct sctx	 s;
	struct region	 r;
	size_t		 first = res->sr_n;

	memset(&s, 0, sizeof(s));
	memset(&r, 0, sizeof(r));
	s.s_pol = pol;
	s.s_res = res;
	r.r_buf = buf;
	r.r_len = len;
	r.r_line0 = 1;
	switch (kind) {
	case SCAN_NONE:
		break;
	case SCAN_HTML:
		sraw_credentials(&s, &r);
		sscan_html(&s, &r);
		break;
	case SCAN_JS:
		sraw_credentials(&s, &r);
		sscan_js(&s, buf, len, 1);
		break;
	case SCAN_CSS:
		/* Unsafe rules only (SPEC §10): not credentials. */
		sscan_css(&s, buf, len, 1);
		break;
	}
	sregion_clear(&r);
	if (res->sr_n > first)
		qsort(res->sr_items + first, res->sr_n - first,
		    sizeof(*res->sr_items), sfinding_cmp);
	return s.s_err ? -1 : 0;
}

void
scan_result_clear(struct scan_result *res)
{
	free(res->sr_items);
	memset(res, 0, sizeof(*res));
}
