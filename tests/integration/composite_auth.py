"""Each step of a composite authenticates itself (issue 12, platform-docs 6
"Composite steps"): OAuth client credentials, JWT (HMAC and RSA, claims
from steps.* and request.*, checked with PyJWT), OAuth JWT bearer and an
api_key, side by side in one composite, each step with its own secret.
Tokens are shared across steps whose resolved client id, secret, token
URL and scope are the same, and across calls; different values sign in
separately.  A 401 on a cached token inside a step is retried once with
a new one.  What a step's upstream echoes of a credential is redacted
before later steps (or the widget) see it."""

import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check               # noqa: E402
from upstream import Upstream                               # noqa: E402
from compositeutil import call, timing                      # noqa: E402

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:
    print("SKIP: python3-jwt or python3-cryptography is missing")
    sys.exit(77)

HMAC = "hmac-step-secret-0123456789abcdef"
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = rsa_key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
api = Upstream()
tok = Upstream()
issued = []             # (form, token), in order
lock = threading.Lock()
refuse = set()          # tokens the api answers 401 to


def token_answer(req):
    form = urllib.parse.parse_qs(req.body.decode())
    with lock:
        kind = "bearer" if "assertion" in form else \
            form.get("scope", ["-"])[0]
        t = "tok-%d-%s" % (len(issued) + 1, kind)
        issued.append((form, t))
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"access_token": t, "expires_in": 3600}).encode()


tok.route("/token", token_answer)


def api_answer(req):
    auth = req.header("Authorization") or ""
    if auth[7:] in refuse:
        return 401, {}, b'{"error": "expired"}'
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"path": req.path, "auth": auth, "key": req.header("X-Api-Key"),
         "q": req.query}).encode()


api.route("/", api_answer)


def cc(scope, secret="csec"):
    return {"type": "oauth_client_credentials", "config": {
        "client_id": "{{ get_secret('cid') }}",
        "client_secret": "{{ get_secret('%s') }}" % secret,
        "token_url": tok.url("/token"), "scope": scope}}


def step(name, p, auth=None, **kw):
    s = {"name": name, "url": api.url(p)}
    if auth is not None:
        s["authentication"] = auth
    s.update(kw)
    return s


COMPOSITES = [
    # Three OAuth steps: a and b share their credentials, c has its own
    # scope, d its own client secret.
    {"name": "oauth", "permalink": "oauth", "steps": [
        step("a", "/a", cc("read")), step("b", "/b", cc("read")),
        step("c", "/c", cc("write")), step("d", "/d", cc("read", "csec2"))]},
    # Every kind of authentication, one per step, each its own secret.
    {"name": "mixed", "permalink": "mixed", "id": 5, "steps": [
        step("key", "/key", {"type": "api_key", "config": {
            "key": "X-Api-Key", "value": "{{ get_secret('apikey') }}"}},
            response_body="{{ (response.body | from_json).key }}"),
        step("hmac", "/hmac", {"type": "jwt", "config": {
            "private_key": "{{ get_secret('hmac') }}", "algorithm": "HS256",
            "claims": {"sub": "{{ request.query_parameters.who }}",
                       "prev": "{{ steps.key.body }}", "iat": "{{ now() }}",
                       "exp": "{{ now(60) }}"},
            "jwt_headers": {"kid": "k-{{ tenant_id }}"}}}),
        step("rsa", "/rsa", {"type": "jwt", "config": {
            "private_key": "{{ get_secret('rsa') }}", "algorithm": "RS256",
            "claims": {"sub": "{{ steps.hmac.status_code }}",
                       "n": 7}}}),
        step("bearer", "/bearer", {"type": "oauth_jwt_bearer", "config": {
            "client_id": "jb-client", "private_key": "{{ get_secret('rsa') }}",
            "token_url": tok.url("/token"),
            "subject": "{{ request.query_parameters.who }}",
            "audience": "https://login.example"}}),
        step("oauth", "/oauth", cc("read"))]},
]

