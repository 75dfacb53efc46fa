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
echo "==> house rules (no file of logic over 600 lines, no function over 100, no import circle)"
python3 scripts/house.py
echo "==> duplicated crates (cargo tree -d)"
# A crate counts once however many of its versions the lock holds.
dups=$(cargo tree -d --workspace -e normal --locked | grep -E '^[a-z]' | awk '{print $1, $2}' | sort -u | awk '{print $1}' | uniq -d)
echo "$(echo "$dups" | grep -c .) crates in more than one version: $(echo $dups)"
echo "$(grep -c '^name = ' Cargo.lock) crates in Cargo.lock"
