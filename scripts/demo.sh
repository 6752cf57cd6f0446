#!/usr/bin/env bash
# What `make demo` shows: kthw validating the examples and rendering, per host, everything the
# desired state places there. It touches no host.
set -euo pipefail
kthw=${1:-build/kthw}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "kthw version"
"$kthw" version

for example in ha-cluster single-node; do
  step "kthw validate -f examples/$example"
  "$kthw" validate -f "examples/$example"
done

step "an invalid document is refused with file:line:col and the field"
bad=$(mktemp --suffix=.yaml)
trap 'rm -f "$bad"' EXIT
cat >"$bad" <<'YAML'
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata:
  name: controller-9
spec:
  address: 10.0.1.19
  ssh: {identityFile: ~/.ssh/id_ed25519, prot: 22}
  etcHosts:
    - {ip: 10.0.1.300, names: [ip-10-0-1-20]}
YAML
"$kthw" validate -f "$bad" || echo "(exit status $?: invalid)"

step "kthw render -f examples/ha-cluster: what each host gets"
"$kthw" render -f examples/ha-cluster

step "kthw render -f examples/ha-cluster --host controller-1 --content: the rendered units"
"$kthw" render -f examples/ha-cluster --host controller-1 --content | sed -n '/kube-apiserver.service  root/,/^  service/p'

step "the lab: controller-0..2 and lb-0 as systemd containers (the first run builds a rootfs)"
./tests/lab/lab up
hosts=/var/lib/kthw-lab/hosts.yaml

step "kthw diff -f $hosts: what apply would change"
"$kthw" diff -f "$hosts" || true

step "kthw apply -f $hosts"
"$kthw" apply -f "$hosts"

step "kthw diff again: no drift"
"$kthw" diff -f "$hosts"

step "done"
cat <<TEXT
The lab is still up: ./tests/lab/lab status, ./tests/lab/lab ssh controller-0,
and 'make lab-down' (or ./tests/lab/lab down) removes it.
Next: kthw validate --help, kthw diff --help, kthw apply --help. The documents
are in examples/; the schemas every document is checked against are in crds/.
TEXT
