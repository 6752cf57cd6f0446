#!/usr/bin/env bash
# End to end on the lab: kthw brings up a 3-member etcd with TLS and the three control-plane
# components (the real kube-apiserver, controller-manager and scheduler) on systemd hosts;
# a second apply restarts nothing; flag changes roll one host at a time behind health checks; a
# failed health check stops the rollout; a stopped service is found and started.
source "$(dirname "$0")/lib.sh"
kinds=(--kind Host --kind CertificateBundle --kind ControlPlaneService)
services="etcd kube-apiserver kube-controller-manager kube-scheduler"
started_at() {  # host service -> ActiveEnterTimestampMonotonic
  "$lab" ssh "$1" "systemctl show -p ActiveEnterTimestampMonotonic --value $2"
}
snapshot() {
  for n in 0 1 2; do for s in $services; do echo "controller-$n $s $(started_at controller-$n $s)"; done; done
}
lab_with_examples

# Preflight: a port etcd needs, held by another process before the first apply, is a problem of
# controller-2 that names the holder and the fix; the other controllers have none.
"$lab" ssh controller-2 'systemd-run --unit=squatter python3 -m http.server 2379 &&
  for i in $(seq 1 50); do ss -Hltn | grep -q ":2379 " && exit 0; sleep 0.1; done; exit 1' ||
  fail "could not hold port 2379 on controller-2"
run 1 "diff before the first apply: drift and a preflight problem" "$kthw" diff -f "$d" --color never "${kinds[@]}"
held="problem: ControlPlaneService/etcd: preflight: port 2379 is held by python3 (pid [0-9]*, squatter.service); stop it or change the port"
awk '/^controller-2 /{h=1; next} /^[^ ]/{h=0} h' "$work/out" | grep -q "$held" &&
  ! awk '/^controller-[01] /{h=1; next} /^[^ ]/{h=0} h' "$work/out" | grep -q "preflight" &&
  echo "ok: diff names port 2379 held by python3 on controller-2, and the fix" ||
  { fail "diff does not report the held port on controller-2 alone"; cat "$work/out"; }
"$lab" ssh controller-2 'systemctl stop squatter'

run 0 "cold converge: certificates, etcd and the three components" "$kthw" apply -f "$d" "${kinds[@]}"
no_drift "diff: no drift" -f "$d" "${kinds[@]}"
"$lab" ssh controller-0 "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem \
  --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem endpoint health --cluster" >"$work/out" 2>&1
[ "$(grep -c 'is healthy' "$work/out")" -eq 3 ] && echo "ok: etcdctl endpoint health --cluster: 3 healthy" ||
  { fail "etcd cluster not healthy"; cat "$work/out"; }
"$lab" ssh controller-0 'cat /var/lib/kubernetes/ca.pem' >"$work/ca.pem"
for n in 0 1 2; do
  curl -sf --max-time 5 --cacert "$work/ca.pem" "https://10.77.0.1$n:6443/version" | grep -q '"gitVersion"' ||
    fail "curl --cacert ca.pem https://10.77.0.1$n:6443/version"
done
echo "ok: /version answers on every controller with the cluster CA"
verified=0
for n in 0 1 2; do
  "$lab" ssh "controller-$n" "systemd-analyze verify /etc/systemd/system/{etcd,kube-apiserver,kube-controller-manager,kube-scheduler}.service" &&
    verified=$((verified + 1)) || fail "systemd-analyze verify on controller-$n"
done
[ "$verified" -eq 3 ] && echo "ok: systemd-analyze verify accepts every rendered unit"

snapshot >"$work/before"
"$kthw" apply -f "$d" "${kinds[@]}" >"$work/out" 2>&1
grep -q "0 changed, 0 action(s) done" "$work/out" || { fail "second apply did something"; cat "$work/out"; }
snapshot >"$work/after"
diff -q "$work/before" "$work/after" >/dev/null && echo "ok: second apply restarted nothing" ||
  { fail "second apply restarted a service"; diff "$work/before" "$work/after"; }

