#!/usr/bin/env bash
# test_ab.sh — `pressctl ab` against the reference renderer, checked by what the
# renderer says it drew (its truth log) and by a real browser:
#   - three models: "clean" draws every image right, "sloppy" misspells and drops
#     letters, "gpt_like" speaks the OpenAI dialect (which takes no seed); the renderer
#     checks credentials, so every adapter's request is the real one;
#   - 3 jobs (one with HTML in its prompt) x 2 seeds x 3 models: results.jsonl has one
#     line per request, the renderer drew exactly one image per request, the seeds sent
#     are the ones asked for where the provider takes one, and the report says where
#     it does not;
#   - the model the truth log shows making mistakes has the lower pass rate;
#   - report.html opens in headless Chromium with no request other than the file and
#     its data: URIs, nothing failed, no console error; its three tables, one decoded
#     image per job x seed x model and the three SVG plots are in the DOM; the prompt's
#     HTML is text, not markup;
#   - no secret in anything written; bad arguments get one clear sentence, exit 2.
source "$(dirname "$0")/../lib.sh"
stack_init ab
unset PRESSROOM_CONFIG PRESSROOM_BROKERS PRESSROOM_REDIS PRESSROOM_BLOBS
export PRESSROOM_DEV_DIR="$STACK_DIR/nodev"
PY=/usr/bin/python3
command -v chromium >/dev/null || fail "chromium is missing: bash scripts/install-deps.sh"

export AB_RENDER_KEY="ab-test-key-$RANDOM-5f2c9e71"
SLOPPY='"rates": {"typo": 0.5, "drop": 0.3, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}'
CFG="$STACK_DIR/config.json"
cat >"$CFG" <<JSON
{
  "models": {
    "clean":    {"provider": "raw", "price_usd": 0.04, "api_key_env": "AB_RENDER_KEY",
                 "latency_p50_ms": 40, "latency_p99_ms": 120, $NO_MISTAKES},
    "sloppy":   {"provider": "raw", "price_usd": 0.01, "api_key_env": "AB_RENDER_KEY",
                 "latency_p50_ms": 15, "latency_p99_ms": 50, $SLOPPY},
    "gpt_like": {"provider": "openai", "provider_model": "gpt-image-1", "price_usd": 0.063,
                 "api_key_env": "AB_RENDER_KEY", "latency_p50_ms": 30, "latency_p99_ms": 90, $NO_MISTAKES}
  }
}
JSON
export RENDERER_TRUTH_LOG="$STACK_DIR/truth.jsonl"
start_renderer "$CFG" --api-key-env AB_RENDER_KEY

JOBS="$STACK_DIR/jobs.jsonl"
grep -E '"job_id": "(edit-0026|avatar-0017)"' "$ROOT/examples/jobs.jsonl" >"$JOBS"
echo '{"job_id": "esc-1", "asset_class": "thumbnail", "prompt": "a poster <img src=x onerror=alert(1)> & co, with the words \"BIG SALE\" in bold clean letters", "size": "768x512"}' >>"$JOBS"
[ "$(wc -l <"$JOBS")" -eq 3 ] || fail "expected 3 example jobs, found $(wc -l <"$JOBS")"

OUT="$STACK_DIR/out"
"$BIN/pressctl" ab --config "$CFG" --models clean,sloppy,gpt_like --jobs "$JOBS" --seeds 42,43 \
  --concurrency 6 --out "$OUT" >"$STACK_DIR/ab.out" 2>"$STACK_DIR/ab.err" ||
  fail "pressctl ab failed: $(cat "$STACK_DIR/ab.err")"
cat "$STACK_DIR/ab.out"

