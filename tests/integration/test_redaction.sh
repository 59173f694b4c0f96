#!/usr/bin/env bash
# No credential leaves the process, in any encoding, at any log level:
#  - a provider that echoes the credentials it was sent in its 401 answer (as OpenAI's
#    "Incorrect API key provided: ..." does) — here Python's own http.server, not our
#    code — for an OpenAI key (Bearer) and an AUTOMATIC1111 user:password (Basic);
#    the failures reach verdicts on pressroom.rejected and debug logs (model_retry);
#  - a mistyped Kafka secret property at start-up.
# Then every log, every stderr and every message on every pressroom.* topic is searched
# for each secret raw and base64-encoded: none may appear. The echo server's own log
# proves the credentials were sent, so the test cannot pass by sending nothing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init redaction

OPENAI_KEY="sk-test-Zq8v1LkP0s9XbN2mT4rW"
A1111_CRED="webui:pa55-Hk2Qm9Vx7Lc"
KAFKA_SECRET="hunter2-Kf8Tq1Zr6Bv"
export PRESSROOM_TEST_OPENAI_KEY="$OPENAI_KEY"
printf '%s\n' "$A1111_CRED" >"$STACK_DIR/a1111.key"

ECHO_PORT=$(free_port)
cat >"$STACK_DIR/echo.py" <<'PY'
import base64, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Echo(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization", "")
        decoded = ""
        if auth.startswith("Basic "):
            decoded = base64.b64decode(auth[6:]).decode()
        sys.stderr.write("got Authorization: %s\n" % auth)
        msg = "Incorrect API key provided: %s (%s)" % (auth, decoded)
        body = json.dumps({"error": {"message": msg, "type": "invalid_request_error"}, "detail": msg}).encode()
        self.send_response(500 if auth.startswith("Bearer ") else 401)  # 500: retried, logged
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
HTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
PY
start_bg echo /usr/bin/python3 "$STACK_DIR/echo.py" "$ECHO_PORT"
wait_for curl -s -o /dev/null -X POST "http://127.0.0.1:$ECHO_PORT/"

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "echo_openai", "max_latency_ms": 800, "max_retries": 1},
    "production": {"model": "echo_a1111", "max_latency_ms": 800, "max_retries": 1}
  },
  "models": {
    "echo_openai": {"provider": "openai", "endpoint": "http://127.0.0.1:$ECHO_PORT",
                    "api_key_env": "PRESSROOM_TEST_OPENAI_KEY", "price_usd": 0.02},
    "echo_a1111": {"provider": "a1111", "endpoint": "http://127.0.0.1:$ECHO_PORT",
                   "api_key_file": "$STACK_DIR/a1111.key", "price_usd": 0.06}
  },
  "kafka": {"session_timeout_ms": 6000}
}
JSON
start_stack "$STACK_DIR/config.json"
export PRESSROOM_LOG_LEVEL=debug
start_bg preview "$BIN/preview-worker"; P1=$LAST_PID
start_bg production "$BIN/production-worker"; P2=$LAST_PID
cat >"$STACK_DIR/jobs.jsonl" <<'JSONL'
{"job_id":"leak-1","asset_class":"thumbnail","prompt":"Poster","text":["SALE"]}
{"job_id":"leak-2","asset_class":"paid","prompt":"Banner","text":["NEW"]}
JSONL
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 90 --jsonl "$STACK_DIR/out.jsonl" >"$STACK_DIR/submit.txt"
grep -q '^terminal: 2/2 jobs' "$STACK_DIR/submit.txt" || { cat "$STACK_DIR/submit.txt"; fail "not terminal"; }
grep -q '\[redacted\]' "$STACK_DIR/out.jsonl" || fail "no verdict quoted the provider's echo: the test proves nothing"
for pid in $P1 $P2; do kill -TERM "$pid"; wait "$pid" || true; done

# A mistyped Kafka secret property: a clear start-up error without the value.
rc=0
PRESSROOM_KAFKA_SASL_PASSWORDX="$KAFKA_SECRET" \
  "$BIN/preview-worker" >"$STACK_DIR/kafka-bad.out" 2>"$STACK_DIR/kafka-bad.err" || rc=$?
[ "$rc" -ne 0 ] || fail "a mistyped Kafka property was accepted"
grep -q 'sasl.passwordx=\[redacted\]' "$STACK_DIR/kafka-bad.err" ||
  fail "the start-up error does not name the property with its value hidden: $(cat "$STACK_DIR/kafka-bad.err")"

grep -q "got Authorization: Bearer $OPENAI_KEY" "$STACK_DIR/echo.log" || fail "the OpenAI key never reached the provider"
grep -q "got Authorization: Basic $(printf '%s' "$A1111_CRED" | base64 -w0)" "$STACK_DIR/echo.log" ||
  fail "the A1111 credential never reached the provider"

for t in jobs verify production results rejected dlq; do
  kcat -C -b "$PRESSROOM_BROKERS" -t "pressroom.$t" -e -q -f '%k %h %s\n' >>"$STACK_DIR/topics.txt" 2>/dev/null || true
done
leaks=0
for secret in "$OPENAI_KEY" "$A1111_CRED" "${A1111_CRED#*:}" "$KAFKA_SECRET"; do
  for form in "$secret" "$(printf '%s' "$secret" | base64 -w0)"; do
    for f in "$STACK_DIR"/*.log "$STACK_DIR"/*.err "$STACK_DIR"/*.out "$STACK_DIR/topics.txt" "$STACK_DIR/out.jsonl"; do
      case $f in */echo.log) continue ;; esac
      if grep -qF -- "$form" "$f"; then echo "LEAK: ${form:0:6}... in $(basename "$f")" >&2; leaks=$((leaks + 1)); fi
    done
  done
done
[ "$leaks" -eq 0 ] || fail "$leaks leak(s) of a credential"
grep -q '"event":"model_retry".*redacted' "$STACK_DIR/preview.log" || fail "no debug model_retry line quoted the echo"
echo "ok: credentials echoed by the provider, debug logs, verdicts, topics and start-up errors carry none of them"
