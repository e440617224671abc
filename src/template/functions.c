/*
 * functions.c — the global functions (range, dict, namespace, and the
 * connector functions get_secret, get_variable, jwt_encode, now) and the
 * methods of str, dict, list and loop values that templates may call.
 */
#include "build.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

#define MAX_RANGE	100000	/* Jinja2's sandbox limit */

/*
 * The method obj.name names, if any: Python attributes shadow dict keys in
 * Jinja2 lookups.
 */
int
method_lookup(const struct tval *obj, const char *name)
{
	int	 id;

	if (obj->tv_flags & (TVF_VITEMS | TVF_VKEYS | TVF_VVALUES))
		return -1;	/* dict views have no list methods */
	if ((id = builtin_method(obj->tv_type, name)) < 0)
		return -1;
	/* by_id is ours (user.profile_fields): keys win */
	if (id == M_D_BY_ID && tval_dict_gets(obj, name, strlen(name),
	    tmpl_hash(name, strlen(name))) != NULL)
		return -1;
	return id;
}

/* --- Helpers ----------------------------------------------------------- */

int
want_str(struct eval *e, const struct tval *v, const char *what)
{
	if (v->tv_type == TV_STR)
		return 0;
	return eval_errorv(e, "%s must be str, not %s", what, tval_typename(v));
}

/* An int argument of a method, as Python's __index__: no float */
int
want_int(struct eval *e, const struct tval *v, int64_t *out)
{
	if (v->tv_type == TV_INT || v->tv_type == TV_BOOL) {
		*out = v->u.i;
		return 0;
	}
	return eval_errorv(e, "'%s' object cannot be interpreted as an integer",
	    tval_typename(v));
}

/*
 * Refusing reference cycles keeps reference counting sound and repr finite.
 */
static int
no_cycle(struct eval *e, struct tval *container, struct tval *v)
{
	if (tval_is_container(v) && tval_reaches(v, container, 0))
		return eval_errorv(e, "a container cannot contain itself");
	return 0;
}

/* items()/keys()/values(): lists that print as Python's view objects. */
static struct tval *
dict_view(struct eval *e, const struct tval *d, int what)
{
	struct tval	*l, *t;
	size_t		 i;

	if ((l = tval_list()) == NULL)
		return eval_oom(e);
	if (eval_step(e, d->u.d.n / 8) == -1) {
		tval_unref(l);
		return NULL;
	}
	for (i = 0; i < d->u.d.n; i++) {
		if (what == 0) {
			if ((t = tval_tuple()) == NULL ||
			    tval_list_append(t, tval_ref(d->u.d.e[i].de_key)) ==
			    -1 || tval_list_append(t,
			    tval_ref(d->u.d.e[i].de_val)) == -1) {
				tval_unref(t);
				tval_unref(l);
				return eval_oom(e);
			}
		} else
			t = tval_ref(what == 1 ? d->u.d.e[i].de_key :
			    d->u.d.e[i].de_val);
		if (tval_list_append(l, t) == -1) {
			tval_unref(l);
			return eval_oom(e);
		}
	}
	/* renders like Python's view objects */
	l->tv_flags |= what == 0 ? TVF_VITEMS : what == 1 ? TVF_VKEYS :
	    TVF_VVALUES;
	return l;
}

