"""Secret confinement against a real daemon (root): no process but the
keeper ever holds a secret, in any form.

Two canary secrets, made at random for this run: one long and
alphanumeric, written to the store as the operator's files are; one with
the characters encodings change ("/", "+", "=", "&", space, ":"), set
while the daemon runs with widgetctl secret set (a secret's value never
passes through the parent).  Connectors use them in every way a template
can: the api_key header, the api_key query parameter, a header row that
concatenates, | urlencode, | base64_encode (alone and of "user:" ~ secret,
as Basic authentication does), jwt_encode with the secret as the HS256 key
in a header, a query row.  The upstream echoes every request header and
the query into its body and its response headers, and on one path also
every encoding of what it received.

After calls of every connector, each canary in every form (raw, base64
and url-safe base64 with and without padding, hex in both cases,
percent-encoded) must be absent from:
  - every readable mapping of every worker and of the parent
    (/proc/PID/maps and /proc/PID/mem, read as root: the workers run as
    another user and are not dumpable, which root's CAP_SYS_PTRACE
    overrides);
  - every response a client got, headers and body;
  - every line the daemon logged;
and present, raw, in the keeper's memory: the same scan finds it where
it must be, so an empty result elsewhere means something."""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import string
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check, fail, need_root  # noqa: E402
from upstream import Upstream  # noqa: E402

# Mappings bigger than this are a sanitizer's shadow memory (tens of
# terabytes, reserved, never holding data): they are named, not read.
SHADOW = 1 << 36


def canary_alnum(n=48):
    abc = string.ascii_letters + string.digits
    return "CANARY" + "".join(secrets.choice(abc) for _ in range(n))


def canary_symbols(n=24):
    abc = string.ascii_letters + string.digits
    mid = "".join(secrets.choice(abc) for _ in range(n))
    return "Sym/" + mid[:8] + "+=& :" + mid[8:] + "~/x"


def forms(value):
    """Every form the canary must not appear in (bytes, deduplicated)."""
    raw = value.encode()
    out = {
        "raw": raw,
        "base64": base64.b64encode(raw),
        "base64 unpadded": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw),
        "base64url unpadded": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "percent-encoded": urllib.parse.quote(value, safe="").encode(),
        "percent-encoded lower": re.sub(
            rb"%[0-9A-F]{2}", lambda m: m.group(0).lower(),
            urllib.parse.quote(value, safe="").encode()),
        "form-encoded": urllib.parse.quote_plus(value, safe="").encode(),
    }
    seen, uniq = set(), {}
    for k, v in out.items():
        if v not in seen:
            seen.add(v)
            uniq[k] = v
    return uniq


