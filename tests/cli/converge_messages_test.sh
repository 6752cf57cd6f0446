#!/usr/bin/env bash
# kthw diff and apply as a user runs them, against a real sshd on loopback
# (tests/support/sshd-harness.sh, needs root): what diff says while certificate material is still
# to be issued, and how apply ends when no host can be reached.
set -euo pipefail
kthw=$1
src=$2
harness=$src/tests/support/sshd-harness.sh
work=$(mktemp -d /tmp/kthw-cli-converge-XXXXXX)
cleanup() {
  "$harness" stop "$work/sshd" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() {
  echo "FAIL: $*"
  sed 's/^/    /' "$work/out"
  failures=$((failures + 1))
}
expect_line() {  # description fixed-string
  grep -qxF -- "$2" "$work/out" || fail "$1: no line \"$2\""
}

port=$("$harness" start "$work/sshd")
hostkey=$(cut -d' ' -f1,2 "$work/sshd/host_key.pub")

# One host behind sshd, a CA and an admin certificate, haproxy with a route check on that host,
# kube-apiserver on it, and a ClusterRole.
write_state() {  # dir ssh-port store
  mkdir -p "$1"
  cat >"$1/host.yaml" <<EOF
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: sshd-0, labels: {role: controller}}
spec:
  address: 127.0.0.1
  internalIP: 127.0.0.1
  ssh: {port: $2, identityFile: $work/sshd/user_key, hostKey: "$hostkey", connectTimeoutSeconds: 5}
EOF
  cat >"$1/cluster.yaml" <<EOF
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: test-pki}
spec:
  clusterName: kthw-cli-test
  secretStore: $3
  authorities: [{name: ca, commonName: Kubernetes}]
  certificates:
    - {name: admin, issuer: ca, commonName: admin, subject: {organizations: ["system:masters"]}, usages: [client]}
  kubeconfigs:
    - {name: admin, certificate: admin, server: "https://127.0.0.1:6443"}
  files:
    - {path: /etc/kthw-cli-test/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
---
apiVersion: kthw.dev/v1alpha1
kind: LoadBalancer
metadata: {name: kubernetes}
spec:
  implementation: haproxy
  host: sshd-0
  frontend: {address: 127.0.0.1, port: 1}
  backends: {hosts: {selector: {role: controller}}, port: 6443}
  routeCheck: {certificateBundle: test-pki, authority: ca}
---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-apiserver}
spec:
  component: kube-apiserver
  hosts: {selector: {role: controller}}
  binary: {path: /usr/local/bin/kube-apiserver}
  flags: {advertise-address: "\${host.internalIP}"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kthw-cli-test}
rules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]
EOF
}

# diff with the secret store emptied, on a host whose load balancer config is already in place:
# the material is to be issued (drift, exit 1), not a load balancer that "does not route" and
# not an unreachable host (exit 3).
write_state "$work/state" "$port" "$work/store"
"$kthw" render -f "$work/state" --out-dir "$work/rendered" >/dev/null
mkdir -p "$work/sshd/etc/haproxy"
cp "$work/rendered/sshd-0/etc/haproxy/haproxy.cfg" "$work/sshd/etc/haproxy/haproxy.cfg"
rm -rf "$work/store"
set +e
"$kthw" diff -f "$work/state" --color never >"$work/out" 2>&1
code=$?
set -e
[ "$code" -eq 1 ] || fail "diff with material to issue: exit $code, want 1"
expect_line "diff with material to issue" "material to be issued on apply:"
expect_line "diff with material to issue" "  CertificateBundle/test-pki: ca, admin (absent)"
expect_line "diff with material to issue" \
  "  LoadBalancer/kubernetes: route not checked until its authority ca is issued"
expect_line "diff with material to issue" \
  "  RBAC: not compared: the admin certificate of CertificateBundle/test-pki is not issued yet"
! grep -q "does not route" "$work/out" || fail "diff with material to issue: a routing verdict"
[ ! -e "$work/store" ] || fail "diff wrote the secret store"
[ "$failures" -gt 0 ] || echo "ok: diff with material to issue"

# -o json keeps stdout one JSON document; the note goes to stderr.
set +e
"$kthw" diff -f "$work/state" -o json >"$work/json" 2>"$work/out"
code=$?
set -e
[ "$code" -eq 1 ] || fail "diff -o json with material to issue: exit $code, want 1"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/json" ||
  fail "diff -o json: stdout is not JSON"
expect_line "diff -o json with material to issue" "material to be issued on apply:"

# Every host unreachable (nothing listens on port 1): diff says so with exit 3, and apply ends
# at once instead of waiting --api-timeout for an API server it could not have brought up.
write_state "$work/down" 1 "$work/store-down"
set +e
"$kthw" diff -f "$work/down" --color never >"$work/out" 2>&1
code=$?
set -e
[ "$code" -eq 3 ] || fail "diff of an unreachable host: exit $code, want 3"
start=$(date +%s)
set +e
timeout 100 "$kthw" apply -f "$work/down" >"$work/out" 2>&1
code=$?
set -e
took=$(($(date +%s) - start))
[ "$code" -eq 1 ] || fail "apply with every host unreachable: exit $code, want 1"
[ "$took" -lt 20 ] || fail "apply with every host unreachable took ${took}s"
expect_line "apply with every host unreachable" \
  "RBAC: no host could be reached: checking the API server once instead of waiting up to 120s"
grep -q "^  RBAC: FAILED: the API server at https://127.0.0.1:1 is not ready" "$work/out" ||
  fail "apply with every host unreachable: no RBAC failure line"
! grep -q "WaitingForAPIServer" "$work/out" || fail "apply waited for the API server"
[ "$failures" -gt 0 ] || echo "ok: apply with every host unreachable (${took}s)"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
