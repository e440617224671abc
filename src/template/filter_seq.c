/*
 * filter_seq.c — the filters over sequences and mappings: length, list,
 * first, last, reverse, sort, dictsort, unique, min, max, sum, groupby,
 * map, select, reject, selectattr, rejectattr, batch, slice, join, attr
 * and items, with Jinja2's attribute paths ("a.b.0") and Python's stable
 * sort.
 */
#include "build.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/*
 * ignore_case(): the sort and group key of a string is its lower case.  An
 * ASCII string without capitals is its own lower case; for sort, groupby
 * and dictsort (LK_FOLD) any ASCII string is kept, as their comparisons
 * fold ASCII case (fold_cmp), and only the others are lowered.
 */
#define LK_NONE		0
#define LK_LOWER	1
#define LK_FOLD		2

static struct tval *
lower_key(struct tval *v, int mode)
{
	struct tval	*r;
	size_t		 i;

	if (v->tv_type != TV_STR || mode == LK_NONE)
		return v;
	if (tval_is_ascii(v)) {
		if (mode == LK_FOLD)
			return v;
		for (i = 0; i < v->u.s.len; i++)
			if (v->u.s.p[i] >= 'A' && v->u.s.p[i] <= 'Z')
				break;
		if (i == v->u.s.len)
			return v;
	}
	r = str_lower(v);
	tval_unref(v);
	return r;
}

/*
 * Jinja2's make_attrgetter, decorated once: "a.b.0" is split into parts
 * (digits as ints), each a name the template interned where it can be,
 * and every item then walks them with getitem.  A part that is an
 * interned name finds its slot in a dict by one pointer comparison, as
 * the attribute nodes do; a constant path is split once, when the
 * template is compiled (apath_compile).
 */
static void
apath_free(struct apath *ap)
{
	size_t	 i;

	for (i = 0; i < ap->ap_n; i++)
		if (ap->ap_seg[i].as_own)
			tval_unref(ap->ap_seg[i].as_key);
	if (ap->ap_seg != ap->ap_local)
		free(ap->ap_seg);
	ap->ap_n = 0;
	ap->ap_seg = ap->ap_local;
}

/*
 * One part of a path as a key: an int for digits, else the name the
 * template interned (ct: compiling, intern it now) or a new str.  A new
 * reference, or NULL when out of memory.
 */
static struct tval *
apath_key(struct tmpl *ct, const struct tmpl *t, const char *p, size_t len)
{
	struct tval	*k;
	size_t		 i;
	int		 digits = len > 0;

	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)p[i]))
			digits = 0;
	if (digits) {
		k = tval_int(strtoll(p, NULL, 10));
		return ct != NULL ? tval_immortal(ct, k) : k;
	}
	if (ct != NULL)
		return tmpl_intern(ct, p, len);
	if ((k = tmpl_name_find(t, p, len, tmpl_hash(p, len))) == NULL)
		return tval_str(p, len);
	return tval_ref(k);
}

/* The parts of s into ap (whose ap_seg has room for them): 0 or -1. */
static int
apath_split(struct tmpl *ct, const struct tmpl *t, struct apath *ap,
    const struct tval *s)
{
	const char	*p = s->u.s.p, *end = p + s->u.s.len, *dot;
	struct tval	*k;

	ap->ap_names = 1;
	for (;;) {
		if ((dot = memchr(p, '.', (size_t)(end - p))) == NULL)
			dot = end;
		if ((k = apath_key(ct, t, p, (size_t)(dot - p))) == NULL)
			return -1;
		if (k->tv_type != TV_STR)
			ap->ap_names = 0;
		ap->ap_seg[ap->ap_n].as_key = k;
		ap->ap_seg[ap->ap_n].as_slot = 0;
		ap->ap_seg[ap->ap_n++].as_own = ct == NULL;
		if (dot == end)
			return 0;
		p = dot + 1;
	}
}

static size_t
apath_parts(const struct tval *s)
{
	size_t	 n, i;

	for (n = 1, i = 0; i < s->u.s.len; i++)
		n += s->u.s.p[i] == '.';
	return n;
}

/*
 * The path of a string constant, split while the template compiles, in
 * its arena: keys interned (or immortal ints), owned by the template.
 * NULL when out of memory.
 */
struct apath *
apath_compile(struct tmpl *t, const struct tval *src)
{
	struct apath	*ap;
	size_t		 n = apath_parts(src);

	if ((ap = arena_alloc(&t->t_arena, sizeof(*ap))) == NULL)
		return NULL;
	memset(ap, 0, sizeof(*ap));
	ap->ap_seg = ap->ap_local;
	if (n > APATH_INLINE && (ap->ap_seg = arena_alloc(&t->t_arena,
	    n * sizeof(*ap->ap_seg))) == NULL)
		return NULL;
	if (apath_split(t, NULL, ap, src) == -1)
		return NULL;
	ap->ap_src = src;
	return ap;
}

/* No attribute (None or absent) is the item itself: no parts. */
static int
apath_init(struct eval *e, struct apath *ap, const struct tval *attr)
{
	size_t		 n;

	/* not the whole struct: each part sets its own fields */
	ap->ap_n = 0;
	ap->ap_names = 1;
	ap->ap_seg = ap->ap_local;
	if (attr == NULL || attr->tv_type == TV_NONE)
		return 0;
	if (attr->tv_type == TV_INT) {
		ap->ap_names = 0;
		ap->ap_seg[0].as_key = (struct tval *)attr;
		ap->ap_seg[0].as_own = 0;
		ap->ap_seg[0].as_slot = 0;
		ap->ap_n = 1;
		return 0;
	}
	if (attr->tv_type != TV_STR)
		return eval_errorv(e, "attribute must be a string or integer");
	n = apath_parts(attr);
	if (n > APATH_INLINE && (ap->ap_seg = calloc(n,
	    sizeof(*ap->ap_seg))) == NULL) {
		ap->ap_seg = ap->ap_local;
		return eval_errorv(e, "out of memory");
	}
	if (apath_split(NULL, eval_tmpl(e), ap, attr) == -1) {
		apath_free(ap);
		return eval_errorv(e, "out of memory");
	}
	return 0;
}

/*
 * The path of attr for this call: the one compile.c split when attr is
 * the constant of the filter's node, else split into *local now.  Give
 * it back with apath_done.
 */
static struct apath *
apath_get_path(struct eval *e, struct apath *local, const struct tval *attr)
{
	const struct tnode	*n = eval_node(e);

	if (attr != NULL && n != NULL && n->n_apath != NULL &&
	    n->n_apath->ap_src == attr)
		return n->n_apath;
	if (apath_init(e, local, attr) == -1)
		return NULL;
	return local;
}

static void
apath_done(struct apath *ap, struct apath *local)
{
	if (ap == local)
		apath_free(local);
}

/*
 * The commonest case: every part a name in the slot of a dict where it
 * was found last (one key layout for all the items).  No call, so the
 * callers' loops stay light.  Borrowed, or NULL: ask apath_peek.
 */
static inline struct tval *
apath_slots(const struct apath *ap, struct tval *cur)
{
	const struct apath_seg	*sg = ap->ap_seg, *end = sg + ap->ap_n;
	const struct tdict_ent	*de;

	if (!ap->ap_names)
		return NULL;
	for (; sg < end; sg++) {
		if (cur->tv_type != TV_DICT || sg->as_slot >= cur->u.d.n)
			return NULL;
		de = &cur->u.d.e[sg->as_slot];
		if (de->de_key != sg->as_key)
			return NULL;
		cur = de->de_val;
	}
	return cur;
}

/*
 * The common case: every part a name found in a dict (looked for where
 * it was found last first).  Borrowed, or NULL: walk it the long way.
 */
static inline struct tval *
apath_peek(struct apath *ap, struct tval *cur)
{
	struct apath_seg	*sg = ap->ap_seg, *end = sg + ap->ap_n;

	if (!ap->ap_names)
		return NULL;
	for (; sg < end; sg++) {
		if (cur->tv_type != TV_DICT || (cur = dict_get_key(cur,
		    sg->as_key, &sg->as_slot)) == NULL)
			return NULL;
	}
	return cur;
}

