"""The publisher's confinement against a real daemon (SPEC §10, issue 15):
the process that parses untrusted repositories holds nothing worth
taking and can do nothing but read its repository and write its
tenant's published directory.

- its credentials: `user` (nobody) in every uid and gid, no capability,
  no_new_privs, a seccomp filter, a scrubbed environment, no socket but
  its channel to the parent, no listener;
- system calls made to run inside the live publisher (ptrace, inject.py)
  get the answers of its own sandbox: its repository opens and its
  published directory takes a new file; a world-readable variable of
  its tenant's store, the tenant's registry, /etc/passwd and a file in
  world-writable /tmp are refused by Landlock (a process of the same
  uid outside the sandbox opens them: the control); socket() and
  execve() kill it with SIGSYS; the parent restarts it and the widgets
  keep serving throughout;
- hostile repositories through the daemon: symbolic links (to the
  store, to /etc/passwd) are skipped with a build warning, never
  followed, and no published file holds what they point at; trees
  crafted with "..", percent-encoded traversal, an invalid UTF-8 name,
  101 files fail with their codes while the previous generation keeps
  serving byte for byte; nothing outside the tenant's published
  directory changes."""

import errno
import os
import pwd
import secrets
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import (check, need_root, request, status_of,  # noqa: E402
                    wait_for)
from extutil import (ExtDaemon, Repo, check_security_headers,  # noqa: E402
                     git, registry, widget)
import inject  # noqa: E402

need_root()

CANARY = "CANARY" + secrets.token_hex(16)
H = "acme.example"

d = ExtDaemon(tenants=[], workers=1, extensions="poll_interval = 1;")
repo = Repo(d.dir)
store = os.path.join(d.dir, "store-acme")
os.makedirs(store, exist_ok=True)
d.set_variable("leak", CANARY, store=store)
d.set_secret("k", CANARY, store=store)
d.set_tenants([("acme", [H], repo.bare, None)])
variable = os.path.join(store, "variables", "leak")
reg = os.path.join(d.dir, "reg-acme.json")
nobody = pwd.getpwnam("nobody")
mark = 0


def get(path):
    return request(d.port, "GET", path, host=H)


def publisher():
    kids = d.children("publisher")
    check(len(kids) == 1, "one publisher runs (%d)" % len(kids))
    return next(iter(kids))


def confined(pid):
    """pid has dropped its privileges and loaded its own filter.  Seccomp
    alone says nothing: a child inherits the parent's filter at fork."""
    try:
        own = status_of(pid, "Seccomp_filters")
        parent = status_of(d.proc.pid, "Seccomp_filters")
        uids = status_of(pid, "Uid")
    except OSError:
        return False
    if own is None:     # an older kernel: its first log line will do
        return "up to date" in d.logtext()[mark:]
    return (int(own[0]) > int(parent[0]) and
            all(int(u) == nobody.pw_uid for u in uids))


def serving():
    """The live generation's manifest and every file it names, bytes."""
    st, _, m = d.manifest(H)
    check(st == 200, "the manifest is served")
    out = {"generation": m["generation"]}
    for w in m["widgets"]:
        for name in ("index.html", "app.js"):
            u = w["entryUrl"].replace("index.html", name)
            st, _, out[u] = get(u)
            check(st == 200, "%s is served" % u)
    return out


def readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return ""       # a descriptor closed since the listing


def as_nobody(path, flags):
    """The control: a process of the publisher's uid without its sandbox
    opens path with flags (0 or the errno)."""
    def drop():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    code = ("import os,sys\ntry:\n os.close(os.open(sys.argv[1], %d, 0o644))"
            "\nexcept OSError as e:\n sys.exit(e.errno)\n" % flags)
    r = subprocess.run([sys.executable, "-c", code, path], preexec_fn=drop)
    return r.returncode


def tree_entries(rev):
    out = []
    for e in git(repo.bare, "ls-tree", "-z", rev).split("\0"):
        if e:
            meta, name = e.split("\t", 1)
            mode, _, sha = meta.split()
            out.append((mode, sha, name.encode()))
    return out


def crafted(base, extra, msg):
    """A commit on main: base's tree whose widgets/hello also holds the
    entries extra (mode, sha, name bytes), names git itself refuses."""
    hello = tree_entries(base + ":widgets/hello") + list(extra)
    widgets = [e for e in tree_entries(base + ":widgets")
               if e[2] != b"hello"]
    widgets.append(("40000", repo.tree(hello), b"hello"))
    root = [e for e in tree_entries(base) if e[2] != b"widgets"]
    root.append(("40000", repo.tree(widgets), b"widgets"))
    return repo.commit_tree("main", repo.tree(root), msg)


