/*
 * cache.c — the worker's HTTP response cache (see cache.h).
 *
 * The key.  A call is cached under its namespace (tenant, connector or
 * composite step) and the whole resolved request as the plan holds it:
 * method, URL, every header and query field, the authentication's fields,
 * the body.  A secret is a symbolic tree in the plan; the key carries the
 * tree itself — operations, secret names, the JSON payload of a
 * jwt_encode() — never a value, which the worker does not have.  Keying
 * by the tree rather than by its template text (tsecret_literal) matters:
 * the literal of jwt_encode({'sub': user.id}, ...) is the same for every
 * user, its payload is not.  So an answer that depends on user.* anywhere
 * in the request is never served to another user, and the upstream never
 * sees a request that differs from the one whose answer is served.
 *
 * Since every header sent upstream is in the key, Vary is honoured by
 * construction (two requests under one key sent the same headers); only
 * "Vary: *" needs a rule: such an answer is never stored.
 *
 * What a worker cannot see.  Secret values change behind the worker's
 * back: the parent tells every worker, after the keepers have re-read a
 * tenant's store, and each drops that tenant's entries whose request named
 * a secret (cache_secrets_changed).  A namespace's epoch moves on with
 * every drop, and an answer to a call looked up under an older epoch is
 * not stored.  A reload or a variable change makes a new generation;
 * cache_generation compares each namespace's definition (every template's
 * source, the stored variables its templates use, the template limits)
 * with the new one and drops the entries of what changed.
 *
 * Freshness is RFC 9111's for a shared cache: s-maxage over max-age over
 * Expires − Date, ages corrected for Age and the round trip, no heuristic
 * freshness; an answer with an ETag or Last-Modified but no freshness is
 * kept and revalidated on every use.  Stale entries serve an upstream
 * failure within stale-if-error (RFC 5861): the upstream's own directive,
 * else the connector's default (widgetd.cache.stale_if_error, which
 * must-revalidate, proxy-revalidate and s-maxage forbid), at most
 * cache.stale_if_error_max.
 *
 * Memory: entries are accounted by their bytes and kept on one LRU list;
 * past cache.memory the least recently used go.  One entry may take at
 * most a quarter of cache.memory.
 */
#include "build.h"

#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "cache.h"
#include "cachehdr.h"
#include "config.h"
#include "connector.h"
#include "plan.h"
#include "rowidx.h"
#include "snapshot.h"
#include "spare.h"
#include "strcopy.h"
#include "template/template.h"

#define CACHE_RETRY_MAX		15	/* s: Retry-After honoured within the
					   upstream window */
#define CACHE_MIN_BUCKETS	64

/* A connector or a composite's step: entries are dropped together. */
struct cache_ns {
	TAILQ_ENTRY(cache_ns)	 n_entry;
	uint64_t		 n_id;		/* never reused; keys start
						   with it */
	char			*n_tenant;
	char			*n_permalink;
	uint32_t		 n_kind;	/* enum plan_kind */
	uint32_t		 n_step;
	unsigned char		*n_def;		/* what the definition is */
	size_t			 n_deflen;
	uint64_t		 n_epoch;	/* moves on at every drop */
	int64_t			 n_stale;	/* default stale-if-error, s;
						   0: none */
	int			 n_transform;	/* output may be stored */
	int			 n_live;	/* in the current generation */
	int			 n_drop;	/* drop its entries now */
	int			 n_refs;	/* entries and tickets */
};

struct cache_entry {
	TAILQ_ENTRY(cache_entry) e_lru;		/* head: most recent */
	struct cache_entry	*e_next;	/* bucket chain */
	struct cache_ns		*e_ns;
	unsigned char		*e_key;
	size_t			 e_keylen;
	uint64_t		 e_hash;
	int			 e_refs;	/* the table, tickets */
	int			 e_linked;	/* in the table and the LRU */
	int			 e_secret;	/* the request named a secret */
	size_t			 e_size;	/* accounted bytes */
	struct result		 e_rs;
	unsigned char		*e_out;		/* the template's output */
	size_t			 e_outlen;
	int			 e_has_out;
	int64_t			 e_response;	/* ms: when it came */
	int64_t			 e_age;		/* s: corrected initial age */
	int64_t			 e_lifetime;	/* s: freshness lifetime */
	int64_t			 e_sie;		/* s: stale-if-error said */
	int			 e_no_stale;	/* must-revalidate and kin */
	char			*e_etag;
	char			*e_lastmod;
	int64_t			 e_retry_until;	/* ms: Retry-After back-off */
};

/* Calls in flight by key: identical misses wait for the first. */
struct cache_flight {
	struct cache_flight	*f_next;	/* bucket chain */
	struct cache_ticket	*f_leader;
	TAILQ_HEAD(, cache_ticket) f_waiters;
	int			 f_landed;	/* answered, out of the table */
	enum cache_share	 f_share;
	struct cache_entry	*f_entry;	/* CACHE_SHARE_ENTRY (a ref) */
};

enum cache_tstate {
	T_BYPASS,		/* nothing to do with the cache */
	T_SOLO,			/* a call that may store its answer */
	T_LEADER,		/* the same, with others waiting for it */
	T_WAITER,		/* waiting for a leader's answer */
	T_RELEASED		/* given a leader's answer (an error) */
};

struct cache_ticket {
	struct cache		*t_cache;
	enum cache_tstate	 t_state;
	void			*t_owner;
	struct cache_ns		*t_ns;		/* a ref */
	uint64_t		 t_epoch;	/* the namespace's at lookup */
	unsigned char		*t_key;
	size_t			 t_keylen;
	uint64_t		 t_hash;
	int			 t_secret;
	int64_t			 t_sent;	/* ms: the request time */
	struct cache_entry	*t_entry;	/* a ref: found or stored */
	struct cache_flight	*t_flight;
	TAILQ_ENTRY(cache_ticket) t_wentry;	/* in f_waiters */
	enum cache_outcome	 t_outcome;
	char			 t_status[160];
};

/* The namespaces of the current generation, by index. */
struct cache_tidx {
	struct cache_ns		**ti_conns;	/* per connector */
	size_t			 ti_nconns;
	struct cache_ns		**ti_steps;	/* every step of every
						   composite, in order */
	size_t			*ti_first;	/* per composite: first step */
	size_t			 ti_ncomps;
	size_t			 ti_nsteps;
};

struct cache {
	uint64_t		 c_gen;		/* 0: none yet */
	size_t			 c_memory;
	int64_t			 c_stale_max;	/* s */
	struct conf_limits	 c_limits;	/* part of every definition */
	struct cache_tidx	*c_idx;		/* per tenant */
	size_t			 c_ntenants;
	TAILQ_HEAD(, cache_ns)	 c_nss;
	uint64_t		 c_ns_seq;
	struct cache_entry	**c_buckets;
	size_t			 c_nbuckets;	/* a power of two */
	struct cache_flight	**c_fbuckets;
	size_t			 c_nfbuckets;
	size_t			 c_nflights;
	TAILQ_HEAD(cache_lru, cache_entry) c_lru;
	uint64_t		 c_entries;
	uint64_t		 c_bytes;
	uint64_t		 c_evicted;
	uint64_t		 c_dropped;
	unsigned char		 c_seed[16];	/* SipHash key */
	struct spare		 c_tickets;	/* freed, for the next lookups */
};

/* --- Bytes ---------------------------------------------------------- */

struct cache_buf {
	unsigned char	*b_p;
	size_t		 b_len;
	size_t		 b_cap;
	int		 b_err;
};

static void
cache_buf_add(struct cache_buf *b, const void *p, size_t len)
{
	unsigned char	*np;
	size_t		 cap;

	if (b->b_err)
		return;
	if (len > b->b_cap - b->b_len) {
		cap = b->b_cap ? b->b_cap : 256;
		while (cap - b->b_len < len)
			cap *= 2;
		if ((np = realloc(b->b_p, cap)) == NULL) {
			b->b_err = 1;
			return;
		}
		b->b_p = np;
		b->b_cap = cap;
	}
	if (len > 0)
		memcpy(b->b_p + b->b_len, p, len);
	b->b_len += len;
}

static void
cache_buf_u64(struct cache_buf *b, uint64_t v)
{
	cache_buf_add(b, &v, sizeof(v));
}

/* Length-prefixed: no two different sequences of fields read the same. */
static void
cache_buf_bytes(struct cache_buf *b, const void *p, size_t len)
{
	cache_buf_u64(b, len);
	cache_buf_add(b, p, len);
}

static void
cache_buf_str(struct cache_buf *b, const char *s)
{
	if (s == NULL)
		cache_buf_u64(b, UINT64_MAX);
	else
		cache_buf_bytes(b, s, strlen(s));
}

