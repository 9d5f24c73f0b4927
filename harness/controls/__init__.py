"""Chaos Toolkit controls of the harness (``"provider": {"type": "python", "module": "harness.controls.X"}``)."""
