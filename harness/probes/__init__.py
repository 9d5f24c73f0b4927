"""Steady-state probes over Prometheus. Each returns a verdict with its figures; no data is *inconclusive*."""
