/*
 * plan.c — encoding of MSG_CALL, MSG_RESULT and MSG_FAIL (see plan.h).
 *
 * The worker encodes plans and decodes answers; the keeper does the
 * reverse.  The keeper must treat a plan as hostile: every count is
 * bounded before anything is allocated for it, secret trees are bounded in
 * depth and size, and strings that become header names, values or a URL
 * never carry a NUL.
 */
#include "build.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipc.h"
#include "plan.h"
#include "spare.h"
#include "template/template.h"

/* Secret tree nodes on the wire: what is present besides the op. */
#define TSW_DATA	0x01
#define TSW_ALG		0x02
#define TSW_HEADERS	0x04
#define TSW_LITERAL	0x08

static int
plan_put_tree(struct ipc_buf *b, const struct tsecret *ts, int depth)
{
	uint32_t	 f = 0;
	size_t		 i;

	if (depth > PLAN_MAX_DEPTH)
		return -1;
	if (ts->ts_data != NULL)
		f |= TSW_DATA;
	if (ts->ts_alg != NULL)
		f |= TSW_ALG;
	if (ts->ts_headers != NULL)
		f |= TSW_HEADERS;
	if (ts->ts_literal != NULL)
		f |= TSW_LITERAL;
	if (ipc_put_u32(b, ts->ts_op) == -1 || ipc_put_u32(b, f) == -1 ||
	    ((f & TSW_DATA) && ipc_put_bytes(b, ts->ts_data,
	    ts->ts_len) == -1) ||
	    ((f & TSW_ALG) && ipc_put_str(b, ts->ts_alg) == -1) ||
	    ((f & TSW_HEADERS) && ipc_put_str(b, ts->ts_headers) == -1) ||
	    ((f & TSW_LITERAL) && ipc_put_str(b, ts->ts_literal) == -1) ||
	    ipc_put_u32(b, (uint32_t)ts->ts_nkids) == -1)
		return -1;
	for (i = 0; i < ts->ts_nkids; i++)
		if (plan_put_tree(b, ts->ts_kids[i], depth + 1) == -1)
			return -1;
	return 0;
}

/* Bytes that may hold a NUL (a literal), as a NUL-terminated copy. */
static int
plan_get_blob(struct ipc_msg *m, char **out, size_t *lenp)
{
	const void	*p;
	size_t		 len;

	*out = NULL;
	if (ipc_get_bytes(m, &p, &len) == -1 ||
	    (*out = malloc(len + 1)) == NULL)
		return -1;
	memcpy(*out, p, len);
	(*out)[len] = '\0';
	*lenp = len;
	return 0;
}

/* --- Fields --------------------------------------------------------------- */

void
plan_field_clear(struct plan_field *f)
{
	size_t	 i;

	if (!f->pf_name_kept)
		free(f->pf_name);
	for (i = 0; i < f->pf_nsegs; i++) {
		free(f->pf_segs[i].ps_data);
		tsecret_free(f->pf_segs[i].ps_secret);
	}
	free(f->pf_segs);
	memset(f, 0, sizeof(*f));
}

int
plan_field_add(struct plan_field *f, const char *data, size_t len,
    struct tsecret *secret)
{
	struct plan_seg	*ns, *sg;
	size_t		 cap;

	/* Room for two at first: a prefix and a secret ("Bearer " …). */
	if (f->pf_nsegs >= f->pf_csegs) {
		cap = f->pf_nsegs < 2 ? 2 : f->pf_nsegs * 2;
		if (cap > PLAN_MAX_SEGS)
			cap = f->pf_nsegs + 1;
		if ((ns = reallocarray(f->pf_segs, cap, sizeof(*ns))) ==
		    NULL) {
			tsecret_free(secret);
			return -1;
		}
		f->pf_segs = ns;
		f->pf_csegs = cap;
	}
	sg = &f->pf_segs[f->pf_nsegs];
	memset(sg, 0, sizeof(*sg));
	if (secret != NULL)
		sg->ps_secret = secret;
	else {
		if ((sg->ps_data = malloc(len + 1)) == NULL)
			return -1;
		memcpy(sg->ps_data, data, len);
		sg->ps_data[len] = '\0';
		sg->ps_len = len;
	}
	f->pf_nsegs++;
	return 0;
}

