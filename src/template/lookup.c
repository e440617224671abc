/*
 * lookup.c — Jinja2's sandboxed lookups: obj.name (Python attributes, that
 * is methods, before keys; '_' names unsafe), obj[key] (keys and indexes
 * before attributes), slices counted in characters, and loop.*.  A miss
 * is an Undefined that fails only where Jinja2's would.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/*
 * Jinja2 names objects in messages as 'dict object', 'None', or
 * module.Class object.
 */
static const char *
obj_type_repr(const struct tval *v, char *tmp, size_t len)
{
	if (v->tv_type == TV_NONE)
		return "None";
	if (v->tv_type == TV_NS)
		return "jinja2.utils.Namespace object";
	if (v->tv_type == TV_LOOP)
		return "jinja2.runtime.LoopContext object";
	if (v->tv_type == TV_MACRO)
		return "jinja2.runtime.Macro object";
	if (v->tv_type == TV_CYCLER || v->tv_type == TV_JOINER) {
		snprintf(tmp, len, "jinja2.utils.%s object", tval_typename(v));
		return tmp;
	}
	snprintf(tmp, len, "%s object", tval_typename(v));
	return tmp;
}

static struct tval *
undef_attr(struct eval *e, const struct tval *obj, const char *name)
{
	char		 tmp[64];
	struct tval	*u;

	u = tval_undef_fmt("'%s' has no attribute '%s'", obj_type_repr(obj, tmp,
	    sizeof(tmp)), name);
	return u != NULL ? u : eval_error(e, "out of memory");
}

static const char *const loop_attrs[] = {
	"index", "index0", "revindex", "revindex0", "first", "last", "length",
	"depth", "depth0", "previtem", "nextitem"
};

int
loop_attr_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(loop_attrs) / sizeof(loop_attrs[0]); i++)
		if (strcmp(loop_attrs[i], name) == 0)
			return (int)i;
	return -1;
}

/*
 * loop.* of Jinja2's LoopContext; ids were resolved when the template was
 * parsed.
 */
static struct tval *
loop_attr(struct eval *e, struct tval *lv, const char *name, int id)
{
	struct loopctx	*lc = lv->u.loop;
	size_t		 i = lc->lc_i, n = lc->lc_n;
	int		 fid;

	switch (id) {
	case LA_INDEX:
		return tval_int((int64_t)i + 1);
	case LA_INDEX0:
		return tval_int((int64_t)i);
	case LA_REVINDEX:
		return tval_int((int64_t)(n - i));
	case LA_REVINDEX0:
		return tval_int((int64_t)(n - i - 1));
	case LA_FIRST:
		return tval_bool(i == 0);
	case LA_LAST:
		return tval_bool(i + 1 == n);
	case LA_LENGTH:
		return tval_int((int64_t)n);
	case LA_DEPTH:
		return tval_int(lc->lc_depth + 1);
	case LA_DEPTH0:
		return tval_int(lc->lc_depth);
	case LA_PREVITEM:
		if (lc->lc_items != NULL && i > 0)
			return tval_ref(lc->lc_items[i - 1]);
		return tval_undef("there is no previous item", NULL);
	case LA_NEXTITEM:
		if (lc->lc_items != NULL && i + 1 < n)
			return tval_ref(lc->lc_items[i + 1]);
		return tval_undef("there is no next item", NULL);
	}
	if ((fid = method_lookup(lv, name)) >= 0)
		return tval_func(fid, lv, builtin_name(fid));
	return undef_attr(e, lv, name);
}

/*
 * Jinja2's sandboxed getattr: Python attributes (methods) win over keys,
 * '_' names are unsafe, a miss is an Undefined that fails only when used.
 */
