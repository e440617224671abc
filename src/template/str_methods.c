/*
 * str_methods.c — the methods of str values that templates may call, as
 * Python 3.11 has them: indices and widths in code points, white space
 * and case by Unicode, the range arguments of find, count, index and
 * startswith.  (A Markup's methods wrap these: functions.c.)
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/* Is cp in the code points of set (a str)? */
static int
in_chars(const struct tval *set, uint32_t cp)
{
	size_t		 pos = 0;
	uint32_t	 c;

	while (utf8_next(set->u.s.p, set->u.s.len, &pos, &c))
		if (c == cp)
			return 1;
	return 0;
}

/* str.strip/lstrip/rstrip with Python's whitespace set. */
static struct tval *
str_strip(struct eval *e, const struct tval *s, const struct tval *chars,
    int left, int right)
{
	size_t		 a = 0, z = s->u.s.len, pos, prev;
	uint32_t	 cp;

	if (chars != NULL && chars->tv_type == TV_NONE)
		chars = NULL;
	if (chars != NULL && want_str(e, chars, "strip arg") == -1)
		return NULL;
	if (left) {
		pos = 0;
		while (pos < z) {
			prev = pos;
			utf8_next(s->u.s.p, z, &pos, &cp);
			if (chars ? !in_chars(chars, cp) : !cp_isspace(cp)) {
				pos = prev;
				break;
			}
		}
		a = pos;
	}
	if (right) {
		while (z > a) {
			size_t	 q = z - 1;

			while (q > a && ((unsigned char)s->u.s.p[q] & 0xc0) ==
			    0x80)
				q--;
			pos = q;
			utf8_next(s->u.s.p, z, &pos, &cp);
			if (chars ? !in_chars(chars, cp) : !cp_isspace(cp))
				break;
			z = q;
		}
	}
	return tval_str(s->u.s.p + a, z - a);
}

/* Python str.split / rsplit. */
static struct tval *
str_split(struct eval *e, const struct tval *s, const struct tval *sep,
    const struct tval *maxv, int fromright)
{
	struct tval	*l, *part;
	int64_t		 max = -1, count = 0;
	const char	*p = s->u.s.p;
	size_t		 len = s->u.s.len, i, start;
	struct tval	**tmp = NULL;
	size_t		 ntmp = 0;

	if (sep != NULL && sep->tv_type == TV_NONE)
		sep = NULL;
	if (sep != NULL && want_str(e, sep, "separator") == -1)
		return NULL;
	if (maxv != NULL && want_int(e, maxv, &max) == -1)
		return NULL;
	/* Python refuses split('') with ValueError */
	if (sep != NULL && sep->u.s.len == 0)
		return eval_error(e, "empty separator");
	if ((l = tval_list()) == NULL)
		return eval_oom(e);
	if (eval_step(e, len / 64) == -1)
		goto fail;
	if (!fromright) {
		if (sep == NULL) {
			i = 0;
			for (;;) {
				if ((i = utf8_skip_space(p, len, i, 1)) >= len)
					break;
				/* the rest keeps its trailing white space */
				if (max >= 0 && count >= max) {
					if (tval_list_append(l, tval_str(p + i,
					    len - i)) == -1)
						goto fail;
					break;
				}
				start = i;
				i = utf8_skip_space(p, len, i, 0);
				if (tval_list_append(l, tval_str(p + start,
				    i - start)) == -1)
					goto fail;
				count++;
			}
			return l;
		}
		start = 0;
		for (i = 0; i + sep->u.s.len <= len;) {
			if ((max < 0 || count < max) &&
			    memcmp(p + i, sep->u.s.p, sep->u.s.len) == 0) {
				if (tval_list_append(l, tval_str(p + start,
				    i - start)) == -1)
					goto fail;
				count++;
				i += sep->u.s.len;
				start = i;
			} else
				i++;
		}
		if (tval_list_append(l, tval_str(p + start, len - start)) == -1)
			goto fail;
		return l;
	}
	/* maxsplit counts from the right for rsplit */
	/* rsplit: collect from the right, then reverse */
	if (sep == NULL) {
		i = len;
		for (;;) {
			if ((i = utf8_skip_space_back(p, 0, i, 1)) == 0)
				break;
			if (max >= 0 && count >= max)
				part = tval_str(p, i);
			else {
				size_t	 end = i;

				i = utf8_skip_space_back(p, 0, i, 0);
				part = tval_str(p + i, end - i);
			}
			if (tval_list_append(l, part) == -1)
				goto fail;
			if (max >= 0 && count >= max)
				break;
			count++;
		}
	} else {
		size_t	 end = len;

		i = len;
		while (i >= sep->u.s.len) {
			if ((max < 0 || count < max) && memcmp(p + i -
			    sep->u.s.len, sep->u.s.p, sep->u.s.len) == 0) {
				if (tval_list_append(l, tval_str(p + i,
				    end - i)) == -1)
					goto fail;
				count++;
				i -= sep->u.s.len;
				end = i;
			} else
				i--;
		}
		if (tval_list_append(l, tval_str(p, end)) == -1)
			goto fail;
	}
	tmp = l->u.l.v;
	ntmp = l->u.l.n;
	for (i = 0; i < ntmp / 2; i++) {
		struct tval	*t = tmp[i];

		tmp[i] = tmp[ntmp - 1 - i];
		tmp[ntmp - 1 - i] = t;
	}
	return l;
fail:
	tval_unref(l);
	return e == NULL ? NULL : eval_oom(e);
}

