"""What the browser-facing API tests (tests/integration/api_*.py) share:
the headers every response must carry (SPEC 5, platform-docs 18), the
error envelope, the access line of each request, and "the upstream saw
nothing" for a refusal."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import check, fail, wait_for     # noqa: E402

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                   r"[0-9a-f]{12}$")
# One Server-Timing entry: name;dur=N;desc="D".
TIMING = re.compile(r'([a-z]+);dur=([0-9]+\.[0-9]);desc="([^"]*)"')
# worker N: access: PEER TENANT "METHOD TARGET" STATUS UPSTREAM TOTALms
# EXTERNALms CONNECTOR CACHE REQID TRACEID [ERROR]
ACCESS = re.compile(r'worker \d+: access: (\S+) (\S+) "(\S+) (\S+)" (\d{3}) '
                    r'(\d{3}|-) ([0-9.]+)ms ([0-9.]+)ms (\S+) (\S+) '
                    r'([0-9a-f-]{36}) (?:[0-9a-f]{32}|-)(?: (.+))?$')
CT_KEYS = {"request_id", "total_ms", "internal_ms", "external_ms",
           "breakdown", "cache_hit"}
CT_OPTIONAL = {"external_host", "timeout", "error", "trace_id"}
BREAKDOWN = {"setup_ms", "transform_ms", "cache_ms", "http_request_ms"}

# Every request id a test saw: each must be new.
seen_ids = set()


def execute(permalink):
    return "/widget-service/connectors/%s/execute" % permalink


def common(hdrs, what, external=None, timeout=False, error=None):
    """The headers of every response; returns the request id.  external:
    the host an upstream call was tried on (None: none was)."""
    rid = hdrs.get("x-request-id", "")
    check(UUID4.match(rid) is not None and rid not in seen_ids,
          "%s: X-Request-ID is a new UUID v4 (%s)" % (what, rid))
    seen_ids.add(rid)
    check(hdrs.get("x-content-type-options") == "nosniff",
          "%s: X-Content-Type-Options: nosniff" % what)
    st = hdrs.get("server-timing", "")
    entries = TIMING.findall(st)
    names = [e[0] for e in entries]
    want = ["setup", "transform", "cache"]
    if external is not None or timeout:
        want.append("external")
    want.append("total")
    check(names == want and len(", ".join(
        '%s;dur=%s;desc="%s"' % e for e in entries)) == len(st),
        "%s: Server-Timing has %s (%s)" % (what, ",".join(want), st))
    descs = {e[0]: e[2] for e in entries}
    durs = {e[0]: float(e[1]) for e in entries}
    if "external" in descs:
        check(descs["external"] == ("Timeout" if timeout else external),
              "%s: Server-Timing external desc is %r" %
              (what, descs["external"]))
    check(descs["cache"] in ("Cache Miss", "Cache Hit") and
          descs["total"] == "Total" and descs["setup"] == "Setup" and
          descs["transform"] == "Template",
          "%s: Server-Timing descriptions" % what)
    try:
        ct = json.loads(hdrs.get("x-connector-timing", ""))
    except ValueError:
        fail("%s: X-Connector-Timing is not JSON: %r" %
             (what, hdrs.get("x-connector-timing")))
    keys = set(ct)
    check(CT_KEYS <= keys and keys <= CT_KEYS | CT_OPTIONAL and
          set(ct["breakdown"]) == BREAKDOWN and ct["request_id"] == rid and
          isinstance(ct["cache_hit"], bool),
          "%s: X-Connector-Timing has the keys of platform-docs 18 (%s)" %
          (what, sorted(keys)))
    check(abs(ct["total_ms"] - durs["total"]) < 0.11 and
          abs(ct["external_ms"] - ct["breakdown"]["http_request_ms"]) < 0.11
          and ct["total_ms"] + 0.11 >= ct["external_ms"] and
          abs(ct["internal_ms"] + ct["external_ms"] - ct["total_ms"]) < 0.25,
          "%s: X-Connector-Timing figures agree (total = internal + "
          "external, total as in Server-Timing)" % what)
    if external is not None:
        check(ct.get("external_host") == external,
              "%s: external_host is %r" % (what, external))
    else:
        check("external_host" not in ct,
              "%s: no external_host without an upstream call" % what)
    if timeout:
        check(ct.get("timeout") is True, "%s: timeout: true" % what)
    else:
        check("timeout" not in ct, "%s: no timeout member" % what)
    if error is not None:
        check(error in ct.get("error", ""),
              "%s: X-Connector-Timing error names %r (%r)" %
              (what, error, ct.get("error")))
    return rid


# The code of an error whose cause has none (src/api.c, api_status_code).
STATUS_CODE = {400: "BAD_REQUEST", 401: "AUTHENTICATION_REQUIRED",
               403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
               408: "REQUEST_TIMEOUT", 413: "PAYLOAD_TOO_LARGE",
               422: "UNPROCESSABLE", 429: "TOO_MANY_REQUESTS",
               431: "HEADERS_TOO_LARGE", 502: "BAD_GATEWAY",
               503: "UNAVAILABLE", 505: "HTTP_VERSION_NOT_SUPPORTED"}


def envelope(body, status, code, what, scope="Request", params=None,
             detail=None):
    """widgetd's error envelope (SPEC 5); returns the document."""
    try:
        doc = json.loads(body)
    except ValueError:
        fail("%s: the body is not JSON: %r" % (what, body[:200]))
    err = doc.get("errors", {})
    check(doc.get("success") is False and set(doc) ==
          {"success", "errors", "request_id"} and
          UUID4.match(doc.get("request_id", "")) is not None,
          "%s: the envelope of SPEC 5" % what)
    if code is None:
        # No cause of its own: the status's code (api_status_code).
        code = STATUS_CODE.get(status, "INTERNAL_ERROR" if status >= 500
                               else "BAD_REQUEST")
    check(err.get("code") == code and err.get("scope") == scope,
          "%s: %d code %s scope %r (%s)" % (what, status, code, scope,
                                           json.dumps(err)))
    if params is not None:
        check(err.get("params") == params,
              "%s: params %r (%r)" % (what, params, err.get("params")))
    if detail is not None:
        check(re.search(detail, err.get("detail", "")) is not None,
              "%s: detail matches %r (%r)" % (what, detail,
                                             err.get("detail")))
    return doc


