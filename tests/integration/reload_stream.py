"""Reloads during a stream of connector calls (issue 7): none lost, none
misrouted.

Client threads call connectors without pause: keep-alive and one
connection per call, GET and POST with a body, against two upstreams
that answer after a short delay and say who they are.  Meanwhile the
test reloads again and again: every generation moves the connectors'
URLs to the other upstream (and a path naming the generation), adds a
connector and removes one; reloads go through `widgetctl reload` and
SIGHUP, in place and with new processes (the worker count changed).

The test knows, at any moment, the newest generation it has asked for
(`asked`) and the newest one known to be in force in every process
(`acked`: widgetctl reload has returned, or status shows it after a
SIGHUP).  Each call records both when it is sent and when its answer
arrives, and must have been answered by the upstream and path of a
generation between `acked` at send time and `asked` at answer time: an
in-flight call may finish with the generation it started in, never with
an older one, never with one nobody asked for yet.  Every call gets a
well-formed answer, never a 5xx; a connection is closed under a client
only where HTTP allows it (an idle keep-alive connection of a worker
that drains after a reload with new processes, before any byte of an
answer), and then the request is sent again on a new connection, as
browsers do, and must not have reached the upstream twice."""

import json
import os
import random
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream
from wdtest import (TEST_EGRESS, Conn, Daemon, build, check, envelope, fail,
                    served_by, wait_for)

T0 = time.monotonic()
ROUNDS = 2          # of the six reload kinds below
PAUSE = 0.6         # s of calls between reloads


def answer(name):
    """An upstream that waits a little and names itself."""
    def fn(req):
        time.sleep(random.uniform(0.02, 0.08))
        body = json.dumps({"upstream": name, "path": req.path,
                           "query": req.query, "method": req.method,
                           "body": req.body.decode("utf-8", "replace")})
        return 200, {"Content-Type": "application/json"}, body.encode()
    return fn


ups = {"A": Upstream(), "B": Upstream()}
for name, up in ups.items():
    up.route("/g", answer(name))


def up_of(gen):
    return "A" if gen % 2 else "B"


def registry(gen):
    """Generation gen: stable and post on up_of(gen); extra-gen is new,
    extra-(gen-1) stays, extra-(gen-2) is gone."""
    u = ups[up_of(gen)]
    conns = [
        {"name": "Stable", "permalink": "stable", "method": "GET",
         "url": u.url("/g%d/stable" % gen)},
        {"name": "Post", "permalink": "post", "method": "POST",
         "url": u.url("/g%d/post" % gen)},
    ]
    for k in (gen - 1, gen):
        if k >= 1:
            conns.append({"name": "Extra %d" % k,
                          "permalink": "extra-%d" % k, "method": "GET",
                          "url": u.url("/g%d/extra-%d" % (gen, k))})
    return conns


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.asked = 1      # newest generation a reload was started for
        self.acked = 1      # newest generation every process runs
        self.epoch = 0      # reloads with new processes asked for
        self.epoch_done = 0  # and acknowledged
        self.stop = False
        self.calls = []     # dicts, one per call
        self.errors = []    # what went wrong, with the call

    def snap(self):
        with self.lock:
            return self.asked, self.acked, self.epoch

    def record(self, call, error=None):
        with self.lock:
            self.calls.append(call)
            if error is not None:
                self.errors.append("%s: %r" % (error, call))


S = State()
RID = [0]
RID_LOCK = threading.Lock()


def next_rid(tag):
    with RID_LOCK:
        RID[0] += 1
        return "%s-%d" % (tag, RID[0])


