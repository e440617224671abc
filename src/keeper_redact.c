/*
 * keeper_redact.c — replacing secret-derived bytes in upstream responses.
 *
 * Each value added brings the forms an upstream is likely to echo it in:
 *  - the bytes themselves;
 *  - base64 and base64url, with and without padding, and the part of each
 *    that does not depend on its neighbours when the value sits inside a
 *    longer base64 text at any of the three byte alignments (an echoed
 *    "Basic" header, a JWT payload, a base64'd request dump);
 *  - hex, lower and upper case;
 *  - percent-encoding as a query or a path carries it: "/" kept or
 *    encoded, space as %20 or "+", upper or lower case hex digits;
 *  - a JSON string's escaping, with "/" escaped ("\/") or not.
 * Forms nobody sends in practice (UTF-16 \u escapes of non-ASCII, base64
 * of the percent-encoding, ...) are not searched for.
 *
 * The search is Aho-Corasick over every form of every value, so a body is
 * read once whatever the number of patterns: the work is linear in its
 * length plus the matches.  The trie's children hang off sibling lists;
 * a state the scan reaches gets a full 256-entry row of next states the
 * first time (a lazy DFA: a row is its failure state's row with its own
 * children written over), so a step is one table lookup.  Rows are built
 * only for states a body visits, which for ordinary text are a few
 * shallow ones; past REDACT_MAX_ROWS the scan steps the plain automaton
 * instead, still linear.  The longest pattern that ends at each position
 * is known from the automaton; overlapping occurrences merge into one
 * span, and each span becomes one REDACT_MARK.
 *
 * Most bodies hold no pattern at all, so the automaton runs only where
 * one could end (redact_scan_sampled): every 4-byte window of every
 * pattern is hashed into a 64 Kib filter when it is added, and the body is
 * sampled one window every (shortest pattern - 3) bytes, so that every
 * occurrence contains a sampled window whole.  Only around a window the
 * filter knows is the automaton run, from far enough back (the longest
 * pattern) that its state there is the one a scan of every byte would
 * have: the same occurrences, the same spans, for a sample every few
 * bytes instead of a step per byte.  A set with so many patterns that its
 * filter is dense (more than 1/32 of it set) is scanned byte by byte.
 *
 * The trie spells out every pattern, so it is wiped on free and whenever
 * its storage moves, like the scratch buffers the encodings are built in.
 *
 * The keeper keeps compiled sets (redact_cache_*) by the exact list of
 * values they were made from, compared in constant time: the next call
 * with the same secrets scans with rows already built instead of building
 * a trie of some twenty encodings per value, compiling it and wiping it
 * again.  What a set hides does not change; what changes is how long its
 * patterns stay in the keeper's memory, beside the secrets themselves:
 * until the set is least recently used past the budget, or the secrets are
 * re-read or dropped (keeper.c clears the cache then).
 */
#include "build.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jsonpos.h"
#include "keeper_redact.h"
#include "keeper_secret.h"

#define REDACT_MARK_LEN		(sizeof(REDACT_MARK) - 1)
#define REDACT_MAX_NODES	(UINT32_MAX / 4)
#define REDACT_MAX_ROWS		2048	/* 2 MiB of rows per set */
#define REDACT_CACHE_MAX	64	/* sets a cache keeps, at most */
/* In a row, the next state with this bit set when a pattern ends there. */
#define REDACT_HIT		0x80000000u
#define REDACT_QBITS		16	/* the 4-byte window filter: 2^16 bits */
#define REDACT_QWORDS		((1u << REDACT_QBITS) / 64)
/* Past this many bits set, most samples would hit: scan every byte. */
#define REDACT_QDENSE		((1u << REDACT_QBITS) / 32)

struct redact_node {
	uint32_t	 rn_child;	/* first child; 0: none */
	uint32_t	 rn_next;	/* next sibling; 0: none */
	uint32_t	 rn_fail;	/* longest proper suffix in the trie */
	uint32_t	 rn_term;	/* the pattern ending here, or 0 */
	uint32_t	 rn_match;	/* longest one ending here, or 0 */
	unsigned char	 rn_byte;
};

