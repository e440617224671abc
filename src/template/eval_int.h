/*
 * eval_int.h — the renderer's own structures, shared by its files only:
 * eval.c (limits, scopes, output, expressions, the entry point), ops.c
 * (operators and comparisons), lookup.c (attributes, items, slices) and
 * stmt.c (statements, loops, macros).
 */
#ifndef WIDGETD_EVAL_INT_H
#define WIDGETD_EVAL_INT_H

#include "tmpl_int.h"

#define DEF_STEPS	1000000
#define DEF_OUTPUT	(4 * 1024 * 1024)
#define ARENA_PER_OUT	8	/* from_json's arena: bytes per output byte */
#define DEF_DEPTH	64

struct scope_var {
	const char	*sv_name;
	size_t		 sv_len;
	uint64_t	 sv_hash;
	struct tval	*sv_val;
};

/*
 * A scope lives on the C stack of the statement that opens it; a small
 * inline table avoids a malloc for most loop bodies.
 */
struct scope {
	struct scope		*sc_parent;
	struct scope_var	*sc_vars;
	size_t			 sc_n;
	size_t			 sc_cap;
	int			 sc_captured;	/* a macro closes over it */
	struct scope_var	 sc_local[8];
};

/* Where output goes: the render result, or a capture ({% set %} blocks,
 * macros, filter blocks).  Secrets are kept as positions in the bytes. */
struct outsec {
	size_t		 os_off;
	struct tsecret	*os_ts;
};
struct out {
	struct buf	 o_buf;
	struct outsec	*o_secs;
	size_t		 o_nsecs;
	size_t		 o_csecs;
};

/* The attributes of loop, as lookup.c's loop_attrs[] spells them. */
enum loop_attr {
	LA_INDEX, LA_INDEX0, LA_REVINDEX, LA_REVINDEX0, LA_FIRST, LA_LAST,
	LA_LENGTH, LA_DEPTH, LA_DEPTH0, LA_PREVITEM, LA_NEXTITEM
};

struct loopctx {
	struct tval		**lc_items;	/* NULL once the loop is over */
	size_t			  lc_n;
	size_t			  lc_i;
	int			  lc_depth;
	const struct tnode	 *lc_node;
	struct scope		 *lc_scope;	/* where the for runs */
	struct tval		 *lc_changed;
};

struct macro {
	int			 m_refs;	/* the value, the render's list */
	const struct tnode	*m_node;	/* N_MACRO or N_CALLBLOCK */
	struct scope		*m_scope;	/* NULL: no longer callable */
	struct tval		*m_caller;
	int			 m_autoesc;	/* as where it was defined */
};

struct eval {
	const struct tmpl	*e_t;
	const struct tmpl_env	*e_env;
	struct tmpl_error	*e_err;
	int			 e_failed;
	const struct tnode	*e_node;	/* for error positions */
	uint64_t		 e_steps;
	uint64_t		 e_maxsteps;
	size_t			 e_maxout;
	int			 e_depth;
	int			 e_maxdepth;
	int			 e_autoesc;	/* {% autoescape %} is on */
	struct scope		*e_scope;
	struct scope		*e_root;
	struct out		*e_out;
	time_t			 e_now;
	struct tval		*e_globals;
	/* macros made by this render: cut loose when it ends, as a macro
	 * stored into a global must not outlive the scopes it points to */
	struct macro		**e_macros;
	size_t			 e_nmacros;
	size_t			 e_cmacros;
	/* from_json's values (see struct varena); freed after the scopes */
	struct varena		 e_arena;
	int			 e_noarena;	/* a mutating method ran */
};

/*
 * name's value in sc itself, not its parents (borrowed), or NULL.  A
 * scope holds a name once (scope_set replaces), so the order of the
 * search is free: first first, where a loop binds its target.
 */
static inline struct tval *
scope_find(const struct scope *sc, const char *name)
{
	const struct scope_var	*sv = sc->sc_vars, *end = sv + sc->sc_n;

	for (; sv < end; sv++)
		if (sv->sv_name == name)
			return sv->sv_val;
	return NULL;
}

