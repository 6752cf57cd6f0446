#!/usr/bin/env bash
# make bench: every benchmark of kthw, one run, written to bench/RESULTS.md with the commands that
# reproduce each number. Ratios come from the same run; these machines are noisy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
kthw=$root/build/kthw
lab=$root/tests/lab/lab
export LAB_STATE=${LAB_STATE:-/var/lib/kthw-lab}
work=$(mktemp -d /tmp/kthw-bench-run-XXXXXX)
export XDG_STATE_HOME=$work/state
results=$root/bench/RESULTS.md
trap '"$lab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
timed() {  # label command... -> prints "wall cpu" of one run; its peak RSS (KiB) goes to $work/rss
  /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$@" >"$work/cmd.out" 2>&1 || true
  read -r w u s m <"$work/t"
  echo "$m" >"$work/rss"
  printf '%s %.2f\n' "$w" "$(echo "$u + $s" | bc)"
}

command -v ansible-playbook >/dev/null || {
  say "installing ansible-core (Debian) for the side-by-side run"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible-core </dev/null >/dev/null
}

say "the lab's components (kube-apiserver, controller-manager, scheduler, kubectl, etcd)"
s=$(date +%s.%N)
components=$("$root/tests/lab/components/build" all 2>/dev/null)
cached_build=$(printf '%.1f' "$(echo "$(date +%s.%N) - $s" | bc)")
component_rows=""
for dir in $components; do
  component_rows+="| $(basename "$dir") | $(cat "$dir/.build-seconds" 2>/dev/null || echo '?') s | $(du -sh "$dir" | cut -f1) |"$'\n'
done

say "micro benchmarks (Google Benchmark)"
"$root/build/kthw_bench" --benchmark_min_time=0.2 --benchmark_format=console 2>/dev/null >"$work/micro.txt"

say "certificate bundle: in process against the seeds' openssl sequence"
pki_rows=""
for alg in p256 rsa2048; do
  os=$("$root/bench/openssl-bundle.sh" "$alg" 3 | awk '{print $2}')
  filter=$([ "$alg" = p256 ] && echo "fullBundle/3" || echo "fullBundle/0")
  kt=$(grep "^$filter " "$work/micro.txt" | awk '{print $2}')
  pki_rows+="| $alg | $kt ms | $os ms | $(echo "$os / $kt" | bc -l | xargs printf '%.1f')x |"$'\n'
done

say "the lab, converged phase by phase"
"$lab" up >/dev/null
cp -r "$root/examples/lab" "$work/desired"
cp "$LAB_STATE/hosts.yaml" "$work/desired/hosts.yaml"
d=$work/desired
phase_rows=""
for phase in "Host" "CertificateBundle" "ControlPlaneService" "LoadBalancer" "ClusterRole --kind ClusterRoleBinding"; do
  # shellcheck disable=SC2086
  read -r w c < <(timed "$kthw" apply -f "$d" --kind $phase)
  phase_rows+="| ${phase// --kind / + } | $w s | $c s |"$'\n'
done
read -r noop_w noop_c < <(timed "$kthw" apply -f "$d")
grep -q "0 changed, 0 action(s) done" "$work/cmd.out" || { echo "the no-op apply changed something" >&2; cat "$work/cmd.out" >&2; }

say "kthw diff on the converged lab, against ansible-playbook --check --diff and the floor"
walls=() cpus=() rss=()
for _ in 1 2 3 4 5; do
  read -r w c < <(timed "$kthw" diff -f "$d" --kind Host --kind CertificateBundle --kind ControlPlaneService --kind LoadBalancer)
  walls+=("$w"); cpus+=("$c"); rss+=("$(cat "$work/rss")")
done
kthw_rss=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
binaries=$(for c in $components; do for b in kube-apiserver kube-controller-manager kube-scheduler etcd; do
  if [ -f "$c/$b" ]; then stat -c %s "$c/$b"; fi; done; done | awk '{ s += $1 } END { print s }')
kthw_w=$(printf '%s\n' "${walls[@]}" | median); kthw_c=$(printf '%s\n' "${cpus[@]}" | median)
"$kthw" diff -f "$d" -o json --kind Host --kind CertificateBundle --kind ControlPlaneService --kind LoadBalancer >"$work/plan.json" || true
trips=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["hosts"]; print(sum(x["roundTrips"] for x in h)/len(h))' "$work/plan.json")
playbook=$("$root/bench/ansible-playbook.sh" "$kthw" "$d" -- "$work/ansible")
tasks=$(grep -c "^    - name:" "$playbook")
walls=() cpus=()
for _ in 1 2 3; do
  read -r w c < <(timed ansible-playbook --check --diff -f 32 -i "$work/ansible/inventory.ini" "$playbook")
  walls+=("$w"); cpus+=("$c")
done
grep -q "unreachable=0" "$work/cmd.out" && ! grep -q "failed=[1-9]" "$work/cmd.out" ||
  { echo "ansible-playbook did not run cleanly:" >&2; tail -20 "$work/cmd.out" >&2; }