struct redact {
	struct redact_node *r_nodes;	/* [0] is the root */
	size_t		 r_nnodes;
	size_t		 r_cap;
	uint32_t	 r_root[256];	/* the root's children; 0: none */
	size_t		 r_npatterns;
	size_t		 r_maxlen;	/* the longest pattern */
	size_t		 r_minlen;	/* the shortest one */
	uint64_t	*r_qgrams;	/* REDACT_QWORDS: the patterns' 4-byte
					   windows, hashed (a filter) */
	size_t		 r_qset;	/* bits set in it */
	int		 r_compiled;
	uint32_t      **r_rows;		/* [state]: 256 next states, or NULL */
	size_t		 r_nslots;	/* states r_rows has room for */
	size_t		 r_nrows;
	uint32_t	*r_chain;	/* scratch for redact_row */
	size_t		 r_steps;	/* work done: see redact_steps */
};

struct redact_span {
	size_t		 rs_start;
	size_t		 rs_end;	/* exclusive */
};

struct redact *
redact_new(void)
{
	struct redact	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->r_nodes = calloc(64, sizeof(*r->r_nodes))) == NULL) {
		free(r);
		return NULL;
	}
	r->r_cap = 64;
	r->r_nnodes = 1;
	return r;
}

/* Rows spell out the patterns as much as the trie does. */
static void
redact_rows_free(struct redact *r)
{
	size_t	 i;

	if (r->r_rows != NULL) {
		for (i = 0; i < r->r_nslots; i++)
			keeper_secret_free(r->r_rows[i],
			    256 * sizeof(*r->r_rows[i]));
		free(r->r_rows);
	}
	r->r_rows = NULL;
	r->r_nslots = 0;
	r->r_nrows = 0;
	free(r->r_chain);
	r->r_chain = NULL;
}

void
redact_free(struct redact *r)
{
	if (r == NULL)
		return;
	redact_rows_free(r);
	keeper_secret_free(r->r_nodes, r->r_cap * sizeof(*r->r_nodes));
	keeper_secret_free(r->r_qgrams, REDACT_QWORDS * sizeof(uint64_t));
	keeper_secret_free(r, sizeof(*r));
}

size_t
redact_npatterns(const struct redact *r)
{
	return r->r_npatterns;
}

size_t
redact_steps(const struct redact *r)
{
	return r->r_steps;
}

/* The child of node u on byte c, or 0. */
static uint32_t
redact_goto(const struct redact *r, uint32_t u, unsigned char c)
{
	uint32_t	 v;

	if (u == 0)
		return r->r_root[c];
	for (v = r->r_nodes[u].rn_child; v != 0; v = r->r_nodes[v].rn_next)
		if (r->r_nodes[v].rn_byte == c)
			return v;
	return 0;
}

/* A new node; its storage moves by copy and wipe, never realloc. */
static uint32_t
redact_node_new(struct redact *r)
{
	struct redact_node	*nn;
	size_t			 cap;

	if (r->r_nnodes == r->r_cap) {
		if (r->r_cap >= REDACT_MAX_NODES / 2)
			return 0;
		cap = r->r_cap * 2;
		if ((nn = calloc(cap, sizeof(*nn))) == NULL)
			return 0;
		memcpy(nn, r->r_nodes, r->r_nnodes * sizeof(*nn));
		keeper_secret_free(r->r_nodes, r->r_cap * sizeof(*nn));
		r->r_nodes = nn;
		r->r_cap = cap;
	}
	return (uint32_t)r->r_nnodes++;
}

/* A 4-byte window's place in the filter. */
static inline uint32_t
redact_qhash(const unsigned char *p)
{
	uint32_t	 w;

	memcpy(&w, p, sizeof(w));
	return (w * 0x9e3779b1u) >> (32 - REDACT_QBITS);
}

