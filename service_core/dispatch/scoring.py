"""Who should take a job: hard filters, then an explainable score. Pure, no I/O.

An engineer is considered only when active, skilled in what the failure needs, and on shift now or
starting within ``Weights.horizon``. The score is the sum of four parts, each reported:

- skill: ``skill_per_level`` x the engineer's level in the needed skill (their best skill when any will do)
- distance: up to ``distance_full`` for an engineer based at the site, falling linearly to 0 at ``distance_range_km``
- load: ``-load_per_order`` for each open order the engineer already holds
- availability: ``on_shift`` when on shift now, less the later the shift starts (0 at ``horizon``)

Ties go to the lower engineer id, so the same inputs always give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The skill each failure mode calls for; None: any skill will do.
FAILURE_MODE_SKILL: Mapping[str, str | None] = {
    "bearing_wear": "mechanical",
    "imbalance": "mechanical",
    "overheating": "electrical",
    "cavitation": "hydraulic",
    "seal_leak": "hydraulic",
    "blockage": "hydraulic",
    "unknown": None,
}

EARTH_RADIUS_KM = 6371.0088


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Shift:
    """Working hours: ISO weekdays (1 = Monday), start and end wall-clock times in ``timezone``."""

    days: frozenset[int]
    start: time
    end: time
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(1, 8)):
            raise ValueError(f"shift days must be ISO weekdays 1-7, got {sorted(self.days)}")
        if self.end <= self.start:
            raise ValueError("a shift must end after it starts")
        ZoneInfo(self.timezone)

    def starts_in(self, at: datetime) -> timedelta:
        """Zero when ``at`` is within a shift, else how long until the next one starts."""
        tz = ZoneInfo(self.timezone)
        now = at.astimezone(UTC)
        today = at.astimezone(tz).date()
        for offset in range(8):
            day = today + timedelta(days=offset)
            if day.isoweekday() not in self.days:
                continue
            start = datetime.combine(day, self.start, tzinfo=tz).astimezone(UTC)
            end = datetime.combine(day, self.end, tzinfo=tz).astimezone(UTC)
            if start <= now < end:
                return timedelta(0)
            if now < start:
                return start - now
        raise AssertionError("a week always holds a working day")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Candidate:
    """An engineer as dispatch sees them."""

    engineer_id: int
    name: str
    active: bool
    skills: Mapping[str, int]
    home: tuple[float, float]
    shift: Shift
    open_orders: int = 0


@dataclass(frozen=True, slots=True)
class Job:
    """What needs doing, where, and when dispatch is asked."""

    skill: str | None
    site: tuple[float, float]
    at: datetime

    @classmethod
    def for_failure(cls, failure_mode: str, *, site: tuple[float, float], at: datetime) -> Job:
        return cls(skill=FAILURE_MODE_SKILL[failure_mode], site=site, at=at)


@dataclass(frozen=True, slots=True)
class Weights:
    skill_per_level: float = 10.0
    distance_full: float = 40.0
    distance_range_km: float = 200.0
    load_per_order: float = 8.0
    on_shift: float = 20.0
    horizon: timedelta = field(default=timedelta(hours=12))


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The parts of a score; ``total`` is their sum."""

    skill: float
    distance: float
    load: float
    availability: float

    @property
    def total(self) -> float:
        return self.skill + self.distance + self.load + self.availability


@dataclass(frozen=True, slots=True)
class Ranked:
    engineer_id: int
    name: str
    total: float
    breakdown: Breakdown
    skill_level: int
    distance_km: float
    open_orders: int
    starts_in: timedelta

    def explain(self) -> str:
        """One line a dispatcher can read."""
        b = self.breakdown
        # "+ 0.0" below: no open orders gives a load of -0.0, which would print as "-0.00"
        return (
            f"{self.name} (engineer {self.engineer_id}): {self.total:.2f} = skill {b.skill:.2f}"
            f" (level {self.skill_level}) + distance {b.distance:.2f} ({self.distance_km:.1f} km)"
            f" + load {b.load + 0.0:.2f} ({self.open_orders} open) + availability {b.availability:.2f}"
            f" (starts in {self.starts_in.total_seconds() / 3600:.1f} h)"
        )


def rejection(candidate: Candidate, job: Job, weights: Weights = Weights()) -> str | None:
    """Why the engineer cannot take the job, or None when they can."""
    if not candidate.active:
        return "inactive"
    if job.skill is not None and candidate.skills.get(job.skill, 0) < 1:
        return f"lacks skill {job.skill}"
    if job.skill is None and not candidate.skills:
        return "has no skills"
    if candidate.shift.starts_in(job.at) > weights.horizon:
        return f"not working within {weights.horizon}"
    return None


def score(candidate: Candidate, job: Job, weights: Weights = Weights()) -> Ranked | None:
    """The engineer's score for the job, or None when a hard filter rules them out."""
    if rejection(candidate, job, weights) is not None:
        return None
    level = candidate.skills[job.skill] if job.skill is not None else max(candidate.skills.values())
    km = haversine_km(candidate.home, job.site)
    starts_in = candidate.shift.starts_in(job.at)
    breakdown = Breakdown(
        skill=round(weights.skill_per_level * level, 2),
        distance=round(weights.distance_full * max(0.0, 1.0 - km / weights.distance_range_km), 2),
        load=round(-weights.load_per_order * candidate.open_orders, 2),
        availability=round(weights.on_shift * max(0.0, 1.0 - starts_in / weights.horizon), 2),
    )
    return Ranked(
        engineer_id=candidate.engineer_id,
        name=candidate.name,
        total=breakdown.total,
        breakdown=breakdown,
        skill_level=level,
        distance_km=km,
        open_orders=candidate.open_orders,
        starts_in=starts_in,
    )


def rank(candidates: Iterable[Candidate], job: Job, weights: Weights = Weights()) -> list[Ranked]:
    """Eligible engineers, best first; ties broken by engineer id."""
    scored = (score(c, job, weights) for c in candidates)
    return sorted((r for r in scored if r is not None), key=lambda r: (-r.total, r.engineer_id))