ans_w=$(printf '%s\n' "${walls[@]}" | median); ans_c=$(printf '%s\n' "${cpus[@]}" | median)
key=$LAB_STATE/id_ed25519
opts=(-q -i "$key" -o BatchMode=yes -o UserKnownHostsFile="$LAB_STATE/known_hosts")
ips=(10.77.0.10 10.77.0.11 10.77.0.12 10.77.0.30)
walls=()
for _ in 1 2 3 4 5; do
  s=$(date +%s.%N)
  for ip in "${ips[@]}"; do ssh "${opts[@]}" "root@$ip" true & done
  wait
  walls+=("$(echo "$(date +%s.%N) - $s" | bc)")
done
cold_floor=$(printf '%.3f' "$(printf '%s\n' "${walls[@]}" | median)")
say "the daemon's warm pass: kthw run on the converged lab, sessions kept between passes"
# The warm floor (parallel ssh true on open connections) and the warm pass, side by side.
read -r warm_w warm_floor warm_trips warm_c warm_passes < <(WARM_DESIRED=$d "$root/bench/warm-pass.sh" "$kthw" 30)
"$lab" down >/dev/null

say "scaling: kthw diff over 1, 10, 30 and 100 loopback sshd hosts"
"$root/bench/ssh-scaling.sh" --kthw "$kthw" --runs 3 1 10 30 100 >"$work/scaling.md"

cat >"$results" <<MD
# kthw benchmark results

Written by \`make bench\` (\`bench/run.sh\`) on $(date -u +%Y-%m-%d), $(nproc) cores, one run;
ratios are taken within this run.

## kthw diff on the converged lab against Ansible and the floor

The lab's four hosts (\`tests/lab/lab up\`), converged with \`kthw apply -f examples/lab\`. Both
tools start cold (new SSH connections). The playbook (\`bench/ansible-playbook.sh\`, $tasks tasks)
checks what kthw checks: every file kthw places on each host (content, owner, mode), the
directories, the /etc/hosts entries and that every service is enabled and running.

| | wall (median) | client CPU (median) |
|---|---|---|
| \`kthw diff -f examples/lab -f hosts.yaml\` (5 runs) | $kthw_w s | $kthw_c s |
| \`ansible-playbook --check --diff -f 32\` (3 runs) | $ans_w s | $ans_c s |
| \`kthw run\`: a resync pass on open connections (median of $warm_passes) | $warm_w s | $warm_c s |
| parallel \`ssh HOST true\`, cold (the floor; 5 runs) | $cold_floor s | |
| parallel \`ssh HOST true\` on an open connection (warm floor; 5 runs) | $warm_floor s | |

Ansible / kthw wall: $(echo "$ans_w / $kthw_w" | bc -l | xargs printf '%.1f')x. kthw / cold floor: $(echo "$kthw_w / $cold_floor" | bc -l | xargs printf '%.2f')x (target: at most 1.2x).
Peak RSS of \`kthw diff\` (largest of the 5 runs, \`/usr/bin/time %M\`): $((kthw_rss / 1024)) MiB (target: under 64
MiB), with $((binaries / 1048576)) MiB of local binaries in the desired state: they are hashed and
sent by streaming, never held in memory.
Ansible / kthw run warm pass: $(echo "$ans_w / $warm_w" | bc -l | xargs printf '%.0f')x; warm pass / warm floor: $(echo "$warm_w / $warm_floor" | bc -l | xargs printf '%.2f')x.
SSH round trips per host per kthw diff: $trips (TCP connect, key exchange, authentication, one
exec for the whole probe). The daemon's warm pass: $warm_trips round trips for the 4 hosts, one exec
each (\`kthw run --interval 2\`, pass time from its log, client CPU from /proc over 30 s).

## Scaling: kthw diff over N loopback sshd hosts

\`bench/ssh-scaling.sh --runs 3 1 10 30 100\`: real sshd processes on 127.0.0.1, each with a
private /etc and a managed tree (/etc/hosts entries, two directories).

$(cat "$work/scaling.md")

## The lab's components

Built from their Go modules by \`tests/lab/components/build\` (pinned Go toolchain, \`-trimpath\`,
static, stripped; checked against \`tests/lab/components/SHA256SUMS\`). The time of the build that
made them is recorded beside the binaries: with Go's module and build caches warm it is seconds;
a first build on a clean machine took 14 min 23 s for the Kubernetes set and 1 min 14 s for etcd
(see the README). A later run finds them cached ($cached_build s in this run).

| set | its build | size |
|---|---|---|
$component_rows
## Cold converge of the lab, phase by phase

\`kthw apply -f examples/lab -f hosts.yaml --kind KIND\` from bare hosts, in dependency order,
with the real control plane (v1.36.3 binaries of about 100 MB each, streamed to three hosts):

| phase | wall | client CPU |
|---|---|---|
$phase_rows| second apply (no-op) | $noop_w s | $noop_c s |

## Certificate bundle: in process against the seeds' openssl commands

A CA and six leaves. kthw: \`build/kthw_bench --benchmark_filter=fullBundle\`; openssl:
\`bench/openssl-bundle.sh ALG 3\` (the seeds' \`ecparam\`/\`genrsa\`, \`req\`, \`x509 -req\` sequence).

| algorithm | kthw | openssl CLI | ratio |
|---|---|---|---|
$pki_rows
## Micro benchmarks

\`build/kthw_bench\`:

\`\`\`
$(grep -E "^[a-zA-Z]" "$work/micro.txt")
\`\`\`
MD
say "wrote $results"
cat "$results"
