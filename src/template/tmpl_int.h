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
	const char	 *n_name;	/* NUL-terminated, in the arena */
	size_t		  n_namelen;
	uint64_t	  n_hash;	/* of n_name, for dict lookups */
	int		  n_fid;	/* filter / test / builtin id */
	int		  n_meth[5];	/* N_GETATTR: method id for str, dict,
					   list, tuple; loop attribute id */
	int		  n_flags;
	struct tval	 *n_val;	/* N_CONST (immortal) */
	const char	 *n_str;	/* N_DATA */
	size_t		  n_len;
	size_t		  n_soff;	/* source span of an N_OUTPUT tag */
	size_t		  n_send;
};

#define NF_RECURSIVE	0x01	/* N_FOR ... recursive */
#define NF_TAINTED	0x02	/* expression holds a symbolic secret */
#define NF_VARARGS	0x04	/* N_MACRO body uses varargs */
#define NF_KWARGS	0x08	/* N_MACRO body uses kwargs */

struct tmpl {
	struct arena	 t_arena;
	char		*t_src;		/* normalised source, NUL-terminated */
	size_t		 t_len;
	struct token	*t_toks;
	size_t		 t_ntoks;
	struct tnode	*t_root;
	struct tmpl_usage t_usage;
	int		 t_literal;
	struct tval	**t_consts;	/* immortal constants, freed with us */
	size_t		 t_nconsts;
	size_t		 t_cconsts;
	/* usage list storage */
	size_t		 t_csecrets, t_cvariables, t_cpathparams;
	/* get_secret() calls inside a jwt_encode() key, during analysis */
	struct tnode	**t_keycalls;
	size_t		 t_nkeycalls, t_ckeycalls;
};

int	 lexer_run(struct tmpl *, struct tmpl_error *);
int	 parser_run(struct tmpl *, struct tmpl_error *);
int	 analyze_run(struct tmpl *, struct tmpl_error *);
void	 tmpl_seterr(struct tmpl_error *, int, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
uint64_t tmpl_hash(const char *, size_t);

/* Builtin tables (builtins.c).  Lookups return -1 when unknown. */
#define FILTER_LIST(X)							\
	X(ABS, "abs") X(ATTR, "attr") X(B64DEC, "base64_decode")	\
	X(B64ENC, "base64_encode") X(BATCH, "batch")			\
	X(CAPITALIZE, "capitalize") X(CENTER, "center")			\
	X(COUNT, "count") X(D, "d") X(DEFAULT, "default")		\
	X(DICTSORT, "dictsort") X(E, "e") X(ESCAPE, "escape")		\
	X(FIRST, "first") X(FLOAT, "float") X(FORCEESCAPE, "forceescape") \
	X(FORMAT, "format") X(FROM_JSON, "from_json")			\
	X(GROUPBY, "groupby") X(INDENT, "indent") X(INT, "int")		\
	X(ITEMS, "items") X(JOIN, "join") X(JSON_ENCODE, "json_encode")	\
	X(LAST, "last") X(LENGTH, "length") X(LIST, "list")		\
	X(LOWER, "lower") X(MAP, "map") X(MAX, "max") X(MIN, "min")	\
	X(PPRINT, "pprint") X(REJECT, "reject")				\
	X(REJECTATTR, "rejectattr") X(REPLACE, "replace")		\
	X(REVERSE, "reverse") X(ROUND, "round") X(SAFE, "safe")		\
	X(SELECT, "select") X(SELECTATTR, "selectattr")			\
	X(SLICE, "slice") X(SORT, "sort") X(STRING, "string")		\
	X(STRIPTAGS, "striptags") X(SUM, "sum") X(TITLE, "title")	\
	X(TOJSON, "tojson") X(TRIM, "trim") X(TRUNCATE, "truncate")	\
	X(UNIQUE, "unique") X(UPPER, "upper") X(URLENCODE, "urlencode")	\
	X(WORDCOUNT, "wordcount") X(WORDWRAP, "wordwrap")		\
	X(XMLATTR, "xmlattr")

#define TEST_LIST(X)							\
	X(BOOLEAN, "boolean") X(CALLABLE, "callable")			\
	X(DEFINED, "defined") X(DIVISIBLEBY, "divisibleby")		\
	X(EQ, "eq") X(EQUALTO, "equalto") X(ESCAPED, "escaped")		\
	X(EVEN, "even") X(FALSE, "false") X(FILTER, "filter")		\
	X(FLOAT, "float") X(GE, "ge") X(GT, "gt")			\
	X(GREATERTHAN, "greaterthan") X(IN, "in") X(INTEGER, "integer")	\
	X(ITERABLE, "iterable") X(LE, "le") X(LESSTHAN, "lessthan")	\
	X(LOWER, "lower") X(LT, "lt") X(MAPPING, "mapping")		\
	X(NE, "ne") X(NONE, "none") X(NUMBER, "number") X(ODD, "odd")	\
	X(SAMEAS, "sameas") X(SEQUENCE, "sequence") X(STRING, "string")	\
	X(TEST, "test") X(TRUE, "true") X(UNDEFINED, "undefined")	\
	X(UPPER, "upper") X(EQSYM, "==") X(NESYM, "!=") X(GTSYM, ">")	\
	X(GESYM, ">=") X(LTSYM, "<") X(LESYM, "<=")

#define BUILTIN_LIST(X)							\
	X(RANGE, "range") X(DICT, "dict") X(NAMESPACE, "namespace")	\
	X(LIPSUM, "lipsum") X(CYCLER, "cycler") X(JOINER, "joiner")	\
	X(GET_SECRET, "get_secret") X(GET_VARIABLE, "get_variable")	\
	X(JWT_ENCODE, "jwt_encode") X(NOW, "now")

#define X_ENUM(id, name)	FLT_##id,
enum filter_id { FILTER_LIST(X_ENUM) FLT__COUNT };
#undef X_ENUM
#define X_ENUM(id, name)	TST_##id,
enum test_id { TEST_LIST(X_ENUM) TST__COUNT };
#undef X_ENUM
#define X_ENUM(id, name)	BI_##id,
enum builtin_id { BUILTIN_LIST(X_ENUM) BI__COUNT };
#undef X_ENUM

int		 filter_lookup(const char *);
int		 test_lookup(const char *);
int		 builtin_lookup(const char *);
const char	*filter_name(int);
const char	*test_name(int);
const char	*builtin_name(int);

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
	TV_LOOP		/* the loop variable */
};

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
		} un;
		struct tsecret	*sec;
		struct loopctx	*loop;
		struct macro	*mac;
	} u;
};

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

