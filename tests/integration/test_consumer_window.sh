#!/usr/bin/env bash
# The in-flight window and the local buffer (common/runtime/worker.c): a worker whose
# window is full keeps polling into its buffer instead of pausing its partitions (a
# pause makes librdkafka drop what it prefetched and fetch it again), and pauses only
# when the buffer is past kafka.buffer_max_messages / buffer_max_bytes. Counted, not
# timed: pressroom_consumer_pauses_total (one per partition paused), and every input
# consumed exactly once (a resume of a partition that was not paused would restart its
# fetch at the committed offset and deliver inputs twice).
#   1. a verifier-worker with a window of 2 on a backlog of N tasks: 0 pauses, N consumed
#   2. the same with kafka.buffer_max_messages 8: pauses, still N consumed, N verdicts
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init consumer-window
N=${WINDOW_JOBS:-150}
cfg() { # GROUP_PREFIX EXTRA_KAFKA
  cat <<JSON
{"tiers": {"preview": {"model": "instant", "max_latency_ms": 1000, "cap_usd": 0},
           "production": {"model": "instant", "max_latency_ms": 1000, "cap_usd": 0}},
 "models": {"instant": {"provider": "raw", "price_usd": 0.002, "latency_p50_ms": 0, "latency_p99_ms": 0,
                        "prerendered": true, $NO_MISTAKES}},
 "verifier": {"threads": 2},
 "kafka": {"session_timeout_ms": 6000, "group_prefix": "$1"$2}}
JSON
}
cfg "fill." "" >"$STACK_DIR/fill.json"
start_stack "$STACK_DIR/fill.json"
start_bg preview "$BIN/preview-worker"; P=$LAST_PID
# N + 1 tasks on pressroom.verify (pipeline_bench's warm-up job is one more).
"$ROOT/$BUILD/bench/pipeline_bench" throughput --jobs "$N" --topic verify >"$STACK_DIR/fill.out" 2>&1 ||
  fail "could not fill the verify topic: $(tail -n 3 "$STACK_DIR/fill.out")"
kill -TERM "$P"; wait "$P" 2>/dev/null || true
TOTAL=$((N + 1))

metric() { # PORT NAME: the value of an unlabelled-but-for-worker metric, 0 when absent
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 ~ "^"n"[{ ]" || $1 == n {v=$2} END {print v + 0}'
}

# run NAME EXTRA_KAFKA: a verifier-worker with a window of 2 and a fresh group on the
# backlog, until every task is consumed and nothing is pending. Sets pauses, consumed,
# produced and window (not in a subshell: the worker stays on the cleanup list).
run() {
  cfg "$1." "$2" >"$STACK_DIR/$1.json"
  PRESSROOM_CONFIG="$STACK_DIR/$1.json" start_bg "$1" "$BIN/verifier-worker" --max-inflight 2 \
    --metrics-listen 127.0.0.1:0
  local pid=$LAST_PID port pending=1
  consumed=0 produced=0
  wait_for grep -q '"admin_listening"' "$STACK_DIR/$1.log"
  port=$(grep -o '"event":"admin_listening"[^}]*"port":"[0-9]*"' "$STACK_DIR/$1.log" | grep -o '[0-9]*"$' | tr -d '"')
  for _ in $(seq 1 600); do
    consumed=$(metric "$port" pressroom_messages_consumed_total)
    produced=$(metric "$port" pressroom_messages_produced_total)
    pending=$(metric "$port" pressroom_pending_inputs)
    [ "$consumed" -ge "$TOTAL" ] && [ "$produced" -ge "$TOTAL" ] && [ "$pending" -eq 0 ] && break
    gone "$pid" && fail "$1: the verifier-worker exited: $(tail -n 5 "$STACK_DIR/$1.log")"
    sleep 0.2
  done
  [ "$produced" -ge "$TOTAL" ] || fail "$1: $produced/$TOTAL verdicts after 120 s (consumed $consumed, pending $pending)"
  sleep 1.5 # a redelivery would show up as more consumed than there are tasks
  pauses=$(metric "$port" pressroom_consumer_pauses_total)
  consumed=$(metric "$port" pressroom_messages_consumed_total)
  produced=$(metric "$port" pressroom_messages_produced_total)
  window=$(metric "$port" pressroom_max_inflight)
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

run roomy ""
[ "$window" -eq 2 ] || fail "the window is $window, expected --max-inflight 2"
[ "$pauses" -eq 0 ] || fail "a full window paused the partitions $pauses times (the buffer should take what is polled)"
[ "$consumed" -eq "$TOTAL" ] || fail "consumed $consumed messages for $TOTAL tasks (a refetch or redelivery)"
[ "$produced" -eq "$TOTAL" ] || fail "$produced verdicts for $TOTAL tasks"
echo "ok: window 2, $TOTAL tasks: 0 pauses, each consumed once"

run tight ', "buffer_max_messages": 8'
[ "$pauses" -gt 0 ] || fail "a buffer of 8 on a backlog of $TOTAL never paused"
[ "$consumed" -eq "$TOTAL" ] || fail "consumed $consumed messages for $TOTAL tasks across pauses (resumed a partition that was not paused?)"
[ "$produced" -eq "$TOTAL" ] || fail "$produced verdicts for $TOTAL tasks across pauses"
echo "ok: buffer_max_messages 8: $pauses partition pauses, each task still consumed once"

# A bad bound is a clear error at start-up.
cfg "bad." ', "buffer_max_bytes": 12' >"$STACK_DIR/bad.json"
rc=0; PRESSROOM_CONFIG="$STACK_DIR/bad.json" "$BIN/verifier-worker" 2>"$STACK_DIR/bad.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'kafka.buffer_max_bytes' "$STACK_DIR/bad.err" ||
  fail "kafka.buffer_max_bytes 12: exit $rc, $(cat "$STACK_DIR/bad.err")"
echo "ok: test_consumer_window"
