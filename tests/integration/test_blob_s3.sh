#!/usr/bin/env bash
# The s3:// blob store against a real S3-protocol server (s3rver, on loopback),
# through `pressctl blob`, which opens the store exactly as every worker does:
#   - what is put is read back byte for byte, path style and virtual-host style, with
#     credentials from the environment or from an AWS credentials file;
#   - a read bounded below the object's size is refused (blob_too_large), a missing
#     key is blob_missing;
#   - URIs outside the root (another prefix, another bucket, "..", "//", escapes) are
#     refused as blob_outside_store without a request reaching the store;
#   - start-up stops with one sentence naming the key: an unknown access key (403,
#     "refused the credentials"), an unreachable endpoint, a missing bucket, an unknown
#     scheme; preview-worker and verifier-worker stop the same way;
#   - a presigned URL fetches the object with plain curl and no credentials, and stops
#     working once it expired;
#   - the secret never appears in any output.
# s3rver refuses unknown access keys but checks no SigV4 signature (so a wrong secret
# passes there; tests/unit/test_blob_sigv4.c checks our signing against AWS's example).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init blob-s3
start_s3 pressroom
export PRESSROOM_DEV_DIR="$STACK_DIR/nodev"
export PRESSROOM_BLOBS=s3://pressroom/blobs
PC="$BIN/pressctl"
OUT="$STACK_DIR/out"; mkdir -p "$OUT"
config() { echo "$1" >"$STACK_DIR/config.json"; export PRESSROOM_CONFIG="$STACK_DIR/config.json"; }
config "{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\", \"max_retries\": 1}}"
requests() { grep -c 'info' "$STACK_DIR/s3rver.log" || true; }

# ---- put, get, bounds, missing --------------------------------------------------
head -c 5000 /dev/urandom >"$OUT/blob.png"
"$PC" blob check >"$OUT/check.out" 2>&1 || fail "check: $(cat "$OUT/check.out")"
grep -q '^ok: s3://pressroom/blobs$' "$OUT/check.out" || fail "check printed: $(cat "$OUT/check.out")"
URI=s3://pressroom/blobs/job-1/preview-1.png
"$PC" blob put "$OUT/blob.png" "$URI" || fail "put failed"
[ -f "$STACK_DIR/s3/pressroom/blobs/job-1/preview-1.png._S3rver_object" ] \
  || fail "the object is not in s3rver's bucket folder: $(find "$STACK_DIR/s3" -type f | head)"
"$PC" blob get "$URI" >"$OUT/back.png" || fail "get failed"
cmp -s "$OUT/blob.png" "$OUT/back.png" || fail "get returned other bytes"
"$PC" blob get "$URI" --max 5000 >/dev/null || fail "a read bounded at the exact size was refused"
if "$PC" blob get "$URI" --max 4999 >"$OUT/small.out" 2>"$OUT/small.err"; then fail "a read bounded at 4999 returned"; fi
grep -q 'blob_too_large: .*5000 bytes, more than the limit of 4999' "$OUT/small.err" || fail "bounded read: $(cat "$OUT/small.err")"
[ ! -s "$OUT/small.out" ] || fail "a refused read printed bytes"
if "$PC" blob get s3://pressroom/blobs/job-1/none.png 2>"$OUT/missing.err"; then fail "a missing key was read"; fi
grep -q 'blob_missing: .*404 NoSuchKey' "$OUT/missing.err" || fail "missing: $(cat "$OUT/missing.err")"

# ---- outside the store: refused before any request -------------------------------
before=$(requests)
for uri in s3://pressroom/other/x.png s3://elsewhere/blobs/x.png s3://pressroom/blobs/../x.png \
  s3://pressroom/blobs//x.png s3://pressroom/blobs/%2e%2e/x.png s3://pressroom/blobsx/y.png \
  s3://pressroom/blobs/.hidden file:///etc/passwd; do
  if "$PC" blob get "$uri" >/dev/null 2>"$OUT/outside.err"; then fail "$uri was read"; fi
  grep -q 'blob_outside_store' "$OUT/outside.err" || fail "$uri: $(cat "$OUT/outside.err")"
done
# Only the start-up probe of each pressctl run reached the store (one GET each).
[ "$(( $(requests) - before ))" -eq 8 ] || fail "outside-store URIs reached the store: $(( $(requests) - before )) requests for 8 probes"

