/*
 * expr.c — evaluating expressions.  compile.c gives every expression node
 * one of these handlers when the template is compiled, choosing a
 * specialised one where the node's shape allows (a dict attribute that no
 * method shadows, a filter with no arguments, a comparison with a
 * constant); eval_expr calls it, so rendering never dispatches on the
 * node's kind.  Each handler returns a new reference, or NULL with the
 * error set.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

struct tval *
ev_const(struct eval *e, const struct tnode *n)
{
	return tval_ref(n->n_val);
}

/*
 * Name lookup order: template scopes, then the render's globals, then the
 * builtin functions.
 */
struct tval *
ev_name(struct eval *e, const struct tnode *n)
{
	struct scope	*sc = e->e_scope;
	struct tval	*v;

	/* the innermost scope (a loop body's) without a call */
	if ((v = scope_find(sc, n->n_name)) != NULL ||
	    (v = scope_lookup(sc->sc_parent, n->n_name, n->n_namelen,
	    n->n_hash)) != NULL)
		return tval_ref(v);
	if (e->e_globals != NULL && (v = dict_get_key(e->e_globals, n->n_key,
	    &((struct tnode *)n)->n_slot)) != NULL)
		return tval_ref(v);
	if (n->n_fid >= 0) {
		if ((v = tval_func(n->n_fid, NULL, builtin_name(n->n_fid))) == NULL)
			return eval_oom(e);
		return v;
	}
	if ((v = tval_undef_fmt("'%s' is undefined", n->n_name)) == NULL)
		return eval_oom(e);
	return v;
}

struct tval *
ev_getattr(struct eval *e, const struct tnode *n)
{
	struct tval	*a, *r;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	e->e_node = n;
	if (a->tv_type == TV_UNDEF)
		r = eval_undefined_error(e, a);
	else
		r = getattr_node(e, a, n);
	tval_unref(a);
	return r;
}

/*
 * obj.name where no dict method has that name (ev_getattr_key's node n,
 * obj evaluated and taken): a dict answers from the slot where the key
 * was last time (objects of one JSON array have one key order), and so
 * does a namespace (getattr_node's lookup; compile.c leaves names with a
 * leading underscore to ev_getattr); anything else takes the general
 * path.
 */
static inline struct tval *
getattr_key_of(struct eval *e, const struct tnode *n, struct tval *a)
{
	struct tval	*v;

	if ((a->tv_type == TV_DICT || a->tv_type == TV_NS) &&
	    (v = dict_get_key(a, n->n_key,
	    &((struct tnode *)n)->n_slot)) != NULL) {
		tval_ref(v);
		tval_unref(a);
		return v;
	}
	e->e_node = n;
	if (a->tv_type == TV_UNDEF)
		v = eval_undefined_error(e, a);
	else
		v = getattr_node(e, a, n);
	tval_unref(a);
	return v;
}

struct tval *
ev_getattr_key(struct eval *e, const struct tnode *n)
{
	struct tval	*a;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	return getattr_key_of(e, n, a);
}

/* getattr_name_find where the innermost scope does not bind the name */
struct tval *
getattr_name_outer(struct eval *e, const struct tnode *n)
{
	const struct tnode	*nn = n->n_a;
	struct tval		*a;

	if ((a = scope_lookup(e->e_scope->sc_parent, nn->n_name,
	    nn->n_namelen, nn->n_hash)) == NULL &&
	    (e->e_globals == NULL || (a = dict_get_key(e->e_globals,
	    nn->n_key, &((struct tnode *)nn)->n_slot)) == NULL))
		return NULL;
	if (a->tv_type != TV_DICT && a->tv_type != TV_NS)
		return NULL;
	return dict_get_key(a, n->n_key, &((struct tnode *)n)->n_slot);
}

/* name.attr where getattr_name_find has not found it: the general way. */
struct tval *
getattr_name_slow(struct eval *e, const struct tnode *n)
{
	struct tval	*a;

	if ((a = ev_name(e, n->n_a)) == NULL)
		return NULL;
	return getattr_key_of(e, n, a);
}

