#!/usr/bin/env bash
# The one place pressroom's Debian package list lives.
# Installs what is missing (as root), or prints the exact apt-get line and exits 1.
set -euo pipefail
PACKAGES=(
  build-essential pkg-config
  librdkafka-dev libcurl4-openssl-dev libcjson-dev
  libtesseract-dev tesseract-ocr-eng libleptonica-dev
  libhiredis-dev libpng-dev redis-server
  libcairo2-dev fonts-dejavu-core fonts-liberation fonts-freefont-ttf
  libmicrohttpd-dev libcmocka-dev
  python3 python3-jsonschema python3-yaml curl kcat file
)
# PRESSROOM_NO_TEST_TOOLS=1 (the Dockerfile's build stage): only what building needs.
test_tools=${PRESSROOM_NO_TEST_TOOLS:-0}
# npm for the tests' S3-protocol server (below): Debian's nodejs and npm, unless a
# node that brings its own npm is installed already.
[ "$test_tools" = 1 ] || command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  line="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "pressroom: missing Debian packages; as root run:" >&2
    echo "  apt-get update && $line" >&2
    exit 1
  fi
  echo "pressroom: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  $line >/dev/null
fi

# s3rver, the S3-protocol server the blob store's tests run on loopback (tests/lib.sh
# start_s3), from the npm registry into one well-known folder. A re-run with the same
# version installed touches no network.
S3RVER_VERSION=3.7.1
S3RVER_DIR=${PRESSROOM_TOOLS:-/opt/pressroom}/s3rver
installed=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$S3RVER_DIR/node_modules/s3rver/package.json" 2>/dev/null | head -n 1 || true)
if [ "$test_tools" != 1 ] && { [ "$installed" != "$S3RVER_VERSION" ] || [ ! -x "$S3RVER_DIR/node_modules/.bin/s3rver" ]; }; then
  if ! mkdir -p "$S3RVER_DIR" 2>/dev/null || [ ! -w "$S3RVER_DIR" ]; then
    echo "pressroom: s3rver $S3RVER_VERSION is missing and $S3RVER_DIR is not writable; run as root, or set" >&2
    echo "  PRESSROOM_TOOLS to a folder of yours (tests read it too) and run this script again" >&2
    exit 1
  fi
  echo "pressroom: installing s3rver $S3RVER_VERSION into $S3RVER_DIR" >&2
  npm install --prefix "$S3RVER_DIR" --no-audit --no-fund --loglevel=error "s3rver@$S3RVER_VERSION" >/dev/null
fi
