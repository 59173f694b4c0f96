# bench/lib.sh — what the benchmark scripts share (source it after tests/lib.sh and
# shellcheck shell=bash
# stack_init): the static model endpoint (nginx), CPU readings of processes, and rows.
#
# A row is one measured figure with what it cost: the worker processes' CPU per job
# (utime + stime from /proc/PID/stat, read when the clock starts and when it stops),
# the model endpoint's and Redis's CPU over the same span, the 1-minute load average at
# the end, and whether the worker ran with its defaults or with overrides ("tuned").
# Rows are printed as they are measured and appended to $BENCH_ROWS (tab-separated), from
# which bench_table prints the summary.

CLK_TCK=$(getconf CLK_TCK)
: "${BENCH_ROWS:=$STACK_DIR/rows.tsv}"
export BENCH_ROWS

# cpu_ticks PID...: utime + stime of the processes, in clock ticks (gone ones count 0).
cpu_ticks() {
  local p t=0 f a
  for p in "$@"; do
    f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a a <<<"$f" # after the command name: [0] state, [11] utime, [12] stime
    t=$((t + a[11] + a[12]))
  done
  echo "$t"
}

# children_ticks: cutime + cstime of this shell (its reaped children).
children_ticks() {
  local a
  read -r -a a <<<"$(sed 's/^.*) //' "/proc/$$/stat")"
  echo $((a[13] + a[14]))
}
worker_ticks() { if [ "$1" = CMD ]; then children_ticks; else cpu_ticks $1; fi; }

# cores: the machine's, whatever OMP_THREAD_LIMIT (tests/lib.sh sets 1) tells nproc.
cores() { env -u OMP_THREAD_LIMIT -u OMP_NUM_THREADS nproc; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# ---- the static model endpoint ----
#
# nginx (Debian's nginx-light and its echo module, libnginx-mod-http-echo) on loopback,
# its own conf, pid file, logs and temp folders under $STACK_DIR/nginx, as nobody when
# this runs as root. It answers the raw provider's POST {base}/render with one fixed PNG
# (bench/lib.sh static_png fetches it from the reference renderer once): the static
# module refuses a POST to a file (405), error_page turns that into a 200 with the file
# (error_page redirects re-run as GET). A second server delays each reply by
# ENDPOINT_DELAY_S (0.8) with echo_sleep, a timer, no CPU, then sends the same file
# through a subrequest (chunked). So the endpoint costs what serving a small file costs,
# a few tens of µs per request, and the benchmark measures the worker, not the renderer.
# Exports NGINX_INSTANT and NGINX_DELAYED (base URLs) and NGINX_PID (the master).
start_nginx() { # PNG_FILE
  local d="$STACK_DIR/nginx" delay=${ENDPOINT_DELAY_S:-0.8}
  command -v nginx >/dev/null || fail "nginx not found (scripts/install-deps.sh bench installs nginx-light)"
  local echo_mod=/usr/lib/nginx/modules/ngx_http_echo_module.so
  [ -f "$echo_mod" ] || fail "missing $echo_mod (libnginx-mod-http-echo, installed with nginx-light)"
  mkdir -p "$d/www" "$d/tmp"
  cp "$1" "$d/www/render.png"
  : >"$d/error.log"
  local p1 p2
  p1=$(free_port); p2=$(free_port)
  while [ "$p2" = "$p1" ]; do p2=$(free_port); done
  cat >"$d/nginx.conf" <<CONF
load_module $echo_mod;
daemon off;
worker_processes $(cores);
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy; fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
  keepalive_requests 10000000; keepalive_timeout 120s;
  types { image/png png; }
  server {
    listen 127.0.0.1:$p1 backlog=4096;
    root $d/www;
    location = /render { try_files /render.png =404; error_page 405 =200 /render.png; }
    location = /render.png { internal; }
  }
  server {
    listen 127.0.0.1:$p2 backlog=4096;
    root $d/www;
    location = /render { default_type image/png; echo_sleep $delay; echo_location /render.png; }
    location = /render.png { internal; }
  }
}
CONF
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    chmod o+x "$STACK_DIR"
    chown -R nobody:nogroup "$d"
    run=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  fi
  "${run[@]}" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >/dev/null 2>>"$d/error.log" &
  STACK_PIDS+=($!)
  NGINX_PID=$!
  NGINX_INSTANT="http://127.0.0.1:$p1" NGINX_DELAYED="http://127.0.0.1:$p2"
  wait_for curl -sf -o /dev/null -X POST -d '{}' "$NGINX_INSTANT/render"
  # The replies must be the PNG, byte for byte, on both servers.
  local got
  for got in "$NGINX_INSTANT" "$NGINX_DELAYED"; do
    curl -sf -X POST -H 'Content-Type: application/json' -d '{"prompt":"x","seed":1,"size":"768x512"}' \
      "$got/render" -o "$d/check.png" || fail "nginx did not answer POST $got/render"
    cmp -s "$d/check.png" "$1" || fail "nginx at $got/render did not send the fixed PNG"
  done
}

