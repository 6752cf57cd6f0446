#!/usr/bin/env bash
# The seeds' openssl command sequence (001: ecparam/genrsa, req -x509 for the CA, req | x509
# -req per leaf) for the same bundle kthw's bench_pki issues: a CA and six leaves.
#   bench/openssl-bundle.sh ALGORITHM RUNS    (ALGORITHM: rsa2048, rsa3072, p256, p384, p521)
set -euo pipefail
alg=${1:-p256}
runs=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
genkey() {
  case "$alg" in
  rsa2048) openssl genrsa -out "$1" 2048 2>/dev/null ;;
  rsa3072) openssl genrsa -out "$1" 3072 2>/dev/null ;;
  p256) openssl ecparam -name prime256v1 -genkey -noout -out "$1" ;;
  p384) openssl ecparam -name secp384r1 -genkey -noout -out "$1" ;;
  p521) openssl ecparam -name secp521r1 -genkey -noout -out "$1" ;;
  esac
}
cat >openssl.cnf <<'CNF'
[ req ]
distinguished_name = req_distinguished_name
[req_distinguished_name]
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
[ v3_req_client ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[ v3_req_apiserver ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = @alt_names_cluster
[ alt_names_cluster ]
DNS.1 = kubernetes
DNS.2 = kubernetes.default
DNS.3 = kubernetes.default.svc
DNS.4 = kubernetes.default.svc.cluster
DNS.5 = kubernetes.svc.cluster.local
IP.1 = 10.32.0.1
IP.2 = 10.0.1.10
IP.3 = 10.0.1.11
IP.4 = 10.0.1.12
IP.5 = 127.0.0.1
CNF
bundle() {
  genkey ca.key
  openssl req -x509 -new -sha256 -nodes -key ca.key -days 3650 -out ca.crt -subj "/CN=Kubernetes" \
    -extensions v3_ca -config openssl.cnf
  for leaf in "admin|system:masters|v3_req_client" \
    "system:kube-controller-manager|system:kube-controller-manager|v3_req_client" \
    "system:kube-scheduler|system:kube-scheduler|v3_req_client" \
    "system:kube-proxy|system:node-proxier|v3_req_client" \
    "kubernetes|Kubernetes|v3_req_apiserver" "service-accounts|Kubernetes|v3_req_client"; do
    IFS='|' read -r cn o ext <<<"$leaf"
    genkey leaf.key
    openssl req -new -sha256 -key leaf.key -subj "/CN=$cn/O=$o" |
      openssl x509 -req -sha256 -CA ca.crt -CAkey ca.key -CAcreateserial -out leaf.crt -days 365 \
        -extensions "$ext" -extfile openssl.cnf 2>/dev/null
  done
}
start=$(date +%s.%N)
for ((i = 0; i < runs; i++)); do bundle; done
echo "$alg $(echo "($(date +%s.%N) - $start) * 1000 / $runs" | bc -l | xargs printf '%.1f') ms per bundle (openssl CLI, $runs runs)"
