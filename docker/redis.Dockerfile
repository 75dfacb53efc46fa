# Redis for the local compose stack, as the WAS meets ElastiCache in AWS: TLS only (no
# plain port) and an AUTH token (REDIS_PASSWORD). Built from Debian so the whole compose
# topology builds from one base image. `redis-tls-init` (the `redis-tls` one-shot
# service) makes a throwaway CA and a certificate for the host name `redis` into the
# shared /tls volume once; the WAS trusts that CA (REDIS_CA_FILE).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server=5:7.0.* openssl=3.0.* \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o redis -g redis -m 0755 /tls
COPY --chmod=0755 docker/redis-tls-init.sh /usr/local/bin/redis-tls-init
USER redis
EXPOSE 6379
# REDISCLI_AUTH is the token for redis-cli, kept out of its command line.
HEALTHCHECK --interval=5s --timeout=3s --retries=5 \
    CMD ["sh", "-c", "REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli --tls --cacert /tls/ca.crt -h 127.0.0.1 ping | grep -q PONG"]
# Append-only file, so sessions survive a Redis restart, as with a managed Redis.
CMD ["sh", "-c", "exec redis-server --bind 0.0.0.0 --protected-mode no --port 0 --tls-port 6379 --tls-cert-file /tls/server.crt --tls-key-file /tls/server.key --tls-ca-cert-file /tls/ca.crt --tls-auth-clients no --requirepass \"$REDIS_PASSWORD\" --dir /var/lib/redis --appendonly yes --save ''"]
