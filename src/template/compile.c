/*
 * compile.c — the last step of compiling a template: every node gets the
 * handler that will evaluate or execute it, chosen once from its kind and
 * shape, so rendering calls through a pointer and never dispatches on the
 * kind.  Where the shape allows, the handler is a specialised one: a dict
 * attribute no method shadows looks in the slot it was found last; a
 * comparison with a string constant compares bytes; a tojson in {{ }}
 * writes straight into the output.  Attribute names and constant keys
 * are interned here, so that JSON bodies share them.
 */
#include "build.h"

#include <string.h>

#include "eval_int.h"

struct compiler {
	struct tmpl	*c_t;
	int		 c_failed;
};

static void	compile_node(struct compiler *, struct tnode *);

static void
compile_kids(struct compiler *c, struct tnode **kids, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		compile_node(c, kids[i]);
}

/* A string constant's value, or NULL. */
static const struct tval *
const_str(const struct tnode *n)
{
	if (n != NULL && n->n_kind == N_CONST && n->n_val->tv_type == TV_STR)
		return n->n_val;
	return NULL;
}

/*
 * The parts of an attribute path in a string constant ('name.common' of
 * sort(attribute=...)) are names too: interned, a JSON key with that
 * spelling becomes the same value and the filter's lookups compare
 * pointers.
 */