def outside_state():
    """Every path under the test's directory but the published one and
    the files the test itself writes, with size and mtime."""
    pub = d.published("acme")
    out = {}
    for root, dirs, files in os.walk(d.dir):
        if root.startswith(pub) or root.startswith(repo.work) or \
                root.startswith(repo.bare):
            continue
        for n in files:
            p = os.path.join(root, n)
            if p == d.logpath:
                continue
            st = os.lstat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


try:
    repo.write("extensions_registry.json", registry(
        [widget("hello", "widgets/hello")]))
    repo.write("widgets/hello/index.html", "<script src=app.js></script>")
    repo.write("widgets/hello/app.js", "console.log('hello');\n")
    c1 = repo.commit("first")
    os.environ["WIDGETD_TEST_TOKEN"] = "hunter2"
    d.start()
    del os.environ["WIDGETD_TEST_TOKEN"]
    d.wait_generation(H, lambda m: m["commit"] == c1)
    live = serving()

    # --- Credentials. ----------------------------------------------------
    pid = publisher()
    check(wait_for(lambda: confined(pid), 20), "the publisher confined "
          "itself")
    check(all(int(u) == nobody.pw_uid for u in status_of(pid, "Uid")),
          "publisher: every uid is nobody")
    check(all(int(g) == nobody.pw_gid for g in status_of(pid, "Gid")),
          "publisher: every gid is nobody's")
    check(status_of(pid, "Groups") == [str(nobody.pw_gid)],
          "publisher: its own group only, as a supplementary group")
    for cap in ("CapPrm", "CapEff", "CapAmb"):
        check(int(status_of(pid, cap)[0], 16) == 0,
              "publisher: no capability in %s" % cap)
    check(status_of(pid, "NoNewPrivs") == ["1"], "publisher: no_new_privs")
    check(status_of(pid, "Seccomp") == ["2"], "publisher: seccomp filter")
    with open("/proc/%d/environ" % pid, "rb") as f:
        check(b"hunter2" not in f.read(), "publisher: environment scrubbed")
    with open("/proc/net/unix") as f:
        unix = {ln.split()[6] for ln in f.read().splitlines()[1:]}
    fddir = "/proc/%d/fd" % pid
    paths = [readlink(os.path.join(fddir, fd)) for fd in os.listdir(fddir)]
    socks = [t[8:-1] for t in paths if t.startswith("socket:[")]
    check(len(socks) == 1 and socks[0] in unix,
          "publisher: one socket, a unix one (its channel): %s" % socks)
    check(not any(p.startswith(store) or p.startswith(reg) for p in paths),
          "publisher: no descriptor of the store or the registry")

    # --- Its own sandbox answers system calls made to run inside it. -----
    if not inject.supported():
        print("# SKIP injection: needs x86-64")
    else:
        S = inject.SYS
        O_RDONLY, O_WRITE = os.O_RDONLY, os.O_WRONLY | os.O_CREAT | os.O_EXCL
        head = os.path.join(repo.bare, "HEAD")
        r = inject.syscall(pid, S["openat"], inject.AT_FDCWD,
                           head.encode(), O_RDONLY)
        check(isinstance(r, int) and r >= 0,
              "the publisher opens its repository (%r)" % r)
        check(inject.syscall(pid, S["close"], r) == 0, "and closes it")
        probe = os.path.join(d.published("acme"), "probe")
        r = inject.syscall(pid, S["openat"], inject.AT_FDCWD,
                           probe.encode(), O_WRITE, 0o644)
        check(isinstance(r, int) and r >= 0 and os.path.exists(probe),
              "it creates a file in its published directory (%r)" % r)
        inject.syscall(pid, S["close"], r)
        check(inject.syscall(pid, S["unlinkat"], inject.AT_FDCWD,
                             probe.encode(), 0) == 0 and
              not os.path.exists(probe), "and removes it")

        escape = "/tmp/widgetd-escape-" + secrets.token_hex(6)
        for what, path, flags in (
                ("a world-readable variable of its store", variable,
                 O_RDONLY),
                ("its tenant's registry", reg, O_RDONLY),
                ("/etc/passwd", "/etc/passwd", O_RDONLY),
                ("a new file in /tmp", escape, O_WRITE)):
            check(as_nobody(path, flags) == 0,
                  "control: nobody outside the sandbox opens %s" % what)
            if os.path.exists(escape):
                os.unlink(escape)
            r = inject.syscall(pid, S["openat"], inject.AT_FDCWD,
                               path.encode(), flags, 0o644)
            check(r == -errno.EACCES,
                  "Landlock refuses the publisher %s (%r)" % (what, r))
        check(not os.path.exists(escape), "nothing was created in /tmp")
        check(inject.syscall(pid, S["openat"], inject.AT_FDCWD,
                             os.path.join(store, "secrets", "k").encode(),
                             O_RDONLY) == -errno.EACCES,
              "nor a secret of its store")

        d.allow_sigsys = True
        for what, call in (
                ("socket(AF_INET)", lambda p: inject.syscall(
                    p, S["socket"], 2, 1, 0)),
                ("execve(/bin/sh)", lambda p: inject.syscall(
                    p, S["execve"], b"/bin/sh", 0, 0))):
            pid = publisher()
            mark = len(d.logtext())
            r = call(pid)
            check(isinstance(r, inject.Killed) and
                  r.signal == signal.SIGSYS,
                  "%s kills the publisher with SIGSYS (%r)" % (what, r))
            check(serving() == live, "%s: the widgets keep serving byte "
                  "for byte" % what)
            check(wait_for(lambda: any(confined(p) for p in
                                       d.children("publisher")
                                       if p != pid), 30),
                  "%s: the parent starts a confined publisher again" % what)
        text = d.logtext()
        check(text.count("killed by signal %d" % signal.SIGSYS) == 2,
              "the parent logs both deaths")
        check("up to date" in text, "a restarted publisher does not "
              "publish the same commit again")

    # --- Hostile repositories through the daemon. ------------------------
    before = outside_state()
    n = d.last_build("acme")
    os.symlink(variable, os.path.join(repo.work, "widgets/hello/leak.js"))
    os.symlink("../../../../../../../etc/passwd",
               os.path.join(repo.work, "widgets/hello/passwd.js"))
    c = repo.commit("links")
    rc, out, _ = d.publish("acme")
    b = d.wait_build("acme", n)
    check(rc == 0 and b["state"] == "Warning" and b["commit"] == c,
          "symbolic links publish with a warning (%s)" % b["state"])
    for name in ("leak.js", "passwd.js"):
        check(any("widgets/hello/%s is a symbolic link: skipped" % name in w
                  for w in b["warnings"]), "the warning names %s" % name)
    m = d.wait_generation(H, lambda m: m["commit"] == c)
    base = m["widgets"][0]["entryUrl"].rsplit("/", 1)[0]
    for name in ("leak.js", "passwd.js"):
        check(get(base + "/" + name)[0] == 404, "%s is not served" % name)
    leaked = []
    for root, _, files in os.walk(d.published("acme")):
        for n_ in files:
            with open(os.path.join(root, n_), "rb") as f:
                data = f.read()
            if CANARY.encode() in data or b"root:x:0:0" in data:
                leaked.append(os.path.join(root, n_))
    check(not leaked, "no published file holds what a link points at: %s" %
          leaked)
    live = serving()

    hostile = [
        ("..", "PATH_TRAVERSAL_DETECTED"),
        ("%2e%2e", "PATH_TRAVERSAL_DETECTED"),
        ("..\\..\\x.js", "PATH_TRAVERSAL_DETECTED"),
        (b"bad\xff\xfe.js", "INVALID_WIDGET_STRUCTURE"),
    ]
    evil = repo.blob("alert(1)\n")
    for name, code in hostile:
        raw = name if isinstance(name, bytes) else name.encode()
        sub = repo.tree([("100644", evil, b"evil.js")])
        entry = ("40000", sub, raw) if raw.startswith(b"..") or \
            raw.startswith(b"%") else ("100644", evil, raw)
        n = d.last_build("acme")
        crafted(c, [entry], "hostile %r" % name)
        rc, out, _ = d.publish("acme")
        b = d.wait_build("acme", n)
        check(rc == 1 and b["state"] == "Failed" and b["code"] == code,
              "an entry named %r fails with %s (%s)" % (name, code,
                                                         b["code"]))
        check(serving() == live, "%r: the previous generation serves byte "
              "for byte" % name)
    n = d.last_build("acme")
    git(repo.work, "reset", "-q", "--hard")
    repo.write("widgets/hello/index.html", "<p>x</p>")
    for i in range(100):
        repo.write("widgets/hello/f%03d.txt" % i, "%d\n" % i)
    repo.commit("101 files and more")
    rc, out, _ = d.publish("acme")
    b = d.wait_build("acme", n)
    check(rc == 1 and b["code"] == "MAX_FILES_EXCEEDED",
          "more than 100 files in a widget fail (%s)" % b["code"])
    check(serving() == live, "too many files: the previous generation "
          "serves byte for byte")
    check(outside_state() == before, "nothing outside the published "
          "directory changed")
    layout = set(os.listdir(d.published("acme")))
    check(layout <= {"builds", "current", "gens", "gens.seq", "objects",
                      ".lock"},
          "the published directory holds only its own layout: %s" %
          sorted(layout))
    st, h, _ = get(next(u for u in live if u != "generation"))
    check(st == 200, "a file is served after the hostile pushes")
    check_security_headers(h, what="a file after the hostile pushes")
    check(d.stop() == 0, "the daemon stops cleanly")
finally:
    d.cleanup()