def scan_memory(pid, needles):
    """Read every readable mapping of pid: ({form: [where]}, bytes read,
    mappings read, [mappings skipped with why])."""
    found = {}
    total = nmaps = 0
    skipped = []
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read().splitlines()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            parts = line.split(None, 5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            perms = parts[1]
            name = parts[5] if len(parts) > 5 else ""
            if perms[0] != "r":
                continue
            if hi - lo >= SHADOW:
                skipped.append("%s %s (%d GiB: sanitizer shadow)" %
                               (parts[0], name, (hi - lo) >> 30))
                continue
            data = bytearray()
            pos = lo
            ok = True
            while pos < hi:
                n = min(hi - pos, 1 << 24)
                try:
                    mem.seek(pos)
                    chunk = mem.read(n)
                except OSError as e:
                    # [vvar] and friends cannot be read through mem.
                    skipped.append("%s %s (%s)" % (parts[0], name,
                                                   e.strerror))
                    ok = False
                    break
                if not chunk:
                    break
                data += chunk
                pos += len(chunk)
            if ok:
                nmaps += 1
            total += len(data)
            for what, needle in needles.items():
                if needle in data:
                    found.setdefault(what, []).append(
                        "%s %s" % (parts[0], name))
    return found, total, nmaps, skipped


# Mappings the kernel does not let /proc/PID/mem read; anything else
# skipped fails the test (the scan must read everything it claims to).
UNREADABLE_OK = ("[vvar]", "[vvar_vclock]", "[vsyscall]")


def connectors(up):
    base = up.url("")
    hdr = lambda k, v: {"key": k, "value": v}  # noqa: E731
    jwt = "Bearer {{ jwt_encode({'sub': 'widget', 'iat': 1700000000}, " \
          "get_secret('%s'), 'HS256') }}"
    out = []
    for sec in ("k", "k2"):
        out += [
            {"name": "api key header " + sec, "permalink": "hdr-" + sec,
             "url": base + "/echo/hdr", "method": "GET",
             "authentication": {"type": "api_key", "config": {
                 "key": "X-Api-Key",
                 "value": "{{ get_secret('%s') }}" % sec, "in": "header"}}},
            {"name": "api key query " + sec, "permalink": "qry-" + sec,
             "url": base + "/echo/qry", "method": "GET",
             "authentication": {"type": "api_key", "config": {
                 "key": "api_key",
                 "value": "{{ get_secret('%s') }}" % sec, "in": "query"}}},
            {"name": "header rows " + sec, "permalink": "rows-" + sec,
             "url": base + "/echo/rows", "method": "GET",
             "headers": [
                 hdr("Authorization", "Bearer {{ get_secret('%s') }}" % sec),
                 hdr("X-Concat", "pre-{{ get_secret('%s') ~ '-mid-' ~ "
                     "tenant_id }}-post" % sec),
                 hdr("X-Urlencoded",
                     "{{ get_secret('%s') | urlencode }}" % sec),
                 hdr("X-Base64", "{{ get_secret('%s') | base64_encode }}"
                     % sec),
                 hdr("X-Basic", "Basic {{ ('user:' ~ get_secret('%s')) | "
                     "base64_encode }}" % sec),
             ]},
            {"name": "jwt header " + sec, "permalink": "jwt-" + sec,
             "url": base + "/echo/jwt", "method": "GET",
             "headers": [hdr("Authorization", jwt % sec)]},
            {"name": "query rows " + sec, "permalink": "qrows-" + sec,
             "url": base + "/echo/qrows", "method": "GET",
             "query_parameters": [
                 {"key": "sig", "value": "{{ get_secret('%s') }}" % sec},
                 {"key": "enc", "value": "{{ get_secret('%s') | urlencode }}"
                  % sec},
                 {"key": "b64", "value": "{{ get_secret('%s') | "
                  "base64_encode }}" % sec},
                 {"key": "plain", "value": "visible"},
             ]},
            # The upstream repeats what it got in every encoding.
            {"name": "all encodings " + sec, "permalink": "all-" + sec,
             "url": base + "/encodings", "method": "POST",
             "headers": [hdr("X-Key", "{{ get_secret('%s') }}" % sec)],
             "query_parameters": [
                 {"key": "key", "value": "{{ get_secret('%s') }}" % sec}],
             "response_body": "{{ response.body }}|{{ response.headers "
                              "| tojson }}"},
        ]
    return out


def encodings_answer(req):
    """Every received header value and query value, in every encoding, in
    the body and in response headers."""
    vals = [v for _, v in req.header_list]
    vals += [v for _, v in urllib.parse.parse_qsl(req.query)]
    doc = []
    hdrs = {"Content-Type": "application/json"}
    for i, v in enumerate(vals):
        b = v.encode()
        enc = [v, base64.b64encode(b).decode(),
               base64.b64encode(b).decode().rstrip("="),
               base64.urlsafe_b64encode(b).decode(),
               base64.urlsafe_b64encode(b).decode().rstrip("="),
               b.hex(), b.hex().upper(), urllib.parse.quote(v, safe=""),
               urllib.parse.quote_plus(v)]
        doc.append(enc)
        hdrs["X-Enc-%d" % i] = [e for e in enc]
    return 200, hdrs, json.dumps({"got": doc,
                                  "echo": req.echo()}).encode()


def jwt_of(key):
    """The JWT the jwt connector sends, computed here independently."""
    def b64(x):
        return base64.urlsafe_b64encode(x).rstrip(b"=")
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"},
                          separators=(",", ":")).encode())
    body = b64(json.dumps({"sub": "widget", "iat": 1700000000},
                          separators=(",", ":")).encode())
    sig = hmac.new(key.encode(), head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + b64(sig)).decode()


