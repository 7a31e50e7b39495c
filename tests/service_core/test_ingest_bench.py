"""The ingest benchmark's arithmetic: commit latencies from polls of last_seq, the sustained rate, the report."""

from __future__ import annotations

import math

import pytest

from service_core.runtime import ingest_bench
from service_core.runtime.ingest_bench import (
    IngestConfig,
    IngestFigures,
    Usage,
    commit_latencies,
    percentile,
    report,
    sustained_rate,
)


def test_a_message_is_committed_at_the_first_poll_that_shows_its_seq():
    polls = [(100.05, {}), (100.12, {"a": 0}), (100.25, {"a": 2, "b": 0}), (100.40, {"a": 3, "b": 3})]
    # ten a second from 100.0: a's messages at 100.0, 100.1, 100.2, 100.3; b's likewise
    got = commit_latencies(polls, {"a": 4, "b": 4}, rate_hz=10, start=100.0, batch=1)
    assert [round(x, 2) for x in got] == [0.12, 0.15, 0.05, 0.1, 0.25, 0.3, 0.2, 0.1]


def test_a_batched_message_counts_from_its_last_sample():
    polls = [(100.5, {"a": 4}), (101.0, {"a": 9})]
    got = commit_latencies(polls, {"a": 2}, rate_hz=10, start=100.0, batch=5)  # samples 0-4 and 5-9
    assert [round(x, 2) for x in got] == [0.1, 0.1]


def test_a_message_never_committed_has_no_latency():
    assert commit_latencies([(1.0, {"a": 0})], {"a": 3}, rate_hz=1, start=0.0, batch=1) == [1.0]


def test_sustained_rate_is_the_slope_inside_the_window():
    polls = [(0.0, {"a": -1}), (1.0, {"a": 99, "b": 99}), (3.0, {"a": 299, "b": 299}), (9.0, {"a": 999, "b": 999})]
    assert sustained_rate(polls, since=0.5, until=3.5, batch=1) == 200.0
    assert sustained_rate(polls, since=0.5, until=3.5, batch=5) == 40.0
    assert math.isnan(sustained_rate(polls, since=4, until=5, batch=1))


def test_percentiles_by_nearest_rank():
    values = sorted(float(v) for v in range(1, 101))
    assert [percentile(values, q) for q in (0.5, 0.95, 0.99, 1.0)] == [50.0, 95.0, 99.0, 100.0]
    assert math.isnan(percentile([], 0.5))


def test_the_report_shows_targets_figures_and_the_ceiling_ratio():
    figures = IngestFigures(
        config=IngestConfig(devices=500, rate_hz=10, duration_s=60, warm_up_s=10), broker="Mosquitto",
        published=300_000, acknowledged=300_000, committed_per_s=4_000.0, latency_ms=(80.0, 150.0, 240.0, 400.0),
        lost=0, duplicated=0, publisher_lag_ms=3.0, window_s=50.0,
        usage={"gateway": Usage(cpu_s=45.0, peak_rss=200 * 2**20)}, ceiling_per_s=5_000.0, drained_s=0.4,
    )
    text = report(figures)
    assert "offered: 5,000 messages/s (25,000 data points/s)" in text
    assert "committed: 4,000 messages/s (20,000 data points/s) sustained over 50 s" in text
    assert "p99 240 ms" in text and "lost 0, duplicated 0" in text and "gateway / ceiling 0.80" in text
    assert "gateway           45.0        0.90           200" in text


@pytest.mark.asyncio
async def test_a_small_run_with_every_component_loses_nothing(pg_server_url: str):
    config = IngestConfig(devices=4, rate_hz=5, duration_s=4, warm_up_s=1, publishers=1)
    figures = await ingest_bench.run(pg_server_url, config, progress=lambda line: None)
    assert figures.published == figures.acknowledged == 4 * 20
    assert figures.lost == 0 and figures.duplicated == 0
    assert figures.committed_per_s > 0 and 0 < figures.latency_ms[0] <= figures.latency_ms[2] < 10_000
    assert figures.ceiling_per_s > 0
    assert set(figures.usage) == {"gateway", "publishers", "broker", "postgresql"}
    assert figures.usage["gateway"].cpu_s > 0 and figures.usage["gateway"].peak_rss > 0
