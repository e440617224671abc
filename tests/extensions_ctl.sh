#!/bin/sh
# widgetctl check on extensions registries and widgetctl scan: exit
# status and line formats (SPEC §10 "Checking by hand").
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/a" "$tmp/b"

# A valid registry: exit 0 and a summary.
cp "$top_srcdir/tests/fuzz/corpus/extreg/full.json" \
    "$tmp/a/extensions_registry.json"
"$WIDGETCTL" check "$tmp/a/extensions_registry.json" >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out"; fail "valid registry did not exit 0"; }
grep -q 'extensions_registry.json: 2 widgets, 2 scripts, 1 stylesheet OK' \
    "$tmp/out" || { cat "$tmp/out"; fail "no summary"; }

# The legacy name: exit 0 and a warning line.
printf '{"widgets": []}\n' >"$tmp/b/widget_registry.json"
"$WIDGETCTL" check "$tmp/b/widget_registry.json" >"$tmp/out" 2>&1 ||
	fail "widget_registry.json did not exit 0"
grep -q '^.*widget_registry.json: warning: ' "$tmp/out" || fail "no warning"

# Invalid: exit 1, every error as file:line:col: path: message, in order.
printf '{"widgets": [\n  {"title": "", "type": "t", "category": "c",\n   "source": {"path": "../x", "entry": "i.html"}}],\n "extra": 1}\n' \
    >"$tmp/a/extensions_registry.json"
"$WIDGETCTL" check "$tmp/a/extensions_registry.json" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "invalid registry did not exit 1"
[ "$(wc -l <"$tmp/out")" -eq 3 ] || { cat "$tmp/out"; fail "expected 3 errors"; }
f="$tmp/a/extensions_registry.json"
sed -n 1p "$tmp/out" | grep -qx "$f:2:13: widgets\[0\].title: must not be empty \[INVALID_WIDGET_STRUCTURE\]" ||
	{ cat "$tmp/out"; fail "line 1"; }
sed -n 2p "$tmp/out" | grep -qx "$f:3:23: widgets\[0\].source.path: '../x' must not leave its directory ('..') \[PATH_TRAVERSAL_DETECTED\]" ||
	{ cat "$tmp/out"; fail "line 2"; }
sed -n 3p "$tmp/out" | grep -qx "$f:4:2: extra: unknown key 'extra' \[INVALID_REGISTRY_SCHEMA\]" ||
	{ cat "$tmp/out"; fail "line 3"; }

# Another name is still a connector registry.
printf '{"widgets": []}\n' >"$tmp/other.json"
"$WIDGETCTL" check "$tmp/other.json" >/dev/null 2>&1
[ $? -eq 1 ] || fail "a file of another name was not read as a connector"

# scan: clean files exit 0 with no output.
printf 'var a = 1;\n' >"$tmp/ok.js"
printf '<p>hi</p>\n' >"$tmp/ok.html"
printf 'x' >"$tmp/img.svg"
"$WIDGETCTL" scan "$tmp/ok.js" "$tmp/ok.html" "$tmp/img.svg" >"$tmp/out" 2>/dev/null ||
	fail "clean files did not exit 0"
[ -s "$tmp/out" ] && fail "output for clean files"

# Findings: file:line: category: message, exit 1.
printf 'var a = 1;\neval(atob("YQ=="));\n' >"$tmp/bad.js"
printf '<p>\n<script src="https://evil.example/x.js"></script>\n' >"$tmp/bad.html"
"$WIDGETCTL" scan "$tmp/ok.js" "$tmp/bad.js" "$tmp/bad.html" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "findings did not exit 1"
grep -qx "$tmp/bad.js:2: obfuscation: eval() of a decoded or assembled string (atob)" \
    "$tmp/out" || { cat "$tmp/out"; fail "js finding line"; }
grep -qx "$tmp/bad.html:2: external_script_loading: <script src> from untrusted host evil.example" \
    "$tmp/out" || { cat "$tmp/out"; fail "html finding line"; }

# -T replaces the allow-list.
"$WIDGETCTL" scan -T evil.example "$tmp/bad.html" >/dev/null 2>&1 ||
	fail "-T did not trust the host"
printf '<script src="https://unpkg.com/x.js"></script>\n' >"$tmp/cdn.html"
"$WIDGETCTL" scan "$tmp/cdn.html" >/dev/null 2>&1 || fail "unpkg not trusted"
"$WIDGETCTL" scan -T evil.example "$tmp/cdn.html" >/dev/null 2>&1
[ $? -eq 1 ] || fail "-T did not replace the default list"

# A missing file: exit 1.
"$WIDGETCTL" scan "$tmp/none.js" >/dev/null 2>&1
[ $? -eq 1 ] || fail "missing file did not exit 1"
echo "1 passed, 0 failed"
