"""Redirects are never followed, through the whole daemon
(as root or not).

An upstream answers 301, 302, 303, 307 and 308 with a Location that
points at a sentinel listener on loopback (inside allow_networks, so the
policy would not stop a hop: only not following does), and, for each
status, at another path of the upstream itself.  Every connector sends
an API key, which a followed hop would carry (libcurl re-sends custom
headers on a redirect).  The browser gets the upstream's status and body,
no Location and no Set-Cookie; the sentinel counts 0 connections and the
upstream never sees the redirect's target path; a response template
still sees the Location as response.headers.location."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check, wait_for  # noqa
from upstream import Sentinel, Upstream  # noqa: E402

CODES = (301, 302, 303, 307, 308)


def main():
    up = Upstream()
    sentinel = Sentinel()
    stolen = "http://127.0.0.1:%d/stolen" % sentinel.port

    def redirect(req):
        code = int(req.path.split("/")[2])
        to = up.url("/stolen") if req.path.endswith("/self") else stolen
        return code, {"Location": to, "Set-Cookie": "sid=upstream",
                      "Content-Type": "text/plain"}, b"moved %d" % code

    up.route("/r/", redirect)
    key = {"type": "api_key", "config": {
        "key": "X-Api-Key", "value": "{{ get_secret('k') }}",
        "in": "header"}}
    conns = []
    for code in CODES:
        for where in ("away", "self"):
            for meth in ("GET", "POST"):
                conns.append({
                    "name": "r%d %s %s" % (code, where, meth),
                    "permalink": "r%d-%s-%s" % (code, where, meth.lower()),
                    "method": meth, "url": up.url("/r/%d/%s" % (code, where)),
                    "authentication": key})
    conns.append({"name": "template", "permalink": "template",
                  "method": "GET", "url": up.url("/r/302/away"),
                  "authentication": key,
                  "response_body": "{{ {'status': response.status_code, "
                                   "'location': response.headers.location} "
                                   "| tojson }}",
                  "response_content_type": "application/json"})
    d = Daemon(workers=1, egress=TEST_EGRESS)
    try:
        d.connectors(*conns)
        d.set_secret("k", "redirect-test-api-key")
        d.start()
        n = 0
        for code in CODES:
            for where in ("away", "self"):
                for meth in ("GET", "POST"):
                    st, hdrs, body = d.call(
                        meth, "/widget-service/connectors/r%d-%s-%s/execute"
                        % (code, where, meth.lower()),
                        headers=["Content-Type: application/json"],
                        body=b'{"a": 1}' if meth == "POST" else b"")
                    check(st == code and body == b"moved %d" % code and
                          "location" not in hdrs and
                          "set-cookie" not in hdrs,
                          "%d to %s (%s): %d passed through, no Location, "
                          "no Set-Cookie" % (code, "the sentinel" if
                                             where == "away" else
                                             "the upstream's /stolen",
                                             meth, st))
                    n += 1
        st, hdrs, body = d.call("GET", "/widget-service/connectors/"
                                "template/execute")
        check(st == 302 and json.loads(body) == {"status": 302,
                                                 "location": stolen},
              "the response template sees status and Location")
        time.sleep(0.5)
        got = up.seen("/r/")
        check(len(got) == n + 1 and all(
            r.header("X-Api-Key") == "redirect-test-api-key" for r in got),
            "the upstream got %d calls, each with the API key" % len(got))
        check(up.seen("/stolen") == [],
              "no redirect to the upstream's own /stolen was followed")
        check(sentinel.count == 0, "the sentinel counted %d connections "
              "after %d redirects to it" % (sentinel.count, n // 2 + 1))
        socket.create_connection(("127.0.0.1", sentinel.port)).close()
        check(wait_for(lambda: sentinel.count == 1, 5),
              "the sentinel counts a connection when one comes")
    finally:
        d.cleanup()
        sentinel.close()
        up.close()


if __name__ == "__main__":
    main()
