#!/usr/bin/env bash
# End to end on the lab: `kthw run` as an operator runs it. From bare hosts to every resource
# Ready; a steady-state pass is one probe per host and no write; drift made by hand is repaired
# within one resync; a commit to the desired state's git work tree is applied and its revision
# reported; an invalid commit is rejected with its position and changes nothing; /metrics carries
# the documented series; two `kthw apply` at once: one changes, the other names the lock holder;
# SIGTERM in the middle of an apply leaves no temp file and no torn file.
source "$(dirname "$0")/lib.sh"
lab_with_examples
git -C "$d" init -q
git -C "$d" add -A
gitc() { git -C "$d" -c user.name=kthw-e2e -c user.email=e2e@kthw.invalid "$@"; }
gitc commit -qm "lab cluster"
port=$((19000 + RANDOM % 1000))
listen=127.0.0.1:$port
daemon_pid=
start_daemon() {
  "$kthw" run -f "$d" --listen "$listen" --interval 12 --backoff-max 5 "$@" >>"$work/run.log" 2>&1 &
  daemon_pid=$!
}
stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null
  local rc=0
  wait "$daemon_pid" || rc=$?
  daemon_pid=
  return $rc
}
trap 'stop_daemon; cleanup' EXIT
get() { curl -sS --max-time 5 "http://$listen$1"; }
# wait_for SECONDS DESCRIPTION COMMAND...: polls every second.
wait_for() {
  local limit=$1 what=$2 i
  shift 2
  for ((i = 0; i < limit; i++)); do
    if "$@" >/dev/null 2>&1; then echo "ok: $what (${i}s)"; return 0; fi
    sleep 1
  done
  fail "$what: not within ${limit}s"
  return 1
}
on() { "$lab" ssh "$@"; }

start_daemon
wait_for 240 "kthw run converges the bare lab: /readyz answers 200" \
  curl -sf --max-time 5 "http://$listen/readyz"
wait_for 60 "every resource Ready" "$kthw" status --server "$listen"
run 0 "kthw status" "$kthw" status --server "$listen"
head_rev=$(git -C "$d" rev-parse HEAD)
grep -q "desired state ${head_rev:0:12}" "$work/out" || fail "kthw status does not report commit ${head_rev:0:12}"
for r in Host/controller-0 CertificateBundle/lab-pki ControlPlaneService/etcd LoadBalancer/kubernetes \
  ClusterRoleBinding/system:kube-apiserver; do
  grep -Eq "^$r +True " "$work/out" || fail "kthw status: $r is not Ready"
done
[ "$(get /healthz)" = ok ] && echo "ok: /healthz" || fail "/healthz"

# The series the README documents. Their values are what the last pass found: right after the
# first Ready the drift series may still hold what that pass repaired; the steady-state check
# below asserts a converged resync finds nothing.
get /metrics >"$work/metrics"
for series in \
  'kthw_reconcile_total{kind="ControlPlaneService",result="success"}' \
  'kthw_reconcile_duration_seconds_bucket{kind="Host",le="+Inf"}' \
  'kthw_reconcile_duration_seconds_count{kind="ClusterRole"}' \
  'kthw_drift_changes{kind="ControlPlaneService",name="etcd",host="controller-1"} ' \
  'kthw_certificate_expiry_seconds{bundle="lab-pki",certificate="kubernetes"}' \
  'kthw_queue_depth ' \
  "kthw_synced_revision_info{revision=\"$head_rev\"} 1" \
  'kthw_desired_state_rejected 0' \
  'kthw_host_reachable{host="lb-0"} 1' \
  'kthw_resource_ready{kind="LoadBalancer",name="kubernetes"} 1'; do
  grep -qF "$series" "$work/metrics" || fail "/metrics lacks $series"
done
grep -q '^# TYPE kthw_reconcile_duration_seconds histogram' "$work/metrics" || fail "no histogram TYPE line"
echo "ok: /metrics carries the documented series"

# Steady state: the next resync is one probe per host and no write.
passes() { grep -c "host pass: 4 host(s)" "$work/run.log"; }
before=$(passes)
more_passes() { [ "$(passes)" -gt "$before" ]; }
wait_for 40 "a resync pass runs" more_passes
tail -n 50 "$work/run.log" | grep "host pass: 4 host(s)" | tail -1 | grep -q "0 change(s) found, 4 round trip(s)" &&
  echo "ok: a converged resync costs one round trip per host and changes nothing" ||
  { fail "steady-state pass"; grep "host pass" "$work/run.log" | tail -3; }

