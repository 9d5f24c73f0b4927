"""Chaos-and-soak resilience harness for realtime LLM-agent backends."""

__version__ = "0.1.0"
