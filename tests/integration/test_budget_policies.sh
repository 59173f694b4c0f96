#!/usr/bin/env bash
# Over-budget policies on the embedded stack, per asset class:
#   degrade (editorial) -> the verified preview is delivered, marked "degraded"
#   reject  (paid)      -> terminal, reason budget_exhausted
#   defer   (thumbnail) -> nothing lost: jobs wait in Redis (off the partition, so a
#                          paid job sent after them is decided at once) and finish once
#                          the cap allows (here: an operator raises it)
# and the spend recorded in Redis equals what the verdicts say was charged.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init budget-policies

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "clean_preview", "max_latency_ms": 800, "cap_usd": 1.0},
    "production": {"model": "clean_final", "max_latency_ms": 2200, "cap_usd": 0.10}
  },
  "models": {
    "clean_preview": {"price_usd": 0.02, "latency_p50_ms": 30, "latency_p99_ms": 80,
      $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 50, "latency_p99_ms": 120,
      $NO_MISTAKES}
  },
  "asset_classes": {
    "thumbnail": {"route": "preview", "over_budget": "defer"},
    "editorial": {"route": "final", "over_budget": "degrade"},
    "paid": {"route": "final", "over_budget": "reject"}
  },
  "kafka": {"session_timeout_ms": 6000}
}
JSON
one_budget_window 3600 90 # Redis spend of the 1h window vs the verdicts' charges
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker"
start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

# Phase 1: 6 final-route jobs, room for one production render ($0.06 of $0.10).
: >"$STACK_DIR/final.jsonl"
for i in 1 2 3; do
  echo "{\"job_id\":\"ed-$i\",\"asset_class\":\"editorial\",\"prompt\":\"Cover\",\"text\":[\"NEWS $i\"]}" >>"$STACK_DIR/final.jsonl"
  echo "{\"job_id\":\"ad-$i\",\"asset_class\":\"paid\",\"prompt\":\"Banner\",\"text\":[\"SALE $i\"]}" >>"$STACK_DIR/final.jsonl"
done
"$BIN/pressctl" submit "$STACK_DIR/final.jsonl" --wait --timeout 120 --jsonl "$STACK_DIR/final.out" >"$STACK_DIR/final.txt"
grep -q '^terminal: 6/6 jobs' "$STACK_DIR/final.txt" || { cat "$STACK_DIR/final.txt"; fail "phase 1 not terminal"; }
"$BIN/pressctl" budget show --json >"$STACK_DIR/budget1.json"
/usr/bin/python3 - "$STACK_DIR" <<'PY'
import json, sys
d = sys.argv[1]
outs = {o["job_id"]: o for o in map(json.loads, open(f"{d}/final.out"))}
acc = [o for o in outs.values() if o["verdict"] == "accepted"]
assert len(acc) == 1 and acc[0]["stage"] == "production", [(o["job_id"], o["verdict"], o["reason"]) for o in outs.values()]
for o in outs.values():
    if o["verdict"] == "accepted":
        continue
    if o["job_id"].startswith("ed-"):
        assert o["verdict"] == "degraded" and o["reason"] == "budget_exhausted", o
        assert o["image"].endswith("-preview-1.png") and "/" + o["job_id"] + "/" + o["revision"] + "-" in o["image"], o["image"]
    else:
        assert o["verdict"] == "rejected" and o["reason"] == "budget_exhausted", o
tiers = {t["tier"]: t for t in json.load(open(f"{d}/budget1.json"))["tiers"]}
charged = {"preview": 0, "production": 0}
for o in outs.values():
    for c in o["charges"]:
        charged[c["stage"]] += c["usd_micros"]
assert tiers["production"]["spent_micros"] == charged["production"] == 60000, (tiers["production"], charged)
assert tiers["preview"]["spent_micros"] == charged["preview"] == 6 * 20000, (tiers["preview"], charged)
assert tiers["production"]["reserved_micros"] == 0 and tiers["preview"]["reserved_micros"] == 0
print("ok: degrade and reject applied; Redis spend equals the charges on the verdicts")
PY

# Phase 2: defer. Room for one more preview; the other two wait, paused, not lost.
"$BIN/pressctl" budget set preview --cap-usd 0.14 --window 1h >/dev/null
: >"$STACK_DIR/thumbs.jsonl"
for i in 1 2 3; do
  echo "{\"job_id\":\"th-$i\",\"asset_class\":\"thumbnail\",\"prompt\":\"Shot\",\"text\":[\"DEAL $i\"]}" >>"$STACK_DIR/thumbs.jsonl"
done
rc=0
"$BIN/pressctl" submit "$STACK_DIR/thumbs.jsonl" --wait --timeout 15 >"$STACK_DIR/thumbs1.txt" || rc=$?
grep -q '^terminal: 1/3 jobs' "$STACK_DIR/thumbs1.txt" || { cat "$STACK_DIR/thumbs1.txt"; fail "expected exactly one thumbnail through before the cap"; }
[ "$rc" -ne 0 ] || fail "submit --wait must fail while jobs are deferred"
grep -q '"event":"budget_deferred"' "$STACK_DIR/preview.log" || fail "no log line saying the preview tier is deferred"
# The deferred jobs wait in Redis, off the partition: a paid job sent after them is
# decided at once (rejected: its class's policy, the tier is over its cap).
echo '{"job_id":"ad-late","asset_class":"paid","prompt":"Banner","text":["LATE"]}' >"$STACK_DIR/late.jsonl"
t0=$(date +%s)
"$BIN/pressctl" submit "$STACK_DIR/late.jsonl" --wait --timeout 20 --jsonl "$STACK_DIR/late.out" >"$STACK_DIR/late.txt" ||
  { cat "$STACK_DIR/late.txt"; fail "a paid job sent after deferred ones did not finish: head-of-line blocking"; }
echo "paid job behind deferred ones: terminal in $(( $(date +%s) - t0 )) s"
grep -q '"reason":"budget_exhausted"' "$STACK_DIR/late.out" || fail "the paid job: $(cat "$STACK_DIR/late.out")"
grep -q '"event":"consumption_paused"' "$STACK_DIR/preview.log" &&
  fail "consumption paused for a deferral: $(grep consumption_paused "$STACK_DIR/preview.log" | head -2)"
deferred=$("$BIN/pressctl" budget show --json | python3 -c 'import json,sys; print({t["tier"]: t["deferred"] for t in json.load(sys.stdin)["tiers"]}["preview"])')
[ "$deferred" = 2 ] || fail "expected the 2 thumbnails waiting in the deferred store, found $deferred"
"$BIN/pressctl" budget set preview --cap-usd 1 --window 1h >/dev/null
for _ in $(seq 1 60); do
  "$BIN/pressctl" results --timeout 20 --jsonl "$STACK_DIR/all.jsonl" >/dev/null
  [ "$(grep -c '"job_id":"th-' "$STACK_DIR/all.jsonl")" -eq 3 ] && break
  sleep 1
done
[ "$(grep -c '"job_id":"th-' "$STACK_DIR/all.jsonl")" -eq 3 ] || fail "deferred thumbnails did not finish after the cap was raised"
grep '"job_id":"th-' "$STACK_DIR/all.jsonl" | grep -vq '"verdict":"accepted"' && fail "a deferred thumbnail was not accepted"
echo "ok: deferred jobs waited and finished once the cap allowed"
