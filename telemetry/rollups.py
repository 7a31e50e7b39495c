"""Which stored rollup answers a bucketed query, and over which ranges the raw readings must fill in.

Plain code, no I/O: ``plan`` is given the rollup's watermark (up to where it is complete) by the store.

>>> from datetime import datetime, timedelta, UTC
>>> t = datetime(2026, 1, 5, 6, tzinfo=UTC)
>>> p = plan(t, t + timedelta(hours=6), timedelta(minutes=15), watermark=t + timedelta(hours=5, minutes=30))
>>> p.rollup.name, p.rollup_from - t, p.rollup_to - t
('1m', datetime.timedelta(0), datetime.timedelta(seconds=19800))
>>> [(a - t, b - t) for a, b in p.raw]
[(datetime.timedelta(seconds=19800), datetime.timedelta(seconds=21600))]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Buckets are counted from a Monday at midnight UTC, as TimescaleDB's time_bucket does: days start at
# midnight, weeks on Monday. Both back-ends bin with this origin.
ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
MAX_BUCKETS = 20_000


class TelemetryQueryError(ValueError):
    """A history query that cannot be answered as asked (the message says why)."""


@dataclass(frozen=True, slots=True)
class Rollup:
    name: str  # as in telemetry.readings_{name}
    width: timedelta


ROLLUPS = (Rollup("1h", timedelta(hours=1)), Rollup("1m", timedelta(minutes=1)))  # coarsest first


@dataclass(frozen=True, slots=True)
class Plan:
    """Buckets over [start, end): the rollup over [rollup_from, rollup_to), raw readings over ``raw``."""

    start: datetime
    end: datetime
    width: timedelta
    rollup: Rollup | None
    rollup_from: datetime
    rollup_to: datetime
    raw: tuple[tuple[datetime, datetime], ...]


def floor(ts: datetime, width: timedelta) -> datetime:
    return ORIGIN + (ts - ORIGIN) // width * width


def ceil(ts: datetime, width: timedelta) -> datetime:
    down = floor(ts, width)
    return down if down == ts else down + width


def rollup_for(width: timedelta) -> Rollup | None:
    """The coarsest rollup whose buckets tile ``width`` exactly (min / max / sum / count combine exactly)."""
    return next((r for r in ROLLUPS if width % r.width == timedelta(0)), None)


def check(start: datetime, end: datetime, width: timedelta) -> None:
    """Raise :class:`TelemetryQueryError` for a range or bucket width no answer can be given for."""
    if start.tzinfo is None or end.tzinfo is None:
        raise TelemetryQueryError("start and end must carry a time zone (e.g. 2026-01-05T06:00:00Z)")
    if end <= start:
        raise TelemetryQueryError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    if width < timedelta(seconds=1):
        raise TelemetryQueryError("the bucket width must be at least one second")
    if width % timedelta(seconds=1):
        raise TelemetryQueryError("the bucket width must be a whole number of seconds")
    buckets = (ceil(end, width) - floor(start, width)) // width
    if buckets > MAX_BUCKETS:
        raise TelemetryQueryError(
            f"{buckets} buckets of {width} over that range; at most {MAX_BUCKETS}: widen the bucket or narrow the range"
        )


def plan(start: datetime, end: datetime, width: timedelta, *, watermark: datetime | None) -> Plan:
    """Rollup where it is complete and covers whole rollup buckets inside [start, end); raw readings elsewhere."""
    check(start, end, width)
    rollup = rollup_for(width)
    if rollup is None or watermark is None:
        return Plan(start, end, width, None, end, end, ((start, end),))
    lo = ceil(start, rollup.width)
    hi = floor(min(end, watermark), rollup.width)
    if hi <= lo:
        return Plan(start, end, width, None, end, end, ((start, end),))
    raw = tuple((a, b) for a, b in ((start, lo), (hi, end)) if b > a)
    return Plan(start, end, width, rollup, lo, hi, raw)


def chunk_interval(readings_per_s: float, *, bytes_per_reading: float = 180.0, chunk_bytes: float = 1 << 30
                   ) -> timedelta:
    """The TimescaleDB chunk interval for an expected ingest rate.

    A chunk of the newest readings, with its indexes, should fit in memory while it is written (TimescaleDB's
    advice: a quarter of it); ``chunk_bytes`` is that budget and ``bytes_per_reading`` what one uncompressed
    reading takes with its indexes (about 178 measured: BENCHMARKS.md). The result is the longest of a few round
    intervals that stays within budget, from one hour to a week.

    >>> chunk_interval(300), chunk_interval(1_000), chunk_interval(50)
    (datetime.timedelta(seconds=14400), datetime.timedelta(seconds=3600), datetime.timedelta(days=1))
    """
    if readings_per_s <= 0:
        raise ValueError("the expected ingest rate must be positive")
    budget_s = chunk_bytes / (readings_per_s * bytes_per_reading)
    steps = [timedelta(hours=h) for h in (1, 2, 4, 6, 8, 12, 24, 48, 168)]
    fitting = [s for s in steps if s.total_seconds() <= budget_s]
    return fitting[-1] if fitting else steps[0]
