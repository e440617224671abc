/*
 * lexer.c — template source to tokens, following Jinja2's lexer: data,
 * {{ }}, {% %}, {# #}, whitespace control with '-' (and '+'), raw blocks,
 * bracket balancing inside tags (so "}}" closes a dict inside {{ }}).
 *
 * Like Jinja2 (keep_trailing_newline=False) the source's line endings are
 * normalised to \n and one trailing newline is dropped before lexing.
 */
#include "build.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

#define LEX_MAXBALANCE	256

struct lexer {
	struct tmpl		*lx_t;
	struct tmpl_error	*lx_err;
	const char		*lx_s;
	size_t			 lx_len;
	size_t			 lx_pos;
	/* incremental offset → line:col */
	size_t			 lx_lcoff;
	int			 lx_line;
	int			 lx_col;
	size_t			 lx_ntoks;
	size_t			 lx_ctoks;
	struct token		*lx_toks;
};

/* Positions are computed incrementally: tokens come in source order. */
static void
lex_linecol(struct lexer *lx, size_t off, int *line, int *col)
{
	if (off < lx->lx_lcoff) {
		lx->lx_lcoff = 0;
		lx->lx_line = 1;
		lx->lx_col = 1;
	}
	for (; lx->lx_lcoff < off; lx->lx_lcoff++) {
		unsigned char	 c = (unsigned char)lx->lx_s[lx->lx_lcoff];

		if (c == '\n') {
			lx->lx_line++;
			lx->lx_col = 1;
		} else if ((c & 0xc0) != 0x80)
			lx->lx_col++;	/* columns count characters, not bytes */
	}
	*line = lx->lx_line;
	*col = lx->lx_col;
}

static int
lex_fail(struct lexer *lx, size_t off, const char *msg, int c)
{
	int	 line, col;
	char	 ch[32];

	lex_linecol(lx, off, &line, &col);
	if (c >= 0) {
		/* the character at off, as Python shows it: 'é', not bytes */
		char_repr(ch, sizeof(ch), lx->lx_s, lx->lx_len, off);
		tmpl_seterr(lx->lx_err, line, col, "%s %s", msg, ch);
	} else
		tmpl_seterr(lx->lx_err, line, col, "%s", msg);
	return -1;
}

/*
 * The length in bytes of the name character at p, or 0: ASCII letters,
 * digits and _, and beyond ASCII what cp_isname() says.
 */
static size_t
lex_namechar(struct lexer *lx, size_t p)
{
	size_t		 q = p;
	uint32_t	 cp;
	unsigned char	 c = (unsigned char)lx->lx_s[p];

	if (c < 0x80)
		return cp_isname(c) ? 1 : 0;
	if (!utf8_next(lx->lx_s, lx->lx_len, &q, &cp) || cp == 0xfffd ||
	    !cp_isname(cp))
		return 0;
	return q - p;
}

static struct token *
lex_push(struct lexer *lx, enum tok_type type, size_t off, size_t end)
{
	struct token	*tk;

	if (lx->lx_ntoks == lx->lx_ctoks) {
		size_t	 n = lx->lx_ctoks ? lx->lx_ctoks * 2 : 64;

		if ((tk = realloc(lx->lx_toks, n * sizeof(*tk))) == NULL) {
			lex_fail(lx, off, "out of memory", -1);
			return NULL;
		}
		lx->lx_toks = tk;
		lx->lx_ctoks = n;
	}
	tk = &lx->lx_toks[lx->lx_ntoks++];
	memset(tk, 0, sizeof(*tk));
	tk->tk_type = type;
	tk->tk_off = off;
	tk->tk_end = end;
	lex_linecol(lx, off, &tk->tk_line, &tk->tk_col);
	return tk;
}

/*
 * Template text between tags; a '-' on the next tag strips its trailing
 * whitespace.
 */
static int
lex_data(struct lexer *lx, size_t off, size_t end, int rstrip)
{
	struct token	*tk;

	/* Jinja2's str.rstrip(): Unicode white space */
	if (rstrip)
		end = utf8_skip_space_back(lx->lx_s, off, end, 1);
	if (end == off)
		return 0;
	if ((tk = lex_push(lx, TK_DATA, off, end)) == NULL)
		return -1;
	tk->tk_str = lx->lx_s + off;
	tk->tk_len = end - off;
	return 0;
}