/* dict.update(mapping or pairs, **kw), refusing cycles. */
static struct tval *
dict_update(struct eval *e, struct tval *d, struct args *a)
{
	struct tval	**items = NULL, *src, *k;
	size_t		  n, i;

	if (a->a_npos > 1)
		return eval_error(e, "update expected at most 1 argument, got "
		    "%zu", a->a_npos);
	if (a->a_npos == 1) {
		src = a->a_pos[0];
		if (src->tv_type == TV_DICT) {
			for (i = 0; i < src->u.d.n; i++) {
				if (no_cycle(e, d, src->u.d.e[i].de_val) == -1)
					return NULL;
				if (tval_dict_put(d,
				    tval_ref(src->u.d.e[i].de_key),
				    tval_ref(src->u.d.e[i].de_val)) == -1)
					return eval_oom(e);
			}
		} else {
			if (eval_iterate(e, src, &items, &n) == -1)
				return NULL;
			for (i = 0; i < n; i++) {
				struct tval	*p = items[i];

				if ((p->tv_type != TV_LIST && p->tv_type !=
				    TV_TUPLE) || p->u.l.n != 2 ||
				    !tval_hashable(p->u.l.v[0])) {
					items_free(items, n);
					return eval_error(e, "dictionary update "
					    "sequence element #%zu has the wrong "
					    "shape", i);
				}
				if (no_cycle(e, d, p->u.l.v[1]) == -1) {
					items_free(items, n);
					return NULL;
				}
				if (tval_dict_put(d, tval_ref(p->u.l.v[0]),
				    tval_ref(p->u.l.v[1])) == -1) {
					items_free(items, n);
					return eval_oom(e);
				}
			}
			items_free(items, n);
		}
	}
	for (i = 0; i < a->a_nkw; i++) {
		const char	*kw = a->a_kwname[i];
		size_t		 len = strlen(kw);

		if (no_cycle(e, d, a->a_kwval[i]) == -1)
			return NULL;
		/* the template's own name: ns.total finds it by pointer */
		if ((k = tmpl_name_find(eval_tmpl(e), kw, len,
		    tmpl_hash(kw, len))) != NULL)
			tval_ref(k);
		else if ((k = tval_str(kw, len)) == NULL)
			return eval_oom(e);
		if (tval_dict_put(d, k, tval_ref(a->a_kwval[i])) == -1)
			return eval_oom(e);
	}
	return tval_none();
}

/* Remove entry i of a dict, keeping order. */
static void
dict_remove(struct tval *d, size_t i)
{
	size_t	 cap;

	tval_unref(d->u.d.e[i].de_key);
	tval_unref(d->u.d.e[i].de_val);
	memmove(&d->u.d.e[i], &d->u.d.e[i + 1], (d->u.d.n - i - 1) *
	    sizeof(d->u.d.e[0]));
	d->u.d.n--;
	if (d->u.d.idx != NULL) {
		/* rebuild the index: rare, and simple */
		uint32_t	*idx;
		size_t		 j, k;

		cap = d->u.d.idxcap;
		memset(d->u.d.idx, 0, cap * sizeof(*d->u.d.idx));
		idx = d->u.d.idx;
		for (j = 0; j < d->u.d.n; j++) {
			k = d->u.d.e[j].de_hash & (cap - 1);
			while (idx[k] != 0)
				k = (k + 1) & (cap - 1);
			idx[k] = (uint32_t)(j + 1);
		}
	}
}

static ssize_t
dict_index(const struct tval *d, const struct tval *k)
{
	size_t	 i;
	uint64_t h;

	if (!tval_hashable(k))
		return -1;
	h = tval_hash(k);
	for (i = 0; i < d->u.d.n; i++)
		if (d->u.d.e[i].de_hash == h && tval_eq(d->u.d.e[i].de_key, k))
			return (ssize_t)i;
	return -1;
}

static struct tval *
key_error(struct eval *e, const struct tval *k)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	tval_repr_into(&b, k, 0);
	eval_error(e, "KeyError: %s", b.b_p ? b.b_p : "?");
	buf_free(&b);
	return NULL;
}

static struct tval *
list_sort(struct eval *e, struct tval *l, struct args *a)
{
	static const char *const params[] = { "key", "reverse" };
	struct tval		*v[2];

	if (args_bind(e, a, "sort", params, 2, 0, v) == -1)
		return NULL;
	if (a->a_npos > 0)
		return eval_error(e, "sort() takes no positional arguments");
	if (v[0] != NULL && v[0]->tv_type != TV_NONE)
		return eval_error(e, "sort(key=...) is not supported");
	if (sort_values(e, l->u.l.v, l->u.l.n, NULL, v[1] != NULL &&
	    tval_truth(v[1]) ? SORT_REVERSE : 0) == -1)
		return NULL;
	return tval_none();
}

