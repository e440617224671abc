"""cpu_scheduling (widgetd.conf(5)): workers and keepers run SCHED_BATCH by
default, the parent keeps its policy; "other" leaves them all SCHED_OTHER
and a reload that changes it starts new processes; a policy the service
manager set (here SCHED_IDLE) is kept either way; a respawned worker asks
again."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Daemon, check, request, wait_for

NAMES = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_BATCH: "SCHED_BATCH",
         os.SCHED_IDLE: "SCHED_IDLE"}


def policy(pid):
    return NAMES.get(os.sched_getscheduler(pid), "policy %d" %
                     os.sched_getscheduler(pid))


def policies(d):
    """{pid: (role, policy)} of every child, and the parent's policy.  A
    child asks for its policy before it tells the parent it is ready."""
    check(wait_for(lambda: all("(pid %d) ready" % p in d.logtext()
                               for p in d.children()), 20),
          "every child is ready")
    return ({p: (r, policy(p)) for p, r in d.children().items()},
            policy(d.proc.pid))


def healthy(d):
    return request(d.port, "GET", "/widget-service/health")[0] == 200


d = Daemon(workers=2)
try:
    d.start()
    kids, parent = policies(d)
    check(parent == "SCHED_OTHER", "parent: SCHED_OTHER (%s)" % parent)
    check(sorted(r for r, _ in kids.values()) ==
          ["keeper", "worker", "worker"], "two workers, one keeper")
    for p, (role, pol) in kids.items():
        check(pol == "SCHED_BATCH", "%s %d: SCHED_BATCH by default (%s)" %
              (role, p, pol))
    check(healthy(d), "health 200 (a keeper round trip)")

    # A worker started again after a crash asks for it again.
    victim = list(d.children("worker"))[0]
    os.kill(victim, signal.SIGKILL)
    check(wait_for(lambda: len(d.children("worker")) == 2 and
                   victim not in d.children("worker"), 20),
          "the killed worker is replaced")
    for p, (role, pol) in policies(d)[0].items():
        check(pol == "SCHED_BATCH", "after the respawn, %s %d: %s" %
              (role, p, pol))

    # "other": a reload starts new processes, and they stay SCHED_OTHER.
    before = set(d.children())
    d.extra = 'cpu_scheduling = "other";'
    d.write_conf()
    d.signal(signal.SIGHUP)
    check(wait_for(lambda: len(d.children()) == 3 and
                   not (set(d.children()) & before), 20),
          "a changed cpu_scheduling starts new workers and keeper")
    kids, parent = policies(d)
    for p, (role, pol) in kids.items():
        check(pol == "SCHED_OTHER", "%s %d after the reload: %s" %
              (role, p, pol))
    check(parent == "SCHED_OTHER", "parent unchanged (%s)" % parent)
    check(wait_for(lambda: healthy(d), 10), "health 200 after the reload")

    # A reload that changes nothing about it keeps the processes.
    before = set(d.children())
    n = d.logtext().count("reloaded: generation")
    d.write_conf()
    d.signal(signal.SIGHUP)
    check(wait_for(lambda: d.logtext().count("reloaded: generation") > n,
                   10), "the same file reloaded")
    check(set(d.children()) == before, "same processes (%s, %s)" %
          (sorted(before), sorted(d.children())))

    # Bad values are refused at reload, with file:line, and nothing moves.
    d.extra = 'cpu_scheduling = "fifo";'
    d.write_conf()
    n = d.logtext().count("keeping the running configuration")
    d.signal(signal.SIGHUP)
    check(wait_for(lambda: d.logtext().count(
        "keeping the running configuration") > n, 10), "fifo refused")
    why = [ln for ln in d.logtext().splitlines()
           if "cpu_scheduling: 'fifo' is not a scheduling policy" in ln]
    check(why and "widgetd.conf:" in why[0],
          "the log says why, with file:line (%r)" % why)
    check(set(d.children()) == before, "same processes after a refusal")
    check(d.stop() == 0, "stopped")
except AssertionError:
    d.dump_log()
    raise
finally:
    d.cleanup()

# Started under a policy the operator chose: every process keeps it.
# SCHED_IDLE, the one such policy that needs no privilege; under it the
# daemon may be starved while other tests keep both CPUs busy, so this
# part asks nothing of it but to start (start() waits for every child).
d = Daemon(workers=1)
try:
    d.start(preexec=lambda: os.sched_setscheduler(
        0, os.SCHED_IDLE, os.sched_param(0)))
    kids, parent = policies(d)
    check(parent == "SCHED_IDLE", "parent: SCHED_IDLE as started (%s)" %
          parent)
    for p, (role, pol) in kids.items():
        check(pol == "SCHED_IDLE", "%s %d keeps SCHED_IDLE (%s)" %
              (role, p, pol))
finally:
    d.cleanup()
