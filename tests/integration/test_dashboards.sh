#!/usr/bin/env bash
# deploy/grafana/pressroom.json and deploy/prometheus/alerts.yaml name only what the
# workers export: a real stack runs jobs through all three workers, each worker's
# /metrics is scraped, and every metric name in the dashboard's and the rules' PromQL
# (parsed out of the files, no list kept here) must be exported by some worker, with
# every label the queries group by or print. Then promtool checks the rules and runs
# their unit tests (deploy/prometheus/alerts_test.yaml).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init dashboards
PY=/usr/bin/python3
command -v promtool >/dev/null || fail "promtool is missing: bash scripts/install-deps.sh"

fleet_view_config "$STACK_DIR/config.json"
start_stack "$STACK_DIR/config.json"
start_admin_workers

# Paid jobs escalate and are accepted; thumbnails fail their only attempt and are
# rejected with a reason; a line that is not a job is dead-lettered.
{
  for i in 1 2 3; do printf '{"job_id":"p-%d","asset_class":"paid","prompt":"Poster, text \\"SALE %d\\""}\n' "$i" "$i"; done
  for i in 1 2 3; do printf '{"job_id":"t-%d","asset_class":"thumbnail","prompt":"Shoes, text \\"NEW %d\\""}\n' "$i" "$i"; done
} >"$STACK_DIR/jobs.jsonl"
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 120 --jsonl "$STACK_DIR/outcomes.jsonl" >"$STACK_DIR/summary.txt"
grep -q '^terminal: 6/6 jobs' "$STACK_DIR/summary.txt" || fail "$(cat "$STACK_DIR/summary.txt")"
# The summary table: escalated sums every escalation the verdicts carry; no $/accepted
# for a class with no accepted job (the thumbnails are all rejected).
$PY - "$STACK_DIR" <<'PY' || fail "the summary table disagrees with the verdicts: $(cat "$STACK_DIR/summary.txt")"
import json, sys
d = sys.argv[1]
rows = {l.split()[0]: l.split() for l in open(f"{d}/summary.txt") if l.split() and l.split()[0] in ("paid", "thumbnail", "all")}
out = [json.loads(l) for l in open(f"{d}/outcomes.jsonl")]
for cls in ("paid", "thumbnail"):
    esc = sum(o["escalations"] for o in out if o["asset_class"] == cls)
    acc = sum(o["verdict"] == "accepted" for o in out if o["asset_class"] == cls)
    r = rows[cls]  # class jobs accepted degraded escalated rejected dlq p50 p95 p99 $/accepted caught pending
    assert int(r[4]) == esc, (cls, r, esc)
    assert (r[10] == "-") == (acc == 0), (cls, r, acc)
assert rows["thumbnail"][10] == "-" and rows["paid"][10].startswith("$"), rows
print("ok: summary table: escalated sums the escalations, no $/accepted without an accepted job")
PY
printf 'bad-1\tnot a job\n' | kafka_put pressroom.jobs
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:${WORKER_PORT[preview]}/metrics" | grep -q '^pressroom_dead_letters_total{[^}]*} 1' && break
  sleep 0.1
done
# The spend gauges are Redis's window, as `pressctl budget show` reads it (refreshed on
# the workers' 10 s stats turn).
for tier in preview:preview production:production; do
  w=${tier%%:*}; t=${tier##*:}
  want=$("$BIN/pressctl" budget show --json | $PY -c 'import json,sys; t=sys.argv[1]; print([x for x in json.load(sys.stdin)["tiers"] if x["tier"]==t][0]["spent_micros"])' "$t")
  [ "$want" -gt 0 ] || fail "the $t tier spent nothing"
  got=
  for _ in $(seq 1 150); do
    got=$(curl -sf "http://127.0.0.1:${WORKER_PORT[$w]}/metrics" | sed -n "s/^pressroom_budget_spent_usd{[^}]*tier=\"$t\"[^}]*} //p")
    [ -n "$got" ] && $PY -c 'import sys; sys.exit(abs(float(sys.argv[1])*1e6-int(sys.argv[2]))>0.5)' "$got" "$want" && break
    sleep 0.1
  done
  $PY -c 'import sys; sys.exit(abs(float(sys.argv[1] or -1)*1e6-int(sys.argv[2]))>0.5)' "$got" "$want" ||
    fail "$w exports pressroom_budget_spent_usd{tier=$t} $got, budget show says $want micro-dollars"
done
echo "ok: pressroom_budget_spent_usd equals pressctl budget show for both tiers"
# A moderation decision, so the verifier's moderation counter has a series to check.
"$BIN/pressctl" moderate p-1 --reject --reason "dashboard test" >/dev/null || fail "pressctl moderate p-1"
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:${PORT[verifier]}/metrics" | grep -q '^pressroom_moderation_decisions_total{' && break
  sleep 0.1
done
for w in preview verifier production; do
  curl -sf "http://127.0.0.1:${WORKER_PORT[$w]}/metrics" >"$STACK_DIR/$w.prom" || fail "$w /metrics"
done

$PY - "$ROOT" "$STACK_DIR" <<'PY'
import json, re, sys
import yaml
root, d = sys.argv[1], sys.argv[2]
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$')
labels_of = {}  # exported series name -> label names seen
for w in ("preview", "verifier", "production"):
    for line in open(f"{d}/{w}.prom"):
        m = sample.match(line.strip())
        if m:
            labels_of.setdefault(m.group(1), set()).update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(2) or ""))

