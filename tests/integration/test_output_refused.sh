#!/usr/bin/env bash
# An input whose output the broker refuses is never lost, and never kills the worker.
#
# The reproduction (issue 8): preview-worker with PRESSROOM_KAFKA_MESSAGE_MAX_BYTES=1000
# renders a job whose verify task is larger than that. Before the fix the worker
# exited 1 with "Message size too large", committed the job's offset, and the job
# never got a verdict nor a dead letter. Now:
#   - the worker keeps running; the job ends in the DLQ as a bounded letter (reason
#     message_too_large, the original size and SHA-256 in its headers, kept bytes
#     within the producer's limit);
#   - the job's offset is stored only after that letter was acknowledged: a restarted
#     worker neither re-renders it nor dead-letters it again;
#   - an input above kafka.max_message_bytes goes to the DLQ unparsed, the same way;
#   - a job naming an asset class the config does not know goes to the DLQ with a
#     reason naming the known classes (it used to run silently on defaults).
# The DLQ is read with kcat, a Kafka client that is not ours.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init output-refused

cat >"$STACK_DIR/config.json" <<JSON
{
  "tiers": {
    "preview": {"model": "clean_preview", "max_latency_ms": 800},
    "production": {"model": "clean_final", "max_latency_ms": 800}
  },
  "models": {
    "clean_preview": {"price_usd": 0.02, "latency_p50_ms": 20, "latency_p99_ms": 50, $NO_MISTAKES},
    "clean_final": {"price_usd": 0.06, "latency_p50_ms": 20, "latency_p99_ms": 50, $NO_MISTAKES}
  },
  "kafka": {"session_timeout_ms": 6000, "max_message_bytes": 4096}
}
JSON
start_stack "$STACK_DIR/config.json"

# A job of about 900 bytes: it fits the limit, its verify task (the job plus stage,
# model, image URI and charges) does not.
pad=$(printf 'a clean studio product shot %.0s' $(seq 1 28))
big=$(printf '{"job_id":"big-1","asset_class":"thumbnail","prompt":"%s with the headline \\"SALE\\""}' "$pad")
# Above kafka.max_message_bytes (4096): never parsed.
huge=$(printf '{"job_id":"huge-1","asset_class":"thumbnail","prompt":"%s"}' "$(head -c 6000 /dev/zero | tr '\0' x)")
[ ${#big} -lt 1000 ] && [ ${#big} -gt 800 ] || fail "the big job is ${#big} bytes; expected 800..999"
printf 'big-1\t%s\nhuge-1\t%s\nnocls-1\t%s\n' "$big" "$huge" \
  '{"job_id":"nocls-1","asset_class":"posters","prompt":"A poster","text":["HI"]}' | kafka_put pressroom.jobs

PRESSROOM_KAFKA_MESSAGE_MAX_BYTES=1000 start_bg preview "$BIN/preview-worker"; P1=$LAST_PID

dlq_lines() { kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -e -q -f '%k\t%S\t%h\n' 2>/dev/null || true; }
for _ in $(seq 1 60); do
  [ "$(dlq_lines | cut -f1 | sort -u | wc -l)" -ge 3 ] && break
  gone "$P1" && fail "preview-worker died: $(tail -n 5 "$STACK_DIR/preview.log")"
  sleep 0.5
done
dlq_lines >"$STACK_DIR/dlq.txt"
gone "$P1" && fail "preview-worker died on a refused output: $(tail -n 5 "$STACK_DIR/preview.log")"
grep -q '"produce_failed"' "$STACK_DIR/preview.log" || fail "the verify output was not refused (the reproduction did not reproduce)"

sha_big=$(printf '%s' "$big" | sha256sum | cut -d' ' -f1)
/usr/bin/python3 - "$STACK_DIR/dlq.txt" "${#big}" "$sha_big" "${#huge}" <<'PY'
import re, sys
path, big_len, big_sha, huge_len = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
letters = {}
for line in open(path):
    key, size, headers = line.rstrip("\n").split("\t", 2)
    h = dict(kv.split("=", 1) for kv in re.split(r",(?=pressroom-|traceparent=)", headers))
    letters.setdefault(key, []).append((int(size), h))
assert set(letters) == {"big-1", "huge-1", "nocls-1"}, letters.keys()
size, h = letters.pop("nocls-1")[0]
assert "unknown class \"posters\"" in h["pressroom-reason"], h
assert '"thumbnail"' in h["pressroom-reason"] and '"editorial"' in h["pressroom-reason"], h  # the known ones
for key in letters:  # kafka_put may have sent a job twice: every letter says the same
    for size, h in letters[key]:
        assert h["pressroom-reason"].startswith("message_too_large"), (key, h)
        assert int(h["pressroom-kept-bytes"]) == size, (key, size, h)
        assert size <= 1000, (key, size)  # within the producer's limit
size, h = letters["big-1"][0]
assert int(h["pressroom-original-bytes"]) == big_len, h
assert h["pressroom-original-sha256"] == big_sha, h
assert h["pressroom-source-topic"] == "pressroom.jobs", h
assert "verify" in h["pressroom-reason"], h  # names the output that was refused
size, h = letters["huge-1"][0]
assert int(h["pressroom-original-bytes"]) == huge_len, h
assert "not parsed" in h["pressroom-reason"] and "max_message_bytes" in h["pressroom-reason"], h
print("ok: both inputs dead-lettered as bounded letters with size and SHA-256; the worker kept running")
PY
n_before=$(wc -l <"$STACK_DIR/dlq.txt")

kill -TERM "$P1"; rc=0; wait "$P1" || rc=$?
[ "$rc" -eq 0 ] || fail "preview-worker exited $rc on SIGTERM"

# Restarted without the limit: the offsets were stored after the letters were
# acknowledged, so nothing is consumed again (no new letter, no render).
start_bg preview2 "$BIN/preview-worker"; P2=$LAST_PID
for _ in $(seq 1 40); do grep -q '"partitions_assigned"' "$STACK_DIR/preview2.log" && break; sleep 0.25; done
sleep 3
n_after=$(dlq_lines | wc -l)
[ "$n_after" -eq "$n_before" ] || fail "a restarted worker dead-lettered again ($n_before -> $n_after): offsets were not stored"
grep -q '"job_id":"big-1"' "$STACK_DIR/preview2.log" && fail "a restarted worker consumed big-1 again"
kill -TERM "$P2"; wait "$P2" || fail "preview-worker exited non-zero"
echo "ok: the refused input ended exactly once, through the DLQ"
