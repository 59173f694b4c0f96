#!/usr/bin/env bash
# pressctl replay on the embedded stack: a time range of 500 jobs (with jobs just before
# and just after the range, which must not be replayed) is replayed twice into the
# backfill lane: both times nothing is rendered, charged or given a verdict (each
# revision is decided already: job_already_decided). With --force-rerender every job of
# the range renders once more under a new revision, is charged once more (under
# tiers.backfill: the live tier's spend does not move) and gets exactly one new verdict.
# The replayed messages carry pressroom-replayed-from-* headers; a replay of the results
# topic finds the job of a verdict on the jobs topic.
# Jobs are produced with kcat; spend is read from Redis (pressctl budget show), verdicts
# straight off the topics (kcat).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init replay

N=500
cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "clean_preview", "max_latency_ms": 800},
    "production": {"model": "clean_final", "max_latency_ms": 2200},
    "backfill": {"cap_usd": 100, "share": 0.5}
  },
  "models": {
    "clean_preview": {"price_usd": 0.02, "latency_p50_ms": 20, "latency_p99_ms": 60, $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 30, "latency_p99_ms": 80, $NO_MISTAKES}
  },
  "asset_classes": {"thumbnail": {"route": "preview", "over_budget": "reject"}},
  "kafka": {"session_timeout_ms": 6000}
}
JSON
one_budget_window 3600 300
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker"
start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
job_line() { printf '%s\t{"job_id":"%s","asset_class":"thumbnail","prompt":"A card","text":["CARD %s"]}\n' "$1" "$1" "$2"; }
spend() { # the spend of tier $1 in micro-dollars
  "$BIN/pressctl" budget show --json | python3 -c 'import json,sys; print({t["tier"]: t["spent_micros"] for t in json.load(sys.stdin)["tiers"]}.get(sys.argv[1], 0))' "$1"
}
verdicts() { # every verdict of the test's jobs: "job_id revision cost lane"
  for t in results rejected; do
    kcat -C -b "$PRESSROOM_BROKERS" -t "pressroom.$t" -e -q -f '%s\n' 2>/dev/null
  done | python3 -c 'import json,sys
for l in sys.stdin:
    o = json.loads(l)
    if o["job_id"].startswith(("rp-", "early-", "late-")):
        print(o["job_id"], o.get("revision", "-"), o["cost_micros"], o.get("lane", "live"))'
}
decided() { grep -c '"event":"job_already_decided"' "$STACK_DIR/preview.log" || true; }
wait_verdicts() { # wait until there are $1 verdicts
  for _ in $(seq 1 240); do [ "$(verdicts | wc -l)" -ge "$1" ] && return 0; sleep 0.5; done
  fail "expected $1 verdicts, have $(verdicts | wc -l)"
}

# Jobs before the range, the range, jobs after it; a second between them, so the
# producer's timestamps (kcat's) separate them.
for i in 1 2 3; do job_line "early-$i" "$i"; done | kafka_put pressroom.jobs
sleep 1.2
from=$(now_ms)
for i in $(seq 1 $N); do job_line "rp-$i" "$i"; done | kafka_put pressroom.jobs
sleep 1.2
to=$(now_ms)
for i in 1 2 3; do job_line "late-$i" "$i"; done | kafka_put pressroom.jobs
wait_verdicts $((N + 6))
sleep 2
v0=$(verdicts | wc -l)
[ "$v0" = $((N + 6)) ] || fail "expected one verdict per job, have $v0"
live0=$(spend preview)
[ "$live0" -gt 0 ] || fail "the live run charged nothing"
[ "$(spend backfill)" = 0 ] || fail "the backfill tier spent before any replay: $(spend backfill)"
echo "ok: $((N + 6)) jobs decided, preview spend $live0"

# A dry run counts and samples, publishes nothing.
"$BIN/pressctl" replay --topic jobs --from "$from" --to "$to" --dry-run >"$STACK_DIR/dry.txt"
grep -q "^selected $N job(s)" "$STACK_DIR/dry.txt" || { cat "$STACK_DIR/dry.txt"; fail "dry run: expected $N jobs selected"; }
grep -q '^sample: rp-' "$STACK_DIR/dry.txt" || fail "dry run printed no sample"
[ "$(kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.backfill -e -q -f '%k\n' 2>/dev/null | grep -c . || true)" = 0 ] ||
  fail "the dry run published"

