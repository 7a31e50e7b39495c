"""All SQL that manages how readings are kept: chunking, compression, rollups, retention.

On TimescaleDB the work is TimescaleDB's: ``apply_policy`` sets the chunk interval and the compression,
retention and continuous-aggregate refresh policies, and TimescaleDB's scheduler runs them. On plain
PostgreSQL ``housekeeping`` does the same work when the storage job calls it: partitions ahead, rollups up to
a minute ago, whole old partitions dropped; and ``compact_closed_partitions`` rebuilds each finished day's
half-empty primary-key index.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from telemetry.rollups import chunk_interval
from telemetry.store import ensure_partitions, storage_backend

log = logging.getLogger(__name__)

ROLLUP_LAG = timedelta(minutes=1)  # how long after a minute ends it is rolled up (later rows are merged in)
COMPACT_AFTER = timedelta(hours=6)  # a day's partition is rebuilt once it has been over this long
COMPACT_LOCK = 7305221930113  # one storage job compacts at a time
POLICY_LOCK = 7305221930114  # one worker sets TimescaleDB's policies at a time


@dataclass(frozen=True, slots=True)
class StoragePolicy:
    """How readings are kept. ``None`` retention keeps for ever."""

    readings_per_s: float = 1000.0  # expected ingest, which sizes TimescaleDB's chunks
    compress_after: timedelta = timedelta(days=7)
    raw_retention: timedelta | None = timedelta(days=90)
    minute_rollup_retention: timedelta | None = timedelta(days=365)
    hour_rollup_retention: timedelta | None = None

    def __post_init__(self) -> None:
        if self.readings_per_s <= 0:
            raise ValueError("the expected ingest rate must be positive")
        if self.compress_after <= timedelta(0):
            raise ValueError("compress_after must be positive")
        kept = [self.raw_retention, self.minute_rollup_retention, self.hour_rollup_retention]
        if any(k is not None and k < timedelta(days=1) for k in kept):
            raise ValueError("retention periods must be at least one day")

    @property
    def chunk_interval(self) -> timedelta:
        return chunk_interval(self.readings_per_s)

    def refresh_window(self, kept: timedelta | None) -> timedelta:
        """How far back a continuous aggregate's refresh reaches: late rows up to there are rolled up, and it
        stays inside the source's retention (refreshing over dropped rows would empty the rollup)."""
        return (kept or timedelta(days=3650)) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Housekeeping:
    """What one run did (plain PostgreSQL; on TimescaleDB its scheduler does this work)."""

    partitions_created: int = 0
    partitions_dropped: int = 0
    minute_watermark: datetime | None = None
    rollup_rows_dropped: int = 0


async def apply_policy(conn: AsyncConnection, policy: StoragePolicy) -> None:
    """Make the database keep readings as ``policy`` says (idempotent; run at start-up)."""
    if await storage_backend(conn) != "timescaledb":
        await ensure_partitions(conn)
        return
    # workers starting together would each remove and add the same jobs: one at a time
    await conn.execute("select pg_advisory_xact_lock(%(k)s)", {"k": POLICY_LOCK})
    await conn.execute("select set_chunk_time_interval('telemetry.readings', %(i)s)", {"i": policy.chunk_interval})
    await conn.execute("select remove_compression_policy('telemetry.readings', if_exists => true)")
    await conn.execute("select add_compression_policy('telemetry.readings', compress_after => %(a)s)",
                       {"a": policy.compress_after})
    for relation, kept in (("telemetry.readings", policy.raw_retention),
                           ("telemetry.readings_1m", policy.minute_rollup_retention),
                           ("telemetry.readings_1h", policy.hour_rollup_retention)):
        await conn.execute("select remove_retention_policy(%(r)s, if_exists => true)", {"r": relation})
        if kept is not None:
            await conn.execute("select add_retention_policy(%(r)s, drop_after => %(k)s)", {"r": relation, "k": kept})
    for view, source_kept, end_offset, every in (
        ("telemetry.readings_1m", policy.raw_retention, ROLLUP_LAG, timedelta(minutes=1)),
        ("telemetry.readings_1h", policy.minute_rollup_retention, timedelta(hours=1), timedelta(minutes=15)),
    ):
        await conn.execute("select remove_continuous_aggregate_policy(%(v)s, if_exists => true)", {"v": view})
        await conn.execute(
            "select add_continuous_aggregate_policy(%(v)s, start_offset => %(s)s, end_offset => %(e)s, "
            "schedule_interval => %(every)s)",
            {"v": view, "s": policy.refresh_window(source_kept), "e": end_offset, "every": every},
        )


