"""Process tree and credentials of a daemon started as root (issue 2):
1 parent, N workers as `user' chrooted with no_new_privs and seccomp,
1 keeper as `keeper_user', undumpable, also filtered."""

import math
import os
import pwd
import signal
import time
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Daemon, check, need_root, request, status_of, wait_for

need_root()
d = Daemon(workers=3)
try:
    # Whatever the operator's shell holds must not reach the children.
    os.environ["HTTPS_PROXY"] = "http://proxy.invalid:3128"
    os.environ["WIDGETD_TEST_TOKEN"] = "hunter2"
    d.start()
    del os.environ["HTTPS_PROXY"], os.environ["WIDGETD_TEST_TOKEN"]
    nobody = pwd.getpwnam("nobody").pw_uid
    daemon_uid = pwd.getpwnam("daemon").pw_uid
    kids = d.children()
    workers = [p for p, r in kids.items() if r == "worker"]
    keepers = [p for p, r in kids.items() if r == "keeper"]
    check(len(workers) == 3, "three workers (%d)" % len(workers))
    check(len(keepers) == 1, "one keeper (%d)" % len(keepers))
    check(len(kids) == 4, "no other children")
    check(status_of(d.proc.pid, "Uid")[0] == "0", "parent runs as root")
    # The parent's deny-list (ptrace, modules, mounts, bpf ...) is on.
    check(status_of(d.proc.pid, "Seccomp") == ["2"], "parent: seccomp filter")
    check(status_of(d.proc.pid, "NoNewPrivs") == ["1"],
          "parent: no_new_privs")
    for p in workers:
        uids = status_of(p, "Uid")
        check(all(int(u) == nobody for u in uids),
              "worker %d: every uid is nobody (%s)" % (p, uids))
        gids = status_of(p, "Groups")
        check(gids == [] or gids is None or all(int(g) != 0 for g in gids),
              "worker %d: no supplementary root group" % p)
        check(os.readlink(f"/proc/{p}/root") == d.chroot,
              "worker %d: root is the chroot" % p)
        check(status_of(p, "NoNewPrivs") == ["1"], "worker %d: NoNewPrivs" % p)
        check(status_of(p, "Seccomp") == ["2"],
              "worker %d: seccomp filter" % p)
    k = keepers[0]
    uids = status_of(k, "Uid")
    check(all(int(u) == daemon_uid for u in uids),
          "keeper: every uid is daemon (%s)" % uids)
    check(status_of(k, "NoNewPrivs") == ["1"], "keeper: NoNewPrivs")
    check(status_of(k, "Seccomp") == ["2"], "keeper: seccomp filter")
    # Not dumpable: the kernel makes its /proc files root's, so its own uid
    # (or a worker running as another uid) cannot read its memory.
    st = os.stat(f"/proc/{k}/environ")
    check(st.st_uid == 0, "keeper: /proc/PID files owned by root (undumpable)")
    # And a process of the keeper's own uid is refused its memory.
    probe = subprocess.run(
        ["/bin/cat", f"/proc/{k}/environ"],
        preexec_fn=lambda: (os.setgroups([]), os.setgid(daemon_uid),
                            os.setuid(daemon_uid)),
        capture_output=True, text=True)
    check(probe.returncode != 0 and "Permission denied" in probe.stderr,
          "keeper_user cannot read the keeper's /proc/PID/environ (%s)" %
          probe.stderr.strip())
    # Only the parent holds the listening socket; children inherit nothing
    # but their channel (fd 3) and the standard streams.
    lst = None
    with open("/proc/net/tcp") as f:
        for line in f:
            parts = line.split()
            if (parts[3] == "0A" and
                    int(parts[1].split(":")[1], 16) == d.port):
                lst = "socket:[%s]" % parts[9]
    check(lst is not None, "found the listener")

    def fds(pid):
        out = {}
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                pass
        return out
    check(lst in fds(d.proc.pid).values(), "the parent holds the listener")
    for p in kids:
        check(lst not in fds(p).values(),
              "%s %d does not hold the listener" % (kids[p], p))
    def environ(pid):
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read()
    check(b"hunter2" in environ(d.proc.pid),
          "the parent's environment (control)")
    for p in kids:
        env = environ(p)
        check(b"hunter2" not in env and b"PROXY" not in env,
              "%s %d: environment scrubbed" % (kids[p], p))
    # The children are the same binary, re-executed.
    exe = os.readlink(f"/proc/{d.proc.pid}/exe")
    check(all(os.readlink(f"/proc/{p}/exe") == exe for p in workers),
          "workers are re-executed widgetd")
    st, hdrs, body = request(d.port, "GET", "/widget-service/health")
    check(st == 200 and body == b'{"status":"ok"}', "health 200")

    # Crash loop: with the chroot gone a new worker cannot start.  Its
    # restarts back off (never a hot loop) and are logged as a loop; once
    # the directory is back, the worker returns.
    os.rmdir(d.chroot)
    victim = workers[0]
    t0 = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    # Delays of 100, 200, 400 ms...: the third quick exit in a row is
    # logged as a loop after about 0.3 s unloaded, two restarts in;
    # instrumented builds start children much slower.
    check(wait_for(lambda: "crash loop" in d.logtext() and
                   "restarting in 400 ms" in d.logtext(), 20),
          "the crash loop is logged")
    took = time.monotonic() - t0
    text = d.logtext()
    starts = text.count("started worker") - 3
    # Doubling from 100 ms allows about log2(took / 0.1) + 2 restarts; a
    # hot loop would have made hundreds.
    check(2 <= starts <= math.log2(took / 0.1 + 1) + 3,
          "%d restarts in %.1f s, not a hot loop" % (starts, took))
    check("restarting in 200 ms" in text and "restarting in 400 ms" in text,
          "the delay doubles")
    check(request(d.port, "GET", "/widget-service/health")[0] == 200,
          "the other workers keep serving")
    os.mkdir(d.chroot, 0o755)
    check(wait_for(lambda: len(d.children("worker")) == 3 and all(
        status_of(p, "Seccomp") == ["2"] for p in d.children("worker")), 20),
        "the worker is back once the chroot exists again")
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
