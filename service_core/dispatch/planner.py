"""A day's plan: which engineer visits which orders, in what order and when. Pure, no I/O.

A vehicle routing problem with time windows, solved with Google OR-Tools' routing library:

- each engineer is a vehicle that leaves home at the start of their shift and is home again by its end;
- each order is a stop with its time on site; its visit starts no earlier than the order's window opens and
  ends no later than it closes;
- skills (and levels), territory, the engineer an order is already assigned to, and parts are allowed-vehicle
  constraints; parts are also a capacity per part number, so one van's stock is not promised twice;
- travel is the road estimate of ``scoring`` (great circle x 1.3 at 60 km/h), in whole minutes and metres.

Times are whole minutes from an origin the caller chooses (the plan's day). ``solve(..., baseline=True)`` is
the plain OR-Tools routing the benchmark compares with: the same model and hard constraints, distance as the
only objective, every order worth the same, default search. Ours weighs orders by priority (an urgent order is
the last to be left out), starts from the path-cheapest-arc solution and improves it by greedy descent until
the time limit. (Guided local search and arc costs per engineer that price forbidden orders out were tried:
with 8 s on the benchmark's 300 orders they planned fewer orders or drove further; see BENCHMARKS.md.)
"""

from __future__ import annotations

import time as clock
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from service_core.dispatch.scoring import road_km, travel_minutes

PART_UNIT = 1000  # quantities are kept to three decimals in the ledger
DROP_PENALTY = 10_000_000  # metres: leaving an order out costs more than any detour to serve it
FORBIDDEN = 100 * DROP_PENALTY
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


def solve(
    engineers: Sequence[Engineer], orders: Sequence[Order], *, time_limit_s: float = 5.0, baseline: bool = False
) -> Plan:
    """The routes of the day, and why each order left out is left out."""
    began = clock.perf_counter()
    engineers = sorted(engineers, key=lambda e: e.engineer_id)
    orders = sorted(orders, key=lambda o: o.work_order_id)
    allowed = {o.work_order_id: [v for v, e in enumerate(engineers) if refusal(e, o) is None] for o in orders}
    unassigned = {o.work_order_id: _why_nobody(engineers, o) for o in orders if not allowed[o.work_order_id]}
    routable = [o for o in orders if allowed[o.work_order_id]]
    if not engineers or not routable:
        return Plan(routes=(), unassigned=unassigned, wall_seconds=clock.perf_counter() - began)

    points = [e.home for e in engineers] + [o.site for o in routable]
    durations = [0] * len(engineers) + [o.duration for o in routable]
    metres = [[round(road_km(a, b) * 1000) for b in points] for a in points]
    minutes = [[travel_minutes(a, b) for b in points] for a in points]
    home = list(range(len(engineers)))
    manager = pywrapcp.RoutingIndexManager(len(points), len(engineers), home, home)
    routing = pywrapcp.RoutingModel(manager)

    size = len(points)
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(metres))
    busy = routing.RegisterTransitMatrix([[durations[i] + minutes[i][j] for j in range(size)] for i in range(size)])
    horizon = max(e.end for e in engineers) + 1
    routing.AddDimension(busy, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for v, e in enumerate(engineers):
        time_dim.CumulVar(routing.Start(v)).SetRange(e.start, e.end)
        time_dim.CumulVar(routing.End(v)).SetRange(e.start, e.end)

    for part in sorted({p for o in routable for p in o.parts}):
        if all(
            sum(o.parts.get(part, 0.0) for o in routable if v in allowed[o.work_order_id]) <= e.van.get(part, 0.0)
            for v, e in enumerate(engineers)
        ):
            continue  # no van can run short of it: the capacity could never bind
        demand = [0] * len(engineers) + [round(o.parts.get(part, 0.0) * PART_UNIT) for o in routable]
        stock = [round(e.van.get(part, 0.0) * PART_UNIT) for e in engineers]
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector(demand), 0, stock, True, f"part:{part}"
        )

    for n, o in enumerate(routable, start=len(engineers)):
        index = manager.NodeToIndex(n)
        latest = (o.window_end if o.window_end is not None else horizon) - o.duration
        time_dim.CumulVar(index).SetRange(o.window_start or 0, max(o.window_start or 0, latest))
        # SetAllowedVehiclesForIndex would say the same, but its Python binding refuses lists in OR-Tools 9.15
        refused = sorted(set(range(len(engineers))) - set(allowed[o.work_order_id]))
        if refused:
            routing.VehicleVar(index).RemoveValues(refused)
        weight = 1 if baseline else PRIORITY_WEIGHT.get(o.priority, 2)
        routing.AddDisjunction([index], DROP_PENALTY * weight)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    if not baseline:
        params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    solution = routing.SolveWithParameters(params)
    if solution is None:
        unassigned |= {o.work_order_id: "the solver found no plan in the time limit" for o in routable}
        return Plan(routes=(), unassigned=unassigned, wall_seconds=clock.perf_counter() - began)

    routes = []
    for v, e in enumerate(engineers):
        visits: list[Visit] = []
        index = solution.Value(routing.NextVar(routing.Start(v)))
        previous, ready, km = v, e.start, 0.0
        while not routing.IsEnd(index):
            n = manager.IndexToNode(index)
            o = routable[n - len(engineers)]
            leg = road_km(points[previous], points[n])
            start = solution.Value(time_dim.CumulVar(index))
            visits.append(Visit(o.work_order_id, ready + minutes[previous][n], start, start + o.duration, leg))
            km += leg
            previous, ready = n, start + o.duration
            index = solution.Value(routing.NextVar(index))
        if visits:
            km += road_km(points[previous], points[v])
            routes.append(Route(e.engineer_id, tuple(visits), km, ready + minutes[previous][v]))
    planned = {visit.work_order_id for r in routes for visit in r.visits}
    for o in routable:
        if o.work_order_id not in planned:
            unassigned[o.work_order_id] = (
                f"no room in the day of the {len(allowed[o.work_order_id])} engineer(s) who could take it"
            )
    return Plan(routes=tuple(routes), unassigned=dict(sorted(unassigned.items())),
                wall_seconds=clock.perf_counter() - began)


def _why_nobody(engineers: Sequence[Engineer], order: Order) -> str:
    """The reasons engineers are refused, most common first: 'no engineer can take it: 3 lack skill ...'."""
    if not engineers:
        return "no engineer works that day"
    counts: dict[str, int] = {}
    for e in engineers:
        reason = refusal(e, order) or ""
        counts[reason] = counts.get(reason, 0) + 1
    parts = [f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "no engineer can take it: " + "; ".join(parts)
