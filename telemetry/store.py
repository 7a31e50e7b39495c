"""All SQL of the telemetry store: devices, readings (COPY, idempotent), device faults and the read queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.rows import class_row

from telemetry.readings import DeviceFault, Sample
from telemetry.rollups import ORIGIN, check, plan, rollup_for

_STAGE = """
create temp table if not exists readings_in (
    asset_id text, metric text, ts timestamptz, value double precision, seq bigint
) on commit delete rows  -- emptied by each commit: no truncate needed on the ingest path
"""

_MERGE = """
insert into telemetry.readings (asset_id, metric, ts, value, seq)
select asset_id, metric, ts, value, seq from readings_in
on conflict (asset_id, metric, ts) do nothing
"""


@dataclass(frozen=True, slots=True)
class Device:
    asset_id: str
    site_id: str
    model: str
    expected_interval_s: float
    provisioned: bool
    connection: str
    connection_changed_at: datetime | None
    last_seen: datetime | None
    last_seq: int | None


@dataclass(frozen=True, slots=True)
class LatestValue:
    asset_id: str
    metric: str
    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Bucket:
    bucket: datetime
    min: float
    avg: float
    max: float
    count: int


async def storage_backend(conn: AsyncConnection) -> str:
    """``timescaledb`` or ``partitioned``: what the schema chose for readings."""
    cur = await conn.execute("select value from telemetry.storage where key = 'readings'")
    row = await cur.fetchone()
    return row[0]


async def provision_device(
    conn: AsyncConnection, *, asset_id: str, site_id: str, model: str, expected_interval_s: float = 1.0
) -> None:
    """Register (or update) an asset allowed to publish telemetry."""
    await conn.execute(
        """
        insert into telemetry.devices (asset_id, site_id, model, expected_interval_s, provisioned)
        values (%(asset_id)s, %(site_id)s, %(model)s, %(interval)s, true)
        on conflict (asset_id) do update
           set site_id = excluded.site_id, model = excluded.model,
               expected_interval_s = excluded.expected_interval_s, provisioned = true
        """,
        {"asset_id": asset_id, "site_id": site_id, "model": model, "interval": expected_interval_s},
    )


async def deprovision_device(conn: AsyncConnection, *, asset_id: str) -> None:
    """Stop accepting telemetry from an asset; its history stays."""
    await conn.execute("update telemetry.devices set provisioned = false where asset_id = %(a)s", {"a": asset_id})


async def get_devices(conn: AsyncConnection, *, asset_ids: Sequence[str] | None = None) -> list[Device]:
    """Devices, all of them or the ones named."""
    async with conn.cursor(row_factory=class_row(Device)) as cur:
        if asset_ids is None:
            await cur.execute("select * from telemetry.devices order by asset_id")
        else:
            await cur.execute(
                "select * from telemetry.devices where asset_id = any(%(ids)s) order by asset_id",
                {"ids": list(asset_ids)},
            )
        return await cur.fetchall()


async def count_online(conn: AsyncConnection) -> tuple[int, int]:
    """(online, provisioned) device counts."""
    cur = await conn.execute(
        "select count(*) filter (where connection = 'online'), count(*) from telemetry.devices where provisioned"
    )
    online, provisioned = await cur.fetchone()
    return online, provisioned


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(samples: Iterable[Sample]) -> str:
    """The readings as COPY's text format, one line each: built in one go, which costs a fraction of a
    ``write_row`` call per reading on the ingest path. Metric names repeat in every sample, so each is escaped
    once (a tenth of the gateway's CPU went to escaping them per reading)."""
    lines = []
    add = lines.append
    names = _escaped_names
    if len(names) > 10_000:  # a bound, whatever names arrive
        names.clear()
    for sample in samples:
        head = sample.asset_id.translate(_COPY_ESCAPES)
        middle = f"\t{sample.ts.isoformat()}\t"
        end = "\t\\N\n" if sample.seq is None else f"\t{sample.seq}\n"
        for metric, value in sample.metrics.items():
            name = names.get(metric)
            if name is None:
                name = names[metric] = metric.translate(_COPY_ESCAPES)
            add(f"{head}\t{name}{middle}{float(value)!r}{end}")
    return "".join(lines)


_escaped_names: dict[str, str] = {}


async def write_samples(conn: AsyncConnection, samples: Iterable[Sample]) -> int:
    """Store samples with COPY; a reading already stored (same asset, metric, ts) is skipped. Returns rows added.

    Readings are copied straight into the table, in a savepoint. Only when that meets a reading stored before (a
    message delivered again after a crash, or sent twice) are they copied to a staging table and merged, skipping
    what is there: the merge's conflict check per row costs more than the copy itself, so it is kept for the rare
    batch that needs it.
    """
    text = _copy_text(samples)
    try:
        async with conn.transaction(), conn.cursor() as cur:
            async with cur.copy("copy telemetry.readings (asset_id, metric, ts, value, seq) from stdin") as copy:
                await copy.write(text)
            return cur.rowcount
    except UniqueViolation:
        pass
    await conn.execute(_STAGE)
    async with conn.cursor() as cur:
        async with cur.copy("copy readings_in (asset_id, metric, ts, value, seq) from stdin") as copy:
            await copy.write(text)
        await cur.execute(_MERGE)
        return cur.rowcount


async def write_faults(conn: AsyncConnection, faults: Sequence[DeviceFault]) -> int:
    """Store fault codes; one already stored (same asset, instant and code) is skipped. Returns rows added."""
    if not faults:
        return 0
    cur = await conn.execute(
        """
        insert into telemetry.device_faults (asset_id, ts, code, severity, message)
        select * from unnest(%(asset_ids)s::text[], %(ts)s::timestamptz[], %(codes)s::text[], %(severities)s::text[],
                             %(messages)s::text[])
        on conflict (asset_id, ts, code) do nothing
        """,
        {
            "asset_ids": [f.asset_id for f in faults],
            "ts": [f.ts for f in faults],
            "codes": [f.code for f in faults],
            "severities": [f.severity for f in faults],
            "messages": [f.message for f in faults],
        },
    )
    return cur.rowcount


async def get_faults(conn: AsyncConnection, *, asset_id: str | None = None, limit: int = 100) -> list[DeviceFault]:
    """The newest fault codes first, of every asset or one."""
    async with conn.cursor(row_factory=class_row(DeviceFault)) as cur:
        await cur.execute(
            """
            select asset_id, ts, code, severity, message from telemetry.device_faults
             where %(asset_id)s::text is null or asset_id = %(asset_id)s
             order by ts desc, id desc limit %(limit)s
            """,
            {"asset_id": asset_id, "limit": limit},
        )
        return await cur.fetchall()


async def record_seen(conn: AsyncConnection, seen: dict[str, tuple[datetime, int | None]]) -> None:
    """Mark devices that just sent data as online, with the newest timestamp and sequence number."""
    if not seen:
        return
    ids, stamps, seqs = zip(*((a, ts, seq) for a, (ts, seq) in sorted(seen.items())), strict=True)
    await conn.execute(
        """
        update telemetry.devices d
           set last_seen = greatest(d.last_seen, s.ts),
               last_seq = case when d.last_seen is null or s.ts >= d.last_seen then coalesce(s.seq, d.last_seq)
                               else d.last_seq end,
               connection = 'online',
               connection_changed_at = case when d.connection = 'online' then d.connection_changed_at else now() end
          from unnest(%(ids)s::text[], %(ts)s::timestamptz[], %(seq)s::bigint[]) as s(asset_id, ts, seq)
         where d.asset_id = s.asset_id
        """,
        {"ids": list(ids), "ts": list(stamps), "seq": list(seqs)},
    )


async def set_connection(conn: AsyncConnection, *, asset_id: str, connection: str, at: datetime) -> None:
    """Record what the device's status topic said (``online`` / ``offline``)."""
    await conn.execute(
        """
        update telemetry.devices
           set connection = %(c)s,
               connection_changed_at = case when connection = %(c)s then connection_changed_at else %(at)s end
         where asset_id = %(a)s
        """,
        {"c": connection, "a": asset_id, "at": at},
    )


async def mark_stale(conn: AsyncConnection, *, now: datetime, missed_intervals: float = 5.0) -> list[str]:
    """Online devices silent for ``missed_intervals`` x their expected interval become ``stale``."""
    cur = await conn.execute(
        """
        update telemetry.devices
           set connection = 'stale', connection_changed_at = %(now)s
         where connection = 'online'
           and (last_seen is null or last_seen < %(now)s - make_interval(secs => expected_interval_s * %(n)s))
        returning asset_id
        """,
        {"now": now, "n": missed_intervals},
    )
    return [r[0] for r in await cur.fetchall()]


async def ensure_partitions(conn: AsyncConnection, *, days_ahead: int = 7) -> int:
    """Create the coming days' partitions (native partitioning only); returns how many were created."""
    if await storage_backend(conn) != "partitioned":
        return 0
    cur = await conn.execute(
        "select telemetry.ensure_partitions((now() at time zone 'UTC')::date - 1, %(n)s)", {"n": days_ahead + 2}
    )
    return (await cur.fetchone())[0]


async def latest(
    conn: AsyncConnection, *, asset_ids: Sequence[str] | None = None, lookback: timedelta = timedelta(days=1)
) -> list[LatestValue]:
    """The newest value of every metric of each asset, within ``lookback``."""
    async with conn.cursor(row_factory=class_row(LatestValue)) as cur:
        await cur.execute(
            """
            select distinct on (asset_id, metric) asset_id, metric, ts, value
              from telemetry.readings
             where ts > now() - %(lookback)s
               and (%(ids)s::text[] is null or asset_id = any(%(ids)s))
             order by asset_id, metric, ts desc
            """,
            {"lookback": lookback, "ids": list(asset_ids) if asset_ids is not None else None},
        )
        return await cur.fetchall()


async def watermark(conn: AsyncConnection, rollup: str) -> datetime | None:
    """Up to where the ``1m`` / ``1h`` rollup is complete; ``None`` before its first refresh."""
    cur = await conn.execute("select telemetry.rollup_watermark(%(r)s)", {"r": rollup})
    return (await cur.fetchone())[0]


_AGGREGATE = """
with parts as (
    select bucket as ts, min, max, sum, count from telemetry.readings_1h
     where %(rollup)s::text = '1h' and asset_id = %(asset_id)s and metric = %(metric)s
       and bucket >= %(rollup_from)s and bucket < %(rollup_to)s
    union all
    select bucket, min, max, sum, count from telemetry.readings_1m
     where %(rollup)s::text = '1m' and asset_id = %(asset_id)s and metric = %(metric)s
       and bucket >= %(rollup_from)s and bucket < %(rollup_to)s
    union all
    select ts, value, value, value, 1 from telemetry.readings
     where asset_id = %(asset_id)s and metric = %(metric)s
       and (ts >= %(raw_from_1)s and ts < %(raw_to_1)s or ts >= %(raw_from_2)s and ts < %(raw_to_2)s)
)
select date_bin(%(width)s, ts, %(origin)s) as bucket,
       min(min) as min, sum(sum) / sum(count) as avg, max(max) as max, sum(count)::bigint as count
  from parts
 group by 1 order by 1
"""


async def aggregate(
    conn: AsyncConnection, *, asset_id: str, metric: str, start: datetime, end: datetime, width: timedelta
) -> list[Bucket]:
    """min / avg / max / count of one metric of one asset per ``width`` bucket over [start, end).

    Whole minutes or hours come from the coarsest rollup that tiles ``width``, up to its watermark; the rest
    (recent readings, ragged edges, widths no rollup tiles) from the raw readings. Raises
    :class:`~telemetry.rollups.TelemetryQueryError` for a range or width that cannot be answered.
    """
    check(start, end, width)
    rollup = rollup_for(width)
    mark = await watermark(conn, rollup.name) if rollup else None
    p = plan(start, end, width, watermark=mark)
    raw = list(p.raw) + [(end, end)] * (2 - len(p.raw))
    async with conn.cursor(row_factory=class_row(Bucket)) as cur:
        await cur.execute(_AGGREGATE, {
            "rollup": p.rollup.name if p.rollup else None, "rollup_from": p.rollup_from, "rollup_to": p.rollup_to,
            "raw_from_1": raw[0][0], "raw_to_1": raw[0][1], "raw_from_2": raw[1][0], "raw_to_2": raw[1][1],
            "asset_id": asset_id, "metric": metric, "width": width, "origin": ORIGIN,
        })
        return await cur.fetchall()
