#!/usr/bin/env bash
# Install the system programs the local stack runs, on Debian/Ubuntu: Prometheus (the real server),
# postgres_exporter, and docker-compose (used to validate docker-compose.yml). Idempotent: installs only
# what is missing. Needs root and apt-get; elsewhere it prints how to get them and exits 0 (the stack then
# explains what is missing when it starts, and `harness doctor` lists it).
#
# The Debian packages ship systemd units that would start Prometheus on :9090 and the exporter on :9187.
# The harness runs its own instances (own ports in the 17xxx block, data in the stack's state directory),
# so the packaged services are stopped and disabled when systemd is present; without systemd nothing starts.
set -euo pipefail

declare -A command_of=(
  [prometheus]=prometheus
  [prometheus-postgres-exporter]=prometheus-postgres-exporter
  [docker-compose]=docker-compose
)

missing=()
for package in "${!command_of[@]}"; do
  command -v "${command_of[$package]}" >/dev/null 2>&1 || missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-packages: prometheus, postgres_exporter and docker-compose are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<MSG
install-system-packages: missing: ${missing[*]}
  Debian/Ubuntu (as root):  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}
                            (or: sudo bash scripts/install-system-packages.sh)
  elsewhere:                Prometheus        https://prometheus.io/download/
                            postgres_exporter https://github.com/prometheus-community/postgres_exporter/releases
                            docker-compose    https://docs.docker.com/compose/install/
  Put the binaries on PATH, or point HARNESS_PROMETHEUS_BIN / HARNESS_POSTGRES_EXPORTER_BIN at them.
MSG
  exit 0
fi

echo "install-system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for unit in prometheus prometheus-postgres-exporter; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi
echo "install-system-packages: done"
