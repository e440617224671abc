/*
 * analyze.c — what a compiled template uses, where it may be used, and the
 * static check that keeps symbolic secrets to the few operations the keeper
 * can evaluate (DESIGN §4): output, concatenation, urlencode, base64_encode
 * and the key of jwt_encode.  Everything here runs once, at load.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

typedef int (*walk_cb)(struct tnode *, void *);

/*
 * Pre-order walk over every node in source order, skipping assignment
 * targets (they are stores, not uses).
 */
static int
walk(struct tnode *n, walk_cb cb, void *arg)
{
	size_t	 i;

	if (n == NULL)
		return 0;
	if (cb(n, arg) == -1)
		return -1;
	switch (n->n_kind) {
	case N_CONDEXPR:
		/* source order: value, test, else */
		if (walk(n->n_b, cb, arg) == -1 || walk(n->n_a, cb, arg) == -1 ||
		    walk(n->n_c, cb, arg) == -1)
			return -1;
		return 0;
	case N_MACRO:
	case N_CALLBLOCK:
		if (walk(n->n_a, cb, arg) == -1)
			return -1;
		for (i = 0; i < n->n_nkids2; i++)
			if (walk(n->n_kids2[i]->n_a, cb, arg) == -1)
				return -1;
		for (i = 0; i < n->n_nkids; i++)
			if (walk(n->n_kids[i], cb, arg) == -1)
				return -1;
		return 0;
	case N_WITH:
		for (i = 0; i < n->n_nkids2; i++)
			if (walk(n->n_kids2[i], cb, arg) == -1)
				return -1;
		for (i = 0; i < n->n_nkids; i++)
			if (walk(n->n_kids[i], cb, arg) == -1)
				return -1;
		return 0;
	case N_SETBLOCK:
		for (i = 0; i < n->n_nkids; i++)
			if (walk(n->n_kids[i], cb, arg) == -1)
				return -1;
		return walk(n->n_b, cb, arg);
	case N_FILTERBLOCK:
		if (walk(n->n_b, cb, arg) == -1)
			return -1;
		break;
	default:
		if (walk(n->n_a, cb, arg) == -1 || walk(n->n_b, cb, arg) == -1 ||
		    walk(n->n_c, cb, arg) == -1)
			return -1;
		break;
	}
	for (i = 0; i < n->n_nkids; i++)
		if (walk(n->n_kids[i], cb, arg) == -1)
			return -1;
	for (i = 0; i < n->n_nkids2; i++)
		if (walk(n->n_kids2[i], cb, arg) == -1)
			return -1;
	return 0;
}

/* --- Usage ------------------------------------------------------------- */

static const struct {
	const char	*nf_name;
	unsigned int	 nf_flag;
} name_flags[] = {
	{ "user",		TMPL_USES_USER },
	{ "tenant_id",		TMPL_USES_TENANT },
	{ "get_secret",		TMPL_USES_SECRET },
	{ "get_variable",	TMPL_USES_VARIABLE },
	{ "jwt_encode",		TMPL_USES_JWT },
	{ "now",		TMPL_USES_NOW },
	{ "body_text",		TMPL_USES_BODY },
	{ "body_raw",		TMPL_USES_BODY },
	{ "response",		TMPL_USES_RESPONSE },
	{ "pathParams",		TMPL_USES_PATHPARAMS },
	{ "steps",		TMPL_USES_STEPS },
	{ "request",		TMPL_USES_REQUEST },
};

/* The global names that matter to availability, and their usage bits. */
static unsigned int
name_flag(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(name_flags) / sizeof(name_flags[0]); i++)
		if (strcmp(name, name_flags[i].nf_name) == 0)
			return name_flags[i].nf_flag;
	return 0;
}

/* Usage lists keep the first occurrence only; order of first use is kept. */
static int
list_add(const char ***list, size_t *n, size_t *cap, const char *s)
{
	const char	**nl;
	size_t		  i;

	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i], s) == 0)
			return 0;
	if (*n == *cap) {
		size_t	 c = *cap ? *cap * 2 : 4;

		if ((nl = realloc(*list, c * sizeof(*nl))) == NULL)
			return -1;
		*list = nl;
		*cap = c;
	}
	(*list)[(*n)++] = s;
	return 1;
}

/* The literal first argument of a call (positional or name=), or NULL. */
static const struct tnode *
call_name_arg(const struct tnode *call)
{
	const struct tnode	*a;

	if (call->n_nkids < 1)
		return NULL;
	a = call->n_kids[0];
	if (a->n_kind == N_KWARG)
		a = a->n_a;
	if (a->n_kind == N_CONST && a->n_val->tv_type == TV_STR)
		return a;
	return NULL;
}

static int
is_builtin_name(const struct tnode *n, int bi)
{
	return n != NULL && n->n_kind == N_NAME && n->n_fid == bi;
}

/*
 * pathParams.X and pathParams['X'], with where they were first used, for
 * the loader's messages.
 */
