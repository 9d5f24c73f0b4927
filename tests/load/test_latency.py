"""The measured first-response time follows a real delay: +300 ms of LLM time to first token reads as +300 ms."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.load.conftest import LoadResult
from tests.support import StandIns

DELAY_MS = 300.0


def median(result: LoadResult, name: str) -> float:
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert summary["failures"] == 0, summary["errors_sample"]
    assert summary[name]["count"] >= 10, summary
    return summary[name]["p50"]


def test_llm_latency_fault_shows_in_first_response(run_load: Callable[..., LoadResult], stand_ins: StandIns) -> None:
    args = ("--scenario", "simple", "--users", "3", "--spawn-rate", "10", "--run-time", "6s")
    baseline = run_load(*args)
    response = httpx.post(f"{stand_ins.openai.url}/_control/faults",
                          json={"type": "latency", "attributes": {"ttft_ms": DELAY_MS}, "ttl_s": 60})
    assert response.status_code == 201, response.text
    faulted = run_load(*args)
    rise = median(faulted, "first_response_ms") - median(baseline, "first_response_ms")
    assert abs(rise - DELAY_MS) <= 0.05 * DELAY_MS, f"first response rose by {rise:.1f} ms, expected {DELAY_MS}"
    token_rise = median(faulted, "first_token_ms") - median(baseline, "first_token_ms")
    assert abs(token_rise - DELAY_MS) <= 0.05 * DELAY_MS
    # RUN_STARTED is sent before the LLM is called: the first event does not move.
    assert median(faulted, "first_event_ms") - median(baseline, "first_event_ms") < 30
