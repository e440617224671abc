/*
 * eval.c — the renderer: a walker over the AST with Jinja2's scoping (each
 * for-loop iteration and macro call is a fresh scope over its parent) and
 * the sandbox's limits — a step budget, an output cap and a depth limit —
 * checked as it goes, so a hostile template or payload ends in a clean
 * error, never a hang or a crash.  This file holds the limits, scopes,
 * output, the expression walker and the entry point; operators are in
 * ops.c, lookups in lookup.c, statements, loops and macros in stmt.c.
 */
#include "build.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/* --- Errors and limits ------------------------------------------------- */

/* Only the first error counts: later ones are consequences of it. */
static void
eval_verror(struct eval *e, const char *fmt, va_list ap)
{
	char	 msg[sizeof(e->e_err->te_msg)];
	int	 line = 1, col = 1;

	if (e->e_failed++)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (e->e_node != NULL) {
		line = e->e_node->n_line;
		col = e->e_node->n_col;
	}
	tmpl_seterr(e->e_err, line, col, "%s", msg);
}

void *
eval_error(struct eval *e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	eval_verror(e, fmt, ap);
	va_end(ap);
	return NULL;
}

int
eval_errorv(struct eval *e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	eval_verror(e, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Using an Undefined in a strict place raises its own message, like
 * Jinja2's UndefinedError.
 */
struct tval *
eval_undefined_error(struct eval *e, const struct tval *u)
{
	if (u != NULL && u->tv_type == TV_UNDEF && u->u.un.msg != NULL)
		return eval_error(e, "%s", u->u.un.msg);
	if (u != NULL && u->tv_type == TV_UNDEF && u->u.un.ifline != 0)
		return eval_error(e, "the inline if-expression on line %d "
		    "evaluated to false and no else section was defined.",
		    u->u.un.ifline);
	return eval_error(e, "value is undefined");
}

/*
 * Every node, iteration and proportional unit of work costs steps; the
 * budget is what keeps a hostile template from stalling a worker.
 */
int
eval_step(struct eval *e, uint64_t n)
{
	e->e_steps += n;
	if (e->e_steps > e->e_maxsteps) {
		eval_error(e, "template step limit exceeded (%" PRIu64 " steps)",
		    e->e_maxsteps);
		return -1;
	}
	return 0;
}

/*
 * Loops, macros and captures nest; the depth limit turns runaway recursion
 * into an error before the C stack runs out.
 */
int
eval_depth_enter(struct eval *e)
{
	if (e->e_depth >= e->e_maxdepth) {
		eval_error(e, "template nesting limit exceeded (depth %d)",
		    e->e_maxdepth);
		return -1;
	}
	e->e_depth++;
	return 0;
}

void
eval_depth_leave(struct eval *e)
{
	e->e_depth--;
}

size_t
eval_maxout(struct eval *e)
{
	return e->e_maxout;
}

/* The render's clock: te_now, else read once, when now() first asks. */
time_t
eval_now(struct eval *e)
{
	if (e->e_now == 0)
		e->e_now = time(NULL);
	return e->e_now;
}

/*
 * The node being evaluated: a filter's own while it runs (eval_filter
 * sets it), where compile.c may have left it a split attribute path.
 */
const struct tnode *
eval_node(struct eval *e)
{
	return e->e_node;
}

const struct tmpl *
eval_tmpl(struct eval *e)
{
	return e->e_t;
}

const struct tmpl_env *
eval_env(struct eval *e)
{
	return e->e_env;
}

/* --- Scopes ------------------------------------------------------------ */

/*
 * Scopes live on the C stack of the statement that opens them; a small
 * inline table avoids a malloc for most loop bodies.
 */
void
scope_init(struct scope *sc, struct scope *parent)
{
	sc->sc_parent = parent;
	sc->sc_captured = 0;
	sc->sc_vars = sc->sc_local;
	sc->sc_n = 0;
	sc->sc_cap = sizeof(sc->sc_local) / sizeof(sc->sc_local[0]);
}

void
scope_clear(struct scope *sc)
{
	size_t	 i;

	for (i = 0; i < sc->sc_n; i++)
		tval_unref(sc->sc_vars[i].sv_val);
	sc->sc_n = 0;
}

void
scope_free(struct scope *sc)
{
	scope_clear(sc);
	if (sc->sc_vars != sc->sc_local)
		free(sc->sc_vars);
	sc->sc_vars = sc->sc_local;
}

/*
 * A scope's statement ends.  Macros defined in it close over it (they see
 * its variables as they are when called, as Python closures do); once it
 * is gone they are cut loose, and calling one is an error.
 */
void
scope_end(struct eval *e, struct scope *sc)
{
	size_t	 i;

	if (sc->sc_captured)
		for (i = 0; i < e->e_nmacros; i++)
			if (e->e_macros[i]->m_scope == sc)
				e->e_macros[i]->m_scope = NULL;
	scope_free(sc);
}

/*
 * Innermost scope first, newest binding first: a set in a loop body shadows
 * the outer name for that iteration only.  Every name a scope holds is one
 * of the template's interned names (tmpl_intern, and the renderer's own
 * t_kloop and the like), so names compare by pointer.
 */
struct tval *
scope_lookup(struct scope *sc, const char *name, size_t len, uint64_t h)
{
	struct tval	*v;

	for (; sc != NULL; sc = sc->sc_parent)
		if ((v = scope_find(sc, name)) != NULL)
			return v;
	return NULL;
}

/* Takes v. The name must outlive the scope (AST or static strings). */
int
scope_set(struct eval *e, struct scope *sc, const char *name, size_t len,
    uint64_t h, struct tval *v)
{
	struct scope_var	*nv;
	size_t			 i;

	if (v == NULL)
		return -1;
	for (i = 0; i < sc->sc_n; i++)
		if (sc->sc_vars[i].sv_name == name) {
			tval_unref(sc->sc_vars[i].sv_val);
			sc->sc_vars[i].sv_val = v;
			return 0;
		}
	if (sc->sc_n == sc->sc_cap) {
		size_t	 c = sc->sc_cap * 2;

		if (sc->sc_vars == sc->sc_local) {
			if ((nv = malloc(c * sizeof(*nv))) != NULL)
				memcpy(nv, sc->sc_local, sc->sc_n * sizeof(*nv));
		} else
			nv = realloc(sc->sc_vars, c * sizeof(*nv));
		if (nv == NULL) {
			tval_unref(v);
			return eval_errorv(e, "out of memory");
		}
		sc->sc_vars = nv;
		sc->sc_cap = c;
	}
	sc->sc_vars[sc->sc_n].sv_name = name;
	sc->sc_vars[sc->sc_n].sv_len = len;
	sc->sc_vars[sc->sc_n].sv_hash = h;
	sc->sc_vars[sc->sc_n].sv_val = v;
	sc->sc_n++;
	return 0;
}

/* Bind an interned name (a str value of the template's) in sc. */
int
scope_set_key(struct eval *e, struct scope *sc, const struct tval *key,
    struct tval *v)
{
	return scope_set(e, sc, key->u.s.p, key->u.s.len, key->u.s.h, v);
}

/* --- Output ------------------------------------------------------------ */

/*
 * The output cap is checked before bytes are added, so a render never holds
 * more than the limit.
 */
int
out_check(struct eval *e, struct out *o, size_t more)
{
	if (o->o_buf.b_len + more > e->e_maxout)
		return eval_errorv(e, "template output limit exceeded (%zu "
		    "bytes)", e->e_maxout);
	return 0;
}

/* out_add's other half: the cap's error, or a buffer that must grow. */
int
out_add_slow(struct eval *e, struct out *o, const char *p, size_t len)
{
	if (out_check(e, o, len) == -1)
		return -1;
	if (buf_add_slow(&o->o_buf, p, len) == -1)
		return eval_errorv(e, "out of memory");
	return 0;
}

/* Takes ts. */
int
out_secret(struct eval *e, struct out *o, struct tsecret *ts)
{
	struct outsec	*ns;

	if (ts == NULL)
		return eval_errorv(e, "out of memory");
	if (o->o_nsecs == o->o_csecs) {
		size_t	 c = o->o_csecs ? o->o_csecs * 2 : 4;

		if ((ns = realloc(o->o_secs, c * sizeof(*ns))) == NULL) {
			tsecret_free(ts);
			return eval_errorv(e, "out of memory");
		}
		o->o_secs = ns;
		o->o_csecs = c;
	}
	o->o_secs[o->o_nsecs].os_off = o->o_buf.b_len;
	o->o_secs[o->o_nsecs].os_ts = ts;
	o->o_nsecs++;
	return 0;
}

/* Python's str() of any value, straight into the output buffer. */
int
out_value(struct eval *e, struct out *o, const struct tval *v)
{
	struct buf	 t;
	size_t		 before;
	char		 num[FMT_FLOAT_FAST_MAX], *p;

	/* the most common case, before anything else is looked at */
	if (v->tv_type == TV_STR && !e->e_autoesc)
		return out_add(e, o, v->u.s.p, v->u.s.len);
	/*
	 * {% autoescape %}: what is not Markup is escaped on the way out;
	 * a secret has no text to escape here.
	 */
	if (e->e_autoesc && !(v->tv_type == TV_STR &&
	    (v->tv_flags & TVF_MARKUP))) {
		if (v->tv_type == TV_SECRET)
			return eval_errorv(e, "a secret cannot be output where "
			    "autoescape is on");
		memset(&t, 0, sizeof(t));
		if (v->tv_type == TV_UNDEF) {
			if (v->u.un.text != NULL)
				buf_adds(&t, v->u.un.text);
		} else if (eval_str_into(e, &t, v) == -1) {
			buf_free(&t);
			return -1;
		}
		before = o->o_buf.b_len;
		html_escape_into(&o->o_buf, t.b_p != NULL ? t.b_p : "", t.b_len);
		buf_free(&t);
		if (o->o_buf.b_len > e->e_maxout) {
			o->o_buf.b_len = before;
			return out_check(e, o, 1);
		}
		return 0;
	}
	switch (v->tv_type) {
	case TV_STR:
		return out_add(e, o, v->u.s.p, v->u.s.len);
	case TV_INT:
		/* a number's few bytes go the way a str's do */
		p = fmt_int_back(num + sizeof(num), v->u.i);
		return out_add(e, o, p, (size_t)(num + sizeof(num) - p));
	case TV_FLOAT:
		if ((p = fmt_float_fast(num + sizeof(num), v->u.f)) != NULL)
			return out_add(e, o, p, (size_t)(num + sizeof(num) - p));
		break;
	case TV_SECRET:
		return out_secret(e, o, tsecret_dup(v->u.sec));
	case TV_UNDEF:
		if (v->u.un.text == NULL)
			return 0;
		return out_add(e, o, v->u.un.text, strlen(v->u.un.text));
	default:
		break;
	}
	before = o->o_buf.b_len;
	if (eval_str_into(e, &o->o_buf, v) == -1)
		return -1;
	if (o->o_buf.b_len > e->e_maxout) {
		o->o_buf.b_len = before;
		return out_check(e, o, 1);
	}
	return 0;
}

void
out_free(struct out *o)
{
	size_t	 i;

	for (i = 0; i < o->o_nsecs; i++)
		tsecret_free(o->o_secs[i].os_ts);
	free(o->o_secs);
	buf_free(&o->o_buf);
	memset(o, 0, sizeof(*o));
}

/* A capture as a value: a str, or a secret when it holds one. */
struct tval *
out_take_value(struct eval *e, struct out *o)
{
	struct tsecret	*ts = NULL, *lit;
	size_t		 i, off = 0;
	struct tval	*v;

	if (o->o_nsecs == 0) {
		if ((v = tval_str_buf(&o->o_buf)) == NULL)
			return eval_error(e, "out of memory");
		/* with autoescape on, rendered text is Markup */
		if (e->e_autoesc)
			v->tv_flags |= TVF_MARKUP;
		out_free(o);
		return v;
	}
	if ((ts = tsecret_lit("", 0)) == NULL)
		goto oom;
	for (i = 0; i <= o->o_nsecs; i++) {
		size_t	 end = i < o->o_nsecs ? o->o_secs[i].os_off :
		    o->o_buf.b_len;

		if (end > off) {
			if ((lit = tsecret_lit(o->o_buf.b_p + off, end -
			    off)) == NULL || (ts = tsecret_concat2(ts, lit)) ==
			    NULL)
				goto oom;
			off = end;
		}
		if (i < o->o_nsecs) {
			ts = tsecret_concat2(ts, o->o_secs[i].os_ts);
			o->o_secs[i].os_ts = NULL;
			if (ts == NULL)
				goto oom;
		}
	}
	out_free(o);
	if ((v = tval_secret(ts)) == NULL)
		return eval_error(e, "out of memory");
	return v;
oom:
	tsecret_free(ts);
	out_free(o);
	return eval_error(e, "out of memory");
}

/* --- Conversions ------------------------------------------------------- */

/*
 * str() with Jinja2's spelling; secrets refuse, since the worker does not
 * have their value.
 */
int
eval_str_into(struct eval *e, struct buf *b, const struct tval *v)
{
	if (v->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be converted to a string "
		    "here");
	size_t	 before = b->b_len;

	/* stop a huge repr while it is built, not after */
	if (b->b_max == 0)
		b->b_max = e->e_maxout + 1;
	if (tval_str_into(b, v) == -1 || b->b_over) {
		if (b->b_over)
			return eval_errorv(e, "template output limit exceeded "
			    "(%zu bytes)", e->e_maxout);
		return eval_errorv(e, "maximum recursion depth exceeded while "
		    "getting the repr of an object");
	}
	if (b->b_len > e->e_maxout)
		return eval_errorv(e, "template output limit exceeded (%zu "
		    "bytes)", e->e_maxout);
	/* big reprs cost in proportion, so loops over them stay bounded */
	if (v->tv_type != TV_STR && b->b_len - before > 256)
		return eval_step(e, (b->b_len - before) / 256);
	return 0;
}

struct tval *
eval_str(struct eval *e, const struct tval *v)
{
	struct buf	 b;

	if (v->tv_type == TV_STR)
		return tval_ref((struct tval *)v);
	memset(&b, 0, sizeof(b));
	if (eval_str_into(e, &b, v) == -1) {
		buf_free(&b);
		return NULL;
	}
	return tval_str_buf(&b);
}

void
items_free(struct tval **items, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		tval_unref(items[i]);
	free(items);
}

/*
 * Snapshot the items: a body that appends to the list it walks then ends
 * (Python would keep going, here the step budget would stop it anyway).
 */
int
eval_iterate(struct eval *e, struct tval *v, struct tval ***itemsp,
    size_t *np)
{
	struct tval	**items = NULL;
	size_t		  i, n = 0, pos;
	uint32_t	  cp;

	*itemsp = NULL;
	*np = 0;
	switch (v->tv_type) {
	case TV_UNDEF:
		return 0;
	case TV_LIST:
	case TV_TUPLE:
		n = v->u.l.n;
		break;
	case TV_DICT:
		n = v->u.d.n;
		break;
	case TV_STR:
		n = tval_nchars(v);
		break;
	case TV_BYTES:
		n = v->u.s.len;
		break;
	case TV_SECRET:
		return eval_errorv(e, "a secret cannot be iterated");
	default:
		return eval_errorv(e, "'%s' object is not iterable",
		    tval_typename(v));
	}
	if (n == 0)
		return 0;
	if (eval_step(e, n / 8) == -1)
		return -1;
	if ((items = calloc(n, sizeof(*items))) == NULL)
		return eval_errorv(e, "out of memory");
	switch (v->tv_type) {
	case TV_LIST:
	case TV_TUPLE:
		for (i = 0; i < n; i++)
			items[i] = tval_ref(v->u.l.v[i]);
		break;
	case TV_DICT:
		for (i = 0; i < n; i++)
			items[i] = tval_ref(v->u.d.e[i].de_key);
		break;
	case TV_STR:
		for (i = 0, pos = 0; i < n; i++) {
			size_t	 start = pos;

			utf8_next(v->u.s.p, v->u.s.len, &pos, &cp);
			if ((items[i] = tval_str(v->u.s.p + start, pos - start)) ==
			    NULL)
				goto oom;
		}
		break;
	case TV_BYTES:
		for (i = 0; i < n; i++)
			if ((items[i] = tval_int((unsigned char)v->u.s.p[i])) ==
			    NULL)
				goto oom;
		break;
	default:
		break;
	}
	*itemsp = items;
	*np = n;
	return 0;
oom:
	items_free(items, n);
	return eval_errorv(e, "out of memory");
}

/* --- Arguments --------------------------------------------------------- */

void
args_clear(struct args *a)
{
	size_t	 i;

	for (i = 0; i < a->a_npos; i++)
		tval_unref(a->a_pos[i]);
	for (i = 0; i < a->a_nkw; i++)
		tval_unref(a->a_kwval[i]);
	a->a_npos = a->a_nkw = 0;
	tval_unref(a->a_keep);
	a->a_keep = NULL;
}

/* *iterable: its items go on as positional arguments. */
static int
args_star(struct eval *e, struct tval *v, struct args *a)
{
	struct tval	**items;
	size_t		  n, i;

	if (v->tv_type == TV_UNDEF || v->tv_type == TV_SECRET ||
	    eval_iterate(e, v, &items, &n) == -1) {
		if (!e->e_failed)
			eval_error(e, "argument after * must be an iterable, "
			    "not %s", tval_typename(v));
		return -1;
	}
	if (n > ARGS_MAX - a->a_npos) {
		items_free(items, n);
		return eval_errorv(e, "too many arguments");
	}
	for (i = 0; i < n; i++)
		a->a_pos[a->a_npos++] = items[i];
	free(items);
	return 0;
}

/* **mapping: its str keys name keyword arguments. */
static int
args_dstar(struct eval *e, struct tval *v, struct args *a)
{
	const struct tval	*k;
	size_t			 i, j;

	if (v->tv_type != TV_DICT)
		return eval_errorv(e, "argument after ** must be a mapping, "
		    "not %s", tval_typename(v));
	if (v->u.d.n > ARGS_MAX - a->a_nkw)
		return eval_errorv(e, "too many arguments");
	for (i = 0; i < v->u.d.n; i++) {
		k = v->u.d.e[i].de_key;
		if (k->tv_type != TV_STR)
			return eval_errorv(e, "keywords must be strings");
		for (j = 0; j < a->a_nkw; j++)
			if (strcmp(a->a_kwname[j], k->u.s.p) == 0)
				return eval_errorv(e, "got multiple values for "
				    "keyword argument '%s'", k->u.s.p);
		a->a_kwname[a->a_nkw] = k->u.s.p;
		a->a_kwval[a->a_nkw++] = tval_ref(v->u.d.e[i].de_val);
	}
	/* the names are the mapping's keys: it lives as long as a */
	a->a_keep = tval_ref(v);
	return 0;
}

/*
 * Python's argument binding for builtins: positional, then name=value, with
 * Python's error messages.
 */
int
args_bind(struct eval *e, const struct args *a, const char *what,
    const char *const *params, size_t nparams, size_t nrequired,
    struct tval **out)
{
	size_t	 i, j;

	for (i = 0; i < nparams; i++)
		out[i] = NULL;
	if (a->a_npos > nparams)
		return eval_errorv(e, "%s() takes at most %zu argument%s (%zu "
		    "given)", what, nparams, nparams == 1 ? "" : "s",
		    a->a_npos);
	for (i = 0; i < a->a_npos; i++)
		out[i] = a->a_pos[i];
	for (i = 0; i < a->a_nkw; i++) {
		for (j = 0; j < nparams; j++)
			if (params[j][0] == a->a_kwname[i][0] &&
			    strcmp(params[j], a->a_kwname[i]) == 0)
				break;
		if (j == nparams)
			return eval_errorv(e, "%s() got an unexpected keyword "
			    "argument '%s'", what, a->a_kwname[i]);
		if (out[j] != NULL)
			return eval_errorv(e, "%s() got multiple values for "
			    "argument '%s'", what, params[j]);
		out[j] = a->a_kwval[i];
	}
	for (i = 0; i < nrequired; i++)
		if (out[i] == NULL)
			return eval_errorv(e, "%s() missing required argument "
			    "'%s'", what, params[i]);
	return 0;
}

/*
 * Evaluate call arguments into a: positional ones, *iterable, name=value
 * and **mapping, as Python binds them.
 */
int
eval_args(struct eval *e, struct tnode **kids, size_t nkids, struct args *a)
{
	size_t		 i, j;
	struct tval	*v;
	int		 rc;

	a->a_npos = a->a_nkw = 0;
	a->a_keep = NULL;
	if (nkids > ARGS_MAX)
		return eval_errorv(e, "too many arguments");
	for (i = 0; i < nkids; i++) {
		const struct tnode	*k = kids[i];

		if (k->n_kind == N_STARARGS || k->n_kind == N_KWSTARARGS) {
			if ((v = eval_expr(e, k->n_a)) == NULL)
				goto fail;
			e->e_node = k;
			rc = k->n_kind == N_STARARGS ? args_star(e, v, a) :
			    args_dstar(e, v, a);
			tval_unref(v);
			if (rc == -1)
				goto fail;
		} else if (k->n_kind == N_KWARG) {
			for (j = 0; j < a->a_nkw; j++)
				if (strcmp(a->a_kwname[j], k->n_name) == 0) {
					eval_error(e, "got multiple values for "
					    "keyword argument '%s'", k->n_name);
					goto fail;
				}
			if ((v = eval_expr(e, k->n_a)) == NULL)
				goto fail;
			a->a_kwname[a->a_nkw] = k->n_name;
			a->a_kwval[a->a_nkw++] = v;
		} else {
			if ((v = eval_expr(e, k)) == NULL)
				goto fail;
			a->a_pos[a->a_npos++] = v;
		}
	}
	return 0;
fail:
	args_clear(a);
	return -1;
}

int
eval_autoescape(struct eval *e)
{
	return e->e_autoesc;
}

int
eval_failed(struct eval *e)
{
	return e->e_failed;
}

/*
 * A document that would take more than its share of what is left of the
 * cap is counted instead; from_json tries again without the arena when
 * one fills up anyway (va_full).
 */
struct varena *
eval_arena(struct eval *e, size_t len)
{
	struct varena	*va = &e->e_arena;

	if (!e->e_t->t_arena_ok || e->e_noarena || va->va_full ||
	    len > (va->va_cap - va->va_used) / 16)
		return NULL;
	return va;
}

/*
 * Mutation could store an arena value where it outlives the render, or
 * let go of a name an arena dict borrows.  A template that names a
 * mutating method never gets an arena (t_arena_ok); one that reaches a
 * method by a computed name stops using it, and fails when it has
 * already used it.
 */
int
eval_mutating(struct eval *e)
{
	e->e_noarena = 1;
	if (e->e_arena.va_head != NULL)
		return eval_errorv(e, "cannot modify values in a template "
		    "that has parsed JSON with from_json and names no "
		    "mutating method");
	return 0;
}

struct tval *
eval_oom(struct eval *e)
{
	return eval_error(e, "out of memory");
}

/* --- Render entry point ------------------------------------------------ */

/*
 * The result and its segments live at the end of the output's own buffer:
 * a render allocates one block (sized from the template's previous
 * render, so usually with no realloc either).
 */
struct tmpl_output_int {
	struct tmpl_output	 oi_pub;
	char			*oi_buf;
	size_t			 oi_len;
	size_t			 oi_cap;	/* oi_buf's size */
	struct tmpl_segment	 oi_segs[];
};

/*
 * One output buffer is kept per thread between renders, as value.c keeps
 * an arena block: a render whose output fits asks malloc for nothing, and
 * freeing its output gives the buffer back.  Sanitizer builds (which
 * define SLAB_DISABLED) use malloc and free every time.
 */
#define OUT_SPARE_MAX	(64 * 1024)
#ifndef SLAB_DISABLED
static __thread char	*out_spare;
static __thread size_t	 out_spare_cap;
#endif

/* Room for more bytes in an empty buffer: the spare when it is enough. */
static int
out_buf_start(struct buf *b, size_t more)
{
#ifndef SLAB_DISABLED
	if (out_spare != NULL && out_spare_cap > more) {
		b->b_p = out_spare;
		b->b_cap = out_spare_cap;
		b->b_p[0] = '\0';
		out_spare = NULL;
		return 0;
	}
#endif
	return buf_grow(b, more);
}

/* An output's buffer, kept as the spare when it beats the one kept. */
static void
out_buf_done(char *p, size_t cap)
{
#ifndef SLAB_DISABLED
	if (cap <= OUT_SPARE_MAX && (out_spare == NULL ||
	    out_spare_cap < cap)) {
		free(out_spare);
		out_spare = p;
		out_spare_cap = cap;
		return;
	}
#else
	(void)cap;
#endif
	free(p);
}

/*
 * A copy of o in one block, as a render makes it: the bytes, then the
 * result and its segments, each secret tree copied.  A kept copy (the
 * template's own) is sized to fit, never the thread's spare buffer of up
 * to OUT_SPARE_MAX.  NULL when out of memory.
 */
static struct tmpl_output *
tmpl_output_dup(const struct tmpl_output *o, int kept)
{
	const struct tmpl_output_int *oi = (const struct tmpl_output_int *)o;
	struct tmpl_output_int	*ni;
	struct buf		 b;
	size_t			 i, off, need;

	memset(&b, 0, sizeof(b));
	off = (oi->oi_len + 1 + 15) & ~(size_t)15;
	need = off + sizeof(*ni) + o->to_nsegs * sizeof(ni->oi_segs[0]);
	if ((kept ? buf_grow(&b, need) : out_buf_start(&b, need)) == -1)
		return NULL;
	memcpy(b.b_p, oi->oi_buf, oi->oi_len + 1);
	ni = (struct tmpl_output_int *)(b.b_p + off);
	memset(ni, 0, sizeof(*ni) + o->to_nsegs * sizeof(ni->oi_segs[0]));
	ni->oi_pub.to_segs = ni->oi_segs;
	ni->oi_pub.to_has_secret = o->to_has_secret;
	ni->oi_buf = b.b_p;
	ni->oi_len = oi->oi_len;
	ni->oi_cap = b.b_cap;
	for (i = 0; i < o->to_nsegs; i++) {
		const struct tmpl_segment *sg = &o->to_segs[i];

		ni->oi_pub.to_nsegs = i + 1;
		if (sg->sg_secret != NULL) {
			if ((ni->oi_segs[i].sg_secret =
			    tsecret_dup(sg->sg_secret)) == NULL) {
				tmpl_output_free(&ni->oi_pub);
				return NULL;
			}
		} else {
			ni->oi_segs[i].sg_data = b.b_p + (sg->sg_data -
			    oi->oi_buf);
			ni->oi_segs[i].sg_len = sg->sg_len;
		}
	}
	return &ni->oi_pub;
}

/*
 * The output kept from a first render (t_const) serves this one: the same
 * limits, and no global get_secret to call instead of the builtin.
 */
static int
tmpl_memo_serves(const struct tmpl *t, struct eval *e)
{
	const struct tnode	*nn = t->t_const_name;

	if (e->e_maxsteps != t->t_memo_steps || e->e_maxout != t->t_memo_out ||
	    e->e_maxdepth != t->t_memo_depth)
		return 0;
	return nn == NULL || e->e_globals == NULL ||
	    dict_get_key(e->e_globals, nn->n_key,
	    &((struct tnode *)nn)->n_slot) == NULL;
}

/* Render into segments: literal bytes and secret trees in output order. */
struct tmpl_output *
tmpl_render(const struct tmpl *t, const struct tmpl_env *env,
    struct tmpl_error *err)
{
	struct eval		 e;
	struct scope		 root;
	struct out		 out;
	struct tmpl_output_int	*oi = NULL;
	struct tmpl_segment	*segs;
	size_t			 i, off, nsegs, need;
	struct tmpl_error	 dummy;

	if (err == NULL)
		err = &dummy;
	err->te_line = err->te_col = 0;
	err->te_msg[0] = '\0';
	memset(&e, 0, sizeof(e));
	memset(&out, 0, sizeof(out));
	e.e_t = t;
	e.e_env = env;
	e.e_err = err;
	e.e_maxsteps = DEF_STEPS;
	e.e_maxout = DEF_OUTPUT;
	e.e_maxdepth = DEF_DEPTH;
	if (env != NULL) {
		if (env->te_limits.tl_steps)
			e.e_maxsteps = env->te_limits.tl_steps;
		if (env->te_limits.tl_output)
			e.e_maxout = env->te_limits.tl_output;
		if (env->te_limits.tl_depth > 0)
			e.e_maxdepth = env->te_limits.tl_depth;
		if (env->te_now)
			e.e_now = env->te_now;
		if (env->te_globals != NULL &&
		    env->te_globals->tv_type == TV_DICT)
			e.e_globals = env->te_globals;
	}
	if (t->t_memo != NULL && tmpl_memo_serves(t, &e)) {
		struct tmpl_output *o;

		if ((o = tmpl_output_dup(t->t_memo, 0)) == NULL)
			tmpl_seterr(err, 1, 1, "out of memory");
		return o;
	}
	/* 32 MiB with the default output limit */
	e.e_arena.va_cap = e.e_maxout > SIZE_MAX / ARENA_PER_OUT ? SIZE_MAX :
	    e.e_maxout * ARENA_PER_OUT;
	scope_init(&root, NULL);
	e.e_scope = e.e_root = &root;
	e.e_out = &out;
	if (t->t_outhint > 0 && t->t_outhint < e.e_maxout + 4096 &&
	    out_buf_start(&out.o_buf, t->t_outhint + 1) == -1) {
		tmpl_seterr(err, 1, 1, "out of memory");
		goto fail;
	}
	if (exec_body(&e, t->t_root->n_kids, t->t_root->n_nkids) == -1)
		goto fail;
	nsegs = 0;
	for (i = 0, off = 0; i <= out.o_nsecs; i++) {
		size_t	 end = i < out.o_nsecs ? out.o_secs[i].os_off :
		    out.o_buf.b_len;

		if (end > off || (out.o_nsecs == 0))
			nsegs++;
		off = end;
		if (i < out.o_nsecs)
			nsegs++;
	}
	/* after the bytes and their NUL, aligned: the result itself */
	off = (out.o_buf.b_len + 1 + 15) & ~(size_t)15;
	need = off + sizeof(*oi) + nsegs * sizeof(*segs);
	if (buf_grow(&out.o_buf, need - out.o_buf.b_len) == -1) {
		tmpl_seterr(err, 1, 1, "out of memory");
		goto fail;
	}
	out.o_buf.b_p[out.o_buf.b_len] = '\0';
	oi = (struct tmpl_output_int *)(out.o_buf.b_p + off);
	memset(oi, 0, sizeof(*oi) + nsegs * sizeof(*segs));
	/* the next render of this template starts with room for as much */
	((struct tmpl *)t)->t_outhint = need;
	segs = oi->oi_pub.to_segs = oi->oi_segs;
	oi->oi_buf = out.o_buf.b_p;
	oi->oi_len = out.o_buf.b_len;
	oi->oi_cap = out.o_buf.b_cap;
	nsegs = 0;
	for (i = 0, off = 0; i <= out.o_nsecs; i++) {
		size_t	 end = i < out.o_nsecs ? out.o_secs[i].os_off :
		    out.o_buf.b_len;

		if (end > off || out.o_nsecs == 0) {
			segs[nsegs].sg_data = out.o_buf.b_p + off;
			segs[nsegs].sg_len = end - off;
			nsegs++;
		}
		off = end;
		if (i < out.o_nsecs) {
			segs[nsegs++].sg_secret = out.o_secs[i].os_ts;
			out.o_secs[i].os_ts = NULL;
		}
	}
	oi->oi_pub.to_nsegs = nsegs;
	oi->oi_pub.to_has_secret = out.o_nsecs > 0;
	/* The first render of a constant template is every later one. */
	if (t->t_const && t->t_memo == NULL) {
		struct tmpl	*mt = (struct tmpl *)t;

		mt->t_memo_steps = e.e_maxsteps;
		mt->t_memo_out = e.e_maxout;
		mt->t_memo_depth = e.e_maxdepth;
		if (tmpl_memo_serves(t, &e))
			mt->t_memo = tmpl_output_dup(&oi->oi_pub, 1);
	}
	free(out.o_secs);
	scope_free(&root);
	eval_macros_release(&e);
	/* last: the values freed above may point into it */
	if (e.e_arena.va_head != NULL)
		varena_free(&e.e_arena);
	return &oi->oi_pub;
fail:
	out_free(&out);
	scope_free(&root);
	eval_macros_release(&e);
	if (e.e_arena.va_head != NULL)
		varena_free(&e.e_arena);
	return NULL;
}

void
tmpl_output_free(struct tmpl_output *o)
{
	struct tmpl_output_int	*oi = (struct tmpl_output_int *)o;
	size_t			 i;

	if (o == NULL)
		return;
	for (i = 0; i < o->to_nsegs; i++)
		tsecret_free(o->to_segs[i].sg_secret);
	/* the result is inside the buffer it frees */
	out_buf_done(oi->oi_buf, oi->oi_cap);
}

/*
 * The whole output as text, refused when a secret is in it: nothing in a
 * worker may print one.
 */
const char *
tmpl_output_text(const struct tmpl_output *o, size_t *lenp)
{
	const struct tmpl_output_int	*oi = (const struct tmpl_output_int *)o;

	if (o->to_has_secret)
		return NULL;
	if (lenp != NULL)
		*lenp = oi->oi_len;
	return oi->oi_buf;
}
