#!/usr/bin/env bash
# test_budget_pressctl.sh — the fleet's spend cap against a real redis-server, driven by
# several admission_bench processes and steered with `pressctl budget`:
#   - concurrent workers never spend past the configured cap, and nothing stays reserved;
#   - `budget set` raises the cap for the whole fleet at run time (stored in Redis);
#   - `budget reset` clears the window and the override;
#   - with Redis gone, `budget show` fails closed with a sentence, quickly.
source "$(dirname "$0")/../lib.sh"
stack_init budget
PY=/usr/bin/python3
PRESSCTL="$BIN/pressctl"
BENCH="$ROOT/$BUILD/bench/admission_bench"
[ -x "$PRESSCTL" ] || fail "missing $PRESSCTL (make)"
[ -x "$BENCH" ] || fail "missing $BENCH (make $BUILD/bench/admission_bench)"

one_budget_window 86400 30 # the spend of the 1d window is compared throughout
start_redis
cat >"$STACK_DIR/config.json" <<'EOF'
{"tiers": {"preview": {"model": "sd3.5_turbo", "max_latency_ms": 800, "cap_usd": 0.5, "window": "1d"},
           "production": {"model": "imagen4_ultra", "max_latency_ms": 2200}},
 "verify_ocr": true}
EOF
export PRESSROOM_CONFIG="$STACK_DIR/config.json"

# field JSON TIER KEY: one value of a tier from `budget show --json`.
field() {
  "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); t=[t for t in d["tiers"] if t["tier"]==sys.argv[2]][0]; v=t[sys.argv[3]]; print(str(v).lower() if isinstance(v,bool) else v)' "$1" "$2" "$3"
}

show=$("$PRESSCTL" budget show --json) || fail "budget show: $show"
[ "$(field "$show" preview cap_micros)" = 500000 ] || fail "configured cap not shown: $show"
[ "$(field "$show" preview window_s)" = 86400 ] || fail "configured window not shown: $show"
[ "$(field "$show" preview spent_micros)" = 0 ] || fail "fresh Redis has spend: $show"

# Three worker processes hammer admit+settle against the $0.50 cap.
out=$("$BENCH" --keep-caps --procs-only --procs 3 --seconds 1) || fail "bench failed: $out"
echo "$out"
grep -q "3 processes.* [1-9][0-9]* over cap" <<<"$out" || fail "3 processes did not reach the cap: $out"
show=$("$PRESSCTL" budget show --json) || fail "budget show: $show"
spent=$(field "$show" preview spent_micros)
[ "$spent" -le 500000 ] || fail "spent $spent > cap 500000"
[ "$spent" -gt 440000 ] || fail "spent $spent: the cap was never approached (worst case is 60000)"
[ "$(field "$show" preview reserved_micros)" = 0 ] || fail "reservations left behind: $show"
[ "$(field "$show" preview in_flight)" = 0 ] || fail "leases left behind: $show"
text=$("$PRESSCTL" budget show) || fail "budget show (text)"
grep -q "^preview .*\$0.50 " <<<"$text" || fail "text view lacks the preview cap: $text"
grep -q "sd3.5_turbo" <<<"$text" || fail "text view lacks per-model spend: $text"

# A run-time override for the whole fleet: $1.00, same window, spend carries on.
"$PRESSCTL" budget set preview --cap-usd 1.00 >/dev/null || fail "budget set"
show=$("$PRESSCTL" budget show --json)
[ "$(field "$show" preview cap_micros)" = 1000000 ] || fail "override not in effect: $show"
[ "$(field "$show" preview overridden)" = true ] || fail "override not flagged: $show"
"$BENCH" --keep-caps --procs-only --procs 2 --seconds 1 >/dev/null || fail "second bench run failed"
show=$("$PRESSCTL" budget show --json)
spent2=$(field "$show" preview spent_micros)
[ "$spent2" -le 1000000 ] || fail "spent $spent2 > overridden cap 1000000"
[ "$spent2" -gt "$spent" ] || fail "raised cap admitted nothing (spent $spent -> $spent2)"

# Bad input is refused with the expected form named.
err=$("$PRESSCTL" budget set preview --cap-usd ten 2>&1); rc=$?
[ $rc = 2 ] || fail "bad --cap-usd exit $rc"
grep -q "expected dollars" <<<"$err" || fail "bad --cap-usd message: $err"
err=$("$PRESSCTL" budget set gold --cap-usd 1 2>&1); rc=$?
[ $rc = 2 ] && grep -q "gold" <<<"$err" || fail "unknown tier accepted (exit $rc): $err"

# Reset: the window's spend and the override are gone.
"$PRESSCTL" budget reset preview >/dev/null || fail "budget reset"
show=$("$PRESSCTL" budget show --json)
[ "$(field "$show" preview spent_micros)" = 0 ] || fail "reset left spend: $show"
[ "$(field "$show" preview overridden)" = false ] || fail "reset left the override: $show"
[ "$(field "$show" preview cap_micros)" = 500000 ] || fail "reset did not restore the config cap: $show"

# Redis gone: fail closed, quickly, with a sentence naming the address.
kill -KILL "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
t0=$(date +%s%N)
err=$("$PRESSCTL" budget show 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc = 1 ] || fail "show with Redis down: exit $rc, output: $err"
grep -q "unavailable" <<<"$err" && grep -q "$REDIS_PORT" <<<"$err" || fail "outage message: $err"
[ "$ms" -lt 3000 ] || fail "show took ${ms} ms with Redis down"
"$BENCH" --keep-caps --procs 1 --seconds 0.2 >/dev/null 2>&1 && fail "bench admitted with Redis down"
echo "ok: spent $spent then $spent2 micro-dollars under caps 500000 / 1000000"
