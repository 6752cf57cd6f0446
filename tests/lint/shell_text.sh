#!/usr/bin/env bash
# Shell text is composed in src/runtime only: reconcilers plan runtime::HostCommand values, and
# the engine and the CLI hand them to HostOps. A file above runtime that quotes a shell word (or
# includes the quoting header) is named here with the line that does it.
set -u
src=${1:?usage: shell_text.sh SOURCE_DIR}
found=$(grep -rnE 'shellQuote|quotedList|#include "runtime/shell\.h"' \
  "$src/src/reconcilers" "$src/src/engine" "$src/src/cli")
status=$?
if [ "$status" -gt 1 ]; then
  echo "FAIL: grep could not read $src/src (exit $status)"
  exit 1
fi
if [ -n "$found" ]; then
  printf '%s\n' "$found" | sed "s|^$src/||; s|^|FAIL: |"
  echo "compose the step as a runtime::HostCommand (src/runtime/host_command.h) instead"
  exit 1
fi
echo "ok: no file in src/reconcilers, src/engine or src/cli composes shell text"
