#!/usr/bin/env bash
# The example config of docs/providers.md (examples/providers.json) against the strict
# reference renderer, every provider in one pipeline: the file as it is, only each
# endpoint's scheme and host pointed at the renderer (paths kept), the Vertex token file
# and the metadata server pointed at ours, and renderer profiles added (no mistakes,
# deterministic faults that send the first requests down the fallback chains:
# stability -> openai, vertex file token -> vertex metadata token -> a1111). Every
# request must be one the strict renderer accepts (provider ids, params, mapped sizes),
# every job accepted with its image checked against what was asked for (the verdict's
# report.render). Half-way the Vertex token is rotated (the file replaced, the metadata
# server's token changed): no job is lost. Then every log and every message on every
# topic is searched for both tokens in every encoding: none may appear.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init providers

T1="svc:ya29.one-7f3a9c2e51d0"
T2="svc:ya29.two-8b4d0f6a72e1"
export STABILITY_API_KEY=$T1 OPENAI_API_KEY=$T1 A1111_API_AUTH=$T1
echo "$T1" >"$STACK_DIR/accepted.key"
echo "$T1" >"$STACK_DIR/vertex-token"

# config.json: the example with the renderer's address (known after it starts: the
# renderer reads only the profiles, the workers read the file once it is final).
rewrite() {
  /usr/bin/python3 - "$1" "$STACK_DIR" <<'PY'
import json, re, sys
url, d = sys.argv[1], sys.argv[2]
cfg = json.load(open("examples/providers.json"))
no_mistakes = {"typo": 0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}
faults = {"sd3.5_turbo": 3, "imagen4": 4, "imagen4_gce": 2}  # first_n requests answered 503
for name, m in cfg["models"].items():
    m["endpoint"] = re.sub(r"^https?://[^/]+", url, m["endpoint"])
    if "api_key_file" in m:
        m["api_key_file"] = d + "/vertex-token"
    if m.get("token_source") == "metadata":
        m["metadata_url"] = url
    m.update({"latency_p50_ms": 5, "latency_p99_ms": 20, "rates": no_mistakes})
    if name in faults:
        m["fault"] = {"kind": "status", "status": 503, "first_n": faults[name]}
for t in cfg["tiers"].values():
    t.update({"max_retries": 0, "breaker_failures": 100})  # each 503 falls back at once
cfg["kafka"] = {"session_timeout_ms": 6000}
json.dump(cfg, open(d + "/config.json", "w"), indent=1)
PY
}
rewrite http://127.0.0.1:1
start_stack "$STACK_DIR/config.json" --api-key-file "$STACK_DIR/accepted.key"
rewrite "$PRESSROOM_RENDERER"
export PRESSROOM_LOG_LEVEL=debug
start_bg preview "$BIN/preview-worker";       P1=$LAST_PID
start_bg verifier "$BIN/verifier-worker";     P2=$LAST_PID
start_bg production "$BIN/production-worker"; P3=$LAST_PID

submit() { # submit FILE N
  "$BIN/pressctl" submit "$1" --wait --timeout 180 --jsonl "$1.out" >"$1.txt" 2>"$1.err" || { cat "$1.txt" "$1.err"; fail "$1: pressctl submit failed"; }
  grep -q "^terminal: $2/$2 jobs" "$1.txt" || { cat "$1.txt" "$1.err"; fail "$1: not terminal"; }
  cat "$1.out" >>"$STACK_DIR/out.jsonl"
}
# Thumbnails first: the first three preview requests fall back to gpt_image.
for i in 1 2 3 4; do echo "{\"job_id\":\"thumb-$i\",\"asset_class\":\"thumbnail\",\"prompt\":\"Product shot\",\"text\":[\"SALE $i\"],\"size\":\"768x512\"}"; done >"$STACK_DIR/thumbs.jsonl"
submit "$STACK_DIR/thumbs.jsonl" 4
for i in 1 2 3 4 5 6; do echo "{\"job_id\":\"ed-$i\",\"asset_class\":\"editorial\",\"prompt\":\"Cover\",\"text\":[\"NEWS $i\"],\"size\":\"768x512\"}"; done >"$STACK_DIR/editorial.jsonl"
submit "$STACK_DIR/editorial.jsonl" 6

