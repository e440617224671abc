/*
 * check_plan.c — the worker↔keeper call: plans on the wire (plan.c) and
 * the keeper's judgement of them (keeper_plan.c).  The point of the
 * keeper is that a worker cannot choose where a secret goes: every way a
 * compromised worker could try (another host, another row, an override, a
 * forwarded query key, a control character) must be refused here.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <malloc.h>

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "connector.h"
#include "ipc.h"
#include "keeper_auth.h"
#include "keeper_plan.h"
#include "keeper_secret.h"
#include "oom.h"
#include "plan.h"
#include "snapshot.h"
#include "template/template.h"

/* A line of an answer with its lengths, as the keeper fills one. */
#define RH(n, v)	{ (n), (v), sizeof(n) - 1, sizeof(v) - 1 }

static char		 dir[64];
static struct snapshot	*snap;

static const char	 registry[] =
"{\"connectors\": ["
" {\"name\": \"Weather\", \"permalink\": \"weather\","
"  \"url\": \"https://api.example.com/v1/{{ pathParams.city }}\","
"  \"path_parameters\": [{\"key\": \"city\"}],"
"  \"headers\": ["
"   {\"key\": \"X-Key\", \"value\": \"k={{ get_secret('api_key') }}\"},"
"   {\"key\": \"X-Plain\", \"value\": \"plain\"},"
"   {\"key\": \"X-Lang\", \"value\": \"en\", \"overridable\": true}],"
"  \"query_parameters\": ["
"   {\"key\": \"units\", \"value\": \"metric\", \"overridable\": true},"
"   {\"key\": \"sig\", \"value\": \"{{ get_secret('api_key') | urlencode }}\"}],"
"  \"authentication\": {\"type\": \"api_key\", \"config\": {\"key\": \"appid\","
"   \"value\": \"{{ get_secret('app_id') }}\", \"in\": \"query\"}}},"
" {\"name\": \"Post\", \"permalink\": \"post\", \"method\": \"POST\","
"  \"url\": \"https://api.example.com/items\","
"  \"authentication\": {\"type\": \"api_key\", \"config\": {\"key\": "
"   \"Authorization\", \"value\": \"Bearer {{ get_secret('token') }}\"}}},"
" {\"name\": \"Var\", \"permalink\": \"var\","
"  \"url\": \"https://{{ get_variable('host') }}/x\"},"
" {\"name\": \"Missing\", \"permalink\": \"missing\","
"  \"url\": \"https://{{ get_variable('nothere') }}/x\"},"
" {\"name\": \"Jwt\", \"permalink\": \"jwt\","
"  \"url\": \"https://api.example.com/j\","
"  \"headers\": [{\"key\": \"Authorization\", \"value\": \"Bearer {{ "
"jwt_encode({'sub': 'x'}, get_secret('pem'), 'RS256') }}\"}]},"
" {\"name\": \"Rendered key\", \"permalink\": \"rendered-key\","
"  \"url\": \"https://api.example.com/r\","
"  \"authentication\": {\"type\": \"api_key\", \"config\": {\"key\": "
"   \"{{ tenant_id }}_key\", \"value\": \"{{ get_secret('app_id') }}\","
"   \"in\": \"query\"}}}"
"],"
/* A composite whose two steps each name their own secrets. */
"\"composite_connectors\": ["
" {\"name\": \"Comp\", \"permalink\": \"comp\", \"steps\": ["
"  {\"name\": \"first\", \"url\": \"https://api.example.com/a\","
"   \"headers\": [{\"key\": \"X-One\", \"value\": "
"\"{{ get_secret('one') }}\"}],"
"   \"query_parameters\": [{\"key\": \"q\", \"value\": "
"\"{{ request.query_parameters.q }}\", \"overridable\": true}]},"
"  {\"name\": \"second\","
"   \"url\": \"https://other.example.com/b/{{ steps.first.body }}\","
"   \"headers\": [{\"key\": \"X-Two\", \"value\": "
"\"{{ get_secret('two') }}\"}],"
"   \"authentication\": {\"type\": \"oauth_client_credentials\","
"    \"config\": {\"client_id\": \"cid\", \"client_secret\": "
"\"{{ get_secret('two_cs') }}\", \"token_url\": "
"\"https://auth.example.com/token\"}}}]}"
"]}";

static void
writefile(const char *name, const char *text)
{
	char	 path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void
setup(void)
{
	char	 path[128];

	snprintf(dir, sizeof(dir), "/tmp/check_plan.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	writefile("w.conf", "listen = ( { address = \"127.0.0.1\"; port = 1; } );\n"
	    "tenants = ( { id = \"t\"; registry = \"r.json\"; store = \"s\"; } );\n");
	writefile("r.json", registry);
	snprintf(path, sizeof(path), "%s/s", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/s/variables", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	writefile("s/variables/host", "api.example.org");
	snprintf(path, sizeof(path), "%s/w.conf", dir);
	snap = snapshot_build(path, 7, 0, NULL, NULL);
	ck_assert_ptr_nonnull(snap);
}

static void
teardown(void)
{
	char	 cmd[128];

	snapshot_unref(snap);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static size_t
conn_index(const char *permalink)
{
	const struct connector	*c;

	c = registry_connector(snap->sn_tenants[0].st_reg, permalink);
	ck_assert_ptr_nonnull(c);
	return c->c_index;
}

/* A field of literal text. */
static struct plan_field *
field(struct plan_field **fs, size_t *n, uint32_t src, uint32_t row,
    const char *name, const char *text)
{
	struct plan_field	*f;

	*fs = reallocarray(*fs, *n + 1, sizeof(**fs));
	f = &(*fs)[(*n)++];
	memset(f, 0, sizeof(*f));
	f->pf_src = src;
	f->pf_row = row;
	f->pf_name = strdup(name);
	if (text != NULL)
		ck_assert_int_eq(plan_field_add(f, text, strlen(text), NULL), 0);
	return f;
}

/* The secret part of a rendered template, as the worker would have it. */
static struct tsecret *
secret_of(const char *tmpl_src)
{
	struct tmpl		*t;
	struct tmpl_output	*o;
	struct tmpl_error	 err;
	struct tsecret		*ts = NULL;
	size_t			 i;

	t = tmpl_compile(tmpl_src, strlen(tmpl_src), &err);
	ck_assert_ptr_nonnull(t);
	o = tmpl_render(t, &(struct tmpl_env){ 0 }, &err);
	ck_assert_ptr_nonnull(o);
	for (i = 0; i < o->to_nsegs; i++)
		if (o->to_segs[i].sg_secret != NULL) {
			ts = o->to_segs[i].sg_secret;
			o->to_segs[i].sg_secret = NULL;
			break;
		}
	tmpl_output_free(o);
	tmpl_free(t);
	ck_assert_ptr_nonnull(ts);
	return ts;
}

/* The plan a well-behaved worker sends for "weather". */
static void
weather_plan(struct plan *pl)
{
	struct plan_field	*f;

	memset(pl, 0, sizeof(*pl));
	pl->pl_gen = 7;
	pl->pl_kind = PLAN_CONNECTOR;
	pl->pl_conn = (uint32_t)conn_index("weather");
	pl->pl_reqid = "req-1";
	pl->pl_method = "GET";
	pl->pl_url = strdup("https://api.example.com/v1/warsaw");
	f = field(&pl->pl_headers, &pl->pl_nheaders, PLAN_ROW, 0, "X-Key",
	    "k=");
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('api_key') }}")), 0);
	field(&pl->pl_headers, &pl->pl_nheaders, PLAN_ROW, 1, "X-Plain",
	    "plain");
	field(&pl->pl_headers, &pl->pl_nheaders, PLAN_OVERRIDE, 2, "X-Lang",
	    "pl");
	field(&pl->pl_query, &pl->pl_nquery, PLAN_OVERRIDE, 0, "units",
	    "imperial & more");
	f = field(&pl->pl_query, &pl->pl_nquery, PLAN_ROW, 1, "sig", NULL);
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('api_key') | urlencode }}")), 0);
	field(&pl->pl_query, &pl->pl_nquery, PLAN_CALLER, 0, "q", "a b/c");
	f = field(&pl->pl_query, &pl->pl_nquery, PLAN_AUTH, 0, "appid", NULL);
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('app_id') }}")), 0);
}

/* An empty plan for a connector: what every plan starts with. */
static void
plan_for(struct plan *pl, const char *permalink, const char *url)
{
	memset(pl, 0, sizeof(*pl));
	pl->pl_gen = 7;
	pl->pl_kind = PLAN_CONNECTOR;
	pl->pl_conn = (uint32_t)conn_index(permalink);
	pl->pl_reqid = "r";
	pl->pl_method = "GET";
	pl->pl_url = strdup(url);
}

/* An empty plan for a step of "comp" (composite 0). */
static void
step_plan_for(struct plan *pl, uint32_t step, const char *url)
{
	memset(pl, 0, sizeof(*pl));
	pl->pl_gen = 7;
	pl->pl_kind = PLAN_STEP;
	pl->pl_conn = 0;
	pl->pl_step = step;
	pl->pl_reqid = "r";
	pl->pl_method = "GET";
	pl->pl_url = strdup(url);
}

