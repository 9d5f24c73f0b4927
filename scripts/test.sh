#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: ruff, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check --output-format concise .
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests; the suite must never be empty" >&2
  exit 1
fi
exit "$status"
