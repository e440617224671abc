"""Large answers (issue 7; limits.upstream_body defaults to 10 MiB): a
1 MiB answer comes back byte for byte, as it came or through a response
template, and once the processes have served a few, another costs the
keeper and the worker no new memory from the kernel.  Each step of a call
holds a buffer of the answer's size (egress's body, the frame to the
worker, which the worker's reply is sent from); a heap that maps such blocks
afresh, or hands them back after each call, faults on every page of
every one on every call (before the fix: about 29 times nginx's CPU for
a 1 MiB answer, contrib/bench/run S1L).  Counted with the minor page
faults of /proc/PID/stat, not with time."""

import concurrent.futures
import hashlib
import http.client
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check, sanitized  # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import execute                        # noqa: E402

# About 750 KB of JSON: 7,000 records.
DOC = json.dumps({"items": [
    {"id": i, "name": "Widget %04d" % i, "price": round(1.25 + i % 90, 2),
     "description": "A sturdy widget for everyday use, number %d." % i}
    for i in range(7000)]}, separators=(",", ":")).encode()
assert len(DOC) > 700 * 1024
LARGE = 1 << 20
# One page fault per 4 KiB page: a fresh 1 MiB buffer is 256 of them.
PAGES_PER_CALL = 64


def minflt(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


up = Upstream()
big = bytes((i * 7 + 3) % 256 for i in range(256)) * (LARGE // 256)
up.route("/bin", lambda r: (200, {"Content-Type": "application/octet-stream"},
                            big))
up.route("/doc", lambda r: (200, {"Content-Type": "application/json"}, DOC))
d = Daemon(workers=1, keepers=1, egress=TEST_EGRESS)
try:
    d.connectors(
        {"name": "bin", "permalink": "bin", "method": "GET",
         "url": up.url("/bin")},
        {"name": "ids", "permalink": "ids", "method": "GET",
         "url": up.url("/doc"),
         "response_body": "{% set rows = (response.body | from_json)"
                          "['items'] %}"
                          "{{ rows | map(attribute='id') | sum }} "
                          "{{ rows | length }} {{ rows[-1].name }}"})
    d.start()
    want = hashlib.sha256(big).hexdigest()
    total = sum(range(7000))

    def get(conn, permalink):
        conn.request("GET", execute(permalink))
        r = conn.getresponse()
        return r.status, r.read()

    def calls(n, width, permalinks):
        """n calls of each connector over width keep-alive connections:
        a connection's reply buffer outlives its call, as a browser's
        does (calls on fresh connections did not show the worker's
        faults)."""
        def run(k):
            conn = http.client.HTTPConnection("127.0.0.1", d.port,
                                              timeout=30)
            try:
                for i in range(k, n, width):
                    if "bin" in permalinks:
                        st, b = get(conn, "bin")
                        check(st == 200 and len(b) == LARGE and
                              hashlib.sha256(b).hexdigest() == want,
                              "1 MiB as it came, call %d: %d, %d bytes" % (
                                  i, st, len(b)))
                    if "ids" in permalinks:
                        st, b = get(conn, "ids")
                        check(st == 200 and
                              b == b"%d 7000 Widget 6999" % total,
                              "a template over %d bytes, call %d: %d %r" % (
                                  len(DOC), i, st, b[:80]))
            finally:
                conn.close()
        with concurrent.futures.ThreadPoolExecutor(width) as ex:
            for f in [ex.submit(run, k) for k in range(width)]:
                f.result()

    procs = None
    # The answer as it came on one connection first: a template's larger
    # blocks would raise glibc's own threshold and hide the worker's
    # faults.  Then both, four connections at a time: answers in flight
    # together, freed together.  Each after a warm-up of its own, which
    # may grow the heap to what it needs.
    for width, permalinks in ((1, ("bin",)), (4, ("bin", "ids"))):
        calls(4 * width, width, permalinks)
        if procs is None:
            procs = d.children()
            roles = sorted(procs.values())
            check(roles == ["keeper", "worker"],
                  "one keeper, one worker: %s" % roles)
        before = {pid: minflt(pid) for pid in procs}
        n = 8
        calls(n, width, permalinks)
        check(sorted(d.children()) == sorted(procs),
              "the same processes served every call")
        # A sanitizer's allocator holds freed blocks back on purpose.
        if sanitized():
            print("# sanitizer build: page faults not counted", flush=True)
            continue
        for pid, role in sorted(procs.items()):
            per = (minflt(pid) - before[pid]) / float(n * len(permalinks))
            check(per < PAGES_PER_CALL,
                  "%s on %d connection%s: the %s takes no fresh memory per "
                  "large answer: %.1f page faults per call (under %d; a "
                  "fresh 1 MiB block is 256)" % (
                      " and ".join(permalinks), width,
                      "s" if width > 1 else "", role, per, PAGES_PER_CALL))

    # The worker sends a large answer from the frame it came in (no copy
    # into the connection's output), and frees the frame once written:
    # also when the caller went away before reading it.
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" %
                   execute("bin")).encode())
        s.recv(1)
        s.close()
    calls(2, 1, ("bin",))
    check(sorted(d.children()) == sorted(procs),
          "callers gone before their 1 MiB answer: the same processes "
          "serve the next call")
finally:
    d.cleanup()
    up.close()
