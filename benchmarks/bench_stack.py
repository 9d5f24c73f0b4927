"""The local stack's figures: time from ``harness stack up`` to all healthy (goal ≤ 20 s), time to ``down``,
and the idle stack's CPU and memory per component.

    .venv/bin/python -m benchmarks.bench_stack [--cycles 3] [--idle-seconds 30]

Each cycle is a cold start (fresh state directory: the embedded PostgreSQL cluster is created by initdb).
Idle figures are taken on the last cycle's stack after it settles: CPU is the processes' user+system time
over the window (a component's forked children included, e.g. PostgreSQL's backends), RSS the sum of VmRSS
and PSS (shared pages split between processes) from /proc.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import HARNESS
from harness.stack.processes import group_members
from tests.stack.support import free_stack_ports, port_args

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HARNESS, *args], capture_output=True, text=True, timeout=180, check=False)


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0, 0
    values = {line.split(":")[0]: int(line.split()[1]) for line in rollup if line.endswith("kB")}
    return values.get("Rss", 0), values.get("Pss", 0)


def _processes(components: dict[str, dict]) -> dict[str, list[int]]:
    return {name: group_members(c["pid"]) or [c["pid"]] for name, c in components.items() if c["pid"]}


def measure_idle(components: dict[str, dict], seconds: float) -> dict[str, tuple[float, int, int]]:
    """``{component: (cpu %, rss KiB, pss KiB)}`` over ``seconds`` of idling."""
    before = {name: sum(map(_cpu_ticks, pids)) for name, pids in _processes(components).items()}
    started = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - started
    figures = {}
    for name, pids in _processes(components).items():
        cpu = (sum(map(_cpu_ticks, pids)) - before.get(name, 0)) / CLOCK_TICKS / wall * 100
        memory = [_memory_kb(pid) for pid in pids]
        figures[name] = (cpu, sum(m[0] for m in memory), sum(m[1] for m in memory))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--settle-seconds", type=float, default=10.0)
    options = parser.parse_args()

    ups, downs = [], []
    workdir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    try:
        for cycle in range(options.cycles):
            state_dir = workdir / f"state-{cycle}"
            ports = free_stack_ports()
            started = time.monotonic()
            result = _harness("stack", "up", "--state-dir", str(state_dir), *port_args(ports))
            ups.append(time.monotonic() - started)
            if result.returncode != 0:
                raise SystemExit(f"stack up failed:\n{result.stderr}")
            last = cycle == options.cycles - 1
            if last:
                components = json.loads(_harness("stack", "status", "--json", "--state-dir", str(state_dir))
                                        .stdout)["components"]
                time.sleep(options.settle_seconds)
                idle = measure_idle(components, options.idle_seconds)
            started = time.monotonic()
            result = _harness("stack", "down", "--state-dir", str(state_dir))
            downs.append(time.monotonic() - started)
            if result.returncode != 0:
                raise SystemExit(f"stack down failed:\n{result.stderr}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nharness stack, {options.cycles} cold cycles on {os.cpu_count()} CPUs\n")
    print(f"{'up -> all healthy (s)':34}median {statistics.median(ups):6.2f}   max {max(ups):6.2f}   goal <= 20")
    print(f"{'down (s)':34}median {statistics.median(downs):6.2f}   max {max(downs):6.2f}")
    print(f"\nidle for {options.idle_seconds:.0f}s after {options.settle_seconds:.0f}s settling "
          "(Prometheus scraping every 2s)\n")
    print(f"{'component':22}{'CPU %':>10}{'RSS MiB':>12}{'PSS MiB':>12}")
    for name, (cpu, rss, pss) in sorted(idle.items(), key=lambda item: -item[1][2]):
        print(f"{name:22}{cpu:10.2f}{rss / 1024:12.1f}{pss / 1024:12.1f}")
    total_cpu = sum(f[0] for f in idle.values())
    print(f"{'total':22}{total_cpu:10.2f}{sum(f[1] for f in idle.values()) / 1024:12.1f}"
          f"{sum(f[2] for f in idle.values()) / 1024:12.1f}")


if __name__ == "__main__":
    main()
