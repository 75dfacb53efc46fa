#!/usr/bin/env bash
# The one test command. On a fresh Debian/Ubuntu machine with the Rust toolchain it
# installs what the suite needs (scripts/test-deps.sh), then runs formatting and lints
# (scripts/lint.sh), every test (scripts/cargo-test.sh) and the checks beyond cargo; CI
# runs the same scripts as parallel jobs. The tests start their own throwaway Redis and
# PostgreSQL on loopback (or use REDIS_URL / DATABASE_URL when set).
set -euo pipefail
cd "$(dirname "$0")/.."

# Free space on the disk holding target/, in GiB.
free_gib() { df -Pk . | awk 'NR == 2 { printf "%d", $4 / 1048576 }'; }
# What target/ holds, in GiB with one decimal.
target_gib() { du -sk target 2>/dev/null | awk '{ printf "%.1f", $1 / 1048576 }'; }

# A one-shot run gains nothing from incremental compilation, whose caches were half of
# target/: off in CI and wherever the disk is short; a developer's repeated runs keep it.
if [ -n "${CI:-}" ] || [ "$(free_gib)" -lt 20 ]; then
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi
echo "==> $(free_gib) GiB free for target/ and Docker; incremental compilation ${CARGO_INCREMENTAL:-on}"

# The same scripts CI's jobs run, in one go, timed per job (the figures at the end).
job_times=()
timed() {
  local job=$1 start=$SECONDS
  shift
  "$@"
  local rc=$?
  job_times+=("$job $((SECONDS - start)) $(target_gib)")
  return $rc
}
timed deps scripts/test-deps.sh
timed lint scripts/lint.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
status=0
run_tests() { scripts/cargo-test.sh "$@" 2>&1 | tee -a "$log"; return "${PIPESTATUS[0]}"; }
timed tests run_tests --workspace --exclude upbrella-tests || status=1
timed resilience run_tests -p upbrella-tests || status=1
# The same suites on web-proxy's other forwarding path (CI: part of the resilience job).
hyper_tests() { scripts/hyper-path-tests.sh 2>&1 | tee -a "$log"; return "${PIPESTATUS[0]}"; }
timed hyper-path hyper_tests || status=1
set -e
# The stages below build their images inside Docker and the benchmark in release mode:
# the debug build is not used again. Where the disk is short it goes, so Docker has room.
if [ -n "${CI:-}" ] || [ "$(free_gib)" -lt 15 ]; then
  echo "==> removing target/debug ($(du -sh target/debug 2>/dev/null | cut -f1)); $(free_gib) GiB free before"
  rm -rf target/debug
fi
images_start=$SECONDS
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
job_times+=("images $((SECONDS - images_start)) $(target_gib)")

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
for suite in resilience hostile; do
  if [ -f "target/$suite-summary-hyper.md" ]; then
    echo "The $suite suite again, web-proxy on hyper's forwarding path:"
    sort -t. -k1,1n "target/$suite-summary-hyper.md"
    echo
  fi
done
echo "Wall time by CI job (here one after another; CI runs the four in parallel), and the"
echo "size of target/ after it:"
for t in "${job_times[@]}"; do
  read -r job secs gib <<<"$t"
  printf '  %-11s %4d s  %5s GiB\n' "$job" "$secs" "$gib"
done
echo "  $(free_gib) GiB free at the end"
echo
# One closing line for the whole run: cargo's tests (it prints one line per test binary,
# the last usually an empty doc-test run) plus the stages above.
awk -v sp="$stage_passed" -v sf="$stage_failed" \
  '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
   END { printf "%d passed, %d failed\n", p + sp, f + sf }' "$log"
exit "$status"
