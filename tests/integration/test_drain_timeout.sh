#!/usr/bin/env bash
# drain_timeout_ms bounds the drain after SIGTERM (Kubernetes' grace period is set above
# it): a preview-worker whose renders take ~15 s stops waiting after drain_timeout_ms,
# logs drain_timeout, exits 0 without storing the unfinished inputs' offsets, and the
# jobs are rendered by the next worker. On the way, pressroom_consumer_lag counts every
# job not yet done (in flight and waiting in the worker's buffer).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init drain
cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "slow", "max_latency_ms": 10000, "max_inflight": 2},
    "production": {"model": "slow", "max_latency_ms": 10000}
  },
  "models": {"slow": {"price_usd": 0.01, "latency_p50_ms": 15000, "latency_p99_ms": 16000, $NO_MISTAKES},
             "fast": {"price_usd": 0.01, "latency_p50_ms": 50, "latency_p99_ms": 100, $NO_MISTAKES}},
  "drain_timeout_ms": 1500,
  "kafka": {"session_timeout_ms": 6000},
  "verify_ocr": false
}
JSON
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker" --metrics-listen 127.0.0.1:0; pid=$LAST_PID
wait_for grep -q '"admin_listening"' "$STACK_DIR/preview.log"
port=$(grep -o '"event":"admin_listening"[^}]*"port":"[0-9]*"' "$STACK_DIR/preview.log" | grep -o '[0-9]*"$' | tr -d '"')
for i in 1 2 3 4 5; do
  printf 'slow-%d\t{"job_id":"slow-%d","asset_class":"thumbnail","prompt":"text \\"SALE %d\\""}\n' "$i" "$i" "$i"
done | kafka_put pressroom.jobs
# Wait until the render is in flight (the model takes ~15 s).
inflight() { curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^pressroom_inflight{[^}]*} 2$'; }
wait_for inflight || fail "the job never went in flight"
sleep 0.5
# Two in flight, three waiting: all five are lag until they are done. (The brokers' high
# watermark reaches the consumer with its next fetch: on a loaded machine give it a moment.)
lag_of() { curl -sf "http://127.0.0.1:$port/metrics" | sed -n 's/^pressroom_consumer_lag{[^}]*} //p'; }
for _ in $(seq 1 50); do [ "$(lag_of)" = 5 ] && break; sleep 0.1; done
lag=$(lag_of)
[ "$lag" = 5 ] || fail "pressroom_consumer_lag is \"$lag\" with 5 jobs unfinished"
t0=$(date +%s%N)
kill -TERM "$pid"
for _ in $(seq 1 200); do gone "$pid" && break; sleep 0.05; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
gone "$pid" || fail "preview-worker still runs $ms ms after SIGTERM with drain_timeout_ms 1500"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "preview-worker exited $rc after the drain timeout"
grep -q '"drain_timeout"' "$STACK_DIR/preview.log" || fail "no drain_timeout log line: $(tail -n 5 "$STACK_DIR/preview.log")"
# 15 s of render left: stopping well before it means the configured timeout was used.
[ "$ms" -lt 9000 ] || fail "the drain took $ms ms; drain_timeout_ms is 1500"
grep -q '"inputs_abandoned"' "$STACK_DIR/preview.log" || fail "no inputs_abandoned log line"
echo "ok: SIGTERM mid-render: exit 0 after $ms ms (drain_timeout_ms 1500), drain_timeout logged"

# Nothing was stored for the abandoned job: the next worker (a fast model now) renders it.
sed 's/"model": "slow", "max_latency_ms": 10000, "max_inflight": 2/"model": "fast", "max_latency_ms": 800, "max_inflight": 8/' \
  "$STACK_DIR/config.json" >"$STACK_DIR/fast.json"
PRESSROOM_CONFIG="$STACK_DIR/fast.json" start_bg preview2 "$BIN/preview-worker"
got=0
for _ in $(seq 1 60); do
  got=$({ kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.verify -o beginning -e -q 2>/dev/null || true; } |
        { grep -o '"job_id":"slow-[0-9]"' || true; } | sort -u | wc -l)
  [ "$got" -ge 5 ] && break
  sleep 0.5
done
[ "$got" -ge 5 ] || fail "only $got of the 5 jobs were rendered by the next worker"
echo "ok: the abandoned and the buffered jobs were redelivered and rendered by the next worker"
