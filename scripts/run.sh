#!/usr/bin/env bash
# Set up (if needed) and run the main job: the soak experiment on the embedded default stack.
# Extra arguments go to `chaos run` (e.g. --var soak_seconds=600).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
if [ -f experiments/soak.json ]; then
  exec .venv/bin/chaos run experiments/soak.json "$@"
fi
cat <<'MSG'
Set-up is done. The soak experiment (experiments/soak.json) is not built yet: it needs the reference
backend, the local stack and the load runner. What runs today:
  .venv/bin/harness mock openai|a2a|tools|weather --port N   the dependency stand-ins with their fault API
  .venv/bin/harness proxy serve --port 8474                    the Toxiproxy-compatible fault proxy
MSG
