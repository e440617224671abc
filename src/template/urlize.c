/*
 * urlize.c — the urlize filter as Jinja2 3.1 has it (utils.urlize and
 * filters.do_urlize): in the escaped text, each white-space separated word
 * that looks like a link or a mail address becomes an <a> element.
 * Jinja2's regular expressions are matched by hand here, with Python's
 * Unicode \w, \d and \s, and with re.IGNORECASE's folding of [a-z] (which
 * also takes U+0130, U+0131, U+017F and U+212A).
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/* One word of the text: its code points and their byte offsets. */
struct uword {
	uint32_t	*uw_c;
	size_t		*uw_off;	/* n + 1 offsets into the text */
	size_t		 uw_n;
	size_t		 uw_cap;
};

/* trim_url_limit: none, an int, or a value Python can only compare */
struct ulimit {
	enum { UL_NONE, UL_INT, UL_FLOAT, UL_BAD } ul_kind;
	int64_t		 ul_i;
	double		 ul_f;
};

/* re.IGNORECASE's view of a letter: ASCII folded, four others too */
static uint32_t
ufold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 'a';
	if (c == 0x130 || c == 0x131)
		return 'i';
	if (c == 0x17f)
		return 's';
	if (c == 0x212a)
		return 'k';
	return c;
}

static int
is_w(uint32_t c)
{
	return c == '_' || cp_isalnum(c);
}

/* [\w%-], a domain label's character */
static int
is_label(uint32_t c)
{
	return c == '%' || c == '-' || is_w(c);
}

static int
is_az(uint32_t c)
{
	c = ufold(c);
	return c >= 'a' && c <= 'z';
}

static int
is_hex(uint32_t c)
{
	uint32_t	 f = ufold(c);

	return (f >= 'a' && f <= 'f') || cp_isdecimal(c);
}

static int
is_pathc(uint32_t c)
{
	return c == '/' || c == '?' || c == '#';
}

/* The word has ASCII text s at i, case folded or exactly. */
static int
has_at(const struct uword *w, size_t i, const char *s, int fold)
{
	for (; *s != '\0'; s++, i++)
		if (i >= w->uw_n || (fold ? ufold(w->uw_c[i]) :
		    w->uw_c[i]) != (unsigned char)*s)
			return 0;
	return 1;
}

/* Count of code points from i while ok() holds, up to end. */
static size_t
run(const struct uword *w, size_t i, size_t end, int (*ok)(uint32_t))
{
	size_t	 k;

	for (k = 0; i + k < end && ok(w->uw_c[i + k]); k++)
		;
	return k;
}

/* (?::[\d]{1,5})?(?:[/?#]\S*)?$ from i to end (a word has no space) */
static int
rest_ok(const struct uword *w, size_t i, size_t end)
{
	size_t	 k;

	if (i == end || is_pathc(w->uw_c[i]))
		return 1;
	if (w->uw_c[i] != ':')
		return 0;
	k = run(w, i + 1, end, cp_isdecimal);
	if (k < 1 || k > 5)
		return 0;
	i += 1 + k;
	return i == end || is_pathc(w->uw_c[i]);
}

/* https?:// at the start: its length, or 0 */
static size_t
scheme_len(const struct uword *w, size_t h)
{
	if (has_at(w, h, "https://", 1))
		return 8;
	if (has_at(w, h, "http://", 1))
		return 7;
	return 0;
}

/*
 * (https?://|www\.)(([\w%-]+\.)+)?([a-z]{2,63}|xn--[\w%]{2,59}): the
 * labels end at dots, so each dot is a place the top-level domain may
 * start; it can only end where its run of letters does.
 */
