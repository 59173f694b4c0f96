#!/usr/bin/env bash
# test_schemas.sh — the wire formats and the config are specified by schemas/*.json:
#   - every schema is itself a valid JSON Schema (draft 2020-12);
#   - every example message validates against its topic's schema, examples/config.json
#     and the seed's snippet against config.schema.json, every line of
#     examples/jobs.jsonl against job.schema.json (and the file is what
#     examples/make_jobs.py writes);
#   - malformed messages are rejected (missing job_id, bad size, extra property, ...);
#   - the schemas agree with the C codecs (common/base/message.c): every example parses
#     with job_parse/task_parse/outcome_parse, what task_encode/outcome_encode write
#     back validates, and the malformed jobs are refused by job_parse too;
#   - config.schema.json agrees with the real loader (common/base/config.c, through
#     pressroom-broker --config): a set of configs that both accept and a set with
#     misspelt keys, wrong types and out-of-range values that both reject.
#   - its provider enum is the C provider list (common/base/providers.h).
source "$(dirname "$0")/../lib.sh"
stack_init schemas
PY=/usr/bin/python3
unset PRESSROOM_CONFIG PRESSROOM_BROKERS PRESSROOM_REDIS PRESSROOM_RENDERER PRESSROOM_BLOBS
cd "$ROOT" || fail "cannot cd to $ROOT"

"$PY" -c 'import jsonschema, yaml' || fail "python3-jsonschema is missing: bash scripts/install-deps.sh"
"$PY" examples/make_jobs.py --check || fail "examples/jobs.jsonl differs from what examples/make_jobs.py writes"

