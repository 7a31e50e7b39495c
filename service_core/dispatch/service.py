"""Loads dispatch candidates from the database and ranks them for a job."""

from __future__ import annotations

from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

from service_core.dispatch import scoring
from service_core.dispatch.models import AssetLocation, EngineerLoad
from service_core.errors import NotFound, Unprocessable
from service_core.workorders.states import LOAD


async def get_candidates(conn: AsyncConnection) -> list[scoring.Candidate]:
    """Every engineer with their skills and the number of open orders they hold."""
    async with conn.cursor(row_factory=class_row(EngineerLoad)) as cur:
        await cur.execute(
            """
            select e.id, e.name, e.active,
                   coalesce((select jsonb_object_agg(k.skill, k.level) from service.engineer_skills k
                              where k.engineer_id = e.id), '{}'::jsonb) as skills,
                   e.home_lat, e.home_lon, e.work_days, e.work_start, e.work_end, e.timezone,
                   (select count(*) from service.work_orders w
                     where w.engineer_id = e.id and w.status = any(%(load)s::text[]))::int as open_orders
              from service.engineers e
             order by e.id
            """,
            {"load": sorted(LOAD)},
        )
        rows = await cur.fetchall()
    return [
        scoring.Candidate(
            engineer_id=r.id,
            name=r.name,
            active=r.active,
            skills=r.skills,
            home=(r.home_lat, r.home_lon),
            shift=scoring.Shift(days=frozenset(r.work_days), start=r.work_start, end=r.work_end, timezone=r.timezone),
            open_orders=r.open_orders,
        )
        for r in rows
    ]


async def get_asset_location(conn: AsyncConnection, *, asset_id: str) -> AssetLocation:
    """Where the asset's site is."""
    async with conn.cursor(row_factory=class_row(AssetLocation)) as cur:
        await cur.execute(
            """
            select a.id as asset_id, s.lat, s.lon
              from service.assets a join service.sites s on s.id = a.site_id
             where a.id = %(id)s
            """,
            {"id": asset_id},
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"asset {asset_id!r} not found")
    return row


async def rank_for_asset(
    conn: AsyncConnection,
    *,
    asset_id: str,
    failure_mode: str,
    at: datetime,
    weights: scoring.Weights = scoring.Weights(),
) -> list[scoring.Ranked]:
    """Engineers who can take this failure of this asset at ``at``, best first."""
    if failure_mode not in scoring.FAILURE_MODE_SKILL:
        raise Unprocessable(f"unknown failure mode {failure_mode!r}")
    location = await get_asset_location(conn, asset_id=asset_id)
    job = scoring.Job.for_failure(failure_mode, site=(location.lat, location.lon), at=at)
    return scoring.rank(await get_candidates(conn), job, weights)
