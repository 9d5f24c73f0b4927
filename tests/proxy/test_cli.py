"""``harness proxy serve`` as a process: serves, populates from --config, exits cleanly, reports a taken port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import httpx

from tests.proxy.support import EchoServer, Peer
from tests.support import HARNESS, free_port, start_service


def test_serve_config_metrics_and_sigterm(tmp_path: Path, echo: EchoServer) -> None:
    listen_port = free_port()
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "cfg", "listen": f"127.0.0.1:{listen_port}", "upstream": echo.address}]))
    port = free_port()
    service = start_service(["proxy", "serve", "--port", str(port), "--config", str(config), "--metrics"],
                            port, tmp_path, ready_path="/version")
    try:
        assert httpx.get(f"{service.url}/proxies/cfg").json()["listen"] == f"127.0.0.1:{listen_port}"
        with Peer.connect(listen_port) as peer:
            assert peer.roundtrip_ms() < 200
        assert httpx.get(f"{service.url}/metrics").status_code == 200
    finally:
        code = service.stop(signal.SIGTERM)
    assert code == 0
    assert '"api stopped"' in service.log_text()
    with socket.socket() as probe:  # the proxy's listener is closed too
        assert probe.connect_ex(("127.0.0.1", listen_port)) != 0


def test_metrics_off_by_default_and_sigint(tmp_path: Path) -> None:
    port = free_port()
    service = start_service(["proxy", "serve", "--port", str(port)], port, tmp_path, ready_path="/version")
    try:
        assert httpx.get(f"{service.url}/metrics").status_code == 404
    finally:
        assert service.stop(signal.SIGINT) == 0


def test_port_in_use_is_a_clear_error_with_exit_code_2() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([*HARNESS, "proxy", "serve", "--port", str(port)], capture_output=True,
                                text=True, timeout=30)
    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr
