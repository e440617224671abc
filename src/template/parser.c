/*
 * parser.c — tokens to an AST, a recursive descent that mirrors Jinja2's
 * parser (jinja2/parser.py) so that precedence, tuple rules, test argument
 * shorthand and error positions behave the same.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

#define PARSE_MAXDEPTH	200

struct parser {
	struct tmpl		*p_t;
	struct tmpl_error	*p_err;
	struct token		*p_toks;
	size_t			 p_pos;
	int			 p_depth;
	int			 p_failed;
	/* the innermost open blocks, for "looking for" messages */
	const char		*p_open[PARSE_MAXDEPTH];
	int			 p_nopen;
};

static struct tnode	*parse_expression(struct parser *, int);
static struct tnode	*parse_tuple(struct parser *, int, int, const char *,
			    int);
static struct tnode	*parse_unary(struct parser *, int);
static struct tnode	*parse_primary(struct parser *);
static struct tnode	*parse_postfix(struct parser *, struct tnode *);
static struct tnode	*parse_filter(struct parser *, struct tnode *, int);
static int		 parse_body(struct parser *, struct tnode *,
			    const char **);
static int		 parse_call_args(struct parser *, struct tnode *);
static int		 parse_signature(struct parser *, struct tnode *);

static struct token *
cur(struct parser *p)
{
	return &p->p_toks[p->p_pos];
}

static struct token *
look(struct parser *p)
{
	if (p->p_toks[p->p_pos].tk_type == TK_EOF)
		return &p->p_toks[p->p_pos];
	return &p->p_toks[p->p_pos + 1];
}

static struct token *
next(struct parser *p)
{
	struct token	*tk = &p->p_toks[p->p_pos];

	if (tk->tk_type != TK_EOF)
		p->p_pos++;
	return tk;
}

/* Token names in messages, spelled as Jinja2's describe_token does. */
static const char *
tok_describe(const struct token *tk, char *tmp, size_t len)
{
	static const char	*ops[] = {
		"", "+", "-", "*", "/", "//", "%", "**", "~", "[", "]", "(",
		")", "{", "}", "==", "!=", ">", ">=", "<", "<=", "=", ".", ":",
		"|", ",", ";"
	};

	switch (tk->tk_type) {
	case TK_EOF:
		return "end of template";
	case TK_DATA:
		return "template data / text";
	case TK_VAR_BEGIN:
		return "begin of print statement";
	case TK_VAR_END:
		return "end of print statement";
	case TK_BLOCK_BEGIN:
		return "begin of statement block";
	case TK_BLOCK_END:
		return "end of statement block";
	case TK_NAME:
		snprintf(tmp, len, "%s", tk->tk_str);
		return tmp;
	case TK_STRING:
		return "string";
	case TK_INT:
		return "integer";
	case TK_FLOAT:
		return "float";
	case TK_OP:
		if ((size_t)tk->tk_op < sizeof(ops) / sizeof(ops[0]))
			return ops[tk->tk_op];
		return "operator";
	}
	return "token";
}

