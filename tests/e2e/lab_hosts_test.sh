#!/usr/bin/env bash
# End to end on the lab: kthw converges the Host documents of real systemd hosts, finds a hand
# edit of /etc/hosts, repairs it, and the lab comes down leaving nothing behind.
source "$(dirname "$0")/lib.sh"
lab_up
docs=$LAB_STATE/hosts.yaml

run 1 "diff before the first apply shows drift" "$kthw" diff -f "$docs"
run 0 "apply converges the lab hosts" "$kthw" apply -f "$docs"
run 0 "diff after apply shows no drift" "$kthw" diff -f "$docs"
"$kthw" apply -f "$docs" >$work/apply 2>&1
grep -q "0 changed, 0 action(s) done" $work/apply || { fail "second apply changed something"; cat $work/apply; }
"$lab" ssh controller-1 'grep -q "^10.77.0.12 controller-2$" /etc/hosts && [ "$(stat -c %a /var/lib/kubernetes)" = 700 ] && [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]' ||
  fail "controller-1 does not hold the desired state"

"$lab" ssh controller-1 "sed -i '/^10.77.0.12 controller-2$/d' /etc/hosts; echo '192.0.2.99 mine' >> /etc/hosts"
run 1 "diff finds the removed entry" "$kthw" diff -f "$docs"
grep -q "^controller-1 " $work/out && grep -q "+10.77.0.12 controller-2" $work/out ||
  { fail "diff does not name controller-1 and the entry"; cat $work/out; }
[ "$(grep -c "no drift" $work/out)" -eq 3 ] || fail "the other hosts should show no drift"
run 0 "apply repairs it" "$kthw" apply -f "$docs" --host controller-1
run 0 "diff is clean again" "$kthw" diff -f "$docs"
"$lab" ssh controller-1 'grep -q "^192.0.2.99 mine$" /etc/hosts' || fail "a line outside kthw's block was lost"

"$lab" down
trap - EXIT
rm -rf "$work"
leftovers=$( (ip link show kthw-lab0 2>/dev/null; grep " $LAB_STATE" /proc/mounts; pgrep -af "systemd-nspawn.*kthw-lab" ; ls "$LAB_STATE/hosts" 2>/dev/null) || true)
[ -z "$leftovers" ] || fail "lab down left: $leftovers"
finish