def refused(d, up, method, path, status, code, what, headers=(), body=b"",
            host="localhost", scope="Request", params=None, detail=None):
    """A call widgetd answers itself: the status, the envelope, the
    common headers, and not one request at the upstream."""
    n = len(up.requests)
    st, h, b = d.call(method, path, headers, body, host=host)
    check(st == status, "%s: HTTP %d (%d)" % (what, status, st))
    doc = envelope(b, status, code, what, scope, params, detail)
    rid = common(h, what)
    check(doc["request_id"] == rid, "%s: request_id is X-Request-ID" % what)
    check(len(up.requests) == n, "%s: the upstream saw nothing" % what)
    return rid, doc


def access(d, rid, timeout=10):
    """The access line of request rid, as a dict."""
    def find():
        for line in d.logtext().splitlines():
            if rid in line and ": access: " in line:
                m = ACCESS.search(line)
                if m:
                    return m
        return None
    m = wait_for(find, timeout)
    if m is None:
        fail("no access line for %s" % rid)
    keys = ("peer", "tenant", "method", "target", "status", "upstream",
            "total", "external", "connector", "cache", "reqid", "error")
    return dict(zip(keys, m.groups()))


def access_is(d, rid, what, tenant, connector, status, upstream="-",
              error=None, method=None, target=None):
    a = access(d, rid)
    ok = (a["tenant"] == tenant and a["connector"] == connector and
          a["status"] == str(status) and a["upstream"] == upstream and
          a["peer"] == "127.0.0.1" and a["error"] == error)
    if method is not None:
        ok = ok and a["method"] == method
    if target is not None:
        ok = ok and a["target"] == target
    check(ok, "%s: access line: tenant %s, connector %s, status %s, "
          "upstream %s, error %s (%r)" % (what, tenant, connector, status,
                                          upstream, error, a))
    return a
