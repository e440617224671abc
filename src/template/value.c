/*
 * value.c — the value model: reference-counted Python-like values (None,
 * bool, int, float, str, bytes, list, tuple, insertion-ordered dict,
 * namespace, undefined, callables, symbolic secrets), their equality, hash,
 * truth, str() and repr() with Python's exact spelling.
 */
#include "build.h"

#include <inttypes.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/* the out-of-line versions are defined here */
#undef tval_ref
#undef tval_unref
#undef tval_list_append

#define VAL_MAXDEPTH	500	/* recursion bound for eq / hash / repr */

struct tval tval_undef_static = { TV_UNDEF, TVF_IMMORTAL, 0, 1, { .i = 0 } };
struct tval tval_none_static = { TV_NONE, TVF_IMMORTAL, 0, 1, { .i = 0 } };
struct tval tval_true_static = { TV_BOOL, TVF_IMMORTAL, 0, 1, { .i = 1 } };
struct tval tval_false_static = { TV_BOOL, TVF_IMMORTAL, 0, 1, { .i = 0 } };

/*
 * A per-thread cache of value-sized blocks.  A JSON body becomes hundreds
 * of small values that are all freed together after the render; recycling
 * them here instead of through malloc is most of the renderer's speed.
 * Sanitizer builds use plain malloc so that they still see every misuse
 * (SLAB_DISABLED, tmpl_int.h).
 */
#define SLAB_CAP	4096		/* blocks kept per size class */
static const size_t slab_sizes[] = { 64, 96, 128, 192, 256 };
#define SLAB_NCLASS	(sizeof(slab_sizes) / sizeof(slab_sizes[0]))
struct slab_blk {
	struct slab_blk	*sb_next;
};
static __thread struct slab_blk	*slab_free[SLAB_NCLASS];
static __thread size_t		 slab_count[SLAB_NCLASS];

/* The size class of a block of size bytes, by (size + 31) / 32. */
static inline uint8_t
slab_class(size_t size)
{
#ifndef SLAB_DISABLED
	static const uint8_t slab_class_of[] = { 0, 0, 0, 1, 2, 3, 3, 4, 4 };

	if (size <= 256)
		return slab_class_of[(size + 31) >> 5];
#else
	(void)size;
#endif
	return SLAB_NONE;
}

static inline void *
slab_alloc(size_t size, uint8_t *cls)
{
	struct slab_blk	*b;
	uint8_t		 c;

	if ((*cls = c = slab_class(size)) == SLAB_NONE)
		return malloc(size);
	if ((b = slab_free[c]) != NULL) {
		slab_free[c] = b->sb_next;
		slab_count[c]--;
		return b;
	}
	return malloc(slab_sizes[c]);
}

static inline void
slab_release(void *p, uint8_t cls)
{
	struct slab_blk	*b = p;

	if (cls >= SLAB_NCLASS || slab_count[cls] >= SLAB_CAP) {
		free(p);
		return;
	}
	b->sb_next = slab_free[cls];
	slab_free[cls] = b;
	slab_count[cls]++;
}

/*
 * Dict entry arrays and list item arrays of small containers (a JSON
 * object or array each) come from the same cache.  Their size class
 * follows from the capacity alone, so freeing needs no record of where
 * the array came from.
 */
static void
array_free(void *a, size_t size)
{
	uint8_t	 cls;

	if (a == NULL)
		return;
	if ((cls = slab_class(size)) == SLAB_NONE)
		free(a);
	else
		slab_release(a, cls);
}

/* *ap (n used of oldsize bytes) grown to size bytes. */
static int
array_grow(void **ap, size_t used, size_t oldsize, size_t size)
{
	void	*na;
	uint8_t	 cls;

	if (slab_class(size) == SLAB_NONE && (*ap == NULL ||
	    slab_class(oldsize) == SLAB_NONE)) {
		/* both sides plain malloc: realloc may extend in place */
		if ((na = realloc(*ap, size)) == NULL)
			return -1;
	} else {
		if ((na = slab_alloc(size, &cls)) == NULL)
			return -1;
		if (used)
			memcpy(na, *ap, used);
		array_free(*ap, oldsize);
	}
	*ap = na;
	return 0;
}

static void
dict_ents_free(struct tval *d)
{
	if (!(d->tv_flags & TVF_INLINE))
		array_free(d->u.d.e, d->u.d.cap * sizeof(*d->u.d.e));
}

/*
 * An array inside the value's own block (TVF_INLINE) is outgrown, never
 * freed: the new one is a block of its own.
 */
static int
container_grow(struct tval *c, void **ap, size_t elem, size_t used,
    size_t oldcap, size_t cap)
{
	void	*na;
	uint8_t	 cls;

	if (cap > SIZE_MAX / elem)
		return -1;
	if (c->tv_flags & TVF_INLINE) {
		if ((na = slab_alloc(cap * elem, &cls)) == NULL)
			return -1;
		if (used)
			memcpy(na, *ap, used * elem);
		c->tv_flags &= ~TVF_INLINE;
		*ap = na;
		return 0;
	}
	return array_grow(ap, used * elem, oldcap * elem, cap * elem);
}

/* d's entry array with room for cap entries (cap > d->u.d.cap). */
static int
dict_ents_grow(struct tval *d, size_t cap)
{
	void	*e = d->u.d.e;

	if (container_grow(d, &e, sizeof(struct tdict_ent), d->u.d.n,
	    d->u.d.cap, cap) == -1)
		return -1;
	d->u.d.e = e;
	d->u.d.cap = cap;
	return 0;
}

/* l's item array with room for cap items (cap > l->u.l.cap). */
static int
list_items_grow(struct tval *l, size_t cap)
{
	void	*v = l->u.l.v;

	if (container_grow(l, &v, sizeof(struct tval *), l->u.l.n,
	    l->u.l.cap, cap) == -1)
		return -1;
	l->u.l.v = v;
	l->u.l.cap = cap;
	return 0;
}

static struct tval *
tval_alloc(int type, size_t extra)
{
	struct tval	*v;
	uint8_t		 cls;

	if ((v = slab_alloc(sizeof(*v) + extra, &cls)) == NULL)
		return NULL;
	v->tv_slab = cls;
	v->tv_type = (uint8_t)type;
	v->tv_flags = 0;
	v->tv_refs = 1;
	memset(&v->u, 0, sizeof(v->u));
	return v;
}

/*
 * Small ints are shared immortal values, like CPython's: JSON bodies and
 * loops are full of them and each would otherwise be a malloc.
 */
struct tval tval_smallints[SMALLINT_MAX - SMALLINT_MIN + 1];

static void __attribute__((constructor))
smallints_init(void)
{
	int	 i;

	for (i = SMALLINT_MIN; i <= SMALLINT_MAX; i++) {
		struct tval	*v = &tval_smallints[i - SMALLINT_MIN];

		v->tv_type = TV_INT;
		v->tv_flags = TVF_IMMORTAL;
		v->tv_refs = 1;
		v->u.i = i;
	}
}

