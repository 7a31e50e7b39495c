"""The pure schedule: fixed and floating calendars, meters and their thresholds, missed occurrences; dates by hand."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

from service_core.plans import schedule
from service_core.plans.schedule import Calendar, Meter, MeterState, Previous, fixed_due, floating_due, meter_due


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# every 30 days from 1 January 2026 08:00: 1 Jan, 31 Jan, 2 Mar, 1 Apr, 1 May...; opened 7 days before, window 5 days
MONTHLY = Calendar(interval=timedelta(days=30), start_at=at("2026-01-01", 8), lead=timedelta(days=7),
                   window=timedelta(days=5))


def test_the_doctests_hold() -> None:
    assert doctest.testmod(schedule).failed == 0


def test_fixed_nothing_before_the_lead() -> None:
    assert fixed_due(MONTHLY, since=at("2025-12-01"), now=at("2025-12-25", 7), known=frozenset(),
                     previous_open=False) == []


def test_fixed_first_occurrence_opens_lead_days_before_with_its_window() -> None:
    (due,) = fixed_due(MONTHLY, since=at("2025-12-01"), now=at("2025-12-25", 8), known=frozenset(),
                       previous_open=False)
    assert due == schedule.Due(key="2026-01-01T08:00:00Z", due_at=at("2026-01-01", 8),
                               window_start=at("2026-01-01", 8), window_end=at("2026-01-06", 8))


def test_fixed_known_occurrences_are_not_due_again() -> None:
    assert fixed_due(MONTHLY, since=at("2025-12-01"), now=at("2026-01-03"), known=frozenset({"2026-01-01T08:00:00Z"}),
                     previous_open=False) == []


def test_fixed_occurrences_whose_window_passed_unseen_are_missed() -> None:
    # the scheduler was down from 20 December to 28 February: 1 Jan (window to 6 Jan) and 31 Jan (to 5 Feb) missed,
    # 2 Mar is within its lead (from 23 Feb) and is generated
    decisions = fixed_due(MONTHLY, since=at("2025-12-01"), now=at("2026-02-28"), known=frozenset(),
                          previous_open=False)
    assert [(d.key, d.missed) for d in decisions] == [
        ("2026-01-01T08:00:00Z", "window_passed"),
        ("2026-01-31T08:00:00Z", "window_passed"),
        ("2026-03-02T08:00:00Z", None),
    ]


def test_fixed_counts_only_from_when_the_plan_covered_the_asset() -> None:
    # created on 3 February: 1 Jan is not the plan's; 31 Jan's window (to 5 Feb) was still open then
    decisions = fixed_due(MONTHLY, since=at("2026-02-03"), now=at("2026-02-10"), known=frozenset(),
                          previous_open=False)
    assert [(d.key, d.missed) for d in decisions] == [("2026-01-31T08:00:00Z", "window_passed")]


def test_fixed_waits_for_the_previous_order_until_due_then_misses() -> None:
    kwargs = {"since": at("2025-12-01"), "known": frozenset({"2026-01-01T08:00:00Z"}), "previous_open": True}
    assert fixed_due(MONTHLY, now=at("2026-01-30"), **kwargs) == []  # within the lead, before 31 Jan 08:00
    (due,) = fixed_due(MONTHLY, now=at("2026-01-31", 8), **kwargs)
    assert (due.key, due.missed) == ("2026-01-31T08:00:00Z", "previous_order_open")


def test_fixed_a_long_lead_opens_one_order_and_misses_the_next_while_it_is_open() -> None:
    weekly = Calendar(interval=timedelta(days=7), start_at=at("2026-01-05"), lead=timedelta(days=10),
                      window=timedelta(days=3))
    decisions = fixed_due(weekly, since=at("2025-12-01"), now=at("2026-01-12"), known=frozenset(),
                          previous_open=False)
    # 5 Jan: window to 8 Jan passed; 12 Jan generated; 19 Jan in its lead but not yet due while 12 Jan is open
    assert [(d.key, d.missed) for d in decisions] == [
        ("2026-01-05T00:00:00Z", "window_passed"),
        ("2026-01-12T00:00:00Z", None),
    ]


def test_floating_first_at_start_then_interval_after_completion() -> None:
    cal = Calendar(interval=timedelta(days=90), start_at=at("2026-01-10"), lead=timedelta(days=3),
                   window=timedelta(days=7))
    (first,) = floating_due(cal, since=at("2026-01-01"), now=at("2026-01-07"), previous=None)
    assert (first.key, first.window_end) == ("2026-01-10T00:00:00Z", at("2026-01-17"))

    open_order = Previous(key=first.key, due_at=first.due_at, missed=False, order_status="assigned")
    assert floating_due(cal, since=at("2026-01-01"), now=at("2026-06-01"), previous=open_order) == []

    # completed on 20 Jan 14:00 (late): the next is 90 days later, 20 April 14:00, opened from 17 April 14:00
    done = Previous(key=first.key, due_at=first.due_at, missed=False, order_status="closed",
                    completed_at=at("2026-01-20", 14))
    assert floating_due(cal, since=at("2026-01-01"), now=at("2026-04-17", 13), previous=done) == []
    (second,) = floating_due(cal, since=at("2026-01-01"), now=at("2026-04-17", 14), previous=done)
    assert (second.key, second.missed) == ("2026-04-20T14:00:00Z", None)


def test_floating_after_a_cancelled_or_missed_one_follows_its_due_date_and_logs_the_gap() -> None:
    cal = Calendar(interval=timedelta(days=30), start_at=at("2026-01-01"), lead=timedelta(days=0),
                   window=timedelta(days=5))
    cancelled = Previous(key="2026-01-01T00:00:00Z", due_at=at("2026-01-01"), missed=False, order_status="cancelled")
    # down until 4 March: 31 Jan missed (window to 5 Feb), 2 Mar generated (window to 7 Mar)
    decisions = floating_due(cal, since=at("2025-12-01"), now=at("2026-03-04"), previous=cancelled)
    assert [(d.key, d.missed) for d in decisions] == [
        ("2026-01-31T00:00:00Z", "window_passed"), ("2026-03-02T00:00:00Z", None),
    ]


def _readings(start: datetime, values: list[float], step: timedelta = timedelta(minutes=1)):
    return [(start + i * step, v) for i, v in enumerate(values)]


def test_run_hours_count_time_running_and_cap_silences() -> None:
    meter = Meter("run_hours", "speed_rpm", 5.0)
    t = at("2026-01-01")
    # running from minute 0 to 30 (30 min), then stopped, then one running reading, silent 2 h, another
    readings = _readings(t, [1500.0] * 30 + [0.0]) + [(t + timedelta(hours=1), 1500.0), (t + timedelta(hours=3), 1.0)]
    state = meter.advance(MeterState(), readings)
    # 30 min + at most MAX_GAP (15 min) for the silent stretch
    assert state.value == pytest.approx(0.75)
    assert state.running is False and state.computed_until == t + timedelta(hours=3)


def test_meter_counts_incrementally_and_skips_what_it_counted() -> None:
    meter = Meter("cycles", "speed_rpm", 5.0)
    t = at("2026-01-01")
    first = _readings(t, [0, 10, 0, 10])
    once = meter.advance(MeterState(), first)
    assert once.value == 2
    # the same readings again and two new ones (running -> stopped -> running): one more cycle
    twice = meter.advance(once, first + _readings(t + timedelta(minutes=4), [0, 10]))
    assert twice.value == 3 and twice.computed_until == t + timedelta(minutes=5)
    in_two = meter.advance(meter.advance(MeterState(), first[:2]), first[2:])
    assert in_two == once


def test_meter_thresholds_since_the_last_occurrence() -> None:
    now, window = at("2026-02-01"), timedelta(days=3)
    assert meter_due(value=499.9, interval=500, previous=None, count=0, now=now, window=window) == []
    (first,) = meter_due(value=512.0, interval=500, previous=None, count=0, now=now, window=window)
    assert (first.key, first.missed, first.meter_value, first.window_end) == ("meter:1", None, 512.0, at("2026-02-04"))
    done = Previous(key="meter:1", due_at=now, missed=False, order_status="closed", meter_value=512.0)
    assert meter_due(value=1011.0, interval=500, previous=done, count=1, now=now, window=window) == []
    (second,) = meter_due(value=1012.0, interval=500, previous=done, count=1, now=now, window=window)
    assert (second.key, second.missed) == ("meter:2", None)


def test_meter_intervals_passed_over_are_missed_and_an_open_order_blocks() -> None:
    now, window = at("2026-02-01"), timedelta(days=3)
    done = Previous(key="meter:1", due_at=now, missed=False, order_status="closed", meter_value=100.0)
    decisions = meter_due(value=1350.0, interval=400, previous=done, count=1, now=now, window=window)
    assert [(d.key, d.missed, d.meter_value) for d in decisions] == [
        ("meter:2", "window_passed", 500.0), ("meter:3", "window_passed", 900.0), ("meter:4", None, 1350.0),
    ]
    still_open = Previous(key="meter:1", due_at=now, missed=False, order_status="in_progress", meter_value=100.0)
    (blocked,) = meter_due(value=520.0, interval=400, previous=still_open, count=1, now=now, window=window)
    assert (blocked.key, blocked.missed) == ("meter:2", "previous_order_open")


def test_bad_calendars_and_meters_are_refused() -> None:
    with pytest.raises(ValueError, match="positive interval"):
        Calendar(interval=timedelta(0), start_at=at("2026-01-01"), lead=timedelta(0), window=timedelta(days=1))
    with pytest.raises(ValueError, match="time zone"):
        Calendar(interval=timedelta(days=1), start_at=datetime(2026, 1, 1), lead=timedelta(0), window=timedelta(days=1))
    with pytest.raises(ValueError, match="unknown meter kind"):
        Meter("kilometres", "odometer", 0.0)
