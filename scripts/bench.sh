#!/usr/bin/env bash
# The benchmarks: builds release binaries, installs what they need (wrk, nginx, HAProxy, Redis,
# PostgreSQL) when missing, starts everything on loopback, and writes
# bench/results/latest.md plus SVG plots. A few minutes on 2 cores.
#   scripts/bench.sh           full run
#   scripts/bench.sh --smoke   seconds-long run that only proves the command works (CI)
#   scripts/bench.sh rush      only the rainy-morning rush (bench/results/rush.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh
need wrk wrk
need nghttp2-client h2load
need nginx nginx /usr/sbin/nginx
need haproxy haproxy /usr/sbin/haproxy
need redis-server redis-server
need postgresql initdb '/usr/lib/postgresql/*/bin/initdb'
install_needed
echo "==> cargo build --release (was, web-proxy, bench)"
cargo build --release --locked -p was -p web-proxy -p upbrella-bench
exec target/release/bench "$@"
