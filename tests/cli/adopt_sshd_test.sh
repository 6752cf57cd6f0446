#!/usr/bin/env bash
# kthw adopt against a real sshd on loopback (tests/support/sshd-harness.sh, private /etc): a
# cluster's files made with one secret store are adopted into another, which then holds the same
# CA, key pair, encryption key and leaves; refusals (a key that is not the CA's, a renamed
# encryption key, a store that holds another CA), an unreachable host, and no key material in any
# output.
set -u
kthw=$1
src=$2
source "$src/tests/cli/lib.sh"
files_of() { find "$1" -type f ! -name .lock 2>/dev/null | sort; }

tmp=$(mktemp -d /tmp/kthw-adopt-XXXXXX)
sshd=$tmp/sshd
trap '"$src/tests/support/sshd-harness.sh" stop "$sshd" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
port=$("$src/tests/support/sshd-harness.sh" start "$sshd") || { echo "FAIL: sshd harness did not start"; exit 1; }
hostkey=$(cut -d' ' -f1,2 "$sshd/host_key.pub")
installed=$sshd/etc/kthw-adopt-test  # /etc/kthw-adopt-test as sshd-0 sees it

state() {  # store-directory [extra documents file] -> the desired state on stdout
  cat <<EOF
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: sshd-0, labels: {role: controller}}
spec:
  address: 127.0.0.1
  ssh: {port: $port, identityFile: $sshd/user_key, hostKey: "$hostkey"}
---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  clusterName: adopt-test
  secretStore: $1
  authorities: [{name: ca, commonName: Kubernetes}]
  certificates:
    - {name: kubernetes, issuer: ca, commonName: kubernetes, usages: [server, client], ipAddresses: ["127.0.0.1"]}
    - {name: admin, issuer: ca, commonName: admin, subject: {organizations: ["system:masters"]}, usages: [client]}
  keyPairs: [{name: service-account}]
  kubeconfigs:
    - {name: admin, certificate: admin, server: "https://127.0.0.1:6443"}
  encryptionConfigs: [{name: encryption-config}]
  files:
    - {path: /etc/kthw-adopt-test/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /etc/kthw-adopt-test/ca-key.pem, hosts: {selector: {role: controller}}, content: {key: ca}}
    - {path: /etc/kthw-adopt-test/kubernetes.pem, hosts: {selector: {role: controller}}, content: {certificate: kubernetes}}
    - {path: /etc/kthw-adopt-test/kubernetes-key.pem, hosts: {selector: {role: controller}}, content: {key: kubernetes}}
    - {path: /etc/kthw-adopt-test/admin.kubeconfig, hosts: {selector: {role: controller}}, content: {kubeconfig: admin}}
    - {path: /etc/kthw-adopt-test/sa.key, hosts: {selector: {role: controller}}, content: {key: service-account}}
    - {path: /etc/kthw-adopt-test/sa.pub, hosts: {selector: {role: controller}}, content: {publicKey: service-account}}
    - {path: /etc/kthw-adopt-test/encryption-config.yaml, hosts: {selector: {role: controller}}, content: {encryptionConfig: encryption-config}}
EOF
  [ $# -lt 2 ] || cat "$2"
}
state "$tmp/store-a" >"$tmp/a.yaml"
state "$tmp/store-b" >"$tmp/b.yaml"
check 0 "the test state is valid" "$kthw" validate -f "$tmp/b.yaml"

