/*
 * check_netpolicy.c — the SSRF table: which literal hosts and addresses an
 * upstream call may reach, with and without allow_networks.  Pure functions,
 * no traffic.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "netpolicy.h"

struct host_case {
	const char	*hc_host;
	int		 hc_allowed;
	const char	*hc_why;	/* substring of the reason, or NULL */
};

/* Default policy: nothing beyond public addresses. */
static const struct host_case host_cases[] = {
	/* public */
	{ "93.184.215.14",		1, NULL },
	{ "8.8.8.8",			1, NULL },
	{ "1.1.1.1",			1, NULL },
	{ "api.example.com",		1, NULL },
	{ "API.Example.COM.",		1, NULL },
	{ "172.32.0.1",			1, NULL },	/* just past 172.16/12 */
	{ "172.15.255.255",		1, NULL },
	{ "100.128.0.1",		1, NULL },	/* just past CGNAT */
	{ "100.63.255.255",		1, NULL },
	{ "169.253.255.255",		1, NULL },
	{ "198.20.0.1",			1, NULL },	/* past 198.18/15 */
	{ "223.255.255.255",		1, NULL },
	{ "2606:4700:4700::1111",	1, NULL },
	{ "[2606:4700:4700::1111]",	1, NULL },
	{ "[::ffff:8.8.8.8]",		1, NULL },
	{ "[64:ff9b::808:808]",		1, NULL },	/* NAT64 of 8.8.8.8 */
	{ "[2002:808:808::1]",		1, NULL },	/* 6to4 of 8.8.8.8 */
	{ "1.2.3.4.5",			1, NULL },	/* a name, not an address */
	{ "localhost.example.com",	1, NULL },
	{ "mylocalhost",		1, NULL },
	/* localhost, whatever the spelling */
	{ "localhost",			0, "localhost" },
	{ "LOCALHOST",			0, "localhost" },
	{ "localhost.",			0, "localhost" },
	{ "foo.localhost",		0, "localhost" },
	{ "a.b.LocalHost.",		0, "localhost" },
	/* loopback */
	{ "127.0.0.1",			0, "loopback" },
	{ "127.255.255.254",		0, "loopback" },
	{ "127.1",			0, "loopback" },
	{ "0x7f.1",			0, "loopback" },
	{ "0x7f000001",			0, "loopback" },
	{ "2130706433",			0, "loopback" },
	{ "0177.0.0.1",			0, "loopback" },
	{ "127.0.0.1.",			0, "loopback" },
	{ "::1",			0, "loopback" },
	{ "[::1]",			0, "loopback" },
	{ "[0:0:0:0:0:0:0:1]",		0, "loopback" },
	{ "[::ffff:127.0.0.1]",		0, "loopback" },
	{ "[::ffff:7f00:1]",		0, "loopback" },
	{ "[::ffff:0:127.0.0.1]",	0, "loopback" },	/* SIIT */
	{ "[64:ff9b::127.0.0.1]",	0, "loopback" },	/* NAT64 */
	{ "[2002:7f00:1::]",		0, "loopback" },	/* 6to4 */
	/* unspecified */
	{ "0.0.0.0",			0, "unspecified" },
	{ "0",				0, "unspecified" },
	{ "0.1.2.3",			0, "unspecified" },
	{ "::",				0, "unspecified" },
	{ "[::]",			0, "unspecified" },
	/* private */
	{ "10.0.0.1",			0, "private" },
	{ "10.255.255.255",		0, "private" },
	{ "012.1",			0, "private" },		/* octal 10.0.0.1 */
	{ "172.16.0.1",			0, "private" },
	{ "172.31.255.255",		0, "private" },
	{ "192.168.1.1",		0, "private" },
	{ "[::ffff:10.1.2.3]",		0, "private" },
	{ "[::ffff:192.168.0.1]",	0, "private" },
	{ "[fc00::1]",			0, "unique local" },
	{ "[fd12:3456::1]",		0, "unique local" },
	/* link-local, cloud metadata among them (SPEC §9) */
	{ "169.254.169.254",		0, "link-local" },
	{ "169.254.0.1",		0, "link-local" },
	{ "[fe80::1]",			0, "link-local" },
	{ "[fe80::1%25eth0]",		0, "link-local" },
	{ "fe80::1%eth0",		0, "link-local" },
	{ "[febf::1]",			0, "link-local" },
	{ "[::ffff:169.254.169.254]",	0, "link-local" },
	{ "[fd00:ec2::254]",		0, "unique local" },	/* AWS v6 IMDS */
	/* CGNAT */
	{ "100.64.0.1",			0, "carrier-grade" },
	{ "100.127.255.255",		0, "carrier-grade" },
	/* multicast, broadcast, reserved */
	{ "224.0.0.1",			0, "multicast" },
	{ "239.255.255.250",		0, "multicast" },
	{ "[ff02::1]",			0, "multicast" },
	{ "[ff05::1:3]",		0, "multicast" },
	{ "255.255.255.255",		0, "broadcast" },
	{ "240.0.0.1",			0, "reserved" },
	{ "[fec0::1]",			0, "site-local" },
	{ "[4000::1]",			0, "reserved" },
	{ "[100::1]",			0, "discard" },
	{ "[64:ff9b:1::1]",		0, "NAT64" },
	{ "[2001::1]",			0, "Teredo" },
	/* documentation and benchmarking */
	{ "192.0.2.1",			0, "documentation" },
	{ "198.51.100.7",		0, "documentation" },
	{ "203.0.113.9",		0, "documentation" },
	{ "198.18.0.1",			0, "benchmarking" },
	{ "198.19.255.255",		0, "benchmarking" },
	{ "[2001:db8::1]",		0, "documentation" },
	{ "192.0.0.8",			0, "IETF" },
	/* malformed */
	{ "",				0, "empty" },
	{ "[::1",			0, "malformed" },
	{ "[]",				0, "malformed" },
	{ "[nothex::1]",		0, "malformed" },
	{ "1:2:3",			0, "malformed" },
	{ "127.0.0.1 x",		0, "invalid character" },
	{ "%31%32%37.0.0.1",		0, "invalid character" },
	{ "evil.com/@127.0.0.1",	0, "invalid character" },
	{ "ex\xc3\xa4mple.com",		0, "invalid character" },
};

