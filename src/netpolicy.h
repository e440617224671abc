/*
 * netpolicy.h — which destinations an upstream call may reach (SPEC §7).
 * One policy, applied twice: to literal hosts when a connector loads, and to
 * every resolved address in the keeper at connect time.
 */
#ifndef WIDGETD_NETPOLICY_H
#define WIDGETD_NETPOLICY_H

#include <stddef.h>
#include <sys/socket.h>

struct netpolicy_net {
	int		 n_family;	/* AF_INET or AF_INET6 */
	unsigned char	 n_addr[16];
	int		 n_prefix;
};

struct netpolicy {
	struct netpolicy_net *np_allow;	/* allow_networks */
	size_t		 np_nallow;
	int		 np_allow_http;
};

/*
 * Parse "10.0.0.0/8" or "::1/128" (canonical inet_pton forms; no prefix
 * means /32 or /128).  0 on error, including host bits set past the prefix.
 */
int		 netpolicy_parse_net(const char *, struct netpolicy_net *);
/*
 * 1 when sa may be reached: public, or inside allow_networks.  A NULL policy
 * is the default one (nothing allowed beyond public addresses).
 */
int		 netpolicy_addr_allowed(const struct netpolicy *,
		    const struct sockaddr *);
/* Same judgement: NULL when allowed, else why not ("loopback address"). */
const char	*netpolicy_addr_why(const struct netpolicy *,
		    const struct sockaddr *);
/*
 * Literal host check for load time: 0 and *why when host is "localhost" (or
 * ends in ".localhost"), or a literal address that is not allowed.  A name
 * that is not a literal passes (it is checked after DNS at run time).
 */
int		 netpolicy_host_allowed(const struct netpolicy *, const char *host,
		    const char **why);
/* 1 when the numeric address text is inside one of np_allow's networks. */
int		 netpolicy_in_list(const struct netpolicy *, const char *addr);
/* Free np_allow and reset; the struct itself is the caller's. */
void		 netpolicy_clear(struct netpolicy *);

#endif
