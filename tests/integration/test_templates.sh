#!/usr/bin/env bash
# Templates and adapters on the embedded stack (issue 13 item 3):
#   a job naming "template": "weekly-deals" renders on the a1111 provider with the
#   template's adapter: the renderer's request log shows the LoRA tag in the prompt,
#   the fine-tune's checkpoint as sd_model_checkpoint and the configured alwayson_scripts;
#   the prompt is the template's with the job's slots (and a slot's default) filled in;
#   the verdict carries the template and its report shows the template's zone and
#   palette were checked; a job's own region wins over the template's zone;
#   a job naming an unknown template or slot is refused by pressctl submit, and by the
#   preview worker (DLQ) when it arrives anyway; a bad template config is one sentence.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init templates

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "sd_base", "max_latency_ms": 800},
    "production": {"model": "clean_final", "max_latency_ms": 2200}
  },
  "models": {
    "sd_base": {"provider": "a1111", "provider_model": "sd-base-v1", "price_usd": 0.02,
                "latency_p50_ms": 30, "latency_p99_ms": 80, $NO_MISTAKES},
    "sd_deals": {"provider": "a1111", "provider_model": "deals-ft-v1", "price_usd": 0.02,
                 "latency_p50_ms": 30, "latency_p99_ms": 80, $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 50, "latency_p99_ms": 120, $NO_MISTAKES}
  },
  "asset_classes": {"thumbnail": {"route": "preview", "over_budget": "reject"}},
  "templates": {
    "weekly-deals": {
      "prompt": "Weekly deals banner with {product} on a shelf, headline \"{headline}\"",
      "slots": {"headline": {"default": "DEALS", "values": ["DEALS", "SAVE 30%"]},
                "product": {"values": ["apples", "coffee"]}},
      "zone": {"x": 0.05, "y": 0.5, "w": 0.9, "h": 0.45},
      "palette": ["#1E3A8A", "#FACC15"],
      "providers": {"a1111": {"model": "sd_deals", "loras": [{"name": "deals_style", "weight": 0.8}],
                              "alwayson_scripts": {"ADetailer": {"args": [true, false]}}}}
    }
  },
  "kafka": {"session_timeout_ms": 6000}
}
JSON
one_budget_window 3600 90
start_stack "$STACK_DIR/config.json" --request-log "$STACK_DIR/requests.jsonl"
start_bg preview "$BIN/preview-worker"
VERIFIER_METRICS=127.0.0.1:$(free_port)
PRESSROOM_METRICS_LISTEN=$VERIFIER_METRICS start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

cat >"$STACK_DIR/jobs.jsonl" <<'EOF'
{"job_id":"tpl-1","asset_class":"thumbnail","template":"weekly-deals","slots":{"product":"apples","headline":"SAVE 30%"}}
{"job_id":"tpl-2","asset_class":"thumbnail","template":"weekly-deals","slots":{"product":"coffee"},"region":{"x":0.05,"y":0.05,"w":0.9,"h":0.4}}
EOF
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 90 --jsonl "$STACK_DIR/out.jsonl" >"$STACK_DIR/submit.txt"
grep -q '^terminal: 2/2 jobs' "$STACK_DIR/submit.txt" || { cat "$STACK_DIR/submit.txt"; fail "template jobs not terminal"; }

python3 - "$STACK_DIR" <<'PY'
import json, sys
d = sys.argv[1]
out = {o["job_id"]: o for o in map(json.loads, open(f"{d}/out.jsonl"))}
reqs = [json.loads(l) for l in open(f"{d}/requests.jsonl")]
a1111 = [r for r in reqs if r["path"] == "/sdapi/v1/txt2img"]
assert len(a1111) >= 2, reqs
for r in a1111:
    b = r["body"]
    assert b["override_settings"]["sd_model_checkpoint"] == "deals-ft-v1", b
    assert b["prompt"].endswith(", <lora:deals_style:0.8>"), b["prompt"]
    assert b["alwayson_scripts"] == {"ADetailer": {"args": [True, False]}}, b
prompts = [r["body"]["prompt"] for r in a1111]
assert any('Weekly deals banner with apples on a shelf, headline "SAVE 30%"' in p for p in prompts), prompts
assert any('Weekly deals banner with coffee on a shelf, headline "DEALS"' in p for p in prompts), prompts  # the default
assert all("Brand palette: #1E3A8A #FACC15" in p for p in prompts), prompts