/* The first error wins: it is the one with a useful position. */
static void *
fail_at(struct parser *p, const struct token *tk, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void *
fail_at(struct parser *p, const struct token *tk, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[sizeof(p->p_err->te_msg)];

	if (p->p_failed++)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tmpl_seterr(p->p_err, tk->tk_line, tk->tk_col, "%s", msg);
	return NULL;
}

/* An unclosed block names the tags that could close it, like Jinja2. */
static void *
fail_eof(struct parser *p, const char **end)
{
	struct buf	 b;
	const char	*inner;
	int		 i;

	memset(&b, 0, sizeof(b));
	buf_adds(&b, "Unexpected end of template.");
	if (end != NULL && end[0] != NULL) {
		buf_adds(&b, " Jinja was looking for the following tags: ");
		for (i = 0; end[i] != NULL; i++)
			buf_printf(&b, "%s'%s'", i ? " or " : "", end[i]);
		buf_adds(&b, ".");
	}
	if (p->p_nopen > 0) {
		inner = p->p_open[p->p_nopen - 1];
		buf_printf(&b, " The innermost block that needs to be closed "
		    "is '%s'.", inner);
	}
	fail_at(p, cur(p), "%s", b.b_p ? b.b_p : "Unexpected end of template.");
	buf_free(&b);
	return NULL;
}

static void *
fail_unexpected(struct parser *p, const struct token *tk)
{
	char	 tmp[64];

	if (tk->tk_type == TK_EOF)
		return fail_at(p, tk, "unexpected end of template");
	return fail_at(p, tk, "unexpected '%s'", tok_describe(tk, tmp,
	    sizeof(tmp)));
}

static int
is_op(const struct token *tk, enum tok_op op)
{
	return tk->tk_type == TK_OP && tk->tk_op == op;
}

static int
is_name(const struct token *tk, const char *name)
{
	return tk->tk_type == TK_NAME && strcmp(tk->tk_str, name) == 0;
}

static int
skip_name(struct parser *p, const char *name)
{
	if (!is_name(cur(p), name))
		return 0;
	next(p);
	return 1;
}

static struct token *
expect_type(struct parser *p, enum tok_type type, const char *what)
{
	struct token	*tk = cur(p);
	char		 tmp[64];

	if (tk->tk_type == type)
		return next(p);
	if (tk->tk_type == TK_EOF)
		return fail_at(p, tk, "unexpected end of template, expected '%s'.",
		    what);
	return fail_at(p, tk, "expected token '%s', got '%s'", what,
	    tok_describe(tk, tmp, sizeof(tmp)));
}

static struct token *
expect_op(struct parser *p, enum tok_op op, const char *what)
{
	struct token	*tk = cur(p);
	char		 tmp[64];

	if (is_op(tk, op))
		return next(p);
	if (tk->tk_type == TK_EOF)
		return fail_at(p, tk, "unexpected end of template, expected '%s'.",
		    what);
	return fail_at(p, tk, "expected token '%s', got '%s'", what,
	    tok_describe(tk, tmp, sizeof(tmp)));
}

static struct token *
expect_name(struct parser *p, const char *name)
{
	struct token	*tk = cur(p);
	char		 tmp[64];

	if (is_name(tk, name))
		return next(p);
	if (tk->tk_type == TK_EOF)
		return fail_at(p, tk, "unexpected end of template, expected '%s'.",
		    name);
	return fail_at(p, tk, "expected token '%s', got '%s'", name,
	    tok_describe(tk, tmp, sizeof(tmp)));
}

/*
 * AST nodes live in the template's arena and carry their token's line:col.
 */
static struct tnode *
node_new(struct parser *p, enum node_kind kind, const struct token *tk)
{
	struct tnode	*n;

	if ((n = arena_alloc(&p->p_t->t_arena, sizeof(*n))) == NULL)
		return fail_at(p, tk, "out of memory");
	n->n_kind = kind;
	n->n_line = tk->tk_line;
	n->n_col = tk->tk_col;
	n->n_fid = -1;
	return n;
}

/* Node lists grow by doubling in the arena (old copies are abandoned). */
static int
kids_add(struct parser *p, struct tnode ***v, size_t *n, struct tnode *k)
{
	struct tnode	**nv;

	if ((*n & (*n - 1)) == 0) {
		size_t	 cap = *n ? *n * 2 : 1;

		if ((nv = arena_alloc(&p->p_t->t_arena, cap * sizeof(*nv))) ==
		    NULL) {
			fail_at(p, cur(p), "out of memory");
			return -1;
		}
		if (*n)
			memcpy(nv, *v, *n * sizeof(*nv));
		*v = nv;
	}
	(*v)[(*n)++] = k;
	return 0;
}

/*
 * Names are interned here: lookups at render time compare hashes (or
 * the pointers of interned keys) first.
 */
static int
node_setname(struct parser *p, struct tnode *n, const char *s, size_t len)
{
	if ((n->n_key = tmpl_intern(p->p_t, s, len)) == NULL) {
		fail_at(p, cur(p), "out of memory");
		return -1;
	}
	n->n_name = n->n_key->u.s.p;
	n->n_namelen = len;
	n->n_hash = n->n_key->u.s.h;
	return 0;
}

/* Literal values are built once, at compile time. */
static struct tnode *
node_const(struct parser *p, const struct token *tk, struct tval *v)
{
	struct tnode	*n;

	if (v == NULL)
		return fail_at(p, tk, "out of memory");
	if ((n = node_new(p, N_CONST, tk)) == NULL ||
	    (n->n_val = tval_immortal(p->p_t, v)) == NULL)
		return fail_at(p, tk, "out of memory");
	return n;
}

/*
 * Recursion depth of the parser itself: deep nesting is an error, not a
 * stack overflow.
 */
static int
depth_enter(struct parser *p)
{
	if (++p->p_depth > PARSE_MAXDEPTH) {
		fail_at(p, cur(p), "template nested too deeply");
		return -1;
	}
	return 0;
}

/* --- Expressions ------------------------------------------------------- */

static struct tnode *
parse_list(struct parser *p)
{
	struct token	*tk = expect_op(p, OP_LBRACKET, "[");
	struct tnode	*n, *item;

	if (tk == NULL || (n = node_new(p, N_LIST, tk)) == NULL)
		return NULL;
	while (!is_op(cur(p), OP_RBRACKET)) {
		if (n->n_nkids && expect_op(p, OP_COMMA, ",") == NULL)
			return NULL;
		if (is_op(cur(p), OP_RBRACKET))
			break;
		if ((item = parse_expression(p, 1)) == NULL ||
		    kids_add(p, &n->n_kids, &n->n_nkids, item) == -1)
			return NULL;
	}
	if (expect_op(p, OP_RBRACKET, "]") == NULL)
		return NULL;
	return n;
}

static struct tnode *
parse_dict(struct parser *p)
{
	struct token	*tk = expect_op(p, OP_LBRACE, "{");
	struct tnode	*n, *pair;

	if (tk == NULL || (n = node_new(p, N_DICT, tk)) == NULL)
		return NULL;
	while (!is_op(cur(p), OP_RBRACE)) {
		if (n->n_nkids && expect_op(p, OP_COMMA, ",") == NULL)
			return NULL;
		if (is_op(cur(p), OP_RBRACE))
			break;
		if ((pair = node_new(p, N_PAIR, cur(p))) == NULL ||
		    (pair->n_a = parse_expression(p, 1)) == NULL ||
		    expect_op(p, OP_COLON, ":") == NULL ||
		    (pair->n_b = parse_expression(p, 1)) == NULL ||
		    kids_add(p, &n->n_kids, &n->n_nkids, pair) == -1)
			return NULL;
	}
	if (expect_op(p, OP_RBRACE, "}") == NULL)
		return NULL;
	return n;
}

/* Literals, names, and parenthesised, list and dict expressions. */
static struct tnode *
parse_primary(struct parser *p)
{
	struct token	*tk = cur(p);
	struct tnode	*n;
	struct buf	 b;

	switch (tk->tk_type) {
	case TK_NAME:
		next(p);
		if (strcmp(tk->tk_str, "true") == 0 ||
		    strcmp(tk->tk_str, "True") == 0)
			return node_const(p, tk, &tval_true_static);
		if (strcmp(tk->tk_str, "false") == 0 ||
		    strcmp(tk->tk_str, "False") == 0)
			return node_const(p, tk, &tval_false_static);
		if (strcmp(tk->tk_str, "none") == 0 ||
		    strcmp(tk->tk_str, "None") == 0)
			return node_const(p, tk, &tval_none_static);
		if ((n = node_new(p, N_NAME, tk)) == NULL ||
		    node_setname(p, n, tk->tk_str, tk->tk_len) == -1)
			return NULL;
		n->n_fid = builtin_find(BK_FUNCTION, tk->tk_str);
		return n;
	case TK_STRING:
		/* adjacent string literals concatenate, as in Python */
		memset(&b, 0, sizeof(b));
		while (cur(p)->tk_type == TK_STRING) {
			if (buf_add(&b, cur(p)->tk_str, cur(p)->tk_len) == -1) {
				buf_free(&b);
				return fail_at(p, tk, "out of memory");
			}
			next(p);
		}
		n = node_const(p, tk, tval_str(b.b_p ? b.b_p : "", b.b_len));
		buf_free(&b);
		return n;
	case TK_INT:
		next(p);
		return node_const(p, tk, tval_int(tk->tk_int));
	case TK_FLOAT:
		next(p);
		return node_const(p, tk, tval_float(tk->tk_float));
	case TK_OP:
		if (tk->tk_op == OP_LPAREN) {
			next(p);
			if ((n = parse_tuple(p, 0, 1, NULL, 1)) == NULL ||
			    expect_op(p, OP_RPAREN, ")") == NULL)
				return NULL;
			return n;
		}
		if (tk->tk_op == OP_LBRACKET)
			return parse_list(p);
		if (tk->tk_op == OP_LBRACE)
			return parse_dict(p);
		break;
	default:
		break;
	}
	return fail_unexpected(p, tk);
}

/*
 * Where an implicit tuple stops: the end of the tag or a closing
 * parenthesis.
 */
static int
tuple_end(struct parser *p, const char *extra)
{
	struct token	*tk = cur(p);

	if (tk->tk_type == TK_VAR_END || tk->tk_type == TK_BLOCK_END ||
	    is_op(tk, OP_RPAREN))
		return 1;
	return extra != NULL && is_name(tk, extra);
}

/*
 * Jinja2's parse_tuple: a comma makes a tuple; without one the single
 * expression is returned.  simplified: items are primaries (for targets).
 */
static struct tnode *
parse_tuple(struct parser *p, int simplified, int condexpr, const char *extra,
    int parens)
{
	struct token	*tk = cur(p);
	struct tnode	*n, *item;
	struct tnode	**items = NULL;
	size_t		 nitems = 0;
	int		 istuple = 0;
	char		 tmp[64];

	for (;;) {
		if (nitems && expect_op(p, OP_COMMA, ",") == NULL)
			return NULL;
		if (tuple_end(p, extra))
			break;
		if (simplified)
			item = parse_primary(p);
		else
			item = parse_expression(p, condexpr);
		if (item == NULL ||
		    kids_add(p, &items, &nitems, item) == -1)
			return NULL;
		if (is_op(cur(p), OP_COMMA))
			istuple = 1;
		else
			break;
	}
	/* a single item without a comma is just that expression */
	if (!istuple) {
		if (nitems)
			return items[0];
		if (!parens)
			return fail_at(p, cur(p), "Expected an expression, got "
			    "'%s'", tok_describe(cur(p), tmp, sizeof(tmp)));
	}
	if ((n = node_new(p, N_TUPLE, tk)) == NULL)
		return NULL;
	n->n_kids = items;
	n->n_nkids = nitems;
	return n;
}

/* One subscript: an expression or a start:stop:step slice. */
static struct tnode *
parse_subscribed(struct parser *p)
{
	struct token	*tk = cur(p);
	struct tnode	*n, *first = NULL;

	if (is_op(tk, OP_COLON))
		next(p);
	else {
		if ((first = parse_expression(p, 1)) == NULL)
			return NULL;
		if (!is_op(cur(p), OP_COLON))
			return first;
		next(p);
	}
	if ((n = node_new(p, N_SLICE, tk)) == NULL)
		return NULL;
	n->n_a = first;
	if (!is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA) &&
	    !is_op(cur(p), OP_COLON)) {
		if ((n->n_b = parse_expression(p, 1)) == NULL)
			return NULL;
	}
	if (is_op(cur(p), OP_COLON)) {
		next(p);
		if (!is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA)) {
			if ((n->n_c = parse_expression(p, 1)) == NULL)
				return NULL;
		}
	}
	return n;
}

