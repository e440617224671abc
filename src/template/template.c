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
	    analyze_run(t, err) == -1)
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
	arena_free(&t->t_arena);
	free(t);
}
