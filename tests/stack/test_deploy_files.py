"""docker-compose.yml and deploy/: valid, and the same world as the local stack (proxies, jobs, SLI rules)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.stack.config import StackConfig
from harness.stack.ports import StackPorts
from harness.stack.prometheus import write_config
from harness.stack.rules import recording_rules, render, rule_names
from harness.stack.wiring import PROXY_NAMES, ROUTES, SCRAPE_JOBS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose is not installed (scripts/install-system-packages.sh installs it)")
def test_docker_compose_config_is_valid() -> None:
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_compose_runs_every_component_and_locust() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {"postgres", "toxiproxy", "openai", "a2a", "tools", "weather", "backend", "postgres-exporter",
            "prometheus", "grafana", "locust-master", "locust-worker"} <= set(services)
    assert services["toxiproxy"]["image"] == "ghcr.io/shopify/toxiproxy:2.12.0"
    backend = " ".join(services["backend"]["command"])
    for proxy in ("17181", "17182", "17183", "17185"):
        assert f"toxiproxy:{proxy}" in backend
    assert "http://toxiproxy:17184" in services["tools"]["command"]


def test_toxiproxy_config_has_the_local_stack_proxies() -> None:
    proxies = json.loads((DEPLOY / "toxiproxy.json").read_text())
    assert [proxy["name"] for proxy in proxies] == list(PROXY_NAMES)
    defaults = StackPorts()
    for proxy, route in zip(proxies, ROUTES, strict=True):
        assert proxy["listen"] == f"0.0.0.0:{getattr(defaults, route.listen_port)}"


def test_compose_prometheus_scrapes_the_same_jobs() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert set(jobs) == {*SCRAPE_JOBS, "dynamic"}
    assert 1 <= float(config["global"]["scrape_interval"].rstrip("s")) <= 5


def test_compose_rules_are_the_generated_rules() -> None:
    assert (DEPLOY / "prometheus/rules/sli.yml").read_text() == render(), \
        "regenerate: python -m harness.stack.rules > deploy/prometheus/rules/sli.yml"


def test_dashboard_plots_only_recorded_slis() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/agent-sli.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert set(exprs) <= set(rule_names())
    assert {"sli:agent_time_to_first_event_seconds:p95_1m", "sli:agent_run_error_ratio:rate1m",
            "sli:process_resident_memory_bytes:max"} <= set(exprs)
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/harness.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_rules_reference_metrics_the_backend_serves() -> None:
    served = set(re.findall(r'"(agent_[a-z0-9_]+)"', (ROOT / "mocks/agent_backend/metrics.py").read_text()))
    used = {re.sub(r"_(bucket|count)$", "", name) for group in recording_rules()["groups"]
            for rule in group["rules"] for name in re.findall(r"\bagent_[a-z0-9_]+", rule["expr"])}
    assert len(used) >= 10
    assert used <= served, used - served


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool comes with the prometheus package")
def test_promtool_accepts_the_generated_and_compose_configs(tmp_path: Path) -> None:
    config_file = write_config(StackConfig(state_dir=tmp_path), tmp_path / "prometheus")
    for command in (["check", "config", str(config_file)],
                    ["check", "rules", str(tmp_path / "prometheus/sli-rules.yml")],
                    ["check", "config", str(DEPLOY / "prometheus/prometheus.yml")]):
        result = subprocess.run(["promtool", *command], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
