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

from service_core.dispatch.planner import PART_UNIT, Day, Engineer, Order, Plan

DROP_PENALTY = 10_000_000  # metres: leaving an order out costs more than any detour to serve it


def solve(engineers: Sequence[Engineer], orders: Sequence[Order], *, time_limit_s: float | None = None) -> Plan:
    """Plain OR-Tools routing of the day; without a time limit the search runs to its local optimum."""
    began = clock.perf_counter()
    day = Day.of(engineers, orders)
    if not day.routable:
        return day.plan([], began)
    engineers, routable, allowed, km, minutes = day.engineers, day.routable, day.allowed, day.km, day.minutes
    points = day.points
    durations = [0] * len(engineers) + [o.duration for o in routable]
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
    stops: list[list[int]] = [[] for _ in engineers]
    if solution is not None:
        for v in range(len(engineers)):
            index = solution.Value(routing.NextVar(routing.Start(v)))
            while not routing.IsEnd(index):
                stops[v].append(manager.IndexToNode(index) - len(engineers))
                index = solution.Value(routing.NextVar(index))
    return day.plan(stops, began)
