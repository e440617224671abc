"""Scale-out (issue 14): two widgetd instances behind HAProxy
(contrib/haproxy/haproxy.cfg, as shipped) on loopback, sharing a
redis-server this test starts on a loopback port.  A connector's upstream
rate holds across both instances (the upstream never sees more than the
configured rate, while both instances serve), and SIGTERM to one
instance under load loses no request: HAProxy sends new connections to
the other, and the draining one finishes what it has."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream  # noqa: E402
from wdtest import (Daemon, check, envelope, free_port, request,  # noqa: E402
                    wait_for)

for tool in ("haproxy", "redis-server"):
    if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
        print("SKIP: %s is not installed (contrib/install-deps installs "
              "it)" % tool)
        sys.exit(77)
haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
src = os.environ.get("top_srcdir", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))
cfg = os.path.join(src, "contrib", "haproxy", "haproxy.cfg")

RATE = 4
up = Upstream()
rport = free_port()
redis = subprocess.Popen(
    ["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
     "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def redis_ping():
    try:
        with socket.create_connection(("127.0.0.1", rport), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


EGRESS = """egress = { allow_http = true; allow_networks = [ "127.0.0.0/8" ];
    timeout = 5; };"""
REDIS = 'redis = { address = "127.0.0.1"; port = %d; prefix = "it%d"; };' % (
    rport, os.getpid())
ds = [Daemon(workers=2, egress=EGRESS, extra=REDIS, drain=20)
      for _ in range(2)]
for d in ds:
    d.connectors(
        {"name": "rated", "permalink": "rated", "method": "GET",
         "url": up.url("/rated"),
         "widgetd": {"limits": {"rate": RATE}}},
        {"name": "plain", "permalink": "plain", "method": "GET",
         "url": up.url("/plain")})
hport = free_port()
hp = None


def front(path):
    return request(hport, "GET", path, timeout=20)


def parallel(n, path):
    out = [None] * n

    def one(i):
        try:
            out[i] = front(path)
        except OSError as e:
            out[i] = (0, {}, repr(e).encode())
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


try:
    check(wait_for(redis_ping, 10), "redis-server answers")
    for d in ds:
        d.start()
    env = dict(os.environ, WIDGETD_FRONT="127.0.0.1:%d" % hport,
               WIDGETD_1="127.0.0.1:%d" % ds[0].port,
               WIDGETD_2="127.0.0.1:%d" % ds[1].port)
    p = subprocess.run([haproxy, "-c", "-f", cfg], env=env,
                       capture_output=True)
    check(p.returncode == 0, "haproxy -c accepts contrib/haproxy: %r" %
          (p.stdout + p.stderr))
    hp = subprocess.Popen([haproxy, "-db", "-f", cfg], env=env,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    plain = "/widget-service/connectors/plain/execute"

    def through():
        try:
            return front(plain)[0] == 200
        except OSError:
            return False    # HAProxy is still starting
    check(wait_for(through, 20), "HAProxy reaches widgetd")
    for d in ds:
        check(wait_for(lambda: "connector rates are shared" in d.logtext(),
                       10), "each keeper uses the shared redis")

    # The shared rate: 40 calls at once through HAProxy, spread over both
    # instances; the upstream sees them at most RATE a second.
    res = parallel(40, "/widget-service/connectors/rated/execute")
    ok = [r for r in res if r[0] == 200]
    for r in res:
        if r[0] != 200:
            check(r[0] == 429 and envelope(r[2])[0] ==
                  "UPSTREAM_RATE_LIMITED" and "retry-after" in r[1],
                  "refused with 429 and Retry-After: %r" %
                  ((r[0], r[2][:200]),))
    times = sorted(q.time for q in up.seen("/rated"))
    check(len(times) == len(ok), "upstream calls = answers: %d, %d" %
          (len(times), len(ok)))
    check(len(ok) >= 8, "the window let several through: %d" % len(ok))
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Reservations are RATE a second apart; a loaded machine may send
    # one late and the next on time, so allow half an interval of jitter
    # (unshared, two instances would send pairs at once).
    check(min(gaps) >= 0.5 / RATE, "calls spaced at the rate: smallest "
          "gap %.3f s" % min(gaps))
    most = max(sum(1 for t in times if t0 <= t < t0 + 1) for t0 in times)
    check(most <= RATE + 1, "the upstream never saw more than %d in a "
          "second across both instances: %d" % (RATE, most))
    span = times[-1] - times[0]
    check(span >= (len(times) - 1) * 0.9 / RATE,
          "%d calls over %.2f s" % (len(times), span))
    def served():
        return [sum(1 for l in d.logtext().splitlines()
                    if "access:" in l and "rated" in l and '" 200 ' in l)
                for d in ds]
    # Access records reach the log through the parent: wait for the last.
    wait_for(lambda: sum(served()) >= len(ok), 10)
    check(all(n > 0 for n in served()) and sum(served()) == len(ok),
          "both instances served the rated calls: %r of %d" % (served(),
                                                               len(ok)))

    # SIGTERM under load: every request is answered 200.
    stop = threading.Event()
    results = []
    rlock = threading.Lock()

    def load():
        while not stop.is_set():
            try:
                st = front(plain)[0]
            except OSError as e:
                st = repr(e)
            with rlock:
                results.append(st)
    ts = [threading.Thread(target=load) for _ in range(6)]
    for t in ts:
        t.start()
    time.sleep(2)
    before = len(results)
    ds[0].signal(signal.SIGTERM)
    rc = wait_for(lambda: ds[0].proc.poll() is not None, 30)
    time.sleep(2)
    stop.set()
    for t in ts:
        t.join(30)
    bad = [s for s in results if s != 200]
    check(ds[0].proc.returncode == 0, "the instance drained and exited 0: "
          "%r" % ds[0].proc.returncode)
    check(before > 0 and len(results) > before,
          "load before and after the SIGTERM: %d, %d" % (before,
                                                         len(results)))
    check(not bad, "no request lost: %d of %d failed: %r" % (
        len(bad), len(results), bad[:5]))
    print("PASS: scale-out (%d requests under SIGTERM)" % len(results))
finally:
    if hp is not None:
        hp.terminate()
        hp.wait(10)
    for d in ds:
        d.cleanup()
    redis.terminate()
    redis.wait(10)
    up.close()
