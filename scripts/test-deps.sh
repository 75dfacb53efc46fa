#!/usr/bin/env bash
# What `cargo test` needs besides Rust, installed when missing: Redis and PostgreSQL (the
# tests start throwaway ones on loopback, or use REDIS_URL / DATABASE_URL), HAProxy (the
# external ALB in the resilience suite), Chromium with its driver and a Korean font (the
# browser tests), OpenSSL (the PostgreSQL TLS test makes its own CAs), Node.js with the
# pinned maildev (the mail catcher the account tests read), and the pinned Python tools
# (schemathesis for tests/api_fuzz.rs, moto for the SES test).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh

need redis-server redis-server
need haproxy haproxy /usr/sbin/haproxy
need chromium chromium
need chromium-driver chromedriver
need fonts-nanum /usr/share/fonts/truetype/nanum
need openssl openssl
need nodejs node
need npm npm
[ -n "${PG_BIN:-}" ] || need postgresql initdb '/usr/lib/postgresql/*/bin/initdb'
install_needed || {
  echo "Or set PG_BIN to the directory holding PostgreSQL's initdb and postgres." >&2
  exit 1
}
. scripts/tools-venv.sh
. scripts/maildev.sh
. scripts/axe-core.sh