o1, o2 = out["tpl-1"], out["tpl-2"]
for o in (o1, o2):
    assert o["verdict"] == "accepted", o
    assert o["template"] == "weekly-deals", o
    assert [c.upper() for c in o["report"]["checks"]["palette"]["palette"]] == ["#1E3A8A", "#FACC15"], o["report"]["checks"]
assert o1["prompt"] == 'Weekly deals banner with apples on a shelf, headline "SAVE 30%"', o1["prompt"]
assert [l["read"] for l in o1["report"]["checks"]["text"]] == ["SAVE 30%"], o1["report"]["checks"]["text"]
assert o1["report"]["checks"]["layout"]["region"] == {"x": 0.05, "y": 0.5, "w": 0.9, "h": 0.45}, o1["report"]["checks"]["layout"]
assert o2["report"]["checks"]["layout"]["region"] == {"x": 0.05, "y": 0.05, "w": 0.9, "h": 0.4}, o2["report"]["checks"]["layout"]
PY
# Metrics carry the template where it is cheap: verifications and verdicts.
curl -sf "http://$VERIFIER_METRICS/metrics" >"$STACK_DIR/metrics.txt" || fail "verifier /metrics"
grep -q '^pressroom_verifications_total{worker="verifier-worker",stage="preview",result="pass",template="weekly-deals"} 2$' "$STACK_DIR/metrics.txt" ||
  fail "no template label on verifications: $(grep pressroom_verifications_total "$STACK_DIR/metrics.txt")"
grep -q '^pressroom_verdicts_total{worker="verifier-worker",asset_class="thumbnail",verdict="accepted",reason="",template="weekly-deals"} 2$' "$STACK_DIR/metrics.txt" ||
  fail "no template label on verdicts: $(grep pressroom_verdicts_total "$STACK_DIR/metrics.txt")"
echo "ok: template jobs render with the a1111 adapter (LoRA, fine-tune checkpoint, alwayson_scripts); zone and palette reach the verifier"

# Unknown template and slot: refused before publishing, one sentence each.
echo '{"job_id":"tpl-x","asset_class":"thumbnail","template":"monthly"}' >"$STACK_DIR/bad1.jsonl"
if "$BIN/pressctl" submit "$STACK_DIR/bad1.jsonl" 2>"$STACK_DIR/bad1.err"; then fail "unknown template accepted"; fi
grep -q 'job: template: expected one of the configured templates (weekly-deals), found "monthly"' "$STACK_DIR/bad1.err" ||
  fail "unknown template: $(cat "$STACK_DIR/bad1.err")"
echo '{"job_id":"tpl-y","asset_class":"thumbnail","template":"weekly-deals","slots":{"colour":"red","product":"tea"}}' >"$STACK_DIR/bad2.jsonl"
if "$BIN/pressctl" submit "$STACK_DIR/bad2.jsonl" 2>"$STACK_DIR/bad2.err"; then fail "unknown slot accepted"; fi
grep -q 'job: slots.colour: expected a slot of template "weekly-deals" (headline, product)' "$STACK_DIR/bad2.err" ||
  fail "unknown slot: $(cat "$STACK_DIR/bad2.err")"
echo '{"job_id":"tpl-z","asset_class":"thumbnail","template":"weekly-deals"}' >"$STACK_DIR/bad3.jsonl"
if "$BIN/pressctl" submit "$STACK_DIR/bad3.jsonl" 2>"$STACK_DIR/bad3.err"; then fail "missing slot accepted"; fi
grep -q 'job: slots.product: expected a value (template "weekly-deals" has no default)' "$STACK_DIR/bad3.err" ||
  fail "missing slot: $(cat "$STACK_DIR/bad3.err")"
# The same unknown template straight onto the topic: the preview worker dead-letters it.
kafka_put pressroom.jobs <<EOF
tpl-x	$(cat "$STACK_DIR/bad1.jsonl")
EOF
for _ in $(seq 1 60); do
  kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -e -q -f '%h\n' 2>/dev/null | grep -q 'found \\\?"monthly' && break
  kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -e -q -f '%h\n' 2>/dev/null | grep -q 'monthly' && break
  sleep 0.5
done
kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -e -q -f '%h\n' 2>/dev/null | grep -q 'job: template: expected one of the configured templates' ||
  fail "unknown template not dead-lettered: $(kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -e -q -f '%h\n' 2>/dev/null | head -3)"
echo "ok: unknown templates and slots are refused with a sentence (pressctl submit, the preview worker's DLQ)"

