#!/usr/bin/env bash
# The pipeline with its images in an S3-protocol store (s3rver on loopback,
# PRESSROOM_BLOBS=s3://pressroom/run): preview-worker and production-worker store every
# render with a PUT off their loops, verifier-worker reads them back with GETs, and
# every job reaches a terminal verdict whose image is in the bucket. Verdicts carry a
# presigned URL (blob_presign_ttl_s) that plain curl fetches without credentials. A
# job delivered again after it finished is not rendered again: the store answers HEAD
# for its image and the stored one is replayed. With the store gone, a render is
# rejected storage_failed and never handed on. SIGTERM drains and exits 0; the secret
# appears in no log.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init pipeline-s3
start_s3 pressroom

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "typo_preview", "max_latency_ms": 800, "max_inflight": 64},
    "production": {"model": "clean_final", "max_latency_ms": 2200, "max_inflight": 64}
  },
  "models": {
    "typo_preview": {"price_usd": 0.02, "latency_p50_ms": 50, "latency_p99_ms": 150,
                     "rates": {"typo": 1.0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 100, "latency_p99_ms": 300, $NO_MISTAKES}
  },
  "kafka": {"session_timeout_ms": 6000},
  "blob_presign_ttl_s": 600,
  "blob_threads": 2,
  "s3": {"endpoint": "$S3_ENDPOINT", "region": "eu-west-1"}
}
JSON
RENDERER_TRUTH_LOG="$STACK_DIR/truth.log" start_stack "$STACK_DIR/config.json"
export PRESSROOM_BLOBS=s3://pressroom/run
start_bg preview "$BIN/preview-worker";       PREVIEW_PID=$LAST_PID
start_bg verifier "$BIN/verifier-worker";     VERIFIER_PID=$LAST_PID
start_bg production "$BIN/production-worker"; PRODUCTION_PID=$LAST_PID

: >"$STACK_DIR/jobs.jsonl"
words=(SALE "NEW IN" "50% OFF" "BEST PRICE")
for i in 1 2 3 4; do
  printf '{"job_id":"s3-thumb-%d","asset_class":"thumbnail","prompt":"Product shot with overlay text \\"%s\\""}\n' "$i" "${words[$((i - 1))]}" >>"$STACK_DIR/jobs.jsonl"
done
printf '{"job_id":"s3-edit-1","asset_class":"editorial","prompt":"Editorial cover","text":["HOT DEALS"]}\n' >>"$STACK_DIR/jobs.jsonl"
N=5

"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 180 --jsonl "$STACK_DIR/outcomes.jsonl" \
  | tee "$STACK_DIR/summary.txt"
grep -q "^terminal: $N/$N jobs" "$STACK_DIR/summary.txt" || fail "not every job reached a terminal verdict"

# Every verdict's image is in the bucket, read back through the store and through its
# presigned URL (plain curl, no credentials): the same PNG.
/usr/bin/python3 - "$STACK_DIR" "$N" >"$STACK_DIR/images.txt" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
outs = [json.loads(l) for l in open(f"{d}/outcomes.jsonl")]
assert len(outs) == n, len(outs)
for o in outs:
    assert o["verdict"] == "accepted", f'{o["job_id"]}: {o["verdict"]} {o["reason"]} {o["detail"]}'
    assert o["stage"] == "production" and o["failed_checks"] == 1, o
    want = f's3://pressroom/run/{o["job_id"]}/{o["revision"]}-production-2.png'
    assert o["image"] == want, (o["image"], want)
    url = o.get("image_url", "")
    assert url.startswith("http://127.0.0.1:") and f'/pressroom/run/{o["job_id"]}/{o["revision"]}-production-2.png?' in url, url
    assert "X-Amz-Expires=600&" in url and "%2Feu-west-1%2Fs3%2Faws4_request" in url, url
    print(o["job_id"], o["revision"], o["image"], url)
PY
while read -r job rev uri url; do
  for stage in preview-1 production-2; do
    [ -f "$STACK_DIR/s3/pressroom/run/$job/$rev-$stage.png._S3rver_object" ] || fail "$job/$rev-$stage.png is not in the bucket"
  done
  "$BIN/pressctl" blob get "$uri" >"$STACK_DIR/$job.png" || fail "$uri cannot be read back"
  file "$STACK_DIR/$job.png" | grep -q 'PNG image data, 768 x 512' || fail "$uri is not the 768x512 PNG: $(file "$STACK_DIR/$job.png")"
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY curl -sSf -o "$STACK_DIR/$job.url.png" "$url" \
    || fail "curl could not fetch $job's presigned URL"
  cmp -s "$STACK_DIR/$job.png" "$STACK_DIR/$job.url.png" || fail "$job: the presigned URL served other bytes"