/* The plan a well-behaved worker sends for step 0 of "comp". */
static void
step0_plan(struct plan *pl)
{
	struct plan_field	*f;

	step_plan_for(pl, 0, "https://api.example.com/a");
	f = field(&pl->pl_headers, &pl->pl_nheaders, PLAN_ROW, 0, "X-One",
	    NULL);
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('one') }}")), 0);
	field(&pl->pl_query, &pl->pl_nquery, PLAN_ROW, 0, "q", "x");
}

/* And for step 1, whose URL took step 0's answer. */
static void
step1_plan(struct plan *pl)
{
	struct plan_field	*f;

	step_plan_for(pl, 1, "https://other.example.com/b/42");
	f = field(&pl->pl_headers, &pl->pl_nheaders, PLAN_ROW, 0, "X-Two",
	    NULL);
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('two') }}")), 0);
	field(&pl->pl_auth, &pl->pl_nauth, PA_CLIENT_ID, 0, "", "cid");
	f = field(&pl->pl_auth, &pl->pl_nauth, PA_CLIENT_SECRET, 0, "", NULL);
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('two_cs') }}")), 0);
	field(&pl->pl_auth, &pl->pl_nauth, PA_TOKEN_URL, 0, "",
	    "https://auth.example.com/token");
}

/* Drop a plan's query fields. */
static void
plan_clear_query(struct plan *pl)
{
	size_t	 i;

	for (i = 0; i < pl->pl_nquery; i++)
		plan_field_clear(&pl->pl_query[i]);
	free(pl->pl_query);
	pl->pl_query = NULL;
	pl->pl_nquery = 0;
}

/* Blocks kept for the next ones (spare.h): none in a sanitizer build. */
#ifdef WIDGETD_SANITIZED
static const int	 kept = 0;
#else
static const int	 kept = 1;
#endif

/* Encode then decode, as the channel would. */
static void
roundtrip(const struct plan *in, struct plan *out)
{
	struct ipc_buf	 b;
	struct ipc_msg	 m;
	const char	*why;

	ck_assert_int_eq(plan_encode(&b, in), 0);
	memset(&m, 0, sizeof(m));
	m.m_type = MSG_CALL;
	m.m_data = b.b_data;
	m.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(plan_decode(&m, out, &why), 0);
	ipc_buf_clear(&b);
}

static int
check(struct plan *pl, const char **why)
{
	struct fail	 fl;
	int		 r;

	memset(&fl, 0, sizeof(fl));
	r = keeper_plan_check(snap, pl, &fl, why);
	fail_clear(&fl);
	return r;
}

/* p lies inside the decoded plan's one block. */
static void
in_block(const struct plan *pl, const void *p)
{
	const char	*c = p, *a = pl->pl_arena;

	ck_assert_ptr_nonnull(p);
	ck_assert(c >= a && c < a + pl->pl_arenalen);
}

static void
tree_in_block(const struct plan *pl, const struct tsecret *ts)
{
	size_t	 i;

	in_block(pl, ts);
	if (ts->ts_data != NULL)
		in_block(pl, ts->ts_data);
	if (ts->ts_literal != NULL)
		in_block(pl, ts->ts_literal);
	for (i = 0; i < ts->ts_nkids; i++) {
		in_block(pl, ts->ts_kids);
		tree_in_block(pl, ts->ts_kids[i]);
	}
}

static void
fields_in_block(const struct plan *pl, const struct plan_field *fs,
    size_t n)
{
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		in_block(pl, &fs[i]);
		in_block(pl, fs[i].pf_name);
		for (j = 0; j < fs[i].pf_nsegs; j++) {
			in_block(pl, &fs[i].pf_segs[j]);
			if (fs[i].pf_segs[j].ps_secret != NULL)
				tree_in_block(pl, fs[i].pf_segs[j].ps_secret);
			else
				in_block(pl, fs[i].pf_segs[j].ps_data);
		}
	}
}

/*
 * A worker's field may point at a name that outlives the plan (a
 * connector's key, a constant) instead of copying it: it travels as a
 * copied one does, and plan_clear leaves it (a free of it would show
 * under valgrind and ASan, and abort here).
 */
START_TEST(test_field_name_kept)
{
	struct plan		 a, b;
	struct plan_field	*f;
	char			 name[] = "X-Kept";

	weather_plan(&a);
	f = field(&a.pl_headers, &a.pl_nheaders, PLAN_ROW, 1, "X-Plain",
	    "plain");
	free(f->pf_name);
	f->pf_name = name;
	f->pf_name_kept = 1;
	roundtrip(&a, &b);
	ck_assert_str_eq(b.pl_headers[a.pl_nheaders - 1].pf_name, "X-Kept");
	ck_assert_int_eq(b.pl_headers[a.pl_nheaders - 1].pf_name_kept, 0);
	plan_clear(&b);
	plan_clear(&a);
	ck_assert_str_eq(name, "X-Kept");
}
END_TEST

/*
 * A field's segments have room for two at first, a prefix and a secret
 * ("Bearer " and the token): the second takes no allocation (it took a
 * realloc); past two the room doubles, every segment kept in order.
 */
START_TEST(test_field_segs_room)
{
	struct plan_field	 f;
	struct tsecret		*ts;
	char			 want[8];
	size_t			 i;
	int			 r, fired;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(plan_field_add(&f, "k=", 2, NULL), 0);
	ts = secret_of("{{ get_secret('api_key') }}");
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	r = plan_field_add(&f, NULL, 0, ts);
	fired = oom_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(fired, 0);
	for (i = 2; i < 11; i++) {
		snprintf(want, sizeof(want), "s%zu", i);
		ck_assert_int_eq(plan_field_add(&f, want, strlen(want), NULL),
		    0);
	}
	ck_assert_uint_eq(f.pf_nsegs, 11);
	ck_assert_str_eq(f.pf_segs[0].ps_data, "k=");
	ck_assert_ptr_nonnull(f.pf_segs[1].ps_secret);
	for (i = 2; i < 11; i++) {
		snprintf(want, sizeof(want), "s%zu", i);
		ck_assert_str_eq(f.pf_segs[i].ps_data, want);
	}
	plan_field_clear(&f);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct plan	 a, b;
	size_t		 i, j;

	weather_plan(&a);
	a.pl_has_body = 1;
	a.pl_body = malloc(3);
	memcpy(a.pl_body, "x\0y", 3);
	a.pl_bodylen = 3;
	roundtrip(&a, &b);
	ck_assert_uint_eq(b.pl_gen, 7);
	ck_assert_str_eq(b.pl_method, "GET");
	ck_assert_str_eq(b.pl_url, a.pl_url);
	ck_assert_uint_eq(b.pl_nheaders, a.pl_nheaders);
	ck_assert_uint_eq(b.pl_nquery, a.pl_nquery);
	for (i = 0; i < a.pl_nheaders; i++) {
		ck_assert_str_eq(b.pl_headers[i].pf_name,
		    a.pl_headers[i].pf_name);
		ck_assert_uint_eq(b.pl_headers[i].pf_src,
		    a.pl_headers[i].pf_src);
		ck_assert_uint_eq(b.pl_headers[i].pf_nsegs,
		    a.pl_headers[i].pf_nsegs);
		for (j = 0; j < a.pl_headers[i].pf_nsegs; j++) {
			char *la, *lb;

			if (a.pl_headers[i].pf_segs[j].ps_secret == NULL)
				continue;
			la = tsecret_literal(a.pl_headers[i].pf_segs[j].ps_secret);
			lb = tsecret_literal(b.pl_headers[i].pf_segs[j].ps_secret);
			ck_assert_str_eq(la, lb);
			free(la);
			free(lb);
		}
	}
	ck_assert_int_eq(b.pl_has_body, 1);
	ck_assert_uint_eq(b.pl_bodylen, 3);
	ck_assert_int_eq(memcmp(b.pl_body, "x\0y", 3), 0);
	/* Decoded, a plan is one allocation; built, it was many. */
	ck_assert_ptr_null(a.pl_arena);
	ck_assert_ptr_nonnull(b.pl_arena);
	in_block(&b, b.pl_reqid);
	in_block(&b, b.pl_method);
	in_block(&b, b.pl_url);
	in_block(&b, b.pl_body);
	fields_in_block(&b, b.pl_headers, b.pl_nheaders);
	fields_in_block(&b, b.pl_query, b.pl_nquery);
	fields_in_block(&b, b.pl_auth, b.pl_nauth);
	plan_clear(&a);
	plan_clear(&b);
	ck_assert_ptr_null(b.pl_arena);
}
END_TEST

/*
 * The keeper decodes one plan a call: the block it decodes into is the
 * last plan's, wiped when that plan was cleared and kept, so decoding the
 * next one allocates nothing (sanitizer builds keep none).
 */