static size_t
lex_skipws(struct lexer *lx, size_t p)
{
	/* Jinja2's \s: Unicode white space */
	return utf8_skip_space(lx->lx_s, lx->lx_len, p, 1);
}

static int
lex_at(struct lexer *lx, size_t p, const char *lit)
{
	size_t	 n = strlen(lit);

	return p + n <= lx->lx_len && memcmp(lx->lx_s + p, lit, n) == 0;
}

/*
 * "{%[-+]? raw [-]?%}" at p (the raw_begin rule)?  Returns the offset after
 * the tag (and the whitespace a "-%}" eats), or 0.
 */
static size_t
lex_match_word_tag(struct lexer *lx, size_t p, const char *word, int *lstrip)
{
	size_t	 q = p + 2;

	if (!lex_at(lx, p, "{%"))
		return 0;
	*lstrip = 0;
	if (q < lx->lx_len && (lx->lx_s[q] == '-' || lx->lx_s[q] == '+')) {
		*lstrip = lx->lx_s[q] == '-';
		q++;
	}
	q = lex_skipws(lx, q);
	if (!lex_at(lx, q, word))
		return 0;
	q += strlen(word);
	q = lex_skipws(lx, q);
	if (lex_at(lx, q, "-%}"))
		return lex_skipws(lx, q + 3);
	if (lex_at(lx, q, "+%}"))
		return q + 3;
	if (lex_at(lx, q, "%}"))
		return q + 2;
	return 0;
}

/*
 * {% raw %} ... {% endraw %}: text, tags included, up to the matching
 * endraw.
 */
static int
lex_raw(struct lexer *lx, size_t start, size_t p)
{
	size_t	 q, end;
	int	 ls;

	for (q = p; q + 1 < lx->lx_len; q++) {
		if (lx->lx_s[q] != '{' || lx->lx_s[q + 1] != '%')
			continue;
		if ((end = lex_match_word_tag(lx, q, "endraw", &ls)) == 0)
			continue;
		if (lex_data(lx, p, q, ls) == -1)
			return -1;
		lx->lx_pos = end;
		return 0;
	}
	return lex_fail(lx, start, "Missing end of raw directive", -1);
}

/* {# ... #} produces nothing; '-#}' also eats the following whitespace. */
static int
lex_comment(struct lexer *lx, size_t start, size_t p)
{
	size_t	 q;

	for (q = p; q < lx->lx_len; q++) {
		if (lex_at(lx, q, "-#}")) {
			lx->lx_pos = lex_skipws(lx, q + 3);
			return 0;
		}
		if (lex_at(lx, q, "+#}")) {
			lx->lx_pos = q + 3;
			return 0;
		}
		if (lex_at(lx, q, "#}")) {
			lx->lx_pos = q + 2;
			return 0;
		}
	}
	return lex_fail(lx, start, "Missing end of comment tag", -1);
}

