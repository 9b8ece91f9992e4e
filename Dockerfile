# syntax=docker/dockerfile:1.7
#
# Chatrix as one container image: the `chatrix` binary on distroless, plus the Lambda Web Adapter
# as a Lambda extension. The same image runs on Lambda (linux/arm64, Graviton) and anywhere else
# (`docker run`); outside Lambda nothing starts the extension. See docs/container.md.
#
#   docker buildx build --platform linux/arm64 -t chatrix .
#   docker buildx build --platform linux/amd64 -t chatrix --load .
#
# The compile stage runs on the builder's own platform and cross-compiles to the target, so an
# arm64 image builds on an amd64 machine (and the other way round) at native speed, without QEMU.

# The adapter's published image (FROM scratch, one static binary, amd64 and arm64).
FROM public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1 AS lambda-adapter

FROM --platform=$BUILDPLATFORM rust:1.95.0-slim-bookworm AS build
ARG TARGETARCH
ARG BUILDARCH

# C in the dependency graph: aws-lc-sys (the aws-lc-rs provider of the SDK's rustls client) and
# ring (reqwest's rustls, and the SDK's legacy hyper 0.14 client). Both compile with cc from
# shipped sources, and aws-lc-sys ships bindings for these two targets, so neither cmake nor
# clang/bindgen is needed: only a C compiler and libc headers for the target. The image's gcc
# covers the native case; a cross build adds Debian's cross gcc, pinned to bookworm's versions
# (unchanged since its release).
RUN set -eu; \
    case "$TARGETARCH/$BUILDARCH" in \
      amd64/amd64|arm64/arm64) ;; \
      arm64/amd64) \
        apt-get update; \
        apt-get install -y --no-install-recommends \
          gcc-aarch64-linux-gnu=4:12.2.0-3 libc6-dev-arm64-cross=2.36-8cross1; \
        rm -rf /var/lib/apt/lists/* ;; \
      amd64/arm64) \
        apt-get update; \
        apt-get install -y --no-install-recommends \
          gcc-x86-64-linux-gnu=4:12.2.0-3 libc6-dev-amd64-cross=2.36-8cross1; \
        rm -rf /var/lib/apt/lists/* ;; \
      *) echo "unsupported: target $TARGETARCH, builder $BUILDARCH (amd64, arm64)" >&2; exit 1 ;; \
    esac; \
    case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-gnu > /rust-target ;; \
      arm64) echo aarch64-unknown-linux-gnu > /rust-target ;; \
    esac; \
    rustup target add "$(cat /rust-target)"

# Linker and C compiler per target. Debian names both compilers `<triplet>-gcc`, native or cross,
# so these hold on either builder; cc-rs reads CC_/AR_<target> for the C crates.
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc \
    CC_x86_64_unknown_linux_gnu=x86_64-linux-gnu-gcc \
    AR_x86_64_unknown_linux_gnu=x86_64-linux-gnu-ar

WORKDIR /src
# Only what `cargo build --bin chatrix` reads (src/models.json is embedded from src/). Cargo loads
# every workspace member's manifest even when it builds one package, so crates/ comes too (the
# allocator crate in it is compiled, the emulator's sources are not). A new build.rs or another
# path must be added here and to .dockerignore's allow-list (tests/container_image.rs checks both).
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crates ./crates

# Registry and target directory are BuildKit cache mounts: kept between builds on the same
# builder, never part of an image layer, so the binary is copied out in the same step.
# `--no-default-features`: without the `emulator` feature, so the image cannot serve demo answers
# and carries none of the emulator's code (tests/container_image.rs proves it from these lines).
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    target="$(cat /rust-target)" \
    && cargo build --locked --release --no-default-features --bin chatrix --target "$target" \
    && install -D -m 0755 "target/$target/release/chatrix" /out/chatrix

# cc, not static: the binary links glibc and libgcc_s dynamically (a static glibc breaks DNS
# through NSS; musl's allocator is slow under a multi-threaded server). cc-debian12 has exactly
# those, and /etc/ssl/certs: the AWS SDK's client trusts the system roots (rustls-native-certs).
# No version tags exist for distroless, so the digest is the pin (multi-arch index).
FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f

ARG VERSION=dev
ARG REVISION=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="chatrix" \
      org.opencontainers.image.description="Anthropic Messages API gateway served by AWS Bedrock" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.source="$SOURCE"

# Lambda starts every executable in /opt/extensions before the function; the adapter registers as
# an extension, waits for /health to answer, then relays each invoke to the server over HTTP.
COPY --from=lambda-adapter /lambda-adapter /opt/extensions/lambda-adapter
COPY --from=build /out/chatrix /usr/local/bin/chatrix

# CHATRIX_BEDROCK=aws: missing AWS settings must show up as errors, never as the emulator's canned
# answers (this build has no emulator, so `auto` would mean aws too; explicit all the same). AWS_LWA_*: read only by the adapter, so only inside Lambda. AWS_LWA_HOST is explicit
# because the adapter otherwise falls back to HOST, the bind address 0.0.0.0.
ENV PORT=3000 \
    HOST=0.0.0.0 \
    CHATRIX_BEDROCK=aws \
    CHATRIX_LOG_FORMAT=json \
    AWS_LWA_PORT=3000 \
    AWS_LWA_HOST=127.0.0.1 \
    AWS_LWA_READINESS_CHECK_PATH=/health \
    AWS_LWA_INVOKE_MODE=response_stream

EXPOSE 3000
# No HEALTHCHECK: distroless has no shell or curl, and the binary has no probe mode. Lambda's
# readiness is the adapter's GET /health; on ECS or Kubernetes, point an HTTP check at /health.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/chatrix"]
