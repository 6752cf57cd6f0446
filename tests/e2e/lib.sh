# Shared by the end-to-end tests: sourced with the kthw binary as $1.
#   run WANT DESCRIPTION COMMAND...   runs it, output in $work/out, counts a failure on another exit
#   fail MESSAGE                       counts a failure
#   no_drift DESCRIPTION DIFF-ARGS...   kthw diff must exit 0 (see below)
#   lab_with_examples                  brings the lab up and copies examples/lab with the lab's
#                                      Host documents to $work/desired
# The lab runs the real control plane, built by tests/lab/components/build (cached per machine);
# its kubectl and etcdctl come first on PATH, so no client that happens to be installed is used.
set -uo pipefail
kthw=$(realpath "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lab=$root/tests/lab/lab
export LAB_STATE=${LAB_STATE:-/var/lib/kthw-lab}
work=$(mktemp -d "/tmp/kthw-e2e-$(basename "$0" .sh)-XXXXXX")
export XDG_STATE_HOME=$work/state
failures=0
components=$("$root/tests/lab/components/build" all) || { echo "FAIL: building the lab's components"; exit 1; }
for c in $components; do PATH=$c:$PATH; done
export PATH

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

# no_drift DESCRIPTION DIFF-ARGS...: kthw diff finds nothing to do. kube-scheduler and
# kube-controller-manager exit when they lose their leader lease, which a loaded machine can cause
# after an apply has finished, and systemd restarts them (Restart=on-failure). A diff whose only
# drift is such a restart says so (its output kept in all-output) and is tried once more 15 s
# later; any other drift, or a unit restarting again at that moment, still fails. One sample
# cannot tell a crash loop that happens to be running then from a single restart.
no_drift() {
  local what=$1
  shift
  "$kthw" diff "$@" >"$work/out" 2>&1
  local got=$?
  cat "$work/out" >>"$work/all-output"
  if [ $got -eq 1 ] && grep -q "systemd restarts it" "$work/out" &&
    ! grep -E '^ +[-~!] ' "$work/out" | grep -qv "systemd restarts it"; then
    echo "note: $what: systemd was restarting a unit; diff again in 15 s"
    grep "systemd restarts it" "$work/out" | sed 's/^/    /'
    sleep 15
  fi
  run 0 "$what" "$kthw" diff "$@"
}

# verify_settled DESCRIPTION VERIFY-ARGS...: kthw verify passes. The same lease losses as in
# no_drift (an apply that restarts API servers can cost a scheduler or controller manager its
# lease a moment later; it exits and systemd restarts it): a verify whose only failures are those
# two components (their health, their component status, their lease) says so, with the restart
# count of each failing unit, and is run once more 15 s later; any other failure, or such a
# failure again then, still fails.
verify_settled() {
  local what=$1
  shift
  "$kthw" verify "$@" >"$work/out" 2>&1
  local got=$?
  cat "$work/out" >>"$work/all-output"
  local failed
  failed=$(grep -E ' fail ' "$work/out")
  local lease='^ *(service health +[a-z0-9-]+ kube-(scheduler|controller-manager)|component statuses +(scheduler|controller-manager)|leader lease +kube-(scheduler|controller-manager)) '
  if [ $got -eq 1 ] && [ -n "$failed" ] && ! printf '%s\n' "$failed" | grep -qvE "$lease"; then
    echo "note: $what: a leader-elected component was restarting; verify again in 15 s"
    printf '%s\n' "$failed" | sed 's/^/    /'
    printf '%s\n' "$failed" | grep -E '^ *service health ' | while read -r _ _ host unit _; do
      echo "    $host $unit: $("$lab" ssh "$host" "systemctl show -p NRestarts,ActiveState,SubState $unit.service" </dev/null 2>/dev/null | tr '\n' ' ')"
    done
    sleep 15
  fi
  run 0 "$what" "$kthw" verify "$@"
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
  cp "$LAB_STATE/hosts.yaml" "$work/desired/hosts.yaml"
  d=$work/desired
}

finish() {
  echo "$failures failure(s)"
  [ "$failures" -eq 0 ]
}
