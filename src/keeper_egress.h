/*
 * keeper_egress.h — the keeper's upstream HTTP calls (SPEC §7, DESIGN §3).
 *
 * libcurl's multi interface driven by the keeper's libevent base.  The
 * egress policy is enforced here, on the address each connection actually
 * goes to: https only (unless allow_http), no redirects followed, every
 * address classified by netpolicy when the socket is opened and again
 * before the request is written, no proxy, no .netrc, no cookies.  Request
 * headers and bodies may carry secret-derived bytes: they are copied into
 * buffers that are wiped when the call ends, and libcurl's own copies are
 * wiped when libcurl frees them (egress_init installs its allocator).
 */
#ifndef WIDGETD_KEEPER_EGRESS_H
#define WIDGETD_KEEPER_EGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "netpolicy.h"

struct event_base;
struct redact;

/* One generation of the egress configuration (egress.* and limits.*). */
struct egress_conf {
	const struct netpolicy *ec_policy;	/* allow_networks, allow_http */
	const void	*ec_ca;		/* CA bundle, PEM (egress_ca_load) */
	size_t		 ec_calen;
	char *const	*ec_resolve;	/* "host:port:address[,address]" pins */
	size_t		 ec_nresolve;
	int		 ec_timeout_ms;	/* the window when a call names none */
	size_t		 ec_max_body;	/* limits.upstream_body */
	size_t		 ec_max_headers;/* response header lines (0: 100) */
	size_t		 ec_header_bytes;/* response header bytes (0: 64 KiB) */
	size_t		 ec_idle_conns;	/* connections kept between calls
					   (egress.idle_connections; 0: 1024) */
	int		 ec_evict_ms;	/* idle this long, one makes room for
					   another (0: 2000; tests set it) */
	int		 ec_connidle_ms;/* idle this long, one is closed
					   (0: 118 s; tests set it) */
	int		 ec_http_idle_s;/* the same for libcurl's own
					   connections, whole seconds, when it
					   next connects (0: 118; tests set
					   it) */
	int		 ec_conn_maxage_s;/* tests only: an age libcurl gives
					   the keeper's own connections when
					   it makes another, so that it
					   closes them under their calls
					   (0: none, as in the daemon) */
	/*
	 * 0: the keeper speaks HTTP/1.1 itself (keeper_h1.c) on connections
	 * libcurl makes; 1: libcurl does all of it.  Calls with a client
	 * certificate always go the second way.
	 */
	int		 ec_curl_http;
};

/* A request header: the final value, secret-derived bytes included. */
struct egress_field {
	const char	*ef_name;
	const char	*ef_value;
};

struct egress_request {
	/* GET POST PUT PATCH DELETE HEAD OPTIONS */
	const char	*eq_method;
	const char	*eq_url;	/* absolute, query encoded */
	const struct egress_field *eq_headers;
	size_t		 eq_nheaders;
	const void	*eq_body;	/* NULL: none */
	size_t		 eq_bodylen;
	/* CLOCK_MONOTONIC; zero: now + ec_timeout_ms */
	struct timespec	 eq_deadline;
	/*
	 * An upstream client certificate and its key (PEM; mTLS), or NULL.
	 * libcurl keeps a copy for the call, freed (wiped) with it, and never
	 * reuses a connection made with another certificate.
	 */
	const void	*eq_cert;
	size_t		 eq_certlen;
	const void	*eq_key;
	size_t		 eq_keylen;
};

enum egress_error {
	EGRESS_OK = 0,
	EGRESS_ETIMEOUT,	/* the window passed */
	EGRESS_EPOLICY,		/* destination refused: scheme, address class */
	EGRESS_EDNS,		/* the host name did not resolve */
	EGRESS_ECONNECT,	/* no connection could be made */
	EGRESS_ETLS,		/* handshake failed, certificate untrusted or
				   for another name */
	EGRESS_ETOOBIG,		/* body over ec_max_body */
	EGRESS_EPROTO,		/* malformed or truncated response, too many
				   or too large headers, connection lost */
	EGRESS_EREQUEST,	/* the request itself is invalid (a keeper bug
				   or a plan that should have been refused) */
	EGRESS_EINTERNAL	/* out of memory, libcurl refused an option */
};

/*
 * A response header as received: several with one name stay several.
 * The name and the value are each malloc'd on their own (the eh_own bit
 * set) or live in the result's er_arena (the reader's way: one buffer for
 * the whole header block instead of two allocations a line).
 */