/*
 * name.attr, as ev_getattr_key, its steps the same: a dict or namespace
 * the name is bound to is looked in where it is, without a reference or
 * the name's own handler.
 */
struct tval *
ev_getattr_name(struct eval *e, const struct tnode *n)
{
	struct tval	*v;

	if (eval_enter(e, n->n_a) == -1)
		return NULL;
	if ((v = getattr_name_find(e, n)) != NULL)
		return tval_ref(v);
	return getattr_name_slow(e, n);
}

struct tval *
ev_getitem(struct eval *e, const struct tnode *n)
{
	struct tval	*a, *b, *r;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	if ((b = eval_expr(e, n->n_b)) == NULL) {
		tval_unref(a);
		return NULL;
	}
	e->e_node = n;
	r = eval_getitem(e, a, b);
	tval_unref(a);
	tval_unref(b);
	return r;
}

/* obj['key'] with a constant string: a dict answers like ev_getattr_key. */
struct tval *
ev_getitem_key(struct eval *e, const struct tnode *n)
{
	struct tval	*a, *v;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	if (a->tv_type == TV_DICT && (v = dict_get_key(a, n->n_key,
	    &((struct tnode *)n)->n_slot)) != NULL) {
		tval_ref(v);
		tval_unref(a);
		return v;
	}
	e->e_node = n;
	v = eval_getitem(e, a, n->n_b->n_val);
	tval_unref(a);
	return v;
}

/*
 * Jinja2 slices with Python's own [] (slices bypass its getitem), so a
 * value that cannot be sliced is a TypeError there; but a constant
 * ({{ none[1:] }}, a dict display of constants) it folds at compile time
 * through getitem, which makes the failure an Undefined.
 */
static int
slice_folded(const struct tnode *obj)
{
	size_t	 i;

	if (obj->n_kind == N_CONST)
		return 1;
	if (obj->n_kind != N_DICT)
		return 0;
	for (i = 0; i < obj->n_nkids; i++)
		if (obj->n_kids[i]->n_a->n_kind != N_CONST ||
		    obj->n_kids[i]->n_b->n_kind != N_CONST)
			return 0;
	return 1;
}

struct tval *
ev_slice(struct eval *e, const struct tnode *n)
{
	const struct tnode	*s = n->n_b;
	const struct tnode	*kn[3] = { s->n_a, s->n_b, s->n_c };
	const struct tval	*sl[3];
	struct tval		*a, *v[3] = { NULL, NULL, NULL }, *r = NULL;
	int			 k, ok = 1;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	for (k = 0; k < 3; k++) {
		if (kn[k] != NULL && (v[k] = eval_expr(e, kn[k])) == NULL)
			ok = 0;
		sl[k] = v[k];
	}
	e->e_node = n;
	if (ok) {
		if (a->tv_type == TV_UNDEF)
			r = eval_undefined_error(e, a);
		else if (a->tv_type == TV_SECRET)
			r = eval_error(e, "a secret cannot be sliced");
		else if (a->tv_type == TV_STR || a->tv_type == TV_BYTES ||
		    a->tv_type == TV_LIST || a->tv_type == TV_TUPLE ||
		    slice_folded(n->n_a))
			r = eval_slice(e, a, sl);
		else if (a->tv_type == TV_DICT)
			r = eval_error(e, "unhashable type: 'slice'");
		else
			r = eval_error(e, "'%s' object is not subscriptable",
			    a->tv_type == TV_FUNC ? "function" :
			    tval_typename(a));
	}
	for (k = 0; k < 3; k++)
		tval_unref(v[k]);
	tval_unref(a);
	return r;
}