/*
 * The methods markupsafe's Markup wraps: str arguments are escaped first
 * and the result is a Markup.
 */
static int
markup_wraps(int id)
{
	switch (id) {
	case M_S_CAPITALIZE: case M_S_TITLE: case M_S_LOWER: case M_S_UPPER:
	case M_S_REPLACE: case M_S_LJUST: case M_S_RJUST: case M_S_LSTRIP:
	case M_S_RSTRIP: case M_S_CENTER: case M_S_STRIP: case M_S_SWAPCASE:
	case M_S_ZFILL: case M_S_EXPANDTABS: case M_S_PARTITION:
	case M_S_RPARTITION:
		return 1;
	default:
		return 0;
	}
}

/* A str result as a Markup: flagged when it is new, else copied. */
static struct tval *
markup_result(struct eval *e, struct tval *r)
{
	struct tval	*m;

	if (r == NULL || r->tv_type != TV_STR || (r->tv_flags & TVF_MARKUP))
		return r;
	/* a new value of ours alone (an arena one is shared, uncounted) */
	if (r->tv_refs == 1 && !(r->tv_flags & TVF_IMMORTAL)) {
		r->tv_flags |= TVF_MARKUP;
		return r;
	}
	m = markup_new(r->u.s.p, r->u.s.len);
	tval_unref(r);
	return m != NULL ? m : eval_oom(e);
}

/* The str items of a list or tuple result (r) as Markup */
static struct tval *
markup_items(struct eval *e, struct tval *r)
{
	struct tval	*t;
	size_t		 i;

	for (i = 0; i < r->u.l.n; i++) {
		if ((t = markup_result(e, r->u.l.v[i])) == NULL) {
			r->u.l.v[i] = NULL;
			tval_unref(r);
			return NULL;
		}
		r->u.l.v[i] = t;
	}
	return r;
}

static struct tval	*method_dispatch(struct eval *, int, struct tval *,
			    struct args *);

/*
 * A method of a Markup, as markupsafe 2.1 has it: the wrapped methods
 * escape their str arguments and return a Markup; split, rsplit and
 * splitlines return lists of Markup; join escapes the items (str_join).
 */
static struct tval *
markup_method(struct eval *e, int fid, struct tval *self, struct args *a)
{
	struct args	 esc;
	struct tval	*r, *t;
	struct buf	 b;
	size_t		 i;

	if (fid == M_S_SPLIT || fid == M_S_RSPLIT || fid == M_S_SPLITLINES) {
		if ((r = method_dispatch(e, fid, self, a)) == NULL ||
		    r->tv_type != TV_LIST)
			return r;
		return markup_items(e, r);
	}
	if (!markup_wraps(fid))
		return method_dispatch(e, fid, self, a);
	/* esc holds a reference to every argument: escaped or the same */
	esc = *a;
	esc.a_keep = NULL;
	for (i = 0; i < esc.a_npos + esc.a_nkw; i++) {
		struct tval	**slot = i < esc.a_npos ? &esc.a_pos[i] :
		    &esc.a_kwval[i - esc.a_npos];

		if ((*slot)->tv_type != TV_STR) {
			tval_ref(*slot);
			continue;
		}
		memset(&b, 0, sizeof(b));
		markup_escape_into(&b, *slot);
		t = markup_new(b.b_p != NULL ? b.b_p : "", b.b_len);
		buf_free(&b);
		if ((*slot = t) == NULL) {
			/* the ones before hold references, this and on not */
			while (i-- > 0)
				tval_unref(i < esc.a_npos ? esc.a_pos[i] :
				    esc.a_kwval[i - esc.a_npos]);
			return eval_oom(e);
		}
	}
	r = method_dispatch(e, fid, self, &esc);
	args_clear(&esc);
	/* partition and rpartition: a tuple of three Markup */
	if (r != NULL && r->tv_type == TV_TUPLE)
		return markup_items(e, r);
	return markup_result(e, r);
}

