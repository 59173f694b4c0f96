#!/usr/bin/env bash
# Blob references are trusted only inside the blob store. Verify tasks injected
# straight onto pressroom.verify name /etc/passwd, a real PNG outside the store (with
# the right text: read, it would pass), a link inside the store pointing out, a FIFO
# inside the store (opened, it would block the event loop), and a degraded verdict's
# preview of /etc/shadow: each goes to the DLQ with reason blob_outside_store, none is
# escalated to production or delivered. A missing image inside the store keeps its
# old fate (checked as undecodable, re-rendered), a good image is still accepted, and
# the verifier stays alive and drains on SIGTERM.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init blob-confinement

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "clean", "max_latency_ms": 800},
    "production": {"model": "clean", "max_latency_ms": 800}
  },
  "models": {
    "clean": {"price_usd": 0.02, "latency_p50_ms": 10, "latency_p99_ms": 20, $NO_MISTAKES}
  },
  "kafka": {"session_timeout_ms": 6000}
}
JSON
start_stack "$STACK_DIR/config.json"
BLOBS="$STACK_DIR/blobs"

# render FILE TEXT: a real, clean PNG with TEXT drawn by the reference renderer.
render() {
  mkdir -p "$(dirname "$1")"
  curl -sf -X POST "$PRESSROOM_RENDERER/render" -H 'Content-Type: application/json' \
    -d "{\"prompt\":\"Product shot with overlay text \\\"$2\\\"\",\"seed\":7,\"size\":\"768x512\",\"model\":\"clean\"}" \
    -o "$1"
}
render "$STACK_DIR/outside/sale.png" SALE              # outside the store
render "$BLOBS/good-1/preview-1.png" SALE              # inside: the control
render "$BLOBS/shadow-1/production-3.png" "NOT HELLO"  # inside, fails its check: would degrade
mkdir -p "$BLOBS/link-1" "$BLOBS/fifo-1"
ln -s ../../outside/sale.png "$BLOBS/link-1/preview-1.png"
mkfifo "$BLOBS/fifo-1/preview-1.png"

start_bg verifier "$BIN/verifier-worker"; VERIFIER_PID=$LAST_PID

# task KEY IMAGE [STAGE ATTEMPT PREVIEW]: a verify task as the render stage writes it
# (examples/messages/task-verify.json), for a thumbnail job whose text is SALE.
task() {
  local text=SALE preview=""
  [ "$1" = shadow-1 ] && text=HELLO
  [ -n "${5:-}" ] && preview=",\"preview_image\":\"$5\""
  printf '%s\t{"job":{"job_id":"%s","asset_class":"thumbnail","prompt":"Product shot","text":["%s"],"size":"768x512"},"stage":"%s","attempt":%s,"model":"clean","image":"%s"%s,"charges":[],"failed_checks":0}\n' \
    "$1" "$1" "$text" "${3:-preview}" "${4:-1}" "$2" "$preview"
}
{
  task passwd-1 "file:///etc/passwd"
  task outside-1 "file://$STACK_DIR/outside/sale.png"
  task dotdot-1 "file://$BLOBS/../outside/sale.png"
  task link-1 "file://$BLOBS/link-1/preview-1.png"
  task fifo-1 "file://$BLOBS/fifo-1/preview-1.png"
  task shadow-1 "file://$BLOBS/shadow-1/production-3.png" production 3 "file:///etc/shadow"
  task missing-1 "file://$BLOBS/missing-1/preview-1.png"
  task good-1 "file://$BLOBS/good-1/preview-1.png"
} | kafka_put pressroom.verify
BAD="passwd-1 outside-1 dotdot-1 link-1 fifo-1 shadow-1"

# read_topic TOPIC: every message's "key<TAB>headers<TAB>payload" from the start.
read_topic() { kcat -C -b "$PRESSROOM_BROKERS" -t "$1" -e -q -f '%k\t%h\t%s\n' 2>/dev/null || true; }
dlq_has_all() {
  local k
  for k in $BAD; do read_topic pressroom.dlq | grep -q "^$k"$'\t' || return 1; done
}
for _ in $(seq 1 60); do
  dlq_has_all && read_topic pressroom.results | grep -q '^good-1'$'\t' &&
    read_topic pressroom.production | grep -q '^missing-1'$'\t' && break
  gone "$VERIFIER_PID" && fail "the verifier died: $(tail -n 5 "$STACK_DIR/verifier.log")"
  sleep 1
done
read_topic pressroom.dlq >"$STACK_DIR/dlq.txt"
for t in production results rejected; do read_topic "pressroom.$t" >"$STACK_DIR/$t.txt"; done

/usr/bin/python3 - "$STACK_DIR" $BAD <<'PY'
import json, re, sys
d, bad = sys.argv[1], sys.argv[2:]
def rows(topic):
    out = {}
    for line in open(f"{d}/{topic}.txt"):
        k, h, v = line.rstrip("\n").split("\t", 2)
        out.setdefault(k, []).append((h, v))
    return out
dlq = rows("dlq")
for k in bad:
    assert k in dlq, f"{k}: not dead-lettered; DLQ holds {sorted(dlq)}"
    for h, _ in dlq[k]:
        # Header values may contain commas: split only before the next header's name.
        hs = dict(x.split("=", 1) for x in re.split(r",(?=pressroom-|traceparent=)", h))
        assert hs["pressroom-reason"].startswith("blob_outside_store:"), (k, hs["pressroom-reason"])
        assert hs["pressroom-worker"] == "verifier-worker", hs
production, results, rejected = rows("production"), rows("results"), rows("rejected")
for k in bad:
    assert k not in production, f"{k}: escalated to production: {production[k]}"
    assert k not in results and k not in rejected, f"{k}: got a verdict"
for topic in ("production", "results", "rejected"):
    for line in open(f"{d}/{topic}.txt"):
        assert "/etc/" not in line and "/outside/" not in line, f"{topic} carries a reference outside the store: {line}"
assert "missing-1" in production and "missing-1" not in dlq, "a missing image must still be re-rendered"
good = [json.loads(v) for _, v in results.get("good-1", [])]
assert good and good[0]["verdict"] == "accepted", good
print(f"ok: {len(bad)} references outside the store dead-lettered as blob_outside_store; "
      "a missing image re-rendered, a good one accepted")
PY

gone "$VERIFIER_PID" && fail "the verifier died"
kill -TERM "$VERIFIER_PID"; rc=0; wait "$VERIFIER_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "verifier exited $rc after SIGTERM"
echo "ok: the verifier stayed alive and drained"
