#!/usr/bin/env bash
# End to end on the lab: kthw issues the cluster's certificates in-process, distributes them,
# and a real 3-member etcd (Debian etcd-server) runs with them: etcdctl is healthy with the
# generated client certificate and refused with one from another CA. Nothing secret appears in
# kthw's output, even with -v.
source "$(dirname "$0")/lib.sh"
lab_up controller-0 controller-1 controller-2

mkdir -p "$work/desired"
cp "$LAB_STATE/hosts.yaml" "$work/desired/hosts.yaml"
cat >"$work/desired/pki.yaml" <<YAML
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: lab-pki}
spec:
  secretStore: $work/store
  authorities: [{name: ca, commonName: Kubernetes, subject: {organizations: [Kubernetes]}}]
  certificates:
    - name: kubernetes
      issuer: ca
      commonName: kubernetes
      subject: {organizations: [Kubernetes]}
      usages: [server, client]
      ipAddresses: ["\${hosts(role=controller).internalIP}", "127.0.0.1", "10.32.0.1"]
      dnsNames: [kubernetes, kubernetes.default]
    - {name: admin, issuer: ca, commonName: admin, subject: {organizations: ["system:masters"]}, usages: [client]}
  kubeconfigs:
    - {name: admin, certificate: admin, server: "https://10.77.0.10:6443"}
  encryptionConfigs: [{name: encryption-config}]
  files:
    - {path: /etc/etcd/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /etc/etcd/kubernetes.pem, hosts: {selector: {role: controller}}, content: {certificate: kubernetes}}
    - {path: /etc/etcd/kubernetes-key.pem, hosts: {selector: {role: controller}}, content: {key: kubernetes}}
    - {path: /root/admin.kubeconfig, hosts: {selector: {role: controller}}, content: {kubeconfig: admin}}
    - {path: /var/lib/kubernetes/encryption-config.yaml, hosts: {selector: {role: controller}}, content: {encryptionConfig: encryption-config}}
YAML

run 1 "diff before apply: certificates pending, store untouched" "$kthw" diff -v -f "$work/desired"
[ ! -e "$work/store" ] || fail "diff created the secret store"
run 0 "apply issues and distributes" "$kthw" apply -v -f "$work/desired"
no_drift "diff after apply: no drift" -v -f "$work/desired"
"$kthw" apply -f "$work/desired" >"$work/out" 2>&1
grep -q "0 action(s) done" "$work/out" && ! grep -q "issued" "$work/out" || { fail "second apply reissued or wrote"; cat "$work/out"; }

for n in 0 1 2; do
  "$lab" ssh "controller-$n" "stat -c '%a %U' /etc/etcd/kubernetes-key.pem" | grep -q "^600 root$" ||
    fail "controller-$n: key file is not 0600 root"
done

"$lab" ssh controller-0 'cat /root/admin.kubeconfig' >"$work/admin.kubeconfig"
kubectl config view --kubeconfig "$work/admin.kubeconfig" >/dev/null 2>&1 || fail "kubectl cannot read the kubeconfig"

cluster="controller-0=https://10.77.0.10:2380,controller-1=https://10.77.0.11:2380,controller-2=https://10.77.0.12:2380"
for n in 0 1 2; do
  ip=10.77.0.1$n
  "$lab" ssh "controller-$n" "systemd-run --unit=kthw-test-etcd /usr/bin/etcd --name=controller-$n \
    --data-dir=/var/lib/kthw-test-etcd --cert-file=/etc/etcd/kubernetes.pem \
    --key-file=/etc/etcd/kubernetes-key.pem --peer-cert-file=/etc/etcd/kubernetes.pem \
    --peer-key-file=/etc/etcd/kubernetes-key.pem --trusted-ca-file=/etc/etcd/ca.pem \
    --peer-trusted-ca-file=/etc/etcd/ca.pem --peer-client-cert-auth --client-cert-auth \
    --initial-advertise-peer-urls=https://$ip:2380 --listen-peer-urls=https://$ip:2380 \
    --listen-client-urls=https://$ip:2379,https://127.0.0.1:2379 --advertise-client-urls=https://$ip:2379 \
    --initial-cluster-token=kthw-e2e --initial-cluster=$cluster --initial-cluster-state=new" >/dev/null 2>&1 ||
    fail "controller-$n: etcd did not start"
