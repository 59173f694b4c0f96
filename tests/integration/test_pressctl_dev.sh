#!/usr/bin/env bash
# `pressctl dev up|down` as a developer uses it: the embedded stack in the
# background on free ports, scaled workers, an env file the other subcommands read,
# a second `up` refused, and `down` stopping every process it started.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init pressctl-dev
export PRESSROOM_DEV_DIR="$STACK_DIR/dev"
export PRESSROOM_BLOBS="file://$STACK_DIR/blobs"
unset PRESSROOM_BROKERS PRESSROOM_REDIS PRESSROOM_RENDERER PRESSROOM_CONFIG
P="$BIN/pressctl"
down() { "$P" dev down >/dev/null 2>&1 || true; }
trap 'rc=$?; down; stack_cleanup "$rc"' EXIT

"$P" dev up --config "$ROOT/examples/config.json" --scale preview-worker=2 >"$STACK_DIR/up.txt"
grep -q '^PRESSROOM_BROKERS=127.0.0.1:' "$PRESSROOM_DEV_DIR/dev.env" || fail "no broker list in dev.env"
grep -qx "export PRESSROOM_DEV_DIR=$(cd "$PRESSROOM_DEV_DIR" && pwd -P)" "$STACK_DIR/up.txt" ||
  fail "dev up did not print the env line the other commands need: $(cat "$STACK_DIR/up.txt")"
grep -q '^PRESSROOM_REDIS=127.0.0.1:' "$PRESSROOM_DEV_DIR/dev.env" || fail "no redis address in dev.env"
[ "$(grep -c '^preview-worker#' "$PRESSROOM_DEV_DIR/pids")" -eq 2 ] || fail "--scale preview-worker=2 did not start two"
pids=$(awk '{print $2}' "$PRESSROOM_DEV_DIR/pids")
cp "$PRESSROOM_DEV_DIR/pids" "$STACK_DIR/pids"
for pid in $pids; do kill -0 "$pid" || fail "process $pid from dev up is not running"; done

rc=0; "$P" dev up --config "$ROOT/examples/config.json" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a second dev up on a running stack must be refused"

head -n 20 "$ROOT/examples/jobs.jsonl" >"$STACK_DIR/jobs.jsonl"
"$P" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 120 >"$STACK_DIR/submit.txt"
grep -q '^terminal: 20/20 jobs' "$STACK_DIR/submit.txt" || fail "jobs did not finish: $(tail -n 3 "$STACK_DIR/submit.txt")"
# Each worker's metrics endpoint, as printed by dev up: the two preview workers
# between them consumed the 20 jobs.
[ "$(grep -c '^  metrics  ' "$STACK_DIR/up.txt")" -eq 4 ] || fail "dev up did not print 4 metrics URLs: $(cat "$STACK_DIR/up.txt")"
consumed=0
for url in $(awk '/^  metrics  preview-worker/ {print $3}' "$STACK_DIR/up.txt"); do
  n=$(curl -sf "$url" | awk '/^pressroom_messages_consumed_total/ {print $2}')
  consumed=$((consumed + n))
done
[ "$consumed" -eq 20 ] || fail "the preview workers' metrics count $consumed consumed jobs, expected 20"
grep -q '"tier":"preview"' <<<"$("$P" budget show --json)" || fail "budget show did not reach the stack's redis"
# The console dev up started finds the four workers through dev.env.
console=$(awk '/^  console  / {print $2}' "$STACK_DIR/up.txt")
[ -n "$console" ] || fail "dev up printed no console URL: $(cat "$STACK_DIR/up.txt")"
wait_for curl -sf "${console}healthz"
[ "$(curl -sf "$console" | grep -o 'data-up="1"' | wc -l)" -eq 4 ] || fail "the console at $console does not show 4 workers up"

"$P" dev down >/dev/null
# One look per process: gone, a zombie no init has reaped yet, or its pid already taken
# by another program (pid_max is 32768 here and the machine is busy).
while read -r name pid; do
  read -r st comm < <(ps -o stat=,comm= -p "$pid") || true
  name=${name%%#*}
  [ -z "${st:-}" ] || [ "${st:0:1}" = Z ] || [ "$comm" != "${name:0:15}" ] ||
    fail "$name (pid $pid) still runs after dev down: $st $comm"
  st= comm=
done <"$STACK_DIR/pids"
[ ! -e "$PRESSROOM_DEV_DIR/dev.env" ] || fail "dev down left the env file behind"
echo "ok: dev up (scaled), refused twice, submit through it, dev down stopped $(echo $pids | wc -w) processes"
