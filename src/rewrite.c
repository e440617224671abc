/*
 * rewrite.c — relative references in a widget's entry HTML become hosted
 * URLs (platform-docs §22 "HTML transformation").
 *
 * The widget's HTML is placed into a community page, where a relative
 * "img/a.png" would resolve against the page, not against the widget; so
 * the publisher makes each reference absolute.  The tokenizer only needs
 * to find tags, their attributes and the raw text of <script>, <style> and
 * comments; everything it does not rewrite is copied byte for byte.
 */
#include "build.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rewrite.h"

#define REWRITE_MAXSEGS	256

struct rbuf {
	char	*rb_p;
	size_t	 rb_len;
	size_t	 rb_cap;
	int	 rb_err;
};

static void
rb_add(struct rbuf *b, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (b->rb_err)
		return;
	if (b->rb_len + n + 1 > b->rb_cap) {
		cap = b->rb_cap ? b->rb_cap : 256;
		while (cap < b->rb_len + n + 1)
			cap *= 2;
		if ((p = realloc(b->rb_p, cap)) == NULL) {
			b->rb_err = 1;
			return;
		}
		b->rb_p = p;
		b->rb_cap = cap;
	}
	memcpy(b->rb_p + b->rb_len, s, n);
	b->rb_len += n;
	b->rb_p[b->rb_len] = '\0';
}

static void
rb_adds(struct rbuf *b, const char *s)
{
	rb_add(b, s, strlen(s));
}

char *
rewrite_url(const char *v, size_t vlen, const char *entry_dir,
    const char *base, int *escaped)
{
	struct rbuf	 out;
	const char	*segs[REWRITE_MAXSEGS], *p, *e, *suffix;
	size_t		 lens[REWRITE_MAXSEGS], nseg = 0, i, k;
	int		 raw[REWRITE_MAXSEGS];	/* a file name, not URL text */
	int		 pass;

	*escaped = 0;
	while (vlen > 0 && isspace((unsigned char)*v))
		v++, vlen--;
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (vlen == 0 || v[0] == '#' || v[0] == '?')
		return NULL;
	if (vlen >= 2 && ((v[0] == '/' && v[1] == '/') || (v[0] == '{' &&
	    v[1] == '{') || (v[0] == '$' && v[1] == '{') || (v[0] == '<' &&
	    v[1] == '%')))
		return NULL;
	/* A scheme (https:, data:, mailto:, javascript:) stays absolute. */
	for (i = 0; i < vlen && (isalnum((unsigned char)v[i]) || v[i] == '+' ||
	    v[i] == '-' || v[i] == '.'); i++)
		;
	if (i > 0 && i < vlen && v[i] == ':' && isalpha((unsigned char)v[0]))
		return NULL;
	suffix = v + vlen;
	for (p = v; p < v + vlen; p++)
		if (*p == '?' || *p == '#') {
			suffix = p;
			break;
		}
	/* Segments: the entry's directory unless the path starts with /. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0 && v[0] == '/')
			continue;
		p = pass == 0 ? entry_dir : v;
		e = pass == 0 ? entry_dir + strlen(entry_dir) : suffix;
		while (p < e) {
			const char *s = p;

			while (p < e && *p != '/' && *p != '\\')
				p++;
			k = p - s;
			if (p < e)
				p++;
			if (k == 0 || (k == 1 && s[0] == '.'))
				continue;
			if (k == 2 && s[0] == '.' && s[1] == '.') {
				if (nseg == 0) {
					*escaped = 1;
					return NULL;
				}
				nseg--;
				continue;
			}
			if (nseg == REWRITE_MAXSEGS)
				return NULL;
			raw[nseg] = pass == 0;
			segs[nseg] = s;
			lens[nseg++] = k;
		}
	}
	memset(&out, 0, sizeof(out));
	rb_adds(&out, base);
	for (i = 0; i < nseg; i++) {
		rb_add(&out, "/", 1);
		/*
		 * Quotes and blanks would end the attribute or the srcset; in
		 * a directory's name (raw), ? # and % would also be read as
		 * URL syntax.
		 */
		for (k = 0; k < lens[i]; k++) {
			unsigned char c = segs[i][k];

			if (c <= 0x20 || c == '"' || c == '\'' || c == '<' ||
			    c == '>' || c == '`' || c == ',' || c == 0x7f ||
			    (raw[i] && (c == '?' || c == '#' || c == '%' ||
			    c >= 0x80))) {
				char	 hx[4];

				hx[0] = '%';
				hx[1] = "0123456789ABCDEF"[c >> 4];
				hx[2] = "0123456789ABCDEF"[c & 15];
				rb_add(&out, hx, 3);
			} else
				rb_add(&out, (const char *)&segs[i][k], 1);
		}
	}
	if (nseg == 0)
		rb_add(&out, "/", 1);
	rb_add(&out, suffix, v + vlen - suffix);
	if (out.rb_err) {
		free(out.rb_p);
		return NULL;
	}
	return out.rb_p;
}