static int
usage_pathparam(struct tmpl *t, const char *name, const struct tnode *at)
{
	struct tmpl_usage	*u = &t->t_usage;
	size_t			 cap = t->t_cpathparams;
	int			*nl, *nc, rc;

	if ((rc = list_add(&u->tu_pathparams, &u->tu_npathparams, &cap,
	    name)) != 1)
		return rc;
	if (cap != t->t_cpathparams) {
		if ((nl = realloc((void *)u->tu_pathparam_line,
		    cap * sizeof(*nl))) == NULL)
			return -1;
		u->tu_pathparam_line = nl;
		if ((nc = realloc((void *)u->tu_pathparam_col,
		    cap * sizeof(*nc))) == NULL)
			return -1;
		u->tu_pathparam_col = nc;
		t->t_cpathparams = cap;
	}
	((int *)u->tu_pathparam_line)[u->tu_npathparams - 1] = at->n_line;
	((int *)u->tu_pathparam_col)[u->tu_npathparams - 1] = at->n_col;
	return 0;
}

/* The key argument of a jwt_encode() call (key= or the second). */
static struct tnode *
jwt_key_arg(const struct tnode *call)
{
	struct tnode	*k;
	size_t		 i;

	for (i = 0; i < call->n_nkids; i++) {
		k = call->n_kids[i];
		if (k->n_kind == N_KWARG && strcmp(k->n_name, "key") == 0)
			return k->n_a;
		if (k->n_kind != N_KWARG && i == 1)
			return k;
	}
	return NULL;
}

/* Every get_secret() call inside a jwt_encode() key, remembered. */
static int
keycall_cb(struct tnode *n, void *arg)
{
	struct tmpl	*t = arg;
	struct tnode	**nk;

	if (n->n_kind != N_CALL || !is_builtin_name(n->n_a, FN_GET_SECRET))
		return 0;
	if (t->t_nkeycalls == t->t_ckeycalls) {
		size_t	 c = t->t_ckeycalls ? t->t_ckeycalls * 2 : 4;

		if ((nk = realloc(t->t_keycalls, c * sizeof(*nk))) == NULL)
			return -1;
		t->t_keycalls = nk;
		t->t_ckeycalls = c;
	}
	t->t_keycalls[t->t_nkeycalls++] = n;
	return 0;
}

/*
 * Record how the secret name was used: tu_secret_keyonly[i] stays 1 while
 * every use of it is inside a jwt_encode() key.  The walk is in pre-order,
 * so a jwt_encode() call is seen before the get_secret() calls in its key.
 */
static int
usage_secret(struct tmpl *t, const struct tnode *call, const char *name)
{
	struct tmpl_usage	*u = &t->t_usage;
	size_t			 i, cap = t->t_csecrets;
	int			 rc, keyuse = 0, *nk;

	for (i = 0; i < t->t_nkeycalls; i++)
		if (t->t_keycalls[i] == call)
			keyuse = 1;
	if ((rc = list_add(&u->tu_secrets, &u->tu_nsecrets, &t->t_csecrets,
	    name)) == -1)
		return -1;
	if (t->t_csecrets != cap) {
		if ((nk = realloc((void *)u->tu_secret_keyonly,
		    t->t_csecrets * sizeof(*nk))) == NULL)
			return -1;
		u->tu_secret_keyonly = nk;
	}
	for (i = 0; i < u->tu_nsecrets; i++)
		if (strcmp(u->tu_secrets[i], name) == 0)
			break;
	nk = (int *)u->tu_secret_keyonly;
	nk[i] = rc == 1 ? keyuse : (nk[i] && keyuse);
	return 0;
}

/* response.body, response.status_code, or the same with a literal key. */
static int
response_narrow(const struct tnode *n)
{
	const char	*key;

	if (n->n_a == NULL || n->n_a->n_kind != N_NAME ||
	    strcmp(n->n_a->n_name, "response") != 0)
		return 0;
	if (n->n_kind == N_GETATTR)
		key = n->n_name;
	else if (n->n_kind == N_GETITEM && n->n_b->n_kind == N_CONST &&
	    n->n_b->n_val->tv_type == TV_STR)
		key = n->n_b->n_val->u.s.p;
	else
		return 0;
	return strcmp(key, "body") == 0 || strcmp(key, "status_code") == 0;
}

/* One pass over the AST collects every usage bit and name list. */
/*
 * The name a {% set ns.attr %} store reads (it looks ns up first), or
 * NULL: walk() skips assignment targets, where it sits.
 */
static const struct tnode *
store_ns_name(const struct tnode *n)
{
	if ((n->n_kind == N_SET || n->n_kind == N_SETBLOCK) &&
	    n->n_target->n_kind == N_NSREF)
		return n->n_target->n_a;
	return NULL;
}

