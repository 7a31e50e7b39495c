"""Stock transfers: requested, approved by someone else, shipped out of the source, received at the destination."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from service_core.parts.rules import TRANSFER_MOVES
from tests.service_core.parts_builders import a_fleet, a_location, a_part, an_order, level, post, receive


async def _transfer(client: httpx.AsyncClient, source: int, target: int, quantity: float = 3, **extra) -> dict:
    return await post(client, "/stock-transfers", {"from_location_id": source, "to_location_id": target,
                                                   "part_number": "BRG-6204", "quantity": quantity,
                                                   "actor": "eva"} | extra)


@pytest.mark.asyncio
async def test_a_transfer_from_request_to_receipt(client: httpx.AsyncClient) -> None:
    await a_part(client, "BRG-6204")
    central = (await a_location(client, "Central"))["id"]
    branch = (await a_location(client, "Branch", kind="branch"))["id"]
    await receive(client, central, "BRG-6204", 5)
    transfer = await _transfer(client, central, branch)
    url = f"/stock-transfers/{transfer['id']}"
    assert transfer["status"] == "requested" and transfer["requested_by"] == "eva"

    own = await client.post(f"{url}/approve", json={"actor": "eva"})
    assert own.status_code == 409 and "someone else must approve it" in own.json()["detail"]
    early = await client.post(f"{url}/ship", json={"actor": "stores:lea"})
    assert early.status_code == 409
    assert early.json()["detail"] == (f"cannot ship transfer {transfer['id']}: it is 'requested'; "
                                      "allowed: approve, cancel, reject")
    approved = await post(client, f"{url}/approve", {"actor": "lead:max"}, 200)
    assert approved["status"] == "approved" and approved["approved_by"] == "lead:max"
    assert await level(client, central, "BRG-6204") == (5.0, 0.0, 5.0)

    shipped = await post(client, f"{url}/ship", {"actor": "stores:lea"}, 200)
    assert shipped["status"] == "in_transit" and shipped["shipped_at"]
    assert await level(client, central, "BRG-6204") == (2.0, 0.0, 2.0)
    assert await level(client, branch, "BRG-6204") == (0.0, 0.0, 0.0)
    assert (await client.post(f"{url}/cancel", json={"actor": "eva"})).status_code == 409
    received = await post(client, f"{url}/receive", {"actor": "branch:ole"}, 200)
    assert received["status"] == "received" and received["received_at"]
    assert await level(client, branch, "BRG-6204") == (3.0, 0.0, 3.0)
    out = (await client.get(f"/stock-locations/{central}/movements")).json()[0]
    assert (out["reason"], float(out["quantity"]), out["reference"]) == ("transfer_out",
                                                                          -3.0, f"transfer:{transfer['id']}")
    again = await client.post(f"{url}/receive", json={"actor": "branch:ole"})
    assert again.status_code == 409 and "allowed: none" in again.json()["detail"]
    listed = (await client.get("/stock-transfers", params={"location_id": branch, "status": "received"})).json()
    assert [t["id"] for t in listed] == [transfer["id"]]


@pytest.mark.asyncio
async def test_shipping_more_than_available_reject_cancel_and_bad_requests(client: httpx.AsyncClient) -> None:
    await a_part(client, "BRG-6204")
    central = (await a_location(client, "Central"))["id"]
    branch = (await a_location(client, "Branch", kind="branch"))["id"]
    await receive(client, central, "BRG-6204", 2)
    big = await _transfer(client, central, branch, 3)
    await post(client, f"/stock-transfers/{big['id']}/approve", {"actor": "lead:max"}, 200)
    short = await client.post(f"/stock-transfers/{big['id']}/ship", json={"actor": "stores:lea"})
    assert short.status_code == 409
    assert short.json()["detail"] == (f"stock location {central} has 2 of part 'BRG-6204' available "
                                      "(2 on hand, 0 reserved): 3 needed")
    assert (await client.get(f"/stock-transfers/{big['id']}")).json()["status"] == "approved"
    cancelled = await post(client, f"/stock-transfers/{big['id']}/cancel", {"actor": "eva"}, 200)
    assert cancelled["status"] == "cancelled"

    other = await _transfer(client, central, branch, 1)
    rejected = await post(client, f"/stock-transfers/{other['id']}/reject", {"actor": "lead:max",
                                                                             "note": "take it from the van"}, 200)
    assert (rejected["status"], rejected["rejected_by"], rejected["note"]) == ("rejected", "lead:max",
                                                                               "take it from the van")
    assert await level(client, central, "BRG-6204") == (2.0, 0.0, 2.0)

    for body, status, words in [
        ({"from_location_id": central, "to_location_id": central}, 422, "must differ"),
        ({"from_location_id": central, "to_location_id": 999}, 404, "stock location 999"),
        ({"from_location_id": central, "to_location_id": branch, "part_number": "NOPE"}, 404, "NOPE"),
        ({"from_location_id": central, "to_location_id": branch, "quantity": -1}, 422, "quantity"),
        ({"from_location_id": central, "to_location_id": branch, "work_order_id": 999}, 404, "work order 999"),
    ]:
        response = await client.post("/stock-transfers", json={"part_number": "BRG-6204", "quantity": 1,
                                                               "actor": "eva"} | body)
        assert response.status_code == status, (body, response.text)
        assert words in response.text
    assert (await client.post("/stock-transfers/999/approve", json={"actor": "x"})).status_code == 404


@pytest.mark.asyncio
async def test_a_transfer_received_in_the_van_tops_up_the_orders_reservation(client: httpx.AsyncClient) -> None:
    asset, (eva,) = await a_fleet(client)
    await a_part(client, "BRG-6204")
    central = (await a_location(client, "Central"))["id"]
    van = (await a_location(client, "Van Eva", kind="van", engineer_id=eva))["id"]
    await receive(client, central, "BRG-6204", 5)
    order = await an_order(client, asset)
    await client.put(f"/work-orders/{order['id']}/required-parts",
                     json={"parts": [{"part_number": "BRG-6204", "quantity": 2}], "actor": "desk"})
    await post(client, f"/work-orders/{order['id']}/assign", {"engineer_id": eva, "actor": "desk"}, 200)
    assert await level(client, van, "BRG-6204") == (0.0, 0.0, 0.0)
    transfer = await _transfer(client, central, van, 2, work_order_id=order["id"])
    for action, actor in [("approve", "lead:max"), ("ship", "stores:lea"), ("receive", "eva")]:
        await post(client, f"/stock-transfers/{transfer['id']}/{action}", {"actor": actor}, 200)
    assert await level(client, van, "BRG-6204") == (2.0, 2.0, 0.0)


def test_the_database_holds_the_same_transfer_moves_and_four_eyes(conn: psycopg.Connection) -> None:
    conn.execute("insert into service.parts (part_number, name) values ('P', 'p')")
    a, b = (conn.execute("insert into service.stock_locations (kind, name) values ('branch', %s) returning id",
                         (n,)).fetchone()[0] for n in ("A", "B"))
    statuses = list(TRANSFER_MOVES)
    for current in statuses:
        for target in statuses:
            if target == current:
                continue
            tid = conn.execute(
                """insert into service.stock_transfers (from_location_id, to_location_id, part_number, quantity,
                   requested_by, approved_by) values (%s, %s, 'P', 1, 'eva', 'max') returning id""", (a, b),
            ).fetchone()[0]
            conn.execute("alter table service.stock_transfers disable trigger stock_transfers_moves")
            conn.execute("update service.stock_transfers set status = %s where id = %s", (current, tid))
            conn.execute("alter table service.stock_transfers enable trigger stock_transfers_moves")
            try:
                conn.execute("update service.stock_transfers set status = %s where id = %s", (target, tid))
                allowed = True
            except psycopg.errors.CheckViolation:
                allowed = False
            assert allowed == (target in TRANSFER_MOVES[current]), (current, target)
    with pytest.raises(psycopg.errors.CheckViolation, match="four_eyes"):
        conn.execute("""insert into service.stock_transfers (from_location_id, to_location_id, part_number,
                        quantity, requested_by, approved_by) values (%s, %s, 'P', 1, 'eva', 'eva')""", (a, b))