# Config errors name the file, the key and the form.
bad_config() { # JSON of templates, expected sentence
  python3 - "$STACK_DIR/config.json" "$1" >"$STACK_DIR/bad.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["templates"] = json.loads(sys.argv[2]); print(json.dumps(c))
PY
  if PRESSROOM_CONFIG="$STACK_DIR/bad.json" "$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" 2>"$STACK_DIR/bad.err"; then
    fail "config $1 accepted"
  fi
  grep -qF "$2" "$STACK_DIR/bad.err" || fail "config $1: expected '$2', got: $(cat "$STACK_DIR/bad.err")"
}
bad_config '{"wd": {"providers": {"a1111": {"model": "clean_final"}}}}' \
  'templates.wd.providers.a1111.model: expected the name of a model configured under "models" with provider "a1111", found "clean_final"'
bad_config '{"wd": {"providers": {"openai": {"loras": [{"name": "x"}]}}}}' \
  'templates.wd.providers.openai.loras: expected no loras (only the a1111 provider takes LoRA tags)'
bad_config '{"wd": {"prompt": "a {thing}"}}' \
  'templates.wd.prompt: expected "{slot}" placeholders naming slots declared under "slots", found "{thing}"'
bad_config '{"wd": {"zone": {"x": 0.5, "y": 0, "w": 0.8, "h": 0.2}}}' \
  'templates.wd.zone: expected a non-empty rectangle inside the image'
bad_config '{"wd": {"palete": []}}' 'templates.wd.palete: expected one of the known keys (prompt, slots, zone, palette, providers)'
bad_config '{"Weekly": {}}' 'templates.Weekly: expected at most 8 templates named in lower case'
echo "ok: template config errors name the file, the key and the expected form"

# ---- The verified-pairs dataset (issue 13 item 4) ----
# synth: the same --seed writes the same jobs; they are submitted (pressctl submit's code).
"$BIN/pressctl" dataset synth --template weekly-deals --n 4 --seed 7 --jobs-out "$STACK_DIR/synth.jsonl" \
  --wait --timeout 90 >"$STACK_DIR/synth.txt" || { cat "$STACK_DIR/synth.txt"; fail "dataset synth failed"; }
grep -q '^terminal: 4/4 jobs' "$STACK_DIR/synth.txt" || { cat "$STACK_DIR/synth.txt"; fail "synthetic jobs not terminal"; }
python3 - "$STACK_DIR/synth.jsonl" <<'PY'
import json, sys
jobs = [json.loads(l) for l in open(sys.argv[1])]
assert len(jobs) == 4, jobs
for j in jobs:
    assert j["template"] == "weekly-deals" and j["asset_class"] == "thumbnail", j
    assert j["slots"]["headline"] in ("DEALS", "SAVE 30%") and j["slots"]["product"] in ("apples", "coffee"), j
assert len({j["job_id"] for j in jobs}) == 4, jobs
PY
"$BIN/pressctl" dataset synth --template weekly-deals --n 4 --seed 7 --jobs-out "$STACK_DIR/synth2.jsonl" >/dev/null
cmp -s "$STACK_DIR/synth.jsonl" "$STACK_DIR/synth2.jsonl" || fail "the same --seed wrote other jobs"
echo "ok: dataset synth writes seeded slot-filled template jobs and submits them"