START_TEST(test_plan_arena_kept)
{
	struct plan		 a, b;
	struct ipc_buf		 enc;
	struct ipc_msg		 m;
	const char		*why;
	const unsigned char	*blk;
	size_t			 cap, i;
	int			 r, fired;

	weather_plan(&a);
	ck_assert_int_eq(plan_encode(&enc, &a), 0);
	memset(&m, 0, sizeof(m));
	m.m_type = MSG_CALL;
	m.m_data = enc.b_data;
	m.m_len = (uint32_t)enc.b_len;
	ck_assert_int_eq(plan_decode(&m, &b, &why), 0);
	blk = b.pl_arena;
	cap = b.pl_arenacap;
	ck_assert_uint_ge(cap, b.pl_arenalen);
	plan_clear(&b);
	if (kept) {
		/* Kept, not freed: none of the plan's bytes are left in it. */
		for (i = 0; i < cap; i++)
			ck_assert_uint_eq(blk[i], 0);
	}
	m.m_off = 0;
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	r = plan_decode(&m, &b, &why);
	fired = oom_disarm();
	ck_assert_int_eq(fired, !kept);
	if (kept) {
		ck_assert_int_eq(r, 0);
		ck_assert_ptr_eq(b.pl_arena, blk);
		ck_assert_str_eq(b.pl_url, a.pl_url);
		ck_assert_str_eq(b.pl_headers[0].pf_name,
		    a.pl_headers[0].pf_name);
		plan_clear(&b);
	} else
		ck_assert_int_eq(r, -1);
	ipc_buf_clear(&enc);
	plan_clear(&a);
}
END_TEST

/* A hostile payload: every bound holds, nothing is half-decoded. */
START_TEST(test_decode_bounds)
{
	struct ipc_buf	 b;
	struct ipc_msg	 m;
	struct plan	 pl, out;
	const char	*why;
	size_t		 i;

	weather_plan(&pl);
	ck_assert_int_eq(plan_encode(&b, &pl), 0);
	/* Every truncation is refused. */
	for (i = 0; i < b.b_len; i++) {
		memset(&m, 0, sizeof(m));
		m.m_data = b.b_data;
		m.m_len = (uint32_t)i;
		ck_assert_int_eq(plan_decode(&m, &out, &why), -1);
		ck_assert_ptr_nonnull(why);
	}
	ipc_buf_clear(&b);
	plan_clear(&pl);

	/* A field count past the limit is refused before any allocation. */
	ipc_buf_init(&b);
	ipc_put_u64(&b, 1);
	for (i = 0; i < 5; i++)
		ipc_put_u32(&b, i == 1 ? PLAN_CONNECTOR : 0);
	ipc_put_str(&b, "r");
	ipc_put_str(&b, "GET");
	ipc_put_str(&b, "https://x/");
	ipc_put_u32(&b, 1000000);
	memset(&m, 0, sizeof(m));
	m.m_data = b.b_data;
	m.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(plan_decode(&m, &out, &why), -1);
	ck_assert_str_eq(why, "too many fields");
	ipc_buf_clear(&b);

	/* A secret tree nested past the limit. */
	ipc_buf_init(&b);
	ipc_put_u64(&b, 1);
	for (i = 0; i < 5; i++)
		ipc_put_u32(&b, i == 1 ? PLAN_CONNECTOR : 0);
	ipc_put_str(&b, "r");
	ipc_put_str(&b, "GET");
	ipc_put_str(&b, "https://x/");
	ipc_put_u32(&b, 1);		/* one header */
	ipc_put_u32(&b, PLAN_ROW);
	ipc_put_u32(&b, 0);
	ipc_put_str(&b, "X");
	ipc_put_u32(&b, 1);		/* one segment, a secret */
	ipc_put_u32(&b, 1);
	for (i = 0; i < PLAN_MAX_DEPTH + 5; i++) {
		ipc_put_u32(&b, TSX_BASE64);
		ipc_put_u32(&b, 0);
		ipc_put_u32(&b, 1);
	}
	memset(&m, 0, sizeof(m));
	m.m_data = b.b_data;
	m.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(plan_decode(&m, &out, &why), -1);
	ck_assert_str_eq(why, "secret expression too large");
	ipc_buf_clear(&b);
}
END_TEST

/*
 * An answer decoded into one block: every string as sent, every
 * truncation and a NUL inside a header refused, nothing leaked on the way
 * (valgrind).
 */
START_TEST(test_result_roundtrip)
{
	struct result_header	 hs[3] = {
		RH("Content-Type", "application/json"),
		RH("X-Empty", ""),
		RH("Set-Cookie", "a=1; Path=/")
	};
	struct result		 in, out;
	struct ipc_buf		 b;
	struct ipc_msg		 m;
	const char		*why;
	size_t			 i, at;

	memset(&in, 0, sizeof(in));
	in.rs_status = 201;
	in.rs_headers = hs;
	in.rs_nheaders = 3;
	in.rs_body = (unsigned char *)"x\0y";
	in.rs_bodylen = 3;
	in.rs_host = "api.example.com";
	in.rs_debug = "{}";
	in.rs_ttfb_us = 1234;
	in.rs_redacted = 2;
	ck_assert_int_eq(result_encode(&b, &in), 0);
	memset(&m, 0, sizeof(m));
	m.m_data = b.b_data;
	m.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(result_decode(&m, &out, &why), 0);
	ck_assert_uint_eq(out.rs_status, 201);
	ck_assert_uint_eq(out.rs_nheaders, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(out.rs_headers[i].rh_name, hs[i].rh_name);
		ck_assert_str_eq(out.rs_headers[i].rh_value, hs[i].rh_value);
		ck_assert_uint_eq(out.rs_headers[i].rh_namelen,
		    hs[i].rh_namelen);
		ck_assert_uint_eq(out.rs_headers[i].rh_valuelen,
		    hs[i].rh_valuelen);
	}
	ck_assert_str_eq(result_header_get(&out, "set-cookie"),
	    "a=1; Path=/");
	ck_assert_uint_eq(out.rs_bodylen, 3);
	ck_assert_int_eq(memcmp(out.rs_body, "x\0y", 4), 0);
	ck_assert_str_eq(out.rs_host, "api.example.com");
	ck_assert_str_eq(out.rs_debug, "{}");
	ck_assert_uint_eq(out.rs_ttfb_us, 1234);
	ck_assert_uint_eq(out.rs_redacted, 2);
	ck_assert_ptr_nonnull(out.rs_arena);
	result_clear(&out);

	for (i = 0; i < b.b_len; i++) {
		m.m_off = 0;
		m.m_len = (uint32_t)i;
		ck_assert_int_eq(result_decode(&m, &out, &why), -1);
		ck_assert_str_eq(why, "malformed result");
		ck_assert_ptr_null(out.rs_arena);
		ck_assert_ptr_null(out.rs_body);
	}
	/* "X-Empty" sent with a NUL in it. */
	at = (size_t)((unsigned char *)memmem(b.b_data, b.b_len, "X-Empty",
	    7) - b.b_data);
	b.b_data[at + 1] = '\0';
	m.m_off = 0;
	m.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(result_decode(&m, &out, &why), -1);
	ipc_buf_clear(&b);

	/* The encoder sends the lines' lengths, not what strlen finds. */
	hs[2].rh_valuelen = 3;
	ck_assert_int_eq(result_encode(&b, &in), 0);
	m.m_data = b.b_data;
	m.m_off = 0;
	m.m_len = (uint32_t)b.b_len;
	ck_assert_int_eq(result_decode(&m, &out, &why), 0);
	ck_assert_str_eq(out.rs_headers[2].rh_value, "a=1");
	ck_assert_uint_eq(out.rs_headers[2].rh_valuelen, 3);
	result_clear(&out);
	ipc_buf_clear(&b);
}
END_TEST

/*
 * The keeper sends an answer as head, body, tail without copying the body
 * first: the three end to end are result_encode's bytes; an answer that
 * one frame cannot carry is refused, nothing left allocated.
 */
