"""What the composite connector tests (tests/integration/composite_*.py)
share: the route, and the timing headers of a composite's answer
(platform-docs 18: one step.<name> entry per step that ran, then total;
X-Connector-Timing with the keys of every answer and a per-step
breakdown, widgetd-connectors(5))."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import check, fail                  # noqa: E402
from apiutil import BREAKDOWN, CT_KEYS, CT_OPTIONAL, UUID4  # noqa: E402

ENTRY = re.compile(r'([a-z][a-z0-9.-]*);dur=([0-9]+\.[0-9]);desc="([^"]*)"')
STEP_KEYS = {"name", "index", "total_ms", "transform_ms", "external_ms",
             "cache_hit"}
STEP_OPTIONAL = {"status", "external_host", "timeout"}


def path(key):
    return "/widget-service/composite-connectors/%s/execute" % key


def call(d, key, body=b"", headers=(), query="", method="POST"):
    """One composite call on a fresh connection: (status, headers, body)."""
    return d.call(method, path(key) + (("?" + query) if query else ""),
                  headers, body)


def timing(hdrs, steps, what, statuses=None, host=None, timeout=False):
    """The timing headers of an answer after steps (names, in order) ran;
    returns X-Connector-Timing as a dict.  statuses: each step's upstream
    status (None: it got none)."""
    rid = hdrs.get("x-request-id", "")
    check(UUID4.match(rid) is not None, "%s: X-Request-ID is a UUID v4" %
          what)
    st = hdrs.get("server-timing", "")
    entries = ENTRY.findall(st)
    names = [e[0] for e in entries]
    want = ["step." + s for s in steps] + ["total"]
    check(names == want and len(", ".join(
        '%s;dur=%s;desc="%s"' % e for e in entries)) == len(st),
        "%s: Server-Timing is %s (%s)" % (what, ", ".join(want), st))
    check([e[2] for e in entries] == ["Step: " + s for s in steps] +
          ["Total"], "%s: Server-Timing descriptions name the steps" % what)
    durs = [float(e[1]) for e in entries]
    check(sum(durs[:-1]) <= durs[-1] + 0.1 * len(steps),
          "%s: the steps took no longer than the whole (%s)" % (what, durs))
    try:
        ct = json.loads(hdrs.get("x-connector-timing", ""))
    except ValueError:
        fail("%s: X-Connector-Timing is not JSON: %r" %
             (what, hdrs.get("x-connector-timing")))
    keys = set(ct)
    check(CT_KEYS | {"steps"} <= keys and
          keys <= CT_KEYS | CT_OPTIONAL | {"steps"} and
          set(ct["breakdown"]) == BREAKDOWN and ct["request_id"] == rid,
          "%s: X-Connector-Timing has the keys of platform-docs 18 and "
          "steps (%s)" % (what, sorted(keys)))
    check(abs(ct["total_ms"] - durs[-1]) < 0.11 and
          abs(ct["internal_ms"] + ct["external_ms"] - ct["total_ms"]) < 0.25
          and abs(ct["external_ms"] - ct["breakdown"]["http_request_ms"]) <
          0.11, "%s: totals agree (total = internal + external)" % what)
    rows = ct["steps"]
    check([r.get("name") for r in rows] == list(steps) and
          [r.get("index") for r in rows] == list(range(len(steps))) and
          all(STEP_KEYS <= set(r) <= STEP_KEYS | STEP_OPTIONAL
              for r in rows),
          "%s: a breakdown row per step, in order (%s)" % (what, rows))
    check(abs(sum(r["external_ms"] for r in rows) - ct["external_ms"]) <
          0.1 * len(rows) + 0.11, "%s: external_ms is the steps' sum" % what)
    check(all(abs(r["total_ms"] - d) < 0.11 for r, d in zip(rows, durs)),
          "%s: each row's total_ms is its Server-Timing entry" % what)
    if statuses is not None:
        got = [r.get("status") for r in rows]
        check(got == list(statuses), "%s: upstream statuses per step %r "
              "(%r)" % (what, list(statuses), got))
    if host is not None:
        check(ct.get("external_host") == host,
              "%s: external_host is the last step's (%r)" %
              (what, ct.get("external_host")))
    check(bool(ct.get("timeout")) == timeout and
          bool(rows and rows[-1].get("timeout")) == timeout,
          "%s: timeout %s" % (what, timeout))
    return ct