static int
http_named(const struct uword *w, size_t h, size_t end)
{
	size_t	 q, k;

	if ((q = scheme_len(w, h)) != 0)
		q += h;
	else if (has_at(w, h, "www.", 1))
		q = h + 4;
	else
		return 0;
	for (;;) {
		k = run(w, q, end, is_az);
		if (k >= 2 && k <= 63 && rest_ok(w, q + k, end))
			return 1;
		if (has_at(w, q, "xn--", 1)) {
			for (k = 0; q + 4 + k < end && (is_w(w->uw_c[q + 4 +
			    k]) || w->uw_c[q + 4 + k] == '%'); k++)
				;
			if (k >= 2 && k <= 59 && rest_ok(w, q + 4 + k, end))
				return 1;
		}
		k = run(w, q, end, is_label);
		if (k == 0 || q + k == end || w->uw_c[q + k] != '.')
			return 0;
		q += k + 1;
	}
}

/* ([\w%-]{2,63}\.)+(com|net|int|edu|gov|org|info|mil), no scheme */
static int
http_bare(const struct uword *w, size_t h, size_t end)
{
	static const char *const tld[] = { "com", "net", "int", "edu", "gov",
	    "org", "info", "mil" };
	size_t	 q = h, k, i;

	for (;;) {
		k = run(w, q, end, is_label);
		if (k < 2 || k > 63 || q + k == end || w->uw_c[q + k] != '.')
			return 0;
		q += k + 1;
		for (i = 0; i < sizeof(tld) / sizeof(tld[0]); i++)
			if (has_at(w, q, tld[i], 1) &&
			    rest_ok(w, q + strlen(tld[i]), end))
				return 1;
	}
}

/*
 * \[([\da-f]{0,4}:){2}([\da-f]{0,4}:?){1,6}] from i (at the '['): the
 * first two groups end at colons; the rest needs one piece per colon or
 * per four hex digits, and at most six pieces.
 */
static int
ipv6_end(const struct uword *w, size_t i, size_t end, size_t *after)
{
	size_t	 j, k, g, pieces = 0;

	if (i == end || w->uw_c[i] != '[')
		return 0;
	for (j = i + 1; j < end && (is_hex(w->uw_c[j]) || w->uw_c[j] == ':');
	    j++)
		;
	if (j == end || w->uw_c[j] != ']')
		return 0;
	i++;
	for (g = 0; g < 2; g++) {
		k = run(w, i, j, is_hex);
		if (k > 4 || i + k == j)
			return 0;
		i += k + 1;
	}
	while (i < j) {
		k = run(w, i, j, is_hex);
		pieces += (k + 3) / 4;
		i += k;
		if (i < j) {
			if (k == 0)
				pieces++;
			i++;
		}
	}
	*after = j + 1;
	return pieces <= 6;
}

/* (https?://)((\d{1,3})(\.\d{1,3}){3}|IPv6) */
static int
http_address(const struct uword *w, size_t h, size_t end)
{
	size_t	 i, k, g, after;

	if ((i = scheme_len(w, h)) == 0)
		return 0;
	i += h;
	if (ipv6_end(w, i, end, &after))
		return rest_ok(w, after, end);
	for (g = 0; g < 4; g++) {
		if (g > 0) {
			if (i == end || w->uw_c[i] != '.')
				return 0;
			i++;
		}
		k = run(w, i, end, cp_isdecimal);
		if (k < 1 || k > 3)
			return 0;
		i += k;
	}
	return rest_ok(w, i, end);
}

/* Jinja2's _http_re on the word from h to end */
static int
is_http(const struct uword *w, size_t h, size_t end)
{
	return http_named(w, h, end) || http_bare(w, h, end) ||
	    http_address(w, h, end);
}

/*
 * ^\S+@\w[\w.-]*\.\w+$: the domain cannot hold an '@', so only the last
 * one can be the split; the dot before the last part is the last dot.
 */
