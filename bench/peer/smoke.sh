#!/usr/bin/env bash
# bench/peer/smoke.sh — is the peer a fair yardstick? (make bench-peer runs it first; ~20 s)
#   1. its verifier agrees with `pressctl verify --batch` (text checks) on images the
#      reference renderer drew clean and with forced text mistakes (typo, drop);
#   2. its two stages, through the embedded broker, turn 6 jobs into 6 accepted verdicts,
#      with verify tasks and verdicts that validate against schemas/task.schema.json
#      (#/$defs/on_verify) and schemas/outcome.schema.json, and the PNGs in the blob layout.
# Exit 1 with FAIL: on any disagreement.
set -euo pipefail
source "$(dirname "$0")/../../tests/lib.sh"
stack_init bench-peer-smoke
PY=/usr/bin/python3
PEER="$ROOT/bench/peer"
export PYTHONPATH="$PEER" PRESSROOM_DEV_DIR="$STACK_DIR/nodev"
cat >"$STACK_DIR/config.json" <<JSON
{"tiers": {"preview": {"model": "clean", "max_latency_ms": 2000, "cap_usd": 0},
           "production": {"model": "clean", "max_latency_ms": 2000, "cap_usd": 0}},
 "models": {"clean": {"provider": "raw", "price_usd": 0.002, "latency_p50_ms": 0, "latency_p99_ms": 0, $NO_MISTAKES}},
 "kafka": {"session_timeout_ms": 6000}}
JSON
start_stack "$STACK_DIR/config.json"

# 1. The offline verdicts, image by image.
: >"$STACK_DIR/batch.jsonl"
: >"$STACK_DIR/mistakes.txt"
i=0
for text in "SALE" "NEW IN" "50% OFF" "LAST CHANCE"; do
  for mistake in none typo drop; do
    i=$((i + 1))
    curl -sf -X POST "$PRESSROOM_RENDERER/render" -H 'Content-Type: application/json' \
      -d "{\"prompt\":\"Poster with \\\"$text\\\"\",\"seed\":$i,\"size\":\"768x512\",\"mistake\":\"$mistake\"}" \
      -o "$STACK_DIR/img$i.png"
    echo "{\"image\": \"$STACK_DIR/img$i.png\", \"text\": [\"$text\"]}" >>"$STACK_DIR/batch.jsonl"
    echo "$mistake" >>"$STACK_DIR/mistakes.txt"
  done
done
"$BIN/pressctl" verify --batch "$STACK_DIR/batch.jsonl" >"$STACK_DIR/pressroom.jsonl" || true
$PY "$PEER/peer_verifier.py" --check-batch "$STACK_DIR/batch.jsonl" >"$STACK_DIR/peer.jsonl"
$PY - "$STACK_DIR" <<'PY'
import json, sys
d = sys.argv[1]
want = [dict(json.loads(l), mistake=m.strip()) for l, m in zip(open(f"{d}/batch.jsonl"), open(f"{d}/mistakes.txt"))]
ours = {r["image"]: r for r in map(json.loads, open(f"{d}/pressroom.jsonl"))}
peer = {r["image"]: r for r in map(json.loads, open(f"{d}/peer.jsonl"))}
bad = [(w["image"], w["mistake"], ours[w["image"]]["pass"], peer[w["image"]]) for w in want
       if ours[w["image"]]["pass"] != peer[w["image"]]["pass"]]
clean = [w for w in want if w["mistake"] == "none"]
if bad:
    sys.exit(f"FAIL: the peer's verifier and pressctl verify disagree on {len(bad)} of {len(want)}: {bad}")
if not all(ours[w["image"]]["pass"] for w in clean) or any(ours[w["image"]]["pass"] for w in want if w["mistake"] != "none"):
    sys.exit("FAIL: pressctl verify's verdicts are not the renderer's (clean pass, mistakes fail)")
print(f"ok: the peer's verifier agrees with pressctl verify on {len(want)} images "
      f"({len(clean)} clean pass, {len(want) - len(clean)} with a typo or a dropped word fail)")
PY

# 2. Six jobs through the peer's two stages.
PEER_MODEL=clean PEER_READY_FILE="$STACK_DIR/ready-p" start_bg peer-preview $PY "$PEER/peer_preview.py"
PEER_READY_FILE="$STACK_DIR/ready-v" start_bg peer-verifier $PY "$PEER/peer_verifier.py"
wait_for test -e "$STACK_DIR/ready-p"
wait_for test -e "$STACK_DIR/ready-v"
now=$(date +%s%3N)
for n in 1 2 3 4 5 6; do
  printf 'smoke-%d\t{"job_id":"smoke-%d","asset_class":"thumbnail","prompt":"Product shot with \\"DEAL %d\\"","size":"768x512","seed":%d,"submitted_at_ms":%s}\n' \
    "$n" "$n" "$n" "$n" "$now"
done | kafka_put pressroom.jobs
timeout 30 kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.results -o beginning -c 6 -q >"$STACK_DIR/results.jsonl" 2>/dev/null &
for _ in $(seq 1 300); do [ "$(wc -l <"$STACK_DIR/results.jsonl")" -ge 6 ] && break; sleep 0.1; done
kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.verify -o beginning -e -q >"$STACK_DIR/tasks.jsonl" 2>/dev/null
kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.rejected -o beginning -e -q >"$STACK_DIR/rejected.jsonl" 2>/dev/null
$PY - "$ROOT/schemas" "$STACK_DIR" "${PRESSROOM_BLOBS#file://}" <<'PY'
import json, os, sys
import jsonschema
sd, d, blobs = sys.argv[1:]
schemas = {f: json.load(open(os.path.join(sd, f))) for f in os.listdir(sd) if f.endswith(".json")}
store = {s["$id"]: s for s in schemas.values() if "$id" in s}
def validate(doc, schema):
    resolver = jsonschema.RefResolver(base_uri=schema["$id"], referrer=schema, store=store)
    jsonschema.Draft202012Validator(schema, resolver=resolver).validate(doc)
tasks = [json.loads(l) for l in open(f"{d}/tasks.jsonl") if l.strip()]
results = [json.loads(l) for l in open(f"{d}/results.jsonl") if l.strip()]
rejected = [l for l in open(f"{d}/rejected.jsonl") if l.strip()]
if len(results) != 6 or rejected:
    sys.exit(f"FAIL: expected 6 accepted verdicts, got {len(results)} accepted, {len(rejected)} rejected: {rejected[:2]}")
on_verify = {"$id": "https://pressroom.example/schemas/on_verify", "$ref": "task.schema.json#/$defs/on_verify"}
for t in tasks:
    validate(t, on_verify)
    path = t["image"][len("file://"):]
    assert path.startswith(blobs + "/" + t["job"]["job_id"] + "/") and path.endswith("-preview-1.png"), path
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n", path
for r in results:
    validate(r, schemas["outcome.schema.json"])
    assert r["verdict"] == "accepted" and r["cost_micros"] == 2000, r
print(f"ok: 6 jobs through the peer's stages: {len(tasks)} verify tasks (task.schema.json on_verify), "
      "6 accepted verdicts (outcome.schema.json), PNGs in the blob layout")
PY
