"""A daemon started by an ordinary user (issue 2): no user switch and no
chroot, said once in the log, and every child still has no_new_privs and
its seccomp filter, and workers and the keeper are not dumpable (prctl,
not only fs.suid_dumpable: there is no uid switch here).  Needs root to
become `nobody' for the test."""

import os
import pwd
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import SKIP, Daemon, check, need_root, request, status_of

need_root()
nobody = pwd.getpwnam("nobody")
d = Daemon(workers=2)
try:
    # nobody must be able to run the binary and read the configuration.
    probe = os.fork()
    if probe == 0:
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
        os._exit(0 if os.access(d.binary, os.X_OK) and
                 os.access(d.conf, os.R_OK) else 1)
    _, st = os.waitpid(probe, 0)
    if st != 0:
        print("SKIP: nobody cannot run %s" % d.binary)
        sys.exit(SKIP)
    os.chmod(d.conf, 0o644)
    os.chmod(d.dir, 0o755)
    # The control socket is created by the user widgetd runs as.
    os.chown(d.rundir, nobody.pw_uid, nobody.pw_gid)
    with open(d.logpath, "w"):
        pass
    os.chmod(d.logpath, 0o666)

    def become_nobody():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    d.start(preexec=become_nobody)
    kids = d.children()
    check(len(kids) == 3, "keeper and two workers")
    for pid, role in kids.items():
        check(status_of(pid, "Uid")[0] == str(nobody.pw_uid),
              "%s %d keeps the starting uid" % (role, pid))
        check(os.readlink(f"/proc/{pid}/root") == "/",
              "%s %d: no chroot" % (role, pid))
        check(status_of(pid, "NoNewPrivs") == ["1"],
              "%s %d: NoNewPrivs" % (role, pid))
        check(status_of(pid, "Seccomp") == ["2"],
              "%s %d: seccomp filter" % (role, pid))
        # Not dumpable (issue 9): without a uid switch no sysctl does it,
        # only prctl; the kernel then gives /proc/PID to root.
        check(os.stat(f"/proc/{pid}/status").st_uid == 0,
              "%s %d: not dumpable (/proc/%d/status owned by root)" %
              (role, pid, pid))
    check(d.logtext().count("not started as root") == 1,
          "the missing privilege separation is logged once")
    check(request(d.port, "GET", "/widget-service/health")[0] == 200,
          "health 200")
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
