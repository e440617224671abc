"""Composite connectors stop at the first failure (issue 12, platform-docs
17 and 20): a step's 4xx or 5xx is 502 "Composite step '<name>' (index
N): Downstream (HTTP error)", a network error or the step's window
running out 502 "...: Downstream (network/external service)", a
template error 422 "...: Configuration (template rendering)", a
response template error 422 "...: Configuration (response template
rendering)", a signing error 422 "...: Authentication (JWT signing)", a
token endpoint that fails 502 "...: Authentication (token endpoint
...)".  Every time: the steps before ran once, in order, the failing one
at most once, no later step ever; the answer holds nothing of any
step's answer.  The window is each step's own: steps that together take
longer than it succeed.  A composite without steps never loads."""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Daemon, check                          # noqa: E402
from upstream import Upstream                             # noqa: E402
from apiutil import access_is, envelope                   # noqa: E402
from compositeutil import call, timing                    # noqa: E402

WINDOW = 2          # egress.timeout of this daemon, seconds
MARK = "m4rk-0f-st3p"
up = Upstream()


def answer(status, delay=0.0, body=None):
    def fn(req):
        time.sleep(delay)
        return status, {"Content-Type": "application/json"}, \
            body if body is not None else json.dumps(
                {"mark": MARK, "path": req.path}).encode()
    return fn


up.route("/ok", answer(200))
up.route("/html", answer(200, body=b"<html>" + MARK.encode() + b"</html>"))
up.route("/404", answer(404))
up.route("/500", answer(500))
up.route("/429", answer(429))
up.route("/slow", answer(200, delay=WINDOW * 3))
up.route("/steady", answer(200, delay=WINDOW * 0.6))
tok = Upstream()
tok.route("/token", answer(503, body=b'{"error": "down"}'))

# A port nobody listens on: connection refused.
s = socket.socket()
s.bind(("127.0.0.1", 0))
DEAD = s.getsockname()[1]
s.close()


def step(name, p, **kw):
    d = {"name": name, "url": up.url(p)}
    d.update(kw)
    return d


def three(permalink, middle):
    """ok -> middle -> ok: what ran, and what never did."""
    return {"name": permalink, "permalink": permalink, "steps": [
        step("first", "/ok?n=1"), middle, step("last", "/ok?n=3")]}


COMPOSITES = [
    {"name": "c404", "permalink": "at-first", "steps": [
        step("first", "/404"), step("second", "/ok?n=2")]},
    three("http-500", step("middle", "/500")),
    three("http-429", step("middle", "/429")),
    three("refused", {"name": "down",
                      "url": "http://127.0.0.1:%d/nobody" % DEAD}),
    three("window", step("slow", "/slow")),
    {"name": "steady", "permalink": "steady", "steps": [
        step("one", "/steady?n=1"), step("two", "/steady?n=2"),
        step("three", "/steady?n=3")]},
    # steps.first.body is not JSON: from_json fails in step 1's URL.
    {"name": "tmpl", "permalink": "tmpl", "steps": [
        step("first", "/html"),
        {"name": "second",
         "url": up.url("/ok/{{ (steps.first.body | from_json).id }}")},
        step("last", "/ok?n=3")]},
    # Attribute of a step that does not exist: Jinja2 raises.
    {"name": "tmpl0", "permalink": "tmpl-header", "steps": [
        step("first", "/ok", headers=[{"key": "X-A",
                                       "value": "{{ steps.none.body }}"}]),
        step("second", "/ok")]},
    three("resp", step("middle", "/html",
                       response_body="{{ (response.body | from_json).x }}")),
    three("sign", step("middle", "/ok", authentication={
        "type": "jwt", "config": {"private_key": "{{ get_secret('bad') }}",
                                  "algorithm": "RS256",
                                  "claims": {"sub": "x"}}})),
    three("sign-encode", step("middle", "/ok", headers=[{
        "key": "Authorization", "value": "Bearer {{ jwt_encode({'a': 1}, "
        "get_secret('bad'), 'ES256') }}"}])),
    three("token", step("middle", "/ok", authentication={
        "type": "oauth_client_credentials", "config": {
            "client_id": "c", "client_secret": "{{ get_secret('cs') }}",
            "token_url": tok.url("/token")}})),
]

d = Daemon(workers=2, egress="""egress = { allow_http = true;
    allow_networks = [ "127.0.0.0/8" ]; timeout = %d; };""" % WINDOW)
