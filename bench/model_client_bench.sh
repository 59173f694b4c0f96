#!/usr/bin/env bash
# bench/model_client_bench.sh — model client throughput from one process against the
# reference renderer: a prerendered 0 ms profile and a prerendered 800 ms profile.
# Targets (issue): >= 3000 requests/s at 0 ms, >= 250 requests/s at 800 ms.
set -euo pipefail
source "$(dirname "$0")/../tests/lib.sh"
stack_init model_client_bench
cat >"$STACK_DIR/config.json" <<'JSON'
{"tiers": {"preview": {"model": "instant", "max_latency_ms": 800}},
 "models": {
  "instant": {"provider": "raw", "latency_p50_ms": 0, "latency_p99_ms": 0, "prerendered": true},
  "slow800": {"provider": "raw", "latency_p50_ms": 800, "latency_p99_ms": 800, "prerendered": true}}}
JSON
start_renderer "$STACK_DIR/config.json"
B="$ROOT/$BUILD/bench/model_client_bench"
"$B" --config "$STACK_DIR/config.json" --model instant --inflight "${INFLIGHT_FAST:-256}" --requests "${REQUESTS_FAST:-20000}"
"$B" --config "$STACK_DIR/config.json" --model slow800 --inflight "${INFLIGHT_SLOW:-512}" --requests "${REQUESTS_SLOW:-2560}"
