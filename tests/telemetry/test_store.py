"""The telemetry store on the real PostgreSQL: idempotent writes, latest values, bucketed aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telemetry import store
from telemetry.readings import Sample

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


async def _provision(aconn, *assets: str) -> None:
    for asset in assets:
        await store.provision_device(aconn, asset_id=asset, site_id="site-1", model="CP-200")


@pytest.mark.asyncio
async def test_schema_records_its_storage_choice(aconn):
    backend = await store.storage_backend(aconn)
    cur = await aconn.execute("select count(*) from pg_extension where extname = 'timescaledb'")
    has_timescale = (await cur.fetchone())[0] == 1
    assert backend == ("timescaledb" if has_timescale else "partitioned")


@pytest.mark.asyncio
async def test_writing_the_same_samples_twice_stores_them_once(aconn):
    await _provision(aconn, "pump-001")
    samples = [Sample("pump-001", T0 + timedelta(seconds=i), {"flow_m3h": 100.0 + i, "pressure_bar": 6.0}, i)
               for i in range(50)]
    async with aconn.transaction():
        assert await store.write_samples(aconn, samples) == 100
    async with aconn.transaction():
        assert await store.write_samples(aconn, samples[40:] + [Sample("pump-001", T0, {"speed_rpm": 2950.0})]) == 1
    cur = await aconn.execute("select count(*), max(seq) from telemetry.readings")
    assert await cur.fetchone() == (101, 49)


@pytest.mark.asyncio
async def test_latest_gives_the_newest_value_of_each_metric_per_asset(aconn):
    await _provision(aconn, "pump-001", "pump-002")
    async with aconn.transaction():
        await store.write_samples(aconn, [
            Sample("pump-001", T0, {"flow_m3h": 1.0, "pressure_bar": 5.0}),
            Sample("pump-001", T0 + timedelta(seconds=1), {"flow_m3h": 2.0}),
            Sample("pump-002", T0 + timedelta(seconds=5), {"flow_m3h": 9.0}),
        ])
    values = {(v.asset_id, v.metric): v.value for v in await store.latest(aconn)}
    assert values == {("pump-001", "flow_m3h"): 2.0, ("pump-001", "pressure_bar"): 5.0, ("pump-002", "flow_m3h"): 9.0}
    only = await store.latest(aconn, asset_ids=["pump-002"])
    assert [(v.asset_id, v.value) for v in only] == [("pump-002", 9.0)]


@pytest.mark.asyncio
async def test_aggregate_buckets_min_avg_max_count(aconn):
    await _provision(aconn, "pump-001")
    # one value a minute for 30 minutes: 0, 1, ..., 29
    async with aconn.transaction():
        await store.write_samples(
            aconn, [Sample("pump-001", T0 + timedelta(minutes=i), {"flow_m3h": float(i)}) for i in range(30)]
        )
    buckets = await store.aggregate(
        aconn, asset_id="pump-001", metric="flow_m3h", start=T0, end=T0 + timedelta(hours=1),
        width=timedelta(minutes=10),
    )
    assert [(b.bucket, b.min, b.avg, b.max, b.count) for b in buckets] == [
        (T0, 0.0, 4.5, 9.0, 10),
        (T0 + timedelta(minutes=10), 10.0, 14.5, 19.0, 10),
        (T0 + timedelta(minutes=20), 20.0, 24.5, 29.0, 10),
    ]


@pytest.mark.backends("postgresql")
@pytest.mark.asyncio
async def test_partitions_exist_ahead_and_old_data_lands_in_the_default_partition(aconn):
    await store.ensure_partitions(aconn, days_ahead=7)
    cur = await aconn.execute(
        "select count(*) from pg_inherits where inhparent = 'telemetry.readings'::regclass"
    )
    assert (await cur.fetchone())[0] >= 10  # yesterday .. a week ahead, plus the default
    await _provision(aconn, "pump-001")
    long_ago = datetime(2020, 5, 17, 12, tzinfo=UTC)
    async with aconn.transaction():
        await store.write_samples(aconn, [Sample("pump-001", long_ago, {"flow_m3h": 1.0}),
                                          Sample("pump-001", datetime.now(UTC), {"flow_m3h": 2.0})])
    cur = await aconn.execute("select tableoid::regclass::text, value from telemetry.readings order by ts")
    rows = await cur.fetchall()
    assert rows[0] == ("telemetry.readings_default", 1.0)
    assert rows[1][0].startswith("telemetry.readings_p")


@pytest.mark.asyncio
async def test_copy_keeps_every_character_and_value_exact(aconn):
    await _provision(aconn, "pump-001")
    odd = {"tab\there": 1e-300, "back\\slash": -0.1, "new\nline": 12345678.123456789, "cr\rx": 3.0}
    async with aconn.transaction():
        assert await store.write_samples(aconn, [Sample("pump-001", T0 + timedelta(microseconds=1), odd)]) == 4
    cur = await aconn.execute("select metric, value, ts, seq from telemetry.readings order by metric")
    rows = await cur.fetchall()
    assert {m: v for m, v, _, _ in rows} == odd
    assert {(ts, seq) for _, _, ts, seq in rows} == {(T0 + timedelta(microseconds=1), None)}