static int
lex_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode a Python string literal's escapes (Jinja2 uses unicode-escape). */
static int
lex_string(struct lexer *lx, size_t p)
{
	const char	*s = lx->lx_s;
	char		 q = s[p];
	size_t		 i, e;
	char		*o, *out;
	struct token	*tk;

	for (e = p + 1; e < lx->lx_len && s[e] != q; e++)
		if (s[e] == '\\')
			e++;
	if (e >= lx->lx_len)
		return lex_fail(lx, p, "unexpected char", s[p]);
	if ((out = arena_alloc(&lx->lx_t->t_arena, e - p + 1)) == NULL)
		return lex_fail(lx, p, "out of memory", -1);
	o = out;
	for (i = p + 1; i < e; i++) {
		int		 c = (unsigned char)s[i], n, k, v;
		uint32_t	 cp;

		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		c = (unsigned char)s[++i];
		switch (c) {
		case '\n':
			break;
		case '\\': case '\'': case '"':
			*o++ = (char)c;
			break;
		case 'a': *o++ = '\a'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'v': *o++ = '\v'; break;
		case 'x': case 'u': case 'U':
			n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			cp = 0;
			for (k = 0; k < n; k++) {
				if (i + 1 >= e || (v = lex_hexval(s[i + 1])) < 0)
					return lex_fail(lx, i - 1,
					    "truncated escape in string", -1);
				cp = cp * 16 + (uint32_t)v;
				i++;
			}
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < e &&
			    s[i + 1] == '\\' && s[i + 2] == 'u') {
				uint32_t	 lo = 0;

				for (k = 0; k < 4; k++) {
					if ((v = lex_hexval(s[i + 3 + k])) < 0)
						break;
					lo = lo * 16 + (uint32_t)v;
				}
				/* a surrogate pair spells one character */
				if (k == 4 && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp > 0x10ffff)
				return lex_fail(lx, i, "invalid escape in string",
				    -1);
			o += utf8_put(o, cp);
			break;
		default:
			if (c >= '0' && c <= '7') {
				cp = (uint32_t)(c - '0');
				for (k = 0; k < 2 && i + 1 < e && s[i + 1] >= '0' &&
				    s[i + 1] <= '7'; k++)
					cp = cp * 8 + (uint32_t)(s[++i] - '0');
				o += utf8_put(o, cp);
				break;
			}
			/* unknown escapes stay as written, as in Python */
			*o++ = '\\';
			*o++ = (char)c;
			break;
		}
	}
	*o = '\0';
	if ((tk = lex_push(lx, TK_STRING, p, e + 1)) == NULL)
		return -1;
	tk->tk_str = out;
	tk->tk_len = (size_t)(o - out);
	lx->lx_pos = e + 1;
	return 0;
}

/* digits with single '_' separators: (\d+_)*\d+ ; returns end or p */
static size_t
lex_digits(struct lexer *lx, size_t p)
{
	size_t	 q = p;

	while (q < lx->lx_len && isdigit((unsigned char)lx->lx_s[q])) {
		q++;
		if (q + 1 < lx->lx_len && lx->lx_s[q] == '_' &&
		    isdigit((unsigned char)lx->lx_s[q + 1]))
			q++;
	}
	return q;
}

/*
 * Jinja2's float and integer rules: 1e5 is a float, 0x1F/0o17/0b101 ints, _
 * separators.
 */
static int
lex_number(struct lexer *lx, size_t p)
{
	const char	*s = lx->lx_s;
	size_t		 q, r, i, n;
	char		 tmp[128];
	struct token	*tk;
	int		 isfloat = 0, base = 10;

	/* float: digits ((.digits)? e[+-]?digits | .digits), not after '.' */
	q = lex_digits(lx, p);
	if (p == 0 || s[p - 1] != '.') {
		r = q;
		if (r + 1 < lx->lx_len && s[r] == '.' &&
		    isdigit((unsigned char)s[r + 1]))
			r = lex_digits(lx, r + 1);
		if (r < lx->lx_len && (s[r] == 'e' || s[r] == 'E')) {
			size_t	 t = r + 1;

			if (t < lx->lx_len && (s[t] == '+' || s[t] == '-'))
				t++;
			if (t < lx->lx_len && isdigit((unsigned char)s[t])) {
				r = lex_digits(lx, t);
				isfloat = 1;
			}
		}
		if (!isfloat && r > q)
			isfloat = 1;
		if (isfloat)
			q = r;
	}
	if (!isfloat) {
		/* integer: 0b.. 0o.. 0x.. [1-9](_?\d)* 0(_?0)* */
		if (s[p] == '0' && p + 2 < lx->lx_len &&
		    strchr("bBoOxX", s[p + 1]) != NULL) {
			int	 c = tolower((unsigned char)s[p + 1]);

			base = c == 'b' ? 2 : c == 'o' ? 8 : 16;
			q = p + 2;
			r = q;
			for (;;) {
				size_t	 t = r;

				if (t < lx->lx_len && s[t] == '_')
					t++;
				if (t < lx->lx_len && lex_hexval(s[t]) >= 0 &&
				    lex_hexval(s[t]) < base)
					r = t + 1;
				else
					break;
			}
			if (r == q)
				base = 10;	/* just "0" then a name */
			else
				q = r;
		}
		if (base == 10) {
			if (s[p] == '0') {
				q = p + 1;
				for (;;) {
					size_t	 t = q;

					if (t < lx->lx_len && s[t] == '_')
						t++;
					if (t < lx->lx_len && s[t] == '0')
						q = t + 1;
					else
						break;
				}
			}
		}
	}
	for (i = base == 10 ? p : p + 2, n = 0; i < q; i++) {
		if (s[i] == '_')
			continue;
		if (n + 1 >= sizeof(tmp))
			return lex_fail(lx, p, "number literal too long", -1);
		tmp[n++] = s[i];
	}
	tmp[n] = '\0';
	if ((tk = lex_push(lx, isfloat ? TK_FLOAT : TK_INT, p, q)) == NULL)
		return -1;
	errno = 0;
	if (isfloat)
		tk->tk_float = strtod(tmp, NULL);
	else {
		tk->tk_int = (int64_t)strtoll(tmp, NULL, base);
		if (errno == ERANGE)
			return lex_fail(lx, p, "integer literal too large", -1);
	}
	lx->lx_pos = q;
	return 0;
}