/*
 * x.name, x.0 and x[...]: dots make Getattr (Getitem for digits), brackets
 * Getitem.
 */
static struct tnode *
parse_subscript(struct parser *p, struct tnode *obj)
{
	struct token	*tk = next(p), *at;
	struct tnode	*n, *arg, *tup = NULL;
	char		 tmp[64];

	if (tk->tk_op == OP_DOT) {
		at = cur(p);
		if (at->tk_type == TK_NAME) {
			next(p);
			if ((n = node_new(p, N_GETATTR, at)) == NULL ||
			    node_setname(p, n, at->tk_str, at->tk_len) == -1)
				return NULL;
			n->n_a = obj;
			/* resolved once here, not by name at every render */
			n->n_meth[0] = builtin_method(TV_STR, n->n_name);
			n->n_meth[1] = builtin_method(TV_DICT, n->n_name);
			n->n_meth[2] = builtin_method(TV_LIST, n->n_name);
			n->n_meth[3] = builtin_method(TV_TUPLE, n->n_name);
			n->n_meth[4] = loop_attr_find(n->n_name);
			return n;
		}
		if (at->tk_type == TK_INT) {
			next(p);
			if ((n = node_new(p, N_GETITEM, at)) == NULL ||
			    (n->n_b = node_const(p, at, tval_int(at->tk_int))) ==
			    NULL)
				return NULL;
			n->n_a = obj;
			return n;
		}
		return fail_at(p, at, "expected name or number, got '%s'",
		    tok_describe(at, tmp, sizeof(tmp)));
	}
	/* x[a, b] subscripts with a tuple, x[a:b] with a slice */
	/* '[' */
	if ((n = node_new(p, N_GETITEM, tk)) == NULL)
		return NULL;
	n->n_a = obj;
	while (!is_op(cur(p), OP_RBRACKET)) {
		if (tup != NULL || n->n_b != NULL) {
			if (expect_op(p, OP_COMMA, ",") == NULL)
				return NULL;
			if (tup == NULL) {
				if ((tup = node_new(p, N_TUPLE, tk)) == NULL ||
				    kids_add(p, &tup->n_kids, &tup->n_nkids,
				    n->n_b) == -1)
					return NULL;
			}
			if (is_op(cur(p), OP_RBRACKET))
				break;
		}
		if ((arg = parse_subscribed(p)) == NULL)
			return NULL;
		if (tup != NULL) {
			if (kids_add(p, &tup->n_kids, &tup->n_nkids, arg) == -1)
				return NULL;
		} else
			n->n_b = arg;
	}
	if (expect_op(p, OP_RBRACKET, "]") == NULL)
		return NULL;
	if (tup != NULL)
		n->n_b = tup;
	if (n->n_b == NULL)
		return fail_at(p, tk, "expected subscript expression");
	return n;
}

