#!/usr/bin/env bash
# Leases cannot expire under a live request:
#  1. start-up refuses a tier's lease_ttl_s shorter than the longest request it may
#     make, with a sentence naming both keys (the issue's reproduction: a render that
#     outlives its lease lets admission overspend);
#  2. renders that take more than a third of the lease are renewed while they run
#     (pressroom_lease_renewals_total on /metrics), so no lease expires, nothing is
#     charged as unsettled and no settle comes late (pressctl budget show).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init leases

cat >"$STACK_DIR/short.json" <<JSON
{"tiers": {"preview": {"model": "sd3.5_turbo", "max_latency_ms": 4000, "max_retries": 1, "lease_ttl_s": 5}}}
JSON
rc=0
PRESSROOM_CONFIG="$STACK_DIR/short.json" PRESSROOM_REDIS=127.0.0.1:1 "$BIN/preview-worker" 2>"$STACK_DIR/short.err" || rc=$?
[ "$rc" -eq 2 ] || fail "a lease shorter than the longest request: exit $rc, expected 2"
grep -q 'tiers.preview.lease_ttl_s: expected at least [0-9]* s' "$STACK_DIR/short.err" &&
  grep -q 'tiers.preview.max_latency_ms 4000' "$STACK_DIR/short.err" ||
  fail "the refusal does not name both keys: $(cat "$STACK_DIR/short.err")"
echo "ok: a lease shorter than the longest request is refused at start: $(head -c 160 "$STACK_DIR/short.err")"

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "slow_preview", "max_latency_ms": 1300, "max_retries": 0, "lease_ttl_s": 4},
    "production": {"model": "clean_final", "max_latency_ms": 800}
  },
  "models": {
    "slow_preview": {"price_usd": 0.02, "latency_p50_ms": 2500, "latency_p99_ms": 3000, $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 20, "latency_p99_ms": 50, $NO_MISTAKES}
  },
  "kafka": {"session_timeout_ms": 6000}
}
JSON
one_budget_window 3600 30
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker" --metrics-listen 127.0.0.1:0; P1=$LAST_PID
start_bg verifier "$BIN/verifier-worker"
: >"$STACK_DIR/jobs.jsonl"
for i in $(seq 1 12); do
  echo "{\"job_id\":\"slow-$i\",\"asset_class\":\"thumbnail\",\"prompt\":\"Shot\",\"text\":[\"SLOW $i\"]}" >>"$STACK_DIR/jobs.jsonl"
done
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 90 >"$STACK_DIR/submit.txt"
grep -q '^terminal: 12/12 jobs' "$STACK_DIR/submit.txt" || { cat "$STACK_DIR/submit.txt"; fail "not terminal"; }
port=$(grep -o '"event":"admin_listening"[^}]*"port":"[0-9]*"' "$STACK_DIR/preview.log" | grep -o '[0-9]*"$' | tr -d '"')
renewed=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^pressroom_lease_renewals_total/ {s += $2} END {print s + 0}')
[ "${renewed%.*}" -gt 0 ] || fail "no lease was renewed while 2.5 s renders ran under a 4 s lease"
"$BIN/pressctl" budget show --json >"$STACK_DIR/budget.json"
/usr/bin/python3 - "$STACK_DIR/budget.json" <<'PY'
import json, sys
pv = {t["tier"]: t for t in json.load(open(sys.argv[1]))["tiers"]}["preview"]
assert pv["expired"] == 0 and pv["charged_unsettled_micros"] == 0 and pv["late_settles"] == 0, pv
assert pv["spent_micros"] == 12 * 20000, pv
PY
echo "ok: $renewed lease renewals while renders ran; no lease expired, nothing charged unsettled"
kill -TERM "$P1"; wait "$P1" || fail "preview-worker exited non-zero"
