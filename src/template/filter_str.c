/*
 * filter_str.c — the string filters: lower, upper, capitalize, title,
 * center, indent, trim, replace, truncate, wordcount, wordwrap, format,
 * urlencode (and the keeper's tmpl_urlencode), and markupsafe's escape,
 * safe, forceescape, striptags and xmlattr.  urlencode of a secret is a
 * TSX_URLENCODE node for the keeper.
 */
#include "build.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/* lower / upper: a case mapping of str(value) */
static struct tval *
strmap(struct eval *e, struct tval *in, struct tval *(*fn)(const struct tval *))
{
	struct tval	*s, *r;

	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	r = fn(s);
	/* soft_str keeps a Markup, whose lower() and upper() are Markup */
	if (r != NULL)
		r->tv_flags |= s->tv_flags & TVF_MARKUP;
	tval_unref(s);
	return r ? r : eval_oom(e);
}

/* replace(old, new, count=None) on str(value). */
struct tval *
filter_replace(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "old", "new", "count" };
	struct tval		*v[3], *s, *r, *o, *nw;
	struct args		 sub;

	FILTER_BIND("replace", params, 2);
	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	o = eval_str(e, v[0]);
	nw = eval_str(e, v[1]);
	if (o == NULL || nw == NULL) {
		tval_unref(s);
		tval_unref(o);
		tval_unref(nw);
		return NULL;
	}
	/*
	 * Jinja2's do_replace: with autoescape off it is str(s).replace(),
	 * plain; on, a Markup old or new makes s an escaped Markup, and a
	 * Markup's replace escapes its arguments.
	 */
	if (!eval_autoescape(e) ? (s->tv_flags & TVF_MARKUP) != 0 :
	    ((o->tv_flags & TVF_MARKUP) || ((nw->tv_flags & TVF_MARKUP) &&
	    !(s->tv_flags & TVF_MARKUP)))) {
		struct buf	 b;
		struct tval	*t;

		memset(&b, 0, sizeof(b));
		if (eval_autoescape(e))
			markup_escape_into(&b, s);
		else
			buf_add(&b, s->u.s.p, s->u.s.len);
		t = eval_autoescape(e) ? markup_new(b.b_p != NULL ? b.b_p : "",
		    b.b_len) : tval_str(b.b_p, b.b_len);
		buf_free(&b);
		tval_unref(s);
		if ((s = t) == NULL) {
			tval_unref(o);
			tval_unref(nw);
			return eval_oom(e);
		}
	}
	memset(&sub, 0, sizeof(sub));
	sub.a_pos[0] = o;
	sub.a_pos[1] = nw;
	sub.a_npos = 2;
	if (v[2] != NULL && v[2]->tv_type != TV_NONE)
		sub.a_pos[sub.a_npos++] = tval_ref(v[2]);
	r = method_call(e, M_S_REPLACE, s, &sub);
	args_clear(&sub);
	tval_unref(s);
	return r;
}

struct tval *
filter_trim(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "chars" };
	struct tval		*v[1], *s, *r;
	struct args		 sub;

	FILTER_BIND("trim", params, 0);
	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	memset(&sub, 0, sizeof(sub));
	if (v[0] != NULL)
		sub.a_pos[sub.a_npos++] = tval_ref(v[0]);
	r = method_call(e, M_S_STRIP, s, &sub);
	args_clear(&sub);
	tval_unref(s);
	return r;
}

/* a str method on str(value) */
static struct tval *
strmethod(struct eval *e, struct tval *in, int id, struct args *a)
{
	struct tval	*s, *r;

	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	r = method_call(e, id, s, a);
	tval_unref(s);
	return r;
}

/* Jinja2's title: words start after runs of [-\s({\[<]. */
static int
title_sep(uint32_t c)
{
	return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' ||
	    cp_isspace(c);
}

/*
 * Jinja2's title filter (not str.title): a word starts after -, whitespace
 * or an opening bracket.
 */