# Every verdict on the topics, for checking the export against.
verdicts_of() { kcat -C -b "$PRESSROOM_BROKERS" -t "$1" -e -q -f '%s\n' 2>/dev/null; }
check_export() { # DIR EXPECTED_ACCEPTED_IDS(comma) EXPECTED_REJECTED_IDS(comma)
  verdicts_of pressroom.results >"$STACK_DIR/results.topic"
  verdicts_of pressroom.rejected >"$STACK_DIR/rejected.topic"
  python3 - "$STACK_DIR" "$@" <<'PY'
import hashlib, json, struct, sys, zlib
d, out, want_acc, want_rej = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
want_acc = set(filter(None, want_acc.split(","))); want_rej = set(filter(None, want_rej.split(",")))
# The newest verdict per job_id@revision, by position on the topics (one partition here).
newest = {}
for topic in ("results", "rejected"):
    for line in open(f"{d}/{topic}.topic"):
        o = json.loads(line)
        if o.get("template") == "weekly-deals":
            newest.setdefault(f'{o["job_id"]}@{o["revision"]}', []).append(o)
def decode_png(data):  # a real decode: signature, every chunk's CRC, the inflated scanlines' size
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0], "bad CRC"
        if kind == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        if kind == b"IDAT": idat += body
        pos += 12 + n
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    assert len(zlib.decompress(idat)) == h * (1 + w * channels * depth // 8), "scanlines do not add up"
    return w, h
def check(meta, want, verdict):
    lines = [json.loads(l) for l in open(meta)]
    got = {l["job_id"] for l in lines}
    assert got == want, (meta, sorted(got), sorted(want))
    assert len(lines) == len(got), "a revision twice"
    base = meta.rsplit("/", 1)[0]
    for l in lines:
        key = f'{l["job_id"]}@{l["revision"]}'
        o = [v for v in newest[key]][-1] if verdict != "rejected" else [v for v in newest[key] if v["verdict"] == "rejected"][-1]
        assert o["verdict"] == verdict == l["verdict"], (l, o)
        for f in ("prompt", "template", "model"):
            assert l[f] == o[f], (f, l[f], o[f])
        assert l["slots"] == o.get("slots", {}), (l["slots"], o.get("slots"))
        assert l["seed"] == o["seed"], (l["seed"], o["seed"])
        assert l["verifier_report"] == o.get("report"), key
        if verdict == "rejected":
            assert l["reason"] == o["reason"], (l, o)
        img = open(f"{base}/{l['file_name']}", "rb").read()
        blob = open(o["image"][len("file://"):], "rb").read()
        assert hashlib.sha256(img).hexdigest() == l["sha256"] == hashlib.sha256(blob).hexdigest(), key
        assert decode_png(img) == (768, 512), key
check(f"{out}/metadata.jsonl", want_acc, "accepted")
check(f"{out}/rejected/metadata.jsonl", want_rej, "rejected")
m = json.load(open(f"{out}/manifest.json"))
assert m["counts"]["accepted"] == len(want_acc) and m["counts"]["rejected"] == len(want_rej), m
print(json.dumps(m["counts"]))
PY
}
synth_ids=$(python3 -c 'import json,sys; print(",".join(json.loads(l)["job_id"] for l in open(sys.argv[1])))' "$STACK_DIR/synth.jsonl")
"$BIN/pressctl" dataset export --template weekly-deals --out "$STACK_DIR/ds1" --include-rejected >"$STACK_DIR/ds1.txt" ||
  { cat "$STACK_DIR/ds1.txt"; fail "dataset export failed"; }
check_export "$STACK_DIR/ds1" "tpl-1,tpl-2,$synth_ids" "" || fail "the first export does not match the verdicts"
echo "ok: dataset export writes metadata.jsonl lines matching the verdicts, images that decode with the blob's sha256"

# Dedupe across a replay: the jobs replayed (decided revisions: no new verdict), a verdict
# delivered twice, and a newer verdict for tpl-1's revision (a rejection, as a moderation
# re-check or a forced re-verify would give): the newest verdict per revision stands.
"$BIN/pressctl" replay --topic jobs >"$STACK_DIR/replay.txt" 2>&1 || { cat "$STACK_DIR/replay.txt"; fail "replay failed"; }
sleep 3
verdicts_of pressroom.results >"$STACK_DIR/results.topic"
dup=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["job_id"] == "tpl-2": print(l.strip()); break' "$STACK_DIR/results.topic")
rej=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["job_id"] == "tpl-1":
        o.update(verdict="rejected", reason="verification_failed", detail="re-checked: text outside its region"); print(json.dumps(o)); break' "$STACK_DIR/results.topic")
kafka_put pressroom.results <<EOF
tpl-2	$dup
EOF
kafka_put pressroom.rejected <<EOF
tpl-1	$rej
EOF
"$BIN/pressctl" dataset export --template weekly-deals --out "$STACK_DIR/ds2" --include-rejected >"$STACK_DIR/ds2.txt" ||
  { cat "$STACK_DIR/ds2.txt"; fail "second dataset export failed"; }
counts=$(check_export "$STACK_DIR/ds2" "tpl-2,$synth_ids" "tpl-1") || fail "the export after the replay does not dedupe"
python3 -c 'import json,sys; c=json.loads(sys.argv[1]); assert c["superseded_verdicts"] >= 2 and c["revisions"] == 6, c' "$counts" ||
  fail "manifest counts after the replay: $counts"
echo "ok: dedupe holds across a replay (newest verdict per revision; duplicates counted as superseded)"

