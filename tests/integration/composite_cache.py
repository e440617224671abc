#!/usr/bin/env python3
"""Composite steps and the response cache (issue 12): a GET step whose
upstream says max-age is answered from the worker's cache on the next
call (the upstream sees it once, its X-Connector-Timing row says
cache_hit, and later steps still get its body through steps.<name>); a
step answered with no-store, and a POST step, reach the upstream every
time; a stale entry stands in for a step's 503 when the upstream allows
it; a simple connector with the same URL does not share the step's
entries."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check                # noqa: E402
from upstream import Upstream, echo_answer                   # noqa: E402
from compositeutil import call, timing                       # noqa: E402

up = Upstream()
state = {"acct": 0, "fail": False}


def acct(req):
    state["acct"] += 1
    if state["fail"]:
        return 503, {"Content-Type": "text/plain"}, b"down"
    return 200, {"Content-Type": "application/json",
                 "Cache-Control": "max-age=60, stale-if-error=600"}, \
        json.dumps({"id": 42, "n": state["acct"]}).encode()


def nostore(req):
    return 200, {"Content-Type": "application/json",
                 "Cache-Control": "no-store"}, b'{"id": 7}'


def short(req):
    if state["fail"]:
        return 503, {"Content-Type": "text/plain"}, b"down"
    return 200, {"Content-Type": "application/json",
                 "Cache-Control": "max-age=1, stale-if-error=600"}, \
        b'{"id": 9}'


up.route("/acct", acct)
up.route("/short", short)
up.route("/nostore", nostore)
up.route("/orders/", echo_answer)


def seen(prefix):
    return len(up.seen(prefix))


COMPOSITES = [
    {"name": "Cached", "permalink": "cached", "steps": [
        {"name": "user", "url": up.url("/acct"),
         "response_body": "{{ (response.body | from_json).id }}:"
                          "{{ (response.body | from_json).n }}"},
        {"name": "orders", "method": "POST",
         "url": up.url("/orders/{{ steps.user.body }}"),
         "response_body": "{{ {'path': (response.body | from_json).path} "
                          "| tojson }}"}]},
    {"name": "Uncached", "permalink": "uncached", "steps": [
        {"name": "user", "url": up.url("/nostore")},
        {"name": "get", "url": up.url("/orders/{{ (steps.user.body | "
                                      "from_json).id }}")}]},
    {"name": "Stale", "permalink": "stale", "steps": [
        {"name": "s", "url": up.url("/short")},
        {"name": "next", "url": up.url("/orders/{{ (steps.s.body | "
                                       "from_json).id }}")}]},
]
SIMPLE = [{"name": "Acct", "permalink": "acct", "url": up.url("/acct")}]

# One worker: each worker has a cache of its own.
d = Daemon(workers=1, egress=TEST_EGRESS)
try:
    d.connectors(*SIMPLE, composites=COMPOSITES)
    d.start()

    st, h, body = call(d, "cached")
    check(st == 200 and seen("/acct") == 1 and seen("/orders/") == 1,
          "first call: both steps reach the upstream (%d, %d, %d)" %
          (st, seen("/acct"), seen("/orders/")))
    first = json.loads(body)
    check(first == {"path": "/orders/42:1"}, "first call: the second step "
          "got the first's body (%r)" % body)
    ct = timing(h, ["user", "orders"], "first call")
    check([r["cache_hit"] for r in ct["steps"]] == [False, False],
          "first call: no step was a hit (%r)" % ct["steps"])

    st, h, body = call(d, "cached")
    check(st == 200 and seen("/acct") == 1,
          "second call: the GET step came from the cache (upstream saw "
          "it %d times)" % seen("/acct"))
    check(seen("/orders/") == 2, "second call: the POST step is never "
          "cached (%d)" % seen("/orders/"))
    check(json.loads(body) == first, "second call: the stored answer went "
          "through the step's transform to the next step (%r)" % body)
    ct = timing(h, ["user", "orders"], "second call")
    check([r["cache_hit"] for r in ct["steps"]] == [True, False],
          "second call: the first step's row says cache_hit (%r)" %
          ct["steps"])
    check(ct["steps"][0]["external_ms"] == 0,
          "second call: a hit took no upstream time (%r)" % ct["steps"][0])
    check("cache-status" not in h, "a composite's answer has no "
          "Cache-Status of one step (%r)" % h.get("cache-status"))

    # A simple connector on the same URL has entries of its own.
    st, _, body = d.call("GET", "/widget-service/connectors/acct/execute")
    check(st == 200 and seen("/acct") == 2 and json.loads(body)["n"] == 2,
          "a simple connector with the step's URL does not share its entry "
          "(%d, %d)" % (st, seen("/acct")))

    # no-store: every call reaches the upstream.
    for i in range(2):
        st, _, _ = call(d, "uncached")
        check(st == 200, "uncached call %d answered (%d)" % (i, st))
    check(seen("/nostore") == 2 and seen("/orders/7") == 2,
          "no-store and uncacheable GET steps are called every time "
          "(%d, %d)" % (seen("/nostore"), seen("/orders/7")))

    # Stale-if-error: an expired entry stands in for the step's 503,
    # and the next step runs on it.
    st, _, _ = call(d, "stale")
    check(st == 200 and seen("/short") == 1, "stale: first call (%d)" % st)
    time.sleep(2.2)         # past max-age=1 (ages count whole seconds)
    state["fail"] = True
    st, h, body = call(d, "stale")
    state["fail"] = False
    check(seen("/short") == 2, "stale: the expired step asked the upstream "
          "again (%d)" % seen("/short"))
    check(st == 200 and json.loads(body)["path"] == "/orders/9",
          "stale: the stored answer stood in for the 503 and the next step "
          "ran on it (%d %r)" % (st, body[:200]))
    print("ok")
finally:
    d.stop()
    up.close()
