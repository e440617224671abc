"""Concurrent identical misses collapse into one upstream call (issue
11).  One worker; the upstream holds its answer until all twenty
callers are connected and have had a second to send: twenty cold calls
make one upstream call, and all twenty get its answer (Cache-Status
says "collapsed" for the ones that waited).  An upstream error (503) is
shared the same way, its body byte for byte to every caller even when it
is large enough for the worker to send the caller's from the frame it
came in (over 64 KiB): the waiters' copies are made before that.  An answer that may not be kept (no-store) is not
shared: every waiter then makes its own call.  (A waiter taking over
the call of a caller that went away is tested in check_cache: a worker
does not read a connection while its call is out, so a caller's close
is not seen before the answer.)"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Conn, Daemon, check, wait_for  # noqa
from upstream import Upstream                                          # noqa
from cacheutil import cache_status, counters, execute, status_json     # noqa

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
