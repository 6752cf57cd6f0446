#!/usr/bin/env bash
# Runs the loader fuzzer for a bounded time over the committed seed corpus (plus the examples).
# New inputs go to a scratch directory, so the committed corpus never changes during a test run.
set -euo pipefail
fuzzer=$(realpath "$1")
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/seeds"
cp "$root"/tests/fuzz/corpus/* "$work/seeds/"
for f in "$root"/examples/*/*.yaml; do cp "$f" "$work/seeds/$(basename "$(dirname "$f")")-$(basename "$f")"; done
# Each example directory also as one input: only a whole state reaches the renderers whose
# output the fuzzer checks.
for d in "$root"/examples/*/; do
  for f in "$d"*.yaml; do cat "$f"; printf '\n---\n'; done >"$work/seeds/$(basename "$d")-all.yaml"
done
echo "fuzz: $(ls "$work/seeds" | wc -l) seeds, ${seconds}s"
cd "$work"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 "$work/corpus" "$work/seeds" >"$work/log" 2>&1 || status=$?
# The coverage line comes before the dictionary, which would push it out of the tail.
grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" || true
tail -n 15 "$work/log"
if [ "$status" -ne 0 ]; then
  echo "fuzz: failed (exit $status)"
  exit "$status"
fi
echo "fuzz: no crash in ${seconds}s"