/* f(a, b, name=value): keyword arguments after positional ones only. */
static int
parse_call_args(struct parser *p, struct tnode *call)
{
	struct tnode	*arg;
	struct token	*tk;
	size_t		 k;
	int		 needcomma = 0, havekw = 0, havestar = 0, havedstar = 0;

	if (expect_op(p, OP_LPAREN, "(") == NULL)
		return -1;
	while (!is_op(cur(p), OP_RPAREN)) {
		if (needcomma) {
			if (expect_op(p, OP_COMMA, ",") == NULL)
				return -1;
			if (is_op(cur(p), OP_RPAREN))
				break;
		}
		tk = cur(p);
		/*
		 * *args (one, not after **kwargs) and **kwargs (one, last of
		 * the keywords), as Jinja2's parse_call_args allows them
		 */
		if (is_op(tk, OP_MUL) || is_op(tk, OP_POW)) {
			if (havedstar || (is_op(tk, OP_MUL) && havestar)) {
				fail_at(p, tk, "Invalid argument syntax");
				return -1;
			}
			next(p);
			if ((arg = node_new(p, is_op(tk, OP_MUL) ? N_STARARGS :
			    N_KWSTARARGS, tk)) == NULL ||
			    (arg->n_a = parse_expression(p, 1)) == NULL)
				return -1;
			if (arg->n_kind == N_STARARGS)
				havestar = 1;
			else
				havedstar = 1;
		} else if (tk->tk_type == TK_NAME && is_op(look(p), OP_ASSIGN)) {
			/* name=value is a keyword argument, not a comparison */
			if (havedstar) {
				fail_at(p, tk, "Invalid argument syntax");
				return -1;
			}
			/* Python: "keyword argument repeated" */
			for (k = 0; k < call->n_nkids; k++)
				if (call->n_kids[k]->n_kind == N_KWARG &&
				    strcmp(call->n_kids[k]->n_name, tk->tk_str) ==
				    0) {
					fail_at(p, tk, "keyword argument repeated: "
					    "%s", tk->tk_str);
					return -1;
				}
			next(p);
			next(p);
			if ((arg = node_new(p, N_KWARG, tk)) == NULL ||
			    node_setname(p, arg, tk->tk_str, tk->tk_len) == -1 ||
			    (arg->n_a = parse_expression(p, 1)) == NULL)
				return -1;
			havekw = 1;
		} else {
			if (havekw || havestar || havedstar) {
				fail_at(p, tk, "Invalid argument syntax");
				return -1;
			}
			if ((arg = parse_expression(p, 1)) == NULL)
				return -1;
		}
		if (kids_add(p, &call->n_kids, &call->n_nkids, arg) == -1)
			return -1;
		needcomma = 1;
	}
	if (expect_op(p, OP_RPAREN, ")") == NULL)
		return -1;
	return 0;
}

static struct tnode *
parse_call(struct parser *p, struct tnode *callee)
{
	struct tnode	*n;

	if ((n = node_new(p, N_CALL, cur(p))) == NULL)
		return NULL;
	/* errors about a call point at what is called */
	n->n_line = callee->n_line;
	n->n_col = callee->n_col;
	n->n_a = callee;
	if (parse_call_args(p, n) == -1)
		return NULL;
	return n;
}

static struct tnode *
parse_postfix(struct parser *p, struct tnode *n)
{
	while (n != NULL) {
		if (is_op(cur(p), OP_DOT) || is_op(cur(p), OP_LBRACKET))
			n = parse_subscript(p, n);
		else if (is_op(cur(p), OP_LPAREN))
			n = parse_call(p, n);
		else
			break;
	}
	return n;
}

/* filter or test name, possibly dotted */
static int
parse_dotted(struct parser *p, struct tnode *n)
{
	struct token	*tk = expect_type(p, TK_NAME, "name");
	struct buf	 b;
	int		 rc = -1;

	memset(&b, 0, sizeof(b));
	if (tk == NULL)
		return -1;
	buf_add(&b, tk->tk_str, tk->tk_len);
	while (is_op(cur(p), OP_DOT)) {
		next(p);
		if ((tk = expect_type(p, TK_NAME, "name")) == NULL)
			goto out;
		buf_addc(&b, '.');
		buf_add(&b, tk->tk_str, tk->tk_len);
	}
	if (b.b_p == NULL)
		goto out;
	rc = node_setname(p, n, b.b_p, b.b_len);
out:
	buf_free(&b);
	return rc;
}

/*
 * x | name(args) | ...; whether an unknown filter fails at compile time
 * or when it is called is analyze.c's to say (Jinja2's soft frames).
 */
static struct tnode *
parse_filter(struct parser *p, struct tnode *in, int inline_start)
{
	struct tnode	*n;
	struct token	*tk;

	while (is_op(cur(p), OP_PIPE) || inline_start) {
		if (!inline_start)
			next(p);
		inline_start = 0;
		tk = cur(p);
		if ((n = node_new(p, N_FILTER, tk)) == NULL ||
		    parse_dotted(p, n) == -1)
			return NULL;
		n->n_a = in;
		/* an unknown one is analyze.c's to judge (soft frames) */
		n->n_fid = builtin_find(BK_FILTER, n->n_name);
		if (is_op(cur(p), OP_LPAREN) && parse_call_args(p, n) == -1)
			return NULL;
		in = n;
	}
	return in;
}

/*
 * x is [not] name [arg | (args)]: a single argument may follow without
 * parentheses.
 */
