"""Where the system under test and its tools are: from the experiment's configuration, or the embedded stack.

A name such as ``openai`` resolves to configuration ``openai_url``, then the environment variable
``HARNESS_OPENAI_URL``, then the URL the embedded stack recorded in its state file. Names used by the
harness: ``backend``, ``openai``, ``a2a``, ``tools``, ``weather``, ``toxiproxy``, ``prometheus``, ``database``,
``postgres``.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from chaoslib.exceptions import ActivityFailed


def stack_urls() -> dict[str, str]:
    """URLs the embedded stack recorded (``openai``, ``toxiproxy``, ``database`` ...), or ``{}`` without a stack.

    ``database`` is the backend's route (through the ``postgres`` proxy); ``postgres`` is the server itself,
    for administrative work that must not be cut by a fault on that proxy.
    """
    from harness.stack.state import StackState, default_state_dir

    state = StackState.load(default_state_dir())
    if state is None:
        return {}
    urls = {name: component.url for name, component in state.components.items()}
    urls.update({key.removesuffix("_url"): url for key, url in state.urls.items()})
    return urls


def target_url(configuration: dict[str, Any] | None, name: str) -> str:
    """The URL of ``name``; ActivityFailed saying how to configure it when it cannot be found."""
    configured = (configuration or {}).get(f"{name}_url") or os.environ.get(f"HARNESS_{name.upper()}_URL")
    if configured:
        return str(configured).rstrip("/")
    found = stack_urls().get(name)
    if found:
        return found.rstrip("/")
    raise ActivityFailed(f"no URL for {name}: set the configuration key '{name}_url' (or HARNESS_{name.upper()}_URL),"
                         " or bring the embedded stack up with `harness stack up`")


def host_port(url: str) -> tuple[str, int]:
    """``(host, port)`` of an http URL (port 80 when absent)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return parts.hostname or "127.0.0.1", parts.port or 80