"$PY" - "$OUT" "$RENDERER_TRUTH_LOG" <<'PY' || fail "results.jsonl / summary.json disagree with the renderer"
import json, sys, collections
out, truth_path = sys.argv[1], sys.argv[2]
results = [json.loads(l) for l in open(out + "/results.jsonl")]
summary = json.load(open(out + "/summary.json"))
truth = [json.loads(l) for l in open(truth_path)]
models, seeds, jobs = ["clean", "sloppy", "gpt_like"], [42, 43], {"edit-0026", "avatar-0017", "esc-1"}
assert len(results) == 3 * 2 * 3, len(results)
keys = collections.Counter((r["job_id"], r["seed"], r["model"]) for r in results)
assert set(keys) == {(j, s, m) for j in jobs for s in seeds for m in models} and max(keys.values()) == 1, keys
# The renderer drew one image per request (no retries: no faults), per model.
drawn = collections.Counter(t["model"] for t in truth)
assert drawn == {m: 6 for m in models}, drawn
for r in results:
    assert r["rendered"] and r["image"] and r["pass"] is not None, r
    assert set(r["timings_ms"]) == {"dns", "connect", "tls", "first_byte", "transfer", "decode", "verify", "request"}, r
    assert r["timings_ms"]["first_byte"] > 0 and r["timings_ms"]["verify"] > 0, r["timings_ms"]
    assert r["timings_ms"]["tls"] == 0, "plain HTTP has no TLS step"
    # Same prompt for every model of a job and seed.
    assert r["prompt"] == next(x["prompt"] for x in results if x["job_id"] == r["job_id"]), r["prompt"]
# Seeds: the raw models were sent the seeds asked for, the OpenAI dialect none.
raw_seeds = collections.Counter((t["model"], t["seed"]) for t in truth if t["model"] != "gpt_like")
assert raw_seeds == {(m, s): 3 for m in ("clean", "sloppy") for s in seeds}, raw_seeds
for r in results:
    assert r["seed_sent"] == (r["model"] != "gpt_like"), r
by_model = {m["model"]: m for m in summary["models"]}
assert by_model["gpt_like"]["seed_sent"] is False and "no seed" in by_model["gpt_like"]["seed_note"], by_model["gpt_like"]
# The truth: sloppy made mistakes, the others none. Our verdicts must rank them alike.
mistakes = collections.Counter(t["model"] for t in truth if t["mistake"] != "none")
assert mistakes["sloppy"] > 0 and mistakes["clean"] == 0 and mistakes["gpt_like"] == 0, mistakes
passed = collections.Counter(r["model"] for r in results if r["pass"])
assert passed["sloppy"] < passed["clean"], passed
assert passed["sloppy"] <= 6 - mistakes["sloppy"] + 1, (passed, mistakes)
# summary.json agrees with the lines.
for m in models:
    s = by_model[m]
    assert s["requests"] == 6 and s["accepted"] == passed[m], s
    assert abs(s["pass_rate"] - passed[m] / 6) < 1e-9, s
    cost = sum(r["cost_usd"] for r in results if r["model"] == m)
    assert abs(s["usd_per_image"] - cost / 6) < 1e-9, s
    if passed[m]:
        assert abs(s["usd_per_accepted"] - cost / passed[m]) < 1e-9, s
    for step in ("dns", "connect", "first_byte", "transfer", "decode", "verify", "request"):
        p = s["steps_ms"][step]
        assert p["p50"] <= p["p95"] <= p["p99"], (m, step, p)
    assert set(s["pass_rate_by_check"]) == {"sanity", "text", "layout", "contrast", "palette"}, s
assert by_model["sloppy"]["pass_rate_by_check"]["text"] < 1.0, by_model["sloppy"]
# Diffs: one per job x seed; where sloppy failed on text and clean passed, "text" differs.
assert len(summary["diffs"]) == 6, len(summary["diffs"])
for d in summary["diffs"]:
    per = d["models"]
    if per["clean"]["pass"] and per["sloppy"]["pass"] is False:
        assert d["verdicts_differ"] and d["differing_checks"], d
        assert [l["read"] for l in per["clean"]["reading"]] != [l["read"] for l in per["sloppy"]["reading"]], d
print("results ok: passed", dict(passed), "truth mistakes", dict(mistakes))
PY

! grep -rq "$AB_RENDER_KEY" "$OUT" "$STACK_DIR/ab.out" "$STACK_DIR/ab.err" || fail "the API key was written out"

