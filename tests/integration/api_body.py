"""The request body of an execute call (issue 7, platform-docs 9, 16): for
POST, PUT and PATCH a blank request_body forwards the payload byte for
byte; a request_body template sees body_text (str or None) and body_raw
(rendered as a Python bytes literal); a payload that is not JSON where
the template reads it is 400 INVALID_JSON with nothing sent; GET and
DELETE bodies never go upstream; Content-Type and Accept follow the
caller unless a row sets them."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access_is, common, execute, refused  # noqa: E402

up = Upstream()
d = Daemon(workers=1, egress=TEST_EGRESS, limits="request_body = 4096;")
try:
    conns = []
    for m in ("POST", "PUT", "PATCH"):
        conns.append({"name": "fwd " + m, "permalink": "fwd-" + m.lower(),
                      "method": m, "url": up.url("/fwd")})
    conns += [
        {"name": "order", "permalink": "order", "method": "POST",
         "url": up.url("/order"),
         "request_body": '{"order_id": {{ (body_text | from_json).order.id '
                         '| tojson }}, "total": {{ (body_text | from_json)'
                         '.order.total }}, "t": {{ tenant_id | tojson }}}'},
        {"name": "raw", "permalink": "raw", "method": "PUT",
         "url": up.url("/raw"), "request_body": "{{ body_raw }}"},
        {"name": "text", "permalink": "text", "method": "PATCH",
         "url": up.url("/text"),
         "request_body": "[{{ body_text }}|{{ body_raw }}]"},
        {"name": "fixed", "permalink": "fixed", "method": "POST",
         "url": up.url("/fixed"), "request_body": '{"fixed": true}'},
        {"name": "typed", "permalink": "typed", "method": "POST",
         "url": up.url("/typed"),
         "headers": [{"key": "content-type", "value": "text/csv"},
                     {"key": "ACCEPT", "value": "text/csv"}]},
        {"name": "get", "permalink": "get", "method": "GET",
         "url": up.url("/get"), "request_body": "{{ body_text }}"},
        {"name": "delete", "permalink": "delete", "method": "DELETE",
         "url": up.url("/delete")},
    ]
    d.connectors(*conns)
    d.start()

    def call(method, permalink, body, headers=(), what=""):
        n = len(up.requests)
        st, h, b = d.call(method, execute(permalink), headers, body)
        check(st == 200, "%s: 200 (%d %r)" % (what, st, b[:200]))
        check(len(up.requests) == n + 1, "%s: one upstream request" % what)
        common(h, what, external="127.0.0.1")
        return up.requests[-1], h

    # Blank request_body: the payload as it came, for each body method.
    payload = ('{ "b": [1, 2.50, "\\u00e9\xe9"],\n  "a" : null }  '
               .encode("utf-8"))
    for m in ("POST", "PUT", "PATCH"):
        r, h = call(m, "fwd-" + m.lower(), payload,
                    what="%s with a blank request_body" % m)
        check(r.method == m and r.body == payload,
              "%s: the payload reaches the upstream byte for byte" % m)
        check(r.header("Content-Type") == "application/json",
              "%s: no caller Content-Type: application/json" % m)
        access_is(d, h["x-request-id"], m, "test", "fwd-" + m.lower(), 200,
                  upstream="200", method=m)
    # Not JSON at all: nothing reads it, so it goes unchanged too.
    binary = bytes(range(256)) + b"not json"
    r, _ = call("POST", "fwd-post", binary,
                ["Content-Type: application/octet-stream"],
                what="a binary payload")
    check(r.body == binary, "a binary payload is forwarded byte for byte")
    check(r.header("Content-Type") == "application/octet-stream",
          "the caller's Content-Type goes with the payload")
    r, _ = call("POST", "fwd-post", b"", what="POST without a body")
    check(r.body == b"" and r.header("Content-Length") == "0",
          "an empty payload is an empty body (Content-Length: 0)")

    # A request_body template with body_text | from_json.
    r, _ = call("POST", "order",
                b'{"order": {"id": "A-17", "total": 12.5, "x": 1}}',
                ["Content-Type: application/json; charset=utf-8"],
                what="request_body template")
    check(json.loads(r.body) == {"order_id": "A-17", "total": 12.5,
                                 "t": "test"},
          "the template's output is the body (%r)" % r.body)
    check(r.header("Content-Type") == "application/json; charset=utf-8",
          "the caller's Content-Type is kept for a rendered body")

    # body_raw renders as Python's repr of bytes (platform-docs 9).
    for p in (b'{"a": 1}', b'"it\'s"', b'["\\u00e9", "\xc3\xa9"]',
              b'{"s": "tab\\there"}\n', b'"back\\\\slash"', b"[]\r\n"):
        r, _ = call("PUT", "raw", p, what="body_raw of %r" % p)
        check(r.body == repr(p).encode(),
              "body_raw renders %s (%r)" % (repr(p), r.body))
    # body_text is the text; None (rendered "None") without a body.
    r, _ = call("PATCH", "text", '"\xe9"'.encode(), what="body_text")
    check(r.body == '["\xe9"|b\'"\\xc3\\xa9"\']'.encode(),
          "body_text is the UTF-8 text, body_raw its bytes (%r)" % r.body)
    r, _ = call("PATCH", "text", b"", what="body_text without a body")
    check(r.body == b"[None|None]",
          "without a body, body_text and body_raw are None (%r)" % r.body)

    # Not JSON where the template reads the payload: 400, nothing sent.
    for what, bad in (("text", b"hello"), ("single quotes", b"{'a': 1}"),
                      ("trailing garbage", b'{"a": 1} x'),
                      ("truncated", b'{"a": '), ("trailing comma", b"[1,]"),
                      ("NaN", b"NaN"), ("two documents", b"{} {}"),
                      ("not UTF-8", b'"\xff"'), ("a comment", b"1 // c"),
                      ("Infinity", b"[Infinity]"), ("a raw control byte "
                      "in a string", b'"a\x01b"'), ("a byte order mark",
                      b"\xef\xbb\xbf{}"), ("nesting of 501",
                      b"[" * 501 + b"]" * 501)):
        for permalink, method in (("order", "POST"), ("raw", "PUT"),
                                  ("text", "PATCH")):
            rid, _ = refused(d, up, method, execute(permalink), 400,
                             "INVALID_JSON", "%s body to %s" %
                             (what, permalink), body=bad,
                             headers=["Content-Type: application/json"])
    access_is(d, rid, "INVALID_JSON", "test", "text", 400,
              error="INVALID_JSON")
    r, _ = call("PUT", "raw", b"[" * 500 + b"]" * 500, what="nesting of "
                "500")
    check(r.body == repr(b"[" * 500 + b"]" * 500).encode(),
          "a payload nested 500 deep (as deep as from_json reads) is JSON")
    # A template that does not read the payload does not need JSON.
    r, _ = call("POST", "fixed", b"not json", what="a fixed request_body")
    check(r.body == b'{"fixed": true}', "a template without body_* "
          "renders whatever the payload")

    # Rows decide Content-Type and Accept when they set them.
    r, _ = call("POST", "typed", b"a,b", ["Content-Type: text/plain",
                                          "Accept: application/json"],
                what="rows setting Content-Type and Accept")
    check([v for k, v in r.header_list if k.lower() == "content-type"] ==
          ["text/csv"] and [v for k, v in r.header_list if k.lower() ==
                            "accept"] == ["text/csv"],
          "a row's Content-Type and Accept, once each, win over the "
          "caller's (%r)" % r.header_list)
    r, _ = call("POST", "fwd-post", b"{}", ["Accept: application/xml"],
                what="caller's Accept")
    check(r.header("Accept") == "application/xml",
          "the caller's Accept is forwarded")
    r, _ = call("GET", "get", b"", what="no caller Accept")
    check(r.header("Accept") == "*/*",
          "without one, the upstream sees libcurl's Accept: */*")

    # GET and DELETE: a body is never forwarded, nor its Content-Type.
    for m, permalink in (("GET", "get"), ("DELETE", "delete")):
        r, _ = call(m, permalink, b'{"no": "body"}',
                    ["Content-Type: application/json"],
                    what="%s with a body" % m)
        check(r.body == b"" and r.header("Content-Length") in (None, "0")
              and r.header("Content-Type") is None,
              "%s: no body and no Content-Type upstream" % m)
    r, _ = call("GET", "get", b"not json", what="GET, a non-JSON body")
    check(r.body == b"", "GET: its request_body is never rendered")

    # Over limits.request_body: 413, nothing sent.
    refused(d, up, "POST", execute("fwd-post"), 413, "PAYLOAD_TOO_LARGE",
            "a body over limits.request_body", body=b"x" * 4097)
    r, _ = call("POST", "fwd-post", b"y" * 4096, what="a body at the limit")
    check(r.body == b"y" * 4096, "a body of exactly limits.request_body "
          "is forwarded")
finally:
    d.cleanup()
    up.close()
