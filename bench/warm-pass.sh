#!/usr/bin/env bash
# The daemon's warm resync pass against the warm floor, side by side in one run, on a lab that is
# up (tests/lab/lab up). Converges the lab first (kthw apply), then:
#   warm floor: parallel `ssh HOST true` over an open ControlMaster connection (median of 5);
#   warm pass:  `kthw run --interval 2`, the median pass time of its log over SECONDS (default 30).
# Usage: bench/warm-pass.sh KTHW [SECONDS]. Prints "warm_w warm_floor warm_trips warm_c passes";
# the daemon's log stays in $WARM_LOG when set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kthw=$1
seconds=${2:-30}
export LAB_STATE=${LAB_STATE:-/var/lib/kthw-lab}
work=$(mktemp -d /tmp/kthw-warm-XXXXXX)
export XDG_STATE_HOME=${XDG_STATE_HOME:-$work/state}
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then kill -TERM "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  for s in "$work"/cm-*; do
    if [ -S "$s" ]; then ssh -o ControlPath="$s" -O exit x 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

d=${WARM_DESIRED:-}
if [ -z "$d" ]; then
  cp -r "$root/examples/lab" "$work/desired"
  cp "$LAB_STATE/hosts.yaml" "$work/desired/hosts.yaml"
  d=$work/desired
  "$kthw" apply -f "$d" >"$work/apply.out" 2>&1 || { cat "$work/apply.out" >&2; exit 1; }
fi

key=$LAB_STATE/id_ed25519
opts=(-q -i "$key" -o BatchMode=yes -o UserKnownHostsFile="$LAB_STATE/known_hosts")
ips=(10.77.0.10 10.77.0.11 10.77.0.12 10.77.0.30)
for ip in "${ips[@]}"; do
  ssh "${opts[@]}" -o ControlMaster=yes -o ControlPath="$work/cm-$ip" -o ControlPersist=60 "root@$ip" true
done
walls=()
for _ in 1 2 3 4 5; do
  s=$(date +%s.%N)
  for ip in "${ips[@]}"; do ssh "${opts[@]}" -o ControlPath="$work/cm-$ip" "root@$ip" true & done
  wait
  walls+=("$(echo "$(date +%s.%N) - $s" | bc)")
done
warm_floor=$(printf '%.3f' "$(printf '%s\n' "${walls[@]}" | median)")

log=${WARM_LOG:-$work/run.log}
"$kthw" run -f "$d" --listen 127.0.0.1:9749 --interval 2 ${WARM_ARGS:-} >"$log" 2>&1 &
daemon=$!
for _ in $(seq 1 120); do
  [ "$(grep -c 'host pass: 4 host(s), 0 change(s)' "$log")" -ge 2 ] && break
  sleep 0.5
done
cpu0=$(awk '{print $14 + $15}' "/proc/$daemon/stat")
n0=$(grep -c 'host pass: 4 host(s)' "$log")
sleep "$seconds"
cpu1=$(awk '{print $14 + $15}' "/proc/$daemon/stat")
n1=$(grep -c 'host pass: 4 host(s)' "$log")
kill -TERM "$daemon"
wait "$daemon" || true
daemon=""
passes=$((n1 - n0))
warm_w=$(grep 'host pass: 4 host(s), 0 change(s)' "$log" | tail -n "$passes" |
  sed 's/.*, \([0-9.]*\) s$/\1/' | median)
warm_trips=$(grep 'host pass: 4 host(s), 0 change(s)' "$log" | tail -1 | sed 's/.*found, \([0-9]*\) round.*/\1/')
warm_c=$(echo "($cpu1 - $cpu0) / $(getconf CLK_TCK) / $passes" | bc -l | xargs printf '%.3f')
echo "$warm_w $warm_floor $warm_trips $warm_c $passes"
