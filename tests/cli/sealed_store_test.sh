#!/usr/bin/env bash
# The sealed store shared by machines: each "machine" is its own XDG_STATE_HOME. Machine A issues
# the material (render --out-dir issues offline) and seals it beside the desired state; machine B,
# with the same identity, converges on the same material from the sealed file alone; machine C,
# with another identity, is refused and writes nothing. Debian's age opens what kthw seals.
set -u
kthw=$1
source "$(dirname "$0")/lib.sh"
# Keys 0600, directories 0700: the store's modes survive the trip through the sealed file.
privateStore() {
  local dir=$1 open
  [ -d "$dir" ] || { fail "$2: no store $dir"; return; }
  open=$(find "$dir" -type d ! -perm 700; find "$dir" -name '*.key' ! -perm 600)
  [ -z "$open" ] || fail "$2: not private in $dir: $open"
}

for tool in age age-keygen; do
  command -v "$tool" >/dev/null || {
    echo "FAIL: $tool is not installed; scripts/deps.sh installs it (Debian package age)"
    exit 1
  }
done

tmp=$(mktemp -d /tmp/kthw-sealed-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
unset KTHW_PASSPHRASE
repo=$tmp/repo
mkdir -p "$repo" "$tmp/keys"
(cd "$repo" && git init -q .) || fail "git init failed"
age-keygen -o "$tmp/keys/identity.txt" 2>/dev/null
age-keygen -o "$tmp/keys/other.txt" 2>/dev/null
secretKey=$(grep '^AGE-SECRET-KEY-1' "$tmp/keys/identity.txt")
sealed=$repo/store.age
# A relative file: next to the document that declares it.
cat >"$repo/cluster.yaml" <<YAML
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: here}
spec: {address: 127.0.0.1, transport: local}
---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  clusterName: sealed-test
  sealedStore:
    file: store.age
    identityFile: $tmp/keys/identity.txt
  authorities: [{name: ca, commonName: test-ca}]
  certificates:
    - {name: admin, issuer: ca, commonName: admin, usages: [client]}
  files:
    - {path: /etc/kthw-test/ca.pem, hosts: {names: [here]}, content: {certificate: ca}}
    - {path: /etc/kthw-test/admin-key.pem, hosts: {names: [here]}, content: {key: admin}}
YAML
storeOf() { echo "$tmp/$1/kthw/sealed-test"; }

# Machine A issues and seals.
check 0 "machine A: render issues the material" env XDG_STATE_HOME="$tmp/A" "$kthw" render -f "$repo" --out-dir "$tmp/rendered-A"
grep -qx "sealed store $sealed updated: commit it beside the desired state" "$tmp/out" ||
  fail "no sealed-store line: $(cat "$tmp/out")"
[ -f "$sealed" ] || fail "no sealed file $sealed"
head -1 "$sealed" | grep -qx "age-encryption.org/v1" || fail "the sealed file is not an age file"
age -d -i "$tmp/keys/identity.txt" -o "$tmp/plain" "$sealed" || fail "age -d cannot open the sealed file"
head -2 "$tmp/plain" | tr '\n' ' ' | grep -qx "kthw-store-archive v1 cluster sealed-test " ||
  fail "the plaintext is not the store archive of sealed-test: $(head -2 "$tmp/plain")"
grep -q "ca.key" "$tmp/plain" || fail "the sealed archive lacks the CA key"
grep -q "sealed-sha256" "$tmp/plain" && fail "the local bookkeeping is in the sealed archive"
privateStore "$(storeOf A)" "machine A"
before=$(sha256sum <"$sealed")

check 0 "machine A: render again" env XDG_STATE_HOME="$tmp/A" "$kthw" render -f "$repo" --out-dir "$tmp/rendered-A2"
grep -q "updated: commit" "$tmp/out" && fail "an unchanged store was sealed again: $(cat "$tmp/out")"
[ "$(sha256sum <"$sealed")" = "$before" ] || fail "an unchanged store rewrote the sealed file"

# Machine B: same identity, no store: the sealed file is all it has.
check 0 "machine B: render from the sealed file" env XDG_STATE_HOME="$tmp/B" "$kthw" render -f "$repo" --out-dir "$tmp/rendered-B"
grep -q "updated: commit" "$tmp/out" && fail "machine B sealed again what it loaded: $(cat "$tmp/out")"
grep -qx "CertificateBundle/pki: secret store $(storeOf B) loaded from the sealed store $sealed" "$tmp/out" ||
  fail "machine B does not say it loaded the sealed store: $(cat "$tmp/out")"
caA=$(find "$(storeOf A)" -name ca.crt)
caB=$(find "$(storeOf B)" -name ca.crt 2>/dev/null)
[ -n "$caA" ] && [ -n "$caB" ] || fail "no CA certificate in the stores: A=$caA B=$caB"
cmp -s "$caA" "$caB" || fail "machine B holds another CA than machine A"
diff -r "$tmp/rendered-A" "$tmp/rendered-B" >/dev/null || fail "machines A and B render different files"
privateStore "$(storeOf B)" "machine B"
[ "$(sha256sum <"$sealed")" = "$before" ] || fail "machine B rewrote the sealed file"