struct tval *
eval_call_value(struct eval *e, struct tval *callee, struct args *a)
{
	switch (callee->tv_type) {
	case TV_FUNC:
		return function_call(e, callee->u.fn.fid, callee->u.fn.self, a);
	case TV_MACRO:
		return macro_call(e, callee->u.mac, a);
	case TV_LOOP:
		return loop_call(e, callee->u.loop, a);
	case TV_JOINER:
		/* joiner(): '' the first time, then the separator */
		if (a->a_npos || a->a_nkw)
			return eval_error(e, "Joiner.__call__() takes 1 "
			    "positional argument but %zu were given",
			    1 + a->a_npos + a->a_nkw);
		if (!callee->u.joi.used) {
			callee->u.joi.used = 1;
			return tval_str("", 0) ?: eval_oom(e);
		}
		return tval_ref(callee->u.joi.sep);
	case TV_UNDEF:
		return eval_undefined_error(e, callee);
	default:
		return eval_error(e, "'%s' object is not callable",
		    tval_typename(callee));
	}
}

/*
 * obj.method(...) looks the method up without building a bound-method value
 * first.
 */
struct tval *
ev_call(struct eval *e, const struct tnode *n)
{
	const struct tnode	*cn = n->n_a;
	struct tval		*callee = NULL, *obj = NULL, *r = NULL;
	struct args		 a;
	int			 fid = -1;

	if (cn->n_kind == N_GETATTR) {
		if ((obj = eval_expr(e, cn->n_a)) == NULL)
			return NULL;
		if (obj->tv_type != TV_NS && obj->tv_type != TV_LOOP &&
		    obj->tv_type != TV_UNDEF && cn->n_name[0] != '_')
			fid = node_method(cn, obj);
		if (fid < 0) {
			e->e_node = cn;
			callee = getattr_node(e, obj, cn);
			if (callee == NULL)
				goto out;
		}
	} else if ((callee = eval_expr(e, cn)) == NULL)
		return NULL;
	if (eval_args(e, n->n_kids, n->n_nkids, &a) == -1)
		goto out;
	e->e_node = n;
	if (fid >= 0)
		r = function_call(e, fid, obj, &a);
	else
		r = eval_call_value(e, callee, &a);
	args_clear(&a);
out:
	tval_unref(callee);
	tval_unref(obj);
	return r;
}

struct tval *
eval_filter(struct eval *e, const struct tnode *n, struct tval *in)
{
	struct args	 a;
	struct tval	*r;

	if (eval_args(e, n->n_kids, n->n_nkids, &a) == -1)
		return NULL;
	e->e_node = n;
	/* a filter no one knows fails when called, its arguments evaluated */
	if (n->n_fid < 0)
		r = eval_error(e, "No filter named '%s' found.", n->n_name);
	else
		r = filter_call(e, n->n_fid, in, &a);
	args_clear(&a);
	return r;
}

struct tval *
ev_filter(struct eval *e, const struct tnode *n)
{
	struct tval	*a, *r;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	r = eval_filter(e, n, a);
	tval_unref(a);
	return r;
}

/* A known filter without arguments: straight to its handler. */
struct tval *
ev_filter0(struct eval *e, const struct tnode *n)
{
	struct tval	*a, *r;
	struct args	 none;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	e->e_node = n;
	none.a_npos = none.a_nkw = 0;
	none.a_keep = NULL;
	r = filter_call(e, n->n_fid, a, &none);
	tval_unref(a);
	return r;
}

