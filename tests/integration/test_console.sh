#!/usr/bin/env bash
# pressroom-console in a real browser (headless Chromium over the DevTools protocol,
# tests/browser.py) against a real stack, each page's DOM checked against the stack's
# state read by other means:
#   - fleet: every worker listed, up and ready as its own /readyz says; a stopped one down;
#   - lag: per group and partition, committed = the messages the stopped preview-worker
#     had consumed and high watermark = the messages now on the partition, both counted
#     with kcat; the total is what was produced while it was stopped;
#   - budgets: spent, reserved and cap per tier = `pressctl budget show --json`;
#   - verdicts: the job ids `pressctl results --jsonl` reports, thumbnails that load,
#     the verdict filter;
#   - DLQ: the dead letter's key and reason as kcat reads its headers; its hostile
#     payload shown as text, never run;
#   - no page has a sub-resource that fails to load, a script error or a CSP violation;
#   - /blob serves images of the store only (/etc/passwd: 403).
# CONSOLE_SCREENSHOT=FILE also writes the budgets page's screenshot there (docs/console.png).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init console
PY=/usr/bin/python3
command -v chromium >/dev/null || fail "chromium is missing: bash scripts/install-deps.sh"

fleet_view_config "$STACK_DIR/config.json"
one_budget_window 3600 90
start_stack "$STACK_DIR/config.json"
start_admin_workers

# Paid jobs escalate and are accepted (spend in both tiers); thumbnails fail their only
# attempt and are rejected; a hostile line that is not a job is dead-lettered.
{
  for i in 1 2 3; do printf '{"job_id":"p-%d","asset_class":"paid","prompt":"Poster, text \\"SALE %d\\""}\n' "$i" "$i"; done
  for i in 1 2 3; do printf '{"job_id":"t-%d","asset_class":"thumbnail","prompt":"Shoes, text \\"NEW %d\\""}\n' "$i" "$i"; done
} >"$STACK_DIR/jobs.jsonl"
"$BIN/pressctl" submit "$STACK_DIR/jobs.jsonl" --wait --timeout 90 >"$STACK_DIR/summary.txt" ||
  fail "submit: $(cat "$STACK_DIR/summary.txt")"
HOSTILE='<script>window.pwned=1</script><img src=/x onerror=window.pwned=2>&amp; not json'
printf 'bad-1\t%s\n' "$HOSTILE" | kafka_put pressroom.jobs
for _ in $(seq 1 100); do
  [ -n "$(kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -o beginning -e -q -f '%k\n' 2>/dev/null | grep -x bad-1)" ] && break
  sleep 0.1
done
kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -o beginning -e -q -f '%k\t%h\n' >"$STACK_DIR/dlq.txt" 2>/dev/null
grep -q '^bad-1' "$STACK_DIR/dlq.txt" || fail "the hostile line did not reach the DLQ"
"$BIN/pressctl" results --timeout 20 --jsonl "$STACK_DIR/results.jsonl" >/dev/null || fail "pressctl results"

# Messages per partition, counted by kcat (the topics' low watermarks are 0 here).
count_partitions() { # TOPIC OUT
  kcat -C -b "$PRESSROOM_BROKERS" -t "$1" -o beginning -e -q -f '%p\n' 2>/dev/null | sort -n | uniq -c |
    awk '{print $2, $1}' >"$2"
}
# The preview-worker stops (it drains and commits everything it consumed); jobs sent
# while it is down are its group's lag.
count_partitions pressroom.jobs "$STACK_DIR/jobs.before"
kill -TERM "${WORKER_PID[preview]}"
for _ in $(seq 1 200); do gone "${WORKER_PID[preview]}" && break; sleep 0.1; done
gone "${WORKER_PID[preview]}" || fail "preview-worker did not stop"
for i in 1 2 3 4 5; do printf 'late-%d\t{"job_id":"late-%d","asset_class":"thumbnail","prompt":"x \\"A\\""}\n' "$i" "$i"; done |
  kafka_put pressroom.jobs
count_partitions pressroom.jobs "$STACK_DIR/jobs.after"
"$BIN/pressctl" budget show --json >"$STACK_DIR/budget.json"

start_bg console "$BIN/pressroom-console" --listen 127.0.0.1:0 --sample-s 1 \
  --worker "preview=http://127.0.0.1:${WORKER_PORT[preview]}" --worker "verifier=http://127.0.0.1:${WORKER_PORT[verifier]}" \
  --worker "production=http://127.0.0.1:${WORKER_PORT[production]}"