struct tval *
tval_none(void)
{
	return &tval_none_static;
}

struct tval *
tval_bool(int b)
{
	return b ? &tval_true_static : &tval_false_static;
}

struct tval *
tval_int(int64_t i)
{
	struct tval	*v;

	if (i >= SMALLINT_MIN && i <= SMALLINT_MAX)
		return &tval_smallints[i - SMALLINT_MIN];
	if ((v = tval_alloc(TV_INT, 0)) != NULL)
		v->u.i = i;
	return v;
}

struct tval *
tval_float(double f)
{
	struct tval	*v;

	if ((v = tval_alloc(TV_FLOAT, 0)) != NULL)
		v->u.f = f;
	return v;
}

/*
 * A str with its bytes in the same allocation as the value.  Short ones
 * (most keys and values of a JSON body) are copied without a call; with
 * s NULL the len bytes are left for the caller to fill.
 */
struct tval *
tval_str(const char *s, size_t len)
{
	struct tval	*v;
	uint8_t		 cls;
	char		*p;

	if (len > SIZE_MAX - sizeof(*v) - 1 ||
	    (v = slab_alloc(sizeof(*v) + len + 1, &cls)) == NULL)
		return NULL;
	v->tv_slab = cls;
	v->tv_type = TV_STR;
	v->tv_flags = 0;
	v->tv_refs = 1;
	v->u.s.p = p = (char *)(v + 1);
	v->u.s.len = len;
	v->u.s.h = 0;
	v->u.s.nch = 0;
	if (s != NULL)
		str_fill(p, s, len);
	else
		p[len] = '\0';	/* the caller fills the bytes */
	return v;
}

/*
 * A str over bytes the caller keeps: the upstream's body, which a
 * response template reads once (from_json, mostly), need not be copied
 * first (8 KB to 1 MB a call).  The bytes must be NUL-terminated at len
 * (json_parse relies on the NUL) and outlive every reference: the
 * caller drops its globals before it frees them, and nothing of a
 * render outlives the render.  No flag marks the value: freeing it
 * frees the value alone, as for a str whose bytes are inline.
 */
struct tval *
tval_str_borrow(const char *s, size_t len)
{
	struct tval	*v;

	if ((v = tval_alloc(TV_STR, 0)) == NULL)
		return NULL;
	v->u.s.p = (char *)(s != NULL ? s : "");
	v->u.s.len = s != NULL ? len : 0;
	return v;
}

/* Takes a malloc'd NUL-terminated buffer. */
struct tval *
tval_str_take(char *s, size_t len)
{
	struct tval	*v;

	if ((v = tval_alloc(TV_STR, 0)) == NULL) {
		free(s);
		return NULL;
	}
	v->tv_flags |= TVF_OWNBUF;
	v->u.s.p = s;
	v->u.s.len = len;
	return v;
}

struct tval *
tval_str_buf(struct buf *b)
{
	struct tval	*v;

	if (b->b_p == NULL)
		return tval_str("", 0);
	/*
	 * Every str is NUL-terminated (%s in messages, from_json's scanner):
	 * a buffer grown and then written by a fast path that skips the NUL,
	 * or not written at all, is terminated here (buf_grow leaves
	 * b_cap > b_len, so there is room).
	 */
	b->b_p[b->b_len] = '\0';
	v = tval_str_take(b->b_p, b->b_len);
	b->b_p = NULL;
	b->b_len = b->b_cap = 0;
	return v;
}

struct tval *
tval_bytes(const void *p, size_t len)
{
	struct tval	*v;

	if ((v = tval_str(p, len)) != NULL)
		v->tv_type = TV_BYTES;
	return v;
}

struct tval *
tval_list(void)
{
	return tval_alloc(TV_LIST, 0);
}

/*
 * An empty list, tuple or dict with room for n items: a small one has
 * them inside its own block, one allocation (from_json's containers).
 */
struct tval *
tval_container(int type, size_t n)
{
	struct tval	*v;
	size_t		 elem = type == TV_DICT ? sizeof(struct tdict_ent) :
	    sizeof(struct tval *);

	if (slab_class(sizeof(*v) + n * elem) == SLAB_NONE ||
	    (type == TV_DICT && n > DICT_LINEAR)) {
		if ((v = tval_alloc(type, 0)) == NULL)
			return NULL;
		if ((type == TV_DICT ? tval_dict_reserve(v, n) :
		    tval_list_reserve(v, n)) == -1) {
			tval_unref(v);
			return NULL;
		}
		return v;
	}
	if ((v = tval_alloc(type, n * elem)) == NULL)
		return NULL;
	v->tv_flags |= TVF_INLINE;
	if (type == TV_DICT) {
		v->u.d.e = (struct tdict_ent *)(v + 1);
		v->u.d.cap = n;
	} else {
		v->u.l.v = (struct tval **)(v + 1);
		v->u.l.cap = n;
	}
	return v;
}

struct tval *
tval_tuple(void)
{
	return tval_alloc(TV_TUPLE, 0);
}

/* --- The render's value arena (see tmpl_int.h) ------------------------- */

#define VARENA_BLK	(64 * 1024)	/* the first block; later ones double */
#define VARENA_SPARE	(1024 * 1024)	/* a block this size is kept */

struct varena_blk {
	struct varena_blk	*vb_next;
	size_t			 vb_size;
	max_align_t		 vb_data[];
};

/*
 * One block is kept per thread between renders, so that a render does
 * not ask malloc for its arena.  Sanitizer builds free every block, so a
 * value used after its render is still caught.
 */
#ifndef SLAB_DISABLED
static __thread struct varena_blk	*varena_spare;
#endif

/* The head block is full: a new one, the spare when it is big enough. */
void *
varena_alloc_slow(struct varena *va, size_t size)
{
	struct varena_blk	*b;
	size_t			 bs;
	void			*p;

	bs = va->va_head == NULL ? VARENA_BLK : va->va_head->vb_size * 2;
	while (bs - sizeof(*b) < size)
		bs *= 2;
	if (va->va_full || bs > va->va_cap - va->va_used) {
		va->va_full = 1;
		return NULL;
	}
#ifndef SLAB_DISABLED
	if ((b = varena_spare) != NULL && b->vb_size >= bs) {
		varena_spare = NULL;
		bs = b->vb_size;
	} else
#endif
	if ((b = malloc(bs)) == NULL)
		return NULL;
	b->vb_next = va->va_head;
	b->vb_size = bs;
	va->va_head = b;
	va->va_used += bs;
	va->va_p = (char *)b->vb_data;
	va->va_end = (char *)b + bs;
	p = va->va_p;
	va->va_p += size;
	return p;
}