static int
is_email(const struct uword *w, size_t h, size_t end)
{
	size_t	 i, at = end, dot = end;

	for (i = h; i < end; i++)
		if (w->uw_c[i] == '@')
			at = i;
	if (at == end || at == h || at + 1 == end || !is_w(w->uw_c[at + 1]))
		return 0;
	for (i = at + 1; i < end; i++) {
		if (w->uw_c[i] == '.')
			dot = i;
		else if (w->uw_c[i] != '-' && !is_w(w->uw_c[i]))
			return 0;
	}
	if (dot == end || dot + 1 == end)
		return 0;
	return run(w, dot + 1, end, is_w) == end - dot - 1;
}

/* Occurrences of ASCII text s in the word from i to end (not overlapping) */
static size_t
count(const struct uword *w, size_t i, size_t end, const char *s)
{
	size_t	 n = 0, len = strlen(s);

	while (i + len <= end)
		if (has_at(w, i, s, 0)) {
			n++;
			i += len;
		} else
			i++;
	return n;
}

/* Where s first is in the word from i to end; it is there. */
static size_t
find(const struct uword *w, size_t i, size_t end, const char *s)
{
	while (!has_at(w, i, s, 0) && i < end)
		i++;
	return i;
}

/* The head ([(<]|&lt;)+ and the tail ([)>.,\n]|&gt;)+$ of a word. */
static void
split_word(const struct uword *w, size_t *hp, size_t *mp)
{
	static const char *const pair[][2] = { { "(", ")" }, { "<", ">" },
	    { "&lt;", "&gt;" } };
	size_t	 h = 0, m = w->uw_n, n = w->uw_n, i, k, sc, tc;

	for (;;) {
		if (h < n && (w->uw_c[h] == '(' || w->uw_c[h] == '<'))
			h++;
		else if (has_at(w, h, "&lt;", 0))
			h += 4;
		else
			break;
	}
	/* from the right the tokens are unambiguous: ';' ends only &gt; */
	for (;;) {
		if (m > h && strchr(")>.,\n", (int)w->uw_c[m - 1]) != NULL &&
		    w->uw_c[m - 1] != '\0')
			m--;
		else if (m >= h + 4 && has_at(w, m - 4, "&gt;", 0))
			m -= 4;
		else
			break;
	}
	/* Jinja2 moves closers back from the tail to balance the middle */
	for (i = 0; i < sizeof(pair) / sizeof(pair[0]); i++) {
		sc = count(w, h, m, pair[i][0]);
		if (sc <= count(w, h, m, pair[i][1]))
			continue;
		tc = count(w, m, n, pair[i][1]);
		for (k = 0; k < sc && k < tc; k++)
			m = find(w, m, n, pair[i][1]) + strlen(pair[i][1]);
	}
	*hp = h;
	*mp = m;
}

/* The word's text from code point a to b. */
static void
add_cps(struct buf *b, const char *text, const struct uword *w, size_t a,
    size_t z)
{
	buf_add(b, text + w->uw_off[a], w->uw_off[z] - w->uw_off[a]);
}

/* trim_url(x): x[:limit] + "..." when it is longer, Python's slicing */
static int
add_trimmed(struct eval *e, struct buf *b, const char *text,
    const struct uword *w, size_t h, size_t m, const struct ulimit *lim)
{
	int64_t	 len = (int64_t)(m - h), keep;

	switch (lim->ul_kind) {
	case UL_NONE:
		break;
	case UL_INT:
		if (len <= lim->ul_i)
			break;
		keep = lim->ul_i >= 0 ? lim->ul_i : len + lim->ul_i;
		add_cps(b, text, w, h, h + (size_t)(keep < 0 ? 0 : keep));
		buf_adds(b, "...");
		return 0;
	case UL_FLOAT:
		if ((double)len <= lim->ul_f)
			break;
		/* FALLTHROUGH */
	default:
		eval_errorv(e, "trim_url_limit must be an integer");
		return -1;
	}
	add_cps(b, text, w, h, m);
	return 0;
}

