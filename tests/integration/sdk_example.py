"""The README's quick start beyond curl: widgetctl test runs the draft
Code Mode file of contrib/widget-example/ against contrib/demo-upstream;
and the example widget page (contrib/widget-example/index.html) works:
headless Chromium opens it from another origin, it loads the SDK from
widgetd and calls the example connectors of etc/connectors_registry.json
with the example store's API key; the weather, the note and the three
error paths it shows come out as the page's text.  The page's part is
skipped without Chromium."""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check, fail, free_port, wait_for  # noqa: E402,E501
from upstream import Upstream                                  # noqa: E402
import cdp                                                     # noqa: E402

src = os.environ.get("top_srcdir", ".")
demo_port = free_port()
demo = subprocess.Popen([sys.executable, os.path.join(src, "contrib",
                                                      "demo-upstream"),
                         "127.0.0.1:%d" % demo_port],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def demo_up():
    try:
        socket.create_connection(("127.0.0.1", demo_port), 1).close()
        return True
    except OSError:
        return False


pages = Upstream()
d = Daemon(workers=1, egress=TEST_EGRESS, tenants=[
    '{ id = "default"; registry = "reg.json"; store = "store"; '
    'cors = { origins = [ "http://127.0.0.1:%d" ]; }; }' % pages.port])
try:
    with open(os.path.join(src, "etc", "connectors_registry.json")) as f:
        reg = f.read().replace("127.0.0.1:8081", "127.0.0.1:%d" % demo_port)
    d.write_registry(reg)
    with open(os.path.join(src, "etc", "store", "secrets",
                           "demo_api_key")) as f:
        d.set_secret("demo_api_key", f.read())
    with open(os.path.join(src, "contrib", "widget-example",
                           "index.html"), "rb") as f:
        html = f.read()
    pages.route("/", lambda r: (200, {"Content-Type": "text/html"}, html))
    d.start()
    check(wait_for(demo_up, 20), "contrib/demo-upstream is up")
    with open(os.path.join(src, "contrib", "widget-example",
                           "draft-connector.json")) as f:
        draft = f.read().replace("127.0.0.1:8081", "127.0.0.1:%d" % demo_port)
    dpath = os.path.join(d.dir, "draft-connector.json")
    with open(dpath, "w") as f:
        f.write(draft)
    r = d.widgetctl("test", "--verbose", dpath, "--path-param", "city=lisbon")
    out = r.stdout.decode()
    check(r.returncode == 0 and out.startswith("200 OK\n") and
          '{"city": "Lisbon", "now": "clear sky"}' in out and
          "\"X-Api-Key\":\"{{ get_secret('demo_api_key') }}\"" in out,
          "widgetctl test on the draft file: the answer and the literal "
          "(%s %s)" % (out[-300:], r.stderr.decode()))
    if cdp.find_browser() is None:
        print("SKIP: no Chromium to drive (Debian: apt-get install "
              "chromium, as contrib/install-deps does)")
        sys.exit(77)
    try:
        browser = cdp.Browser()
    except cdp.CDPError as e:
        print("SKIP: Chromium would not start: %s" % e)
        sys.exit(77)
    page = browser.open(pages.url("/?widgetd=http://127.0.0.1:%d" % d.port))
    check(page.eval("document.getElementById('sdk-state').textContent") ==
          "loaded", "the example page loads the SDK from widgetd")
    check(page.eval("document.getElementById('base').textContent") ==
          "http://127.0.0.1:%d/widget-service" % d.port,
          "its base URL is widgetd's")

    def click(button, out):
        page.eval("document.getElementById('%s').textContent = ''; "
                  "document.getElementById('%s').click()" % (out, button))
        end = time.monotonic() + 20
        while time.monotonic() < end:
            t = page.eval("document.getElementById('%s').textContent" % out)
            if t and t != "\u2026":
                return t
            time.sleep(0.1)
        fail("%s: nothing shown" % button)

    page.eval("document.getElementById('city').value = 'lisbon'; "
              "document.getElementById('imperial').checked = true")
    t = click("weather-go", "weather-out")
    w = json.loads(t)
    check(w.get("city") == "Lisbon" and w.get("units") == "imperial" and
          w.get("key_the_upstream_saw") == "[REDACTED]",
          "weather: the page shows the transformed answer (%s)" % t[:200])
    t = click("note-go", "note-out")
    check(json.loads(t)["created"]["text"] == "buy milk",
          "create-note: the payload reached the upstream and came back")
    t = click("err-missing", "err-out")
    check("ConnectorExecuteError 400 MISSING_PATH_PARAMETERS" in t and
          '["city"]' in t, "a missing city: %r" % t)
    t = click("err-boundary", "err-out")
    check(t.startswith("ConnectorBoundaryError (EMPTY_KEY)"),
          "a bad path parameter: %r" % t)
    t = click("err-unknown", "err-out")
    check(t.startswith("Error 404"), "an unknown connector: %r" % t)
    browser.close()
finally:
    d.cleanup()
    demo.kill()
    demo.wait()
    pages.close()