START_TEST(test_result_parts)
{
	struct result_header	 hs[2] = {
		RH("Content-Type", "text/plain"),
		RH("ETag", "\"1\"")
	};
	struct result		 in;
	struct ipc_buf		 whole, parts;
	int			 r, fired;
	unsigned char		 body[300];
	size_t			 i, headlen;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 13);
	memset(&in, 0, sizeof(in));
	in.rs_status = 200;
	in.rs_headers = hs;
	in.rs_nheaders = 2;
	in.rs_body = body;
	in.rs_bodylen = sizeof(body);
	in.rs_host = "h";
	in.rs_total_us = 99;
	in.rs_reused = 1;
	ck_assert_int_eq(result_encode(&whole, &in), 0);
	/* Head and tail in one buffer: the body goes between them. */
	ck_assert_int_eq(result_encode_parts(&parts, &headlen, &in), 0);
	ck_assert_uint_gt(headlen, 0);
	ck_assert_uint_lt(headlen, parts.b_len);
	ck_assert_uint_eq(parts.b_len + sizeof(body), whole.b_len);
	ck_assert_int_eq(memcmp(whole.b_data, parts.b_data, headlen), 0);
	ck_assert_int_eq(memcmp(whole.b_data + headlen, body,
	    sizeof(body)), 0);
	ck_assert_int_eq(memcmp(whole.b_data + headlen + sizeof(body),
	    parts.b_data + headlen, parts.b_len - headlen), 0);
	ipc_buf_clear(&whole);
	ipc_buf_clear(&parts);
	/* One allocation for the two (there was one each). */
	oom_arm(1);
	r = result_encode_parts(&parts, &headlen, &in);
	fired = oom_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(fired, 0);
	ipc_buf_clear(&parts);

	/* A body that fits alone but not with the rest: never read. */
	in.rs_bodylen = IPC_MAX_PAYLOAD - 8;
	ck_assert_int_eq(result_encode_parts(&parts, &headlen, &in), -1);
	ck_assert_ptr_null(parts.b_data);
	in.rs_bodylen = 1;
	in.rs_body = NULL;
	ck_assert_int_eq(result_encode_parts(&parts, &headlen, &in), -1);
}
END_TEST

/* A keeper's end and a worker's end of one socketpair. */
static void
chan_pair(struct ipc_chan **kc, struct ipc_chan **wc)
{
	int	 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_ptr_nonnull(*kc = ipc_chan_new(sv[0], IPC_KEEPER, IPC_WORKER));
	ck_assert_ptr_nonnull(*wc = ipc_chan_new(sv[1], IPC_WORKER, IPC_KEEPER));
}

/* An answer sent as the keeper sends one, as frame id. */
static void
send_result(struct ipc_chan *kc, uint32_t id, const struct result *in)
{
	struct ipc_buf	 b;

	ck_assert_int_eq(result_encode(&b, in), 0);
	ck_assert_int_eq(ipc_send(kc, MSG_RESULT, id, b.b_data, b.b_len, -1), 0);
	ipc_buf_clear(&b);
}

/*
 * The next frame wc gets, flushing what kc queued as it goes: a frame
 * already read whole is taken first, else wc reads until one is.
 */
static void
next_frame(struct ipc_chan *kc, struct ipc_chan *wc, struct ipc_msg *m)
{
	int	 got;

	for (;;) {
		if (ipc_pending(kc))
			ck_assert_int_ge(ipc_flush(kc), 0);
		ck_assert_int_ge(got = ipc_get(wc, m), 0);
		if (got == 1)
			return;
		ck_assert_int_eq(ipc_read(wc), 1);
	}
}

/*
 * The worker decodes one answer a request: the block of its headers and
 * strings is the last answer's, wiped and kept, so decoding the next one
 * allocates nothing (a small answer's body is in its kept frame; it was
 * one allocation; sanitizer builds keep none).
 */
START_TEST(test_result_arena_kept)
{
	struct result_header	 hs[2] = { RH("Content-Type", "text/plain"),
				     RH("ETag", "\"x\"") };
	struct result		 in, out;
	struct ipc_chan		*kc, *wc;
	struct ipc_msg		 m;
	const char		*why;
	int			 i, r, fired;

	chan_pair(&kc, &wc);
	memset(&in, 0, sizeof(in));
	in.rs_status = 200;
	in.rs_headers = hs;
	in.rs_nheaders = 2;
	in.rs_body = (unsigned char *)"{\"a\": 1}";
	in.rs_bodylen = 8;
	in.rs_host = "api.example.com";
	for (i = 0; i < 2; i++) {
		/* a shorter host the second time: it fits the block */
		in.rs_host = i == 0 ? "api.example.com" : "api.example";
		send_result(kc, 1, &in);
		next_frame(kc, wc, &m);
		/* no assertion while armed: check's own allocate */
		oom_arm(i == 0 ? 100 : 0);
		r = result_decode(&m, &out, &why);
		fired = oom_disarm();
		ck_assert_int_eq(fired, (i == 0 ? 0 : !kept));
		if (i == 1 && !kept)
			continue;
		ck_assert_int_eq(r, 0);
		ck_assert_uint_eq(out.rs_nheaders, 2);
		ck_assert_str_eq(out.rs_headers[1].rh_name, "ETag");
		ck_assert_str_eq(out.rs_headers[1].rh_value, "\"x\"");
		ck_assert_str_eq(out.rs_host, in.rs_host);
		ck_assert_int_eq(memcmp(out.rs_body, "{\"a\": 1}", 9), 0);
		result_clear(&out);
	}
	ipc_chan_free(kc);
	ipc_chan_free(wc);
}
END_TEST

/*
 * Over a channel: a large answer's body is decoded where it was read
 * (the frame becomes the result's, and the channel lets go of it), NUL
 * after it as a copy would have; a small one is copied.
 */
START_TEST(test_result_kept)
{
	struct result_header	 hs[1] = { RH("Content-Type", "text/plain") };
	struct result		 in, out, out2;
	struct ipc_chan		*kc, *wc;
	struct ipc_buf		 b;
	struct ipc_msg		 m;
	const char		*why;
	unsigned char		*body;
	size_t			 bodysz = 512 * 1024 + 5, i, cap;

	chan_pair(&kc, &wc);
	ck_assert_ptr_nonnull(body = malloc(bodysz));
	for (i = 0; i < bodysz; i++)
		body[i] = (unsigned char)('a' + i % 26);
	memset(&in, 0, sizeof(in));
	in.rs_status = 200;
	in.rs_headers = hs;
	in.rs_nheaders = 1;
	in.rs_body = body;
	in.rs_bodylen = bodysz;
	in.rs_host = "api.example.com";
	in.rs_total_us = 7;
	send_result(kc, 1, &in);
	in.rs_bodylen = 10;
	send_result(kc, 2, &in);

	next_frame(kc, wc, &m);
	ck_assert_uint_eq(m.m_id, 1);
	ck_assert_int_eq(result_decode(&m, &out, &why), 0);
	ck_assert_ptr_nonnull(out.rs_frame);
	/* Not copied: the body is the message's bytes, in the frame. */
	ck_assert(out.rs_body > m.m_data && out.rs_body + out.rs_bodylen <
	    m.m_data + m.m_len);
	ck_assert(out.rs_body > (unsigned char *)out.rs_frame &&
	    out.rs_body + out.rs_bodylen < (unsigned char *)out.rs_frame +
	    out.rs_framecap);
	ck_assert_uint_eq(out.rs_bodylen, bodysz);
	ck_assert_int_eq(memcmp(out.rs_body, body, bodysz), 0);
	ck_assert_uint_eq(out.rs_body[bodysz], '\0');
	ck_assert_str_eq(out.rs_host, "api.example.com");
	ck_assert_uint_eq(out.rs_total_us, 7);
	/* Kept once: the channel holds it no more. */
	ck_assert_ptr_null(ipc_msg_keep(&m, &cap));
	ck_assert_uint_lt(ipc_held(wc), bodysz);

	/* The next frame leaves the first answer as it was. */
	next_frame(kc, wc, &m);
	ck_assert_uint_eq(m.m_id, 2);
	ck_assert_int_eq(result_decode(&m, &out2, &why), 0);
	/* A small answer keeps the buffer it was copied to: no second copy. */
	ck_assert_ptr_nonnull(out2.rs_frame);
	ck_assert(out2.rs_body > (unsigned char *)out2.rs_frame &&
	    out2.rs_body + out2.rs_bodylen < (unsigned char *)out2.rs_frame +
	    out2.rs_framecap);
	ck_assert_uint_eq(out2.rs_bodylen, 10);
	ck_assert_int_eq(memcmp(out2.rs_body, body, 10), 0);
	ck_assert_uint_eq(out2.rs_body[10], '\0');
	ck_assert_int_eq(memcmp(out.rs_body, body, bodysz), 0);
	ck_assert_ptr_null(ipc_msg_keep(&m, &cap));

	/*
	 * Given back, that buffer takes the next answer: with every
	 * allocation failing, one more is still read and decoded.
	 */
	result_clear(&out2);
	ck_assert_int_eq(result_encode(&b, &in), 0);
	oom_free_frame(kc, wc, MSG_RESULT, 3, b.b_data, b.b_len, &m);
	ipc_buf_clear(&b);
	ck_assert_int_eq(result_decode(&m, &out2, &why), 0);
	ck_assert_uint_eq(out2.rs_bodylen, 10);

	/* A reply may take an answer's frame and send the body from it. */
	{
		const unsigned char	*at = out.rs_body;
		void			*frame, *was = out.rs_frame;
		size_t			 fcap = 0;

		ck_assert_ptr_eq(frame = result_take_frame(&out, &fcap), was);
		ck_assert_uint_ge(fcap, bodysz);
		ck_assert_ptr_null(out.rs_frame);
		ck_assert_ptr_null(out.rs_body);
		ck_assert_uint_eq(out.rs_bodylen, 0);
		ck_assert_ptr_null(result_take_frame(&out, &cap));
		/* Clearing the result leaves the taker's frame alone. */
		result_clear(&out);
		ck_assert_int_eq(memcmp(at, body, bodysz), 0);
		ipc_kept_free(frame, fcap);
	}
	result_clear(&out2);
	result_clear(&out);
	ck_assert_ptr_null(out.rs_frame);
	free(body);
	ipc_chan_free(kc);
	ipc_chan_free(wc);
}
END_TEST


