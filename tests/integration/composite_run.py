"""Composite connectors run (issue 12, platform-docs 20): the route (POST
by permalink or numeric id, any other method 400, an unknown one 404, the
namespaces apart), the steps strictly in order (the mock's request log),
data flowing between them (steps.<name>.body after the step's own
response template, .status_code, .headers with lower-case names;
request.body_text, body_raw, headers with Content-Type alone,
query_parameters), the last step's answer with its
response_content_type, the user's context and refusals before any step,
the timing headers, the access log, the counters, and a reload between
two steps that neither fails the composite nor changes a step under it."""

import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check, wait_for   # noqa: E402
from upstream import Upstream, echo_answer                # noqa: E402
from apiutil import access_is, common, envelope           # noqa: E402
from compositeutil import call, path, timing              # noqa: E402
import sessions                                           # noqa: E402

if not sessions.available():
    print("SKIP: python3-jwt or python3-cryptography is missing")
    sys.exit(77)

up = Upstream()
HOST = "127.0.0.1"
slow = {"delay": 0.0}


def acct(req):
    time.sleep(slow["delay"])
    return 200, {"Content-Type": "application/json", "X-Trace": "t-1",
                 "X-Multi": ["a", "b"], "Set-Cookie": "s=1"}, json.dumps(
        {"id": 42, "tier": "gold", "q": req.query}).encode()


def created(req):
    status, hdrs, body = echo_answer(req)
    hdrs["Content-Type"] = "application/json; charset=utf-8"
    return 201, hdrs, body


up.route("/acct", acct)
up.route("/orders/", created)
up.route("/bin", lambda r: (200, {"Content-Type": "application/octet-stream"},
                            b"\xff\xfe\x00\x01"))
up.route("/moved", lambda r: (302, {"Location": "http://elsewhere.example/"},
                              b"moved"))
up.route("/plain", lambda r: (203, {"Content-Type": "text/plain"},
                              b"plain text"))


def row(k, v, overridable=False):
    return {"key": k, "value": v, "overridable": overridable}


COMPOSITES = [
    {"name": "User Orders", "permalink": "user-orders", "id": 101, "steps": [
        {"name": "fetch-user", "url": up.url("/acct"),
         "query_parameters": [
             row("q", "{{ request.query_parameters.q }}"),
             row("fixed", "row-value", True)],
         "headers": [row("X-Tenant", "{{ tenant_id }}"),
                     row("X-Lang", "en", True),
                     row("X-Keep", "configured")],
         "response_body": "{{ (response.body | from_json).id }}"},
        {"name": "orders", "method": "POST",
         "url": up.url("/orders/{{ steps['fetch-user'].body }}"),
         "headers": [
             row("X-Prev-Status", "{{ steps['fetch-user'].status_code }}"),
             row("X-Prev-Trace",
                 "{{ steps['fetch-user'].headers['x-trace'] }}"),
             row("X-Prev-Multi",
                 "{{ steps['fetch-user'].headers['x-multi'] }}"),
             row("X-Region", "{{ get_variable('region') }}"),
             row("X-Caller-CT", "{{ request.headers['Content-Type'] }}|"
                 "{{ request.headers | length }}")],
         "request_body": "{{ {'payload': request.body_text | from_json, "
                         "'raw': request.body_raw | string, 'q': "
                         "request.query_parameters, 'user': "
                         "steps['fetch-user'].body} | tojson }}",
         "response_body": "{{ {'got': (response.body | from_json).body | "
                          "from_json, 'status': response.status_code, "
                          "'first': steps['fetch-user'].body} | tojson }}",
         "response_content_type": "application/vnd.orders+json"}]},
    # No templates at all: the last step's body and Content-Type as they
    # came, its status passed through; a binary step is None later on; a
    # 3xx is not an error (and not followed); a step with a POST method
    # and no template sends an empty body.
    {"name": "Raw", "permalink": "raw", "steps": [
        {"name": "bin", "url": up.url("/bin")},
        {"name": "moved", "url": up.url("/moved")},
        {"name": "empty", "method": "PUT", "url": up.url("/orders/e"),
         "headers": [row("X-Bin-None", "{{ steps.bin.body is none }}"),
                     row("X-Moved", "{{ steps.moved.status_code }} "
                         "{{ steps.moved.body }}"),
                     row("X-Missing", "[{{ steps.nope }}"
                         "{{ steps.moved.nothing }}]")]},
        {"name": "plain", "url": up.url("/plain")}]},
    # user.* in a step's header: anonymous callers are refused before
    # step 0; in the URL and the response template it is None for them.
    {"name": "Mine", "permalink": "mine", "steps": [
        {"name": "a", "url": up.url("/acct")},
        {"name": "b", "url": up.url("/orders/{{ user.id }}"),
         "headers": [row("X-Email", "{{ user.email }}")]}]},
    {"name": "Anyone", "permalink": "anyone", "steps": [
        {"name": "a", "url": up.url("/orders/{{ user.id }}"),
         "response_body": "{{ user.email }}|{{ tenant_id }}"}]},
    {"name": "Staff", "permalink": "staff",
     "widgetd": {"caller": {"claims": {"role": "staff"}}}, "steps": [
        {"name": "a", "url": up.url("/acct")}]},
    {"name": "Gen", "permalink": "gen", "steps": [
        {"name": "slow", "url": up.url("/acct"),
         "headers": [row("X-Gen", "one")]},
        {"name": "after", "url": up.url("/orders/gen"),
         "headers": [row("X-Gen", "one")]}]},
]
SIMPLE = [{"name": "Simple", "permalink": "simple", "url": up.url("/orders/s"),
           "method": "POST"}]

