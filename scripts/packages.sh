# Sourced by the scripts that need system packages: the one place that knows how to
# install what is missing (apt-get, as root or through sudo).
#   need PACKAGE PROBE...   PACKAGE is missing unless one PROBE is a command on PATH or an
#                           existing path (globs allowed)
#   install_needed          installs every missing package at once, or fails naming them
packages_missing=()

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need() {
  local package=$1 probe
  shift
  for probe in "$@"; do
    if [[ $probe == /* ]]; then
      compgen -G "$probe" >/dev/null && return 0
    elif command -v "$probe" >/dev/null 2>&1; then
      return 0
    fi
  done
  packages_missing+=("$package")
}

install_needed() {
  [ ${#packages_missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${packages_missing[*]}; install them with your package manager" >&2
    return 1
  fi
  echo "==> installing ${packages_missing[*]} (apt-get)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages_missing[@]}" >/dev/null
  packages_missing=()
}