# nginx_pids: the master and its workers.
nginx_pids() { echo "$NGINX_PID" $(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null); }

# static_png OUT CONFIG MODEL: one 768x512 image of the reference renderer (the
# thumbnails pipeline_bench submits), drawn once, for nginx to serve.
static_png() {
  local out=$1 config=$2 model=$3
  start_renderer "$config"
  curl -sf -X POST -H 'Content-Type: application/json' -H 'Accept: image/png' \
    -d "{\"prompt\":\"Product shot for the benchmark\",\"seed\":1,\"size\":\"768x512\",\"model\":\"$model\",\"guidance\":7}" \
    "$PRESSROOM_RENDERER/render" -o "$out" || fail "the renderer did not draw the benchmark's PNG"
  file -b "$out" | grep -q '^PNG image data, 768 x 512' || fail "the benchmark's PNG is not a 768x512 PNG: $(file -b "$out")"
  kill -TERM "$RENDERER_PID"; wait "$RENDERER_PID" 2>/dev/null || true
}

# ---- rows ----

# bench_row LABEL CONFIG "WORKER_PIDS" "ENDPOINT_PIDS" CMD...
# Runs CMD (pipeline_bench throughput|latency|drain, model_client_bench), reads the CPU
# of the workers, the endpoint and Redis ($REDIS_PID) when CMD prints "warm" (drain and
# model_client_bench print none: from their start) and when it ends, and records the
# row. WORKER_PIDS "CMD" means CMD itself (and the children it waits for): read from this
# shell's cutime + cstime, which the kernel adds to when the shell reaps CMD. CONFIG is
# "default" (no overrides) or "tuned: WHAT". The figure is CMD's last line; the jobs it
# counts are parsed from it.
bench_row() {
  local label=$1 config=$2 wpids=$3 epids=$4; shift 4
  BENCH_ROW_N=$((${BENCH_ROW_N:-0} + 1))
  local out="$STACK_DIR/row$BENCH_ROW_N.out" rc=0
  : >"$out"
  "$@" >"$out" 2>"$STACK_DIR/row$BENCH_ROW_N.err" &
  local bp=$!
  if [ "$1" != "${1%pipeline_bench}" ] && [ "${2:-}" != drain ]; then
    while ! grep -q '^warm$' "$out" && ! gone "$bp"; do sleep 0.05; done
  fi
  local w0 e0 r0 w1 e1 r1
  w0=$(worker_ticks "$wpids") e0=$(cpu_ticks $epids) r0=$(cpu_ticks ${REDIS_PID:-})
  wait "$bp" || rc=$?
  w1=$(worker_ticks "$wpids") e1=$(cpu_ticks $epids) r1=$(cpu_ticks ${REDIS_PID:-})
  local line jobs
  line=$(grep -v '^warm$' "$out" | tail -n 1)
  [ -n "$line" ] || line="no figure ($(tail -n 1 "$STACK_DIR/row$BENCH_ROW_N.err"))"
  [ "$rc" -eq 0 ] || line="$line [incomplete: exit $rc]"
  # jobs counted: "N/M jobs reached", "N/M terminal", "N/M verdicts", "ok=N"
  jobs=$(sed -n -e 's/.* \([0-9][0-9]*\)\/[0-9]* \(jobs reached\|terminal\|verdicts\).*/\1/p' \
                -e 's/.* ok=\([0-9][0-9]*\) .*/\1/p' <<<"$line" | head -n 1)
  bench_record "$label" "$config" "$line" "${jobs:-0}" $((w1 - w0)) $((e1 - e0)) $((r1 - r0))
}

