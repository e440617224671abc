"""Stale answers protect upstream quotas (issue 11, RFC 5861): an entry
past its max-age=1 answers an upstream 503, a 429 and a timeout while
its stale-if-error lasts, marked in Cache-Status; past it, the error
comes through.  A connector's widgetd.cache.stale_if_error does the same
for an upstream that says nothing, and must-revalidate forbids it; a
connector with neither passes the 503 on.  An upstream 429 with
Retry-After: 2 holds calls back for two seconds (the stale entry
answers without a call), and a Retry-After of an hour for no more than
the 15 s window; cache.stale_if_error_max bounds every stale answer."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check, wait_for     # noqa: E402
from upstream import Upstream                                # noqa: E402
from cacheutil import (cache_status, counters, execute, is_hit,  # noqa
                       is_miss, settle, timing)

# Per path: "ok", "503", "429", "429-long", "hang".
mode = {}
CC = {"/sie": "max-age=1, stale-if-error=30", "/dflt": "max-age=1",
      "/strict": "max-age=1, must-revalidate", "/none": "max-age=1",
      "/ra": "max-age=1, stale-if-error=60",
      "/capped": "max-age=1, stale-if-error=86400"}


def answer(req):
    m = mode.get(req.path, "ok")
    if m == "hang":
        time.sleep(3)
        return None
    if m == "503":
        return 503, {"Content-Type": "text/plain"}, b"down"
    if m.startswith("429"):
        return 429, {"Retry-After": "3600" if m == "429-long" else "2"}, b""
    return 200, {"Cache-Control": CC[req.path],
                 "Content-Type": "text/plain"}, b"good " + req.path.encode()


up = Upstream()
up.route("/", answer)
# One second upstream window: the timeout comes quickly.  Stale answers
# at most 40 s old, whatever the upstream says.
egress = TEST_EGRESS.replace("timeout = 5", "timeout = 1")
d = Daemon(workers=1, egress=egress,
           extra="cache = { stale_if_error_max = 40; };")
try:
    conns = [{"name": p[1:], "permalink": p[1:], "url": up.url(p)}
             for p in CC]
    for c in conns:
        if c["permalink"] in ("dflt", "strict"):
            c["widgetd"] = {"cache": {"stale_if_error": 30}}
    d.connectors(*conns)
    d.start()

    def call(perm):
        return d.call("GET", execute(perm))

    for perm in CC:
        st, h, b = call(perm[1:])
        is_miss(h, "%s: the first call" % perm[1:], stored=True)
    settle()

    def stale(perm, what, status=None, timeout=False):
        n = len(up.seen("/" + perm))
        st, h, b = call(perm)
        cs = cache_status(h)
        check(st == 200 and b == b"good /" + perm.encode(),
              "%s %s: the stale entry answers (%d %r)" % (perm, what, st,
                                                          b))
        check(cs.get("fwd") == "stale" and cs.get("detail") ==
              "stale-if-error" and cs.get("ttl", 0) < 0 and
              cs.get("fwd-status") == status,
              "%s %s: Cache-Status says stale-if-error (%r)" %
              (perm, what, h.get("cache-status")))
        _, ct = timing(h)
        check(ct.get("cache_hit") is False and
              ct.get("timeout", False) == timeout,
              "%s %s: an upstream call was made%s" %
              (perm, what, ", and timed out" if timeout else ""))
        check(len(up.seen("/" + perm)) == n + 1, "%s %s: one upstream call"
              % (perm, what))

    def is_miss_quiet(perm):
        """Call; True when the upstream answered it (not a stale hit)."""
        st, h, b = call(perm)
        return st == 200 and "hit" not in cache_status(h)

    def error(perm, what, status):
        st, h, b = call(perm)
        check(st == status, "%s %s: the error comes through (%d)" %
              (perm, what, st))
        return h

    # The upstream's own stale-if-error: 503, 429, timeout.
    mode["/sie"] = "503"
    stale("sie", "503", status=503)
    mode["/sie"] = "hang"
    stale("sie", "timeout", timeout=True)
    # The connector's default.
    mode["/dflt"] = "503"
    stale("dflt", "503", status=503)
    # must-revalidate forbids the default; no default, no stale answer.
    mode["/strict"] = "503"
    error("strict", "must-revalidate", 503)
    mode["/none"] = "503"
    h = error("none", "no stale-if-error", 503)
    check(cache_status(h).get("fwd") == "stale" and
          cache_status(h).get("fwd-status") == 503,
          "none: Cache-Status names the 503 (%r)" % h.get("cache-status"))
    c = counters(d, "sie")
    check(c.get("stale") == 2, "widgetctl status counts the stale answers "
          "(%r)" % c)

    # Retry-After on a 429: two seconds without calls, the stale entry.
    mode["/ra"] = "429"
    stale("ra", "429", status=429)
    t0 = time.monotonic()
    n = len(up.seen("/ra"))
    st, h, b = call("ra")
    cs = is_hit(h, "ra: within Retry-After")
    check(st == 200 and cs.get("detail") == "retry-after" and
          len(up.seen("/ra")) == n,
          "ra: within Retry-After: the stale entry, no call (%r)" % cs)
    mode["/ra"] = "ok"
    check(wait_for(lambda: is_miss_quiet("ra"), 10),
          "ra: a call again once Retry-After has passed")
    check(time.monotonic() - t0 >= 1.0,
          "ra: not before it had (%.1f s)" % (time.monotonic() - t0))

    # Retry-After: 3600 holds calls back for at most 15 s.
    settle()
    mode["/ra"] = "429-long"
    stale("ra", "429 an hour", status=429)
    t1 = time.monotonic()
    mode["/ra"] = "ok"
    check(wait_for(lambda: is_miss_quiet("ra"), 40, step=0.5),
          "ra: calls again after the 15 s window, not an hour")
    waited = time.monotonic() - t1
    check(12 <= waited <= 35, "ra: held back about 15 s (%.1f s)" % waited)

    # cache.stale_if_error_max: 40 s, though the upstream says a day.
    mode["/capped"] = "503"
    stale("capped", "503 within the bound", status=503)
    left = 42 - (time.monotonic() - t0)
    if left > 0:
        time.sleep(left)
    error("capped", "503 past the bound", 503)
finally:
    d.stop()
    d.cleanup()
    up.close()
