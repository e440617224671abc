#!/usr/bin/env python3
"""Session tokens signed by PyJWT, verified by widgetd's session.c.

An independent implementation on each side of the check: Debian's
python3-jwt signs (and, as a second opinion, verifies) tokens made with
keys from python3-cryptography; tests/session-verify runs session.c on
them.  For every case both verdicts must be the expected one (PyJWT's
where its rules are ours too), and for valid tokens the user.* that
session.c builds must equal the mapping of SPEC 5 written again here.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError:
    # contrib/install-deps installs both; only a bare machine lacks them.
    print("SKIP: python3-jwt or python3-cryptography is missing")
    sys.exit(77)

ISS = "https://community.acme.example"
AUD = "widgetd"
CSRF = "c5rf-0123456789abcdef"
LEEWAY = 30         # session.h SESSION_LEEWAY
MARGIN = 12         # seconds either side of a limit: PyJWT reads the clock
                    # later than the verifier is given it (a loaded ASan
                    # run can stall seconds between)


def new_key(alg):
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def pub_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def expected_user(claims):
    """SPEC 5's mapping, independently of session.c."""
    def first(*names):
        for name in names:
            if claims.get(name) is not None:
                return claims[name]
        return None
    fields = claims.get("profile_fields")
    return {
        "id": claims["sub"],
        "email": first("email"),
        "username": first("preferred_username", "username"),
        "first_name": first("given_name", "first_name"),
        "last_name": first("family_name", "last_name"),
        "profile_fields": {} if fields is None else fields,
    }


def std_claims(now, **extra):
    claims = {"sub": "u-1", "email": "ann@example.com",
              "preferred_username": "ann", "username": "ann.lee",
              "given_name": "Ann", "family_name": "Lee",
              "profile_fields": {"42": "Engineering", "7": None},
              "csrf": CSRF, "iss": ISS, "aud": AUD,
              "iat": now - 10, "exp": now + 600}
    for name, value in extra.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def hs256_with(secret, claims):
    """HS256 by hand: PyJWT refuses a PEM key as an HMAC secret."""
    head = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64u(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64u(mac.digest())}"


def cases(alg, key, other, keys, now):
    """(name, token, claims or None, our verdict, PyJWT's or None, csrf)."""
    pem = pub_pem(key)

    def sign(claims, k=key, a=alg, headers=None):
        return jwt.encode(claims, k, algorithm=a, headers=headers)

    out = []

    def add(name, token, claims, ours, theirs="same", csrf=CSRF):
        out.append((name, token, claims, ours,
                    ours if theirs == "same" else theirs, csrf))

    c = std_claims(now)
    add("valid", sign(c), c, "VALID")
    add("csrf-mismatch", sign(c), c, "VALID", csrf="c5rf-other")
    c = std_claims(now, aud=["other", AUD])
    add("aud-array", sign(c), c, "VALID")
    c = std_claims(now)
    add("kid-jku-ignored", sign(c, headers={"kid": "k1",
        "jku": "https://evil.example/jwks"}), c, "VALID")
    c = std_claims(now, exp=now + 600.5, nbf=now - 100)
    add("float-exp-nbf", sign(c), c, "VALID")
    c = std_claims(now, exp=now - LEEWAY + MARGIN)
    add("exp-within-leeway", sign(c), c, "VALID")
    c = std_claims(now, exp=now - LEEWAY - MARGIN)
    add("expired", sign(c), c, "EXPIRED")
    c = std_claims(now, nbf=now + LEEWAY + MARGIN)
    add("nbf-future", sign(c), c, "INVALID")
    c = std_claims(now, nbf=now + LEEWAY - MARGIN)
    add("nbf-within-leeway", sign(c), c, "VALID")
    c = std_claims(now, iat=now + LEEWAY + MARGIN)
    add("iat-future", sign(c), c, "INVALID")
    c = std_claims(now, exp=None)
    add("no-exp", sign(c), c, "INVALID")
    c = std_claims(now, iss="https://evil.example")
    add("wrong-iss", sign(c), c, "INVALID")
    c = std_claims(now, iss=None)
    add("no-iss", sign(c), c, "INVALID")
    c = std_claims(now, aud="other")
    add("wrong-aud", sign(c), c, "INVALID")
    c = std_claims(now, aud=["x", "y"])
    add("aud-array-without", sign(c), c, "INVALID")
    c = std_claims(now, aud=None)
    add("no-aud", sign(c), c, "INVALID")
    c = std_claims(now, preferred_username=None, given_name=None,
                   family_name=None, first_name="A.", last_name="L.",
                   email="\u00e9l\u00e8ve@example.com",
                   profile_fields={"1": 1, "2": [True], "3": {"a": None}})
    add("fallbacks-unicode", sign(c), c, "VALID")
    c = std_claims(now, profile_fields=None, email=None, username=None,
                   preferred_username=None)
    add("minimal", sign(c), c, "VALID")
    c = std_claims(now, csrf=None)
    add("no-csrf-claim", sign(c), c, "VALID")
    c = std_claims(now)
    add("wrong-key", sign(c, k=other), c, "INVALID")
    add("alg-none", jwt.encode(c, None, algorithm="none"), c, "INVALID")
    add("hs256-public-key", hs256_with(pem, c), c, "INVALID")
    for a, k in keys.items():
        if a != alg:
            add("signed-" + a, sign(c, k=k, a=a), c, "INVALID")
    head, body, sig = sign(c).split(".")
    forged = b64u(json.dumps(std_claims(now, sub="admin")).encode())
    add("tampered-payload", f"{head}.{forged}.{sig}", c, "INVALID")
    add("tampered-signature",
        f"{head}.{body}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}", c,
        "INVALID")
    # widgetd's own rules, beyond PyJWT 2.6's
    add("crit", sign(c, headers={"crit": ["exp"]}), c, "INVALID",
        theirs=None)
    c = std_claims(now, sub=None)
    add("no-sub", sign(c), c, "INVALID", theirs=None)
    c = std_claims(now, profile_fields=["Engineering"])
    add("profile-fields-list", sign(c), c, "INVALID", theirs=None)
    return out


