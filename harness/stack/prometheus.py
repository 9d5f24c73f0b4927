"""The Prometheus configuration of the local stack: every component scraped every 1–5 s, SLI rules loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.stack.config import StackConfig
from harness.stack.ports import HOST
from harness.stack.wiring import SCRAPE_JOBS

TARGETS_DIR = "targets"


def scrape_config(config: StackConfig, rules_file: Path, targets_dir: Path) -> dict[str, Any]:
    """``prometheus.yml`` as a mapping.

    Besides the fixed jobs, every ``*.json`` file dropped in ``targets_dir`` (Prometheus file-based service
    discovery) is scraped too: that is how the load runner's exporter joins while a load runs.
    """
    interval = f"{config.scrape_interval_s:g}s"
    jobs: list[dict[str, Any]] = [
        {"job_name": job, "static_configs": [{"targets": [f"{HOST}:{getattr(config.ports, port)}"],
                                              "labels": {"stack": "local"}}]}
        for job, port in SCRAPE_JOBS.items()
    ]
    jobs.append({"job_name": "dynamic", "file_sd_configs": [{"files": [str(targets_dir / "*.json")],
                                                             "refresh_interval": "5s"}]})
    return {
        "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
        "rule_files": [str(rules_file)],
        "scrape_configs": jobs,
    }


def write_config(config: StackConfig, directory: Path) -> Path:
    """Write ``prometheus.yml`` and ``sli-rules.yml`` into ``directory``; returns the config file."""
    from harness.stack.rules import render

    directory.mkdir(parents=True, exist_ok=True)
    rules = directory / "sli-rules.yml"
    rules.write_text(render())
    targets = directory / TARGETS_DIR
    targets.mkdir(exist_ok=True)
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(scrape_config(config, rules, targets), sort_keys=False))
    return path


def command(binary: str, config_file: Path, data_dir: Path, port: int) -> list[str]:
    """The server's command line: loopback only, data in the state directory, lifecycle API on."""
    return [binary, f"--config.file={config_file}", f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address={HOST}:{port}", "--storage.tsdb.retention.time=7d", "--web.enable-lifecycle",
            "--log.format=json"]
