"""The execute route (issue 7, SPEC 5): a connector is called with its own
method and no other (400 METHOD_NOT_ALLOWED, nothing upstream); unknown
permalinks and other paths are 404; HEAD and OPTIONS connectors work.
Every response -- a success, each error, health, a 404 -- carries
X-Request-ID (a new UUID v4), Server-Timing, X-Connector-Timing
(platform-docs 18) and nosniff, and has an access line through the
parent with its request id, tenant, connector, status and upstream
status."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import (access_is, common, envelope, execute,  # noqa: E402
                     refused, seen_ids)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

up = Upstream()
d = Daemon(workers=2, egress=TEST_EGRESS)
try:
    conns = []
    for m in METHODS:
        conns.append({"name": "m " + m.lower(), "permalink": m.lower(),
                      "url": up.url("/m/" + m.lower()), "method": m})
    d.connectors(*conns)
    d.start()

    # Each connector answers its own method, and the upstream sees it.
    for m in METHODS:
        n = len(up.requests)
        body = b'{"a": 1}' if m in ("POST", "PUT", "PATCH") else b""
        st, h, b = d.call(m, execute(m.lower()), body=body)
        check(st == 200, "%s connector called with %s: 200 (%d)" %
              (m, m, st))
        seen = up.requests[n:]
        check(len(seen) == 1 and seen[0].method == m and
              seen[0].path == "/m/" + m.lower(),
              "%s connector: the upstream saw one %s" % (m, m))
        rid = common(h, "%s connector" % m, external="127.0.0.1")
        if m == "HEAD":
            check(b == b"", "HEAD: no body")
        else:
            check(b'"method": "%s"' % m.encode() in b,
                  "%s: the upstream's answer comes back" % m)
        access_is(d, rid, "%s connector" % m, "test", m.lower(), 200,
                  upstream="200", method=m, target=execute(m.lower()))

    # Every other method: 400 METHOD_NOT_ALLOWED, nothing upstream.
    for m in METHODS:
        for other in METHODS + ["TRACE"]:
            if other == m:
                continue
            what = "%s connector called with %s" % (m, other)
            if other == "HEAD":
                # A HEAD answer has no body: status and headers only.
                n = len(up.requests)
                st, h, b = d.call("HEAD", execute(m.lower()))
                check(st == 400 and b == b"", what + ": 400, no body")
                rid = common(h, what)
                check(len(up.requests) == n, what + ": the upstream saw "
                      "nothing")
            else:
                rid, _ = refused(d, up, other, execute(m.lower()), 400,
                                 "METHOD_NOT_ALLOWED", what,
                                 body=b"{}" if other in ("POST", "PUT",
                                                         "PATCH") else b"")
            access_is(d, rid, what, "test", m.lower(), 400,
                      error="METHOD_NOT_ALLOWED", method=other)

    # Unknown connectors: 404 CONNECTOR_NOT_FOUND, whatever the method.
    for name, path in (("unknown permalink", execute("nope")),
                       ("upper-case permalink", execute("GET")),
                       ("permalink with a double hyphen", execute("a--b")),
                       ("permalink with a dot", execute("get.x")),
                       ("permalink with a query", execute("nope") +
                        "?a=1")):
        rid, _ = refused(d, up, "GET", path, 404, "CONNECTOR_NOT_FOUND",
                         name)
        access_is(d, rid, name, "test", "-", 404,
                  error="CONNECTOR_NOT_FOUND", target=path)
    rid, _ = refused(d, up, "POST", execute("nope"), 404,
                     "CONNECTOR_NOT_FOUND", "unknown permalink by POST",
                     body=b"{}")

    # Paths that are no route: 404 NOT_FOUND.
    for path in ("/widget-service/connectors/get/run",
                 "/widget-service/connectors/get",
                 "/widget-service/connectors//execute",
                 "/widget-service/connectors/get/execute/x",
                 "/widget-service/", "/", "/widget-service/healthz"):
        rid, _ = refused(d, up, "GET", path, 404, "NOT_FOUND",
                         "path %s" % path)
        access_is(d, rid, "path %s" % path, "-", "-", 404)

    # Health: 200 with the same headers, no upstream, its access line.
    n = len(up.requests)
    st, h, b = d.call("GET", "/widget-service/health")
    check(st == 200 and b == b'{"status":"ok"}' and
          h.get("content-type") == "application/json", "health: 200 ok")
    rid = common(h, "health")
    check(len(up.requests) == n, "health: the upstream saw nothing")
    access_is(d, rid, "health", "-", "-", 200,
              target="/widget-service/health")
    st, h, b = d.call("HEAD", "/widget-service/health")
    check(st == 200 and b == b"", "health by HEAD: 200, no body")
    common(h, "health by HEAD")

    # Keep-alive: each request on one connection has its own id.
    from wdtest import Conn
    c = Conn(d.port)
    ids = set()
    for i in range(5):
        st, h, b = c.request("GET", execute("get"))
        check(st == 200, "keep-alive call %d: 200" % i)
        ids.add(common(h, "keep-alive call %d" % i, external="127.0.0.1"))
    c.close()
    check(len(ids) == 5, "five calls on one connection, five request ids")
    check(len(seen_ids) > 60, "%d responses, every X-Request-ID different"
          % len(seen_ids))
    # The envelope's request_id is the header's on a 404 too.
    st, h, b = d.call("GET", execute("nope"))
    doc = envelope(b, 404, "CONNECTOR_NOT_FOUND", "404 again")
    check(doc["request_id"] == h["x-request-id"],
          "404: request_id in the body is X-Request-ID")
finally:
    d.cleanup()
    up.close()
