"""SIGHUP and SIGTERM (issue 2): a broken configuration is refused and the
running one keeps serving; a valid one replaces it (new workers); SIGTERM
stops accepting, finishes a request in flight, and exits 0."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import (Conn, Daemon, check, envelope, free_port, request,
                    served_by, wait_for)

d = Daemon(workers=2)
try:
    d.start()
    before = set(d.children())

    # Broken: a syntax error.  Nothing changes, the log says why.
    d.write_conf(broken=True)
    d.signal(signal.SIGHUP)
    check(wait_for(lambda: "keeping the running configuration"
                   in d.logtext(), 10), "broken reload refused")
    check("widgetd.conf:" in d.logtext(), "the log names file:line")
    check(request(d.port, "GET", "/widget-service/health")[0] == 200,
          "still serving after a broken reload")
    check(set(d.children()) == before, "same processes")

    # Broken semantically (a user that does not exist, when root).
    if os.geteuid() == 0:
        d.extra = 'user = "no-such-user-widgetd";'
        text = d.conf_text().replace('user = "nobody";\n', '')
        with open(d.conf, "w") as f:
            f.write(text)
        n = d.logtext().count("keeping the running configuration")
        d.signal(signal.SIGHUP)
        check(wait_for(lambda: d.logtext().count(
            "keeping the running configuration") > n, 10),
            "reload with an unknown user refused")
        check("no-such-user-widgetd" in d.logtext(), "the log names the user")
        check(set(d.children()) == before, "same processes")
        d.extra = ""

    # A valid file naming a broken registry: refused the same way.
    d.write_conf()
    d.write_registry('{"connectors": [ {"name": 1} ]}\n')
    n = d.logtext().count("keeping the running configuration")
    d.signal(signal.SIGHUP)
    check(wait_for(lambda: d.logtext().count(
        "keeping the running configuration") > n, 10),
        "reload with a broken registry refused")
    check("reg.json:1:" in d.logtext(), "the log names the registry line")
    check(set(d.children()) == before, "same processes")
    check(request(d.port, "GET", "/widget-service/health")[0] == 200,
          "still serving")
    d.write_registry('{"connectors": []}\n')

    # Valid: three workers now.  A keep-alive connection opened before
    # the reload is finished by its old worker.
    ka = Conn(d.port)
    check(ka.request("GET", "/widget-service/health")[0] == 200,
          "keep-alive connection before reload")
    # A connection accepted before the reload whose request comes after.
    fresh = Conn(d.port)
    check(served_by(d, fresh, d.children("worker")) is not None,
          "a fresh connection was handed to a worker")
    d.workers = 3
    d.write_conf()
    d.signal(signal.SIGHUP)
    # New workers exist: the parent has told the old ones to drain.
    check(wait_for(lambda: set(d.children("worker")) - before, 20),
          "the reload has begun")
    time.sleep(0.5)
    st, hdrs, _ = fresh.request("GET", "/widget-service/health")
    check(st == 200, "a connection accepted before the reload is served")
    check(hdrs.get("connection", "").lower() == "close",
          "by its old worker, with Connection: close")
    fresh.close()

    def switched():
        w = d.children("worker")
        return len(w) == 3 and not (set(w) & before)
    check(wait_for(switched, 20), "three new workers after a valid reload")
    check(wait_for(lambda: not (set(d.children()) & before), 20),
          "the old generation has exited")
    check(wait_for(lambda: request(d.port, "GET",
                                   "/widget-service/health")[0] == 200, 10),
          "health 200 after the reload")
    check(ka.response() is None,
          "idle keep-alive connection closed by the drain")
    ka.close()

    # A listener added, the first one kept (and not bound twice).  No
    # process changes: the running ones take the new generation in place.
    d.port2 = free_port()
    d.write_conf()
    gen = set(d.children())
    d.signal(signal.SIGHUP)
    check(wait_for(lambda: "generation 3 in force" in d.logtext(), 20),
          "reload with a second listener: a new generation")
    check(set(d.children()) == gen,
          "taken in place by the running keeper and workers")
    check(request(d.port2, "GET", "/widget-service/health")[0] == 200,
          "the new listener answers")
    check(request(d.port, "GET", "/widget-service/health")[0] == 200,
          "the kept listener answers")

    # SIGTERM with a request in flight: its body arrives after the signal.
    c = Conn(d.port)
    c.send(b"POST /widget-service/nothing HTTP/1.1\r\nHost: x\r\n"
           b"Content-Length: 10\r\n\r\nhello")
    time.sleep(0.3)
    d.signal(signal.SIGTERM)

    def refused():
        try:
            s = socket.create_connection(("127.0.0.1", d.port), timeout=2)
            s.close()
            return False
        except OSError:
            return True
    check(wait_for(refused, 10), "SIGTERM: new connections refused")
    check(d.proc.poll() is None, "daemon still draining")
    time.sleep(0.5)     # let the worker take MSG_SHUTDOWN before the body
    c.send(b"world")
    r = c.response()
    check(r is not None and r[0] == 404, "in-flight request answered in full")
    check(envelope(r[2])[0] == "NOT_FOUND", "with the envelope")
    check(r[1].get("connection", "").lower() == "close",
          "and Connection: close")
    c.close()
    try:
        rc = d.proc.wait(30)
    except Exception:
        rc = None
    check(rc == 0, "daemon exited 0 after draining (%s)" % rc)
finally:
    d.cleanup()
