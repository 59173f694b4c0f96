#!/usr/bin/env bash
# Scaling the fleet mid-run loses nothing and charges nothing twice:
# a second preview-worker joins while renders are in flight (cooperative-sticky:
# partitions move incrementally), then the first one is stopped with SIGTERM
# (revocation + drain, exit 0). Every job reaches its verdict; Redis's spend equals
# one charge per render.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init rebalance

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "slowish", "max_latency_ms": 2000, "max_inflight": 32},
    "production": {"model": "slowish", "max_latency_ms": 2000}
  },
  "models": {
    "slowish": {"price_usd": 0.01, "latency_p50_ms": 400, "latency_p99_ms": 1200,
      $NO_MISTAKES}
  },
  "kafka": {"session_timeout_ms": 6000}
}
JSON
one_budget_window 3600 90 # Redis spend of the 1h window vs the verdicts' charges
start_stack "$STACK_DIR/config.json"
start_bg preview-a "$BIN/preview-worker"; FIRST=$LAST_PID
start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

N=150
: >"$STACK_DIR/jobs.jsonl"
for i in $(seq 1 $N); do
  echo "{\"job_id\":\"rb-$i\",\"asset_class\":\"thumbnail\",\"prompt\":\"Shot\",\"text\":[\"LOT $i\"]}" >>"$STACK_DIR/jobs.jsonl"
done
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" >/dev/null
wait_for grep -q '"event":"partitions_assigned"' "$STACK_DIR/preview-a.log"
sleep 1
start_bg preview-b "$BIN/preview-worker"; SECOND=$LAST_PID
wait_for grep -q '"event":"partitions_assigned"' "$STACK_DIR/preview-b.log"
sleep 2
kill -TERM "$FIRST"
rc=0; wait "$FIRST" || rc=$?
[ "$rc" -eq 0 ] || fail "the first preview-worker exited $rc after SIGTERM"
grep -q '"event":"partitions_revoked"' "$STACK_DIR/preview-a.log" || fail "no revocation logged"
grep -q '"protocol":"cooperative"' "$STACK_DIR/preview-b.log" || fail "the group is not cooperative"

for _ in $(seq 1 60); do
  "$BIN/pressctl" results --timeout 15 --jsonl "$STACK_DIR/all.jsonl" >"$STACK_DIR/results.txt"
  [ "$(grep -c '"job_id":"rb-' "$STACK_DIR/all.jsonl")" -ge $N ] && break
  sleep 1
done
"$BIN/pressctl" budget show --json >"$STACK_DIR/budget.json"
/usr/bin/python3 - "$STACK_DIR" "$N" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
jobs = {o["job_id"]: o for o in map(json.loads, open(f"{d}/all.jsonl")) if o["job_id"].startswith("rb-")}
missing = sorted(set(f"rb-{i}" for i in range(1, n + 1)) - set(jobs))
assert not missing, f"lost: {missing}"
assert all(o["verdict"] == "accepted" for o in jobs.values())
tiers = {t["tier"]: t for t in json.load(open(f"{d}/budget.json"))["tiers"]}
assert tiers["preview"]["spent_micros"] == n * 10000, tiers["preview"]
print(f"ok: {n}/{n} jobs through a join and a leave; preview spend {tiers['preview']['spent_micros']} == one charge per job")
PY
# Only what was in flight at a hand-over may be redelivered: at most one window
# (max_inflight 32) per rebalance.
dups=$(sed -n 's/.*deduplicated by job_id): \([0-9]*\).*/\1/p' "$STACK_DIR/results.txt")
[ "${dups:-0}" -le 64 ] || fail "$dups duplicate verdicts: more than what was in flight was redelivered"
echo "ok: ${dups:-0} duplicate verdict(s) after two rebalances"
