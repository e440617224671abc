"""widgetd's own authentication extensions (issue 10), under a connector's
"widgetd" key: AWS Signature Version 4 checked by an independent signer
(Debian's python3-botocore), an upstream client certificate (mTLS), the
caller rule, and JWT bearer tokens cached per subject (a subject from
user.* gives each user their own token)."""

import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import TestCA, Upstream
from wdtest import Daemon, check, envelope

try:
    import jwt
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError:
    print("SKIP: python3-jwt, python3-cryptography or python3-botocore "
          "is missing")
    sys.exit(77)

AKID, ASECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ca = TestCA()
api = Upstream()
tls = Upstream(tls=ca.server(require_client=True))
tok = Upstream()
cert_pem, key_pem = ca.client("widgetd-mtls")
bearer = []
lock = threading.Lock()


def bearer_answer(req):
    form = urllib.parse.parse_qs(req.body.decode())
    with lock:
        t = "tok-%d" % (len(bearer) + 1)
        bearer.append((form, t))
    return 200, {}, json.dumps({"access_token": t}).encode()


tok.route("/token", bearer_answer)


def botocore_signature(req):
    """The signature botocore computes for what the upstream received,
    over the headers widgetd says it signed."""
    auth = req.header("Authorization")
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    hdrs = {h: req.header(h) for h in signed}
    url = "http://%s%s" % (req.header("Host"), req.target)
    r = AWSRequest(method=req.method, url=url, data=req.body, headers=hdrs)
    r.context["timestamp"] = req.header("X-Amz-Date")
    s = SigV4Auth(Credentials(AKID, ASECRET), "execute-api", "eu-west-1")
    canonical = s.canonical_request(r)
    return s.signature(s.string_to_sign(r, canonical), r), auth


session_key = ec.generate_private_key(ec.SECP256R1())
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
d = Daemon(workers=2, keepers=1, egress="""egress = { allow_http = true;
    allow_networks = [ "127.0.0.0/8" ]; timeout = 5; ca_file = "%s"; };""" %
           ca.cert,
           tenants=['{ id = "test"; registry = "reg.json"; store = "store"; '
                    'session = { cookie = "s"; public_key = "sess.pem"; '
                    'issuer = "https://idp.example"; audience = "widgetd"; '
                    '}; }'])


def session(sub, **claims):
    now = int(time.time())
    c = {"sub": sub, "csrf": "c-" + sub, "iss": "https://idp.example",
         "aud": "widgetd", "iat": now, "exp": now + 300}
    c.update(claims)
    t = jwt.encode(c, session_key, algorithm="ES256")
    return ["Cookie: s=" + t, "X-CSRFToken: c-" + sub]


