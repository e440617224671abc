/*
 * check_cache.c — the worker's response cache (cache.c) and the header
 * parsers it shares with the keeper (cachehdr.c).
 *
 * Plans and upstream answers are made here by hand and the clock is the
 * test's: every freshness rule is checked at instants on either side of
 * its boundary.  Secret segments come from the template engine itself, so
 * the key is tested on the trees a worker really renders.
 */
#include "build.h"

#include <sys/stat.h>

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cachehdr.h"
#include "config.h"
#include "connector.h"
#include "keeper_plan.h"
#include "oom.h"
#include "plan.h"
#include "snapshot.h"
#include "template/template.h"

/* 2023-11-14T22:13:20Z, in ms: every test's "now". */
#define T0	1700000000000LL
#define SEC	1000LL

static char		 dir[64];
static struct snapshot	*snap;
static struct cache	*cache;

static const char	 registry[] =
"{\"connectors\": ["
" {\"name\": \"Plain\", \"permalink\": \"plain\","
"  \"url\": \"https://api.example.com/x\"},"
" {\"name\": \"Other\", \"permalink\": \"other\","
"  \"url\": \"https://api.example.com/x\"},"
" {\"name\": \"Shaped\", \"permalink\": \"shaped\","
"  \"url\": \"https://api.example.com/x\","
"  \"response_body\": \"{{ response.body }}/{{ response.headers.etag }}/"
"{{ tenant_id }}\"},"
" {\"name\": \"Personal\", \"permalink\": \"personal\","
"  \"url\": \"https://api.example.com/x\","
"  \"response_body\": \"{{ response.body }}/{{ user.id }}\"},"
" {\"name\": \"Lenient\", \"permalink\": \"lenient\","
"  \"url\": \"https://api.example.com/x\","
"  \"widgetd\": {\"cache\": {\"stale_if_error\": 100}}},"
" {\"name\": \"Var\", \"permalink\": \"var\","
"  \"url\": \"https://{{ get_variable('host') }}/x\"},"
" {\"name\": \"Post\", \"permalink\": \"post\", \"method\": \"POST\","
"  \"url\": \"https://api.example.com/x\"}"
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

/* A generation of w.conf (with extra text) and r.json as they are now. */
static struct snapshot *
mksnap(uint64_t gen, const char *extra)
{
	char		 path[128], conf[512];
	struct snapshot	*sn;

	snprintf(conf, sizeof(conf), "listen = ( { address = \"127.0.0.1\"; "
	    "port = 1; } );\ntenants = ( { id = \"t\"; registry = "
	    "\"r.json\"; store = \"s\"; } );\n%s\n", extra);
	writefile("w.conf", conf);
	snprintf(path, sizeof(path), "%s/w.conf", dir);
	sn = snapshot_build(path, gen, 0, NULL, NULL);
	ck_assert_ptr_nonnull(sn);
	return sn;
}

