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
start_bg verifier "$BIN/verifier-worker"
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
