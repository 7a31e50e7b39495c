"""Holds that say why, reopening within the window, and who pays: through the API and in the database."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.service_core.fieldwork_builders import a_fleet, an_order, move


async def _working_order(client: httpx.AsyncClient, **fleet) -> tuple[dict, int]:
    _, asset_id, (eva,) = await a_fleet(client, **fleet)
    order = await an_order(client, asset_id)
    await client.post(f"/work-orders/{order['id']}/assign", json={"engineer_id": eva, "actor": "desk"})
    await move(client, order["id"], "accepted", "en_route", "on_site", "in_progress")
    return order, eva


@pytest.mark.asyncio
async def test_a_hold_needs_a_reason_and_leaving_it_clears_the_reason(
    client: httpx.AsyncClient, conn: psycopg.Connection
) -> None:
    order, _ = await _working_order(client)
    url = f"/work-orders/{order['id']}/transitions"
    bare = await client.post(url, json={"to": "on_hold", "actor": "eva"})
    assert bare.status_code == 422 and "needs a reason: waiting_parts, waiting_customer" in bare.text
    unknown = await client.post(url, json={"to": "on_hold", "reason": "lunch", "actor": "eva"})
    assert unknown.status_code == 422
    stray = await client.post(url, json={"to": "completed", "reason": "other", "actor": "eva"})
    assert stray.status_code == 422 and "only given when putting a work order on hold" in stray.text

    held = await client.post(url, json={"to": "on_hold", "reason": "waiting_customer", "actor": "eva", "note": "gate"})
    assert held.status_code == 200 and held.json()["hold_reason"] == "waiting_customer"
    event = held.json()["events"][-1]
    assert (event["to_status"], event["details"], event["note"]) == (
        "on_hold",
        {"hold_reason": "waiting_customer"},
        "gate",
    )
    resumed = await client.post(url, json={"to": "in_progress", "actor": "eva"})
    assert resumed.json()["status"] == "in_progress" and resumed.json()["hold_reason"] is None

    # the database holds the rule whoever writes
    with pytest.raises(psycopg.errors.CheckViolation, match="work_orders_hold_reason"):
        conn.execute("update service.work_orders set status = 'on_hold' where id = %s", (order["id"],))
    with pytest.raises(psycopg.errors.CheckViolation, match="work_orders_hold_reason"):
        conn.execute("update service.work_orders set hold_reason = 'other' where id = %s", (order["id"],))


@pytest.mark.asyncio
async def test_reopen_within_the_window_goes_back_to_the_same_engineer(
    client: httpx.AsyncClient, conn: psycopg.Connection
) -> None:
    order, eva = await _working_order(client)
    url = f"/work-orders/{order['id']}"
    not_done = await client.post(f"{url}/reopen", json={"reason": "still leaking", "actor": "desk"})
    assert not_done.status_code == 409
    assert (
        not_done.json()["detail"] == "only a completed or closed work order can be reopened; this one is 'in_progress'"
    )
    await move(client, order["id"], "completed", "closed")
    # ordinary moves cannot reopen: only the reopen request does
    sneaky = await client.post(f"{url}/transitions", json={"to": "assigned", "actor": "desk"})
    assert sneaky.status_code == 409 and "allowed from 'closed': none" in sneaky.json()["detail"]

    reopened = await client.post(f"{url}/reopen", json={"reason": "leaking again after two days", "actor": "desk:bo"})
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body["status"], body["engineer_id"]) == ("assigned", eva)
    event = body["events"][-1]
    assert (event["kind"], event["from_status"], event["to_status"], event["actor"], event["note"]) == (
        "reopened",
        "closed",
        "assigned",
        "desk:bo",
        "leaking again after two days",
    )
    assert event["details"]["completed_at"] is not None
    assert (await client.post(f"{url}/reopen", json={"reason": "x", "actor": "desk"})).status_code == 409
    # it runs its course again and can be reopened again from completed
    await move(client, order["id"], "accepted", "on_site", "in_progress", "completed")
    assert (await client.post(f"{url}/reopen", json={"reason": "again", "actor": "desk"})).json()[
        "status"
    ] == "assigned"
    assert (await client.post(f"{url}/reopen", json={"reason": " ", "actor": "desk"})).status_code == 422


@pytest.mark.asyncio
async def test_reopen_after_the_window_is_refused_with_advice(
    client: httpx.AsyncClient, conn: psycopg.Connection
) -> None:
    order, _ = await _working_order(client)
    await move(client, order["id"], "completed")
    conn.execute(
        """
        update service.work_order_events set at = at - interval '7 days 1 minute'
         where work_order_id = %s and to_status = 'completed'
        """,
        (order["id"],),
    )
    late = await client.post(f"/work-orders/{order['id']}/reopen", json={"reason": "noise", "actor": "desk"})
    assert late.status_code == 409
    assert late.json()["detail"].startswith("the reopen window of 7 days has passed (it was completed at ")
    assert late.json()["detail"].endswith("): open a new work order instead")
    assert (await client.get(f"/work-orders/{order['id']}")).json()["status"] == "completed"
    # the database refuses it too, whoever writes
    with pytest.raises(
        psycopg.errors.CheckViolation, match="more than the 7 days reopen window: open a new work order"
    ):
        conn.execute("update service.work_orders set status = 'assigned' where id = %s", (order["id"],))


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("warranty_ends_on", "contract", "expected"),
    [
        ("2099-01-01", (True, False), "warranty"),
        ("2022-01-01", (False, True), "contract"),
        ("2022-01-01", (False, False), "billable"),  # a contract that covers nothing
        (None, None, "billable"),
    ],
)
async def test_billing_is_decided_at_completion(
    client: httpx.AsyncClient, conn: psycopg.Connection, warranty_ends_on, contract, expected
) -> None:
    order, _ = await _working_order(client, warranty_ends_on=warranty_ends_on)
    if contract is not None:
        conn.execute(
            """
            insert into service.contracts (customer_id, name, starts_on, ends_on, covers_labour, covers_parts)
            select s.customer_id, 'Plan', current_date - 30, current_date + 30, %s, %s
              from service.sites s
            """,
            contract,
        )
    assert (await client.get(f"/work-orders/{order['id']}/report")).json()["billing"]["decided"] is False
    done = await move(client, order["id"], "completed")
    assert done["billing"] == expected


@pytest.mark.asyncio
async def test_billing_set_by_hand_is_kept(client: httpx.AsyncClient) -> None:
    order, _ = await _working_order(client, warranty_ends_on="2099-01-01")
    await client.patch(f"/work-orders/{order['id']}", json={"billing": "billable", "actor": "desk"})
    assert (await move(client, order["id"], "completed"))["billing"] == "billable"
