"""Fault actions (LLM, network, database) and the fault ledger that lets anyone undo them."""
