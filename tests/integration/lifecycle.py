"""Ends of life: a drain that does not finish in limits.drain_timeout is
cut short; SIGUSR1 is harmless; children do not outlive a killed parent."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Conn, Daemon, check, request, wait_for

# A request that never completes holds the drain until drain_timeout.
d = Daemon(workers=1, limits="header_timeout = 60;", drain=2)
try:
    d.start()
    d.signal(signal.SIGUSR1)
    check(wait_for(lambda: "SIGUSR1" in d.logtext(), 5),
          "SIGUSR1 acknowledged in the log")
    check(request(d.port, "GET", "/widget-service/health")[0] == 200,
          "still serving after SIGUSR1")
    c = Conn(d.port)
    c.send(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    time.sleep(0.3)
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    rc = d.proc.wait(30)
    took = time.monotonic() - t0
    check(rc == 0, "exit status 0 after a cut-short drain (%s)" % rc)
    check(1.5 <= took < 15, "after about drain_timeout (%.1f s)" % took)
    check("did not finish draining" in d.logtext(), "the kill is logged")
    c.close()
finally:
    d.cleanup()

# SIGKILL of the parent: every child notices its channel close and exits.
d = Daemon(workers=2)
try:
    d.start()
    kids = list(d.children())
    d.proc.kill()
    d.proc.wait()

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(") ", 1)[1][0] != "Z"
        except OSError:
            return False

    def gone():
        return not any(alive(p) for p in kids)
    check(wait_for(gone, 10), "children exit when the parent is gone")
finally:
    d.cleanup()
