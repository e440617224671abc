/*
 * pprint.c — the pprint filter: Python's pprint.pformat(width=80,
 * indent=1), dict keys sorted by pprint's own order, long containers and
 * strings wrapped at 80 columns, its repeated work charged and capped.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

#define PP_WIDTH	80
#define PP_MAXDEPTH	200

/* pprint's key order: numbers by value, strings by code point, else by
 * type name (Python's _safe_key falls back to str(type(obj))). */
static int
pp_keycmp(const void *pa, const void *pb)
{
	const struct tdict_ent	*a = *(const struct tdict_ent *const *)pa;
	const struct tdict_ent	*b = *(const struct tdict_ent *const *)pb;
	const struct tval	*x = a->de_key, *y = b->de_key;
	int			 xn, yn, c;
	double			 fx, fy;
	size_t			 n;

	xn = x->tv_type == TV_INT || x->tv_type == TV_BOOL ||
	    x->tv_type == TV_FLOAT;
	yn = y->tv_type == TV_INT || y->tv_type == TV_BOOL ||
	    y->tv_type == TV_FLOAT;
	if (xn && yn) {
		if (x->tv_type != TV_FLOAT && y->tv_type != TV_FLOAT)
			return x->u.i < y->u.i ? -1 : x->u.i > y->u.i;
		fx = x->tv_type == TV_FLOAT ? x->u.f : (double)x->u.i;
		fy = y->tv_type == TV_FLOAT ? y->u.f : (double)y->u.i;
		if (fx != fy)
			return fx < fy ? -1 : 1;
	} else if (x->tv_type == TV_STR && y->tv_type == TV_STR) {
		n = x->u.s.len < y->u.s.len ? x->u.s.len : y->u.s.len;
		if ((c = memcmp(x->u.s.p, y->u.s.p, n)) != 0)
			return c;
		if (x->u.s.len != y->u.s.len)
			return x->u.s.len < y->u.s.len ? -1 : 1;
	} else if ((c = strcmp(tval_typename(x), tval_typename(y))) != 0)
		return c;
	/* equal keys cannot be; keep the insertion order otherwise */
	return a < b ? -1 : a > b;
}

/* The dict's entries in pprint's order; NULL when out of memory. */
static const struct tdict_ent **
pp_sorted(const struct tval *d)
{
	const struct tdict_ent	**ents;
	size_t			  i;

	if ((ents = calloc(d->u.d.n + 1, sizeof(*ents))) == NULL)
		return NULL;
	for (i = 0; i < d->u.d.n; i++)
		ents[i] = &d->u.d.e[i];
	qsort(ents, d->u.d.n, sizeof(*ents), pp_keycmp);
	return ents;
}

/* Only the plain containers and str have pprint's own layout: ranges,
 * dict views, groupby tuples and Markup keep their repr. */
static int
pp_plain(const struct tval *v)
{
	switch (v->tv_type) {
	case TV_DICT:
		return 1;
	case TV_LIST:
	case TV_TUPLE:
		return v->u.l.rng == NULL && !(v->tv_flags & (TVF_VITEMS |
		    TVF_VKEYS | TVF_VVALUES | TVF_GROUP));
	case TV_STR:
		return !(v->tv_flags & TVF_MARKUP);
	default:
		return 0;
	}
}

/* pprint's one-line repr: repr() with every plain dict's keys sorted. */
static int
pp_repr(struct buf *b, const struct tval *v, int depth)
{
	const struct tdict_ent	**ents;
	size_t			  i;
	int			  rc = 0;

	if (depth > PP_MAXDEPTH || b->b_over)
		return -1;
	if (!pp_plain(v) || v->tv_type == TV_STR)
		return tval_repr_into(b, v, depth);
	if (v->tv_type == TV_DICT) {
		if ((ents = pp_sorted(v)) == NULL)
			return -1;
		buf_addc(b, '{');
		for (i = 0; rc == 0 && i < v->u.d.n; i++) {
			if (i)
				buf_adds(b, ", ");
			if ((rc = pp_repr(b, ents[i]->de_key, depth + 1)) == 0) {
				buf_adds(b, ": ");
				rc = pp_repr(b, ents[i]->de_val, depth + 1);
			}
		}
		buf_addc(b, '}');
		free(ents);
		return rc;
	}
	buf_addc(b, v->tv_type == TV_LIST ? '[' : '(');
	for (i = 0; rc == 0 && i < v->u.l.n; i++) {
		if (i)
			buf_adds(b, ", ");
		rc = pp_repr(b, v->u.l.v[i], depth + 1);
	}
	if (v->tv_type == TV_TUPLE && v->u.l.n == 1)
		buf_addc(b, ',');
	buf_addc(b, v->tv_type == TV_LIST ? ']' : ')');
	return rc;
}

