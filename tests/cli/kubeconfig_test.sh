#!/usr/bin/env bash
# kthw kubeconfig against a secret store filled by kthw itself (render --out-dir issues offline): the
# kubeconfig parses, embeds exactly the store's CA, certificate and key, points at the load
# balancer, is written 0600, and nothing new is ever issued.
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
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, want $want"
    sed 's/^/    /' "$tmp/out" "$tmp/err"
  else
    echo "ok: $what"
  fi
}
field() {  # kubeconfig jsonpath
  kubectl config view --raw --kubeconfig "$1" -o jsonpath="$2"
}

tmp=$(mktemp -d /tmp/kthw-kubeconfig-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME=$tmp/state
store=$tmp/state/kthw/kubernetes-the-hard-way/cluster-pki

check 1 "before any apply: nothing to hand out" "$kthw" kubeconfig -f "$example"
grep -q "run kthw apply first" "$tmp/err" || fail "no hint to run kthw apply: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "printed something without a certificate"
[ -e "$tmp/state/kthw" ] && fail "kubeconfig created the secret store"

check 0 "render --out-dir issues the bundle into the store" "$kthw" render -f "$example" --out-dir "$tmp/rendered"
before=$(cd "$store" && find . -type f ! -name .lock -exec sha256sum {} + | sort)

check 0 "kubeconfig to stdout" "$kthw" kubeconfig -f "$example"
cp "$tmp/out" "$tmp/stdout.kubeconfig"
grep -q "PRIVATE KEY" "$tmp/err" && fail "key material on stderr"
kubectl config view --kubeconfig "$tmp/stdout.kubeconfig" >/dev/null 2>&1 || fail "kubectl cannot read the kubeconfig"
k=$tmp/stdout.kubeconfig
[ "$(field "$k" '{.clusters[0].cluster.server}')" = "https://10.0.1.30:6443" ] ||
  fail "server is not the load balancer's frontend: $(field "$k" '{.clusters[0].cluster.server}')"
[ "$(field "$k" '{.clusters[0].name}')" = "kubernetes-the-hard-way" ] || fail "cluster name"
[ "$(field "$k" '{.users[0].name}')" = "admin" ] || fail "user is not admin"
[ "$(field "$k" '{.contexts[0].context.user}')" = "admin" ] || fail "context user"
field "$k" '{.users[0].user.client-certificate-data}' | base64 -d >"$tmp/cert.pem"
field "$k" '{.users[0].user.client-key-data}' | base64 -d >"$tmp/key.pem"
field "$k" '{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$tmp/ca.pem"
cmp -s "$tmp/cert.pem" "$store/certificates/admin.crt" || fail "embedded certificate is not the store's admin certificate"
cmp -s "$tmp/key.pem" "$store/certificates/admin.key" || fail "embedded key is not the store's admin key"
cmp -s "$tmp/ca.pem" "$store/authorities/ca.crt" || fail "embedded CA is not the store's"
openssl verify -CAfile "$tmp/ca.pem" "$tmp/cert.pem" >/dev/null || fail "openssl does not verify the embedded certificate"
openssl x509 -in "$tmp/cert.pem" -noout -subject | grep -q "O = system:masters" || fail "not the system:masters certificate"

out=$tmp/home/admin.kubeconfig
mkdir -p "$tmp/home"
check 0 "--out writes the file" sh -c "umask 000; exec '$kthw' kubeconfig -f '$example' --out '$out'"
[ "$(stat -c %a "$out")" = 600 ] || fail "--out is mode $(stat -c %a "$out") under umask 000, want 600"
cmp -s "$out" "$tmp/stdout.kubeconfig" || fail "--out and stdout differ"
grep -q "PRIVATE KEY" "$tmp/out" && fail "key material in the --out message"
grep -q "^wrote $out (0600): user admin" "$tmp/out" || fail "no summary line: $(cat "$tmp/out")"
check 0 "--out again: the same kubeconfig is no conflict" "$kthw" kubeconfig -f "$example" --out "$out"
ls "$tmp/home" | grep -q tmp && fail "temporary file left beside --out"

echo "a hand-written config" >"$tmp/home/other"
check 1 "--out refuses to replace a different file" "$kthw" kubeconfig -f "$example" --out "$tmp/home/other"
grep -q -- "--force" "$tmp/err" || fail "refusal does not name --force"
[ "$(cat "$tmp/home/other")" = "a hand-written config" ] || fail "the different file was touched"
check 0 "--force replaces it" "$kthw" kubeconfig -f "$example" --out "$tmp/home/other" --force
cmp -s "$tmp/home/other" "$out" || fail "--force did not write the kubeconfig"

check 0 "--user kube-scheduler" "$kthw" kubeconfig -f "$example" --user kube-scheduler
cp "$tmp/out" "$tmp/scheduler.kubeconfig"
[ "$(field "$tmp/scheduler.kubeconfig" '{.users[0].name}')" = "system:kube-scheduler" ] || fail "scheduler user"
field "$tmp/scheduler.kubeconfig" '{.users[0].user.client-certificate-data}' | base64 -d |
  cmp -s - "$store/certificates/kube-scheduler.crt" || fail "scheduler certificate"
check 2 "--user of an authority" "$kthw" kubeconfig -f "$example" --user ca
check 2 "--user that does not exist" "$kthw" kubeconfig -f "$example" --user nobody
check 2 "--load-balancer that does not exist" "$kthw" kubeconfig -f "$example" --load-balancer nope
check 2 "a desired state without a load balancer" "$kthw" kubeconfig -f "$src/examples/single-node"
grep -q "no LoadBalancer" "$tmp/err" || fail "no clear error without a load balancer: $(cat "$tmp/err")"
check 2 "--out inside a git work tree" "$kthw" kubeconfig -f "$example" --out "$src/admin.kubeconfig"
[ -e "$src/admin.kubeconfig" ] && { fail "wrote into the git work tree"; rm -f "$src/admin.kubeconfig"; }
check 2 "--force without --out" "$kthw" kubeconfig -f "$example" --force
check 0 "--help" "$kthw" kubeconfig --help
grep -q "Exit status" "$tmp/out" || fail "--help does not give the exit codes"

rm "$store/certificates/admin.crt"
check 1 "a store without the certificate" "$kthw" kubeconfig -f "$example"
grep -q "run kthw apply first" "$tmp/err" || fail "no hint to run kthw apply: $(cat "$tmp/err")"
after=$(cd "$store" && find . -type f ! -name .lock -exec sha256sum {} + | sort)
[ "$(echo "$before" | grep -v admin.crt)" = "$after" ] || fail "kubeconfig changed the secret store"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
