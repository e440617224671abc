#!/bin/sh
# The Widget SDK's pure parts (argument checks, URL, headers, X-Path-Params,
# answer and error handling) under node's built-in test runner, with fetch
# stubbed: contrib/sdk/test/*.test.mjs against the built widget-sdk.mjs
# and widget-sdk.js.
set -eu
node=$(command -v node || true)
if [ -z "$node" ]; then
	echo "SKIP: node not found (Debian: apt-get install nodejs, as contrib/install-deps does)"
	exit 77
fi
SDK_MJS="$top_builddir/contrib/sdk/widget-sdk.mjs"
SDK_JS="$top_builddir/contrib/sdk/widget-sdk.js"
export SDK_MJS SDK_JS
exec "$node" --test "$top_srcdir"/contrib/sdk/test/*.test.mjs
