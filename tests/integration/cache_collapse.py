"""Concurrent identical misses collapse into one upstream call (issue
11).  One worker; the upstream holds its answer until all twenty
callers are connected and have had a second to send: twenty cold calls
make one upstream call, and all twenty get its answer (Cache-Status
says "collapsed" for the ones that waited).  An upstream error (503) is
shared the same way, its body byte for byte to every caller even when it
is large enough for the worker to send the caller's from the frame it
came in (over 64 KiB): the waiters' copies are made before that.  An answer that may not be kept (no-store) is not
shared: every waiter then makes its own call.  A refusal before the
upstream saw the call (503 UPSTREAM_BUSY: the connector's concurrency is
used up) is shared at once too, with its Retry-After, and not left to
the worker's keeper timer.  (A waiter taking over the call of a caller
that went away, and waiters released to make their own calls when the
leader goes away unanswered, are tested in check_cache: a worker does
not read a connection while its call is out, so a caller's close is not
seen before the answer.)"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Conn, Daemon, check, envelope, request  # noqa
from wdtest import wait_for                                              # noqa
from upstream import Upstream                                            # noqa
from cacheutil import cache_status, counters, execute, status_json       # noqa

N = 20
release = threading.Event()
mode = {"status": 200, "cc": "max-age=300", "pad": 0}


def held(req):
    release.wait(30)
    return (mode["status"], {"Cache-Control": mode["cc"],
                             "Content-Type": "text/plain"},
            b"answer %d" % len(up.seen(req.path)) + b"." * mode["pad"])


def worker_conns():
    for p in status_json(d).get("processes", []):
        if p.get("role") == "worker":
            return p.get("connections", 0)
    return 0


def burst(perm, n=N):
    """n callers on n connections at once; their answers in order."""
    release.clear()
    before = len(up.seen("/" + perm))
    out = [None] * n
    conns = [Conn(d.port, timeout=40) for _ in range(n)]
    go = threading.Barrier(n)

    def one(i):
        go.wait()
        try:
            out[i] = conns[i].request("GET", execute(perm))
        except OSError as e:
            out[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    # Every connection handed to the worker, the first call upstream,
    # then a second for the rest to be read.
    check(wait_for(lambda: worker_conns() >= n and
                   len(up.seen("/" + perm)) > before, 20),
          "%s: %d connections at the worker, a call upstream" % (perm, n))
    time.sleep(1)
    release.set()
    for t in threads:
        t.join(40)
    for c in conns:
        c.close()
    return out, len(up.seen("/" + perm)) - before


up = Upstream()
up.route("/", held)
# The upstream holds its answers for a few seconds: a longer window.
d = Daemon(workers=1, egress=TEST_EGRESS.replace("timeout = 5",
                                                 "timeout = 15"))
try:
    d.connectors(*[{"name": p, "permalink": p, "url": up.url("/" + p)}
                   for p in ("cold", "err", "nostore")])
    d.start()

    # Twenty cold calls, one upstream call.
    out, calls = burst("cold")
    ok = [r for r in out if isinstance(r, tuple) and r[0] == 200]
    check(len(ok) == N and all(r[2] == b"answer 1" for r in ok),
          "cold: all %d callers got the one answer" % N)
    check(calls == 1, "cold: %d concurrent cold calls, 1 upstream call (%d)"
          % (N, calls))
    kinds = [cache_status(r[1]) for r in ok]
    stored = sum(1 for k in kinds if "stored" in k)
    collapsed = sum(1 for k in kinds if k.get("collapsed"))
    hits = sum(1 for k in kinds if k.get("hit"))
    check(stored == 1 and collapsed + hits == N - 1 and collapsed >= N // 2,
          "cold: one stored it, %d waited for it (collapsed), %d came "
          "after it" % (collapsed, hits))
    c = counters(d, "cold")
    check(c.get("collapsed") == collapsed and c.get("misses") == 1,
          "cold: widgetctl status counts %d collapsed, 1 miss (%r)" %
          (collapsed, c))

    # An error is shared: one call, twenty 503s.
    mode.update(status=503, cc="no-store", pad=300000)
    out, calls = burst("err")
    check(all(isinstance(r, tuple) and r[0] == 503 for r in out),
          "err: all %d callers got the upstream's 503" % N)
    check(all(r[2] == b"answer 1" + b"." * 300000 for r in out),
          "err: all %d callers got its 300 KB body as it came (%r)" % (
              N, sorted(set(len(r[2]) for r in out))))
    mode.update(pad=0)
    check(calls == 1, "err: one upstream call for %d callers (%d)" %
          (N, calls))

    # Not to be kept: each waiter makes its own call.
    mode.update(status=200, cc="no-store")
    out, calls = burst("nostore", 5)
    check(all(isinstance(r, tuple) and r[0] == 200 for r in out),
          "nostore: all 5 callers got an answer")
    check(calls == 5, "nostore: an answer that may not be kept is not "
          "shared: 5 upstream calls (%d)" % calls)
finally:
    release.set()
    d.stop()
    d.cleanup()
    up.close()

# A refusal is shared at once.  Concurrency 1 and a 3 s window: "hold"
# takes the only slot; B, the leader for ?who=u, waits for it in the
# keeper and is refused 503 UPSTREAM_BUSY when the window (less the
# second kept for the call) runs out; C, the same call, waits for B's.
# C gets B's refusal when B does, not the worker's own 503 UNAVAILABLE
# when its keeper timer ends (3 + 5 s later).
hold = threading.Event()
up = Upstream()
up.route("/", lambda req: (hold.wait(30), (200, {
    "Cache-Control": "max-age=300"}, b"held"))[1])
d = Daemon(workers=1, keepers=1, egress=TEST_EGRESS.replace("timeout = 5",
                                                            "timeout = 3"))
try:
    d.connectors({"name": "busy", "permalink": "busy",
                  "url": up.url("/busy"),
                  "widgetd": {"limits": {"concurrency": 1}}})
    d.start()
    out = {}

    def timed(name, who):
        t0 = time.monotonic()
        try:
            r = request(d.port, "GET", execute("busy") + "?who=" + who,
                        timeout=20)
        except OSError as e:
            r = e
        out[name] = (r, time.monotonic() - t0)

    threads = [threading.Thread(target=timed, args=(n, w))
               for n, w in (("A", "a"), ("B", "u"), ("C", "u"))]
    threads[0].start()
    check(wait_for(lambda: up.seen("/busy"), 5), "refused: A holds the slot")
    threads[1].start()
    time.sleep(0.5)
    threads[2].start()
    for t in threads[1:]:
        t.join(30)
    hold.set()
    threads[0].join(30)
    for n in ("B", "C"):
        check(n in out and isinstance(out[n][0], tuple),
              "refused: %s answered (%.200r)" % (n, out.get(n)))
    (bst, bh, bb), bt = out["B"]
    (cst, ch, cb), ct = out["C"]
    check(bst == 503 and envelope(bb)[0] == "UPSTREAM_BUSY",
          "refused: the leader B is refused 503 UPSTREAM_BUSY (%d %r)" %
          (bst, bb[:200]))
    check(cst == 503 and envelope(cb)[0] == "UPSTREAM_BUSY" and
          ch.get("retry-after") is not None and
          ch.get("retry-after") == bh.get("retry-after"),
          "refused: C gets B's 503 UPSTREAM_BUSY and Retry-After (%d %r "
          "Retry-After %r)" % (cst, cb[:200], ch.get("retry-after")))
    check(cache_status(ch).get("collapsed") is True,
          "refused: C waited for B's call (Cache-Status %r)" %
          ch.get("cache-status"))
    check(ct < 3, "refused: C answered in %.2f s, with B (%.2f s), not "
          "at its keeper timer" % (ct, bt))
    check(not [r for r in up.seen("/busy") if r.query == "who=u"],
          "refused: the upstream saw no call for ?who=u")
finally:
    hold.set()
    d.stop()
    d.cleanup()
    up.close()
