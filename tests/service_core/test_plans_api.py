"""Maintenance plans through the API: CRUD, the 4xx that say what is wrong, a run now, occurrences, meters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.service_core.builders import SITE
from tests.service_core.plan_builders import running_readings, today


async def _fleet(client: httpx.AsyncClient, conn: psycopg.AsyncConnection) -> None:
    customer = (await client.post("/customers", json={"name": "Harbour Water"})).json()
    site = (await client.post("/sites", json={"customer_id": customer["id"], "code": "rtm-01", "name": "Pier 7",
                                              "region": "NL-ZH", "lat": SITE[0], "lon": SITE[1]})).json()
    for asset_id, model in [("pump-001", "CP-200"), ("pump-002", "CP-200"), ("motor-001", "EM-75")]:
        response = await client.post(
            "/assets", json={"id": asset_id, "site_id": site["id"], "model": model, "serial": f"SN-{asset_id}"}
        )
        assert response.status_code == 201, response.text
    async with conn.transaction():
        await conn.execute("insert into service.parts (part_number, name) values ('BRG-6205', 'Bearing 6205')")


def _plan(**extra) -> dict:
    return {
        "name": "Monthly inspection",
        "asset_model": "CP-200",
        "order_type": "inspection",
        "trigger": "fixed",
        "interval_days": 30,
        "start_at": (today() + timedelta(days=3)).isoformat(),
        "checklist": [{"label": "Guards in place"}, {"label": "Noise recorded", "required": False}],
        "parts": [{"part_number": "BRG-6205", "quantity": 1}],
        "skills": [{"skill": "mechanical", "min_level": 2}],
        "actor": "planner:ida",
    } | extra


@pytest.mark.asyncio
async def test_plan_crud(client: httpx.AsyncClient, aconn: psycopg.AsyncConnection) -> None:
    await _fleet(client, aconn)
    created = await client.post("/maintenance-plans", json=_plan())
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["checklist"] == [{"position": 1, "label": "Guards in place", "required": True},
                                 {"position": 2, "label": "Noise recorded", "required": False}]
    assert plan["parts"] == [{"part_number": "BRG-6205", "quantity": 1.0}]
    assert (plan["lead_days"], plan["window_days"], plan["duration_minutes"], plan["active"]) == (7, 7, 60, True)

    url = f"/maintenance-plans/{plan['id']}"
    assert (await client.get(url)).json() == plan
    for_asset = (await client.get("/maintenance-plans", params={"asset_id": "pump-002"})).json()
    assert [p["id"] for p in for_asset] == [plan["id"]]
    assert (await client.get("/maintenance-plans", params={"asset_id": "motor-001"})).json() == []

    patched = await client.patch(url, json={"interval_days": 90, "checklist": [{"label": "Only this"}],
                                            "actor": "planner:ida"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["interval_days"] == 90 and [i["label"] for i in patched.json()["checklist"]] == ["Only this"]
    assert patched.json()["parts"] == plan["parts"]  # not given: kept

    audit = await (await aconn.execute(
        "select actor, action from service.audit_log"
        " where table_name = 'maintenance_plans' and row_id = %s order by id",
        (str(plan["id"]),),
    )).fetchall()
    assert audit == [("planner:ida", "insert"), ("planner:ida", "update")]

    deleted = await client.delete(url, params={"actor": "planner:ida"})
    assert deleted.status_code == 204
    assert (await client.get(url)).status_code == 404


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"asset_id": "pump-001"}, "either one asset (asset_id) or one asset model"),
        ({"asset_model": None}, "either one asset (asset_id) or one asset model"),
        ({"interval_days": None}, "a fixed calendar plan needs interval_days"),
        ({"meter_kind": "run_hours"}, "meter_kind is for meter plans, not fixed"),
        ({"order_type": "preventive"}, "a preventive plan needs the failure_mode"),
        ({"trigger": "condition", "interval_days": None, "start_at": None, "failure_mode": None},
         "a condition plan needs the failure_mode"),
        ({"trigger": "meter", "interval_days": None, "start_at": None, "meter_kind": "run_hours"},
         "a meter plan needs meter_metric"),
        ({"skills": [{"skill": "mechanical"}, {"skill": "mechanical", "min_level": 3}]},
         "each skill is listed once; twice: mechanical"),
        ({"start_at": "2026-01-01T00:00:00"}, "timezone"),
        ({"interval_days": 0}, "greater than or equal to 1"),
        ({"order_type": "repair"}, "'inspection' or 'preventive'"),
        ({"frequency": "weekly"}, "Extra inputs are not permitted"),
    ],
)
@pytest.mark.asyncio
async def test_a_bad_plan_is_a_422_that_says_why(client: httpx.AsyncClient, change: dict, says: str) -> None:
    response = await client.post("/maintenance-plans", json=_plan(**change))
    assert response.status_code == 422
    assert says in response.text


@pytest.mark.asyncio
async def test_unknown_references_and_bad_changes_are_refused(
    client: httpx.AsyncClient, aconn: psycopg.AsyncConnection
) -> None:
    await _fleet(client, aconn)
    no_asset = await client.post("/maintenance-plans", json=_plan(asset_model=None, asset_id="pump-404"))
    assert no_asset.status_code == 422 and "asset 'pump-404' not found" in no_asset.text
    no_part = await client.post("/maintenance-plans", json=_plan(parts=[{"part_number": "NOPE-1", "quantity": 1}]))
    assert no_part.status_code == 422 and "parts not in the catalogue: NOPE-1" in no_part.text

    plan = (await client.post("/maintenance-plans", json=_plan())).json()
    url = f"/maintenance-plans/{plan['id']}"
    cleared = await client.patch(url, json={"interval_days": None, "actor": "ida"})
    assert cleared.status_code == 422 and "needs interval_days" in cleared.text
    not_null = await client.patch(url, json={"name": None, "actor": "ida"})
    assert not_null.status_code == 422 and "cannot be null: name" in not_null.text
    fixed = await client.patch(url, json={"trigger": "meter", "actor": "ida"})
    assert fixed.status_code == 422 and "Extra inputs are not permitted" in fixed.text
    assert (await client.get("/maintenance-plans/999999")).status_code == 404
    assert (await client.patch("/maintenance-plans/999999", json={"actor": "ida"})).status_code == 404
    assert (await client.get("/maintenance-plans/999999/occurrences")).status_code == 404
    assert (await client.get("/assets/pump-404/meters")).status_code == 404
    no_actor = await client.post("/maintenance-plans/run", json={})
    assert no_actor.status_code == 422 and "actor" in no_actor.text


@pytest.mark.asyncio
async def test_run_now_lists_occurrences_and_meters(client: httpx.AsyncClient, aconn: psycopg.AsyncConnection) -> None:
    await _fleet(client, aconn)
    plan = (await client.post("/maintenance-plans", json=_plan())).json()
    meter = await client.post("/maintenance-plans", json=_plan(
        name="Every 2 starts", asset_model=None, asset_id="motor-001", trigger="meter", interval_days=None,
        start_at=None, meter_kind="cycles", meter_metric="speed_rpm", running_above=5, meter_interval=2,
    ))
    assert meter.status_code == 201, meter.text
    t0 = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    async with aconn.transaction():
        await running_readings(aconn, asset_id="motor-001", start=t0, rpm=[0, 1500, 0, 1500, 0, 1500])

    run = await client.post("/maintenance-plans/run", json={"actor": "desk:anna"})
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["failed"] == [] and body["meters_advanced"] == 1
    assert sorted((o["plan_id"], o["asset_id"]) for o in body["generated"]) == [
        (plan["id"], "pump-001"), (plan["id"], "pump-002"), (meter.json()["id"], "motor-001")
    ]
    assert all(o["recorded_by"] == "desk:anna" for o in body["generated"])
    again = (await client.post("/maintenance-plans/run", json={"actor": "desk:anna"})).json()
    assert again["generated"] == [] and again["missed"] == []

    occurrences = (await client.get(f"/maintenance-plans/{plan['id']}/occurrences")).json()
    assert [(o["asset_id"], o["status"]) for o in occurrences] == [("pump-001", "generated"), ("pump-002", "generated")]
    order = (await client.get(f"/work-orders/{occurrences[0]['work_order_id']}")).json()
    assert order["type"] == "inspection" and order["window_start"] == occurrences[0]["window_start"]

    meters = (await client.get("/assets/motor-001/meters")).json()
    assert [(m["kind"], m["metric"], m["value"], m["running"]) for m in meters] == [
        ("cycles", "speed_rpm", 3.0, True)
    ]
    later = (datetime.now(UTC) + timedelta(days=200)).isoformat()
    missed = (await client.post("/maintenance-plans/run", json={"actor": "desk:anna", "now": later})).json()
    assert {o["reason"] for o in missed["missed"]} == {"window_passed"} and missed["generated"] == []
    in_use = await client.delete(f"/maintenance-plans/{plan['id']}", params={"actor": "ida"})
    assert in_use.status_code == 409 and "deactivate it" in in_use.text
