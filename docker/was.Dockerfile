# The upbrella application server. Build from the repository root:
#   docker build -f docker/was.Dockerfile -t upbrella/was .
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the manifests or the lock change,
# and it is the same layer in both images (it builds the dependencies of both).
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY shared/Cargo.toml shared/
COPY was/Cargo.toml was/
COPY web-proxy/Cargo.toml web-proxy/
COPY stack/Cargo.toml stack/
COPY tests/Cargo.toml tests/
COPY bench/Cargo.toml bench/
COPY docker/stub-workspace.sh /usr/local/bin/
RUN stub-workspace.sh && cargo build --release --locked -p was -p web-proxy
# Then the sources.
COPY shared/src shared/src
COPY was/src was/src
COPY was/migrations was/migrations
# The queries' compile-time check results (builds are offline: .cargo/config.toml).
COPY was/.sqlx was/.sqlx
RUN touch shared/src/lib.rs was/src/lib.rs was/src/main.rs \
    && cargo build --release --locked -p was \
    && install -D -m 0755 target/release/was /out/was

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="upbrella-was" \
      org.opencontainers.image.description="upbrella application server" \
      org.opencontainers.image.source="https://github.com/upbrella/upbrella" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/was /app/was
# Amazon RDS's CA certificates: the task definitions set PGSSLMODE=verify-full and
# PGSSLROOTCERT to this file, so the WAS talks only to the real database.
COPY docker/rds-ca/rds-ca-bundle.pem /etc/upbrella/rds-ca-bundle.pem
USER 65532:65532
# MIMALLOC_PURGE_DELAY=0: give freed memory back to the system at once (see was/src/main.rs).
ENV WAS_LISTEN_ADDR=0.0.0.0:8080 LOG_FORMAT=json MIMALLOC_PURGE_DELAY=0
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/app/was", "healthcheck"]
ENTRYPOINT ["/app/was"]
CMD ["serve"]
