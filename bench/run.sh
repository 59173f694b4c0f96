#!/usr/bin/env bash
# bench/run.sh — `make bench`: figures, not pass/fail timings. Every row prints its
# figure and what it cost (bench/lib.sh): the worker process's CPU ms per job, the model
# endpoint's and Redis's CPU over the row, the load average, and whether the worker ran
# with its defaults ("default") or with overrides ("tuned: ..."). A summary table of all
# rows ends the run.
#   1. admission decisions/s at 1, 4 and 8 processes (admit + settle pairs, real
#      redis-server), next to redis-benchmark running the admit script itself (EVALSHA
#      of the call the bench made, fresh job ids) at 8 connections: Redis's ceiling here
#   2. the model client alone, one process, against nginx (instant and 800 ms)
#   3. preview-worker jobs/s against nginx serving a fixed PNG (bench/lib.sh
#      start_nginx): 800 ms and instant, 1 and N (= nproc) processes, defaults; 800 ms
#      from one process tuned (a wider window); instant into s3rver (a floor)
#   4. verifier-worker images/s through Kafka, defaults and tuned (bench/verifier_kafka.sh)
#   5. end to end at a fixed offered load for 60 s, default config: p50/p95/p99 and the
#      terminal rate (the reference renderer as the endpoint: the verifier must read the
#      words each job asked for), peak RSS per worker
#   6. live jobs' p50/p95 at a fixed offered load alone, then beside a 5,000-job
#      backfill dumped on pressroom.backfill, and the p95 ratio (target <= 1.2)
# Everything runs on loopback; every process started is stopped at the end. About 8 min.
set -euo pipefail
source "$(dirname "$0")/../tests/lib.sh"
stack_init bench
source "$ROOT/bench/lib.sh"
B="$ROOT/$BUILD/bench"
N=$(cores)
SUMMARY="$STACK_DIR/summary.txt"
: >"$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }
peak_rss() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$1/status" 2>/dev/null || echo "?"; }
echo "make bench: $(date -u '+%F %H:%M UTC'), $N cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start"

start_broker
start_redis

echo; echo "== 1. admission control (Redis) =="
ADM_S=${ADMISSION_SECONDS:-3}
# admission_row PROCS: admission_bench's admit+settle pairs from PROCS processes on the
# stack's redis-server; the row's "jobs" are decisions (budget calls answered).
admission_row() {
  local procs=$1 out="$STACK_DIR/admission$1.txt" w0 r0 w1 r1 line dec
  w0=$(children_ticks) r0=$(cpu_ticks "$REDIS_PID")
  "$B/admission_bench" --seconds "$ADM_S" --procs-only --procs "$procs" >"$out"
  w1=$(children_ticks) r1=$(cpu_ticks "$REDIS_PID")
  line=$(tail -n 1 "$out")
  dec=$(awk -v s="$ADM_S" '{for (i = 1; i < NF; i++) if ($(i + 1) == "decisions/s") printf "%.0f", $i * s}' <<<"$line")
  local what="$procs processes"; [ "$procs" -gt 1 ] || what="1 process"
  bench_record "admission, $what (admit+settle)" default "$(sed 's/  */ /g' <<<"$line")" "${dec:-0}" \
    $((w1 - w0)) 0 $((r1 - r0))
}
for p in 1 4 8; do admission_row "$p"; done
# The ceiling: the admit call admission_bench makes, caught with MONITOR, replayed by
# redis-benchmark with a fresh job id per call (__rand_int__), 8 connections. Redis
# runs scripts one at a time on one core, so this is what the fleet can get from it.
mon="$STACK_DIR/monitor.txt"
timeout 5 redis-cli -p "$REDIS_PORT" monitor >"$mon" &
MON_PID=$!
sleep 0.3
"$B/admission_bench" --seconds 0.2 --procs-only --procs 1 >/dev/null
kill -TERM "$MON_PID" 2>/dev/null; wait "$MON_PID" 2>/dev/null || true
mapfile -d '' ADMIT < <(python3 - "$mon" <<'PY'
import re, shlex, sys
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r'^[0-9.]+ \[\d+ [^\]]+\] (.*)$', line.strip())
    if not m or not m.group(1).startswith('"EVALSHA"'):
        continue
    args = shlex.split(m.group(1))
    if int(args[2]) >= 1 and ":d:" in args[3]:   # the admit: its first key is the decision's
        job = re.search(r":d:([^:]+):", args[3]).group(1)
        args = [a.replace(job, "rb-__rand_int__") for a in args]
        sys.stdout.write("\0".join(args) + "\0")
        break
