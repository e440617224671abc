/*
 * template.c — compile and free: the public entry points that tie the
 * lexer, the parser and the analyser together.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tmpl_int.h"

/* Jinja2 normalises \r\n and \r to \n and drops one trailing newline. */
static int
tmpl_normalise(struct tmpl *t, const char *src, size_t len)
{
	size_t	 i, n = 0;

	if ((t->t_src = malloc(len + 1)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if (src[i] == '\r') {
			if (i + 1 < len && src[i + 1] == '\n')
				i++;
			t->t_src[n++] = '\n';
		} else
			t->t_src[n++] = src[i];
	}
	if (n > 0 && t->t_src[n - 1] == '\n')
		n--;
	t->t_src[n] = '\0';
	t->t_len = n;
	return 0;
}

/*
 * Names are interned at compile time: the table only grows then, and at
 * render time it is read (tmpl_name_find), never written, so renders of
 * other templates in other threads never see it change.
 */
static int
names_grow(struct tmpl *t)
{
	struct tval	**nt, *v;
	size_t		  c = t->t_cnames ? t->t_cnames * 2 : 64, i, j;

	if ((nt = calloc(c, sizeof(*nt))) == NULL)
		return -1;
	for (i = 0; i < t->t_cnames; i++) {
		if ((v = t->t_names[i]) == NULL)
			continue;
		for (j = v->u.s.h & (c - 1); nt[j] != NULL; j = (j + 1) & (c - 1))
			;
		nt[j] = v;
	}
	free(t->t_names);
	t->t_names = nt;
	t->t_cnames = c;
	return 0;
}

/* The template's one str value for this name; NULL when out of memory. */
struct tval *
tmpl_intern(struct tmpl *t, const char *s, size_t len)
{
	struct tval	*v;
	uint64_t	 h = tmpl_hash(s, len);
	size_t		 j;

	if ((v = tmpl_name_find(t, s, len, h)) != NULL)
		return v;
	if ((t->t_nnames + 1) * 2 > t->t_cnames && names_grow(t) == -1)
		return NULL;
	if ((v = tval_str(s, len)) == NULL)
		return NULL;
	v->u.s.h = h;
	(void)tval_is_ascii(v);
	for (j = h & (t->t_cnames - 1); t->t_names[j] != NULL;
	    j = (j + 1) & (t->t_cnames - 1))
		;
	t->t_names[j] = v;
	t->t_nnames++;
	return v;
}

/* The interned name s, or NULL: a read-only probe, safe while rendering. */
struct tval *
tmpl_name_find(const struct tmpl *t, const char *s, size_t len, uint64_t h)
{
	struct tval	*v;
	size_t		 j;

	if (t == NULL || t->t_cnames == 0)
		return NULL;
	for (j = h & (t->t_cnames - 1); (v = t->t_names[j]) != NULL;
	    j = (j + 1) & (t->t_cnames - 1))
		if (v->u.s.h == h && v->u.s.len == len &&
		    memcmp(v->u.s.p, s, len) == 0)
			return v;
	return NULL;
}

int
tmpl_init(void)
{
	/* jwt_encode and base64 use libcrypto; read its configuration now. */
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	return str_init();
}

struct tmpl *
tmpl_compile(const char *src, size_t len, struct tmpl_error *err)
{
	struct tmpl	*t;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		tmpl_seterr(err, 1, 1, "out of memory");
		return NULL;
	}
	if (tmpl_normalise(t, src != NULL ? src : "", src != NULL ? len : 0) ==
	    -1) {
		tmpl_seterr(err, 1, 1, "out of memory");
		goto fail;
	}
	if (lexer_run(t, err) == -1 || parser_run(t, err) == -1 ||
	    analyze_run(t, err) == -1 || compile_run(t, err) == -1)
		goto fail;
	/* the tokens are not needed to render */
	free(t->t_toks);
	t->t_toks = NULL;
	t->t_ntoks = 0;
	return t;
fail:
	tmpl_free(t);
	return NULL;
}

void
tmpl_free(struct tmpl *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->t_nconsts; i++)
		tval_free_immortal(t->t_consts[i]);
	for (i = 0; i < t->t_cnames; i++)
		tval_unref(t->t_names[i]);
	free(t->t_names);
	free(t->t_consts);
	free(t->t_usage.tu_secrets);
	free((void *)t->t_usage.tu_secret_keyonly);
	free(t->t_keycalls);
	free(t->t_usage.tu_variables);
	free(t->t_usage.tu_pathparams);
	free((void *)t->t_usage.tu_pathparam_line);
	free((void *)t->t_usage.tu_pathparam_col);
	free(t->t_toks);
	free(t->t_src);
	tmpl_output_free(t->t_memo);
	arena_free(&t->t_arena);
	free(t);
}