struct tval *
filter_title(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	*s;
	struct buf	 b;
	size_t		 pos = 0, at = 0, lo = 0;
	uint32_t	 cp;
	int		 start = 1;
	char		 tmp[8];

	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	memset(&b, 0, sizeof(b));
	for (; utf8_next(s->u.s.p, s->u.s.len, &pos, &cp); at = pos) {
		if (title_sep(cp)) {
			start = 1;
			buf_add(&b, tmp, utf8_put(tmp, cp));
			continue;
		}
		/*
		 * Jinja2 lowers item[1:] on its own: the sigma context starts
		 * after the word's first character
		 */
		if (start) {
			buf_add(&b, tmp, cp_case_full(cp, 0, tmp));
			lo = pos;
		} else
			buf_add(&b, tmp, cp_lower_at(s->u.s.p, lo, s->u.s.len,
			    at, pos, cp, tmp));
		start = 0;
	}
	tval_unref(s);
	return tval_str_buf(&b);
}

struct tval *
filter_capitalize(struct eval *e, struct tval *in, struct args *a)
{
	return strmethod(e, in, M_S_CAPITALIZE, a);
}

struct tval *
filter_center(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "width" };
	struct tval		*v[1], *r;
	struct args		 sub;

	FILTER_BIND("center", params, 0);
	memset(&sub, 0, sizeof(sub));
	sub.a_pos[0] = v[0] != NULL ? tval_ref(v[0]) : tval_int(80);
	sub.a_npos = 1;
	r = strmethod(e, in, M_S_CENTER, &sub);
	args_clear(&sub);
	return r;
}

/*
 * indent(width=4, first=False, blank=False), including Jinja2's
 * trailing-newline quirk.
 */
struct tval *
filter_indent(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "width", "first", "blank" };
	struct tval		*v[3], *s = NULL, *lines = NULL, *ind = NULL;
	struct buf		 b, ib;
	int64_t			 w = 4, i;
	size_t			 k;
	int			 first, blank;

	FILTER_BIND("indent", params, 0);
	first = v[1] != NULL && tval_truth(v[1]);
	blank = v[2] != NULL && tval_truth(v[2]);
	memset(&b, 0, sizeof(b));
	memset(&ib, 0, sizeof(ib));
	if (v[0] != NULL && v[0]->tv_type == TV_STR)
		buf_add(&ib, v[0]->u.s.p, v[0]->u.s.len);
	else {
		if (v[0] != NULL && filter_intarg(e, v[0], "width", &w) == -1)
			return NULL;
		if (w > 10000)
			return eval_error(e, "indent width too large");
		for (i = 0; i < w; i++)
			buf_addc(&ib, ' ');
	}
	/*
	 * Jinja2's indent does s += "\n" and s.splitlines() without
	 * converting: a number, a list or None is a TypeError there.
	 */
	if (in->tv_type == TV_UNDEF) {
		eval_undefined_error(e, in);
		goto out;
	}
	if (in->tv_type != TV_STR && in->tv_type != TV_SECRET) {
		eval_error(e, "unsupported operand type(s) for +=: '%s' and "
		    "'str'", tval_typename(in));
		goto out;
	}
	if ((s = filter_soft_str(e, in)) == NULL)
		goto out;
	{
		/* s += "\n" is Jinja2's quirk for splitlines */
		struct tval	*t = tval_str(s->u.s.p, s->u.s.len);

		tval_unref(s);
		s = NULL;
		if (t == NULL)
			goto out;
		{
			struct buf	 tb;

			memset(&tb, 0, sizeof(tb));
			buf_add(&tb, t->u.s.p, t->u.s.len);
			buf_addc(&tb, '\n');
			tval_unref(t);
			s = tval_str_buf(&tb);
		}
	}
	if (s == NULL || (lines = str_splitlines(s, 0)) == NULL) {
		eval_error(e, "out of memory");
		goto out;
	}
	if (first)
		buf_add(&b, ib.b_p, ib.b_len);
	for (k = 0; k < lines->u.l.n; k++) {
		struct tval	*ln = lines->u.l.v[k];

		if (k > 0) {
			buf_addc(&b, '\n');
			if (blank || ln->u.s.len > 0)
				buf_add(&b, ib.b_p, ib.b_len);
		}
		buf_add(&b, ln->u.s.p, ln->u.s.len);
		if (b.b_len > eval_maxout(e)) {
			eval_error(e, "string too long");
			goto out;
		}
	}
	ind = tval_str_buf(&b);