void
varena_free(struct varena *va)
{
	struct varena_blk	*b, *next;

	for (b = va->va_head; b != NULL; b = next) {
		next = b->vb_next;
#ifndef SLAB_DISABLED
		if (b->vb_size <= VARENA_SPARE && (varena_spare == NULL ||
		    varena_spare->vb_size < b->vb_size)) {
			free(varena_spare);
			varena_spare = b;
			continue;
		}
#endif
		free(b);
	}
	va->va_head = NULL;
	va->va_p = va->va_end = NULL;
	va->va_used = 0;
	va->va_full = 0;
}

struct tval *
tval_dict(void)
{
	return tval_alloc(TV_DICT, 0);
}

struct tval *
tval_func(int fid, struct tval *self, const char *name)
{
	struct tval	*v;

	if ((v = tval_alloc(TV_FUNC, 0)) == NULL)
		return NULL;
	v->u.fn.fid = fid;
	v->u.fn.self = self ? tval_ref(self) : NULL;
	v->u.fn.name = name;
	return v;
}

struct tval *
tval_secret(struct tsecret *ts)
{
	struct tval	*v;

	if ((v = tval_alloc(TV_SECRET, 0)) == NULL) {
		tsecret_free(ts);
		return NULL;
	}
	v->u.sec = ts;
	return v;
}

/*
 * An Undefined: msg is what using it raises; text is what it renders
 * (get_variable's placeholder).
 */
struct tval *
tval_undef(const char *msg, const char *text)
{
	struct tval	*v;

	if (msg == NULL && text == NULL)
		return &tval_undef_static;
	if ((v = tval_alloc(TV_UNDEF, 0)) == NULL)
		return NULL;
	if ((msg != NULL && (v->u.un.msg = strdup(msg)) == NULL) ||
	    (text != NULL && (v->u.un.text = strdup(text)) == NULL)) {
		tval_unref(v);
		return NULL;
	}
	return v;
}

/*
 * The Undefined of an inline if without else: most are rendered (as
 * nothing), few raise, so the message is written only when one raises
 * (eval_undefined_error).
 */
struct tval *
tval_undef_if(int line)
{
	struct tval	*v;

	if ((v = tval_alloc(TV_UNDEF, 0)) == NULL)
		return NULL;
	v->u.un.ifline = line;
	return v;
}

/*
 * An Undefined with a message.  A miss makes one every time (x.y |
 * default(''), a name no one passed) and most are never raised, so the
 * callers' formats, plain %s, are expanded here; anything else goes to
 * vsnprintf, which was most of this function's cost.  Truncated at 511
 * bytes either way.
 */
struct tval *
tval_undef_fmt(const char *fmt, ...)
{
	va_list		 ap;
	char		 msg[512];
	const char	*p, *s;
	size_t		 n = 0, k;

	va_start(ap, fmt);
	for (p = fmt; *p != '\0' && n < sizeof(msg) - 1; p++) {
		if (*p != '%') {
			msg[n++] = *p;
			continue;
		}
		if (p[1] != 's') {
			va_end(ap);
			va_start(ap, fmt);
			vsnprintf(msg, sizeof(msg), fmt, ap);
			n = strlen(msg);
			break;
		}
		p++;
		s = va_arg(ap, const char *);
		k = strlen(s);
		if (k > sizeof(msg) - 1 - n)
			k = sizeof(msg) - 1 - n;
		memcpy(msg + n, s, k);
		n += k;
	}
	va_end(ap);
	msg[n] = '\0';
	return tval_undef(msg, NULL);
}

/* Immortal values (None, bools, small ints) are shared and never counted. */
struct tval *
tval_ref(struct tval *v)
{
	if (v != NULL && !(v->tv_flags & TVF_IMMORTAL))
		v->tv_refs++;
	return v;
}

/*
 * A child of a value being freed lets go of its reference: a string with
 * no other holder is freed on the spot (most children of a JSON body are),
 * a container goes on the stack so deep data never recurses.  Returns -1
 * when the stack could not grow (the child then leaks rather than crash).
 */
struct freestack {
	struct tval	**fs_v;
	size_t		  fs_n;
	size_t		  fs_cap;
	struct tval	 *fs_local[32];
};

static inline void
tval_drop(struct freestack *fs, struct tval *x)
{
	struct tval	**ns;
	size_t		  nc;

	if (x == NULL || (x->tv_flags & TVF_IMMORTAL) || --x->tv_refs != 0)
		return;
	if ((x->tv_type == TV_STR || x->tv_type == TV_BYTES) &&
	    !(x->tv_flags & TVF_OWNBUF)) {
		slab_release(x, x->tv_slab);
		return;
	}
	if (fs->fs_n == fs->fs_cap) {
		nc = fs->fs_cap * 2;
		if ((ns = fs->fs_v == fs->fs_local ? malloc(nc * sizeof(*ns)) :
		    realloc(fs->fs_v, nc * sizeof(*ns))) == NULL)
			return;
		if (fs->fs_v == fs->fs_local)
			memcpy(ns, fs->fs_local, fs->fs_n * sizeof(*ns));
		fs->fs_v = ns;
		fs->fs_cap = nc;
	}
	fs->fs_v[fs->fs_n++] = x;
}

/* Free a value whose count reached zero, dropping its children. */
static void
tval_release(struct freestack *fs, struct tval *v)
{
	size_t	 i;

	switch (v->tv_type) {
	case TV_STR:
	case TV_BYTES:
		if (v->tv_flags & TVF_OWNBUF)
			free(v->u.s.p);
		break;
	case TV_LIST:
	case TV_TUPLE:
		for (i = 0; i < v->u.l.n; i++)
			tval_drop(fs, v->u.l.v[i]);
		if (!(v->tv_flags & TVF_INLINE))
			array_free(v->u.l.v, v->u.l.cap * sizeof(*v->u.l.v));
		free(v->u.l.rng);
		break;
	case TV_DICT:
	case TV_NS:
		for (i = 0; i < v->u.d.n; i++) {
			tval_drop(fs, v->u.d.e[i].de_key);
			tval_drop(fs, v->u.d.e[i].de_val);
		}
		dict_ents_free(v);
		free(v->u.d.idx);
		break;
	case TV_FUNC:
		tval_drop(fs, v->u.fn.self);
		break;
	case TV_UNDEF:
		free(v->u.un.msg);
		free(v->u.un.text);
		break;
	case TV_SECRET:
		tsecret_free(v->u.sec);
		break;
	case TV_LOOP:
		loopctx_free(v->u.loop);
		break;
	case TV_CYCLER:
		for (i = 0; i < v->u.cyc.n; i++)
			tval_drop(fs, v->u.cyc.v[i]);
		if (!(v->tv_flags & TVF_INLINE))
			array_free(v->u.cyc.v, v->u.cyc.cap * sizeof(*v->u.cyc.v));
		break;
	case TV_JOINER:
		tval_drop(fs, v->u.joi.sep);
		break;
	case TV_MACRO:
		macro_free(v->u.mac);
		break;
	default:
		break;
	}
	slab_release(v, v->tv_slab);
}

