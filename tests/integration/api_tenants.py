"""Tenants by Host (issue 7, SPEC 3): two tenants with the same permalink
reach their own upstreams with their own secrets and variables; a Host
of one tenant never reaches another's connector; a Host no tenant lists
is 404 CONNECTOR_NOT_FOUND when there is no default tenant, and the
default tenant's otherwise.  Host matching ignores case, the port and
one trailing dot."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access_is, common, execute, refused  # noqa: E402

SECRETS = {"acme": "acme-key-0c8e2b7f41", "globex": "globex-key-9d3a6e15c2",
           "dflt": "default-key-77aa01b3"}


def tenant(tid, hosts):
    h = "hosts = [ %s ]; " % ", ".join('"%s"' % x for x in hosts) \
        if hosts else ""
    return ('{ id = "%s"; %sregistry = "reg-%s.json"; store = "store-%s"; }'
            % (tid, h, tid, tid))


def data_connector(up, extra=()):
    return dict({"name": "data", "permalink": "data",
                 "url": up.url("/data/{{ get_variable('region') }}"),
                 "headers": [{"key": "X-Tenant", "value": "{{ tenant_id }}"},
                             {"key": "X-Var",
                              "value": "{{ get_variable('region') }}"}],
                 "authentication": {"type": "api_key", "config": {
                     "key": "X-Key", "value": "{{ get_secret('key') }}"}}},
                **dict(extra))


def setup(d, tids, ups):
    for tid in tids:
        store = os.path.join(d.dir, "store-" + tid)
        d.set_secret("key", SECRETS[tid], store=store)
        d.set_variable("region", "region-" + tid, store=store)
        conns = [data_connector(ups[tid])]
        if tid == "acme":
            conns.append(data_connector(ups[tid], {
                "name": "only acme", "permalink": "only-acme",
                "url": ups[tid].url("/only")}))
        d.connectors(*conns, path=os.path.join(d.dir, "reg-%s.json" % tid))


ups = {t: Upstream() for t in SECRETS}
d = d2 = None
try:
    d = Daemon(workers=2, egress=TEST_EGRESS, tenants=[
        tenant("acme", ["acme.example", "www.acme.example"]),
        tenant("globex", ["globex.example"])])
    setup(d, ["acme", "globex"], ups)
    d.start()

    def reached(host, tid, what, permalink="data", target=None):
        counts = {t: len(u.requests) for t, u in ups.items()}
        st, h, b = d.call("GET", execute(permalink), host=host)
        check(st == 200, "%s: 200 (%d %r)" % (what, st, b[:200]))
        others = [t for t, u in ups.items()
                  if len(u.requests) != counts[t] + (t == tid)]
        check(not others, "%s: only %s's upstream was called" % (what, tid))
        r = ups[tid].requests[-1]
        check(r.header("X-Key") == SECRETS[tid] and
              r.header("X-Tenant") == tid and
              r.header("X-Var") == "region-" + tid and
              r.path == (target or "/data/region-" + tid),
              "%s: %s's secret, tenant_id and variable (URL and header)"
              % (what, tid))
        common(h, what, external="127.0.0.1")
        access_is(d, h["x-request-id"], what, tid, permalink, 200,
                  upstream="200")
        return b

    for host, tid in (("acme.example", "acme"), ("www.acme.example", "acme"),
                      ("ACME.Example", "acme"), ("acme.example:8080", "acme"),
                      ("acme.example.", "acme"),
                      ("globex.example", "globex"),
                      ("GLOBEX.EXAMPLE:443", "globex")):
        b = reached(host, tid, "Host %s" % host)
        check(SECRETS[tid].encode() not in b and b"[REDACTED]" in b,
              "Host %s: the echoed secret comes back redacted" % host)
    reached("acme.example", "acme", "acme's own connector",
            permalink="only-acme", target="/only")

    # Another tenant's Host never reaches acme's connector.
    for host in ("globex.example", "globex.example:80"):
        rid, _ = refused(d, ups["acme"], "GET", execute("only-acme"), 404,
                         "CONNECTOR_NOT_FOUND", "Host %s asks for acme's "
                         "connector" % host, host=host)
        check(all(not u.seen("/only") or t == "acme" for t, u in
                  ups.items()) and len(ups["acme"].seen("/only")) == 1,
              "acme's upstream saw only acme's call")
        access_is(d, rid, "Host %s, acme's permalink" % host, "globex",
                  "-", 404, error="CONNECTOR_NOT_FOUND")
    # No default tenant: an unknown Host is 404 before any connector.
    for host in ("other.example", "acme.example.evil", "xacme.example",
                 "acme.example..", "127.0.0.1", "[::1]:80"):
        for t in ("acme", "globex"):
            rid, _ = refused(d, ups[t], "GET", execute("data"), 404,
                             "CONNECTOR_NOT_FOUND", "unknown Host %s (%s's "
                             "upstream)" % (host, t), host=host,
                             detail="no tenant serves this host")
        access_is(d, rid, "unknown Host %s" % host, "-", "-", 404,
                  error="CONNECTOR_NOT_FOUND")
    d.cleanup()
    d = None

    # A default tenant (no hosts) answers every other Host.
    d2 = Daemon(workers=1, egress=TEST_EGRESS, tenants=[
        tenant("acme", ["acme.example"]), tenant("dflt", [])])
    d = d2
    setup(d, ["acme", "dflt"], ups)
    d.start()
    reached("acme.example", "acme", "with a default tenant, acme's Host")
    for host in ("other.example", "globex.example", "127.0.0.1"):
        reached(host, "dflt", "Host %s goes to the default tenant" % host)
    rid, _ = refused(d, ups["dflt"], "GET", execute("only-acme"), 404,
                     "CONNECTOR_NOT_FOUND", "the default tenant does not "
                     "have acme's connector", host="other.example",
                     detail="no such connector")
    access_is(d, rid, "default tenant, acme's permalink", "dflt", "-", 404,
              error="CONNECTOR_NOT_FOUND")
finally:
    if d is not None:
        d.cleanup()
    for u in ups.values():
        u.close()
