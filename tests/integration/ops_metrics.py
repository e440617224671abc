"""Prometheus metrics (issue 14): the metrics listener answers GET /metrics
in the text format, the values match the traffic the test sent (requests
by tenant, connector and status; upstream requests and the latency
histogram; token fetches), counters survive a worker's death, the
parent's numbers (processes, respawns) are right, and neither listener
serves the other's paths."""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from promtext import samples, total, value  # noqa: E402
from upstream import Upstream  # noqa: E402
from wdtest import (TEST_EGRESS, Daemon, check, free_port,  # noqa: E402
                    request, wait_for)

up = Upstream()
up.route("/boom", lambda req: (500, {}, b'{"error":"boom"}'))
up.route("/cached", lambda req: (200, {"Content-Type": "application/json",
                                       "Cache-Control": "max-age=600"},
                                 b'{"n":1}'))
up.route("/close", lambda req: (200, {"Connection": "close"}, b'{"n":2}'))
up.route("/token", lambda req: (200, {"Content-Type": "application/json"},
                                b'{"access_token":"t0k","expires_in":3600}'))
mport = free_port()
# A tenant id of the longest length allowed: every label carries it whole.
T = ("tenant-" + "x" * 64)[:64]
d = Daemon(workers=2, egress=TEST_EGRESS,
           extra='metrics = { address = "127.0.0.1"; port = %d; };' % mport,
           tenants=['{ id = "%s"; registry = "reg.json"; store = "store"; }'
                    % T])
d.connectors(
    {"name": "ok", "permalink": "ok", "method": "GET",
     "url": up.url("/ok")},
    {"name": "boom", "permalink": "boom", "method": "GET",
     "url": up.url("/boom")},
    {"name": "cached", "permalink": "cached", "method": "GET",
     "url": up.url("/cached")},
    {"name": "closer", "permalink": "closer", "method": "GET",
     "url": up.url("/close")},
    {"name": "oauth", "permalink": "oauth", "method": "GET",
     "url": up.url("/api"),
     "authentication": {"type": "oauth_client_credentials", "config": {
         "client_id": "id", "client_secret": "{{ get_secret('cs') }}",
         "token_url": up.url("/token")}}})
d.set_secret("cs", "client-secret-value")


def scrape():
    st, hdrs, body = request(mport, "GET", "/metrics")
    check(st == 200, "GET /metrics: %d" % st)
    ct = hdrs.get("content-type", "")
    check(ct.startswith("text/plain; version=0.0.4"),
          "metrics content type: %r" % ct)
    return samples(body.decode())


def req_total(s, conn, status):
    return value(s, "widgetd_requests_total", tenant=T,
                 connector=conn, status=str(status)) or 0


