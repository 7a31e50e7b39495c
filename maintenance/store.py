"""All SQL of condition monitoring: limits, scores (COPY, idempotent), alerts and detector state.

Every function takes the caller's connection and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from maintenance.equipment import Limit
from maintenance.events import Alert
from maintenance.monitor import AssetScore

_STAGE_SCORES = """
create temp table if not exists scores_in (
    asset_id text, ts timestamptz, score double precision
) on commit delete rows  -- emptied by each commit: no truncate needed on the ingest path
"""

_MERGE_SCORES = """
insert into maintenance.scores (asset_id, ts, score)
select asset_id, ts, score from scores_in
on conflict (asset_id, ts) do nothing
"""

_ALERT_COLUMNS = "id, asset_id, failure_mode, raised_at, cleared_at, score, signals, time_to_failure, recent_samples"


@dataclasses.dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert as stored."""

    id: int
    asset_id: str
    failure_mode: str
    raised_at: datetime
    cleared_at: datetime | None
    score: float
    signals: list[dict]
    time_to_failure: dict | None
    recent_samples: list[dict]


async def load_limits(conn: AsyncConnection) -> dict[str, dict[str, Limit]]:
    """The datasheet limits of every model: ``{model: {metric: Limit}}``."""
    cur = await conn.execute(
        """
        select model, metric, low, high, unit, trip_low, trip_high, loss
          from maintenance.model_limits order by model, metric
        """
    )
    limits: dict[str, dict[str, Limit]] = {}
    for model, metric, *values in await cur.fetchall():
        limits.setdefault(model, {})[metric] = Limit(*values)
    return limits


async def write_scores(conn: AsyncConnection, scores: Iterable[AssetScore]) -> int:
    """Store scores with COPY; a score already stored (same asset and instant) is skipped. Returns rows added."""
    await conn.execute(_STAGE_SCORES)
    async with conn.cursor() as cur:
        async with cur.copy("copy scores_in (asset_id, ts, score) from stdin") as copy:
            for score in scores:
                await copy.write_row((score.asset_id, score.ts, score.score))
        await cur.execute(_MERGE_SCORES)
        added = cur.rowcount
    return added


async def latest_scores(
    conn: AsyncConnection, asset_ids: Sequence[str] | None = None
) -> dict[str, tuple[datetime, float]]:
    """The newest assessed score of each asset (of every provisioned asset when ``asset_ids`` is None)."""
    # one index probe per asset, newest first, rather than a scan of the whole history
    cur = await conn.execute(
        """
        select a.asset_id, s.ts, s.score
          from (select asset_id from telemetry.devices where %(ids)s::text[] is null
                union
                select unnest(%(ids)s::text[])) as a
         cross join lateral (
               select ts, score from maintenance.scores
                where asset_id = a.asset_id and score is not null
                order by ts desc limit 1) as s
        """,
        {"ids": list(asset_ids) if asset_ids is not None else None},
    )
    return {asset_id: (ts, score) for asset_id, ts, score in await cur.fetchall()}


async def record_alert(conn: AsyncConnection, alert: Alert) -> int:
    """Store a raised alert; its id. The same alert still open for the asset is not stored twice."""
    params = {
        "asset_id": alert.asset_id,
        "mode": alert.failure_mode,
        "raised_at": alert.raised_at,
        "score": alert.score,
        "signals": Jsonb([_plain(dataclasses.asdict(s)) for s in alert.signals]),
        "ttf": None if alert.time_to_failure is None else Jsonb(_plain(dataclasses.asdict(alert.time_to_failure))),
        "recent": Jsonb(_plain(list(alert.window))),
    }
    cur = await conn.execute(
        """
        insert into maintenance.alerts
               (asset_id, failure_mode, raised_at, score, signals, time_to_failure, recent_samples)
        values (%(asset_id)s, %(mode)s, %(raised_at)s, %(score)s, %(signals)s, %(ttf)s, %(recent)s)
        on conflict (asset_id, failure_mode) where cleared_at is null do nothing
        returning id
        """,
        params,
    )
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute(
            """
            select id from maintenance.alerts
             where asset_id = %(asset_id)s and failure_mode = %(mode)s and cleared_at is null
            """,
            params,
        )
        row = await cur.fetchone()
    return row[0]


async def clear_open_alert(conn: AsyncConnection, *, asset_id: str, failure_mode: str, at: datetime) -> int | None:
    """Clear the asset's open alert of that failure mode; its id, or None when none was open."""
    cur = await conn.execute(
        """
        update maintenance.alerts set cleared_at = %(at)s
         where asset_id = %(asset_id)s and failure_mode = %(mode)s and cleared_at is null
        returning id
        """,
        {"asset_id": asset_id, "mode": failure_mode, "at": at},
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def clear_alert(conn: AsyncConnection, alert_id: int, at: datetime) -> bool:
    """Mark an open alert cleared at ``at``; False when it was not open."""
    cur = await conn.execute(
        "update maintenance.alerts set cleared_at = %(at)s where id = %(id)s and cleared_at is null",
        {"id": alert_id, "at": at},
    )
    return cur.rowcount == 1


async def open_alerts(conn: AsyncConnection, asset_id: str | None = None) -> list[AlertRow]:
    """Alerts not yet cleared, oldest first; of one asset or of all."""
    async with conn.cursor(row_factory=class_row(AlertRow)) as cur:
        await cur.execute(
            f"""
            select {_ALERT_COLUMNS} from maintenance.alerts
             where cleared_at is null and (%(asset_id)s::text is null or asset_id = %(asset_id)s)
             order by raised_at, id
            """,
            {"asset_id": asset_id},
        )
        return await cur.fetchall()


async def save_states(conn: AsyncConnection, states: Mapping[str, bytes]) -> None:
    """Store the checkpoints of several assets, replacing older ones."""
    if not states:
        return
    ids, blobs = zip(*sorted(states.items()), strict=True)
    await conn.execute(
        """
        insert into maintenance.detector_state (asset_id, state, updated_at)
        select asset_id, state, now() from unnest(%(ids)s::text[], %(states)s::bytea[]) as s(asset_id, state)
        on conflict (asset_id) do update set state = excluded.state, updated_at = excluded.updated_at
        """,
        {"ids": list(ids), "states": list(blobs)},
    )


async def load_states(conn: AsyncConnection, asset_ids: Sequence[str]) -> dict[str, bytes]:
    """The stored checkpoints of the assets named (those that have one)."""
    cur = await conn.execute(
        "select asset_id, state from maintenance.detector_state where asset_id = any(%(ids)s)",
        {"ids": list(asset_ids)},
    )
    return {asset_id: bytes(state) for asset_id, state in await cur.fetchall()}


def _plain(value: Any) -> Any:
    """JSON has no NaN or infinity: such readings are stored as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
