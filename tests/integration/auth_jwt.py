"""JWT authentication, JWT bearer tokens and jwt_encode() with a secret
key, end to end (issue 10): every algorithm verified by an independent
implementation (Debian's PyJWT with python3-cryptography), claims rendered
with now() and the user's context, exp/iat/nbf as integers, jwt_headers,
PEM keys with escaped newlines, signing errors, and bearer tokens cached
per subject."""

import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream
from wdtest import TEST_EGRESS, Daemon, check, envelope

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError:
    print("SKIP: python3-jwt or python3-cryptography is missing")
    sys.exit(77)


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
keys = {
    "RS256": rsa_key, "RS384": rsa_key, "RS512": rsa_key,
    "PS256": rsa_key, "PS384": rsa_key, "PS512": rsa_key,
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "ES384": ec.generate_private_key(ec.SECP384R1()),
    "ES512": ec.generate_private_key(ec.SECP521R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
}
HMAC = "hmac-secret-0123456789-abcdefghij"

api = Upstream()
tok = Upstream()
bearer = []
lock = threading.Lock()


def bearer_answer(req):
    form = urllib.parse.parse_qs(req.body.decode())
    with lock:
        t = "bearer-%d" % (len(bearer) + 1)
        bearer.append((form, t))
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"access_token": t, "expires_in": 30}).encode()


tok.route("/token", bearer_answer)


def jwt_conn(alg):
    return {"name": "jwt-" + alg, "permalink": "jwt-" + alg.lower(),
            "url": api.url("/v1/" + alg),
            "authentication": {"type": "jwt", "config": {
                "private_key": "{{ get_secret('key_%s') }}" % alg.lower(),
                "algorithm": alg,
                "claims": {"iss": "widgetd-test", "sub": "{{ tenant_id }}",
                           "iat": "{{ now() }}", "exp": "{{ now(300) }}",
                           "nbf": "{{ now(-5) }}", "scope": ["a", "b"],
                           "n": 42},
                "jwt_headers": {"kid": "key-{{ tenant_id }}"}}}}


conns = [jwt_conn(a) for a in list(keys) + ["HS256", "HS384", "HS512"]]
conns.append({"name": "bad", "permalink": "bad-key", "url": api.url("/bad"),
              "authentication": {"type": "jwt", "config": {
                  "private_key": "{{ get_secret('not_a_key') }}",
                  "algorithm": "RS256", "claims": {"sub": "x"}}}})
conns.append({"name": "wrong", "permalink": "wrong-curve",
              "url": api.url("/bad"),
              "authentication": {"type": "jwt", "config": {
                  "private_key": "{{ get_secret('key_es384') }}",
                  "algorithm": "ES256", "claims": {"sub": "x"}}}})
conns.append({"name": "enc", "permalink": "encode", "url": api.url("/enc"),
              "headers": [{"key": "X-Token", "value":
                           "{{ jwt_encode({'sub': tenant_id, 'exp': now(60)}, "
                           "get_secret('key_hs256'), 'HS256', "
                           "{'kid': 'k1'}) }}"}]})
conns.append({"name": "jb", "permalink": "bearer", "url": api.url("/jb"),
              "authentication": {"type": "oauth_jwt_bearer", "config": {
                  "client_id": "cid-1",
                  "private_key": "{{ get_secret('key_rs256') }}",
                  "token_url": tok.url("/token"),
                  "subject": "{{ user.email | default('svc@example.com', "
                             "true) }}",
                  "audience": "https://login.example.com",
                  "token_ttl": 120,
                  "additional_claims": {"scope": "api"}}}})

