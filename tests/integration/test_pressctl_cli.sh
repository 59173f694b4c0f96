#!/usr/bin/env bash
# pressctl as a new user meets it:
#   - `--help` on every command and subcommand exits 0 with its usage; the list of
#     commands is read from `pressctl --help` itself, so a new command is covered;
#   - `--version`; an unknown command exits 2;
#   - numbers are parsed strictly: a bad value is an error naming the flag and value;
#   - no broker reachable: one sentence naming PRESSROOM_BROKERS and `pressctl dev up`
#     within 5 s, no librdkafka log lines;
#   - `results` reads by assignment to the end of the topics: --job and --since select,
#     --timeout 3 never aborts (12 runs), a failed write is a non-zero exit.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init pressctl-cli
P="$BIN/pressctl"
export PRESSROOM_DEV_DIR="$STACK_DIR/nodev"
unset PRESSROOM_BROKERS PRESSROOM_REDIS PRESSROOM_RENDERER PRESSROOM_CONFIG

# ---- help, discovered from pressctl's own usage ----
"$P" --help >"$STACK_DIR/help.txt" || fail "pressctl --help exited $?"
mapfile -t cmds < <(/usr/bin/python3 - "$STACK_DIR/help.txt" <<'PY'
import re, sys
seen = []
for line in open(sys.argv[1]):
    m = re.match(r"\s*(?:usage:)?\s*pressctl ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)", line)
    if not m:
        continue
    words = m.group(1).split()
    for n in range(1, len(words) + 1):  # "budget set" covers "budget" too
        c = " ".join(words[:n])
        if c not in seen:
            seen.append(c)
print("\n".join(seen))
PY
)
[ "${#cmds[@]}" -ge 8 ] || fail "pressctl --help lists only ${#cmds[@]} commands: ${cmds[*]}"
for c in "${cmds[@]}"; do
  for h in --help -h; do
    rc=0; out=$("$P" $c $h 2>&1) || rc=$?
    [ "$rc" -eq 0 ] || fail "pressctl $c $h exited $rc: $out"
    grep -q "usage: pressctl $c" <<<"$out" || fail "pressctl $c $h printed no usage of \"$c\": $out"
  done
done
echo "ok: --help and -h exit 0 with usage on ${#cmds[@]} commands and subcommands: ${cmds[*]}"
v=$("$P" --version) || fail "--version exited $?"
grep -Eq '^pressctl [0-9]+\.[0-9]+\.[0-9]+' <<<"$v" || fail "--version printed \"$v\""
rc=0; "$P" frobnicate >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "an unknown command exited $rc, expected 2"

# ---- strict numbers: each bad value is named with its flag ----
expect_usage_error() { # FLAG VALUE CMD...
  local flag=$1 value=$2; shift 2
  local rc=0 out
  out=$("$P" "$@" 2>&1) || rc=$?
  [ "$rc" -eq 2 ] || fail "pressctl $* exited $rc, expected 2: $out"
  grep -qF -- "$flag" <<<"$out" && grep -qF -- "\"$value\"" <<<"$out" ||
    fail "pressctl $*: the error does not name $flag and \"$value\": $out"
}
expect_usage_error --scale preview-worker=abc dev up --dir "$STACK_DIR/never" --scale preview-worker=abc
expect_usage_error --scale preview-worker=2x dev up --dir "$STACK_DIR/never" --scale preview-worker=2x
expect_usage_error --timeout -5 results --timeout -5
expect_usage_error --timeout abc results --timeout abc
expect_usage_error --timeout 3s submit "$ROOT/examples/jobs.jsonl" --timeout 3s
expect_usage_error --since yesterday results --since yesterday
expect_usage_error --since 2026-13-01T00:00:00Z results --since 2026-13-01T00:00:00Z
expect_usage_error --threads many verify --batch /dev/null --threads many
expect_usage_error --cap-usd 1e3 budget set preview --cap-usd 1e3
expect_usage_error --from yesterday replay --topic jobs --from yesterday
expect_usage_error --topic bogus replay --topic bogus
expect_usage_error --max-attempts 0 dlq redrive --all --max-attempts 0
expect_usage_error --to-datetime soon offsets reset --group g --to-datetime soon
[ ! -e "$STACK_DIR/never" ] || fail "dev up with a bad --scale created its folder"
# A bad job line says where, which field, what was expected and what was found.
printf '{"job_id":"x-1","asset_class":"thumbnail","prompt":"p","seed":"abc"}\n' >"$STACK_DIR/bad.jsonl"
rc=0; "$P" submit "$STACK_DIR/bad.jsonl" 2>"$STACK_DIR/bad.err" >/dev/null || rc=$?
[ "$rc" -eq 2 ] && grep -q "bad.jsonl:1: .*seed: expected .*found \"abc\"" "$STACK_DIR/bad.err" ||
  fail "submit of a bad seed: exit $rc, $(cat "$STACK_DIR/bad.err")"
echo "ok: bad numbers and times are refused, naming the flag and the value"

