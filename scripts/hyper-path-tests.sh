#!/usr/bin/env bash
# The proxy's own suites, the hostile-input suite and the resilience suite once more, with
# web-proxy on hyper's forwarding path (WEB_PROXY_FORWARDING=hyper; the first run took the
# lean one, the default): every one of them must pass on both paths. The second run's
# summaries are kept beside the first's as target/*-summary-hyper.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export WEB_PROXY_FORWARDING=hyper
first=$(mktemp -d)
trap 'rm -rf "$first"' EXIT
for f in resilience hostile; do
  if [ -f "target/$f-summary.md" ]; then mv "target/$f-summary.md" "$first/"; fi
done
status=0
scripts/cargo-test.sh -p web-proxy || status=1
echo "==> cargo test -p upbrella-tests --test hostile --test resilience (hyper path)"
cargo test --locked --no-fail-fast -p upbrella-tests --test hostile --test resilience || status=1
for f in resilience hostile; do
  if [ -f "target/$f-summary.md" ]; then mv "target/$f-summary.md" "target/$f-summary-hyper.md"; fi
  if [ -f "$first/$f-summary.md" ]; then mv "$first/$f-summary.md" target/; fi
done
exit $status
