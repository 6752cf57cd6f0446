#!/usr/bin/env bash
# make lint: clang-tidy with the repository's .clang-tidy over every *.cpp under src/, JOBS at a
# time, from BUILD's compile_commands.json. Headers under src/ are checked through the files that
# include them. Any finding fails, named as FILE:LINE:COL: warning: ... [check].
# Files after JOBS narrow it: scripts/lint.sh build 2 $(git diff --name-only main -- 'src/*.cpp')
set -euo pipefail
build=${1:?usage: lint.sh BUILD_DIR [JOBS [FILE...]]}
jobs=${2:-2}
shift $(($# < 2 ? $# : 2))
cd "$(dirname "$0")/.."
if [ ! -f "$build/compile_commands.json" ]; then
  echo "lint: $build/compile_commands.json is missing: configure the build first (make build)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  listed=$(git ls-files 'src/*.cpp')
  mapfile -t files <<<"$listed"
fi
# run-clang-tidy takes regular expressions over the database's absolute paths: each file must
# be in the database, or it would be skipped without a word.
for f in "${files[@]}"; do
  if [ -z "$f" ] || ! grep -qF "\"file\": \"$PWD/$f\"" "$build/compile_commands.json"; then
    echo "lint: '$f' is not a source file of $build/compile_commands.json (name *.cpp files relative to the repository; reconfigure the build after adding one)" >&2
    exit 2
  fi
done
echo "lint: clang-tidy $(clang-tidy --version | sed -n 's/.*version \([0-9.]*\).*/\1/p') over ${#files[@]} files, $jobs at a time (about 4 min on 2 cores)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
status=0
run-clang-tidy -quiet -p "$build" -j "$jobs" "${files[@]/#/^$PWD/}" >"$log" 2>&1 || status=$?
findings=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E ': (warning|error): ' | sort -u || true)
if [ -n "$findings" ] || [ "$status" -ne 0 ]; then
  if [ -n "$findings" ]; then printf '%s\n' "$findings"; else tail -n 40 "$log"; fi
  echo "lint: FAILED: $(printf '%s' "$findings" | grep -c . || true) finding(s) in $((SECONDS - start)) s"
  exit 1
fi
echo "lint: ok, no finding in ${#files[@]} files ($((SECONDS - start)) s)"
