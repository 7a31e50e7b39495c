"""What a maintenance plan has due on an asset: pure decisions from the trigger, the plan's history there and
the time. No I/O; the scheduler (``flows.run``) reads the history, asks, and writes what it is told.

An occurrence is either generated (an order is opened for it) or missed, with the reason. Its key is unique per
plan and asset in the database, so deciding the same thing twice, or in two schedulers at once, opens one order.

>>> cal = Calendar(interval=timedelta(days=30), start_at=datetime(2026, 1, 1, tzinfo=UTC),
...                lead=timedelta(days=7), window=timedelta(days=7))
>>> [(d.key, d.missed) for d in fixed_due(cal, since=cal.start_at, now=datetime(2026, 3, 1, tzinfo=UTC),
...                                       known=frozenset(), previous_open=False)]
[('2026-01-01T00:00:00Z', 'window_passed'), ('2026-01-31T00:00:00Z', 'window_passed'), ('2026-03-02T00:00:00Z', None)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

WINDOW_PASSED = "window_passed"
PREVIOUS_ORDER_OPEN = "previous_order_open"
ORDER_ALREADY_OPEN = "order_already_open"

FINISHED = frozenset({"completed", "closed", "cancelled"})
DONE = frozenset({"completed", "closed"})

# A device silent for longer than this is not assumed to have kept running (or stopped) in between.
MAX_GAP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Due:
    """An occurrence to act on: open its order (``missed`` None) or log it as missed for that reason."""

    key: str
    due_at: datetime
    window_start: datetime
    window_end: datetime
    missed: str | None = None
    meter_value: float | None = None


@dataclass(frozen=True, slots=True)
class Calendar:
    """A calendar trigger: occurrences ``interval`` apart; an order is opened ``lead`` before its occurrence and
    the visit's window runs ``window`` from it."""

    interval: timedelta
    start_at: datetime
    lead: timedelta
    window: timedelta

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0) or self.window <= timedelta(0) or self.lead < timedelta(0):
            raise ValueError("a calendar needs a positive interval and window and a lead of zero or more")
        if self.start_at.tzinfo is None:
            raise ValueError("start_at needs a time zone")

    def due(self, at: datetime, *, missed: str | None = None) -> Due:
        return Due(key=key_of(at), due_at=at, window_start=at, window_end=at + self.window, missed=missed)


@dataclass(frozen=True, slots=True)
class Previous:
    """The plan's latest occurrence on the asset, and how its order stands."""

    key: str
    due_at: datetime
    missed: bool
    order_status: str | None = None
    completed_at: datetime | None = None
    meter_value: float | None = None

    @property
    def open(self) -> bool:
        """Its order is still being worked on."""
        return not self.missed and self.order_status is not None and self.order_status not in FINISHED


