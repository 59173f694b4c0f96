#!/usr/bin/env bash
# pressctl offsets on the embedded stack, with the preview-worker's group:
#   - show: the committed offset, the high watermark and the lag per partition, read
#     from the broker (the worker committed what it finished: lag 0);
#   - reset is refused while the worker is a member of the group (the embedded broker
#     answers no DescribeGroups: pressctl learns it by joining the group and being given
#     only part of the partitions) and nothing is committed;
#   - with the worker stopped: --to-earliest moves every committed offset to the start
#     (show reports the lag: every job), --to-datetime in the future to the end, and a
#     restarted worker re-reads the reset jobs (each ends as already decided).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init offsets

clean_stack_config "$STACK_DIR/config.json"
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker"
preview=$LAST_PID
start_bg verifier "$BIN/verifier-worker"
G=pressroom.preview-worker
N=20

for i in $(seq 1 $N); do
  printf 'of-%d\t{"job_id":"of-%d","asset_class":"thumbnail","prompt":"A card","text":["OFF %d"]}\n' "$i" "$i" "$i"
done | kafka_put pressroom.jobs
total_lag() { "$BIN/pressctl" offsets show --group $G | sed -n 's/^total lag: //p'; }
committed_sum() { "$BIN/pressctl" offsets show --group $G --topic jobs | awk '$1 == "pressroom.jobs" && $3 != "-" {s += $3} END {print s + 0}'; }
for _ in $(seq 1 60); do [ "$(committed_sum)" = $N ] && break; sleep 0.5; done
[ "$(committed_sum)" = $N ] || fail "offsets show: committed offsets of pressroom.jobs sum to $(committed_sum), expected $N"
[ "$(total_lag)" = 0 ] || fail "offsets show: lag $(total_lag) after every job was done"
echo "ok: offsets show reports the group's committed offsets and lag 0"

rc=0
"$BIN/pressctl" offsets reset --group $G --to-earliest >"$STACK_DIR/busy.out" 2>"$STACK_DIR/busy.err" || rc=$?
[ "$rc" = 1 ] || fail "reset while the worker runs: exit $rc, expected 1: $(cat "$STACK_DIR/busy.err")"
grep -q 'has other members' "$STACK_DIR/busy.err" || fail "reset while the worker runs: $(cat "$STACK_DIR/busy.err")"
[ "$(committed_sum)" = $N ] || fail "the refused reset moved offsets: $(committed_sum)"
echo "ok: offsets reset is refused while the group has a member"

kill -TERM "$preview"
for _ in $(seq 1 100); do gone "$preview" && break; sleep 0.1; done
"$BIN/pressctl" offsets reset --group $G --to-earliest >"$STACK_DIR/early.out" || fail "reset --to-earliest: $(cat "$STACK_DIR/early.out")"
[ "$(committed_sum)" = 0 ] || fail "after --to-earliest the committed offsets sum to $(committed_sum)"
[ "$(total_lag)" = $N ] || fail "after --to-earliest the lag is $(total_lag), expected $N"
"$BIN/pressctl" offsets reset --group $G --topic jobs --to-datetime "$(( $(date +%s) * 1000 + 3600000 ))" >"$STACK_DIR/late.out" ||
  fail "reset --to-datetime: $(cat "$STACK_DIR/late.out")"
[ "$(committed_sum)" = $N ] || fail "after --to-datetime (the future) the committed offsets sum to $(committed_sum), expected $N"
"$BIN/pressctl" offsets reset --group $G --topic jobs --to-earliest >/dev/null
echo "ok: with the group empty, reset moves the offsets (earliest, a time)"

start_bg preview2 "$BIN/preview-worker"
for _ in $(seq 1 120); do [ "$(grep -c '"event":"job_already_decided"' "$STACK_DIR/preview2.log" || true)" -ge $N ] && break; sleep 0.5; done
[ "$(grep -c '"event":"job_already_decided"' "$STACK_DIR/preview2.log" || true)" = $N ] ||
  fail "the restarted worker did not re-read the $N reset jobs"
echo "ok: a worker started after the reset re-reads from the reset offsets"