# The cluster as another machine built it: store A's material, installed on sshd-0.
check 0 "render --out-dir issues store A's material" "$kthw" render -f "$tmp/a.yaml" --out-dir "$tmp/rendered"
mkdir -p "$installed"
cp "$tmp/rendered/sshd-0/etc/kthw-adopt-test/"* "$installed/"
enc_key=$(sed -n 's/.*secret: *//p' "$installed/encryption-config.yaml" | head -1)
[ ${#enc_key} -ge 40 ] || fail "no encryption key in the rendered config"

check 0 "adopt --dry-run" "$kthw" adopt -f "$tmp/b.yaml" --dry-run
expect_line "the CA would be imported" "^  import  authority ca \(precious\): from sshd-0:/etc/kthw-adopt-test/ca.pem and sshd-0:/etc/kthw-adopt-test/ca-key.pem \(sha256 [0-9A-F:]+\.\.\., 1 copy\)$"
expect_line "dry run" "^dry run: nothing written$"
[ -z "$(files_of "$tmp/store-b")" ] || fail "the dry run wrote into store B"

check 0 "adopt" "$kthw" adopt -f "$tmp/b.yaml"
for what in "authority ca (precious)" "certificate kubernetes" "certificate admin" "key pair service-account (precious)" "encryption config encryption-config (precious)"; do
  grep -qF "  import  $what: " "$tmp/out" || fail "adopt did not import $what"
done
expect_line "admin from the kubeconfig" "^  import  certificate admin: from sshd-0:/etc/kthw-adopt-test/admin.kubeconfig and sshd-0:/etc/kthw-adopt-test/admin.kubeconfig$"
expect_line "summary" "^adopted 5 item\(s\)"
for f in authorities/ca.crt authorities/ca.key keypairs/service-account.key certificates/kubernetes.key certificates/admin.crt encryption/encryption-config.keys; do
  cmp -s "$tmp/store-a/pki/$f" "$tmp/store-b/pki/$f" || fail "store B's $f is not store A's"
done
bad=$(find "$tmp/store-b" -type f ! -perm 0600 ! -name .lock; find "$tmp/store-b" -type d ! -perm 0700)
[ -z "$bad" ] && echo "ok: store B: files 0600, directories 0700" || fail "store B modes: $bad"
check 0 "certs: every installed certificate is store B's" "$kthw" certs -f "$tmp/b.yaml"
expect_line "no findings" "^3 certificate\(s\), 0 with findings"
check 0 "adopt again" "$kthw" adopt -f "$tmp/b.yaml"
expect_line "nothing to import" "^nothing to import$"

# Refusals write nothing.
state "$tmp/store-c" >"$tmp/c.yaml"
cp "$installed/ca-key.pem" "$tmp/ca-key.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$installed/ca-key.pem" 2>/dev/null
check 1 "a CA key that is not the CA's" "$kthw" adopt -f "$tmp/c.yaml"
expect_line "refusal" "^  REFUSED  authority ca \(precious\): the private key at sshd-0:/etc/kthw-adopt-test/ca-key.pem does not belong to the CA certificate at sshd-0:/etc/kthw-adopt-test/ca.pem$"
grep -q "refused: nothing was imported" "$tmp/err" || fail "no refusal summary: $(cat "$tmp/err")"
cp "$tmp/ca-key.pem" "$installed/ca-key.pem"
sed -i 's/name: key1$/name: primary/' "$installed/encryption-config.yaml"
check 1 "an encryption key kthw would have to rename" "$kthw" adopt -f "$tmp/c.yaml"
expect_line "renamed key" "^  REFUSED  encryption config encryption-config \(precious\): sshd-0:/etc/kthw-adopt-test/encryption-config.yaml names a key \"primary\"; kthw names keys key<generation>"
sed -i 's/name: primary$/name: key1/' "$installed/encryption-config.yaml"
[ -z "$(files_of "$tmp/store-c")" ] || fail "a refused adoption wrote into store C: $(files_of "$tmp/store-c")"

# A store with a CA of its own: refused without --supersede, set aside with it.
check 0 "store C issues its own CA" "$kthw" render -f "$tmp/c.yaml" --out-dir "$tmp/rendered-c"
ca_c=$(sha256sum "$tmp/store-c/pki/authorities/ca.crt" | cut -d' ' -f1)
check 1 "adopt into a store with another CA" "$kthw" adopt -f "$tmp/c.yaml"
expect_line "supersede hint" "^  REFUSED  authority ca \(precious\): the hosts run CA sha256 .* pass --supersede"
[ "$(sha256sum "$tmp/store-c/pki/authorities/ca.crt" | cut -d' ' -f1)" = "$ca_c" ] || fail "store C's CA was replaced"
check 0 "adopt --supersede" "$kthw" adopt -f "$tmp/c.yaml" --supersede
cmp -s "$tmp/store-a/pki/authorities/ca.crt" "$tmp/store-c/pki/authorities/ca.crt" || fail "store C does not hold the hosts' CA"
aside=$(find "$tmp/store-c/superseded" -path '*/pki/authorities/ca.crt' | head -1)
[ -n "$aside" ] && [ "$(sha256sum "$aside" | cut -d' ' -f1)" = "$ca_c" ] &&
  echo "ok: store C's own CA is kept under superseded/" || fail "store C's own CA is gone"

# A sealed store shared through git takes the adopted material at once, and another machine with
# the identity reads the same CA from it.
mkdir -p "$tmp/keys" && age-keygen -o "$tmp/keys/id.txt" 2>/dev/null && chmod 600 "$tmp/keys/id.txt" ||
  fail "age-keygen"
sealed() {  # store-directory -> the state with spec.sealedStore
  state "$1" | sed "s|^  secretStore: .*|&\n  sealedStore: {file: $tmp/pki.age, identityFile: $tmp/keys/id.txt}|"
}
sealed "$tmp/store-e" >"$tmp/e.yaml"
sealed "$tmp/store-f" >"$tmp/f.yaml"
check 0 "adopt into a store with a sealed file" "$kthw" adopt -f "$tmp/e.yaml"
expect_line "the sealed file is written" "^sealed store $tmp/pki.age updated: commit it"
age -d -i "$tmp/keys/id.txt" "$tmp/pki.age" | grep -aqx "pki/authorities/ca.key" &&
  echo "ok: age opens the sealed file, which holds the CA's key" || fail "age cannot open the sealed file, or it lacks the CA"
check 0 "another machine reads the sealed store" "$kthw" certs -f "$tmp/f.yaml"
cmp -s "$tmp/store-a/pki/authorities/ca.crt" "$tmp/store-f/pki/authorities/ca.crt" &&
  echo "ok: the other machine holds the adopted CA" || fail "store F does not hold the adopted CA"

# A host that cannot be read stops everything.
cat >"$tmp/down.yaml" <<EOF
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: down-0, labels: {role: controller}}
spec:
  address: 127.0.0.1
  ssh: {port: 1, identityFile: $sshd/user_key, hostKey: "$hostkey"}
EOF
state "$tmp/store-d" "$tmp/down.yaml" >"$tmp/d.yaml"
check 3 "an unreachable host" "$kthw" adopt -f "$tmp/d.yaml"
grep -q "could not read down-0; adoption checks every host, so nothing was imported" "$tmp/err" ||
  fail "no unreachable message: $(cat "$tmp/err")"
[ -z "$(files_of "$tmp/store-d")" ] || fail "adopt wrote with a host unread"

if grep -aqF -e "-----BEGIN" -e "$enc_key" "$tmp/all-output"; then
  fail "key material in adopt's output"
else
  echo "ok: no key material in any output"
fi
check 2 "without -f" "$kthw" adopt
check 2 "unknown bundle" "$kthw" adopt -f "$tmp/b.yaml" --bundle nope
check 0 "--help" "$kthw" adopt --help
expect_line "--help gives the exit codes" "^Exit status"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
