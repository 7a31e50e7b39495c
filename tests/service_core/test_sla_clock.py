"""The SLA clocks in business time: weekends, holidays, pauses, a priority change, DST. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service_core.sla.clock import (
    BusinessCalendar,
    PauseRule,
    Step,
    Targets,
    add_business_minutes,
    business_minutes,
    clocks,
)

OFFICE = {d: (8 * 60, 17 * 60) for d in range(1, 6)}  # Mon-Fri 08:00-17:00
ALWAYS = {d: (0, 1440) for d in range(1, 8)}
AMS = ZoneInfo("Europe/Amsterdam")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def office(tz: str = "UTC", holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    return BusinessCalendar(timezone=tz, hours=OFFICE, holidays=holidays)


def _clock(metric: str, **kwargs):
    kwargs.setdefault("pause", PauseRule())
    kwargs.setdefault("warn_at_share", 0.8)
    kwargs.setdefault("steps", [])
    return next(c for c in clocks(**kwargs) if c.metric == metric)


def test_friday_afternoon_order_is_due_monday_morning() -> None:
    friday_4pm = utc(2025, 3, 7, 16, 0)
    assert add_business_minutes(office(), friday_4pm, 4 * 60) == utc(2025, 3, 10, 11, 0)
    # the weekend does not count
    assert business_minutes(office(), friday_4pm, utc(2025, 3, 10, 8, 0)) == 60


def test_a_holiday_in_between_moves_the_due_time_a_day() -> None:
    friday_4pm = utc(2025, 3, 7, 16, 0)
    calendar = office(holidays=frozenset({date(2025, 3, 10)}))
    assert add_business_minutes(calendar, friday_4pm, 4 * 60) == utc(2025, 3, 11, 11, 0)
    assert business_minutes(calendar, friday_4pm, utc(2025, 3, 11, 9, 0)) == 120


def test_the_target_reached_at_closing_time_is_due_then_not_the_next_morning() -> None:
    assert add_business_minutes(office(), utc(2025, 3, 7, 16, 0), 60) == utc(2025, 3, 7, 17, 0)


def test_waiting_for_the_customer_pauses_the_clock_and_resuming_continues_it() -> None:
    created = utc(2025, 3, 3, 8, 0)  # Monday
    steps = [
        Step(utc(2025, 3, 3, 9, 0), "on_hold", hold_reason="waiting_customer"),
        Step(utc(2025, 3, 3, 12, 0), "assigned"),
    ]
    paused = _clock("response", created_at=created, steps=steps[:1], calendar=office(),
                    targets=Targets(240, None, None), now=utc(2025, 3, 3, 11, 0))
    assert paused.state == "paused" and paused.paused
    assert paused.elapsed_minutes == 60
    assert paused.due_at == utc(2025, 3, 3, 14, 0)  # if it resumed now: 3 h left from 11:00

    resumed = _clock("response", created_at=created, steps=steps, calendar=office(),
                     targets=Targets(240, None, None), now=utc(2025, 3, 3, 13, 0))
    assert resumed.state == "running" and not resumed.paused
    assert resumed.elapsed_minutes == 120  # 1 h before the hold, 1 h since
    assert resumed.due_at == utc(2025, 3, 3, 15, 0)


def test_waiting_for_parts_does_not_pause_the_clock() -> None:
    created = utc(2025, 3, 3, 8, 0)
    steps = [Step(utc(2025, 3, 3, 9, 0), "on_hold", hold_reason="waiting_parts")]
    clock = _clock("response", created_at=created, steps=steps, calendar=office(),
                   targets=Targets(600, None, None), now=utc(2025, 3, 3, 11, 0))
    assert clock.state == "running" and clock.elapsed_minutes == 180


def test_a_priority_change_half_way_keeps_the_elapsed_time_and_changes_the_target() -> None:
    created, now = utc(2025, 3, 3, 8, 0), utc(2025, 3, 3, 10, 0)
    normal = _clock("response", created_at=created, calendar=office(), targets=Targets(480, None, None), now=now)
    urgent = _clock("response", created_at=created, calendar=office(), targets=Targets(60, None, None), now=now)
    assert normal.elapsed_minutes == urgent.elapsed_minutes == 120
    assert (normal.state, normal.share, normal.due_at) == ("running", 0.25, utc(2025, 3, 3, 16, 0))
    assert (urgent.state, urgent.share, urgent.due_at) == ("breached", 2.0, utc(2025, 3, 3, 9, 0))


def test_met_and_met_late_stop_the_clock() -> None:
    created = utc(2025, 3, 3, 8, 0)
    steps = [Step(utc(2025, 3, 3, 8, 30), "assigned"), Step(utc(2025, 3, 3, 9, 30), "accepted")]
    in_time = _clock("response", created_at=created, steps=steps, calendar=office(),
                     targets=Targets(120, None, None), now=utc(2025, 3, 5, 8, 0))
    assert (in_time.state, in_time.elapsed_minutes, in_time.met_at) == ("met", 90, utc(2025, 3, 3, 9, 30))
    late = _clock("response", created_at=created, steps=steps, calendar=office(),
                  targets=Targets(60, None, None), now=utc(2025, 3, 5, 8, 0))
    assert late.state == "met_late" and late.due_at == utc(2025, 3, 3, 9, 0)


def test_arrival_by_a_visit_check_in_and_a_cancelled_order() -> None:
    created = utc(2025, 3, 3, 8, 0)
    steps = [Step(utc(2025, 3, 3, 9, 0), "accepted"), Step(utc(2025, 3, 3, 10, 0), "en_route", kind="checked_in")]
    arrival = _clock("arrival", created_at=created, steps=steps, calendar=office(),
                     targets=Targets(60, 240, 600), now=utc(2025, 3, 3, 12, 0))
    assert arrival.state == "met" and arrival.met_at == utc(2025, 3, 3, 10, 0)
    cancelled = _clock("resolution", created_at=created, steps=[*steps, Step(utc(2025, 3, 3, 11, 0), "cancelled")],
                       calendar=office(), targets=Targets(60, 240, 600), now=utc(2025, 3, 4, 12, 0))
    assert cancelled.state == "cancelled" and cancelled.elapsed_minutes == 180


def test_business_hours_follow_the_calendars_zone_across_dst() -> None:
    # Friday 28 March 2025 16:00 in Amsterdam is 15:00 UTC (CET); Monday 31 March 11:00 is 09:00 UTC (CEST)
    friday_4pm = datetime(2025, 3, 28, 16, 0, tzinfo=AMS)
    due = add_business_minutes(office("Europe/Amsterdam"), friday_4pm, 4 * 60)
    assert due == datetime(2025, 3, 31, 11, 0, tzinfo=AMS) == utc(2025, 3, 31, 9, 0)


def test_around_the_clock_calendar_counts_the_short_dst_day_as_23_hours() -> None:
    calendar = BusinessCalendar(timezone="Europe/Amsterdam", hours=ALWAYS)
    saturday_noon = datetime(2025, 3, 29, 12, 0, tzinfo=AMS)
    sunday_noon = datetime(2025, 3, 30, 12, 0, tzinfo=AMS)
    assert business_minutes(calendar, saturday_noon, sunday_noon) == 23 * 60
    # 24 real hours later, which is 13:00 on the clocks of Amsterdam
    assert add_business_minutes(calendar, saturday_noon, 24 * 60) == datetime(2025, 3, 30, 13, 0, tzinfo=AMS)


def test_a_calendar_refuses_impossible_hours() -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(timezone="UTC", hours={1: (600, 540)})
    with pytest.raises(ValueError):
        BusinessCalendar(timezone="UTC", hours={8: (0, 60)})


@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(AMS)),
    minutes=st.integers(min_value=1, max_value=20_000),
)
def test_adding_business_minutes_then_measuring_them_gives_them_back(start: datetime, minutes: int) -> None:
    calendar = office("Europe/Amsterdam", holidays=frozenset({date(2025, 12, 25), date(2025, 12, 26)}))
    due = add_business_minutes(calendar, start, minutes)
    assert due is not None and due > start
    assert business_minutes(calendar, start, due) == pytest.approx(minutes)
