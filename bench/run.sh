#!/usr/bin/env bash
# bench/run.sh — `make bench`: figures, not pass/fail timings.
#   1. admission decisions/s and Redis round trips per job (real redis-server)
#   2. model client requests/s from one process (reference renderer, prerendered)
#   3. preview-worker jobs/s from one process: against an 800 ms endpoint and an
#      instant one (targets: >= 250 and >= 3000 jobs/s), and the instant one storing
#      into s3rver (an S3-protocol server on loopback, written in node: a floor)
#   4. the whole pipeline's p50/p95/p99 at a fixed offered load, and peak RSS per worker
#   5. live jobs' p50/p95 at a fixed offered load alone, then beside a 5,000-job
#      backfill dumped on pressroom.backfill, and the p95 ratio (target <= 1.2)
#   6. verifier-worker images/s through Kafka, defaults and --max-inflight 200
# Everything runs on loopback; every process started is stopped at the end.
set -euo pipefail
source "$(dirname "$0")/../tests/lib.sh"
stack_init bench
B="$ROOT/$BUILD/bench"
SUMMARY="$STACK_DIR/summary.txt"
: >"$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }

echo "== 1. admission control (Redis) =="
"$B/admission_bench" --seconds "${ADMISSION_SECONDS:-2}" --procs 4,8 | tee "$STACK_DIR/admission.txt"

echo; echo "== 2. model client, one process =="
BUILD=$BUILD bash "$ROOT/bench/model_client_bench.sh" | tee "$STACK_DIR/client.txt"

peak_rss() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$1/status" 2>/dev/null || echo "?"; }

