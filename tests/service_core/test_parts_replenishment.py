"""Reorder points per location and part, and the replenishment suggestions they lead to."""

from __future__ import annotations

import doctest
from decimal import Decimal

import httpx
import pytest

from service_core.parts import replenishment, rules
from service_core.parts.replenishment import Position, Source
from tests.service_core.parts_builders import a_fleet, a_location, a_part, post, receive


async def _point(client: httpx.AsyncClient, location: int, part: str, point: float, quantity: float) -> dict:
    response = await client.put(f"/stock-locations/{location}/reorder-points/{part}",
                                json={"reorder_point": point, "reorder_quantity": quantity, "actor": "lead:max"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.asyncio
async def test_replenishment_from_the_vans_branch_or_to_purchase(client: httpx.AsyncClient) -> None:
    _, (eva, tom) = await a_fleet(client, ("Eva", "Tom"))
    await a_part(client, "BRG-6204")
    await a_part(client, "SEAL-22")
    central = (await a_location(client, "Central", region="NL"))["id"]
    branch = (await a_location(client, "Branch Rotterdam", kind="branch", region="NL-ZH",
                               replenished_from_id=central))["id"]
    van_eva = (await a_location(client, "Van Eva", kind="van", engineer_id=eva, region="NL-ZH",
                                replenished_from_id=branch))["id"]
    van_tom = (await a_location(client, "Van Tom", kind="van", engineer_id=tom, region="NL-ZH"))["id"]
    await receive(client, central, "BRG-6204", 20)
    await receive(client, branch, "BRG-6204", 4)
    await receive(client, van_eva, "BRG-6204", 1)
    await receive(client, van_tom, "BRG-6204", 9)

    await _point(client, van_eva, "BRG-6204", 2, 3)  # 1 < 2: 3 from its branch (which has 4)
    await _point(client, van_tom, "BRG-6204", 2, 3)  # 9 >= 2: nothing
    await _point(client, branch, "BRG-6204", 5, 2)  # 4 < 5, and 3 go to Eva's van: 4 from the warehouse
    await _point(client, central, "SEAL-22", 10, 50)  # nobody has seals: purchase 50
    assert len((await client.get(f"/stock-locations/{van_eva}/reorder-points")).json()) == 1

    suggestions = (await client.get("/stock/replenishment")).json()
    got = [(s["location_id"], s["part_number"], float(s["quantity"]), s["action"], s["source_location_id"])
           for s in suggestions]
    assert got == [
        (central, "SEAL-22", 50.0, "purchase", None),
        (branch, "BRG-6204", 2.0, "transfer", central),
        (van_eva, "BRG-6204", 3.0, "transfer", branch),
    ]

    # a transfer on its way counts: Eva's van is then at its reorder point
    transfer = await post(client, "/stock-transfers", {"from_location_id": branch, "to_location_id": van_eva,
                                                       "part_number": "BRG-6204", "quantity": 1, "actor": "eva"})
    assert transfer["status"] == "requested"
    assert [s["location_id"] for s in (await client.get("/stock/replenishment")).json()] == [central, branch]

    assert (await client.delete(f"/stock-locations/{central}/reorder-points/SEAL-22")).status_code == 204
    assert (await client.delete(f"/stock-locations/{central}/reorder-points/SEAL-22")).status_code == 404
    bad = await client.put(f"/stock-locations/{central}/reorder-points/BRG-6204",
                           json={"reorder_point": -1, "reorder_quantity": 0, "actor": "x"})
    assert bad.status_code == 422 and "reorder_point" in bad.text and "reorder_quantity" in bad.text
    assert (await client.put(f"/stock-locations/{central}/reorder-points/NOPE",
                             json={"reorder_point": 1, "reorder_quantity": 1, "actor": "x"})).status_code == 404


def test_stock_promised_once_and_vans_never_supply() -> None:
    d = Decimal
    positions = [
        Position(10, "van", "R", 1, "P", d(0), d(0), d(2), d(3)),
        Position(11, "van", "R", 1, "P", d(0), d(0), d(2), d(3)),
        Position(12, "van", "R", None, "P", d(-1), d(0), d(2), d(1)),
    ]
    sources = [Source(1, "branch", "R", "P", d(4)), Source(2, "warehouse", None, "P", d(3)),
               Source(13, "van", "R", "P", d(50))]
    got = [(s.location_id, s.quantity, s.source_location_id) for s in replenishment.suggest(positions, sources)]
    # van 10 takes 3 of the branch's 4; van 11 then gets 3 from the warehouse; van 12 needs 3 and nobody has them
    assert got == [(10, d(3), 1), (11, d(3), 2), (12, d(3), None)]


@pytest.mark.parametrize("module", [replenishment, rules])
def test_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
