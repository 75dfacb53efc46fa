# Sourced by the scripts that use cargo-installed tools (sqlx-cli, cargo-machete): builds
# a pinned version once into target/tools/NAME (CI caches target/), then reuses it.
#   cargo_tool CRATE VERSION [cargo install flags...]   puts target/tools/CRATE/bin on PATH
cargo_tool() {
  local crate=$1 version=$2
  shift 2
  local root=$PWD/target/tools/$crate
  if [ "$(cat "$root/version" 2>/dev/null)" != "$version" ]; then
    echo "==> building $crate $version into target/tools/$crate (once)"
    cargo install "$crate" --version "$version" --locked --quiet --root "$root" "$@"
    echo "$version" >"$root/version"
  fi
  export PATH="$root/bin:$PATH"
}