void
tval_unref(struct tval *v)
{
	if (v == NULL || (v->tv_flags & TVF_IMMORTAL) || --v->tv_refs > 0)
		return;
	tval_free_zero(v);
}

/* v's count has reached zero: free it and whatever it alone held. */
void
tval_free_zero(struct tval *v)
{
	struct freestack	 fs;

	/* an explicit stack: deeply nested data must not overflow ours */
	fs.fs_v = fs.fs_local;
	fs.fs_cap = sizeof(fs.fs_local) / sizeof(fs.fs_local[0]);
	fs.fs_n = 0;
	tval_release(&fs, v);
	while (fs.fs_n > 0)
		tval_release(&fs, fs.fs_v[--fs.fs_n]);
	if (fs.fs_v != fs.fs_local)
		free(fs.fs_v);
}

/*
 * Template constants belong to the template, which holds one reference:
 * a constant stored into a longer-lived value (the globals) stays valid
 * after tmpl_free.  A compiled template is rendered by one thread at a
 * time (counts are not atomic).
 */
struct tval *
tval_immortal(struct tmpl *t, struct tval *v)
{
	struct tval	**nv;

	if (v == NULL)
		return NULL;
	if (v->tv_flags & TVF_IMMORTAL)
		return v;
	if (t->t_nconsts == t->t_cconsts) {
		size_t	 c = t->t_cconsts ? t->t_cconsts * 2 : 16;

		if ((nv = realloc(t->t_consts, c * sizeof(*nv))) == NULL) {
			tval_unref(v);
			return NULL;
		}
		t->t_consts = nv;
		t->t_cconsts = c;
	}
	/* caches filled now, not during renders */
	if (v->tv_type == TV_STR) {
		(void)tval_hash(v);
		(void)tval_is_ascii(v);
		(void)tval_nchars(v);
	}
	t->t_consts[t->t_nconsts++] = v;
	return v;
}

void
tval_free_immortal(struct tval *v)
{
	tval_unref(v);
}

/*
 * Takes v. Lists remember whether they may hold a namespace (cycle checks).
 */
int
tval_list_append(struct tval *l, struct tval *v)
{
	return tval_list_append_slow(l, v);
}

/* Grows the array when it is full. */
int
tval_list_append_slow(struct tval *l, struct tval *v)
{
	if (v == NULL)
		return -1;
	if (l->u.l.n == l->u.l.cap &&
	    list_items_grow(l, l->u.l.cap ? l->u.l.cap * 2 : 4) == -1) {
		tval_unref(v);
		return -1;
	}
	l->u.l.v[l->u.l.n++] = v;
	if (v->tv_type == TV_NS || (v->tv_flags & TVF_NSIN))
		l->tv_flags |= TVF_NSIN;
	return 0;
}

/*
 * Room for n items, so that a list of known size (concatenation) is built
 * with one allocation instead of a chain of doubling reallocs.
 */
int
tval_list_reserve(struct tval *l, size_t n)
{
	if (n <= l->u.l.cap)
		return 0;
	return list_items_grow(l, n);
}

/*
 * An empty list takes a malloc'd array of n items (n references) as its
 * own: a large one as it is, a small one copied into a cached block.
 */
int
tval_list_adopt(struct tval *l, struct tval **items, size_t n)
{
	if (n == 0) {
		free(items);
		return 0;
	}
	if (slab_class(n * sizeof(*items)) == SLAB_NONE) {
		l->u.l.v = items;
		l->u.l.n = l->u.l.cap = n;
		return 0;
	}
	if (list_items_grow(l, n) == -1)
		return -1;
	memcpy(l->u.l.v, items, n * sizeof(*items));
	l->u.l.n = n;
	free(items);
	return 0;
}

/* --- Hash and equality ------------------------------------------------- */

static uint64_t
hash_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Python's hashability: lists, dicts and namespaces cannot be keys. */
int
tval_hashable(const struct tval *v)
{
	size_t	 i;

	switch (v->tv_type) {
	case TV_NONE: case TV_BOOL: case TV_INT: case TV_FLOAT: case TV_STR:
	case TV_BYTES: case TV_UNDEF: case TV_FUNC: case TV_MACRO:
		return 1;
	case TV_TUPLE:
		for (i = 0; i < v->u.l.n; i++)
			if (!tval_hashable(v->u.l.v[i]))
				return 0;
		return 1;
	default:
		return 0;
	}
}

/* Equal values hash alike across int, float and bool, as in Python. */
static uint64_t
tval_hash_depth(const struct tval *v, int depth)
{
	uint64_t	 h;
	size_t		 i;
	double		 f;

	if (depth > VAL_MAXDEPTH)
		return 0;
	switch (v->tv_type) {
	case TV_NONE:
		return 0x9e3779b97f4a7c15ULL;
	case TV_UNDEF:
		/* every Undefined is equal to every other (Undefined.__hash__) */
		return 0x7f4a7c159e3779b9ULL;
	case TV_BOOL:
	case TV_INT:
		return hash_mix((uint64_t)v->u.i);
	case TV_FLOAT:
		/* 1.0 and 1 are the same key, as in Python */
		f = v->u.f;
		if (f == floor(f) && f >= -9.2e18 && f <= 9.2e18)
			return hash_mix((uint64_t)(int64_t)f);
		{
			uint64_t	 bits;

			memcpy(&bits, &f, sizeof(bits));
			return hash_mix(bits ^ 0x5555);
		}
	case TV_STR:
	case TV_BYTES:
		if (v->u.s.h == 0)
			((struct tval *)v)->u.s.h = tmpl_hash(v->u.s.p,
			    v->u.s.len);
		return v->u.s.h;
	case TV_TUPLE:
		h = 0x345678;
		for (i = 0; i < v->u.l.n; i++)
			h = hash_mix(h ^ tval_hash_depth(v->u.l.v[i], depth + 1));
		return h;
	default:
		return hash_mix((uint64_t)(uintptr_t)v);
	}
}

uint64_t
tval_hash(const struct tval *v)
{
	return tval_hash_depth(v, 0);
}

