/*
 * tmpl_int.h — the template engine's internals, shared by its files only.
 *
 * A template is lexed into a token array, parsed into an AST held in an
 * arena (freed at once by tmpl_free), analysed once for usage and secret
 * taint, and rendered by a tree walker over reference-counted values.
 */
#ifndef WIDGETD_TMPL_INT_H
#define WIDGETD_TMPL_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <string.h>
#include <time.h>

#include "template.h"

/* --- Arena: every compile-time allocation, freed in one go --------------- */

struct arena_blk;
struct arena {
	struct arena_blk	*a_head;
};
void	*arena_alloc(struct arena *, size_t);
char	*arena_strndup(struct arena *, const char *, size_t);
void	 arena_free(struct arena *);

/*
 * The per-thread caches of blocks (value.c's slabs and arena block,
 * eval.c's output buffer) are off under AddressSanitizer, so that every
 * use after free is still seen.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_DISABLED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_DISABLED	1
#endif
#endif

/* --- Growable byte buffer ------------------------------------------------ */

struct buf {
	char	*b_p;
	size_t	 b_len;
	size_t	 b_cap;
	size_t	 b_max;		/* 0: unbounded; else adds past it fail */
	int	 b_over;	/* an add failed for b_max */
};
int	 buf_grow(struct buf *, size_t);
int	 buf_add_slow(struct buf *, const void *, size_t);
int	 buf_addc_slow(struct buf *, int);

/*
 * Appends are the renderer's innermost operation: when the bytes fit in
 * the capacity and under b_max, they are copied here without a call; else
 * the out-of-line version grows the buffer (or fails) as buf_grow says.
 */
static inline int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->b_cap - b->b_len > n &&
	    (b->b_max == 0 || b->b_len + n <= b->b_max)) {
		if (n)
			memcpy(b->b_p + b->b_len, p, n);
		b->b_len += n;
		b->b_p[b->b_len] = '\0';
		return 0;
	}
	return buf_add_slow(b, p, n);
}

static inline int
buf_addc(struct buf *b, int c)
{
	if (b->b_cap - b->b_len > 1 &&
	    (b->b_max == 0 || b->b_len < b->b_max)) {
		b->b_p[b->b_len++] = (char)c;
		b->b_p[b->b_len] = '\0';
		return 0;
	}
	return buf_addc_slow(b, c);
}

static inline int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}
int	 buf_add_int(struct buf *, int64_t);

/* "00" to "99" (util.c): two digits a division */
extern const char	 digit_pairs[201];

/* u's digits, written backwards to end; where they start. */
static inline char *
fmt_uint_back(char *end, uint64_t u)
{
	while (u >= 100) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * u, 2);
	} else
		*--end = (char)('0' + u);
	return end;
}

/* v in decimal, written backwards to end (FMT_INT_MAX bytes at most). */
#define FMT_INT_MAX	20
static inline char *
fmt_int_back(char *end, int64_t v)
{
	char	*p;

	p = fmt_uint_back(end, v < 0 ? (uint64_t)0 - (uint64_t)v :
	    (uint64_t)v);
	if (v < 0)
		*--p = '-';
	return p;
}
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_free(struct buf *);

/* --- Tokens -------------------------------------------------------------- */

enum tok_type {
	TK_EOF,
	TK_DATA,
	TK_VAR_BEGIN,
	TK_VAR_END,
	TK_BLOCK_BEGIN,
	TK_BLOCK_END,
	TK_NAME,
	TK_STRING,
	TK_INT,
	TK_FLOAT,
	TK_OP
};

enum tok_op {
	OP_NONE,
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_TILDE,
	OP_LBRACKET, OP_RBRACKET, OP_LPAREN, OP_RPAREN, OP_LBRACE, OP_RBRACE,
	OP_EQ, OP_NE, OP_GT, OP_GTEQ, OP_LT, OP_LTEQ, OP_ASSIGN,
	OP_DOT, OP_COLON, OP_PIPE, OP_COMMA, OP_SEMICOLON,
	/* not tokens: comparison operators the parser makes from names */
	OP_IN, OP_NOTIN
};

struct token {
	enum tok_type	 tk_type;
	enum tok_op	 tk_op;
	int		 tk_line;
	int		 tk_col;
	size_t		 tk_off;	/* offset in the normalised source */
	size_t		 tk_end;
	const char	*tk_str;	/* NAME, STRING (decoded), DATA */
	size_t		 tk_len;
	int64_t		 tk_int;
	double		 tk_float;
};

/* --- AST ----------------------------------------------------------------- */

enum node_kind {
	/* statements */
	N_BODY,		/* kids: statements */
	N_DATA,		/* str/len: literal text */
	N_OUTPUT,	/* a: expression */
	N_IF,		/* a: test, kids: body, kids2: else body */
	N_FOR,		/* target, a: iterable, b: filter, kids, kids2: else */
	N_SET,		/* target, a: value */
	N_SETBLOCK,	/* target, kids: body, b: filter chain or NULL */
	N_FILTERBLOCK,	/* b: filter chain, kids: body */
	N_WITH,		/* kids2: N_SET assignments, kids: body */
	N_MACRO,	/* name, kids2: params (N_NAME, a: default), kids: body */
	N_CALLBLOCK,	/* a: call expression, kids: caller body */
	N_AUTOESCAPE,	/* a: on or off, kids: body */
	/* expressions */
	N_CONST,	/* val */
	N_NAME,		/* name */
	N_LIST,		/* kids */
	N_TUPLE,	/* kids */
	N_DICT,		/* kids: N_PAIR (a: key, b: value) */
	N_PAIR,
	N_GETATTR,	/* a: object, name */
	N_GETITEM,	/* a: object, b: key */
	N_SLICE,	/* a: start, b: stop, c: step (each may be NULL) */
	N_CALL,		/* a: callee, kids: args (N_KWARG for name=value) */
	N_KWARG,	/* name, a: value */
	N_STARARGS,	/* a: *iterable in a call's arguments */
	N_KWSTARARGS,	/* a: **mapping in a call's arguments */
	N_FILTER,	/* a: input (NULL in a filter block), name, fid, kids */
	N_TEST,		/* a: operand, name, fid, kids, op: negated */
	N_BINOP,	/* op, a, b */
	N_NEG,		/* a */
	N_POS,		/* a */
	N_NOT,		/* a */
	N_AND,		/* a, b */
	N_OR,		/* a, b */
	N_COMPARE,	/* a: first operand, kids: N_OPERAND (op, a) */
	N_OPERAND,
	N_CONDEXPR,	/* a: test, b: true value, c: false value or NULL */
	N_NSREF		/* set target ns.attr: a: N_NAME, name */
};

