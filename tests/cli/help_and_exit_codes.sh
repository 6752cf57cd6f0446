#!/usr/bin/env bash
# Every command answers `kthw help COMMAND` and `kthw COMMAND --help` with the same text, and
# every exit code a command returns is listed in its help. Each code is produced for real: a
# state with a local Host (read only: its one directory exists as declared) for "no drift", a
# missing directory for drift, and an ssh Host on a closed loopback port for "unreachable".
set -u
kthw=$1
src=$2
work=$(mktemp -d /tmp/kthw-cli-help-XXXXXX)
daemon=
cleanup() {
  [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export XDG_STATE_HOME=$work/state
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

commands="validate render diff apply run status verify kubeconfig certs adopt backup restore version help"
for c in $commands; do
  before=$failures
  "$kthw" help "$c" >"$work/help.$c" 2>"$work/err"
  rc=$?
  [ "$rc" -eq 0 ] || fail "kthw help $c: exit $rc: $(cat "$work/err")"
  "$kthw" "$c" --help >"$work/dash" 2>&1
  cmp -s "$work/help.$c" "$work/dash" || fail "kthw help $c and kthw $c --help differ"
  grep -q "kthw $c" "$work/help.$c" || fail "the help of $c has no usage line naming it"
  grep -q "^Exit status" "$work/help.$c" || fail "the help of $c lists no exit status"
  [ "$failures" -eq "$before" ] && echo "ok: kthw help $c"
done
grep -q "^kthw [0-9]" "$work/help.version" && fail "kthw help version printed the version"
# What diff's options say is about diff: --api-timeout (apply's wait) is apply's alone.
sed -n '/^Options:/,/^$/p' "$work/help.diff" | grep -i "apply" &&
  fail "an option of diff describes apply"

# The text after "Exit status" up to the next blank line, on one line.
exitParagraph() { sed -n '/^Exit status/,/^$/p' "$work/help.$1" | tr '\n' ' '; }
# expect CODE COMMAND ARGS...: the command exits with CODE and its help lists CODE.
expect() {
  local want=$1 cmd=$2 before=$failures
  shift 2
  "$kthw" "$cmd" "$@" >"$work/out" 2>&1 </dev/null
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "kthw $cmd $*: exit $got, want $want"
    sed 's/^/    /' "$work/out"
  fi
  if ! exitParagraph "$cmd" | grep -Eq "(^|[^0-9])$want [a-z]"; then
    fail "kthw help $cmd does not list exit code $want"
  fi
  [ "$failures" -eq "$before" ] && echo "ok: kthw $cmd exits $want"
}

mkdir -m 0755 "$work/present"
cat >"$work/here.yaml" <<YAML
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: here}
spec:
  address: 127.0.0.1
  transport: local
  directories:
    - path: $work/present
YAML
sed "s#$work/present#$work/absent#" "$work/here.yaml" >"$work/drift.yaml"
cat >"$work/far.yaml" <<'YAML'
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: far}
spec:
  address: 127.0.0.1
  ssh: {port: 1, identityFile: /nonexistent/key, connectTimeoutSeconds: 2}
YAML
printf 'apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata: {name: bad}\nspec: {adress: x}\n' \
  >"$work/bad.yaml"
touch "$work/file"
# A bundle whose one file goes to the unreachable host; its authority is not issued yet.
{
  cat "$work/far.yaml"
  cat <<'YAML'
---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  clusterName: cli-test
  authorities: [{name: ca, commonName: test-ca}]
YAML
} >"$work/pki.yaml"
sed -n '/^kind: CertificateBundle/,$p' "$work/pki.yaml" | sed '1i apiVersion: kthw.dev/v1alpha1' \
  >"$work/pki-alone.yaml"
cat >>"$work/pki.yaml" <<'YAML'
  files:
    - path: /etc/ca.pem
      hosts: {names: [far]}
      content: {certificate: ca}
YAML

expect 0 validate -f "$src/examples/ha-cluster"
expect 1 validate -f "$work/bad.yaml"
expect 2 validate

expect 0 render -f "$src/examples/ha-cluster"
expect 1 render -f "$work/bad.yaml"
expect 2 render
expect 3 render -f "$src/examples/ha-cluster" --out-dir "$work/file/out"

expect 0 diff -f "$work/here.yaml"
expect 1 diff -f "$work/drift.yaml"
expect 2 diff -f "$work/bad.yaml"
expect 3 diff -f "$work/far.yaml"

expect 0 apply -f "$work/here.yaml"
expect 1 apply -f "$work/far.yaml"
expect 2 apply
expect 2 apply -f "$work/here.yaml" -o yaml

