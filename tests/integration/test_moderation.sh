#!/usr/bin/env bash
# The moderation loop on the embedded stack: jobs get verdicts (paid ones escalate and
# are accepted, thumbnails fail their only attempt and are rejected), `pressctl
# moderate` records decisions (some changed later: the latest per job@revision wins),
# and `pressctl results --moderation` must report the reject rate and the verifier's
# escape rate that follow from what was recorded and the verdicts on the topics (the
# expected figures are computed here from those two, never typed in). The verifier's
# pressroom_moderation_decisions_total counts every decision recorded. Bad arguments
# and a job without a verdict are refused with a sentence, nothing recorded.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init moderation
PY=/usr/bin/python3

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "typo_preview", "max_latency_ms": 800, "max_inflight": 32},
    "production": {"model": "clean_final", "max_latency_ms": 2200, "max_inflight": 32}
  },
  "models": {
    "typo_preview": {"price_usd": 0.02, "latency_p50_ms": 20, "latency_p99_ms": 60,
                     "rates": {"typo": 1.0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 30, "latency_p99_ms": 80, $NO_MISTAKES}
  },
  "asset_classes": {"thumbnail": {"route": "preview", "max_attempts": 1}, "paid": {"route": "final"}},
  "kafka": {"session_timeout_ms": 6000},
  "verify_ocr": true
}
JSON
start_stack "$STACK_DIR/config.json"
for w in preview production; do start_bg "$w" "$BIN/$w-worker"; done
start_bg verifier "$BIN/verifier-worker" --metrics-listen 127.0.0.1:0
wait_for grep -q '"admin_listening"' "$STACK_DIR/verifier.log"
VPORT=$(grep -o '"event":"admin_listening"[^}]*"port":"[0-9]*"' "$STACK_DIR/verifier.log" | grep -o '[0-9]*"$' | tr -d '"')

{
  for i in 1 2 3 4; do printf '{"job_id":"p-%d","asset_class":"paid","prompt":"Poster, text \\"SALE %d\\""}\n' "$i" "$i"; done
  for i in 1 2 3; do printf '{"job_id":"t-%d","asset_class":"thumbnail","prompt":"Shoes, text \\"NEW %d\\""}\n' "$i" "$i"; done
} >"$STACK_DIR/jobs.jsonl"
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 120 --jsonl "$STACK_DIR/outcomes.jsonl" >"$STACK_DIR/submit.txt"
grep -q '^terminal: 7/7 jobs' "$STACK_DIR/submit.txt" || fail "$(cat "$STACK_DIR/submit.txt")"

# ---- Refusals: strict arguments, nothing recorded ----
refuse() { # refuse EXIT WORDS ARGS...: exits EXIT and says WORDS on stderr
  local want=$1 words=$2; shift 2
  local rc=0
  "$BIN/pressctl" moderate "$@" >"$STACK_DIR/out.txt" 2>"$STACK_DIR/err.txt" || rc=$?
  [ "$rc" = "$want" ] || fail "pressctl moderate $*: exit $rc, expected $want ($(cat "$STACK_DIR/err.txt"))"
  grep -q -- "$words" "$STACK_DIR/err.txt" || fail "pressctl moderate $*: stderr lacks \"$words\": $(cat "$STACK_DIR/err.txt")"
}
refuse 2 "non-empty --reason" p-1 --reject
refuse 2 "non-empty --reason" p-1 --reject --reason ""
refuse 2 "once" p-1 --reject --approve --reason x
refuse 2 "unexpected argument" p-1 --reject --reason x --colour red
refuse 2 "expects a value" p-1 --reject --reason
refuse 2 "job_id" 'a/b' --reject --reason x
refuse 2 "revision" 'p-1@' --reject --reason x
refuse 1 "has no verdict" nosuch-job --reject --reason x
refuse 1 "has no verdict" p-1@not-a-revision --approve --reason x
"$BIN/pressctl" moderate --help >"$STACK_DIR/help.txt" && grep -q 'pressctl moderate JOB_ID\[@REV\]' "$STACK_DIR/help.txt" ||
  fail "moderate --help"
"$BIN/pressctl" --help >"$STACK_DIR/help.txt" && grep -q 'pressctl moderate' "$STACK_DIR/help.txt" ||
  fail "pressctl --help lists moderate"
echo "ok: bad arguments and a job without a verdict are refused"

# ---- Decisions: (target, decision) in the order recorded ----
REV_P1=$($PY -c 'import json,sys; print([json.loads(l)["revision"] for l in open(sys.argv[1]) if json.loads(l)["job_id"]=="p-1"][0])' "$STACK_DIR/outcomes.jsonl")
DECISIONS=("p-1@$REV_P1 reject" "p-2 approve" "p-3 reject" "p-3 approve" "p-4 approve" "p-4 reject"
           "t-1 reject" "t-2 approve" "t-3 reject")
: >"$STACK_DIR/recorded.txt"
for d in "${DECISIONS[@]}"; do
  set -- $d
  "$BIN/pressctl" moderate "$1" "--$2" --reason "test decision $2" --reviewer tester >>"$STACK_DIR/moderate.txt" ||
    fail "pressctl moderate $1 --$2"
  echo "${1%@*} $2" >>"$STACK_DIR/recorded.txt"
done
grep -q "recorded rejected for p-1@$REV_P1 (verdict accepted, class paid" "$STACK_DIR/moderate.txt" ||
  fail "moderate names what it recorded: $(head -n 1 "$STACK_DIR/moderate.txt")"