/* Python's ==; dicts compare as mappings, order aside. */
static int
tval_eq_depth(const struct tval *a, const struct tval *b, int depth)
{
	size_t			 i;
	const struct tval	*bv;

	if (a == b)
		return 1;
	if (depth > VAL_MAXDEPTH)
		return 0;
	if (is_num(a) && is_num(b)) {
		if (a->tv_type == TV_FLOAT || b->tv_type == TV_FLOAT) {
			double	 x = a->tv_type == TV_FLOAT ? a->u.f :
			    (double)a->u.i;
			double	 y = b->tv_type == TV_FLOAT ? b->u.f :
			    (double)b->u.i;

			return x == y;
		}
		return a->u.i == b->u.i;
	}
	if (a->tv_type != b->tv_type)
		return 0;
	switch (a->tv_type) {
	case TV_NONE:
	case TV_UNDEF:
		return 1;
	case TV_STR:
	case TV_BYTES:
		return a->u.s.len == b->u.s.len &&
		    memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	case TV_LIST:
	case TV_TUPLE:
		if (a->u.l.n != b->u.l.n)
			return 0;
		for (i = 0; i < a->u.l.n; i++)
			if (!tval_eq_depth(a->u.l.v[i], b->u.l.v[i], depth + 1))
				return 0;
		return 1;
	case TV_DICT:
		if (a->u.d.n != b->u.d.n)
			return 0;
		for (i = 0; i < a->u.d.n; i++) {
			bv = tval_dict_get(b, a->u.d.e[i].de_key);
			if (bv == NULL || !tval_eq_depth(a->u.d.e[i].de_val, bv,
			    depth + 1))
				return 0;
		}
		return 1;
	case TV_FUNC:
		return a->u.fn.fid == b->u.fn.fid && a->u.fn.self == b->u.fn.self;
	default:
		return 0;
	}
}

int
tval_eq(const struct tval *a, const struct tval *b)
{
	return tval_eq_depth(a, b, 0);
}

/* --- Dict -------------------------------------------------------------- */


/*
 * Open addressing over entry indexes, built once a dict outgrows a linear
 * scan.
 */
static int
dict_reindex(struct tval *d, size_t cap)
{
	uint32_t	*idx;
	size_t		 i, j;

	if ((idx = calloc(cap, sizeof(*idx))) == NULL)
		return -1;
	for (i = 0; i < d->u.d.n; i++) {
		j = d->u.d.e[i].de_hash & (cap - 1);
		while (idx[j] != 0)
			j = (j + 1) & (cap - 1);
		idx[j] = (uint32_t)(i + 1);
	}
	free(d->u.d.idx);
	d->u.d.idx = idx;
	d->u.d.idxcap = cap;
	return 0;
}

/* Small dicts are scanned; larger ones probe the index. */
static ssize_t
dict_find(const struct tval *d, const struct tval *k, uint64_t h)
{
	size_t	 i, j;

	if (d->u.d.idx == NULL) {
		for (i = 0; i < d->u.d.n; i++)
			if (d->u.d.e[i].de_hash == h &&
			    tval_eq(d->u.d.e[i].de_key, k))
				return (ssize_t)i;
		return -1;
	}
	j = h & (d->u.d.idxcap - 1);
	while (d->u.d.idx[j] != 0) {
		i = d->u.d.idx[j] - 1;
		if (d->u.d.e[i].de_hash == h && tval_eq(d->u.d.e[i].de_key, k))
			return (ssize_t)i;
		j = (j + 1) & (d->u.d.idxcap - 1);
	}
	return -1;
}

struct tval *
tval_dict_get(const struct tval *d, const struct tval *k)
{
	ssize_t	 i;

	if (!tval_hashable(k))
		return NULL;
	if ((i = dict_find(d, k, tval_hash(k))) < 0)
		return NULL;
	return d->u.d.e[i].de_val;
}

/* Lookup by a C string key with its precomputed hash (compile-time names). */
struct tval *
tval_dict_gets(const struct tval *d, const char *k, size_t len, uint64_t h)
{
	size_t			 i, j;
	const struct tval	*key;

	if (d->u.d.idx == NULL) {
		for (i = 0; i < d->u.d.n; i++) {
			key = d->u.d.e[i].de_key;
			if (d->u.d.e[i].de_hash == h && key->tv_type == TV_STR &&
			    key->u.s.len == len &&
			    memcmp(key->u.s.p, k, len) == 0)
				return d->u.d.e[i].de_val;
		}
		return NULL;
	}
	j = h & (d->u.d.idxcap - 1);
	while (d->u.d.idx[j] != 0) {
		i = d->u.d.idx[j] - 1;
		key = d->u.d.e[i].de_key;
		if (d->u.d.e[i].de_hash == h && key->tv_type == TV_STR &&
		    key->u.s.len == len && memcmp(key->u.s.p, k, len) == 0)
			return d->u.d.e[i].de_val;
		j = (j + 1) & (d->u.d.idxcap - 1);
	}
	return NULL;
}

/*
 * dict_get_key past its inline check: the slot's key by its bytes (the
 * globals' keys are not the template's), then a scan comparing pointers
 * (from_json shares the template's keys), then the general lookup.
 */
struct tval *
dict_get_key_slow(const struct tval *d, const struct tval *key,
    uint32_t *slot)
{
	const struct tdict_ent	*e = d->u.d.e;
	const struct tval	*k;
	size_t			 i = *slot, n = d->u.d.n;
	ssize_t			 j;

	if (i < n) {
		if (e[i].de_hash == key->u.s.h && (k = e[i].de_key)->tv_type ==
		    TV_STR && k->u.s.len == key->u.s.len &&
		    memcmp(k->u.s.p, key->u.s.p, key->u.s.len) == 0)
			return e[i].de_val;
	}
	if (d->u.d.idx == NULL)
		for (i = 0; i < n; i++)
			if (e[i].de_key == key) {
				*slot = (uint32_t)i;
				return e[i].de_val;
			}
	if ((j = dict_find(d, key, tval_hash(key))) < 0)
		return NULL;
	*slot = (uint32_t)j;
	return e[j].de_val;
}

/* Room for n entries, so that filling a dict of known size never reallocs. */
int
tval_dict_reserve(struct tval *d, size_t n)
{
	if (n <= d->u.d.cap)
		return 0;
	return dict_ents_grow(d, n);
}

/* Takes both references, also on failure. */
int
tval_dict_put(struct tval *d, struct tval *k, struct tval *v)
{
	uint64_t		 h;
	ssize_t			 i;
	size_t			 j;

	if (k == NULL || v == NULL)
		goto fail;
	if (v->tv_type == TV_NS || (v->tv_flags & TVF_NSIN))
		d->tv_flags |= TVF_NSIN;
	h = tval_hash(k);
	if ((i = dict_find(d, k, h)) >= 0) {
		tval_unref(k);
		tval_unref(d->u.d.e[i].de_val);
		d->u.d.e[i].de_val = v;
		return 0;
	}
	if (d->u.d.n >= UINT32_MAX - 1)
		goto fail;
	if (d->u.d.n == d->u.d.cap) {
		size_t	 c = d->u.d.cap ? d->u.d.cap * 2 : 4;

		if (dict_ents_grow(d, c) == -1)
			goto fail;
	}
	d->u.d.e[d->u.d.n].de_key = k;
	d->u.d.e[d->u.d.n].de_val = v;
	d->u.d.e[d->u.d.n].de_hash = h;
	d->u.d.n++;
	if (d->u.d.n > DICT_LINEAR) {
		if (d->u.d.idx == NULL || d->u.d.n * 2 > d->u.d.idxcap) {
			size_t	 c = d->u.d.idxcap ? d->u.d.idxcap * 2 : 32;

			if (dict_reindex(d, c) == -1) {
				/* keep it consistent: linear lookups */
				free(d->u.d.idx);
				d->u.d.idx = NULL;
				d->u.d.idxcap = 0;
			}
		} else {
			j = h & (d->u.d.idxcap - 1);
			while (d->u.d.idx[j] != 0)
				j = (j + 1) & (d->u.d.idxcap - 1);
			d->u.d.idx[j] = (uint32_t)d->u.d.n;
		}
	}
	return 0;
fail:
	tval_unref(k);
	tval_unref(v);
	return -1;
}