/*
 * apath_get's walk through getitem, for what apath_peek did not find.
 * As Jinja2 3.1.2's make_attrgetter, a missing part becomes dflt (and
 * the walk goes on from it).
 */
static struct tval *
apath_walk(struct eval *e, struct apath *ap, struct tval *item,
    struct tval *dflt)
{
	struct tval		*cur = tval_ref(item), *next;
	struct apath_seg	*sg;
	size_t			 i;

	for (i = 0; i < ap->ap_n; i++) {
		sg = &ap->ap_seg[i];
		if (cur->tv_type == TV_DICT && sg->as_key->tv_type == TV_STR &&
		    (next = dict_get_key(cur, sg->as_key, &sg->as_slot)) !=
		    NULL)
			tval_ref(next);
		else if ((next = eval_getitem(e, cur, sg->as_key)) == NULL) {
			tval_unref(cur);
			return NULL;
		}
		tval_unref(cur);
		cur = next;
		if (cur->tv_type == TV_UNDEF && dflt != NULL) {
			tval_unref(cur);
			cur = tval_ref(dflt);
		}
	}
	return cur;
}

/*
 * The attribute of one item: a new reference.  A missing part becomes
 * dflt when given (map's and groupby's default=; None is none, as
 * Jinja2 tests `default is not None`); lower is ignore_case's LK_ mode.
 */
static struct tval *
apath_get_slow(struct eval *e, struct apath *ap, struct tval *item,
    struct tval *dflt, int lower)
{
	struct tval	*cur;

	if (dflt != NULL && dflt->tv_type == TV_NONE)
		dflt = NULL;
	if ((cur = apath_peek(ap, item)) != NULL)
		tval_ref(cur);
	else if ((cur = apath_walk(e, ap, item, dflt)) == NULL)
		return NULL;
	/* no parts: the item itself, which may be missing too */
	if (cur->tv_type == TV_UNDEF && dflt != NULL) {
		tval_unref(cur);
		cur = tval_ref(dflt);
	}
	/* most keys need no lowering, and a folded sort keeps ASCII ones */
	if (lower == LK_NONE || cur->tv_type != TV_STR ||
	    (lower == LK_FOLD && tval_is_ascii(cur)))
		return cur;
	return lower_key(cur, lower);
}

/* The same, the common case inline: found, and no lowering to do. */
static inline struct tval *
apath_get(struct eval *e, struct apath *ap, struct tval *item,
    struct tval *dflt, int lower)
{
	struct tval	*cur;

	if ((cur = apath_slots(ap, item)) == NULL || cur->tv_type == TV_UNDEF)
		return apath_get_slow(e, ap, item, dflt, lower);
	if (lower == LK_NONE || cur->tv_type != TV_STR)
		return tval_ref(cur);
	if (lower == LK_FOLD && ((cur->tv_flags & (TVF_ASCII_KNOWN |
	    TVF_ASCII)) == (TVF_ASCII_KNOWN | TVF_ASCII) ||
	    tval_is_ascii(cur)))
		return tval_ref(cur);
	return lower_key(tval_ref(cur), lower);
}

/* --- Sorting ----------------------------------------------------------- */

/*
 * An item being sorted, with its key and the key's first bytes as one
 * number (decorated once): when all keys are strings, their first eight
 * bytes (ASCII case folded for SORT_FOLD), big-endian and zero-padded,
 * order them as the full comparison does whenever they differ; when all
 * are ints, the int with its sign bit flipped does.  Equal prefixes, or
 * keys of other types, go to the full comparison.
 */
struct sortent {
	uint64_t	 se_pre;
	struct tval	*se_key;
	struct tval	*se_item;
};

struct sortctx {
	struct eval	 *sc_e;
	int		  sc_reverse;
	int		  sc_fold;	/* SORT_FOLD: strings by fold_cmp */
	int		  sc_listkey;	/* SORT_LISTKEY */
	int		  sc_pre;	/* se_pre decides when it differs */
	int		  sc_failed;
};

/* Two strings in the order of their lower(), for ASCII ones (LK_FOLD) */
static int
fold_cmp(const struct tval *x, const struct tval *y)
{
	const unsigned char	*a = (const unsigned char *)x->u.s.p;
	const unsigned char	*b = (const unsigned char *)y->u.s.p;
	uint64_t		 wa, wb;
	size_t			 n, i;
	unsigned		 c, d;

	n = x->u.s.len < y->u.s.len ? x->u.s.len : y->u.s.len;
	/* equal bytes fold alike: skip them eight at a time */
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&wa, a + i, 8);
		memcpy(&wb, b + i, 8);
		if (wa != wb)
			break;
	}
	for (; i < n; i++) {
		if (a[i] == b[i])
			continue;
		/* unsigned: '@' and below are not capitals */
		c = (unsigned)a[i] - 'A' < 26 ? a[i] + 32u : a[i];
		d = (unsigned)b[i] - 'A' < 26 ? b[i] + 32u : b[i];
		if (c != d)
			return c < d ? -1 : 1;
	}
	return (x->u.s.len > y->u.s.len) - (x->u.s.len < y->u.s.len);
}

/* A string key's first eight bytes, folded if fold, as a number. */
static uint64_t
str_prefix(const struct tval *v, int fold)
{
	const uint64_t	 h = 0x8080808080808080ULL, l = 0x0101010101010101ULL;
	const char	*p = v->u.s.p;
	size_t		 n = v->u.s.len, i;
	uint64_t	 w = 0, t;
	uint32_t	 a, b;

	/* loads of a constant size: no call to copy a few bytes */
	if (n >= 8)
		memcpy(&w, p, 8);
	else if (n >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		w = a | (uint64_t)b << ((n - 4) * 8);
	} else
		for (i = 0; i < n; i++)
			w |= (uint64_t)(unsigned char)p[i] << (i * 8);
	if (fold) {
		/* a byte from 'A' to 'Z' (high bit clear) gains 0x20 */
		t = w & ~h;
		t = ((t + 0x3f * l) & ~(t + 0x25 * l)) & ~w & h;
		w += t >> 2;
	}
	return __builtin_bswap64(w);
}

/*
 * "a comes before b" for a stable sort, ascending or descending: sorted()
 * asks only a < b (reverse=True: b < a).  Differing prefixes answer
 * first; two strings or two ints then answer here; anything else goes
 * through the comparison of ops.c.
 */
static inline int
sort_before(struct sortctx *sc, const struct sortent *a,
    const struct sortent *b)
{
	const struct sortent	*xe = sc->sc_reverse ? b : a;
	const struct sortent	*ye = sc->sc_reverse ? a : b;
	const struct tval	*x = xe->se_key, *y = ye->se_key;
	size_t			 n;
	int			 c;

	if (sc->sc_failed)
		return 0;
	if (sc->sc_pre) {
		if (xe->se_pre != ye->se_pre)
			return xe->se_pre < ye->se_pre;
		/* equal ints; strings of eight bytes or fewer each: equal
		 * but for the zero padding */
		if (x->tv_type == TV_INT)
			return 0;
		if (x->u.s.len <= 8 && y->u.s.len <= 8)
			return x->u.s.len < y->u.s.len;
	}
	if (x->tv_type == TV_STR && y->tv_type == TV_STR) {
		if (sc->sc_fold)
			return fold_cmp(x, y) < 0;
		n = x->u.s.len < y->u.s.len ? x->u.s.len : y->u.s.len;
		if ((c = memcmp(x->u.s.p, y->u.s.p, n)) != 0)
			return c < 0;
		return x->u.s.len < y->u.s.len;
	}
	if (x->tv_type == TV_INT && y->tv_type == TV_INT)
		return x->u.i < y->u.i;
	/* Python compares [x] and [y] with == first: Undefined == Undefined */
	if (sc->sc_listkey && x->tv_type == TV_UNDEF && y->tv_type == TV_UNDEF)
		return 0;
	if ((c = eval_compare(sc->sc_e, OP_LT, x, y)) == -1) {
		sc->sc_failed = 1;
		return 0;
	}
	return c;
}

