# Sourced by test-deps.sh: axe-core (from npm, at the version pinned in
# tests/browser/harness.rs) under target/tools/axe-core, for the browser tests'
# accessibility pass, installed when missing or when the pin changed. Needs npm.
axe_version=$(sed -n 's/^pub const AXE_CORE_VERSION: &str = "\(.*\)";$/\1/p' tests/browser/harness.rs)
axe_dir=target/tools/axe-core
if [ "$(cat "$axe_dir/version" 2>/dev/null)" != "$axe_version" ] ||
  [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
  echo "==> installing axe-core $axe_version into $axe_dir (npm)"
  mkdir -p "$axe_dir"
  npm install --no-audit --no-fund --silent --prefix "$axe_dir" "axe-core@$axe_version" >/dev/null
  echo "$axe_version" >"$axe_dir/version"
fi
