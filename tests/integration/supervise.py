"""Supervision (issue 2): a killed worker is replaced and serving within
1 s while connections on other workers carry on; while the keeper is down
(killed or not answering) health is 503 UNAVAILABLE, then 200 again."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import (Conn, Daemon, check, envelope, holder, inode_of_client,
                    request, wait_for)


d = Daemon(workers=2)
try:
    d.start()
    workers = sorted(d.children("worker"))
    # A keep-alive connection; find the worker that serves it.
    ka = Conn(d.port)
    st, _, _ = ka.request("GET", "/widget-service/health")
    check(st == 200, "keep-alive connection answered")
    inode = inode_of_client(d.port, ka.sock.getsockname()[1])
    owner = wait_for(lambda: holder(workers, inode), 5)
    check(owner in workers, "found the worker holding the connection")
    victim = [p for p in workers if p != owner][0]

    os.kill(victim, signal.SIGKILL)
    t0 = time.monotonic()

    def replaced():
        now = set(d.children("worker"))
        return len(now) == 2 and victim not in now and owner in now
    check(wait_for(replaced, 5), "a replacement worker was started")

    # The replacement is serving: it holds a connection it answered.  New
    # connections go to each ready worker in turn, and the survivor holds ka.
    def serving():
        new = set(d.children("worker")) - {owner}
        c = Conn(d.port)
        try:
            st, _, _ = c.request("GET", "/widget-service/health")
            ino = inode_of_client(d.port, c.sock.getsockname()[1])
            return st == 200 and holder(new, ino) is not None
        finally:
            c.close()
    check(wait_for(serving, 10), "the replacement worker answers")
    elapsed = time.monotonic() - t0
    print("# replacement serving %.3f s after the kill" % elapsed)
    # The promise is 1 s unloaded (the first restart is immediate); allow
    # for a loaded machine and an instrumented build.  A backoff wrongly
    # applied to a long-lived worker would start at 30 s.
    check(elapsed < 8.0, "replacement serving quickly (%.2f s)" % elapsed)
    after = set(d.children("worker"))
    st, _, _ = ka.request("GET", "/widget-service/health")
    check(st == 200, "the connection on the surviving worker still works")
    check(holder([owner], inode) == owner, "and is still on the same worker")
    check("killed by signal 9" in d.logtext(), "the death is logged")

    # Keeper not answering (stopped): 503 after the 5 s window.
    keeper = list(d.children("keeper"))[0]
    os.kill(keeper, signal.SIGSTOP)
    t0 = time.monotonic()
    st, _, body = ka.request("GET", "/widget-service/health")
    waited = time.monotonic() - t0
    os.kill(keeper, signal.SIGCONT)
    check(st == 503 and envelope(body)[0] == "UNAVAILABLE",
          "silent keeper: 503 UNAVAILABLE")
    check(4.0 <= waited < 12, "after about 5 s (%.1f s)" % waited)
    check(ka.request("GET", "/widget-service/health")[0] == 200,
          "keeper back: 200")

    # Keeper killed: 503 until it is back, then 200, no worker restarted.
    os.kill(keeper, signal.SIGKILL)
    st, hdrs, body = ka.request("GET", "/widget-service/health")
    check(st in (200, 503), "health while the keeper restarts: %d" % st)
    if st == 503:
        check(envelope(body)[0] == "UNAVAILABLE", "503 carries UNAVAILABLE")
        check("x-request-id" in hdrs, "503 carries X-Request-ID")

    def healthy():
        k = d.children("keeper")
        return (len(k) == 1 and keeper not in k and
                request(d.port, "GET", "/widget-service/health")[0] == 200)
    check(wait_for(healthy, 10), "new keeper, health 200 again")
    check(ka.request("GET", "/widget-service/health")[0] == 200,
          "old connection reaches the new keeper too")
    check(set(d.children("worker")) == after,
          "workers were not restarted for the keeper")
    check(owner in d.children("worker"), "the surviving worker kept running")
    ka.close()
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