START_TEST(test_check_accepts)
{
	struct plan	 pl;
	const char	*why = NULL;

	weather_plan(&pl);
	ck_assert_msg(check(&pl, &why) == 0, "%s", why);
	/* The origin alone, and a query right after it. */
	free(pl.pl_url);
	pl.pl_url = strdup("https://api.example.com");
	ck_assert_int_eq(check(&pl, &why), 0);
	free(pl.pl_url);
	pl.pl_url = strdup("https://api.example.com?x=1");
	ck_assert_int_eq(check(&pl, &why), 0);
	plan_clear(&pl);
}
END_TEST

/* Another destination for the same secrets: refused, however spelled. */
START_TEST(test_check_destination)
{
	static const char *const bad[] = {
		"https://evil.example/v1/x",
		"https://api.example.com.evil.example/v1",
		"https://api.example.com@evil.example/v1",
		"https://api.example.com:8443/v1",
		"http://api.example.com/v1",
		"https://API.example.com/v1",
		"https://api.example.com\r\nX: y",
		"https://api.example.com/v1 x",
		"https://api.example.com/v1\tx",
		"https://api.example.com/v1\x7f",
		"https://api.example.co",
		"https://api.example.co/v1",
		"https://api.example.comx/v1",
		"https://api.example.com#/v1",
		"https",
		"",
	};
	struct plan	 pl;
	const char	*why;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		weather_plan(&pl);
		free(pl.pl_url);
		pl.pl_url = strdup(bad[i]);
		ck_assert_msg(check(&pl, &why) == -1, "accepted %s", bad[i]);
		plan_clear(&pl);
	}
}
END_TEST

/*
 * A header name is a token of 1 to 255 characters: anything else is
 * refused before its row is looked at; a query key has no control
 * character; the method is the connector's, exactly.
 */
START_TEST(test_check_names)
{
	static const char *const badnames[] = {
		"", "X Key", "X:Key", "X-Key\r\nY", "X\x7fKey", "X\tKey",
	};
	struct plan	 pl;
	const char	*why;
	char		 name[300];
	size_t		 i;

	for (i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++) {
		weather_plan(&pl);
		free(pl.pl_headers[1].pf_name);
		pl.pl_headers[1].pf_name = strdup(badnames[i]);
		ck_assert_int_eq(check(&pl, &why), -1);
		ck_assert_str_eq(why, "header name not allowed");
		plan_clear(&pl);
	}
	/* 255 characters are a name (not this row's); 256 are not one. */
	for (i = 255; i <= 256; i++) {
		memset(name, 'x', i);
		name[i] = '\0';
		weather_plan(&pl);
		free(pl.pl_headers[1].pf_name);
		pl.pl_headers[1].pf_name = strdup(name);
		ck_assert_int_eq(check(&pl, &why), -1);
		ck_assert_str_eq(why, i == 255 ? "header does not match its "
		    "row" : "header name not allowed");
		plan_clear(&pl);
	}
	/* A reserved name, in any case. */
	weather_plan(&pl);
	free(pl.pl_headers[1].pf_name);
	pl.pl_headers[1].pf_name = strdup("CONTENT-length");
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "header name not allowed");
	plan_clear(&pl);
	/* A row's name, but not in its case: not the row's. */
	weather_plan(&pl);
	free(pl.pl_headers[1].pf_name);
	pl.pl_headers[1].pf_name = strdup("X-PLAIN");
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "header does not match its row");
	plan_clear(&pl);
	/* A query key with a control character. */
	weather_plan(&pl);
	free(pl.pl_query[2].pf_name);
	pl.pl_query[2].pf_name = strdup("q\n");
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "query key not allowed");
	plan_clear(&pl);
	/* The method: another one, a prefix of it, longer. */
	for (i = 0; i < 3; i++) {
		weather_plan(&pl);
		pl.pl_method = i == 0 ? "POST" : i == 1 ? "GE" : "GETX";
		ck_assert_int_eq(check(&pl, &why), -1);
		ck_assert_str_eq(why, "method is not the connector's");
		plan_clear(&pl);
	}
}
END_TEST

/* A secret only where the row's own template names it. */
START_TEST(test_check_secret_fields)
{
	struct plan	 pl;
	const char	*why;

	/* A row without secrets given one. */
	weather_plan(&pl);
	ck_assert_int_eq(plan_field_add(&pl.pl_headers[1], NULL, 0,
	    secret_of("{{ get_secret('api_key') }}")), 0);
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "header does not match its row");
	plan_clear(&pl);

	/* The right row, another secret. */
	weather_plan(&pl);
	ck_assert_int_eq(plan_field_add(&pl.pl_headers[0], NULL, 0,
	    secret_of("{{ get_secret('app_id') }}")), 0);
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);

	/* A row's secret under another header name. */
	weather_plan(&pl);
	free(pl.pl_headers[0].pf_name);
	pl.pl_headers[0].pf_name = strdup("X-Leak");
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);

	/* A caller's value carrying a secret. */
	weather_plan(&pl);
	ck_assert_int_eq(plan_field_add(&pl.pl_query[2], NULL, 0,
	    secret_of("{{ get_secret('app_id') }}")), 0);
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);

	/* An override carrying a secret. */
	weather_plan(&pl);
	ck_assert_int_eq(plan_field_add(&pl.pl_headers[2], NULL, 0,
	    secret_of("{{ get_secret('api_key') }}")), 0);
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);

	/* The auth secret in a header although the auth goes in the query. */
	weather_plan(&pl);
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_AUTH, 0, "appid", "x");
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);
}
END_TEST

START_TEST(test_check_rows)
{
	struct plan	 pl;
	const char	*why;

	/* Overriding a row that is not overridable. */
	weather_plan(&pl);
	pl.pl_headers[1].pf_src = PLAN_OVERRIDE;
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);

	/* A row index past the connector's rows. */
	weather_plan(&pl);
	pl.pl_headers[1].pf_row = 99;
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);

	/* A caller's query key the connector sets itself: never twice. */
	weather_plan(&pl);
	field(&pl.pl_query, &pl.pl_nquery, PLAN_CALLER, 0, "sig", "x");
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);
	weather_plan(&pl);
	field(&pl.pl_query, &pl.pl_nquery, PLAN_CALLER, 0, "appid", "x");
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);

	/* Headers: reserved, repeated, with a control character. */
	weather_plan(&pl);
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_BODY, 0, "Host", "x");
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);
	weather_plan(&pl);
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_BODY, 0, "x-plain", "x");
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);
	weather_plan(&pl);
	free(pl.pl_headers[2].pf_segs[0].ps_data);
	pl.pl_headers[2].pf_segs[0].ps_data = strdup("en\r\nX-Evil: 1");
	pl.pl_headers[2].pf_segs[0].ps_len = strlen("en\r\nX-Evil: 1");
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);

	/*
	 * A name sent twice, in another case, among more headers than a
	 * walk back is used for: refused for that, not for what follows.
	 */
	weather_plan(&pl);
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_BODY, 0, "Accept", "x");
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_BODY, 0, "aCCEPT", "y");
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_BODY, 0, "x-a", "x");
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_BODY, 0, "x-b", "x");
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_BODY, 0, "x-c", "x");
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_BODY, 0, "x-d", "x");
	ck_assert_uint_gt(pl.pl_nheaders, 8);
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "header sent twice");
	plan_clear(&pl);

	/* Another method, a body on GET, a connector that does not exist. */
	weather_plan(&pl);
	pl.pl_method = "POST";
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);
	weather_plan(&pl);
	pl.pl_has_body = 1;
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);
	weather_plan(&pl);
	pl.pl_conn = 1000;
	ck_assert_int_eq(check(&pl, &why), -1);
	pl.pl_conn = 0;
	pl.pl_tenant = 3;
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);
}
END_TEST

/* A host from a variable is checked here, at run time (§3a). */
START_TEST(test_check_variable_host)
{
	struct plan	 pl;
	struct fail	 fl;
	const char	*why;

	plan_for(&pl, "var", "https://api.example.org/x");
	memset(&fl, 0, sizeof(fl));
	ck_assert_int_eq(keeper_plan_check(snap, &pl, &fl, &why), 0);
	free(pl.pl_url);
	pl.pl_url = strdup("https://api.example.com/x");
	ck_assert_int_eq(keeper_plan_check(snap, &pl, &fl, &why), -1);
	plan_clear(&pl);

	/* An unset variable: a 422 for the caller, not the worker's fault. */
	plan_for(&pl, "missing", "https://api.example.com/x");
	ck_assert_msg(keeper_plan_check(snap, &pl, &fl, &why) == 1, "%s", why);
	ck_assert_uint_eq(fl.fl_status, 422);
	ck_assert_str_eq(fl.fl_scope, "Configuration (template rendering)");
	fail_clear(&fl);
	plan_clear(&pl);
}
END_TEST

