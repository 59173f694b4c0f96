#!/usr/bin/env bash
# Each worker's operational endpoint (--metrics-listen): /healthz answers from the
# loop; /metrics is valid Prometheus text whose counters agree with what the pipeline
# really did; /readyz turns 503 while Redis is down (admission fails closed) and back
# to 200 when it returns; unknown paths and methods are refused; a bad address fails
# at start naming the key; SIGTERM still drains and exits 0.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init admin
PY=/usr/bin/python3

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "typo_preview", "max_latency_ms": 800, "max_inflight": 32},
    "production": {"model": "clean_final", "max_latency_ms": 2200, "max_inflight": 32}
  },
  "models": {
    "typo_preview": {"price_usd": 0.02, "latency_p50_ms": 50, "latency_p99_ms": 150,
                     "rates": {"typo": 1.0, "drop": 0, "extra": 0, "offzone": 0, "low_contrast": 0, "off_palette": 0}},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 80, "latency_p99_ms": 200, $NO_MISTAKES}
  },
  "kafka": {"session_timeout_ms": 6000},
  "verify_ocr": true
}
JSON

# A bad address fails at start, naming the key and the expected form.
rc=0
PRESSROOM_CONFIG="$STACK_DIR/config.json" "$BIN/preview-worker" --metrics-listen "nowhere" \
  2>"$STACK_DIR/bad.err" >/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "a bad --metrics-listen exited $rc, expected 2"
grep -q 'metrics_listen: expected HOST:PORT' "$STACK_DIR/bad.err" || fail "no clear error: $(cat "$STACK_DIR/bad.err")"
printf '{"metrics_listen": "9464"}' >"$STACK_DIR/bad.json"
rc=0; "$BIN/verifier-worker" --config "$STACK_DIR/bad.json" 2>"$STACK_DIR/bad2.err" >/dev/null || rc=$?
[ "$rc" -eq 2 ] && grep -q 'bad.json: metrics_listen: expected HOST:PORT' "$STACK_DIR/bad2.err" ||
  fail "a bad metrics_listen in the config: exit $rc, $(cat "$STACK_DIR/bad2.err")"

start_stack "$STACK_DIR/config.json"
declare -A PORT PID
for w in preview verifier production; do
  start_bg "$w" "$BIN/$w-worker" --metrics-listen 127.0.0.1:0; PID[$w]=$LAST_PID
done
for w in preview verifier production; do
  wait_for grep -q '"admin_listening"' "$STACK_DIR/$w.log"
  PORT[$w]=$(grep -o '"event":"admin_listening"[^}]*"port":"[0-9]*"' "$STACK_DIR/$w.log" | grep -o '[0-9]*"$' | tr -d '"')
  [ -n "${PORT[$w]}" ] || fail "$w logged no port"
  [ "$(curl -sf "http://127.0.0.1:${PORT[$w]}/healthz")" = ok ] || fail "$w /healthz"
  [ "$(curl -sf "http://127.0.0.1:${PORT[$w]}/readyz")" = ready ] || fail "$w /readyz before any work"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[preview]}/nope")
[ "$code" = 404 ] || fail "unknown path answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:${PORT[preview]}/metrics")
[ "$code" = 405 ] || fail "POST answered $code"

N=12
for i in $(seq 1 $N); do
  printf '{"job_id":"m-%03d","asset_class":"thumbnail","prompt":"Product shot, overlay text \\"SALE %d\\""}\n' "$i" "$i"
done >"$STACK_DIR/jobs.jsonl"
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 120 >"$STACK_DIR/summary.txt"
grep -q "^terminal: $N/$N jobs" "$STACK_DIR/summary.txt" || fail "$(cat "$STACK_DIR/summary.txt")"
for w in preview verifier production; do
  curl -sf "http://127.0.0.1:${PORT[$w]}/metrics" >"$STACK_DIR/$w.prom" || fail "$w /metrics"
done

# Valid exposition text, and counters that match the run: every preview misspells,
# so each job is rendered twice, checked twice, fails once, escalates once, and is
# accepted once at $0.08.
$PY - "$STACK_DIR" "$N" <<'PY'
import re, sys, collections
d, n = sys.argv[1], int(sys.argv[2])
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+]+|\+Inf|NaN)$')
def parse(w):
    typed, helped, series = {}, set(), collections.defaultdict(float)
    buckets = collections.defaultdict(list)
    for line in open(f"{d}/{w}.prom"):
        line = line.rstrip("\n")
        if line.startswith("# HELP "):
            helped.add(line.split()[2]); continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(); typed[name] = kind; continue
        m = sample.match(line)
        assert m, f"{w}: not exposition format: {line!r}"
        name, labels, value = m.group(1), m.group(3) or "", float(m.group(4))
        fam = re.sub(r'_(bucket|sum|count)$', '', name) if name not in typed else name
        assert fam in typed and fam in helped, f"{w}: {name} has no TYPE/HELP before it"
        assert 'worker="' in labels, f"{w}: {line} lacks the worker label"
        if name.endswith("_bucket"):
            key = re.sub(r',?le="[^"]*"', '', labels)
            buckets[(name, key)].append(value)
        series[(name, labels)] += value
    for (name, key), vals in buckets.items():
        assert vals == sorted(vals), f"{w}: {name} buckets not cumulative: {vals}"
        count = series[(name[:-7] + "_count", key)]
        assert vals[-1] == count, f"{w}: +Inf bucket {vals[-1]} != count {count}"
    return series
