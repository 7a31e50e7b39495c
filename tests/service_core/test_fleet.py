"""The fleet-health page at / and its JSON twin at /fleet; dispatch's reasoning at /dispatch/candidates."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from service_core.workorders.flows import open_preventive_order
from tests.service_core.builders import a_site, an_alert, an_asset, an_engineer

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


async def _fleet(pool: AsyncConnectionPool) -> int:
    async with pool.connection() as conn, conn.transaction():
        site = await a_site(conn, code="rtm-01")
        await an_asset(conn, site=site, asset_id="pump-001")
        await an_asset(conn, site=site, asset_id="motor-007", model="EM-75")
        engineer = await an_engineer(conn, name="Eva <ops>")
        await open_preventive_order(conn, alert=an_alert("pump-001"), alert_id=None, now=NOW)
    return engineer.id


@pytest.mark.asyncio
async def test_page_lists_assets_status_scores_and_orders(
    client: httpx.AsyncClient, pool: AsyncConnectionPool, conn: psycopg.Connection
) -> None:
    await _fleet(pool)
    conn.execute(
        "update telemetry.devices set connection = 'online', last_seen = '2025-03-04 10:00:00+00'"
        " where asset_id = 'pump-001'"
    )
    conn.execute(
        "insert into maintenance.scores (asset_id, ts, score)"
        " values ('pump-001', '2025-03-04 09:00+00', 0.2), ('pump-001', '2025-03-04 10:00+00', 0.87)"
    )

    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "pump-001" in html and "motor-007" in html and "EM-75" in html
    assert "Eva &lt;ops&gt;" in html and "Eva <ops>" not in html and "bearing wear" in html and "urgent" in html
    assert "0.870" in html and 'class="badge online"' in html and "2025-03-04 10:00:00 UTC" in html
    assert '<meta http-equiv="refresh" content="5">' in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere
    assert 'http-equiv="refresh"' not in (await client.get("/", params={"refresh": 0})).text

    fleet = {a["asset_id"]: a for a in (await client.get("/fleet")).json()}
    pump, motor = fleet["pump-001"], fleet["motor-007"]
    assert (pump["connection"], pump["health_score"], pump["site_code"]) == ("online", 0.87, "rtm-01")
    assert [(o["failure_mode"], o["status"], o["engineer_name"]) for o in pump["open_orders"]] == [
        ("bearing_wear", "assigned", "Eva <ops>")
    ]
    assert (motor["connection"], motor["health_score"], motor["open_orders"]) == ("unknown", None, [])


@pytest.mark.asyncio
async def test_empty_fleet_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "No assets yet" in page.text
    assert (await client.get("/fleet")).json() == []


@pytest.mark.asyncio
async def test_dispatch_candidates_explain_the_choice(client: httpx.AsyncClient, pool: AsyncConnectionPool) -> None:
    engineer_id = await _fleet(pool)
    response = await client.get(
        "/dispatch/candidates", params={"asset_id": "pump-001", "failure_mode": "imbalance", "at": NOW.isoformat()}
    )
    assert response.status_code == 200, response.text
    (eva,) = response.json()
    assert eva["engineer_id"] == engineer_id and eva["open_orders"] == 1
    assert eva["breakdown"]["load"] == -8.0
    assert sum(eva["breakdown"].values()) == pytest.approx(eva["total"])
    assert "load -8.00 (1 open)" in eva["explanation"]
    async def candidates(**params) -> httpx.Response:
        return await client.get("/dispatch/candidates", params=params)

    assert (await candidates(asset_id="pump-001", failure_mode="cavitation")).json() == []  # no hydraulic engineer
    assert (await candidates(asset_id="ghost", failure_mode="cavitation")).status_code == 404
    assert (await candidates(asset_id="pump-001", failure_mode="rust")).status_code == 422
    naive = await candidates(asset_id="pump-001", failure_mode="imbalance", at="2025-03-04T10:00:00")
    assert naive.status_code == 422