/*
 * An api_key whose name is rendered: the caller's other keys are
 * forwarded, one with the name the plan gives the key is not.
 */
START_TEST(test_check_rendered_key)
{
	struct plan		 pl;
	struct plan_field	*f;
	const char		*why = NULL;

	plan_for(&pl, "rendered-key", "https://api.example.com/r");
	field(&pl.pl_query, &pl.pl_nquery, PLAN_CALLER, 0, "page", "2");
	f = field(&pl.pl_query, &pl.pl_nquery, PLAN_AUTH, 0, "t_key", NULL);
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('app_id') }}")), 0);
	ck_assert_msg(check(&pl, &why) == 0, "%s", why);
	field(&pl.pl_query, &pl.pl_nquery, PLAN_CALLER, 0, "t_key", "mine");
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "caller query field not allowed");
	plan_clear(&pl);
}
END_TEST

START_TEST(test_step_accepts)
{
	struct plan	 pl, rt;
	const char	*why = NULL;

	step0_plan(&pl);
	ck_assert_msg(check(&pl, &why) == 0, "%s", why);
	/* The kind and step travel. */
	roundtrip(&pl, &rt);
	ck_assert_uint_eq(rt.pl_kind, PLAN_STEP);
	ck_assert_uint_eq(rt.pl_step, 0);
	ck_assert_msg(check(&rt, &why) == 0, "%s", why);
	plan_clear(&rt);
	plan_clear(&pl);
	step1_plan(&pl);
	roundtrip(&pl, &rt);
	ck_assert_uint_eq(rt.pl_step, 1);
	ck_assert_msg(check(&rt, &why) == 0, "%s", why);
	plan_clear(&rt);
	plan_clear(&pl);
}
END_TEST

/*
 * A step is checked against its own copy in the composite: another step's
 * index, another step's secret, an index past the steps, a step of a
 * composite that does not exist, a simple connector's kind with a step.
 */
START_TEST(test_step_forged)
{
	struct plan		 pl;
	struct plan_field	*f;
	const char		*why;

	/* Step 0's request (its host, its secret) sent as step 1. */
	step0_plan(&pl);
	pl.pl_step = 1;
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "URL is not at the connector's origin");
	plan_clear(&pl);
	/* ... with step 1's URL, the header still step 0's. */
	step0_plan(&pl);
	pl.pl_step = 1;
	free(pl.pl_url);
	pl.pl_url = strdup("https://other.example.com/b/1");
	plan_clear_query(&pl);
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "header does not match its row");
	plan_clear(&pl);

	/* Step 1's own row carrying step 0's secret. */
	step1_plan(&pl);
	tsecret_free(pl.pl_headers[0].pf_segs[0].ps_secret);
	pl.pl_headers[0].pf_segs[0].ps_secret =
	    secret_of("{{ get_secret('one') }}");
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "header does not match its row");
	plan_clear(&pl);
	/* Step 0's row carrying step 1's secret. */
	step0_plan(&pl);
	tsecret_free(pl.pl_headers[0].pf_segs[0].ps_secret);
	pl.pl_headers[0].pf_segs[0].ps_secret =
	    secret_of("{{ get_secret('two') }}");
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "header does not match its row");
	plan_clear(&pl);
	/* Step 1's client secret given step 0's secret. */
	step1_plan(&pl);
	tsecret_free(pl.pl_auth[1].pf_segs[0].ps_secret);
	pl.pl_auth[1].pf_segs[0].ps_secret =
	    secret_of("{{ get_secret('one') }}");
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "authentication field does not match its "
	    "template");
	plan_clear(&pl);
	/* Step 1's authentication on step 0, which has none. */
	step0_plan(&pl);
	f = field(&pl.pl_auth, &pl.pl_nauth, PA_CLIENT_SECRET, 0, "", NULL);
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('two_cs') }}")), 0);
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "authentication field not in the connector");
	plan_clear(&pl);

	/* Indexes: past the steps, a composite that is not there. */
	step0_plan(&pl);
	pl.pl_step = 2;
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "no such connector");
	pl.pl_step = 0xffffffffU;
	ck_assert_int_eq(check(&pl, &why), -1);
	pl.pl_step = 0;
	pl.pl_conn = 1;
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "no such connector");
	plan_clear(&pl);
	/* A simple connector's plan has no step. */
	weather_plan(&pl);
	pl.pl_step = 1;
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "no such connector");
	plan_clear(&pl);
	/* The composite's step as a simple connector: that is "weather". */
	step0_plan(&pl);
	pl.pl_kind = PLAN_CONNECTOR;
	ck_assert_int_eq(check(&pl, &why), -1);
	plan_clear(&pl);
	/*
	 * A test's plan names no registry entry (keeper_call() checks it
	 * against the parent's definition): never taken for a step.
	 */
	step0_plan(&pl);
	pl.pl_kind = PLAN_TEST;
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "no such connector");
	plan_clear(&pl);

	/* The caller's query reaches a step only through request.*. */
	step0_plan(&pl);
	field(&pl.pl_query, &pl.pl_nquery, PLAN_CALLER, 0, "page", "2");
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "caller query field not allowed");
	plan_clear(&pl);
	step0_plan(&pl);
	pl.pl_query[0].pf_src = PLAN_OVERRIDE;
	ck_assert_int_eq(check(&pl, &why), -1);
	ck_assert_str_eq(why, "query override not allowed");
	plan_clear(&pl);
}
END_TEST

static int
lookup(const char *name, const void **val, size_t *len, void *arg)
{
	if (strcmp(name, "api_key") == 0) {
		*val = "s3cr3t/+=";
		*len = 9;
		return 0;
	}
	if (strcmp(name, "app_id") == 0) {
		*val = "APPID-123456";
		*len = 12;
		return 0;
	}
	if (strcmp(name, "pem") == 0) {
		*val = "not a key";
		*len = 9;
		return 0;
	}
	return -1;
}

START_TEST(test_complete)
{
	struct plan	 pl;
	struct kreq	 kr;
	struct fail	 fl;
	size_t		 i;
	int		 raw = 0, derived = 0;

	weather_plan(&pl);
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), 0);
	/* Query keys and values encoded, secrets in place. */
	ck_assert_str_eq(kr.kr_url, "https://api.example.com/v1/warsaw"
	    "?units=imperial%20%26%20more&sig=s3cr3t%2F%252B%253D"
	    "&q=a%20b%2Fc&appid=APPID-123456");
	ck_assert_ptr_null(kr.kr_host);	/* parsed only when asked */
	ck_assert_str_eq(kreq_host(&kr), "api.example.com");
	ck_assert_str_eq(kr.kr_headers[0].kh_name, "X-Key");
	ck_assert_str_eq(kr.kr_headers[0].kh_value, "k=s3cr3t/+=");
	ck_assert_str_eq(kr.kr_headers[2].kh_value, "pl");
	/*
	 * What redaction looks for: the raw values and what came of them,
	 * each once though the secret is named by two fields.
	 */
	for (i = 0; i < kr.kr_nsecrets; i++) {
		if (strcmp(kr.kr_secrets[i], "s3cr3t/+=") == 0)
			raw++;
		if (strcmp(kr.kr_secrets[i], "k=s3cr3t/+=") == 0)
			derived++;
	}
	ck_assert_int_eq(raw, 1);
	ck_assert_int_eq(derived, 1);
	kreq_clear(&kr);
	plan_clear(&pl);
}
END_TEST

/*
 * Checking a plan against a connector whose origin is literal allocates
 * nothing: the origin is compared where the connector holds it (it was
 * copied on every call).
 */
START_TEST(test_check_allocs)
{
	struct plan	 pl;
	const char	*why;
	int		 r, fired;

	weather_plan(&pl);
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	r = check(&pl, &why);
	fired = oom_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(fired, 0);
	plan_clear(&pl);
}
END_TEST

/* The allocations keeper_plan_complete makes for pl (tests/oom.h). */
static long
complete_allocs(const struct plan *pl)
{
	struct kreq	 kr;
	struct fail	 fl;
	long		 n;
	int		 r;

	for (n = 0;; n++) {
		/* Counted from none kept (test_complete_kept). */
		keeper_body_spares_free();
		/* no assertion while armed: check's own allocate */
		oom_arm(n);
		r = keeper_plan_complete(snap, pl, lookup, NULL, &kr, &fl);
		if (!oom_disarm())
			break;
		/* the failure is reported, and kr left empty */
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(fl.fl_status, 500);
		ck_assert_uint_eq(kr.kr_nheaders, 0);
		ck_assert_uint_eq(kr.kr_nsecrets, 0);
		fail_clear(&fl);
	}
	ck_assert_int_eq(r, 0);
	kreq_clear(&kr);
	return n;
}