struct eval;
struct apath;

struct tnode {
	enum node_kind	  n_kind;
	int		  n_op;
	int		  n_line;
	int		  n_col;
	struct tnode	 *n_a;
	struct tnode	 *n_b;
	struct tnode	 *n_c;
	struct tnode	 *n_target;
	struct tnode	**n_kids;
	size_t		  n_nkids;
	struct tnode	**n_kids2;
	size_t		  n_nkids2;
	const char	 *n_name;	/* NUL-terminated: n_key's bytes */
	size_t		  n_namelen;
	uint64_t	  n_hash;	/* of n_name, for dict lookups */
	struct tval	 *n_key;	/* n_name interned (tmpl_intern) */
	/*
	 * Chosen when the template is compiled (compile.c): how an
	 * expression is evaluated, how a statement is executed.  n_slot is
	 * the one thing a render writes: where in a dict n_key was found
	 * last, a cache (one render of a template at a time).
	 */
	struct tval	*(*n_ev)(struct eval *, const struct tnode *);
	int		 (*n_ex)(struct eval *, const struct tnode *);
	uint32_t	  n_slot;
	int		  n_fid;	/* filter / test / builtin id */
	int		  n_meth[5];	/* N_GETATTR: method id for str, dict,
					   list, tuple; loop attribute id */
	int		  n_flags;
	struct tval	 *n_val;	/* N_CONST (immortal) */
	const char	 *n_str;	/* N_DATA */
	size_t		  n_len;
	size_t		  n_soff;	/* source span of an N_OUTPUT tag */
	size_t		  n_send;
	/*
	 * N_FILTER taking an attribute path given as a constant
	 * (map(attribute='name.common')): the path split once, by
	 * compile.c, for every call (its slots are written like n_slot).
	 */
	struct apath	 *n_apath;
};

#define NF_RECURSIVE	0x01	/* N_FOR ... recursive */
#define NF_TAINTED	0x02	/* expression holds a symbolic secret */
#define NF_VARARGS	0x04	/* N_MACRO body uses varargs */
#define NF_KWARGS	0x08	/* N_MACRO body uses kwargs */
#define NF_CALLER	0x10	/* N_MACRO body uses caller */
#define NF_NOLOOP	0x20	/* N_FOR body never names loop: none bound */

struct tmpl {
	struct arena	 t_arena;
	char		*t_src;		/* normalised source, NUL-terminated */
	size_t		 t_len;
	struct token	*t_toks;
	size_t		 t_ntoks;
	struct tnode	*t_root;
	struct tmpl_usage t_usage;
	int		 t_literal;
	/* "response" names, and those read as .body or .status_code */
	size_t		 t_resp_names, t_resp_narrow;
	struct tval	**t_consts;	/* immortal constants, freed with us */
	size_t		 t_nconsts;
	size_t		 t_cconsts;
	/* usage list storage */
	size_t		 t_csecrets, t_cvariables, t_cpathparams;
	/* get_secret() calls inside a jwt_encode() key, during analysis */
	struct tnode	**t_keycalls;
	size_t		 t_nkeycalls, t_ckeycalls;
	/*
	 * Every name the template spells (variables, attributes, the parts
	 * of attribute paths in string arguments), once: str values with
	 * their hash cached.  from_json gives a JSON key that is one of
	 * them this very value, so a lookup of it compares one pointer.
	 */
	struct tval	**t_names;	/* open addressing, t_cnames slots */
	size_t		 t_nnames;
	size_t		 t_cnames;
	/* the last render's output length: the next one reserves it */
	size_t		 t_outhint;
	/* names the renderer binds itself, interned like the template's */
	struct tval	*t_kloop, *t_kcaller, *t_kvarargs, *t_kkwargs;
	/* no mutating method is named: from_json may use an arena */
	int		 t_arena_ok;
	/*
	 * No name but get_secret (analyze.c): every render with the same
	 * limits gives the same output, kept from the first (eval.c), unless
	 * the globals bind get_secret (t_const_name is one of its names).
	 */
	int		 t_const;
	const struct tnode *t_const_name;
	struct tmpl_output *t_memo;
	uint64_t	 t_memo_steps;
	size_t		 t_memo_out;
	int		 t_memo_depth;
};

/* The template's interned names (template.c). */
struct tval	*tmpl_intern(struct tmpl *, const char *, size_t);
struct tval	*tmpl_name_find(const struct tmpl *, const char *, size_t,
		    uint64_t hash);