# Labels the scrape adds (ServiceMonitor / Prometheus) on top of what a worker exports.
SCRAPE_LABELS = {"pod", "instance", "job", "namespace"}
NAME = re.compile(r"\b(pressroom_[a-zA-Z0-9_]+)\b")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")

def check(queries, exported):
    """queries: (where, expr, legend). Returns the problems found."""
    problems = []
    for where, expr, legend in queries:
        names = set(NAME.findall(expr))
        if not names:
            problems.append(f"{where}: names no pressroom metric: {expr}")
        have = set(SCRAPE_LABELS)
        for n in sorted(names):
            if n not in exported:
                problems.append(f"{where}: {n} is not exported by any worker")
            else:
                have |= exported[n]
        grouped = {l.strip() for g in BY.findall(expr) for l in g.split(",") if l.strip()}
        for l in sorted(grouped - have):
            problems.append(f"{where}: groups by {l}, a label none of {sorted(names)} carries")
        for l in re.findall(r"\{\{\s*\$?labels\.(\w+)\s*\}\}|\{\{\s*(\w+)\s*\}\}", legend or ""):
            l = l[0] or l[1]
            if l != "value" and l not in (grouped or have):
                problems.append(f"{where}: prints {{{{{l}}}}}, which the query does not keep")
    return problems

dash = json.load(open(f"{root}/deploy/grafana/pressroom.json"))
queries = [(f"dashboard panel \"{p['title']}\"", t["expr"], t.get("legendFormat", ""))
           for p in dash["panels"] for t in p.get("targets", [])]
rules = yaml.safe_load(open(f"{root}/deploy/prometheus/alerts.yaml"))
alerts = [(f"alert {r['alert']}", r["expr"], " ".join(r.get("annotations", {}).values()))
          for g in rules["groups"] for r in g["rules"]]
want_panels = ["latency", "verdict", "reason", "spend", "cap", "lag", "in flight", "breaker", "verifier"]
titles = " ".join(p["title"].lower() for p in dash["panels"])
missing = [w for w in want_panels if w not in titles]
assert not missing, f"the dashboard has no panel about {missing}"
want_alerts = {"PressroomBudgetNearCap", "PressroomDeadLetters", "PressroomBreakerOpen", "PressroomNoVerdicts",
               "PressroomLagGrowing"}
assert want_alerts <= {r["alert"] for g in rules["groups"] for r in g["rules"]}, "an alert is missing"

problems = check(queries + alerts, labels_of)
for p in problems:
    print("FAIL  " + p)
names = sorted({n for _, e, _ in queries + alerts for n in NAME.findall(e)})
if problems:
    sys.exit(1)
print(f"ok    {len(queries)} dashboard queries and {len(alerts)} alert rules use {len(names)} metrics, all exported: "
      + ", ".join(names))

# The check can fail: a misspelt metric and a label no series has are each caught.
caught = check([("mutant", "sum(rate(pressroom_verdict_total[5m]))", ""),
                ("mutant", "sum by (asset_klass) (pressroom_verdicts_total)", "{{asset_klass}}")], labels_of)
assert any("pressroom_verdict_total is not exported" in c for c in caught), caught
assert any("groups by asset_klass" in c for c in caught), caught
print("ok    a misspelt metric and an unknown label are caught")
PY
promtool check rules "$ROOT/deploy/prometheus/alerts.yaml" || fail "promtool check rules"
(cd "$ROOT/deploy/prometheus" && promtool test rules alerts_test.yaml) || fail "promtool test rules"
echo "ok: dashboard and alerts reference only exported metrics; promtool check rules and test rules pass"