#define NHOST (sizeof(host_cases) / sizeof(host_cases[0]))

START_TEST(test_host_table)
{
	const struct host_case	*hc = &host_cases[_i];
	const char		*why = "unset";
	int			 r;

	r = netpolicy_host_allowed(NULL, hc->hc_host, &why);
	ck_assert_msg(r == hc->hc_allowed, "host '%s': got %d, want %d (%s)",
	    hc->hc_host, r, hc->hc_allowed, why ? why : "null");
	if (hc->hc_allowed)
		ck_assert_msg(why == NULL, "host '%s': why set on allow",
		    hc->hc_host);
	else {
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strstr(why, hc->hc_why) != NULL,
		    "host '%s': reason '%s' lacks '%s'", hc->hc_host, why,
		    hc->hc_why);
	}
}
END_TEST

static void
policy_add(struct netpolicy *np, const char *s)
{
	np->np_allow = realloc(np->np_allow,
	    (np->np_nallow + 1) * sizeof(*np->np_allow));
	ck_assert_ptr_nonnull(np->np_allow);
	ck_assert_msg(netpolicy_parse_net(s, &np->np_allow[np->np_nallow]),
	    "parse %s", s);
	np->np_nallow++;
}

/* allow_networks opens exactly what it names and nothing next to it. */
START_TEST(test_allow_networks)
{
	struct netpolicy	 np;
	const char		*why;

	memset(&np, 0, sizeof(np));
	policy_add(&np, "127.0.0.0/8");
	policy_add(&np, "10.20.0.0/16");
	policy_add(&np, "fd00:1::/32");
	policy_add(&np, "192.168.7.7");

	ck_assert(netpolicy_host_allowed(&np, "127.0.0.1", &why));
	ck_assert(netpolicy_host_allowed(&np, "127.1", &why));
	ck_assert(netpolicy_host_allowed(&np, "[::ffff:127.0.0.1]", &why));
	ck_assert(netpolicy_host_allowed(&np, "10.20.3.4", &why));
	ck_assert(!netpolicy_host_allowed(&np, "10.21.0.1", &why));
	ck_assert(netpolicy_host_allowed(&np, "[fd00:1:2::3]", &why));
	ck_assert(!netpolicy_host_allowed(&np, "[fd00:2::3]", &why));
	ck_assert(netpolicy_host_allowed(&np, "192.168.7.7", &why));
	ck_assert(!netpolicy_host_allowed(&np, "192.168.7.8", &why));
	/* allow_networks covers addresses, never the name localhost */
	ck_assert(!netpolicy_host_allowed(&np, "localhost", &why));
	ck_assert_str_eq(why, "localhost is never an upstream");
	/* ::1 is not 127.0.0.0/8 */
	ck_assert(!netpolicy_host_allowed(&np, "::1", &why));
	ck_assert(!netpolicy_host_allowed(&np, "169.254.169.254", &why));
	netpolicy_clear(&np);
	ck_assert_ptr_null(np.np_allow);
	ck_assert_uint_eq(np.np_nallow, 0);
	netpolicy_clear(&np);
	netpolicy_clear(NULL);
}
END_TEST

