/*
 * eval.c — the renderer: a tree walker over the AST with Jinja2's scoping
 * (each for-loop iteration and macro call is a fresh scope over its parent),
 * Python operator semantics, and the sandbox's limits — a step budget, an
 * output cap and a depth limit — checked as it goes, so a hostile template
 * or payload ends in a clean error, never a hang or a crash.
 */
#include "build.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

#define DEF_STEPS	1000000
#define DEF_OUTPUT	(4 * 1024 * 1024)
#define DEF_DEPTH	64

struct scope_var {
	const char	*sv_name;
	size_t		 sv_len;
	uint64_t	 sv_hash;
	struct tval	*sv_val;
};

struct scope {
	struct scope		*sc_parent;
	struct scope_var	*sc_vars;
	size_t			 sc_n;
	size_t			 sc_cap;
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
};

static struct tval	*eval_expr(struct eval *, const struct tnode *);
static int		 exec_body(struct eval *, struct tnode **, size_t);
static int		 exec_for(struct eval *, const struct tnode *,
			    struct tval *, int);

void	loopctx_free(struct loopctx *);
void	macro_free(struct macro *);

static const char name_loop[] = "loop";
static const char name_caller[] = "caller";

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

time_t
eval_now(struct eval *e)
{
	return e->e_now;
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
static void
scope_init(struct scope *sc, struct scope *parent)
{
	sc->sc_parent = parent;
	sc->sc_vars = sc->sc_local;
	sc->sc_n = 0;
	sc->sc_cap = sizeof(sc->sc_local) / sizeof(sc->sc_local[0]);
}

static void
scope_clear(struct scope *sc)
{
	size_t	 i;

	for (i = 0; i < sc->sc_n; i++)
		tval_unref(sc->sc_vars[i].sv_val);
	sc->sc_n = 0;
}

static void
scope_free(struct scope *sc)
{
	scope_clear(sc);
	if (sc->sc_vars != sc->sc_local)
		free(sc->sc_vars);
	sc->sc_vars = sc->sc_local;
}

/*
 * Innermost scope first, newest binding first: a set in a loop body shadows
 * the outer name for that iteration only.
 */
static struct tval *
scope_lookup(struct scope *sc, const char *name, size_t len, uint64_t h)
{
	size_t	 i;

	for (; sc != NULL; sc = sc->sc_parent)
		for (i = sc->sc_n; i-- > 0;)
			if (sc->sc_vars[i].sv_hash == h &&
			    sc->sc_vars[i].sv_len == len &&
			    memcmp(sc->sc_vars[i].sv_name, name, len) == 0)
				return sc->sc_vars[i].sv_val;
	return NULL;
}

/* Takes v. The name must outlive the scope (AST or static strings). */
static int
scope_set(struct eval *e, struct scope *sc, const char *name, size_t len,
    uint64_t h, struct tval *v)
{
	struct scope_var	*nv;
	size_t			 i;

	if (v == NULL)
		return -1;
	for (i = 0; i < sc->sc_n; i++)
		if (sc->sc_vars[i].sv_hash == h && sc->sc_vars[i].sv_len == len &&
		    memcmp(sc->sc_vars[i].sv_name, name, len) == 0) {
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

static uint64_t
static_hash(const char *s, uint64_t *cache)
{
	if (*cache == 0)
		*cache = tmpl_hash(s, strlen(s));
	return *cache;
}

/* --- Output ------------------------------------------------------------ */

/*
 * The output cap is checked before bytes are added, so a render never holds
 * more than the limit.
 */
static int
out_check(struct eval *e, struct out *o, size_t more)
{
	if (o->o_buf.b_len + more > e->e_maxout)
		return eval_errorv(e, "template output limit exceeded (%zu "
		    "bytes)", e->e_maxout);
	return 0;
}

static int
out_add(struct eval *e, struct out *o, const char *p, size_t len)
{
	if (out_check(e, o, len) == -1)
		return -1;
	if (buf_add(&o->o_buf, p, len) == -1)
		return eval_errorv(e, "out of memory");
	return 0;
}

/* Takes ts. */
static int
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
static int
out_value(struct eval *e, struct out *o, const struct tval *v)
{
	size_t	 before;

	switch (v->tv_type) {
	case TV_STR:
		return out_add(e, o, v->u.s.p, v->u.s.len);
	case TV_SECRET:
		return out_secret(e, o, tsecret_dup(v->u.sec));
	case TV_UNDEF:
		if (v->u.un.text == NULL)
			return 0;
		return out_add(e, o, v->u.un.text, strlen(v->u.un.text));
	default:
		before = o->o_buf.b_len;
		if (eval_str_into(e, &o->o_buf, v) == -1)
			return -1;
		if (o->o_buf.b_len > e->e_maxout) {
			o->o_buf.b_len = before;
			return out_check(e, o, 1);
		}
		return 0;
	}
}

static void
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
static struct tval *
out_take_value(struct eval *e, struct out *o)
{
	struct tsecret	*ts = NULL, *lit;
	size_t		 i, off = 0;
	struct tval	*v;

	if (o->o_nsecs == 0) {
		if ((v = tval_str_buf(&o->o_buf)) == NULL)
			return eval_error(e, "out of memory");
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
			if (strcmp(params[j], a->a_kwname[i]) == 0)
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

/* Evaluate call arguments (positional and name=value) into a. */
static int
eval_args(struct eval *e, struct tnode **kids, size_t nkids, struct args *a)
{
	size_t		 i;
	struct tval	*v;

	a->a_npos = a->a_nkw = 0;
	if (nkids > ARGS_MAX)
		return eval_errorv(e, "too many arguments");
	for (i = 0; i < nkids; i++) {
		const struct tnode	*k = kids[i];

		if (k->n_kind == N_KWARG) {
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

/* --- Attribute and item lookup ----------------------------------------- */

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
	case 0:
		return tval_int((int64_t)i + 1);
	case 1:
		return tval_int((int64_t)i);
	case 2:
		return tval_int((int64_t)(n - i));
	case 3:
		return tval_int((int64_t)(n - i - 1));
	case 4:
		return tval_bool(i == 0);
	case 5:
		return tval_bool(i + 1 == n);
	case 6:
		return tval_int((int64_t)n);
	case 7:
		return tval_int(lc->lc_depth + 1);
	case 8:
		return tval_int(lc->lc_depth);
	case 9:
		if (lc->lc_items != NULL && i > 0)
			return tval_ref(lc->lc_items[i - 1]);
		return tval_undef("there is no previous item", NULL);
	case 10:
		if (lc->lc_items != NULL && i + 1 < n)
			return tval_ref(lc->lc_items[i + 1]);
		return tval_undef("there is no next item", NULL);
	}
	if ((fid = method_lookup(lv, name)) >= 0)
		return tval_func(fid, lv, function_name(fid));
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
		if ((v = tval_func(fid, obj, function_name(fid))) == NULL)
			return eval_error(e, "out of memory");
		return v;
	}
	if (obj->tv_type == TV_DICT &&
	    (v = tval_dict_gets(obj, name, len, tmpl_hash(name, len))) != NULL)
		return tval_ref(v);
	return undef_attr(e, obj, name);
}

/* The method a node's cached ids give for obj, with lookup's runtime rules. */
static int
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
static struct tval *
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
	if ((v = tval_func(fid, obj, function_name(fid))) == NULL)
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

/* Slices of str count characters, not bytes. */
static struct tval *
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

			return tval_str(obj->u.s.p + a, z - a);
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

/* --- Operators --------------------------------------------------------- */

static int
is_num(const struct tval *v)
{
	return v->tv_type == TV_INT || v->tv_type == TV_BOOL ||
	    v->tv_type == TV_FLOAT;
}

static int
is_intlike(const struct tval *v)
{
	return v->tv_type == TV_INT || v->tv_type == TV_BOOL;
}

static double
num_f(const struct tval *v)
{
	return v->tv_type == TV_FLOAT ? v->u.f : (double)v->u.i;
}

static const char *
op_sym(int op)
{
	switch (op) {
	case OP_ADD:		return "+";
	case OP_SUB:		return "-";
	case OP_MUL:		return "*";
	case OP_DIV:		return "/";
	case OP_FLOORDIV:	return "//";
	case OP_MOD:		return "%";
	case OP_POW:		return "** or pow()";
	default:		return "?";
	}
}

static struct tval *
unsupported(struct eval *e, int op, const struct tval *a, const struct tval *b)
{
	return eval_error(e, "unsupported operand type(s) for %s: '%s' and '%s'",
	    op_sym(op), tval_typename(a), tval_typename(b));
}

static struct tsecret *
as_secret_part(struct eval *e, const struct tval *v)
{
	struct buf	 b;
	struct tsecret	*ts;

	if (v->tv_type == TV_SECRET)
		return tsecret_dup(v->u.sec);
	memset(&b, 0, sizeof(b));
	if (eval_str_into(e, &b, v) == -1) {
		buf_free(&b);
		return NULL;
	}
	ts = tsecret_lit(b.b_p ? b.b_p : "", b.b_len);
	buf_free(&b);
	return ts;
}

/*
 * str ~ secret: the result is a secret tree with the literal parts as
 * leaves.
 */
static struct tval *
secret_concat(struct eval *e, const struct tval *a, const struct tval *b)
{
	struct tsecret	*ta, *tb, *c;
	struct tval	*v;

	if ((ta = as_secret_part(e, a)) == NULL)
		return e->e_failed ? NULL : eval_error(e, "out of memory");
	if ((tb = as_secret_part(e, b)) == NULL) {
		tsecret_free(ta);
		return e->e_failed ? NULL : eval_error(e, "out of memory");
	}
	if ((c = tsecret_concat2(ta, tb)) == NULL ||
	    (v = tval_secret(c)) == NULL)
		return eval_error(e, "out of memory");
	return v;
}

/*
 * Concatenation is charged by length, so a doubling loop hits the step or
 * output limit early.
 */
static struct tval *
str_concat(struct eval *e, const struct tval *a, const struct tval *b)
{
	struct tval	*v;
	size_t		 n = a->u.s.len + b->u.s.len;

	if (n > e->e_maxout)
		return eval_error(e, "string too long (output limit %zu bytes)",
		    e->e_maxout);
	if (eval_step(e, n / 256) == -1)
		return NULL;
	{
		char	*p;

		if ((p = malloc(n + 1)) == NULL)
			return eval_error(e, "out of memory");
		memcpy(p, a->u.s.p, a->u.s.len);
		memcpy(p + a->u.s.len, b->u.s.p, b->u.s.len);
		p[n] = '\0';
		if ((v = tval_str_take(p, n)) == NULL)
			return eval_error(e, "out of memory");
	}
	return v;
}

/*
 * Markup + str and str + Markup: markupsafe escapes the plain operand
 * (Markup.__radd__ wins over str.__add__ as a subclass's reflected
 * method), and the sum is a Markup.
 */
static struct tval *
markup_concat(struct eval *e, const struct tval *a, const struct tval *b)
{
	struct buf	 buf;
	struct tval	*r;

	memset(&buf, 0, sizeof(buf));
	markup_escape_into(&buf, a);
	markup_escape_into(&buf, b);
	if (buf.b_len > e->e_maxout) {
		buf_free(&buf);
		return eval_error(e, "string too long (output limit %zu bytes)",
		    e->e_maxout);
	}
	if (eval_step(e, buf.b_len / 256) == -1) {
		buf_free(&buf);
		return NULL;
	}
	r = markup_new(buf.b_p != NULL ? buf.b_p : "", buf.b_len);
	buf_free(&buf);
	return r != NULL ? r : eval_error(e, "out of memory");
}

static struct tval *
seq_concat(struct eval *e, const struct tval *a, const struct tval *b)
{
	struct tval	*r;
	size_t		 i;

	if (eval_step(e, (a->u.l.n + b->u.l.n) / 8) == -1)
		return NULL;
	if ((r = a->tv_type == TV_LIST ? tval_list() : tval_tuple()) == NULL)
		return eval_error(e, "out of memory");
	if (tval_list_reserve(r, a->u.l.n + b->u.l.n) == -1)
		goto oom;
	for (i = 0; i < a->u.l.n; i++)
		if (tval_list_append(r, tval_ref(a->u.l.v[i])) == -1)
			goto oom;
	for (i = 0; i < b->u.l.n; i++)
		if (tval_list_append(r, tval_ref(b->u.l.v[i])) == -1)
			goto oom;
	return r;
oom:
	tval_unref(r);
	return eval_error(e, "out of memory");
}

/* The result size is checked before it is built. */
static struct tval *
seq_repeat(struct eval *e, const struct tval *s, int64_t k)
{
	struct tval	*r;
	struct buf	 b;
	int64_t		 i;
	size_t		 j, unit;

	if (k < 0)
		k = 0;
	unit = s->tv_type == TV_STR ? s->u.s.len : s->u.l.n *
	    sizeof(struct tval *);
	if (unit != 0 && (uint64_t)k > e->e_maxout / unit)
		return eval_error(e, "repetition result too large (output limit "
		    "%zu bytes)", e->e_maxout);
	if (eval_step(e, (uint64_t)k * (unit / 64 + 1) / 8) == -1)
		return NULL;
	if (s->tv_type == TV_STR) {
		memset(&b, 0, sizeof(b));
		for (i = 0; i < k; i++)
			if (buf_add(&b, s->u.s.p, s->u.s.len) == -1) {
				buf_free(&b);
				return eval_error(e, "out of memory");
			}
		return tval_str_buf(&b);
	}
	if ((r = s->tv_type == TV_LIST ? tval_list() : tval_tuple()) == NULL)
		return eval_error(e, "out of memory");
	for (i = 0; i < k; i++)
		for (j = 0; j < s->u.l.n; j++)
			if (tval_list_append(r, tval_ref(s->u.l.v[j])) == -1) {
				tval_unref(r);
				return eval_error(e, "out of memory");
			}
	return r;
}

/*
 * Python ints do not overflow; ours are 64 bits, so an overflow is an error
 * rather than a wrong number.
 */
static struct tval *
int_result(struct eval *e, int ok, int64_t r)
{
	if (!ok)
		return eval_error(e, "integer overflow: the result does not fit "
		    "in 64 bits");
	return tval_int(r);
}

static struct tval *
ipow(struct eval *e, int64_t base, int64_t ex)
{
	int64_t	 r = 1;

	while (ex > 0) {
		if (ex & 1) {
			if (__builtin_mul_overflow(r, base, &r))
				return int_result(e, 0, 0);
		}
		ex >>= 1;
		if (ex > 0 && __builtin_mul_overflow(base, base, &base))
			return int_result(e, 0, 0);
	}
	return tval_int(r);
}

/* a and b borrowed; Python semantics for + - * / // % ** ~ */
struct tval *
eval_binop(struct eval *e, int op, struct tval *a, struct tval *b)
{
	int64_t		 r = 0;
	double		 x, y, m;

	if (op == OP_TILDE) {
		struct buf	 buf;

		if (a->tv_type == TV_SECRET || b->tv_type == TV_SECRET)
			return secret_concat(e, a, b);
		if (a->tv_type == TV_STR && b->tv_type == TV_STR)
			return str_concat(e, a, b);
		memset(&buf, 0, sizeof(buf));
		if (eval_str_into(e, &buf, a) == -1 ||
		    eval_str_into(e, &buf, b) == -1) {
			buf_free(&buf);
			return NULL;
		}
		return tval_str_buf(&buf);
	}
	/*
	 * 'Hello %s' % missing: Python's str.__mod__ runs first and formats
	 * the undefined with str(), i.e. as ''; only a conversion that needs
	 * a number fails (format_percent does that).
	 */
	if (op == OP_MOD && a->tv_type == TV_STR && b->tv_type == TV_UNDEF)
		return format_percent(e, a, b);
	if (a->tv_type == TV_UNDEF)
		return eval_undefined_error(e, a);
	if (b->tv_type == TV_UNDEF)
		return eval_undefined_error(e, b);
	if (a->tv_type == TV_SECRET || b->tv_type == TV_SECRET) {
		if (op == OP_ADD && (a->tv_type == TV_STR ||
		    a->tv_type == TV_SECRET) && (b->tv_type == TV_STR ||
		    b->tv_type == TV_SECRET))
			return secret_concat(e, a, b);
		return eval_error(e, "a secret can only be concatenated with "
		    "strings");
	}
	if (is_num(a) && is_num(b)) {
		int	 ints = is_intlike(a) && is_intlike(b);

		switch (op) {
		case OP_ADD:
			if (ints) {
				int	 ok = !__builtin_add_overflow(a->u.i,
				    b->u.i, &r);

				return int_result(e, ok, r);
			}
			return tval_float(num_f(a) + num_f(b));
		case OP_SUB:
			if (ints) {
				int	 ok = !__builtin_sub_overflow(a->u.i,
				    b->u.i, &r);

				return int_result(e, ok, r);
			}
			return tval_float(num_f(a) - num_f(b));
		case OP_MUL:
			if (ints) {
				int	 ok = !__builtin_mul_overflow(a->u.i,
				    b->u.i, &r);

				return int_result(e, ok, r);
			}
			return tval_float(num_f(a) * num_f(b));
		case OP_DIV:
			if (num_f(b) == 0)
				return eval_error(e, "division by zero");
			return tval_float(num_f(a) / num_f(b));
		case OP_FLOORDIV:
		case OP_MOD:
			if (ints) {
				int64_t	 q, rem;

				if (b->u.i == 0)
					return eval_error(e, "integer division "
					    "or modulo by zero");
				if (a->u.i == INT64_MIN && b->u.i == -1)
					return op == OP_MOD ? tval_int(0) :
					    int_result(e, 0, 0);
				q = a->u.i / b->u.i;
				rem = a->u.i % b->u.i;
				/* Python rounds toward negative infinity */
				if (rem != 0 && ((rem < 0) != (b->u.i < 0))) {
					q--;
					rem += b->u.i;
				}
				return tval_int(op == OP_MOD ? rem : q);
			}
			x = num_f(a);
			y = num_f(b);
			if (y == 0)
				return eval_error(e, op == OP_MOD ? "float modulo" :
				    "float floor division by zero");
			m = fmod(x, y);
			if (op == OP_MOD) {
				if (m != 0 && ((m < 0) != (y < 0)))
					m += y;
				else if (m == 0)
					m = copysign(0.0, y);
				return tval_float(m);
			}
			{
				double	 d = (x - m) / y, fl;

				if (m != 0 && ((y < 0) != (m < 0)))
					d -= 1.0;
				fl = floor(d);
				if (d - fl > 0.5)
					fl += 1.0;
				if (d == 0)
					fl = copysign(0.0, x / y);
				return tval_float(fl);
			}
		case OP_POW:
			if (ints && b->u.i >= 0)
				return ipow(e, a->u.i, b->u.i);
			x = num_f(a);
			y = num_f(b);
			if (x == 0 && y < 0)
				return eval_error(e, "0.0 cannot be raised to a "
				    "negative power");
			if (x < 0 && y != floor(y))
				return eval_error(e, "complex results are not "
				    "supported");
			return tval_float(pow(x, y));
		}
	}
	switch (op) {
	case OP_ADD:
		if (a->tv_type == TV_STR && b->tv_type == TV_STR &&
		    ((a->tv_flags | b->tv_flags) & TVF_MARKUP))
			return markup_concat(e, a, b);
		if (a->tv_type == TV_STR && b->tv_type == TV_STR)
			return str_concat(e, a, b);
		if ((a->tv_type == TV_LIST || a->tv_type == TV_TUPLE) &&
		    a->tv_type == b->tv_type)
			return seq_concat(e, a, b);
		if (a->tv_type == TV_STR || a->tv_type == TV_LIST ||
		    a->tv_type == TV_TUPLE)
			return eval_error(e, "can only concatenate %s (not \"%s\") "
			    "to %s", tval_typename(a), tval_typename(b),
			    tval_typename(a));
		break;
	case OP_MUL:
		if ((a->tv_type == TV_STR || a->tv_type == TV_LIST ||
		    a->tv_type == TV_TUPLE) && is_intlike(b))
			return seq_repeat(e, a, b->u.i);
		if ((b->tv_type == TV_STR || b->tv_type == TV_LIST ||
		    b->tv_type == TV_TUPLE) && is_intlike(a))
			return seq_repeat(e, b, a->u.i);
		if (a->tv_type == TV_STR || b->tv_type == TV_STR)
			return eval_error(e, "can't multiply sequence by non-int "
			    "of type '%s'", tval_typename(a->tv_type == TV_STR ?
			    b : a));
		break;
	case OP_MOD:
		if (a->tv_type == TV_STR)
			return format_percent(e, a, b);
		break;
	default:
		break;
	}
	return unsupported(e, op, a, b);
}

/* Python's a < b. */
int
eval_less(struct eval *e, const struct tval *a, const struct tval *b, int *lt)
{
	size_t	 i, n;
	int	 c;

	if (a->tv_type == TV_UNDEF || b->tv_type == TV_UNDEF) {
		eval_undefined_error(e, a->tv_type == TV_UNDEF ? a : b);
		return -1;
	}
	if (is_num(a) && is_num(b)) {
		if (is_intlike(a) && is_intlike(b))
			*lt = a->u.i < b->u.i;
		else
			*lt = num_f(a) < num_f(b);
		return 0;
	}
	if ((a->tv_type == TV_STR && b->tv_type == TV_STR) ||
	    (a->tv_type == TV_BYTES && b->tv_type == TV_BYTES)) {
		/* UTF-8 byte order is code point order */
		n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
		c = memcmp(a->u.s.p, b->u.s.p, n);
		*lt = c < 0 || (c == 0 && a->u.s.len < b->u.s.len);
		return 0;
	}
	if ((a->tv_type == TV_LIST || a->tv_type == TV_TUPLE) &&
	    a->tv_type == b->tv_type) {
		n = a->u.l.n < b->u.l.n ? a->u.l.n : b->u.l.n;
		for (i = 0; i < n; i++)
			if (!tval_eq(a->u.l.v[i], b->u.l.v[i]))
				return eval_less(e, a->u.l.v[i], b->u.l.v[i], lt);
		*lt = a->u.l.n < b->u.l.n;
		return 0;
	}
	eval_error(e, "'<' not supported between instances of '%s' and '%s'",
	    tval_typename(a), tval_typename(b));
	return -1;
}

/*
 * The in operator: substring for str, equality for sequences, keys for
 * dicts.
 */
int
eval_contains(struct eval *e, struct tval *seq, struct tval *v)
{
	size_t	 i;

	if (v->tv_type == TV_SECRET || seq->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be compared");
	switch (seq->tv_type) {
	case TV_STR:
		if (v->tv_type != TV_STR)
			return eval_errorv(e, "'in <string>' requires string as "
			    "left operand, not %s", tval_typename(v));
		if (v->u.s.len == 0)
			return 1;
		return memmem(seq->u.s.p, seq->u.s.len, v->u.s.p, v->u.s.len) !=
		    NULL;
	case TV_LIST:
	case TV_TUPLE:
		if (eval_step(e, seq->u.l.n / 8) == -1)
			return -1;
		for (i = 0; i < seq->u.l.n; i++)
			if (tval_eq(seq->u.l.v[i], v))
				return 1;
		return 0;
	case TV_DICT:
		if (!tval_hashable(v))
			return eval_errorv(e, "unhashable type: '%s'",
			    tval_typename(v));
		return tval_dict_get(seq, v) != NULL;
	case TV_UNDEF:
		return 0;
	default:
		return eval_errorv(e, "argument of type '%s' is not iterable",
		    tval_typename(seq));
	}
}

/*
 * Comparison chains (a < b < c) evaluate each operand once and stop at the
 * first false link.
 */
static int
eval_cmp(struct eval *e, int op, struct tval *a, struct tval *b)
{
	int	 lt, r;

	if (a->tv_type == TV_SECRET || b->tv_type == TV_SECRET)
		return eval_errorv(e, "a secret cannot be compared");
	switch (op) {
	case OP_EQ:
		return tval_eq(a, b);
	case OP_NE:
		return !tval_eq(a, b);
	case OP_LT:
		return eval_less(e, a, b, &lt) == -1 ? -1 : lt;
	case OP_GT:
		return eval_less(e, b, a, &lt) == -1 ? -1 : lt;
	case OP_LTEQ:
		if (tval_eq(a, b) && !(a->tv_type == TV_UNDEF ||
		    b->tv_type == TV_UNDEF)) {
			/* still a TypeError for unorderable equal values */
			if (eval_less(e, a, b, &lt) == -1)
				return -1;
			return 1;
		}
		return eval_less(e, a, b, &lt) == -1 ? -1 : lt;
	case OP_GTEQ:
		if (tval_eq(a, b) && !(a->tv_type == TV_UNDEF ||
		    b->tv_type == TV_UNDEF)) {
			if (eval_less(e, b, a, &lt) == -1)
				return -1;
			return 1;
		}
		return eval_less(e, b, a, &lt) == -1 ? -1 : lt;
	case OP_IN:
		return eval_contains(e, b, a);
	case OP_NOTIN:
		r = eval_contains(e, b, a);
		return r == -1 ? -1 : !r;
	}
	return eval_errorv(e, "unknown comparison");
}

/* --- Calls ------------------------------------------------------------- */

/*
 * A macro call is a fresh scope over the template's top level; its output
 * is its return value.
 */
static struct tval *
macro_call(struct eval *e, struct macro *m, struct args *a)
{
	const struct tnode	*mn = m->m_node;
	struct scope		 sc;
	struct out		 out, *saved_out;
	struct scope		*saved_scope;
	struct tval		*v, *caller = NULL, *extra_kw = NULL;
	size_t			 i, j, np;
	static uint64_t		 hcaller;
	int			 rc = -1;

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
		if (strcmp(a->a_kwname[i], "caller") == 0) {
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
		if (scope_set(e, &sc, "varargs", 7, tmpl_hash("varargs", 7),
		    va) == -1)
			goto out;
	}
	if (mn->n_flags & NF_KWARGS) {
		if (extra_kw == NULL && (extra_kw = tval_dict()) == NULL) {
			eval_error(e, "out of memory");
			goto out;
		}
		if (scope_set(e, &sc, "kwargs", 6, tmpl_hash("kwargs", 6),
		    extra_kw) == -1) {
			extra_kw = NULL;
			goto out;
		}
		extra_kw = NULL;
	}
	if (caller != NULL && scope_set(e, &sc, name_caller,
	    sizeof(name_caller) - 1, static_hash(name_caller, &hcaller),
	    tval_ref(caller)) == -1)
		goto out;
	e->e_out = &out;
	rc = exec_body(e, mn->n_kids, mn->n_nkids);
out:
	tval_unref(extra_kw);
	e->e_out = saved_out;
	e->e_scope = saved_scope;
	scope_free(&sc);
	eval_depth_leave(e);
	if (rc == -1) {
		out_free(&out);
		return NULL;
	}
	return out_take_value(e, &out);
}

/*
 * loop(items) of a recursive for: the same body one level deeper, its
 * output as a string.
 */
static struct tval *
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
static struct tval *
eval_call(struct eval *e, const struct tnode *n)
{
	const struct tnode	*cn = n->n_a;
	struct tval		*callee = NULL, *obj = NULL, *r = NULL;
	struct args		 a;
	int			 fid = -1;

	/* obj.method(...): look the method up without a bound object */
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

/* --- Expressions ------------------------------------------------------- */

/*
 * Name lookup order: template scopes, then the render's globals, then the
 * builtin functions.
 */
static struct tval *
eval_name(struct eval *e, const struct tnode *n)
{
	struct tval	*v;

	if ((v = scope_lookup(e->e_scope, n->n_name, n->n_namelen, n->n_hash)) !=
	    NULL)
		return tval_ref(v);
	if (e->e_globals != NULL && (v = tval_dict_gets(e->e_globals, n->n_name,
	    n->n_namelen, n->n_hash)) != NULL)
		return tval_ref(v);
	if (n->n_fid >= 0) {
		if ((v = tval_func(n->n_fid, NULL, builtin_name(n->n_fid))) == NULL)
			return eval_error(e, "out of memory");
		return v;
	}
	if ((v = tval_undef_fmt("'%s' is undefined", n->n_name)) == NULL)
		return eval_error(e, "out of memory");
	return v;
}

static struct tval *
eval_seq(struct eval *e, const struct tnode *n, struct tval *r)
{
	size_t	 i;

	if (r == NULL)
		return eval_error(e, "out of memory");
	for (i = 0; i < n->n_nkids; i++)
		if (tval_list_append(r, eval_expr(e, n->n_kids[i])) == -1) {
			tval_unref(r);
			return e->e_failed ? NULL : eval_error(e, "out of memory");
		}
	return r;
}

/* Dict literals keep insertion order; keys must be hashable as in Python. */
static struct tval *
eval_dict(struct eval *e, const struct tnode *n)
{
	struct tval	*d, *k, *v;
	size_t		 i;

	if ((d = tval_dict()) == NULL)
		return eval_error(e, "out of memory");
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
			eval_error(e, "out of memory");
			goto fail;
		}
	}
	return d;
fail:
	tval_unref(d);
	return NULL;
}

static struct tval *
eval_filter(struct eval *e, const struct tnode *n, struct tval *in)
{
	struct args	 a;
	struct tval	*r;

	if (n->n_fid < 0)
		return eval_error(e, "No filter named '%s'.", n->n_name);
	if (eval_args(e, n->n_kids, n->n_nkids, &a) == -1)
		return NULL;
	e->e_node = n;
	r = filter_call(e, n->n_fid, in, &a);
	args_clear(&a);
	return r;
}

static struct tval *
eval_test(struct eval *e, const struct tnode *n)
{
	struct args	 a;
	struct tval	*in;
	int		 r;

	if (n->n_fid < 0)
		return eval_error(e, "No test named '%s'.", n->n_name);
	if ((in = eval_expr(e, n->n_a)) == NULL)
		return NULL;
	if (eval_args(e, n->n_kids, n->n_nkids, &a) == -1) {
		tval_unref(in);
		return NULL;
	}
	e->e_node = n;
	r = test_call(e, n->n_fid, in, &a);
	args_clear(&a);
	tval_unref(in);
	return r == -1 ? NULL : tval_bool(r);
}

/*
 * One expression node. Returns a new reference or NULL after setting the
 * error.
 */
static struct tval *
eval_expr(struct eval *e, const struct tnode *n)
{
	struct tval	*a = NULL, *b = NULL, *r = NULL;
	const struct tval *sl[3];
	size_t		 i;
	int		 c;

	if (e->e_failed)
		return NULL;
	if (++e->e_steps > e->e_maxsteps) {
		e->e_node = n;
		eval_step(e, 0);
		return NULL;
	}
	switch (n->n_kind) {
	case N_CONST:
		return tval_ref(n->n_val);
	case N_NAME:
		return eval_name(e, n);
	case N_GETATTR:
		if ((a = eval_expr(e, n->n_a)) == NULL)
			return NULL;
		e->e_node = n;
		if (a->tv_type == TV_UNDEF)
			r = eval_undefined_error(e, a);
		else
			r = getattr_node(e, a, n);
		break;
	case N_GETITEM:
		if ((a = eval_expr(e, n->n_a)) == NULL)
			return NULL;
		if (n->n_b->n_kind == N_SLICE) {
			const struct tnode	*s = n->n_b;
			struct tval		*v[3] = { NULL, NULL, NULL };
			int			 k, ok = 1;
			const struct tnode	*kn[3] = { s->n_a, s->n_b, s->n_c };

			for (k = 0; k < 3; k++) {
				if (kn[k] != NULL &&
				    (v[k] = eval_expr(e, kn[k])) == NULL)
					ok = 0;
				sl[k] = v[k];
			}
			e->e_node = n;
			if (ok) {
				if (a->tv_type == TV_UNDEF)
					r = eval_undefined_error(e, a);
				else if (a->tv_type == TV_SECRET)
					r = eval_error(e, "a secret cannot be "
					    "sliced");
				else
					r = eval_slice(e, a, sl);
			}
			for (k = 0; k < 3; k++)
				tval_unref(v[k]);
			break;
		}
		if ((b = eval_expr(e, n->n_b)) == NULL)
			break;
		e->e_node = n;
		r = eval_getitem(e, a, b);
		break;
	case N_CALL:
		return eval_call(e, n);
	case N_FILTER:
		if ((a = eval_expr(e, n->n_a)) == NULL)
			return NULL;
		r = eval_filter(e, n, a);
		break;
	case N_TEST:
		return eval_test(e, n);
	case N_BINOP:
		if ((a = eval_expr(e, n->n_a)) == NULL ||
		    (b = eval_expr(e, n->n_b)) == NULL)
			break;
		e->e_node = n;
		r = eval_binop(e, n->n_op, a, b);
		break;
	case N_NEG:
	case N_POS:
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
		break;
	case N_NOT:
		if ((a = eval_expr(e, n->n_a)) == NULL)
			return NULL;
		if (a->tv_type == TV_SECRET) {
			e->e_node = n;
			r = eval_error(e, "a secret cannot be tested");
		} else
			r = tval_bool(!tval_truth(a));
		break;
	case N_AND:
	case N_OR:
		if ((a = eval_expr(e, n->n_a)) == NULL)
			return NULL;
		if (a->tv_type == TV_SECRET) {
			e->e_node = n;
			r = eval_error(e, "a secret cannot be tested");
			break;
		}
		if (tval_truth(a) == (n->n_kind == N_OR))
			return a;
		tval_unref(a);
		return eval_expr(e, n->n_b);
	case N_COMPARE:
		if ((a = eval_expr(e, n->n_a)) == NULL)
			return NULL;
		for (i = 0; i < n->n_nkids; i++) {
			const struct tnode	*op = n->n_kids[i];

			if ((b = eval_expr(e, op->n_a)) == NULL)
				break;
			e->e_node = op;
			if ((c = eval_cmp(e, op->n_op, a, b)) == -1)
				break;
			tval_unref(a);
			a = b;
			b = NULL;
			if (!c) {
				r = tval_bool(0);
				break;
			}
		}
		if (!e->e_failed && r == NULL)
			r = tval_bool(1);
		break;
	case N_CONDEXPR:
		if ((a = eval_expr(e, n->n_a)) == NULL)
			return NULL;
		if (a->tv_type == TV_SECRET) {
			e->e_node = n;
			r = eval_error(e, "a secret cannot be tested");
			break;
		}
		c = tval_truth(a);
		tval_unref(a);
		if (c)
			return eval_expr(e, n->n_b);
		if (n->n_c != NULL)
			return eval_expr(e, n->n_c);
		if ((r = tval_undef_fmt("the inline if-expression on line %d "
		    "evaluated to false and no else section was defined.",
		    n->n_line)) == NULL)
			return eval_error(e, "out of memory");
		return r;
	case N_LIST:
		return eval_seq(e, n, tval_list());
	case N_TUPLE:
		return eval_seq(e, n, tval_tuple());
	case N_DICT:
		return eval_dict(e, n);
	default:
		e->e_node = n;
		return eval_error(e, "cannot evaluate this expression");
	}
	tval_unref(a);
	tval_unref(b);
	if (r == NULL && !e->e_failed) {
		e->e_node = n;
		eval_error(e, "out of memory");
	}
	return r;
}

/* --- Statements -------------------------------------------------------- */

/*
 * Assignment targets: a name, ns.attr (namespaces only), or a tuple to
 * unpack.
 */
static int
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
		ns = scope_lookup(e->e_scope, target->n_a->n_name,
		    target->n_a->n_namelen, target->n_a->n_hash);
		if (ns == NULL && e->e_globals != NULL)
			ns = tval_dict_gets(e->e_globals, target->n_a->n_name,
			    target->n_a->n_namelen, target->n_a->n_hash);
		if (ns == NULL || ns->tv_type != TV_NS) {
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
		{
			struct tval	*k = tval_str(target->n_name,
			    target->n_namelen);

			if (tval_dict_put(ns, k, v) == -1)
				return eval_errorv(e, "out of memory");
		}
		return 0;
	case N_TUPLE:
		e->e_node = target;
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
 * {% for %}: the filter runs first (loop.length counts only what passes),
 * then each iteration gets a fresh scope with the target and loop bound.
 */
static int
exec_for(struct eval *e, const struct tnode *n, struct tval *iter, int depth)
{
	struct tval	**items = NULL, *loopv = NULL, *t;
	struct loopctx	*lc = NULL;
	struct scope	 sc, *outer = e->e_scope;
	size_t		 nitems = 0, i, k;
	static uint64_t	 hloop;
	int		 rc = -1, keep;

	e->e_node = n;
	if (eval_depth_enter(e) == -1)
		return -1;
	scope_init(&sc, outer);
	if (eval_iterate(e, iter, &items, &nitems) == -1)
		goto out;
	if (n->n_b != NULL) {
		/* the loop filter sees the target but not loop.* */
		for (i = 0, k = 0; i < nitems; i++) {
			scope_clear(&sc);
			t = NULL;
			if (assign(e, &sc, n->n_target, tval_ref(items[i])) == 0) {
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
	for (i = 0; i < nitems; i++) {
		if (eval_step(e, 1) == -1)
			goto out;
		lc->lc_i = i;
		scope_clear(&sc);
		if (assign(e, &sc, n->n_target, tval_ref(items[i])) == -1 ||
		    scope_set(e, &sc, name_loop, sizeof(name_loop) - 1,
		    static_hash(name_loop, &hloop), tval_ref(loopv)) == -1)
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
	scope_free(&sc);
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

/* One statement node; -1 after the error is set. */
static int
exec_stmt(struct eval *e, const struct tnode *n)
{
	struct tval	*v, *m;
	struct macro	*mac;
	struct scope	 sc, *saved;
	size_t		 i;
	int		 rc;

	switch (n->n_kind) {
	case N_DATA:
		return out_add(e, e->e_out, n->n_str, n->n_len);
	case N_OUTPUT:
		if ((v = eval_expr(e, n->n_a)) == NULL)
			return -1;
		e->e_node = n->n_a;
		if (v->tv_type == TV_SECRET && v->u.sec->ts_op != TSX_SECRET &&
		    n->n_a->n_kind != N_NAME) {
			/* debugging output shows the tag as it was written */
			struct tsecret	*ts = tsecret_dup(v->u.sec);

			if (ts != NULL && ts->ts_literal == NULL &&
			    (ts->ts_literal = strndup(e->e_t->t_src + n->n_soff,
			    n->n_send - n->n_soff)) == NULL) {
				tsecret_free(ts);
				ts = NULL;
			}
			rc = out_secret(e, e->e_out, ts);
		} else
			rc = out_value(e, e->e_out, v);
		tval_unref(v);
		return rc;
	case N_IF:
		if ((v = eval_expr(e, n->n_a)) == NULL)
			return -1;
		if (v->tv_type == TV_SECRET) {
			tval_unref(v);
			e->e_node = n;
			return eval_errorv(e, "a secret cannot be tested");
		}
		rc = tval_truth(v);
		tval_unref(v);
		if (rc)
			return exec_body(e, n->n_kids, n->n_nkids);
		return exec_body(e, n->n_kids2, n->n_nkids2);
	case N_FOR:
		if ((v = eval_expr(e, n->n_a)) == NULL)
			return -1;
		rc = exec_for(e, n, v, 0);
		tval_unref(v);
		return rc;
	case N_SET:
		return assign(e, e->e_scope, n->n_target, eval_expr(e, n->n_a));
	case N_SETBLOCK:
		if ((v = capture(e, n->n_kids, n->n_nkids)) == NULL)
			return -1;
		return assign(e, e->e_scope, n->n_target,
		    apply_chain(e, n->n_b, v));
	case N_FILTERBLOCK:
		if ((v = capture(e, n->n_kids, n->n_nkids)) == NULL ||
		    (v = apply_chain(e, n->n_b, v)) == NULL)
			return -1;
		rc = out_value(e, e->e_out, v);
		tval_unref(v);
		return rc;
	case N_WITH:
		scope_init(&sc, e->e_scope);
		saved = e->e_scope;
		rc = 0;
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
		scope_free(&sc);
		return rc;
	case N_MACRO:
		if ((mac = calloc(1, sizeof(*mac))) == NULL ||
		    (m = tval_list()) == NULL) {
			free(mac);
			return eval_errorv(e, "out of memory");
		}
		mac->m_refs = 1;
		m->tv_type = TV_MACRO;
		m->u.mac = mac;
		mac->m_node = n;
		mac->m_scope = e->e_root;
		if (e->e_nmacros == e->e_cmacros) {
			size_t		 c = e->e_cmacros ? e->e_cmacros * 2 : 8;
			struct macro	**nm;

			if ((nm = realloc(e->e_macros, c * sizeof(*nm))) ==
			    NULL) {
				tval_unref(m);
				return eval_errorv(e, "out of memory");
			}
			e->e_macros = nm;
			e->e_cmacros = c;
		}
		/* the list holds a reference to the value's struct macro */
		e->e_macros[e->e_nmacros++] = mac;
		mac->m_refs++;
		return scope_set(e, e->e_scope, n->n_name, n->n_namelen,
		    n->n_hash, m);
	case N_CALLBLOCK:
		if ((mac = calloc(1, sizeof(*mac))) == NULL ||
		    (m = tval_list()) == NULL) {
			free(mac);
			return eval_errorv(e, "out of memory");
		}
		mac->m_refs = 1;
		m->tv_type = TV_MACRO;
		m->u.mac = mac;
		mac->m_node = n;
		mac->m_scope = e->e_scope;
		{
			const struct tnode	*call = n->n_a;
			struct tval		*callee;
			struct args		 a;

			v = NULL;
			if ((callee = eval_expr(e, call->n_a)) != NULL) {
				if (eval_args(e, call->n_kids, call->n_nkids,
				    &a) == 0) {
					if (a.a_nkw < ARGS_MAX) {
						a.a_kwname[a.a_nkw] = "caller";
						a.a_kwval[a.a_nkw++] =
						    tval_ref(m);
						e->e_node = n;
						v = eval_call_value(e, callee, &a);
					} else
						eval_error(e, "too many "
						    "arguments");
					args_clear(&a);
				}
				tval_unref(callee);
			}
		}
		mac->m_scope = NULL;
		tval_unref(m);
		if (v == NULL)
			return -1;
		rc = out_value(e, e->e_out, v);
		tval_unref(v);
		return rc;
	default:
		e->e_node = n;
		return eval_errorv(e, "cannot execute this statement");
	}
}

/* Statements in order; the first failure stops the render. */
static int
exec_body(struct eval *e, struct tnode **kids, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (e->e_failed)
			return -1;
		if (exec_stmt(e, kids[i]) == -1) {
			if (!e->e_failed) {
				e->e_node = kids[i];
				eval_error(e, "render failed");
			}
			return -1;
		}
	}
	return 0;
}

void
loopctx_free(struct loopctx *lc)
{
	if (lc == NULL)
		return;
	tval_unref(lc->lc_changed);
	free(lc);
}

void
macro_free(struct macro *m)
{
	if (m == NULL || --m->m_refs > 0)
		return;
	tval_unref(m->m_caller);
	free(m);
}

static void
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
int	loop_changed(struct loopctx *, struct tval *);
int
loop_changed(struct loopctx *lc, struct tval *v)
{
	int	 changed;

	changed = lc->lc_changed == NULL || !tval_eq(lc->lc_changed, v);
	tval_unref(lc->lc_changed);
	lc->lc_changed = tval_ref(v);
	return changed;
}

size_t	loop_index(struct loopctx *);
size_t
loop_index(struct loopctx *lc)
{
	return lc->lc_i;
}

/* --- Render entry point ------------------------------------------------ */

struct tmpl_output_int {
	struct tmpl_output	 oi_pub;
	char			*oi_buf;
	size_t			 oi_len;
};

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
	size_t			 i, off, nsegs;
	struct tmpl_error	 dummy;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	memset(&e, 0, sizeof(e));
	memset(&out, 0, sizeof(out));
	e.e_t = t;
	e.e_env = env;
	e.e_err = err;
	e.e_maxsteps = DEF_STEPS;
	e.e_maxout = DEF_OUTPUT;
	e.e_maxdepth = DEF_DEPTH;
	e.e_now = time(NULL);
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
	scope_init(&root, NULL);
	e.e_scope = e.e_root = &root;
	e.e_out = &out;
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
	if ((oi = calloc(1, sizeof(*oi))) == NULL ||
	    (segs = calloc(nsegs, sizeof(*segs))) == NULL) {
		free(oi);
		oi = NULL;
		tmpl_seterr(err, 1, 1, "out of memory");
		goto fail;
	}
	if (out.o_buf.b_p == NULL && buf_add(&out.o_buf, "", 0) == -1) {
		free(segs);
		free(oi);
		oi = NULL;
		tmpl_seterr(err, 1, 1, "out of memory");
		goto fail;
	}
	oi->oi_pub.to_segs = segs;
	oi->oi_buf = out.o_buf.b_p;
	oi->oi_len = out.o_buf.b_len;
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
	free(out.o_secs);
	scope_free(&root);
	eval_macros_release(&e);
	return &oi->oi_pub;
fail:
	out_free(&out);
	scope_free(&root);
	eval_macros_release(&e);
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
	free(o->to_segs);
	free(oi->oi_buf);
	free(oi);
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
