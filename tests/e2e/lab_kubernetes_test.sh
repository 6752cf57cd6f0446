#!/usr/bin/env bash
# End to end on the lab against the real Kubernetes control plane (v1.36 built from its Go
# modules): /readyz?verbose on every apiserver and through the load balancer, the leases of the
# controller-manager and scheduler, the seeds' RBAC with the real API's semantics, Secrets
# encrypted at rest and readable across a staged key rotation, service-account tokens, kthw's
# CRDs accepted by the API, and flags the binary does not know refused before anything is
# installed.
source "$(dirname "$0")/lib.sh"
lab_with_examples
run 0 "cold converge of the real control plane" "$kthw" apply -f "$d"
"$lab" ssh controller-0 'cat /root/admin.kubeconfig' >"$work/admin.kubeconfig"
kube() { kubectl --kubeconfig "$work/admin.kubeconfig" --server https://10.77.0.30:6443 "$@"; }
etcd_get() {  # key -> the raw value, read with etcdctl on controller-0
  "$lab" ssh controller-0 "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem \
    --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem get $1 --print-value-only"
}

# /readyz?verbose: every check ok on each apiserver and through the LB.
for server in https://10.77.0.10:6443 https://10.77.0.11:6443 https://10.77.0.12:6443 https://10.77.0.30:6443; do
  kubectl --kubeconfig "$work/admin.kubeconfig" --server "$server" get --raw='/readyz?verbose' >"$work/readyz" 2>&1
  checks=$(grep -c '^\[+\]' "$work/readyz")
  if [ "$checks" -ge 10 ] && ! grep -q '^\[-\]' "$work/readyz" && grep -q 'readyz check passed' "$work/readyz"; then
    echo "ok: $server/readyz?verbose: $checks checks, all ok"
  else
    fail "$server/readyz?verbose"; cat "$work/readyz"
  fi
done

# The controller-manager and scheduler hold their leader-election leases.
for lease in kube-controller-manager kube-scheduler; do
  holder=$(kube -n kube-system get lease "$lease" -o jsonpath='{.spec.holderIdentity}' 2>&1)
  case "$holder" in
  controller-[012]_*) echo "ok: $lease lease held by ${holder%%_*}" ;;
  *) fail "$lease lease: '$holder'" ;;
  esac
done

# The seeds' RBAC, posted verbatim, with the real authorizer's answer.
[ "$(kube auth can-i get nodes --subresource=proxy --as kubernetes 2>/dev/null)" = yes ] &&
  echo "ok: kubectl auth can-i get nodes/proxy --as kubernetes: yes" || fail "kubernetes may not reach nodes/proxy"
[ "$(kube auth can-i get nodes --subresource=proxy --as somebody-else 2>/dev/null)" = no ] &&
  echo "ok: and somebody else may not" || fail "nodes/proxy is open to anybody"
run 0 "a second apply" "$kthw" apply -f "$d"
grep -q "RBAC: 0 API write(s) planned" "$work/out" && grep -q "0 changed, 0 action(s) done" "$work/out" ||
  { fail "the second apply wrote"; cat "$work/out"; }

# Service-account tokens: the key pair and the issuer work.
run 0 "kubectl create serviceaccount" kube create serviceaccount kthw-e2e
kube create token kthw-e2e >"$work/token" 2>&1
python3 - "$work/token" <<'PY' && echo "ok: kubectl create token: a JWT from the cluster's issuer" || fail "kubectl create token"
import base64, json, sys
t = open(sys.argv[1]).read().strip().split(".")
claims = json.loads(base64.urlsafe_b64decode(t[1] + "=" * (-len(t[1]) % 4)))
assert claims["iss"] == "https://10.77.0.30:443", claims
assert claims["sub"] == "system:serviceaccount:default:kthw-e2e", claims
PY

# Encryption at rest, checked as the seeds check it: the raw etcd value carries the aescbc prefix.
run 0 "kubectl create secret" kube create secret generic kthw-e2e --from-literal=password=s3cr3t-value
etcd_get /registry/secrets/default/kthw-e2e >"$work/raw" 2>&1
if grep -aq '^k8s:enc:aescbc:v1:' "$work/raw" && ! grep -aq 's3cr3t-value' "$work/raw"; then
  echo "ok: the Secret is stored encrypted ($(head -c 30 "$work/raw" | tr -cd '[:print:]')...)"
else
  fail "the Secret is not encrypted at rest"; head -c 200 "$work/raw"; echo