/* Emit one reference, rewritten when it is relative. */
static void
rw_ref(struct rbuf *b, const char *v, size_t n, const char *dir,
    const char *base, struct rewrite_stats *st)
{
	char	*u;
	int	 esc;

	if ((u = rewrite_url(v, n, dir, base, &esc)) == NULL) {
		if (esc)
			st->rs_escaped++;
		rb_add(b, v, n);
		return;
	}
	st->rs_rewritten++;
	rb_adds(b, u);
	free(u);
}

/* A srcset: "url [descriptor], url [descriptor], ...". */
static void
rw_srcset(struct rbuf *b, const char *v, size_t n, const char *dir,
    const char *base, struct rewrite_stats *st)
{
	size_t	 i = 0, s;

	while (i < n) {
		for (s = i; i < n && (isspace((unsigned char)v[i]) || v[i] == ',');
		    i++)
			;
		rb_add(b, v + s, i - s);
		for (s = i; i < n && !isspace((unsigned char)v[i]); i++)
			;
		/* Trailing commas belong to the list, not the URL. */
		while (i > s && v[i - 1] == ',')
			i--;
		rw_ref(b, v + s, i - s, dir, base, st);
		for (s = i; i < n && v[i] != ','; i++)
			;
		rb_add(b, v + s, i - s);
	}
}

/* CSS text: every url(...) reference. */
static void
rw_css(struct rbuf *b, const char *v, size_t n, const char *dir,
    const char *base, struct rewrite_stats *st)
{
	size_t	 i = 0, s, e;
	char	 q;

	while (i < n) {
		const char *u = NULL;

		for (s = i; i + 4 <= n; i++)
			if (strncasecmp(v + i, "url(", 4) == 0) {
				u = v + i;
				break;
			}
		if (u == NULL) {
			rb_add(b, v + s, n - s);
			return;
		}
		i += 4;
		while (i < n && isspace((unsigned char)v[i]))
			i++;
		q = i < n && (v[i] == '"' || v[i] == '\'') ? v[i] : 0;
		if (q)
			i++;
		rb_add(b, v + s, i - s);
		for (e = i; e < n && (q ? v[e] != q : (v[e] != ')' &&
		    !isspace((unsigned char)v[e]))); e++)
			;
		rw_ref(b, v + i, e - i, dir, base, st);
		i = e;
	}
}

static int
rw_is(const char *name, size_t n, const char *what)
{
	return strlen(what) == n && strncasecmp(name, what, n) == 0;
}

/* End of raw text (a <script> or <style> body): before </name, or len. */
static size_t
rw_rawtext_end(const char *b, size_t len, size_t i, const char *name)
{
	size_t	 n = strlen(name);

	for (; i + 2 + n <= len; i++)
		if (b[i] == '<' && b[i + 1] == '/' &&
		    strncasecmp(b + i + 2, name, n) == 0)
			return i;
	return len;
}

