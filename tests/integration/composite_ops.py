"""Issue 14's per-call features on a composite connector (issue 12): every
step's upstream gets the request's traceparent (one trace id, the one in
X-Connector-Timing and the access line), a step's own widgetd.retry is
applied by the keeper to that step alone, and limits.client_rate counts
a composite's call once (however many steps it makes) and refuses it
before any step with 429 RATE_LIMITED and Retry-After; widgetctl status
counts the refusal on the composite's row and the retry on the step's."""

import json
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Daemon, check, wait_for               # noqa: E402
from upstream import Upstream                            # noqa: E402
from apiutil import envelope                             # noqa: E402
from compositeutil import call                           # noqa: E402

TP = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")
up = Upstream()
lock = threading.Lock()
flaky = {"n": 0}


def ok(req):
    return 200, {"Content-Type": "application/json"}, b'{"ok": true}'


def once_503(req):
    """503 to the first attempt of each call, 200 to the retry."""
    with lock:
        flaky["n"] += 1
        n = flaky["n"]
    if n % 2 == 1:
        return 503, {"Content-Type": "application/json"}, b"{}"
    return ok(req)


up.route("/a", ok)
up.route("/b", once_503)
up.route("/c", ok)

d = Daemon(workers=1, egress="""egress = { allow_http = true;
    allow_networks = [ "127.0.0.0/8" ]; timeout = 8; };""",
           limits="client_rate = 0.1; client_burst = 2;")
d.connectors(composites=[{
    "name": "three", "permalink": "three", "steps": [
        {"name": "a", "url": up.url("/a")},
        {"name": "b", "url": up.url("/b"),
         "widgetd": {"retry": {"attempts": 2, "backoff": 0.05}}},
        {"name": "c", "url": up.url("/c")}]}])
try:
    d.start(args=("-d", "-v"))

    up.reset()
    st, h, body = call(d, "three", b"{}")
    check(st == 200, "the composite answers 200 (%d %r)" % (st, body[:200]))
    got = {p: [r.header("traceparent") for r in up.seen(p)]
           for p in ("/a", "/b", "/c")}
    check(len(got["/a"]) == 1 and len(got["/b"]) == 2 and
          len(got["/c"]) == 1, "step b alone was tried twice (its retry): "
          "%r" % {p: len(v) for p, v in got.items()})
    sent = [t for v in got.values() for t in v]
    check(all(t is not None and TP.match(t) for t in sent),
          "every step's upstream got a traceparent: %r" % sent)
    tids = {t[3:35] for t in sent}
    check(len(tids) == 1, "one trace id for the whole call: %r" % tids)
    tid = tids.pop()
    ct = h.get("x-connector-timing", "")
    check('"trace_id":"%s"' % tid in ct,
          "X-Connector-Timing names the trace: %r" % ct)
    check(wait_for(lambda: any(tid in line and ": access: " in line
                               for line in d.logtext().splitlines()), 10),
          "the access line names the trace")

    # The burst is 2: the first call took one, one more goes, then 429.
    up.reset()
    st, h, body = call(d, "three", b"{}")
    check(st == 200, "the burst's second call goes (%d)" % st)
    n = len(up.seen())
    st, h, body = call(d, "three", b"{}")
    check(st == 429, "then the client is refused: %d %r" % (st, body[:200]))
    envelope(body, 429, "RATE_LIMITED", "the refused composite")
    ra = h.get("retry-after")
    check(ra is not None and ra.isdigit() and int(ra) >= 1,
          "with Retry-After: %r" % ra)
    check(len(up.seen()) == n, "no step of the refused call went upstream")

    # widgetctl status: the refusal on the composite's own row (no second
    # row of kind connector for it), the retry on step b's row.
    def rows():
        r = d.widgetctl("status", "--json")
        got = {(c["permalink"], c["kind"]): c
               for c in json.loads(r.stdout)["connectors"]}
        comp, b = got.get(("three", "composite")), got.get(("three/b",
                                                             "step"))
        if comp is None or b is None or comp.get("limit_client") != 1:
            return None
        return got
    got = wait_for(rows, 10)
    check(got is not None, "status: the composite's row counts the refusal")
    check(("three", "connector") not in got,
          "status: no connector row for the composite (%r)" % sorted(got))
    b = got[("three/b", "step")]
    check(b.get("upstream_requests") == 4 and b.get("upstream_retries") == 2,
          "status: step b's row: 4 attempts, 2 retries (%r)" % b)
finally:
    d.cleanup()
    up.close()
print("composite_ops: ok")