struct tval *
eval_getattr(struct eval *e, struct tval *obj, const char *name, size_t len)
{
	struct tval	*v;
	int		 fid;

	if (obj->tv_type == TV_UNDEF)
		return eval_undefined_error(e, obj);
	if (name[0] == '_') {
		/* a dict's own key is data, not an internal (Jinja2 agrees) */
		if (obj->tv_type == TV_DICT && (v = tval_dict_gets(obj, name,
		    len, tmpl_hash(name, len))) != NULL)
			return tval_ref(v);
		/*
		 * Jinja2's sandbox answers with an undefined that raises
		 * when used: it renders empty, any further use fails.
		 */
		if ((v = tval_undef_fmt("access to attribute '%s' of '%s' "
		    "object is unsafe.", name, tval_typename(obj))) == NULL)
			return eval_error(e, "out of memory");
		return v;
	}
	switch (obj->tv_type) {
	case TV_UNDEF:
		return eval_undefined_error(e, obj);
	case TV_SECRET:
		return eval_error(e, "a secret has no attributes");
	case TV_NS:
		if ((v = tval_dict_gets(obj, name, len, tmpl_hash(name, len))) !=
		    NULL)
			return tval_ref(v);
		return undef_attr(e, obj, name);
	case TV_LOOP:
		return loop_attr(e, obj, name, loop_attr_find(name));
	case TV_CYCLER:
		/* cycler.current and cycler.items are attributes */
		if (strcmp(name, "current") == 0)
			return tval_ref(obj->u.cyc.v[obj->u.cyc.pos]);
		if (strcmp(name, "items") == 0) {
			struct tval	*t;
			size_t		 i;

			if ((t = tval_container(TV_TUPLE, obj->u.cyc.n)) == NULL)
				return eval_oom(e);
			for (i = 0; i < obj->u.cyc.n; i++)
				t->u.l.v[t->u.l.n++] = tval_ref(obj->u.cyc.v[i]);
			return t;
		}
		break;
	case TV_TUPLE:
		if ((obj->tv_flags & TVF_GROUP) && obj->u.l.n == 2) {
			if (strcmp(name, "grouper") == 0)
				return tval_ref(obj->u.l.v[0]);
			if (strcmp(name, "list") == 0)
				return tval_ref(obj->u.l.v[1]);
		}
		break;
	default:
		break;
	}
	/* Python attributes (methods) first, then items: Jinja2's order */
	if ((fid = method_lookup(obj, name)) >= 0) {
		if ((v = tval_func(fid, obj, builtin_name(fid))) == NULL)
			return eval_error(e, "out of memory");
		return v;
	}
	if (obj->tv_type == TV_DICT &&
	    (v = tval_dict_gets(obj, name, len, tmpl_hash(name, len))) != NULL)
		return tval_ref(v);
	return undef_attr(e, obj, name);
}

/* The method a node's cached ids give for obj, with lookup's runtime rules. */
int
node_method(const struct tnode *n, const struct tval *obj)
{
	int	 fid;

	switch (obj->tv_type) {
	case TV_STR:
		return n->n_meth[0];
	case TV_DICT:
		fid = n->n_meth[1];
		/* by_id is ours (user.profile_fields): keys win */
		if (fid >= 0 && strcmp(n->n_name, "by_id") == 0 &&
		    tval_dict_gets(obj, n->n_name, n->n_namelen, n->n_hash) !=
		    NULL)
			return -1;
		return fid;
	case TV_LIST:
		if (obj->tv_flags & (TVF_VITEMS | TVF_VKEYS | TVF_VVALUES))
			return -1;
		return n->n_meth[2];
	case TV_TUPLE:
		return n->n_meth[3];
	case TV_LOOP:
		return n->n_meth[4] >= 0 ? -1 : method_lookup(obj, n->n_name);
	default:
		return -1;
	}
}

/* obj.name with the node's precomputed hash and method ids. */
struct tval *
getattr_node(struct eval *e, struct tval *obj, const struct tnode *n)
{
	struct tval	*v;
	int		 fid;

	if (n->n_name[0] == '_' || obj->tv_type == TV_TUPLE)
		return eval_getattr(e, obj, n->n_name, n->n_namelen);
	switch (obj->tv_type) {
	case TV_DICT:
		if ((fid = node_method(n, obj)) >= 0)
			break;
		if ((v = tval_dict_gets(obj, n->n_name, n->n_namelen,
		    n->n_hash)) != NULL)
			return tval_ref(v);
		return undef_attr(e, obj, n->n_name);
	case TV_NS:
		if ((v = tval_dict_gets(obj, n->n_name, n->n_namelen,
		    n->n_hash)) != NULL)
			return tval_ref(v);
		return undef_attr(e, obj, n->n_name);
	case TV_LOOP:
		return loop_attr(e, obj, n->n_name, n->n_meth[4]);
	case TV_STR:
	case TV_LIST:
		if ((fid = node_method(n, obj)) >= 0)
			break;
		return undef_attr(e, obj, n->n_name);
	default:
		return eval_getattr(e, obj, n->n_name, n->n_namelen);
	}
	if ((v = tval_func(fid, obj, builtin_name(fid))) == NULL)
		return eval_error(e, "out of memory");
	return v;
}

