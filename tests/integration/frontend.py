"""The front end's connection handling as it is built for cost (issue 7):
answers written at once and reading left on while a request waits for
the keeper, connections handed to a worker in batches, their ends told to
the parent in batches.  Each check fails if its path breaks."""

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Conn, Daemon, build, check, need_root, read_all, wait_for

need_root()


def worker_connections(d):
    """The parent's count of the worker's open connections (status)."""
    r = d.widgetctl("status", "--json")
    if r.returncode != 0:
        return None
    procs = json.loads(r.stdout)["processes"]
    return sum(p["connections"] for p in procs if p["role"] == "worker")


d = Daemon(workers=1)
try:
    d.start()

    # A client that sends two requests (the first waits for the keeper)
    # and then closes its sending side gets both answers, in order, and
    # then the end of the connection.
    c = Conn(d.port)
    c.send(build("GET", "/widget-service/health") + build("GET", "/nope"))
    c.sock.shutdown(socket.SHUT_WR)
    r1, r2 = c.response(), c.response()
    check(r1 is not None and r1[0] == 200 and r2 is not None and
          r2[0] == 404, "half-closed client: both answers, in order")
    check(c.response() is None, "then the connection ends")
    c.close()

    # Bytes that arrive while a request waits for the keeper are kept and
    # answered after it, on the same connection.
    c = Conn(d.port)
    c.send(build("GET", "/widget-service/health"))
    c.send(build("GET", "/a"))
    c.send(build("GET", "/b"))
    got = [c.response() for _ in range(3)]
    check([r[0] for r in got] == [200, 404, 404],
          "requests sent during a keeper round trip: answered in order")
    ids = {json.loads(r[2])["request_id"] for r in got[1:]}
    check(len(ids) == 2, "each with its own request id")
    c.close()

    # A burst: the parent accepts many connections in one round and hands
    # them over together; every one is answered and closed.
    n = 200
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=15)
        s.sendall(b"GET /burst%d HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n" % i)
        socks.append(s)
    answered = 0
    for s in socks:
        data, _ = read_all(s)
        if data.startswith(b"HTTP/1.1 404 ") and \
                b"\r\nConnection: close\r\n" in data:
            answered += 1
        s.close()
    check(answered == n, "%d connections in a burst: all answered and "
          "closed (%d)" % (n, answered))

    # Their ends reach the parent (in batches): its count drops to the
    # one connection still open.
    k = Conn(d.port)
    check(k.request("GET", "/widget-service/health")[0] == 200,
          "a keep-alive connection stays open")
    check(wait_for(lambda: worker_connections(d) == 1, 5),
          "the parent counts the worker's connections back down (%s)" %
          worker_connections(d))
    k.close()
    check(wait_for(lambda: worker_connections(d) == 0, 5),
          "and to zero once the last one closes")
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
