"""Sessions end to end (issue 7, SPEC 5): JWTs signed now by PyJWT with
ES256, RS256 and EdDSA keys made now, sent in the tenant's cookie or as
Authorization: Bearer with the CSRF header, reach the connector as
user.* in header and query templates; anonymous callers of a connector
whose headers or query use user.* are 401 AUTHENTICATION_REQUIRED;
invalid or expired tokens are 401, never anonymous; duplicated
Authorization, Cookie or CSRF headers are 400; a missing or different
CSRF header is 403.  Refusals reach no upstream, and the token never
does either."""

import os
import sys
import time
from urllib.parse import parse_qsl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check  # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access_is, common, execute, refused  # noqa: E402
from abuseutil import answer_without_body                 # noqa: E402

try:
    import jwt
except ImportError:
    print("SKIP: python3-jwt or python3-cryptography is missing")
    sys.exit(77)
# Keys as tests/session_pyjwt.py makes them (it exits 77 without them).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from session_pyjwt import new_key, pub_pem                # noqa: E402

ISS = "https://community.example"
AUD = "widgetd"
CSRF = "csrf-4b1f0e9a7c"
COOKIE = "wsess"
HOSTS = {"ES256": "es.example", "RS256": "rs.example", "EdDSA": "ed.example"}


def claims(**over):
    now = int(time.time())
    c = {"sub": "u-17", "email": "\xe9lise@example.com",
         "preferred_username": "elise", "username": "not-this-one",
         "given_name": "\xc9lise", "family_name": "Dupont & Fils",
         "profile_fields": {"42": "R&D / Lab", "7": "x"}, "csrf": CSRF,
         "iss": ISS, "aud": AUD, "iat": now - 5, "exp": now + 600}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


keys = {alg: new_key(alg) for alg in HOSTS}
stranger = new_key("ES256")
up = Upstream()
d = Daemon(workers=2, egress=TEST_EGRESS, tenants=[
    '{ id = "t-%s"; hosts = [ "%s" ]; registry = "reg.json"; '
    'store = "store-%s"; session = { cookie = "%s"; public_key = "%s.pem"; '
    'issuer = "%s"; audience = "%s"; }; }' % (alg.lower(), host,
                                              alg.lower(), COOKIE,
                                              alg.lower(), ISS, AUD)
    for alg, host in HOSTS.items()] + [
    '{ id = "plain"; registry = "reg.json"; store = "store"; }'])
