"""Secrets and variables in the running daemon (issue 7, SPEC 4,
platform-docs 3a and 12): `widgetctl secret set` (the value on standard
input) is used by the very next call, without a restart; `widgetctl
variable set` of the variable that names a URL's host moves the next
call to the new host (plain http and https); a host the egress policy
refuses is 422 with nothing sent; a missing secret is sent as its
template literal; whatever the upstream echoes of a secret -- raw,
inside a derived header value, percent-encoded -- comes back as
[REDACTED], in the body and in response.headers."""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Daemon, check, wait_for         # noqa: E402
from upstream import TestCA, Upstream              # noqa: E402
from apiutil import access_is, common, execute, refused  # noqa: E402

SECRET = "first-secret-8c1e55d0a2"
SECRET2 = "second-secret-41f7b93e6d"

ca = TestCA()
a, b = Upstream(), Upstream()
s = Upstream(tls=ca.server(names=("api.test",), ips=("127.0.0.1",)))
EGRESS = """egress = { allow_http = true; ca_file = "%s";
    resolve = [ "api.test:%d:127.0.0.1" ];
    allow_networks = [ "127.0.0.0/8", "::1/128" ]; timeout = 5; };""" \
    % (ca.cert, s.port)
d = Daemon(workers=2, egress=EGRESS)
try:
    d.set_secret("k", SECRET)
    d.set_variable("h", "127.0.0.1:%d" % a.port)
    d.set_variable("sh", "api.test:%d" % s.port)
    d.connectors(
        {"name": "sec", "permalink": "sec", "url": a.url("/sec"),
         "headers": [{"key": "X-Raw", "value": "{{ get_secret('k') }}"},
                     {"key": "X-Derived",
                      "value": "Bearer {{ get_secret('k') }}"},
                     {"key": "X-B64",
                      "value": "{{ get_secret('k') | base64_encode }}"},
                     {"key": "X-Missing",
                      "value": "Bearer {{ get_secret('nope') }}"}],
         "query_parameters": [{"key": "q",
                               "value": "{{ get_secret('k') }} & more"}],
         "response_body": "{{ response.headers['x-echo-x-raw'] }}|"
                          "{{ response.headers['x-echo-x-derived'] }}|"
                          "{{ response.headers['x-echo-x-b64'] }}|"
                          "{{ response.headers['x-echo-x-missing'] }}"},
        {"name": "echo", "permalink": "echo", "url": a.url("/echo"),
         "headers": [{"key": "X-Derived",
                      "value": "Bearer {{ get_secret('k') }}"}],
         "query_parameters": [{"key": "q",
                               "value": "{{ get_secret('k') }} & more"}]},
        {"name": "var host", "permalink": "var-host",
         "url": "http://{{ get_variable('h') }}/v/{{ get_variable('p') | "
                "default('none') }}"},
        {"name": "var host https", "permalink": "var-https",
         "url": "https://{{ get_variable('sh') }}/tls"})
    d.start()
    before = set(d.children())

    def call(permalink, up, what, host="127.0.0.1"):
        n = len(up.requests)
        st, h, body = d.call("GET", execute(permalink))
        check(st == 200, "%s: 200 (%d %r)" % (what, st, body[:200]))
        check(len(up.requests) == n + 1, "%s: one call to the upstream"
              % what)
        common(h, what, external=host)
        return up.requests[-1], h, body

    # The secret completed by the keeper; a missing one left literal.
    r, h, body = call("sec", a, "secrets in headers and the query")
    check(r.header("X-Raw") == SECRET and
          r.header("X-Derived") == "Bearer " + SECRET,
          "the upstream gets the secret and the value derived from it")
    check(r.header("X-Missing") == "Bearer {{ get_secret('nope') }}",
          "a missing secret is sent as its template literal (%r)" %
          r.header("X-Missing"))
    check(body.split(b"|")[:3] == [b"[REDACTED]"] * 3,
          "echoed raw, derived and base64 secret headers are [REDACTED] "
          "in response.headers (%r)" % body)
    access_is(d, h["x-request-id"], "secrets", "test", "sec", 200,
              upstream="200")
    r, h, body = call("echo", a, "an echo of every header and the query")
    doc = json.loads(body)
    check(SECRET.encode() not in body and
          doc["query"] == "q=[REDACTED]" and
          ["X-Derived", "[REDACTED]"] in doc["headers"],
          "the echoed body: the query (percent-encoded secret and all) "
          "and the derived header are [REDACTED] (%r)" % doc)
    check(all(SECRET not in v for v in h.values()) and
          SECRET not in d.logtext(),
          "the secret is in no response header and no log line")
    check(wait_for(lambda: "secret-derived strings redacted from "
                   "127.0.0.1's answer" in d.logtext(), 5),
          "the keeper logs the redaction with the upstream's host")

    # widgetctl secret set: the next call uses the new value.
    res = d.widgetctl("secret", "set", "k", stdin=SECRET2.encode())
    check(res.returncode == 0, "widgetctl secret set (stdin): exit 0 (%s)" %
          res.stderr.decode().strip())
    r, h, body = call("sec", a, "the call after secret set")
    check(r.header("X-Raw") == SECRET2 and
          r.header("X-Derived") == "Bearer " + SECRET2,
          "the very next call carries the new secret")
    check(body.split(b"|")[:3] == [b"[REDACTED]"] * 3,
          "the new value is redacted as the old one was")
    res = d.widgetctl("secret", "set", "nope", stdin=b"now-it-exists-77")
    check(res.returncode == 0, "widgetctl secret set of a missing secret")
    r, _, _ = call("sec", a, "the call after the missing secret was set")
    check(r.header("X-Missing") == "Bearer now-it-exists-77",
          "a secret set later replaces its literal on the next call")
    res = d.widgetctl("secret", "rm", "nope")
    check(res.returncode == 0, "widgetctl secret rm")
    r, _, _ = call("sec", a, "the call after secret rm")
    check(r.header("X-Missing") == "Bearer {{ get_secret('nope') }}",
          "a removed secret is its literal again")

    # widgetctl variable set: the URL's host follows on the next call.
    r, _, _ = call("var-host", a, "a host from a variable")
    check(r.path == "/v/none", "the URL at variable h's host (%s)" % r.path)
    res = d.widgetctl("variable", "set", "h", "127.0.0.1:%d" % b.port)
    check(res.returncode == 0, "widgetctl variable set h: exit 0 (%s)" %
          res.stderr.decode().strip())
    n = len(a.requests)
    r, _, _ = call("var-host", b, "after variable set h")
    check(len(a.requests) == n, "the old host is called no more")
    res = d.widgetctl("variable", "set", "p", "seg")
    r, _, _ = call("var-host", b, "after variable set p")
    check(r.path == "/v/seg", "a variable in the path takes effect too")
    r, _, _ = call("var-https", s, "an https host from a variable",
                   host="api.test")
    check(r.path == "/tls", "the https upstream at variable sh's host")
    res = d.widgetctl("variable", "set", "sh", "127.0.0.1:%d" % s.port)
    r, _, _ = call("var-https", s, "an https host changed to an address")
    # The policy judges a host from a variable at run time.
    for what, value, why in (
            ("a private network", "10.1.2.3:80", "private address"),
            ("localhost", "localhost:%d" % a.port, "localhost is never"),
            ("link-local metadata", "169.254.169.254", "link-local"),
            ("a path in the host", "127.0.0.1:%d/x" % a.port,
             "is not scheme://host"),
            ("userinfo", "u@127.0.0.1:%d" % a.port, "is not scheme://host")):
        res = d.widgetctl("variable", "set", "h", value)
        check(res.returncode == 0, "variable h = %s" % value)
        for up in (a, b):
            rid, _ = refused(d, up, "GET", execute("var-host"), 422, None,
                             "a variable host that is %s" % what,
                             scope="Configuration (template rendering)",
                             detail=why)
        access_is(d, rid, "variable host %s" % what, "test", "var-host", 422,
                  error="Configuration (template rendering)")
    res = d.widgetctl("variable", "rm", "h")
    check(res.returncode == 0, "widgetctl variable rm h")
    for up in (a, b):
        refused(d, up, "GET", execute("var-host"), 422, None,
                "a missing host variable",
                scope="Configuration (template rendering)",
                detail=r"get_variable\('h'\).*is the variable set")
    res = d.widgetctl("variable", "set", "h", "127.0.0.1:%d" % a.port)
    call("var-host", a, "the host variable back")

    check(set(d.children()) == before, "no process was restarted for any "
          "of it")
finally:
    d.cleanup()
    for u in (a, b, s):
        u.close()
    shutil.rmtree(ca.dir, ignore_errors=True)
