"""Routes that show dispatch's reasoning."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import AwareDatetime

from service_core.deps import ConnDep
from service_core.dispatch import service
from service_core.dispatch.schemas import BreakdownRead, RankedRead
from service_core.workorders.schemas import FailureMode

router = APIRouter(prefix="/dispatch", tags=["dispatch"])


@router.get("/candidates", response_model=list[RankedRead])
async def rank_candidates(conn: ConnDep, asset_id: str, failure_mode: FailureMode, at: AwareDatetime | None = None):
    """Engineers who could take this failure of this asset now (or at ``at``), best first, with the score's parts."""
    ranked = await service.rank_for_asset(
        conn, asset_id=asset_id, failure_mode=failure_mode, at=at or datetime.now(UTC)
    )
    return [
        RankedRead(
            engineer_id=r.engineer_id,
            name=r.name,
            total=r.total,
            breakdown=BreakdownRead.model_validate(r.breakdown),
            skill_level=r.skill_level,
            distance_km=round(r.distance_km, 3),
            open_orders=r.open_orders,
            starts_in_hours=round(r.starts_in.total_seconds() / 3600, 3),
            explanation=r.explain(),
        )
        for r in ranked
    ]
