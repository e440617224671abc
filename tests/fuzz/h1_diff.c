/*
 * h1_diff.c — see h1_diff.h.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include "keeper_h1.h"
#include "h1_diff.h"

struct h1_run {
	struct egress_result	 res;
	enum h1_rc		 rc;
	size_t			 used;
	int			 keepalive;
	int			 fast;
};

/* Small limits, so that inputs reach them. */
static const struct h1_limits	 h1_diff_lim = { 20, 2048, 4096 };

static int
h1_run(struct h1_run *u, const char *buf, size_t len, int head, int fast)
{
	struct h1_reader	*r;

	memset(u, 0, sizeof(*u));
	if ((r = h1_reader_new()) == NULL)
		return -1;
	h1_reader_set_fast(r, fast);
	h1_reader_start(r, &h1_diff_lim, head, &u->res);
	u->rc = h1_reader_feed(r, buf, len, &u->used);
	if (u->rc == H1_MORE)
		u->rc = h1_reader_eof(r);
	u->keepalive = h1_reader_keepalive(r);
	u->fast = h1_reader_was_fast(r);
	h1_reader_free(r);
	return 0;
}

static int
h1_same(const struct h1_run *a, const struct h1_run *b, char *why,
    size_t whylen)
{
	const struct egress_result	*x = &a->res, *y = &b->res;
	const struct egress_header	*g, *h;
	size_t				 i;

#define DIFF(...) do { snprintf(why, whylen, __VA_ARGS__); return -1; } \
	while (0)
	if (a->rc != b->rc)
		DIFF("rc %d against %d ('%s' against '%s')", a->rc, b->rc,
		    x->er_msg, y->er_msg);
	if (x->er_error != y->er_error || strcmp(x->er_msg, y->er_msg) != 0)
		DIFF("error '%s' against '%s'", x->er_msg, y->er_msg);
	if (a->rc != H1_DONE)
		return 0;
	if (a->used != b->used)
		DIFF("used %zu against %zu", a->used, b->used);
	if (a->keepalive != b->keepalive)
		DIFF("keep-alive %d against %d", a->keepalive, b->keepalive);
	if (x->er_status != y->er_status)
		DIFF("status %d against %d", x->er_status, y->er_status);
	if (x->er_nheaders != y->er_nheaders)
		DIFF("%zu headers against %zu", x->er_nheaders,
		    y->er_nheaders);
	for (i = 0; i < x->er_nheaders; i++) {
		g = &x->er_headers[i];
		h = &y->er_headers[i];
		if (g->eh_namelen != h->eh_namelen || g->eh_valuelen !=
		    h->eh_valuelen || memcmp(g->eh_name, h->eh_name,
		    g->eh_namelen + 1) != 0 || memcmp(g->eh_value, h->eh_value,
		    g->eh_valuelen + 1) != 0)
			DIFF("header %zu: '%s: %s' against '%s: %s'", i,
			    g->eh_name, g->eh_value, h->eh_name, h->eh_value);
	}
	if (x->er_bodylen != y->er_bodylen || (x->er_body == NULL) !=
	    (y->er_body == NULL) || (x->er_body != NULL &&
	    memcmp(x->er_body, y->er_body, x->er_bodylen + 1) != 0))
		DIFF("body of %zu bytes against %zu", x->er_bodylen,
		    y->er_bodylen);
#undef DIFF
	return 0;
}

int
h1_diff(const char *buf, size_t len, int head, char *why, size_t whylen)
{
	struct h1_run	 fast, slow;
	int		 rv = -1;

	snprintf(why, whylen, "out of memory");
	if (h1_run(&fast, buf, len, head, 1) == -1)
		return -1;
	if (h1_run(&slow, buf, len, head, 0) == -1)
		goto out;
	why[0] = '\0';
	if (slow.fast)
		snprintf(why, whylen, "the fast path ran while switched off");
	else if (h1_same(&fast, &slow, why, whylen) == 0)
		rv = fast.fast;
	egress_result_clear(&slow.res);
out:
	egress_result_clear(&fast.res);
	return rv;
}
