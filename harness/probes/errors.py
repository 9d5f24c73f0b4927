"""Error probes: failed-turn ratio, LLM 429 rate, and time to recover after a fault."""

from __future__ import annotations

from typing import Any

from harness.faults.record import ledger_for
from harness.probes.prom import Inconclusive, in_warmup, not_judged, now, scalar, series, verdict
from harness.values import number

__all__ = ["error_rate", "llm_rate_limited", "recovery_time"]

SERVER_ERRORS = ('sum(rate(agent_runs_total{{outcome!="finished"}}[{w}s]))', "sum(rate(agent_runs_total[{w}s]))")


def _ratio(configuration: dict[str, Any] | None, failed: str, total: str) -> float:
    denominator = scalar(configuration, total)
    if denominator <= 0:
        raise Inconclusive(f"inconclusive: no traffic in `{total}`; is load running?")
    try:
        numerator = scalar(configuration, failed)
    except Inconclusive:
        numerator = 0.0  # no failed series at all is zero failures
    return numerator / denominator


def outage_in_window(configuration: dict[str, Any] | None, kinds: list[str], window_s: float) -> str | None:
    """The ledger kind of a fault (one of ``kinds``) active at some point in the last ``window_s`` seconds."""
    since = now() - window_s
    for entry in ledger_for(configuration).entries():
        if any(entry.kind.startswith(kind) for kind in kinds) and (entry.expires_at or entry.created_at) >= since:
            return entry.kind
    return None


def error_rate(max_ratio: float, window_s: int = 60, failed_query: str | None = None,
               total_query: str | None = None, warmup_s: float = 0, outage_faults: list[str] | None = None,
               configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Failed turns / all turns over ``window_s`` must stay ≤ ``max_ratio`` (server side unless queries given).

    Not judged during the run's first ``warmup_s`` seconds, nor while the window holds an outage the
    experiment caused on purpose (ledger kinds in ``outage_faults``, e.g. ``toxic:reset_peer``): those
    errors are expected, and the recovery probe judges what follows."""
    max_ratio = number("max_ratio", max_ratio)
    if in_warmup(configuration, warmup_s):
        return not_judged(f"warm-up ({warmup_s}s): error rate not judged yet")
    outage = outage_in_window(configuration, outage_faults or [], window_s)
    if outage is not None:
        return not_judged(f"the window holds an intended outage ({outage}); its recovery probe judges it")
    failed = failed_query or SERVER_ERRORS[0].format(w=int(window_s))
    total = total_query or SERVER_ERRORS[1].format(w=int(window_s))
    ratio = _ratio(configuration, failed, total)
    return verdict(ratio <= max_ratio, ratio, max_ratio, "ratio",
                   f"{ratio:.2%} of turns failed over {window_s}s (limit {max_ratio:.2%})")


def llm_rate_limited(max_per_s: float, window_s: int = 60, configuration: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
    """LLM 429 answers per second seen by the backend over ``window_s`` must stay ≤ ``max_per_s``."""
    max_per_s = number("max_per_s", max_per_s)
    value = scalar(configuration, f"sum(rate(agent_llm_rate_limited_total[{int(window_s)}s])) or vector(0)")
    return verdict(value <= max_per_s, value, max_per_s, "429/s",
                   f"{value:.2f} LLM 429s per second over {window_s}s (limit {max_per_s:g})")


def recovery_time(max_s: float, fault_kind: str, max_ratio: float = 0.05, window_s: int = 10, step_s: float = 1.0,
                  configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """After the last fault whose ledger kind starts with ``fault_kind`` ends, the failed-turn ratio (over
    ``window_s``) must be back ≤ ``max_ratio`` within ``max_s`` seconds.

    Before that fault and while it lasts there is nothing to judge; while the recovery clock runs and the
    ratio is still high, the probe passes as "recovering" until ``max_s`` has passed.
    """
    max_s, max_ratio = number("max_s", max_s), number("max_ratio", max_ratio)
    ended = [(e.expires_at or e.created_at) for e in ledger_for(configuration).entries()
             if e.kind.startswith(fault_kind)]
    if not ended:
        return not_judged(f"no {fault_kind} fault yet: nothing to recover from")
    fault_end = max(ended)
    elapsed = now() - fault_end
    if elapsed < 0:
        return not_judged(f"the {fault_kind} fault is still active: the recovery clock has not started")
    failed, total = (q.format(w=int(window_s)) for q in SERVER_ERRORS)
    totals = dict(series(configuration, total, fault_end, now(), step_s))
    failures = dict(series(configuration, failed, fault_end, now(), step_s))
    for stamp in sorted(totals):
        if totals[stamp] > 0 and failures.get(stamp, 0.0) / totals[stamp] <= max_ratio:
            seconds = max(0.0, stamp - fault_end)
            return verdict(seconds <= max_s, seconds, max_s, "s",
                           f"error ratio back under {max_ratio:.0%} {seconds:.0f}s after {fault_kind} ended "
                           f"(limit {max_s:g}s)")
    if elapsed < max_s:
        return verdict(True, elapsed, max_s, "s", f"recovering: {elapsed:.0f}s of {max_s:g}s since {fault_kind} "
                                                  "ended", judged=False)
    if not totals:
        raise Inconclusive(f"inconclusive: no traffic in the {elapsed:.0f}s after {fault_kind} ended; "
                           "is load running?")
    return verdict(False, elapsed, max_s, "s", f"not recovered {elapsed:.0f}s after {fault_kind} ended "
                                               f"(limit {max_s:g}s)")