# Rotation: a new token file (replaced, as a sidecar does) and a new metadata token.
echo "$T2" >"$STACK_DIR/accepted.key"
echo "$T2" >"$STACK_DIR/vertex-token.new" && mv "$STACK_DIR/vertex-token.new" "$STACK_DIR/vertex-token"
for i in 1 2 3 4; do echo "{\"job_id\":\"paid-$i\",\"asset_class\":\"paid\",\"prompt\":\"Banner\",\"text\":[\"DEAL $i\"],\"size\":\"1024x1024\"}"; done >"$STACK_DIR/paid.jsonl"
submit "$STACK_DIR/paid.jsonl" 4

for pid in $P1 $P2 $P3; do
  kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "worker $pid exited $rc"
done
mkdir -p "$STACK_DIR/topics"
for t in $(kcat -L -b "$PRESSROOM_BROKERS" 2>/dev/null | sed -n 's/^ *topic "\(pressroom\.[^"]*\)".*/\1/p' | sort -u); do
  kcat -C -b "$PRESSROOM_BROKERS" -t "$t" -e -q -f '%k\t%h\t%s\n' >"$STACK_DIR/topics/$t.txt" 2>/dev/null || true
done

/usr/bin/python3 - "$STACK_DIR" "$T1" "$T2" <<'PY'
import base64, glob, json, os, sys
d, t1, t2 = sys.argv[1:]
outs = {o["job_id"]: o for o in map(json.loads, open(f"{d}/out.jsonl"))}
assert len(outs) == 14, sorted(outs)
bad = [(j, o["verdict"], o.get("reason"), o.get("detail", "")[:300]) for j, o in outs.items() if o["verdict"] != "accepted"]
assert not bad, "not accepted: %s" % bad
used = {c["model"] for o in outs.values() for c in o["charges"]}
assert used == {"sd3.5_turbo", "gpt_image", "imagen4", "imagen4_gce", "sdxl_local"}, used
# What each delivered image was asked for, per provider, as the verdict says.
want = {"gpt_image": {"width": 1536, "height": 1024, "seed_sent": False},
        "sd3.5_turbo": {"aspect_ratio": "3:2", "seed_sent": True},
        "imagen4": {"aspect_ratio": "4:3", "seed_sent": True}, "imagen4_gce": {"aspect_ratio": "4:3", "seed_sent": True},
        "sdxl_local": {"width": 768, "height": 512, "seed_sent": True}}
seen = set()
for j, o in outs.items():
    r = o["report"]["render"]
    w = dict(want[o["model"]])
    if j.startswith("paid"):  # 1024x1024 jobs
        w = {"aspect_ratio": "1:1", "seed_sent": True} if "aspect_ratio" in w else {"width": 1024, "height": 1024, "seed_sent": w["seed_sent"]}
    for k, v in w.items():
        assert r.get(k) == v, (j, o["model"], r)
    if o["model"] == "gpt_image":
        assert "openai takes no seed" in r["note"], r
    seen.add(o["model"])
assert {"gpt_image", "sd3.5_turbo", "imagen4"} <= seen, seen
# No token, in any encoding, in any log, stderr file or topic.
def forms(s):
    b = base64.b64encode(s.encode()).decode()
    return [s, s.split(":", 1)[1], "Bearer " + s, b, b.rstrip("="), "Basic " + b]
needles = {f: n for n, s in (("token one", t1), ("token two", t2)) for f in forms(s)}
files = glob.glob(f"{d}/*.log") + glob.glob(f"{d}/*.out") + glob.glob(f"{d}/*.err") + glob.glob(f"{d}/*.jsonl.out") + glob.glob(f"{d}/topics/*.txt")
leaks = sorted({f"{os.path.basename(f)}: {n}" for f in files for needle, n in needles.items() if needle in open(f, errors="replace").read()})
assert not leaks, "tokens left the processes:\n  " + "\n  ".join(leaks)
logs = "".join(open(f, errors="replace").read() for f in glob.glob(f"{d}/*.log"))
assert '"metadata_token_refreshed"' in logs, "the metadata token was never fetched"
print(f"ok: 14 jobs accepted over 5 models of 4 providers; images checked against what each provider was asked; "
      f"{len(needles)} token encodings searched in {len(files)} files: none found")
PY