d = Daemon(workers=2, keepers=1, egress=TEST_EGRESS)
try:
    for alg, k in keys.items():
        text = pem(k)
        # Some keys as a Code Mode author pastes them: "\n" escapes.
        if alg in ("RS384", "ES256", "EdDSA"):
            text = text.replace("\n", "\\n")
        d.set_secret("key_" + alg.lower(), text)
    for alg in ("hs256", "hs384", "hs512"):
        d.set_secret("key_" + alg, HMAC)
    d.set_secret("not_a_key", "-----BEGIN PRIVATE KEY-----\nnope\n"
                 "-----END PRIVATE KEY-----\n")
    d.connectors(*conns)
    d.start()

    for alg in list(keys) + ["HS256", "HS384", "HS512"]:
        api.reset()
        st, _, _ = d.call("GET", "/widget-service/connectors/jwt-%s/execute" %
                          alg.lower())
        r = api.seen("/v1/")
        check(st == 200 and len(r) == 1, "%s: called (%d)" % (alg, st))
        auth = r[0].header("Authorization") or ""
        check(auth.startswith("Bearer "), "%s: a Bearer token" % alg)
        token = auth[7:]
        if alg.startswith("HS"):
            vkey = HMAC
        else:
            vkey = keys[alg].public_key()
        claims = jwt.decode(token, vkey, algorithms=[alg],
                            options={"verify_aud": False})
        hdr = jwt.get_unverified_header(token)
        check(hdr["alg"] == alg and hdr["kid"] == "key-test" and
              hdr.get("typ") == "JWT", "%s: header alg, typ, kid" % alg)
        check(isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
              and isinstance(claims["nbf"], int) and
              claims["exp"] - claims["iat"] == 300 and
              abs(claims["iat"] - time.time()) < 30,
              "%s: iat/exp/nbf rendered from now() as integers" % alg)
        check(claims["sub"] == "test" and claims["scope"] == ["a", "b"] and
              claims["n"] == 42, "%s: claims, JSON ones keep their type" % alg)

    # A fresh token for every call.
    api.reset()
    d.call("GET", "/widget-service/connectors/jwt-rs256/execute")
    time.sleep(1.1)
    d.call("GET", "/widget-service/connectors/jwt-rs256/execute")
    a, b = [x.header("Authorization") for x in api.seen("/v1/")]
    check(a != b, "a fresh JWT per call")

    # Signing errors: 422 with the JWT scope, nothing sent.
    for link in ("bad-key", "wrong-curve"):
        api.reset()
        st, _, body = d.call("GET", "/widget-service/connectors/%s/execute" %
                             link)
        code, doc = envelope(body)
        check(st == 422 and doc["errors"]["scope"] ==
              "Authentication (JWT signing)", "%s: 422 JWT signing (%r)" %
              (link, doc["errors"]))
        check(api.seen() == [], "%s: nothing sent" % link)

    # jwt_encode() with a secret key in a header template.
    api.reset()
    st, _, _ = d.call("GET", "/widget-service/connectors/encode/execute")
    t = api.seen("/enc")[0].header("X-Token")
    c = jwt.decode(t, HMAC, algorithms=["HS256"])
    check(st == 200 and c["sub"] == "test" and
          jwt.get_unverified_header(t)["kid"] == "k1",
          "jwt_encode(..., get_secret(k), 'HS256', {'kid'}) verifies")

    # JWT bearer: the assertion, the grant, the cache.
    api.reset()
    st, _, _ = d.call("GET", "/widget-service/connectors/bearer/execute")
    check(st == 200 and len(bearer) == 1, "bearer: one token request")
    form = bearer[0][0]
    check(form["grant_type"] == ["urn:ietf:params:oauth:grant-type:"
                                 "jwt-bearer"], "bearer: the grant type")
    assertion = form["assertion"][0]
    c = jwt.decode(assertion, rsa_key.public_key(), algorithms=["RS256"],
                   audience="https://login.example.com")
    check(c["iss"] == "cid-1" and c["sub"] == "svc@example.com" and
          c["exp"] - c["iat"] == 180 and c["scope"] == "api",
          "bearer: iss, sub, aud, exp = iat + 180, additional claims")
    check(api.seen("/jb")[0].header("Authorization") ==
          "Bearer " + bearer[0][1], "bearer: the token upstream")
    check(assertion not in json.dumps([r.header_list for r in api.seen()]),
          "the assertion never reaches the upstream")
    d.call("GET", "/widget-service/connectors/bearer/execute")
    check(len(bearer) == 1, "bearer: the token is cached")
    check(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
    api.close()
    tok.close()
