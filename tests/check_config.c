/*
 * check_config.c — widgetd.conf: valid files give the documented values and
 * defaults; each invalid file is refused with the right line and key.
 */
#include "build.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "check_main.h"
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

/* Line 1 and line 2 of most cases; the case's own text starts at line 3. */
#define L1	"listen = ( { address = \"127.0.0.1\"; port = 8080; } );\n"
#define L2	"tenants = ( { id = \"a\"; registry = \"r.json\"; store = \"s\"; } );\n"
#define T(id, extra) \
	"  { id = \"" id "\"; registry = \"r.json\"; store = \"" id "\"; " \
	extra " }"

struct msgs {
	char	*m_msg[32];
	int	 m_n;
};

static char	 tmpdir[256];

static void
collect(const char *msg, void *arg)
{
	struct msgs	*m = arg;

	if (m->m_n < 32)
		m->m_msg[m->m_n] = strdup(msg);
	m->m_n++;
}

static void
msgs_free(struct msgs *m)
{
	int	 i;

	for (i = 0; i < m->m_n && i < 32; i++)
		free(m->m_msg[i]);
	m->m_n = 0;
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/wdconf.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write text to a fresh file under tmpdir (mkstemp); path into buf. */
static void
write_conf(const char *text, char *path, size_t len)
{
	FILE	*fp;
	int	 fd;

	snprintf(path, len, "%s/widgetd.conf.XXXXXX", tmpdir);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

static struct widgetd_config *
load_text(const char *text, struct msgs *m, char *path, size_t len)
{
	write_conf(text, path, len);
	return config_load(path, collect, m);
}

/* ---------------------------------------------------------------- */

START_TEST(test_minimal_defaults)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX], want[PATH_MAX + 16];

	c = load_text(L1 L2, &m, path, sizeof(path));
	ck_assert_msg(c != NULL, "%s", m.m_n ? m.m_msg[0] : "?");
	ck_assert_int_eq(m.m_n, 0);
	ck_assert_str_eq(c->c_path, path);
	ck_assert_uint_eq(c->c_nlisten, 1);
	ck_assert_str_eq(c->c_listen[0].l_address, "127.0.0.1");
	ck_assert_int_eq(c->c_listen[0].l_port, 8080);
	ck_assert_str_eq(c->c_user, "widgetd");
	ck_assert_str_eq(c->c_keeper_user, "widgetd-keeper");
	ck_assert_str_eq(c->c_chroot, "/var/empty");
	/* One per CPU, counted by the parent when it starts them. */
	ck_assert_int_eq(c->c_workers, 0);
	ck_assert_int_eq(c->c_keepers, 1);
	ck_assert_int_eq(c->c_cpu_batch, 1);
	ck_assert_str_eq(c->c_control_socket + strlen(c->c_control_socket) -
	    strlen("/widgetd/control.sock"), "/widgetd/control.sock");
	ck_assert_ptr_null(c->c_metrics.l_address);
	ck_assert_int_eq(c->c_syslog_facility, LOG_DAEMON);
	ck_assert_int_eq(c->c_access_log, 1);
	ck_assert_uint_eq(c->c_limits.request_body, 1048576);
	ck_assert_uint_eq(c->c_limits.upstream_body, 10485760);
	ck_assert_uint_eq(c->c_limits.header_bytes, 65536);
	ck_assert_int_eq(c->c_limits.max_headers, 100);
	ck_assert_int_eq(c->c_limits.connections, 10000);
	ck_assert_int_eq(c->c_limits.idle_timeout, 60);
	ck_assert_int_eq(c->c_limits.header_timeout, 10);
	ck_assert_int_eq(c->c_limits.drain_timeout, 30);
	ck_assert_int_eq(c->c_limits.address_connections, 256);
	ck_assert_int_eq(c->c_limits.total_connections, 100000);
	ck_assert_uint_eq(c->c_limits.body_budget, 67108864);
	ck_assert_int_eq(c->c_limits.worker_connections, 0);
	ck_assert_int_eq(c->c_limits.worker_lifetime, 0);
	ck_assert_uint_eq(c->c_limits.tmpl_steps, 1000000);
	ck_assert_uint_eq(c->c_limits.tmpl_output, 4194304);
	ck_assert_int_eq(c->c_limits.tmpl_depth, 64);
	ck_assert_int_eq(c->c_egress.timeout, 15);
	ck_assert_int_eq(c->c_egress.idle_connections, 1024);
	ck_assert_str_eq(c->c_egress.ca_file,
	    "/etc/ssl/certs/ca-certificates.crt");
	ck_assert_uint_eq(c->c_egress.policy.np_nallow, 0);
	ck_assert_int_eq(c->c_egress.policy.np_allow_http, 0);
	ck_assert_uint_eq(c->c_egress.nresolve, 0);
	ck_assert_uint_eq(c->c_cache_memory, 67108864);
	ck_assert_uint_eq(c->c_ntenants, 1);
	ck_assert_str_eq(c->c_tenants[0].t_id, "a");
	ck_assert_uint_eq(c->c_tenants[0].t_nhosts, 0);
	/* relative paths are taken from the file's directory */
	snprintf(want, sizeof(want), "%s/r.json", tmpdir);
	ck_assert_str_eq(c->c_tenants[0].t_registry, want);
	snprintf(want, sizeof(want), "%s/s", tmpdir);
	ck_assert_str_eq(c->c_tenants[0].t_store, want);
	ck_assert_ptr_null(c->c_tenants[0].t_session.s_public_key);
	ck_assert_ptr_null(c->c_tenants[0].t_session.s_cookie);
	ck_assert_int_eq(c->c_tenants[0].t_line, 2);
	/* Extensions: none watched; the published directory is named. */
	ck_assert_ptr_null(c->c_tenants[0].t_repo.rp_path);
	ck_assert_str_eq(c->c_state_dir + strlen(c->c_state_dir) -
	    strlen("/lib/widgetd"), "/lib/widgetd");
	snprintf(want, sizeof(want), "%s/extensions/a", c->c_state_dir);
	ck_assert_str_eq(c->c_tenants[0].t_published, want);
	ck_assert_int_eq(c->c_ext.x_poll, 2);
	ck_assert_uint_eq(c->c_ext.x_publish_bytes, 64 * 1024 * 1024);
	ck_assert_uint_eq(c->c_ext.x_ncdns, 4);
	ck_assert_str_eq(c->c_ext.x_cdns[0], "cdn.jsdelivr.net");
	ck_assert_str_eq(c->c_ext.x_cdns[3], "esm.sh");
	config_free(c);
}
END_TEST