static int
redact_insert(struct redact *r, const unsigned char *p, size_t len)
{
	uint32_t	 u = 0, v, h;
	size_t		 i;

	if (len < REDACT_MIN_LEN || len > UINT32_MAX)
		return 0;
	if (r->r_qgrams == NULL && (r->r_qgrams = calloc(REDACT_QWORDS,
	    sizeof(*r->r_qgrams))) == NULL)
		return -1;
	for (i = 0; i + 4 <= len; i++) {
		h = redact_qhash(p + i);
		if ((r->r_qgrams[h / 64] & ((uint64_t)1 << (h % 64))) == 0)
			r->r_qset++;
		r->r_qgrams[h / 64] |= (uint64_t)1 << (h % 64);
	}
	for (i = 0; i < len; i++) {
		if ((v = redact_goto(r, u, p[i])) == 0) {
			if ((v = redact_node_new(r)) == 0)
				return -1;
			r->r_nodes[v].rn_byte = p[i];
			if (u == 0)
				r->r_root[p[i]] = v;
			else {
				r->r_nodes[v].rn_next = r->r_nodes[u].rn_child;
				r->r_nodes[u].rn_child = v;
			}
		}
		u = v;
	}
	if (r->r_nodes[u].rn_term == 0) {
		r->r_nodes[u].rn_term = (uint32_t)len;
		r->r_npatterns++;
	}
	if (len > r->r_maxlen)
		r->r_maxlen = len;
	if (r->r_minlen == 0 || len < r->r_minlen)
		r->r_minlen = len;
	r->r_compiled = 0;
	return 0;
}

/* Failure links and longest matches, breadth first from the root. */
static int
redact_compile(struct redact *r)
{
	struct redact_node	*n = r->r_nodes;
	uint32_t		*queue, u, v, f, t;
	size_t			 head = 0, tail = 0;
	int			 c;

	if ((queue = calloc(r->r_nnodes, sizeof(*queue))) == NULL)
		return -1;
	for (c = 0; c < 256; c++) {
		if ((v = r->r_root[c]) == 0)
			continue;
		n[v].rn_fail = 0;
		n[v].rn_match = n[v].rn_term;
		queue[tail++] = v;
	}
	while (head < tail) {
		u = queue[head++];
		for (v = n[u].rn_child; v != 0; v = n[v].rn_next) {
			for (f = n[u].rn_fail; ; f = n[f].rn_fail) {
				t = redact_goto(r, f, n[v].rn_byte);
				if (t != 0 || f == 0)
					break;
			}
			n[v].rn_fail = t;
			/* A pattern ending here is the longest one. */
			n[v].rn_match = n[v].rn_term ? n[v].rn_term :
			    n[t].rn_match;
			queue[tail++] = v;
		}
	}
	/* The order of the queue says how the trie is shaped: wipe it. */
	keeper_secret_free(queue, r->r_nnodes * sizeof(*queue));

	redact_rows_free(r);
	if ((r->r_rows = calloc(r->r_nnodes, sizeof(*r->r_rows))) == NULL ||
	    (r->r_chain = calloc(r->r_nnodes, sizeof(*r->r_chain))) == NULL ||
	    (r->r_rows[0] = calloc(256, sizeof(**r->r_rows))) == NULL) {
		redact_rows_free(r);
		return -1;
	}
	r->r_nslots = r->r_nnodes;
	for (c = 0; c < 256; c++)
		if ((v = r->r_root[c]) != 0)
			r->r_rows[0][c] = v | (n[v].rn_match ? REDACT_HIT : 0);
	r->r_nrows = 1;
	r->r_compiled = 1;
	return 0;
}

/*
 * The row of state s, built now if need be (with those of its failure
 * chain), or NULL once the budget is spent.
 */
static const uint32_t *
redact_row(struct redact *r, uint32_t s)
{
	const struct redact_node *n = r->r_nodes;
	uint32_t		*row, v;
	size_t			 depth = 0;

	/* The failure chain down to the first state that has a row. */
	for (v = s; r->r_rows[v] == NULL; v = n[v].rn_fail)
		r->r_chain[depth++] = v;
	r->r_steps += depth;
	if (depth > REDACT_MAX_ROWS - r->r_nrows)
		return NULL;
	while (depth > 0) {
		v = r->r_chain[--depth];
		if ((row = malloc(256 * sizeof(*row))) == NULL)
			return NULL;
		memcpy(row, r->r_rows[n[v].rn_fail], 256 * sizeof(*row));
		for (s = n[v].rn_child; s != 0; s = n[s].rn_next)
			row[n[s].rn_byte] = s |
			    (n[s].rn_match ? REDACT_HIT : 0);
		r->r_rows[v] = row;
		r->r_nrows++;
	}
	return r->r_rows[v];
}