/* eval.c */
void		 scope_init(struct scope *, struct scope *parent);
void		 scope_clear(struct scope *);
void		 scope_free(struct scope *);
void		 scope_end(struct eval *, struct scope *);
struct tval	*scope_lookup(struct scope *, const char *, size_t, uint64_t);
int		 scope_set(struct eval *, struct scope *, const char *, size_t,
		    uint64_t, struct tval *);
int		 scope_set_key(struct eval *, struct scope *, const struct tval *,
		    struct tval *);
int		 out_check(struct eval *, struct out *, size_t);
int		 out_add_slow(struct eval *, struct out *, const char *,
		    size_t);
int		 out_secret(struct eval *, struct out *, struct tsecret *);
int		 out_value(struct eval *, struct out *, const struct tval *);
void		 out_free(struct out *);
struct tval	*out_take_value(struct eval *, struct out *);
int		 eval_args(struct eval *, struct tnode **, size_t,
		    struct args *);
struct tval	*eval_filter(struct eval *, const struct tnode *,
		    struct tval *);
int		 eval_truth(struct eval *, const struct tnode *, struct tval *);
int		 eval_cond(struct eval *, const struct tnode *,
		    const struct tnode *);
int		 eval_concat_operands(struct eval *, const struct tnode *,
		    struct tval **);

/*
 * The step an expression node costs, taken before it is evaluated: -1
 * after an error, or when the budget is spent (the error set).
 */
static inline int
eval_enter(struct eval *e, const struct tnode *n)
{
	if (e->e_failed)
		return -1;
	if (++e->e_steps > e->e_maxsteps) {
		e->e_node = n;
		eval_step(e, 0);
		return -1;
	}
	return 0;
}

/*
 * The steps of x and of its operand, as eval_enter on each in turn takes
 * them (name.attr's), in one test when neither can fail.
 */
static inline int
eval_enter2(struct eval *e, const struct tnode *x)
{
	if (!e->e_failed && e->e_steps + 2 <= e->e_maxsteps) {
		e->e_steps += 2;
		return 0;
	}
	if (eval_enter(e, x) == -1 || eval_enter(e, x->n_a) == -1)
		return -1;
	return 0;
}

/*
 * One expression: a step, then the node's handler.  A new reference, or
 * NULL after the error is set.
 */
static inline struct tval *
eval_expr(struct eval *e, const struct tnode *n)
{
	if (eval_enter(e, n) == -1)
		return NULL;
	return n->n_ev(e, n);
}

/*
 * Bytes into the output, the cap checked before they are added.  Most
 * output is a few bytes of template text or a short value: when they
 * fit, they are moved by loads of a constant size (str_put), without a
 * call; else out_add_slow fails or grows the buffer.
 */
static inline int
out_add(struct eval *e, struct out *o, const char *p, size_t len)
{
	struct buf	*b = &o->o_buf;

	if (b->b_len + len <= e->e_maxout && b->b_cap - b->b_len > len &&
	    (b->b_max == 0 || b->b_len + len <= b->b_max)) {
		str_put(b->b_p + b->b_len, p, len);	/* and the NUL */
		b->b_len += len;
		return 0;
	}
	return out_add_slow(e, o, p, len);
}

/*
 * out_value's common cases without a call: a str, an int, a float of
 * few decimals, where autoescape is off.
 */
static inline int
out_value_fast(struct eval *e, struct out *o, const struct tval *v)
{
	char	 num[FMT_FLOAT_FAST_MAX], *p;

	if (!e->e_autoesc) {
		if (v->tv_type == TV_STR)
			return out_add(e, o, v->u.s.p, v->u.s.len);
		p = NULL;
		if (v->tv_type == TV_INT)
			p = fmt_int_back(num + sizeof(num), v->u.i);
		else if (v->tv_type == TV_FLOAT)
			p = fmt_float_fast(num + sizeof(num), v->u.f);
		if (p != NULL)
			return out_add(e, o, p, (size_t)(num + sizeof(num) - p));
	}
	return out_value(e, o, v);
}

/*
 * name.attr (ev_getattr_name's node n) where the name is bound, as
 * ev_name looks (the scopes, then the globals), to a dict or namespace
 * that holds attr: borrowed, nothing charged.  NULL: not so simple,
 * getattr_name_slow has it.
 */