/*
 * An ascending sort whose prefixes decide: they answer here, and only
 * equal ones ask sort_before.  (A comparison that fails marks sc and the
 * sort's result is dropped, so answering on after it does no harm.)
 */
static inline int
pre_before(struct sortctx *sc, const struct sortent *a,
    const struct sortent *b)
{
	if (a->se_pre != b->se_pre)
		return a->se_pre < b->se_pre;
	return sort_before(sc, a, b);
}

#define SORT_BEFORE(sc, fast, a, b)					\
	((fast) ? pre_before(sc, a, b) : sort_before(sc, a, b))

/*
 * A merge sort because Python's sort is stable and comparisons may fail
 * midway; short runs are sorted by insertion, which is stable too.
 */
static void
merge_sort(struct sortctx *sc, struct sortent *v, struct sortent *tmp,
    size_t n)
{
	size_t		 mid = n / 2, i, j, o;
	struct sortent	 x;
	const int	 fast = sc->sc_pre && !sc->sc_reverse;

	if (n < 2 || sc->sc_failed)
		return;
	if (n <= 12) {
		for (i = 1; i < n; i++) {
			x = v[i];
			for (j = i; j > 0 && SORT_BEFORE(sc, fast, &x,
			    &v[j - 1]); j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
		return;
	}
	merge_sort(sc, v, tmp, mid);
	merge_sort(sc, v + mid, tmp, n - mid);
	/* already in order: nothing to merge */
	if (!SORT_BEFORE(sc, fast, &v[mid], &v[mid - 1]))
		return;
	memcpy(tmp, v, n * sizeof(*v));
	for (i = 0, j = mid, o = 0; i < mid && j < n; o++) {
		if (SORT_BEFORE(sc, fast, &tmp[j], &tmp[i]))
			v[o] = tmp[j++];
		else
			v[o] = tmp[i++];
	}
	for (; i < mid; o++)
		v[o] = tmp[i++];
	for (; j < n; o++)
		v[o] = tmp[j++];
}

/*
 * Keys whose prefixes decide (all strings or all ints) are sorted as
 * (prefix, index) pairs, a strict order of two integers, and then each
 * run of equal prefixes by the full comparison, stably: the order of
 * sorted() with fewer and cheaper comparisons than merge_sort's.  A
 * reverse sort takes the prefixes' complement (equal ones keep their
 * first order, as Python's reverse=True does).
 */
struct prekey {
	uint64_t	 pk_pre;
	uint64_t	 pk_i;
};

#define PK_BEFORE(a, b)	((a)->pk_pre < (b)->pk_pre ||			\
	((a)->pk_pre == (b)->pk_pre && (a)->pk_i < (b)->pk_i))
#define PK_RUN_MAX	16	/* longer runs of one prefix: merge_sort */

static void
pk_sort(struct prekey *v, struct prekey *tmp, size_t n)
{
	size_t		 mid = n / 2, i, j, o;
	struct prekey	 x;

	if (n <= 16) {
		for (i = 1; i < n; i++) {
			x = v[i];
			for (j = i; j > 0 && PK_BEFORE(&x, &v[j - 1]); j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
		return;
	}
	pk_sort(v, tmp, mid);
	pk_sort(v + mid, tmp, n - mid);
	if (!PK_BEFORE(&v[mid], &v[mid - 1]))
		return;
	memcpy(tmp, v, n * sizeof(*v));
	for (i = 0, j = mid, o = 0; i < mid && j < n; o++)
		v[o] = PK_BEFORE(&tmp[j], &tmp[i]) ? tmp[j++] : tmp[i++];
	while (i < mid)
		v[o++] = tmp[i++];
	while (j < n)
		v[o++] = tmp[j++];
}

/*
 * pk[] (room for 2n) gets the sorted order as indexes into se[]; 0, or
 * -1 when a run of equal prefixes is too long (use merge_sort).
 */
static int
sort_prefixed(struct sortctx *sc, const struct sortent *se, size_t n,
    struct prekey *pk)
{
	struct prekey	 x;
	size_t		 i, j, s, t;

	for (i = 0; i < n; i++) {
		pk[i].pk_pre = sc->sc_reverse ? ~se[i].se_pre : se[i].se_pre;
		pk[i].pk_i = i;
	}
	pk_sort(pk, pk + n, n);
	for (s = 0; s < n; s = t) {
		for (t = s + 1; t < n && pk[t].pk_pre == pk[s].pk_pre; t++)
			;
		if (t - s > PK_RUN_MAX)
			return -1;
		/* in first order already: insertion keeps equal ones so */
		for (i = s + 1; i < t; i++) {
			x = pk[i];
			for (j = i; j > s && sort_before(sc, &se[x.pk_i],
			    &se[pk[j - 1].pk_i]); j--)
				pk[j] = pk[j - 1];
			pk[j] = x;
		}
	}
	return 0;
}

/* Sort items in place by keys (or by themselves), stably, like sorted(). */
int
sort_values(struct eval *e, struct tval **items, size_t n, struct tval **keys,
    int flags)
{
	struct sortctx	 sc;
	struct sortent	 local[2 * 64], *se = local;
	struct prekey	 pklocal[2 * 64], *pk = pklocal;
	size_t		 i, nstr = 0, nint = 0;

	if (n < 2)
		return 0;
	if (eval_step(e, n) == -1)
		return -1;
	if (n > 64 && (n > SIZE_MAX / 2 / sizeof(*se) ||
	    (se = malloc(2 * n * sizeof(*se))) == NULL))
		return eval_errorv(e, "out of memory");
	if (n > 64 && (pk = malloc(2 * n * sizeof(*pk))) == NULL) {
		free(se);
		return eval_errorv(e, "out of memory");
	}
	/* sorting by the items themselves: they are their own keys */
	for (i = 0; i < n; i++) {
		se[i].se_item = items[i];
		se[i].se_key = keys != NULL ? keys[i] : items[i];
		nstr += se[i].se_key->tv_type == TV_STR;
		nint += se[i].se_key->tv_type == TV_INT;
	}
	sc.sc_e = e;
	sc.sc_reverse = (flags & SORT_REVERSE) != 0;
	sc.sc_fold = (flags & SORT_FOLD) != 0;
	sc.sc_listkey = (flags & SORT_LISTKEY) != 0;
	sc.sc_pre = nstr == n || nint == n;
	sc.sc_failed = 0;
	for (i = 0; sc.sc_pre && i < n; i++)
		se[i].se_pre = nstr == n ? str_prefix(se[i].se_key,
		    sc.sc_fold) : (uint64_t)se[i].se_key->u.i ^ (1ULL << 63);
	if (sc.sc_pre && sort_prefixed(&sc, se, n, pk) == 0) {
		for (i = 0; i < n; i++) {
			items[i] = se[pk[i].pk_i].se_item;
			if (keys != NULL)
				keys[i] = se[pk[i].pk_i].se_key;
		}
	} else {
		merge_sort(&sc, se, se + n, n);
		for (i = 0; i < n; i++) {
			items[i] = se[i].se_item;
			if (keys != NULL)
				keys[i] = se[i].se_key;
		}
	}
	if (se != local)
		free(se);
	if (pk != pklocal)
		free(pk);
	return sc.sc_failed ? -1 : 0;
}

/*
 * Keys for sort/unique/min/max, each computed once: the attribute, in
 * lower case unless case_sensitive.  multi: "a,b" is a list of keys
 * (make_multi_attrgetter).
 */
#define KEYS_LOCAL	64

/* Keys made into a caller's buf of KEYS_LOCAL, or malloc'd past it. */
static void
keys_free(struct tval **keys, size_t n, struct tval **buf)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		tval_unref(keys[i]);
	if (keys != buf)
		free(keys);
}

static struct tval **
make_keys(struct eval *e, struct tval **items, size_t n,
    const struct tval *attr, int lower, int multi, struct tval **buf)
{
	struct apath	 paths[APATH_INLINE], *ap = paths;
	struct tval	**keys = NULL, *part, *l;
	const char	*p, *end, *c;
	size_t		 np = 1, i, j;

	/* each of "a,b" is a path of its own, decorated here once */
	if (multi && attr != NULL && attr->tv_type == TV_STR &&
	    memchr(attr->u.s.p, ',', attr->u.s.len) != NULL) {
		p = attr->u.s.p;
		end = p + attr->u.s.len;
		for (i = 0; i < attr->u.s.len; i++)
			np += p[i] == ',';
		if (np > APATH_INLINE && (ap = calloc(np, sizeof(*ap))) == NULL) {
			eval_oom(e);
			return NULL;
		}
		for (j = 0; j < np; j++, p = c + 1) {
			if ((c = memchr(p, ',', (size_t)(end - p))) == NULL)
				c = end;
			if ((part = tval_str(p, (size_t)(c - p))) == NULL ||
			    apath_init(e, &ap[j], part) == -1) {
				if (part == NULL)
					eval_oom(e);
				tval_unref(part);
				np = j;
				goto out;
			}
			tval_unref(part);
		}
		multi = 1;
	} else {
		if ((ap = apath_get_path(e, paths, attr)) == NULL)
			return NULL;
		multi = 0;
	}
	if (n <= KEYS_LOCAL)
		keys = buf;
	else if ((keys = calloc(n, sizeof(*keys))) == NULL) {
		eval_oom(e);
		goto out;
	}
	/* a list of keys compares as a list: its strings lowered, not folded */
	if (multi && lower == LK_FOLD)
		lower = LK_LOWER;
	for (i = 0; i < n; i++) {
		if (!multi)
			keys[i] = apath_get(e, ap, items[i], NULL, lower);
		else if ((keys[i] = l = tval_list()) != NULL)
			for (j = 0; j < np; j++)
				if (tval_list_append(l, apath_get(e, &ap[j],
				    items[i], NULL, lower)) == -1) {
					tval_unref(l);
					keys[i] = NULL;
					break;
				}
		if (keys[i] == NULL) {
			if (!eval_failed(e))
				eval_oom(e);
			keys_free(keys, i, buf);
			keys = NULL;
			goto out;
		}
	}
out:
	if (!multi) {
		apath_done(ap, paths);
		return keys;
	}
	for (j = 0; j < np; j++)
		apath_free(&ap[j]);
	if (ap != paths)
		free(ap);
	return keys;
}

/*
 * The items of in to walk: a list's or tuple's own array, borrowed
 * (*own 0: the filters walking it call no template code, so nothing
 * changes it meanwhile), else a snapshot (*own 1, seq_done frees it).
 */
static int
seq_items(struct eval *e, struct tval *in, struct tval ***items, size_t *n,
    int *own)
{
	if (in->tv_type == TV_LIST || in->tv_type == TV_TUPLE) {
		*items = in->u.l.v;
		*n = in->u.l.n;
		*own = 0;
		return eval_step(e, *n / 8);
	}
	*own = 1;
	return eval_iterate(e, in, items, n);
}

static void
seq_done(struct tval **items, size_t n, int own)
{
	if (own)
		items_free(items, n);
}

/* A new list of in's items, or NULL with the error set. */
static struct tval *
seq_copy(struct eval *e, struct tval *in)
{
	struct tval	**items, *l;
	size_t		  n, i;

	if (in->tv_type != TV_LIST && in->tv_type != TV_TUPLE) {
		if (eval_iterate(e, in, &items, &n) == -1)
			return NULL;
		return filter_list_from(e, items, n);
	}
	n = in->u.l.n;
	if (eval_step(e, n / 8) == -1)
		return NULL;
	if ((l = tval_container(TV_LIST, n)) == NULL)
		return eval_oom(e);
	/* room for all of them: no append fails */
	for (i = 0; i < n; i++)
		(void)tval_list_append(l, tval_ref(in->u.l.v[i]));
	return l;
}

/* length/count: len(), with Undefined as 0. */
struct tval *
filter_length(struct eval *e, struct tval *in, struct args *a)
{
	switch (in->tv_type) {
	case TV_UNDEF:
		return tval_int(0);
	case TV_STR:
		return tval_int((int64_t)tval_nchars(in));
	case TV_BYTES:
		return tval_int((int64_t)in->u.s.len);
	case TV_LIST:
	case TV_TUPLE:
		return tval_int((int64_t)in->u.l.n);
	case TV_DICT:
		return tval_int((int64_t)in->u.d.n);
	case TV_SECRET:
		return eval_error(e, "a secret has no length in a worker");
	default:
		return eval_error(e, "object of type '%s' has no len()",
		    tval_typename(in));
	}
}

/* markupsafe's escape() of any value, appended: a Markup as it is. */
static int
markup_join_item(struct eval *e, struct buf *b, struct tval *v)
{
	struct tval	*s;

	if ((s = eval_str(e, v)) == NULL)
		return -1;
	markup_escape_into(b, s);
	tval_unref(s);
	return 0;
}

/*
 * join of a list or tuple of plain strings (no Markup, no secret) with a
 * plain separator: measured, then copied into one string.  NULL (and no
 * error) when the input is not of that kind.
 */
static struct tval *
join_strs(struct eval *e, struct tval *in, const struct tval *sep)
{
	struct tval	*r, *it;
	size_t		 i, n, len = 0, sl = sep != NULL ? sep->u.s.len : 0;
	char		*p;

	if ((in->tv_type != TV_LIST && in->tv_type != TV_TUPLE) ||
	    (sep != NULL && (sep->tv_flags & TVF_MARKUP)))
		return NULL;
	n = in->u.l.n;
	for (i = 0; i < n; i++) {
		it = in->u.l.v[i];
		if (it->tv_type != TV_STR || (it->tv_flags & TVF_MARKUP))
			return NULL;
		len += it->u.s.len + (i > 0 ? sl : 0);
	}
	if (len > eval_maxout(e))
		return eval_error(e, "string too long");
	if (eval_step(e, n / 8 + len / 256) == -1)
		return NULL;
	if ((r = tval_str(NULL, len)) == NULL)
		return eval_oom(e);
	/* tags, words and ", ": short copies, each NUL overwritten next */
	for (i = 0, p = r->u.s.p; i < n; i++) {
		it = in->u.l.v[i];
		if (i > 0 && sl > 0) {
			str_put(p, sep->u.s.p, sl);
			p += sl;
		}
		str_put(p, it->u.s.p, it->u.s.len);
		p += it->u.s.len;
	}
	*p = '\0';
	return r;
}

/* join(d='', attribute=None): str() of each item. */
struct tval *
filter_join(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "d", "attribute" };
	struct tval		*v[2], **items, *it;
	struct apath		 local, *ap;
	size_t			 n, i;
	struct buf		 b;
	int			 secret = 0;
	struct tval		*acc = NULL, *t;

	FILTER_BIND("join", params, 0);
	if ((v[1] == NULL || v[1]->tv_type == TV_NONE) && (v[0] == NULL ||
	    v[0]->tv_type == TV_STR) && (it = join_strs(e, in, v[0])) != NULL)
		return it;
	if (eval_failed(e))
		return NULL;
	if ((ap = apath_get_path(e, &local, v[1])) == NULL)
		return NULL;
	if (eval_iterate(e, in, &items, &n) == -1) {
		apath_done(ap, &local);
		return NULL;
	}
	memset(&b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		if (ap->ap_n > 0) {
			if ((it = apath_get(e, ap, items[i], NULL,
			    LK_NONE)) == NULL) {
				apath_done(ap, &local);
				goto fail;
			}
			tval_unref(items[i]);
			items[i] = it;
		}
		if (items[i]->tv_type == TV_SECRET)
			secret = 1;
	}
	apath_done(ap, &local);
	/*
	 * Jinja2's do_join with autoescape on: a Markup separator or any
	 * Markup item makes it Markup.join (a plain separator escaped, the
	 * items that are not Markup escaped); else a plain join.
	 */
	if (!secret && eval_autoescape(e)) {
		int	 markup = v[0] != NULL && (v[0]->tv_flags & TVF_MARKUP);

		for (i = 0; i < n && !markup; i++)
			markup = items[i]->tv_type == TV_STR &&
			    (items[i]->tv_flags & TVF_MARKUP);
		if (markup) {
			for (i = 0; i < n; i++) {
				if (i && v[0] != NULL &&
				    markup_join_item(e, &b, v[0]) == -1)
					goto fail;
				if (markup_join_item(e, &b, items[i]) == -1)
					goto fail;
			}
			items_free(items, n);
			if ((it = tval_str_buf(&b)) != NULL)
				it->tv_flags |= TVF_MARKUP;
			return it;
		}
	}
	/* join of a list holding secrets builds one secret tree */
	if (secret) {
		/* joining secrets is concatenation */
		for (i = 0; i < n; i++) {
			if (i && v[0] != NULL) {
				t = acc ? eval_binop(e, OP_TILDE, acc, v[0]) :
				    tval_ref(v[0]);
				tval_unref(acc);
				if ((acc = t) == NULL)
					goto fail;
			}
			t = acc ? eval_binop(e, OP_TILDE, acc, items[i]) :
			    tval_ref(items[i]);
			tval_unref(acc);
			if ((acc = t) == NULL)
				goto fail;
		}
		items_free(items, n);
		return acc;
	}
	for (i = 0; i < n; i++) {
		if (i && v[0] != NULL && eval_str_into(e, &b, v[0]) == -1)
			goto fail;
		if (eval_str_into(e, &b, items[i]) == -1)
			goto fail;
	}
	items_free(items, n);
	return tval_str_buf(&b);
fail:
	items_free(items, n);
	buf_free(&b);
	return NULL;
}

/* first/last: an Undefined when the sequence is empty, as in Jinja2. */
static struct tval *
first_last(struct eval *e, struct tval *in, int last)
{
	struct tval	**items;
	size_t		  n;
	struct tval	 *r;

	/* sequences answer directly; other iterables are walked */
	if (in->tv_type == TV_LIST || in->tv_type == TV_TUPLE) {
		if (in->u.l.n == 0)
			goto empty;
		return tval_ref(in->u.l.v[last ? in->u.l.n - 1 : 0]);
	}
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if (n == 0)
		goto empty;
	r = tval_ref(items[last ? n - 1 : 0]);
	items_free(items, n);
	return r;
empty:
	return tval_undef(last ? "No last item, sequence was empty." :
	    "No first item, sequence was empty.", NULL);
}

struct tval *
filter_list(struct eval *e, struct tval *in, struct args *a)
{
	/*
	 * A plain list no one else holds (map(...) | list) can be its own
	 * copy: nothing could tell them apart.
	 */
	if (in->tv_type == TV_LIST && in->tv_refs == 1 &&
	    !(in->tv_flags & (TVF_IMMORTAL | TVF_VITEMS | TVF_VKEYS |
	    TVF_VVALUES)))
		return tval_ref(in);
	return seq_copy(e, in);
}

/*
 * reverse: a reversed string, or a reversed list (Jinja2 returns an
 * iterator).
 */
struct tval *
filter_reverse(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	**items, *t, *r;
	size_t		  n, i;

	if (in->tv_type == TV_STR) {
		struct buf	 b;
		size_t		 end = in->u.s.len, q;

		memset(&b, 0, sizeof(b));
		while (end > 0) {
			q = end - 1;
			while (q > 0 && ((unsigned char)in->u.s.p[q] & 0xc0) ==
			    0x80)
				q--;
			buf_add(&b, in->u.s.p + q, end - q);
			end = q;
		}
		r = tval_str_buf(&b);
		return r ? r : eval_oom(e);
	}
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	for (i = 0; i < n / 2; i++) {
		t = items[i];
		items[i] = items[n - 1 - i];
		items[n - 1 - i] = t;
	}
	return filter_list_from(e, items, n);
}

/*
 * sort(reverse=False, case_sensitive=False, attribute=None); attribute may
 * list several, comma separated.
 */
struct tval *
filter_sort(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "reverse", "case_sensitive",
	    "attribute" };
	struct tval		*v[3], **keys, *kbuf[KEYS_LOCAL], *l;
	size_t			 n;
	int			 rc, fold;

	FILTER_BIND("sort", params, 0);
	fold = !(v[1] != NULL && tval_truth(v[1]));
	/* the new list is sorted in place */
	if ((l = seq_copy(e, in)) == NULL)
		return NULL;
	n = l->u.l.n;
	if ((keys = make_keys(e, l->u.l.v, n, v[2], fold ? LK_FOLD : LK_NONE,
	    1, kbuf)) == NULL) {
		tval_unref(l);
		return NULL;
	}
	rc = sort_values(e, l->u.l.v, n, keys, SORT_LISTKEY |
	    (fold ? SORT_FOLD : 0) |
	    (v[0] != NULL && tval_truth(v[0]) ? SORT_REVERSE : 0));
	keys_free(keys, n, kbuf);
	if (rc == -1) {
		tval_unref(l);
		return NULL;
	}
	return l;
}

