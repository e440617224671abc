"""Secret confinement against a real daemon (root): no process but the
keeper ever holds a secret, in any form.

Two canary secrets, made at random for this run: one long and
alphanumeric, written to the store as the operator's files are; one with
the characters encodings change ("/", "+", "=", "&", space, ":"), set
while the daemon runs with widgetctl secret set (a secret's value never
passes through the parent).  Connectors use them in every way a template
can: the api_key header, the api_key query parameter, a header row that
concatenates, | urlencode, | base64_encode (alone and of "user:" ~ secret,
as Basic authentication does), jwt_encode with the secret as the HS256 key
in a header, a query row.  The upstream echoes every request header and
the query into its body and its response headers, and on one path also
every encoding of what it received.

Then every authentication type, each with a canary of its own, as a
simple connector and as the steps of one composite: oauth_client_credentials
(the client secret; a token endpoint on loopback that issues random
tokens), jwt with an HMAC key and with an RSA private key,
oauth_jwt_bearer with an EC private key, the widgetd key's
client_certificate (the key, against an HTTPS upstream that demands it)
and aws_sigv4 (the secret access key); and a composite whose three steps
each use a different secret (a header, a query row, an api_key).  What
these produce from a secret is secret too: the tokens the endpoint
issued, the assertions, the JWTs and SigV4 signatures the upstream
received, and each whole Authorization value.

After calls of every connector, each canary and each derived value in
every form (raw, base64 and url-safe base64 with and without padding, hex
in both cases, percent-encoded; a private key as PEM, each line of it
and DER) must be absent from:
  - every readable mapping of every worker and of the parent
    (/proc/PID/maps and /proc/PID/mem, read as root: the workers run as
    another user and are not dumpable, which root's CAP_SYS_PTRACE
    overrides);
  - every response a client got, headers and body;
  - every line the daemon logged;
and present, raw, in the keeper's memory: the same scan finds it where
it must be, so an empty result elsewhere means something."""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import string
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Daemon, check, fail, need_root  # noqa: E402
from upstream import TestCA, Upstream  # noqa: E402

try:
    import jwt as pyjwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError:
    pyjwt = None

# Mappings bigger than this are a sanitizer's shadow memory (tens of
# terabytes, reserved, never holding data): they are named, not read.
SHADOW = 1 << 36


def canary_alnum(n=48):
    abc = string.ascii_letters + string.digits
    return "CANARY" + "".join(secrets.choice(abc) for _ in range(n))


def canary_symbols(n=24):
    abc = string.ascii_letters + string.digits
    mid = "".join(secrets.choice(abc) for _ in range(n))
    return "Sym/" + mid[:8] + "+=& :" + mid[8:] + "~/x"


def forms(value):
    """Every form the canary must not appear in (bytes, deduplicated)."""
    raw = value.encode()
    out = {
        "raw": raw,
        "base64": base64.b64encode(raw),
        "base64 unpadded": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw),
        "base64url unpadded": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "percent-encoded": urllib.parse.quote(value, safe="").encode(),
        "percent-encoded lower": re.sub(
            rb"%[0-9A-F]{2}", lambda m: m.group(0).lower(),
            urllib.parse.quote(value, safe="").encode()),
        "form-encoded": urllib.parse.quote_plus(value, safe="").encode(),
    }
    seen, uniq = set(), {}
    for k, v in out.items():
        if v not in seen:
            seen.add(v)
            uniq[k] = v
    return uniq