d = Daemon(workers=2, keepers=1, egress=TEST_EGRESS)
try:
    d.set_secret("cid", "client-1")
    d.set_secret("csec", "client-secret-1")
    d.set_secret("csec2", "client-secret-2")
    d.set_secret("apikey", "api-key-step-0")
    d.set_secret("hmac", HMAC)
    d.set_secret("rsa", RSA_PEM)
    d.connectors(composites=COMPOSITES)
    d.start()

    # --- the token cache across steps -----------------------------------
    st, h, body = call(d, "oauth", b"{}")
    check(st == 200, "four OAuth steps: 200 (%d %r)" % (st, body[:200]))
    check([(f["scope"][0], f["client_secret"][0]) for f, _ in issued] ==
          [("read", "client-secret-1"), ("write", "client-secret-1"),
           ("read", "client-secret-2")],
          "three token requests: steps a and b share one, c (another "
          "scope) and d (another secret) sign in separately (%r)" %
          [f for f, _ in issued])
    got = {r.path: r.header("Authorization") for r in api.seen()}
    check(got == {"/a": "Bearer " + issued[0][1],
                  "/b": "Bearer " + issued[0][1],
                  "/c": "Bearer " + issued[1][1],
                  "/d": "Bearer " + issued[2][1]},
          "each step sent its own credential's token (%r)" % got)
    check(json.loads(body)["auth"] == "Bearer [REDACTED]",
          "the last step's echo of its token is redacted")
    timing(h, ["a", "b", "c", "d"], "four OAuth steps",
           statuses=[200] * 4)
    st, h, body = call(d, "oauth", b"{}")
    check(st == 200 and len(issued) == 3,
          "a second call: every token from the cache (%d requests)" %
          len(issued))

    # A 401 on the cached token inside step a: a new token, a once more.
    refuse.add(issued[0][1])
    api.reset()
    st, h, body = call(d, "oauth", b"{}")
    paths = [r.path for r in api.seen()]
    check(st == 200 and len(issued) == 4 and
          issued[3][0]["scope"] == ["read"] and
          paths == ["/a", "/a", "/b", "/c", "/d"],
          "401 in step a: purged, a new token, a once more, then b with "
          "the new one (%d, %r)" % (st, paths))
    check(api.seen("/b")[0].header("Authorization") == "Bearer " +
          issued[3][1], "step b shares the new token")

    # --- one composite, every kind --------------------------------------
    api.reset()
    before = len(issued)
    st, h, body = call(d, "5", b"{}", query="who=alice%40example.com")
    check(st == 200, "mixed authentication: 200 (%d %r)" % (st, body[:300]))
    seen = {r.path: r for r in api.seen()}
    check(list(seen) == ["/key", "/hmac", "/rsa", "/bearer", "/oauth"],
          "five steps in order (%r)" % list(seen))
    check(seen["/key"].header("X-Api-Key") == "api-key-step-0",
          "step key: its api_key")
    t = seen["/hmac"].header("Authorization")[7:]
    c = jwt.decode(t, HMAC, algorithms=["HS256"])
    check(c["sub"] == "alice@example.com" and c["prev"] == "[REDACTED]" and
          isinstance(c["iat"], int) and c["exp"] - c["iat"] == 60 and
          jwt.get_unverified_header(t)["kid"] == "k-test",
          "step hmac: HS256 verified by PyJWT; claims from request.* and "
          "steps.key.body, which is redacted since step key's upstream "
          "echoed its key (%r)" % c)
    t = seen["/rsa"].header("Authorization")[7:]
    c = jwt.decode(t, rsa_key.public_key(), algorithms=["RS256"])
    check(c == {"sub": "200", "n": 7},
          "step rsa: RS256 verified by PyJWT, a claim from "
          "steps.hmac.status_code (%r)" % c)
    bearer = [f for f, _ in issued[before:] if "assertion" in f]
    check(len(bearer) == 1, "step bearer: one token request")
    a = jwt.decode(bearer[0]["assertion"][0], rsa_key.public_key(),
                   algorithms=["RS256"], audience="https://login.example")
    check(a["iss"] == "jb-client" and a["sub"] == "alice@example.com" and
          a["exp"] - a["iat"] == 180,
          "step bearer: the assertion, subject from request.* (%r)" % a)
    tokens = {t for _, t in issued}
    check(seen["/bearer"].header("Authorization")[7:] in tokens and
          seen["/oauth"].header("Authorization") == "Bearer " +
          issued[3][1],
          "step bearer uses its token; step oauth shares the token of the "
          "\"oauth\" composite's steps (same credentials)")
    check(len(issued) == before + 1, "one token request in all")
    # Each step's secret went only to its own step.
    for p, r in seen.items():
        blob = json.dumps(r.header_list) + r.query
        others = [s for s in ("api-key-step-0", HMAC, "client-secret-1")
                  if s in blob and not (p == "/key" and
                                        s == "api-key-step-0")]
        check(others == [], "step %s carries no other step's secret" % p)
    out = json.loads(body)
    check(out["auth"] == "Bearer [REDACTED]",
          "the widget gets the last step's answer, its token redacted")
    timing(h, ["key", "hmac", "rsa", "bearer", "oauth"], "mixed",
           statuses=[200] * 5)
    check(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
    api.close()
    tok.close()