/*
 * The methods that store into a container or take from one: a render
 * that runs one must not have from_json values in an arena
 * (eval_mutating).  compile.c refuses the arena to a template naming any
 * of them: the two lists are one (MUTATING_METHODS in tmpl_int.h).
 */
static int
method_mutates(int fid)
{
	switch (fid) {
	case M_L_APPEND: case M_L_EXTEND: case M_L_INSERT: case M_L_POP:
	case M_L_REMOVE: case M_L_CLEAR: case M_D_UPDATE: case M_D_POP:
	case M_D_SETDEFAULT: case M_D_CLEAR:
		return 1;
	default:
		return 0;
	}
}

/* The str, dict, list, tuple and loop methods templates may call. */
struct tval *
method_call(struct eval *e, int fid, struct tval *self, struct args *a)
{
	if (method_mutates(fid) && eval_mutating(e) == -1)
		return NULL;
	if (self != NULL && self->tv_type == TV_STR &&
	    (self->tv_flags & TVF_MARKUP))
		return markup_method(e, fid, self, a);
	return method_dispatch(e, fid, self, a);
}

static struct tval *
method_dispatch(struct eval *e, int fid, struct tval *self, struct args *a)
{
	static const char *const p_one[] = { "x" };
	static const char *const p_two[] = { "x", "y" };
	struct tval		*v[3], *r, *t;
	int64_t			 i = 0;
	ssize_t			 k;
	size_t			 j;
	int			 m;
	const char		*name = builtin_name(fid);

	/* the str methods are the only ones with a str receiver */
	if (self != NULL && self->tv_type == TV_STR)
		return str_method(e, fid, self, a);
	switch (fid) {
	case M_D_ITEMS:
	case M_D_KEYS:
	case M_D_VALUES:
		if (args_bind(e, a, name, NULL, 0, 0, v) == -1)
			return NULL;
		return dict_view(e, self, fid == M_D_ITEMS ? 0 :
		    fid == M_D_KEYS ? 1 : 2);
	case M_D_GET:
	case M_D_BY_ID:
		if (args_bind(e, a, name, p_two, fid == M_D_GET ? 2 : 1, 1, v) ==
		    -1)
			return NULL;
		/* user.profile_fields.by_id(42) (platform-docs 11) */
		if (fid == M_D_BY_ID && v[0]->tv_type != TV_STR) {
			/* profile fields are keyed by their id as a string */
			if ((t = eval_str(e, v[0])) == NULL)
				return NULL;
			r = tval_dict_get(self, t);
			tval_unref(t);
			if (r == NULL)
				r = tval_dict_get(self, v[0]);
			return r ? tval_ref(r) : tval_none();
		}
		if (!tval_hashable(v[0]))
			return eval_error(e, "unhashable type: '%s'",
			    tval_typename(v[0]));
		if ((r = tval_dict_get(self, v[0])) != NULL)
			return tval_ref(r);
		return fid == M_D_GET && v[1] != NULL ? tval_ref(v[1]) :
		    tval_none();
	case M_D_UPDATE:
		return dict_update(e, self, a);
	case M_D_POP:
		if (args_bind(e, a, name, p_two, 2, 1, v) == -1)
			return NULL;
		if ((k = dict_index(self, v[0])) < 0) {
			if (v[1] != NULL)
				return tval_ref(v[1]);
			return key_error(e, v[0]);
		}
		r = tval_ref(self->u.d.e[k].de_val);
		dict_remove(self, (size_t)k);
		return r;
	case M_D_SETDEFAULT:
		if (args_bind(e, a, name, p_two, 2, 1, v) == -1)
			return NULL;
		if (!tval_hashable(v[0]))
			return eval_error(e, "unhashable type: '%s'",
			    tval_typename(v[0]));
		if ((r = tval_dict_get(self, v[0])) != NULL)
			return tval_ref(r);
		t = v[1] != NULL ? v[1] : tval_none();
		if (no_cycle(e, self, t) == -1)
			return NULL;
		if (tval_dict_put(self, tval_ref(v[0]), tval_ref(t)) == -1)
			return eval_oom(e);
		return tval_ref(t);
	case M_D_COPY:
		if ((r = tval_dict()) == NULL)
			return eval_oom(e);
		for (j = 0; j < self->u.d.n; j++)
			if (tval_dict_put(r, tval_ref(self->u.d.e[j].de_key),
			    tval_ref(self->u.d.e[j].de_val)) == -1) {
				tval_unref(r);
				return eval_oom(e);
			}
		return r;
	case M_D_CLEAR:
		while (self->u.d.n > 0)
			dict_remove(self, self->u.d.n - 1);
		return tval_none();

	/* mutation is allowed (Jinja2's sandbox allows it) but never a cycle */
	case M_L_APPEND:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1 ||
		    no_cycle(e, self, v[0]) == -1)
			return NULL;
		if (eval_step(e, 1) == -1)
			return NULL;
		if (tval_list_append(self, tval_ref(v[0])) == -1)
			return eval_oom(e);
		return tval_none();
	case M_L_EXTEND:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1)
			return NULL;
		{
			struct tval	**items;
			size_t		  n;

			if (eval_iterate(e, v[0], &items, &n) == -1)
				return NULL;
			for (j = 0; j < n; j++) {
				if (no_cycle(e, self, items[j]) == -1 ||
				    tval_list_append(self, tval_ref(items[j])) ==
				    -1) {
					items_free(items, n);
					return e == NULL ? NULL : eval_oom(e);
				}
			}
			items_free(items, n);
		}
		return tval_none();
	case M_L_INSERT:
		if (args_bind(e, a, name, p_two, 2, 2, v) == -1 ||
		    want_int(e, v[0], &i) == -1 || no_cycle(e, self, v[1]) == -1)
			return NULL;
		if (tval_list_append(self, tval_ref(v[1])) == -1)
			return eval_oom(e);
		if (i < 0)
			i += (int64_t)self->u.l.n - 1;
		if (i < 0)
			i = 0;
		if (i > (int64_t)self->u.l.n - 1)
			i = (int64_t)self->u.l.n - 1;
		t = self->u.l.v[self->u.l.n - 1];
		memmove(&self->u.l.v[i + 1], &self->u.l.v[i],
		    (self->u.l.n - 1 - (size_t)i) * sizeof(t));
		self->u.l.v[i] = t;
		return tval_none();
	case M_L_POP:
		if (args_bind(e, a, name, p_one, 1, 0, v) == -1)
			return NULL;
		if (self->u.l.n == 0)
			return eval_error(e, "pop from empty list");
		i = -1;
		if (v[0] != NULL && want_int(e, v[0], &i) == -1)
			return NULL;
		if (i < 0)
			i += (int64_t)self->u.l.n;
		if (i < 0 || i >= (int64_t)self->u.l.n)
			return eval_error(e, "pop index out of range");
		r = self->u.l.v[i];
		memmove(&self->u.l.v[i], &self->u.l.v[i + 1],
		    (self->u.l.n - 1 - (size_t)i) * sizeof(r));
		self->u.l.n--;
		return r;
	case M_L_REMOVE:
	case M_L_INDEX:
	case M_T_INDEX:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1)
			return NULL;
		for (j = 0; j < self->u.l.n; j++)
			if (tval_eq(self->u.l.v[j], v[0]))
				break;
		if (j == self->u.l.n)
			return eval_error(e, fid == M_L_REMOVE ?
			    "list.remove(x): x not in list" :
			    "%s.index(x): x not in %s", tval_typename(self),
			    tval_typename(self));
		if (fid != M_L_REMOVE)
			return tval_int((int64_t)j);
		tval_unref(self->u.l.v[j]);
		memmove(&self->u.l.v[j], &self->u.l.v[j + 1],
		    (self->u.l.n - 1 - j) * sizeof(r));
		self->u.l.n--;
		return tval_none();
	case M_L_COUNT:
	case M_T_COUNT:
		if (args_bind(e, a, name, p_one, 1, 1, v) == -1)
			return NULL;
		for (j = 0, i = 0; j < self->u.l.n; j++)
			if (tval_eq(self->u.l.v[j], v[0]))
				i++;
		return tval_int(i);
	case M_L_REVERSE:
		for (j = 0; j < self->u.l.n / 2; j++) {
			t = self->u.l.v[j];
			self->u.l.v[j] = self->u.l.v[self->u.l.n - 1 - j];
			self->u.l.v[self->u.l.n - 1 - j] = t;
		}
		return tval_none();
	case M_L_SORT:
		return list_sort(e, self, a);
	case M_L_COPY:
		if ((r = tval_list()) == NULL)
			return eval_oom(e);
		for (j = 0; j < self->u.l.n; j++)
			if (tval_list_append(r, tval_ref(self->u.l.v[j])) == -1) {
				tval_unref(r);
				return eval_oom(e);
			}
		return r;
	case M_L_CLEAR:
		for (j = 0; j < self->u.l.n; j++)
			tval_unref(self->u.l.v[j]);
		self->u.l.n = 0;
		return tval_none();

	case M_C_NEXT:
		if (args_bind(e, a, name, NULL, 0, 0, v) == -1)
			return NULL;
		r = tval_ref(self->u.cyc.v[self->u.cyc.pos]);
		self->u.cyc.pos = (self->u.cyc.pos + 1) % self->u.cyc.n;
		return r;
	case M_C_RESET:
		if (args_bind(e, a, name, NULL, 0, 0, v) == -1)
			return NULL;
		self->u.cyc.pos = 0;
		return tval_none();

	/* loop.cycle(a, b, ...) picks by the current index */
	case M_LP_CYCLE:
		if (a->a_npos == 0)
			return eval_error(e, "no items for cycling given");
		return tval_ref(a->a_pos[loop_index(self->u.loop) % a->a_npos]);
	case M_LP_CHANGED:
		if ((t = tval_tuple()) == NULL)
			return eval_oom(e);
		for (j = 0; j < a->a_npos; j++)
			if (tval_list_append(t, tval_ref(a->a_pos[j])) == -1) {
				tval_unref(t);
				return eval_oom(e);
			}
		m = loop_changed(self->u.loop, t);
		tval_unref(t);
		return tval_bool(m);
	}
	return eval_error(e, "unknown method");
}

