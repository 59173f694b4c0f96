#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: the example batch on the embedded stack.
# Starts the stack (broker, redis-server, renderer, the three workers), submits
# examples/jobs.jsonl, waits for every job's verdict, prints the table per asset
# class and writes images + an HTML contact sheet to out/demo/. The stack is torn
# down on success, failure and Ctrl-C alike. Last line: "terminal: N/N jobs".
set -euo pipefail
: "${BUILD:=build}"
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="$ROOT/out/demo"
CONFIG="${DEMO_CONFIG:-$ROOT/examples/config.json}"
JOBS="${DEMO_JOBS:-$ROOT/examples/jobs.jsonl}"
PRESSCTL="$ROOT/$BUILD/bin/pressctl"

export PRESSROOM_DEV_DIR="$OUT/stack"
export PRESSROOM_BLOBS="file://$OUT/images"
export OMP_THREAD_LIMIT=1
unset PRESSROOM_BROKERS PRESSROOM_REDIS PRESSROOM_RENDERER PRESSROOM_CONFIG

teardown() { "$PRESSCTL" dev down >/dev/null 2>&1 || true; }
trap teardown EXIT
trap 'echo "interrupted: tearing the stack down" >&2; exit 130' INT TERM

"$PRESSCTL" dev down >/dev/null 2>&1 || true
rm -rf "$OUT"
mkdir -p "$OUT"
"$PRESSCTL" dev up --config "$CONFIG" --scale verifier-worker=1
echo "submitting $(grep -c . "$JOBS") jobs from $JOBS"
set +e
"$PRESSCTL" submit "$JOBS" --wait --timeout "${DEMO_TIMEOUT:-480}" \
  --html "$OUT/index.html" --jsonl "$OUT/outcomes.jsonl" | tee "$OUT/summary.txt"
rc=${PIPESTATUS[0]}
set -e
echo "images and contact sheet: $OUT/index.html (logs: $OUT/stack/logs)"
tail -n 1 "$OUT/summary.txt" | grep -q '^terminal: ' || echo "terminal: 0/$(grep -c . "$JOBS") jobs"
exit "$rc"
