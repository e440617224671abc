"""HTTPS upstreams through the whole daemon (as root or not): the
keeper trusts egress.ca_file and nothing else, checks the name, and a
daemon without allow_http loads no http:// connector.

Two certificate authorities are made now with the openssl command line
(upstream.TestCA).  The daemon's ca_file is the first.  Upstreams on
loopback (allow_networks 127.0.0.0/8, names pinned with egress.resolve):
  - a certificate from the first CA for api.test and 127.0.0.1: 200, by
    name and by literal address, the API key injected;
  - the same names from the second CA: 502 "Downstream (network/external
    service)" naming the certificate, and the upstream sees no request
    (the key is never sent);
  - a certificate from the first CA for other.test only, reached as
    api.test: 502 naming the name, no request either;
  - ca_file rewritten to the second CA and a reload: the first upstream
    now fails and the second works (the bundle is read on reload).
And allow_http = false (the default): an http:// connector is refused by
the loader, at start-up and on reload, with its reason."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import SKIP, Daemon, check  # noqa: E402
from upstream import TestCA, Upstream  # noqa: E402

SCOPE = "Downstream (network/external service)"


def egress(ca, pins):
    return ("egress = { ca_file = \"%s\"; timeout = 5;\n"
            "  allow_networks = [ \"127.0.0.0/8\" ];\n"
            "  resolve = [ %s ]; };\n" %
            (ca, ", ".join('"%s"' % p for p in pins)))


def main():
    if shutil.which("openssl") is None:
        print("SKIP: no openssl command")
        sys.exit(SKIP)
    ca1, ca2 = TestCA("widgetd test CA one"), TestCA("widgetd test CA two")
    good = Upstream(tls=ca1.server(names=("api.test",), ips=("127.0.0.1",)))
    foreign = Upstream(tls=ca2.server(names=("api.test",),
                                      ips=("127.0.0.1",)))
    misnamed = Upstream(tls=ca1.server(names=("other.test",), ips=()))
    ups = {"good": good, "foreign": foreign, "misnamed": misnamed}
    key = {"type": "api_key", "config": {
        "key": "X-Api-Key", "value": "{{ get_secret('k') }}",
        "in": "header"}}
    conns = [{"name": n, "permalink": n, "method": "GET",
              "url": u.url("/x", host="api.test"), "authentication": key}
             for n, u in ups.items()]
    conns.append({"name": "by address", "permalink": "by-address",
                  "method": "GET", "url": good.url("/x"),
                  "authentication": key})
    d = Daemon(workers=1)
    bundle = os.path.join(d.dir, "ca.pem")
    shutil.copy(ca1.cert, bundle)
    d.egress = egress(bundle, ["api.test:%d:127.0.0.1" % u.port
                               for u in ups.values()])
    d.write_conf()

    def call(perm):
        st, hdrs, body = d.call("GET", "/widget-service/connectors/%s/"
                                "execute" % perm)
        doc = json.loads(body) if body.startswith(b"{") else {}
        return st, doc, body

    try:
        d.connectors(*conns)
        d.set_secret("k", "tls-test-api-key-0123")
        d.start()

        for perm in ("good", "by-address"):
            st, doc, body = call(perm)
            check(st == 200 and doc.get("path") == "/x" and
                  ["X-Api-Key", "[REDACTED]"] in doc.get("headers", []),
                  "%s: 200 over TLS verified against ca_file, the key "
                  "injected" % perm)
        check(len(good.requests) == 2 and all(
            r.header("X-Api-Key") == "tls-test-api-key-0123"
            for r in good.requests), "the trusted upstream got the key")

        def refused(perm, words, what):
            st, doc, body = call(perm)
            err = doc.get("errors", {})
            check(st == 502 and err.get("scope") == SCOPE and
                  all(w in err.get("detail", "") for w in words) and
                  ups[perm].requests == [],
                  "%s: 502 \"%s\", the upstream saw no request" %
                  (what, err.get("detail")))

        refused("foreign", ["certificate", "not trusted"],
                "a certificate from another CA")
        refused("misnamed", ["certificate", "api.test"],
                "a certificate for another name")

        # The bundle is read again on reload: trust moves with it.
        shutil.copy(ca2.cert, bundle)
        r = d.widgetctl("reload")
        check(r.returncode == 0, "reload with ca_file now the second CA")
        st, doc, _ = call("foreign")
        check(st == 200, "the second CA's upstream now works (%d)" % st)
        good.reset()
        st, doc, _ = call("good")
        check(st == 502 and "certificate" in doc["errors"]["detail"] and
              good.requests == [],
              "and the first CA's is refused, on a new connection: %s" %
              doc.get("errors", {}).get("detail"))

        # allow_http is false: http:// does not load.
        plain = {"name": "plain", "permalink": "plain", "method": "GET",
                 "url": "http://api.test:%d/x" % good.port}
        d.connectors(*conns, plain)
        r = d.widgetctl("reload")
        out = (r.stdout + r.stderr).decode()
        check(r.returncode != 0 and "the URL must use https://" in out,
              "reload with an http:// connector refused: %s" %
              out.strip().splitlines()[-1:])
        st, _, _ = call("plain")
        check(st == 404, "and the connector does not exist (%d)" % st)
        path = os.path.join(d.dir, "plain.json")
        with open(path, "w") as f:
            json.dump({"connectors": [plain]}, f)
        r = d.widgetctl("check", path)
        check(r.returncode != 0 and b"the URL must use https:// (http:// "
              b"only with egress allow_http)" in r.stdout + r.stderr,
              "widgetctl check with the daemon's configuration refuses it")
        d.stop()
        p = subprocess.run([d.binary, "-n", "-c", d.conf],
                           capture_output=True, timeout=60)
        check(p.returncode != 0 and b"the URL must use https://" in
              p.stdout + p.stderr, "and so does widgetd -n, as a start "
              "would")
    finally:
        d.cleanup()
        for u in ups.values():
            u.close()
        shutil.rmtree(ca1.dir, ignore_errors=True)
        shutil.rmtree(ca2.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
