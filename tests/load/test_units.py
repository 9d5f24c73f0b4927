"""The pure parts: SSE parsing across reads, chunked decoding, histograms, failure kinds, config, export."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from harness.load.config import ConfigError, LoadConfig, load_config, parse_mix
from harness.load.export import Gauges, LoadCollector, registry_for
from harness.load.figures import Figures, Histogram, Window
from harness.load.sse import SseParser
from harness.load.turns import FAILURE_KINDS, TurnResult, TypeMatcher, normalise_kind, run_error_kind
from harness.load.wire import ProtocolError, _ChunkedDecoder


def test_sse_events_leave_the_parser_as_soon_as_complete_across_any_split() -> None:
    wire = (b": connected\n\ndata: {\"type\":\"RUN_STARTED\",\"runId\":\"r\"}\n\n"
            b"data: {\"type\":\"TEXT_MESSAGE_CONTENT\",\"delta\":\"a\\nb\"}\r\n\r\n"
            b"event: custom\ndata: {\"x\": 1}\ndata: {\"y\": 2}\n\n: heartbeat\n\n")
    for cut in range(1, len(wire)):
        parser = SseParser()
        events = parser.feed(wire[:cut], 1.0) + parser.feed(wire[cut:], 2.0)
        assert [(e.kind, e.type) for e in events] == [("comment", None), ("data", "RUN_STARTED"),
                                                      ("data", "TEXT_MESSAGE_CONTENT"), ("data", "custom"),
                                                      ("comment", None)]
        assert events[3].data == b'{"x": 1}\n{"y": 2}'
        complete_in_first = wire[:cut].count(b"\n\n") + wire[:cut].count(b"\r\n\r\n")
        assert all(e.at == 1.0 for e in events[:complete_in_first])


def test_chunked_decoding_across_any_split() -> None:
    body = b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n"
    for cut in range(len(body)):
        decoder = _ChunkedDecoder()
        out = decoder.feed(body[:cut]) + decoder.feed(body[cut:])
        assert out == b"hello world!"
        assert decoder.done
    with pytest.raises(ProtocolError):
        _ChunkedDecoder().feed(b"zz\r\n")


def test_histogram_quantiles_within_two_percent() -> None:
    rng = random.Random(7)
    values = sorted(rng.lognormvariate(4, 1) for _ in range(20_000))
    histogram = Histogram()
    for value in values:
        histogram.observe(value)
    for q in (0.5, 0.95, 0.99):
        exact = values[int(q * len(values)) - 1]
        assert abs(histogram.quantile(q) - exact) / exact < 0.02
    assert Histogram().quantile(0.5) is None


def test_figures_merge_from_wire_and_windows() -> None:
    worker_a, worker_b, master = Figures(), Figures(), Figures()
    worker_a.record_turn(TurnResult("simple", 1, 10, 20, 100, events=5, bytes=500))
    worker_b.record_turn(TurnResult("simple", 2, 20, 40, None, events=2, bytes=50, failure="run_error_llm_timeout"))
    worker_b.record_hold("idle", "stream_ended", 30)
    window = Window(window_s=60, slot_s=5)
    window.tick(master, now=0.0)
    for worker in (worker_a, worker_b):
        master.merge(worker.to_wire())
    simple = master.of("simple")
    assert (simple.turns, simple.turns_failed, simple.events, simple.bytes) == (2, 1, 7, 550)
    assert simple.histograms["turn_ms"].count == 1  # failed turns do not count in the turn time
    assert simple.histograms["first_response_ms"].count == 2
    assert master.of("idle").failures["stream_ended"] == 1
    seconds, recent = window.recent(master, now=10.0)
    assert seconds == 10.0
    assert recent.turns == 2
    assert recent.holds == 1


def test_failure_kinds_are_a_fixed_set() -> None:
    assert run_error_kind("llm_timeout") == "run_error_llm_timeout"
    assert run_error_kind("something new 12345") == "run_error_other"
    assert normalise_kind("ConnectionResetError(104, 'id 77')") == "other"
    matcher = TypeMatcher(["TEXT_MESSAGE_*", "TOOL_CALL_START"])
    assert matcher("TEXT_MESSAGE_START")
    assert matcher("TOOL_CALL_START")
    assert not matcher("TOOL_CALL_ARGS")
    for n in range(2000):  # the cache stays bounded with any number of distinct types
        matcher(f"X{n}")
    assert len(matcher._cache) <= 512


def test_export_has_bounded_cardinality_whatever_the_errors() -> None:
    figures = Figures()
    rng = random.Random(1)
    for n in range(5000):
        scenario = rng.choice(["simple", "tools", "chain", "a2a", "conversation"])
        figures.record_turn(TurnResult(scenario, 1, 2, 3, 4, failure=f"error {n} at {rng.random()}" if n % 2 else None))
    registry = registry_for(LoadCollector(lambda: figures, lambda: Gauges(7, 3, 2)), process_metrics=False)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    failures = families["harness_load_failures"].samples
    assert {s.labels["kind"] for s in failures} == {"other"}
    series = sum(len(f.samples) for f in families.values())
    assert series < 5 * (4 * 28 + 2 + 1 + 3 + len(FAILURE_KINDS)) + 3
    turns = {(s.labels["scenario"], s.labels["outcome"]): s.value for s in families["harness_load_turns"].samples
             if s.name == "harness_load_turns_total"}
    assert sum(turns.values()) == 5000
    buckets = [s for s in families["harness_load_first_response_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["scenario"] == "simple"]
    assert buckets[-1].labels["le"] == "+Inf"
    assert buckets[0].value == buckets[-1].value
    assert families["harness_load_sse_connections"].samples[0].value == 7


def test_config_parsing() -> None:
    assert parse_mix("simple:3,tools") == {"simple": 3.0, "tools": 1.0}
    with pytest.raises(ConfigError, match="unknown"):
        parse_mix("smple")
    with pytest.raises(ConfigError, match="unknown config keys"):
        LoadConfig.from_dict({"scenarios": {"simple": 1}, "tol": "x"})
    with pytest.raises(ConfigError, match="tool"):
        LoadConfig.from_dict({"tool": "hammer"})
    config = load_config('{"scenarios": "chain:2", "idle": {"short_s": 1}, "response_events": ["X_*"]}')
    assert config.scenarios == {"chain": 2.0}
    assert config.idle.short_s == 1
    assert config.response_events == ("X_*",)
    assert LoadConfig.from_dict(config.to_dict()) == config


def test_chaos_process_modules_do_not_import_locust_or_gevent() -> None:
    code = ("import sys, harness.load.runner, harness.load.actions, harness.load.probes, harness.cli_load, "
            "harness.cli\nbad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent'))\n"
            "assert not bad, bad\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr


TRIM_CHECK = """
from locust.stats import RequestStats
from harness.load.plugin import trim_locust_stats
stats = RequestStats()
for second in range(100_000, 110_000):  # ~3 hours of per-second counters
    entry = stats.get("simple", "turn")
    entry.num_reqs_per_sec[second] += 1
    entry.num_fail_per_sec[second] += 1
    stats.total.num_reqs_per_sec[second] += 1
stats.history.extend({"time": n} for n in range(5000))
trim_locust_stats(stats, history_keep=720, now=110_000)
print(len(stats.get("simple", "turn").num_reqs_per_sec), len(stats.get("simple", "turn").num_fail_per_sec),
      len(stats.total.num_reqs_per_sec), len(stats.history), stats.history[-1]["time"])
"""


def test_locust_stats_are_trimmed_to_a_fixed_size() -> None:
    # In a subprocess: importing Locust monkey-patches the interpreter with gevent.
    completed = subprocess.run([sys.executable, "-c", TRIM_CHECK], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["30", "30", "30", "720", "4999"]
