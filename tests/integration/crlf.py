"""CR, LF, NUL and other control bytes from a browser never reach an
upstream request, and never cost a worker its life (as root or not).

Every place a browser's bytes can enter an upstream request is tried
with CR, LF, CRLF, NUL, other controls and DEL: an overridable header
(over the wire, where the front end refuses the framing), a query value
(an overridable row's and an undeclared, forwarded one), a query key,
X-Path-Params, and a session claim that a header, a query row, a rendered
api_key name or the URL path uses.  Each is refused with a 4xx and the
envelope of its layer (400 from the front end or the request checks, 422
"Configuration (template rendering)" for a value a template rendered),
the upstream sees no request, and the worker that answered is the same
process before and after with no "broke the protocol" in the log: the
worker refuses what the keeper would refuse, so a browser cannot get a
worker killed.  A claim in the URL path goes out percent-encoded (one
request line, nothing injected).  The same calls with clean values reach
the upstream, so "nothing sent" is not an empty upstream's doing."""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import SKIP, TEST_EGRESS, Daemon, check, fail  # noqa
from upstream import Upstream  # noqa: E402
import sessions  # noqa: E402

SCOPE_TMPL = "Configuration (template rendering)"


def connectors(up):
    key = {"type": "api_key", "config": {
        "key": "X-Api-Key", "value": "{{ get_secret('k') }}",
        "in": "header"}}
    return [
        {"name": "over", "permalink": "over", "method": "GET",
         "url": up.url("/over"), "authentication": key,
         "headers": [{"key": "X-Over", "value": "default",
                      "overridable": True}],
         "query_parameters": [{"key": "o", "value": "x",
                               "overridable": True}]},
        {"name": "path", "permalink": "path", "method": "GET",
         "url": up.url("/p/{{ pathParams.id }}"), "authentication": key,
         "path_parameters": [{"key": "id"}]},
        {"name": "claim header", "permalink": "claim-header",
         "method": "GET", "url": up.url("/ch"), "authentication": key,
         "headers": [{"key": "X-User",
                      "value": "user {{ user.username }}"}]},
        {"name": "claim query", "permalink": "claim-query", "method": "GET",
         "url": up.url("/cq"), "authentication": key,
         "query_parameters": [{"key": "u", "value": "{{ user.username }}"}]},
        {"name": "claim key", "permalink": "claim-key", "method": "GET",
         "url": up.url("/ck"),
         "authentication": {"type": "api_key", "config": {
             "key": "{{ user.username }}", "value": "{{ get_secret('k') }}",
             "in": "header"}}},
        {"name": "claim query key", "permalink": "claim-query-key",
         "method": "GET", "url": up.url("/cqk"),
         "authentication": {"type": "api_key", "config": {
             "key": "{{ user.username }}", "value": "{{ get_secret('k') }}",
             "in": "query"}}},
        {"name": "claim path", "permalink": "claim-path", "method": "GET",
         "url": up.url("/cp/{{ user.username }}"), "authentication": key},
        # Well-formed connectors whose honest plans the keeper used to
        # refuse (the worker was killed for each call).
        {"name": "fragment", "permalink": "fragment", "method": "GET",
         "url": up.url("/f#section"),
         "authentication": {"type": "api_key", "config": {
             "key": "api_key", "value": "{{ get_secret('k') }}",
             "in": "query"}}},
        {"name": "accept key", "permalink": "accept-key", "method": "GET",
         "url": up.url("/a"),
         "authentication": {"type": "api_key", "config": {
             "key": "Accept", "value": "{{ get_secret('k') }}",
             "in": "header"}}},
    ]


