"""An order's parts: required, reserved in the engineer's van on assignment, consumed by scan, returned."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from service_core.workorders import flows as workorders_flows
from tests.service_core.builders import a_site, an_alert, an_asset, an_engineer
from tests.service_core.parts_builders import a_fleet, a_location, a_part, an_order, level, post, receive


async def _vans(client: httpx.AsyncClient, engineers: list[int]) -> list[int]:
    return [(await a_location(client, f"Van {e}", kind="van", engineer_id=e))["id"] for e in engineers]


async def _require(client: httpx.AsyncClient, order_id: int, parts: dict[str, float]) -> dict:
    response = await client.put(
        f"/work-orders/{order_id}/required-parts",
        json={"parts": [{"part_number": p, "quantity": q} for p, q in parts.items()], "actor": "desk:anna"},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.asyncio
async def test_assignment_reserves_in_the_van_and_reassignment_moves_it(client: httpx.AsyncClient) -> None:
    asset, (eva, tom) = await a_fleet(client, ("Eva", "Tom"))
    van_eva, van_tom = await _vans(client, [eva, tom])
    await a_part(client, "BRG-6204")
    await a_part(client, "SEAL-22")
    await receive(client, van_eva, "BRG-6204", 3)
    await receive(client, van_tom, "BRG-6204", 1)
    await receive(client, van_tom, "SEAL-22", 5)
    order = await an_order(client, asset)
    unassigned = await _require(client, order["id"], {"BRG-6204": 2, "SEAL-22": 1})
    assert unassigned["reservations"] is None
    assert await level(client, van_eva, "BRG-6204") == (3.0, 0.0, 3.0)

    await post(client, f"/work-orders/{order['id']}/assign", {"engineer_id": eva, "actor": "desk:anna"}, 200)
    assert await level(client, van_eva, "BRG-6204") == (3.0, 2.0, 1.0)
    events = (await client.get(f"/work-orders/{order['id']}")).json()["events"]
    reserved = [e for e in events if e["kind"] == "parts_reserved"][-1]
    assert reserved["details"]["reserved"] == {"BRG-6204": "2.000"}
    assert reserved["details"]["missing"] == [{"part_number": "SEAL-22", "missing": "1.000"}]

    # Tom has one bearing and the seals: Eva's reservation goes back, Tom's van holds what it has
    await post(client, f"/work-orders/{order['id']}/assign", {"engineer_id": tom, "actor": "desk:anna"}, 200)
    assert await level(client, van_eva, "BRG-6204") == (3.0, 0.0, 3.0)
    assert await level(client, van_tom, "BRG-6204") == (1.0, 1.0, 0.0)
    assert await level(client, van_tom, "SEAL-22") == (5.0, 1.0, 4.0)
    active = (await client.get(f"/work-orders/{order['id']}/reservations", params={"status": "active"})).json()
    assert sorted((r["location_id"], r["part_number"], float(r["quantity"])) for r in active) == [
        (van_tom, "BRG-6204", 1.0), (van_tom, "SEAL-22", 1.0)]

    # fewer parts needed: the reservation follows at once
    changed = await _require(client, order["id"], {"SEAL-22": 2})
    assert changed["reservations"]["reserved"] == {"SEAL-22": "2.000"}
    assert changed["reservations"]["released"] == {"BRG-6204": "1.000"}
    assert changed["reservations"]["missing"] == []
    assert await level(client, van_tom, "BRG-6204") == (1.0, 0.0, 1.0)
    listed = (await client.get(f"/work-orders/{order['id']}/required-parts")).json()
    assert [(p["part_number"], float(p["quantity"])) for p in listed["parts"]] == [("SEAL-22", 2.0)]

    # a cancelled order holds nothing
    await post(client, f"/work-orders/{order['id']}/transitions", {"to": "cancelled", "actor": "desk:anna",
                                                                   "note": "customer cancelled"}, 200)
    assert await level(client, van_tom, "SEAL-22") == (5.0, 0.0, 5.0)


@pytest.mark.asyncio
async def test_scan_consumes_reservation_then_free_stock_and_records_the_part(client: httpx.AsyncClient) -> None:
    asset, (eva,) = await a_fleet(client)
    (van,) = await _vans(client, [eva])
    await a_part(client, "BRG-6204", barcode="4006381333931", unit_cost="12.50")
    await receive(client, van, "BRG-6204", 4)
    order = await an_order(client, asset)
    await _require(client, order["id"], {"BRG-6204": 2})
    await post(client, f"/work-orders/{order['id']}/assign", {"engineer_id": eva, "actor": "desk:anna"}, 200)

    first = await post(client, f"/work-orders/{order['id']}/scan",
                       {"code": "4006381333931", "quantity": 1, "actor": "eva"})
    assert (float(first["from_reservation"]), float(first["from_free_stock"])) == (1.0, 0.0)
    assert await level(client, van, "BRG-6204") == (3.0, 1.0, 2.0)
    second = await post(client, f"/work-orders/{order['id']}/scan", {"code": "BRG-6204", "quantity": 2,
                                                                      "actor": "eva"})
    assert (float(second["from_reservation"]), float(second["from_free_stock"])) == (1.0, 1.0)
    assert await level(client, van, "BRG-6204") == (1.0, 0.0, 1.0)

    short = await client.post(f"/work-orders/{order['id']}/scan", json={"code": "BRG-6204", "quantity": 2,
                                                                        "actor": "eva"})
    assert short.status_code == 409
    assert short.json()["detail"] == (f"van {van} (Van {eva}) has 1 of part 'BRG-6204' available and 0 reserved "
                                      f"for work order {order['id']}: cannot consume 2")
    unknown = await client.post(f"/work-orders/{order['id']}/scan", json={"code": "999", "actor": "eva"})
    assert unknown.status_code == 404 and "'999'" in unknown.json()["detail"]

    ledger = (await client.get(f"/stock-locations/{van}/movements")).json()
    assert [(m["reason"], float(m["quantity"]), m["work_order_id"]) for m in ledger[:2]] == [
        ("consumption", -2.0, order["id"]), ("consumption", -1.0, order["id"])]
    fitted = (await client.get(f"/work-orders/{order['id']}/parts")).json()
    assert [(p["part_number"], float(p["quantity"]), p["unit_cost"], p["amount"]) for p in fitted] == [
        ("BRG-6204", 1.0, "12.50", "12.50"), ("BRG-6204", 2.0, "12.50", "25.00")]
    reservations = (await client.get(f"/work-orders/{order['id']}/reservations")).json()
    assert sorted((r["status"], float(r["quantity"])) for r in reservations) == [("consumed", 1.0), ("consumed", 1.0)]

    # one bearing was not needed after all: back into the van and off the order's record
    back = await post(client, f"/work-orders/{order['id']}/returns", {"code": "BRG-6204", "quantity": 1,
                                                                       "actor": "eva"})
    assert (float(back["released"]), float(back["returned"]), back["location_id"]) == (0.0, 1.0, van)
    assert await level(client, van, "BRG-6204") == (2.0, 0.0, 2.0)
    fitted = (await client.get(f"/work-orders/{order['id']}/parts")).json()
    assert [float(p["quantity"]) for p in fitted] == [1.0, 1.0]
    too_many = await client.post(f"/work-orders/{order['id']}/returns", json={"code": "BRG-6204", "quantity": 3,
                                                                               "actor": "eva"})
    assert too_many.status_code == 409 and "2 consumed" in too_many.json()["detail"]


@pytest.mark.asyncio
async def test_return_releases_reservations_first_and_scan_needs_an_engineer_with_a_van(
    client: httpx.AsyncClient,
) -> None:
    asset, (eva, tom) = await a_fleet(client, ("Eva", "Tom"))
    (van,) = await _vans(client, [eva])
    await a_part(client, "BRG-6204")
    await receive(client, van, "BRG-6204", 5)
    order = await an_order(client, asset)
    await _require(client, order["id"], {"BRG-6204": 3})
    no_engineer = await client.post(f"/work-orders/{order['id']}/scan", json={"code": "BRG-6204", "actor": "eva"})
    assert no_engineer.status_code == 409 and "no engineer" in no_engineer.json()["detail"]
    await post(client, f"/work-orders/{order['id']}/assign", {"engineer_id": eva, "actor": "desk:anna"}, 200)
    assert await level(client, van, "BRG-6204") == (5.0, 3.0, 2.0)
    back = await post(client, f"/work-orders/{order['id']}/returns", {"code": "BRG-6204", "quantity": 2,
                                                                       "actor": "eva"})
    assert (float(back["released"]), float(back["returned"]), back["movement_id"]) == (2.0, 0.0, None)
    assert await level(client, van, "BRG-6204") == (5.0, 1.0, 4.0)

    await post(client, f"/work-orders/{order['id']}/assign", {"engineer_id": tom, "actor": "desk:anna"}, 200)
    no_van = await client.post(f"/work-orders/{order['id']}/scan", json={"code": "BRG-6204", "actor": "tom"})
    assert no_van.status_code == 409 and f"engineer {tom} has no van" in no_van.json()["detail"]
    bad = await client.post(f"/work-orders/{order['id']}/scan", json={"code": "BRG-6204", "quantity": 0,
                                                                       "actor": "tom"})
    assert bad.status_code == 422 and "quantity" in bad.text
    assert (await client.post("/work-orders/999/scan", json={"code": "BRG-6204", "actor": "x"})).status_code == 404
    unknown_part = await client.put(f"/work-orders/{order['id']}/required-parts",
                                    json={"parts": [{"part_number": "NOPE", "quantity": 1}], "actor": "x"})
    assert unknown_part.status_code == 404 and "NOPE" in unknown_part.json()["detail"]
    twice = await client.put(f"/work-orders/{order['id']}/required-parts",
                             json={"parts": [{"part_number": "BRG-6204", "quantity": 1}] * 2, "actor": "x"})
    assert twice.status_code == 422 and "listed twice" in twice.text


@pytest.mark.asyncio
async def test_a_detector_order_needs_its_failure_modes_parts_and_holds_them_in_the_van(
    client: httpx.AsyncClient, aconn: psycopg.AsyncConnection
) -> None:
    await a_part(client, "BRG-6204", models=["CP-200"], failure_modes=[{"failure_mode": "bearing_wear",
                                                                        "quantity": 2}])
    await a_part(client, "BRG-OTHER", models=["MX-10"], failure_modes=[{"failure_mode": "bearing_wear"}])
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site, asset_id="pump-001", model="CP-200")
        eva = await an_engineer(aconn, name="Eva")
    (van,) = await _vans(client, [eva.id])
    await receive(client, van, "BRG-6204", 2)
    async with aconn.transaction():
        opened = await workorders_flows.open_preventive_order(aconn, alert=an_alert("pump-001"), alert_id=None)
    assert opened is not None and opened.engineer_id == eva.id
    required = (await client.get(f"/work-orders/{opened.work_order_id}/required-parts")).json()["parts"]
    assert [(p["part_number"], float(p["quantity"])) for p in required] == [("BRG-6204", 2.0)]
    assert await level(client, van, "BRG-6204") == (2.0, 2.0, 0.0)