/*
 * Fill an empty dict from n key/value pairs (kv[2i], kv[2i + 1]), taking
 * every reference, also on failure: how from_json builds objects.  A
 * small object is checked for repeated keys by hash and pointer (keys of
 * one document are shared values) without the general path; a repeated
 * key keeps its first place and takes the last value, as json.loads does.
 */
int
tval_dict_fill(struct tval *d, struct tval **kv, size_t n)
{
	struct tdict_ent	*e;
	struct tval		*k, *v;
	size_t			 i, j, m = 0;
	uint64_t		 h, seen = 0;

	if (n > DICT_LINEAR) {
		for (i = 0; i < n; i++)
			if (tval_dict_put(d, kv[2 * i], kv[2 * i + 1]) == -1) {
				for (i++; i < n; i++) {
					tval_unref(kv[2 * i]);
					tval_unref(kv[2 * i + 1]);
				}
				return -1;
			}
		return 0;
	}
	if (n > 0 && tval_dict_reserve(d, n) == -1) {
		for (i = 0; i < 2 * n; i++)
			tval_unref(kv[i]);
		return -1;
	}
	e = d->u.d.e;
	for (i = 0; i < n; i++) {
		k = kv[2 * i];
		v = kv[2 * i + 1];
		/* a key from from_json has its hash with it */
		h = k->tv_type == TV_STR && k->u.s.h != 0 ? k->u.s.h :
		    tval_hash(k);
		/* a bit per hash says when no earlier key can be this one */
		j = m;
		if (seen & (1ULL << (h & 63)))
			for (j = 0; j < m; j++)
				if (e[j].de_hash == h && (e[j].de_key == k ||
				    tval_eq(e[j].de_key, k)))
					break;
		seen |= 1ULL << (h & 63);
		if (j < m) {
			tval_unref(k);
			tval_unref(e[j].de_val);
			e[j].de_val = v;
			continue;
		}
		e[m].de_key = k;
		e[m].de_val = v;
		e[m].de_hash = h;
		m++;
	}
	d->u.d.n = m;
	return 0;
}

int
tval_dict_setn(struct tval *d, const char *key, size_t keylen, struct tval *v)
{
	struct tval	*k;

	if ((k = tval_str(key, keylen)) == NULL) {
		tval_unref(v);
		return -1;
	}
	return tval_dict_put(d, k, v);
}

/* --- Truth, names, lengths --------------------------------------------- */

/* Python's truth: empty and zero are false, Undefined too. */
int
tval_truth(const struct tval *v)
{
	switch (v->tv_type) {
	case TV_UNDEF:
	case TV_NONE:
		return 0;
	case TV_BOOL:
	case TV_INT:
		return v->u.i != 0;
	case TV_FLOAT:
		return v->u.f != 0.0;
	case TV_STR:
	case TV_BYTES:
		return v->u.s.len != 0;
	case TV_LIST:
	case TV_TUPLE:
		return v->u.l.n != 0;
	case TV_DICT:
		return v->u.d.n != 0;
	default:
		return 1;
	}
}

/* Python's type names, for error messages. */
const char *
tval_typename(const struct tval *v)
{
	switch (v->tv_type) {
	case TV_UNDEF:	return "Undefined";
	case TV_NONE:	return "NoneType";
	case TV_BOOL:	return "bool";
	case TV_INT:	return "int";
	case TV_FLOAT:	return "float";
	case TV_STR:	return "str";
	case TV_BYTES:	return "bytes";
	case TV_LIST:	return "list";
	case TV_TUPLE:	return v->u.l.rng != NULL ? "range" : "tuple";
	case TV_DICT:	return "dict";
	case TV_NS:	return "Namespace";
	case TV_FUNC:	return "builtin_function_or_method";
	case TV_MACRO:	return "Macro";
	case TV_SECRET:	return "secret";
	case TV_LOOP:	return "LoopContext";
	case TV_CYCLER:	return "Cycler";
	case TV_JOINER:	return "Joiner";
	}
	return "object";
}

int
tval_is_ascii(const struct tval *v)
{
	struct tval	*w = (struct tval *)v;
	const char	*p = v->u.s.p;
	size_t		 i, n = v->u.s.len;
	uint64_t	 a, b;
	uint32_t	 c, d;
	int		 ascii = 1;

	if (v->tv_flags & TVF_ASCII_KNOWN)
		return (v->tv_flags & TVF_ASCII) != 0;
	/* names and words: two overlapping loads see all their bytes */
	if (n >= 8 && n <= 16) {
		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		ascii = ((a | b) & 0x8080808080808080ULL) == 0;
	} else if (n >= 4 && n < 8) {
		memcpy(&c, p, 4);
		memcpy(&d, p + n - 4, 4);
		ascii = ((c | d) & 0x80808080U) == 0;
	} else
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] >= 0x80) {
				ascii = 0;
				break;
			}
	/* a cache bit on an otherwise immutable value */
	w->tv_flags |= TVF_ASCII_KNOWN | (ascii ? TVF_ASCII : 0);
	return ascii;
}

/* Length of a str in characters (code points). */
size_t
tval_nchars(const struct tval *v)
{
	size_t	 i, n = 0;

	if (tval_is_ascii(v))
		return v->u.s.len;
	if (v->u.s.nch != 0)
		return v->u.s.nch - 1;
	for (i = 0; i < v->u.s.len; i++)
		if (((unsigned char)v->u.s.p[i] & 0xc0) != 0x80)
			n++;
	/* like the ASCII bit: a cache on an immutable value */
	if (!(v->tv_flags & TVF_IMMORTAL))
		((struct tval *)v)->u.s.nch = n + 1;
	return n;
}

/*
 * Does `from` contain `to` (or is it)?  Used to refuse reference cycles.  A
 * namespace can only be reached through containers flagged TVF_NSIN, so the
 * common "set ns.x = ns.x + [item]" costs nothing here.
 */
