"""Chaos-and-soak resilience harness for realtime LLM-agent backends.

As a Chaos Toolkit extension, ``chaos discover harness`` lists its activities: the fault actions, the
load actions and probes, and the steady-state probes.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

ACTION_MODULES = ("harness.faults.llm", "harness.faults.services", "harness.faults.network", "harness.faults.db",
                  "harness.load.actions", "harness.timeline")
PROBE_MODULES = ("harness.probes.latency", "harness.probes.errors", "harness.probes.resources", "harness.probes.client",
                 "harness.load.probes")


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit discovery: every action and probe of the harness (modules not installed are skipped)."""
    import importlib.util

    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    discovery = initialize_discovery_result("agent-chaos-harness", __version__, "harness")
    for modules, find in ((ACTION_MODULES, discover_actions), (PROBE_MODULES, discover_probes)):
        for module in modules:
            if importlib.util.find_spec(module) is not None:
                discovery["activities"].extend(find(module))
    return discovery