# A certificate added on machine A reaches machine B through the sealed file alone.
sed -i 's/^  certificates:$/&\n    - {name: extra, issuer: ca, commonName: extra, usages: [client]}/' "$repo/cluster.yaml"
check 0 "machine A: a new certificate is issued and sealed" env XDG_STATE_HOME="$tmp/A" "$kthw" render -f "$repo" --out-dir "$tmp/rendered-A3"
grep -qx "sealed store $sealed updated: commit it beside the desired state" "$tmp/out" ||
  fail "the new certificate was not sealed: $(cat "$tmp/out")"
check 0 "machine B: loads the new certificate" env XDG_STATE_HOME="$tmp/B" "$kthw" render -f "$repo" --out-dir "$tmp/rendered-B3"
grep -q "updated: commit" "$tmp/out" && fail "machine B sealed again what it loaded: $(cat "$tmp/out")"
extraA=$(find "$(storeOf A)" -name 'extra.crt')
extraB=$(find "$(storeOf B)" -name 'extra.crt')
[ -n "$extraA" ] && [ -n "$extraB" ] && cmp -s "$extraA" "$extraB" ||
  fail "machine B does not hold machine A's new certificate: A=$extraA B=$extraB"
privateStore "$(storeOf B)" "machine B after the update"

# Machine C: another identity. Refused by name; no store, no rendered file.
sed "s|$tmp/keys/identity.txt|$tmp/keys/other.txt|" "$repo/cluster.yaml" >"$tmp/other.yaml"
mkdir -p "$tmp/c-repo" && cp "$tmp/other.yaml" "$tmp/c-repo/cluster.yaml" && cp "$sealed" "$tmp/c-repo/"
check 3 "machine C: another identity is refused" env XDG_STATE_HOME="$tmp/C" "$kthw" render -f "$tmp/c-repo" --out-dir "$tmp/rendered-C"
grep -q "CertificateBundle/pki: no identity in $tmp/keys/other.txt opens $tmp/c-repo/store.age" "$tmp/err" ||
  fail "no clear error for the wrong identity: $(cat "$tmp/err")"
[ -e "$tmp/C/kthw" ] && fail "a refused load wrote a store on machine C"
[ -z "$(find "$tmp/rendered-C" -type f 2>/dev/null)" ] || fail "machine C rendered files"
cmp -s "$sealed" "$tmp/c-repo/store.age" || fail "machine C changed the sealed file"

# An identity file others can read is refused, and so is one in a git work tree.
chmod 640 "$tmp/keys/identity.txt"
check 3 "an identity readable by the group is refused" env XDG_STATE_HOME="$tmp/B" "$kthw" render -f "$repo" --out-dir "$tmp/rendered-B2"
grep -q "identityFile $tmp/keys/identity.txt has mode 0640.*chmod 600" "$tmp/err" ||
  fail "no clear error for a readable identity: $(cat "$tmp/err")"
chmod 600 "$tmp/keys/identity.txt"
mkdir -p "$tmp/d-repo/.git" && cp "$sealed" "$tmp/d-repo/" && cp -p "$tmp/keys/identity.txt" "$tmp/d-repo/"
sed "s|$tmp/keys/identity.txt|$tmp/d-repo/identity.txt|" "$repo/cluster.yaml" >"$tmp/d-repo/cluster.yaml"
check 3 "an identity inside a git work tree is refused" env XDG_STATE_HOME="$tmp/D" "$kthw" render -f "$tmp/d-repo/cluster.yaml" --out-dir "$tmp/rendered-D"
grep -q "identityFile $tmp/d-repo/identity.txt is inside the git work tree" "$tmp/err" ||
  fail "no clear error for an identity in a work tree: $(cat "$tmp/err")"

# A recipient that is no age key is a validation error at its position.
cat >"$tmp/bad.yaml" <<YAML
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  sealedStore:
    file: store.age
    identityFile: $tmp/keys/identity.txt
    recipients: [age1nothing]
  authorities: [{name: ca, commonName: test-ca}]
YAML
check 1 "validate refuses a recipient that is no age key" "$kthw" validate -f "$tmp/bad.yaml"
grep -q "bad.yaml:8:.*spec.sealedStore.recipients\[0\]: \"age1nothing\" is not an age public key" "$tmp/err" "$tmp/out" ||
  fail "no positioned error for the recipient: $(cat "$tmp/out" "$tmp/err")"

# Nothing secret in anything kthw printed.
grep -q "PRIVATE KEY" "$tmp/all-output" && fail "key material in kthw's output"
grep -qF "$secretKey" "$tmp/all-output" && fail "the age secret key in kthw's output"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
