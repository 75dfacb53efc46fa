# The upbrella web tier, with the front-end baked in. Build from the repository root:
#   docker build -f docker/web-proxy.Dockerfile -t upbrella/web-proxy .
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS build
WORKDIR /src
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
COPY shared/src shared/src
COPY web-proxy/src web-proxy/src
RUN touch shared/src/lib.rs web-proxy/src/lib.rs web-proxy/src/main.rs \
    && cargo build --release --locked -p web-proxy \
    && install -D -m 0755 target/release/web-proxy /out/web-proxy
# The front-end, with gzip siblings for every compressible file (served precompressed).
COPY web /out/web
RUN find /out/web -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.svg' -o -name '*.json' \) \
        -exec gzip -9 -k -n {} \;

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="upbrella-web-proxy" \
      org.opencontainers.image.description="upbrella web tier: reverse proxy and front-end" \
      org.opencontainers.image.source="https://github.com/upbrella/upbrella" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/web-proxy /app/web-proxy
COPY --from=build /out/web /app/web
USER 65532:65532
ENV WEB_PROXY_LISTEN_ADDR=0.0.0.0:8000 WEB_PROXY_ADMIN_ADDR=0.0.0.0:9100 WEB_PROXY_STATIC_DIR=/app/web LOG_FORMAT=json
EXPOSE 8000 9100
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/app/web-proxy", "healthcheck"]
ENTRYPOINT ["/app/web-proxy"]
CMD ["serve"]