/* --- Global functions -------------------------------------------------- */

/*
 * range() with the sandbox's MAX_RANGE; the value remembers its arguments
 * for its repr.
 */
struct tval *
fn_range(struct eval *e, int id, struct tval *self, struct args *a)
{
	int64_t		 start = 0, stop = 0, step = 1, i, n;
	struct tval	*l;

	if (a->a_nkw)
		return eval_error(e, "range() takes no keyword arguments");
	if (a->a_npos < 1 || a->a_npos > 3)
		return eval_error(e, "range expected 1 to 3 arguments, got %zu",
		    a->a_npos);
	if (a->a_npos == 1) {
		if (want_int(e, a->a_pos[0], &stop) == -1)
			return NULL;
	} else {
		if (want_int(e, a->a_pos[0], &start) == -1 ||
		    want_int(e, a->a_pos[1], &stop) == -1)
			return NULL;
		if (a->a_npos == 3 && want_int(e, a->a_pos[2], &step) == -1)
			return NULL;
	}
	if (step == 0)
		return eval_error(e, "range() arg 3 must not be zero");
	/*
	 * the item count in unsigned arithmetic: no overflow for any int64
	 * bounds
	 */
	if (step > 0)
		n = stop > start ? (int64_t)(((uint64_t)stop - (uint64_t)start -
		    1) / (uint64_t)step + 1) : 0;
	else
		n = start > stop ? (int64_t)(((uint64_t)start - (uint64_t)stop -
		    1) / (uint64_t)(-(step + 1) + 1) + 1) : 0;
	if (n < 0 || n > MAX_RANGE)
		return eval_error(e, "Range too big. The sandbox blocks ranges "
		    "larger than MAX_RANGE (%d).", MAX_RANGE);
	if (eval_step(e, (uint64_t)n / 8) == -1)
		return NULL;
	/* an immutable sequence that remembers how it was made (its repr) */
	if ((l = tval_tuple()) == NULL)
		return eval_oom(e);
	if ((l->u.l.rng = malloc(3 * sizeof(int64_t))) == NULL) {
		tval_unref(l);
		return eval_oom(e);
	}
	l->u.l.rng[0] = start;
	l->u.l.rng[1] = stop;
	l->u.l.rng[2] = step;
	for (i = 0; i < n; i++)
		if (tval_list_append(l, tval_int(start + i * step)) == -1) {
			tval_unref(l);
			return eval_oom(e);
		}
	return l;
}