# Twice the same range: nothing rendered, charged or decided again.
for run in 1 2; do
  before=$(decided)
  "$BIN/pressctl" replay --topic jobs --from "$from" --to "$to" >"$STACK_DIR/replay$run.txt" 2>"$STACK_DIR/replay$run.err"
  grep -q "^selected $N job(s)" "$STACK_DIR/replay$run.txt" || { cat "$STACK_DIR/replay$run.txt"; fail "replay $run: expected $N jobs selected"; }
  grep -q "^published $N job(s) to pressroom.backfill" "$STACK_DIR/replay$run.txt" || { cat "$STACK_DIR/replay$run.txt"; fail "replay $run: not published"; }
  for _ in $(seq 1 120); do [ "$(($(decided) - before))" -ge $N ] && break; sleep 0.5; done
  [ "$(($(decided) - before))" = $N ] || fail "replay $run: $(($(decided) - before)) of $N copies ended as already decided"
  sleep 2 # anything it wrongly started would have finished
  [ "$(verdicts | wc -l)" = "$v0" ] || fail "replay $run yielded new verdicts: $(verdicts | wc -l) vs $v0"
  [ "$(spend preview)" = "$live0" ] || fail "replay $run charged the live tier: $(spend preview) vs $live0"
  [ "$(spend backfill)" = 0 ] || fail "replay $run charged the backfill tier: $(spend backfill)"
  echo "ok: replay $run of the range cost \$0 and yielded no verdict"
done
headers=$(kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.backfill -e -q -c 1 -f '%h' 2>/dev/null)
for h in topic=pressroom.jobs partition= offset= time=; do
  [[ "$headers" == *"pressroom-replayed-from-$h"* ]] || fail "replayed message lacks pressroom-replayed-from-$h: $headers"
done

# --force-rerender: every job of the range once more, under a new revision.
"$BIN/pressctl" replay --topic jobs --from "$from" --to "$to" --force-rerender >"$STACK_DIR/force.txt"
grep -q "^published $N job(s) to pressroom.backfill, each with a new revision" "$STACK_DIR/force.txt" || { cat "$STACK_DIR/force.txt"; fail "force: not published"; }
replay_id=$(sed -n 's/^replay \([0-9a-f]*\):.*/\1/p' "$STACK_DIR/force.txt")
wait_verdicts $((v0 + N))
sleep 2
verdicts >"$STACK_DIR/verdicts.txt"
python3 - "$STACK_DIR/verdicts.txt" "$N" "$replay_id" "$(spend backfill)" <<'PY'
import collections, sys
path, n, rid, backfill_spend = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rows = [l.split() for l in open(path)]
new = [r for r in rows if r[1].endswith(".r" + rid)]
per_job = collections.Counter(r[0] for r in new)
assert len(new) == n and len(per_job) == n, (len(new), len(per_job))
assert all(j.startswith("rp-") for j in per_job), [j for j in per_job if not j.startswith("rp-")]
assert all(r[3] == "backfill" for r in new), "a rerendered verdict is not in the backfill lane"
old = {r[0]: int(r[2]) for r in rows if not r[1].endswith(".r" + rid)}
cost = sum(int(r[2]) for r in new)
assert all(int(r[2]) > 0 for r in new), "a rerender was not charged"
assert cost == backfill_spend, f"rerender charges {cost} != backfill spend {backfill_spend}"
# (Not equal to the first run's cost in general: a slow machine times a render out and
# escalates it, so the same job may cost more one time than the other.)
assert all(j in old for j in per_job), "a rerendered job has no first verdict"
print(f"ok: --force-rerender: {n} new revisions, one verdict each, charged {cost} micro-dollars to tiers.backfill")
PY
[ "$(spend preview)" = "$live0" ] || fail "the rerender charged the live tier: $(spend preview) vs $live0"

# The results topic: a verdict's job is found on the jobs topic by (job_id, revision).
"$BIN/pressctl" replay --topic results --job-id rp-7 --dry-run >"$STACK_DIR/results.txt"
grep -q '^selected 2 job(s).* 0 not found' "$STACK_DIR/results.txt" || { cat "$STACK_DIR/results.txt"; fail "results replay: expected both revisions of rp-7 found"; }
grep -q '^sample: rp-7 revision r[0-9a-f]* class thumbnail from pressroom.results' "$STACK_DIR/results.txt" || { cat "$STACK_DIR/results.txt"; fail "results replay: no sample of rp-7"; }
echo "ok: a replay of the results topic finds each verdict's job"