/*
 * The code point range s[start:end] of a find, count, index or
 * startswith, with CPython's ADJUST_INDICES: end clamped to the length,
 * negative ones counted from the end; start may stay past the end.
 */
struct srange {
	int64_t	 sr_start;	/* code points */
	int64_t	 sr_end;
	size_t	 sr_lo;		/* bytes, when start <= end */
	size_t	 sr_hi;
};

static int
range_arg(struct eval *e, const struct tval *v, int64_t *out)
{
	if (v == NULL || v->tv_type == TV_NONE)
		return 0;
	if (v->tv_type == TV_INT || v->tv_type == TV_BOOL) {
		*out = v->u.i;
		return 0;
	}
	return eval_errorv(e, "slice indices must be integers or None or have "
	    "an __index__ method");
}

/* The byte offset i code points on from byte pos (at most the length) */
static size_t
cp_byte(const struct tval *s, size_t pos, int64_t i)
{
	uint32_t	 c;

	while (i-- > 0 && utf8_next(s->u.s.p, s->u.s.len, &pos, &c))
		;
	return pos;
}

static int
str_range(struct eval *e, const struct tval *s, const struct tval *sv,
    const struct tval *ev, struct srange *r)
{
	int64_t	 n = (int64_t)tval_nchars(s);

	r->sr_start = 0;
	r->sr_end = n;
	if (range_arg(e, sv, &r->sr_start) == -1 ||
	    range_arg(e, ev, &r->sr_end) == -1)
		return -1;
	if (r->sr_end > n)
		r->sr_end = n;
	else if (r->sr_end < 0 && (r->sr_end += n) < 0)
		r->sr_end = 0;
	if (r->sr_start < 0 && (r->sr_start += n) < 0)
		r->sr_start = 0;
	r->sr_lo = r->sr_hi = 0;
	if (r->sr_start <= r->sr_end) {
		r->sr_lo = cp_byte(s, 0, r->sr_start);
		r->sr_hi = cp_byte(s, r->sr_lo, r->sr_end - r->sr_start);
	}
	return 0;
}

/*
 * startswith/endswith(affix[, start[, end]]): affix a str or a tuple of
 * them; CPython's tailmatch: no match when end - len(affix) < start.
 */
static int
affix_match(struct eval *e, const struct tval *s, const struct tval *a,
    const struct srange *r, int end)
{
	size_t	 i;
	int	 m;

	if (a->tv_type == TV_TUPLE) {
		for (i = 0; i < a->u.l.n; i++)
			if ((m = affix_match(e, s, a->u.l.v[i], r, end)) != 0)
				return m;
		return 0;
	}
	if (a->tv_type != TV_STR)
		return eval_errorv(e, "%s first arg must be str or a tuple of "
		    "str, not %s", end ? "endswith" : "startswith",
		    tval_typename(a));
	/* fewer characters may still be more bytes than the range has */
	if (r->sr_end - (int64_t)tval_nchars(a) < r->sr_start ||
	    a->u.s.len > r->sr_hi - r->sr_lo)
		return 0;
	return memcmp(s->u.s.p + (end ? r->sr_hi - a->u.s.len : r->sr_lo),
	    a->u.s.p, a->u.s.len) == 0;
}