done <"$STACK_DIR/images.txt"
[ "$(wc -l <"$STACK_DIR/images.txt")" -eq "$N" ] || fail "expected $N images"
echo "ok: $N verdicts with their images in the bucket, fetched through presigned URLs"

# A job delivered again after it finished has its verdict recorded: it ends at admission.
drawn=$(wc -l <"$STACK_DIR/truth.log")
grep '"s3-thumb-1"' "$STACK_DIR/jobs.jsonl" | sed 's/^/s3-thumb-1\t/' | kafka_put pressroom.jobs
wait_for grep -q '"job_already_decided","job_id":"s3-thumb-1"' "$STACK_DIR/preview.log" \
  || fail "the redelivered job was not ended as already decided"
# Delivered again before its verdict was recorded (the mark removed, as if the verdict
# were still on its way): its preview is settled and stored, so the worker asks the store
# (HEAD) and replays the stored image; the renderer draws nothing.
rev=$(python3 -c 'import json,sys; print([o for o in map(json.loads, open(sys.argv[1])) if o["job_id"] == "s3-thumb-1"][0]["revision"])' "$STACK_DIR/outcomes.jsonl")
[ "$(redis-cli -p "$REDIS_PORT" del "{pressroom}:v:s3-thumb-1@$rev")" = 1 ] || fail "no verdict mark for s3-thumb-1@$rev"
grep '"s3-thumb-1"' "$STACK_DIR/jobs.jsonl" | sed 's/^/s3-thumb-1\t/' | kafka_put pressroom.jobs
wait_for grep -q '"render_replayed","job_id":"s3-thumb-1","stage":"preview"' "$STACK_DIR/preview.log" \
  || fail "the redelivered job was not replayed from the store"
wait_for grep -q '"render_replayed","job_id":"s3-thumb-1","stage":"production"' "$STACK_DIR/production.log" \
  || fail "the redelivered job's production render was not replayed from the store"
sleep 1
[ "$(wc -l <"$STACK_DIR/truth.log")" -eq "$drawn" ] || fail "the redelivered job was drawn again"
echo "ok: a redelivered job was replayed from the store (HEAD), nothing drawn again"

# The store goes away: a render whose image cannot be stored (after the retries) is
# rejected storage_failed, and no verify task ever names its missing image.
kill -TERM "$S3_PID"; wait "$S3_PID" 2>/dev/null || true
printf 's3-down-1\t{"job_id":"s3-down-1","asset_class":"thumbnail","prompt":"Product shot with overlay text \\"SALE\\""}\n' |
  kafka_put pressroom.jobs
read_topic() { kcat -C -b "$PRESSROOM_BROKERS" -t "$1" -o beginning -e -q 2>/dev/null || true; }
for _ in $(seq 1 100); do read_topic pressroom.rejected | grep -q '"s3-down-1"' && break; sleep 0.2; done
verdict=$(read_topic pressroom.rejected | grep '"s3-down-1"') || fail "no verdict for s3-down-1 with the store down"
grep -q '"reason":"storage_failed"' <<<"$verdict" || fail "s3-down-1: $verdict"
grep -q 'unreachable' <<<"$verdict" || fail "s3-down-1's detail does not say the store is unreachable: $verdict"
if read_topic pressroom.verify | grep -q '"s3-down-1"'; then fail "a verify task names s3-down-1's unstored image"; fi
echo "ok: with the store down the job is rejected storage_failed, never handed on"

# SIGTERM drains and exits 0.
for pid in $PREVIEW_PID $VERIFIER_PID $PRODUCTION_PID; do kill -TERM "$pid"; done
for pid in $PREVIEW_PID $VERIFIER_PID $PRODUCTION_PID; do
  rc=0; wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "worker $pid exited $rc after SIGTERM"
done
if grep -l -- "$AWS_SECRET_ACCESS_KEY" "$STACK_DIR"/*.log "$STACK_DIR"/*.out "$STACK_DIR"/*.jsonl; then
  fail "the S3 secret appears in the files above"
fi
echo "ok: workers drained and exited 0; no secret in any log"