/*
 * What a call's request costs: the secret's value, its copy for
 * redaction, the header it goes into (the redaction list takes that one
 * as it is), the URL.  The method, the names and literal values are the
 * plan's, and the headers and redaction lists are the kreq's own (up to
 * KREQ_HEADERS and KREQ_SECRETS): once 12 allocations.  From none kept,
 * the URL is the secret's value's block, wiped once the header has it
 * (none kept in a sanitizer build); test_complete_kept: then none.
 */
START_TEST(test_complete_allocs)
{
	struct plan		 pl;
	struct plan_field	*f;
	long			 one;

	plan_for(&pl, "weather", "https://api.example.com/v1/warsaw");
	f = field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 0, "X-Key",
	    "k=");
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('api_key') }}")), 0);
	one = complete_allocs(&pl);
	ck_assert_int_eq(one, kept ? 3 : 4);
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 1, "X-Plain",
	    "plain");
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_OVERRIDE, 2, "X-Lang",
	    "pl");
	ck_assert_int_eq(complete_allocs(&pl), one);
	plan_clear(&pl);
}
END_TEST

/*
 * The secret-derived strings of a call (the secret's value, its copy for
 * redaction, the header, the URL) go back wiped when its request is
 * cleared, and the next call's are those blocks: it allocates nothing
 * (none kept in a sanitizer build).
 */
START_TEST(test_complete_kept)
{
	struct plan		 pl;
	struct plan_field	*f;
	struct kreq		 kr;
	struct fail		 fl;
	const char		*url, *copy;
	size_t			 urllen, copylen, i;
	int			 r, fired;

	keeper_body_spares_free();
	plan_for(&pl, "weather", "https://api.example.com/v1/warsaw");
	f = field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 0, "X-Key",
	    "k=");
	ck_assert_int_eq(plan_field_add(f, NULL, 0,
	    secret_of("{{ get_secret('api_key') }}")), 0);
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), 0);
	ck_assert_uint_ge(kr.kr_nsecrets, 1);
	ck_assert_str_eq(kr.kr_secrets[0], "s3cr3t/+=");
	copy = kr.kr_secrets[0];
	copylen = kr.kr_secretlens[0];
	url = kr.kr_url;
	urllen = kr.kr_urllen;
	kreq_clear(&kr);
	if (kept) {
		/* kept, so still ours to read: what was written is wiped */
		for (i = 0; i <= copylen; i++)
			ck_assert_int_eq(copy[i], 0);
		for (i = 0; i <= urllen; i++)
			ck_assert_int_eq(url[i], 0);
	}
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	r = keeper_plan_complete(snap, &pl, lookup, NULL, &kr, &fl);
	fired = oom_disarm();
	ck_assert_int_eq(fired, !kept);
	if (kept) {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(kr.kr_headers[0].kh_value, "k=s3cr3t/+=");
		ck_assert_str_eq(kr.kr_url,
		    "https://api.example.com/v1/warsaw");
		kreq_clear(&kr);
	} else
		fail_clear(&fl);
	plan_clear(&pl);
	keeper_body_spares_free();
}
END_TEST

/*
 * A small secret block is kept wiped whole, not only the length its
 * caller gives back: bytes written past that length are gone too, and
 * the next small block is that one.
 */
START_TEST(test_secret_block_wiped)
{
	unsigned char	*p, *q;
	size_t		 cap, i;

	keeper_body_spares_free();
	ck_assert_ptr_nonnull(p = keeper_secret_alloc(40));
	cap = malloc_usable_size(p);
	ck_assert_uint_ge(cap, 128);
	memset(p, 0xa5, cap);
	keeper_secret_free(p, 40);
	if (kept) {
		/* kept, so still ours to read */
		for (i = 0; i < cap; i++)
			ck_assert_msg(p[i] == 0, "byte %zu of %zu left", i, cap);
		ck_assert_ptr_eq(q = keeper_secret_alloc(10), p);
	} else
		ck_assert_ptr_nonnull(q = keeper_secret_alloc(10));
	keeper_secret_free(q, 10);
	keeper_body_spares_free();
}
END_TEST

/*
 * An api_key call has no authentication state to keep: kauth_prepare is
 * ready at once, leaves the state NULL and allocates nothing (it
 * allocated a state for every call).
 */
START_TEST(test_auth_prepare_allocs)
{
	struct plan		 pl;
	struct kreq		 kr;
	struct fail		 fl;
	struct kauth_req	*ar;
	int			 r, fired;

	weather_plan(&pl);
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), 0);
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	r = kauth_prepare(NULL, &kr, &ar, NULL, NULL, &fl);
	fired = oom_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(fired, 0);
	ck_assert_ptr_null(ar);
	/* a 401 on a call without a token stands */
	ck_assert_int_eq(kauth_retry(NULL, ar, 401), 0);
	kauth_req_free(ar);
	kreq_clear(&kr);
	plan_clear(&pl);
}
END_TEST

/*
 * Past the kreq's own slots the headers and redaction values move to the
 * heap, every one kept; a header set over a literal leaves the plan's
 * bytes alone.  (Under valgrind and ASan, a free of a borrowed pointer or
 * a lost one would show.)
 */
START_TEST(test_complete_spill)
{
	struct plan		 pl;
	struct plan_field	*f;
	struct kreq		 kr;
	struct fail		 fl;
	/* kreq_header_set keeps its names: literals */
	static const char *const names[] = { "X-A", "X-B", "X-C", "X-D",
	    "X-E", "X-F", "X-G", "X-H", "X-I", "X-J" };
	char			 name[16], lit[16], want[32];
	size_t			 i, j, nh;
	int			 found;

	plan_for(&pl, "weather", "https://api.example.com/v1/warsaw");
	for (i = 0; i < KREQ_HEADERS + 3; i++) {
		snprintf(name, sizeof(name), "X-S%zu", i);
		snprintf(lit, sizeof(lit), "k%zu=", i);
		f = field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 0, name,
		    lit);
		ck_assert_int_eq(plan_field_add(f, NULL, 0,
		    secret_of("{{ get_secret('api_key') }}")), 0);
	}
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 1, "X-Plain",
	    "plain");
	ck_assert_int_gt(complete_allocs(&pl), 0);
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), 0);
	nh = KREQ_HEADERS + 4;
	ck_assert_uint_eq(kr.kr_nheaders, nh);
	/* the raw value once, and each header's */
	ck_assert_uint_eq(kr.kr_nsecrets, KREQ_HEADERS + 4);
	for (i = 0; i < KREQ_HEADERS + 3; i++) {
		snprintf(want, sizeof(want), "k%zu=s3cr3t/+=", i);
		ck_assert_str_eq(kr.kr_headers[i].kh_value, want);
		for (j = 0, found = 0; j < kr.kr_nsecrets; j++)
			found += strcmp(kr.kr_secrets[j], want) == 0;
		ck_assert_int_eq(found, 1);
	}
	ck_assert_str_eq(kr.kr_headers[nh - 1].kh_value, "plain");
	/* over the literal, then a new one past the slots */
	ck_assert_int_eq(kreq_header_set(&kr, "x-plain", "other", 5), 0);
	ck_assert_int_eq(kreq_header_set(&kr, "X-New", "v", 1), 0);
	ck_assert_uint_eq(kr.kr_nheaders, nh + 1);
	ck_assert_str_eq(kr.kr_headers[nh - 1].kh_value, "other");
	ck_assert_str_eq(kr.kr_headers[nh].kh_name, "X-New");
	ck_assert_str_eq(pl.pl_headers[nh - 1].pf_segs[0].ps_data, "plain");
	/* over a derived one: the value sent is still redacted */
	ck_assert_int_eq(kreq_header_set(&kr, "X-S0", "new", 3), 0);
	ck_assert_str_eq(kr.kr_headers[0].kh_value, "new");
	for (j = 0, found = 0; j < kr.kr_nsecrets; j++)
		found += strcmp(kr.kr_secrets[j], "k0=s3cr3t/+=") == 0;
	ck_assert_int_eq(found, 1);
	kreq_clear(&kr);

	/* a plan's one header, then set ones: in the slots, then past */
	plan_clear(&pl);
	plan_for(&pl, "weather", "https://api.example.com/v1/warsaw");
	field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 1, "X-Plain",
	    "plain");
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), 0);
	ck_assert_ptr_eq(kr.kr_headers, kr.kr_hbuf);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(lit, sizeof(lit), "v%zu", i);
		ck_assert_int_eq(kreq_header_set(&kr, names[i], lit,
		    strlen(lit)), 0);
	}
	ck_assert_ptr_ne(kr.kr_headers, kr.kr_hbuf);
	ck_assert_int_eq(kreq_header_set(&kr, "x-b", "again", 5), 0);
	ck_assert_uint_eq(kr.kr_nheaders, 1 + sizeof(names) / sizeof(names[0]));
	ck_assert_str_eq(kr.kr_headers[0].kh_value, "plain");
	ck_assert_str_eq(kr.kr_headers[2].kh_value, "again");
	/* the first past the slots, where the rest were moved to */
	snprintf(want, sizeof(want), "v%d", KREQ_HEADERS);
	ck_assert_str_eq(kr.kr_headers[KREQ_HEADERS + 1].kh_name,
	    names[KREQ_HEADERS]);
	ck_assert_str_eq(kr.kr_headers[KREQ_HEADERS + 1].kh_value, want);
	kreq_clear(&kr);
	plan_clear(&pl);
}
END_TEST

