#!/usr/bin/env bash
# One redaction rule everywhere: secrets never leave a process. The workers hold an
# OpenAI-dialect key and an A1111 basic-auth "user:password"; the reference renderer
# accepts neither and answers 503 quoting the credentials it received (as providers
# echo a wrong key), so every render is retried (model_retry debug lines carry the
# provider's message) and each job ends rejected with that message in its detail.
# Kafka credentials come from the environment: one a running worker uses, one
# mistyped property that stops a worker at start-up. Everything runs at debug level.
# Then every log, every stderr and every message on every pressroom.* topic is
# searched for each secret in each encoding sent (raw, Bearer, Basic base64, the
# A1111 password alone): none may appear, and "[redacted]" must, where they were.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init redaction

export PRESSROOM_TEST_OPENAI_KEY="sk-test-pressroom-0b1c2d3e4f5a6b7c"
export PRESSROOM_TEST_A1111_AUTH="pressroom:a1111-webui-pass-9x7"
export PRESSROOM_TEST_RENDERER_KEY="renderer-accepts-only-this-key-42"
KAFKA_SECRET="hunter2secret-kafka-sasl"
MISTYPED_SECRET="hunter2secret-mistyped-ssl"

# breaker_failures 100: the breakers stay closed, so every job's detail is the echo
# (not "circuit open").
cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "dall-e-3", "fallbacks": ["sd_webui"], "max_latency_ms": 300, "max_retries": 1, "breaker_failures": 100},
    "production": {"model": "dall-e-3", "fallbacks": ["sd_webui"], "max_latency_ms": 300, "max_retries": 1, "breaker_failures": 100}
  },
  "models": {
    "dall-e-3": {"provider": "openai", "api_key_env": "PRESSROOM_TEST_OPENAI_KEY", "price_usd": 0.04,
                 "latency_p50_ms": 5, "latency_p99_ms": 10, $NO_MISTAKES},
    "sd_webui": {"provider": "a1111", "api_key_env": "PRESSROOM_TEST_A1111_AUTH", "price_usd": 0.02,
                 "latency_p50_ms": 5, "latency_p99_ms": 10, $NO_MISTAKES}
  },
  "asset_classes": {"paid": {"route": "production_only", "over_budget": "reject", "max_attempts": 2}},
  "kafka": {"session_timeout_ms": 6000}
}
JSON
export PRESSROOM_LOG_LEVEL=debug
start_stack "$STACK_DIR/config.json" --api-key-env PRESSROOM_TEST_RENDERER_KEY --auth-status 503

# A Kafka credential the running workers read from the environment (unused on this
# plaintext cluster, but registered and never printed).
start_bg preview env PRESSROOM_KAFKA_SASL_PASSWORD="$KAFKA_SECRET" "$BIN/preview-worker"; P1=$LAST_PID
start_bg production env PRESSROOM_KAFKA_SASL_PASSWORD="$KAFKA_SECRET" "$BIN/production-worker"; P2=$LAST_PID

# Mistyped credential properties stop a worker at start-up; the error names them only.
rc=0
PRESSROOM_KAFKA_SSL_KEY_PASSWORDX="$MISTYPED_SECRET" "$BIN/verifier-worker" \
  >"$STACK_DIR/mistyped.out" 2>"$STACK_DIR/mistyped.log" || rc=$?
[ "$rc" -ne 0 ] || fail "a worker started with an unknown Kafka property"
grep -q 'ssl.key.passwordx=\[redacted\]' "$STACK_DIR/mistyped.log" ||
  fail "the start-up error does not name the property: $(cat "$STACK_DIR/mistyped.log")"
rc=0
PRESSROOM_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT PRESSROOM_KAFKA_SASL_MECHANISM=BOGUS \
  PRESSROOM_KAFKA_SASL_PASSWORD="$KAFKA_SECRET" "$BIN/verifier-worker" \
  >"$STACK_DIR/mechanism.out" 2>"$STACK_DIR/mechanism.log" || rc=$?
[ "$rc" -ne 0 ] || fail "a worker started with sasl.mechanism=BOGUS"

