"""Work that crosses areas: a day's plan applied as assignments and planned visits, in the caller's transaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

from psycopg import AsyncConnection

from service_core.dispatch import planner, service
from service_core.fieldwork import flows as fieldwork_flows
from service_core.fieldwork.schemas import VisitCreate
from service_core.workorders import flows as workorders_flows
from service_core.workorders import service as workorders_service


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: service.Day
    plan: planner.Plan
    applied: bool


async def plan_day(
    conn: AsyncConnection, *, day: date, actor: str, apply: bool = False, time_limit_s: float = 2.0
) -> DayPlan:
    """Plan the day's open orders across the engineers working it; with ``apply``, assign each planned order to
    its engineer (through ``assign_order``: notified, parts reserved) and plan its visit at the planned start.
    """
    problem = await service.load_day(conn, day=day)
    # the solver holds the CPU for up to its time limit: keep the event loop serving other requests
    plan = await asyncio.to_thread(planner.solve, problem.engineers, problem.orders, time_limit_s=time_limit_s)
    if apply:
        for route in plan.routes:
            for stop, visit in enumerate(route.visits, start=1):
                note = f"day plan {day.isoformat()}: stop {stop} of {len(route.visits)}"
                order = await workorders_service.get(conn, work_order_id=visit.work_order_id, for_update=True)
                if order.engineer_id != route.engineer_id or order.status != "assigned":
                    await workorders_flows.assign_order(
                        conn,
                        work_order_id=order.id,
                        engineer_id=route.engineer_id,
                        actor=actor,
                        note=note,
                        details={"plan": day.isoformat(), "stop": stop, "travel_km": round(visit.travel_km, 3)},
                    )
                await fieldwork_flows.plan_visit(
                    conn,
                    work_order_id=order.id,
                    visit_in=VisitCreate(
                        engineer_id=route.engineer_id, planned_at=problem.at(visit.start), actor=actor, note=note
                    ),
                )
    return DayPlan(day=problem, plan=plan, applied=apply)
