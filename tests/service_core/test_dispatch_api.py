"""Dispatch on the real database: parts-aware auto-assignment, an order's candidates, the day plan, 4xx."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from service_core.workorders import flows, service
from tests.service_core.builders import FAR, MID, NEAR, a_site, an_asset, an_engineer

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


async def _part(conn: psycopg.AsyncConnection, part: str = "BRG-6205") -> str:
    await conn.execute("insert into service.parts (part_number, name) values (%s, %s)", (part, f"Part {part}"))
    return part


async def _van(conn: psycopg.AsyncConnection, engineer_id: int, stock: dict[str, float]) -> int:
    cur = await conn.execute(
        "insert into service.stock_locations (kind, name, engineer_id) values ('van', %s, %s) returning id",
        (f"van {engineer_id}", engineer_id),
    )
    (van,) = await cur.fetchone()
    for part, quantity in stock.items():
        await conn.execute(
            """insert into service.stock_movements (location_id, part_number, quantity, reason, actor)
               values (%s, %s, %s, 'receipt', 'test')""",
            (van, part, quantity),
        )
    return van


async def _transfer(conn: psycopg.AsyncConnection, to: int, part: str, expected_at: datetime) -> None:
    cur = await conn.execute("insert into service.stock_locations (kind, name) values ('warehouse', 'central') "
                             "on conflict (name) do update set kind = excluded.kind returning id")
    (warehouse,) = await cur.fetchone()
    await conn.execute(
        """insert into service.stock_transfers (from_location_id, to_location_id, part_number, quantity, status,
                                                 expected_at, requested_by, approved_by)
           values (%s, %s, %s, 1, 'approved', %s, 'desk', 'boss')""",
        (warehouse, to, part, expected_at),
    )


async def _order_needing(conn: psycopg.AsyncConnection, part: str, asset_id: str = "pump-001") -> int:
    order = await service.insert(conn, asset_id=asset_id, type="repair", title="Worn bearing", actor="desk",
                                 priority="urgent", failure_mode="bearing_wear")
    await conn.execute("insert into service.work_order_parts values (%s, %s, 1)", (order.id, part))
    return order.id


@pytest.mark.asyncio
async def test_auto_assignment_skips_an_engineer_without_the_part(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        await an_asset(aconn, site=await a_site(aconn))
        part = await _part(aconn)
        near = await an_engineer(aconn, name="Near, empty van", home=NEAR, skills={"mechanical": 5})
        await _van(aconn, near.id, {})
        stocked = await an_engineer(aconn, name="Mid, has it", home=MID, skills={"mechanical": 3})
        await _van(aconn, stocked.id, {part: 2})
        order_id = await _order_needing(aconn, part)
        dispatched = await flows.auto_assign(aconn, order=await service.get(aconn, work_order_id=order_id), now=NOW)
    assert dispatched.order.engineer_id == stocked.id and dispatched.ranked.parts == "in van"
    assert dispatched.notification_id is not None
    (assigned,) = [e for e in await service.get_events(aconn, work_order_id=order_id) if e.kind == "assigned"]
    assert assigned.details["parts"] == "in van" and assigned.actor == "dispatch"
    assert assigned.details["with_parts"] == 1 and assigned.details["candidates"] == 2


@pytest.mark.asyncio
async def test_a_planned_transfer_before_the_visit_counts_one_after_it_does_not(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        await an_asset(aconn, site=await a_site(aconn))
        part = await _part(aconn)
        waiting = await an_engineer(aconn, name="Transfer on its way", home=MID)  # ~78 min from the site
        van = await _van(aconn, waiting.id, {})
        await _transfer(aconn, van, part, NOW + timedelta(hours=3))
        late = await _order_needing(aconn, part)
        left = await flows.auto_assign(aconn, order=await service.get(aconn, work_order_id=late), now=NOW)
    assert left.order.status == "new" and left.ranked is None
    (event,) = [e for e in await service.get_events(aconn, work_order_id=late) if e.kind == "not_dispatched"]
    assert event.note == (f"not assigned: nobody has the parts; best candidate Transfer on its way (engineer "
                          f"{waiting.id}) lacks {part} x1")
    assert event.details["best_without_parts"] == waiting.id and event.details["missing_parts"] == {part: 1.0}

    async with aconn.transaction():
        await _transfer(aconn, van, part, NOW + timedelta(minutes=30))
        on_time = await flows.auto_assign(aconn, order=await service.get(aconn, work_order_id=late), now=NOW)
    assert on_time.order.engineer_id == waiting.id and on_time.ranked.parts == "by transfer"


@pytest.mark.asyncio
async def test_nobody_qualified_leaves_the_order_new_with_the_reasons(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        await an_asset(aconn, site=await a_site(aconn))
        await an_engineer(aconn, skills={"electrical": 4})
        order = await service.insert(aconn, asset_id="pump-001", type="preventive", title="Bearing",
                                     failure_mode="bearing_wear", actor="detector")
        dispatched = await flows.auto_assign(aconn, order=order, now=NOW)
    assert dispatched.order.status == "new"
    (event,) = [e for e in await service.get_events(aconn, work_order_id=order.id) if e.kind == "not_dispatched"]
    assert event.note == "not assigned: no engineer can take it (lacks skill mechanical)"


async def _fleet(pool: AsyncConnectionPool) -> dict[str, int]:
    async with pool.connection() as conn, conn.transaction():
        await an_asset(conn, site=await a_site(conn))
        await an_asset(conn, site=await a_site(conn, code="rtm-02", at=NEAR), asset_id="pump-002")
        team = {
            "near": await an_engineer(conn, name="Near", home=NEAR, skills={"mechanical": 2}),
            "far": await an_engineer(conn, name="Far", home=FAR, skills={"mechanical": 5}),
            "electrician": await an_engineer(conn, name="Sparks", home=NEAR, skills={"electrical": 5}),
        }
        await conn.execute("insert into service.engineer_territories values (%s, 'BE-AN')", (team["far"].id,))
    return {k: e.id for k, e in team.items()}


@pytest.mark.asyncio
async def test_an_orders_candidates_add_up_and_name_who_is_excluded_and_why(
    client: httpx.AsyncClient, pool: AsyncConnectionPool
) -> None:
    team = await _fleet(pool)
    created = await client.post("/work-orders", json={"asset_id": "pump-001", "type": "repair", "title": "Noise",
                                                      "failure_mode": "bearing_wear", "actor": "desk"})
    assert created.status_code == 201 and created.json()["status"] == "new"  # a normal repair waits for the desk
    order_id = created.json()["id"]
    response = await client.get(f"/work-orders/{order_id}/candidates", params={"limit": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    (only,) = body["candidates"]
    assert only["engineer_id"] == team["near"]
    assert sum(only["breakdown"].values()) == pytest.approx(only["total"], abs=1e-9)
    assert only["parts"] == "none needed" and only["arrives_at"] is not None
    assert {e["engineer_id"]: e["reason"] for e in body["excluded"]} == {
        team["far"]: "outside territory: region NL-ZH is not one of BE-AN",
        team["electrician"]: "lacks skill mechanical",
    }
    assert (await client.get("/work-orders/999999/candidates")).status_code == 404
    bad_limit = await client.get(f"/work-orders/{order_id}/candidates", params={"limit": 0})
    assert bad_limit.status_code == 422 and "limit" in bad_limit.text
    legacy = await client.get("/dispatch/candidates", params={"asset_id": "pump-001", "failure_mode": "bearing_wear"})
    assert legacy.status_code == 200 and {c["engineer_id"] for c in legacy.json()} == {team["near"], team["far"]}


@pytest.mark.asyncio
async def test_an_urgent_order_is_assigned_as_it_is_created(
    client: httpx.AsyncClient, pool: AsyncConnectionPool
) -> None:
    team = await _fleet(pool)
    created = await client.post("/work-orders", json={"asset_id": "pump-002", "type": "repair", "title": "Sparks",
                                                      "failure_mode": "overheating", "priority": "urgent",
                                                      "actor": "desk"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "assigned" and created.json()["engineer_id"] == team["electrician"]
    events = (await client.get(f"/work-orders/{created.json()['id']}")).json()["events"]
    assert [(e["kind"], e["actor"]) for e in events] == [("created", "desk"), ("assigned", "dispatch")]


@pytest.mark.asyncio
async def test_the_day_plan_routes_orders_and_applies_them(
    client: httpx.AsyncClient, pool: AsyncConnectionPool
) -> None:
    team = await _fleet(pool)
    day = date(2031, 6, 3)  # a Tuesday, far enough ahead to stay in the future
    ids = []
    for asset_id, opens in (("pump-001", 9), ("pump-002", 13)):
        start = datetime(2031, 6, 3, opens, 0, tzinfo=UTC)
        created = await client.post("/work-orders", json={
            "asset_id": asset_id, "type": "inspection", "title": "Yearly check", "actor": "desk",
            "failure_mode": "imbalance",
            "window_start": start.isoformat(), "window_end": (start + timedelta(hours=3)).isoformat(),
            "duration_minutes": 90,
        })
        ids.append(created.json()["id"])
    dry = await client.post("/dispatch/plan", json={"date": day.isoformat(), "actor": "planner", "time_limit_s": 1})
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert plan["applied"] is False and plan["assigned"] == 2 and plan["unassigned"] == []
    (route,) = plan["routes"]  # only the near mechanic may take them: the other two lack skill or territory
    assert route["engineer_id"] == team["near"]
    assert [s["work_order_id"] for s in route["stops"]] == ids
    first, second = route["stops"]
    assert first["start_at"] >= "2031-06-03T09:00:00Z" and second["start_at"] >= "2031-06-03T13:00:00Z"
    # home (NEAR) -> pump-001 (SITE) -> pump-002 (NEAR, next door to home): no drive home left
    assert route["travel_km"] == pytest.approx(sum(s["travel_km"] for s in route["stops"]), abs=0.002)
    assert route["stops"][0]["travel_km"] == pytest.approx(route["stops"][1]["travel_km"], abs=0.001)
    assert route["stops"][0]["travel_km"] > 2
    assert [(await client.get(f"/work-orders/{i}")).json()["status"] for i in ids] == ["new", "new"]

    applied = await client.post("/dispatch/plan", json={"date": day.isoformat(), "actor": "planner", "apply": True,
                                                        "time_limit_s": 1})
    assert applied.status_code == 200 and applied.json()["applied"] is True
    for stop in applied.json()["routes"][0]["stops"]:
        order = (await client.get(f"/work-orders/{stop['work_order_id']}")).json()
        assert order["status"] == "assigned" and order["engineer_id"] == team["near"]
        visits = (await client.get(f"/work-orders/{stop['work_order_id']}/visits")).json()
        assert [(v["engineer_id"], v["status"]) for v in visits] == [(team["near"], "planned")]
        assert datetime.fromisoformat(visits[0]["planned_at"]) == datetime.fromisoformat(stop["start_at"])
    again = await client.post("/dispatch/plan", json={"date": day.isoformat(), "actor": "planner"})
    assert again.json()["orders"] == 0  # planned orders are not planned twice


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"actor": "planner"}, "date"),
        ({"date": "2031-02-30", "actor": "planner"}, "date"),
        ({"date": "2031-06-03"}, "actor"),
        ({"date": "2031-06-03", "actor": "planner", "time_limit_s": 0}, "time_limit_s"),
        ({"date": "2031-06-03", "actor": "planner", "apply": "maybe"}, "apply"),
        ({"date": "2031-06-03", "actor": "planner", "extra": 1}, "extra"),
    ],
)
async def test_a_bad_plan_request_is_a_422_naming_the_field(client: httpx.AsyncClient, body: dict, field: str) -> None:
    response = await client.post("/dispatch/plan", json=body)
    assert response.status_code == 422
    assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}
