#!/usr/bin/env bash
# Revisions on the embedded stack: a job's identity is (job_id, revision).
#   the same job sent again (the same bytes, or the same fields with a new submission
#   time)          -> nothing rendered, nothing charged, no second verdict
#   the job changed under the same job_id (another prompt)
#                  -> a new revision: rendered, charged, its own verdict and image;
#                     `pressctl results` reports the newest revision
# Spend is read from Redis (pressctl budget show), verdicts straight off the topic (kcat).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init revisions

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "clean_preview", "max_latency_ms": 800},
    "production": {"model": "clean_final", "max_latency_ms": 2200}
  },
  "models": {
    "clean_preview": {"price_usd": 0.02, "latency_p50_ms": 30, "latency_p99_ms": 80, $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 50, "latency_p99_ms": 120, $NO_MISTAKES}
  },
  "asset_classes": {"thumbnail": {"route": "preview", "over_budget": "reject"}},
  "kafka": {"session_timeout_ms": 6000}
}
JSON
one_budget_window 3600 90
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker"
start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

spent() { "$BIN/pressctl" budget show --json | python3 -c 'import json,sys; print({t["tier"]: t["spent_micros"] for t in json.load(sys.stdin)["tiers"]}["preview"])'; }
verdicts() { # verdicts of job $1 on the results topic: "revision image" per line
  kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.results -e -q -f '%k\t%s\n' 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    k, _, v = line.rstrip("\n").partition("\t")
    if k == sys.argv[1]:
        o = json.loads(v); print(o.get("revision", "-"), o["image"], [l.get("read") for l in o["report"]["checks"]["text"]] if o.get("report") else "")' "$1"
}

echo '{"job_id":"rv-1","asset_class":"thumbnail","prompt":"A poster reading \"SALE\""}' >"$STACK_DIR/v1.jsonl"
"$BIN/pressctl" submit "$STACK_DIR/v1.jsonl" --wait --timeout 60 --jsonl "$STACK_DIR/v1.out" >"$STACK_DIR/v1.txt"
grep -q '^terminal: 1/1 jobs' "$STACK_DIR/v1.txt" || { cat "$STACK_DIR/v1.txt"; fail "first revision not terminal"; }
rev1=$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["verdict"]=="accepted", o; print(o["revision"])' "$STACK_DIR/v1.out")
[ "$(spent)" = 20000 ] || fail "first revision: preview spend $(spent), expected 20000"

# The same job again, twice: once as the same bytes (kcat, nothing of ours), once through
# pressctl (a new submitted_at_ms). Both end at admission as already decided.
kafka_put pressroom.jobs <<EOF
rv-1	$(cat "$STACK_DIR/v1.jsonl")
EOF
"$BIN/pressctl" submit "$STACK_DIR/v1.jsonl" >/dev/null
for _ in $(seq 1 60); do
  [ "$(grep -c '"event":"job_already_decided"' "$STACK_DIR/preview.log")" -ge 2 ] && break
  sleep 0.5
done
[ "$(grep -c '"event":"job_already_decided"' "$STACK_DIR/preview.log")" -ge 2 ] ||
  fail "the resent job was not ended as already decided: $(grep rv-1 "$STACK_DIR/preview.log" | tail -5)"
sleep 2 # anything it wrongly started would have finished by now
[ "$(verdicts rv-1 | wc -l)" = 1 ] || fail "the same revision got another verdict: $(verdicts rv-1)"
[ "$(spent)" = 20000 ] || fail "the same revision was charged again: spend $(spent)"
echo "ok: the same job sent again is not rendered, charged or given a second verdict"

# A changed prompt under the same job_id: a new revision.
echo '{"job_id":"rv-1","asset_class":"thumbnail","prompt":"A poster reading \"SALE 2\""}' >"$STACK_DIR/v2.jsonl"
"$BIN/pressctl" submit "$STACK_DIR/v2.jsonl" --wait --timeout 60 --jsonl "$STACK_DIR/v2.out" >"$STACK_DIR/v2.txt"
grep -q '^terminal: 1/1 jobs' "$STACK_DIR/v2.txt" || { cat "$STACK_DIR/v2.txt"; fail "second revision not terminal"; }
python3 - "$STACK_DIR" "$rev1" <<'PY'
import json, sys
d, rev1 = sys.argv[1], sys.argv[2]
o = json.load(open(f"{d}/v2.out"))
assert o["verdict"] == "accepted" and o["revision"] != rev1, (o["revision"], rev1)
assert [l["read"] for l in o["report"]["checks"]["text"]] == ["SALE 2"], o["report"]
assert o["cost_micros"] == 20000, o
assert f"/rv-1/{o['revision']}-preview-1.png" in o["image"], o["image"]
PY
[ "$(spent)" = 40000 ] || fail "the new revision was not charged once: spend $(spent), expected 40000"
[ "$(verdicts rv-1 | wc -l)" = 2 ] || fail "expected one verdict per revision: $(verdicts rv-1)"
[ "$(verdicts rv-1 | cut -d' ' -f1 | sort -u | wc -l)" = 2 ] || fail "two verdicts, one revision: $(verdicts rv-1)"
"$BIN/pressctl" results --timeout 10 --jsonl "$STACK_DIR/results.out" >/dev/null
python3 - "$STACK_DIR" "$rev1" <<'PY'
import json, sys
d, rev1 = sys.argv[1], sys.argv[2]
outs = [json.loads(l) for l in open(f"{d}/results.out")]
mine = [o for o in outs if o["job_id"] == "rv-1"]
assert len(mine) == 1 and mine[0]["revision"] != rev1 and [l["read"] for l in mine[0]["report"]["checks"]["text"]] == ["SALE 2"], mine
PY
echo "ok: a changed job under the same id is a new revision, rendered, charged once, its own verdict; results shows the newest"