/*
 * dictsort(case_sensitive=False, by='key', reverse=False): a list of (key,
 * value) tuples.
 */
struct tval *
filter_dictsort(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "case_sensitive", "by",
	    "reverse" };
	struct tval		*v[3], **items, **keys, *t;
	size_t			 n, i;
	int			 pos = 0, rc, fold;

	FILTER_BIND("dictsort", params, 0);
	fold = !(v[0] != NULL && tval_truth(v[0]));
	if (v[1] != NULL) {
		if (v[1]->tv_type == TV_STR && strcmp(v[1]->u.s.p, "value") == 0)
			pos = 1;
		else if (v[1]->tv_type != TV_STR ||
		    strcmp(v[1]->u.s.p, "key") != 0)
			return eval_error(e, "You can only sort by either "
			    "\"key\" or \"value\"");
	}
	if (in->tv_type == TV_UNDEF)
		return eval_undefined_error(e, in);
	if (in->tv_type != TV_DICT)
		return eval_error(e, "'%s' object has no attribute 'items'",
		    tval_typename(in));
	n = in->u.d.n;
	if ((items = calloc(n ? n : 1, sizeof(*items))) == NULL ||
	    (keys = calloc(n ? n : 1, sizeof(*keys))) == NULL) {
		free(items);
		return eval_oom(e);
	}
	for (i = 0; i < n; i++) {
		if ((t = tval_tuple()) == NULL ||
		    tval_list_append(t, tval_ref(in->u.d.e[i].de_key)) == -1 ||
		    tval_list_append(t, tval_ref(in->u.d.e[i].de_val)) == -1) {
			tval_unref(t);
			items_free(items, i);
			items_free(keys, i);
			return eval_oom(e);
		}
		items[i] = t;
		keys[i] = lower_key(tval_ref(t->u.l.v[pos]), fold ? LK_FOLD :
		    LK_NONE);
	}
	rc = sort_values(e, items, n, keys, (fold ? SORT_FOLD : 0) |
	    (v[2] != NULL && tval_truth(v[2]) ? SORT_REVERSE : 0));
	items_free(keys, n);
	if (rc == -1) {
		items_free(items, n);
		return NULL;
	}
	return filter_list_from(e, items, n);
}