/* SPEC §10: repository, state_dir and the extensions group. */
START_TEST(test_extensions)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX], want[PATH_MAX + 32];

	c = load_text(L1 "state_dir = \"state\";\n"
	    "extensions = { trusted_cdns = [ \"CDN.Example.org.\" ];\n"
	    "  poll_interval = 30; publish_bytes = 2097152; };\n"
	    "tenants = (\n"
	    T("a", "hosts = [\"a.x\"]; repository = { path = \"a.git\"; };") ",\n"
	    T("b", "repository = { path = \"/srv/b.git\";\n"
	    "  branch = \"release/1.2_x-y\"; };") ");\n", &m, path,
	    sizeof(path));
	ck_assert_msg(c != NULL, "%s", m.m_n ? m.m_msg[0] : "?");
	snprintf(want, sizeof(want), "%s/state", tmpdir);
	ck_assert_str_eq(c->c_state_dir, want);
	snprintf(want, sizeof(want), "%s/state/extensions/b", tmpdir);
	ck_assert_str_eq(c->c_tenants[1].t_published, want);
	snprintf(want, sizeof(want), "%s/a.git", tmpdir);
	ck_assert_str_eq(c->c_tenants[0].t_repo.rp_path, want);
	ck_assert_str_eq(c->c_tenants[0].t_repo.rp_branch, "main");
	ck_assert_str_eq(c->c_tenants[1].t_repo.rp_path, "/srv/b.git");
	ck_assert_str_eq(c->c_tenants[1].t_repo.rp_branch, "release/1.2_x-y");
	ck_assert_int_eq(c->c_ext.x_poll, 30);
	ck_assert_uint_eq(c->c_ext.x_publish_bytes, 2097152);
	/* The list replaces the default one, normalised as hosts are. */
	ck_assert_uint_eq(c->c_ext.x_ncdns, 1);
	ck_assert_str_eq(c->c_ext.x_cdns[0], "cdn.example.org");
	config_free(c);

	/* An empty list trusts no CDN at all. */
	c = load_text(L1 L2 "extensions = { trusted_cdns = []; };\n", &m, path,
	    sizeof(path));
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->c_ext.x_ncdns, 0);
	config_free(c);
	msgs_free(&m);
}
END_TEST

static const char full_conf[] =
    "# every key\n"
    "listen = ( { address = \"0.0.0.0\"; port = 8080; },\n"
    "           { address = \"::1\"; port = 8443; } );\n"
    "user = \"wuser\";\n"
    "keeper_user = \"kuser\";\n"
    "chroot = \"/srv/empty\";\n"
    "workers = 3; cpu_scheduling = \"other\";\n"
    "control_socket = \"run/ctl.sock\";\n"
    "metrics = { address = \"127.0.0.1\"; port = 9100; };\n"
    "log = { syslog_facility = \"local3\"; access_log = false; };\n"
    "limits = { request_body = 2048; upstream_body = 1073741824;\n"
    "  header_bytes = 8192; max_headers = 50; connections = 77;\n"
    "  idle_timeout = 5; header_timeout = 3; drain_timeout = 0;\n"
    "  address_connections = 0; total_connections = 500;"
    "  body_budget = 1048576; worker_connections = 1000;"
    "  worker_lifetime = 3600;"
    "  template_steps = 5000; template_output = 65536; template_depth = 8; };\n"
    "egress = { timeout = 7; ca_file = \"/etc/ca.pem\"; idle_connections = 9;\n"
    "  allow_networks = [ \"127.0.0.0/8\", \"fd00::/8\", \"10.1.2.3\" ];\n"
    "  allow_http = true;\n"
    "  resolve = [ \"api.example.com:443:127.0.0.1\",\n"
    "              \"v6.example.com:8443:[::1],127.0.0.2\" ]; };\n"
    "cache = { memory = 5000000000L; };\n"
    "tenants = (\n"
    "  { id = \"acme\"; hosts = [ \"Community.ACME.example.\", \"[::1]\" ];\n"
    "    registry = \"/var/lib/widgetd/acme/r.json\"; store = \"acme\";\n"
    "    session = { cookie = \"sid\"; public_key = \"acme.pem\";\n"
    "      issuer = \"https://community.acme.example\"; audience = \"widgetd\"; }; },\n"
    "  { id = \"other_2\"; hosts = ( \"other.example\" ); registry = \"o.json\";\n"
    "    store = \"other\"; session = { public_key = \"/k.pem\"; }; },\n"
    "  { id = \"fallback\"; hosts = []; registry = \"f.json\"; store = \"f\"; }\n"
    ");\n";