out:
	buf_free(&b);
	buf_free(&ib);
	tval_unref(s);
	tval_unref(lines);
	return ind;
}

/*
 * truncate(length=255, killwords=False, end='...', leeway=5): short enough
 * strings stay whole.
 */
struct tval *
filter_truncate(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "length", "killwords", "end",
	    "leeway" };
	struct tval		*v[4], *s, *endv, *r;
	int64_t			 length = 255, leeway = 5;
	size_t			 n, cut, endn, k;
	struct buf		 b;

	FILTER_BIND("truncate", params, 0);
	if (v[0] != NULL && filter_intarg(e, v[0], "length", &length) == -1)
		return NULL;
	if (v[3] != NULL && v[3]->tv_type != TV_NONE &&
	    filter_intarg(e, v[3], "leeway", &leeway) == -1)
		return NULL;
	endv = v[2] != NULL ? tval_ref(v[2]) : tval_str("...", 3);
	if (endv == NULL || endv->tv_type != TV_STR) {
		tval_unref(endv);
		return eval_error(e, "end must be a string");
	}
	endn = tval_nchars(endv);
	if (length < (int64_t)endn) {
		tval_unref(endv);
		return eval_error(e, "expected length >= %zu, got %" PRId64, endn,
		    length);
	}
	if (leeway < 0) {
		tval_unref(endv);
		return eval_error(e, "expected leeway >= 0, got %" PRId64, leeway);
	}
	/*
	 * Jinja2 does not convert: a short container (or an undefined, of
	 * length 0) comes back unchanged, anything else without a len() or
	 * too long to slice and concatenate is a TypeError.
	 */
	if (in->tv_type != TV_STR && in->tv_type != TV_SECRET) {
		tval_unref(endv);
		n = in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ?
		    in->u.l.n : in->tv_type == TV_DICT ? in->u.d.n : 0;
		if (in->tv_type == TV_UNDEF || ((in->tv_type == TV_LIST ||
		    in->tv_type == TV_TUPLE || in->tv_type == TV_DICT) &&
		    (length > INT64_MAX - leeway ||
		    (int64_t)n <= length + leeway)))
			return tval_ref(in);
		if (in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ||
		    in->tv_type == TV_DICT)
			return eval_error(e, "truncate: a %s cannot be cut to a "
			    "string", tval_typename(in));
		return eval_error(e, "object of type '%s' has no len()",
		    tval_typename(in));
	}
	if ((s = filter_soft_str(e, in)) == NULL) {
		tval_unref(endv);
		return NULL;
	}
	n = tval_nchars(s);
	if (length > INT64_MAX - leeway || (int64_t)n <= length + leeway) {
		tval_unref(endv);
		return s;
	}
	cut = str_offset(s, (size_t)length - endn);
	/* not killwords: cut at the last space before the limit */
	if (!(v[1] != NULL && tval_truth(v[1]))) {
		/* s[:length - len(end)].rsplit(" ", 1)[0] */
		for (k = cut; k > 0; k--)
			if (s->u.s.p[k - 1] == ' ')
				break;
		if (k > 0)
			cut = k - 1;
	}
	memset(&b, 0, sizeof(b));
	buf_add(&b, s->u.s.p, cut);
	buf_add(&b, endv->u.s.p, endv->u.s.len);
	r = tval_str_buf(&b);
	tval_unref(s);
	tval_unref(endv);
	return r;
}

/* wordcount: runs of word characters, like re.findall(r'\w+'). */
struct tval *
filter_wordcount(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	*s;
	size_t		 pos = 0;
	uint32_t	 cp;
	int64_t		 n = 0;
	int		 inword = 0;

	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	while (utf8_next(s->u.s.p, s->u.s.len, &pos, &cp)) {
		int	 w = cp_isalnum(cp) || cp == '_';

		if (w && !inword)
			n++;
		inword = w;
	}
	tval_unref(s);
	return tval_int(n);
}

