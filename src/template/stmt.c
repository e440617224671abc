/*
 * stmt.c — the statements: output, if, for (with its loop object and
 * recursive loops), set (and set blocks), filter blocks, with, and macros
 * and call blocks, each a fresh scope over the one it runs in.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/* The value named by ns of a target ns.attr, or NULL (borrowed). */
static struct tval *
ns_find(struct eval *e, const struct tnode *target)
{
	const struct tnode	*nn = target->n_a;
	struct tval		*ns;

	if ((ns = scope_lookup(e->e_scope, nn->n_name, nn->n_namelen,
	    nn->n_hash)) == NULL && e->e_globals != NULL)
		ns = dict_get_key(e->e_globals, nn->n_key,
		    &((struct tnode *)nn)->n_slot);
	return ns;
}

/*
 * Assignment targets: a name, ns.attr (namespaces only), or a tuple to
 * unpack.
 */
int
assign(struct eval *e, struct scope *sc, const struct tnode *target,
    struct tval *v)
{
	struct tval	**items = NULL, *ns;
	size_t		  n, i;
	int		  rc = 0;

	if (v == NULL)
		return -1;
	switch (target->n_kind) {
	case N_NAME:
		return scope_set(e, sc, target->n_name, target->n_namelen,
		    target->n_hash, v);
	case N_NSREF:
		e->e_node = target;
		if ((ns = ns_find(e, target)) == NULL ||
		    ns->tv_type != TV_NS) {
			tval_unref(v);
			return eval_errorv(e, "cannot assign attribute on "
			    "non-namespace object");
		}
		if (v->tv_type != TV_SECRET && tval_is_container(v) &&
		    tval_reaches(v, ns, 0)) {
			tval_unref(v);
			return eval_errorv(e, "a namespace cannot contain "
			    "itself");
		}
		/*
		 * the slot where this target found its key last time (a
		 * loop sets ns.x again and again) replaces without a hash
		 */
		if (target->n_slot < ns->u.d.n &&
		    ns->u.d.e[target->n_slot].de_key == target->n_key) {
			struct tdict_ent	*de = &ns->u.d.e[target->n_slot];

			if (v->tv_type == TV_NS || (v->tv_flags & TVF_NSIN))
				ns->tv_flags |= TVF_NSIN;
			tval_unref(de->de_val);
			de->de_val = v;
			return 0;
		}
		if (tval_dict_put(ns, tval_ref(target->n_key), v) == -1)
			return eval_errorv(e, "out of memory");
		(void)dict_get_key(ns, target->n_key,
		    &((struct tnode *)target)->n_slot);
		return 0;
	case N_TUPLE:
		e->e_node = target;
		/* a sequence of the right length is unpacked without a copy */
		if ((v->tv_type == TV_LIST || v->tv_type == TV_TUPLE) &&
		    v->u.l.n == target->n_nkids) {
			for (i = 0; i < target->n_nkids && rc == 0; i++)
				rc = assign(e, sc, target->n_kids[i],
				    tval_ref(v->u.l.v[i]));
			tval_unref(v);
			return rc;
		}
		if (eval_iterate(e, v, &items, &n) == -1) {
			tval_unref(v);
			return -1;
		}
		tval_unref(v);
		if (n != target->n_nkids) {
			items_free(items, n);
			if (n > target->n_nkids)
				return eval_errorv(e, "too many values to unpack "
				    "(expected %zu)", target->n_nkids);
			return eval_errorv(e, "not enough values to unpack "
			    "(expected %zu, got %zu)", target->n_nkids, n);
		}
		for (i = 0; i < n && rc == 0; i++) {
			rc = assign(e, sc, target->n_kids[i], items[i]);
			items[i] = NULL;
		}
		items_free(items, n);
		return rc;
	default:
		tval_unref(v);
		return eval_errorv(e, "cannot assign to this target");
	}
}

/*
 * An iteration's bindings: item to the target, loopv (when there is
 * one) to loop, in a scope emptied of the last iteration's.  A name is
 * bound where it was first (scope_set replaces in place), so from the
 * second iteration on a plain name target holds slot 0 and loop slot 1:
 * their values are replaced there and what the body set is let go,
 * which is what emptying and binding again would leave.
 */
static inline int
for_bind(struct eval *e, struct scope *sc, const struct tnode *target,
    struct tval *item, struct tval *loopv)
{
	struct scope_var	*sv = sc->sc_vars;
	struct tval		*old;
	size_t			 nb = loopv != NULL ? 2 : 1, i;