echo; echo "== 3. preview-worker throughput, one process =="
# Blobs go to tmpfs when there is one (BENCH_BLOBS overrides): this measures the
# worker, not the disk. On this machine's ext4 /tmp a bare C loop manages only
# ~1.2-1.7k folder+file creations/s, which would cap the instant run below 3000.
BLOB_BASE=${BENCH_BLOBS:-}
if [ -z "$BLOB_BASE" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    BLOB_BASE=$(mktemp -d /dev/shm/pressroom-bench.XXXXXX)
    trap 'rc=$?; rm -rf "$BLOB_BASE"; stack_cleanup "$rc"' EXIT
  else BLOB_BASE=$STACK_DIR; fi
fi
run_preview() { # NAME LATENCY_MS INFLIGHT JOBS [BLOB_ROOT]
  local name=$1 lat=$2 inflight=$3 jobs=$4 root=${5:-}
  cat >"$STACK_DIR/$name.json" <<JSON
{"tiers": {"preview": {"model": "$name", "max_latency_ms": 1000, "max_inflight": $inflight, "cap_usd": 0},
           "production": {"model": "$name", "max_latency_ms": 1000, "cap_usd": 0}},
 "models": {"$name": {"provider": "raw", "price_usd": 0.002, "latency_p50_ms": $lat, "latency_p99_ms": $lat,
                      "prerendered": true}},
 "kafka": {"session_timeout_ms": 6000}}
JSON
  export PRESSROOM_CONFIG="$STACK_DIR/$name.json" PRESSROOM_BLOBS=${root:-"file://$BLOB_BASE/blobs-$name"}
  [ -z "$root" ] || sed -i "s|^{|{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\"}, |" "$PRESSROOM_CONFIG"
  start_renderer "$PRESSROOM_CONFIG"
  start_bg "preview-$name" "$BIN/preview-worker"
  local pid=$LAST_PID
  local line
  line=$("$B/pipeline_bench" throughput --jobs "$jobs" --topic verify | tail -n 1)
  note "preview-worker, $name endpoint (${lat} ms, $inflight in flight, blobs in ${root:-$BLOB_BASE}): $line; peak RSS $(peak_rss "$pid")"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  kill -TERM "$RENDERER_PID"; wait "$RENDERER_PID" 2>/dev/null || true
  rm -rf "${BLOB_BASE:?}/blobs-$name"
}
start_broker
start_redis
run_preview slow800 800 1024 "${SLOW_JOBS:-4000}"
run_preview instant 0 512 "${FAST_JOBS:-20000}"
start_s3 bench
run_preview s3instant 0 512 "${S3_JOBS:-3000}" s3://bench/run
kill -TERM "$S3_PID"; wait "$S3_PID" 2>/dev/null || true
unset PRESSROOM_BLOBS

echo; echo "== 4. pipeline latency at a fixed offered load, peak RSS =="
# A fresh broker: the verify topic must not start with section 3's backlog.
kill -TERM "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
rm -f "$STACK_DIR/bootstrap"
start_broker
cat >"$STACK_DIR/pipeline.json" <<JSON
{"tiers": {"preview": {"model": "sd3.5_turbo", "max_latency_ms": 800, "cap_usd": 0},
           "production": {"model": "imagen4_ultra", "max_latency_ms": 2200, "cap_usd": 0}},
 "kafka": {"session_timeout_ms": 6000}}
JSON
export PRESSROOM_CONFIG="$STACK_DIR/pipeline.json" PRESSROOM_BLOBS="file://$STACK_DIR/blobs-pipeline"
start_renderer "$PRESSROOM_CONFIG"
start_bg p-preview "$BIN/preview-worker";       P1=$LAST_PID
start_bg p-verifier "$BIN/verifier-worker";     P2=$LAST_PID
start_bg p-production "$BIN/production-worker"; P3=$LAST_PID
"$B/pipeline_bench" latency --rate "${RATE:-20}" --seconds "${SECONDS_AT_RATE:-20}" | tail -n 1 | sed 's/^/pipeline /' | tee -a "$SUMMARY"
note "peak RSS: preview-worker $(peak_rss $P1), verifier-worker $(peak_rss $P2), production-worker $(peak_rss $P3)"

echo; echo "== 5. live latency beside a backfill =="
# The same stack with tiers.backfill uncapped (so the lane renders all of it, nothing is
# rejected over budget), the workers restarted on it. Live jobs at the fixed rate for
# BACKFILL_SECONDS alone, then the same with BACKFILL_JOBS dumped on the lane at the start.
kill -TERM $P1 $P2 $P3; wait $P1 $P2 $P3 2>/dev/null || true
sed 's/"production": {/"backfill": {"cap_usd": 0},\n           "production": {/' "$STACK_DIR/pipeline.json" >"$STACK_DIR/lane.json"
export PRESSROOM_CONFIG="$STACK_DIR/lane.json"
start_bg l-preview "$BIN/preview-worker";       P1=$LAST_PID
start_bg l-verifier "$BIN/verifier-worker";     P2=$LAST_PID
start_bg l-production "$BIN/production-worker"; P3=$LAST_PID
LANE_RATE=${LANE_RATE:-${RATE:-20}} LANE_S=${BACKFILL_SECONDS:-40}
alone=$("$B/pipeline_bench" latency --rate "$LANE_RATE" --seconds "$LANE_S" | tail -n 1)
beside=$("$B/pipeline_bench" latency --rate "$LANE_RATE" --seconds "$LANE_S" --backfill "${BACKFILL_JOBS:-5000}" | tail -n 1)
note "live alone:          $alone"
note "live beside backfill: $beside (${BACKFILL_JOBS:-5000} backfill jobs)"
p95() { sed -n 's/.*p95 \([0-9]*\) ms.*/\1/p' <<<"$1"; }
a=$(p95 "$alone") b=$(p95 "$beside")
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -gt 0 ]; then
  note "live p95 with/without backfill: $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}') ($b ms / $a ms; target <= 1.2)"
else
  note "live p95 with/without backfill: not measured (alone: ${a:-?}, beside: ${b:-?})"
fi
kill -TERM $P1 $P2 $P3; wait $P1 $P2 $P3 2>/dev/null || true

echo; echo "== 6. verifier-worker through Kafka, one process =="
BUILD=$BUILD bash "$ROOT/bench/verifier_kafka.sh" 2>/dev/null | grep -v '"level"' | tee -a "$SUMMARY"

echo; echo "== summary =="
grep -E "decisions/s|round trips|jobs/s|req/s|requests/s" "$STACK_DIR/admission.txt" "$STACK_DIR/client.txt" 2>/dev/null | sed 's/^[^:]*://' | head -20
cat "$SUMMARY"
