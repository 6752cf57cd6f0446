#!/usr/bin/env bash
# End to end on the lab: kthw converges the Host documents of real systemd hosts, finds a hand
# edit of /etc/hosts, repairs it, and the lab comes down leaving nothing behind.
set -uo pipefail
kthw=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
lab=$root/tests/lab/lab
export LAB_STATE=${LAB_STATE:-/var/lib/kthw-lab}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_exit() {  # want description command...
  local want=$1 what=$2 got
  shift 2
  "$@" >/tmp/kthw-e2e.out 2>&1
  got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, want $want"
    sed 's/^/    /' /tmp/kthw-e2e.out
  else
    echo "ok: $what"
  fi
}

"$lab" up || { echo "FAIL: lab up"; exit 1; }
trap '"$lab" down >/dev/null 2>&1' EXIT
docs=$LAB_STATE/hosts.yaml

expect_exit 1 "diff before the first apply shows drift" "$kthw" diff -f "$docs"
expect_exit 0 "apply converges the lab hosts" "$kthw" apply -f "$docs"
expect_exit 0 "diff after apply shows no drift" "$kthw" diff -f "$docs"
"$kthw" apply -f "$docs" >/tmp/kthw-e2e.apply 2>&1
grep -q "0 changed, 0 action(s) done" /tmp/kthw-e2e.apply || { fail "second apply changed something"; cat /tmp/kthw-e2e.apply; }
"$lab" ssh controller-1 'grep -q "^10.77.0.12 controller-2$" /etc/hosts && [ "$(stat -c %a /var/lib/kubernetes)" = 700 ] && [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]' ||
  fail "controller-1 does not hold the desired state"

"$lab" ssh controller-1 "sed -i '/^10.77.0.12 controller-2$/d' /etc/hosts; echo '192.0.2.99 mine' >> /etc/hosts"
expect_exit 1 "diff finds the removed entry" "$kthw" diff -f "$docs"
grep -q "^controller-1 " /tmp/kthw-e2e.out && grep -q "+10.77.0.12 controller-2" /tmp/kthw-e2e.out ||
  { fail "diff does not name controller-1 and the entry"; cat /tmp/kthw-e2e.out; }
[ "$(grep -c "no drift" /tmp/kthw-e2e.out)" -eq 3 ] || fail "the other hosts should show no drift"
expect_exit 0 "apply repairs it" "$kthw" apply -f "$docs" --host controller-1
expect_exit 0 "diff is clean again" "$kthw" diff -f "$docs"
"$lab" ssh controller-1 'grep -q "^192.0.2.99 mine$" /etc/hosts' || fail "a line outside kthw's block was lost"

"$lab" down
trap - EXIT
leftovers=$( (ip link show kthw-lab0 2>/dev/null; grep " $LAB_STATE" /proc/mounts; pgrep -af "systemd-nspawn.*kthw-lab" ; ls "$LAB_STATE/hosts" 2>/dev/null) || true)
[ -z "$leftovers" ] || fail "lab down left: $leftovers"
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
