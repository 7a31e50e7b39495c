"""An independent check of a day's plan against the hard constraints. Pure, no I/O.

Written from the rules, not from the planner's model: it replays every route from the engineer's home with
the travel estimate of ``scoring`` and counts what breaks. The benchmark and the tests trust a plan only when
this finds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from service_core.dispatch.planner import Engineer, Order, Plan
from service_core.dispatch.scoring import road_km, travel_minutes


def violations(engineers: Sequence[Engineer], orders: Sequence[Order], plan: Plan) -> list[str]:
    """Every hard constraint the plan breaks, one line each; empty when it keeps them all."""
    found: list[str] = []
    by_engineer = {e.engineer_id: e for e in engineers}
    by_order = {o.work_order_id: o for o in orders}
    seen: set[int] = set()
    for route in plan.routes:
        e = by_engineer.get(route.engineer_id)
        if e is None:
            found.append(f"route of unknown engineer {route.engineer_id}")
            continue
        place, ready, km = e.home, e.start, 0.0
        used: dict[str, float] = {}
        for visit in route.visits:
            o = by_order.get(visit.work_order_id)
            if o is None:
                found.append(f"engineer {e.engineer_id} visits unknown order {visit.work_order_id}")
                continue
            where = f"order {o.work_order_id} by engineer {e.engineer_id}"
            if o.work_order_id in seen:
                found.append(f"{where}: visited twice")
            seen.add(o.work_order_id)
            if o.engineer_id is not None and o.engineer_id != e.engineer_id:
                found.append(f"{where}: the order is assigned to engineer {o.engineer_id}")
            for skill, minimum in o.skills.items():
                if e.skills.get(skill, 0) < minimum:
                    found.append(f"{where}: needs {skill} at level {minimum}")
            if not o.skills and not e.skills:
                found.append(f"{where}: the engineer has no skills")
            if e.territories and o.region is not None and o.region not in e.territories:
                found.append(f"{where}: region {o.region} is outside the territory")
            for part, quantity in o.parts.items():
                used[part] = used.get(part, 0.0) + quantity
            arrival = ready + travel_minutes(place, o.site)
            if visit.start < arrival:
                found.append(f"{where}: starts at {visit.start} before arriving at {arrival}")
            if visit.start < e.start:
                found.append(f"{where}: starts before the shift")
            if o.window_start is not None and visit.start < o.window_start:
                found.append(f"{where}: starts before the window opens")
            if visit.end != visit.start + o.duration:
                found.append(f"{where}: lasts {visit.end - visit.start} min, not {o.duration}")
            if o.window_end is not None and visit.start + o.duration > o.window_end:
                found.append(f"{where}: ends after the window closes")
            km += road_km(place, o.site)
            place, ready = o.site, max(arrival, visit.start) + o.duration
        home_at = ready + travel_minutes(place, e.home)
        km += road_km(place, e.home)
        if home_at > e.end:
            found.append(f"engineer {e.engineer_id}: home at {home_at}, after the shift ends at {e.end}")
        if abs(km - route.travel_km) > 0.01 + 1e-6 * km:
            found.append(f"engineer {e.engineer_id}: travels {km:.3f} km, not the {route.travel_km:.3f} reported")
        for part, quantity in used.items():
            if quantity > e.van.get(part, 0.0) + 1e-9:
                found.append(f"engineer {e.engineer_id}: needs {quantity:g} of {part}, the van holds "
                             f"{e.van.get(part, 0.0):g}")
    for order_id in seen & set(plan.unassigned):
        found.append(f"order {order_id} is both planned and unassigned")
    for order_id in set(by_order) - seen - set(plan.unassigned):
        found.append(f"order {order_id} is neither planned nor reported unassigned")
    return found
