"""The demand forecast of a part, checked by hand: consumption history plus predicted failures."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from service_core.parts import forecast
from tests.service_core.parts_builders import a_fleet, a_location, a_part, an_order, post


def test_examples() -> None:
    result = doctest.testmod(forecast, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_poisson_quantiles_by_hand() -> None:
    # Poisson(2): P(X<=0)=0.135, P(X<=3)=0.857, P(X<=4)=0.947
    assert forecast.poisson_quantile(2.0, 0.10) == 0
    assert forecast.poisson_quantile(2.0, 0.90) == 4
    # a large mean does not underflow: about mean +- 1.28 sd
    assert forecast.poisson_quantile(2000.0, 0.90) in range(2055, 2060)
    with pytest.raises(ValueError):
        forecast.forecast(consumed=1, history_days=0, days=30)


@pytest.mark.asyncio
async def test_forecast_from_the_ledger_and_the_fleets_predicted_failures(
    client: httpx.AsyncClient, conn: psycopg.Connection
) -> None:
    asset, (eva,) = await a_fleet(client)
    await a_part(client, "BRG-6204", models=["CP-200"],
                 failure_modes=[{"failure_mode": "bearing_wear", "quantity": 2}])
    van = (await a_location(client, "Van Eva", kind="van", engineer_id=eva))["id"]
    order = await an_order(client, asset)
    now = datetime.now(UTC)
    # 18 consumed in the last 90 days (one 3 returned), 40 more before the window, which do not count
    conn.execute("alter table service.stock_movements disable trigger stock_movements_append_only")
    for quantity, reason, days_ago in [(100, "receipt", 200), (-40, "consumption", 120), (-15, "consumption", 60),
                                       (-6, "consumption", 10), (3, "return", 5)]:
        conn.execute(
            """insert into service.stock_movements (location_id, part_number, quantity, reason, work_order_id,
                                                    actor, at)
               values (%s, 'BRG-6204', %s, %s, %s, 'test', %s)""",
            (van, quantity, reason, None if reason == "receipt" else order["id"], now - timedelta(days=days_ago)),
        )
    conn.execute("alter table service.stock_movements enable trigger stock_movements_append_only")
    # one open preventive order for bearing wear on a CP-200, one open alert on another CP-200 and one on an MX-10
    site_id = conn.execute("select site_id from service.assets where id = %s", (asset,)).fetchone()[0]
    for asset_id, model in [("pump-002", "CP-200"), ("pump-003", "MX-10")]:
        await post(client, "/assets", {"id": asset_id, "site_id": site_id, "model": model, "serial": asset_id})
    preventive = await post(client, "/work-orders", {"asset_id": asset, "type": "preventive",
                                                      "failure_mode": "bearing_wear", "title": "Bearing",
                                                      "actor": "detector"})
    for asset_id, hours in [("pump-002", 48.0), ("pump-003", 10.0)]:
        conn.execute(
            """insert into maintenance.alerts (asset_id, failure_mode, raised_at, score, signals, time_to_failure)
               values (%s, 'bearing_wear', %s, 0.9, '[]', %s)""",
            (asset_id, now, Jsonb({"hours": hours, "low": hours / 2, "high": hours * 2, "metric": "v"})),
        )
    alert_id = conn.execute("select id from maintenance.alerts where asset_id = 'pump-002'").fetchone()[0]

    result = (await client.get("/parts/BRG-6204/forecast", params={"days": 30})).json()
    # 18 / 90 = 0.2 a day, 6 in 30 days (Poisson 10-90 %: 3 to 9); two predicted repairs of 2 bearings: +4
    assert (result["consumed"], result["daily_rate"], result["background"]) == (18.0, 0.2, 6.0)
    assert (result["background_low"], result["background_high"]) == (3, 9)
    assert [(d["source"], d["id"], d["asset_id"], float(d["quantity"])) for d in result["predicted_failures"]] == [
        ("alert", alert_id, "pump-002", 2.0), ("work_order", preventive["id"], asset, 2.0)]
    assert (result["predicted"], result["expected"], result["low"], result["high"]) == (4.0, 10.0, 7.0, 13.0)

    # over one day the alert due in two days is not expected yet
    short = (await client.get("/parts/BRG-6204/forecast", params={"days": 1})).json()
    assert [d["source"] for d in short["predicted_failures"]] == ["work_order"]
    assert (await client.get("/parts/BRG-6204/forecast", params={"days": 0})).status_code == 422
    assert (await client.get("/parts/NOPE/forecast")).status_code == 404
