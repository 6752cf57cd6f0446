#!/usr/bin/env bash
# kthw certs against a real sshd on loopback (tests/support/sshd-harness.sh, private /etc):
# certificates installed as the store holds them, one replaced by a certificate of another CA,
# one missing, an authority within its renewal window, and an unreachable host; table, JSON and
# exit codes.
set -u
kthw=$1
src=$2
source "$src/tests/cli/lib.sh"
json() {  # description python-expression-on-d: true for the last output
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
    "$tmp/out" || { fail "$1: JSON does not satisfy: $2"; sed 's/^/    /' "$tmp/out"; }
}

tmp=$(mktemp -d /tmp/kthw-certs-XXXXXX)
sshd=$tmp/sshd
trap '"$src/tests/support/sshd-harness.sh" stop "$sshd" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
port=$("$src/tests/support/sshd-harness.sh" start "$sshd") || { echo "FAIL: sshd harness did not start"; exit 1; }
hostkey=$(cut -d' ' -f1,2 "$sshd/host_key.pub")
installed=$sshd/etc/kthw-certs-test  # /etc/kthw-certs-test as sshd-0 sees it

cat >"$tmp/state.yaml" <<EOF
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: sshd-0, labels: {role: controller}}
spec:
  address: 127.0.0.1
  ssh: {port: $port, identityFile: $sshd/user_key, hostKey: "$hostkey"}
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: down-0}
spec:
  address: 127.0.0.1
  ssh: {port: 1, identityFile: $sshd/user_key, hostKey: "$hostkey"}
---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  secretStore: $tmp/store
  authorities: [{name: ca, commonName: Kubernetes}]
  certificates:
    - {name: kubernetes, issuer: ca, commonName: kubernetes, usages: [server, client], ipAddresses: ["127.0.0.1"]}
    - {name: admin, issuer: ca, commonName: admin, subject: {organizations: ["system:masters"]}, usages: [client]}
  files:
    - {path: /etc/kthw-certs-test/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /etc/kthw-certs-test/kubernetes.pem, hosts: {selector: {role: controller}}, content: {certificate: kubernetes}}
    - {path: /etc/kthw-certs-test/kubernetes-key.pem, hosts: {selector: {role: controller}}, content: {key: kubernetes}}
    - {path: /etc/kthw-certs-test/admin.pem, hosts: {names: [sshd-0]}, content: {certificate: admin}}
---
# An authority of ten days: within the 30-day window of authorities from the start. Placed only
# on the unreachable host, so that --host sshd-0 leaves it out.
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: short-pki}
spec:
  secretStore: $tmp/store
  authorities: [{name: short-ca, commonName: Short, validity: 240h}]
  files:
    - {path: /etc/kthw-certs-test/short-ca.pem, hosts: {names: [down-0]}, content: {certificate: short-ca}}
EOF
check 0 "the test state is valid" "$kthw" validate -f "$tmp/state.yaml"

check 1 "nothing issued yet" "$kthw" certs -f "$tmp/state.yaml" --host sshd-0
expect_line "not issued" "^pki/admin +certificate .*not issued \(run kthw apply first\)$"
expect_line "absent on the host" "^sshd-0 +/etc/kthw-certs-test/ca.pem +pki/ca +absent "
[ -e "$tmp/store" ] && fail "certs created the secret store"

# Issue offline and install sshd-0's files as apply would have.
check 0 "render --out-dir issues the bundles" "$kthw" render -f "$tmp/state.yaml" --out-dir "$tmp/rendered"
mkdir -p "$installed"
cp "$tmp/rendered/sshd-0/etc/kthw-certs-test/"* "$installed/"
store_before=$(find "$tmp/store" -type f ! -name .lock -exec sha256sum {} + | sort)

check 0 "everything installed as the store holds it" "$kthw" certs -f "$tmp/state.yaml" --host sshd-0
expect_line "store row" "^pki/admin +certificate +CN=admin,O=system:masters +CN=Kubernetes +[0-9]{4}-[0-9]{2}-[0-9]{2} +36[45] +valid$"
expect_line "host row" "^sshd-0 +/etc/kthw-certs-test/kubernetes.pem +pki/kubernetes +same +.* valid$"
grep -q "kubernetes-key.pem" "$tmp/out" && fail "a key file is listed"
expect_line "summary" "^3 certificate\(s\), 0 with findings; 3 file\(s\) placed on 1 host\(s\), 0 unreachable$"

check 0 "-o json" "$kthw" certs -f "$tmp/state.yaml" --host sshd-0 -o json
json "three certificates, authority first" "[c['name'] for c in d['certificates']] == ['ca', 'kubernetes', 'admin'] and d['certificates'][0]['kind'] == 'authority'"
json "every copy the same" "all(i['state'] == 'same' and not i['finding'] for c in d['certificates'] for i in c['installed'])"
json "no key path" "all(not i['path'].endswith('-key.pem') for c in d['certificates'] for i in c['installed'])"
json "host reachable" "d['hosts'] == [{'name': 'sshd-0', 'reachable': True, 'error': ''}] and d['unreachableHosts'] == 0"

# A certificate of another CA with the same subject, where the store's kubernetes.pem belongs.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -subj "/CN=kubernetes" -days 5 -out "$installed/kubernetes.pem" 2>/dev/null
rm "$installed/admin.pem"
check 1 "a foreign and a missing certificate are findings" "$kthw" certs -f "$tmp/state.yaml" --host sshd-0
expect_line "foreign copy" "^sshd-0 +/etc/kthw-certs-test/kubernetes.pem +pki/kubernetes +differs +[0-9-]+ +[45] +differs from the store; untrusted: does not chain to authority ca"
expect_line "missing copy" "^sshd-0 +/etc/kthw-certs-test/admin.pem +pki/admin +absent "
expect_line "the store's own is fine" "^pki/kubernetes +certificate .* valid$"
check 1 "-o json of the findings" "$kthw" certs -f "$tmp/state.yaml" --host sshd-0 -o json
json "foreign copy in JSON" "[(i['state'], i['certificate']['chainsToAuthority'], i['certificate']['health']) for i in d['certificates'][1]['installed']] == [('differs', False, 'untrusted')]"
json "stored kubernetes still valid" "d['certificates'][1]['stored']['health'] == 'valid' and d['certificates'][1]['finding']"
json "finding count" "d['certificatesWithFindings'] == 2"

check 3 "an unreachable host wins over findings" "$kthw" certs -f "$tmp/state.yaml"
expect_line "unreachable host" "^down-0: unreachable: "
expect_line "short authority" "^short-pki/short-ca +authority +CN=Short +CN=Short +[0-9-]+ +9 +renew-due \(expires within 30d\)$"
check 3 "only the unreachable host" "$kthw" certs -f "$tmp/state.yaml" --host down-0 -o json
json "unreachable in JSON" "d['unreachableHosts'] == 1 and d['hosts'][0]['reachable'] == False and d['certificates'][0]['installed'][0]['state'] == 'unreachable'"

store_after=$(find "$tmp/store" -type f ! -name .lock -exec sha256sum {} + | sort)
[ "$store_before" = "$store_after" ] || fail "certs changed the secret store"
[ -e "$installed/admin.pem" ] && fail "certs wrote to the host"

check 2 "unknown --host" "$kthw" certs -f "$tmp/state.yaml" --host nope
check 2 "unknown -o" "$kthw" certs -f "$tmp/state.yaml" -o yaml
check 2 "without -f" "$kthw" certs
check 0 "--help" "$kthw" certs --help
expect_line "--help gives the exit codes" "^Exit status"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