def pyjwt_verdict(token, key, alg, issuer, audience):
    try:
        jwt.decode(token, key.public_key(), algorithms=[alg],
                   issuer=issuer, audience=audience, leeway=LEEWAY,
                   options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        return "EXPIRED"
    except jwt.PyJWTError:
        return "INVALID"
    return "VALID"


def run(verifier, pemfile, issuer, audience, now, batch):
    lines = "".join(f"{tok}\t{csrf}\n" for _, tok, _, _, _, csrf in batch)
    res = subprocess.run([verifier, pemfile, issuer or "-", audience or "-",
                          str(now)], input=lines, capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"session-verify failed: {res.stderr.strip()}")
    return res.stdout.splitlines()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--verifier", default=os.path.join(
        os.environ.get("top_builddir", "."), "tests", "session-verify"))
    args = ap.parse_args()

    algs = ("ES256", "RS256", "EdDSA")
    keys = {a: new_key(a) for a in algs}
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {what}")

    with tempfile.TemporaryDirectory() as tmp:
        for alg in algs:
            pemfile = os.path.join(tmp, alg + ".pem")
            with open(pemfile, "wb") as f:
                f.write(pub_pem(keys[alg]))
            now = int(time.time())
            batch = cases(alg, keys[alg], new_key(alg), keys, now)
            out = run(args.verifier, pemfile, ISS, AUD, now, batch)
            check(out[0] == f"KEY {alg}", f"{alg}: key line {out[0]!r}")
            for (name, tok, claims, ours, theirs, csrf), line in \
                    zip(batch, out[1:]):
                what = f"{alg} {name}"
                status = line.split(" ", 1)[0]
                check(status == ours, f"{what}: session.c said {line!r}, "
                      f"expected {ours}")
                if theirs is not None:
                    got = pyjwt_verdict(tok, keys[alg], alg, ISS, AUD)
                    check(got == theirs, f"{what}: PyJWT said {got}, "
                          f"expected {theirs}")
                if status != "VALID" or ours != "VALID":
                    continue
                user_json, csrf_ok = line[6:].rsplit(" ", 1)
                check(json.loads(user_json) == expected_user(claims),
                      f"{what}: user {user_json} != "
                      f"{json.dumps(expected_user(claims))}")
                want = "ok" if claims.get("csrf") == csrf else "failed"
                check(csrf_ok == want, f"{what}: csrf {csrf_ok}, "
                      f"expected {want}")
            check(len(out) == len(batch) + 1, f"{alg}: {len(out)} lines")

            # No issuer or audience configured: a token with aud is
            # refused (RFC 7519 4.1.3), as PyJWT does.
            now = int(time.time())
            with_aud = std_claims(now)
            without = std_claims(now, aud=None, iss="anyone")
            batch = [("open-aud", jwt.encode(with_aud, keys[alg],
                                             algorithm=alg),
                      with_aud, "INVALID", "INVALID", CSRF),
                     ("open-no-aud", jwt.encode(without, keys[alg],
                                                algorithm=alg),
                      without, "VALID", "VALID", CSRF)]
            out = run(args.verifier, pemfile, None, None, now, batch)
            for (name, tok, claims, ours, theirs, _), line in \
                    zip(batch, out[1:]):
                what = f"{alg} {name}"
                check(line.split(" ", 1)[0] == ours,
                      f"{what}: session.c said {line!r}")
                got = pyjwt_verdict(tok, keys[alg], alg, None, None)
                check(got == theirs, f"{what}: PyJWT said {got}")

    print(f"session_pyjwt: PyJWT {jwt.__version__}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
