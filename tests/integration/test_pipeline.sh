#!/usr/bin/env bash
# The whole pipeline on the embedded stack (real broker protocol, real redis-server,
# the reference renderer, Tesseract): every job ends in exactly one terminal
# verdict, verdicts agree with what the renderer really drew, malformed messages go
# to the DLQ with their reason, SIGTERM drains and exits 0. A job's metadata object
# and prompt come out on its verdict unchanged, and its W3C traceparent header's trace
# id on the verdict's header after four hops (a new parent id each); a job without one
# gets a trace, and dead letters carry one too.
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

# thumb-001 carries an opaque metadata object through pressctl submit.
sed -i '1s/}$/,"metadata":{"post_id":"p-\\u00e9-1","n":[1,{"deep":true}]}}/' "$STACK_DIR/jobs.jsonl"
# traced-1 comes with a traceparent header (kcat, nothing of ours), traced-2 without.
TRACE=4bf92f3577b34da6a3ce929d0e0e4736 PARENT=00f067aa0ba902b7
for try in 1 2 3 4 5; do
  printf 'traced-1\t{"job_id":"traced-1","asset_class":"thumbnail","prompt":"Poster with \\"OPEN LATE\\"","metadata":{"post":"t1"}}\n' |
    kcat -P -b "$PRESSROOM_BROKERS" -t pressroom.jobs -K $'\t' -H "traceparent=00-$TRACE-$PARENT-01" 2>"$STACK_DIR/kcat.err" &&
  printf 'traced-2\t{"job_id":"traced-2","asset_class":"thumbnail","prompt":"Poster with \\"OPEN NOW\\""}\n' |
    kcat -P -b "$PRESSROOM_BROKERS" -t pressroom.jobs -K $'\t' 2>>"$STACK_DIR/kcat.err" && break
  sleep 1
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
first = next(o for o in allv if o["job_id"] == "thumb-001")
assert first["metadata"] == {"post_id": "p-\u00e9-1", "n": [1, {"deep": True}]}, first.get("metadata")
assert first["prompt"] == 'Product shot with overlay text "NEW IN"', first["prompt"]
assert all("metadata" not in o for o in allv if o["job_id"].startswith("edit-")), "metadata appeared from nowhere"
print(f"ok: {n} jobs accepted after catching {n} typos; an unreadable image re-rendered; 2 malformed messages dead-lettered")
PY

# The verdicts' traceparent headers (kcat -f '%h': name=value,...).
for _ in $(seq 1 300); do
  kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.results -e -q -f '%k|%h|%s\n' >"$STACK_DIR/traced.txt" 2>/dev/null || true
  grep -q '^traced-1|' "$STACK_DIR/traced.txt" && grep -q '^traced-2|' "$STACK_DIR/traced.txt" && break
  sleep 0.2
done
kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -e -q -f '%k|%h\n' >"$STACK_DIR/dlq-headers.txt" 2>/dev/null || true
/usr/bin/python3 - "$STACK_DIR" "$TRACE" "$PARENT" <<'PY'
import json, re, sys
d, trace, parent = sys.argv[1:4]
TP = re.compile(r"traceparent=00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(,|$)")
rows = {}
for line in open(f"{d}/traced.txt"):
    key, headers, value = line.rstrip("\n").split("|", 2)
    rows[key] = (headers, json.loads(value))
assert "traced-1" in rows and "traced-2" in rows, f"no verdict for the traced jobs: {sorted(rows)}"
h, v = rows["traced-1"]
m = TP.search(h)
assert m, f"traced-1's verdict has no traceparent header: {h!r}"
assert m.group(1) == trace and m.group(2) != parent and m.group(3) == "01", h
assert v["metadata"] == {"post": "t1"} and v["stage"] == "production", v  # four hops: jobs, verify, production, verify
m2 = TP.search(rows["traced-2"][0])
assert m2 and m2.group(1) != trace and m2.group(3) == "00", rows["traced-2"][0]
for key, (hh, _) in rows.items():
    assert TP.search(hh), f"{key}'s verdict has no traceparent: {hh!r}"
letters = [l for l in open(f"{d}/dlq-headers.txt") if l.startswith("bad-")]
assert letters and all(TP.search(l) for l in letters), letters
print(f"ok: trace {trace} kept across four hops with a new parent id; a job without one got trace {m2.group(1)}")
PY

# SIGTERM drains and exits 0.
for pid in $PREVIEW_PID $VERIFIER_PID $PRODUCTION_PID; do kill -TERM "$pid"; done
for pid in $PREVIEW_PID $VERIFIER_PID $PRODUCTION_PID; do
  rc=0; wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "worker $pid exited $rc after SIGTERM"
done
echo "ok: workers drained and exited 0"
