#!/usr/bin/env bash
# tests/run.sh [unit|integration] — runs the unit test binaries (cmocka) and the
# integration scripts (tests/integration/test_*.sh), then prints one closing line
# "N passed, N failed". Exit status 1 when anything failed.
set -u
: "${BUILD:=build}"
cd "$(dirname "$0")/.."
what=${1:-all}
passed=0; failed=0; failures=()
export OMP_THREAD_LIMIT=1

run_one() {
  local name=$1; shift
  local log; log=$(mktemp)
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed+1)); echo "ok    $name ($((SECONDS-t0))s)"
  else
    failed=$((failed+1)); failures+=("$name"); echo "FAIL  $name ($((SECONDS-t0))s)"
    # The reason first (it may sit above the service logs a failed run dumps), then the tail.
    grep -E '^FAIL:|Traceback|Error:|assert' "$log" | grep -v '"level"' | head -n 10 | sed 's/^/    ! /'
    tail -n 40 "$log" | sed 's/^/    | /'
  fi
  rm -f "$log"
}

if [ "$what" = all ] || [ "$what" = unit ]; then
  for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
  done
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
  for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "integration/$(basename "$t" .sh)" env BUILD="$BUILD" bash "$t"
  done
fi
echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
