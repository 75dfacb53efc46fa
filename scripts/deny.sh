#!/usr/bin/env bash
# Supply-chain checks of the dependency graph with cargo-deny (deny.toml): licenses,
# banned/wildcard/duplicate crates, and sources (crates.io only). These read only
# Cargo.lock and the crates' manifests, so they need no network beyond cargo fetching
# missing crates. Advisories need the RustSec database and run in CI's `advisories` job
# instead (`scripts/deny.sh advisories`). cargo-deny is built from crates.io, at the
# version pinned here, into target/tools/cargo-deny once (scripts/cargo-tools.sh).
#   scripts/deny.sh               licenses, bans, sources
#   scripts/deny.sh advisories    RustSec advisories (needs the advisory database)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cargo-tools.sh
cargo_tool cargo-deny 0.20.2

if [ "${1:-}" = advisories ]; then
  echo "==> cargo deny --locked check advisories ($(cargo-deny --version))"
  exec cargo-deny --locked check --show-stats advisories
fi
# Warnings (duplicate versions) are listed without inclusion graphs to keep the log
# short; `target/tools/cargo-deny/bin/cargo-deny check bans` shows who pulls each one in.
echo "==> cargo deny --locked check licenses bans sources ($(cargo-deny --version))"
status=0
cargo-deny --locked check --hide-inclusion-graph --show-stats licenses bans sources || status=$?
if [ "$status" != 0 ]; then
  echo "cargo-deny failed (exit $status): see the errors above; the policy is in deny.toml" >&2
  exit 1
fi
echo "cargo-deny: licenses, bans and sources passed"
