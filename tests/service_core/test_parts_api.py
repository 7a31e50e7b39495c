"""The parts catalogue, stock locations and the ledger through the API, with the 4xx that say what is wrong."""

from __future__ import annotations

import httpx
import pytest

from tests.service_core.parts_builders import a_fleet, a_location, a_part, level, post, receive


@pytest.mark.asyncio
async def test_catalogue_create_read_patch_and_filter_by_model(client: httpx.AsyncClient) -> None:
    created = await a_part(client, "BRG-6204", barcode="4006381333931", models=["CP-200", "CP-300"],
                           failure_modes=[{"failure_mode": "bearing_wear", "quantity": 2}])
    assert created["models"] == ["CP-200", "CP-300"] and created["barcode"] == "4006381333931"
    assert [(m["failure_mode"], float(m["quantity"])) for m in created["failure_modes"]] == [("bearing_wear", 2.0)]
    await a_part(client, "SEAL-22", models=["MX-10"])
    await a_part(client, "GREASE-1", models=[])

    fits = (await client.get("/parts", params={"asset_model": "CP-300"})).json()
    assert [p["part_number"] for p in fits] == ["BRG-6204"]
    assert [p["part_number"] for p in (await client.get("/parts")).json()] == ["BRG-6204", "GREASE-1", "SEAL-22"]

    patched = await client.patch("/parts/BRG-6204", json={"unit_cost": "14.00", "models": ["CP-400"],
                                                          "actor": "stores:lea"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["unit_cost"] == "14.00" and patched.json()["models"] == ["CP-400"]
    assert patched.json()["name"] == "Part BRG-6204" and patched.json()["failure_modes"]
    assert (await client.get("/parts", params={"asset_model": "CP-300"})).json() == []


@pytest.mark.asyncio
async def test_catalogue_conflicts_and_bad_input(client: httpx.AsyncClient) -> None:
    await a_part(client, "BRG-6204", barcode="111")
    again = await client.post("/parts", json={"part_number": "BRG-6204", "name": "x", "actor": "lea"})
    assert again.status_code == 409 and "already in the catalogue" in again.json()["detail"]
    same_code = await client.post("/parts", json={"part_number": "BRG-6205", "name": "x", "barcode": "111",
                                                  "actor": "lea"})
    assert same_code.status_code == 409 and "BRG-6204" in same_code.json()["detail"]

    for body, words in [
        ({"part_number": "bad number!", "name": "x", "actor": "lea"}, "part_number"),
        ({"part_number": "P-1", "name": "x", "unit_cost": "-1", "actor": "lea"}, "unit_cost"),
        ({"part_number": "P-1", "name": "x", "models": ["A", "A"], "actor": "lea"}, "listed twice"),
        ({"part_number": "P-1", "name": "x", "failure_modes": [{"failure_mode": "rust"}], "actor": "lea"},
         "failure_mode"),
        ({"part_number": "P-1", "name": "x"}, "actor"),
    ]:
        response = await client.post("/parts", json=body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.text, (words, response.text)
    cleared = await client.patch("/parts/BRG-6204", json={"name": None, "actor": "lea"})
    assert cleared.status_code == 422 and "cannot be null: name" in cleared.text
    assert (await client.get("/parts/NOPE")).status_code == 404
    assert (await client.patch("/parts/NOPE", json={"actor": "lea"})).status_code == 404


@pytest.mark.asyncio
async def test_locations_vans_belong_to_one_engineer(client: httpx.AsyncClient) -> None:
    _, (eva,) = await a_fleet(client)
    warehouse = await a_location(client, "Central", region="NL")
    van = await a_location(client, "Van Eva", kind="van", engineer_id=eva, replenished_from_id=warehouse["id"])
    assert van["engineer_id"] == eva and van["replenished_from_id"] == warehouse["id"]

    second = await client.post("/stock-locations", json={"kind": "van", "name": "Van 2", "engineer_id": eva,
                                                         "actor": "lea"})
    assert second.status_code == 409 and "already has a van" in second.json()["detail"]
    no_driver = await client.post("/stock-locations", json={"kind": "van", "name": "Van 3", "actor": "lea"})
    assert no_driver.status_code == 422 and "engineer_id" in no_driver.text
    ghost = await client.post("/stock-locations", json={"kind": "van", "name": "Van 4", "engineer_id": 999,
                                                        "actor": "lea"})
    assert ghost.status_code == 404 and "engineer 999" in ghost.json()["detail"]
    dup = await client.post("/stock-locations", json={"kind": "branch", "name": "Central", "actor": "lea"})
    assert dup.status_code == 409 and "Central" in dup.json()["detail"]
    own = await client.patch(f"/stock-locations/{warehouse['id']}", json={"replenished_from_id": warehouse["id"],
                                                                        "actor": "lea"})
    assert own.status_code == 422 and "itself" in own.json()["detail"]
    assert [v["id"] for v in (await client.get("/stock-locations", params={"kind": "van"})).json()] == [van["id"]]
    assert (await client.get("/stock-locations/999/stock")).status_code == 404


@pytest.mark.asyncio
async def test_receipts_adjustments_and_the_ledger(client: httpx.AsyncClient) -> None:
    await a_part(client, "BRG-6204")
    central = await a_location(client, "Central")
    branch = await a_location(client, "Branch Rotterdam", kind="branch")
    await receive(client, central["id"], "BRG-6204", 10)
    await receive(client, branch["id"], "BRG-6204", "2.5")
    fix = await post(client, f"/stock-locations/{central['id']}/movements",
                     {"part_number": "BRG-6204", "reason": "adjustment", "quantity": -3, "reference": "count 2025-03",
                      "actor": "stores:lea"})
    assert float(fix["quantity"]) == -3

    too_much = await client.post(f"/stock-locations/{central['id']}/movements",
                                 json={"part_number": "BRG-6204", "reason": "adjustment", "quantity": -8,
                                       "actor": "lea"})
    assert too_much.status_code == 409
    assert too_much.json()["detail"] == (
        f"stock location {central['id']} has 7 of part 'BRG-6204' available (7 on hand, 0 reserved): 8 needed"
    )
    assert await level(client, central["id"], "BRG-6204") == (7.0, 0.0, 7.0)

    ledger = (await client.get(f"/stock-locations/{central['id']}/movements")).json()
    assert [(m["reason"], float(m["quantity"])) for m in ledger] == [("adjustment", -3.0), ("receipt", 10.0)]
    per_location = (await client.get("/parts/BRG-6204/stock")).json()
    assert [(r["location_id"], float(r["available"])) for r in per_location] == [(central["id"], 7.0),
                                                                                 (branch["id"], 2.5)]

    for body, status, words in [
        ({"part_number": "BRG-6204", "reason": "receipt", "quantity": -1, "actor": "lea"}, 422, "receipt"),
        ({"part_number": "BRG-6204", "reason": "adjustment", "quantity": 0, "actor": "lea"}, 422, "not be 0"),
        ({"part_number": "BRG-6204", "reason": "consumption", "quantity": -1, "actor": "lea"}, 422, "reason"),
        ({"part_number": "NOPE", "reason": "receipt", "quantity": 1, "actor": "lea"}, 404, "NOPE"),
    ]:
        response = await client.post(f"/stock-locations/{central['id']}/movements", json=body)
        assert response.status_code == status, (body, response.text)
        assert words in response.text
    assert (await client.post("/stock-locations/999/movements",
                              json={"part_number": "BRG-6204", "reason": "receipt", "quantity": 1,
                                    "actor": "lea"})).status_code == 404