	if (target->n_kind != N_NAME || sc->sc_n < nb ||
	    sv[0].sv_name != target->n_name ||
	    (loopv != NULL && sv[1].sv_name != e->e_t->t_kloop->u.s.p)) {
		scope_clear(sc);
		if (assign(e, sc, target, tval_ref(item)) == -1)
			return -1;
		if (loopv != NULL && scope_set_key(e, sc, e->e_t->t_kloop,
		    tval_ref(loopv)) == -1)
			return -1;
		return 0;
	}
	for (i = nb; i < sc->sc_n; i++)
		tval_unref(sv[i].sv_val);
	sc->sc_n = nb;
	old = sv[0].sv_val;
	sv[0].sv_val = tval_ref(item);
	tval_unref(old);
	/* the body may have set loop to something else */
	if (loopv != NULL && sv[1].sv_val != loopv) {
		old = sv[1].sv_val;
		sv[1].sv_val = tval_ref(loopv);
		tval_unref(old);
	}
	return 0;
}

/*
 * The items a for walks: eval_iterate's copy, or, for a list of
 * from_json's arena without a loop filter (which compacts the copy), the
 * list's own array, borrowed (*borrowed set): nothing can change it while
 * the render runs, as a template that could mutate one gets no arena,
 * and its values are not counted.  The step is eval_iterate's.
 */
static inline __attribute__((always_inline)) int
for_items(struct eval *e, const struct tnode *n, struct tval *iter,
    struct tval ***items, size_t *nitems, int *borrowed)
{
	*borrowed = 0;
	if (!(iter->tv_flags & TVF_ARENA) || iter->tv_type != TV_LIST ||
	    n->n_b != NULL)
		return eval_iterate(e, iter, items, nitems);
	*items = NULL;
	*nitems = 0;
	if (iter->u.l.n == 0)
		return 0;
	if (eval_step(e, iter->u.l.n / 8) == -1)
		return -1;
	*items = iter->u.l.v;
	*nitems = iter->u.l.n;
	*borrowed = 1;
	return 0;
}

/*
 * {% for %}: the filter runs first (loop.length counts only what passes),
 * then each iteration gets a fresh scope with the target and loop bound.
 */
int
exec_for(struct eval *e, const struct tnode *n, struct tval *iter, int depth)
{
	struct tval	**items = NULL, *loopv = NULL, *t;
	struct loopctx	*lc = NULL;
	struct scope	 sc, *outer = e->e_scope;
	size_t		 nitems = 0, i, k;
	int		 rc = -1, keep, borrowed = 0;

	e->e_node = n;
	if (eval_depth_enter(e) == -1)
		return -1;
	scope_init(&sc, outer);
	if (for_items(e, n, iter, &items, &nitems, &borrowed) == -1)
		goto out;
	if (n->n_b != NULL) {
		/* the loop filter sees the target but not loop.* */
		for (i = 0, k = 0; i < nitems; i++) {
			t = NULL;
			if (for_bind(e, &sc, n->n_target, items[i], NULL) == 0) {
				e->e_scope = &sc;
				t = eval_expr(e, n->n_b);
				e->e_scope = outer;
			}
			if (t == NULL) {
				/* close the gap so each item is freed once */
				while (i < nitems)
					items[k++] = items[i++];
				nitems = k;
				goto out;
			}
			keep = tval_truth(t);
			tval_unref(t);
			if (keep)
				items[k++] = items[i];
			else
				tval_unref(items[i]);
		}
		nitems = k;
		scope_clear(&sc);
	}
	if (nitems == 0) {
		rc = exec_body(e, n->n_kids2, n->n_nkids2);
		goto out;
	}
	if (n->n_flags & NF_NOLOOP)
		goto body;
	if ((lc = calloc(1, sizeof(*lc))) == NULL ||
	    (loopv = tval_list()) == NULL) {
		free(lc);
		lc = NULL;
		eval_error(e, "out of memory");
		goto out;
	}
	loopv->tv_type = TV_LOOP;
	loopv->u.loop = lc;
	lc->lc_items = items;
	lc->lc_n = nitems;
	lc->lc_depth = depth;
	lc->lc_node = n;
	lc->lc_scope = outer;
body:
	for (i = 0; i < nitems; i++) {
		/* eval_step(e, 1), its test here */
		if (++e->e_steps > e->e_maxsteps && eval_step(e, 0) == -1)
			goto out;
		if (lc != NULL)
			lc->lc_i = i;
		if (for_bind(e, &sc, n->n_target, items[i], loopv) == -1)
			goto out;
		e->e_scope = &sc;
		if (exec_body(e, n->n_kids, n->n_nkids) == -1) {
			e->e_scope = outer;
			goto out;
		}
		e->e_scope = outer;
	}
	rc = 0;
out:
	e->e_scope = outer;
	if (lc != NULL) {
		/* the loop object may outlive the loop: cut it loose */
		lc->lc_items = NULL;
		lc->lc_scope = NULL;
	}
	tval_unref(loopv);
	scope_end(e, &sc);
	if (!borrowed)
		items_free(items, nitems);
	eval_depth_leave(e);
	return rc;
}

