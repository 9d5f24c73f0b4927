"""A2A agent stand-in built on the official ``a2a-sdk``: a deterministic research agent with faults.

``app`` assembles the Starlette app, ``agent`` is the AgentExecutor, ``findings`` writes the answer,
``faults`` holds the fault catalog, ``rpc`` wraps the SDK's JSON-RPC endpoint with faults and metrics,
``store`` is a bounded task store, ``card`` builds the agent card and ``sdk_logs`` quiets the SDK's
per-request client-error logging.
"""

import os

# The SDK wraps every handler method in an OpenTelemetry span when opentelemetry is installed; nobody
# collects traces from a mock, and the spans cost about a quarter of the per-request CPU. The SDK reads
# this switch once, when it is first imported; set it to "true" in the environment to keep the spans.
os.environ.setdefault("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED", "false")
