#!/usr/bin/env bash
# The console's re-drive button, in a real browser (headless Chromium, tests/browser.py
# --click) against a real stack; what was published is read back with kcat:
#   - read-only console (no token): POST /dlq/redrive is 405, the DLQ page has no button
#     and no token field;
#   - with a token: a POST without it, with a wrong one, or with another site's Origin is
#     403, and a wrong token typed into the page is refused the same way; nothing reaches
#     pressroom.jobs (kcat counts it) and the token is in no log line and no page;
#   - typed correctly, the button re-drives the poison letter: the page names the letter
#     and the new message's topic, partition and offset, and kcat reads that very message
#     with the letter's key and payload, pressroom-redrive-attempt=1 and
#     pressroom-redriven-from=pressroom.dlq:P:O;
#   - the worker dead-letters it again (attempt 1); with --max-attempts 1 the button on
#     that letter is refused "at the attempt limit" and nothing is published; so is a
#     re-drive by reason filter, which takes only the job's newest letter.
# DLQ_SCREENSHOT=FILE also writes the DLQ page with its buttons there (docs/console-dlq.png).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
stack_init console_redrive
PY=/usr/bin/python3
command -v chromium >/dev/null || fail "chromium is missing: bash scripts/install-deps.sh"

clean_stack_config "$STACK_DIR/config.json"
start_stack "$STACK_DIR/config.json"
start_bg preview "$BIN/preview-worker"
start_bg verifier "$BIN/verifier-worker"
start_bg production "$BIN/production-worker"

dlq_lines() { kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.dlq -o beginning -e -q -f '%k\t%p:%o\t%h\n' 2>/dev/null; }
jobs_count() { kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.jobs -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l; }
wait_letters() { # KEY N: until KEY has N letters
  for _ in $(seq 1 100); do [ "$(dlq_lines | grep -c "^$1	" || true)" -ge "$2" ] && return 0; sleep 0.2; done
  fail "expected $2 letter(s) of $1 on the DLQ: $(dlq_lines)"
}
POISON='{"job_id": not json <b>bold</b>'
printf 'bad-1\t%s\n' "$POISON" | kafka_put pressroom.jobs
wait_letters bad-1 1
LETTER=$(dlq_lines | grep '^bad-1	' | head -n 1 | cut -f2)

console_url() { wait_for grep -q '^listening http://' "$STACK_DIR/$1.out"; sed -n 's/^listening //p' "$STACK_DIR/$1.out" | head -n 1 | sed 's,/$,,'; }

# Read-only: no endpoint, no button.
env -u PRESSROOM_CONSOLE_TOKEN "$BIN/pressroom-console" --listen 127.0.0.1:0 >"$STACK_DIR/ro.out" 2>"$STACK_DIR/ro.log" &
STACK_PIDS+=($!)
RO=$(console_url ro)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "letter=$LETTER" "$RO/dlq/redrive")
[ "$code" = 405 ] || fail "a read-only console answered POST /dlq/redrive with $code, expected 405"
curl -sf "$RO/dlq" >"$STACK_DIR/ro-dlq.html" || fail "read-only /dlq"
grep -q 'data-letter\|action-token' "$STACK_DIR/ro-dlq.html" && fail "a read-only console shows re-drive buttons"
grep -q 'data-key="bad-1"' "$STACK_DIR/ro-dlq.html" || fail "the read-only DLQ page does not list the letter"

# With a token.
TOKEN="t0k-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PRESSROOM_CONSOLE_TOKEN=$TOKEN start_bg console "$BIN/pressroom-console" --listen 127.0.0.1:0 --max-attempts 1
URL=$(console_url console)
grep -q '^actions enabled' "$STACK_DIR/console.out" || fail "the console does not say its actions are enabled"
before=$(jobs_count)
post() { curl -s -o "$STACK_DIR/post.html" -w '%{http_code}' -X POST "$@"; }
code=$(post -d "letter=$LETTER" "$URL/dlq/redrive")
[ "$code" = 403 ] || fail "POST without a token answered $code, expected 403"
code=$(post -d "letter=$LETTER&token=${TOKEN}x" "$URL/dlq/redrive")
[ "$code" = 403 ] && grep -q 'wrong action token' "$STACK_DIR/post.html" || fail "a wrong token answered $code"
code=$(post -H "Origin: http://evil.example" -d "letter=$LETTER&token=$TOKEN" "$URL/dlq/redrive")
[ "$code" = 403 ] || fail "another origin's POST answered $code, expected 403"
code=$(post -H "Content-Type: text/plain" --data-binary "letter=$LETTER&token=$TOKEN" "$URL/dlq/redrive")
[ "$code" = 415 ] || fail "a text/plain POST (what a cross-site form can send unpreflighted) answered $code, expected 415"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/dlq/redrive?letter=$LETTER&token=$TOKEN")
[ "$code" = 405 ] || fail "GET /dlq/redrive answered $code, expected 405"

SHOT=$STACK_DIR/dlq.png
BTN="button[data-letter=\"$LETTER\"]"
timeout 90 $PY "$ROOT/tests/browser.py" --click "$URL/dlq" "$BTN" --fill "#action-token=wrong-token-typed" \
  >"$STACK_DIR/wrong.json" || fail "browser.py --click (wrong token)"
sleep 1
[ "$(jobs_count)" = "$before" ] || fail "a refused re-drive published something: $before -> $(jobs_count) on pressroom.jobs"