static const struct {
	const char	*o_s;
	enum tok_op	 o_op;
} lex_ops[] = {
	{ "//", OP_FLOORDIV }, { "**", OP_POW }, { "==", OP_EQ },
	{ "!=", OP_NE }, { ">=", OP_GTEQ }, { "<=", OP_LTEQ },
	{ "+", OP_ADD }, { "-", OP_SUB }, { "/", OP_DIV }, { "*", OP_MUL },
	{ "%", OP_MOD }, { "~", OP_TILDE }, { "[", OP_LBRACKET },
	{ "]", OP_RBRACKET }, { "(", OP_LPAREN }, { ")", OP_RPAREN },
	{ "{", OP_LBRACE }, { "}", OP_RBRACE }, { "<", OP_LT }, { ">", OP_GT },
	{ "=", OP_ASSIGN }, { ".", OP_DOT }, { ":", OP_COLON }, { "|", OP_PIPE },
	{ ",", OP_COMMA }, { ";", OP_SEMICOLON }
};

/* Lex the inside of {{ }} (block == 0) or {% %} (block == 1). */
static int
lex_tag(struct lexer *lx, int block)
{
	const char	*s = lx->lx_s;
	char		 bal[LEX_MAXBALANCE];
	int		 nbal = 0;
	size_t		 p, i, n;
	struct token	*tk;

	for (;;) {
		p = lx->lx_pos;
		if (p >= lx->lx_len)
			return 0;	/* the parser reports the missing end */
		if (nbal == 0) {
			const char	*end = block ? "%}" : "}}";
			size_t		 q = 0;

			if (s[p] == '-' && lex_at(lx, p + 1, end))
				q = lex_skipws(lx, p + 3);
			else if (block && s[p] == '+' && lex_at(lx, p + 1, end))
				q = p + 3;
			else if (lex_at(lx, p, end))
				q = p + 2;
			if (q) {
				if (lex_push(lx, block ? TK_BLOCK_END : TK_VAR_END,
				    p, q) == NULL)
					return -1;
				lx->lx_pos = q;
				return 0;
			}
		}
		if ((n = lex_skipws(lx, p)) > p) {
			lx->lx_pos = n;
			continue;
		}
		if (isdigit((unsigned char)s[p])) {
			if (lex_number(lx, p) == -1)
				return -1;
			continue;
		}
		if ((n = lex_namechar(lx, p)) > 0) {
			size_t	 q = p + n;

			while (q < lx->lx_len && (n = lex_namechar(lx, q)) > 0)
				q += n;
			if ((tk = lex_push(lx, TK_NAME, p, q)) == NULL)
				return -1;
			if ((tk->tk_str = arena_strndup(&lx->lx_t->t_arena,
			    s + p, q - p)) == NULL)
				return lex_fail(lx, p, "out of memory", -1);
			tk->tk_len = q - p;
			lx->lx_pos = q;
			continue;
		}
		if (s[p] == '\'' || s[p] == '"') {
			if (lex_string(lx, p) == -1)
				return -1;
			continue;
		}
		for (i = 0; i < sizeof(lex_ops) / sizeof(lex_ops[0]); i++)
			if (lex_at(lx, p, lex_ops[i].o_s))
				break;
		if (i == sizeof(lex_ops) / sizeof(lex_ops[0]))
			return lex_fail(lx, p, "unexpected char",
			    (unsigned char)s[p]);
		switch (lex_ops[i].o_op) {
		case OP_LBRACE:
		case OP_LPAREN:
		case OP_LBRACKET:
			if (nbal == LEX_MAXBALANCE)
				return lex_fail(lx, p, "brackets nested too deeply",
				    -1);
			bal[nbal++] = lex_ops[i].o_op == OP_LBRACE ? '}' :
			    lex_ops[i].o_op == OP_LPAREN ? ')' : ']';
			break;
		case OP_RBRACE:
		case OP_RPAREN:
		case OP_RBRACKET:
			if (nbal == 0)
				return lex_fail(lx, p, "unexpected",
				    (unsigned char)s[p]);
			if (bal[nbal - 1] != s[p]) {
				int	 line, col;

				lex_linecol(lx, p, &line, &col);
				tmpl_seterr(lx->lx_err, line, col,
				    "unexpected '%c', expected '%c'", s[p],
				    bal[nbal - 1]);
				return -1;
			}
			nbal--;
			break;
		default:
			break;
		}
		if ((tk = lex_push(lx, TK_OP, p, p + strlen(lex_ops[i].o_s))) ==
		    NULL)
			return -1;
		tk->tk_op = lex_ops[i].o_op;
		lx->lx_pos = p + strlen(lex_ops[i].o_s);
	}
}

