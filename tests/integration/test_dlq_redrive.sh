#!/usr/bin/env bash
# pressctl dlq on the embedded stack. Three bad jobs are dead-lettered by the
# preview-worker (a bad size, an unknown asset class, not JSON):
#   - the recipe of schemas/dlq.md exports all three letters;
#   - dlq list shows them (filters by reason, source topic, job), dlq show one letter's
#     headers and payload;
#   - the two fixable ones, redriven with --fix, reach terminal verdicts;
#   - the poison one, redriven as it is, fails again each time; its letters count
#     pressroom-redrive-attempt 1, 2, 3 (the worker carries the count onto the letter),
#     and the fourth redrive is refused at the attempt limit (default 3).
# Jobs are produced with kcat, letters and verdicts read with kcat.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init dlq

clean_stack_config "$STACK_DIR/config.json"
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker"
start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

letters() { kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -o beginning -e -q -f '%k\t%h\n' 2>/dev/null; }
letters_of() { letters | grep -c "^$1	" || true; }
wait_letters() { # wait until job $1 has $2 letters
  for _ in $(seq 1 60); do [ "$(letters_of "$1")" -ge "$2" ] && return 0; sleep 0.5; done
  fail "expected $2 letter(s) of $1, found $(letters_of "$1")"
}
verdict_of() {
  kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.results -e -q -f '%k\t%s\n' 2>/dev/null | awk -F'\t' -v k="$1" '$1 == k {print $2}' | tail -1
}

kafka_put pressroom.jobs <<'EOF2'
dq-1	{"job_id":"dq-1","asset_class":"thumbnail","prompt":"A card","text":["ONE"],"size":"huge"}
dq-2	{"job_id":"dq-2","asset_class":"brochure","prompt":"A card","text":["TWO"]}
dq-3	this is not json
EOF2
wait_letters dq-1 1; wait_letters dq-2 1; wait_letters dq-3 1

# The recipe of schemas/dlq.md: every letter, not only the last one.
kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -o beginning -e -q -f '%s\n' >"$STACK_DIR/bad.jsonl"
[ "$(wc -l <"$STACK_DIR/bad.jsonl")" = 3 ] || fail "the recipe exported $(wc -l <"$STACK_DIR/bad.jsonl") of 3 letters"

"$BIN/pressctl" dlq list >"$STACK_DIR/list.txt"
grep -q '^3 letter(s)' "$STACK_DIR/list.txt" || { cat "$STACK_DIR/list.txt"; fail "dlq list: expected 3 letters"; }
"$BIN/pressctl" dlq list --topic jobs --job-id dq-2 >"$STACK_DIR/list2.txt"
grep -q '^1 letter(s)' "$STACK_DIR/list2.txt" || { cat "$STACK_DIR/list2.txt"; fail "dlq list --job-id: expected 1 letter"; }
grep -q 'pressroom.jobs' "$STACK_DIR/list2.txt" || fail "dlq list: no source topic: $(cat "$STACK_DIR/list2.txt")"
"$BIN/pressctl" dlq list --topic verify >"$STACK_DIR/list3.txt"
grep -q '^0 letter(s)' "$STACK_DIR/list3.txt" || fail "dlq list --topic verify: expected none: $(cat "$STACK_DIR/list3.txt")"
poison=$(awk '$5 == "dq-3" {print $1}' "$STACK_DIR/list.txt")
[ -n "$poison" ] || fail "dlq list: no letter of dq-3: $(cat "$STACK_DIR/list.txt")"
"$BIN/pressctl" dlq show "$poison" >"$STACK_DIR/show.txt"
grep -q '^header pressroom-source-topic: pressroom.jobs$' "$STACK_DIR/show.txt" || fail "dlq show: $(cat "$STACK_DIR/show.txt")"
grep -q '^this is not json$' "$STACK_DIR/show.txt" || fail "dlq show: no payload: $(cat "$STACK_DIR/show.txt")"
rc=0; "$BIN/pressctl" dlq redrive 2>"$STACK_DIR/nosel.err" || rc=$?
[ "$rc" = 2 ] || fail "redrive without a selection: exit $rc, expected 2"
echo "ok: the recipe, dlq list and dlq show see the three letters"

# The fixable ones, with the fixed bytes.
echo '{"job_id":"dq-1","asset_class":"thumbnail","prompt":"A card","text":["ONE"],"size":"768x512"}' >"$STACK_DIR/fix1.json"
echo '{"job_id":"dq-2","asset_class":"thumbnail","prompt":"A card","text":["TWO"]}' >"$STACK_DIR/fix2.json"
"$BIN/pressctl" dlq redrive --job-id dq-1 --fix "$STACK_DIR/fix1.json" >"$STACK_DIR/r1.txt"
"$BIN/pressctl" dlq redrive --job-id dq-2 --fix "$STACK_DIR/fix2.json" >"$STACK_DIR/r2.txt"
grep -q '^redrove 1 letter(s), refused 0' "$STACK_DIR/r1.txt" || fail "redrive dq-1: $(cat "$STACK_DIR/r1.txt")"
for j in dq-1 dq-2; do
  for _ in $(seq 1 60); do [ -n "$(verdict_of $j)" ] && break; sleep 0.5; done
  v=$(verdict_of $j)
  [ -n "$v" ] || fail "$j: no verdict after its redrive"
  python3 -c 'import json,sys; o=json.loads(sys.argv[1]); assert o["verdict"]=="accepted", o' "$v" || fail "$j: $v"
done
echo "ok: the fixed messages reached terminal verdicts"

# The poison one: three redrives, each dead-lettered again with its count; the fourth refused.
for n in 1 2 3; do
  "$BIN/pressctl" dlq redrive --job-id dq-3 >"$STACK_DIR/p$n.txt" || fail "redrive $n of dq-3: $(cat "$STACK_DIR/p$n.txt")"
  grep -q "attempt $n)" "$STACK_DIR/p$n.txt" || fail "redrive $n of dq-3: $(cat "$STACK_DIR/p$n.txt")"
  wait_letters dq-3 $((n + 1))
done
letters | grep '^dq-3	' | grep -o 'pressroom-redrive-attempt=[0-9]*' >"$STACK_DIR/attempts.txt" || true
[ "$(tr '\n' ' ' <"$STACK_DIR/attempts.txt")" = "pressroom-redrive-attempt=1 pressroom-redrive-attempt=2 pressroom-redrive-attempt=3 " ] ||
  fail "the letters of dq-3 do not count the redrives: $(cat "$STACK_DIR/attempts.txt")"
rc=0; "$BIN/pressctl" dlq redrive --job-id dq-3 >"$STACK_DIR/p4.txt" || rc=$?
[ "$rc" = 1 ] || fail "the fourth redrive of dq-3: exit $rc, expected 1: $(cat "$STACK_DIR/p4.txt")"
grep -q 'at the attempt limit' "$STACK_DIR/p4.txt" || fail "the fourth redrive: $(cat "$STACK_DIR/p4.txt")"
sleep 1
[ "$(letters_of dq-3)" = 4 ] || fail "dq-3 was redriven past the limit: $(letters_of dq-3) letters"
echo "ok: a message that fails again stops at the attempt limit (3)"
