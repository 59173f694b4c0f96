# tests/lib.sh — shared harness for integration tests and scripts: free ports, the
# real services (redis-server, pressroom-broker, pressroom-renderer), cleanup.
# Source it; call `stack_init NAME` first. Every process started here is stopped on
# exit by the trap, whatever the outcome.

: "${BUILD:=build}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/$BUILD/bin"
export OMP_THREAD_LIMIT=1
STACK_PIDS=()

stack_init() {
  STACK_NAME=$1
  STACK_DIR=$(mktemp -d "/tmp/pressroom-${STACK_NAME}.XXXXXX")
  trap stack_cleanup EXIT
  trap 'exit 130' INT TERM
}

# gone PID: the process has exited (a zombie waiting to be reaped counts).
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; }

stack_cleanup() {
  local rc=${1:-$?} pid
  set +e
  # Stop in reverse start order: workers before the services they talk to.
  local i order=()
  for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do order+=("${STACK_PIDS[i]}"); done
  for pid in "${order[@]}"; do
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do gone "$pid" && break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  STACK_PIDS=()
  if [ "$rc" -ne 0 ] && [ -n "${CI:-}${KEEP_FAILED:-}" ]; then
    echo "--- logs of the failed run ($STACK_DIR) ---" >&2
    for f in "$STACK_DIR"/*.log; do [ -f "$f" ] || continue; echo "== $f" >&2; tail -n 15 "$f" >&2; done
  fi
  [ -n "${KEEP_STACK_DIR:-}" ] || rm -rf "$STACK_DIR"
  exit "$rc"
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on, below the
# kernel's ephemeral range (32768+), where outgoing connections take their ports.
free_port() {
  local p
  while :; do
    p=$(( (RANDOM % 12000) + 20000 ))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# wait_for CMD...: retries CMD for up to 10 s.
wait_for() {
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for: $*" >&2
  return 1
}

# start_redis: a real redis-server on a free loopback port; exports PRESSROOM_REDIS.
# With REDIS_PERSIST=1 it keeps an fsync-always append-only file (restart tests);
# calling it again after the first time restarts on the same port.
start_redis() {
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  local persist=(--appendonly no)
  [ -n "${REDIS_PERSIST:-}" ] && persist=(--appendonly yes --appendfsync always)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' "${persist[@]}" \
    --dir "$STACK_DIR" --logfile "$STACK_DIR/redis.log" &
  STACK_PIDS+=($!)
  REDIS_PID=$!
  export PRESSROOM_REDIS="127.0.0.1:$REDIS_PORT"
  wait_for redis-cli -p "$REDIS_PORT" ping
}

# start_broker [ARGS]: the embedded Kafka cluster; exports PRESSROOM_BROKERS.
start_broker() {
  "$BIN/pressroom-broker" --bootstrap-file "$STACK_DIR/bootstrap" "$@" \
    >/dev/null 2>"$STACK_DIR/broker.log" &
  STACK_PIDS+=($!)
  BROKER_PID=$!
  wait_for test -s "$STACK_DIR/bootstrap"
  PRESSROOM_BROKERS=$(cat "$STACK_DIR/bootstrap")
  export PRESSROOM_BROKERS
}

# start_renderer CONFIG [ARGS]: the reference model endpoint; exports PRESSROOM_RENDERER.
start_renderer() {
  local out="$STACK_DIR/renderer.out" config=$1; shift
  : >"$out"
  # Port 0: the renderer binds a free port itself and prints it (no race).
  # RENDERER_TRUTH_LOG=FILE: one line per image the renderer drew (what a provider bills).
  "$BIN/pressroom-renderer" --config "$config" --listen "127.0.0.1:0" ${RENDERER_TRUTH_LOG:+--truth-log "$RENDERER_TRUTH_LOG"} "$@" \
    >"$out" 2>"$STACK_DIR/renderer.log" &
  STACK_PIDS+=($!)
  RENDERER_PID=$!
  wait_for grep -q '^listening http://' "$out"
  PRESSROOM_RENDERER=$(sed -n 's/^listening //p' "$out" | head -n 1)
  RENDERER_PORT=${PRESSROOM_RENDERER##*:}
  export PRESSROOM_RENDERER
}

# start_stack CONFIG [RENDERER_ARGS]: broker, redis-server and renderer for CONFIG, with
# the environment every pressroom process reads (config, blob store) pointed at them.
start_stack() {
  export PRESSROOM_CONFIG=$1; shift
  export PRESSROOM_BLOBS="file://$STACK_DIR/blobs"
  export PRESSROOM_DEV_DIR="$STACK_DIR/nodev"   # pressctl must not pick up a dev stack
  start_broker --config "$PRESSROOM_CONFIG"
  start_redis
  start_renderer "$PRESSROOM_CONFIG" "$@"
}

# start_s3 BUCKET: s3rver (an S3-protocol server, installed by scripts/install-deps.sh)
# on a free loopback port, with BUCKET created and its files under $STACK_DIR/s3. Exports
# S3_ENDPOINT (path style: http://127.0.0.1:PORT), S3_VHOST_ENDPOINT (virtual-host
# style: http://s3.localhost:PORT, buckets at BUCKET.s3.localhost) and s3rver's one
# account as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. s3rver refuses unknown access
# keys (403 InvalidAccessKeyId) but does not check SigV4 signatures, so a wrong secret
# passes: tests of refused credentials use an unknown key.
S3RVER=${S3RVER:-${PRESSROOM_TOOLS:-/opt/pressroom}/s3rver/node_modules/.bin/s3rver}
start_s3() {
  [ -x "$S3RVER" ] || fail "s3rver not found at $S3RVER (scripts/install-deps.sh installs it)"
  S3_PORT=$(free_port)
  mkdir -p "$STACK_DIR/s3"
  "$S3RVER" -d "$STACK_DIR/s3" -a 127.0.0.1 -p "$S3_PORT" --service-endpoint localhost \
    --configure-bucket "$1" >"$STACK_DIR/s3rver.log" 2>&1 &
  STACK_PIDS+=($!)
  S3_PID=$!
  export S3_ENDPOINT="http://127.0.0.1:$S3_PORT" S3_VHOST_ENDPOINT="http://s3.localhost:$S3_PORT"
  # s3rver checks no secret: a long distinctive one, so tests can grep the logs for it.
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY="pressroom-test-secret-$S3_PORT-$RANDOM"
  wait_for grep -q "listening" "$STACK_DIR/s3rver.log"
}

# kafka_put TOPIC: produces stdin's lines "KEY<TAB>VALUE" with kcat (a real Kafka
# client, nothing of ours), retrying while the fresh cluster's metadata settles.
# A retry may duplicate messages: consumers dedupe by key, as in production.
kafka_put() {
  local input try
  input=$(cat)
  for try in 1 2 3 4 5; do
    printf '%s\n' "$input" | kcat -P -b "$PRESSROOM_BROKERS" -t "$1" -K $'\t' 2>"$STACK_DIR/kcat.err" && return 0
    sleep 1
  done
  echo "kcat could not produce to $1: $(cat "$STACK_DIR/kcat.err")" >&2
  return 1
}

# A renderer profile that draws every image correctly.
NO_MISTAKES='"rates": {"typo": 0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}'

# start_bg NAME CMD...: any other process, logged to $STACK_DIR/NAME.log, stopped on exit.
start_bg() {
  local name=$1; shift
  "$@" >"$STACK_DIR/$name.out" 2>"$STACK_DIR/$name.log" &
  STACK_PIDS+=($!)
  LAST_PID=$!
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# one_budget_window WINDOW_S MAX_TEST_S: a test that compares the spend Redis recorded
# for the current window with the charges on its verdicts needs the whole run inside
# one window (windows are aligned to the epoch: a 1h window turns at every full hour).
# When fewer than MAX_TEST_S seconds are left in the current window, wait for the next.
one_budget_window() {
  local window=$1 need=$2 now left
  now=$(date +%s)
  left=$((window - now % window))
  if [ "$left" -lt "$need" ]; then
    echo "waiting ${left}s for the next ${window}s budget window, so the run stays inside one" >&2
    sleep $((left + 1))
  fi
}

# clean_stack_config FILE: a fleet whose models draw every image correctly, thumbnails
# on the preview route rejected when over budget (the operators' tools' tests:
# dlq, offsets).
clean_stack_config() {
  cat >"$1" <<JSON
{
  "tiers": {
    "preview": {"model": "clean_preview", "max_latency_ms": 800},
    "production": {"model": "clean_final", "max_latency_ms": 2200}
  },
  "models": {
    "clean_preview": {"price_usd": 0.02, "latency_p50_ms": 20, "latency_p99_ms": 60, $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 30, "latency_p99_ms": 80, $NO_MISTAKES}
  },
  "asset_classes": {"thumbnail": {"route": "preview", "over_budget": "reject"}},
  "kafka": {"session_timeout_ms": 6000}
}
JSON
}

# fleet_view_config FILE: a fleet with every kind of outcome for the pages that show it
# (console, dashboards): preview's model always misspells, so thumbnails (one attempt)
# are rejected and paid jobs escalate to production's clean model and are accepted;
# caps $5 and $20; OCR on.
fleet_view_config() {
  cat >"$1" <<JSON
{
  "tiers": {
    "preview": {"model": "typo_preview", "max_latency_ms": 800, "max_inflight": 32, "cap_usd": 5},
    "production": {"model": "clean_final", "max_latency_ms": 2200, "max_inflight": 32, "cap_usd": 20}
  },
  "models": {
    "typo_preview": {"price_usd": 0.02, "latency_p50_ms": 50, "latency_p99_ms": 150,
                     "rates": {"typo": 1.0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 80, "latency_p99_ms": 200, $NO_MISTAKES}
  },
  "asset_classes": {"thumbnail": {"route": "preview", "max_attempts": 1}, "paid": {"route": "final"}},
  "kafka": {"session_timeout_ms": 6000},
  "verify_ocr": true
}
JSON
}

# start_admin_workers: the three workers, each with its admin endpoint on a free port;
# fills the arrays WORKER_PORT[preview|verifier|production] and WORKER_PID[...].
start_admin_workers() {
  declare -gA WORKER_PORT WORKER_PID
  local w
  for w in preview verifier production; do
    start_bg "$w" "$BIN/$w-worker" --metrics-listen 127.0.0.1:0
    WORKER_PID[$w]=$LAST_PID
  done
  for w in preview verifier production; do
    wait_for grep -q '"admin_listening"' "$STACK_DIR/$w.log"
    WORKER_PORT[$w]=$(grep -o '"event":"admin_listening"[^}]*"port":"[0-9]*"' "$STACK_DIR/$w.log" |
      grep -o '[0-9]*"$' | tr -d '"')
  done
}
