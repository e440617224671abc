"""Test mode (SPEC 2 and 5, platform-docs 18; issue 13): widgetctl test and
POST /widget-service/admin/connectors/test on the control socket run a
saved connector or an unsaved Code Mode definition through the live
daemon and return the answer plus X-Debug-Request.  For every
authentication type (api_key in a header and in the query,
oauth_client_credentials, jwt, oauth_jwt_bearer, a client certificate,
AWS SigV4) the debug output shows each secret as its template literal and
what the keeper adds (tokens, signed JWTs, signatures) only as a
description: no secret value, token, assertion or signature appears
anywhere in widgetctl's output, --json or --verbose.  A definition is
validated first (errors with line:col and field path, as widgetctl check
prints them).  The browser-facing listener answers 404 for the admin
path."""

import atexit
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import TestCA, Upstream              # noqa: E402
from wdtest import Daemon, check, fail             # noqa: E402

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:
    print("SKIP: python3-cryptography is missing")
    sys.exit(77)

SECRETS = {
    "apikey": "sk-live-7f3a9c1e55d0b2aa",
    "csecret": "cs-0d9e8f7a6b5c4d3e",
    "hskey": "hs256-key-5a4b3c2d1e0f9a8b7c6d",
    "akid": "AKIDTESTMODE0001",
    "asecret": "aws-secret-9Z8Y7X6W5V4U3T2S1R0Q",
    "atoken": "aws-session-token-ABCDEF0123456789",
}
ca = TestCA()
api = Upstream()
tls = Upstream(tls=ca.server(require_client=True))
tok = Upstream()
issued = []
lock = threading.Lock()


def token_answer(req):
    with lock:
        t = "tok-%d-9f8e7d6c5b4a" % (len(issued) + 1)
        issued.append(t)
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"access_token": t, "expires_in": 3600}).encode()


tok.route("/token", token_answer)
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = rsa_key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()).decode()
cert_pem, key_pem = ca.client("widgetd-testmode")
SECRETS.update({"rsa": RSA_PEM, "ccert": cert_pem, "ckey": key_pem})

d = Daemon(workers=2, keepers=1, egress="""egress = { allow_http = true;
    allow_networks = [ "127.0.0.0/8" ]; timeout = 5; ca_file = "%s"; };""" %
           ca.cert)
lit = "{{ get_secret('%s') }}".__mod__


def run(*args, want_rc=None):
    r = d.widgetctl("test", *args)
    out = r.stdout.decode(errors="replace")
    err = r.stderr.decode(errors="replace")
    print("# widgetctl test %s: exit %d: %s | %s" % (
        " ".join(args), r.returncode, out[-200:].replace("\n", " "),
        err[-200:].replace("\n", " ")))
    if want_rc is not None and r.returncode != want_rc:
        fail("widgetctl test %s: exit %d, not %d\n%s\n%s" % (
            " ".join(args), r.returncode, want_rc, out, err))
    return r.returncode, out, err


def no_secret(text, what):
    """Nothing secret, nor anything the keeper derived, in text."""
    leaked = []
    for n, v in SECRETS.items():
        # A PEM also by a line of its body, escaped or not.
        probes = [v] + ([v.splitlines()[1]] if "\n" in v else [])
        if any(p in text for p in probes):
            leaked.append(n)
    with lock:
        toks = [t for t in issued if t in text]
    derived = []
    for r in api.requests + tls.requests:
        a = r.header("Authorization")
        if a and a.split()[-1] in text:
            derived.append(a[:30])
    check(not leaked and not toks and not derived,
          "%s: no secret, token or signature in the output (%s %s %s)" %
          (what, leaked, toks, derived))


def debug_of(permalink, *extra):
    rc, out, err = run(permalink, "--json", *extra)
    no_secret(out + err, permalink + " --json")
    rc2, vout, verr = run(permalink, "--verbose", *extra)
    no_secret(vout + verr, permalink + " --verbose")
    check("X-Debug-Request:" in vout, permalink + ": --verbose prints "
          "X-Debug-Request (%d %r %r)" % (rc2, vout[-300:], verr[-300:]))
    reply = json.loads(out)
    return rc, reply, reply.get("debug") or {}