try:
    with open(os.path.join(d.dir, "sess.pem"), "wb") as f:
        f.write(session_key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo))
    d.set_secret("akid", AKID)
    d.set_secret("asecret", ASECRET)
    d.set_secret("atoken", "session-token-0123456789")
    d.set_secret("ccert", cert_pem)
    d.set_secret("ckey", key_pem)
    d.set_secret("rsa", rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    d.connectors(
        {"name": "sig", "permalink": "sig", "method": "POST",
         "url": api.url("/sig/a%20b/c?b=2&a=1"),
         "query_parameters": [{"key": "q", "value": "x y",
                               "overridable": True}],
         "widgetd": {"aws_sigv4": {
             "access_key_id": "{{ get_secret('akid') }}",
             "secret_access_key": "{{ get_secret('asecret') }}",
             "region": "eu-west-1", "service": "execute-api"}}},
        {"name": "sigt", "permalink": "sig-token", "url": api.url("/sigt"),
         "widgetd": {"aws_sigv4": {
             "access_key_id": "{{ get_secret('akid') }}",
             "secret_access_key": "{{ get_secret('asecret') }}",
             "session_token": "{{ get_secret('atoken') }}",
             "region": "eu-west-1", "service": "execute-api"}}},
        {"name": "mtls", "permalink": "mtls", "url": tls.url("/m"),
         "widgetd": {"client_certificate": {
             "certificate": "{{ get_secret('ccert') }}",
             "key": "{{ get_secret('ckey') }}"}}},
        {"name": "nocert", "permalink": "no-cert", "url": tls.url("/n")},
        {"name": "members", "permalink": "members", "url": api.url("/members"),
         "widgetd": {"caller": {"signed_in": True}}},
        {"name": "admins", "permalink": "admins", "url": api.url("/admins"),
         "widgetd": {"caller": {"claims": {"role": ["admin", "owner"],
                                           "profile_fields.7": "gold"}}}},
        {"name": "jb", "permalink": "per-user", "url": api.url("/jb"),
         "authentication": {"type": "oauth_jwt_bearer", "config": {
             "client_id": "cid", "private_key": "{{ get_secret('rsa') }}",
             "token_url": tok.url("/token"), "subject": "{{ user.email }}",
             "audience": "https://login.example"}}})
    d.start()

    # SigV4, with a body, a path that needs encoding, a sorted query.
    st, _, body = d.call("POST",
                         "/widget-service/connectors/sig/execute?q=z+w",
                         headers=["Content-Type: application/json"],
                         body=b'{"k": "v"}')
    r = api.seen("/sig")[0]
    check(st == 200, "sigv4: called (%d)" % st)
    want, auth = botocore_signature(r)
    check(auth.endswith("Signature=" + want),
          "sigv4: botocore computes the same signature")
    check("Credential=AKIDEXAMPLE/" in auth and
          "/eu-west-1/execute-api/aws4_request" in auth,
          "sigv4: credential scope")
    check(ASECRET not in json.dumps(r.header_list), "sigv4: no secret sent")
    st, _, _ = d.call("GET", "/widget-service/connectors/sig-token/execute")
    r = api.seen("/sigt")[0]
    want, auth = botocore_signature(r)
    check(st == 200 and r.header("X-Amz-Security-Token") ==
          "session-token-0123456789" and auth.endswith("Signature=" + want),
          "sigv4 with a session token: signed and sent")

    # mTLS: the upstream demands a certificate.
    st, _, body = d.call("GET", "/widget-service/connectors/mtls/execute")
    check(st == 200 and tls.seen("/m")[0].peer_cn == "widgetd-mtls",
          "mTLS: the client certificate reached the upstream (%d)" % st)
    st, _, body = d.call("GET", "/widget-service/connectors/no-cert/execute")
    check(st == 502 and tls.seen("/n") == [],
          "without a certificate the upstream refuses (%d)" % st)

    # The caller rule: before anything is rendered or sent.
    api.reset()
    st, _, body = d.call("GET", "/widget-service/connectors/members/execute")
    code, _ = envelope(body)
    check(st == 403 and code == "CALLER_NOT_ALLOWED" and
          api.seen() == [], "signed_in: anonymous 403, nothing sent")
    st, _, _ = d.call("GET", "/widget-service/connectors/members/execute",
                      headers=session("u1"))
    check(st == 200, "signed_in: a user passes")
    for claims, want in (({"role": "admin", "profile_fields": {"7": "gold"}},
                          200),
                         ({"role": ["x", "owner"],
                           "profile_fields": {"7": "gold"}}, 200),
                         ({"role": "user", "profile_fields": {"7": "gold"}},
                          403),
                         ({"role": "admin", "profile_fields": {"7": "tin"}},
                          403),
                         ({"role": "admin"}, 403)):
        st, _, _ = d.call("GET", "/widget-service/connectors/admins/execute",
                          headers=session("u2", **claims))
        check(st == want, "caller claims %r: %d" % (claims, want))

    # A bearer subject from user.*: each user their own token.
    st1, _, _ = d.call("GET", "/widget-service/connectors/per-user/execute",
                       headers=session("a", email="a@example.com"))
    st2, _, _ = d.call("GET", "/widget-service/connectors/per-user/execute",
                       headers=session("b", email="b@example.com"))
    st3, _, _ = d.call("GET", "/widget-service/connectors/per-user/execute",
                       headers=session("a", email="a@example.com"))
    subs = [jwt.decode(f["assertion"][0], options={"verify_signature": False})
            ["sub"] for f, _ in bearer]
    check((st1, st2, st3) == (200, 200, 200) and subs == ["a@example.com",
          "b@example.com"], "a token per subject, each cached (%r)" % subs)
    got = [r.header("Authorization") for r in api.seen("/jb")]
    check(got == ["Bearer tok-1", "Bearer tok-2", "Bearer tok-1"],
          "never another user's token (%r)" % got)
    check(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
    api.close()
    tls.close()
    tok.close()
