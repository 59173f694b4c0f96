#!/usr/bin/env bash
# bench/eval-verifier.sh — `make eval-verifier`: measures the verifier gate against
# ground truth and prints, per corpus, recall per mistake kind, false rejects (overall,
# per background and effect) and images per CPU-second, with the targets beside them;
# the styled corpus is read a second time backwards: no reading may depend on the order.
#
# Corpora:
#   own, unseen   drawn by the renderer's cairo code (bench/verifier_corpus.c, libdraw)
#   styled, plain drawn by Pillow in other font families (bench/corpus2/make_corpus.py):
#                 the independent corpus, the figures docs/verifier.md reports. Its
#                 held-out split (EVAL_SEED, default 2) is what this prints; the dev
#                 split used while changing the verifier is seed 1 (EVAL_SEED=1).
# Environment: EVAL_N (images per cairo corpus, 600), EVAL_SINGLE (150),
# EVAL_STYLED_N (300), EVAL_PLAIN_N (150), EVAL_SEED (2), EVAL_THREADS (2),
# EVAL_DIR (where the corpora are drawn; a fresh temporary folder by default).
# Arguments: --verbose (every miss and false reject with its reasons), --strict (exit 1
# when a target is missed), --only-corpus2 (skip the cairo corpora).
set -euo pipefail
: "${BUILD:=build}"
cd "$(dirname "$0")/.."
export OMP_THREAD_LIMIT=1
PY=/usr/bin/python3
bash scripts/install-deps.sh eval

verbose=() strict=() cairo=1 rest=()
for a in "$@"; do
  case "$a" in
    --verbose) verbose=(--verbose); rest+=("$a") ;;
    --strict) strict=(--strict); rest+=("$a") ;;
    --only-corpus2) cairo=0 ;;
    *) rest+=("$a") ;;
  esac
done

rc=0
if [ "$cairo" = 1 ]; then
  "$BUILD/bench/verifier_corpus" --n "${EVAL_N:-600}" --single "${EVAL_SINGLE:-150}" ${rest[@]+"${rest[@]}"} || rc=1
  echo
fi

dir="${EVAL_DIR:-}"
if [ -z "$dir" ]; then
  dir=$(mktemp -d /tmp/pressroom-eval.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
fi
seed="${EVAL_SEED:-2}"
for look in styled plain; do
  n=$([ "$look" = styled ] && echo "${EVAL_STYLED_N:-300}" || echo "${EVAL_PLAIN_N:-150}")
  out="$dir/$look-seed$seed"
  [ -f "$out/batch.jsonl" ] || "$PY" bench/corpus2/make_corpus.py --out "$out" --look "$look" --n "$n" --seed "$seed"
  "$PY" bench/corpus2/score.py --corpus "$out" --pressctl "$BUILD/bin/pressctl" \
    --threads "${EVAL_THREADS:-2}" --name "$look, seed $seed" ${verbose[@]+"${verbose[@]}"} \
    $([ "$look" = styled ] && echo --order-check) \
    ${strict[@]+"${strict[@]}"} || rc=1
  echo
done
exit $rc
