"""``fleetcare bench storage``: bytes per reading in ``telemetry.readings``, raw and compressed, and of its rollups.

A simulated fleet (the simulators' layout: about two CP-200 pumps to each EM-75 motor, ``simulators.fleet.plan``)
in steady operation, as the detector benchmark runs it, sends one sample per asset every ``1 / rate`` s for
``hours``, ending at the start of yesterday (UTC), so every row lands in a whole past day. Values are rounded to
3 decimals, as the simulated devices publish them. The samples are generated lazily and stored through the
production ingest path (``telemetry.store.write_samples``: COPY into a staging table, then merged), a few
thousand samples per transaction. A reading is one metric value, the unit every figure is divided by.

Then the sizes: every partition of ``telemetry.readings`` (plain PostgreSQL) or its hypertable (TimescaleDB),
after a ``vacuum analyze`` as autovacuum would run; the rollups after refreshing them; on TimescaleDB every chunk
compressed and measured again. Sizes depend on the database being empty: on a server that lets the bench create
a database it works in its own (migrated, dropped at the end); otherwise (the TimescaleDB test harness, one
database) in the one given, which must hold no devices, readings or rollups.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import AsyncConnection, sql

from service_core.schema import upgrade, with_database
from simulators.equipment import generate
from simulators.fleet import Asset, FleetConfig, plan
from simulators.operation import Operation
from telemetry.readings import Sample
from telemetry.storage import compact_closed_partitions, refresh_rollups
from telemetry.store import provision_device, storage_backend, write_samples

DEVICES = 25
HOURS = 24.0
RATE_HZ = 1.0
BATCH = 4000  # samples per transaction
STEADY = Operation(change_every_s=120.0, duty_cycles=False)  # no stops: no runs of zeros to flatter compression
DECIMALS = 3  # as simulators.device publishes readings

_SERVER = """
select current_setting('server_version'), current_database(),
       (select extversion from pg_extension where extname = 'timescaledb')
"""
_CONTENTS = """
select exists (select from telemetry.devices), exists (select from telemetry.readings),
       exists (select from telemetry.readings_1m), exists (select from telemetry.readings_1h)
"""
_PARTITIONS = "select telemetry.ensure_partitions(%(first_day)s, %(days)s)"
_COUNT = "select count(*) from telemetry.readings"
_ROLLUP_ROWS = {
    "readings_1m": "select count(*) from telemetry.readings_1m",
    "readings_1h": "select count(*) from telemetry.readings_1h",
}
# A table and its partitions; heap is the table without its TOAST (free-space and visibility maps included).
_PLAIN_SIZES = """
with rel as (
    select c.oid, c.relkind, nullif(c.reltoastrelid, 0) as toast from pg_class c
     where c.oid = %(rel)s::regclass
        or c.oid in (select inhrelid from pg_inherits where inhparent = %(rel)s::regclass)
)
select count(*) filter (where relkind = 'r'),
       coalesce(sum(pg_total_relation_size(oid)), 0)::bigint,
       coalesce(sum(pg_table_size(oid) - coalesce(pg_total_relation_size(toast), 0)), 0)::bigint,
       coalesce(sum(pg_indexes_size(oid)), 0)::bigint,
       coalesce(sum(pg_total_relation_size(toast)), 0)::bigint
  from rel
"""
# Each index of a table summed over its partitions or chunks (both are its inheritance children), by definition,
# every fork counted (a BRIN index has a free-space map as big as itself), as pg_indexes_size does.
_INDEXES = """
select substring(pg_get_indexdef(i.indexrelid) from ' USING (.*)$'), sum(pg_total_relation_size(i.indexrelid))::bigint
  from pg_index i
 where i.indrelid = %(rel)s::regclass
    or i.indrelid in (select inhrelid from pg_inherits where inhparent = %(rel)s::regclass)
 group by 1 order by 2 desc, 1
"""
_HYPERTABLE_SIZES = """
select (select count(*) from show_chunks(%(rel)s::regclass)), hypertable_size(%(rel)s::regclass),
       d.table_bytes, d.index_bytes, d.toast_bytes
  from hypertable_detailed_size(%(rel)s::regclass) d
"""
_MATERIALIZATION = """
select format('%%I.%%I', materialization_hypertable_schema, materialization_hypertable_name)
  from timescaledb_information.continuous_aggregates
 where view_schema = 'telemetry' and view_name = %(view)s
