#!/usr/bin/env bash
# kthw backup and restore against a secret store filled by kthw itself (render --out-dir issues
# offline), checked with Debian's age in both directions: what kthw writes, age opens; what age
# writes, kthw restores. age reads passphrases only from a terminal, so `script` gives it one.
set -u
kthw=$1
src=$2
example=$src/examples/ha-cluster
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
check() {  # expected-exit description command...
  local want=$1 what=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, want $want"
    sed 's/^/    /' "$tmp/out" "$tmp/err"
  else
    echo "ok: $what"
  fi
  cat "$tmp/out" "$tmp/err" >>"$tmp/all-output"
}
# Every file of the store with its mode and digest, .lock aside. Directories are left out: restore
# makes every one 0700, which privateDirectories checks.
snapshot() {
  (cd "$1" && find . -type f ! -path ./.lock -printf '%m %p\n' | sort &&
    find . -type f ! -path ./.lock -exec sha256sum {} + | sort)
}
privateDirectories() {
  local open
  open=$(find "$store" -type d ! -perm 700)
  [ -z "$open" ] || fail "$1: directories of the restored store not 0700: $open"
}
# age with a terminal, answering its passphrase prompts from $1.
ageWithPassphrase() {
  local pass=$1
  shift
  printf '%s\n%s\n' "$pass" "$pass" | script -qec "$*" /dev/null >"$tmp/script.log" 2>&1
}

for tool in age age-keygen script; do
  command -v "$tool" >/dev/null || {
    echo "FAIL: $tool is not installed; scripts/deps.sh installs it (Debian package" \
      "$([ "$tool" = script ] && echo bsdutils || echo age))"
    exit 1
  }
done

