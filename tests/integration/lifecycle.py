"""Ends of life: a drain that does not finish in limits.drain_timeout is
cut short; SIGUSR1 is harmless; children do not outlive a killed parent."""

import os
import resource
import socket
import subprocess
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Conn, Daemon, build, check, request, wait_for, pid_gone

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

# ^C on a foreground widgetd -d reaches the whole process group: the
# children leave it to the parent, which drains them; nobody dies of SIGINT.
d = Daemon(workers=2)
try:
    d.start(preexec=os.setsid)
    kids = list(d.children())
    os.killpg(d.proc.pid, signal.SIGINT)
    rc = d.proc.wait(30)
    check(rc == 0, "^C to the process group: exit status 0 (%s)" % rc)
    log = d.logtext()
    check("killed by signal" not in log and "violation" not in log,
          "^C: no child was killed or cut off")
    check(log.count("exited with status 0") == len(kids),
          "^C: all %d children drained and exited 0" % len(kids))
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

# A low RLIMIT_NOFILE caps connections per worker below limits.connections,
# so that a worker never runs out of fds for a hand-off (which would end it
# and every connection it holds).
d = Daemon(workers=1)
try:
    d.start(preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                               (128, 128)))
    check("at most 64 connections per worker" in d.logtext(),
          "the cap is logged")
    worker = list(d.children("worker"))
    conns = []
    for i in range(100):
        c = Conn(d.port, timeout=20)
        c.send(build("GET", "/widget-service/health"))
        conns.append(c)
    served = []
    for c in conns[:64]:
        r = c.response()
        served.append(r is not None and r[0] == 200)
    check(all(served), "64 connections served")
    conns[64].sock.settimeout(1.5)
    try:
        conns[64].response()
        check(False, "the 65th connection was served over the cap")
    except socket.timeout:
        check(True, "the 65th waits")
    for c in conns[:64]:
        c.close()
    rest = [c.response() for c in conns[65:]]
    conns[64].sock.settimeout(20)
    rest.append(conns[64].response())
    check(all(r is not None and r[0] == 200 for r in rest),
          "the others are served once connections close")
    check(list(d.children("worker")) == worker, "the worker never died")
    for c in conns[64:]:
        c.close()
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()

# Without -d: widgetd detaches (the command returns 0), logs to syslog, and
# serves; SIGTERM to the detached parent stops everything.
d = Daemon(workers=1)
pid = None
try:
    r = subprocess.run([d.binary, "-c", d.conf], timeout=30)
    check(r.returncode == 0, "widgetd without -d returns 0 once detached")

    pid = wait_for(d.detached_parent_pid, 10)
    check(pid is not None, "the detached parent is running")
    check(wait_for(lambda: request(d.port, "GET",
                                   "/widget-service/health")[0] == 200, 10),
          "and serving")
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    check(int(fields[3]) == pid, "in its own session (setsid)")
    os.kill(pid, signal.SIGTERM)

    check(wait_for(lambda: pid_gone(pid), 30),
          "SIGTERM stops the detached daemon")
    pid = None
finally:
    if pid is not None:         # a failed check: do not leave it running
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    d.cleanup()
