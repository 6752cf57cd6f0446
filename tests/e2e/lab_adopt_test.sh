#!/usr/bin/env bash
# End to end on the lab: a control plane built BY HAND (tests/lab/hand-build: controller-0's PKI
# made with openssl, the seeds' encryption config, kubeconfigs from kubectl config, units as
# heredocs) holds a Secret encrypted at rest. kthw, whose secret store has never seen that
# authority, key pairs or encryption key, must not reissue any of them: diff names the CA as not
# in the store and points at kthw adopt, and apply leaves ca.pem, service-account.pem and the
# encryption config as they are, with the Secret still readable. Then kthw adopt refuses to
# replace the CA that apply issued into the store, --supersede sets it aside and takes the hosts'
# material into the store, and apply converges without reissuing anything: the CA and the
# service-account certificate are unchanged, the Secret reads back, a second apply does nothing.
# Last, the adopted store is backed up, wiped and restored, and apply changes nothing.
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

# An operator's edit of the scheduler's unit, which kthw would rewrite and restart: on a host
# whose PKI the guard keeps, the services that read it are held back as well.
on "sed -i 's/--v=2$/--v=3/' /etc/systemd/system/kube-scheduler.service && systemctl daemon-reload" ||
  fail "could not edit kube-scheduler.service"

# Without adopt: the guard blocks controller-0's PKI.
t=$(date +%s)
run 1 "diff: the hand-built PKI is not in the secret store" "$kthw" diff -f "$d"
cp "$work/out" "$work/diff-before-adopt"
grep -q "controller-0: the certificate of authority ca at /var/lib/kubernetes/ca.pem on this host (sha256 [0-9a-f]\{12\}) is not in this secret store; adopt it with kthw adopt -f PATH" "$work/out" &&
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
grep -q "^controller-0: problem: ControlPlaneService/kube-scheduler: controller-0: held back: kube-scheduler reads .*/var/lib/kubernetes/kubernetes.pem.* of CertificateBundle lab-pki, which the guard leaves as it is on this host" "$work/out" &&
  echo "ok: apply holds kube-scheduler back on controller-0" || { fail "kube-scheduler is not held back"; grep "held back\|kube-scheduler" "$work/out" | head -5; }
on "grep -q -- '--v=3$' /etc/systemd/system/kube-scheduler.service" &&
  echo "ok: the edited kube-scheduler unit is left as it is" || fail "apply rewrote kube-scheduler.service"
[ "$(started)" = "$started_before" ] && echo "ok: apply restarted none of $units on controller-0" ||
  fail "apply restarted services on controller-0: $(started | tr '\n' ' ')"
[ "$(sha /var/lib/kubernetes/ca.pem)" = "$ca_sha" ] && echo "ok: ca.pem unchanged" ||
  fail "apply replaced /var/lib/kubernetes/ca.pem"
[ "$(sha /var/lib/kubernetes/service-account.pem)" = "$sa_sha" ] && echo "ok: service-account.pem unchanged" ||
  fail "apply replaced /var/lib/kubernetes/service-account.pem"
[ "$(sha /var/lib/kubernetes/encryption-config.yaml)" = "$enc_sha" ] && echo "ok: encryption-config.yaml unchanged" ||
  fail "apply replaced /var/lib/kubernetes/encryption-config.yaml"
secret_reads_back && echo "ok: the Secret still reads back" || fail "the Secret is unreadable after apply"

# kthw adopt. The apply above issued a CA of its own into the store, which no host runs: adopt
# refuses to replace it unless told, and --supersede sets it aside.
run 1 "adopt refuses to replace the store's own CA without --supersede" "$kthw" adopt -f "$d"
grep -q "REFUSED  authority ca (precious): the hosts run CA sha256 .* pass --supersede" "$work/out" &&
  echo "ok: adopt names the store's CA and --supersede" || { fail "adopt's refusal"; sed 's/^/    /' "$work/out"; }
store=$XDG_STATE_HOME/kthw/kthw-lab
ca_before=$(sha256sum "$store/lab-pki/authorities/ca.crt" | cut -d' ' -f1)
run 0 "adopt --dry-run --supersede" "$kthw" adopt -f "$d" --dry-run --supersede
grep -q "^dry run: nothing written" "$work/out" &&
  [ "$(sha256sum "$store/lab-pki/authorities/ca.crt" | cut -d' ' -f1)" = "$ca_before" ] &&
  echo "ok: a dry run writes nothing" || fail "the dry run wrote, or said nothing"