/*
 * unique(case_sensitive=False, attribute=None): first occurrence wins,
 * order kept.
 */
struct tval *
filter_unique(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "case_sensitive", "attribute" };
	struct tval		*v[2], **items, **keys, *kbuf[KEYS_LOCAL], *seen, *l;
	size_t			 n, i;

	FILTER_BIND("unique", params, 0);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if ((keys = make_keys(e, items, n, v[1], v[0] != NULL &&
	    tval_truth(v[0]) ? LK_NONE : LK_LOWER, 0, kbuf)) == NULL) {
		items_free(items, n);
		return NULL;
	}
	seen = tval_dict();
	l = tval_list();
	if (seen == NULL || l == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if (!tval_hashable(keys[i])) {
			eval_error(e, "unhashable type: '%s'",
			    tval_typename(keys[i]));
			goto fail;
		}
		if (tval_dict_get(seen, keys[i]) != NULL)
			continue;
		if (tval_dict_put(seen, tval_ref(keys[i]), tval_none()) == -1 ||
		    tval_list_append(l, tval_ref(items[i])) == -1)
			goto oom;
	}
	items_free(items, n);
	keys_free(keys, n, kbuf);
	tval_unref(seen);
	return l;
oom:
	eval_error(e, "out of memory");
fail:
	items_free(items, n);
	keys_free(keys, n, kbuf);
	tval_unref(seen);
	tval_unref(l);
	return NULL;
}

