#!/usr/bin/env bash
# test_renderer.sh — the reference renderer over real HTTP: every provider dialect
# (status, content type, decoded image size, truth header), determinism, errors in
# each dialect's shape, body cap, every fault kind, guidance lowering the mistake
# rate (statistically, over fixed seeds), prerendered cache, clean shutdown.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init renderer

cat >"$STACK_DIR/renderer.json" <<'EOF'
{
  "tiers": {"preview": {"model": "sd3.5_turbo", "max_latency_ms": 800},
            "production": {"model": "imagen4_ultra", "max_latency_ms": 2200}},
  "models": {
    "sd3.5_turbo": {"price_usd": 0.02, "latency_p50_ms": 0, "latency_p99_ms": 0,
                    "rates": {"typo": 0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}},
    "imagen4_ultra": {"price_usd": 0.06, "latency_p50_ms": 20, "latency_p99_ms": 60},
    "always_typo": {"latency_p50_ms": 0, "latency_p99_ms": 0,
                    "rates": {"typo": 1.0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}},
    "bench": {"latency_p50_ms": 0, "latency_p99_ms": 0, "prerendered": true},
    "f_status": {"latency_p50_ms": 0, "fault": {"kind": "status", "status": 429, "first_n": 2, "retry_after_s": 3}},
    "f_timeout": {"latency_p50_ms": 0, "fault": {"kind": "timeout", "first_n": 1}},
    "f_garbage": {"latency_p50_ms": 0, "fault": {"kind": "garbage", "rate": 1.0}},
    "f_safety": {"latency_p50_ms": 0, "fault": {"kind": "safety", "rate": 1.0}},
    "stab_large": {"provider": "stability", "provider_model": "sd3.5-large", "latency_p50_ms": 0, "latency_p99_ms": 0},
    "stab_turbo": {"provider": "stability", "provider_model": "sd3.5-large-turbo", "latency_p50_ms": 0, "latency_p99_ms": 0},
    "stab_safety": {"provider": "stability", "provider_model": "sd3.5-flash", "latency_p50_ms": 0, "fault": {"kind": "safety", "rate": 1.0}},
    "imagen_real": {"provider": "vertex", "provider_model": "imagen-4.0-generate-001", "latency_p50_ms": 0, "latency_p99_ms": 0}
  }
}
EOF
start_renderer "$STACK_DIR/renderer.json"
U=$PRESSROOM_RENDERER
T=$STACK_DIR
checks=0
ok() { checks=$((checks + 1)); echo "ok  $*"; }

