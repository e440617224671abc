#!/bin/sh
# Template conformance: every case under tests/conformance/cases rendered by
# `widgetctl render` and by Python Jinja2 must match byte for byte.
# Debian's python3-jinja2 is the oracle; skipped (77) when it is missing.
: "${top_srcdir:?}" "${WIDGETCTL:?}"

# Until the engine is merged, widgetctl's render is a placeholder.
probe=$("$WIDGETCTL" render /dev/null 2>&1)
case $probe in
*"not implemented"*)
	echo "conformance: widgetctl render is not implemented yet"
	exit 77;;
esac

for py in /usr/bin/python3 python3; do
	if "$py" -c 'import jinja2.sandbox' 2>/dev/null; then
		exec "$py" "$top_srcdir/tests/conformance/run.py" \
		    --widgetctl "$WIDGETCTL"
	fi
done
echo "conformance: python3-jinja2 is missing"
exit 77