/* Apply a filter chain whose innermost input is v (filter / set blocks). */
static struct tval *
apply_chain(struct eval *e, const struct tnode *f, struct tval *v)
{
	struct tval	*in, *r;

	if (f == NULL)
		return v;
	if ((in = apply_chain(e, f->n_a, v)) == NULL)
		return NULL;
	r = eval_filter(e, f, in);
	tval_unref(in);
	return r;
}

/* Render statements into a private buffer instead of the output. */
static struct tval *
capture(struct eval *e, struct tnode **kids, size_t nkids)
{
	struct out	 out, *saved = e->e_out;
	int		 rc;

	if (eval_depth_enter(e) == -1)
		return NULL;
	memset(&out, 0, sizeof(out));
	e->e_out = &out;
	rc = exec_body(e, kids, nkids);
	e->e_out = saved;
	eval_depth_leave(e);
	if (rc == -1) {
		out_free(&out);
		return NULL;
	}
	return out_take_value(e, &out);
}

/*
 * The statements.  Like expressions, each node got its handler when the
 * template was compiled (compile.c); -1 after the error is set.
 */
int
ex_data(struct eval *e, const struct tnode *n)
{
	return out_add(e, e->e_out, n->n_str, n->n_len);
}

int
ex_data_short(struct eval *e, const struct tnode *n)
{
	return data_put(e, n->n_str, n->n_len);
}

/* {{ }} of a secret: written as out_value writes one, or as a tag. */
static int
output_secret(struct eval *e, const struct tnode *n, const struct tval *v)
{
	struct tsecret	*ts;

	if (v->u.sec->ts_op == TSX_SECRET || n->n_a->n_kind == N_NAME)
		return out_value(e, e->e_out, v);
	/* debugging output shows the tag as it was written */
	ts = tsecret_dup(v->u.sec);
	if (ts != NULL && ts->ts_literal == NULL &&
	    (ts->ts_literal = strndup(e->e_t->t_src + n->n_soff,
	    n->n_send - n->n_soff)) == NULL) {
		tsecret_free(ts);
		ts = NULL;
	}
	return out_secret(e, e->e_out, ts);
}

/* What {{ }} does with its value v (borrowed): str() of it, or a secret. */
static inline __attribute__((always_inline)) int
output_value(struct eval *e, const struct tnode *n, const struct tval *v)
{
	e->e_node = n->n_a;
	if (v->tv_type == TV_SECRET)
		return output_secret(e, n, v);
	return out_value_fast(e, e->e_out, v);
}

/* output_value, then v let go */
static int
output_taken(struct eval *e, const struct tnode *n, struct tval *v)
{
	int	 rc;

	rc = output_value(e, n, v);
	tval_unref(v);
	return rc;
}

int
ex_output(struct eval *e, const struct tnode *n)
{
	struct tval	*v;

	if ((v = eval_expr(e, n->n_a)) == NULL)
		return -1;
	return output_taken(e, n, v);
}

/*
 * {{ name.attr }} (compile.c): the steps of the attribute and the name,
 * as eval_expr and ev_getattr_name take them, and a value found where
 * it is bound is written without a reference.
 */
static inline __attribute__((always_inline)) int
output_attr(struct eval *e, const struct tnode *n)
{
	const struct tnode	*x = n->n_a;
	struct tval		*v;

	if (eval_enter2(e, x) == -1)
		return -1;
	if ((v = getattr_name_find(e, x)) != NULL)
		return output_value(e, n, v);
	if ((v = getattr_name_slow(e, x)) == NULL)
		return -1;
	return output_taken(e, n, v);
}

int
ex_output_attr(struct eval *e, const struct tnode *n)
{
	return output_attr(e, n);
}

/*
 * The JSON text of v (taken) into the output, as tojson or json_encode
 * (f's filter) writes it, when it is not a plain short str.
 */
static int
output_json_dump(struct eval *e, const struct tnode *f, struct tval *v)
{
	struct buf	*b = &e->e_out->o_buf;
	size_t		 before = b->b_len, max = b->b_max;
	char		 err[200];
	int		 rc;

	e->e_node = f;
	if (v->tv_type == TV_SECRET) {
		tval_unref(v);
		return eval_errorv(e, "a secret cannot be passed to the filter "
		    "'%s'", f->n_name);
	}
	b->b_max = e->e_maxout + 1;
	rc = json_dump(b, v, f->n_fid == FLT_TOJSON ? 1 : 0, -1, err,
	    sizeof(err));
	b->b_max = max;
	tval_unref(v);
	if (rc == -1 || b->b_over || b->b_len > e->e_maxout) {
		b->b_len = before;
		if (b->b_p != NULL)
			b->b_p[before] = '\0';
		b->b_over = 0;
		if (rc == -1)
			return eval_errorv(e, "%s", err);
		return out_check(e, e->e_out, e->e_maxout + 1);
	}
	/* as the filter would: its output is charged by its size */
	if (b->b_len - before > 256)
		return eval_step(e, (b->b_len - before) / 256);
	return 0;
}