static size_t
pp_nchars(const char *p, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* repr(s[from..to)) appended to b; its length in characters. */
static size_t
pp_repr_part(struct buf *b, const struct tval *s, size_t from, size_t to)
{
	struct tval	*t;
	size_t		 before = b->b_len;

	if ((t = tval_str(s->u.s.p + from, to - from)) == NULL)
		return 0;
	tval_repr_into(b, t, 0);
	tval_unref(t);
	return pp_nchars(b->b_p + before, b->b_len - before);
}

/*
 * pprint measures every nested value's repr again at each level: its work
 * is the output times the depth.  It is counted, charged as render steps
 * and capped.
 */
struct pp {
	size_t	 pp_work;	/* bytes of repr built so far */
	size_t	 pp_limit;
};

static int	pp_format(struct pp *, struct buf *, const struct tval *,
		    size_t, size_t, int);

/* pprint's _pprint_str: a long string as adjacent literals, one per line,
 * broken after white space. */
static int
pp_str(struct buf *b, const struct tval *s, size_t indent, size_t allowance,
    int level)
{
	struct buf	 chunks, tmp;
	struct tval	*lines;
	size_t		 k, pos, start, cur, nxt, maxw, maxw1, nchunk = 0;
	uint32_t	 cp;
	int		 last;

	if ((lines = str_splitlines(s, 1)) == NULL)
		return -1;
	if (level == 1) {
		indent++;
		allowance++;
	}
	maxw = maxw1 = PP_WIDTH > indent ? PP_WIDTH - indent : 0;
	memset(&chunks, 0, sizeof(chunks));
	memset(&tmp, 0, sizeof(tmp));
	/* chunks: the reprs, each ended by a NUL, written out below */
	for (k = 0; k < lines->u.l.n; k++) {
		const struct tval	*ln = lines->u.l.v[k];
		size_t			 maxw2 = maxw;

		if (k == lines->u.l.n - 1)
			maxw1 = maxw1 > allowance ? maxw1 - allowance : 0;
		tmp.b_len = 0;
		if (pp_repr_part(&tmp, ln, 0, ln->u.s.len) <= maxw1) {
			buf_add(&chunks, tmp.b_p, tmp.b_len);
			buf_addc(&chunks, '\0');
			nchunk++;
			continue;
		}
		/* re.findall(r'\S*\s*', line): non-space, then space */
		start = cur = pos = 0;
		while (pos < ln->u.s.len) {
			nxt = pos;
			while (nxt < ln->u.s.len) {
				size_t	 q = nxt;

				utf8_next(ln->u.s.p, ln->u.s.len, &q, &cp);
				if (cp_isspace(cp))
					break;
				nxt = q;
			}
			while (nxt < ln->u.s.len) {
				size_t	 q = nxt;

				utf8_next(ln->u.s.p, ln->u.s.len, &q, &cp);
				if (!cp_isspace(cp))
					break;
				nxt = q;
			}
			last = nxt >= ln->u.s.len;
			if (last && k == lines->u.l.n - 1)
				maxw2 = maxw2 > allowance ? maxw2 - allowance :
				    0;
			/* candidate = current + part */
			tmp.b_len = 0;
			if (pp_repr_part(&tmp, ln, start, nxt) > maxw2 &&
			    cur > start) {
				tmp.b_len = 0;
				pp_repr_part(&tmp, ln, start, cur);
				buf_add(&chunks, tmp.b_p, tmp.b_len);
				buf_addc(&chunks, '\0');
				nchunk++;
				start = pos;
			}
			cur = pos = nxt;
		}
		if (cur > start) {
			tmp.b_len = 0;
			pp_repr_part(&tmp, ln, start, cur);
			buf_add(&chunks, tmp.b_p, tmp.b_len);
			buf_addc(&chunks, '\0');
			nchunk++;
		}
	}
	if (nchunk == 1) {
		/* Python writes the last line's repr: the same text here */
		buf_adds(b, chunks.b_p);
	} else {
		const char	*p = chunks.b_p;

		if (level == 1)
			buf_addc(b, '(');
		for (k = 0; k < nchunk; k++) {
			if (k > 0) {
				buf_addc(b, '\n');
				for (pos = 0; pos < indent; pos++)
					buf_addc(b, ' ');
			}
			buf_adds(b, p);
			p += strlen(p) + 1;
		}
		if (level == 1)
			buf_addc(b, ')');
	}
	buf_free(&chunks);
	buf_free(&tmp);
	tval_unref(lines);
	return 0;
}

/* pprint's _format: the repr when it fits in the width, else the layout
 * of the container, one item per line. */
static int
pp_format(struct pp *pp, struct buf *b, const struct tval *v, size_t indent,
    size_t allowance, int level)
{
	struct buf		  rep;
	const struct tdict_ent	**ents;
	size_t			  i, j, n, maxw, klen;
	int			  rc = 0;

	if (level > PP_MAXDEPTH)
		return -1;
	memset(&rep, 0, sizeof(rep));
	rep.b_max = b->b_max;
	if (pp_repr(&rep, v, level) == -1 || rep.b_over ||
	    (pp->pp_work += rep.b_len) > pp->pp_limit) {
		buf_free(&rep);
		return -1;
	}
	maxw = PP_WIDTH > indent + allowance ? PP_WIDTH - indent - allowance :
	    0;
	if (pp_nchars(rep.b_p, rep.b_len) <= maxw || !pp_plain(v) ||
	    (v->tv_type == TV_STR && v->u.s.len == 0)) {
		buf_add(b, rep.b_p != NULL ? rep.b_p : "", rep.b_len);
		buf_free(&rep);
		return 0;
	}
	buf_free(&rep);
	level++;
	switch (v->tv_type) {
	case TV_STR:
		return pp_str(b, v, indent, allowance, level);
	case TV_DICT:
		/* _pprint_dict and _format_dict_items */
		if ((ents = pp_sorted(v)) == NULL)
			return -1;
		buf_addc(b, '{');
		n = v->u.d.n;
		for (i = 0; rc == 0 && i < n; i++) {
			rep.b_len = 0;
			if ((rc = pp_repr(&rep, ents[i]->de_key, level)) != 0)
				break;
			klen = pp_nchars(rep.b_p, rep.b_len);
			buf_add(b, rep.b_p, rep.b_len);
			buf_adds(b, ": ");
			rc = pp_format(pp, b, ents[i]->de_val, indent + 1 + klen + 2,
			    i == n - 1 ? allowance + 1 : 1, level);
			if (i < n - 1) {
				buf_adds(b, ",\n");
				for (j = 0; j < indent + 1; j++)
					buf_addc(b, ' ');
			}
		}
		buf_free(&rep);
		free(ents);
		buf_addc(b, '}');
		return rc;
	default:
		/* _pprint_list / _pprint_tuple and _format_items */
		buf_addc(b, v->tv_type == TV_LIST ? '[' : '(');
		n = v->u.l.n;
		klen = v->tv_type == TV_TUPLE && n == 1 ? 2 : 1;
		for (i = 0; rc == 0 && i < n; i++) {
			if (i > 0) {
				buf_adds(b, ",\n");
				for (j = 0; j < indent + 1; j++)
					buf_addc(b, ' ');
			}
			rc = pp_format(pp, b, v->u.l.v[i], indent + 1,
			    i == n - 1 ? allowance + klen : 1, level);
		}
		buf_adds(b, v->tv_type == TV_LIST ? "]" : klen == 2 ? ",)" :
		    ")");
		return rc;
	}
}

/* pprint: pprint.pformat(value), dict keys sorted, wrapped at 80 columns */
struct tval *
filter_pprint(struct eval *e, struct tval *in, struct args *a)
{
	struct buf	 b;
	struct pp	 pp;
	int		 over;

	if (in->tv_type == TV_SECRET)
		return eval_error(e, "a secret cannot be used here");
	memset(&b, 0, sizeof(b));
	b.b_max = eval_maxout(e) + 1;
	pp.pp_work = 0;
	pp.pp_limit = 16 * b.b_max;
	if (pp_format(&pp, &b, in, 0, 0, 0) == -1 || b.b_over) {
		over = b.b_over;
		buf_free(&b);
		if (pp.pp_work > pp.pp_limit)
			return eval_error(e, "value too large to pprint");
		return eval_error(e, over ? "string too long" :
		    "value nested too deeply");
	}
	if (eval_step(e, pp.pp_work / 256) == -1) {
		buf_free(&b);
		return NULL;
	}
	return tval_str_buf(&b);
}