t=$(date +%s)
run 0 "kthw adopt --supersede takes controller-0's PKI into the store" "$kthw" adopt -f "$d" --supersede
sed 's/^/    /' "$work/out"
for what in "authority ca" "encryption config encryption-config" "certificate kubernetes" "certificate service-account" "certificate kube-scheduler"; do
  grep -q "^  import  $what" "$work/out" || fail "adopt did not import $what"
done
[ "$(sha256sum "$store/lab-pki/authorities/ca.crt" | cut -d' ' -f1)" = "$ca_sha" ] &&
  echo "ok: the store's CA is now the hand-built one (adopt took $(($(date +%s) - t))s)" || fail "the store's CA is not the hosts'"
ls "$store"/superseded/*/lab-pki/authorities/ca.key >/dev/null 2>&1 &&
  echo "ok: the store's own CA is kept under superseded/" || fail "the superseded CA is gone"
bad=$(find "$store" -type f ! -perm 0600 ! -name .lock; find "$store" -type d ! -perm 0700)
[ -z "$bad" ] && echo "ok: store files 0600, directories 0700" || fail "modes: $bad"
enc_key=$(on 'sed -n "s/.*secret: *//p" /var/lib/kubernetes/encryption-config.yaml' | head -1)
[ ${#enc_key} -ge 40 ] || fail "could not read the encryption key for the leak check"
if grep -aqF -e "-----BEGIN" -e "$enc_key" "$work/all-output"; then
  fail "key material in the output"
else
  echo "ok: no key material in any output"
fi

run 1 "diff after adopt" "$kthw" diff -f "$d"
grep -q "^material to be issued" "$work/out" &&
  { fail "diff after adopt plans to issue material"; grep "^material to be issued" "$work/out"; } ||
  echo "ok: diff after adopt issues nothing: no authority, key pair, encryption key or leaf"
! grep -q "is not in this secret store\|holds a key that is not" "$work/out" &&
  echo "ok: the guard is satisfied" || { fail "the guard still refuses"; grep problem "$work/out"; }
t=$(date +%s)
run 0 "apply after adopt" "$kthw" apply -f "$d"
echo "ok: apply after adopt took $(($(date +%s) - t))s"
[ "$(sha /var/lib/kubernetes/ca.pem)" = "$ca_sha" ] && echo "ok: ca.pem unchanged after adopt and apply" ||
  fail "ca.pem was replaced"
[ "$(sha /var/lib/kubernetes/service-account.pem)" = "$sa_sha" ] &&
  echo "ok: service-account.pem unchanged" || fail "service-account.pem was replaced"
secret_reads_back && echo "ok: the Secret created before adoption reads back" || fail "the Secret is unreadable"
etcd_get /registry/secrets/default/adopt-e2e >"$work/raw" 2>/dev/null
grep -aq '^k8s:enc:aescbc:v1:key1:' "$work/raw" && echo "ok: still encrypted with key1" ||
  fail "the Secret's raw value: $(head -c 30 "$work/raw" | tr -cd '[:print:]')"
on "grep -q -- '--v=2$' /etc/systemd/system/kube-scheduler.service" &&
  echo "ok: after adopt, apply converges kube-scheduler's unit" || fail "kube-scheduler.service still edited"
run 0 "a second apply" "$kthw" apply -f "$d"
grep -q " 0 changed, 0 action(s) done" "$work/out" && echo "ok: the second apply changes nothing" ||
  { fail "the second apply changed something"; sed 's/^/    /' "$work/out"; }
run 0 "adopt again: nothing to import" "$kthw" adopt -f "$d"
grep -q "^nothing to import" "$work/out" || { fail "a second adopt imported"; sed 's/^/    /' "$work/out"; }

# The adopted store survives its loss: backup, wipe, restore, and apply changes nothing.
age-keygen -o "$work/backup-key.txt" 2>/dev/null || fail "age-keygen"
run 0 "backup of the adopted store" "$kthw" backup -f "$d" -o "$work/store.age" \
  -r "$(age-keygen -y "$work/backup-key.txt")"
rm -rf "$store"
run 0 "restore into a wiped store" "$kthw" restore -f "$d" "$work/store.age" -i "$work/backup-key.txt"
[ "$(sha256sum "$store/lab-pki/authorities/ca.crt" | cut -d' ' -f1)" = "$ca_sha" ] &&
  echo "ok: the restored store holds the hand-built CA" || fail "the restored CA is not the hosts'"
run 0 "apply after restore" "$kthw" apply -f "$d"
grep -q " 0 changed, 0 action(s) done" "$work/out" && echo "ok: apply after restore changes nothing" ||
  { fail "apply after restore changed something"; sed 's/^/    /' "$work/out"; }
finish