cat >"$STACK_DIR/jobs.jsonl" <<'JSONL'
{"job_id":"thumb-1","asset_class":"thumbnail","prompt":"Product shot with overlay text \"SALE\""}
{"job_id":"paid-1","asset_class":"paid","prompt":"Banner","text":["NEW"]}
JSONL
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 120 --jsonl "$STACK_DIR/out.jsonl" \
  >"$STACK_DIR/submit.out" 2>"$STACK_DIR/submit.log"
grep -q '^terminal: 2/2 jobs' "$STACK_DIR/submit.out" || { cat "$STACK_DIR/submit.out"; fail "not terminal"; }

for pid in $P1 $P2; do
  kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "worker $pid exited $rc"
done

# Every message on every pressroom.* topic: key, headers, payload.
mkdir -p "$STACK_DIR/topics"
for t in $(kcat -L -b "$PRESSROOM_BROKERS" 2>/dev/null | sed -n 's/^ *topic "\(pressroom\.[^"]*\)".*/\1/p' | sort -u); do
  kcat -C -b "$PRESSROOM_BROKERS" -t "$t" -e -q -f '%k\t%h\t%s\n' >"$STACK_DIR/topics/$t.txt" 2>/dev/null || true
done

/usr/bin/python3 - "$STACK_DIR" "$KAFKA_SECRET" "$MISTYPED_SECRET" <<'PY'
import base64, glob, json, os, sys
d, kafka_secret, mistyped = sys.argv[1:]
openai = os.environ["PRESSROOM_TEST_OPENAI_KEY"]
a1111 = os.environ["PRESSROOM_TEST_A1111_AUTH"]
def forms(secret):
    b = base64.b64encode(secret.encode()).decode()
    return [secret, "Bearer " + secret, b, b.rstrip("="), "Basic " + b]
needles = {}
for name, s in [("openai key", openai), ("a1111 user:password", a1111), ("a1111 password", a1111.split(":", 1)[1]),
                ("kafka sasl.password", kafka_secret), ("mistyped kafka property", mistyped)]:
    for f in forms(s):
        needles[f] = name
files = glob.glob(f"{d}/*.log") + glob.glob(f"{d}/*.out") + glob.glob(f"{d}/*.jsonl") + glob.glob(f"{d}/topics/*.txt")
topics = [os.path.basename(f)[:-4] for f in glob.glob(f"{d}/topics/*.txt")]
assert "pressroom.rejected" in topics and "pressroom.jobs" in topics, topics
leaks = []
text = {}
for f in files:
    text[f] = open(f, errors="replace").read()
    for needle, name in needles.items():
        if needle in text[f]:
            leaks.append(f"{os.path.basename(f)}: the {name} ({needle[:12]}...)")
assert not leaks, "secrets left the processes:\n  " + "\n  ".join(sorted(set(leaks)))

# The secrets were really there to leak: the providers' echoes reached the verdicts
# and the debug retry lines, redacted.
outs = {o["job_id"]: o for o in map(json.loads, open(f"{d}/out.jsonl"))}
for j in ("thumb-1", "paid-1"):
    o = outs[j]
    assert o["verdict"] == "rejected" and o["reason"] == "render_failed", o
    assert "Authorization: Bearer [redacted]" in o["detail"], o["detail"]
    assert "Authorization: Basic [redacted]" in o["detail"], o["detail"]
rejected = text[f"{d}/topics/pressroom.rejected.txt"]
assert "Basic [redacted]" in rejected, "the verdict on pressroom.rejected lost the provider's message"
retries = [l for f in ("preview.log", "production.log") for l in text[f"{d}/{f}"].splitlines() if '"model_retry"' in l]
assert retries and all('"level":"debug"' in l for l in retries), "no model_retry debug lines"
assert any("Bearer [redacted]" in l for l in retries) and any("Basic [redacted]" in l for l in retries), retries[:2]
assert "ssl.key.passwordx=[redacted]" in text[f"{d}/mistyped.log"]
print(f"ok: {len(needles)} secret encodings searched in {len(files)} logs, stderr files and "
      f"{len(topics)} topics: none found; {len(retries)} debug retry lines and 2 verdicts carry [redacted]")
PY
