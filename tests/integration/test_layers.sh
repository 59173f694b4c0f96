#!/usr/bin/env bash
# The layout tells the architecture (docs/architecture.md), and the binaries show it:
#   - every folder of common/ includes only the layers below it (check_layers.sh);
#   - no worker links cairo (drawing is the reference renderer's), the rendering workers
#     link no tesseract (the verify library), and a config-only program (the embedded
#     broker) links no libmicrohttpd.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BUILD:=build}"
fail() { echo "FAIL: $*" >&2; exit 1; }
bash tests/check_layers.sh || fail "an include crosses the layers"
needed() { objdump -p "$BUILD/bin/$1" | awk '/NEEDED/ {print $2}'; }
for w in preview-worker production-worker verifier-worker; do
  needed "$w" | grep -q cairo && fail "$w links cairo"
done
needed production-worker | grep -q tesseract && fail "production-worker links tesseract (the verify library)"
needed pressroom-broker | grep -q microhttpd && fail "pressroom-broker (config only) links libmicrohttpd"
needed preview-worker | grep -q tesseract && fail "preview-worker links tesseract (the verify library)"
needed pressroom-renderer | grep -q rdkafka && fail "pressroom-renderer links librdkafka"
echo "ok: layers and link lines"