int
rewrite_html(const char *b, size_t len, const char *dir, const char *base,
    char **outp, size_t *outlen, struct rewrite_stats *st)
{
	struct rbuf	 out;
	size_t		 i = 0, s, ns, nl, an, al, vs, ve, end;
	const char	*e;
	char		 q;

	memset(&out, 0, sizeof(out));
	memset(st, 0, sizeof(*st));
	while (i < len) {
		const char *lt = memchr(b + i, '<', len - i);

		s = i;
		if (lt == NULL) {
			rb_add(&out, b + i, len - i);
			break;
		}
		i = lt - b;
		rb_add(&out, b + s, i - s);
		if (len - i >= 4 && strncmp(b + i, "<!--", 4) == 0) {
			e = memmem(b + i + 4, len - i - 4, "-->", 3);
			end = e == NULL ? len : (size_t)(e - b) + 3;
			rb_add(&out, b + i, end - i);
			i = end;
			continue;
		}
		if (i + 1 >= len || !isalpha((unsigned char)b[i + 1])) {
			rb_add(&out, b + i, 1);
			i++;
			continue;
		}
		/* A start tag: copy it, attribute by attribute. */
		ns = i + 1;
		for (i = ns; i < len && (isalnum((unsigned char)b[i]) ||
		    b[i] == '-'); i++)
			;
		nl = i - ns;
		rb_add(&out, b + ns - 1, i - ns + 1);
		for (;;) {
			for (s = i; i < len && (isspace((unsigned char)b[i]) ||
			    b[i] == '/'); i++)
				;
			rb_add(&out, b + s, i - s);
			if (i >= len)
				break;
			if (b[i] == '>') {
				rb_add(&out, ">", 1);
				i++;
				break;
			}
			for (an = i; i < len && !isspace((unsigned char)b[i]) &&
			    b[i] != '=' && b[i] != '>' && (b[i] != '/' || i == an);
			    i++)
				;
			al = i - an;
			for (s = i; i < len && isspace((unsigned char)b[i]); i++)
				;
			if (i >= len || b[i] != '=') {
				rb_add(&out, b + an, i - an);
				continue;
			}
			for (i++; i < len && isspace((unsigned char)b[i]); i++)
				;
			rb_add(&out, b + an, i - an);
			q = i < len && (b[i] == '"' || b[i] == '\'') ? b[i] : 0;
			vs = q ? i + 1 : i;
			for (ve = vs; ve < len && (q ? b[ve] != q :
			    (!isspace((unsigned char)b[ve]) && b[ve] != '>')); ve++)
				;
			if (q)
				rb_add(&out, &q, 1);
			if (rw_is(b + an, al, "src") || rw_is(b + an, al, "href") ||
			    rw_is(b + an, al, "data") || rw_is(b + an, al, "poster"))
				rw_ref(&out, b + vs, ve - vs, dir, base, st);
			else if (rw_is(b + an, al, "srcset"))
				rw_srcset(&out, b + vs, ve - vs, dir, base, st);
			else if (rw_is(b + an, al, "style"))
				rw_css(&out, b + vs, ve - vs, dir, base, st);
			else
				rb_add(&out, b + vs, ve - vs);
			i = ve;
			if (q && i < len) {
				rb_add(&out, &q, 1);
				i++;
			}
		}
		/* Raw text: a script is copied, a style block rewritten. */
		if (rw_is(b + ns, nl, "script")) {
			end = rw_rawtext_end(b, len, i, "script");
			rb_add(&out, b + i, end - i);
			i = end;
		} else if (rw_is(b + ns, nl, "style")) {
			end = rw_rawtext_end(b, len, i, "style");
			rw_css(&out, b + i, end - i, dir, base, st);
			i = end;
		}
	}
	if (out.rb_p == NULL && !out.rb_err)
		rb_add(&out, "", 0);
	if (out.rb_err) {
		free(out.rb_p);
		return -1;
	}
	*outp = out.rb_p;
	*outlen = out.rb_len;
	return 0;
}
