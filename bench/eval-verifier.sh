#!/usr/bin/env bash
# bench/eval-verifier.sh — `make eval-verifier`: measures the verifier gate against
# ground truth on two generated corpora (the renderer's own look, and unseen faces
# and backgrounds) and prints recall per mistake kind, the false-reject rate on
# clean images and images/s per core. Extra arguments go to verifier_corpus
# (--n N images per corpus, --threads T, --single N, --verbose, --strict).
set -euo pipefail
: "${BUILD:=build}"
cd "$(dirname "$0")/.."
export OMP_THREAD_LIMIT=1
exec "$BUILD/bench/verifier_corpus" --n "${EVAL_N:-600}" --single "${EVAL_SINGLE:-150}" "$@"
