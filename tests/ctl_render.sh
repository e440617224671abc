#!/bin/sh
# widgetctl render: output exactly as rendered, secrets as their literal,
# --var and --now, errors as line:col on stderr with exit status 1.
set -u
: "${WIDGETCTL:?}"
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fail=0

check() {	# name expected-output actual-output
	if [ "$2" != "$3" ]; then
		echo "FAIL $1: expected [$2] got [$3]"
		fail=1
	fi
}

printf 'Bearer {{ get_secret("tok") }}|{{ get_variable("h") }}|{{ get_variable("x") }}|{{ now(5) }}|{{ user.id }}\n' \
    >"$dir/t1"
printf '{"user": {"id": 42}}' >"$dir/c1.json"
out=$("$WIDGETCTL" render --var h=api.example.com --now 1000 "$dir/t1" \
    "$dir/c1.json")
check secret-var-now \
    "Bearer {{ get_secret('tok') }}|api.example.com|{{ get_variable('x') }}|1005|42" \
    "$out"

# no newline added, one trailing newline of the template dropped (Jinja2)
printf 'a\n\n' >"$dir/t2"
"$WIDGETCTL" render "$dir/t2" >"$dir/o2"
check no-added-newline "$(printf 'a\n' | od -c)" "$(od -c <"$dir/o2")"

printf 'x\n{{ 1 +  }}' >"$dir/t3"
if "$WIDGETCTL" render "$dir/t3" >"$dir/o3" 2>"$dir/e3"; then
	echo "FAIL syntax-error: exit status 0"
	fail=1
fi
case $(cat "$dir/e3") in
2:*:*) ;;
*) echo "FAIL syntax-error: stderr [$(cat "$dir/e3")]"; fail=1 ;;
esac

printf '{{ get_secret("a") | upper }}' >"$dir/t4"
if "$WIDGETCTL" render "$dir/t4" 2>"$dir/e4"; then
	echo "FAIL secret-misuse: exit status 0"
	fail=1
fi
grep -q '^1:.*may only be output' "$dir/e4" || {
	echo "FAIL secret-misuse: stderr [$(cat "$dir/e4")]"; fail=1; }

printf '{{ x.y }}' >"$dir/t5"
"$WIDGETCTL" render "$dir/t5" 2>"$dir/e5" && fail=1
grep -q "^1:.*'x' is undefined" "$dir/e5" || {
	echo "FAIL undefined: stderr [$(cat "$dir/e5")]"; fail=1; }

exit $fail
