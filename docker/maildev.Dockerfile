# The local stack's mail catcher: maildev (npm) catches what the WAS sends over SMTP
# (1025) and shows it on a web page (1080, with a JSON API under /email). Local only: in
# AWS the WAS sends through SES.
#
# The package is installed in a stage on the same builder image as the Rust binaries,
# which trusts the same certificate authorities as this machine's cargo (a builder behind
# a TLS-inspecting proxy gets its CA there); the runtime needs only Node.js.
ARG RUST_IMAGE=rust:1.95-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs=18.* npm=9.* \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/maildev
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# The version stack/src/mailcatcher.rs pins for the native stack and the tests.
RUN npm install --no-audit --no-fund --omit=dev maildev@2.2.1

FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs=18.* \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/maildev /opt/maildev
USER nobody
EXPOSE 1025 1080
HEALTHCHECK --interval=5s --timeout=3s --retries=5 \
    CMD ["node", "-e", "require('http').get('http://127.0.0.1:1080/email', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["/opt/maildev/node_modules/.bin/maildev"]
CMD ["--smtp", "1025", "--web", "1080", "--ip", "0.0.0.0"]