fi
# A staged rotation: the new key is added, promoted, the Secrets rewritten, the old key retired;
# the Secret reads back at every stage.
first_key=$(head -c 40 "$work/raw" | cut -d: -f5)
sed -i 's/^    - {name: encryption-config}$/    - {name: encryption-config, keyGeneration: 2}/' "$d/pki.yaml"
grep -q 'keyGeneration: 2' "$d/pki.yaml" || fail "could not raise keyGeneration in pki.yaml"
for stage in "add the new key" "promote the new key"; do
  run 0 "rotation: $stage" "$kthw" apply -f "$d"
  [ "$(kube get secret kthw-e2e -o jsonpath='{.data.password}' | base64 -d)" = s3cr3t-value ] &&
    echo "ok: the Secret reads back after: $stage" || fail "the Secret is unreadable after: $stage"
done
kube get secrets -A -o json | kube replace -f - >/dev/null || fail "rewriting the secrets"
etcd_get /registry/secrets/default/kthw-e2e >"$work/raw" 2>&1
second_key=$(head -c 40 "$work/raw" | cut -d: -f5)
[ -n "$second_key" ] && [ "$second_key" != "$first_key" ] && echo "ok: rewritten with the new key ($first_key -> $second_key)" ||
  fail "the Secret was not rewritten with a new key ($first_key, $second_key)"
sed -i 's/keyGeneration: 2}/keyGeneration: 2, retirePreviousKey: true}/' "$d/pki.yaml"
run 0 "rotation: retire the old key" "$kthw" apply -f "$d"
"$lab" ssh controller-1 'cat /var/lib/kubernetes/encryption-config.yaml' | grep -q "$first_key" &&
  fail "the old key is still in the encryption config"
[ "$(kube get secret kthw-e2e -o jsonpath='{.data.password}' | base64 -d)" = s3cr3t-value ] &&
  echo "ok: the Secret reads back with the old key retired" || fail "the Secret is unreadable after the rotation"

# kthw verify: the same checks as code, against the live cluster.
verify_settled "kthw verify" -f "$d"
cat "$work/out"
for want in "etcd members  *controller-1 etcd  *pass  *3 members: controller-0, controller-1, controller-2" \
  "etcd members agree  *etcd  *pass" "encryption at rest  *controller-[012]  *pass  *.* is stored as k8s:enc:aescbc:v1:" \
  "API via LB  *LoadBalancer/kubernetes  *pass  *https://10.77.0.30:6443 answers v1.36.3" \
  "healthz proxy  *controller-2  *pass" "leader lease  *kube-scheduler  *pass  *held by controller-" \
  "leader lease  *kube-controller-manager  *pass" "kubelet API access  *user kubernetes  *pass" \
  "service health  *controller-0 kube-apiserver  *pass"; do
  grep -q "^$want" "$work/out" && echo "ok: verify: $want" || fail "verify did not say: $want"
done
# The certificates row: what kthw certs reads on each controller chains and is not due.
for host in controller-0 controller-1 controller-2; do
  grep -q "^certificates  *$host  *pass  *\([0-9]*\) of \1 certificates chain to their authority, soonest expiry [0-9]* days" "$work/out" &&
    echo "ok: verify: certificates on $host" || fail "verify: no passing certificates row for $host"
done
grep -q "s3cr3t" "$work/out" && fail "verify showed a Secret's value"
run 0 "kthw verify -o json" "$kthw" verify -f "$d" -o json
grep -q '"failed":0' "$work/out" || fail "verify -o json: $(head -c 300 "$work/out")"
"$lab" ssh controller-1 'systemctl stop kube-scheduler'
run 1 "kthw verify with a scheduler stopped" "$kthw" verify -f "$d"
grep -q "^service health  *controller-1 kube-scheduler  *fail" "$work/out" &&
  echo "ok: verify names the stopped scheduler" || { fail "verify did not name the stopped scheduler"; cat "$work/out"; }
run 0 "apply starts it again" "$kthw" apply -f "$d"