/* A short str with nothing to escape: between quotes, no dump. */
static inline int
output_json_plain(struct eval *e, const struct tval *v)
{
	if (v->tv_type == TV_STR && v->u.s.len <= 254 &&
	    json_str_plain(&e->e_out->o_buf, v, e->e_maxout) == 0)
		return 0;
	return -1;
}

/*
 * {{ x | tojson }} and {{ x | json_encode }} without arguments: the JSON
 * text goes straight into the output, never a string of its own.  x
 * name.attr is taken as ex_output_attr takes it.
 */
static inline __attribute__((always_inline)) int
output_json(struct eval *e, const struct tnode *n)
{
	const struct tnode	*f = n->n_a;
	struct tval		*v;

	/* json_encode's str is escaped under autoescape; tojson's Markup not */
	if (e->e_autoesc && f->n_fid != FLT_TOJSON)
		return ex_output(e, n);
	if (f->n_a->n_ev == ev_getattr_name) {
		if (eval_enter2(e, f->n_a) == -1)
			return -1;
		if ((v = getattr_name_find(e, f->n_a)) != NULL) {
			if (output_json_plain(e, v) == 0)
				return 0;
			return output_json_dump(e, f, tval_ref(v));
		}
		v = getattr_name_slow(e, f->n_a);
	} else
		v = eval_expr(e, f->n_a);
	if (v == NULL)
		return -1;
	if (output_json_plain(e, v) == 0) {
		tval_unref(v);
		return 0;
	}
	return output_json_dump(e, f, v);
}

int
ex_output_json(struct eval *e, const struct tnode *n)
{
	return output_json(e, n);
}

/*
 * {{ a ~ b ~ c }}: each operand straight into the output, no string in
 * between.  A secret among them makes the usual tree (and its literal).
 */
int
ex_output_concat(struct eval *e, const struct tnode *n)
{
	const struct tnode	*c = n->n_a;
	struct tval		*v[ARGS_MAX];
	size_t			 i;
	int			 rc = 0, secret;

	if (c->n_nkids == 0)
		return ex_output(e, n);
	if ((secret = eval_concat_operands(e, c, v)) == -1)
		return -1;
	if (secret) {
		for (i = 0; i < c->n_nkids; i++)
			tval_unref(v[i]);
		return ex_output(e, n);
	}
	e->e_node = c;
	for (i = 0; i < c->n_nkids; i++) {
		if (rc == 0)
			rc = out_value(e, e->e_out, v[i]);
		tval_unref(v[i]);
	}
	return rc;
}

int
ex_if(struct eval *e, const struct tnode *n)
{
	int	 rc;

	if ((rc = eval_cond(e, n, n->n_a)) == -1)
		return -1;
	if (rc)
		return exec_body(e, n->n_kids, n->n_nkids);
	return exec_body(e, n->n_kids2, n->n_nkids2);
}

/*
 * {% if [not] loop.first %} or loop.last (compile.c): the loop bound in
 * the body's scope answers at once, the steps of the not, the attribute
 * and the name taken together; anything else (loop bound to something
 * else, the step limit near) is eval_cond's.  A branch of one statement
 * (the comma between rows) runs without exec_body's loop.
 */
static inline __attribute__((always_inline)) int
if_loop(struct eval *e, const struct tnode *n)
{
	const struct tnode	*x = n->n_a, *kid;
	const struct loopctx	*lc;
	struct tval		*lv;
	struct tnode		**kids;
	size_t			 nkids;
	uint64_t		 steps = 2;
	int			 t, neg = 0;

	if (x->n_ev == ev_not) {
		x = x->n_a;
		neg = 1;
		steps = 3;
	}
	if (!e->e_failed && e->e_steps + steps <= e->e_maxsteps &&
	    (lv = scope_find(e->e_scope, x->n_a->n_name)) != NULL &&
	    lv->tv_type == TV_LOOP) {
		e->e_steps += steps;
		lc = lv->u.loop;
		t = (x->n_meth[4] == LA_FIRST ? lc->lc_i == 0 :
		    lc->lc_i + 1 == lc->lc_n) ^ neg;
	} else if ((t = eval_cond(e, n, n->n_a)) == -1)
		return -1;
	kids = t ? n->n_kids : n->n_kids2;
	nkids = t ? n->n_nkids : n->n_nkids2;
	if (nkids != 1)
		return exec_body(e, kids, nkids);
	/* as exec_body would run it */
	kid = kids[0];
	if (e->e_failed)
		return -1;
	if (kid->n_ex(e, kid) == -1) {
		if (!e->e_failed) {
			e->e_node = kid;
			eval_error(e, "render failed");
		}
		return -1;
	}
	return 0;
}

