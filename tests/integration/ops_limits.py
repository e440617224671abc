"""Limits (issue 14): the client rate refuses with 429 RATE_LIMITED and
Retry-After; a connector's upstream rate and concurrency hold what the
upstream sees to the configured numbers, queue within the window and then
refuse (429 UPSTREAM_RATE_LIMITED, 503 UPSTREAM_BUSY, with Retry-After);
an upstream's 429 with Retry-After pauses that connector only; retries
of idempotent calls (network errors, 429 and 5xx, after the backoff or
the upstream's Retry-After) stay within the window; a retry on POST is a
load error."""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream  # noqa: E402
from wdtest import Daemon, check, envelope, wait_for  # noqa: E402

up = Upstream()
lock = threading.Lock()
state = {"inflight": 0, "max_inflight": 0, "flaky": 0, "pause": 0,
         "drop": 0, "ra": 0}


def slow(req):
    with lock:
        state["inflight"] += 1
        state["max_inflight"] = max(state["max_inflight"], state["inflight"])
    time.sleep(2.5)
    with lock:
        state["inflight"] -= 1
    return 200, {"Content-Type": "application/json"}, b'{"slow":true}'


def flaky(req):
    # 503, 503, then 200.
    with lock:
        state["flaky"] += 1
        n = state["flaky"]
    return (503, {}, b"busy") if n < 3 else (200, {}, b'{"ok":1}')


def pause(req):
    # The first call is asked to wait 3 s; no second one may come before.
    with lock:
        state["pause"] += 1
        n = state["pause"]
    if n == 1:
        return 429, {"Retry-After": "3"}, b"slow down"
    return 200, {}, b'{"ok":2}'


def drop(req):
    # The first connection closes without an answer; then 200.
    with lock:
        state["drop"] += 1
        n = state["drop"]
    return None if n == 1 else (200, {}, b'{"ok":3}')


def ra(req):
    with lock:
        state["ra"] += 1
        n = state["ra"]
    return (429, {"Retry-After": "1"}, b"") if n == 1 else (200, {}, b"{}")


up.route("/slow", slow)
up.route("/flaky", flaky)
up.route("/pause", pause)
up.route("/drop", drop)
up.route("/later", ra)

EGRESS = """egress = { allow_http = true; allow_networks = [ "127.0.0.0/8" ];
    timeout = 8; };"""
d = Daemon(workers=1, egress=EGRESS,
           limits="client_rate = 0.5; client_burst = 3;")


def conn(name, path, ext=None, method="GET"):
    c = {"name": name, "permalink": name, "method": method,
         "url": up.url(path)}
    if ext is not None:
        c["widgetd"] = ext
    return c


d.connectors(
    conn("free", "/free"),
    conn("rate", "/rate", {"limits": {"rate": 2}}),
    conn("busy", "/slow", {"limits": {"concurrency": 1}}),
    conn("pause", "/pause"),
    conn("flaky", "/flaky", {"retry": {"attempts": 3, "backoff": 0.1}}),
    conn("drop", "/drop", {"retry": {"attempts": 2, "backoff": 0.1}}),
    conn("ra", "/later", {"retry": {"attempts": 2, "backoff": 0.1}}))


def call(name, headers=()):
    st, hdrs, body = d.call("GET", "/widget-service/connectors/%s/execute" %
                            name, headers=headers)
    return st, hdrs, body


def parallel(name, n):
    out = [None] * n

    def one(i):
        out[i] = call(name)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


def refusal(r, status, code):
    st, hdrs, body = r
    check(st == status, "%d expected: %d %r" % (status, st, body[:200]))
    check(envelope(body)[0] == code, "code %s: %r" % (code, body[:200]))
    ra = hdrs.get("retry-after")
    check(ra is not None and ra.isdigit() and int(ra) >= 1,
          "%s carries Retry-After: %r" % (code, ra))
    return int(ra)


