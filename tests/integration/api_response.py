"""The response of an execute call (issue 7, SPEC 5 and 7, platform-docs
10 and 17): the upstream status passes through, with or without a
response template; the template sees response.body (str, or None for
bytes that are not UTF-8), response.status_code and response.headers
(lower-case keys, repeated headers joined) and runs on every status;
response_content_type overrides the upstream's Content-Type.  Template
failures are 422 with line:col, scope "Configuration (template
rendering)" before the call and "Configuration (response template
rendering)" after it.  Only Content-Type crosses from the upstream."""

import gzip
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access_is, common, envelope, execute, refused  # noqa

# The headers widgetd itself writes; nothing else may appear.
OURS = {"content-type", "content-length", "x-request-id",
        "x-content-type-options", "cache-control", "server-timing",
        "x-connector-timing", "connection", "cache-status", "vary"}
NOISY = {"Set-Cookie": ["sid=upstream; HttpOnly", "b=2"],
         "Location": "https://elsewhere.example/",
         "Connection": "keep-alive", "Keep-Alive": "timeout=5",
         "Proxy-Authenticate": "Basic", "Upgrade": "h2c",
         "Trailer": "X-T", "X-Custom": "custom", "Link": "<x>; rel=next",
         "ETag": '"v1"', "Cache-Control": "public, max-age=3600",
         "WWW-Authenticate": "Bearer", "Vary": "Cookie",
         "Access-Control-Allow-Origin": "*", "Refresh": "0; url=/x",
         "Content-Security-Policy": "default-src *",
         "Strict-Transport-Security": "max-age=1", "X-Frame-Options": "x",
         "X-CUSTOM": "again"}
STATUSES = [200, 201, 204, 301, 302, 400, 401, 404, 418, 429, 500, 502,
            503]
TMPL = ('{"status": {{ response.status_code }}, "body": '
        '{{ response.body | tojson }}, "cookie": '
        '{{ response.headers["set-cookie"] | tojson }}, "custom": '
        '{{ response.headers["x-custom"] | tojson }}, "keys": '
        '{{ response.headers.keys() | list | sort | tojson }}, '
        '"tenant": {{ tenant_id | tojson }}, "user": {{ user.id | tojson }}}')


def status_route(req):
    code = int(req.path.split("/")[2])
    hdrs = dict(NOISY, **{"Content-Type": "text/x-upstream"})
    return code, hdrs, b"" if code == 204 else b"said %d" % code


def binary_route(req):
    return 200, {"Content-Type": "application/octet-stream",
                 "X-Custom": "bin"}, b"\xff\xfe\x00 not UTF-8 \xc3"


def gzip_route(req):
    return 200, {"Content-Type": "application/json",
                 "Content-Encoding": "gzip"}, gzip.compress(b'{"z": 1}')


up = Upstream()
up.route("/s/", status_route)
up.route("/bin", binary_route)
up.route("/gz", gzip_route)
up.route("/noct", lambda r: (200, {"X-Custom": "1"}, b"no type"))
up.route("/text", lambda r: (200, {"Content-Type": "text/plain"},
                              b"not { json"))
