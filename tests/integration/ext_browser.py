"""A published widget in a real browser (SPEC §10, issue 15): headless
Chromium loads the entry page widgetd serves and obeys its security
headers (platform-docs §23).

The page records what it could do: a script from its own origin ran,
its inline script ran, its inline style applies, and eval() and new
Function() threw EvalError under the CSP.  The control: the very same
files served by a plain HTTP server without those headers let eval and
new Function run, so the refusal is widgetd's CSP and not the browser's
habit.  SKIP (77) without Chromium."""

import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import check, fail, need_root, request  # noqa: E402
from extutil import (ExtDaemon, Repo, check_security_headers,  # noqa: E402
                     registry, widget)

need_root()
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
browser = os.environ.get("CHROMIUM") or next(
    (shutil.which(c) for c in CANDIDATES if shutil.which(c)), None)
if not browser:
    print("# SKIP: no Chromium")
    sys.exit(77)

PAGE = """<!doctype html><html><head>
<style>#s { color: rgb(1, 2, 3); }</style>
<script src="app.js"></script></head>
<body><div id="s">styled</div><div id="r">not run</div><script>
var r = [];
r.push("self:" + (window.fromSelf === 1));
try { r.push("eval:" + eval("1 + 1")); }
catch (e) { r.push("eval:" + e.name); }
try { r.push("function:" + new Function("return 3")()); }
catch (e) { r.push("function:" + e.name); }
r.push("style:" + getComputedStyle(document.getElementById("s")).color);
document.getElementById("r").textContent = r.join(" ");
</script></body></html>
"""
APP = "window.fromSelf = 1;\n"


def page_result(url):
    """What the page wrote into #r once Chromium loaded url."""
    profile = tempfile.mkdtemp(prefix="widgetd-chromium.")
    args = [browser, "--headless", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", "--disable-extensions",
            "--disable-background-networking", "--disable-sync",
            "--user-data-dir=" + profile, "--dump-dom", url]
    # Chromium's own sandbox cannot start as root.
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")
    try:
        r = subprocess.run(args, capture_output=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    m = re.search(rb'<div id="r">([^<]*)</div>', r.stdout)
    if not m:
        fail("no result from Chromium for %s (exit %d): %s" % (
            url, r.returncode, r.stderr.decode(errors="replace")[-2000:]))
    return m.group(1).decode()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


d = ExtDaemon(tenants=[], workers=1)
repo = Repo(d.dir)
plain = None
try:
    repo.write("extensions_registry.json", registry(
        [widget("probe", "widgets/probe")]))
    repo.write("widgets/probe/index.html", PAGE)
    repo.write("widgets/probe/app.js", APP)
    c = repo.commit("probe page")
    # The only tenant, without hosts: it answers 127.0.0.1 too.
    d.set_tenants([("acme", [], repo.bare, None)])
    d.start()
    m = d.wait_generation("localhost", lambda m: m["commit"] == c)
    entry = m["widgets"][0]["entryUrl"]
    st, h, _ = request(d.port, "GET", entry)
    check(st == 200, "the entry page is served")
    check_security_headers(h, what="the entry page")

    got = page_result("http://127.0.0.1:%d%s" % (d.port, entry))
    check(got.startswith("self:true "), "a script from 'self' runs: %s" %
          got)
    check(" eval:EvalError " in got, "eval() throws under the CSP: %s" % got)
    check(" function:EvalError " in got,
          "new Function() throws under the CSP: %s" % got)
    check(got.endswith(" style:rgb(1, 2, 3)"),
          "the inline style applies: %s" % got)

    # The control: the same files without widgetd's headers.
    root = os.path.join(repo.work, "widgets", "probe")
    plain = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: Quiet(*a, directory=root))
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    got = page_result("http://127.0.0.1:%d/index.html" %
                      plain.server_address[1])
    check(got == "self:true eval:2 function:3 style:rgb(1, 2, 3)",
          "control: without the CSP the same page evaluates: %s" % got)
    check(d.stop() == 0, "the daemon stops cleanly")
finally:
    if plain is not None:
        plain.shutdown()
        plain.server_close()
    d.cleanup()