static struct tnode *
parse_test(struct parser *p, struct tnode *in)
{
	struct tnode	*n, *arg, *neg;
	struct token	*istk = next(p), *tk;
	int		 negated;

	negated = skip_name(p, "not");
	tk = cur(p);
	if ((n = node_new(p, N_TEST, tk)) == NULL || parse_dotted(p, n) == -1)
		return NULL;
	n->n_a = in;
	n->n_fid = builtin_find(BK_TEST, n->n_name);
	tk = cur(p);
	if (is_op(tk, OP_LPAREN)) {
		if (parse_call_args(p, n) == -1)
			return NULL;
	/* `is divisibleby 3`: one argument without parentheses */
	} else if ((tk->tk_type == TK_NAME || tk->tk_type == TK_STRING ||
	    tk->tk_type == TK_INT || tk->tk_type == TK_FLOAT ||
	    is_op(tk, OP_LPAREN) || is_op(tk, OP_LBRACKET) ||
	    is_op(tk, OP_LBRACE)) && !is_name(tk, "else") &&
	    !is_name(tk, "or") && !is_name(tk, "and")) {
		if (is_name(tk, "is"))
			return fail_at(p, tk, "You cannot chain multiple tests "
			    "with is");
		if ((arg = parse_primary(p)) == NULL ||
		    (arg = parse_postfix(p, arg)) == NULL ||
		    kids_add(p, &n->n_kids, &n->n_nkids, arg) == -1)
			return NULL;
	}
	if (negated) {
		if ((neg = node_new(p, N_NOT, istk)) == NULL)
			return NULL;
		neg->n_a = n;
		return neg;
	}
	return n;
}

/* Filters and tests bind tighter than every binary operator. */
static struct tnode *
parse_filter_expr(struct parser *p, struct tnode *n)
{
	while (n != NULL) {
		if (is_op(cur(p), OP_PIPE))
			n = parse_filter(p, n, 0);
		else if (is_name(cur(p), "is"))
			n = parse_test(p, n);
		else if (is_op(cur(p), OP_LPAREN))
			n = parse_call(p, n);
		else
			break;
	}
	return n;
}

/*
 * Unary minus binds to the primary; its filters apply to the negated value.
 */
static struct tnode *
parse_unary(struct parser *p, int with_filter)
{
	struct token	*tk = cur(p);
	struct tnode	*n;

	if (depth_enter(p) == -1)
		return NULL;
	if (is_op(tk, OP_SUB) || is_op(tk, OP_ADD)) {
		next(p);
		if ((n = node_new(p, tk->tk_op == OP_SUB ? N_NEG : N_POS, tk)) ==
		    NULL || (n->n_a = parse_unary(p, 0)) == NULL)
			return NULL;
	} else if ((n = parse_primary(p)) == NULL)
		return NULL;
	n = parse_postfix(p, n);
	if (with_filter)
		n = parse_filter_expr(p, n);
	p->p_depth--;
	return n;
}

static struct tnode *
binop(struct parser *p, struct token *tk, int op, struct tnode *a,
    struct tnode *b)
{
	struct tnode	*n;

	if (a == NULL || b == NULL || (n = node_new(p, N_BINOP, tk)) == NULL)
		return NULL;
	n->n_op = op;
	n->n_a = a;
	n->n_b = b;
	return n;
}

/* ** is left-associative in Jinja2 (unlike Python). */
static struct tnode *
parse_pow(struct parser *p)
{
	struct tnode	*n = parse_unary(p, 1);
	struct token	*tk;

	while (n != NULL && is_op(cur(p), OP_POW)) {
		tk = next(p);
		n = binop(p, tk, OP_POW, n, parse_unary(p, 1));
	}
	return n;
}

static struct tnode *
parse_math2(struct parser *p)
{
	struct tnode	*n = parse_pow(p);
	struct token	*tk;

	while (n != NULL && (is_op(cur(p), OP_MUL) || is_op(cur(p), OP_DIV) ||
	    is_op(cur(p), OP_FLOORDIV) || is_op(cur(p), OP_MOD))) {
		tk = next(p);
		n = binop(p, tk, tk->tk_op, n, parse_pow(p));
	}
	return n;
}

static struct tnode *
parse_concat(struct parser *p)
{
	struct tnode	*n = parse_math2(p);
	struct token	*tk;

	while (n != NULL && is_op(cur(p), OP_TILDE)) {
		tk = next(p);
		n = binop(p, tk, OP_TILDE, n, parse_math2(p));
	}
	return n;
}

static struct tnode *
parse_math1(struct parser *p)
{
	struct tnode	*n = parse_concat(p);
	struct token	*tk;

	while (n != NULL && (is_op(cur(p), OP_ADD) || is_op(cur(p), OP_SUB))) {
		tk = next(p);
		n = binop(p, tk, tk->tk_op, n, parse_concat(p));
	}
	return n;
}

/* Comparisons chain: a < b < c. */
static struct tnode *
parse_compare(struct parser *p)
{
	struct tnode	*n = parse_math1(p), *cmp = NULL, *opd;
	struct token	*tk;
	int		 op;

	if (n == NULL)
		return NULL;
	for (;;) {
		tk = cur(p);
		if (tk->tk_type == TK_OP && (tk->tk_op == OP_EQ ||
		    tk->tk_op == OP_NE || tk->tk_op == OP_LT ||
		    tk->tk_op == OP_LTEQ || tk->tk_op == OP_GT ||
		    tk->tk_op == OP_GTEQ)) {
			op = tk->tk_op;
			next(p);
		} else if (is_name(tk, "in")) {
			op = OP_IN;
			next(p);
		} else if (is_name(tk, "not") && is_name(look(p), "in")) {
			op = OP_NOTIN;
			next(p);
			next(p);
		} else
			break;
		/* the chain starts at its first operand's position */
		if (cmp == NULL) {
			if ((cmp = node_new(p, N_COMPARE, tk)) == NULL)
				return NULL;
			cmp->n_line = n->n_line;
			cmp->n_col = n->n_col;
			cmp->n_a = n;
		}
		if ((opd = node_new(p, N_OPERAND, tk)) == NULL ||
		    (opd->n_a = parse_math1(p)) == NULL ||
		    kids_add(p, &cmp->n_kids, &cmp->n_nkids, opd) == -1)
			return NULL;
		opd->n_op = op;
	}
	return cmp != NULL ? cmp : n;
}

static struct tnode *
parse_not(struct parser *p)
{
	struct token	*tk = cur(p);
	struct tnode	*n;

	if (is_name(tk, "not")) {
		next(p);
		if (depth_enter(p) == -1)
			return NULL;
		if ((n = node_new(p, N_NOT, tk)) == NULL ||
		    (n->n_a = parse_not(p)) == NULL)
			return NULL;
		p->p_depth--;
		return n;
	}
	return parse_compare(p);
}