int
ex_if_loop(struct eval *e, const struct tnode *n)
{
	return if_loop(e, n);
}

/*
 * A statement with the short text before it (compile.c, fuse_text):
 * the text, then the statement, as two would run, without exec_body's
 * turn between them.
 */
#define EX_TEXT_BEFORE(fn, run)						\
int									\
fn(struct eval *e, const struct tnode *n)				\
{									\
	if (data_put(e, n->n_str, n->n_len) == -1)			\
		return -1;						\
	return run(e, n);						\
}
EX_TEXT_BEFORE(ex_output_pre, ex_output)
EX_TEXT_BEFORE(ex_output_attr_pre, output_attr)
EX_TEXT_BEFORE(ex_output_json_pre, output_json)
EX_TEXT_BEFORE(ex_if_loop_pre, if_loop)
#undef EX_TEXT_BEFORE

int
ex_for(struct eval *e, const struct tnode *n)
{
	struct tval	*v;
	int		 rc;

	if ((v = eval_expr(e, n->n_a)) == NULL)
		return -1;
	rc = exec_for(e, n, v, 0);
	tval_unref(v);
	return rc;
}

int
ex_set(struct eval *e, const struct tnode *n)
{
	return assign(e, e->e_scope, n->n_target, eval_expr(e, n->n_a));
}

/* The list a {% set %} of the append shape would replace, or NULL. */
static struct tval *
append_target(struct eval *e, const struct tnode *t, struct tval **nsp)
{
	struct tval	*ns, *cur;
	size_t		 i;

	*nsp = NULL;
	if (t->n_kind == N_NSREF) {
		if ((ns = ns_find(e, t)) == NULL || ns->tv_type != TV_NS)
			return NULL;
		*nsp = ns;
		cur = dict_get_key(ns, t->n_key, &((struct tnode *)t)->n_slot);
	} else {
		/* only a binding of this very scope is replaced in place */
		cur = NULL;
		for (i = e->e_scope->sc_n; cur == NULL && i-- > 0;)
			if (e->e_scope->sc_vars[i].sv_name == t->n_name)
				cur = e->e_scope->sc_vars[i].sv_val;
	}
	if (cur == NULL || cur->tv_type != TV_LIST ||
	    (cur->tv_flags & (TVF_VITEMS | TVF_VKEYS | TVF_VVALUES)))
		return NULL;
	return cur;
}

/*
 * Whether the container v holds no container: then it reaches no value
 * but itself, which is what a row appended to a list mostly is (a dict
 * of strs and numbers), and its members are looked at once, not twice.
 */
static int
append_flat(const struct tval *v)
{
	size_t	 i;

	if (v->tv_type == TV_DICT || v->tv_type == TV_NS) {
		for (i = 0; i < v->u.d.n; i++)
			if (tval_is_container(v->u.d.e[i].de_val))
				return 0;
		return 1;
	}
	for (i = 0; i < v->u.l.n; i++)
		if (tval_is_container(v->u.l.v[i]))
			return 0;
	return 1;
}

/*
 * {% set ns.x = ns.x + rhs %} and {% set x = x + rhs %}: when the list is
 * held by nothing but the namespace (or this scope's variable), appending
 * rhs to it in place is what a new list would be, without the copy that
 * makes a loop accumulating rows quadratic.  Python evaluates the left
 * operand first: the list is held across rhs (a macro call in rhs may
 * assign), and whatever is not the simple case takes the general path.
 */
int
ex_set_append(struct eval *e, const struct tnode *n)
{
	const struct tnode	*t = n->n_target;
	struct tval		*cur, *ns, *rhs, *it, *now;
	size_t			 i, want;
	int			 inplace;

	if ((cur = append_target(e, t, &ns)) == NULL)
		return ex_set(e, n);
	tval_ref(cur);
	e->e_steps++;
	if ((rhs = eval_expr(e, n->n_a->n_b)) == NULL) {
		tval_unref(cur);
		return -1;
	}
	e->e_node = n->n_a;
	now = append_target(e, t, &ns);
	/* held by the target and by us, and nothing else */
	inplace = now == cur && cur->tv_refs == 2 && rhs->tv_type == TV_LIST;
	for (i = 0; inplace && i < rhs->u.l.n; i++) {
		it = rhs->u.l.v[i];
		if (it == cur || it == ns || (tval_is_container(it) &&
		    !append_flat(it) && (tval_reaches(it, cur, 0) ||
		    (ns != NULL && tval_reaches(it, ns, 0)))))
			inplace = 0;
	}
	if (!inplace) {
		now = eval_binop(e, OP_ADD, cur, rhs);
		tval_unref(cur);
		tval_unref(rhs);
		if (now == NULL)
			return e->e_failed ? -1 : eval_errorv(e, "out of memory");
		return assign(e, e->e_scope, t, now);
	}
	tval_unref(cur);
	/* room to double, as append has: a loop appends row after row */
	want = cur->u.l.n + rhs->u.l.n;
	if (want > cur->u.l.cap && want < 2 * cur->u.l.cap)
		want = 2 * cur->u.l.cap;
	if (eval_step(e, rhs->u.l.n / 8) == -1 ||
	    tval_list_reserve(cur, want) == -1) {
		tval_unref(rhs);
		return e->e_failed ? -1 : eval_errorv(e, "out of memory");
	}
	for (i = 0; i < rhs->u.l.n; i++)
		(void)tval_list_append(cur, tval_ref(rhs->u.l.v[i]));
	tval_unref(rhs);
	return 0;
}