/* Decode one word of the text at *pos: white space, or none. */
static int
word_next(struct uword *w, const char *text, size_t len, size_t *pos)
{
	size_t		 p = *pos, q, cap;
	uint32_t	 c;
	int		 sp = -1;
	void		*np;

	w->uw_n = 0;
	for (;;) {
		q = p;
		if (!utf8_next(text, len, &q, &c))
			break;
		if (sp == -1)
			sp = cp_isspace(c);
		else if (cp_isspace(c) != sp)
			break;
		if (w->uw_n + 1 >= w->uw_cap) {
			cap = w->uw_cap ? 2 * w->uw_cap : 64;
			if ((np = reallocarray(w->uw_c, cap,
			    sizeof(*w->uw_c))) == NULL)
				return -1;
			w->uw_c = np;
			if ((np = reallocarray(w->uw_off, cap + 1,
			    sizeof(*w->uw_off))) == NULL)
				return -1;
			w->uw_off = np;
			w->uw_cap = cap;
		}
		w->uw_off[w->uw_n] = p;
		w->uw_c[w->uw_n++] = c;
		p = q;
	}
	if (w->uw_off != NULL)
		w->uw_off[w->uw_n] = p;
	*pos = p;
	return sp;
}

/* The parts of a link: rel and target attributes, extra schemes */
struct ulink {
	struct buf	 ul_attrs;	/* ' rel="..."' and ' target="..."' */
	struct tval	**ul_schemes;
	size_t		 ul_nschemes;
	struct ulimit	 ul_lim;
};

/* One word, linked if it is a link, into b. */
static int
urlize_word(struct eval *e, struct buf *b, const char *text,
    const struct uword *w, const struct ulink *l)
{
	size_t		 h, m, i, slen;
	const char	*mid, *s;
	size_t		 midlen;

	split_word(w, &h, &m);
	add_cps(b, text, w, 0, h);
	mid = text + w->uw_off[h];
	midlen = w->uw_off[m] - w->uw_off[h];
	if (is_http(w, h, m)) {
		buf_adds(b, "<a href=\"");
		if (!has_at(w, h, "https://", 0) && !has_at(w, h, "http://", 0))
			buf_adds(b, "https://");
		buf_add(b, mid, midlen);
		buf_addc(b, '"');
		buf_add(b, l->ul_attrs.b_p, l->ul_attrs.b_len);
		buf_addc(b, '>');
		if (add_trimmed(e, b, text, w, h, m, &l->ul_lim) == -1)
			return -1;
		buf_adds(b, "</a>");
	} else if (has_at(w, h, "mailto:", 0) && is_email(w, h + 7, m)) {
		buf_adds(b, "<a href=\"");
		buf_add(b, mid, midlen);
		buf_adds(b, "\">");
		add_cps(b, text, w, h + 7, m);
		buf_adds(b, "</a>");
	} else if (memchr(mid, '@', midlen) != NULL &&
	    !has_at(w, h, "www.", 0) && memchr(mid, ':', midlen) == NULL &&
	    is_email(w, h, m)) {
		buf_adds(b, "<a href=\"mailto:");
		buf_add(b, mid, midlen);
		buf_adds(b, "\">");
		buf_add(b, mid, midlen);
		buf_adds(b, "</a>");
	} else {
		for (i = 0; i < l->ul_nschemes; i++) {
			s = l->ul_schemes[i]->u.s.p;
			slen = l->ul_schemes[i]->u.s.len;
			if (midlen > slen && memcmp(mid, s, slen) == 0)
				break;
		}
		if (i < l->ul_nschemes) {
			buf_adds(b, "<a href=\"");
			buf_add(b, mid, midlen);
			buf_addc(b, '"');
			buf_add(b, l->ul_attrs.b_p, l->ul_attrs.b_len);
			buf_addc(b, '>');
			buf_add(b, mid, midlen);
			buf_adds(b, "</a>");
		} else
			buf_add(b, mid, midlen);
	}
	add_cps(b, text, w, m, w->uw_n);
	return 0;
}