def main():
    need_root()
    k1, k2 = canary_alnum(), canary_symbols()
    up = Upstream()
    up.route("/encodings", encodings_answer)
    d = Daemon(workers=2, egress=TEST_EGRESS)
    try:
        d.connectors(*connectors(up))
        d.set_secret("k", k1)
        d.start()

        # The second canary arrives while the daemon runs, from widgetctl.
        r = d.widgetctl("secret", "set", "k2", stdin=k2.encode())
        check(r.returncode == 0, "widgetctl secret set k2 (exit %d: %s)" %
              (r.returncode, r.stderr.decode().strip()))
        check(k2.encode() not in r.stdout + r.stderr,
              "widgetctl does not print the value it set")

        responses = []
        perms = [c["permalink"] for c in connectors(up)]
        # Every connector, several times, from fresh and kept-alive
        # connections, so every worker serves some.
        for rnd in range(3):
            for p in perms:
                meth = "POST" if p.startswith("all-") else "GET"
                st, hdrs, body = d.call(
                    meth, "/widget-service/connectors/%s/execute?x=%d"
                    % (p, rnd), body=b'{"a": 1}' if meth == "POST" else b"",
                    headers=["Content-Type: application/json"]
                    if meth == "POST" else [])
                responses.append((p, st, hdrs, body))
                if st != 200:
                    d.dump_log()
                    fail("%s answered %d: %r" % (p, st, body[:300]))
        check(all(st == 200 for _, st, _, _ in responses),
              "%d calls of %d secret-using connectors answered 200" %
              (len(responses), len(perms)))

        # The calls really carried the secrets upstream (else absence
        # proves nothing): what the upstream saw, per connector.
        def saw(path, pred, what):
            reqs = up.seen(path)
            check(len(reqs) >= 6 and all(pred(q) for q in reqs),
                  "upstream saw %s (%d requests)" % (what, len(reqs)))

        def both(q, fn):
            return fn(q, k1) or fn(q, k2)

        saw("/echo/hdr", lambda q: q.header("X-Api-Key") in (k1, k2),
            "the api_key header")
        saw("/echo/qry", lambda q: dict(urllib.parse.parse_qsl(
            q.query)).get("api_key") in (k1, k2), "the api_key query value")
        saw("/echo/rows", lambda q: both(q, lambda q, k: (
            q.header("Authorization") == "Bearer " + k and
            q.header("X-Concat") == "pre-%s-mid-test-post" % k and
            q.header("X-Urlencoded") == urllib.parse.quote(k, safe="/") and
            q.header("X-Base64") == base64.b64encode(k.encode()).decode()
            and q.header("X-Basic") == "Basic " + base64.b64encode(
                ("user:" + k).encode()).decode())),
            "concatenated, urlencoded and base64 header rows")
        saw("/echo/jwt", lambda q: both(q, lambda q, k: q.header(
            "Authorization") == "Bearer " + jwt_of(k)),
            "a JWT signed with the secret (checked here with hmac)")
        saw("/echo/qrows", lambda q: both(q, lambda q, k: dict(
            urllib.parse.parse_qsl(q.query)) == {
                "sig": k, "enc": urllib.parse.quote(k, safe="/"),
                "b64": base64.b64encode(k.encode()).decode(),
                "plain": "visible", "x": q.query.rsplit("x=", 1)[1]}),
            "secret query rows")
        saw("/encodings", lambda q: q.header("X-Key") in (k1, k2),
            "the echo-every-encoding path")

        needles = {}
        for name, k in (("k", k1), ("k2", k2)):
            for what, f in forms(k).items():
                needles["%s %s" % (name, what)] = f

        # Memory.
        workers = d.children("worker")
        keepers = d.children("keeper")
        check(len(workers) == 2 and len(keepers) == 1,
              "two workers and a keeper to scan")
        targets = [(d.proc.pid, "parent")] + \
            [(p, "worker") for p in sorted(workers)]
        for pid, role in targets:
            found, total, nmaps, skipped = scan_memory(pid, needles)
            odd = [s for s in skipped if "sanitizer shadow" not in s and
                   not any(u in s for u in UNREADABLE_OK)]
            check(odd == [], "%s %d: every readable mapping read "
                  "(%d mappings, %.1f MiB%s)" %
                  (role, pid, nmaps, total / 1048576.0,
                   "" if not skipped else "; skipped: " +
                   ", ".join(skipped)))
            check(found == {}, "%s %d: no canary form in memory%s" %
                  (role, pid, "" if not found else ": " +
                   json.dumps(found)))
        # The scan works: the keeper holds both.
        for pid in keepers:
            found, total, nmaps, _ = scan_memory(
                pid, {"k": k1.encode(), "k2": k2.encode()})
            check("k" in found and "k2" in found,
                  "keeper %d: both canaries found by the same scan "
                  "(%d mappings, %.1f MiB)" % (pid, nmaps,
                                                 total / 1048576.0))
        # And the workers were the ones that served (their memory held
        # the upstream's redacted echo, not nothing).
        for pid in sorted(workers):
            found, _, _, _ = scan_memory(pid, {"mark": b"[REDACTED]",
                                               "echo": b"/echo/rows"})
            check("mark" in found,
                  "worker %d holds redacted answers it relayed" % pid)
        # Client responses: headers and bodies.
        leaks = []
        marks = 0
        for p, st, hdrs, body in responses:
            text = body + json.dumps(hdrs).encode()
            marks += body.count(b"[REDACTED]")
            for what, n in needles.items():
                if n in text:
                    leaks.append("%s in %s's response" % (what, p))
        check(leaks == [], "no canary form in %d responses (%d forms of "
              "2 canaries; %d [REDACTED] marks in bodies)" %
              (len(responses), len(needles), marks) +
              ("" if not leaks else ": " + "; ".join(leaks[:5])))
        check(marks >= len(responses),
              "every response shows the keeper redacted its echo")

        # Logs.
        log = d.logtext().encode()
        bad = [w for w, n in needles.items() if n in log]
        check(bad == [] and len(log.splitlines()) > 2 * len(responses),
              "no canary form in %d log lines%s" %
              (len(log.splitlines()), "" if not bad else ": " +
               ", ".join(bad)))

    finally:
        d.cleanup()
        up.close()


if __name__ == "__main__":
    main()