/* One step without a row for s: the plain automaton. */
static uint32_t
redact_step(struct redact *r, uint32_t s, unsigned char c)
{
	const struct redact_node *n = r->r_nodes;
	const uint32_t		*row;
	uint32_t		 t;

	if ((row = redact_row(r, s)) != NULL)
		return row[c];
	for (;; r->r_steps++) {
		if (r->r_rows[s] != NULL)
			return r->r_rows[s][c];
		for (t = n[s].rn_child; t != 0; t = n[t].rn_next)
			if (n[t].rn_byte == c)
				return t | (n[t].rn_match ? REDACT_HIT : 0);
		s = n[s].rn_fail;
	}
}

/* --- the encodings ---------------------------------------------------- */

static const char redact_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char redact_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64 of n bytes into out (4 * (n + 2) / 3 bytes at most). */
static size_t
redact_base64(const unsigned char *in, size_t n, char *out,
    const char *alpha, int pad)
{
	size_t		 i, o = 0;
	uint32_t	 w;

	for (i = 0; i + 2 < n; i += 3) {
		w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = alpha[w >> 18];
		out[o++] = alpha[(w >> 12) & 63];
		out[o++] = alpha[(w >> 6) & 63];
		out[o++] = alpha[w & 63];
	}
	if (n - i == 1) {
		w = (uint32_t)in[i] << 16;
		out[o++] = alpha[w >> 18];
		out[o++] = alpha[(w >> 12) & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alpha[w >> 18];
		out[o++] = alpha[(w >> 12) & 63];
		out[o++] = alpha[(w >> 6) & 63];
		if (pad)
			out[o++] = '=';
	}
	return o;
}

static size_t
redact_hex(const unsigned char *in, size_t n, char *out, int upper)
{
	const char	*digits = upper ? "0123456789ABCDEF" :
			    "0123456789abcdef";
	size_t		 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	return 2 * n;
}

#define PCT_SLASH	0x1	/* "/" stays as it is */
#define PCT_PLUS	0x2	/* space becomes "+" */
#define PCT_LOWER	0x4	/* lower-case hex digits */

static size_t
redact_percent(const unsigned char *in, size_t n, char *out, int flags)
{
	const char	*digits = (flags & PCT_LOWER) ? "0123456789abcdef" :
			    "0123456789ABCDEF";
	size_t		 i, o = 0;
	unsigned char	 c;

	for (i = 0; i < n; i++) {
		c = in[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (c == '/' && (flags & PCT_SLASH)))
			out[o++] = (char)c;
		else if (c == ' ' && (flags & PCT_PLUS))
			out[o++] = '+';
		else {
			out[o++] = '%';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 15];
		}
	}
	return o;
}

/*
 * The base64 characters that depend only on v when v follows shift bytes
 * of anything: characters k with 6k >= 8 * shift and 6k + 6 <= 8 * (shift
 * + n).  tmp holds n + 2 bytes.
 */
static size_t
redact_base64_core(const unsigned char *v, size_t n, size_t shift,
    unsigned char *tmp, char *out, const char *alpha)
{
	size_t	 first, last, len;

	memset(tmp, 0, shift);
	memcpy(tmp + shift, v, n);
	len = redact_base64(tmp, n + shift, out, alpha, 0);
	first = (8 * shift + 5) / 6;
	last = (8 * (shift + n) - 6) / 6;
	if (last < first || last >= len)
		return 0;
	memmove(out, out + first, last - first + 1);
	return last - first + 1;
}

