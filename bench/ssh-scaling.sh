#!/usr/bin/env bash
# kthw diff over N loopback sshd hosts (each a real sshd with a private /etc, started by
# tests/support/sshd-harness.sh), against the physical floor: N parallel `ssh HOST true`.
#
#   bench/ssh-scaling.sh [--kthw PATH] [--runs R] N [N...]
#
# For each N: converge the hosts once with kthw apply, then time R cold `kthw diff` runs (new
# connections every run) and R rounds of parallel `ssh true`. Prints one Markdown table row per N:
# wall time (median), client CPU seconds and peak RSS of kthw, SSH round trips per host.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kthw=$root/build/kthw
runs=5
while [ $# -gt 0 ]; do
  case "$1" in
  --kthw) kthw=$(realpath "$2"); shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--kthw PATH] [--runs R] N [N...]" >&2; exit 2; }
harness=$root/tests/support/sshd-harness.sh
work=$(mktemp -d /tmp/kthw-bench-XXXXXX)
chmod 0755 "$work"
started=()
cleanup() {
  for d in "${started[@]}"; do "$harness" stop "$d" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

start_hosts() {  # grows the pool of sshd hosts to $1
  local want=$1 i dir
  for ((i = ${#started[@]}; i < want; i++)); do
    dir=$work/host-$i
    "$harness" start "$dir" >/dev/null
    started+=("$dir")
  done
}

documents() {  # Host documents for the first $1 hosts into $2
  local n=$1 out=$2 i dir
  mkdir -p "$out"
  rm -f "$out"/*.yaml
  for ((i = 0; i < n; i++)); do
    dir=${started[$i]}
    cat >"$out/host-$i.yaml" <<DOC
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: bench-$i}
spec:
  address: 127.0.0.1
  ssh:
    port: $(cat "$dir/port")
    identityFile: $dir/user_key
    hostKey: "$(cut -d' ' -f1,2 "$dir/host_key.pub")"
  etcHosts:
    - {ip: 10.0.1.20, names: [ip-10-0-1-20]}
    - {ip: 10.0.1.21, names: [ip-10-0-1-21]}
    - {ip: 10.0.1.22, names: [ip-10-0-1-22]}
  directories:
    - {path: /etc/kthw-bench/config}
    - {path: /etc/kthw-bench/pki, mode: "0700"}
DOC
  done
}

echo "| hosts | kthw diff wall (s) | kthw CPU (s) | kthw peak RSS (MiB) | round trips/host | parallel ssh true (s) | kthw / floor |"
echo "|---|---|---|---|---|---|---|"
for n in "$@"; do
  start_hosts "$n"
  docs=$work/docs-$n
  documents "$n" "$docs"
  "$kthw" apply -f "$docs" >/dev/null
  walls=() cpus=() rss=()
  for ((r = 0; r < runs; r++)); do
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$kthw" diff -f "$docs" -o json >"$work/plan.json" ||
      { echo "kthw diff reported drift or failed on a converged pool" >&2; cat "$work/plan.json" >&2; exit 1; }
    read -r wall user sys maxrss <"$work/time"
    walls+=("$wall")
    cpus+=("$(printf '%.2f' "$(echo "$user + $sys" | bc)")")
    rss+=("$maxrss")
  done
  trips=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["hosts"]; print(sum(x["roundTrips"] for x in h)/len(h))' "$work/plan.json")
  floors=()
  for ((r = 0; r < runs; r++)); do
    s=$(date +%s.%N)
    for ((i = 0; i < n; i++)); do
      dir=${started[$i]}
      ssh -q -i "$dir/user_key" -p "$(cat "$dir/port")" -o BatchMode=yes \
        -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no root@127.0.0.1 true &
    done
    wait
    floors+=("$(echo "$(date +%s.%N) - $s" | bc)")
  done
  w=$(printf '%s\n' "${walls[@]}" | median)
  c=$(printf '%s\n' "${cpus[@]}" | median)
  m=$(printf '%s\n' "${rss[@]}" | median)
  f=$(printf '%s\n' "${floors[@]}" | median)
  printf '| %d | %.3f | %.3f | %.1f | %s | %.3f | %.2f |\n' "$n" "$w" "$c" "$(echo "$m / 1024" | bc -l)" \
    "$trips" "$f" "$(echo "$w / $f" | bc -l)"
done
