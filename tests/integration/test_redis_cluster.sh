#!/usr/bin/env bash
# The budget on a real Redis Cluster: 3 masters with a replica each (redis-server
# --cluster-enabled yes, joined by redis-cli --cluster create), two preview-workers racing
# for one cap, and the master that owns the budget's slot killed (SIGKILL) mid-run.
#   - the workers are given every node as a seed and follow MOVED to the slot's owner;
#   - with redis_wait_replicas 1 a write counts only once a replica has it, so the
#     failover loses no charge: Redis's spend is never below what the renderer billed;
#   - spend never passes the cap; every job ends (accepted, or rejected over budget).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init redis-cluster

CAP_MICROS=1000000 # $1.00: 50 previews at $0.02
N=80
cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "slow_preview", "max_latency_ms": 1500, "cap_usd": 1.0, "max_inflight": 8},
    "production": {"model": "clean_final", "max_latency_ms": 2200}
  },
  "models": {
    "slow_preview": {"price_usd": 0.02, "latency_p50_ms": 150, "latency_p99_ms": 300, $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 50, "latency_p99_ms": 120, $NO_MISTAKES}
  },
  "asset_classes": {"thumbnail": {"route": "preview", "over_budget": "reject"}},
  "redis_wait_replicas": 1,
  "kafka": {"session_timeout_ms": 6000}
}
JSON

# Six nodes; each keeps an fsync-always AOF and its cluster state in its own folder.
# Six distinct ports (free_port draws at random and nothing is bound yet).
PORTS=()
while [ ${#PORTS[@]} -lt 6 ]; do
  p=$(free_port)
  [[ " ${PORTS[*]} " == *" $p "* ]] || PORTS+=("$p")
done
node_pid=()
start_node() { # start_node INDEX
  local port=${PORTS[$1]} dir="$STACK_DIR/node-$1"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
    --cluster-node-timeout 1500 --cluster-replica-validity-factor 0 --appendonly yes --appendfsync always --save '' \
    --dir "$dir" --logfile "$dir/redis.log" &
  STACK_PIDS+=($!)
  node_pid[$1]=$!
  # An fsync-always node on a loaded 2-core machine can take over wait_for's 10 s.
  wait_for redis-cli -p "$port" ping || wait_for redis-cli -p "$port" ping ||
    { tail -5 "$dir/redis.log" >&2; fail "redis node on port $port did not start"; }
}
for i in 0 1 2 3 4 5; do start_node "$i"; done
seeds=$(printf '127.0.0.1:%s ' "${PORTS[@]}")
redis-cli --cluster create $seeds --cluster-replicas 1 --cluster-yes >"$STACK_DIR/cluster-create.log" 2>&1 ||
  { cat "$STACK_DIR/cluster-create.log"; fail "redis-cli --cluster create failed"; }
cluster_ok() { redis-cli -p "$1" cluster info | grep -q '^cluster_state:ok'; }
for _ in $(seq 1 100); do cluster_ok "${PORTS[0]}" && break; sleep 0.1; done
cluster_ok "${PORTS[0]}" || fail "the cluster did not reach cluster_state:ok"
# The master that owns the budget's slot (every budget key is tagged {pressroom}).
slot=$(redis-cli -p "${PORTS[0]}" cluster keyslot '{pressroom}')
owner_port() {
  redis-cli -p "$1" cluster nodes | awk -v s="$slot" '$3 ~ /master/ && $8 == "connected" {
    for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1]; if (s >= r[1] && s <= r[2]) { split($2, a, "[:@]"); print a[2] } } }'
}
OWNER=$(owner_port "${PORTS[0]}")
[ -n "$OWNER" ] || fail "no master owns slot $slot"
echo "cluster up: 3 masters, 3 replicas; slot $slot of {pressroom} on 127.0.0.1:$OWNER"

export PRESSROOM_CONFIG="$STACK_DIR/config.json"
export PRESSROOM_BLOBS="file://$STACK_DIR/blobs"
export PRESSROOM_DEV_DIR="$STACK_DIR/nodev"
# Seeds in an order that starts away from the owner: the first call is redirected.
export PRESSROOM_REDIS=$(for p in "${PORTS[@]}"; do [ "$p" = "$OWNER" ] || printf '127.0.0.1:%s,' "$p"; done; printf '127.0.0.1:%s' "$OWNER")
export RENDERER_TRUTH_LOG="$STACK_DIR/drawn.jsonl"
one_budget_window 3600 120
start_broker --config "$PRESSROOM_CONFIG"
start_renderer "$PRESSROOM_CONFIG"
start_bg preview-a "$BIN/preview-worker"
start_bg preview-b "$BIN/preview-worker"
start_bg verifier "$BIN/verifier-worker"

