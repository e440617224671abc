#!/bin/sh
# The publish figure of issue 15: one widget of 100 files and about 10 MB
# (the per-widget limits of platform-docs §22), made of real library
# files (.js, .css) taken from SRC, e.g. a node_modules directory, put in
# a git repository and published with publish-bench: once from nothing,
# once after a push that changes one file (the rest is reused), and that
# again in one process that remembers what it scanned.
#   contrib/bench/publish-bench.sh BUILDDIR SRC
set -eu
[ $# -eq 2 ] || { echo "usage: $0 builddir src" >&2; exit 2; }
bench=$(cd "$1" && pwd)/contrib/bench/publish-bench
src=$2
top=$(mktemp -d "${TMPDIR:-/tmp}/publish-bench.XXXXXX")
trap 'rm -rf "$top"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.com
export GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.com
w=$top/repo/widgets/bench
mkdir -p "$w"
cd "$top/repo"
git init -q -b main
printf '{"widgets":[{"title":"Bench","type":"bench","category":"c",' \
    >extensions_registry.json
printf '"source":{"path":"widgets/bench","entry":"index.html"}}]}\n' \
    >>extensions_registry.json
# 99 files (each under 2 MB), about 10^7 bytes in all: each pick is the
# unused file closest to the average the remaining slots need.
python3 - "$src" "$w" <<'EOF'
import os, shutil, sys
src, dst = sys.argv[1:]
files = []
for root, _, names in os.walk(src):
    for n in names:
        p = os.path.join(root, n)
        if n.endswith((".js", ".css")) and not os.path.islink(p):
            size = os.path.getsize(p)
            if 1024 <= size < 2000000:
                files.append((size, p))
files.sort()
left = 10000000 - 4096
for i in range(99):
    want = left // (99 - i)
    k = min(range(len(files)), key=lambda j: abs(files[j][0] - want))
    size, p = files.pop(k)
    shutil.copy(p, os.path.join(dst, "f%02d.%s" % (i, p.rsplit(".", 1)[1])))
    left -= size
EOF
{
	echo '<!doctype html><html><head>'
	for f in "$w"/*.css; do echo "<link rel=stylesheet href=\"${f##*/}\">"; done
	echo '</head><body><div id=w></div>'
	for f in "$w"/*.js; do echo "<script src=\"${f##*/}\"></script>"; done
	echo '</body></html>'
} >"$w/index.html"
git add -A
git commit -q -m bench
echo "widget: $(ls "$w" | wc -l) files, $(cat "$w"/* | wc -c) bytes"
echo "== first publish"
"$bench" "$top/repo" main "$top/out"
echo '/* changed */' >>"$(ls "$w"/*.js | head -n 1)"
git commit -q -a -m change
echo "== a push that changes one file, a new process (no scan memory)"
"$bench" "$top/repo" main "$top/out"
echo "== once more, then a push that changes one file, in one process (as"
echo "   the daemon's publisher: the files it found clean are not scanned"
echo "   again)"
"$bench" "$top/repo" main "$top/out" \
    "echo '/* and again */' >>'$(ls "$w"/*.js | head -n 1)' && git commit -q -a -m again"
