"""CORS per tenant and the SDK's files on the wire (SPEC 5, issue 13):
a preflight from a listed origin is 204 with the allowed origin,
credentials, every method, the fixed request headers plus the
connector's overridable ones, and max_age; it never reaches the upstream,
even for an OPTIONS connector (which a plain OPTIONS still calls).
Actual answers, errors included, name the listed origin and expose the
timing headers; every answer varies on Origin; an unlisted origin (or
another tenant's) gets no Access-Control-* header at all and its
preflight is 403.  /widget-service/sdk/* serves the three files with
ETag, Cache-Control and 304, HEAD, 405 for other methods, 404 for
others, and the same CORS headers."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import common, execute                # noqa: E402

LISTED = "https://hub.example"
OTHER = "https://evil.example"
up = Upstream()
d = Daemon(workers=1, egress=TEST_EGRESS, tenants=[
    '{ id = "a"; hosts = [ "a.example" ]; registry = "reg.json"; '
    'store = "store"; cors = { origins = [ "HTTPS://Hub.example:443", '
    '"http://127.0.0.1:9" ]; max_age = 120; }; }',
    '{ id = "b"; hosts = [ "b.example" ]; registry = "reg.json"; '
    'store = "store-b"; }'])


def acx(h):
    return {k: v for k, v in h.items() if k.startswith("access-control-")}


try:
    os.mkdir(os.path.join(d.dir, "store-b"))
    d.connectors(
        {"name": "g", "permalink": "g", "url": up.url("/g"),
         "headers": [{"key": "X-Trace", "value": "t", "overridable": True},
                     {"key": "X-Lang", "value": "en", "overridable": True},
                     {"key": "X-Fixed", "value": "f"}]},
        {"name": "o", "permalink": "o", "method": "OPTIONS",
         "url": up.url("/o")})
    d.start()

    def call(method, path, origin=None, host="a.example", extra=()):
        hs = list(extra)
        if origin:
            hs.append("Origin: " + origin)
        st, h, b = d.call(method, path, hs, host=host)
        return st, {k.lower(): v for k, v in h.items()}, b

    # Preflight from a listed origin.
    st, h, b = call("OPTIONS", execute("g"), LISTED, extra=[
        "Access-Control-Request-Method: GET",
        "Access-Control-Request-Headers: x-trace, content-type"])
    check(st == 204 and b == b"", "preflight of a listed origin: 204")
    check(h.get("access-control-allow-origin") == LISTED and
          h.get("access-control-allow-credentials") == "true",
          "it names the origin (as normalised) and allows credentials")
    check(h.get("access-control-allow-methods") ==
          "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
          "every method is allowed, so METHOD_NOT_ALLOWED stays readable")
    allowed = [x.strip() for x in
               h.get("access-control-allow-headers", "").split(",")]
    check(allowed == ["Content-Type", "Accept", "Authorization",
                      "X-CSRFToken", "X-CSRF-Token", "X-Path-Params",
                      "X-Trace", "X-Lang"],
          "allowed headers: the fixed list and the overridable rows "
          "(%s)" % allowed)
    check(h.get("access-control-max-age") == "120", "max_age is sent")
    check("Origin" in h.get("vary", ""), "the preflight varies on Origin")
    check(up.requests == [], "no preflight reaches the upstream")

    # A preflight on an unknown permalink is 204 too: its 404 is readable.
    st, h, _ = call("OPTIONS", execute("nope"), LISTED,
                    extra=["Access-Control-Request-Method: GET"])
    check(st == 204 and "X-Trace" not in h.get(
        "access-control-allow-headers", ""), "unknown permalink: 204 "
          "with the fixed headers only")
    # The second listed origin, with its port.
    st, h, _ = call("OPTIONS", execute("g"), "http://127.0.0.1:9",
                    extra=["Access-Control-Request-Method: GET"])
    check(st == 204 and h.get("access-control-allow-origin") ==
          "http://127.0.0.1:9", "another listed origin, port and all")

    # An OPTIONS connector: preflights never reach it, plain OPTIONS does.
    st, h, _ = call("OPTIONS", execute("o"), LISTED,
                    extra=["Access-Control-Request-Method: OPTIONS"])
    check(st == 204 and up.requests == [],
          "a preflight on an OPTIONS connector is not a call")
    st, h, _ = call("OPTIONS", execute("o"), LISTED)
    check(st == 200 and [r.method for r in up.requests] == ["OPTIONS"],
          "an OPTIONS without Access-Control-Request-Method calls it")
    check(h.get("access-control-allow-origin") == LISTED,
          "and its answer names the origin")
    up.reset()

    # Unlisted origins, and a listed one on another tenant's host.
    for origin, host, what in ((OTHER, "a.example", "an unlisted origin"),
                               ("https://hub.example.evil", "a.example",
                                "a longer look-alike"),
                               ("http://hub.example", "a.example",
                                "the other scheme"),
                               (LISTED, "b.example",
                                "another tenant's host"),
                               (None, "a.example", "no Origin")):
        st, h, _ = call("OPTIONS", execute("g"), origin, host=host,
                        extra=["Access-Control-Request-Method: GET"])
        check(st == 403 and acx(h) == {},
              "%s: preflight 403 without any Access-Control-* header"
              % what)
        st, h, _ = call("GET", execute("g"), origin, host=host)
        check(st == 200 and acx(h) == {} and "Origin" in h.get("vary", ""),
              "%s: the answer carries no Access-Control-* header but "
              "varies on Origin" % what)
    check(all(r.method == "GET" for r in up.requests),
          "no preflight reached the upstream")

    # Actual answers: success and errors alike.
    for path, status, what in ((execute("g"), 200, "a success"),
                               (execute("nope"), 404, "a 404"),
                               ("/widget-service/health", 200, "health")):
        st, h, _ = call("GET", path, LISTED)
        check(st == status and h.get("access-control-allow-origin") ==
              LISTED and h.get("access-control-allow-credentials") ==
              "true", "%s names the listed origin" % what)
        check(h.get("access-control-expose-headers") ==
              "X-Request-ID, Server-Timing, X-Connector-Timing",
              "%s exposes the timing headers" % what)
    st, h, _ = call("POST", execute("g"), LISTED)
    check(st == 400 and h.get("access-control-allow-origin") == LISTED,
          "METHOD_NOT_ALLOWED carries the CORS headers too")
    st, h, _ = call("GET", execute("g"), LISTED, extra=["Origin: " + LISTED])
    check(acx(h) == {}, "two Origin headers: none is believed")

    # The SDK's files.
    tags = {}
    for name, ctype, mark in (
            ("widget-sdk.js", "text/javascript; charset=utf-8",
             b"root.WidgetServiceSDK = sdk"),
            ("widget-sdk.mjs", "text/javascript; charset=utf-8",
             b"export default WidgetServiceSDK"),
            ("widget-sdk.d.ts", "application/typescript; charset=utf-8",
             b"export class ConnectorExecuteError")):
        path = "/widget-service/sdk/" + name
        st, h, b = call("GET", path, LISTED)
        check(st == 200 and h.get("content-type") == ctype and mark in b,
              "%s: 200, %s" % (name, ctype))
        check(h.get("cache-control") == "public, max-age=600" and
              h.get("etag", "").startswith('"'),
              "%s: Cache-Control and a strong ETag" % name)
        check(h.get("access-control-allow-origin") == LISTED and
              h.get("x-content-type-options") == "nosniff",
              "%s: CORS for the listed origin (module scripts load in "
              "CORS mode), nosniff" % name)
        common({k: v for k, v in h.items()}, name)
        tags[name] = h["etag"]
        st, h2, b2 = call("GET", path, extra=["If-None-Match: " +
                                              h["etag"]])
        check(st == 304 and b2 == b"" and h2.get("etag") == h["etag"] and
              h2.get("cache-control") == "public, max-age=600",
              "%s: If-None-Match with its tag is 304" % name)
        st, _, _ = call("GET", path, extra=[
            'If-None-Match: "other", W/' + h["etag"]])
        check(st == 304, "%s: a weak tag in a list matches" % name)
        st, _, b3 = call("GET", path, extra=['If-None-Match: "other"'])
        check(st == 200 and b3 == b, "%s: another tag gets the file" % name)
        st, h4, b4 = call("HEAD", path)
        check(st == 200 and b4 == b"" and int(h4["content-length"]) ==
              len(b), "%s: HEAD" % name)
    check(len(set(tags.values())) == 3, "each file has its own tag")
    st, h, _ = call("POST", "/widget-service/sdk/widget-sdk.js")
    check(st == 405 and h.get("allow") == "GET, HEAD", "POST: 405 with Allow")
    for p in ("/widget-service/sdk/", "/widget-service/sdk/x.js",
              "/widget-service/sdk/widget-sdk.js/x",
              "/widget-service/sdk/%2e%2e/sdk/widget-sdk.js"):
        st, _, _ = call("GET", p)
        check(st in (400, 404), "%s: %d, not the file" % (p, st))
    st, h, _ = call("GET", "/widget-service/sdk/widget-sdk.js",
                    host="b.example")
    check(st == 200, "the SDK is served on every tenant's host")
finally:
    d.cleanup()
    up.close()