: >"$STACK_DIR/jobs.jsonl"
for i in $(seq 1 $N); do
  echo "{\"job_id\":\"cl-$i\",\"asset_class\":\"thumbnail\",\"prompt\":\"Shot\",\"text\":[\"ITEM $i\"]}" >>"$STACK_DIR/jobs.jsonl"
done
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" >/dev/null

# Kill the owner while renders are in flight (live leases on it).
for _ in $(seq 1 150); do
  [ "$(redis-cli -p "$OWNER" zcard '{pressroom}:preview:leases' 2>/dev/null || echo 0)" -gt 0 ] && break
  sleep 0.1
done
[ "$(redis-cli -p "$OWNER" zcard '{pressroom}:preview:leases')" -gt 0 ] || fail "no lease ever appeared on the slot's owner"
victim=""
for i in 0 1 2 3 4 5; do [ "${PORTS[$i]}" = "$OWNER" ] && victim=$i; done
kill -KILL "${node_pid[$victim]}"
wait "${node_pid[$victim]}" 2>/dev/null || true
echo "killed the budget's master 127.0.0.1:$OWNER with renders in flight"
other=${PORTS[$(( (victim + 1) % 6 ))]}
NEW=""
for _ in $(seq 1 400); do # a loaded machine can take a while to agree
  NEW=$(owner_port "$other")
  [ -n "$NEW" ] && [ "$NEW" != "$OWNER" ] && cluster_ok "$other" && break
  sleep 0.1
done
[ -n "$NEW" ] && [ "$NEW" != "$OWNER" ] ||
  fail "no replica took over slot $slot within 40 s: $(redis-cli -p "$other" cluster nodes)"
echo "failover: slot $slot now on 127.0.0.1:$NEW"
# The new master has no replica: budget writes fail closed until the old node is back
# (restarted, it rejoins as the new master's replica).
sleep 2
start_node "$victim"
for _ in $(seq 1 100); do
  redis-cli -p "$NEW" info replication | grep -q '^connected_slaves:1' && break
  sleep 0.1
done

for _ in $(seq 1 90); do
  "$BIN/pressctl" results --timeout 15 --jsonl "$STACK_DIR/all.jsonl" >/dev/null
  [ "$(grep -c '"job_id":"cl-' "$STACK_DIR/all.jsonl")" -ge $N ] && break
  sleep 1
done
"$BIN/pressctl" budget show --json >"$STACK_DIR/budget.json"
grep -q '"event":"redis_moved"' "$STACK_DIR"/preview-a.log "$STACK_DIR"/preview-b.log ||
  fail "no worker followed a MOVED redirect"
/usr/bin/python3 - "$STACK_DIR" "$N" "$CAP_MICROS" <<'PY'
import json, sys
d, n, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
drawn = [json.loads(l) for l in open(f"{d}/drawn.jsonl")]
jobs = {o["job_id"]: o for o in map(json.loads, open(f"{d}/all.jsonl")) if o["job_id"].startswith("cl-")}
missing = sorted(set(f"cl-{i}" for i in range(1, n + 1)) - set(jobs))
assert not missing, f"jobs lost: {missing}"
odd = [(j, o["verdict"], o["reason"]) for j, o in jobs.items()
       if not (o["verdict"] == "accepted" or o["reason"] == "budget_exhausted")]
assert not odd, odd
accepted = sum(o["verdict"] == "accepted" for o in jobs.values())
charged = sum(c["usd_micros"] for o in jobs.values() for c in o["charges"])
pv = {t["tier"]: t for t in json.load(open(f"{d}/budget.json"))["tiers"]}["preview"]
billed = 20000 * len(drawn)
assert pv["spent_micros"] + pv["reserved_micros"] <= cap, f"over the cap: {pv}"
assert pv["spent_micros"] >= billed, f"a charge was lost: Redis spent {pv['spent_micros']} < the renderer billed {billed}"
assert charged == accepted * 20000 and accepted > 0, (charged, accepted)
assert pv["spent_micros"] - charged == pv["charged_unsettled_micros"], pv
print(f"ok: {n}/{n} jobs ended ({accepted} accepted, {n - accepted} over budget) through a failover of the "
      f"budget's master; the renderer billed {billed}, Redis spent {pv['spent_micros']} <= cap {cap}")
PY
