"""The fleet-health page and its JSON twin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from service_core.deps import ConnDep
from service_core.fleet import service
from service_core.fleet.schemas import FleetAssetRead

router = APIRouter(tags=["fleet"])


@router.get("/fleet", response_model=list[FleetAssetRead])
async def get_fleet(conn: ConnDep):
    """Every asset with its connection status, latest health score and open preventive orders."""
    return await service.get_fleet(conn)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def fleet_page(request: Request, conn: ConnDep, refresh: Annotated[int, Query(ge=0, le=3600)] = 5):
    """The same view as a page that reloads itself every ``refresh`` seconds (0: never)."""
    fleet = await service.get_fleet(conn)
    return request.app.state.templates.TemplateResponse(
        request,
        "fleet.html",
        {
            "fleet": fleet,
            "refresh": refresh,
            "generated_at": datetime.now(UTC),
            "online": sum(a.connection == "online" for a in fleet),
            "open_orders": sum(len(a.open_orders) for a in fleet),
        },
    )