/* ^([\w.+-]{2,}:(/){0,2})$, what an extra scheme must be */
static int
scheme_ok(const struct tval *s)
{
	size_t		 pos = 0, n = 0;
	uint32_t	 c;

	while (utf8_next(s->u.s.p, s->u.s.len, &pos, &c) && c != ':') {
		if (!is_w(c) && c != '.' && c != '+' && c != '-')
			return 0;
		n++;
	}
	if (n < 2 || c != ':')
		return 0;
	for (n = 0; pos < s->u.s.len; pos++, n++)
		if (s->u.s.p[pos] != '/')
			return 0;
	return n <= 2;
}

/* extra_schemes: what Python iterates of it, each a valid scheme */
static int
schemes_bind(struct eval *e, struct tval *v, struct ulink *l)
{
	struct tval	**items;
	size_t		 n, i, stride = 1;

	switch (v->tv_type) {
	case TV_NONE:
	case TV_UNDEF:
		return 0;
	case TV_STR:
		/* a str is its characters, each too short to be a scheme */
		if (v->u.s.len == 0)
			return 0;
		return eval_errorv(e, "'%s' is not a valid URI scheme prefix.",
		    v->u.s.p);
	case TV_LIST:
	case TV_TUPLE:
		items = v->u.l.v;
		n = v->u.l.n;
		break;
	case TV_DICT:
		items = &v->u.d.e[0].de_key;
		n = v->u.d.n;
		stride = sizeof(v->u.d.e[0]) / sizeof(items[0]);
		break;
	default:
		return eval_errorv(e, "'%s' object is not iterable",
		    tval_typename(v));
	}
	if ((l->ul_schemes = calloc(n + 1, sizeof(*l->ul_schemes))) == NULL) {
		eval_oom(e);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct tval	*s = items[i * stride];

		if (s->tv_type != TV_STR)
			return eval_errorv(e, "expected string or bytes-like "
			    "object, got '%s'", tval_typename(s));
		if (!scheme_ok(s))
			return eval_errorv(e, "'%s' is not a valid URI scheme "
			    "prefix.", s->u.s.p);
		l->ul_schemes[l->ul_nschemes++] = s;
	}
	return 0;
}

/* A word of rel, by bytes: UTF-8 sorts as Python sorts code points. */
struct span {
	const char	*sp_p;
	size_t		 sp_len;
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span	*x = a, *y = b;
	int			 c;

	c = memcmp(x->sp_p, y->sp_p, x->sp_len < y->sp_len ? x->sp_len :
	    y->sp_len);
	if (c != 0)
		return c;
	return (x->sp_len > y->sp_len) - (x->sp_len < y->sp_len);
}

/*
 * rel="...": the words of rel, "nofollow" with nofollow, and the
 * "noopener" of Jinja2's default urlize.rel policy, sorted and each once.
 */