# ---- Config cases shared by the schema check and the real loader ----
CASES="$STACK_DIR/cases"
mkdir -p "$CASES"
cp examples/config.json "$CASES/good-example.json"
cp examples/providers.json "$CASES/good-providers-example.json"
echo '{"tiers": {"preview": {"fallback_on": [429, 503, "timeout", "breaker_open"]}}}' >"$CASES/good-fallback-on.json"
echo '{"tiers": {"preview": {"fallback_on": ["always"]}}}' >"$CASES/bad-fallback-on-word.json"
echo '{"tiers": {"preview": {"fallback_on": [200]}}}' >"$CASES/bad-fallback-on-status.json"
echo '{"models": {"m": {"provider": "openai", "provider_model": "gpt-image-1", "params": {"quality": "high"}}}}' >"$CASES/good-provider-model-params.json"
echo '{"models": {"m": {"provider": "a1111", "params": {"override_settings": {"CLIP_stop_at_last_layers": 2}}}}}' >"$CASES/bad-params-nested.json"
echo '{"models": {"m": {"provider": "vertex", "token_source": "gce"}}}' >"$CASES/bad-token-source.json"
echo '{"models": {"m": {"provider": "vertex", "provider_model": ""}}}' >"$CASES/bad-empty-provider-model.json"
echo '{"tiers": {"preview": {"model": "sd3.5_turbo", "max_latency_ms": 800}, "production": {"model": "imagen4_ultra", "max_latency_ms": 2200}}, "verify_ocr": true}' >"$CASES/good-seed-snippet.json"
echo '{}' >"$CASES/good-empty.json"
echo '{"models": {"ft": {"provider": "a1111", "provider_model": "deals-ft"}}, "templates": {"weekly-deals": {"prompt": "Deals on {product}, \"{headline}\"", "slots": {"product": {"values": ["tea"]}, "headline": {"default": "SALE"}}, "zone": {"x": 0, "y": 0.5, "w": 1, "h": 0.5}, "palette": ["#112233"], "providers": {"a1111": {"model": "ft", "loras": [{"name": "deals", "weight": 0.7}], "alwayson_scripts": {"ADetailer": {"args": [true]}}}, "openai": {}}}}}' >"$CASES/good-template.json"
echo '{"templates": {"wd": {"zone": {"x": 0, "y": 0, "w": 0, "h": 0.5}}}}' >"$CASES/bad-template-zone.json"
echo '{"templates": {"wd": {"providers": {"dalle": {}}}}}' >"$CASES/bad-template-provider.json"
echo '{"templates": {"wd": {"slots": {"Head": {}}}}}' >"$CASES/bad-template-slot-name.json"
echo '{"templates": {"wd": {"providers": {"a1111": {"alwayson_scripts": {"x": {"argz": []}}}}}}}' >"$CASES/bad-template-scripts.json"
echo '{"models": {"flux_dev": {"provider": "raw", "endpoint": "http://127.0.0.1:9", "price_usd": 0.03, "fault": {"kind": "status", "status": 429, "first_n": 2, "rate": 0.1, "retry_after_s": 1}}}, "tiers": {"production": {"model": "flux_dev", "fallbacks": ["imagen4_ultra"], "window": "1d", "cap_usd": 0}}}' >"$CASES/good-extra-model.json"
echo '{"asset_classes": {"banner": {"route": "production_only", "over_budget": "reject", "max_attempts": 1}}, "verifier": {"threads": 0, "max_png_bytes": 2048.5, "safe_zone": 0.1, "min_contrast": 21}, "kafka": {"topic_prefix": "staging.", "session_timeout_ms": 1000}}' >"$CASES/good-class-and-limits.json"
echo '{"verfy_ocr": true}' >"$CASES/bad-misspelt-top-key.json"
echo '{"tiers": {"preview": {"model": "sd3.5_turbo", "max_latency": 800}}}' >"$CASES/bad-misspelt-tier-key.json"
echo '{"models": {"sd3.5_turbo": {"rates": {"typos": 0.1}}}}' >"$CASES/bad-misspelt-rate.json"
echo '{"tiers": {"staging": {"model": "sd3.5_turbo"}}}' >"$CASES/bad-unknown-tier.json"
echo '{"tiers": {"preview": {"max_latency_ms": "fast"}}}' >"$CASES/bad-latency-string.json"
echo '{"tiers": {"preview": {"max_latency_ms": 800.5}}}' >"$CASES/bad-latency-fraction.json"
echo '{"tiers": {"preview": {"window": "2h"}}}' >"$CASES/bad-window.json"
echo '{"tiers": {"preview": {"fallbacks": ["a", "b", "c", "d", "e"]}}}' >"$CASES/bad-five-fallbacks.json"
echo '{"models": {"sd3.5_turbo": {"provider": "dalle"}}}' >"$CASES/bad-provider.json"
echo '{"models": {"m_openai": {"provider": "openai"}, "m_raw": {"provider": "raw"}, "m_stability": {"provider": "stability"}, "m_a1111": {"provider": "a1111"}, "m_vertex": {"provider": "vertex"}}}' >"$CASES/good-every-provider.json"
echo '{"models": {"sd3.5_turbo": {"rates": {"typo": 1.5}}}}' >"$CASES/bad-rate-above-one.json"
echo '{"models": {"sd3.5_turbo": {"price_usd": -1}}}' >"$CASES/bad-negative-price.json"
echo '{"models": {"sd3.5_turbo": {"fault": {"kind": "crash"}}}}' >"$CASES/bad-fault-kind.json"
echo '{"asset_classes": {"avatar": {"route": "fast"}}}' >"$CASES/bad-route.json"
echo '{"asset_classes": {"paid": {"over_budget": "ignore"}}}' >"$CASES/bad-over-budget.json"
echo '{"max_attempts": 11}' >"$CASES/bad-max-attempts.json"
echo '{"kafka": {"session_timeout_ms": 500}}' >"$CASES/bad-session-timeout.json"
echo '{"verifier": {"threads": -1}}' >"$CASES/bad-threads.json"
echo '{"tiers": {"preview": {"breaker_failures": 0}}}' >"$CASES/bad-breaker-failures.json"
echo '{"tiers": {"production": {"breaker_cooldown_ms": 50}}}' >"$CASES/bad-breaker-cooldown.json"
echo '{"tiers": {"preview": {"rate_limit": {"requests": 150, "per_s": 10}}}}' >"$CASES/bad-rate-limit-on-a-tier.json"
echo '{"models": {"sd3.5_turbo": {"rate_limit": {"requests": 150}}}}' >"$CASES/bad-rate-limit-without-period.json"
echo '{"models": {"sd3.5_turbo": {"rate_limit": {"requests": 150, "per_s": 10}}}}' >"$CASES/good-model-rate-limit.json"
echo '{"tiers": {"preview": {"breaker_failures": 3, "breaker_cooldown_ms": 30000}}}' >"$CASES/good-breaker.json"
echo '{"verifier": {"safe_zone": 0.05}}' >"$CASES/bad-safe-zone.json"
echo '{"verify_ocr": "yes"}' >"$CASES/bad-verify-ocr-string.json"
echo '{"redis": 6379}' >"$CASES/bad-redis-number.json"
echo '[]' >"$CASES/bad-not-an-object.json"
echo '{"blob_root": "s3://pressroom/blobs", "blob_threads": 4, "blob_presign_ttl_s": 900, "s3": {"region": "eu-west-1", "endpoint": "http://127.0.0.1:9000", "addressing": "virtual", "credentials_file": "/etc/pressroom/aws", "profile": "pressroom", "timeout_ms": 5000, "max_retries": 0}}' >"$CASES/good-s3.json"
echo '{"s3": {"addressing": "sideways"}}' >"$CASES/bad-s3-addressing.json"
echo '{"s3": {"bucket": "pressroom"}}' >"$CASES/bad-s3-unknown-key.json"
echo '{"s3": {"max_retries": 11}}' >"$CASES/bad-s3-retries.json"
echo '{"blob_presign_ttl_s": 604801}' >"$CASES/bad-presign-ttl.json"
echo '{"blob_threads": 0}' >"$CASES/bad-blob-threads.json"