START_TEST(test_full)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX], want[PATH_MAX + 16];
	struct sockaddr_in	 sin;

	c = load_text(full_conf, &m, path, sizeof(path));
	ck_assert_msg(c != NULL, "%s", m.m_n ? m.m_msg[0] : "?");
	ck_assert_uint_eq(c->c_nlisten, 2);
	ck_assert_str_eq(c->c_listen[1].l_address, "::1");
	ck_assert_int_eq(c->c_listen[1].l_port, 8443);
	ck_assert_str_eq(c->c_user, "wuser");
	ck_assert_str_eq(c->c_keeper_user, "kuser");
	ck_assert_str_eq(c->c_chroot, "/srv/empty");
	ck_assert_int_eq(c->c_workers, 3);
	ck_assert_int_eq(c->c_cpu_batch, 0);
	snprintf(want, sizeof(want), "%s/run/ctl.sock", tmpdir);
	ck_assert_str_eq(c->c_control_socket, want);
	ck_assert_str_eq(c->c_metrics.l_address, "127.0.0.1");
	ck_assert_int_eq(c->c_metrics.l_port, 9100);
	ck_assert_int_eq(c->c_syslog_facility, LOG_LOCAL3);
	ck_assert_int_eq(c->c_access_log, 0);
	ck_assert_uint_eq(c->c_limits.request_body, 2048);
	ck_assert_uint_eq(c->c_limits.upstream_body, 1073741824);
	ck_assert_uint_eq(c->c_limits.header_bytes, 8192);
	ck_assert_int_eq(c->c_limits.max_headers, 50);
	ck_assert_int_eq(c->c_limits.connections, 77);
	ck_assert_int_eq(c->c_limits.idle_timeout, 5);
	ck_assert_int_eq(c->c_limits.header_timeout, 3);
	ck_assert_int_eq(c->c_limits.drain_timeout, 0);
	ck_assert_int_eq(c->c_limits.address_connections, 0);
	ck_assert_int_eq(c->c_limits.total_connections, 500);
	ck_assert_uint_eq(c->c_limits.body_budget, 1048576);
	ck_assert_int_eq(c->c_limits.worker_connections, 1000);
	ck_assert_int_eq(c->c_limits.worker_lifetime, 3600);
	ck_assert_uint_eq(c->c_limits.tmpl_steps, 5000);
	ck_assert_uint_eq(c->c_limits.tmpl_output, 65536);
	ck_assert_int_eq(c->c_limits.tmpl_depth, 8);
	ck_assert_int_eq(c->c_egress.timeout, 7);
	ck_assert_int_eq(c->c_egress.idle_connections, 9);
	ck_assert_str_eq(c->c_egress.ca_file, "/etc/ca.pem");
	ck_assert_uint_eq(c->c_egress.policy.np_nallow, 3);
	ck_assert_int_eq(c->c_egress.policy.np_allow[2].n_prefix, 32);
	ck_assert_int_eq(c->c_egress.policy.np_allow_http, 1);
	/* the parsed allow list is the one the policy uses */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.9", &sin.sin_addr);
	ck_assert(netpolicy_addr_allowed(&c->c_egress.policy,
	    (struct sockaddr *)&sin));
	ck_assert(netpolicy_host_allowed(&c->c_egress.policy, "10.1.2.3",
	    NULL));
	ck_assert(!netpolicy_host_allowed(&c->c_egress.policy, "10.1.2.4",
	    NULL));
	ck_assert_uint_eq(c->c_egress.nresolve, 2);
	ck_assert_str_eq(c->c_egress.resolve[1],
	    "v6.example.com:8443:[::1],127.0.0.2");
	/* beyond 32 bits: libconfig's int64 */
	ck_assert_uint_eq(c->c_cache_memory, (size_t)5000000000ULL);
	ck_assert_uint_eq(c->c_ntenants, 3);
	ck_assert_str_eq(c->c_tenants[0].t_id, "acme");
	ck_assert_uint_eq(c->c_tenants[0].t_nhosts, 2);
	ck_assert_str_eq(c->c_tenants[0].t_hosts[0], "community.acme.example");
	ck_assert_str_eq(c->c_tenants[0].t_hosts[1], "[::1]");
	ck_assert_str_eq(c->c_tenants[0].t_registry,
	    "/var/lib/widgetd/acme/r.json");
	snprintf(want, sizeof(want), "%s/acme", tmpdir);
	ck_assert_str_eq(c->c_tenants[0].t_store, want);
	ck_assert_str_eq(c->c_tenants[0].t_session.s_cookie, "sid");
	snprintf(want, sizeof(want), "%s/acme.pem", tmpdir);
	ck_assert_str_eq(c->c_tenants[0].t_session.s_public_key, want);
	ck_assert_str_eq(c->c_tenants[0].t_session.s_issuer,
	    "https://community.acme.example");
	ck_assert_str_eq(c->c_tenants[0].t_session.s_audience, "widgetd");
	ck_assert_int_eq(c->c_tenants[0].t_line, 22);
	ck_assert_str_eq(c->c_tenants[1].t_session.s_cookie, "widget_session");
	ck_assert_ptr_null(c->c_tenants[1].t_session.s_issuer);
	ck_assert_uint_eq(c->c_tenants[2].t_nhosts, 0);

	/* Host matching */
	ck_assert_str_eq(config_tenant_for_host(c,
	    "community.acme.example")->t_id, "acme");
	ck_assert_str_eq(config_tenant_for_host(c,
	    "COMMUNITY.acme.example.:8080")->t_id, "acme");
	ck_assert_str_eq(config_tenant_for_host(c, "[::1]:8443")->t_id,
	    "acme");
	ck_assert_str_eq(config_tenant_for_host(c, "other.example")->t_id,
	    "other_2");
	ck_assert_str_eq(config_tenant_for_host(c, "else.example")->t_id,
	    "fallback");
	ck_assert_str_eq(config_tenant_for_host(c, "acme.example")->t_id,
	    "fallback");
	ck_assert_str_eq(config_tenant_for_host(c, NULL)->t_id, "fallback");
	config_free(c);
	msgs_free(&m);
}
END_TEST

/*
 * Hosts of hundreds of tenants, each found whatever its case, port or
 * final dot; hosts that share a prefix or differ in one letter stay
 * apart; anything else goes to the default tenant, declared last.  Ids
 * find their tenants too, exactly.
 */
