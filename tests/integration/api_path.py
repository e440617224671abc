"""X-Path-Params (issue 7, platform-docs 8): a missing key is 400
MISSING_PATH_PARAMETERS with the keys in params, and wins over invalid
values; an invalid value (empty, white space, / ? # %, control bytes,
'.', '..', anything with '..', over 200 characters, outside
[A-Za-z0-9._~-]) is 400 INVALID_PATH_PARAMETERS with the keys; nothing
reaches the upstream for either.  Valid values are substituted into the
URL as they are (unreserved characters are their own encoding); a row's
default stands in for an absent key."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access_is, common, execute, refused  # noqa: E402

up = Upstream()
d = Daemon(workers=1, egress=TEST_EGRESS)
try:
    d.connectors(
        {"name": "p", "permalink": "p", "method": "GET",
         "url": up.url("/items/{{ pathParams.a }}/sub/{{ pathParams.b }}"
                       "?x=1"),
         "path_parameters": [{"key": "a"}, {"key": "b"}]},
        {"name": "pd", "permalink": "pd", "method": "POST",
         "url": up.url("/d/{{ pathParams.a }}/{{ pathParams.b }}"),
         "path_parameters": [{"key": "a"},
                             {"key": "b", "value": "dflt.v1"}]},
        {"name": "none", "permalink": "none", "method": "GET",
         "url": up.url("/none")})
    d.start()

    def ok(permalink, hdr, path, what, method="GET"):
        n = len(up.requests)
        hs = ["X-Path-Params: " + hdr] if hdr is not None else []
        st, h, b = d.call(method, execute(permalink), hs,
                          b"{}" if method == "POST" else b"")
        check(st == 200, "%s: 200 (%d %r)" % (what, st, b[:200]))
        check(len(up.requests) == n + 1 and up.requests[-1].path == path,
              "%s: the upstream path is %s (%s)" %
              (what, path, up.requests[-1].path))
        check(up.requests[-1].header("X-Path-Params") is None,
              "%s: X-Path-Params itself does not cross" % what)
        common(h, what, external="127.0.0.1")
        return up.requests[-1], h

    def bad(permalink, hdr, code, params, what, method="GET", hs=None):
        if hs is None:
            hs = ["X-Path-Params: " + hdr] if hdr is not None else []
        rid, _ = refused(d, up, method, execute(permalink), 400, code, what,
                         headers=hs, params=params,
                         body=b"{}" if method == "POST" else b"")
        return rid

    # Missing: params lists each missing key, in declaration order.
    rid = bad("p", None, "MISSING_PATH_PARAMETERS", ["a", "b"],
              "no X-Path-Params")
    access_is(d, rid, "no X-Path-Params", "test", "p", 400,
              error="MISSING_PATH_PARAMETERS")
    bad("p", "", "MISSING_PATH_PARAMETERS", ["a", "b"],
        "an empty X-Path-Params")
    bad("p", "a=1", "MISSING_PATH_PARAMETERS", ["b"], "b missing")
    bad("p", "b=1&c=2", "MISSING_PATH_PARAMETERS", ["a"],
        "a missing, an unknown key sent")
    bad("p", "A=1&B=2", "MISSING_PATH_PARAMETERS", ["a", "b"],
        "keys are case-sensitive")
    # Missing wins over invalid.
    bad("p", "a=..", "MISSING_PATH_PARAMETERS", ["b"],
        "missing wins over an invalid value")
    bad("p", "a=%2F&c=..", "MISSING_PATH_PARAMETERS", ["b"],
        "missing wins over invalid values")
    # Two X-Path-Params headers are no path parameters at all.
    bad("p", None, "MISSING_PATH_PARAMETERS", ["a", "b"],
        "X-Path-Params twice", hs=["X-Path-Params: a=1&b=2",
                                   "X-Path-Params: a=1&b=2"])

    # Invalid: every class the reference lists, and then some.
    classes = [("empty", "a=&b=1"), ("a key without '='", "a&b=1"),
               ("a space", "a=x%20y&b=1"), ("only a space", "a=%20&b=1"),
               ("'+' (a space in a form)", "a=x+y&b=1"),
               ("a tab", "a=%09&b=1"), ("a slash", "a=x%2Fy&b=1"),
               ("a question mark", "a=x%3Fy&b=1"), ("a hash", "a=%23&b=1"),
               ("a percent", "a=100%25&b=1"), ("a NUL", "a=x%00&b=1"),
               ("a line feed", "a=x%0Ay&b=1"), ("DEL", "a=%7F&b=1"),
               ("a control byte", "a=%01&b=1"), ("'.'", "a=.&b=1"),
               ("'..'", "a=..&b=1"), ("'a..b'", "a=a..b&b=1"),
               ("'...'", "a=...&b=1"), ("201 characters",
                                         "a=" + "x" * 201 + "&b=1"),
               ("non-ASCII", "a=%C3%A9&b=1"), ("a colon", "a=x:y&b=1"),
               ("an at sign", "a=x%40y&b=1"), ("a quote", "a=%22&b=1"),
               ("an ampersand", "a=x%26y&b=1"), ("a semicolon",
                                                 "a=x;y&b=1")]
    for what, hdr in classes:
        rid = bad("p", hdr, "INVALID_PATH_PARAMETERS", ["a"],
                  "invalid value: %s" % what)
    access_is(d, rid, "INVALID_PATH_PARAMETERS", "test", "p", 400,
              error="INVALID_PATH_PARAMETERS")
    bad("p", "a=..&b=%2F", "INVALID_PATH_PARAMETERS", ["a", "b"],
        "both invalid: both keys")
    bad("p", "b=..&a=ok", "INVALID_PATH_PARAMETERS", ["b"],
        "only b invalid")
    bad("p", "&".join("k%d=1" % i for i in range(300)),
        "INVALID_PATH_PARAMETERS", None, "300 values in X-Path-Params")

    # Valid values go into the URL as they are.
    for what, v in (("a UUID", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
                    ("a~b", "a~b"), ("my.handle", "my.handle"),
                    ("USER_42", "USER_42"), ("user-42", "user-42"),
                    ("42", "42"), ("a dot at the end", "v1."),
                    ("a dot first", ".hidden"), ("200 characters",
                                                 "y" * 200),
                    ("one character", "z")):
        ok("p", "a=%s&b=2" % v, "/items/%s/sub/2" % v, "valid: %s" % what)
    r, h = ok("p", "b=B&a=A&c=..", "/items/A/sub/B",
              "keys in any order, unknown keys ignored")
    check(r.query == "x=1", "the URL's own query is kept")
    access_is(d, h["x-request-id"], "path parameters", "test", "p", 200,
              upstream="200")
    ok("p", "a=first&b=2&a=second", "/items/first/sub/2",
       "a repeated key: the first value")
    ok("p", "a=%41%42&b=%7E", "/items/AB/sub/~",
       "values are decoded as a form before they are checked")

    # A row's value is the default for an absent key.
    ok("pd", "a=1", "/d/1/dflt.v1", "the default stands in", "POST")
    ok("pd", "a=1&b=given", "/d/1/given", "a sent value wins over the "
       "default", "POST")
    bad("pd", "b=x", "MISSING_PATH_PARAMETERS", ["a"],
        "a default does not make another key optional", "POST")
    bad("pd", "a=1&b=", "INVALID_PATH_PARAMETERS", ["b"],
        "an empty value is not the default", "POST")

    # A connector without path parameters ignores the header.
    ok("none", "a=..&b=%2F", "/none", "no path parameters declared")
finally:
    d.cleanup()
    up.close()
