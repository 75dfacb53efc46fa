#!/usr/bin/env bash
# Formatting and lints, warnings as errors; the WAS's SQL against the schema.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/sqlx.sh check
