# syntax=docker/dockerfile:1
# ConsentBridge image: built with the official Swift image, run on slim Debian 12 with
# librdkafka, as a non-root user. `docker compose up -d --build` builds it (docker-compose.yml).

ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build ------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# librdkafka-dev: the CRdKafka system library (pkg-config "rdkafka"); Debian 12 ships 2.0.2.
# libsqlite3-dev: the CSQLite system library (pkg-config "sqlite3") every SQLite store uses.
# libjemalloc-dev: the allocator the executable links (Package.swift).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev libsqlite3-dev libjemalloc-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Contracts ./Contracts
# The same build command as README.md (Tests/python/test_deployment.py checks it).
RUN swift build -c release --product consent-bridge
# Stage the binary with the Swift runtime libraries it links (and nothing else).
RUN mkdir -p /staging/swift-lib \
    && cp "$(swift build -c release --show-bin-path)/consent-bridge" /staging/consent-bridge \
    && ldd /staging/consent-bridge | awk '$3 ~ /\/lib\/swift\/linux\// { print $3 }' \
       | xargs -r -I{} cp -L {} /staging/swift-lib/

# ---- runtime ----------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# librdkafka1, libsqlite3-0 and libjemalloc2 must match the headers the build stage compiled
# against (all Debian 12).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libsqlite3-0 libjemalloc2 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 consentbridge \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin consentbridge
COPY --from=build /staging/swift-lib/ /usr/lib/swift/linux/
RUN echo /usr/lib/swift/linux > /etc/ld.so.conf.d/swift.conf && ldconfig
COPY --from=build /staging/consent-bridge /usr/local/bin/consent-bridge
COPY --from=build /src/Contracts /app/Contracts
# Fail the build, not the first start, when a shared library is missing.
RUN ! ldd /usr/local/bin/consent-bridge | grep "not found"
WORKDIR /app
ENV CONSENT_BRIDGE_CONTRACTS_DIRECTORY=/app/Contracts \
    CONSENT_BRIDGE_HTTP_LISTEN_ADDRESS=0.0.0.0:8080
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 CMD ["consent-bridge", "health"]
ENTRYPOINT ["consent-bridge"]
CMD ["run"]