# The operator's kubeconfig: through the load balancer, and written 0600 with --out.
"$kthw" kubeconfig -f "$d" >"$work/op.kubeconfig" 2>"$work/err" || fail "kthw kubeconfig: $(cat "$work/err")"
server=$(kubectl config view --kubeconfig "$work/op.kubeconfig" -o jsonpath='{.clusters[0].cluster.server}')
[ "$server" = https://10.77.0.30:6443 ] || fail "the kubeconfig names $server, not the LB's frontend"
run 0 "kubectl get --raw /version with kthw kubeconfig" kubectl --kubeconfig "$work/op.kubeconfig" get --raw /version
grep -q '"gitVersion": *"v1.36.3"' "$work/out" || fail "/version through the LB: $(cat "$work/out")"
run 0 "kthw kubeconfig --out" "$kthw" kubeconfig -f "$d" --out "$work/op-out.kubeconfig"
[ "$(stat -c %a "$work/op-out.kubeconfig")" = 600 ] && echo "ok: kthw kubeconfig --out writes mode 0600" ||
  fail "kthw kubeconfig --out: mode $(stat -c %a "$work/op-out.kubeconfig"), want 600"

# kthw certs: a row per controller's installed certificates, and JSON that names the hosts.
run 0 "kthw certs" "$kthw" certs -f "$d"
for host in controller-0 controller-1 controller-2; do
  grep -q "^$host  */var/lib/kubernetes/kubernetes.pem  *lab-pki/kubernetes  *same  " "$work/out" &&
    echo "ok: kthw certs: $host has the store's certificate" || fail "kthw certs: no row for $host"
done
"$kthw" certs -f "$d" -o json >"$work/certs.json" 2>"$work/err" || fail "kthw certs -o json: $(cat "$work/err")"
python3 - "$work/certs.json" <<'PY' && echo "ok: kthw certs -o json names controller-0..2" || fail "kthw certs -o json"
import json, sys
d = json.load(open(sys.argv[1]))
hosts = {h["name"] for h in d["hosts"] if h["reachable"]}
assert {"controller-0", "controller-1", "controller-2"} <= hosts, hosts
installed = {c["host"] for e in d["certificates"] for c in e["installed"]}
assert {"controller-0", "controller-1", "controller-2"} <= installed, installed
assert d["certificatesWithFindings"] == 0, d["certificatesWithFindings"]
PY

# A reviewed plan, applied as reviewed: a hand chmod is saved by diff --out-plan and repaired by
# apply --plan.
key=/var/lib/kubernetes/kubernetes-key.pem
"$lab" ssh controller-1 "chmod 0644 $key"
run 1 "diff --out-plan after a hand chmod" "$kthw" diff -f "$d" --out-plan "$work/plan.json"
grep -q "$key" "$work/out" || fail "diff does not name $key"
run 0 "apply --plan" "$kthw" apply -f "$d" --plan "$work/plan.json"
[ "$("$lab" ssh controller-1 "stat -c %a $key")" = 600 ] && echo "ok: apply --plan made $key 0600 again" ||
  fail "apply --plan: $key is $("$lab" ssh controller-1 "stat -c %a $key")"
# A file changed again after the plan was saved: that host is refused and left as it is.
kc=/root/admin.kubeconfig
"$lab" ssh controller-1 "chmod 0644 $kc"
run 1 "diff --out-plan after a second hand chmod" "$kthw" diff -f "$d" --out-plan "$work/plan2.json"
"$lab" ssh controller-1 "echo '# edited after the plan' >>$kc"
before=$("$lab" ssh controller-1 "stat -c %a $kc; sha256sum $kc")
run 1 "apply --plan refuses a host changed since the plan" "$kthw" apply -f "$d" --plan "$work/plan2.json"
grep -q "^controller-1: REFUSED, nothing changed: .*$kc" "$work/out" &&
  echo "ok: apply --plan names the file changed since the plan" || { fail "apply --plan did not refuse controller-1 naming $kc"; cat "$work/out"; }
[ "$("$lab" ssh controller-1 "stat -c %a $kc; sha256sum $kc")" = "$before" ] &&
  echo "ok: the refused host was left unchanged" || fail "apply --plan changed $kc on a refused host"
run 0 "a normal apply reconverges" "$kthw" apply -f "$d"
[ "$("$lab" ssh controller-1 "stat -c %a $kc")" = 600 ] && ! "$lab" ssh controller-1 "grep -q 'edited after the plan' $kc" &&
  echo "ok: $kc is the desired one again" || fail "apply did not restore $kc"

# apply -o json on the converged cluster: one JSON document on stdout, nothing to do.
"$kthw" apply -f "$d" -o json >"$work/apply.json" 2>"$work/err" || fail "apply -o json: exit $?: $(tail -5 "$work/err")"
python3 - "$work/apply.json" <<'PY' && echo "ok: apply -o json: no actions on the converged cluster" || fail "apply -o json: $(head -c 400 "$work/apply.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["exitCode"] == 0, d["exitCode"]
assert d["totals"]["actionsDone"] == 0 and d["totals"]["changed"] == 0, d["totals"]
assert all(h["reachable"] and h["actions"] == [] for h in d["hosts"]), d["hosts"]
assert {"controller-0", "controller-1", "controller-2"} <= {h["name"] for h in d["hosts"]}
assert d["rbac"]["ok"] and d["rbac"]["writes"] == [], d["rbac"]
assert all(c["ready"] for c in d["conditions"]), d["conditions"]
PY
grep -q "apply: .* 0 changed, 0 action(s) done" "$work/err" || fail "apply -o json: no progress lines on stderr"

# kthw's CRDs are structural schemas the real API server accepts, and their resources work.
run 0 "kubectl apply -f crds/" kube apply -f "$root/crds/"
kube wait --for=condition=Established --timeout=30s crd/hosts.kthw.dev crd/controlplaneservices.kthw.dev \
  crd/certificatebundles.kthw.dev crd/loadbalancers.kthw.dev >/dev/null || fail "CRDs not established"
run 0 "kubectl apply a kthw document" kube apply -f "$d/etcd.yaml" -f "$d/hosts.yaml"
[ "$(kube get controlplaneservices.kthw.dev etcd -o jsonpath='{.spec.component}')" = etcd ] &&
  echo "ok: kubectl get controlplaneservices.kthw.dev etcd" || fail "kubectl get of a kthw resource"
run 1 "the API server refuses a document kthw refuses too" kube apply -f - <<'YAML'
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: bad-host}
spec: {address: "10.77.0.50", hostnme: typo}
YAML

