/*
 * jsonpos.h — a strict RFC 8259 scanner that remembers where every value is.
 *
 * json-c gives values but no positions; the registry loader needs the
 * line:col of every field it complains about and must see duplicate object
 * keys, which json-c silently collapses.  jsonpos builds a light tree of
 * offsets, types and (decoded) keys that is walked in parallel with the
 * json-c tree.  Library-style: no logging, errors returned in struct jpos_err.
 */
#ifndef WIDGETD_JSONPOS_H
#define WIDGETD_JSONPOS_H

#include <stddef.h>

#define JPOS_MAXDEPTH	64

enum jpos_type {
	JP_NULL,
	JP_BOOL,
	JP_NUMBER,
	JP_STRING,
	JP_ARRAY,
	JP_OBJECT
};

struct jpos;

struct jpos_member {
	char		*jm_key;	/* decoded, NUL-terminated */
	size_t		 jm_keylen;
	size_t		 jm_keyoff;	/* offset of the key's opening quote */
	struct jpos	*jm_val;
	long		 jm_first;	/* index of the first member with this
					   key when this one repeats it, or -1 */
	int		 jm_last;	/* 1: no later member has this key */
};

struct jpos {
	enum jpos_type	 jp_type;
	size_t		 jp_off;	/* offset of the value's first byte */
	size_t		 jp_end;	/* offset just past the value */
	size_t		 jp_n;		/* members or items */
	struct jpos_member *jp_members;	/* JP_OBJECT */
	struct jpos	**jp_items;	/* JP_ARRAY */
};

struct jpos_err {
	size_t		 je_off;
	char		 je_msg[128];
};

/* Scan buf strictly; NULL and *err on a syntax error. */
struct jpos	*jpos_parse(const char *buf, size_t len, struct jpos_err *err);
void		 jpos_free(struct jpos *);

/* The value of the LAST member named key (json-c keeps the last), or NULL. */
const struct jpos *jpos_get(const struct jpos *, const char *key);
/* The member index of that value, or -1. */
long		 jpos_index(const struct jpos *, const char *key);
const struct jpos *jpos_item(const struct jpos *, size_t);

/*
 * The decoded bytes of the string value p (a JP_STRING of buf), malloc'd
 * and NUL-terminated, its length in *lenp (may be NULL; the bytes may hold
 * NULs from \u0000).  NULL when p is not a string or memory runs out.
 */
char		*jpos_string_value(const char *buf, size_t len,
		    const struct jpos *p, size_t *lenp);

/* 1-based line and column (in characters, not bytes) of offset off. */
void		 jpos_linecol(const char *buf, size_t len, size_t off,
		    int *line, int *col);

/*
 * The same, in constant time per query over a big file: line:col is
 * recorded every JPOS_CHUNK bytes once, and a query scans at most one chunk.
 */
#define JPOS_CHUNK	4096
struct jpos_lines {
	const char	*jl_buf;
	size_t		 jl_len;
	int		*jl_line;	/* at offset i * JPOS_CHUNK */
	int		*jl_col;
	size_t		 jl_n;
};
int		 jpos_lines_init(struct jpos_lines *, const char *buf,
		    size_t len);
void		 jpos_lines_get(const struct jpos_lines *, size_t off,
		    int *line, int *col);
void		 jpos_lines_clear(struct jpos_lines *);

/*
 * Call cb for every object key that repeats an earlier key of the same
 * object, anywhere in the tree.  path is the field path of the object
 * ("connectors[2].headers[0]", "" for the root).
 */
void		 jpos_walk_dups(const struct jpos *,
		    void (*cb)(const char *path, const struct jpos_member *dup,
		    const struct jpos_member *first, void *arg), void *arg);

/*
 * Append ".key" (or ["key"] when key is not an identifier), or "[i]", to
 * path.  Both return the old length: path[old] = '\0' undoes the step, as
 * a validator does when it leaves a member.
 */
size_t		 jpos_path_key(char *path, size_t size, const char *key);
size_t		 jpos_path_idx(char *path, size_t size, size_t i);

/*
 * The contents of a JSON string for n bytes, as json-c writes them (and
 * most serialisers): '"', '\\' and the five short escapes, other bytes
 * below 0x20 as \u00xx in lower case, '/' as "\/" when slash is set,
 * every other byte as it is.  Returns the length (6 * n at most); with
 * out NULL, only counts.
 */
size_t		 jpos_escape(char *out, const void *in, size_t n, int slash);

#endif