/* min/max: the first minimal or maximal item, like Python's builtins. */
static struct tval *
minmax(struct eval *e, struct tval *in, struct args *a, int max)
{
	static const char *const params[] = { "case_sensitive", "attribute" };
	struct tval		*v[2], **items, **keys, *kbuf[KEYS_LOCAL], *r;
	size_t			 n, i, best = 0;
	int			 lt;

	FILTER_BIND(max ? "max" : "min", params, 0);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if (n == 0) {
		free(items);
		return tval_undef("No aggregated item, sequence was empty.",
		    NULL);
	}
	if ((keys = make_keys(e, items, n, v[1], v[0] != NULL &&
	    tval_truth(v[0]) ? LK_NONE : LK_LOWER, 0, kbuf)) == NULL) {
		items_free(items, n);
		return NULL;
	}
	/* Python's min asks key < best, max asks key > best */
	for (i = 1; i < n; i++) {
		if ((lt = eval_compare(e, max ? OP_GT : OP_LT, keys[i],
		    keys[best])) == -1) {
			items_free(items, n);
			keys_free(keys, n, kbuf);
			return NULL;
		}
		if (lt)
			best = i;
	}
	r = tval_ref(items[best]);
	items_free(items, n);
	keys_free(keys, n, kbuf);
	return r;
}

/* sum(attribute=None, start=0) with the + operator's rules. */
struct tval *
filter_sum(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "attribute", "start" };
	struct tval		*v[2], **items, *acc, *t, *it;
	struct apath		 local, *ap;
	size_t			 n, i;
	int64_t			 isum = 0, r;
	int			 ints, own;

	FILTER_BIND("sum", params, 0);
	if ((ap = apath_get_path(e, &local, v[0])) == NULL)
		return NULL;
	if (seq_items(e, in, &items, &n, &own) == -1) {
		apath_done(ap, &local);
		return NULL;
	}
	acc = v[1] != NULL ? tval_ref(v[1]) : tval_int(0);
	/*
	 * While the sum and the items are ints, they add up in isum (acc is
	 * stale): one value at the end instead of one per item.  Anything
	 * else, or an overflow, goes through the + operator.
	 */
	if ((ints = acc->tv_type == TV_INT))
		isum = acc->u.i;
	for (i = 0; i < n && acc != NULL; i++) {
		if ((it = apath_get(e, ap, items[i], NULL, LK_NONE)) == NULL) {
			tval_unref(acc);
			acc = NULL;
			break;
		}
		if (ints && it->tv_type == TV_INT &&
		    !__builtin_add_overflow(isum, it->u.i, &r)) {
			isum = r;
			tval_unref(it);
			continue;
		}
		if (ints) {
			tval_unref(acc);
			if ((acc = tval_int(isum)) == NULL) {
				tval_unref(it);
				eval_oom(e);
				break;
			}
			ints = 0;
		}
		t = eval_binop(e, OP_ADD, acc, it);
		tval_unref(it);
		tval_unref(acc);
		acc = t;
	}
	if (ints && acc != NULL && acc->u.i != isum) {
		tval_unref(acc);
		if ((acc = tval_int(isum)) == NULL)
			eval_oom(e);
	}
	apath_done(ap, &local);
	seq_done(items, n, own);
	return acc;
}

/*
 * Two group keys of groupby over strings: equal, and their order (folded
 * for fold, as the sort compares them; else bytes, as code points).
 */
static int
gkey_eq(const struct tval *x, const struct tval *y, int fold)
{
	if (x == y)
		return 1;
	if (x->u.s.len != y->u.s.len)
		return 0;
	if (fold)
		return fold_cmp(x, y) == 0;
	return memcmp(x->u.s.p, y->u.s.p, x->u.s.len) == 0;
}

static int
gkey_cmp(const struct tval *x, const struct tval *y, int fold)
{
	size_t	 n;
	int	 c;

	if (fold)
		return fold_cmp(x, y);
	n = x->u.s.len < y->u.s.len ? x->u.s.len : y->u.s.len;
	if ((c = memcmp(x->u.s.p, y->u.s.p, n)) != 0)
		return c;
	return (x->u.s.len > y->u.s.len) - (x->u.s.len < y->u.s.len);
}

/*
 * groupby's groups found without sorting the items: when every key is
 * a string (an order where equal is alike) and there are few distinct
 * ones, a stable sort followed by runs of equal keys gives the distinct
 * keys in order, each with its items in their first order.  So each key
 * is matched against the groups met so far (the last one first) and the
 * groups alone are sorted.  g[] gets the groups in order, gi[] each
 * item's group; the number of groups, or 0 when this does not apply.
 */
#define GROUPS_MAX	16

struct group {
	size_t		 g_first;	/* its first item */
	size_t		 g_n;
	uint64_t	 g_pre;		/* its key's first bytes (str_prefix) */
	uint8_t		 g_met;		/* its index in gi[] */
	struct tval	*g_members;
};

static size_t
group_strs(struct tval **keys, size_t n, int fold, struct group *g,
    uint8_t *gi)
{
	struct group	 t;
	struct tval	*k;
	uint64_t	 pre;
	size_t		 ng = 0, i, j, last = 0;

	for (i = 0; i < n; i++)
		if (keys[i]->tv_type != TV_STR)
			return 0;
	/* keys of eight bytes or fewer are alike when their prefixes are */
#define GROUP_IS(gr, k, pre)	((gr)->g_pre == (pre) &&		\
	    keys[(gr)->g_first]->u.s.len == (k)->u.s.len &&		\
	    ((k)->u.s.len <= 8 || gkey_eq(keys[(gr)->g_first], (k), fold)))
	for (i = 0; i < n; i++) {
		k = keys[i];
		pre = str_prefix(k, fold);
		if (ng == 0 || !GROUP_IS(&g[last], k, pre)) {
			for (j = 0; j < ng && !GROUP_IS(&g[j], k, pre); j++)
				;
			if (j == ng) {
				if (ng == GROUPS_MAX)
					return 0;
				g[ng].g_first = i;
				g[ng].g_n = 0;
				g[ng].g_pre = pre;
				g[ng].g_met = (uint8_t)ng;
				g[ng++].g_members = NULL;
			}
			last = j;
		}
		g[last].g_n++;
		gi[i] = (uint8_t)last;
	}
#undef GROUP_IS
	/* the groups in key order: distinct keys, any sort will do */
	for (i = 1; i < ng; i++) {
		t = g[i];
		for (j = i; j > 0 && gkey_cmp(keys[t.g_first],
		    keys[g[j - 1].g_first], fold) < 0; j--)
			g[j] = g[j - 1];
		g[j] = t;
	}
	return ng;
}

/*
 * The (grouper, list) tuple of one group, appended to out: the grouper
 * is the real value of its first item (cs: its key), found through ap.
 */
static int
group_add(struct eval *e, struct tval *out, struct apath *ap,
    struct tval *first, struct tval *key, struct tval *dflt, int cs,
    struct tval *members)
{
	struct tval	*g, *grp;

	if (cs)
		grp = tval_ref(key);
	else if ((grp = apath_get(e, ap, first, dflt, LK_NONE)) == NULL) {
		tval_unref(members);
		return -1;
	}
	if ((g = tval_container(TV_TUPLE, 2)) == NULL) {
		tval_unref(grp);
		tval_unref(members);
		return eval_errorv(e, "out of memory");
	}
	g->tv_flags |= TVF_GROUP;
	/* room for both: no append fails */
	(void)tval_list_append(g, grp);
	(void)tval_list_append(g, members);
	if (tval_list_append(out, g) == -1)
		return eval_errorv(e, "out of memory");
	return 0;
}

/*
 * groupby(attribute, default=None, case_sensitive=False): sorted, then
 * grouped; (grouper, list) tuples that also answer .grouper and .list.
 */