START_TEST(test_many_tenant_hosts)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX], id[32], h[64];
	char			*text;
	size_t			 len;
	FILE			*f;
	int			 i;

	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	fputs(L1 "tenants = (\n", f);
	for (i = 0; i < 300; i++)
		fprintf(f, "  { id = \"t%d\"; registry = \"r.json\"; "
		    "store = \"t%d\"; hosts = [\"w%d.example\", "
		    "\"w%d.example.net\", \"[::%x]\"]; },\n", i, i, i, i,
		    i + 1);
	fputs("  { id = \"fallback\"; registry = \"r.json\"; "
	    "store = \"fallback\"; }\n);\n", f);
	fclose(f);
	c = load_text(text, &m, path, sizeof(path));
	free(text);
	ck_assert_msg(c != NULL, "%s", m.m_n ? m.m_msg[0] : "?");
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(h, sizeof(h), "w%d.example", i);
		ck_assert_str_eq(config_tenant_for_host(c, h)->t_id, id);
		snprintf(h, sizeof(h), "W%d.Example.NET.:8443", i);
		ck_assert_str_eq(config_tenant_for_host(c, h)->t_id, id);
		snprintf(h, sizeof(h), "[::%x]:443", i + 1);
		ck_assert_str_eq(config_tenant_for_host(c, h)->t_id, id);
		snprintf(h, sizeof(h), "w%d.exampl", i);
		ck_assert_str_eq(config_tenant_for_host(c, h)->t_id,
		    "fallback");
		snprintf(h, sizeof(h), "x%d.example", i);
		ck_assert_str_eq(config_tenant_for_host(c, h)->t_id,
		    "fallback");
	}
	ck_assert_str_eq(config_tenant_for_host(c, "")->t_id, "fallback");
	ck_assert_str_eq(config_tenant_for_host(c, NULL)->t_id, "fallback");
	/* and by id, as the keeper and the cache find them */
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		ck_assert_ptr_eq(config_tenant_by_id(c, id), &c->c_tenants[i]);
	}
	ck_assert_ptr_eq(config_tenant_by_id(c, "fallback"),
	    &c->c_tenants[300]);
	ck_assert_ptr_null(config_tenant_by_id(c, "t300"));
	ck_assert_ptr_null(config_tenant_by_id(c, "T1"));
	config_free(c);
}
END_TEST

/*
 * Among hundreds of tenants, each clash is still found and names the
 * tenant it clashes with: an id, a host in another case, a store, a
 * second default.
 */
START_TEST(test_many_tenant_clashes)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX], want[128];
	char			*text;
	size_t			 len;
	FILE			*f;
	int			 i, line;

	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	fputs(L1 "tenants = (\n", f);
	for (i = 0; i < 400; i++)
		fprintf(f, "  { id = \"t%d\"; registry = \"r.json\"; "
		    "store = \"s%d\"; hosts = [\"w%d.example\", "
		    "\"w%d.example.net\"]; },\n", i, i, i, i);
	fputs("  { id = \"t5\"; registry = \"r.json\"; store = \"n1\"; "
	    "hosts = [\"n1.example\"]; },\n"
	    "  { id = \"n2\"; registry = \"r.json\"; store = \"n2\"; "
	    "hosts = [\"W3.Example\"]; },\n"
	    "  { id = \"n3\"; registry = \"r.json\"; store = \"s7\"; "
	    "hosts = [\"n3.example\"]; },\n"
	    "  { id = \"d1\"; registry = \"r.json\"; store = \"d1\"; },\n"
	    "  { id = \"d2\"; registry = \"r.json\"; store = \"d2\"; }\n"
	    ");\n", f);
	fclose(f);
	c = load_text(text, &m, path, sizeof(path));
	free(text);
	ck_assert_ptr_null(c);
	ck_assert_msg(m.m_n == 4, "%d: %s", m.m_n, m.m_msg[0]);
	line = 3 + 5;	/* t0 is on line 3 (after L1 and "tenants = (") */
	snprintf(want, sizeof(want), "tenants[400].id: duplicate tenant id "
	    "'t5' (first at line %d)", line);
	ck_assert_ptr_nonnull(strstr(m.m_msg[0], want));
	ck_assert_ptr_nonnull(strstr(m.m_msg[1], "tenants[401].hosts: host "
	    "'w3.example' already belongs to tenant 't3'"));
	ck_assert_ptr_nonnull(strstr(m.m_msg[2], "tenants[402].store: store "));
	ck_assert_ptr_nonnull(strstr(m.m_msg[2], "is already tenant 't7''s"));
	ck_assert_ptr_nonnull(strstr(m.m_msg[3], "tenants[404]: a second "
	    "tenant without hosts"));
	msgs_free(&m);
}
END_TEST

/* Without a default tenant an unknown Host selects nothing. */
START_TEST(test_no_default_tenant)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX];

	c = load_text(L1 "tenants = (" T("x", "hosts = [\"x.example\"];")
	    ");\n", &m, path, sizeof(path));
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(config_tenant_for_host(c, "y.example"));
	ck_assert_ptr_null(config_tenant_for_host(c, NULL));
	ck_assert_ptr_nonnull(config_tenant_for_host(c, "x.example:443"));
	config_free(c);
}
END_TEST

/* The shipped sample must load (README quick start). */
START_TEST(test_shipped_sample)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	const char		*top = getenv("top_srcdir");
	char			 path[PATH_MAX];
	int			 i;

	ck_assert_msg(top != NULL, "top_srcdir not set (run via make check)");
	snprintf(path, sizeof(path), "%s/etc/widgetd.conf", top);
	c = config_load(path, collect, &m);
	for (i = 0; i < m.m_n && i < 32; i++)
		fprintf(stderr, "%s\n", m.m_msg[i]);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->c_listen[0].l_address, "127.0.0.1");
	ck_assert_int_eq(c->c_listen[0].l_port, 8080);
	ck_assert_uint_eq(c->c_ntenants, 1);
	ck_assert_uint_eq(c->c_tenants[0].t_nhosts, 0);
	ck_assert(strstr(c->c_tenants[0].t_registry,
	    "/etc/connectors_registry.json") != NULL);
	ck_assert_int_eq(c->c_tenants[0].t_registry[0], '/');
	ck_assert_int_eq(c->c_limits.request_body, 1048576);
	config_free(c);
}
END_TEST

/* A relative file name: paths still come back absolute. */
START_TEST(test_relative_file)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX + 16];
	const char		*base;

	write_conf(L1 L2, path, sizeof(path));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	base = strrchr(path, '/') + 1;
	c = config_load(base, collect, &m);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->c_path, path);
	snprintf(want, sizeof(want), "%s/r.json", tmpdir);
	ck_assert_str_eq(c->c_tenants[0].t_registry, want);
	config_free(c);
}
END_TEST

