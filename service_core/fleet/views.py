"""The fleet-health page and its JSON twin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from service_core.deps import ConnDep
from service_core.fleet import history, service
from service_core.fleet.schemas import FleetAssetRead, LatestValueRead, TelemetryHistoryRead

router = APIRouter(tags=["fleet"])


@router.get("/fleet", response_model=list[FleetAssetRead])
async def get_fleet(conn: ConnDep):
    """Every asset with its connection status, latest health score and open preventive orders."""
    return await service.get_fleet(conn)


AssetId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


@router.get("/assets/{asset_id}/telemetry", response_model=TelemetryHistoryRead)
async def get_telemetry_history(
    conn: ConnDep,
    asset_id: AssetId,
    metric: Annotated[str, Query(min_length=1, max_length=64, description="e.g. vibration_rms_mm_s")],
    start: Annotated[datetime | None, Query(description="ISO 8601 with a time zone; default: a day before end")] = None,
    end: Annotated[datetime | None, Query(description="ISO 8601 with a time zone; default: now")] = None,
    bucket: Annotated[timedelta | None, Query(description="ISO 8601 duration (PT5M, PT1H, P1D); default: ~300 buckets")
                      ] = None,
):
    """min / avg / max / count of one metric per bucket over [start, end). Whole minutes and hours come from the
    1-minute / 1-hour rollups where they are complete, the rest from the raw readings."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=1)
    width, buckets = await history.get_history(conn, asset_id=asset_id, metric=metric, start=start, end=end,
                                               width=bucket)
    return TelemetryHistoryRead(asset_id=asset_id, metric=metric, start=start, end=end,
                                bucket_seconds=int(width.total_seconds()), buckets=buckets)


@router.get("/assets/{asset_id}/telemetry/latest", response_model=list[LatestValueRead])
async def get_latest_values(conn: ConnDep, asset_id: AssetId):
    """The newest value of each metric the asset sent in the last day."""
    return await history.get_latest(conn, asset_id=asset_id)


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
