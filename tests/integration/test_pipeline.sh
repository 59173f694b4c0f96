#!/usr/bin/env bash
# The whole pipeline on the embedded stack (real broker protocol, real redis-server,
# the reference renderer, Tesseract): every job ends in exactly one terminal
# verdict, verdicts agree with what the renderer really drew, malformed messages go
# to the DLQ with their reason, SIGTERM drains and exits 0.
#
# Ground truth by construction: the preview model misspells every line it draws
# (rate_typo 1.0) and the production model draws clean images, so each text job's
# preview must fail verification and its production render must pass.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init pipeline

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "typo_preview", "max_latency_ms": 800, "max_inflight": 64},
    "production": {"model": "clean_final", "max_latency_ms": 2200, "max_inflight": 64}
  },
  "models": {
    "typo_preview": {"price_usd": 0.02, "latency_p50_ms": 50, "latency_p99_ms": 150,
                     "rates": {"typo": 1.0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 100, "latency_p99_ms": 300,
                    $NO_MISTAKES}
  },
  "kafka": {"session_timeout_ms": 6000},
  "verify_ocr": true
}
JSON
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker";       PREVIEW_PID=$LAST_PID
start_bg verifier "$BIN/verifier-worker";     VERIFIER_PID=$LAST_PID
start_bg production "$BIN/production-worker"; PRODUCTION_PID=$LAST_PID

words=(SALE "NEW IN" "50% OFF" "FREE SHIPPING" "LAST CHANCE" "TODAY ONLY" "BEST PRICE" "HOT DEALS")
: >"$STACK_DIR/jobs.jsonl"
N=0
for i in $(seq 1 12); do
  w=${words[$((i % ${#words[@]}))]}
  printf '{"job_id":"thumb-%03d","asset_class":"thumbnail","prompt":"Product shot with overlay text \\"%s\\""}\n' "$i" "$w" >>"$STACK_DIR/jobs.jsonl"
  N=$((N+1))
done
for i in $(seq 1 6); do
  w=${words[$(((i + 3) % ${#words[@]}))]}
  printf '{"job_id":"edit-%03d","asset_class":"editorial","prompt":"Editorial cover","text":["%s"]}\n' "$i" "$w" >>"$STACK_DIR/jobs.jsonl"
  N=$((N+1))
done

# Malformed messages straight onto the jobs topic: they must reach the DLQ with a reason.
printf 'bad-1\t{"job_id": "bad-1", "asset_class": "thumbnail"\nbad-2\t{"job_id":"bad-2","asset_class":"thumbnail","prompt":"x","size":"huge"}\n' |
  kafka_put pressroom.jobs

# An image where text is expected but none can be read: "could not read" is never a
# pass, the job goes back for a re-render. Injected straight onto the verify topic.
mkdir -p "$STACK_DIR/blobs/unreadable-1"
curl -sf -X POST "$PRESSROOM_RENDERER/render" -H 'Content-Type: application/json' \
  -d '{"prompt":"a mountain badge, no lettering","seed":7,"size":"768x512","model":"clean_final"}' \
  -o "$STACK_DIR/blobs/unreadable-1/preview-1.png"
"$BIN/pressctl" verify "$STACK_DIR/blobs/unreadable-1/preview-1.png" --text "HELLO" >"$STACK_DIR/unreadable.json" || true
grep -q '"text_unreadable"' "$STACK_DIR/unreadable.json" || fail "pressctl verify did not call the image unreadable: $(cat "$STACK_DIR/unreadable.json")"
# It also claims a $9.99 preview charge that Redis never settled: the verdict must carry
# the budget's record (nothing) instead.
printf 'unreadable-1\t{"job":{"job_id":"unreadable-1","asset_class":"thumbnail","prompt":"Poster","text":["HELLO"]},"stage":"preview","attempt":1,"model":"typo_preview","image":"file://%s/blobs/unreadable-1/preview-1.png","charges":[{"stage":"preview","attempt":1,"model":"typo_preview","usd_micros":9990000}]}\n' "$STACK_DIR" |
  kafka_put pressroom.verify

"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 240 --jsonl "$STACK_DIR/outcomes.jsonl" \
  | tee "$STACK_DIR/summary.txt"
grep -q "^terminal: $N/$N jobs" "$STACK_DIR/summary.txt" || fail "not every job reached a terminal verdict"

# Every job has exactly one verdict on the terminal topics (read them again from the start).
"$BIN/pressctl" results --timeout 60 --jsonl "$STACK_DIR/all.jsonl" >"$STACK_DIR/results.txt"
/usr/bin/python3 - "$STACK_DIR" "$N" <<'PY'
import json, sys, collections
d, n = sys.argv[1], int(sys.argv[2])
outs = [json.loads(l) for l in open(f"{d}/outcomes.jsonl")]
allv = [json.loads(l) for l in open(f"{d}/all.jsonl")]
ids = collections.Counter(o["job_id"] for o in allv)
assert all(c == 1 for c in ids.values()), f"duplicate verdicts: {ids.most_common(3)}"
unreadable = [o for o in allv if o["job_id"] == "unreadable-1"]
assert len(unreadable) == 1, unreadable
u = unreadable[0]
assert u["verdict"] == "accepted" and u["stage"] == "production" and u["failed_checks"] == 1, u
forged = [c for c in u["charges"] if c["stage"] == "preview"]
assert forged and all(c["usd_micros"] == 0 for c in forged), u["charges"]  # the budget never settled it
assert u["cost_micros"] == 60000, u  # the production render only
jobs = [o for o in outs if not o["job_id"].startswith("bad-")]
assert len(jobs) == n, (len(jobs), n)
for o in jobs:
    # The preview had a typo: the verifier must have caught it, production must pass.
    assert o["verdict"] == "accepted", f'{o["job_id"]}: {o["verdict"]} {o["reason"]} {o["detail"]}'
    assert o["stage"] == "production" and o["attempt"] == 2, o
    assert o["failed_checks"] == 1, f'{o["job_id"]} failed {o["failed_checks"]} checks'
    stages = sorted((c["stage"], c["attempt"]) for c in o["charges"])
    assert stages == [("preview", 1), ("production", 2)], stages
    assert o["cost_micros"] == 80000, o["cost_micros"]
    assert o["report"]["pass"] is True
dlq = {o["job_id"]: o for o in allv if o["verdict"] == "dlq"}
assert set(dlq) == {"bad-1", "bad-2"}, dlq.keys()
assert "size" in dlq["bad-2"]["detail"], dlq["bad-2"]
print(f"ok: {n} jobs accepted after catching {n} typos; an unreadable image re-rendered; 2 malformed messages dead-lettered")
PY

# SIGTERM drains and exits 0.
for pid in $PREVIEW_PID $VERIFIER_PID $PRODUCTION_PID; do kill -TERM "$pid"; done
for pid in $PREVIEW_PID $VERIFIER_PID $PRODUCTION_PID; do
  rc=0; wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "worker $pid exited $rc after SIGTERM"
done
echo "ok: workers drained and exited 0"
