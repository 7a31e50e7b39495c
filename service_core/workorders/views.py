"""Routes for work orders, including an engineer's own list."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from psycopg import AsyncConnection

from service_core.audit import get_changes
from service_core.deps import ConnDep
from service_core.engineers import service as engineers_service
from service_core.schemas import ReadSchema
from service_core.workorders import flows, service
from service_core.workorders.schemas import (
    AssignRequest,
    ReopenRequest,
    TransitionRequest,
    WorkOrderCreate,
    WorkOrderDetail,
    WorkOrderRead,
    WorkOrderType,
    WorkOrderUpdate,
)
from service_core.workorders.states import Status

router = APIRouter(tags=["work orders"])

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


async def _detail(conn: AsyncConnection, work_order_id: int) -> WorkOrderDetail:
    order = await service.get(conn, work_order_id=work_order_id)
    events = await service.get_events(conn, work_order_id=work_order_id)
    return WorkOrderDetail(**asdict(order), events=[asdict(e) for e in events])


@router.post("/work-orders", response_model=WorkOrderRead, status_code=status.HTTP_201_CREATED)
async def create_work_order(conn: ConnDep, work_order_in: WorkOrderCreate):
    """Open a work order by hand; a preventive or urgent one goes straight to the best engineer who has its parts
    (or stays new with a ``not_dispatched`` event saying why)."""
    order = await service.create(conn, work_order_in=work_order_in)
    if flows.auto_assigned(order):
        order = (await flows.auto_assign(conn, order=order, now=datetime.now(UTC))).order
    return order


@router.get("/work-orders", response_model=list[WorkOrderRead])
async def list_work_orders(
    conn: ConnDep,
    status: Status | None = None,
    asset_id: str | None = None,
    engineer_id: int | None = None,
    type: WorkOrderType | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
):
    return await service.get_all(
        conn, status=status, asset_id=asset_id, engineer_id=engineer_id, type=type, limit=limit, offset=offset
    )


@router.get("/work-orders/{work_order_id}", response_model=WorkOrderDetail)
async def get_work_order(conn: ConnDep, work_order_id: int):
    """The order with its full history."""
    return await _detail(conn, work_order_id)


@router.patch("/work-orders/{work_order_id}", response_model=WorkOrderDetail)
async def update_work_order(conn: ConnDep, work_order_id: int, work_order_in: WorkOrderUpdate):
    """Change an order's priority, title, description, due date, resolution, root cause, follow-up or billing."""
    await service.update(conn, work_order_id=work_order_id, work_order_in=work_order_in)
    return await _detail(conn, work_order_id)


class ChangeRead(ReadSchema):
    id: int
    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("/work-orders/{work_order_id}/audit", response_model=list[ChangeRead])
async def work_order_audit(conn: ConnDep, work_order_id: int):
    """Every change of the order's row: who, when, the values before and after."""
    await service.get(conn, work_order_id=work_order_id)
    return await get_changes(conn, table_name="work_orders", row_id=work_order_id)


@router.post("/work-orders/{work_order_id}/transitions", response_model=WorkOrderDetail)
async def transition_work_order(conn: ConnDep, work_order_id: int, request: TransitionRequest):
    """Move the order along its state machine; an illegal move is a 409 naming the allowed ones."""
    await service.transition(
        conn,
        work_order_id=work_order_id,
        target=request.to,
        actor=request.actor,
        note=request.note,
        reason=request.reason,
    )
    return await _detail(conn, work_order_id)


@router.post("/work-orders/{work_order_id}/reopen", response_model=WorkOrderDetail)
async def reopen_work_order(conn: ConnDep, work_order_id: int, request: ReopenRequest):
    """Reopen a completed or closed order for the same engineer, within 7 days of its completion (else 409)."""
    await service.reopen(conn, work_order_id=work_order_id, reason=request.reason, actor=request.actor)
    return await _detail(conn, work_order_id)


@router.post("/work-orders/{work_order_id}/assign", response_model=WorkOrderDetail)
async def assign_work_order(conn: ConnDep, work_order_id: int, request: AssignRequest):
    """Give the order to an engineer, who is notified."""
    await flows.assign_order(
        conn, work_order_id=work_order_id, engineer_id=request.engineer_id, actor=request.actor, note=request.note
    )
    return await _detail(conn, work_order_id)


@router.get("/engineers/{engineer_id}/work-orders", response_model=list[WorkOrderRead])
async def list_engineer_work_orders(
    conn: ConnDep, engineer_id: int, status: Status | None = None, limit: Limit = 100, offset: Offset = 0
):
    """The orders given to this engineer, newest first."""
    await engineers_service.get(conn, engineer_id=engineer_id)
    return await service.get_all(conn, engineer_id=engineer_id, status=status, limit=limit, offset=offset)
