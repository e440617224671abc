/*
 * netpolicy.c — which destinations an upstream call may reach (SPEC §7, §9).
 *
 * Pure functions: nothing here resolves a name or opens a socket.  The same
 * classification runs at load time on literal hosts of connector URLs and in
 * the keeper on every address curl is about to connect to, so a connector
 * that loads is exactly one whose literal destination the keeper would allow.
 *
 * Decisions (also in widgetd.conf(5)):
 * - Only globally routable unicast is public.  Every special-purpose block
 *   of the IANA registries that is not reachable on the Internet is denied,
 *   not only the private ones: a documentation or benchmark address has no
 *   business in a connector, and denying it costs nothing.
 * - An IPv6 address that carries an IPv4 address (v4-mapped, SIIT, NAT64
 *   64:ff9b::/96, 6to4 2002::/16) is judged by both: it is allowed when
 *   either address is inside allow_networks, otherwise both must be public.
 *   Teredo hides its client address and is denied outright.
 * - allow_networks entries must have no host bits set ("10.1.0.0/8" is
 *   refused): such an entry is almost always a typo for a narrower prefix.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netpolicy.h"

struct netpolicy_special {
	const char	*ns_net;
	const char	*ns_why;
};

/* IPv4 blocks that are never public (RFC 6890 and the IANA registry). */
static const struct netpolicy_special netpolicy_special4[] = {
	{ "0.0.0.0/8",		"unspecified address" },
	{ "10.0.0.0/8",		"private address" },
	{ "100.64.0.0/10",	"carrier-grade NAT address" },
	{ "127.0.0.0/8",	"loopback address" },
	{ "169.254.0.0/16",	"link-local address" },
	{ "172.16.0.0/12",	"private address" },
	{ "192.0.0.0/24",	"IETF protocol assignment" },
	{ "192.0.2.0/24",	"documentation address" },
	{ "192.88.99.0/24",	"6to4 relay anycast address" },
	{ "192.168.0.0/16",	"private address" },
	{ "198.18.0.0/15",	"benchmarking address" },
	{ "198.51.100.0/24",	"documentation address" },
	{ "203.0.113.0/24",	"documentation address" },
	{ "224.0.0.0/4",	"multicast address" },
	{ "255.255.255.255/32",	"broadcast address" },
	{ "240.0.0.0/4",	"reserved address" },
};

/*
 * IPv6 blocks denied after the embedded-IPv4 forms were dealt with.  Order
 * matters only for the reason given; anything outside 2000::/3 is denied
 * afterwards anyway.
 */
static const struct netpolicy_special netpolicy_special6[] = {
	{ "::/128",		"unspecified address" },
	{ "::1/128",		"loopback address" },
	{ "64:ff9b:1::/48",	"local-use NAT64 address" },
	{ "100::/64",		"discard-only address" },
	{ "2001::/32",		"Teredo address" },
	{ "2001:2::/48",	"benchmarking address" },
	{ "2001:10::/28",	"ORCHID address" },
	{ "2001:20::/28",	"ORCHID address" },
	{ "2001:db8::/32",	"documentation address" },
	{ "3fff::/20",		"documentation address" },
	{ "fc00::/7",		"unique local (private) address" },
	{ "fe80::/10",		"link-local address" },
	{ "fec0::/10",		"site-local address" },
	{ "ff00::/8",		"multicast address" },
};

#define NETPOLICY_NSPECIAL4 \
	(sizeof(netpolicy_special4) / sizeof(netpolicy_special4[0]))
#define NETPOLICY_NSPECIAL6 \
	(sizeof(netpolicy_special6) / sizeof(netpolicy_special6[0]))

static int
netpolicy_parse_prefix(const char *s, int max)
{
	int	 n = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		n = n * 10 + (*s - '0');
		if (n > max)
			return -1;
	}
	return n;
}

