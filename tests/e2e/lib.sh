# Shared by the end-to-end tests: sourced with the kthw binary as $1.
#   run WANT DESCRIPTION COMMAND...   runs it, output in $work/out, counts a failure on another exit
#   fail MESSAGE                       counts a failure
#   lab_with_examples                  brings the lab up and copies examples/lab with the lab's
#                                      Host documents and the simulator's path to $work/desired
set -uo pipefail
kthw=$(realpath "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lab=$root/tests/lab/lab
export LAB_STATE=${LAB_STATE:-/var/lib/kthw-lab}
work=$(mktemp -d "/tmp/kthw-e2e-$(basename "$0" .sh)-XXXXXX")
export XDG_STATE_HOME=$work/state
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

run() {
  local want=$1 what=$2 got
  shift 2
  "$@" >"$work/out" 2>&1
  got=$?
  cat "$work/out" >>"$work/all-output"
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, want $want"
    sed 's/^/    /' "$work/out"
  else
    echo "ok: $what"
  fi
}

# KEEP_LAB=1 leaves the lab and the work directory for a look after the test.
cleanup() { [ -n "${KEEP_LAB:-}" ] || { "$lab" down >/dev/null 2>&1; rm -rf "$work"; }; }

lab_up() {
  "$lab" up "$@" || { echo "FAIL: lab up"; exit 1; }
  trap cleanup EXIT
}

lab_with_examples() {
  lab_up
  cp -r "$root/examples/lab" "$work/desired"
  sed -i "s|file: ../../build/kthw-apiserver-sim|file: $(dirname "$kthw")/kthw-apiserver-sim|" \
    "$work/desired"/kube-*.yaml
  cp "$LAB_STATE/hosts.yaml" "$work/desired/hosts.yaml"
  d=$work/desired
}

finish() {
  echo "$failures failure(s)"
  [ "$failures" -eq 0 ]
}
