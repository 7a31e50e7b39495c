"""Business-time arithmetic and the three SLA clocks of a work order: pure, no I/O.

Definitions (the KPIs use the same):

- **response** is met by the order's first move to ``accepted`` (the engineer or the desk
  acknowledges it), or to any later stage when the order skipped it (held, then resumed in progress);
- **arrival** is met by the first move to ``on_site`` (or later), or by a visit's ``checked_in`` event;
- **resolution** is met by the first move to ``completed``.

A clock runs from the order's ``created_at`` and counts only business time of the policy's calendar
(its working hours on days that are not holidays, in the calendar's own time zone, so a DST change is
an hour more or less of wall-clock time, never of business time), minus the time the order spent in a
pausing status (by default on_hold while waiting for the customer). A met clock stops where it was
met; a cancelled order stops its unmet clocks. The target is the one of the order's current policy
(current priority), so a priority change re-targets a clock without resetting what has elapsed.

States: ``met`` / ``met_late`` once met (within or over the target); else ``breached`` at or over the
target, ``warning`` at or over the policy's ``warn_at_share`` of it, ``paused`` while the order is in a
pausing status, else ``running``; ``cancelled`` when the order was cancelled first.
``due_at`` is the wall-clock time at which the target is (or was) reached if the clock keeps running
from now on, without further pauses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

METRICS = ("response", "arrival", "resolution")
MINUTES_PER_DAY = 1440
# stages from which an order has been responded to / has arrived / is resolved
RESPONDED = frozenset({"accepted", "en_route", "on_site", "in_progress", "completed", "closed"})
ARRIVED = frozenset({"on_site", "in_progress", "completed", "closed"})
RESOLVED = frozenset({"completed", "closed"})
ARRIVAL_EVENT = "checked_in"
CANCELLED = "cancelled"
# how far a due time is searched for; a calendar that has no working time in ten years has none
_HORIZON_DAYS = 3660

Period = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working hours per ISO weekday (minutes after local midnight, closing at most 1440) and holidays."""

    timezone: str
    hours: Mapping[int, tuple[int, int]]
    holidays: frozenset[date] = frozenset()
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))
        for weekday, (opens, closes) in self.hours.items():
            if not 1 <= weekday <= 7 or not 0 <= opens < closes <= MINUTES_PER_DAY:
                raise ValueError(f"bad working hours {opens}-{closes} on weekday {weekday}")

    def periods_from(self, start: datetime) -> Iterator[Period]:
        """Working periods (UTC) from ``start`` on, in order; ends after the search horizon."""
        day = start.astimezone(self.zone).date()
        for _ in range(_HORIZON_DAYS):
            window = self.hours.get(day.isoweekday())
            if window is not None and day not in self.holidays:
                opens, closes = (self._at(day, m) for m in window)
                if closes > start:
                    yield max(opens, start), closes
            day += timedelta(days=1)

    def periods(self, start: datetime, end: datetime) -> Iterator[Period]:
        """Working periods (UTC) inside [start, end)."""
        for s, e in self.periods_from(start):
            if s >= end:
                return
            yield s, min(e, end)

    def _at(self, day: date, minutes: int) -> datetime:
        # wall-clock arithmetic in the zone, then UTC: 08:00 is 08:00 local on both sides of a DST change
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return (midnight + timedelta(minutes=minutes)).astimezone(UTC)


def business_minutes(
    calendar: BusinessCalendar, start: datetime, end: datetime, pauses: Sequence[Period] = ()
) -> float:
    """Business minutes between ``start`` and ``end``, not counting the paused periods."""
    return sum((e - s).total_seconds() for s, e in _minus(calendar.periods(start, end), pauses)) / 60


def add_business_minutes(
    calendar: BusinessCalendar, start: datetime, minutes: float, pauses: Sequence[Period] = ()
) -> datetime | None:
    """The wall-clock time (UTC) at which ``minutes`` of business time past ``start`` are used up, skipping the
    paused periods; None when the calendar has no working time left within the search horizon."""
    remaining = timedelta(minutes=minutes)
    if remaining <= timedelta(0):
        return start.astimezone(UTC)
    for s, e in _minus(calendar.periods_from(start), pauses):
        if e - s >= remaining:
            return s + remaining
        remaining -= e - s
    return None


