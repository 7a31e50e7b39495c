"""Choosing the rollup for a history query, and sizing TimescaleDB's chunks (plain code, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from telemetry.rollups import MAX_BUCKETS, ORIGIN, TelemetryQueryError, check, chunk_interval, plan, rollup_for

T = datetime(2026, 1, 5, 6, tzinfo=UTC)
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


def test_the_coarsest_rollup_that_tiles_the_width_is_chosen():
    assert rollup_for(timedelta(days=1)).name == "1h"
    assert rollup_for(2 * HOUR).name == "1h"
    assert rollup_for(90 * MINUTE).name == "1m"
    assert rollup_for(MINUTE).name == "1m"
    assert rollup_for(timedelta(seconds=90)) is None
    assert rollup_for(timedelta(seconds=10)) is None


def test_recent_readings_after_the_watermark_come_from_the_raw_table():
    p = plan(T, T + 6 * HOUR, HOUR, watermark=T + 4 * HOUR + 30 * MINUTE)
    assert (p.rollup.name, p.rollup_from, p.rollup_to) == ("1h", T, T + 4 * HOUR)
    assert p.raw == ((T + 4 * HOUR, T + 6 * HOUR),)


def test_ragged_edges_come_from_the_raw_table():
    start = T + timedelta(seconds=20)
    p = plan(start, T + 2 * HOUR + timedelta(seconds=5), 10 * MINUTE, watermark=T + 3 * HOUR)
    assert (p.rollup.name, p.rollup_from, p.rollup_to) == ("1m", T + MINUTE, T + 2 * HOUR)
    assert p.raw == ((start, T + MINUTE), (T + 2 * HOUR, T + 2 * HOUR + timedelta(seconds=5)))


def test_no_rollup_before_its_first_refresh_or_for_widths_it_cannot_tile():
    assert plan(T, T + HOUR, MINUTE, watermark=None).raw == ((T, T + HOUR),)
    assert plan(T, T + HOUR, timedelta(seconds=30), watermark=T + HOUR).rollup is None
    assert plan(T, T + HOUR, MINUTE, watermark=T - HOUR).raw == ((T, T + HOUR),)


@given(
    start_s=st.integers(0, 3 * 86400), length_s=st.integers(1, 3 * 86400), mark_s=st.integers(-86400, 7 * 86400),
    width=st.sampled_from([timedelta(seconds=s) for s in (1, 10, 60, 90, 300, 600, 3600, 7200, 86400)]),
)
def test_the_plan_covers_the_range_exactly_once(start_s, length_s, mark_s, width):
    start, end = T + timedelta(seconds=start_s), T + timedelta(seconds=start_s + length_s)
    assume(length_s / width.total_seconds() < MAX_BUCKETS - 1)
    p = plan(start, end, width, watermark=T + timedelta(seconds=mark_s))
    pieces = sorted([(p.rollup_from, p.rollup_to)] * (p.rollup is not None) + list(p.raw))
    assert pieces[0][0] == start and pieces[-1][1] == end
    assert all(a < b for a, b in pieces)
    assert all(b == c for (_, b), (c, _) in zip(pieces, pieces[1:], strict=False))
    if p.rollup is not None:  # whole rollup buckets, all complete
        assert (p.rollup_from - ORIGIN) % p.rollup.width == timedelta(0)
        assert (p.rollup_to - ORIGIN) % p.rollup.width == timedelta(0)
        assert p.rollup_to <= T + timedelta(seconds=mark_s)


@pytest.mark.parametrize(("start", "end", "width", "says"), [
    (T, T, MINUTE, "must be after start"),
    (T, T - HOUR, MINUTE, "must be after start"),
    (T.replace(tzinfo=None), T + HOUR, MINUTE, "time zone"),
    (T, T + HOUR, timedelta(0), "at least one second"),
    (T, T + HOUR, timedelta(milliseconds=1500), "whole number of seconds"),
    (T, T + timedelta(days=30), MINUTE, "43200 buckets"),
])
def test_queries_that_cannot_be_answered_say_why(start, end, width, says):
    with pytest.raises(TelemetryQueryError, match=says):
        check(start, end, width)


def test_chunks_are_sized_from_the_expected_ingest_rate():
    assert chunk_interval(5) == timedelta(days=7)
    assert chunk_interval(50) == timedelta(days=1)
    assert chunk_interval(300) == timedelta(hours=4)
    assert chunk_interval(5_000) == HOUR
    assert chunk_interval(1_000_000) == HOUR  # never below an hour: more, smaller chunks cost planning time
    assert chunk_interval(0.01) == timedelta(days=7)
    assert chunk_interval(100) > chunk_interval(300)
    with pytest.raises(ValueError):
        chunk_interval(0)