int
redact_add(struct redact *r, const void *value, size_t len)
{
	const unsigned char	*v = value;
	unsigned char		*tmp = NULL;
	char			*out = NULL;
	size_t			 cap, n, shift;
	int			 rc = -1, pad, url, flags;

	if (len < REDACT_MIN_LEN)
		return 0;
	/* Large enough for the longest form, JSON's \u00XX. */
	if (len > (SIZE_MAX - 16) / 6)
		return -1;
	cap = 6 * len + 16;
	if ((out = malloc(cap)) == NULL || (tmp = malloc(len + 2)) == NULL)
		goto out;

	if (redact_insert(r, v, len) == -1)
		goto out;
	for (url = 0; url < 2; url++) {
		for (pad = 0; pad < 2; pad++) {
			n = redact_base64(v, len, out,
			    url ? redact_b64url : redact_b64, pad);
			if (redact_insert(r, (unsigned char *)out, n) == -1)
				goto out;
		}
		for (shift = 0; shift < 3; shift++) {
			n = redact_base64_core(v, len, shift, tmp, out,
			    url ? redact_b64url : redact_b64);
			if (redact_insert(r, (unsigned char *)out, n) == -1)
				goto out;
		}
	}
	for (pad = 0; pad < 2; pad++) {
		n = redact_hex(v, len, out, pad);
		if (redact_insert(r, (unsigned char *)out, n) == -1)
			goto out;
	}
	/* Identical forms (nothing to encode) fall on the same trie node. */
	for (flags = 0; flags < 8; flags++) {
		n = redact_percent(v, len, out, flags);
		if (redact_insert(r, (unsigned char *)out, n) == -1)
			goto out;
	}
	for (pad = 0; pad < 2; pad++) {
		n = jpos_escape(out, v, len, pad);
		if (redact_insert(r, (unsigned char *)out, n) == -1)
			goto out;
	}
	rc = 1;
out:
	keeper_secret_free(out, cap);
	keeper_secret_free(tmp, len + 2);
	return rc;
}

/* Record an occurrence; spans stay sorted and disjoint. */
static int
redact_span_add(struct redact_span **spans, size_t *nspans, size_t *cap,
    size_t start, size_t end)
{
	struct redact_span	*ns;
	size_t			 n = *nspans;

	/* Ends only grow: a new occurrence can only swallow the last ones. */
	while (n > 0 && (*spans)[n - 1].rs_end > start) {
		if ((*spans)[n - 1].rs_start < start)
			start = (*spans)[n - 1].rs_start;
		n--;
	}
	if (n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((ns = reallocarray(*spans, *cap, sizeof(*ns))) == NULL)
			return -1;
		*spans = ns;
	}
	(*spans)[n].rs_start = start;
	(*spans)[n].rs_end = end;
	*nspans = n + 1;
	return 0;
}

/*
 * The body is cut into REDACT_STREAMS pieces scanned side by side: a step
 * waits on the table lookup of the step before it, so one scan is bound by
 * memory latency and several independent ones fill the gaps.  Each piece
 * after the first starts maxlen - 1 bytes early, which puts its automaton
 * in the state a single scan would have reached, and keeps only the
 * occurrences that end inside the piece.
 */
#define REDACT_STREAMS	4

struct redact_stream {
	size_t			 st_pos;	/* next byte */
	size_t			 st_from;	/* occurrences end past this */
	size_t			 st_end;
	uint32_t		 st_state;
	struct redact_span	*st_spans;
	size_t			 st_nspans;
	size_t			 st_cap;
};

static inline int
redact_stream_step(struct redact *r, uint32_t **rows,
    const unsigned char *p, struct redact_stream *st)
{
	const uint32_t	*row = rows[st->st_state];
	size_t		 i = st->st_pos++;
	uint32_t	 t;

	t = row != NULL ? row[p[i]] : redact_step(r, st->st_state, p[i]);
	st->st_state = t & ~REDACT_HIT;
	if ((t & REDACT_HIT) == 0 || i < st->st_from)
		return 0;
	return redact_span_add(&st->st_spans, &st->st_nspans, &st->st_cap,
	    i + 1 - r->r_nodes[st->st_state].rn_match, i + 1);
}