static int
index_of(struct eval *e, const struct tval *key, size_t n, size_t *out)
{
	int64_t	 i;

	if (key->tv_type != TV_INT && key->tv_type != TV_BOOL)
		return 0;
	i = key->u.i;
	if (i < 0)
		i += (int64_t)n;
	if (i < 0 || (uint64_t)i >= n)
		return 0;
	*out = (size_t)i;
	return 1;
}

/* Python slice indices for a sequence of n items. */
static int
slice_indices(struct eval *e, const struct tval *sl[3], size_t n,
    int64_t *start, int64_t *stop, int64_t *step)
{
	int64_t	 len = (int64_t)n, v;
	int	 k;

	*step = 1;
	for (k = 0; k < 3; k++)
		if (sl[k] != NULL && sl[k]->tv_type != TV_NONE &&
		    sl[k]->tv_type != TV_INT && sl[k]->tv_type != TV_BOOL)
			return eval_errorv(e, "slice indices must be integers or "
			    "None");
	if (sl[2] != NULL && sl[2]->tv_type != TV_NONE) {
		if ((*step = sl[2]->u.i) == 0)
			return eval_errorv(e, "slice step cannot be zero");
		if (*step == INT64_MIN)
			*step = -INT64_MAX;
	}
	if (sl[0] == NULL || sl[0]->tv_type == TV_NONE)
		*start = *step < 0 ? len - 1 : 0;
	else {
		v = sl[0]->u.i;
		if (v < 0 && (v += len) < 0)
			v = *step < 0 ? -1 : 0;
		else if (v >= len)
			v = *step < 0 ? len - 1 : len;
		*start = v;
	}
	if (sl[1] == NULL || sl[1]->tv_type == TV_NONE)
		*stop = *step < 0 ? -1 : len;
	else {
		v = sl[1]->u.i;
		if (v < 0 && (v += len) < 0)
			v = *step < 0 ? -1 : 0;
		else if (v >= len)
			v = *step < 0 ? len - 1 : len;
		*stop = v;
	}
	return 0;
}

/*
 * A slice of a range is a range, as in Python: range(a, b, s)[i:j:k] is
 * range(a + i * s, a + j * s, s * k), with i and j as slice.indices()
 * gives them.  Where that would overflow, r stays a plain tuple.
 */
static int
range_slice(const int64_t *rng, int64_t i, int64_t j, int64_t k,
    struct tval *r)
{
	int64_t	 a, b, s, t;

	if (__builtin_mul_overflow(i, rng[2], &t) ||
	    __builtin_add_overflow(rng[0], t, &a) ||
	    __builtin_mul_overflow(j, rng[2], &t) ||
	    __builtin_add_overflow(rng[0], t, &b) ||
	    __builtin_mul_overflow(rng[2], k, &s))
		return 0;
	if ((r->u.l.rng = malloc(3 * sizeof(int64_t))) == NULL)
		return -1;
	r->u.l.rng[0] = a;
	r->u.l.rng[1] = b;
	r->u.l.rng[2] = s;
	return 0;
}