d = Daemon(workers=1, egress=TEST_EGRESS)
try:
    pp = {"path_parameters": [{"key": "code"}]}
    d.connectors(
        dict(pp, name="raw", permalink="raw",
             url=up.url("/s/{{ pathParams.code }}")),
        dict(pp, name="tmpl", permalink="tmpl",
             url=up.url("/s/{{ pathParams.code }}"), response_body=TMPL,
             response_content_type="application/json"),
        dict(pp, name="keep", permalink="keep",
             url=up.url("/s/{{ pathParams.code }}"),
             response_body="{{ response.status_code }}"),
        {"name": "bin", "permalink": "bin", "url": up.url("/bin"),
         "response_body": "{{ response.body is none }} "
                          "{{ response.headers['x-custom'] }}"},
        {"name": "binraw", "permalink": "binraw", "url": up.url("/bin")},
        {"name": "gz", "permalink": "gz", "url": up.url("/gz")},
        {"name": "noct", "permalink": "noct", "url": up.url("/noct")},
        {"name": "ctov", "permalink": "ctov", "url": up.url("/noct"),
         "response_content_type": "application/xml; charset=utf-8"},
        # Request-side template errors (the upstream is never called).
        {"name": "e-url", "permalink": "e-url",
         "url": up.url("/e/{{ 'x' | from_json }}")},
        {"name": "e-header", "permalink": "e-header", "url": up.url("/e"),
         "headers": [{"key": "X-A", "value": "ok"},
                     {"key": "X-B", "value": "line one\n"
                      "  {{ tenant_id + 1 }}"}]},
        {"name": "e-query", "permalink": "e-query", "url": up.url("/e"),
         "query_parameters": [{"key": "q",
                               "value": "{{ 'nope' | from_json }}"}]},
        {"name": "e-body", "permalink": "e-body", "method": "POST",
         "url": up.url("/e"),
         "request_body": "{\n\n   {{ (body_text | from_json).a.b.c }}}"},
        {"name": "e-auth", "permalink": "e-auth", "url": up.url("/e"),
         "authentication": {"type": "api_key", "config": {
             "key": "X-K", "value": "{{ 1 // 0 }}"}}},
        # Response-side: a from_json failure, a type error.
        {"name": "r-json", "permalink": "r-json", "url": up.url("/text"),
         "response_body": "{% set r = response.body | from_json %}\n"
                          "{{ r }}"},
        {"name": "r-type", "permalink": "r-type", "url": up.url("/text"),
         "response_body": "ok\nok {{ response.status_code ~ '' }}\n"
                          "    {{ response.status_code + 'x' }}"},
        {"name": "r-guard", "permalink": "r-guard", "url": up.url("/text"),
         "response_body": "{% if response.status_code == 200 and "
                          "response.headers['content-type'] == "
                          "'application/json' %}{{ (response.body | "
                          "from_json).x }}{% else %}{\"error\": "
                          "{{ response.status_code }}}{% endif %}"})
    d.start()

    def call(permalink, what, code=None):
        n = len(up.requests)
        hs = ["X-Path-Params: code=%d" % code] if code else []
        st, h, b = d.call("GET", execute(permalink), hs)
        check(len(up.requests) == n + 1, "%s: one upstream request" % what)
        extra = set(h) - OURS
        check(not extra, "%s: only widgetd's own headers and Content-Type "
              "(%s)" % (what, sorted(extra)))
        check(h.get("cache-control") == "no-store",
              "%s: Cache-Control is widgetd's no-store" % what)
        check(h.get("vary") == "Origin",
              "%s: Vary is widgetd's Origin (SPEC §5), not the upstream's"
              % what)
        check(h.get("connection", "keep-alive") == "keep-alive" or
              h.get("connection") == "close", "%s: Connection is ours"
              % what)
        common(h, what, external="127.0.0.1")
        return st, h, b

    # Every status passes through, raw and through a template.
    for code in STATUSES:
        st, h, b = call("raw", "upstream %d, no template" % code, code)
        check(st == code, "upstream %d: the widget gets %d (%d)" %
              (code, code, st))
        check(b == (b"" if code == 204 else b"said %d" % code),
              "upstream %d: the body unchanged" % code)
        check(h.get("content-type") == "text/x-upstream",
              "upstream %d: the upstream's Content-Type" % code)
        access_is(d, h["x-request-id"], "upstream %d" % code, "test", "raw",
                  code, upstream=str(code))

        st, h, b = call("tmpl", "upstream %d, a template" % code, code)
        check(st == code, "upstream %d through a template: %d (%d)" %
              (code, code, st))
        check(h.get("content-type") == "application/json",
              "upstream %d: response_content_type wins" % code)
        if code == 204:
            check(b == b"", "204: no body, whatever the template says")
            continue
        doc = json.loads(b)
        check(doc["status"] == code and doc["body"] == "said %d" % code,
              "upstream %d: the template ran, with status_code and body"
              % code)
        check(doc["cookie"] == "sid=upstream; HttpOnly, b=2",
              "response.headers joins repeated Set-Cookie with ', '")
        check(doc["custom"] == "custom, again" and all(k == k.lower() for k in
                                                doc["keys"]) and
              "x-custom" in doc["keys"] and "set-cookie" in doc["keys"],
              "response.headers has lower-case keys, a name's values "
              "joined whatever their case (%s)" % doc["keys"])
        check(doc["tenant"] == "test" and doc["user"] is None,
              "tenant_id, and user.* None for an anonymous caller")
    st, h, b = call("keep", "a template without response_content_type",
                    301)
    check(st == 301 and b == b"301" and "location" not in h and
          h.get("content-type") == "text/x-upstream",
          "301: status kept, Location not forwarded, upstream's type")

    # Bytes that are not UTF-8: response.body is None; raw, as they are.
    st, h, b = call("bin", "binary body, template")
    check(st == 200 and b == b"True bin",
          "a body that is not UTF-8 is None in the template (%r)" % b)
    st, h, b = call("binraw", "binary body, no template")
    check(b == b"\xff\xfe\x00 not UTF-8 \xc3" and
          h.get("content-type") == "application/octet-stream",
          "without a template the bytes come back unchanged")
    # Content-Encoding: decoded in the keeper, never forwarded.
    st, h, b = call("gz", "a gzip answer")
    check(b == b'{"z": 1}' and "content-encoding" not in h,
          "a gzip answer is decoded; Content-Encoding does not cross")
    # No upstream Content-Type: none, unless the connector sets one.
    st, h, b = call("noct", "no upstream Content-Type")
    check(b == b"no type" and "content-type" not in h,
          "no upstream Content-Type: the widget gets none")
    st, h, b = call("ctov", "response_content_type without a template")
    check(h.get("content-type") == "application/xml; charset=utf-8" and
          b == b"no type", "response_content_type applies without a "
          "template too")

    # Request-side template errors: 422, the field, line:col, nothing
    # sent upstream.
    scope = "Configuration (template rendering)"
    for permalink, detail, method in (
            ("e-url", r"^url: 1:\d+: from_json: Expecting value", "GET"),
            ("e-header", r"^header 'X-B': 2:\d+: can only concatenate",
             "GET"),
            ("e-query", r"^query parameter 'q': 1:\d+: from_json: ",
             "GET"),
            ("e-body", r"^request_body: 3:\d+: .*no attribute 'b'",
             "POST"),
            ("e-auth", r"^authentication value: 1:\d+: integer division",
             "GET")):
        rid, doc = refused(d, up, method, execute(permalink), 422, None,
                           "request-side error in %s" % permalink,
                           scope=scope, detail=detail,
                           body=b'{"a": 1}' if method == "POST" else b"")
        access_is(d, rid, permalink, "test", permalink, 422, error=scope)

    # Response-side: the upstream was called, then 422.
    scope = "Configuration (response template rendering)"
    for permalink, detail in (("r-json",
                               r"^response_body: 1:\d+: from_json: "),
                              ("r-type", r"^response_body: 3:\d+: "
                               r"unsupported operand")):
        n = len(up.requests)
        st, h, b = d.call("GET", execute(permalink))
        check(st == 422 and len(up.requests) == n + 1,
              "%s: 422 after the upstream answered" % permalink)
        doc = envelope(b, 422, None, permalink, scope=scope, detail=detail)
        rid = common(h, permalink, external="127.0.0.1")
        access_is(d, rid, permalink, "test", permalink, 422, upstream="200",
                  error=scope)
    st, h, b = call("r-guard", "a guarded template")
    check(st == 200 and b == b'{"error": 200}', "a guard on the content "
          "type keeps a non-JSON answer from from_json (%r)" % b)
finally:
    d.cleanup()
    up.close()