/* Found occurrences, with their spans; the streams' own lists are kept. */
struct redact_found {
	struct redact_stream	 f_st[REDACT_STREAMS];
	struct redact_span	*f_spans;
	size_t			 f_nspans;
	size_t			 f_cap;
};

/*
 * Occurrences ending at from..end-1 (the index of their last byte): the
 * stretch cut into up to REDACT_STREAMS pieces scanned side by side, each
 * from maxlen - 1 bytes before its first end position, where the
 * automaton's state is then the one a scan from the start would have.
 * Their spans are merged into f in order.
 */
static int
redact_scan_range(struct redact *r, const unsigned char *p, size_t from,
    size_t end, struct redact_found *f)
{
	struct redact_stream	*st = f->f_st;
	size_t			 i, k, nst, piece, steps, len = end - from;

	/* Short stretches: the run-in would cost more than it saves. */
	nst = len >= 16 * r->r_maxlen * REDACT_STREAMS ? REDACT_STREAMS : 1;
	piece = (len + nst - 1) / nst;
	for (k = 0; k < nst; k++) {
		st[k].st_from = from + k * piece;
		st[k].st_pos = st[k].st_from >= r->r_maxlen - 1 ?
		    st[k].st_from - (r->r_maxlen - 1) : 0;
		st[k].st_end = k == nst - 1 ? end : from + (k + 1) * piece;
		st[k].st_state = 0;
		st[k].st_nspans = 0;
	}
	/* Side by side as far as the shortest stream goes. */
	steps = SIZE_MAX;
	for (k = 0; k < nst; k++) {
		if (st[k].st_end - st[k].st_pos < steps)
			steps = st[k].st_end - st[k].st_pos;
		r->r_steps += st[k].st_end - st[k].st_pos;
	}
	if (nst == REDACT_STREAMS) {
		for (i = 0; i < steps; i++)
			if (redact_stream_step(r, r->r_rows, p, &st[0]) ||
			    redact_stream_step(r, r->r_rows, p, &st[1]) ||
			    redact_stream_step(r, r->r_rows, p, &st[2]) ||
			    redact_stream_step(r, r->r_rows, p, &st[3]))
				return -1;
	}
	for (k = 0; k < nst; k++)
		while (st[k].st_pos < st[k].st_end)
			if (redact_stream_step(r, r->r_rows, p, &st[k]) == -1)
				return -1;
	/* In piece order, ends only grow: merge as one scan would have. */
	for (k = 0; k < nst; k++)
		for (i = 0; i < st[k].st_nspans; i++)
			if (redact_span_add(&f->f_spans, &f->f_nspans,
			    &f->f_cap, st[k].st_spans[i].rs_start,
			    st[k].st_spans[i].rs_end) == -1)
				return -1;
	return 0;
}

/*
 * Every occurrence (at least r_minlen bytes) holds a whole 4-byte window
 * starting at some j = stride - 1 + k * stride, stride = r_minlen - 3, and
 * that window is one of its pattern's, so in the filter.  An occurrence
 * holding the window at j ends at j + 3 .. j + maxlen - 1: only those
 * stretches are scanned, merged where they touch.
 */
static int
redact_scan_sampled(struct redact *r, const unsigned char *p, size_t len,
    struct redact_found *f)
{
	size_t		 stride = r->r_minlen - 3, j, from, end;
	size_t		 pfrom = 0, pend = 0;
	uint32_t	 h;

	for (j = stride - 1; j + 4 <= len; j += stride) {
		h = redact_qhash(p + j);
		if ((r->r_qgrams[h / 64] & ((uint64_t)1 << (h % 64))) == 0)
			continue;
		from = j + 3;
		end = j + r->r_maxlen < len ? j + r->r_maxlen : len;
		if (pend > 0 && from <= pend) {
			pend = end;
			continue;
		}
		if (pend > 0 && redact_scan_range(r, p, pfrom, pend, f) == -1)
			return -1;
		pfrom = from;
		pend = end;
	}
	if (pend > 0 && redact_scan_range(r, p, pfrom, pend, f) == -1)
		return -1;
	return 0;
}

