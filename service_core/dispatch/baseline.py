"""The benchmark's baseline: plain OR-Tools routing of a day. Pure, no I/O.

The same model as the day planner's (``planner``): a vehicle per engineer from home and back home by the end of
the shift, visits inside the order's window, skills, territory and parts as allowed vehicles, van stock as a
capacity per part number, distance as the objective. Every order is worth the same (leaving one out costs more
than any detour) and the search is OR-Tools' default. ``fleetcare bench dispatch`` runs it without a time limit
by default: the search stops at its own local optimum, which is the strongest plain OR-Tools answer and the same
on every machine.
"""

from __future__ import annotations

import time as clock
from collections.abc import Sequence

from ortools.constraint_solver import pywrapcp

from service_core.dispatch.planner import (
    PART_UNIT,
    Engineer,
    Order,
    Plan,
    Route,
    Visit,
    refusal,
    travel_matrices,
    why_nobody,
)

DROP_PENALTY = 10_000_000  # metres: leaving an order out costs more than any detour to serve it


def solve(engineers: Sequence[Engineer], orders: Sequence[Order], *, time_limit_s: float | None = None) -> Plan:
    """Plain OR-Tools routing of the day; without a time limit the search runs to its local optimum."""
    began = clock.perf_counter()
    engineers = sorted(engineers, key=lambda e: e.engineer_id)
    orders = sorted(orders, key=lambda o: o.work_order_id)
    allowed = {o.work_order_id: [v for v, e in enumerate(engineers) if refusal(e, o) is None] for o in orders}
    unassigned = {o.work_order_id: why_nobody(engineers, o) for o in orders if not allowed[o.work_order_id]}
    routable = [o for o in orders if allowed[o.work_order_id]]
    if not engineers or not routable:
        return Plan(routes=(), unassigned=unassigned, wall_seconds=clock.perf_counter() - began)

    points = [e.home for e in engineers] + [o.site for o in routable]
    durations = [0] * len(engineers) + [o.duration for o in routable]
    km, minutes = travel_matrices(points)
    metres = [[round(d * 1000) for d in row] for row in km]
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
        routing.AddDisjunction([index], DROP_PENALTY)

    params = pywrapcp.DefaultRoutingSearchParameters()
    if time_limit_s is not None:
        params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        unassigned |= {o.work_order_id: "the solver found no plan in the time limit" for o in routable}
        return Plan(routes=(), unassigned=unassigned, wall_seconds=clock.perf_counter() - began)

    routes = []
    for v, e in enumerate(engineers):
        visits: list[Visit] = []
        index = solution.Value(routing.NextVar(routing.Start(v)))
        previous, ready, travelled = v, e.start, 0.0
        while not routing.IsEnd(index):
            n = manager.IndexToNode(index)
            o = routable[n - len(engineers)]
            leg = km[previous][n]
            start = solution.Value(time_dim.CumulVar(index))
            visits.append(Visit(o.work_order_id, ready + minutes[previous][n], start, start + o.duration, leg))
            travelled += leg
            previous, ready = n, start + o.duration
            index = solution.Value(routing.NextVar(index))
        if visits:
            travelled += km[previous][v]
            routes.append(Route(e.engineer_id, tuple(visits), travelled, ready + minutes[previous][v]))
    planned = {visit.work_order_id for r in routes for visit in r.visits}
    for o in routable:
        if o.work_order_id not in planned:
            unassigned[o.work_order_id] = (
                f"no room in the day of the {len(allowed[o.work_order_id])} engineer(s) who could take it"
            )
    return Plan(routes=tuple(routes), unassigned=dict(sorted(unassigned.items())),
                wall_seconds=clock.perf_counter() - began)