struct egress_header {
	char		*eh_name;
	size_t		 eh_namelen;
	char		*eh_value;	/* NUL-terminated; no NUL, CR, LF
					   or other control but HTAB within
					   (refused as malformed) */
	size_t		 eh_valuelen;
	int		 eh_own;	/* EH_OWN_* */
};
#define EH_OWN_NAME	0x01
#define EH_OWN_VALUE	0x02

/* Microseconds since the call started, as libcurl counts them. */
struct egress_timing {
	int64_t		 et_dns;	/* name resolved */
	int64_t		 et_connect;	/* TCP connected */
	int64_t		 et_tls;	/* TLS handshake done (0 for http) */
	int64_t		 et_ttfb;	/* first response byte */
	int64_t		 et_total;
};

struct egress_result {
	enum egress_error er_error;
	char		 er_msg[160];	/* why, when er_error; no secret */
	int		 er_status;	/* HTTP status, when EGRESS_OK */
	struct egress_header *er_headers;
	size_t		 er_nheaders;
	char		*er_arena;	/* header strings not eh_own */
	size_t		 er_arenalen;
	size_t		 er_arenacap;
	char		*er_body;	/* NUL-terminated; the decoded body */
	size_t		 er_bodylen;
	struct egress_timing er_timing;
	char		 er_host[256];	/* the URL's host (Server-Timing) */
	char		 er_ip[48];	/* the address connected to, or "" */
	int		 er_port;
	int		 er_reused;	/* an earlier call's connection */
};

/*
 * Called once per call that was not cancelled, never from inside
 * egress_start.  The result and everything it points to is freed (wiped)
 * when the callback returns, except buffers the callback took: set
 * er_body to NULL to take it, and wipe it before freeing
 * (keeper_secret_free).  The callback may start and cancel other calls; it
 * must not call egress_free.
 */
typedef void	(*egress_done_fn)(struct egress_result *, void *arg);

struct egress;
struct egress_call;

/*
 * Once per process, before anything else uses libcurl or the environment
 * has been read by it, and before the sandbox: libcurl with an allocator
 * that wipes what it frees, TLS and the resolver warmed up, proxy and
 * SSLKEYLOGFILE variables removed.  -1 with err filled on failure.
 */
int		 egress_init(char *err, size_t errlen);

struct egress	*egress_new(struct event_base *, const struct egress_conf *,
		    char *err, size_t errlen);
/*
 * A new configuration generation.  Calls in flight finish under the one
 * they started with; new calls use this one.  When the CA bundle, the
 * policy or the pins change, new calls also get new connections (a
 * connection made under the old rules is never reused).  -1 with err
 * filled, and the old generation kept, when conf is invalid.
 */
int		 egress_reconfigure(struct egress *, const struct egress_conf *,
		    char *err, size_t errlen);
/* Cancel every call (no callbacks), close every connection; NULL: no-op. */
void		 egress_free(struct egress *);

/*
 * Start a call.  Everything in req is copied; the callback runs later from
 * the event loop, also for a call refused at once (invalid URL, refused
 * literal address, deadline already passed).  NULL only when out of memory.
 */
struct egress_call *egress_start(struct egress *, const struct egress_request *,
		    egress_done_fn, void *arg);
/* Stop a call whose callback has not run; its callback never will. */
void		 egress_cancel(struct egress_call *);
/* Calls started and not yet done or cancelled. */
size_t		 egress_pending(const struct egress *);
/* Easy handles kept, reset, for the next calls (the current generation). */
size_t		 egress_idle_handles(const struct egress *);
/* Connections kept open for the next calls (the current generation). */
size_t		 egress_idle_conns(const struct egress *);

/*
 * Replace secret-derived bytes in every header name and value and in the
 * body.  Returns the number of marks written, or -1 when out of memory
 * (the caller must then not pass the result on).
 */
int		 egress_result_redact(struct egress_result *, struct redact *);

/* Free (wiping) a result's headers and body; the rest stays. */
void		 egress_result_clear(struct egress_result *);

/* "timeout", "policy", ...: a short name for logs and tests. */
const char	*egress_error_name(enum egress_error);

/*
 * Read a CA bundle into memory (PEM, at least one certificate) for
 * ec_ca.  0 and *bufp malloc'd, or -1 with err filled.
 */
int		 egress_ca_load(const char *path, void **bufp, size_t *lenp,
		    char *err, size_t errlen);

#endif
