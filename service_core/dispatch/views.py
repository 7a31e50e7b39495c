"""Routes that show dispatch's reasoning and plan a day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from service_core.deps import ConnDep
from service_core.dispatch import flows, scoring, service
from service_core.dispatch.schemas import (
    BreakdownRead,
    ExcludedRead,
    OrderCandidatesRead,
    PlanRead,
    PlanRequest,
    RankedRead,
    RouteRead,
    StopRead,
    UnassignedRead,
)
from service_core.workorders.schemas import FailureMode

router = APIRouter(tags=["dispatch"])


def _read(r: scoring.Ranked) -> RankedRead:
    return RankedRead(
        engineer_id=r.engineer_id,
        name=r.name,
        total=r.total,
        breakdown=BreakdownRead.model_validate(r.breakdown),
        skill_level=r.skill_level,
        distance_km=round(r.distance_km, 3),
        open_orders=r.open_orders,
        starts_in_hours=round(r.starts_in.total_seconds() / 3600, 3),
        explanation=r.explain(),
        travel_minutes=r.travel_minutes,
        arrives_at=r.slot.start if r.slot else None,
        parts=r.parts,
        missing_parts=dict(r.missing_parts),
        preferred=r.preferred,
    )


@router.get("/dispatch/candidates", response_model=list[RankedRead])
async def rank_candidates(conn: ConnDep, asset_id: str, failure_mode: FailureMode, at: AwareDatetime | None = None):
    """Engineers who could take this failure of this asset now (or at ``at``), best first, with the score's parts."""
    ranked = await service.rank_for_asset(
        conn, asset_id=asset_id, failure_mode=failure_mode, at=at or datetime.now(UTC)
    )
    return [_read(r) for r in ranked]


@router.get("/work-orders/{work_order_id}/candidates", response_model=OrderCandidatesRead)
async def order_candidates(
    conn: ConnDep,
    work_order_id: int,
    limit: Annotated[int, Query(ge=1, le=100)] = 5,
    at: AwareDatetime | None = None,
):
    """The top ``limit`` engineers for this order (its skills, window, territory, parts, SLA, the customer's
    preference), each score broken down into parts that add up to it, and every engineer ruled out with the reason.
    """
    assessment = await service.assess_order(conn, work_order_id=work_order_id, at=at or datetime.now(UTC))
    return OrderCandidatesRead(
        work_order_id=work_order_id,
        candidates=[_read(r) for r in assessment.ranked[:limit]],
        excluded=[ExcludedRead.model_validate(e) for e in assessment.excluded],
    )


@router.post("/dispatch/plan", response_model=PlanRead)
async def plan_day(conn: ConnDep, request: PlanRequest):
    """Routes for the day's open orders across the engineers working it (OR-Tools VRP with time windows); with
    ``apply`` the planned orders are assigned and their visits planned, all in one transaction."""
    result = await flows.plan_day(
        conn, day=request.date, actor=request.actor, apply=request.apply, time_limit_s=request.time_limit_s
    )
    at = result.day.at
    plan = result.plan
    return PlanRead(
        date=request.date,
        applied=result.applied,
        engineers=len(result.day.engineers),
        orders=len(result.day.orders),
        assigned=plan.assigned,
        travel_km=round(plan.travel_km, 3),
        routes=[
            RouteRead(
                engineer_id=r.engineer_id,
                travel_km=round(r.travel_km, 3),
                home_at=at(r.home_at),
                stops=[
                    StopRead(work_order_id=v.work_order_id, arrival_at=at(v.arrival), start_at=at(v.start),
                             end_at=at(v.end), travel_km=round(v.travel_km, 3))
                    for v in r.visits
                ],
            )
            for r in plan.routes
        ],
        unassigned=[UnassignedRead(work_order_id=k, reason=v) for k, v in plan.unassigned.items()],
    )