# ---- A probe around the C codecs: parse stdin, print what the encoder writes ----
[ -f "$ROOT/$BUILD/lib/libbase.a" ] || fail "$BUILD/lib/libbase.a is not built (make)"
cat >"$STACK_DIR/codec_probe.c" <<'CEOF'
/* codec_probe KIND < message: parses one message (jobs: one per line) with the
 * codec for KIND (job | task | outcome), prints the re-encoded JSON (one line per
 * message) or "error: ..." and exits 1 on the first message it refuses.
 * codec_probe providers: prints the provider list (base/providers.h), one a line. */
#include "base/message.h"
#include "base/providers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, stdin);
    buf[n] = 0;
    char err[512];
    const char *kind = argc > 1 ? argv[1] : "";
    if (!strcmp(kind, "providers")) {
        for (int i = 0; i < PROVIDER_COUNT; i++) printf("%s\n", provider_names[i]);
    } else if (!strcmp(kind, "job")) {
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            job_t job;
            if (job_parse(line, strlen(line), &job, err, sizeof err)) { printf("error: %s\n", err); return 1; }
            char *s = job_encode(&job);
            printf("%s\n", s);
            free(s);
        }
    } else if (!strcmp(kind, "task")) {
        task_t *t = calloc(1, sizeof *t);
        if (task_parse(buf, n, t, err, sizeof err)) { printf("error: %s\n", err); return 1; }
        char *s = task_encode(t);
        printf("%s\n", s);
        free(s);
        free(t);
    } else if (!strcmp(kind, "outcome")) {
        outcome_t *o = calloc(1, sizeof *o);
        if (outcome_parse(buf, n, o, err, sizeof err)) { printf("error: %s\n", err); return 1; }
        char *s = outcome_encode(o);
        printf("%s\n", s);
        free(s);
        outcome_free(o);
        free(o);
    } else if (!strcmp(kind, "moderation")) {
        moderation_t m;
        if (moderation_parse(buf, n, &m, err, sizeof err)) { printf("error: %s\n", err); return 1; }
        char *s = moderation_encode(&m);
        printf("%s\n", s);
        free(s);
    } else {
        fprintf(stderr, "usage: codec_probe job|task|outcome|moderation|providers < message\n");
        return 2;
    }
    return 0;
}
CEOF
# A SANITIZE=1 library (build-san) needs the sanitizer runtimes at link time.
SANFLAGS=()
nm "$ROOT/$BUILD/lib/libbase.a" 2>/dev/null | grep -q '__asan_' && SANFLAGS=(-fsanitize=address,undefined)
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE -Wall -Werror "${SANFLAGS[@]}" -I"$ROOT/common" "$STACK_DIR/codec_probe.c" \
    "$ROOT/$BUILD/lib/libbase.a" $(pkg-config --cflags --libs libcjson) -lm \
    -o "$STACK_DIR/codec_probe" 2>"$STACK_DIR/probe.log" ||
  fail "cannot build the codec probe against $BUILD/lib/libbase.a: $(head -n 5 "$STACK_DIR/probe.log")"

