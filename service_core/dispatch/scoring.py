"""Who should take a job: hard constraints, then an explainable score. Pure, no I/O.

Hard constraints (``rejection`` names the first one an engineer fails):

- active;
- skilled in every skill the job needs, at its minimum level (the failure mode's skill when the order names
  none; any skill at all when neither does);
- territory: the site's region is one of the engineer's regions (an engineer without regions goes anywhere);
- working hours including travel: on shift (or starting) within ``Weights.horizon`` of the job, and able to
  drive from home, do ``duration`` on site and finish inside one shift and inside the order's time window.
  Travel is the great-circle distance x ``ROAD_FACTOR`` (1.3) at ``SPEED_KMH`` (60 km/h): a road km a minute.

The score is the sum of seven parts, each reported (``Breakdown``; ``total`` is exactly their sum):

- skill: ``skill_per_level`` x the engineer's level in the needed skill (their weakest needed skill; their best
  skill when any will do)
- distance: up to ``distance_full`` for an engineer based at the site, falling linearly to 0 at ``distance_range_km``
- load: ``-load_per_order`` for each open order held, ``-load_per_planned_hour`` per hour already planned that day
- availability: ``on_shift`` when on shift now, less the later the shift starts (0 at ``horizon``)
- sla: up to ``sla_full`` when the order's SLA slack is short, for whoever can be on site soonest
- preference: ``preferred`` for the customer's preferred engineer
- parts: ``parts_in_van`` when the van holds every part the order needs, ``parts_by_transfer`` when a planned
  transfer brings the rest before the visit, 0 when a part is missing (auto-assignment then refuses them)

Ties go to the lower engineer id, so the same inputs always give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
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
ROAD_FACTOR = 1.3  # roads are longer than the great circle
SPEED_KMH = 60.0  # average door-to-door speed: one road km a minute


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def road_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Estimated driving distance: the great circle x ``ROAD_FACTOR``."""
    return haversine_km(a, b) * ROAD_FACTOR


def travel_minutes(a: tuple[float, float], b: tuple[float, float]) -> int:
    """Whole minutes of driving between two points (rounded up, so a plan never arrives early)."""
    return drive_minutes(road_km(a, b))


def drive_minutes(km: float) -> int:
    """Whole minutes to drive ``km`` road kilometres, rounded up."""
    return math.ceil(km / SPEED_KMH * 60 - 1e-9)


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

    def occurrences(self, at: datetime, days: int = 8) -> Iterator[tuple[datetime, datetime]]:
        """(start, end) in UTC of each shift ending after ``at``, for ``days`` days from ``at``'s local date."""
        tz = ZoneInfo(self.timezone)
        today = at.astimezone(tz).date()
        for offset in range(days):
            day = today + timedelta(days=offset)
            if day.isoweekday() in self.days:
                end = datetime.combine(day, self.end, tzinfo=tz).astimezone(UTC)
                if end > at:
                    yield datetime.combine(day, self.start, tzinfo=tz).astimezone(UTC), end


@dataclass(frozen=True, slots=True)
class Incoming:
    """Stock on its way into the engineer's van (an approved or in-transit transfer)."""

    part_number: str
    quantity: float
    expected_at: datetime | None


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
    territories: frozenset[str] = frozenset()
    planned_minutes: int = 0  # already planned on the job's day
    van: Mapping[str, float] = field(default_factory=dict)  # available (on hand - reserved) per part
    incoming: tuple[Incoming, ...] = ()


@dataclass(frozen=True, slots=True)
class Job:
    """What needs doing, where, and when dispatch is asked."""

    skill: str | None
    site: tuple[float, float]
    at: datetime
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> minimum level; overrides ``skill``
    region: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    duration: timedelta = timedelta(0)
    parts: Mapping[str, float] = field(default_factory=dict)  # part number -> quantity needed
    preferred_engineer_id: int | None = None
    sla_slack: timedelta | None = None  # time left before the order's nearest SLA target

    @classmethod
    def for_failure(cls, failure_mode: str, *, site: tuple[float, float], at: datetime) -> Job:
        return cls(skill=FAILURE_MODE_SKILL[failure_mode], site=site, at=at)

    @property
    def requirements(self) -> Mapping[str, int]:
        """Skill -> minimum level; empty when any skill will do."""
        if self.skills:
            return self.skills
        return {self.skill: 1} if self.skill is not None else {}

    @property
    def earliest(self) -> datetime:
        """The first moment work may start: now, or the window's start when later."""
        return max(self.at, self.window_start) if self.window_start is not None else self.at