def main():
    if not sessions.available():
        print("SKIP: no python3-jwt / python3-cryptography")
        sys.exit(SKIP)
    up = Upstream()
    d = Daemon(workers=1, egress=TEST_EGRESS, tenants=[sessions.TENANT])
    try:
        sess = sessions.Signer(d.dir)
        d.connectors(*connectors(up))
        d.set_secret("k", "crlf-test-secret-value")
        d.start()
        worker = list(d.children("worker"))
        check(len(worker) == 1, "one worker")
        n_refused = 0

        def call(perm, query="", headers=(), user=None):
            hs = list(headers) + (sess.headers(preferred_username=user)
                                  if user is not None else [])
            return d.call("GET", "/widget-service/connectors/%s/execute%s" %
                          (perm, query), headers=hs)

        def refused(what, perm, status, code=None, scope=None, **kw):
            nonlocal n_refused
            before = len(up.requests)
            try:
                st, hdrs, body = call(perm, **kw)
            except OSError as e:
                fail("%s: no answer (%s)" % (what, e))
            time.sleep(0.05)
            doc = json.loads(body) if body.startswith(b"{") else {}
            err = doc.get("errors", {})
            ok = (st == status and len(up.requests) == before and
                  (code is None or err.get("code") == code) and
                  (scope is None or err.get("scope") == scope) and
                  list(d.children("worker")) == worker)
            check(ok, "%s: %d %s, upstream saw %d, same worker" %
                  (what, st, err.get("code") or err.get("scope") or
                   body[:60], len(up.requests) - before))
            n_refused += 1

        def passed(what, perm, pred, **kw):
            before = len(up.requests)
            st, hdrs, body = call(perm, **kw)
            new = up.requests[before:]
            check(st == 200 and len(new) == 1 and pred(new[0]),
                  "%s: 200, the upstream got it (%s)" %
                  (what, new[0].target if new else body[:200]))

        # Clean values first: these reach the upstream.
        passed("clean override header and query", "over",
               lambda r: r.header("X-Over") == "mine" and
               r.query == "o=yes&free=1",
               query="?o=yes&free=1", headers=["X-Over: mine"])
        passed("clean path parameter", "path",
               lambda r: r.path == "/p/a-b.c~d",
               headers=["X-Path-Params: id=a-b.c~d"])
        passed("clean claim in a header", "claim-header",
               lambda r: r.header("X-User") == "user alice", user="alice")
        passed("clean claim in a query row", "claim-query",
               lambda r: r.query == "u=alice%20b", user="alice b")
        passed("clean claim as the api_key header's name", "claim-key",
               lambda r: r.header("alice") == "crlf-test-secret-value",
               user="alice")
        passed("clean claim as the api_key query name, a caller key "
               "beside it", "claim-query-key",
               lambda r: r.query == "page=2&alice=crlf-test-secret-value",
               user="alice", query="?page=2")
        passed("clean claim in the URL path", "claim-path",
               lambda r: r.path == "/cp/alice", user="alice")

        # 1. An overridable header: the front end refuses the framing.
        for name, raw in (("bare CR", "a\rb"), ("NUL", "a\x00b"),
                          ("SOH", "a\x01b"), ("DEL", "a\x7fb"),
                          ("bare LF", "a\nX-Injected: 1"),
                          ("obs-fold", "a\r\n b")):
            refused("override header with %s" % name, "over", 400,
                    headers=["X-Over: " + raw])

        # 2. Query values and keys, decoded from %XX.
        for name, q in (("CRLF in an override value", "?o=a%0D%0Ab"),
                        ("LF in an override value", "?o=a%0Ab"),
                        ("CR in a forwarded value", "?free=a%0Db"),
                        ("NUL in a forwarded value", "?free=a%00b"),
                        ("DEL in a forwarded value", "?free=%7F"),
                        ("CRLF in a forwarded key", "?a%0D%0Ab=1"),
                        ("NUL in a forwarded key", "?a%00=1")):
            refused("query: " + name, "over", 400, "BAD_REQUEST",
                    "Request", query=q)

        # 3. Path parameters.
        for name, v in (("CRLF", "a%0D%0Ab"), ("NUL", "a%00"),
                        ("LF", "%0A"), ("DEL", "%7F")):
            refused("X-Path-Params with " + name, "path", 400,
                    "INVALID_PATH_PARAMETERS", "Request",
                    headers=["X-Path-Params: id=" + v])

        # 4. A session claim, as the browser's own token carries it.
        evil = "alice\r\nX-Injected: 1"
        for name, v in (("CRLF", evil), ("NUL", "alice\x00b"),
                        ("LF", "alice\nb"), ("ESC", "alice\x1bb")):
            refused("claim with %s in a header" % name, "claim-header",
                    422, scope=SCOPE_TMPL, user=v)
            refused("claim with %s in a query row" % name, "claim-query",
                    422, scope=SCOPE_TMPL, user=v)
            refused("claim with %s as the api_key header's name" % name,
                    "claim-key", 422, scope=SCOPE_TMPL, user=v)
            refused("claim with %s as the api_key query name" % name,
                    "claim-query-key", 422, scope=SCOPE_TMPL, user=v)
        refused("claim with a space as the api_key header's name",
                "claim-key", 422, scope=SCOPE_TMPL, user="al ice")
        refused("claim naming a header libcurl owns as the api_key's",
                "claim-key", 422, scope=SCOPE_TMPL, user="Host")
        passed("claim with CRLF in the URL path: percent-encoded",
               "claim-path", lambda r: r.path == "/cp/" + urllib.parse.quote(
                   evil, safe=":") and r.header("X-Injected") is None,
               user=evil)

        # Honest plans the keeper must accept: a fragment in the URL (never
        # sent), an api_key named like a header the caller also sends.
        passed("a URL with a fragment: sent without it, the key in the "
               "query", "fragment", lambda r: r.target ==
               "/f?api_key=crlf-test-secret-value")
        passed("an api_key header named Accept, the caller's Accept too",
               "accept-key", lambda r: [v for k, v in r.header_list
                                        if k.lower() == "accept"] ==
               ["crlf-test-secret-value"], headers=["Accept: text/html"])

        check(n_refused >= 30, "%d refused calls, none reached the "
              "upstream" % n_refused)
        log = d.logtext()
        check("broke the protocol" not in log and
              list(d.children("worker")) == worker,
              "no plan was refused by the keeper and the worker lived "
              "through it all")
    finally:
        d.cleanup()
        up.close()


if __name__ == "__main__":
    main()
