#!/usr/bin/env bash
# bench/instr_bench.sh — instructions per job for the preview stage's own CPU work and
# the verifier's PNG decode, counted by callgrind (stable on a shared machine, unlike
# wall time). Replies are real: one 768x512 image per provider dialect from the
# reference renderer. Prints one row per part: instructions per call (inclusive).
#   BUILD=build JOBS=20 bash bench/instr_bench.sh
set -euo pipefail
: "${BUILD:=build}" "${JOBS:=20}"
source "$(dirname "$0")/../tests/lib.sh"
stack_init instr-bench
command -v valgrind >/dev/null || { echo "instr_bench: valgrind is not installed (scripts/install-deps.sh bench group)" >&2; exit 1; }
start_renderer "$ROOT/examples/providers.json"
mkdir -p "$STACK_DIR/replies"
"$ROOT/$BUILD/bench/instr_bench" capture --url "$PRESSROOM_RENDERER" --out "$STACK_DIR/replies" >"$STACK_DIR/capture.txt"
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=bench_jobs --callgrind-out-file="$STACK_DIR/cg.out" \
  "$ROOT/$BUILD/bench/instr_bench" run --replies "$STACK_DIR/replies" --jobs "$JOBS" \
  --blobs "file://$STACK_DIR/blobs" >"$STACK_DIR/run.txt" 2>"$STACK_DIR/valgrind.log" ||
  { cat "$STACK_DIR/valgrind.log" >&2; exit 1; }
sed 's/^/reply /' "$STACK_DIR/capture.txt"
# Inclusive instruction counts of the bench_* functions, divided by their call counts.
callgrind_annotate --inclusive=yes --threshold=100 "$STACK_DIR/cg.out" 2>/dev/null |
  awk -v jobs="$JOBS" '
    /:(bench_(blob_write|task_encode|verify_decode)|[a-z0-9]+_parse)[ .]/ {
      n = $1; gsub(",", "", n)
      f = $0; sub(/^.*:(bench_|[a-z0-9]+_parse)/, "&", f); sub(/^.*:/, "", f); sub(/[ .].*/, "", f)
      if (!(f in per)) per[f] = n / jobs
    }
    END {
      printf "%-48s %12s\n", "part", "instr/job"
      split("openai a1111 vertex raw stability", d, " ")
      for (i = 1; i <= 5; i++) printf "%-48s %12.0f\n", "reply parse " d[i] " (JSON+base64+PNG checks)", per[d[i] "_parse"]
      printf "%-48s %12.0f\n", "blob write (file://)", per["bench_blob_write"]
      printf "%-48s %12.0f\n", "job parse + task encode", per["bench_task_encode"]
      printf "%-48s %12.0f\n", "preview stage per job (a1111 768x512 reply)", per["a1111_parse"] + per["bench_blob_write"] + per["bench_task_encode"]
      printf "%-48s %12.0f\n", "verifier PNG decode per image", per["bench_verify_decode"]
    }'