/* Bytes quote() leaves alone: 1 always, 2 only when "/" is safe. */
static const unsigned char url_safe[256] = {
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['/'] = 2,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

/*
 * quote_from_bytes with safe "/" (or nothing, for_qs), then %20 → + for
 * queries, by table, straight into the buffer.
 */
int
url_quote_into(struct buf *b, const char *p, size_t len, int for_qs)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 safe = for_qs ? 1 : 3, c;
	size_t			 i;
	char			*o;

	/* at most three bytes out per byte in: written in place */
	if (len > (SIZE_MAX - b->b_len) / 3 - 1 || buf_grow(b, 3 * len + 1) == -1)
		return -1;
	o = b->b_p + b->b_len;
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (url_safe[c] & safe)
			*o++ = (char)c;
		else if (c == ' ' && for_qs)
			*o++ = '+';
		else {
			o[0] = '%';
			o[1] = hex[c >> 4];
			o[2] = hex[c & 15];
			o += 3;
		}
	}
	*o = '\0';
	b->b_len = (size_t)(o - b->b_p);
	return 0;
}

/*
 * For the keeper (template.h): the buffer is sized once, so no realloc
 * leaves a copy of secret-derived bytes behind in freed memory.
 */
char *
tmpl_urlencode(const char *s, size_t len, size_t *lenp)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	if (len > SIZE_MAX / 3 - 1 || buf_grow(&b, 3 * len + 1) == -1)
		return NULL;
	b.b_p[0] = '\0';
	url_quote_into(&b, s, len, 0);
	*lenp = b.b_len;
	return b.b_p;
}

static int
url_quote_val(struct eval *e, struct buf *b, const struct tval *v, int for_qs)
{
	struct buf	 t;

	if (v->tv_type == TV_STR || v->tv_type == TV_BYTES)
		return url_quote_into(b, v->u.s.p, v->u.s.len, for_qs);
	memset(&t, 0, sizeof(t));
	if (eval_str_into(e, &t, v) == -1) {
		buf_free(&t);
		return -1;
	}
	url_quote_into(b, t.b_p ? t.b_p : "", t.b_len, for_qs);
	buf_free(&t);
	return 0;
}

/*
 * urlencode: a string is quoted; a dict or pairs become a query string. Of
 * a secret: a TSX_URLENCODE node.
 */
struct tval *
filter_urlencode(struct eval *e, struct tval *in, struct args *a)
{
	struct buf	 b;
	struct tval	**items = NULL, *p;
	size_t		 n = 0, i;

	memset(&b, 0, sizeof(b));
	if (in->tv_type == TV_SECRET) {
		struct tsecret	*ts = tsecret_dup(in->u.sec);

		if ((ts = tsecret_unary(TSX_URLENCODE, ts)) == NULL)
			return eval_oom(e);
		return tval_secret(ts);
	}
	if (in->tv_type == TV_STR || in->tv_type == TV_BYTES ||
	    !(in->tv_type == TV_LIST || in->tv_type == TV_TUPLE ||
	    in->tv_type == TV_DICT || in->tv_type == TV_UNDEF)) {
		if (url_quote_val(e, &b, in, 0) == -1) {
			buf_free(&b);
			return NULL;
		}
		return tval_str_buf(&b);
	}
	/* a dict: key=value pairs in insertion order, spaces as + */
	if (in->tv_type == TV_DICT) {
		for (i = 0; i < in->u.d.n; i++) {
			if (i)
				buf_addc(&b, '&');
			if (url_quote_val(e, &b, in->u.d.e[i].de_key, 1) == -1 ||
			    buf_addc(&b, '=') == -1 ||
			    url_quote_val(e, &b, in->u.d.e[i].de_val, 1) == -1)
				goto fail;
		}
		return tval_str_buf(&b);
	}
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	for (i = 0; i < n; i++) {
		p = items[i];
		if ((p->tv_type != TV_LIST && p->tv_type != TV_TUPLE) ||
		    p->u.l.n != 2) {
			eval_error(e, "urlencode needs a dict or a list of pairs");
			goto fail;
		}
		if (i)
			buf_addc(&b, '&');
		if (url_quote_val(e, &b, p->u.l.v[0], 1) == -1 ||
		    buf_addc(&b, '=') == -1 ||
		    url_quote_val(e, &b, p->u.l.v[1], 1) == -1)
			goto fail;
	}
	items_free(items, n);
	return tval_str_buf(&b);
fail:
	items_free(items, n);
	buf_free(&b);
	return NULL;
}