/* 1 when the bits of addr past prefix are all zero. */
static int
netpolicy_host_bits_clear(const unsigned char *addr, int len, int prefix)
{
	int	 i;

	for (i = prefix; i < len * 8; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

int
netpolicy_parse_net(const char *s, struct netpolicy_net *net)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash;
	int		 prefix, max, len;
	size_t		 n;

	memset(net, 0, sizeof(*net));
	n = strlen(s);
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';

	/* inet_pton, not inet_aton: a network is written in canonical form. */
	if (inet_pton(AF_INET, buf, net->n_addr) == 1) {
		net->n_family = AF_INET;
		len = 4;
	} else if (inet_pton(AF_INET6, buf, net->n_addr) == 1) {
		net->n_family = AF_INET6;
		len = 16;
	} else
		return 0;
	max = len * 8;
	if (slash == NULL)
		prefix = max;
	else if ((prefix = netpolicy_parse_prefix(slash + 1, max)) < 0)
		return 0;
	if (!netpolicy_host_bits_clear(net->n_addr, len, prefix))
		return 0;
	net->n_prefix = prefix;
	return 1;
}

static int
netpolicy_net_contains(const struct netpolicy_net *net, int family,
    const unsigned char *addr)
{
	int	 full, rest;

	if (net->n_family != family)
		return 0;
	full = net->n_prefix / 8;
	rest = net->n_prefix % 8;
	if (memcmp(net->n_addr, addr, full) != 0)
		return 0;
	if (rest != 0 &&
	    ((net->n_addr[full] ^ addr[full]) & (0xff00 >> rest) & 0xff) != 0)
		return 0;
	return 1;
}

static int
netpolicy_in_allow(const struct netpolicy *np, int family,
    const unsigned char *addr)
{
	size_t	 i;

	if (np == NULL)
		return 0;
	for (i = 0; i < np->np_nallow; i++)
		if (netpolicy_net_contains(&np->np_allow[i], family, addr))
			return 1;
	return 0;
}

static const char *
netpolicy_match_special(const struct netpolicy_special *tab, size_t ntab,
    int family, const unsigned char *addr)
{
	struct netpolicy_net	 net;
	size_t			 i;

	for (i = 0; i < ntab; i++) {
		/* The tables are constants; a parse failure is a bug here. */
		if (!netpolicy_parse_net(tab[i].ns_net, &net))
			return "internal error in special-address table";
		if (netpolicy_net_contains(&net, family, addr))
			return tab[i].ns_why;
	}
	return NULL;
}

static const char *
netpolicy_class4(const unsigned char *a)
{
	return netpolicy_match_special(netpolicy_special4, NETPOLICY_NSPECIAL4,
	    AF_INET, a);
}

/*
 * The IPv4 address an IPv6 address stands for, if any: v4-mapped
 * ::ffff:0:0/96, SIIT ::ffff:0:0:0/96, NAT64 64:ff9b::/96 (last 32 bits),
 * 6to4 2002::/16 (bits 16-47).  Returns 1 and fills v4.
 */
static int
netpolicy_embedded4(const unsigned char *a, unsigned char *v4)
{
	static const unsigned char mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char siit[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	static const unsigned char nat64[12] =
	    { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

	if (memcmp(a, mapped, 12) == 0 || memcmp(a, siit, 12) == 0 ||
	    memcmp(a, nat64, 12) == 0) {
		memcpy(v4, a + 12, 4);
		return 1;
	}
	if (a[0] == 0x20 && a[1] == 0x02) {
		memcpy(v4, a + 2, 4);
		return 1;
	}
	return 0;
}

static const char *
netpolicy_why(const struct netpolicy *np, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const unsigned char		*a;
	unsigned char			 v4[4];
	const char			*why;

	if (sa == NULL)
		return "no address";
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		a = (const unsigned char *)&sin->sin_addr;
		if (netpolicy_in_allow(np, AF_INET, a))
			return NULL;
		return netpolicy_class4(a);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		a = sin6->sin6_addr.s6_addr;
		if (netpolicy_in_allow(np, AF_INET6, a))
			return NULL;
		if (netpolicy_embedded4(a, v4)) {
			if (netpolicy_in_allow(np, AF_INET, v4))
				return NULL;
			if ((why = netpolicy_class4(v4)) != NULL)
				return why;
			/* NAT64 and 6to4 are global; mapped/SIIT are the v4. */
			return NULL;
		}
		why = netpolicy_match_special(netpolicy_special6,
		    NETPOLICY_NSPECIAL6, AF_INET6, a);
		if (why != NULL)
			return why;
		/* Only 2000::/3 is allocated as global unicast. */
		if ((a[0] & 0xe0) != 0x20)
			return "reserved address";
		return NULL;
	default:
		return "not an internet address";
	}
}

int
netpolicy_addr_allowed(const struct netpolicy *np, const struct sockaddr *sa)
{
	return netpolicy_why(np, sa) == NULL;
}

const char *
netpolicy_addr_why(const struct netpolicy *np, const struct sockaddr *sa)
{
	return netpolicy_why(np, sa);
}

/* Characters a DNS name may be written with in a URL we accept. */
static int
netpolicy_name_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

int
netpolicy_host_allowed(const struct netpolicy *np, const char *host,
    const char **why)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	char			 buf[256], *pct;
	const char		*w = NULL, *p;
	size_t			 n;

	if (host == NULL || (n = strlen(host)) == 0) {
		w = "empty host";
		goto out;
	}
	if (n >= sizeof(buf)) {
		w = "host name too long";
		goto out;
	}

	/* IPv6 literal, bracketed as in a URL or bare. */
	if (host[0] == '[' || strchr(host, ':') != NULL) {
		if (host[0] == '[') {
			if (n < 3 || host[n - 1] != ']') {
				w = "malformed IPv6 literal";
				goto out;
			}
			memcpy(buf, host + 1, n - 2);
			buf[n - 2] = '\0';
		} else
			memcpy(buf, host, n + 1);
		/* A zone ("%eth0") only makes sense on link-local: judge the address. */
		if ((pct = strchr(buf, '%')) != NULL)
			*pct = '\0';
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, buf, &sin6.sin6_addr) != 1) {
			w = "malformed IPv6 literal";
			goto out;
		}
		w = netpolicy_why(np, (struct sockaddr *)&sin6);
		goto out;
	}

	for (p = host; *p != '\0'; p++) {
		if (!netpolicy_name_char((unsigned char)*p)) {
			w = "invalid character in host name";
			goto out;
		}
	}
	/* One trailing dot names the same host (fully qualified form). */
	memcpy(buf, host, n + 1);
	if (n > 1 && buf[n - 1] == '.')
		buf[--n] = '\0';

	if (strcasecmp(buf, "localhost") == 0 ||
	    (n > 10 && strcasecmp(buf + n - 10, ".localhost") == 0)) {
		w = "localhost is never an upstream";
		goto out;
	}

	/*
	 * inet_aton accepts what resolvers and URL parsers accept as IPv4:
	 * "127.1", "0x7f.1", "017700000001", "2130706433".  Such a host is a
	 * literal address whatever it looks like, so judge the address.
	 */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_aton(buf, &sin.sin_addr) != 0)
		w = netpolicy_why(np, (struct sockaddr *)&sin);
out:
	if (why != NULL)
		*why = w;
	return w == NULL;
}

void
netpolicy_clear(struct netpolicy *np)
{
	if (np == NULL)
		return;
	free(np->np_allow);
	np->np_allow = NULL;
	np->np_nallow = 0;
	np->np_allow_http = 0;
}

int
netpolicy_in_list(const struct netpolicy *np, const char *addr)
{
	unsigned char	 a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return netpolicy_in_allow(np, AF_INET, a);
	if (inet_pton(AF_INET6, addr, a) == 1)
		return netpolicy_in_allow(np, AF_INET6, a);
	return 0;
}