def total(series, name, **want):
    return sum(v for (k, labels), v in series.items() if k == name
               and all(f'{a}="{b}"' in labels for a, b in want.items()))
p, v, q = parse("preview"), parse("verifier"), parse("production")
checks = [
    (total(p, "pressroom_messages_consumed_total"), n, "preview consumed"),
    (total(p, "pressroom_renders_total", tier="preview", result="ok"), n, "preview renders ok"),
    (total(p, "pressroom_admissions_total", decision="admitted"), n, "preview admissions"),
    (total(p, "pressroom_render_seconds_count"), n, "preview render latency observations"),
    (total(p, "pressroom_redis_available", tier="preview"), 1, "preview sees redis"),
    (total(q, "pressroom_renders_total", tier="production", result="ok"), n, "production renders ok"),
    (total(v, "pressroom_verifications_total", stage="preview", result="fail"), n, "previews failed"),
    (total(v, "pressroom_verifications_total", stage="production", result="pass"), n, "finals passed"),
    (total(v, "pressroom_check_failures_total"), n, "failed checks (one typo each)"),
    (total(v, "pressroom_escalations_total", escalation="verification_failed"), n, "escalations"),
    (total(v, "pressroom_verdicts_total", verdict="accepted", asset_class="thumbnail"), n, "accepted verdicts"),
    (round(total(v, "pressroom_spend_usd_total"), 6), round(0.08 * n, 6), "spend on verdicts"),
    (total(v, "pressroom_job_seconds_count"), n, "job latency observations"),
    (total(v, "pressroom_messages_consumed_total"), 2 * n, "verifier consumed"),
    (total(p, "pressroom_dead_letters_total") + total(v, "pressroom_dead_letters_total"), 0, "no dead letters"),
    (sum(1 for k, _ in q if k == "pressroom_model_breaker_open"), 1, "one breaker series (clean_final)"),
    (total(q, "pressroom_model_breaker_open", model="clean_final"), 0, "clean_final's breaker closed"),
]
bad = [f"{what}: {got} != {want}" for got, want, what in checks if got != want]
assert not bad, "; ".join(bad)
print(f"ok: /metrics valid on 3 workers; {len(checks)} counters agree with the run")
PY

# Redis down: the next admission fails closed and /readyz says so; back up: ready.
kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
printf '{"job_id":"m-late","asset_class":"thumbnail","prompt":"Poster, overlay text \\"LATE\\""}\n' >"$STACK_DIR/late.jsonl"
"$BIN/pressctl" submit "$STACK_DIR/late.jsonl" >/dev/null
not_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[preview]}/readyz")" = 503 ]; }
wait_for not_ready || fail "preview /readyz stayed 200 with Redis down"
# (grep reads a captured body: `curl | grep -q` fails under pipefail when grep exits first)
grep -q 'Redis' <<<"$(curl -s "http://127.0.0.1:${PORT[preview]}/readyz")" || fail "readyz gave no reason"
grep -q '^pressroom_redis_available{worker="preview-worker",tier="preview"} 0$' \
  <<<"$(curl -sf "http://127.0.0.1:${PORT[preview]}/metrics")" ||
  fail "redis_available did not drop to 0"
[ "$(curl -sf "http://127.0.0.1:${PORT[preview]}/healthz")" = ok ] || fail "/healthz must stay ok while Redis is down"
start_redis
ready() { [ "$(curl -s "http://127.0.0.1:${PORT[preview]}/readyz")" = ready ]; }
for _ in 1 2 3; do ready && break; wait_for ready || true; done
ready || fail "preview /readyz did not recover with Redis back"
# `results` reports what the topics hold now: ask until the late job's verdict is there.
for _ in $(seq 1 30); do
  "$BIN/pressctl" results --job m-late --jsonl "$STACK_DIR/all.jsonl" >/dev/null 2>&1 && break
  sleep 1
done
grep -q '"job_id":"m-late".*"verdict":"accepted"' "$STACK_DIR/all.jsonl" || fail "the job admitted after the outage did not finish"
echo "ok: /readyz 503 with Redis down, 200 once it is back; the deferred job finished"

for w in preview verifier production; do kill -TERM "${PID[$w]}"; done
for w in preview verifier production; do
  rc=0; wait "${PID[$w]}" || rc=$?
  [ "$rc" -eq 0 ] || fail "$w exited $rc after SIGTERM"
done
echo "ok: workers with the endpoint drained and exited 0"