def key_of(at: datetime) -> str:
    """The occurrence key of a calendar occurrence: its instant in UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fixed_due(
    calendar: Calendar, *, since: datetime, now: datetime, known: frozenset[str], previous_open: bool
) -> list[Due]:
    """Occurrences at start_at + k * interval not yet acted on (``known`` keys are), oldest first.

    Only occurrences whose window was still open at ``since`` (when the plan began to cover the asset) count.
    One whose window has passed is missed; one within ``lead`` of now is generated, unless the previous order
    is still open: then it waits until its own time and is missed if that order is open still.
    """
    interval, window = calendar.interval, calendar.window
    behind = since - window - calendar.start_at
    k = math.floor(behind / interval) + 1 if behind >= timedelta(0) else 0
    decisions: list[Due] = []
    while (at := calendar.start_at + k * interval) - calendar.lead <= now:
        k += 1
        if key_of(at) in known:
            continue
        if at + window < now:
            decisions.append(calendar.due(at, missed=WINDOW_PASSED))
        elif not previous_open:
            decisions.append(calendar.due(at))
            previous_open = True
        elif now >= at:
            decisions.append(calendar.due(at, missed=PREVIOUS_ORDER_OPEN))
    return decisions


def floating_due(calendar: Calendar, *, since: datetime, now: datetime, previous: Previous | None) -> list[Due]:
    """The next occurrence ``interval`` after the previous order was completed (the first at start_at).

    Nothing is due while the previous order is open. An occurrence missed (or whose order was cancelled) is
    followed by one ``interval`` after it, so a scheduler that was down logs what it missed and carries on.
    """
    if previous is None:
        at = calendar.start_at
        while at + calendar.window <= since:
            at += calendar.interval
    elif previous.open:
        return []
    elif previous.order_status in DONE and previous.completed_at is not None:
        at = previous.completed_at + calendar.interval
    else:
        at = previous.due_at + calendar.interval
    decisions: list[Due] = []
    while at + calendar.window < now:
        decisions.append(calendar.due(at, missed=WINDOW_PASSED))
        at += calendar.interval
    if at - calendar.lead <= now:
        decisions.append(calendar.due(at))
    return decisions


@dataclass(frozen=True, slots=True)
class MeterState:
    """A meter's value counted up to ``computed_until`` (the last reading counted) and the state there."""

    value: float = 0.0
    running: bool | None = None
    computed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Meter:
    """Run hours (time with ``metric`` above ``running_above``) or cycles (stopped -> running) of an asset.

    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rpm = [(t + timedelta(minutes=m), v) for m, v in [(0, 0), (1, 1500), (2, 1500), (3, 0), (4, 1480)]]
    >>> Meter("cycles", "speed_rpm", 5.0).advance(MeterState(), rpm).value
    2.0
    >>> round(Meter("run_hours", "speed_rpm", 5.0).advance(MeterState(), rpm).value * 60, 6)
    2.0
    """

    kind: str
    metric: str
    running_above: float
    max_gap: timedelta = MAX_GAP

    def __post_init__(self) -> None:
        if self.kind not in ("run_hours", "cycles"):
            raise ValueError(f"unknown meter kind {self.kind!r}: run_hours or cycles")

    def advance(self, state: MeterState, readings: Iterable[tuple[datetime, float]]) -> MeterState:
        """The state after the readings (oldest first); readings at or before ``computed_until`` are counted."""
        value, running, until = state.value, state.running, state.computed_until
        for ts, reading in readings:
            if until is not None and ts <= until:
                continue
            now_running = reading > self.running_above
            if self.kind == "run_hours" and running and until is not None:
                value += min(ts - until, self.max_gap) / timedelta(hours=1)
            elif self.kind == "cycles" and running is False and now_running:
                value += 1
            running, until = now_running, ts
        return replace(state, value=value, running=running, computed_until=until)


def meter_key(ordinal: int) -> str:
    return f"meter:{ordinal}"


def meter_due(
    *, value: float, interval: float, previous: Previous | None, count: int, now: datetime, window: timedelta
) -> list[Due]:
    """An occurrence every ``interval`` of the meter since the previous occurrence (from zero for the first).

    ``count`` is how many occurrences the plan has on the asset (the next key is ``meter:{count + 1}``).
    Intervals passed over since the previous occurrence without an order are missed; the last one crossed is
    generated, or missed while the previous order is still open.
    """
    baseline = previous.meter_value if previous is not None and previous.meter_value is not None else 0.0
    crossed = math.floor((value - baseline) / interval + 1e-9)
    if crossed < 1:
        return []
    skipped = crossed - 1 if previous is not None else 0
    decisions = [
        Due(key=meter_key(count + i), due_at=now, window_start=now, window_end=now, missed=WINDOW_PASSED,
            meter_value=baseline + i * interval)
        for i in range(1, skipped + 1)
    ]
    open_before = previous is not None and previous.open
    decisions.append(
        Due(key=meter_key(count + skipped + 1), due_at=now, window_start=now, window_end=now + window,
            missed=PREVIOUS_ORDER_OPEN if open_before else None, meter_value=value)
    )
    return decisions
