#!/usr/bin/env bash
# bench/peer/run.sh — `make bench-peer`: pressroom's workers and the Python peer
# (bench/peer/*.py) on the same embedded stack (tests/lib.sh: the embedded broker,
# redis-server, the reference renderer), the same workloads, alternating runs
# (pressroom, peer, pressroom, peer, ...; PEER_ROUNDS, default 2), then one table:
#   metric | pressroom | peer | ratio (pressroom / peer)
# Rows: admission decisions/s (1 connection, N processes); preview jobs/s at an 800 ms
# endpoint from one process and its CPU ms per job; verifier images/s through Kafka on
# the same pre-rendered backlog and its CPU ms per image (the peer's pool processes
# included); end to end at a fixed offered load, p50/p95/p99 and jobs terminal.
# pressroom runs with its defaults unless PRESSROOM_PREVIEW_INFLIGHT or
# PRESSROOM_VERIFIER_ARGS are set (the table says which). Figures, not pass/fail.
set -euo pipefail
source "$(dirname "$0")/../../tests/lib.sh"
stack_init bench-peer
PY=/usr/bin/python3   # Debian's python3, where the bench group's packages are
PEER="$ROOT/bench/peer"
B="$ROOT/$BUILD/bench"
ROUNDS=${PEER_ROUNDS:-2}
PREVIEW_JOBS=${PEER_PREVIEW_JOBS:-2000}
VERIFY_JOBS=${PEER_VERIFY_JOBS:-600}
E2E_RATE=${PEER_E2E_RATE:-20} E2E_SECONDS=${PEER_E2E_SECONDS:-30}
ADMISSION_PROCS=${PEER_ADMISSION_PROCS:-4}
TCK=$(getconf CLK_TCK)
defaults=yes
[ -z "${PRESSROOM_PREVIEW_INFLIGHT:-}${PRESSROOM_VERIFIER_ARGS:-}" ] || defaults=no
read -r -a VERIFIER_ARGS <<<"${PRESSROOM_VERIFIER_ARGS:-}"
TABLE="$STACK_DIR/table.tsv"
: >"$TABLE"
row() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$TABLE"; } # METRIC PRESSROOM PEER NOTE