int
ex_setblock(struct eval *e, const struct tnode *n)
{
	struct tval	*v;

	if ((v = capture(e, n->n_kids, n->n_nkids)) == NULL)
		return -1;
	return assign(e, e->e_scope, n->n_target, apply_chain(e, n->n_b, v));
}

int
ex_filterblock(struct eval *e, const struct tnode *n)
{
	struct tval	*v;
	int		 rc;

	if ((v = capture(e, n->n_kids, n->n_nkids)) == NULL ||
	    (v = apply_chain(e, n->n_b, v)) == NULL)
		return -1;
	rc = out_value(e, e->e_out, v);
	tval_unref(v);
	return rc;
}

int
ex_with(struct eval *e, const struct tnode *n)
{
	struct scope	 sc, *saved;
	struct tval	*v;
	size_t		 i;
	int		 rc = 0;

	scope_init(&sc, e->e_scope);
	saved = e->e_scope;
	for (i = 0; i < n->n_nkids2 && rc == 0; i++) {
		/* values see the outer scope, as in Jinja2 */
		v = eval_expr(e, n->n_kids2[i]->n_a);
		rc = assign(e, &sc, n->n_kids2[i]->n_target, v);
	}
	if (rc == 0) {
		e->e_scope = &sc;
		rc = exec_body(e, n->n_kids, n->n_nkids);
		e->e_scope = saved;
	}
	scope_end(e, &sc);
	return rc;
}

/* A macro value for an N_MACRO or N_CALLBLOCK node, over scope sc. */
static struct tval *
macro_new(struct eval *e, const struct tnode *n, struct scope *sc)
{
	struct macro	*mac;
	struct tval	*m;

	if ((mac = calloc(1, sizeof(*mac))) == NULL ||
	    (m = tval_list()) == NULL) {
		free(mac);
		return eval_oom(e);
	}
	mac->m_refs = 1;
	m->tv_type = TV_MACRO;
	m->u.mac = mac;
	mac->m_node = n;
	mac->m_scope = sc;
	mac->m_autoesc = e->e_autoesc;
	return m;
}

int
ex_macro(struct eval *e, const struct tnode *n)
{
	struct tval	*m;
	struct macro	**nm;

	/* a closure over the scope it is defined in (for, with, macro) */
	if ((m = macro_new(e, n, e->e_scope)) == NULL)
		return -1;
	e->e_scope->sc_captured = 1;
	if (e->e_nmacros == e->e_cmacros) {
		size_t	 c = e->e_cmacros ? e->e_cmacros * 2 : 8;

		if ((nm = realloc(e->e_macros, c * sizeof(*nm))) == NULL) {
			tval_unref(m);
			return eval_errorv(e, "out of memory");
		}
		e->e_macros = nm;
		e->e_cmacros = c;
	}
	/* the list holds a reference to the value's struct macro */
	e->e_macros[e->e_nmacros++] = m->u.mac;
	m->u.mac->m_refs++;
	return scope_set(e, e->e_scope, n->n_name, n->n_namelen, n->n_hash, m);
}

int
ex_callblock(struct eval *e, const struct tnode *n)
{
	const struct tnode	*call = n->n_a;
	struct tval		*m, *v = NULL, *callee;
	struct args		 a;
	int			 rc;

	if ((m = macro_new(e, n, e->e_scope)) == NULL)
		return -1;
	if ((callee = eval_expr(e, call->n_a)) != NULL) {
		if (eval_args(e, call->n_kids, call->n_nkids, &a) == 0) {
			if (a.a_nkw < ARGS_MAX) {
				a.a_kwname[a.a_nkw] = "caller";
				a.a_kwval[a.a_nkw++] = tval_ref(m);
				e->e_node = n;
				v = eval_call_value(e, callee, &a);
			} else
				eval_error(e, "too many arguments");
			args_clear(&a);
		}
		tval_unref(callee);
	}
	m->u.mac->m_scope = NULL;
	tval_unref(m);
	if (v == NULL)
		return -1;
	rc = out_value(e, e->e_out, v);
	tval_unref(v);
	return rc;
}