"""
_COMPRESS = "select count(compress_chunk(c)) from show_chunks('telemetry.readings') c"
_COMPRESSION_STATS = """
select number_compressed_chunks, before_compression_total_bytes, after_compression_total_bytes
  from hypertable_compression_stats('telemetry.readings')
"""


class BenchRefused(Exception):
    """The bench cannot measure on this database (the message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """Bytes of a relation: ``total`` as the server reports it, and its split."""

    relations: int  # partitions or chunks
    total: int
    heap: int
    index: int
    toast: int


@dataclass(frozen=True, slots=True)
class RollupSize:
    name: str
    rows: int
    sizes: Sizes


@dataclass(frozen=True, slots=True)
class Compaction:
    """Plain PostgreSQL's rebuild of a finished day's indexes (the storage job's): the sizes after it."""

    sizes: Sizes
    seconds: float
    partitions: int


@dataclass(frozen=True, slots=True)
class Compression:
    """TimescaleDB's compression of every chunk: the hypertable's sizes after it, and its own statistics."""

    sizes: Sizes
    seconds: float
    chunks: int
    before_bytes: int  # hypertable_compression_stats, over the compressed chunks
    after_bytes: int


@dataclass(frozen=True, slots=True)
class StorageFigures:
    backend: str  # telemetry.store.storage_backend: partitioned or timescaledb
    server: str
    database: str
    models: dict[str, int]  # assets per model
    hours: float
    rate_hz: float
    start: datetime
    end: datetime
    samples: int
    readings_written: int
    readings_counted: int
    transactions: int
    write_s: float  # in write_samples and commit only
    wall_s: float  # generation included
    raw: Sizes
    raw_indexes: tuple[tuple[str, int], ...]  # (definition, bytes) of each index of telemetry.readings
    rollups: tuple[RollupSize, ...]
    refresh_s: float
    compression: Compression | None  # None on plain PostgreSQL
    compaction: Compaction | None = None  # None on TimescaleDB


def bytes_per(size: int, count: int) -> float:
    """Bytes per reading (one metric value) or per rollup row; NaN for none."""
    return size / count if count else math.nan


def report(f: StorageFigures) -> str:
    """Every figure of the run, bytes per reading beside each size."""
    n = f.readings_counted
    models = ", ".join(f"{count} {model}" for model, count in f.models.items())
    lines = [
        f"storage benchmark: {sum(f.models.values())} devices ({models}), {f.hours:g} h at {f.rate_hz:g} Hz, "
        f"{f.start:%Y-%m-%d %H:%M} to {f.end:%Y-%m-%d %H:%M} UTC",
        f"database: {f.database}; {f.server}; back-end: {f.backend}",
        f"written: {f.samples:,} samples, {f.readings_written:,} readings in {f.transactions:,} transactions; "
        f"counted in telemetry.readings: {n:,}" + ("" if n == f.readings_written else "  (MISMATCH)"),
        f"write: {_rate(f.readings_written, f.write_s)} readings/s over {f.write_s:.1f} s in write_samples and "
        f"commit; {_rate(f.readings_written, f.wall_s)} readings/s over {f.wall_s:.1f} s wall with generation",
        "",
        f"{'telemetry.readings':<34} {'bytes':>15} {'bytes/reading':>14}",
    ]
    kind = "chunks" if f.backend == "timescaledb" else "partitions"
    lines += _size_rows(f"raw, {f.raw.relations} {kind}", f.raw, n)
    lines[-1:-1] = [f"    {name:<30} {size:>15,} {bytes_per(size, n):>14.2f}" for name, size in f.raw_indexes]
    if f.compaction is not None:
        k = f.compaction
        lines += _size_rows(f"indexes rebuilt, {k.partitions} partitions in {k.seconds:.1f} s", k.sizes, n)
    if f.compression is None:
        lines.append("compressed: n/a (plain PostgreSQL does not compress rows)")
    else:
        c = f.compression
        lines += _size_rows(f"compressed, {c.chunks} chunks in {c.seconds:.1f} s", c.sizes, n)
        lines.append(
            f"compression ratio: {_ratio(f.raw.total, c.sizes.total)} (hypertable_size before / after); "
            f"hypertable_compression_stats: {c.before_bytes:,} -> {c.after_bytes:,} bytes, "
            f"{_ratio(c.before_bytes, c.after_bytes)}"
        )
    lines += [
        "",
        f"rollups, refreshed in {f.refresh_s:.1f} s",
        f"{'':<14} {'rows':>11} {'bytes':>13} {'bytes/row':>10} {'heap':>13} {'index':>13} {'toast':>9} "
        f"{'bytes/reading':>14}",
    ]
    for r in f.rollups:
        lines.append(
            f"{r.name:<14} {r.rows:>11,} {r.sizes.total:>13,} {bytes_per(r.sizes.total, r.rows):>10.1f} "
            f"{r.sizes.heap:>13,} {r.sizes.index:>13,} {r.sizes.toast:>9,} {bytes_per(r.sizes.total, n):>14.2f}"
        )
    return "\n".join(lines)


async def run(
    database_url: str, *, devices: int = DEVICES, hours: float = HOURS, rate_hz: float = RATE_HZ, seed: int = 1,
    batch: int = BATCH, progress: Callable[[str], None] = lambda line: None,
) -> StorageFigures:
    """Write the fleet's readings to an empty database and measure them; raises :class:`BenchRefused`."""
    count = round(hours * 3600 * rate_hz)
    if devices < 1 or count < 1 or batch < 1:
        raise ValueError("need at least one device, one sample each and one sample per batch")
    assets = plan(FleetConfig(devices=devices, rate_hz=rate_hz, seed=seed))
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    start = end - timedelta(seconds=count / rate_hz)
    async with bench_database(database_url, progress) as (url, described):
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            server, _, timescale = await (await conn.execute(_SERVER)).fetchone()
            backend = await storage_backend(conn)
            if backend == "partitioned":  # the schema makes partitions from yesterday on; these days are older
                days = math.ceil((end - start.replace(hour=0, minute=0, second=0, microsecond=0)) / timedelta(days=1))
                await conn.execute(_PARTITIONS, {"first_day": start.date(), "days": days})
            async with conn.transaction():
                for a in assets:
                    await provision_device(conn, asset_id=a.asset_id, site_id=a.site_id, model=a.model,
                                           expected_interval_s=a.expected_interval_s)
            wall = time.perf_counter()
            samples = written = transactions = 0
            write_s = 0.0
            for chunk in _batches(assets, start=start, count=count, rate_hz=rate_hz, seed=seed, batch=batch):
                t0 = time.perf_counter()
                async with conn.transaction():
                    written += await write_samples(conn, chunk)
                write_s += time.perf_counter() - t0
                samples += len(chunk)
                transactions += 1
                if transactions % 50 == 0:
                    progress(f"written {samples:,} of {count * devices:,} samples ({written:,} readings)")
            wall_s = time.perf_counter() - wall
            progress("vacuum analyze telemetry.readings")
            await conn.execute("vacuum analyze telemetry.readings")
            counted = (await (await conn.execute(_COUNT)).fetchone())[0]
            raw = await _sizes(conn, backend, "telemetry.readings")
            raw_indexes = tuple(await (await conn.execute(_INDEXES, {"rel": "telemetry.readings"})).fetchall())
            progress("refreshing the rollups")
            t0 = time.perf_counter()
            await refresh_rollups(conn, upto=datetime.now(UTC))
            refresh_s = time.perf_counter() - t0
            rollups = tuple([await _rollup(conn, backend, name) for name in _ROLLUP_ROWS])
            compression = compaction = None
            if backend == "timescaledb":
                progress("compressing every chunk")
                compression = await _compress(conn)
            else:
                progress("rebuilding the finished day's indexes, as the storage job does")
                t0 = time.perf_counter()
                rebuilt = await compact_closed_partitions(conn, now=datetime.now(UTC))
                compaction = Compaction(await _sizes(conn, backend, "telemetry.readings"),
                                        time.perf_counter() - t0, len(rebuilt))
    return StorageFigures(
        backend=backend, server=f"PostgreSQL {server}" + (f", timescaledb {timescale}" if timescale else ""),
        database=described, models=_models(assets), hours=hours, rate_hz=rate_hz, start=start, end=end,
        samples=samples, readings_written=written, readings_counted=counted, transactions=transactions,
        write_s=write_s, wall_s=wall_s, raw=raw, raw_indexes=raw_indexes, rollups=rollups, refresh_s=refresh_s,
        compression=compression, compaction=compaction,
    )


@asynccontextmanager
async def bench_database(url: str, progress: Callable[[str], None]) -> AsyncIterator[tuple[str, str]]:
    """A database of its own when the server allows one (dropped after), else the given one if it is empty."""
    name = f"fleetcare_bench_{uuid.uuid4().hex[:8]}"
    async with await AsyncConnection.connect(url, autocommit=True) as admin:
        try:
            await admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            created = True
        except psycopg.Error as exc:
            progress(f"cannot create a database ({exc.sqlstate}: {str(exc).strip()}); using the one given")
            created = False
        if created:
            try:
                own = with_database(url, name)
                # a server that accepts CREATE DATABASE may still not serve it (the TimescaleDB harness is one
                # database whatever the name): only a connection that lands in it counts
                async with await AsyncConnection.connect(own, autocommit=True) as conn:
                    landed = (await (await conn.execute("select current_database()")).fetchone())[0] == name
                if landed:
                    progress(f"created database {name}; applying the migrations")
                    upgrade(own)
                    yield own, f"{name} (created for this run and dropped after)"
                    return
                progress(f"created database {name} but connections do not reach it; using the one given")
            finally:
                await admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    upgrade(url)
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        devices, readings, minutes, hours = await (await conn.execute(_CONTENTS)).fetchone()
        given = (await (await conn.execute("select current_database()")).fetchone())[0]
    if devices or readings or minutes or hours:
        held = [what for what, there in (("devices", devices), ("readings", readings), ("1-minute rollups", minutes),
                                         ("1-hour rollups", hours)) if there]
        raise BenchRefused(
            f"database {given} already holds {', '.join(held)}, and the server does not let the bench work in a "
            "database of its own. It measures the size of telemetry.readings, so it needs an empty, migrated "
            "database: point --database at one (on the TimescaleDB harness, restart it for a new one)."
        )
    yield url, f"{given} (given; the server offers no other database; the bench's data stays in it)"


def _batches(
    assets: list[Asset], *, start: datetime, count: int, rate_hz: float, seed: int, batch: int
) -> Iterator[list[Sample]]:
    """Every asset's samples in time order, ``batch`` or a few more at a time, generated as they are needed."""
    streams = [
        generate(a.model, (count - 1) / rate_hz, rate_hz, seed=f"{seed}:{a.asset_id}", operation=STEADY)
        for a in assets
    ]
    pending: list[Sample] = []
    for k, row in enumerate(zip(*streams, strict=True)):
        at = start + timedelta(seconds=k / rate_hz)
        for asset, (_, metrics) in zip(assets, row, strict=True):
            pending.append(Sample(asset.asset_id, at, {m: round(v, DECIMALS) for m, v in metrics.items()}, k))
        if len(pending) >= batch:
            yield pending
            pending = []
    if pending:
        yield pending


async def _sizes(conn: AsyncConnection, backend: str, relation: str) -> Sizes:
    query = _HYPERTABLE_SIZES if backend == "timescaledb" else _PLAIN_SIZES
    row = await (await conn.execute(query, {"rel": relation})).fetchone()
    return Sizes(*row)


async def _rollup(conn: AsyncConnection, backend: str, name: str) -> RollupSize:
    rows = (await (await conn.execute(_ROLLUP_ROWS[name])).fetchone())[0]
    relation = f"telemetry.{name}"
    if backend == "timescaledb":  # a continuous aggregate is a view; its rows live in a materialization hypertable
        relation = (await (await conn.execute(_MATERIALIZATION, {"view": name})).fetchone())[0]
    return RollupSize(name, rows, await _sizes(conn, backend, relation))


async def _compress(conn: AsyncConnection) -> Compression:
    t0 = time.perf_counter()
    chunks = (await (await conn.execute(_COMPRESS)).fetchone())[0]
    seconds = time.perf_counter() - t0
    sizes = await _sizes(conn, "timescaledb", "telemetry.readings")
    compressed, before, after = await (await conn.execute(_COMPRESSION_STATS)).fetchone()
    if compressed != chunks:
        raise RuntimeError(f"compressed {chunks} chunks but TimescaleDB counts {compressed}")
    return Compression(sizes, seconds, chunks, before, after)


def _models(assets: list[Asset]) -> dict[str, int]:
    models: dict[str, int] = {}
    for a in assets:
        models[a.model] = models.get(a.model, 0) + 1
    return models


def _size_rows(title: str, s: Sizes, readings: int) -> list[str]:
    return [f"{title:<34} {s.total:>15,} {bytes_per(s.total, readings):>14.2f}"] + [
        f"  {part:<32} {size:>15,} {bytes_per(size, readings):>14.2f}"
        for part, size in (("heap", s.heap), ("index", s.index), ("toast", s.toast))
    ]


def _rate(readings: int, seconds: float) -> str:
    return f"{readings / seconds:,.0f}" if seconds > 0 else "n/a"


def _ratio(before: int, after: int) -> str:
    return f"{before / after:.1f}x" if after else "n/a"
