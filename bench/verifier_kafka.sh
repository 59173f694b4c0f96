#!/usr/bin/env bash
# bench/verifier_kafka.sh — verifier-worker throughput through Kafka, one process:
# a backlog of N verify tasks (rendered once by a preview-worker against an instant,
# prerendered endpoint), then a verifier-worker started on it, timed until N verdicts
# (pipeline_bench drain). Once with the defaults, once with --max-inflight 200, each
# with a fresh consumer group on the same backlog. Prints one row each (bench/lib.sh):
# images/s and the worker's CPU ms per image, from the end of its start-up, with Redis's; no endpoint is involved. Run alone it ends with the table;
# from bench/run.sh its rows join that run's ($BENCH_ROWS).
set -euo pipefail
source "$(dirname "$0")/../tests/lib.sh"
stack_init verifier-bench
standalone=true; [ -n "${BENCH_ROWS:-}" ] && standalone=false
source "$ROOT/bench/lib.sh"
B="$ROOT/$BUILD/bench"
N=${VERIFY_JOBS:-600}
cfg() { # GROUP_PREFIX
  cat <<JSON
{"tiers": {"preview": {"model": "instant", "max_latency_ms": 1000, "max_inflight": 256, "cap_usd": 0},
           "production": {"model": "instant", "max_latency_ms": 1000, "cap_usd": 0}},
 "models": {"instant": {"provider": "raw", "price_usd": 0.002, "latency_p50_ms": 0, "latency_p99_ms": 0,
                        "prerendered": true, $NO_MISTAKES}},
 "kafka": {"session_timeout_ms": 6000, "group_prefix": "$1"}}
JSON
}
cfg "fill." >"$STACK_DIR/fill.json"
export PRESSROOM_CONFIG="$STACK_DIR/fill.json" PRESSROOM_BLOBS="file://$STACK_DIR/blobs"
start_broker
start_redis
start_renderer "$PRESSROOM_CONFIG"
start_bg preview "$BIN/preview-worker"; P=$LAST_PID
"$B/pipeline_bench" throughput --jobs "$N" --topic verify | tail -n 1 | sed 's/^/backlog: /'
kill -TERM "$P"; wait "$P" 2>/dev/null || true
for mode in default tuned; do
  cfg "$mode." >"$STACK_DIR/$mode.json"
  args=() config=default
  [ "$mode" = tuned ] && args=(--max-inflight 200) config="tuned: --max-inflight 200"
  export PRESSROOM_CONFIG="$STACK_DIR/$mode.json"
  start_bg "verifier-$mode" "$BIN/verifier-worker" "${args[@]}"; V=$LAST_PID
  # Its start-up (OCR pool, blob store, Redis) is done when it logs worker_started,
  # seconds before the group assigns it the backlog's partitions: the row's CPU from here.
  wait_for grep -q '"worker_started"' "$STACK_DIR/verifier-$mode.log"
  bench_row "verifier-worker through Kafka, 1 process" "$config" "$V" "" \
    "$B/pipeline_bench" drain --jobs $((N + 1))
  kill -TERM "$V"; wait "$V" 2>/dev/null || true
done
! $standalone || bench_table