timeout 90 $PY "$ROOT/tests/browser.py" --click "$URL/dlq" "$BTN" --fill "#action-token=$TOKEN" --screenshot "$SHOT" \
  >"$STACK_DIR/click.json" || fail "browser.py --click"
wait_letters bad-1 2
LETTER2=$(dlq_lines | grep '^bad-1	' | cut -f2 | grep -vx "$LETTER" | head -n 1)
after_first=$(jobs_count)
timeout 90 $PY "$ROOT/tests/browser.py" --click "$URL/dlq" "button[data-letter=\"$LETTER2\"]" --fill "#action-token=$TOKEN" \
  >"$STACK_DIR/limit.json" || fail "browser.py --click (second letter)"
sleep 1
[ "$(jobs_count)" = "$after_first" ] || fail "a re-drive past the attempt limit published something"

# By filter: only the newest letter of the job is taken (and refused at the limit).
code=$(post -d "filtered=1&reason=job%3A&token=$TOKEN" "$URL/dlq/redrive")
[ "$code" = 200 ] && [ "$(grep -o 'data-result="[a-z]*" data-letter="[0-9:]*"' "$STACK_DIR/post.html")" = \
  "data-result=\"refused\" data-letter=\"$LETTER2\"" ] || fail "re-drive by filter: $code $(cat "$STACK_DIR/post.html")"
[ "$(jobs_count)" = "$after_first" ] || fail "a re-drive by filter past the attempt limit published something"

# Where the page says the message went, as kcat reads it.
read -r P O < <($PY -c 'import json,sys; r=[i for i in json.load(open(sys.argv[1]))["items"] if i.get("result")]; print(r[0]["partition"], r[0]["offset"]) if r else print("- -")' "$STACK_DIR/click.json")
[ "$P" != - ] || fail "the click's page shows no result: $(head -c 600 "$STACK_DIR/click.json")"
kcat -C -b "$PRESSROOM_BROKERS" -t pressroom.jobs -p "$P" -o "$O" -c 1 -e -q -f '%k\t%h\t%s\n' >"$STACK_DIR/redriven.txt" 2>/dev/null

$PY - "$STACK_DIR" "$LETTER" "$LETTER2" "$POISON" "$TOKEN" <<'PY'
import json, sys
d, letter, letter2, poison, token = sys.argv[1:6]
problems = []
wrong, ok, limit = (json.load(open(f"{d}/{n}.json")) for n in ("wrong", "click", "limit"))
before = ok["clicked_from"]
if not any(i.get("letter") == letter for i in before["items"] if i["tag"] == "button"):
    problems.append(f"the DLQ page has no re-drive button for {letter}")
if before["scripts"] != 1 or before["pwned"]:
    problems.append("the DLQ page runs other script than the console's")
if wrong["status"] != 403 or "wrong action token" not in wrong["text"] or any(i.get("result") for i in wrong["items"]):
    problems.append(f"a wrong token typed into the page: HTTP {wrong['status']}, {wrong['text'][:200]}")
rows = [i for i in ok["items"] if i.get("result")]
if ok["status"] != 200 or len(rows) != 1 or rows[0]["result"] != "redriven" or rows[0]["letter"] != letter \
        or rows[0]["topic"] != "pressroom.jobs" or rows[0]["attempt"] != "1":
    problems.append(f"the re-drive's page: HTTP {ok['status']} {rows} {ok['text'][:300]}")
elif f"pressroom.jobs [{rows[0]['partition']}] @{rows[0]['offset']}" not in ok["text"]:
    problems.append(f"the re-drive's page does not say where the message went: {ok['text'][:300]}")
got = open(f"{d}/redriven.txt").read().rstrip("\n").split("\t")
if len(got) < 3 or got[0] != "bad-1" or got[2] != poison or "pressroom-redrive-attempt=1" not in got[1] \
        or f"pressroom-redriven-from=pressroom.dlq:{letter}" not in got[1]:
    problems.append(f"kcat reads at the page's partition and offset: {got}")
lrows = [i for i in limit["items"] if i.get("result")]
if limit["status"] != 200 or len(lrows) != 1 or lrows[0]["result"] != "refused" or lrows[0]["letter"] != letter2 \
        or "attempt limit" not in lrows[0]["text"]:
    problems.append(f"the letter at the limit: HTTP {limit['status']} {lrows}")
for page in (wrong, ok, limit, before):
    if token in json.dumps(page):
        problems.append("a page shows the action token")
    for e in page.get("errors", []):
        problems.append(f"script or console error: {e}")
for p in problems:
    print("FAIL  " + p)
if problems:
    sys.exit(1)
print(f"ok    clicked in Chromium: {letter} re-driven to pressroom.jobs [{rows[0]['partition']}] @{rows[0]['offset']} "
      f"with attempt 1 (kcat agrees); {letter2} refused at the attempt limit; a wrong token refused")
PY
for f in "$STACK_DIR"/console.log "$STACK_DIR"/console.out; do
  grep -qF "$TOKEN" "$f" && fail "$f carries the action token"
done
grep -q '"console_redrive"' "$STACK_DIR/console.log" || fail "the console logged no re-drive"
file "$SHOT" | grep -q 'PNG image data' || fail "no screenshot of the DLQ page"
[ -z "${DLQ_SCREENSHOT:-}" ] || cp "$SHOT" "$DLQ_SCREENSHOT"
echo "ok: the console's re-drive button works with the token only, and publishes what pressctl dlq redrive would"
