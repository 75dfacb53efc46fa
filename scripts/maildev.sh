# Sourced by test-deps.sh: the mail catcher (maildev, from npm, at the version pinned in
# stack/src/mailcatcher.rs) under target/tools/maildev, installed when missing or when
# the pin changed. Needs node and npm.
maildev_version=$(sed -n 's/^pub const MAILDEV_VERSION: &str = "\(.*\)";$/\1/p' stack/src/mailcatcher.rs)
maildev_dir=target/tools/maildev
if [ "$(cat "$maildev_dir/version" 2>/dev/null)" != "$maildev_version" ] ||
  [ ! -x "$maildev_dir/node_modules/.bin/maildev" ]; then
  echo "==> installing maildev $maildev_version into $maildev_dir (npm)"
  mkdir -p "$maildev_dir"
  npm install --no-audit --no-fund --silent --prefix "$maildev_dir" "maildev@$maildev_version" >/dev/null
  echo "$maildev_version" >"$maildev_dir/version"
fi
