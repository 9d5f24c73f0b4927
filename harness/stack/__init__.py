"""Bring the local world (database, stand-ins, proxy, backend, Prometheus) up and down.

``lifecycle`` (up, status, down) drives it; ``components`` says what each process is, ``wiring`` which proxy
sits in front of which dependency, ``prometheus``/``rules`` what is scraped and recorded, ``state`` what was
started (so a later ``down`` can undo it), ``processes`` how processes are started and stopped by PID. See
docs/stack.md.
"""