PY
)
if [ ${#ADMIT[@]} -gt 3 ]; then
  RB_N=${REDIS_BENCH_CALLS:-100000}
  for c in 1 8; do
    r0=$(cpu_ticks "$REDIS_PID"); w0=$(children_ticks)
    rb=$(redis-benchmark -p "$REDIS_PORT" -c "$c" -n "$RB_N" -r 1000000000 -q "${ADMIT[@]}" 2>&1 | tr '\r' '\n' | grep -o "[0-9.]* requests per second.*" | tail -n 1)
    r1=$(cpu_ticks "$REDIS_PID"); w1=$(children_ticks)
    bench_record "redis-benchmark: the admit script, $c connection$([ "$c" -gt 1 ] && echo s)" "ceiling" "${rb:-no figure}" "$RB_N" \
      $((w1 - w0)) 0 $((r1 - r0))
  done
else
  note "redis-benchmark: not run (could not catch the admit call with MONITOR)"
fi
# The ceiling's admits hold leases that expire unsettled in 60 s: the next admits would
# sweep them (and charge their worst cases) inside the rows below. A clean slate.
redis-cli -p "$REDIS_PORT" flushall >/dev/null

echo; echo "== 2. model client alone, one process, against nginx =="
cat >"$STACK_DIR/client.json" <<'JSON'
{"tiers": {"preview": {"model": "static", "max_latency_ms": 1000}},
 "models": {"static": {"provider": "raw", "latency_p50_ms": 0, "latency_p99_ms": 0, "prerendered": true}}}
JSON
static_png "$STACK_DIR/static.png" "$STACK_DIR/client.json" static
start_nginx "$STACK_DIR/static.png"
bench_row "model client, instant" "tuned: 256 in flight" CMD "$(nginx_pids)" \
  "$B/model_client_bench" --config "$STACK_DIR/client.json" --model static --url "$NGINX_INSTANT" --inflight 256 --requests "${REQUESTS_FAST:-20000}"
bench_row "model client, 800 ms" "tuned: 1024 in flight" CMD "$(nginx_pids)" \
  "$B/model_client_bench" --config "$STACK_DIR/client.json" --model static --url "$NGINX_DELAYED" --inflight 1024 --requests "${REQUESTS_SLOW:-5120}"

echo; echo "== 3. preview-worker throughput against nginx =="
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
# run_preview NAME URL PROCS JOBS INFLIGHT|default [BLOB_ROOT]
# The tier's max_latency_ms is 2000 (a reply in 800 ms leaves room for a loaded machine):
# a job past its deadline escalates to production and never reaches verify, and a row
# of timeouts would measure the machine's load, not the worker.
run_preview() {
  local name=$1 url=$2 procs=$3 jobs=$4 inflight=$5 root=${6:-} window="" config=default
  if [ "$inflight" != default ]; then window=", \"max_inflight\": $inflight"; config="tuned: max_inflight $inflight"; fi
  cat >"$STACK_DIR/$name.json" <<JSON
{"tiers": {"preview": {"model": "static", "max_latency_ms": 2000, "cap_usd": 0$window},
           "production": {"model": "static", "max_latency_ms": 2000, "cap_usd": 0}},
 "models": {"static": {"provider": "raw", "price_usd": 0.002, "latency_p50_ms": 0, "latency_p99_ms": 0}},
 "kafka": {"session_timeout_ms": 6000}}
JSON
  export PRESSROOM_CONFIG="$STACK_DIR/$name.json" PRESSROOM_BLOBS=${root:-"file://$BLOB_BASE/blobs-$name"}
  export PRESSROOM_RENDERER=$url
  [ -z "$root" ] || sed -i "s|^{|{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\"}, |" "$PRESSROOM_CONFIG"
  local pids=() i
  for ((i = 0; i < procs; i++)); do start_bg "preview-$name-$i" "$BIN/preview-worker"; pids+=("$LAST_PID"); done
  local what="$procs process"; [ "$procs" -gt 1 ] && what="$procs processes"
  # Every process in the group before the clock starts (pipeline_bench's warm-up job
  # needs only one): a rebalance inside the row would measure the group's join.
  for ((i = 0; i < procs; i++)); do
    for _ in $(seq 1 300); do grep -q '"partitions_assigned"' "$STACK_DIR/preview-$name-$i.log" && break; sleep 0.1; done
  done
  bench_row "preview-worker, $name, $what" "$config" "${pids[*]}" "$(nginx_pids)" \
    "$B/pipeline_bench" throughput --jobs "$jobs" --topic verify
  note "peak RSS, preview-worker $name ($what, $config): $(for p in "${pids[@]}"; do peak_rss "$p"; done | paste -sd' ')"
  local esc
  esc=$(cat "$STACK_DIR/preview-$name-"*.log | grep -c '"job_escalated"' || true)
  [ "$esc" -eq 0 ] || note "  $esc jobs escalated instead of reaching verify (deadline or breaker: $STACK_DIR/preview-$name-*.log)"
  kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  rm -rf "${BLOB_BASE:?}/blobs-$name"
}
SLOW_JOBS=${SLOW_JOBS:-3000} FAST_JOBS=${FAST_JOBS:-12000}
run_preview "800ms" "$NGINX_DELAYED" 1 "$SLOW_JOBS" default
run_preview "800ms" "$NGINX_DELAYED" "$N" "$SLOW_JOBS" default
run_preview "800ms" "$NGINX_DELAYED" 1 $((SLOW_JOBS * 2)) "${TUNED_INFLIGHT:-1024}"
run_preview "instant" "$NGINX_INSTANT" 1 "$FAST_JOBS" default
run_preview "instant" "$NGINX_INSTANT" "$N" "$FAST_JOBS" default
start_s3 bench
run_preview "instant-s3rver" "$NGINX_INSTANT" 1 "${S3_JOBS:-2000}" default s3://bench/run
kill -TERM "$S3_PID"; wait "$S3_PID" 2>/dev/null || true
unset PRESSROOM_BLOBS PRESSROOM_RENDERER

echo; echo "== 4. verifier-worker through Kafka, one process =="
BUILD=$BUILD bash "$ROOT/bench/verifier_kafka.sh" 2>/dev/null | grep -v '"level"'

echo; echo "== 5. end to end at a fixed offered load, default config =="
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
RATE=${RATE:-20}
bench_row "end to end, $RATE jobs/s offered for ${SECONDS_AT_RATE:-60} s, 3 workers" default "$P1 $P2 $P3" "$RENDERER_PID" \
  "$B/pipeline_bench" latency --rate "$RATE" --seconds "${SECONDS_AT_RATE:-60}"
note "peak RSS: preview-worker $(peak_rss $P1), verifier-worker $(peak_rss $P2), production-worker $(peak_rss $P3)"

echo; echo "== 6. live latency beside a backfill =="
# The same stack with tiers.backfill uncapped (so the lane renders all of it, nothing is
# rejected over budget), the workers restarted on it. Live jobs at the fixed rate for
# BACKFILL_SECONDS alone, then the same with BACKFILL_JOBS dumped on the lane at the start.
kill -TERM $P1 $P2 $P3; wait $P1 $P2 $P3 2>/dev/null || true
sed 's/"production": {/"backfill": {"cap_usd": 0},\n           "production": {/' "$STACK_DIR/pipeline.json" >"$STACK_DIR/lane.json"
export PRESSROOM_CONFIG="$STACK_DIR/lane.json"
start_bg l-preview "$BIN/preview-worker";       P1=$LAST_PID
start_bg l-verifier "$BIN/verifier-worker";     P2=$LAST_PID
start_bg l-production "$BIN/production-worker"; P3=$LAST_PID
LANE_RATE=${LANE_RATE:-$RATE} LANE_S=${BACKFILL_SECONDS:-40}
bench_row "live alone, $LANE_RATE jobs/s for $LANE_S s" "tuned: tiers.backfill uncapped" "$P1 $P2 $P3" "$RENDERER_PID" \
  "$B/pipeline_bench" latency --rate "$LANE_RATE" --seconds "$LANE_S"
bench_row "live beside ${BACKFILL_JOBS:-5000} backfill jobs" "tuned: tiers.backfill uncapped" "$P1 $P2 $P3" "$RENDERER_PID" \
  "$B/pipeline_bench" latency --rate "$LANE_RATE" --seconds "$LANE_S" --backfill "${BACKFILL_JOBS:-5000}"
p95() { sed -n 's/.*p95 \([0-9]*\) ms.*/\1/p' <<<"$1"; }
a=$(p95 "$(tail -n 2 "$BENCH_ROWS" | head -n 1 | cut -f3)") b=$(p95 "$(tail -n 1 "$BENCH_ROWS" | cut -f3)")
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -gt 0 ]; then
  note "live p95 with/without backfill: $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}') ($b ms / $a ms; target <= 1.2)"
else
  note "live p95 with/without backfill: not measured (alone: ${a:-?}, beside: ${b:-?})"
fi
kill -TERM $P1 $P2 $P3; wait $P1 $P2 $P3 2>/dev/null || true

echo; echo "== summary ($(date -u '+%F %H:%M UTC'), $N cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end) =="
bench_table
cat "$SUMMARY"
