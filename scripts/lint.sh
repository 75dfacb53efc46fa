#!/usr/bin/env bash
# Formatting and lints, warnings as errors; the WAS's SQL against the schema; no unused
# dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/sqlx.sh check
echo "==> cargo machete (unused dependencies)"
. scripts/cargo-tools.sh
cargo_tool cargo-machete 0.9.1
cargo machete --with-metadata