# ---- virtual-host style -----------------------------------------------------------
config "{\"s3\": {\"endpoint\": \"$S3_VHOST_ENDPOINT\", \"addressing\": \"virtual\"}}"
"$PC" blob get "$URI" >"$OUT/vhost.png" || fail "virtual-host get failed"
cmp -s "$OUT/blob.png" "$OUT/vhost.png" || fail "virtual-host get returned other bytes"
grep -q 'pressroom.s3.localhost' <("$PC" blob url "$URI") || fail "virtual-host URL does not name the bucket host"

# ---- credentials from a file ------------------------------------------------------
cat >"$STACK_DIR/credentials" <<EOF
[default]
aws_access_key_id = NOSUCHKEY
aws_secret_access_key = not-this-one-either

[pressroom]
aws_access_key_id = S3RVER
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
EOF
config "{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\", \"credentials_file\": \"$STACK_DIR/credentials\", \"profile\": \"pressroom\"}}"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$PC" blob get "$URI" >"$OUT/file.png" || fail "credentials file: get failed"
cmp -s "$OUT/blob.png" "$OUT/file.png" || fail "credentials file: other bytes"
config "{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\", \"credentials_file\": \"$STACK_DIR/credentials\", \"profile\": \"nobody\"}}"
if "$PC" blob check 2>"$OUT/profile.err"; then fail "a missing profile was accepted"; fi
grep -q 's3.credentials_file .*expected a \[nobody\] section' "$OUT/profile.err" || fail "profile: $(cat "$OUT/profile.err")"

# ---- start-up refusals, each one sentence naming the key -------------------------
expect_refusal() { # NAME PATTERN CMD...: CMD exits non-zero and says PATTERN
  local name=$1 pattern=$2; shift 2
  if "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; then fail "$name: started"; fi
  grep -q -- "$pattern" "$OUT/$name.err" || fail "$name: expected /$pattern/, got: $(tail -n 3 "$OUT/$name.err")"
}
config "{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\"}}"
AWS_ACCESS_KEY_ID=NOSUCHKEY expect_refusal wrong-key \
  'PRESSROOM_BLOBS s3://pressroom/blobs: .*the store refused the credentials from the environment (AWS_ACCESS_KEY_ID) (HTTP 403 InvalidAccessKeyId' \
  "$PC" blob check
DEAD=$(free_port)
config "{\"s3\": {\"endpoint\": \"http://127.0.0.1:$DEAD\", \"max_retries\": 2}}"
expect_refusal unreachable "PRESSROOM_BLOBS s3://pressroom/blobs: .*the store at http://127.0.0.1:$DEAD is unreachable .* after 3 attempts" \
  "$PC" blob check
config "{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\"}}"
PRESSROOM_BLOBS=s3://no-such-bucket/x expect_refusal no-bucket 'PRESSROOM_BLOBS s3://no-such-bucket/x: .*HTTP 404 NoSuchBucket' "$PC" blob check
PRESSROOM_BLOBS=gs://pressroom/x expect_refusal scheme 'PRESSROOM_BLOBS: expected a URI starting file://... or s3://..., found "gs://pressroom/x"' "$PC" blob check
PRESSROOM_BLOBS=s3://Bad_Bucket expect_refusal bucket-name 'PRESSROOM_BLOBS: expected s3://BUCKET\[/PREFIX\] with a bucket name' "$PC" blob check
config "{\"blob_root\": \"s3://pressroom/blobs\", \"s3\": {\"endpoint\": \"$S3_ENDPOINT\"}}"
(unset PRESSROOM_BLOBS; AWS_ACCESS_KEY_ID=NOSUCHKEY expect_refusal config-key \
  '^pressctl: blob_root s3://pressroom/blobs: .*refused the credentials' "$PC" blob check)
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; HOME="$STACK_DIR" expect_refusal no-credentials \
  's3 credentials: expected AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, s3.credentials_file, or' \
  "$PC" blob check)
