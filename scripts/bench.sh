#!/usr/bin/env bash
# The benchmarks: builds release binaries, installs what they need (wrk, nginx, Redis,
# PostgreSQL) when missing, starts everything on loopback, and writes
# bench/results/latest.md plus SVG plots. A few minutes on 2 cores.
#   scripts/bench.sh           full run
#   scripts/bench.sh --smoke   seconds-long run that only proves the command works (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (apt-get)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "==> cargo build --release (was, web-proxy, bench)"
cargo build --release --locked -p was -p web-proxy -p upbrella-bench
exec target/release/bench "$@"