# ---- Schemas, examples and negative messages ----
"$PY" - "$ROOT" "$CASES" "$STACK_DIR/codec_probe" <<'PYEOF' || fail "schema checks failed (see above)"
import copy, glob, json, os, subprocess, sys
import jsonschema
from jsonschema import Draft202012Validator

root, cases, probe = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []

def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)

schemas = {}
for path in sorted(glob.glob(os.path.join(root, "schemas", "*.json"))):
    s = load(path)
    name = os.path.basename(path)
    try:
        Draft202012Validator.check_schema(s)
        check(True, f"{name} is a valid draft 2020-12 schema")
    except jsonschema.exceptions.SchemaError as e:
        check(False, f"{name} is a valid draft 2020-12 schema: {e.message}")
    check(s.get("$id", "").endswith("/" + name), f"{name}: $id ends with its file name")
    schemas[name] = s
for needed in ["job.schema.json", "task.schema.json", "outcome.schema.json", "charge.schema.json",
               "config.schema.json", "dlq-headers.schema.json"]:
    check(needed in schemas, f"schemas/{needed} exists")
if failures:
    sys.exit(1)

store = {s["$id"]: s for s in schemas.values()}

def validator(name, pointer=""):
    s = schemas[name]
    resolver = jsonschema.RefResolver(base_uri=s["$id"], referrer=s, store=store)
    if pointer:
        _, s = resolver.resolve(s["$id"] + "#" + pointer)
    return Draft202012Validator(s, resolver=resolver)

def errors(v, doc):
    return sorted(v.iter_errors(doc), key=lambda e: list(e.path))

def expect_valid(v, doc, what):
    errs = errors(v, doc)
    check(not errs, what + ("" if not errs else ": " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errs[:3])))

def expect_invalid(v, doc, what):
    check(bool(errors(v, doc)), what)

job_v = validator("job.schema.json")
task_v = validator("task.schema.json")
verify_v = validator("task.schema.json", "/$defs/on_verify")
production_v = validator("task.schema.json", "/$defs/on_production")
outcome_v = validator("outcome.schema.json")
config_v = validator("config.schema.json")
dlq_v = validator("dlq-headers.schema.json")
moderation_v = validator("moderation.schema.json")

# Every example message against its topic's schema.
msg = lambda n: load(os.path.join(root, "examples", "messages", n))
examples = {
    "job.json": [job_v],
    "task-verify.json": [task_v, verify_v],
    "task-production.json": [task_v, production_v],
    "outcome-accepted.json": [outcome_v],
    "outcome-rejected.json": [outcome_v],
    "dlq-headers.json": [dlq_v],
    "moderation.json": [moderation_v],
}
present = sorted(os.listdir(os.path.join(root, "examples", "messages")))
check(present == sorted(examples), f"examples/messages holds exactly {sorted(examples)} (found {present})")
for name, vs in examples.items():
    for v in vs:
        expect_valid(v, msg(name), f"examples/messages/{name} validates")
for name in ["outcome-accepted.json", "outcome-rejected.json"]:
    o = msg(name)
    check(o["cost_micros"] == sum(c["usd_micros"] for c in o["charges"]),
          f"{name}: cost_micros is the sum of its charges")

