#!/usr/bin/env bash
# The acceptance suite on the lab, from bare hosts: cold converge with every resource Ready, a
# second apply that writes, restarts and posts nothing; drift of every kind found by diff (exit 1,
# naming host, resource and field) and repaired by apply; an invalid desired state changing
# nothing; and a new SAN rolled out with etcd and the API available through the LB throughout.
source "$(dirname "$0")/lib.sh"
lab_with_examples
services="etcd kube-apiserver kube-controller-manager kube-scheduler"
snapshot() {
  for n in 0 1 2; do
    "$lab" ssh "controller-$n" "for s in $services; do echo controller-$n \$s \$(systemctl show -p ActiveEnterTimestampMonotonic --value \$s); done"
  done
}
drift() {  # description host resource field-text command-on-host
  local what=$1 host=$2 resource=$3 field=$4 cmd=$5
  "$lab" ssh "$host" "$cmd"
  run 1 "$what: diff finds it" "$kthw" diff -f "$d"
  awk -v h="$host" '/^[a-z]/ {cur=$1} cur == h' "$work/out" >"$work/host-out"
  grep -q "\[$resource\]" "$work/host-out" && grep -qF -- "$field" "$work/host-out" ||
    { fail "$what: diff does not name $host, $resource and '$field'"; cat "$work/out"; }
  run 0 "$what: apply repairs it" "$kthw" apply -f "$d"
  # A restarted apiserver can cost the scheduler or controller-manager on that host its leader
  # lease; it exits and systemd starts it again after RestartSec (5 s). Such a unit is
  # "activating" meanwhile, which diff rightly calls drift: give systemd up to 30 s to settle. A
  # unit still activating after that is drift the test reports.
  for _ in $(seq 15); do
    "$lab" ssh "$host" "systemctl list-units --state=activating --no-legend --plain | grep -q ." || break
    sleep 2
  done
  no_drift "$what: no drift after the repair" -f "$d"
}

run 0 "cold converge of the whole control plane" "$kthw" apply -f "$d"
ready=$(grep -c ": Ready=True" "$work/out")
[ "$ready" -ge 10 ] && ! grep -q "Ready=False" "$work/out" && echo "ok: every resource Ready ($ready)" ||
  { fail "not every resource is Ready"; cat "$work/out"; }
snapshot >"$work/before"
run 0 "second apply" "$kthw" apply -f "$d"
grep -q "0 changed, 0 action(s) done" "$work/out" && grep -q "RBAC: 0 API write(s)" "$work/out" ||
  { fail "the second apply wrote something"; cat "$work/out"; }
snapshot >"$work/after"
cmp -s "$work/before" "$work/after" && echo "ok: nothing restarted" || fail "a service restarted"

drift "a unit flag edited by hand" controller-1 "ControlPlaneService/kube-apiserver" \
  "+  --v=2" "sed -i 's/--v=2/--v=6/' /etc/systemd/system/kube-apiserver.service && systemctl daemon-reload"
drift "a stopped service" controller-2 "ControlPlaneService/kube-scheduler" "start kube-scheduler.service" \
  "systemctl stop kube-scheduler"
drift "a key file chmod 0644" controller-0 "CertificateBundle/lab-pki" "owner or mode root:root 0644" \
  "chmod 0644 /var/lib/kubernetes/kubernetes-key.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=kubernetes -days 30 \
  -keyout /dev/null -out "$work/foreign.pem" 2>/dev/null
"$lab" ssh controller-2 'cat > /tmp/foreign.pem' <"$work/foreign.pem"
drift "a certificate from another CA" controller-2 "CertificateBundle/lab-pki" \
  "write /var/lib/kubernetes/kubernetes.pem" "cp /tmp/foreign.pem /var/lib/kubernetes/kubernetes.pem"
drift "a binary replaced" controller-1 "ControlPlaneService/kube-scheduler" "install /usr/local/bin/kube-scheduler" \
  "cp /bin/true /usr/local/bin/.kube-scheduler.new && mv /usr/local/bin/.kube-scheduler.new /usr/local/bin/kube-scheduler"
drift "an /etc/hosts entry removed" controller-0 "Host/controller-0" "+10.77.0.30 lb-0" \
  "sed -i '/^10.77.0.30 lb-0$/d' /etc/hosts"
drift "an LB backend removed" lb-0 "LoadBalancer/kubernetes" "write /etc/haproxy/haproxy.cfg" \
  "sed -i '/server controller-2 /d' /etc/haproxy/haproxy.cfg && systemctl reload haproxy"