extern struct tval tval_undef_static;
extern struct tval tval_none_static;
extern struct tval tval_true_static;
extern struct tval tval_false_static;

struct tval	*tval_undef(const char *msg, const char *text);
struct tval	*tval_undef_fmt(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
struct tval	*tval_str_take(char *, size_t);
struct tval	*tval_str_buf(struct buf *);
struct tval	*tval_tuple(void);
struct tval	*tval_func(int fid, struct tval *self, const char *name);
struct tval	*tval_secret(struct tsecret *);
int		 tval_dict_put(struct tval *d, struct tval *k, struct tval *v);
int		 tval_dict_reserve(struct tval *d, size_t n);
int		 tval_list_reserve(struct tval *l, size_t n);
struct tval	*tval_dict_get(const struct tval *d, const struct tval *k);
struct tval	*tval_dict_gets(const struct tval *d, const char *k, size_t,
		    uint64_t hash);
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
struct tval	*tval_immortal(struct tmpl *, struct tval *);
void		 tval_free_immortal(struct tval *);
int		 tval_is_container(const struct tval *);
int		 tval_reaches(const struct tval *from, const struct tval *to,
		    int depth);

/* JSON (json.c). */
struct tval	*json_parse(const char *, size_t, char *err, size_t errlen);
/* json.dumps: mode 0 json_encode (insertion order), 1 tojson (sorted,
 * html-safe), 2 compact (jwt: ',' ':'); indent < 0: none. */
int		 json_dump(struct buf *, const struct tval *, int mode,
		    int indent, char *err, size_t errlen);

/* --- Evaluation (eval.c) and the builtins it calls ----------------------- */

struct eval;

#define ARGS_MAX	16
struct args {
	size_t		 a_npos;
	struct tval	*a_pos[ARGS_MAX];
	size_t		 a_nkw;
	const char	*a_kwname[ARGS_MAX];
	struct tval	*a_kwval[ARGS_MAX];
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
struct tval	*eval_getattr(struct eval *, struct tval *, const char *, size_t);
struct tval	*eval_getitem(struct eval *, struct tval *, struct tval *);
struct tval	*eval_call_value(struct eval *, struct tval *, struct args *);
/* Items of an iterable as new references in a malloc'd array. */
int		 eval_iterate(struct eval *, struct tval *, struct tval ***,
		    size_t *);
void		 items_free(struct tval **, size_t);
/* Python's <, for sorting and min/max: sets *lt; -1 on TypeError. */
int		 eval_less(struct eval *, const struct tval *, const struct tval *,
		    int *lt);
struct tval	*eval_str(struct eval *, const struct tval *);	/* str() */
int		 eval_str_into(struct eval *, struct buf *, const struct tval *);
struct tval	*eval_binop(struct eval *, int op, struct tval *, struct tval *);
int		 eval_contains(struct eval *, struct tval *seq, struct tval *v);

/* filters.c */
struct tval	*filter_call(struct eval *, int fid, struct tval *in,
		    struct args *);
int		 test_call(struct eval *, int tid, struct tval *in,
		    struct args *);
/* functions.c: global functions (fid < BI__COUNT) and methods (above) */
int		 method_lookup(const struct tval *obj, const char *name);
int		 method_find(int type, const char *name);
int		 loop_attr_find(const char *name);
struct tval	*function_call(struct eval *, int fid, struct tval *self,
		    struct args *);
const char	*function_name(int fid);
/* format.c */
struct tval	*format_percent(struct eval *, const struct tval *fmt,
		    struct tval *args);
struct tval	*format_str_method(struct eval *, const struct tval *fmt,
		    struct args *);
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
int		 cp_isalnum(uint32_t);
int		 cp_isalpha(uint32_t);
int		 cp_isdigit(uint32_t);
int		 cp_isdecimal(uint32_t);
int		 cp_isnumeric(uint32_t);
int		 cp_islower(uint32_t);
int		 cp_isupper(uint32_t);
/* byte offset of character index i (clamped) */
size_t		 str_offset(const struct tval *, size_t i);
struct tval	*str_upper(const struct tval *);
struct tval	*str_lower(const struct tval *);
struct tval	*str_casefold(const struct tval *);
struct tval	*markup_new(const char *, size_t);
void		 markup_escape_into(struct buf *, const struct tval *);
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
