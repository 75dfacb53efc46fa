#!/usr/bin/env bash
# The WAS's SQL is checked at compile time by sqlx's macros against the schema that
# was/migrations builds. Builds read the committed results (was/.sqlx, with
# SQLX_OFFLINE=true from .cargo/config.toml), so they need no database.
#
#   scripts/sqlx.sh check     fails when was/.sqlx is stale or a query does not fit the
#                             schema (part of scripts/lint.sh)
#   scripts/sqlx.sh prepare   regenerates was/.sqlx after a query or migration changed
#
# Both start a throwaway PostgreSQL on loopback, apply the migrations, and run the pinned
# sqlx-cli (scripts/cargo-tools.sh). DATABASE_URL, when set, names an
# empty database to use instead.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  check) prepare_args=(--check) ;;
  prepare) prepare_args=() ;;
  *)
    echo "usage: scripts/sqlx.sh check|prepare" >&2
    exit 2
    ;;
esac

. scripts/cargo-tools.sh
cargo_tool sqlx-cli 0.8.6 --no-default-features --features postgres,rustls

if [ -z "${DATABASE_URL:-}" ]; then
  . scripts/packages.sh
  [ -n "${PG_BIN:-}" ] || need postgresql '/usr/lib/postgresql/*/bin/initdb'
  install_needed
  pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
  dir=$(mktemp -d)
  run_as=()
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root.
    chown postgres: "$dir"
    run_as=(runuser -u postgres --)
  fi
  stop() {
    "${run_as[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
  }
  trap stop EXIT
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${run_as[@]}" "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync \
    --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null || {
    cat "$dir/postgres.log" >&2
    exit 1
  }
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
fi

sqlx migrate run --source was/migrations >/dev/null
echo "==> cargo sqlx prepare ${prepare_args[*]} (was)"
cd was
if ! cargo sqlx prepare "${prepare_args[@]}" -- --all-targets --locked; then
  [ "$mode" = check ] && echo "was/.sqlx does not match the queries: run scripts/sqlx.sh prepare and commit was/.sqlx" >&2
  exit 1
fi