static struct tnode *
parse_and(struct parser *p)
{
	struct tnode	*n = parse_not(p), *r;
	struct token	*tk;

	while (n != NULL && is_name(cur(p), "and")) {
		tk = next(p);
		if ((r = node_new(p, N_AND, tk)) == NULL)
			return NULL;
		r->n_a = n;
		if ((r->n_b = parse_not(p)) == NULL)
			return NULL;
		n = r;
	}
	return n;
}

static struct tnode *
parse_or(struct parser *p)
{
	struct tnode	*n = parse_and(p), *r;
	struct token	*tk;

	while (n != NULL && is_name(cur(p), "or")) {
		tk = next(p);
		if ((r = node_new(p, N_OR, tk)) == NULL)
			return NULL;
		r->n_a = n;
		if ((r->n_b = parse_and(p)) == NULL)
			return NULL;
		n = r;
	}
	return n;
}

/* x if c else y; without else the value is Undefined. */
static struct tnode *
parse_condexpr(struct parser *p)
{
	struct tnode	*n = parse_or(p), *c;
	struct token	*tk;

	while (n != NULL && is_name(cur(p), "if")) {
		tk = next(p);
		if ((c = node_new(p, N_CONDEXPR, tk)) == NULL)
			return NULL;
		c->n_line = n->n_line;
		c->n_col = n->n_col;
		c->n_b = n;
		if ((c->n_a = parse_or(p)) == NULL)
			return NULL;
		if (skip_name(p, "else")) {
			if ((c->n_c = parse_condexpr(p)) == NULL)
				return NULL;
		}
		n = c;
	}
	return n;
}

static struct tnode *
parse_expression(struct parser *p, int with_condexpr)
{
	struct tnode	*n;

	if (depth_enter(p) == -1)
		return NULL;
	n = with_condexpr ? parse_condexpr(p) : parse_or(p);
	p->p_depth--;
	return n;
}

/* --- Statements -------------------------------------------------------- */

/*
 * Only names and tuples of targets can be assigned; tuples nest, as in
 * Python ({% for (k, v), i in ... %}), to the parser's depth limit.
 */
static int
check_target(struct parser *p, struct tnode *t)
{
	size_t	 i;

	if (t->n_kind == N_NAME)
		return 0;
	if (t->n_kind == N_TUPLE) {
		for (i = 0; i < t->n_nkids; i++)
			if (check_target(p, t->n_kids[i]) == -1)
				return -1;
		return 0;
	}
	fail_at(p, &(struct token){ .tk_line = t->n_line, .tk_col = t->n_col },
	    "can't assign to '%s'", t->n_kind == N_CONST ? "constant" :
	    "expression");
	return -1;
}

/* Targets of set and for; set also accepts ns.attr. */
static struct tnode *
parse_assign_target(struct parser *p, const char *extra, int with_namespace)
{
	struct token	*tk = cur(p), *attr;
	struct tnode	*n, *name;

	if (with_namespace && tk->tk_type == TK_NAME && is_op(look(p), OP_DOT)) {
		next(p);
		next(p);
		if ((attr = expect_type(p, TK_NAME, "name")) == NULL)
			return NULL;
		if ((name = node_new(p, N_NAME, tk)) == NULL ||
		    node_setname(p, name, tk->tk_str, tk->tk_len) == -1 ||
		    (n = node_new(p, N_NSREF, tk)) == NULL ||
		    node_setname(p, n, attr->tk_str, attr->tk_len) == -1)
			return NULL;
		n->n_a = name;
		return n;
	}
	if ((n = parse_tuple(p, 1, 1, extra, 0)) == NULL)
		return NULL;
	if (check_target(p, n) == -1)
		return NULL;
	return n;
}

static int
expect_block_end(struct parser *p)
{
	return expect_type(p, TK_BLOCK_END, "end of statement block") ? 0 : -1;
}

/*
 * Parse statements up to one of the end tags; the current token is then the
 * end tag's name.  Opens a block for error messages.
 */
static int
parse_stmts(struct parser *p, struct tnode *body, const char **end,
    const char *blockname)
{
	int	 rc;

	if (expect_block_end(p) == -1)
		return -1;
	if (p->p_nopen == PARSE_MAXDEPTH) {
		fail_at(p, cur(p), "template nested too deeply");
		return -1;
	}
	p->p_open[p->p_nopen++] = blockname;
	rc = parse_body(p, body, end);
	p->p_nopen--;
	return rc;
}

static struct tnode *
body_new(struct parser *p)
{
	return node_new(p, N_BODY, cur(p));
}

/* A block's statements up to its one end tag, which is consumed, as n's kids */
static int
parse_block(struct parser *p, struct tnode *n, const char **end,
    const char *blockname)
{
	struct tnode	*body;

	if ((body = body_new(p)) == NULL ||
	    parse_stmts(p, body, end, blockname) == -1)
		return -1;
	next(p);
	n->n_kids = body->n_kids;
	n->n_nkids = body->n_nkids;
	return 0;
}

/* for target in iter [if cond] [recursive] ... [else] ... endfor */
static struct tnode *
parse_for(struct parser *p, struct token *tk)
{
	static const char	*end1[] = { "endfor", "else", NULL };
	static const char	*end2[] = { "endfor", NULL };
	struct tnode		*n, *body, *ebody;

	if ((n = node_new(p, N_FOR, tk)) == NULL ||
	    (n->n_target = parse_assign_target(p, "in", 0)) == NULL ||
	    expect_name(p, "in") == NULL ||
	    (n->n_a = parse_tuple(p, 0, 0, "recursive", 0)) == NULL)
		return NULL;
	/* the loop filter: `for x in xs if x.visible` */
	if (skip_name(p, "if") && (n->n_b = parse_expression(p, 1)) == NULL)
		return NULL;
	if (skip_name(p, "recursive"))
		n->n_flags |= NF_RECURSIVE;
	/* a loop body is not a conditional frame for unknown filters */
	if ((body = body_new(p)) == NULL ||
	    parse_stmts(p, body, end1, "for") == -1)
		return NULL;
	n->n_kids = body->n_kids;
	n->n_nkids = body->n_nkids;
	if (is_name(next(p), "else")) {
		if ((ebody = body_new(p)) == NULL ||
		    parse_stmts(p, ebody, end2, "for") == -1)
			return NULL;
		next(p);
		n->n_kids2 = ebody->n_kids;
		n->n_nkids2 = ebody->n_nkids;
	}
	return n;
}