# Every job of the example batch.
bad_lines = []
n = 0
classes = {}
with open(os.path.join(root, "examples", "jobs.jsonl"), encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
        job = json.loads(line)
        n += 1
        classes[job.get("asset_class")] = classes.get(job.get("asset_class"), 0) + 1
        for e in job_v.iter_errors(job):
            bad_lines.append(f"line {lineno}: {'/'.join(map(str, e.path))}: {e.message}")
check(not bad_lines, f"all {n} lines of examples/jobs.jsonl validate" +
      ("" if not bad_lines else ": " + "; ".join(bad_lines[:5])))
check(n >= 220, f"examples/jobs.jsonl has at least 220 jobs (found {n})")
config = load(os.path.join(root, "examples", "config.json"))
check(set(classes) <= set(config["asset_classes"]),
      f"every job's asset class is configured in examples/config.json ({sorted(classes)})")

# Malformed messages are rejected.
job = msg("job.json")
def mutated(doc, fn):
    d = copy.deepcopy(doc)
    fn(d)
    return d
expect_invalid(job_v, mutated(job, lambda d: d.pop("job_id")), "a job missing job_id is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.pop("prompt")), "a job missing prompt is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(size="768*512")), "a job with size 768*512 is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(size="big")), "a job with size \"big\" is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(priority=5)), "a job with an extra property is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(job_id="../etc")), "a job_id with a slash is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(job_id=".hidden")), "a job_id starting with a dot is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(job_id="x" * 128)), "a job_id of 128 chars is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(asset_class="Editorial")), "an upper-case asset class is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(text=["x"] * 9)), "a job with 9 text lines is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(text=[""])), "an empty text line is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(palette=["0B3D91"])), "a palette colour without # is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(min_contrast=22)), "min_contrast 22 is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(safe_zone=0.05)), "safe_zone 0.05 is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(seed=-1)), "a negative seed is rejected")
expect_invalid(job_v, mutated(job, lambda d: d["region"].pop("h")), "a region without h is rejected")
expect_invalid(job_v, mutated(job, lambda d: d.update(case_insensitive="yes")), "case_insensitive \"yes\" is rejected")
tv = msg("task-verify.json")
expect_invalid(verify_v, mutated(tv, lambda d: d.pop("image")), "a verify task without image is rejected")
expect_invalid(verify_v, mutated(tv, lambda d: d.update(image="http://x/y.png")), "a verify task with an http image is rejected")
expect_invalid(task_v, mutated(tv, lambda d: d.update(stage="draft")), "a task with stage draft is rejected")
expect_invalid(task_v, mutated(tv, lambda d: d.update(attempt=11)), "a task with attempt 11 is rejected")
expect_invalid(task_v, mutated(tv, lambda d: d["job"].pop("job_id")), "a task whose job lacks job_id is rejected")
expect_invalid(task_v, mutated(tv, lambda d: d["charges"][0].update(usd_micros=-5)), "a negative charge is rejected")
expect_invalid(task_v, mutated(tv, lambda d: d["charges"][0].update(usd_micros=0.02)), "a charge in dollars, not micros, is rejected")
tp = msg("task-production.json")
expect_invalid(production_v, mutated(tp, lambda d: d.update(image="file:///b/x.png")), "a production task carrying an image is rejected")
expect_invalid(task_v, mutated(tp, lambda d: d.update(escalation="bored")), "an unknown escalation is rejected")
oa, orj = msg("outcome-accepted.json"), msg("outcome-rejected.json")
expect_invalid(outcome_v, mutated(oa, lambda d: d.update(verdict="ok")), "verdict ok is rejected")
expect_invalid(outcome_v, mutated(oa, lambda d: d.update(reason="budget_exhausted")), "an accepted outcome with a reason is rejected")
expect_invalid(outcome_v, mutated(oa, lambda d: d.update(image="")), "an accepted outcome without image is rejected")
expect_invalid(outcome_v, mutated(orj, lambda d: d.update(reason="")), "a rejected outcome without reason is rejected")
expect_invalid(outcome_v, mutated(orj, lambda d: d.pop("cost_micros")), "an outcome without cost_micros is rejected")
expect_invalid(outcome_v, mutated(orj, lambda d: d.update(cost_micros=-1)), "a negative cost is rejected")
dh = msg("dlq-headers.json")
expect_invalid(dlq_v, mutated(dh, lambda d: d.pop("pressroom-reason")), "dlq headers without pressroom-reason are rejected")
expect_invalid(dlq_v, mutated(dh, lambda d: d.update({"pressroom-source-offset": "-1"})), "a negative dlq offset is rejected")
expect_invalid(dlq_v, mutated(dh, lambda d: d.update({"pressroom-source-partition": 3})), "a numeric (not string) header is rejected")