@dataclass(frozen=True, slots=True)
class Weights:
    skill_per_level: float = 10.0
    distance_full: float = 40.0
    distance_range_km: float = 200.0
    load_per_order: float = 8.0
    load_per_planned_hour: float = 2.0
    on_shift: float = 20.0
    horizon: timedelta = field(default=timedelta(hours=12))
    sla_full: float = 30.0
    sla_horizon: timedelta = field(default=timedelta(hours=24))
    preferred: float = 10.0
    parts_in_van: float = 15.0
    parts_by_transfer: float = 10.0


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The parts of a score; ``total`` is their sum."""

    skill: float
    distance: float
    load: float
    availability: float
    sla: float = 0.0
    preference: float = 0.0
    parts: float = 0.0

    @property
    def total(self) -> float:
        return self.skill + self.distance + self.load + self.availability + self.sla + self.preference + self.parts


@dataclass(frozen=True, slots=True)
class Slot:
    """When the engineer leaves home, starts on site and finishes."""

    depart: datetime
    start: datetime
    end: datetime


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
    slot: Slot | None = None
    travel_minutes: int = 0
    parts: str = "none needed"  # none needed | in van | by transfer | missing
    missing_parts: Mapping[str, float] = field(default_factory=dict)
    preferred: bool = False

    @property
    def has_parts(self) -> bool:
        return self.parts != "missing"

    def explain(self) -> str:
        """One line a dispatcher can read."""
        b = self.breakdown
        # "+ 0.0" below: no open orders gives a load of -0.0, which would print as "-0.00"
        line = (
            f"{self.name} (engineer {self.engineer_id}): {self.total:.2f} = skill {b.skill:.2f}"
            f" (level {self.skill_level}) + distance {b.distance:.2f} ({self.distance_km:.1f} km)"
            f" + load {b.load + 0.0:.2f} ({self.open_orders} open) + availability {b.availability:.2f}"
            f" (starts in {self.starts_in.total_seconds() / 3600:.1f} h)"
        )
        if b.sla:
            line += f" + sla {b.sla:.2f}"
        if b.preference:
            line += f" + preference {b.preference:.2f} (customer's preferred engineer)"
        if self.parts != "none needed":
            line += f" + parts {b.parts:.2f} ({self.parts_words()})"
        return line

    def parts_words(self) -> str:
        if self.parts == "missing":
            return "missing " + ", ".join(f"{p} x{q:g}" for p, q in sorted(self.missing_parts.items()))
        return self.parts


@dataclass(frozen=True, slots=True)
class Excluded:
    """An engineer a hard constraint rules out, and which one."""

    engineer_id: int
    name: str
    reason: str


def visit_slot(candidate: Candidate, job: Job, weights: Weights = Weights()) -> Slot | None:
    """The first slot in which the engineer can drive there, do the job and finish inside a shift and the window.

    The engineer may leave home before the window opens so as to arrive as it opens, never before the
    shift starts or before ``job.at``. Only shifts starting within ``horizon`` of ``job.earliest`` count.
    """
    travel = timedelta(minutes=travel_minutes(candidate.home, job.site))
    earliest = job.earliest
    for shift_start, shift_end in candidate.shift.occurrences(job.at):
        if shift_start - earliest > weights.horizon or (job.window_end is not None and shift_start > job.window_end):
            return None
        depart = max(shift_start, job.at)
        if job.window_start is not None:
            depart = max(depart, job.window_start - travel)
        start = max(depart + travel, job.window_start or depart)
        end = start + job.duration
        if end <= shift_end and (job.window_end is None or end <= job.window_end):
            return Slot(depart=depart, start=start, end=end)
    return None


def rejection(candidate: Candidate, job: Job, weights: Weights = Weights()) -> str | None:
    """Why the engineer cannot take the job (the first hard constraint they fail), or None when they can."""
    if not candidate.active:
        return "inactive"
    for skill, minimum in sorted(job.requirements.items()):
        level = candidate.skills.get(skill, 0)
        if level < 1:
            return f"lacks skill {skill}"
        if level < minimum:
            return f"lacks skill {skill} at level {minimum} (has {level})"
    if not job.requirements and not candidate.skills:
        return "has no skills"
    if candidate.territories and job.region is not None and job.region not in candidate.territories:
        return f"outside territory: region {job.region} is not one of {', '.join(sorted(candidate.territories))}"
    if candidate.shift.starts_in(job.earliest) > weights.horizon:
        return f"not working within {weights.horizon}"
    if visit_slot(candidate, job, weights) is None:
        window = " and the time window" if job.window_end is not None else ""
        return f"cannot drive there and finish {job.duration} of work inside a shift{window}"
    return None


def parts_cover(candidate: Candidate, job: Job, arrival: datetime) -> tuple[str, dict[str, float]]:
    """Whether the van holds the job's parts (``in van``), will by ``arrival`` (``by transfer``), or which miss."""
    if not job.parts:
        return "none needed", {}
    by_transfer = False
    missing: dict[str, float] = {}
    for part, needed in sorted(job.parts.items()):
        in_van = candidate.van.get(part, 0.0)
        if in_van >= needed:
            continue
        coming = sum(
            i.quantity for i in candidate.incoming
            if i.part_number == part and i.expected_at is not None and i.expected_at <= arrival
        )
        if in_van + coming >= needed:
            by_transfer = True
        else:
            missing[part] = needed - in_van - coming
    if missing:
        return "missing", missing
    return ("by transfer" if by_transfer else "in van"), {}


