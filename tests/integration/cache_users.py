"""The response cache never serves one user's answer to another, and is
transform-aware (issue 11, SPEC 7).

Two signed-in users call a connector whose header is templated from
user.id: two upstream calls, and each user's later call is a hit on
their own answer.  The same for a JWT signed with a secret over user.id
(the worker keys the secret tree's payload, not its template text, which
is the same for both).  A connector whose request does not depend on
the user is one upstream call for both; its response template that
reads user.id runs on every hit, so each gets their own name.  A
response template that reads only response.* and tenant_id runs once:
its hits write the stored output, and cost no template time at all,
where a template that also reads user.id renders on every hit."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import SKIP, TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                            # noqa: E402
from cacheutil import cache_status, execute, is_hit, is_miss, timing  # noqa
import sessions                                          # noqa: E402

if not sessions.available():
    print("SKIP: no python3-jwt / python3-cryptography")
    sys.exit(SKIP)


def echo(req):
    doc = {"n": len(up.seen(req.path)), "user": req.header("X-User"),
           "auth": req.header("Authorization")}
    return 200, {"Content-Type": "application/json",
                 "Cache-Control": "max-age=300"}, json.dumps(doc).encode()


# A template that takes a few milliseconds to render: 30000 steps.
HEAVY = ("{% set ns = namespace(s=0) %}{% for i in range(30000) %}"
         "{% set ns.s = ns.s + i %}{% endfor %}{{ ns.s }}:"
         "{{ (response.body | from_json).n }}")

up = Upstream()
up.route("/", echo)
d = Daemon(workers=1, egress=TEST_EGRESS, tenants=[sessions.TENANT])
try:
    signer = sessions.Signer(d.dir)
    d.set_secret("k", "jwt-signing-key-5d2c8e")
    d.connectors(
        {"name": "per user", "permalink": "per-user",
         "url": up.url("/per-user"),
         "headers": [{"key": "X-User", "value": "{{ user.id }}"}]},
        {"name": "jwt", "permalink": "jwt", "url": up.url("/jwt"),
         "headers": [{"key": "Authorization",
                      "value": "Bearer {{ jwt_encode({'sub': user.id}, "
                               "get_secret('k'), 'HS256') }}"}]},
        {"name": "shared", "permalink": "shared", "url": up.url("/shared"),
         "response_body": "{{ (response.body | from_json).n }}/"
                          "{{ user.id }}"},
        {"name": "shaped", "permalink": "shaped", "url": up.url("/shaped"),
         "response_body": HEAVY + "/{{ tenant_id }}"},
        {"name": "heavy user", "permalink": "heavy-user",
         "url": up.url("/heavy-user"),
         "response_body": HEAVY + "/{{ user.id }}"})
    d.start()
    alice = signer.headers(sub="alice")
    bob = signer.headers(sub="bob")

    def call(perm, who, hdrs):
        st, h, b = d.call("GET", execute(perm), headers=hdrs)
        check(st == 200, "%s as %s: 200 (%d %r)" % (perm, who, st, b[:200]))
        return h, b

    # A header from user.id: one entry per user.
    for perm in ("per-user", "jwt"):
        h, a1 = call(perm, "alice", alice)
        is_miss(h, "%s: alice's first call" % perm, stored=True)
        h, b1 = call(perm, "bob", bob)
        is_miss(h, "%s: bob's first call, not alice's entry" % perm,
                stored=True)
        h, a2 = call(perm, "alice", alice)
        is_hit(h, "%s: alice again" % perm)
        h, b2 = call(perm, "bob", bob)
        is_hit(h, "%s: bob again" % perm)
        check(a1 == a2 and b1 == b2 and a1 != b1,
              "%s: each user gets their own answer (%r, %r)" %
              (perm, a1, b1))
        check(len(up.seen("/" + perm)) == 2,
              "%s: two users, two upstream calls (%d)" %
              (perm, len(up.seen("/" + perm))))
    seen = up.seen("/per-user")
    check([r.header("X-User") for r in seen] == ["alice", "bob"],
          "per-user: the upstream saw alice's then bob's header")
    auths = [r.header("Authorization") for r in up.seen("/jwt")]
    check(len(set(auths)) == 2 and all(a.startswith("Bearer ey")
                                       for a in auths),
          "jwt: two different signed tokens went upstream")

    # The request is the same for everyone; the response template is not.
    h, b = call("shared", "alice", alice)
    check(b == b"1/alice", "shared: alice's rendering (%r)" % b)
    h, b = call("shared", "bob", bob)
    is_hit(h, "shared: bob's call is a hit")
    check(b == b"1/bob", "shared: rendered again for bob (%r)" % b)
    h, b = call("shared", "anonymous", [])
    check(b == b"1/None", "shared: and for an anonymous caller (%r)" % b)
    check(len(up.seen("/shared")) == 1, "shared: one upstream call")

    # Transform-aware: the stored output, or a rendering per hit.
    def hit_transform(perm, who, hdrs):
        best = None
        for i in range(5):
            h, b = call(perm, who, hdrs)
            is_hit(h, "%s: hit %d" % (perm, i + 1))
            _, ct = timing(h)
            t = ct["breakdown"]["transform_ms"]
            best = t if best is None else min(best, t)
        return best, b

    h, b = call("shaped", "alice", alice)
    is_miss(h, "shaped: the first call", stored=True)
    shaped, sb = hit_transform("shaped", "bob", bob)
    check(sb == b, "shaped: bob gets the output alice's call rendered")
    call("heavy-user", "alice", alice)
    heavy, hb = hit_transform("heavy-user", "bob", bob)
    check(hb.endswith(b"/bob"), "heavy-user: rendered for bob")
    check(heavy >= 0.5 and shaped * 4 < heavy,
          "transform-aware: a hit on the stored output renders nothing "
          "(%.1f ms of template time) where a template reading user.id "
          "renders on every hit (%.1f ms)" % (shaped, heavy))
    check(len(up.seen("/shaped")) == 1 and len(up.seen("/heavy-user")) == 1,
          "shaped, heavy-user: one upstream call each")
finally:
    d.stop()
    d.cleanup()
    up.close()