/* Slices of str count characters, not bytes. */
struct tval *
eval_slice(struct eval *e, struct tval *obj, const struct tval *sl[3])
{
	int64_t		 start = 0, stop = 0, step = 1, i;
	uint64_t	 cnt, k;
	struct tval	*r;
	struct buf	 b;
	size_t		 n;

	if (obj->tv_type == TV_STR)
		n = tval_nchars(obj);
	else if (obj->tv_type == TV_LIST || obj->tv_type == TV_TUPLE)
		n = obj->u.l.n;
	else if (obj->tv_type == TV_BYTES)
		n = obj->u.s.len;
	else
		return tval_undef_fmt("%s object has no element slice",
		    tval_typename(obj));
	if (slice_indices(e, sl, n, &start, &stop, &step) == -1)
		return NULL;
	/* how many items, without letting start + k * step overflow */
	if (step > 0)
		cnt = start < stop ? ((uint64_t)(stop - start) - 1) /
		    (uint64_t)step + 1 : 0;
	else
		cnt = start > stop ? ((uint64_t)(start - stop) - 1) /
		    ((uint64_t)-(step + 1) + 1) + 1 : 0;
	if (eval_step(e, cnt / 8) == -1)
		return NULL;
	if (obj->tv_type == TV_STR || obj->tv_type == TV_BYTES) {
		size_t	*offs = NULL;

		memset(&b, 0, sizeof(b));
		if (obj->tv_type == TV_STR && !tval_is_ascii(obj)) {
			/* character offsets, once: slicing stays linear */
			size_t		 pos = 0, j = 0;
			uint32_t	 cp;

			if ((offs = malloc((n + 1) * sizeof(*offs))) == NULL)
				return eval_error(e, "out of memory");
			while (j < n) {
				offs[j++] = pos;
				utf8_next(obj->u.s.p, obj->u.s.len, &pos, &cp);
			}
			offs[n] = obj->u.s.len;
		}
		for (k = 0; k < cnt; k++) {
			i = start + (int64_t)k * step;
			if (offs != NULL)
				buf_add(&b, obj->u.s.p + offs[i], offs[i + 1] -
				    offs[i]);
			else if (step == 1) {
				buf_add(&b, obj->u.s.p + start, (size_t)cnt);
				break;
			} else
				buf_addc(&b, obj->u.s.p[i]);
		}
		free(offs);
		r = tval_str_buf(&b);
		if (r != NULL)
			r->tv_flags |= obj->tv_flags & TVF_MARKUP;
		if (r != NULL && obj->tv_type == TV_BYTES)
			r->tv_type = TV_BYTES;
		return r;
	}
	if ((r = obj->tv_type == TV_LIST ? tval_list() : tval_tuple()) == NULL)
		return eval_error(e, "out of memory");
	for (k = 0; k < cnt; k++)
		if (tval_list_append(r, tval_ref(obj->u.l.v[start +
		    (int64_t)k * step])) == -1) {
			tval_unref(r);
			return eval_error(e, "out of memory");
		}
	if (obj->tv_type == TV_TUPLE && obj->u.l.rng != NULL &&
	    range_slice(obj->u.l.rng, start, stop, step, r) == -1) {
		tval_unref(r);
		return eval_error(e, "out of memory");
	}
	return r;
}

/*
 * Jinja2's getitem: keys and indexes first, then the attribute of the same
 * name; a miss is an Undefined.
 */
struct tval *
eval_getitem(struct eval *e, struct tval *obj, struct tval *key)
{
	struct tval	*v;
	size_t		 i;
	char		 tmp[64];

	switch (obj->tv_type) {
	case TV_UNDEF:
		return eval_undefined_error(e, obj);
	case TV_SECRET:
		return eval_error(e, "a secret cannot be subscripted");
	case TV_DICT:
		if (tval_hashable(key) && (v = tval_dict_get(obj, key)) != NULL)
			return tval_ref(v);
		break;
	case TV_LIST:
	case TV_TUPLE:
		if (index_of(e, key, obj->u.l.n, &i))
			return tval_ref(obj->u.l.v[i]);
		break;
	case TV_STR:
		if (index_of(e, key, tval_nchars(obj), &i)) {
			size_t	 a = str_offset(obj, i), z = str_offset(obj, i + 1);

			/* finding a character costs its offset: charge it */
			if (!tval_is_ascii(obj) && eval_step(e, a / 256) == -1)
				return NULL;

			/* a Markup's character is a Markup */
			if ((v = tval_str(obj->u.s.p + a, z - a)) != NULL)
				v->tv_flags |= obj->tv_flags & TVF_MARKUP;
			return v;
		}
		break;
	case TV_BYTES:
		if (index_of(e, key, obj->u.s.len, &i))
			return tval_int((unsigned char)obj->u.s.p[i]);
		break;
	default:
		break;
	}
	if (key->tv_type == TV_STR) {
		/* an item that is not there: try the attribute (Jinja2) */
		if (key->u.s.p[0] == '_')
			return undef_attr(e, obj, key->u.s.p);
		return eval_getattr(e, obj, key->u.s.p, key->u.s.len);
	}
	{
		struct buf	 b;

		memset(&b, 0, sizeof(b));
		if (tval_repr_into(&b, key, 0) == -1 || b.b_p == NULL) {
			buf_free(&b);
			return tval_undef("no such element", NULL);
		}
		v = tval_undef_fmt("%s has no element %s", obj_type_repr(obj,
		    tmp, sizeof(tmp)), b.b_p);
		buf_free(&b);
		return v;
	}
}