# Flags the binary does not know: refused before anything is installed.
cp -r "$d" "$work/seed-flags"
sed -i 's/^    v: 2$/    v: 2\n    enable-swagger-ui: "true"\n    kubelet-https: "true"/' "$work/seed-flags/kube-apiserver.yaml"
sha_before=$("$lab" ssh controller-0 'sha256sum /etc/systemd/system/kube-apiserver.service')
run 1 "diff: the seed's v1.21 flags are refused" "$kthw" diff -f "$work/seed-flags" --kind ControlPlaneService
[ "$(grep -c "  problem: ControlPlaneService/kube-apiserver: flag --enable-swagger-ui, --kubelet-https are not accepted by /usr/local/bin/kube-apiserver (Kubernetes v1.36.3)" "$work/out")" -eq 3 ] &&
  echo "ok: diff names every unknown flag on every controller" || { fail "diff does not name every unknown flag"; cat "$work/out"; }
run 1 "apply leaves the running units in place" "$kthw" apply -f "$work/seed-flags" --kind ControlPlaneService
grep -q "ControlPlaneService/kube-apiserver: Ready=False (ProblemsObserved)" "$work/out" ||
  { fail "the service is not marked as refused"; cat "$work/out"; }
[ "$("$lab" ssh controller-0 'sha256sum /etc/systemd/system/kube-apiserver.service')" = "$sha_before" ] &&
  "$lab" ssh controller-0 'systemctl is-active --quiet kube-apiserver' &&
  echo "ok: the unit is unchanged and the apiserver still runs" || fail "the unit was replaced"
# A typo, on a host whose binary must be installed first: neither binary nor unit goes on.
cp -r "$d" "$work/typo"
sed -i 's/^    etcd-servers: /    etcd-server: /' "$work/typo/kube-apiserver.yaml"
"$lab" ssh controller-2 'systemctl stop kube-apiserver; rm -f /usr/local/bin/kube-apiserver /etc/systemd/system/kube-apiserver.service; systemctl daemon-reload'
run 1 "apply with a typo in a flag name" "$kthw" apply -f "$work/typo" --kind ControlPlaneService --host controller-2
grep -q "error: flag --etcd-server not accepted by /usr/local/bin/kube-apiserver (Kubernetes v1.36.3)" "$work/out" ||
  { fail "the typo is not named"; cat "$work/out"; }
"$lab" ssh controller-2 'test -e /usr/local/bin/kube-apiserver || test -e /etc/systemd/system/kube-apiserver.service' &&
  fail "something was installed despite the typo" || echo "ok: nothing was installed on controller-2"
run 0 "the correct flags converge controller-2 again" "$kthw" apply -f "$d"
no_drift "and nothing drifts" -f "$d"
finish