# apply -o json: the results as one document on stdout, the progress lines on stderr. The
# drifted state's directory is created once; the second apply has nothing to do.
applyJson() {  # want-actions-done
  "$kthw" apply -f "$work/drift.yaml" -o json >"$work/apply.json" 2>"$work/apply.err"
  local rc=$?
  [ "$rc" -eq 0 ] || fail "kthw apply -o json: exit $rc: $(cat "$work/apply.err")"
  python3 - "$work/apply.json" "$work/absent" "$1" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
(h,) = d["hosts"]
assert h["name"] == "here" and h["reachable"] and not h["failed"], h
want = int(sys.argv[3])
assert len(h["actions"]) == want, h["actions"]
for a in h["actions"]:
    assert a["outcome"] == "done" and a["target"] == sys.argv[2], a
    assert a["resource"] == "Host/here" and a["summary"] and "diff" not in a, a
assert d["totals"]["actionsDone"] == want and d["exitCode"] == 0, d
assert [c["ready"] for c in d["conditions"]] == [True], d["conditions"]
PY
    fail "kthw apply -o json (want $1 action(s)): $(cat "$work/apply.json")"
}
before=$failures
applyJson 1
[ -d "$work/absent" ] || fail "kthw apply -o json did not create $work/absent"
grep -q "^here: done " "$work/apply.err" || fail "kthw apply -o json: no progress on stderr"
applyJson 0
grep -q "^here: up to date" "$work/apply.err" || fail "kthw apply -o json: no progress on stderr"
[ "$failures" -eq "$before" ] && echo "ok: kthw apply -o json"

expect 2 run
expect 3 run -f "$work/far.yaml" --listen 10.255.255.1:9740

expect 2 status -o yaml
expect 3 status --server 127.0.0.1:1

expect 1 verify -f "$work/far.yaml"
expect 2 verify

# Nothing issued yet: a secret store of its own (render above issued into $XDG_STATE_HOME).
XDG_STATE_HOME=$work/fresh-state expect 1 kubeconfig -f "$src/examples/ha-cluster"
expect 2 kubeconfig -f "$work/far.yaml"

expect 1 certs -f "$work/pki-alone.yaml"
expect 2 certs
expect 3 certs -f "$work/pki.yaml"

# adopt: without documents, and with invalid ones (refusals and unreachable hosts: cli.adopt_sshd).
expect 2 adopt
expect 2 adopt -f "$work/pki.yaml" --parallel 0

# backup and restore: to and with the test identity of tests/testdata/age; the store render
# filled above for the example.
ageKey=$src/tests/testdata/age/x25519-key.txt
ageRecipient=$(sed -n 's/^# public key: //p' "$ageKey")
XDG_STATE_HOME=$work/fresh-state expect 1 backup -f "$src/examples/ha-cluster" -o "$work/b.age" -r "$ageRecipient"
expect 0 backup -f "$src/examples/ha-cluster" -o "$work/b.age" -r "$ageRecipient"
expect 2 backup -f "$src/examples/ha-cluster" -o "$work/b.age"
expect 3 backup -f "$src/examples/ha-cluster" -o "$work/file/b.age" -r "$ageRecipient"
expect 1 restore -f "$src/examples/ha-cluster" "$work/b.age" -i "$ageKey"
expect 0 restore -f "$src/examples/ha-cluster" "$work/b.age" -i "$ageKey" --force
expect 2 restore -f "$src/examples/ha-cluster" "$work/b.age"
expect 3 restore -f "$src/examples/ha-cluster" "$work/absent.age" -i "$ageKey"

expect 0 version
expect 2 version extra

expect 0 help
expect 2 help no-such-command

# run until SIGTERM (exit 0), and status against it: 1 while a Host is unreachable, 0 once every
# resource is Ready.
startDaemon() {
  "$kthw" run -f "$1" --listen 127.0.0.1:0 --interval 3600 >"$work/run.log" 2>&1 &
  daemon=$!
  server=
  for _ in $(seq 50); do
    server=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/run.log" | head -1 | sed 's#http://##')
    [ -n "$server" ] && break
    sleep 0.1
  done
  [ -n "$server" ] || fail "kthw run did not start: $(cat "$work/run.log")"
}
stopDaemon() {
  kill -TERM "$daemon"
  wait "$daemon"
  local got=$?
  daemon=
  [ "$got" -eq 0 ] || fail "kthw run: exit $got after SIGTERM, want 0"
  exitParagraph run | grep -Eq "(^|[^0-9])0 [a-z]" || fail "kthw help run does not list exit code 0"
}
# Polls status until it exits `want` (the first pass takes a moment).
awaitStatus() {
  local want=$1 got before=$failures
  for _ in $(seq 50); do
    "$kthw" status --server "$server" >"$work/out" 2>&1
    got=$?
    [ "$got" -eq "$want" ] && break
    sleep 0.2
  done
  [ "$got" -eq "$want" ] || { fail "kthw status: exit $got, want $want"; sed 's/^/    /' "$work/out"; }
  exitParagraph status | grep -Eq "(^|[^0-9])$want [a-z]" ||
    fail "kthw help status does not list exit code $want"
  [ "$failures" -eq "$before" ] && echo "ok: kthw status exits $want"
}
startDaemon "$work/far.yaml"
awaitStatus 1
stopDaemon
startDaemon "$work/here.yaml"
awaitStatus 0
before=$failures
stopDaemon
[ "$failures" -eq "$before" ] && echo "ok: kthw run exits 0 on SIGTERM"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