/* The code point index of the first (or last) sub in the range, or -1 */
static int64_t
str_find(const struct tval *s, const struct tval *sub, const struct srange *r,
    int last)
{
	const char	*p = s->u.s.p;
	size_t		 i, hit = SIZE_MAX, k;
	int64_t		 n;

	if (r->sr_start > r->sr_end || sub->u.s.len > r->sr_hi - r->sr_lo)
		return -1;
	for (i = r->sr_lo; i + sub->u.s.len <= r->sr_hi; i++)
		if (memcmp(p + i, sub->u.s.p, sub->u.s.len) == 0) {
			hit = i;
			if (!last)
				break;
		}
	if (hit == SIZE_MAX)
		return -1;
	for (k = r->sr_lo, n = r->sr_start; k < hit; k++)
		if (((unsigned char)p[k] & 0xc0) != 0x80)
			n++;
	return n;
}

/* Non-overlapping occurrences of sub in the range */
static int64_t
str_count(const struct tval *s, const struct tval *sub,
    const struct srange *r)
{
	size_t	 i;
	int64_t	 n = 0;

	if (r->sr_start > r->sr_end)
		return 0;
	if (sub->u.s.len == 0)
		return r->sr_end - r->sr_start + 1;
	for (i = r->sr_lo; i + sub->u.s.len <= r->sr_hi;)
		if (memcmp(s->u.s.p + i, sub->u.s.p, sub->u.s.len) == 0) {
			n++;
			i += sub->u.s.len;
		} else
			i++;
	return n;
}

/* partition/rpartition(sep): a 3-tuple around the first (last) sep */
static struct tval *
str_partition(struct eval *e, const struct tval *s, const struct tval *sep,
    int last)
{
	struct srange	 r;
	struct tval	*t;
	const char	*p = s->u.s.p;
	size_t		 at;
	int64_t		 k;

	if (want_str(e, sep, "sep") == -1)
		return NULL;
	if (sep->u.s.len == 0)
		return eval_error(e, "empty separator");
	if (str_range(e, s, NULL, NULL, &r) == -1 ||
	    (t = tval_tuple()) == NULL)
		return NULL;
	if ((k = str_find(s, sep, &r, last)) < 0) {
		if (tval_list_append(t, last ? tval_str("", 0) :
		    tval_str(p, s->u.s.len)) == -1 ||
		    tval_list_append(t, tval_str("", 0)) == -1 ||
		    tval_list_append(t, last ? tval_str(p, s->u.s.len) :
		    tval_str("", 0)) == -1)
			goto oom;
		return t;
	}
	at = cp_byte(s, 0, k);
	if (tval_list_append(t, tval_str(p, at)) == -1 ||
	    tval_list_append(t, tval_str(sep->u.s.p, sep->u.s.len)) == -1 ||
	    tval_list_append(t, tval_str(p + at + sep->u.s.len,
	    s->u.s.len - at - sep->u.s.len)) == -1)
		goto oom;
	return t;
oom:
	tval_unref(t);
	return eval_oom(e);
}

/* expandtabs(tabsize=8): columns in code points, reset by \n and \r */
static struct tval *
str_expandtabs(struct eval *e, const struct tval *s, const struct tval *tv)
{
	struct buf	 b;
	int64_t		 tab = 8, col = 0, k;
	size_t		 pos = 0, at = 0;
	uint32_t	 c;

	if (tv != NULL && want_int(e, tv, &tab) == -1)
		return NULL;
	memset(&b, 0, sizeof(b));
	b.b_max = eval_maxout(e) + 1;
	while (utf8_next(s->u.s.p, s->u.s.len, &pos, &c)) {
		if (c == '\t') {
			for (k = tab > 0 ? tab - col % tab : 0; k > 0; k--)
				buf_addc(&b, ' ');
			col += tab > 0 ? tab - col % tab : 0;
		} else {
			buf_add(&b, s->u.s.p + at, pos - at);
			col = c == '\n' || c == '\r' ? 0 : col + 1;
		}
		at = pos;
		if (b.b_over) {
			buf_free(&b);
			return eval_error(e, "string too long");
		}
	}
	return tval_str_buf(&b);
}

