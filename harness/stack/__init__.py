"""Bring the local world (database, stand-ins, proxy, backend, Prometheus) up and down."""
