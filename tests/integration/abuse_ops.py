"""The front end's admission control (issue 9) with the metrics listener
and the routes that came after it: a scrape is a numbered connection on
its worker's channel like a browser's (interleaved with browser
connections on one worker, every number the worker reports is one the
parent handed it, so the worker is never killed as a liar, and the
parent's count returns to zero); a scrape is answered although the only
worker is at limits.connections; and the SDK's files, extensions and
the metrics listener are answered without reading a declared body."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from promtext import samples, value  # noqa: E402
from upstream import Upstream  # noqa: E402
from abuseutil import answer_without_body, open_conns  # noqa: E402
from wdtest import (TEST_EGRESS, Conn, Daemon, check, free_port,  # noqa: E402
                    need_root, request, wait_for)

need_root()

MIB = 1 << 20


def scrape_connections(mport):
    """widgetd_connections as a scrape shows it (the scrape itself is
    counted only after its text was rendered), or None."""
    st, _, body = request(mport, "GET", "/metrics")
    if st != 200:
        return None
    return value(samples(body.decode()), "widgetd_connections")


up = Upstream()
mport = free_port()
# One worker: browser connections and scrapes share its channel.
d = Daemon(workers=1, egress=TEST_EGRESS,
           limits="connections = 3; request_body = 4194304; "
           "header_timeout = 30; idle_timeout = 60;",
           extra='metrics = { address = "127.0.0.1"; port = %d; };' % mport)
try:
    d.connectors({"name": "fwd", "permalink": "fwd", "method": "POST",
                  "url": up.url("/fwd")})
    d.start()
    first = set(d.children("worker"))
    check(len(first) == 1, "one worker")
    check(wait_for(lambda: open_conns(d) == 0, 10), "no connection open")

    # The worker at limits.connections (3): the browser listener pauses,
    # a scrape is still answered, and it shows the three.
    held = []
    for _ in range(3):
        c = Conn(d.port)
        st, _, _ = c.request("GET", "/widget-service/health")
        check(st == 200, "a held connection is served (%s)" % st)
        held.append(c)
    check(wait_for(lambda: scrape_connections(mport) == 3, 10),
          "the only worker at limits.connections: a scrape is answered "
          "and counts 3 browser connections")
    for c in held:
        c.close()

    # Scrapes and browser connections interleaved on the one worker: both
    # ends number them alike, so each close the worker reports is one the
    # parent handed it.
    for i in range(20):
        st, _, _ = request(d.port, "GET", "/widget-service/health")
        check(st == 200, "health %d between scrapes" % i)
        check(scrape_connections(mport) is not None, "scrape %d" % i)
    check(wait_for(lambda: scrape_connections(mport) == 0, 10),
          "every connection counted out again (widgetd_connections 0)")
    check(wait_for(lambda: open_conns(d) == 0, 10),
          "and by the parent's books per worker (widgetctl status)")
    check(set(d.children("worker")) == first,
          "the worker is the same one: never killed for its reports")
    check("which it does not hold" not in d.logtext(),
          "no report named a connection the worker was not handed")

    # Routed before the body: 3 MiB declared, none sent, answered at once,
    # and the connection closes.
    for port, method, path, want in (
            (d.port, "POST", "/widget-service/sdk/widget-sdk.js", 405),
            (d.port, "POST", "/widget-service/sdk/nope.js", 404),
            (d.port, "POST", "/widget-service/extensions/manifest.json",
             405),
            (mport, "GET", "/metrics", 200),
            (mport, "POST", "/widget-service/connectors/fwd/execute",
             404)):
        st, hdrs, took = answer_without_body(port, method, path, 3 * MIB)
        check(st == want and took < 10,
              "%s %s%s with 3 MiB declared, none sent: %s at once "
              "(%s, %.1f s)" % (method, path, " (metrics)" if port == mport
                                else "", want, st, took))
        check(hdrs.get("connection") == "close",
              "%s %s: and the connection closes" % (method, path))
    # The connector that takes a body still gets it on the browser side.
    st, _, _ = d.call("POST", "/widget-service/connectors/fwd/execute",
                      body=b'"abc"')
    check(st == 200 and up.requests and up.requests[-1].body == b'"abc"',
          "a POST connector's body still reaches the upstream (%s)" % st)
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
    up.close()
