"""OAuth client credentials and JWT bearer, end to end (issue 10): the
token request the keeper makes, the cache (one request per key however
many calls wait, expiry, refresh ahead, a failing endpoint while a token is
still valid), the 401 purge-and-retry-once, isolation by scope and by
subject, and malformed token responses."""

import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream
from wdtest import TEST_EGRESS, Daemon, check, envelope, wait_for

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:
    print("SKIP: python3-jwt or python3-cryptography is missing")
    sys.exit(77)

SECRET = "s3cr+t/with=odd&chars é"
api = Upstream()
tok = Upstream()
issued = []         # (form, token) per token request
lock = threading.Lock()
behaviour = {"expires_in": 3600, "fail": None, "delay": 0}


def token_answer(req):
    form = urllib.parse.parse_qs(req.body.decode(), keep_blank_values=True)
    if behaviour["delay"]:
        time.sleep(behaviour["delay"])
    if behaviour["fail"] is not None:
        return behaviour["fail"]
    with lock:
        n = len(issued) + 1
        t = "tok-%d-%s" % (n, form.get("scope", ["-"])[0])
        issued.append((form, t))
    doc = {"access_token": t, "token_type": "Bearer"}
    if behaviour["expires_in"] is not None:
        doc["expires_in"] = behaviour["expires_in"]
    return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()


tok.route("/token", token_answer)
refuse = {"tokens": set()}


def api_answer(req):
    auth = req.header("Authorization") or ""
    if auth[len("Bearer "):] in refuse["tokens"]:
        return 401, {"Content-Type": "application/json"}, b'{"error":"no"}'
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"auth": auth}).encode()


api.route("/v1/", api_answer)


def last_auth():
    """What the upstream received (its echo back is redacted)."""
    return api.requests[-1].header("Authorization")


def cc(permalink, scope="read", token_path="/token"):
    return {"name": permalink, "permalink": permalink,
            "url": api.url("/v1/" + permalink),
            "authentication": {"type": "oauth_client_credentials", "config": {
                "client_id": "{{ get_secret('cid') }}",
                "client_secret": "{{ get_secret('csec') }}",
                "token_url": tok.url(token_path), "scope": scope}}}


# 200 concurrent calls through one threaded Python upstream take longer
# than the 5 s test window on a loaded machine under ASan: this test is
# about tokens, not the window.
d = Daemon(workers=2, keepers=1,
           egress=TEST_EGRESS.replace("timeout = 5", "timeout = 60"))