/* @include is resolved from the file's directory; errors name the file. */
START_TEST(test_include)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX], inc[PATH_MAX + 16];
	FILE			*fp;

	snprintf(inc, sizeof(inc), "%s/tenants.inc", tmpdir);
	fp = fopen(inc, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("\n" L2 "bogus = 1;\n", fp);
	fclose(fp);
	c = load_text(L1 "@include \"tenants.inc\"\n", &m, path, sizeof(path));
	ck_assert_ptr_null(c);
	ck_assert_int_eq(m.m_n, 1);
	ck_assert_msg(strstr(m.m_msg[0], "tenants.inc:3: unknown key 'bogus'")
	    != NULL, "%s", m.m_msg[0]);
	msgs_free(&m);
}
END_TEST

START_TEST(test_missing_file)
{
	struct msgs	 m = { .m_n = 0 };
	char		 path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/nonexistent.conf", tmpdir);
	ck_assert_ptr_null(config_load(path, collect, &m));
	ck_assert_int_eq(m.m_n, 1);
	ck_assert(strstr(m.m_msg[0], "nonexistent.conf: ") != NULL);
	ck_assert(strstr(m.m_msg[0], strerror(ENOENT)) != NULL);
	msgs_free(&m);
	/* and a NULL report callback is allowed */
	ck_assert_ptr_null(config_load(path, NULL, NULL));
	config_free(NULL);
}
END_TEST

/* Every error is reported, not only the first. */
START_TEST(test_all_errors)
{
	struct msgs	 m = { .m_n = 0 };
	char		 path[PATH_MAX];

	ck_assert_ptr_null(load_text(L1 L2
	    "workers = 0;\n"
	    "limits = { request_body = \"x\"; nope = 1; };\n"
	    "egress = { allow_networks = [ \"1.2.3.4/40\", \"fe80::/10\", "
	    "\"bad\" ]; };\n"
	    "frob = true;\n", &m, path, sizeof(path)));
	ck_assert_int_eq(m.m_n, 6);
	ck_assert(strstr(m.m_msg[0], ":3: workers: ") != NULL);
	ck_assert(strstr(m.m_msg[1], ":4: limits.request_body: ") != NULL);
	ck_assert(strstr(m.m_msg[2], ":4: unknown key 'nope' in 'limits'")
	    != NULL);
	ck_assert(strstr(m.m_msg[3], ":5: egress.allow_networks[0]: ") != NULL);
	ck_assert(strstr(m.m_msg[4], ":5: egress.allow_networks[2]: ") != NULL);
	ck_assert(strstr(m.m_msg[5], ":6: unknown key 'frob'") != NULL);
	msgs_free(&m);
}
END_TEST

/* Big numbers in comments, strings and floats are not integers. */
START_TEST(test_prescan_quiet)
{
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX];

	c = load_text(L1 L2
	    "workers = 2# 99999999999\n"
	    "user = \"w 99999999999 \\\" 99999999999\"; /* 99999999999\n"
	    " 88888888888 */ // 77777777777\n"
	    "keeper_user = \"k\";\n"
	    "cache = { memory = 4294967296L; };\n", &m, path, sizeof(path));
	ck_assert_msg(c != NULL, "%s", m.m_n ? m.m_msg[0] : "?");
	ck_assert_int_eq(c->c_workers, 2);
	ck_assert_str_eq(c->c_user, "w 99999999999 \" 99999999999");
	ck_assert_uint_eq(c->c_cache_memory, 4294967296ULL);
	config_free(c);
	/* and the line count survives the comment: 12345678901 is on line 4 */
	c = load_text(L1 L2 "/* a\n */ workers = 12345678901;\n", &m, path,
	    sizeof(path));
	ck_assert_ptr_null(c);
	ck_assert_int_ge(m.m_n, 1);
	ck_assert_msg(strstr(m.m_msg[0], ":4: integer 12345678901") != NULL,
	    "%s", m.m_msg[0]);
	msgs_free(&m);
}
END_TEST

struct bad_case {
	const char	*b_text;
	int		 b_line;	/* 0: a file-level error */
	const char	*b_want;	/* in the message, after "file:line: " */
};

