/*
 * keeper_redact.h — secret-derived bytes replaced by [REDACTED] in what an
 * upstream sends back (SPEC §7), keeper only.
 *
 * A set is made from every secret value a call used and every
 * value derived from one (final header and query values that contained a
 * secret, tokens, signed JWTs).  Each value brings its encodings too (see
 * keeper_redact.c for the list).  The set holds secret bytes: it is wiped
 * when freed.
 */
#ifndef WIDGETD_KEEPER_REDACT_H
#define WIDGETD_KEEPER_REDACT_H

#include <stddef.h>

/*
 * Values shorter than this are not redacted (widgetd.conf(5), REDACTION):
 * replacing every occurrence of a 1-byte secret would destroy every body,
 * and any short value would turn the keeper into an oracle a worker could
 * query byte by byte ("did my query value come back redacted?").
 */
#define REDACT_MIN_LEN	8
#define REDACT_MARK	"[REDACTED]"

struct redact;

struct redact	*redact_new(void);
/*
 * Add value (copied) with its encodings.  1 when added, 0 when shorter than
 * REDACT_MIN_LEN (nothing added), -1 when out of memory.
 */
int		 redact_add(struct redact *, const void *value, size_t len);
/* How many distinct byte patterns the set looks for. */
size_t		 redact_npatterns(const struct redact *);
/*
 * The automaton's work over every apply so far: the bytes it stepped over
 * (a piece's run-in included) and the failure links it followed where a
 * state had no row.  Linear in the bytes scanned whatever the patterns;
 * tests assert on it instead of on a clock.  Counted once a stretch and
 * on the row-less path only, never a byte at a time.
 */
size_t		 redact_steps(const struct redact *);
/*
 * Replace every occurrence of any pattern in the *lenp bytes at *bufp with
 * REDACT_MARK; occurrences that overlap become one mark.  *bufp must be
 * malloc'd: when something was replaced it is wiped, freed and replaced by
 * a new malloc'd, NUL-terminated buffer (*lenp updated); otherwise it is
 * left alone.  Returns the number of marks written, -1 when out of memory
 * (the buffer is then left as it was).  The set is compiled on first use;
 * adding a value afterwards recompiles it.
 */
int		 redact_apply(struct redact *, char **bufp, size_t *lenp);
/*
 * The same, with flags: REDACT_SAMPLED lets the scan skip ahead where no
 * pattern can start (without it the automaton steps over every byte, for
 * tests); REDACT_KEEP leaves *bufp to its owner when it is replaced (the
 * caller wipes it, as part of a larger buffer).
 */
#define REDACT_SAMPLED	0x01
#define REDACT_KEEP	0x02
int		 redact_apply_mode(struct redact *, char **bufp, size_t *lenp,
		    int flags);
/* Wipe and free everything; NULL is a no-op. */
void		 redact_free(struct redact *);

/*
 * The keeper's compiled sets, by the exact list of values a call used:
 * the calls of one connector with one secret use the same values, and
 * building and compiling a set costs more than scanning a small answer.
 * A set is kept until it is the least recently used one over the memory
 * budget, or the cache is cleared (the caller clears it whenever secrets
 * are re-read or dropped).  Values and sets are wiped when they go.
 */
struct redact_cache;

struct redact_cache *redact_cache_new(size_t budget);
/*
 * The set for values[0..n-1], in that order, built if need be.  It
 * belongs to the cache and stays valid until the next redact_cache_done,
 * redact_cache_clear or redact_cache_free.  NULL when out of memory.
 */
struct redact	*redact_cache_get(struct redact_cache *,
		    const char *const *values, const size_t *lens, size_t n);
/* A set from redact_cache_get is no longer used: keep to the budget. */
void		 redact_cache_done(struct redact_cache *);
/* How many sets are kept. */
size_t		 redact_cache_count(const struct redact_cache *);
void		 redact_cache_clear(struct redact_cache *);
void		 redact_cache_free(struct redact_cache *);

#endif
