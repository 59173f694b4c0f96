#!/usr/bin/env bash
# A model endpoint that answers garbage is a terminal reason, never a crash, and
# costs nothing: every production render of this stack gets a 200 whose body is
# not an image. Final-route jobs fall back to their verified preview ("degraded",
# reason render_failed); a production-only job is rejected after its attempts;
# no production charge is recorded; the workers keep running and drain cleanly.
# The breaker is set out of reach: with it at its default of 5, which job's last
# attempt finds it open (circuit_open, not bad_response) depends on the timing, and
# under the sanitizers it did. Breakers have their own tests.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init render-failures

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "clean_preview", "max_latency_ms": 800},
    "production": {"model": "broken_final", "max_latency_ms": 800, "max_retries": 1, "breaker_failures": 100}
  },
  "models": {
    "clean_preview": {"price_usd": 0.02, "latency_p50_ms": 20, "latency_p99_ms": 50, $NO_MISTAKES},
    "broken_final": {"price_usd": 0.06, "latency_p50_ms": 20, "latency_p99_ms": 50, $NO_MISTAKES,
                     "fault": {"kind": "garbage", "rate": 1.0}}
  },
  "asset_classes": {
    "editorial": {"route": "final", "over_budget": "degrade", "max_attempts": 3},
    "paid": {"route": "production_only", "over_budget": "reject", "max_attempts": 2}
  },
  "kafka": {"session_timeout_ms": 6000}
}
JSON
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker";       P1=$LAST_PID
start_bg verifier "$BIN/verifier-worker";     P2=$LAST_PID
start_bg production "$BIN/production-worker"; P3=$LAST_PID

cat >"$STACK_DIR/jobs.jsonl" <<'JSONL'
{"job_id":"ed-1","asset_class":"editorial","prompt":"Cover","text":["MARKETS"]}
{"job_id":"ed-2","asset_class":"editorial","prompt":"Cover","text":["WEATHER"]}
{"job_id":"ad-1","asset_class":"paid","prompt":"Banner","text":["SALE"]}
JSONL
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 120 --jsonl "$STACK_DIR/out.jsonl" >"$STACK_DIR/submit.txt"
grep -q '^terminal: 3/3 jobs' "$STACK_DIR/submit.txt" || { cat "$STACK_DIR/submit.txt"; fail "not terminal"; }
"$BIN/pressctl" budget show --json >"$STACK_DIR/budget.json"
/usr/bin/python3 - "$STACK_DIR" <<'PY'
import json, sys
d = sys.argv[1]
o = {x["job_id"]: x for x in map(json.loads, open(f"{d}/out.jsonl"))}
for j in ("ed-1", "ed-2"):
    x = o[j]
    assert x["verdict"] == "degraded" and x["reason"] == "render_failed", x
    assert x["image"].endswith("-preview-1.png") and "bad_response" in x["detail"], x
    assert x["cost_micros"] == 20000, x  # the preview only: failed renders are released
a = o["ad-1"]
assert a["verdict"] == "rejected" and a["reason"] == "render_failed" and "bad_response" in a["detail"], a
assert a["cost_micros"] == 0, a
tiers = {t["tier"]: t for t in json.load(open(f"{d}/budget.json"))["tiers"]}
assert tiers["production"]["spent_micros"] == 0 and tiers["production"]["reserved_micros"] == 0, tiers["production"]
print("ok: garbage answers ended as render_failed (degraded to the preview, or rejected), nothing charged")
PY
for pid in $P1 $P2 $P3; do
  kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "worker $pid exited $rc"
done
echo "ok: workers survived the garbage and drained cleanly"