done
health() {  # cert key
  "$lab" ssh controller-0 "ETCDCTL_API=3 etcdctl --endpoints=https://10.77.0.10:2379,https://10.77.0.11:2379,https://10.77.0.12:2379 \
    --cacert=/etc/etcd/ca.pem --cert=$1 --key=$2 --dial-timeout=3s endpoint health" 2>&1
}
healthy=no
for _ in $(seq 1 20); do
  if health /etc/etcd/kubernetes.pem /etc/etcd/kubernetes-key.pem >"$work/health" 2>&1; then healthy=yes; break; fi
  sleep 1
done
[ "$healthy" = yes ] && echo "ok: etcd healthy with the generated client certificate" ||
  { fail "etcd not healthy with the generated certificate"; cat "$work/health"; }

# A client certificate from another CA is refused.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other-ca -days 1 \
  -keyout "$work/other-ca.key" -out "$work/other-ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=intruder \
  -keyout "$work/other.key" -out "$work/other.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$work/ext"
openssl x509 -req -in "$work/other.csr" -CA "$work/other-ca.pem" -CAkey "$work/other-ca.key" \
  -CAcreateserial -days 1 -extfile "$work/ext" -out "$work/other.pem" 2>/dev/null
"$lab" ssh controller-0 'cat > /tmp/other.pem' <"$work/other.pem"
"$lab" ssh controller-0 'cat > /tmp/other.key' <"$work/other.key"
if health /tmp/other.pem /tmp/other.key >"$work/health" 2>&1; then
  fail "etcd accepted a certificate from another CA"
else
  echo "ok: etcd refuses a certificate from another CA"
fi

# The guard: a CA on a host that the store did not create is never replaced. controller-1 gets
# a problem and keeps its files; controller-0 stays converged; removed by hand, it converges.
"$lab" ssh controller-1 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj /CN=foreign -keyout /tmp/k -out /etc/etcd/ca.pem" >/dev/null 2>&1 ||
  fail "controller-1: could not write a foreign CA"
foreign=$("$lab" ssh controller-1 'sha256sum /etc/etcd/ca.pem')
run 1 "diff with a foreign CA on controller-1: blocking problem" "$kthw" diff -f "$work/desired"
grep -q "controller-1: the certificate of authority ca at /etc/etcd/ca.pem on this host (sha256 [0-9a-f]\{12\}) is not in this secret store" "$work/out" ||
  { fail "diff does not name controller-1 and /etc/etcd/ca.pem"; cat "$work/out"; }
run 1 "apply with a foreign CA on controller-1: refused there" "$kthw" apply -f "$work/desired"
[ -n "$foreign" ] && [ "$("$lab" ssh controller-1 'sha256sum /etc/etcd/ca.pem')" = "$foreign" ] ||
  fail "apply replaced the foreign CA on controller-1"
no_drift "controller-0 still converged" -f "$work/desired" --host controller-0
"$lab" ssh controller-1 'rm -f /etc/etcd/ca.pem /tmp/k'
run 0 "the foreign CA removed by hand: apply converges" "$kthw" apply -f "$work/desired"
no_drift "diff after that: no drift" -f "$work/desired"

# Secrets never appear in kthw's output, even with -v.
encryption_key=$(sed -n 's/^1 //p' "$work/store/lab-pki/encryption/encryption-config.keys")
[ -n "$encryption_key" ] || fail "no encryption key in the store"
if grep -q "PRIVATE KEY" "$work/all-output" || grep -qF "$encryption_key" "$work/all-output"; then
  fail "secret material in kthw output"
else
  echo "ok: no key material in $(wc -l <"$work/all-output") lines of diff/apply output"
fi
for f in $(find "$work/store" -name '*.key'); do
  body=$(sed -n '2p' "$f")
  [ -n "$body" ] && grep -qF "$body" "$work/all-output" && fail "key bytes of $f in output"
done

finish