def score(candidate: Candidate, job: Job, weights: Weights = Weights()) -> Ranked | None:
    """The engineer's score for the job, or None when a hard constraint rules them out."""
    if rejection(candidate, job, weights) is not None:
        return None
    slot = visit_slot(candidate, job, weights)
    assert slot is not None
    needs = job.requirements
    level = min(candidate.skills[s] for s in needs) if needs else max(candidate.skills.values())
    km = haversine_km(candidate.home, job.site)
    starts_in = candidate.shift.starts_in(job.earliest)
    parts, missing = parts_cover(candidate, job, slot.start)
    sla = 0.0
    if job.sla_slack is not None:
        risk = min(1.0, max(0.0, 1.0 - job.sla_slack / weights.sla_horizon))
        soon = min(1.0, max(0.0, 1.0 - (slot.start - job.earliest) / weights.sla_horizon))
        sla = weights.sla_full * risk * soon
    preferred = candidate.engineer_id == job.preferred_engineer_id
    breakdown = Breakdown(
        skill=round(weights.skill_per_level * level, 2),
        distance=round(weights.distance_full * max(0.0, 1.0 - km / weights.distance_range_km), 2),
        load=round(
            -weights.load_per_order * candidate.open_orders
            - weights.load_per_planned_hour * candidate.planned_minutes / 60,
            2,
        ),
        availability=round(weights.on_shift * max(0.0, 1.0 - starts_in / weights.horizon), 2),
        sla=round(sla, 2),
        preference=weights.preferred if preferred else 0.0,
        parts={"in van": weights.parts_in_van, "by transfer": weights.parts_by_transfer}.get(parts, 0.0),
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
        slot=slot,
        travel_minutes=travel_minutes(candidate.home, job.site),
        parts=parts,
        missing_parts=missing,
        preferred=preferred,
    )


def rank(candidates: Iterable[Candidate], job: Job, weights: Weights = Weights()) -> list[Ranked]:
    """Eligible engineers, best first; ties broken by engineer id."""
    scored = (score(c, job, weights) for c in candidates)
    return sorted((r for r in scored if r is not None), key=lambda r: (-r.total, r.engineer_id))


def excluded(candidates: Iterable[Candidate], job: Job, weights: Weights = Weights()) -> list[Excluded]:
    """The engineers a hard constraint rules out, by engineer id, each with the reason."""
    out = []
    for c in sorted(candidates, key=lambda c: c.engineer_id):
        reason = rejection(c, job, weights)
        if reason is not None:
            out.append(Excluded(c.engineer_id, c.name, reason))
    return out
