#!/usr/bin/env bash
# `pressctl verify`, offline, as an operator uses it: one image (exit 0 pass, 1 fail,
# 2 error) and --batch (one verdict per line, in input order, carrying "image", "line" and "pass"; a bad line
# is an error verdict for that line, not an abort). Images come from the reference
# renderer with a forced mistake, so the expected verdicts are known.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init pressctl-verify
cat >"$STACK_DIR/config.json" <<JSON
{"tiers": {"preview": {"model": "clean", "max_latency_ms": 800}, "production": {"model": "clean", "max_latency_ms": 800}},
 "models": {"clean": {"provider": "raw", "latency_p50_ms": 0, "latency_p99_ms": 0, $NO_MISTAKES}}}
JSON
start_renderer "$STACK_DIR/config.json"
render() { # OUT MISTAKE
  curl -sf -X POST "$PRESSROOM_RENDERER/render" -H 'Content-Type: application/json' \
    -d "{\"prompt\":\"Poster with \\\"SALE\\\" and palette #0B3D91 #FFFFFF\",\"seed\":3,\"size\":\"768x512\",\"mistake\":\"$2\"}" -o "$1"
}
render "$STACK_DIR/clean.png" none
render "$STACK_DIR/typo.png" typo
render "$STACK_DIR/offpalette.png" off_palette
P="$BIN/pressctl"
export PRESSROOM_DEV_DIR="$STACK_DIR/nodev"

rc=0; "$P" verify "$STACK_DIR/clean.png" --text SALE --palette "#0B3D91,#FFFFFF" >"$STACK_DIR/v1.json" || rc=$?
[ "$rc" -eq 0 ] || fail "clean image: exit $rc, $(cat "$STACK_DIR/v1.json")"
grep -q '"pass":true' "$STACK_DIR/v1.json" || fail "clean image verdict is not a pass"

rc=0; "$P" verify "$STACK_DIR/typo.png" --text SALE >"$STACK_DIR/v2.json" || rc=$?
[ "$rc" -eq 1 ] || fail "misspelt image: exit $rc (want 1)"
grep -q '"text_mismatch"' "$STACK_DIR/v2.json" || fail "misspelt image: no text_mismatch in $(cat "$STACK_DIR/v2.json")"

rc=0; "$P" verify "$STACK_DIR/offpalette.png" --text SALE --palette "#0B3D91,#FFFFFF" >"$STACK_DIR/v3.json" || rc=$?
[ "$rc" -eq 1 ] && grep -q '"off_palette"' "$STACK_DIR/v3.json" || fail "off-palette image: exit $rc, $(cat "$STACK_DIR/v3.json")"

rc=0; "$P" verify "$STACK_DIR/nope.png" --text SALE >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "missing file: exit $rc (want 2)"
rc=0; "$P" verify "$STACK_DIR/clean.png" --min-contrast lots >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "bad argument: exit $rc (want 2)"
echo "ok: single-image mode (pass 0, fail 1, error 2)"

cat >"$STACK_DIR/batch.jsonl" <<JSONL
{"image": "$STACK_DIR/clean.png", "text": ["SALE"]}
{"image": "$STACK_DIR/typo.png", "text": ["SALE"]}
this line is not JSON
{"image": "$STACK_DIR/nope.png", "text": ["SALE"]}
{"image": "$STACK_DIR/offpalette.png", "text": ["SALE"], "palette": ["#0B3D91", "#FFFFFF"]}
JSONL
rc=0; "$P" verify --batch "$STACK_DIR/batch.jsonl" >"$STACK_DIR/batch.out" || rc=$?
[ "$rc" -eq 1 ] || fail "batch with failures: exit $rc (want 1)"
/usr/bin/python3 - "$STACK_DIR" <<'PY'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(f"{d}/batch.out")]
assert len(rows) == 5, rows
assert all("image" in r and isinstance(r["pass"], bool) for r in rows), rows
by = {r["image"].rsplit("/", 1)[-1]: r for r in rows if r["image"]}
assert by["clean.png"]["pass"] is True, by["clean.png"]
assert by["typo.png"]["pass"] is False and "text_mismatch" in by["typo.png"]["reasons"]
assert by["offpalette.png"]["pass"] is False and "off_palette" in by["offpalette.png"]["reasons"]
assert by["nope.png"]["pass"] is False and "error" in by["nope.png"], by["nope.png"]
errors = [r for r in rows if "error" in r]
assert len(errors) == 2, errors  # the non-JSON line and the missing file
# In input order, whichever finished first, each carrying its line of the file.
assert [r.get("line") for r in rows] == [1, 2, 3, 4, 5], [r.get("line") for r in rows]
assert [(r["image"] or "").rsplit("/", 1)[-1] for r in rows] == \
    ["clean.png", "typo.png", "", "nope.png", "offpalette.png"], rows
print("ok: batch mode: 5 verdicts in input order with their line, 2 of them per-line errors")
PY