/* if/elif/else: each elif becomes a nested if in the else branch. */
static struct tnode *
parse_if(struct parser *p, struct token *tk)
{
	static const char	*end1[] = { "elif", "else", "endif", NULL };
	static const char	*end2[] = { "endif", NULL };
	struct tnode		*top, *n, *body, *elif;
	struct token		*t;

	if ((top = n = node_new(p, N_IF, tk)) == NULL ||
	    (n->n_a = parse_tuple(p, 0, 0, NULL, 0)) == NULL ||
	    (body = body_new(p)) == NULL ||
	    parse_stmts(p, body, end1, "if") == -1)
		return NULL;
	n->n_kids = body->n_kids;
	n->n_nkids = body->n_nkids;
	for (;;) {
		t = next(p);
		if (is_name(t, "elif")) {
			if ((elif = node_new(p, N_IF, t)) == NULL ||
			    (elif->n_a = parse_tuple(p, 0, 0, NULL, 0)) == NULL ||
			    (body = body_new(p)) == NULL ||
			    parse_stmts(p, body, end1, "if") == -1)
				return NULL;
			elif->n_kids = body->n_kids;
			elif->n_nkids = body->n_nkids;
			if (kids_add(p, &n->n_kids2, &n->n_nkids2, elif) == -1)
				return NULL;
			n = elif;
			continue;
		}
		if (is_name(t, "else")) {
			if ((body = body_new(p)) == NULL ||
			    parse_stmts(p, body, end2, "if") == -1)
				return NULL;
			next(p);
			n->n_kids2 = body->n_kids;
			n->n_nkids2 = body->n_nkids;
		}
		break;
	}
	return top;
}

/* set x = expr, or the block form set x [| filters] ... endset. */
static struct tnode *
parse_set(struct parser *p, struct token *tk)
{
	static const char	*end[] = { "endset", NULL };
	struct tnode		*n, *target;

	if ((target = parse_assign_target(p, NULL, 1)) == NULL)
		return NULL;
	if (is_op(cur(p), OP_ASSIGN)) {
		next(p);
		if ((n = node_new(p, N_SET, tk)) == NULL ||
		    (n->n_a = parse_tuple(p, 0, 1, NULL, 0)) == NULL)
			return NULL;
		n->n_target = target;
		return n;
	}
	if ((n = node_new(p, N_SETBLOCK, tk)) == NULL)
		return NULL;
	n->n_target = target;
	/* set x | upper %}...{% endset: filters over the captured text */
	if (is_op(cur(p), OP_PIPE) &&
	    (n->n_b = parse_filter(p, NULL, 0)) == NULL)
		return NULL;
	if (parse_block(p, n, end, "set") == -1)
		return NULL;
	return n;
}

/*
 * {% autoescape expr %} ... {% endautoescape %}: a scope of its own, as
 * Jinja2 wraps it in a Scope node
 */
static struct tnode *
parse_autoescape(struct parser *p, struct token *tk)
{
	static const char	*end[] = { "endautoescape", NULL };
	struct tnode		*n;

	if ((n = node_new(p, N_AUTOESCAPE, tk)) == NULL ||
	    (n->n_a = parse_expression(p, 1)) == NULL ||
	    parse_block(p, n, end, "autoescape") == -1)
		return NULL;
	return n;
}

static struct tnode *
parse_filterblock(struct parser *p, struct token *tk)
{
	static const char	*end[] = { "endfilter", NULL };
	struct tnode		*n;

	if ((n = node_new(p, N_FILTERBLOCK, tk)) == NULL ||
	    (n->n_b = parse_filter(p, NULL, 1)) == NULL ||
	    parse_block(p, n, end, "filter") == -1)
		return NULL;
	return n;
}

/* with a = 1, b = 2 ... endwith: a scope of its own. */
static struct tnode *
parse_with(struct parser *p, struct token *tk)
{
	static const char	*end[] = { "endwith", NULL };
	struct tnode		*n, *set;

	if ((n = node_new(p, N_WITH, tk)) == NULL)
		return NULL;
	while (cur(p)->tk_type != TK_BLOCK_END) {
		if (n->n_nkids2 && expect_op(p, OP_COMMA, ",") == NULL)
			return NULL;
		if ((set = node_new(p, N_SET, cur(p))) == NULL ||
		    (set->n_target = parse_assign_target(p, NULL, 0)) == NULL ||
		    expect_op(p, OP_ASSIGN, "=") == NULL ||
		    (set->n_a = parse_expression(p, 1)) == NULL ||
		    kids_add(p, &n->n_kids2, &n->n_nkids2, set) == -1)
			return NULL;
	}
	if (parse_block(p, n, end, "with") == -1)
		return NULL;
	return n;
}

/* macro name(params with defaults) ... endmacro */
static struct tnode *
parse_macro(struct parser *p, struct token *tk)
{
	static const char	*end[] = { "endmacro", NULL };
	struct tnode		*n;
	struct token		*name;

	if ((n = node_new(p, N_MACRO, tk)) == NULL ||
	    (name = expect_type(p, TK_NAME, "name")) == NULL ||
	    node_setname(p, n, name->tk_str, name->tk_len) == -1 ||
	    parse_signature(p, n) == -1)
		return NULL;
	if (parse_block(p, n, end, "macro") == -1)
		return NULL;
	return n;
}