# The C codecs agree: they parse every example, their output validates, and they
# refuse the malformed jobs too.
def codec(kind, text):
    r = subprocess.run([probe, kind], input=text.encode(), capture_output=True, timeout=10)
    return r.returncode, r.stdout.decode(errors="replace")

with open(os.path.join(root, "examples", "jobs.jsonl"), encoding="utf-8") as f:
    rc, out = codec("job", f.read())
lines = out.splitlines()
check(rc == 0 and len(lines) == n, f"job_parse accepts all {n} example jobs" + ("" if rc == 0 else f": {out.strip()[-200:]}"))
if rc == 0:
    errs = [f"{json.loads(l)['job_id']}: {e.message}" for l in lines for e in job_v.iter_errors(json.loads(l))]
    check(not errs, "what job_encode writes back for them validates" + ("" if not errs else ": " + "; ".join(errs[:3])))
for name, kind, vs in [("job.json", "job", [job_v]), ("task-verify.json", "task", [task_v, verify_v]),
                       ("task-production.json", "task", [task_v, production_v]),
                       ("outcome-accepted.json", "outcome", [outcome_v]),
                       ("outcome-rejected.json", "outcome", [outcome_v]),
                       ("moderation.json", "moderation", [moderation_v])]:
    rc, out = codec(kind, json.dumps(msg(name)))
    check(rc == 0, f"the C codec parses examples/messages/{name}" + ("" if rc == 0 else f": {out.strip()}"))
    if rc == 0:
        for v in vs:
            expect_valid(v, json.loads(out), f"the C codec's re-encoding of {name} validates")
for what, doc in [("missing job_id", mutated(job, lambda d: d.pop("job_id"))),
                  ("size 768*512", mutated(job, lambda d: d.update(size="768*512"))),
                  ("an extra property", mutated(job, lambda d: d.update(priority=5))),
                  ("a job_id with a slash", mutated(job, lambda d: d.update(job_id="a/b"))),
                  ("9 text lines", mutated(job, lambda d: d.update(text=["x"] * 9))),
                  ("a palette colour without #", mutated(job, lambda d: d.update(palette=["0B3D91"])))]:
    rc, out = codec("job", json.dumps(doc))
    check(rc == 1 and out.startswith("error: "), f"job_parse refuses a job with {what} ({out.strip()})")

md = msg("moderation.json")
for what, doc in [("decision maybe", mutated(md, lambda d: d.update(decision="maybe"))),
                  ("no revision", mutated(md, lambda d: d.pop("revision"))),
                  ("no reason", mutated(md, lambda d: d.pop("reason"))),
                  ("an extra property", mutated(md, lambda d: d.update(score=3))),
                  ("verdict ok", mutated(md, lambda d: d.update(verdict="ok")))]:
    expect_invalid(moderation_v, doc, f"a moderation decision with {what} is rejected")
    rc, out = codec("moderation", json.dumps(doc))
    check(rc == 1 and out.startswith("error: "), f"moderation_parse refuses a decision with {what} ({out.strip()})")

# The schema and job_parse agree on sizes, at and around every bound.
for size in ["16x16", "15x16", "16x15", "768x512", "99x100", "999x1000", "7999x8000", "8099x8100",
             "8189x8190", "8192x8192", "8193x512", "512x8199", "8200x512", "9999x512", "0768x512",
             "0x0", "10000x512", " 768x512", "+768x512", "768x 512", "768x+512", "768x512 "]:
    doc = mutated(job, lambda d: d.update(size=size))
    schema_ok = not list(job_v.iter_errors(doc))
    rc, out = codec("job", json.dumps(doc))
    check(schema_ok == (rc == 0), f"size {size}: schema {'accepts' if schema_ok else 'refuses'}, "
          f"job_parse {'accepts' if rc == 0 else 'refuses'}")