# Drift by hand, repaired within one resync (12 s, with jitter) without anyone asking.
on controller-1 'chmod 0644 /var/lib/kubernetes/kubernetes-key.pem; sed -i "s/--v=2/--v=6/" /etc/systemd/system/kube-apiserver.service; systemctl daemon-reload'
on lb-0 'systemctl stop haproxy'
repaired() {
  [ "$(on controller-1 'stat -c %a /var/lib/kubernetes/kubernetes-key.pem')" = 600 ] &&
    ! on controller-1 'grep -q -- --v=6 /etc/systemd/system/kube-apiserver.service' &&
    on lb-0 'systemctl is-active -q haproxy'
}
wait_for 40 "drift by hand (key mode, unit flag, stopped haproxy) repaired within one resync" repaired

# A commit to the work tree: applied, and its revision reported.
sed -i '0,/    - {ip: 10.77.0.30, names: \[lb-0\]}/s//    - {ip: 10.77.0.30, names: [lb-0]}\n    - {ip: 10.77.0.99, names: [from-git]}/' "$d/hosts.yaml"
gitc commit -qam "controller-0 learns from-git"
new_rev=$(git -C "$d" rev-parse HEAD)
# The pass that repairs the unit flag may still be rolling the real apiserver behind its /readyz
# check; the commit is applied by the pass after it.
wait_for 90 "the commit is applied" on controller-0 'grep -q "10.77.0.99 from-git" /etc/hosts'
wait_for 10 "/status reports the new revision" sh -c "curl -s http://$listen/status | grep -q '\"revision\":\"$new_rev\"'"

# An invalid commit: rejected whole, with its position; the state in force does not change.
sed -i 's/^  hostname: controller-2$/  hostname: controller-2\n  hostnme: typo/' "$d/hosts.yaml"
sed -i 's/names: \[from-git\]/names: [from-git, must-not-appear]/' "$d/hosts.yaml"
gitc commit -qam "a typo"
bad_rev=$(git -C "$d" rev-parse HEAD)
wait_for 10 "the invalid commit is rejected" sh -c "curl -s http://$listen/status | grep -q '\"rejected\":{\"revision\":\"$bad_rev\"'"
run 1 "kthw status exits 1 while a change is rejected" "$kthw" status --server "$listen"
grep -q "REJECTED change at $bad_rev" "$work/out" || fail "kthw status does not show the rejection"
grep -Eq "hosts.yaml:[0-9]+:3: spec.hostnme: unknown field \"hostnme\"" "$work/out" ||
  fail "the rejection does not carry FILE:LINE:COL and the field"
grep -q "desired state ${new_rev:0:12}" "$work/out" || fail "the last good revision is not the one in force"
grep -q "rejected (1 error(s)); the last good state" "$work/run.log" || fail "the rejection is not logged"
sleep 3
on controller-0 'grep -q must-not-appear /etc/hosts' && fail "part of the invalid commit was applied"
gitc revert --no-edit HEAD >/dev/null
wait_for 10 "the fix clears the rejection" sh -c "curl -s http://$listen/status | grep -q '\"rejected\":null'"

# SIGTERM in the middle of an apply: no temp file, no torn file, locks released.
stop_daemon || fail "kthw run did not exit 0 on SIGTERM"
for h in controller-0 controller-1 controller-2; do
  on $h 'rm -f /usr/local/bin/kube-apiserver /usr/local/bin/kube-controller-manager /usr/local/bin/kube-scheduler'
done
: >"$work/run.log"
start_daemon
wait_for 60 "the daemon starts installing binaries" grep -q "done install /usr/local/bin/kube-" "$work/run.log"
stop_daemon && echo "ok: SIGTERM during an apply: exit 0" || fail "exit status after SIGTERM"
grep -q "SIGTERM: stopping" "$work/run.log" || fail "no stopping message"
for h in controller-0 controller-1 controller-2; do
  on $h 'ls -a /usr/local/bin /etc/systemd/system /var/lib/kubernetes' | grep -q 'kthw-tmp' && fail "$h: a temp file was left"
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    got=$(on $h "sha256sum /usr/local/bin/$b 2>/dev/null | cut -d' ' -f1")
    want=$(awk -v f="kubernetes/$b" '$2 == f { print $1 }' "$root/tests/lab/components/SHA256SUMS")
    [ -z "$got" ] || [ "$got" = "$want" ] || fail "$h: /usr/local/bin/$b is torn"
  done
  on $h 'test -e /run/kthw/lock' && fail "$h: the lock was left behind"