/* dict(...) and namespace(...): the same construction, a different type. */
static struct tval *
dict_new(struct eval *e, struct args *a, int ns)
{
	struct tval	*d;
	struct args	 sub;

	if ((d = tval_dict()) == NULL)
		return eval_oom(e);
	if (a->a_npos > 1) {
		tval_unref(d);
		return eval_error(e, "%s expected at most 1 argument, got %zu",
		    ns ? "namespace" : "dict", a->a_npos);
	}
	memset(&sub, 0, sizeof(sub));
	if (dict_update(e, d, a) == NULL) {
		tval_unref(d);
		return NULL;
	}
	if (ns)
		d->tv_type = TV_NS;
	return d;
}

/* get_secret(name) in a worker is a symbolic secret: a TSX_SECRET leaf. */
struct tval *
fn_get_secret(struct eval *e, int id, struct tval *self, struct args *a)
{
	static const char *const params[] = { "name" };
	struct tval		*v[1];
	struct tsecret		*ts;

	if (args_bind(e, a, "get_secret", params, 1, 1, v) == -1)
		return NULL;
	if (v[0]->tv_type != TV_STR || v[0]->u.s.len == 0 ||
	    memchr(v[0]->u.s.p, '\0', v[0]->u.s.len) != NULL)
		return eval_error(e, "get_secret() needs a secret name");
	if ((ts = tsecret_named(v[0]->u.s.p)) == NULL)
		return eval_oom(e);
	return tval_secret(ts);
}

