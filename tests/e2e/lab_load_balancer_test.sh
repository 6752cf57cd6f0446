#!/usr/bin/env bash
# End to end on the lab: haproxy on lb-0 in front of the three real apiservers, the
# route through it verified with the cluster CA, traffic reaching every controller, a stopped
# apiserver behind a still-answering LB, a switch to nginx, hand edits as drift, and a config
# the checker refuses leaving the running one untouched.
source "$(dirname "$0")/lib.sh"
through_lb() { curl -sf --max-time 5 --cacert "$work/ca.pem" https://10.77.0.30:6443/version; }
lab_with_examples

# Preflight: a command the load balancer needs, missing on lb-0, is named with the fix; nothing
# is planned to start a service that cannot run.
"$lab" ssh lb-0 'mv /usr/sbin/haproxy /usr/sbin/haproxy.kthw-hidden'
run 1 "diff with haproxy missing on lb-0" "$kthw" diff -f "$d" --kind LoadBalancer --host lb-0
grep -q "problem: LoadBalancer/kubernetes: preflight: haproxy is missing (it runs the load balancer as haproxy.service); install the haproxy package" "$work/out" &&
  echo "ok: diff names the missing haproxy on lb-0 and the fix" || { fail "diff does not name the missing haproxy"; cat "$work/out"; }
"$lab" ssh lb-0 'mv /usr/sbin/haproxy.kthw-hidden /usr/sbin/haproxy'

run 0 "apply: the control plane and haproxy on lb-0" "$kthw" apply -f "$d"
grep -q "LoadBalancer/kubernetes: route through the frontend answers" "$work/out" || fail "route check did not pass"
"$lab" ssh controller-0 'cat /var/lib/kubernetes/ca.pem' >"$work/ca.pem"
through_lb | grep -q '"gitVersion"' && echo "ok: curl --cacert ca.pem https://10.77.0.30:6443/version answers" ||
  fail "no answer through the LB"
for _ in $(seq 1 9); do through_lb >/dev/null; done
"$lab" ssh lb-0 'journalctl -u haproxy --no-pager' >"$work/haproxy.log"
for n in 0 1 2; do
  grep -q "kubernetes-master-nodes/controller-$n " "$work/haproxy.log" || fail "no request reached controller-$n"
done
echo "ok: requests reached all three controllers (haproxy log)"
"$lab" ssh controller-0 'curl -sf -H "Host: kubernetes.default.svc.cluster.local" http://127.0.0.1/healthz' | grep -q ok &&
  echo "ok: the nginx /healthz proxy answers on a controller" || fail "healthz proxy"
no_drift "diff: no drift" -f "$d"

# One apiserver down: the LB keeps answering; diff reports it; apply repairs it.
"$lab" ssh controller-1 'systemctl stop kube-apiserver'
sleep 8  # fall 3 x inter 2s: haproxy takes controller-1 out
answered=0
for _ in $(seq 1 6); do through_lb >/dev/null && answered=$((answered + 1)); done
[ "$answered" -eq 6 ] && echo "ok: the LB keeps answering with one apiserver down" || fail "only $answered/6 answered"
run 1 "diff reports the stopped apiserver" "$kthw" diff -f "$d"
grep -q "start kube-apiserver.service" "$work/out" || fail "diff does not name the stopped service"
run 0 "apply repairs it" "$kthw" apply -f "$d"

# Switch to nginx: the haproxy config goes, haproxy stops, traffic flows through nginx.
# nginx's stream module has only passive checks and no runtime API: the HTTPS readiness check
# and taking a backend out of rotation during a restart are haproxy's.
sed -i 's/^  implementation: haproxy$/  implementation: nginx/; s/, httpPath: \/readyz}$/}/; /^    service: kube-apiserver$/d' "$d/loadbalancer.yaml"
run 0 "apply the switch to nginx" "$kthw" apply -f "$d"
"$lab" ssh lb-0 '[ ! -e /etc/haproxy/haproxy.cfg ] && ! systemctl is-active --quiet haproxy && systemctl is-active --quiet nginx' &&
  echo "ok: haproxy config removed, haproxy stopped, nginx running" || fail "switch to nginx incomplete"
through_lb | grep -q '"gitVersion"' && echo "ok: traffic flows through nginx" || fail "no answer through nginx"
no_drift "diff after the switch: no drift" -f "$d"

# A hand edit of the LB config is drift, and apply puts it back.
"$lab" ssh lb-0 "sed -i 's/server 10.77.0.11:6443.*//' /etc/nginx/tcpconf.d/kubernetes.conf"
run 1 "a hand edit of the LB config is drift" "$kthw" diff -f "$d" --host lb-0
grep -q "write /etc/nginx/tcpconf.d/kubernetes.conf" "$work/out" || fail "diff does not name the LB config"
run 0 "apply restores it" "$kthw" apply -f "$d" --host lb-0

# A desired config the checker refuses: a backend whose address lb-0 cannot resolve.
sed -i 's/^  implementation: nginx$/  implementation: haproxy/; s/^  healthCheck: {fall: 3, rise: 2}$/  healthCheck: {fall: 3, rise: 2, httpPath: \/readyz}/; s/^    port: 6443$/&\n    service: kube-apiserver/' "$d/loadbalancer.yaml"
run 0 "back to haproxy" "$kthw" apply -f "$d"
before=$("$lab" ssh lb-0 'sha256sum /etc/haproxy/haproxy.cfg')
cat >>"$d/hosts.yaml" <<'YAML'
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: ghost, labels: {role: apiserver-extra}}
spec:
  address: ghost.kthw-lab.invalid
  internalIP: 10.77.0.99
  ssh: {identityFile: /nonexistent}
YAML
sed -i 's/^    hosts: {selector: {role: controller}}\n    port: 6443$//' "$d/loadbalancer.yaml"
python3 - "$d/loadbalancer.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("  backends:\n    hosts: {selector: {role: controller}}\n    port: 6443\n",
              "  backends:\n    hosts: {names: [controller-0, controller-1, controller-2, ghost]}\n    port: 6443\n    addressField: address\n")
open(p, "w").write(s)
PY
run 1 "apply with a config haproxy -c refuses" "$kthw" apply -f "$d" --host lb-0
grep -q "failed its check, the old one stays" "$work/out" && grep -q "ghost.kthw-lab.invalid" "$work/out" &&
  grep -q "LoadBalancer/kubernetes: Ready=False (ApplyFailed), Degraded" "$work/out" &&
  echo "ok: refused with the checker's message, the resource Degraded" || { fail "no checker message"; cat "$work/out"; }
after=$("$lab" ssh lb-0 'sha256sum /etc/haproxy/haproxy.cfg')
[ "$before" = "$after" ] && "$lab" ssh lb-0 'systemctl is-active --quiet haproxy' && through_lb >/dev/null &&
  echo "ok: the running config is untouched and still routes" || fail "the running config changed"

finish