config "{\"s3\": {\"addressing\": \"sideways\"}}"
expect_refusal addressing 's3.addressing: expected "path" (host/bucket/key) or "virtual" (bucket.host/key), found "sideways"' "$PC" blob check
config "{\"s3\": {\"endpoint\": \"ftp://127.0.0.1:$S3_PORT\"}}"
expect_refusal endpoint 's3.endpoint: expected http://HOST\[:PORT\] or https://HOST\[:PORT\] with no path, found "ftp://' "$PC" blob check
config "{\"s3\": {\"endpoint\": \"$S3_ENDPOINT/pressroom\"}}"
expect_refusal endpoint-path 's3.endpoint: expected .* with no path' "$PC" blob check
PRESSROOM_BLOBS=s3://pressroom/.hidden expect_refusal prefix 'PRESSROOM_BLOBS: expected a prefix of names' "$PC" blob check
config "{\"blob_presign_ttl_s\": 60, \"s3\": {\"endpoint\": \"$S3_ENDPOINT\"}}"
AWS_SESSION_TOKEN="pressroom-test-session-token-$RANDOM" expect_refusal presign-token \
  'blob_presign_ttl_s: expected 0 with temporary credentials' "$PC" blob check
# Temporary credentials otherwise work (the token goes out as x-amz-security-token).
config "{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\"}}"
export AWS_SESSION_TOKEN="pressroom-test-session-token-$RANDOM"
PRESSROOM_LOG_LEVEL=debug "$PC" blob get "$URI" >"$OUT/token.png" 2>"$OUT/token.err" || fail "get with a session token: $(cat "$OUT/token.err")"
cmp -s "$OUT/blob.png" "$OUT/token.png" || fail "get with a session token returned other bytes"
if "$PC" blob url "$URI" >/dev/null 2>"$OUT/token-url.err"; then fail "a URL was presigned with a session token"; fi
grep -q 'no presigned URL with temporary credentials' "$OUT/token-url.err" || fail "token url: $(cat "$OUT/token-url.err")"
TOKEN=$AWS_SESSION_TOKEN; unset AWS_SESSION_TOKEN
config "{\"blob_presign_ttl_s\": 60}"
PRESSROOM_BLOBS="file://$STACK_DIR/files" expect_refusal presign-file 'blob_presign_ttl_s: expected 0 with a file:// store' "$PC" blob check

# The workers stop at start-up the same way (broker and Redis up, the store refusing).
cat >"$STACK_DIR/stack.json" <<JSON
{"tiers": {"preview": {"model": "m"}, "production": {"model": "m"}},
 "models": {"m": {"latency_p50_ms": 5, "latency_p99_ms": 10, $NO_MISTAKES}},
 "s3": {"endpoint": "$S3_ENDPOINT"}}
JSON
start_broker --config "$STACK_DIR/stack.json"
start_redis
export PRESSROOM_CONFIG="$STACK_DIR/stack.json"
echo "{\"s3\": {\"endpoint\": \"http://127.0.0.1:$DEAD\", \"max_retries\": 0}}" >"$STACK_DIR/dead.json"
for w in preview-worker verifier-worker production-worker; do
  AWS_ACCESS_KEY_ID=NOSUCHKEY expect_refusal "$w-key" 'PRESSROOM_BLOBS s3://pressroom/blobs: .*refused the credentials' \
    timeout 30 "$BIN/$w"
  PRESSROOM_CONFIG="$STACK_DIR/dead.json" expect_refusal "$w-dead" 'PRESSROOM_BLOBS s3://pressroom/blobs: .*unreachable' \
    timeout 30 "$BIN/$w"
done

# ---- presigned URLs -----------------------------------------------------------------
config "{\"s3\": {\"endpoint\": \"$S3_ENDPOINT\"}}"
url=$("$PC" blob url "$URI" --ttl 2)
case $url in "$S3_ENDPOINT/pressroom/blobs/job-1/preview-1.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&"*) ;;
  *) fail "presigned URL: $url" ;; esac
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY curl -sSf -o "$OUT/presigned.png" "$url" || fail "curl could not fetch the presigned URL"
cmp -s "$OUT/blob.png" "$OUT/presigned.png" || fail "the presigned URL served other bytes"
sleep 3
code=$(curl -s -o "$OUT/expired.xml" -w '%{http_code}' "$url")
[ "$code" = 403 ] && grep -q 'Request has expired' "$OUT/expired.xml" || fail "an expired URL answered $code: $(cat "$OUT/expired.xml")"

# ---- no secret anywhere -------------------------------------------------------------
for secret in "$AWS_SECRET_ACCESS_KEY" "$TOKEN"; do
  if grep -rl -- "$secret" "$OUT" "$STACK_DIR"/*.log 2>/dev/null | grep -v credentials; then
    fail "a secret appears in the files above"
  fi
done
echo "ok: s3 blob store (put/get, bounds, confinement, start-up refusals, presigned URLs)"
