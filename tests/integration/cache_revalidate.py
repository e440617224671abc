"""Revalidation through the keeper (issue 11, SPEC 7): an entry with
max-age=1 and an ETag is fresh for a second; after that the next call
sends If-None-Match (and If-Modified-Since for a Last-Modified), the
upstream's 304 answers it with the stored body, refreshes the entry —
its headers too, as the response template sees them — and the call
after is a hit again.  A changed ETag brings a 200, which replaces the
entry.  A browser's own If-None-Match never reaches the upstream and
never turns into a 304 for the browser.  widgetctl status counts the
revalidations."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from cacheutil import (cache_status, counters, execute, is_hit,  # noqa
                       is_miss, settle)

LM = "Sun, 06 Nov 1994 08:49:37 GMT"
state = {"etag": '"v1"', "gen": 0}


def answer(req):
    state["gen"] += 1
    hdrs = {"Cache-Control": "max-age=1", "ETag": state["etag"],
            "Last-Modified": LM, "X-Gen": str(state["gen"]),
            "Content-Type": "text/plain"}
    if req.header("If-None-Match") == state["etag"]:
        return 304, hdrs, b""
    return 200, hdrs, b"body for " + state["etag"].encode()


up = Upstream()
up.route("/r", answer)
d = Daemon(workers=1, egress=TEST_EGRESS)
try:
    d.connectors({"name": "r", "permalink": "r", "url": up.url("/r"),
                  "response_body": "{{ response.body }} gen "
                                   "{{ response.headers['x-gen'] }}"})
    d.start()

    def call(what, hdrs=()):
        st, h, b = d.call("GET", execute("r"), headers=list(hdrs))
        check(st == 200, "%s: 200 (%d)" % (what, st))
        return h, b

    h, b = call("first call")
    is_miss(h, "first call", stored=True)
    check(b == b'body for "v1" gen 1', "first call: the body (%r)" % b)
    h, b = call("at once")
    is_hit(h, "at once")
    settle()

    h, b = call("a second later")
    cs = is_miss(h, "a second later", fwd="stale")
    # Fresh again: max-age=1 from the 304's Date, which has whole
    # seconds, so 1 or (a slow call across a second's edge) 0; a stale
    # entry not refreshed would be below 0.
    check(cs.get("fwd-status") == 304 and cs.get("ttl") in (0, 1),
          "a second later: the upstream's 304 refreshed it (%r)" % cs)
    check(b == b'body for "v1" gen 2', "a second later: the stored body, "
          "the template sees the 304's headers (%r)" % b)
    last = up.seen("/r")[-1]
    check(last.header("If-None-Match") == '"v1"' and
          last.header("If-Modified-Since") == LM,
          "the conditional call carried If-None-Match and "
          "If-Modified-Since (%r, %r)" % (last.header("If-None-Match"),
                                          last.header("If-Modified-Since")))
    h, b = call("after the 304")
    is_hit(h, "after the 304: fresh again")
    check(b == b'body for "v1" gen 2', "after the 304: the refreshed "
          "entry (%r)" % b)

    # A new ETag upstream: the conditional call gets a 200.
    state["etag"] = '"v2"'
    settle()
    h, b = call("after a change")
    cs = is_miss(h, "after a change", fwd="stale", stored=True)
    check(cs.get("fwd-status") == 200 and b == b'body for "v2" gen 3',
          "after a change: the new body (%r)" % b)
    h, b = call("after the change")
    is_hit(h, "after the change")

    # The browser's conditional header is not the cache's.
    n = len(up.seen("/r"))
    settle()
    h, b = call("browser If-None-Match", ['If-None-Match: "v2"',
                                          "If-Modified-Since: " + LM])
    check(b == b'body for "v2" gen 4' and len(up.seen("/r")) == n + 1,
          "browser If-None-Match: a full answer, not a 304 (%r)" % b)
    for name in ("If-None-Match", "If-Modified-Since"):
        check(up.seen("/r")[-1].header(name) is not None,
              "the upstream saw the cache's %s" % name)
    d2 = up.seen("/r")[-1].header_list
    check(sum(1 for k, _ in d2 if k.lower() == "if-none-match") == 1,
          "one If-None-Match upstream, the cache's")

    c = counters(d, "r")
    check(c.get("revalidated") == 2 and c.get("hits") == 3 and
          c.get("misses") == 2,
          "widgetctl status: 2 revalidated, 3 hits, 2 misses (%r)" % c)
    check(sum(1 for r in up.seen("/r") if r.header("If-None-Match")) == 3,
          "three conditional calls upstream")
finally:
    d.stop()
    d.cleanup()
    up.close()
