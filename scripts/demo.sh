#!/usr/bin/env bash
# What `make demo` shows: kthw validating the examples, then converging the lab — certificates,
# etcd 3.6, the real kube-apiserver, controller-manager and scheduler v1.36, haproxy and RBAC —
# from bare hosts, and proving it with the real kubectl and etcdctl.
set -euo pipefail
kthw=$(realpath "${1:-build/kthw}")
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lab=tests/lab/lab
hosts=/var/lib/kthw-lab/hosts.yaml
# The demo's secret store, apart from any real cluster's.
export XDG_STATE_HOME=${XDG_STATE_HOME:-/var/lib/kthw-demo}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "the lab's control plane: kube-apiserver, controller-manager, scheduler, kubectl, etcd (built once, then cached)"
for dir in $(tests/lab/components/build all); do PATH=$dir:$PATH; done
export PATH
ls -l "$(dirname "$(command -v kube-apiserver)")" "$(dirname "$(command -v etcd)")" | grep -v '^total'

step "kthw validate: the seeds' HA cluster and single-node build as documents"
"$kthw" validate -f examples/ha-cluster
"$kthw" validate -f examples/single-node

step "an invalid document is refused with file:line:col and the field"
bad=$(mktemp --suffix=.yaml)
trap 'rm -f "$bad"' EXIT
printf 'apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: controller-9\nspec:\n  address: 10.0.1.19\n  ssh: {identityFile: ~/.ssh/id_ed25519, prot: 22}\n  etcHosts:\n    - {ip: 10.0.1.300, names: [ip-10-0-1-20]}\n' >"$bad"
"$kthw" validate -f "$bad" || echo "(exit status $?: invalid)"

step "the lab: controller-0..2 and lb-0 as systemd containers (the first run builds a rootfs)"
"$lab" up

step "kthw diff: what apply would do to the bare lab (certificates are pending: diff writes nothing)"
"$kthw" diff -f examples/lab -f "$hosts" >/tmp/kthw-demo-diff.txt || true
grep -E '^[a-z]|^  [~!-] |no drift|host\(s\)' /tmp/kthw-demo-diff.txt | awk 'NR <= 40'
echo "... ($(grep -c '^  [~!-] ' /tmp/kthw-demo-diff.txt) changes in all; full plan in /tmp/kthw-demo-diff.txt)"

step "kthw apply -f examples/lab: certificates, etcd, kube-apiserver, controller-manager, scheduler, haproxy, RBAC"
time "$kthw" apply -f examples/lab -f "$hosts"

step "kthw diff: no drift"
"$kthw" diff -f examples/lab -f "$hosts"

step "kthw apply again: nothing to do"
"$kthw" apply -f examples/lab -f "$hosts" | tail -12

step "kthw run: the daemon takes over (one probe per host per resync), and kthw status shows it"
"$kthw" run -f examples/lab -f "$hosts" --listen 127.0.0.1:9740 --interval 10 >/tmp/kthw-demo-run.log 2>&1 &
daemon=$!
trap 'rm -f "$bad"; kill -TERM "$daemon" 2>/dev/null || true' EXIT
# Ready once every resource was reconciled; then until each is Ready (RBAC retries with
# backoff until the daemon's first host pass has the admin credentials).
for _ in $(seq 1 120); do
  curl -sf --max-time 2 http://127.0.0.1:9740/readyz >/dev/null &&
    "$kthw" status --server 127.0.0.1:9740 >/dev/null 2>&1 && break
  sleep 0.5
done
"$kthw" status --server 127.0.0.1:9740 || true
echo "(/metrics: $(curl -s http://127.0.0.1:9740/metrics | grep -c '^kthw_') series; log in /tmp/kthw-demo-run.log)"