/* The root state: data up to the next {{, {% or {#. */
int
lexer_run(struct tmpl *t, struct tmpl_error *err)
{
	struct lexer	 lx;
	const char	*s;
	size_t		 p, q, end;
	int		 ls, rc = -1;
	char		 c;

	memset(&lx, 0, sizeof(lx));
	lx.lx_t = t;
	lx.lx_err = err;
	lx.lx_s = s = t->t_src;
	lx.lx_len = t->t_len;
	lx.lx_line = lx.lx_col = 1;

	while (lx.lx_pos < lx.lx_len) {
		p = lx.lx_pos;
		/* find the next tag start */
		for (q = p; q + 1 < lx.lx_len; q++)
			if (s[q] == '{' && (s[q + 1] == '{' || s[q + 1] == '%' ||
			    s[q + 1] == '#'))
				break;
		if (q + 1 >= lx.lx_len) {
			if (lex_data(&lx, p, lx.lx_len, 0) == -1)
				goto out;
			break;
		}
		c = s[q + 1];
		if (c == '%' && (end = lex_match_word_tag(&lx, q, "raw", &ls))) {
			if (lex_data(&lx, p, q, ls) == -1 ||
			    lex_raw(&lx, q, end) == -1)
				goto out;
			continue;
		}
		ls = q + 2 < lx.lx_len && s[q + 2] == '-';
		if (lex_data(&lx, p, q, ls) == -1)
			goto out;
		end = q + 2;
		if (end < lx.lx_len && (s[end] == '-' || s[end] == '+'))
			end++;
		if (c == '#') {
			if (lex_comment(&lx, q, end) == -1)
				goto out;
			continue;
		}
		if (lex_push(&lx, c == '{' ? TK_VAR_BEGIN : TK_BLOCK_BEGIN, q,
		    end) == NULL)
			goto out;
		lx.lx_pos = end;
		if (lex_tag(&lx, c == '%') == -1)
			goto out;
	}
	if (lex_push(&lx, TK_EOF, lx.lx_len, lx.lx_len) == NULL)
		goto out;
	rc = 0;
out:
	t->t_toks = lx.lx_toks;
	t->t_ntoks = lx.lx_ntoks;
	return rc;
}
