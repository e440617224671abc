#!/bin/sh
# widgetctl check: exit status, report format, Code Mode auto-detection, and
# the egress policy taken from -c (SPEC §2, §7).
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Every shipped example checks clean; the quick start's registry, whose
# demo upstream is plain HTTP on loopback, under its own configuration.
"$WIDGETCTL" check "$top_srcdir"/contrib/examples/*.json >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out"; fail "examples do not check clean"; }
"$WIDGETCTL" -c "$top_srcdir/etc/widgetd.conf" check \
    "$top_srcdir/etc/connectors_registry.json" >"$tmp/out2" 2>&1 ||
	{ cat "$tmp/out2"; fail "etc/connectors_registry.json does not check"; }
cat "$tmp/out2" >>"$tmp/out"
grep -q 'connectors_registry.json: 3 connectors, 0 composite connectors OK' \
    "$tmp/out" || fail "no registry summary"
grep -q "weather-api-key.json: connector 'Weather API' (weather-api) OK" \
    "$tmp/out" || fail "no Code Mode summary"

# An invalid registry: exit 1, one line per error, file:line:col first.
printf '{"connectors": [\n  {"name": "Weather API", "url": "https://localhost/x"},\n  {"name": "B", "url": "https://b.example.com/", "method": "FETCH"}\n]}\n' \
    >"$tmp/bad.json"
"$WIDGETCTL" check "$tmp/bad.json" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "invalid registry did not exit 1"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || { cat "$tmp/out"; fail "expected 2 errors"; }
grep -q "^$tmp/bad.json:2:34: connector 'Weather API' (weather-api): connectors\[0\].url: .*\[url\]\$" \
    "$tmp/out" || { cat "$tmp/out"; fail "bad url line"; }
grep -q "^$tmp/bad.json:3:60: connector 'B' (b): connectors\[1\].method: .*\[invalid_value\]\$" \
    "$tmp/out" || { cat "$tmp/out"; fail "bad method line"; }

# A syntax error.
printf '{"connectors": [],}' >"$tmp/syntax.json"
"$WIDGETCTL" check "$tmp/syntax.json" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "syntax error did not exit 1"
grep -q "^$tmp/syntax.json:1:19: trailing comma before '}' \[invalid_json\]\$" \
    "$tmp/out" || { cat "$tmp/out"; fail "syntax error line"; }

# A loopback http upstream: refused by default, allowed by a configuration
# whose egress policy allows it.
printf '{"name": "Local", "url": "http://127.0.0.1:9000/x"}' >"$tmp/local.json"
"$WIDGETCTL" check "$tmp/local.json" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "loopback upstream accepted without -c"
cp "$top_srcdir/etc/connectors_registry.json" "$tmp/"
sed -e 's|allow_networks = \[\];|allow_networks = [ "127.0.0.0/8" ];|' \
    -e 's|allow_http = false;|allow_http = true;|' \
    "$top_srcdir/etc/widgetd.conf" >"$tmp/widgetd.conf"
"$WIDGETCTL" check -c "$tmp/widgetd.conf" "$tmp/local.json" >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out"; fail "loopback upstream refused with allow_networks"; }
# Without files: the configuration's tenant registries.
"$WIDGETCTL" -c "$tmp/widgetd.conf" check >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out"; fail "tenant registry check"; }
grep -q "connectors_registry.json: 3 connectors" "$tmp/out" ||
	fail "tenant registry not checked"
# localhost never loads, whatever the policy.
printf '{"name": "L", "url": "http://localhost:9000/x"}' >"$tmp/lh.json"
"$WIDGETCTL" check -c "$tmp/widgetd.conf" "$tmp/lh.json" >/dev/null 2>&1
[ $? -eq 1 ] || fail "localhost accepted"
# A configuration that does not load is an error, not the default policy.
"$WIDGETCTL" check -c "$tmp/nonexistent.conf" "$tmp/local.json" >/dev/null 2>&1
[ $? -eq 1 ] || fail "missing configuration ignored"
echo "ok"