struct tval *
filter_groupby(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "attribute", "default",
	    "case_sensitive" };
	struct tval		*v[3], **items, **keys, *out = NULL, *grp = NULL;
	struct tval		*members = NULL, *kbuf[KEYS_LOCAL];
	struct apath		 local, *ap;
	struct group		 g[GROUPS_MAX];
	uint8_t			 gil[256], *gi = gil, rank[GROUPS_MAX];
	size_t			 n, i, ng = 0, k;
	int			 cs, rc, own;

	FILTER_BIND("groupby", params, 1);
	cs = v[2] != NULL && tval_truth(v[2]);
	if ((ap = apath_get_path(e, &local, v[0])) == NULL)
		return NULL;
	if (seq_items(e, in, &items, &n, &own) == -1) {
		apath_done(ap, &local);
		return NULL;
	}
	if ((keys = n <= KEYS_LOCAL ? kbuf : calloc(n, sizeof(*keys))) ==
	    NULL) {
		apath_done(ap, &local);
		seq_done(items, n, own);
		return eval_oom(e);
	}
	for (i = 0; i < n; i++)
		if ((keys[i] = apath_get(e, ap, items[i], v[1], cs ? LK_NONE :
		    LK_FOLD)) == NULL) {
			apath_done(ap, &local);
			keys_free(keys, i, kbuf);
			seq_done(items, n, own);
			return NULL;
		}
	if ((out = tval_list()) == NULL)
		goto oom;
	if (n > sizeof(gil) && (gi = malloc(n)) == NULL)
		goto oom;
	/* charged as the sort it stands for */
	if (n >= 2 && (ng = group_strs(keys, n, !cs, g, gi)) > 0) {
		if (eval_step(e, n) == -1)
			goto fail;
		for (k = 0; k < ng; k++) {
			rank[g[k].g_met] = (uint8_t)k;
			if ((g[k].g_members = tval_container(TV_LIST,
			    g[k].g_n)) == NULL)
				goto oom;
		}
		/* each group's items in their order, room made for them */
		for (i = 0; i < n; i++)
			(void)tval_list_append(g[rank[gi[i]]].g_members,
			    tval_ref(items[i]));
		for (k = 0; k < ng; k++) {
			members = g[k].g_members;
			g[k].g_members = NULL;
			if (group_add(e, out, ap, items[g[k].g_first],
			    keys[g[k].g_first], v[1], cs, members) == -1)
				goto fail;
		}
		goto done;
	}
	/*
	 * groups are runs of equal keys after a stable sort, like
	 * itertools.groupby
	 */
	/* the sort reorders the items: not the input's own array */
	if (!own && n > 0) {
		struct tval	**copy;

		if ((copy = malloc(n * sizeof(*copy))) == NULL)
			goto oom;
		for (i = 0; i < n; i++)
			copy[i] = tval_ref(items[i]);
		items = copy;
		own = 1;
	}
	rc = sort_values(e, items, n, keys, cs ? 0 : SORT_FOLD);
	if (rc == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (grp == NULL || (!cs && grp->tv_type == TV_STR &&
		    keys[i]->tv_type == TV_STR ? fold_cmp(grp, keys[i]) != 0 :
		    !tval_eq(grp, keys[i]))) {
			if ((members = tval_list()) == NULL)
				goto oom;
			if (group_add(e, out, ap, items[i], keys[i], v[1], cs,
			    members) == -1)
				goto fail;
			grp = keys[i];
		}
		if (tval_list_append(members, tval_ref(items[i])) == -1)
			goto oom;
	}
done:
	if (gi != gil)
		free(gi);
	apath_done(ap, &local);
	seq_done(items, n, own);
	keys_free(keys, n, kbuf);
	return out;
oom:
	eval_error(e, "out of memory");
fail:
	for (k = 0; k < ng; k++)
		tval_unref(g[k].g_members);
	if (gi != gil)
		free(gi);
	apath_done(ap, &local);
	seq_done(items, n, own);
	keys_free(keys, n, kbuf);
	tval_unref(out);
	return NULL;
}

/* A new empty list, or NULL with the error set. */
static struct tval *
empty_list(struct eval *e)
{
	struct tval	*l;

	if ((l = tval_list()) == NULL)
		return eval_oom(e);
	return l;
}

/* map(attribute='x', default=...): a new list of the attributes. */
static struct tval *
map_attr(struct eval *e, struct tval *in, const struct tval *attr,
    struct tval *dflt)
{
	struct tval	**items, *l, *r;
	struct apath	  local, *ap;
	size_t		  n, i;
	int		  own;

	if ((ap = apath_get_path(e, &local, attr)) == NULL)
		return NULL;
	if (seq_items(e, in, &items, &n, &own) == -1) {
		apath_done(ap, &local);
		return NULL;
	}
	if ((l = tval_container(TV_LIST, n)) == NULL)
		eval_oom(e);
	/* room for all of them: no append fails */
	for (i = 0; l != NULL && i < n; i++) {
		if ((r = apath_get(e, ap, items[i], dflt, LK_NONE)) == NULL) {
			tval_unref(l);
			l = NULL;
		} else
			(void)tval_list_append(l, r);
	}
	apath_done(ap, &local);
	seq_done(items, n, own);
	return l;
}

/* map('filter', args...) or map(attribute='x', default=...). */
struct tval *
filter_map(struct eval *e, struct tval *in, struct args *a)
{
	struct tval	**items, *r;
	size_t		  n, i, j;
	struct args	  sub;
	int		  fid = -1;
	struct tval	 *attr = NULL, *dflt = NULL;

	/*
	 * Jinja2 guards map with `if value:`: a false input (None from a JSON
	 * API, '', 0, an undefined) maps to nothing, before the arguments
	 * are even looked at.
	 */
	if (!tval_truth(in))
		return empty_list(e);
	/* map(attribute=...) form: only attribute and default are accepted */
	if (a->a_npos == 0) {
		for (i = 0; i < a->a_nkw; i++) {
			if (strcmp(a->a_kwname[i], "attribute") == 0)
				attr = a->a_kwval[i];
			else if (strcmp(a->a_kwname[i], "default") == 0)
				dflt = a->a_kwval[i];
			else
				return eval_error(e, "Unexpected keyword "
				    "argument '%s'", a->a_kwname[i]);
		}
		if (attr == NULL)
			return eval_error(e, "map requires a filter argument");
	} else {
		if (a->a_pos[0]->tv_type != TV_STR ||
		    (fid = builtin_find(BK_FILTER, a->a_pos[0]->u.s.p)) < 0)
			return eval_error(e, "No filter named '%s'.",
			    a->a_pos[0]->tv_type == TV_STR ?
			    a->a_pos[0]->u.s.p : "?");
	}
	if (fid < 0)
		return map_attr(e, in, attr, dflt);
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	for (i = 0; i < n; i++) {
		memset(&sub, 0, sizeof(sub));
		for (j = 1; j < a->a_npos; j++)
			sub.a_pos[sub.a_npos++] = a->a_pos[j];
		for (j = 0; j < a->a_nkw; j++) {
			sub.a_kwname[sub.a_nkw] = a->a_kwname[j];
			sub.a_kwval[sub.a_nkw++] = a->a_kwval[j];
		}
		if ((r = filter_call(e, fid, items[i], &sub)) == NULL) {
			items_free(items, n);
			return NULL;
		}
		tval_unref(items[i]);
		items[i] = r;
	}
	return filter_list_from(e, items, n);
}

