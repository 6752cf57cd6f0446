#!/usr/bin/env bash
# End to end on the lab: the RBAC API of the real kube-apiserver behind the load balancer, used by
# a real client (kubectl) and by kthw: the seeds' ClusterRole and ClusterRoleBinding posted once the
# API is ready (also when the apiservers come late), hand edits, a deleted binding and a changed
# roleRef found by diff and repaired by apply, no API write on a converged cluster, and wrong
# credentials refused with a clear error.
source "$(dirname "$0")/lib.sh"
lab_with_examples

# The apiservers come late: the first apply has everything but them, and RBAC waits in vain.
run 1 "apply without apiservers: RBAC waits for the API server and gives up" \
  "$kthw" apply -f "$d" --kind Host --kind CertificateBundle --kind ClusterRole --kind ClusterRoleBinding --api-timeout 5
grep -q "WaitingForAPIServer" "$work/out" || fail "no WaitingForAPIServer while the API is down"
run 0 "the full apply brings the apiservers up and posts RBAC once they are ready" "$kthw" apply -f "$d"
[ "$(grep -c 'RBAC: done create' "$work/out")" -eq 2 ] || { fail "RBAC not created exactly once"; cat "$work/out"; }
"$lab" ssh controller-0 'cat /root/admin.kubeconfig' >"$work/admin.kubeconfig"
kube() { kubectl --kubeconfig "$work/admin.kubeconfig" --server https://10.77.0.30:6443 "$@"; }
kube get clusterrole system:kube-apiserver-to-kubelet -o yaml >"$work/role.yaml" 2>&1 &&
  grep -q "app.kubernetes.io/managed-by: kthw" "$work/role.yaml" &&
  echo "ok: kubectl get through the LB sees kthw's ClusterRole" || { fail "kubectl get"; cat "$work/role.yaml"; }
no_drift "diff after apply: no drift" -f "$d"
run 0 "a second apply" "$kthw" apply -f "$d"
grep -q "RBAC: 0 API write(s) planned" "$work/out" || fail "the second apply planned API writes"

# kubectl next to kthw on the same API.
cat >"$work/extra.yaml" <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kthw-e2e-extra
rules:
  - apiGroups: [""]
    resources: [nodes]
    verbs: [get]
YAML
run 0 "kubectl apply -f (create)" kube apply --validate=false -f "$work/extra.yaml"
sed -i 's/verbs: \[get\]/verbs: [get, list]/' "$work/extra.yaml"
run 0 "kubectl apply -f (patch)" kube apply --validate=false -f "$work/extra.yaml"
kube get clusterrole kthw-e2e-extra -o jsonpath='{.rules[0].verbs}' | grep -q list || fail "kubectl apply patch not applied"
run 0 "kubectl get clusterroles,clusterrolebindings" kube get clusterroles,clusterrolebindings
grep -q "system:kube-apiserver" "$work/out" || fail "kubectl get lists nothing"
run 0 "kubectl delete" kube delete clusterrole kthw-e2e-extra
run 1 "kubectl get of a deleted object fails" kube get clusterrole kthw-e2e-extra
grep -q "NotFound" "$work/out" || fail "no NotFound from kubectl"
no_drift "objects kthw does not manage are left alone" -f "$d"

# Drift: an edited rule, a deleted binding, a changed roleRef.
run 0 "kubectl patch a rule" kube patch clusterrole system:kube-apiserver-to-kubelet --type merge \
  -p '{"rules":[{"apiGroups":[""],"resources":["nodes/proxy"],"verbs":["get"]}]}'
run 1 "diff reports the edited rule" "$kthw" diff -f "$d"
grep -q "update ClusterRole/system:kube-apiserver-to-kubelet" "$work/out" || fail "diff does not name the role"
run 0 "kubectl delete the binding" kube delete clusterrolebinding system:kube-apiserver
run 1 "diff reports the deleted binding" "$kthw" diff -f "$d"
grep -q "create ClusterRoleBinding/system:kube-apiserver" "$work/out" || fail "diff does not name the binding"
run 0 "apply repairs both" "$kthw" apply -f "$d"
no_drift "diff is clean again" -f "$d"
sed -i 's/^  name: system:kube-apiserver-to-kubelet$/  name: system:kube-apiserver-to-kubelet/; s/^  kind: ClusterRole\n  name: system:kube-apiserver-to-kubelet//' "$d/rbac.yaml"
python3 - "$d/rbac.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.index("roleRef:")
s = s[:i] + s[i:].replace("name: system:kube-apiserver-to-kubelet", "name: system:kube-apiserver-to-kubelet-v2", 1)
s += """---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:kube-apiserver-to-kubelet-v2
rules:
  - apiGroups: [""]
    resources: [nodes/proxy, nodes/stats, nodes/log, nodes/spec, nodes/metrics]
    verbs: ["*"]
"""
open(p, "w").write(s)
PY
run 1 "diff: a changed roleRef means delete and recreate" "$kthw" diff -f "$d"
grep -q "recreate ClusterRoleBinding/system:kube-apiserver" "$work/out" && grep -q "immutable" "$work/out" ||
  { fail "diff does not plan a recreate"; cat "$work/out"; }
run 0 "apply recreates the binding" "$kthw" apply -f "$d"
kube get clusterrolebinding system:kube-apiserver -o jsonpath='{.roleRef.name}' | grep -q "kubelet-v2" ||
  fail "roleRef not changed"
no_drift "converged" -f "$d"

# Wrong credentials are refused with a clear error.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other-ca -days 1 \
  -keyout "$work/other.key" -out "$work/other.pem" 2>/dev/null
python3 - "$work" <<'PY'
import base64, sys, re
w = sys.argv[1]
k = open(w + "/admin.kubeconfig").read().replace("https://127.0.0.1:6443", "https://10.77.0.30:6443")
other = base64.b64encode(open(w + "/other.pem", "rb").read()).decode()
otherkey = base64.b64encode(open(w + "/other.key", "rb").read()).decode()
open(w + "/wrong-ca.kubeconfig", "w").write(re.sub(r"certificate-authority-data: \S+", "certificate-authority-data: " + other, k))
k2 = re.sub(r"client-certificate-data: \S+", "client-certificate-data: " + other, k)
open(w + "/foreign.kubeconfig", "w").write(re.sub(r"client-key-data: \S+", "client-key-data: " + otherkey, k2))
PY
run 3 "a kubeconfig with the wrong CA is refused" "$kthw" diff -f "$d" --kind ClusterRole --kubeconfig "$work/wrong-ca.kubeconfig"
grep -q "TLS handshake" "$work/out" || { fail "no clear TLS error"; cat "$work/out"; }
run 3 "a foreign client certificate is refused" "$kthw" diff -f "$d" --kind ClusterRole --kubeconfig "$work/foreign.kubeconfig"
grep -q "401\|Unauthorized" "$work/out" || { fail "no clear 401"; cat "$work/out"; }

finish