wait_for grep -q '^listening http://' "$STACK_DIR/console.out"
URL=$(sed -n 's/^listening //p' "$STACK_DIR/console.out" | head -n 1)
URL=${URL%/}
sleep 2 # a few burn-down samples

# /blob: only the store's images.
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/blob?uri=/etc/passwd")
[ "$code" = 403 ] || fail "/blob?uri=/etc/passwd answered $code, expected 403"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/blob?uri=file:///etc/passwd")
[ "$code" = 403 ] || fail "/blob?uri=file:///etc/passwd answered $code, expected 403"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/budgets")
[ "$code" = 405 ] || fail "POST /budgets answered $code: the console must be read-only"

# A hostile query is echoed escaped; a bad number is the default, not an error or a crash.
curl -sf "$URL/dlq?n=abc&reason=%22%3E%3Cscript%3Ewindow.pwned%3D3%3C/script%3E" >"$STACK_DIR/dlq-hostile.html" ||
  fail "/dlq with a hostile query did not answer 200"
[ "$(grep -o '<script' "$STACK_DIR/dlq-hostile.html" | wc -l)" -eq 1 ] &&
  grep -qF '&quot;&gt;&lt;script&gt;window.pwned=3' "$STACK_DIR/dlq-hostile.html" ||
  fail "/dlq echoed its reason filter unescaped"

SHOT=$STACK_DIR/budgets.png
timeout 60 $PY "$ROOT/tests/browser.py" "$STACK_DIR/pages.json" "$URL/" "$URL/lag" "$URL/budgets" "$URL/verdicts" \
  "$URL/verdicts?verdict=rejected" "$URL/dlq" --screenshot "$URL/budgets=$SHOT" || fail "browser.py"
for w in verifier production; do curl -s "http://127.0.0.1:${WORKER_PORT[$w]}/readyz" >"$STACK_DIR/$w.readyz" || true; done

$PY - "$STACK_DIR" "$HOSTILE" <<'PY'
import json, sys
d, hostile = sys.argv[1], sys.argv[2]
pages = {p["url"].split("/", 3)[3] or "fleet": p for p in json.load(open(f"{d}/pages.json"))}
problems = []
for name, p in pages.items():
    if p["status"] != 200:
        problems.append(f"{name}: HTTP {p['status']}")
    for b in p["bad"]:
        problems.append(f"{name}: a sub-resource failed: {b}")
    for e in p["errors"]:
        problems.append(f"{name}: {e}")
    if p["pwned"]:
        problems.append(f"{name}: a payload's markup ran as script (window.pwned = {p['pwned']})")
    if p["scripts"] != 1:
        problems.append(f"{name}: {p['scripts']} script elements, expected only the console's own")

# Fleet: the two running workers up and ready (as their /readyz says), preview down.
rows = {i["worker"]: i for i in pages["fleet"]["items"] if "worker" in i}
assert set(rows) == {"preview", "verifier", "production"}, rows.keys()
for w in ("verifier", "production"):
    ready = open(f"{d}/{w}.readyz").read().startswith("ready")
    if rows[w]["up"] != "1" or rows[w]["ready"] != ("1" if ready else "0") or int(rows[w]["window"]) <= 0:
        problems.append(f"fleet: {w}: {rows[w]}")
if rows["preview"]["up"] != "0" or "down" not in rows["preview"]["text"]:
    problems.append(f"fleet: the stopped preview-worker is shown {rows['preview']}")

# Lag: the preview group against kcat's counts.
def counts(f):
    return {int(p): int(n) for p, n in (l.split() for l in open(f))}
before, after = counts(f"{d}/jobs.before"), counts(f"{d}/jobs.after")
lag = [i for i in pages["lag"]["items"] if i.get("tag") == "tr" and i.get("group") == "pressroom.preview-worker"
       and i.get("topic") == "pressroom.jobs"]
if len(lag) != 6:
    problems.append(f"lag: {len(lag)} partitions of pressroom.jobs for the preview group, expected 6")