/*
 * {% autoescape on %}: the body's output escapes what is not Markup.  Its
 * body is a scope of its own, as Jinja2's parser wraps it in one.
 */
int
ex_autoescape(struct eval *e, const struct tnode *n)
{
	struct scope	 sc, *outer = e->e_scope;
	int		 on, saved = e->e_autoesc, rc;

	scope_init(&sc, outer);
	e->e_scope = &sc;
	rc = -1;
	if ((on = eval_cond(e, n, n->n_a)) == -1)
		goto out;
	e->e_autoesc = on;
	rc = exec_body(e, n->n_kids, n->n_nkids);
	e->e_autoesc = saved;
out:
	e->e_scope = outer;
	scope_end(e, &sc);
	return rc;
}

int
ex_bad(struct eval *e, const struct tnode *n)
{
	e->e_node = n;
	return eval_errorv(e, "cannot execute this statement");
}

/* Statements in order; the first failure stops the render. */
int
exec_body(struct eval *e, struct tnode **kids, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (e->e_failed)
			return -1;
		if (kids[i]->n_ex(e, kids[i]) == -1) {
			if (!e->e_failed) {
				e->e_node = kids[i];
				eval_error(e, "render failed");
			}
			return -1;
		}
	}
	return 0;
}

/* --- Macros and calls of loop() ------------------------------------------ */

/*
 * A macro call is a fresh scope over the template's top level; its output
 * is its return value.
 */
struct tval *
macro_call(struct eval *e, struct macro *m, struct args *a)
{
	const struct tnode	*mn = m->m_node;
	struct scope		 sc;
	struct out		 out, *saved_out;
	struct scope		*saved_scope;
	struct tval		*v, *caller = NULL, *extra_kw = NULL, *r = NULL;
	size_t			 i, j, np;
	int			 rc = -1, saved_autoesc;

	if (m->m_scope == NULL)
		return eval_error(e, "this macro is no longer callable");
	np = mn->n_nkids2;
	if (a->a_npos > np && !(mn->n_flags & NF_VARARGS))
		return eval_error(e, "macro '%s' takes not more than %zu "
		    "argument(s)", mn->n_name ? mn->n_name : "caller", np);
	if (eval_depth_enter(e) == -1)
		return NULL;
	scope_init(&sc, m->m_scope);
	memset(&out, 0, sizeof(out));
	saved_out = e->e_out;
	saved_scope = e->e_scope;
	e->e_scope = &sc;
	for (i = 0; i < a->a_nkw; i++) {
		/*
		 * caller is special only to a macro whose body uses it; to
		 * any other it is a keyword like the rest, so a call block
		 * around a macro that never calls caller() is an error
		 * (Jinja2's Macro.__call__), unless kwargs takes it.
		 */
		if ((mn->n_flags & NF_CALLER) &&
		    strcmp(a->a_kwname[i], "caller") == 0) {
			caller = a->a_kwval[i];
			continue;
		}
		for (j = 0; j < np; j++)
			if (strcmp(mn->n_kids2[j]->n_name, a->a_kwname[i]) == 0)
				break;
		if (j == np && (mn->n_flags & NF_KWARGS)) {
			/* extra keywords land in kwargs */
			if (extra_kw == NULL && (extra_kw = tval_dict()) == NULL) {
				eval_error(e, "out of memory");
				goto out;
			}
			if (tval_dict_set(extra_kw, a->a_kwname[i],
			    tval_ref(a->a_kwval[i])) == -1) {
				eval_error(e, "out of memory");
				goto out;
			}
			continue;
		}
		if (j == np && strcmp(a->a_kwname[i], "caller") == 0) {
			eval_error(e, "macro '%s' is given a caller but never "
			    "calls caller()", mn->n_name ? mn->n_name :
			    "caller");
			goto out;
		}
		if (j == np) {
			eval_error(e, "macro '%s' takes no keyword argument '%s'",
			    mn->n_name ? mn->n_name : "caller", a->a_kwname[i]);
			goto out;
		}
		if (j < a->a_npos) {
			eval_error(e, "macro '%s' got multiple values for "
			    "argument '%s'", mn->n_name, a->a_kwname[i]);
			goto out;
		}
	}
	for (j = 0; j < np; j++) {
		const struct tnode	*p = mn->n_kids2[j];

		v = NULL;
		if (j < a->a_npos)
			v = tval_ref(a->a_pos[j]);
		else {
			for (i = 0; i < a->a_nkw && v == NULL; i++)
				if (strcmp(p->n_name, a->a_kwname[i]) == 0)
					v = tval_ref(a->a_kwval[i]);
			if (v == NULL && p->n_a != NULL) {
				if ((v = eval_expr(e, p->n_a)) == NULL)
					goto out;
			} else if (v == NULL &&
			    (v = tval_undef_fmt("parameter '%s' was not "
			    "provided", p->n_name)) == NULL) {
				eval_error(e, "out of memory");
				goto out;
			}
		}
		if (scope_set(e, &sc, p->n_name, p->n_namelen, p->n_hash, v) ==
		    -1)
			goto out;
	}
	if (mn->n_flags & NF_VARARGS) {
		struct tval	*va = tval_tuple();

		for (j = np; va != NULL && j < a->a_npos; j++)
			if (tval_list_append(va, tval_ref(a->a_pos[j])) == -1) {
				tval_unref(va);
				va = NULL;
			}
		if (va == NULL) {
			eval_error(e, "out of memory");
			goto out;
		}
		if (scope_set_key(e, &sc, e->e_t->t_kvarargs, va) == -1)
			goto out;
	}
	if (mn->n_flags & NF_KWARGS) {
		if (extra_kw == NULL && (extra_kw = tval_dict()) == NULL) {
			eval_error(e, "out of memory");
			goto out;
		}
		if (scope_set_key(e, &sc, e->e_t->t_kkwargs, extra_kw) == -1) {
			extra_kw = NULL;
			goto out;
		}
		extra_kw = NULL;
	}
	if (caller != NULL && scope_set_key(e, &sc, e->e_t->t_kcaller,
	    tval_ref(caller)) == -1)
		goto out;
	e->e_out = &out;
	/*
	 * The body escapes as where the macro was defined; what it returns
	 * is Markup when autoescape is on where it is called (Jinja2's
	 * Macro.__call__ takes the caller's eval context).
	 */
	saved_autoesc = e->e_autoesc;
	e->e_autoesc = m->m_autoesc;
	rc = exec_body(e, mn->n_kids, mn->n_nkids);
	e->e_autoesc = saved_autoesc;
	if (rc == 0)
		r = out_take_value(e, &out);
out:
	tval_unref(extra_kw);
	e->e_out = saved_out;
	e->e_scope = saved_scope;
	scope_end(e, &sc);
	eval_depth_leave(e);
	if (r == NULL)
		out_free(&out);
	return r;
}

