"""Abuse resistance of one connection (issue 9): a silent connection is
closed after header_timeout counted from accept, not the idle wait; an
encoded '/' or '\\' in the path is refused before routing; half-closed
clients still get answers that wait on the keeper; an error answered with
unread input still arrives whole (a lingering close, not a reset)."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Conn, Daemon, build, check, need_root, read_all

need_root()

# header_timeout 2 s, idle_timeout a minute: which one a silent
# connection gets is plain from when it is closed.
d = Daemon(workers=1, limits="header_timeout = 2; idle_timeout = 60; "
           "request_body = 65536;")
try:
    d.start()

    # A connection that never sends a byte: closed by the server after
    # header_timeout (not idle_timeout), silently.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=40)
    t0 = time.monotonic()
    try:
        data = s.recv(1024)
    except ConnectionResetError:
        data = b""
    took = time.monotonic() - t0
    s.close()
    check(data == b"", "a silent connection gets no answer (%r)" % data[:60])
    check(1.5 <= took < 30, "and is closed after header_timeout counted "
          "from accept, not idle_timeout (%.1f s)" % took)

    # A connection that was served waits idle_timeout: longer than
    # header_timeout.
    c = Conn(d.port, timeout=40)
    check(c.request("GET", "/widget-service/health")[0] == 200,
          "a keep-alive request is answered")
    c.sock.settimeout(5)
    try:
        c.sock.recv(1)
        still_open = False
    except socket.timeout:
        still_open = True
    check(still_open, "a used keep-alive connection outlives "
          "header_timeout (it waits idle_timeout)")
    c.close()

    # Encoded separators in the path are refused before routing.
    for path in ("/widget-service%2fhealth", "/widget-service%2Fhealth",
                 "/widget-service%5chealth", "/widget-service%5Chealth"):
        c = Conn(d.port)
        st, hdrs, body = c.request("GET", path)
        c.close()
        check(st == 400 and b"encoded slash or backslash" in body,
              "%s: 400, encoded separator (%d %r)" % (path, st, body[:80]))
    c = Conn(d.port)
    st = c.request("GET", "/widget-service/health?x=%2F%5C")[0]
    c.close()
    check(st == 200, "an encoded slash in the query is not refused")

    # Half-closed clients: the request, then shutdown(SHUT_WR); the answer
    # waits on the keeper (health pings it).  All ten are answered.
    socks = []
    for i in range(10):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=15)
        s.sendall(build("GET", "/widget-service/health"))
        s.shutdown(socket.SHUT_WR)
        socks.append(s)
    answered = 0
    for s in socks:
        data, _ = read_all(s)
        if data.startswith(b"HTTP/1.1 200 ") and b'"status":"ok"' in data:
            answered += 1
        s.close()
    check(answered == 10, "half-closed clients: %d of 10 answered" %
          answered)

    # An error with a large body still unread: the whole 4xx arrives and
    # the connection ends with a FIN, not a reset.
    def lingering(path, body_len, expect):
        """Send the head and 1 MiB of a larger body at once; read only
        after the server has answered and closed.  Its reset, had it
        closed with input unread, would be the error of this read."""
        s = socket.create_connection(("127.0.0.1", d.port), timeout=20)
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain"
                "\r\nContent-Length: %d\r\n\r\n" % (path, body_len)).encode()
        s.sendall(head + b"x" * (1 << 20))
        time.sleep(1.5)
        data, err = read_all(s)
        s.close()
        ok = data.startswith(b"HTTP/1.1 %d " % expect)
        if ok:
            head_b, _, rest = data.partition(b"\r\n\r\n")
            for line in head_b.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    ok = len(rest) == int(line.split(b":")[1])
        return ok, err, data[:60]

    ok, err, got = lingering("/widget-service/health", 8 << 20, 413)
    check(ok and err is None, "413 with 8 MiB unread: the whole answer, "
          "no reset (%r, %r)" % (err, got))

    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