for r in lag:
    p = int(r["partition"])
    committed, high = int(r["committed"]), int(r["high"])
    want_c = before.get(p, 0)
    if high != after.get(p, 0) or (committed != want_c and not (want_c == 0 and committed == -1)):
        problems.append(f"lag: pressroom.jobs [{p}]: console committed {committed} high {high}, "
                        f"kcat counted {want_c} consumed, {after.get(p, 0)} now")
    if int(r["lag"]) != after.get(p, 0) - want_c:
        problems.append(f"lag: pressroom.jobs [{p}]: lag {r['lag']}, expected {after.get(p, 0) - want_c}")
total = [i for i in pages["lag"]["items"] if i.get("tag") == "table" and i.get("group") == "pressroom.preview-worker"]
if not total or int(total[0]["total"]) != sum(after.values()) - sum(before.values()) or int(total[0]["total"]) < 5:
    problems.append(f"lag: preview group total {total and total[0]['total']}, kcat: "
                    f"{sum(after.values()) - sum(before.values())}")

# Budgets: pressctl budget show --json.
want = {t["tier"]: t for t in json.load(open(f"{d}/budget.json"))["tiers"]}
got = {i["tier"]: i for i in pages["budgets"]["items"] if "tier" in i}
for tier, t in want.items():
    g = got.get(tier)
    if not g or any(int(g[k + "Micros"]) != t[k + "_micros"] for k in ("spent", "reserved", "cap")):
        problems.append(f"budgets: {tier}: console {g}, budget show {t}")
if want["preview"]["spent_micros"] <= 0 or want["production"]["spent_micros"] <= 0:
    problems.append(f"budgets: nothing was spent: {want}")
if pages["budgets"]["text"].count("burn-down") < 3:
    problems.append("budgets: no burn-down chart per tier")

# Verdicts: the jobs pressctl results reports, with thumbnails that load.
results = [json.loads(l) for l in open(f"{d}/results.jsonl")]
ids = {i["jobId"] for i in pages["verdicts"]["items"] if "jobId" in i}
want_ids = {r["job_id"] for r in results if r.get("verdict") in ("accepted", "degraded", "rejected")}
if ids != want_ids or len(want_ids) != 6:
    problems.append(f"verdicts: console {sorted(ids)}, pressctl results {sorted(want_ids)}")
imgs = pages["verdicts"]["images"]
if not imgs or not all(i["ok"] for i in imgs):
    problems.append(f"verdicts: thumbnails {imgs}")
rej = {i["jobId"] for i in pages["verdicts?verdict=rejected"]["items"] if "jobId" in i}
want_rej = {r["job_id"] for r in results if r.get("verdict") == "rejected"}
if rej != want_rej or not rej:
    problems.append(f"verdicts?verdict=rejected: {sorted(rej)}, pressctl results {sorted(want_rej)}")

# DLQ: the reason kcat reads in the letter's headers, the payload as inert text.
hdrs = [l.rstrip("\n").split("\t", 1) for l in open(f"{d}/dlq.txt") if l.startswith("bad-1\t")][0][1]
# kcat prints headers as name=value,name=value: the reason (which has commas) ends
# where the next pressroom- header begins.
reason = hdrs.split("pressroom-reason=", 1)[1].split(",pressroom-", 1)[0] if "pressroom-reason=" in hdrs else ""
letters = [i for i in pages["dlq"]["items"] if i.get("key") == "bad-1"]
if not letters or not reason or letters[0]["reason"] != reason:
    problems.append(f"dlq: the console shows {letters[:1]}, kcat reads reason {reason}")
elif hostile not in letters[0]["text"]:
    problems.append(f"dlq: the payload is not shown as text: {letters[0]['text'][:300]}")
if any("x" == (i["src"] or "").strip("/") for p in pages.values() for i in p["images"]):
    problems.append("dlq: the payload's <img> became an element")

for p in problems:
    print("FAIL  " + p)
if problems:
    sys.exit(1)
print(f"ok    {len(pages)} pages loaded in Chromium, no failed sub-resource or script error; fleet, lag "
      f"({sum(after.values()) - sum(before.values())} behind), budgets, {len(ids)} verdicts with thumbnails, "
      "the dead letter: all equal to the stack's state")
PY
file "$SHOT" | grep -q 'PNG image data' || fail "no screenshot of the budgets page"
[ -z "${CONSOLE_SCREENSHOT:-}" ] || cp "$SHOT" "$CONSOLE_SCREENSHOT"
echo "ok: the console's pages agree with kcat, pressctl budget show and pressctl results"
