#!/usr/bin/env bash
# End to end on the lab: a control plane built BY HAND (tests/lab/hand-build: controller-0's PKI
# made with openssl, the seeds' encryption config, kubeconfigs from kubectl config, units as
# heredocs) holds a Secret encrypted at rest. kthw, whose secret store has never seen that
# authority, key pairs or encryption key, must not reissue any of them: diff names the CA as not
# in the store and points at kthw adopt, and apply leaves ca.pem, service-account.pem and the
# encryption config as they are, with the Secret still readable. Then kthw adopt takes them into
# the store and apply converges without reissuing anything (the section at the end, enabled with
# the command).
source "$(dirname "$0")/lib.sh"
lab_up controller-0 lb-0

# The control plane built by hand.
t=$(date +%s)
if timeout 900 "$root/tests/lab/hand-build" >"$work/out" 2>&1; then
  echo "ok: a control plane built by hand on controller-0 in $(($(date +%s) - t))s"
else
  fail "tests/lab/hand-build"
  sed 's/^/    /' "$work/out"
  finish
  exit 1
fi
"$lab" ssh controller-0 'cat /root/admin.kubeconfig' >"$work/admin.kubeconfig"
kube() { timeout 60 kubectl --kubeconfig "$work/admin.kubeconfig" --server https://10.77.0.10:6443 "$@"; }
on() { timeout 60 "$lab" ssh controller-0 "$@"; }
sha() { on "sha256sum $1" | cut -d' ' -f1; }
etcd_get() {  # key -> the raw value, read with etcdctl on controller-0
  on "etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem \
    --cert=/etc/etcd/kubernetes.pem --key=/etc/etcd/kubernetes-key.pem get $1 --print-value-only"
}
password=adopt-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
secret_reads_back() { [ "$(kube get secret adopt-e2e -o jsonpath='{.data.password}' | base64 -d)" = "$password" ]; }

# A Secret on the hand-built cluster, encrypted at rest with the hand-made key1.
run 0 "kubectl create secret on the hand-built cluster" \
  kube create secret generic adopt-e2e --from-literal=password="$password"
etcd_get /registry/secrets/default/adopt-e2e >"$work/raw" 2>"$work/err"
if grep -aq '^k8s:enc:aescbc:v1:key1:' "$work/raw" && ! grep -aqF "$password" "$work/raw"; then
  echo "ok: the Secret is stored encrypted ($(head -c 23 "$work/raw")...)"
else
  fail "the Secret is not encrypted at rest with key1: $(head -c 40 "$work/raw" | tr -cd '[:print:]') $(head -3 "$work/err")"
fi
secret_reads_back && echo "ok: the Secret reads back" || fail "the Secret does not read back"
ca_sha=$(sha /var/lib/kubernetes/ca.pem)
sa_sha=$(sha /var/lib/kubernetes/service-account.pem)
enc_sha=$(sha /var/lib/kubernetes/encryption-config.yaml)
units="etcd kube-apiserver kube-controller-manager kube-scheduler"
started() { on "for u in $units; do systemctl show -p MainPID,ExecMainStartTimestamp \$u; done"; }
started_before=$(started)
[ ${#ca_sha} -eq 64 ] && [ ${#sa_sha} -eq 64 ] && [ ${#enc_sha} -eq 64 ] ||
  fail "could not read the sha256 of ca.pem, service-account.pem, encryption-config.yaml"

# The desired state: examples/lab for the lab's two hosts, with the hand-built keys' algorithm.
cp -r "$root/examples/lab" "$work/desired"
cp "$LAB_STATE/hosts.yaml" "$work/desired/hosts.yaml"
d=$work/desired
sed -i 's/^    keyAlgorithm: ECDSA-P256$/    keyAlgorithm: ECDSA-P521/' "$d/pki.yaml"
grep -q '^    keyAlgorithm: ECDSA-P521$' "$d/pki.yaml" && ! grep -q 'ECDSA-P256' "$d/pki.yaml" ||
  fail "could not set keyAlgorithm: ECDSA-P521 in pki.yaml"

# Without adopt: the guard blocks controller-0's PKI.
t=$(date +%s)
run 1 "diff: the hand-built PKI is not in the secret store" "$kthw" diff -f "$d"
cp "$work/out" "$work/diff-before-adopt"
grep -q "controller-0: the certificate of authority ca at /var/lib/kubernetes/ca.pem on this host (sha256 [0-9a-f]\{12\}) is not in this secret store; import it into the store (kthw adopt" "$work/out" &&
  echo "ok: diff names the CA at /var/lib/kubernetes/ca.pem on controller-0 and kthw adopt" ||
  { fail "diff does not name controller-0's CA and kthw adopt"; sed 's/^/    /' "$work/out"; }
grep -q "controller-0: the encryption config encryption-config at /var/lib/kubernetes/encryption-config.yaml on this host (sha256 [0-9a-f]\{12\}) holds a key that is not in this secret store" "$work/out" &&
  echo "ok: diff names the hand-made encryption key (diff took $(($(date +%s) - t))s)" ||
  { fail "diff does not name the encryption config"; sed 's/^/    /' "$work/out"; }
# apply issues a CA of its own into the empty store, so its RBAC step and the load balancer's
# route check cannot verify the hand-built apiserver: it waits for the API (120 s) and exits 1.
t=$(date +%s)
run 1 "apply: refused on controller-0's PKI" "$kthw" apply -f "$d"
cp "$work/out" "$work/apply-before-adopt"
grep -q "^controller-0: problem: CertificateBundle/lab-pki: controller-0: the certificate of authority ca at /var/lib/kubernetes/ca.pem on this host .* is not in this secret store" "$work/out" &&
  echo "ok: apply names the CA on controller-0 (apply took $(($(date +%s) - t))s)" ||
  { fail "apply does not name controller-0's CA"; sed 's/^/    /' "$work/out"; }
[ "$(started)" = "$started_before" ] && echo "ok: apply restarted none of $units on controller-0" ||
  fail "apply restarted services on controller-0: $(started | tr '\n' ' ')"
[ "$(sha /var/lib/kubernetes/ca.pem)" = "$ca_sha" ] && echo "ok: ca.pem unchanged" ||
  fail "apply replaced /var/lib/kubernetes/ca.pem"
[ "$(sha /var/lib/kubernetes/service-account.pem)" = "$sa_sha" ] && echo "ok: service-account.pem unchanged" ||
  fail "apply replaced /var/lib/kubernetes/service-account.pem"
[ "$(sha /var/lib/kubernetes/encryption-config.yaml)" = "$enc_sha" ] && echo "ok: encryption-config.yaml unchanged" ||
  fail "apply replaced /var/lib/kubernetes/encryption-config.yaml"
secret_reads_back && echo "ok: the Secret still reads back" || fail "the Secret is unreadable after apply"

# --- kthw adopt (added with the command) ---
# run 0 "kthw adopt takes controller-0's PKI into the store" "$kthw" adopt -f "$d"
# "$kthw" diff -f "$d" >"$work/out" 2>&1  # its exit depends on what adopt leaves to derive
# sed -n '/^material to be issued/,$p' "$work/out" |
#   grep -Eq '(: |, )(ca|service-account|encryption-config)( |,|$)' &&
#   { fail "diff after adopt plans to issue an authority, a key pair or an encryption key"; cat "$work/out"; } ||
#   echo "ok: diff after adopt reissues no authority, key pair or encryption key"
# run 0 "apply after adopt" "$kthw" apply -f "$d"
# [ "$(sha /var/lib/kubernetes/ca.pem)" = "$ca_sha" ] && echo "ok: ca.pem unchanged after adopt and apply" ||
#   fail "ca.pem was replaced"
# secret_reads_back && echo "ok: the Secret reads back after adopt and apply" || fail "the Secret is unreadable"
# [ "$(sha /var/lib/kubernetes/service-account.pem)" = "$sa_sha" ] &&
#   echo "ok: service-account.pem unchanged" || fail "service-account.pem was replaced"
# run 0 "a second apply" "$kthw" apply -f "$d"
# grep -q " 0 changed, 0 action(s) done" "$work/out" || { fail "the second apply changed something"; cat "$work/out"; }
finish
