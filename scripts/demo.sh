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
  --html "$OUT/index.html" --jsonl "$OUT/outcomes.jsonl" >"$OUT/summary.txt"
rc=$?
set -e
grep -v '^terminal: ' "$OUT/summary.txt" || true
truth="$OUT/stack/truth.jsonl"
if [ -s "$truth" ]; then
  drawn=$(grep -c . "$truth"); wrong=$(grep -vc '"mistake":"none"' "$truth" || true)
  kinds=$(grep -o '"mistake":"[a-z_]*"' "$truth" | grep -v none | sed 's/.*:"\(.*\)"/\1/' | sort | uniq -c |
          awk '{printf "%s%s %s", sep, $2, $1; sep=", "}')
  echo "renderer ground truth: $drawn images drawn, $wrong with a mistake (${kinds:-none});" \
       "the verifier failed $(awk -F'"failed_checks":' '{split($2,a,/[,}]/); s+=a[1]} END {print s+0}' "$OUT/outcomes.jsonl") check(s)"
fi
echo "images: $OUT/images, contact sheet: $OUT/index.html, logs: $OUT/stack/logs"
grep '^terminal: ' "$OUT/summary.txt" || echo "terminal: 0/$(grep -c . "$JOBS") jobs"
exit "$rc"
