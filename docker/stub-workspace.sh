#!/bin/sh
# Creates an empty stand-in for every source file the workspace's manifests name, so a
# Docker build can compile all dependencies in a layer that only changes when
# Cargo.toml or Cargo.lock do. The real sources are copied over it afterwards.
set -eu
for member in shared was web-proxy stack tests bench; do
  mkdir -p "$member/src"
  [ -f "$member/src/lib.rs" ] || : > "$member/src/lib.rs"
done
for bin in was/src/main.rs web-proxy/src/main.rs stack/src/main.rs bench/src/main.rs; do
  echo 'fn main() {}' > "$bin"
done
mkdir -p tests/support && : > tests/support/lib.rs && : > tests/resilience.rs && : > tests/browser.rs