int
redact_apply(struct redact *r, char **bufp, size_t *lenp)
{
	return redact_apply_mode(r, bufp, lenp, REDACT_SAMPLED);
}

int
redact_apply_mode(struct redact *r, char **bufp, size_t *lenp, int flags)
{
	struct redact_found	 f;
	const unsigned char	*p = (const unsigned char *)*bufp;
	struct redact_span	*spans;
	size_t			 i, k, len = *lenp, nspans;
	size_t			 olen, o, prev;
	char			*out;
	int			 rc = -1;

	/* Most header names and many values: too short to hold any. */
	if (r->r_npatterns == 0 || p == NULL || len < r->r_minlen)
		return 0;
	if (!r->r_compiled && redact_compile(r) == -1)
		return -1;
	memset(&f, 0, sizeof(f));
	if (((flags & REDACT_SAMPLED) && r->r_qset <= REDACT_QDENSE ?
	    redact_scan_sampled(r, p, len, &f) :
	    redact_scan_range(r, p, 0, len, &f)) == -1)
		goto out;
	spans = f.f_spans;
	nspans = f.f_nspans;
	if (nspans == 0) {
		rc = 0;
		goto out;
	}

	olen = len;
	for (i = 0; i < nspans; i++)
		olen = olen - (spans[i].rs_end - spans[i].rs_start) +
		    REDACT_MARK_LEN;
	if ((out = malloc(olen + 1)) == NULL)
		goto out;
	for (i = 0, o = 0, prev = 0; i < nspans; i++) {
		memcpy(out + o, p + prev, spans[i].rs_start - prev);
		o += spans[i].rs_start - prev;
		memcpy(out + o, REDACT_MARK, REDACT_MARK_LEN);
		o += REDACT_MARK_LEN;
		prev = spans[i].rs_end;
	}
	memcpy(out + o, p + prev, len - prev);
	out[olen] = '\0';
	if (!(flags & REDACT_KEEP))
		keeper_secret_free(*bufp, len);
	*bufp = out;
	*lenp = olen;
	rc = nspans > INT_MAX ? INT_MAX : (int)nspans;
out:
	for (k = 0; k < REDACT_STREAMS; k++)
		free(f.f_st[k].st_spans);
	free(f.f_spans);
	return rc;
}

/* --- the cache of compiled sets ----------------------------------------- */

/* Memory a set holds now (its rows grow with use). */
static size_t
redact_size(const struct redact *r)
{
	return sizeof(*r) + r->r_cap * sizeof(*r->r_nodes) +
	    r->r_nslots * (sizeof(*r->r_rows) + sizeof(*r->r_chain)) +
	    r->r_nrows * 256 * sizeof(**r->r_rows) +
	    (r->r_qgrams != NULL ? REDACT_QWORDS * sizeof(*r->r_qgrams) : 0);
}

struct redact_entry {
	unsigned char	*re_key;	/* each value: its length, its bytes */
	size_t		 re_keylen;
	struct redact	*re_set;
	uint64_t	 re_used;	/* when last asked for */
};

struct redact_cache {
	struct redact_entry rc_ent[REDACT_CACHE_MAX];
	size_t		 rc_n;
	size_t		 rc_budget;	/* bytes of sets kept */
	uint64_t	 rc_tick;
};

struct redact_cache *
redact_cache_new(size_t budget)
{
	struct redact_cache	*rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return NULL;
	rc->rc_budget = budget;
	return rc;
}

size_t
redact_cache_count(const struct redact_cache *rc)
{
	return rc->rc_n;
}

static void
redact_cache_drop(struct redact_cache *rc, size_t i)
{
	struct redact_entry	*re = &rc->rc_ent[i];

	keeper_secret_free(re->re_key, re->re_keylen + 1);
	redact_free(re->re_set);
	rc->rc_ent[i] = rc->rc_ent[--rc->rc_n];
	memset(&rc->rc_ent[rc->rc_n], 0, sizeof(rc->rc_ent[rc->rc_n]));
}

