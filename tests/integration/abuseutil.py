"""Helpers of the front-end abuse tests (abuse_*.py): a request head that
declares a body, its answer while no body byte was sent, and the parent's
count of open connections."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Conn  # noqa: E402


def head(method, path, length, extra="", host="localhost"):
    return ("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
            "application/json\r\nContent-Length: %d\r\n%s\r\n" %
            (method, path, host, length, extra)).encode()


def answer_without_body(port, method, path, length, headers=(),
                        host="localhost"):
    """Send only the head of a request declaring length body bytes: the
    answer (status, headers, seconds) while the body has not been sent."""
    c = Conn(port, timeout=20)
    t0 = time.monotonic()
    c.send(head(method, path, length,
                "".join(h + "\r\n" for h in headers), host))
    try:
        r = c.response()
    except socket.timeout:
        r = None
    took = time.monotonic() - t0
    c.close()
    return (r[0] if r else None), (r[1] if r else {}), took


def open_conns(d):
    """The parent's count of open connections over every worker."""
    r = d.widgetctl("status", "--json")
    if r.returncode != 0:
        return None
    return sum(p["connections"] for p in json.loads(r.stdout)["processes"]
               if p["role"] == "worker")