# ---- The report in a real browser ----
EXPR='(() => {
  const imgs = [...document.images];
  return {
    tables: Object.fromEntries([...document.querySelectorAll("table")].map(t => [t.id, t.rows.length])),
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    not_data: imgs.filter(i => !i.src.startsWith("data:image/png;base64,")).length,
    plots: [...document.querySelectorAll("svg[id^=plot-]")].map(s => s.id),
    cdf_lines: document.querySelectorAll("#plot-latency-cdf polyline").length,
    check_bars: document.querySelectorAll("#plot-pass-by-check rect").length,
    cost_points: document.querySelectorAll("#plot-cost-vs-pass circle").length,
    overlays: document.querySelectorAll(".frame svg.boxes rect").length,
    jobs: document.querySelectorAll("section.job").length,
    escaped: [...document.querySelectorAll("section.job p.note")].some(p => p.textContent.includes("<img src=x onerror=alert(1)> & co")),
    external: [...document.querySelectorAll("[src],[href]")].filter(e => !/^(data:|#)/.test(e.getAttribute("src") || e.getAttribute("href"))).length,
    scripts: document.scripts.length
  };
})()'
"$PY" "$ROOT/tests/browser.py" --eval "file://$OUT/report.html" "$EXPR" >"$STACK_DIR/browser.json" ||
  fail "chromium could not load the report"
"$PY" - "$STACK_DIR/browser.json" <<'PY' || fail "the report's DOM in chromium is not what it should be"
import json, sys
b = json.load(open(sys.argv[1]))
v = b["value"]
print("browser:", json.dumps(v))
assert not b["failed"], b["failed"]
assert not b["errors"], b["errors"]
others = [u for u in b["requests"] if not u.startswith("data:")]
assert len(others) == 1 and others[0].startswith("file://") and others[0].endswith("/report.html"), others
assert v["tables"] == {"summary": 4, "checks": 4, "steps": 1 + 3 * 8}, v["tables"]
assert v["images"] == 18 and v["decoded"] == 18 and v["not_data"] == 0, v
assert v["plots"] == ["plot-latency-cdf", "plot-pass-by-check", "plot-cost-vs-pass"], v["plots"]
assert v["cdf_lines"] == 3 and v["check_bars"] == 5 * 3 and v["cost_points"] == 3, v
assert v["overlays"] >= 18, v  # every image has at least one text box drawn on it
assert v["jobs"] == 6 and v["escaped"] and v["external"] == 0 and v["scripts"] == 0, v
PY

# ---- Bad arguments: one sentence, exit 2 ----
expect_usage() {
  local want=$1; shift
  local rc=0
  "$BIN/pressctl" ab "$@" >"$STACK_DIR/bad.out" 2>"$STACK_DIR/bad.err" || rc=$?
  [ "$rc" -eq 2 ] || fail "pressctl ab $*: expected exit 2, got $rc"
  grep -q -- "$want" "$STACK_DIR/bad.err" || fail "pressctl ab $*: expected \"$want\", got: $(cat "$STACK_DIR/bad.err")"
}
expect_usage 'unknown model "nope": expected one of' --config "$CFG" --models clean,nope --jobs "$JOBS" --seeds 1 --out "$STACK_DIR/x"
expect_usage '"clean" is named twice' --config "$CFG" --models clean,clean --jobs "$JOBS" --seeds 1 --out "$STACK_DIR/x"
expect_usage '--seeds: expected integers' --config "$CFG" --models clean --jobs "$JOBS" --seeds 1,x --out "$STACK_DIR/x"
expect_usage '--seeds: expected 1 to' --config "$CFG" --models clean --jobs "$JOBS" --seeds 1, --out "$STACK_DIR/x"
expect_usage '--concurrency: expected an integer from 1 to 1024' --config "$CFG" --models clean --jobs "$JOBS" --seeds 1 --concurrency 0 --out "$STACK_DIR/x"
echo '{"job_id": "a", "asset_class": "thumbnail", "prompt": "p", "size": "huge"}' >"$STACK_DIR/bad.jsonl"
expect_usage 'bad.jsonl:1: job: size: expected' --config "$CFG" --models clean --jobs "$STACK_DIR/bad.jsonl" --seeds 1 --out "$STACK_DIR/x"
expect_usage '--models, --jobs and --out are required' --config "$CFG" --models clean
echo "ab ok"
