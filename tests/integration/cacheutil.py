"""What the response cache's integration tests (tests/integration/cache_*.py)
share: reading Cache-Status (RFC 9211), the cache entry of Server-Timing
and X-Connector-Timing, and the counters of `widgetctl status --json`."""

import email.utils
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import check, fail     # noqa: E402


def execute(permalink):
    return "/widget-service/connectors/%s/execute" % permalink


def cache_status(hdrs):
    """Cache-Status as a dict: {"cache": "widgetd", "hit": True,
    "fwd": "uri-miss", "ttl": 60, ...}; {} when absent."""
    v = hdrs.get("cache-status")
    if v is None:
        return {}
    parts = [p.strip() for p in v.split(";")]
    out = {"cache": parts[0]}
    for p in parts[1:]:
        k, eq, val = p.partition("=")
        if not eq:
            out[k] = True
        elif val.lstrip("-").isdigit():
            out[k] = int(val)
        else:
            out[k] = val
    return out


def timing(hdrs):
    """(Server-Timing cache description, X-Connector-Timing as a dict)."""
    st = hdrs.get("server-timing", "")
    desc = None
    for e in st.split(", "):
        if e.startswith("cache;"):
            desc = e.split('desc="', 1)[1].rstrip('"')
    try:
        ct = json.loads(hdrs.get("x-connector-timing", ""))
    except ValueError:
        fail("X-Connector-Timing is not JSON: %r" %
             hdrs.get("x-connector-timing"))
    return desc, ct


def is_hit(hdrs, what):
    """The answer came from the cache without an upstream call."""
    cs = cache_status(hdrs)
    desc, ct = timing(hdrs)
    check(cs.get("cache") == "widgetd" and cs.get("hit") is True and
          "fwd" not in cs and desc == "Cache Hit" and
          ct.get("cache_hit") is True and "external_host" not in ct,
          "%s: a hit (Cache-Status %r, Server-Timing %r, cache_hit %r)" %
          (what, hdrs.get("cache-status"), desc, ct.get("cache_hit")))
    return cs


def is_miss(hdrs, what, fwd="uri-miss", stored=None):
    """The upstream was called; stored True/False when it matters."""
    cs = cache_status(hdrs)
    desc, ct = timing(hdrs)
    ok = (cs.get("cache") == "widgetd" and "hit" not in cs and
          cs.get("fwd") == fwd and desc == "Cache Miss" and
          ct.get("cache_hit") is False)
    if stored is not None:
        ok = ok and ("stored" in cs) == stored
    check(ok, "%s: a miss, fwd=%s%s (Cache-Status %r, Server-Timing %r)" %
          (what, fwd, "" if stored is None else
           (", stored" if stored else ", not stored"),
           hdrs.get("cache-status"), desc))
    return cs


def httpdate(t):
    return email.utils.formatdate(t, usegmt=True)


def status_json(d):
    """widgetctl status --json of the daemon, as a dict."""
    r = d.widgetctl("status", "--json")
    if r.returncode != 0:
        fail("widgetctl status: %r" % r.stderr)
    return json.loads(r.stdout)


def counters(d, permalink):
    """The cache counters of a connector's row in widgetctl status."""
    for row in status_json(d).get("connectors", []):
        if row.get("permalink") == permalink:
            return row.get("cache", {})
    return {}


def settle():
    """A moment for a stale entry's clock to move on past max-age=1."""
    time.sleep(1.2)


def counted(d, up, perm, want, what):
    """Call connector perm (upstream path /perm) and check what came of
    it: want "hit" (no upstream call), "stored" or "miss" (one upstream
    call, its answer stored or not).  (headers, body)."""
    n = len(up.seen("/" + perm))
    st, h, b = d.call("GET", execute(perm))
    what = "%s %s" % (perm, what)
    check(st == 200, "%s: 200 (%d)" % (what, st))
    if want == "hit":
        is_hit(h, what)
    else:
        is_miss(h, what, stored=want == "stored")
    check(len(up.seen("/" + perm)) == n + (want != "hit"),
          "%s: %s" % (what, "no upstream call" if want == "hit" else
                      "one upstream call"))
    return h, b
