#!/usr/bin/env bash
# bench/admission_script_cost.sh — what one budget decision costs inside Redis: the
# microseconds per script call that a real redis-server reports in INFO commandstats
# (its own time, without the network), and the Redis commands each script runs.
#   1. admit alone, driven by redis-benchmark (1 connection, a fresh decision key per
#      call, a cap that leaves room, no rate limit): the script as budget.c sends it
#      (prelude + admit.lua);
#   2. admit+settle pairs from admission_bench (1 connection): the mean of the two;
#   3. with valgrind installed, a second redis-server under callgrind: the instructions
#      Redis spends per admit call (EVALSHA inclusive, 2000 calls), which unlike the
#      microseconds do not move with the machine's load.
# Timing figures move with the machine's load (printed); run it on a quiet machine
# for figures to compare, and compare the commands per call, which do not move.
#   BUILD=build N=20000 bash bench/admission_script_cost.sh
set -euo pipefail
: "${BUILD:=build}" "${N:=20000}"
source "$(dirname "$0")/../tests/lib.sh"
stack_init admission-cost
start_redis
S="$ROOT/common/budget/scripts"
rc() { redis-cli -p "$REDIS_PORT" "$@"; }
# commands inside scripts: every cmdstat but eval/evalsha/script/config/info
inner() { rc info commandstats | tr -d '\r' | awk -F'[:,=]' '/^cmdstat_/ { c = $1; sub(/^cmdstat_/, "", c); if (c !~ /^(eval|evalsha|script|config|info|ping)$/) n += $3 } END { print n + 0 }'; }
stat() { rc info commandstats | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),usec=\([0-9]*\),usec_per_call=\([0-9.]*\).*/\1 \3/p"; }

sha=$(cat "$S/prelude.lua" "$S/admit.lua" | rc -x script load)
rc config resetstat >/dev/null
P='{pressroom}:preview'
redis-benchmark -p "$REDIS_PORT" -c 1 -n "$N" -r 100000000 -q EVALSHA "$sha" 5 \
  "$P:d:job__rand_int__:preview:1" "$P:leases" "$P:override" '{pressroom}:rate:m' '{pressroom}:v:job__rand_int__@r' \
  "$P" m 40000 1000000000000 3600 120 0 0 86400 bench-holder >/dev/null
read -r calls us <<<"$(stat evalsha)"
printf 'admit (redis-benchmark, 1 connection)     %6.1f us per call in Redis   %5.1f commands per call  (%d calls)\n' \
  "$us" "$(echo "$(inner) / $calls" | bc -l)" "$calls"

rc config resetstat >/dev/null
PRESSROOM_REDIS="127.0.0.1:$REDIS_PORT" "$ROOT/$BUILD/bench/admission_bench" --seconds "${SECONDS_PAIRS:-2}" \
  --procs 1 --procs-only >/dev/null
read -r calls us <<<"$(stat evalsha)"
printf 'admit+settle (admission_bench, 1 conn)    %6.1f us per call in Redis   %5.1f commands per call  (%d calls)\n' \
  "$us" "$(echo "$(inner) / $calls" | bc -l)" "$calls"
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
  CG_PORT=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$STACK_DIR/redis.cg" --collect-atstart=no \
    --toggle-collect=evalShaCommand redis-server --port "$CG_PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$STACK_DIR" >"$STACK_DIR/redis-cg.log" 2>&1 &
  CG_PID=$!
  STACK_PIDS+=("$CG_PID")
  for _ in $(seq 1 150); do redis-cli -p "$CG_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
  sha=$(cat "$S/prelude.lua" "$S/admit.lua" | redis-cli -p "$CG_PORT" -x script load)
  redis-benchmark -p "$CG_PORT" -c 1 -n 2000 -r 100000000 -q EVALSHA "$sha" 5 \
    "$P:d:job__rand_int__:preview:1" "$P:leases" "$P:override" '{pressroom}:rate:m' '{pressroom}:v:job__rand_int__@r' \
    "$P" m 40000 1000000000000 3600 120 0 0 86400 bench-holder >/dev/null
  redis-cli -p "$CG_PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$CG_PID" 2>/dev/null || true
  ir=$(callgrind_annotate --inclusive=yes "$STACK_DIR/redis.cg" 2>/dev/null | awk '!f && /:evalShaCommand /{gsub(",", "", $1); print $1; f = 1}')
  printf 'admit (redis-server under callgrind)      %8.0f instructions per call in Redis (2000 calls)\n' "$(echo "${ir:-0} / 2000" | bc -l)"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