# cpu_ticks PID: utime+stime of PID and its live children (the peer verifier's pool).
cpu_ticks() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
ms_per() { awk -v t="$1" -v n="$2" -v k="$TCK" 'BEGIN {printf "%.2f", t * 1000 / k / n}'; }
mean() { tr ' ' '\n' | awk 'NF {s += $1; n++} END {if (n) printf "%.2f", s / n; else print "?"}'; }
stop() { kill -TERM "$@" 2>/dev/null || true; wait "$@" 2>/dev/null || true; }
fresh_broker() { # a new cluster: every run starts from empty topics
  [ -z "${BROKER_PID:-}" ] || stop "$BROKER_PID"
  rm -f "$STACK_DIR/bootstrap"
  start_broker
}
BLOBS=$STACK_DIR
[ -d /dev/shm ] && [ -w /dev/shm ] && BLOBS=$(mktemp -d /dev/shm/pressroom-peer.XXXXXX)
trap 'rc=$?; [ "$BLOBS" = "$STACK_DIR" ] || rm -rf "$BLOBS"; stack_cleanup "$rc"' EXIT
config() { # NAME LATENCY_P50 LATENCY_P99 [MAX_INFLIGHT]
  local inflight=${4:+\"max_inflight\": $4, }
  cat >"$STACK_DIR/$1.json" <<JSON
{"tiers": {"preview": {"model": "m$1", "max_latency_ms": 5000, ${inflight}"cap_usd": 0},
           "production": {"model": "m$1", "max_latency_ms": 5000, "cap_usd": 0}},
 "models": {"m$1": {"provider": "raw", "price_usd": 0.002, "latency_p50_ms": $2, "latency_p99_ms": $3,
                    "prerendered": true, $NO_MISTAKES}},
 "kafka": {"session_timeout_ms": 6000}}
JSON
  export PRESSROOM_CONFIG="$STACK_DIR/$1.json" PEER_MODEL="m$1"
}
export PEER_PRICE_MICROS=2000 PYTHONPATH="$PEER"
start_redis
PEER_PREVIEW_INFLIGHT=${PEER_PREVIEW_INFLIGHT:-1024}; export PEER_PREVIEW_INFLIGHT
echo "bench-peer: $(env -u OMP_THREAD_LIMIT nproc) cores usable ($(getconf _NPROCESSORS_ONLN) online), load average $(cut -d' ' -f1-3 /proc/loadavg); pressroom defaults: $defaults; the peer's preview keeps $PEER_PREVIEW_INFLIGHT renders in flight; $ROUNDS rounds"

echo "== admission (Redis, no cap) =="
dec() { grep "$1" | grep -o '[0-9]* decisions/s' | head -n 1 | cut -d' ' -f1; }
declare -A ONE MANY
for r in $(seq 1 "$ROUNDS"); do
  adm=$("$B/admission_bench" --seconds 2 --procs "$ADMISSION_PROCS" | grep admit+settle)
  echo "round $r pressroom:"; echo "$adm"
  ONE[pressroom]+=" $(dec '1 connection' <<<"$adm")"; MANY[pressroom]+=" $(dec "$ADMISSION_PROCS processes" <<<"$adm")"
  adm=$($PY "$PEER/peer_admission.py" --seconds 2 --procs "$ADMISSION_PROCS")
  echo "round $r peer:"; echo "$adm"
  ONE[peer]+=" $(dec '1 connection' <<<"$adm")"; MANY[peer]+=" $(dec "$ADMISSION_PROCS processes" <<<"$adm")"
done
row "admission decisions/s, 1 connection" "$(mean <<<"${ONE[pressroom]}")" "$(mean <<<"${ONE[peer]}")" "higher is better; rounds:${ONE[pressroom]} |${ONE[peer]}"
row "admission decisions/s, $ADMISSION_PROCS processes" "$(mean <<<"${MANY[pressroom]}")" "$(mean <<<"${MANY[peer]}")" "higher is better; rounds:${MANY[pressroom]} |${MANY[peer]}"

echo "== preview at an 800 ms endpoint, one process, $PREVIEW_JOBS jobs =="
config wide 800 800 1024 # pressroom with the peer's window
config slow 800 800 "${PRESSROOM_PREVIEW_INFLIGHT:-}"
declare -A RATE CPU
for r in $(seq 1 "$ROUNDS"); do
  for who in pressroom pressroom-1024 peer; do
    fresh_broker
    export PRESSROOM_CONFIG="$STACK_DIR/slow.json"
    [ $who = pressroom-1024 ] && export PRESSROOM_CONFIG="$STACK_DIR/wide.json"
    export PRESSROOM_BLOBS="file://$BLOBS/blobs-$who-$r"
    start_renderer "$PRESSROOM_CONFIG"
    if [ $who != peer ]; then start_bg "preview-$who-$r" "$BIN/preview-worker"; W=$LAST_PID
    else
      PEER_READY_FILE="$STACK_DIR/ready-$r" start_bg "preview-$who-$r" $PY "$PEER/peer_preview.py"; W=$LAST_PID
      wait_for test -e "$STACK_DIR/ready-$r"
    fi
    c0=$(cpu_ticks "$W")
    line=$("$B/pipeline_bench" throughput --jobs "$PREVIEW_JOBS" --topic verify | tail -n 1) || true
    c1=$(cpu_ticks "$W")
    stop "$W"; stop "$RENDERER_PID"; rm -rf "${BLOBS:?}/blobs-$who-$r"
    rate=$(grep -o '[0-9]* jobs/s' <<<"$line" | cut -d' ' -f1)
    echo "round $r $who: $line; worker CPU $(ms_per $((c1 - c0)) "$PREVIEW_JOBS") ms/job"
    RATE[$who]+=" ${rate:-0}"; CPU[$who]+=" $(ms_per $((c1 - c0)) "$PREVIEW_JOBS")"
  done
done
row "preview jobs/s at 800 ms, 1 process" "$(mean <<<"${RATE[pressroom]}")" "$(mean <<<"${RATE[peer]}")" "higher is better; rounds:${RATE[pressroom]} |${RATE[peer]}"
row "preview CPU ms/job at 800 ms" "$(mean <<<"${CPU[pressroom]}")" "$(mean <<<"${CPU[peer]}")" "lower is better"
row "preview jobs/s at 800 ms, 1024 in flight" "$(mean <<<"${RATE[pressroom-1024]}")" "$(mean <<<"${RATE[peer]}")" "pressroom tuned to the peer's window; rounds:${RATE[pressroom-1024]}"
row "preview CPU ms/job, 1024 in flight" "$(mean <<<"${CPU[pressroom-1024]}")" "$(mean <<<"${CPU[peer]}")" "pressroom tuned; lower is better"

echo "== verifier through Kafka, $VERIFY_JOBS pre-rendered images, one process =="
config instant 0 0 256
fresh_broker
export PRESSROOM_BLOBS="file://$BLOBS/blobs-verify"
start_renderer "$PRESSROOM_CONFIG"
start_bg fill "$BIN/preview-worker"; W=$LAST_PID
"$B/pipeline_bench" throughput --jobs "$VERIFY_JOBS" --topic verify | tail -n 1 | sed 's/^/backlog: /'
stop "$W"; stop "$RENDERER_PID"
N=$((VERIFY_JOBS + 1)) # and the warm-up job
unset RATE CPU
declare -A RATE CPU
for r in $(seq 1 "$ROUNDS"); do
  for who in pressroom peer; do
    sleep 1.2 # pipeline_bench drain skips verdicts older than 1 s before its start
    if [ $who = pressroom ]; then
      sed "s/\"kafka\": {/\"kafka\": {\"group_prefix\": \"r$r.\", /" "$PRESSROOM_CONFIG" >"$STACK_DIR/verify-$r.json"
      PRESSROOM_CONFIG="$STACK_DIR/verify-$r.json" start_bg "verifier-$who-$r" "$BIN/verifier-worker" "${VERIFIER_ARGS[@]}"
    else
      PEER_GROUP="peer.verifier.$r" start_bg "verifier-$who-$r" $PY "$PEER/peer_verifier.py"
    fi
    W=$LAST_PID
    # CPU samples every 0.1 s, so the figure can leave out start-up (models loading,
    # joining the group): from the first verdict to the last.
    (while kill -0 "$W" 2>/dev/null; do echo "$(date +%s%3N) $(cpu_ticks "$W")"; sleep 0.1; done) >"$STACK_DIR/cpu-$who-$r" &
    S=$!
    t0=$(date +%s%3N)
    line=$("$B/pipeline_bench" drain --jobs "$N" | tail -n 1) || true
    c=$(cpu_ticks "$W")
    stop "$W"; wait "$S" 2>/dev/null || true
    first_ms=$(awk -v t0="$t0" '{f = $0; sub(/.*the first /, "", f); sub(/ s after.*/, "", f); printf "%.0f", t0 + f * 1000}' <<<"$line")
    c_first=$(awk -v t="$first_ms" '$1 <= t {c = $2} END {print c + 0}' "$STACK_DIR/cpu-$who-$r")
    rate=$(grep -o '[0-9.]* verdicts/s' <<<"$line" | cut -d' ' -f1)
    echo "round $r $who: $line; CPU (worker and its children) $(ms_per "$c" "$N") ms/image with start-up, $(ms_per $((c - c_first)) $((N - 1))) ms/image from the first verdict"
    RATE[$who]+=" ${rate:-0}"; CPU[$who]+=" $(ms_per $((c - c_first)) $((N - 1)))"
  done
done
row "verifier images/s through Kafka" "$(mean <<<"${RATE[pressroom]}")" "$(mean <<<"${RATE[peer]}")" "higher is better; rounds:${RATE[pressroom]} |${RATE[peer]}"
row "verifier CPU ms/image (after start-up)" "$(mean <<<"${CPU[pressroom]}")" "$(mean <<<"${CPU[peer]}")" "lower is better"
rm -rf "${BLOBS:?}/blobs-verify"

echo "== end to end at $E2E_RATE jobs/s offered for $E2E_SECONDS s (a 400/800 ms endpoint) =="
config e2e 400 800
declare -A P50 P95 P99 TERM
for who in pressroom peer; do
  fresh_broker
  export PRESSROOM_BLOBS="file://$BLOBS/blobs-e2e-$who"
  start_renderer "$PRESSROOM_CONFIG"
  pids=()
  if [ $who = pressroom ]; then
    start_bg e2e-preview "$BIN/preview-worker"; pids+=("$LAST_PID")
    start_bg e2e-verifier "$BIN/verifier-worker" "${VERIFIER_ARGS[@]}"; pids+=("$LAST_PID")
    start_bg e2e-production "$BIN/production-worker"; pids+=("$LAST_PID")
  else
    PEER_GROUP=peer.e2e.preview start_bg e2e-peer-preview $PY "$PEER/peer_preview.py"; pids+=("$LAST_PID")
    PEER_GROUP=peer.e2e.verifier start_bg e2e-peer-verifier $PY "$PEER/peer_verifier.py"; pids+=("$LAST_PID")
  fi
  line=$("$B/pipeline_bench" latency --rate "$E2E_RATE" --seconds "$E2E_SECONDS" | tail -n 1) || true
  stop "${pids[@]}"; stop "$RENDERER_PID"; rm -rf "${BLOBS:?}/blobs-e2e-$who"
  echo "$who: $line"
  P50[$who]=$(sed -n 's/.*p50 \([0-9]*\) ms.*/\1/p' <<<"$line")
  P95[$who]=$(sed -n 's/.*p95 \([0-9]*\) ms.*/\1/p' <<<"$line")
  P99[$who]=$(sed -n 's/.*p99 \([0-9]*\) ms.*/\1/p' <<<"$line")
  TERM[$who]=$(grep -o '[0-9]*/[0-9]* terminal' <<<"$line" | cut -d' ' -f1)
done
row "end to end p50 ms at $E2E_RATE jobs/s" "${P50[pressroom]:-?}" "${P50[peer]:-?}" "lower is better"
row "end to end p95 ms at $E2E_RATE jobs/s" "${P95[pressroom]:-?}" "${P95[peer]:-?}" "lower is better"
row "end to end p99 ms at $E2E_RATE jobs/s" "${P99[pressroom]:-?}" "${P99[peer]:-?}" "lower is better"
row "end to end jobs terminal" "${TERM[pressroom]:-?}" "${TERM[peer]:-?}" "of those offered"

echo
echo "== pressroom vs the Python peer (pressroom defaults: $defaults; load average $(cut -d' ' -f1-3 /proc/loadavg)) =="
awk -F'\t' 'BEGIN {printf "%-40s | %10s | %10s | %6s | %s\n", "metric", "pressroom", "peer", "ratio", "note"}
  {r = ($3 + 0 > 0 && $2 ~ /^[0-9.]+$/) ? sprintf("%.2f", $2 / $3) : "-";
   printf "%-40s | %10s | %10s | %6s | %s\n", $1, $2, $3, r, $4}' "$TABLE"
echo "ratio = pressroom / peer. The peer skips most of pressroom's checks (bench/peer/README.md)."