class Client:
    """One client thread: a connection kept alive or a new one per call."""

    def __init__(self, d, tag, method, keepalive, extra=False):
        self.d = d
        self.tag = tag
        self.method = method
        self.keepalive = keepalive
        self.extra = extra
        self.conn = None
        self.conn_epoch = 0
        self.conn_used = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self):
        self.conn = Conn(self.d.port, timeout=20)
        # A connection made while a reload with new processes is under
        # way may still go to an old worker.
        with S.lock:
            self.conn_epoch = S.epoch_done
        self.conn_used = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def once(self, method, target, body):
        """(status, headers, body, retried) for one call."""
        retried = False
        if self.conn is None:
            self.connect()
        try:
            self.conn.send(self._build(method, target, body))
            r = self.conn.response()
        except (ConnectionResetError, BrokenPipeError):
            r = None
            if self.conn.buf:
                raise
        if r is None:
            # Closed before any byte of an answer.  Allowed only for a
            # reused connection made before a reload with new processes
            # (its worker drains); the call is made again.  conn_epoch
            # counts the reloads with new processes done when it was made.
            _, _, epoch = S.snap()
            if self.conn_used == 0 or self.conn_epoch >= epoch:
                raise ConnectionResetError(
                    "connection closed without an answer (used %d, made "
                    "in epoch %d, now %d)" % (self.conn_used,
                                             self.conn_epoch, epoch))
            retried = True
            self.close()
            self.connect()
            self.conn.send(self._build(method, target, body))
            r = self.conn.response()
            if r is None:
                raise ConnectionResetError("closed again without an answer")
        self.conn_used += 1
        st, hdrs, data = r
        if (not self.keepalive or
                hdrs.get("connection", "").lower() == "close"):
            self.close()
        return st, hdrs, data, retried

    def _build(self, method, target, body):
        return build(method, target, ["Content-Type: application/json"]
                     if body else [], body)

    def run(self):
        while not S.stop:
            rid = next_rid(self.tag)
            asked_s, acked_s, _ = S.snap()
            if self.extra:
                permalink = "extra-%d" % acked_s
            else:
                permalink = "stable" if self.method == "GET" else "post"
            body = b""
            if self.method == "POST":
                body = json.dumps({"rid": rid, "pad": "x" *
                                   random.randint(10, 3000)}).encode()
            call = {"rid": rid, "tag": self.tag, "permalink": permalink,
                    "asked_s": asked_s, "acked_s": acked_s,
                    "t": round(time.monotonic() - T0, 3), "body": body}
            try:
                st, hdrs, data, retried = self.once(
                    self.method, "/widget-service/connectors/%s/execute"
                    "?rid=%s" % (permalink, rid), body)
            except Exception as e:      # noqa: anything is a lost call
                self.close()
                call["asked_a"], call["acked_a"], _ = S.snap()
                S.record(call, "lost: %s: %s" % (type(e).__name__, e))
                continue
            call["asked_a"], call["acked_a"], _ = S.snap()
            call.update(status=st, data=data, retried=retried,
                        ctype=hdrs.get("content-type"),
                        reqid=hdrs.get("x-request-id"))
            S.record(call, judge(call))
        self.close()


def judge(c):
    """None if the call was answered as it should have been, else why."""
    st, data = c["status"], c["data"]
    if not c["reqid"]:
        return "no X-Request-ID"
    if st == 404 and c["permalink"].startswith("extra-"):
        # extra-k exists in generations k and k+1 only.
        k = int(c["permalink"][6:])
        code, _ = envelope(data)
        if code != "CONNECTOR_NOT_FOUND":
            return "404 with %s" % code
        if c["asked_a"] < k + 2:
            return "404 before any reload removed it"
        return None
    if st != 200:
        return "status %d" % st
    try:
        doc = json.loads(data)
    except ValueError:
        return "not JSON"
    path = doc["path"].split("/")          # "", "g<N>", name[, ...]
    gen = int(path[1][1:])
    c["gen"] = gen
    if doc["upstream"] != up_of(gen):
        return "generation %d's path from upstream %s" % (gen,
                                                         doc["upstream"])
    if doc["query"] != "rid=" + c["rid"]:
        return "another call's answer (%s)" % doc["query"]
    if doc["method"] != ("POST" if c["permalink"] == "post" else "GET"):
        return "method %s" % doc["method"]
    if c["permalink"] == "post" and doc["body"].encode() != c["body"]:
        return "the body changed on the way"
    if path[2] != c["permalink"]:
        return "connector %s answered" % path[2]
    if c["permalink"].startswith("extra-") and not (
            int(c["permalink"][6:]) <= gen <= int(c["permalink"][6:]) + 1):
        return "a generation without this connector answered"
    if not (c["acked_s"] <= gen <= c["asked_a"]):
        return "answered by generation %d, outside %d..%d" % (
            gen, c["acked_s"], c["asked_a"])
    return None


