#!/usr/bin/env bash
# End to end on the lab: a controller loses power in the middle of the cold converge. The other
# hosts converge (etcd keeps quorum with two members, the load balancer routes around the dead
# backend, RBAC is posted), the report names the dead host, and once it is back the next apply
# finishes it and nothing drifts.
source "$(dirname "$0")/lib.sh"
lab_with_examples
# A dead host must not hold every exec of the pass for the default two minutes.
sed -i 's/^  ssh:$/  ssh:\n    commandTimeoutSeconds: 15\n    connectTimeoutSeconds: 5/' "$d/hosts.yaml"
run 0 "the desired state with shorter timeouts is valid" "$kthw" validate -f "$d"

"$kthw" apply -f "$d" >"$work/apply.out" 2>&1 &
apply=$!
for _ in $(seq 1 300); do
  grep -q "^controller-2: done " "$work/apply.out" && break
  sleep 0.1
done
grep -q "^controller-2: done " "$work/apply.out" || fail "controller-2 never started changing"
"$lab" poweroff controller-2
echo "ok: controller-2 powered off after: $(grep '^controller-2: done ' "$work/apply.out" | tail -1)"
rc=0
wait "$apply" || rc=$?
cat "$work/apply.out" >>"$work/all-output"
[ "$rc" -eq 1 ] && echo "ok: apply exits 1" || { fail "apply exit $rc, want 1"; cat "$work/apply.out"; }
grep -q "not converged: controller-2$" "$work/apply.out" && echo "ok: the report names controller-2" ||
  { fail "the summary does not name controller-2 alone"; tail -20 "$work/apply.out"; }
grep -q "RBAC: done create ClusterRoleBinding/system:kube-apiserver" "$work/apply.out" ||
  fail "RBAC was not posted through the two live apiservers"
no_drift "the other hosts converged: diff --host controller-0,1, lb-0 finds nothing" \
  -f "$d" --host controller-0 --host controller-1 --host lb-0 --kind Host \
  --kind CertificateBundle --kind ControlPlaneService --kind LoadBalancer
run 3 "diff reports controller-2 unreachable" "$kthw" diff -f "$d" --host controller-2
grep -q "unreachable" "$work/out" || fail "diff does not say controller-2 is unreachable"
"$lab" ssh controller-0 "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem \
  --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem endpoint health" >/dev/null 2>&1 &&
  echo "ok: etcd on controller-0 is healthy with two of three members" || fail "etcd lost quorum"

"$lab" poweron controller-2
run 0 "the next apply, with controller-2 back, finishes it" "$kthw" apply -f "$d"
grep -q "^controller-2: [0-9]* change(s)" "$work/out" || fail "controller-2 had nothing left to do?"
no_drift "nothing drifts anywhere" -f "$d"
"$lab" ssh controller-2 "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem \
  --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem endpoint health --cluster" >"$work/health" 2>&1 &&
  [ "$(grep -c 'is healthy' "$work/health")" -eq 3 ] && echo "ok: all three etcd members healthy" ||
  { fail "etcd cluster health"; cat "$work/health"; }
finish
