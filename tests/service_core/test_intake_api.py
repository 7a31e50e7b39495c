"""Service requests through the call-centre API: creation, filters, the 360° view, triage, duplicates, reject."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from maintenance import store as maintenance_store
from maintenance.monitor import AssetScore
from service_core.intake import service
from service_core.intake.reports import Report, Upload
from tests.service_core.builders import a_site, an_asset


async def _fleet(pool: AsyncConnectionPool, *, warranty_ends_on: date | None = None) -> dict:
    async with pool.connection() as conn:
        site = await a_site(conn)
        asset = await an_asset(conn, site=site, asset_id="pump-001")
        await an_asset(conn, site=site, asset_id="pump-002")
        if warranty_ends_on:
            await conn.execute("update service.assets set warranty_ends_on = %s where id = 'pump-001'",
                               [warranty_ends_on])
    return {"site": site, "asset": asset}


def _call(asset_id: str = "pump-001", **extra) -> dict:
    return {
        "asset_id": asset_id,
        "subject": "Pump rattles at start-up",
        "description": "Loud rattle for the first minute after every start since Monday.",
        "reporter_name": "Jan de Vries",
        "reporter_email": "jan@harbour.example",
        "reporter_phone": "+31 10 123 4567",
        "fault_code": "E-042",
        "priority": "high",
        "actor": "desk:anna",
    } | extra


async def _post(client: httpx.AsyncClient, **extra) -> dict:
    response = await client.post("/service-requests", json=_call(**extra))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.asyncio
async def test_a_call_becomes_a_request_linked_to_asset_site_and_customer(client, pool):
    fleet = await _fleet(pool)
    created = await _post(client)
    assert created["status"] == "open" and created["channel"] == "api"
    assert created["asset_id"] == "pump-001"
    assert created["site_id"] == fleet["site"].id and created["customer_id"] == fleet["site"].customer_id
    assert created["tracking_code"].startswith("SR-") and len(created["tracking_code"]) == 11
    assert created["fault_code"] == "E-042" and created["priority"] == "high"

    original = await client.get(f"/service-requests/{created['id']}/input")
    assert original.status_code == 200 and original.headers["content-type"] == "application/json"
    assert original.json()["description"].startswith("Loud rattle")

    async with pool.connection() as conn:
        cur = await conn.execute(
            "select actor, action from service.audit_log where table_name = 'service_requests' and row_id = %s",
            [str(created["id"])],
        )
        assert await cur.fetchall() == [("desk:anna", "insert")]


@pytest.mark.asyncio
async def test_unknown_asset_is_404_and_bad_fields_are_422_naming_them(client, pool):
    await _fleet(pool)
    unknown = await client.post("/service-requests", json=_call(asset_id="pump-999"))
    assert unknown.status_code == 404 and "pump-999" in unknown.json()["detail"]
    bad = await client.post("/service-requests", json=_call(reporter_email="not-an-address", fault_code="E 42!"))
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} == {"reporter_email", "fault_code"}
    assert (await client.get("/service-requests")).json() == []


@pytest.mark.asyncio
async def test_filters_and_redelivery_by_external_id(client, pool):
    await _fleet(pool)
    first = await _post(client, external_id="tel-0001")
    again = await client.post("/service-requests", json=_call(external_id="tel-0001"))
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    other = await _post(client, asset_id="pump-002")

    def ids(response: httpx.Response) -> list[int]:
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()]

    assert ids(await client.get("/service-requests")) == [other["id"], first["id"]]
    assert ids(await client.get("/service-requests", params={"asset_id": "pump-002"})) == [other["id"]]
    assert ids(await client.get("/service-requests", params={"channel": "email"})) == []
    assert ids(await client.get("/service-requests", params={"customer_id": first["customer_id"],
                                                               "status": "open", "channel": "api"})) == [
        other["id"], first["id"]]
    assert (await client.get("/service-requests", params={"status": "lost"})).status_code == 422
    assert (await client.get("/service-requests/999999")).status_code == 404


@pytest.mark.asyncio
async def test_the_360_view_shows_warranty_contract_orders_parts_and_health(client, pool):
    today = datetime.now(UTC).date()
    fleet = await _fleet(pool, warranty_ends_on=today + timedelta(days=30))
    customer_id = fleet["site"].customer_id
    async with pool.connection() as conn:
        await conn.execute(
            """
            insert into service.contracts (customer_id, name, level, starts_on, ends_on, covers_labour, covers_parts)
            values (%(c)s, 'Old basic', 'basic', %(long_ago)s, %(yesterday)s, true, false),
                   (%(c)s, 'Premium care', 'premium', %(start)s, %(end)s, true, true)
            """,
            {"c": customer_id, "long_ago": today - timedelta(days=800), "yesterday": today - timedelta(days=1),
             "start": today - timedelta(days=10), "end": today + timedelta(days=355)},
        )
        cur = await conn.execute(
            """
            insert into service.work_orders (asset_id, type, title, status)
            values ('pump-001', 'repair', 'Replaced seal', 'new') returning id
            """
        )
        (past_order,) = await cur.fetchone()
        await conn.execute(
            """
            insert into service.parts_used (work_order_id, part_number, description, quantity, unit_cost, recorded_by)
            values (%s, 'MS-22', 'mechanical seal', 1, 84.50, 'eva')
            """,
            [past_order],
        )
        await maintenance_store.write_scores(conn, [
            AssetScore("pump-001", datetime.now(UTC) - timedelta(minutes=2), 0.41),
            AssetScore("pump-001", datetime.now(UTC) - timedelta(minutes=1), 0.73),
        ])
    created = await _post(client)

    detail = await client.get(f"/service-requests/{created['id']}")
    assert detail.status_code == 200, detail.text
    view = detail.json()["overview"]
    assert view["customer"]["id"] == customer_id and view["site"]["code"] == "rtm-01"
    assert view["asset"]["model"] == "CP-200"
    assert view["warranty"] == {"in_warranty": True, "ends_on": (today + timedelta(days=30)).isoformat()}
    assert view["contract"]["name"] == "Premium care" and view["contract"]["level"] == "premium"
    assert view["contract"]["covers_parts"] is True
    assert [o["id"] for o in view["past_orders"]] == [past_order]
    assert [(p["part_number"], float(p["quantity"])) for p in view["parts_replaced"]] == [("MS-22", 1.0)]
    assert view["health"]["score"] == pytest.approx(0.73)

    same = await client.get("/assets/pump-001/overview")
    assert same.status_code == 200 and same.json()["contract"]["id"] == view["contract"]["id"]
    bare = (await client.get("/assets/pump-002/overview")).json()
    assert bare["warranty"] == {"in_warranty": None, "ends_on": None} and bare["health"]["score"] is None
    assert bare["past_orders"] == [] and bare["parts_replaced"] == []
    assert (await client.get("/assets/pump-404/overview")).status_code == 404


@pytest.mark.asyncio
async def test_warranty_ended_is_out_of_warranty(client, pool):
    await _fleet(pool, warranty_ends_on=datetime.now(UTC).date() - timedelta(days=1))
    view = (await client.get("/assets/pump-001/overview")).json()
    assert view["warranty"]["in_warranty"] is False and view["contract"] is None


@pytest.mark.asyncio
async def test_triage_opens_an_order_that_keeps_everything_and_cannot_happen_twice(client, pool):
    await _fleet(pool)
    created = await _post(client)
    async with pool.connection() as conn:
        await service.add_attachment(
            conn, request_id=created["id"], work_order_id=None, uploaded_by="desk:anna",
            upload=Upload(filename="rattle.jpg", content_type="image/jpeg", content=b"\xff\xd8photo"),
        )
    url = f"/service-requests/{created['id']}/triage"
    triaged = await client.post(url, json={"type": "repair", "actor": "desk:bob"})
    assert triaged.status_code == 200, triaged.text
    body = triaged.json()
    assert body["status"] == "triaged" and body["triaged_by"] == "desk:bob"
    order_id = body["work_order_id"]
    assert [a["work_order_id"] for a in body["attachments"]] == [order_id]

    order = (await client.get(f"/work-orders/{order_id}")).json()
    assert order["type"] == "repair" and order["priority"] == "high" and order["fault_code"] == "E-042"
    assert order["title"] == "Pump rattles at start-up"
    for kept in ("Loud rattle", "Jan de Vries", "jan@harbour.example", "+31 10 123 4567", created["tracking_code"],
                 "via api"):
        assert kept in order["description"]
    assert [e["kind"] for e in order["events"]] == ["created", "request_triaged"]
    assert order["events"][1]["details"]["service_request_id"] == created["id"]
    back = await client.get("/service-requests", params={"work_order_id": order_id})
    assert [r["id"] for r in back.json()] == [created["id"]]

    again = await client.post(url, json={"type": "repair", "actor": "desk:bob"})
    assert again.status_code == 409 and f"work order {order_id}" in again.json()["detail"]
    assert len((await client.get("/work-orders")).json()) == 1


@pytest.mark.asyncio
async def test_triage_validates_its_request(client, pool):
    await _fleet(pool)
    created = await _post(client)
    url = f"/service-requests/{created['id']}/triage"
    no_mode = await client.post(url, json={"type": "preventive", "actor": "desk:bob"})
    assert no_mode.status_code == 422 and "failure_mode" in no_mode.text
    odd = await client.post(url, json={"type": "teleport", "actor": "desk:bob"})
    assert odd.status_code == 422
    preventive = await client.post(
        url, json={"type": "preventive", "failure_mode": "bearing_wear", "priority": "urgent", "title": "Bearings",
                   "actor": "desk:bob"})
    assert preventive.status_code == 200, preventive.text
    order = (await client.get(f"/work-orders/{preventive.json()['work_order_id']}")).json()
    assert (order["type"], order["failure_mode"], order["priority"], order["title"]) == (
        "preventive", "bearing_wear", "urgent", "Bearings")
    assert (await client.post("/service-requests/424242/triage", json={"type": "repair", "actor": "x"})).status_code \
        == 404


@pytest.mark.asyncio
async def test_a_second_report_is_a_duplicate_and_lands_on_the_order(client, pool):
    await _fleet(pool)
    first = await _post(client)
    second = await _post(client, subject="Same pump noisy", description="Still rattling, now also leaking.",
                         reporter_name="Piet", fault_code=None)
    assert second["status"] == "duplicate" and second["duplicate_of"] == first["id"]
    assert second["work_order_id"] is None
    dup_triage = await client.post(f"/service-requests/{second['id']}/triage",
                                   json={"type": "repair", "actor": "desk:bob"})
    assert dup_triage.status_code == 409 and "duplicate" in dup_triage.json()["detail"]

    triaged = (await client.post(f"/service-requests/{first['id']}/triage",
                                 json={"type": "repair", "actor": "desk:bob"})).json()
    order_id = triaged["work_order_id"]
    assert triaged["duplicates"] == [second["id"]]
    # a third report while the order is open: linked at once, its text on the order, no new order
    third = await _post(client, subject="Pump-001 again", description="Water on the floor.", reporter_name="Kees")
    assert third["status"] == "duplicate" and third["duplicate_of"] == first["id"]
    assert third["work_order_id"] == order_id
    assert len((await client.get("/work-orders")).json()) == 1

    order = (await client.get(f"/work-orders/{order_id}")).json()
    linked = [e for e in order["events"] if e["kind"] == "duplicate_linked"]
    assert [e["details"]["service_request_id"] for e in linked] == [second["id"], third["id"]]
    assert "now also leaking" in linked[0]["note"] and "Piet" in linked[0]["note"]
    assert "Water on the floor." in linked[1]["note"]
    assert all(e["from_status"] == e["to_status"] == "new" for e in linked)
    dup = (await client.get(f"/service-requests/{second['id']}")).json()
    assert dup["work_order_id"] == order_id


@pytest.mark.asyncio
async def test_no_duplicate_once_the_order_is_done_or_the_window_has_passed(client, pool):
    await _fleet(pool)
    first = await _post(client)
    order_id = (await client.post(f"/service-requests/{first['id']}/triage",
                                  json={"type": "repair", "actor": "desk:bob"})).json()["work_order_id"]
    async with pool.connection() as conn:
        await conn.execute("update service.service_requests set received_at = now() - interval '25 hours'")
    late = await _post(client)
    assert late["status"] == "open"
    await client.post(f"/service-requests/{late['id']}/reject", json={"reason": "same as before", "actor": "desk"})
    async with pool.connection() as conn:
        await conn.execute("update service.service_requests set received_at = now()")
        await conn.execute("update service.work_orders set status = 'cancelled' where id = %s", [order_id])
    after_cancel = await _post(client)
    assert after_cancel["status"] == "open"


@pytest.mark.asyncio
async def test_reject_needs_an_open_request(client, pool):
    await _fleet(pool)
    created = await _post(client)
    url = f"/service-requests/{created['id']}/reject"
    assert (await client.post(url, json={"reason": " ", "actor": "desk"})).status_code == 422
    rejected = await client.post(url, json={"reason": "Not our equipment", "actor": "desk:anna"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["reject_reason"] == "Not our equipment"
    assert (await client.post(url, json={"reason": "again", "actor": "desk"})).status_code == 409
    triage = await client.post(f"/service-requests/{created['id']}/triage", json={"type": "repair", "actor": "x"})
    assert triage.status_code == 409 and "rejected" in triage.json()["detail"]
    # once rejected, the asset may get a fresh request
    assert (await _post(client))["status"] == "open"


@pytest.mark.asyncio
async def test_two_reports_at_the_same_moment_give_one_request_and_one_duplicate(pool):
    await _fleet(pool)
    first_in = asyncio.Event()

    async def report(name: str, hold: bool) -> str:
        async with pool.connection() as conn, conn.transaction():
            intake = await service.create(conn, report=Report(
                channel="api", asset_id="pump-001", subject=f"noise ({name})", actor=f"desk:{name}",
                original=name.encode(), original_type="text/plain",
            ))
            if hold:  # keep the transaction open so the other report has to decide meanwhile
                first_in.set()
                await asyncio.sleep(0.3)
            return intake.request.status

    async def second() -> str:
        await first_in.wait()
        return await report("b", hold=False)

    statuses = await asyncio.gather(report("a", hold=True), second())
    assert statuses == ["open", "duplicate"]
    async with pool.connection() as conn:
        cur = await conn.execute("select status, count(*) from service.service_requests group by 1 order by 1")
        assert await cur.fetchall() == [("duplicate", 1), ("open", 1)]


@pytest.mark.asyncio
async def test_the_database_refuses_a_second_open_request_on_an_asset(conn, pool):
    await _fleet(pool)
    async with pool.connection() as aconn:
        await service.create(aconn, report=Report(channel="api", asset_id="pump-001", subject="a", actor="t",
                                                  original=b"a", original_type="text/plain"))
    with pytest.raises(psycopg.errors.UniqueViolation, match="service_requests_one_open_per_asset"):
        conn.execute(
            """
            insert into service.service_requests
                   (tracking_code, channel, customer_id, site_id, asset_id, subject, actor)
            select 'SR-AAAAAAAA', 'api', s.customer_id, a.site_id, a.id, 'b', 't'
              from service.assets a join service.sites s on s.id = a.site_id where a.id = 'pump-001'
            """
        )
