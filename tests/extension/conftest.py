"""Fixtures for the Chaos Toolkit extension: a real Prometheus scraping made-up RSS series."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.extension.series_exporter import SHAPES, SeriesExporter
from tests.support import free_port


@dataclass
class SeriesPrometheus:
    url: str
    started: float


@pytest.fixture(scope="session")
def series_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeriesPrometheus]:
    """Prometheus (the real binary) scraping the leak/plateau/sawtooth exporter every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the prometheus binary is missing: run `bash scripts/install-system-packages.sh`")
    workdir = tmp_path_factory.mktemp("prometheus")
    exporter = SeriesExporter(free_port())
    exporter_port = exporter.server.server_address[1]
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "scrape_configs": [{"job_name": shape, "metrics_path": f"/{shape}/metrics",
                                  "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}
                                 for shape in SHAPES]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (workdir / "prometheus.log").open("wb") as log:
        process = subprocess.Popen([binary, f"--config.file={workdir / 'prometheus.yml'}",
                                    f"--storage.tsdb.path={workdir / 'data'}",
                                    f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, Path(workdir / "prometheus.log"))
        yield SeriesPrometheus(url, exporter.started)
    finally:
        process.terminate()
        process.wait(15)
        exporter.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("prometheus not ready in 30 s")