# post URL BODY [curl args...]: body to $T/body, headers to $T/hdr, prints the status.
post() {
  local url=$1 body=$2; shift 2
  curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST "$U$url" --data-binary "$body" "$@"
}
header() { grep -i "^$1:" "$T/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
# png_size FILE: "WxH" from the IHDR of a real PNG, or "not-a-png".
png_size() {
  if [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then echo not-a-png; return; fi
  local b; read -r -a b <<<"$(od -An -tu1 -j16 -N8 "$1")"
  echo "$(( (b[0]<<24)|(b[1]<<16)|(b[2]<<8)|b[3] ))x$(( (b[4]<<24)|(b[5]<<16)|(b[6]<<8)|b[7] ))"
}
# json EXPR: evaluates a Python expression over the JSON body as `d`.
json() { python3 -c "import json,sys; d=json.load(open('$T/body')); print($1)"; }
# b64png EXPR: decodes the base64 at EXPR of the JSON body into $T/img.png.
b64png() { python3 -c "import json,base64; d=json.load(open('$T/body')); open('$T/img.png','wb').write(base64.b64decode($1, validate=True))"; }
truth() { header X-Pressroom-Truth | python3 -c "import json,sys; t=json.load(sys.stdin); print($1)"; }

# ==== Dialects ====

code=$(post /render '{"prompt":"product shot with overlay text \"SALE\" palette #1E3A8A #FACC15","seed":42,"size":"768x512"}')
[ "$code" = 200 ] || fail "raw: expected 200, got $code: $(cat "$T/body")"
[ "$(header Content-Type)" = image/png ] || fail "raw: content type $(header Content-Type)"
[ "$(png_size "$T/body")" = 768x512 ] || fail "raw: image size $(png_size "$T/body")"
[ "$(header X-Pressroom-Price-Micros)" = 20000 ] || fail "raw: price header $(header X-Pressroom-Price-Micros)"
[ "$(truth 't["lines"], t["background"], t["ink"], t["mistake"], t["model"], t["seed"]')" = \
  "['SALE'] #1E3A8A #FACC15 none sd3.5_turbo 42" ] || fail "raw: truth $(header X-Pressroom-Truth)"
cp "$T/body" "$T/first.png"
ok "raw /render draws a 768x512 PNG with truth and price headers"

post /render '{"prompt":"product shot with overlay text \"SALE\" palette #1E3A8A #FACC15","seed":42,"size":"768x512"}' >/dev/null
cmp -s "$T/body" "$T/first.png" || fail "raw: the same request gave different bytes"
post /render '{"prompt":"product shot with overlay text \"SALE\" palette #1E3A8A #FACC15","seed":43,"size":"768x512","mistake":"typo"}' >/dev/null
cmp -s "$T/body" "$T/first.png" && fail "raw: a different seed and mistake gave the same bytes"
ok "same request gives identical bytes; a different one does not"

code=$(post /v1/images/generations '{"model":"imagen4_ultra","prompt":"headline \"Hello World\"","n":1,"size":"1536x1024","response_format":"b64_json"}' -H 'Authorization: Bearer sk-test')
[ "$code" = 200 ] || fail "openai: expected 200, got $code: $(cat "$T/body")"
[ "$(header Content-Type)" = application/json ] || fail "openai: content type"
[ "$(json 'len(d["data"]), type(d["created"]).__name__, d["data"][0]["revised_prompt"]')" = "1 int headline \"Hello World\"" ] \
  || fail "openai: shape $(head -c 200 "$T/body")"
b64png 'd["data"][0]["b64_json"]'
[ "$(png_size "$T/img.png")" = 1536x1024 ] || fail "openai: image size $(png_size "$T/img.png")"
[ "$(truth 't["lines"], t["model"]')" = "['Hello World'] imagen4_ultra" ] || fail "openai: truth"
[ "$(header X-Pressroom-Price-Micros)" = 60000 ] || fail "openai: price"
ok "openai /v1/images/generations returns b64_json of a 1536x1024 PNG"

code=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$U/v2beta/stable-image/generate/sd3" -H 'Accept: image/*' \
  -F 'prompt=poster "BIG NEWS" "today only" #FF0000 text area: 10%,50%,80%,40%' -F model=sd3.5-large \
  -F seed=7 -F aspect_ratio=16:9 -F output_format=png -F cfg_scale=5)
[ "$code" = 200 ] || fail "stability: expected 200, got $code: $(cat "$T/body")"
[ "$(header Content-Type)" = image/png ] || fail "stability: content type"
[ "$(png_size "$T/body")" = 912x512 ] || fail "stability: 16:9 size $(png_size "$T/body")"
[ "$(header seed)" = 7 ] && [ "$(header finish-reason)" = SUCCESS ] || fail "stability: seed/finish-reason headers"
[ "$(truth 'all(256 <= b[1] and b[1]+b[3] <= 462 for b in t["boxes"]), len(t["lines"])')" = "True 2" ] \
  || fail "stability: text outside its text area: $(header X-Pressroom-Truth)"
ok "stability sd3 multipart gives a 912x512 PNG with seed and finish-reason headers, text in its area"

code=$(post /sdapi/v1/txt2img '{"prompt":"avatar with '"'"'JD'"'"'","negative_prompt":"blurry","seed":-1,"width":512,"height":768,"cfg_scale":7,"steps":20,"override_settings":{"sd_model_checkpoint":"sd3.5_turbo"}}')
[ "$code" = 200 ] || fail "a1111: expected 200, got $code: $(cat "$T/body")"
[ "$(json 'json.loads(d["info"])["sd_model_name"], d["parameters"]["width"], d["parameters"]["height"]')" = "sd3.5_turbo 512 768" ] \
  || fail "a1111: shape $(head -c 300 "$T/body")"
b64png 'd["images"][0]'
[ "$(png_size "$T/img.png")" = 512x768 ] || fail "a1111: size $(png_size "$T/img.png")"
[ "$(truth 't["lines"]')" = "['JD']" ] || fail "a1111: single-quoted text not drawn: $(header X-Pressroom-Truth)"
ok "a1111 txt2img returns images[] with a 512x768 PNG and info"

VX=/v1/projects/demo/locations/us-central1/publishers/google/models
for ar in 1:1/512x512 16:9/912x512 9:16/512x912; do
  code=$(post "$VX/imagen4_ultra:predict" "{\"instances\":[{\"prompt\":\"cover \\\"EDITORIAL\\\"\"}],\"parameters\":{\"sampleCount\":1,\"seed\":5,\"addWatermark\":false,\"aspectRatio\":\"${ar%/*}\"}}")
  [ "$code" = 200 ] || fail "vertex: expected 200, got $code: $(cat "$T/body")"
  [ "$(json 'd["predictions"][0]["mimeType"]')" = image/png ] || fail "vertex: mimeType"
  b64png 'd["predictions"][0]["bytesBase64Encoded"]'
  [ "$(png_size "$T/img.png")" = "${ar#*/}" ] || fail "vertex: ${ar%/*} size $(png_size "$T/img.png")"
done
ok "vertex predict returns bytesBase64Encoded PNGs sized by aspectRatio"

# ==== Errors ====

[ "$(post /v1/images/generations '{"model":"dall-e-9","prompt":"x"}')" = 404 ] || fail "openai unknown model: not 404"
[ "$(json 'd["error"]["code"]')" = model_not_found ] || fail "openai 404 shape: $(cat "$T/body")"
[ "$(post /render '{"model":"nope","prompt":"x"}')" = 404 ] || fail "raw unknown model: not 404"
[ "$(post "$VX/nope:predict" '{"instances":[{"prompt":"x"}]}')" = 404 ] || fail "vertex unknown model: not 404"
[ "$(json 'd["error"]["status"], d["error"]["code"]')" = "NOT_FOUND 404" ] || fail "vertex 404 shape: $(cat "$T/body")"
[ "$(curl -s -o "$T/body" -w '%{http_code}' "$U/v2beta/stable-image/generate/sd3" -F model=sd3.5-medium -F prompt=x)" = 404 ] \
  || fail "stability model not configured here: not 404"
[ "$(json 'd["name"], len(d["errors"]), len(d["id"])')" = "not_found 1 32" ] || fail "stability 404 shape: $(cat "$T/body")"
ok "unknown model -> 404 in each dialect's error shape"

for url in /render /v1/images/generations /sdapi/v1/txt2img "$VX/imagen4_ultra:predict"; do
  want=400; [ "$url" = /sdapi/v1/txt2img ] && want=422 # FastAPI's validation status
  for bad in '{"prompt":' '[1,2]' '{"prompt":42}' '{"prompt":"x","seed":"abc"}' $'\x00\xff'; do
    code=$(post "$url" "$bad")
    [ "$code" = $want ] || fail "$url with malformed body '$bad': expected $want, got $code"
    python3 -c "import json; json.load(open('$T/body'))" || fail "$url: 400 body is not JSON: $(cat "$T/body")"
  done
done
code=$(curl -s -o "$T/body" -w '%{http_code}' "$U/v2beta/stable-image/generate/sd3" -H 'Content-Type: multipart/form-data; boundary=XX' \
  --data-binary $'--XX\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nunterminated')
[ "$code" = 400 ] && [ "$(json 'd["name"]')" = bad_request ] || fail "stability malformed multipart: $code $(cat "$T/body")"
[ "$(post /render '{"prompt":"\"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" \"h\" \"i\""}')" = 400 ] || fail "9 quoted lines: not 400"
grep -q 'at most 8' "$T/body" || fail "9 quoted lines: error does not say what is expected: $(cat "$T/body")"
[ "$(post /render '{"prompt":"\"x\"","mistake":"smudge"}')" = 400 ] || fail "unknown forced mistake: not 400"
head -c 1100000 /dev/zero | tr '\0' 'a' >"$T/big"
[ "$(curl -s -o "$T/body" -w '%{http_code}' "$U/render" --data-binary @"$T/big")" = 413 ] || fail "1.1 MB body: not 413"
[ "$(curl -s -o "$T/body" -w '%{http_code}' -H 'Transfer-Encoding: chunked' "$U/render" --data-binary @"$T/big")" = 413 ] \
  || fail "1.1 MB chunked body: not 413"
[ "$(curl -s -o "$T/body" -w '%{http_code}' "$U/nowhere" -d '{}')" = 404 ] || fail "unknown path: not 404"
[ "$(curl -s -o "$T/body" -w '%{http_code}' "$U/render")" = 405 ] || fail "GET /render: not 405"
ok "malformed JSON/multipart/prompt -> 400 JSON; oversized -> 413; unknown path 404; GET 405"

# ==== As strict as the providers' references ====
# Each dialect refuses what its provider's public reference does not document, with
# that provider's status and error shape (docs/providers.md, tests/contracts/).

code=$(post /v1/images/generations '{"model":"imagen4_ultra","prompt":"x","size":"1024x1024","seed":3}')
[ "$code" = 400 ] || fail "openai seed: expected 400, got $code"
[ "$(json 'd["error"]["type"], d["error"]["code"], d["error"]["param"]')" = "invalid_request_error unknown_parameter seed" ] \
  || fail "openai unknown parameter shape: $(cat "$T/body")"
[ "$(post /v1/images/generations '{"model":"imagen4_ultra","prompt":"x","guidance_scale":9}')" = 400 ] && \
  [ "$(json 'd["error"]["param"]')" = guidance_scale ] || fail "openai guidance_scale: $(cat "$T/body")"
[ "$(post /v1/images/generations '{"model":"imagen4_ultra","prompt":"x","size":"768x512"}')" = 400 ] && \
  [ "$(json 'd["error"]["code"], d["error"]["param"]')" = "invalid_value size" ] || fail "openai 768x512: $(cat "$T/body")"
[ "$(post /v1/images/generations '{"model":"dall-e-3","prompt":"x","size":"1536x1024"}')" = 400 ] && \
  [ "$(json 'd["error"]["param"]')" = size ] || fail "openai dall-e-3 at a gpt-image size: $(cat "$T/body")"
[ "$(post /v1/images/generations '{"model":"gpt-image-1","prompt":"x","response_format":"b64_json"}')" = 400 ] && \
  [ "$(json 'd["error"]["param"]')" = response_format ] || fail "openai gpt-image-1 response_format: $(cat "$T/body")"
ok "openai: unknown parameters, sizes a model does not take, response_format on gpt-image -> 400 invalid_request_error naming the param"

stab() { curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$U/v2beta/stable-image/generate/sd3" -H 'Accept: image/*' -F prompt=x "$@"; }
[ "$(stab -F model=sd3.5-large -F cfg_scale=10.5)" = 400 ] && [ "$(json 'd["name"], len(d["errors"])')" = "bad_request 1" ] \
  || fail "stability cfg_scale 10.5: $(cat "$T/body")"
[ "$(stab -F model=sd3.5-large -F guidance=7)" = 400 ] && grep -q guidance "$T/body" || fail "stability unknown field: $(cat "$T/body")"
[ "$(stab -F model=sd3.5_turbo)" = 400 ] && grep -q 'sd3.5-large-turbo' "$T/body" || fail "stability alias as model id: $(cat "$T/body")"
[ "$(stab -F model=sd3.5-large-turbo -F negative_prompt=blurry)" = 400 ] || fail "stability negative prompt on turbo: $(cat "$T/body")"
[ "$(stab -F model=sd3.5-large -F cfg_scale=10 -F negative_prompt=blurry -F style_preset=photographic)" = 200 ] \
  || fail "stability documented fields: $(cat "$T/body")"
ok "stability: cfg_scale outside 1..10, unknown fields, ids that are not Stability's -> 400 {name, errors}"

[ "$(post "$VX/imagen4_ultra:predict" '{"instances":[{"prompt":"x"}],"parameters":{"sampleCount":1,"addWatermark":false,"guidanceScale":9}}')" = 400 ] && \
  [ "$(json 'd["error"]["code"], d["error"]["status"]')" = "400 INVALID_ARGUMENT" ] && grep -q guidanceScale "$T/body" \
  || fail "vertex guidanceScale: $(cat "$T/body")"
[ "$(post "$VX/imagen4_ultra:predict" '{"instances":[{"prompt":"x"}],"parameters":{"seed":5}}')" = 400 ] \
  || fail "vertex seed while watermarking: $(cat "$T/body")"
[ "$(post "$VX/imagen-4.0-generate-001:predict" '{"instances":[{"prompt":"x"}],"parameters":{"addWatermark":false,"negativePrompt":"blur"}}')" = 400 ] \
  || fail "vertex negativePrompt on imagen-4: $(cat "$T/body")"
[ "$(post "$VX/imagen-4.0-generate-001:predict" '{"instances":[{"prompt":"x"}],"parameters":{"sampleCount":1,"seed":3,"addWatermark":false,"aspectRatio":"4:3","personGeneration":"dont_allow","enhancePrompt":false}}')" = 200 ] \
  || fail "vertex documented parameters: $(cat "$T/body")"
ok "vertex: guidanceScale, a seed with the watermark on, negativePrompt on imagen-4 -> 400 INVALID_ARGUMENT"

[ "$(post /sdapi/v1/txt2img '{"prompt":"x","bogus":1}')" = 422 ] && \
  [ "$(json 'd["detail"][0]["loc"], d["detail"][0]["type"]')" = "['body', 'bogus'] value_error.extra" ] \
  || fail "a1111 unknown field: $(cat "$T/body")"
[ "$(post /sdapi/v1/txt2img '{"prompt":"x","cfg_scale":31}')" = 422 ] || fail "a1111 cfg_scale 31: $(cat "$T/body")"
[ "$(post /sdapi/v1/txt2img '{"prompt":"x","width":"wide"}')" = 422 ] && [ "$(json 'd["detail"][0]["type"]')" = type_error.integer ] \
  || fail "a1111 width not an integer: $(cat "$T/body")"
[ "$(post /sdapi/v1/txt2img '{"prompt":"\"AB\"","width":770,"height":514,"override_settings":{"sd_model_checkpoint":"sd3.5_turbo"},"override_settings_restore_afterwards":false}')" = 200 ] || fail "a1111 770x514: $(cat "$T/body")"
b64png 'd["images"][0]'
[ "$(png_size "$T/img.png")" = 768x512 ] || fail "a1111 draws multiples of 8: $(png_size "$T/img.png")"
ok "a1111: unknown fields, values of the wrong type or out of the UI's range -> FastAPI's 422; sizes floored to multiples of 8"

# --api-key-file: the accepted key is the file's, re-read per request; the metadata server's token.
echo 'ya29.token-one-AAAA' >"$T/accepted.key"
start_bg renderer3 "$BIN/pressroom-renderer" --config "$T/renderer.json" --listen 127.0.0.1:0 \
  --api-key-file "$T/accepted.key" --token-lifetime-s 120
wait_for grep -q '^listening http://127.0.0.1:[0-9]*$' "$T/renderer3.out"
U3=$(sed 's/^listening //' "$T/renderer3.out")
MD=/computeMetadata/v1/instance/service-accounts/default/token
[ "$(curl -s -o "$T/body" -w '%{http_code}' "$U3$MD")" = 403 ] || fail "metadata token without Metadata-Flavor: not 403"
[ "$(curl -s -o "$T/body" -w '%{http_code}' -H 'Metadata-Flavor: Google' "$U3$MD")" = 200 ] || fail "metadata token: not 200"
[ "$(json 'd["access_token"], d["expires_in"], d["token_type"]')" = "ya29.token-one-AAAA 120 Bearer" ] || fail "metadata token: $(cat "$T/body")"
vx3() { curl -s -o "$T/body" -w '%{http_code}' "$U3$VX/imagen4_ultra:predict" -H "Authorization: Bearer $1" \
  -d '{"instances":[{"prompt":"\"A\""}],"parameters":{"addWatermark":false,"seed":1}}'; }
[ "$(vx3 ya29.token-one-AAAA)" = 200 ] || fail "key file: the current key refused: $(cat "$T/body")"
echo 'ya29.token-two-BBBB' >"$T/accepted.key"
[ "$(vx3 ya29.token-one-AAAA)" = 401 ] && [ "$(json 'd["error"]["code"], d["error"]["status"]')" = "401 UNAUTHENTICATED" ] \
  || fail "key file: the rotated-out key accepted: $(cat "$T/body")"
[ "$(vx3 ya29.token-two-BBBB)" = 200 ] || fail "key file: the new key refused: $(cat "$T/body")"
ok "--api-key-file: the file's key is accepted, a rotated-out one gets 401; the metadata endpoint serves it (403 without Metadata-Flavor)"

# ==== Faults ====

for i in 1 2; do
  [ "$(post /render '{"model":"f_status","prompt":"\"X\""}')" = 429 ] || fail "status fault: request $i not 429"
  [ "$(header Retry-After)" = 3 ] || fail "status fault: Retry-After $(header Retry-After)"
done
[ "$(post /render '{"model":"f_status","prompt":"\"X\""}')" = 200 ] || fail "status fault: request 3 (after first_n) not 200"
[ "$(post /v1/images/generations '{"model":"f_status","prompt":"x"}')" = 200 ] || fail "status fault: request 4 not 200"
ok "status fault: first_n requests get 429 with Retry-After, then images"

rc=0; curl -s -o /dev/null --max-time 1 "$U/render" -d '{"model":"f_timeout","prompt":"\"X\""}' || rc=$?
[ "$rc" = 28 ] || fail "timeout fault: curl exit $rc, expected 28 (timed out)"
[ "$(post /render '{"model":"f_timeout","prompt":"\"X\""}' --max-time 5)" = 200 ] || fail "timeout fault: next request not 200"
ok "timeout fault: the first request hangs past the client timeout, the next one answers"

for v in 1 2 3; do
  [ "$(post /v1/images/generations '{"model":"f_garbage","prompt":"x"}')" = 200 ] || fail "garbage: not 200"
  python3 - "$T/body" 2>/dev/null <<'EOF' && fail "garbage: openai body $v decoded to a PNG: $(head -c 200 "$T/body")"
import json, base64, sys
d = json.load(open(sys.argv[1]))
png = base64.b64decode(d["data"][0]["b64_json"], validate=True)
sys.exit(0 if png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 100 else 1)
EOF
done
[ "$(post /render '{"model":"f_garbage","prompt":"x"}')" = 200 ] || fail "garbage raw: not 200"
size=$(png_size "$T/body")
[ "$size" = not-a-png ] || [ "$(wc -c <"$T/body")" -lt 60 ] || fail "garbage raw: a full PNG ($size)"
ok "garbage fault: 200 with bodies that do not decode to an image"

[ "$(post /v1/images/generations '{"model":"f_safety","prompt":"x"}')" = 400 ] || fail "safety openai: not 400"
[ "$(json 'd["error"]["code"]')" = content_policy_violation ] || fail "safety openai: code"
curl -s -o "$T/body" -D "$T/hdr" "$U/v2beta/stable-image/generate/sd3" -F model=sd3.5-flash -F prompt=x -F seed=4
[ "$(header finish-reason)" = CONTENT_FILTERED ] || fail "safety stability: finish-reason $(header finish-reason)"
[ "$(post "$VX/f_safety:predict" '{"instances":[{"prompt":"x"}]}')" = 200 ] || fail "safety vertex: not 200"
json '"raiFilteredReason" in d["predictions"][0]' | grep -q True || fail "safety vertex: no raiFilteredReason"
[ "$(post /render '{"model":"f_safety","prompt":"x"}')" = 400 ] && [ "$(json 'd["error"]["code"]')" = content_filtered ] \
  || fail "safety raw: $(cat "$T/body")"
ok "safety fault: each dialect's content-filter answer"

# ==== Mistakes and guidance ====

typos_at() { # typos_at GUIDANCE: how many of 20 fixed seeds come back with a typo
  local s
  : >"$T/truths"
  for s in $(seq 1 20); do
    post /render "{\"model\":\"always_typo\",\"prompt\":\"banner \\\"SUMMER SALE\\\"\",\"seed\":$s,\"guidance\":$1}" >/dev/null
    header X-Pressroom-Truth >>"$T/truths"
  done
  python3 - "$T/truths" <<'PY'
import json, sys
truths = [json.loads(l) for l in open(sys.argv[1])]
assert len(truths) == 20, "expected 20 truth headers, found %d" % len(truths)
for t in truths:  # a typo in the truth must show in the drawn line, and only then
    assert (t["mistake"] == "typo") == (t["lines"][0] != "SUMMER SALE"), t
print(sum(t["mistake"] == "typo" for t in truths))
PY
}
at7=$(typos_at 7); at28=$(typos_at 28)
echo "typos out of 20 seeds: guidance 7 -> $at7, guidance 28 -> $at28 (expected rate 1.0 and 0.0625)"
[ "$at7" = 20 ] || fail "rate_typo 1.0 at guidance 7: only $at7/20 typos"
[ "$at28" -le 6 ] || fail "guidance 28 should cut the typo rate to 1/16: $at28/20 typos"
post /render '{"model":"always_typo","prompt":"\"SUMMER SALE\"","seed":1,"mistake":"none"}' >/dev/null
[ "$(truth 't["mistake"], t["lines"][0]')" = "none SUMMER SALE" ] || fail "forced none: $(header X-Pressroom-Truth)"
post /render '{"prompt":"\"SUMMER SALE\" #FFFFFF","seed":1,"mistake":"offzone"}' >/dev/null
[ "$(truth 't["mistake"]')" = offzone ] || fail "forced offzone: $(header X-Pressroom-Truth)"
post /render '{"prompt":"\"SUMMER SALE\" #FFFFFF #000000","seed":1,"mistake":"off_palette"}' >/dev/null
[ "$(truth 't["mistake"], t["background"] != "#FFFFFF"')" = "off_palette True" ] || fail "forced off_palette"
ok "guidance lowers the mistake rate; forced mistakes are drawn"

# ==== Prerendered, keep-alive, shutdown ====

post /render '{"model":"bench","prompt":"thumb \"SALE\"","seed":1}' >/dev/null; cp "$T/body" "$T/bench1.png"
post /render '{"model":"bench","prompt":"thumb \"SALE\"","seed":2}' >/dev/null
cmp -s "$T/body" "$T/bench1.png" || fail "prerendered: same prompt and size gave different bytes"
[ -n "$(header X-Pressroom-Truth)" ] || fail "prerendered: no truth header"
ok "prerendered model serves the cached image per (prompt, size)"

conns=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' "$U/render" -d '{"prompt":"\"A\""}' "$U/render" -d '{"prompt":"\"B\""}' | paste -sd' ')
[ "$conns" = "1 0" ] || fail "keep-alive: connections per request '$conns', expected '1 0'"
ok "keep-alive: two requests over one connection"

start_bg renderer2 "$BIN/pressroom-renderer" --config "$T/renderer.json" --listen 127.0.0.1:0
R2=$LAST_PID
wait_for grep -q '^listening http://127.0.0.1:[0-9]*$' "$T/renderer2.out"
[ "$(wc -l <"$T/renderer2.out")" = 1 ] || fail "stdout: expected exactly one line, found $(cat "$T/renderer2.out")"
U2=$(sed 's/^listening //' "$T/renderer2.out")
curl -s -o /dev/null --max-time 20 "$U2/render" -d '{"model":"f_timeout","prompt":"\"X\""}' &
CURL=$!
sleep 0.3
t0=$(date +%s%N); kill -TERM "$R2"; rc=0; wait "$R2" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$CURL" 2>/dev/null || true
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc, expected 0"
[ "$ms" -lt 3000 ] || fail "SIGTERM with a request sleeping in a timeout fault took ${ms} ms"
ok "prints one listening line; SIGTERM exits 0 in ${ms} ms despite a sleeping request"

kill -0 "$RENDERER_PID" || fail "the renderer died during the test: $(tail -5 "$T/renderer.log")"
t0=$(date +%s%N); kill -TERM "$RENDERER_PID"; rc=0; wait "$RENDERER_PID" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" = 0 ] && [ "$ms" -lt 3000 ] || fail "after the whole test, SIGTERM took ${ms} ms and gave exit status $rc"
grep -q '"event":"stopped"' "$T/renderer.log" || fail "no clean stop in the log: $(tail -3 "$T/renderer.log")"
ok "after all of the above, SIGTERM exits 0 in ${ms} ms"
echo "renderer: all $checks checks passed"