/* markupsafe's escape spelling. */
void
html_escape_into(struct buf *b, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		switch (p[i]) {
		case '&':	buf_adds(b, "&amp;"); break;
		case '<':	buf_adds(b, "&lt;"); break;
		case '>':	buf_adds(b, "&gt;"); break;
		case '"':	buf_adds(b, "&#34;"); break;
		case '\'':	buf_adds(b, "&#39;"); break;
		default:	buf_addc(b, p[i]); break;
		}
	}
}

/* The bytes of b from offset from on, escaped in place. */
int
html_escape_tail(struct buf *b, size_t from)
{
	struct buf	 t;

	if (from >= b->b_len)
		return 0;
	memset(&t, 0, sizeof(t));
	if (buf_add(&t, b->b_p + from, b->b_len - from) == -1)
		return -1;
	b->b_len = from;
	b->b_p[from] = '\0';
	html_escape_into(b, t.b_p, t.b_len);
	buf_free(&t);
	return b->b_over ? -1 : 0;
}

/* All of b, escaped in place. */
int
html_escape_buf(struct buf *b)
{
	return html_escape_tail(b, 0);
}

/*
 * A new Markup string with s's text: markupsafe's type, which escape
 * and safe return and which escapes what is added to it.
 */
struct tval *
markup_new(const char *p, size_t len)
{
	struct tval	*m;

	if ((m = tval_str(p, len)) != NULL)
		m->tv_flags |= TVF_MARKUP;
	return m;
}

/* escape/e (force 0) or forceescape (1): the result is a Markup. */
static struct tval *
escape(struct eval *e, struct tval *in, int force)
{
	struct tval	*s, *r;
	struct buf	 b;

	/* markupsafe.escape leaves a Markup alone; forceescape does not */
	if (!force && in->tv_type == TV_STR && (in->tv_flags & TVF_MARKUP))
		return tval_ref(in);
	if (in->tv_type == TV_NONE)
		return markup_new("None", 4);
	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	memset(&b, 0, sizeof(b));
	html_escape_into(&b, s->u.s.p, s->u.s.len);
	tval_unref(s);
	r = markup_new(b.b_p != NULL ? b.b_p : "", b.b_len);
	buf_free(&b);
	return r != NULL ? r : eval_oom(e);
}

/*
 * safe: Markup(value), the text unchanged.  A secret stays a secret (it
 * has no text here to mark).
 */
struct tval *
filter_safe(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	*s, *r;

	if (in->tv_type == TV_SECRET ||
	    (in->tv_type == TV_STR && (in->tv_flags & TVF_MARKUP)))
		return tval_ref(in);
	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	r = markup_new(s->u.s.p, s->u.s.len);
	tval_unref(s);
	return r != NULL ? r : eval_oom(e);
}

/* markupsafe's escape() into b: a Markup's text as is, a str escaped */
void
markup_escape_into(struct buf *b, const struct tval *s)
{
	if (s->tv_flags & TVF_MARKUP)
		buf_add(b, s->u.s.p, s->u.s.len);
	else
		html_escape_into(b, s->u.s.p, s->u.s.len);
}

/*
 * striptags: drop comments and tags, unescape entities, collapse
 * whitespace.
 */
