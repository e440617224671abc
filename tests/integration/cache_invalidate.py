"""What a cached answer depended on changes: its entries go (issue 11,
SPEC 7).  One worker, five connectors, each stored and then a hit:

- `widgetctl secret set` of the secret one connector's header uses: that
  connector's next call goes upstream (with the new value); the others
  stay hits.  widgetctl status counts the dropped entries.
- `widgetctl variable set` of the variable one connector's header uses:
  that connector goes upstream with the new value, and its old entry is
  dropped (a variable is in the request, so the old entry could not
  answer any more; widgetctl status shows it gone rather than left to
  take memory); the others stay hits (the variable makes a new
  generation, which leaves unchanged connectors' entries alone).
- A reload with one connector's response template edited (the request,
  and so the key, is the same: only the drop keeps the old template's
  stored output from being served) and another removed: the edited one
  goes upstream and renders with the new template, the untouched ones
  stay hits, the removed one's entry goes; when a later reload brings the
  removed one back unchanged, it is not answered from the entry it had
  before."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import TEST_EGRESS, Daemon, check     # noqa: E402
from upstream import Upstream                      # noqa: E402
from cacheutil import counted, execute, status_json  # noqa


def answer(req):
    return 200, {"Cache-Control": "max-age=600",
                 "Content-Type": "text/plain"}, \
        b"%s #%d" % (req.path.encode(), len(up.seen(req.path)))


up = Upstream()
up.route("/", answer)
d = Daemon(workers=1, egress=TEST_EGRESS)


def conns(edited=False, removed=False):
    cs = [{"name": "plain", "permalink": "plain", "url": up.url("/plain")},
          {"name": "sec", "permalink": "sec", "url": up.url("/sec"),
           "headers": [{"key": "X-Key",
                        "value": "k={{ get_secret('k') }}"}]},
          {"name": "var", "permalink": "var", "url": up.url("/var"),
           "headers": [{"key": "X-Var",
                        "value": "{{ get_variable('v') }}"}]},
          {"name": "edit", "permalink": "edit", "url": up.url("/edit"),
           "response_body": ("two" if edited else "one") +
                            " {{ response.body }}"}]
    if not removed:
        cs.append({"name": "gone", "permalink": "gone",
                   "url": up.url("/gone")})
    return cs


ALL = ("plain", "sec", "var", "edit", "gone")

try:
    d.set_secret("k", "first-secret-4b1e")
    d.set_variable("v", "a")
    d.connectors(*conns())
    d.start()

    def call(perm, want, what):
        return counted(d, up, perm, "stored" if want == "miss" else want,
                       what)[1]

    for perm in ALL:
        call(perm, "miss", "first call")
        b = call(perm, "hit", "second call")
    check(b == b"/gone #1", "gone: the upstream's body (%r)" % b)
    b = call("edit", "hit", "third call")
    check(b == b"one /edit #1", "edit: the stored output (%r)" % b)
    dropped0 = status_json(d)["cache"]["dropped"]

    # A secret the request names: its entries go, the others stay.
    r = d.widgetctl("secret", "set", "k", stdin=b"second-secret-7c2a")
    check(r.returncode == 0, "secret set (%r)" % r.stderr)
    call("sec", "miss", "after the secret changed")
    seen = up.seen("/sec")
    check([q.header("X-Key") for q in seen] ==
          ["k=first-secret-4b1e", "k=second-secret-7c2a"],
          "sec: the call after the change sent the new value")
    call("sec", "hit", "again")
    for perm in ("plain", "var", "edit", "gone"):
        call(perm, "hit", "after another connector's secret changed")
    tot = status_json(d)["cache"]
    check(tot["dropped"] == dropped0 + 1,
          "widgetctl status: one entry dropped for the secret (%r)" % tot)

    # A variable one URL uses: a new generation; only that connector's go.
    r = d.widgetctl("variable", "set", "v", "b")
    check(r.returncode == 0, "variable set (%r)" % r.stderr)
    call("var", "miss", "after the variable changed")
    check([q.header("X-Var") for q in up.seen("/var")] == ["a", "b"],
          "var: the call after the change sent the new value")
    call("var", "hit", "again")
    for perm in ("plain", "sec", "edit", "gone"):
        call(perm, "hit", "after a variable it does not use changed")
    tot = status_json(d)["cache"]
    check(tot["dropped"] == dropped0 + 2 and tot["entries"] == 5,
          "widgetctl status: one more entry dropped for the variable, "
          "five left (%r)" % tot)

    # A reload: the edited connector's entries go, the untouched stay, and
    # so do a removed connector's.
    d.connectors(*conns(edited=True, removed=True))
    r = d.widgetctl("reload")
    check(r.returncode == 0, "reload (%r)" % r.stderr)
    b = call("edit", "miss", "after its template was edited")
    check(b == b"two /edit #2", "edit: the new template's output (%r)" % b)
    b = call("edit", "hit", "again")
    check(b == b"two /edit #2", "edit: and its hit (%r)" % b)
    for perm in ("plain", "sec", "var"):
        call(perm, "hit", "after a reload that left it alone")
    st, h, b = d.call("GET", execute("gone"))
    check(st == 404, "gone: removed, 404 (%d)" % st)
    check(status_json(d)["cache"]["entries"] == 4,
          "widgetctl status: four entries once gone's went")
    d.connectors(*conns(edited=True))
    r = d.widgetctl("reload")
    check(r.returncode == 0, "second reload (%r)" % r.stderr)
    call("gone", "miss", "back, unchanged: its old entry went with it")
    for perm in ALL:
        call(perm, "hit", "in the end")
finally:
    d.stop()
    d.cleanup()
    up.close()