int
tval_reaches(const struct tval *from, const struct tval *to, int depth)
{
	size_t			 i, n;
	const struct tval	*k;

	if (from == to)
		return 1;
	if (depth > VAL_MAXDEPTH)
		return 1;	/* too deep to tell: treat as a cycle */
	if (to->tv_type == TV_NS && !(from->tv_flags & TVF_NSIN))
		return 0;
	switch (from->tv_type) {
	case TV_LIST:
	case TV_TUPLE:
		n = from->u.l.n;
		break;
	case TV_DICT:
	case TV_NS:
		n = from->u.d.n;
		break;
	default:
		return 0;
	}
	for (i = 0; i < n; i++) {
		k = from->tv_type == TV_LIST || from->tv_type == TV_TUPLE ?
		    from->u.l.v[i] : from->u.d.e[i].de_val;
		if (tval_is_container(k) && tval_reaches(k, to, depth + 1))
			return 1;
	}
	return 0;
}

/* --- str() and repr() -------------------------------------------------- */

/*
 * y rounded to an integer, to even as the default rounding mode has it,
 * without a call to libm: y's integer part, one up past the half.  From
 * 2^52 y is integral and h rounds to the even neighbour, which leaves k
 * as it is.
 */
static inline int64_t
round_even(double y)
{
	int64_t	 k = (int64_t)y;
	double	 h = (double)k + 0.5;

	if (y > h || (y == h && (k & 1)))
		k++;
	return k;
}

/*
 * repr of the common "few decimals" values, 1e-4 <= |d| < 1e15: the
 * first n for which round(|d| * 10^n) / 10^n gives |d| back is the
 * shortest repr (both operations round correctly: k < 2^53, 10^n
 * exact).  An integral d below 2^53 / 10 matches at n = 1 and prints as
 * "k.0", as repr has it.  The digits are written backwards, ending at
 * end (FMT_FLOAT_FAST_MAX bytes at most); NULL for any other d (NaN
 * too: it fails the range test).
 *
 * Prices and the like have two decimals, so below 1e13 n = 2 is tried
 * first.  If n = 1 matches with k, |d| * 100 is within 200 |d| 2^-53 <
 * 1/4 of 10 k, so n = 2 matches with 10 k; and if n = 2 matches with a
 * multiple of ten, 10 |d| is as close to k / 10 and n = 1 matches with
 * that.  So n = 2 decides n = 1 too: a multiple of ten is n = 1's k
 * times ten, another match is n = 2's own, and no match there means
 * none at n = 1 either.
 */
char *
fmt_float_fast(char *end, double d)
{
	static const double	 p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6,
	    1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
	    1e18 };
	double			 a = fabs(d), y;
	int64_t			 k;
	uint64_t		 q;
	char			*p;
	int			 n, j;

	if (!(a >= 1e-4 && a < 1e15))
		return NULL;
	n = 1;
	if (a < 1e13) {
		k = round_even(a * 100);
		if ((double)k / 100 == a) {
			n = 2;
			if (k % 10 == 0) {
				k /= 10;
				n = 1;
			}
			goto digits;
		}
		n = 3;
	}
	for (; n <= 18; n++) {
		/*
		 * y is only compared, so no multiply-add can fuse a *
		 * p10[n] into something rounded otherwise.
		 */
		y = a * p10[n];
		if (y >= 9007199254740992.0)
			break;
		k = round_even(y);
		if ((double)k / p10[n] == a)
			goto digits;
	}
	return NULL;
digits:
	/* trailing zeros mean a smaller n matched */
	p = end;
	q = (uint64_t)k;
	j = n;
	if (j == 2) {
		/* the common case in a straight line */
		p -= 2;
		memcpy(p, digit_pairs + 2 * (q % 100), 2);
		q /= 100;
		j = 0;
	}
	for (; j >= 2; j -= 2, q /= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (q % 100), 2);
	}
	if (j == 1) {
		*--p = (char)('0' + q % 10);
		q /= 10;
	}
	*--p = '.';
	p = fmt_uint_back(p, q);
	if (d < 0)
		*--p = '-';
	return p;
}

/* Python's repr(float): the shortest string that round-trips. */
void
fmt_float_repr(struct buf *b, double d)
{
	char	 tmp[64], digits[32];
	int	 prec, nd = 0, exp10, decpt, i;
	char	*p, *e;

	if ((p = fmt_float_fast(tmp + sizeof(tmp), d)) != NULL) {
		buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
		return;
	}
	if (isnan(d)) {
		buf_adds(b, "nan");
		return;
	}
	if (isinf(d)) {
		buf_adds(b, d < 0 ? "-inf" : "inf");
		return;
	}
	if (d == 0) {
		buf_adds(b, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	/* integral values below 1e16 print as themselves plus ".0" */
	if (fabs(d) < 1e16 && d == (double)(int64_t)d) {
		buf_add_int(b, (int64_t)d);
		buf_adds(b, ".0");
		return;
	}
	/*
	 * Correct rounding to 15 digits yields the shortest repr whenever
	 * that has at most 15 digits; only then try 16 and 17.
	 */
	/* subnormals carry fewer digits: search from one */
	for (prec = fabs(d) < 2.2250738585072014e-308 ? 1 : 15; prec <= 17;
	    prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	p = tmp;
	if (*p == '-') {
		buf_addc(b, '-');
		p++;
	}
	e = strchr(p, 'e');
	for (; p < e; p++)
		if (*p != '.')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	exp10 = atoi(e + 1);
	decpt = exp10 + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			buf_adds(b, "0.");
			for (i = 0; i < -decpt; i++)
				buf_addc(b, '0');
			buf_add(b, digits, (size_t)nd);
		} else if (decpt >= nd) {
			buf_add(b, digits, (size_t)nd);
			for (i = nd; i < decpt; i++)
				buf_addc(b, '0');
			buf_adds(b, ".0");
		} else {
			buf_add(b, digits, (size_t)decpt);
			buf_addc(b, '.');
			buf_add(b, digits + decpt, (size_t)(nd - decpt));
		}
		return;
	}
	buf_addc(b, digits[0]);
	if (nd > 1) {
		buf_addc(b, '.');
		buf_add(b, digits + 1, (size_t)(nd - 1));
	}
	buf_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
}

/* Decode one UTF-8 sequence; returns its length, or 0 when invalid. */
static int
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	int		 n, i;
	uint32_t	 c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if ((size_t)n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c < 0xe000))
		return 0;
	*cp = c;
	return n;
}

/* Python's str.isprintable(), approximated for the characters that matter. */
static int
cp_printable(uint32_t c)
{
	if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad)
		return 0;
	if ((c >= 0x600 && c <= 0x605) || c == 0x61c || c == 0x6dd ||
	    c == 0x70f || c == 0x180e || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
	    (c >= 0x205f && c <= 0x206f) || c == 0x3000 ||
	    (c >= 0xe000 && c <= 0xf8ff) || c == 0xfeff ||
	    (c >= 0xfff0 && c <= 0xfffb) || c == 0xfffe || c == 0xffff ||
	    (c >= 0xe0000 && c <= 0xe0fff) || c >= 0xf0000)
		return 0;
	return 1;
}