def _minus(periods: Iterable[Period], pauses: Sequence[Period]) -> Iterator[Period]:
    """The parts of ``periods`` outside every pause (pauses sorted and not overlapping)."""
    for s, e in periods:
        for ps, pe in pauses:
            if pe <= s or ps >= e:
                continue
            if ps > s:
                yield s, ps
            s = max(s, pe)
            if s >= e:
                break
        if s < e:
            yield s, e


@dataclass(frozen=True, slots=True)
class Step:
    """One entry of an order's history as the clocks see it: the status it left the order in."""

    at: datetime
    status: str
    kind: str = "transition"
    hold_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Targets:
    """Business minutes allowed per metric; None where the policy does not track the metric."""

    response: int | None
    arrival: int | None
    resolution: int | None


@dataclass(frozen=True, slots=True)
class PauseRule:
    """The clock stops in any of ``statuses``, and in on_hold when the hold reason is one of ``hold_reasons``."""

    statuses: frozenset[str] = frozenset()
    hold_reasons: frozenset[str] = frozenset({"waiting_customer"})

    def pauses(self, status: str, hold_reason: str | None) -> bool:
        return status in self.statuses or (status == "on_hold" and hold_reason in self.hold_reasons)


@dataclass(frozen=True, slots=True)
class Clock:
    metric: str
    target_minutes: int
    elapsed_minutes: float
    share: float
    due_at: datetime | None
    state: str  # running | paused | warning | breached | met | met_late | cancelled
    met_at: datetime | None
    paused: bool

    @property
    def at_risk(self) -> bool:
        return self.state in ("warning", "breached")


def pauses_of(created_at: datetime, steps: Sequence[Step], rule: PauseRule, *, until: datetime) -> list[Period]:
    """The periods the order spent in a pausing status, up to ``until`` (an ongoing pause ends there)."""
    result: list[Period] = []
    started: datetime | None = None
    for at, status, reason in [(created_at, "new", None), *((s.at, s.status, s.hold_reason) for s in steps)]:
        if at > until:
            break
        paused = rule.pauses(status, reason)
        if paused and started is None:
            started = at
        elif not paused and started is not None:
            if at > started:
                result.append((started, at))
            started = None
    if started is not None and until > started:
        result.append((started, until))
    return result


def first_met(steps: Sequence[Step], metric: str) -> datetime | None:
    """When the order first met ``metric`` (see the module's definitions), or None."""
    reached = {"response": RESPONDED, "arrival": ARRIVED, "resolution": RESOLVED}[metric]
    for step in steps:
        if step.status in reached or (metric == "arrival" and step.kind == ARRIVAL_EVENT):
            return step.at
    return None


def clocks(
    *,
    created_at: datetime,
    steps: Sequence[Step],
    calendar: BusinessCalendar,
    targets: Targets,
    pause: PauseRule,
    warn_at_share: float,
    now: datetime,
) -> list[Clock]:
    """The order's clocks for each metric its policy targets, as of ``now`` (steps oldest first)."""
    steps = sorted((s for s in steps if s.at <= now), key=lambda s: s.at)
    cancelled_at = next((s.at for s in steps if s.status == CANCELLED), None)
    current = steps[-1] if steps else Step(created_at, "new")
    paused_now = cancelled_at is None and pause.pauses(current.status, current.hold_reason)
    pauses = pauses_of(created_at, steps, pause, until=now)
    result = []
    for metric in METRICS:
        target = getattr(targets, metric)
        if target is None:
            continue
        met_at = first_met(steps, metric)
        if cancelled_at is not None and met_at is not None and met_at > cancelled_at:
            met_at = None
        end = met_at or cancelled_at or now
        counted = [(s, min(e, end)) for s, e in pauses if s < end]  # a pause after the clock stopped is no pause
        elapsed = business_minutes(calendar, created_at, end, counted)
        share = elapsed / target
        if met_at is not None:
            state = "met" if elapsed <= target else "met_late"
        elif cancelled_at is not None:
            state = "cancelled"
        elif share >= 1:
            state = "breached"
        elif share >= warn_at_share:
            state = "warning"
        elif paused_now:
            state = "paused"
        else:
            state = "running"
        result.append(
            Clock(
                metric=metric,
                target_minutes=target,
                elapsed_minutes=round(elapsed, 2),
                share=round(share, 4),
                due_at=add_business_minutes(calendar, created_at, target, counted),
                state=state,
                met_at=met_at,
                paused=paused_now and met_at is None,
            )
        )
    return result