/* istitle: cased characters only upper after uncased, lower after cased */
static int
str_istitle(const struct tval *s)
{
	size_t		 pos = 0;
	uint32_t	 c;
	int		 prev = 0, cased = 0;

	while (utf8_next(s->u.s.p, s->u.s.len, &pos, &c)) {
		if (cp_isupper(c)) {
			if (prev)
				return 0;
			prev = cased = 1;
		} else if (cp_islower(c)) {
			if (!prev)
				return 0;
			prev = cased = 1;
		} else
			prev = 0;
	}
	return cased;
}

static int
cp_isascii(uint32_t c)
{
	return c < 0x80;
}

/* Python str.replace(old, new, count=-1). */
static struct tval *
str_replace(struct eval *e, const struct tval *s, const struct tval *old,
    const struct tval *new, const struct tval *countv)
{
	struct buf	 b;
	int64_t		 count = -1, done = 0;
	size_t		 i = 0, pos, prev;
	uint32_t	 cp;

	if (want_str(e, old, "replace() argument 1") == -1 ||
	    want_str(e, new, "replace() argument 2") == -1)
		return NULL;
	if (countv != NULL && countv->tv_type != TV_NONE &&
	    want_int(e, countv, &count) == -1)
		return NULL;
	memset(&b, 0, sizeof(b));
	/* 'abc'.replace('', '-') is '-a-b-c-' */
	if (old->u.s.len == 0) {
		/* inserts new before every character and at the end */
		pos = 0;
		for (;;) {
			if (count >= 0 && done >= count)
				break;
			buf_add(&b, new->u.s.p, new->u.s.len);
			done++;
			if (pos >= s->u.s.len)
				break;
			prev = pos;
			utf8_next(s->u.s.p, s->u.s.len, &pos, &cp);
			buf_add(&b, s->u.s.p + prev, pos - prev);
			if (b.b_len > eval_maxout(e))
				break;
		}
		if (pos < s->u.s.len)
			buf_add(&b, s->u.s.p + pos, s->u.s.len - pos);
	} else {
		while (i < s->u.s.len) {
			if ((count < 0 || done < count) &&
			    i + old->u.s.len <= s->u.s.len &&
			    memcmp(s->u.s.p + i, old->u.s.p, old->u.s.len) == 0) {
				buf_add(&b, new->u.s.p, new->u.s.len);
				i += old->u.s.len;
				done++;
				if (b.b_len > eval_maxout(e))
					break;
			} else
				buf_addc(&b, s->u.s.p[i++]);
		}
	}
	if (b.b_len > eval_maxout(e)) {
		buf_free(&b);
		return eval_error(e, "string too long (output limit %zu bytes)",
		    eval_maxout(e));
	}
	return tval_str_buf(&b);
}

/* Python str.title() / capitalize() / swapcase(). */
static struct tval *
str_casemap(const struct tval *s, int mode)
{
	struct buf	 b;
	size_t		 pos = 0, at = 0, n;
	uint32_t	 cp;
	int		 prevcased = 0, first = 1, m;
	char		 tmp[8];

	memset(&b, 0, sizeof(b));
	for (; utf8_next(s->u.s.p, s->u.s.len, &pos, &cp); at = pos) {
		switch (mode) {
		case 0:	/* title */
			m = prevcased ? 2 : 1;
			prevcased = cp_isalpha(cp);
			break;
		case 1:	/* capitalize: title case, then lower */
			m = first ? 1 : 2;
			break;
		default: /* swapcase */
			m = cp_isupper(cp) ? 2 : 0;
			break;
		}
		first = 0;
		/* lowering needs the context: a word-final sigma is ς */
		n = m == 2 ? cp_lower_at(s->u.s.p, 0, s->u.s.len, at, pos, cp,
		    tmp) : cp_case_full(cp, m, tmp);
		if (buf_add(&b, tmp, n) == -1) {
			buf_free(&b);
			return NULL;
		}
	}
	return tval_str_buf(&b);
}