d = Daemon(workers=2, egress=TEST_EGRESS, tenants=[sessions.TENANT])
try:
    signer = sessions.Signer(d.dir)
    d.set_variable("region", "eu-north")
    d.connectors(*SIMPLE, composites=COMPOSITES)
    d.start()

    # --- two steps, in order, data flowing ------------------------------
    payload = b'{"want": ["x", 1], "note": "caf\xc3\xa9"}'
    st, h, body = call(d, "user-orders", payload, query="q=hello+world&q=2"
                       "&fixed=caller&extra=1",
                       headers=["Content-Type: application/json",
                                "X-Lang: pl", "X-Keep: caller",
                                "Accept: text/html"])
    check(st == 201, "two steps: the last step's status (%d %r)" %
          (st, body[:300]))
    check(h.get("content-type") == "application/vnd.orders+json",
          "the last step's response_content_type (%r)" %
          h.get("content-type"))
    seen = up.seen()
    check([r.path for r in seen] == ["/acct", "/orders/42"] and
          seen[0].time <= seen[1].time,
          "the upstream saw step 0, then step 1, once each (%r)" %
          [r.path for r in seen])
    first, second = seen
    check(urllib.parse.parse_qsl(first.query) == [("q", "hello world"),
                                                  ("fixed", "row-value")],
          "step 0's query: its rows only; request.query_parameters has a "
          "key's first value; the caller's query is not forwarded and an "
          "overridable query row keeps its value (%r)" % first.query)
    check(first.header("X-Tenant") == "test" and
          first.header("X-Lang") == "pl" and
          first.header("X-Keep") == "configured" and
          first.header("Accept") == "*/*",
          "step 0's headers: tenant_id, an overridable row takes the "
          "caller's value, a fixed one does not, the caller's Accept does "
          "not cross (%r)" % first.header_list)
    check(second.method == "POST" and second.header("X-Prev-Status") ==
          "200" and second.header("X-Prev-Trace") == "t-1" and
          second.header("X-Prev-Multi") == "a, b",
          "step 1 sees steps['fetch-user'].status_code and .headers "
          "(lower-case names, repeated ones joined)")
    check(second.header("X-Region") == "eu-north",
          "get_variable() in a step's header")
    check(second.header("X-Caller-CT") == "application/json|1",
          "request.headers holds Content-Type alone (%r)" %
          second.header("X-Caller-CT"))
    sent = json.loads(second.body)
    check(sent == {"payload": {"want": ["x", 1], "note": "caf\xe9"},
                   "raw": "b'" + payload.decode("latin-1").replace(
                       "\xc3\xa9", "\\xc3\\xa9") + "'",
                   "q": {"q": "hello world", "fixed": "caller",
                         "extra": "1"}, "user": "42"},
          "request.body_text, body_raw (a bytes literal), query_parameters "
          "and steps['fetch-user'].body (after its response template) "
          "reach step 1's body (%r)" % sent)
    check(second.header("Content-Type") == "application/json",
          "a step's body goes as JSON unless a row says otherwise")
    out = json.loads(body)
    check(out["status"] == 201 and out["first"] == "42" and
          out["got"] == sent,
          "step 1's response template sees response.* and steps.* (%r)" %
          out)
    check(b"gold" not in body, "nothing of step 0's raw answer is returned")
    ct = timing(h, ["fetch-user", "orders"], "two steps",
                statuses=[200, 201], host=HOST)
    a = access_is(d, h["x-request-id"], "two steps", "test", "user-orders",
                  201, upstream="201", method="POST")
    check(abs(float(a["external"]) - ct["external_ms"]) < 0.2,
          "the access log's external time is the steps' (%s, %s)" %
          (a["external"], ct["external_ms"]))

    # The numeric id names the same composite; other spellings do not.
    up.reset()
    st, h, body = call(d, "101", b'{}', query="q=x")
    check(st == 201 and len(up.seen()) == 2, "by numeric id 101 (%d)" % st)
    for key in ("0101", "102", "user-orders-x", "simple"):
        n = len(up.requests)
        st, h, body = call(d, key, b"{}")
        envelope(body, 404, "CONNECTOR_NOT_FOUND", "composite %r" % key)
        check(st == 404 and len(up.requests) == n,
              "composite %r: 404, nothing sent" % key)
    st, _, body = d.call("POST", "/widget-service/connectors/user-orders/"
                         "execute", body=b"{}")
    check(st == 404, "a composite is not a simple connector (404)")
    st, _, body = d.call("POST", path("user-orders") + "/x", body=b"{}")
    check(st == 404, "nothing past /execute")
    for method in ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        n = len(up.requests)
        st, h, body = d.call(method, path("user-orders"))
        if method != "HEAD":
            envelope(body, 400, "METHOD_NOT_ALLOWED", method)
        check(st == 400 and len(up.requests) == n,
              "%s: 400 METHOD_NOT_ALLOWED, nothing sent" % method)
        # Refused before any step: the headers of any refusal.
        common(h, method + " refused")

    # --- no templates: as it came ---------------------------------------
    up.reset()
    st, h, body = call(d, "raw", b'{"ignored": true}')
    check(st == 203 and body == b"plain text" and
          h.get("content-type") == "text/plain",
          "the last step's body, status and Content-Type as they came "
          "(%d %r %r)" % (st, body, h.get("content-type")))
    check([r.path for r in up.seen()] == ["/bin", "/moved", "/orders/e",
                                          "/plain"],
          "four steps in order; a 302 is not followed and does not stop "
          "the run")
    e = up.seen("/orders/e")[0]
    check(e.method == "PUT" and e.body == b"" and
          e.header("X-Bin-None") == "True" and
          e.header("X-Moved") == "302 moved" and e.header("X-Missing") == "[]",
          "a binary body is None, a 3xx's status and body are seen, a "
          "missing step renders blank, a blank request_body sends nothing "
          "(%r %r)" % (e.body, e.header_list))
    timing(h, ["bin", "moved", "empty", "plain"], "raw",
           statuses=[200, 302, 201, 203], host=HOST)

    # --- the user's context ---------------------------------------------
    up.reset()
    st, h, body = call(d, "mine", b"{}")
    envelope(body, 401, "AUTHENTICATION_REQUIRED", "anonymous, user.* in "
             "step 1's header")
    check(st == 401 and up.seen() == [],
          "refused before step 0: nothing sent (%d)" % st)
    st, h, body = call(d, "mine", b"{}", headers=signer.headers(
        sub="u-9", email="u9@example.com"))
    check(st == 201 and up.seen("/orders/u-9")[0].header("X-Email") ==
          "u9@example.com", "signed in: user.* in a step's URL and header")
    st, h, body = call(d, "anyone", b"{}")
    check(st == 201 and body == b"None|test" and
          up.seen("/orders/None") != [],
          "anonymous: user.* is None in a URL and a response template "
          "(%r)" % body)
    up.reset()
    st, h, body = call(d, "staff", b"{}", headers=signer.headers(role="x"))
    envelope(body, 403, "CALLER_NOT_ALLOWED", "caller rule")
    check(st == 403 and up.seen() == [], "the composite's caller rule: "
          "403 before step 0")
    st, h, body = call(d, "staff", b"{}", headers=signer.headers(
        role="staff"))
    check(st == 200, "the caller rule met: 200")

    # --- counters -------------------------------------------------------
    r = d.widgetctl("status", "--json")
    rows = {(c["permalink"], c["kind"]): c
            for c in json.loads(r.stdout)["connectors"]}
    uo = rows.get(("user-orders", "composite"))
    check(uo is not None and uo["calls"] == 2 + 6 and
          uo["status"] == {"201": 2, "400": 6} and uo["errors"] == 6,
          "widgetctl status: the composite's row, kind composite, its "
          "calls by status (%r)" % uo)
    check(("simple", "connector") not in rows or
          rows[("simple", "connector")]["calls"] == 0,
          "a 404 on the composite route counts for no simple connector")

    # --- a reload between two steps -------------------------------------
    up.reset()
    slow["delay"] = 1.5
    result = {}

    def run():
        result["r"] = call(d, "gen", b"{}")
    t = threading.Thread(target=run)
    t.start()
    check(wait_for(lambda: up.seen("/acct"), 10), "step 0 is at the upstream")
    changed = [dict(c) for c in COMPOSITES]
    changed[-1] = json.loads(json.dumps(COMPOSITES[-1]).replace('"one"',
                                                                '"two"'))
    d.connectors(*SIMPLE, composites=changed)
    r = d.widgetctl("reload")
    check(r.returncode == 0, "reloaded while step 0 runs")
    t.join(30)
    slow["delay"] = 0.0
    st, h, body = result["r"]
    check(st == 201, "a reload between two steps fails nothing (%d %r)" %
          (st, body[:200]))
    gens = [r.header("X-Gen") for r in up.seen()]
    check(gens == ["one", "one"], "both steps ran with the generation the "
          "composite started on (%r)" % gens)
    st, h, body = call(d, "gen", b"{}")
    gens = [r.header("X-Gen") for r in up.seen()]
    check(st == 201 and gens[2:] == ["two", "two"],
          "the next call runs the new one (%r)" % gens)
    check(d.stop() == 0, "clean stop")
finally:
    d.cleanup()
    up.close()