try:
    for name, value in SECRETS.items():
        d.set_secret(name, value)
    d.connectors(
        {"name": "kh", "permalink": "key-header", "url": api.url("/kh"),
         "headers": [{"key": "X-Client", "value": "widgetd-{{ tenant_id }}"},
                     {"key": "X-Sig", "value": "v1:" + lit("apikey")},
                     {"key": "X-Trace", "value": "none",
                      "overridable": True}],
         "query_parameters": [{"key": "units", "value": "metric",
                               "overridable": True}],
         "authentication": {"type": "api_key", "config": {
             "key": "X-Api-Key", "value": lit("apikey"), "in": "header"}},
         "response_body": "{{ response.body }}",
         "response_content_type": "application/json"},
        {"name": "kq", "permalink": "key-query", "url": api.url("/kq"),
         "authentication": {"type": "api_key", "config": {
             "key": "api_key", "value": lit("apikey"), "in": "query"}}},
        {"name": "occ", "permalink": "occ", "url": api.url("/occ"),
         "authentication": {"type": "oauth_client_credentials", "config": {
             "client_id": "cid-1", "client_secret": lit("csecret"),
             "token_url": tok.url("/token"), "scope": "read write"}}},
        {"name": "jwt", "permalink": "jwt", "url": api.url("/jwt"),
         "authentication": {"type": "jwt", "config": {
             "private_key": lit("hskey"), "algorithm": "HS256",
             "claims": {"sub": "svc-{{ tenant_id }}", "n": 3}}}},
        {"name": "jb", "permalink": "jb", "url": api.url("/jb"),
         "authentication": {"type": "oauth_jwt_bearer", "config": {
             "client_id": "cid-2", "private_key": lit("rsa"),
             "token_url": tok.url("/token"), "subject": "svc@example",
             "audience": "https://login.example"}}},
        {"name": "mtls", "permalink": "mtls", "url": tls.url("/m"),
         "widgetd": {"client_certificate": {
             "certificate": lit("ccert"), "key": lit("ckey")}}},
        {"name": "sig", "permalink": "sig", "method": "POST",
         "url": api.url("/sig"),
         "widgetd": {"aws_sigv4": {
             "access_key_id": lit("akid"),
             "secret_access_key": lit("asecret"),
             "session_token": lit("atoken"),
             "region": "eu-west-1", "service": "execute-api"}}},
        {"name": "pp", "permalink": "pp", "url": api.url(
            "/pp/{{ pathParams.id }}"), "path_parameters": [{"key": "id"}]})
    d.start()

    # --- api_key in a header, with the options of SPEC 2 -----------------
    rc, reply, dbg = debug_of("key-header", "--query", "units=imperial",
                              "--query", "q=a b", "--header",
                              "X-Trace=from-test")
    check(rc == 0 and reply["ok"] and reply["status"] == 200,
          "key-header: ran, 200")
    seen = api.seen("/kh")[-1]
    check(seen.header("X-Api-Key") == SECRETS["apikey"] and
          seen.header("X-Trace") == "from-test" and
          urllib.parse.parse_qsl(seen.query) == [("units", "imperial"),
                                                 ("q", "a b")],
          "the upstream got the real key, the header and the query")
    check(dbg["url"] == api.url("/kh") and dbg["method"] == "GET",
          "debug: url and method resolved")
    check(dbg["headers"]["X-Api-Key"] == lit("apikey") and
          dbg["headers"]["X-Sig"] == "v1:" + lit("apikey") and
          dbg["headers"]["X-Client"] == "widgetd-test" and
          dbg["headers"]["X-Trace"] == "from-test",
          "debug headers: secret parts as their literal, the rest "
          "resolved (%r)" % dbg["headers"])
    check(dbg["query_parameters"] == {"units": "imperial", "q": "a b"},
          "debug query_parameters resolved")
    check(dbg["authentication"] == {"type": "api_key", "in": "header",
                                    "key": "X-Api-Key",
                                    "value": lit("apikey")},
          "debug authentication: %r" % dbg["authentication"])
    check(dbg["request_body"] is None and
          dbg["response_body"] == "{{ response.body }}" and
          dbg["response_content_type"] == "application/json",
          "debug: request_body null, the response template as written, "
          "the content type override")
    body = json.loads(reply["body"])
    hdr_echo = dict(body["headers"])
    check(hdr_echo["X-Api-Key"] == "[REDACTED]",
          "the upstream's echo of the key is redacted in the answer")
    check(any(h[0] == "X-Request-ID" for h in reply["headers"]) and
          any(h[0] == "X-Connector-Timing" for h in reply["headers"]),
          "the answer keeps widgetd's headers")

    # Plain output: status line, then the body.
    rc, out, _ = run("key-header", want_rc=0)
    check(out.startswith("200 OK\n") and '"[REDACTED]"' in out,
          "plain output: the status, then the body")
    no_secret(out, "plain output")

    # --- every other authentication type --------------------------------
    rc, reply, dbg = debug_of("key-query")
    check(rc == 0 and api.seen("/kq")[-1].query == "api_key=" +
          SECRETS["apikey"], "key-query: the upstream got the key")
    check(dbg["query_parameters"] == {"api_key": lit("apikey")} and
          dbg["authentication"] == {"type": "api_key", "in": "query",
                                    "key": "api_key",
                                    "value": lit("apikey")},
          "key-query: debug shows the literal (%r)" % dbg)

    rc, reply, dbg = debug_of("occ")
    a = dbg["authentication"]
    check(rc == 0 and api.seen("/occ")[-1].header("Authorization") ==
          "Bearer " + issued[-1], "occ: a token was fetched and used")
    check(a == {"type": "oauth_client_credentials", "client_id": "cid-1",
                "client_secret": lit("csecret"),
                "token_url": tok.url("/token"), "scope": "read write"},
          "occ: debug authentication (%r)" % a)
    check("access token from %s" % tok.url("/token") in
          dbg["headers"]["Authorization"],
          "occ: the Authorization header is described, not shown")

    rc, reply, dbg = debug_of("jwt")
    a = dbg["authentication"]
    check(rc == 0 and api.seen("/jwt")[-1].header(
        "Authorization").startswith("Bearer ey"), "jwt: a signed JWT went")
    check(a["type"] == "jwt" and a["private_key"] == lit("hskey") and
          a["algorithm"] == "HS256" and a["claims"] ==
          {"sub": "svc-test", "n": 3}, "jwt: debug authentication (%r)" % a)
    check(dbg["headers"]["Authorization"] == "Bearer <JWT (HS256) signed "
          "by the keeper with %s>" % lit("hskey"),
          "jwt: the token is described by its key's literal")

    rc, reply, dbg = debug_of("jb")
    a = dbg["authentication"]
    check(rc == 0 and api.seen("/jb")[-1].header("Authorization") ==
          "Bearer " + issued[-1], "oauth_jwt_bearer: token fetched, used")
    check(a["type"] == "oauth_jwt_bearer" and a["private_key"] ==
          lit("rsa") and a["subject"] == "svc@example" and
          a["audience"] == "https://login.example" and
          a["client_id"] == "cid-2" and a["algorithm"] == "RS256",
          "oauth_jwt_bearer: debug authentication (%r)" % a)
    check("fetched and cached by the keeper" in
          dbg["headers"]["Authorization"], "oauth_jwt_bearer: described")
    assertion = urllib.parse.parse_qs(tok.seen("/token")[-1].body.decode())[
        "assertion"][0]
    check(assertion.split(".")[2] not in json.dumps(reply),
          "oauth_jwt_bearer: the signed assertion is nowhere in the output")

    rc, reply, dbg = debug_of("mtls")
    a = dbg["authentication"]
    check(rc == 0 and tls.seen("/m")[-1].peer_cn == "widgetd-testmode",
          "mTLS: the certificate reached the upstream")
    check(a == {"type": "none", "client_certificate": lit("ccert"),
                "client_certificate_key": lit("ckey")},
          "mTLS: debug shows the literals (%r)" % a)

    rc, reply, dbg = debug_of("sig", "--payload", '{"k": [1, "v"]}')
    a = dbg["authentication"]
    seen = api.seen("/sig")[-1]
    check(rc == 0 and seen.header("Authorization").startswith(
        "AWS4-HMAC-SHA256 Credential=" + SECRETS["akid"]) and
        json.loads(seen.body) == {"k": [1, "v"]},
        "sigv4: signed request and the payload went")
    check(a["aws_access_key_id"] == lit("akid") and
          a["aws_secret_access_key"] == lit("asecret") and
          a["aws_session_token"] == lit("atoken") and
          a["aws_region"] == "eu-west-1" and
          a["aws_service"] == "execute-api",
          "sigv4: debug authentication (%r)" % a)
    h = dbg["headers"]
    check(h["X-Amz-Security-Token"] == lit("atoken") and
          lit("asecret") in h["Authorization"] and
          h["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=" +
                                        lit("akid")),
          "sigv4: the signature is described (%r)" % h["Authorization"])
    check(json.loads(dbg["request_body"]) == {"k": [1, "v"]},
          "sigv4: the request body is shown")

    # --- an unsaved definition -------------------------------------------
    tmp = tempfile.mkdtemp(prefix="widgetd-tm.")
    atexit.register(shutil.rmtree, tmp, True)
    good = os.path.join(tmp, "draft.json")
    with open(good, "w") as f:
        json.dump({"name": "Draft", "permalink": "draft", "method": "POST",
                   "url": api.url("/draft/{{ pathParams.id }}"),
                   "path_parameters": [{"key": "id"}],
                   "headers": [{"key": "X-Key", "value": lit("apikey")}],
                   "request_body": '{"wrapped": {{ body_text }}}'}, f)
    with open(os.path.join(tmp, "p.json"), "w") as f:
        f.write('{"a": "b"}')
    rc, out, err = run(good, "--json", "--path-param", "id=7",
                       "--payload", "@" + os.path.join(tmp, "p.json"))
    no_secret(out + err, "definition")
    reply = json.loads(out)
    seen = api.seen("/draft/")
    check(rc == 0 and reply["status"] == 200 and len(seen) == 1 and
          seen[0].path == "/draft/7" and seen[0].header("X-Key") ==
          SECRETS["apikey"] and json.loads(seen[0].body) ==
          {"wrapped": {"a": "b"}}, "an unsaved definition runs, with its "
          "secret, through the keeper (%s)" % err)
    dbg = reply["debug"]
    check(dbg["headers"]["X-Key"] == lit("apikey") and
          json.loads(dbg["request_body"]) == {"wrapped": {"a": "b"}} and
          dbg["url"] == api.url("/draft/7"),
          "its debug: literal secret, resolved body and URL")
    rc, out, _ = run("draft", want_rc=1)
    check("404" in out, "it was not saved: the permalink is unknown")

    # Validated first: errors as widgetctl check prints them.
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        f.write('{\n  "name": "Bad",\n  "permalink": "bad",\n'
                '  "method": "FETCH",\n  "url": "%s",\n'
                '  "headers": [{"key": "X", "value": "{{ nope( }}"}]\n}\n'
                % api.url("/bad"))
    n = len(api.requests)
    rc, out, err = run(bad, want_rc=1)
    chk = d.widgetctl("check", bad)
    lines = [x for x in chk.stdout.decode().splitlines() +
             chk.stderr.decode().splitlines() if x.startswith(bad + ":")]
    check(len(lines) >= 2 and all(x in err for x in lines),
          "an invalid definition: every error of widgetctl check, "
          "line:col and field path (%r; widgetctl test said %r)"
          % (lines, err))
    check(any(":4:" in x and "method" in x for x in lines) and
          any("headers[0].value" in x for x in lines),
          "the lines name line:col and the field path")
    check(len(api.requests) == n, "nothing was sent for it")
    trailing = os.path.join(tmp, "trailing.json")
    with open(trailing, "w") as f:
        f.write('{"name": "T", "permalink": "t", "url": "%s",}\n' %
                api.url("/t"))
    rc, out, err = run(trailing, want_rc=1)
    check(trailing + ":1:" in err, "a JSON syntax error with line:col")

    # --- errors still carry what is known --------------------------------
    rc, reply, dbg = debug_of("pp")
    check(rc == 1 and reply["status"] == 400 and
          "MISSING_PATH_PARAMETERS" in reply["body"] and
          dbg["url"] is None and dbg["method"] == "GET",
          "a refused request: the envelope, X-Debug-Request without a URL")
    rc, out, _ = run("nope", "--json", want_rc=1)
    check(json.loads(out)["status"] == 404, "an unknown permalink: 404")
    rc, out, err = run("key-header", "-t", "other", want_rc=1)
    check("no such tenant" in err, "an unknown tenant is refused (%r)" % err)
    rc, out, err = run("key-header", "--query", "novalue", want_rc=2)
    check("NAME=VALUE" in err, "--query needs k=v")

    # --- the control socket's HTTP form ----------------------------------
    def ctl_http(raw):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(os.path.join(d.rundir, "control.sock"))
        s.sendall(raw)
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdrs = {k.lower(): v for k, v in (x.split(": ", 1)
                                          for x in lines[1:])}
        return int(lines[0].split()[1]), hdrs, body

    req = json.dumps({"permalink": "key-query",
                      "query": {"x": "1"}}).encode()
    st, h, body = ctl_http(b"POST /widget-service/admin/connectors/test "
                           b"HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           b"application/json\r\nContent-Length: %d\r\n"
                           b"\r\n%s" % (len(req), req))
    dbg = json.loads(h.get("x-debug-request", "{}"))
    check(st == 200 and dbg.get("query_parameters") ==
          {"x": "1", "api_key": lit("apikey")} and
          int(h["content-length"]) == len(body) and b"[REDACTED]" in body,
          "POST /widget-service/admin/connectors/test on the control "
          "socket: the answer and X-Debug-Request (%d %r)" % (st, body[:300]))
    no_secret(json.dumps(h) + body.decode(), "HTTP form")
    st, h, _ = ctl_http(b"GET /widget-service/admin/connectors/test "
                        b"HTTP/1.1\r\nHost: x\r\n\r\n")
    check(st == 405, "GET on it: 405")
    st, h, _ = ctl_http(b"POST /widget-service/admin/other HTTP/1.1\r\n"
                        b"Content-Length: 2\r\n\r\n{}")
    check(st == 404, "another path on the control socket: 404")
    st, h, body = ctl_http(b"POST /widget-service/admin/connectors/test "
                           b"HTTP/1.1\r\nContent-Length: 3\r\n\r\n[1]")
    check(st == 400 and b"JSON object" in body, "a body that is not an "
          "object: 400")
    st, h, body = ctl_http(b"POST /widget-service/admin/connectors/test "
                           b"HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                           b"\r\n0\r\n\r\n")
    check(st == 411, "chunked: 411")
    # The JSON lines still work on the same socket.
    rc = d.widgetctl("status")
    check(rc.returncode == 0, "widgetctl status still works")

    # --- never on the browser-facing listener ----------------------------
    n = len(api.requests)
    for m in ("POST", "GET", "OPTIONS"):
        st, _, _ = d.call(m, "/widget-service/admin/connectors/test",
                          headers=["Content-Type: application/json"],
                          body=b'{"permalink": "key-header"}'
                          if m == "POST" else b"")
        check(st == 404, "%s on the browser listener: 404" % m)
    check(len(api.requests) == n, "and nothing ran")
    check(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
    api.close()
    tls.close()
    tok.close()
