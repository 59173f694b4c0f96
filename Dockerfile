# syntax=docker/dockerfile:1
# pressroom: one image with every binary (workers, renderer, pressctl, broker).
#   docker build -t pressroom:local .
#   docker run --rm pressroom:local /usr/local/bin/pressctl --help
# Which binary runs is the container's command (see docker-compose.yml, deploy/k8s).

# ---- build: the toolchain and -dev packages from the one package list ----
FROM debian:12-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
# The tests' tools (kubectl, node, npm packages, promtool, s3rver) are not needed to build.
RUN PRESSROOM_DEPS=build bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make -j"$(nproc)" all

# ---- runtime: shared libraries, OCR data and fonts only ----
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
# The runtime halves of scripts/install-deps.sh's -dev packages, plus the data
# packages it names (tesseract-ocr-eng, fonts-*) and CA certificates for https
# model endpoints and an https S3 store (libcurl signs its requests; see
# deploy/README.md). tests/integration/test_deploy_manifests.sh checks this
# list covers every shared library the binaries need.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      librdkafka1 libcurl4 libcjson1 \
      libtesseract5 libarchive13 liblept5 tesseract-ocr-eng \
      libhiredis0.14 libpng16-16 libcairo2 libmicrohttpd12 \
      fonts-dejavu-core fonts-liberation fonts-freefont-ttf \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 pressroom \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/pressroom --shell /usr/sbin/nologin pressroom \
 && mkdir -p /var/lib/pressroom/blobs /etc/pressroom \
 && chown -R pressroom:pressroom /var/lib/pressroom
COPY --from=build /src/build/bin/ /usr/local/bin/
# The verifier's second model and glyph classifier, stripped at build time (Makefile,
# LATIN_MODEL, GLYPH_MODEL): the binaries look for them in ../share/pressroom/tessdata
# beside their own folder.
COPY --from=build /src/build/share/ /usr/local/share/
COPY examples/config.json /etc/pressroom/config.json
# Tesseract runs one thread per handle; the verifier parallelises across handles.
ENV OMP_THREAD_LIMIT=1 \
    PRESSROOM_CONFIG=/etc/pressroom/config.json \
    PRESSROOM_BLOBS=file:///var/lib/pressroom/blobs
# The default store is this volume (file://). For S3 or an S3-compatible store run
# with PRESSROOM_BLOBS=s3://bucket/prefix, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
# (or an AWS credentials file, s3.credentials_file) and, for a store other than AWS,
# the config's s3.endpoint; every worker checks the store at start-up.
VOLUME ["/var/lib/pressroom/blobs"]
# Workers run with --metrics-listen 0.0.0.0:9464: /healthz, /readyz, /metrics.
EXPOSE 9464
USER 10001:10001
WORKDIR /var/lib/pressroom
CMD ["/usr/local/bin/pressctl", "--help"]
