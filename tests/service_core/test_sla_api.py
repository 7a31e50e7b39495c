"""The SLA API: calendars, holidays, policies and rules a manager edits (4xx that say why), an order's
clocks, a priority change that re-targets without resetting, a pause, and the at-risk list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from service_core.fieldwork import flows as fieldwork
from service_core.fieldwork.schemas import CheckIn, VisitCreate
from service_core.sla import flows
from service_core.workorders import service as workorders
from service_core.workorders.schemas import WorkOrderUpdate
from tests.service_core.sla_helpers import a_fleet, an_order, backdate_last_event, move

MONDAY_8 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
WEEK = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(1, 6)]


async def _calendar_id(client: httpx.AsyncClient, name: str) -> int:
    return next(c["id"] for c in (await client.get("/sla/calendars")).json() if c["name"] == name)


async def _policy(client: httpx.AsyncClient, name: str) -> dict:
    return next(p for p in (await client.get("/sla/policies")).json() if p["name"] == name)


@pytest.mark.asyncio
async def test_calendars_and_holidays(client: httpx.AsyncClient) -> None:
    created = await client.post("/sla/calendars", json={
        "name": "Amsterdam office", "timezone": "Europe/Amsterdam", "actor": "manager:ria",
        "hours": [*WEEK, {"weekday": 6, "start": "00:00", "end": "24:00"}],
    })
    assert created.status_code == 201, created.text
    calendar = created.json()
    assert calendar["hours"][-1] == {"weekday": 6, "start": "00:00", "end": "24:00"}

    url = f"/sla/calendars/{calendar['id']}"
    holiday = await client.post(f"{url}/holidays", json={"day": "2025-04-27", "name": "King's Day", "actor": "ria"})
    assert holiday.status_code == 201, holiday.text
    again = await client.post(f"{url}/holidays", json={"day": "2025-04-27", "name": "Twice", "actor": "ria"})
    assert again.status_code == 409 and "2025-04-27" in again.json()["detail"]
    assert [h["name"] for h in (await client.get(f"{url}/holidays")).json()] == ["King's Day"]

    patched = await client.patch(url, json={"hours": WEEK[:1], "actor": "ria"})
    assert patched.status_code == 200 and [h["weekday"] for h in patched.json()["hours"]] == [1]
    removed = await client.delete(f"{url}/holidays/{holiday.json()['id']}", params={"actor": "ria"})
    assert removed.status_code == 204
    assert (await client.delete(url, params={"actor": "ria"})).status_code == 204
    assert (await client.get(url)).status_code == 404

    used = await _calendar_id(client, "Business hours")
    refused = await client.delete(f"/sla/calendars/{used}", params={"actor": "ria"})
    assert refused.status_code == 409 and "policy" in refused.json()["detail"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"hours": [{"weekday": 1, "start": "17:00", "end": "08:00"}]}, "must be after start"),
        ({"hours": [WEEK[0], WEEK[0]]}, "each weekday may be listed once"),
        ({"hours": [{"weekday": 8, "start": "08:00", "end": "17:00"}]}, "less than or equal to 7"),
        ({"hours": [{"weekday": 1, "start": "8am", "end": "17:00"}]}, "pattern"),
    ],
)
async def test_a_bad_calendar_is_422_saying_why(client: httpx.AsyncClient, body: dict, says: str) -> None:
    response = await client.post("/sla/calendars", json={"name": "Bad", "timezone": "UTC", "hours": WEEK,
                                                          "actor": "ria"} | body)
    assert response.status_code == 422
    assert says in response.text


@pytest.mark.asyncio
async def test_policies_crud_and_the_4xx_of_bad_ones(client: httpx.AsyncClient, aconn: psycopg.AsyncConnection) -> None:
    calendar_id = await _calendar_id(client, "Business hours")
    body = {"name": "Standard inspections", "calendar_id": calendar_id, "contract_level": "standard",
            "order_type": "inspection", "response_minutes": 240, "resolution_minutes": 2700, "actor": "ria"}
    created = await client.post("/sla/policies", json=body)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["pause_hold_reasons"] == ["waiting_customer"] and policy["warn_at_share"] == 0.8
    assert policy["arrival_minutes"] is None

    negative = await client.post("/sla/policies", json=body | {"name": "Neg", "response_minutes": -5})
    assert negative.status_code == 422 and "response_minutes" in negative.text
    unknown = await client.post("/sla/policies", json=body | {"name": "Lost", "calendar_id": 9999})
    assert unknown.status_code == 422 and "calendar 9999 not found" in unknown.text
    same_match = await client.post("/sla/policies", json=body | {"name": "Twin"})
    assert same_match.status_code == 409 and "standard, inspection, any" in same_match.text
    nothing = await client.post("/sla/policies", json={k: v for k, v in body.items() if "minutes" not in k})
    assert nothing.status_code == 422 and "at least one" in nothing.text
    bad_pause = await client.post("/sla/policies", json=body | {"name": "P", "pause_statuses": ["closed"]})
    assert bad_pause.status_code == 422

    url = f"/sla/policies/{policy['id']}"
    patched = await client.patch(url, json={"warn_at_share": 0.9, "pause_statuses": ["on_hold"], "actor": "ria"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["warn_at_share"], patched.json()["response_minutes"]) == (0.9, 240)
    too_much = await client.patch(url, json={"warn_at_share": 1.5, "actor": "ria"})
    assert too_much.status_code == 422
    emptied = await client.patch(url, json={"response_minutes": None, "resolution_minutes": None, "actor": "ria"})
    assert emptied.status_code == 422 and "at least one" in emptied.text
    assert (await client.patch(url, json={"calendar_id": 9999, "actor": "ria"})).status_code == 422

    cur = await aconn.execute(  # a manager's change is audited with who made it, before and after
        "select actor, action, before, after from service.audit_log where table_name = 'sla_policies'"
        " and row_id = %(id)s order by id", {"id": str(policy["id"])},
    )
    changes = await cur.fetchall()
    assert [(c[0], c[1]) for c in changes] == [("ria", "insert"), ("ria", "update")]
    assert (changes[1][2]["warn_at_share"], changes[1][3]["warn_at_share"]) == (0.8, 0.9)
    assert (await client.delete(url, params={"actor": "ria"})).status_code == 204
    assert (await client.get(url)).status_code == 404


@pytest.mark.asyncio
async def test_escalation_rules_and_supervisors_crud(client: httpx.AsyncClient) -> None:
    rule = {"name": "Slow arrival", "condition": "sla_share", "metric": "arrival", "share": 0.9,
            "action": "notify_supervisor", "region": "NL-ZH", "actor": "ria"}
    created = await client.post("/sla/escalation-rules", json=rule)
    assert created.status_code == 201, created.text
    url = f"/sla/escalation-rules/{created.json()['id']}"

    no_metric = await client.post("/sla/escalation-rules", json=rule | {"name": "X", "metric": None})
    assert no_metric.status_code == 422 and "needs metric and share" in no_metric.text
    mixed = await client.post("/sla/escalation-rules", json=rule | {"name": "Y", "condition": "no_response_for"})
    assert mixed.status_code == 422 and "needs hours" in mixed.text
    patched = await client.patch(url, json={"condition": "not_resolved_for", "metric": None, "share": None,
                                            "hours": 48, "clock": "business", "actor": "ria"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["hours"], patched.json()["clock"]) == (48.0, "business")
    broken = await client.patch(url, json={"condition": "sla_share", "actor": "ria"})
    assert broken.status_code == 422 and "needs metric and share" in broken.text
    assert (await client.delete(url, params={"actor": "ria"})).status_code == 204

    supervisor = await client.post("/sla/supervisors", json={"name": "Saskia", "email": "saskia@example.com",
                                                              "region": "NL-ZH", "support_line": 2, "actor": "ria"})
    assert supervisor.status_code == 201, supervisor.text
    bad_line = await client.post("/sla/supervisors", json={"name": "S", "email": "s@example.com", "region": "NL",
                                                            "support_line": 3, "actor": "ria"})
    assert bad_line.status_code == 422
    listed = await client.get("/sla/supervisors", params={"region": "NL-ZH", "support_line": 2})
    assert [s["name"] for s in listed.json()] == ["Saskia"]
    moved = await client.patch(f"/sla/supervisors/{supervisor.json()['id']}", json={"region": "NL-NH",
                                                                                    "actor": "ria"})
    assert moved.json()["region"] == "NL-NH"


@pytest.mark.asyncio
async def test_a_priority_change_re_targets_without_resetting_the_elapsed_time(
    aconn: psycopg.AsyncConnection,
) -> None:
    async with aconn.transaction():
        asset_id, _, _ = await a_fleet(aconn)
        order_id = await an_order(aconn, asset_id=asset_id, created_at=MONDAY_8)
    now = MONDAY_8 + timedelta(hours=2)
    before = await flows.order_sla(aconn, work_order_id=order_id, now=now)
    async with aconn.transaction():
        await workorders.update(aconn, work_order_id=order_id,
                                work_order_in=WorkOrderUpdate(priority="urgent", actor="desk"))
    after = await flows.order_sla(aconn, work_order_id=order_id, now=now)

    assert (before.policy.name, after.policy.name) == ("Default, normal", "Default, urgent")
    response_before, response_after = before.clocks[0], after.clocks[0]
    assert response_before.elapsed_minutes == response_after.elapsed_minutes == 120
    assert (response_before.target_minutes, response_before.state) == (480, "running")
    assert (response_after.target_minutes, response_after.state) == (60, "breached")
    assert response_after.due_at == MONDAY_8 + timedelta(hours=1)


@pytest.mark.asyncio
async def test_waiting_for_the_customer_pauses_the_order_clocks(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        asset_id, engineer_id, _ = await a_fleet(aconn)
        order_id = await an_order(aconn, asset_id=asset_id, created_at=MONDAY_8)
        await move(aconn, order_id, "assigned", at=MONDAY_8 + timedelta(minutes=30), engineer_id=engineer_id)
        await move(aconn, order_id, "on_hold", at=MONDAY_8 + timedelta(hours=1), reason="waiting_customer")
    sla = await flows.order_sla(aconn, work_order_id=order_id, now=MONDAY_8 + timedelta(hours=5))
    response = sla.clocks[0]
    assert (response.state, response.paused, response.elapsed_minutes) == ("paused", True, 60)

    async with aconn.transaction():
        await move(aconn, order_id, "assigned", at=MONDAY_8 + timedelta(hours=6), engineer_id=engineer_id)
    resumed = (await flows.order_sla(aconn, work_order_id=order_id, now=MONDAY_8 + timedelta(hours=7))).clocks[0]
    assert (resumed.state, resumed.elapsed_minutes) == ("running", 120)  # the hold's reason came from its event

    async with aconn.transaction():  # waiting for parts is the service's own delay: the clock runs
        await move(aconn, order_id, "on_hold", at=MONDAY_8 + timedelta(hours=7), reason="waiting_parts")
    parts = (await flows.order_sla(aconn, work_order_id=order_id, now=MONDAY_8 + timedelta(hours=8))).clocks[0]
    assert (parts.state, parts.elapsed_minutes) == ("running", 180)


@pytest.mark.asyncio
async def test_an_orders_sla_through_the_api(client: httpx.AsyncClient, aconn: psycopg.AsyncConnection) -> None:
    # around the clock, so what the API computes against the real time does not depend on the weekday
    around_the_clock = await _calendar_id(client, "Around the clock")
    for name in ("Default, normal", "Default, high"):
        policy = await _policy(client, name)
        await client.patch(f"/sla/policies/{policy['id']}", json={"calendar_id": around_the_clock, "actor": "ria"})
    async with aconn.transaction():
        asset_id, _, _ = await a_fleet(aconn)
        order_id = await an_order(aconn, asset_id=asset_id, created_at=datetime.now(UTC) - timedelta(hours=3))

    sla = (await client.get(f"/work-orders/{order_id}/sla")).json()
    assert sla["policy"]["name"] == "Default, normal" and sla["contract_level"] is None
    response = sla["clocks"][0]
    assert response["metric"] == "response" and response["target_minutes"] == 480
    assert response["state"] == "running" and 179 < response["elapsed_minutes"] < 182
    assert [c["metric"] for c in sla["clocks"]] == ["response", "arrival", "resolution"]

    patched = await client.patch(f"/work-orders/{order_id}", json={"priority": "high", "actor": "desk"})
    assert patched.status_code == 200
    retargeted = (await client.get(f"/work-orders/{order_id}/sla")).json()
    assert retargeted["policy"]["name"] == "Default, high" and retargeted["clocks"][0]["target_minutes"] == 240
    assert retargeted["clocks"][0]["elapsed_minutes"] >= response["elapsed_minutes"]  # kept, not reset
    assert retargeted["clocks"][0]["state"] == "running" and retargeted["clocks"][0]["share"] > 0.74
    assert (await client.get("/work-orders/999999/sla")).status_code == 404


@pytest.mark.asyncio
async def test_the_at_risk_list_soonest_due_first_and_filtered(
    client: httpx.AsyncClient, aconn: psycopg.AsyncConnection
) -> None:
    around_the_clock = await _calendar_id(client, "Around the clock")
    for name in ("Default, normal", "Default, high"):
        policy = await _policy(client, name)
        await client.patch(f"/sla/policies/{policy['id']}", json={"calendar_id": around_the_clock, "actor": "ria"})
    now = datetime.now(UTC)
    async with aconn.transaction():
        rtm, _, _ = await a_fleet(aconn, code="rtm-01", region="NL-ZH")
        ams, _, _ = await a_fleet(aconn, code="ams-01", region="NL-NH")
        breached = await an_order(aconn, asset_id=rtm, created_at=now - timedelta(hours=9))  # 540 of 480 min
        warning = await an_order(aconn, asset_id=ams, created_at=now - timedelta(hours=7), priority="normal")
        high = await an_order(aconn, asset_id=rtm, created_at=now - timedelta(minutes=200), priority="high")
        await an_order(aconn, asset_id=rtm, created_at=now - timedelta(hours=1))  # fine
        cancelled = await an_order(aconn, asset_id=rtm, created_at=now - timedelta(hours=20))
        await workorders.transition(aconn, work_order_id=cancelled, target="cancelled", actor="desk")

    listed = (await client.get("/sla/at-risk")).json()
    # due 1 h ago; in 40 min (200 of 240 min); in 60 min (420 of 480 min)
    assert [o["work_order_id"] for o in listed] == [breached, high, warning]
    first = listed[0]
    assert first["region"] == "NL-ZH" and first["clocks"][0]["state"] == "breached"
    assert first["next_due_at"] is not None
    assert [c["state"] for c in listed[1]["clocks"]] == ["warning", "running", "running"]

    by_region = (await client.get("/sla/at-risk", params={"region": "NL-NH"})).json()
    assert [o["work_order_id"] for o in by_region] == [warning]
    by_priority = (await client.get("/sla/at-risk", params={"priority": "high"})).json()
    assert [o["work_order_id"] for o in by_priority] == [high]
    assert (await client.get("/sla/at-risk", params={"priority": "asap"})).status_code == 422


@pytest.mark.asyncio
async def test_arrival_is_the_visits_check_in_time_even_when_reported_late(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        asset_id, engineer_id, _ = await a_fleet(aconn)
        order_id = await an_order(aconn, asset_id=asset_id, created_at=MONDAY_8)
        await move(aconn, order_id, "assigned", at=MONDAY_8 + timedelta(minutes=10), engineer_id=engineer_id)
        await move(aconn, order_id, "accepted", at=MONDAY_8 + timedelta(minutes=20))
        visit = await fieldwork.plan_visit(aconn, work_order_id=order_id,
                                           visit_in=VisitCreate(engineer_id=engineer_id, actor="desk"))
        await backdate_last_event(aconn, order_id, MONDAY_8 + timedelta(minutes=30))
        # the app syncs today what happened on Monday 11:00
        await fieldwork.check_in(aconn, visit_id=visit.id, check_in_in=CheckIn(
            lat=51.9, lon=4.46, at=MONDAY_8 + timedelta(hours=3), actor="eva"))
    sla = await flows.order_sla(aconn, work_order_id=order_id, now=MONDAY_8 + timedelta(days=1))
    response, arrival, _ = sla.clocks
    assert (response.state, response.elapsed_minutes) == ("met", 20)
    assert (arrival.state, arrival.met_at, arrival.elapsed_minutes) == ("met", MONDAY_8 + timedelta(hours=3), 180)
