"""Trace context and the access log (issue 14): each call sends a W3C
traceparent upstream whose trace id is in X-Connector-Timing and the
access line; a caller's traceparent is continued only from a peer in
trace.trusted (and only when valid); trace.upstream = false sends none;
the JSON access log goes to log.access_file, which SIGUSR1 reopens after
a rotation; no secret reaches the log at any verbosity."""

import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream  # noqa: E402
from wdtest import TEST_EGRESS, Daemon, check, wait_for  # noqa: E402

TP = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")
SECRET = "s3cr3t-for-the-log-test"
up = Upstream()


def timing(hdrs):
    return json.loads(hdrs["x-connector-timing"])


def run(extra, checks):
    d = Daemon(workers=1, egress=TEST_EGRESS, extra=extra)
    d.connectors({"name": "t", "permalink": "t", "method": "GET",
                  "url": up.url("/t"),
                  "headers": [{"key": "X-Key",
                               "value": "{{ get_secret('k') }}"}]})
    d.set_secret("k", SECRET)
    try:
        d.start(args=("-d", "-v", "-v"))
        checks(d)
    finally:
        d.cleanup()


def call(d, headers=()):
    up.reset()
    st, hdrs, body = d.call("GET", "/widget-service/connectors/t/execute",
                            headers=headers)
    check(st == 200, "call: %d %r" % (st, body[:200]))
    sent = up.seen("/t")[-1].header("traceparent")
    return hdrs, sent


INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def untrusted(d):
    hdrs, sent = call(d)
    m = TP.match(sent or "")
    check(m, "a traceparent goes upstream: %r" % sent)
    tid = timing(hdrs).get("trace_id")
    check(tid == m.group(1), "X-Connector-Timing names the trace: %r" % tid)
    check(wait_for(lambda: any(tid in l and "access:" in l
                               for l in d.logtext().splitlines()), 10),
          "the access line names the trace")
    hdrs, sent = call(d, headers=("traceparent: " + INCOMING,))
    check(TP.match(sent) and INCOMING[3:35] not in sent,
          "an untrusted peer's traceparent is not continued: %r" % sent)
    # Two calls, two traces.
    _, again = call(d)
    check(again[3:35] != sent[3:35], "a new trace per request")
    check(SECRET not in d.logtext(), "no secret in the log at -vv")


def trusted(d):
    hdrs, sent = call(d, headers=("traceparent: " + INCOMING,))
    check(sent[3:35] == INCOMING[3:35],
          "a trusted peer's trace continues: %r" % sent)
    check(sent[36:52] != INCOMING[36:52], "with widgetd's own span")
    check(timing(hdrs)["trace_id"] == INCOMING[3:35], "timing trace id")
    for bad in ("00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
                "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                INCOMING + "-extra"):
        _, sent = call(d, headers=("traceparent: " + bad,))
        check(TP.match(sent) and sent[3:35] != INCOMING[3:35],
              "an invalid traceparent starts a new trace: %r" % bad)
    # A later version may carry more fields: the trace continues.
    _, sent = call(d, headers=("traceparent: 01" + INCOMING[2:] + "-x",))
    check(sent.startswith("00-" + INCOMING[3:35]),
          "a later version's trace continues: %r" % sent)


def off(d):
    _, sent = call(d)
    check(sent is None, "trace.upstream = false sends none: %r" % sent)


def jsonlog(d):
    path = os.path.join(d.dir, "access.log")
    hdrs, sent = call(d)

    def lines(p):
        try:
            with open(p) as f:
                return [json.loads(l.split(" ", 1)[1]) for l in f]
        except FileNotFoundError:
            return []
    rid = hdrs["x-request-id"]
    recs = wait_for(lambda: [r for r in lines(path)
                             if r["request_id"] == rid], 10)
    check(recs, "the call's access line in the file")
    r = recs[-1]
    for k in ("worker", "peer", "tenant", "method", "target", "status",
              "upstream_status", "total_ms", "external_ms", "connector",
              "cache", "request_id", "trace_id", "error"):
        check(k in r, "JSON access record has %s" % k)
    check(r["status"] == 200 and r["connector"] == "t" and
          r["trace_id"] == sent[3:35] and r["request_id"] ==
          hdrs["x-request-id"], "the record is this request: %r" % r)
    os.rename(path, path + ".1")
    d.signal(signal.SIGUSR1)
    check(wait_for(lambda: "reopened" in d.logtext(), 10),
          "SIGUSR1 reopens the access file")
    hdrs2, _ = call(d)
    rid2 = hdrs2["x-request-id"]
    check(wait_for(lambda: any(r["request_id"] == rid2 for r in lines(path)),
                   10), "new lines go to the new file")
    old = [r["request_id"] for r in lines(path + ".1")]
    check(hdrs["x-request-id"] in old and rid2 not in old,
          "the rotated file keeps its lines and gets no new one")
    check(SECRET not in open(path).read() + open(path + ".1").read(),
          "no secret in the access log")


run("", untrusted)
run('trace = { trusted = [ "127.0.0.1/32" ]; };', trusted)
run("trace = { upstream = false; };", off)
run('log = { access_format = "json"; access_file = "access.log"; };',
    jsonlog)
up.close()
print("PASS: trace and access log")
