"""Chaos Toolkit control: the local stack is brought up before the experiment and down after it.

Declare it in the experiment::

    "controls": [{"name": "stack", "provider": {"type": "python", "module": "harness.controls.stack",
                                                 "arguments": {"defects": "", "audit_log": "on"}}}]

It does nothing when the configuration points at an existing deployment: any of ``backend_url``,
``toxiproxy_url`` or ``prometheus_url`` is set, or ``"stack": "existing"``. Otherwise it brings the
embedded stack up (reusing one already running with the same settings, which it then leaves running) and
writes the stack's addresses into the configuration for the activities: ``backend_url``, ``toxiproxy_url``
(and ``toxiproxy_host``/``toxiproxy_port`` for chaostoolkit-toxiproxy), ``prometheus_url``,
``database_url``, ``openai_url``, ``a2a_url``, ``tools_url``, ``weather_url``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chaoslib.exceptions import InterruptExecution
from chaoslib.types import Configuration, Experiment, Journal

from harness.stack.config import StackConfig
from harness.stack.errors import StackError
from harness.stack.lifecycle import down, up
from harness.stack.ports import ports_from
from harness.stack.state import default_state_dir

__all__ = ["after_experiment_control", "before_experiment_control", "uses_existing_deployment"]

EXISTING_KEYS = ("backend_url", "toxiproxy_url", "prometheus_url")
logger = logging.getLogger("chaostoolkit")

# State directories whose stack this control started (and so must bring down).
_started: set[Path] = set()


def uses_existing_deployment(configuration: Configuration | None) -> bool:
    """True when the experiment targets a deployment that runs already (it gives its URLs)."""
    configuration = configuration or {}
    mode = configuration.get("stack")
    if mode in ("existing", "embedded"):
        return mode == "existing"
    if mode is not None:
        raise InterruptExecution(f"configuration 'stack' is {mode!r}: use 'embedded' or 'existing'")
    return any(configuration.get(key) for key in EXISTING_KEYS)


def _state_dir(state_dir: str | None) -> Path:
    return Path(state_dir).resolve() if state_dir else default_state_dir()


def before_experiment_control(context: Experiment, configuration: Configuration | None = None,
                              state_dir: str | None = None, defects: str | list[str] = "", audit_log: str = "on",
                              ports: dict[str, int] | None = None, database_url: str | None = None,
                              timeout_s: float = 60.0, **_: Any) -> None:
    """Bring the embedded stack up (unless an existing deployment is configured) and publish its URLs."""
    if uses_existing_deployment(configuration):
        logger.info("harness stack: the configuration points at an existing deployment; not starting one")
        return
    if audit_log not in ("on", "off"):
        raise InterruptExecution(f"stack control: audit_log is {audit_log!r}; use 'on' or 'off'")
    names = defects.split(",") if isinstance(defects, str) else defects
    directory = _state_dir(state_dir)
    try:
        config = StackConfig(state_dir=directory, ports=ports_from().with_overrides(ports or {}),
                             defects=tuple(name.strip() for name in names if name.strip()),
                             audit_log=audit_log == "on", database_url=database_url, timeout_s=timeout_s)
        stack, already = up(config)
    except StackError as error:
        raise InterruptExecution(f"the local stack could not start: {error}") from None
    if not already:
        _started.add(directory)
    logger.info(f"harness stack: {'reusing the running' if already else 'started the'} stack in {directory}")
    if configuration is not None:
        configuration.update(stack.urls)
        proxy_api = urlsplit(stack.urls["toxiproxy_url"])
        configuration.update(toxiproxy_host=proxy_api.hostname, toxiproxy_port=proxy_api.port)


def after_experiment_control(context: Experiment, state: Journal | None = None,
                             configuration: Configuration | None = None, state_dir: str | None = None,
                             keep_running: bool = False, **_: Any) -> None:
    """Bring the stack down if this control started it (and ``keep_running`` is false)."""
    directory = _state_dir(state_dir)
    if directory not in _started:
        return
    if keep_running:
        logger.info(f"harness stack: left running in {directory} (keep_running); `harness stack down` stops it")
        return
    _started.discard(directory)
    try:
        down(directory)
    except StackError as error:
        logger.error(f"harness stack: could not bring the stack down: {error}")
        return
    logger.info(f"harness stack: brought down ({directory})")
