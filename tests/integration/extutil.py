"""Helpers for the extensions platform's integration tests (SPEC §10):
git repositories made at test time (a work tree and the bare repository
widgetd watches, pushed to by path: never the network), a daemon with
watched tenants, and waiting for builds."""

import json
import os
import subprocess
import time

from wdtest import Daemon, check, fail, request, wait_for

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Widget Author", "GIT_AUTHOR_EMAIL": "a@example.com",
    "GIT_COMMITTER_NAME": "Widget Author",
    "GIT_COMMITTER_EMAIL": "a@example.com",
    # Nothing of the machine's or the user's git configuration.
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
    "HOME": "/nonexistent", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
}

BASE = "/widget-service/extensions"

# platform-docs §23: every widget response carries these.
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options",
                    "referrer-policy", "x-frame-options",
                    "permissions-policy")
DEFAULT_CDNS = ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "unpkg.com",
                "esm.sh")


def git(cwd, *args, inp=None):
    r = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, input=inp,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        fail("git %s: %s" % (" ".join(args), r.stderr.decode()))
    return r.stdout.decode().strip()


class Repo:
    """A work tree under dir/work pushing to the bare dir/NAME.git."""

    def __init__(self, top, name="widgets"):
        self.work = os.path.join(top, name + "-work")
        self.bare = os.path.join(top, name + ".git")
        os.makedirs(self.work)
        git(top, "init", "-q", "--bare", "-b", "main", self.bare)
        git(self.work, "init", "-q", "-b", "main")
        git(self.work, "remote", "add", "origin", self.bare)
        self.readable()

    def readable(self):
        """The publisher runs as `user` (nobody): a+rX on what it reads."""
        for root, dirs, files in os.walk(self.bare):
            for n in dirs:
                os.chmod(os.path.join(root, n), 0o755)
            for n in files:
                os.chmod(os.path.join(root, n), 0o644)
        os.chmod(self.bare, 0o755)

    def write(self, path, content):
        p = os.path.join(self.work, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(p, mode) as f:
            f.write(content)

    def remove(self, path):
        git(self.work, "rm", "-q", "-r", "--", path)

    def commit(self, msg, branch="main", allow_empty=False):
        """Commit everything, push to branch; the new commit id."""
        git(self.work, "add", "-A")
        args = ["commit", "-q", "-m", msg]
        if allow_empty:
            args.append("--allow-empty")
        git(self.work, *args)
        git(self.work, "push", "-q", "-f", "origin", "HEAD:" + branch)
        self.readable()
        return git(self.work, "rev-parse", "HEAD")

    def branch(self, name):
        """Switch the work tree to branch name (made from HEAD if new)."""
        r = subprocess.run(["git", "checkout", "-q", name], cwd=self.work,
                           env=GIT_ENV, capture_output=True)
        if r.returncode != 0:
            git(self.work, "checkout", "-q", "-b", name)

    def blob(self, content):
        if isinstance(content, str):
            content = content.encode()
        return git(self.bare, "hash-object", "-w", "--stdin", inp=content)

    def tree(self, entries):
        """A tree object from (mode, sha, name bytes) entries."""
        data = b"".join(b"%s %s\0" % (m.encode(), n) + bytes.fromhex(s)
                        for m, s, n in sorted(entries, key=lambda e: e[2]))
        return git(self.bare, "hash-object", "-t", "tree", "--literally",
                   "-w", "--stdin", inp=data)

    def commit_tree(self, branch, tree, msg="crafted"):
        head = git(self.bare, "rev-parse", "refs/heads/" + branch)
        c = git(self.bare, "commit-tree", tree, "-p", head, "-m", msg)
        git(self.bare, "update-ref", "refs/heads/" + branch, c)
        self.readable()
        return c


def registry(widgets=(), scripts=(), stylesheets=()):
    return json.dumps({"widgets": list(widgets), "scripts": list(scripts),
                       "stylesheets": list(stylesheets)}, indent=1) + "\n"


def widget(wtype, path, entry="index.html", **kw):
    w = {"type": wtype, "title": wtype.title(), "category": "General",
         "source": {"path": path, "entry": entry}}
    w.update(kw)
    return w


class ExtDaemon(Daemon):
    """A daemon whose tenants may watch repositories.  tenants: a list
    of (id, hosts, repo path or None, branch or None); each gets its own
    registry and store under the daemon's directory."""

    def __init__(self, tenants, extensions="", **kw):
        super().__init__(**kw)
        self.state = os.path.join(self.dir, "state")
        self.ext_tenants = tenants
        self.extensions = extensions
        self.allow_sigsys = False
        self.set_tenants(tenants)

    def set_tenants(self, tenants):
        self.ext_tenants = tenants
        out = []
        self.publishers = 0
        for tid, hosts, repo, branch in tenants:
            store = os.path.join(self.dir, "store-" + tid)
            os.makedirs(store, exist_ok=True)
            reg = os.path.join(self.dir, "reg-%s.json" % tid)
            if not os.path.exists(reg):
                self.write_registry('{"connectors": []}\n', reg)
            t = '{ id = "%s"; registry = "%s"; store = "%s"; ' % (
                tid, reg, store)
            if hosts:
                t += "hosts = [ %s ]; " % ", ".join('"%s"' % h
                                                   for h in hosts)
            if repo:
                self.publishers += 1
                t += 'repository = { path = "%s"; ' % repo
                if branch:
                    t += 'branch = "%s"; ' % branch
                t += "}; "
            out.append(t + "}")
        self.tenants = out
        self.extra_ext()
        self.write_conf()

    def extra_ext(self):
        self.extra = 'state_dir = "%s";\n' % self.state
        if self.extensions:
            self.extra += "extensions = { %s };\n" % self.extensions

    def published(self, tid):
        return os.path.join(self.state, "extensions", tid)

    def builds(self, tid):
        """Build records of tenant tid, oldest first (from disk)."""
        d = os.path.join(self.published(tid), "builds")
        out = []
        try:
            names = sorted(os.listdir(d))
        except OSError:
            return out
        for n in names:
            if n.endswith(".json"):
                try:
                    with open(os.path.join(d, n)) as f:
                        out.append(json.load(f))
                except (OSError, ValueError):
                    pass    # being replaced right now
        return out

    def wait_build(self, tid, after, timeout=30):
        """The first finished build of tid numbered above after."""
        def done():
            for b in self.builds(tid):
                if b["id"] > after and b["state"] != "In Progress":
                    return b
            return None
        b = wait_for(done, timeout, step=0.1)
        if not b:
            self.dump_log()
            fail("no build of %s after %d within %ds" % (tid, after,
                                                          timeout))
        return b

    def last_build(self, tid):
        b = self.builds(tid)
        return b[-1]["id"] if b else 0

    def publish(self, tid=None):
        """widgetctl publish [-t tid]: (exit code, stdout, stderr)."""
        args = ["publish"] + (["-t", tid] if tid else [])
        r = self.widgetctl(*args)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def manifest(self, host="localhost"):
        st, h, body = request(self.port, "GET", BASE + "/manifest.json",
                              host=host)
        return st, h, (json.loads(body) if st == 200 else body)

    def wait_generation(self, host, pred, timeout=30):
        """Wait until the served manifest satisfies pred; return it."""
        def get():
            st, _, m = self.manifest(host)
            return m if st == 200 and pred(m) else None
        m = wait_for(get, timeout, step=0.1)
        if not m:
            self.dump_log()
            fail("the served manifest did not change as expected")
        return m

    def cleanup(self):
        if self.allow_sigsys and os.path.exists(self.logpath):
            # The sandbox test kills a publisher with SIGSYS on purpose.
            with open(self.logpath, "rb") as f:
                text = f.read().replace(b"killed by signal 31",
                                        b"killed by signal SIGSYS (test)")
            with open(self.logpath, "wb") as f:
                f.write(text)
        super().cleanup()


def served(d, url, host="localhost"):
    """GET url: (status, headers, body)."""
    return request(d.port, "GET", url, host=host)


def check_security_headers(h, cdns=DEFAULT_CDNS, what="response"):
    for name in SECURITY_HEADERS:
        check(name in h, "%s carries %s" % (what, name))
    csp = h["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in
                  (x.strip() for x in csp.split(";")) if d}
    for kind in ("script-src", "style-src"):
        src = directives.get(kind, [])
        check("'self'" in src and "'unsafe-inline'" in src,
              "%s: %s allows 'self' and inline" % (what, kind))
        check("'unsafe-eval'" not in src, "%s: %s blocks eval" % (what,
                                                                 kind))
        for c in cdns:
            check("https://" + c in src, "%s: %s names %s exactly" % (
                what, kind, c))
        check(not any("*" in s for s in src),
              "%s: %s has no wildcard" % (what, kind))
    check("'unsafe-eval'" not in csp, "%s: no 'unsafe-eval' anywhere" % what)
    check(h["x-content-type-options"] == "nosniff", "%s: nosniff" % what)


def now():
    return time.monotonic()
