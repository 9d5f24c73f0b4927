"""`--database-url`: an existing PostgreSQL server behind the `postgres` proxy, left running by `down`."""

from __future__ import annotations

from pathlib import Path

import httpx

from harness.stack.postgres import LocalPostgres
from tests.stack.support import Recorded, assert_all_gone, free_stack_ports, harness, listening, port_args, status


def test_stack_on_an_existing_database(tmp_path: Path, postgres: LocalPostgres) -> None:
    state_dir, ports = tmp_path / "state", free_stack_ports()
    result = harness("stack", "up", "--state-dir", str(state_dir), *port_args(ports), "--database-url", postgres.url)
    try:
        assert result.returncode == 0, result.stderr
        report = status(state_dir)
        assert report["running"] is True
        assert report["components"]["postgres"]["pid"] is None
        assert report["proxies"]["postgres"]["upstream"] == f"127.0.0.1:{postgres.port}"
        assert httpx.get(f"{report['urls']['backend_url']}/readyz", timeout=5).status_code == 200
        assert not listening(ports.postgres), "no embedded server when a URL is given"
    finally:
        harness("stack", "down", "--state-dir", str(state_dir))
    assert_all_gone(Recorded.of(report), ports, state_dir)
    assert listening(postgres.port), "down must not touch a database it did not start"