try:
    d.set_secret("bad", "-----BEGIN PRIVATE KEY-----\nnot a key\n"
                 "-----END PRIVATE KEY-----\n")
    d.set_secret("cs", "client-secret")
    d.connectors(composites=COMPOSITES)
    d.start()

    def failing(permalink, status, scope, ran, what, detail=None,
                statuses=None, timeout=False, code=None):
        """The composite fails with status and scope after exactly the
        steps in ran (the paths the upstream saw, in order)."""
        up.reset()
        t0 = time.monotonic()
        st, h, body = call(d, permalink, b"{}")
        took = time.monotonic() - t0
        check(st == status, "%s: HTTP %d (%d %r)" % (what, status, st,
                                                     body[:300]))
        envelope(body, status, code, what, scope=scope, detail=detail)
        seen = [r.target for r in up.seen()]
        check(seen == ran, "%s: the upstream saw %r, in order, and no "
              "later step (%r)" % (what, ran, seen))
        check(MARK.encode() not in body and b"path" not in body,
              "%s: nothing of any step's answer in the envelope" % what)
        rid = h["x-request-id"]
        access_is(d, rid, what, "test", permalink, status,
                  upstream=str(statuses[-1]) if statuses and
                  statuses[-1] else "-", error=scope)
        return h, took

    def scope(name, index, what):
        return "Composite step '%s' (index %d): %s" % (name, index, what)

    # --- an upstream's 4xx or 5xx ---------------------------------------
    h, _ = failing("at-first", 502, scope("first", 0, "Downstream (HTTP "
                   "error)"), ["/404"], "step 0 answers 404",
                   detail="404", statuses=[404])
    timing(h, ["first"], "step 0 answers 404", statuses=[404],
           host="127.0.0.1")
    h, _ = failing("http-500", 502, scope("middle", 1, "Downstream (HTTP "
                   "error)"), ["/ok?n=1", "/500"], "step 1 answers 500",
                   detail="500", statuses=[200, 500])
    timing(h, ["first", "middle"], "step 1 answers 500",
           statuses=[200, 500])
    failing("http-429", 502, scope("middle", 1, "Downstream (HTTP error)"),
            ["/ok?n=1", "/429"], "step 1 answers 429", statuses=[200, 429])

    # --- the network ----------------------------------------------------
    h, _ = failing("refused", 502, scope("down", 1, "Downstream "
                   "(network/external service)"), ["/ok?n=1"],
                   "step 1 cannot connect", statuses=[200, None])
    ct = timing(h, ["first", "down"], "step 1 cannot connect",
                statuses=[200, None], host="127.0.0.1")
    check("Connection refused" in ct.get("error", ""),
          "X-Connector-Timing error says why (%r)" % ct.get("error"))
    h, took = failing("window", 502, scope("slow", 1, "Downstream "
                      "(network/external service)"), ["/ok?n=1", "/slow"],
                      "step 1 outlasts its window", statuses=[200, None],
                      detail=r"no complete answer .* within \d+ ms")
    ct = timing(h, ["first", "slow"], "step 1 outlasts its window",
                statuses=[200, None], timeout=True)
    check(took >= WINDOW and took < WINDOW * 3,
          "the window ran out after %d s, not the upstream's %d (%.1f)" %
          (WINDOW, WINDOW * 3, took))
    check(ct["steps"][1]["external_ms"] >= WINDOW * 1000 - 50,
          "the slow step's external time is its window (%r)" %
          ct["steps"][1]["external_ms"])
    # Three steps of 0.6 windows each: 1.8 windows in all, each within
    # its own.
    up.reset()
    t0 = time.monotonic()
    st, h, body = call(d, "steady", b"{}")
    took = time.monotonic() - t0
    check(st == 200 and took >= WINDOW * 1.8 and
          [r.target for r in up.seen()] == ["/steady?n=1", "/steady?n=2",
                                            "/steady?n=3"],
          "the window is per step: three steps taking %.1f s in all, "
          "over the %d s window, succeed (%d)" % (took, WINDOW, st))

    # --- templates and signing ------------------------------------------
    failing("tmpl", 422, scope("second", 1, "Configuration (template "
            "rendering)"), ["/html"], "step 1's URL cannot render "
            "steps.first.body", detail="url: ", statuses=[200, None],
            code="UNPROCESSABLE")
    failing("tmpl-header", 422, scope("first", 0, "Configuration (template "
            "rendering)"), [], "step 0's header names a step that is not "
            "there", detail="header 'X-A'", code="UNPROCESSABLE")
    failing("resp", 422, scope("middle", 1, "Configuration (response "
            "template rendering)"), ["/ok?n=1", "/html"], "step 1's "
            "response template fails", detail="response_body: ",
            statuses=[200, 200], code="UNPROCESSABLE")
    failing("sign", 422, scope("middle", 1, "Authentication (JWT signing)"),
            ["/ok?n=1"], "step 1's JWT cannot be signed",
            statuses=[200, None], code="UNPROCESSABLE")
    failing("sign-encode", 422, scope("middle", 1, "Authentication (JWT "
            "signing)"), ["/ok?n=1"], "step 1's jwt_encode() cannot sign",
            statuses=[200, None], code="UNPROCESSABLE")
    failing("token", 502, scope("middle", 1, "Authentication (token "
            "endpoint %s)" % tok.url("/token")), ["/ok?n=1"],
            "step 1's token endpoint answers 503", detail="503",
            statuses=[200, None])

    # --- the counters ---------------------------------------------------
    r = d.widgetctl("status", "--json")
    rows = {c["permalink"]: c for c in json.loads(r.stdout)["connectors"]
            if c["kind"] == "composite"}
    check(rows["http-500"]["upstream_errors"] == 1 and
          rows["refused"]["upstream_errors"] == 1 and
          rows["window"]["upstream_errors"] == 1 and
          rows["tmpl"]["upstream_errors"] == 0 and
          rows["steady"]["errors"] == 0 and
          rows["http-500"]["status"] == {"502": 1},
          "counters: a step's HTTP or network error is an upstream error, "
          "a template error is not (%r)" % {k: (v["upstream_errors"],
                                               v["status"])
                                            for k, v in rows.items()})
    check(d.stop() == 0, "clean stop")

    # --- a composite without steps never loads --------------------------
    d.connectors(composites=[{"name": "empty", "permalink": "empty",
                              "steps": []}])
    r = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True)
    out = (r.stdout + r.stderr).decode()
    check(r.returncode != 0 and "composite_connectors[0].steps" in out and
          "at least one step" in out,
          "widgetd -n refuses a composite without steps (%d: %s)" %
          (r.returncode, out.strip()))
    r = d.widgetctl("check", d.registry)
    check(r.returncode == 1 and b"[steps]" in r.stdout + r.stderr,
          "widgetctl check: class steps (%r)" % (r.stdout + r.stderr))
finally:
    d.cleanup()
    up.close()
    tok.close()