/*
 * repr(str): single quotes unless the text has ' and no "; escapes as
 * Python does.
 */
static void
repr_str(struct buf *b, const char *s, size_t len, int bytes)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;
	int			 q = '\'', n;
	uint32_t		 cp;

	if (memchr(s, '\'', len) != NULL && memchr(s, '"', len) == NULL)
		q = '"';
	if (bytes)
		buf_addc(b, 'b');
	buf_addc(b, q);
	for (i = 0; i < len; i++) {
		int	 c = p[i];

		if (c == q || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, c);
		} else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", (unsigned)c);
		else if (c < 0x80)
			buf_addc(b, c);
		else if (bytes)
			buf_printf(b, "\\x%02x", (unsigned)c);
		else if ((n = utf8_decode(p + i, len - i, &cp)) == 0)
			buf_printf(b, "\\x%02x", (unsigned)c);
		else {
			if (cp_printable(cp))
				buf_add(b, p + i, (size_t)n);
			else if (cp <= 0xff)
				buf_printf(b, "\\x%02x", (unsigned)cp);
			else if (cp <= 0xffff)
				buf_printf(b, "\\u%04x", (unsigned)cp);
			else
				buf_printf(b, "\\U%08x", (unsigned)cp);
			i += (size_t)n - 1;
		}
	}
	buf_addc(b, q);
}

/* repr(): what lists and dicts print for their items. */
int
tval_repr_into(struct buf *b, const struct tval *v, int depth)
{
	size_t	 i;

	if (depth > VAL_MAXDEPTH || b->b_over)
		return -1;
	switch (v->tv_type) {
	case TV_STR:
		if (v->tv_flags & TVF_MARKUP) {
			/* markupsafe's repr: Markup('&lt;') */
			buf_adds(b, "Markup(");
			repr_str(b, v->u.s.p, v->u.s.len, 0);
			buf_addc(b, ')');
			return 0;
		}
		repr_str(b, v->u.s.p, v->u.s.len, 0);
		return 0;
	case TV_BYTES:
		repr_str(b, v->u.s.p, v->u.s.len, 1);
		return 0;
	case TV_UNDEF:
		buf_adds(b, "Undefined");
		return 0;
	case TV_LIST:
	case TV_TUPLE:
		if (v->u.l.rng != NULL) {
			/* a range object spells itself like Python's */
			buf_printf(b, "range(%" PRId64 ", %" PRId64, v->u.l.rng[0],
			    v->u.l.rng[1]);
			if (v->u.l.rng[2] != 1)
				buf_printf(b, ", %" PRId64, v->u.l.rng[2]);
			buf_addc(b, ')');
			return 0;
		}
		if (v->tv_flags & (TVF_VITEMS | TVF_VKEYS | TVF_VVALUES))
			buf_adds(b, (v->tv_flags & TVF_VITEMS) ? "dict_items(" :
			    (v->tv_flags & TVF_VKEYS) ? "dict_keys(" :
			    "dict_values(");
		buf_addc(b, v->tv_type == TV_LIST ? '[' : '(');
		for (i = 0; i < v->u.l.n; i++) {
			if (i)
				buf_adds(b, ", ");
			if (tval_repr_into(b, v->u.l.v[i], depth + 1) == -1)
				return -1;
		}
		if (v->tv_type == TV_TUPLE && v->u.l.n == 1)
			buf_addc(b, ',');
		buf_addc(b, v->tv_type == TV_LIST ? ']' : ')');
		if (v->tv_flags & (TVF_VITEMS | TVF_VKEYS | TVF_VVALUES))
			buf_addc(b, ')');
		return 0;
	case TV_DICT:
		buf_addc(b, '{');
		for (i = 0; i < v->u.d.n; i++) {
			if (i)
				buf_adds(b, ", ");
			if (tval_repr_into(b, v->u.d.e[i].de_key, depth + 1) ==
			    -1)
				return -1;
			buf_adds(b, ": ");
			if (tval_repr_into(b, v->u.d.e[i].de_val, depth + 1) ==
			    -1)
				return -1;
		}
		buf_addc(b, '}');
		return 0;
	case TV_NS:
		buf_adds(b, "<Namespace {");
		for (i = 0; i < v->u.d.n; i++) {
			if (i)
				buf_adds(b, ", ");
			if (tval_repr_into(b, v->u.d.e[i].de_key, depth + 1) ==
			    -1)
				return -1;
			buf_adds(b, ": ");
			if (tval_repr_into(b, v->u.d.e[i].de_val, depth + 1) ==
			    -1)
				return -1;
		}
		buf_adds(b, "}>");
		return 0;
	default:
		return tval_str_into(b, v);
	}
}

/* str(): what {{ }} prints. */
int
tval_str_into(struct buf *b, const struct tval *v)
{
	const char	*name;

	switch (v->tv_type) {
	case TV_UNDEF:
		if (v->u.un.text != NULL)
			buf_adds(b, v->u.un.text);
		return 0;
	case TV_NONE:
		return buf_adds(b, "None");
	case TV_BOOL:
		return buf_adds(b, v->u.i ? "True" : "False");
	case TV_INT:
		return buf_add_int(b, v->u.i);
	case TV_FLOAT:
		fmt_float_repr(b, v->u.f);
		return 0;
	case TV_STR:
		return buf_add(b, v->u.s.p, v->u.s.len);
	case TV_BYTES:
	case TV_LIST:
	case TV_TUPLE:
	case TV_DICT:
	case TV_NS:
		return tval_repr_into(b, v, 0);
	case TV_FUNC:
		/*
		 * Python's shape, but never a real address: the output goes
		 * to a browser, and a heap pointer there would leak the
		 * worker's address-space layout (and make the output differ
		 * between renders).
		 */
		if (v->u.fn.self != NULL)
			return buf_printf(b, "<built-in method %s of %s object "
			    "at 0x0>", v->u.fn.name ? v->u.fn.name : "function",
			    tval_typename(v->u.fn.self));
		return buf_printf(b, "<function %s at 0x0>", v->u.fn.name ?
		    v->u.fn.name : "function");
	case TV_MACRO:
		/* Jinja2's Macro.__repr__; a name is an identifier */
		if ((name = macro_name(v->u.mac)) == NULL)
			return buf_adds(b, "<Macro anonymous>");
		return buf_printf(b, "<Macro '%s'>", name);
	case TV_LOOP:
		return buf_adds(b, "<LoopContext>");
	case TV_CYCLER:
	case TV_JOINER:
		/* Python's shape, never a heap address (see TV_FUNC) */
		return buf_printf(b, "<jinja2.utils.%s object at 0x0>",
		    tval_typename(v));
	case TV_SECRET:
		/* never the value: the worker does not have it */
		return tsecret_literal_into(b, v->u.sec);
	}
	return 0;
}