struct tval *
filter_striptags(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	*s;
	struct buf	 b, o;
	size_t		 i, n;
	const char	*p, *q;

	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	memset(&b, 0, sizeof(b));
	p = s->u.s.p;
	n = s->u.s.len;
	/* markupsafe: first every <!--.*?-->, then every <.*?> */
	for (i = 0; i < n; i++) {
		if (p[i] == '<' && i + 3 < n && memcmp(p + i, "<!--", 4) == 0 &&
		    (q = memmem(p + i + 4, n - i - 4, "-->", 3)) != NULL) {
			i = (size_t)(q - p) + 2;
			continue;
		}
		buf_addc(&b, p[i]);
	}
	memset(&o, 0, sizeof(o));
	for (i = 0; i < b.b_len; i++) {
		if (b.b_p[i] == '<' && (q = memchr(b.b_p + i + 1, '>',
		    b.b_len - i - 1)) != NULL) {
			i = (size_t)(q - b.b_p);
			continue;
		}
		buf_addc(&o, b.b_p[i]);
	}
	buf_free(&b);
	b = o;
	/* " ".join(value.split()), then Markup.unescape(): html.unescape */
	memset(&o, 0, sizeof(o));
	for (i = 0; (i = utf8_skip_space(b.b_p, b.b_len, i, 1)) < b.b_len;) {
		size_t	 j = utf8_skip_space(b.b_p, b.b_len, i, 0);

		if (o.b_len > 0)
			buf_addc(&o, ' ');
		buf_add(&o, b.b_p + i, j - i);
		i = j;
	}
	buf_free(&b);
	memset(&b, 0, sizeof(b));
	html_unescape_into(&b, o.b_p != NULL ? o.b_p : "", o.b_len);
	buf_free(&o);
	tval_unref(s);
	return tval_str_buf(&b);
}

/* format: printf-style % with the filter's arguments. */
struct tval *
filter_format(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	*s, *args, *r;
	size_t		 i;

	if (a->a_npos && a->a_nkw)
		return eval_error(e, "can't handle positional and keyword "
		    "arguments at the same time");
	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	if (a->a_nkw) {
		args = tval_dict();
		for (i = 0; args != NULL && i < a->a_nkw; i++)
			if (tval_dict_set(args, a->a_kwname[i],
			    tval_ref(a->a_kwval[i])) == -1) {
				tval_unref(args);
				args = NULL;
			}
	} else {
		args = tval_tuple();
		for (i = 0; args != NULL && i < a->a_npos; i++)
			if (tval_list_append(args, tval_ref(a->a_pos[i])) == -1) {
				tval_unref(args);
				args = NULL;
			}
	}
	if (args == NULL) {
		tval_unref(s);
		return eval_oom(e);
	}
	r = format_percent(e, s, args);
	tval_unref(args);
	tval_unref(s);
	return r;
}

static int
buf_free_and(struct buf *b)
{
	buf_free(b);
	return 0;
}

/* xmlattr: escaped name="value" pairs, None and Undefined skipped. */
struct tval *
filter_xmlattr(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "autospace" };
	struct tval		*v[1], *k, *val, *r;
	struct buf		 b, t;
	size_t			 i;
	int			 any = 0;

	FILTER_BIND("xmlattr", params, 0);
	if (in->tv_type != TV_DICT)
		return eval_error(e, "xmlattr needs a mapping");
	memset(&b, 0, sizeof(b));
	for (i = 0; i < in->u.d.n; i++) {
		k = in->u.d.e[i].de_key;
		val = in->u.d.e[i].de_val;
		if (val->tv_type == TV_NONE || val->tv_type == TV_UNDEF)
			continue;
		memset(&t, 0, sizeof(t));
		if (eval_str_into(e, &t, k) == -1 || (t.b_p != NULL &&
		    strpbrk(t.b_p, " />=\t\n\f") != NULL)) {
			if (!buf_free_and(&t))
				eval_error(e, "Invalid character in attribute "
				    "name");
			buf_free(&b);
			return NULL;
		}
		if (any)
			buf_addc(&b, ' ');
		any = 1;
		html_escape_into(&b, t.b_p ? t.b_p : "", t.b_len);
		buf_free(&t);
		buf_adds(&b, "=\"");
		if (eval_str_into(e, &t, val) == -1) {
			buf_free(&t);
			buf_free(&b);
			return NULL;
		}
		html_escape_into(&b, t.b_p ? t.b_p : "", t.b_len);
		buf_free(&t);
		buf_addc(&b, '"');
	}
	if (any && !(v[0] != NULL && !tval_truth(v[0]))) {
		struct buf	 o;

		memset(&o, 0, sizeof(o));
		buf_addc(&o, ' ');
		buf_add(&o, b.b_p, b.b_len);
		buf_free(&b);
		b = o;
	}
	/* with autoescape on, xmlattr's result is Markup */
	if ((r = tval_str_buf(&b)) != NULL && eval_autoescape(e))
		r->tv_flags |= TVF_MARKUP;
	return r;
}