static void
setup_with(const char *extra)
{
	char	 path[128];

	snprintf(dir, sizeof(dir), "/tmp/check_cache.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	writefile("r.json", registry);
	snprintf(path, sizeof(path), "%s/s", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/s/variables", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	writefile("s/variables/host", "api.example.org");
	snap = mksnap(1, extra);
	ck_assert_ptr_nonnull(cache = cache_new());
	cache_generation(cache, snap);
}

static void
setup(void)
{
	setup_with("");
}

/* Room for a few entries of about 1 KiB: 16 KiB, a quarter is 4 KiB. */
static void
setup_small(void)
{
	setup_with("cache = { memory = 16384; stale_if_error_max = 50; };");
}

static void
teardown(void)
{
	char	 cmd[128];

	cache_free(cache);
	snapshot_unref(snap);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static uint32_t
conn_index(const struct snapshot *sn, const char *permalink)
{
	const struct connector	*c;

	c = registry_connector(sn->sn_tenants[0].st_reg, permalink);
	ck_assert_ptr_nonnull(c);
	return (uint32_t)c->c_index;
}

static struct plan_field *
field(struct plan_field **fs, size_t *n, const char *name, const char *text)
{
	struct plan_field	*f;

	*fs = reallocarray(*fs, *n + 1, sizeof(**fs));
	f = &(*fs)[(*n)++];
	memset(f, 0, sizeof(*f));
	f->pf_src = PLAN_ROW;
	f->pf_name = strdup(name);
	if (text != NULL)
		ck_assert_int_eq(plan_field_add(f, text, strlen(text), NULL), 0);
	return f;
}

/* GET url of connector permalink, with "q=<query>" when query is given. */
static void
mkplan(struct plan *pl, const char *permalink, const char *query)
{
	memset(pl, 0, sizeof(*pl));
	pl->pl_gen = snap->sn_gen;
	pl->pl_kind = PLAN_CONNECTOR;
	pl->pl_conn = conn_index(snap, permalink);
	pl->pl_method = strcmp(permalink, "post") == 0 ? "POST" : "GET";
	pl->pl_url = strdup("https://api.example.com/x");
	pl->pl_reqid = "req";
	if (query != NULL)
		field(&pl->pl_query, &pl->pl_nquery, "q", query);
}

/* A field rendered by the engine: its secrets are real symbolic trees. */
static void
rendered(struct plan *pl, const char *name, const char *src,
    const char *user)
{
	struct tmpl		*t;
	struct tmpl_output	*o;
	struct tmpl_error	 err;
	struct tmpl_env		 env;
	struct tval		*g, *u;
	struct plan_field	*f;
	size_t			 i;

	memset(&err, 0, sizeof(err));
	ck_assert_ptr_nonnull(t = tmpl_compile(src, strlen(src), &err));
	g = tval_dict();
	u = tval_dict();
	tval_dict_set(u, "id", tval_str(user, strlen(user)));
	tval_dict_set(g, "user", u);
	memset(&env, 0, sizeof(env));
	env.te_globals = g;
	env.te_now = T0 / 1000;
	ck_assert_ptr_nonnull(o = tmpl_render(t, &env, &err));
	f = field(&pl->pl_headers, &pl->pl_nheaders, name, NULL);
	for (i = 0; i < o->to_nsegs; i++) {
		ck_assert_int_eq(plan_field_add(f, o->to_segs[i].sg_data,
		    o->to_segs[i].sg_len, o->to_segs[i].sg_secret), 0);
		o->to_segs[i].sg_secret = NULL;
	}
	tmpl_output_free(o);
	tval_unref(g);
	tmpl_free(t);
}

/* An HTTP-date for ms since the epoch. */
static const char *
httpdate(int64_t ms, char *buf, size_t len)
{
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return buf;
}

/* An answer: status, "Name: value" lines (NULL-terminated), a body. */
static void
mkresult(struct result *rs, int status, const char *const *lines,
    const char *body)
{
	const char	*colon;
	size_t		 i, n = 0;

	memset(rs, 0, sizeof(*rs));
	rs->rs_status = (uint32_t)status;
	while (lines != NULL && lines[n] != NULL)
		n++;
	rs->rs_headers = calloc(n + 1, sizeof(*rs->rs_headers));
	for (i = 0; i < n; i++) {
		colon = strchr(lines[i], ':');
		rs->rs_headers[i].rh_name = strndup(lines[i],
		    (size_t)(colon - lines[i]));
		rs->rs_headers[i].rh_value = strdup(colon + 2);
		rs->rs_headers[i].rh_namelen = strlen(rs->rs_headers[i].rh_name);
		rs->rs_headers[i].rh_valuelen = strlen(colon + 2);
	}
	rs->rs_nheaders = n;
	rs->rs_body = (unsigned char *)strdup(body);
	rs->rs_bodylen = strlen(body);
	rs->rs_host = strdup("api.example.com");
	rs->rs_debug = strdup("");
}

/* Look pl up at now: the verdict (the ticket in *tp, or freed). */
static enum cache_verdict
look(struct plan *pl, int64_t now, struct cache_ticket **tp)
{
	struct cache_ticket	*t;
	enum cache_verdict	 v;

	t = cache_lookup(cache, snap, pl, now, NULL, 0, &v);
	ck_assert_ptr_nonnull(t);
	if (tp != NULL)
		*tp = t;
	else
		cache_ticket_free(t);
	return v;
}

/*
 * A request's lookup takes the ticket the last one freed: no allocation
 * (there was one each; sanitizer builds keep none), and nothing of the
 * last ticket's state is carried over.
 */
START_TEST(test_ticket_kept)
{
	struct plan		 pl;
	struct cache_ticket	*t;
	enum cache_verdict	 v;
	int			 fired;
#ifdef WIDGETD_SANITIZED
	const int		 kept = 0;
#else
	const int		 kept = 1;
#endif

	mkplan(&pl, "post", NULL);
	ck_assert_int_eq(look(&pl, 1000, NULL), CACHE_SEND);
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	t = cache_lookup(cache, snap, &pl, 2000, NULL, 0, &v);
	fired = oom_disarm();
	ck_assert_int_eq(fired, !kept);
	if (kept) {
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(v, CACHE_SEND);
		ck_assert_int_eq(cache_ticket_outcome(t), CACHE_O_BYPASS);
		ck_assert_str_eq(cache_ticket_status(t), "widgetd; fwd=method");
	}
	cache_ticket_free(t);
	plan_clear(&pl);
}
END_TEST

/*
 * A miss at sent answered at now with these headers and body; returns
 * whether the answer was stored (an entry came back), and the status.
 */
static int
store_at(const char *permalink, const char *query, int64_t sent, int64_t now,
    int status, const char *const *lines, const char *body, char *cs,
    size_t cslen)
{
	struct plan		 pl;
	struct result		 rs;
	struct cache_ticket	*t;
	const struct cache_entry *e;
	int			 stored;

	mkplan(&pl, permalink, query);
	ck_assert_int_eq(look(&pl, sent, &t), CACHE_SEND);
	mkresult(&rs, status, lines, body);
	e = cache_answer(t, &rs, now);
	stored = e != NULL;
	if (cs != NULL)
		snprintf(cs, cslen, "%s", cache_ticket_status(t));
	cache_ticket_free(t);
	result_clear(&rs);
	plan_clear(&pl);
	return stored;
}

static int
store(const char *permalink, const char *query, int64_t now,
    const char *const *lines)
{
	return store_at(permalink, query, now, now, 200, lines, "{\"v\":1}",
	    NULL, 0);
}

/* The verdict for connector/query at now. */
static enum cache_verdict
verdict(const char *permalink, const char *query, int64_t now)
{
	struct plan		 pl;
	enum cache_verdict	 v;

	mkplan(&pl, permalink, query);
	v = look(&pl, now, NULL);
	plan_clear(&pl);
	return v;
}

/* --- cachehdr.c ---------------------------------------------------------- */

static struct cachehdr_cc
cc_of(const char *s)
{
	struct cachehdr_cc	 cc;

	cachehdr_cc_init(&cc);
	cachehdr_cc_parse(&cc, s, strlen(s));
	return cc;
}

START_TEST(test_cc_directives)
{
	struct cachehdr_cc	 cc;

	cc = cc_of("public, max-age=3600");
	ck_assert_int_eq(cc.cc_public, 1);
	ck_assert_int_eq(cc.cc_max_age, 3600);
	ck_assert_int_eq(cc.cc_s_maxage, CACHEHDR_ABSENT);
	ck_assert_int_eq(cc.cc_no_store, 0);
	/* Names in any case; quoted arguments accepted (RFC 9111 §5.2). */
	cc = cc_of("MAX-AGE=\"60\", S-MaxAge=120,no-store");
	ck_assert_int_eq(cc.cc_max_age, 60);
	ck_assert_int_eq(cc.cc_s_maxage, 120);
	ck_assert_int_eq(cc.cc_no_store, 1);
	/* Qualified no-cache and private are still no-cache and private. */
	cc = cc_of("no-cache=\"Set-Cookie, X-A\", private=\"X\"");
	ck_assert_int_eq(cc.cc_no_cache, 1);
	ck_assert_int_eq(cc.cc_private, 1);
	ck_assert_int_eq(cc.cc_max_age, CACHEHDR_ABSENT);
	cc = cc_of("must-revalidate, proxy-revalidate, stale-if-error=30");
	ck_assert_int_eq(cc.cc_must_revalidate, 1);
	ck_assert_int_eq(cc.cc_proxy_revalidate, 1);
	ck_assert_int_eq(cc.cc_stale_if_error, 30);
	/* Empty elements and unknown directives are ignored. */
	cc = cc_of(" , ,immutable, ext=\"a,b\" ,max-age=5,,");
	ck_assert_int_eq(cc.cc_max_age, 5);
}
END_TEST

START_TEST(test_cc_invalid)
{
	struct cachehdr_cc	 cc;

	/* Not delta-seconds: unusable, so the answer counts as stale. */
	ck_assert_int_eq(cc_of("max-age=abc").cc_max_age, CACHEHDR_INVALID);
	ck_assert_int_eq(cc_of("max-age=").cc_max_age, CACHEHDR_INVALID);
	ck_assert_int_eq(cc_of("max-age").cc_max_age, CACHEHDR_INVALID);
	ck_assert_int_eq(cc_of("max-age=-5").cc_max_age, CACHEHDR_INVALID);
	ck_assert_int_eq(cc_of("max-age=\"12\\\"").cc_max_age,
	    CACHEHDR_INVALID);
	ck_assert_int_eq(cc_of("max-age=1 2").cc_max_age, CACHEHDR_INVALID);
	/* Repeated with another value: unusable; with the same: fine. */
	ck_assert_int_eq(cc_of("max-age=5, max-age=6").cc_max_age,
	    CACHEHDR_INVALID);
	ck_assert_int_eq(cc_of("max-age=5, max-age=5").cc_max_age, 5);
	/* Past 2^31: 2^31 (RFC 9111 §1.2.2). */
	ck_assert_int_eq(cc_of("max-age=99999999999999999999").cc_max_age,
	    CACHEHDR_DELTA_MAX);
	/* Two lines add up. */
	cachehdr_cc_init(&cc);
	cachehdr_cc_parse(&cc, "max-age=5", 9);
	cachehdr_cc_parse(&cc, "no-store", 8);
	ck_assert_int_eq(cc.cc_max_age, 5);
	ck_assert_int_eq(cc.cc_no_store, 1);
	/* A quote left open hides the rest of the line, not the next one. */
	cc = cc_of("x=\"open, max-age=5");
	ck_assert_int_eq(cc.cc_max_age, CACHEHDR_ABSENT);
}
END_TEST

START_TEST(test_dates)
{
	int64_t	 t;

	/* The three forms of RFC 9110 §5.6.7, one instant. */
	ck_assert_int_eq(cachehdr_date("Sun, 06 Nov 1994 08:49:37 GMT", 29,
	    &t), 0);
	ck_assert_int_eq(t, 784111777);
	ck_assert_int_eq(cachehdr_date("Sunday, 06-Nov-94 08:49:37 GMT", 30,
	    &t), 0);
	ck_assert_int_eq(t, 784111777);
	ck_assert_int_eq(cachehdr_date("Sun Nov  6 08:49:37 1994", 24, &t), 0);
	ck_assert_int_eq(t, 784111777);
	ck_assert_int_eq(cachehdr_date(" Thu, 01 Jan 1970 00:00:00 GMT ", 31,
	    &t), 0);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(cachehdr_date("Tue, 29 Feb 2000 23:59:60 GMT", 29,
	    &t), 0);
	ck_assert_int_eq(t, 951868800);
	ck_assert_int_eq(cachehdr_date("Wed, 01 Jan 2031 00:00:00 GMT", 29,
	    &t), 0);
	ck_assert_int_eq(t, 1924992000);
	/* Not dates. */
	ck_assert_int_eq(cachehdr_date("0", 1, &t), -1);
	ck_assert_int_eq(cachehdr_date("", 0, &t), -1);
	ck_assert_int_eq(cachehdr_date("Sun, 06 Nov 1994 08:49:37 UTC", 29,
	    &t), -1);
	ck_assert_int_eq(cachehdr_date("Sun, 30 Feb 1994 08:49:37 GMT", 29,
	    &t), -1);
	ck_assert_int_eq(cachehdr_date("Sun, 29 Feb 1900 08:49:37 GMT", 29,
	    &t), -1);
	ck_assert_int_eq(cachehdr_date("Sun, 06 Nov 1994 24:49:37 GMT", 29,
	    &t), -1);
	ck_assert_int_eq(cachehdr_date("Sun, 06 Nov 1994 08:49:37 GMTX", 30,
	    &t), -1);
	ck_assert_int_eq(cachehdr_date("Sun, 06 Nov 1994 08:49:37 G", 27,
	    &t), -1);
	/* len bounds the input: a NUL-free prefix is read, no further. */
	ck_assert_int_eq(cachehdr_date("Sun, 06 Nov 1994 08:49:37 GMT", 20,
	    &t), -1);
}
END_TEST

START_TEST(test_etag_delta_retry)
{
	int64_t	 v;

	ck_assert_int_eq(cachehdr_etag_ok("\"v1\"", 4), 1);
	ck_assert_int_eq(cachehdr_etag_ok("W/\"v1\"", 6), 1);
	ck_assert_int_eq(cachehdr_etag_ok("\"\"", 2), 1);
	ck_assert_int_eq(cachehdr_etag_ok("v1", 2), 0);
	ck_assert_int_eq(cachehdr_etag_ok("\"a\"b\"", 5), 0);
	ck_assert_int_eq(cachehdr_etag_ok("\"a b\"", 5), 0);
	ck_assert_int_eq(cachehdr_etag_ok("\"a\", \"b\"", 8), 0);
	ck_assert_int_eq(cachehdr_etag_ok("w/\"a\"", 5), 0);
	ck_assert_int_eq(cachehdr_etag_ok("\"", 1), 0);
	ck_assert_int_eq(cachehdr_delta(" 42 ", 4, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(cachehdr_delta("4 2", 3, &v), -1);
	ck_assert_int_eq(cachehdr_delta("", 0, &v), -1);
	ck_assert_int_eq(cachehdr_retry_after("120", 3, 1000, &v), 0);
	ck_assert_int_eq(v, 120);
	ck_assert_int_eq(cachehdr_retry_after("Thu, 01 Jan 1970 00:00:30 GMT",
	    29, 10, &v), 0);
	ck_assert_int_eq(v, 20);
	/* A date gone by: no wait. */
	ck_assert_int_eq(cachehdr_retry_after("Thu, 01 Jan 1970 00:00:30 GMT",
	    29, 100, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(cachehdr_retry_after("soon", 4, 0, &v), -1);
}
END_TEST

/* --- Keys ---------------------------------------------------------------- */

START_TEST(test_key_request)
{
	static const char *const cc[] = { "Cache-Control: max-age=60", NULL };
	struct plan	 pl;

	ck_assert_int_eq(store("plain", "a", T0, cc), 1);
	ck_assert_int_eq(verdict("plain", "a", T0 + SEC), CACHE_HIT);
	/* Another query value, another connector: other keys. */
	ck_assert_int_eq(verdict("plain", "b", T0 + SEC), CACHE_SEND);
	ck_assert_int_eq(verdict("plain", NULL, T0 + SEC), CACHE_SEND);
	ck_assert_int_eq(verdict("other", "a", T0 + SEC), CACHE_SEND);
	/* One more header sent upstream: another key. */
	mkplan(&pl, "plain", "a");
	field(&pl.pl_headers, &pl.pl_nheaders, "Accept", "text/plain");
	ck_assert_int_eq(look(&pl, T0 + SEC, NULL), CACHE_SEND);
	plan_clear(&pl);
	/* Another URL. */
	mkplan(&pl, "plain", "a");
	free(pl.pl_url);
	pl.pl_url = strdup("https://api.example.com/y");
	ck_assert_int_eq(look(&pl, T0 + SEC, NULL), CACHE_SEND);
	plan_clear(&pl);
	/* A POST is never looked up. */
	ck_assert_int_eq(verdict("post", "a", T0 + SEC), CACHE_SEND);
}
END_TEST

/*
 * Secrets are keyed by name and structure.  A jwt_encode() of user.id has
 * the same template literal for every user; its payload differs, and so
 * does the key.
 */
START_TEST(test_key_secrets)
{
	static const char *const cc[] = { "Cache-Control: max-age=60", NULL };
	static const char jwt[] = "Bearer {{ jwt_encode({'sub': user.id}, "
	    "get_secret('k'), 'HS256') }}";
	struct plan		 pl, p2;
	struct result		 rs;
	struct cache_ticket	*t;
	char			*l1, *l2;

	mkplan(&pl, "plain", NULL);
	rendered(&pl, "Authorization", jwt, "alice");
	ck_assert_int_eq(look(&pl, T0, &t), CACHE_SEND);
	mkresult(&rs, 200, cc, "alice's");
	ck_assert_ptr_nonnull(cache_answer(t, &rs, T0));
	cache_ticket_free(t);
	result_clear(&rs);
	ck_assert_int_eq(look(&pl, T0 + SEC, NULL), CACHE_HIT);

	mkplan(&p2, "plain", NULL);
	rendered(&p2, "Authorization", jwt, "bob");
	l1 = tsecret_literal(pl.pl_headers[0].pf_segs[1].ps_secret);
	l2 = tsecret_literal(p2.pl_headers[0].pf_segs[1].ps_secret);
	ck_assert_str_eq(l1, l2);
	ck_assert_int_eq(look(&p2, T0 + SEC, NULL), CACHE_SEND);
	free(l1);
	free(l2);
	plan_clear(&p2);

	/* Another secret's name: another key. */
	mkplan(&p2, "plain", NULL);
	rendered(&p2, "Authorization", "Bearer {{ jwt_encode({'sub': "
	    "user.id}, get_secret('k2'), 'HS256') }}", "alice");
	ck_assert_int_eq(look(&p2, T0 + SEC, NULL), CACHE_SEND);
	plan_clear(&p2);
	/* The same again: the same key. */
	mkplan(&p2, "plain", NULL);
	rendered(&p2, "Authorization", jwt, "alice");
	ck_assert_int_eq(look(&p2, T0 + SEC, NULL), CACHE_HIT);
	plan_clear(&p2);
	plan_clear(&pl);
}
END_TEST

/* --- Freshness ----------------------------------------------------------- */

START_TEST(test_fresh_max_age)
{
	static const char *const cc[] = { "Cache-Control: max-age=60", NULL };
	char	 cs[160];

	ck_assert_int_eq(store_at("plain", "m", T0, T0, 200, cc, "x", cs,
	    sizeof(cs)), 1);
	ck_assert_str_eq(cs, "widgetd; fwd=uri-miss; fwd-status=200; stored; "
	    "ttl=60");
	ck_assert_int_eq(verdict("plain", "m", T0 + 59 * SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "m", T0 + 60 * SEC), CACHE_SEND);
}
END_TEST

START_TEST(test_fresh_s_maxage)
{
	static const char *const cc[] = {
	    "Cache-Control: max-age=10, s-maxage=100", NULL };
	static const char *const exp_first[] = {
	    "Cache-Control: max-age=10", "Expires: Thu, 01 Jan 1970 00:00:00 GMT",
	    NULL };

	/* A shared cache goes by s-maxage. */
	ck_assert_int_eq(store("plain", "s", T0, cc), 1);
	ck_assert_int_eq(verdict("plain", "s", T0 + 99 * SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "s", T0 + 100 * SEC), CACHE_SEND);
	/* max-age over Expires. */
	ck_assert_int_eq(store("plain", "e", T0, exp_first), 1);
	ck_assert_int_eq(verdict("plain", "e", T0 + 9 * SEC), CACHE_HIT);
}
END_TEST

START_TEST(test_fresh_expires)
{
	char		 date[64], exp[64], h1[100], h2[100], cs[160];
	const char	*lines[] = { h1, h2, NULL };
	const char	*bad[] = { "Expires: 0", NULL };

	/* Expires − Date: 30 s. */
	snprintf(h1, sizeof(h1), "Date: %s", httpdate(T0, date,
	    sizeof(date)));
	snprintf(h2, sizeof(h2), "Expires: %s", httpdate(T0 + 30 * SEC, exp,
	    sizeof(exp)));
	ck_assert_int_eq(store("plain", "x", T0, lines), 1);
	ck_assert_int_eq(verdict("plain", "x", T0 + 29 * SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "x", T0 + 31 * SEC), CACHE_SEND);
	/* A Date an hour old is an hour of age (RFC 9111 apparent_age). */
	snprintf(h1, sizeof(h1), "Date: %s", httpdate(T0 - 3600 * SEC, date,
	    sizeof(date)));
	snprintf(h2, sizeof(h2), "Expires: %s", httpdate(T0 - 3570 * SEC, exp,
	    sizeof(exp)));
	ck_assert_int_eq(store("plain", "y", T0, lines), 1);
	ck_assert_int_eq(verdict("plain", "y", T0), CACHE_SEND);
	/* An invalid Expires is already stale: no use keeping it ... */
	ck_assert_int_eq(store_at("plain", "bad", T0, T0, 200, bad, "x", cs,
	    sizeof(cs)), 0);
	ck_assert_str_eq(cs, "widgetd; fwd=uri-miss; fwd-status=200; "
	    "detail=expired");
	ck_assert_int_eq(verdict("plain", "bad", T0), CACHE_SEND);
	/* ... unless a stale answer may stand in for an error. */
	ck_assert_int_eq(store("lenient", "bad", T0, bad), 1);
	ck_assert_int_eq(verdict("lenient", "bad", T0), CACHE_SEND);
}
END_TEST

START_TEST(test_fresh_age)
{
	char		 date[64], h[100];
	const char	*aged[] = { "Cache-Control: max-age=60", "Age: 50", NULL };
	const char	*dated[] = { "Cache-Control: max-age=60", h, NULL };

	/* Age counts: 10 s left. */
	ck_assert_int_eq(store("plain", "a", T0, aged), 1);
	ck_assert_int_eq(verdict("plain", "a", T0 + 9 * SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "a", T0 + 11 * SEC), CACHE_SEND);
	/* So does a Date in the past (the apparent age): 20 s left. */
	snprintf(h, sizeof(h), "Date: %s", httpdate(T0 - 40 * SEC, date,
	    sizeof(date)));
	ck_assert_int_eq(store("plain", "d", T0, dated), 1);
	ck_assert_int_eq(verdict("plain", "d", T0 + 19 * SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "d", T0 + 21 * SEC), CACHE_SEND);
	/* And the time the call took: sent 30 s before it came back. */
	ck_assert_int_eq(store_at("plain", "r", T0 - 30 * SEC, T0, 200,
	    (const char *const[]){ "Cache-Control: max-age=60", NULL }, "x",
	    NULL, 0), 1);
	ck_assert_int_eq(verdict("plain", "r", T0 + 29 * SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "r", T0 + 31 * SEC), CACHE_SEND);
}
END_TEST

/* What is not stored, and the Cache-Status that says why. */
START_TEST(test_not_stored)
{
	static const struct {
		const char	*line;
		int		 status;
		const char	*why;
	} cases[] = {
		{ "Cache-Control: no-store, max-age=60", 200, "no-store" },
		{ "Cache-Control: no-cache, max-age=60", 200, "no-cache" },
		{ "Cache-Control: private, max-age=60", 200, "private" },
		{ "Cache-Control: max-age=60", 404, "status" },
		{ "Cache-Control: max-age=60", 302, "status" },
		{ "Cache-Control: max-age=60", 206, "status" },
		{ "Content-Type: text/plain", 200, "no-freshness" },
	};
	const char	*lines[2];
	char		 cs[160], want[160], q[8];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lines[0] = cases[i].line;
		lines[1] = NULL;
		snprintf(q, sizeof(q), "n%zu", i);
		ck_assert_int_eq(store_at("plain", q, T0, T0, cases[i].status,
		    lines, "x", cs, sizeof(cs)), 0);
		snprintf(want, sizeof(want), "widgetd; fwd=uri-miss; "
		    "fwd-status=%d; detail=%s", cases[i].status, cases[i].why);
		ck_assert_str_eq(cs, want);
		ck_assert_int_eq(verdict("plain", q, T0 + SEC), CACHE_SEND);
	}
}
END_TEST

START_TEST(test_stored_statuses)
{
	static const char *const cc[] = { "Cache-Control: max-age=60",
	    "Location: https://elsewhere.example/", NULL };

	ck_assert_int_eq(store_at("plain", "301", T0, T0, 301, cc, "", NULL,
	    0), 1);
	ck_assert_int_eq(store_at("plain", "308", T0, T0, 308, cc, "", NULL,
	    0), 1);
	ck_assert_int_eq(verdict("plain", "301", T0 + SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "308", T0 + SEC), CACHE_HIT);
}
END_TEST

/*
 * Every header sent upstream is in the key, so Vary holds by itself: the
 * same request is the same key whatever Vary names, another value of a
 * named header is another key; only "Vary: *" forbids reuse.
 */
START_TEST(test_vary)
{
	static const char *const star[] = { "Cache-Control: max-age=60",
	    "Vary: Accept-Language, *", NULL };
	static const char *const lang[] = { "Cache-Control: max-age=60",
	    "Vary: Accept-Language", NULL };
	struct plan		 pl;
	struct result		 rs;
	struct cache_ticket	*t;
	const char		*langs[] = { "en", "pl" };
	size_t			 i;
	char			 cs[160];

	ck_assert_int_eq(store_at("plain", "v", T0, T0, 200, star, "x", cs,
	    sizeof(cs)), 0);
	ck_assert_str_eq(cs, "widgetd; fwd=uri-miss; fwd-status=200; "
	    "detail=vary");
	for (i = 0; i < 2; i++) {
		mkplan(&pl, "plain", "w");
		field(&pl.pl_headers, &pl.pl_nheaders, "Accept-Language",
		    langs[i]);
		ck_assert_int_eq(look(&pl, T0, &t), CACHE_SEND);
		mkresult(&rs, 200, lang, langs[i]);
		ck_assert_ptr_nonnull(cache_answer(t, &rs, T0));
		cache_ticket_free(t);
		result_clear(&rs);
		plan_clear(&pl);
	}
	for (i = 0; i < 2; i++) {
		mkplan(&pl, "plain", "w");
		field(&pl.pl_headers, &pl.pl_nheaders, "Accept-Language",
		    langs[i]);
		ck_assert_int_eq(look(&pl, T0 + SEC, &t), CACHE_HIT);
		ck_assert_str_eq((const char *)cache_entry_result(
		    cache_ticket_entry(t))->rs_body, langs[i]);
		cache_ticket_free(t);
		plan_clear(&pl);
	}
}
END_TEST

/* --- Revalidation --------------------------------------------------------- */

/* The validator the lookup added for the keeper, or NULL. */
static const char *
validator(const struct plan *pl, const char *name)
{
	size_t	 i;

	for (i = 0; i < pl->pl_nheaders; i++)
		if (pl->pl_headers[i].pf_src == PLAN_VALIDATOR &&
		    strcmp(pl->pl_headers[i].pf_name, name) == 0)
			return pl->pl_headers[i].pf_segs[0].ps_data;
	return NULL;
}

START_TEST(test_revalidate_etag)
{
	static const char *const first[] = { "Cache-Control: max-age=1",
	    "ETag: \"v1\"", "Content-Type: application/json", "X-Gen: 1",
	    NULL };
	static const char *const nm[] = { "Cache-Control: max-age=60",
	    "ETag: \"v1\"", "X-Gen: 2", "Content-Type: text/wrong", NULL };
	struct plan		 pl;
	struct result		 rs;
	struct cache_ticket	*t;
	const struct cache_entry *e;
	const struct result	*er;

	ck_assert_int_eq(store_at("plain", "r", T0, T0, 200, first,
	    "{\"body\":1}", NULL, 0), 1);
	ck_assert_int_eq(verdict("plain", "r", T0 + 500), CACHE_HIT);
	/* Stale: sent with If-None-Match, and no If-Modified-Since. */
	mkplan(&pl, "plain", "r");
	ck_assert_int_eq(look(&pl, T0 + 2 * SEC, &t), CACHE_SEND);
	ck_assert_str_eq(validator(&pl, "If-None-Match"), "\"v1\"");
	ck_assert_ptr_null(validator(&pl, "If-Modified-Since"));
	ck_assert_str_eq(cache_ticket_status(t), "widgetd; fwd=stale");
	/* 304: the stored body, the new headers, the new freshness. */
	mkresult(&rs, 304, nm, "");
	ck_assert_ptr_nonnull(e = cache_answer(t, &rs, T0 + 2 * SEC));
	ck_assert_int_eq(cache_ticket_outcome(t), CACHE_O_REVALIDATED);
	ck_assert_str_eq(cache_ticket_status(t), "widgetd; fwd=stale; "
	    "fwd-status=304; ttl=60");
	er = cache_entry_result(e);
	ck_assert_int_eq(er->rs_status, 200);
	ck_assert_str_eq((const char *)er->rs_body, "{\"body\":1}");
	ck_assert_str_eq(result_header_get(er, "X-Gen"), "2");
	ck_assert_str_eq(result_header_get(er, "Content-Type"),
	    "application/json");
	cache_ticket_free(t);
	result_clear(&rs);
	plan_clear(&pl);
	ck_assert_int_eq(verdict("plain", "r", T0 + 61 * SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "r", T0 + 63 * SEC), CACHE_SEND);
}
END_TEST

/*
 * The stored headers after a 304, the slow way: for each name of the 304
 * (but the body's) at its first line, every stored line of that name goes
 * and all the 304's lines of that name come, under the first spelling.
 */
static size_t
refreshed_model(char (*names)[32], char (*vals)[32], size_t n,
    char (*nn)[32], char (*nv)[32], size_t m)
{
	static const char *const body[] = { "Content-Length",
	    "Content-Encoding", "Content-Type", "Transfer-Encoding",
	    "Content-Range" };
	size_t	 i, j, k, b;

	for (i = 0; i < m; i++) {
		for (b = 0; b < 5; b++)
			if (strcasecmp(nn[i], body[b]) == 0)
				break;
		for (j = 0; j < i; j++)
			if (strcasecmp(nn[j], nn[i]) == 0)
				break;
		if (b < 5 || j < i)
			continue;
		for (j = k = 0; j < n; j++)
			if (strcasecmp(names[j], nn[i]) != 0) {
				memcpy(names[k], names[j], 32);
				memcpy(vals[k++], vals[j], 32);
			}
		n = k;
		for (j = i; j < m; j++)
			if (strcasecmp(nn[j], nn[i]) == 0) {
				memcpy(names[n], nn[i], 32);
				memcpy(vals[n++], nv[j], 32);
			}
	}
	return n;
}

/*
 * A 304 with a hundred and more lines over as many stored ones: names in
 * other cases, repeated apart, the body's own; the entry ends as the
 * slow way says, line for line.  Then a 304 whose lines would pass what a
 * result holds leaves the entry as it was.
 */
START_TEST(test_revalidate_many_headers)
{
	static char		 sn[160][32], sv[160][32], nn[260][32];
	static char		 nv[260][32], mn[420][32], mv[420][32];
	static char		*lines[270], *first[170];
	struct plan		 pl;
	struct result		 rs;
	struct cache_ticket	*t;
	const struct cache_entry *e;
	const struct result	*er;
	size_t			 i, n = 0, m = 0, want;

	lines[0] = NULL;
	first[n++] = strdup("Cache-Control: max-age=1");
	first[n++] = strdup("ETag: \"v1\"");
	first[n++] = strdup("Content-Type: application/json");
	for (i = 0; i < 120; i++)
		ck_assert_int_ge(asprintf(&first[n++], "X-S-%zu: old%zu",
		    i % 60, i), 0);
	first[n] = NULL;
	for (i = 0; i < n; i++)
		sscanf(first[i], "%31[^:]: %31[^\n]", sn[i], sv[i]);
	ck_assert_int_eq(store_at("plain", "many", T0, T0, 200,
	    (const char *const *)first, "{\"body\":1}", NULL, 0), 1);

	lines[m++] = strdup("Cache-Control: max-age=60");
	for (i = 0; i < 130; i++) {
		if (i % 13 == 0)
			ck_assert_int_ge(asprintf(&lines[m++],
			    "content-TYPE: text/x-%zu", i), 0);
		else if (i % 3 == 0)
			ck_assert_int_ge(asprintf(&lines[m++],
			    "x-s-%zu: new%zu", (i * 7) % 60, i), 0);
		else if (i % 3 == 1)
			ck_assert_int_ge(asprintf(&lines[m++],
			    "X-N-%zu: n%zu", i % 25, i), 0);
		else
			ck_assert_int_ge(asprintf(&lines[m++],
			    "X-s-%zu: mixed%zu", i % 40, i), 0);
	}
	lines[m] = NULL;
	for (i = 0; i < m; i++)
		sscanf(lines[i], "%31[^:]: %31[^\n]", nn[i], nv[i]);
	memcpy(mn, sn, sizeof(sn));
	memcpy(mv, sv, sizeof(sv));
	want = refreshed_model(mn, mv, n, nn, nv, m);
	ck_assert_uint_gt(want, 100);

	mkplan(&pl, "plain", "many");
	ck_assert_int_eq(look(&pl, T0 + 2 * SEC, &t), CACHE_SEND);
	mkresult(&rs, 304, (const char *const *)lines, "");
	ck_assert_ptr_nonnull(e = cache_answer(t, &rs, T0 + 2 * SEC));
	ck_assert_int_eq(cache_ticket_outcome(t), CACHE_O_REVALIDATED);
	er = cache_entry_result(e);
	ck_assert_uint_eq(er->rs_nheaders, want);
	for (i = 0; i < want; i++) {
		ck_assert_str_eq(er->rs_headers[i].rh_name, mn[i]);
		ck_assert_str_eq(er->rs_headers[i].rh_value, mv[i]);
	}
	ck_assert_str_eq(result_header_get(er, "Content-Type"),
	    "application/json");
	cache_ticket_free(t);
	result_clear(&rs);
	plan_clear(&pl);
	ck_assert_int_eq(verdict("plain", "many", T0 + 61 * SEC), CACHE_HIT);

	/* 200 new names beside the kept ones pass RESULT_MAX_HEADERS. */
	for (i = 0; i < m; i++)
		free(lines[i]);
	for (m = 0; m < 200; m++)
		ck_assert_int_ge(asprintf(&lines[m], "X-Other-%zu: v", m), 0);
	lines[m] = NULL;
	mkplan(&pl, "plain", "many");
	ck_assert_int_eq(look(&pl, T0 + 63 * SEC, &t), CACHE_SEND);
	mkresult(&rs, 304, (const char *const *)lines, "");
	ck_assert_ptr_nonnull(e = cache_answer(t, &rs, T0 + 63 * SEC));
	er = cache_entry_result(e);
	ck_assert_uint_eq(er->rs_nheaders, want);
	for (i = 0; i < want; i++)
		ck_assert_str_eq(er->rs_headers[i].rh_value, mv[i]);
	cache_ticket_free(t);
	result_clear(&rs);
	plan_clear(&pl);
	ck_assert_int_eq(verdict("plain", "many", T0 + 64 * SEC), CACHE_SEND);
	for (i = 0; i < m; i++)
		free(lines[i]);
	for (i = 0; i < n; i++)
		free(first[i]);
}
END_TEST

START_TEST(test_revalidate_last_modified)
{
	static const char *const first[] = {
	    "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT", NULL };
	static const char *const changed[] = { "Cache-Control: max-age=60",
	    NULL };
	struct plan		 pl;
	struct result		 rs;
	struct cache_ticket	*t;
	const struct cache_entry *e;

	/* A validator and no freshness: kept, revalidated at every use. */
	ck_assert_int_eq(store_at("plain", "l", T0, T0, 200, first, "old",
	    NULL, 0), 1);
	mkplan(&pl, "plain", "l");
	ck_assert_int_eq(look(&pl, T0, &t), CACHE_SEND);
	ck_assert_str_eq(validator(&pl, "If-Modified-Since"),
	    "Sun, 06 Nov 1994 08:49:37 GMT");
	ck_assert_ptr_null(validator(&pl, "If-None-Match"));
	/* A 200 instead: the new answer replaces the old. */
	mkresult(&rs, 200, changed, "new");
	ck_assert_ptr_nonnull(e = cache_answer(t, &rs, T0));
	ck_assert_int_eq(cache_ticket_outcome(t), CACHE_O_MISS);
	ck_assert_str_eq(cache_ticket_status(t), "widgetd; fwd=stale; "
	    "fwd-status=200; stored; ttl=60");
	cache_ticket_free(t);
	result_clear(&rs);
	plan_clear(&pl);
	mkplan(&pl, "plain", "l");
	ck_assert_int_eq(look(&pl, T0 + SEC, &t), CACHE_HIT);
	ck_assert_str_eq((const char *)cache_entry_result(
	    cache_ticket_entry(t))->rs_body, "new");
	cache_ticket_free(t);
	plan_clear(&pl);
}
END_TEST

/* A connector that sets If-None-Match itself gets no second one. */
START_TEST(test_validator_own_header)
{
	static const char *const first[] = { "ETag: \"v1\"", NULL };
	struct plan	 pl;
	struct cache_ticket *t;
	size_t		 i, n = 0;

	mkplan(&pl, "plain", "o");
	field(&pl.pl_headers, &pl.pl_nheaders, "if-none-match", "\"mine\"");
	ck_assert_int_eq(look(&pl, T0, &t), CACHE_SEND);
	{
		struct result rs;

		mkresult(&rs, 200, first, "x");
		ck_assert_ptr_nonnull(cache_answer(t, &rs, T0));
		result_clear(&rs);
	}
	cache_ticket_free(t);
	plan_clear(&pl);
	mkplan(&pl, "plain", "o");
	field(&pl.pl_headers, &pl.pl_nheaders, "if-none-match", "\"mine\"");
	ck_assert_int_eq(look(&pl, T0 + SEC, &t), CACHE_SEND);
	for (i = 0; i < pl.pl_nheaders; i++)
		n += strcasecmp(pl.pl_headers[i].pf_name, "If-None-Match") == 0;
	ck_assert_int_eq(n, 1);
	cache_ticket_free(t);
	plan_clear(&pl);
}
END_TEST

/*
 * The keeper takes If-None-Match and If-Modified-Since only as the
 * cache's own validators: on a GET or HEAD, one literal of the right
 * shape.  Anything else is a worker gone bad.
 */
static const char *
keeper_verdict(const char *permalink, const char *name, const char *value,
    int secret)
{
	struct plan		 pl;
	struct plan_field	*f;
	struct fail		 fl;
	const char		*why = NULL;

	mkplan(&pl, permalink, NULL);
	f = field(&pl.pl_headers, &pl.pl_nheaders, name, value);
	f->pf_src = PLAN_VALIDATOR;
	if (secret)
		rendered(&pl, "X", "{{ get_secret('k') }}", "u");
	if (secret) {
		/* The secret segment moves into the validator. */
		struct plan_field *x = &pl.pl_headers[1];

		ck_assert_int_eq(plan_field_add(&pl.pl_headers[0], "",
		    0, x->pf_segs[0].ps_secret), 0);
		x->pf_segs[0].ps_secret = NULL;
		plan_field_clear(x);
		pl.pl_nheaders = 1;
	}
	memset(&fl, 0, sizeof(fl));
	if (keeper_plan_check(snap, &pl, &fl, &why) != 0 && why == NULL)
		why = "refused";
	fail_clear(&fl);
	plan_clear(&pl);
	return why;
}

START_TEST(test_keeper_validators)
{
	ck_assert_ptr_null(keeper_verdict("plain", "If-None-Match", "\"v1\"",
	    0));
	ck_assert_ptr_null(keeper_verdict("plain", "if-none-match",
	    "W/\"v1\"", 0));
	ck_assert_ptr_null(keeper_verdict("plain", "If-Modified-Since",
	    "Sun, 06 Nov 1994 08:49:37 GMT", 0));
	ck_assert_str_eq(keeper_verdict("plain", "If-None-Match", "v1", 0),
	    "validator header not allowed");
	ck_assert_str_eq(keeper_verdict("plain", "If-None-Match",
	    "\"a\", \"b\"", 0), "validator header not allowed");
	ck_assert_str_eq(keeper_verdict("plain", "If-Modified-Since",
	    "yesterday", 0), "validator header not allowed");
	ck_assert_str_eq(keeper_verdict("plain", "If-Match", "\"v1\"", 0),
	    "validator header not allowed");
	ck_assert_str_eq(keeper_verdict("plain", "X-Other", "\"v1\"", 0),
	    "validator header not allowed");
	ck_assert_str_eq(keeper_verdict("post", "If-None-Match", "\"v1\"",
	    0), "validator header not allowed");
	ck_assert_str_eq(keeper_verdict("plain", "If-None-Match", "\"v1\"",
	    1), "validator header not allowed");
}
END_TEST

/* --- Upstream errors -------------------------------------------------------- */

/* A miss at now answered with status (no headers); stale entry or not. */
static const struct cache_entry *
fail_at(const char *permalink, const char *query, int64_t now, int status,
    const char *const *lines, char *cs, size_t cslen)
{
	struct plan		 pl;
	struct result		 rs;
	struct cache_ticket	*t;
	const struct cache_entry *e;

	mkplan(&pl, permalink, query);
	ck_assert_int_eq(look(&pl, now, &t), CACHE_SEND);
	if (status == 0)
		e = cache_failed(t, now);
	else {
		mkresult(&rs, status, lines, "upstream error");
		e = cache_answer(t, &rs, now);
		result_clear(&rs);
	}
	if (cs != NULL)
		snprintf(cs, cslen, "%s", cache_ticket_status(t));
	if (e != NULL)
		ck_assert_int_eq(cache_ticket_outcome(t), CACHE_O_STALE);
	cache_ticket_free(t);
	plan_clear(&pl);
	return e;
}

START_TEST(test_stale_if_error)
{
	static const char *const cc[] = {
	    "Cache-Control: max-age=10, stale-if-error=60", NULL };
	char	 cs[160];

	ck_assert_int_eq(store("plain", "e", T0, cc), 1);
	/* 20 s stale, a 503: within stale-if-error. */
	ck_assert_ptr_nonnull(fail_at("plain", "e", T0 + 30 * SEC, 503, NULL,
	    cs, sizeof(cs)));
	ck_assert_str_eq(cs, "widgetd; fwd=stale; fwd-status=503; ttl=-20; "
	    "detail=stale-if-error");
	/* A timeout (no status) and a 429 too. */
	ck_assert_ptr_nonnull(fail_at("plain", "e", T0 + 30 * SEC, 0, NULL,
	    cs, sizeof(cs)));
	ck_assert_str_eq(cs, "widgetd; fwd=stale; ttl=-20; "
	    "detail=stale-if-error");
	ck_assert_ptr_nonnull(fail_at("plain", "e", T0 + 30 * SEC, 429, NULL,
	    NULL, 0));
	/* Past it: the error itself. */
	ck_assert_ptr_null(fail_at("plain", "e", T0 + 71 * SEC, 503, NULL,
	    cs, sizeof(cs)));
	ck_assert_str_eq(cs, "widgetd; fwd=stale; fwd-status=503; "
	    "detail=status");
	/* Not an error: a 404 is the upstream's answer, passed on. */
	ck_assert_int_eq(store("plain", "f", T0, cc), 1);
	ck_assert_ptr_null(fail_at("plain", "f", T0 + 30 * SEC, 404, NULL,
	    NULL, 0));
	/* And no entry, no stale answer. */
	ck_assert_ptr_null(fail_at("plain", "none", T0, 503, NULL, cs,
	    sizeof(cs)));
	ck_assert_str_eq(cs, "widgetd; fwd=uri-miss; fwd-status=503; "
	    "detail=status");
}
END_TEST

START_TEST(test_stale_default)
{
	static const char *const plain[] = { "Cache-Control: max-age=10",
	    NULL };
	static const char *const strict[] = {
	    "Cache-Control: max-age=10, must-revalidate", NULL };
	static const char *const shared[] = { "Cache-Control: s-maxage=10",
	    NULL };
	static const char *const own[] = {
	    "Cache-Control: s-maxage=10, stale-if-error=20", NULL };

	/* The connector's default: 100 s. */
	ck_assert_int_eq(store("lenient", "d", T0, plain), 1);
	ck_assert_ptr_nonnull(fail_at("lenient", "d", T0 + 100 * SEC, 502,
	    NULL, NULL, 0));
	ck_assert_ptr_null(fail_at("lenient", "d", T0 + 111 * SEC, 502,
	    NULL, NULL, 0));
	/* A connector without one: no stale answer. */
	ck_assert_int_eq(store("plain", "d", T0, plain), 1);
	ck_assert_ptr_null(fail_at("plain", "d", T0 + 11 * SEC, 502, NULL,
	    NULL, 0));
	/* must-revalidate and s-maxage forbid the default ... */
	ck_assert_int_eq(store("lenient", "m", T0, strict), 1);
	ck_assert_ptr_null(fail_at("lenient", "m", T0 + 11 * SEC, 502, NULL,
	    NULL, 0));
	ck_assert_int_eq(store("lenient", "s", T0, shared), 1);
	ck_assert_ptr_null(fail_at("lenient", "s", T0 + 11 * SEC, 502, NULL,
	    NULL, 0));
	/* ... not the upstream's own stale-if-error. */
	ck_assert_int_eq(store("lenient", "o", T0, own), 1);
	ck_assert_ptr_nonnull(fail_at("lenient", "o", T0 + 25 * SEC, 502,
	    NULL, NULL, 0));
	ck_assert_ptr_null(fail_at("lenient", "o", T0 + 31 * SEC, 502, NULL,
	    NULL, 0));
}
END_TEST

/* cache.stale_if_error_max (50 s here) bounds every stale-if-error. */
START_TEST(test_stale_max)
{
	static const char *const cc[] = {
	    "Cache-Control: max-age=10, stale-if-error=1000", NULL };

	ck_assert_int_eq(store("plain", "x", T0, cc), 1);
	ck_assert_ptr_nonnull(fail_at("plain", "x", T0 + 60 * SEC, 500, NULL,
	    NULL, 0));
	ck_assert_ptr_null(fail_at("plain", "x", T0 + 61 * SEC, 500, NULL,
	    NULL, 0));
	ck_assert_int_eq(store("lenient", "x", T0, (const char *const[]){
	    "Cache-Control: max-age=10", NULL }), 1);
	ck_assert_ptr_null(fail_at("lenient", "x", T0 + 61 * SEC, 500, NULL,
	    NULL, 0));
}
END_TEST

START_TEST(test_retry_after)
{
	static const char *const cc[] = {
	    "Cache-Control: max-age=10, stale-if-error=600", NULL };
	static const char *const ra[] = { "Retry-After: 3600", NULL };
	struct plan		 pl;
	struct cache_ticket	*t;

	ck_assert_int_eq(store("plain", "ra", T0, cc), 1);
	ck_assert_ptr_nonnull(fail_at("plain", "ra", T0 + 20 * SEC, 429, ra,
	    NULL, 0));
	/* No call for 15 s (not an hour): the stale entry meanwhile. */
	mkplan(&pl, "plain", "ra");
	ck_assert_int_eq(look(&pl, T0 + 34 * SEC, &t), CACHE_HIT);
	ck_assert_int_eq(cache_ticket_outcome(t), CACHE_O_STALE);
	ck_assert_str_eq(cache_ticket_status(t), "widgetd; hit; ttl=-24; "
	    "detail=retry-after");
	cache_ticket_free(t);
	plan_clear(&pl);
	ck_assert_int_eq(verdict("plain", "ra", T0 + 35 * SEC), CACHE_SEND);
}
END_TEST

/* --- Collapsed calls -------------------------------------------------------- */

static struct cache_ticket *
collapse(const char *query, int64_t now, void *owner,
    enum cache_verdict want)
{
	struct plan		 pl;
	struct cache_ticket	*t;
	enum cache_verdict	 v;

	mkplan(&pl, "plain", query);
	ck_assert_ptr_nonnull(t = cache_lookup(cache, snap, &pl, now, owner,
	    CACHE_L_COLLAPSE, &v));
	ck_assert_int_eq(v, want);
	plan_clear(&pl);
	return t;
}

START_TEST(test_collapse_stored)
{
	static const char *const cc[] = { "Cache-Control: max-age=60", NULL };
	struct cache_ticket	*lead, *w[3];
	struct result		 rs;
	enum cache_share	 share;
	const struct cache_entry *e;
	int			 owners[4];
	size_t			 i;

	lead = collapse("c", T0, &owners[0], CACHE_SEND);
	for (i = 0; i < 3; i++)
		w[i] = collapse("c", T0, &owners[i + 1], CACHE_WAIT);
	ck_assert_str_eq(cache_ticket_status(w[0]),
	    "widgetd; fwd=uri-miss; collapsed");
	/* Another key is not collapsed into it. */
	cache_ticket_free(collapse("d", T0, NULL, CACHE_SEND));
	/* Nobody is released before the answer. */
	ck_assert_ptr_null(cache_ticket_waiter(lead, &share));
	mkresult(&rs, 200, cc, "shared");
	ck_assert_ptr_nonnull(e = cache_answer(lead, &rs, T0));
	/* A waiter that went away meanwhile is not released. */
	cache_ticket_free(w[1]);
	ck_assert_ptr_eq(cache_ticket_waiter(lead, &share), &owners[1]);
	ck_assert_int_eq(share, CACHE_SHARE_ENTRY);
	ck_assert_ptr_eq(cache_ticket_entry(w[0]), e);
	ck_assert_int_eq(cache_ticket_outcome(w[0]), CACHE_O_COLLAPSED);
	ck_assert_ptr_eq(cache_ticket_waiter(lead, &share), &owners[3]);
	ck_assert_ptr_null(cache_ticket_waiter(lead, &share));
	/* Landed: the next lookup finds the entry, not a call to wait on. */
	cache_ticket_free(collapse("c", T0 + SEC, NULL, CACHE_HIT));
	cache_ticket_free(w[0]);
	cache_ticket_free(w[2]);
	cache_ticket_free(lead);
	result_clear(&rs);
}
END_TEST

START_TEST(test_collapse_shares)
{
	static const char *const nostore[] = { "Cache-Control: no-store",
	    NULL };
	static const char *const sie[] = {
	    "Cache-Control: max-age=10, stale-if-error=60", NULL };
	struct cache_ticket	*lead, *w;
	struct result		 rs;
	enum cache_share	 share;
	int			 o;

	/* Not to be kept: every waiter makes its own call. */
	lead = collapse("n", T0, NULL, CACHE_SEND);
	w = collapse("n", T0, &o, CACHE_WAIT);
	mkresult(&rs, 200, nostore, "mine");
	ck_assert_ptr_null(cache_answer(lead, &rs, T0));
	ck_assert_ptr_eq(cache_ticket_waiter(lead, &share), &o);
	ck_assert_int_eq(share, CACHE_SHARE_NONE);
	result_clear(&rs);
	cache_ticket_free(lead);
	/* That call may store what it brings back. */
	mkresult(&rs, 200, sie, "own");
	ck_assert_ptr_nonnull(cache_answer(w, &rs, T0));
	result_clear(&rs);
	cache_ticket_free(w);

	/* An error is shared, and each waiter may take a stale entry. */
	lead = collapse("n", T0 + 20 * SEC, NULL, CACHE_SEND);
	w = collapse("n", T0 + 20 * SEC, &o, CACHE_WAIT);
	ck_assert_ptr_nonnull(cache_failed(lead, T0 + 20 * SEC));
	ck_assert_ptr_eq(cache_ticket_waiter(lead, &share), &o);
	ck_assert_int_eq(share, CACHE_SHARE_ANSWER);
	ck_assert_ptr_nonnull(cache_failed(w, T0 + 20 * SEC));
	ck_assert_str_eq(cache_ticket_status(w), "widgetd; fwd=stale; "
	    "ttl=-10; detail=stale-if-error; collapsed");
	cache_ticket_free(w);
	cache_ticket_free(lead);
}
END_TEST

/* The leader goes away: the first waiter takes its call over. */
START_TEST(test_collapse_handover)
{
	static const char *const cc[] = { "Cache-Control: max-age=60", NULL };
	struct cache_ticket	*lead, *w1, *w2;
	struct result		 rs;
	enum cache_share	 share;
	int			 o1, o2;

	lead = collapse("h", T0, NULL, CACHE_SEND);
	w1 = collapse("h", T0, &o1, CACHE_WAIT);
	w2 = collapse("h", T0, &o2, CACHE_WAIT);
	ck_assert_ptr_eq(cache_ticket_handover(lead), &o1);
	cache_ticket_free(lead);
	/* Still in flight: a new identical call waits for w1's. */
	cache_ticket_free(collapse("h", T0, NULL, CACHE_WAIT));
	mkresult(&rs, 200, cc, "x");
	ck_assert_ptr_nonnull(cache_answer(w1, &rs, T0));
	ck_assert_ptr_eq(cache_ticket_waiter(w1, &share), &o2);
	ck_assert_int_eq(share, CACHE_SHARE_ENTRY);
	ck_assert_ptr_null(cache_ticket_handover(w1));
	result_clear(&rs);
	cache_ticket_free(w2);
	cache_ticket_free(w1);
	/* Nobody waiting: no one to hand over to. */
	lead = collapse("i", T0, NULL, CACHE_SEND);
	ck_assert_ptr_null(cache_ticket_handover(lead));
	cache_ticket_free(lead);
}
END_TEST

/* A call in flight for query and two waiters, owned by o[0] and o[1]. */
static struct cache_ticket *
flight(const char *query, int64_t now, struct cache_ticket **w, int *o)
{
	struct cache_ticket	*lead;

	lead = collapse(query, now, NULL, CACHE_SEND);
	w[0] = collapse(query, now, &o[0], CACHE_WAIT);
	w[1] = collapse(query, now, &o[1], CACHE_WAIT);
	return lead;
}

/* lead releases both waiters in turn, each told to answer as want. */
static void
released(struct cache_ticket *lead, int *o, enum cache_share want)
{
	enum cache_share	 share;
	int			 i;

	for (i = 0; i < 2; i++) {
		ck_assert_ptr_eq(cache_ticket_waiter(lead, &share), &o[i]);
		ck_assert_int_eq(share, want);
	}
	ck_assert_ptr_null(cache_ticket_waiter(lead, &share));
}

/*
 * Refused before the upstream saw it (a limit, a template): the waiters
 * share the refusal at once, and a stale entry does not hide it.
 */
START_TEST(test_collapse_refused)
{
	static const char *const sie[] = {
	    "Cache-Control: max-age=10, stale-if-error=60", NULL };
	struct cache_ticket	*lead, *w[2];
	enum cache_share	 share;
	int			 o[2];

	ck_assert_int_eq(store("plain", "r", T0, sie), 1);
	lead = flight("r", T0 + 20 * SEC, w, o);
	cache_refused(lead);
	/* Only the leader releases them. */
	ck_assert_ptr_null(cache_ticket_waiter(w[1], &share));
	released(lead, o, CACHE_SHARE_ANSWER);
	/* The refusal itself, not the stale entry, answers them all. */
	ck_assert_int_eq(cache_ticket_outcome(lead), CACHE_O_MISS);
	ck_assert_int_eq(cache_ticket_outcome(w[0]), CACHE_O_COLLAPSED);
	ck_assert_str_eq(cache_ticket_status(w[0]),
	    "widgetd; fwd=stale; collapsed");
	/* Landed: the next identical call is not parked behind it. */
	cache_ticket_free(collapse("r", T0 + 20 * SEC, NULL, CACHE_SEND));
	cache_ticket_free(w[0]);
	cache_ticket_free(w[1]);
	cache_ticket_free(lead);
}
END_TEST

/*
 * The leader goes away with no call to hand over (its answer was
 * malformed, the keeper could not take it): the waiters are released to
 * make their own calls, and may store what those bring.
 */
START_TEST(test_collapse_abandon)
{
	static const char *const cc[] = { "Cache-Control: max-age=60", NULL };
	struct cache_ticket	*lead, *w[2];
	struct result		 rs;
	enum cache_share	 share;
	int			 o[2];

	lead = flight("a", T0, w, o);
	/* A waiter is no call's owner: abandoning it changes nothing. */
	cache_ticket_abandon(w[0]);
	ck_assert_ptr_null(cache_ticket_waiter(lead, &share));
	cache_ticket_abandon(lead);
	released(lead, o, CACHE_SHARE_NONE);
	ck_assert_int_eq(cache_ticket_outcome(w[0]), CACHE_O_MISS);
	ck_assert_str_eq(cache_ticket_status(w[0]), "widgetd; fwd=uri-miss");
	cache_ticket_free(lead);
	mkresult(&rs, 200, cc, "own");
	ck_assert_ptr_nonnull(cache_answer(w[0], &rs, T0));
	result_clear(&rs);
	cache_ticket_free(w[0]);
	cache_ticket_free(w[1]);
	cache_ticket_free(collapse("a", T0 + SEC, NULL, CACHE_HIT));
}
END_TEST

/* --- Memory ------------------------------------------------------------------ */

static char *
body_of(size_t len)
{
	char	*b = malloc(len + 1);

	memset(b, 'b', len);
	b[len] = '\0';
	return b;
}

START_TEST(test_lru)
{
	static const char *const cc[] = { "Cache-Control: max-age=600", NULL };
	struct cache_totals	 ct;
	char			*body = body_of(1500), q[8];
	int			 i;

	/* About 2 KiB each in 16 KiB: the first ones go. */
	for (i = 0; i < 6; i++) {
		snprintf(q, sizeof(q), "%d", i);
		ck_assert_int_eq(store_at("plain", q, T0, T0, 200, cc, body,
		    NULL, 0), 1);
	}
	cache_totals(cache, &ct);
	ck_assert_uint_eq(ct.ct_evicted, 0);
	ck_assert_uint_eq(ct.ct_entries, 6);
	ck_assert_uint_le(ct.ct_bytes, 16384);
	/* Use 0 and 1: now 2 is the least recently used. */
	ck_assert_int_eq(verdict("plain", "0", T0 + SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "1", T0 + SEC), CACHE_HIT);
	for (i = 6; i < 9; i++) {
		snprintf(q, sizeof(q), "%d", i);
		ck_assert_int_eq(store_at("plain", q, T0, T0, 200, cc, body,
		    NULL, 0), 1);
	}
	cache_totals(cache, &ct);
	ck_assert_uint_gt(ct.ct_evicted, 0);
	ck_assert_uint_le(ct.ct_bytes, 16384);
	ck_assert_uint_eq(ct.ct_entries, 9 - ct.ct_evicted);
	ck_assert_uint_eq(ct.ct_memory, 16384);
	ck_assert_int_eq(verdict("plain", "2", T0 + SEC), CACHE_SEND);
	ck_assert_int_eq(verdict("plain", "0", T0 + SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "1", T0 + SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("plain", "8", T0 + SEC), CACHE_HIT);
	free(body);
}
END_TEST

START_TEST(test_too_large)
{
	static const char *const cc[] = { "Cache-Control: max-age=600", NULL };
	char	*body = body_of(5000), cs[160];

	/* More than a quarter of cache.memory: not stored. */
	ck_assert_int_eq(store_at("plain", "big", T0, T0, 200, cc, body, cs,
	    sizeof(cs)), 0);
	ck_assert_str_eq(cs, "widgetd; fwd=uri-miss; fwd-status=200; "
	    "detail=too-large");
	free(body);
}
END_TEST

/* --- Transform-aware ------------------------------------------------------- */

START_TEST(test_output)
{
	static const char *const cc[] = { "Cache-Control: max-age=600", NULL };
	struct plan		 pl;
	struct cache_ticket	*t;
	const struct cache_entry *e;
	size_t			 len;
	const char		*out;

	/* response.* (headers too) and tenant_id only: the output is kept. */
	ck_assert_int_eq(store("shaped", "o", T0, cc), 1);
	mkplan(&pl, "shaped", "o");
	ck_assert_int_eq(look(&pl, T0 + SEC, &t), CACHE_HIT);
	e = cache_ticket_entry(t);
	ck_assert_ptr_null(cache_entry_output(e, &len));
	ck_assert_int_eq(cache_ticket_keeps_output(t), 1);
	cache_ticket_set_output(t, "rendered", 8);
	ck_assert_int_eq(cache_ticket_keeps_output(t), 0);
	cache_ticket_free(t);
	ck_assert_int_eq(look(&pl, T0 + 2 * SEC, &t), CACHE_HIT);
	out = cache_entry_output(cache_ticket_entry(t), &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(len, 8);
	ck_assert_int_eq(memcmp(out, "rendered", 8), 0);
	cache_ticket_free(t);
	plan_clear(&pl);
	/* user.*: rendered on every hit, never kept. */
	ck_assert_int_eq(store("personal", "o", T0, cc), 1);
	mkplan(&pl, "personal", "o");
	ck_assert_int_eq(look(&pl, T0 + SEC, &t), CACHE_HIT);
	ck_assert_int_eq(cache_ticket_keeps_output(t), 0);
	cache_ticket_free(t);
	plan_clear(&pl);
	/* No template at all: the raw body is the output. */
	ck_assert_int_eq(store("plain", "o", T0, cc), 1);
	mkplan(&pl, "plain", "o");
	ck_assert_int_eq(look(&pl, T0 + SEC, &t), CACHE_HIT);
	ck_assert_int_eq(cache_ticket_keeps_output(t), 1);
	cache_ticket_free(t);
	plan_clear(&pl);
}
END_TEST

/* --- Invalidation ------------------------------------------------------------ */

START_TEST(test_generation)
{
	static const char *const cc[] = { "Cache-Control: max-age=600", NULL };
	struct snapshot		*sn2, *sn3;
	struct cache_totals	 ct;
	struct plan		 pl;
	char			 reg[sizeof(registry) + 64], *p;

	ck_assert_int_eq(store("plain", "g", T0, cc), 1);
	ck_assert_int_eq(store("other", "g", T0, cc), 1);
	ck_assert_int_eq(store("var", "g", T0, cc), 1);
	/* Generation 2: "other" points elsewhere, the rest unchanged. */
	snprintf(reg, sizeof(reg), "%s", registry);
	p = strstr(reg, "\"Other\"");
	p = strstr(p, "/x\"");
	memcpy(p, "/z\"", 3);
	writefile("r.json", reg);
	sn2 = mksnap(2, "");
	/* A lookup with the old generation bypasses the cache. */
	cache_generation(cache, sn2);
	ck_assert_int_eq(verdict("plain", "g", T0 + SEC), CACHE_SEND);
	snapshot_unref(snap);
	snap = sn2;
	ck_assert_int_eq(verdict("plain", "g", T0 + SEC), CACHE_HIT);
	ck_assert_int_eq(verdict("other", "g", T0 + SEC), CACHE_SEND);
	ck_assert_int_eq(verdict("var", "g", T0 + SEC), CACHE_HIT);
	cache_totals(cache, &ct);
	ck_assert_uint_eq(ct.ct_dropped, 1);
	/* Generation 3: the variable "var" reads changed. */
	writefile("s/variables/host", "api.example.net");
	sn3 = mksnap(3, "");
	cache_generation(cache, sn3);
	snapshot_unref(snap);
	snap = sn3;
	ck_assert_int_eq(verdict("var", "g", T0 + SEC), CACHE_SEND);
	ck_assert_int_eq(verdict("plain", "g", T0 + SEC), CACHE_HIT);
	cache_totals(cache, &ct);
	ck_assert_uint_eq(ct.ct_dropped, 2);
	/* A connector that is gone: a plan naming its index bypasses. */
	writefile("r.json", "{\"connectors\": []}");
	snap = mksnap(4, "");
	cache_generation(cache, snap);
	snapshot_unref(sn3);
	cache_totals(cache, &ct);
	ck_assert_uint_eq(ct.ct_entries, 0);
	memset(&pl, 0, sizeof(pl));
	pl.pl_gen = 4;
	pl.pl_kind = PLAN_CONNECTOR;
	pl.pl_method = "GET";
	pl.pl_url = strdup("https://api.example.com/x");
	ck_assert_int_eq(look(&pl, T0, NULL), CACHE_SEND);
	plan_clear(&pl);
}
END_TEST

START_TEST(test_secrets_changed)
{
	static const char *const cc[] = { "Cache-Control: max-age=600", NULL };
	struct plan		 pl, p2;
	struct result		 rs;
	struct cache_ticket	*t, *inflight;
	struct cache_totals	 ct;

	/* One entry whose request named a secret, one that did not. */
	mkplan(&pl, "plain", "s");
	rendered(&pl, "X-Key", "{{ get_secret('k') }}", "u");
	ck_assert_int_eq(look(&pl, T0, &t), CACHE_SEND);
	mkresult(&rs, 200, cc, "secret");
	ck_assert_ptr_nonnull(cache_answer(t, &rs, T0));
	cache_ticket_free(t);
	result_clear(&rs);
	ck_assert_int_eq(store("plain", "n", T0, cc), 1);
	/* A call with a secret in flight while it changes. */
	mkplan(&p2, "other", "s");
	rendered(&p2, "X-Key", "{{ get_secret('k') }}", "u");
	ck_assert_int_eq(look(&p2, T0, &inflight), CACHE_SEND);

	cache_secrets_changed(cache, "another-tenant");
	ck_assert_int_eq(look(&pl, T0 + SEC, NULL), CACHE_HIT);
	cache_secrets_changed(cache, "t");
	ck_assert_int_eq(look(&pl, T0 + SEC, NULL), CACHE_SEND);
	ck_assert_int_eq(verdict("plain", "n", T0 + SEC), CACHE_HIT);
	cache_totals(cache, &ct);
	ck_assert_uint_eq(ct.ct_dropped, 1);
	/* Made with the old value: answered, not stored. */
	mkresult(&rs, 200, cc, "old");
	ck_assert_ptr_null(cache_answer(inflight, &rs, T0 + SEC));
	ck_assert_str_eq(cache_ticket_status(inflight), "widgetd; "
	    "fwd=uri-miss; fwd-status=200; detail=changed");
	cache_ticket_free(inflight);
	result_clear(&rs);
	ck_assert_int_eq(look(&p2, T0 + SEC, NULL), CACHE_SEND);
	plan_clear(&pl);
	plan_clear(&p2);
}
END_TEST

/* cache.memory = 0 turns the cache off. */
START_TEST(test_off)
{
	static const char *const cc[] = { "Cache-Control: max-age=600", NULL };
	struct snapshot	*sn;
	char		 cs[160];

	sn = mksnap(2, "cache = { memory = 0; };");
	cache_generation(cache, sn);
	snapshot_unref(snap);
	snap = sn;
	ck_assert_int_eq(store_at("plain", "z", T0, T0, 200, cc, "x", cs,
	    sizeof(cs)), 0);
	ck_assert_str_eq(cs, "widgetd; fwd=bypass");
	ck_assert_int_eq(verdict("plain", "z", T0), CACHE_SEND);
}
END_TEST

/* --- Configuration and registry ------------------------------------------- */

struct errs {
	char	 text[2048];
};

static void
collect(const char *msg, void *arg)
{
	struct errs	*e = arg;
	size_t		 n = strlen(e->text);

	snprintf(e->text + n, sizeof(e->text) - n, "%s\n", msg);
}

START_TEST(test_config_keys)
{
	static const char base[] = "listen = ( { address = \"127.0.0.1\"; "
	    "port = 1; } );\ntenants = ( { id = \"t\"; registry = "
	    "\"/nonexistent/r.json\"; store = \"/s\"; } );\n";
	struct widgetd_config	*c;
	struct errs		 e;
	char			 text[1024];

	c = config_load_text("/etc/w.conf", base, strlen(base), NULL, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->c_cache_stale_max, 86400);
	config_free(c);
	snprintf(text, sizeof(text), "%scache = { stale_if_error_max = 0; };\n",
	    base);
	c = config_load_text("/etc/w.conf", text, strlen(text), NULL, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->c_cache_stale_max, 0);
	config_free(c);
	memset(&e, 0, sizeof(e));
	snprintf(text, sizeof(text), "%scache = { stale_if_error_max = "
	    "604801; };\n", base);
	c = config_load_text("/etc/w.conf", text, strlen(text), collect, &e);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(e.text, "cache.stale_if_error_max"));
}
END_TEST

START_TEST(test_registry_key)
{
	static const struct {
		const char	*json;
		const char	*err;	/* NULL: loads */
		long		 secs;
	} cases[] = {
		{ "{\"name\": \"A\", \"permalink\": \"a\", \"url\": "
		  "\"https://x.example/\", \"widgetd\": {\"cache\": "
		  "{\"stale_if_error\": 30}}}", NULL, 30 },
		{ "{\"name\": \"A\", \"permalink\": \"a\", \"url\": "
		  "\"https://x.example/\"}", NULL, 0 },
		{ "{\"name\": \"A\", \"permalink\": \"a\", \"url\": "
		  "\"https://x.example/\", \"widgetd\": {\"cache\": "
		  "{\"stale_if_error\": -1}}}", "stale_if_error must be", 0 },
		{ "{\"name\": \"A\", \"permalink\": \"a\", \"url\": "
		  "\"https://x.example/\", \"widgetd\": {\"cache\": "
		  "{\"stale_if_error\": \"30\"}}}", "stale_if_error must be", 0 },
		{ "{\"name\": \"A\", \"permalink\": \"a\", \"url\": "
		  "\"https://x.example/\", \"widgetd\": {\"cache\": "
		  "{\"stale_if_error\": 1.5}}}", "stale_if_error must be", 0 },
		{ "{\"name\": \"A\", \"permalink\": \"a\", \"url\": "
		  "\"https://x.example/\", \"widgetd\": {\"cache\": "
		  "{\"stale_if_error\": 604801}}}", "stale_if_error must be", 0 },
		{ "{\"name\": \"A\", \"permalink\": \"a\", \"url\": "
		  "\"https://x.example/\", \"widgetd\": {\"cache\": "
		  "{\"ttl\": 30}}}", "unknown field \"ttl\"", 0 },
		{ "{\"name\": \"A\", \"permalink\": \"a\", \"url\": "
		  "\"https://x.example/\", \"widgetd\": {\"cache\": 30}}",
		  "must be an object", 0 },
	};
	struct registry		*r;
	struct reg_report	 rep;
	char			 buf[512];
	size_t			 i, k;
	int			 found;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&rep, 0, sizeof(rep));
		snprintf(buf, sizeof(buf), "{\"connectors\": [%s]}",
		    cases[i].json);
		r = registry_load_buffer("r.json", buf, strlen(buf), NULL,
		    &rep);
		if (cases[i].err == NULL) {
			ck_assert_ptr_nonnull(r);
			ck_assert_int_eq(r->r_conns[0].c_req.cr_ext.
			    ce_stale_if_error, cases[i].secs);
		} else {
			ck_assert_ptr_null(r);
			for (k = 0, found = 0; k < rep.rr_nerrors; k++)
				found |= strstr(rep.rr_errors[k].re_msg,
				    cases[i].err) != NULL;
			ck_assert_msg(found, "case %zu: no \"%s\"", i,
			    cases[i].err);
		}
		registry_free(r);
		reg_report_clear(&rep);
	}
	/* A composite's own widgetd key: cache belongs to its steps. */
	{
		static const char comp[] = "{\"connectors\": [], "
		    "\"composite_connectors\": [{\"name\": \"C\", "
		    "\"permalink\": \"c\", \"widgetd\": {\"cache\": "
		    "{\"stale_if_error\": 5}}, \"steps\": [{\"name\": \"s\", "
		    "\"url\": \"https://x.example/\"}]}]}";

		memset(&rep, 0, sizeof(rep));
		r = registry_load_buffer("r.json", comp, strlen(comp), NULL,
		    &rep);
		ck_assert_ptr_null(r);
		ck_assert_ptr_nonnull(strstr(rep.rr_errors[0].re_msg,
		    "belong to each step"));
		reg_report_clear(&rep);
	}
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("cache");
	TCase	*tc;

	tc = tcase_create("headers");
	tcase_add_test(tc, test_cc_directives);
	tcase_add_test(tc, test_cc_invalid);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_etag_delta_retry);
	tcase_add_test(tc, test_config_keys);
	tcase_add_test(tc, test_registry_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ticket_kept);
	tcase_add_test(tc, test_key_request);
	tcase_add_test(tc, test_key_secrets);
	tcase_add_test(tc, test_fresh_max_age);
	tcase_add_test(tc, test_fresh_s_maxage);
	tcase_add_test(tc, test_fresh_expires);
	tcase_add_test(tc, test_fresh_age);
	tcase_add_test(tc, test_not_stored);
	tcase_add_test(tc, test_stored_statuses);
	tcase_add_test(tc, test_vary);
	tcase_add_test(tc, test_revalidate_etag);
	tcase_add_test(tc, test_revalidate_many_headers);
	tcase_add_test(tc, test_revalidate_last_modified);
	tcase_add_test(tc, test_validator_own_header);
	tcase_add_test(tc, test_keeper_validators);
	tcase_add_test(tc, test_stale_if_error);
	tcase_add_test(tc, test_stale_default);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_collapse_stored);
	tcase_add_test(tc, test_collapse_shares);
	tcase_add_test(tc, test_collapse_handover);
	tcase_add_test(tc, test_collapse_refused);
	tcase_add_test(tc, test_collapse_abandon);
	tcase_add_test(tc, test_output);
	tcase_add_test(tc, test_generation);
	tcase_add_test(tc, test_secrets_changed);
	tcase_add_test(tc, test_off);
	suite_add_tcase(s, tc);

	tc = tcase_create("small");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_add_test(tc, test_lru);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_stale_max);
	suite_add_tcase(s, tc);
	return s;
}