tmp=$(mktemp -d /tmp/kthw-backup-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME=$tmp/state
unset KTHW_PASSPHRASE
store=$tmp/state/kthw/kubernetes-the-hard-way
age-keygen -o "$tmp/key.txt" 2>/dev/null
age-keygen -o "$tmp/other-key.txt" 2>/dev/null
recipient=$(age-keygen -y "$tmp/key.txt")
secretKey=$(grep '^AGE-SECRET-KEY-1' "$tmp/key.txt")
printf 'correct horse battery staple\n' >"$tmp/passphrase"

check 1 "backup before anything is issued" "$kthw" backup -f "$example" -o "$tmp/none.age" -r "$recipient"
[ -e "$tmp/none.age" ] && fail "backup wrote an archive of nothing"
check 0 "render --out-dir issues the bundle into the store" "$kthw" render -f "$example" --out-dir "$tmp/rendered"
snapshot "$store" >"$tmp/before"
grep -q '\.key$' "$tmp/before" || fail "the store holds no key after render: $(cat "$tmp/before")"

check 0 "backup to an age recipient" sh -c "umask 000; exec '$kthw' backup -f '$example' -o '$tmp/backup.age' -r '$recipient'"
[ "$(stat -c %a "$tmp/backup.age")" = 600 ] || fail "archive is mode $(stat -c %a "$tmp/backup.age") under umask 000, want 600"
grep -q "^wrote $tmp/backup.age (0600): [0-9]* files of secret store $store" "$tmp/out" ||
  fail "no summary line: $(cat "$tmp/out")"
head -1 "$tmp/backup.age" | grep -qx "age-encryption.org/v1" || fail "the archive is not an age file"

# Debian's age opens it, and the plaintext holds exactly the store's files.
age -d -i "$tmp/key.txt" -o "$tmp/plain" "$tmp/backup.age" || fail "age -d cannot open kthw's archive"
head -2 "$tmp/plain" | tr '\n' ' ' | grep -qx "kthw-store-archive v1 cluster kubernetes-the-hard-way " ||
  fail "the plaintext does not start with the magic and cluster lines: $(head -2 "$tmp/plain")"
cmp -s "$store/cluster-pki/authorities/ca.key" \
  <(python3 - "$tmp/plain" cluster-pki/authorities/ca.key <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
want = sys.argv[2].encode()
pos = data.index(b'\n', data.index(b'\n') + 1) + 1
while not data.startswith(b'end ', pos):
    nl = data.index(b'\n', pos)
    _, mode, plen, clen = data[pos:nl].split(b' ')
    path = data[nl + 1:nl + 1 + int(plen)]
    start = nl + 1 + int(plen) + 1
    if path == want:
        sys.stdout.buffer.write(data[start:start + int(clen)])
    pos = start + int(clen) + 1
PY
) || fail "the CA key in the archive is not the store's"

check 1 "restore refuses a store that holds files" "$kthw" restore -f "$example" "$tmp/backup.age" -i "$tmp/key.txt"
grep -q -- "--force" "$tmp/err" || fail "the refusal does not name --force: $(cat "$tmp/err")"

rm -rf "$store"
check 0 "restore into a wiped store" "$kthw" restore -f "$example" "$tmp/backup.age" -i "$tmp/key.txt"
snapshot "$store" >"$tmp/after"
diff "$tmp/before" "$tmp/after" >/dev/null || { fail "the restored store differs"; diff "$tmp/before" "$tmp/after" | head; }
privateDirectories "restore into a wiped store"
ls -a "$(dirname "$store")" | grep -q restore- && fail "a staging directory is left beside the store"
# Nothing to issue again: render finds every key and certificate it needs as restored.
check 0 "render after restore" "$kthw" render -f "$example" --out-dir "$tmp/rendered-again"
snapshot "$store" >"$tmp/after-render"
diff "$tmp/before" "$tmp/after-render" >/dev/null || fail "render changed the restored store"
diff -r "$tmp/rendered" "$tmp/rendered-again" >/dev/null || fail "render's output differs after restore"

check 0 "restore --force over the store" "$kthw" restore -f "$example" "$tmp/backup.age" -i "$tmp/key.txt" --force
snapshot "$store" | diff "$tmp/before" - >/dev/null || fail "the store differs after restore --force"
privateDirectories "restore --force"

# Refusals leave a wiped store wiped: nothing is written.
rm -rf "$store"
cp "$tmp/backup.age" "$tmp/flipped.age"
size=$(stat -c %s "$tmp/flipped.age")
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[-100] ^= 1; open(sys.argv[1], "wb").write(d)' "$tmp/flipped.age"
check 1 "restore refuses a flipped byte" "$kthw" restore -f "$example" "$tmp/flipped.age" -i "$tmp/key.txt"
grep -q "authenticate" "$tmp/err" || fail "no clear error for a flipped byte: $(cat "$tmp/err")"
head -c $((size - 1000)) "$tmp/backup.age" >"$tmp/truncated.age"
check 1 "restore refuses a truncated archive" "$kthw" restore -f "$example" "$tmp/truncated.age" -i "$tmp/key.txt"
check 1 "restore refuses another identity" "$kthw" restore -f "$example" "$tmp/backup.age" -i "$tmp/other-key.txt"
grep -q "no identity given opens" "$tmp/err" || fail "no clear error for a wrong identity: $(cat "$tmp/err")"
check 1 "restore refuses a wrong passphrase" env KTHW_PASSPHRASE=wrong "$kthw" restore -f "$example" "$tmp/backup.age"
[ -e "$store" ] && fail "a refused restore created the store"

# age encrypts, kthw restores: to a recipient, and with a passphrase.
age -r "$recipient" -o "$tmp/by-age.age" "$tmp/plain" || fail "age -r failed"
check 0 "restore what age -r wrote" "$kthw" restore -f "$example" "$tmp/by-age.age" -i "$tmp/key.txt"
snapshot "$store" | diff "$tmp/before" - >/dev/null || fail "the store differs after restoring age's archive"
ageWithPassphrase "correct horse battery staple" age -p -o "$tmp/by-age-p.age" "$tmp/plain" ||
  fail "age -p failed: $(cat "$tmp/script.log")"
rm -rf "$store"
check 0 "restore what age -p wrote" "$kthw" restore -f "$example" "$tmp/by-age-p.age" --passphrase-file "$tmp/passphrase"
snapshot "$store" | diff "$tmp/before" - >/dev/null || fail "the store differs after restoring age -p's archive"

# kthw encrypts with a passphrase, age decrypts.
check 0 "backup with a passphrase" env KTHW_PASSPHRASE="correct horse battery staple" "$kthw" backup -f "$example" -o "$tmp/pass.age"
grep -q "^-> scrypt " "$tmp/pass.age" || fail "no scrypt stanza in the passphrase archive"
ageWithPassphrase "correct horse battery staple" age -d -o "$tmp/pass-plain" "$tmp/pass.age" ||
  fail "age -d with the passphrase failed: $(cat "$tmp/script.log")"
cmp -s "$tmp/plain" "$tmp/pass-plain" || fail "age decrypted something else from the passphrase archive"
check 0 "restore the passphrase archive" "$kthw" restore -f "$example" "$tmp/pass.age" --passphrase-file "$tmp/passphrase" --force

check 2 "backup to recipients and a passphrase at once" "$kthw" backup -f "$example" -o "$tmp/x.age" -r "$recipient" --passphrase-file "$tmp/passphrase"
check 2 "backup to a malformed recipient" "$kthw" backup -f "$example" -o "$tmp/x.age" -r age1nothing
check 2 "restore with a malformed identity file" "$kthw" restore -f "$example" "$tmp/backup.age" -i "$tmp/passphrase"
script -qec "'$kthw' backup -f '$example' -o - -r '$recipient'" /dev/null >"$tmp/tty.log" 2>&1 </dev/null
grep -q "refusing to write the archive to a terminal" "$tmp/tty.log" || fail "backup -o - wrote to a terminal"

# backup, wipe, restore, apply: zero changes. A local Host gets a certificate and a key from a
# bundle; without the store, diff sees everything to reissue; with the restored one, no drift.
cat >"$tmp/local.yaml" <<YAML
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: here}
spec: {address: 127.0.0.1, transport: local}
---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  clusterName: backup-test
  authorities: [{name: ca, commonName: test-ca}]
  certificates:
    - {name: admin, issuer: ca, commonName: admin, usages: [client]}
  files:
    - {path: $tmp/host/ca.pem, hosts: {names: [here]}, content: {certificate: ca}}
    - {path: $tmp/host/admin-key.pem, hosts: {names: [here]}, content: {key: admin}}
