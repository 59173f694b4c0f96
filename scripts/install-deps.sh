#!/usr/bin/env bash
# The one place pressroom's Debian package list lives.
# Installs what is missing (as root), or prints the exact apt-get line and exits 1.
# PRESSROOM_DEPS=build (the Dockerfile's build stage) skips the tools only the tests
# use (kubectl, node and npm packages, promtool, s3rver, chromium).
set -euo pipefail
PACKAGES=(
  build-essential pkg-config
  librdkafka-dev libcurl4-openssl-dev libcjson-dev
  libtesseract-dev tesseract-ocr-eng libleptonica-dev
  libhiredis-dev libpng-dev redis-server
  libcairo2-dev fonts-dejavu-core fonts-liberation fonts-freefont-ttf
  libmicrohttpd-dev libcmocka-dev
  python3 python3-jsonschema python3-yaml curl ca-certificates kcat file
)
# Read by the build only: combine_tessdata (tesseract-ocr) strips the verifier's second
# model, tesseract-ocr-script-latn's Latin.traineddata, to its network (Makefile,
# LATIN_MODEL); the image ships that stripped file, not these packages. curl (with
# ca-certificates) fetches the glyph classifier's data from the npm registry
# (Makefile, GLYPH_MODEL).
BUILD_ONLY_PACKAGES=(tesseract-ocr tesseract-ocr-script-latn)
PACKAGES+=("${BUILD_ONLY_PACKAGES[@]}")
# test_deploy_manifests renders deploy/k8s with `kubectl kustomize` and validates it with
# node (tests/deploy/package.json); the blob store's tests run s3rver (npm). Debian's
# packages only where no kubectl / npm is installed already (another vendor's package of
# the same binary would conflict).
test_tools=true
[ "${PRESSROOM_DEPS:-}" = build ] && test_tools=false
# test_console loads the console's pages in headless Chromium (tests/browser.py).
if $test_tools; then
  PACKAGES+=(chromium)
  command -v kubectl >/dev/null || PACKAGES+=(kubernetes-client)
  command -v npm >/dev/null || PACKAGES+=(nodejs npm)
  PACKAGES+=(chromium) # headless browser tests of HTML reports (test_ab)
fi
# `install-deps.sh eval` (make eval-verifier): the second corpus's drawing library and
# font families the renderer does not use (bench/corpus2/make_corpus.py).
EVAL_PACKAGES=(
  python3-pil fonts-urw-base35 fonts-roboto-unhinted fonts-open-sans
  fonts-crosextra-carlito fonts-crosextra-caladea fonts-comic-neue fonts-cantarell
  fonts-ebgaramond fonts-bebas-neue fonts-league-spartan fonts-firacode
)
[ "${1:-}" = eval ] && PACKAGES+=("${EVAL_PACKAGES[@]}")
# `install-deps.sh bench` (make bench): the static model endpoint the preview rows run
# against (bench/lib.sh start_nginx): nginx-light, and the echo module's echo_sleep for
# the 800 ms variant (nginx-light depends on it; named so the dependency is ours).
# and (make bench-peer) the Python peer's libraries (bench/peer/),
# Debian's builds, run with /usr/bin/python3 (python3-tesserocr brings python3-pil).
# valgrind: make bench's instruction counts (bench/instr_bench.sh, admission_script_cost.sh).
BENCH_PACKAGES=(valgrind nginx-light libnginx-mod-http-echo python3-confluent-kafka python3-redis python3-aiohttp python3-tesserocr python3-pil)
[ "${1:-}" = bench ] && PACKAGES+=("${BENCH_PACKAGES[@]}")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  line="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "pressroom: missing Debian packages; as root run:" >&2
    echo "  apt-get update && $line" >&2
    exit 1
  fi
  echo "pressroom: installing ${missing[*]}" >&2
  apt-get update -qq
  $line >/dev/null
fi

# promtool (test_dashboards: `promtool check rules`, `promtool test rules`): Debian ships
# it only inside `prometheus`, whose installation starts a Prometheus server; take the
# one binary out of that Debian package instead.
$test_tools || exit 0
if ! command -v promtool >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "pressroom: promtool is missing; as root run: bash scripts/install-deps.sh" >&2
    exit 1
  fi
  echo "pressroom: installing promtool (from Debian's prometheus package)" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null; }; } &&
    dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool >/usr/local/bin/promtool.new) &&
    chmod 755 /usr/local/bin/promtool.new && mv /usr/local/bin/promtool.new /usr/local/bin/promtool
  rm -rf "$tmp"
  command -v promtool >/dev/null || { echo "pressroom: could not install promtool" >&2; exit 1; }
fi

# npm packages: the Kubernetes schemas for test_deploy_manifests (versions pinned in
# tests/deploy/package-lock.json; node_modules is not committed).
deploy_checks="$(cd "$(dirname "$0")/.." && pwd)/tests/deploy"
if [ ! -f "$deploy_checks/node_modules/.package-lock.json" ] ||
   [ "$deploy_checks/package-lock.json" -nt "$deploy_checks/node_modules/.package-lock.json" ]; then
  echo "pressroom: installing the npm packages of tests/deploy" >&2
  npm ci --prefix "$deploy_checks" --no-audit --no-fund --loglevel=error >/dev/null
fi

# s3rver, the S3-protocol server the blob store's tests run on loopback (tests/lib.sh
# start_s3), from the npm registry into one well-known folder. A re-run with the same
# version installed touches no network.
S3RVER_VERSION=3.7.1
S3RVER_DIR=${PRESSROOM_TOOLS:-/opt/pressroom}/s3rver
installed=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$S3RVER_DIR/node_modules/s3rver/package.json" 2>/dev/null | head -n 1 || true)
if [ "$installed" != "$S3RVER_VERSION" ] || [ ! -x "$S3RVER_DIR/node_modules/.bin/s3rver" ]; then
  if ! mkdir -p "$S3RVER_DIR" 2>/dev/null || [ ! -w "$S3RVER_DIR" ]; then
    echo "pressroom: s3rver $S3RVER_VERSION is missing and $S3RVER_DIR is not writable; run as root, or set" >&2
    echo "  PRESSROOM_TOOLS to a folder of yours (tests read it too) and run this script again" >&2
    exit 1
  fi
  echo "pressroom: installing s3rver $S3RVER_VERSION into $S3RVER_DIR" >&2
  npm install --prefix "$S3RVER_DIR" --no-audit --no-fund --loglevel=error "s3rver@$S3RVER_VERSION" >/dev/null
fi
