"""Pieces every mock shares: the fault model, its control API, metrics and the server runner."""
