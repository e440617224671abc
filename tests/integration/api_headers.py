"""Request headers (issue 7, SPEC 5 and 7, platform-docs 7): what crosses
to the upstream is chosen, never passed through.  An overridable row
takes the caller's header of the same name (any letter case) when it is
sent once; a non-overridable row, a rendered row and the api_key header
never do.  Nothing else of the caller's reaches the upstream -- Cookie,
Authorization, the CSRF headers, X-Forwarded-*, Forwarded, X-Real-IP,
the session cookie, Origin, User-Agent, anything custom -- not even
through a row its author made overridable.  Host is the upstream's."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access_is, common, execute, refused  # noqa: E402

SECRET = "tok-5f1d9c2ab7e04e33"
PRIVATE = ["Cookie: widget_session=eyJhbGciOi.eyJzdWIi.c2ln; other=1",
           "Authorization: Basic dXNlcjpwYXNz",
           "X-CSRFToken: csrf-1",
           "X-Forwarded-For: 203.0.113.9", "X-Forwarded-Proto: https",
           "X-Forwarded-Host: community.example",
           "Forwarded: for=203.0.113.9;proto=https",
           "X-Real-IP: 203.0.113.9", "Origin: https://evil.example",
           "Referer: https://community.example/page",
           "User-Agent: Mozilla/5.0", "X-Custom: 1", "X-Requested-With: x",
           "If-None-Match: \"etag\"", "Range: bytes=0-1",
           "Accept-Language: pl", "Pragma: no-cache",
           "Content-Type: application/json", "Via: 1.1 proxy",
           "X-Api-Key: from-the-browser", "X-Nov: from-the-browser",
           "X-Tpl: from-the-browser", "X-Sec: from-the-browser",
           "X-Path-Params: a=1"]
ROWS = {"x-ov": "conf-ov", "x-nov": "conf-nov", "x-tpl": "tenant test",
        "x-sec": "Bearer " + SECRET, "x-api-key": SECRET}
# What libcurl always sends besides the rows (README: "Host, framing,
# Accept and Accept-Encoding"), and widgetd's span (trace.upstream).
LIBCURL = {"host", "accept", "accept-encoding", "traceparent"}

up = Upstream()
d = Daemon(workers=1, egress=TEST_EGRESS)
try:
    d.set_secret("tok", SECRET)
    private_rows = [{"key": k, "value": "conf-" + k.lower(),
                     "overridable": True}
                    for k in ("Authorization", "Cookie", "X-CSRFToken",
                              "x-csrf-token", "X-Forwarded-For",
                              "X-Forwarded-Host", "Forwarded",
                              "X-Real-IP")]
    d.connectors(
        {"name": "h", "permalink": "h", "method": "GET", "url": up.url("/h"),
         "headers": [
             {"key": "X-Ov", "value": "conf-ov", "overridable": True},
             {"key": "X-Nov", "value": "conf-nov"},
             {"key": "X-Tpl", "value": "tenant {{ tenant_id }}"},
             {"key": "X-Sec", "value": "Bearer {{ get_secret('tok') }}"},
             {"key": "x-api-key", "value": "the row loses",
              "overridable": True}],
         "authentication": {"type": "api_key", "config": {
             "key": "X-Api-Key", "value": "{{ get_secret('tok') }}"}}},
        {"name": "private", "permalink": "private", "method": "GET",
         "url": up.url("/private"), "headers": private_rows +
         [{"key": "X-Ov", "value": "conf-ov", "overridable": True}]})
    d.start()

    def call(permalink, headers, what):
        n = len(up.requests)
        st, h, b = d.call("GET", execute(permalink), headers)
        check(st == 200, "%s: 200 (%d %r)" % (what, st, b[:200]))
        check(len(up.requests) == n + 1, "%s: one upstream request" % what)
        common(h, what, external="127.0.0.1")
        r = up.requests[-1]
        return r, {k.lower(): v for k, v in r.header_list}, h

    # Nothing from the caller: the rows, the api_key, libcurl's three.
    r, got, h = call("h", [], "no caller headers")
    check(set(got) == set(ROWS) | LIBCURL,
          "the upstream sees the rows, the api_key header, Host, Accept and "
          "Accept-Encoding and nothing else (%s)" % sorted(got))
    check(all(got[k] == v for k, v in ROWS.items()),
          "each row rendered, the secret completed by the keeper")
    check(len(r.header_list) == len(got), "no header sent twice")
    check(got["host"] == "127.0.0.1:%d" % up.port,
          "Host is the upstream's (%s)" % got["host"])
    check([k for k, _ in r.header_list if k.lower() == "x-api-key"] ==
          ["X-Api-Key"], "the api_key header wins over a row of its name, "
          "spelled as the authentication spells it")
    access_is(d, h["x-request-id"], "no caller headers", "test", "h", 200,
              upstream="200")

    # Every header a browser or a proxy might send, and the overridable
    # row's name in three spellings: only the override crosses.
    # (One CSRF header at a time: both together are 400, see api_session.)
    for spelling in ("X-Ov", "x-ov", "X-OV"):
        hs = PRIVATE + ["%s: mine" % spelling]
        if spelling == "x-ov":
            hs = [x.replace("X-CSRFToken: csrf-1", "X-CSRF-Token: csrf-2")
                  for x in hs]
        r, got, _ = call("h", hs, "caller's headers with %s" % spelling)
        check(set(got) == set(ROWS) | LIBCURL,
              "%s: nothing of the caller's crosses but the override (%s)" %
              (spelling, sorted(got)))
        check(got["x-ov"] == "mine" and
              [k for k, _ in r.header_list if k.lower() == "x-ov"] ==
              ["X-Ov"], "%s overrides X-Ov, sent under the row's name" %
              spelling)
        check(all(got[k] == v for k, v in ROWS.items() if k != "x-ov"),
              "%s: non-overridable rows, the rendered row, the secret row "
              "and the api_key keep their values" % spelling)
        check(got["host"] == "127.0.0.1:%d" % up.port and
              got["accept"] == "*/*",
              "%s: Host is the upstream's" % spelling)
        blob = repr(up.requests[-1].header_list)
        for needle in ("widget_session", "dXNlcjpwYXNz", "csrf-1", "csrf-2",
                       "203.0.113.9", "evil.example", "Mozilla",
                       "from-the-browser", "community.example", "etag"):
            check(needle not in blob, "%s: %r never reaches the upstream" %
                  (spelling, needle))

    # Sent twice, a header is no override: the configured value goes.
    r, got, _ = call("h", ["X-Ov: one", "x-ov: two"], "X-Ov twice")
    check(got["x-ov"] == "conf-ov", "a header sent twice does not override")
    # An empty override is an empty header, not a missing one.
    r, got, _ = call("h", ["X-Ov:"], "an empty X-Ov")
    check("x-ov" in got and got["x-ov"] == "",
          "an empty override is sent empty (%r)" % got.get("x-ov"))
    r, got, _ = call("h", ["X-Ov: caf\xe9 \u2603"],
                     "a UTF-8 override")
    check(got["x-ov"].encode("latin-1") == "caf\xe9 \u2603".encode(),
          "an override's bytes cross unchanged")

    # Rows an author made overridable but whose names are the browser's
    # credentials or a proxy's: they keep their configured value.
    r, got, _ = call("private", PRIVATE + ["x-ov: mine"],
                     "overridable credential rows")
    for row in private_rows:
        k = row["key"].lower()
        check(got.get(k) == row["value"],
              "an overridable %s row keeps its value (%r)" %
              (row["key"], got.get(k)))
    check(got["x-ov"] == "mine", "an ordinary overridable row still takes "
          "the caller's value")
    blob = repr(up.requests[-1].header_list)
    check("eyJ" not in blob and "csrf-1" not in blob and "203.0.113.9" not in
          blob and "dXNlcjpwYXNz" not in blob,
          "no session token, CSRF value, client address or credential of "
          "the browser reaches the upstream")
    r, got, _ = call("private", ["Authorization: Bearer eyJ.eyJ.sig"],
                     "a Bearer token to an overridable Authorization row")
    check(got["authorization"] == "conf-authorization",
          "a Bearer token never overrides Authorization")

    # A control byte in an override never reaches a plan (the keeper
    # would evict the worker); the HTTP front end refuses it first.
    worker = set(d.children("worker"))
    rid, _ = refused(d, up, "GET", execute("h"), 400, "BAD_REQUEST",
                     "a control byte in an override",
                     headers=["X-Ov: a\x01b"])
    check(set(d.children("worker")) == worker and
          "broke the protocol" not in d.logtext(),
          "the worker lives on")
finally:
    d.cleanup()
    up.close()
