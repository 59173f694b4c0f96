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
# `install-deps.sh eval` (make eval-verifier): the second corpus's drawing library and
# font families the renderer does not use (bench/corpus2/make_corpus.py).
EVAL_PACKAGES=(
  python3-pil fonts-urw-base35 fonts-roboto-unhinted fonts-open-sans
  fonts-crosextra-carlito fonts-crosextra-caladea fonts-comic-neue fonts-cantarell
  fonts-ebgaramond fonts-bebas-neue fonts-league-spartan fonts-firacode
)
[ "${1:-}" = eval ] && PACKAGES+=("${EVAL_PACKAGES[@]}")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
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