# The topic holds exactly what was recorded, each stamped with its verdict.
kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.moderation -e -q >"$STACK_DIR/topic.jsonl" 2>/dev/null
"$BIN/pressctl" results --moderation >"$STACK_DIR/results.txt" || fail "results --moderation: $(cat "$STACK_DIR/results.txt")"

$PY - "$STACK_DIR" <<'PY' || fail "the moderation report disagrees with what was recorded: $(cat "$STACK_DIR/results.txt")"
import json, sys
d = sys.argv[1]
recorded = [l.split() for l in open(f"{d}/recorded.txt")]
topic = [json.loads(l) for l in open(f"{d}/topic.jsonl") if l.strip()]
assert len(topic) == len(recorded), (len(topic), len(recorded))
verdicts = {json.loads(l)["job_id"]: json.loads(l) for l in open(f"{d}/outcomes.jsonl")}
for (job, dec), t in zip(sorted(recorded), sorted(topic, key=lambda t: (t["job_id"], t["decided_at_ms"]))):
    assert t["job_id"] == job and t["revision"] == verdicts[job]["revision"], (job, t)
    assert t["verdict"] == verdicts[job]["verdict"] and t["asset_class"] == verdicts[job]["asset_class"], t
    assert t["reviewer"] == "tester", t
latest = {}
for job, dec in recorded:  # the latest decision per job (one revision each here) wins
    latest[job] = dec
def row(jobs):
    mod = len(jobs)
    rej = sum(latest[j] == "reject" for j in jobs)
    passes = [j for j in jobs if verdicts[j]["verdict"] != "rejected"]
    esc = sum(latest[j] == "reject" for j in passes)
    pct = lambda a, b: f"{100.0 * a / b:.1f}%" if b else "-"
    return [str(mod), str(mod - rej), str(rej), pct(rej, mod), str(len(passes)), str(esc), pct(esc, len(passes))]
lines = open(f"{d}/results.txt").read().split("\nmoderation (")[1].splitlines()
tables, cur = {}, None
for l in lines:
    f = l.split()
    if not f: continue
    if f[-2:] == ["escape", "rate"]: cur = " ".join(f[:2]) if f[0] == "asset" else f[0]; tables[cur] = {}; continue
    if cur and len(f) >= 8: tables[cur][" ".join(f[:-7])] = f[-7:]
classes = {}
for j in latest: classes.setdefault(verdicts[j]["asset_class"], []).append(j)
for c, jobs in classes.items():
    assert tables["asset class"][c] == row(jobs), (c, tables["asset class"].get(c), row(jobs))
assert tables["asset class"]["all"] == row(list(latest)), (tables["asset class"]["all"], row(list(latest)))
models = {}
for j in latest: models.setdefault(verdicts[j]["model"], []).append(j)
for m, jobs in models.items():
    assert tables["model"][m] == row(jobs), (m, tables["model"].get(m), row(jobs))
assert tables["template"]["(none)"] == row(list(latest)), tables["template"]
superseded = len(recorded) - len(latest)
summary = [l for l in lines if l.startswith("moderation: ")][0]
assert summary.startswith(f"moderation: {len(latest)} revision(s) decided, {superseded} earlier decision(s) superseded, 0 without"), summary
print("ok: reject rate and escape rate per class, template and model equal the recorded decisions:",
      "all", tables["asset class"]["all"])
PY

# --job narrows the join to one job.
"$BIN/pressctl" results --moderation --job p-4 >"$STACK_DIR/one.txt"
grep -q '^moderation: 1 revision(s) decided, 1 earlier' "$STACK_DIR/one.txt" || fail "results --moderation --job p-4: $(tail -n 3 "$STACK_DIR/one.txt")"
echo "ok: --job p-4 reports its one revision, its first decision superseded"

# ---- The verifier's counter: every decision recorded since it started, once ----
want=$($PY - "$STACK_DIR" <<'PY'
import json, sys
d = sys.argv[1]
c = {}
for t in (json.loads(l) for l in open(f"{d}/topic.jsonl") if l.strip()):
    k = (t["asset_class"], t["model"], t["decision"], "failed" if t["verdict"] == "rejected" else "passed")
    c[k] = c.get(k, 0) + 1
for k in sorted(c): print(f'pressroom_moderation_decisions_total{{class="{k[0]}",model="{k[1]}",decision="{k[2]}",verifier="{k[3]}"}} {c[k]}')
PY
)
cat >"$STACK_DIR/same_counts.py" <<'PY'
import re, sys
def parse(s):  # {(class, model, decision, verifier): value}, whatever other labels a series has
    out = {}
    for l in s.splitlines():
        m = re.match(r'^(\w+)\{(.*)\} (\S+)$', l.strip())
        if m:
            lab = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            k = tuple(lab.get(n) for n in ("class", "model", "decision", "verifier"))
            out[k] = out.get(k, 0) + float(m.group(3))
    return out
sys.exit(0 if parse(sys.argv[1]) == parse(sys.argv[2]) else 1)
PY
full=
for _ in $(seq 1 100); do
  full=$(curl -sf "http://127.0.0.1:$VPORT/metrics" | grep '^pressroom_moderation_decisions_total{' || true)
  $PY "$STACK_DIR/same_counts.py" "$full" "$want" && break
  sleep 0.1
done
[ "$full" ] || fail "the verifier exports no pressroom_moderation_decisions_total"
$PY "$STACK_DIR/same_counts.py" "$full" "$want" || fail "the verifier's counter: $full; recorded: $want"
echo "ok: pressroom_moderation_decisions_total{class,model,decision,verifier} counts every decision recorded"
cat "$STACK_DIR/results.txt"
echo "PASS"