try:
    for alg, k in keys.items():
        os.mkdir(os.path.join(d.dir, "store-" + alg.lower()))
        with open(os.path.join(d.dir, alg.lower() + ".pem"), "wb") as f:
            f.write(pub_pem(k))
    d.connectors(
        {"name": "who", "permalink": "who", "url": up.url("/who"),
         "headers": [{"key": "X-User-Id", "value": "{{ user.id }}"},
                     {"key": "X-Email", "value": "{{ user.email }}"}],
         "query_parameters": [
             {"key": "username", "value": "{{ user.username }}"},
             {"key": "dept",
              "value": "{{ user.profile_fields.by_id(42) }}"},
             {"key": "name",
              "value": "{{ user.first_name }} {{ user.last_name }}"}]},
        {"name": "anon", "permalink": "anon", "url": up.url("/anon"),
         "headers": [{"key": "X-Tenant", "value": "{{ tenant_id }}"}],
         "response_body": "{{ user.id }}|{{ user.email }}|"
                          "{{ user.profile_fields.by_id(42) }}"},
        {"name": "url user", "permalink": "url-user", "method": "POST",
         "url": up.url("/u/{{ user.id }}"),
         "request_body": "{{ user.email | tojson }}"})
    d.start()

    def token(alg, key=None, **over):
        return jwt.encode(claims(**over), key or keys[alg], algorithm=alg)

    def ok(alg, headers, what, permalink="who"):
        n = len(up.requests)
        st, h, b = d.call("GET", execute(permalink), headers,
                          host=HOSTS[alg])
        check(st == 200, "%s: 200 (%d %r)" % (what, st, b[:200]))
        check(len(up.requests) == n + 1, "%s: one upstream call" % what)
        r = up.requests[-1]
        blob = repr(r.header_list) + r.target
        check(COOKIE not in blob and "eyJ" not in blob and CSRF not in blob,
              "%s: neither the token nor the CSRF value reaches the "
              "upstream" % what)
        common(h, what, external="127.0.0.1")
        access_is(d, h["x-request-id"], what, "t-" + alg.lower(),
                  permalink, 200, upstream="200")
        return r, b

    def no(alg, headers, status, code, what, permalink="who", host=None):
        rid, _ = refused(d, up, "GET", execute(permalink), status, code,
                         what, headers=headers, host=host or HOSTS[alg])
        access_is(d, rid, what, "t-" + alg.lower() if host is None else
                  "plain", permalink, status, error=code)

    for alg in HOSTS:
        t = token(alg)
        # The cookie, among others, and the Bearer header; both CSRF
        # spellings.
        for what, hs in (
                ("cookie", ["Cookie: a=1; %s=%s; b=2" % (COOKIE, t),
                            "X-CSRFToken: " + CSRF]),
                ("Bearer", ["Authorization: Bearer " + t,
                            "X-CSRF-Token: " + CSRF]),
                ("cookie and the same Bearer",
                 ["Cookie: %s=%s" % (COOKIE, t),
                  "Authorization: Bearer " + t, "X-CSRFToken: " + CSRF])):
            r, _ = ok(alg, hs, "%s in the %s" % (alg, what))
            q = dict(parse_qsl(r.query))
            check(r.header("X-User-Id") == "u-17" and
                  r.header("X-Email").encode("latin-1") ==
                  "\xe9lise@example.com".encode() and
                  q == {"username": "elise", "dept": "R&D / Lab",
                        "name": "\xc9lise Dupont & Fils"},
                  "%s %s: user.id, email, username, profile_fields.by_id "
                  "and names reach the header and query templates (%r %r)"
                  % (alg, what, r.header_list, q))
        r, b = ok(alg, ["Authorization: Bearer " + t,
                        "X-CSRFToken: " + CSRF], "%s, response template"
                  % alg, permalink="anon")
        check(b == b"u-17|\xc3\xa9lise@example.com|R&D / Lab",
              "%s: user.* in the response template" % alg)

        # Refusals: nothing upstream, the right status and code.
        csrf = "X-CSRFToken: " + CSRF
        bearer = "Authorization: Bearer "
        cases = [
            ("no CSRF header", [bearer + t], 403, "CSRF_FAILED"),
            ("a different CSRF value", [bearer + t, "X-CSRFToken: nope"],
             403, "CSRF_FAILED"),
            ("a CSRF value that is a prefix",
             [bearer + t, "X-CSRFToken: " + CSRF[:-1]], 403, "CSRF_FAILED"),
            ("a token without a csrf claim",
             [bearer + token(alg, csrf=None), csrf], 403, "CSRF_FAILED"),
            ("an expired token", [bearer + token(
                alg, exp=int(time.time()) - 120), csrf], 401,
             "SESSION_EXPIRED"),
            ("a token not yet valid", [bearer + token(
                alg, nbf=int(time.time()) + 600), csrf], 401,
             "INVALID_SESSION"),
            ("another issuer", [bearer + token(alg, iss="https://x"), csrf],
             401, "INVALID_SESSION"),
            ("another audience", [bearer + token(alg, aud="other"), csrf],
             401, "INVALID_SESSION"),
            ("a tampered token", [bearer + t[:-3] + ("AAA" if t[-3:] !=
                                                      "AAA" else "BBB"),
                                  csrf], 401, "INVALID_SESSION"),
            ("garbage in the cookie", ["Cookie: %s=not.a.jwt" % COOKIE,
                                       csrf], 401, "INVALID_SESSION"),
            ("an empty Bearer", ["Authorization: Bearer", csrf], 401,
             "INVALID_SESSION"),
            ("alg none", [bearer + jwt.encode(claims(), None,
                                              algorithm="none"), csrf],
             401, "INVALID_SESSION"),
            ("two Authorization headers", [bearer + t, bearer + t, csrf],
             400, "AMBIGUOUS_CREDENTIALS"),
            ("two Cookie headers", ["Cookie: %s=%s" % (COOKIE, t),
                                    "Cookie: x=1", csrf], 400,
             "AMBIGUOUS_CREDENTIALS"),
            ("the session cookie twice", ["Cookie: %s=%s; %s=%s" %
                                          (COOKIE, t, COOKIE, t), csrf],
             400, "AMBIGUOUS_CREDENTIALS"),
            ("two X-CSRFToken headers", [bearer + t, csrf, csrf], 400,
             "AMBIGUOUS_CREDENTIALS"),
            ("X-CSRFToken and X-CSRF-Token", [bearer + t, csrf,
                                              "X-CSRF-Token: " + CSRF],
             400, "AMBIGUOUS_CREDENTIALS"),
            ("cookie and Bearer differ", ["Cookie: %s=%s" % (COOKIE, t),
                                          bearer + token(alg, sub="u-18"),
                                          csrf], 400,
             "AMBIGUOUS_CREDENTIALS")]
        for a2, k2 in keys.items():
            if a2 != alg:
                cases.append(("a %s token of another tenant" % a2,
                              [bearer + jwt.encode(claims(), k2,
                                                   algorithm=a2), csrf],
                              401, "INVALID_SESSION"))
        cases.append(("the right algorithm, a stranger's key",
                      [bearer + jwt.encode(claims(), stranger if alg ==
                                           "ES256" else new_key(alg),
                                           algorithm=alg), csrf],
                      401, "INVALID_SESSION"))
        for what, hs, status, code in cases:
            no(alg, hs, status, code, "%s: %s" % (alg, what))
            # An invalid token is never a quiet anonymous call.
            if status == 401:
                no(alg, hs, status, code, "%s: %s, to a connector that "
                   "needs no user" % (alg, what), permalink="anon")

        # Anonymous: user.* in headers or query needs a user.
        no(alg, [], 401, "AUTHENTICATION_REQUIRED",
           "%s tenant, anonymous, user.* in headers" % alg)
        no(alg, ["Cookie: %s=" % COOKIE], 401, "AUTHENTICATION_REQUIRED",
           "%s tenant, an empty session cookie is no session" % alg)
        no(alg, ["Authorization: Basic dTpw"], 401,
           "AUTHENTICATION_REQUIRED",
           "%s tenant, Basic credentials are no session" % alg)
        r, b = ok(alg, [], "%s tenant, anonymous, no user.* in headers or "
                  "query" % alg, permalink="anon")
        check(b == b"None|None|None", "anonymous: user.* is None (%r)" % b)
        n = len(up.requests)
        st, h, b = d.call("POST", execute("url-user"), [], b"",
                          host=HOSTS[alg])
        check(st == 200 and up.requests[-1].path == "/u/None" and
              up.requests[-1].body == b"null" and len(up.requests) == n + 1,
              "%s: user.* in the URL and the body renders None for an "
              "anonymous caller, without a refusal" % alg)

    # A tenant without sessions ignores tokens: every call is anonymous.
    t = token("ES256")
    no("ES256", ["Authorization: Bearer " + t, "X-CSRFToken: " + CSRF], 401,
       "AUTHENTICATION_REQUIRED", "a tenant without sessions ignores a "
       "valid token", host="other.example")
    no("ES256", ["Authorization: Bearer " + t, "Authorization: Bearer " + t],
       400, "AMBIGUOUS_CREDENTIALS", "a tenant without sessions still "
       "refuses two Authorization headers", host="other.example")
    n = len(up.requests)
    st, h, b = d.call("GET", execute("anon"), ["Cookie: %s=%s" % (COOKIE, t)],
                      host="other.example")
    check(st == 200 and b == b"None|None|None" and len(up.requests) == n + 1,
          "a tenant without sessions: the token is ignored, the caller is "
          "anonymous")

    # Authorised before the body is read (issue 9): a POST whose session
    # will be refused is answered while its declared megabyte is unsent
    # (before, the worker waited to buffer it first); a good session's
    # body is read and forwarded.
    def head_only(headers, permalink="url-user"):
        return answer_without_body(d.port, "POST", execute(permalink),
                                   1 << 20, headers, HOSTS["ES256"])

    csrf = "X-CSRFToken: " + CSRF
    for what, hs in (
            ("an expired token", ["Authorization: Bearer " + token(
                "ES256", exp=int(time.time()) - 600), csrf]),
            ("another key's token", ["Authorization: Bearer " + token(
                "ES256", key=stranger), csrf]),
            ("a good token without its CSRF header",
             ["Cookie: %s=%s" % (COOKIE, token("ES256"))])):
        n = len(up.requests)
        st, _, took = head_only(hs)
        check(st in (401, 403) and took < 10 and len(up.requests) == n,
              "POST with %s and 1 MiB declared, none sent: refused at once "
              "(%r, %.1f s)" % (what, st, took))
    n = len(up.requests)
    st, h, b = d.call("POST", execute("url-user"),
                      ["Authorization: Bearer " + token("ES256"), csrf,
                       "Content-Type: application/json"], b'{"a": 1}',
                      host=HOSTS["ES256"])
    check(st == 200 and len(up.requests) == n + 1 and
          up.requests[-1].path == "/u/u-17",
          "a good session's POST: its body read, the call made (%d)" % st)
finally:
    d.cleanup()
    up.close()
