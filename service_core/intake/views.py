"""Routes of the call-centre desk: service requests, triage, the 360° view and each asset's QR code."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from psycopg import AsyncConnection

from service_core.deps import ConnDep
from service_core.intake import overview, qr, service
from service_core.intake.models import Overview
from service_core.intake.reports import Report
from service_core.intake.schemas import (
    AssetOverviewRead,
    Channel,
    RejectRequest,
    RequestStatus,
    ServiceRequestCreate,
    ServiceRequestDetail,
    ServiceRequestRead,
    TriageRequest,
)

router = APIRouter(tags=["service requests"])

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


def overview_read(view: Overview) -> AssetOverviewRead:
    """The API shape of the 360° view."""
    return AssetOverviewRead(
        on=view.on,
        customer=asdict(view.customer),
        site=asdict(view.site),
        asset=asdict(view.asset),
        warranty={"in_warranty": view.in_warranty, "ends_on": view.warranty_ends_on},
        contract=asdict(view.contract) if view.contract else None,
        past_orders=[asdict(o) for o in view.past_orders],
        parts_replaced=[asdict(p) for p in view.parts_replaced],
        health={"score": view.health_score, "scored_at": view.scored_at},
    )


async def _detail(conn: AsyncConnection, request_id: int) -> ServiceRequestDetail:
    request = await service.get(conn, request_id=request_id)
    view = await overview.get_overview(conn, asset_id=request.asset_id, on=request.received_at.date())
    return ServiceRequestDetail(
        **asdict(request),
        attachments=[asdict(a) for a in await service.get_attachments(conn, request_id=request_id)],
        duplicates=[d.id for d in await service.get_duplicates(conn, request_id=request_id)],
        overview=overview_read(view),
    )


@router.post("/service-requests", response_model=ServiceRequestRead, status_code=status.HTTP_201_CREATED)
async def create_service_request(conn: ConnDep, request_in: ServiceRequestCreate, response: Response):
    """Record a report taken on the phone. A second report on an asset that already has an open request, or
    an order opened from one within the duplicate window, is stored as its duplicate (status ``duplicate``).
    The same ``external_id`` sent again returns the request it made (200) instead of a new one."""
    body = request_in.model_dump_json().encode()
    intake = await service.create(
        conn,
        report=Report(
            channel="api",
            original=body,
            original_type="application/json",
            **request_in.model_dump(),
        ),
    )
    if not intake.created:
        response.status_code = status.HTTP_200_OK
    return intake.request


@router.get("/service-requests", response_model=list[ServiceRequestRead])
async def list_service_requests(
    conn: ConnDep,
    status: RequestStatus | None = None,
    channel: Channel | None = None,
    asset_id: str | None = None,
    customer_id: int | None = None,
    work_order_id: int | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
):
    """Requests matching every filter given, newest first; ``work_order_id`` finds the requests of an order."""
    return await service.get_all(
        conn, status=status, channel=channel, asset_id=asset_id, customer_id=customer_id,
        work_order_id=work_order_id, limit=limit, offset=offset,
    )


@router.get("/service-requests/{request_id}", response_model=ServiceRequestDetail)
async def get_service_request(conn: ConnDep, request_id: int):
    """The request with its attachments, duplicates and the 360° view of its asset on the day it came in."""
    return await _detail(conn, request_id)


@router.get("/service-requests/{request_id}/input", response_class=Response)
async def get_service_request_input(conn: ConnDep, request_id: int):
    """What the channel delivered, byte for byte (the raw e-mail, the device's payload, the form)."""
    original = await service.get_input(conn, request_id=request_id)
    return Response(content=bytes(original.content), media_type=original.content_type)


@router.post("/service-requests/{request_id}/triage", response_model=ServiceRequestDetail)
async def triage_service_request(conn: ConnDep, request_id: int, triage_in: TriageRequest):
    """Open the work order for an open request; its description, contact, fault code and attachments go along.
    A request already triaged, a duplicate or a rejected one is a 409."""
    await service.triage(conn, request_id=request_id, **triage_in.model_dump())
    return await _detail(conn, request_id)


@router.post("/service-requests/{request_id}/reject", response_model=ServiceRequestRead)
async def reject_service_request(conn: ConnDep, request_id: int, reject_in: RejectRequest):
    """Close an open request without an order (spam, not our equipment…), saying why."""
    return await service.reject(conn, request_id=request_id, reason=reject_in.reason, actor=reject_in.actor)


@router.get("/assets/{asset_id}/overview", response_model=AssetOverviewRead)
async def asset_overview(conn: ConnDep, asset_id: str):
    """The 360° view of the asset today: customer, site, warranty, contract, past orders, parts, health."""
    return overview_read(await overview.get_overview(conn, asset_id=asset_id, on=datetime.now(UTC).date()))


@router.get("/assets/{asset_id}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
async def asset_qr_code(conn: ConnDep, asset_id: str, request: Request):
    """The QR code to stick on the asset: it leads the customer to the asset's public report page."""
    token = await qr.get_token(conn, asset_id=asset_id)
    url = str(request.url_for("qr_page", token=token))
    return Response(content=qr.render_svg(url, title=f"Report a problem with {asset_id}"),
                    media_type="image/svg+xml")
