#!/usr/bin/env bash
# drain_timeout_ms bounds the drain after SIGTERM (Kubernetes' grace period is set above
# it): a preview-worker whose render takes ~15 s stops waiting after drain_timeout_ms,
# logs drain_timeout, exits 0 without storing the unfinished input's offset, and the
# job is rendered again by the next worker.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init drain
cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "slow", "max_latency_ms": 10000, "max_inflight": 8},
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
printf 'slow-1\t{"job_id":"slow-1","asset_class":"thumbnail","prompt":"text \\"SALE\\""}\n' | kafka_put pressroom.jobs
# Wait until the render is in flight (the model takes ~15 s).
inflight() { curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^pressroom_inflight{[^}]*} 1$'; }
wait_for inflight || fail "the job never went in flight"
sleep 0.5
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
sed 's/"model": "slow", "max_latency_ms": 10000, "max_inflight": 8/"model": "fast", "max_latency_ms": 800, "max_inflight": 8/' \
  "$STACK_DIR/config.json" >"$STACK_DIR/fast.json"
PRESSROOM_CONFIG="$STACK_DIR/fast.json" start_bg preview2 "$BIN/preview-worker"
got=0
for _ in $(seq 1 60); do
  got=$(kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.verify -o beginning -e -q 2>/dev/null | grep -c '"slow-1"' || true)
  [ "$got" -ge 1 ] && break
  sleep 0.5
done
[ "$got" -ge 1 ] || fail "the abandoned job was not redelivered and rendered by the next worker"
echo "ok: the abandoned job was redelivered and rendered by the next worker"
