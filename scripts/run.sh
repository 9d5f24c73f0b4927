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
load runner and the Chaos Toolkit extension. What runs today:
  .venv/bin/harness stack up|status|down                       the whole local world, wired through the fault proxy
  .venv/bin/harness doctor                                     prerequisites, and how to fix each
  .venv/bin/harness backend / mock ... / proxy serve           each component on its own
MSG
