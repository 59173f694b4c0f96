#!/usr/bin/env bash
# A consumer that stops reading while messages are still prefetched must leave its
# group cleanly. `pressctl submit --wait` stops following the terminal topics as soon
# as its own jobs are terminal; with thousands of later verdicts already fetched,
# serving the close queue in callback mode aborted inside librdkafka
# (rd_kafka_q_serve: assert res != RD_KAFKA_OP_RES_PASS). It must exit 0, every time.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init close
start_broker
export PRESSROOM_DEV_DIR="$STACK_DIR/nodev"

# 3,000 verdicts on the results topic (about 2 MB: inside what the embedded broker
# keeps per partition), for jobs a-0 .. a-2999.
/usr/bin/python3 - "$ROOT/examples/messages/outcome-accepted.json" >"$STACK_DIR/outcomes.tsv" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
for i in range(3000):
    o["job_id"] = f"a-{i}"
    print(f'{o["job_id"]}\t{json.dumps(o)}')
PY
kafka_put pressroom.results <"$STACK_DIR/outcomes.tsv"

# Two early jobs: their verdicts are found long before the backlog is read.
printf '{"job_id":"a-3","asset_class":"thumbnail","prompt":"x"}\n{"job_id":"a-7","asset_class":"thumbnail","prompt":"x"}\n' \
  >"$STACK_DIR/jobs.jsonl"
for round in 1 2 3; do
  rc=0
  "$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 60 >"$STACK_DIR/submit-$round.txt" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || fail "pressctl submit --wait exited $rc (round $round): $(tail -n 3 "$STACK_DIR/submit-$round.txt")"
  grep -q '^terminal: 2/2 jobs' "$STACK_DIR/submit-$round.txt" || fail "round $round: $(cat "$STACK_DIR/submit-$round.txt")"
done
echo "ok: pressctl left the group cleanly 3 times with a prefetched backlog"
