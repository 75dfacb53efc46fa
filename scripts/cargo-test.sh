#!/usr/bin/env bash
# Builds the binaries the cross-crate tests start, then runs `cargo test` with the given
# selection (default: the whole workspace), every test even after a failure.
#   scripts/cargo-test.sh                                   everything
#   scripts/cargo-test.sh --workspace --exclude upbrella-tests   unit and API tests
#   scripts/cargo-test.sh -p upbrella-tests                 resilience, hostile, fuzzing, browser
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- --workspace
echo "==> cargo build (the binaries the cross-crate tests start)"
cargo build --workspace --locked --bins
echo "==> cargo test $*"
rm -f target/resilience-summary.md target/hostile-summary.md
exec cargo test --locked --no-fail-fast "$@"