static const struct bad_case bad_cases[] = {
	/* unknown keys, at every level */
	{ L1 L2 "foo = 1;\n", 3, "unknown key 'foo'" },
	{ L1 L2 "limits = {\n  bogus = 1;\n};\n", 4,
	    "unknown key 'bogus' in 'limits'" },
	{ L1 L2 "egress = { timeout = 5; proxy = \"x\"; };\n", 3,
	    "unknown key 'proxy' in 'egress'" },
	{ "listen = ( { address = \"127.0.0.1\"; port = 80; tls = true; } );\n"
	    L2, 1, "unknown key 'tls' in 'listen[0]'" },
	{ L1 "tenants = (\n" T("a", "colour = 1;") "\n);\n", 3,
	    "unknown key 'colour' in 'tenants[0]'" },
	{ L1 "tenants = (\n" T("a", "session = { public_key = \"k\";\n"
	    "x = 1; };") "\n);\n", 4,
	    "unknown key 'x' in 'tenants[0].session'" },
	{ L1 L2 "log = { facility = \"daemon\"; };\n", 3,
	    "unknown key 'facility' in 'log'" },
	{ L1 L2 "cache = { size = 1; };\n", 3, "unknown key 'size' in 'cache'" },
	/* wrong types */
	{ L1 L2 "limits = {\n  request_body = \"big\";\n};\n", 4,
	    "limits.request_body: expected an integer, got a string" },
	{ L1 L2 "workers = 2.5;\n", 3,
	    "workers: expected an integer, got a float" },
	{ L1 L2 "user = 5;\n", 3, "user: expected a string, got an integer" },
	{ L1 L2 "user = \"\";\n", 3, "user: must not be empty" },
	{ L1 L2 "log = { access_log = \"yes\"; };\n", 3,
	    "log.access_log: expected true or false" },
	{ L1 L2 "log = 1;\n", 3, "log: expected a group" },
	{ L1 L2 "egress = { allow_networks = \"10.0.0.0/8\"; };\n", 3,
	    "egress.allow_networks: expected a list of strings" },
	{ L1 L2 "egress = { allow_networks = [ 10 ]; };\n", 3,
	    "egress.allow_networks[0]: expected a string" },
	{ L1 L2 "egress = { allow_http = 1; };\n", 3,
	    "egress.allow_http: expected true or false" },
	{ L1 "tenants = { id = \"a\"; };\n", 2,
	    "tenants: expected a list of groups" },
	{ L1 "tenants = ( \"a\" );\n", 2, "tenants[0]: expected a group" },
	{ "listen = 8080;\n" L2, 1, "listen: expected a list of groups" },
	/* out of range */
	{ L1 L2 "workers = 0;\n", 3, "workers: 0 is out of range (1 to 256)" },
	{ L1 L2 "workers = 257;\n", 3, "workers: 257 is out of range" },
	{ "listen = ( { address = \"127.0.0.1\"; port = 0; } );\n" L2, 1,
	    "listen[0].port: 0 is out of range (1 to 65535)" },
	{ "listen = ( { address = \"127.0.0.1\"; port = 8080; },\n"
	    "  { address = \"::\"; port = 65536; } );\n" L2, 2,
	    "listen[1].port: 65536 is out of range" },
	{ L1 L2 "egress = { timeout = 0; };\n", 3, "egress.timeout: 0 is out" },
	{ L1 L2 "egress = { timeout = 301; };\n", 3, "egress.timeout: 301" },
	{ L1 L2 "egress = { idle_connections = 0; };\n", 3,
	    "egress.idle_connections: 0 is out" },
	{ L1 L2 "egress = { idle_connections = 65537; };\n", 3,
	    "egress.idle_connections: 65537" },
	{ L1 L2 "cache = { memory = -1; };\n", 3, "cache.memory: -1 is out" },
	{ L1 L2 "limits = { header_bytes = 10; };\n", 3,
	    "limits.header_bytes: 10 is out of range" },
	{ L1 L2 "limits = { template_depth = 2000; };\n", 3,
	    "limits.template_depth: 2000" },
	{ L1 L2 "limits = { request_body = 0; };\n", 3,
	    "limits.request_body: 0 is out" },
	{ L1 L2 "limits = { idle_timeout = 100000; };\n", 3,
	    "limits.idle_timeout" },
	{ L1 L2 "limits = { address_connections = -1; };\n", 3,
	    "limits.address_connections: -1 is out of range (0 to 1000000)" },
	{ L1 L2 "limits = { total_connections = 10000001; };\n", 3,
	    "limits.total_connections: 10000001 is out of range" },
	{ L1 L2 "limits = { body_budget = 1024; };\n", 3,
	    "limits.body_budget: 1024 is out of range" },
	{ L1 L2 "limits = { worker_connections = -5; };\n", 3,
	    "limits.worker_connections: -5 is out" },
	{ L1 L2 "limits = { worker_lifetime = 31536001; };\n", 3,
	    "limits.worker_lifetime: 31536001 is out" },
	{ L1 L2 "metrics = { address = \"127.0.0.1\"; port = 70000; };\n", 3,
	    "metrics.port: 70000" },
	/* bad values */
	{ "listen = ( { address = \"localhost\"; port = 80; } );\n" L2, 1,
	    "listen[0].address: 'localhost' is not a numeric" },
	{ L1 L2 "log = { syslog_facility = \"kernel\"; };\n", 3,
	    "log.syslog_facility: unknown syslog facility 'kernel'" },
	{ L1 L2 "cpu_scheduling = \"fifo\";\n", 3,
	    "cpu_scheduling: 'fifo' is not a scheduling policy widgetd sets "
	    "(batch or other)" },
	{ L1 L2 "cpu_scheduling = \"Batch\";\n", 3,
	    "cpu_scheduling: 'Batch' is not" },
	{ L1 L2 "cpu_scheduling = 1;\n", 3, "cpu_scheduling:" },
	{ L1 L2 "user = \"x\";\nkeeper_user = \"x\";\n", 4,
	    "keeper_user: user and keeper_user must differ" },
	{ L1 L2 "control_socket = \"/run/widgetd/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\";\n", 3,
	    "control_socket: longer than" },
	{ L1 L2 "metrics = { address = \"127.0.0.1\"; port = 8080; };\n", 3,
	    "metrics: 127.0.0.1 port 8080 is also a listener" },
	{ "listen = ( { address = \"::1\"; port = 80; },\n"
	    "  { address = \"::1\"; port = 80; } );\n" L2, 2,
	    "listen[1]: ::1 port 80 is listed twice" },
	/* CIDR and resolve */
	{ L1 L2 "egress = {\n allow_networks = [ \"10.0.0.1/8\" ];\n};\n", 4,
	    "egress.allow_networks[0]: '10.0.0.1/8' is not a network" },
	{ L1 L2 "egress = { allow_networks = [ \"::/0\", \"300.0.0.0/8\" ]; };\n",
	    3, "egress.allow_networks[1]: '300.0.0.0/8'" },
	{ L1 L2 "egress = { allow_networks = [ \"10.0.0.0/33\" ]; };\n", 3,
	    "egress.allow_networks[0]: '10.0.0.0/33' is not a network" },
	{ L1 L2 "egress = { resolve = [ \"api.example.com:443\" ]; };\n", 3,
	    "egress.resolve[0]: 'api.example.com:443': want \"host:port:address\"" },
	{ L1 L2 "egress = { resolve = [ \"a.example:0:1.2.3.4\" ]; };\n", 3,
	    "egress.resolve[0]: 'a.example:0:1.2.3.4': port must be" },
	{ L1 L2 "egress = { resolve = [ \"a.example:443:::1\" ]; };\n", 3,
	    "egress.resolve[0]: 'a.example:443:::1': an IPv6 address must be in "
	    "brackets" },
	{ L1 L2 "egress = { resolve = [ \"a.example:443:1.2.3\" ]; };\n", 3,
	    "egress.resolve[0]: 'a.example:443:1.2.3': bad IPv4 address" },
	{ L1 L2 "egress = { resolve = [ \"a.example:443:\" ]; };\n", 3,
	    "egress.resolve[0]: 'a.example:443:': no address" },
	{ L1 L2 "egress = { resolve = [ \"+a.example:443:1.2.3.4\" ]; };\n", 3,
	    "egress.resolve[0]: '+a.example:443:1.2.3.4': bad host name" },
	/* missing keys */
	{ L2, 0, "missing required key 'listen'" },
	{ L1, 0, "missing required key 'tenants'" },
	{ "listen = ( { address = \"127.0.0.1\"; } );\n" L2, 1,
	    "missing required key 'port' in 'listen[0]'" },
	{ "listen = ();\n" L2, 1, "listen: at least one listener" },
	{ L1 "tenants = ();\n", 2, "tenants: at least one tenant" },
	{ L1 "tenants = ( { id = \"a\"; store = \"s\"; } );\n", 2,
	    "missing required key 'registry' in 'tenants[0]'" },
	{ L1 L2 "metrics = { port = 9464; };\n", 3,
	    "missing required key 'address' in 'metrics'" },
	{ L1 "tenants = (\n" T("a", "session = { cookie = \"c\"; };") ");\n", 3,
	    "missing required key 'public_key' in 'tenants[0].session'" },
	/* tenants */
	{ L1 "tenants = (\n" T("a", "hosts = [\"a.example\"];") ",\n"
	    T("a", "") ");\n", 4,
	    "tenants[1].id: duplicate tenant id 'a' (first at line 3)" },
	{ L1 "tenants = (\n" T("a", "") ",\n" T("b", "") ");\n", 4,
	    "tenants[1]: a second tenant without hosts" },
	{ L1 "tenants = (\n" T("a", "hosts = [\"x.example\"];") ",\n"
	    T("b", "hosts = [\"X.Example.\"];") ");\n", 4,
	    "tenants[1].hosts: host 'x.example' already belongs to tenant 'a'" },
	{ L1 "tenants = ( { id = \"Acme\"; registry = \"r\"; store = \"s\"; } );\n",
	    2, "tenants[0].id: 'Acme' may contain only" },
	{ L1 "tenants = ( { id = \"a/b\"; registry = \"r\"; store = \"s\"; } );\n",
	    2, "tenants[0].id: 'a/b' may contain only" },
	{ L1 "tenants = (\n" T("a", "hosts = [\"a.example:8080\"];") ");\n", 3,
	    "tenants[0].hosts[0]: 'a.example:8080': no port" },
	{ L1 "tenants = (\n" T("a", "hosts = [\"a.example\", \"A.example\"];")
	    ");\n", 3, "tenants[0].hosts[1]: 'a.example' is listed twice" },
	{ L1 "tenants = (\n" T("a", "hosts = [\"bad host\"];") ");\n", 3,
	    "tenants[0].hosts[0]: 'bad host': not a host name" },
	{ L1 "tenants = (\n"
	    "  { id = \"a\"; hosts = [\"a.x\"]; registry = \"r\"; store = \"s\"; },\n"
	    "  { id = \"b\"; registry = \"r\"; store = \"./../" "\"; },\n"
	    "  { id = \"c\"; hosts = [\"c.x\"]; registry = \"r\"; store = \"s\"; }\n"
	    ");\n", 5, "tenants[2].store: store '" },
	{ L1 "tenants = (\n" T("a", "session = { public_key = \"k\";\n"
	    "cookie = \"a b\"; };") "\n);\n", 4,
	    "tenants[0].session.cookie: 'a b' is not a valid cookie name" },
	/* extensions (SPEC §10) */
	{ L1 "tenants = (\n" T("a", "repository = { branch = \"main\"; };")
	    ");\n", 3, "missing required key 'path' in 'tenants[0].repository'" },
	{ L1 "tenants = (\n" T("a", "repository = { path = \"r\";\n"
	    "branch = \"../x\"; };") ");\n", 4,
	    "tenants[0].repository.branch: '../x' is not a branch name" },
	{ L1 "tenants = (\n" T("a", "repository = { path = \"r\"; "
	    "branch = \"main/\"; };") ");\n", 3,
	    "tenants[0].repository.branch: 'main/' is not a branch name" },
	{ L1 "tenants = (\n" T("a", "repository = { path = \"r\"; "
	    "branch = \"a b\"; };") ");\n", 3,
	    "tenants[0].repository.branch: 'a b' is not a branch name" },
	{ L1 "tenants = (\n" T("a", "repository = { path = \"\"; };") ");\n",
	    3, "tenants[0].repository.path: must not be empty" },
	{ L1 "tenants = (\n" T("a", "repository = \"/srv/a.git\";") ");\n",
	    3, "tenants[0].repository: expected a group" },
	{ L1 "tenants = (\n" T("a", "repository = { path = \"r\"; url = 1; };")
	    ");\n", 3, "unknown key 'url' in 'tenants[0].repository'" },
	{ L1 L2 "extensions = { poll_interval = 0; };\n", 3,
	    "extensions.poll_interval: 0 is out of range (1 to 3600)" },
	{ L1 L2 "extensions = { poll_interval = 3601; };\n", 3,
	    "extensions.poll_interval: 3601 is out of range" },
	{ L1 L2 "extensions = { publish_bytes = 1000; };\n", 3,
	    "extensions.publish_bytes: 1000 is out of range" },
	{ L1 L2 "extensions = { publish_bytes = 201326593; };\n", 3,
	    "extensions.publish_bytes: 201326593 is out of range" },
	{ L1 L2 "extensions = {\n trusted_cdns = [ \"cdn.x:443\" ]; };\n", 4,
	    "extensions.trusted_cdns[0]: 'cdn.x:443': no port" },
	{ L1 L2 "extensions = { trusted_cdns = [ \"*.cdn.x\" ]; };\n", 3,
	    "extensions.trusted_cdns[0]: '*.cdn.x': not a host name" },
	{ L1 L2 "extensions = { trusted_cdns = \"cdn.x\"; };\n", 3,
	    "extensions.trusted_cdns: expected a list of strings" },
	{ L1 L2 "extensions = { watch = true; };\n", 3,
	    "unknown key 'watch' in 'extensions'" },
	{ L1 L2 "state_dir = \"\";\n", 3, "state_dir: must not be empty" },
	/* syntax, reported with libconfig's line */
	{ L1 L2 "workers = ;\n", 3, "syntax error" },
	{ L1 L2 "\n\nlimits = { request_body = 1\n", 6, "syntax error" },
	{ L1 L2 "workers = 2;\nworkers = 3;\n", 4, "duplicate setting name" },
	/* an unterminated string fails where the file ends */
	{ L1 L2 "user = \"unterminated;\n", 4, "syntax error" },
	/* libconfig 1.5 would silently truncate these to 32 bits */
	{ L1 L2 "limits = { upstream_body =\n 5000000000; };\n", 4,
	    "integer 5000000000 does not fit in 32 bits; write 5000000000L" },
	{ L1 L2 "# 9999999999 in a comment is fine\n"
	    "cache = { memory = \"123456789012\"; };\n"
	    "/* 99999999999 */ limits = { request_body = 0x100000000; };\n", 5,
	    "integer 0x100000000 does not fit" },
	{ L1 L2 "workers = -2147483649;\n", 3, "integer -2147483649 does not" },
	{ L1 L2 "workers = 2# 99999999999\nuser = 12345678901;\n", 4,
	    "integer 12345678901 does not fit" },
	/* a redis key holds the prefix whole, and nothing to quote */
	{ L1 L2 "redis = { address = \"127.0.0.1\";\n prefix = \""
	    "p123456789p123456789p123456789p123456789p123456789p123456789"
	    "abcde\"; };\n", 4, "redis.prefix: longer than 64 characters" },
	{ L1 L2 "redis = { address = \"127.0.0.1\"; prefix = \"a b\"; };\n",
	    3, "redis.prefix: letters, digits and - _ . : only" },
};

