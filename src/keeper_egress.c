/*
 * keeper_egress.c — upstream HTTP calls: libcurl multi on the keeper's
 * libevent base, and the egress policy (SPEC §7).
 *
 * Where the policy is enforced, and why there:
 *  - The scheme and a literal host are judged before libcurl sees the
 *    call: https only unless allow_http, never "localhost", never a
 *    literal address netpolicy refuses.  libcurl is also told to speak
 *    nothing else (CURLOPT_PROTOCOLS_STR), as a second guard.
 *  - Names are resolved by libcurl, and every address it is about to
 *    connect to passes through egress_opensocket_cb, which opens the
 *    socket only for an address netpolicy allows.  The address checked is
 *    the address connected to: no second lookup happens in between, so a
 *    name that answers differently the next time (DNS rebinding) gains
 *    nothing.  When a name has several addresses, refused ones are
 *    skipped and the first allowed one is used, as smokescreen does.
 *    resolve pins (CURLOPT_RESOLVE) are addresses like any other here.
 *  - Before the request is written on a connection, new or reused,
 *    egress_prereq_cb checks the peer address once more.
 *  - Redirects are never followed: a 3xx is a response like any other.
 *  - Each configuration generation has its own multi handle, hence its own
 *    connection cache and DNS cache: a connection made under an old CA
 *    bundle, allow list or pin is never reused after a change, while the
 *    calls that started under it finish there.  Its CA bundle is parsed
 *    once into an X509_STORE that every TLS connection of the generation
 *    trusts, and only it (egress_sslctx_cb).
 *  - No proxy (CURLOPT_PROXY "" makes libcurl ignore http_proxy and the
 *    like), no .netrc, no cookie engine, no HSTS or alt-svc cache, no
 *    Expect: 100-continue.
 *  - SSLKEYLOGFILE: libcurl's OpenSSL backend reads it once, in
 *    curl_global_init, and from then on appends every TLS session's keys
 *    to that file.  The keeper's environment is emptied by proc.c before
 *    exec, and egress_init removes the variable anyway before it
 *    initialises libcurl, so the file is never opened.
 *
 * Who speaks HTTP.  libcurl's HTTP layer cost about 100,000 instructions
 * a call, most of the keeper's CPU time per proxied request.  So for a
 * call without a client certificate (egress_direct_*), libcurl only
 * connects: a CONNECT_ONLY transfer resolves, passes the policy checks
 * below and does TLS with the generation's store, and stays in the multi
 * handle for as long as the connection lives.  The keeper then writes the
 * request (one buffer) and reads the answer (keeper_h1.c, under the same
 * limits) through curl_easy_send and curl_easy_recv (a plain http one
 * through send and recv on its socket).  These connections
 * are the keeper's to reuse (g_conns, by origin in g_bykey): the one an
 * origin used last first, egress.idle_connections of them, none past
 * EGRESS_CONN_LIFETIME or idle past EGRESS_CONN_IDLE (a timer closes
 * those, called or not: egress_connsweep_cb); one that stirs while
 * idle, or whose answer had bytes after it, is closed; a reused one that
 * dies before any byte of the answer came carries the request again on a
 * new connection, once, as libcurl does.  libcurl still holds each one in
 * its connection cache, where it looks idle since it was made; it prunes
 * that cache whenever it connects, by the connecting handle's ages, so
 * these handles set no age, calls libcurl speaks HTTP for connect
 * through another multi handle (another cache: g_mhttp), and
 * keeper_poll.c tells libcurl the socket has nothing to read (a pending
 * answer would count as a dead connection).  Should libcurl close one
 * anyway, egress_closesocket_cb cuts it off from its number and
 * egress_lost_cb ends it from the loop.  Such a connection's handle holds
 * only scheme, host and port; the request buffer is wiped when the call
 * ends, the receive buffer after each read, zlib's window when freed.
 * Calls with a client certificate (libcurl keys connection reuse by it),
 * and every call of a generation with ec_curl_http (tests run both ways),
 * go through libcurl's HTTP as described next.
 *
 * Secret-derived bytes (header values, bodies) are copied into buffers
 * wiped when the call ends.  libcurl copies them again (its header list,
 * the request it assembles, the URL): egress_init gives libcurl an
 * allocator that wipes every block it frees.  When a call ends, before
 * the result is handed on, its easy handle gives back the call's pointers
 * and frees (so wipes) the URL string libcurl made of it; a handle that
 * copied a client certificate and key is curl_easy_reset instead, which
 * frees every copy its options made.  The request itself, a body under
 * 64 KiB with it, was assembled in a buffer freed once written.  The
 * handle then waits in its generation's pool for the next call (making
 * and destroying one for each call was a sixth of libcurl's work), with
 * the generation's options, set once (egress_setopts_gen).  What
 * a pooled handle still holds is libcurl's view of its last call: the
 * URL's parsed pieces (a query's secret among them), freed when the next
 * call on it parses its URL, and its receive buffers (the upstream's last
 * bytes, before redaction), overwritten by the next answer.  A body of
 * 64 KiB or more is streamed through an upload buffer the handle would
 * keep as well: such a call's handle is cleaned up, never kept.  A handle
 * idle for EGRESS_IDLE_MS is cleaned up, which wipes all of it: those
 * copies last at most that long after their request, inside the keeper,
 * which holds the secrets themselves anyway; an upstream's bytes last as
 * long in OpenSSL's read buffer of the connection kept for reuse.
 * OpenSSL's write buffers are not covered: it encrypts in place, so a
 * request's plaintext does not outlive the write.
 *
 * HTTP/1.1 only: a single parser in the process that holds secrets, and
 * connection reuse works as it does for nginx's upstream keepalive.
 * Responses are decoded (gzip, deflate) so that redaction sees the bytes
 * an upstream echoed; the body cap applies to the decoded bytes.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "decimal.h"
#include "fnv.h"
#include "keeper_egress.h"
#include "keeper_h1.h"
#include "keeper_poll.h"
#include "keeper_redact.h"
#include "keeper_secret.h"
#include "netpolicy.h"
#include "spare.h"
#include "token.h"

#define EGRESS_MAX_HEADERS	100	/* response header lines, default */
#define EGRESS_HEADER_BYTES	65536	/* response header bytes, default */
#define EGRESS_MAXCONNECTS	1024	/* idle connections per generation,
					   unless egress.idle_connections */
#define EGRESS_MAXBUSY		8192	/* and busy: libcurl caches both */
#define EGRESS_CONN_LIFETIME	300	/* seconds a connection is reused */
#define EGRESS_EVICT_MS		2000	/* idle this long, it makes room */
#define EGRESS_CA_MAX		(16 * 1024 * 1024)
#define EGRESS_URL_MAX		(64 * 1024)
#define EGRESS_BODY_CHUNK	16384
#define EGRESS_IDLE_HANDLES	32	/* easy handles kept per generation */
#define EGRESS_IDLE_MS		1000	/* and for this long at most */
#define EGRESS_POOL_BODY	(64 * 1024) /* libcurl's MAX_INITIAL_POST_SIZE */
#define EGRESS_CONN_IDLE	118	/* seconds a connection waits unused,
					   as libcurl's CURLOPT_MAXAGE_CONN */
/*
 * One recv's worth of an answer on a connection of the keeper's own: the
 * most loopback delivers at once (64 KiB segments), so that a large answer
 * costs a system call per 64 KiB, not per 16 (S1L: 104 calls per 1 MiB
 * answer).  On the stack, wiped as far as it was written.
 */
#define EGRESS_RECV_BUF		(64 * 1024)

struct egress_call;
struct egress_conn;

/*
 * A socket libcurl uses, by fd.  An upstream connection's read event stays
 * registered while the connection waits in the cache for its next call
 * (libcurl says CURL_POLL_REMOVE between two calls on it): taking it out of
 * epoll and putting it back would cost two system calls a call.  It goes
 * when it fires while libcurl is not watching (the upstream closed, or
 * spoke out of turn: libcurl finds out when it next picks the connection),
 * when libcurl closes the socket (egress_closesocket_cb), and when a new
 * socket gets the same number (egress_opensocket_cb).  Other sockets
 * (the resolver's) and write interest are taken out at once.  While a
 * connection's read event is in epoll, libcurl's zero-timeout polls of it
 * are answered without a system call (keeper_poll.c).
 */
struct egress_sock {
	struct event		*s_ev;
	short			 s_reg;		/* events registered now */
	short			 s_want;	/* what libcurl watches; 0: none */
	int			 s_conn;	/* made by egress_opensocket_cb */
	struct egress_conn	*s_dconn;	/* the keeper speaks on it */
	struct egress_multi	*s_multi;	/* whose, while s_want */
};

/*
 * A connection the keeper speaks HTTP/1.1 on itself (keeper_h1.c).
 * libcurl made it, with the generation's policy, pins and TLS, as a
 * CONNECT_ONLY transfer that stays in the multi handle for as long as the
 * connection lives (taking it out closes it); the keeper then writes and
 * reads through curl_easy_send and curl_easy_recv, so TLS stays
 * libcurl's.  Its URL is only scheme, host and port: nothing of a call's
 * path, query or headers is in the handle.  A plain http connection
 * (n_plain) has no TLS for libcurl to keep, and libcurl keeps no bytes of
 * one: the keeper sends and receives on its socket itself
 * (egress_conn_send, egress_conn_recv), which spares libcurl's lookup of
 * the connection on every call (a twentieth of the keeper's time).
 */
struct egress_conn {
	struct egress_gen	*n_gen;
	TAILQ_ENTRY(egress_conn) n_entry;	/* g_conns */
	CURL			*n_easy;
	curl_socket_t		 n_fd;		/* -1 while connecting */
	char			*n_key;		/* "scheme://host:port/" */
	size_t			 n_keylen;
	uint64_t		 n_hash;	/* of n_key */
	TAILQ_ENTRY(egress_conn) n_keyq;	/* g_bykey, while idle */
	struct egress_call	*n_call;	/* NULL: idle */
	int64_t			 n_born;	/* ms, CLOCK_MONOTONIC */
	int64_t			 n_since;	/* idle since, ms */
	int			 n_used;	/* carried a call before */
	int			 n_idle;	/* counted in g_nconnidle */
	int			 n_plain;	/* http: the keeper's own send/recv */
	int			 n_lost;	/* libcurl closed it (n_fd -1) */
	char			 n_ip[48];
	int			 n_port;
	char			 n_errbuf[CURL_ERROR_SIZE];
};

/* An easy handle between two calls, reset, since when. */
struct egress_idle {
	CURL			*i_easy;
	int64_t			 i_since;	/* ms, CLOCK_MONOTONIC */
};

TAILQ_HEAD(egress_connq, egress_conn);

/* A multi handle, its connection cache and its one timer. */
struct egress_multi {
	struct egress_gen	*m_gen;
	CURLM			*m_multi;
	struct event		*m_timer;
};

/* One configuration generation: its rules, connections and DNS cache. */
struct egress_gen {
	struct egress		*g_eg;
	/*
	 * Two multi handles, so two connection caches.  When libcurl
	 * connects, it prunes its cache by the connecting handle's ages,
	 * and the keeper's own connections (g_mconn) look idle there since
	 * they were made: a call libcurl speaks HTTP for (g_mhttp, a client
	 * certificate's) keeps the usual ages and never sees them.
	 */
	struct egress_multi	 g_mconn;
	struct egress_multi	 g_mhttp;
	CURLSH			*g_share;	/* TLS sessions across calls */
	X509_STORE		*g_store;	/* g_ca parsed, for every TLS
						   connection (egress_sslctx_cb) */
	struct event		*g_sweep;	/* cleans up idle handles */
	struct egress_idle	 g_idle[EGRESS_IDLE_HANDLES]; /* oldest first */
	size_t			 g_nidle;
	struct egress_sock	*g_socks;	/* by fd */
	size_t			 g_nsocks;
	struct netpolicy	 g_policy;
	/*
	 * The last host name g_policy allowed (egress_host_allowed): the
	 * judgement of a name depends on the policy and the name alone.
	 */
	char			 g_okhost[256];
	size_t			 g_okhostlen;	/* 0: none yet */
	struct curl_blob	 g_ca;		/* what g_store was made of */
	struct curl_slist	*g_resolve;
	const char		*g_protocols;
	int			 g_timeout_ms;
	size_t			 g_max_body;
	size_t			 g_max_headers;
	size_t			 g_header_bytes;
	TAILQ_HEAD(, egress_call) g_calls;
	struct egress_connq	 g_conns;	/* the keeper's own, idle:
						   warmest first */
	struct egress_connq	 g_busyconns;	/* and carrying a call */
	size_t			 g_nconnidle;	/* in g_conns */
	size_t			 g_maxidle;	/* at most */
	int64_t			 g_evict_ms;	/* EGRESS_EVICT_MS */
	int64_t			 g_connidle_ms;	/* EGRESS_CONN_IDLE, in ms */
	long			 g_http_idle_s;	/* and g_mhttp's, in s */
	long			 g_conn_maxage_s; /* g_mconn's: INT_MAX
						   but in tests */
	struct event		*g_connsweep;	/* closes those idle past it */
	struct event		*g_lost;	/* ends what libcurl closed */
	/*
	 * The idle ones again, by a hash of their key, warmest first: a
	 * keeper calling a thousand origins finds its connection without
	 * a walk over the others (each a cache miss after a switch).
	 */
	struct egress_connq	*g_bykey;
	size_t			 g_bykeymask;	/* buckets - 1 */
	int			 g_curl_http;	/* libcurl speaks HTTP itself */
	int			 g_busy;	/* inside a libcurl dispatch */
	int			 g_retired;	/* no longer the current one */
	TAILQ_ENTRY(egress_gen)	 g_entry;
};

struct egress {
	struct event_base	*e_base;
	struct egress_gen	*e_gen;		/* the one new calls use */
	TAILQ_HEAD(, egress_gen) e_old;		/* draining */
	size_t			 e_pending;
};