try:
    d.start()

    # Client rate: a burst of 3, then 429 with Retry-After.
    res = [call("free") for _ in range(6)]
    check(all(r[0] == 200 for r in res[:3]), "the burst goes through")
    refused = [r for r in res if r[0] == 429]
    check(refused, "the client is refused past its rate")
    for r in refused:
        refusal(r, 429, "RATE_LIMITED")
    time.sleep(1.2)

    # Let the client limit off for the rest (a reload, same processes).
    d.limits = ""
    d.write_conf()
    p = d.widgetctl("reload")
    check(p.returncode == 0, "reload: %r" % p.stderr)

    # Connector rate 2/s, burst 1: 20 calls at once; some wait their turn
    # within the window (8 s less a second: about 15), the rest get 429.
    t0 = time.monotonic()
    res = parallel("rate", 20)
    spent = time.monotonic() - t0
    ok = [r for r in res if r[0] == 200]
    check(len(ok) >= 2, "some calls within the rate: %d %r" % (
        len(ok), [(r[0], r[2][:120]) for r in res]))
    # 2/s, burst 1, over however long the calls took to arrive and end
    # (on a loaded machine "at once" can last seconds): never all 20 at
    # once.
    check(len(ok) <= 16 or len(ok) <= 2 + 2 * spent,
          "no more than the rate allows: %d in %.1f s" % (len(ok), spent))
    check(len(ok) < 20 or spent >= 9, "the window does not hold 20 at 2 "
          "a second (%.1f s)" % spent)
    for r in res:
        if r[0] != 200:
            refusal(r, 429, "UPSTREAM_RATE_LIMITED")
    times = sorted(q.time for q in up.seen("/rate"))
    check(len(times) == len(ok), "the upstream saw only the calls that "
          "went: %d of %d" % (len(times), len(ok)))
    # 2/s with a burst of 1: between any two arrivals at most 1 + 2 t
    # calls.  Arrival times carry the keeper's and the upstream's
    # scheduling jitter (on a loaded machine one late call makes the gap
    # after it short), so allow a quarter second either side; a limiter
    # that let calls through faster fails this over a few calls.
    over = [(j - i + 1, times[j] - times[i])
            for i in range(len(times)) for j in range(i + 1, len(times))
            if j - i + 1 > 1 + 2 * (times[j] - times[i]) + 0.5]
    check(not over, "the upstream never saw more than 2 a second: %r "
          "(calls, seconds) over the rate in %r" % (over[:5], [
              round(b - a, 3) for a, b in zip(times, times[1:])]))

    # Concurrency 1 with a 2.5 s upstream: one at a time; what cannot
    # start within the window gets 503 UPSTREAM_BUSY.
    res = parallel("busy", 5)
    check(state["max_inflight"] == 1,
          "one call at a time upstream: %d" % state["max_inflight"])
    ok = [r for r in res if r[0] == 200]
    busy = [r for r in res if r[0] != 200]
    check(ok and busy, "some served, some refused: %r" % [r[0] for r in res])
    for r in busy:
        refusal(r, 503, "UPSTREAM_BUSY")

    # The upstream's own 429 + Retry-After: passed on, then honoured for
    # this connector only.
    st, hdrs, _ = call("pause")
    check(st == 429 and hdrs.get("retry-after") == "3",
          "the upstream's 429 passes with its Retry-After: %d %r" %
          (st, hdrs.get("retry-after")))
    t1 = time.monotonic()
    r = call("pause")
    sec = refusal(r, 429, "UPSTREAM_RATE_LIMITED")
    check(sec <= 3, "Retry-After counts down: %d" % sec)
    check(len(up.seen("/pause")) == 1, "nothing sent during the pause")
    t2 = time.monotonic()
    st, _, _ = call("free")
    check(st == 200 and time.monotonic() - t2 < 2.5,
          "another connector is not held up")
    check(wait_for(lambda: call("pause")[0] == 200, 10),
          "the connector works again after its pause")
    check(up.seen("/pause")[1].time - up.seen("/pause")[0].time >= 2.9,
          "the second call came after Retry-After")

    # Retries: 503, 503, 200 becomes one 200 after three attempts.
    st, _, body = call("flaky")
    check(st == 200, "flaky retried to success: %d %r" % (st, body))
    check(len(up.seen("/flaky")) == 3, "three attempts: %d" %
          len(up.seen("/flaky")))
    # A connection closed without an answer: retried.
    st, _, _ = call("drop")
    check(st == 200 and len(up.seen("/drop")) == 2,
          "a network error retried: %d, %d attempts" %
          (st, len(up.seen("/drop"))))
    # A 429 with Retry-After: 1 is waited for, then retried.
    st, _, _ = call("ra")
    s = up.seen("/later")
    check(st == 200 and len(s) == 2, "429 retried: %d" % st)
    check(s[1].time - s[0].time >= 0.95,
          "the retry waited for Retry-After: %.2f s" % (s[1].time -
                                                         s[0].time))

    # Retries are never configured for POST (or PATCH).
    bad = os.path.join(d.dir, "bad.json")
    with open(bad, "w") as f:
        json.dump({"connectors": [conn("p", "/p", {"retry": {"attempts": 2}},
                                       method="POST")]}, f)
    p = d.widgetctl("check", bad)
    check(p.returncode == 1 and b"never made for POST" in p.stdout + p.stderr,
          "retry on POST refused at load: %r" % (p.stdout + p.stderr))
    with open(bad, "w") as f:
        json.dump({"connectors": [conn("q", "/q", {"limits": {"rate": 0},
                                                   "retry": {"tries": 2}})]},
                  f)
    p = d.widgetctl("check", bad)
    out = (p.stdout + p.stderr).decode()
    check(p.returncode == 1 and "widgetd.limits.rate" in out and
          'unknown field "tries"' in out and "attempts is required" in out,
          "the widgetd key is strict: %s" % out)

    # The metrics counted the refusals, by limit.
    print("PASS: limits")
finally:
    d.cleanup()
    up.close()
