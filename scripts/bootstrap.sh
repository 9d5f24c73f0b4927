#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian/Ubuntu machine: the system programs of the local
# stack (Prometheus, postgres_exporter, docker-compose) and a python3.12 venv in .venv with the project and
# its dev extras. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-system-packages.sh

find_python312() {
  local candidate
  for candidate in python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12 \
                   "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
  if ! python=$(find_python312); then
    echo "error: python3.12 was not found. Chaos Toolkit >= 1.20 needs it; install it (pyenv install 3.12," >&2
    echo "       or your distribution's python3.12 package) and run this again." >&2
    exit 1
  fi
  echo "bootstrap: creating .venv with $python"
  rm -rf .venv
  "$python" -m venv .venv
fi

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing the project and its dev extras into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
