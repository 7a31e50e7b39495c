"""An asset's telemetry over the API: bucketed history (rollups behind their watermark, raw after) and latest values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from telemetry import storage, store
from telemetry.readings import Sample

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


async def _pump(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn, conn.transaction():
        await store.provision_device(conn, asset_id="pump-001", site_id="site-1", model="CP-200")
        # one reading every 30 s for two hours: 0, 1, 2, ...
        await store.write_samples(conn, [Sample("pump-001", T0 + timedelta(seconds=30 * i),
                                                {"flow_m3h": float(i), "pressure_bar": 6.0}) for i in range(240)])


@pytest.mark.asyncio
async def test_history_buckets_come_from_rollups_and_raw_readings_alike(client: httpx.AsyncClient, pool):
    await _pump(pool)
    params = {"metric": "flow_m3h", "start": T0.isoformat(), "end": (T0 + timedelta(hours=2)).isoformat(),
              "bucket": "PT1H"}
    before = (await client.get("/assets/pump-001/telemetry", params=params)).json()
    async with pool.connection() as conn, conn.transaction():
        await storage.refresh_rollups(conn, upto=T0 + timedelta(hours=1, minutes=30))
    after = await client.get("/assets/pump-001/telemetry", params=params)
    assert after.status_code == 200
    assert after.json() == before
    assert before["bucket_seconds"] == 3600
    assert [(b["min"], b["avg"], b["max"], b["count"]) for b in before["buckets"]] == [
        (0.0, 59.5, 119.0, 120), (120.0, 179.5, 239.0, 120),
    ]


@pytest.mark.asyncio
async def test_history_picks_a_bucket_width_when_none_is_asked(client: httpx.AsyncClient, pool):
    await _pump(pool)
    page = await client.get("/assets/pump-001/telemetry", params={
        "metric": "pressure_bar", "start": T0.isoformat(), "end": (T0 + timedelta(hours=2)).isoformat()})
    body = page.json()
    assert body["bucket_seconds"] == 30  # 240 buckets: the finest width giving at most 300
    assert len(body["buckets"]) == 240 and {b["count"] for b in body["buckets"]} == {1}


@pytest.mark.asyncio
async def test_latest_values(client: httpx.AsyncClient, pool):
    await _pump(pool)
    latest = (await client.get("/assets/pump-001/telemetry/latest")).json()
    assert {v["metric"]: v["value"] for v in latest} == {"flow_m3h": 239.0, "pressure_bar": 6.0}


@pytest.mark.asyncio
@pytest.mark.parametrize(("path", "params", "status", "says"), [
    ("/assets/pump-404/telemetry/latest", {}, 404, "no device 'pump-404'"),
    ("/assets/pump-001/telemetry", {"metric": "flow_m3h", "bucket": "PT0.5S"}, 422, "at least one second"),
    ("/assets/pump-001/telemetry", {"metric": "flow_m3h", "start": "2026-01-02T00:00:00Z",
                                    "end": "2026-01-01T00:00:00Z"}, 422, "must be after start"),
    ("/assets/pump-001/telemetry", {"metric": "flow_m3h", "start": "2026-01-01T00:00:00",
                                    "end": "2026-01-02T00:00:00Z"}, 422, "time zone"),
    ("/assets/pump-001/telemetry", {"metric": "flow_m3h", "start": "2025-01-01T00:00:00Z",
                                    "end": "2026-01-01T00:00:00Z", "bucket": "PT1S"}, 422, "buckets"),
    ("/assets/pump-001/telemetry", {}, 422, "metric"),
])
async def test_bad_history_requests_say_what_is_wrong(client: httpx.AsyncClient, pool, path, params, status, says):
    await _pump(pool)
    answer = await client.get(path, params=params)
    assert answer.status_code == status
    assert says in str(answer.json()["detail"])