struct tval	*getattr_name_outer(struct eval *, const struct tnode *);
static inline struct tval *
getattr_name_find(struct eval *e, const struct tnode *n)
{
	struct tval	*a;

	/* the innermost scope (a loop body's) without a call */
	if ((a = scope_find(e->e_scope, n->n_a->n_name)) == NULL)
		return getattr_name_outer(e, n);
	if (a->tv_type != TV_DICT && a->tv_type != TV_NS)
		return NULL;
	return dict_get_key(a, n->n_key, &((struct tnode *)n)->n_slot);
}
struct tval	*getattr_name_slow(struct eval *, const struct tnode *);

/* text this short is kept padded to as many bytes (compile.c) */
#define DATA_SHORT	16

/*
 * Text of up to DATA_SHORT bytes at p, padded to as many by compile.c:
 * one move of them all when the output has room, as it mostly has (the
 * bytes past the text are past the output's end, the NUL on them).
 */
static inline __attribute__((always_inline)) int
data_put(struct eval *e, const char *p, size_t len)
{
	struct buf	*b = &e->e_out->o_buf;

	if (b->b_cap - b->b_len > DATA_SHORT && b->b_len + len <= e->e_maxout &&
	    (b->b_max == 0 || b->b_len + len <= b->b_max)) {
		memcpy(b->b_p + b->b_len, p, DATA_SHORT);
		b->b_len += len;
		b->b_p[b->b_len] = '\0';
		return 0;
	}
	return out_add(e, e->e_out, p, len);
}

/* expr.c: the expression handlers compile.c chooses from */
#define EV_DECL(fn)	struct tval *fn(struct eval *, const struct tnode *);
EV_DECL(ev_const) EV_DECL(ev_name) EV_DECL(ev_getattr)
EV_DECL(ev_getattr_key) EV_DECL(ev_getattr_name) EV_DECL(ev_getitem) EV_DECL(ev_getitem_key)
EV_DECL(ev_slice) EV_DECL(ev_call) EV_DECL(ev_filter) EV_DECL(ev_filter0)
EV_DECL(ev_test) EV_DECL(ev_binop) EV_DECL(ev_unary) EV_DECL(ev_not)
EV_DECL(ev_andor) EV_DECL(ev_compare) EV_DECL(ev_compare_str)
EV_DECL(ev_condexpr) EV_DECL(ev_list) EV_DECL(ev_tuple) EV_DECL(ev_dict)
EV_DECL(ev_bad) EV_DECL(ev_concat) EV_DECL(ev_dict_const)
#undef EV_DECL
/* stmt.c: the statement handlers */
#define EX_DECL(fn)	int fn(struct eval *, const struct tnode *);
EX_DECL(ex_data) EX_DECL(ex_data_short) EX_DECL(ex_output)
EX_DECL(ex_output_attr) EX_DECL(ex_output_json) EX_DECL(ex_if)
EX_DECL(ex_if_loop) EX_DECL(ex_output_pre) EX_DECL(ex_output_attr_pre)
EX_DECL(ex_output_json_pre) EX_DECL(ex_if_loop_pre)
EX_DECL(ex_for) EX_DECL(ex_set) EX_DECL(ex_setblock) EX_DECL(ex_filterblock)
EX_DECL(ex_with) EX_DECL(ex_macro) EX_DECL(ex_callblock) EX_DECL(ex_bad)
EX_DECL(ex_set_append) EX_DECL(ex_output_concat) EX_DECL(ex_autoescape)
#undef EX_DECL
/* lookup.c */
int		 node_method(const struct tnode *, const struct tval *);
struct tval	*getattr_node(struct eval *, struct tval *,
		    const struct tnode *);
struct tval	*eval_slice(struct eval *, struct tval *,
		    const struct tval *sl[3]);
/* ops.c */
struct tval	*int_result(struct eval *, int ok, int64_t);
/* stmt.c */
int		 assign(struct eval *, struct scope *, const struct tnode *,
		    struct tval *);
int		 exec_for(struct eval *, const struct tnode *, struct tval *,
		    int depth);
int		 exec_body(struct eval *, struct tnode **, size_t);
struct tval	*macro_call(struct eval *, struct macro *, struct args *);
struct tval	*loop_call(struct eval *, struct loopctx *, struct args *);
void		 eval_macros_release(struct eval *);


#endif