struct egress_call {
	struct egress_gen	*c_gen;
	TAILQ_ENTRY(egress_call) c_entry;
	egress_done_fn		 c_done;
	void			*c_arg;
	CURL			*c_easy;	/* NULL: refused early */
	CURLU			*c_url;
	struct curl_slist	*c_headers;
	char			*c_body;	/* the request body, wiped;
						   egress_nobody if empty */
	size_t			 c_bodylen;
	struct event		*c_fail_ev;	/* delivers an early refusal
						   (made only then) */
	struct egress_result	 c_res;
	size_t			 c_bodycap;
	size_t			 c_hcap;
	size_t			 c_max_body;
	size_t			 c_max_headers;
	size_t			 c_header_bytes;
	size_t			 c_nlines;
	size_t			 c_hbytes;
	int			 c_timeout_ms;
	int			 c_want_status;	/* a status line comes next */
	int			 c_in_body;	/* header lines are trailers */
	int			 c_finished;	/* libcurl said CURLMSG_DONE */
	int			 c_reset;	/* its handle holds copies of
						   secrets (a client key) */
	/* The keeper's own HTTP/1.1 (c_direct), on c_conn. */
	int			 c_direct;
	int			 c_https;	/* the URL's scheme */
	int			 c_port;	/* read by egress_url_fast */
	int			 c_head;	/* the method is HEAD */
	size_t			 c_hostlen;	/* of c_res.er_host */
	const char		*c_target;	/* path and query, in the
						   request's URL: only while
						   egress_start runs */
	size_t			 c_targetlen;
	struct egress_conn	*c_conn;
	char			*c_req;		/* the request, wiped */
	size_t			 c_reqlen;
	size_t			 c_reqcap;	/* its block's size */
	size_t			 c_reqoff;	/* bytes of it sent */
	size_t			 c_got;		/* answer bytes received */
	int			 c_retried;
	struct h1_reader	*c_rd;
	struct event		*c_window;	/* the call's deadline:
						   &c_window_ev, or NULL */
	struct event		 c_window_ev;
	int64_t			 c_t0;		/* us, CLOCK_MONOTONIC */
	int64_t			 c_ttfb;
	enum egress_error	 c_abort;	/* why a callback stopped it */
	char			 c_refused[128];/* the first address refused */
	char			 c_errbuf[CURL_ERROR_SIZE];
};

static void	 egress_gen_free(struct egress_gen *);
static void	 egress_conn_close(struct egress_conn *);
static void	 egress_direct_connected(struct egress_call *, CURLcode);
static int	 egress_setopts_gen(struct egress_gen *, CURL *);
static int	 egress_setopts_unset(CURL *);

/* The body of a call without one (libcurl is given "", never NULL). */
static char	 egress_nobody[1];

/* Calls' structures, wiped, for the next ones (spare.h): over 1 KiB each. */
static struct spare	 egress_spare;

static unsigned int	 egress_curl_version;	/* libcurl's, at run time */

const char *
egress_error_name(enum egress_error e)
{
	switch (e) {
	case EGRESS_OK:		return "ok";
	case EGRESS_ETIMEOUT:	return "timeout";
	case EGRESS_EPOLICY:	return "policy";
	case EGRESS_EDNS:	return "dns";
	case EGRESS_ECONNECT:	return "connect";
	case EGRESS_ETLS:	return "tls";
	case EGRESS_ETOOBIG:	return "too_big";
	case EGRESS_EPROTO:	return "protocol";
	case EGRESS_EREQUEST:	return "request";
	case EGRESS_EINTERNAL:	return "internal";
	}
	return "unknown";
}

/* --- libcurl's allocator: every freed block is wiped ------------------- */

static void
egress_mem_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* Never realloc(3): a moved block would leave its old bytes behind. */
static void *
egress_mem_realloc(void *p, size_t n)
{
	size_t	 old;
	void	*q;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		egress_mem_free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	egress_mem_free(p);
	return q;
}

int
egress_init(char *err, size_t errlen)
{
	/* What libcurl and OpenSSL would read to route or log traffic. */
	static const char *const vars[] = {
		"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
		"all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
		"SSLKEYLOGFILE", "CURL_HOME", "CURL_SSL_BACKEND",
		"SSL_CERT_FILE", "SSL_CERT_DIR",
	};
	const curl_version_info_data	*vi;
	struct addrinfo			 hints, *ai = NULL;
	size_t				 i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	/*
	 * Must come before any other libcurl call in the process: once
	 * libcurl is initialised, it keeps the allocator it had.
	 */
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, egress_mem_free,
	    egress_mem_realloc, strdup, calloc) != CURLE_OK) {
		snprintf(err, errlen, "libcurl initialisation failed");
		return -1;
	}
	vi = curl_version_info(CURLVERSION_NOW);
	/* PROTOCOLS_STR (7.85), PREREQFUNCTION (7.80), CAINFO_BLOB. */
	if (vi->version_num < 0x075500 ||
	    (vi->features & CURL_VERSION_SSL) == 0 ||
	    (vi->features & CURL_VERSION_ASYNCHDNS) == 0 ||
	    vi->ssl_version == NULL ||
	    strncmp(vi->ssl_version, "OpenSSL", 7) != 0) {
		snprintf(err, errlen, "libcurl %s with %s: need 7.85 or later "
		    "with OpenSSL and an asynchronous resolver", vi->version,
		    vi->ssl_version ? vi->ssl_version : "no TLS");
		return -1;
	}
	egress_curl_version = vi->version_num;
	/*
	 * Warm up what is loaded on first use, while files can still be
	 * opened and code mapped: the resolver's NSS modules (nsswitch.conf
	 * may name some that are shared objects), the time zone.
	 */
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	tzset();
	if (getaddrinfo("localhost", "443", &hints, &ai) == 0)
		freeaddrinfo(ai);
	return 0;
}

/* --- configuration generations ---------------------------------------- */

/*
 * The certificates (and CRLs) of a PEM bundle in a store of their own, read
 * as libcurl reads CURLOPT_CAINFO_BLOB; NULL if it holds none.
 */
static X509_STORE *
egress_ca_store(const void *buf, size_t len)
{
	STACK_OF(X509_INFO)	*inf = NULL;
	X509_INFO		*it;
	X509_STORE		*st = NULL;
	BIO			*bio = NULL;
	int			 i, n = 0;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (inf = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL ||
	    (st = X509_STORE_new()) == NULL)
		goto fail;
	for (i = 0; i < sk_X509_INFO_num(inf); i++) {
		it = sk_X509_INFO_value(inf, i);
		if (it->x509 != NULL) {
			if (X509_STORE_add_cert(st, it->x509) != 1)
				goto fail;
			n++;
		}
		if (it->crl != NULL && X509_STORE_add_crl(st, it->crl) != 1)
			goto fail;
	}
	if (n == 0)
		goto fail;
	sk_X509_INFO_pop_free(inf, X509_INFO_free);
	BIO_free(bio);
	return st;
fail:
	ERR_clear_error();
	X509_STORE_free(st);
	if (inf != NULL)
		sk_X509_INFO_pop_free(inf, X509_INFO_free);
	BIO_free(bio);
	return NULL;
}

int
egress_ca_load(const char *path, void **bufp, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 st;
	X509_STORE	*store;
	char		*buf = NULL;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd, rc = -1;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > EGRESS_CA_MAX) {
		snprintf(err, errlen, "%s: not a CA bundle (a regular file of "
		    "at most %d MiB)", path, EGRESS_CA_MAX >> 20);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", path, n == 0 ?
			    "file shrank while read" : strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	/* Read as the keeper will (egress_gen_new): refused here, not there. */
	if ((store = egress_ca_store(buf, off)) == NULL) {
		snprintf(err, errlen, "%s: no PEM certificate in it, or one "
		    "that cannot be read", path);
		goto out;
	}
	X509_STORE_free(store);
	*bufp = buf;
	*lenp = off;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static void
egress_event_cb(evutil_socket_t, short, void *);
static void
egress_timer_event_cb(evutil_socket_t, short, void *);
static void
egress_sweep_cb(evutil_socket_t, short, void *);
static void	 egress_connsweep_cb(evutil_socket_t, short, void *);
static void	 egress_lost_cb(evutil_socket_t, short, void *);
static void	 egress_direct_end(struct egress_call *, int, int64_t);
static void	 egress_arm_ms(struct event *, int64_t);
static void
egress_conn_event(struct egress_conn *, short);

/* The entry of fd, made (and the table grown) if need be; NULL: no memory. */
static struct egress_sock *
egress_sock_get(struct egress_gen *g, curl_socket_t fd)
{
	struct egress_sock	*ns;
	size_t			 n;

	if (fd < 0)
		return NULL;
	if ((size_t)fd >= g->g_nsocks) {
		n = (size_t)fd < 32 ? 64 : (size_t)fd * 2;
		if ((ns = reallocarray(g->g_socks, n, sizeof(*ns))) == NULL)
			return NULL;
		memset(ns + g->g_nsocks, 0, (n - g->g_nsocks) * sizeof(*ns));
		g->g_socks = ns;
		g->g_nsocks = n;
	}
	return &g->g_socks[fd];
}

/* Out of epoll (and of libevent's books, which the kernel's may not match). */
static void
egress_sock_unwatch(struct egress_sock *so)
{
	if (so->s_reg != 0) {
		/* An owned socket stays quiet to libcurl until it is closed. */
		if (so->s_dconn == NULL)
			keeper_poll_quiet(event_get_fd(so->s_ev), 0);
		event_del(so->s_ev);
	}
	so->s_reg = 0;
}

/* libcurl tells which sockets to watch: one persistent event each. */
static int
egress_socket_cb(CURL *easy, curl_socket_t s, int what, void *arg,
    void *sockp)
{
	struct egress_multi	*m = arg;
	struct egress_gen	*g = m->m_gen;
	struct egress_sock	*so;
	short			 flags = 0;

	/* A connection the keeper speaks on: its events are the keeper's. */
	if (s >= 0 && (size_t)s < g->g_nsocks && g->g_socks[s].s_dconn != NULL)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (s < 0 || (size_t)s >= g->g_nsocks)
			return 0;
		so = &g->g_socks[s];
		so->s_want = 0;
		/* Only a connection's read interest waits for its next call. */
		if (!so->s_conn || (so->s_reg & EV_WRITE))
			egress_sock_unwatch(so);
		return 0;
	}
	if ((so = egress_sock_get(g, s)) == NULL)
		return -1;
	so->s_multi = m;
	if (what & CURL_POLL_IN)
		flags |= EV_READ;
	if (what & CURL_POLL_OUT)
		flags |= EV_WRITE;
	so->s_want = flags;
	if (so->s_reg == flags)
		return 0;
	egress_sock_unwatch(so);
	if (so->s_ev == NULL && (so->s_ev = event_new(g->g_eg->e_base, s,
	    flags | EV_PERSIST, egress_event_cb, g)) == NULL)
		return -1;
	event_assign(so->s_ev, g->g_eg->e_base, s, flags | EV_PERSIST,
	    egress_event_cb, g);
	if (event_add(so->s_ev, NULL) == -1)
		return -1;
	so->s_reg = flags;
	/* Readable only if the loop says so (no memory: ask the kernel). */
	if (so->s_conn && (flags & EV_READ))
		keeper_poll_quiet(s, 1);
	return 0;
}

/*
 * libcurl closes a socket it opened through egress_opensocket_cb: its
 * event goes first.  arg is the generation (a connection outlives the
 * call that made it).
 */
static int
egress_closesocket_cb(void *arg, curl_socket_t s)
{
	struct egress_gen	*g = arg;
	struct egress_conn	*n;

	/* One connection died or was dropped: others may have too. */
	keeper_poll_trust(0);
	keeper_poll_quiet(s, 0);
	if (s >= 0 && (size_t)s < g->g_nsocks) {
		/*
		 * One of the keeper's own, closed by libcurl's cache (which
		 * sees it idle): never used again, not even its number, and
		 * ended from the loop (egress_lost_cb), not from inside
		 * libcurl.  What keeper_poll.c and egress_conn_new set should
		 * leave libcurl no reason to.
		 */
		if ((n = g->g_socks[s].s_dconn) != NULL) {
			n->n_fd = -1;
			n->n_lost = 1;
			event_active(g->g_lost, EV_TIMEOUT, 0);
		}
		egress_sock_unwatch(&g->g_socks[s]);
		g->g_socks[s].s_want = 0;
		g->g_socks[s].s_conn = 0;
		g->g_socks[s].s_dconn = NULL;
	}
	return close(s);
}

/* libcurl's one timer: -1 stops it, 0 means as soon as possible. */
static int
egress_timer_cb(CURLM *multi, long ms, void *arg)
{
	struct egress_multi	*m = arg;
	struct timeval		 tv;

	if (ms < 0)
		return evtimer_del(m->m_timer) == 0 ? 0 : -1;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(m->m_timer, &tv) == 0 ? 0 : -1;
}

/*
 * How many connections g keeps between calls, and its buckets of them by
 * key: about one per connection kept, so that chains stay short.  On a
 * reload that changes only limits the connections stay, rehashed into
 * buckets of the new size (each chain keeps its warmest first).
 */
static int
egress_idle_limit(struct egress_gen *g, const struct egress_conf *conf)
{
	struct egress_connq	*q;
	struct egress_conn	*n;
	size_t			 nb, i;
	int64_t			 idle_ms;

	g->g_maxidle = conf->ec_idle_conns ? conf->ec_idle_conns :
	    EGRESS_MAXCONNECTS;
	g->g_evict_ms = conf->ec_evict_ms > 0 ? conf->ec_evict_ms :
	    EGRESS_EVICT_MS;
	idle_ms = conf->ec_connidle_ms > 0 ? conf->ec_connidle_ms :
	    EGRESS_CONN_IDLE * 1000;
	/* Changed by a reload: the sweep reckons again at once. */
	if (idle_ms != g->g_connidle_ms && g->g_nconnidle > 0)
		egress_arm_ms(g->g_connsweep, 0);
	g->g_connidle_ms = idle_ms;
	g->g_http_idle_s = conf->ec_http_idle_s > 0 ? conf->ec_http_idle_s :
	    EGRESS_CONN_IDLE;
	g->g_conn_maxage_s = conf->ec_conn_maxage_s > 0 ?
	    conf->ec_conn_maxage_s : INT_MAX;
	for (nb = 16; nb < g->g_maxidle && nb < 65536; nb *= 2)
		;
	if (g->g_bykey != NULL && nb == g->g_bykeymask + 1)
		return 0;
	if ((q = calloc(nb, sizeof(*q))) == NULL)
		return -1;
	for (i = 0; i < nb; i++)
		TAILQ_INIT(&q[i]);
	TAILQ_FOREACH(n, &g->g_conns, n_entry)
		TAILQ_INSERT_TAIL(&q[n->n_hash & (nb - 1)], n, n_keyq);
	free(g->g_bykey);
	g->g_bykey = q;
	g->g_bykeymask = nb - 1;
	return 0;
}

