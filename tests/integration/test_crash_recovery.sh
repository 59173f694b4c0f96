#!/usr/bin/env bash
# Nothing lost, nothing double-charged, across crashes:
#  1. renders finish out of order; preview-worker is SIGKILLed with renders in
#     flight and restarted: processing resumes from the stored watermark, every job
#     reaches its verdict, and the killed worker's budget leases expire CHARGED (its
#     requests were sent: the provider billed them);
#  2. redis-server is restarted mid-run (persistent, same port): workers fail
#     closed while it is away, resume, and no charge is lost.
# At the end Redis's spend is at least what the renderer itself drew and billed (its
# truth log, not ours), and exceeds the verdicts' charges by exactly the tier's
# charged_unsettled: the killed worker's renders, paid but never delivered.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init crash-recovery

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "slow_preview", "max_latency_ms": 2000, "max_retries": 0, "lease_ttl_s": 6, "max_inflight": 64},
    "production": {"model": "clean_final", "max_latency_ms": 2200, "max_retries": 0, "lease_ttl_s": 6}
  },
  "models": {
    "slow_preview": {"price_usd": 0.02, "latency_p50_ms": 600, "latency_p99_ms": 2500,
      $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 50, "latency_p99_ms": 100,
      $NO_MISTAKES}
  },
  "kafka": {"session_timeout_ms": 6000}
}
JSON
export REDIS_PERSIST=1
export RENDERER_TRUTH_LOG="$STACK_DIR/drawn.jsonl"
one_budget_window 3600 90 # Redis spend of the 1h window vs the verdicts' charges
start_stack "$STACK_DIR/config.json"
start_bg preview-a "$BIN/preview-worker"; VICTIM=$LAST_PID
start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

N=60
: >"$STACK_DIR/jobs.jsonl"
for i in $(seq 1 $N); do
  echo "{\"job_id\":\"crash-$i\",\"asset_class\":\"thumbnail\",\"prompt\":\"Shot\",\"text\":[\"ITEM $i\"]}" >>"$STACK_DIR/jobs.jsonl"
done
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" >/dev/null

# Kill -9 while renders are in flight (wait until the worker has admitted some).
for _ in $(seq 1 100); do
  grep -q '"event":"worker_started"' "$STACK_DIR/preview-a.log" && \
    [ "$(redis-cli -p "$REDIS_PORT" --scan --pattern '*lease*' | wc -l)" -gt 0 ] && break
  sleep 0.1
done
sleep 1
kill -KILL "$VICTIM"
echo "killed preview-worker $VICTIM with renders in flight"
start_bg preview-b "$BIN/preview-worker"

# Restart Redis mid-run.
sleep 2
redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
sleep 2
start_redis
echo "restarted redis-server on port $REDIS_PORT"

for _ in $(seq 1 90); do
  "$BIN/pressctl" results --timeout 15 --jsonl "$STACK_DIR/all.jsonl" >/dev/null
  [ "$(grep -c '"job_id":"crash-' "$STACK_DIR/all.jsonl")" -ge $N ] && break
  sleep 1
done
"$BIN/pressctl" budget show --json >"$STACK_DIR/budget.json"
/usr/bin/python3 - "$STACK_DIR" "$N" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
drawn = [json.loads(l) for l in open(f"{d}/drawn.jsonl")]
outs = [json.loads(l) for l in open(f"{d}/all.jsonl")]
jobs = {o["job_id"]: o for o in outs if o["job_id"].startswith("crash-")}
missing = sorted(set(f"crash-{i}" for i in range(1, n + 1)) - set(jobs))
assert not missing, f"jobs lost: {missing}"
bad = [(j, o["verdict"], o["reason"], o["detail"]) for j, o in jobs.items() if o["verdict"] != "accepted"]
assert not bad, bad
charged = sum(c["usd_micros"] for o in jobs.values() for c in o["charges"])
assert charged == n * 20000, f"verdicts charged {charged}, expected {n * 20000} (one preview each)"
tiers = {t["tier"]: t for t in json.load(open(f"{d}/budget.json"))["tiers"]}
pv = tiers["preview"]
billed = 20000 * sum(1 for x in drawn if "slow_preview" in json.dumps(x))
assert billed >= n * 20000, f"the renderer drew {billed // 20000} previews for {n} jobs"
assert pv["spent_micros"] >= billed, f"Redis spent {pv['spent_micros']} < what the renderer billed {billed}"
assert pv["spent_micros"] - charged == pv["charged_unsettled_micros"], pv
assert pv["reserved_micros"] == 0, pv
assert tiers["production"]["spent_micros"] == 0, tiers["production"]
print(f"ok: {n}/{n} jobs accepted after a SIGKILL and a Redis restart; the renderer billed {billed}, "
      f"Redis spent {pv['spent_micros']} (verdicts {charged} + charged for the killed worker's leases "
      f"{pv['charged_unsettled_micros']})")
PY
grep -q '"event":"redis_unavailable"' "$STACK_DIR"/preview-b.log "$STACK_DIR"/production.log 2>/dev/null \
  || echo "note: no worker happened to call Redis during its restart"
