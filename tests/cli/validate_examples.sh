#!/usr/bin/env bash
# The examples validate, the CLI's exit codes follow the documented contract, and errors name
# file:line:col.
set -u
kthw=$1
src=$2
failures=0
check() {  # expected-exit description command...
  local want=$1 what=$2
  shift 2
  "$@" >/tmp/kthw-cli-out.$$ 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"
    sed 's/^/    /' /tmp/kthw-cli-out.$$
    failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}
check 0 "validate examples/ha-cluster" "$kthw" validate -f "$src/examples/ha-cluster"
check 0 "validate examples/single-node" "$kthw" validate -f "$src/examples/single-node"
check 0 "render examples/ha-cluster" "$kthw" render -f "$src/examples/ha-cluster" --content
check 2 "validate without -f" "$kthw" validate
check 2 "unknown option" "$kthw" validate --bogus
check 2 "unknown command" "$kthw" frobnicate
check 0 "help" "$kthw" --help
check 0 "validate --help" "$kthw" validate --help
check 0 "version" "$kthw" version

bad=$(mktemp)
printf 'apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: a\nspec:\n  address: 10.0.0.1\n  sshh: {}\n' >"$bad"
check 1 "invalid document" "$kthw" validate -f "$bad"
if ! "$kthw" validate -f "$bad" 2>&1 | grep -q "^$bad:7:3: spec.sshh: unknown field \"sshh\"; did you mean \"ssh\"?$"; then
  echo "FAIL: error does not name file:line:col and field"
  "$kthw" validate -f "$bad"
  failures=$((failures + 1))
fi
if ! "$kthw" validate -o json -f - <"$bad" | grep -q '"line":7,"column":3,"field":"spec.sshh"'; then
  echo "FAIL: -o json from stdin does not carry the error"
  failures=$((failures + 1))
fi
rm -f "$bad" /tmp/kthw-cli-out.$$
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