int
plan_field_has_secret(const struct plan_field *f)
{
	size_t	 i;

	for (i = 0; i < f->pf_nsegs; i++)
		if (f->pf_segs[i].ps_secret != NULL)
			return 1;
	return 0;
}

static int
plan_put_fields(struct ipc_buf *b, const struct plan_field *fs, size_t n)
{
	size_t	 i, j;

	if (n > PLAN_MAX_FIELDS || n > UINT32_MAX ||
	    ipc_put_u32(b, (uint32_t)n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (ipc_put_u32(b, fs[i].pf_src) == -1 ||
		    ipc_put_u32(b, fs[i].pf_row) == -1 ||
		    ipc_put_str(b, fs[i].pf_name) == -1 ||
		    fs[i].pf_nsegs > PLAN_MAX_SEGS ||
		    ipc_put_u32(b, (uint32_t)fs[i].pf_nsegs) == -1)
			return -1;
		for (j = 0; j < fs[i].pf_nsegs; j++) {
			const struct plan_seg *sg = &fs[i].pf_segs[j];

			if (sg->ps_secret != NULL) {
				if (ipc_put_u32(b, 1) == -1 ||
				    plan_put_tree(b, sg->ps_secret, 0) == -1)
					return -1;
			} else if (ipc_put_u32(b, 0) == -1 ||
			    ipc_put_bytes(b, sg->ps_data, sg->ps_len) == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * A plan is decoded in two passes over the message, as a result is: the
 * first checks everything and counts the bytes, the second carves every
 * field, segment, secret node and string out of one block (fifteen
 * allocations for a simple api_key call otherwise).  While counting,
 * d_cur is NULL and nothing is stored.
 */
struct plan_dec {
	struct ipc_msg	*d_m;
	char		*d_cur;
	size_t		 d_need;
	size_t		 d_nodes;
	const char	*d_why;
};

#define PLAN_ALIGN	_Alignof(max_align_t)

/* n bytes of the block, aligned for anything; NULL while counting. */
static void *
plan_take_raw(struct plan_dec *d, size_t n)
{
	void	*p;

	n = (n + PLAN_ALIGN - 1) & ~(PLAN_ALIGN - 1);
	if (d->d_cur == NULL) {
		d->d_need += n;
		return NULL;
	}
	p = d->d_cur;
	d->d_cur += n;
	return p;
}

/* The same zeroed, for a structure; bytes are copied over whole. */
static void *
plan_take(struct plan_dec *d, size_t n)
{
	void	*p;

	if ((p = plan_take_raw(d, n)) != NULL)
		memset(p, 0, n);
	return p;
}

/*
 * Bytes as a NUL-terminated copy in *out; a string (blob 0) may not hold
 * a NUL.  *rawp, when asked for, is the message's own bytes.
 */
static int
plan_dec_bytes(struct plan_dec *d, char **out, size_t *lenp,
    const void **rawp, int blob)
{
	const void	*p;
	size_t		 len;
	char		*s;

	/* The second pass stores what the first checked, byte for byte. */
	if (ipc_get_bytes(d->d_m, &p, &len) == -1 ||
	    (!blob && d->d_cur == NULL && memchr(p, '\0', len) != NULL))
		return -1;
	if ((s = plan_take_raw(d, len + 1)) != NULL) {
		memcpy(s, p, len);
		s[len] = '\0';
		*out = s;
	}
	if (lenp != NULL)
		*lenp = len;
	if (rawp != NULL)
		*rawp = p;
	return 0;
}

/* A secret expression; *out is set on the second pass. */
static int
plan_dec_tree(struct plan_dec *d, int depth, struct tsecret **out)
{
	struct tsecret	 skip, *ts;
	const void	*data = NULL;
	uint32_t	 op, f, n, i;
	size_t		 len = 0;

	if (depth > PLAN_MAX_DEPTH || ++d->d_nodes > PLAN_MAX_NODES) {
		d->d_why = "secret expression too large";
		return -1;
	}
	if (ipc_get_u32(d->d_m, &op) == -1 || ipc_get_u32(d->d_m, &f) == -1 ||
	    (f & ~(TSW_DATA | TSW_ALG | TSW_HEADERS | TSW_LITERAL)) != 0 ||
	    op > TSX_JWT)
		return -1;
	if ((ts = plan_take(d, sizeof(*ts))) == NULL) {
		memset(&skip, 0, sizeof(skip));
		ts = &skip;
	}
	ts->ts_op = op;
	if (((f & TSW_DATA) && plan_dec_bytes(d, &ts->ts_data, &len, &data,
	    1) == -1) ||
	    ((f & TSW_ALG) && plan_dec_bytes(d, &ts->ts_alg, NULL, NULL,
	    0) == -1) ||
	    ((f & TSW_HEADERS) && plan_dec_bytes(d, &ts->ts_headers, NULL,
	    NULL, 0) == -1) ||
	    ((f & TSW_LITERAL) && plan_dec_bytes(d, &ts->ts_literal, NULL,
	    NULL, 0) == -1) ||
	    ipc_get_u32(d->d_m, &n) == -1 || n > PLAN_MAX_NODES)
		return -1;
	ts->ts_len = len;
	/* The shape each operation has when the engine builds it. */
	switch (op) {
	case TSX_LITERAL:
		if (!(f & TSW_DATA) || n != 0)
			goto shape;
		break;
	case TSX_SECRET:
		if (!(f & TSW_DATA) || n != 0 || len == 0 ||
		    (d->d_cur == NULL && memchr(data, '\0', len) != NULL))
			goto shape;
		break;
	case TSX_CONCAT:
		if (n < 1)
			goto shape;
		break;
	case TSX_URLENCODE:
	case TSX_BASE64:
		if (n != 1)
			goto shape;
		break;
	case TSX_JWT:
		if (n != 1 || !(f & TSW_DATA) || !(f & TSW_ALG) ||
		    !(f & TSW_HEADERS))
			goto shape;
		break;
	}
	if (n > 0)
		ts->ts_kids = plan_take(d, n * sizeof(*ts->ts_kids));
	for (i = 0; i < n; i++)
		if (plan_dec_tree(d, depth + 1, ts->ts_kids != NULL ?
		    &ts->ts_kids[i] : NULL) == -1)
			return -1;
	ts->ts_nkids = n;
	if (out != NULL && ts != &skip)
		*out = ts;
	return 0;
shape:
	d->d_why = "malformed secret expression";
	return -1;
}

static int
plan_dec_fields(struct plan_dec *d, struct plan_field **out, size_t *nout,
    uint32_t minsrc, uint32_t maxsrc)
{
	struct ipc_msg		*m = d->d_m;
	struct plan_field	 skipf, *fs, *f;
	struct plan_seg		 skips, *sg;
	uint32_t		 n, nsegs, kind, i, j;
	size_t			 namelen;

	if (ipc_get_u32(m, &n) == -1)
		return -1;
	if (n > PLAN_MAX_FIELDS) {
		d->d_why = "too many fields";
		return -1;
	}
	if (n == 0)
		return 0;
	if ((fs = plan_take(d, n * sizeof(*fs))) != NULL) {
		*out = fs;
		*nout = n;
	}
	for (i = 0; i < n; i++) {
		if ((f = fs != NULL ? &fs[i] : NULL) == NULL) {
			memset(&skipf, 0, sizeof(skipf));
			f = &skipf;
		}
		if (ipc_get_u32(m, &f->pf_src) == -1 ||
		    f->pf_src < minsrc || f->pf_src > maxsrc ||
		    ipc_get_u32(m, &f->pf_row) == -1 ||
		    plan_dec_bytes(d, &f->pf_name, &namelen, NULL, 0) == -1 ||
		    namelen > PLAN_MAX_NAME ||
		    ipc_get_u32(m, &nsegs) == -1 || nsegs > PLAN_MAX_SEGS)
			return -1;
		if (nsegs > 0)
			f->pf_segs = plan_take(d, nsegs * sizeof(*f->pf_segs));
		f->pf_nsegs = nsegs;
		for (j = 0; j < nsegs; j++) {
			if ((sg = f->pf_segs != NULL ? &f->pf_segs[j] :
			    NULL) == NULL) {
				memset(&skips, 0, sizeof(skips));
				sg = &skips;
			}
			if (ipc_get_u32(m, &kind) == -1 || kind > 1)
				return -1;
			if (kind == 1) {
				if (plan_dec_tree(d, 0, &sg->ps_secret) == -1)
					return -1;
			} else if (plan_dec_bytes(d, &sg->ps_data, &sg->ps_len,
			    NULL, 1) == -1)
				return -1;
		}
	}
	return 0;
}

int
plan_header_reserved(const char *name)
{
	/* Lengths first: every header of every call is asked about. */
	static const struct {
		const char	*r_name;
		size_t		 r_len;
	} reserved[] = {
		{ "host", 4 }, { "content-length", 14 },
		{ "transfer-encoding", 17 }, { "connection", 10 },
		{ "keep-alive", 10 }, { "upgrade", 7 }, { "te", 2 },
		{ "trailer", 7 }, { "expect", 6 }, { "proxy-authorization", 19 },
		{ "proxy-connection", 16 },
	};
	size_t	 i, len = strlen(name);

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (reserved[i].r_len == len &&
		    strcasecmp(name, reserved[i].r_name) == 0)
			return 1;
	return 0;
}

/* --- MSG_CALL ------------------------------------------------------------- */

int
plan_encode(struct ipc_buf *b, const struct plan *pl)
{
	ipc_buf_init(b);
	if (ipc_put_u64(b, pl->pl_gen) == -1 ||
	    ipc_put_u32(b, pl->pl_tenant) == -1 ||
	    ipc_put_u32(b, pl->pl_kind) == -1 ||
	    ipc_put_u32(b, pl->pl_conn) == -1 ||
	    ipc_put_u32(b, pl->pl_step) == -1 ||
	    ipc_put_u32(b, pl->pl_flags) == -1 ||
	    ipc_put_str(b, pl->pl_reqid != NULL ? pl->pl_reqid : "") == -1 ||
	    ipc_put_str(b, pl->pl_method) == -1 ||
	    ipc_put_str(b, pl->pl_url) == -1 ||
	    plan_put_fields(b, pl->pl_headers, pl->pl_nheaders) == -1 ||
	    plan_put_fields(b, pl->pl_query, pl->pl_nquery) == -1 ||
	    pl->pl_nauth > PLAN_MAX_AUTH ||
	    plan_put_fields(b, pl->pl_auth, pl->pl_nauth) == -1 ||
	    ipc_put_u32(b, (uint32_t)pl->pl_has_body) == -1 ||
	    ipc_put_bytes(b, pl->pl_body, pl->pl_bodylen) == -1)
		return -1;
	return 0;
}

/*
 * A decoded plan's block (the keeper decodes one a call) and a decoded
 * answer's (its headers and strings, ~1 KiB; the worker decodes one a
 * request): blocks of up to ARENA_KEEP bytes are wiped and kept for the
 * next of their kind, made in ARENA_ROUND steps so that the next one's
 * fits.
 */
#define ARENA_ROUND	512
#define ARENA_KEEP	8192

static struct spare	 plan_arenas;
static struct spare	 result_arenas;

static void *
arena_new(struct spare *sp, size_t need, size_t *capp)
{
	void	*p;

	if ((p = spare_take_fit(sp, need, capp)) != NULL)
		return p;
	if (need <= ARENA_KEEP)
		need = (need + ARENA_ROUND - 1) / ARENA_ROUND * ARENA_ROUND;
	*capp = need;
	return malloc(need);
}

static void
arena_free(struct spare *sp, void *p, size_t cap)
{
	if (p == NULL)
		return;
	explicit_bzero(p, cap);
	if (cap > ARENA_KEEP || (p = spare_put(sp, p, cap)) != NULL)
		free(p);
}

void
plan_arenas_free(void)
{
	void	*p;

	while ((p = spare_take(&plan_arenas, NULL)) != NULL)
		free(p);
	while ((p = spare_take(&result_arenas, NULL)) != NULL)
		free(p);
}

void
plan_clear(struct plan *pl)
{
	size_t	 i;

	if (pl->pl_arena != NULL) {
		/* plan_decode's: everything is in it. */
		arena_free(&plan_arenas, pl->pl_arena, pl->pl_arenacap);
		memset(pl, 0, sizeof(*pl));
		return;
	}
	free(pl->pl_url);
	for (i = 0; i < pl->pl_nheaders; i++)
		plan_field_clear(&pl->pl_headers[i]);
	free(pl->pl_headers);
	for (i = 0; i < pl->pl_nquery; i++)
		plan_field_clear(&pl->pl_query[i]);
	free(pl->pl_query);
	for (i = 0; i < pl->pl_nauth; i++)
		plan_field_clear(&pl->pl_auth[i]);
	free(pl->pl_auth);
	free(pl->pl_body);
	memset(pl, 0, sizeof(*pl));
}

int
plan_decode(struct ipc_msg *m, struct plan *pl, const char **why)
{
	struct plan_dec	 d;
	struct plan	 skip;
	char		*reqid = NULL, *method = NULL;
	size_t		 start = m->m_off, len;
	uint32_t	 hb;
	int		 pass;

	memset(pl, 0, sizeof(*pl));
	memset(&d, 0, sizeof(d));
	d.d_m = m;
	for (pass = 0; pass < 2; pass++) {
		m->m_off = start;
		d.d_nodes = 0;
		if (pass == 1) {
			/* Checked: the same walk now stores. */
			if ((pl->pl_arena = arena_new(&plan_arenas, d.d_need,
			    &pl->pl_arenacap)) == NULL)
				goto bad;
			pl->pl_arenalen = d.d_need;
			d.d_cur = pl->pl_arena;
		}
		memset(&skip, 0, sizeof(skip));
		if (ipc_get_u64(m, &pl->pl_gen) == -1 ||
		    ipc_get_u32(m, &pl->pl_tenant) == -1 ||
		    ipc_get_u32(m, &pl->pl_kind) == -1 ||
		    ipc_get_u32(m, &pl->pl_conn) == -1 ||
		    ipc_get_u32(m, &pl->pl_step) == -1 ||
		    ipc_get_u32(m, &pl->pl_flags) == -1 ||
		    plan_dec_bytes(&d, &reqid, NULL, NULL, 0) == -1 ||
		    plan_dec_bytes(&d, &method, NULL, NULL, 0) == -1 ||
		    plan_dec_bytes(&d, &pl->pl_url, NULL, NULL, 0) == -1 ||
		    plan_dec_fields(&d, &pl->pl_headers, &pl->pl_nheaders,
		    PLAN_ROW, PLAN_TRACE) == -1 ||
		    plan_dec_fields(&d, &pl->pl_query, &pl->pl_nquery,
		    PLAN_ROW, PLAN_VALIDATOR) == -1 ||
		    plan_dec_fields(&d, &pl->pl_auth, &pl->pl_nauth,
		    PA_CLIENT_ID, PA_LAST) == -1 ||
		    ipc_get_u32(m, &hb) == -1 || hb > 1 ||
		    plan_dec_bytes(&d, (char **)&pl->pl_body, &len, NULL,
		    1) == -1 ||
		    ipc_get_end(m) == -1)
			goto bad;
	}
	if (d.d_cur != (char *)pl->pl_arena + pl->pl_arenalen) {
		/* The passes disagree: a bug here, never the message's. */
		d.d_why = "plan decoder inconsistent";
		goto bad;
	}
	pl->pl_reqid = reqid;
	pl->pl_method = method;
	pl->pl_bodylen = len;
	pl->pl_has_body = (int)hb;
	if (pl->pl_kind != PLAN_CONNECTOR && pl->pl_kind != PLAN_STEP &&
	    pl->pl_kind != PLAN_TEST) {
		*why = "unknown plan kind";
		plan_clear(pl);
		return -1;
	}
	*why = NULL;
	return 0;
bad:
	*why = d.d_why != NULL ? d.d_why : "malformed plan";
	/* Nothing but the block was allocated; the counts point nowhere. */
	arena_free(&plan_arenas, pl->pl_arena, pl->pl_arenacap);
	memset(pl, 0, sizeof(*pl));
	return -1;
}

/* --- MSG_RESULT ----------------------------------------------------------- */

/*
 * MSG_RESULT in three pieces: head (up to the body's length), the body's
 * own bytes, tail.  The keeper sends the pieces as one frame without first
 * copying the body into a payload buffer (chan_sendv).
 */
/* An answer's status, headers and body length: what precedes its body. */
static int
result_put_head(struct ipc_buf *b, const struct result *rs)
{
	size_t	 i;

	if (rs->rs_nheaders > RESULT_MAX_HEADERS ||
	    rs->rs_bodylen > IPC_MAX_PAYLOAD ||
	    (rs->rs_bodylen > 0 && rs->rs_body == NULL) ||
	    ipc_put_u32(b, rs->rs_status) == -1 ||
	    ipc_put_u32(b, (uint32_t)rs->rs_nheaders) == -1)
		return -1;
	for (i = 0; i < rs->rs_nheaders; i++)
		if (ipc_put_bytes(b, rs->rs_headers[i].rh_name,
		    rs->rs_headers[i].rh_namelen) == -1 ||
		    ipc_put_bytes(b, rs->rs_headers[i].rh_value,
		    rs->rs_headers[i].rh_valuelen) == -1)
			return -1;
	return ipc_put_u32(b, (uint32_t)rs->rs_bodylen);
}

/* What follows its body: host, timings, counts, debug. */
static int
result_put_tail(struct ipc_buf *b, const struct result *rs)
{
	if (ipc_put_str(b, rs->rs_host != NULL ? rs->rs_host : "") == -1 ||
	    ipc_put_u64(b, rs->rs_dns_us) == -1 ||
	    ipc_put_u64(b, rs->rs_connect_us) == -1 ||
	    ipc_put_u64(b, rs->rs_tls_us) == -1 ||
	    ipc_put_u64(b, rs->rs_ttfb_us) == -1 ||
	    ipc_put_u64(b, rs->rs_total_us) == -1 ||
	    ipc_put_u32(b, rs->rs_reused) == -1 ||
	    ipc_put_u32(b, rs->rs_redacted) == -1 ||
	    ipc_put_str(b, rs->rs_debug != NULL ? rs->rs_debug : "") == -1)
		return -1;
	return 0;
}

int
result_encode_parts(struct ipc_buf *b, size_t *headlen,
    const struct result *rs)
{
	ipc_buf_init(b);
	*headlen = 0;
	if (result_put_head(b, rs) == -1)
		goto fail;
	*headlen = b->b_len;
	if (result_put_tail(b, rs) == -1)
		goto fail;
	/* One frame must carry the three. */
	if (rs->rs_bodylen > IPC_MAX_PAYLOAD - b->b_len)
		goto fail;
	return 0;
fail:
	ipc_buf_clear(b);
	*headlen = 0;
	return -1;
}

int
result_encode(struct ipc_buf *b, const struct result *rs)
{
	ipc_buf_init(b);
	if (result_put_head(b, rs) == -1 ||
	    ipc_put_raw(b, rs->rs_body, rs->rs_bodylen) == -1 ||
	    result_put_tail(b, rs) == -1) {
		ipc_buf_clear(b);
		return -1;
	}
	return 0;
}

const char *
result_header_get(const struct result *rs, const char *name)
{
	size_t	 i;

	for (i = 0; i < rs->rs_nheaders; i++)
		if (strcasecmp(rs->rs_headers[i].rh_name, name) == 0)
			return rs->rs_headers[i].rh_value;
	return NULL;
}

void
result_clear(struct result *rs)
{
	size_t	 i;

	if (rs->rs_arena != NULL)
		arena_free(&result_arenas, rs->rs_arena, rs->rs_arenacap);
	else {
		for (i = 0; i < rs->rs_nheaders; i++) {
			free(rs->rs_headers[i].rh_name);
			free(rs->rs_headers[i].rh_value);
		}
		free(rs->rs_headers);
		free(rs->rs_host);
		free(rs->rs_debug);
	}
	if (rs->rs_frame != NULL)
		ipc_kept_free(rs->rs_frame, rs->rs_framecap);
	else
		free(rs->rs_body);
	memset(rs, 0, sizeof(*rs));
}

void *
result_take_frame(struct result *rs, size_t *capp)
{
	void	*frame = rs->rs_frame;

	if (frame == NULL)
		return NULL;
	*capp = rs->rs_framecap;
	rs->rs_frame = NULL;
	rs->rs_framecap = 0;
	rs->rs_body = NULL;
	rs->rs_bodylen = 0;
	return frame;
}

/*
 * A string of the result: counted on the first pass (*cur NULL), copied
 * to *cur on the second.
 */
static int
result_get_str(struct ipc_msg *m, char **sp, size_t *lenp, char **cur,
    size_t *need)
{
	const void	*p;
	size_t		 len;

	/* The second pass copies what the first checked. */
	if (ipc_get_bytes(m, &p, &len) == -1 ||
	    (*cur == NULL && memchr(p, '\0', len) != NULL))
		return -1;
	*lenp = len;
	if (*cur == NULL) {
		*need += len + 1;
		return 0;
	}
	memcpy(*cur, p, len);
	(*cur)[len] = '\0';
	*sp = *cur;
	*cur += len + 1;
	return 0;
}

/*
 * Two passes over the message: the first checks it and counts what its
 * strings take, the second copies them into one block (an answer's
 * headers are most of its allocations otherwise, two a line).
 */
int
result_decode(struct ipc_msg *m, struct result *rs, const char **why)
{
	struct result_header	 skip, *h;
	uint32_t		 n, i;
	size_t			 len, slen, start = m->m_off, need;
	char			*cur = NULL;
	const void		*body = NULL;
	int			 pass;

	memset(rs, 0, sizeof(*rs));
	*why = "malformed result";
	for (pass = 0; pass < 2; pass++) {
		m->m_off = start;
		if (ipc_get_u32(m, &rs->rs_status) == -1 ||
		    rs->rs_status < 100 || rs->rs_status > 999 ||
		    ipc_get_u32(m, &n) == -1 || n > RESULT_MAX_HEADERS)
			goto bad;
		if (pass == 0)
			need = n * sizeof(*rs->rs_headers);
		else {
			if ((rs->rs_arena = arena_new(&result_arenas, need,
			    &rs->rs_arenacap)) == NULL)
				goto bad;
			rs->rs_headers = rs->rs_arena;
			rs->rs_nheaders = n;
			cur = (char *)rs->rs_arena +
			    n * sizeof(*rs->rs_headers);
		}
		for (i = 0; i < n; i++) {
			h = pass == 0 ? &skip : &rs->rs_headers[i];
			if (result_get_str(m, &h->rh_name, &h->rh_namelen,
			    &cur, &need) == -1 || result_get_str(m,
			    &h->rh_value, &h->rh_valuelen, &cur, &need) == -1)
				goto bad;
		}
		/*
		 * The answer's bytes stay where ipc_get left them (the
		 * frame of a large one, the copy of a small one): that
		 * buffer becomes the result's.  One kept already is copied.
		 */
		if (pass == 1)
			rs->rs_frame = ipc_msg_keep(m, &rs->rs_framecap);
		if ((pass == 0 || rs->rs_frame != NULL ?
		    ipc_get_bytes(m, &body, &len) :
		    plan_get_blob(m, (char **)&rs->rs_body, &len)) == -1 ||
		    result_get_str(m, &rs->rs_host, &slen, &cur, &need) == -1 ||
		    ipc_get_u64(m, &rs->rs_dns_us) == -1 ||
		    ipc_get_u64(m, &rs->rs_connect_us) == -1 ||
		    ipc_get_u64(m, &rs->rs_tls_us) == -1 ||
		    ipc_get_u64(m, &rs->rs_ttfb_us) == -1 ||
		    ipc_get_u64(m, &rs->rs_total_us) == -1 ||
		    ipc_get_u32(m, &rs->rs_reused) == -1 ||
		    ipc_get_u32(m, &rs->rs_redacted) == -1 ||
		    result_get_str(m, &rs->rs_debug, &slen, &cur, &need) == -1 ||
		    ipc_get_end(m) == -1)
			goto bad;
	}
	rs->rs_bodylen = len;
	/*
	 * NUL-terminated as a copy is: the byte after the body in its frame
	 * began the next field, read by now.
	 */
	if (rs->rs_frame != NULL) {
		rs->rs_body = (unsigned char *)body;
		rs->rs_body[len] = '\0';
	}
	*why = NULL;
	return 0;
bad:
	if (rs->rs_arena == NULL)
		rs->rs_nheaders = 0;	/* nothing of them is malloc'd */
	result_clear(rs);
	return -1;
}

/* --- MSG_FAIL --------------------------------------------------------------- */

int
fail_encode(struct ipc_buf *b, const struct fail *fl)
{
	ipc_buf_init(b);
	if (ipc_put_u32(b, fl->fl_status) == -1 ||
	    ipc_put_str(b, fl->fl_code != NULL ? fl->fl_code : "") == -1 ||
	    ipc_put_str(b, fl->fl_scope != NULL ? fl->fl_scope : "") == -1 ||
	    ipc_put_str(b, fl->fl_detail != NULL ? fl->fl_detail : "") == -1 ||
	    ipc_put_str(b, fl->fl_host != NULL ? fl->fl_host : "") == -1 ||
	    ipc_put_u32(b, fl->fl_timeout) == -1 ||
	    ipc_put_u64(b, fl->fl_external_us) == -1 ||
	    ipc_put_str(b, fl->fl_debug != NULL ? fl->fl_debug : "") == -1 ||
	    ipc_put_u32(b, fl->fl_retry_after) == -1)
		return -1;
	return 0;
}

void
fail_clear(struct fail *fl)
{
	free(fl->fl_code);
	free(fl->fl_scope);
	free(fl->fl_detail);
	free(fl->fl_host);
	free(fl->fl_debug);
	memset(fl, 0, sizeof(*fl));
}

int
fail_decode(struct ipc_msg *m, struct fail *fl, const char **why)
{
	memset(fl, 0, sizeof(*fl));
	if (ipc_get_u32(m, &fl->fl_status) == -1 || fl->fl_status < 400 ||
	    fl->fl_status > 599 || ipc_get_str(m, &fl->fl_code) == -1 ||
	    ipc_get_str(m, &fl->fl_scope) == -1 ||
	    ipc_get_str(m, &fl->fl_detail) == -1 ||
	    ipc_get_str(m, &fl->fl_host) == -1 ||
	    ipc_get_u32(m, &fl->fl_timeout) == -1 ||
	    ipc_get_u64(m, &fl->fl_external_us) == -1 ||
	    ipc_get_str(m, &fl->fl_debug) == -1 ||
	    ipc_get_u32(m, &fl->fl_retry_after) == -1 ||
	    fl->fl_retry_after > 86400 || ipc_get_end(m) == -1) {
		*why = "malformed failure";
		fail_clear(fl);
		return -1;
	}
	*why = NULL;
	return 0;
}
