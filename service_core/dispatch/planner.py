"""A day's plan: which engineer visits which orders, in what order and when. Pure, no I/O.

A prize-collecting vehicle routing problem with time windows, solved with PyVRP (iterated local search, the
state of the art for these problems):

- each engineer is a vehicle that leaves home at the start of their shift and is home again by its end;
- each order is a stop with its time on site; its visit starts no earlier than the order's window opens and
  ends no later than it closes;
- skills (and levels), territory, the engineer an order is already assigned to, and parts decide which
  engineers may take an order at all (``refusal``); each group of engineers with the same choice gets a routing
  profile in which the orders it may not take are out of reach;
- van stock is a load per part number, so one van's stock is not promised twice;
- leaving an order out costs its prize, weighted by priority (urgent 8, high 4, normal 2, low 1): more than any
  detour to serve it, and an urgent order is the last to go;
- travel is the road estimate of ``scoring`` (great circle x 1.3 at 60 km/h), in whole minutes.

Times are whole minutes from an origin the caller chooses (the plan's day). ``baseline`` holds the plain OR-Tools
model the benchmark compares with (see BENCHMARKS.md).
"""

from __future__ import annotations

import time as clock
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime

from service_core.dispatch.scoring import drive_minutes, road_km, travel_minutes

PART_UNIT = 1000  # quantities are kept to three decimals in the ledger
DISTANCE_UNIT_KM = 0.1  # the solver counts distance in 100 m steps
OUT_OF_REACH = 10**9  # distance and minutes to an order an engineer may not take
HISTORY = 15  # late-acceptance history of the search: short, so it stays close to its best (BENCHMARKS.md)
PRIORITY_WEIGHT: Mapping[str, int] = {"urgent": 8, "high": 4, "normal": 2, "low": 1}


@dataclass(frozen=True, slots=True)
class Engineer:
    """An engineer's working day: where they start, when, what they can do, what their van holds."""

    engineer_id: int
    home: tuple[float, float]
    start: int
    end: int
    skills: Mapping[str, int]
    territories: frozenset[str] = frozenset()
    van: Mapping[str, float] = field(default_factory=dict)  # available at the start of the day


@dataclass(frozen=True, slots=True)
class Order:
    """An order to visit: where, for how long, within which window, needing what."""

    work_order_id: int
    site: tuple[float, float]
    region: str | None
    skills: Mapping[str, int]  # skill -> minimum level; empty: any engineer with a skill
    duration: int
    window_start: int | None = None
    window_end: int | None = None
    parts: Mapping[str, float] = field(default_factory=dict)
    priority: str = "normal"
    engineer_id: int | None = None  # already assigned: only this engineer


@dataclass(frozen=True, slots=True)
class Visit:
    work_order_id: int
    arrival: int
    start: int
    end: int
    travel_km: float  # from the previous stop (or home)


@dataclass(frozen=True, slots=True)
class Route:
    engineer_id: int
    visits: tuple[Visit, ...]
    travel_km: float  # the whole round trip, home to home
    home_at: int


@dataclass(frozen=True, slots=True)
class Plan:
    routes: tuple[Route, ...]  # engineers with at least one visit, by engineer id
    unassigned: Mapping[int, str]  # work order id -> why it is not in the plan
    wall_seconds: float

    @property
    def travel_km(self) -> float:
        return sum(r.travel_km for r in self.routes)

    @property
    def assigned(self) -> int:
        return sum(len(r.visits) for r in self.routes)


def refusal(engineer: Engineer, order: Order) -> str | None:
    """Why this engineer may not take this order at all (before routing), or None."""
    if order.engineer_id is not None and order.engineer_id != engineer.engineer_id:
        return f"assigned to engineer {order.engineer_id}"
    for skill, minimum in sorted(order.skills.items()):
        if engineer.skills.get(skill, 0) < minimum:
            return f"lacks skill {skill} at level {minimum}"
    if not order.skills and not engineer.skills:
        return "has no skills"
    if engineer.territories and order.region is not None and order.region not in engineer.territories:
        return f"outside territory ({order.region})"
    for part, quantity in sorted(order.parts.items()):
        if engineer.van.get(part, 0.0) < quantity:
            return f"van lacks part {part}"
    there = travel_minutes(engineer.home, order.site)
    start = max(engineer.start + there, order.window_start if order.window_start is not None else 0)
    end = start + order.duration
    if end + travel_minutes(order.site, engineer.home) > engineer.end or (
        order.window_end is not None and end > order.window_end
    ):
        return "cannot fit the visit and the drive home inside the shift and the window"
    return None