# ---- no broker: one sentence within 5 s ----
port=$(free_port)
for c in "results" "submit $ROOT/examples/jobs.jsonl" "replay --topic jobs" "dlq list" "offsets show --group g"; do
  t0=$(date +%s%N); rc=0
  PRESSROOM_BROKERS="127.0.0.1:$port" "$P" $c >"$STACK_DIR/nob.out" 2>"$STACK_DIR/nob.err" || rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$rc" -eq 1 ] || fail "pressctl $c without a broker exited $rc, expected 1"
  [ "$ms" -lt 5000 ] || fail "pressctl $c took $ms ms to say no broker answers (want < 5 s)"
  [ "$(wc -l <"$STACK_DIR/nob.err")" -eq 1 ] || fail "pressctl $c without a broker printed more than one line: $(head -c 600 "$STACK_DIR/nob.err")"
  grep -q 'PRESSROOM_BROKERS' "$STACK_DIR/nob.err" && grep -qF '`pressctl dev up`' "$STACK_DIR/nob.err" &&
    grep -qF "127.0.0.1:$port" "$STACK_DIR/nob.err" || fail "pressctl $c: $(cat "$STACK_DIR/nob.err")"
  echo "ok: pressctl ${c%% *} without a broker: exit 1 after $ms ms: $(cat "$STACK_DIR/nob.err")"
done

# ---- results against a real broker: verdicts produced by kcat, not by pressctl ----
start_broker
outcome() { # JOB_ID VERDICT
  /usr/bin/python3 - "$ROOT/examples/messages/outcome-accepted.json" "$1" "$2" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
o["job_id"], o["verdict"] = sys.argv[2], sys.argv[3]
if o["verdict"] != "accepted":
    o["reason"], o["detail"] = "failed_after_attempts", "text_mismatch"
print(o["job_id"] + "\t" + json.dumps(o, separators=(",", ":")))
PY
}
{ outcome old-1 accepted; outcome old-2 accepted; } | kafka_put pressroom.results
sleep 1.5
since_ms=$(( $(date +%s%N) / 1000000 ))
since_iso=$(date -u -d "@$(( since_ms / 1000 ))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $(( since_ms % 1000 )))Z
sleep 0.5
{ outcome new-1 accepted; outcome new-2 accepted; } | kafka_put pressroom.results
outcome new-3 rejected | kafka_put pressroom.rejected

terminal() { sed -n 's/^terminal: \([0-9]*\) jobs$/\1/p' "$1"; }
"$P" results --timeout 20 --jsonl "$STACK_DIR/all.jsonl" >"$STACK_DIR/all.txt" || fail "results exited $?"
[ "$(terminal "$STACK_DIR/all.txt")" = 5 ] || fail "results read $(terminal "$STACK_DIR/all.txt") jobs, expected 5: $(cat "$STACK_DIR/all.txt")"
for s in "$since_ms" "$since_iso"; do
  "$P" results --since "$s" --jsonl "$STACK_DIR/since.jsonl" >"$STACK_DIR/since.txt" || fail "results --since $s exited $?"
  got=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["job_id"] for l in open(sys.argv[1]))))' "$STACK_DIR/since.jsonl")
  [ "$got" = "new-1 new-2 new-3" ] || fail "results --since $s reported \"$got\", expected the three jobs after it"
done
"$P" results --job new-3 --jsonl "$STACK_DIR/job.jsonl" >"$STACK_DIR/job.txt" || fail "results --job exited $?"
[ "$(wc -l <"$STACK_DIR/job.jsonl")" -eq 1 ] && grep -q '"job_id":"new-3".*"verdict":"rejected"' "$STACK_DIR/job.jsonl" ||
  fail "results --job new-3: $(cat "$STACK_DIR/job.jsonl")"
rc=0; "$P" results --job no-such-job >/dev/null 2>"$STACK_DIR/nojob.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'no verdict for job no-such-job' "$STACK_DIR/nojob.err" || fail "results --job no-such-job: exit $rc, $(cat "$STACK_DIR/nojob.err")"
echo "ok: results reads all 5, --since (epoch ms and RFC 3339) the 3 after it, --job the one"

# A failed write is a non-zero exit, naming the file.
rc=0; "$P" results --jsonl /dev/full >/dev/null 2>"$STACK_DIR/full.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'cannot write /dev/full' "$STACK_DIR/full.err" || fail "results --jsonl /dev/full: exit $rc, $(cat "$STACK_DIR/full.err")"
rc=0; "$P" results --html "$STACK_DIR/no/such/dir/x.html" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "results --html into a missing folder exited $rc"
echo "ok: a failed write exits 1"

# --timeout 3, many times: reading by assignment never aborts (a subscribe asserted in
# librdkafka's sticky assignor about 3 runs in 12), and each run reads everything.
for i in $(seq 1 12); do
  rc=0; "$P" results --timeout 3 >"$STACK_DIR/r$i.txt" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || fail "results --timeout 3, run $i, exited $rc: $(tail -n 5 "$STACK_DIR/r$i.txt")"
  [ "$(terminal "$STACK_DIR/r$i.txt")" = 5 ] || fail "results --timeout 3, run $i: $(tail -n 3 "$STACK_DIR/r$i.txt")"
done
echo "ok: results --timeout 3 ran 12 times, exit 0 and 5 jobs each"
