"""Rollups, history queries, compression and retention, on native PostgreSQL partitions and on TimescaleDB.

Every answer is checked against the same reference computed here from the readings written, so both back-ends
give the same answers on the same data.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from telemetry import storage, store
from telemetry.readings import Sample
from telemetry.rollups import ORIGIN, TelemetryQueryError, floor
from telemetry.storage import StoragePolicy

NOW = datetime.now(UTC)
T0 = floor(NOW, timedelta(hours=1)) - timedelta(hours=4)
ASSETS = ("pump-001", "pump-002")
STEP = timedelta(seconds=10)


def fleet(start: datetime, span: timedelta, *, step: timedelta = STEP, offset: float = 0.0) -> list[Sample]:
    n = int(span / step)
    return [
        Sample(asset, start + i * step, {"flow_m3h": 100 + 10 * math.sin(i / 7 + k) + offset,
                                         "pressure_bar": 6 + math.cos(i / 11) / (k + 1)}, i)
        for k, asset in enumerate(ASSETS) for i in range(n)
    ]


def reference(samples: list[Sample], asset: str, metric: str, start: datetime, end: datetime, width: timedelta):
    """(bucket, min, avg, max, count) computed here, from the samples written."""
    buckets: dict[datetime, list[float]] = defaultdict(list)
    for s in samples:
        if s.asset_id == asset and start <= s.ts < end:
            buckets[ORIGIN + (s.ts - ORIGIN) // width * width].append(s.metrics[metric])
    return [(b, min(v), sum(v) / len(v), max(v), len(v)) for b, v in sorted(buckets.items())]


async def history(aconn, asset: str, metric: str, start: datetime, end: datetime, width: timedelta):
    rows = await store.aggregate(aconn, asset_id=asset, metric=metric, start=start, end=end, width=width)
    return [(b.bucket, b.min, b.avg, b.max, b.count) for b in rows]


def same(got, expected) -> bool:
    return len(got) == len(expected) and all(
        g[0] == e[0] and g[4] == e[4] and g[1] == pytest.approx(e[1]) and g[2] == pytest.approx(e[2], rel=1e-12)
        and g[3] == pytest.approx(e[3]) for g, e in zip(got, expected, strict=True)
    )


async def write(aconn, samples: list[Sample]) -> int:
    async with aconn.transaction():
        return await store.write_samples(aconn, samples)


@asynccontextmanager
async def outside_transaction(aconn):
    """The test's connection in autocommit for a while: TimescaleDB's refresh and jobs cannot run in a transaction
    (and the harness serves one transaction at a time, so a second connection would wait for this one)."""
    await aconn.commit()
    await aconn.set_autocommit(True)
    try:
        yield aconn
    finally:
        await aconn.set_autocommit(False)


async def refresh(aconn, upto: datetime) -> None:
    async with outside_transaction(aconn):
        await storage.refresh_rollups(aconn, upto=upto)


async def provision(aconn) -> None:
    async with aconn.transaction():
        for asset in ASSETS:
            await store.provision_device(aconn, asset_id=asset, site_id="site-1", model="CP-200")


QUERIES = [  # (start, end, width): raw only, the minute rollup with ragged edges, the hour rollup, days
    (T0, T0 + timedelta(hours=3), timedelta(seconds=30)),
    (T0 + timedelta(minutes=5, seconds=3), T0 + timedelta(hours=3), timedelta(minutes=10)),
    (T0, T0 + timedelta(hours=3), timedelta(hours=1)),
    (T0 - timedelta(days=1), T0 + timedelta(days=1), timedelta(days=1)),
]


@pytest.mark.asyncio
async def test_history_from_rollups_and_raw_readings_is_the_reference(aconn):
    await provision(aconn)
    samples = fleet(T0, timedelta(hours=3))
    assert await write(aconn, samples) == len(samples) * 2
    assert await store.watermark(aconn, "1m") is None  # nothing rolled up yet: every answer from raw readings
    for start, end, width in QUERIES:
        for asset in ASSETS:
            assert same(await history(aconn, asset, "flow_m3h", start, end, width),
                        reference(samples, asset, "flow_m3h", start, end, width))

    await refresh(aconn, T0 + timedelta(hours=2, minutes=30, seconds=20))
    assert await store.watermark(aconn, "1m") == T0 + timedelta(hours=2, minutes=30)
    assert await store.watermark(aconn, "1h") == T0 + timedelta(hours=2)
    cur = await aconn.execute("select count(*), sum(count) from telemetry.readings_1m where metric = 'pressure_bar'")
    assert tuple(await cur.fetchone()) == (2 * 150, 2 * 150 * 6)  # 150 minutes of 6 readings, per asset
    for start, end, width in QUERIES:
        for asset in ASSETS:
            for metric in ("flow_m3h", "pressure_bar"):
                assert same(await history(aconn, asset, metric, start, end, width),
                            reference(samples, asset, metric, start, end, width)), (asset, metric, width)


@pytest.mark.asyncio
async def test_a_backlog_behind_the_watermark_is_rolled_up_once(aconn):
    await provision(aconn)
    live = fleet(T0, timedelta(hours=3), step=timedelta(seconds=20))
    await write(aconn, live)
    await refresh(aconn, T0 + timedelta(hours=3))
    # a device that was offline sends what it kept, in between, plus readings already stored (redelivered)
    backlog = fleet(T0 + timedelta(seconds=10), timedelta(hours=1), step=timedelta(seconds=20), offset=50.0)
    assert await write(aconn, backlog + live[:30]) == len(backlog) * 2
    await refresh(aconn, T0 + timedelta(hours=3))  # TimescaleDB's refresh policy does this within a minute
    every = live + backlog
    for start, end, width in QUERIES[1:3]:
        assert same(await history(aconn, "pump-002", "flow_m3h", start, end, width),
                    reference(every, "pump-002", "flow_m3h", start, end, width))


@pytest.mark.asyncio
async def test_a_history_query_that_cannot_be_answered_is_refused(aconn):
    with pytest.raises(TelemetryQueryError, match="buckets"):
        await store.aggregate(aconn, asset_id="pump-001", metric="flow_m3h", start=T0, end=T0 + timedelta(days=400),
                              width=timedelta(seconds=1))


@pytest.mark.asyncio
async def test_retention_drops_old_raw_readings_whole_and_keeps_their_rollups(aconn):
    await provision(aconn)
    old_day = floor(NOW, timedelta(days=1)) - timedelta(days=100)
    backend = await store.storage_backend(aconn)
    if backend == "partitioned":  # partitions for those days, as if the system had been running then
        await aconn.execute("select telemetry.ensure_partitions(%(d)s::date, 2)", {"d": old_day})
        await aconn.commit()
    old = fleet(old_day, timedelta(hours=2), step=timedelta(minutes=1))
    recent = fleet(T0, timedelta(hours=1), step=timedelta(minutes=1))
    await write(aconn, old + recent)
    await refresh(aconn, NOW - timedelta(hours=1))
    policy = StoragePolicy(raw_retention=timedelta(days=90))

    if backend == "partitioned":
        async with aconn.transaction():
            done = await storage.housekeeping(aconn, policy, now=NOW)
        assert done.partitions_dropped == 2
        cur = await aconn.execute("select count(*) from pg_inherits where inhparent = 'telemetry.readings'::regclass "
                                  "and inhrelid::regclass::text like %(p)s", {"p": f"%{old_day:%Y%m%d}"})
        assert (await cur.fetchone())[0] == 0
    else:
        async with aconn.transaction():
            await storage.apply_policy(aconn, policy)
        chunks_before = await _chunks(aconn)
        await _run_job(aconn, "policy_retention", "telemetry", "readings")
        assert await _chunks(aconn) < chunks_before

    cur = await aconn.execute("select min(ts), count(*) from telemetry.readings")
    first, count = await cur.fetchone()
    assert first == T0 and count == len(recent) * 2
    # the hour rollup still answers for the dropped day
    day = (old_day, old_day + timedelta(days=1), timedelta(hours=1))
    assert same(await history(aconn, "pump-001", "flow_m3h", *day), reference(old, "pump-001", "flow_m3h", *day))


@pytest.mark.backends("timescaledb")
@pytest.mark.asyncio
async def test_the_storage_policy_is_timescaledbs_own_policies(aconn):
    policy = StoragePolicy(readings_per_s=5_000, compress_after=timedelta(days=3), raw_retention=timedelta(days=30),
                           minute_rollup_retention=timedelta(days=200), hour_rollup_retention=None)
    for _ in range(2):  # applying it again replaces, never duplicates
        async with aconn.transaction():
            await storage.apply_policy(aconn, policy)
    cur = await aconn.execute(
        "select time_interval from timescaledb_information.dimensions where hypertable_name = 'readings'")
    assert (await cur.fetchone())[0] == timedelta(hours=1)
    cur = await aconn.execute(
        "select proc_name, hypertable_name, config from timescaledb_information.jobs where job_id >= 1000")
    jobs = [(proc, table, {k: v for k, v in config.items() if k not in ("hypertable_id", "mat_hypertable_id")})
            for proc, table, config in await cur.fetchall()]
    assert sorted(jobs) == [
        ("policy_compression", "readings", {"compress_after": "3 days"}),
        ("policy_refresh_continuous_aggregate", "readings_1h", {"start_offset": "199 days", "end_offset": "01:00:00"}),
        ("policy_refresh_continuous_aggregate", "readings_1m", {"start_offset": "29 days", "end_offset": "00:01:00"}),
        ("policy_retention", "readings", {"drop_after": "30 days"}),
        ("policy_retention", "readings_1m", {"drop_after": "200 days"}),
    ]


@pytest.mark.backends("timescaledb")
@pytest.mark.asyncio
async def test_compressed_chunks_still_answer_and_take_late_readings_once(aconn):
    await provision(aconn)
    start = floor(NOW, timedelta(days=1)) - timedelta(days=10)
    samples = fleet(start, timedelta(hours=6))
    await write(aconn, samples)
    async with aconn.transaction():
        await storage.apply_policy(aconn, StoragePolicy(compress_after=timedelta(days=7)))
    await _run_job(aconn, "policy_compression", "telemetry", "readings")
    cur = await aconn.execute("select bool_and(is_compressed) from timescaledb_information.chunks "
                              "where hypertable_name = 'readings'")
    assert (await cur.fetchone())[0] is True
    query = (start, start + timedelta(hours=6), timedelta(minutes=10))
    expected = reference(samples, "pump-001", "flow_m3h", *query)
    assert same(await history(aconn, "pump-001", "flow_m3h", *query), expected)
    # a backlog into a compressed chunk: the new readings are stored, the ones already there are not doubled
    late = fleet(start + timedelta(seconds=5), timedelta(minutes=30))
    assert await write(aconn, late + samples[:20]) == len(late) * 2
    assert same(await history(aconn, "pump-001", "flow_m3h", *query),
                reference(samples + late, "pump-001", "flow_m3h", *query))


@pytest.mark.backends("postgresql")
@pytest.mark.asyncio
async def test_a_refresh_waits_for_a_write_in_flight_and_counts_it(aconn, db_url):
    await provision(aconn)
    samples = fleet(T0, timedelta(minutes=30))
    await aconn.execute("begin")
    await store.write_samples(aconn, samples)  # not committed yet: the trigger holds the rollup lock shared
    refreshing = asyncio.create_task(_refresh_elsewhere(db_url, T0 + timedelta(hours=1)))
    await asyncio.sleep(0.5)
    assert not refreshing.done()
    await aconn.execute("commit")
    await asyncio.wait_for(refreshing, 10)
    query = (T0, T0 + timedelta(hours=1), timedelta(minutes=5))
    expected = reference(samples, "pump-001", "flow_m3h", *query)
    assert same(await history(aconn, "pump-001", "flow_m3h", *query), expected)
    cur = await aconn.execute("select sum(count) from telemetry.readings_1m")
    assert (await cur.fetchone())[0] == len(samples) * 2


@pytest.mark.backends("postgresql")
@pytest.mark.asyncio
async def test_housekeeping_rolls_up_to_a_minute_ago_and_creates_partitions_ahead(aconn):
    await provision(aconn)
    samples = fleet(NOW - timedelta(minutes=10), timedelta(minutes=10), step=timedelta(seconds=5))
    await write(aconn, samples)
    async with aconn.transaction():
        done = await storage.housekeeping(aconn, StoragePolicy(), now=NOW)
    assert done.minute_watermark == floor(NOW - timedelta(minutes=1), timedelta(minutes=1))
    assert await store.watermark(aconn, "1m") == done.minute_watermark
    cur = await aconn.execute("select sum(count) from telemetry.readings_1m")
    behind = sum(2 for s in samples if s.ts < done.minute_watermark)
    assert (await cur.fetchone())[0] == behind
    cur = await aconn.execute("select count(*) from pg_inherits where inhparent = 'telemetry.readings'::regclass")
    assert (await cur.fetchone())[0] >= 10


async def _chunks(aconn) -> int:
    cur = await aconn.execute("select count(*) from show_chunks('telemetry.readings')")
    return (await cur.fetchone())[0]


async def _refresh_elsewhere(db_url: str, upto: datetime) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await storage.refresh_rollups(conn, upto=upto)


async def _run_job(aconn, proc: str, schema: str, table: str) -> None:
    """Run a TimescaleDB policy now, as its scheduler would (the harness runs no background workers)."""
    async with outside_transaction(aconn):
        cur = await aconn.execute(
            "select job_id from timescaledb_information.jobs where proc_name = %(p)s and hypertable_schema = %(s)s "
            "and hypertable_name = %(t)s", {"p": proc, "s": schema, "t": table})
        (job,) = await cur.fetchone()
        await aconn.execute("call run_job(%(j)s)", {"j": job})


@pytest.mark.asyncio
@pytest.mark.backends("postgresql")
async def test_a_finished_days_half_empty_index_is_rebuilt_once(aconn):
    await provision(aconn)
    day = floor(NOW, timedelta(days=1)) - timedelta(days=3)
    await aconn.execute("select telemetry.ensure_partitions(%(d)s::date, 1)", {"d": day})
    await aconn.commit()
    # every series' readings interleaved in time, as a fleet sends them: the key's pages split half full
    await write(aconn, fleet(day, timedelta(hours=6), step=timedelta(seconds=1)))
    partition = f"telemetry.readings_p{day:%Y%m%d}"
    size = "select pg_indexes_size(%(p)s::regclass)"
    before = (await (await aconn.execute(size, {"p": partition})).fetchone())[0]
    await aconn.commit()
    await aconn.set_autocommit(True)
    assert partition.removeprefix("telemetry.") in await storage.compact_closed_partitions(aconn, now=NOW)
    assert await storage.compact_closed_partitions(aconn, now=NOW) == []  # recorded: once is enough
    after = (await (await aconn.execute(size, {"p": partition})).fetchone())[0]
    assert after < 0.75 * before
    cur = await aconn.execute("select count(*) from telemetry.readings where ts >= %(d)s", {"d": day})
    assert (await cur.fetchone())[0] == 6 * 3600 * 2 * 2
