"""An asset's telemetry history and latest values, for charts and the fleet-health view."""

from __future__ import annotations

from datetime import datetime, timedelta

from psycopg import AsyncConnection

from service_core.errors import NotFound, Unprocessable
from telemetry import store as telemetry_store
from telemetry.rollups import TelemetryQueryError, check
from telemetry.store import Bucket, LatestValue

# bucket widths chosen when none is asked for: the finest giving at most TARGET_BUCKETS over the range
WIDTHS = tuple(timedelta(seconds=s) for s in (1, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400))
TARGET_BUCKETS = 300


def default_width(start: datetime, end: datetime) -> timedelta:
    """>>> default_width(datetime(2026, 1, 1), datetime(2026, 1, 2))
    datetime.timedelta(seconds=300)
    """
    return next((w for w in WIDTHS if (end - start) / w <= TARGET_BUCKETS), WIDTHS[-1])


async def _device(conn: AsyncConnection, asset_id: str) -> None:
    if not await telemetry_store.get_devices(conn, asset_ids=[asset_id]):
        raise NotFound(f"no device {asset_id!r} sends telemetry")


async def get_history(
    conn: AsyncConnection, *, asset_id: str, metric: str, start: datetime, end: datetime, width: timedelta | None
) -> tuple[timedelta, list[Bucket]]:
    """min / avg / max / count of one metric per bucket (of ``width``, or one giving about 300 buckets);
    rollups where they are complete, raw readings after. Returns the width used and the buckets."""
    await _device(conn, asset_id)
    try:
        check(start, end, width or timedelta(days=1))
        width = width or default_width(start, end)
        return width, await telemetry_store.aggregate(
            conn, asset_id=asset_id, metric=metric, start=start, end=end, width=width
        )
    except TelemetryQueryError as exc:
        raise Unprocessable(str(exc)) from exc


async def get_latest(conn: AsyncConnection, *, asset_id: str) -> list[LatestValue]:
    """The newest value of each metric the asset sent in the last day."""
    await _device(conn, asset_id)
    return await telemetry_store.latest(conn, asset_ids=[asset_id])
