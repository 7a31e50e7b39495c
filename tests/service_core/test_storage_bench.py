"""``fleetcare bench storage``: the figures it prints, and real runs on both back-ends for a tiny fleet."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from service_core import cli
from service_core.runtime import storage_bench
from service_core.runtime.storage_bench import Compression, RollupSize, Sizes, StorageFigures
from simulators.fleet import FleetConfig, plan

START = datetime(2026, 1, 5, tzinfo=UTC)


def _figures(backend: str, compression: Compression | None) -> StorageFigures:
    return StorageFigures(
        backend=backend, server="PostgreSQL 17", database="bench", models={"CP-200": 2, "EM-75": 1}, hours=1.0,
        rate_hz=1.0, start=START, end=START + timedelta(hours=1), samples=10_800, readings_written=61_200,
        readings_counted=61_200, transactions=3, write_s=0.5, wall_s=1.0,
        raw=Sizes(relations=1, total=12_240_000, heap=4_896_000, index=7_344_000, toast=0),
        raw_indexes=(("btree (asset_id, metric, ts)", 6_120_000), ("btree (ts DESC)", 1_224_000)),
        rollups=(RollupSize("readings_1m", 1_020, Sizes(1, 153_000, 100_000, 45_000, 8_000)),
                 RollupSize("readings_1h", 17, Sizes(1, 30_600, 8_192, 16_384, 6_024))),
        refresh_s=0.1, compression=compression,
    )


def test_every_size_is_divided_by_the_readings_counted():
    text = storage_bench.report(_figures("partitioned", None))
    flat = " ".join(text.split())

    assert "61,200 readings in 3 transactions; counted in telemetry.readings: 61,200\n" in text
    assert "122,400 readings/s over 0.5 s in write_samples" in text and "61,200 readings/s over 1.0 s wall" in text
    rows = {line.split()[0]: line.split()[-1] for line in text.splitlines() if line.strip()}
    assert rows["raw,"] == "200.00" and rows["heap"] == "80.00" and rows["index"] == "120.00"
    assert rows["toast"] == "0.00" and "btree (asset_id, metric, ts) 6,120,000 100.00" in flat
    assert rows["readings_1m"] == "2.50" and "1,020 153,000 150.0" in flat  # per raw reading, per row
    assert rows["readings_1h"] == "0.50" and "1800.0" in text
    assert "compressed: n/a (plain PostgreSQL does not compress rows)" in text
    assert "MISMATCH" not in text
    assert math.isnan(storage_bench.bytes_per(100, 0))


def test_compression_is_reported_per_reading_and_as_a_ratio():
    compressed = Compression(Sizes(1, 612_000, 61_200, 30_600, 520_200), seconds=2.0, chunks=1,
                             before_bytes=12_000_000, after_bytes=600_000)
    text = " ".join(storage_bench.report(_figures("timescaledb", compressed)).split())

    assert "raw, 1 chunks" in text and "compressed, 1 chunks in 2.0 s 612,000 10.00" in text
    assert "compression ratio: 20.0x (hypertable_size before / after)" in text
    assert "12,000,000 -> 600,000 bytes, 20.0x" in text and "n/a" not in text


def test_the_fleet_is_generated_in_time_order_in_batches_of_a_few_samples_more_at_most():
    assets = plan(FleetConfig(devices=3, seed=1))
    batches = list(storage_bench._batches(assets, start=START, count=30, rate_hz=2.0, seed=1, batch=10))

    assert [len(b) for b in batches] == [12] * 7 + [6]  # whole instants of three assets, 10 or just over
    samples = [s for b in batches for s in b]
    assert [s.ts for s in samples] == sorted(s.ts for s in samples)
    assert samples[-1].ts == START + timedelta(seconds=14.5) and samples[-1].seq == 29
    assert {s.asset_id: len(s.metrics) for s in samples} == {"pump-001": 6, "pump-002": 6, "motor-001": 5}
    assert all(round(v, 3) == v for s in samples for v in s.metrics.values())


def test_without_a_database_it_says_how_to_start_the_timescaledb_harness(monkeypatch, capsys):
    monkeypatch.delenv("FLEETCARE_DATABASE_URL", raising=False)

    assert cli.main(["bench", "storage"]) == 2
    assert "sleep infinity | node tests/timescale/server.mjs 5433 &" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_a_tiny_fleet_on_postgresql_in_a_database_of_its_own(pg_server_url: str):
    figures = await storage_bench.run(pg_server_url, devices=2, hours=0.05, batch=100)

    assert figures.backend == "partitioned" and figures.compression is None
    assert figures.compaction.partitions >= 1 and figures.compaction.sizes.heap == figures.raw.heap
    assert figures.samples == 2 * 180 and figures.transactions == 4
    assert figures.readings_written == figures.readings_counted == 2 * 180 * 6  # two pumps
    assert figures.end <= datetime.now(UTC) - timedelta(days=1) and figures.end - figures.start == timedelta(minutes=3)
    raw = figures.raw
    assert raw.total == raw.heap + raw.index + raw.toast and raw.heap > 0 and raw.index > 0 and raw.relations > 1
    assert sum(size for _, size in figures.raw_indexes) == raw.index
    assert [(r.name, r.rows) for r in figures.rollups] == [("readings_1m", 2 * 6 * 3), ("readings_1h", 2 * 6)]
    assert all(r.sizes.total > 0 for r in figures.rollups)
    name = figures.database.split()[0]
    with psycopg.connect(pg_server_url) as conn:
        assert conn.execute("select count(*) from pg_database where datname = %s", (name,)).fetchone() == (0,)


@pytest.mark.asyncio
async def test_on_the_timescaledb_harness_it_uses_the_one_database_once(timescale_db_url: str):
    figures = await storage_bench.run(timescale_db_url, devices=2, hours=0.05)

    assert figures.backend == "timescaledb" and "given" in figures.database
    assert figures.readings_written == figures.readings_counted == 2 * 180 * 6
    c = figures.compression
    assert c is not None and c.chunks == figures.raw.relations == 1
    assert 0 < c.sizes.total < figures.raw.total and 0 < c.after_bytes < c.before_bytes
    assert [(r.name, r.rows) for r in figures.rollups] == [("readings_1m", 2 * 6 * 3), ("readings_1h", 2 * 6)]
    with pytest.raises(storage_bench.BenchRefused, match="already holds devices, readings"):
        await storage_bench.run(timescale_db_url, devices=2, hours=0.05)