step "drift by hand on controller-2: scheduler stopped, a key made world-readable, a unit edited"
"$lab" ssh controller-2 'systemctl stop kube-scheduler; chmod 0644 /var/lib/kubernetes/kubernetes-key.pem
  sed -i "s/--v=2/--v=4/" /etc/systemd/system/kube-controller-manager.service; systemctl daemon-reload
  systemctl is-active kube-scheduler; stat -c "%a %n" /var/lib/kubernetes/kubernetes-key.pem' || true
mark=$(wc -l </tmp/kthw-demo-run.log)
healed() {
  "$lab" ssh controller-2 'systemctl is-active -q kube-scheduler &&
    [ "$(stat -c %a /var/lib/kubernetes/kubernetes-key.pem)" = 600 ] &&
    ! grep -q -- --v=4 /etc/systemd/system/kube-controller-manager.service'
}
start=$(date +%s)
for _ in $(seq 1 60); do healed && break; sleep 1; done
# The log's line for a start follows the service's health check.
for _ in $(seq 1 20); do grep -q "controller-2: done start kube-scheduler" /tmp/kthw-demo-run.log && break; sleep 0.5; done
if healed; then
  echo "the daemon repaired it $(($(date +%s) - start)) s later, unasked; from its log:"
else
  echo "not repaired within 60 s; the daemon's log says:"
fi
tail -n +"$((mark + 1))" /tmp/kthw-demo-run.log | grep -E "controller-2: (done|FAILED|[0-9]+ change)" | cut -c1-150 | head -12
kill -TERM "$daemon"
wait "$daemon" || true

"$lab" ssh controller-0 'cat /root/admin.kubeconfig' >/tmp/kthw-demo-admin.kubeconfig
kube() { kubectl --kubeconfig /tmp/kthw-demo-admin.kubeconfig --server https://10.77.0.30:6443 "$@"; }

step "kubectl get --raw='/readyz?verbose' through the load balancer"
kube get --raw='/readyz?verbose' | awk '{ n++ } /^\[-\]/ { bad++ } END { print n - 1 " checks, " bad + 0 " failing" }'
kube get --raw='/readyz?verbose' | tail -3

step "the controller-manager and the scheduler hold their leader-election leases"
kube -n kube-system get lease kube-controller-manager kube-scheduler

step "the seeds' RBAC: may the apiserver's user reach the kubelets? (kubectl auth can-i)"
echo "kubectl auth can-i get nodes --subresource=proxy --as kubernetes: $(kube auth can-i get nodes --subresource=proxy --as kubernetes 2>/dev/null || true)"
kube get clusterroles,clusterrolebindings -l app.kubernetes.io/managed-by=kthw

step "Secrets are encrypted at rest: a Secret, and its raw value in etcd"
kube delete secret kthw-demo --ignore-not-found >/dev/null
kube create secret generic kthw-demo --from-literal=password=demo-s3cret
"$lab" ssh controller-0 "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem \
  --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem get /registry/secrets/default/kthw-demo" |
  hexdump -C | head -6

step "curl --cacert ca.pem https://10.77.0.30:6443/version"
"$lab" ssh controller-0 'cat /var/lib/kubernetes/ca.pem' >/tmp/kthw-demo-ca.pem
curl -sS --cacert /tmp/kthw-demo-ca.pem https://10.77.0.30:6443/version
echo

step "etcdctl endpoint health --cluster"
"$lab" ssh controller-0 "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem \
  --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem endpoint health --cluster"

step "kthw verify: etcd members, health, encryption at rest, leases, RBAC, checked live"
"$kthw" verify -f examples/lab -f "$hosts" || true

step "done"
cat <<TEXT
The lab is still up. Look around:
  tests/lab/lab status
  tests/lab/lab ssh controller-1 systemctl status kube-apiserver
  $kthw diff -f examples/lab -f $hosts
Tear it down with: make lab-down
  kubectl --kubeconfig /tmp/kthw-demo-admin.kubeconfig --server https://10.77.0.30:6443 get --raw /version
The control plane is Kubernetes v1.36.3 and etcd 3.6.15, built from their Go modules by
tests/lab/components/build; on a real cluster, point binary.url at the official releases.
TEXT
