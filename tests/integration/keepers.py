"""keepers = N (issue 7): with workers = 4 and keepers = 2 there are two
keepers, worker i is bound to keeper i % 2 (status says so, and the
worker's keeper channel is a socketpair whose other end that keeper
holds), and a keeper that stops or dies affects only its own workers:
they answer 503 UNAVAILABLE (a call in flight included) until it is
back, while the other keeper's workers keep answering, and no worker is
ever taken down with it.  keepers > workers is clamped to workers, and a
reload that changes keepers only above that clamp needs no new
processes."""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream
from wdtest import (TEST_EGRESS, Conn, Daemon, check, envelope, fail,
                    served_by, wait_for)

T0 = time.monotonic()
up = Upstream()
up.route("/slow", lambda req: (time.sleep(2), (200, {}, b"slow"))[1])


def status(d):
    r = d.widgetctl("status", "--json")
    if r.returncode != 0:
        fail("status: %r" % r.stderr)
    return json.loads(r.stdout)


def pipes_of(pid):
    """The inodes of pid's pipe ends (a pipe's two ends share one)."""
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("pipe:["):
            out.add(t[6:-1])
    return out


def keeper_of_worker(wpid, keepers):
    """The keeper pids holding the other ends of wpid's channel: its two
    pipes, one each way (no other pipe of a worker leads anywhere)."""
    mine = pipes_of(wpid)
    found = set()
    for k in keepers:
        if len(mine & pipes_of(k)) == 2:
            found.add(k)
    return found


def call(conn, path="/widget-service/connectors/echo/execute"):
    return conn.request("GET", path)


d = Daemon(workers=4, keepers=2, egress=TEST_EGRESS)
conns = {}
try:
    d.connectors({"name": "Echo", "permalink": "echo", "method": "GET",
                  "url": up.url("/echo")},
                 {"name": "Slow", "permalink": "slow", "method": "GET",
                  "url": up.url("/slow")})
    d.start()
    keepers = d.children("keeper")
    check(len(keepers) == 2, "workers = 4, keepers = 2: two keeper "
          "processes (%d)" % len(keepers))
    st = status(d)
    kslot = {p["slot"]: p["pid"] for p in st["processes"]
             if p["role"] == "keeper"}
    wslot = {p["pid"]: p["slot"] for p in st["processes"]
             if p["role"] == "worker"}
    check(sorted(kslot) == [0, 1] and set(kslot.values()) == set(keepers),
          "status: keepers in slots 0 and 1 with their pids")
    check(sorted(wslot.values()) == [0, 1, 2, 3] and
          all(p["keeper"] == p["slot"] % 2 for p in st["processes"]
              if p["role"] == "worker"),
          "status: worker i bound to keeper i %% 2 (%s)" %
          [(p["slot"], p["keeper"]) for p in st["processes"]
           if p["role"] == "worker"])
    for wpid, slot in sorted(wslot.items(), key=lambda x: x[1]):
        # The parent passes the keeper its end of the channel over a
        # socket; until the keeper has received it the end is in flight
        # and in no process's fd table, so wait for it to arrive.
        want = {kslot[slot % 2]}
        wait_for(lambda: keeper_of_worker(wpid, kslot.values()) == want, 10)
        got = keeper_of_worker(wpid, kslot.values())
        check(got == want, "worker %d's keeper channel leads "
              "to keeper %d (pid %s)" % (slot, slot % 2, got))

    # A keep-alive connection on every worker.
    spare = []
    for _ in range(40):
        if len(conns) == 4:
            break
        c = Conn(d.port)
        st_, _, _ = call(c)
        w = served_by(d, c, wslot)
        if w in conns:
            spare.append(c)     # kept open: the next goes elsewhere
        else:
            conns[w] = c
    for c in spare:
        c.close()
    check(len(conns) == 4, "a connection on each of the 4 workers")
    bound0 = {w for w in conns if wslot[w] % 2 == 0}
    bound1 = set(conns) - bound0
    workers_before = set(wslot)

    # Keeper 0 stops answering (SIGSTOP): its workers' health is 503
    # after the 5 s window; keeper 1's workers answer at once.
    os.kill(kslot[0], signal.SIGSTOP)
    for w in sorted(bound1, key=lambda w: wslot[w]):
        t = time.monotonic()
        s, _, _ = call(conns[w])
        check(s == 200 and time.monotonic() - t < 2,
              "keeper 0 stopped: worker %d (keeper 1) answers at once" %
              wslot[w])
    t = time.monotonic()
    for w in bound0:
        conns[w].send(b"GET /widget-service/health HTTP/1.1\r\n"
                      b"Host: localhost\r\n\r\n")
    for w in sorted(bound0, key=lambda w: wslot[w]):
        s, _, b = conns[w].response()
        check(s == 503 and envelope(b)[0] == "UNAVAILABLE",
              "keeper 0 stopped: worker %d's health is 503 UNAVAILABLE "
              "after %.1f s" % (wslot[w], time.monotonic() - t))

    # A call in flight on a keeper-0 worker when keeper 0 dies: 503 at
    # once, not at the end of a window.
    w0 = min(bound0, key=lambda w: wslot[w])
    conns[w0].send(b"GET /widget-service/connectors/slow/execute HTTP/1.1"
                   b"\r\nHost: localhost\r\n\r\n")
    time.sleep(0.3)
    os.kill(kslot[0], signal.SIGKILL)
    t = time.monotonic()
    r = conns[w0].response()
    check(r is not None and r[0] == 503 and envelope(r[2])[0] ==
          "UNAVAILABLE" and time.monotonic() - t < 2,
          "a call in flight when its keeper dies: 503 UNAVAILABLE within "
          "%.2f s" % (time.monotonic() - t))

    # Dying again and again, keeper 0 is started after a growing delay
    # (100 ms doubling): after its sixth death (the first after a long
    # life), 1.6 s without it.  Meanwhile only its workers answer 503.
    for n in range(2, 7):
        k = wait_for(lambda: [p for p, r in d.children("keeper").items()
                              if p not in keepers.keys() | {kslot[0]}], 10)
        if not k:
            fail("keeper 0 was not started again")
        kslot[0] = k[0]
        keepers[k[0]] = "keeper"
        os.kill(k[0], signal.SIGKILL)
    t = time.monotonic()
    down = {}
    for w in sorted(conns, key=lambda w: wslot[w]):
        s, _, b = call(conns[w])
        down[wslot[w]] = s if s == 200 else "%d %s" % (s, envelope(b)[0])
    elapsed = time.monotonic() - t
    check(elapsed < 1.5 and all(down[wslot[w]] == "503 UNAVAILABLE"
                                for w in bound0) and
          all(down[wslot[w]] == 200 for w in bound1),
          "keeper 0 dead: workers 0 and 2 answer 503 UNAVAILABLE, 1 and 3 "
          "200 (%s, %.2f s)" % (down, elapsed))
    check(kslot[1] in d.children("keeper"), "keeper 1 untouched")
    back = wait_for(lambda: all(call(conns[w])[0] == 200 for w in bound0),
                    15, step=0.2)
    check(back, "keeper 0 back: its workers answer 200 again (%.1f s after "
          "its last death)" % (time.monotonic() - t))
    check(set(d.children("worker")) == workers_before,
          "no worker was taken down with its keeper")
    check(all(call(c)[0] == 200 for c in conns.values()),
          "every kept-alive connection still works")
    st = status(d)
    k0 = [p for p in st["processes"] if p["role"] == "keeper" and
          p["slot"] == 0][0]
    check(k0["respawns"] == 6, "status: keeper 0 started again 6 times "
          "(%d)" % k0["respawns"])
    check(all(p["respawns"] == 0 for p in st["processes"]
              if p["role"] != "keeper" or p["slot"] != 0),
          "status: no other process was started again")
    check("crash loop" in d.logtext(), "the crash loop is logged")
    for c in conns.values():
        c.close()
    conns = {}
