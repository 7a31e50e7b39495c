"""Routes for the service KPIs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service_core.deps import ConnDep
from service_core.kpis import service
from service_core.kpis.models import Scope
from service_core.kpis.schemas import KpiFilters, KpiReport

router = APIRouter(tags=["kpis"])


@router.get("/kpis", response_model=KpiReport, response_model_by_alias=True)
async def get_kpis(conn: ConnDep, filters: Annotated[KpiFilters, Query()]):
    """Every service KPI over a period (default: the last 30 days), with the counts behind each rate."""
    scope = Scope(
        start=filters.from_,
        end=filters.to,
        region=filters.region,
        site_id=filters.site_id,
        customer_id=filters.customer_id,
        asset_model=filters.asset_model,
        engineer_id=filters.engineer_id,
    )
    figures = await service.get(conn, scope=scope)
    given = filters.model_dump(exclude={"from_", "to"}, exclude_none=True)
    return {"period": {"from_": scope.start, "to": scope.end}, "filters": given, **figures}