#define NBAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

START_TEST(test_bad)
{
	const struct bad_case	*b = &bad_cases[_i];
	struct widgetd_config	*c;
	struct msgs		 m = { .m_n = 0 };
	char			 path[PATH_MAX], want[PATH_MAX + 600];
	int			 i, found = 0;

	c = load_text(b->b_text, &m, path, sizeof(path));
	ck_assert_msg(c == NULL, "case %d accepted:\n%s", _i, b->b_text);
	ck_assert_msg(m.m_n >= 1, "case %d: no message", _i);
	if (b->b_line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", path, b->b_line,
		    b->b_want);
	else
		snprintf(want, sizeof(want), "%s: %s", path, b->b_want);
	for (i = 0; i < m.m_n && i < 32; i++)
		if (strncmp(m.m_msg[i], want, strlen(want)) == 0)
			found = 1;
	ck_assert_msg(found, "case %d: want '%s', got '%s' (%d messages)", _i,
	    want, m.m_msg[0], m.m_n);
	msgs_free(&m);
}
END_TEST

/*
 * One account under two names (issue 9): user and keeper_user are compared
 * by uid and gid.  The accounts are made up: a private mount namespace
 * puts a passwd file of our own over /etc/passwd, in a child.
 */
static int
accounts_case(const char *user, const char *keeper, int want,
    const char *text)
{
	struct widgetd_config	 c;
	struct msgs		 m;
	int			 rc = 0;

	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	c.c_path = (char *)"widgetd.conf";
	c.c_user = (char *)user;
	c.c_keeper_user = (char *)keeper;
	if (config_check_accounts(&c, collect, &m) != want ||
	    m.m_n != (want == -1 ? 1 : 0) ||
	    (text != NULL && strstr(m.m_msg[0], text) == NULL)) {
		fprintf(stderr, "%s/%s: got %d message(s): %s\n", user, keeper,
		    m.m_n, m.m_n > 0 ? m.m_msg[0] : "");
		rc = 1;
	}
	msgs_free(&m);
	return rc;
}