/* (a, b=default, ...): parameters of a macro or of a call block's caller. */
static int
parse_signature(struct parser *p, struct tnode *n)
{
	struct tnode	*param;
	struct token	*pt;

	if (expect_op(p, OP_LPAREN, "(") == NULL)
		return -1;
	while (!is_op(cur(p), OP_RPAREN)) {
		if (n->n_nkids2 && expect_op(p, OP_COMMA, ",") == NULL)
			return -1;
		if (is_op(cur(p), OP_RPAREN))
			break;
		if ((pt = expect_type(p, TK_NAME, "name")) == NULL ||
		    (param = node_new(p, N_NAME, pt)) == NULL ||
		    node_setname(p, param, pt->tk_str, pt->tk_len) == -1)
			return -1;
		if (is_op(cur(p), OP_ASSIGN)) {
			next(p);
			if ((param->n_a = parse_expression(p, 1)) == NULL)
				return -1;
		} else if (n->n_nkids2 && n->n_kids2[n->n_nkids2 - 1]->n_a) {
			fail_at(p, pt, "non-default argument follows default "
			    "argument");
			return -1;
		}
		if (kids_add(p, &n->n_kids2, &n->n_nkids2, param) == -1)
			return -1;
	}
	next(p);
	return 0;
}

/* call macro(args) ... endcall: the body is passed as caller(). */
static struct tnode *
parse_callblock(struct parser *p, struct token *tk)
{
	static const char	*end[] = { "endcall", NULL };
	struct tnode		*n;

	if ((n = node_new(p, N_CALLBLOCK, tk)) == NULL)
		return NULL;
	/* {% call(args) m() %}: what caller(...) passes to the body */
	if (is_op(cur(p), OP_LPAREN) && parse_signature(p, n) == -1)
		return NULL;
	if ((n->n_a = parse_expression(p, 1)) == NULL)
		return NULL;
	if (n->n_a->n_kind != N_CALL)
		return fail_at(p, tk, "expected call");
	if (parse_block(p, n, end, "call") == -1)
		return NULL;
	return n;
}

/*
 * A {% tag %}; unknown tags name what the enclosing block was waiting for.
 */
static struct tnode *
parse_statement(struct parser *p, const char **end)
{
	struct token	*tk = cur(p);
	struct tnode	*n;
	char		 tmp[64];
	struct buf	 b;
	int		 i;

	if (tk->tk_type != TK_NAME)
		return fail_at(p, tk, "tag name expected");
	if (depth_enter(p) == -1)
		return NULL;
	next(p);
	if (strcmp(tk->tk_str, "for") == 0)
		n = parse_for(p, tk);
	else if (strcmp(tk->tk_str, "if") == 0)
		n = parse_if(p, tk);
	else if (strcmp(tk->tk_str, "set") == 0)
		n = parse_set(p, tk);
	else if (strcmp(tk->tk_str, "filter") == 0)
		n = parse_filterblock(p, tk);
	else if (strcmp(tk->tk_str, "with") == 0)
		n = parse_with(p, tk);
	else if (strcmp(tk->tk_str, "macro") == 0)
		n = parse_macro(p, tk);
	else if (strcmp(tk->tk_str, "call") == 0)
		n = parse_callblock(p, tk);
	else if (strcmp(tk->tk_str, "autoescape") == 0)
		n = parse_autoescape(p, tk);
	else {
		memset(&b, 0, sizeof(b));
		buf_printf(&b, "Encountered unknown tag '%s'.",
		    tok_describe(tk, tmp, sizeof(tmp)));
		if (end != NULL && end[0] != NULL) {
			buf_adds(&b, " Jinja was looking for the following "
			    "tags: ");
			for (i = 0; end[i] != NULL; i++)
				buf_printf(&b, "%s'%s'", i ? " or " : "",
				    end[i]);
			buf_adds(&b, ".");
			if (p->p_nopen > 0)
				buf_printf(&b, " The innermost block that needs "
				    "to be closed is '%s'.",
				    p->p_open[p->p_nopen - 1]);
		}
		fail_at(p, tk, "%s", b.b_p ? b.b_p : "unknown tag");
		buf_free(&b);
		return NULL;
	}
	p->p_depth--;
	return n;
}

static int
is_end(const struct token *tk, const char **end)
{
	int	 i;

	if (end == NULL || tk->tk_type != TK_NAME)
		return 0;
	for (i = 0; end[i] != NULL; i++)
		if (strcmp(tk->tk_str, end[i]) == 0)
			return 1;
	return 0;
}

/* Statements until one of the end tags (or the end of the template). */
static int
parse_body(struct parser *p, struct tnode *body, const char **end)
{
	struct token	*tk, *st;
	struct tnode	*n;

	for (;;) {
		tk = cur(p);
		switch (tk->tk_type) {
		case TK_EOF:
			if (end != NULL) {
				fail_eof(p, end);
				return -1;
			}
			return 0;
		case TK_DATA:
			next(p);
			if ((n = node_new(p, N_DATA, tk)) == NULL)
				return -1;
			n->n_str = tk->tk_str;
			n->n_len = tk->tk_len;
			break;
		case TK_VAR_BEGIN:
			next(p);
			if ((n = node_new(p, N_OUTPUT, tk)) == NULL ||
			    (n->n_a = parse_tuple(p, 0, 1, NULL, 0)) == NULL ||
			    (st = expect_type(p, TK_VAR_END,
			    "end of print statement")) == NULL)
				return -1;
			n->n_soff = tk->tk_off;
			n->n_send = st->tk_end;
			/*
			 * source span of the tag, for host-rule messages and
			 * debug output
			 */
			/* the tag's text without the whitespace '-}}' ate */
			while (n->n_send > n->n_soff &&
			    p->p_t->t_src[n->n_send - 1] != '}')
				n->n_send--;
			break;
		case TK_BLOCK_BEGIN:
			next(p);
			if (is_end(cur(p), end))
				return 0;
			if ((n = parse_statement(p, end)) == NULL ||
			    expect_block_end(p) == -1)
				return -1;
			break;
		default:
			fail_unexpected(p, tk);
			return -1;
		}
		if (kids_add(p, &body->n_kids, &body->n_nkids, n) == -1)
			return -1;
	}
}

int
parser_run(struct tmpl *t, struct tmpl_error *err)
{
	struct parser	 p;

	memset(&p, 0, sizeof(p));
	p.p_t = t;
	p.p_err = err;
	p.p_toks = t->t_toks;
	if ((t->t_root = node_new(&p, N_BODY, &t->t_toks[0])) == NULL)
		return -1;
	if (parse_body(&p, t->t_root, NULL) == -1 || p.p_failed)
		return -1;
	return 0;
}