YAML
localStore=$tmp/state/kthw/backup-test
printf '# the backup key\n%s\n' "$recipient" >"$tmp/recipients"
check 0 "apply the local state" "$kthw" apply -f "$tmp/local.yaml" --lock-wait 60
check 0 "backup the local state's store" "$kthw" backup -f "$tmp/local.yaml" -o "$tmp/local.age" -R "$tmp/recipients"
rm -rf "$localStore"
check 1 "diff without the store: everything to reissue" "$kthw" diff -f "$tmp/local.yaml"
check 0 "restore the local state's store" "$kthw" restore -f "$tmp/local.yaml" "$tmp/local.age" -i "$tmp/key.txt"
check 0 "diff after restore: no drift" "$kthw" diff -f "$tmp/local.yaml"
check 0 "apply after restore" "$kthw" apply -f "$tmp/local.yaml" --lock-wait 60
grep -q "0 action(s) done" "$tmp/out" || fail "apply after restore changed something: $(cat "$tmp/out")"
check 1 "restore refuses an archive of another cluster" "$kthw" restore -f "$example" "$tmp/local.age" -i "$tmp/key.txt" --force
grep -q "archive of cluster backup-test, not of kubernetes-the-hard-way" "$tmp/err" ||
  fail "no clear error for another cluster's archive: $(cat "$tmp/err")"

# Nothing secret in anything kthw printed.
grep -q "PRIVATE KEY" "$tmp/all-output" && fail "key material in kthw's output"
grep -q "correct horse" "$tmp/all-output" && fail "the passphrase in kthw's output"
grep -qF "$secretKey" "$tmp/all-output" && fail "the age secret key in kthw's output"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