finally:
    for c in conns.values():
        c.close()
    d.cleanup()

# keepers > workers: clamped to workers.
for workers, keepers in ((2, 5), (1, 64)):
    d = Daemon(workers=workers, keepers=keepers, egress=TEST_EGRESS)
    try:
        d.connectors({"name": "Echo", "permalink": "echo", "method": "GET",
                      "url": up.url("/echo")})
        d.start()
        ks = d.children("keeper")
        check(len(ks) == workers, "workers = %d, keepers = %d: %d keepers "
              "run" % (workers, keepers, len(ks)))
        check("started: %d keepers, %d workers" % (workers, workers) in
              d.logtext(), "the log says %d keepers" % workers)
        st = status(d)
        check(sorted(p["slot"] for p in st["processes"]
                     if p["role"] == "keeper") == list(range(workers)),
              "status lists keeper slots 0..%d" % (workers - 1))
        s, _, _ = d.call("GET", "/widget-service/connectors/echo/execute")
        check(s == 200, "calls work")
        if workers == 2:
            # 5 -> 3: still clamped to 2, the same processes.
            before = set(d.children())
            d.keepers = 3
            d.write_conf()
            r = d.widgetctl("reload")
            check(r.returncode == 0 and set(d.children()) == before,
                  "reload keepers 5 -> 3 (both clamped to 2): in place")
            d.keepers = 1
            d.write_conf()
            r = d.widgetctl("reload")
            check(r.returncode == 0 and not (set(d.children()) & before)
                  and len(d.children("keeper")) == 1,
                  "reload keepers 3 -> 1: new processes, one keeper")
    finally:
        d.cleanup()
up.close()
print("# keepers: %.1f s" % (time.monotonic() - T0))
