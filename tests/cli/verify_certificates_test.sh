#!/usr/bin/env bash
# kthw verify's certificates row against a local Host (transport: local, every file in a
# temporary directory): it passes once apply has installed the store's certificates, and fails
# naming the file when one is replaced by another authority's certificate or removed.
set -u
kthw=$1
work=$(mktemp -d /tmp/kthw-cli-verify-certs-XXXXXX)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME=$work/state
failures=0
fail() {
  echo "FAIL: $*"
  sed 's/^/    /' "$work/out"
  failures=$((failures + 1))
}

cat >"$work/state.yaml" <<EOF
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: here}
spec:
  address: 127.0.0.1
  transport: local
---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  clusterName: verify-certs-test
  authorities: [{name: ca, commonName: test-ca}]
  certificates:
    - {name: admin, issuer: ca, commonName: admin, usages: [client]}
  files:
    - {path: $work/ca.pem, hosts: {names: [here]}, content: {certificate: ca}}
    - {path: $work/admin.pem, hosts: {names: [here]}, content: {certificate: admin}}
EOF
"$kthw" apply -f "$work/state.yaml" >"$work/out" 2>&1 || fail "apply: exit $?"

# verify's other checks fail here (no API server); only the certificates row is looked at.
row() { "$kthw" verify -f "$work/state.yaml" >"$work/out" 2>&1; grep "^certificates " "$work/out"; }
row | grep -Eq "^certificates +here +pass +2 of 2 certificates chain to their authority, soonest expiry 36[45] days \($work/admin.pem\)$" &&
  echo "ok: the installed certificates pass" || fail "no passing certificates row"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=admin -days 30 \
  -keyout "$work/other.key" -out "$work/admin.pem" 2>/dev/null || fail "openssl req"
row | grep -Eq "^certificates +here +fail +1 of 2 .*; $work/admin.pem: differs from the store; untrusted" &&
  echo "ok: another authority's certificate fails, named" || fail "no failing row naming admin.pem"

rm "$work/ca.pem"
row | grep -q "; $work/ca.pem: absent" && echo "ok: a removed certificate fails, named" ||
  fail "no failing row naming the absent ca.pem"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