/* The length of the key of a list of values; -1 when too long. */
static int
redact_cache_keylen(const size_t *lens, size_t n, size_t *lenp)
{
	size_t	 i, len = 0;

	for (i = 0; i < n; i++) {
		if (lens[i] > SIZE_MAX / 2 - len - sizeof(lens[i]))
			return -1;
		len += sizeof(lens[i]) + lens[i];
	}
	*lenp = len;
	return 0;
}

/*
 * Whether an entry's key is the key of the values, keylen bytes long,
 * compared piece by piece where they lie: every byte, in constant time,
 * as one CRYPTO_memcmp over a key built first would (a hit built one
 * for nothing, an allocation and a wipe a call).
 */
static int
redact_cache_key_eq(const struct redact_entry *re, const char *const *values,
    const size_t *lens, size_t n, size_t keylen)
{
	const unsigned char	*p = re->re_key;
	size_t			 i;
	int			 diff = 0;

	if (re->re_keylen != keylen)
		return 0;
	/* The lengths sum to keylen: no piece reads past the key. */
	for (i = 0; i < n; i++) {
		diff |= CRYPTO_memcmp(p, &lens[i], sizeof(lens[i]));
		p += sizeof(lens[i]);
		diff |= CRYPTO_memcmp(p, values[i], lens[i]);
		p += lens[i];
	}
	return diff == 0;
}

/* The key of a list of values, keylen bytes; NULL when out of memory. */
static unsigned char *
redact_cache_key(const char *const *values, const size_t *lens, size_t n,
    size_t len)
{
	unsigned char	*key, *p;
	size_t		 i;

	if ((key = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, p = key; i < n; i++) {
		memcpy(p, &lens[i], sizeof(lens[i]));
		p += sizeof(lens[i]);
		memcpy(p, values[i], lens[i]);
		p += lens[i];
	}
	return key;
}

struct redact *
redact_cache_get(struct redact_cache *rc, const char *const *values,
    const size_t *lens, size_t n)
{
	struct redact_entry	*re;
	struct redact		*r = NULL;
	unsigned char		*key = NULL;
	size_t			 i, keylen, lru = 0;

	if (redact_cache_keylen(lens, n, &keylen) == -1)
		return NULL;
	/* Compared in constant time: these are secrets. */
	for (i = 0; i < rc->rc_n; i++) {
		re = &rc->rc_ent[i];
		if (redact_cache_key_eq(re, values, lens, n, keylen)) {
			re->re_used = ++rc->rc_tick;
			return re->re_set;
		}
	}
	if ((key = redact_cache_key(values, lens, n, keylen)) == NULL)
		return NULL;
	if ((r = redact_new()) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (redact_add(r, values[i], lens[i]) == -1)
			goto fail;
	if (rc->rc_n == REDACT_CACHE_MAX) {
		for (i = 1; i < rc->rc_n; i++)
			if (rc->rc_ent[i].re_used < rc->rc_ent[lru].re_used)
				lru = i;
		redact_cache_drop(rc, lru);
	}
	re = &rc->rc_ent[rc->rc_n++];
	re->re_key = key;
	re->re_keylen = keylen;
	re->re_set = r;
	re->re_used = ++rc->rc_tick;
	return r;
fail:
	redact_free(r);
	keeper_secret_free(key, keylen + 1);
	return NULL;
}

void
redact_cache_done(struct redact_cache *rc)
{
	size_t	 i, lru, total;

	for (;;) {
		total = 0;
		lru = 0;
		for (i = 0; i < rc->rc_n; i++) {
			total += redact_size(rc->rc_ent[i].re_set);
			if (rc->rc_ent[i].re_used < rc->rc_ent[lru].re_used)
				lru = i;
		}
		if (total <= rc->rc_budget || rc->rc_n == 0)
			break;
		redact_cache_drop(rc, lru);
	}
}

void
redact_cache_clear(struct redact_cache *rc)
{
	while (rc != NULL && rc->rc_n > 0)
		redact_cache_drop(rc, rc->rc_n - 1);
}

void
redact_cache_free(struct redact_cache *rc)
{
	redact_cache_clear(rc);
	free(rc);
}
