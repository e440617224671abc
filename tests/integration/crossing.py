"""What crosses between browser and upstream is chosen, never passed
through (SPEC §7), through the whole daemon (as root or not).

A signed-in browser calls a connector with its session in a cookie and
as a Bearer token, the CSRF header, other cookies, X-Forwarded-*,
Forwarded, X-Real-IP, Origin, Referer, User-Agent, Proxy-Authorization,
hop-by-hop headers and a header of its own; the upstream (which echoes
everything it got) sees only its own Host, the connector's headers with
the overridable one's override, the authentication, Accept,
Accept-Encoding and, for a body, Content-Type and Content-Length: none of
the browser's other bytes, not the session token in any header.  The
upstream answers with Set-Cookie, hop-by-hop headers, WWW-Authenticate,
Location, CORS headers and an echo of every request header: the browser
gets the status, the body and Content-Type, and of the upstream's
headers nothing else (a response template still sees them).  A request
with two Authorization, two Cookie, or two CSRF headers, or a session
cookie and a different Bearer token, is 400 AMBIGUOUS_CREDENTIALS and
reaches no upstream; a connector called with another method is 400
METHOD_NOT_ALLOWED and reaches no upstream."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import SKIP, TEST_EGRESS, Daemon, check  # noqa: E402
from upstream import Upstream, echo_answer  # noqa: E402
import sessions  # noqa: E402

# What the upstream may see, lower case: nothing else crosses
# (traceparent is widgetd's own span, trace.upstream).
ALLOWED_UP = {"host", "x-fixed", "x-lang", "x-api-key", "accept",
              "accept-encoding", "content-type", "content-length",
              "traceparent"}
# What the browser may see of an answer, besides widgetd's own headers.
WIDGETD_OWN = {"content-type", "content-length", "x-request-id",
               "server-timing", "x-connector-timing",
               "x-content-type-options", "cache-control", "connection",
               "date", "keep-alive", "vary", "cache-status"}


def upstream_answer(req):
    st, hdrs, body = echo_answer(req)
    hdrs.update({
        "Set-Cookie": ["sid=upstream-session; HttpOnly", "other=1"],
        "Connection": "keep-alive, X-Hop", "Keep-Alive": "timeout=5",
        "X-Hop": "hop", "Proxy-Authenticate": "Basic realm=up",
        "Trailer": "X-T", "Upgrade": "h2c",
        "WWW-Authenticate": "Bearer realm=up", "Location": "/elsewhere",
        "Access-Control-Allow-Origin": "*", "Server": "upstream/1.0",
        "X-Upstream": "1", "Content-Type": "application/json; x=1"})
    return st, hdrs, body


def main():
    if not sessions.available():
        print("SKIP: no python3-jwt / python3-cryptography")
        sys.exit(SKIP)
    up = Upstream()
    up.route("/", upstream_answer)
    key = {"type": "api_key", "config": {
        "key": "X-Api-Key", "value": "{{ get_secret('k') }}",
        "in": "header"}}
    rows = [{"key": "X-Fixed", "value": "fixed"},
            {"key": "X-Lang", "value": "en", "overridable": True}]
    conns = [
        {"name": "get", "permalink": "get", "method": "GET",
         "url": up.url("/get"), "headers": rows, "authentication": key},
        {"name": "post", "permalink": "post", "method": "POST",
         "url": up.url("/post"), "headers": rows, "authentication": key},
        {"name": "seen", "permalink": "seen", "method": "GET",
         "url": up.url("/seen"), "authentication": key,
         "response_body": "{{ response.headers['set-cookie'] }}|"
                          "{{ response.headers['www-authenticate'] }}",
         "response_content_type": "text/plain"},
    ]
    d = Daemon(workers=1, egress=TEST_EGRESS, tenants=[sessions.TENANT])
    try:
        tok = sessions.Signer(d.dir).token(csrf="csrf-value-1")
        d.connectors(*conns)
        d.set_secret("k", "crossing-api-key-42")
        d.start()

        browser = [
            "Cookie: wsess=%s; theme=dark; tracking=abc" % tok,
            "Authorization: Bearer " + tok,
            "X-CSRFToken: csrf-value-1",
            "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Host: evil.test",
            "X-Forwarded-Proto: http", "Forwarded: for=10.0.0.1",
            "X-Real-IP: 10.0.0.2", "Origin: https://app.test",
            "Referer: https://app.test/page?secret=1",
            "User-Agent: browser/1.0", "Proxy-Authorization: Basic eA==",
            "X-Browser-Own: mine", "X-Lang: pl", "Accept: application/json",
            "Connection: keep-alive, X-Browser-Own", "TE: trailers",
            "Upgrade: h2c", "Pragma: no-cache", "If-None-Match: \"x\"",
            "Range: bytes=0-1", "Max-Forwards: 3", "Via: 1.1 proxy",
        ]
        leaks = []
        for perm, meth, body in (("get", "GET", b""),
                                 ("post", "POST", b'{"a": 1}')):
            before = len(up.requests)
            hdrs_in = browser + (["Content-Type: application/json"]
                                 if body else [])
            st, hdrs, rbody = d.call(meth, "/widget-service/connectors/%s/"
                                     "execute" % perm, headers=hdrs_in,
                                     body=body)
            check(st == 200, "%s with every browser header: 200" % perm)
            req = up.requests[before]
            names = {k.lower() for k, _ in req.header_list}
            check(names <= ALLOWED_UP, "%s: the upstream saw only %s "
                  "(extra: %s)" % (perm, sorted(names),
                                   sorted(names - ALLOWED_UP)))
            check(req.header("X-Lang") == "pl" and
                  req.header("X-Fixed") == "fixed" and
                  req.header("X-Api-Key") == "crossing-api-key-42" and
                  req.header("Accept") == "application/json" and
                  req.header("Host") == "127.0.0.1:%d" % up.port,
                  "%s: the override, the fixed row, the key, Accept and "
                  "the upstream's own Host" % perm)
            raw = json.dumps(req.header_list) + req.target
            for bad in (tok, "csrf-value-1", "theme=dark", "10.0.0.1",
                        "evil.test", "browser/1.0", "mine", "eA=="):
                if bad in raw:
                    leaks.append("%s: %r upstream" % (perm, bad))
            extra = set(hdrs) - WIDGETD_OWN
            check(extra == set() and
                  hdrs.get("content-type") == "application/json; x=1",
                  "%s: of the upstream's headers the browser got only "
                  "Content-Type (extra: %s)" % (perm, sorted(extra)))
            check(b"upstream-session" not in json.dumps(hdrs).encode(),
                  "%s: no upstream Set-Cookie" % perm)
            if perm == "post":
                check(req.body == body and req.header("Content-Type") ==
                      "application/json", "post: the body and its type")
        check(leaks == [], "no browser credential, cookie, CSRF value or "
              "forwarding header reached the upstream%s" %
              ("" if not leaks else ": " + "; ".join(leaks)))

        st, hdrs, body = d.call("GET", "/widget-service/connectors/seen/"
                                "execute")
        check(st == 200 and body == b"sid=upstream-session; HttpOnly, "
              b"other=1|Bearer realm=up" and "set-cookie" not in hdrs,
              "a response template sees Set-Cookie and WWW-Authenticate; "
              "the browser gets them only through it")

        ambiguous = [
            ("two Authorization headers",
             ["Authorization: Bearer " + tok, "Authorization: Bearer x"]),
            ("two Cookie headers", ["Cookie: wsess=" + tok, "Cookie: a=b"]),
            ("two CSRF headers", ["Authorization: Bearer " + tok,
                                  "X-CSRFToken: csrf-value-1",
                                  "X-CSRF-Token: csrf-value-1"]),
            ("the session cookie twice",
             ["Cookie: wsess=%s; wsess=%s" % (tok, tok)]),
            ("a cookie and a different Bearer token",
             ["Cookie: wsess=" + tok, "Authorization: Bearer " + tok[:-2] +
              "xx", "X-CSRFToken: csrf-value-1"]),
        ]
        for what, hs in ambiguous:
            before = len(up.requests)
            st, hdrs, body = d.call("GET", "/widget-service/connectors/get/"
                                    "execute", headers=hs)
            code = json.loads(body)["errors"]["code"]
            time.sleep(0.05)
            check(st == 400 and code == "AMBIGUOUS_CREDENTIALS" and
                  len(up.requests) == before,
                  "%s: 400 %s, nothing upstream" % (what, code))
        for meth, perm in (("POST", "get"), ("GET", "post"),
                           ("DELETE", "get"), ("HEAD", "post")):
            before = len(up.requests)
            st, hdrs, body = d.call(meth, "/widget-service/connectors/%s/"
                                    "execute" % perm)
            time.sleep(0.05)
            ok = st == 400 and len(up.requests) == before
            if meth != "HEAD":
                ok = ok and json.loads(body)["errors"]["code"] == \
                    "METHOD_NOT_ALLOWED"
            check(ok, "%s on a %s connector: 400 METHOD_NOT_ALLOWED, "
                  "nothing upstream" % (meth, perm))
    finally:
        d.cleanup()
        up.close()


if __name__ == "__main__":
    main()