try:
    d.start()
    for _ in range(5):
        st, _, _ = d.call("GET", "/widget-service/connectors/ok/execute")
        check(st == 200, "ok: %d" % st)
    for _ in range(3):
        st, _, _ = d.call("GET", "/widget-service/connectors/boom/execute")
        check(st == 500, "boom passes the upstream's 500: %d" % st)
    for _ in range(2):
        st, _, _ = d.call("GET", "/widget-service/connectors/nope/execute")
        check(st == 404, "nope: %d" % st)
    for _ in range(2):
        st, _, _ = d.call("GET", "/widget-service/connectors/oauth/execute")
        check(st == 200, "oauth: %d" % st)

    # Children push once a second: wait for the counts, not a time.
    def settled():
        s = scrape()
        return s if (req_total(s, "ok", 200) == 5 and
                     req_total(s, "boom", 500) == 3 and
                     req_total(s, "-", 404) == 2 and
                     req_total(s, "oauth", 200) == 2 and
                     total(s, "widgetd_upstream_requests_total") == 10) \
            else None
    s = wait_for(settled, 15)
    if not s:
        s = scrape()
        print("\n".join("%s %s %s" % (n, dict(ls), v)
                        for (n, ls), v in sorted(s.items(), key=str)
                        if "requests" in n))
    check(s, "requests_total matches the traffic: 5 ok/200, 3 boom/500, "
          "2 unknown/404, 2 oauth/200, 10 upstream requests")
    check(value(s, "widgetd_upstream_requests_total", tenant=T,
                connector="boom") == 3, "3 upstream requests of boom")
    # One after the other, the calls (and the token's) share the one
    # connection the first call opened, which then waits for the next.
    conns = [(dict(ls)["connector"], v) for (n, ls), v in s.items()
             if n == "widgetd_upstream_new_connections_total" and v]
    check(conns == [("ok", 1)] and len(up.connections) == 1,
          "one new upstream connection, ok's (%r; the upstream saw %d)" %
          (conns, len(up.connections)))
    check(value(s, "widgetd_upstream_idle_connections") == 1,
          "one idle upstream connection")
    # The histogram: cumulative buckets, +Inf equals _count equals traffic.
    buckets = sorted(((float(dict(ls)["le"]), v) for (n, ls), v in s.items()
                      if n == "widgetd_upstream_duration_seconds_bucket" and
                      dict(ls)["connector"] == "ok"), key=lambda x: x[0])
    check(len(buckets) == 13, "13 buckets: %d" % len(buckets))
    check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
          "buckets are cumulative")
    check(buckets[-1][0] == float("inf") and buckets[-1][1] == 5,
          "+Inf bucket counts 5: %r" % (buckets[-1],))
    check(value(s, "widgetd_upstream_duration_seconds_count", tenant=T,
                connector="ok") == 5, "histogram _count 5")
    hsum = value(s, "widgetd_upstream_duration_seconds_sum", tenant=T,
                 connector="ok")
    check(hsum is not None and 0 < hsum < 5 * 15, "histogram _sum: %r" % hsum)
    # One token fetch served both oauth calls (the token is cached).
    check(value(s, "widgetd_token_fetches_total", tenant=T,
                connector="oauth") == 1, "one token fetch: %r" % [
        (n, dict(ls), v) for (n, ls), v in s.items() if "token" in n])
    check(total(s, "widgetd_token_fetch_failures_total") == 0,
          "no token failure")
    check(value(s, "widgetd_processes", role="worker") == 2 and
          value(s, "widgetd_processes", role="keeper") == 1,
          "processes by role")
    check(value(s, "widgetd_respawns_total", role="worker") == 0,
          "no respawn yet")
    check(value(s, "widgetd_keeper_queue_depth") == 0, "queue empty")
    check(value(s, "widgetd_config_generation") == 1, "generation 1")
    info = [dict(ls) for (n, ls) in s if n == "widgetd_build_info"]
    check(len(info) == 1 and value(s, "widgetd_build_info", **info[0]) == 1
          and sorted(info[0]) == ["commit", "version"],
          "build_info with version and commit (%r)" % info)
    # The same commit as widgetd -V names (options.py checks it is HEAD's).
    v = subprocess.run([d.binary, "-V"], capture_output=True, text=True)
    check(info and (("(commit %s)" % info[0]["commit"]) in v.stdout if
                    info[0]["commit"] else "(commit" not in v.stdout),
          "build_info's commit is -V's (%r, %r)" % (info, v.stdout))

    # widgetctl status: the queue and cache line, and per connector what
    # reached the upstream (UPSTREAM column) beside the calls.
    r = d.widgetctl("status")
    text = r.stdout.decode()
    check(r.returncode == 0 and re.search(
        r"^keeper queue 0, calls in flight 0, cache 0 entries \(0 bytes\)",
        text, re.M), "status: queue and cache: %s" % text)
    check(re.search("^" + T + r"\s+ok\s+connector\s+5\s+0\s+0\s+0\s+5\s+"
                    r"0\s+0\s+200:5$", text, re.M),
          "status: ok's row: %s" % text)
    check(re.search(r"^keeper queue .*, upstream connections idle 1$",
                    text, re.M), "status: idle connections: %s" % text)
    js = json.loads(d.widgetctl("status", "--json").stdout)
    check(js.get("keeper_queue") == 0 and "cache_bytes" in js,
          "status --json has the queue and the cache size")

    # An upstream that closes after each answer: the first call takes the
    # connection that waited, the next two open one each (counted for
    # closer), and none is left waiting.
    for _ in range(3):
        st, _, _ = d.call("GET", "/widget-service/connectors/closer/execute")
        check(st == 200, "closer: %d" % st)

    def closer_counted():
        s = scrape()
        return s if value(s, "widgetd_upstream_new_connections_total",
                          tenant=T, connector="closer") == 2 else None
    s = wait_for(closer_counted, 15)
    check(s and value(s, "widgetd_upstream_new_connections_total",
                      tenant=T, connector="ok") == 1 and
          value(s, "widgetd_upstream_idle_connections") == 0 and
          len(up.connections) == 3,
          "2 new connections for closer, none idle (upstream saw %d)"
          % len(up.connections))
    js = json.loads(d.widgetctl("status", "--json").stdout)
    rows = [c for c in js.get("connectors", [])
            if c.get("permalink") == "closer"]
    check(js.get("upstream_idle_connections") == 0 and rows and
          rows[0].get("upstream_new_connections") == 2,
          "status --json: idle connections and new ones per connector (%r)"
          % rows)

    # The response cache: 6 calls over 2 workers, each worker's first a
    # miss, the rest hits; the entries' gauge counts both workers'.
    for _ in range(6):
        st, _, _ = d.call("GET", "/widget-service/connectors/cached/execute")
        check(st == 200, "cached: %d" % st)
    misses = len(up.seen("/cached"))

    def cache_counted():
        s = scrape()
        h = value(s, "widgetd_cache_hits_total", tenant=T,
                  connector="cached") or 0
        m = value(s, "widgetd_cache_misses_total", tenant=T,
                  connector="cached") or 0
        return (h, m, value(s, "widgetd_cache_entries")) \
            if h + m == 6 else None
    got = wait_for(cache_counted, 15)
    check(got and got[1] == misses and 1 <= misses <= 2 and
          got[0] == 6 - misses and got[2] == misses,
          "cache hits and misses counted as the upstream saw them, entries "
          "gauged (%r, %d upstream calls)" % (got, misses))

    # A worker killed: its counters stay, the respawn is counted.
    w = next(p for p, r in d.children().items() if r == "worker")
    os.kill(w, signal.SIGKILL)

    def respawned():
        # A scrape handed to the dying worker is lost, as a browser
        # connection would be: Prometheus scrapes again.
        try:
            s = scrape()
        except OSError:
            return None
        return s if value(s, "widgetd_respawns_total", role="worker") == 1 \
            and value(s, "widgetd_processes", role="worker") == 2 else None
    s = wait_for(respawned, 20)
    check(s, "the respawn is counted and a new worker runs")
    check(req_total(s, "ok", 200) == 5 and req_total(s, "boom", 500) == 3,
          "counters do not go backwards when a worker dies")

    # Each listener serves only its own paths.
    st, _, _ = d.call("GET", "/metrics")
    check(st == 404, "no metrics on the browser listener: %d" % st)
    st, _, _ = request(mport, "GET", "/widget-service/health")
    check(st == 404, "no API on the metrics listener: %d" % st)
    st, _, _ = request(mport, "GET", "/widget-service/connectors/ok/execute")
    check(st == 404, "no connector on the metrics listener: %d" % st)
    st, _, _ = request(mport, "POST", "/metrics")
    check(st == 404, "only GET /metrics: %d" % st)
    n = len(up.seen("/ok"))
    check(n == 5, "the metrics listener never called an upstream: %d" % n)
    # A scrape is not a browser request: no access line for it.
    check("/metrics" not in "".join(l for l in d.logtext().splitlines()
                                    if "access:" in l and "mport" in l),
          "scrapes are not logged as requests")
    print("PASS: metrics")
finally:
    d.cleanup()
    up.close()