async def refresh_rollups(conn: AsyncConnection, *, upto: datetime) -> None:
    """Roll up every whole minute and hour before ``upto``. On TimescaleDB this refreshes the continuous
    aggregates, which cannot run inside a transaction: ``conn`` must then be in autocommit."""
    if await storage_backend(conn) == "timescaledb":
        await conn.execute("call refresh_continuous_aggregate('telemetry.readings_1m', null, %(u)s)", {"u": upto})
        await conn.execute("call refresh_continuous_aggregate('telemetry.readings_1h', null, %(u)s)", {"u": upto})
    else:
        await conn.execute("select telemetry.refresh_rollups(%(u)s)", {"u": upto})


async def housekeeping(conn: AsyncConnection, policy: StoragePolicy, *, now: datetime) -> Housekeeping:
    """One run of plain PostgreSQL's storage work; nothing on TimescaleDB. The caller commits."""
    if await storage_backend(conn) == "timescaledb":
        return Housekeeping()
    created = await ensure_partitions(conn)
    cur = await conn.execute("select telemetry.refresh_rollups(%(u)s)", {"u": now - ROLLUP_LAG})
    minute_mark = (await cur.fetchone())[0]
    dropped = 0
    if policy.raw_retention is not None:
        cur = await conn.execute("select telemetry.drop_partitions_before(%(c)s)", {"c": now - policy.raw_retention})
        dropped = (await cur.fetchone())[0]
    rows = 0
    if policy.minute_rollup_retention is not None:
        cur = await conn.execute("delete from telemetry.readings_1m where bucket < %(c)s",
                                 {"c": now - policy.minute_rollup_retention})
        rows += cur.rowcount
    if policy.hour_rollup_retention is not None:
        cur = await conn.execute("delete from telemetry.readings_1h where bucket < %(c)s",
                                 {"c": now - policy.hour_rollup_retention})
        rows += cur.rowcount
    return Housekeeping(created, dropped, minute_mark, rows)


async def compact_closed_partitions(conn: AsyncConnection, *, now: datetime) -> list[str]:
    """Rebuild the indexes of each day's partition over for ``COMPACT_AFTER`` (plain PostgreSQL; nothing on
    TimescaleDB, which compresses its chunks). REINDEX CONCURRENTLY: writers are not blocked, and ``conn`` must be
    in autocommit. Returns the partitions compacted; none if another job holds the lock."""
    if await storage_backend(conn) == "timescaledb":
        return []
    cur = await conn.execute("select pg_try_advisory_lock(%(k)s)", {"k": COMPACT_LOCK})
    if not (await cur.fetchone())[0]:
        return []
    try:
        cur = await conn.execute("select telemetry.partitions_to_compact(%(c)s)", {"c": now - COMPACT_AFTER})
        names = [r[0] for r in await cur.fetchall()]
        for name in names:
            await conn.execute(sql.SQL("reindex table concurrently {}").format(sql.Identifier("telemetry", name)))
            await conn.execute(
                "insert into telemetry.compacted_partitions (name) values (%(n)s) on conflict do nothing", {"n": name}
            )
        return names
    finally:
        await conn.execute("select pg_advisory_unlock(%(k)s)", {"k": COMPACT_LOCK})


async def run_storage_job(
    pool: AsyncConnectionPool, policy: StoragePolicy, *, stop: asyncio.Event, every_s: float = 60.0
) -> None:
    """Apply the policy, then run the housekeeping every ``every_s`` until ``stop`` is set. Several workers may
    run it: the rollup refresh takes a lock, and partitions and drops are idempotent."""
    try:
        async with pool.connection() as conn, conn.transaction():
            await apply_policy(conn, policy)
    except Exception:
        log.exception("could not apply the storage policy")
    while not stop.is_set():
        try:
            async with pool.connection() as conn, conn.transaction():
                done = await housekeeping(conn, policy, now=datetime.now(UTC))
            if done.partitions_dropped or done.rollup_rows_dropped:
                log.info("storage: %s", done)
            async with pool.connection() as conn:
                await conn.set_autocommit(True)
                try:
                    if compacted := await compact_closed_partitions(conn, now=datetime.now(UTC)):
                        log.info("storage: rebuilt the indexes of %s", ", ".join(compacted))
                finally:
                    await conn.set_autocommit(False)
        except Exception:
            log.exception("storage housekeeping failed")
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass
