#!/usr/bin/env bash
# The examples validate, the CLI's exit codes follow the documented contract, and errors name
# file:line:col.
set -u
kthw=$1
src=$2
failures=0
check() {  # expected-exit description command...
  local want=$1 what=$2
  shift 2
  "$@" >/tmp/kthw-cli-out.$$ 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"
    sed 's/^/    /' /tmp/kthw-cli-out.$$
    failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}
check 0 "validate examples/ha-cluster" "$kthw" validate -f "$src/examples/ha-cluster"
check 0 "validate examples/single-node" "$kthw" validate -f "$src/examples/single-node"
check 0 "render examples/ha-cluster" "$kthw" render -f "$src/examples/ha-cluster" --content
check 2 "validate without -f" "$kthw" validate
check 2 "unknown option" "$kthw" validate --bogus
check 2 "unknown command" "$kthw" frobnicate
check 0 "help" "$kthw" --help
check 0 "validate --help" "$kthw" validate --help
check 0 "version" "$kthw" version

# A directory without documents is a mistake, not an empty desired state.
emptydir=$(mktemp -d)
check 1 "validate of a directory without documents" "$kthw" validate -f "$emptydir"
grep -qx "$emptydir: no kthw documents: no \*.yaml or \*.yml file below this directory" /tmp/kthw-cli-out.$$ ||
  { echo "FAIL: the error does not name the empty directory"; cat /tmp/kthw-cli-out.$$; failures=$((failures + 1)); }
grep -q "^valid" /tmp/kthw-cli-out.$$ && { echo "FAIL: an empty directory is called valid"; failures=$((failures + 1)); }
rmdir "$emptydir"

# One broken document gives its own error, not one per resource that refers to what it declares.
tabbed=$(mktemp -d)
cp "$src"/examples/ha-cluster/*.yaml "$tabbed/"
sed -i '0,/^  internalIP:/s//\tinternalIP:/' "$tabbed/hosts.yaml"
check 1 "a tab in hosts.yaml" "$kthw" validate -f "$tabbed"
[ "$(grep -c "" /tmp/kthw-cli-out.$$)" -eq 2 ] && grep -q "^$tabbed/hosts.yaml:[0-9]*:1: .*never tabs" /tmp/kthw-cli-out.$$ ||
  { echo "FAIL: a tab in hosts.yaml does not give exactly its own error"; cat /tmp/kthw-cli-out.$$; failures=$((failures + 1)); }
rm -rf "$tabbed"

# rbac.authorization.k8s.io/v1beta1 is accepted, with a warning at the apiVersion, and read as v1.
beta=$(mktemp -d)
sed 's#^apiVersion: rbac.authorization.k8s.io/v1$#apiVersion: rbac.authorization.k8s.io/v1beta1#' \
  "$src/examples/ha-cluster/rbac.yaml" >"$beta/rbac.yaml"
check 0 "validate accepts RBAC v1beta1" "$kthw" validate -f "$beta/rbac.yaml"
line=$(grep -n "^kind: ClusterRoleBinding" "$beta/rbac.yaml" | cut -d: -f1)
grep -q "^$beta/rbac.yaml:$((line - 1)):13: warning: apiVersion: rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding is deprecated.*; sent as rbac.authorization.k8s.io/v1" /tmp/kthw-cli-out.$$ ||
  { echo "FAIL: no warning at the v1beta1 apiVersion"; cat /tmp/kthw-cli-out.$$; failures=$((failures + 1)); }
rm -rf "$beta"

bad=$(mktemp)
printf 'apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: a\nspec:\n  address: 10.0.0.1\n  sshh: {}\n' >"$bad"
check 1 "invalid document" "$kthw" validate -f "$bad"
if ! "$kthw" validate -f "$bad" 2>&1 | grep -q "^$bad:7:3: spec.sshh: unknown field \"sshh\"; did you mean \"ssh\"?$"; then
  echo "FAIL: error does not name file:line:col and field"
  "$kthw" validate -f "$bad"
  failures=$((failures + 1))
fi
if ! "$kthw" validate -o json -f - <"$bad" | grep -q '"line":7,"column":3,"field":"spec.sshh"'; then
  echo "FAIL: -o json from stdin does not carry the error"
  failures=$((failures + 1))
fi
# render --out-dir: every file of every host, keys 0600, certificates that openssl and kubectl
# accept.
out=$(mktemp -d /tmp/kthw-render-XXXXXX)
export XDG_STATE_HOME=$out/state
check 0 "render --out-dir writes the files" "$kthw" render -f "$src/examples/ha-cluster" --out-dir "$out/files"
c0=$out/files/controller-0
[ "$(stat -c %a "$c0/var/lib/kubernetes/kubernetes-key.pem")" = 600 ] || { echo "FAIL: key not 0600"; failures=$((failures + 1)); }
[ "$(stat -c %a "$c0/var/lib/kubernetes/ca.pem")" = 644 ] || { echo "FAIL: certificate not 0644"; failures=$((failures + 1)); }
openssl verify -CAfile "$c0/var/lib/kubernetes/ca.pem" "$c0/var/lib/kubernetes/kubernetes.pem" >/dev/null ||
  { echo "FAIL: openssl does not verify the rendered kubernetes certificate"; failures=$((failures + 1)); }
openssl x509 -in "$c0/var/lib/kubernetes/kubernetes.pem" -noout -ext subjectAltName | grep -q "IP Address:10.0.1.12" ||
  { echo "FAIL: kubernetes certificate lacks controller-2's address"; failures=$((failures + 1)); }
for k in "$c0"/var/lib/kubernetes/*.kubeconfig "$c0/root/admin.kubeconfig"; do
  kubectl config view --kubeconfig "$k" >/dev/null 2>&1 || { echo "FAIL: kubectl cannot read $k"; failures=$((failures + 1)); }
done
grep -q "kind: EncryptionConfiguration" "$c0/var/lib/kubernetes/encryption-config.yaml" ||
  { echo "FAIL: encryption config"; failures=$((failures + 1)); }
[ "$(stat -c %a "$out/state/kthw/kubernetes-the-hard-way")" = 700 ] || { echo "FAIL: secret store not 0700"; failures=$((failures + 1)); }
check 2 "render --out-dir refuses a directory inside a git work tree" "$kthw" render -f "$src/examples/ha-cluster" --out-dir "$src/rendered"

# render -o is the output format, as everywhere; it never names a directory.
mkdir "$out/cwd"
(cd "$out/cwd" && "$kthw" render -f "$src/examples/ha-cluster" -o json >"$out/render.json") ||
  { echo "FAIL: render -o json"; failures=$((failures + 1)); }
python3 - "$out/render.json" <<'PY' || { echo "FAIL: render -o json is not the placement as JSON"; failures=$((failures + 1)); }
import json, sys
doc = json.load(open(sys.argv[1]))
hosts = {h["name"]: h for h in doc["hosts"]}
assert sorted(hosts) == ["controller-0", "controller-1", "controller-2", "lb-0"], sorted(hosts)
items = hosts["controller-0"]["items"]
unit = [i for i in items if i["target"] == "/etc/systemd/system/kube-apiserver.service"]
assert unit and unit[0]["mode"] == "0644" and unit[0]["resource"] == "ControlPlaneService/kube-apiserver", unit
assert all("content" not in i for i in items), "content without --content"
key = [i for i in items if i["target"] == "/var/lib/kubernetes/kubernetes-key.pem"]
assert key and key[0]["mode"] == "0600", key
PY
(cd "$out/cwd" && "$kthw" render -f "$src/examples/ha-cluster" -o yaml --host lb-0 >"$out/render.yaml") ||
  { echo "FAIL: render -o yaml"; failures=$((failures + 1)); }
grep -q "^  - name: lb-0$" "$out/render.yaml" || { echo "FAIL: render -o yaml lists no lb-0"; failures=$((failures + 1)); }
[ -z "$(ls -A "$out/cwd")" ] || { echo "FAIL: render -o FORMAT created $(ls -A "$out/cwd")"; failures=$((failures + 1)); }
check 2 "render -o with a directory is refused" "$kthw" render -f "$src/examples/ha-cluster" -o "$out/cwd/files"
grep -q "use --out-dir DIR" /tmp/kthw-cli-out.$$ || { echo "FAIL: render -o DIR does not point at --out-dir"; failures=$((failures + 1)); }
[ -e "$out/cwd/files" ] && { echo "FAIL: render -o DIR created the directory"; failures=$((failures + 1)); }
check 2 "render --out-dir with -o json is refused" "$kthw" render -f "$src/examples/ha-cluster" --out-dir "$out/x" -o json
rm -rf "$out"

rm -f "$bad" /tmp/kthw-cli-out.$$
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