def status_quick(d):
    """status over the control socket, or None when it takes over 2 s: a
    status asked while an old worker exits waits 10 s for that worker's
    counters (a known bug), and the test need not wait with it."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    try:
        s.connect(os.path.join(d.rundir, "control.sock"))
        s.sendall(b'{"command":"status"}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data)
    except socket.timeout:
        return None
    finally:
        s.close()


def status_json(d):
    st = wait_for(lambda: status_quick(d), 30)
    if not st or not st.get("ok"):
        fail("status: %r" % st)
    return st


def all_at(st, gen, workers):
    """Every live process runs gen; only drained-out ones are older."""
    live = [p for p in st["processes"] if not p["draining"]]
    nw = len([p for p in live if p["role"] == "worker"])
    return (st["generation"] == gen and nw == workers and
            all(p["generation"] == gen for p in live))


d = Daemon(workers=2, egress=TEST_EGRESS)
clients = []
try:
    d.connectors(*registry(1))
    d.start()
    st = status_json(d)
    check(st["generation"] == 1, "generation 1 at start")
    clients = [Client(d, "ka-get1", "GET", True),
               Client(d, "ka-get2", "GET", True),
               Client(d, "new-get", "GET", False),
               Client(d, "ka-post", "POST", True),
               Client(d, "new-post", "POST", False),
               Client(d, "ka-extra", "GET", True, extra=True)]
    for c in clients:
        c.thread.start()
    time.sleep(PAUSE)

    kinds = [("ctl", "in place"), ("hup", "in place"),
             ("ctl", "new processes"), ("hup", "in place"),
             ("hup", "new processes"), ("ctl", "in place")]
    reloads = []
    workers = 2
    for rnd in range(ROUNDS):
        for how, what in kinds:
            asked, _, _ = S.snap()
            gen = asked + 1
            if what == "new processes":
                workers = 3 if workers == 2 else 2
                d.workers = workers
                d.write_conf()
            d.connectors(*registry(gen))
            before = {p["pid"] for p in status_json(d)["processes"]}
            with S.lock:
                S.asked = gen
                if what == "new processes":
                    S.epoch += 1
            t = time.monotonic()
            if how == "ctl":
                r = d.widgetctl("reload")
                took = time.monotonic() - t
                check(r.returncode == 0 and r.stdout.decode() ==
                      "reloaded: generation %d\n" % gen,
                      "widgetctl reload to generation %d (%s, %.2f s)" %
                      (gen, what, took))
                # Returned only once every process runs the generation.
                st = status_json(d)
                check(all_at(st, gen, workers),
                      "when widgetctl reload returns every process runs "
                      "generation %d" % gen)
            else:
                d.signal(signal.SIGHUP)
                st = wait_for(lambda: (lambda s: s if s and all_at(
                    s, gen, workers) else None)(status_quick(d)), 20)
                took = time.monotonic() - t
                check(st, "SIGHUP: every process runs generation %d "
                      "(%s, %.2f s)" % (gen, what, took))
            with S.lock:
                S.acked = gen
                S.epoch_done = S.epoch
            live = {p["pid"] for p in st["processes"] if not p["draining"]}
            if what == "in place":
                check(live == before, "in place: the same processes")
            else:
                check(not (live & before), "new processes: all new pids")
            reloads.append((how, what, took))

            # Acknowledged: on every worker, the removed connector is gone
            # and the added one answers from the new generation's
            # upstream.  Workers take connections in turn, and the
            # new-get and new-post clients connect between the probes: a
            # fixed number of probes can keep meeting the same workers
            # (one client connection between probes, three workers: two
            # of them).  So probe until each worker was met, with a random
            # pause that breaks such a rhythm.
            wpids = {p["pid"] for p in st["processes"]
                     if p["role"] == "worker" and not p["draining"]}
            served = set()
            for i in range(60 * workers):
                if served == wpids:
                    break
                if i > 0:
                    time.sleep(random.uniform(0, 0.05))
                c = Conn(d.port)
                if gen >= 3:
                    s, _, b = c.request(
                        "GET", "/widget-service/connectors/extra-%d/execute"
                        % (gen - 2))
                    if s != 404 or envelope(b)[0] != "CONNECTOR_NOT_FOUND":
                        fail("extra-%d answered %d after its removal" %
                             (gen - 2, s))
                s, _, b = c.request(
                    "GET", "/widget-service/connectors/extra-%d/execute"
                    "?rid=main-%d-%d" % (gen, gen, i))
                if (s != 200 or json.loads(b)["path"] != "/g%d/extra-%d" %
                        (gen, gen) or json.loads(b)["upstream"] !=
                        up_of(gen)):
                    fail("extra-%d: %d %r" % (gen, s, b[:100]))
                served.add(served_by(d, c, wpids))
                c.close()
            check(served == wpids, "generation %d acknowledged: on each of "
                  "the %d workers extra-%d answers from upstream %s%s" % (
                      gen, len(served), gen, up_of(gen), "" if gen < 3 else
                      " and extra-%d is 404 CONNECTOR_NOT_FOUND" % (gen - 2)))
            time.sleep(PAUSE)

    S.stop = True
    for c in clients:
        c.thread.join(30)
    check(not any(c.thread.is_alive() for c in clients),
          "every client thread finished")

    calls = S.calls
    for e in S.errors[:20]:
        print("# " + e)
    check(not S.errors, "no call lost or misrouted (%d calls, %d bad)" %
          (len(calls), len(S.errors)))
    straddled = [c for c in calls if c["asked_a"] > c["asked_s"]]
    old = [c for c in straddled if c.get("gen", 0) < c["asked_a"]]
    retried = [c for c in calls if c.get("retried")]
    by_tag = {}
    for c in calls:
        by_tag[c["tag"]] = by_tag.get(c["tag"], 0) + 1
    print("# calls by client: %s" % by_tag)
    print("# %d calls in flight across a reload, %d of them answered by "
          "the older generation; %d sent again after a drained worker "
          "closed an idle keep-alive connection" %
          (len(straddled), len(old), len(retried)))
    check(all(n >= 10 for n in by_tag.values()),
          "every client made calls throughout")
    check(len(straddled) >= len(reloads),
          "calls were in flight across the reloads (%d)" % len(straddled))
    check(old, "some in-flight calls finished with the generation they "
          "started in (%d)" % len(old))

    # No call reached an upstream twice (a call sent again had not been
    # read), and every answered call reached one exactly once.
    seen = {}
    for up in ups.values():
        for r in up.seen("/g"):
            seen[r.query] = seen.get(r.query, 0) + 1
    twice = [q for q, n in seen.items() if n > 1]
    check(not twice, "no request reached an upstream twice (%s)" % twice[:5])
    check(all(seen.get("rid=" + c["rid"]) == 1 for c in calls
              if c.get("status") == 200),
          "every answered call reached an upstream once")

    log = d.logtext()
    if os.environ.get("RS_LOG"):
        d.dump_log()
    check("evicted" not in log and "refused" not in log.lower(),
          "no plan refused and no worker evicted by a keeper")
    check("killed by signal" not in log, "no process died")
    for how, what, took in reloads:
        print("# reload %s (%s): %.3f s" % (how, what, took))
finally:
    S.stop = True
    for c in clients:
        c.thread.join(5)
    d.cleanup()
    for up in ups.values():
        up.close()
    print("# reload_stream: %.1f s" % (time.monotonic() - T0))