# A changed apiserver flag restarts the apiservers, one host at a time, and nothing else.
sed -i 's/^    v: 2$/    v: 3/' "$d/kube-apiserver.yaml"
run 0 "apply a changed kube-apiserver flag" "$kthw" apply -f "$d" "${kinds[@]}"
grep "done restart" "$work/out" | sed 's/: done restart.*//' | tr '\n' ' ' >"$work/order"
[ "$(cat "$work/order")" = "controller-0 controller-1 controller-2 " ] &&
  ! grep -q "restart etcd\|restart kube-scheduler\|restart kube-controller" "$work/out" &&
  echo "ok: only the apiservers restarted, in host order" || { fail "restart order: $(cat "$work/order")"; cat "$work/out"; }
t0=$(started_at controller-0 kube-apiserver); t1=$(started_at controller-1 kube-apiserver); t2=$(started_at controller-2 kube-apiserver)
[ "$t0" -lt "$t1" ] && [ "$t1" -lt "$t2" ] && echo "ok: restarts were sequential" || fail "restart times $t0 $t1 $t2"

# etcd keeps quorum while its flags change: one member at a time, each healthy before the next.
sed -i 's/^    data-dir: \/var\/lib\/etcd$/    data-dir: \/var\/lib\/etcd\n    heartbeat-interval: 150/' "$d/etcd.yaml"
run 0 "apply a changed etcd flag" "$kthw" apply -f "$d" "${kinds[@]}"
[ "$(grep -c 'done restart etcd.service' "$work/out")" -eq 3 ] || fail "etcd did not restart on every member"
"$lab" ssh controller-1 "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem \
  --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem endpoint health --cluster" >"$work/out" 2>&1
[ "$(grep -c 'is healthy' "$work/out")" -eq 3 ] && echo "ok: etcd healthy after its rolling restart" || fail "etcd unhealthy after rollout"

# A stopped service is drift, and apply starts it.
"$lab" ssh controller-2 'systemctl stop kube-scheduler'
run 1 "diff finds the stopped scheduler" "$kthw" diff -f "$d" "${kinds[@]}"
grep -q "start kube-scheduler.service" "$work/out" || fail "diff does not name the stopped service"
run 0 "apply starts it" "$kthw" apply -f "$d" "${kinds[@]}"
"$lab" ssh controller-2 'systemctl is-active --quiet kube-scheduler' || fail "scheduler not running"

# A change that breaks the health check stops the rollout at the first host.
sed -i 's|^    tls-cert-file: /var/lib/kubernetes/kubernetes.pem$|    tls-cert-file: /var/lib/kubernetes/missing.pem|' "$d/kube-apiserver.yaml"
sed -i 's/^    timeoutSeconds: 120$/    timeoutSeconds: 8/' "$d/kube-apiserver.yaml"
run 1 "a broken apiserver flag fails its health check" "$kthw" apply -f "$d" "${kinds[@]}"
grep -q "controller-0: FAILED restart kube-apiserver.service" "$work/out" &&
  grep -q "controller-1: skipped restart kube-apiserver.service" "$work/out" &&
  grep -q "controller-2: skipped restart kube-apiserver.service" "$work/out" &&
  echo "ok: the rollout stopped after controller-0 and said why" || { fail "rollout did not stop"; cat "$work/out"; }
"$lab" ssh controller-1 'systemctl is-active --quiet kube-apiserver' || fail "controller-1's apiserver was taken down"
sed -i 's|missing.pem|kubernetes.pem|; s/^    timeoutSeconds: 8$/    timeoutSeconds: 120/' "$d/kube-apiserver.yaml"
run 0 "reverting repairs controller-0" "$kthw" apply -f "$d" "${kinds[@]}"
no_drift "and the cluster is converged" -f "$d" "${kinds[@]}"

finish
