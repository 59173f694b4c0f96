#!/usr/bin/env bash
# The backfill lane on the embedded stack: 2,000 jobs dumped on pressroom.backfill while
# live jobs arrive at a fixed rate on pressroom.jobs.
#   - the lane's renders are admitted and charged under tiers.backfill (its own cap):
#     the live tier's spend is exactly the live jobs', whatever the backfill did, and the
#     backfill's never passes its cap (the rest is rejected over budget, as its class says);
#   - its work stays in the lane (verify.backfill, production.backfill) and its verdicts
#     say "lane": "backfill";
#   - every live job ends, accepted.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init backfill

N_BACKFILL=2000
N_LIVE=100
cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "clean_preview", "max_latency_ms": 800, "cap_usd": 10},
    "production": {"model": "clean_final", "max_latency_ms": 2200},
    "backfill": {"cap_usd": 30, "share": 0.25}
  },
  "models": {
    "clean_preview": {"price_usd": 0.02, "latency_p50_ms": 40, "latency_p99_ms": 120, $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 50, "latency_p99_ms": 120, $NO_MISTAKES}
  },
  "asset_classes": {"archive": {"route": "preview", "over_budget": "reject"}},
  "kafka": {"session_timeout_ms": 6000}
}
JSON
one_budget_window 3600 240
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker"
start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

# The backfill, all at once (kcat: nothing of ours produces it).
for i in $(seq 1 $N_BACKFILL); do
  printf 'bf-%d\t{"job_id":"bf-%d","asset_class":"archive","prompt":"Archive","text":["OLD %d"]}\n' "$i" "$i" "$i"
done | kafka_put pressroom.backfill
# Live jobs at 10 per second behind it.
for s in $(seq 0 $((N_LIVE / 10 - 1))); do
  now=$(($(date +%s%N) / 1000000))
  for i in $(seq $((s * 10 + 1)) $((s * 10 + 10))); do
    printf 'live-%d\t{"job_id":"live-%d","asset_class":"archive","prompt":"Live","text":["NEW %d"],"submitted_at_ms":%d}\n' "$i" "$i" "$i" "$now"
  done | kafka_put pressroom.jobs
  sleep 1
done

total=$((N_BACKFILL + N_LIVE))
for _ in $(seq 1 120); do
  "$BIN/pressctl" results --timeout 10 --jsonl "$STACK_DIR/all.jsonl" >/dev/null
  [ "$(grep -c '"job_id":"\(bf\|live\)-' "$STACK_DIR/all.jsonl")" -ge $total ] && break
  sleep 1
done
"$BIN/pressctl" budget show --json >"$STACK_DIR/budget.json"
lane_verify=$(kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.verify.backfill -e -q -f '%k\n' 2>/dev/null | grep -c '^bf-' || true)
live_verify_bf=$(kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.verify -e -q -f '%k\n' 2>/dev/null | grep -c '^bf-' || true)
/usr/bin/python3 - "$STACK_DIR" "$N_BACKFILL" "$N_LIVE" "$lane_verify" "$live_verify_bf" <<'PY'
import json, sys
d, nb, nl, lane_verify, live_verify_bf = sys.argv[1], *map(int, sys.argv[2:])
outs = {o["job_id"]: o for o in map(json.loads, open(f"{d}/all.jsonl"))}
live = [outs.get(f"live-{i}") for i in range(1, nl + 1)]
bf = [outs.get(f"bf-{i}") for i in range(1, nb + 1)]
assert all(live) and all(bf), f"not terminal: {sum(not o for o in live)} live, {sum(not o for o in bf)} backfill"
assert all(o["verdict"] == "accepted" and "lane" not in o for o in live), [o for o in live if o["verdict"] != "accepted"][:3]
assert all(o.get("lane") == "backfill" for o in bf), [o for o in bf if o.get("lane") != "backfill"][:2]
acc = [o for o in bf if o["verdict"] == "accepted"]
rej = [o for o in bf if o["verdict"] == "rejected"]
assert all(o["reason"] == "budget_exhausted" for o in rej), [o for o in rej if o["reason"] != "budget_exhausted"][:3]
tiers = {t["tier"]: t for t in json.load(open(f"{d}/budget.json"))["tiers"]}
pv, pd, bt = tiers["preview"], tiers["production"], tiers["backfill"]
charged = lambda outs: sum(c["usd_micros"] for o in outs for c in o["charges"])
live_pv = sum(c["usd_micros"] for o in live for c in o["charges"] if c["stage"] == "preview")
live_pd = sum(c["usd_micros"] for o in live for c in o["charges"] if c["stage"] == "production")
# The live tiers carry the live jobs' charges and nothing else: the backfill spent none of it.
assert pv["spent_micros"] == live_pv and pd["spent_micros"] == live_pd, (pv["spent_micros"], live_pv, pd["spent_micros"], live_pd)
# The lane's tier carries the backfill's charges, within its cap (a slow run may send a
# failed preview on to production: still the lane's money).
assert bt["spent_micros"] == charged(bf) <= bt["cap_micros"] == 30_000_000, (bt["spent_micros"], charged(bf))
assert bt["cap_micros"] - bt["spent_micros"] < 1_000_000, f"the lane stopped well short of its cap: {bt['spent_micros']}"
assert len(acc) + len(rej) == nb and len(rej) > 0, (len(acc), len(rej))
assert lane_verify >= len(acc) and live_verify_bf == 0, (lane_verify, live_verify_bf)
lat = sorted(o["latency_ms"] for o in live)
print(f"ok: {nb} backfill jobs ({len(acc)} accepted within the lane's $30 cap, {len(rej)} over it) beside "
      f"{nl} live jobs, all accepted (p50 {lat[len(lat) // 2]} ms, p95 {lat[int(len(lat) * 0.95) - 1]} ms); "
      f"live spend ${(pv['spent_micros'] + pd['spent_micros']) / 1e6:.2f}, backfill ${bt['spent_micros'] / 1e6:.2f}")
PY
