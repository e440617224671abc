"""The cache's memory is bounded by cache.memory, least recently used
entries going first (issue 11, SPEC 7).  One worker with 32 KiB: every
answer is a 7000-byte body, so four entries fit and a fifth evicts the
least recently used one.  A hit makes an entry recent: after a, b, c, d
and a hit on a, storing e evicts b, not a.  widgetctl status counts the
evictions and never shows more bytes than cache.memory.  An answer over
a quarter of cache.memory is never stored (Cache-Status detail
too-large), and evicts nothing."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from cacheutil import cache_status, counted, status_json  # noqa

MEMORY = 32768


def answer(req):
    size = 9000 if req.path == "/big" else 7000
    n = len(up.seen(req.path))
    body = (b"%s #%d " % (req.path.encode(), n)).ljust(size, b".")
    return 200, {"Cache-Control": "max-age=600",
                 "Content-Type": "text/plain"}, body


up = Upstream()
up.route("/", answer)
d = Daemon(workers=1, egress=TEST_EGRESS,
           extra="cache = { memory = %d; };" % MEMORY)
NAMES = ("a", "b", "c", "d", "e", "big")
try:
    d.connectors(*[{"name": n, "permalink": n, "url": up.url("/" + n)}
                   for n in NAMES])
    d.start()

    def call(perm, want, what):
        return counted(d, up, perm, want, what)[0]

    def totals(what):
        tot = status_json(d)["cache"]
        check(tot["memory"] == MEMORY and 0 < tot["bytes"] <= MEMORY,
              "%s: at most cache.memory in use (%r)" % (what, tot))
        return tot

    for perm in ("a", "b", "c", "d"):
        call(perm, "stored", "first call")
    tot = totals("four entries")
    check(tot["entries"] == 4 and tot["evicted"] == 0,
          "four entries fit, none evicted (%r)" % tot)

    # a is now the most recently used, b the least.
    call("a", "hit", "before e comes")
    call("e", "stored", "first call")
    tot = totals("after e")
    check(tot["entries"] == 4 and tot["evicted"] == 1,
          "e evicted one entry (%r)" % tot)
    for perm in ("a", "c", "d", "e"):
        call(perm, "hit", "after e came")
    # b was the one evicted: it goes upstream again, and evicts a (the
    # least recently used after the hits above).
    call("b", "stored", "after it was evicted")
    call("a", "stored", "evicted by b")

    # Over a quarter of cache.memory: not stored, nothing evicted.
    before = totals("before big")
    h = call("big", "miss", "first call")
    check(cache_status(h).get("detail") == "too-large",
          "big: Cache-Status detail=too-large (%r)" %
          h.get("cache-status"))
    call("big", "miss", "second call")
    after = totals("after big")
    check(after["evicted"] == before["evicted"] and
          after["entries"] == before["entries"],
          "big: evicted nothing (%r, %r)" % (before, after))
finally:
    d.stop()
    d.cleanup()
    up.close()