static int
usage_cb(struct tnode *n, void *arg)
{
	struct tmpl		*t = arg;
	struct tmpl_usage	*u = &t->t_usage;
	const struct tnode	*lit, *ns;
	struct tnode		*key;

	switch (n->n_kind) {
	case N_NAME:
		u->tu_flags |= name_flag(n->n_name);
		if (strcmp(n->n_name, "response") == 0)
			t->t_resp_names++;
		break;
	case N_SET:
	case N_SETBLOCK:
		if ((ns = store_ns_name(n)) != NULL)
			u->tu_flags |= name_flag(ns->n_name);
		break;
	case N_CALL:
		if (is_builtin_name(n->n_a, FN_GET_SECRET)) {
			if ((lit = call_name_arg(n)) == NULL)
				u->tu_dynamic_secret = 1;
			else if (usage_secret(t, n, lit->n_val->u.s.p) == -1)
				return -1;
		} else if (is_builtin_name(n->n_a, FN_JWT_ENCODE)) {
			if ((key = jwt_key_arg(n)) != NULL &&
			    walk(key, keycall_cb, t) == -1)
				return -1;
		} else if (is_builtin_name(n->n_a, FN_GET_VARIABLE)) {
			if ((lit = call_name_arg(n)) == NULL)
				u->tu_dynamic_variable = 1;
			else if (list_add(&u->tu_variables, &u->tu_nvariables,
			    &t->t_cvariables, lit->n_val->u.s.p) == -1)
				return -1;
		}
		break;
	case N_GETATTR:
		t->t_resp_narrow += response_narrow(n);
		if (n->n_a->n_kind == N_NAME &&
		    strcmp(n->n_a->n_name, "pathParams") == 0 &&
		    usage_pathparam(t, n->n_name, n->n_a) == -1)
			return -1;
		break;
	case N_GETITEM:
		t->t_resp_narrow += response_narrow(n);
		if (n->n_a->n_kind == N_NAME &&
		    strcmp(n->n_a->n_name, "pathParams") == 0 &&
		    n->n_b->n_kind == N_CONST && n->n_b->n_val->tv_type == TV_STR &&
		    usage_pathparam(t, n->n_b->n_val->u.s.p, n->n_a) == -1)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

/* --- Secret taint ------------------------------------------------------ */

struct taint {
	struct tmpl_error	*ta_err;
	int			 ta_report;	/* final pass: report misuse */
	int			 ta_failed;
	int			 ta_changed;
	int			 ta_macro;	/* inside a macro or call block */
	int			 ta_outtaint;	/* a tainted {{ }} was seen */
	const char		**ta_names;	/* variables holding a secret */
	size_t			 ta_nnames;
	size_t			 ta_cnames;
};

static int	taint_expr(struct taint *, struct tnode *);
static void	taint_body(struct taint *, struct tnode **, size_t);

/*
 * Reported only in the final pass, once the set of secret-holding variables
 * is complete.
 */
static void
taint_misuse(struct taint *ta, const struct tnode *at, const char *where)
{
	if (!ta->ta_report || ta->ta_failed++)
		return;
	tmpl_seterr(ta->ta_err, at->n_line, at->n_col,
	    "a secret cannot be used in %s: get_secret() may only be output, "
	    "joined with ~ or +, passed to urlencode or base64_encode, or be "
	    "the key of jwt_encode", where);
}

static int
taint_has(struct taint *ta, const char *name)
{
	size_t	 i;

	for (i = 0; i < ta->ta_nnames; i++)
		if (strcmp(ta->ta_names[i], name) == 0)
			return 1;
	return 0;
}

static void
taint_add(struct taint *ta, const char *name)
{
	int	 rc;

	rc = list_add(&ta->ta_names, &ta->ta_nnames, &ta->ta_cnames, name);
	if (rc == 1)
		ta->ta_changed = 1;
	else if (rc == -1 && !ta->ta_failed++)
		tmpl_seterr(ta->ta_err, 1, 1, "out of memory");
}

/* The expression must not hold a secret. */
static void
taint_clean(struct taint *ta, struct tnode *n, const char *where)
{
	if (n != NULL && taint_expr(ta, n))
		taint_misuse(ta, n, where);
}

static void
taint_clean_kids(struct taint *ta, struct tnode *n, const char *where)
{
	size_t	 i;

	for (i = 0; i < n->n_nkids; i++) {
		struct tnode	*k = n->n_kids[i];

		taint_clean(ta, k->n_kind == N_KWARG ? k->n_a : k, where);
	}
}

/* The built-in table says which filters the keeper can complete. */
static int
taint_filter_ok(int fid)
{
	return fid >= 0 && (builtins[fid].bi_flags & BF_SECRET_IN);
}

/* A direct call of a global function with one of the given flags. */
static int
call_flags(const struct tnode *n, unsigned int flags)
{
	return n->n_a->n_kind == N_NAME && n->n_a->n_fid >= 0 &&
	    (builtins[n->n_a->n_fid].bi_flags & flags);
}

static const char *
filter_where(const struct tnode *n)
{
	static char	 tmp[96];

	snprintf(tmp, sizeof(tmp), "the filter '%s'", n->n_name);
	return tmp;
}

/* A filter chain applied to the output of a block (filter/set blocks). */
static int
taint_chain(struct taint *ta, struct tnode *n, int intaint)
{
	int	 t;

	if (n == NULL)
		return intaint;
	t = taint_chain(ta, n->n_a, intaint);
	taint_clean_kids(ta, n, "a filter argument");
	if (t && !taint_filter_ok(n->n_fid)) {
		taint_misuse(ta, n, filter_where(n));
		return 0;
	}
	return t;
}

/* get_secret() taints; jwt_encode() carries taint only from its key. */
static int
taint_call(struct taint *ta, struct tnode *n)
{
	size_t	 i;
	int	 t = 0;

	if (call_flags(n, BF_SECRET_OUT)) {
		taint_clean_kids(ta, n, "the name passed to get_secret()");
		return 1;
	}
	if (call_flags(n, BF_SECRET_KEY)) {
		for (i = 0; i < n->n_nkids; i++) {
			struct tnode	*k = n->n_kids[i];

			if ((k->n_kind == N_KWARG && strcmp(k->n_name, "key") ==
			    0) || (k->n_kind != N_KWARG && i == 1))
				t |= taint_expr(ta, k->n_kind == N_KWARG ?
				    k->n_a : k);
			else
				taint_clean(ta, k->n_kind == N_KWARG ? k->n_a :
				    k, "the payload, algorithm or headers of "
				    "jwt_encode()");
		}
		return t;
	}
	taint_clean(ta, n->n_a, "a call");
	taint_clean_kids(ta, n, "a function argument");
	return 0;
}

/*
 * Does the expression hold a secret? Misuses in its operands are reported
 * on the way.
 */
static int
taint_expr(struct taint *ta, struct tnode *n)
{
	size_t	 i;
	int	 t;

	switch (n->n_kind) {
	case N_CONST:
		return 0;
	case N_NAME:
		if (n->n_fid >= 0 && (builtins[n->n_fid].bi_flags &
		    BF_SECRET_OUT))
			taint_misuse(ta, n, "a reference that is not a direct "
			    "call of get_secret('name')");
		return taint_has(ta, n->n_name);
	case N_CALL:
		return taint_call(ta, n);
	case N_FILTER:
		if (taint_filter_ok(n->n_fid)) {
			t = n->n_a != NULL ? taint_expr(ta, n->n_a) : 0;
			taint_clean_kids(ta, n, "a filter argument");
			return t;
		}
		taint_clean(ta, n->n_a, filter_where(n));
		taint_clean_kids(ta, n, "a filter argument");
		return 0;
	case N_BINOP:
		if (n->n_op == OP_TILDE || n->n_op == OP_ADD)
			return taint_expr(ta, n->n_a) | taint_expr(ta, n->n_b);
		taint_clean(ta, n->n_a, "arithmetic");
		taint_clean(ta, n->n_b, "arithmetic");
		return 0;
	case N_CONDEXPR:
		t = taint_expr(ta, n->n_b);
		taint_clean(ta, n->n_a, "a condition");
		if (n->n_c != NULL)
			t |= taint_expr(ta, n->n_c);
		return t;
	case N_AND:
	case N_OR:
		taint_clean(ta, n->n_a, "'and' / 'or'");
		taint_clean(ta, n->n_b, "'and' / 'or'");
		return 0;
	case N_NOT:
		taint_clean(ta, n->n_a, "'not'");
		return 0;
	case N_NEG:
	case N_POS:
		taint_clean(ta, n->n_a, "arithmetic");
		return 0;
	case N_COMPARE:
		taint_clean(ta, n->n_a, "a comparison");
		for (i = 0; i < n->n_nkids; i++)
			taint_clean(ta, n->n_kids[i]->n_a, "a comparison");
		return 0;
	case N_TEST:
		taint_clean(ta, n->n_a, "a test");
		taint_clean_kids(ta, n, "a test argument");
		return 0;
	case N_GETATTR:
		taint_clean(ta, n->n_a, "attribute access");
		return 0;
	case N_GETITEM:
		taint_clean(ta, n->n_a, "a subscript or slice");
		taint_clean(ta, n->n_b, "a subscript or slice");
		return 0;
	case N_SLICE:
		taint_clean(ta, n->n_a, "a slice");
		taint_clean(ta, n->n_b, "a slice");
		taint_clean(ta, n->n_c, "a slice");
		return 0;
	case N_STARARGS:
	case N_KWSTARARGS:
		taint_clean(ta, n->n_a, "a * or ** argument");
		return 0;
	case N_LIST:
		taint_clean_kids(ta, n, "a list");
		return 0;
	case N_TUPLE:
		taint_clean_kids(ta, n, "a tuple");
		return 0;
	case N_DICT:
		for (i = 0; i < n->n_nkids; i++) {
			taint_clean(ta, n->n_kids[i]->n_a, "a dict key");
			taint_clean(ta, n->n_kids[i]->n_b, "a dict");
		}
		return 0;
	default:
		return 0;
	}
}

/*
 * A secret may be kept in a plain variable, not in a namespace or an
 * unpacked tuple.
 */
static void
taint_assign(struct taint *ta, struct tnode *target, int t, struct tnode *at)
{
	if (!t)
		return;
	if (target->n_kind == N_NAME)
		taint_add(ta, target->n_name);
	else if (target->n_kind == N_NSREF)
		taint_misuse(ta, at, "a namespace attribute");
	else
		taint_misuse(ta, at, "tuple unpacking");
}

/* Did a block print a secret?  Then its capture holds one. */
static int
taint_block(struct taint *ta, struct tnode **kids, size_t n)
{
	int	 saved = ta->ta_outtaint, t;

	ta->ta_outtaint = 0;
	taint_body(ta, kids, n);
	t = ta->ta_outtaint;
	ta->ta_outtaint = saved;
	return t;
}

/*
 * Statements: conditions and loop iterables must be secret-free; macros may
 * not print secrets.
 */
static void
taint_stmt(struct taint *ta, struct tnode *n)
{
	size_t	 i;
	int	 t;

	switch (n->n_kind) {
	case N_OUTPUT:
		if (taint_expr(ta, n->n_a)) {
			if (ta->ta_macro)
				taint_misuse(ta, n->n_a, "a macro or call block");
			ta->ta_outtaint = 1;
		}
		break;
	case N_IF:
		taint_clean(ta, n->n_a, "an if condition");
		taint_body(ta, n->n_kids, n->n_nkids);
		taint_body(ta, n->n_kids2, n->n_nkids2);
		break;
	case N_FOR:
		taint_clean(ta, n->n_a, "a for loop");
		taint_clean(ta, n->n_b, "a loop filter");
		taint_body(ta, n->n_kids, n->n_nkids);
		taint_body(ta, n->n_kids2, n->n_nkids2);
		break;
	case N_SET:
		t = taint_expr(ta, n->n_a);
		taint_assign(ta, n->n_target, t, n->n_a);
		break;
	case N_SETBLOCK:
		t = taint_block(ta, n->n_kids, n->n_nkids);
		t = taint_chain(ta, n->n_b, t);
		taint_assign(ta, n->n_target, t, n);
		break;
	case N_FILTERBLOCK:
		t = taint_block(ta, n->n_kids, n->n_nkids);
		if (taint_chain(ta, n->n_b, t))
			ta->ta_outtaint = 1;
		break;
	case N_WITH:
		for (i = 0; i < n->n_nkids2; i++)
			taint_stmt(ta, n->n_kids2[i]);
		taint_body(ta, n->n_kids, n->n_nkids);
		break;
	case N_MACRO:
		for (i = 0; i < n->n_nkids2; i++)
			taint_clean(ta, n->n_kids2[i]->n_a, "a macro default");
		ta->ta_macro++;
		taint_body(ta, n->n_kids, n->n_nkids);
		ta->ta_macro--;
		break;
	case N_AUTOESCAPE:
		taint_clean(ta, n->n_a, "an autoescape tag");
		taint_body(ta, n->n_kids, n->n_nkids);
		break;
	case N_CALLBLOCK:
		taint_clean(ta, n->n_a, "a call block");
		for (i = 0; i < n->n_nkids2; i++)
			taint_clean(ta, n->n_kids2[i]->n_a, "a caller default");
		ta->ta_macro++;
		taint_body(ta, n->n_kids, n->n_nkids);
		ta->ta_macro--;
		break;
	default:
		break;
	}
}

static void
taint_body(struct taint *ta, struct tnode **kids, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		taint_stmt(ta, kids[i]);
}

/*
 * Flow-insensitive and conservative: a name that ever holds a secret is a
 * secret everywhere.
 */
static int
analyze_secrets(struct tmpl *t, struct tmpl_error *err)
{
	struct taint	 ta;
	int		 pass, rc;

	memset(&ta, 0, sizeof(ta));
	ta.ta_err = err;
	/* variables first, to a fixpoint (uses may precede sets in loops) */
	for (pass = 0; pass < 16; pass++) {
		ta.ta_changed = 0;
		taint_body(&ta, t->t_root->n_kids, t->t_root->n_nkids);
		if (!ta.ta_changed)
			break;
	}
	ta.ta_report = 1;
	taint_body(&ta, t->t_root->n_kids, t->t_root->n_nkids);
	rc = ta.ta_failed ? -1 : 0;
	free(ta.ta_names);
	return rc;
}

/* --- Macros and loops --------------------------------------------------- */

/* Does a macro body name varargs, kwargs or caller? */
static int
macro_args_cb(struct tnode *n, void *arg)
{
	struct tnode	*m = arg;

	if (n->n_kind != N_NAME)
		return 0;
	if (strcmp(n->n_name, "varargs") == 0)
		m->n_flags |= NF_VARARGS;
	else if (strcmp(n->n_name, "kwargs") == 0)
		m->n_flags |= NF_KWARGS;
	else if (strcmp(n->n_name, "caller") == 0)
		m->n_flags |= NF_CALLER;
	return 0;
}

/*
 * A macro whose body names varargs or kwargs accepts extra arguments,
 * unless a parameter has that name (Jinja2's macro_body).  A parameter
 * named caller needs a default when the body uses caller: Jinja2 refuses
 * it at compile time.
 */
static int
macro_scan_cb(struct tnode *n, void *arg)
{
	struct tmpl_error	*err = arg;
	const struct tnode	*p;
	size_t			 i;

	if (n->n_kind != N_MACRO && n->n_kind != N_CALLBLOCK)
		return 0;
	for (i = 0; i < n->n_nkids; i++)
		walk(n->n_kids[i], macro_args_cb, n);
	for (i = 0; i < n->n_nkids2; i++) {
		p = n->n_kids2[i];
		if (strcmp(p->n_name, "varargs") == 0)
			n->n_flags &= ~NF_VARARGS;
		else if (strcmp(p->n_name, "kwargs") == 0)
			n->n_flags &= ~NF_KWARGS;
		else if (strcmp(p->n_name, "caller") == 0 && p->n_a == NULL &&
		    (n->n_flags & NF_CALLER)) {
			tmpl_seterr(err, n->n_line, n->n_col, "When defining "
			    "macros or call blocks the special \"caller\" "
			    "argument must be omitted or be given a default.");
			return -1;
		}
	}
	return 0;
}

/* A store to the name loop in an assignment target, or NULL. */
static const struct tnode *
loop_target(const struct tnode *t)
{
	const struct tnode	*r;
	size_t			 i;

	if (t == NULL)
		return NULL;
	if (t->n_kind == N_NAME)
		return strcmp(t->n_name, "loop") == 0 ? t : NULL;
	if (t->n_kind == N_TUPLE)
		for (i = 0; i < t->n_nkids; i++)
			if ((r = loop_target(t->n_kids[i])) != NULL)
				return r;
	return NULL;
}

/*
 * Inside a for statement nothing may store to loop: not its target, not
 * a set or a nested for in its body or else, in a macro or a block there
 * either (Jinja2's visit_For looks at every Name it holds).  with is not
 * a store there.
 */
static const struct tnode *
loop_store(const struct tnode *n)
{
	const struct tnode	*r;
	size_t			 i;

	if (n == NULL)
		return NULL;
	if ((n->n_kind == N_FOR || n->n_kind == N_SET ||
	    n->n_kind == N_SETBLOCK) && (r = loop_target(n->n_target)) != NULL)
		return r;
	for (i = 0; i < n->n_nkids; i++)
		if ((r = loop_store(n->n_kids[i])) != NULL)
			return r;
	if (n->n_kind != N_WITH)
		for (i = 0; i < n->n_nkids2; i++)
			if ((r = loop_store(n->n_kids2[i])) != NULL)
				return r;
	return NULL;
}

static int
loop_store_cb(struct tnode *n, void *arg)
{
	struct tmpl_error	*err = arg;
	const struct tnode	*r;

	if (n->n_kind == N_FOR && (r = loop_store(n)) != NULL) {
		tmpl_seterr(err, r->n_line, r->n_col, "Can't assign to special "
		    "loop variable in for-loop target");
		return -1;
	}
	return 0;
}

/*
 * An unknown filter or test fails when the template is compiled, unless it
 * sits in a "soft" frame of Jinja2's compiler: the test and branches of an
 * if, the three parts of an x if c else y.  There it fails only when it is
 * called, its arguments evaluated first.  A for body, its loop filter and
 * its else, macros and call blocks, with, set and filter blocks are frames
 * of their own, never soft; a for's iterable, a with's values, a set's
 * value and a call block's call are in the enclosing frame.
 */
static const struct tnode *
unknown_in(const struct tnode *n, int soft)
{
	const struct tnode	*r = NULL;
	size_t			 i;

	if (n == NULL)
		return NULL;
	switch (n->n_kind) {
	case N_FILTER:
	case N_TEST:
		if (n->n_fid < 0 && !soft)
			return n;
		break;
	case N_IF:
	case N_CONDEXPR:
		soft = 1;
		break;
	case N_FOR:
		if ((r = unknown_in(n->n_a, soft)) != NULL)
			return r;
		if ((r = unknown_in(n->n_b, 0)) != NULL)
			return r;
		soft = 0;
		for (i = 0; i < n->n_nkids && r == NULL; i++)
			r = unknown_in(n->n_kids[i], 0);
		for (i = 0; i < n->n_nkids2 && r == NULL; i++)
			r = unknown_in(n->n_kids2[i], 0);
		return r;
	case N_WITH:
		for (i = 0; i < n->n_nkids2 && r == NULL; i++)
			r = unknown_in(n->n_kids2[i]->n_a, soft);
		for (i = 0; i < n->n_nkids && r == NULL; i++)
			r = unknown_in(n->n_kids[i], 0);
		return r;
	case N_CALLBLOCK:
		if ((r = unknown_in(n->n_a, soft)) != NULL)
			return r;
		/* FALLTHROUGH */
	case N_MACRO:
		for (i = 0; i < n->n_nkids2 && r == NULL; i++)
			r = unknown_in(n->n_kids2[i]->n_a, 0);
		for (i = 0; i < n->n_nkids && r == NULL; i++)
			r = unknown_in(n->n_kids[i], 0);
		return r;
	case N_SETBLOCK:
	case N_FILTERBLOCK:
	case N_AUTOESCAPE:
		/* autoescape's body is a Scope in Jinja2: a frame of its own */
		soft = 0;
		break;
	default:
		break;
	}
	if ((r = unknown_in(n->n_a, soft)) != NULL ||
	    (r = unknown_in(n->n_b, soft)) != NULL ||
	    (r = unknown_in(n->n_c, soft)) != NULL)
		return r;
	for (i = 0; i < n->n_nkids && r == NULL; i++)
		r = unknown_in(n->n_kids[i], soft);
	for (i = 0; i < n->n_nkids2 && r == NULL; i++)
		r = unknown_in(n->n_kids2[i], soft);
	return r;
}

/* A name read other than get_secret: the output depends on more. */
static int
const_cb(struct tnode *n, void *arg)
{
	struct tmpl		*t = arg;
	const struct tnode	*nm;

	if ((nm = n->n_kind == N_NAME ? n : store_ns_name(n)) == NULL)
		return 0;
	if (!is_builtin_name(nm, FN_GET_SECRET))
		t->t_const = 0;
	else if (t->t_const_name == NULL)
		t->t_const_name = nm;
	return 0;
}

/*
 * Everything decided once, at compile time: usage, literal-ness, the
 * checks Jinja2 makes when it compiles, and secret misuse.
 */
int
analyze_run(struct tmpl *t, struct tmpl_error *err)
{
	const struct tnode	*u;
	size_t			 i;

	if (walk(t->t_root, macro_scan_cb, err) == -1 ||
	    walk(t->t_root, loop_store_cb, err) == -1)
		return -1;
	if ((u = unknown_in(t->t_root, 0)) != NULL) {
		tmpl_seterr(err, u->n_line, u->n_col, "No %s named '%s'.",
		    u->n_kind == N_FILTER ? "filter" : "test", u->n_name);
		return -1;
	}

	if (walk(t->t_root, usage_cb, t) == -1) {
		tmpl_seterr(err, 1, 1, "out of memory");
		return -1;
	}
	if (t->t_resp_names > t->t_resp_narrow)
		t->t_usage.tu_flags |= TMPL_USES_RESPONSE_WHOLE;
	free(t->t_keycalls);
	t->t_keycalls = NULL;
	t->t_nkeycalls = t->t_ckeycalls = 0;
	t->t_literal = 1;
	for (i = 0; i < t->t_root->n_nkids; i++)
		if (t->t_root->n_kids[i]->n_kind != N_DATA)
			t->t_literal = 0;
	/* get_secret('name') and constants: the same output every time. */
	t->t_const = !t->t_literal && !t->t_usage.tu_dynamic_secret;
	if (t->t_const)
		walk(t->t_root, const_cb, t);
	if ((t->t_usage.tu_flags & TMPL_USES_SECRET) &&
	    analyze_secrets(t, err) == -1)
		return -1;
	return 0;
}

/* --- Validation per field ---------------------------------------------- */

static const char *
field_desc(enum tmpl_field f)
{
	switch (f) {
	case TMPL_FIELD_URL:			return "the connector URL";
	case TMPL_FIELD_URL_HOST:		return "a URL host";
	case TMPL_FIELD_HEADER:			return "a header value";
	case TMPL_FIELD_QUERY:			return "a query parameter value";
	case TMPL_FIELD_AUTH:			return "an authentication value";
	case TMPL_FIELD_REQUEST_BODY:		return "the request template";
	case TMPL_FIELD_RESPONSE_BODY:		return "the response template";
	case TMPL_FIELD_STEP_URL:		return "a composite step URL";
	case TMPL_FIELD_STEP_REQUEST_BODY:
		return "a composite step request template";
	case TMPL_FIELD_STEP_HEADER:
		return "a composite step header, query or authentication value";
	case TMPL_FIELD_STEP_RESPONSE_BODY:
		return "a composite step response template";
	}
	return "this field";
}

/* What each field forbids (SPEC §9, platform-docs §3a, §11, §12, §20). */
static unsigned int
field_forbidden(enum tmpl_field f)
{
	const unsigned int	 step_only = TMPL_USES_STEPS | TMPL_USES_REQUEST;

	switch (f) {
	case TMPL_FIELD_URL:
		return TMPL_USES_SECRET | TMPL_USES_BODY | TMPL_USES_RESPONSE |
		    step_only;
	case TMPL_FIELD_URL_HOST:
		return ~(unsigned int)TMPL_USES_VARIABLE;
	case TMPL_FIELD_HEADER:
	case TMPL_FIELD_QUERY:
	case TMPL_FIELD_AUTH:
		return TMPL_USES_BODY | TMPL_USES_RESPONSE |
		    TMPL_USES_PATHPARAMS | step_only;
	case TMPL_FIELD_REQUEST_BODY:
		return TMPL_USES_SECRET | TMPL_USES_VARIABLE |
		    TMPL_USES_RESPONSE | TMPL_USES_PATHPARAMS | step_only;
	case TMPL_FIELD_RESPONSE_BODY:
		return TMPL_USES_SECRET | TMPL_USES_VARIABLE | TMPL_USES_JWT |
		    TMPL_USES_BODY | TMPL_USES_PATHPARAMS | step_only;
	case TMPL_FIELD_STEP_URL:
	case TMPL_FIELD_STEP_REQUEST_BODY:
		return TMPL_USES_SECRET | TMPL_USES_BODY | TMPL_USES_RESPONSE |
		    TMPL_USES_PATHPARAMS;
	case TMPL_FIELD_STEP_HEADER:
		return TMPL_USES_BODY | TMPL_USES_RESPONSE |
		    TMPL_USES_PATHPARAMS;
	case TMPL_FIELD_STEP_RESPONSE_BODY:
		return TMPL_USES_SECRET | TMPL_USES_JWT | TMPL_USES_BODY |
		    TMPL_USES_PATHPARAMS;
	}
	return 0;
}

/* The rule a rejection message quotes. */
static const char *
flag_rule(unsigned int flag)
{
	switch (flag) {
	case TMPL_USES_SECRET:
		return "secrets may be used only in header, query and "
		    "authentication values";
	case TMPL_USES_VARIABLE:
		return "variables may be used in URLs, headers, query and "
		    "authentication values and composite step templates, not "
		    "in a simple connector's request or response template";
	case TMPL_USES_JWT:
		return "jwt_encode() is not available in response templates";
	case TMPL_USES_BODY:
		return "body_text and body_raw exist only in the request "
		    "template";
	case TMPL_USES_RESPONSE:
		return "response.* exists only in response templates";
	case TMPL_USES_PATHPARAMS:
		return "pathParams.* exists only in the connector URL";
	case TMPL_USES_STEPS:
	case TMPL_USES_REQUEST:
		return "steps.* and request.* exist only in composite step "
		    "templates";
	}
	return "it is not available there";
}

struct vctx {
	enum tmpl_field		 v_field;
	unsigned int		 v_forbid;
	struct tmpl_error	*v_err;
};

/* The first forbidden name in source order is the error. */
static int
validate_cb(struct tnode *n, void *arg)
{
	struct vctx	*v = arg;
	unsigned int	 f;

	if (n->n_kind != N_NAME || (f = name_flag(n->n_name)) == 0 ||
	    (f & v->v_forbid) == 0)
		return 0;
	tmpl_seterr(v->v_err, n->n_line, n->n_col, "%s%s is not allowed in "
	    "%s: %s", n->n_name, (f & (TMPL_USES_SECRET | TMPL_USES_VARIABLE |
	    TMPL_USES_JWT | TMPL_USES_NOW)) ? "()" : (f & (TMPL_USES_RESPONSE |
	    TMPL_USES_STEPS | TMPL_USES_REQUEST | TMPL_USES_PATHPARAMS)) ?
	    ".*" : "", field_desc(v->v_field),
	    flag_rule(f));
	return -1;
}

static int
host_literal_str(const struct tnode *n)
{
	return n->n_kind == N_CONST && n->n_val->tv_type == TV_STR;
}

/* {{ get_variable('x') }} with an optional | default('lit'[, true]) */
static int
host_expr_ok(const struct tnode *e)
{
	const struct tnode	*k;

	if (e->n_kind == N_FILTER && (e->n_fid == FLT_DEFAULT ||
	    e->n_fid == FLT_D)) {
		if (e->n_nkids < 1 || e->n_nkids > 2 ||
		    !host_literal_str(e->n_kids[0]))
			return 0;
		if (e->n_nkids == 2) {
			k = e->n_kids[1];
			if (k->n_kind != N_CONST || k->n_val->tv_type != TV_BOOL ||
			    !k->n_val->u.i)
				return 0;
		}
		e = e->n_a;
	}
	return e->n_kind == N_CALL && is_builtin_name(e->n_a, FN_GET_VARIABLE) &&
	    e->n_nkids == 1 && host_literal_str(e->n_kids[0]);
}

static const char host_rule[] = "only literal text and "
    "{{ get_variable('name') }} with an optional | default('literal') or "
    "| default('literal', true) are allowed in a URL host";

/*
 * Each part of a host template: literal text or the one allowed expression.
 */
static int
validate_host_node(const struct tmpl *t, const struct tnode *n,
    struct tmpl_error *err)
{
	const char	*what;

	switch (n->n_kind) {
	case N_DATA:
		return 1;
	case N_OUTPUT:
		if (host_expr_ok(n->n_a))
			return 1;
		tmpl_seterr(err, n->n_line, n->n_col, "%.*s: %s",
		    (int)(n->n_send - n->n_soff > 80 ? 80 :
		    n->n_send - n->n_soff), t->t_src + n->n_soff, host_rule);
		return 0;
	case N_IF:	what = "{% if %}"; break;
	case N_FOR:	what = "{% for %}"; break;
	case N_SET:
	case N_SETBLOCK: what = "{% set %}"; break;
	default:	what = "a block tag"; break;
	}
	tmpl_seterr(err, n->n_line, n->n_col, "%s: %s", what, host_rule);
	return 0;
}

/* The first get_secret() whose name is not a literal string. */
static int
dynamic_secret_cb(struct tnode *n, void *arg)
{
	struct tmpl_error	*err = arg;

	if (n->n_kind != N_CALL || !is_builtin_name(n->n_a, FN_GET_SECRET) ||
	    call_name_arg(n) != NULL)
		return 0;
	tmpl_seterr(err, n->n_line, n->n_col, "get_secret() takes the "
	    "secret's name as a literal string: the keeper completes only "
	    "the secrets a connector names");
	return -1;
}

/* 0 and err when the template uses what its field forbids. */
int
tmpl_validate(const struct tmpl *t, enum tmpl_field field,
    struct tmpl_error *err)
{
	struct vctx	 v;
	size_t		 i;

	if (t->t_usage.tu_dynamic_secret) {
		walk(t->t_root, dynamic_secret_cb, err);
		return 0;
	}

	if (field == TMPL_FIELD_URL_HOST) {
		for (i = 0; i < t->t_root->n_nkids; i++)
			if (!validate_host_node(t, t->t_root->n_kids[i], err))
				return 0;
		return 1;
	}
	v.v_field = field;
	v.v_forbid = field_forbidden(field);
	v.v_err = err;
	if ((t->t_usage.tu_flags & v.v_forbid) == 0)
		return 1;
	if (walk(t->t_root, validate_cb, &v) == -1)
		return 0;
	return 1;
}

const struct tmpl_usage *
tmpl_usage(const struct tmpl *t)
{
	return &t->t_usage;
}

int
tmpl_is_literal(const struct tmpl *t)
{
	return t->t_literal;
}
