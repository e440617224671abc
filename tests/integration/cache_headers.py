"""The response cache against a counting upstream, one connector per
header combination (issue 11, SPEC 7 and 9, platform-docs 19): each is
called three times and the upstream counts the calls it got.

Stored and served from the cache: max-age, public + max-age, s-maxage,
Expires against Date, and statuses 200, 301 and 308.  Never stored:
no-store, no-cache, private, no caching header at all, an Expires in
the past, Vary: *, and statuses 302, 404 and 500.  An ETag or a
Last-Modified alone is stored and revalidated on every use (If-None-Match
/ If-Modified-Since; the upstream's 304 answers with the stored body).
max-age=0 with an ETag: the same.  Vary is honoured: a header the
upstream varies on, overridden by the caller, makes an entry per value;
Vary naming a header widgetd does not send changes nothing.  A POST
connector is never looked up;
a HEAD connector is cached apart from a GET of the same URL.  Each
answer says what happened in Cache-Status, Server-Timing (Cache Hit or
Cache Miss), X-Connector-Timing.cache_hit and the access log, and
widgetctl status counts hits and misses per connector.  A hit needs no
IPC: with the keeper stopped (SIGSTOP) it is still answered."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access, common                 # noqa: E402
from cacheutil import (cache_status, counters, execute, httpdate,  # noqa
                       is_hit, is_miss, status_json)

NOW = time.time()
LM = "Sun, 06 Nov 1994 08:49:37 GMT"

# name: (status, headers, what three calls do: "stored", "never" or
# "revalidated")
CASES = {
    "max-age": (200, {"Cache-Control": "max-age=60"}, "stored"),
    "public": (200, {"Cache-Control": "public, max-age=3600"}, "stored"),
    "s-maxage": (200, {"Cache-Control": "s-maxage=60"}, "stored"),
    "expires": (200, {"Date": httpdate(NOW),
                      "Expires": httpdate(NOW + 600)}, "stored"),
    "s301": (301, {"Cache-Control": "max-age=60",
                   "Location": "https://elsewhere.example/"}, "stored"),
    "s308": (308, {"Cache-Control": "max-age=60",
                   "Location": "https://elsewhere.example/"}, "stored"),
    "no-store": (200, {"Cache-Control": "no-store, max-age=60"}, "never"),
    "no-cache": (200, {"Cache-Control": "no-cache, max-age=60"}, "never"),
    "private": (200, {"Cache-Control": "private, max-age=60"}, "never"),
    "nothing": (200, {}, "never"),
    "expired": (200, {"Date": httpdate(NOW),
                      "Expires": httpdate(NOW - 600)}, "never"),
    "vary-star": (200, {"Cache-Control": "max-age=60", "Vary": "*"},
                  "never"),
    "s302": (302, {"Cache-Control": "max-age=60",
                   "Location": "https://elsewhere.example/"}, "never"),
    "s404": (404, {"Cache-Control": "max-age=60"}, "never"),
    "s500": (500, {"Cache-Control": "max-age=60"}, "never"),
    "etag": (200, {"ETag": '"e1"'}, "revalidated"),
    "last-modified": (200, {"Last-Modified": LM}, "revalidated"),
    "max-age0": (200, {"Cache-Control": "max-age=0", "ETag": '"z"'},
                 "revalidated"),
}


def answer(req):
    name = req.path.split("/")[2]
    status, hdrs, _ = CASES[name]
    hdrs = dict(hdrs, **{"Content-Type": "text/plain"})
    inm, ims = req.header("If-None-Match"), req.header("If-Modified-Since")
    if ((inm is not None and inm == hdrs.get("ETag")) or
            (ims is not None and ims == hdrs.get("Last-Modified"))):
        return 304, hdrs, b""
    return status, hdrs, b"body of %s #%d" % (name.encode(),
                                               len(up.seen(req.path)))


up = Upstream()
up.route("/h/", answer)
up.route("/post", lambda r: (200, {"Cache-Control": "max-age=60"}, b"p"))
up.route("/vary", lambda r: (200, {"Cache-Control": "max-age=60",
                                   "Vary": "X-Lang, Accept-Language",
                                   "Content-Type": "text/plain"},
                              b"lang %s #%d" % (r.header("X-Lang").encode(),
                                                len(up.seen("/vary")))))
up.route("/head", lambda r: (200, {"Cache-Control": "max-age=60",
                                   "Content-Type": "text/plain"}, b"h"))
d = Daemon(workers=1, egress=TEST_EGRESS,
           extra='log = { access_log = true; };')
try:
    conns = [{"name": n, "permalink": n, "url": up.url("/h/" + n)}
             for n in CASES]
    conns += [{"name": "post", "permalink": "post", "method": "POST",
               "url": up.url("/post")},
              {"name": "get", "permalink": "get", "url": up.url("/head")},
              {"name": "vary", "permalink": "vary", "url": up.url("/vary"),
               "headers": [{"key": "X-Lang", "value": "en",
                            "overridable": True}]},
              {"name": "head", "permalink": "head", "method": "HEAD",
               "url": up.url("/head")}]
    d.connectors(*conns)
    d.start()

    for name, (status, _, kind) in CASES.items():
        path = "/h/" + name
        first = None
        for i in range(3):
            st, h, b = d.call("GET", execute(name))
            what = "%s, call %d" % (name, i + 1)
            check(st == status, "%s: status %d (%d)" % (what, status, st))
            first = first or b
            if kind == "never":
                check(b.endswith(b"#%d" % (i + 1)), "%s: this call's own "
                      "body (%r)" % (what, b))
            else:
                check(b == first, "%s: the first call's body (%r)" %
                      (what, b))
            cs = cache_status(h)
            if i == 0:
                is_miss(h, what, stored=kind != "never")
                common(h, what, external="127.0.0.1")
                check(access(d, h["x-request-id"])["cache"] == "miss",
                      "%s: the access log says miss" % what)
            elif kind == "stored":
                is_hit(h, what)
                check(cs.get("ttl", 0) > 0, "%s: a ttl left (%r)" %
                      (what, cs))
                common(h, what)
                check(access(d, h["x-request-id"])["cache"] == "hit",
                      "%s: the access log says hit" % what)
            elif kind == "revalidated":
                is_miss(h, what, fwd="stale")
                check(cs.get("fwd-status") == 304,
                      "%s: the upstream's 304 (%r)" % (what, cs))
                check(access(d, h["x-request-id"])["cache"] ==
                      "revalidated", "%s: the access log says revalidated"
                      % what)
            else:
                is_miss(h, what, stored=False)
                check(cs.get("detail") is not None,
                      "%s: Cache-Status says why not (%r)" % (what, cs))
        seen = up.seen(path)
        want = 1 if kind == "stored" else 3
        check(len(seen) == want, "%s: %d upstream call%s (%d)" %
              (name, want, "" if want == 1 else "s", len(seen)))
        if kind == "revalidated":
            hv = CASES[name][1]
            cond = [r.header("If-None-Match") or r.header(
                "If-Modified-Since") for r in seen]
            check(cond == [None, hv.get("ETag", hv.get("Last-Modified")),
                           hv.get("ETag", hv.get("Last-Modified"))],
                  "%s: the calls after the first carried the validator "
                  "(%r)" % (name, cond))
        c = counters(d, name)
        hits = 2 if kind == "stored" else 0
        misses = {"stored": 1, "never": 3, "revalidated": 1}[kind]
        check(c.get("hits") == hits and c.get("misses") == misses and
              c.get("revalidated") == (2 if kind == "revalidated" else 0),
              "%s: widgetctl status counts %d hits, %d misses (%r)" %
              (name, hits, misses, c))

    # Why a few were not stored, as Cache-Status says it.
    for name, why in (("no-store", "no-store"), ("private", "private"),
                      ("no-cache", "no-cache"), ("vary-star", "vary"),
                      ("nothing", "no-freshness"), ("s404", "status")):
        st, h, b = d.call("GET", execute(name))
        check(cache_status(h).get("detail") == why,
              "%s: Cache-Status detail=%s (%r)" %
              (name, why, h.get("cache-status")))

    # POST: never looked up.
    for i in range(2):
        st, h, b = d.call("POST", execute("post"), body=b"{}",
                          headers=["Content-Type: application/json"])
        check(st == 200 and cache_status(h) == {"cache": "widgetd",
                                                "fwd": "method"},
              "POST call %d: Cache-Status fwd=method (%r)" %
              (i + 1, h.get("cache-status")))
        check(access(d, h["x-request-id"])["cache"] == "bypass",
              "POST call %d: the access log says bypass" % (i + 1))
    check(len(up.seen("/post")) == 2, "POST: every call went upstream")

    # Vary: X-Lang, which the caller may override; Accept-Language, which
    # widgetd never sends.  One entry per X-Lang sent upstream.
    bodies = {}
    for i, lang in enumerate(("en", "fr", "en", "fr", "de")):
        hs = ["X-Lang: %s" % lang] if lang != "en" else []
        if lang == "fr":
            hs.append("Accept-Language: de-CH")
        st, h, b = d.call("GET", execute("vary"), headers=hs)
        what = "vary, X-Lang %s (call %d)" % (lang, i + 1)
        check(st == 200 and b.startswith(b"lang %s #" % lang.encode()),
              "%s: the answer for %s (%r)" % (what, lang, b))
        if lang in bodies:
            is_hit(h, what)
            check(b == bodies[lang], "%s: the first %s answer" % (what,
                                                                 lang))
        else:
            is_miss(h, what, stored=True)
            bodies[lang] = b
    check([r.header("X-Lang") for r in up.seen("/vary")] ==
          ["en", "fr", "de"], "vary: three upstream calls, one per X-Lang")
    check(all(r.header("Accept-Language") is None
              for r in up.seen("/vary")),
          "vary: the caller's Accept-Language never crossed")

    # HEAD and GET of one URL: two entries.
    for perm, method in (("get", "GET"), ("head", "HEAD"), ("get", "GET"),
                         ("head", "HEAD")):
        st, h, b = d.call(method, execute(perm))
        check(st == 200, "%s: 200" % perm)
    methods = [r.method for r in up.seen("/head")]
    check(methods == ["GET", "HEAD"], "GET and HEAD cached apart: the "
          "upstream saw one of each (%r)" % methods)

    # widgetctl status: the cache line and its table.
    r = d.widgetctl("status")
    out = r.stdout.decode()
    check(r.returncode == 0 and "\ncache: " in out and " entries, " in out
          and "HITS  MISSES  REVALIDATED  STALE  COLLAPSED" in out,
          "widgetctl status prints the cache totals and counters")
    tot = status_json(d)["cache"]
    check(tot.get("entries", 0) >= 7 and tot.get("memory") == 67108864 and
          0 < tot.get("bytes", 0) <= tot["memory"] and
          tot.get("evicted") == 0,
          "widgetctl status --json: entries, bytes, memory (%r)" % tot)

    # A hit never leaves the worker: with the keeper stopped, a hit is
    # answered; a call that must go upstream is not.
    keeper = list(d.children("keeper"))[0]
    os.kill(keeper, signal.SIGSTOP)
    try:
        t = time.monotonic()
        st, h, b = d.call("GET", execute("public"))
        is_hit(h, "public, the keeper stopped")
        check(st == 200 and b == b"body of public #1",
              "public, the keeper stopped: the stored answer (%d %r, "
              "%.1f s)" % (st, b, time.monotonic() - t))
        st, h, b = d.call("GET", execute("no-store"))
        check(st == 503, "no-store, the keeper stopped: no answer without "
              "it (%d)" % st)
    finally:
        os.kill(keeper, signal.SIGCONT)
finally:
    d.stop()
    d.cleanup()
    up.close()
