"""HTTP framing end to end (issue 2): smuggling-shaped and malformed
requests are answered 4xx (or the connection is closed), and the worker
survives them: same processes, health 200.  Also keep-alive, pipelining
in order, the 404 envelope and its headers, limits and timeouts."""

import json
import os
import threading
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import (Conn, Daemon, build, check, envelope, request, wait_for)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                  r"[0-9a-f]{12}$")

BAD = [
    ("CL+TE", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("duplicate CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     b"Content-Length: 4\r\n\r\nabcd"),
    ("bad TE", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
     b"\r\nabcd"),
    ("TE chunked not last", b"POST / HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
    ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n"),
    ("NUL in header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
    ("oversize chunk", b"POST / HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nab\r\n"),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
    ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n"),
    ("negative CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n"
     b"\r\n"),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 40),
]

d = Daemon(workers=2, limits="header_bytes = 4096; request_body = 1024; "
           "header_timeout = 2; idle_timeout = 3;")
try:
    d.start()
    before = set(d.children())

    for name, raw in BAD:
        c = Conn(d.port)
        c.send(raw)
        r = c.response()
        if r is None:
            check(True, "%s: connection closed" % name)
        else:
            st, hdrs, body = r
            check(400 <= st < 500, "%s: answered %d" % (name, st))
            check(hdrs.get("connection", "").lower() == "close",
                  "%s: Connection: close" % name)
            check(c.response() is None, "%s: then closed" % name)
        c.close()

    # Limits: 431 for headers, 413 for a body.
    st, _, body = request(d.port, "GET", "/", headers=["X-Big: " + "a" * 5000])
    check(st == 431, "headers over header_bytes: 431 (%d)" % st)
    check(envelope(body)[0] == "HEADERS_TOO_LARGE", "431 envelope")
    c = Conn(d.port)
    r = c.request("POST", "/", body=b"x" * 2000)
    check(r[0] == 413, "body over request_body: 413 (%d)" % r[0])
    c.close()

    # 404 envelope and the headers every response carries.
    st, hdrs, body = request(d.port, "GET", "/widget-service/nope")
    code, doc = envelope(body)
    check(st == 404 and code == "NOT_FOUND", "unknown path: 404 NOT_FOUND")
    check(doc["success"] is False and doc["errors"]["params"] == [] and
          "scope" in doc["errors"] and "detail" in doc["errors"],
          "envelope shape")
    check(UUID.match(hdrs.get("x-request-id", "")) is not None,
          "X-Request-ID is a UUID v4")
    check(doc["request_id"] == hdrs["x-request-id"],
          "request_id matches X-Request-ID")
    check(hdrs.get("x-content-type-options") == "nosniff", "nosniff")
    check("total;dur=" in hdrs.get("server-timing", ""), "Server-Timing")
    check(hdrs.get("content-type", "").startswith("application/json"),
          "JSON content type")
    ids = {request(d.port, "GET", "/x")[1]["x-request-id"] for _ in range(5)}
    check(len(ids) == 5, "request ids differ")

    # Expect: 100-continue to a path that takes no body: routed before the
    # body, the final answer comes at once, no 100 (abuse_body.py has the
    # 100 of a connector that takes one).
    c = Conn(d.port)
    c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
           b"Content-Length: 5\r\n\r\n")
    r = c.response()
    check(r is not None and r[0] == 404,
          "Expect: 100-continue to a 404: the final answer, no 100")
    check(r[1].get("connection") == "close", "and the connection closes")
    c.close()
    # The access log (log.access_log, on by default) reaches the parent.
    check(wait_for(lambda: 'access: 127.0.0.1 - "GET /widget-service/nope" '
                   '404 -' in d.logtext(), 5),
          "access log line for a request")

    # A client that pipelines far more than it reads: the worker stops
    # reading when its output backs up, and every answer still arrives, in
    # order, once the client reads.
    n = 3000
    flood = b"".join(build("GET", "/p%d" % i) for i in range(n))
    f = Conn(d.port)
    sender = threading.Thread(target=f.send, args=(flood,))
    sender.start()
    time.sleep(1)
    ids = []
    for i in range(n):
        r = f.response()
        if r is None:
            break
        ids.append(json.loads(r[2])["request_id"])
    sender.join(30)
    check(len(ids) == n,
          "%d pipelined requests all answered (%d)" % (n, len(ids)))
    check(len(set(ids)) == n, "each with its own request id")
    check("output backed up, reading paused" in d.logtext(),
          "the worker paused reading meanwhile")
    f.close()

    # The same stream cut in two at many places: whatever a read leaves
    # (a piece of a head, the requests after one that waits for the
    # keeper) is kept for the next read, and answered in order.
    stream = (build("GET", "/widget-service/health") + build("GET", "/a") +
              build("GET", "/b") + build("GET", "/widget-service/health"))
    cuts = list(range(1, len(stream), 11)) + [len(stream) - 1]
    bad = []
    for cut in cuts:
        c = Conn(d.port)
        c.send(stream[:cut])
        time.sleep(0.01)
        c.send(stream[cut:])
        got = [(r or [None])[0] for r in (c.response() for _ in range(4))]
        if got != [200, 404, 404, 200]:
            bad.append((cut, got))
        c.close()
    check(not bad, "a pipelined stream cut at %d places: answers in "
          "order %s" % (len(cuts), bad[:3]))

    # Keep-alive and pipelining: answers in order on one connection.
    c = Conn(d.port)
    c.send(build("GET", "/widget-service/health") + build("GET", "/a") +
           build("GET", "/widget-service/health") + build("HEAD", "/b"))
    got = [c.response()[0], c.response()[0], c.response()[0],
           c.response(head=True)[0]]
    check(got == [200, 404, 200, 404], "pipelined answers in order %s" % got)
    check(c.request("GET", "/widget-service/health")[0] == 200,
          "connection kept alive")
    # Idle: a silent close after idle_timeout.
    t0 = time.monotonic()
    check(c.response() is None, "idle connection closed silently")
    check(time.monotonic() - t0 > 2, "not before idle_timeout")
    c.close()

    # A request started but not finished in time: 408.
    c = Conn(d.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
    r = c.response()
    check(r is not None and r[0] == 408, "slow headers: 408")
    c.close()
    # A request that is never started: silent close, no 408.
    c = Conn(d.port)
    check(c.response() is None, "no request at all: closed without answer")
    c.close()

    check(set(d.children()) == before, "no process died or was replaced")
    check(request(d.port, "GET", "/widget-service/health")[0] == 200,
          "health 200 afterwards")
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