"$lab" ssh controller-0 'cat /root/admin.kubeconfig' | sed 's|https://127.0.0.1:6443|https://10.77.0.30:6443|' >"$work/admin.kubeconfig"
kubectl --kubeconfig "$work/admin.kubeconfig" delete clusterrolebinding system:kube-apiserver >/dev/null
run 1 "a ClusterRoleBinding deleted through kubectl: diff finds it" "$kthw" diff -f "$d"
grep -q "create ClusterRoleBinding/system:kube-apiserver" "$work/out" || fail "diff does not name the binding"
run 0 "apply recreates it" "$kthw" apply -f "$d"

# An invalid desired state is rejected whole; nothing changes.
cp -r "$d" "$work/invalid"
sed -i 's/^    v: 2$/    v: [2]/' "$work/invalid/kube-apiserver.yaml"
snapshot >"$work/before"
run 2 "an invalid change is rejected" "$kthw" apply -f "$work/invalid"
grep -q "kube-apiserver.yaml:[0-9]*:[0-9]*: spec.flags.v:" "$work/out" || fail "no file:line:col for the invalid flag"
snapshot >"$work/after"
cmp -s "$work/before" "$work/after" && echo "ok: nothing changed" || fail "the rejected change touched a service"

# A new SAN: the certificate is reissued and redistributed, etcd and the apiservers restart one
# at a time, and a client polling /version and /readyz through the LB sees no failure: kthw
# takes each controller out of haproxy's rotation before its apiserver stops and puts it back
# once its /readyz passes, so no request reaches an apiserver that is stopping or starting.
"$lab" ssh controller-0 'cat /var/lib/kubernetes/ca.pem' >"$work/ca.pem"
sed -i 's/^        - "127.0.0.1"$/        - "127.0.0.1"\n        - "10.77.0.99"/' "$d/pki.yaml"
poll() { curl -sf --max-time 3 --cacert "$work/ca.pem" "https://10.77.0.30:6443$1" >/dev/null; }
(
  ok=0 bad=0 ready_ok=0 ready_bad=0
  while [ ! -e "$work/stop-polling" ]; do
    if poll /version; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    if poll /readyz; then ready_ok=$((ready_ok + 1)); else ready_bad=$((ready_bad + 1)); fi
    sleep 0.05
  done
  echo "$ok $bad $ready_ok $ready_bad" >"$work/polls"
) &
poller=$!
run 0 "apply a new SAN" "$kthw" apply -f "$d"
touch "$work/stop-polling"
wait "$poller"
read -r ok bad ready_ok ready_bad <"$work/polls"
grep -q "issued kubernetes (IP SANs" "$work/out" || fail "the certificate was not reissued"
restarts=$(grep -c "done restart kube-apiserver.service" "$work/out")
[ "$restarts" -eq 3 ] || fail "apiserver restarts: $restarts"
[ "$bad" -eq 0 ] && [ "$ok" -gt 10 ] && echo "ok: $ok /version requests through the LB during the rollout, 0 failed" ||
  fail "$bad of $((ok + bad)) /version requests failed during the rollout"
[ "$ready_bad" -eq 0 ] && [ "$ready_ok" -gt 10 ] &&
  echo "ok: $ready_ok /readyz polls through the LB during the rollout, 0 failed" ||
  fail "$ready_bad of $((ready_ok + ready_bad)) /readyz polls through the LB failed during the rollout"
[ "$(grep -c "done restart kube-apiserver.service (out of LoadBalancer/kubernetes's rotation meanwhile)" "$work/out")" -eq 3 ] ||
  fail "the apiserver restarts did not leave haproxy's rotation"
"$lab" ssh lb-0 "echo 'show servers state kubernetes-master-nodes' | socat stdio unix-connect:/run/haproxy/admin.sock" >"$work/servers"
[ "$(awk '$4 ~ /^controller-/ && $6 == 2 && $7 == 0' "$work/servers" | wc -l)" -eq 3 ] &&
  echo "ok: all three controllers back in haproxy's rotation (up, not in maintenance)" ||
  fail "a controller is still out of rotation: $(cat "$work/servers")"
"$lab" ssh controller-1 'openssl x509 -in /var/lib/kubernetes/kubernetes.pem -noout -ext subjectAltName' | grep -q 10.77.0.99 ||
  fail "the new SAN is not on controller-1"
no_drift "converged after the rollout" -f "$d"
finish