static int
egress_policy_copy(struct netpolicy *dst, const struct netpolicy *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src == NULL)
		return 0;
	dst->np_allow_http = src->np_allow_http;
	if (src->np_nallow == 0)
		return 0;
	dst->np_allow = calloc(src->np_nallow, sizeof(*dst->np_allow));
	if (dst->np_allow == NULL)
		return -1;
	memcpy(dst->np_allow, src->np_allow,
	    src->np_nallow * sizeof(*dst->np_allow));
	dst->np_nallow = src->np_nallow;
	return 0;
}

static int
egress_multi_init(struct egress_multi *m, struct egress_gen *g)
{
	m->m_gen = g;
	if ((m->m_timer = evtimer_new(g->g_eg->e_base, egress_timer_event_cb,
	    m)) == NULL || (m->m_multi = curl_multi_init()) == NULL)
		return -1;
	if (curl_multi_setopt(m->m_multi, CURLMOPT_SOCKETFUNCTION,
	    egress_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(m->m_multi, CURLMOPT_SOCKETDATA, m) != CURLM_OK ||
	    curl_multi_setopt(m->m_multi, CURLMOPT_TIMERFUNCTION,
	    egress_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(m->m_multi, CURLMOPT_TIMERDATA, m) != CURLM_OK ||
	    curl_multi_setopt(m->m_multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_NOTHING) != CURLM_OK)
		return -1;
	return 0;
}

/*
 * How many connections each cache holds.  The keeper's own are all in
 * g_mconn, busy ones too, and the pool keeps its limit itself: libcurl
 * must never close one to make room.  libcurl keeps as many of its own
 * idle as the keeper would.
 */
static int
egress_multi_setopts(struct egress_gen *g)
{
	if (curl_multi_setopt(g->g_mconn.m_multi, CURLMOPT_MAXCONNECTS,
	    (long)(g->g_maxidle + EGRESS_MAXBUSY)) != CURLM_OK ||
	    curl_multi_setopt(g->g_mhttp.m_multi, CURLMOPT_MAXCONNECTS,
	    (long)g->g_maxidle) != CURLM_OK)
		return -1;
	return 0;
}

/* Closes the cached connections, through egress_closesocket_cb. */
static void
egress_multi_free(struct egress_multi *m)
{
	if (m->m_multi != NULL)
		curl_multi_cleanup(m->m_multi);
	m->m_multi = NULL;
	if (m->m_timer != NULL)
		event_free(m->m_timer);
	m->m_timer = NULL;
}

static struct egress_gen *
egress_gen_new(struct egress *e, const struct egress_conf *conf, char *err,
    size_t errlen)
{
	struct egress_gen	*g;
	struct curl_slist	*l;
	size_t			 i;

	if (conf->ec_timeout_ms < 1 || conf->ec_max_body < 1) {
		snprintf(err, errlen, "timeout and body limit must be "
		    "positive");
		return NULL;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto nomem;
	g->g_eg = e;
	if (conf->ec_ca == NULL || conf->ec_calen == 0 ||
	    (g->g_store = egress_ca_store(conf->ec_ca,
	    conf->ec_calen)) == NULL) {
		snprintf(err, errlen, "the CA bundle holds no PEM certificate");
		egress_gen_free(g);
		return NULL;
	}
	TAILQ_INIT(&g->g_calls);
	TAILQ_INIT(&g->g_conns);
	TAILQ_INIT(&g->g_busyconns);
	if (egress_idle_limit(g, conf) == -1)
		goto nomem;
	g->g_curl_http = conf->ec_curl_http;
	if (egress_policy_copy(&g->g_policy, conf->ec_policy) == -1)
		goto nomem;
	g->g_protocols = g->g_policy.np_allow_http ? "http,https" : "https";
	if ((g->g_ca.data = malloc(conf->ec_calen)) == NULL)
		goto nomem;
	memcpy(g->g_ca.data, conf->ec_ca, conf->ec_calen);
	g->g_ca.len = conf->ec_calen;
	for (i = 0; i < conf->ec_nresolve; i++) {
		if ((l = curl_slist_append(g->g_resolve,
		    conf->ec_resolve[i])) == NULL)
			goto nomem;
		g->g_resolve = l;
	}
	g->g_timeout_ms = conf->ec_timeout_ms;
	g->g_max_body = conf->ec_max_body;
	g->g_max_headers = conf->ec_max_headers ? conf->ec_max_headers :
	    EGRESS_MAX_HEADERS;
	g->g_header_bytes = conf->ec_header_bytes ? conf->ec_header_bytes :
	    EGRESS_HEADER_BYTES;
	if ((g->g_sweep = evtimer_new(e->e_base, egress_sweep_cb, g)) == NULL ||
	    (g->g_lost = evtimer_new(e->e_base, egress_lost_cb, g)) == NULL ||
	    (g->g_connsweep = evtimer_new(e->e_base, egress_connsweep_cb,
	    g)) == NULL ||
	    egress_multi_init(&g->g_mconn, g) == -1 ||
	    egress_multi_init(&g->g_mhttp, g) == -1 ||
	    (g->g_share = curl_share_init()) == NULL)
		goto nomem;
	if (egress_multi_setopts(g) == -1 ||
	    curl_share_setopt(g->g_share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		snprintf(err, errlen, "libcurl refused a multi option");
		egress_gen_free(g);
		return NULL;
	}
	return g;
nomem:
	snprintf(err, errlen, "out of memory");
	egress_gen_free(g);
	return NULL;
}

/* Same CA bundle, policy and pins: the same connections may serve. */
static int
egress_gen_same_net(const struct egress_gen *g, const struct egress_conf *c)
{
	const struct netpolicy	*np = c->ec_policy;
	const struct curl_slist	*l;
	size_t			 i, nallow = np ? np->np_nallow : 0;

	if (g->g_ca.len != c->ec_calen ||
	    memcmp(g->g_ca.data, c->ec_ca, c->ec_calen) != 0)
		return 0;
	if (g->g_policy.np_allow_http != (np ? np->np_allow_http : 0) ||
	    g->g_policy.np_nallow != nallow)
		return 0;
	for (i = 0; i < nallow; i++)
		if (g->g_policy.np_allow[i].n_family !=
		    np->np_allow[i].n_family ||
		    g->g_policy.np_allow[i].n_prefix !=
		    np->np_allow[i].n_prefix ||
		    memcmp(g->g_policy.np_allow[i].n_addr,
		    np->np_allow[i].n_addr, 16) != 0)
			return 0;
	for (i = 0, l = g->g_resolve; i < c->ec_nresolve; i++, l = l->next)
		if (l == NULL || strcmp(l->data, c->ec_resolve[i]) != 0)
			return 0;
	return l == NULL;
}

/* --- easy handles between calls ---------------------------------------- */

static int64_t
egress_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
egress_now_ms(void)
{
	return egress_now_us() / 1000;
}

static void
egress_arm_ms(struct event *ev, int64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* Handles idle for EGRESS_IDLE_MS (all with all), cleaned up: wiped. */
static void
egress_idle_drop(struct egress_gen *g, int all)
{
	int64_t	 now = egress_now_ms(), age = 0;
	size_t	 n = 0;

	while (n < g->g_nidle) {
		age = now - g->g_idle[n].i_since;
		if (!all && age < EGRESS_IDLE_MS)
			break;
		curl_easy_cleanup(g->g_idle[n].i_easy);
		n++;
	}
	memmove(g->g_idle, g->g_idle + n, (g->g_nidle - n) *
	    sizeof(g->g_idle[0]));
	g->g_nidle -= n;
	if (g->g_nidle > 0)
		egress_arm_ms(g->g_sweep, EGRESS_IDLE_MS - age);
	else if (g->g_sweep != NULL)
		evtimer_del(g->g_sweep);
}

static void
egress_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	egress_idle_drop(arg, 0);
}

/*
 * A finished call's handle (out of the multi), kept for the next call
 * while there is room and the generation is current: its call's pointers
 * taken back, or, if it copied a client certificate and key, reset (which
 * frees, so wipes, every copy its options made) and prepared again.
 */
static void
egress_handle_put(struct egress_gen *g, CURL *h, int reset)
{
	if (g->g_retired || g->g_nidle == EGRESS_IDLE_HANDLES) {
		curl_easy_cleanup(h);
		return;
	}
	if (reset) {
		curl_easy_reset(h);
		if (egress_setopts_gen(g, h) == -1) {
			curl_easy_cleanup(h);
			return;
		}
	} else if (egress_setopts_unset(h) == -1) {
		curl_easy_cleanup(h);
		return;
	}
	g->g_idle[g->g_nidle].i_easy = h;
	g->g_idle[g->g_nidle].i_since = egress_now_ms();
	if (g->g_nidle++ == 0)
		egress_arm_ms(g->g_sweep, EGRESS_IDLE_MS);
}

/*
 * The handle idle for the shortest time (its memory is warm), or a new one
 * with the generation's options.
 */
static CURL *
egress_handle_get(struct egress_gen *g)
{
	CURL	*h;

	if (g->g_nidle > 0)
		return g->g_idle[--g->g_nidle].i_easy;
	if ((h = curl_easy_init()) != NULL && egress_setopts_gen(g, h) == -1) {
		curl_easy_cleanup(h);
		h = NULL;
	}
	return h;
}

/* --- results ----------------------------------------------------------- */

void
egress_result_clear(struct egress_result *res)
{
	struct egress_header	*h;
	size_t			 i;

	if (res->er_headers != NULL) {
		for (i = 0; i < res->er_nheaders; i++) {
			h = &res->er_headers[i];
			if (h->eh_own & EH_OWN_NAME)
				keeper_secret_free(h->eh_name,
				    h->eh_namelen + 1);
			if (h->eh_own & EH_OWN_VALUE)
				keeper_secret_free(h->eh_value,
				    h->eh_valuelen + 1);
		}
		/* The h1 reader's fast path: the lines open its arena. */
		if ((char *)res->er_headers != res->er_arena)
			free(res->er_headers);
	}
	res->er_headers = NULL;
	res->er_nheaders = 0;
	h1_block_free(res->er_arena, res->er_arenalen, res->er_arenacap);
	res->er_arena = NULL;
	res->er_arenalen = 0;
	res->er_arenacap = 0;
	keeper_body_free(res->er_body, res->er_bodylen + 1);
	res->er_body = NULL;
	res->er_bodylen = 0;
}

static void
egress_fail(struct egress_call *c, enum egress_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
egress_fail(struct egress_call *c, enum egress_error e, const char *fmt, ...)
{
	va_list	 ap;

	c->c_res.er_error = e;
	va_start(ap, fmt);
	vsnprintf(c->c_res.er_msg, sizeof(c->c_res.er_msg), fmt, ap);
	va_end(ap);
}

int
egress_result_redact(struct egress_result *res, struct redact *r)
{
	struct egress_header	*h;
	size_t			 i;
	int			 n, total = 0;

	/*
	 * A string in the arena is left there when it is replaced (the
	 * arena is wiped whole when the result is cleared); its replacement
	 * is the header's own.
	 */
	for (i = 0; i < res->er_nheaders; i++) {
		h = &res->er_headers[i];
		if ((n = redact_apply_mode(r, &h->eh_name, &h->eh_namelen,
		    REDACT_SAMPLED | (h->eh_own & EH_OWN_NAME ? 0 :
		    REDACT_KEEP))) == -1)
			return -1;
		if (n > 0)
			h->eh_own |= EH_OWN_NAME;
		total += n;
		if ((n = redact_apply_mode(r, &h->eh_value, &h->eh_valuelen,
		    REDACT_SAMPLED | (h->eh_own & EH_OWN_VALUE ? 0 :
		    REDACT_KEEP))) == -1)
			return -1;
		if (n > 0)
			h->eh_own |= EH_OWN_VALUE;
		total += n;
	}
	if (res->er_body != NULL) {
		n = redact_apply(r, &res->er_body, &res->er_bodylen);
		if (n == -1)
			return -1;
		total += n;
	}
	return total;
}

/* --- libcurl callbacks for one call ----------------------------------- */

/* "a.b.c.d" or "[v6]" of a socket address, for messages. */
static void
egress_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET && inet_ntop(AF_INET,
	    &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a)) != NULL)
		snprintf(buf, len, "%s", a);
	else if (sa->sa_family == AF_INET6 && inet_ntop(AF_INET6,
	    &((const struct sockaddr_in6 *)sa)->sin6_addr, a,
	    sizeof(a)) != NULL)
		snprintf(buf, len, "[%s]", a);
	else
		snprintf(buf, len, "(address family %d)", sa->sa_family);
}

/*
 * Every connection starts here: the socket exists only for an address the
 * policy allows.  A refusal makes libcurl try the name's next address.
 */
static curl_socket_t
egress_opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct egress_call	*c = arg;
	struct egress_sock	*so;
	const char		*why;
	char			 addr[INET6_ADDRSTRLEN + 2];
	int			 fd;

	if (c == NULL)
		return CURL_SOCKET_BAD;	/* a connection's handle, after */
	if (purpose != CURLSOCKTYPE_IPCXN)
		why = "not an outbound connection";
	else if ((a->family == AF_INET &&
	    a->addrlen < sizeof(struct sockaddr_in)) ||
	    (a->family == AF_INET6 && a->addrlen < sizeof(struct sockaddr_in6)))
		why = "truncated address";
	else
		why = netpolicy_addr_why(&c->c_gen->g_policy, &a->addr);
	if (why != NULL) {
		if (c->c_refused[0] == '\0') {
			egress_addr_text(&a->addr, addr, sizeof(addr));
			snprintf(c->c_refused, sizeof(c->c_refused),
			    "destination %s refused: %s", addr, why);
		}
		return CURL_SOCKET_BAD;
	}
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == -1)
		return CURL_SOCKET_BAD;
	/* Whatever was registered under this number was another socket's. */
	if ((so = egress_sock_get(c->c_gen, fd)) == NULL) {
		close(fd);
		return CURL_SOCKET_BAD;
	}
	egress_sock_unwatch(so);
	keeper_poll_quiet(fd, 0);
	so->s_want = 0;
	so->s_conn = 1;
	return fd;
}