static int
accounts_child(const char *passwd)
{
	if (unshare(CLONE_NEWNS) == -1)
		return 77;
	/* The type is ignored here; "none", not NULL, keeps valgrind quiet. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount(passwd, "/etc/passwd", "none", MS_BIND, NULL) == -1)
		return 2;
	if (accounts_case("wd-a", "wd-b", -1, "widgetd.conf: user \"wd-a\" "
	    "and keeper_user \"wd-b\" are one account (uid 4242)") ||
	    accounts_case("wd-a", "wd-c", -1, "share their group (gid 4242)") ||
	    accounts_case("wd-a", "wd-d", 0, NULL) ||
	    accounts_case("wd-a", "wd-nobody-has-this", 0, NULL) ||
	    accounts_case("wd-nobody-has-this", "wd-a", 0, NULL))
		return 3;
	return 0;
}

START_TEST(test_accounts_by_uid)
{
	char	 passwd[PATH_MAX];
	FILE	*fp;
	pid_t	 pid;
	int	 st;

	snprintf(passwd, sizeof(passwd), "%s/passwd", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(passwd, "w"));
	fputs("root:x:0:0:root:/root:/bin/sh\n"
	    "wd-a:x:4242:4242::/:/bin/false\n"
	    "wd-b:x:4242:4343::/:/bin/false\n"
	    "wd-c:x:4343:4242::/:/bin/false\n"
	    "wd-d:x:4444:4444::/:/bin/false\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	fflush(NULL);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0)
		_exit(accounts_child(passwd));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		/* Not root: no mount namespace to make accounts in. */
		fprintf(stderr, "test_accounts_by_uid: needs root, not run\n");
		return;
	}
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_extensions);
	tcase_add_test(tc, test_no_default_tenant);
	tcase_add_test(tc, test_many_tenant_hosts);
	tcase_add_test(tc, test_many_tenant_clashes);
	tcase_add_test(tc, test_shipped_sample);
	tcase_add_test(tc, test_relative_file);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_all_errors);
	tcase_add_test(tc, test_prescan_quiet);
	tcase_add_test(tc, test_accounts_by_uid);
	tcase_add_loop_test(tc, test_bad, 0, NBAD);
	suite_add_tcase(s, tc);
	return s;
}
