"""Log lines of every process reach syslog through the parent (issue 2).
A private mount namespace puts a test socket at /dev/log; widgetd runs
detached (no -d), so it logs with syslog(3).  Needs root and unshare."""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import SKIP, Daemon, check, need_root, request, wait_for, pid_gone

need_root()
if shutil.which("unshare") is None or shutil.which("mount") is None:
    print("SKIP: needs unshare and mount")
    sys.exit(SKIP)
if subprocess.run(["unshare", "-m", "true"]).returncode != 0:
    print("SKIP: cannot make a mount namespace")
    sys.exit(SKIP)

d = Daemon(workers=1)
dev = os.path.join(d.dir, "dev")
os.mkdir(dev)
os.mknod(os.path.join(dev, "null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
log.bind(os.path.join(dev, "log"))
os.chmod(os.path.join(dev, "log"), 0o666)
lines = []


def collect():
    while True:
        try:
            data = log.recv(65536)
        except OSError:
            return
        lines.append(data.decode(errors="replace"))


threading.Thread(target=collect, daemon=True).start()
pid = None
try:
    script = ('mount --make-rprivate / && mount --bind "$1" /dev && '
              'exec "$2" -c "$3"')
    r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", dev,
                        d.binary, d.conf], timeout=30)
    check(r.returncode == 0, "widgetd detached in its own mount namespace")

    pid = wait_for(d.detached_parent_pid, 10)
    check(pid is not None, "found the daemon")
    check(wait_for(lambda: request(d.port, "GET", "/nowhere")[0] == 404, 10),
          "serving")

    def seen(text):
        return any(text in line for line in lines)
    check(wait_for(lambda: seen("parent: started"), 10),
          "the parent's own line reached syslog")
    # Which build it is, as widgetd -V names it.
    v = subprocess.run([d.binary, "-V"], capture_output=True,
                       text=True).stdout.strip()
    check(any("parent: started" in line and line.rstrip().endswith(
        "; " + v) for line in lines),
          "the started line names the build (%r)" % v)
    check(wait_for(lambda: seen('worker 0: access: 127.0.0.1 - '
                               '"GET /nowhere" 404'),
                   10), "a worker's line reached syslog through the parent")
    check(all(f"widgetd[{pid}]" in line for line in lines
              if "worker 0: access" in line),
          "written by the parent (its pid in the syslog tag)")
    os.kill(pid, signal.SIGTERM)

    check(wait_for(lambda: pid_gone(pid), 30), "SIGTERM stops it")
    check(wait_for(lambda: seen("parent: exiting"), 10), "its last line too")
    pid = None
finally:
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    log.close()
    d.cleanup()