try:
    d.set_secret("cid", "client-id-1")
    d.set_secret("csec", SECRET)
    d.connectors(cc("read"), cc("write", scope="write"),
                 cc("other-read", scope="read"))
    d.start()

    # A first call: one token request, form-encoded, the token injected.
    st, _, body = d.call("GET", "/widget-service/connectors/read/execute")
    check(st == 200, "client credentials: 200 (%d %r)" % (st, body))
    check(len(issued) == 1, "one token request")
    form = issued[0][0]
    check(form.get("grant_type") == ["client_credentials"],
          "grant_type=client_credentials")
    check(form.get("client_id") == ["client-id-1"], "client_id")
    check(form.get("client_secret") == [SECRET],
          "client_secret encoded and decoded exactly (+ / = & space é)")
    check(form.get("scope") == ["read"], "scope")
    seen = tok.seen("/token")[0]
    check(seen.header("Content-Type") ==
          "application/x-www-form-urlencoded", "form content type")
    check("Authorization" not in seen.headers, "credentials in the body")
    check(last_auth() == "Bearer " + issued[0][1],
          "Authorization: Bearer <token> upstream")
    check(json.loads(body)["auth"] == "Bearer [REDACTED]",
          "the token echoed back is redacted")

    # Cached: no new request.
    for _ in range(3):
        d.call("GET", "/widget-service/connectors/read/execute")
    check(len(issued) == 1, "the token is reused")
    # Same credentials, same scope, another connector: the same token.
    st, _, body = d.call("GET",
                         "/widget-service/connectors/other-read/execute")
    check(last_auth() == "Bearer " + issued[0][1] and
          len(issued) == 1, "identical credentials share one token")
    # Another scope never shares it.
    st, _, body = d.call("GET", "/widget-service/connectors/write/execute")
    check(len(issued) == 2 and issued[1][0]["scope"] == ["write"] and
          last_auth().endswith(issued[1][1]),
          "another scope: its own token")

    # 401 on a cached token: purged, fetched again, the call made once more.
    refuse["tokens"].add(issued[0][1])
    st, _, body = d.call("GET", "/widget-service/connectors/read/execute")
    check(st == 200 and len(issued) == 3 and
          last_auth().endswith(issued[2][1]),
          "401: a new token and one retry (%d, %d tokens)" % (st, len(issued)))
    # A second 401 goes back to the caller: no loop.
    refuse["tokens"].add(issued[2][1])
    behaviour["fail"] = None
    before = len(issued)

    def refuse_all(req):
        return 401, {"Content-Type": "application/json"}, b'{"error":"x"}'
    api.route("/v1/read", refuse_all)
    st, _, _ = d.call("GET", "/widget-service/connectors/read/execute")
    check(st == 401, "a second 401 is passed through")
    check(len(issued) == before + 1, "one new token, no loop (%d)" %
          (len(issued) - before))
    api.route("/v1/read", api_answer)
    refuse["tokens"].clear()

    # 200 concurrent cold calls: exactly one token request.
    d.connectors(cc("read"), cc("write", scope="write"),
                 cc("cold", scope="cold"))
    check(d.widgetctl("reload").returncode == 0, "reload")
    before = len(issued)
    behaviour["delay"] = 0.5
    results = []

    def one():
        try:
            path = "/widget-service/connectors/cold/execute"
            results.append(d.call("GET", path)[0])
        except Exception as e:
            results.append(repr(e))
    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    behaviour["delay"] = 0
    check(results.count(200) == 200, "200 concurrent cold calls answered "
          "(%r)" % [r for r in results if r != 200][:3])
    check(len(issued) - before == 1, "exactly one token request for them "
          "(%d)" % (len(issued) - before))

    # Expiry: a token that lives 8 s is used for 4 (8/2, under 2 x 60),
    # refreshed ahead from 3 s (three quarters, whole seconds); never an
    # expired one.  (Seconds, not less: a loaded machine running the
    # sanitizers can take a few tenths of a second per call.)
    behaviour["expires_in"] = 8
    d.connectors(cc("read"), cc("short", scope="short"))
    check(d.widgetctl("reload").returncode == 0, "reload")
    before = len(issued)
    d.call("GET", "/widget-service/connectors/short/execute")
    first = issued[-1][1]
    time.sleep(3.2)
    st, _, body = d.call("GET", "/widget-service/connectors/short/execute")
    check(last_auth().endswith(first),
          "past three quarters of its life: still the old token")
    check(wait_for(lambda: len(issued) - before == 2, 5),
          "refreshed in the background")
    # The token request is answered before the keeper stores the token:
    # under the sanitizers the next call can still go out with the old
    # one, so ask until the new one is used (the old one is still valid).

    def new_token_used():
        d.call("GET", "/widget-service/connectors/short/execute")
        return last_auth().endswith(issued[-1][1])
    check(wait_for(new_token_used, 5), "then the new token")

    # The endpoint fails while a token is valid: the token is still used;
    # once nothing valid is left: the envelope, not a stale credential.
    behaviour["fail"] = (500, {}, b"oops")
    time.sleep(3.2)
    st, _, body = d.call("GET", "/widget-service/connectors/short/execute")
    check(st == 200, "endpoint down, token still valid: 200")
    time.sleep(5)
    st, _, body = d.call("GET", "/widget-service/connectors/short/execute")
    code, doc = envelope(body)
    check(st == 502 and doc["errors"]["scope"].startswith(
          "Authentication (token endpoint") and tok.url("/token") in
          doc["errors"]["scope"], "expired and no new one: 502 naming the "
          "token endpoint (%d %r)" % (st, doc["errors"]))
    behaviour["fail"] = None
    behaviour["expires_in"] = 3600

    # Malformed token responses: each a 502 with that scope, no crash.
    bad = {
        "no-token": (200, {"Content-Type": "application/json"},
                     b'{"token_type":"Bearer"}'),
        "html": (200, {"Content-Type": "text/html"}, b"<html>hi</html>"),
        "crlf": (200, {}, b'{"access_token":"a\\r\\nX-Evil: 1"}'),
        "expires": (200, {}, b'{"access_token":"tok-not-relayed",'
                    b'"expires_in":"soon"}'),
        "huge": (200, {}, b'{"access_token":"' + b"a" * 300000 + b'"}'),
        "status": (403, {}, b'{"error":"denied"}'),
    }
    for name, answer in bad.items():
        tok.route("/bad-" + name, lambda req, a=answer: a)
    d.connectors(*[cc("bad-" + n, token_path="/bad-" + n) for n in bad])
    check(d.widgetctl("reload").returncode == 0, "reload")
    api.reset()
    for name in bad:
        path = "/widget-service/connectors/bad-%s/execute" % name
        st, _, body = d.call("GET", path)
        code, doc = envelope(body)
        check(st == 502 and "token endpoint" in doc["errors"]["scope"],
              "malformed token response (%s): 502 (%d %r)" %
              (name, st, doc["errors"].get("detail")))
        # Not a hex word: a request or trace id in the envelope may
        # contain one by chance.
        check(b"tok-not-relayed" not in body and b"<html>" not in body,
              "its body is not relayed (%s)" % name)
    check(api.seen() == [], "no upstream call without a token")
    check(b"tok-" not in d.logtext().encode() and
          "denied" not in d.logtext(), "token responses are never logged")
    check(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
    api.close()
    tok.close()
