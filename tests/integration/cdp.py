"""A headless Chromium driven over the DevTools protocol, for the SDK's
browser tests.  Chromium talks CDP over two pipes (--remote-debugging-pipe:
it reads commands on fd 3 and writes answers and events on fd 4, each a
JSON text ended by a NUL byte), so no WebSocket client and no npm package
is needed: the standard library is enough.

    b = Browser()                        # None of the below if it is absent
    page = b.open("http://127.0.0.1:8000/page.html")
    page.eval("1 + 1")                   # 2; promises are awaited
    b.close()
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome",
              "google-chrome-stable")


def find_browser():
    """The path of a Chromium to drive, or None."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in CANDIDATES:
        p = shutil.which(name)
        if p:
            return p
    return None


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, path=None, timeout=30):
        self.path = path or find_browser()
        if self.path is None:
            raise CDPError("no Chromium found")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="widgetd-chromium.")
        # Commands go down cmd_r (its fd 3); answers come up out_w (fd 4).
        cmd_r, self.cmd_w = os.pipe()
        self.out_r, out_w = os.pipe()

        def fds():
            os.dup2(cmd_r, 3)
            os.dup2(out_w, 4)

        args = [self.path, "--headless=new", "--remote-debugging-pipe",
                "--user-data-dir=" + self.profile, "--no-first-run",
                "--no-default-browser-check", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-extensions",
                "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps",
                "--mute-audio", "--password-store=basic",
                "--use-mock-keychain", "about:blank"]
        # Chromium's own sandbox needs user namespaces or setuid; the
        # tests run as root, where it refuses to start without this.
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        self.log = open(os.path.join(self.profile, "stderr"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     preexec_fn=fds, close_fds=False)
        os.close(cmd_r)
        os.close(out_w)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.seq = 0
        self.answers = {}
        self.events = []
        self.dead = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        # The browser answers once it is up.
        self.version = self.call("Browser.getVersion")

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.out_r, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self.cond:
                    self.dead = True
                    self.cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                m = json.loads(msg)
                with self.cond:
                    if "id" in m:
                        self.answers[m["id"]] = m
                    else:
                        self.events.append(m)
                    self.cond.notify_all()

    def call(self, method, params=None, session=None, timeout=None):
        with self.cond:
            self.seq += 1
            n = self.seq
        msg = {"id": n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + (timeout or self.timeout)
        with self.cond:
            while n not in self.answers:
                left = end - time.monotonic()
                if self.dead or left <= 0:
                    raise CDPError("%s: no answer (%s)" % (
                        method, "browser gone" if self.dead else "timeout"))
                self.cond.wait(left)
            m = self.answers.pop(n)
        if "error" in m:
            raise CDPError("%s: %s" % (method, m["error"]))
        return m.get("result", {})

    def open(self, url):
        """A new tab at url, loaded; a Page to evaluate in."""
        t = self.call("Target.createTarget", {"url": "about:blank"})
        s = self.call("Target.attachToTarget",
                      {"targetId": t["targetId"], "flatten": True})
        page = Page(self, t["targetId"], s["sessionId"])
        page.goto(url)
        return page

    def events_of(self, session, method):
        with self.cond:
            return [e for e in self.events if e.get("sessionId") == session
                    and e.get("method") == method]

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except CDPError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.cmd_w, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser, target, session):
        self.b = browser
        self.target = target
        self.session = session
        self.b.call("Page.enable", session=session)
        self.b.call("Runtime.enable", session=session)
        self.b.call("Log.enable", session=session)

    def goto(self, url):
        before = len(self.b.events_of(self.session, "Page.loadEventFired"))
        r = self.b.call("Page.navigate", {"url": url}, session=self.session)
        if r.get("errorText"):
            raise CDPError("navigate %s: %s" % (url, r["errorText"]))
        end = time.monotonic() + self.b.timeout
        while len(self.b.events_of(self.session,
                                   "Page.loadEventFired")) <= before:
            if time.monotonic() > end:
                raise CDPError("%s did not load" % url)
            time.sleep(0.05)

    def eval(self, expression, timeout=None):
        """The value of a JavaScript expression (a promise is awaited)."""
        r = self.b.call("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True,
            "returnByValue": True}, session=self.session, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError("exception: %s" % (
                d.get("exception", {}).get("description") or d.get("text")))
        return r["result"].get("value")

    def console(self):
        """Console messages and browser log entries so far, as text."""
        out = []
        for e in self.b.events_of(self.session, "Runtime.consoleAPICalled"):
            out.append(" ".join(str(a.get("value", a.get("description")))
                                for a in e["params"]["args"]))
        for e in self.b.events_of(self.session, "Log.entryAdded"):
            out.append(e["params"]["entry"]["text"])
        return out
