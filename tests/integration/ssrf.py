"""The SSRF table through the whole daemon (root): a browser's call of a
connector whose destination is a special address gets 502 with the
policy's reason, and a listener on that address sees no connection.

Runs inside a private network and mount namespace (unshare -n -m) with
only lo, every test address aliased on it, and /etc/hosts and resolv.conf
of the test's own (bind mounts): nothing leaves this machine, and the
keeper resolves names the way it always does.  One dual-stack listener on
[::]:P counts every connection with the local address it reached; before
the daemon starts, the test connects to each aliased address itself, so a
count of 0 later means the address was reachable and nobody came.

For every address class netpolicy refuses (loopback v4 and v6,
RFC 1918, unique local, link-local with 169.254.169.254 and fe80::,
CGNAT, multicast, broadcast, unspecified v4 and v6, v4-mapped, SIIT,
NAT64, 6to4, Teredo, IPv4-compatible, documentation, benchmarking,
reserved, IETF, site-local, ORCHID, discard):
  - as a literal host in a connector URL, the loader refuses it
    (widgetctl check with the daemon's configuration names the host and
    the class; a reload with such a connector fails and changes nothing);
  - as a name that /etc/hosts resolves to it, and as a name an
    egress.resolve pin gives it, a call answers 502, scope "Downstream
    (network/external service)", detail "destination A refused: CLASS",
    and the listener sees 0 connections.
Addresses inside egress.allow_networks, and public ones, load and answer
200 through the same listener.  A name whose /etc/hosts entry changes
from a public address to loopback between two calls never reaches
loopback."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import SKIP, Daemon, check, fail, wait_for  # noqa: E402
from egress import Handler, Upstream as Counting  # noqa: E402

SCOPE = "Downstream (network/external service)"

# (what, address, class the policy names).  Addresses marked aliased are
# made local on lo; the others cannot carry a TCP connection at all.
REFUSED = [
    ("loopback", "127.0.0.1", "loopback address"),
    ("loopback, not .1", "127.9.9.9", "loopback address"),
    ("loopback v6", "::1", "loopback address"),
    ("private 10/8", "10.1.2.3", "private address"),
    ("private 172.16/12", "172.16.5.5", "private address"),
    ("private 192.168/16", "192.168.7.7", "private address"),
    ("unique local v6", "fd00::5", "unique local (private) address"),
    ("cloud metadata", "169.254.169.254", "link-local address"),
    ("link-local v6", "fe80::5", "link-local address"),
    ("carrier-grade NAT", "100.64.0.1", "carrier-grade NAT address"),
    ("carrier-grade NAT, top", "100.127.255.254",
     "carrier-grade NAT address"),
    ("multicast", "224.0.0.1", "multicast address"),
    ("multicast v6", "ff02::1", "multicast address"),
    ("broadcast", "255.255.255.255", "broadcast address"),
    ("unspecified", "0.0.0.0", "unspecified address"),
    ("unspecified v6", "::", "unspecified address"),
    ("v4-mapped loopback", "::ffff:127.0.0.1", "loopback address"),
    ("v4-mapped private", "::ffff:10.1.2.3", "private address"),
    ("v4-mapped metadata", "::ffff:169.254.169.254", "link-local address"),
    ("SIIT of loopback", "::ffff:0:7f00:1", "loopback address"),
    ("NAT64 of loopback", "64:ff9b::7f00:1", "loopback address"),
    ("NAT64 of 10.1.2.3", "64:ff9b::a01:203", "private address"),
    ("6to4 of 10.1.2.3", "2002:a01:203::1", "private address"),
    ("6to4 of metadata", "2002:a9fe:a9fe::1", "link-local address"),
    ("IPv4-compatible loopback", "::127.0.0.1", "reserved address"),
    ("Teredo", "2001::1", "Teredo address"),
    ("local-use NAT64", "64:ff9b:1::1", "local-use NAT64 address"),
    ("documentation 192.0.2/24", "192.0.2.1", "documentation address"),
    ("documentation 198.51.100/24", "198.51.100.1",
     "documentation address"),
    ("documentation 203.0.113/24", "203.0.113.1", "documentation address"),
    ("documentation v6", "2001:db8::5", "documentation address"),
    ("documentation 3fff::/20", "3fff::5", "documentation address"),
    ("benchmarking", "198.18.0.1", "benchmarking address"),
    ("benchmarking v6", "2001:2::1", "benchmarking address"),
    ("reserved 240/4", "240.0.0.1", "reserved address"),
    ("IETF protocol assignment", "192.0.0.1", "IETF protocol assignment"),
    ("6to4 relay anycast", "192.88.99.1", "6to4 relay anycast address"),
    ("site-local v6", "fec0::1", "site-local address"),
    ("ORCHID", "2001:10::1", "ORCHID address"),
    ("discard-only", "100::1", "discard-only address"),
    ("outside 2000::/3", "4000::1", "reserved address"),
]

# allow_networks of the daemon under test, and what it opens.
ALLOW_NETWORKS = ["10.9.9.0/24", "fd00:9::/32", "169.254.10.10/32"]
ALLOWED = [
    ("public", "8.8.8.8"),
    ("public v6", "2606:4700::1111"),
    ("NAT64 of a public address", "64:ff9b::808:808"),
    ("private inside allow_networks", "10.9.9.9"),
    ("v4-mapped inside allow_networks", "::ffff:10.9.9.9"),
    ("unique local inside allow_networks", "fd00:9::9"),
    ("one link-local address named in allow_networks", "169.254.10.10"),
]

# Spellings of a refused address the loader must see through.
SPELLINGS = [
    ("127.1", "loopback address"),
    ("0x7f.0.0.1", "loopback address"),
    ("0177.0.0.1", "loopback address"),
    ("2130706433", "loopback address"),
    ("0xa9fea9fe", "link-local address"),
    ("[0:0:0:0:0:ffff:7f00:1]", "loopback address"),
    ("[::ffff:a9fe:a9fe]", "link-local address"),
    ("localhost", "localhost is never an upstream"),
    ("LOCALHOST.", "localhost is never an upstream"),
    ("metadata.localhost", "localhost is never an upstream"),
]

# Addresses not aliased on lo: local already (loopback), or that no
# interface can hold (multicast, broadcast, unspecified, the v4 forms).
NO_ALIAS = ("127.0.0.1", "127.9.9.9", "::1", "224.0.0.1", "ff02::1",
            "255.255.255.255", "0.0.0.0", "::")
# Of the refused addresses, those that cannot carry a TCP connection here
# at all (for them "0 connections" holds whatever widgetd does; the 502
# and its reason are what shows the policy).
NO_TCP = {"224.0.0.1", "ff02::1", "255.255.255.255", "::ffff:0:7f00:1"}


class ClosingHandler(Handler):
    """/close answers and closes the connection: the next call needs a
    new one, so it must resolve the name again."""

    def do_GET(self):
        if self.path == "/close":
            self.close_connection = True
            self.reply(200, b"ok", [("Connection", "close")])
        else:
            super().do_GET()


def is6(a):
    return ":" in a


def urlhost(a):
    return "[%s]" % a if is6(a) else a


def slug(a):
    """A name for an address in host names and permalinks."""
    for i, (_, x, _) in enumerate(REFUSED):
        if x == a:
            return "r%d" % i
    for i, (_, x) in enumerate(ALLOWED):
        if x == a:
            return "a%d" % i
    return "s%d" % [x for x, _ in SPELLINGS].index(a)


def sh(*a):
    subprocess.run(a, check=True, capture_output=True)


def setup_namespace(d):
    sh("ip", "link", "set", "lo", "up")
    for _, a, _ in REFUSED:
        if a in NO_ALIAS or a.startswith("::ffff:"):
            continue
        if is6(a):
            sh("ip", "-6", "addr", "add", a + "/128", "dev", "lo", "nodad")
        else:
            sh("ip", "addr", "add", a + "/32", "dev", "lo")
    for _, a in ALLOWED:
        if a.startswith("::ffff:"):
            continue
        if is6(a):
            sh("ip", "-6", "addr", "add", a + "/128", "dev", "lo", "nodad")
        else:
            sh("ip", "addr", "add", a + "/32", "dev", "lo")
    hosts = os.path.join(d, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
        for _, a, _ in REFUSED:
            # glibc turns a mapped entry into plain v4: pins only.
            if not a.startswith("::ffff:"):
                f.write("%s h-%s.test\n" % (a, slug(a)))
        for _, a in ALLOWED:
            if not a.startswith("::ffff:"):
                f.write("%s h-%s.test\n" % (a, slug(a)))
        f.write("10.1.2.3 mixed.test\n8.8.8.8 mixed.test\n")
        f.write("8.8.8.8 rebind.test\n")
    resolv = os.path.join(d, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    sh("mount", "--bind", hosts, "/etc/hosts")
    sh("mount", "--bind", resolv, "/etc/resolv.conf")
    return hosts


def probe(addr, port):
    """Connect to addr:port ourselves: True if a TCP connection opened."""
    fam = socket.AF_INET6 if is6(addr) else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        if addr.startswith("fe80:"):
            s.connect((addr, port, 0, socket.if_nametoindex("lo")))
        else:
            s.connect((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def conn(perm, host, port, path="/ok"):
    return {"name": perm, "permalink": perm, "method": "GET",
            "url": "http://%s:%d%s" % (host, port, path)}


def egress_conf(pins):
    return ("egress = { allow_http = true; timeout = 5;\n"
            "  ca_file = \"/etc/ssl/certs/ca-certificates.crt\";\n"
            "  allow_networks = [ %s ];\n  resolve = [ %s ]; };\n" %
            (", ".join('"%s"' % n for n in ALLOW_NETWORKS),
             ",\n    ".join('"%s"' % p for p in pins)))


def call(d, perm):
    st, hdrs, body = d.call("GET", "/widget-service/connectors/%s/execute"
                            % perm)
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    return st, doc


def netns_main():
    d0 = tempfile.mkdtemp(prefix="ssrf-ns.")
    hosts = setup_namespace(d0)
    srv = Counting(("::", 0), family=socket.AF_INET6)
    srv.RequestHandlerClass = ClosingHandler
    p = srv.port

    # Every aliased address really reaches the listener (else 0 later
    # would prove nothing); the others cannot carry TCP here at all.
    reach = {}
    for _, a, _ in REFUSED:
        before = srv.count()
        ok = probe(a, p)
        reach[a] = ok and wait_for(lambda: srv.count() > before, 2)
    live = [a for a, ok in reach.items() if ok]
    dead = [a for a, ok in reach.items() if not ok]
    check(set(dead) == NO_TCP, "%d refused addresses reach the listener "
          "when we connect ourselves; %d cannot carry TCP here (%s)" %
          (len(live), len(dead), ", ".join(dead)))
    for _, a in ALLOWED:
        if not a.startswith("::ffff:"):
            before = srv.count()
            check(probe(a, p) and wait_for(lambda: srv.count() > before, 2),
                  "allowed %s reaches the listener directly" % a)

    pins = []
    conns = []
    for _, a, _ in REFUSED:
        if not a.startswith("::ffff:"):
            conns.append(conn("h-" + slug(a), "h-%s.test" % slug(a), p))
        pins.append("pin-%s.test:%d:%s" % (slug(a), p, urlhost(a)))
        conns.append(conn("pin-" + slug(a), "pin-%s.test" % slug(a), p))
    for _, a in ALLOWED:
        if not a.startswith("::ffff:"):
            conns.append(conn("h-" + slug(a), "h-%s.test" % slug(a), p))
        pins.append("pin-%s.test:%d:%s" % (slug(a), p, urlhost(a)))
        conns.append(conn("pin-" + slug(a), "pin-%s.test" % slug(a), p))
        conns.append(conn("lit-" + slug(a), urlhost(a), p))
    conns.append(conn("mixed", "mixed.test", p))
    conns.append(conn("rebind", "rebind.test", p, "/close"))

    d = Daemon(workers=1, egress=egress_conf(pins))
    d.conns = conns
    try:
        d.connectors(*conns)
        d.start()
        literal_table(d, p)

        n = 0
        for what, a, why in REFUSED:
            ways = ["pin"] if a.startswith("::ffff:") else ["hosts", "pin"]
            for how in ways:
                perm = ("h-" if how == "hosts" else "pin-") + slug(a)
                before = srv.count()
                st, doc = call(d, perm)
                time.sleep(0.02)
                err = doc.get("errors", {})
                want = "destination %s refused: %s" % (urlhost(a), why)
                check(st == 502 and err.get("scope") == SCOPE and
                      err.get("detail") == want and srv.count() == before,
                      "%s %s via %s: %d \"%s\", listener saw %d" %
                      (what, a, "/etc/hosts" if how == "hosts" else
                       "an egress.resolve pin", st, err.get("detail"),
                       srv.count() - before))
                n += 1
        check(n >= 2 * len(REFUSED) - 4, "%d refused calls" % n)

        for what, a in ALLOWED:
            ways = ["pin", "lit"] + ([] if a.startswith("::ffff:")
                                     else ["h"])
            for how in ways:
                before = list(srv.accepted)
                st, doc = call(d, "%s-%s" % (how, slug(a)))
                new = srv.accepted[len(before):]
                check(st == 200 and len(new) == 1 and
                      new[0] in (a, "::ffff:" + a),
                      "%s %s (%s): 200 through the listener at %s" %
                      (what, a, {"pin": "an egress.resolve pin",
                                 "lit": "a literal URL",
                                 "h": "/etc/hosts"}[how], new))

        before = list(srv.accepted)
        st, doc = call(d, "mixed")
        new = srv.accepted[len(before):]
        check(st == 200 and all(x == "::ffff:8.8.8.8" for x in new),
              "a name with 10.1.2.3 and 8.8.8.8: only 8.8.8.8 is reached "
              "(%s)" % (new or "kept-alive"))

        # A name that changes its answer to loopback between calls.
        before = list(srv.accepted)
        st, _ = call(d, "rebind")
        check(st == 200 and srv.accepted[len(before):] == ["::ffff:8.8.8.8"],
              "rebind.test at 8.8.8.8: 200, the connection closed after")
        with open(hosts) as f:
            text = f.read()
        with open(hosts, "w") as f:     # same inode: the bind mount holds
            f.write(text.replace("8.8.8.8 rebind.test",
                                 "127.0.0.1 rebind.test"))
        before = list(srv.accepted)
        results = []
        for _ in range(3):
            st, doc = call(d, "rebind")
            results.append(st)
            if st != 200 and doc.get("errors", {}).get("detail") != \
                    "destination 127.0.0.1 refused: loopback address":
                results.append(doc)
        new = srv.accepted[len(before):]
        check(all(x == "::ffff:8.8.8.8" for x in new) and
              all(s in (200, 502) for s in results),
              "rebind.test now loopback: loopback never reached (new "
              "connections %s; statuses %s)" % (new, results))
        check("killed by signal" not in d.logtext(), "no child died")
    finally:
        d.cleanup()
        srv.shutdown()
        shutil.rmtree(d0, ignore_errors=True)


def literal_table(d, p):
    """Literal hosts: refused by the loader with the reason."""
    conns = []
    for what, a, why in REFUSED:
        conns.append((conn("lit-" + slug(a), urlhost(a), p), a, why))
    for lit, why in SPELLINGS:
        conns.append((conn("lit-" + slug(lit), lit, p),
                      lit.lower().strip("[]"), why))
    path = os.path.join(d.dir, "bad.json")
    bad = [c for c, _, _ in conns]
    with open(path, "w") as f:
        json.dump({"connectors": bad}, f, indent=1)
    r = d.widgetctl("check", path)
    out = (r.stdout + r.stderr).decode()
    check(r.returncode != 0, "widgetctl check of %d literal hosts fails" %
          len(conns))
    lines = [ln for ln in out.splitlines() if "is not allowed" in ln]
    for c, host, why in conns:
        hit = [ln for ln in lines if "connector '%s'" % c["permalink"] in ln
               and "the host '%s' is not allowed: %s" % (host, why) in ln]
        check(len(hit) == 1, "literal %s: the loader refuses it: %s" %
              (c["url"], hit[0].split(": ", 1)[-1] if hit else
               "no such error in: " + out[:3000]))
    check(len(lines) == len(conns), "one error per literal connector "
          "(%d)" % len(lines))

    # The daemon's own reload refuses one too, and keeps serving.
    d.connectors(*d.conns, conn("lit-bad", "169.254.169.254", p))
    r = d.widgetctl("reload")
    check(r.returncode != 0 and b"169.254.169.254" in r.stdout + r.stderr,
          "a reload with a metadata-address connector fails: %s" %
          (r.stdout + r.stderr).decode().strip().splitlines()[-1:])
    st, doc = call(d, "lit-bad")
    check(st == 404, "and the refused connector does not exist (%d)" % st)
    d.connectors(*d.conns)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--netns":
        netns_main()
        return
    if os.geteuid() != 0:
        print("SKIP: needs root (a private network namespace)")
        sys.exit(SKIP)
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            print("SKIP: no %s command" % tool)
            sys.exit(SKIP)
    pr = subprocess.run(["unshare", "-n", "-m", "true"], capture_output=True)
    if pr.returncode != 0:
        print("SKIP: unshare -n -m is not permitted here: " +
              pr.stderr.decode().strip())
        sys.exit(SKIP)
    r = subprocess.run(["unshare", "-n", "-m", sys.executable,
                        os.path.abspath(__file__), "--netns"], timeout=900)
    if r.returncode != 0:
        fail("the SSRF table failed inside the namespace")


if __name__ == "__main__":
    main()