/*
 * A secret the connector uses only as a jwt_encode() key goes out only
 * signed: a worker that sends it as it is, or inside another expression,
 * is refused; the honest signed form passes the check.
 */
START_TEST(test_check_jwt_key_only)
{
	struct plan		 pl;
	struct plan_field	*f;
	const char		*why;
	static const char	*forged[] = {
		"{{ get_secret('pem') }}",
		"{{ get_secret('pem') | base64_encode }}",
		"{{ 'x' ~ get_secret('pem') }}",
	};
	size_t			 i;

	plan_for(&pl, "jwt", "https://api.example.com/j");
	f = field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 0,
	    "Authorization", "Bearer ");
	ck_assert_int_eq(plan_field_add(f, NULL, 0, secret_of("{{ jwt_encode("
	    "{'sub': 'x'}, get_secret('pem'), 'RS256') }}")), 0);
	ck_assert_int_eq(check(&pl, &why), 0);
	plan_clear(&pl);

	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		plan_for(&pl, "jwt", "https://api.example.com/j");
		f = field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 0,
		    "Authorization", "Bearer ");
		ck_assert_int_eq(plan_field_add(f, NULL, 0,
		    secret_of(forged[i])), 0);
		ck_assert_msg(check(&pl, &why) == -1, "%s accepted",
		    forged[i]);
		plan_clear(&pl);
	}
}
END_TEST

START_TEST(test_complete_errors)
{
	struct plan		 pl;
	struct plan_field	*f;
	struct kreq		 kr;
	struct fail		 fl;

	/* A signing error is the JWT scope's 422. */
	plan_for(&pl, "jwt", "https://api.example.com/j");
	f = field(&pl.pl_headers, &pl.pl_nheaders, PLAN_ROW, 0,
	    "Authorization", "Bearer ");
	ck_assert_int_eq(plan_field_add(f, NULL, 0, secret_of("{{ jwt_encode("
	    "{'sub': 'x'}, get_secret('pem'), 'RS256') }}")), 0);
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), -1);
	ck_assert_uint_eq(fl.fl_status, 422);
	ck_assert_str_eq(fl.fl_scope, "Authentication (JWT signing)");
	fail_clear(&fl);
	plan_clear(&pl);

	/* A missing secret stays its template literal (platform-docs §12). */
	weather_plan(&pl);
	tsecret_free(pl.pl_headers[0].pf_segs[1].ps_secret);
	pl.pl_headers[0].pf_segs[1].ps_secret =
	    secret_of("{{ get_secret('nope') }}");
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), 0);
	ck_assert_str_eq(kr.kr_headers[0].kh_value,
	    "k={{ get_secret('nope') }}");
	kreq_clear(&kr);
	plan_clear(&pl);
}
END_TEST

/*
 * A field of more segments than are evaluated on the stack: the value
 * whole; a failure after several secrets were evaluated leaves nothing
 * behind (valgrind).
 */
START_TEST(test_complete_many_segs)
{
	struct plan		 pl;
	struct plan_field	*f;
	struct kreq		 kr;
	struct fail		 fl;
	int			 j;

	weather_plan(&pl);
	f = &pl.pl_headers[0];
	for (j = 0; j < 5; j++) {
		ck_assert_int_eq(plan_field_add(f, "-", 1, NULL), 0);
		ck_assert_int_eq(plan_field_add(f, NULL, 0,
		    secret_of("{{ get_secret('api_key') }}")), 0);
	}
	ck_assert_uint_gt(f->pf_nsegs, 8);
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), 0);
	ck_assert_str_eq(kr.kr_headers[0].kh_value, "k=s3cr3t/+="
	    "-s3cr3t/+=-s3cr3t/+=-s3cr3t/+=-s3cr3t/+=-s3cr3t/+=");
	kreq_clear(&kr);

	ck_assert_int_eq(plan_field_add(f, NULL, 0, secret_of("{{ jwt_encode("
	    "{'sub': 'x'}, get_secret('pem'), 'RS256') }}")), 0);
	ck_assert_int_eq(keeper_plan_complete(snap, &pl, lookup, NULL, &kr,
	    &fl), -1);
	ck_assert_uint_eq(fl.fl_status, 422);
	fail_clear(&fl);
	plan_clear(&pl);
}
END_TEST

/* The codecs of plans and answers, as oom_roundtrip takes them. */
static int
enc_plan(struct ipc_buf *b, const void *pl)
{
	return plan_encode(b, pl);
}

static int
enc_result(struct ipc_buf *b, const void *rs)
{
	return result_encode(b, rs);
}

static int
dec_plan(struct ipc_msg *m, void *pl)
{
	const char	*why;

	return plan_decode(m, pl, &why);
}

static int
dec_result(struct ipc_msg *m, void *rs)
{
	const char	*why;

	return result_decode(m, rs, &why);
}

/*
 * Each allocation failing in turn (tests/oom.h): a plan and an answer
 * encoded and decoded, a plan completed with its secrets.  Every failure
 * is reported as such (a 500, not the connector's 422), and nothing is
 * left half-made.
 */
START_TEST(test_oom)
{
	struct result_header	 hs[2] = {
		RH("Content-Type", "application/json"), RH("X-Empty", "")
	};
	struct plan		 a, b;
	struct result		 in, out;
	struct ipc_buf		 buf;
	struct kreq		 kr;
	struct fail		 fl;
	long			 n;
	int			 r;

	/* A block kept from an earlier test would spare the first. */
	plan_arenas_free();
	weather_plan(&a);
	oom_roundtrip(enc_plan, dec_plan, MSG_CALL, &a, &buf, &b);
	ck_assert_str_eq(b.pl_url, a.pl_url);
	plan_clear(&b);

	for (n = 0;; n++) {
		oom_arm(n);
		r = keeper_plan_complete(snap, &a, lookup, NULL, &kr, &fl);
		if (!oom_disarm())
			break;
		ck_assert_int_eq(r, -1);
		ck_assert_msg(fl.fl_status == 500, "allocation %ld: %u %s", n,
		    fl.fl_status, fl.fl_detail);
		ck_assert_ptr_null(kr.kr_url);
		ck_assert_uint_eq(kr.kr_nsecrets, 0);
		fail_clear(&fl);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_gt(n, 3);
	ck_assert_str_eq(kr.kr_headers[0].kh_value, "k=s3cr3t/+=");
	kreq_clear(&kr);
	plan_clear(&a);

	memset(&in, 0, sizeof(in));
	in.rs_status = 200;
	in.rs_headers = hs;
	in.rs_nheaders = 2;
	in.rs_body = (unsigned char *)"{}";
	in.rs_bodylen = 2;
	in.rs_host = "api.example.com";
	oom_roundtrip(enc_result, dec_result, MSG_RESULT, &in, &buf, &out);
	ck_assert_str_eq(out.rs_headers[1].rh_name, "X-Empty");
	result_clear(&out);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("plan");
	TCase	*tc = tcase_create("plan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_field_segs_room);
	tcase_add_test(tc, test_field_name_kept);
	tcase_add_test(tc, test_decode_bounds);
	tcase_add_test(tc, test_result_roundtrip);
	tcase_add_test(tc, test_result_parts);
	tcase_add_test(tc, test_result_kept);
	tcase_add_test(tc, test_result_arena_kept);
	tcase_add_test(tc, test_plan_arena_kept);
	tcase_add_test(tc, test_complete_many_segs);
	tcase_add_test(tc, test_check_accepts);
	tcase_add_test(tc, test_check_destination);
	tcase_add_test(tc, test_check_names);
	tcase_add_test(tc, test_check_secret_fields);
	tcase_add_test(tc, test_check_rows);
	tcase_add_test(tc, test_check_variable_host);
	tcase_add_test(tc, test_check_rendered_key);
	tcase_add_test(tc, test_complete);
	tcase_add_test(tc, test_check_allocs);
	tcase_add_test(tc, test_complete_allocs);
	tcase_add_test(tc, test_complete_kept);
	tcase_add_test(tc, test_secret_block_wiped);
	tcase_add_test(tc, test_auth_prepare_allocs);
	tcase_add_test(tc, test_complete_spill);
	tcase_add_test(tc, test_oom);
	tcase_add_test(tc, test_complete_errors);
	tcase_add_test(tc, test_check_jwt_key_only);
	tcase_add_test(tc, test_step_accepts);
	tcase_add_test(tc, test_step_forged);
	suite_add_tcase(s, tc);
	return s;
}