def travel_matrices(points: Sequence[tuple[float, float]]) -> tuple[list[list[float]], list[list[int]]]:
    """Road km and whole driving minutes between every two points, each pair computed once (both symmetric)."""
    size = len(points)
    km = [[0.0] * size for _ in range(size)]
    minutes = [[0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1, size):
            d = road_km(points[i], points[j])
            km[i][j] = km[j][i] = d
            minutes[i][j] = minutes[j][i] = drive_minutes(d)
    return km, minutes


@dataclass(frozen=True, slots=True)
class Day:
    """A day as a solver sees it: who may take which order, and the travel between homes and sites."""

    engineers: list[Engineer]  # by engineer id; engineer v's home is point v
    routable: list[Order]  # orders someone may take, by id; order k's site is point len(engineers) + k
    allowed: dict[int, list[int]]  # work order id -> the engineers (indices) who may take it
    nobody: dict[int, str]  # work order id -> why no engineer may take it
    km: list[list[float]]
    minutes: list[list[int]]

    @classmethod
    def of(cls, engineers: Sequence[Engineer], orders: Sequence[Order]) -> Day:
        engineers = sorted(engineers, key=lambda e: e.engineer_id)
        orders = sorted(orders, key=lambda o: o.work_order_id)
        allowed = {o.work_order_id: [v for v, e in enumerate(engineers) if refusal(e, o) is None] for o in orders}
        nobody = {o.work_order_id: why_nobody(engineers, o) for o in orders if not allowed[o.work_order_id]}
        routable = [o for o in orders if allowed[o.work_order_id]] if engineers else []
        points = [e.home for e in engineers] + [o.site for o in routable] if routable else []
        km, minutes = travel_matrices(points)
        return cls(engineers, routable, allowed, nobody, km, minutes)

    @property
    def points(self) -> list[tuple[float, float]]:
        return [e.home for e in self.engineers] + [o.site for o in self.routable]

    def plan(self, stops: Sequence[Sequence[int]], began: float) -> Plan:
        """The plan of ``stops[v]``, the orders (indices into ``routable``) engineer v visits in turn, each visit as
        early as the drive and the window allow; the orders no route visits are reported left out."""
        routes = []
        for v, sequence in enumerate(stops):
            if not sequence:
                continue
            e, previous, ready, travelled = self.engineers[v], v, self.engineers[v].start, 0.0
            visits: list[Visit] = []
            for k in sequence:
                n, o = len(self.engineers) + k, self.routable[k]
                arrival = ready + self.minutes[previous][n]
                start = max(arrival, o.window_start or 0)
                visits.append(Visit(o.work_order_id, arrival, start, start + o.duration, self.km[previous][n]))
                travelled += self.km[previous][n]
                previous, ready = n, start + o.duration
            travelled += self.km[previous][v]
            routes.append(Route(e.engineer_id, tuple(visits), travelled, ready + self.minutes[previous][v]))
        planned = {visit.work_order_id for r in routes for visit in r.visits}
        unassigned = dict(self.nobody)
        for o in self.routable:
            if o.work_order_id not in planned:
                unassigned[o.work_order_id] = (
                    f"no room in the day of the {len(self.allowed[o.work_order_id])} engineer(s) who could take it"
                )
        return Plan(routes=tuple(routes), unassigned=dict(sorted(unassigned.items())),
                    wall_seconds=clock.perf_counter() - began)


def solve(engineers: Sequence[Engineer], orders: Sequence[Order], *, time_limit_s: float = 5.0, seed: int = 1) -> Plan:
    """The routes of the day, and why each order left out is left out."""
    began = clock.perf_counter()
    day = Day.of(engineers, orders)
    if not day.routable:
        return day.plan([], began)
    data = _problem(day)
    largest_prize = max(c.prize for c in data.clients())
    params = pyvrp.SolveParams(
        ils=pyvrp.IteratedLocalSearchParams(history_length=HISTORY),
        # a minute late or a part short must always cost more than the largest prize it could win
        penalty=pyvrp.PenaltyParams(max_penalty=max(100_000.0, 10.0 * largest_prize)),
    )
    remaining = time_limit_s - (clock.perf_counter() - began)
    result = pyvrp.solve(data, stop=MaxRuntime(max(0.05, remaining)), seed=seed, params=params, collect_stats=False)
    stops: list[list[int]] = [[] for _ in day.engineers]
    for route in result.best.routes():
        if route.is_feasible():  # an infeasible route's orders are reported left out
            stops[route.vehicle_type()] = [a.idx for a in route.schedule() if a.is_client()]
    return day.plan(stops, began)


def _problem(day: Day) -> pyvrp.ProblemData:
    """The day as PyVRP's data: a depot per engineer's home, a client per order, a profile per choice of orders."""
    engineers, routable, allowed = day.engineers, day.routable, day.allowed
    first = len(engineers)
    distance = np.rint(np.asarray(day.km) / DISTANCE_UNIT_KM).astype(np.int64)
    duration = np.asarray(day.minutes, dtype=np.int64)
    prize = 2 * int(distance.max()) + 1  # more than the longest detour one order can cause
    horizon = max(e.end for e in engineers) + 1
    parts = sorted({p for o in routable for p in o.parts})

    profiles: dict[frozenset[int], int] = {}  # the orders an engineer may not take -> profile
    distances, durations, vehicle_types = [], [], []
    for v, e in enumerate(engineers):
        refused = frozenset(first + n for n, o in enumerate(routable) if v not in allowed[o.work_order_id])
        if refused not in profiles:
            profiles[refused] = len(distances)
            d, t = distance.copy(), duration.copy()
            columns = sorted(refused)
            d[:, columns] = OUT_OF_REACH
            t[:, columns] = OUT_OF_REACH
            np.fill_diagonal(d, 0)
            np.fill_diagonal(t, 0)
            distances.append(d)
            durations.append(t)
        vehicle_types.append(pyvrp.VehicleType(
            num_available=1,
            capacity=[round(e.van.get(p, 0.0) * PART_UNIT) for p in parts],
            start_depot=v,
            end_depot=v,
            tw_early=e.start,
            tw_late=e.end,
            profile=profiles[refused],
            name=str(e.engineer_id),
        ))
    clients = []
    for n, o in enumerate(routable, start=first):
        opens = o.window_start or 0
        latest_start = (o.window_end if o.window_end is not None else horizon) - o.duration
        clients.append(pyvrp.Client(
            location=n,
            delivery=[round(o.parts.get(p, 0.0) * PART_UNIT) for p in parts],
            service_duration=o.duration,
            tw_early=opens,
            tw_late=max(opens, latest_start),
            prize=prize * PRIORITY_WEIGHT.get(o.priority, 2),
            required=False,
            name=str(o.work_order_id),
        ))
    return pyvrp.ProblemData(
        locations=[pyvrp.Location(x=lon, y=lat) for lat, lon in day.points],
        clients=clients,
        depots=[pyvrp.Depot(location=v) for v in range(first)],
        vehicle_types=vehicle_types,
        distance_matrices=distances,
        duration_matrices=durations,
    )


def why_nobody(engineers: Sequence[Engineer], order: Order) -> str:
    """The reasons engineers are refused, most common first: 'no engineer can take it: 3 lack skill ...'."""
    if not engineers:
        return "no engineer works that day"
    counts: dict[str, int] = {}
    for e in engineers:
        reason = refusal(e, order) or ""
        counts[reason] = counts.get(reason, 0) + 1
    parts = [f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "no engineer can take it: " + "; ".join(parts)