# Without --include-rejected no negatives are written; a used --out is refused; strict args.
"$BIN/pressctl" dataset export --template weekly-deals --out "$STACK_DIR/ds3" >/dev/null
[ ! -e "$STACK_DIR/ds3/rejected" ] || fail "negatives written without --include-rejected"
if "$BIN/pressctl" dataset export --template weekly-deals --out "$STACK_DIR/ds3" 2>"$STACK_DIR/e.txt"; then fail "a used --out was accepted"; fi
grep -q 'expected a new or empty directory' "$STACK_DIR/e.txt" || fail "used --out: $(cat "$STACK_DIR/e.txt")"
if "$BIN/pressctl" dataset export --template weekly-deals 2>"$STACK_DIR/e.txt"; then fail "export without --out accepted"; fi
grep -q 'pressctl dataset export: expected --out DIR' "$STACK_DIR/e.txt" || fail "no --out: $(cat "$STACK_DIR/e.txt")"
if "$BIN/pressctl" dataset synth --template weekly-deals --n 0 2>"$STACK_DIR/e.txt"; then fail "--n 0 accepted"; fi
grep -q -- '--n: expected' "$STACK_DIR/e.txt" || fail "--n 0: $(cat "$STACK_DIR/e.txt")"
if "$BIN/pressctl" dataset synth --template monthly --n 2 2>"$STACK_DIR/e.txt"; then fail "unknown template accepted"; fi
grep -q 'expected one of the configured templates (weekly-deals), found "monthly"' "$STACK_DIR/e.txt" || fail "synth template: $(cat "$STACK_DIR/e.txt")"
# --since: nothing after the future; everything since a time before the first verdict.
"$BIN/pressctl" dataset export --template weekly-deals --out "$STACK_DIR/ds4" --since "$(( $(date +%s) * 1000 + 3600000 ))" >/dev/null
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counts"]; assert c["verdicts_read"] == 0 and c["accepted"] == 0, c' \
  "$STACK_DIR/ds4/manifest.json" || fail "--since in the future exported something"
"$BIN/pressctl" dataset export --template weekly-deals --out "$STACK_DIR/ds5" --since "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counts"]; assert c["accepted"] == 5, c' \
  "$STACK_DIR/ds5/manifest.json" || fail "--since an hour ago: $(cat "$STACK_DIR/ds5/manifest.json")"
if "$BIN/pressctl" dataset export --template weekly-deals --out x --since yesterday 2>"$STACK_DIR/e.txt"; then fail "--since yesterday accepted"; fi
"$BIN/pressctl" dataset export --help | grep -q 'pressctl dataset export --template T --out DIR' || fail "dataset export --help"
echo "ok: dataset's strict arguments and --help"

# pressctl ab builds template jobs as the pipeline does and groups its report by template.
cat >"$STACK_DIR/ab_jobs.jsonl" <<'EOF'
{"job_id":"ab-t","asset_class":"thumbnail","template":"weekly-deals","slots":{"product":"tea"}}
{"job_id":"ab-plain","asset_class":"thumbnail","prompt":"A poster reading \"HELLO\""}
EOF
: >"$STACK_DIR/requests.jsonl"
"$BIN/pressctl" ab --config "$STACK_DIR/config.json" --models sd_base,clean_final --jobs "$STACK_DIR/ab_jobs.jsonl" --seeds 5 \
  --out "$STACK_DIR/ab" >"$STACK_DIR/ab.txt" 2>&1 || { cat "$STACK_DIR/ab.txt"; fail "pressctl ab failed"; }
python3 - "$STACK_DIR" <<'PY'
import json, re, sys
d = sys.argv[1]
res = [json.loads(l) for l in open(f"{d}/ab/results.jsonl")]
assert {r["job_id"]: r.get("template") for r in res} == {"ab-t": "weekly-deals", "ab-plain": None}, res
reqs = [json.loads(l)["body"] for l in open(f"{d}/requests.jsonl")]
a = [b for b in reqs if "override_settings" in b]
assert len(a) == 2 and all(b["override_settings"]["sd_model_checkpoint"] == ("deals-ft-v1" if "Weekly" in b["prompt"] else "sd-base-v1") for b in a), a
assert any(b["prompt"].endswith("<lora:deals_style:0.8>") for b in a) and not all("<lora:" in b["prompt"] for b in a), a
html = open(f"{d}/ab/report.html").read()
table = re.search(r'<table id="templates">(.*?)</table>', html, re.S)
assert table, "no By template table"
rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>(\d+)</td>", table.group(1))
assert sorted((t, m, int(n)) for t, m, n in rows) == [("(none)", "clean_final", 1), ("(none)", "sd_base", 1),
                                                     ("weekly-deals", "clean_final", 1), ("weekly-deals", "sd_base", 1)], rows
PY
echo "ok: pressctl ab renders template jobs with their adapter and groups the report by template"