/*
 * SipHash-2-4 (Aumasson and Bernstein) under a random per-worker key:
 * callers choose query strings, so bucket chains must not be theirs to
 * lengthen.
 */
#define CACHE_ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define CACHE_SIPROUND(v0, v1, v2, v3) do {				\
	v0 += v1; v1 = CACHE_ROTL(v1, 13); v1 ^= v0;			\
	v0 = CACHE_ROTL(v0, 32);					\
	v2 += v3; v3 = CACHE_ROTL(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = CACHE_ROTL(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = CACHE_ROTL(v1, 17); v1 ^= v2;			\
	v2 = CACHE_ROTL(v2, 32);					\
} while (0)

static uint64_t
cache_le64(const unsigned char *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
cache_siphash(const unsigned char key[16], const unsigned char *p,
    size_t len)
{
	uint64_t	 k0 = cache_le64(key), k1 = cache_le64(key + 8), m;
	uint64_t	 v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t	 v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t	 v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t	 v3 = k1 ^ 0x7465646279746573ULL;
	size_t		 i, left = len & 7;
	unsigned char	 last[8];

	for (i = 0; i + 8 <= len; i += 8) {
		m = cache_le64(p + i);
		v3 ^= m;
		CACHE_SIPROUND(v0, v1, v2, v3);
		CACHE_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	memset(last, 0, sizeof(last));
	memcpy(last, p + i, left);
	last[7] = (unsigned char)len;
	m = cache_le64(last);
	v3 ^= m;
	CACHE_SIPROUND(v0, v1, v2, v3);
	CACHE_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		CACHE_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- The key ---------------------------------------------------------- */

/* A secret tree by its structure: names and payloads, never a value. */
static void
cache_key_tree(struct cache_buf *b, const struct tsecret *ts, int *secret)
{
	size_t	 i;

	cache_buf_u64(b, (uint64_t)ts->ts_op);
	if (ts->ts_op == TSX_SECRET)
		*secret = 1;
	cache_buf_bytes(b, ts->ts_data != NULL ? ts->ts_data : "",
	    ts->ts_data != NULL ? ts->ts_len : 0);
	cache_buf_str(b, ts->ts_alg);
	cache_buf_str(b, ts->ts_headers);
	cache_buf_u64(b, ts->ts_nkids);
	for (i = 0; i < ts->ts_nkids; i++)
		cache_key_tree(b, ts->ts_kids[i], secret);
}

static void
cache_key_fields(struct cache_buf *b, const struct plan_field *fs, size_t n,
    int with_src, int *secret)
{
	const struct plan_field	*f;
	size_t			 i, k;

	for (i = k = 0; i < n; i++)
		k += fs[i].pf_src != PLAN_TRACE;
	cache_buf_u64(b, k);
	for (i = 0; i < n; i++) {
		f = &fs[i];
		/*
		 * The trace context names this request, not the resource:
		 * every call has its own, and an answer is shared across them.
		 */
		if (f->pf_src == PLAN_TRACE)
			continue;
		/* Where a header came from does not change what is sent. */
		if (with_src)
			cache_buf_u64(b, f->pf_src);
		cache_buf_str(b, f->pf_name);
		cache_buf_u64(b, f->pf_nsegs);
		for (k = 0; k < f->pf_nsegs; k++) {
			if (f->pf_segs[k].ps_secret != NULL) {
				cache_buf_add(b, "S", 1);
				cache_key_tree(b, f->pf_segs[k].ps_secret,
				    secret);
			} else {
				cache_buf_add(b, "L", 1);
				cache_buf_bytes(b, f->pf_segs[k].ps_data,
				    f->pf_segs[k].ps_len);
			}
		}
	}
}

/* The namespace's id, then the resolved request. */
static int
cache_key(struct cache_ticket *t, const struct plan *pl)
{
	struct cache_buf	 b;

	memset(&b, 0, sizeof(b));
	cache_buf_u64(&b, t->t_ns->n_id);
	cache_buf_str(&b, pl->pl_method);
	cache_buf_str(&b, pl->pl_url);
	cache_key_fields(&b, pl->pl_headers, pl->pl_nheaders, 0, &t->t_secret);
	cache_key_fields(&b, pl->pl_query, pl->pl_nquery, 0, &t->t_secret);
	cache_key_fields(&b, pl->pl_auth, pl->pl_nauth, 1, &t->t_secret);
	cache_buf_u64(&b, (uint64_t)pl->pl_has_body);
	cache_buf_bytes(&b, pl->pl_body, pl->pl_has_body ? pl->pl_bodylen : 0);
	if (b.b_err) {
		free(b.b_p);
		return -1;
	}
	t->t_key = b.b_p;
	t->t_keylen = b.b_len;
	t->t_hash = cache_siphash(t->t_cache->c_seed, b.b_p, b.b_len);
	return 0;
}

/* --- Definitions ---------------------------------------------------------- */

/* What one definition depends on; variables are gathered on the way. */
struct cache_defctx {
	struct cache_buf	 d_b;
	const struct snap_tenant *d_tenant;
	int			 d_allvars;
};

static void
cache_def_tmpl(struct cache_defctx *d, const struct conn_tmpl *ct)
{
	const struct tmpl_usage	*u;
	const struct snap_var	*sv;
	size_t			 i;

	cache_buf_bytes(&d->d_b, ct->ct_src != NULL ? ct->ct_src : "",
	    ct->ct_src != NULL ? ct->ct_len : 0);
	if (ct->ct_tmpl == NULL)
		return;
	u = tmpl_usage(ct->ct_tmpl);
	if (u->tu_dynamic_variable)
		d->d_allvars = 1;
	/* The values of the variables it names, as they are now. */
	for (i = 0; i < u->tu_nvariables; i++) {
		cache_buf_str(&d->d_b, u->tu_variables[i]);
		sv = snapshot_variable(d->d_tenant, u->tu_variables[i]);
		if (sv == NULL)
			cache_buf_u64(&d->d_b, UINT64_MAX);
		else
			cache_buf_bytes(&d->d_b, sv->sv_value, sv->sv_len);
	}
}

static void
cache_def_params(struct cache_defctx *d, const struct conn_param *ps,
    size_t n)
{
	size_t	 i;

	cache_buf_u64(&d->d_b, n);
	for (i = 0; i < n; i++) {
		cache_buf_str(&d->d_b, ps[i].cp_key);
		cache_buf_u64(&d->d_b, (uint64_t)ps[i].cp_overridable);
		cache_def_tmpl(d, &ps[i].cp_value);
	}
}

static void
cache_def_claims(struct cache_defctx *d, const struct conn_claim *cl,
    size_t n)
{
	size_t	 i;

	cache_buf_u64(&d->d_b, n);
	for (i = 0; i < n; i++) {
		cache_buf_str(&d->d_b, cl[i].cl_key);
		if (cl[i].cl_json != NULL)
			cache_buf_str(&d->d_b, json_object_to_json_string_ext(
			    cl[i].cl_json, JSON_C_TO_STRING_PLAIN));
		else
			cache_def_tmpl(d, &cl[i].cl_value);
	}
}

static void
cache_def_request(struct cache_defctx *d, const struct conn_request *cr)
{
	const struct conn_auth	*a = &cr->cr_auth;
	const struct conn_ext	*e = &cr->cr_ext;
	const struct conn_tmpl	*ts[] = { &cr->cr_url, &cr->cr_origin,
	    &cr->cr_request_body, &cr->cr_response_body, &a->ca_key,
	    &a->ca_value, &a->ca_client_id, &a->ca_client_secret,
	    &a->ca_token_url, &a->ca_scope, &a->ca_private_key,
	    &a->ca_subject, &a->ca_audience, &a->ca_token_origin,
	    &e->ce_cert, &e->ce_cert_key, &e->ce_aws_key_id,
	    &e->ce_aws_secret, &e->ce_aws_token };
	size_t			 i;

	cache_buf_u64(&d->d_b, (uint64_t)cr->cr_method);
	cache_buf_u64(&d->d_b, (uint64_t)a->ca_type);
	cache_buf_u64(&d->d_b, (uint64_t)a->ca_in);
	cache_buf_u64(&d->d_b, (uint64_t)a->ca_token_ttl);
	cache_buf_str(&d->d_b, a->ca_algorithm);
	cache_buf_u64(&d->d_b, (uint64_t)e->ce_sigv4);
	cache_buf_str(&d->d_b, e->ce_aws_region);
	cache_buf_str(&d->d_b, e->ce_aws_service);
	cache_buf_u64(&d->d_b, (uint64_t)e->ce_stale_if_error);
	cache_buf_str(&d->d_b, cr->cr_response_content_type);
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
		cache_def_tmpl(d, ts[i]);
	cache_def_params(d, cr->cr_headers, cr->cr_nheaders);
	cache_def_params(d, cr->cr_query, cr->cr_nquery);
	cache_def_claims(d, a->ca_claims, a->ca_nclaims);
	cache_def_claims(d, a->ca_headers, a->ca_nheaders);
}

/*
 * The conn_request a namespace names in sn, and (a connector) its path
 * parameters; NULL when the generation has no such thing.
 */
static const struct conn_request *
cache_ns_request(const struct snapshot *sn, const struct cache_ns *ns,
    const struct snap_tenant **stp, const struct connector **cnp)
{
	const struct snap_tenant	*st;
	const struct composite		*cc;

	*cnp = NULL;
	if ((st = snapshot_tenant_by_id(sn, ns->n_tenant)) == NULL)
		return NULL;
	*stp = st;
	if (ns->n_kind == PLAN_CONNECTOR) {
		if ((*cnp = registry_connector(st->st_reg,
		    ns->n_permalink)) == NULL)
			return NULL;
		return &(*cnp)->c_req;
	}
	if ((cc = registry_composite(st->st_reg, ns->n_permalink)) == NULL ||
	    ns->n_step >= cc->cc_nsteps)
		return NULL;
	return &cc->cc_steps[ns->n_step].cs_req;
}

/* A definition's bytes; -1 when out of memory. */
static int
cache_def(const struct cache *c, const struct snap_tenant *st,
    const struct connector *cn, const struct conn_request *cr,
    unsigned char **out, size_t *len)
{
	struct cache_defctx	 d;
	size_t			 i;

	memset(&d, 0, sizeof(d));
	d.d_tenant = st;
	cache_buf_u64(&d.d_b, c->c_limits.tmpl_steps);
	cache_buf_u64(&d.d_b, c->c_limits.tmpl_output);
	cache_buf_u64(&d.d_b, (uint64_t)c->c_limits.tmpl_depth);
	if (cn != NULL)
		cache_def_params(&d, cn->c_path, cn->c_npath);
	cache_def_request(&d, cr);
	/* A template that names variables at run time: all of them. */
	if (d.d_allvars)
		for (i = 0; i < st->st_nvars; i++) {
			cache_buf_str(&d.d_b, st->st_vars[i].sv_name);
			cache_buf_bytes(&d.d_b, st->st_vars[i].sv_value,
			    st->st_vars[i].sv_len);
		}
	if (d.d_b.b_err) {
		free(d.d_b.b_p);
		return -1;
	}
	*out = d.d_b.b_p;
	*len = d.d_b.b_len;
	return 0;
}

/*
 * Only a template that depends on nothing but response.*, tenant_id and
 * constants renders the same for every caller of one entry.
 */
static int
cache_transformable(const struct conn_request *cr)
{
	if (cr->cr_response_body.ct_tmpl == NULL)
		return 1;
	return (tmpl_usage(cr->cr_response_body.ct_tmpl)->tu_flags &
	    ~(unsigned int)(TMPL_USES_RESPONSE | TMPL_USES_RESPONSE_WHOLE |
	    TMPL_USES_TENANT)) == 0;
}

/* What a namespace takes from its definition in generation sn. */
static int
cache_ns_define(const struct cache *c, struct cache_ns *ns,
    const struct snap_tenant *st, const struct connector *cn,
    const struct conn_request *cr)
{
	unsigned char	*def;
	size_t		 len;

	if (cache_def(c, st, cn, cr, &def, &len) == -1)
		return -1;
	free(ns->n_def);
	ns->n_def = def;
	ns->n_deflen = len;
	ns->n_stale = cr->cr_ext.ce_stale_if_error;
	ns->n_transform = cache_transformable(cr);
	return 0;
}

/* --- Entries ------------------------------------------------------------- */

static void
cache_ns_unref(struct cache *c, struct cache_ns *ns)
{
	if (ns == NULL || --ns->n_refs > 0 || ns->n_live)
		return;
	TAILQ_REMOVE(&c->c_nss, ns, n_entry);
	free(ns->n_tenant);
	free(ns->n_permalink);
	free(ns->n_def);
	free(ns);
}

static void
cache_entry_unref(struct cache *c, struct cache_entry *e)
{
	if (e == NULL || --e->e_refs > 0)
		return;
	result_clear(&e->e_rs);
	free(e->e_key);
	free(e->e_out);
	free(e->e_etag);
	free(e->e_lastmod);
	cache_ns_unref(c, e->e_ns);
	free(e);
}

static struct cache_entry *
cache_entry_ref(struct cache_entry *e)
{
	if (e != NULL)
		e->e_refs++;
	return e;
}

static struct cache_entry *
cache_find(const struct cache *c, const unsigned char *key, size_t len,
    uint64_t hash)
{
	struct cache_entry	*e;

	if (c->c_buckets == NULL)
		return NULL;
	for (e = c->c_buckets[hash & (c->c_nbuckets - 1)]; e != NULL;
	    e = e->e_next)
		if (e->e_hash == hash && e->e_keylen == len &&
		    memcmp(e->e_key, key, len) == 0)
			return e;
	return NULL;
}

static void
cache_unlink(struct cache *c, struct cache_entry *e)
{
	struct cache_entry	**pp;

	if (!e->e_linked)
		return;
	for (pp = &c->c_buckets[e->e_hash & (c->c_nbuckets - 1)]; *pp != e;
	    pp = &(*pp)->e_next)
		;
	*pp = e->e_next;
	TAILQ_REMOVE(&c->c_lru, e, e_lru);
	e->e_linked = 0;
	c->c_entries--;
	c->c_bytes -= e->e_size;
	cache_entry_unref(c, e);
}

/* Past cache.memory: the least recently used go first. */
static void
cache_evict(struct cache *c)
{
	struct cache_entry	*e;

	while (c->c_bytes > c->c_memory &&
	    (e = TAILQ_LAST(&c->c_lru, cache_lru)) != NULL) {
		c->c_evicted++;
		cache_unlink(c, e);
	}
}

/* Twice the buckets once there are more entries than buckets. */
static int
cache_grow(struct cache *c)
{
	struct cache_entry	**nb, *e, *next;
	size_t			 i, n, mask;

	if (c->c_buckets != NULL && c->c_entries < c->c_nbuckets)
		return 0;
	n = c->c_buckets != NULL ? c->c_nbuckets * 2 : CACHE_MIN_BUCKETS;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return c->c_buckets != NULL ? 0 : -1;
	mask = n - 1;
	for (i = 0; i < c->c_nbuckets; i++)
		for (e = c->c_buckets[i]; e != NULL; e = next) {
			next = e->e_next;
			e->e_next = nb[e->e_hash & mask];
			nb[e->e_hash & mask] = e;
		}
	free(c->c_buckets);
	c->c_buckets = nb;
	c->c_nbuckets = n;
	return 0;
}

/* e takes the table's reference; one with the same key goes. */
static int
cache_link(struct cache *c, struct cache_entry *e)
{
	struct cache_entry	*old;
	size_t			 b;

	if ((old = cache_find(c, e->e_key, e->e_keylen, e->e_hash)) != NULL)
		cache_unlink(c, old);
	if (cache_grow(c) == -1)
		return -1;
	b = e->e_hash & (c->c_nbuckets - 1);
	e->e_next = c->c_buckets[b];
	c->c_buckets[b] = e;
	TAILQ_INSERT_HEAD(&c->c_lru, e, e_lru);
	e->e_linked = 1;
	e->e_refs++;
	c->c_entries++;
	c->c_bytes += e->e_size;
	cache_evict(c);
	return 0;
}

static void
cache_touch(struct cache *c, struct cache_entry *e)
{
	if (e->e_linked && TAILQ_FIRST(&c->c_lru) != e) {
		TAILQ_REMOVE(&c->c_lru, e, e_lru);
		TAILQ_INSERT_HEAD(&c->c_lru, e, e_lru);
	}
}

/* --- Freshness (RFC 9111 §4.2) ------------------------------------ */

/* How many lines of a header there are. */
static size_t
cache_header_count(const struct result *rs, const char *name)
{
	size_t	 i, n = 0;

	for (i = 0; i < rs->rs_nheaders; i++)
		n += strcasecmp(rs->rs_headers[i].rh_name, name) == 0;
	return n;
}

/* "Vary: *" anywhere. */
static int
cache_vary_star(const struct result *rs)
{
	const char	*v, *p;
	size_t		 i;

	for (i = 0; i < rs->rs_nheaders; i++) {
		if (strcasecmp(rs->rs_headers[i].rh_name, "Vary") != 0)
			continue;
		for (v = rs->rs_headers[i].rh_value; *v != '\0'; v = p) {
			v += strspn(v, " \t,");
			p = v + strcspn(v, ",");
			if (*v == '*' && v + 1 + strspn(v + 1, " \t") == p)
				return 1;
			if (*p == ',')
				p++;
		}
	}
	return 0;
}

/* What an answer says about its freshness. */
struct cache_fresh {
	int64_t		 f_age;		/* corrected initial age, s */
	int64_t		 f_lifetime;	/* s */
	int64_t		 f_sie;		/* s, or -1 */
	int		 f_no_stale;
	int		 f_explicit;	/* s-maxage, max-age or Expires */
	const char	*f_etag;
	const char	*f_lastmod;
	struct cachehdr_cc f_cc;
};

static void
cache_freshness(const struct result *rs, int64_t sent, int64_t now,
    struct cache_fresh *f)
{
	struct cachehdr_cc	*cc = &f->f_cc;
	const char		*v;
	int64_t			 date, exp, age = 0, apparent, corrected;
	size_t			 i;

	memset(f, 0, sizeof(*f));
	cachehdr_cc_init(cc);
	for (i = 0; i < rs->rs_nheaders; i++)
		if (strcasecmp(rs->rs_headers[i].rh_name, "Cache-Control") == 0)
			cachehdr_cc_parse(cc, rs->rs_headers[i].rh_value,
			    strlen(rs->rs_headers[i].rh_value));
	/* No Date, or not one: the time it came. */
	if ((v = result_header_get(rs, "Date")) == NULL ||
	    cachehdr_date(v, strlen(v), &date) == -1)
		date = now / 1000;
	/* Age: the first member of a list; an invalid one is ignored. */
	if ((v = result_header_get(rs, "Age")) != NULL &&
	    cachehdr_delta(v, strcspn(v, ","), &age) == -1)
		age = 0;
	apparent = now / 1000 - date;
	if (apparent < 0)
		apparent = 0;
	corrected = age + (now - sent) / 1000;
	f->f_age = apparent > corrected ? apparent : corrected;

	f->f_explicit = 1;
	if (cc->cc_s_maxage != CACHEHDR_ABSENT)
		f->f_lifetime = cc->cc_s_maxage;
	else if (cc->cc_max_age != CACHEHDR_ABSENT)
		f->f_lifetime = cc->cc_max_age;
	else if ((v = result_header_get(rs, "Expires")) != NULL) {
		/* Two Expires, or an invalid one: already expired. */
		if (cache_header_count(rs, "Expires") > 1 ||
		    cachehdr_date(v, strlen(v), &exp) == -1 || exp < date)
			f->f_lifetime = 0;
		else
			f->f_lifetime = exp - date;
	} else {
		f->f_explicit = 0;
		f->f_lifetime = 0;
	}
	if (f->f_lifetime < 0)		/* CACHEHDR_INVALID: stale */
		f->f_lifetime = 0;
	f->f_sie = cc->cc_stale_if_error >= 0 ? cc->cc_stale_if_error : -1;
	/* s-maxage implies proxy-revalidate for a shared cache (§5.2.2.10). */
	f->f_no_stale = cc->cc_must_revalidate || cc->cc_proxy_revalidate ||
	    cc->cc_s_maxage != CACHEHDR_ABSENT;
	if ((v = result_header_get(rs, "ETag")) != NULL &&
	    cache_header_count(rs, "ETag") == 1 &&
	    cachehdr_etag_ok(v, strlen(v)))
		f->f_etag = v;
	if ((v = result_header_get(rs, "Last-Modified")) != NULL &&
	    cache_header_count(rs, "Last-Modified") == 1 &&
	    cachehdr_date(v, strlen(v), &exp) == 0)
		f->f_lastmod = v;
}

/* NULL when the answer may be stored, or why not (Cache-Status detail). */
static const char *
cache_storable(const struct cache_ticket *t, const struct result *rs,
    const struct cache_fresh *f)
{
	if (rs->rs_status != 200 && rs->rs_status != 301 &&
	    rs->rs_status != 308)
		return "status";
	if (f->f_cc.cc_no_store)
		return "no-store";
	if (f->f_cc.cc_no_cache)
		return "no-cache";
	if (f->f_cc.cc_private)
		return "private";
	if (cache_vary_star(rs))
		return "vary";
	/* Nothing to go by: no freshness, no validator, no stale-if-error. */
	if (!f->f_explicit && f->f_etag == NULL && f->f_lastmod == NULL &&
	    f->f_sie < 0)
		return "no-freshness";
	/* Stale at once, and of no use on an error either. */
	if (f->f_lifetime == 0 && f->f_etag == NULL && f->f_lastmod == NULL &&
	    f->f_sie < 0 && (f->f_no_stale || t->t_ns->n_stale == 0))
		return "expired";
	if (t->t_epoch != t->t_ns->n_epoch || !t->t_ns->n_live)
		return "changed";
	return NULL;
}

/* ms since the entry came, counted as RFC 9111 §4.2.3 current_age. */
static int64_t
cache_current_age(const struct cache_entry *e, int64_t now)
{
	int64_t	 resident = now - e->e_response;

	return e->e_age * 1000 + (resident > 0 ? resident : 0);
}

static int
cache_fresh(const struct cache_entry *e, int64_t now)
{
	return e->e_lifetime * 1000 > cache_current_age(e, now);
}

/* Remaining freshness in whole seconds (negative: stale for so long). */
static int64_t
cache_ttl(const struct cache_entry *e, int64_t now)
{
	int64_t	 ms = e->e_lifetime * 1000 - cache_current_age(e, now);

	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

/* A stale entry may answer an upstream failure now (RFC 5861). */
static int
cache_stale_ok(const struct cache *c, const struct cache_entry *e,
    int64_t now)
{
	int64_t	 allowed;

	if (e == NULL || !e->e_linked)
		return 0;
	if (e->e_sie >= 0)
		allowed = e->e_sie;
	else if (!e->e_no_stale && e->e_ns->n_stale > 0)
		allowed = e->e_ns->n_stale;
	else
		return 0;
	if (allowed > c->c_stale_max)
		allowed = c->c_stale_max;
	return cache_current_age(e, now) - e->e_lifetime * 1000 <=
	    allowed * 1000;
}

/* --- Storing ---------------------------------------------------------- */

static char *
cache_strdup(const char *s, int *err)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*err = 1;
	return d;
}

/* What an answer takes in memory, near enough. */
static size_t
cache_result_size(const struct result *rs)
{
	size_t	 i, n = rs->rs_bodylen + 1;

	for (i = 0; i < rs->rs_nheaders; i++)
		n += sizeof(*rs->rs_headers) + 2 +
		    rs->rs_headers[i].rh_namelen +
		    rs->rs_headers[i].rh_valuelen;
	return n;
}

/* A deep copy of the keeper's answer; -1 when out of memory. */
static int
cache_result_copy(struct result *d, const struct result *s)
{
	size_t	 i;
	int	 err = 0;

	memset(d, 0, sizeof(*d));
	d->rs_status = s->rs_status;
	if (s->rs_nheaders > 0 && (d->rs_headers = calloc(s->rs_nheaders,
	    sizeof(*d->rs_headers))) == NULL)
		return -1;
	for (i = 0; i < s->rs_nheaders; i++) {
		d->rs_headers[i].rh_name = cache_strdup(
		    s->rs_headers[i].rh_name, &err);
		d->rs_headers[i].rh_value = cache_strdup(
		    s->rs_headers[i].rh_value, &err);
		d->rs_headers[i].rh_namelen = s->rs_headers[i].rh_namelen;
		d->rs_headers[i].rh_valuelen = s->rs_headers[i].rh_valuelen;
		d->rs_nheaders++;
	}
	if ((d->rs_body = malloc(s->rs_bodylen + 1)) == NULL)
		return -1;
	if (s->rs_bodylen > 0)
		memcpy(d->rs_body, s->rs_body, s->rs_bodylen);
	d->rs_body[s->rs_bodylen] = '\0';
	d->rs_bodylen = s->rs_bodylen;
	d->rs_host = cache_strdup(s->rs_host != NULL ? s->rs_host : "", &err);
	d->rs_debug = cache_strdup("", &err);
	return err ? -1 : 0;
}

/* An entry's freshness from f, as it came at now. */
static int
cache_entry_fresh(struct cache_entry *e, const struct cache_fresh *f,
    int64_t now)
{
	int	 err = 0;

	free(e->e_etag);
	free(e->e_lastmod);
	e->e_etag = cache_strdup(f->f_etag, &err);
	e->e_lastmod = cache_strdup(f->f_lastmod, &err);
	e->e_response = now;
	e->e_age = f->f_age;
	e->e_lifetime = f->f_lifetime;
	e->e_sie = f->f_sie;
	e->e_no_stale = f->f_no_stale;
	e->e_retry_until = 0;
	return err ? -1 : 0;
}

static size_t
cache_entry_size(const struct cache_entry *e)
{
	return sizeof(*e) + e->e_keylen + cache_result_size(&e->e_rs) +
	    e->e_outlen +
	    (e->e_etag != NULL ? strlen(e->e_etag) + 1 : 0) +
	    (e->e_lastmod != NULL ? strlen(e->e_lastmod) + 1 : 0);
}

static struct cache_entry *
cache_entry_new(struct cache_ticket *t, const struct result *rs,
    const struct cache_fresh *f, int64_t now)
{
	struct cache_entry	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->e_refs = 1;
	e->e_ns = t->t_ns;
	e->e_ns->n_refs++;
	e->e_hash = t->t_hash;
	e->e_secret = t->t_secret;
	if ((e->e_key = malloc(t->t_keylen)) == NULL ||
	    cache_result_copy(&e->e_rs, rs) == -1 ||
	    cache_entry_fresh(e, f, now) == -1) {
		cache_entry_unref(t->t_cache, e);
		return NULL;
	}
	memcpy(e->e_key, t->t_key, t->t_keylen);
	e->e_keylen = t->t_keylen;
	e->e_size = cache_entry_size(e);
	return e;
}

/* What describes the stored body stays the stored body's on a 304. */
static int
cache_body_header(const char *name)
{
	return strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Content-Encoding") == 0 ||
	    strcasecmp(name, "Content-Type") == 0 ||
	    strcasecmp(name, "Transfer-Encoding") == 0 ||
	    strcasecmp(name, "Content-Range") == 0;
}

/*
 * The stored headers after a 304 (RFC 9111 §3.2): every stored line of a
 * name the 304 carries goes, and the 304's lines of each name come after
 * the lines kept, grouped under the spelling of the name's first line.
 * Both sides are the upstream's (up to RESULT_MAX_HEADERS lines each):
 * names are matched through one rowidx_firsts over the new names and
 * then the stored ones, not by a walk of one side for each line of the
 * other.  Nothing in e changes unless the whole list could be made.
 */
static int
cache_refresh_headers(struct cache_entry *e, const struct result *rs)
{
	struct result_header	*old = e->e_rs.rs_headers, *nh = NULL;
	char			**names;
	size_t			*first, *next, *tail, *new;
	size_t			 m = 0, nold = e->e_rs.rs_nheaders, keep, i, j;
	size_t			 n = 0, total = rs->rs_nheaders + nold + 1;

	/* One block: names, then four index arrays of total each. */
	if ((names = calloc(total, sizeof(*names) + 4 * sizeof(size_t))) ==
	    NULL)
		return -1;
	first = (size_t *)(names + total);
	next = first + total;
	tail = next + total;
	new = tail + total;
	/* names: the 304's lines that replace, then the stored lines. */
	for (i = 0; i < rs->rs_nheaders; i++)
		if (!cache_body_header(rs->rs_headers[i].rh_name)) {
			new[m] = i;
			names[m++] = rs->rs_headers[i].rh_name;
		}
	for (j = 0; j < nold; j++)
		names[m + j] = old[j].rh_name;
	rowidx_firsts(names, m + nold, 1, first);
	/* A stored line stays when no new line bears its name. */
	for (j = keep = 0; j < nold; j++)
		keep += first[m + j] >= m;
	if (keep + m > RESULT_MAX_HEADERS ||
	    (nh = calloc(keep + m + 1, sizeof(*nh))) == NULL)
		goto fail;
	for (j = 0; j < nold; j++)
		if (first[m + j] >= m)
			nh[n++] = old[j];
	/*
	 * The new lines by name in the order of each name's first line:
	 * next[] chains a name's lines, tail[] is where its chain ends.
	 */
	for (i = 0; i < m; i++) {
		next[i] = SIZE_MAX;
		if (first[i] != i)
			next[tail[first[i]]] = i;
		tail[first[i]] = i;
	}
	keep = n;
	for (i = 0; i < m; i++) {
		if (first[i] != i)
			continue;
		for (j = i; j != SIZE_MAX; j = next[j]) {
			nh[n].rh_name = strdup(rs->rs_headers[new[i]].rh_name);
			nh[n].rh_value = strdup(rs->rs_headers[new[j]].rh_value);
			if (nh[n].rh_name == NULL || nh[n].rh_value == NULL) {
				free(nh[n].rh_name);
				free(nh[n].rh_value);
				goto fail_new;
			}
			nh[n].rh_namelen = rs->rs_headers[new[i]].rh_namelen;
			nh[n].rh_valuelen = rs->rs_headers[new[j]].rh_valuelen;
			n++;
		}
	}
	for (j = 0; j < nold; j++)
		if (first[m + j] < m) {
			free(old[j].rh_name);
			free(old[j].rh_value);
		}
	free(old);
	e->e_rs.rs_headers = nh;
	e->e_rs.rs_nheaders = n;
	free(names);
	return 0;

fail_new:
	while (n > keep) {
		n--;
		free(nh[n].rh_name);
		free(nh[n].rh_value);
	}
fail:
	free(nh);
	free(names);
	return -1;
}

/*
 * A 304: the stored headers take the new ones' values (RFC 9111 §3.2),
 * the freshness is the new answer's.
 */
static int
cache_refresh(struct cache *c, struct cache_entry *e, const struct result *rs,
    int64_t sent, int64_t now)
{
	struct cache_fresh	 f;
	size_t			 size;

	if (cache_refresh_headers(e, rs) == -1)
		return -1;
	cache_freshness(&e->e_rs, sent, now, &f);
	if (cache_entry_fresh(e, &f, now) == -1)
		return -1;
	/* The template saw the old headers: its output is rendered anew. */
	free(e->e_out);
	e->e_out = NULL;
	e->e_outlen = 0;
	e->e_has_out = 0;
	size = cache_entry_size(e);
	if (e->e_linked) {
		c->c_bytes = c->c_bytes - e->e_size + size;
		e->e_size = size;
		cache_touch(c, e);
		cache_evict(c);
	} else
		e->e_size = size;
	return 0;
}

/* --- Tickets ------------------------------------------------------------- */

/* Cache-Status names widgetd's cache first (RFC 9211). */
static const char	 cache_status_pre[] = "widgetd; ";
#define CACHE_STATUS_PRE	(sizeof(cache_status_pre) - 1)

static void
cache_status(struct cache_ticket *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cache_status(struct cache_ticket *t, const char *fmt, ...)
{
	va_list			 ap;

	/* Every call sets it once or twice: one printf, not two. */
	memcpy(t->t_status, cache_status_pre, CACHE_STATUS_PRE);
	va_start(ap, fmt);
	vsnprintf(t->t_status + CACHE_STATUS_PRE, sizeof(t->t_status) -
	    CACHE_STATUS_PRE, fmt, ap);
	va_end(ap);
}

/* The same for a fixed text: every uncached call sets one, no printf. */
static void
cache_status_lit(struct cache_ticket *t, const char *what)
{
	memcpy(t->t_status, cache_status_pre, CACHE_STATUS_PRE);
	str_copy(t->t_status + CACHE_STATUS_PRE, sizeof(t->t_status) -
	    CACHE_STATUS_PRE, what);
}

/* "uri-miss" for a call made without an entry, "stale" with one. */
static const char *
cache_fwd(const struct cache_ticket *t)
{
	return t->t_entry != NULL ? "stale" : "uri-miss";
}

static uint64_t
cache_fhash(const struct cache *c, uint64_t hash)
{
	return hash & (c->c_nfbuckets - 1);
}

static struct cache_flight *
cache_flight_find(const struct cache *c, const struct cache_ticket *t)
{
	struct cache_flight	*f;
	struct cache_ticket	*l;

	if (c->c_fbuckets == NULL)
		return NULL;
	for (f = c->c_fbuckets[cache_fhash(c, t->t_hash)]; f != NULL;
	    f = f->f_next) {
		l = f->f_leader;
		if (l->t_hash == t->t_hash && l->t_keylen == t->t_keylen &&
		    memcmp(l->t_key, t->t_key, t->t_keylen) == 0)
			return f;
	}
	return NULL;
}

static int
cache_flight_new(struct cache *c, struct cache_ticket *t)
{
	struct cache_flight	*f, **nb, *g, *next;
	size_t			 i, n, b;

	if (c->c_fbuckets == NULL || c->c_nflights >= c->c_nfbuckets) {
		n = c->c_fbuckets != NULL ? c->c_nfbuckets * 2 :
		    CACHE_MIN_BUCKETS;
		if ((nb = calloc(n, sizeof(*nb))) == NULL)
			return -1;
		for (i = 0; i < c->c_nfbuckets; i++)
			for (g = c->c_fbuckets[i]; g != NULL; g = next) {
				next = g->f_next;
				b = g->f_leader->t_hash & (n - 1);
				g->f_next = nb[b];
				nb[b] = g;
			}
		free(c->c_fbuckets);
		c->c_fbuckets = nb;
		c->c_nfbuckets = n;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	TAILQ_INIT(&f->f_waiters);
	f->f_leader = t;
	b = cache_fhash(c, t->t_hash);
	f->f_next = c->c_fbuckets[b];
	c->c_fbuckets[b] = f;
	c->c_nflights++;
	t->t_flight = f;
	t->t_state = T_LEADER;
	return 0;
}

/* Out of the table: new lookups no longer wait for it. */
static void
cache_flight_land(struct cache *c, struct cache_flight *f,
    enum cache_share share, struct cache_entry *e)
{
	struct cache_flight	**pp;

	if (f == NULL || f->f_landed)
		return;
	for (pp = &c->c_fbuckets[cache_fhash(c, f->f_leader->t_hash)];
	    *pp != f; pp = &(*pp)->f_next)
		;
	*pp = f->f_next;
	c->c_nflights--;
	f->f_landed = 1;
	f->f_share = share;
	f->f_entry = cache_entry_ref(e);
}

static void
cache_flight_free(struct cache *c, struct cache_flight *f)
{
	struct cache_ticket	*w;

	cache_flight_land(c, f, CACHE_SHARE_NONE, NULL);
	/*
	 * Waiters nobody released (the owner should have abandoned the call
	 * first): detached, so that freeing them later is safe.
	 */
	while ((w = TAILQ_FIRST(&f->f_waiters)) != NULL) {
		TAILQ_REMOVE(&f->f_waiters, w, t_wentry);
		w->t_flight = NULL;
		w->t_state = T_SOLO;
	}
	cache_entry_unref(c, f->f_entry);
	free(f);
}

int64_t
cache_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The namespace of a plan in the current generation, made on first use. */
static struct cache_ns *
cache_ns_get(struct cache *c, const struct snapshot *sn, const struct plan *pl)
{
	const struct snap_tenant	*st;
	const struct registry		*reg;
	const struct connector		*cn = NULL;
	const struct composite		*cc = NULL;
	struct cache_tidx		*ti;
	struct cache_ns			*ns, **slot;

	if (pl->pl_tenant >= c->c_ntenants)
		return NULL;
	ti = &c->c_idx[pl->pl_tenant];
	st = &sn->sn_tenants[pl->pl_tenant];
	reg = st->st_reg;
	if (pl->pl_kind == PLAN_CONNECTOR) {
		if (pl->pl_conn >= ti->ti_nconns)
			return NULL;
		slot = &ti->ti_conns[pl->pl_conn];
		cn = &reg->r_conns[pl->pl_conn];
	} else {
		if (pl->pl_conn >= ti->ti_ncomps)
			return NULL;
		cc = &reg->r_comps[pl->pl_conn];
		if (pl->pl_step >= cc->cc_nsteps)
			return NULL;
		slot = &ti->ti_steps[ti->ti_first[pl->pl_conn] + pl->pl_step];
	}
	if (*slot != NULL)
		return *slot;
	if ((ns = calloc(1, sizeof(*ns))) == NULL)
		return NULL;
	ns->n_id = ++c->c_ns_seq;
	ns->n_kind = pl->pl_kind;
	ns->n_step = pl->pl_step;
	ns->n_live = 1;
	ns->n_tenant = strdup(snapshot_tenant_id(sn, st));
	ns->n_permalink = strdup(cn != NULL ? cn->c_permalink :
	    cc->cc_permalink);
	if (ns->n_tenant == NULL || ns->n_permalink == NULL ||
	    cache_ns_define(c, ns, st, cn, cn != NULL ? &cn->c_req :
	    &cc->cc_steps[pl->pl_step].cs_req) == -1) {
		free(ns->n_tenant);
		free(ns->n_permalink);
		free(ns->n_def);
		free(ns);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&c->c_nss, ns, n_entry);
	*slot = ns;
	return ns;
}

/* A validator for the keeper, unless the connector sends that header. */
static int
cache_add_validator(struct plan *pl, const char *name, const char *value)
{
	struct plan_field	*nf, *f;
	size_t			 i;

	for (i = 0; i < pl->pl_nheaders; i++)
		if (strcasecmp(pl->pl_headers[i].pf_name, name) == 0)
			return 0;
	if (pl->pl_nheaders >= PLAN_MAX_FIELDS || (nf = reallocarray(
	    pl->pl_headers, pl->pl_nheaders + 1, sizeof(*nf))) == NULL)
		return -1;
	pl->pl_headers = nf;
	f = &nf[pl->pl_nheaders];
	memset(f, 0, sizeof(*f));
	if ((f->pf_name = strdup(name)) == NULL)
		return -1;
	pl->pl_nheaders++;
	f->pf_src = PLAN_VALIDATOR;
	return plan_field_add(f, value, strlen(value), NULL);
}

struct cache_ticket *
cache_lookup(struct cache *c, const struct snapshot *sn, struct plan *pl,
    int64_t now, void *owner, int flags, enum cache_verdict *v)
{
	struct cache_ticket	*t;
	struct cache_entry	*e;
	struct cache_flight	*f;

	*v = CACHE_SEND;
	/* Every request looks up once: the ticket is the last one freed. */
	if ((t = spare_take(&c->c_tickets, NULL)) != NULL)
		memset(t, 0, sizeof(*t));
	else if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->t_cache = c;
	t->t_owner = owner;
	t->t_sent = now;
	t->t_state = T_BYPASS;
	t->t_outcome = CACHE_O_BYPASS;
	cache_status_lit(t, "fwd=bypass");
	if (strcmp(pl->pl_method, "GET") != 0 &&
	    strcmp(pl->pl_method, "HEAD") != 0) {
		cache_status_lit(t, "fwd=method");
		return t;
	}
	/* Test mode reports what it sent: it goes upstream. */
	if (pl->pl_flags & PLAN_F_DEBUG) {
		cache_status_lit(t, "fwd=request");
		return t;
	}
	if (c->c_memory == 0 || sn->sn_gen != c->c_gen || pl->pl_has_body ||
	    (t->t_ns = cache_ns_get(c, sn, pl)) == NULL)
		return t;
	t->t_ns->n_refs++;
	t->t_epoch = t->t_ns->n_epoch;
	if (cache_key(t, pl) == -1)
		return t;
	t->t_state = T_SOLO;
	t->t_outcome = CACHE_O_MISS;
	if ((e = cache_find(c, t->t_key, t->t_keylen, t->t_hash)) != NULL) {
		if (cache_fresh(e, now)) {
			cache_touch(c, e);
			t->t_entry = cache_entry_ref(e);
			t->t_state = T_BYPASS;
			t->t_outcome = CACHE_O_HIT;
			cache_status(t, "hit; ttl=%lld",
			    (long long)cache_ttl(e, now));
			*v = CACHE_HIT;
			return t;
		}
		/* The upstream asked for a pause: the stale entry meanwhile. */
		if (now < e->e_retry_until && cache_stale_ok(c, e, now)) {
			cache_touch(c, e);
			t->t_entry = cache_entry_ref(e);
			t->t_state = T_BYPASS;
			t->t_outcome = CACHE_O_STALE;
			cache_status(t, "hit; ttl=%lld; detail=retry-after",
			    (long long)cache_ttl(e, now));
			*v = CACHE_HIT;
			return t;
		}
		t->t_entry = cache_entry_ref(e);
	}
	if ((flags & CACHE_L_COLLAPSE) &&
	    (f = cache_flight_find(c, t)) != NULL) {
		t->t_state = T_WAITER;
		t->t_flight = f;
		t->t_outcome = CACHE_O_COLLAPSED;
		TAILQ_INSERT_TAIL(&f->f_waiters, t, t_wentry);
		cache_status(t, "fwd=%s; collapsed", cache_fwd(t));
		*v = CACHE_WAIT;
		return t;
	}
	cache_status(t, "fwd=%s", cache_fwd(t));
	/* Conditional: the keeper accepts these only as PLAN_VALIDATOR. */
	e = t->t_entry;
	if (e != NULL && ((e->e_etag != NULL && cache_add_validator(pl,
	    "If-None-Match", e->e_etag) == -1) || (e->e_lastmod != NULL &&
	    cache_add_validator(pl, "If-Modified-Since", e->e_lastmod) == -1)))
		return t;	/* sent as it is: a plain miss */
	if (flags & CACHE_L_COLLAPSE)
		(void)cache_flight_new(c, t);
	return t;
}

void
cache_ticket_free(struct cache_ticket *t)
{
	struct cache	*c;

	if (t == NULL)
		return;
	c = t->t_cache;
	if (t->t_state == T_WAITER && t->t_flight != NULL)
		TAILQ_REMOVE(&t->t_flight->f_waiters, t, t_wentry);
	else if (t->t_flight != NULL)
		cache_flight_free(c, t->t_flight);
	cache_entry_unref(c, t->t_entry);
	cache_ns_unref(c, t->t_ns);
	free(t->t_key);
	if ((t = spare_put(&c->c_tickets, t, sizeof(*t))) != NULL)
		free(t);
}

void *
cache_ticket_handover(struct cache_ticket *t)
{
	struct cache_flight	*f = t->t_flight;
	struct cache_ticket	*w;

	if (t->t_state != T_LEADER || f == NULL || f->f_landed ||
	    (w = TAILQ_FIRST(&f->f_waiters)) == NULL)
		return NULL;
	TAILQ_REMOVE(&f->f_waiters, w, t_wentry);
	f->f_leader = w;
	w->t_flight = f;
	w->t_state = T_LEADER;
	w->t_outcome = CACHE_O_MISS;
	cache_status(w, "fwd=%s", cache_fwd(w));
	t->t_flight = NULL;
	t->t_state = T_SOLO;
	return w->t_owner;
}

void
cache_ticket_abandon(struct cache_ticket *t)
{
	if (t->t_state == T_LEADER)
		cache_flight_land(t->t_cache, t->t_flight, CACHE_SHARE_NONE,
		    NULL);
}

void *
cache_ticket_waiter(struct cache_ticket *t, enum cache_share *share)
{
	struct cache_flight	*f = t->t_flight;
	struct cache_ticket	*w;

	/* Only the call's owner releases its waiters. */
	if (f == NULL || !f->f_landed || f->f_leader != t ||
	    (w = TAILQ_FIRST(&f->f_waiters)) == NULL)
		return NULL;
	TAILQ_REMOVE(&f->f_waiters, w, t_wentry);
	w->t_flight = NULL;
	*share = f->f_share;
	switch (f->f_share) {
	case CACHE_SHARE_ENTRY:
		cache_entry_unref(t->t_cache, w->t_entry);
		w->t_entry = cache_entry_ref(f->f_entry);
		w->t_state = T_BYPASS;
		break;
	case CACHE_SHARE_ANSWER:
		w->t_state = T_RELEASED;
		break;
	case CACHE_SHARE_NONE:
		/* Its own call; it may store what that brings. */
		w->t_state = T_SOLO;
		w->t_outcome = CACHE_O_MISS;
		cache_status(w, "fwd=%s", cache_fwd(w));
		break;
	}
	return w->t_owner;
}

/* An upstream error that a stale entry may answer (RFC 5861, issue 11). */
static int
cache_error_status(uint32_t status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

/* Retry-After on a 429 or 503: no call for that long, at most 15 s. */
static void
cache_retry_after(struct cache_ticket *t, const struct result *rs,
    int64_t now)
{
	const char	*v;
	int64_t		 secs;

	if (t->t_entry == NULL || (rs->rs_status != 429 &&
	    rs->rs_status != 503) || (v = result_header_get(rs,
	    "Retry-After")) == NULL || cachehdr_retry_after(v, strlen(v),
	    now / 1000, &secs) == -1 || secs == 0)
		return;
	if (secs > CACHE_RETRY_MAX)
		secs = CACHE_RETRY_MAX;
	t->t_entry->e_retry_until = now + secs * 1000;
}

/*
 * The ticket's stale entry answers a failure, or NULL; why the answer
 * itself was not stored, when it was one.
 */
static const struct cache_entry *
cache_stale(struct cache_ticket *t, uint32_t status, const char *why,
    int64_t now)
{
	struct cache_entry	*e = t->t_entry;
	char			 fs[32], ws[48];

	fs[0] = ws[0] = '\0';
	if (status != 0)
		snprintf(fs, sizeof(fs), "; fwd-status=%u", status);
	if (why != NULL)
		snprintf(ws, sizeof(ws), "; detail=%s", why);
	if (!cache_stale_ok(t->t_cache, e, now)) {
		cache_status(t, "fwd=%s%s%s%s", cache_fwd(t), fs, ws,
		    t->t_state == T_RELEASED ? "; collapsed" : "");
		return NULL;
	}
	cache_touch(t->t_cache, e);
	t->t_outcome = CACHE_O_STALE;
	cache_status(t, "fwd=stale%s; ttl=%lld; detail=stale-if-error%s", fs,
	    (long long)cache_ttl(e, now), t->t_state == T_RELEASED ?
	    "; collapsed" : "");
	return e;
}

const struct cache_entry *
cache_answer(struct cache_ticket *t, const struct result *rs, int64_t now)
{
	struct cache		*c = t->t_cache;
	struct cache_entry	*e;
	struct cache_fresh	 f;
	const char		*why, *fwd = cache_fwd(t);

	if (t->t_state == T_RELEASED)
		return cache_error_status(rs->rs_status) ?
		    cache_stale(t, rs->rs_status, NULL, now) : NULL;
	if (t->t_state != T_SOLO && t->t_state != T_LEADER)
		return NULL;
	/* A 304 to the validators this ticket added. */
	if (rs->rs_status == 304 && t->t_entry != NULL) {
		e = t->t_entry;
		if (cache_refresh(c, e, rs, t->t_sent, now) == -1) {
			/*
			 * Out of memory, or more lines than a result holds:
			 * the old entry as it was, not kept any more.
			 */
			cache_unlink(c, e);
		}
		t->t_outcome = CACHE_O_REVALIDATED;
		cache_status(t, "fwd=stale; fwd-status=304; ttl=%lld",
		    (long long)cache_ttl(e, now));
		cache_flight_land(c, t->t_flight, e->e_linked ?
		    CACHE_SHARE_ENTRY : CACHE_SHARE_NONE, e);
		return e;
	}
	cache_freshness(rs, t->t_sent, now, &f);
	if ((why = cache_storable(t, rs, &f)) == NULL) {
		if ((e = cache_entry_new(t, rs, &f, now)) == NULL)
			why = "memory";
		else if (e->e_size > c->c_memory / 4 ||
		    cache_link(c, e) == -1) {
			cache_entry_unref(c, e);
			why = "too-large";
		} else {
			/* The ticket answers from what it stored. */
			cache_entry_unref(c, t->t_entry);
			t->t_entry = e;
			cache_status(t, "fwd=%s; fwd-status=%u; stored; "
			    "ttl=%lld", fwd, rs->rs_status,
			    (long long)cache_ttl(e, now));
			cache_flight_land(c, t->t_flight, CACHE_SHARE_ENTRY, e);
			return e;
		}
	}
	if (cache_error_status(rs->rs_status)) {
		cache_retry_after(t, rs, now);
		cache_flight_land(c, t->t_flight, CACHE_SHARE_ANSWER, NULL);
		return cache_stale(t, rs->rs_status, why, now);
	}
	/* A success the upstream does not let anyone keep replaces none. */
	if (t->t_entry != NULL && rs->rs_status < 400)
		cache_unlink(c, t->t_entry);
	cache_status(t, "fwd=%s; fwd-status=%u; detail=%s", fwd,
	    rs->rs_status, why);
	cache_flight_land(c, t->t_flight, rs->rs_status >= 400 ?
	    CACHE_SHARE_ANSWER : CACHE_SHARE_NONE, NULL);
	return NULL;
}

void
cache_refused(struct cache_ticket *t)
{
	if (t->t_state == T_SOLO || t->t_state == T_LEADER)
		cache_flight_land(t->t_cache, t->t_flight, CACHE_SHARE_ANSWER,
		    NULL);
}

const struct cache_entry *
cache_failed(struct cache_ticket *t, int64_t now)
{
	if (t->t_state != T_SOLO && t->t_state != T_LEADER &&
	    t->t_state != T_RELEASED)
		return NULL;
	/* Shared as a refusal is; a stale entry may answer it. */
	cache_refused(t);
	return cache_stale(t, 0, NULL, now);
}

enum cache_outcome
cache_ticket_outcome(const struct cache_ticket *t)
{
	return t->t_outcome;
}

const char *
cache_ticket_status(const struct cache_ticket *t)
{
	return t->t_status;
}

const struct cache_entry *
cache_ticket_entry(const struct cache_ticket *t)
{
	return t->t_entry;
}

const struct result *
cache_entry_result(const struct cache_entry *e)
{
	return &e->e_rs;
}

const void *
cache_entry_output(const struct cache_entry *e, size_t *len)
{
	if (!e->e_has_out)
		return NULL;
	*len = e->e_outlen;
	return e->e_out != NULL ? (const void *)e->e_out : "";
}

int
cache_ticket_keeps_output(const struct cache_ticket *t)
{
	const struct cache_entry *e = t->t_entry;

	return e != NULL && e->e_linked && !e->e_has_out &&
	    e->e_ns->n_transform && e->e_ns->n_live &&
	    t->t_epoch == e->e_ns->n_epoch;
}

void
cache_ticket_set_output(struct cache_ticket *t, const void *p, size_t len)
{
	struct cache		*c = t->t_cache;
	struct cache_entry	*e = t->t_entry;

	if (!cache_ticket_keeps_output(t) ||
	    e->e_size + len > c->c_memory / 4)
		return;
	if (len > 0) {
		if ((e->e_out = malloc(len)) == NULL)
			return;
		memcpy(e->e_out, p, len);
	}
	e->e_outlen = len;
	e->e_has_out = 1;
	e->e_size += len;
	c->c_bytes += len;
	cache_touch(c, e);
	cache_evict(c);
}

/* --- The whole cache --------------------------------------------- */

struct cache *
cache_new(void)
{
	struct cache	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	TAILQ_INIT(&c->c_nss);
	TAILQ_INIT(&c->c_lru);
	/* getrandom(2) underneath: allowed in the worker's sandbox. */
	arc4random_buf(c->c_seed, sizeof(c->c_seed));
	return c;
}

static void
cache_idx_free(struct cache *c)
{
	size_t	 i;

	for (i = 0; i < c->c_ntenants; i++) {
		free(c->c_idx[i].ti_conns);
		free(c->c_idx[i].ti_steps);
		free(c->c_idx[i].ti_first);
	}
	free(c->c_idx);
	c->c_idx = NULL;
	c->c_ntenants = 0;
}

void
cache_free(struct cache *c)
{
	struct cache_entry	*e;
	struct cache_ns		*ns;
	void			*t;

	if (c == NULL)
		return;
	while ((t = spare_take(&c->c_tickets, NULL)) != NULL)
		free(t);
	while ((e = TAILQ_FIRST(&c->c_lru)) != NULL)
		cache_unlink(c, e);
	while ((ns = TAILQ_FIRST(&c->c_nss)) != NULL) {
		/* Tickets still hold their refs: callers free those first. */
		TAILQ_REMOVE(&c->c_nss, ns, n_entry);
		free(ns->n_tenant);
		free(ns->n_permalink);
		free(ns->n_def);
		free(ns);
	}
	cache_idx_free(c);
	free(c->c_buckets);
	free(c->c_fbuckets);
	free(c);
}

/* Drop the entries of every namespace marked n_drop (one pass). */
static void
cache_drop_marked(struct cache *c, const char *secrets_of)
{
	struct cache_entry	*e, *next;
	struct cache_ns		*ns;

	for (e = TAILQ_FIRST(&c->c_lru); e != NULL; e = next) {
		next = TAILQ_NEXT(e, e_lru);
		if (e->e_ns->n_drop || (secrets_of != NULL && e->e_secret &&
		    strcmp(e->e_ns->n_tenant, secrets_of) == 0)) {
			c->c_dropped++;
			cache_unlink(c, e);
		}
	}
	TAILQ_FOREACH(ns, &c->c_nss, n_entry)
		ns->n_drop = 0;
}

void
cache_secrets_changed(struct cache *c, const char *tenant)
{
	struct cache_ns	*ns;

	/* Calls in flight were made with the old values: not stored. */
	TAILQ_FOREACH(ns, &c->c_nss, n_entry)
		if (strcmp(ns->n_tenant, tenant) == 0)
			ns->n_epoch++;
	cache_drop_marked(c, tenant);
}

/* An index for sn's tenants, every slot empty. */
static int
cache_idx_new(struct cache *c, const struct snapshot *sn)
{
	const struct registry	*reg;
	struct cache_tidx	*ti;
	size_t			 i, k, n = sn->sn_cfg->c_ntenants;

	if ((c->c_idx = calloc(n ? n : 1, sizeof(*c->c_idx))) == NULL)
		return -1;
	c->c_ntenants = n;
	for (i = 0; i < n; i++) {
		ti = &c->c_idx[i];
		reg = sn->sn_tenants[i].st_reg;
		ti->ti_nconns = reg->r_nconns;
		ti->ti_ncomps = reg->r_ncomps;
		for (k = 0; k < reg->r_ncomps; k++)
			ti->ti_nsteps += reg->r_comps[k].cc_nsteps;
		if ((ti->ti_conns = calloc(ti->ti_nconns + 1,
		    sizeof(*ti->ti_conns))) == NULL ||
		    (ti->ti_steps = calloc(ti->ti_nsteps + 1,
		    sizeof(*ti->ti_steps))) == NULL ||
		    (ti->ti_first = calloc(ti->ti_ncomps + 1,
		    sizeof(*ti->ti_first))) == NULL)
			return -1;
		for (k = 1; k < reg->r_ncomps; k++)
			ti->ti_first[k] = ti->ti_first[k - 1] +
			    reg->r_comps[k - 1].cc_nsteps;
	}
	return 0;
}

/* Where a namespace that lives on sits in the new index. */
static void
cache_idx_place(struct cache *c, const struct snapshot *sn,
    const struct snap_tenant *st, struct cache_ns *ns,
    const struct connector *cn)
{
	struct cache_tidx	*ti = &c->c_idx[st->st_index];
	const struct composite	*cc;

	(void)sn;
	if (cn != NULL) {
		ti->ti_conns[cn->c_index] = ns;
		return;
	}
	cc = registry_composite(st->st_reg, ns->n_permalink);
	ti->ti_steps[ti->ti_first[cc->cc_index] + ns->n_step] = ns;
}

void
cache_generation(struct cache *c, const struct snapshot *sn)
{
	const struct widgetd_config	*cfg = sn->sn_cfg;
	const struct snap_tenant	*st;
	const struct connector		*cn;
	const struct conn_request	*cr;
	struct cache_ns			*ns, *next;
	unsigned char			*def;
	size_t				 len;
	int				 any = 0;

	c->c_gen = sn->sn_gen;
	c->c_memory = cfg->c_cache_memory;
	c->c_stale_max = cfg->c_cache_stale_max;
	c->c_limits = cfg->c_limits;
	cache_idx_free(c);
	if (cache_idx_new(c, sn) == -1) {
		/* No index: every lookup bypasses until the next one. */
		cache_idx_free(c);
		c->c_gen = 0;
	}
	for (ns = TAILQ_FIRST(&c->c_nss); ns != NULL; ns = next) {
		next = TAILQ_NEXT(ns, n_entry);
		st = NULL;
		cr = c->c_gen != 0 ? cache_ns_request(sn, ns, &st, &cn) : NULL;
		def = NULL;
		if (cr != NULL && cache_def(c, st, cn, cr, &def, &len) == 0 &&
		    len == ns->n_deflen && memcmp(def, ns->n_def, len) == 0) {
			/* Unchanged: its entries live on. */
			free(def);
			cache_idx_place(c, sn, st, ns, cn);
			continue;
		}
		free(def);
		ns->n_epoch++;
		ns->n_drop = 1;
		any = 1;
		if (cr != NULL && cache_ns_define(c, ns, st, cn, cr) == 0)
			cache_idx_place(c, sn, st, ns, cn);
		else
			ns->n_live = 0;
	}
	if (any)
		cache_drop_marked(c, NULL);
	/* Namespaces of what is gone, that nothing holds any more. */
	for (ns = TAILQ_FIRST(&c->c_nss); ns != NULL; ns = next) {
		next = TAILQ_NEXT(ns, n_entry);
		if (!ns->n_live && ns->n_refs == 0) {
			ns->n_refs = 1;
			cache_ns_unref(c, ns);
		}
	}
	/* A smaller cache.memory takes effect now. */
	cache_evict(c);
}

void
cache_totals(const struct cache *c, struct cache_totals *ct)
{
	ct->ct_entries = c->c_entries;
	ct->ct_bytes = c->c_bytes;
	ct->ct_memory = c->c_memory;
	ct->ct_evicted = c->c_evicted;
	ct->ct_dropped = c->c_dropped;
}