static int
rel_bind(struct eval *e, const struct tval *rel, int nofollow, struct buf *b)
{
	struct span	*w;
	const char	*p = "";
	size_t		 len = 0, i, k = 0;

	if (rel != NULL && rel->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be used here");
	if (rel != NULL && tval_truth(rel)) {
		if (rel->tv_type != TV_STR)
			return eval_errorv(e, "'%s' object has no attribute "
			    "'split'", tval_typename(rel));
		p = rel->u.s.p;
		len = rel->u.s.len;
	}
	if ((w = calloc(len / 2 + 3, sizeof(*w))) == NULL) {
		eval_oom(e);
		return -1;
	}
	i = 0;
	while ((i = utf8_skip_space(p, len, i, 1)) < len) {
		w[k].sp_p = p + i;
		i = utf8_skip_space(p, len, i, 0);
		w[k].sp_len = (size_t)(p + i - w[k].sp_p);
		k++;
	}
	w[k].sp_p = "noopener";
	w[k++].sp_len = 8;
	if (nofollow) {
		w[k].sp_p = "nofollow";
		w[k++].sp_len = 8;
	}
	qsort(w, k, sizeof(*w), span_cmp);
	buf_adds(b, " rel=\"");
	for (i = 0; i < k; i++) {
		if (i > 0 && span_cmp(&w[i], &w[i - 1]) == 0)
			continue;
		if (i > 0)
			buf_addc(b, ' ');
		html_escape_into(b, w[i].sp_p, w[i].sp_len);
	}
	buf_addc(b, '"');
	free(w);
	return 0;
}

/* target="...": str(target) escaped, when target is true */
static int
target_bind(struct eval *e, struct tval *target, struct buf *b)
{
	struct tval	*s;

	if (target == NULL || target->tv_type == TV_NONE)
		return 0;
	if (target->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be used here");
	if (!tval_truth(target))
		return 0;
	if ((s = eval_str(e, target)) == NULL)
		return -1;
	buf_adds(b, " target=\"");
	markup_escape_into(b, s);
	buf_addc(b, '"');
	tval_unref(s);
	return 0;
}

/*
 * urlize(trim_url_limit=None, nofollow=False, target=None, rel=None,
 * extra_schemes=None); with autoescape on the result is Markup.
 */
struct tval *
filter_urlize(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "trim_url_limit", "nofollow",
	    "target", "rel", "extra_schemes" };
	struct tval		*v[5], *s = NULL, *r = NULL;
	struct ulink		 l;
	struct uword		 w;
	struct buf		 text, b;
	size_t			 pos;
	int			 sp;

	FILTER_BIND("urlize", params, 0);
	memset(&l, 0, sizeof(l));
	memset(&w, 0, sizeof(w));
	memset(&text, 0, sizeof(text));
	memset(&b, 0, sizeof(b));
	if (v[0] == NULL || v[0]->tv_type == TV_NONE)
		l.ul_lim.ul_kind = UL_NONE;
	else if (v[0]->tv_type == TV_INT || v[0]->tv_type == TV_BOOL) {
		l.ul_lim.ul_kind = UL_INT;
		l.ul_lim.ul_i = v[0]->u.i;
	} else if (v[0]->tv_type == TV_FLOAT) {
		l.ul_lim.ul_kind = UL_FLOAT;
		l.ul_lim.ul_f = v[0]->u.f;
	} else
		l.ul_lim.ul_kind = UL_BAD;
	if (rel_bind(e, v[3], v[1] != NULL && tval_truth(v[1]),
	    &l.ul_attrs) == -1 || target_bind(e, v[2], &l.ul_attrs) == -1 ||
	    (v[4] != NULL && schemes_bind(e, v[4], &l) == -1))
		goto out;
	/* markupsafe.escape(text): None is "None", a Markup stays as it is */
	if (in->tv_type == TV_NONE)
		buf_adds(&text, "None");
	else {
		if ((s = filter_soft_str(e, in)) == NULL)
			goto out;
		markup_escape_into(&text, s);
	}
	if (eval_step(e, text.b_len / 64) == -1)
		goto out;
	b.b_max = eval_maxout(e) + 1;
	for (pos = 0; pos < text.b_len;) {
		if ((sp = word_next(&w, text.b_p, text.b_len, &pos)) == -1) {
			eval_oom(e);
			goto out;
		}
		if (sp)
			add_cps(&b, text.b_p, &w, 0, w.uw_n);
		else if (urlize_word(e, &b, text.b_p, &w, &l) == -1)
			goto out;
		if (b.b_over) {
			eval_errorv(e, "string too long (output limit %zu "
			    "bytes)", eval_maxout(e));
			goto out;
		}
	}
	if ((r = tval_str_buf(&b)) == NULL)
		eval_oom(e);
	else if (eval_autoescape(e))
		r->tv_flags |= TVF_MARKUP;
out:
	tval_unref(s);
	buf_free(&b);
	buf_free(&text);
	buf_free(&l.ul_attrs);
	free(l.ul_schemes);
	free(w.uw_c);
	free(w.uw_off);
	return r;
}