static int
str_all(const struct tval *s, int (*pred)(uint32_t))
{
	size_t		 pos = 0;
	uint32_t	 cp;

	if (s->u.s.len == 0)
		return 0;
	while (utf8_next(s->u.s.p, s->u.s.len, &pos, &cp))
		if (!pred(cp))
			return 0;
	return 1;
}

static int
str_cased(const struct tval *s, int upper)
{
	size_t		 pos = 0;
	uint32_t	 cp;
	int		 any = 0;

	while (utf8_next(s->u.s.p, s->u.s.len, &pos, &cp)) {
		if (upper ? cp_islower(cp) : cp_isupper(cp))
			return 0;
		if (upper ? cp_isupper(cp) : cp_islower(cp))
			any = 1;
	}
	return any;
}

/*
 * ljust/rjust/center: CPython's centre puts the odd space on the right
 * unless the width is odd.
 */
static struct tval *
str_pad(struct eval *e, const struct tval *s, const struct tval *wv,
    const struct tval *fill, int mode)
{
	int64_t		 w = 0;
	size_t		 n = tval_nchars(s), left, right, i;
	struct buf	 b;
	const char	*fp = " ";
	size_t		 fl = 1;

	if (want_int(e, wv, &w) == -1)
		return NULL;
	if (fill != NULL) {
		if (want_str(e, fill, "fill character") == -1)
			return NULL;
		if (tval_nchars(fill) != 1)
			return eval_error(e, "The fill character must be exactly "
			    "one character long");
		fp = fill->u.s.p;
		fl = fill->u.s.len;
	}
	if (w <= (int64_t)n)
		return tval_ref((struct tval *)s);
	if ((uint64_t)w > eval_maxout(e))
		return eval_error(e, "width too large");
	left = right = (size_t)w - n;
	if (mode == 0)		/* ljust */
		left = 0;
	else if (mode == 1)	/* rjust */
		right = 0;
	else {			/* center: Python puts the odd one left */
		left = ((size_t)w - n) / 2 + (((size_t)w - n) & (size_t)w & 1);
		right = (size_t)w - n - left;
	}
	memset(&b, 0, sizeof(b));
	for (i = 0; i < left; i++)
		buf_add(&b, fp, fl);
	buf_add(&b, s->u.s.p, s->u.s.len);
	for (i = 0; i < right; i++)
		buf_add(&b, fp, fl);
	return tval_str_buf(&b);
}

/* str.join wants str items only (Python's TypeError otherwise). */
static struct tval *
str_join(struct eval *e, const struct tval *sep, struct tval *iter)
{
	struct tval	**items;
	size_t		  n, i;
	struct buf	  b;

	int		  markup = (sep->tv_flags & TVF_MARKUP) != 0;
	struct tval	 *r, *t;

	if (eval_iterate(e, iter, &items, &n) == -1)
		return NULL;
	memset(&b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		if (i)
			buf_add(&b, sep->u.s.p, sep->u.s.len);
		if (markup) {
			/* Markup.join escapes what is not Markup, any type */
			if (items[i]->tv_type == TV_STR) {
				markup_escape_into(&b, items[i]);
				continue;
			}
			if ((t = eval_str(e, items[i])) == NULL)
				goto fail;
			markup_escape_into(&b, t);
			tval_unref(t);
		} else if (items[i]->tv_type != TV_STR) {
			eval_error(e, "sequence item %zu: expected str instance, "
			    "%s found", i, tval_typename(items[i]));
			goto fail;
		} else
			buf_add(&b, items[i]->u.s.p, items[i]->u.s.len);
		if (b.b_len > eval_maxout(e)) {
			eval_error(e, "string too long");
			goto fail;
		}
	}
	items_free(items, n);
	if ((r = tval_str_buf(&b)) != NULL && markup)
		r->tv_flags |= TVF_MARKUP;
	return r;
fail:
	items_free(items, n);
	buf_free(&b);
	return NULL;
}

static int
is_linebreak(uint32_t c)
{
	return c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
	    (c >= 0x1c && c <= 0x1e) || c == 0x85 || c == 0x2028 ||
	    c == 0x2029;
}