done
echo "ok: after SIGTERM every binary is absent or whole, no temp file, no lock"


# Two applies at once: one changes the hosts, the other reports who holds the lock.
for h in controller-0 controller-1 controller-2; do
  on $h 'rm -f /usr/local/bin/kube-apiserver /usr/local/bin/kube-controller-manager /usr/local/bin/kube-scheduler'
done
run 1 "diff sees the missing binaries" "$kthw" diff -f "$d"
"$kthw" apply -f "$d" >"$work/apply-a.out" 2>&1 &
a_pid=$!
# Every controller has a change, so the first apply locks each: stop it once it holds all three,
# or the second could take a host the first had not reached yet.
wait_for 30 "the first apply takes the lock" on controller-0 'test -e /run/kthw/lock'
for h in controller-1 controller-2; do
  wait_for 30 "the first apply takes the lock on $h" on $h 'test -e /run/kthw/lock'
done
kill -STOP "$a_pid"
# Drift the first apply did not see (it planned before), so the second surely has a change here.
on controller-0 'chmod 0644 /var/lib/kubernetes/kubernetes-key.pem'
run 1 "a second apply on this machine: the secret store is busy" "$kthw" apply -f "$d"
grep -q "is locked by another kthw process (pid $a_pid)" "$work/out" || fail "the store lock does not name pid $a_pid"
# Another operator's machine, with its own copy of the store: the host lock stops it.
cp -a "$XDG_STATE_HOME" "$work/state-b"
run 1 "a second apply from another store while the first holds the host lock" \
  env XDG_STATE_HOME="$work/state-b" "$kthw" apply -f "$d"
grep -q "NOT made: the kthw lock is held by kthw-apply .* pid $a_pid" "$work/out" ||
  fail "the second apply does not name the holder (pid $a_pid)"
on controller-0 'cat /run/kthw/lock' | grep -q "pid $a_pid" || fail "the lock file does not name the holder"
kill -CONT "$a_pid"
wait "$a_pid" && echo "ok: the first apply finishes" || { fail "the first apply"; cat "$work/apply-a.out"; }
run 0 "an apply that may wait for the lock (--lock-wait) repairs what the second could not" \
  "$kthw" apply -f "$d" --lock-wait 30
no_drift "diff after all: no drift" -f "$d"

# Report-only: the daemon sees drift made by hand, reports it, and leaves it in place.
: >"$work/run.log"
start_daemon --no-repair
wait_for 60 "kthw run --no-repair: every resource Ready on the converged lab" "$kthw" status --server "$listen"
on controller-2 'chmod 0644 /var/lib/kubernetes/kubernetes-key.pem'
wait_for 40 "the drift is reported in /status" sh -c \
  "curl -s http://$listen/status | grep -q '\"reason\":\"Drifted\",\"message\":\"1 change(s) pending on controller-2\"'"
run 1 "kthw status exits 1 while drift is reported" "$kthw" status --server "$listen"
grep -q "REPORT-ONLY (--no-repair)" "$work/out" && grep -Eq "^CertificateBundle/lab-pki +False +Drifted " "$work/out" &&
  echo "ok: kthw status shows report-only mode and the Drifted bundle" || { fail "kthw status"; cat "$work/out"; }
get /metrics | grep -q '^kthw_drift_changes{kind="CertificateBundle",name="lab-pki",host="controller-2"} 1$' &&
  echo "ok: /metrics counts the change" || fail "/metrics does not count the drift"
sleep 15  # one more resync (12 s)
[ "$(on controller-2 'stat -c %a /var/lib/kubernetes/kubernetes-key.pem')" = 644 ] &&
  echo "ok: the drift is left in place after another resync" || fail "--no-repair repaired the key's mode"
grep -q "controller-2: drift, not repaired (--no-repair): .*kubernetes-key.pem" "$work/run.log" ||
  fail "the log does not name the drift"
on controller-2 'test -e /run/kthw/lock' && fail "--no-repair took the host lock"
stop_daemon || fail "kthw run --no-repair did not exit 0 on SIGTERM"
run 0 "apply repairs what report-only left" "$kthw" apply -f "$d"

finish