/*
 * loop(items) of a recursive for: the same body one level deeper, its
 * output as a string.
 */
struct tval *
loop_call(struct eval *e, struct loopctx *lc, struct args *a)
{
	struct out	 out, *saved_out;
	struct scope	*saved_scope;
	int		 rc;

	if (lc->lc_items == NULL || lc->lc_scope == NULL)
		return eval_error(e, "the loop is over and cannot be called");
	if (!(lc->lc_node->n_flags & NF_RECURSIVE))
		return eval_error(e, "Tried to call non recursive loop.  Maybe "
		    "you forgot the 'recursive' modifier.");
	if (a->a_npos != 1 || a->a_nkw != 0)
		return eval_error(e, "loop() takes exactly one argument");
	memset(&out, 0, sizeof(out));
	saved_out = e->e_out;
	saved_scope = e->e_scope;
	e->e_out = &out;
	e->e_scope = lc->lc_scope;
	rc = exec_for(e, lc->lc_node, a->a_pos[0], lc->lc_depth + 1);
	e->e_out = saved_out;
	e->e_scope = saved_scope;
	if (rc == -1) {
		out_free(&out);
		return NULL;
	}
	return out_take_value(e, &out);
}

void
loopctx_free(struct loopctx *lc)
{
	if (lc == NULL)
		return;
	tval_unref(lc->lc_changed);
	free(lc);
}

const char *
macro_name(const struct macro *m)
{
	return m->m_node->n_kind == N_MACRO ? m->m_node->n_name : NULL;
}

void
macro_free(struct macro *m)
{
	if (m == NULL || --m->m_refs > 0)
		return;
	tval_unref(m->m_caller);
	free(m);
}

void
eval_macros_release(struct eval *e)
{
	size_t	 i;

	for (i = 0; i < e->e_nmacros; i++) {
		e->e_macros[i]->m_scope = NULL;
		macro_free(e->e_macros[i]);
	}
	free(e->e_macros);
	e->e_macros = NULL;
	e->e_nmacros = 0;
}

/* loop.changed(*values) needs the loop's memory. */
int
loop_changed(struct loopctx *lc, struct tval *v)
{
	int	 changed;

	changed = lc->lc_changed == NULL || !tval_eq(lc->lc_changed, v);
	tval_unref(lc->lc_changed);
	lc->lc_changed = tval_ref(v);
	return changed;
}

size_t
loop_index(struct loopctx *lc)
{
	return lc->lc_i;
}
