"""The query string of an execute call (issue 7, SPEC 5, platform-docs 7):
declared overridable parameters take the caller's value, declared
non-overridable ones and the api_key parameter keep the configured value
(the caller's is dropped, never sent beside it), undeclared ones are
forwarded; the connector's own URL query is kept; every key and value is
percent-encoded upstream (RFC 3986 unreserved kept), so what the
upstream decodes is byte for byte what the caller meant, secrets
included.  A control byte in the query is refused with a clear error
and reaches nothing."""

import os
import sys
from urllib.parse import quote, unquote_to_bytes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access_is, common, execute, refused  # noqa: E402

SECRET = 's3cr&t=v@l +/"#\'\xe9%~x'.encode()    # every character that matters


def pairs(query):
    """The upstream's query as (key, value) bytes, decoded without the
    form rule ('+' stays '+': widgetd never sends a bare one)."""
    out = []
    for part in query.split("&"):
        k, _, v = part.partition("=")
        out.append((unquote_to_bytes(k), unquote_to_bytes(v)))
    return out


def raw_ok(query):
    """Only unreserved characters, '%XX', '&' and '=' on the wire."""
    import re
    return re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2}|[&=])*",
                        query) is not None


up = Upstream()
d = Daemon(workers=1, egress=TEST_EGRESS)
try:
    d.set_secret("k", SECRET)
    d.connectors(
        {"name": "q", "permalink": "q", "method": "GET",
         "url": up.url("/q?fixed=1&keep=a%20b"),
         "query_parameters": [
             {"key": "ov", "value": "conf-ov", "overridable": True},
             {"key": "nov", "value": "conf-nov"},
             {"key": "tpl", "value": "{{ tenant_id }} & {{ 'x=y' }}"},
             {"key": "sec", "value": "pre-{{ get_secret('k') }}"}],
         "authentication": {"type": "api_key", "config": {
             "key": "api_key", "value": "{{ get_secret('k') }}",
             "in": "query"}}},
        {"name": "plain", "permalink": "plain", "method": "GET",
         "url": up.url("/plain")},
        {"name": "nl", "permalink": "nl", "method": "GET",
         "url": up.url("/nl"),
         "query_parameters": [{"key": "a", "value": "x\n{{ 'y' }}"}]},
        {"name": "hdrkey", "permalink": "hdrkey", "method": "GET",
         "url": up.url("/hdrkey"),
         "authentication": {"type": "api_key", "config": {
             "key": "X-Key", "value": "{{ get_secret('k') }}"}}})
    d.start()
    worker = set(d.children("worker"))

    def call(q, what, path="q"):
        n = len(up.requests)
        st, h, b = d.call("GET", execute(path) + q)
        check(st == 200, "%s: 200 (%d %r)" % (what, st, b[:200]))
        check(len(up.requests) == n + 1, "%s: one upstream request" % what)
        r = up.requests[-1]
        check(raw_ok(r.query), "%s: the upstream query is fully "
              "percent-encoded (%s)" % (what, r.query))
        common(h, what, external="127.0.0.1")
        return r, pairs(r.query), h

    # No caller query: the URL's own, the rows in order, the api_key last.
    r, p, h = call("", "no caller query")
    check(r.query.startswith("fixed=1&keep=a%20b&"),
          "the connector's URL query is kept first, as written")
    check(p == [(b"fixed", b"1"), (b"keep", b"a b"), (b"ov", b"conf-ov"),
                (b"nov", b"conf-nov"), (b"tpl", b"test & x=y"),
                (b"sec", b"pre-" + SECRET), (b"api_key", SECRET)],
          "rows in order, rendered, secrets completed, api_key last (%r)"
          % p)
    check(r.query.endswith("api_key=" + quote(SECRET, safe="-._~")),
          "the secret is percent-encoded exactly as RFC 3986 says")
    access_is(d, h["x-request-id"], "no caller query", "test", "q", 200,
              upstream="200")

    # The caller: overridable wins, non-overridable and api_key dropped,
    # undeclared forwarded (in the caller's order, after the rows).
    r, p, _ = call("?ov=mine&nov=evil&api_key=stolen&extra=1&sec=no"
                   "&tpl=no&zz=2", "caller overrides")
    check(p == [(b"fixed", b"1"), (b"keep", b"a b"), (b"ov", b"mine"),
                (b"nov", b"conf-nov"), (b"tpl", b"test & x=y"),
                (b"sec", b"pre-" + SECRET), (b"extra", b"1"),
                (b"zz", b"2"), (b"api_key", SECRET)],
          "overridable takes the caller's value; nov, tpl, sec and api_key "
          "keep theirs, each once; extra and zz forwarded (%r)" % p)
    check(sum(1 for k, _ in p if k == b"api_key") == 1 and
          b"stolen" not in r.query.encode() and b"evil" not in
          r.query.encode(), "the caller's api_key and nov never reach the "
          "upstream")

    # Repeated keys: undeclared ones all forwarded in order; a declared
    # overridable key takes the caller's first value, once.
    r, p, _ = call("?u=1&ov=first&u=2&ov=second&u=3", "repeated keys")
    check([v for k, v in p if k == b"u"] == [b"1", b"2", b"3"],
          "a repeated undeclared key is forwarded with every value, in "
          "order")
    check([v for k, v in p if k == b"ov"] == [b"first"],
          "a repeated overridable key: the caller's first value, once")

    # Encodings: what the caller meant is what the upstream decodes.
    cases = [("space as %20", "a%20b", b"a b"),
             ("space as +", "a+b", b"a b"),
             ("ampersand", "a%26b", b"a&b"),
             ("equals", "a%3Db%3D", b"a=b="),
             ("plus", "1%2B1", b"1+1"),
             ("double quote", "%22q%22", b'"q"'),
             ("single quote", "it%27s", b"it's"),
             ("slash", "a%2Fb%2F..%2F", b"a/b/../"),
             ("hash", "%23frag", b"#frag"),
             ("percent", "100%25", b"100%"),
             ("non-ASCII", "%C3%A9t%C3%A9%20%E2%82%AC", "\xe9t\xe9 \u20ac"
              .encode()),
             ("empty value", "", b""),
             ("unreserved kept", "A-z_0.9~", b"A-z_0.9~")]
    q = "&".join("c%d=%s" % (i, v) for i, (_, v, _) in enumerate(cases))
    r, p, _ = call("?" + q + "&bare&k%20ey%26=v&ov=a%26b%3Dc%20d", "encodings",
                   path="q")
    got = dict(p)
    for i, (what, _, want) in enumerate(cases):
        check(got.get(b"c%d" % i) == want,
              "query %s: the upstream decodes %r (%r)" %
              (what, want, got.get(b"c%d" % i)))
    check(got.get(b"bare") == b"", "a key without '=' goes as key=")
    check(got.get(b"k ey&") == b"v" and "k%20ey%26=v" in r.query,
          "a key is encoded like a value")
    check(got.get(b"ov") == b"a&b=c d" and "ov=a%26b%3Dc%20d" in r.query,
          "an override's value is encoded upstream")
    check("+" not in r.query and " " not in r.query,
          "no bare '+' or space reaches the upstream")

    # A malformed escape is the HTTP front end's 400.
    refused(d, up, "GET", execute("q") + "?m=%zz", 400, "BAD_REQUEST",
            "a malformed percent-escape", detail="percent-escape")

    # A caller's value equal to the secret is just a value: sent, and
    # whatever the upstream echoes of it is redacted (it is the secret).
    r, p, h = call("?echo=" + quote(SECRET, safe=""), "caller sends the "
                   "secret's value")
    check(dict(p).get(b"echo") == SECRET, "the caller's value arrives")

    # An api_key sent as a header: a caller's query key of that name is
    # an ordinary undeclared parameter.
    r, p, _ = call("?X-Key=mine", "api_key in a header", path="hdrkey")
    check(p == [(b"X-Key", b"mine")] and
          r.header("X-Key").encode("latin-1") == SECRET,
          "query X-Key forwarded; the header X-Key is the secret")

    # Control bytes can never be part of an upstream request: refused
    # here, clearly, and the worker lives on (a keeper would evict it).
    for what, q in (("LF in an undeclared value", "?u=%0A"),
                    ("CR LF in an overridable value", "?ov=a%0D%0Ab"),
                    ("NUL in a value", "?u=a%00b"),
                    ("DEL in a value", "?u=%7F"),
                    ("LF in a key", "?a%0Ab=1")):
        rid, _ = refused(d, up, "GET", execute("q") + q, 400, "BAD_REQUEST",
                         what, detail="control character")
        access_is(d, rid, what, "test", "q", 400, error="BAD_REQUEST")
    r, p, _ = call("?u=a%09b", "TAB in a value")
    check(dict(p).get(b"u") == b"a\tb", "a TAB is a character like others "
          "(sent as %09)")
    # A row whose template renders a line feed: the connector's fault.
    refused(d, up, "GET", execute("nl"), 422, None, "a row rendering LF",
            scope="Configuration (template rendering)",
            detail="query parameter 'a'.*control character")
    check(set(d.children("worker")) == worker,
          "the worker was never replaced (no plan the keeper refused)")
    check("broke the protocol" not in d.logtext(),
          "the keeper never refused a plan")

    # Too many parameters: a clear 400, nothing upstream.
    refused(d, up, "GET", execute("plain") + "?" + "&".join(
        "p%d=1" % i for i in range(300)), 400, "BAD_REQUEST",
        "300 query parameters", detail="too many query parameters")
    r, p, _ = call("?" + "&".join("p%d=1" % i for i in range(256)),
                   "256 query parameters", path="plain")
    check(len(p) == 256, "256 parameters are forwarded")
finally:
    d.cleanup()
    up.close()
