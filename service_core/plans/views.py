"""Routes for maintenance plans, their occurrences, a scheduler run now and an asset's meters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from service_core.customers import service as customers_service
from service_core.deps import ConnDep
from service_core.plans import flows, service
from service_core.plans.schemas import (
    MeterRead,
    OccurrenceRead,
    PlanCreate,
    PlanRead,
    PlanUpdate,
    RunRead,
    RunRequest,
    Trigger,
)
from service_core.workorders.schemas import Actor

router = APIRouter(tags=["maintenance plans"])

ActorQuery = Annotated[Actor, Query(description="Who does this")]


@router.get("/maintenance-plans", response_model=list[PlanRead])
async def list_plans(
    conn: ConnDep, asset_id: str | None = None, active: bool | None = None, trigger: Trigger | None = None
):
    """Plans by id; ``asset_id`` gives those covering the asset, itself or through its model."""
    return await service.get_all(conn, asset_id=asset_id, active=active, trigger=trigger)


@router.post("/maintenance-plans", response_model=PlanRead, status_code=status.HTTP_201_CREATED)
async def create_plan(conn: ConnDep, plan_in: PlanCreate):
    """A plan for an asset or an asset model, with the checklist, parts and skills its orders inherit."""
    return await service.create(conn, plan_in=plan_in)


@router.post("/maintenance-plans/run", response_model=RunRead)
async def run_plans(conn: ConnDep, run_in: RunRequest):
    """Run the scheduler now (it also runs every minute): the orders due, and the occurrences missed."""
    return await flows.run(conn, now=run_in.now or datetime.now(UTC), actor=run_in.actor)


@router.get("/maintenance-plans/{plan_id}", response_model=PlanRead)
async def get_plan(conn: ConnDep, plan_id: int):
    return await service.get(conn, plan_id=plan_id)


@router.patch("/maintenance-plans/{plan_id}", response_model=PlanRead)
async def update_plan(conn: ConnDep, plan_id: int, plan_in: PlanUpdate):
    """Change a plan; a list given (checklist, parts, skills) replaces the plan's."""
    return await service.update(conn, plan_id=plan_id, plan_in=plan_in)


@router.delete("/maintenance-plans/{plan_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_plan(conn: ConnDep, plan_id: int, actor: ActorQuery):
    """Remove a plan that never had an occurrence (409 otherwise: deactivate it)."""
    await service.delete(conn, plan_id=plan_id, actor=actor)


@router.get("/maintenance-plans/{plan_id}/occurrences", response_model=list[OccurrenceRead])
async def list_occurrences(
    conn: ConnDep,
    plan_id: int,
    status: Literal["generated", "missed"] | None = None,
    asset_id: str | None = None,
):
    """The plan's occurrences, generated (with their order) and missed (with the reason), by due time."""
    await service.get(conn, plan_id=plan_id)
    return await service.get_occurrences(conn, plan_id=plan_id, status=status, asset_id=asset_id)


@router.get("/assets/{asset_id}/meters", response_model=list[MeterRead])
async def list_meters(conn: ConnDep, asset_id: str):
    """The asset's run-hour and cycle meters, as far as the scheduler has counted them."""
    await customers_service.get_asset(conn, asset_id=asset_id)
    return await service.get_meters(conn, asset_id=asset_id)
