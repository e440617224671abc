/*
 * keeper_secret.h — completing symbolic secrets (DESIGN §4), keeper only.
 *
 * A worker renders get_secret('x') as a struct tsecret tree; only the
 * keeper, which holds the values, turns a tree into bytes.  Every buffer
 * that ever holds secret-derived bytes here is wiped before it is freed or
 * grown.
 */
#ifndef WIDGETD_KEEPER_SECRET_H
#define WIDGETD_KEEPER_SECRET_H

#include <stddef.h>

struct tsecret;

/*
 * Find a secret's value: 0 and *val (borrowed) and *len, or -1 when the
 * secret does not exist.
 */
typedef int	(*keeper_secret_lookup_fn)(const char *name, const void **val,
		    size_t *len, void *arg);

/*
 * Evaluate a tree: the same operations the worker would have done, with
 * the values.  A missing secret becomes its template literal (platform-docs
 * §12).  Returns the malloc'd bytes (NUL-terminated, *lenp set), which the
 * caller wipes and frees, or NULL with err filled, or left empty when
 * memory ran out (not the connector's fault: no 422 for it).
 */
char		*keeper_secret_eval(const struct tsecret *,
		    keeper_secret_lookup_fn, void *arg, size_t *lenp,
		    char *err, size_t errlen);

/*
 * A block for secret-derived bytes: malloc's, or for n up to 128 bytes a
 * kept one that keeper_secret_free gave back.  keeper_secret_free wipes
 * the first len bytes (every byte the holder wrote), then keeps the
 * block if it is of that size class, or frees it; NULL is a no-op.  Any
 * malloc'd block may be given back this way.
 */
void		*keeper_secret_alloc(size_t n);
void		 keeper_secret_free(void *p, size_t len);

/*
 * An upstream answer's body: keeper_body_alloc gives at least n bytes;
 * keeper_body_free wipes the first len and keeps the block for the next
 * answer (spare.h), or frees it (NULL is a no-op).  Any malloc'd block
 * may be given back this way.
 */
void		*keeper_body_alloc(size_t n);
void		 keeper_body_free(void *p, size_t len);
/* The kept blocks freed, bodies' and secrets' (a test starts from none). */
void		 keeper_body_spares_free(void);

#endif