# The schema's provider enum is the C list (common/base/providers.h), in order.
rc, out = codec("providers", "")
c_providers = out.split()
enum = schemas["config.schema.json"]["$defs"]["model"]["properties"]["provider"]["enum"]
check(rc == 0 and enum == c_providers,
      f"config.schema.json's provider enum {enum} is PRESSROOM_PROVIDERS {c_providers}")

# Config cases: the schema's verdict (the real loader's is checked by the shell below).
for path in sorted(glob.glob(os.path.join(cases, "*.json"))):
    name = os.path.basename(path)
    doc = load(path)
    if name.startswith("good-"):
        expect_valid(config_v, doc, f"config {name} validates")
    else:
        expect_invalid(config_v, doc, f"config {name} is rejected by config.schema.json")

print(f"{len(failures)} schema check(s) failed" if failures else "all schema checks passed")
sys.exit(1 if failures else 0)
PYEOF

# ---- The real loader gives the same verdicts ----
[ -x "$BIN/pressroom-broker" ] || fail "$BIN/pressroom-broker is not built (make $BUILD/bin/pressroom-broker)"
# All cases at once (the broker's start is the slow part). Accepted: the broker gets
# past config_load and writes its bootstrap file. Rejected: it exits non-zero with a
# sentence naming the file.
declare -A pids state
# On an early exit, stop the brokers still running (the others are reaped below).
stop_cases() {
  local rc=$? name
  for name in "${!pids[@]}"; do
    [ "${state[$name]}" = running ] && kill -KILL "${pids[$name]}" 2>/dev/null
  done
  stack_cleanup "$rc"
}
trap stop_cases EXIT
for f in "$CASES"/*.json; do
  name=$(basename "$f" .json)
  "$BIN/pressroom-broker" --config "$f" --bootstrap-file "$STACK_DIR/$name.bootstrap" \
    >/dev/null 2>"$STACK_DIR/$name.log" &
  pids[$name]=$!
  state[$name]=running
done
for _ in $(seq 1 300); do
  pending=0
  for name in "${!pids[@]}"; do
    [ "${state[$name]}" = running ] || continue
    if [ -s "$STACK_DIR/$name.bootstrap" ]; then
      state[$name]=accepted
      # Only config_load matters here: no need to wait for a graceful stop.
      kill -KILL "${pids[$name]}" 2>/dev/null; wait "${pids[$name]}" 2>/dev/null
    elif ! kill -0 "${pids[$name]}" 2>/dev/null; then
      wait "${pids[$name]}"; rc=$?
      if [ "$rc" -ne 0 ]; then state[$name]=rejected; else state[$name]="exited 0"; fi
    else
      pending=$((pending + 1))
    fi
  done
  [ "$pending" -eq 0 ] && break
  sleep 0.05
done
loader_failures=0
for name in $(printf '%s\n' "${!pids[@]}" | sort); do
  if [ "${state[$name]}" = running ]; then
    kill -KILL "${pids[$name]}" 2>/dev/null; wait "${pids[$name]}" 2>/dev/null
  fi
  case "$name" in
    good-*) want=accepted ;;
    *) want=rejected ;;
  esac
  if [ "${state[$name]}" = "$want" ]; then
    echo "ok    config $name.json is $want by config_load"
    if [ "$want" = rejected ] && ! grep -q "$CASES/$name.json: " "$STACK_DIR/$name.log"; then
      echo "FAIL  config $name.json: the loader's error does not name the file: $(tail -n1 "$STACK_DIR/$name.log")"
      loader_failures=$((loader_failures + 1))
    fi
  else
    echo "FAIL  config $name.json: want $want by config_load, got ${state[$name]}: $(tail -n1 "$STACK_DIR/$name.log")"
    loader_failures=$((loader_failures + 1))
  fi
done
[ "$loader_failures" -eq 0 ] || fail "$loader_failures config case(s): config.schema.json and common/base/config.c disagree"
echo "schemas, examples and config loader agree"