/*
 * The last check before request bytes (and the secret in them) leave:
 * the peer of the connection about to carry them, new or reused.
 */
static int
egress_prereq_cb(void *arg, char *primary_ip, char *local_ip,
    int primary_port, int local_port)
{
	struct egress_call	*c = arg;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr		*sa = NULL;
	const char		*why;

	if (c == NULL)
		return CURL_PREREQFUNC_ABORT;
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, primary_ip, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, primary_ip, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sa = (struct sockaddr *)&sin6;
	}
	if ((why = netpolicy_addr_why(&c->c_gen->g_policy, sa)) == NULL)
		return CURL_PREREQFUNC_OK;
	c->c_abort = EGRESS_EPOLICY;
	egress_fail(c, EGRESS_EPOLICY, "destination %.60s refused: %s",
	    primary_ip, why);
	return CURL_PREREQFUNC_ABORT;
}

static char *
egress_memdup(const char *p, size_t n)
{
	char	*q;

	if ((q = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

/*
 * A value holds HTAB, SP, visible ASCII and obs-text only: NUL, CR, LF and
 * the other controls make the answer malformed (RFC 9110 §5.5), as
 * http-parser rules on the keeper's own path, so that no value is cut at
 * a NUL on its way to the worker.
 */
static int
egress_value_ok(const char *p, size_t n)
{
	const unsigned char	*u = (const unsigned char *)p;
	size_t			 i;

	for (i = 0; i < n; i++)
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
			return 0;
	return 1;
}

/* An obs-fold line continues the previous value, joined by one space. */
static int
egress_header_fold(struct egress_call *c, const char *p, size_t n)
{
	struct egress_header	*h;
	char			*v;

	if (c->c_res.er_nheaders == 0 || !egress_value_ok(p, n))
		return -1;
	h = &c->c_res.er_headers[c->c_res.er_nheaders - 1];
	if ((v = malloc(h->eh_valuelen + 1 + n + 1)) == NULL)
		return -1;
	memcpy(v, h->eh_value, h->eh_valuelen);
	v[h->eh_valuelen] = ' ';
	memcpy(v + h->eh_valuelen + 1, p, n);
	v[h->eh_valuelen + 1 + n] = '\0';
	keeper_secret_free(h->eh_value, h->eh_valuelen + 1);
	h->eh_value = v;
	h->eh_valuelen += 1 + n;
	return 0;
}

static int
egress_header_add(struct egress_call *c, const char *line, size_t n)
{
	struct egress_result	*res = &c->c_res;
	struct egress_header	*h;
	const char		*colon, *v, *end = line + n;
	size_t			 i;

	if ((colon = memchr(line, ':', n)) == NULL || colon == line)
		return -1;
	for (i = 0; line + i < colon; i++)
		if (!tok_tchar((unsigned char)line[i]))
			return -1;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (!egress_value_ok(v, (size_t)(end - v)))
		return -1;
	if (res->er_nheaders == c->c_hcap) {
		c->c_hcap = c->c_hcap ? c->c_hcap * 2 : 16;
		if ((h = reallocarray(res->er_headers, c->c_hcap,
		    sizeof(*h))) == NULL)
			return -1;
		res->er_headers = h;
	}
	h = &res->er_headers[res->er_nheaders];
	h->eh_namelen = (size_t)(colon - line);
	h->eh_valuelen = (size_t)(end - v);
	if ((h->eh_name = egress_memdup(line, h->eh_namelen)) == NULL)
		return -1;
	if ((h->eh_value = egress_memdup(v, h->eh_valuelen)) == NULL) {
		free(h->eh_name);
		return -1;
	}
	h->eh_own = EH_OWN_NAME | EH_OWN_VALUE;
	res->er_nheaders++;
	return 0;
}

/*
 * Response header lines as libcurl passes them, status lines included.
 * After a 1xx response a new block starts: only the final one is kept.
 * Lines after the body started are trailers: counted, not kept.
 */
static size_t
egress_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct egress_call	*c = arg;
	size_t			 len = size * nitems, n = len;

	c->c_hbytes += len;
	if (c->c_hbytes > c->c_header_bytes) {
		egress_fail(c, EGRESS_EPROTO, "upstream sent more than %zu "
		    "bytes of headers", c->c_header_bytes);
		goto abort;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	/* Status lines and the empty line ending a block are not headers. */
	if (n > 0 && !c->c_want_status &&
	    ++c->c_nlines > c->c_max_headers) {
		egress_fail(c, EGRESS_EPROTO, "upstream sent more than %zu "
		    "header lines", c->c_max_headers);
		goto abort;
	}
	if (c->c_in_body)
		return len;
	if (n == 0) {
		c->c_want_status = 1;
		return len;
	}
	if (c->c_want_status) {
		/* A final response after a 1xx: its headers replace those. */
		c->c_want_status = 0;
		egress_result_clear(&c->c_res);
		c->c_hcap = 0;
		return len;
	}
	if (buf[0] == ' ' || buf[0] == '\t') {
		while (n > 0 && (buf[0] == ' ' || buf[0] == '\t')) {
			buf++;
			n--;
		}
		if (egress_header_fold(c, buf, n) == -1)
			goto bad;
		return len;
	}
	if (egress_header_add(c, buf, n) == -1)
		goto bad;
	return len;
bad:
	egress_fail(c, EGRESS_EPROTO, "upstream sent a malformed header line");
abort:
	c->c_abort = EGRESS_EPROTO;
	return 0;
}

/* Body bytes, decoded; past the limit the call fails (never truncates). */
static size_t
egress_write_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct egress_call	*c = arg;
	struct egress_result	*res = &c->c_res;
	curl_off_t		 cl = -1;
	size_t			 len = size * nitems, cap;
	char			*nb;

	c->c_in_body = 1;
	if (len > c->c_max_body - res->er_bodylen) {
		c->c_abort = EGRESS_ETOOBIG;
		egress_fail(c, EGRESS_ETOOBIG, "upstream body over %zu bytes",
		    c->c_max_body);
		return 0;
	}
	if (c->c_bodycap - res->er_bodylen <= len) {
		/* The first time, room for the announced length. */
		if (c->c_bodycap == 0 && curl_easy_getinfo(c->c_easy,
		    CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
		    cl > 0 && (curl_off_t)c->c_max_body >= cl)
			cap = (size_t)cl + 1;
		else
			cap = c->c_bodycap ? c->c_bodycap : EGRESS_BODY_CHUNK;
		while (cap - res->er_bodylen <= len)
			cap = cap > c->c_max_body / 2 ? c->c_max_body + 1 :
			    cap * 2;
		if ((nb = keeper_body_alloc(cap)) == NULL) {
			c->c_abort = EGRESS_EINTERNAL;
			egress_fail(c, EGRESS_EINTERNAL, "out of memory");
			return 0;
		}
		if (res->er_body != NULL)
			memcpy(nb, res->er_body, res->er_bodylen);
		keeper_body_free(res->er_body, res->er_bodylen + 1);
		res->er_body = nb;
		c->c_bodycap = cap;
	}
	memcpy(res->er_body + res->er_bodylen, buf, len);
	res->er_bodylen += len;
	res->er_body[res->er_bodylen] = '\0';
	return len;
}

/* --- starting, finishing, cancelling ------------------------------------ */

#define EGRESS_M_HEAD	5	/* egress_methods[5] */

static const struct {
	const char	*m_name;
	size_t		 m_len;		/* for the request line */
} egress_methods[] = {
	{ "GET", 3 }, { "POST", 4 }, { "PUT", 3 }, { "PATCH", 5 },
	{ "DELETE", 6 }, { "HEAD", 4 }, { "OPTIONS", 7 }
};

/* Fields whose lengths egress_start keeps for the request's writing. */
#define EGRESS_FLENS	16

/* Which of egress_methods m is, or -1: compared inline, no call. */
static int
egress_method_find(const char *m)
{
	size_t	 i, j;

	if (m == NULL)
		return -1;
	for (i = 0; i < sizeof(egress_methods) / sizeof(egress_methods[0]);
	    i++) {
		for (j = 0; j < egress_methods[i].m_len &&
		    m[j] == egress_methods[i].m_name[j]; j++)
			;
		if (j == egress_methods[i].m_len && m[j] == '\0')
			return (int)i;
	}
	return -1;
}

/* Headers whose value the keeper and libcurl own: framing and routing. */
static const struct {
	const char	*r_name;
	size_t		 r_len;		/* compared first */
} egress_reserved[] = {
	{ "host", 4 }, { "content-length", 14 }, { "transfer-encoding", 17 },
	{ "connection", 10 }, { "keep-alive", 10 }, { "proxy-connection", 16 },
	{ "te", 2 }, { "trailer", 7 }, { "upgrade", 7 }, { "expect", 6 }
};

/* NULL and the name's and value's lengths in len, or why not. */
static const char *
egress_check_field(const struct egress_field *f, size_t len2[2])
{
	const unsigned char	*p;
	size_t			 i, len;

	if (f->ef_name == NULL || f->ef_name[0] == '\0' || f->ef_value == NULL)
		return "empty header name";
	for (p = (const unsigned char *)f->ef_name; *p != '\0'; p++)
		if (!tok_tchar(*p))
			return "invalid character in a header name";
	len = (size_t)(p - (const unsigned char *)f->ef_name);
	for (i = 0; i < sizeof(egress_reserved) / sizeof(egress_reserved[0]);
	    i++)
		if (egress_reserved[i].r_len == len &&
		    strcasecmp(f->ef_name, egress_reserved[i].r_name) == 0)
			return "a header the keeper sets itself";
	/* Reject, never strip: CR, LF, NUL and other controls but HTAB. */
	len2[0] = len;
	len2[1] = strlen(f->ef_value);
	if (!tok_clean(f->ef_value, len2[1]))
		return "control character in a header value";
	return NULL;
}

/*
 * "Name: value", or in libcurl's spelling "Name;" for an empty value and
 * "Name:" (value NULL) for "do not send the one you would add".
 */
static int
egress_header_append(struct egress_call *c, const char *name,
    const char *value)
{
	struct curl_slist	*l;
	size_t			 vl = value ? strlen(value) : 0, len;
	char			*line;

	len = strlen(name) + 2 + vl + 1;
	if ((line = malloc(len)) == NULL)
		return -1;
	if (value == NULL)
		snprintf(line, len, "%s:", name);
	else if (vl == 0)
		snprintf(line, len, "%s;", name);
	else
		snprintf(line, len, "%s: %s", name, value);
	/* libcurl copies it with its own (wiping) allocator. */
	l = curl_slist_append(c->c_headers, line);
	keeper_secret_free(line, len);
	if (l == NULL)
		return -1;
	c->c_headers = l;
	return 0;
}

static int
egress_has_field(const struct egress_request *req, const char *name)
{
	size_t	 i;

	for (i = 0; i < req->eq_nheaders; i++)
		if (strcasecmp(req->eq_headers[i].ef_name, name) == 0)
			return 1;
	return 0;
}

/* Milliseconds left at now until the deadline (or the default window). */
static long
egress_window_ms(const struct egress_gen *g, const struct egress_request *req,
    const struct timespec *now)
{
	long long	 ms;

	if (req->eq_deadline.tv_sec == 0 && req->eq_deadline.tv_nsec == 0)
		return g->g_timeout_ms;
	ms = (long long)(req->eq_deadline.tv_sec - now->tv_sec) * 1000 +
	    (req->eq_deadline.tv_nsec - now->tv_nsec) / 1000000;
	return ms > 24 * 3600 * 1000 ? 24 * 3600 * 1000 : (long)ms;
}

/*
 * A host egress_url_fast may read itself: labels of lower-case letters,
 * digits and '-', and either a dotted-quad IPv4 address or a name whose
 * last label is not all digits.  Anything else (an IPv4 shorthand such as
 * 127.1 or 2130706433, which libcurl rewrites, a trailing dot, upper
 * case) is left to libcurl's parser.
 */
static int
egress_host_plain(const char *h, size_t n)
{
	size_t	 i, labels = 0, len = 0, v = 0;
	int	 digits = 1, quad = 1;

	for (i = 0; i <= n; i++) {
		if (i < n && h[i] != '.') {
			if (h[i] < '0' || h[i] > '9')
				digits = 0;
			else
				v = v * 10 + (size_t)(h[i] - '0');
			if (++len > 63)
				return 0;
			continue;
		}
		if (len == 0 || h[i - 1] == '-' || h[i - len] == '-')
			return 0;
		if (!digits || len > 3 || v > 255 ||
		    (len > 1 && h[i - len] == '0'))
			quad = 0;
		labels++;
		if (i == n)
			break;
		len = v = 0;
		digits = 1;
	}
	/* digits: the last label is all digits. */
	return digits ? quad && labels == 4 : 1;
}

/* Characters of a path or query that libcurl passes on as they are. */
static int
egress_url_char(int ch)
{
	return tok_pathchar((unsigned char)ch) || ch == '?' || ch == '%';
}

/*
 * The common URL read without libcurl's parser, which was a tenth of a
 * direct call's work: "http[s]://host[:port]/path[?query]", the host as
 * egress_host_plain allows, no dot segment in the path (libcurl would
 * remove it), no fragment, no empty query, nothing but egress_url_char.
 * 0 and the call's scheme, host, port and target set; -1: let libcurl
 * read (and judge) it, as every URL of a call through libcurl's HTTP.
 * What libcurl then connects to is made of these parts
 * (egress_direct_start), so the host judged is the host connected to.
 * len: the URL's, measured by the caller.
 */
static int
egress_url_fast(struct egress_call *c, const char *url, size_t len)
{
	const char	*h, *p, *path;
	size_t		 hl;
	long		 port;
	int		 https, query = 0;

	if (len >= 8 && memcmp(url, "https://", 8) == 0) {
		https = 1;
		h = url + 8;
	} else if (len >= 7 && memcmp(url, "http://", 7) == 0 &&
	    c->c_gen->g_policy.np_allow_http) {
		https = 0;
		h = url + 7;
	} else
		return -1;
	for (p = h; (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
	    *p == '-' || *p == '.'; p++)
		;
	hl = (size_t)(p - h);
	if (hl == 0 || hl >= sizeof(c->c_res.er_host) ||
	    !egress_host_plain(h, hl))
		return -1;
	port = https ? 443 : 80;
	if (*p == ':') {
		if (*++p < '1' || *p > '9')
			return -1;
		for (port = 0; *p >= '0' && *p <= '9'; p++)
			if ((port = port * 10 + (*p - '0')) > 65535)
				return -1;
	}
	if (*p != '/')
		return -1;
	for (path = p; *p != '\0'; p++) {
		if (!egress_url_char((unsigned char)*p))
			return -1;
		if (*p == '?') {
			if (p[1] == '\0')
				return -1;
			query = 1;
		} else if (!query && *p == '/' && p[1] == '.' &&
		    (p[2] == '/' || p[2] == '?' || p[2] == '\0' ||
		    (p[2] == '.' && (p[3] == '/' || p[3] == '?' ||
		    p[3] == '\0'))))
			return -1;
	}
	/* The URL is the caller's until egress_start returns: no copy. */
	c->c_target = path;
	c->c_targetlen = (size_t)(p - path);
	memcpy(c->c_res.er_host, h, hl);
	c->c_res.er_host[hl] = '\0';
	c->c_hostlen = hl;
	c->c_https = https;
	c->c_port = (int)port;
	return 0;
}

/*
 * netpolicy_host_allowed for a call the keeper makes itself, remembering
 * the last host it allowed: a generation's policy never changes, a name
 * is judged on its bytes alone (its addresses are judged again when the
 * socket opens), and a keeper mostly calls the host it called before.
 */
static int
egress_host_allowed(struct egress_gen *g, const char *host, size_t n,
    const char **why)
{
	if (n > 0 && n == g->g_okhostlen && memcmp(host, g->g_okhost, n) == 0)
		return 1;
	if (!netpolicy_host_allowed(&g->g_policy, host, why))
		return 0;
	if (n < sizeof(g->g_okhost)) {
		memcpy(g->g_okhost, host, n + 1);
		g->g_okhostlen = n;
	}
	return 1;
}

/*
 * The URL: parsed, scheme and literal host judged, no credentials.  A
 * call the keeper makes itself (direct) may have it read by
 * egress_url_fast.
 */
static int
egress_check_url(struct egress_call *c, const char *url, int direct)
{
	struct egress_gen	*g = c->c_gen;
	const unsigned char	*p;
	char			*scheme = NULL, *host = NULL, *user = NULL;
	const char		*why;
	int			 rc = -1;

	for (p = (const unsigned char *)url; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			egress_fail(c, EGRESS_EREQUEST, "invalid character in "
			    "the URL");
			return -1;
		}
	if (p - (const unsigned char *)url > EGRESS_URL_MAX) {
		egress_fail(c, EGRESS_EREQUEST, "URL too long");
		return -1;
	}
	if (direct && egress_url_fast(c, url,
	    (size_t)(p - (const unsigned char *)url)) == 0) {
		if (egress_host_allowed(g, c->c_res.er_host, c->c_hostlen,
		    &why))
			return 0;
		egress_fail(c, EGRESS_EPOLICY, "destination %.100s refused: %s",
		    c->c_res.er_host, why);
		return -1;
	}
	if ((c->c_url = curl_url()) == NULL) {
		egress_fail(c, EGRESS_EINTERNAL, "out of memory");
		return -1;
	}
	if (curl_url_set(c->c_url, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(c->c_url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		egress_fail(c, EGRESS_EREQUEST, "malformed URL");
		goto out;
	}
	if (strcmp(scheme, "https") != 0 &&
	    (strcmp(scheme, "http") != 0 || !g->g_policy.np_allow_http)) {
		egress_fail(c, EGRESS_EPOLICY, "scheme %.16s not allowed "
		    "(https only%s)", scheme, g->g_policy.np_allow_http ?
		    " or http" : "");
		goto out;
	}
	if (curl_url_get(c->c_url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		egress_fail(c, EGRESS_EREQUEST, "no host in the URL");
		goto out;
	}
	c->c_https = strcmp(scheme, "https") == 0;
	if ((c->c_hostlen = strlen(host)) >= sizeof(c->c_res.er_host)) {
		egress_fail(c, EGRESS_EREQUEST, "host name too long");
		goto out;
	}
	memcpy(c->c_res.er_host, host, c->c_hostlen + 1);
	if (curl_url_get(c->c_url, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		egress_fail(c, EGRESS_EREQUEST, "credentials in the URL");
		goto out;
	}
	if (!netpolicy_host_allowed(&g->g_policy, host, &why)) {
		egress_fail(c, EGRESS_EPOLICY, "destination %.100s refused: %s",
		    host, why);
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	return rc;
}

/*
 * A TLS connection's context, before its handshake: trust the generation's
 * store and nothing else (the context starts with an empty one, and
 * libcurl adds nothing to it with no file, directory or blob set).
 */
static CURLcode
egress_sslctx_cb(CURL *easy, void *sslctx, void *arg)
{
	struct egress_gen	*g = arg;

	SSL_CTX_set1_cert_store(sslctx, g->g_store);
	return CURLE_OK;
}

/*
 * What every call of a generation has in common, set once on each of its
 * easy handles (and again after a curl_easy_reset): the policy, TLS and
 * callbacks.  libcurl copies the strings among them and parses the
 * protocol list each time it is set, a sixth of its work for a call when
 * this was done for every call.
 */
static int
egress_setopts_gen(struct egress_gen *g, CURL *h)
{
	int	 bad = 0;

#define SET(opt, val)	(bad |= curl_easy_setopt(h, opt, val) != CURLE_OK)
	SET(CURLOPT_PROTOCOLS_STR, g->g_protocols);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, g->g_protocols);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXREDIRS, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOPROXY, "*");
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/*
	 * Only the configured bundle, not libcurl's built-in path too: no
	 * file, no directory, and every TLS connection gets the
	 * generation's store (egress_sslctx_cb), libcurl's cache of stores
	 * off.  Not CURLOPT_CAINFO_BLOB: libcurl copies a blob into every
	 * connection it considers (once per call, reused or not), compares
	 * it whole when it looks for one to reuse, and parses it again for
	 * each new TLS connection.
	 */
	SET(CURLOPT_CAINFO, (char *)NULL);
	SET(CURLOPT_CAPATH, (char *)NULL);
	SET(CURLOPT_SSL_CTX_FUNCTION, egress_sslctx_cb);
	SET(CURLOPT_SSL_CTX_DATA, g);
	if (egress_curl_version >= 0x075700)	/* 7.87 */
		SET(CURLOPT_CA_CACHE_TIMEOUT, 0L);
	SET(CURLOPT_SHARE, g->g_share);
	/* Loaded into the generation's DNS cache, for good, by the first. */
	if (g->g_resolve != NULL)
		SET(CURLOPT_RESOLVE, g->g_resolve);
	SET(CURLOPT_OPENSOCKETFUNCTION, egress_opensocket_cb);
	SET(CURLOPT_CLOSESOCKETFUNCTION, egress_closesocket_cb);
	SET(CURLOPT_CLOSESOCKETDATA, g);
	SET(CURLOPT_PREREQFUNCTION, egress_prereq_cb);
	SET(CURLOPT_HEADERFUNCTION, egress_header_cb);
	SET(CURLOPT_WRITEFUNCTION, egress_write_cb);
	SET(CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
	SET(CURLOPT_MAXLIFETIME_CONN, (long)EGRESS_CONN_LIFETIME);
#undef SET
	return bad ? -1 : 0;
}

/*
 * A finished call's pointers taken back from its handle, so that nothing
 * of the call is reachable from the pool: the URL string libcurl made of
 * it (a query's secret among it) is freed, so wiped, here.  The method
 * and its body are set by every call (egress_setopts).
 */
static int
egress_setopts_unset(CURL *h)
{
	int	 bad = 0;

#define SET(opt, val)	(bad |= curl_easy_setopt(h, opt, val) != CURLE_OK)
	SET(CURLOPT_URL, (char *)NULL);
	SET(CURLOPT_CURLU, (CURLU *)NULL);
	SET(CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	SET(CURLOPT_POSTFIELDS, (char *)NULL);
	SET(CURLOPT_PRIVATE, (void *)NULL);
	SET(CURLOPT_ERRORBUFFER, (char *)NULL);
	SET(CURLOPT_OPENSOCKETDATA, (void *)NULL);
	SET(CURLOPT_PREREQDATA, (void *)NULL);
	SET(CURLOPT_HEADERDATA, (void *)NULL);
	SET(CURLOPT_WRITEDATA, (void *)NULL);
#undef SET
	return bad ? -1 : 0;
}

/* The call's own options, on a handle egress_setopts_gen prepared. */
static int
egress_setopts(struct egress_call *c, const struct egress_request *req,
    long window)
{
	CURL			*h = c->c_easy;
	int			 body, bad = 0;

#define SET(opt, val)	(bad |= curl_easy_setopt(h, opt, val) != CURLE_OK)
	SET(CURLOPT_PRIVATE, c);
	SET(CURLOPT_CURLU, c->c_url);
	SET(CURLOPT_ERRORBUFFER, c->c_errbuf);
	SET(CURLOPT_OPENSOCKETDATA, c);
	SET(CURLOPT_PREREQDATA, c);
	SET(CURLOPT_HEADERDATA, c);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->c_max_body);
	SET(CURLOPT_MAXAGE_CONN, c->c_gen->g_http_idle_s);
	SET(CURLOPT_TIMEOUT_MS, window);
	SET(CURLOPT_CONNECTTIMEOUT_MS, window);
	if (req->eq_cert != NULL && req->eq_key != NULL) {
		struct curl_blob cert = { (void *)req->eq_cert,
		    req->eq_certlen, CURL_BLOB_COPY };
		struct curl_blob key = { (void *)req->eq_key,
		    req->eq_keylen, CURL_BLOB_COPY };

		/* Copies: the handle is reset before it is pooled again. */
		c->c_reset = 1;
		SET(CURLOPT_SSLCERTTYPE, "PEM");
		SET(CURLOPT_SSLCERT_BLOB, &cert);
		SET(CURLOPT_SSLKEYTYPE, "PEM");
		SET(CURLOPT_SSLKEY_BLOB, &key);
	}

	/* GET, body off, upload off: whatever the handle's last call was. */
	SET(CURLOPT_HTTPGET, 1L);
	SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
	body = req->eq_body != NULL || strcmp(req->eq_method, "POST") == 0 ||
	    strcmp(req->eq_method, "PUT") == 0 ||
	    strcmp(req->eq_method, "PATCH") == 0;
	if (strcmp(req->eq_method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (body) {
		/* Not copied: c_body lives (and is wiped) with the call. */
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->c_bodylen);
		SET(CURLOPT_POSTFIELDS, c->c_body);
		if (strcmp(req->eq_method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, req->eq_method);
	} else if (strcmp(req->eq_method, "GET") != 0)
		SET(CURLOPT_CUSTOMREQUEST, req->eq_method);

	/*
	 * Headers libcurl would add on its own: Expect: 100-continue for a
	 * large body (a round trip and a server-dependent path), and a form
	 * Content-Type for any body.  What crosses is chosen (SPEC §7): the
	 * connector's headers, Host, framing, Accept and Accept-Encoding.
	 */
	bad |= egress_header_append(c, "Expect", NULL) == -1;
	if (body && !egress_has_field(req, "Content-Type"))
		bad |= egress_header_append(c, "Content-Type", NULL) == -1;
	SET(CURLOPT_HTTPHEADER, c->c_headers);
#undef SET
	return bad ? -1 : 0;
}

static void
egress_call_free(struct egress_call *c)
{
	struct egress_gen	*g = c->c_gen;

	TAILQ_REMOVE(&g->g_calls, c, c_entry);
	g->g_eg->e_pending--;
	if (c->c_easy != NULL) {
		curl_multi_remove_handle(g->g_mhttp.m_multi, c->c_easy);
		curl_easy_cleanup(c->c_easy);
	}
	if (c->c_conn != NULL) {
		/* Cut in the middle of an exchange: never reused. */
		c->c_conn->n_call = NULL;
		egress_conn_close(c->c_conn);
	}
	curl_url_cleanup(c->c_url);
	curl_slist_free_all(c->c_headers);
	if (c->c_body != egress_nobody)
		keeper_secret_free(c->c_body, c->c_bodylen + 1);
	if (c->c_fail_ev != NULL)
		event_free(c->c_fail_ev);
	if (c->c_window != NULL)
		event_del(c->c_window);		/* in the call: not freed */
	h1_block_free(c->c_req, c->c_reqlen + 1, c->c_reqcap);
	h1_reader_free(c->c_rd);
	egress_result_clear(&c->c_res);
	explicit_bzero(c, sizeof(*c));
	free(spare_put(&egress_spare, c, sizeof(*c)));
}

/* A retired generation goes when its last call has. */
static void
egress_gen_maybe_free(struct egress_gen *g)
{
	if (g->g_retired && g->g_busy == 0 && TAILQ_EMPTY(&g->g_calls)) {
		TAILQ_REMOVE(&g->g_eg->e_old, g, g_entry);
		egress_gen_free(g);
	}
}

/* Hand the result over, then forget the call. */
static void
egress_call_deliver(struct egress_call *c)
{
	struct egress_gen	*g = c->c_gen;

	/* libcurl's copies of the request go before anything else runs. */
	if (c->c_easy != NULL) {
		curl_multi_remove_handle(g->g_mhttp.m_multi, c->c_easy);
		/*
		 * Only a finished transfer's (nothing of it still runs), and
		 * only if its body went inside the request buffer libcurl
		 * frees: a larger one is streamed through an upload buffer
		 * the handle would keep.
		 */
		if (c->c_finished && c->c_bodylen < EGRESS_POOL_BODY)
			egress_handle_put(g, c->c_easy, c->c_reset);
		else
			curl_easy_cleanup(c->c_easy);
		c->c_easy = NULL;
	}
	curl_url_cleanup(c->c_url);
	c->c_url = NULL;
	curl_slist_free_all(c->c_headers);
	c->c_headers = NULL;
	if (c->c_res.er_error == EGRESS_OK && c->c_res.er_body == NULL &&
	    (c->c_res.er_body = calloc(1, 1)) == NULL)
		egress_fail(c, EGRESS_EINTERNAL, "out of memory");
	if (c->c_res.er_error != EGRESS_OK)
		egress_result_clear(&c->c_res);
	g->g_busy++;
	c->c_done(&c->c_res, c->c_arg);
	egress_call_free(c);
	g->g_busy--;
}

static void
egress_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct egress_call	*c = arg;
	struct egress_gen	*g = c->c_gen;

	egress_call_deliver(c);
	egress_gen_maybe_free(g);
}

/* What a finished transfer's CURLcode means for the caller. */
static void
egress_classify(struct egress_call *c, CURLcode code)
{
	struct egress_result	*res = &c->c_res;
	long			 verify = 0, oserr = 0;

	if (code == CURLE_OK) {
		res->er_error = EGRESS_OK;
		return;
	}
	/* One of our callbacks stopped the transfer and said why. */
	if (c->c_abort != EGRESS_OK) {
		res->er_error = c->c_abort;
		return;
	}
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		egress_fail(c, EGRESS_ETIMEOUT, "no complete answer from "
		    "%.100s within %d ms", res->er_host, c->c_timeout_ms);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		egress_fail(c, EGRESS_EDNS, "cannot resolve %.100s",
		    res->er_host);
		break;
	case CURLE_COULDNT_CONNECT:
		if (c->c_refused[0] != '\0') {
			egress_fail(c, EGRESS_EPOLICY, "%s", c->c_refused);
			break;
		}
		curl_easy_getinfo(c->c_easy, CURLINFO_OS_ERRNO, &oserr);
		egress_fail(c, EGRESS_ECONNECT, "cannot connect to %.100s: %s",
		    res->er_host, oserr ? strerror((int)oserr) :
		    "connection failed");
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		curl_easy_getinfo(c->c_easy, CURLINFO_SSL_VERIFYRESULT,
		    &verify);
		/* libcurl checks the name itself, after the chain. */
		if (verify != X509_V_OK && verify != X509_V_ERR_UNSPECIFIED)
			egress_fail(c, EGRESS_ETLS, "certificate of %.100s not "
			    "trusted: %s", res->er_host,
			    X509_verify_cert_error_string(verify));
		else if (strstr(c->c_errbuf, "host name") != NULL)
			egress_fail(c, EGRESS_ETLS, "certificate is not for "
			    "%.100s", res->er_host);
		else
			egress_fail(c, EGRESS_ETLS, "certificate of %.60s "
			    "rejected: %.80s", res->er_host, c->c_errbuf);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_USE_SSL_FAILED:
		egress_fail(c, EGRESS_ETLS, "TLS with %.60s failed: %.80s",
		    res->er_host, c->c_errbuf[0] ? c->c_errbuf :
		    curl_easy_strerror(code));
		break;
	case CURLE_FILESIZE_EXCEEDED:
		egress_fail(c, EGRESS_ETOOBIG, "upstream body over %zu bytes",
		    c->c_max_body);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		egress_fail(c, EGRESS_EPOLICY, "scheme not allowed");
		break;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
		egress_fail(c, EGRESS_EINTERNAL, "%s",
		    curl_easy_strerror(code));
		break;
	default:
		/* libcurl's own texts: fixed strings, no request bytes. */
		egress_fail(c, EGRESS_EPROTO, "upstream %.100s: %s",
		    res->er_host, curl_easy_strerror(code));
		break;
	}
}

static void
egress_call_done(struct egress_call *c, CURLcode code)
{
	struct egress_result	*res = &c->c_res;
	curl_off_t		 t;
	long			 status = 0, port = 0, nconn = 0;
	char			*ip = NULL;

	if (c->c_direct) {
		egress_direct_connected(c, code);
		return;
	}
	if (curl_easy_getinfo(c->c_easy, CURLINFO_NAMELOOKUP_TIME_T, &t) ==
	    CURLE_OK)
		res->er_timing.et_dns = t;
	if (curl_easy_getinfo(c->c_easy, CURLINFO_CONNECT_TIME_T, &t) ==
	    CURLE_OK)
		res->er_timing.et_connect = t;
	if (curl_easy_getinfo(c->c_easy, CURLINFO_APPCONNECT_TIME_T, &t) ==
	    CURLE_OK)
		res->er_timing.et_tls = t;
	if (curl_easy_getinfo(c->c_easy, CURLINFO_STARTTRANSFER_TIME_T, &t) ==
	    CURLE_OK)
		res->er_timing.et_ttfb = t;
	if (curl_easy_getinfo(c->c_easy, CURLINFO_TOTAL_TIME_T, &t) ==
	    CURLE_OK)
		res->er_timing.et_total = t;
	if (curl_easy_getinfo(c->c_easy, CURLINFO_PRIMARY_IP, &ip) ==
	    CURLE_OK && ip != NULL)
		snprintf(res->er_ip, sizeof(res->er_ip), "%s", ip);
	curl_easy_getinfo(c->c_easy, CURLINFO_PRIMARY_PORT, &port);
	res->er_port = (int)port;
	curl_easy_getinfo(c->c_easy, CURLINFO_RESPONSE_CODE, &status);
	res->er_status = (int)status;
	curl_easy_getinfo(c->c_easy, CURLINFO_NUM_CONNECTS, &nconn);
	egress_classify(c, code);
	res->er_reused = res->er_error == EGRESS_OK && nconn == 0;
	c->c_finished = 1;
	egress_call_deliver(c);
}

/* Run what libcurl says is finished. */
static void
egress_gen_check(struct egress_gen *g)
{
	struct egress_call	*c;
	CURLM			*mh;
	CURLMsg			*m;
	CURLcode		 code;
	int			 left, i;

	g->g_busy++;
	for (i = 0; i < 2; i++) {
		mh = i == 0 ? g->g_mconn.m_multi : g->g_mhttp.m_multi;
		while ((m = curl_multi_info_read(mh, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			code = m->data.result;
			c = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			    (char **)&c);
			if (c != NULL)
				egress_call_done(c, code);
		}
	}
	g->g_busy--;
	egress_gen_maybe_free(g);
}

static void
egress_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct egress_gen	*g = arg;
	struct egress_sock	*so = &g->g_socks[fd];
	int			 running, action = 0;

	if (so->s_dconn != NULL) {
		egress_conn_event(so->s_dconn, what);
		/* A callback may have retired the generation. */
		egress_gen_maybe_free(g);
		return;
	}
	/* A cached connection stirred between calls: stop listening. */
	if (so->s_want == 0) {
		egress_sock_unwatch(so);
		return;
	}
	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	g->g_busy++;
	keeper_poll_trust(1);	/* the loop's epoll_wait has just run */
	curl_multi_socket_action(so->s_multi->m_multi, fd, action, &running);
	keeper_poll_trust(0);
	g->g_busy--;
	egress_gen_check(g);
}

static void
egress_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct egress_multi	*m = arg;
	struct egress_gen	*g = m->m_gen;
	int			 running;

	g->g_busy++;
	keeper_poll_trust(1);
	curl_multi_socket_action(m->m_multi, CURL_SOCKET_TIMEOUT, 0, &running);
	keeper_poll_trust(0);
	g->g_busy--;
	egress_gen_check(g);
}

/* --- the keeper's own HTTP/1.1 ------------------------------------------ */

/*
 * A connection's events: read for as long as it lives (an idle one that
 * becomes readable was closed, or spoke out of turn, and is closed), write
 * while a request waits to go.  Nothing changes, so no system call, when
 * the connection already has what it needs.
 */
static int
egress_conn_watch(struct egress_conn *n, int write)
{
	struct egress_gen	*g = n->n_gen;
	struct egress_sock	*so = &g->g_socks[n->n_fd];
	short			 flags = EV_READ | (write ? EV_WRITE : 0);

	if (so->s_reg == flags)
		return 0;
	egress_sock_unwatch(so);
	if (so->s_ev == NULL && (so->s_ev = event_new(g->g_eg->e_base,
	    n->n_fd, flags | EV_PERSIST, egress_event_cb, g)) == NULL)
		return -1;
	event_assign(so->s_ev, g->g_eg->e_base, n->n_fd, flags | EV_PERSIST,
	    egress_event_cb, g);
	if (event_add(so->s_ev, NULL) == -1)
		return -1;
	so->s_reg = flags;
	return 0;
}

/* Out of the multi handle, which closes it (egress_closesocket_cb). */
static void
egress_conn_close(struct egress_conn *n)
{
	struct egress_gen	*g = n->n_gen;

	if (n->n_idle) {
		TAILQ_REMOVE(&g->g_conns, n, n_entry);
		if (--g->g_nconnidle == 0)
			evtimer_del(g->g_connsweep);
		TAILQ_REMOVE(&g->g_bykey[n->n_hash & g->g_bykeymask], n,
		    n_keyq);
	} else
		TAILQ_REMOVE(&g->g_busyconns, n, n_entry);
	if (n->n_fd != -1 && (size_t)n->n_fd < g->g_nsocks) {
		g->g_socks[n->n_fd].s_dconn = NULL;
		egress_sock_unwatch(&g->g_socks[n->n_fd]);
	}
	g->g_busy++;
	curl_multi_remove_handle(g->g_mconn.m_multi, n->n_easy);
	curl_easy_cleanup(n->n_easy);
	g->g_busy--;
	free(n->n_key);
	free(n);
}

/*
 * Connections idle for EGRESS_CONN_IDLE are closed whether or not a call
 * would have taken them: a keeper that called a thousand origins in a
 * burst would otherwise hold their sockets, their TLS state and the last
 * answer in OpenSSL's read buffer until each origin is called again.  The
 * coldest wait last in g_conns, so the sweep stops at the first one still
 * young and comes back when that one is due: one timer, pending while
 * any connection waits.  It stays pending when the last idle one is taken
 * (egress_conn_take), so that a kept connection's every call does not
 * delete and add it again; then it finds none and is not armed again.
 */
static void
egress_connsweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct egress_gen	*g = arg;
	struct egress_conn	*n;
	int64_t			 now = egress_now_ms();

	while ((n = TAILQ_LAST(&g->g_conns, egress_connq)) != NULL &&
	    now - n->n_since >= g->g_connidle_ms)
		egress_conn_close(n);
	if (n != NULL)
		egress_arm_ms(g->g_connsweep,
		    n->n_since + g->g_connidle_ms - now);
}

/*
 * Connections libcurl closed under the keeper (egress_closesocket_cb): an
 * idle one goes, a busy one's call fails at once rather than waiting out
 * its window for an answer that can no longer come.  It is not retried:
 * its request was sent, and the upstream may have acted on it.
 */
static void
egress_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct egress_gen	*g = arg;
	struct egress_conn	*n, *next;
	struct egress_call	*c;

	for (n = TAILQ_FIRST(&g->g_conns); n != NULL; n = next) {
		next = TAILQ_NEXT(n, n_entry);
		if (n->n_lost)
			egress_conn_close(n);
	}
	/* Each end hands a result over, whose taker may start or cancel
	 * calls: the walk starts again after each. */
	for (;;) {
		TAILQ_FOREACH(n, &g->g_busyconns, n_entry)
			if (n->n_lost && n->n_call != NULL)
				break;
		if (n == NULL)
			break;
		c = n->n_call;
		egress_fail(c, EGRESS_EPROTO, "upstream %.100s: connection "
		    "closed by the connection cache", c->c_res.er_host);
		egress_direct_end(c, 0, 0);
	}
	egress_gen_maybe_free(g);
}

/*
 * A connection for a call to key (scheme, host and port; keylen bytes):
 * libcurl resolves, applies the policy (egress_opensocket_cb,
 * egress_prereq_cb) and does TLS; egress_direct_connected goes on from
 * there.  now: ms, the caller's reading of the clock.
 */
static struct egress_conn *
egress_conn_new(struct egress_call *c, const char *key, size_t keylen,
    int64_t now)
{
	struct egress_gen	*g = c->c_gen;
	struct egress_conn	*n;
	CURL			*h;
	int			 bad = 0;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	if ((n->n_key = malloc(keylen + 1)) == NULL ||
	    (h = curl_easy_init()) == NULL) {
		free(n->n_key);
		free(n);
		return NULL;
	}
	memcpy(n->n_key, key, keylen + 1);
	n->n_keylen = keylen;
	n->n_gen = g;
	n->n_hash = fnv1a_str(FNV1A_INIT, key);
	n->n_easy = h;
	n->n_fd = -1;
	n->n_born = now;
	bad = egress_setopts_gen(g, h) == -1;
#define SET(opt, val)	(bad |= curl_easy_setopt(h, opt, val) != CURLE_OK)
	SET(CURLOPT_CONNECT_ONLY, 1L);
	/* Never one of libcurl's cached connections: a new one, ours. */
	SET(CURLOPT_FRESH_CONNECT, 1L);
	/*
	 * Making this connection, libcurl prunes its cache by this
	 * handle's ages, and the keeper's own connections sit there looking
	 * idle since they were made: the pool keeps its own times
	 * (EGRESS_CONN_IDLE, EGRESS_CONN_LIFETIME), libcurl none.
	 */
	SET(CURLOPT_MAXAGE_CONN, g->g_conn_maxage_s);
	SET(CURLOPT_MAXLIFETIME_CONN, 0L);
	SET(CURLOPT_URL, key);
	SET(CURLOPT_PRIVATE, c);
	SET(CURLOPT_ERRORBUFFER, n->n_errbuf);
	SET(CURLOPT_OPENSOCKETDATA, c);
	SET(CURLOPT_PREREQDATA, c);
	SET(CURLOPT_TIMEOUT_MS, (long)c->c_timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)c->c_timeout_ms);
#undef SET
	if (bad || curl_multi_add_handle(g->g_mconn.m_multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		free(n->n_key);
		free(n);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&g->g_busyconns, n, n_entry);
	n->n_call = c;
	c->c_conn = n;
	return n;
}

/*
 * An idle connection to key (keylen bytes), the one used last;
 * connections past their lifetime or idle for too long are closed on the
 * way.  now: ms, the caller's reading of the clock (egress_start's, a
 * moment ago in the same callback).
 */
static struct egress_conn *
egress_conn_take(struct egress_call *c, const char *key, size_t keylen,
    int64_t now)
{
	struct egress_gen	*g = c->c_gen;
	struct egress_conn	*n, *next;
	struct egress_connq	*q;
	uint64_t		 h = fnv1a_str(FNV1A_INIT, key);

	q = &g->g_bykey[h & g->g_bykeymask];
	for (n = TAILQ_FIRST(q); n != NULL; n = next) {
		next = TAILQ_NEXT(n, n_keyq);
		if (n->n_hash != h || n->n_keylen != keylen ||
		    memcmp(n->n_key, key, keylen) != 0)
			continue;
		if (n->n_lost ||
		    now - n->n_born > EGRESS_CONN_LIFETIME * 1000 ||
		    now - n->n_since >= g->g_connidle_ms) {
			egress_conn_close(n);
			continue;
		}
		TAILQ_REMOVE(&g->g_conns, n, n_entry);
		TAILQ_INSERT_TAIL(&g->g_busyconns, n, n_entry);
		TAILQ_REMOVE(q, n, n_keyq);
		n->n_idle = 0;
		/*
		 * The sweep stays armed with none idle: it finds nothing, or
		 * a connection idle since, and is not deleted and added
		 * again for every call on a kept connection.
		 */
		g->g_nconnidle--;
		n->n_call = c;
		c->c_conn = n;
		return n;
	}
	return NULL;
}

/*
 * After an answer: kept for the next call (first in line), or closed.
 * When egress.idle_connections are already waiting, the coldest of them
 * makes room if it has waited EGRESS_EVICT_MS (a burst's leftovers to an
 * origin nobody calls any more); else this one goes, so that calls over
 * more origins than are kept still find the ones that are.  now: ms, the
 * caller's reading of the clock.
 */
static void
egress_conn_release(struct egress_conn *n, int keep, int64_t now)
{
	struct egress_gen	*g = n->n_gen;
	struct egress_conn	*cold;

	n->n_call = NULL;
	n->n_used = 1;
	if (!keep || g->g_retired || n->n_fd == -1) {
		egress_conn_close(n);
		return;
	}
	/* Counted, not walked: after a context switch every idle
	 * connection's line was a cache miss (2% of the keeper). */
	if (g->g_nconnidle >= g->g_maxidle) {
		cold = TAILQ_LAST(&g->g_conns, egress_connq);
		if (cold == NULL || now - cold->n_since < g->g_evict_ms) {
			egress_conn_close(n);
			return;
		}
		egress_conn_close(cold);
	}
	n->n_since = now;
	n->n_idle = 1;
	if (g->g_nconnidle++ == 0 && !evtimer_pending(g->g_connsweep, NULL))
		egress_arm_ms(g->g_connsweep, g->g_connidle_ms);
	TAILQ_REMOVE(&g->g_busyconns, n, n_entry);
	TAILQ_INSERT_HEAD(&g->g_conns, n, n_entry);
	TAILQ_INSERT_HEAD(&g->g_bykey[n->n_hash & g->g_bykeymask], n, n_keyq);
}

/*
 * The call is over: its connection kept or closed, the request wiped,
 * the result handed over (from the loop, never from egress_start).
 * now: us, a reading of the clock the caller took when the answer's last
 * bytes came, in this same callback; 0: read it here.
 */
static void
egress_direct_end(struct egress_call *c, int keep, int64_t now)
{
	struct egress_result	*res = &c->c_res;
	struct egress_conn	*n = c->c_conn;

	if (now == 0)
		now = egress_now_us();
	evtimer_del(c->c_window);
	if (n != NULL) {
		if (res->er_error == EGRESS_OK) {
			memcpy(res->er_ip, n->n_ip, sizeof(res->er_ip));
			res->er_port = n->n_port;
			res->er_reused = n->n_used;
			res->er_timing.et_ttfb = c->c_ttfb - c->c_t0;
			res->er_timing.et_total = now - c->c_t0;
		}
		c->c_conn = NULL;
		/* The end's reading serves the pool's times too. */
		egress_conn_release(n, keep && res->er_error == EGRESS_OK,
		    now / 1000);
	}
	h1_block_free(c->c_req, c->c_reqlen + 1, c->c_reqcap);
	c->c_req = NULL;
	egress_call_deliver(c);
}

/*
 * A connection that carried calls before died before any byte of this
 * answer came (the upstream closed it while it waited): the request goes
 * again on a new one, once, as libcurl does.  -1: the call failed.
 */
static int
egress_direct_retry(struct egress_call *c)
{
	struct egress_conn	*n = c->c_conn;
	char			*key;
	size_t			 keylen;

	if (n == NULL || !n->n_used || c->c_got > 0 || c->c_retried)
		return -1;
	if ((key = strdup(n->n_key)) == NULL)
		return -1;
	keylen = n->n_keylen;
	c->c_conn = NULL;
	n->n_call = NULL;
	egress_conn_close(n);
	c->c_retried = 1;
	c->c_reqoff = 0;
	n = egress_conn_new(c, key, keylen, egress_now_ms());
	free(key);
	if (n == NULL) {
		egress_fail(c, EGRESS_EINTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

static void
egress_direct_lost(struct egress_call *c, CURLcode rc)
{
	if (egress_direct_retry(c) == 0)
		return;
	egress_fail(c, EGRESS_EPROTO, "upstream %.100s: connection lost (%s)",
	    c->c_res.er_host, curl_easy_strerror(rc));
	egress_direct_end(c, 0, 0);
}

/*
 * curl_easy_send and curl_easy_recv, or for a plain connection the same
 * with the socket: CURLE_AGAIN when it would block, CURLE_OK with 0 bytes
 * received at the end of the stream.
 */
static CURLcode
egress_conn_send(struct egress_conn *n, const void *buf, size_t len,
    size_t *sent)
{
	ssize_t	 r;

	if (!n->n_plain)
		return curl_easy_send(n->n_easy, buf, len, sent);
	*sent = 0;
	while ((r = send(n->n_fd, buf, len, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	if (r >= 0) {
		*sent = (size_t)r;
		return CURLE_OK;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK ? CURLE_AGAIN :
	    CURLE_SEND_ERROR;
}

static CURLcode
egress_conn_recv(struct egress_conn *n, void *buf, size_t len, size_t *got)
{
	ssize_t	 r;

	if (!n->n_plain)
		return curl_easy_recv(n->n_easy, buf, len, got);
	*got = 0;
	while ((r = recv(n->n_fd, buf, len, 0)) == -1 && errno == EINTR)
		;
	if (r >= 0) {
		*got = (size_t)r;
		return CURLE_OK;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK ? CURLE_AGAIN :
	    CURLE_RECV_ERROR;
}

/* 0: sent, or waiting to send more; -1: the connection failed (rc). */
static int
egress_direct_send(struct egress_call *c, CURLcode *rcp)
{
	struct egress_conn	*n = c->c_conn;
	size_t			 sent;

	while (c->c_reqoff < c->c_reqlen) {
		*rcp = egress_conn_send(n, c->c_req + c->c_reqoff,
		    c->c_reqlen - c->c_reqoff, &sent);
		if (*rcp == CURLE_AGAIN)
			break;
		if (*rcp != CURLE_OK)
			return -1;
		c->c_reqoff += sent;
	}
	*rcp = CURLE_OK;
	if (egress_conn_watch(n, c->c_reqoff < c->c_reqlen) == -1) {
		*rcp = CURLE_OUT_OF_MEMORY;
		return -1;
	}
	return 0;
}

/* What has come of the answer, until the socket has no more. */
static void
egress_direct_read(struct egress_call *c)
{
	struct egress_conn	*n = c->c_conn;
	char			 buf[EGRESS_RECV_BUF], *at;
	size_t			 got, used, dirty = 0, room;
	int64_t			 now = 0;	/* the first byte's, if here */
	CURLcode		 rc;
	enum h1_rc		 hr;

	for (;;) {
		/*
		 * The rest of a large body goes straight where the answer
		 * keeps it: one copy less per byte.
		 */
		if ((room = h1_reader_room(c->c_rd, &at)) <= sizeof(buf)) {
			at = buf;
			room = sizeof(buf);
		}
		rc = egress_conn_recv(n, at, room, &got);
		if (rc == CURLE_AGAIN)
			break;
		if (rc != CURLE_OK && c->c_got == 0) {
			egress_direct_lost(c, rc);
			break;
		}
		if (rc != CURLE_OK || got == 0) {
			/*
			 * Closed, with a TLS close_notify or without (which
			 * OpenSSL 3 reports as an error): the end of an answer
			 * that runs to the close, or a cut one.
			 */
			if (egress_direct_retry(c) == 0)
				break;
			if (c->c_res.er_error == EGRESS_OK)
				h1_reader_eof(c->c_rd);
			egress_direct_end(c, 0, 0);
			break;
		}
		if (c->c_got == 0)
			c->c_ttfb = now = egress_now_us();
		c->c_got += got;
		if (at == buf && got > dirty)
			dirty = got;
		hr = h1_reader_feed(c->c_rd, at, got, &used);
		if (hr == H1_MORE) {
			now = 0;	/* the end is another read's */
			continue;
		}
		/*
		 * Bytes past the answer, or a request not all sent: close.
		 * An answer whole in its first read ended when it came.
		 */
		egress_direct_end(c, hr == H1_DONE &&
		    h1_reader_keepalive(c->c_rd) && used == got &&
		    c->c_reqoff == c->c_reqlen, now);
		break;
	}
	explicit_bzero(buf, dirty);
}

static void
egress_conn_event(struct egress_conn *n, short what)
{
	struct egress_call	*c = n->n_call;
	CURLcode		 rc;
	size_t			 got;
	char			 stray;

	if (c == NULL) {
		/*
		 * Idle and readable: the upstream closed it or spoke out of
		 * turn (closed), or sent TLS records that carry no data, as
		 * a TLS 1.3 server's session tickets (kept).
		 */
		rc = egress_conn_recv(n, &stray, 1, &got);
		explicit_bzero(&stray, sizeof(stray));
		if (rc != CURLE_AGAIN)
			egress_conn_close(n);
		return;
	}
	if ((what & EV_WRITE) && c->c_reqoff < c->c_reqlen &&
	    egress_direct_send(c, &rc) == -1) {
		egress_direct_lost(c, rc);
		return;
	}
	if (what & EV_READ)
		egress_direct_read(c);
}

/* libcurl has connected, or failed to. */
static void
egress_direct_connected(struct egress_call *c, CURLcode code)
{
	struct egress_conn	*n = c->c_conn;
	struct egress_gen	*g = c->c_gen;
	struct egress_timing	*t = &c->c_res.er_timing;
	curl_socket_t		 fd = CURL_SOCKET_BAD;
	curl_off_t		 v;
	char			*ip = NULL;
	long			 port = 0;

	/* The handle outlives this call: nothing of it stays there. */
	curl_easy_setopt(n->n_easy, CURLOPT_PRIVATE, NULL);
	curl_easy_setopt(n->n_easy, CURLOPT_OPENSOCKETDATA, NULL);
	curl_easy_setopt(n->n_easy, CURLOPT_PREREQDATA, NULL);
	if (code == CURLE_OK && (curl_easy_getinfo(n->n_easy,
	    CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD ||
	    (size_t)fd >= g->g_nsocks))
		code = CURLE_COULDNT_CONNECT;
	if (code != CURLE_OK) {
		memcpy(c->c_errbuf, n->n_errbuf, sizeof(c->c_errbuf));
		c->c_easy = n->n_easy;	/* what egress_classify asks */
		egress_classify(c, code);
		c->c_easy = NULL;
		egress_direct_end(c, 0, 0);
		return;
	}
	if (curl_easy_getinfo(n->n_easy, CURLINFO_NAMELOOKUP_TIME_T, &v) ==
	    CURLE_OK)
		t->et_dns = v;
	if (curl_easy_getinfo(n->n_easy, CURLINFO_CONNECT_TIME_T, &v) ==
	    CURLE_OK)
		t->et_connect = v;
	if (curl_easy_getinfo(n->n_easy, CURLINFO_APPCONNECT_TIME_T, &v) ==
	    CURLE_OK)
		t->et_tls = v;
	if (curl_easy_getinfo(n->n_easy, CURLINFO_PRIMARY_IP, &ip) ==
	    CURLE_OK && ip != NULL)
		snprintf(n->n_ip, sizeof(n->n_ip), "%s", ip);
	curl_easy_getinfo(n->n_easy, CURLINFO_PRIMARY_PORT, &port);
	n->n_port = (int)port;
	n->n_fd = fd;
	n->n_plain = !c->c_https;
	g->g_socks[fd].s_dconn = n;
	keeper_poll_quiet(fd, KEEPER_POLL_OWNED);
	if (egress_direct_send(c, &code) == -1) {
		egress_fail(c, EGRESS_EPROTO, "upstream %.100s: %s",
		    c->c_res.er_host, curl_easy_strerror(code));
		egress_direct_end(c, 0, 0);
	}
}

static void
egress_window_cb(evutil_socket_t fd, short what, void *arg)
{
	struct egress_call	*c = arg;
	struct egress_gen	*g = c->c_gen;

	egress_fail(c, EGRESS_ETIMEOUT, "no complete answer from %.100s "
	    "within %d ms", c->c_res.er_host, c->c_timeout_ms);
	egress_direct_end(c, 0, 0);
	egress_gen_maybe_free(g);
}

/* Bytes of a string put together, measured once by the caller. */
struct egress_part {
	const char	*ep_s;
	size_t		 ep_len;
};

/*
 * The parts (to a NULL ep_s) end to end into buf, *lenp bytes; -1: too
 * long.
 */
static int
egress_cat_buf(char *buf, size_t cap, const struct egress_part *parts,
    size_t *lenp)
{
	size_t	 len = 0, i;

	for (i = 0; parts[i].ep_s != NULL; i++) {
		if (parts[i].ep_len >= cap - len)
			return -1;
		memcpy(buf + len, parts[i].ep_s, parts[i].ep_len);
		len += parts[i].ep_len;
	}
	buf[len] = '\0';
	*lenp = len;
	return 0;
}

/* The strings of parts (to a NULL) end to end, malloc'd; NULL: no memory. */
static char *
egress_cat(const char *const *parts)
{
	size_t	 len = 0, n, i;
	char	*s, *p;

	for (i = 0; parts[i] != NULL; i++)
		len += strlen(parts[i]);
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	for (p = s, i = 0; parts[i] != NULL; i++) {
		n = strlen(parts[i]);
		memcpy(p, parts[i], n);
		p += n;
	}
	*p = '\0';
	return s;
}

/*
 * A call on a connection of the keeper's own: the request written whole
 * now, sent at once on an idle connection to the same place, else when
 * libcurl has made a new one.  t0: when it started (us, CLOCK_MONOTONIC).
 * -1 (the caller refuses the call) only when out of memory.
 */
static int
egress_direct_start(struct egress_call *c, const struct egress_request *req,
    size_t mlen, const size_t (*flens)[2], long window, int64_t t0)
{
	struct egress_gen	*g = c->c_gen;
	struct h1_request	 rq;
	struct h1_limits	 lim;
	struct timeval		 tv;
	const char		*host = c->c_res.er_host;
	const char		*scheme = c->c_https ? "https" : "http";
	const char		*target = NULL;
	size_t			 tlen = 0;	/* 0: measured by h1 */
	char			*port = NULL, *path = NULL, *query = NULL;
	char			*owned = NULL;
	/* er_host is shorter than 256 bytes: the two fit. */
	char			 key[sizeof(c->c_res.er_host) + 24];
	char			 hosthdr[sizeof(c->c_res.er_host) + 8];
	char			 pbuf[8];
	size_t			 hl, pl, keylen, hostlen;
	CURLcode		 rc;
	int			 rv = -1, dflt;

	c->c_direct = 1;
	c->c_t0 = t0;
	if (c->c_url == NULL) {
		/* egress_url_fast read it: the target is the call's. */
		pl = dec_put(pbuf, (unsigned int)c->c_port);
		dflt = c->c_port == (c->c_https ? 443 : 80);
		target = c->c_target;
		tlen = c->c_targetlen;
		c->c_target = NULL;
	} else {
		if (curl_url_get(c->c_url, CURLUPART_PORT, &port,
		    CURLU_DEFAULT_PORT) != CURLUE_OK ||
		    curl_url_get(c->c_url, CURLUPART_PATH, &path, 0) !=
		    CURLUE_OK)
			goto out;
		if (curl_url_get(c->c_url, CURLUPART_QUERY, &query, 0) !=
		    CURLUE_OK)
			query = NULL;
		snprintf(pbuf, sizeof(pbuf), "%s", port);
		pl = strlen(pbuf);
		dflt = strcmp(port, c->c_https ? "443" : "80") == 0;
		target = owned = egress_cat((const char *[]){ path,
		    query ? "?" : "", query ? query : "", NULL });
	}
	if (target == NULL)
		goto out;
	/* The host measured when the URL was read. */
	hl = c->c_hostlen;
	if (egress_cat_buf(key, sizeof(key), (const struct egress_part []){
	    { scheme, c->c_https ? 5 : 4 }, { "://", 3 }, { host, hl },
	    { ":", 1 }, { pbuf, pl }, { "/", 1 }, { NULL, 0 } },
	    &keylen) == -1 ||
	    egress_cat_buf(hosthdr, sizeof(hosthdr),
	    (const struct egress_part []){ { host, hl }, { ":", dflt ? 0 : 1 },
	    { pbuf, dflt ? 0 : pl }, { NULL, 0 } }, &hostlen) == -1)
		goto out;
	memset(&rq, 0, sizeof(rq));
	rq.hr_method = req->eq_method;
	rq.hr_methodlen = mlen;
	rq.hr_target = target;
	rq.hr_targetlen = tlen;
	rq.hr_host = hosthdr;
	rq.hr_hostlen = hostlen;
	rq.hr_flens = flens;
	rq.hr_fields = req->eq_headers;
	rq.hr_nfields = req->eq_nheaders;
	rq.hr_body = req->eq_body != NULL ? c->c_body : NULL;
	rq.hr_bodylen = c->c_bodylen;
	if ((c->c_req = h1_request_write(&rq, &c->c_reqlen,
	    &c->c_reqcap)) == NULL)
		goto out;
	lim.hl_max_headers = c->c_max_headers;
	lim.hl_header_bytes = c->c_header_bytes;
	lim.hl_max_body = c->c_max_body;
	if ((c->c_rd = h1_reader_new()) == NULL)
		goto out;
	h1_reader_start(c->c_rd, &lim, c->c_head, &c->c_res);
	/* In the call (egress_call_free deletes it): no allocation. */
	evtimer_assign(&c->c_window_ev, g->g_eg->e_base, egress_window_cb, c);
	c->c_window = &c->c_window_ev;
	tv.tv_sec = window / 1000;
	tv.tv_usec = (window % 1000) * 1000;
	evtimer_add(c->c_window, &tv);
	/* t0 was read a moment ago, in this callback: the pool's now. */
	if (egress_conn_take(c, key, keylen, t0 / 1000) != NULL) {
		if (egress_direct_send(c, &rc) == 0 ||
		    egress_direct_retry(c) == 0)
			rv = 0;
	} else if (egress_conn_new(c, key, keylen, t0 / 1000) != NULL)
		rv = 0;
out:
	/* The target and the request may hold secrets; the rest does not. */
	if (owned != NULL)
		keeper_secret_free(owned, strlen(owned));
	if (query != NULL)
		explicit_bzero(query, strlen(query));
	if (path != NULL)
		explicit_bzero(path, strlen(path));
	curl_free(port);
	curl_free(path);
	curl_free(query);
	return rv;
}

struct egress_call *
egress_start(struct egress *e, const struct egress_request *req,
    egress_done_fn done, void *arg)
{
	static const struct timeval	 now = { 0, 0 };
	struct egress_gen		*g = e->e_gen;
	struct egress_call		*c;
	const char			*why = NULL;
	struct timespec			 ts;
	size_t				 i, mlen, flens[EGRESS_FLENS][2];
	size_t				 flen1[2];
	long				 window;
	int				 direct, m;

	/* A spare is all zeroes, as calloc's. */
	if ((c = spare_take(&egress_spare, NULL)) == NULL &&
	    (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->c_gen = g;
	c->c_done = done;
	c->c_arg = arg;
	c->c_max_body = g->g_max_body;
	c->c_max_headers = g->g_max_headers;
	c->c_header_bytes = g->g_header_bytes;
	c->c_want_status = 1;
	c->c_body = egress_nobody;
	TAILQ_INSERT_TAIL(&g->g_calls, c, c_entry);
	e->e_pending++;

	if ((m = egress_method_find(req->eq_method)) == -1) {
		egress_fail(c, EGRESS_EREQUEST, "method not allowed");
		goto refuse;
	}
	mlen = egress_methods[m].m_len;
	c->c_head = m == EGRESS_M_HEAD;
	/* The lengths the check measures, kept for the request's writing. */
	for (i = 0; i < req->eq_nheaders && why == NULL; i++)
		why = egress_check_field(&req->eq_headers[i],
		    i < EGRESS_FLENS ? flens[i] : flen1);
	if (why != NULL) {
		egress_fail(c, EGRESS_EREQUEST, "%s", why);
		goto refuse;
	}
	direct = !g->g_curl_http && req->eq_cert == NULL;
	if (req->eq_url == NULL ||
	    egress_check_url(c, req->eq_url, direct) == -1) {
		if (req->eq_url == NULL)
			egress_fail(c, EGRESS_EREQUEST, "no URL");
		goto refuse;
	}
	/*
	 * One reading of the clock for the window and the start of the
	 * call's timings, unless a body copy comes between.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->c_timeout_ms = (int)(window = egress_window_ms(g, req, &ts));
	if (window <= 0) {
		egress_fail(c, EGRESS_ETIMEOUT, "deadline passed before the "
		    "call to %.100s started", c->c_res.er_host);
		goto refuse;
	}
	/* A copy the call owns and wipes, NUL-terminated; never NULL. */
	if (req->eq_body != NULL && req->eq_bodylen > 0) {
		if ((c->c_body = malloc(req->eq_bodylen + 1)) == NULL) {
			c->c_body = egress_nobody;
			goto nomem;
		}
		c->c_bodylen = req->eq_bodylen;
		memcpy(c->c_body, req->eq_body, c->c_bodylen);
		c->c_body[c->c_bodylen] = '\0';
		if (direct)
			clock_gettime(CLOCK_MONOTONIC, &ts);
	}
	/* A client certificate: libcurl's HTTP, which keys reuse by it. */
	if (direct) {
		if (egress_direct_start(c, req, mlen,
		    req->eq_nheaders <= EGRESS_FLENS ?
		    (const size_t (*)[2])flens : NULL, window,
		    (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000) == -1)
			goto nomem;
		return c;
	}
	for (i = 0; i < req->eq_nheaders; i++)
		if (egress_header_append(c, req->eq_headers[i].ef_name,
		    req->eq_headers[i].ef_value) == -1)
			goto nomem;
	if ((c->c_easy = egress_handle_get(g)) == NULL)
		goto nomem;
	if (egress_setopts(c, req, window) == -1) {
		egress_fail(c, EGRESS_EINTERNAL, "libcurl refused an option");
		goto refuse;
	}
	if (curl_multi_add_handle(g->g_mhttp.m_multi, c->c_easy) != CURLM_OK) {
		egress_fail(c, EGRESS_EINTERNAL, "libcurl refused the call");
		goto refuse;
	}
	return c;
nomem:
	egress_fail(c, EGRESS_EINTERNAL, "out of memory");
refuse:
	/* Delivered from the loop: the caller is not re-entered. */
	if (c->c_easy != NULL) {
		curl_easy_cleanup(c->c_easy);
		c->c_easy = NULL;
	}
	if (c->c_window != NULL)
		evtimer_del(c->c_window);
	if ((c->c_fail_ev = evtimer_new(e->e_base, egress_fail_cb, c)) ==
	    NULL) {
		egress_call_free(c);
		return NULL;
	}
	evtimer_add(c->c_fail_ev, &now);
	return c;
}

void
egress_cancel(struct egress_call *c)
{
	struct egress_gen	*g;

	if (c == NULL)
		return;
	g = c->c_gen;
	egress_call_free(c);
	egress_gen_maybe_free(g);
}

size_t
egress_pending(const struct egress *e)
{
	return e->e_pending;
}

size_t
egress_idle_handles(const struct egress *e)
{
	return e->e_gen->g_nidle;
}

/* The current generation's connections waiting for a call. */
size_t
egress_idle_conns(const struct egress *e)
{
	return e->e_gen->g_nconnidle;
}

/* --- the egress object ------------------------------------------------- */

static void
egress_gen_free(struct egress_gen *g)
{
	struct egress_call	*c;
	size_t			 i;

	if (g == NULL)
		return;
	while ((c = TAILQ_FIRST(&g->g_calls)) != NULL)
		egress_call_free(c);
	while (!TAILQ_EMPTY(&g->g_conns))
		egress_conn_close(TAILQ_FIRST(&g->g_conns));
	while (!TAILQ_EMPTY(&g->g_busyconns))
		egress_conn_close(TAILQ_FIRST(&g->g_busyconns));
	/* Before the share: each pooled handle still counts as its user. */
	egress_idle_drop(g, 1);
	if (g->g_sweep != NULL)
		event_free(g->g_sweep);
	if (g->g_connsweep != NULL)
		event_free(g->g_connsweep);
	if (g->g_lost != NULL)
		event_free(g->g_lost);
	egress_multi_free(&g->g_mhttp);
	egress_multi_free(&g->g_mconn);
	for (i = 0; i < g->g_nsocks; i++)
		if (g->g_socks[i].s_ev != NULL)
			event_free(g->g_socks[i].s_ev);
	free(g->g_socks);
	if (g->g_share != NULL)
		curl_share_cleanup(g->g_share);
	X509_STORE_free(g->g_store);
	curl_slist_free_all(g->g_resolve);
	free(g->g_ca.data);
	free(g->g_bykey);
	netpolicy_clear(&g->g_policy);
	free(g);
}

struct egress *
egress_new(struct event_base *base, const struct egress_conf *conf,
    char *err, size_t errlen)
{
	struct egress	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->e_base = base;
	TAILQ_INIT(&e->e_old);
	if ((e->e_gen = egress_gen_new(e, conf, err, errlen)) == NULL) {
		free(e);
		return NULL;
	}
	return e;
}

int
egress_reconfigure(struct egress *e, const struct egress_conf *conf,
    char *err, size_t errlen)
{
	struct egress_gen	*g = e->e_gen, *ng;

	if (conf->ec_timeout_ms < 1 || conf->ec_max_body < 1) {
		snprintf(err, errlen, "timeout and body limit must be "
		    "positive");
		return -1;
	}
	/* Only limits changed: keep the connections. */
	if (egress_gen_same_net(g, conf)) {
		g->g_timeout_ms = conf->ec_timeout_ms;
		g->g_max_body = conf->ec_max_body;
		g->g_max_headers = conf->ec_max_headers ?
		    conf->ec_max_headers : EGRESS_MAX_HEADERS;
		g->g_header_bytes = conf->ec_header_bytes ?
		    conf->ec_header_bytes : EGRESS_HEADER_BYTES;
		g->g_curl_http = conf->ec_curl_http;
		if (egress_idle_limit(g, conf) == -1 ||
		    egress_multi_setopts(g) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if ((ng = egress_gen_new(e, conf, err, errlen)) == NULL)
		return -1;
	g->g_retired = 1;
	egress_idle_drop(g, 1);		/* new calls use the new one */
	TAILQ_INSERT_TAIL(&e->e_old, g, g_entry);
	e->e_gen = ng;
	egress_gen_maybe_free(g);
	return 0;
}

void
egress_free(struct egress *e)
{
	struct egress_gen	*g;

	if (e == NULL)
		return;
	while ((g = TAILQ_FIRST(&e->e_old)) != NULL) {
		TAILQ_REMOVE(&e->e_old, g, g_entry);
		egress_gen_free(g);
	}
	egress_gen_free(e->e_gen);
	free(e);
}