/*
 * A variable that is not set renders as the expression that asked for it
 * (platform-docs §12): "{{ get_variable('name') }}".  It is an Undefined, so
 * | default(...) replaces it.
 */
struct tval *
fn_get_variable(struct eval *e, int id, struct tval *self, struct args *a)
{
	static const char *const params[] = { "name" };
	const struct tmpl_env	*env = eval_env(e);
	struct tval		*v[1], *r = NULL;
	char			 msg[300], text[300];

	if (args_bind(e, a, "get_variable", params, 1, 1, v) == -1)
		return NULL;
	if (v[0]->tv_type != TV_STR || memchr(v[0]->u.s.p, '\0',
	    v[0]->u.s.len) != NULL)
		return eval_error(e, "get_variable() needs a variable name");
	if (env != NULL && env->te_get_variable != NULL)
		r = env->te_get_variable(v[0]->u.s.p, env->te_variable_arg);
	if (r != NULL)
		return r;
	/* msg is raised by strict uses, text is what it renders */
	snprintf(msg, sizeof(msg), "variable '%s' is not set", v[0]->u.s.p);
	snprintf(text, sizeof(text), "{{ get_variable('%s') }}", v[0]->u.s.p);
	if ((r = tval_undef(msg, text)) == NULL)
		return eval_oom(e);
	return r;
}