/* select / reject / selectattr / rejectattr */
static struct tval *
select_common(struct eval *e, struct tval *in, struct args *a, int reject,
    int byattr)
{
	struct tval	**items, *l, *x, *other = NULL;
	size_t		  n, i, j, off = byattr ? 1 : 0;
	struct args	  sub;
	struct apath	  local, *ap;
	int		  tid = -1, r, op = -1, own;

	/* as map: Jinja2 selects nothing from a false input, without error */
	if (!tval_truth(in))
		return empty_list(e);
	/*
	 * selectattr needs the attribute; the test name and its arguments
	 * follow
	 */
	if (byattr && a->a_npos < 1)
		return eval_error(e, "Missing parameter for attribute name");
	if (a->a_npos > off) {
		if (a->a_pos[off]->tv_type != TV_STR ||
		    (tid = builtin_find(BK_TEST, a->a_pos[off]->u.s.p)) < 0)
			return eval_error(e, "No test named '%s'.",
			    a->a_pos[off]->tv_type == TV_STR ?
			    a->a_pos[off]->u.s.p : "?");
	}
	/* the test's own arguments are the same for every item */
	memset(&sub, 0, sizeof(sub));
	for (j = off + 1; j < a->a_npos; j++)
		sub.a_pos[sub.a_npos++] = a->a_pos[j];
	for (j = 0; j < a->a_nkw; j++) {
		sub.a_kwname[sub.a_nkw] = a->a_kwname[j];
		sub.a_kwval[sub.a_nkw++] = a->a_kwval[j];
	}
	if ((ap = apath_get_path(e, &local, byattr ? a->a_pos[0] : NULL)) ==
	    NULL)
		return NULL;
	if (seq_items(e, in, &items, &n, &own) == -1) {
		apath_done(ap, &local);
		return NULL;
	}
	if ((l = tval_list()) == NULL) {
		apath_done(ap, &local);
		seq_done(items, n, own);
		return eval_oom(e);
	}
	for (i = 0; i < n; i++) {
		if ((x = apath_get(e, ap, items[i], NULL, LK_NONE)) == NULL)
			goto fail;
		/*
		 * A comparison test binds its argument at the first item (as
		 * test_call would) and then compares without the call; two
		 * strings compare for equality here.
		 */
		if (tid >= 0 && i == 0 && x->tv_type != TV_SECRET &&
		    test_compare_bind(e, tid, &sub, &op, &other) == -1) {
			tval_unref(x);
			goto fail;
		}
		if (tid < 0) {
			if (x->tv_type == TV_SECRET) {
				tval_unref(x);
				eval_error(e, "a secret cannot be tested");
				goto fail;
			}
			r = tval_truth(x);
		} else if (op < 0 || x->tv_type == TV_SECRET)
			r = test_call(e, tid, x, &sub);
		else if ((op == OP_EQ || op == OP_NE) &&
		    x->tv_type == TV_STR && other->tv_type == TV_STR)
			r = (x == other || (x->u.s.len == other->u.s.len &&
			    memcmp(x->u.s.p, other->u.s.p, x->u.s.len) ==
			    0)) == (op == OP_EQ);
		else
			r = eval_compare(e, op, x, other);
		tval_unref(x);
		if (r == -1)
			goto fail;
		if (r != reject && tval_list_append(l, tval_ref(items[i])) == -1) {
			eval_error(e, "out of memory");
			goto fail;
		}
	}
	apath_done(ap, &local);
	seq_done(items, n, own);
	return l;
fail:
	apath_done(ap, &local);
	seq_done(items, n, own);
	tval_unref(l);
	return NULL;
}

/*
 * batch(linecount, fill_with) and slice(slices, fill_with), Jinja2's
 * algorithms.
 */
static struct tval *
batch_slice(struct eval *e, struct tval *in, struct args *a, int slice)
{
	static const char *const pb[] = { "linecount", "fill_with" };
	static const char *const ps[] = { "slices", "fill_with" };
	struct tval		*v[2], **items, *out, *cur = NULL;
	size_t			 n, i;
	int64_t			 k = 0, s, per, extra, off = 0, start, end, j;

	if (args_bind(e, a, slice ? "slice" : "batch", slice ? ps : pb, 2, 1,
	    v) == -1 || filter_intarg(e, v[0], slice ? "slices" : "linecount",
	    &k) == -1)
		return NULL;
	if (v[1] != NULL && v[1]->tv_type == TV_NONE)
		v[1] = NULL;
	if (k <= 0 && !slice)
		return eval_error(e, "batch size must be positive");
	if (k > 100000 || (slice && k <= 0))
		return eval_error(e, "invalid number of slices");
	if (eval_iterate(e, in, &items, &n) == -1)
		return NULL;
	if ((out = tval_list()) == NULL)
		goto oom;
	/* batch: consecutive groups of linecount, the last one padded */
	if (!slice) {
		for (i = 0; i < n; i++) {
			if (cur == NULL || (int64_t)cur->u.l.n == k) {
				if ((cur = tval_list()) == NULL ||
				    tval_list_append(out, cur) == -1)
					goto oom;
			}
			if (tval_list_append(cur, tval_ref(items[i])) == -1)
				goto oom;
		}
		if (cur != NULL && v[1] != NULL)
			while ((int64_t)cur->u.l.n < k)
				if (tval_list_append(cur, tval_ref(v[1])) == -1)
					goto oom;
	} else {
		/* slice: the first n % k columns get one extra item */
		per = (int64_t)n / k;
		extra = (int64_t)n % k;
		for (s = 0; s < k; s++) {
			start = off + s * per;
			if (s < extra)
				off++;
			end = off + (s + 1) * per;
			if ((cur = tval_list()) == NULL ||
			    tval_list_append(out, cur) == -1)
				goto oom;
			for (j = start; j < end; j++)
				if (tval_list_append(cur, tval_ref(items[j])) ==
				    -1)
					goto oom;
			if (v[1] != NULL && s >= extra &&
			    tval_list_append(cur, tval_ref(v[1])) == -1)
				goto oom;
		}
	}
	items_free(items, n);
	return out;
oom:
	items_free(items, n);
	tval_unref(out);
	return eval_oom(e);
}

/* attr(name): getattr only, never a dict key. */
struct tval *
filter_attr(struct eval *e, struct tval *in, struct args *a)
{
	static const char *const params[] = { "name" };
	struct tval		*v[1];
	int			 fid;

	FILTER_BIND("attr", params, 1);
	if (v[0]->tv_type != TV_STR)
		return eval_error(e, "attribute name must be a string");
	if (in->tv_type == TV_UNDEF)
		return eval_undefined_error(e, in);
	if (v[0]->u.s.p[0] == '_')
		return eval_error(e, "access to attribute '%s' of '%s' object "
		    "is unsafe", v[0]->u.s.p, tval_typename(in));
	/* getattr only: a dict's keys are not attributes */
	if (in->tv_type == TV_DICT) {
		if ((fid = method_lookup(in, v[0]->u.s.p)) >= 0)
			return tval_func(fid, in, builtin_name(fid));
		return tval_undef_fmt("'dict object' has no attribute '%s'",
		    v[0]->u.s.p);
	}
	return eval_getattr(e, in, v[0]->u.s.p, v[0]->u.s.len);
}

struct tval *
filter_items(struct eval *e, struct tval *in, struct args *a)
{
	if (in->tv_type == TV_UNDEF)
		return tval_list();
	if (in->tv_type != TV_DICT)
		return eval_error(e, "Can only get item pairs from a mapping.");
	return method_call(e, M_D_ITEMS, in, a);
}

struct tval *
filter_first(struct eval *e, struct tval *in, struct args *a)
{
	return first_last(e, in, 0);
}

struct tval *
filter_last(struct eval *e, struct tval *in, struct args *a)
{
	return first_last(e, in, 1);
}

struct tval *
filter_min(struct eval *e, struct tval *in, struct args *a)
{
	return minmax(e, in, a, 0);
}

struct tval *
filter_max(struct eval *e, struct tval *in, struct args *a)
{
	return minmax(e, in, a, 1);
}

struct tval *
filter_select(struct eval *e, struct tval *in, struct args *a)
{
	return select_common(e, in, a, 0, 0);
}

struct tval *
filter_reject(struct eval *e, struct tval *in, struct args *a)
{
	return select_common(e, in, a, 1, 0);
}

struct tval *
filter_selectattr(struct eval *e, struct tval *in, struct args *a)
{
	return select_common(e, in, a, 0, 1);
}

struct tval *
filter_rejectattr(struct eval *e, struct tval *in, struct args *a)
{
	return select_common(e, in, a, 1, 1);
}

struct tval *
filter_batch(struct eval *e, struct tval *in, struct args *a)
{
	return batch_slice(e, in, a, 0);
}

struct tval *
filter_slice(struct eval *e, struct tval *in, struct args *a)
{
	return batch_slice(e, in, a, 1);
}