struct tval *
ev_test(struct eval *e, const struct tnode *n)
{
	struct args	 a;
	struct tval	*in;
	int		 r;

	if ((in = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	if (eval_args(e, n->n_kids, n->n_nkids, &a) == -1) {
		tval_unref(in);
		return NULL;
	}
	e->e_node = n;
	if (n->n_fid < 0)
		r = eval_errorv(e, "No test named '%s' found.", n->n_name);
	else
		r = test_call(e, n->n_fid, in, &a);
	args_clear(&a);
	tval_unref(in);
	return r == -1 ? NULL : tval_bool(r);
}

struct tval *
ev_binop(struct eval *e, const struct tnode *n)
{
	struct tval	*a, *b, *r;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	if ((b = eval_expr(e, n->n_b)) == NULL) {
		tval_unref(a);
		return NULL;
	}
	e->e_node = n;
	r = eval_binop(e, n->n_op, a, b);
	tval_unref(a);
	tval_unref(b);
	if (r == NULL && !e->e_failed)
		eval_oom(e);
	return r;
}

/*
 * The operands of a ~ chain, evaluated left to right into v[] (new
 * references); 1 when one of them is a secret, -1 on error.
 */
int
eval_concat_operands(struct eval *e, const struct tnode *n, struct tval **v)
{
	size_t	 i;
	int	 secret = 0;

	for (i = 0; i < n->n_nkids; i++) {
		if ((v[i] = eval_expr(e, n->n_kids[i])) == NULL) {
			while (i-- > 0)
				tval_unref(v[i]);
			return -1;
		}
		if (v[i]->tv_type == TV_SECRET)
			secret = 1;
	}
	return secret;
}

/*
 * a ~ b ~ c: str() of each operand, joined once.  With a secret among
 * them the pairwise concatenation builds the keeper's tree.
 */
struct tval *
ev_concat(struct eval *e, const struct tnode *n)
{
	struct tval	*v[ARGS_MAX], *r = NULL, *t;
	struct buf	 b;
	size_t		 i, len, before;
	int		 secret, markup;

	if ((secret = eval_concat_operands(e, n, v)) == -1)
		return NULL;
	e->e_node = n;
	if (secret) {
		r = tval_ref(v[0]);
		for (i = 1; i < n->n_nkids && r != NULL; i++) {
			t = eval_binop(e, OP_TILDE, r, v[i]);
			tval_unref(r);
			r = t;
		}
		goto out;
	}
	memset(&b, 0, sizeof(b));
	/* the strings' lengths first: one allocation for most chains */
	for (i = 0, len = 0; i < n->n_nkids; i++)
		len += v[i]->tv_type == TV_STR ? v[i]->u.s.len : 24;
	if (len < e->e_maxout && buf_grow(&b, len + 1) == -1) {
		eval_oom(e);
		goto out;
	}
	/*
	 * Under autoescape ~ is Jinja2's markup_join: when an operand is
	 * Markup the others are escaped and the result is Markup, else it is
	 * a plain concatenation.
	 */
	markup = 0;
	for (i = 0; e->e_autoesc && i < n->n_nkids; i++)
		if (v[i]->tv_type == TV_STR && (v[i]->tv_flags & TVF_MARKUP))
			markup = 1;
	for (i = 0; i < n->n_nkids; i++) {
		if (markup && !(v[i]->tv_type == TV_STR &&
		    (v[i]->tv_flags & TVF_MARKUP))) {
			before = b.b_len;
			if (eval_str_into(e, &b, v[i]) == -1 ||
			    html_escape_tail(&b, before) == -1) {
				buf_free(&b);
				goto out;
			}
		} else if (eval_str_into(e, &b, v[i]) == -1) {
			buf_free(&b);
			goto out;
		}
	}
	if (b.b_len > e->e_maxout) {
		buf_free(&b);
		eval_error(e, "string too long (output limit %zu bytes)",
		    e->e_maxout);
		goto out;
	}
	if (eval_step(e, b.b_len / 256) == -1) {
		buf_free(&b);
		goto out;
	}
	if ((r = tval_str_buf(&b)) == NULL)
		eval_oom(e);
	else if (markup)
		r->tv_flags |= TVF_MARKUP;
out:
	for (i = 0; i < n->n_nkids; i++)
		tval_unref(v[i]);
	if (r == NULL && !e->e_failed)
		eval_oom(e);
	return r;
}

struct tval *
ev_unary(struct eval *e, const struct tnode *n)
{
	struct tval	*a, *r;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	e->e_node = n;
	if (a->tv_type == TV_UNDEF)
		r = eval_undefined_error(e, a);
	else if (a->tv_type == TV_FLOAT)
		r = tval_float(n->n_kind == N_NEG ? -a->u.f : a->u.f);
	else if (is_intlike(a)) {
		if (n->n_kind == N_POS)
			r = tval_int(a->u.i);
		else
			r = int_result(e, a->u.i != INT64_MIN, -a->u.i);
	} else
		r = eval_error(e, "bad operand type for unary %c: '%s'",
		    n->n_kind == N_NEG ? '-' : '+', tval_typename(a));
	tval_unref(a);
	if (r == NULL && !e->e_failed)
		eval_oom(e);
	return r;
}

/* The truth of an operand of not, and, or, if: a secret has none here. */
int
eval_truth(struct eval *e, const struct tnode *n, struct tval *a)
{
	if (a->tv_type == TV_SECRET) {
		e->e_node = n;
		return eval_errorv(e, "a secret cannot be tested");
	}
	return tval_truth(a);
}

/* loop.first (x's attribute) or loop.last of the loop lv */
static inline int
loop_at(const struct tnode *x, const struct tval *lv)
{
	const struct loopctx	*lc = lv->u.loop;

	return x->n_meth[4] == LA_FIRST ? lc->lc_i == 0 :
	    lc->lc_i + 1 == lc->lc_n;
}

/*
 * The truth of expression x, the condition of node n: 1, 0 or -1.  The
 * conditions of loop bodies are mostly "not loop.last": a not is its
 * operand's truth turned over, and loop.first and loop.last the loop's
 * position, without a bool in between (each node charged its step as
 * its handler would be, each error the same).
 */
int
eval_cond(struct eval *e, const struct tnode *n, const struct tnode *x)
{
	struct tval	*a;
	int		 t;

	if (x->n_ev == ev_not) {
		if (eval_enter(e, x) == -1 || (t = eval_cond(e, x, x->n_a)) == -1)
			return -1;
		return !t;
	}
	if ((x->n_ev == ev_getattr_key || x->n_ev == ev_getattr_name) &&
	    (x->n_meth[4] == LA_FIRST || x->n_meth[4] == LA_LAST)) {
		if (eval_enter(e, x) == -1)
			return -1;
		if (x->n_ev == ev_getattr_name) {
			/* loop where the body runs: borrowed, as there */
			if (eval_enter(e, x->n_a) == -1)
				return -1;
			if ((a = scope_find(e->e_scope, x->n_a->n_name)) != NULL &&
			    a->tv_type == TV_LOOP)
				return loop_at(x, a);
			a = ev_name(e, x->n_a);
		} else
			a = eval_expr(e, x->n_a);
		if (a == NULL)
			return -1;
		if (a->tv_type == TV_LOOP) {
			t = loop_at(x, a);
			tval_unref(a);
			return t;
		}
		a = getattr_key_of(e, x, a);
	} else
		a = eval_expr(e, x);
	if (a == NULL)
		return -1;
	t = eval_truth(e, n, a);
	tval_unref(a);
	return t;
}

struct tval *
ev_not(struct eval *e, const struct tnode *n)
{
	int	 t;

	t = eval_cond(e, n, n->n_a);
	return t == -1 ? NULL : tval_bool(!t);
}

struct tval *
ev_andor(struct eval *e, const struct tnode *n)
{
	struct tval	*a;
	int		 t;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	if ((t = eval_truth(e, n, a)) == -1) {
		tval_unref(a);
		return NULL;
	}
	if (t == (n->n_kind == N_OR))
		return a;
	tval_unref(a);
	return eval_expr(e, n->n_b);
}

/*
 * Comparison chains (a < b < c) evaluate each operand once and stop at the
 * first false link.
 */
struct tval *
ev_compare(struct eval *e, const struct tnode *n)
{
	struct tval	*a, *b;
	size_t		 i;
	int		 c = 1;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	for (i = 0; i < n->n_nkids && c == 1; i++) {
		const struct tnode	*op = n->n_kids[i];

		if ((b = eval_expr(e, op->n_a)) == NULL) {
			c = -1;
			break;
		}
		e->e_node = op;
		c = eval_compare(e, op->n_op, a, b);
		tval_unref(a);
		a = b;
	}
	tval_unref(a);
	return c == -1 ? NULL : tval_bool(c);
}

/* x == 'literal' and x != 'literal': two strings compare in place. */
struct tval *
ev_compare_str(struct eval *e, const struct tnode *n)
{
	const struct tnode	*op = n->n_kids[0];
	const struct tval	*k = op->n_a->n_val;
	struct tval		*a;
	int			 c;

	if ((a = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	if (a->tv_type == TV_STR)
		c = a->u.s.len == k->u.s.len && memcmp(a->u.s.p, k->u.s.p,
		    k->u.s.len) == 0;
	else {
		e->e_node = op;
		if ((c = eval_compare(e, OP_EQ, a, k)) == -1) {
			tval_unref(a);
			return NULL;
		}
	}
	tval_unref(a);
	return tval_bool(op->n_op == OP_EQ ? c : !c);
}

struct tval *
ev_condexpr(struct eval *e, const struct tnode *n)
{
	struct tval	*r;
	int		 c;

	if ((c = eval_cond(e, n, n->n_a)) == -1)
		return NULL;
	if (c)
		return eval_expr(e, n->n_b);
	if (n->n_c != NULL)
		return eval_expr(e, n->n_c);
	if ((r = tval_undef_if(n->n_line)) == NULL)
		return eval_oom(e);
	return r;
}

static struct tval *
eval_seq(struct eval *e, const struct tnode *n, struct tval *r)
{
	size_t	 i;

	if (r == NULL)
		return eval_oom(e);
	for (i = 0; i < n->n_nkids; i++)
		if (tval_list_append(r, eval_expr(e, n->n_kids[i])) == -1) {
			tval_unref(r);
			return e->e_failed ? NULL : eval_oom(e);
		}
	return r;
}

struct tval *
ev_list(struct eval *e, const struct tnode *n)
{
	/* the items inside the list's own block: one allocation */
	return eval_seq(e, n, tval_container(TV_LIST, n->n_nkids));
}

struct tval *
ev_tuple(struct eval *e, const struct tnode *n)
{
	return eval_seq(e, n, tval_container(TV_TUPLE, n->n_nkids));
}

/* Dict literals keep insertion order; keys must be hashable as in Python. */
struct tval *
ev_dict(struct eval *e, const struct tnode *n)
{
	struct tval	*d, *k, *v;
	size_t		 i;

	if ((d = tval_dict()) == NULL || tval_dict_reserve(d,
	    n->n_nkids) == -1) {
		tval_unref(d);
		return eval_oom(e);
	}
	for (i = 0; i < n->n_nkids; i++) {
		if ((k = eval_expr(e, n->n_kids[i]->n_a)) == NULL)
			goto fail;
		if (!tval_hashable(k)) {
			e->e_node = n->n_kids[i]->n_a;
			eval_error(e, "unhashable type: '%s'", tval_typename(k));
			tval_unref(k);
			goto fail;
		}
		if ((v = eval_expr(e, n->n_kids[i]->n_b)) == NULL) {
			tval_unref(k);
			goto fail;
		}
		if (tval_dict_put(d, k, v) == -1) {
			eval_oom(e);
			goto fail;
		}
	}
	return d;
fail:
	tval_unref(d);
	return NULL;
}

/* A dict display with distinct constant string keys (compile.c). */
struct tval *
ev_dict_const(struct eval *e, const struct tnode *n)
{
	struct tval		*d, *k, *v;
	struct tdict_ent	*de;
	size_t			 i;

	if ((d = tval_container(TV_DICT, n->n_nkids)) == NULL)
		return eval_oom(e);
	for (i = 0; i < n->n_nkids; i++) {
		if ((v = eval_expr(e, n->n_kids[i]->n_b)) == NULL) {
			tval_unref(d);
			return NULL;
		}
		if (v->tv_type == TV_NS || (v->tv_flags & TVF_NSIN))
			d->tv_flags |= TVF_NSIN;
		k = n->n_kids[i]->n_a->n_val;
		de = &d->u.d.e[d->u.d.n++];
		de->de_key = tval_ref(k);
		de->de_val = v;
		de->de_hash = k->u.s.h != 0 ? k->u.s.h : tval_hash(k);
	}
	return d;
}

struct tval *
ev_bad(struct eval *e, const struct tnode *n)
{
	e->e_node = n;
	return eval_error(e, "cannot evaluate this expression");
}