int	 lexer_run(struct tmpl *, struct tmpl_error *);
int	 parser_run(struct tmpl *, struct tmpl_error *);
int	 analyze_run(struct tmpl *, struct tmpl_error *);
int	 compile_run(struct tmpl *, struct tmpl_error *);
void	 tmpl_seterr(struct tmpl_error *, int, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
uint64_t tmpl_hash(const char *, size_t);

/* --- Built-ins ---------------------------------------------------------- */

/*
 * Every filter, test, global function and method the engine knows, in one
 * table (builtins.c): its name, its handler, how many arguments it takes
 * besides its input (BA_ANY: the handler binds them itself) and flags.
 * The evaluator dispatches through it and the load-time analysis reads
 * the secret flags from it; there is no other list.
 *
 *	X(ID, "name", handler, nargs, flags)	filters, tests, functions
 *	X(ID, receiver type, "name")		methods (one handler)
 */
#define BA_ANY		0xff
#define BF_SECRET_IN	0x01	/* a filter that may take a symbolic secret */
#define BF_SECRET_OUT	0x02	/* a function whose result is a secret */
#define BF_SECRET_KEY	0x04	/* a function whose key= may be a secret */

#define FILTER_LIST(X)							\
	X(ABS, "abs", filter_abs, 0, 0)					\
	X(ATTR, "attr", filter_attr, 1, 0)				\
	X(B64DEC, "base64_decode", filter_b64decode, 0, 0)		\
	X(B64ENC, "base64_encode", filter_b64encode, 0, BF_SECRET_IN)	\
	X(BATCH, "batch", filter_batch, 2, 0)				\
	X(CAPITALIZE, "capitalize", filter_capitalize, 0, 0)		\
	X(CENTER, "center", filter_center, 1, 0)			\
	X(COUNT, "count", filter_length, 0, 0)				\
	X(D, "d", filter_default, 2, 0)					\
	X(DEFAULT, "default", filter_default, 2, 0)			\
	X(DICTSORT, "dictsort", filter_dictsort, 3, 0)			\
	X(FILESIZEFORMAT, "filesizeformat", filter_filesizeformat, 1, 0) \
	X(E, "e", filter_escape, 0, 0)					\
	X(ESCAPE, "escape", filter_escape, 0, 0)			\
	X(FIRST, "first", filter_first, 0, 0)				\
	X(FLOAT, "float", filter_float, 1, 0)				\
	X(FORCEESCAPE, "forceescape", filter_forceescape, 0, 0)		\
	X(FORMAT, "format", filter_format, BA_ANY, 0)			\
	X(FROM_JSON, "from_json", filter_from_json, 0, 0)		\
	X(GROUPBY, "groupby", filter_groupby, 3, 0)			\
	X(INDENT, "indent", filter_indent, 3, 0)			\
	X(INT, "int", filter_int, 2, 0)					\
	X(ITEMS, "items", filter_items, 0, 0)				\
	X(JOIN, "join", filter_join, 2, 0)				\
	X(JSON_ENCODE, "json_encode", filter_json_encode, 1, 0)		\
	X(LAST, "last", filter_last, 0, 0)				\
	X(LENGTH, "length", filter_length, 0, 0)			\
	X(LIST, "list", filter_list, 0, 0)				\
	X(LOWER, "lower", filter_lower, 0, 0)				\
	X(MAP, "map", filter_map, BA_ANY, 0)				\
	X(MAX, "max", filter_max, 2, 0)					\
	X(MIN, "min", filter_min, 2, 0)					\
	X(PPRINT, "pprint", filter_pprint, 0, 0)			\
	X(REJECT, "reject", filter_reject, BA_ANY, 0)			\
	X(REJECTATTR, "rejectattr", filter_rejectattr, BA_ANY, 0)	\
	X(REPLACE, "replace", filter_replace, 3, 0)			\
	X(REVERSE, "reverse", filter_reverse, 0, 0)			\
	X(ROUND, "round", filter_round, 2, 0)				\
	X(SAFE, "safe", filter_safe, 0, 0)				\
	X(SELECT, "select", filter_select, BA_ANY, 0)			\
	X(SELECTATTR, "selectattr", filter_selectattr, BA_ANY, 0)	\
	X(SLICE, "slice", filter_slice, 2, 0)				\
	X(SORT, "sort", filter_sort, 3, 0)				\
	X(STRING, "string", filter_string, 0, 0)			\
	X(STRIPTAGS, "striptags", filter_striptags, 0, 0)		\
	X(SUM, "sum", filter_sum, 2, 0)					\
	X(TITLE, "title", filter_title, 0, 0)				\
	X(TOJSON, "tojson", filter_tojson, 1, 0)			\
	X(TRIM, "trim", filter_trim, 1, 0)				\
	X(TRUNCATE, "truncate", filter_truncate, 4, 0)			\
	X(UNIQUE, "unique", filter_unique, 2, 0)			\
	X(UPPER, "upper", filter_upper, 0, 0)				\
	X(URLENCODE, "urlencode", filter_urlencode, 0, BF_SECRET_IN)	\
	X(URLIZE, "urlize", filter_urlize, 5, 0)			\
	X(WORDCOUNT, "wordcount", filter_wordcount, 0, 0)		\
	X(WORDWRAP, "wordwrap", filter_wordwrap, 4, 0)			\
	X(XMLATTR, "xmlattr", filter_xmlattr, 1, 0)

#define TEST_LIST(X)							\
	X(BOOLEAN, "boolean", test_boolean, 0, 0)			\
	X(CALLABLE, "callable", test_callable, 0, 0)			\
	X(DEFINED, "defined", test_defined, 0, BF_SECRET_IN)		\
	X(DIVISIBLEBY, "divisibleby", test_divisibleby, 1, 0)		\
	X(EQ, "eq", test_eq, 1, 0)					\
	X(EQUALTO, "equalto", test_eq, 1, 0)				\
	X(ESCAPED, "escaped", test_escaped, 0, 0)			\
	X(EVEN, "even", test_even, 0, 0)				\
	X(FALSE, "false", test_false, 0, 0)				\
	X(FILTER, "filter", test_filter, 0, 0)				\
	X(FLOAT, "float", test_float, 0, 0)				\
	X(GE, "ge", test_ge, 1, 0)					\
	X(GT, "gt", test_gt, 1, 0)					\
	X(GREATERTHAN, "greaterthan", test_gt, 1, 0)			\
	X(IN, "in", test_in, 1, 0)					\
	X(INTEGER, "integer", test_integer, 0, 0)			\
	X(ITERABLE, "iterable", test_iterable, 0, 0)			\
	X(LE, "le", test_le, 1, 0)					\
	X(LESSTHAN, "lessthan", test_lt, 1, 0)				\
	X(LOWER, "lower", test_lower, 0, 0)				\
	X(LT, "lt", test_lt, 1, 0)					\
	X(MAPPING, "mapping", test_mapping, 0, 0)			\
	X(NE, "ne", test_ne, 1, 0)					\
	X(NONE, "none", test_none, 0, 0)				\
	X(NUMBER, "number", test_number, 0, 0)				\
	X(ODD, "odd", test_odd, 0, 0)					\
	X(SAMEAS, "sameas", test_sameas, 1, 0)				\
	X(SEQUENCE, "sequence", test_sequence, 0, 0)			\
	X(STRING, "string", test_string, 0, 0)				\
	X(TEST, "test", test_test, 0, 0)				\
	X(TRUE, "true", test_true, 0, 0)				\
	X(UNDEFINED, "undefined", test_undefined, 0, BF_SECRET_IN)	\
	X(UPPER, "upper", test_upper, 0, 0)				\
	X(EQSYM, "==", test_eq, 1, 0)					\
	X(NESYM, "!=", test_ne, 1, 0)					\
	X(GTSYM, ">", test_gt, 1, 0)					\
	X(GESYM, ">=", test_ge, 1, 0)					\
	X(LTSYM, "<", test_lt, 1, 0)					\
	X(LESYM, "<=", test_le, 1, 0)

#define FUNCTION_LIST(X)						\
	X(RANGE, "range", fn_range, BA_ANY, 0)				\
	X(DICT, "dict", fn_dict, BA_ANY, 0)				\
	X(NAMESPACE, "namespace", fn_namespace, BA_ANY, 0)		\
	X(LIPSUM, "lipsum", fn_unsupported, BA_ANY, 0)			\
	X(CYCLER, "cycler", fn_cycler, BA_ANY, 0)			\
	X(JOINER, "joiner", fn_joiner, 1, 0)				\
	X(GET_SECRET, "get_secret", fn_get_secret, 1, BF_SECRET_OUT)	\
	X(GET_VARIABLE, "get_variable", fn_get_variable, 1, 0)		\
	X(JWT_ENCODE, "jwt_encode", fn_jwt_encode, 4, BF_SECRET_KEY)	\
	X(NOW, "now", fn_now, 1, 0)

#define METHOD_LIST(X)							\
	X(S_LOWER, TV_STR, "lower") X(S_UPPER, TV_STR, "upper")		\
	X(S_STRIP, TV_STR, "strip") X(S_LSTRIP, TV_STR, "lstrip")	\
	X(S_RSTRIP, TV_STR, "rstrip") X(S_SPLIT, TV_STR, "split")	\
	X(S_RSPLIT, TV_STR, "rsplit")					\
	X(S_STARTSWITH, TV_STR, "startswith")				\
	X(S_ENDSWITH, TV_STR, "endswith")				\
	X(S_REPLACE, TV_STR, "replace") X(S_TITLE, TV_STR, "title")	\
	X(S_CAPITALIZE, TV_STR, "capitalize") X(S_FIND, TV_STR, "find")	\
	X(S_RFIND, TV_STR, "rfind") X(S_COUNT, TV_STR, "count")		\
	X(S_JOIN, TV_STR, "join") X(S_FORMAT, TV_STR, "format")		\
	X(S_FORMAT_MAP, TV_STR, "format_map")				\
	X(S_SPLITLINES, TV_STR, "splitlines")				\
	X(S_ISDIGIT, TV_STR, "isdigit") X(S_ISALPHA, TV_STR, "isalpha")	\
	X(S_ISALNUM, TV_STR, "isalnum") X(S_ISSPACE, TV_STR, "isspace")	\
	X(S_ISLOWER, TV_STR, "islower") X(S_ISUPPER, TV_STR, "isupper")	\
	X(S_CASEFOLD, TV_STR, "casefold") X(S_ZFILL, TV_STR, "zfill")	\
	X(S_LJUST, TV_STR, "ljust") X(S_RJUST, TV_STR, "rjust")		\
	X(S_CENTER, TV_STR, "center") X(S_SWAPCASE, TV_STR, "swapcase")	\
	X(S_ISNUMERIC, TV_STR, "isnumeric")				\
	X(S_ISDECIMAL, TV_STR, "isdecimal")				\
	X(S_INDEX, TV_STR, "index") X(S_RINDEX, TV_STR, "rindex")	\
	X(S_PARTITION, TV_STR, "partition")				\
	X(S_RPARTITION, TV_STR, "rpartition")				\
	X(S_REMOVEPREFIX, TV_STR, "removeprefix")			\
	X(S_REMOVESUFFIX, TV_STR, "removesuffix")			\
	X(S_EXPANDTABS, TV_STR, "expandtabs")				\
	X(S_ISASCII, TV_STR, "isascii") X(S_ISTITLE, TV_STR, "istitle")	\
	X(D_ITEMS, TV_DICT, "items") X(D_KEYS, TV_DICT, "keys")		\
	X(D_VALUES, TV_DICT, "values") X(D_GET, TV_DICT, "get")		\
	X(D_UPDATE, TV_DICT, "update") X(D_POP, TV_DICT, "pop")		\
	X(D_SETDEFAULT, TV_DICT, "setdefault") X(D_COPY, TV_DICT, "copy") \
	X(D_CLEAR, TV_DICT, "clear") X(D_BY_ID, TV_DICT, "by_id")	\
	X(L_APPEND, TV_LIST, "append") X(L_EXTEND, TV_LIST, "extend")	\
	X(L_INSERT, TV_LIST, "insert") X(L_POP, TV_LIST, "pop")		\
	X(L_REMOVE, TV_LIST, "remove") X(L_INDEX, TV_LIST, "index")	\
	X(L_COUNT, TV_LIST, "count") X(L_REVERSE, TV_LIST, "reverse")	\
	X(L_SORT, TV_LIST, "sort") X(L_COPY, TV_LIST, "copy")		\
	X(L_CLEAR, TV_LIST, "clear")					\
	X(T_INDEX, TV_TUPLE, "index") X(T_COUNT, TV_TUPLE, "count")	\
	X(LP_CYCLE, TV_LOOP, "cycle") X(LP_CHANGED, TV_LOOP, "changed")	\
	X(C_NEXT, TV_CYCLER, "next") X(C_RESET, TV_CYCLER, "reset")

#define X_FLT(id, name, fn, nargs, flags)	FLT_##id,
#define X_TST(id, name, fn, nargs, flags)	TST_##id,
#define X_FN(id, name, fn, nargs, flags)	FN_##id,
#define X_M(id, type, name)			M_##id,
enum builtin_id {
	FILTER_LIST(X_FLT)
	TEST_LIST(X_TST)
	FUNCTION_LIST(X_FN)
	METHOD_LIST(X_M)
	BI__COUNT
};
#undef X_FLT
#undef X_TST
#undef X_FN
#undef X_M

enum builtin_kind { BK_FILTER, BK_TEST, BK_FUNCTION, BK_METHOD };

struct eval;
struct args;
struct tval;
typedef struct tval *(*filter_fn)(struct eval *, struct tval *in,
			    struct args *);
typedef int	(*test_fn)(struct eval *, struct tval *in, struct args *);
typedef struct tval *(*call_fn)(struct eval *, int id, struct tval *self,
			    struct args *);

struct builtin {
	const char	*bi_name;
	uint8_t		 bi_kind;	/* enum builtin_kind */
	uint8_t		 bi_recv;	/* methods: the receiver's tv_type */
	uint8_t		 bi_nargs;	/* most arguments besides the input */
	uint8_t		 bi_flags;	/* BF_* */
	filter_fn	 bi_filter;
	test_fn		 bi_test;
	call_fn		 bi_call;
};
extern const struct builtin builtins[BI__COUNT];

/* An id by kind and name (methods: by receiver type); -1 when unknown. */
int		 builtin_find(enum builtin_kind, const char *name);
int		 builtin_method(int type, const char *name);
const char	*builtin_name(int id);

/* The handlers, declared from the table itself. */
#define X_DECL_F(id, name, fn, nargs, flags)				\
	struct tval *fn(struct eval *, struct tval *, struct args *);
#define X_DECL_T(id, name, fn, nargs, flags)				\
	int fn(struct eval *, struct tval *, struct args *);
#define X_DECL_C(id, name, fn, nargs, flags)				\
	struct tval *fn(struct eval *, int, struct tval *, struct args *);
FILTER_LIST(X_DECL_F)
TEST_LIST(X_DECL_T)
FUNCTION_LIST(X_DECL_C)
struct tval	*method_call(struct eval *, int, struct tval *, struct args *);
#undef X_DECL_F
#undef X_DECL_T
#undef X_DECL_C

/* --- Values -------------------------------------------------------------- */

enum tv_type {
	TV_UNDEF,
	TV_NONE,
	TV_BOOL,
	TV_INT,
	TV_FLOAT,
	TV_STR,
	TV_BYTES,
	TV_LIST,
	TV_TUPLE,
	TV_DICT,
	TV_NS,		/* namespace(): a dict with attribute access */
	TV_FUNC,	/* builtin function or bound method */
	TV_MACRO,	/* a template macro */
	TV_SECRET,	/* symbolic secret: u.sec */
	TV_LOOP,	/* the loop variable */
	TV_CYCLER,	/* cycler(): u.cyc */
	TV_JOINER	/* joiner(): u.joi */
};

#define DICT_LINEAR	8	/* dicts this small are scanned, not indexed */

struct tdict_ent {
	struct tval	*de_key;
	struct tval	*de_val;
	uint64_t	 de_hash;
};

struct loopctx;
struct macro;

#define TVF_IMMORTAL	0x01	/* never freed by unref (template constants) */
#define TVF_ASCII_KNOWN	0x02
#define TVF_ASCII	0x04
#define TVF_OWNBUF	0x08	/* u.s.p was malloc'd separately */
#define TVF_GROUP	0x10	/* tuple with .grouper / .list (groupby) */
#define TVF_VITEMS	0x20	/* list rendered as dict_items([...]) */
#define TVF_VKEYS	0x40	/* ... dict_keys([...]) */
#define TVF_VVALUES	0x80	/* ... dict_values([...]) */
#define TVF_NSIN	0x100	/* container may hold a namespace */
#define TVF_MARKUP	0x200	/* str is a markupsafe Markup (escape, safe) */
#define TVF_INLINE	0x400	/* items/entries inside the value's block */
#define TVF_ARENA	0x800	/* in a render's value arena (with IMMORTAL) */
#define TVF_JPLAIN_KNOWN 0x1000	/* a str's bytes are known to need ... */
#define TVF_JPLAIN	0x2000	/* ... no escape in JSON, tojson's included */
#define TVF_JSHAPE	0x4000	/* from_json dict whose keys read raw (json_parse.c) */

struct tval {
	uint8_t		 tv_type;
	uint16_t	 tv_flags;
	uint8_t		 tv_slab;	/* size class of its memory (value.c) */
	int32_t		 tv_refs;
	union {
		int64_t	 i;
		double	 f;
		struct {
			char	*p;
			size_t	 len;
			uint64_t h;	/* cached hash, 0: not yet */
			size_t	 nch;	/* cached length in characters + 1 */
		} s;
		struct {
			struct tval	**v;
			size_t		  n;
			size_t		  cap;
			int64_t		 *rng;	/* range(): start, stop, step */
		} l;
		struct {
			struct tdict_ent *e;
			size_t		  n;
			size_t		  cap;
			uint32_t	 *idx;	/* open addressing, n > 8 */
			size_t		  idxcap;
		} d;
		struct {
			int		  fid;
			struct tval	 *self;	/* bound object or NULL */
			const char	 *name;
		} fn;
		struct {
			char	*msg;	/* why it is undefined (NULL: unnamed) */
			char	*text;	/* what it renders as (NULL: empty) */
			int	 ifline; /* msg NULL: an inline if's, this line */
		} un;
		struct tsecret	*sec;
		struct loopctx	*loop;
		struct macro	*mac;
		struct {
			struct tval	**v;	/* the items, as u.l has them */
			size_t		  n;
			size_t		  cap;
			size_t		  pos;	/* the current one */
		} cyc;
		struct {
			struct tval	*sep;
			int		 used;
		} joi;
	} u;
};

#define SLAB_NONE	0xff	/* tv_slab of a value not from the cache */
/* ints in this range are shared immortal values (value.c) */
#define SMALLINT_MIN	(-5)
#define SMALLINT_MAX	1024

/*
 * Counting is the hottest thing the renderer does: inside the engine
 * tval_ref/tval_unref are inline and only a count reaching zero calls
 * value.c (tval_free_zero).  Outside callers link to the functions, which
 * do the same.
 */
void		 tval_free_zero(struct tval *v);

static inline struct tval *
tval_ref_inline(struct tval *v)
{
	if (v != NULL && !(v->tv_flags & TVF_IMMORTAL))
		v->tv_refs++;
	return v;
}

static inline void
tval_unref_inline(struct tval *v)
{
	if (v != NULL && !(v->tv_flags & TVF_IMMORTAL) && --v->tv_refs == 0)
		tval_free_zero(v);
}
#define tval_ref(v)	tval_ref_inline(v)
#define tval_unref(v)	tval_unref_inline(v)

/* Appending with room to spare needs no call either (takes v). */
int		 tval_list_append_slow(struct tval *l, struct tval *v);

static inline int
tval_list_append_inline(struct tval *l, struct tval *v)
{
	if (v == NULL || l->u.l.n == l->u.l.cap)
		return tval_list_append_slow(l, v);
	l->u.l.v[l->u.l.n++] = v;
	if (v->tv_type == TV_NS || (v->tv_flags & TVF_NSIN))
		l->tv_flags |= TVF_NSIN;
	return 0;
}
#define tval_list_append(l, v)	tval_list_append_inline((l), (v))

/* Numbers in Python's sense: bool, int and float. */
static inline int
is_num(const struct tval *v)
{
	return v->tv_type == TV_INT || v->tv_type == TV_BOOL ||
	    v->tv_type == TV_FLOAT;
}

static inline int
is_intlike(const struct tval *v)
{
	return v->tv_type == TV_INT || v->tv_type == TV_BOOL;
}

static inline double
num_f(const struct tval *v)
{
	return v->tv_type == TV_FLOAT ? v->u.f : (double)v->u.i;
}

extern struct tval tval_undef_static;
extern struct tval tval_none_static;
extern struct tval tval_true_static;
extern struct tval tval_false_static;
/* the ints SMALLINT_MIN .. SMALLINT_MAX, shared (tval_int gives them) */
extern struct tval tval_smallints[];

struct tval	*tval_undef(const char *msg, const char *text);
struct tval	*tval_undef_if(int);
struct tval	*tval_undef_fmt(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
struct tval	*tval_str_take(char *, size_t);
struct tval	*tval_str_buf(struct buf *);
struct tval	*tval_tuple(void);
struct tval	*tval_func(int fid, struct tval *self, const char *name);
struct tval	*tval_secret(struct tsecret *);
int		 tval_dict_put(struct tval *d, struct tval *k, struct tval *v);
int		 tval_dict_reserve(struct tval *d, size_t n);
int		 tval_dict_fill(struct tval *d, struct tval **kv, size_t n);
int		 tval_list_reserve(struct tval *l, size_t n);
struct tval	*tval_container(int type, size_t n);
int		 tval_list_adopt(struct tval *l, struct tval **items, size_t n);
struct tval	*tval_dict_get(const struct tval *d, const struct tval *k);
struct tval	*tval_dict_gets(const struct tval *d, const char *k, size_t,
		    uint64_t hash);
struct tval	*dict_get_key_slow(const struct tval *d,
		    const struct tval *key, uint32_t *slot);

/*
 * d[key] for a key the template interned: the slot where it was found
 * last time (objects of one JSON array share a key order) holding this
 * very key answers without a call; else value.c looks further.
 * Borrowed, or NULL.
 */
static inline struct tval *
dict_get_key(const struct tval *d, const struct tval *key, uint32_t *slot)
{
	size_t	 i = *slot;

	if (i < d->u.d.n && d->u.d.e[i].de_key == key)
		return d->u.d.e[i].de_val;
	return dict_get_key_slow(d, key, slot);
}

int		 tval_hashable(const struct tval *);
uint64_t	 tval_hash(const struct tval *);
int		 tval_eq(const struct tval *, const struct tval *);
int		 tval_truth(const struct tval *);
const char	*tval_typename(const struct tval *);
size_t		 tval_nchars(const struct tval *);
int		 tval_is_ascii(const struct tval *);
/* str() and repr() into a buffer; return -1 on allocation failure or depth */
int		 tval_str_into(struct buf *, const struct tval *);
int		 tval_repr_into(struct buf *, const struct tval *, int depth);
void		 fmt_float_repr(struct buf *, double);
/* repr of a double with few decimals, backwards to end; else NULL */
#define FMT_FLOAT_FAST_MAX	24
char		*fmt_float_fast(char *end, double);
struct tval	*tval_immortal(struct tmpl *, struct tval *);
void		 tval_free_immortal(struct tval *);
/* a list, tuple, dict or namespace: what can hold another value */
static inline int
tval_is_container(const struct tval *v)
{
	return v->tv_type == TV_LIST || v->tv_type == TV_TUPLE ||
	    v->tv_type == TV_DICT || v->tv_type == TV_NS;
}
int		 tval_reaches(const struct tval *from, const struct tval *to,
		    int depth);

/*
 * A render's value arena (value.c): from_json builds a body's values here
 * by bumping a pointer, and the render frees them all at once when it
 * ends, instead of counting and releasing each one.  Arena values are
 * TVF_IMMORTAL | TVF_ARENA, so references to them are not counted; an
 * arena container points only to arena values, immortal ones and the
 * template's interned names (which outlive the render), and holds no
 * counted reference.  Nothing may store an arena value where it outlives
 * the render: a template that can mutate a container gets no arena
 * (compile.c, t_arena_ok), and the mutating methods refuse to run once a
 * render has used one (functions.c).  va_cap bounds the bytes; an
 * allocation past it fails and sets va_full.
 */
#define MUTATING_METHODS	{ "append", "extend", "insert", "pop",	\
	    "remove", "clear", "update", "setdefault" }
struct varena_blk;
struct varena {
	struct varena_blk	*va_head;
	char			*va_p;		/* the head block's free space */
	char			*va_end;
	size_t			 va_used;	/* bytes of all blocks */
	size_t			 va_cap;
	int			 va_full;
};
void		*varena_alloc_slow(struct varena *, size_t);
void		 varena_free(struct varena *);
/*
 * n bytes and a NUL into a new str's block: most strings of a JSON body
 * are short, and two overlapping words copy them without a call.
 */
static inline void
str_fill(char *p, const char *s, size_t n)
{
	uint64_t	 a, b;
	uint32_t	 c, d;

	if (n >= 8 && n <= 16) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(p, &a, 8);
		memcpy(p + n - 8, &b, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(&c, s, 4);
		memcpy(&d, s + n - 4, 4);
		memcpy(p, &c, 4);
		memcpy(p + n - 4, &d, 4);
	} else if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
}

/*
 * One to three bytes and a NUL (a separator, a quote, a small int):
 * the first, middle and last byte are all of them, and memcpy would be
 * a call.  Not part of str_fill, whose callers GCC then inlines less.
 */
static inline void
str_fill3(char *p, const char *s, size_t n)
{
	p[0] = s[0];
	p[n / 2] = s[n / 2];
	p[n - 1] = s[n - 1];
	p[n] = '\0';
}

/* n bytes and a NUL, without a call up to sixteen bytes */
static inline void
str_put(char *p, const char *s, size_t n)
{
	if (n > 0 && n < 4)
		str_fill3(p, s, n);
	else
		str_fill(p, s, n);
}

/* size bytes, 16-aligned: a bump of the pointer unless the block is full */
static inline void *
varena_alloc(struct varena *va, size_t size)
{
	void	*p;

	size = (size + 15) & ~(size_t)15;
	if ((size_t)(va->va_end - va->va_p) < size)
		return varena_alloc_slow(va, size);
	p = va->va_p;
	va->va_p += size;
	return p;
}

/* A value of the arena with extra bytes after it; the union zeroed. */
static inline struct tval *
varena_val(struct varena *va, int type, size_t extra)
{
	struct tval	*v;

	if ((v = varena_alloc(va, sizeof(*v) + extra)) == NULL)
		return NULL;
	v->tv_slab = SLAB_NONE;
	v->tv_type = (uint8_t)type;
	v->tv_flags = TVF_IMMORTAL | TVF_ARENA;
	v->tv_refs = 1;
	memset(&v->u, 0, sizeof(v->u));
	return v;
}


/* JSON (json.c).  va: the values go into this arena (NULL: counted). */
struct tval	*json_parse(const char *, size_t, const struct tmpl *,
		    struct varena *va, char *err, size_t errlen);
/* json.dumps: mode 0 json_encode (insertion order), 1 tojson (sorted,
 * html-safe), 2 compact (jwt: ',' ':'); indent < 0: none. */
int		 json_dump(struct buf *, const struct tval *, int mode,
		    int indent, char *err, size_t errlen);
/* A str that needs no escape, as json_dump writes it; -1: it does not fit
 * in b and under max (0: no bound), or needs one. */
int		 json_str_plain(struct buf *, const struct tval *, size_t max);

/* --- Evaluation (eval.c) and the builtins it calls ----------------------- */

struct eval;

#define ARGS_MAX	16
struct args {
	size_t		 a_npos;
	struct tval	*a_pos[ARGS_MAX];
	size_t		 a_nkw;
	const char	*a_kwname[ARGS_MAX];
	struct tval	*a_kwval[ARGS_MAX];
	struct tval	*a_keep;	/* **mapping: its keys name a_kwname */
};

/* Bind args to named parameters, Python-style: out[i] borrowed or NULL. */
int		 args_bind(struct eval *, const struct args *, const char *what,
		    const char *const *params, size_t nparams, size_t nrequired,
		    struct tval **out);
void		 args_clear(struct args *);

void		*eval_error(struct eval *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 eval_errorv(struct eval *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
struct tval	*eval_undefined_error(struct eval *, const struct tval *);
int		 eval_step(struct eval *, uint64_t);
int		 eval_depth_enter(struct eval *);
void		 eval_depth_leave(struct eval *);
size_t		 eval_maxout(struct eval *);
time_t		 eval_now(struct eval *);
const struct tmpl_env *eval_env(struct eval *);
const struct tmpl *eval_tmpl(struct eval *);
/* The arena for a JSON document of len bytes, or NULL: count its values. */
struct varena	*eval_arena(struct eval *, size_t len);
/* A method that stores into or takes from a container is about to run. */
int		 eval_mutating(struct eval *);
struct tval	*eval_getattr(struct eval *, struct tval *, const char *, size_t);
struct tval	*eval_getitem(struct eval *, struct tval *, struct tval *);
struct tval	*eval_call_value(struct eval *, struct tval *, struct args *);
/* Items of an iterable as new references in a malloc'd array. */
int		 eval_iterate(struct eval *, struct tval *, struct tval ***,
		    size_t *);
void		 items_free(struct tval **, size_t);
/*
 * The comparison operators, Python's rules, in one place: 1 true, 0
 * false, -1 with the error set (an unorderable pair is a TypeError, an
 * Undefined in an ordering raises its own message, NaN compares as IEEE
 * says).  op is OP_EQ, OP_NE, OP_LT, OP_LTEQ, OP_GT, OP_GTEQ, OP_IN or
 * OP_NOTIN.  tval_compare is the same without an error: -1 when the
 * pair is unorderable.
 */
int		 eval_compare(struct eval *, int op, const struct tval *,
		    const struct tval *);
int		 tval_compare(const struct tval *, const struct tval *, int op);
struct tval	*eval_str(struct eval *, const struct tval *);	/* str() */
int		 eval_str_into(struct eval *, struct buf *, const struct tval *);
struct tval	*eval_binop(struct eval *, int op, struct tval *, struct tval *);
int		 eval_contains(struct eval *, struct tval *seq, struct tval *v);
struct tval	*eval_oom(struct eval *);
int		 eval_failed(struct eval *);
int		 eval_autoescape(struct eval *);
/* The loop object's memory (loop.changed, loop.cycle) and lifetimes. */
void		 loopctx_free(struct loopctx *);
int		 loop_changed(struct loopctx *, struct tval *);
size_t		 loop_index(struct loopctx *);
void		 macro_free(struct macro *);
/* A macro's name as its repr shows it; NULL for a call block's. */
const char	*macro_name(const struct macro *);

/* filters.c: calling filters and tests, and what the filter files share */
struct tval	*filter_call(struct eval *, int id, struct tval *in,
		    struct args *);
int		 test_call(struct eval *, int id, struct tval *in,
		    struct args *);
int		 test_compare_bind(struct eval *, int id, struct args *,
		    int *op, struct tval **other);
struct tval	*filter_soft_str(struct eval *, struct tval *);
int		 filter_intarg(struct eval *, const struct tval *,
		    const char *what, int64_t *);
struct tval	*filter_list_from(struct eval *, struct tval **, size_t);
/*
 * Bind a filter's arguments into v[] (names e, a, v) or return NULL.
 * Mostly a filter gets its arguments by position and as many as it
 * takes: those are copied here, with the parameter count a constant,
 * and args_bind sees the rest (names, and the errors).
 */
#define FILTER_BIND(name, params, nreq)					\
	do {								\
		size_t	 fb_n = sizeof(params) / sizeof(params[0]);	\
		size_t	 fb_r = (nreq), fb_i;				\
									\
		if (a->a_nkw == 0 && a->a_npos >= fb_r &&		\
		    a->a_npos <= fb_n) {				\
			for (fb_i = 0; fb_i < fb_n; fb_i++)		\
				v[fb_i] = fb_i < a->a_npos ?		\
				    a->a_pos[fb_i] : NULL;		\
		} else if (args_bind(e, a, name, params, fb_n, fb_r,	\
		    v) == -1)						\
			return NULL;					\
	} while (0)
/*
 * filter_seq.c: Jinja2's attribute paths ("a.b.0") split into keys: a
 * str (the template's interned name where there is one) or an int for
 * digits, each with the slot of a dict where it was found last.  A path
 * given as a constant is split when the template is compiled
 * (apath_compile, ap_src the constant) and found again by the filter
 * through its node (eval_node).
 */
#define APATH_INLINE	8
struct apath_seg {
	struct tval	*as_key;
	int		 as_own;	/* as_key is a reference of ours */
	uint32_t	 as_slot;
};
struct apath {
	size_t			 ap_n;
	int			 ap_names;	/* every part is a str */
	struct apath_seg	*ap_seg;
	const struct tval	*ap_src;	/* compiled from this constant */
	struct apath_seg	 ap_local[APATH_INLINE];
};
struct apath	*apath_compile(struct tmpl *, const struct tval *);
const struct tnode *eval_node(struct eval *);
/* filter_seq.c: Python's stable sort by keys (or the items themselves) */
#define SORT_REVERSE	0x1
#define SORT_FOLD	0x2	/* strings: ASCII case folded */
/*
 * Each key stands for a list of one (the sort filter's
 * make_multi_attrgetter): two undefined keys are equal, as [U] == [U].
 */
#define SORT_LISTKEY	0x4
int		 sort_values(struct eval *, struct tval **, size_t,
		    struct tval **keys, int flags);
/* filter_num.c: float(str) with Python's spelling */
int		 py_float_parse(const struct tval *, double *);
/* filter_str.c */
int		 url_quote_into(struct buf *, const char *, size_t, int for_qs);
struct tval	*markup_new(const char *, size_t);
void		 markup_escape_into(struct buf *, const struct tval *);
void		 html_escape_into(struct buf *, const char *, size_t);
void		 html_unescape_into(struct buf *, const char *, size_t);
int		 html_escape_tail(struct buf *, size_t from);
int		 html_escape_buf(struct buf *);
/* functions.c: the methods of str, dict, list, tuple and loop values */
int		 method_lookup(const struct tval *obj, const char *name);
int		 loop_attr_find(const char *name);
struct tval	*function_call(struct eval *, int id, struct tval *self,
		    struct args *);
/* str_methods.c: the methods of a str; functions.c: their arguments */
struct tval	*str_splitlines(const struct tval *, int keepends);
struct tval	*str_method(struct eval *, int, struct tval *, struct args *);
int		 want_str(struct eval *, const struct tval *, const char *);
int		 want_int(struct eval *, const struct tval *, int64_t *);
/* format.c */
struct tval	*format_percent(struct eval *, const struct tval *fmt,
		    struct tval *args);
struct tval	*format_str_method(struct eval *, const struct tval *fmt,
		    struct args *);
struct tval	*format_str_map(struct eval *, const struct tval *fmt,
		    struct args *, const struct tval *mapping);
/* strings: code-point aware helpers (strings.c) */
int		 utf8_next(const char *, size_t, size_t *pos, uint32_t *cp);
size_t		 utf8_put(char *, uint32_t);
size_t		 cp_case_full(uint32_t, int mode, char *out);
size_t		 cp_lower_at(const char *, size_t lo, size_t len, size_t at,
		    size_t next, uint32_t, char *out);
/* Load the Unicode case tables now (before a sandbox forbids opening
 * them); 0 when they are available. */
int		 str_init(void);
uint32_t	 cp_upper(uint32_t);
uint32_t	 cp_lower(uint32_t);
int		 cp_isspace(uint32_t);
size_t		 utf8_skip_space(const char *, size_t len, size_t i, int space);
size_t		 utf8_skip_space_back(const char *, size_t lo, size_t i,
		    int space);
int		 cp_isalnum(uint32_t);
int		 cp_isalpha(uint32_t);
int		 cp_isdigit(uint32_t);
int		 cp_isdecimal(uint32_t);
int		 cp_isnumeric(uint32_t);
int		 cp_islower(uint32_t);
int		 cp_isupper(uint32_t);
/* names.c: name characters, and a character as Python's repr() shows it */
int		 cp_isname(uint32_t);
void		 char_repr(char *, size_t, const char *, size_t, size_t at);
/* byte offset of character index i (clamped) */
size_t		 str_offset(const struct tval *, size_t i);
struct tval	*str_upper(const struct tval *);
struct tval	*str_lower(const struct tval *);
struct tval	*str_casefold(const struct tval *);
/* jwt.c */
int		 jwt_sign(const char *alg, const void *key, size_t keylen,
		    const char *header_json, const char *payload_json,
		    struct buf *out, char *err, size_t errlen);

/* tsecret helpers (secret.c). */
struct tsecret	*tsecret_lit(const char *, size_t);
struct tsecret	*tsecret_named(const char *name);
struct tsecret	*tsecret_unary(enum tsecret_op, struct tsecret *);
struct tsecret	*tsecret_concat2(struct tsecret *, struct tsecret *);
struct tsecret	*tsecret_dup(const struct tsecret *);
int		 tsecret_literal_into(struct buf *, const struct tsecret *);

#endif
