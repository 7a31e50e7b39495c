"""Visits: one checked in at a time per engineer and per order, decided by the database under concurrency."""

from __future__ import annotations

import asyncio

import httpx
import psycopg
import pytest

from service_core.errors import Conflict
from service_core.fieldwork import flows
from service_core.fieldwork.schemas import CheckIn
from tests.service_core.fieldwork_builders import a_fleet, an_order, move

HERE = {"lat": 51.9, "lon": 4.46}


async def _accepted_visit(client: httpx.AsyncClient, engineer_id: int, **order) -> tuple[int, int]:
    created = await an_order(client, **order)
    visit = await client.post(
        f"/work-orders/{created['id']}/visits", json={"engineer_id": engineer_id, "actor": "desk"}
    )
    assert visit.status_code == 201, visit.text
    await move(client, created["id"], "accepted")
    return created["id"], visit.json()["id"]


async def _waiting_for_a_lock(conn: psycopg.Connection) -> None:
    for _ in range(200):
        (waiting,) = conn.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
        ).fetchone()
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second check-in never waited for the first")


@pytest.mark.asyncio
async def test_an_engineer_is_checked_in_on_one_visit_at_a_time_even_concurrently(
    client: httpx.AsyncClient, db_url: str, conn: psycopg.Connection
) -> None:
    _, _, (eva,) = await a_fleet(client)
    first_order, first = await _accepted_visit(client, eva)
    second_order, second = await _accepted_visit(client, eva, title="Second pump, same morning")

    async with (
        await psycopg.AsyncConnection.connect(db_url) as a,
        await psycopg.AsyncConnection.connect(db_url) as b,
    ):
        await flows.check_in(a, visit_id=first, check_in_in=CheckIn(**HERE, actor="eva"))
        racing = asyncio.create_task(flows.check_in(b, visit_id=second, check_in_in=CheckIn(**HERE, actor="eva")))
        await _waiting_for_a_lock(conn)  # the unique index makes b wait for a's outcome
        await a.commit()
        with pytest.raises(Conflict, match=f"engineer {eva} is already checked in on visit {first} elsewhere"):
            await racing
        await b.rollback()

    states = dict(conn.execute("select id, status from service.visits").fetchall())
    assert states == {first: "checked_in", second: "planned"}
    assert (await client.get(f"/work-orders/{first_order}")).json()["status"] == "on_site"
    assert (await client.get(f"/work-orders/{second_order}")).json()["status"] == "accepted"

    # through the API too, and after checking out the next visit may start
    refused = await client.post(f"/visits/{second}/check-in", json=HERE | {"actor": "eva"})
    assert refused.status_code == 409 and "check out there first" in refused.json()["detail"]
    out = await client.post(f"/visits/{first}/check-out", json={"outcome": "fixed", "actor": "eva"} | HERE)
    assert out.status_code == 200 and out.json()["labour_minutes"] == 0
    assert (await client.post(f"/visits/{second}/check-in", json=HERE | {"actor": "eva"})).status_code == 200


@pytest.mark.asyncio
async def test_the_database_allows_one_checked_in_visit_per_order(
    client: httpx.AsyncClient, conn: psycopg.Connection
) -> None:
    _, _, (eva, bo) = await a_fleet(client, engineers=("Eva", "Bo"))
    order = await an_order(client)
    conn.execute(
        """
        insert into service.visits (work_order_id, seq, engineer_id, status, check_in_at)
        values (%(o)s, 1, %(eva)s, 'checked_in', now()), (%(o)s, 2, %(bo)s, 'planned', null)
        """,
        {"o": order["id"], "eva": eva, "bo": bo},
    )
    with pytest.raises(psycopg.errors.UniqueViolation, match="visits_one_checked_in_per_order"):
        conn.execute("update service.visits set status = 'checked_in', check_in_at = now() where seq = 2")


@pytest.mark.asyncio
async def test_visit_steps_say_what_is_wrong(client: httpx.AsyncClient) -> None:
    _, _, (eva, bo) = await a_fleet(client, engineers=("Eva", "Bo"))
    order_id, visit = await _accepted_visit(client, eva)
    url = f"/work-orders/{order_id}/visits"
    other = await client.post(url, json={"engineer_id": bo, "actor": "desk"})
    assert other.status_code == 409 and "with engineer" in other.json()["detail"]
    assert (await client.post(url, json={"engineer_id": 999, "actor": "desk"})).status_code == 404
    assert (await client.post("/work-orders/999/visits", json={"engineer_id": eva, "actor": "d"})).status_code == 404
    assert (await client.post("/visits/999/check-in", json=HERE | {"actor": "eva"})).status_code == 404
    out_of_range = await client.post(f"/visits/{visit}/check-in", json={"lat": 95, "lon": 4, "actor": "eva"})
    assert out_of_range.status_code == 422
    future = await client.post(f"/visits/{visit}/check-in", json=HERE | {"at": "2999-01-01T00:00:00Z", "actor": "e"})
    assert future.status_code == 422 and "in the future" in future.json()["detail"]
    not_in = await client.post(f"/visits/{visit}/check-out", json={"outcome": "fixed", "actor": "eva"} | HERE)
    assert not_in.status_code == 409 and "only a checked-in visit can be checked out" in not_in.json()["detail"]
    await client.post(f"/visits/{visit}/check-in", json=HERE | {"at": "2025-03-05T09:00:00Z", "actor": "eva"})
    before = await client.post(
        f"/visits/{visit}/check-out", json={"outcome": "fixed", "at": "2025-03-05T08:00:00Z", "actor": "eva"} | HERE
    )
    assert before.status_code == 422 and "before it checked in" in before.json()["detail"]
    bad_outcome = await client.post(f"/visits/{visit}/check-out", json={"outcome": "meh", "actor": "eva"} | HERE)
    assert bad_outcome.status_code == 422
    # labour defaults to the time on site
    out = await client.post(
        f"/visits/{visit}/check-out",
        json={"outcome": "no_access", "at": "2025-03-05T10:30:59Z", "actor": "eva"} | HERE,
    )
    assert out.json()["labour_minutes"] == 90
    order = (await client.get(f"/work-orders/{order_id}")).json()
    assert (order["status"], order["hold_reason"]) == ("on_hold", "waiting_customer")
    # a planned visit can be called off, with an event
    planned = (await client.post(url, json={"engineer_id": bo, "actor": "desk"})).json()
    cancelled = await client.post(f"/visits/{planned['id']}/cancel", json={"actor": "desk", "note": "customer away"})
    assert cancelled.json()["status"] == "cancelled"
    assert (await client.get(f"/work-orders/{order_id}")).json()["events"][-1]["kind"] == "visit_cancelled"
    assert [v["status"] for v in (await client.get(url)).json()] == ["checked_out", "cancelled"]
