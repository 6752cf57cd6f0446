#!/usr/bin/env bash
# No source file under src/ passes 400 lines: a longer one is split into cohesive files, so each
# can be read whole. Names every file over the limit with its line count.
set -u
src=${1:?usage: file_length.sh SOURCE_DIR}
limit=400
failures=0
while IFS= read -r -d '' file; do
  name=${file#"$src"/}
  lines=$(wc -l <"$file")
  [ "$lines" -le "$limit" ] && continue
  echo "FAIL: $name: $lines lines, more than $limit"
  failures=$((failures + 1))
done < <(find "$src/src" -type f \( -name '*.cpp' -o -name '*.h' \) -print0 | sort -z)
if [ "$failures" -ne 0 ]; then
  echo "$failures file(s) under src/ pass $limit lines; split them by moving whole functions out"
  exit 1
fi
echo "ok: every *.cpp and *.h under src/ has at most $limit lines"
