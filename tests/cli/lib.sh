# Shared by the CLI tests that run kthw against a real sshd: sourced after $tmp is set.
#   fail MESSAGE                       counts a failure
#   check WANT DESCRIPTION COMMAND...  runs it with stdin /dev/null, stdout in $tmp/out, stderr in
#                                      $tmp/err, both appended to $tmp/all-output; counts a
#                                      failure on another exit
#   expect_line DESCRIPTION REGEX      a line of the last stdout matches
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
check() {
  local want=$1 what=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  cat "$tmp/out" "$tmp/err" >>"$tmp/all-output"
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, want $want"
    sed 's/^/    /' "$tmp/out" "$tmp/err"
  else
    echo "ok: $what"
  fi
}
expect_line() {
  grep -Eq "$2" "$tmp/out" || { fail "$1: no line matches /$2/"; sed 's/^/    /' "$tmp/out"; }
}
