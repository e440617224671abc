"""Bodies under abuse (issue 9): a request is routed before its body is
read, so a path that takes no body (a 404, health, a GET connector) is
answered without buffering it; the bodies a worker does buffer share
limits.body_budget (413 for one larger than it, 503 while the bodies in
progress leave no room); the answer arrives whole although the body is
never read (lingering close)."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Conn, Daemon, check, need_root, \
    read_all, wait_for  # noqa: E402
from upstream import Upstream  # noqa: E402
from abuseutil import answer_without_body, head  # noqa: E402

need_root()

MIB = 1 << 20


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def execute(permalink):
    return "/widget-service/connectors/%s/execute" % permalink


up = Upstream()
d = Daemon(workers=1, egress=TEST_EGRESS,
           limits="request_body = 4194304; body_budget = 1048576; "
           "header_timeout = 30;")
try:
    d.connectors(
        {"name": "fwd", "permalink": "fwd", "method": "POST",
         "url": up.url("/fwd")},
        {"name": "get", "permalink": "get", "method": "GET",
         "url": up.url("/get")})
    d.start()

    # Routed before the body: each answered with 3 MiB declared and not
    # one byte of it sent (before, the worker waited to buffer it all).
    for method, path, want in (
            ("POST", "/widget-service/nope", 404),
            ("POST", "/widget-service/health", 404),
            ("GET", "/widget-service/health", 200),
            ("GET", execute("get"), 200),
            ("POST", execute("get"), 400),
            ("POST", execute("missing"), 404)):
        st, hdrs, took = answer_without_body(d.port, method, path, 3 * MIB)
        check(st == want and took < 10,
              "%s %s with 3 MiB declared, none sent: %s at once "
              "(%s, %.1f s)" % (method, path, want, st, took))
        check(hdrs.get("connection") == "close",
              "%s %s: and the connection closes (its body is never "
              "read)" % (method, path))

    # A connector that takes a body still gets it, and Expect gets 100.
    c = Conn(d.port)
    c.send(head("POST", execute("fwd"), 5, "Expect: 100-continue\r\n"))
    r = c.response()
    check(r is not None and r[0] == 100, "a body route: 100-continue first")
    n = len(up.requests)
    c.send(b'"abc"')
    r = c.response()
    check(r is not None and r[0] == 200 and len(up.requests) == n + 1 and
          up.requests[-1].body == b'"abc"',
          "then the body reaches the upstream and the answer is 200")
    c.close()

    # The body budget (1 MiB): one request holds 900 KiB of it ...
    a = Conn(d.port, timeout=20)
    a.send(head("POST", execute("fwd"), 900 * 1024) + b'"')
    time.sleep(0.3)
    # ... so a second of 200 KiB finds no room: 503 at once.
    st, hdrs, took = answer_without_body(d.port, "POST", execute("fwd"),
                                         200 * 1024)
    check(st == 503 and took < 10, "the budget spent: 503 at once (%s)" %
          st)
    # One larger than the whole budget can never fit: 413.
    st, hdrs, took = answer_without_body(d.port, "POST", execute("fwd"),
                                         2 * MIB)
    check(st == 413, "a body larger than limits.body_budget: 413 (%s)" % st)
    # The first completes; its share is free again.
    a.send(b"x" * (900 * 1024 - 2) + b'"')
    r = a.response()
    check(r is not None and r[0] == 200, "the request holding the budget "
          "completes (%s)" % (r[0] if r else None))
    a.close()
    c = Conn(d.port)
    body = b'"' + b"y" * (200 * 1024 - 2) + b'"'
    c.send(head("POST", execute("fwd"), len(body)) + body)
    r = c.response()
    check(r is not None and r[0] == 200, "then a 200 KiB body fits again")
    c.close()

    # A chunked body is counted as it grows.
    a = Conn(d.port, timeout=20)
    a.send(head("POST", execute("fwd"), 900 * 1024) + b'"')
    time.sleep(0.3)
    c = Conn(d.port, timeout=20)
    c.send(b"POST %s HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: "
           b"chunked\r\n\r\n" % execute("fwd").encode())
    chunk = b"z" * (64 * 1024)
    try:
        for _ in range(4):
            c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except OSError:
        pass
    r = c.response()
    check(r is not None and r[0] == 503,
          "a chunked body that outgrows the budget: 503 (%s)" %
          (r[0] if r else None))
    c.close()
    a.close()

    # Memory: 64 clients each declare 3 MiB to health and send 1 MiB of
    # it.  Nothing of it is kept (before: 64 MiB in the worker).
    w = list(d.children("worker"))[0]
    before = rss_kb(w)
    socks = []
    for _ in range(64):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=20)
        s.sendall(head("POST", "/widget-service/health", 3 * MIB))
        socks.append(s)
    for s in socks:
        try:
            s.sendall(b"x" * MIB)
        except OSError:
            pass
    time.sleep(0.5)
    grew = rss_kb(w) - before
    for s in socks:
        s.close()
    check(grew < 32 * 1024, "64 bodies of 1 MiB to health: the worker "
          "grew %d KiB (under 32 MiB)" % grew)

    # The 404 with 3 MiB unread (1 MiB already sent): the whole answer,
    # then the end of file, no reset.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=20)
    s.sendall(head("POST", "/widget-service/nope", 3 * MIB) + b"x" * MIB)
    time.sleep(1.5)
    data, err = read_all(s)
    s.close()
    check(data.startswith(b"HTTP/1.1 404 ") and err is None,
          "404 with its body unread: the whole answer, no reset (%r)" % err)
    check(wait_for(lambda: d.children("worker") and
                   w in d.children("worker"), 1),
          "the worker is still the same one")
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
    up.close()