def mapped(pid, addr):
    """True when addr lies in a mapping of pid now."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split(None, 1)[0].split("-"))
            if lo <= addr < hi:
                return True
    return False


def scan_memory(pid, needles):
    """Read every readable mapping of pid: ({form: [where]}, bytes read,
    mappings read, [mappings skipped with why])."""
    found = {}
    total = nmaps = 0
    skipped = []
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read().splitlines()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            parts = line.split(None, 5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            perms = parts[1]
            name = parts[5] if len(parts) > 5 else ""
            if perms[0] != "r":
                continue
            if hi - lo >= SHADOW:
                skipped.append("%s %s (%d GiB: sanitizer shadow)" %
                               (parts[0], name, (hi - lo) >> 30))
                continue
            data = bytearray()
            pos = lo
            ok = True
            while pos < hi:
                n = min(hi - pos, 1 << 24)
                try:
                    mem.seek(pos)
                    chunk = mem.read(n)
                except OSError as e:
                    # The process shrank the mapping (its heap, say)
                    # while we read it: nothing is left there to scan.
                    if not mapped(pid, pos):
                        break
                    # [vvar] and friends cannot be read through mem.
                    skipped.append("%s %s (%s)" % (parts[0], name,
                                                   e.strerror))
                    ok = False
                    break
                if not chunk:
                    break
                data += chunk
                pos += len(chunk)
            if ok:
                nmaps += 1
            total += len(data)
            for what, needle in needles.items():
                if needle in data:
                    found.setdefault(what, []).append(
                        "%s %s" % (parts[0], name))
    return found, total, nmaps, skipped


# Mappings the kernel does not let /proc/PID/mem read; anything else
# skipped fails the test (the scan must read everything it claims to).
UNREADABLE_OK = ("[vvar]", "[vvar_vclock]", "[vsyscall]")


def connectors(up):
    base = up.url("")
    hdr = lambda k, v: {"key": k, "value": v}  # noqa: E731
    jwt = "Bearer {{ jwt_encode({'sub': 'widget', 'iat': 1700000000}, " \
          "get_secret('%s'), 'HS256') }}"
    out = []
    for sec in ("k", "k2"):
        out += [
            {"name": "api key header " + sec, "permalink": "hdr-" + sec,
             "url": base + "/echo/hdr", "method": "GET",
             "authentication": {"type": "api_key", "config": {
                 "key": "X-Api-Key",
                 "value": "{{ get_secret('%s') }}" % sec, "in": "header"}}},
            {"name": "api key query " + sec, "permalink": "qry-" + sec,
             "url": base + "/echo/qry", "method": "GET",
             "authentication": {"type": "api_key", "config": {
                 "key": "api_key",
                 "value": "{{ get_secret('%s') }}" % sec, "in": "query"}}},
            {"name": "header rows " + sec, "permalink": "rows-" + sec,
             "url": base + "/echo/rows", "method": "GET",
             "headers": [
                 hdr("Authorization", "Bearer {{ get_secret('%s') }}" % sec),
                 hdr("X-Concat", "pre-{{ get_secret('%s') ~ '-mid-' ~ "
                     "tenant_id }}-post" % sec),
                 hdr("X-Urlencoded",
                     "{{ get_secret('%s') | urlencode }}" % sec),
                 hdr("X-Base64", "{{ get_secret('%s') | base64_encode }}"
                     % sec),
                 hdr("X-Basic", "Basic {{ ('user:' ~ get_secret('%s')) | "
                     "base64_encode }}" % sec),
             ]},
            {"name": "jwt header " + sec, "permalink": "jwt-" + sec,
             "url": base + "/echo/jwt", "method": "GET",
             "headers": [hdr("Authorization", jwt % sec)]},
            {"name": "query rows " + sec, "permalink": "qrows-" + sec,
             "url": base + "/echo/qrows", "method": "GET",
             "query_parameters": [
                 {"key": "sig", "value": "{{ get_secret('%s') }}" % sec},
                 {"key": "enc", "value": "{{ get_secret('%s') | urlencode }}"
                  % sec},
                 {"key": "b64", "value": "{{ get_secret('%s') | "
                  "base64_encode }}" % sec},
                 {"key": "plain", "value": "visible"},
             ]},
            # The upstream repeats what it got in every encoding.
            {"name": "all encodings " + sec, "permalink": "all-" + sec,
             "url": base + "/encodings", "method": "POST",
             "headers": [hdr("X-Key", "{{ get_secret('%s') }}" % sec)],
             "query_parameters": [
                 {"key": "key", "value": "{{ get_secret('%s') }}" % sec}],
             "response_body": "{{ response.body }}|{{ response.headers "
                              "| tojson }}"},
        ]
    return out


def pem_of(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def pem_forms(pem):
    """A private key in the forms it could be found in: the PEM, each
    line of its body, the DER it encodes."""
    lines = [ln for ln in pem.splitlines() if ln and not ln.startswith("-")]
    out = {"pem": pem.encode(), "der": base64.b64decode("".join(lines))}
    for i, ln in enumerate(lines):
        if len(ln) >= 40:
            out["line %d" % i] = ln.encode()
    return out


class TokenEndpoint:
    """Issues a random access token for every request (client
    credentials or JWT bearer) and keeps what it got and gave."""

    def __init__(self):
        self.lock = threading.Lock()
        self.issued = []
        self.forms = []
        self.up = Upstream()
        self.up.route("/token", self.answer)

    def answer(self, req):
        form = urllib.parse.parse_qs(req.body.decode())
        t = "TOKEN" + secrets.token_urlsafe(24)
        with self.lock:
            self.issued.append(t)
            self.forms.append(form)
        # Short-lived: the calls of each round fetch a new one.
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"access_token": t, "expires_in": 3600}).encode()


def auth_connectors(up, tls, tok):
    """Every authentication type, each with its own secret, as simple
    connectors; the same as the steps of one composite; and a composite
    whose steps each put a different secret somewhere else."""
    def at(p):
        return up.url("/encodings/" + p)
    types = {
        "oauth": {"authentication": {
            "type": "oauth_client_credentials", "config": {
                "client_id": "confinement-client",
                "client_secret": "{{ get_secret('oauth_secret') }}",
                "token_url": tok.up.url("/token"), "scope": "s"}}},
        "jwt-hs": {"authentication": {"type": "jwt", "config": {
            "private_key": "{{ get_secret('hmac_key') }}",
            "algorithm": "HS256",
            "claims": {"sub": "w", "iat": "{{ now() }}"}}}},
        "jwt-rs": {"authentication": {"type": "jwt", "config": {
            "private_key": "{{ get_secret('rsa_key') }}",
            "algorithm": "RS256",
            "claims": {"sub": "w", "iat": "{{ now() }}"}}}},
        "bearer": {"authentication": {"type": "oauth_jwt_bearer", "config": {
            "client_id": "confinement-bearer",
            "private_key": "{{ get_secret('ec_key') }}",
            "algorithm": "ES256", "token_url": tok.up.url("/token"),
            "subject": "svc", "audience": "https://login.example"}}},
        "mtls": {"widgetd": {"client_certificate": {
            "certificate": "{{ get_secret('mtls_cert') }}",
            "key": "{{ get_secret('mtls_key') }}"}}},
        "sigv4": {"widgetd": {"aws_sigv4": {
            "access_key_id": "AKIDCONFINEMENT",
            "secret_access_key": "{{ get_secret('aws_secret') }}",
            "region": "eu-west-1", "service": "execute-api"}}},
    }
    conns, steps = [], []
    for name, extra in types.items():
        url = tls.url("/encodings/" + name) if name == "mtls" else at(name)
        c = {"name": "auth " + name, "permalink": "auth-" + name,
             "url": url}
        c.update(extra)
        conns.append(c)
        s = {"name": name, "url": url}
        s.update(extra)
        steps.append(s)
    comps = [
        {"name": "every auth", "permalink": "comp-auth", "steps": steps},
        {"name": "a secret a step", "permalink": "comp-secrets", "steps": [
            {"name": "s1", "url": at("s1"), "headers": [
                {"key": "X-S1", "value": "{{ get_secret('step1') }}"}],
             "response_body": "{{ response.status_code }}"},
            {"name": "s2", "url": at("s2/{{ steps.s1.body }}"),
             "query_parameters": [
                 {"key": "sig",
                  "value": "{{ get_secret('step2') | urlencode }}"}]},
            {"name": "s3", "method": "POST", "url": at("s3"),
             "request_body": "{{ steps.s2.body | length }}",
             "authentication": {"type": "api_key", "config": {
                 "key": "X-S3", "value": "{{ get_secret('step3') }}"}}}]},
    ]
    return conns, comps


def derived_needles(up, tls, tok):
    """What the calls derived from secrets, as the upstreams and the
    token endpoint received it: tokens, assertions, JWTs, signatures,
    each with the whole header value it went in."""
    vals = set()
    for t in tok.issued:
        vals.update((t, "Bearer " + t))
    for f in tok.forms:
        vals.update(f.get("assertion", []))
    for r in up.seen("/encodings/") + tls.seen("/encodings/"):
        a = r.header("Authorization") or ""
        if a.startswith("Bearer ey"):
            vals.update((a, a[7:]))
        elif a.startswith("AWS4-HMAC-SHA256"):
            vals.update((a, a.rsplit("Signature=", 1)[1]))
    out = {}
    for i, v in enumerate(sorted(vals)):
        for what, f in forms(v).items():
            out["derived %d %s" % (i, what)] = f
    return out


def encodings_answer(req):
    """Every received header value and query value, in every encoding, in
    the body and in response headers."""
    vals = [v for _, v in req.header_list]
    vals += [v for _, v in urllib.parse.parse_qsl(req.query)]
    doc = []
    hdrs = {"Content-Type": "application/json"}
    for i, v in enumerate(vals):
        b = v.encode()
        enc = [v, base64.b64encode(b).decode(),
               base64.b64encode(b).decode().rstrip("="),
               base64.urlsafe_b64encode(b).decode(),
               base64.urlsafe_b64encode(b).decode().rstrip("="),
               b.hex(), b.hex().upper(), urllib.parse.quote(v, safe=""),
               urllib.parse.quote_plus(v)]
        doc.append(enc)
        hdrs["X-Enc-%d" % i] = [e for e in enc]
    return 200, hdrs, json.dumps({"got": doc,
                                  "echo": req.echo()}).encode()


def jwt_of(key):
    """The JWT the jwt connector sends, computed here independently."""
    def b64(x):
        return base64.urlsafe_b64encode(x).rstrip(b"=")
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"},
                          separators=(",", ":")).encode())
    body = b64(json.dumps({"sub": "widget", "iat": 1700000000},
                          separators=(",", ":")).encode())
    sig = hmac.new(key.encode(), head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + b64(sig)).decode()


def main():
    need_root()
    if pyjwt is None:
        print("SKIP: python3-jwt or python3-cryptography is missing")
        sys.exit(77)
    k1, k2 = canary_alnum(), canary_symbols()
    # One canary per authentication type and per composite step.
    plain = {n: canary_alnum() for n in ("oauth_secret", "hmac_key",
                                         "aws_secret", "step1", "step2",
                                         "step3")}
    keys = {"rsa_key": pem_of(rsa.generate_private_key(
        public_exponent=65537, key_size=2048)),
        "ec_key": pem_of(ec.generate_private_key(ec.SECP256R1()))}
    ca = TestCA()
    mtls_cert, keys["mtls_key"] = ca.client("widgetd-confinement")
    up = Upstream()
    up.route("/encodings", encodings_answer)
    tls = Upstream(tls=ca.server(require_client=True))
    tls.route("/encodings", encodings_answer)
    tok = TokenEndpoint()
    d = Daemon(workers=2, egress="""egress = { allow_http = true;
        allow_networks = [ "127.0.0.0/8", "::1/128" ]; timeout = 5;
        ca_file = "%s"; };""" % ca.cert)
    try:
        aconns, acomps = auth_connectors(up, tls, tok)
        d.connectors(*connectors(up), *aconns, composites=acomps)
        d.set_secret("k", k1)
        for name, v in list(plain.items()) + list(keys.items()):
            d.set_secret(name, v)
        d.set_secret("mtls_cert", mtls_cert)
        d.start()

        # The second canary arrives while the daemon runs, from widgetctl.
        r = d.widgetctl("secret", "set", "k2", stdin=k2.encode())
        check(r.returncode == 0, "widgetctl secret set k2 (exit %d: %s)" %
              (r.returncode, r.stderr.decode().strip()))
        check(k2.encode() not in r.stdout + r.stderr,
              "widgetctl does not print the value it set")

        responses = []
        calls = [("POST" if c["permalink"].startswith("all-") else "GET",
                  "connectors", c["permalink"])
                 for c in connectors(up) + aconns]
        calls += [("POST", "composite-connectors", c["permalink"])
                  for c in acomps]
        # Every connector and composite, several times, so every worker
        # serves some; a token lives an hour, so later rounds reuse it.
        for rnd in range(3):
            for meth, kind, p in calls:
                post = meth == "POST"
                st, hdrs, body = d.call(
                    meth, "/widget-service/%s/%s/execute?x=%d"
                    % (kind, p, rnd), body=b'{"a": 1}' if post else b"",
                    headers=["Content-Type: application/json"]
                    if post else [])
                responses.append((p, st, hdrs, body))
                if st != 200:
                    d.dump_log()
                    fail("%s answered %d: %r" % (p, st, body[:300]))
        check(all(st == 200 for _, st, _, _ in responses),
              "%d calls of %d secret-using connectors and composites "
              "answered 200" % (len(responses), len(calls)))

        # The calls really carried the secrets upstream (else absence
        # proves nothing): what the upstream saw, per connector.
        def saw(path, pred, what):
            reqs = up.seen(path)
            check(len(reqs) >= 6 and all(pred(q) for q in reqs),
                  "upstream saw %s (%d requests)" % (what, len(reqs)))

        def both(q, fn):
            return fn(q, k1) or fn(q, k2)

        saw("/echo/hdr", lambda q: q.header("X-Api-Key") in (k1, k2),
            "the api_key header")
        saw("/echo/qry", lambda q: dict(urllib.parse.parse_qsl(
            q.query)).get("api_key") in (k1, k2), "the api_key query value")
        saw("/echo/rows", lambda q: both(q, lambda q, k: (
            q.header("Authorization") == "Bearer " + k and
            q.header("X-Concat") == "pre-%s-mid-test-post" % k and
            q.header("X-Urlencoded") == urllib.parse.quote(k, safe="/") and
            q.header("X-Base64") == base64.b64encode(k.encode()).decode()
            and q.header("X-Basic") == "Basic " + base64.b64encode(
                ("user:" + k).encode()).decode())),
            "concatenated, urlencoded and base64 header rows")
        saw("/echo/jwt", lambda q: both(q, lambda q, k: q.header(
            "Authorization") == "Bearer " + jwt_of(k)),
            "a JWT signed with the secret (checked here with hmac)")
        saw("/echo/qrows", lambda q: both(q, lambda q, k: dict(
            urllib.parse.parse_qsl(q.query)) == {
                "sig": k, "enc": urllib.parse.quote(k, safe="/"),
                "b64": base64.b64encode(k.encode()).decode(),
                "plain": "visible", "x": q.query.rsplit("x=", 1)[1]}),
            "secret query rows")
        saw("/encodings", lambda q: q.header("X-Key") in (k1, k2) or
            q.path.startswith("/encodings/"), "the echo-every-encoding path")

        # Each authentication type really used its secret.
        def one(path, srv=up):
            return srv.seen("/encodings/" + path)
        check(len(one("oauth")) == 6 and len(tok.forms) >= 2 and
              all(f.get("client_secret") == [plain["oauth_secret"]]
                  for f in tok.forms if "client_secret" in f),
              "oauth: the token endpoint got the client secret; its "
              "tokens went upstream (%d tokens)" % len(tok.issued))
        for r in one("oauth"):
            check(r.header("Authorization")[7:] in tok.issued,
                  "oauth: an issued token upstream")
        check(all(pyjwt.decode(r.header("Authorization")[7:],
                               plain["hmac_key"], algorithms=["HS256"])
                  for r in one("jwt-hs")) and len(one("jwt-hs")) == 6,
              "jwt: HS256 signed with the HMAC canary (PyJWT)")
        rsa_pub = serialization.load_pem_private_key(
            keys["rsa_key"].encode(), None).public_key()
        check(all(pyjwt.decode(r.header("Authorization")[7:], rsa_pub,
                               algorithms=["RS256"])
                  for r in one("jwt-rs")) and len(one("jwt-rs")) == 6,
              "jwt: RS256 signed with the private key canary (PyJWT)")
        ec_pub = serialization.load_pem_private_key(
            keys["ec_key"].encode(), None).public_key()
        asserts = [f["assertion"][0] for f in tok.forms if "assertion" in f]
        check(len(asserts) >= 1 and all(pyjwt.decode(
            a, ec_pub, algorithms=["ES256"], audience="https://login.example")
            for a in asserts), "oauth_jwt_bearer: assertions signed with "
            "the EC key canary (PyJWT)")
        check(len(one("mtls", tls)) == 6 and all(
            r.peer_cn == "widgetd-confinement" for r in one("mtls", tls)),
            "client_certificate: the upstream verified the certificate")
        check(len(one("sigv4")) == 6 and all(
            r.header("Authorization").startswith(
                "AWS4-HMAC-SHA256 Credential=AKIDCONFINEMENT/")
            for r in one("sigv4")), "aws_sigv4: signed requests")
        check([r.header("X-S1") for r in one("s1")] == [plain["step1"]] * 3
              and [dict(urllib.parse.parse_qsl(r.query)).get("sig")
                   for r in up.seen("/encodings/s2/")] ==
              [plain["step2"]] * 3 and
              [r.header("X-S3") for r in one("s3")] == [plain["step3"]] * 3,
              "the composite's steps each sent their own secret")

        needles = {}
        for name, k in [("k", k1), ("k2", k2)] + list(plain.items()):
            for what, f in forms(k).items():
                needles["%s %s" % (name, what)] = f
        for name, pem in keys.items():
            for what, f in pem_forms(pem).items():
                needles["%s %s" % (name, what)] = f
        derived = derived_needles(up, tls, tok)
        check(len(derived) > 20, "%d forms of secret-derived values "
              "(tokens, assertions, JWTs, signatures)" % len(derived))
        needles.update(derived)

        # Memory.
        workers = d.children("worker")
        keepers = d.children("keeper")
        check(len(workers) == 2 and len(keepers) == 1,
              "two workers and a keeper to scan")
        targets = [(d.proc.pid, "parent")] + \
            [(p, "worker") for p in sorted(workers)]
        for pid, role in targets:
            found, total, nmaps, skipped = scan_memory(pid, needles)
            odd = [s for s in skipped if "sanitizer shadow" not in s and
                   not any(u in s for u in UNREADABLE_OK)]
            check(odd == [], "%s %d: every readable mapping read "
                  "(%d mappings, %.1f MiB%s)" %
                  (role, pid, nmaps, total / 1048576.0,
                   "" if not skipped else "; skipped: " +
                   ", ".join(skipped)))
            check(found == {}, "%s %d: no canary form in memory%s" %
                  (role, pid, "" if not found else ": " +
                   json.dumps(found)))
        # The scan works: the keeper holds both.
        held = {"k": k1.encode(), "k2": k2.encode()}
        held.update({n: v.encode() for n, v in plain.items()})
        held.update({n: v.encode() for n, v in keys.items()})
        for pid in keepers:
            found, total, nmaps, _ = scan_memory(pid, held)
            check(set(found) == set(held),
                  "keeper %d: every canary found by the same scan "
                  "(%d mappings, %.1f MiB; missing %s)" % (
                      pid, nmaps, total / 1048576.0,
                      sorted(set(held) - set(found))))
        # And the workers were the ones that served (their memory held
        # the upstream's redacted echo, not nothing).
        for pid in sorted(workers):
            found, _, _, _ = scan_memory(pid, {"mark": b"[REDACTED]",
                                               "echo": b"/echo/rows"})
            check("mark" in found,
                  "worker %d holds redacted answers it relayed" % pid)
        # Client responses: headers and bodies.
        leaks = []
        marks = 0
        for p, st, hdrs, body in responses:
            text = body + json.dumps(hdrs).encode()
            marks += body.count(b"[REDACTED]")
            for what, n in needles.items():
                if n in text:
                    leaks.append("%s in %s's response" % (what, p))
        check(leaks == [], "no canary form in %d responses (%d forms of "
              "canaries and derived values; %d [REDACTED] marks in bodies)" %
              (len(responses), len(needles), marks) +
              ("" if not leaks else ": " + "; ".join(leaks[:5])))
        check(marks >= len(responses),
              "every response shows the keeper redacted its echo")

        # Logs.
        log = d.logtext().encode()
        bad = [w for w, n in needles.items() if n in log]
        check(bad == [] and len(log.splitlines()) > 2 * len(responses),
              "no canary form in %d log lines%s" %
              (len(log.splitlines()), "" if not bad else ": " +
               ", ".join(bad)))

    finally:
        d.cleanup()
        up.close()
        tls.close()
        tok.up.close()


if __name__ == "__main__":
    main()