/* The run-time entry point on real sockaddrs, as the keeper calls it. */
START_TEST(test_sockaddr)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr		 sa;
	struct netpolicy	 np;

	memset(&np, 0, sizeof(np));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(443);
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1);
	ck_assert(!netpolicy_addr_allowed(&np, (struct sockaddr *)&sin));
	ck_assert_str_eq(netpolicy_addr_why(NULL, (struct sockaddr *)&sin),
	    "loopback address");
	ck_assert_int_eq(inet_pton(AF_INET, "8.8.4.4", &sin.sin_addr), 1);
	ck_assert(netpolicy_addr_allowed(&np, (struct sockaddr *)&sin));
	ck_assert_ptr_null(netpolicy_addr_why(&np, (struct sockaddr *)&sin));

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.0.1",
	    &sin6.sin6_addr), 1);
	ck_assert(!netpolicy_addr_allowed(&np, (struct sockaddr *)&sin6));
	ck_assert_int_eq(inet_pton(AF_INET6, "2a00:1450:4001::200e",
	    &sin6.sin6_addr), 1);
	ck_assert(netpolicy_addr_allowed(&np, (struct sockaddr *)&sin6));

	policy_add(&np, "10.0.0.0/8");
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.0.1",
	    &sin6.sin6_addr), 1);
	ck_assert(netpolicy_addr_allowed(&np, (struct sockaddr *)&sin6));

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ck_assert(!netpolicy_addr_allowed(&np, &sa));
	ck_assert(!netpolicy_addr_allowed(&np, NULL));
	netpolicy_clear(&np);
}
END_TEST

struct net_case {
	const char	*nc_text;
	int		 nc_ok;
	int		 nc_family;
	int		 nc_prefix;
};

static const struct net_case net_cases[] = {
	{ "10.0.0.0/8",		1, AF_INET, 8 },
	{ "127.0.0.1",		1, AF_INET, 32 },
	{ "0.0.0.0/0",		1, AF_INET, 0 },
	{ "192.168.1.128/25",	1, AF_INET, 25 },
	{ "::1",		1, AF_INET6, 128 },
	{ "fd00::/8",		1, AF_INET6, 8 },
	{ "::/0",		1, AF_INET6, 0 },
	{ "2001:db8::/32",	1, AF_INET6, 32 },
	{ "10.0.0.1/8",		0, 0, 0 },	/* host bits set */
	{ "fd00::1/8",		0, 0, 0 },
	{ "10.0.0.0/33",	0, 0, 0 },
	{ "::/129",		0, 0, 0 },
	{ "10.0.0.0/",		0, 0, 0 },
	{ "10.0.0.0/-1",	0, 0, 0 },
	{ "10.0.0.0/08",	0, 0, 0 },
	{ "10.0.0.0/8x",	0, 0, 0 },
	{ "10.0.0.0/ 8",	0, 0, 0 },
	{ "10.0.0/24",		0, 0, 0 },	/* no inet_aton shorthand */
	{ "0x0a.0.0.0/8",	0, 0, 0 },
	{ "[::1]/128",		0, 0, 0 },
	{ "example.com/8",	0, 0, 0 },
	{ "",			0, 0, 0 },
	{ "/8",			0, 0, 0 },
	{ "10.0.0.0/99999999999999999999", 0, 0, 0 },
};

#define NNET (sizeof(net_cases) / sizeof(net_cases[0]))

START_TEST(test_parse_net)
{
	const struct net_case	*nc = &net_cases[_i];
	struct netpolicy_net	 net;
	int			 r;

	r = netpolicy_parse_net(nc->nc_text, &net);
	ck_assert_msg(r == nc->nc_ok, "'%s': got %d", nc->nc_text, r);
	if (r) {
		ck_assert_int_eq(net.n_family, nc->nc_family);
		ck_assert_int_eq(net.n_prefix, nc->nc_prefix);
	}
}
END_TEST

/* Prefix matching at bit granularity, on both sides of the boundary. */
START_TEST(test_prefix_edges)
{
	struct netpolicy	 np;

	memset(&np, 0, sizeof(np));
	policy_add(&np, "192.168.1.128/25");
	policy_add(&np, "fd00:0:0:ff80::/57");
	ck_assert(netpolicy_host_allowed(&np, "192.168.1.128", NULL));
	ck_assert(netpolicy_host_allowed(&np, "192.168.1.255", NULL));
	ck_assert(!netpolicy_host_allowed(&np, "192.168.1.127", NULL));
	ck_assert(netpolicy_host_allowed(&np, "[fd00:0:0:ff80::1]", NULL));
	ck_assert(netpolicy_host_allowed(&np, "[fd00:0:0:ffff::1]", NULL));
	ck_assert(!netpolicy_host_allowed(&np, "[fd00:0:0:ff7f::1]", NULL));
	netpolicy_clear(&np);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("netpolicy");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_host_table, 0, NHOST);
	tcase_add_test(tc, test_allow_networks);
	tcase_add_test(tc, test_sockaddr);
	tcase_add_loop_test(tc, test_parse_net, 0, NNET);
	tcase_add_test(tc, test_prefix_edges);
	suite_add_tcase(s, tc);
	return s;
}
