#!/usr/bin/env bash
# End to end on the lab: kthw converges the Host documents of real systemd hosts, finds a hand
# edit of /etc/hosts, repairs it, reaches controllers that only lb-0 can reach through lb-0 as a
# jump host, and the lab comes down leaving nothing behind.
source "$(dirname "$0")/lib.sh"
lab_up
docs=$LAB_STATE/hosts.yaml

run 1 "diff before the first apply shows drift" "$kthw" diff -f "$docs"
run 0 "apply converges the lab hosts" "$kthw" apply -f "$docs"
no_drift "diff after apply shows no drift" -f "$docs"
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
no_drift "diff is clean again" -f "$docs"
"$lab" ssh controller-1 'grep -q "^192.0.2.99 mine$" /etc/hosts' || fail "a line outside kthw's block was lost"

# Jump hosts: the controllers stop answering this machine; kthw reaches them through lb-0, by
# its Host (controller-0, controller-1) and by address with a pinned key (controller-2).
"$lab" ssh controller-0 "sed -i '/^10.77.0.11 controller-1$/d' /etc/hosts"
"$lab" ssh controller-2 "sed -i '/^10.77.0.10 controller-0$/d' /etc/hosts"
for h in controller-0 controller-1 controller-2; do "$lab" isolate $h; done
lb_key=$(awk '/^  name: lb-0$/ {f = 1} f && /^    hostKey: / {sub(/^    hostKey: /, ""); print; exit}' "$docs")
c0_key=$(awk '/^  name: controller-0$/ {f = 1} f && /^    hostKey: / {sub(/^    hostKey: /, ""); print; exit}' "$docs")
jump_docs() {  # KEY-OF-THE-BASTION-FOR-controller-2 [direct] > documents
  awk -v key="$1" -v direct="${2:-}" '
    /^  name: / {name = $2}
    {print}
    /^    hostKey: / && name ~ /^controller-/ {
      print "    connectTimeoutSeconds: 3"
      if (direct != "") next
      if (name == "controller-2") print "    proxyJump: {address: \"root@10.77.0.30:22\", hostKey: " key "}"
      else print "    proxyJump: {host: lb-0}"
    }' "$docs"
}
jump_docs "$lb_key" direct >"$work/direct.yaml"
jump_docs "$lb_key" >"$work/jump.yaml"
run 3 "diff: the isolated controllers do not answer this machine" "$kthw" diff -f "$work/direct.yaml" --host controller-1
grep -q "timed out" "$work/out" || { fail "no connect timeout for an isolated controller"; cat "$work/out"; }
run 1 "diff through lb-0 finds the hand edits" "$kthw" diff -f "$work/jump.yaml"
grep -q "+10.77.0.11 controller-1" "$work/out" && grep -q "+10.77.0.10 controller-0" "$work/out" ||
  { fail "diff through lb-0 does not show both edits"; cat "$work/out"; }
run 0 "apply through lb-0 repairs them" "$kthw" apply -f "$work/jump.yaml"
no_drift "diff through lb-0 is clean" -f "$work/jump.yaml"
jump_docs "$c0_key" >"$work/wrong-key.yaml"
run 3 "a wrong pinned key of the bastion is refused" "$kthw" diff -f "$work/wrong-key.yaml" --host controller-2
grep -q "jump host root@10.77.0.30:22: host key mismatch" "$work/out" && grep -q "spec.ssh.proxyJump.hostKey pins" "$work/out" ||
  { fail "the refusal does not name the bastion and its pinned key"; cat "$work/out"; }
for h in controller-0 controller-1 controller-2; do "$lab" rejoin $h; done
"$lab" ssh controller-0 'grep -q "^10.77.0.11 controller-1$" /etc/hosts' && "$lab" ssh controller-2 'grep -q "^10.77.0.10 controller-0$" /etc/hosts' &&
  echo "ok: the repairs made through lb-0 are on the controllers" || fail "the repairs through lb-0 are missing"
no_drift "and the direct route finds nothing to do" -f "$docs"

"$lab" down
trap - EXIT
rm -rf "$work"
leftovers=$( (ip link show kthw-lab0 2>/dev/null; grep " $LAB_STATE" /proc/mounts; pgrep -af "systemd-nspawn.*kthw-lab" ; ls "$LAB_STATE/hosts" 2>/dev/null) || true)
[ -z "$leftovers" ] || fail "lab down left: $leftovers"
finish