/* str.splitlines: every Unicode line boundary, CR LF as one. */
struct tval *
str_splitlines(const struct tval *s, int keepends)
{
	struct tval	*l;
	size_t		 pos = 0, start = 0, prev, end;
	uint32_t	 cp;

	if ((l = tval_list()) == NULL)
		return NULL;
	while (pos < s->u.s.len) {
		prev = pos;
		utf8_next(s->u.s.p, s->u.s.len, &pos, &cp);
		if (!is_linebreak(cp))
			continue;
		end = prev;
		if (cp == '\r' && pos < s->u.s.len && s->u.s.p[pos] == '\n')
			pos++;
		if (tval_list_append(l, tval_str(s->u.s.p + start,
		    (keepends ? pos : end) - start)) == -1) {
			tval_unref(l);
			return NULL;
		}
		start = pos;
	}
	if (start < s->u.s.len && tval_list_append(l, tval_str(s->u.s.p + start,
	    s->u.s.len - start)) == -1) {
		tval_unref(l);
		return NULL;
	}
	return l;
}


/* A method of a str (self) by its id; NULL and an error if it fails. */
struct tval *
str_method(struct eval *e, int fid, struct tval *self, struct args *a)
{
	static const char *const p_chars[] = { "chars" };
	static const char *const p_split[] = { "sep", "maxsplit" };
	static const char *const p_one[] = { "x" };
	static const char *const p_two[] = { "x", "y" };
	static const char *const p_three[] = { "x", "y", "z" };
	static const char *const p_range[] = { "x", "start", "end" };
	static const char *const p_keep[] = { "keepends" };
	static const char *const p_tab[] = { "tabsize" };
	struct tval		*v[3], *r;
	struct srange		 rg;
	int64_t			 i = 0;
	size_t			 j;
	int			 m;
	const char		*name = builtin_name(fid);

	switch (fid) {
	case M_S_LOWER:
	case M_S_CASEFOLD:
	case M_S_UPPER:
		if (args_bind(e, a, name, NULL, 0, 0, v) == -1)
			return NULL;
		r = fid == M_S_UPPER ? str_upper(self) : fid == M_S_CASEFOLD ?
		    str_casefold(self) : str_lower(self);
		return r ? r : eval_oom(e);
	case M_S_STRIP:
	case M_S_LSTRIP:
	case M_S_RSTRIP:
		if (args_bind(e, a, name, p_chars, 1, 0, v) == -1)
			return NULL;
		return str_strip(e, self, v[0], fid != M_S_RSTRIP,
		    fid != M_S_LSTRIP);
	case M_S_SPLIT:
	case M_S_RSPLIT:
		if (args_bind(e, a, name, p_split, 2, 0, v) == -1)
			return NULL;
		return str_split(e, self, v[0], v[1], fid == M_S_RSPLIT);
	case M_S_STARTSWITH:
	case M_S_ENDSWITH:
		if (args_bind(e, a, name, p_range, 3, 1, v) == -1 ||
		    str_range(e, self, v[1], v[2], &rg) == -1)
			return NULL;
		if ((m = affix_match(e, self, v[0], &rg,
		    fid == M_S_ENDSWITH)) == -1)
			return NULL;
		return tval_bool(m);
	case M_S_REPLACE:
		if (args_bind(e, a, name, p_three, 3, 2, v) == -1)
			return NULL;
		return str_replace(e, self, v[0], v[1], v[2]);
	case M_S_TITLE:
	case M_S_CAPITALIZE:
	case M_S_SWAPCASE:
		if (args_bind(e, a, name, NULL, 0, 0, v) == -1)
			return NULL;
		r = str_casemap(self, fid == M_S_TITLE ? 0 :
		    fid == M_S_CAPITALIZE ? 1 : 2);
		return r ? r : eval_oom(e);
	case M_S_FIND:
	case M_S_RFIND:
	case M_S_INDEX:
	case M_S_RINDEX:
	case M_S_COUNT:
		if (args_bind(e, a, name, p_range, 3, 1, v) == -1 ||
		    want_str(e, v[0], "substring") == -1 ||
		    str_range(e, self, v[1], v[2], &rg) == -1)
			return NULL;
		if (fid == M_S_COUNT)
			return tval_int(str_count(self, v[0], &rg));
		i = str_find(self, v[0], &rg, fid == M_S_RFIND ||
		    fid == M_S_RINDEX);
		if (i < 0 && (fid == M_S_INDEX || fid == M_S_RINDEX))
			return eval_error(e, "substring not found");
		return tval_int(i);
	case M_S_PARTITION:
	case M_S_RPARTITION:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1)
			return NULL;
		return str_partition(e, self, v[0], fid == M_S_RPARTITION);
	case M_S_REMOVEPREFIX:
	case M_S_REMOVESUFFIX:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1 ||
		    want_str(e, v[0], "argument") == -1 ||
		    str_range(e, self, NULL, NULL, &rg) == -1)
			return NULL;
		if (!affix_match(e, self, v[0], &rg, fid == M_S_REMOVESUFFIX))
			return tval_str(self->u.s.p, self->u.s.len);
		return tval_str(self->u.s.p + (fid == M_S_REMOVEPREFIX ?
		    v[0]->u.s.len : 0), self->u.s.len - v[0]->u.s.len);
	case M_S_EXPANDTABS:
		if (args_bind(e, a, name, p_tab, 1, 0, v) == -1)
			return NULL;
		return str_expandtabs(e, self, v[0]);
	case M_S_ISASCII:
		return tval_bool(self->u.s.len == 0 || str_all(self,
		    cp_isascii));
	case M_S_ISTITLE:
		return tval_bool(str_istitle(self));
	case M_S_JOIN:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1)
			return NULL;
		return str_join(e, self, v[0]);
	case M_S_FORMAT:
		return format_str_method(e, self, a);
	case M_S_FORMAT_MAP:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1)
			return NULL;
		if (v[0]->tv_type != TV_DICT)
			return eval_error(e, "format_map() argument must be a "
			    "mapping, not %s", tval_typename(v[0]));
		{
			struct args	 none;

			memset(&none, 0, sizeof(none));
			return format_str_map(e, self, &none, v[0]);
		}
	case M_S_SPLITLINES:
		if (args_bind(e, a, name, p_keep, 1, 0, v) == -1)
			return NULL;
		r = str_splitlines(self, v[0] != NULL && tval_truth(v[0]));
		return r ? r : eval_oom(e);
	case M_S_ISDIGIT:
		return tval_bool(str_all(self, cp_isdigit));
	case M_S_ISNUMERIC:
		return tval_bool(str_all(self, cp_isnumeric));
	case M_S_ISDECIMAL:
		return tval_bool(str_all(self, cp_isdecimal));
	case M_S_ISALPHA:
		return tval_bool(str_all(self, cp_isalpha));
	case M_S_ISALNUM:
		return tval_bool(str_all(self, cp_isalnum));
	case M_S_ISSPACE:
		return tval_bool(str_all(self, cp_isspace));
	case M_S_ISLOWER:
		return tval_bool(str_cased(self, 0));
	case M_S_ISUPPER:
		return tval_bool(str_cased(self, 1));
	case M_S_ZFILL:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1 ||
		    want_int(e, v[0], &i) == -1)
			return NULL;
		if (i <= (int64_t)tval_nchars(self))
			return tval_ref(self);
		if ((uint64_t)i > eval_maxout(e))
			return eval_error(e, "width too large");
		{
			struct buf	 b;
			size_t		 pad = (size_t)i - tval_nchars(self);
			size_t		 off = 0;

			memset(&b, 0, sizeof(b));
			if (self->u.s.len && (self->u.s.p[0] == '-' ||
			    self->u.s.p[0] == '+')) {
				buf_addc(&b, self->u.s.p[0]);
				off = 1;
			}
			for (j = 0; j < pad; j++)
				buf_addc(&b, '0');
			buf_add(&b, self->u.s.p + off, self->u.s.len - off);
			return tval_str_buf(&b);
		}
	case M_S_LJUST:
	case M_S_RJUST:
	case M_S_CENTER:
		if (args_bind(e, a, name, p_two, 2, 1, v) == -1)
			return NULL;
		return str_pad(e, self, v[0], v[1], fid == M_S_LJUST ? 0 :
		    fid == M_S_RJUST ? 1 : 2);

	}
	return eval_error(e, "unknown method");
}
