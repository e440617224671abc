/*
 * util.c — the engine's small helpers: an arena for compile-time data, a
 * growable byte buffer, error formatting and the string hash.
 */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

struct arena_blk {
	struct arena_blk	*ab_next;
	size_t			 ab_used;
	size_t			 ab_size;
	max_align_t		 ab_data[];
};

#define ARENA_BLK	8192

/* Zeroed, aligned memory that lives until the template is freed. */
void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_blk	*b = a->a_head;
	size_t			 sz;
	void			*p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (b == NULL || b->ab_size - b->ab_used < n) {
		sz = n > ARENA_BLK ? n : ARENA_BLK;
		if ((b = malloc(sizeof(*b) + sz)) == NULL)
			return NULL;
		b->ab_size = sz;
		b->ab_used = 0;
		b->ab_next = a->a_head;
		a->a_head = b;
	}
	p = (char *)b->ab_data + b->ab_used;
	b->ab_used += n;
	memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char	*p;

	if ((p = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
arena_free(struct arena *a)
{
	struct arena_blk	*b, *next;

	for (b = a->a_head; b != NULL; b = next) {
		next = b->ab_next;
		free(b);
	}
	a->a_head = NULL;
}

/*
 * Growth doubles; a buffer with b_max refuses to pass it (and remembers
 * that it did).
 */
int
buf_grow(struct buf *b, size_t more)
{
	size_t	 cap;
	char	*p;

	if (b->b_max != 0 && (more > b->b_max || b->b_len > b->b_max - more)) {
		b->b_over = 1;
		return -1;
	}
	if (b->b_cap - b->b_len > more)
		return 0;
	if (more > SIZE_MAX / 4 - b->b_len)
		return -1;
	cap = b->b_cap ? b->b_cap : 64;
	while (cap - b->b_len <= more)
		cap *= 2;
	if ((p = realloc(b->b_p, cap)) == NULL)
		return -1;
	b->b_p = p;
	b->b_cap = cap;
	return 0;
}

int
buf_add_slow(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) == -1)
		return -1;
	if (n)
		memcpy(b->b_p + b->b_len, p, n);
	b->b_len += n;
	b->b_p[b->b_len] = '\0';
	return 0;
}

int
buf_addc_slow(struct buf *b, int c)
{
	if (buf_grow(b, 1) == -1)
		return -1;
	b->b_p[b->b_len++] = (char)c;
	b->b_p[b->b_len] = '\0';
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n + 1) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->b_p + b->b_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->b_len += (size_t)n;
	return 0;
}

const char	 digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930"
    "31323334353637383940414243444546474849505152535455565758596061"
    "62636465666768697071727374757677787980818283848586878889909192"
    "93949596979899";

/* Decimal ints without printf: JSON output is full of them. */
int
buf_add_int(struct buf *b, int64_t v)
{
	char		 tmp[FMT_INT_MAX], *p;
	size_t		 n;

	p = fmt_int_back(tmp + sizeof(tmp), v);
	n = (size_t)(tmp + sizeof(tmp) - p);
	/* at most 20 bytes: copied without a call when they fit */
	if (b->b_cap - b->b_len > n && (b->b_max == 0 ||
	    b->b_len + n <= b->b_max)) {
		str_put(b->b_p + b->b_len, p, n);
		b->b_len += n;
		b->b_p[b->b_len] = '\0';
		return 0;
	}
	return buf_add(b, p, n);
}

void
buf_free(struct buf *b)
{
	free(b->b_p);
	b->b_p = NULL;
	b->b_len = b->b_cap = 0;
	b->b_over = 0;
}

/* Errors carry a 1-based line and column. */
void
tmpl_seterr(struct tmpl_error *err, int line, int col, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return;
	err->te_line = line;
	err->te_col = col;
	va_start(ap, fmt);
	vsnprintf(err->te_msg, sizeof(err->te_msg), fmt, ap);
	va_end(ap);
}

/*
 * String hash for dict keys and names: eight bytes per multiply instead of
 * FNV's one, the tail read as two overlapping words (or three bytes), and a
 * final mix so that the low bits the dict index uses depend on every byte.
 * The length seeds it, which keeps the overlapping tail reads unambiguous.
 */
static inline uint64_t
hash_load32(const char *s)
{
	uint32_t	 w;

	memcpy(&w, s, sizeof(w));
	return w;
}

uint64_t
tmpl_hash(const char *s, size_t n)
{
	const uint64_t	 k = 0x9e3779b97f4a7c15ULL;
	uint64_t	 h = 0xcbf29ce484222325ULL ^ (n * k), w;

	while (n >= 8) {
		memcpy(&w, s, sizeof(w));
		h = (h ^ w) * k;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	if (n >= 4)
		w = hash_load32(s) | hash_load32(s + n - 4) << 32;
	else if (n > 0)
		w = (uint64_t)(unsigned char)s[0] |
		    (uint64_t)(unsigned char)s[n / 2] << 8 |
		    (uint64_t)(unsigned char)s[n - 1] << 16;
	else
		w = 0;
	h = (h ^ w) * k;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}
