#!/bin/sh
# The SDK's TypeScript declarations compile, and say what the SDK does:
# contrib/sdk/test/usage.ts uses every declared member in strict mode and
# must type-check; contrib/sdk/test/misuse.ts must not (each line in it is
# a mistake the declarations have to catch).
set -eu
tsc=$(command -v tsc || true)
if [ -z "$tsc" ]; then
	echo "SKIP: tsc not found (Debian: apt-get install node-typescript, as contrib/install-deps does)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$top_srcdir/contrib/sdk/widget-sdk.d.ts" "$top_srcdir/contrib/sdk/test/usage.ts" \
    "$top_srcdir/contrib/sdk/test/misuse.ts" "$tmp/"
opts="--noEmit --strict --target es2020 --module es2020 --moduleResolution node --lib es2020,dom"
# shellcheck disable=SC2086
"$tsc" $opts "$tmp/usage.ts"
echo "ok - usage.ts type-checks against widget-sdk.d.ts"
# shellcheck disable=SC2086
out=$("$tsc" $opts "$tmp/misuse.ts" 2>&1 || true)
want=$(grep -c '; // error$' "$tmp/misuse.ts")
got=$(printf '%s\n' "$out" | grep -c 'misuse.ts(' || true)
if [ "$got" -ne "$want" ]; then
	printf '%s\n' "$out"
	echo "FAIL: misuse.ts: $got type errors, expected $want"
	exit 1
fi
echo "ok - misuse.ts: all $want misuses refused"
