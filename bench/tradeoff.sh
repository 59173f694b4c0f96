#!/usr/bin/env bash
# bench/tradeoff.sh — `make tradeoff`: the seed's trade-off table, measured. The same
# batch (examples/jobs.jsonl, TRADEOFF_JOBS to change it) runs on the embedded stack
# (broker, redis, reference renderer, the three workers) under two policies:
#   single  every asset class routes production_only: one render with the
#           high-fidelity model (tiers.production.model), verified
#   split   today's routing (examples/config.json): previews on the fast model,
#           escalations and final renders on the high-fidelity one
# each at the same fixed offered load (RATE jobs/s, default 4), then under a burst (the
# whole batch at once). Caps are lifted (cap_usd 0) so the budget does not decide; the
# rest is examples/config.json. One row per run from `pipeline_bench batch`. Prices and
# render latencies are the renderer's simulated profiles (models.*.price_usd,
# latency_p50_ms/p99_ms, rates: its mistakes); verification and queueing are real.
set -euo pipefail
source "$(dirname "$0")/../tests/lib.sh"
B="$ROOT/$BUILD/bench"
JOBS=${TRADEOFF_JOBS:-$ROOT/examples/jobs.jsonl}
RATE=${RATE:-4}
OUT=$(mktemp /tmp/pressroom-tradeoff.XXXXXX)

run_policy() { # POLICY
  local policy=$1
  (
    stack_init "tradeoff-$policy"
    /usr/bin/python3 - "$ROOT/examples/config.json" "$policy" >"$STACK_DIR/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for t in c["tiers"].values(): t["cap_usd"] = 0
c["kafka"] = {"session_timeout_ms": 6000}
if sys.argv[2] == "single":
    for cls in c["asset_classes"].values(): cls["route"] = "production_only"
print(json.dumps(c))
PY
    start_stack "$STACK_DIR/config.json"
    for w in preview verifier production; do start_bg "$w" "$BIN/$w-worker"; done
    "$B/pipeline_bench" batch --file "$JOBS" --rate "$RATE" --label "$policy" >>"$OUT" ||
      echo "($policy at $RATE jobs/s: not every job reached a verdict)" >&2
    "$B/pipeline_bench" batch --file "$JOBS" --rate "$RATE" --burst --label "$policy" >>"$OUT" ||
      echo "($policy burst: not every job reached a verdict)" >&2
  )
}

header() {
  printf '%-8s %-11s %11s %6s %9s %10s %7s %7s %7s %8s %6s\n' policy load verdicts hops '$/image' '$/accepted' \
    'p50 ms' 'p95 ms' 'p99 ms' 'v-fail' 'peak q'
}
t0=$SECONDS
for p in single split; do
  echo "== $p: $(wc -l <"$JOBS") jobs at $RATE jobs/s, then all at once ==" >&2
  run_policy "$p"
done
echo
echo "fixed offered load ($RATE jobs/s):"
header; grep -v ' burst ' "$OUT" || true
echo
echo "burst (every job at once):"
header; grep ' burst ' "$OUT" || true
echo
echo "(hops = renders per job; \$/image = spend over renders; \$/accepted = spend over accepted jobs; v-fail ="
echo " failed verifications over renders; peak q = the largest summed consumer lag of the three workers, sampled"
echo " every 250 ms. Prices, render latencies and mistakes are the reference renderer's simulated profiles;"
echo " the run took $((SECONDS - t0)) s on this machine)"
rm -f "$OUT"