/* wordwrap, simplified: greedy filling of space separated words per line. */
/* textwrap's white space: ASCII only, as its regular expressions use */
static int
wrap_ws(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

/* textwrap's "letter", [^\d\W]: a word character that is not a digit */
static int
wrap_lt(const uint32_t *cp, size_t n, size_t i)
{
	return i < n && (cp_isalpha(cp[i]) || cp[i] == '_');
}

struct wchunk {
	size_t	 wc_s;		/* first code point */
	size_t	 wc_l;		/* length in code points */
	int	 wc_ws;		/* all white space */
};

/*
 * Split a line into textwrap's chunks: runs of white space, and words,
 * which break_on_hyphens also splits after the hyphen of "well-known"
 * (two letters before it, or letter-hyphen-letter, and letters after).
 */
static size_t
wrap_split(const uint32_t *cp, size_t n, int hyph, struct wchunk *ch)
{
	size_t	 i = 0, j, nc = 0;

	while (i < n) {
		j = i;
		if (wrap_ws(cp[i])) {
			while (j < n && wrap_ws(cp[j]))
				j++;
		} else {
			for (j = i + 1; j < n && !wrap_ws(cp[j]); j++) {
				if (!hyph || cp[j - 1] != '-' || j - 1 == i)
					continue;
				/* the hyphen at j - 1 ends the chunk? */
				if (((j >= 3 && wrap_lt(cp, n, j - 3) &&
				    wrap_lt(cp, n, j - 2)) || (j >= 4 &&
				    wrap_lt(cp, n, j - 4) && cp[j - 3] == '-' &&
				    wrap_lt(cp, n, j - 2))) && wrap_lt(cp, n, j) &&
				    (wrap_lt(cp, n, j + 1) || (j + 1 < n &&
				    cp[j + 1] == '-' && wrap_lt(cp, n, j + 2))))
					break;
			}
		}
		ch[nc].wc_s = i;
		ch[nc].wc_l = j - i;
		ch[nc++].wc_ws = wrap_ws(cp[i]);
		i = j;
	}
	return nc;
}

/*
 * One paragraph through textwrap.wrap(expand_tabs=False,
 * replace_whitespace=False): white space inside a line is kept, the
 * paragraph's leading white space too, only white space at a line
 * break is dropped.
 */
static int
wrap_para(struct buf *b, const uint32_t *cp, size_t n, size_t width,
    int breaklong, int hyph, const char *wrap)
{
	struct wchunk	*ch, *cur;
	size_t		 nc, c = 0, ncur, len, k, i, end, space, nlines = 0;
	char		 tmp[4];

	if ((ch = calloc(n + 1, sizeof(*ch))) == NULL ||
	    (cur = calloc(n + 2, sizeof(*cur))) == NULL) {
		free(ch);
		return -1;
	}
	nc = wrap_split(cp, n, hyph, ch);
	while (c < nc) {
		ncur = len = 0;
		if (ch[c].wc_ws && nlines > 0)
			c++;
		while (c < nc && len + ch[c].wc_l <= width) {
			len += ch[c].wc_l;
			cur[ncur++] = ch[c++];
		}
		if (c < nc && ch[c].wc_l > width) {
			/* _handle_long_word */
			space = width - len;
			if (breaklong) {
				end = space;
				if (hyph && ch[c].wc_l > space) {
					for (k = space; k > 0; k--)
						if (cp[ch[c].wc_s + k - 1] == '-')
							break;
					for (i = 0; k > 1 && i < k - 1; i++)
						if (cp[ch[c].wc_s + i] != '-') {
							end = k;
							break;
						}
				}
				cur[ncur] = ch[c];
				cur[ncur++].wc_l = end;
				ch[c].wc_s += end;
				ch[c].wc_l -= end;
			} else if (ncur == 0)
				cur[ncur++] = ch[c++];
		}
		if (ncur > 0 && cur[ncur - 1].wc_ws)
			ncur--;
		if (ncur == 0)
			continue;
		if (nlines++ > 0)
			buf_adds(b, wrap);
		for (k = 0; k < ncur; k++)
			for (i = 0; i < cur[k].wc_l; i++)
				buf_add(b, tmp, utf8_put(tmp,
				    cp[cur[k].wc_s + i]));
	}
	free(ch);
	free(cur);
	return 0;
}

/*
 * wordwrap(width=79, break_long_words=True, wrapstring='\n',
 * break_on_hyphens=True): each line of the input wrapped on its own with
 * Python's textwrap rules, widths in characters.
 */
struct tval *
filter_wordwrap(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "width", "break_long_words",
	    "wrapstring", "break_on_hyphens" };
	struct tval		*v[4], *s, *lines;
	int64_t			 width = 79;
	struct buf		 b;
	size_t			 k, n, pos;
	const char		*wrap = "\n";
	int			 breaklong, hyph;
	uint32_t		*cp;

	FILTER_BIND("wordwrap", params, 0);
	if (v[0] != NULL && filter_intarg(e, v[0], "width", &width) == -1)
		return NULL;
	if (width <= 0)
		return eval_error(e, "invalid width %" PRId64 " (must be > 0)",
		    width);
	breaklong = v[1] == NULL || tval_truth(v[1]);
	hyph = v[3] == NULL || tval_truth(v[3]);
	if (v[2] != NULL && v[2]->tv_type == TV_STR)
		wrap = v[2]->u.s.p;
	/* Jinja2 calls s.splitlines(): only a string has it */
	if (in->tv_type == TV_UNDEF)
		return eval_undefined_error(e, in);
	if (in->tv_type != TV_STR && in->tv_type != TV_SECRET)
		return eval_error(e, "'%s' object has no attribute "
		    "'splitlines'", tval_typename(in));
	if ((s = filter_soft_str(e, in)) == NULL)
		return NULL;
	if ((lines = str_splitlines(s, 0)) == NULL) {
		tval_unref(s);
		return eval_oom(e);
	}
	memset(&b, 0, sizeof(b));
	for (k = 0; k < lines->u.l.n; k++) {
		struct tval	*ln = lines->u.l.v[k];

		if (k)
			buf_adds(&b, wrap);
		if ((cp = calloc(ln->u.s.len + 1, sizeof(*cp))) == NULL)
			goto oom;
		for (n = 0, pos = 0; utf8_next(ln->u.s.p, ln->u.s.len, &pos,
		    &cp[n]); n++)
			;
		if (wrap_para(&b, cp, n, (size_t)width, breaklong, hyph,
		    wrap) == -1) {
			free(cp);
			goto oom;
		}
		free(cp);
		if (b.b_len > eval_maxout(e)) {
			buf_free(&b);
			tval_unref(lines);
			tval_unref(s);
			return eval_error(e, "string too long");
		}
	}
	tval_unref(lines);
	tval_unref(s);
	return tval_str_buf(&b);
oom:
	buf_free(&b);
	tval_unref(lines);
	tval_unref(s);
	return eval_oom(e);
}

struct tval *
filter_lower(struct eval *e, struct tval *in, struct args *a)
{
	return strmap(e, in, str_lower);
}

struct tval *
filter_upper(struct eval *e, struct tval *in, struct args *a)
{
	return strmap(e, in, str_upper);
}

struct tval *
filter_escape(struct eval *e, struct tval *in, struct args *a)
{
	return escape(e, in, 0);
}

struct tval *
filter_forceescape(struct eval *e, struct tval *in, struct args *a)
{
	return escape(e, in, 1);
}