static void
intern_path(struct compiler *c, const struct tval *s)
{
	const char	*p = s->u.s.p, *end = p + s->u.s.len, *dot;
	size_t		 i;

	if (s->u.s.len > 256)
		return;
	for (i = 0; i < s->u.s.len; i++)
		if (!(p[i] == '.' || p[i] == '_' || p[i] == '-' ||
		    (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' &&
		    p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')))
			return;
	while (p < end) {
		if ((dot = memchr(p, '.', (size_t)(end - p))) == NULL)
			dot = end;
		if (dot > p && tmpl_intern(c->c_t, p, (size_t)(dot - p)) ==
		    NULL)
			c->c_failed = 1;
		p = dot + 1;
	}
}

/*
 * The constant attribute path of a filter that walks one (sort,
 * groupby, map, sum, ...): split now, once, into n_apath, where the
 * filter finds it when its argument is this very constant.
 */
static void
compile_apath(struct compiler *c, struct tnode *n)
{
	const struct tval	*src = NULL, *k;
	const struct tnode	*kid;
	size_t			 i, npos = 0;
	int			 pos;

	switch (n->n_fid) {
	case FLT_GROUPBY:
	case FLT_SUM:
	case FLT_SELECTATTR:
	case FLT_REJECTATTR:
		pos = 0;
		break;
	case FLT_JOIN:
	case FLT_UNIQUE:
	case FLT_MIN:
	case FLT_MAX:
		pos = 1;
		break;
	case FLT_SORT:
		pos = 2;
		break;
	case FLT_MAP:
		pos = -1;
		break;
	default:
		return;
	}
	for (i = 0; i < n->n_nkids; i++) {
		kid = n->n_kids[i];
		if (kid->n_kind == N_STARARGS || kid->n_kind == N_KWSTARARGS)
			return;
		if (kid->n_kind == N_KWARG) {
			if (strcmp(kid->n_name, "attribute") == 0 &&
			    (k = const_str(kid->n_a)) != NULL)
				src = k;
		} else if ((int)npos++ == pos &&
		    (k = const_str(kid)) != NULL)
			src = k;
	}
	if (src != NULL && src->u.s.len <= 256 &&
	    (n->n_apath = apath_compile(c->c_t, src)) == NULL)
		c->c_failed = 1;
}

/* The operands of a ~ chain, left to right, wherever its parentheses. */
static size_t
concat_operands(struct tnode *n, struct tnode **out, size_t max, size_t k)
{
	if (n->n_kind == N_BINOP && n->n_op == OP_TILDE) {
		k = concat_operands(n->n_a, out, max, k);
		return concat_operands(n->n_b, out, max, k);
	}
	if (k < max)
		out[k] = n;
	return k + 1;
}

/*
 * a ~ b ~ c is one concatenation, as Jinja2 compiles it: the operands
 * are kept in n_kids and joined once, without the strings in between.
 */
static void
compile_concat(struct compiler *c, struct tnode *n)
{
	struct tnode	*ops[ARGS_MAX];
	size_t		 k;

	k = concat_operands(n, ops, ARGS_MAX, 0);
	if (k > ARGS_MAX) {
		n->n_ev = ev_binop;
		return;
	}
	if ((n->n_kids = arena_alloc(&c->c_t->t_arena, k *
	    sizeof(*n->n_kids))) == NULL) {
		c->c_failed = 1;
		return;
	}
	memcpy(n->n_kids, ops, k * sizeof(*ops));
	n->n_nkids = k;
	n->n_ev = ev_concat;
}

/*
 * A dict display whose keys are distinct string constants, few enough to
 * be scanned ({'id': it.id, 'score': it.score}): its entries need no
 * lookup as they are added.
 */
static int
dict_const_keys(const struct tnode *n)
{
	const struct tval	*k, *o;
	size_t			 i, j;

	if (n->n_nkids == 0 || n->n_nkids > 8)
		return 0;
	for (i = 0; i < n->n_nkids; i++) {
		if ((k = const_str(n->n_kids[i]->n_a)) == NULL)
			return 0;
		for (j = 0; j < i; j++) {
			o = n->n_kids[j]->n_a->n_val;
			if (o->u.s.len == k->u.s.len &&
			    memcmp(o->u.s.p, k->u.s.p, k->u.s.len) == 0)
				return 0;
		}
	}
	return 1;
}

/* No dict method has the name of attribute n: a dict answers from its keys. */
static int
getattr_keyed(const struct tnode *n)
{
	return n->n_name[0] != '_' && n->n_meth[1] < 0;
}

/* name.attr that ev_getattr_name evaluates. */
static int
getattr_of_name(const struct tnode *n)
{
	return n->n_kind == N_GETATTR && getattr_keyed(n) &&
	    n->n_a->n_kind == N_NAME;
}

static void
compile_expr(struct compiler *c, struct tnode *n)
{
	const struct tval	*k;

	switch (n->n_kind) {
	case N_CONST:
		n->n_ev = ev_const;
		if (n->n_val->tv_type == TV_STR)
			intern_path(c, n->n_val);
		break;
	case N_NAME:
		n->n_ev = ev_name;
		break;
	case N_GETATTR:
		n->n_ev = getattr_keyed(n) ? ev_getattr_key : ev_getattr;
		if (getattr_of_name(n))
			n->n_ev = ev_getattr_name;
		break;
	case N_GETITEM:
		if (n->n_b->n_kind == N_SLICE)
			n->n_ev = ev_slice;
		else if ((k = const_str(n->n_b)) != NULL) {
			if ((n->n_key = tmpl_intern(c->c_t, k->u.s.p,
			    k->u.s.len)) == NULL)
				c->c_failed = 1;
			n->n_ev = ev_getitem_key;
		} else
			n->n_ev = ev_getitem;
		break;
	case N_CALL:
		n->n_ev = ev_call;
		break;
	case N_FILTER:
		n->n_ev = n->n_fid >= 0 && n->n_nkids == 0 ? ev_filter0 :
		    ev_filter;
		compile_apath(c, n);
		break;
	case N_TEST:
		n->n_ev = ev_test;
		break;
	case N_BINOP:
		if (n->n_op == OP_TILDE)
			compile_concat(c, n);
		else
			n->n_ev = ev_binop;
		break;
	case N_NEG:
	case N_POS:
		n->n_ev = ev_unary;
		break;
	case N_NOT:
		n->n_ev = ev_not;
		break;
	case N_AND:
	case N_OR:
		n->n_ev = ev_andor;
		break;
	case N_COMPARE:
		n->n_ev = n->n_nkids == 1 && (n->n_kids[0]->n_op == OP_EQ ||
		    n->n_kids[0]->n_op == OP_NE) &&
		    const_str(n->n_kids[0]->n_a) != NULL ? ev_compare_str :
		    ev_compare;
		break;
	case N_CONDEXPR:
		n->n_ev = ev_condexpr;
		break;
	case N_LIST:
		n->n_ev = ev_list;
		break;
	case N_TUPLE:
		n->n_ev = ev_tuple;
		break;
	case N_DICT:
		n->n_ev = dict_const_keys(n) ? ev_dict_const : ev_dict;
		break;
	default:
		n->n_ev = ev_bad;
		break;
	}
}

/* {{ x | tojson }} or {{ x | json_encode }}, without arguments. */
static int
output_is_json(const struct tnode *n)
{
	const struct tnode	*f = n->n_a;

	return f->n_kind == N_FILTER && f->n_a != NULL && f->n_nkids == 0 &&
	    (f->n_fid == FLT_TOJSON || f->n_fid == FLT_JSON_ENCODE);
}

/*
 * {% set ns.x = ns.x + rhs %} or {% set x = x + rhs %}: the shape that
 * may append in place (ex_set_append decides at run time).
 */
static int
set_is_append(const struct tnode *n)
{
	const struct tnode	*t = n->n_target, *v = n->n_a, *l;

	if (v == NULL || v->n_kind != N_BINOP || v->n_op != OP_ADD)
		return 0;
	l = v->n_a;
	if (t->n_kind == N_NAME)
		return l->n_kind == N_NAME && l->n_key == t->n_key;
	return t->n_kind == N_NSREF && l->n_kind == N_GETATTR &&
	    l->n_key == t->n_key && l->n_a->n_kind == N_NAME &&
	    l->n_a->n_key == t->n_a->n_key;
}

static int	names_loop(const struct tnode *);

/* Whether one of kids or a node below them names the variable loop. */
static int
kids_name_loop(struct tnode *const *kids, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (names_loop(kids[i]))
			return 1;
	return 0;
}

static int
names_loop(const struct tnode *n)
{
	if (n == NULL)
		return 0;
	if (n->n_kind == N_NAME && n->n_namelen == 4 &&
	    memcmp(n->n_name, "loop", 4) == 0)
		return 1;
	return names_loop(n->n_a) || names_loop(n->n_b) ||
	    names_loop(n->n_c) || names_loop(n->n_target) ||
	    kids_name_loop(n->n_kids, n->n_nkids) ||
	    kids_name_loop(n->n_kids2, n->n_nkids2);
}

/*
 * A loop whose body never names loop needs no loop object: nothing could
 * reach it (a macro sees the scope it was defined in, and one defined in
 * the body is part of the body).
 */
static int
for_needs_loop(const struct tnode *n)
{
	return (n->n_flags & NF_RECURSIVE) ||
	    kids_name_loop(n->n_kids, n->n_nkids);
}

/* [not] loop.first or loop.last: what ex_if_loop answers. */
static int
cond_is_loop_at(const struct tnode *x)
{
	if (x->n_kind == N_NOT)
		x = x->n_a;
	return getattr_of_name(x) && (x->n_meth[4] == LA_FIRST ||
	    x->n_meth[4] == LA_LAST) && x->n_a->n_namelen == 4 &&
	    memcmp(x->n_a->n_name, "loop", 4) == 0;
}

/*
 * Short text (the punctuation between a loop's values) gets a copy
 * padded to DATA_SHORT bytes, which ex_data_short moves in one go.
 */
static void
compile_data(struct compiler *c, struct tnode *n)
{
	char	*p;

	n->n_ex = ex_data;
	if (n->n_len == 0 || n->n_len > DATA_SHORT)
		return;
	if ((p = arena_alloc(&c->c_t->t_arena, DATA_SHORT)) == NULL) {
		c->c_failed = 1;
		return;
	}
	memcpy(p, n->n_str, n->n_len);
	n->n_str = p;
	n->n_ex = ex_data_short;
}

static void
compile_stmt(struct compiler *c, struct tnode *n)
{
	switch (n->n_kind) {
	case N_DATA:
		compile_data(c, n);
		break;
	case N_OUTPUT:
		n->n_ex = output_is_json(n) ? ex_output_json : ex_output;
		if (n->n_ex == ex_output && getattr_of_name(n->n_a))
			n->n_ex = ex_output_attr;
		if (n->n_a->n_kind == N_BINOP && n->n_a->n_op == OP_TILDE)
			n->n_ex = ex_output_concat;
		break;
	case N_IF:
		n->n_ex = cond_is_loop_at(n->n_a) ? ex_if_loop : ex_if;
		break;
	case N_FOR:
		n->n_ex = ex_for;
		if (!for_needs_loop(n))
			n->n_flags |= NF_NOLOOP;
		break;
	case N_SET:
		n->n_ex = set_is_append(n) ? ex_set_append : ex_set;
		break;
	case N_SETBLOCK:
		n->n_ex = ex_setblock;
		break;
	case N_FILTERBLOCK:
		n->n_ex = ex_filterblock;
		break;
	case N_WITH:
		n->n_ex = ex_with;
		break;
	case N_MACRO:
		n->n_ex = ex_macro;
		break;
	case N_CALLBLOCK:
		n->n_ex = ex_callblock;
		break;
	case N_AUTOESCAPE:
		n->n_ex = ex_autoescape;
		break;
	default:
		n->n_ex = ex_bad;
		break;
	}
}

/*
 * Short text before an output or a loop's if (the punctuation between a
 * row's values) becomes part of that statement: n_str and n_len, unused
 * there, hold it, and a handler that writes it first; the text's own
 * node leaves the body.  Text, outputs and ifs are statements only,
 * so only a body (never a call's arguments) can match.
 */
static void
fuse_text(struct tnode **kids, size_t *np)
{
	struct tnode	*d, *s;
	size_t		 i, k;

	for (i = 0, k = 0; i < *np; i++) {
		d = kids[i];
		s = i + 1 < *np ? kids[i + 1] : NULL;
		if (d->n_ex == ex_data_short && s != NULL &&
		    (s->n_ex == ex_output || s->n_ex == ex_output_attr ||
		    s->n_ex == ex_output_json || s->n_ex == ex_if_loop)) {
			s->n_str = d->n_str;
			s->n_len = d->n_len;
			s->n_ex = s->n_ex == ex_output ? ex_output_pre :
			    s->n_ex == ex_output_attr ? ex_output_attr_pre :
			    s->n_ex == ex_output_json ? ex_output_json_pre :
			    ex_if_loop_pre;
			continue;
		}
		kids[k++] = d;
	}
	*np = k;
}

/* Every node below n, statements and expressions alike. */
static void
compile_node(struct compiler *c, struct tnode *n)
{
	if (n == NULL)
		return;
	compile_stmt(c, n);
	compile_expr(c, n);
	compile_node(c, n->n_a);
	compile_node(c, n->n_b);
	compile_node(c, n->n_c);
	compile_node(c, n->n_target);
	compile_kids(c, n->n_kids, n->n_nkids);
	compile_kids(c, n->n_kids2, n->n_nkids2);
	fuse_text(n->n_kids, &n->n_nkids);
	fuse_text(n->n_kids2, &n->n_nkids2);
}

/*
 * Whether the template spells the name of a method that mutates a
 * container (as an attribute or in a string constant: both are
 * interned).  Such a template's from_json values are counted ones, as
 * they may be stored where they outlive the render.
 */
static int
names_mutation(const struct tmpl *t)
{
	static const char *const names[] = MUTATING_METHODS;
	size_t			 i, len;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		len = strlen(names[i]);
		if (tmpl_name_find(t, names[i], len,
		    tmpl_hash(names[i], len)) != NULL)
			return 1;
	}
	return 0;
}

int
compile_run(struct tmpl *t, struct tmpl_error *err)
{
	struct compiler	 c;

	memset(&c, 0, sizeof(c));
	c.c_t = t;
	/*
	 * Every name a scope can hold is interned, so that scopes compare
	 * names by pointer: the renderer's own names too.
	 */
	if ((t->t_kloop = tmpl_intern(t, "loop", 4)) == NULL ||
	    (t->t_kcaller = tmpl_intern(t, "caller", 6)) == NULL ||
	    (t->t_kvarargs = tmpl_intern(t, "varargs", 7)) == NULL ||
	    (t->t_kkwargs = tmpl_intern(t, "kwargs", 6)) == NULL)
		c.c_failed = 1;
	compile_node(&c, t->t_root);
	t->t_arena_ok = !c.c_failed && !names_mutation(t);
	if (c.c_failed) {
		tmpl_seterr(err, 1, 1, "out of memory");
		return -1;
	}
	return 0;
}