/*
 * now(offset=0): the render's clock (te_now) plus offset seconds, as an
 * int.
 */
struct tval *
fn_now(struct eval *e, int id, struct tval *self, struct args *a)
{
	static const char *const params[] = { "offset" };
	struct tval		*v[1];
	int64_t			 off = 0, r;

	if (args_bind(e, a, "now", params, 1, 0, v) == -1)
		return NULL;
	if (v[0] != NULL) {
		if (v[0]->tv_type == TV_FLOAT) {
			if (!(fabs(v[0]->u.f) < 1e15))
				return eval_error(e, "now(): offset out of range");
			off = (int64_t)v[0]->u.f;
		}
		else if (want_int(e, v[0], &off) == -1)
			return NULL;
	}
	if (__builtin_add_overflow((int64_t)eval_now(e), off, &r))
		return eval_error(e, "now(): offset out of range");
	return tval_int(r);
}

/* dict(...) and namespace(...) */
struct tval *
fn_dict(struct eval *e, int id, struct tval *self, struct args *a)
{
	return dict_new(e, a, 0);
}

struct tval *
fn_namespace(struct eval *e, int id, struct tval *self, struct args *a)
{
	return dict_new(e, a, 1);
}

/*
 * cycler(*items): .next() gives the current item and moves on, .current
 * is it, .reset() goes back to the first (jinja2.utils.Cycler).
 */
struct tval *
fn_cycler(struct eval *e, int id, struct tval *self, struct args *a)
{
	struct tval	*c;
	size_t		 i;

	if (a->a_nkw)
		return eval_error(e, "cycler() got an unexpected keyword "
		    "argument '%s'", a->a_kwname[0]);
	if (a->a_npos == 0)
		return eval_error(e, "at least one item has to be provided");
	if ((c = tval_container(TV_TUPLE, a->a_npos)) == NULL)
		return eval_oom(e);
	c->tv_type = TV_CYCLER;
	for (i = 0; i < a->a_npos; i++)
		c->u.cyc.v[i] = tval_ref(a->a_pos[i]);
	c->u.cyc.n = a->a_npos;
	c->u.cyc.pos = 0;
	return c;
}

/* joiner(sep=', '): '' when first called, sep after that. */
struct tval *
fn_joiner(struct eval *e, int id, struct tval *self, struct args *a)
{
	static const char *const params[] = { "sep" };
	struct tval		*v[1], *j;

	if (args_bind(e, a, "joiner", params, 1, 0, v) == -1)
		return NULL;
	if ((j = tval_list()) == NULL)
		return eval_oom(e);
	j->tv_type = TV_JOINER;
	j->u.joi.used = 0;
	if ((j->u.joi.sep = v[0] != NULL ? tval_ref(v[0]) :
	    tval_str(", ", 2)) == NULL) {
		tval_unref(j);
		return eval_oom(e);
	}
	return j;
}

/* What Jinja2 has and widgetd does not (lipsum is not needed, SPEC §6). */
struct tval *
fn_unsupported(struct eval *e, int id, struct tval *self, struct args *a)
{
	return eval_error(e, "%s() is not supported", builtin_name(id));
}

/* Call a global function or a method of self, through the table. */
struct tval *
function_call(struct eval *e, int id, struct tval *self, struct args *a)
{
	/* string methods work in proportion to the length */
	if (self != NULL && self->tv_type == TV_STR && self->u.s.len > 256 &&
	    eval_step(e, self->u.s.len / 256) == -1)
		return NULL;
	return builtins[id].bi_call(e, id, self, a);
}