# bench_record LABEL CONFIG FIGURE JOBS WORKER_TICKS ENDPOINT_TICKS REDIS_TICKS
bench_record() {
  local label=$1 config=$2 figure=$3 jobs=$4 wt=$5 et=$6 rt=$7 load
  load=$(load1)
  local cost
  cost=$(awk -v j="$jobs" -v w="$wt" -v e="$et" -v r="$rt" -v hz="$CLK_TCK" 'BEGIN {
    ms = 1000 / hz
    if (j > 0) printf "worker %.3f ms/job; endpoint %.2f s (%.3f ms/job); redis %.2f s (%.3f ms/job)", w * ms / j, e / hz, e * ms / j, r / hz, r * ms / j
    else printf "worker %.2f s; endpoint %.2f s; redis %.2f s", w / hz, e / hz, r / hz }')
  echo "$label [$config]: $figure"
  echo "    CPU: $cost; load $load"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$config" "$figure" "$jobs" "$wt" "$et" "$rt" "$load" >>"$BENCH_ROWS"
}

# bench_table: the summary of every row recorded in $BENCH_ROWS: the headline figure
# (jobs/s, or p50/p95/p99 and the terminal rate, or decisions/s), CPU ms per job of the
# worker, endpoint and Redis, load, config.
bench_table() {
  awk -F'\t' -v hz="$CLK_TCK" '
    function headline(f,   m, out) {
      if (match(f, /p50 [0-9]+ ms, p95 [0-9]+ ms, p99 [0-9]+ ms/)) {
        out = substr(f, RSTART, RLENGTH); gsub(/ ms/, "", out); gsub(/,/, "", out)
        m = ""; if (match(f, /[0-9.]+ jobs\/s terminal/)) m = substr(f, RSTART, RLENGTH)
        if (match(f, /[0-9]+\/[0-9]+ terminal/)) m = substr(f, RSTART, RLENGTH) ", " m
        return out " ms; " m
      }
      if (match(f, /[0-9.]+ verdicts\/s/)) { out = substr(f, RSTART, RLENGTH); sub(/verdicts/, "images", out); return out }
      if (match(f, /rps=[0-9.]+/)) return substr(f, RSTART + 4, RLENGTH - 4) " requests/s"
      if (match(f, /[0-9.]+ decisions\/s/)) return substr(f, RSTART, RLENGTH)
      if (match(f, /[0-9.]+ requests per second/)) { out = substr(f, RSTART, RLENGTH); sub(/requests per second/, "calls/s", out); return out }
      if (match(f, /[0-9.]+ jobs\/s/)) return substr(f, RSTART, RLENGTH)
      return "?"
    }
    function per(t, j) { return j > 0 ? sprintf("%.3f", t * 1000 / hz / j) : "-" }
    BEGIN { printf "%-56s %-62s %9s %9s %9s %5s  %s\n", "row", "figure", "worker", "endpoint", "redis", "load", "config"
            printf "%-56s %-62s %9s %9s %9s %5s  %s\n", "", "", "ms/job", "ms/job", "ms/job", "", "" }
    { printf "%-56s %-62s %9s %9s %9s %5s  %s\n", $1, headline($3), per($5, $4), per($6, $4), per($7, $4), $8, $2 }
  ' "$BENCH_ROWS"
}
