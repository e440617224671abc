"""The extensions group of widgetd.conf against a real daemon (SPEC §10,
issue 15): the configured trusted CDNs are both the scan's allow-list
and the CSP's script and style hosts, replacing the four defaults;
publish_bytes caps a whole publish; and a reload that changes either
republishes a repository whose branch did not move.

- trusted_cdns = [cdn.example.org]: a widget loading a script from it
  publishes and the CSP names it and no default CDN; one loading from
  unpkg.com (a default) fails with external_script_loading;
- reload with unpkg.com trusted: the same failing commit now publishes
  (the settings changed, the branch did not), and the CSP names both;
- publish_bytes = 1 MiB: two widgets of 600 KB each fail with
  MAX_SIZE_EXCEEDED though each is within the per-widget limits, the
  previous generation serving; at 2 MiB after a reload they publish."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import check, need_root, request  # noqa: E402
from extutil import (DEFAULT_CDNS, ExtDaemon, Repo,  # noqa: E402
                     check_security_headers, registry, widget)

need_root()
H = "acme.example"


def page(host):
    return '<script src="https://%s/lib.js"></script><p>x</p>' % host


def entry_headers(m):
    st, h, _ = request(d.port, "GET", m["widgets"][0]["entryUrl"], host=H)
    check(st == 200, "the entry page is served")
    return h


d = ExtDaemon(tenants=[], workers=1, extensions='trusted_cdns = '
              '[ "cdn.example.org" ];')
repo = Repo(d.dir)
try:
    repo.write("extensions_registry.json", registry(
        [widget("hello", "widgets/hello")]))
    repo.write("widgets/hello/index.html", page("cdn.example.org"))
    c1 = repo.commit("a configured CDN")
    d.set_tenants([("acme", [H], repo.bare, None)])
    d.start()
    m = d.wait_generation(H, lambda m: m["commit"] == c1)
    h = entry_headers(m)
    check_security_headers(h, cdns=("cdn.example.org",),
                           what="with trusted_cdns set")
    csp = h["content-security-policy"]
    check(not any(c in csp for c in DEFAULT_CDNS),
          "the configured list replaces the default CDNs in the CSP")

    n = d.last_build("acme")
    repo.write("widgets/hello/index.html", page("unpkg.com"))
    c2 = repo.commit("a default CDN")
    rc, out, _ = d.publish("acme")
    b = d.wait_build("acme", n)
    check(rc == 1 and b["code"] == "CONTENT_SCAN_REJECTED" and
          "external_script_loading" in b["message"],
          "unpkg.com is untrusted once the list is replaced: %s" %
          b["message"])
    check(any("untrusted host unpkg.com" in x for x in b["details"]),
          "the detail names the host")
    check(d.manifest(H)[2]["commit"] == c1, "the previous generation "
          "stays")

    # The branch has not moved; the settings have.
    d.extensions = 'trusted_cdns = [ "cdn.example.org", "unpkg.com" ];'
    d.set_tenants([("acme", [H], repo.bare, None)])
    r = d.widgetctl("reload")
    check(r.returncode == 0, "reload with unpkg.com trusted")
    m = d.wait_generation(H, lambda m: m["commit"] == c2)
    h = entry_headers(m)
    check_security_headers(h, cdns=("cdn.example.org", "unpkg.com"),
                           what="after the reload")

    # The most hosts the configuration takes, long ones: every one of
    # them whole in each directive, and the directives after them too.
    many = ["cdn.example.org", "unpkg.com"] + [
        "h%02d-%s.cdn.example.net" % (i, "x" * 40) for i in range(62)]
    n = d.last_build("acme")
    d.extensions = "trusted_cdns = [ %s ];" % ", ".join(
        '"%s"' % x for x in many)
    d.set_tenants([("acme", [H], repo.bare, None)])
    check(d.widgetctl("reload").returncode == 0, "reload with 64 CDNs")
    b = d.wait_build("acme", n)
    check(b["commit"] == c2 and b["state"] == "Completed",
          "64 CDNs: the same commit republishes")
    # The record is written before the workers take the generation.
    m = d.wait_generation(H, lambda m: m["generation"] == b["generation"])
    h = entry_headers(m)
    check_security_headers(h, cdns=many, what="with 64 CDNs")
    csp = h["content-security-policy"]
    allowed = {"'self'", "'unsafe-inline'"} | {"https://" + x for x in many}
    for kind in ("script-src", "style-src"):
        src = [x.split()[1:] for x in csp.split(";")
               if x.split()[:1] == [kind]][0]
        check(set(src) <= allowed and len(src) == len(many) + 2,
              "64 CDNs: %s holds whole hosts only, each once" % kind)
    check(csp.rstrip().endswith("frame-ancestors 'self'") and
          "object-src 'none'" in csp, "64 CDNs: no directive is cut off")

    # publish_bytes: the whole publish, beyond the per-widget limits.
    n = d.last_build("acme")
    d.extensions = "publish_bytes = 1048576;"
    d.set_tenants([("acme", [H], repo.bare, None)])
    check(d.widgetctl("reload").returncode == 0, "reload with 1 MiB")
    b = d.wait_build("acme", n)
    check(b["commit"] == c2 and b["state"] == "Completed",
          "a new size cap republishes the same commit")
    n = b["id"]
    repo.write("extensions_registry.json", registry(
        [widget("one", "widgets/one"), widget("two", "widgets/two")]))
    blob = os.urandom(300000).hex()         # 600 KB of text
    for w in ("one", "two"):
        repo.write("widgets/%s/index.html" % w, "<p>%s</p>" % w)
        repo.write("widgets/%s/data.txt" % w, blob)
    c3 = repo.commit("1.2 MB in all")
    rc, out, _ = d.publish("acme")
    b = d.wait_build("acme", n)
    check(rc == 1 and b["code"] == "MAX_SIZE_EXCEEDED" and
          "exceed 1048576 bytes" in b["message"],
          "more than publish_bytes in all fails: %s" % b["message"])
    check(d.manifest(H)[2]["commit"] == c2, "the previous generation "
          "stays")
    d.extensions = "publish_bytes = 2097152;"
    d.set_tenants([("acme", [H], repo.bare, None)])
    check(d.widgetctl("reload").returncode == 0, "reload with 2 MiB")
    m = d.wait_generation(H, lambda m: m["commit"] == c3)
    check(sorted(w["type"] for w in m["widgets"]) == ["one", "two"],
          "at 2 MiB the same commit publishes")
    check(d.stop() == 0, "the daemon stops cleanly")
finally:
    d.cleanup()
