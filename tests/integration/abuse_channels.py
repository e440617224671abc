"""Issue 9, channels and logs: what a compromised worker can do through
its channels is bounded, against a real daemon (root).

- Every child has /dev/null on fds 0-2 (stderr kept in sanitizer builds,
  where the reports go): no raw line reaches the parent's stderr or the
  journal behind the parent's back.
- A worker made to misbehave (MSG_TEST_ABUSE, enabled by
  WIDGETD_TEST_HOOKS=1) sends forged "parent:", "keeper 0:" and
  "widgetd[1]:" lines, terminal escapes, a 4 KiB line and 20,000 lines in
  a burst: every line it got out is under "worker 0: ", the forged
  prefixes quoted, no control byte in the log, the long line cut, and the
  flood cut to the parent's budget with every dropped line counted (logged
  + dropped == sent, exactly).  The worker is not killed for it.
- The same worker floods the keeper with pings and never reads a pong:
  the keeper evicts it at its queue limit (the reason logged), the parent
  kills and respawns it, the keeper stays up with bounded memory, and
  health is 200 again."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Daemon, check, need_root, request, sanitized, \
    status_of, wait_for  # noqa: E402

SENT = 20000 + 5        # worker_test.c: the forged lines, then the flood


def kib(pid, key):
    return int(status_of(pid, key)[0])


def worker0(d):
    """The pid of worker 0 (its -I slot), or None."""
    for pid in d.children("worker"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if b"-I" in cmd and cmd[cmd.index(b"-I") + 1] == b"0":
            return pid
    return None


need_root()
os.environ["WIDGETD_TEST_HOOKS"] = "1"
d = Daemon(workers=2)
try:
    d.start()

    # --- fds 0-2 ----------------------------------------------------------
    kids = d.children()
    check(len(kids) == 3, "two workers and a keeper")
    for pid, role in kids.items():
        for fd in (0, 1, 2):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if fd == 2 and sanitized():
                check(target != "/dev/null", "%s %d: stderr kept in a "
                      "sanitizer build (%s)" % (role, pid, target))
                continue
            check(target == "/dev/null", "%s %d: fd %d is /dev/null (%s)"
                  % (role, pid, fd, target))
    # The parent's own stderr is still the log.
    check(os.readlink(f"/proc/{d.proc.pid}/fd/2") == d.logpath,
          "the parent's stderr is the log")

    # --- forged lines and a flood -----------------------------------------
    w0 = worker0(d)
    r = d.control({"command": "test-abuse", "worker": 0, "abuse": "log"})
    check(r.get("ok") is True and r.get("pid") == w0,
          "test-abuse log sent to worker 0 (%s)" % r)
    drop_re = re.compile(r"^parent: worker 0: (\d+) log lines? and "
                         r"(\d+) access lines? dropped", re.M)

    def accounted():
        text = d.logtext()
        logged = len(re.findall(r"^worker 0: (flood line \d+|"
                                r"\"parent: forged|\"keeper 0: forged|"
                                r"\"widgetd\[1\]: forged|escapes |"
                                r"long line )", text, re.M))
        dropped = sum(int(m.group(1)) for m in drop_re.finditer(text))
        return logged, dropped

    check(wait_for(lambda: sum(accounted()) >= SENT, 60),
          "every line the worker sent is logged or counted as dropped")
    logged, dropped = accounted()
    print("# logged %d, dropped %d of %d" % (logged, dropped, SENT))
    check(logged + dropped == SENT, "logged %d + dropped %d == sent %d"
          % (logged, dropped, SENT))
    check(logged <= SENT // 4 and dropped >= SENT // 2,
          "the flood was cut to the budget (%d logged)" % logged)
    raw = open(d.logpath, "rb").read()
    text = raw.decode(errors="replace")
    for forged in ("parent: forged", "keeper 0: forged",
                   "widgetd[1]: forged", "parent: a second line"):
        check(not re.search(r"^" + re.escape(forged), text, re.M),
              "no line starts with the forged %r" % forged)
    check('worker 0: "parent: forged by a worker"' in text and
          'worker 0: "keeper 0: forged by a worker"' in text,
          "forged prefixes are quoted content under the true origin")
    check(b"\x1b" not in raw and b"\x07" not in raw and
          b"\xc2\x9b" not in raw, "no escape, bell or C1 byte in the log")
    check("worker 0: escapes \\x1b[31mred\\x1b[0m bell\\x07 c1\\xc2\\x9b2J "
          "and\\x0aparent: a second line" in text,
          "control characters shown as \\xNN, on one line")
    long_line = [ln for ln in text.splitlines()
                 if ln.startswith("worker 0: long line ")]
    check(len(long_line) == 1 and long_line[0].endswith(" [cut]") and
          len(long_line[0]) <= len("worker 0: ") + 1024 + len(" [cut]"),
          "a 4 KiB line is cut to 1 KiB")
    check(worker0(d) == w0, "a flood of log lines is not a reason to kill")
    check(request(d.port, "GET", "/widget-service/health")[0] == 200,
          "health 200 after the log flood")

    # --- a ping flood -----------------------------------------------------
    keeper = list(d.children("keeper"))[0]
    hwm0 = kib(keeper, "VmHWM")
    r = d.control({"command": "test-abuse", "worker": 0, "abuse": "ping"})
    check(r.get("ok") is True, "test-abuse ping sent to worker 0")
    check(wait_for(lambda: "evicted by the keeper" in d.logtext(), 120),
          "the keeper evicted the flooding worker")
    text = d.logtext()
    check(re.search(r"keeper 0: worker 0 broke the protocol \(MSG_PING: "
                    r"\d+ bytes of replies left unread \(at most \d+\)\)",
                    text) is not None, "the reason is logged")
    check(wait_for(lambda: worker0(d) not in (None, w0), 60),
          "worker 0 was replaced (%s -> %s)" % (w0, worker0(d)))
    check(wait_for(lambda: d.all_ready(), 60), "all children ready again")
    ok = sum(request(d.port, "GET", "/widget-service/health")[0] == 200
             for _ in range(10))
    check(ok == 10, "health 200 on 10 of 10 requests after the eviction")
    check(keeper in d.children("keeper"), "the keeper was not restarted")
    grown = kib(keeper, "VmHWM") - hwm0
    print("# keeper VmHWM %d KiB before, grew by %d KiB" % (hwm0, grown))
    check(grown < 200 * 1024, "the keeper grew by %d KiB, under 200 MiB "
          "(529 MB before the limit)" % grown)
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
