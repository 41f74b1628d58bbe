# syntax=docker/dockerfile:1
#
# docker build -t spot-termination-handler .
# docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/spot-termination-handler:TAG --push .
#
# The build stage compiles main.ts into one self-contained binary carrying its permissions; the
# final stage is that binary on distroless (glibc and libgcc, which deno compile binaries need,
# and nothing else: no shell, no package manager), run as a non-root user.
#
# For reproducible builds pin both images by digest: look it up with
#   docker buildx imagetools inspect denoland/deno:2.9.6
# and write FROM ...denoland/deno:2.9.6@sha256:<digest> (likewise for the distroless image).

# The compiler runs on the build machine and cross-compiles for each target platform, so an
# arm64 image builds without emulation.
FROM --platform=$BUILDPLATFORM denoland/deno:2.9.6 AS build
WORKDIR /src

# Dependencies first, so editing the code does not download them again.
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY main.ts ./
COPY lib/ ./lib/

# deno compile type-checks local modules by default. The permission flags are exactly
# HANDLER_PERMISSIONS in lib/permissions.ts; tests/permissions_test.ts holds them equal. No
# code cache: the root filesystem is read-only at run time, so there is nowhere to write it.
ARG TARGETARCH
RUN set -eu; \
    case "${TARGETARCH:-}" in \
      amd64) target="--target=x86_64-unknown-linux-gnu" ;; \
      arm64) target="--target=aarch64-unknown-linux-gnu" ;; \
      "") target="" ;; \
      *) echo "unsupported TARGETARCH ${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    mkdir -p /out; \
    deno compile --frozen --no-code-cache $target \
      --allow-net \
      --allow-env \
      --allow-read=/var/run/secrets/kubernetes.io/serviceaccount,/var/run/secrets/eks.amazonaws.com/serviceaccount,/var/run/secrets/pods.eks.amazonaws.com/serviceaccount,/etc/spot-termination-handler \
      --allow-sys=osRelease \
      --output /out/spot-termination-handler \
      main.ts

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="spot-termination-handler" \
      org.opencontainers.image.description="Cordons and drains a Kubernetes node when AWS announces a spot interruption"
COPY --from=build /out/spot-termination-handler /spot-termination-handler
# distroless's "nonroot" user; daemonset.yaml runs the pod as the same uid.
USER 65532:65532
# /healthz, /readyz and /metrics (METRICS_PORT).
EXPOSE 9092
ENTRYPOINT ["/spot-termination-handler"]
